//! Bulk loading: stream users, venues, edges, interactions, interests and bookings into an
//! [`EngineBuilder`], then [`EngineBuilder::build`] an [`Engine`]. Every `add_*` is O(log n)
//! on small per-user arrays; nothing keeps the raw interaction log.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono_tz::Tz;
use domain::{Booking, BookingStatus, Interaction, SocialEdge, User, UserPreferences, Venue, VenueInterest};
use uuid::Uuid;

use crate::engine::Engine;
use crate::ingest;
use crate::settings::EngineSettings;
use crate::state::{Delta, Edge, InterestMark, Snapshot, Spatial, UserRow, VenueDyn, VenueRow, upsert_mark};
use crate::util::{FastMap, TagSet, TagVocab};

/// Collects domain values and builds an [`Engine`].
#[derive(Debug)]
pub struct EngineBuilder {
    settings: EngineSettings,
    users: Vec<UserRow>,
    user_ix: FastMap<Uuid, u32>,
    venues: Vec<Option<VenueRow>>,
    vdyn: Vec<VenueDyn>,
    venue_ix: FastMap<Uuid, u32>,
    tzs: Vec<Tz>,
    tz_ix: HashMap<String, u16>,
    /// Opening hours seen so far, one shared copy each.
    hours: HashSet<Arc<domain::OpeningHours>>,
    tag_vocab: TagVocab,
    t0: Option<i64>,
    half_life_secs: f64,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self::new(EngineSettings::default())
    }
}

impl EngineBuilder {
    /// An empty builder; `settings` are kept by the engine it builds.
    pub fn new(settings: EngineSettings) -> Self {
        let half_life_secs = settings.ranker.trend_half_life_hours.max(0.01) * 3600.0;
        Self {
            settings,
            users: Vec::new(),
            user_ix: FastMap::default(),
            venues: Vec::new(),
            vdyn: Vec::new(),
            venue_ix: FastMap::default(),
            tzs: vec![chrono_tz::America::New_York],
            tz_ix: HashMap::from([("America/New_York".to_string(), 0)]),
            hours: HashSet::new(),
            tag_vocab: TagVocab::default(),
            t0: None,
            half_life_secs,
        }
    }

    /// Reserves room for about this many users, venues.
    pub fn reserve(&mut self, users: usize, venues: usize) {
        self.users.reserve(users);
        self.user_ix.reserve(users);
        self.venues.reserve(venues);
        self.vdyn.reserve(venues);
        self.venue_ix.reserve(venues);
    }

    fn user_slot(&mut self, id: Uuid) -> u32 {
        let next = self.users.len() as u32;
        let ix = *self.user_ix.entry(id).or_insert(next);
        if ix == next {
            self.users.push(UserRow { id, ..UserRow::default() });
        }
        ix
    }

    fn venue_slot(&mut self, id: Uuid) -> u32 {
        let next = self.venues.len() as u32;
        let ix = *self.venue_ix.entry(id).or_insert(next);
        if ix == next {
            self.venues.push(None);
            self.vdyn.push(VenueDyn::default());
        }
        ix
    }

    /// Adds a user and, optionally, their preferences.
    pub fn add_user(&mut self, u: &User, prefs: Option<&UserPreferences>) {
        let ix = self.user_slot(u.id) as usize;
        ingest::set_profile(&mut self.users[ix], u);
        if let Some(p) = prefs {
            self.users[ix].prefs = Some(ingest::prefs_from(p));
        }
    }

    /// Sets a known user's live location, sent at `at` (used instead of home while fresh, as
    /// [`crate::Engine::set_location`] does); ignored for a user not added.
    pub fn set_location(&mut self, user_id: Uuid, lat: f64, lng: f64, at: chrono::DateTime<chrono::Utc>) {
        if let Some(&ix) = self.user_ix.get(&user_id) {
            self.users[ix as usize].live = Some((lat, lng, at.timestamp()));
        }
    }

    /// Sets (or replaces) a user's preferences.
    pub fn set_preferences(&mut self, user_id: Uuid, prefs: &UserPreferences) {
        let ix = self.user_slot(user_id) as usize;
        self.users[ix].prefs = Some(ingest::prefs_from(prefs));
    }

    /// Adds a venue.
    pub fn add_venue(&mut self, v: &Venue) {
        let tz = tz_index(&mut self.tzs, &mut self.tz_ix, &v.timezone);
        let ix = self.venue_slot(v.id) as usize;
        let mut row = ingest::venue_row(v, tz, &mut self.tag_vocab);
        row.hours = row.hours.map(|h| match self.hours.get(&*h) {
            Some(shared) => Arc::clone(shared),
            None => {
                self.hours.insert(Arc::clone(&h));
                h
            }
        });
        self.venues[ix] = Some(row);
    }

    /// Adds a directed social edge.
    pub fn add_edge(&mut self, e: &SocialEdge) {
        if e.user_id == e.other_user_id {
            return;
        }
        let a = self.user_slot(e.user_id);
        let b = self.user_slot(e.other_user_id);
        self.users[a as usize].set_edge(Edge { other: b, rel: e.relationship_type, strength: e.strength });
    }

    /// Adds one logged interaction.
    pub fn add_interaction(&mut self, i: &Interaction) {
        let u = self.user_slot(i.user_id);
        let v = self.venue_slot(i.venue_id);
        let t = i.occurred_at.timestamp();
        let t0 = self.trend_origin(t);
        ingest::record_on_user(&mut self.users[u as usize], v, i);
        ingest::record_on_venue(&mut self.vdyn[v as usize], u, i, t0, self.half_life_secs);
    }

    /// Adds an expressed interest in a venue.
    pub fn add_interest(&mut self, i: &VenueInterest) {
        let u = self.user_slot(i.user_id);
        let v = self.venue_slot(i.venue_id);
        upsert_mark(&mut self.users[u as usize].interests, InterestMark::of(v, i));
        upsert_mark(&mut self.vdyn[v as usize].interested, InterestMark::of(u, i));
    }

    /// Adds a booking: social proof for every member, a visit once completed.
    pub fn add_booking(&mut self, b: &Booking) {
        if matches!(b.status, BookingStatus::Cancelled) {
            return;
        }
        let v = self.venue_slot(b.venue_id);
        self.vdyn[v as usize].bookings += 1;
        let at = ingest::booking_signal_at(b, b.status == BookingStatus::Completed);
        for m in ingest::booking_members(b) {
            let u = self.user_slot(m);
            ingest::record_booking_on_user(&mut self.users[u as usize], v, b, false);
            if b.status == BookingStatus::Completed {
                ingest::record_booking_on_user(&mut self.users[u as usize], v, b, true);
            }
            self.vdyn[v as usize].push_recent(u, at);
        }
    }

    /// Keeps trend exponents small: moves the decay origin forward when time runs far past it.
    fn trend_origin(&mut self, t: i64) -> i64 {
        let t0 = *self.t0.get_or_insert(t);
        if (t - t0) as f64 / self.half_life_secs > 400.0 {
            let scale = ((t0 - t) as f64 / self.half_life_secs).exp2();
            for d in &mut self.vdyn {
                d.trend *= scale;
            }
            self.t0 = Some(t);
            return t;
        }
        t0
    }

    /// Builds the engine: the spatial indexes over venues, popularity order, and the live state.
    pub fn build(self) -> Engine {
        let ids = self.venue_ix_order();
        let venues = shared(self.venues.into_iter().zip(ids).map(|(v, id)| v.unwrap_or_else(|| dead_venue(id))));
        let n_users = self.users.len() as u32;
        let n_venues = venues.len() as u32;
        let users = shared(self.users.into_iter());
        let vdyn = shared(self.vdyn.into_iter());
        let max_pos = vdyn.iter().map(|d| d.pos).max().unwrap_or(0);
        let snap = assemble(
            Arc::new(users),
            Arc::new(venues),
            Arc::new(vdyn),
            Arc::new(self.user_ix),
            Arc::new(self.venue_ix),
            // With no interaction yet, live ones will come from about now: an origin far from
            // them would overflow the decay factor (2^((t - t0) / half-life)).
            self.t0.unwrap_or_else(|| chrono::Utc::now().timestamp()),
            self.half_life_secs,
            None,
        );
        let delta = Delta {
            n_users,
            n_venues,
            max_pos,
            tzs: Arc::new(self.tzs),
            tag_vocab: Arc::new(self.tag_vocab),
            ..Delta::default()
        };
        Engine::from_parts(snap, delta, self.settings)
    }

    fn venue_ix_order(&self) -> Vec<Uuid> {
        let mut ids = vec![Uuid::nil(); self.venues.len()];
        for (id, &ix) in &self.venue_ix {
            ids[ix as usize] = *id;
        }
        ids
    }
}

/// Rows moved behind `Arc`s, in a vector of their own size. `rows.map(Arc::new).collect()`
/// would reuse the rows' buffer in place (a vector's `collect` from its own `into_iter` keeps
/// the source allocation when the new items are no larger), so a million 368-byte user rows
/// would leave a 350 MiB buffer holding a million 8-byte pointers for the snapshot's life.
fn shared<T>(rows: impl ExactSizeIterator<Item = T>) -> Vec<Arc<T>> {
    let mut out = Vec::with_capacity(rows.len());
    out.extend(rows.map(Arc::new));
    out
}

/// A placeholder for a venue referenced by interactions but never added.
pub(crate) fn dead_venue(id: Uuid) -> VenueRow {
    VenueRow {
        id,
        name: String::new(),
        alive: false,
        category: domain::Category::Restaurant,
        cuisine: None,
        cuisine_h: None,
        tags_h: Vec::new(),
        tags: TagSet::default(),
        price: None,
        rating: None,
        lat: 0.0,
        lng: 0.0,
        xyz: [0.0; 3],
        capacity: 0,
        hours: None,
        tz: 0,
    }
}

/// Index of a time zone name in the table, added if new (unknown names map to New York).
pub(crate) fn tz_index(tzs: &mut Vec<Tz>, ix: &mut HashMap<String, u16>, name: &str) -> u16 {
    if let Some(&i) = ix.get(name) {
        return i;
    }
    let tz: Tz = name.parse().unwrap_or(chrono_tz::America::New_York);
    let i = u16::try_from(tzs.len()).unwrap_or(0);
    tzs.push(tz);
    ix.insert(name.to_string(), i);
    i
}

/// Inserts or replaces `(key, value)` in a list sorted by key.
/// A snapshot from its rows: builds the spatial indexes (unless given) and the popularity order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble(
    users: Arc<Vec<Arc<UserRow>>>,
    venues: Arc<Vec<Arc<VenueRow>>>,
    vdyn: Arc<Vec<Arc<VenueDyn>>>,
    user_ix: Arc<FastMap<Uuid, u32>>,
    venue_ix: Arc<FastMap<Uuid, u32>>,
    trend_t0: i64,
    half_life_secs: f64,
    spatial: Option<Arc<Spatial>>,
) -> Snapshot {
    let (spatial, venues) = match spatial {
        Some(spatial) => (spatial, venues),
        None => {
            let spatial = Spatial::build((0u32..).zip(venues.iter().map(|v| &**v)));
            let venues = Arc::new(relocate(&venues, spatial.order()));
            (Arc::new(spatial), venues)
        }
    };
    let mut pop_order: Vec<u32> = (0..venues.len() as u32).filter(|&i| venues[i as usize].alive).collect();
    pop_order.sort_by_key(|&i| std::cmp::Reverse(vdyn[i as usize].pos));
    let vnum = Arc::new(vdyn.iter().map(|d| (d.trend, d.pos)).collect());
    Snapshot {
        users,
        venues,
        vdyn,
        vnum,
        user_ix,
        venue_ix,
        spatial,
        pop_order: Arc::new(pop_order),
        trend_t0,
        half_life_secs,
    }
}

/// The rows again, each allocated anew in `order` (the others shared as they are): venues near
/// each other on the map are then near each other in memory, so the rows a query reads (a few
/// hundred neighbours) share pages and cache-friendly runs instead of being spread over the
/// whole table in the order venues were added. Done only when the spatial index is rebuilt (at
/// build, and at a merge after venues changed): about 0.1 s for 100,000 venues, and the new
/// snapshot then shares no venue row with the old one.
fn relocate(venues: &[Arc<VenueRow>], order: impl Iterator<Item = u32>) -> Vec<Arc<VenueRow>> {
    let mut out = venues.to_vec();
    for v in order {
        let v = v as usize;
        out[v] = Arc::new((*venues[v]).clone());
    }
    out
}
