//! The outbox relay: publishes committed events from the store's outbox to the bus, oldest
//! first, and marks them published. At-least-once: a crash between publish and mark publishes
//! again on restart with the same `source_id`, so consumers can de-duplicate. If the bus is
//! down, events wait in the outbox and go out when it returns. Servers sharing one database each
//! run a relay; every pass runs under the store's relay lease, so only one publishes at a time
//! (per-channel order holds, nothing is published twice in normal operation) and each server
//! still publishes its own writes promptly when it is woken.

use std::sync::Arc;
use std::time::Duration;

use bus::{DynBus, Publish};
use store::DynStore;
use tokio::sync::Notify;

/// How many outbox rows one pass takes.
const BATCH: u32 = 256;
/// How long the relay sleeps when the outbox is empty and nobody pokes it.
const IDLE: Duration = Duration::from_millis(200);
/// How long it backs off after an error.
const BACKOFF: Duration = Duration::from_secs(1);
/// How soon it retries when another server's relay holds the lease (whose pass may have read the
/// outbox before this server's newest commit).
const CONTENDED: Duration = Duration::from_millis(10);

/// Publishes one batch under the relay lease; returns how many events went out (0 when another
/// server's relay holds the lease: it publishes them).
pub async fn relay_once(store: &DynStore, bus: &DynBus) -> Result<usize, String> {
    relay_pass(store, bus).await.map(|n| n.unwrap_or(0))
}

/// Publishes one batch under the relay lease; `None` when another relay holds it.
pub async fn relay_pass(store: &DynStore, bus: &DynBus) -> Result<Option<usize>, String> {
    let Some(lease) = store.relay_lease().await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let published = publish_batch(store, bus).await;
    lease.release().await;
    published.map(Some)
}

/// Publishes the oldest unpublished events, stopping at the first failure; marks what went out.
async fn publish_batch(store: &DynStore, bus: &DynBus) -> Result<usize, String> {
    let records = store.unpublished_events(BATCH).await.map_err(|e| e.to_string())?;
    let batch = records
        .iter()
        .map(|r| {
            let (event_type, data) = r.event.into_parts();
            Publish { channel: r.event.channel(), event_type, data, timestamp: r.created_at, source_id: Some(r.id) }
        })
        .collect();
    // In order, in one round trip where the bus can; what went out is a prefix of the batch.
    let (published, failure) = bus.publish_many(batch).await;
    let done: Vec<_> = records.iter().take(published.len()).map(|r| r.id).collect();
    if !done.is_empty() {
        store.mark_published(&done).await.map_err(|e| e.to_string())?;
    }
    match failure {
        Some(e) => Err(e.to_string()),
        None => Ok(done.len()),
    }
}

/// Runs the relay until the task is aborted. `wake` shortens the wait after a write.
pub fn spawn(store: DynStore, bus: DynBus, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
    })
}
