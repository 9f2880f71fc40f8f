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
//! Every server sharing a prefix shares its events, so a prefix belongs to one database: a
//! server claims it ([`RedisBus::claim`], key `<prefix>:database`) before using the bus.

mod claim;
mod reader;

pub use claim::{ClaimError, Claimed, check_prefix};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{Channel, Event, Payload};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply};
use tokio::sync::broadcast;

use crate::{BusError, BusResult, EventBus, EventId, Live, Page, Publish, Subscription, TrimState, Trimmed};

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
    /// Per channel (in [`Channel::ALL`]'s order), its latest trim if that failed. Per channel,
    /// so that a channel whose trims fail is not shown fine between them by the trims of another
    /// that work.
    trim_errors: Mutex<Vec<Option<TrimFailure>>>,
}

/// How long a channel's failed trim is reported ([`EventBus::trim_state`]) when nothing was
/// published on it since. Only a publish can clear it (its trim succeeds), and a stream that
/// takes no publishes grows no more: a quiet channel (`system` may publish once a day) must not
/// keep the bus shown failing for days after trimming was mended. A channel that publishes
/// and fails more often than this stays shown.
pub const TRIM_FAILURE_SHOWN: Duration = Duration::from_secs(300);

/// A channel's failed trim: the whole error (for the log), the short code `/health` shows (the
/// whole text of a Redis error can name the server's user and keys, and `/health` is public),
/// and when.
#[derive(Debug, Clone, PartialEq)]
struct TrimFailure {
    detail: String,
    code: String,
    at: std::time::Instant,
}

/// The failure [`EventBus::trim_state`] reports at `now`: `<channel>: <code>` of the first
/// channel (in `Channel::ALL`'s order) whose latest trim failed less than
/// [`TRIM_FAILURE_SHOWN`] ago.
fn shown_failure(errors: &[Option<TrimFailure>], now: std::time::Instant) -> Option<String> {
    Channel::ALL.iter().zip(errors).find_map(|(c, e)| {
        let e = e.as_ref().filter(|e| now.saturating_duration_since(e.at) < TRIM_FAILURE_SHOWN)?;
        Some(format!("{}: trim failed ({}; the server's log has the error)", c.as_str(), e.code))
    })
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
            trim_errors: Mutex::new(vec![None; Channel::ALL.len()]),
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
    /// (a user without the scripting commands, a server without Lua) is counted in
    /// `luna_bus_trim_failures_total` and kept for [`EventBus::trim_state`] (so `/health` shows
    /// it), never reported to the caller: the events are in their streams, and a caller told
    /// otherwise would publish them again, on every try while the trim fails. The stream then
    /// grows past its length until trimming works again; it never drops events without
    /// recording them (readers would skip them without a lag notice).
    async fn append(&self, events: &[Publish]) -> (Vec<String>, Option<BusError>) {
        let pipe = self.publish_pipeline(events);
        let replies: Vec<redis::RedisResult<redis::Value>> = match pipe.query_async(&mut self.conn.clone()).await {
            Ok(replies) => replies,
            Err(e) => return (Vec::new(), Some(unavailable(e))),
        };
        let mut added = replies;
        let trims = added.split_off(events.len().min(added.len()));
        for (c, trim) in channels_of(events).zip(trims) {
            self.trimmed_with(c, trim.err());
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

    /// Keeps how the trim of `c`'s stream went: counts a failure, and logs a channel's trims
    /// starting to fail (or failing otherwise) and working again, not each failure of a run (one
    /// a publish while it lasts).
    fn trimmed_with(&self, c: Channel, failure: Option<redis::RedisError>) {
        let error = failure.map(|e| TrimFailure {
            detail: e.to_string(),
            code: e.code().unwrap_or(e.category()).to_string(),
            at: std::time::Instant::now(),
        });
        if error.is_some() {
            self.trim_failures.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("luna_bus_trim_failures_total", "channel" => c.as_str()).increment(1);
        }
        let slot = Channel::ALL.iter().position(|x| *x == c).unwrap_or(0);
        // A poisoned lock only means a panic elsewhere mid-assignment; the slots are still whole.
        let before =
            std::mem::replace(&mut self.trim_errors.lock().unwrap_or_else(|p| p.into_inner())[slot], error.clone());
        match (before, error) {
            (before, Some(e)) if before.as_ref().map(|b| &b.detail) != Some(&e.detail) => {
                tracing::error!(channel = c.as_str(), error = %e.detail, "redis bus: trimming failed; the stream grows");
            }
            (Some(_), None) => tracing::info!(channel = c.as_str(), "redis bus: trimming works again"),
            _ => {}
        }
    }

    /// Deletes this bus's streams, their trim records and its claim (tests use a unique prefix and clean
    /// up with this).
    pub async fn delete_all(&self) -> BusResult<()> {
        let records = Channel::ALL.iter().map(|c| self.trimmed_key(*c));
        let keys: Vec<String> = self.keys().into_iter().chain(records).chain([self.claim_key()]).collect();
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
        // Nothing lies before 0-0, and Redis refuses the exclusive bound `(0-0` as an error.
        if before == Some(EventId::ZERO) {
            return Ok(Vec::new());
        }
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

    fn trim_state(&self) -> TrimState {
        let errors = self.trim_errors.lock().unwrap_or_else(|p| p.into_inner());
        TrimState {
            failures: self.trim_failures.load(Ordering::Relaxed),
            error: shown_failure(&errors, std::time::Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests;
