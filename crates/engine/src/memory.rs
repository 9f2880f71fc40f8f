//! How much memory the engine's state holds, by part: what its rows, lists and tables take,
//! from their lengths and capacities. The process holds more (the allocator's own overhead and
//! the pages it keeps, the database driver, the server's buffers), so the parts add up to less
//! than its resident size; the difference is that overhead.

use std::mem::size_of;

use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::Engine;
use crate::model::LoadedModel;
use crate::state::{Agg, Edge, InterestMark, Prefs, Spatial, State, UserRow, VenueDyn, VenueRow};
use crate::util::FastMap;

/// Bytes held by each part of the engine's state (estimated from lengths and capacities).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EngineMemory {
    /// User rows: their fixed part, handles, names and stated preferences.
    pub users: u64,
    /// Each user's engagement with each venue they interacted with.
    pub histories: u64,
    /// Social edges, kept on both users' rows.
    pub edges: u64,
    /// Expressed interests, kept on the user's row and on the venue's counters.
    pub interests: u64,
    /// Venue rows: location, tags, names, opening hours.
    pub venues: u64,
    /// Venue counters: popularity, trend, recent positive users.
    pub venue_counters: u64,
    /// The id tables, the popularity order and the spatial index.
    pub indexes: u64,
    /// The learned model's user and venue factors.
    pub model: u64,
    /// The learned model's item neighbours.
    pub neighbours: u64,
    /// Rows changed since the last merge (their copies beside the snapshot's).
    pub delta: u64,
}

impl EngineMemory {
    /// Each part by name, in the order [`EngineMemory`] declares them.
    pub fn parts(&self) -> [(&'static str, u64); 10] {
        [
            ("users", self.users),
            ("histories", self.histories),
            ("edges", self.edges),
            ("interests", self.interests),
            ("venues", self.venues),
            ("venue counters", self.venue_counters),
            ("indexes", self.indexes),
            ("model", self.model),
            ("neighbours", self.neighbours),
            ("delta", self.delta),
        ]
    }

    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.parts().iter().map(|(_, b)| b).sum()
    }
}

/// In MiB, part by part and the total: `users 12.0, histories 40.5, ... total 80.1 MiB`.
impl std::fmt::Display for EngineMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let parts = self.parts().into_iter().chain([("total", self.total())]);
        let text: Vec<String> = parts.map(|(name, b)| format!("{name} {:.1}", mib(b))).collect();
        write!(f, "{} MiB", text.join(", "))
    }
}

fn vec_bytes<T>(v: &Vec<T>) -> u64 {
    (v.capacity() * size_of::<T>()) as u64
}

/// A hash table's slots (key, value and one control byte each).
fn map_bytes<K, V>(m: &FastMap<K, V>) -> u64 {
    (m.capacity() * (size_of::<(K, V)>() + 1)) as u64
}

/// What stated preferences hold beyond their place in the user's row.
fn prefs_bytes(p: &Prefs) -> u64 {
    vec_bytes(&p.cuisines)
        + vec_bytes(&p.cuisines_ranked)
        + vec_bytes(&p.cuisine_names)
        + p.cuisine_names.iter().map(|s| s.capacity() as u64).sum::<u64>()
        + vec_bytes(&p.ambiance)
        + vec_bytes(&p.dietary)
}

/// The row's own parts, added to `m` (a row behind an `Arc` also takes the `Arc`'s two counts).
fn add_user(m: &mut EngineMemory, r: &UserRow) {
    m.users += (size_of::<UserRow>() + 16 + r.handle.capacity() + r.name.capacity()) as u64
        + r.prefs.as_ref().map_or(0, prefs_bytes);
    m.histories += (r.history.capacity() * size_of::<Agg>()) as u64;
    m.edges += (r.edges.capacity() * size_of::<Edge>()) as u64;
    m.interests += (r.interests.capacity() * size_of::<InterestMark>()) as u64;
}

fn add_venue(m: &mut EngineMemory, r: &VenueRow) {
    // Opening hours are shared between venues with the same hours: counted with the pointer only.
    m.venues += (size_of::<VenueRow>()
        + 16
        + r.name.capacity()
        + r.cuisine.as_ref().map_or(0, String::capacity)
        + r.tags_h.capacity() * size_of::<u64>()) as u64;
}

fn add_counters(m: &mut EngineMemory, d: &VenueDyn) {
    m.venue_counters += (size_of::<VenueDyn>() + 16 + d.recent.capacity() * size_of::<(u32, u32)>()) as u64;
    m.interests += (d.interested.capacity() * size_of::<InterestMark>()) as u64;
}

fn add_model(m: &mut EngineMemory, model: &LoadedModel) {
    let (factors, neighbours) = model.bytes();
    m.model += factors;
    m.neighbours += neighbours;
}

impl Engine {
    /// What the current state holds, by part. Walks every row: milliseconds at a million users,
    /// for a log line or an operator's request, not for every query.
    pub fn memory(&self) -> EngineMemory {
        memory_of(&self.state.load())
    }
}

pub(crate) fn memory_of(st: &State) -> EngineMemory {
    let mut m = EngineMemory::default();
    let snap = &st.snap;
    for r in snap.users.iter() {
        add_user(&mut m, r);
    }
    for r in snap.venues.iter() {
        add_venue(&mut m, r);
    }
    for d in snap.vdyn.iter() {
        add_counters(&mut m, d);
    }
    m.users += vec_bytes(&snap.users);
    m.venues += vec_bytes(&snap.venues);
    m.venue_counters += vec_bytes(&snap.vdyn) + vec_bytes(&snap.vnum);
    m.indexes += map_bytes(&snap.user_ix) + map_bytes(&snap.venue_ix) + vec_bytes(&snap.pop_order);
    m.indexes += match &*snap.spatial {
        Spatial::Grid(g) => g.bytes(),
        // An R-tree's leaves hold the points; its inner nodes add about a fifth.
        Spatial::Tree(t) => (t.size() * size_of::<crate::state::VenuePoint>() * 6 / 5) as u64,
    };
    // The delta: its rows (copies of snapshot rows, or new ones) and its tables.
    let mut d = EngineMemory::default();
    for (_, r) in st.delta.users.iter() {
        add_user(&mut d, r);
    }
    for r in st.delta.venues.values() {
        add_venue(&mut d, r);
    }
    for (_, c) in st.delta.vdyn.iter() {
        add_counters(&mut d, c);
    }
    m.delta = d.total()
        + map_bytes(&st.delta.new_user_ix)
        + map_bytes(&st.delta.new_venue_ix)
        + vec_bytes(&st.delta.dirty_pop);
    if let Some(model) = &st.model {
        add_model(&mut m, model);
    }
    m
}

#[cfg(test)]
mod tests {
    use domain::DomainEvent;

    use crate::testkit::*;
    use crate::venues::tests::random_city;
    use crate::{EngineSettings, TrainConfig, train_bpr};

    #[test]
    fn every_part_of_a_city_is_counted_and_a_change_and_a_model_add_their_own() {
        let e = random_city(3, 300, 120, 4000, EngineSettings::default());
        let before = e.memory();
        for (part, bytes) in [
            ("users", before.users),
            ("histories", before.histories),
            ("edges", before.edges),
            ("venues", before.venues),
            ("venue_counters", before.venue_counters),
            ("indexes", before.indexes),
        ] {
            assert!(bytes > 0, "{part} counted nothing: {before:?}");
        }
        // At least one history row per (user, venue) pair touched.
        let pairs = e.stats().user_venue_pairs;
        assert!(pairs > 1000 && before.histories >= (pairs * std::mem::size_of::<crate::state::Agg>()) as u64);
        assert_eq!((before.interests, before.model, before.neighbours), (0, 0, 0));
        // An interest is held on a copy of the user's row and of the venue's counters.
        e.apply(&DomainEvent::InterestExpressed(interest(1000, 100_000, None)));
        let changed = e.memory();
        assert!(changed.delta > before.delta, "{changed:?}");
        assert_eq!(changed.users, before.users);
        e.set_model(&train_bpr(&e, &TrainConfig { epochs: 1, ..TrainConfig::default() }));
        let after = e.memory();
        assert!(after.model > 0 && after.neighbours > 0, "{after:?}");
        assert_eq!(after.total() - after.model - after.neighbours, changed.total());
        let said = after.to_string();
        // The snapshot's tables of rows hold a pointer per row, not the rows' former buffers.
        let st = e.state.load();
        assert_eq!(st.snap.users.capacity(), st.snap.users.len());
        assert_eq!(st.snap.venues.capacity(), st.snap.venues.len());
        assert_eq!(st.snap.vdyn.capacity(), st.snap.vdyn.len());
        assert!(said.starts_with("users ") && said.contains(", model ") && said.ends_with(" MiB"), "{said}");
    }
}
