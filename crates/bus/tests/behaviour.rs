//! The same behaviour from every bus backend: in-memory always, Redis Streams when
//! `TEST_REDIS_URL` is set (each test under its own key prefix, deleted at the end).

use std::time::Duration;

use bus::{Delivery, DynBus, EventBus, EventId, MemoryBus, Publish, RedisBus};
use chrono::Utc;
use domain::Channel;
use futures::StreamExt;

/// Every backend available here, each fresh, with a clean-up handle for Redis.
async fn backends() -> Vec<(DynBus, Option<std::sync::Arc<RedisBus>>)> {
    let mut out: Vec<(DynBus, Option<std::sync::Arc<RedisBus>>)> = vec![(std::sync::Arc::new(MemoryBus::new(1000)), None)];
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
        let r = std::sync::Arc::new(RedisBus::connect(&url, &prefix, 1000).await.expect("redis reachable at TEST_REDIS_URL"));
        out.push((r.clone(), Some(r)));
    }
    out
}

async fn cleanup(r: Option<std::sync::Arc<RedisBus>>) {
    if let Some(r) = r {
        r.delete_all().await.expect("streams deleted");
    }
}

fn event(channel: Channel, n: u64) -> Publish {
    Publish {
        channel,
        event_type: "test.event".into(),
        data: serde_json::json!({ "n": n }),
        timestamp: Utc::now(),
        source_id: Some(uuid::Uuid::now_v7()),
    }
}

async fn next_event(sub: &mut bus::Subscription) -> domain::Event {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("an event within 5 s").expect("open stream") {
            Delivery::Event(e) => return e,
            Delivery::Lagged { .. } => continue,
        }
    }
}

#[tokio::test]
async fn events_on_a_channel_arrive_in_order_with_increasing_ids() {
    for (bus, r) in backends().await {
        let mut sub = bus.subscribe(Some(Channel::Bookings)).await.expect("subscribed");
        let mut ids = Vec::new();
        for n in 0..20 {
            ids.push(bus.publish(event(Channel::Bookings, n)).await.expect("published").id);
        }
        for (n, id) in ids.iter().enumerate() {
            let e = next_event(&mut sub).await;
            assert_eq!(e.data["n"], n as u64, "{}", bus.backend());
            assert_eq!(&e.id, id);
        }
        let parsed: Vec<EventId> = ids.iter().map(|i| i.parse().expect("an event id")).collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]), "{}: ids increase", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test]
async fn history_gives_the_newest_events_oldest_first_and_pages_backwards() {
    for (bus, r) in backends().await {
        for n in 0..10 {
            bus.publish(event(Channel::Social, n)).await.expect("published");
        }
        bus.publish(event(Channel::System, 99)).await.expect("published");
        let last3 = bus.history(Channel::Social, 3, None).await.expect("history");
        let ns: Vec<u64> = last3.iter().map(|e| e.data["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![7, 8, 9], "{}", bus.backend());
        let before: EventId = last3[0].id.parse().expect("id");
        let prev = bus.history(Channel::Social, 3, Some(before)).await.expect("history");
        let ns: Vec<u64> = prev.iter().map(|e| e.data["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![4, 5, 6], "{}", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test]
async fn a_client_that_reconnects_gets_every_event_it_missed() {
    for (bus, r) in backends().await {
        let mut sub = bus.subscribe(Some(Channel::UserActions)).await.expect("subscribed");
        for n in 0..3 {
            bus.publish(event(Channel::UserActions, n)).await.expect("published");
        }
        let mut last = String::new();
        for _ in 0..3 {
            last = next_event(&mut sub).await.id;
        }
        drop(sub); // the client goes away...
        for n in 3..8 {
            bus.publish(event(Channel::UserActions, n)).await.expect("published");
        }
        // ...and comes back with Last-Event-ID = last.
        let missed = bus.after(Channel::UserActions, last.parse().expect("id"), 100).await.expect("after");
        let ns: Vec<u64> = missed.iter().map(|e| e.data["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![3, 4, 5, 6, 7], "{}", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_slows_neither_the_publisher_nor_a_fast_subscriber() {
    for (bus, r) in backends().await {
        let mut slow = bus.subscribe(Some(Channel::Metrics)).await.expect("subscribed");
        let mut fast = bus.subscribe(Some(Channel::Metrics)).await.expect("subscribed");
        let total = 6_000u64; // more than the live buffer holds
        let reader = tokio::spawn(async move {
            let mut seen = 0u64;
            while seen < total {
                match tokio::time::timeout(Duration::from_secs(10), fast.next()).await {
                    Ok(Some(Delivery::Event(_))) => seen += 1,
                    Ok(Some(Delivery::Lagged { missed })) => panic!("the fast subscriber lagged by {missed}"),
                    _ => break,
                }
            }
            seen
        });
        let started = std::time::Instant::now();
        for n in 0..total {
            bus.publish(event(Channel::Metrics, n)).await.expect("published");
            if n % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let publish_time = started.elapsed();
        assert_eq!(reader.await.expect("reader finished"), total, "{}", bus.backend());
        assert!(publish_time < Duration::from_secs(20), "{}: publishing took {publish_time:?}", bus.backend());
        // The slow one is told it lagged instead of blocking anyone.
        let first = tokio::time::timeout(Duration::from_secs(5), slow.next()).await.expect("a delivery").expect("open");
        assert!(matches!(first, Delivery::Lagged { .. }), "{}: {first:?}", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test]
async fn subscribing_to_all_channels_sees_every_channel() {
    for (bus, r) in backends().await {
        let mut all = bus.subscribe(None).await.expect("subscribed");
        bus.publish(event(Channel::Bookings, 1)).await.expect("published");
        bus.publish(event(Channel::Social, 2)).await.expect("published");
        let a = next_event(&mut all).await;
        let b = next_event(&mut all).await;
        let mut got = vec![a.channel, b.channel];
        got.sort();
        assert_eq!(got, vec![Channel::Bookings, Channel::Social], "{}", bus.backend());
        cleanup(r).await;
    }
}
