//! The Redis Streams bus: one stream per channel (`<prefix>:<channel>`), `XADD` to publish,
//! `XREVRANGE` / `XRANGE` with exclusive bounds for history and resumption. A stream is kept
//! to about N events by [`TRIM`], which records what it drops in `<prefix>:<channel>:trimmed`
//! (how many, the first and last ids; a stream trims no other way), and `XRANGE` reads that
//! record in the same transaction, so a reader resuming before the history learns what it
//! missed (Redis itself keeps no trace of the ids `XADD ... MAXLEN` drops). Live
//! delivery: ONE reader task per process runs `XREAD BLOCK` over every channel's stream from the
//! last ids it saw and fans events out locally through a broadcast, so a hundred SSE clients
//! cost one Redis connection, and every server sharing the Redis sees every event. When Redis
//! goes away, publishes fail (the outbox keeps the events); the reader is supervised
//! ([`reader`]): restarted after a backoff on a fresh connection, it resumes from its last ids,
//! so nothing published is skipped, and `ping` fails while it is down. What trimming takes
//! before the reader reads it (while it is down, or behind) is announced as a lag.

mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{Channel, Event, Payload};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply};
use tokio::sync::broadcast;

use crate::{BusError, BusResult, EventBus, EventId, Live, Page, Publish, Subscription, Trimmed};

/// How long one `XREAD` blocks before looping (keeps shutdown and reconnects prompt).
const BLOCK_MS: usize = 2_000;

/// Trims stream `KEYS[1]` to `ARGV[1]` events once it holds more than `ARGV[1] + ARGV[2]`
/// (so most publishes only look at its length), oldest first, and records in hash `KEYS[2]`
/// how many it dropped (`count`), the first id ever dropped (`first`) and the last (`last`).
/// One script, so the record and the stream never disagree. It reads two entries whatever it
/// drops: the oldest (the first dropped), then, the stream cut to one more than it keeps, the
/// oldest again (the last dropped), which the second cut drops. (Reading every dropped entry
/// into Lua to learn two ids, as it did, held Redis for milliseconds at each trim of a long
/// stream: a thousand entries at the default length.)
const TRIM: &str = r"
local keep = tonumber(ARGV[1])
local excess = redis.call('XLEN', KEYS[1]) - keep
if excess <= tonumber(ARGV[2]) then return 0 end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
local gone = redis.call('XTRIM', KEYS[1], 'MAXLEN', keep + 1)
local last = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
gone = gone + redis.call('XTRIM', KEYS[1], 'MAXLEN', keep)
redis.call('HSETNX', KEYS[2], 'first', first)
redis.call('HSET', KEYS[2], 'last', last)
redis.call('HINCRBY', KEYS[2], 'count', gone)
return gone
";

/// The production bus.
pub struct RedisBus {
    conn: ConnectionManager,
    prefix: String,
    maxlen: usize,
    live: broadcast::Sender<Live>,
    counts: Arc<Vec<AtomicU64>>,
    /// The live reader, and the task that runs and restarts it.
    reader: Arc<reader::Reader>,
    reading: tokio::task::JoinHandle<()>,
    /// Trims that failed since the bus connected (see [`Self::append`]).
    trim_failures: AtomicU64,
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.reading.abort();
    }
}

fn unavailable(e: redis::RedisError) -> BusError {
    BusError::Unavailable(e.to_string())
}

fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS as u64 + 3_000)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2))
}

impl RedisBus {
    /// Connects to `url`, keeping about `maxlen` events per channel under keys `<prefix>:<channel>`.
    pub async fn connect(url: &str, prefix: &str, maxlen: usize) -> BusResult<Self> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let conn = ConnectionManager::new_with_config(client.clone(), config()).await.map_err(unavailable)?;
        let (live, _) = broadcast::channel(4096);
        let counts: Arc<Vec<AtomicU64>> = Arc::new(Channel::ALL.iter().map(|_| AtomicU64::new(0)).collect());
        let keys: Vec<String> = Channel::ALL.iter().map(|c| stream_key(prefix, *c)).collect();
        let start = last_ids(&conn, &keys).await?;
        let name = format!("{prefix}:reader").replace(|c: char| c.is_whitespace(), "_");
        let reader = Arc::new(reader::Reader::new(client, name, keys, start, live.clone(), counts.clone()));
        Ok(Self {
            conn,
            prefix: prefix.to_string(),
            maxlen: maxlen.max(1),
            live,
            counts,
            reading: reader.clone().spawn(),
            reader,
            trim_failures: AtomicU64::new(0),
        })
    }

    fn key(&self, c: Channel) -> String {
        stream_key(&self.prefix, c)
    }

    fn keys(&self) -> Vec<String> {
        Channel::ALL.iter().map(|c| self.key(*c)).collect()
    }

    /// The record of what [`TRIM`] dropped from `c`'s stream.
    fn trimmed_key(&self, c: Channel) -> String {
        trimmed_key_of(&self.key(c))
    }

    /// The `XADD` that appends one event.
    fn xadd(&self, p: &Publish) -> redis::Cmd {
        let ts = p.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let source = p.source_id.map(|s| s.to_string()).unwrap_or_default();
        let fields = [("type", p.event_type.as_str()), ("ts", &ts), ("data", p.data.get()), ("source", &source)];
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.key(p.channel)).arg("*").arg(&fields);
        cmd
    }

    /// The [`TRIM`] of `c`'s stream to `maxlen`, with a slack of 1% (at most 1,000 events).
    fn trim(&self, c: Channel) -> redis::Cmd {
        let slack = (self.maxlen / 100).min(1_000);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TRIM).arg(2).arg(self.key(c)).arg(self.trimmed_key(c)).arg(self.maxlen).arg(slack);
        cmd
    }

    /// Appends `events` in order, then trims the streams they went to (`channels_of(events)`),
    /// in one round trip. Every reply comes back on its own, errors included, so a failed trim
    /// cannot hide the appends before it (a pipeline's query otherwise fails on any error).
    fn publish_pipeline(&self, events: &[Publish]) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for p in events {
            pipe.add_command(self.xadd(p));
        }
        for c in channels_of(events) {
            pipe.add_command(self.trim(c));
        }
        pipe
    }

    /// Sends [`Self::publish_pipeline`]: the ids of the events appended before the first that
    /// was not (all of them, normally), and the error that stopped that one. A trim that fails
    /// (a user without the scripting commands, a server without Lua) is logged and counted in
    /// `luna_bus_trim_failures_total`, never reported: the events are in their streams, and a
    /// caller told otherwise would publish them again, on every try while the trim fails. The
    /// stream then grows past its length until trimming works again; it never drops events
    /// without recording them (readers would skip them without a lag notice).
    async fn append(&self, events: &[Publish]) -> (Vec<String>, Option<BusError>) {
        let pipe = self.publish_pipeline(events);
        let replies: Vec<redis::RedisResult<redis::Value>> = match pipe.query_async(&mut self.conn.clone()).await {
            Ok(replies) => replies,
            Err(e) => return (Vec::new(), Some(unavailable(e))),
        };
        let mut added = replies;
        let trims = added.split_off(events.len().min(added.len()));
        for (c, trim) in channels_of(events).zip(trims) {
            if let Err(e) = trim {
                self.trim_failures.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("luna_bus_trim_failures_total", "channel" => c.as_str()).increment(1);
                tracing::error!(channel = c.as_str(), error = %e, "redis bus: trimming failed; the stream grows");
            }
        }
        let mut ids = Vec::with_capacity(events.len());
        for reply in added {
            match reply.and_then(|v| redis::from_redis_value::<String>(v).map_err(Into::into)) {
                Ok(id) => ids.push(id),
                Err(e) => return (ids, Some(unavailable(e))),
            }
        }
        let short =
            (ids.len() < events.len()).then(|| BusError::Unavailable("fewer appends answered than sent".into()));
        (ids, short)
    }

    /// Deletes this bus's streams and their trim records (tests use a unique prefix and clean
    /// up with this).
    pub async fn delete_all(&self) -> BusResult<()> {
        let records = Channel::ALL.iter().map(|c| self.trimmed_key(*c));
        let keys: Vec<String> = self.keys().into_iter().chain(records).collect();
        redis::cmd("DEL").arg(keys).query_async::<()>(&mut self.conn.clone()).await.map_err(unavailable)
    }
}

/// The channels `events` go to, each once, in [`Channel::ALL`]'s order.
fn channels_of(events: &[Publish]) -> impl Iterator<Item = Channel> + '_ {
    Channel::ALL.into_iter().filter(|c| events.iter().any(|p| p.channel == *c))
}

/// The stream of channel `c` under `prefix`.
fn stream_key(prefix: &str, c: Channel) -> String {
    format!("{prefix}:{}", c.as_str())
}

/// The record of what [`TRIM`] dropped from stream `key`.
fn trimmed_key_of(key: &str) -> String {
    format!("{key}:trimmed")
}

/// The newest id of each stream of `keys` (`0-0` for an empty one).
async fn last_ids(conn: &ConnectionManager, keys: &[String]) -> BusResult<Vec<String>> {
    let mut out = Vec::new();
    for key in keys {
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn.clone())
            .await
            .map_err(unavailable)?;
        out.push(reply.ids.first().map_or_else(|| "0-0".to_string(), |s| s.id.clone()));
    }
    Ok(out)
}

fn field_str(s: &StreamId, k: &str) -> Option<String> {
    match s.map.get(k)? {
        redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        redis::Value::SimpleString(t) => Some(t.clone()),
        _ => None,
    }
}

/// The event a publish appended under `id`.
fn appended(p: Publish, id: String) -> Event {
    Event {
        id,
        source_id: p.source_id,
        channel: p.channel,
        event_type: p.event_type,
        timestamp: p.timestamp,
        data: p.data,
    }
}

/// The trim record read as `count`, `first`, `last` (all absent before the first trim).
fn trim_record(fields: &[Option<String>]) -> BusResult<Trimmed> {
    let id = |i: usize| fields.get(i).cloned().flatten().map_or(Ok(EventId::ZERO), |s| s.parse());
    let count = fields.first().cloned().flatten().map_or(Ok(0), |s| s.parse().map_err(|_| BusError::InvalidId(s)))?;
    Ok(Trimmed { count, first: id(1)?, last: id(2)? })
}

/// Rebuilds an event from a stream entry; `None` for an entry Luna did not write.
fn decode(channel: Channel, s: &StreamId) -> Option<Event> {
    let timestamp: DateTime<Utc> = field_str(s, "ts")?.parse().ok()?;
    Some(Event {
        id: s.id.clone(),
        source_id: field_str(s, "source").and_then(|x| x.parse().ok()),
        channel,
        event_type: field_str(s, "type")?,
        timestamp,
        data: Payload::from_json(field_str(s, "data")?).ok()?,
    })
}

#[async_trait]
impl EventBus for RedisBus {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, p: Publish) -> BusResult<Arc<Event>> {
        let (ids, failure) = self.append(std::slice::from_ref(&p)).await;
        match (ids.into_iter().next(), failure) {
            (Some(id), _) => Ok(Arc::new(appended(p, id))),
            (None, failure) => Err(failure.unwrap_or_else(|| BusError::Unavailable("no append answered".into()))),
        }
    }

    /// One pipeline, one round trip. On an error the events before the append that failed are
    /// reported appended; later ones may have been too (the pipeline is not atomic), and the
    /// caller publishes them again (at-least-once, same `source_id`). A failed trim is no error
    /// (see [`Self::append`]).
    async fn publish_many(&self, events: Vec<Publish>) -> (Vec<Arc<Event>>, Option<BusError>) {
        if events.is_empty() {
            return (Vec::new(), None); // Redis refuses an empty pipeline
        }
        let (ids, failure) = self.append(&events).await;
        (events.into_iter().zip(ids).map(|(p, id)| Arc::new(appended(p, id))).collect(), failure)
    }

    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription> {
        Ok(crate::live_subscription(self.live.subscribe(), channel))
    }

    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>> {
        let end = before.map_or_else(|| "+".to_string(), |b| format!("({b}"));
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.key(channel))
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut out: Vec<Event> = reply.ids.iter().filter_map(|s| decode(channel, s)).collect();
        out.reverse();
        Ok(out)
    }

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page> {
        // One transaction: a trim between reading the record and the range would hide a gap.
        let (record, reply): (Vec<Option<String>>, StreamRangeReply) = redis::pipe()
            .atomic()
            .cmd("HMGET")
            .arg(self.trimmed_key(channel))
            .arg(&["count", "first", "last"])
            .cmd("XRANGE")
            .arg(self.key(channel))
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let events = reply.ids.iter().filter_map(|s| decode(channel, s)).collect();
        Ok(Page { events, trimmed: trim_record(&record)?.after(after) })
    }

    /// Also fails while the live reader is down (between a failure and its restart) or once it
    /// has stopped (its supervision aborted): this process's subscribers get nothing new
    /// meanwhile, so `/health` must not say the bus is fine.
    async fn ping(&self) -> BusResult<()> {
        if self.reading.is_finished() {
            return Err(BusError::Unavailable("the live reader stopped; subscribers get no new events".into()));
        }
        if !self.reader.up.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable(
                "the live reader is down, restarting; subscribers get no new events".into(),
            ));
        }
        redis::cmd("PING").query_async::<String>(&mut self.conn.clone()).await.map(|_| ()).map_err(unavailable)
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        Channel::ALL.iter().zip(self.counts.iter()).map(|(c, n)| (*c, n.load(Ordering::Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
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

    /// A Redis user that may run every command but the scripting ones, so the bus's trims fail
    /// (as on a server without Lua); deleted when dropped.
    struct WithoutScripting {
        admin: redis::Client,
        name: String,
        /// `TEST_REDIS_URL` as this user.
        url: String,
    }

    impl WithoutScripting {
        fn create(url: &str) -> Self {
            let admin = redis::Client::open(url).unwrap();
            let name = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
            let rules = ["on", ">secret", "~*", "&*", "+@all", "-@scripting"];
            let mut conn = admin.get_connection().expect("redis reachable at TEST_REDIS_URL");
            redis::cmd("ACL").arg("SETUSER").arg(&name).arg(&rules).query::<()>(&mut conn).expect("ACL SETUSER");
            let (scheme, rest) = url.split_once("://").expect("a redis URL");
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            Self { url: format!("{scheme}://{name}:secret@{host}"), admin, name }
        }
    }

    impl Drop for WithoutScripting {
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
        let user = WithoutScripting::create(&url);
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

    /// The next delivery: `Ok(n)` for event `n`, `Err(missed)` for a lag notice.
    async fn next(sub: &mut Subscription) -> Result<u64, u64> {
        use futures::StreamExt;
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(crate::Delivery::Event(e))) => {
                Ok(e.data.parse::<serde_json::Value>().unwrap()["n"].as_u64().unwrap())
            }
            Ok(Some(crate::Delivery::Lagged { missed })) => Err(missed),
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
        let Some((bus, _admin, mut sub)) = bus_and_subscriber(10).await else { return };
        bus.publish(numbered(0)).await.unwrap();
        assert_eq!(next(&mut sub).await, Ok(0));
        tokio::time::sleep(Duration::from_millis(100)).await; // its next XREAD waits at Redis

        publish_while_the_reader_is_held(&bus, &[numbered_on(Channel::Social, 0)]);
        publish_while_the_reader_is_held(&bus, &(1..=25).map(numbered).collect::<Vec<_>>());

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
        let Some((bus, _admin, mut sub)) = bus_and_subscriber(10).await else { return };
        bus.publish(numbered(0)).await.unwrap();
        assert_eq!(next(&mut sub).await, Ok(0));
        tokio::time::sleep(Duration::from_millis(100)).await; // its next XREAD waits at Redis

        publish_while_the_reader_is_held(&bus, &[numbered(1)]);
        publish_while_the_reader_is_held(&bus, &(2..=25).map(numbered).collect::<Vec<_>>());

        assert_eq!(next(&mut sub).await, Err(1), "at least one missed after the last event read");
        for n in 16..=25 {
            assert_eq!(next(&mut sub).await, Ok(n), "then the events kept");
        }
        assert_eq!(bus.reader.restarts.load(Ordering::SeqCst), 0, "without a restart");
        bus.delete_all().await.expect("streams deleted");
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
    /// they lagged (so a Feed reads back what history holds and says what it missed), then get
    /// the events kept.
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
}
