//! The engine's data: an immutable base [`Snapshot`] plus a small copy-on-write [`Delta`],
//! bundled in one [`State`] value that readers load atomically. Per-user and per-venue rows are
//! `Arc`s, so a delta entry replaces one row and a merge re-shares every untouched row.

use std::sync::Arc;

use chrono_tz::Tz;
use domain::{Category, OpeningHours, Persona, RelationshipType, TimeOfDay};
use rstar::primitives::GeomWithData;
use rstar::{RStarInsertionStrategy, RTree, RTreeParams};
use uuid::Uuid;

use crate::grid::{Nearest, VenueGrid};
use crate::model::LoadedModel;
use crate::util::{FastMap, TagSet, TagVocab};

/// A venue point in the R-tree: Earth-centred coordinates (km) and the venue index.
pub(crate) type VenuePoint = GeomWithData<[f64; 3], u32>;

/// The venue R-tree: nodes of up to 12 children rather than rstar's default 6, so the tree is
/// shallower and a walk to the few hundred nearest venues expands fewer nodes (300 nearest of
/// 100,000 uniform points: 45-50 µs against 56-61 µs, measured on a scratch program). The tree
/// is bulk-loaded per snapshot, so its slower inserts do not matter.
pub(crate) type VenueTree = RTree<VenuePoint, VenueTreeParams>;

/// Node sizes of [`VenueTree`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct VenueTreeParams;

impl RTreeParams for VenueTreeParams {
    const MIN_SIZE: usize = 5;
    const MAX_SIZE: usize = 12;
    const REINSERTION_COUNT: usize = 3;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// The spatial index of a snapshot's alive venues, rebuilt only when venues change: the grid
/// where venues are even enough for one (a city's are), else the R-tree.
#[derive(Debug)]
pub(crate) enum Spatial {
    Grid(VenueGrid),
    Tree(VenueTree),
}

impl Spatial {
    /// Indexes venues, given as (index, row); only alive ones are indexed.
    pub fn build<'a>(venues: impl Iterator<Item = (u32, &'a VenueRow)>) -> Self {
        let alive: Vec<(u32, &VenueRow)> = venues.filter(|(_, r)| r.alive).collect();
        match VenueGrid::build(&alive.iter().map(|&(v, r)| (v, r.lat, r.lng)).collect::<Vec<_>>()) {
            Some(grid) => Spatial::Grid(grid),
            None => Spatial::tree(alive.into_iter()),
        }
    }

    /// An R-tree over venues, given as (index, row).
    pub fn tree<'a>(venues: impl Iterator<Item = (u32, &'a VenueRow)>) -> Self {
        Spatial::Tree(VenueTree::bulk_load_with_params(venues.map(|(v, r)| VenuePoint::new(r.xyz, v)).collect()))
    }

    /// The indexed venues in the grid's order (cell by cell), or none without a grid.
    pub fn order(&self) -> impl Iterator<Item = u32> + '_ {
        let grid = match self {
            Spatial::Grid(g) => Some(g),
            Spatial::Tree(_) => None,
        };
        grid.into_iter().flat_map(VenueGrid::venues)
    }

    /// Venues nearest first from a point (degrees), with their squared chord distance (km²), as
    /// far as `max_d2`. Both indexes give the same order, but ties come by venue index from the
    /// grid and in the tree's own order from the tree.
    pub fn nearest(&self, lat: f64, lng: f64, max_d2: f64) -> Near<'_> {
        match self {
            Spatial::Grid(g) => Near::Grid(g.nearest(lat, lng, max_d2)),
            Spatial::Tree(t) => Near::Tree(Box::new(
                t.nearest_neighbor_iter_with_distance_2(&crate::util::to_xyz(lat, lng))
                    .map(|(p, d2)| (p.data, d2))
                    .take_while(move |&(_, d2)| d2 <= max_d2),
            )),
        }
    }
}

/// The stream of [`Spatial::nearest`].
pub(crate) enum Near<'a> {
    Grid(Nearest<'a>),
    Tree(Box<dyn Iterator<Item = (u32, f64)> + 'a>),
}

impl Near<'_> {
    /// The next group of venues in no order within the group, each as near as or nearer than
    /// every venue of later groups (see [`Nearest::next_group`]); false when the stream is over.
    pub fn next_group(&mut self, out: &mut Vec<(u32, f64)>) -> bool {
        match self {
            Near::Grid(it) => it.next_group(out),
            Near::Tree(it) => {
                let before = out.len();
                out.extend(it.take(64));
                out.len() > before
            }
        }
    }
}

impl Iterator for Near<'_> {
    type Item = (u32, f64);

    fn next(&mut self) -> Option<(u32, f64)> {
        match self {
            Near::Grid(it) => it.next(),
            Near::Tree(it) => it.next(),
        }
    }
}

/// One user's aggregated interactions with one venue (the whole log is never kept).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Agg {
    pub venue: u32,
    /// Like and interest interactions (the second seed's positive count).
    pub likes: u16,
    /// Interactions of any type.
    pub n: u16,
    pub visits: u16,
    pub booked: u16,
    pub saves: u16,
    /// Sum of dwell seconds over all interactions.
    pub dwell: u32,
    /// Last interaction, seconds since the epoch.
    pub last: u32,
    /// Last visit (visit interaction or completed booking), seconds since the epoch; 0 = never.
    pub last_visit: u32,
}

impl Agg {
    /// The second seed's preference `min(1, likes*0.5 + dwell/300)`, in f64 as the seed computes it.
    pub fn seed2_preference(&self) -> f64 {
        (f64::from(self.likes) * 0.5 + f64::from(self.dwell) / 300.0).min(1.0)
    }

    /// A 0..1 engagement strength used by the default rankers.
    pub fn engagement(&self) -> f64 {
        1.0 - (-self.raw_engagement()).exp()
    }

    /// Unbounded engagement: weighted counts of what the user did with the venue (dwell counts
    /// at most as much as one like and one visit, so a long visit does not drown repeat visits).
    pub fn raw_engagement(&self) -> f64 {
        f64::from(self.likes) * 0.5
            + f64::from(self.saves) * 0.35
            + f64::from(self.visits) * 0.5
            + f64::from(self.booked) * 0.5
            + f64::from(self.n) * 0.3
            + (f64::from(self.dwell) / 600.0).min(1.0)
    }

    /// Whether the user showed a positive signal (like, interest, save, visit or booking).
    pub fn positive(&self) -> bool {
        self.likes > 0 || self.saves > 0 || self.visits > 0 || self.booked > 0
    }
}

/// A directed social edge from the owning user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Edge {
    pub other: u32,
    pub rel: RelationshipType,
    pub strength: f64,
}

impl Edge {
    /// Whether the edge is a tie (a `friend` or `mutual` relationship). A `suggested` edge is
    /// not: the person behind it is a stranger the platform proposes, as the store has it.
    pub fn is_tie(&self) -> bool {
        self.rel != RelationshipType::Suggested
    }
}

/// A user's explicit tastes, as tag hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Prefs {
    pub cuisines: Vec<u64>,
    /// Cuisine hashes in the order the user stated them (favourite first).
    pub cuisines_ranked: Vec<u64>,
    /// The cuisine names as stated, in the same order (said back in an answer's context).
    pub cuisine_names: Vec<String>,
    pub price_min: i16,
    pub price_max: i16,
    pub ambiance: Vec<u64>,
    /// Per dietary need: hashes of `need`, `need_options`, `need_friendly`.
    pub dietary: Vec<[u64; 3]>,
    pub openness: f64,
    pub group_size: i16,
}

/// Everything the engine knows about one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
    pub alive: bool,
    pub home: Option<(f64, f64)>,
    /// Live location and when it was reported (seconds since the epoch).
    pub live: Option<(f64, f64, i64)>,
    pub persona: Option<Persona>,
    pub activity: f32,
    pub social: f32,
    pub prefs: Option<Prefs>,
    /// Sorted by venue index.
    pub history: Vec<Agg>,
    /// Sorted by other user index.
    pub edges: Vec<Edge>,
    /// Expressed interests, keyed and sorted by venue index.
    pub interests: Vec<InterestMark>,
    /// Interactions per time of day (morning, afternoon, evening, night).
    pub tod: [u32; 4],
    /// Interactions on weekdays and at weekends.
    pub week: [u32; 2],
}

impl UserRow {
    /// The aggregate for a venue, if any.
    pub fn agg(&self, venue: u32) -> Option<&Agg> {
        self.history.binary_search_by_key(&venue, |a| a.venue).ok().map(|i| &self.history[i])
    }

    /// The edge to another user, if any.
    pub fn edge(&self, other: u32) -> Option<&Edge> {
        self.edges.binary_search_by_key(&other, |e| e.other).ok().map(|i| &self.edges[i])
    }

    /// The aggregate for a venue, created if missing (keeps the history sorted).
    pub fn agg_mut(&mut self, venue: u32) -> &mut Agg {
        let i = match self.history.binary_search_by_key(&venue, |a| a.venue) {
            Ok(i) => i,
            Err(i) => {
                self.history.insert(i, Agg { venue, ..Agg::default() });
                i
            }
        };
        &mut self.history[i]
    }

    /// Inserts or replaces the edge to `other`.
    pub fn set_edge(&mut self, e: Edge) {
        match self.edges.binary_search_by_key(&e.other, |x| x.other) {
            Ok(i) => self.edges[i] = e,
            Err(i) => self.edges.insert(i, e),
        }
    }

    /// Removes the edge to `other`, if any.
    pub fn remove_edge(&mut self, other: u32) {
        if let Ok(i) = self.edges.binary_search_by_key(&other, |x| x.other) {
            self.edges.remove(i);
        }
    }
}

/// A venue's static description. What a query reads of every candidate comes first, in one
/// 64-byte line (location, tags, cuisine, price, time zone, category, liveness), then rating and
/// hours in the next; the rest (names, tag list) is read only for the answer's few venues.
#[derive(Debug, Clone, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct VenueRow {
    /// `tags_h` as a mask over the engine's [`crate::util::TagVocab`]. First: a `u128` is
    /// 16-aligned, and anywhere after the 24-byte location it would leave a gap that pushes
    /// the last hot fields into the second line (`first_line_holds_what_every_candidate_needs`).
    pub tags: TagSet,
    pub xyz: [f64; 3],
    pub cuisine_h: Option<u64>,
    pub price: Option<i16>,
    /// Index into the time zone table.
    pub tz: u16,
    pub category: Category,
    pub alive: bool,
    pub rating: Option<f64>,
    /// Shared between venues with the same hours (a city has a few dozen schedules), so
    /// checking them stays in cache.
    pub hours: Option<Arc<OpeningHours>>,
    pub capacity: i32,
    pub id: Uuid,
    pub name: String,
    pub cuisine: Option<String>,
    /// Sorted tag hashes.
    pub tags_h: Vec<u64>,
    pub lat: f64,
    pub lng: f64,
}

/// One expressed interest as the engine keeps it, in a user's list (keyed by venue) and in a
/// venue's (keyed by user). Packed into the 24 bytes the (key, time) pair before it took: the
/// part of the day and the open flag fill what was padding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InterestMark {
    /// The venue index in a user's list, the user index in a venue's.
    pub key: u32,
    pub slot: Option<TimeOfDay>,
    /// Whether other users may see it (and invite them); a closed interest still counts as
    /// the user's own signal.
    pub open: bool,
    /// Preferred time, seconds since the epoch.
    pub time: Option<i64>,
}

impl InterestMark {
    /// The mark of `i` under `key`.
    pub fn of(key: u32, i: &domain::VenueInterest) -> Self {
        Self {
            key,
            slot: i.preferred_time_slot,
            open: i.open_to_invites,
            time: i.preferred_time.map(|t| t.timestamp()),
        }
    }
}

/// Inserts or replaces the mark with `m`'s key (the list stays sorted by key).
pub(crate) fn upsert_mark(list: &mut Vec<InterestMark>, m: InterestMark) {
    match list.binary_search_by_key(&m.key, |x| x.key) {
        Ok(i) => list[i] = m,
        Err(i) => list.insert(i, m),
    }
}

/// A venue's changing numbers: counts, trend, who is interested.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VenueDyn {
    /// Like and interest interactions (the second seed's popularity count).
    pub pos: u32,
    /// Interactions of any type.
    pub total: u32,
    pub bookings: u32,
    /// Decayed activity: sum of `2^((t - t0) / half_life)` over interactions.
    pub trend: f64,
    /// Expressed interests, keyed and sorted by user index.
    pub interested: Vec<InterestMark>,
    /// The most recent users with a positive signal and when (seconds since the epoch), newest
    /// last by that time (not by when it was heard of), at most [`RECENT_USERS`].
    pub recent: Vec<(u32, u32)>,
}

/// How many recent positive users a venue remembers (people candidates "who went there").
pub(crate) const RECENT_USERS: usize = 32;

impl VenueDyn {
    /// Remembers user `u`'s positive signal at `at`: the list stays in time order whatever order
    /// signals come in (a log replayed by id, a late delivery), each user once at their latest,
    /// and the oldest go first beyond [`RECENT_USERS`]. Signals of the same second keep the order
    /// they came in, so which of those goes first at the bound still depends on it.
    pub fn push_recent(&mut self, u: u32, at: u32) {
        let at = match self.recent.iter().position(|&(x, _)| x == u) {
            Some(i) => at.max(self.recent.remove(i).1),
            None => at,
        };
        // After every signal at or before it.
        let mut i = self.recent.partition_point(|&(_, t)| t <= at);
        // Full: the oldest goes before the insert, so the list never grows past the bound (nor
        // reallocates); a signal older than all kept is the oldest itself.
        if self.recent.len() >= RECENT_USERS {
            if i == 0 {
                return;
            }
            self.recent.remove(0);
            i -= 1;
        }
        self.recent.insert(i, (u, at));
    }

    /// The users of [`VenueDyn::recent`], oldest first.
    pub fn recent_users(&self) -> impl Iterator<Item = u32> + '_ {
        self.recent.iter().map(|&(u, _)| u)
    }
}

/// The immutable base: rebuilt only by a merge.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub users: Arc<Vec<Arc<UserRow>>>,
    pub venues: Arc<Vec<Arc<VenueRow>>>,
    pub vdyn: Arc<Vec<Arc<VenueDyn>>>,
    pub user_ix: Arc<FastMap<Uuid, u32>>,
    pub venue_ix: Arc<FastMap<Uuid, u32>>,
    /// Alive venues of the base, by location.
    pub spatial: Arc<Spatial>,
    /// Per venue of the base, its counters' trend and positive count side by side (what the
    /// rankers read of [`VenueDyn`]), one cache line for eight venues.
    pub vnum: Arc<Vec<(f64, u32)>>,
    /// Base venues by descending positive count.
    pub pop_order: Arc<Vec<u32>>,
    /// Origin of the trend decay, seconds since the epoch.
    pub trend_t0: i64,
    pub half_life_secs: f64,
}

const SHARDS: usize = 64;

/// One shard of a [`Shards`] map.
type Shard<T> = Arc<FastMap<u32, Arc<T>>>;

/// A copy-on-write map from index to row, in shards so an update copies one small shard.
#[derive(Debug, Clone)]
pub(crate) struct Shards<T> {
    shards: Arc<Vec<Shard<T>>>,
    len: usize,
}

impl<T: Clone> Default for Shards<T> {
    fn default() -> Self {
        Self { shards: Arc::new((0..SHARDS).map(|_| Arc::new(FastMap::default())).collect()), len: 0 }
    }
}

impl<T: Clone> Shards<T> {
    /// The row for an index, if the delta holds one.
    pub fn get(&self, k: u32) -> Option<&Arc<T>> {
        // Right after a merge the delta is empty: no shard to hash into.
        if self.len == 0 {
            return None;
        }
        self.shards[k as usize % SHARDS].get(&k)
    }

    /// Inserts or replaces a row.
    pub fn insert(&mut self, k: u32, v: Arc<T>) {
        let outer = Arc::make_mut(&mut self.shards);
        let shard = Arc::make_mut(&mut outer[k as usize % SHARDS]);
        if shard.insert(k, v).is_none() {
            self.len += 1;
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Every (index, row).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Arc<T>)> {
        self.shards.iter().flat_map(|s| s.iter().map(|(k, v)| (*k, v)))
    }
}

/// Changes since the snapshot, replaced as a whole on every write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Delta {
    pub users: Shards<UserRow>,
    pub vdyn: Shards<VenueDyn>,
    /// Venues created or updated since the snapshot (scanned linearly; few).
    pub venues: Arc<FastMap<u32, Arc<VenueRow>>>,
    pub new_user_ix: Arc<FastMap<Uuid, u32>>,
    pub new_venue_ix: Arc<FastMap<Uuid, u32>>,
    pub n_users: u32,
    pub n_venues: u32,
    /// The largest positive count over venues, now.
    pub max_pos: u32,
    /// Time zones by index (grows when a venue brings a new one).
    pub tzs: Arc<Vec<Tz>>,
    /// The bits of venue tag masks (grows when a venue brings a new tag).
    pub tag_vocab: Arc<TagVocab>,
    /// Venues whose positive count differs from the snapshot's, as (count now, venue), by
    /// descending count: the popularity stream for them (their base order is stale).
    pub dirty_pop: Arc<Vec<(u32, u32)>>,
}

/// What a reader loads: a snapshot, its delta and the learned model, consistent together.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub snap: Arc<Snapshot>,
    pub delta: Delta,
    pub model: Option<Arc<LoadedModel>>,
    /// Bumped by a data reset: indices from before it mean other users and venues.
    pub generation: u64,
}

impl State {
    /// The current row of a user (alive or not).
    pub fn user(&self, u: u32) -> Option<&UserRow> {
        match self.delta.users.get(u) {
            Some(r) => Some(r),
            None => self.snap.users.get(u as usize).map(|r| &**r),
        }
    }

    /// The current row of an alive user.
    pub fn live_user(&self, u: u32) -> Option<&UserRow> {
        self.user(u).filter(|r| r.alive)
    }

    /// The current row of a venue (alive or not).
    pub fn venue(&self, v: u32) -> Option<&VenueRow> {
        let changed = if self.delta.venues.is_empty() { None } else { self.delta.venues.get(&v) };
        match changed {
            Some(r) => Some(r),
            None => self.snap.venues.get(v as usize).map(|r| &**r),
        }
    }

    /// The current row of an alive venue.
    pub fn live_venue(&self, v: u32) -> Option<&VenueRow> {
        self.venue(v).filter(|r| r.alive)
    }

    /// The positive count of a venue in the snapshot (its place in `pop_order`).
    pub fn base_pos(&self, v: u32) -> u32 {
        self.snap.vdyn.get(v as usize).map_or(0, |d| d.pos)
    }

    /// Whether a venue's positive count changed since the snapshot.
    pub fn pos_dirty(&self, v: u32) -> bool {
        self.delta.vdyn.get(v).is_some_and(|d| d.pos != self.base_pos(v))
    }

    /// The current counters of a venue.
    pub fn vdyn(&self, v: u32) -> Option<&VenueDyn> {
        match self.delta.vdyn.get(v) {
            Some(r) => Some(r),
            None => self.snap.vdyn.get(v as usize).map(|r| &**r),
        }
    }

    /// A venue's raw trend (before decay to a time) and positive count: its counters' numbers
    /// the rankers read, from the flat base array unless the delta changed them.
    pub fn trend_pos(&self, v: u32) -> (f64, u32) {
        match self.delta.vdyn.get(v) {
            Some(d) => (d.trend, d.pos),
            None => self.snap.vnum.get(v as usize).copied().unwrap_or((0.0, 0)),
        }
    }

    /// The index of a user id.
    pub fn user_idx(&self, id: &Uuid) -> Option<u32> {
        self.snap.user_ix.get(id).or_else(|| self.delta.new_user_ix.get(id)).copied()
    }

    /// The index of a venue id.
    pub fn venue_idx(&self, id: &Uuid) -> Option<u32> {
        self.snap.venue_ix.get(id).or_else(|| self.delta.new_venue_ix.get(id)).copied()
    }

    /// Venue indices in use (alive or not).
    pub fn n_venues(&self) -> u32 {
        self.delta.n_venues
    }

    /// User indices in use (alive or not).
    pub fn n_users(&self) -> u32 {
        self.delta.n_users
    }

    /// The time zone of a venue.
    pub fn tz(&self, v: &VenueRow) -> Tz {
        self.delta.tzs.get(usize::from(v.tz)).copied().unwrap_or(chrono_tz::America::New_York)
    }

    /// Decayed trend of a venue at `now` (seconds since the epoch).
    pub fn trend(&self, v: u32, now: i64) -> f64 {
        self.trend_pos(v).0 * self.trend_decay(now)
    }

    /// What stored trends are multiplied by at `now`: `2^((t0 - now) / half-life)`. The exponent
    /// is capped, since a decay origin far ahead of `now` (interactions dated years after the
    /// query's time) would overflow to infinity and make every trend NaN; under the cap the
    /// factor is common to every venue, so their order is kept. Stored trends stay below about
    /// 2^400 (the origin moves once time runs 200 half-lives past it), so the product is finite.
    pub fn trend_decay(&self, now: i64) -> f64 {
        ((self.snap.trend_t0 - now) as f64 / self.snap.half_life_secs).min(MAX_DECAY_EXPONENT).exp2()
    }
}

/// The largest power of two [`State::trend_decay`] gives.
const MAX_DECAY_EXPONENT: f64 = 512.0;

#[cfg(test)]
mod layout_tests {
    use std::mem::{offset_of, size_of};

    use super::{InterestMark, VenueRow};

    /// Every user's and venue's interest lists hold these: a million users with a few each.
    #[test]
    fn an_interest_mark_takes_no_more_than_the_pair_it_replaced() {
        assert_eq!(size_of::<InterestMark>(), size_of::<(u32, Option<i64>)>());
        assert_eq!(size_of::<InterestMark>(), 24);
    }

    /// Every candidate's filters and features read these: they must share the row's first
    /// cache line, or each candidate costs two misses instead of one.
    #[test]
    fn first_line_holds_what_every_candidate_needs() {
        let ends = [
            offset_of!(VenueRow, tags) + 16,
            offset_of!(VenueRow, xyz) + size_of::<[f64; 3]>(),
            offset_of!(VenueRow, cuisine_h) + size_of::<Option<u64>>(),
            offset_of!(VenueRow, price) + size_of::<Option<i16>>(),
            offset_of!(VenueRow, tz) + 2,
            offset_of!(VenueRow, category) + 1,
            offset_of!(VenueRow, alive) + 1,
        ];
        assert!(ends.iter().all(|&e| e <= 64), "hot fields end at {ends:?}");
        assert_eq!(std::mem::align_of::<VenueRow>(), 64);
    }
}

#[cfg(test)]
mod recent_tests {
    use domain::{Category, InteractionType};

    use super::{RECENT_USERS, VenueDyn};
    use crate::settings::EngineSettings;
    use crate::testkit::{ix, user, venue};
    use crate::{Engine, EngineBuilder};

    #[test]
    fn recent_users_stay_in_time_order_whatever_order_their_signals_come_in() {
        let mut d = VenueDyn::default();
        // Signals at 100, 300, 200 (late), then user 1 again at 50 (older than their 100).
        d.push_recent(1, 100);
        d.push_recent(3, 300);
        d.push_recent(2, 200);
        d.push_recent(1, 50);
        assert_eq!(d.recent, [(1, 100), (2, 200), (3, 300)]);
        // A later signal moves a user to their new time.
        d.push_recent(1, 400);
        assert_eq!(d.recent_users().collect::<Vec<_>>(), [2, 3, 1]);
        // Beyond the bound the oldest go, even one heard of last.
        for u in 10..10 + RECENT_USERS as u32 {
            d.push_recent(u, 1_000 + u);
        }
        d.push_recent(99, 150);
        assert_eq!(d.recent.len(), RECENT_USERS);
        assert!(d.recent.capacity() <= RECENT_USERS, "never grown past the bound: {}", d.recent.capacity());
        assert!(d.recent.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", d.recent);
        assert_eq!(d.recent_users().collect::<Vec<_>>(), (10..10 + RECENT_USERS as u32).collect::<Vec<_>>());
    }

    /// An engine over 40 users who each liked venue 1000 once, a minute apart, the log added in
    /// `order`.
    fn liked_by_forty(order: impl Iterator<Item = u128>) -> Engine {
        let mut b = EngineBuilder::new(EngineSettings::default());
        for u in 1..=40 {
            b.add_user(&user(u, Some((40.73, -73.99))), None);
        }
        b.add_venue(&venue(1000, 40.73, -73.99, Category::Bar, None));
        for u in order {
            b.add_interaction(&ix(u, 1000, InteractionType::Like, 10, 100 - u as i64));
        }
        b.build()
    }

    #[test]
    fn a_log_replayed_out_of_time_order_remembers_the_same_recent_users() {
        let in_time = liked_by_forty(1..=40);
        let shuffled = liked_by_forty([7, 40, 1, 33, 2, 39, 12, 5, 30, 8].into_iter().chain((1..=40).rev()));
        let recent = |e: &Engine| {
            let st = e.load();
            let v = st.venue_idx(&crate::testkit::id(1000)).expect("venue");
            let users: Vec<u32> = st.vdyn(v).expect("counters").recent_users().collect();
            users.iter().map(|&u| st.user(u).expect("user").id.as_u128()).collect::<Vec<_>>()
        };
        // The 32 latest likes (users 9 to 40), oldest first, either way.
        assert_eq!(recent(&in_time), (9..=40).collect::<Vec<u128>>());
        assert_eq!(recent(&shuffled), recent(&in_time));
    }
}
