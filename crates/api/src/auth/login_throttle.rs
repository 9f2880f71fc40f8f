//! Per-login throttling of sign-ins: each attempt at `POST /api/v1/auth/token` counts against
//! its login (the handle or email as sent, trimmed and lowercased) until it succeeds; after
//! `login_failures` within `login_failure_window_secs` of the first, further attempts get a 429
//! `rate_limited` with `Retry-After` until the window has passed, before any password is
//! hashed. A success clears the login's count.
//!
//! The answer does not depend on whether the login names anyone (no user enumeration): logins
//! are counted as sent, never looked up. A handle and an email of one user count separately.
//! Someone who knows a login can keep its owner out for a window at a time, as with any lockout;
//! the per-IP password bucket caps how fast they can.
//!
//! Memory is bounded: logins are kept as a keyed 64-bit hash, at most `max_logins`; when full,
//! expired ones are dropped, and if none has expired a new login is let through untracked (and
//! logged) rather than forgetting one being throttled.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::RateLimitSettings;

/// The attempts counted per login, or nothing when limits are off.
#[derive(Debug, Clone, Default)]
pub struct LoginThrottle {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    max_attempts: u32,
    window: Duration,
    max_logins: usize,
    hasher: RandomState,
    logins: Mutex<HashMap<u64, Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    count: u32,
    since: Instant,
}

/// A counted attempt, to report its success with.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Attempt(Option<u64>);

impl LoginThrottle {
    /// Throttles by `settings`; counts nothing when they are disabled.
    pub fn new(settings: &RateLimitSettings) -> Self {
        let inner = settings.enabled.then(|| {
            Arc::new(Inner {
                max_attempts: settings.login_failures.max(1),
                window: Duration::from_secs(settings.login_failure_window_secs.max(1)),
                max_logins: settings.max_logins.max(1),
                hasher: RandomState::new(),
                logins: Mutex::default(),
            })
        });
        Self { inner }
    }

    /// Counts an attempt for `login` at `now`: `Err(seconds)` until the login's window has
    /// passed when it has used up its attempts.
    pub fn attempt(&self, login: &str, now: Instant) -> Result<Attempt, u64> {
        let Some(inner) = &self.inner else { return Ok(Attempt(None)) };
        let key = inner.hasher.hash_one(login.trim().to_lowercase());
        let mut logins = inner.logins.lock().unwrap_or_else(|p| p.into_inner());
        if !logins.contains_key(&key) && logins.len() >= inner.max_logins {
            logins.retain(|_, a| now.saturating_duration_since(a.since) < inner.window);
            if logins.len() >= inner.max_logins {
                tracing::warn!(tracked = logins.len(), "login throttle full; letting a new login through untracked");
                return Ok(Attempt(None));
            }
        }
        let entry = logins.entry(key).or_insert(Attempts { count: 0, since: now });
        let elapsed = now.saturating_duration_since(entry.since);
        if elapsed >= inner.window {
            *entry = Attempts { count: 0, since: now };
        }
        if entry.count >= inner.max_attempts {
            let left = inner.window.saturating_sub(now.saturating_duration_since(entry.since));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        entry.count += 1;
        Ok(Attempt(Some(key)))
    }

    /// The attempt succeeded: its login starts afresh.
    pub fn succeeded(&self, attempt: Attempt) {
        if let (Some(inner), Attempt(Some(key))) = (&self.inner, attempt) {
            inner.logins.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        }
    }

    /// The attempt could not be checked (a server error): it does not count.
    pub fn not_counted(&self, attempt: Attempt) {
        if let (Some(inner), Attempt(Some(key))) = (&self.inner, attempt) {
            let mut logins = inner.logins.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(a) = logins.get_mut(&key) {
                a.count = a.count.saturating_sub(1);
            }
        }
    }

    /// Logins currently tracked.
    pub fn tracked(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.logins.lock().map(|l| l.len()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(attempts: u32, window_secs: u64, max_logins: usize) -> LoginThrottle {
        LoginThrottle::new(&RateLimitSettings {
            login_failures: attempts,
            login_failure_window_secs: window_secs,
            max_logins,
            ..RateLimitSettings::default()
        })
    }

    #[test]
    fn a_login_out_of_attempts_waits_for_its_window_and_others_do_not() {
        let t = throttle(3, 60, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.attempt("ann", t0).is_ok());
        }
        assert_eq!(t.attempt("ann", t0 + Duration::from_millis(500)).unwrap_err(), 60, "whole seconds, rounded up");
        assert_eq!(t.attempt(" ANN ", t0 + Duration::from_secs(50)).unwrap_err(), 10, "the same login, case aside");
        assert!(t.attempt("ben", t0).is_ok(), "another login has its own count");
        assert!(t.attempt("ann", t0 + Duration::from_secs(60)).is_ok(), "the window has passed");
    }

    #[test]
    fn a_success_clears_the_count_and_a_server_error_does_not_count() {
        let t = throttle(2, 60, 100);
        let t0 = Instant::now();
        let _ = t.attempt("ann", t0).unwrap();
        let ok = t.attempt("ann", t0).unwrap();
        t.succeeded(ok);
        let _ = t.attempt("ann", t0).unwrap();
        let failed = t.attempt("ann", t0).unwrap();
        t.not_counted(failed);
        assert!(t.attempt("ann", t0).is_ok());
        assert!(t.attempt("ann", t0).is_err());
    }

    #[test]
    fn random_logins_cannot_grow_the_map_past_its_bound() {
        let t = throttle(1, 60, 3);
        let t0 = Instant::now();
        let _ = t.attempt("ann", t0).unwrap();
        for n in 0..100 {
            assert!(t.attempt(&format!("random{n}"), t0).is_ok());
            assert!(t.tracked() <= 3);
        }
        assert!(t.attempt("ann", t0).is_err(), "a throttled login is not forgotten to make room");
        let later = t0 + Duration::from_secs(60);
        assert!(t.attempt("new", later).is_ok());
        assert_eq!(t.tracked(), 1, "expired logins were dropped for a new one");
    }

    #[test]
    fn nothing_is_counted_when_limits_are_off() {
        let t = LoginThrottle::new(&RateLimitSettings { login_failures: 1, ..RateLimitSettings::disabled() });
        for _ in 0..10 {
            assert!(t.attempt("ann", Instant::now()).is_ok());
        }
        assert_eq!(t.tracked(), 0);
    }
}
