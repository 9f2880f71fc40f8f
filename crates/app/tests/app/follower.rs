//! The engine follower and the bus's own gaps: it reloads the engine for a gap of a channel it
//! applies events of, and for no other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::reco::EngineReloads;
use app::{App, AppSettings};
use async_trait::async_trait;
use bus::{BusResult, Delivery, DynBus, Subscription};
use domain::Channel;
use futures::StreamExt;
use testdb::{Backend, TestDatabase};
use tokio::sync::broadcast;

use crate::relay::followed;
use crate::{Tap, TestBus, user};

crate::on_every_backend!(the_follower_reloads_the_engine_for_a_gap_of_a_channel_it_applies_and_no_other);

/// A tap whose subscriptions also carry the gaps the test sends, as the Redis bus announces
/// those of its reader, and count those they handed on.
struct Gaps {
    gaps: broadcast::Sender<Delivery>,
    delivered: Arc<AtomicU64>,
}

impl Gaps {
    fn new() -> Self {
        Self { gaps: broadcast::channel(16).0, delivered: Arc::new(AtomicU64::new(0)) }
    }

    /// Waits until subscribers have been handed `n` gaps in all.
    async fn delivered(&self, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.delivered.load(Ordering::SeqCst) < n {
            assert!(tokio::time::Instant::now() < deadline, "gap {n} never delivered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Tells the subscribers that the bus missed `missed` events of `channel`.
    fn gap(&self, channel: Channel, missed: u64) {
        self.gaps.send(Delivery::Gap { channel, missed }).expect("a subscriber");
    }
}

#[async_trait]
impl Tap for Gaps {
    async fn subscribe(&self, inner: &DynBus, channel: Option<Channel>) -> BusResult<Subscription> {
        let delivered = self.delivered.clone();
        let gaps = futures::stream::unfold(self.gaps.subscribe(), move |mut rx| {
            let delivered = delivered.clone();
            async move {
                loop {
                    match rx.recv().await.ok()? {
                        Delivery::Gap { channel: c, .. } if channel.is_some_and(|f| f != c) => continue,
                        gap => {
                            delivered.fetch_add(1, Ordering::SeqCst);
                            return Some((gap, rx));
                        }
                    }
                }
            }
        });
        Ok(futures::stream::select(inner.subscribe(channel).await?, gaps).boxed())
    }
}

/// Before, the follower reloaded the engine for a gap of any channel, simulation's and
/// metrics' included, whose events it never applies. Here the follower asks for no reload for
/// a gap of `simulation`, counted once it has applied an event that came after the gap (so
/// however slow a reload would be), and for exactly one for a gap of `bookings`, which brings
/// in a user the engine can only learn of by a reload (its event taken out of the outbox).
async fn the_follower_reloads_the_engine_for_a_gap_of_a_channel_it_applies_and_no_other(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let store = store::connect(&db.url).await.expect("connect the test database");
    let gaps = Arc::new(TestBus::new(Gaps::new()));
    let app = App::with_bus(store, gaps.clone(), AppSettings::default());
    app.reload_engine().await.expect("build the engine from the store");
    let follower = app::reco::spawn_follower(app.clone());
    followed(&app, "probe").await;

    let hidden = app.create_user(user("hidden")).await.unwrap();
    assert_eq!(db.execute("DELETE FROM outbox WHERE published_at IS NULL").await.unwrap(), 1, "its event");

    let before = app.engine.reloads();

    // The follower takes a delivery whole (asking for any reload) before the next, and the probe
    // is published after the gap was handed to it.
    gaps.gap(Channel::Simulation, 15);
    gaps.delivered(1).await;
    followed(&app, "after_simulation").await;
    assert_eq!(app.engine.reloads(), before, "no reload for a gap of simulation");
    assert!(!app.engine().has_user(hidden.id));

    gaps.gap(Channel::Bookings, 1);
    gaps.delivered(2).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.engine.reloads().finished == before.finished {
        assert!(tokio::time::Instant::now() < deadline, "never reloaded for a gap of bookings");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    followed(&app, "after_bookings").await;
    let one_more =
        EngineReloads { asked: before.asked + 1, started: before.started + 1, finished: before.finished + 1, ..before };
    assert_eq!(app.engine.reloads(), one_more, "one reload for a gap of bookings");
    assert!(app.engine().has_user(hidden.id), "the reload read the store");
    follower.abort();
}
