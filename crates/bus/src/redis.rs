//! The Redis Streams bus: one stream per channel (`<prefix>:<channel>`), `XADD ... MAXLEN ~ N`
//! to publish, `XREVRANGE` / `XRANGE` with exclusive bounds for history and resumption. Live
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

use crate::{BusError, BusResult, EventBus, EventId, Publish, Subscription};

/// How long one `XREAD` blocks before looping (keeps shutdown and reconnects prompt).
const BLOCK_MS: usize = 2_000;

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
            maxlen,
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

    /// The `XADD` that appends one event, trimming the stream to about `maxlen`.
    fn xadd(&self, p: &Publish) -> redis::Cmd {
        let ts = p.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let source = p.source_id.map(|s| s.to_string()).unwrap_or_default();
        let fields = [("type", p.event_type.as_str()), ("ts", &ts), ("data", p.data.get()), ("source", &source)];
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.key(p.channel)).arg("MAXLEN").arg("~").arg(self.maxlen).arg("*").arg(&fields);
        cmd
    }

    /// Deletes this bus's streams (tests use a unique prefix and clean up with this).
    pub async fn delete_all(&self) -> BusResult<()> {
        redis::cmd("DEL").arg(self.keys()).query_async::<()>(&mut self.conn.clone()).await.map_err(unavailable)
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
        let id: String = self.xadd(&p).query_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(Arc::new(appended(p, id)))
    }

    /// One pipeline, one round trip. On an error nothing is reported appended, though some may
    /// have been: the caller publishes them again (at-least-once, same `source_id`).
    async fn publish_many(&self, events: Vec<Publish>) -> (Vec<Arc<Event>>, Option<BusError>) {
        if events.is_empty() {
            return (Vec::new(), None); // Redis refuses an empty pipeline
        }
        let mut pipe = redis::pipe();
        for p in &events {
            pipe.add_command(self.xadd(p));
        }
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

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Vec<Event>> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.key(channel))
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(reply.ids.iter().filter_map(|s| decode(channel, s)).collect())
    }

    async fn ping(&self) -> BusResult<()> {
        let r = redis::cmd("PING").query_async::<String>(&mut self.conn.clone()).await.map(|_| ()).map_err(unavailable);
        self.healthy.store(r.is_ok(), Ordering::Relaxed);
        r
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        Channel::ALL.iter().zip(self.counts.iter()).map(|(c, n)| (*c, n.load(Ordering::Relaxed))).collect()
    }
}
