//! Venue recommendations: query validation, the user's origin (query point, fresh live
//! location, then home), filters, candidate generation and dispatch to the rankers.
//!
//! Candidates never come from a scan of the catalogue: the spatial index yields venues in order
//! of distance until the spatial budget is met or the radius is passed; the user's own history,
//! friends' liked venues, the learned model's item neighbours of the user's venues and venues
//! changed since the snapshot are added explicitly.

mod context;
mod default;
mod explain;
mod seed2;

use chrono::{DateTime, Utc};
use domain::{Category, LatLng};

use crate::error::EngineError;
use crate::settings::EngineSettings;
use crate::state::{State, UserRow, VenueRow};
use crate::types::{
    Ranker, StatedPreferences, VenueContext, VenueQuery, VenueRecommendation, VenueSummary, check_time_window,
};
use crate::util::FastMap;
use crate::util::{chord_for_km, great_circle_km, km_for_chord, to_xyz};

pub(crate) use context::LocalClock;
pub(crate) use default::{ScoreCtx, Scored, single_signal};
pub(crate) use explain::{plural as plural_of, sentence as explain_sentence};
pub(crate) use seed2::{score as seed2_score, sentence as seed2_sentence};

/// Largest `limit` a query may ask for.
pub const MAX_LIMIT: usize = 100;

/// Widest `radius_km` a query may ask for, km (half the Earth's circumference).
pub const MAX_RADIUS_KM: f64 = 20_000.0;

/// Answers a venue query on a state.
pub(crate) fn recommend(
    st: &State,
    s: &EngineSettings,
    q: &VenueQuery,
) -> Result<Vec<VenueRecommendation>, EngineError> {
    let now = q.now.unwrap_or_else(Utc::now);
    answer(st, s, q, now).map(|a| a.recs)
}

/// Answers a venue query on a state with the [`VenueContext`] it was computed from.
pub(crate) fn recommend_in_context(
    st: &State,
    s: &EngineSettings,
    q: &VenueQuery,
) -> Result<(Vec<VenueRecommendation>, VenueContext), EngineError> {
    let now = q.now.unwrap_or_else(Utc::now);
    let Answer { recs, user, origin } = answer(st, s, q, now)?;
    let first = recs.first().and_then(|r| st.venue_idx(&r.venue_id));
    let tz = context::user_zone(st, origin, first);
    let preferences = user.prefs.as_ref().map(|p| StatedPreferences {
        cuisines: p.cuisine_names.clone(),
        price_min: p.price_min,
        price_max: p.price_max,
    });
    let context = VenueContext {
        local_time: q.going_at(now).with_timezone(&tz),
        origin: origin.map(|(lat, lng)| LatLng { lat, lng }),
        persona: user.persona,
        preferences,
    };
    Ok((recs, context))
}

/// An answer with the user's row and where the search started from.
struct Answer<'a> {
    recs: Vec<VenueRecommendation>,
    user: &'a UserRow,
    origin: Option<(f64, f64)>,
}

fn answer<'a>(
    st: &'a State,
    s: &EngineSettings,
    q: &VenueQuery,
    now: DateTime<Utc>,
) -> Result<Answer<'a>, EngineError> {
    validate(q, now)?;
    let unknown = || EngineError::UnknownUser(q.user_id);
    let u = st.user_idx(&q.user_id).ok_or_else(unknown)?;
    let user = st.live_user(u).ok_or_else(unknown)?;
    let origin = origin_of(s, user, q, now.timestamp());
    if origin.is_none() && q.radius_km.is_some() {
        return Err(EngineError::invalid(
            "radius_km",
            "radius_km needs a point to measure from: the user has no home and no fresh live location, so give lat and lng",
        ));
    }
    let recs = match q.ranker {
        Ranker::Seed2 => match origin {
            Some(o) => seed2::recommend(st, user, o, q),
            // The second seed's formula scores by distance (8.2.1) and has no score without a
            // point: a 422, as on the group path, not an empty list a client would read as "no
            // venues" (QA on the real binary).
            None => {
                return Err(EngineError::invalid(
                    "ranker",
                    "ranker=seed2 scores by distance from the user: the user has no home and no fresh live \
                     location, so give lat and lng, or ask another ranker",
                ));
            }
        },
        Ranker::Default | Ranker::Learned | Ranker::Popularity => default::recommend(st, s, (u, user), origin, now, q),
    };
    Ok(Answer { recs, user, origin })
}

fn validate(q: &VenueQuery, now: DateTime<Utc>) -> Result<(), EngineError> {
    let bad = |field: &'static str, m: &str| Err(EngineError::invalid(field, m));
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return bad("limit", "limit must be between 1 and 100");
    }
    if let Some(r) = q.radius_km
        && !(r > 0.0 && r <= MAX_RADIUS_KM)
    {
        return bad("radius_km", &format!("radius_km must be above 0 and at most {MAX_RADIUS_KM}"));
    }
    if let (Some(a), Some(b)) = (q.price_min, q.price_max)
        && a > b
    {
        return bad("price_max", "price_min must not exceed price_max");
    }
    if q.party_size == Some(0) {
        return bad("party_size", "party_size must be at least 1");
    }
    // The group's rule: from now (a client's clock a little behind still means now) to the
    // booking horizon. A past time or open_at asks about a moment nobody can go at any more.
    check_time_window("time", q.time, now)?;
    check_time_window("open_at", q.open_at, now)
}

/// Hard filters of a query, checked on every candidate.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// Where the search starts, as a point on the sphere ([`to_xyz`], km): distances are by
    /// chord from it.
    origin: Option<[f64; 3]>,
    /// The same point in degrees (latitude, longitude), where the spatial stream starts.
    pub origin_deg: Option<(f64, f64)>,
    pub radius_km: Option<f64>,
    pub category: Option<Category>,
    pub price: (Option<i16>, Option<i16>),
    /// Whether a venue of unknown price passes the price range: not when a user asked for the
    /// range, yes when it is only a group's shared budget taken from stated preferences.
    pub unpriced_passes: bool,
    pub party: Option<u32>,
    pub open_at: Option<DateTime<Utc>>,
    /// Sorted venue indices.
    pub exclude: Vec<u32>,
}

impl Filter {
    pub fn from_query(st: &State, q: &VenueQuery, origin: Option<(f64, f64)>) -> Self {
        let mut exclude: Vec<u32> = q.exclude.iter().filter_map(|id| st.venue_idx(id)).collect();
        exclude.sort_unstable();
        Self {
            origin: origin.map(|(lat, lng)| to_xyz(lat, lng)),
            origin_deg: origin,
            radius_km: q.radius_km,
            category: q.category,
            price: (q.price_min, q.price_max),
            unpriced_passes: false,
            party: q.party_size,
            open_at: q.open_at,
            exclude,
        }
    }

    /// The filters of `q` asked by user `u`: with `new_only`, every venue they have interacted
    /// with or booked, and every one they said they want to go to, is left out too.
    pub fn for_user(st: &State, q: &VenueQuery, u: &UserRow, origin: Option<(f64, f64)>) -> Self {
        let mut f = Self::from_query(st, q, origin);
        if q.new_only {
            f.exclude.extend(u.history.iter().map(|a| a.venue));
            f.exclude.extend(u.interests.iter().map(|m| m.key));
            f.exclude.sort_unstable();
            f.exclude.dedup();
        }
        f
    }

    /// Whether a venue passes every filter except distance.
    pub fn passes(&self, st: &State, v: u32, row: &VenueRow) -> bool {
        if !row.alive || self.exclude.binary_search(&v).is_ok() {
            return false;
        }
        if self.category.is_some_and(|c| c != row.category) {
            return false;
        }
        // A venue of unknown price passes no price range asked for (as in venue search).
        let outside = |p: i16| self.price.0.is_some_and(|m| p < m) || self.price.1.is_some_and(|m| p > m);
        let ranged = self.price.0.is_some() || self.price.1.is_some();
        if ranged && row.price.map_or(!self.unpriced_passes, outside) {
            return false;
        }
        if self.party.is_some_and(|n| i64::from(n) > i64::from(row.capacity)) {
            return false;
        }
        if let (Some(at), Some(h)) = (self.open_at, &row.hours)
            && !h.is_open_at(&at.with_timezone(&st.tz(row)))
        {
            return false;
        }
        true
    }

    /// Great-circle distance from the origin (km) if there is one: the haversine distance,
    /// computed from the chord between the stored points (one square root and one arcsine).
    pub fn distance(&self, row: &VenueRow) -> Option<f64> {
        self.origin.map(|o| great_circle_km(&o, &row.xyz))
    }

    /// Whether a distance is within the radius filter.
    pub fn within(&self, d: Option<f64>) -> bool {
        match (self.radius_km, d) {
            (Some(r), Some(d)) => d <= r,
            _ => true,
        }
    }
}

/// Where a user is searching from: query point, fresh live location, then home.
pub(crate) fn origin_of(s: &EngineSettings, u: &UserRow, q: &VenueQuery, now: i64) -> Option<(f64, f64)> {
    if let Some(p) = q.point {
        return Some((p.lat, p.lng));
    }
    live_or_home(s, u, now)
}

/// A fresh live location, else home.
pub(crate) fn live_or_home(s: &EngineSettings, u: &UserRow, now: i64) -> Option<(f64, f64)> {
    if let Some((lat, lng, at)) = u.live
        && now - at <= s.candidates.live_location_fresh_minutes * 60
    {
        return Some((lat, lng));
    }
    u.home
}

/// Collects candidate venue indices for a user (deduplicated, all passing the filters):
/// `spatial` nearest (callers give at least the results asked for, as a user with no history,
/// friends or item neighbours has only those), then the other sources by the budgets of `s`;
/// `friends` is the user's [`friend_signal`].
pub(crate) fn candidates(
    st: &State,
    s: &EngineSettings,
    u: &UserRow,
    f: &Filter,
    friends: &FastMap<u32, FriendSignal>,
    neighbours: &FastMap<u32, f64>,
    spatial: usize,
) -> Vec<u32> {
    let c = &s.candidates;
    let budget = spatial + c.history + c.friends + c.neighbours + 16;
    let mut seen: FastMap<u32, ()> = FastMap::with_capacity_and_hasher(budget, Default::default());
    let mut out = Vec::with_capacity(budget);
    // Adds a venue not added yet, saying whether it did.
    let mut push = |v: u32, out: &mut Vec<u32>| {
        let new = seen.insert(v, ()).is_none();
        if new {
            out.push(v);
        }
        new
    };
    let ok = |v: u32| -> bool { st.live_venue(v).is_some_and(|row| f.passes(st, v, row) && f.within(f.distance(row))) };
    // Venues changed since the snapshot may have moved: they are checked directly.
    for &v in st.delta.venues.keys() {
        if ok(v) {
            push(v, &mut out);
        }
    }
    if let Some((lat, lng)) = f.origin_deg {
        // Without a radius in the query, the nearest venues as far as they are: in a city they
        // are all near, and a user far from every venue (another city, a trip) still gets them.
        let max_d2 = f.radius_km.map_or(f64::INFINITY, |r| chord_for_km(r).powi(2));
        // Nearest first, a group at a time. Of a group (all nearer than the venues of the next),
        // the nearest still missing are selected, not sorted, and their rows checked in one
        // tight loop, so the cache misses overlap; the group's farther venues are checked only
        // if some of those fail the filters. The answer is the same as checking one at a time:
        // the first `spatial` that pass, in order of distance.
        let by_distance = |a: &(u32, f64), b: &(u32, f64)| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0));
        let mut near = st.snap.spatial.nearest(lat, lng, max_d2);
        let mut group: Vec<(u32, f64)> = Vec::with_capacity(2 * spatial);
        let mut taken = 0;
        while taken < spatial && near.next_group(&mut group) {
            if !st.delta.venues.is_empty() {
                group.retain(|(v, _)| !st.delta.venues.contains_key(v));
            }
            let mut rest = &mut group[..];
            while !rest.is_empty() && taken < spatial {
                let want = spatial - taken;
                if rest.len() > want {
                    rest.select_nth_unstable_by(want - 1, by_distance);
                }
                let (head, tail) = rest.split_at_mut(want.min(rest.len()));
                let passing: Vec<bool> =
                    head.iter().map(|&(v, _)| st.live_venue(v).is_some_and(|row| f.passes(st, v, row))).collect();
                for (&(v, _), _) in head.iter().zip(&passing).filter(|(_, ok)| **ok) {
                    push(v, &mut out);
                    taken += 1;
                }
                rest = tail;
            }
            group.clear();
        }
    } else {
        // No location at all: the most popular venues stand in for "nearby".
        for &v in st.snap.pop_order.iter() {
            if out.len() >= spatial {
                break;
            }
            if ok(v) {
                push(v, &mut out);
            }
        }
    }
    let mut hist: Vec<_> = u.history.iter().collect();
    hist.sort_unstable_by_key(|a| std::cmp::Reverse(a.last));
    for a in hist.into_iter().filter(|a| ok(a.venue)).take(c.history) {
        push(a.venue, &mut out);
    }
    // Friends' venues by weight: hundreds of them, of which the first `c.friends` new ones that
    // pass are taken.
    let friend_venues: Vec<(u32, f64)> = friends.iter().map(|(&v, x)| (v, x.weight)).collect();
    take_best(friend_venues, c.friends, ok, |v| push(v, &mut out));
    // The venues most engaged with by people who went where the user went, best first: those
    // not taken already that pass the filters and are within the default radius when the query
    // gives none (co-engagement also links venues of other cities).
    if c.neighbours > 0 && !neighbours.is_empty() {
        let reach = f.origin.map(|_| f.radius_km.unwrap_or(c.default_radius_km));
        let near_ok = |v: u32| {
            ok(v) && reach.is_none_or(|r| st.live_venue(v).and_then(|row| f.distance(row)).is_none_or(|d| d <= r))
        };
        let nb: Vec<(u32, f64)> = neighbours.iter().map(|(&v, &x)| (v, x)).collect();
        take_best(nb, c.neighbours, near_ok, |v| push(v, &mut out));
    }
    out
}

/// Takes up to `budget` of `items` (venue, weight), greatest weight first (ties by venue), that
/// pass `ok` and that `push` finds new (it says whether it added the venue). Only a head twice
/// the budget is sorted, and its venues are checked in one tight loop (their rows' cache misses
/// overlap) before any is taken; the rest is sorted and checked only if the head runs out.
fn take_best(mut items: Vec<(u32, f64)>, budget: usize, ok: impl Fn(u32) -> bool, mut push: impl FnMut(u32) -> bool) {
    let by_weight = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut sorted = (2 * budget).min(items.len());
    if sorted < items.len() {
        items.select_nth_unstable_by(sorted, by_weight);
    }
    items[..sorted].sort_unstable_by(by_weight);
    let head: Vec<bool> = items[..sorted].iter().map(|&(v, _)| ok(v)).collect();
    let (mut i, mut taken) = (0, 0);
    while taken < budget && i < items.len() {
        if i == sorted {
            items[sorted..].sort_unstable_by(by_weight);
            sorted = items.len();
        }
        let v = items[i].0;
        let passes = head.get(i).copied().unwrap_or_else(|| ok(v));
        i += 1;
        if passes && push(v) {
            taken += 1;
        }
    }
}

/// Friends whose histories feed social proof, at most.
const MAX_FRIENDS_SCANNED: usize = 64;

/// Friends' engagement with one venue.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FriendSignal {
    /// Friends with a positive signal (a like, save, interest, visit or booking).
    pub liked: u32,
    /// Friends who only looked at it (views, searches).
    pub looked: u32,
    /// Their edge strengths summed, a look counting half.
    pub weight: f64,
}

/// Per venue, the engagement of the user's friends (see [`FriendSignal`]).
pub(crate) fn friend_signal(st: &State, u: &UserRow) -> FastMap<u32, FriendSignal> {
    // The strongest friends only: bounds the work for users with hundreds of edges.
    // Friends only: a suggested connection is a stranger, not social proof.
    let mut edges: Vec<_> = u.edges.iter().filter(|e| e.is_tie()).collect();
    if edges.len() > MAX_FRIENDS_SCANNED {
        edges.select_nth_unstable_by(MAX_FRIENDS_SCANNED, |a, b| {
            b.strength.total_cmp(&a.strength).then(a.other.cmp(&b.other))
        });
        edges.truncate(MAX_FRIENDS_SCANNED);
    }
    let friends: Vec<_> = edges.into_iter().filter_map(|e| Some((e, st.live_user(e.other)?))).collect();
    let mut m: FastMap<u32, FriendSignal> =
        FastMap::with_capacity_and_hasher(friends.iter().map(|(_, f)| f.history.len()).sum(), Default::default());
    for (e, f) in friends {
        for a in &f.history {
            let x = m.entry(a.venue).or_default();
            let positive = a.positive();
            x.liked += u32::from(positive);
            x.looked += u32::from(!positive);
            x.weight += e.strength.max(0.05) * if positive { 1.0 } else { 0.5 };
        }
    }
    m
}

/// Loads the row line and counters of venues about to be scored in one tight loop of
/// independent loads, so their cache misses overlap instead of being paid one at a time
/// between the scoring work.
pub(crate) fn warm(st: &State, venues: impl Iterator<Item = u32>) {
    let touched = venues.fold(0u64, |acc, v| {
        let row = st.venue(v).map_or(0, |r| u64::from(r.alive));
        acc.wrapping_add(row).wrapping_add(u64::from(st.trend_pos(v).1))
    });
    std::hint::black_box(touched);
}

/// The summary block of a recommendation.
pub(crate) fn summary(row: &VenueRow) -> VenueSummary {
    VenueSummary {
        category: row.category,
        cuisine: row.cuisine.clone(),
        price_level: row.price,
        rating: row.rating,
        lat: row.lat,
        lng: row.lng,
    }
}

/// Distance (km) of a spatial stream's frontier given its squared chord length.
pub(crate) fn frontier_km(d2: f64) -> f64 {
    km_for_chord(d2.sqrt())
}

#[cfg(test)]
pub(crate) mod tests;
