//! Supervision of the server's long-running background tasks (the outbox relay, the engine
//! follower, the metrics watcher and snapshots, the booking janitor, the admin-token follower).
//! Each runs under [`Tasks::supervise`]: a task that panics or returns (none is meant to) is
//! logged as an error, counted in `luna_background_task_restarts_total{task}`, shown as `down`
//! in [`Tasks::report`] (which `/health` serves) and started again after a backoff of 100 ms,
//! doubling up to 30 s (back to 100 ms once a run lasted 30 s). Before, such a task stopped its
//! pipeline in silence while `/health` stayed green. Aborting the handle stops the task and its
//! supervision together (the task runs inside the supervisor's own tokio task).

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use utoipa::ToSchema;

/// The first wait before a restart, and the longest.
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// The background tasks of a process and how each is doing.
#[derive(Debug, Default)]
pub struct Tasks {
    tasks: Mutex<BTreeMap<&'static str, Entry>>,
    /// Tells apart two supervisions of one name (a task stopped and started again).
    next_run: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    run: u64,
    health: TaskHealth,
}

/// How one background task is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TaskHealth {
    /// `running`, or `down` between a failure and its restart.
    pub status: String,
    /// Restarts since the server started.
    pub restarts: u64,
    /// Why it last stopped (`panicked: ...` or `ended`), if it ever did.
    pub last_failure: Option<String>,
}

impl Tasks {
    /// Runs the future `start` makes as the background task `name`, again after a backoff
    /// whenever it panics or ends. See the module documentation.
    pub fn supervise<F, Fut>(self: &Arc<Self>, name: &'static str, start: F) -> JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let run = self.next_run.fetch_add(1, Ordering::Relaxed);
        self.set(name, run, |h| h.status = "running".into());
        let tasks = Arc::clone(self);
        tokio::spawn(async move {
            // Forgets the task when its supervision is aborted (the server stopping it).
            let _registered = Registered { tasks: &tasks, name, run };
            let mut delay = FIRST_DELAY;
            loop {
                let started = Instant::now();
                // A panic making the task counts as one of the task's.
                let outcome = match std::panic::catch_unwind(AssertUnwindSafe(&start)) {
                    Ok(task) => AssertUnwindSafe(task).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                let reason = match outcome {
                    Ok(()) => "ended".to_string(),
                    Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
                };
                if started.elapsed() >= MAX_DELAY {
                    delay = FIRST_DELAY;
                }
                tracing::error!(
                    task = name,
                    reason,
                    restart_in_ms = delay.as_millis() as u64,
                    "background task stopped"
                );
                tasks.set(name, run, |h| {
                    h.status = "down".into();
                    h.last_failure = Some(reason);
                });
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                // Counted as it restarts (a supervision aborted while down restarts nothing).
                metrics::counter!("luna_background_task_restarts_total", "task" => name).increment(1);
                tasks.set(name, run, |h| {
                    h.status = "running".into();
                    h.restarts += 1;
                });
            }
        })
    }

    /// Every supervised task by name.
    pub fn report(&self) -> BTreeMap<String, TaskHealth> {
        self.lock().iter().map(|(name, e)| (name.to_string(), e.health.clone())).collect()
    }

    /// Whether every supervised task is running.
    pub fn all_running(&self) -> bool {
        self.lock().values().all(|e| e.health.status == "running")
    }

    /// Updates `name`'s entry of supervision `run` (a newer supervision of the name replaces it).
    fn set(&self, name: &'static str, run: u64, update: impl FnOnce(&mut TaskHealth)) {
        let mut tasks = self.lock();
        let fresh = || Entry { run, health: TaskHealth { status: "running".into(), restarts: 0, last_failure: None } };
        let entry = tasks.entry(name).or_insert_with(fresh);
        if entry.run < run {
            *entry = fresh();
        }
        if entry.run == run {
            update(&mut entry.health);
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Entry>> {
        // Nothing panics while holding it; a poisoned map is still whole.
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes a supervision's entry when it is dropped (aborted), unless a newer one took it.
struct Registered<'a> {
    tasks: &'a Tasks,
    name: &'static str,
    run: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut tasks = self.tasks.lock();
        if tasks.get(self.name).is_some_and(|e| e.run == self.run) {
            tasks.remove(self.name);
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(no message)".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    /// Polls `tasks` until `name` is in state `status` with `restarts`, for up to 5 s.
    async fn becomes(tasks: &Tasks, name: &str, status: &str, restarts: u64) -> TaskHealth {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let health = tasks.report().get(name).cloned();
            if let Some(h) = health.filter(|h| h.status == status && h.restarts == restarts) {
                return h;
            }
            assert!(Instant::now() < deadline, "{name} never became {status} after {restarts}: {:?}", tasks.report());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Before, a panicking task stayed dead: nothing ran it again and nothing said so.
    #[tokio::test]
    async fn a_task_that_panics_is_shown_down_then_restarted_with_a_growing_backoff() {
        let tasks = Arc::new(Tasks::default());
        let runs = Arc::new(AtomicU32::new(0));
        let started = Instant::now();
        let handle = tasks.supervise("flaky", {
            let runs = Arc::clone(&runs);
            move || {
                let runs = Arc::clone(&runs);
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                        panic!("boom");
                    }
                    std::future::pending::<()>().await
                }
            }
        });
        let down = becomes(&tasks, "flaky", "down", 0).await;
        assert_eq!(down.last_failure.as_deref(), Some("panicked: boom"));
        assert!(!tasks.all_running());
        let up = becomes(&tasks, "flaky", "running", 2).await;
        assert_eq!(up.last_failure.as_deref(), Some("panicked: boom"), "the last failure is kept");
        assert!(tasks.all_running());
        assert_eq!(runs.load(Ordering::SeqCst), 3, "started three times");
        assert!(started.elapsed() >= Duration::from_millis(300), "waited 100 ms, then 200 ms");
        handle.abort();
        let _ = handle.await;
        assert!(tasks.report().is_empty(), "a stopped supervision is forgotten");
    }

    /// Before, a panic in the factory that makes the task killed the supervision itself, and
    /// the task vanished from the report.
    #[tokio::test]
    async fn a_task_whose_making_panics_is_shown_down_and_tried_again() {
        let tasks = Arc::new(Tasks::default());
        let handle = tasks.supervise("unmade", || -> std::future::Pending<()> { panic!("no config") });
        let down = becomes(&tasks, "unmade", "down", 1).await;
        assert_eq!(down.last_failure.as_deref(), Some("panicked: no config"));
        handle.abort();
    }

    #[tokio::test]
    async fn a_task_that_ends_is_restarted_and_a_new_supervision_of_a_name_replaces_the_old() {
        let tasks = Arc::new(Tasks::default());
        let old = tasks.supervise("once", || async {});
        let down = becomes(&tasks, "once", "down", 0).await;
        assert_eq!(down.last_failure.as_deref(), Some("ended"));
        // Started again after the backoff, it ends again.
        assert_eq!(becomes(&tasks, "once", "down", 1).await.last_failure.as_deref(), Some("ended"));
        let new = tasks.supervise("once", std::future::pending::<()>);
        old.abort();
        let _ = old.await;
        assert_eq!(becomes(&tasks, "once", "running", 0).await.last_failure, None, "the new one is kept");
        new.abort();
    }
}
