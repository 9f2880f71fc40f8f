//! This server's live figures: requests and latencies per route template (fed by the HTTP
//! middleware, so any route is covered, recommendations included, without code of its own),
//! events and bookings seen on the bus over the last minute, and the SSE subscriber count with
//! its cap, and the conversion of served venue recommendations per ranker ([`crate::conversion`]).
//! Cheap on the request path: one short lock and a few additions. A [`ServerMetrics`]
//! of it is published on the `metrics` channel every few seconds and exported to Prometheus, so
//! the stream and `/metrics` carry the same figures.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use domain::{Channel, InteractionType};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::conversion::{Conversion, Conversions, MAX_PENDING, RankerConversion};

/// Latency samples kept per route (the newest; percentiles use those of the last minute).
const SAMPLES: usize = 1024;
/// How long a venue counts as trending after an interaction with it.
const TRENDING_FOR: u64 = 3600;

/// Live-stream and metrics settings.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Concurrent SSE subscribers this server accepts; more get a 503.
    pub max_subscribers: usize,
    /// Streams of their own events one user may hold open at once on this server (their
    /// devices and tabs); more get a 429. All users' streams together leave a tenth of
    /// `max_subscribers` (at least one) to the admin's streams.
    pub max_streams_per_user: usize,
    /// How often an idle SSE stream sends a keep-alive comment.
    pub keep_alive: Duration,
    /// How often a `metrics.snapshot` event is published.
    pub snapshot_every: Duration,
    /// How long an action read from the bus waits before it is credited to a served answer,
    /// seconds ([`crate::conversion::HOLD_SECS`]).
    pub conversion_hold_secs: u64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            max_subscribers: 1000,
            max_streams_per_user: 4,
            keep_alive: Duration::from_secs(15),
            snapshot_every: Duration::from_secs(5),
            conversion_hold_secs: crate::conversion::HOLD_SECS,
        }
    }
}

/// Counts over the last minute, in one-second slots.
#[derive(Debug, Clone)]
struct Minute {
    slots: [(u64, u64); 60],
}

impl Default for Minute {
    fn default() -> Self {
        Self { slots: [(0, 0); 60] }
    }
}

impl Minute {
    fn add(&mut self, second: u64, n: u64) {
        let slot = &mut self.slots[(second % 60) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += n;
    }

    fn total(&self, now: u64) -> u64 {
        self.slots.iter().filter(|(s, _)| *s <= now && now - s < 60).map(|(_, n)| n).sum()
    }
}

#[derive(Debug, Default)]
struct Route {
    total: u64,
    minute: Minute,
    server_errors: Minute,
    /// (second, microseconds), newest last.
    samples: VecDeque<(u64, u32)>,
}

#[derive(Debug, Default)]
struct Events {
    minute: Minute,
    bookings: Minute,
    venues: HashMap<uuid::Uuid, u64>,
}

/// Latency percentiles, in milliseconds, over the last minute's samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(mut ms: Vec<f64>) -> Self {
        if ms.is_empty() {
            return Self::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        Self { count: ms.len() as u64, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1.0) }
    }
}

/// One route's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RouteFigures {
    /// Method and route template, such as `GET /api/v1/users/{user_id}`.
    pub route: String,
    /// Requests since the server started.
    pub total: u64,
    pub last_minute: u64,
    pub per_second: f64,
    /// 5xx answers over the last minute.
    pub server_errors_last_minute: u64,
    pub latency_ms: Percentiles,
}

/// What the `metrics` channel carries as `metrics.snapshot` every few seconds; `/metrics`
/// exports the same figures as `luna_*` gauges.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServerMetrics {
    /// Which server this is (one snapshot per server per interval).
    pub server: String,
    pub uptime_seconds: u64,
    /// Requests per second over the last minute, all routes.
    pub requests_per_second: f64,
    pub requests_last_minute: u64,
    pub routes: Vec<RouteFigures>,
    /// Latency of the recommendation reads (`GET` of `/recommendations/...` and the second
    /// seed's `/reco/...`, at the root or under `/api/v1`), last minute.
    pub recommendation_latency_ms: Percentiles,
    /// `booking.created` events seen over the last minute.
    pub bookings_per_minute: u64,
    /// Events seen on the bus per second over the last minute (every channel).
    pub events_per_second: f64,
    pub events_last_minute: u64,
    /// Events published per channel since the server started.
    pub events_per_channel: BTreeMap<String, u64>,
    pub sse_subscribers: usize,
    /// Of the venues this server's answers showed, how many were then viewed, liked, visited
    /// or booked, per ranker (see [`crate::conversion`]).
    pub recommendation_conversion: Vec<RankerConversion>,
}

/// One open SSE stream; dropping it frees its place (and, for a user's own stream, one of
/// theirs).
#[derive(Debug)]
pub struct SubscriberPermit {
    subscribers: Arc<AtomicUsize>,
    user: Option<(Uuid, Arc<Mutex<UserStreams>>)>,
}

impl Drop for SubscriberPermit {
    fn drop(&mut self) {
        if let Some((user, streams)) = &self.user {
            locked(streams).release(*user);
        }
        let n = self.subscribers.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!("luna_sse_subscribers").set(n as f64);
    }
}

/// Why a user's own stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    /// The user holds this many open already, the most one user may.
    UserFull(usize),
    /// The server's places for users' streams are taken.
    ServerFull,
}

/// Users' own streams open on this server, per user.
#[derive(Debug, Default)]
struct UserStreams {
    open: HashMap<Uuid, usize>,
    total: usize,
}

impl UserStreams {
    fn release(&mut self, user: Uuid) {
        if let Some(n) = self.open.get_mut(&user) {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.open.remove(&user);
            }
        }
    }
}

/// The recorder. One per [`App`](crate::App), shared by its clones.
#[derive(Debug)]
pub struct Telemetry {
    pub settings: LiveSettings,
    server: String,
    started: Instant,
    subscribers: Arc<AtomicUsize>,
    user_streams: Arc<Mutex<UserStreams>>,
    /// Set when the server shuts down: open streams end, so draining does not wait on them.
    closing: tokio::sync::watch::Sender<bool>,
    /// Data resets seen on the bus (this server's or another's): users' own streams end at one.
    resets: tokio::sync::watch::Sender<u64>,
    routes: Mutex<HashMap<String, Route>>,
    events: Mutex<Events>,
    conversions: Mutex<Conversions>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Figures only: a panic elsewhere mid-update leaves them usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Telemetry {
    pub fn new(settings: LiveSettings) -> Self {
        let conversions = Conversions::new(MAX_PENDING, settings.conversion_hold_secs);
        Self {
            settings,
            server: uuid::Uuid::now_v7().simple().to_string()[20..].to_string(),
            started: Instant::now(),
            subscribers: Arc::new(AtomicUsize::new(0)),
            user_streams: Arc::default(),
            closing: tokio::sync::watch::channel(false).0,
            resets: tokio::sync::watch::channel(0).0,
            routes: Mutex::default(),
            events: Mutex::default(),
            conversions: Mutex::new(conversions),
        }
    }

    fn second(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// A place for one more SSE stream, or `None` at the cap.
    pub fn try_subscribe(&self) -> Option<SubscriberPermit> {
        let max = self.settings.max_subscribers;
        let n = self.subscribers.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1));
        let n = n.ok()? + 1;
        metrics::gauge!("luna_sse_subscribers").set(n as f64);
        Some(SubscriberPermit { subscribers: self.subscribers.clone(), user: None })
    }

    /// A place for one more stream of `user`'s own events: refused beyond
    /// [`LiveSettings::max_streams_per_user`] of theirs, and when users' streams would leave the
    /// admin's fewer than a tenth of the cap (at least one), so that no user, nor all of them,
    /// can lock the operators out.
    pub fn try_subscribe_user(&self, user: Uuid) -> Result<SubscriberPermit, StreamRefusal> {
        let mut streams = locked(&self.user_streams);
        let most = self.settings.max_streams_per_user;
        if streams.open.get(&user).copied().unwrap_or(0) >= most {
            return Err(StreamRefusal::UserFull(most));
        }
        let reserve = (self.settings.max_subscribers / 10).max(1);
        if streams.total + reserve >= self.settings.max_subscribers {
            return Err(StreamRefusal::ServerFull);
        }
        let mut permit = self.try_subscribe().ok_or(StreamRefusal::ServerFull)?;
        *streams.open.entry(user).or_default() += 1;
        streams.total += 1;
        permit.user = Some((user, Arc::clone(&self.user_streams)));
        Ok(permit)
    }

    /// Ends every open stream (and any opened later): the server is shutting down.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Telemetry::close_streams`] was called.
    pub fn streams_closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|&closing| closing).await;
        }
    }

    /// Resolves at the first data reset the metrics watcher sees after this call (on any server
    /// sharing the bus): every user is gone then, so their own streams end.
    pub fn next_data_reset(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.resets.subscribe();
        async move {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Acquire)
    }

    /// Records one answered request (`route` is the method and route template).
    pub fn record_request(&self, route: &str, status: u16, elapsed: Duration) {
        let now = self.second();
        let mut routes = locked(&self.routes);
        let r = match routes.get_mut(route) {
            Some(r) => r,
            None => routes.entry(route.to_string()).or_default(),
        };
        r.total += 1;
        r.minute.add(now, 1);
        if status >= 500 {
            r.server_errors.add(now, 1);
        }
        if r.samples.len() == SAMPLES {
            r.samples.pop_front();
        }
        r.samples.push_back((now, u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)));
    }

    /// This server's id (in its metrics snapshots and served answers).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Records a venue answer of `ranker` that showed `venues` to each of `users` at `at` (the
    /// time its `recommendation.served` event carries).
    pub fn record_served(&self, ranker: &str, users: &[Uuid], venues: &[Uuid], at: domain::Timestamp) {
        locked(&self.conversions).served(ranker, users, venues, unix_secs(at));
    }

    /// Reads a `recommendation.served` event from the bus. This server's own answers were
    /// counted when served, and are told apart without parsing: the event's data opens with
    /// this server's id. Another server's venue answer supersedes this server's earlier
    /// showings of the same venues to the same users, so each conversion is credited once,
    /// by the server that showed the venue last. Answers of the same second go to the greater
    /// server id, on both servers alike.
    fn record_served_elsewhere(&self, event: &domain::Event) {
        #[derive(serde::Deserialize)]
        struct Served<'a> {
            server: &'a str,
            user_id: Uuid,
            #[serde(default)]
            members: Vec<Uuid>,
            kind: String,
            items: Vec<crate::reco_service::ServedItem>,
        }
        let text = event.data.get();
        if text
            .strip_prefix(r#"{"server":""#)
            .is_some_and(|rest| rest.strip_prefix(self.server.as_str()).is_some_and(|rest| rest.starts_with('"')))
        {
            return;
        }
        let Ok(served) = serde_json::from_str::<Served<'_>>(text) else { return };
        if served.kind == "people" {
            return;
        }
        let users = if served.members.is_empty() { vec![served.user_id] } else { served.members };
        let venues: Vec<Uuid> = served.items.iter().filter_map(|i| i.venue_id).collect();
        let at = unix_secs(event.timestamp);
        let wins_tie = served.server > self.server.as_str();
        locked(&self.conversions).superseded(&users, &venues, at, wins_tie);
    }

    /// Records one event seen on the bus.
    pub fn record_event(&self, event: &domain::Event) {
        /// The fields read here of an interaction, an interest or a booking; the others are
        /// skipped unread.
        #[derive(serde::Deserialize)]
        struct Touch {
            user_id: Uuid,
            venue_id: Uuid,
            interaction_type: Option<InteractionType>,
        }
        let now = self.second();
        /// The field read of a `venue.deleted`.
        #[derive(serde::Deserialize)]
        struct Gone {
            venue_id: Uuid,
        }
        let touch = match event.event_type.as_str() {
            "booking.created" | "interaction.recorded" | "interest.expressed" => event.data.parse::<Touch>().ok(),
            crate::reco_service::SERVED_EVENT => {
                self.record_served_elsewhere(event);
                None
            }
            _ => None,
        };
        {
            let mut ev = locked(&self.events);
            ev.minute.add(now, 1);
            match (event.event_type.as_str(), &touch) {
                ("booking.created", _) => ev.bookings.add(now, 1),
                ("interaction.recorded", Some(t)) => {
                    ev.venues.insert(t.venue_id, now);
                }
                // A venue gone is not trending; nor is any after a reset, though a new seed may
                // bring the same ids back (same seed and anchor, same data).
                ("venue.deleted", _) => {
                    if let Some(id) = event.data.parse::<Gone>().ok().map(|g| g.venue_id) {
                        ev.venues.remove(&id);
                    }
                }
                ("data.reset", _) => ev.venues.clear(),
                _ => {}
            }
        }
        // The conversion figures are about answers to users that a reset removed: they start again
        // (the dashboard's table showed the old counts after a reset).
        if event.event_type == "data.reset" {
            locked(&self.conversions).forget_all();
            self.resets.send_modify(|n| *n += 1);
        }
        let Some(t) = touch else { return };
        let kind = match event.event_type.as_str() {
            "interaction.recorded" => t.interaction_type.and_then(Conversion::of),
            "interest.expressed" => Some(Conversion::Liked),
            "booking.created" => Some(Conversion::Booked),
            _ => None,
        };
        if let Some(kind) = kind {
            // When it happened (the write's time), not when the bus delivered it.
            let at = unix_secs(event.timestamp);
            locked(&self.conversions).converted(t.user_id, t.venue_id, kind, at, unix_now());
        }
    }

    /// Events seen over the last minute, and per second over it.
    pub fn event_rate(&self) -> (u64, f64) {
        let now = self.second();
        let n = locked(&self.events).minute.total(now);
        (n, n as f64 / (now + 1).min(60) as f64)
    }

    /// Venues with an interaction seen in the last hour, unless a `venue.deleted` or
    /// `data.reset` event seen since removed them. Those events come a moment after the write,
    /// and from another server later still: a count shown to people keeps only the ids the
    /// store still holds (`App::stats`).
    pub fn trending_venues(&self) -> Vec<Uuid> {
        let now = self.second();
        let mut ev = locked(&self.events);
        ev.venues.retain(|_, seen| now - *seen < TRENDING_FOR);
        ev.venues.keys().copied().collect()
    }

    /// The current figures; `published` is the bus's per-channel count.
    pub fn snapshot(&self, published: Vec<(Channel, u64)>) -> ServerMetrics {
        let now = self.second();
        let window = (now + 1).min(60) as f64;
        let (routes, reco) = self.route_figures(now, window);
        let requests_last_minute = routes.iter().map(|r| r.last_minute).sum::<u64>();
        let (events_last_minute, events_per_second) = self.event_rate();
        let bookings_per_minute = locked(&self.events).bookings.total(now);
        let recommendation_conversion = locked(&self.conversions).figures(unix_now());
        ServerMetrics {
            server: self.server.clone(),
            uptime_seconds: now,
            requests_per_second: requests_last_minute as f64 / window,
            requests_last_minute,
            routes,
            recommendation_latency_ms: reco,
            bookings_per_minute,
            events_per_second,
            events_last_minute,
            events_per_channel: published.into_iter().map(|(c, n)| (c.as_str().to_string(), n)).collect(),
            sse_subscribers: self.subscribers(),
            recommendation_conversion,
        }
    }

    /// Every route's figures (busiest first) and the recommendation routes' latency.
    fn route_figures(&self, now: u64, window: f64) -> (Vec<RouteFigures>, Percentiles) {
        let routes = locked(&self.routes);
        let recent = |r: &Route| -> Vec<f64> {
            r.samples.iter().filter(|(s, _)| now - s < 60).map(|(_, us)| f64::from(*us) / 1000.0).collect()
        };
        let reco = routes.iter().filter(|(k, _)| is_recommendation_read(k)).flat_map(|(_, r)| recent(r)).collect();
        let mut out: Vec<RouteFigures> = routes
            .iter()
            .map(|(route, r)| {
                let last_minute = r.minute.total(now);
                RouteFigures {
                    route: route.clone(),
                    total: r.total,
                    last_minute,
                    per_second: last_minute as f64 / window,
                    server_errors_last_minute: r.server_errors.total(now),
                    latency_ms: Percentiles::of(recent(r)),
                }
            })
            .collect();
        out.sort_by(|a, b| b.last_minute.cmp(&a.last_minute).then_with(|| a.route.cmp(&b.route)));
        (out, Percentiles::of(reco))
    }
}

/// Whether a route label (method and template) answers recommendations: the first seed's
/// `GET /recommendations/...` and the second's `GET /reco/...`. Expressing interest is a write.
fn is_recommendation_read(route: &str) -> bool {
    let Some(path) = route.strip_prefix("GET ") else { return false };
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    path.starts_with("/recommendations/") || path.starts_with("/reco/")
}

/// Seconds since the Unix epoch, by the wall clock (conversions compare it with event times).
fn unix_now() -> u64 {
    unix_secs(chrono::Utc::now())
}

/// Seconds since the Unix epoch of `at` (0 before it).
fn unix_secs(at: domain::Timestamp) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// Sets the `luna_*` Prometheus series from a snapshot (what `/metrics` exports).
pub fn export(s: &ServerMetrics) {
    metrics::gauge!("luna_requests_per_second").set(s.requests_per_second);
    metrics::gauge!("luna_bookings_per_minute").set(s.bookings_per_minute as f64);
    metrics::gauge!("luna_events_per_second").set(s.events_per_second);
    metrics::gauge!("luna_sse_subscribers").set(s.sse_subscribers as f64);
    for (channel, n) in &s.events_per_channel {
        metrics::counter!("luna_bus_events_published_total", "channel" => channel.clone()).absolute(*n);
    }
    let quantiles = |p: &Percentiles| [("0.5", p.p50), ("0.9", p.p90), ("0.99", p.p99)];
    for (q, v) in quantiles(&s.recommendation_latency_ms) {
        metrics::gauge!("luna_recommendation_latency_ms", "quantile" => q).set(v);
    }
    for c in &s.recommendation_conversion {
        metrics::counter!("luna_recommendations_shown_total", "ranker" => c.ranker.clone()).absolute(c.shown);
        for (kind, rate) in
            [("viewed", c.view_rate), ("liked", c.like_rate), ("visited", c.visit_rate), ("booked", c.booking_rate)]
        {
            metrics::gauge!("luna_recommendation_conversion_rate", "ranker" => c.ranker.clone(), "kind" => kind)
                .set(rate);
        }
    }
    for r in &s.routes {
        for (q, v) in quantiles(&r.latency_ms) {
            metrics::gauge!("luna_route_latency_ms", "route" => r.route.clone(), "quantile" => q).set(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Credits actions as soon as they are read (the hold is tested in `conversion`).
    fn unheld() -> LiveSettings {
        LiveSettings { conversion_hold_secs: 0, ..LiveSettings::default() }
    }

    #[test]
    fn a_minute_forgets_what_is_older_than_sixty_seconds() {
        let mut m = Minute::default();
        m.add(0, 5);
        m.add(30, 2);
        assert_eq!(m.total(59), 7);
        assert_eq!(m.total(60), 2);
        m.add(61, 1); // reuses the slot of second 1
        assert_eq!(m.total(89), 3);
        assert_eq!(m.total(200), 0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.count, p.p50, p.p90, p.p99, p.max), (100, 50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
    }

    #[test]
    fn the_subscriber_cap_refuses_one_too_many_and_frees_places_on_drop() {
        let t = Telemetry::new(LiveSettings { max_subscribers: 2, ..LiveSettings::default() });
        let a = t.try_subscribe().expect("first");
        let _b = t.try_subscribe().expect("second");
        assert!(t.try_subscribe().is_none());
        drop(a);
        assert_eq!(t.subscribers(), 1);
        assert!(t.try_subscribe().is_some());
    }

    #[test]
    fn a_user_holds_a_few_streams_and_all_users_leave_a_tenth_of_the_places_to_the_admin() {
        let t =
            Telemetry::new(LiveSettings { max_subscribers: 10, max_streams_per_user: 2, ..LiveSettings::default() });
        let (me, others) = (Uuid::now_v7(), [(); 8].map(|_| Uuid::now_v7()));
        let first = t.try_subscribe_user(me).expect("first");
        let _second = t.try_subscribe_user(me).expect("second");
        assert_eq!(t.try_subscribe_user(me).unwrap_err(), StreamRefusal::UserFull(2));
        drop(first);
        let _again = t.try_subscribe_user(me).expect("a place of theirs freed");
        // 2 of this user and 7 of others: the 9 places a tenth of 10 leaves users.
        let held: Vec<_> = others[..7].iter().map(|u| t.try_subscribe_user(*u).expect("a user's place")).collect();
        assert_eq!(t.try_subscribe_user(others[7]).unwrap_err(), StreamRefusal::ServerFull);
        let admin = t.try_subscribe().expect("the admin's reserved place");
        assert!(t.try_subscribe().is_none(), "the cap");
        drop(admin);
        drop(held);
        assert_eq!(t.subscribers(), 2);
        assert!(t.try_subscribe_user(others[7]).is_ok());
    }

    #[test]
    fn interactions_interests_and_created_bookings_are_conversions_and_other_events_are_not() {
        let t = Telemetry::new(unheld());
        let (user, venues) = (Uuid::now_v7(), [Uuid::now_v7(), Uuid::now_v7()]);
        t.record_served("seed2", &[user], &venues, chrono::Utc::now());
        let event = |kind: &str, data: serde_json::Value| domain::Event {
            id: "1-0".into(),
            source_id: None,
            channel: Channel::UserActions,
            event_type: kind.into(),
            timestamp: chrono::Utc::now(),
            data: domain::Payload::of(&data).unwrap(),
        };
        let on = |v: Uuid| serde_json::json!({"user_id": user, "venue_id": v, "party_size": 2});
        let act = |v: Uuid, kind: &str| serde_json::json!({"user_id": user, "venue_id": v, "interaction_type": kind});
        t.record_event(&event("interaction.recorded", act(venues[0], "search")));
        t.record_event(&event("booking.held", on(venues[0])));
        t.record_event(&event("booking.status_changed", on(venues[0])));
        t.record_event(&event("recommendation.served", on(venues[0])));
        let none = &t.snapshot(vec![]).recommendation_conversion[0];
        assert_eq!((none.viewed, none.liked, none.visited, none.booked), (0, 0, 0, 0));
        t.record_event(&event("interest.expressed", on(venues[0])));
        t.record_event(&event("interaction.recorded", act(venues[1], "visit")));
        t.record_event(&event("booking.created", on(venues[1])));
        let s = &t.snapshot(vec![]).recommendation_conversion[0];
        assert_eq!((s.ranker.as_str(), s.shown, s.liked, s.visited, s.booked), ("seed2", 2, 1, 1, 1));
        assert_eq!(s.booking_rate, 0.5);
    }

    #[test]
    fn a_data_reset_starts_the_conversion_figures_again() {
        let t = Telemetry::new(unheld());
        let (user, venue) = (Uuid::now_v7(), Uuid::now_v7());
        let event = |kind: &str, data: serde_json::Value| domain::Event {
            id: "1-0".into(),
            source_id: None,
            channel: Channel::System,
            event_type: kind.into(),
            timestamp: chrono::Utc::now(),
            data: domain::Payload::of(&data).unwrap(),
        };
        t.record_served("seed2", &[user], &[venue], chrono::Utc::now());
        t.record_event(&event("booking.created", serde_json::json!({"user_id": user, "venue_id": venue})));
        let before = t.snapshot(vec![]).recommendation_conversion;
        assert_eq!((before[0].shown, before[0].booked), (1, 1));
        t.record_event(&event("data.reset", serde_json::Value::Null));
        assert!(t.snapshot(vec![]).recommendation_conversion.is_empty(), "the old answers' counts are gone");
        // An action on a venue shown before the reset credits nothing.
        t.record_event(&event("interest.expressed", serde_json::json!({"user_id": user, "venue_id": venue})));
        assert!(t.snapshot(vec![]).recommendation_conversion.is_empty());
    }

    #[test]
    fn a_conversion_is_credited_by_the_server_that_showed_the_venue_last_only() {
        let (a, b) = (Telemetry::new(unheld()), Telemetry::new(unheld()));
        let (user, friend, venues) = (Uuid::now_v7(), Uuid::now_v7(), [Uuid::now_v7(), Uuid::now_v7()]);
        let now = chrono::Utc::now();
        let event = |kind: &str, data: domain::Payload, at: chrono::DateTime<chrono::Utc>| domain::Event {
            id: "1-0".into(),
            source_id: None,
            channel: Channel::Recommendations,
            event_type: kind.into(),
            timestamp: at,
            data,
        };
        // What each server publishes for an answer, as the bus delivers it to both.
        let served = |by: &Telemetry, members: Vec<Uuid>, venue: Uuid, at| {
            let items = vec![crate::reco_service::ServedItem::venue(venue, Some(0.5))];
            let s = crate::reco_service::RecommendationServed {
                server: by.server().to_string(),
                request_id: Uuid::now_v7(),
                user_id: user,
                members,
                ranker: "default",
                kind: "venues",
                items,
            };
            event(crate::reco_service::SERVED_EVENT, domain::Payload::of(&s).unwrap(), at)
        };
        a.record_served("default", &[user], &venues, now);
        // A's own answer, however late it is delivered, never supersedes A's showings.
        a.record_event(&served(&a, vec![], venues[0], now + chrono::Duration::seconds(5)));
        // B showed venue 1 (to a group of the user and a friend) after A did.
        // Two seconds on: a second boundary between `now` and A's record cannot make a tie.
        let later = now + chrono::Duration::seconds(2);
        b.record_served("group", &[user, friend], &venues[1..], later);
        let later = served(&b, vec![user, friend], venues[1], later);
        a.record_event(&later);
        b.record_event(&later);
        let liked = |v: Uuid| {
            let data = serde_json::json!({"user_id": user, "venue_id": v, "interaction_type": "like"});
            event("interaction.recorded", domain::Payload::of(&data).unwrap(), now + chrono::Duration::seconds(3))
        };
        for t in [&a, &b] {
            t.record_event(&liked(venues[0]));
            t.record_event(&liked(venues[1]));
        }
        let figures = |t: &Telemetry| {
            t.snapshot(vec![]).recommendation_conversion.iter().map(|r| (r.ranker.clone(), r.liked)).collect::<Vec<_>>()
        };
        assert_eq!(figures(&a), [("default".to_string(), 1)], "A keeps venue 0, not venue 1");
        assert_eq!(figures(&b), [("group".to_string(), 1)], "B credits venue 1");
    }

    #[test]
    fn request_figures_group_by_route_and_recommendation_routes_are_pooled() {
        let t = Telemetry::new(unheld());
        for ms in 1..=10 {
            t.record_request("GET /api/v1/recommendations/{user_id}", 200, Duration::from_millis(ms));
        }
        t.record_request("GET /api/v1/users", 503, Duration::from_millis(1));
        // The second seed's paths count; expressing interest (a write) does not.
        t.record_request("GET /reco/venues/{user_id}", 200, Duration::from_millis(11));
        t.record_request("GET /api/v1/reco/people/{user_id}", 200, Duration::from_millis(12));
        t.record_request("POST /api/v1/recommendations/{user_id}/interest", 200, Duration::from_millis(500));
        let s = t.snapshot(vec![(Channel::Bookings, 3)]);
        assert_eq!(s.requests_last_minute, 14);
        assert_eq!(s.routes[0].route, "GET /api/v1/recommendations/{user_id}");
        assert_eq!(s.recommendation_latency_ms.count, 12);
        assert_eq!((s.recommendation_latency_ms.p90, s.recommendation_latency_ms.max), (11.0, 12.0));
        let users = s.routes.iter().find(|r| r.route == "GET /api/v1/users").unwrap();
        assert_eq!(users.server_errors_last_minute, 1);
        assert_eq!(s.events_per_channel["bookings"], 3);
    }
}
