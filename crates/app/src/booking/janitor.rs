//! The booking janitor: a background task that releases holds left pending by an agent that
//! died between its two transactions (after `hold_ttl_secs`, cancelling them at the provider
//! too), removes idempotency keys that were abandoned in flight or answered long ago, and
//! cancels the plans whose start time came while they were still being organised
//! ([`App::cancel_expired_plans`]).

use std::time::Duration;

use crate::App;

/// How often the janitor looks.
pub(crate) const EVERY: Duration = Duration::from_secs(30);
/// Holds released per pass at most.
const BATCH: u32 = 200;

impl App {
    /// One pass; returns how many holds were released.
    pub async fn sweep_bookings(&self) -> crate::AppResult<usize> {
        let s = &self.settings.booking;
        let now = self.now();
        let cutoff = now - chrono::Duration::seconds(s.hold_ttl_secs as i64);
        let mut released = 0;
        for hold in self.store.stale_holds(cutoff, BATCH).await? {
            self.booking.give_back(&hold).await;
            released += usize::from(self.store.release_hold(hold.id, "expired", None).await?);
        }
        let answered_before = now - chrono::Duration::hours(s.idempotency_ttl_hours as i64);
        self.store.purge_idempotency_keys(cutoff, answered_before).await?;
        if released > 0 {
            tracing::info!(released, "released expired booking holds");
            self.wrote();
        }
        Ok(released)
    }
}

/// Runs [`App::sweep_bookings`] and [`App::cancel_expired_plans`] every 30 seconds (the
/// supervised task `booking_janitor`).
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    let tasks = app.tasks.clone();
    tasks.supervise("booking_janitor", move || sweep_forever(app.clone()))
}

async fn sweep_forever(app: App) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = app.sweep_bookings().await {
            tracing::warn!(error = %e, "booking janitor pass failed");
        }
        if let Err(e) = app.cancel_expired_plans(app.now()).await {
            tracing::warn!(error = %e, "janitor pass over plans whose time has come failed");
        }
    }
}
