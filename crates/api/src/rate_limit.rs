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
//! Behind reverse proxies named in `trusted_proxies`, the IP is the client's as they report it
//! in `X-Forwarded-For` ([`TrustedProxies::client_ip`]); from any other peer that header is
//! ignored, so a client cannot pick its own bucket by writing one.
//!
//! The requests that hash a password with Argon2 (about half a second of a core; sign-in, and
//! sign-up with a `password`, as marked in [`crate::auth::rules::RULES`]) have a second, much
//! smaller bucket per IP ([`enforce_passwords`], and for sign-up the handler's [`PasswordGate`]
//! once it has read the body), whatever token the request carries; a failed sign-in also counts
//! against its login from that address, and against its login from all addresses
//! ([`crate::auth::LoginThrottle`], which takes the address from [`ClientAddress`]).
//! `enabled = false` turns all of it off.
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
use crate::auth::rules::Hashing;
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
    /// Sign-in attempts for one login (handle or email) from one client address within
    /// `login_failure_window_secs` before that address's further attempts for it get a 429
    /// until the window has passed; a success clears them.
    pub login_failures: u32,
    /// Failed sign-ins for one login from all addresses together within the window before
    /// every attempt for it gets a 429 until the window has passed: bounds guessing spread over
    /// many addresses. A setting of its own (100 by default), not derived from
    /// `login_failures`.
    pub login_failures_all_addresses: u32,
    /// The window of `login_failures` and `login_failures_all_addresses`, in seconds from the
    /// first attempt.
    pub login_failure_window_secs: u64,
    /// Sign-in counts tracked at most (memory bound): half for logins, half for logins from one
    /// address, so neither can crowd out the other. When one half is full, a new count takes
    /// the place of the oldest expired one, else of the oldest one not throttled; a throttled
    /// login's count goes only if every login's is, and a new pair is not counted when every
    /// pair is throttled.
    pub max_logins: usize,
    /// The reverse proxies (load balancers) in front of Luna, as IP addresses or CIDR blocks:
    /// a request from one is counted against the client address in its `X-Forwarded-For`.
    /// Empty (the default): every request against its peer address.
    pub trusted_proxies: TrustedProxies,
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
            login_failures_all_addresses: 100,
            login_failure_window_secs: 300,
            max_logins: 100_000,
            trusted_proxies: TrustedProxies::default(),
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

/// An IP address block: an address and how many of its leading bits are the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    addr: IpAddr,
    bits: u8,
}

impl IpBlock {
    /// `10.0.0.0/8`, `2001:db8::/32`, or one address (`127.0.0.1`, `::1`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not an IP address or CIDR block (such as 10.0.0.0/8 or 2001:db8::/32)");
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().map_err(|_| bad())?, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (text.parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let addr = canonical(addr);
        let (min, max) = if addr.is_ipv4() { (8, 32) } else { (32, 128) };
        match bits {
            Some(b) if b > max => Err(bad()),
            // Trusting a whole internet's worth of peers lets any client name its own address.
            Some(b) if b < min => {
                Err(format!("`{text}` is too wide a block to trust (at least /{min}): name the proxies' own addresses"))
            }
            b => Ok(Self { addr, bits: b.unwrap_or(max) }),
        }
    }

    /// Whether `ip` lies in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), u128::from(u32::from(ip)), 32, self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(u128::from(net), u128::from(ip), 128, self.bits),
            _ => false,
        }
    }
}

/// Whether `a` and `b`, `width` bits wide, share their first `bits` bits.
fn masked(a: u128, b: u128, width: u32, bits: u8) -> bool {
    let shift = width - u32::from(bits);
    shift >= 128 || (a >> shift) == (b >> shift)
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl std::fmt::Display for IpBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// The `trusted_proxies` setting: a list of address blocks, written as a list of strings or as
/// one comma-separated string (`LUNA_RATE_LIMIT__TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpBlock>);

impl TrustedProxies {
    /// Parses each block; the error names the first that is not one.
    pub fn parse<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let blocks = blocks.into_iter().filter(|b| !b.trim().is_empty());
        blocks.map(IpBlock::parse).collect::<Result<_, _>>().map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// The client's address for a request from `peer` with these `X-Forwarded-For` values (in
    /// header order): `peer` unless it is a trusted proxy; else the right-most address in the
    /// header that is not one (each proxy appends the address it was reached from, so entries
    /// left of an untrusted one may be forged); the left-most when all are trusted; and the last
    /// trusted hop when an entry does not parse or the header is missing.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a [u8]>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // Split as bytes: a client's own junk (a byte that is not ASCII) spoils only its own
        // hop, left of those the proxies added, not the whole header value.
        let hops: Vec<&[u8]> = forwarded_for.flat_map(|h| h.split(|&b| b == b',')).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = std::str::from_utf8(hop).ok().and_then(|h| parse_hop(h.trim())) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

impl Serialize for TrustedProxies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            Many(Vec<String>),
        }
        let parsed = match Written::deserialize(d)? {
            Written::One(text) => Self::parse(text.split(',')),
            Written::Many(list) => Self::parse(list.iter().map(String::as_str)),
        };
        parsed.map_err(serde::de::Error::custom)
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
/// bearer token, else its client's address (behind `proxies`, as they forward it).
pub fn client_key(req: &Request, auth: &Auth, proxies: &TrustedProxies) -> ClientKey {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = header.and_then(crate::auth::bearer_token) {
        if auth.is_admin_token(token) {
            return ClientKey::Admin;
        }
        if let Ok(claims) = auth.signer().verify(token, chrono::Utc::now()) {
            return ClientKey::User(claims.sub);
        }
    }
    address_key(req, proxies)
}

/// The key of a request's client address (behind `proxies`, as they forward it), whatever its
/// token.
fn address_key(req: &Request, proxies: &TrustedProxies) -> ClientKey {
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return ClientKey::Unknown;
    };
    let forwarded = req.headers().get_all("x-forwarded-for").into_iter().map(|v| v.as_bytes());
    ClientKey::Ip(match canonical(proxies.client_ip(peer.ip(), forwarded)) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    })
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
    match limiter.check(client_key(&req, &limiter.auth, &limiter.settings.trusted_proxies), Instant::now()) {
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

/// Middleware after routing: a request to a route that always hashes a password (see
/// [`crate::auth::rules`]) takes a token from its IP's password bucket too, or gets the same 429
/// as the general limiter's; one that hashes only when the body carries a password is given a
/// [`PasswordGate`] for its handler to check.
pub(crate) async fn enforce_passwords(
    State(limiter): State<PasswordLimiter>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str();
    let hashing = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| crate::auth::rules::for_path(m.as_str()))
        .and_then(|entries| entries.iter().find(|e| e.method == method))
        .map_or(Hashing::Never, |e| e.password);
    if hashing == Hashing::Never {
        return next.run(req).await;
    }
    let key = address_key(&req, &limiter.0.settings.trusted_proxies);
    if hashing == Hashing::Always {
        if let Err(retry_after_secs) = limiter.0.check(key, Instant::now()) {
            return ApiError::RateLimited { retry_after_secs }.into_response();
        }
    } else {
        req.extensions_mut().insert(PasswordGate { limiter: limiter.clone(), client: key });
    }
    req.extensions_mut().insert(ClientAddress(key));
    next.run(req).await
}

/// The password bucket of a request that hashes a password only when its body carries one
/// (sign-up), for its handler to check once it has read the body. Absent when limits are off.
#[derive(Debug, Clone)]
pub(crate) struct PasswordGate {
    limiter: PasswordLimiter,
    client: ClientKey,
}

impl PasswordGate {
    /// Takes a token from the client's password bucket, or the same 429 as the middleware's.
    pub(crate) fn admit(&self) -> Result<(), ApiError> {
        self.limiter
            .0
            .check(self.client, Instant::now())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
    }
}

/// The client address a password route's request was counted against (IPv6 by /64; behind
/// `trusted_proxies`, the forwarded client), left in the request by [`enforce_passwords`] for
/// the handler. Absent when limits are off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub(crate) ClientKey);

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
            client_key(&r, &Auth::default(), &TrustedProxies::default())
        };
        assert_eq!(req("[2001:db8:1:2::1]:5000"), req("[2001:db8:1:2:ffff::9]:6000"));
        assert_ne!(req("[2001:db8:1:2::1]:5000"), req("[2001:db8:1:3::1]:5000"));
        assert_eq!(req("[::ffff:10.0.0.1]:1"), req("10.0.0.1:2"));
        assert_eq!(
            client_key(&Request::new(axum::body::Body::empty()), &Auth::default(), &TrustedProxies::default()),
            ClientKey::Unknown
        );
    }

    #[test]
    fn address_blocks_parse_and_hold_what_they_should() {
        let block = |t: &str| IpBlock::parse(t).unwrap();
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(block("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!block("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(block("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")), "an IPv4-mapped address is its IPv4 one");
        assert!(block("127.0.0.1").contains(ip("127.0.0.1")) && !block("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(block("10.0.0.0/8").contains(ip("10.0.0.1")) && !block("10.0.0.0/8").contains(ip("::1")));
        assert!(block("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!block("2001:db8::/32").contains(ip("2001:db9::1")));
        assert_eq!(block(" 10.1.2.3/16 ").to_string(), "10.1.2.3/16");
        for wide in ["0.0.0.0/0", "10.0.0.0/7", "::/0", "2001::/31"] {
            assert!(IpBlock::parse(wide).unwrap_err().contains("too wide a block"), "{wide}");
        }
        for bad in ["10.0.0.0/33", "::/129", "10.0.0", "proxy", "10.0.0.0/", "/8", ""] {
            let err = IpBlock::parse(bad).unwrap_err();
            assert!(err.contains("not an IP address or CIDR block"), "{bad}: {err}");
        }
    }

    #[test]
    fn trusted_proxies_read_from_a_list_or_one_comma_separated_string_and_name_a_bad_entry() {
        let from = |v: serde_json::Value| serde_json::from_value::<TrustedProxies>(v).map_err(|e| e.to_string());
        let want = TrustedProxies::parse(["10.0.0.0/8", "127.0.0.1"]).unwrap();
        assert_eq!(from(serde_json::json!(["10.0.0.0/8", "127.0.0.1"])), Ok(want.clone()));
        assert_eq!(from(serde_json::json!("10.0.0.0/8, 127.0.0.1")), Ok(want.clone()));
        assert_eq!(from(serde_json::json!("")), Ok(TrustedProxies::default()));
        assert!(from(serde_json::json!(["10.0.0.0/8", "lb.internal"])).unwrap_err().contains("`lb.internal`"));
        let round = serde_json::to_value(&want).unwrap();
        assert_eq!(round, serde_json::json!(["10.0.0.0/8", "127.0.0.1/32"]));
        assert_eq!(from(round), Ok(want));
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_forwarded_address() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let key = |peer: &str, forwarded: &[&str]| {
            let mut r = Request::new(axum::body::Body::empty());
            r.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            for f in forwarded {
                r.headers_mut().append("x-forwarded-for", f.parse().unwrap());
            }
            address_key(&r, &proxies)
        };
        let client = |t: &str| ClientKey::Ip(t.parse().unwrap());
        assert_eq!(key("10.0.0.2:1", &["203.0.113.7"]), client("203.0.113.7"));
        // A client's own header is kept left of what the proxies add: it picks no bucket.
        assert_eq!(key("10.0.0.2:1", &["1.1.1.1, 203.0.113.7, 10.0.0.9"]), client("203.0.113.7"));
        assert_eq!(key("10.0.0.2:1", &["1.1.1.1", "203.0.113.7"]), client("203.0.113.7"), "headers in order");
        assert_eq!(key("10.0.0.2:1", &["203.0.113.7:4321"]), client("203.0.113.7"));
        assert_eq!(key("10.0.0.2:1", &["2001:db8:1:2::1"]), client("2001:db8:1:2::"), "IPv6 by /64");
        // All hops trusted: the left-most; none, or garbage: the last trusted hop.
        assert_eq!(key("10.0.0.2:1", &["10.0.0.5, 10.0.0.6"]), client("10.0.0.5"));
        assert_eq!(key("10.0.0.2:1", &[]), client("10.0.0.2"));
        assert_eq!(key("10.0.0.2:1", &["203.0.113.7, unknown"]), client("10.0.0.2"));
        // A client's bad byte spoils its own hop only: the proxy's entry right of it stands.
        let mut r = Request::new(axum::body::Body::empty());
        r.extensions_mut().insert(ConnectInfo("10.0.0.2:1".parse::<SocketAddr>().unwrap()));
        r.headers_mut().append("x-forwarded-for", axum::http::HeaderValue::from_bytes(b"\xff, 203.0.113.7").unwrap());
        assert_eq!(address_key(&r, &proxies), client("203.0.113.7"));
        // From a peer that is not a trusted proxy the header is ignored.
        assert_eq!(key("198.51.100.4:1", &["203.0.113.7"]), client("198.51.100.4"));
        let untrusting = |peer: &str| {
            let mut r = Request::new(axum::body::Body::empty());
            r.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            r.headers_mut().append("x-forwarded-for", "203.0.113.7".parse().unwrap());
            address_key(&r, &TrustedProxies::default())
        };
        assert_eq!(untrusting("10.0.0.2:1"), client("10.0.0.2"), "no proxies trusted by default");
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
            client_key(&r, &auth, &TrustedProxies::default())
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
