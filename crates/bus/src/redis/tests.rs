//! The Redis bus's tests against a real Redis (`TEST_REDIS_URL`; each test skips without it and
//! works under a key prefix of its own, deleted at the end): publishing, trimming and its
//! record, and the live reader's supervision and gap notices.

use super::*;

/// Before, a reader that had stopped (by a panic) left PING answering: `/health` said the bus
/// was fine while this process's subscribers got nothing.
#[tokio::test]
async fn ping_fails_once_the_live_reader_has_stopped() {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else { return };
    let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let bus = RedisBus::connect(&url, &prefix, 10).await.expect("redis reachable at TEST_REDIS_URL");
    assert!(bus.ping().await.is_ok());
    bus.reading.abort();
    while !bus.reading.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(bus.ping().await, Err(BusError::Unavailable(_))));
    bus.delete_all().await.expect("streams deleted");
}

/// A Redis user that may run every command but some (`without`, an ACL rule such as
/// `-@scripting`); deleted when dropped.
struct Restricted {
    admin: redis::Client,
    name: String,
    /// `TEST_REDIS_URL` as this user (with a password: redis-rs sends no AUTH without one).
    url: String,
}

impl Restricted {
    fn create(url: &str, without: &str) -> Self {
        let admin = redis::Client::open(url).unwrap();
        let name = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
        let rules = ["on", ">secret", "~*", "&*", "+@all", without];
        let mut conn = admin.get_connection().expect("redis reachable at TEST_REDIS_URL");
        redis::cmd("ACL").arg("SETUSER").arg(&name).arg(&rules).query::<()>(&mut conn).expect("ACL SETUSER");
        let (scheme, rest) = url.split_once("://").expect("a redis URL");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        Self { url: format!("{scheme}://{name}:secret@{host}"), admin, name }
    }
}

impl Restricted {
    /// Gives the user `rule` (`+@scripting`); connections it has open get it at once.
    fn allow(&self, rule: &str) {
        let mut conn = self.admin.get_connection().expect("redis reachable at TEST_REDIS_URL");
        redis::cmd("ACL").arg("SETUSER").arg(&self.name).arg(rule).query::<()>(&mut conn).expect("ACL SETUSER");
    }
}

impl Drop for Restricted {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.admin.get_connection() {
            let _ = redis::cmd("ACL").arg("DELUSER").arg(&self.name).query::<u64>(&mut conn);
        }
    }
}

/// Before, a trim that failed after the appends (here its user may not run scripts) made
/// `publish_many` report nothing published and `publish` an error: the relay published the
/// same events again, every second for as long as trimming failed.
#[tokio::test]
async fn a_failed_trim_leaves_the_events_reported_published_once() {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else { return };
    let user = Restricted::create(&url, "-@scripting");
    let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let bus = RedisBus::connect(&user.url, &prefix, 2).await.expect("connected as the user without scripting");

    let (published, failure) = bus.publish_many((0..5).map(numbered).collect()).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(published.len(), 5, "every event reported published");
    bus.publish(numbered(5)).await.expect("a single publish too");
    assert_eq!(bus.trim_failures.load(Ordering::Relaxed), 2, "each failed trim counted");

    let kept = bus.history(Channel::Bookings, 100, None).await.unwrap();
    let ns: Vec<u64> = kept.iter().map(|e| e.data.to_value()["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, (0..=5).collect::<Vec<_>>(), "each in its stream once, none dropped untraced");
    let ids: Vec<&str> = published.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, kept[..5].iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), "under the ids reported");
    bus.delete_all().await.expect("streams deleted");
}

/// Before, a trim that kept failing was only logged and counted: nothing read it, so `/health`
/// said the bus was fine while its streams grew without bound. The bus's trim state reads
/// failing, with the error, after a failed trim, and clears once a trim succeeds again (here
/// once the user may run scripts); the failures stay counted.
#[tokio::test]
async fn the_trim_state_reads_failing_with_its_error_until_a_trim_succeeds_again() {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else { return };
    let user = Restricted::create(&url, "-@scripting");
    let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let bus = RedisBus::connect(&user.url, &prefix, 2).await.expect("connected as the user without scripting");
    assert_eq!(bus.trim_state(), TrimState::default(), "nothing failed yet");

    let (published, failure) = bus.publish_many((0..4).map(numbered).collect()).await;
    assert!(failure.is_none() && published.len() == 4, "published though its trim fails: {failure:?}");
    let failing = bus.trim_state();
    assert_eq!(failing.failures, 1);
    let error = failing.error.expect("the error while trims fail");
    assert!(error.starts_with("bookings: trim failed (NOPERM;"), "the code, not the whole error: {error}");
    assert!(!error.contains(&user.name), "the user's name stays in the log: {error}");
    bus.publish(numbered_on(Channel::Social, 0)).await.unwrap();
    assert_eq!(bus.trim_state().failures, 2);
    assert!(bus.trim_state().error.is_some_and(|e| e.starts_with("bookings: ")), "the first failing channel's");

    user.allow("+@scripting");
    bus.publish(numbered_on(Channel::Social, 1)).await.unwrap();
    let state = bus.trim_state();
    assert!(state.error.as_ref().is_some_and(|e| e.starts_with("bookings: ")), "still failing on bookings: {state:?}");
    assert_eq!(bus.history(Channel::Bookings, 100, None).await.unwrap().len(), 4, "grown past its length");
    bus.publish(numbered(4)).await.unwrap();
    assert_eq!(bus.trim_state(), TrimState { failures: 2, error: None }, "cleared, the failures still counted");
    assert_eq!(bus.history(Channel::Bookings, 100, None).await.unwrap().len(), 2, "trimmed by that trim");
    bus.delete_all().await.expect("streams deleted");
}

/// A channel's failed trim is shown for [`TRIM_FAILURE_SHOWN`] when nothing is published on it
/// since: before, a quiet channel (`system`) whose one trim failed kept the bus shown failing
/// until its next publish, days after trimming was mended. A channel failing within that time
/// is shown, the first in `Channel::ALL`'s order.
#[test]
fn a_failed_trim_is_shown_for_a_while_after_its_channel_last_published() {
    let now = std::time::Instant::now();
    let failed = |ago: Duration| Some(TrimFailure { detail: "whole".into(), code: "NOPERM".into(), at: now - ago });
    let mut errors = vec![None; Channel::ALL.len()];
    assert_eq!(shown_failure(&errors, now), None);
    errors[Channel::ALL.len() - 1] = failed(TRIM_FAILURE_SHOWN + Duration::from_secs(1));
    assert_eq!(shown_failure(&errors, now), None, "an old failure of a channel quiet since");
    errors[1] = failed(TRIM_FAILURE_SHOWN - Duration::from_secs(1));
    let shown = shown_failure(&errors, now).expect("a recent failure");
    assert_eq!(shown, format!("{}: trim failed (NOPERM; the server's log has the error)", Channel::ALL[1].as_str()));
}

/// Before, the reader's every run failed at naming its connection when Redis refused `CLIENT
/// SETNAME` (a user without `CLIENT`, a proxy), and was restarted forever: no subscriber of
/// the process got an event again. The name only serves observability and tests.
#[tokio::test]
async fn a_reader_that_may_not_name_its_connection_still_delivers() {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else { return };
    let user = Restricted::create(&url, "-client");
    let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let bus = RedisBus::connect(&user.url, &prefix, 10).await.expect("connected as the user without CLIENT");
    let mut sub = bus.subscribe(Some(Channel::Bookings)).await.unwrap();

    bus.publish(numbered(0)).await.unwrap();
    assert_eq!(next(&mut sub).await, Ok(0), "delivered live");
    assert_eq!(bus.reader.restarts.load(Ordering::SeqCst), 0, "by its first run");
    bus.delete_all().await.expect("streams deleted");
}

/// The trim record of `bus`'s `bookings` as (count, first, last), all absent before a trim.
async fn bookings_trimmed(bus: &RedisBus) -> (Option<u64>, Option<String>, Option<String>) {
    redis::cmd("HMGET")
        .arg(bus.trimmed_key(Channel::Bookings))
        .arg(&["count", "first", "last"])
        .query_async(&mut bus.conn.clone())
        .await
        .unwrap()
}

/// The trim records exactly what it dropped, oldest first, whether it drops one event, the
/// few past its slack or many at once: how many, the first id ever dropped and the last.
#[tokio::test]
async fn the_trim_record_names_exactly_what_trimming_dropped() {
    // (kept, publishes, how many trimmed after each): 10 kept without slack, 200 with 2.
    let cases = [
        (10, vec![(0..10, 0), (10..11, 1), (11..12, 2), (12..40, 30)]),
        (200, vec![(0..202, 0), (202..203, 3), (203..503, 303)]),
    ];
    for (keep, publishes) in cases {
        let Some((bus, _admin, _sub)) = bus_and_subscriber(keep).await else { return };
        let mut ids = Vec::new();
        for (range, count) in publishes {
            let (published, failure) = bus.publish_many(range.map(numbered).collect()).await;
            assert!(failure.is_none(), "{failure:?}");
            ids.extend(published.iter().map(|e| e.id.clone()));
            let want = match count {
                0 => (None, None, None),
                n => (Some(n as u64), Some(ids[0].clone()), Some(ids[n - 1].clone())),
            };
            assert_eq!(bookings_trimmed(&bus).await, want, "keeping {keep}, after {} published", ids.len());
        }
        let kept = bus.history(Channel::Bookings, 1_000, None).await.unwrap();
        let kept: Vec<&str> = kept.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(kept, ids[ids.len() - keep..].iter().map(String::as_str).collect::<Vec<_>>(), "the newest kept");
        bus.delete_all().await.expect("streams deleted");
    }
}

/// Before, the trim read every entry it dropped into Lua to learn two ids (a thousand at the
/// default length, more when the length was lowered): Redis, watched with `MONITOR`, shows
/// it now reads one entry at a time, twice, while it drops 303.
#[tokio::test]
async fn a_trim_reads_two_entries_whatever_it_drops() {
    use futures::StreamExt;
    let Some((bus, _admin, _sub)) = bus_and_subscriber(200).await else { return };
    let (_, failure) = bus.publish_many((0..202).map(numbered).collect()).await;
    assert!(failure.is_none(), "within the slack: no trim yet");
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    let monitor = redis::Client::open(url).unwrap().get_async_monitor().await.expect("MONITOR");
    let mut seen = monitor.into_on_message::<String>();

    let (_, failure) = bus.publish_many((202..503).map(numbered).collect()).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(bookings_trimmed(&bus).await.0, Some(303));
    let done = format!("{}:done", bus.prefix);
    redis::cmd("ECHO").arg(&done).query_async::<String>(&mut bus.conn.clone()).await.unwrap();
    let (key, mut reads) = (format!("\"{}\"", bus.key(Channel::Bookings)), Vec::new());
    loop {
        let line = tokio::time::timeout(Duration::from_secs(5), seen.next()).await.expect("monitored").unwrap();
        if line.contains(&done) {
            break;
        }
        if line.contains("lua]") && line.contains("\"XRANGE\"") && line.contains(&key) {
            reads.push(line);
        }
    }
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|r| r.ends_with("\"COUNT\" \"1\"")), "one entry each: {reads:?}");
    bus.delete_all().await.expect("streams deleted");
}

/// The id of the connection named `name` (`CLIENT LIST`), if one is open.
async fn client_id(admin: &mut redis::aio::MultiplexedConnection, name: &str) -> Option<u64> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(admin).await.expect("CLIENT LIST");
    let field = |line: &str, key: &str| line.split(' ').find_map(|f| f.strip_prefix(key)).map(str::to_string);
    let line = list.lines().find(|l| field(l, "name=").as_deref() == Some(name))?;
    field(line, "id=")?.parse().ok()
}

/// A bus keeping `maxlen` events per channel under a prefix of its own, a connection to
/// manage Redis with, and a live subscription to `bookings`; `None` without TEST_REDIS_URL.
async fn bus_and_subscriber(maxlen: usize) -> Option<(RedisBus, redis::aio::MultiplexedConnection, Subscription)> {
    let url = std::env::var("TEST_REDIS_URL").ok()?;
    let prefix = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let bus = RedisBus::connect(&url, &prefix, maxlen).await.expect("redis reachable at TEST_REDIS_URL");
    let admin = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let sub = bus.subscribe(Some(Channel::Bookings)).await.unwrap();
    Some((bus, admin, sub))
}

/// Event `n` on `bookings`.
fn numbered(n: u32) -> Publish {
    Publish {
        channel: Channel::Bookings,
        event_type: "test.numbered".into(),
        data: Payload::of(&serde_json::json!({ "n": n })).unwrap(),
        timestamp: chrono::Utc::now(),
        source_id: None,
    }
}

/// The next delivery: `Ok(n)` for event `n`, `Err(missed)` for a gap of `bookings`.
async fn next(sub: &mut Subscription) -> Result<u64, u64> {
    use futures::StreamExt;
    match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
        Ok(Some(crate::Delivery::Event(e))) => Ok(e.data.parse::<serde_json::Value>().unwrap()["n"].as_u64().unwrap()),
        Ok(Some(crate::Delivery::Gap { channel: Channel::Bookings, missed })) => Err(missed),
        other => panic!("expected a delivery, got {other:?}"),
    }
}

/// Event `n` on `channel`.
fn numbered_on(channel: Channel, n: u32) -> Publish {
    Publish { channel, ..numbered(n) }
}

/// Publishes `events` as the bus does, on a connection of its own and blocking this test's
/// runtime (one thread) meanwhile: the bus's reader cannot run until all are appended and
/// trimmed. Its `XREAD`, if waiting at Redis, is answered at the first append.
fn publish_while_the_reader_is_held(bus: &RedisBus, events: &[Publish]) {
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    let mut other = redis::Client::open(url).unwrap().get_connection().unwrap();
    let replies: Vec<redis::RedisResult<redis::Value>> = bus.publish_pipeline(events).query(&mut other).unwrap();
    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
}

/// Before, a running reader that fell behind while trimming took events after the last one
/// it read went on from there past the gap, and its subscribers never heard of it. Here its
/// runtime is held while 25 events go out (0 to 15 trimmed); its pending `XREAD` was
/// answered by an event on another channel, so its next read finds 16 onwards, after the
/// gap the trim record shows.
#[tokio::test]
async fn a_reader_that_falls_behind_announces_what_trimming_took_meanwhile() {
    gap_announced_after_a_held_read(numbered_on(Channel::Social, 0), 1).await;
}

/// After event 0 is read, the reader's pending `XREAD` is answered with `first` (published
/// while it is held), then events `from..=25` are published and trimmed to the last ten while
/// it is held again: the subscriber hears of at least one missed event, then events 16 to 25,
/// without a restart of the reader.
async fn gap_announced_after_a_held_read(first: Publish, from: u32) {
    let Some((bus, _admin, mut sub)) = bus_and_subscriber(10).await else { return };
    bus.publish(numbered(0)).await.unwrap();
    assert_eq!(next(&mut sub).await, Ok(0));
    tokio::time::sleep(Duration::from_millis(100)).await; // its next XREAD waits at Redis

    publish_while_the_reader_is_held(&bus, &[first]);
    publish_while_the_reader_is_held(&bus, &(from..=25).map(numbered).collect::<Vec<_>>());

    assert_eq!(next(&mut sub).await, Err(1), "at least one missed after the last event read");
    for n in 16..=25 {
        assert_eq!(next(&mut sub).await, Ok(n), "then the events kept");
    }
    assert_eq!(bus.reader.restarts.load(Ordering::SeqCst), 0, "without a restart");
    bus.delete_all().await.expect("streams deleted");
}

/// The reader's pending `XREAD` is answered with event 1, which trimming takes before the
/// reader sees the record: the record cannot say whether events went before 1, so the read is
/// done again with the records in one transaction (event 1 is gone by then, and is part of
/// the gap announced, not delivered after it).
#[tokio::test]
async fn a_read_that_trimming_overtook_is_read_again_and_its_gap_announced() {
    gap_announced_after_a_held_read(numbered(1), 2).await;
}

/// Kills the bus reader's connection; its id.
async fn kill_reader(admin: &mut redis::aio::MultiplexedConnection, bus: &RedisBus) -> u64 {
    let id = client_id(admin, &bus.reader.name).await.expect("the reader's connection is named");
    let killed: u64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(admin).await.unwrap();
    assert_eq!(killed, 1);
    id
}

/// Before, nothing watched the reader: `ping` said the bus was fine while it was down, and a
/// reader that stopped stayed stopped. Its connection killed, the reader is reported down,
/// restarted on a new connection, and delivers what was published meanwhile, then after.
#[tokio::test]
async fn a_reader_whose_connection_is_killed_is_restarted_and_its_subscribers_miss_nothing() {
    let Some((bus, mut admin, mut sub)) = bus_and_subscriber(1_000).await else { return };
    bus.publish(numbered(0)).await.unwrap();
    assert_eq!(next(&mut sub).await, Ok(0));

    let first = kill_reader(&mut admin, &bus).await;
    // Published while the reader is down or restarting.
    for n in 1..=5 {
        bus.publish(numbered(n)).await.unwrap();
    }
    let (mut down, deadline) = (false, tokio::time::Instant::now() + Duration::from_secs(10));
    loop {
        match bus.ping().await {
            Err(BusError::Unavailable(_)) => down = true,
            Ok(()) if down => break,
            _ => assert!(tokio::time::Instant::now() < deadline, "the reader was never reported down, then up"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(bus.reader.restarts.load(Ordering::SeqCst), 1, "its failure counted");
    let second = client_id(&mut admin, &bus.reader.name).await.expect("the restarted reader is connected");
    assert_ne!(first, second, "on a new connection");

    for n in 1..=5 {
        assert_eq!(next(&mut sub).await, Ok(n), "nothing published while it was down is lost");
    }
    bus.publish(numbered(6)).await.unwrap();
    assert_eq!(next(&mut sub).await, Ok(6), "and it reads on");
    bus.delete_all().await.expect("streams deleted");
}

/// Trimming took events the reader had not read while it was down: its subscribers are told
/// of the gap (so a Feed reads back what history holds and says what it missed), then get the
/// events kept.
#[tokio::test]
async fn a_restarted_reader_announces_what_trimming_took_while_it_was_down() {
    let Some((bus, mut admin, mut sub)) = bus_and_subscriber(10).await else { return };
    bus.publish(numbered(0)).await.unwrap();
    assert_eq!(next(&mut sub).await, Ok(0));

    kill_reader(&mut admin, &bus).await;
    // In one round trip, well within the restart's backoff: 26 events, of which 0 to 15 go.
    let (published, failure) = bus.publish_many((1..=25).map(numbered).collect()).await;
    assert!(failure.is_none() && published.len() == 25, "{failure:?}");

    assert_eq!(next(&mut sub).await, Err(1), "at least one missed after the last event read");
    for n in 16..=25 {
        assert_eq!(next(&mut sub).await, Ok(n), "then the events kept");
    }
    let page = bus.after(Channel::Bookings, published[0].id.parse().unwrap(), 100).await.unwrap();
    assert_eq!((page.trimmed, page.events.len()), (1, 10), "history tells a resuming reader the same");
    bus.delete_all().await.expect("streams deleted");
}

/// The next item of `feed`: `Ok(n)` for event `n`, `Err(missed)` for a lag notice.
async fn next_item(feed: &mut crate::Feed) -> Result<u64, u64> {
    match tokio::time::timeout(Duration::from_secs(10), feed.next()).await {
        Ok(Some(crate::FeedItem::Event(e))) => Ok(e.data.to_value()["n"].as_u64().unwrap()),
        Ok(Some(crate::FeedItem::Lagged { missed })) => Err(missed),
        other => panic!("expected an item, got {other:?}"),
    }
}

/// Before, a feed told of the reader's gap said it lagged, then read the trimmed events back
/// from history and said so again: two lag notices for one gap (two `lagged` frames to an SSE
/// client, counted twice by the metrics watcher). And a feed over several channels, subscribed
/// to all, said it lagged for a gap of a channel it does not follow. Here a feed over
/// `bookings` and `social` hears nothing of a gap of `simulation`, and one lag notice of the
/// gap of `bookings`, then the events kept.
#[tokio::test]
async fn a_feed_reports_a_gap_of_its_channel_once_and_none_of_another_channel() {
    let Some((bus, mut admin, _sub)) = bus_and_subscriber(10).await else { return };
    let bus = Arc::new(bus);
    let mut feed = crate::Feed::open(bus.clone(), vec![Channel::Bookings, Channel::Social], None).await.unwrap();
    bus.publish(numbered(0)).await.unwrap();
    assert_eq!(next_item(&mut feed).await, Ok(0));

    kill_reader(&mut admin, &bus).await;
    let simulation = (0..25).map(|n| numbered_on(Channel::Simulation, n)).collect();
    let (published, failure) = bus.publish_many(simulation).await;
    assert!(failure.is_none() && published.len() == 25, "{failure:?}");
    bus.publish(numbered(1)).await.unwrap();
    assert_eq!(next_item(&mut feed).await, Ok(1), "no lag for the 15 events simulation lost");

    kill_reader(&mut admin, &bus).await;
    // 2 to 26 in one round trip, the runtime held so the reader cannot restart in between: 0 to
    // 16 are trimmed, 2 to 16 unread.
    publish_while_the_reader_is_held(&bus, &(2..=26).map(numbered).collect::<Vec<_>>());
    assert_eq!(next_item(&mut feed).await, Err(1), "at least one missed after the last event read");
    for n in 17..=26 {
        assert_eq!(next_item(&mut feed).await, Ok(n), "then the events kept, with no second lag notice");
    }
    bus.publish(numbered(27)).await.unwrap();
    assert_eq!(next_item(&mut feed).await, Ok(27), "and live delivery, with no lag notice either");
    assert_eq!(bus.reader.restarts.load(Ordering::SeqCst), 2, "both gaps came from restarts");
    bus.delete_all().await.expect("streams deleted");
}

/// A prefix of a test's own (deleted by the test).
fn unique_prefix() -> String {
    format!("luna-test-{}", uuid::Uuid::now_v7().simple())
}

/// `TEST_REDIS_URL` and a prefix of a test's own, for buses that stand for servers of one
/// deployment; `None` (the test skips) without the URL.
struct TestPrefix {
    url: String,
    prefix: String,
}

impl TestPrefix {
    fn new() -> Option<Self> {
        let url = std::env::var("TEST_REDIS_URL").ok()?;
        Some(Self { url, prefix: unique_prefix() })
    }

    /// A bus on this prefix, as one more server would connect (keeping 10 events a channel).
    async fn connect(&self) -> RedisBus {
        RedisBus::connect(&self.url, &self.prefix, 10).await.expect("redis reachable at TEST_REDIS_URL")
    }
}

/// The `n`s of the bookings events `bus` holds, oldest first.
async fn held(bus: &RedisBus) -> Vec<u64> {
    let kept = bus.history(Channel::Bookings, 100, None).await.unwrap();
    kept.iter().map(|e| e.data.to_value()["n"].as_u64().unwrap()).collect()
}

/// Two deployments on one Redis under different prefixes: neither's subscribers nor history
/// see the other's events (the bug: every deployment used `luna:events`, so they all did).
#[tokio::test]
async fn buses_under_different_prefixes_do_not_see_each_others_events() {
    let (Some(a), Some(b)) = (TestPrefix::new(), TestPrefix::new()) else { return };
    let (a, b) = (a.connect().await, b.connect().await);
    let mut b_live = b.subscribe(Some(Channel::Bookings)).await.unwrap();
    let mut a_live = a.subscribe(Some(Channel::Bookings)).await.unwrap();
    a.publish(numbered(1)).await.unwrap();
    b.publish(numbered(2)).await.unwrap();
    a.publish(numbered(3)).await.unwrap();
    assert_eq!(next(&mut b_live).await, Ok(2), "b's subscriber gets b's event, not a's before it");
    assert_eq!(next(&mut a_live).await, Ok(1));
    assert_eq!(next(&mut a_live).await, Ok(3), "a's subscriber never gets b's event");
    assert_eq!(held(&a).await, vec![1, 3]);
    assert_eq!(held(&b).await, vec![2]);
    a.delete_all().await.expect("streams deleted");
    b.delete_all().await.expect("streams deleted");
}

/// A prefix taken by one database is refused to another with an error that names the prefix,
/// the setting to change and the key that holds the claim; the first database takes it again
/// as often as it starts, from any server.
#[tokio::test]
async fn a_prefix_claimed_by_one_database_is_refused_to_another_and_kept_for_the_first() {
    let Some(redis) = TestPrefix::new() else { return };
    let prefix = &redis.prefix;
    let first = redis.connect().await;
    assert_eq!(first.claim("database-a").await.unwrap(), Claimed::New);
    let other = redis.connect().await;
    let err = other.claim("database-b").await.unwrap_err();
    let ClaimError::Taken { prefix: p, key, holder, ours } = &err else { panic!("{err}") };
    assert_eq!((p.as_str(), key.as_str()), (prefix.as_str(), format!("{prefix}:database").as_str()));
    assert_eq!((holder.as_str(), ours.as_str()), ("database-a", "database-b"));
    let message = err.to_string();
    for part in [format!("{prefix:?}"), "redis_prefix".into(), "LUNA_REDIS_PREFIX".into(), format!("DEL {key}")] {
        assert!(message.contains(&part), "{part:?} not in: {message}");
    }
    assert_eq!(other.claimed_by().await.unwrap().as_deref(), Some("database-a"), "the refusal changed nothing");
    assert_eq!(other.claim("database-a").await.unwrap(), Claimed::Held, "another server of the first database");
    assert_eq!(first.claim("database-a").await.unwrap(), Claimed::Held, "a restart");
    first.delete_all().await.expect("streams deleted");
}

/// Streams written before prefixes were claimed (no claim key) go on working: the first server
/// to start takes the prefix with its events, and from then on it is that database's.
#[tokio::test]
async fn a_prefix_with_events_and_no_claim_is_taken_by_the_first_server_to_start() {
    let Some(redis) = TestPrefix::new() else { return };
    let old = redis.connect().await;
    old.publish_many((0..3).map(numbered).collect()).await.1.map_or(Ok(()), Err).unwrap();
    assert_eq!(old.claimed_by().await.unwrap(), None);
    let new = redis.connect().await;
    assert_eq!(new.claim("database-a").await.unwrap(), Claimed::New);
    assert_eq!(held(&new).await, vec![0, 1, 2], "the events stay");
    assert!(matches!(new.claim("database-b").await, Err(ClaimError::Taken { .. })));
    new.delete_all().await.expect("streams deleted");
}

/// Servers of two databases starting at the same moment on a free prefix: exactly one database
/// gets it, and every server of the other is refused.
#[tokio::test]
async fn of_two_databases_claiming_a_free_prefix_at_once_exactly_one_gets_it() {
    let Some(redis) = TestPrefix::new() else { return };
    let mut buses = Vec::new();
    for _ in 0..8 {
        buses.push(redis.connect().await);
    }
    let claims =
        buses.iter().enumerate().map(|(i, bus)| bus.claim(if i % 2 == 0 { "database-a" } else { "database-b" }));
    let results = futures::future::join_all(claims).await;
    let winner = buses[0].claimed_by().await.unwrap().expect("claimed");
    for (i, result) in results.iter().enumerate() {
        let mine = if i % 2 == 0 { "database-a" } else { "database-b" };
        assert_eq!(result.is_ok(), mine == winner, "server {i} of {mine}: {result:?}");
    }
    let new = results.iter().filter(|r| matches!(r, Ok(Claimed::New))).count();
    assert_eq!(new, 1, "one server took it, the others of its database found it held");
    buses[0].delete_all().await.expect("streams deleted");
}
