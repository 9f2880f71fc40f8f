//! Throttling of sign-ins at `POST /api/v1/auth/token`, counted per login (the handle or email
//! as sent, trimmed and lowercased) and client address (the one the rate limiter keys on: IPv6
//! by /64, behind `trusted_proxies` the forwarded client; see [`crate::rate_limit`]), as OWASP
//! recommends. Each attempt counts until it succeeds: after `login_failures` within
//! `login_failure_window_secs` of the first, that address's further attempts for that login get
//! a 429 `rate_limited` with `Retry-After` until the window has passed, before any password is
//! hashed. One address's failures throttle only that address: the owner signs in from their own.
//!
//! A much higher ceiling per login across all addresses, `login_failures_all_addresses`, bounds
//! guessing spread over many addresses. That is the residual trade-off: someone with enough
//! addresses (the ceiling divided by `login_failures`, 10 by default) can still keep a login's
//! owner out, a window at a time, as with any lockout. A success clears its own address's count
//! and does not count against the ceiling; failures from other addresses stand.
//!
//! The answer does not depend on whether the login names anyone (no user enumeration): logins
//! are counted as sent, never looked up. A handle and an email of one user count separately.
//!
//! Memory is bounded: logins and (login, address) pairs are kept as keyed 64-bit hashes, at most
//! `max_logins` entries; when full, expired ones are dropped, and if none has expired a new
//! entry is not made (and that is logged): the attempt is let through on what is tracked rather
//! than forgetting a login or address being throttled.

use std::collections::HashMap;
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
    per_address: u32,
    all_addresses: u32,
    window: Duration,
    max_entries: usize,
    hasher: RandomState,
    entries: Mutex<HashMap<Key, Attempts>>,
}

/// What a count is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A login from every address.
    Login(u64),
    /// A login from one client address.
    Pair(u64),
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
    login: Option<Key>,
    pair: Option<Key>,
}

impl LoginThrottle {
    /// Throttles by `settings`; counts nothing when they are disabled.
    pub fn new(settings: &RateLimitSettings) -> Self {
        let inner = settings.enabled.then(|| {
            Arc::new(Inner {
                per_address: settings.login_failures.max(1),
                all_addresses: settings.login_failures_all_addresses.max(1),
                window: Duration::from_secs(settings.login_failure_window_secs.max(1)),
                max_entries: settings.max_logins.max(1),
                hasher: RandomState::new(),
                entries: Mutex::default(),
            })
        });
        Self { inner }
    }

    /// Counts an attempt for `login` from `client` at `now`: `Err(seconds)` until the windows
    /// have passed when the login has used up its attempts from this address, or from all
    /// addresses together.
    pub fn attempt(&self, login: &str, client: ClientKey, now: Instant) -> Result<Attempt, u64> {
        let Some(inner) = &self.inner else { return Ok(Attempt::default()) };
        let login = login.trim().to_lowercase();
        let keys = [
            (Key::Login(inner.hasher.hash_one(&login)), inner.all_addresses),
            (Key::Pair(inner.hasher.hash_one((&login, client))), inner.per_address),
        ];
        let mut entries = inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        let missing = keys.iter().filter(|(k, _)| !entries.contains_key(k)).count();
        if missing > 0 && entries.len() + missing > inner.max_entries {
            entries.retain(|_, a| !inner.expired(a, now));
        }
        let mut wait = None;
        for (key, limit) in keys {
            if let Some(a) = entries.get(&key).filter(|a| !inner.expired(a, now) && a.count >= limit) {
                let left = inner.window.saturating_sub(now.saturating_duration_since(a.since));
                wait = wait.max(Some(left.as_secs_f64().ceil().max(1.0) as u64));
            }
        }
        if let Some(seconds) = wait {
            return Err(seconds);
        }
        let mut counted = [None, None];
        for ((key, _), counted) in keys.into_iter().zip(&mut counted) {
            if !entries.contains_key(&key) && entries.len() >= inner.max_entries {
                tracing::warn!(tracked = entries.len(), "login throttle full; an attempt's count is not kept");
                continue;
            }
            let entry = entries.entry(key).or_insert(Attempts { count: 0, since: now });
            if inner.expired(entry, now) {
                *entry = Attempts { count: 0, since: now };
            }
            entry.count += 1;
            *counted = Some(key);
        }
        Ok(Attempt { login: counted[0], pair: counted[1] })
    }

    /// The attempt succeeded: its address starts afresh on its login, and it is no failure of
    /// the login's.
    pub fn succeeded(&self, attempt: Attempt) {
        let Some(inner) = &self.inner else { return };
        let mut entries = inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pair) = attempt.pair {
            entries.remove(&pair);
        }
        uncount(&mut entries, attempt.login);
    }

    /// The attempt could not be checked (a server error): it does not count.
    pub fn not_counted(&self, attempt: Attempt) {
        let Some(inner) = &self.inner else { return };
        let mut entries = inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        uncount(&mut entries, attempt.login);
        uncount(&mut entries, attempt.pair);
    }

    /// Entries (logins, and logins from one address) currently tracked.
    pub fn tracked(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.entries.lock().map(|l| l.len()).unwrap_or_default())
    }
}

impl Inner {
    fn expired(&self, a: &Attempts, now: Instant) -> bool {
        now.saturating_duration_since(a.since) >= self.window
    }
}

/// Takes one attempt back from `key`'s count.
fn uncount(entries: &mut HashMap<Key, Attempts>, key: Option<Key>) {
    if let Some(a) = key.and_then(|k| entries.get_mut(&k)) {
        a.count = a.count.saturating_sub(1);
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
        assert_eq!(t.tracked(), 2, "expired entries were dropped for the new login and its address");
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
