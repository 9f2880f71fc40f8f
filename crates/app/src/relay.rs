//! The outbox relay: publishes committed events from the store's outbox to the bus, oldest
//! first, and marks them published. At-least-once: a crash between publish and mark publishes
//! again on restart with the same `source_id`, so consumers can de-duplicate (those that count,
//! the engine follower and the metrics watcher, skip it: [`bus::Repeats`]). If the bus is
//! down, events wait in the outbox and go out when it returns. Servers sharing one database each
//! run a relay; every pass runs under the store's relay lease, so only one publishes at a time
//! (per-channel order holds, nothing is published twice in normal operation) and each server
//! still publishes its own writes promptly when it is woken. A row this version cannot decode (a
//! newer server's during a rolling upgrade: a type, or a value in a known type's data, it does
//! not have) is forwarded as it is, logged and counted (`luna_relay_forwarded_undecoded_total`):
//! consumers that cannot read it skip it, newer ones read it. A row that cannot be published at
//! all (its payload not JSON, its channel unknown) is set aside as a dead letter, kept in the
//! store with its reason, counted (`luna_relay_dead_letters_total`) and logged, and the relay
//! carries on with the rows after it instead of failing on it at every pass.

use std::sync::Arc;
use std::time::Duration;

use bus::{DynBus, Publish};
use store::{DynStore, RelayLease};
use tokio::sync::Notify;

/// How many outbox rows one pass takes.
const BATCH: u32 = 256;
/// How long the relay sleeps when the outbox is empty and nobody pokes it.
const IDLE: Duration = Duration::from_millis(200);
/// How often a pass waiting on the bus uses the lease's session, so PostgreSQL does not end it as
/// idle (after 5 s) while the process is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// How long it backs off after an error.
const BACKOFF: Duration = Duration::from_secs(1);
/// How soon it retries when another server's relay holds the lease (whose pass may have read the
/// outbox before this server's newest commit).
const CONTENDED: Duration = Duration::from_millis(10);

/// Publishes one batch under the relay lease; returns how many outbox rows it dealt with
/// (published or set aside; 0 when another server's relay holds the lease: it publishes them).
pub async fn relay_once(store: &DynStore, bus: &DynBus) -> Result<usize, String> {
    relay_pass(store, bus).await.map(|n| n.unwrap_or(0))
}

/// Publishes one batch under the relay lease; `None` when another relay holds it (or took it
/// during the pass).
pub async fn relay_pass(store: &DynStore, bus: &DynBus) -> Result<Option<usize>, String> {
    let Some(mut lease) = store.relay_lease().await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let published = relay_under(&mut lease, store, bus).await;
    lease.release().await;
    published
}

/// One pass under `lease`, already taken: publishes the oldest unpublished events, stopping at
/// the first failure, and marks what went out. Unreadable rows among them are set aside first.
/// Returns how many rows it dealt with, or `None` when the lease turned out lost (PostgreSQL
/// ended its session: a frozen process, an administrator, a restart), checked before publishing,
/// every second while the bus publishes (which keeps the session from sitting idle, however slow
/// the bus) and again before marking: another relay may have the lease by then, so this one
/// stops without marking (what it published goes out again under the next holder, with the
/// same `source_id`) and takes the lease again at its next pass.
pub async fn relay_under(lease: &mut RelayLease, store: &DynStore, bus: &DynBus) -> Result<Option<usize>, String> {
    let outbox = store.unpublished_events(BATCH).await.map_err(|e| e.to_string())?;
    if !lease.still_held().await {
        tracing::warn!("outbox relay: lost the lease before publishing; this pass stops");
        return Ok(None);
    }
    let dead = set_aside(store, &outbox.unreadable).await?;
    // This version's events and newer versions' (forwarded as they are; `undecoded` says why this
    // version cannot read them), in id order.
    let mine = outbox.events.iter().map(|r| {
        let (event_type, data) = r.event.into_parts();
        let publish =
            Publish { channel: r.event.channel(), event_type, data, timestamp: r.created_at, source_id: Some(r.id) };
        ((r.id, None), publish)
    });
    // Services' events (the simulator's control events), as they were recorded.
    let service = outbox.service.into_iter().map(|f| ((f.id, None), as_recorded(f)));
    let newer = outbox.foreign.into_iter().map(|mut f| {
        let undecoded = Some((f.event_type.clone(), std::mem::take(&mut f.why)));
        ((f.id, undecoded), as_recorded(f))
    });
    let mut rows: Vec<_> = mine.chain(service).chain(newer).collect();
    rows.sort_by_key(|((id, _), _)| *id);
    let (rows, batch): (Vec<Row>, Vec<Publish>) = rows.into_iter().unzip();
    // In order, in one round trip where the bus can; what went out is a prefix of the batch.
    // Meanwhile the lease's session is kept busy: PostgreSQL ends a session idle for its bound
    // (5 s), and a bus that is slow but answers (its retries take longer) would otherwise lose
    // the lease at every pass, so the same batch went out again and again and was never marked.
    // Only a frozen process lets the session sit idle, as the bound intends.
    let publishing = bus.publish_many(batch);
    tokio::pin!(publishing);
    let mut lost = false;
    let (published, failure) = loop {
        tokio::select! {
            out = &mut publishing => break out,
            () = tokio::time::sleep(KEEP_ALIVE), if !lost => lost = !lease.still_held().await,
        }
    };
    let sent = &rows[..published.len()];
    for (id, (event_type, why)) in sent.iter().filter_map(|(id, u)| u.as_ref().map(|u| (id, u))) {
        tracing::info!(%id, %event_type, %why, known_type = domain::DomainEvent::knows_type(event_type),
            "outbox relay: forwarded an event this version cannot decode as it is");
        metrics::counter!("luna_relay_forwarded_undecoded_total").increment(1);
    }
    let done: Vec<_> = sent.iter().map(|(id, _)| *id).collect();
    if !done.is_empty() {
        if lost || !lease.still_held().await {
            tracing::warn!(published = done.len(), "outbox relay: lost the lease while publishing; not marking them");
            return Ok(None);
        }
        store.mark_published(&done).await.map_err(|e| e.to_string())?;
    }
    match failure {
        Some(e) => Err(e.to_string()),
        None => Ok(Some(dead + done.len())),
    }
}

/// A row published as it was recorded: a service's event, or a newer version's.
fn as_recorded(f: store::ForeignEvent) -> Publish {
    Publish {
        channel: f.channel,
        event_type: f.event_type,
        data: f.data,
        timestamp: f.created_at,
        source_id: Some(f.id),
    }
}

/// An outbox row in a batch: its id, and the type and why this version cannot decode it, when
/// it cannot.
type Row = (uuid::Uuid, Option<(String, String)>);

/// Sets unreadable rows aside as dead letters (kept with their reasons); how many.
async fn set_aside(store: &DynStore, rows: &[store::UnreadableEvent]) -> Result<usize, String> {
    if rows.is_empty() {
        return Ok(0);
    }
    store.set_aside_events(rows).await.map_err(|e| e.to_string())?;
    for row in rows {
        tracing::warn!(id = %row.id, event_type = %row.event_type, reason = %row.reason,
            "outbox relay: unreadable event set aside as a dead letter");
    }
    metrics::counter!("luna_relay_dead_letters_total").increment(rows.len() as u64);
    Ok(rows.len())
}

/// How long [`relay_now`] waits its turn, in all, while other relays hold the lease: far beyond
/// a pass (milliseconds), and well within a request's timeout. A lease held longer (another
/// server frozen mid-pass, a hung session, a slow bus) is not waited out: the caller is an HTTP
/// request (a pause, a stop), which answered a 408 after 30 s while its change was made; its
/// event waits in the outbox for the relay, which takes the lease as soon as it is free.
const NOW_CAP: Duration = Duration::from_secs(2);

/// Publishes what the outbox holds now, at once, for a caller that promises its event is on
/// the bus when it answers (the simulator's control events): passes under the lease until one
/// finds less than a batch, so every row committed before the call has gone out, in order with
/// the rows before it. While another relay holds the lease (it publishes them) it waits its
/// turn, [`NOW_CAP`] at most, then leaves them to the relay (an error); a backlog (the bus back
/// after a long outage) is published for [`NOW_CAP`] at most too, the rest left to the relay
/// (an error), so the request that called it is not held for the whole backlog. An error when the bus
/// (or the store) refuses: what is left waits in the outbox for the relay of [`run`], which
/// publishes it when the bus is back.
pub async fn relay_now(store: &DynStore, bus: &DynBus) -> Result<(), String> {
    let began = tokio::time::Instant::now();
    loop {
        match relay_pass(store, bus).await? {
            Some(n) if n == BATCH as usize && began.elapsed() < NOW_CAP => continue,
            Some(n) if n == BATCH as usize => {
                return Err(format!("more than a batch still waiting after {NOW_CAP:?}; left to the relay"));
            }
            Some(_) => return Ok(()),
            None if began.elapsed() < NOW_CAP => tokio::time::sleep(CONTENDED).await,
            None => return Err(format!("another relay held the lease for {NOW_CAP:?}")),
        }
    }
}

/// Runs the relay until the task is aborted (as the supervised task of [`crate::App::spawn_relay`]).
/// `wake` shortens the wait after a write.
pub async fn run(store: DynStore, bus: DynBus, wake: Arc<Notify>) {
    loop {
        match relay_pass(&store, &bus).await {
            Ok(Some(n)) if n == BATCH as usize => continue,
            Ok(Some(_)) => {
                tokio::select! {
                    _ = wake.notified() => {},
                    _ = tokio::time::sleep(IDLE) => {},
                }
            }
            Ok(None) => tokio::time::sleep(CONTENDED).await,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay: will retry");
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}
