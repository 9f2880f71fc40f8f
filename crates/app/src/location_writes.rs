//! Coalesced writes of live locations. A phone out for the evening reports where it is every
//! few seconds, mostly from where it already was; every report reaches the engine and the bus
//! (so the next answer, here and on every server, measures from it), but the store, which only
//! serves a restarted server, a reload, or one catching a user up, is written when the user has
//! moved [`MOVED_METRES`] or more since this server last wrote their location, or when that
//! write is [`REFRESH`] old. What the store holds is then at most that far and that much older
//! than the latest report to this server, far inside the engine's freshness window (120 minutes
//! by default): a reload measures from it until the user's next report. With several servers,
//! each compares with its own last write, so the stored location may be another server's write,
//! as old and as far as that.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::UserId;
use store::LiveLocation;

/// A move at least this long is written at once.
pub const MOVED_METRES: f64 = 50.0;
/// A stored location is rewritten once it is this old, even if the user has not moved.
pub const REFRESH: chrono::Duration = chrono::Duration::minutes(5);
/// Entries older than [`REFRESH`] are dropped when a new user would take the count past this,
/// and past twice the count left after the last prune (so a prune costs a constant per entry).
const PRUNE_ABOVE: usize = 100_000;

/// What this server last wrote to the store, per user.
#[derive(Debug, Default)]
pub struct LocationWrites {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    written: HashMap<UserId, LiveLocation>,
    /// The count at which the next new user prunes (at least [`PRUNE_ABOVE`]).
    prune_at: usize,
}

impl LocationWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `l` must be written to the store: never written by this server, moved
    /// [`MOVED_METRES`] or more, or the last write [`REFRESH`] old (or newer than `l`: a clock
    /// that went back).
    pub fn must_write(&self, l: &LiveLocation) -> bool {
        self.lock().written.get(&l.user_id).is_none_or(|w| {
            let age = l.at - w.at;
            age >= REFRESH
                || age < chrono::Duration::zero()
                || domain::geo::haversine_km(w.lat, w.lng, l.lat, l.lng) * 1000.0 >= MOVED_METRES
        })
    }

    /// Remembers that `l` was written to the store.
    pub fn written(&self, l: LiveLocation) {
        let mut inner = self.lock();
        if inner.written.len() >= inner.prune_at.max(PRUNE_ABOVE) && !inner.written.contains_key(&l.user_id) {
            let at = l.at;
            inner.written.retain(|_, w| at - w.at < REFRESH);
            inner.prune_at = PRUNE_ABOVE.max(2 * inner.written.len());
        }
        inner.written.insert(l.user_id, l);
    }

    /// Forgets a user (deleted): their next location is written, and so refused by the store.
    pub fn forget(&self, user_id: UserId) {
        self.lock().written.remove(&user_id);
    }

    /// Forgets everyone: every user's next location is written.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.written = HashMap::new();
        inner.prune_at = 0;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().written.len()
    }

    #[cfg(test)]
    fn at(&self, user_id: UserId) -> Option<domain::Timestamp> {
        self.lock().written.get(&user_id).map(|w| w.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(user_id: UserId, north_m: f64, secs: i64) -> LiveLocation {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        LiveLocation {
            user_id,
            lat: 40.73 + north_m / 111_195.0,
            lng: -73.99,
            at: t0 + chrono::Duration::seconds(secs),
        }
    }

    #[test]
    fn a_user_who_stays_put_is_written_once_per_refresh_and_a_move_at_once() {
        let w = LocationWrites::default();
        let u = domain::new_id();
        assert!(w.must_write(&at(u, 0.0, 0)), "never written");
        w.written(at(u, 0.0, 0));
        assert!(!w.must_write(&at(u, 10.0, 30)), "10 m in 30 s");
        assert!(!w.must_write(&at(u, 49.0, 299)), "49 m, 299 s");
        assert!(w.must_write(&at(u, 51.0, 60)), "51 m");
        assert!(w.must_write(&at(u, 0.0, 300)), "5 minutes");
        assert!(w.must_write(&at(u, 0.0, -1)), "a clock that went back");
        assert!(w.must_write(&at(domain::new_id(), 0.0, 1)), "another user");
        w.forget(u);
        assert!(w.must_write(&at(u, 0.0, 1)), "forgotten");
    }

    #[test]
    fn old_entries_are_pruned_past_the_bound() {
        let w = LocationWrites::default();
        let users: Vec<UserId> = (0..PRUNE_ABOVE).map(|_| domain::new_id()).collect();
        for (i, &u) in users.iter().enumerate() {
            // The first half an hour ago, the rest a minute ago.
            let secs = if i < PRUNE_ABOVE / 2 { 0 } else { 1_740 };
            w.written(at(u, 0.0, secs));
        }
        assert_eq!(w.len(), PRUNE_ABOVE);
        let newcomer = domain::new_id();
        w.written(at(newcomer, 0.0, 1_800));
        assert_eq!(w.len(), PRUNE_ABOVE / 2 + 1);
        assert_eq!(w.at(users[0]), None);
        assert!(w.at(users[PRUNE_ABOVE - 1]).is_some() && w.at(newcomer).is_some());
        w.clear();
        assert!(w.len() == 0 && w.must_write(&at(newcomer, 0.0, 1_801)));
    }

    #[test]
    fn when_everyone_is_recent_the_next_prune_waits_for_twice_the_count() {
        let w = LocationWrites::default();
        for _ in 0..=PRUNE_ABOVE {
            w.written(at(domain::new_id(), 0.0, 0));
        }
        // The prune at PRUNE_ABOVE dropped no one (all recent): the next waits for twice that.
        assert_eq!(w.lock().prune_at, 2 * PRUNE_ABOVE);
        for _ in 0..10 {
            w.written(at(domain::new_id(), 0.0, 1));
        }
        assert_eq!(w.len(), PRUNE_ABOVE + 11);
    }
}
