//! Throttling of sign-ins at `POST /api/v1/auth/token`, counted per login (the handle or email
//! as sent, trimmed, in NFC and lowercased, as the store looks it up) and client address (the one the rate limiter keys on: IPv6
//! by /64, behind `trusted_proxies` the forwarded client; see [`crate::rate_limit`]), as OWASP
//! recommends. Each attempt counts until it succeeds: after `login_failures` within
//! `login_failure_window_secs` of the first, that address's further attempts for that login get
//! a 429 `rate_limited` with `Retry-After` until the window has passed, before any password is
//! hashed. One address's failures throttle only that address: the owner signs in from their own.
//!
//! A much higher ceiling per login across all addresses, `login_failures_all_addresses` (a
//! setting of its own, 100 by default), bounds guessing spread over many addresses. Those are the
//! residual trade-offs: from enough addresses a login can be guessed at up to the ceiling per
//! window (100 per 300 s at the defaults, ten times the single-address limit), and someone with
//! enough addresses (the ceiling divided by `login_failures`: 10 at the defaults, and an address
//! is an IPv6 /64, so one /56 holds 256 of them) can keep a login's owner out, a window at a
//! time, as with any lockout. A success clears its own address's count and does not count
//! against the ceiling; failures from other addresses stand.
//!
//! The answer does not depend on whether the login names anyone (no user enumeration): logins
//! are counted as sent, never looked up. A handle and an email of one user count separately.
//!
//! Memory is bounded: logins and (login, address) pairs are kept as keyed 64-bit hashes in two
//! tables of at most `max_logins` entries each, so junk pairs can never crowd out the counts per
//! login. When a table is full, a new entry always takes the place of another, found in amortised
//! constant time from a queue in order of each count's window start: an expired entry first, then
//! the oldest one that is not throttled, and a throttled one (the one whose window ends first)
//! only if every entry is throttled: at the defaults, 100,000 logins each failed 100 times within
//! one window. A pair table full of junk therefore forgets the oldest pairs' counts, so an
//! attacker who fills it could try again from an address sooner; the per-login ceiling is always
//! counted.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{ClientKey, RateLimitSettings};

/// The attempts counted per login and address, and per login, or nothing when limits are off.
#[derive(Debug, Clone, Default)]
pub struct LoginThrottle {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    hasher: RandomState,
    tables: Mutex<Tables>,
}

#[derive(Debug)]
struct Tables {
    /// Per login from every address, limited by `login_failures_all_addresses`.
    logins: Table,
    /// Per login from one client address, limited by `login_failures`.
    pairs: Table,
}

/// Counts of one kind, bounded, with their eviction order.
#[derive(Debug)]
struct Table {
    limit: u32,
    window: Duration,
    cap: usize,
    counts: HashMap<u64, Attempts>,
    /// Every count's key and window start, oldest first; a record whose count has since been
    /// removed or restarted is stale and skipped.
    order: VecDeque<(u64, Instant)>,
    /// Records taken from `order` whose count was throttled then, oldest first: evicted last.
    held: VecDeque<(u64, Instant)>,
    /// Whether a throttled count may be dropped to make room when all are throttled (else the
    /// new count is not kept).
    drop_throttled: bool,
    /// Records looked at while making room (for tests: the work is amortised constant).
    #[cfg_attr(not(test), allow(dead_code))]
    examined: usize,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    count: u32,
    since: Instant,
}

/// A counted attempt, to report its outcome with: the counts it went into.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct Attempt {
    login: Option<u64>,
    pair: Option<u64>,
}

impl LoginThrottle {
    /// Throttles by `settings`; counts nothing when they are disabled.
    pub fn new(settings: &RateLimitSettings) -> Self {
        let inner = settings.enabled.then(|| {
            let window = Duration::from_secs(settings.login_failure_window_secs.max(1));
            // Half of `max_logins` for each kind, so pairs cannot use up the logins' room.
            let logins = settings.max_logins.div_ceil(2).max(1);
            let pairs = settings.max_logins.saturating_sub(logins).max(1);
            Arc::new(Inner {
                hasher: RandomState::new(),
                tables: Mutex::new(Tables {
                    logins: Table::new(settings.login_failures_all_addresses.max(1), window, logins, true),
                    pairs: Table::new(settings.login_failures.max(1), window, pairs, false),
                }),
            })
        });
        Self { inner }
    }

    /// Counts an attempt for `login` from `client` at `now`: `Err(seconds)` until the windows
    /// have passed when the login has used up its attempts from this address, or from all
    /// addresses together.
    pub fn attempt(&self, login: &str, client: ClientKey, now: Instant) -> Result<Attempt, u64> {
        let Some(inner) = &self.inner else { return Ok(Attempt::default()) };
        // As the store looks it up (trimmed, NFC, lower-cased): one login, one count.
        let login = domain::nfc(login.trim()).to_lowercase();
        let login_key = inner.hasher.hash_one(&login);
        let pair_key = inner.hasher.hash_one((&login, client));
        let mut tables = inner.tables.lock().unwrap_or_else(|p| p.into_inner());
        let wait = tables.logins.wait(login_key, now).max(tables.pairs.wait(pair_key, now));
        if let Some(seconds) = wait {
            return Err(seconds);
        }
        tables.logins.count(login_key, now);
        let pair = tables.pairs.count(pair_key, now).then_some(pair_key);
        Ok(Attempt { login: Some(login_key), pair })
    }

    /// The attempt succeeded: its address starts afresh on its login, and it is no failure of
    /// the login's.
    pub fn succeeded(&self, attempt: Attempt) {
        let Some(inner) = &self.inner else { return };
        let mut tables = inner.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pair) = attempt.pair {
            tables.pairs.counts.remove(&pair);
        }
        tables.logins.uncount(attempt.login);
    }

    /// The attempt could not be checked (a server error): it does not count.
    pub fn not_counted(&self, attempt: Attempt) {
        let Some(inner) = &self.inner else { return };
        let mut tables = inner.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.logins.uncount(attempt.login);
        tables.pairs.uncount(attempt.pair);
    }

    /// Entries (logins, and logins from one address) currently tracked.
    pub fn tracked(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| {
            let tables = i.tables.lock().unwrap_or_else(|p| p.into_inner());
            tables.logins.counts.len() + tables.pairs.counts.len()
        })
    }
}

impl Table {
    fn new(limit: u32, window: Duration, cap: usize, drop_throttled: bool) -> Self {
        Self {
            drop_throttled,
            limit,
            window,
            cap,
            counts: HashMap::new(),
            order: VecDeque::new(),
            held: VecDeque::new(),
            examined: 0,
        }
    }

    fn expired(&self, since: Instant, now: Instant) -> bool {
        now.saturating_duration_since(since) >= self.window
    }

    fn throttled(&self, a: &Attempts, now: Instant) -> bool {
        a.count >= self.limit && !self.expired(a.since, now)
    }

    /// Whole seconds until `key`'s window has passed, if it is throttled.
    fn wait(&self, key: u64, now: Instant) -> Option<u64> {
        let a = self.counts.get(&key).filter(|a| self.throttled(a, now))?;
        let left = self.window.saturating_sub(now.saturating_duration_since(a.since));
        Some(left.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Counts an attempt for `key`, making room for it if it is new and the table is full;
    /// whether it was counted.
    fn count(&mut self, key: u64, now: Instant) -> bool {
        let window = self.window;
        match self.counts.get_mut(&key) {
            Some(a) if now.saturating_duration_since(a.since) < window => a.count += 1,
            Some(a) => {
                *a = Attempts { count: 1, since: now };
                self.order.push_back((key, now));
            }
            None => {
                if self.counts.len() >= self.cap && !self.evict_one(now) {
                    tracing::warn!(
                        tracked = self.counts.len(),
                        "login throttle full of throttled pairs; one is not kept"
                    );
                    return false;
                }
                self.counts.insert(key, Attempts { count: 1, since: now });
                self.order.push_back((key, now));
            }
        }
        // Stale records pile up as counts restart or are removed: rebuild the queues once they
        // hold twice the table, which amortises the O(n log n) over at least n attempts.
        if self.order.len() + self.held.len() > 2 * self.cap {
            let mut records: Vec<_> = self.counts.iter().map(|(k, a)| (*k, a.since)).collect();
            records.sort_by_key(|(_, since)| *since);
            self.examined += records.len();
            self.order = records.into();
            self.held.clear();
        }
        true
    }

    /// Removes one entry: the oldest expired one, else the oldest one not throttled, else (if
    /// `drop_throttled`) the throttled one whose window ends first; whether one was removed.
    fn evict_one(&mut self, now: Instant) -> bool {
        loop {
            self.examined += 1;
            if let Some(&(key, since)) = self.held.front() {
                if !self.current(key, since) {
                    self.held.pop_front();
                    continue;
                }
                if self.expired(since, now) {
                    self.held.pop_front();
                    self.counts.remove(&key);
                    return true;
                }
            }
            match self.order.pop_front() {
                Some((key, since)) if !self.current(key, since) => {}
                Some((key, since)) => {
                    if self.counts.get(&key).is_some_and(|a| self.throttled(a, now)) {
                        self.held.push_back((key, since));
                    } else {
                        self.counts.remove(&key);
                        return true;
                    }
                }
                None if !self.drop_throttled => return false,
                None => {
                    let Some((key, _)) = self.held.pop_front() else { return false };
                    tracing::warn!(
                        tracked = self.counts.len(),
                        "login throttle full of throttled logins; the oldest is dropped"
                    );
                    return self.counts.remove(&key).is_some();
                }
            }
        }
    }

    /// Whether the record `(key, since)` is the one of `key`'s current count.
    fn current(&self, key: u64, since: Instant) -> bool {
        self.counts.get(&key).is_some_and(|a| a.since == since)
    }

    /// Takes one attempt back from `key`'s count.
    fn uncount(&mut self, key: Option<u64>) {
        if let Some(a) = key.and_then(|k| self.counts.get_mut(&k)) {
            a.count = a.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn throttle(per_address: u32, all_addresses: u32, window_secs: u64, max_entries: usize) -> LoginThrottle {
        LoginThrottle::new(&RateLimitSettings {
            login_failures: per_address,
            login_failures_all_addresses: all_addresses,
            login_failure_window_secs: window_secs,
            max_logins: max_entries,
            ..RateLimitSettings::default()
        })
    }

    fn ip(n: u8) -> ClientKey {
        ClientKey::Ip(IpAddr::from([203, 0, 113, n]))
    }

    #[test]
    fn a_login_out_of_attempts_from_an_address_waits_for_its_window_and_others_do_not() {
        let t = throttle(3, 30, 60, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.attempt("ann", ip(1), t0).is_ok());
        }
        assert_eq!(
            t.attempt("ann", ip(1), t0 + Duration::from_millis(500)).unwrap_err(),
            60,
            "whole seconds, rounded up"
        );
        assert_eq!(
            t.attempt(" ANN ", ip(1), t0 + Duration::from_secs(50)).unwrap_err(),
            10,
            "the same login, case aside"
        );
        assert!(t.attempt("ben", ip(1), t0).is_ok(), "another login has its own count");
        assert!(t.attempt("ann", ip(2), t0).is_ok(), "another address has its own count on the login");
        assert!(t.attempt("ann", ip(1), t0 + Duration::from_secs(60)).is_ok(), "the window has passed");
    }

    #[test]
    fn an_email_typed_decomposed_counts_as_the_composed_one() {
        let t = throttle(2, 30, 60, 100);
        let t0 = Instant::now();
        assert!(t.attempt("r\u{e9}n\u{e9}@example.com", ip(1), t0).is_ok());
        assert!(t.attempt("Re\u{301}ne\u{301}@example.com", ip(1), t0).is_ok());
        assert!(
            t.attempt("r\u{e9}n\u{e9}@example.com", ip(1), t0).is_err(),
            "one login, whichever form it is typed in"
        );
    }

    #[test]
    fn a_max_logins_of_zero_or_one_still_tracks_one_login_and_one_pair() {
        // Each table keeps room for one count whatever the setting (0 once underflowed).
        for max in [0, 1] {
            let t = throttle(2, 20, 60, max);
            let t0 = Instant::now();
            for _ in 0..2 {
                assert!(t.attempt("ann", ip(1), t0).is_ok(), "max_logins {max}");
            }
            assert!(t.attempt("ann", ip(1), t0).is_err(), "max_logins {max}: the pair is counted");
        }
    }

    #[test]
    fn a_success_clears_its_address_and_a_server_error_does_not_count() {
        let t = throttle(2, 20, 60, 100);
        let t0 = Instant::now();
        let _ = t.attempt("ann", ip(1), t0).unwrap();
        let ok = t.attempt("ann", ip(1), t0).unwrap();
        t.succeeded(ok);
        let _ = t.attempt("ann", ip(1), t0).unwrap();
        let failed = t.attempt("ann", ip(1), t0).unwrap();
        t.not_counted(failed);
        assert!(t.attempt("ann", ip(1), t0).is_ok());
        assert!(t.attempt("ann", ip(1), t0).is_err());
    }

    #[test]
    fn the_ceiling_per_login_catches_guessing_spread_over_many_addresses() {
        let t = throttle(2, 5, 60, 100);
        let t0 = Instant::now();
        for n in 0..5 {
            assert!(t.attempt("ann", ip(n / 2), t0).is_ok(), "attempt {n}, two per address");
        }
        assert_eq!(t.attempt("ann", ip(9), t0 + Duration::from_secs(20)).unwrap_err(), 40, "a fresh address too");
        assert!(t.attempt("ben", ip(9), t0).is_ok(), "another login is not held");
        assert!(t.attempt("ann", ip(9), t0 + Duration::from_secs(60)).is_ok(), "the window has passed");
        // A success counts against neither and clears only its own address's failures.
        let t = throttle(2, 3, 60, 100);
        let _ = t.attempt("ann", ip(1), t0).unwrap();
        let _ = t.attempt("ann", ip(2), t0).unwrap();
        let ok = t.attempt("ann", ip(2), t0).unwrap();
        t.succeeded(ok);
        assert!(t.attempt("ann", ip(1), t0).is_ok(), "two failures and a success: under the ceiling of 3");
        assert!(t.attempt("ann", ip(2), t0).is_err(), "the ceiling: the failures from 1 and 2 stand");
    }

    #[test]
    fn random_logins_cannot_grow_the_map_past_its_bound() {
        let t = throttle(1, 10, 60, 3);
        let t0 = Instant::now();
        let _ = t.attempt("ann", ip(1), t0).unwrap();
        for n in 0..100 {
            assert!(t.attempt(&format!("random{n}"), ip(1), t0).is_ok());
            assert!(t.tracked() <= 3);
        }
        assert!(t.attempt("ann", ip(1), t0).is_err(), "a throttled login is not forgotten to make room");
        let later = t0 + Duration::from_secs(60);
        assert!(t.attempt("new", ip(1), later).is_ok());
        assert!(t.tracked() <= 3, "expired entries made room for the new login and its address");
        assert!(t.attempt("ann", ip(1), later).is_ok(), "ann's window has passed");
    }

    fn address(n: u32) -> ClientKey {
        ClientKey::Ip(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n)))
    }

    #[test]
    fn a_table_full_of_junk_pairs_still_counts_a_new_login_and_its_ceiling() {
        // Two logins and two pairs fit; junk from many addresses fills both within the window.
        let t = throttle(2, 3, 60, 4);
        let t0 = Instant::now();
        for n in 0..50 {
            assert!(t.attempt(&format!("junk{n}"), address(n), t0).is_ok());
        }
        for n in 100..103 {
            assert!(t.attempt("ann", address(n), t0).is_ok(), "one attempt from each of three addresses");
        }
        assert!(t.attempt("ann", address(200), t0).is_err(), "the ceiling of 3 holds the login from a fresh address");
        assert!(t.attempt("ben", address(300), t0).is_ok());
        assert!(t.attempt("ben", address(300), t0).is_ok());
        assert!(t.attempt("ben", address(300), t0).is_err(), "the pair is counted too: 2 from one address");
        // More junk takes the room of counts that hold nothing, not of the throttled login.
        for n in 400..450 {
            assert!(t.attempt(&format!("junk{n}"), address(n), t0).is_ok());
            assert!(t.tracked() <= 4);
        }
        assert!(t.attempt("ann", address(500), t0).is_err(), "a throttled login is not forgotten to make room");
    }

    #[test]
    fn a_burst_into_a_full_table_counts_every_attempt_with_constant_work_per_attempt() {
        let t = throttle(2, 10, 60, 1000);
        let t0 = Instant::now();
        let burst = 20_000;
        for n in 0..burst {
            assert!(t.attempt(&format!("junk{n}"), address(n), t0).is_ok());
            assert!(t.tracked() <= 1000);
        }
        let last = (format!("junk{}", burst - 1), address(burst - 1));
        assert!(t.attempt(&last.0, last.1, t0).is_ok());
        assert!(t.attempt(&last.0, last.1, t0).is_err(), "the latest login and address were counted");
        let inner = t.inner.as_ref().unwrap();
        let tables = inner.tables.lock().unwrap();
        for table in [&tables.logins, &tables.pairs] {
            // A scan of the table per attempt would be 500 records each: 10 million.
            assert!(table.examined <= 4 * burst as usize, "{} records looked at", table.examined);
        }
    }

    #[test]
    fn nothing_is_counted_when_limits_are_off() {
        let t = LoginThrottle::new(&RateLimitSettings { login_failures: 1, ..RateLimitSettings::disabled() });
        for _ in 0..10 {
            assert!(t.attempt("ann", ip(1), Instant::now()).is_ok());
        }
        assert_eq!(t.tracked(), 0);
    }
}
