//! The outbox relay: publishes committed events from the store's outbox to the bus, oldest
//! first, and marks them published. At-least-once: a crash between publish and mark publishes
//! again on restart with the same `source_id`, so consumers can de-duplicate. If the bus is
//! down, events wait in the outbox and go out when it returns.

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

/// Publishes one batch; returns how many events went out.
pub async fn relay_once(store: &DynStore, bus: &DynBus) -> Result<usize, String> {
    let records = store.unpublished_events(BATCH).await.map_err(|e| e.to_string())?;
    let mut done = Vec::with_capacity(records.len());
    let mut failure = None;
    for r in records {
        let (event_type, data) = r.event.into_parts();
        let publish = Publish { channel: r.event.channel(), event_type, data, timestamp: r.created_at, source_id: Some(r.id) };
        match bus.publish(publish).await {
            Ok(_) => done.push(r.id),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    if !done.is_empty() {
        store.mark_published(&done).await.map_err(|e| e.to_string())?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(done.len()),
    }
}

/// Runs the relay until the task is aborted. `wake` shortens the wait after a write.
pub fn spawn(store: DynStore, bus: DynBus, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match relay_once(&store, &bus).await {
                Ok(n) if n == BATCH as usize => continue,
                Ok(_) => {
                    tokio::select! {
                        _ = wake.notified() => {},
                        _ = tokio::time::sleep(IDLE) => {},
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: will retry");
                    tokio::time::sleep(BACKOFF).await;
                }
            }
        }
    })
}
