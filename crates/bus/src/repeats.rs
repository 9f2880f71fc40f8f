//! Telling a relay's repeat from a new event. The outbox relay delivers at least once: after a
//! failed publish or a failed mark-as-published it publishes the same outbox rows again, each
//! with the same `source_id` (its outbox row's id, unique to that row) under a new bus id. A
//! consumer that counts what it reads (the engine follower, the metrics watcher) keeps a
//! [`Repeats`] of the source ids it took lately and skips an event whose id it has seen.
//!
//! The memory is bounded: the last N source ids, oldest forgotten first (a ring for the order,
//! a set to look them up; about 40 bytes an id, so 4 MB for the default 100,000). A repeat comes
//! soon after its original: the relay publishes the outbox oldest first, so the rows it failed
//! to mark are the first it publishes again, at its next pass (a second later, or once the
//! store is back), with at most the rest of their batch (256 rows) published between the two.
//! N ids reach far beyond that. Events without a source id (published straight to the bus:
//! metrics snapshots, served answers, live locations) are never taken for repeats, and two
//! events with different source ids never are for one another.

use std::collections::{HashSet, VecDeque};

use domain::Id;

/// How many source ids a consumer remembers by default (see the module's note on the bound).
pub const DEFAULT_REPEAT_WINDOW: usize = 100_000;

/// The source ids of the last `capacity` events a consumer took.
#[derive(Debug, Clone)]
pub struct Repeats {
    capacity: usize,
    order: VecDeque<Id>,
    seen: HashSet<Id>,
}

impl Repeats {
    /// A memory of the last `capacity` source ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Grows as ids come, up to the capacity (a quiet server never pays for all of it).
        Self { capacity, order: VecDeque::new(), seen: HashSet::new() }
    }

    /// Whether an event with this source id is new, remembering its id: `false` for a repeat of
    /// one remembered, `true` for one without a source id.
    pub fn first_time(&mut self, source_id: Option<Id>) -> bool {
        let Some(id) = source_id else { return true };
        if !self.seen.insert(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(id);
        true
    }

    /// How many source ids it remembers now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl Default for Repeats {
    fn default() -> Self {
        Self::new(DEFAULT_REPEAT_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_recognised_and_distinct_or_unsourced_events_are_not() {
        let mut r = Repeats::new(10);
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(r.first_time(Some(a)));
        assert!(r.first_time(Some(b)), "another source id is another event");
        assert!(!r.first_time(Some(a)), "the same source id again is a repeat");
        assert!(!r.first_time(Some(b)));
        assert!(r.first_time(None) && r.first_time(None), "an event without a source id is never a repeat");
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn the_memory_keeps_the_last_ids_up_to_its_capacity() {
        let mut r = Repeats::new(3);
        let ids: Vec<_> = (0..5).map(|_| uuid::Uuid::now_v7()).collect();
        for id in &ids {
            assert!(r.first_time(Some(*id)));
        }
        assert_eq!(r.len(), 3);
        // The last three are remembered; the two oldest were forgotten, so they count again.
        assert!(ids[2..].iter().all(|id| !r.first_time(Some(*id))));
        assert!(r.first_time(Some(ids[0])));
        assert_eq!(r.len(), 3);
    }
}
