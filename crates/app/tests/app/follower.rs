//! The engine follower and the bus's own gaps: it reloads the engine for a gap of a channel it
//! applies events of, and for no other.

use std::sync::Arc;
use std::time::Duration;

use app::{App, AppSettings};
use async_trait::async_trait;
use bus::{BusResult, Delivery, DynBus, EventBus, EventId, Page, Publish, Subscription};
use domain::{Channel, Event};
use futures::StreamExt;
use testdb::{Backend, TestDatabase};
use tokio::sync::broadcast;

use crate::relay::followed;
use crate::user;

crate::on_every_backend!(the_follower_reloads_the_engine_for_a_gap_of_a_channel_it_applies_and_no_other);

/// An in-memory bus whose subscriptions also carry the gaps the test sends, as the Redis bus
/// announces those of its reader.
struct GapBus {
    inner: DynBus,
    gaps: broadcast::Sender<Delivery>,
}

impl GapBus {
    fn new() -> Self {
        Self { inner: Arc::new(bus::MemoryBus::default()), gaps: broadcast::channel(16).0 }
    }

    /// Tells the subscribers that the bus missed `missed` events of `channel`.
    fn gap(&self, channel: Channel, missed: u64) {
        self.gaps.send(Delivery::Gap { channel, missed }).expect("a subscriber");
    }
}

#[async_trait]
impl EventBus for GapBus {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn publish(&self, event: Publish) -> BusResult<Arc<Event>> {
        self.inner.publish(event).await
    }

    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription> {
        let gaps = futures::stream::unfold(self.gaps.subscribe(), move |mut rx| async move {
            loop {
                match rx.recv().await.ok()? {
                    Delivery::Gap { channel: c, .. } if channel.is_some_and(|f| f != c) => continue,
                    gap => return Some((gap, rx)),
                }
            }
        });
        Ok(futures::stream::select(self.inner.subscribe(channel).await?, gaps).boxed())
    }

    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>> {
        self.inner.history(channel, limit, before).await
    }

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page> {
        self.inner.after(channel, after, limit).await
    }

    async fn ping(&self) -> BusResult<()> {
        self.inner.ping().await
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        self.inner.published_counts()
    }

    fn trim_state(&self) -> bus::TrimState {
        self.inner.trim_state()
    }
}

/// Before, the follower reloaded the engine for a gap of any channel, simulation's and
/// metrics' included, whose events it never applies. Here a user the engine can only learn
/// of by a reload (its event taken out of the outbox) is not learnt after a gap of
/// `simulation`, and is after a gap of `bookings`.
async fn the_follower_reloads_the_engine_for_a_gap_of_a_channel_it_applies_and_no_other(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let store = store::connect(&db.url).await.expect("connect the test database");
    let gaps = Arc::new(GapBus::new());
    let app = App::with_bus(store, gaps.clone(), AppSettings::default());
    app.reload_engine().await.expect("build the engine from the store");
    let follower = app::reco::spawn_follower(app.clone());
    followed(&app, "probe").await;

    let hidden = app.create_user(user("hidden")).await.unwrap();
    assert_eq!(db.execute("DELETE FROM outbox WHERE published_at IS NULL").await.unwrap(), 1, "its event");

    gaps.gap(Channel::Simulation, 15);
    followed(&app, "after_simulation").await;
    // A reload would have read the store by now (it takes milliseconds here).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app.engine().has_user(hidden.id), "no reload for a gap of simulation");

    gaps.gap(Channel::Bookings, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.engine().has_user(hidden.id) {
        assert!(tokio::time::Instant::now() < deadline, "never reloaded for a gap of bookings");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    follower.abort();
}
