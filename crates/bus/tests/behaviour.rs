//! The same behaviour from every bus backend: in-memory always, Redis Streams when
//! `TEST_REDIS_URL` is set (each test under its own key prefix, deleted at the end).

use std::sync::Arc;
use std::time::Duration;

use bus::{Cursor, Delivery, DynBus, EventId, Feed, FeedItem, MemoryBus, Publish, RedisBus};
use chrono::Utc;
use domain::Channel;
use futures::StreamExt;

/// Every backend available here, each fresh, with a clean-up handle for Redis.
async fn backends() -> Vec<(DynBus, Option<std::sync::Arc<RedisBus>>)> {
    backends_keeping(1000).await
}

/// Every backend, each keeping about `history` events per channel.
async fn backends_keeping(history: usize) -> Vec<(DynBus, Option<std::sync::Arc<RedisBus>>)> {
    let mut out: Vec<(DynBus, Option<std::sync::Arc<RedisBus>>)> =
        vec![(std::sync::Arc::new(MemoryBus::new(history)), None)];
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
        let r = std::sync::Arc::new(
            RedisBus::connect(&url, &prefix, history).await.expect("redis reachable at TEST_REDIS_URL"),
        );
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
        data: domain::Payload::of(&serde_json::json!({ "n": n })).expect("JSON"),
        timestamp: Utc::now(),
        source_id: Some(uuid::Uuid::now_v7()),
    }
}

async fn next_event(sub: &mut bus::Subscription) -> domain::Event {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("an event within 5 s")
            .expect("open stream")
        {
            Delivery::Event(e) => return Arc::unwrap_or_clone(e),
            Delivery::Lagged { .. } | Delivery::Gap { .. } => continue,
        }
    }
}

#[tokio::test]
async fn events_on_a_channel_arrive_in_order_with_increasing_ids() {
    for (bus, r) in backends().await {
        let mut sub = bus.subscribe(Some(Channel::Bookings)).await.expect("subscribed");
        let mut ids = Vec::new();
        for n in 0..20 {
            ids.push(bus.publish(event(Channel::Bookings, n)).await.expect("published").id.clone());
        }
        for (n, id) in ids.iter().enumerate() {
            let e = next_event(&mut sub).await;
            assert_eq!(e.data.to_value()["n"], n as u64, "{}", bus.backend());
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
        let ns: Vec<u64> = last3.iter().map(|e| e.data.to_value()["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![7, 8, 9], "{}", bus.backend());
        let before: EventId = last3[0].id.parse().expect("id");
        let prev = bus.history(Channel::Social, 3, Some(before)).await.expect("history");
        let ns: Vec<u64> = prev.iter().map(|e| e.data.to_value()["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![4, 5, 6], "{}", bus.backend());
        cleanup(r).await;
    }
}

/// Nothing lies before the first possible id: history before `0-0` is empty, not an error
/// (Redis refuses the exclusive range `(0-0`, which the API turned into a 503).
#[tokio::test]
async fn history_before_the_zero_id_is_empty() {
    for (bus, r) in backends().await {
        bus.publish(event(Channel::Social, 1)).await.expect("published");
        let none = bus.history(Channel::Social, 10, Some(EventId::ZERO)).await;
        assert!(matches!(&none, Ok(v) if v.is_empty()), "{}: {none:?}", bus.backend());
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
        let ns: Vec<u64> = missed.events.iter().map(|e| e.data.to_value()["n"].as_u64().expect("n")).collect();
        assert_eq!(ns, vec![3, 4, 5, 6, 7], "{}", bus.backend());
        assert_eq!(missed.trimmed, 0, "{}: nothing trimmed", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_slows_neither_the_publisher_nor_a_fast_subscriber() {
    for (bus, r) in backends().await {
        let mut slow = bus.subscribe(Some(Channel::Metrics)).await.expect("subscribed");
        let mut fast = bus.subscribe(Some(Channel::Metrics)).await.expect("subscribed");
        let total = 6_000u64; // more than the live buffer holds
        // How far the fast reader has got: the publisher keeps within half the live buffer of
        // it, so a reader thread the OS leaves unscheduled for a while (many tests share two
        // cores) is not taken for a reader held back by the slow one, which never reads.
        let progress = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reader = tokio::spawn({
            let progress = progress.clone();
            async move {
                let mut seen = 0u64;
                while seen < total {
                    match tokio::time::timeout(Duration::from_secs(10), fast.next()).await {
                        Ok(Some(Delivery::Event(_))) => seen += 1,
                        Ok(Some(Delivery::Lagged { missed })) => panic!("the fast subscriber lagged by {missed}"),
                        _ => break,
                    }
                    progress.store(seen, std::sync::atomic::Ordering::Relaxed);
                }
                seen
            }
        });
        let started = std::time::Instant::now();
        for n in 0..total {
            bus.publish(event(Channel::Metrics, n)).await.expect("published");
            if n % 100 == 0 {
                let waited = std::time::Instant::now();
                while n.saturating_sub(progress.load(std::sync::atomic::Ordering::Relaxed)) > 2_000
                    && waited.elapsed() < Duration::from_secs(10)
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
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

async fn next_item(feed: &mut Feed) -> FeedItem {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("a feed item within 10 s")
        .expect("open feed")
}

fn n_of(item: &FeedItem) -> u64 {
    match item {
        FeedItem::Event(e) => e.data.to_value()["n"].as_u64().expect("n"),
        FeedItem::Lagged { missed } => panic!("unexpected lag of {missed}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_feed_replays_the_backlog_then_goes_live_without_gap_or_duplicate() {
    for (bus, r) in backends().await {
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(bus.publish(event(Channel::Social, n)).await.expect("published").id.clone());
        }
        let resume = Cursor::parse(&ids[3], &[Channel::Social]).expect("cursor");
        // Publishing while the feed opens and catches up: each event must come exactly once.
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move {
                for n in 10..60 {
                    bus.publish(event(Channel::Social, n)).await.expect("published");
                }
            })
        };
        let mut feed = Feed::open(bus.clone(), vec![Channel::Social], Some(&resume)).await.expect("feed");
        let mut got = Vec::new();
        while got.len() < 56 {
            got.push(n_of(&next_item(&mut feed).await));
        }
        publisher.await.expect("publisher");
        assert_eq!(got, (4..60).collect::<Vec<_>>(), "{}", bus.backend());
        let last: EventId = feed.cursor().get(Channel::Social).expect("position");
        let newest = bus.history(Channel::Social, 1, None).await.expect("history");
        assert_eq!(last.to_string(), newest[0].id, "{}", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_over_several_channels_resumes_each_from_its_own_position() {
    for (bus, r) in backends().await {
        let a = bus.publish(event(Channel::Bookings, 0)).await.expect("published");
        let b = bus.publish(event(Channel::System, 100)).await.expect("published");
        bus.publish(event(Channel::Bookings, 1)).await.expect("published");
        bus.publish(event(Channel::System, 101)).await.expect("published");
        bus.publish(event(Channel::Social, 999)).await.expect("published");
        let channels = vec![Channel::Bookings, Channel::System];
        let resume = Cursor::parse(&format!("bookings:{},system:{}", a.id, b.id), &channels).expect("cursor");
        let mut feed = Feed::open(bus.clone(), channels, Some(&resume)).await.expect("feed");
        let mut got = vec![n_of(&next_item(&mut feed).await), n_of(&next_item(&mut feed).await)];
        got.sort();
        assert_eq!(got, vec![1, 101], "{}", bus.backend());
        bus.publish(event(Channel::Social, 998)).await.expect("published");
        bus.publish(event(Channel::System, 102)).await.expect("published");
        assert_eq!(n_of(&next_item(&mut feed).await), 102, "{}: other channels are filtered out", bus.backend());
        assert!(feed.cursor().to_string().starts_with("bookings:"), "{}", feed.cursor());
        cleanup(r).await;
    }
}

/// The user-actions and recommendations channels, and a cursor at an event just published on
/// each (numbered 0).
async fn actions_and_answers_from_now(bus: &DynBus) -> (Vec<Channel>, Cursor) {
    let channels = vec![Channel::UserActions, Channel::Recommendations];
    let mut start = Vec::new();
    for &c in &channels {
        start.push(format!("{}:{}", c.as_str(), bus.publish(event(c, 0)).await.expect("published").id));
    }
    let resume = Cursor::parse(&start.join(","), &channels).expect("cursor");
    (channels, resume)
}

/// A backlog over two channels comes in time order across them, page after page, as it was
/// published: not one channel's whole backlog before the other's (a conversion watcher catching
/// up read every action before the answers that came first). Each channel numbers its own
/// events within a millisecond, so events of one millisecond may come in either channel's
/// order; the publishing spans at least 22 ms, so reading channel by channel would go back in
/// time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_over_several_channels_comes_in_time_order_across_them() {
    for (bus, r) in backends_keeping(5_000).await {
        let (channels, resume) = actions_and_answers_from_now(&bus).await;
        // 1,200 more, alternating, a few runs of one channel among them: several pages of each.
        let mut published = Vec::new();
        for n in 1..=1_200u64 {
            let c = if n % 2 == 0 || n % 7 == 0 { Channel::UserActions } else { Channel::Recommendations };
            published.push(bus.publish(event(c, n)).await.expect("published").id.parse::<EventId>().expect("id"));
            if n % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let mut feed = Feed::open(bus.clone(), channels, Some(&resume)).await.expect("feed");
        let mut got = Vec::new();
        while got.len() < published.len() {
            let FeedItem::Event(e) = next_item(&mut feed).await else { panic!("no lag expected") };
            got.push((e.data.to_value()["n"].as_u64().expect("n"), e.id.parse::<EventId>().expect("id")));
        }
        let mut sorted = got.iter().map(|g| g.0).collect::<Vec<_>>();
        sorted.sort_unstable();
        assert!(sorted.iter().copied().eq(1..=1_200), "{}: every event once", bus.backend());
        assert!(got.windows(2).all(|w| w[0].1.millis <= w[1].1.millis), "{}: in time order", bus.backend());
        assert!(published.last().expect("ids").millis >= published[0].millis + 22, "{}", bus.backend());
        cleanup(r).await;
    }
}

/// While a feed catches up on a long backlog of one channel, an event published on another
/// channel (whose history was read out) comes before one published after it on the first:
/// the read-out channel is read again whenever a new page comes in. (Before, it waited for
/// live delivery, after the whole backlog.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_during_a_catch_up_on_a_quiet_channel_keeps_its_place() {
    for (bus, r) in backends_keeping(5_000).await {
        let (channels, resume) = actions_and_answers_from_now(&bus).await;
        for n in 1..=1_000u64 {
            bus.publish(event(Channel::UserActions, n)).await.expect("published");
        }
        let mut feed = Feed::open(bus.clone(), channels, Some(&resume)).await.expect("feed");
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(n_of(&next_item(&mut feed).await));
        }
        // An answer, then the action it led to, each a few milliseconds after the last.
        tokio::time::sleep(Duration::from_millis(3)).await;
        bus.publish(event(Channel::Recommendations, 5_000)).await.expect("published");
        tokio::time::sleep(Duration::from_millis(3)).await;
        bus.publish(event(Channel::UserActions, 5_001)).await.expect("published");
        while got.len() < 1_002 {
            got.push(n_of(&next_item(&mut feed).await));
        }
        let want: Vec<u64> = (1..=1_000).chain([5_000, 5_001]).collect();
        assert_eq!(got, want, "{}: the backlog, then the answer, then the action", bus.backend());
        cleanup(r).await;
    }
}

/// The first items of a feed resumed from `resume`: a lag notice's count as `-missed`, an
/// event's number as itself.
async fn first_items(bus: &DynBus, resume: &str, n: usize) -> Vec<i64> {
    let resume = Cursor::parse(resume, &[Channel::Social]).expect("cursor");
    let mut feed = Feed::open(bus.clone(), vec![Channel::Social], Some(&resume)).await.expect("feed");
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(match next_item(&mut feed).await {
            FeedItem::Lagged { missed } => -(missed as i64),
            item => n_of(&item) as i64,
        });
    }
    got
}

/// A history of 10 events after 25 were published (0 to 14 trimmed): a reader resuming from
/// before it is told it missed events, then gets the oldest kept (15), instead of silently
/// skipping to it. From the very start, the count is exact (15); from a trimmed event
/// mid-way, the bus knows only that some followed it (1: at least one); from the last event
/// trimmed, or one kept, nothing was missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_resuming_from_before_the_kept_history_is_told_what_it_missed() {
    for (bus, r) in backends_keeping(10).await {
        let mut ids = Vec::new();
        for n in 0..25 {
            ids.push(bus.publish(event(Channel::Social, n)).await.expect("published").id.clone());
        }
        let kept = bus.history(Channel::Social, 100, None).await.expect("history");
        assert_eq!(kept.len(), 10, "{}: the history holds 10", bus.backend());
        let backend = bus.backend();
        assert_eq!(first_items(&bus, "0-0", 3).await, vec![-15, 15, 16], "{backend}: from the start");
        assert_eq!(first_items(&bus, &ids[4], 3).await, vec![-1, 15, 16], "{backend}: from a trimmed event");
        assert_eq!(first_items(&bus, &ids[14], 2).await, vec![15, 16], "{backend}: from the last trimmed");
        assert_eq!(first_items(&bus, &ids[16], 2).await, vec![17, 18], "{backend}: from a kept event");
        let page = bus.after(Channel::Social, ids[4].parse().expect("id"), 3).await.expect("after");
        assert_eq!((page.trimmed, page.events.len()), (1, 3), "{backend}");
        cleanup(r).await;
    }
}

/// A reader catching up page by page while publishing trims the history past it is told of
/// the gap when it reaches it, and every event it is handed is one published, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_overtaken_by_trimming_announces_the_gap() {
    for (bus, r) in backends_keeping(300).await {
        let first = bus.publish(event(Channel::Social, 0)).await.expect("published");
        for n in 1..300 {
            bus.publish(event(Channel::Social, n)).await.expect("published");
        }
        let resume = Cursor::parse(&first.id, &[Channel::Social]).expect("cursor");
        let mut feed = Feed::open(bus.clone(), vec![Channel::Social], Some(&resume)).await.expect("feed");
        // The first page (100 or more events) is read ahead; then 1,000 more push it all out.
        assert_eq!(n_of(&next_item(&mut feed).await), 1, "{}", bus.backend());
        for n in 300..1_300 {
            bus.publish(event(Channel::Social, n)).await.expect("published");
        }
        let (mut got, mut missed) = (vec![1u64], 0u64);
        while got.last() != Some(&1_299) {
            match next_item(&mut feed).await {
                FeedItem::Lagged { missed: m } => missed += m,
                item => got.push(n_of(&item)),
            }
        }
        assert!(missed >= 1, "{}: the gap was announced", bus.backend());
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{}: in order", bus.backend());
        assert!(got.iter().rev().take(300).copied().eq((1_000..1_300).rev()), "{}: the kept history", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_past_the_newest_event_resumes_from_now_instead_of_waiting_for_it() {
    for (bus, r) in backends().await {
        let seen = bus.publish(event(Channel::Social, 0)).await.expect("published");
        // A cursor years ahead of this bus's clock, as one kept from another bus would be.
        let ahead = Cursor::parse("social:4102444800000-0", &[Channel::Social]).expect("cursor");
        let mut feed = Feed::open(bus.clone(), vec![Channel::Social], Some(&ahead)).await.expect("feed");
        assert_eq!(feed.cursor().get(Channel::Social).expect("position").to_string(), seen.id, "{}", bus.backend());
        bus.publish(event(Channel::Social, 1)).await.expect("published");
        assert_eq!(n_of(&next_item(&mut feed).await), 1, "{}: the next event arrives", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_lags_says_so_and_recovers_every_event_from_history() {
    for (bus, r) in backends_keeping(10_000).await {
        let mut feed = Feed::open(bus.clone(), vec![Channel::Metrics], None).await.expect("feed");
        let total = 6_000u64; // more than the live buffer holds, while nobody reads the feed
        for n in 0..total {
            bus.publish(event(Channel::Metrics, n)).await.expect("published");
        }
        let first = next_item(&mut feed).await;
        assert!(matches!(first, FeedItem::Lagged { .. }), "{}: {first:?}", bus.backend());
        let mut got = Vec::with_capacity(total as usize);
        while (got.len() as u64) < total {
            got.push(n_of(&next_item(&mut feed).await));
        }
        assert!(got.iter().copied().eq(0..total), "{}: every event once, in order", bus.backend());
        bus.publish(event(Channel::Metrics, total)).await.expect("published");
        assert_eq!(n_of(&next_item(&mut feed).await), total, "{}: then live again", bus.backend());
        cleanup(r).await;
    }
}

#[tokio::test]
async fn a_batch_is_published_in_order_with_increasing_ids() {
    for (bus, r) in backends().await {
        let mut sub = bus.subscribe(Some(Channel::Bookings)).await.expect("subscribed");
        let (none, failure) = bus.publish_many(Vec::new()).await;
        assert!(none.is_empty() && failure.is_none(), "{}: an empty batch is fine: {failure:?}", bus.backend());
        let (done, failure) = bus.publish_many((0..50).map(|n| event(Channel::Bookings, n)).collect()).await;
        assert!(failure.is_none(), "{}: {failure:?}", bus.backend());
        let ids: Vec<EventId> = done.iter().map(|e| e.id.parse().expect("an event id")).collect();
        assert!(ids.len() == 50 && ids.windows(2).all(|w| w[0] < w[1]), "{}: ids increase", bus.backend());
        for n in 0..50u64 {
            let e = next_event(&mut sub).await;
            assert_eq!((e.data.to_value()["n"].as_u64(), &e.id), (Some(n), &done[n as usize].id), "{}", bus.backend());
        }
        cleanup(r).await;
    }
}

/// A bus that publishes one event on `channel` right after each subscription it hands out is
/// taken (before the subscriber can read anything else of the bus): the race of an event
/// published while a feed opens, made certain.
struct PublishesOnSubscribe {
    inner: DynBus,
    channel: Channel,
    n: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl bus::EventBus for PublishesOnSubscribe {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn publish(&self, event: Publish) -> bus::BusResult<Arc<domain::Event>> {
        self.inner.publish(event).await
    }
    async fn subscribe(&self, channel: Option<Channel>) -> bus::BusResult<bus::Subscription> {
        let sub = self.inner.subscribe(channel).await?;
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.publish(event(self.channel, n)).await?;
        Ok(sub)
    }
    async fn history(
        &self,
        channel: Channel,
        limit: usize,
        before: Option<EventId>,
    ) -> bus::BusResult<Vec<domain::Event>> {
        self.inner.history(channel, limit, before).await
    }
    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> bus::BusResult<bus::Page> {
        self.inner.after(channel, after, limit).await
    }
    async fn ping(&self) -> bus::BusResult<()> {
        self.inner.ping().await
    }
    fn published_counts(&self) -> Vec<(Channel, u64)> {
        self.inner.published_counts()
    }
    fn trim_state(&self) -> bus::TrimState {
        self.inner.trim_state()
    }
}

/// The numbers of a feed's events up to the one numbered 1,000.
async fn up_to_1000(feed: &mut Feed) -> Vec<u64> {
    let mut got = Vec::new();
    while got.last() != Some(&1_000) {
        got.push(n_of(&next_item(feed).await));
    }
    got
}

/// A feed opened without a position starts from a point taken before it subscribes: an event
/// published while it opens (here, right after its subscription, before it could have read the
/// channel's newest id) is handed out once, not taken for one already seen and dropped (a reader
/// connected before the event was published never got it, and its cursor was past it). The
/// same for each channel of a feed over several, and for one resuming from a position on one
/// channel but not the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_while_a_feed_opens_is_handed_out_once() {
    for (inner, r) in backends().await {
        let backend = inner.backend();
        inner.publish(event(Channel::Social, 100)).await.expect("published");
        for (channels, racing) in [
            (vec![Channel::Social], Channel::Social),
            (vec![Channel::Bookings, Channel::Social], Channel::Bookings),
            (vec![Channel::Bookings, Channel::Social], Channel::Social),
        ] {
            let bus: DynBus = Arc::new(PublishesOnSubscribe {
                inner: inner.clone(),
                channel: racing,
                n: std::sync::atomic::AtomicU64::new(0),
            });
            let mut feed = Feed::open(bus.clone(), channels.clone(), None).await.expect("feed");
            bus.publish(event(racing, 1_000)).await.expect("published");
            let got = up_to_1000(&mut feed).await;
            assert_eq!(got, [0, 1_000], "{backend} {channels:?}: the racing event, then the next");
            let newest = bus.history(racing, 1, None).await.expect("history");
            assert_eq!(feed.cursor().get(racing).map(|c| c.to_string()), Some(newest[0].id.clone()), "{backend}");
        }
        // Resuming on one channel, starting from now on the other.
        let seen = inner.publish(event(Channel::System, 200)).await.expect("published");
        let channels = vec![Channel::System, Channel::Social];
        let resume = Cursor::parse(&format!("system:{}", seen.id), &channels).expect("cursor");
        let bus: DynBus = Arc::new(PublishesOnSubscribe {
            inner: inner.clone(),
            channel: Channel::Social,
            n: std::sync::atomic::AtomicU64::new(0),
        });
        let mut feed = Feed::open(bus.clone(), channels, Some(&resume)).await.expect("feed");
        bus.publish(event(Channel::Social, 1_000)).await.expect("published");
        let got = up_to_1000(&mut feed).await;
        assert_eq!(got, [0, 1_000], "{backend}: resumed on another channel");
        cleanup(r).await;
    }
}
