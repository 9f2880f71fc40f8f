//! The Redis Streams bus: one stream per channel (`<prefix>:<channel>`), `XADD` to publish,
//! `XREVRANGE` / `XRANGE` with exclusive bounds for history and resumption. A stream is kept
//! to about N events by [`TRIM`], which records what it drops in `<prefix>:<channel>:trimmed`
//! (how many, the first and last ids; a stream trims no other way), and `XRANGE` reads that
//! record in the same transaction, so a reader resuming before the history learns what it
//! missed (Redis itself keeps no trace of the ids `XADD ... MAXLEN` drops). Live
//! delivery: ONE reader task per process runs `XREAD BLOCK` over every channel's stream from the
//! last ids it saw and fans events out locally through a broadcast, so a hundred SSE clients
//! cost one Redis connection, and every server sharing the Redis sees every event. When Redis
//! goes away, publishes fail (the outbox keeps the events), the reader backs off and resumes
//! from its last ids, so nothing published is skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{Channel, Event, Payload};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use tokio::sync::broadcast;

use crate::{BusError, BusResult, EventBus, EventId, Page, Publish, Subscription, Trimmed};

/// How long one `XREAD` blocks before looping (keeps shutdown and reconnects prompt).
const BLOCK_MS: usize = 2_000;

/// Trims stream `KEYS[1]` to `ARGV[1]` events once it holds more than `ARGV[1] + ARGV[2]`
/// (so most publishes only look at its length), oldest first, and records in hash `KEYS[2]`
/// how many it dropped (`count`), the first id ever dropped (`first`) and the last (`last`).
/// One script, so the record and the stream never disagree.
const TRIM: &str = r"
local keep = tonumber(ARGV[1])
local excess = redis.call('XLEN', KEYS[1]) - keep
if excess <= tonumber(ARGV[2]) then return 0 end
local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
redis.call('XTRIM', KEYS[1], 'MAXLEN', keep)
redis.call('HSETNX', KEYS[2], 'first', gone[1][1])
redis.call('HSET', KEYS[2], 'last', gone[#gone][1])
redis.call('HINCRBY', KEYS[2], 'count', #gone)
return #gone
";

/// The production bus.
pub struct RedisBus {
    conn: ConnectionManager,
    prefix: String,
    maxlen: usize,
    live: broadcast::Sender<Arc<Event>>,
    counts: Arc<Vec<AtomicU64>>,
    healthy: Arc<AtomicBool>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.reader.abort();
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
        let reader_conn = ConnectionManager::new_with_config(client, config()).await.map_err(unavailable)?;
        let (live, _) = broadcast::channel(4096);
        let counts: Arc<Vec<AtomicU64>> = Arc::new(Channel::ALL.iter().map(|_| AtomicU64::new(0)).collect());
        let healthy = Arc::new(AtomicBool::new(true));
        let mut bus = Self {
            conn,
            prefix: prefix.to_string(),
            maxlen: maxlen.max(1),
            live: live.clone(),
            counts: counts.clone(),
            healthy: healthy.clone(),
            reader: tokio::spawn(async {}),
        };
        let start = bus.last_ids().await?;
        bus.reader = tokio::spawn(read_loop(reader_conn, bus.keys(), start, live, counts, healthy));
        Ok(bus)
    }

    fn key(&self, c: Channel) -> String {
        format!("{}:{}", self.prefix, c.as_str())
    }

    fn keys(&self) -> Vec<String> {
        Channel::ALL.iter().map(|c| self.key(*c)).collect()
    }

    /// The record of what [`TRIM`] dropped from `c`'s stream.
    fn trimmed_key(&self, c: Channel) -> String {
        format!("{}:{}:trimmed", self.prefix, c.as_str())
    }

    /// The newest id of every channel's stream (`0-0` for an empty one).
    async fn last_ids(&self) -> BusResult<Vec<String>> {
        let mut out = Vec::new();
        for c in Channel::ALL {
            let reply: StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(self.key(c))
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            out.push(reply.ids.first().map_or_else(|| "0-0".to_string(), |s| s.id.clone()));
        }
        Ok(out)
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

    /// Appends `events` in order, then trims the streams they went to, in one round trip.
    fn publish_pipeline(&self, events: &[Publish]) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        for p in events {
            pipe.add_command(self.xadd(p));
        }
        for c in Channel::ALL.into_iter().filter(|c| events.iter().any(|p| p.channel == *c)) {
            pipe.add_command(self.trim(c)).ignore();
        }
        pipe
    }

    /// Deletes this bus's streams and their trim records (tests use a unique prefix and clean
    /// up with this).
    pub async fn delete_all(&self) -> BusResult<()> {
        let records = Channel::ALL.iter().map(|c| self.trimmed_key(*c));
        let keys: Vec<String> = self.keys().into_iter().chain(records).collect();
        redis::cmd("DEL").arg(keys).query_async::<()>(&mut self.conn.clone()).await.map_err(unavailable)
    }
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

async fn read_loop(
    mut conn: ConnectionManager,
    keys: Vec<String>,
    mut last: Vec<String>,
    live: broadcast::Sender<Arc<Event>>,
    counts: Arc<Vec<AtomicU64>>,
    healthy: Arc<AtomicBool>,
) {
    loop {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(500).arg("BLOCK").arg(BLOCK_MS).arg("STREAMS").arg(&keys).arg(&last);
        match cmd.query_async::<Option<StreamReadReply>>(&mut conn).await {
            Ok(reply) => {
                healthy.store(true, Ordering::Relaxed);
                for sk in reply.map(|r| r.keys).unwrap_or_default() {
                    let Some(slot) = keys.iter().position(|k| *k == sk.key) else { continue };
                    for entry in &sk.ids {
                        last[slot] = entry.id.clone();
                        if let Some(e) = decode(Channel::ALL[slot], entry) {
                            counts[slot].fetch_add(1, Ordering::Relaxed);
                            let _ = live.send(Arc::new(e));
                        }
                    }
                }
            }
            Err(e) => {
                healthy.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, "redis bus reader: retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[async_trait]
impl EventBus for RedisBus {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, p: Publish) -> BusResult<Arc<Event>> {
        let pipe = self.publish_pipeline(std::slice::from_ref(&p));
        let (id,): (String,) = pipe.query_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(Arc::new(appended(p, id)))
    }

    /// One pipeline, one round trip. On an error nothing is reported appended, though some may
    /// have been: the caller publishes them again (at-least-once, same `source_id`).
    async fn publish_many(&self, events: Vec<Publish>) -> (Vec<Arc<Event>>, Option<BusError>) {
        if events.is_empty() {
            return (Vec::new(), None); // Redis refuses an empty pipeline
        }
        let pipe = self.publish_pipeline(&events);
        match pipe.query_async::<Vec<String>>(&mut self.conn.clone()).await {
            Ok(ids) => (events.into_iter().zip(ids).map(|(p, id)| Arc::new(appended(p, id))).collect(), None),
            Err(e) => (Vec::new(), Some(unavailable(e))),
        }
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

    /// Also fails once the live reader has stopped (it only stops by panicking): this process's
    /// subscribers would get nothing more, so `/health` must not say the bus is fine.
    async fn ping(&self) -> BusResult<()> {
        if self.reader.is_finished() {
            return Err(BusError::Unavailable("the live reader stopped; subscribers get no new events".into()));
        }
        let r = redis::cmd("PING").query_async::<String>(&mut self.conn.clone()).await.map(|_| ()).map_err(unavailable);
        self.healthy.store(r.is_ok(), Ordering::Relaxed);
        r
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
        bus.reader.abort();
        while !bus.reader.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(matches!(bus.ping().await, Err(BusError::Unavailable(_))));
        bus.delete_all().await.expect("streams deleted");
    }
}
