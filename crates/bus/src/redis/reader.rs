//! The Redis bus's live reader: ONE task per process runs `XREAD BLOCK` over every channel's
//! stream from the last ids it delivered and fans the events out through a local broadcast. It
//! is supervised here, since the bus sits below the app's supervisor: a run that fails (an error
//! from Redis, its connection closed or killed) or panics is logged and started again on a
//! fresh connection after a backoff of 100 ms, doubling up to 2 s (back to 100 ms once a run
//! lasted 2 s), so live delivery resumes within 2 s of Redis coming back however long it was
//! away; each restart is counted in `luna_bus_reader_restarts_total` as it happens,
//! after the backoff (as the app's supervisor counts its tasks'). A new run resumes after
//! the last id delivered from each stream, so subscribers miss nothing the streams still hold;
//! what trimming took from after it meanwhile is announced to the subscribers of its channel as
//! a gap ([`Delivery::Gap`](crate::Delivery), from the stream's trim record), so they read
//! back what history holds (a [`Feed`](crate::Feed) then says what it missed). So is what
//! trimming took while a running reader fell behind (its connection slow, its runtime busy):
//! each read that finds events in a stream is checked against that stream's trim record. From
//! a failure until the next run is connected, the reader is down and `ping` says so.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::Channel;
use futures::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::{BLOCK_MS, decode, trim_record, trimmed_key_of};
use crate::{EventId, Live};

/// The first wait before a restart, and the longest. The longest is short: while the reader is
/// down, every subscriber of this process (SSE streams, the engine follower) hears nothing, even
/// once Redis is back and the relay publishes to it again (with 30 s, a Redis away for half a
/// minute left live delivery stalled for 18 s after it returned). A failed restart costs one
/// refused connection; the publishing connection retries as often (its `max_delay`).
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// Entries one `XREAD` takes at most.
const COUNT: usize = 500;

/// The live reader of one bus: where it stands, where its events go, and how it is doing.
pub(super) struct Reader {
    client: redis::Client,
    /// The client name of its connection (`<prefix>:reader`), as `CLIENT LIST` shows it (when
    /// Redis lets it take one: a refused `CLIENT SETNAME` is only logged).
    pub name: String,
    keys: Vec<String>,
    /// The last id delivered from each stream (in `keys`' order; `0-0` for none): where a
    /// restarted run resumes.
    last: Mutex<Vec<String>>,
    live: broadcast::Sender<Live>,
    counts: Arc<Vec<AtomicU64>>,
    /// Whether a run is connected and reading (false from a failure until the next run is).
    pub up: AtomicBool,
    /// Runs started again (after a failure or a panic and the backoff) since the bus connected.
    pub restarts: AtomicU64,
}

impl Reader {
    /// A reader of `keys` (one stream per channel, in [`Channel::ALL`]'s order) from `last`.
    pub fn new(
        client: redis::Client,
        name: String,
        keys: Vec<String>,
        last: Vec<String>,
        live: broadcast::Sender<Live>,
        counts: Arc<Vec<AtomicU64>>,
    ) -> Self {
        let last = Mutex::new(last);
        Self { client, name, keys, last, live, counts, up: AtomicBool::new(true), restarts: AtomicU64::new(0) }
    }

    /// Runs the reader, restarting it whenever a run fails, until the task is aborted.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let reader = &self;
            keep_reading(&reader.up, &reader.restarts, || reader.run()).await
        })
    }

    /// One run: connects, then reads and delivers until an error stops it. A restarted run
    /// first announces what trimming took after its last ids.
    async fn run(&self) -> Result<Infallible, String> {
        let mut resumed = self.restarts.load(Ordering::SeqCst) > 0;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(BLOCK_MS as u64 + 3_000)));
        let mut conn = self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(text)?;
        // The name serves only observability (CLIENT LIST) and tests: a user without the CLIENT
        // command, or a proxy refusing it, must not stop live delivery.
        if let Err(e) = redis::cmd("CLIENT").arg("SETNAME").arg(&self.name).query_async::<()>(&mut conn).await {
            tracing::warn!(error = %e, name = self.name, "redis bus reader: cannot name its connection; reading unnamed");
        }
        self.up.store(true, Ordering::SeqCst);
        loop {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let reply = if std::mem::take(&mut resumed) {
                self.resume(&mut conn, &last).await?
            } else {
                let mut cmd = redis::cmd("XREAD");
                cmd.arg("COUNT").arg(COUNT).arg("BLOCK").arg(BLOCK_MS).arg("STREAMS").arg(&self.keys).arg(&last);
                let read = cmd.query_async::<Option<StreamReadReply>>(&mut conn).await.map_err(text)?;
                self.check(&mut conn, &last, read).await?
            };
            for sk in reply.map(|r| r.keys).unwrap_or_default() {
                let Some(slot) = self.keys.iter().position(|k| *k == sk.key) else { continue };
                for entry in &sk.ids {
                    if let Some(e) = decode(Channel::ALL[slot], entry) {
                        self.counts[slot].fetch_add(1, Ordering::Relaxed);
                        let _ = self.live.send(Live::Event(Arc::new(e)));
                    }
                    // Delivered (or not Luna's): a restarted run goes on after it.
                    self.last.lock().unwrap_or_else(|p| p.into_inner())[slot] = entry.id.clone();
                }
            }
        }
    }

    /// The first read of a restarted run (or one [`Self::check`] could not place), and every
    /// stream's trim record with it (one transaction, so a trim cannot fall between them): the
    /// events after `last` that trimming took are announced to the subscribers of their
    /// channel, before what the read found.
    async fn resume(
        &self,
        conn: &mut MultiplexedConnection,
        last: &[String],
    ) -> Result<Option<StreamReadReply>, String> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in &self.keys {
            pipe.cmd("HMGET").arg(trimmed_key_of(key)).arg(&["count", "first", "last"]);
        }
        pipe.cmd("XREAD").arg("COUNT").arg(COUNT).arg("STREAMS").arg(&self.keys).arg(last);
        let mut replies: Vec<Value> = pipe.query_async(conn).await.map_err(text)?;
        let read = replies.pop().ok_or("an empty transaction reply")?;
        for ((record, channel), after) in replies.into_iter().zip(Channel::ALL).zip(last) {
            let record: Vec<Option<String>> = redis::from_redis_value(record).map_err(|e| e.to_string())?;
            let missed = trim_record(&record).map_err(|e| e.to_string())?.after(id(after)?);
            self.announce(channel, missed);
        }
        redis::from_redis_value(read).map_err(|e| e.to_string())
    }

    /// Checks what a blocking read found against the trim records of the streams it found
    /// something in, read right after it (one `HMGET` each, in one round trip): a reader that
    /// fell behind (its connection slow, its runtime busy) while trimming took events after
    /// `last` reads on past them. A record whose last id lies between the last id delivered and
    /// the first one read says so, and its gap is announced before the events read. A record
    /// past the first one read means trimming also took events of this read after it returned,
    /// and cannot say whether it took any before them: the read is done again, with every
    /// record in the same transaction, as a restarted run's first ([`Self::resume`]).
    async fn check(
        &self,
        conn: &mut MultiplexedConnection,
        last: &[String],
        read: Option<StreamReadReply>,
    ) -> Result<Option<StreamReadReply>, String> {
        let Some(read) = read else { return Ok(None) };
        let found: Vec<(usize, EventId)> = (read.keys.iter())
            .filter_map(|sk| Some((self.keys.iter().position(|k| *k == sk.key)?, sk.ids.first()?.id.parse().ok()?)))
            .collect();
        if found.is_empty() {
            return Ok(Some(read));
        }
        let mut pipe = redis::pipe();
        for (slot, _) in &found {
            pipe.cmd("HMGET").arg(trimmed_key_of(&self.keys[*slot])).arg(&["count", "first", "last"]);
        }
        let records: Vec<Vec<Option<String>>> = pipe.query_async(conn).await.map_err(text)?;
        let mut gaps = Vec::new();
        for ((slot, first), record) in found.into_iter().zip(records) {
            let trimmed = trim_record(&record).map_err(|e| e.to_string())?;
            if trimmed.last >= first {
                return self.resume(conn, last).await;
            }
            gaps.push((Channel::ALL[slot], trimmed.after(id(&last[slot])?)));
        }
        for (channel, missed) in gaps {
            self.announce(channel, missed);
        }
        Ok(Some(read))
    }

    /// Tells the subscribers of `channel` that trimming took `missed` events (at least that
    /// many: see [`crate::Page::trimmed`]) after the last one this reader delivered, if any.
    fn announce(&self, channel: Channel, missed: u64) {
        if missed > 0 {
            tracing::warn!(
                channel = channel.as_str(),
                missed,
                "redis bus reader: trimming took events it had not read"
            );
            let _ = self.live.send(Live::Gap { channel, missed });
        }
    }
}

/// A stream id the reader kept, parsed.
fn id(text: &str) -> Result<EventId, String> {
    text.parse().map_err(|e: crate::BusError| e.to_string())
}

fn text(e: redis::RedisError) -> String {
    e.to_string()
}

/// Runs what `run` makes, again after a backoff whenever it fails or panics (see the module
/// documentation): `up` is false from each failure until the next run sets it, and `restarts`
/// counts the restarts, each as it happens (after the backoff).
async fn keep_reading<F, Fut>(up: &AtomicBool, restarts: &AtomicU64, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Infallible, String>>,
{
    let mut delay = FIRST_DELAY;
    loop {
        let started = Instant::now();
        let reason = match AssertUnwindSafe(run()).catch_unwind().await {
            Ok(Err(e)) => e,
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        up.store(false, Ordering::SeqCst);
        if started.elapsed() >= MAX_DELAY {
            delay = FIRST_DELAY;
        }
        tracing::error!(reason, restart_in_ms = delay.as_millis() as u64, "redis bus reader stopped; restarting");
        tokio::time::sleep(delay).await;
        // Counted as it restarts, as the app's supervisor counts its tasks' restarts (a reader
        // aborted during the backoff restarts nothing).
        metrics::counter!("luna_bus_reader_restarts_total").increment(1);
        restarts.fetch_add(1, Ordering::SeqCst);
        delay = next_delay(delay);
    }
}

/// The backoff before the restart after one that waited `delay`: twice as long, at most
/// [`MAX_DELAY`].
fn next_delay(delay: Duration) -> Duration {
    (delay * 2).min(MAX_DELAY)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Before, a reader that panicked stayed stopped: this process's subscribers got nothing
    /// more. Here a run panics, the next fails, and the third reads on.
    #[tokio::test]
    async fn a_reader_that_panics_or_fails_is_restarted_after_a_doubling_backoff() {
        let (up, restarts) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)));
        let runs = Arc::new(Mutex::new(Vec::new()));
        let supervisor = {
            let (up, restarts, runs) = (up.clone(), restarts.clone(), runs.clone());
            tokio::spawn(async move {
                let (up, start) = (&up, Instant::now());
                keep_reading(up, &restarts, || {
                    let runs = runs.clone();
                    async move {
                        let n = {
                            let mut runs = runs.lock().unwrap();
                            runs.push(start.elapsed());
                            runs.len()
                        };
                        match n {
                            1 => panic!("a bad entry"),
                            2 => Err("connection closed".to_string()),
                            _ => {
                                up.store(true, Ordering::SeqCst);
                                std::future::pending().await
                            }
                        }
                    }
                })
                .await
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while runs.lock().unwrap().len() < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 3, "restarted after the panic and after the error: {runs:?}");
        assert!(runs[1] - runs[0] >= FIRST_DELAY, "{runs:?}");
        assert!(runs[2] - runs[1] >= FIRST_DELAY * 2, "the backoff doubled: {runs:?}");
        assert_eq!(restarts.load(Ordering::SeqCst), 2);
        assert!(up.load(Ordering::SeqCst), "up again once the third run reads");
        supervisor.abort();
    }

    /// Before, the backoff doubled up to 30 s: Redis away for 35 s, then back, and the readers
    /// of both QA servers restarted 17 and 18 s later (`/health` said the bus was unavailable,
    /// SSE streams and engine followers heard nothing while the relay published). Here, whatever
    /// the outage, the reader tries again at least every 2 s.
    #[test]
    fn a_reader_down_for_minutes_tries_again_at_least_every_two_seconds() {
        let (mut delay, mut waited) = (FIRST_DELAY, Duration::ZERO);
        while waited < Duration::from_secs(600) {
            assert!(delay <= Duration::from_secs(2), "{delay:?} after {waited:?} of restarts");
            waited += delay;
            delay = next_delay(delay);
        }
        assert_eq!(next_delay(FIRST_DELAY), FIRST_DELAY * 2, "still doubling from the first");
    }

    /// Before, a failure was counted at once, while the app's supervisor counts its tasks'
    /// restarts when they happen: the two counters disagreed during every backoff, and about a
    /// reader aborted in one. Here the first run fails; it is counted once the second starts.
    #[tokio::test]
    async fn a_restart_is_counted_when_it_happens_not_when_the_run_fails() {
        let (up, restarts) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)));
        let counted_at_start = Arc::new(Mutex::new(Vec::new()));
        let supervisor = {
            let (up, restarts, counted) = (up.clone(), restarts.clone(), counted_at_start.clone());
            tokio::spawn(async move {
                let restarts = &restarts;
                keep_reading(&up, restarts, || {
                    let counted = counted.clone();
                    async move {
                        let n = {
                            let mut counted = counted.lock().unwrap();
                            counted.push(restarts.load(Ordering::SeqCst));
                            counted.len()
                        };
                        match n {
                            1 => Err("connection closed".to_string()),
                            _ => std::future::pending().await,
                        }
                    }
                })
                .await
            })
        };
        while up.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        // The first run failed and the backoff (100 ms) is running.
        assert_eq!(restarts.load(Ordering::SeqCst), 0, "not counted before the restart");
        let deadline = Instant::now() + Duration::from_secs(5);
        while counted_at_start.lock().unwrap().len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*counted_at_start.lock().unwrap(), vec![0, 1], "counted as the second run starts");
        supervisor.abort();
    }
}
