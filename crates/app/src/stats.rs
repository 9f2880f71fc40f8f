//! Admin stats and the periodic `metrics.snapshot` event. [`App::stats`] answers the admin
//! dashboard: row counts (in the first seed document's shape: `users.total`, `venues.total`,
//! `bookings.total/confirmed`, ...) plus bookings by status, events per channel, the event rate
//! and the open SSE streams. Two background tasks feed and publish the live figures: a watcher
//! counting what passes on the bus, and a publisher putting a snapshot on the `metrics` channel
//! (straight on the bus: figures are ephemeral, not outbox material).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{Cursor, Feed, FeedItem, Publish};
use domain::Channel;
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry::{Telemetry, export};
use crate::{App, AppResult};

/// The admin dashboard's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    pub users: UserStats,
    pub venues: VenueStats,
    pub bookings: BookingStats,
    pub interactions: Total,
    pub social: SocialStats,
    pub events: EventStats,
    pub streams: StreamStats,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserStats {
    pub total: u64,
    /// Generated users (those with a persona).
    pub simulated: u64,
    pub real: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VenueStats {
    pub total: u64,
    /// Venues with an interaction in the last hour, as seen on the event stream, that still
    /// exist: a deleted venue stops counting, and so does every venue after a data reset.
    pub trending: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingStats {
    pub total: u64,
    pub confirmed: u64,
    /// Every status (`pending`, `confirmed`, `cancelled`, `completed`, `no_show`) with its count.
    pub by_status: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Total {
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SocialStats {
    pub edges: u64,
    pub friend_requests: u64,
    pub venue_interests: u64,
    pub plans: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventStats {
    /// `memory` or `redis`.
    pub backend: String,
    /// Events published per channel since this server started (on Redis: by every server).
    pub per_channel: BTreeMap<String, u64>,
    /// Events per second over the last minute.
    pub per_second: f64,
    pub last_minute: u64,
    /// Committed events the relay has not published yet.
    pub outbox_pending: u64,
    /// Outbox rows the relay set aside because they cannot be published at all (a payload that is
    /// not JSON, a channel with no stream): dead letters, kept in the outbox with their reason
    /// (`dead_at`, `dead_reason`).
    pub outbox_dead: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StreamStats {
    /// Open SSE streams on this server.
    pub active_subscribers: usize,
    pub max_subscribers: usize,
}

impl App {
    /// The admin dashboard's figures.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn stats(&self) -> AppResult<Stats> {
        let counts = self.store.counts().await?;
        let status = self.store.status_counts().await?;
        let t = &self.telemetry;
        let by_status: BTreeMap<String, u64> =
            status.bookings.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect();
        let (last_minute, per_second) = t.event_rate();
        // Only venues the store still holds: one deleted, or every one after a reset, by this
        // server or another, stops counting at once, not when its event reaches this server.
        let trending = self.store.live_venues(&t.trending_venues()).await?.len() as u64;
        let per_channel = self.bus.published_counts().into_iter().map(|(c, n)| (c.as_str().to_string(), n)).collect();
        Ok(Stats {
            users: UserStats {
                total: counts.users,
                simulated: status.users_with_persona,
                real: counts.users.saturating_sub(status.users_with_persona),
            },
            venues: VenueStats { total: counts.venues, trending },
            bookings: BookingStats {
                total: counts.bookings,
                confirmed: by_status.get("confirmed").copied().unwrap_or(0),
                by_status,
            },
            interactions: Total { total: counts.interactions },
            social: SocialStats {
                edges: counts.social_edges,
                friend_requests: counts.friend_requests,
                venue_interests: counts.venue_interests,
                plans: counts.plans,
            },
            events: EventStats {
                backend: self.bus.backend().into(),
                per_channel,
                per_second,
                last_minute,
                outbox_pending: counts.outbox_pending,
                outbox_dead: counts.outbox_dead,
            },
            streams: StreamStats { active_subscribers: t.subscribers(), max_subscribers: t.settings.max_subscribers },
        })
    }

    /// Publishes the current figures on the `metrics` channel and exports them to Prometheus.
    pub async fn publish_metrics_snapshot(&self) -> bus::BusResult<std::sync::Arc<domain::Event>> {
        let snapshot = self.telemetry.snapshot(self.bus.published_counts());
        export(&snapshot);
        let data = domain::Payload::of(&snapshot).unwrap_or_default();
        let publish = Publish {
            channel: Channel::Metrics,
            event_type: "metrics.snapshot".into(),
            data,
            timestamp: self.now(),
            source_id: None,
        };
        self.bus.publish(publish).await
    }
}

/// Counts every event that passes on the bus into the telemetry, until aborted (the supervised
/// task `metrics_watcher`).
pub fn spawn_watcher(app: App) -> tokio::task::JoinHandle<()> {
    let tasks = app.tasks.clone();
    // Outlives each run: a restarted watcher resumes where the last one stopped.
    let state = Arc::new(Mutex::new(WatchState::new(app.settings.events.repeat_window)));
    tasks.supervise("metrics_watcher", move || {
        let (app, state) = (app.clone(), state.clone());
        async move { watch(&app.bus, &app.telemetry, &state).await }
    })
}

/// What the metrics watcher keeps across its runs: its feed's position, and the source ids of
/// the last events it counted (a relay's repeat published after a restart is still a repeat).
struct WatchState {
    cursor: Option<Cursor>,
    repeats: bus::Repeats,
}

impl WatchState {
    fn new(repeat_window: usize) -> Self {
        Self { cursor: None, repeats: bus::Repeats::new(repeat_window) }
    }
}

/// Feeds every event of every channel to `telemetry`, forever. It reads a [`Feed`]: when it
/// falls behind the live delivery (a burst, a busy runtime), what it missed is read back from
/// the bus's history, so no conversion is lost while the history still holds it (lags are
/// counted in `luna_metrics_watcher_lagged_events_total`). Should a feed end, a new one
/// resumes where it stopped; so does a new watcher after this one died, from `state` (the
/// feed's position, kept as each event is taken, before it is counted: an event that makes the
/// watcher panic is not read again). An event the relay published again (the same outbox id as
/// one of the last `events.repeat_window` counted, by this run or an earlier) is not counted
/// again.
async fn watch(bus: &bus::DynBus, telemetry: &Telemetry, state: &Mutex<WatchState>) {
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let cursor = lock().cursor.clone();
        match Feed::open(bus.clone(), Channel::ALL.to_vec(), cursor.as_ref()).await {
            Ok(mut feed) => {
                while let Some(item) = feed.next().await {
                    let first_time = {
                        let mut state = lock();
                        state.cursor = Some(feed.cursor().clone());
                        match &item {
                            FeedItem::Event(e) => state.repeats.first_time(e.source_id),
                            FeedItem::Lagged { .. } => true,
                        }
                    };
                    match item {
                        FeedItem::Event(e) if first_time => telemetry.record_event(&e),
                        FeedItem::Event(_) => {}
                        FeedItem::Lagged { missed } => {
                            metrics::counter!("luna_metrics_watcher_lagged_events_total").increment(missed);
                            tracing::debug!(missed, "metrics watcher lagged; reading what it missed from history")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics watcher: cannot subscribe; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Publishes a `metrics.snapshot` every `snapshot_every`, until aborted (the supervised task
/// `metrics_snapshots`).
pub fn spawn_snapshots(app: App) -> tokio::task::JoinHandle<()> {
    let tasks = app.tasks.clone();
    tasks.supervise("metrics_snapshots", move || snapshots(app.clone()))
}

async fn snapshots(app: App) {
    let mut tick = tokio::time::interval(app.telemetry.settings.snapshot_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = app.publish_metrics_snapshot().await {
            tracing::debug!(error = %e, "metrics snapshot not published");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bus::MemoryBus;
    use uuid::Uuid;

    use super::*;
    use crate::telemetry::LiveSettings;

    fn publish(kind: &str, data: serde_json::Value) -> Publish {
        Publish {
            channel: Channel::UserActions,
            event_type: kind.into(),
            data: domain::Payload::of(&data).unwrap(),
            timestamp: chrono::Utc::now(),
            source_id: None,
        }
    }

    /// One thread: the watcher cannot run while the burst is published, so it overflows the
    /// live delivery (4,096 events) for sure and must read the like back from history.
    #[tokio::test(flavor = "current_thread")]
    async fn the_watcher_reads_back_what_a_burst_made_it_miss_so_a_conversion_is_not_lost() {
        let bus: bus::DynBus = Arc::new(MemoryBus::new(20_000));
        let telemetry = Arc::new(Telemetry::new(LiveSettings::default()));
        let (user, venue) = (Uuid::now_v7(), Uuid::now_v7());
        telemetry.record_served("default", &[user], &[venue], chrono::Utc::now());
        let watcher = {
            let (bus, telemetry) = (bus.clone(), telemetry.clone());
            tokio::spawn(async move {
                watch(&bus, &telemetry, &Mutex::new(WatchState::new(bus::DEFAULT_REPEAT_WINDOW))).await
            })
        };
        while telemetry.event_rate().0 == 0 {
            // Until the watcher has opened its feed: a probe event reaches it.
            bus.publish(publish("probe", serde_json::json!({}))).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let probes = telemetry.event_rate().0;
        let like = serde_json::json!({"user_id": user, "venue_id": venue, "interaction_type": "like"});
        bus.publish(publish("interaction.recorded", like)).await.unwrap();
        for n in 0..6_000 {
            bus.publish(publish("filler", serde_json::json!({ "n": n }))).await.unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let liked = loop {
            let figures = telemetry.snapshot(vec![]).recommendation_conversion;
            if figures[0].liked == 1 || tokio::time::Instant::now() > deadline {
                break figures[0].liked;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        watcher.abort();
        assert_eq!(liked, 1, "the like before the burst was read back from history");
        assert_eq!(telemetry.event_rate().0, probes + 6_001, "every event of the burst counted once");
    }

    /// Before, a watcher restarted after a panic began from the live events of that moment, so
    /// what was published while it was down (up to its supervisor's 30 s backoff) was never
    /// counted; and it forgot the outbox ids it had counted, so a relay's repeat then counted.
    #[tokio::test]
    async fn a_watcher_started_again_counts_what_was_published_while_it_was_down() {
        let bus: bus::DynBus = Arc::new(MemoryBus::new(1_000));
        let telemetry = Arc::new(Telemetry::new(LiveSettings::default()));
        let state = Arc::new(Mutex::new(WatchState::new(100)));
        let start = || {
            let (bus, telemetry, state) = (bus.clone(), telemetry.clone(), state.clone());
            tokio::spawn(async move { watch(&bus, &telemetry, &state).await })
        };
        let first = start();
        while telemetry.event_rate().0 == 0 {
            // Until its feed is open (probes before that are not its to count).
            bus.publish(publish("probe", serde_json::json!({}))).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // An event from the outbox, counted by this run.
        let from_outbox =
            Publish { source_id: Some(Uuid::now_v7()), ..publish("booking.created", serde_json::json!({})) };
        bus.publish(from_outbox.clone()).await.unwrap();
        // Once it is counted, so are the probes before it on the channel.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while telemetry.snapshot(vec![]).bookings_per_minute == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the booking was never counted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        first.abort();
        let _ = first.await;
        let counted = telemetry.event_rate().0;
        // Published while no watcher runs: five events, the relay's repeat of the outbox one, and
        // a like after them on the channel, so once it is counted they all have been (it waited
        // 50 ms for a repeat to be counted, which a slow machine could outlast).
        for n in 0..5 {
            bus.publish(publish("missed", serde_json::json!({ "n": n }))).await.unwrap();
        }
        bus.publish(from_outbox).await.unwrap();
        let like =
            serde_json::json!({"user_id": Uuid::now_v7(), "venue_id": Uuid::now_v7(), "interaction_type": "like"});
        bus.publish(publish("interaction.recorded", like)).await.unwrap();
        let second = start();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while telemetry.trending_venues().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        second.abort();
        assert_eq!(telemetry.trending_venues().len(), 1, "the like after the gap was counted");
        assert_eq!(telemetry.event_rate().0, counted + 6, "the five events of the gap and the like, each once");
        assert_eq!(telemetry.snapshot(vec![]).bookings_per_minute, 1, "the repeat is not counted");
    }

    /// Before, a booking the relay published twice (its outbox row's mark as published failed)
    /// counted twice in the bookings and the events of the last minute.
    #[tokio::test]
    async fn the_watcher_counts_an_event_the_relay_published_twice_once() {
        let bus: bus::DynBus = Arc::new(MemoryBus::new(1_000));
        let telemetry = Arc::new(Telemetry::new(LiveSettings::default()));
        let watcher = {
            let (bus, telemetry) = (bus.clone(), telemetry.clone());
            tokio::spawn(async move { watch(&bus, &telemetry, &Mutex::new(WatchState::new(100))).await })
        };
        while telemetry.event_rate().0 == 0 {
            bus.publish(publish("probe", serde_json::json!({}))).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let probes = telemetry.event_rate().0;
        let from_outbox = |kind: &str, venue: Uuid| Publish {
            source_id: Some(Uuid::now_v7()),
            ..publish(
                kind,
                serde_json::json!({"user_id": Uuid::now_v7(), "venue_id": venue, "interaction_type": "like"}),
            )
        };
        let booked = from_outbox("booking.created", Uuid::now_v7());
        let other = from_outbox("booking.created", Uuid::now_v7());
        // The relay's repeat: the same outbox row published again (a new bus id, the same source).
        for p in [booked.clone(), booked, other] {
            bus.publish(p).await.unwrap();
        }
        // After them on the same channel, so once it is counted they all have been.
        bus.publish(from_outbox("interaction.recorded", Uuid::now_v7())).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while telemetry.trending_venues().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        watcher.abort();
        assert_eq!(telemetry.trending_venues().len(), 1, "the like after the bookings was counted");
        assert_eq!(telemetry.snapshot(vec![]).bookings_per_minute, 2, "two bookings, one of them published twice");
        assert_eq!(telemetry.event_rate().0, probes + 3, "the repeat is not an event of its own");
    }
}
