//! Per-client rate limiting: one token bucket per client, refilled at `per_second` up to
//! `burst`; a request finding its bucket empty gets a 429 `rate_limited` with `Retry-After`
//! (whole seconds until a token is back).
//!
//! Clients are keyed by [`client_key`]: a request with a valid access token counts against its
//! user (so people behind one NAT or proxy do not share a bucket, and one user cannot dodge the
//! limit by changing address), one with the admin token against the admin; any other request
//! against its peer IP (from `ConnectInfo`, so [`crate::serve`] must serve with
//! `into_make_service_with_connect_info`), IPv6 grouped by /64 since one host usually owns a
//! whole /64. A forged or expired token counts against the IP: it cannot buy a fresh bucket.
//!
//! The password routes (sign-in and sign-up, marked in [`crate::auth::rules::RULES`]: each hashes
//! a password with Argon2, about half a second of a core) have a second, much smaller bucket per
//! IP ([`enforce_passwords`]), whatever token the request carries; a failed sign-in also counts
//! against its login ([`crate::auth::LoginThrottle`]). `enabled = false` turns all of it off.
//!
//! Memory is bounded: a bucket that has refilled to `burst` behaves exactly like a missing one,
//! so idle clients are swept out whenever the map reaches `max_clients`; if every tracked client
//! is still active, a new client is let through untracked (and logged) rather than evicting one
//! that is being limited.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiError;

/// How fast each client may send requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Limit requests per client at all.
    pub enabled: bool,
    /// Sustained requests per second per client.
    pub per_second: f64,
    /// Requests a client may send at once after being idle.
    pub burst: u32,
    /// Clients tracked at most (memory bound); idle ones are evicted first.
    pub max_clients: usize,
    /// Sustained requests per second per IP to the password routes (sign-in, sign-up), on top
    /// of the general bucket.
    pub password_per_second: f64,
    /// Requests per IP to the password routes at once after being idle.
    pub password_burst: u32,
    /// Sign-in attempts for one login (handle or email) within `login_failure_window_secs`
    /// before further attempts get a 429 until the window has passed; a success clears them.
    pub login_failures: u32,
    /// The window of `login_failures`, in seconds from the first attempt.
    pub login_failure_window_secs: u64,
    /// Logins tracked at most (memory bound); expired ones are dropped first.
    pub max_logins: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            per_second: 50.0,
            burst: 200,
            max_clients: 100_000,
            password_per_second: 5.0,
            password_burst: 10,
            login_failures: 10,
            login_failure_window_secs: 300,
            max_logins: 100_000,
        }
    }
}

impl RateLimitSettings {
    /// No limit (the library default: embedders and tests opt in).
    pub fn disabled() -> Self {
        Self { enabled: false, ..Self::default() }
    }

    /// The bucket of the password routes.
    fn for_passwords(&self) -> Self {
        Self { per_second: self.password_per_second, burst: self.password_burst, ..self.clone() }
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// The subject of a valid access token.
    User(Uuid),
    /// The admin token's holder.
    Admin,
    /// An IPv4 address, or the /64 prefix of an IPv6 one.
    Ip(IpAddr),
    /// No peer address known (a router driven without `ConnectInfo`, as in `oneshot` tests).
    Unknown,
}

/// The key a request is limited by: its token's user or the admin when `auth` accepts the
/// bearer token, else its peer address.
pub fn client_key(req: &Request, auth: &Auth) -> ClientKey {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = header.and_then(crate::auth::bearer_token) {
        if auth.is_admin_token(token) {
            return ClientKey::Admin;
        }
        if let Ok(claims) = auth.signer().verify(token, chrono::Utc::now()) {
            return ClientKey::User(claims.sub);
        }
    }
    address_key(req)
}

/// The key of a request's peer address, whatever its token.
fn address_key(req: &Request) -> ClientKey {
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => ClientKey::Ip(match addr.ip() {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
            IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
            v4 => v4,
        }),
        None => ClientKey::Unknown,
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every tracked client.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    buckets: Arc<Mutex<HashMap<ClientKey, Bucket>>>,
    /// What tokens are checked with to key requests by user.
    auth: Auth,
}

impl RateLimiter {
    /// A limiter that keys requests by the tokens `auth` accepts, else by address.
    pub fn new(settings: RateLimitSettings, auth: Auth) -> Self {
        Self { settings, buckets: Arc::default(), auth }
    }

    /// Takes a token for `key` at `now`: `Ok` when allowed, `Err(seconds)` until one is back.
    pub fn check(&self, key: ClientKey, now: Instant) -> Result<(), u64> {
        let (rate, burst) = (self.settings.per_second.max(f64::MIN_POSITIVE), f64::from(self.settings.burst.max(1)));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.settings.max_clients {
            buckets.retain(|_, b| refill(b, now, rate, burst) < burst);
            if buckets.len() >= self.settings.max_clients {
                tracing::warn!(
                    tracked = buckets.len(),
                    "rate limiter full of active clients; letting a new one through"
                );
                return Ok(());
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = refill(bucket, now, rate, burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Clients currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or_default()
    }
}

/// The tokens `b` holds at `now`.
fn refill(b: &Bucket, now: Instant, rate: f64, burst: f64) -> f64 {
    (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst)
}

/// Middleware: answers 429 when the client's bucket is empty.
pub async fn enforce(State(limiter): State<RateLimiter>, req: Request, next: Next) -> Response {
    match limiter.check(client_key(&req, &limiter.auth), Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(retry_after_secs) => ApiError::RateLimited { retry_after_secs }.into_response(),
    }
}

/// The password routes' buckets, one per IP.
#[derive(Debug, Clone)]
pub(crate) struct PasswordLimiter(RateLimiter);

impl PasswordLimiter {
    pub(crate) fn new(settings: &RateLimitSettings) -> Self {
        Self(RateLimiter::new(settings.for_passwords(), Auth::default()))
    }
}

/// Middleware after routing: a request to a password route (see [`crate::auth::rules`]) takes a
/// token from its IP's password bucket too, or gets the same 429 as the general limiter's.
pub(crate) async fn enforce_passwords(State(limiter): State<PasswordLimiter>, req: Request, next: Next) -> Response {
    let method = req.method().as_str();
    let password_route = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| crate::auth::rules::for_path(m.as_str()))
        .is_some_and(|entries| entries.iter().any(|e| e.password && e.method == method));
    if password_route && let Err(retry_after_secs) = limiter.0.check(address_key(&req), Instant::now()) {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(n: u8) -> ClientKey {
        ClientKey::Ip(IpAddr::from([10, 0, 0, n]))
    }

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimitSettings { per_second, burst, ..RateLimitSettings::default() }, Auth::default())
    }

    #[test]
    fn the_password_bucket_is_its_own_and_much_smaller() {
        let settings = RateLimitSettings::default();
        let passwords = PasswordLimiter::new(&settings);
        let t0 = Instant::now();
        for _ in 0..settings.password_burst {
            assert_eq!(passwords.0.check(ip(1), t0), Ok(()));
        }
        assert!(passwords.0.check(ip(1), t0).is_err(), "beyond the password burst");
        assert!(settings.password_burst < settings.burst && settings.password_per_second < settings.per_second);
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_tokens_refill() {
        let limiter = limiter(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
        }
        assert_eq!(limiter.check(ip(1), t0), Err(1));
        assert_eq!(limiter.check(ip(2), t0), Ok(()), "another client has its own bucket");
        assert_eq!(limiter.check(ip(1), t0 + Duration::from_millis(600)), Ok(()), "one token back after 0.5 s");
        assert!(limiter.check(ip(1), t0 + Duration::from_millis(600)).is_err());
    }

    #[test]
    fn retry_after_counts_whole_seconds_until_a_token_is_back() {
        let limiter = limiter(0.25, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.check(ip(1), t0), Ok(()));
        assert_eq!(limiter.check(ip(1), t0), Err(4));
    }

    #[test]
    fn idle_clients_are_evicted_so_memory_stays_bounded() {
        let settings = RateLimitSettings { per_second: 10.0, burst: 2, max_clients: 3, ..RateLimitSettings::default() };
        let limiter = RateLimiter::new(settings, Auth::default());
        let t0 = Instant::now();
        for n in 0..3 {
            assert_eq!(limiter.check(ip(n), t0), Ok(()));
        }
        // All three are mid-bucket: the fourth goes through untracked.
        assert_eq!(limiter.check(ip(9), t0), Ok(()));
        assert_eq!(limiter.tracked(), 3);
        // A second later they have refilled (idle): they are swept and the newcomer is tracked.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(limiter.check(ip(9), later), Ok(()));
        assert_eq!(limiter.tracked(), 1);
        for n in 10..100 {
            let _ = limiter.check(ip(n), later + Duration::from_secs(u64::from(n)));
            assert!(limiter.tracked() <= 3);
        }
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_bit_prefix() {
        let req = |addr: &str| {
            let mut r = Request::new(axum::body::Body::empty());
            r.extensions_mut().insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
            client_key(&r, &Auth::default())
        };
        assert_eq!(req("[2001:db8:1:2::1]:5000"), req("[2001:db8:1:2:ffff::9]:6000"));
        assert_ne!(req("[2001:db8:1:2::1]:5000"), req("[2001:db8:1:3::1]:5000"));
        assert_eq!(req("[::ffff:10.0.0.1]:1"), req("10.0.0.1:2"));
        assert_eq!(client_key(&Request::new(axum::body::Body::empty()), &Auth::default()), ClientKey::Unknown);
    }

    #[test]
    fn a_valid_token_is_counted_against_its_user_and_a_bad_one_against_the_address() {
        let admin = "admin-token-0123456789";
        let auth = Auth::new(crate::auth::Signer::new(b"k".repeat(32)), Some(app::auth::token_hash(admin)));
        let (ann, ben) = (Uuid::now_v7(), Uuid::now_v7());
        let now = chrono::Utc::now();
        let token = |user| auth.signer().issue(user, now, chrono::Duration::minutes(5));
        let key = |bearer: Option<String>| {
            let mut r = Request::new(axum::body::Body::empty());
            r.extensions_mut().insert(ConnectInfo("10.0.0.1:5000".parse::<SocketAddr>().unwrap()));
            if let Some(b) = bearer {
                r.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {b}").parse().unwrap());
            }
            client_key(&r, &auth)
        };
        assert_eq!(key(Some(token(ann))), ClientKey::User(ann));
        assert_eq!(key(Some(token(ben))), ClientKey::User(ben), "two users behind one address");
        assert_eq!(key(Some(admin.into())), ClientKey::Admin);
        let ip = ClientKey::Ip(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(key(None), ip);
        assert_eq!(key(Some("forged.token.here".into())), ip, "a bad token buys no bucket of its own");
        let other_key = crate::auth::Signer::new(b"x".repeat(32)).issue(ann, now, chrono::Duration::minutes(5));
        assert_eq!(key(Some(other_key)), ip);
    }
}
