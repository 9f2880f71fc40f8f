//! The controller: one run at a time, driven by start, pause, resume, stop, reset, speed and
//! scenario triggers. Transitions that make no sense (pausing a stopped run, starting while
//! one runs) are `Conflict`s. Every change is announced on the bus's `simulation` channel
//! ([`SimEvent`]: `simulation.started`, `.paused`, `.resumed`, `.speed_changed`,
//! `.scenario_triggered`, `.stopped`, `.finished`, `.reset`), through the outbox ([`publish`]):
//! recorded, then relayed at once, so "on the bus" below means published unless the bus
//! refused it, in which case it waits in the outbox, in order, until the relay publishes it
//! when the bus is back; the actions themselves publish their own events through the outbox
//! like any request. A data reset or forced reseed stops the run first
//! ([`Simulator::while_stopped`]), and one made by another process stops it when its
//! `data.reset` event arrives ([`stop_on_data_reset`]); a run without a duration stops itself
//! when its clock reaches the booking horizon as of its start ([`super::horizon`]). Every stop takes
//! one path: its reason ([`StopReason`]) is recorded in the run's control, the runner ends
//! between ticks (a runner that panics ends there too, as `failed`), and the run's task
//! announces `simulation.stopped` with the final state before that state reads `stopped`.
//!
//! The controller's lock (the slot) is a plain mutex held only to look at or change a run,
//! never across an await (clippy's `await_holding_lock`): a stop records its reason under it
//! and waits for the run's end outside it. So a bus that hangs on an announcement (a Redis
//! that answers only at its timeout) holds up only the calls that wait for that run's end (the
//! stop itself, a start, reset or data reset after it), never a read, a pause or a speed
//! change, which answer at once (a run being stopped takes no more changes: `Conflict`).
//! Changes (pause, resume, speed, scenario) take turns on their own lock from the change to its
//! announcement, which a start holds while it announces the run: a hanging announcement of
//! one of those holds up the changes after it and the run's end, announced after it (a stop
//! answers once its announcement is on the bus), never a read.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwapOption;
use bus::Publish;
use domain::{Channel, Timestamp};
use futures::FutureExt;
use serde_json::json;
use tokio::sync::{Mutex, broadcast};

use super::action::ActionLog;
use super::clock::{TICK_SECONDS, tick_time};
use super::executor::RECOMMENDER;
use super::load::load_world;
use super::metrics::MetricsSnapshot;
use super::runner::{Runner, Shared};
use super::scenario::{ScenarioId, default_start};
use super::state::{Progress, SimState, SimStatus, StopReason, idle_state};
use super::{RunOptions, Speed, check_span, horizon};
use crate::seed::SeedOptions;
use crate::{App, AppError, AppResult};

/// How long a pause waits for the tick under way to end.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

/// What the state and metrics of a run are read from: everything about it but its task.
struct RunView {
    shared: Arc<Shared>,
    opts: RunOptions,
    started_at: Timestamp,
    ends_at: Option<Timestamp>,
    tz: chrono_tz::Tz,
    /// The world's users at the start; those who left since ([`Shared::departed`]) are not counted.
    active_users: usize,
    seeded: bool,
    /// Whether a caller (a stop, a data reset) has asked for the stop to be announced; read and
    /// set under the run's control lock. A reset silences the announcement only when none has.
    stop_asked: AtomicBool,
}

impl RunView {
    fn status(&self) -> SimStatus {
        match *self.shared.status.borrow() {
            SimStatus::Running if self.shared.lock_control().paused => SimStatus::Paused,
            s => s,
        }
    }

    /// Whether its task has not ended yet (it may be stopping).
    fn is_live(&self) -> bool {
        *self.shared.status.borrow() == SimStatus::Running
    }

    /// Live and not asked to stop: what a pause, resume, speed change or trigger acts on.
    fn is_active(&self) -> bool {
        self.is_live() && self.shared.lock_control().stop.is_none()
    }

    /// Asks the run to stop for `reason` (unless it already was: the first reason stands). Its
    /// task announces the stop unless only quiet asks (`announce` false: a reset) came, or
    /// before any other the run's own stop at the horizon: a caller's ask for the announcement
    /// stands whenever a reset comes.
    fn ask_stop(&self, reason: StopReason, announce: bool) {
        {
            let mut c = self.shared.lock_control();
            c.stop.get_or_insert(reason);
            if announce {
                self.stop_asked.store(true, Ordering::Relaxed);
                c.announce_stop = true;
            } else if !self.stop_asked.load(Ordering::Relaxed) {
                // A reset stays quiet even when the run had just stopped itself (the horizon).
                c.announce_stop = false;
            }
        }
        self.shared.wake.notify_one();
    }

    /// Waits until the run's task has ended (its `simulation.stopped` or `.finished`, if any,
    /// is on the bus by then) and answers its final state.
    async fn ended(&self) -> SimState {
        let mut status = self.shared.status.subscribe();
        // The sender lives in `shared`, which `self` holds: this waits for the end only.
        let _ = status.wait_for(|&s| s != SimStatus::Running).await;
        self.state()
    }

    fn state(&self) -> SimState {
        self.state_as(self.status())
    }

    /// The state with `status` (the run's task announces a stop before setting it).
    fn state_as(&self, status: SimStatus) -> SimState {
        let (p, m) = (self.shared.lock_progress().clone(), self.shared.metrics.snapshot(RECOMMENDER));
        let speed = self.shared.lock_control().speed;
        SimState {
            status,
            // As in the first seed document: a paused run is still running, and paused.
            running: matches!(status, SimStatus::Running | SimStatus::Paused),
            paused: status == SimStatus::Paused,
            scenario: p.scenario,
            speed: Some(speed),
            speed_multiplier: speed.multiplier(),
            seed: Some(self.opts.seed),
            // Those deleted during the run left it.
            active_users: self.active_users.saturating_sub(self.shared.departed.len()),
            simulation_time: Some(p.simulation_time),
            started_at: Some(self.started_at),
            ends_at: self.ends_at,
            timezone: Some(self.tz.name().to_string()),
            ticks: p.ticks,
            events_generated: m.events_generated,
            bookings_created: m.bookings_created,
            invites_sent: m.invites_sent,
            action_log_hash: Some(p.action_log_hash),
            actions_logged: p.actions_logged,
            seeded_demo_city: self.seeded,
            stop_reason: if status == SimStatus::Stopped { self.shared.lock_control().stop } else { None },
        }
    }
}

/// Runs simulations on an app, one at a time. A start, a reset and a data reset take turns on
/// the gate and may wait there (a start that seeds the demo city, the end of the run before
/// them). Control actions look at and change the run under the slot, briefly, and wait (a
/// pause or a stop for the tick under way, a stop for its announcement) outside it. Reading
/// the state, the metrics or the log never waits for either: it reads the latest run's view.
pub struct Simulator {
    app: App,
    /// Held by whatever must not overlap a start (another start, a reset, a data reset), across
    /// its I/O. Stop, pause, resume, speed and scenario changes never take it.
    gate: Mutex<()>,
    /// Held by a control change (pause, resume, speed, scenario) from its change through its
    /// wait and its announcement, by a start while it announces the run, and by a reset (after
    /// the gate), so their events reach the bus in the order they were made. A stop never takes
    /// it; a change and the run's end take turns on the run's own lock to announce
    /// (`Shared::announcing`), so no change is announced after `simulation.stopped`.
    changes: Mutex<()>,
    /// The latest run, for control actions; never held across an await.
    slot: std::sync::Mutex<Option<Arc<RunView>>>,
    current: ArcSwapOption<RunView>,
}

impl Simulator {
    pub fn new(app: App) -> Self {
        Self {
            app,
            gate: Mutex::new(()),
            changes: Mutex::new(()),
            slot: std::sync::Mutex::new(None),
            current: ArcSwapOption::empty(),
        }
    }

    fn lock_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<RunView>>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest run if its task has not ended.
    fn live(&self) -> Option<Arc<RunView>> {
        self.lock_slot().clone().filter(|r| r.is_live())
    }

    /// Starts a run. An empty database is first seeded with `seed_if_empty`, or refused
    /// (`Conflict`) when that is `None`. `Conflict` while another run is going. Options that
    /// [`RunOptions::validate`] refuses are refused before anything is written.
    #[tracing::instrument(skip_all, fields(scenario = opts.scenario.as_str(), users = opts.users, seed = opts.seed), err(level = "debug"))]
    pub async fn start(&self, opts: RunOptions, seed_if_empty: Option<SeedOptions>) -> AppResult<SimState> {
        let now = self.app.now();
        opts.validate(now)?;
        // Data resets heard of from now on; those made before the gate let this start through
        // (one made here, which held it, or one made elsewhere meanwhile) come before the data
        // the run loads and are not its own.
        let resets = self.app.data_resets.subscribe();
        // Deletions heard from before the run loads its users: a user deleted meanwhile leaves it.
        let deletions = self.app.user_deletions.subscribe();
        let _gate = self.gate.lock().await;
        let loads_at = self.app.now().timestamp_millis();
        if let Some(previous) = self.live() {
            if previous.is_active() {
                return Err(AppError::conflict("a simulation is already running: stop or reset it first"));
            }
            // Being stopped: its end (and its `simulation.stopped`) comes before this start.
            previous.ended().await;
        }
        let (mut seeded, mut anchor) = (false, None);
        if self.app.store.counts().await?.users == 0 {
            let Some(seed) = seed_if_empty else {
                return Err(AppError::conflict(
                    "the database has no users to simulate: seed it first (POST /api/v1/admin/data/seed or `luna seed`)",
                ));
            };
            let report = self.app.seed_demo(seed).await?;
            (seeded, anchor) = (report.seeded, report.as_of);
        }
        let world = Arc::new(load_world(&self.app, opts.users).await?);
        if world.users.is_empty() || world.venues.is_empty() {
            return Err(AppError::conflict("the database needs users and venues to simulate: seed it first"));
        }
        // By default a run follows the data: the city it just seeded, else the demo city's pinned
        // anchor, else the current hour (where a city seeded now ends its history).
        let anchor =
            anchor.or(self.app.settings.demo.as_of).unwrap_or_else(|| crate::seed::current_anchor(self.app.now()));
        let started_at = opts.start_at.unwrap_or_else(|| default_start(opts.scenario, anchor, world.tz()));
        // A given start was checked above; the default one (up to a week past the anchor, in
        // the city's time zone) is known only now, so its end is checked here. Only a duration
        // within a week of the 366-day maximum can fail here; on an empty database the demo
        // city seeded above then stays (a valid seed; the run itself writes nothing).
        check_span(started_at, opts.duration, now)?;
        let end_tick = opts.duration.map(|d| (d.num_seconds() / TICK_SECONDS).max(1) as u64);
        // A run without a duration stops itself at the horizon as of now: whole minutes only, so
        // its clock ends at or before it, as a run with a duration ending there would. The
        // horizon moves on with the wall clock, so every write up to it stays within the
        // booking rules whenever it is made; and the tick it stops at is fixed at the start.
        let horizon_tick = ((horizon(now) - started_at).num_seconds() / TICK_SECONDS).max(0) as u64;
        let progress = Progress {
            ticks: 0,
            simulation_time: started_at,
            scenario: opts.scenario,
            action_log_hash: ActionLog::new(0).hash_hex(),
            actions_logged: 0,
        };
        let shared = Arc::new(Shared::new(opts.speed, progress));
        let runner = Runner::new(
            self.app.clone(),
            Arc::clone(&world),
            Arc::clone(&shared),
            &opts,
            started_at,
            end_tick,
            horizon_tick,
        );
        let ends_at = end_tick.map(|t| tick_time(started_at, t));
        let tz = world.tz();
        let view = Arc::new(RunView {
            shared,
            opts,
            started_at,
            ends_at,
            tz,
            active_users: world.users.len(),
            seeded,
            stop_asked: AtomicBool::new(false),
        });
        let state = view.state();
        // The state reads it running and a stop finds it at once, while its start is announced.
        // The announcement comes before any change's (they wait for `changes`) and before its
        // stop's (its task, which announces that, is spawned only after), even when it stops at
        // once (a start at the horizon, or a stop sent meanwhile).
        let changes = self.changes.lock().await;
        *self.lock_slot() = Some(Arc::clone(&view));
        self.current.store(Some(Arc::clone(&view)));
        self.publish(SimEvent::Started, &state).await;
        drop(changes);
        tokio::spawn(stop_on_data_reset(resets, Arc::clone(&view), loads_at));
        tokio::spawn(leave_on_user_deleted(deletions, Arc::clone(&view), Arc::clone(&world)));
        tokio::spawn(end_of(self.app.clone(), view, runner.run()));
        Ok(state)
    }

    /// The active run, or `Conflict` naming what was asked.
    fn active(slot: &Option<Arc<RunView>>, what: &str) -> AppResult<Arc<RunView>> {
        match slot.as_ref().filter(|r| r.is_live()) {
            Some(run) if run.is_active() => Ok(Arc::clone(run)),
            Some(_) => Err(AppError::conflict(format!("the simulation is stopping: cannot {what}"))),
            None => Err(AppError::conflict(format!("no simulation is running: cannot {what}"))),
        }
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn pause(&self) -> AppResult<SimState> {
        self.change("pause", SimEvent::Paused, true, |run| {
            let mut c = run.shared.lock_control();
            if c.paused {
                return Err(AppError::conflict("the simulation is already paused"));
            }
            c.paused = true;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn resume(&self) -> AppResult<SimState> {
        self.change("resume", SimEvent::Resumed, false, |run| {
            let mut c = run.shared.lock_control();
            if !c.paused {
                return Err(AppError::conflict("the simulation is not paused"));
            }
            c.paused = false;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(%speed), err(level = "debug"))]
    pub async fn set_speed(&self, speed: Speed) -> AppResult<SimState> {
        self.change("change its speed", SimEvent::SpeedChanged, false, |run| {
            run.shared.lock_control().speed = speed;
            Ok(())
        })
        .await
    }

    /// Switches the running simulation to `scenario` now.
    #[tracing::instrument(skip_all, fields(scenario = scenario.as_str()), err(level = "debug"))]
    pub async fn trigger(&self, scenario: ScenarioId) -> AppResult<SimState> {
        self.change("trigger a scenario", SimEvent::ScenarioTriggered, false, |run| {
            run.shared.lock_control().triggers.push(scenario);
            run.shared.lock_progress().scenario = scenario;
            Ok(())
        })
        .await
    }

    /// Applies `f` to the active run, wakes the runner and announces `event`. With `settle`, it
    /// first waits (a few seconds at most) for the runner to park between ticks or end, so a
    /// pause's answer holds the last tick that will run, and none runs after it. One change at
    /// a time, from its change to its announcement: a resume sent while a pause waits comes
    /// after it, on the bus too.
    async fn change(
        &self,
        what: &str,
        event: SimEvent,
        settle: bool,
        f: impl FnOnce(&RunView) -> AppResult<()>,
    ) -> AppResult<SimState> {
        let _changes = self.changes.lock().await;
        let (run, mut parked, mut status) = {
            let slot = self.lock_slot();
            let run = Self::active(&slot, what)?;
            f(&run)?;
            run.shared.wake.notify_one();
            let (parked, status) = (run.shared.parked.subscribe(), run.shared.status.subscribe());
            (run, parked, status)
        };
        if settle {
            let settled = async {
                tokio::select! {
                    _ = parked.wait_for(|&p| p) => {},
                    _ = status.wait_for(|&s| s != SimStatus::Running) => {},
                }
            };
            if tokio::time::timeout(SETTLE, settled).await.is_err() {
                tracing::warn!("the simulation runner did not park within {SETTLE:?} of a pause");
            }
            // It ended (its duration ran out) before it could park: nothing is running to change.
            if !run.is_active() {
                return Err(AppError::conflict(format!("the simulation ended before it could {what}")));
            }
        }
        // A run that ended meanwhile (a stop, its duration) has announced its end: a change
        // announced after that would read as a change of a run that is over.
        let ended = run.shared.announcing.lock().await;
        if *ended {
            return Err(AppError::conflict(format!("the simulation ended before it could {what}")));
        }
        let state = run.state();
        self.publish(event, &state).await;
        drop(ended);
        Ok(state)
    }

    /// Stops the run and waits for its current tick to end; `simulation.stopped` is on the bus
    /// when this returns (or, if the bus refused it, in the outbox for the relay). A run that
    /// had just stopped itself at the booking horizon, or that another call is stopping,
    /// answers once it has ended, with the first reason. The wait holds nothing: other control
    /// actions answer meanwhile.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn stop(&self) -> AppResult<SimState> {
        let run = self.live().ok_or_else(|| AppError::conflict("no simulation is running: cannot stop"))?;
        run.ask_stop(StopReason::Requested, true);
        Ok(run.ended().await)
    }

    /// Stops the active run, if any, as the server shuts down: as [`Simulator::stop`] does, with
    /// the reason `shutdown` and its `simulation.stopped`, so those watching (the dashboard,
    /// another server's streams) do not see it running on. Waits `within` at most for the tick
    /// under way.
    #[tracing::instrument(skip_all)]
    pub async fn shut_down(&self, within: std::time::Duration) {
        let Some(run) = self.live() else { return };
        run.ask_stop(StopReason::Shutdown, true);
        match tokio::time::timeout(within, run.ended()).await {
            Ok(state) => tracing::info!(ticks = state.ticks, "simulation stopped for the shutdown"),
            Err(_) => tracing::warn!(?within, "the simulation did not stop in time for the shutdown"),
        }
    }

    /// Runs `work` (a data reset or a forced reseed) with no simulation running. The active
    /// run, if any, is stopped first as [`Simulator::stop`] stops it: its `simulation.stopped`
    /// is published (with the reason `data_reset`) and its state and metrics stay readable as a
    /// stopped run's. No run can start until `work` is done (it holds the gate a start takes),
    /// so none acts for users who are being deleted.
    #[tracing::instrument(skip_all)]
    pub async fn while_stopped<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let _gate = self.gate.lock().await;
        if let Some(run) = self.live() {
            run.ask_stop(StopReason::DataReset, true);
            let state = run.ended().await;
            tracing::info!(ticks = state.ticks, "simulation stopped for a data reset");
        }
        work.await
    }

    /// Stops any run and forgets it (metrics included). Stored data is left alone. Only
    /// `simulation.reset` is announced (no `simulation.stopped`).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn reset(&self) -> AppResult<SimState> {
        let gate = self.gate.lock().await;
        // A change under way publishes before the reset does (gate, then changes, as a start).
        let changes = self.changes.lock().await;
        if let Some(run) = self.live() {
            run.ask_stop(StopReason::Requested, false);
            run.ended().await;
        }
        *self.lock_slot() = None;
        self.current.store(None);
        // Under the gate: no start's `simulation.started` comes before it.
        self.publish(SimEvent::Reset, &json!({})).await;
        drop(changes);
        drop(gate);
        Ok(idle_state())
    }

    pub async fn state(&self) -> SimState {
        self.current.load().as_deref().map_or_else(idle_state, RunView::state)
    }

    pub async fn metrics(&self) -> MetricsSnapshot {
        self.current.load().as_deref().map_or_else(
            || super::metrics::Metrics::default().snapshot(RECOMMENDER),
            |r| r.shared.metrics.snapshot(RECOMMENDER),
        )
    }

    /// The metrics and the state of one run (the latest), read together: a start or reset
    /// between two separate reads would mix two runs.
    pub async fn metrics_and_state(&self) -> (MetricsSnapshot, SimState) {
        match self.current.load().as_deref() {
            Some(r) => (r.shared.metrics.snapshot(RECOMMENDER), r.state()),
            None => (super::metrics::Metrics::default().snapshot(RECOMMENDER), idle_state()),
        }
    }

    /// Waits until the run ends (duration reached or stopped); the `simulation.finished` or
    /// `simulation.stopped` that announces its end is on the bus by then.
    pub async fn wait(&self) -> SimState {
        let Some(mut status) = self.current.load().as_deref().map(|r| r.shared.status.subscribe()) else {
            return idle_state();
        };
        let _ = status.wait_for(|s| matches!(s, SimStatus::Stopped | SimStatus::Finished)).await;
        self.state().await
    }

    /// The kept lines of the last run's action log, once it has ended.
    pub async fn log_lines(&self) -> Vec<String> {
        let log = self.current.load().as_deref().and_then(|r| r.shared.log.lock().ok().and_then(|l| l.clone()));
        log.map(|l| l.lines().to_vec()).unwrap_or_default()
    }

    async fn publish<T: serde::Serialize + Sync + ?Sized>(&self, event: SimEvent, data: &T) {
        publish(&self.app, event, data).await;
    }
}

/// A run's task: runs it (`run`, the runner's [`Runner::run`]), then announces how it stopped
/// and sets its status, in that order, so whoever reads the run stopped (a [`Simulator::stop`]
/// returning, a poll of its state, a [`Simulator::wait`]) finds its `simulation.stopped` already
/// on the bus. Whoever stopped it (a stop, a data reset, the run itself at the booking horizon),
/// it is announced here, once. A run that panics is stopped the same way, with the reason
/// [`StopReason::Failed`] (in place of any asked before): announced, unless only a reset asked
/// for its stop (it announces `simulation.reset`), so nothing that follows the events takes it
/// for a run still going.
async fn end_of(app: App, view: Arc<RunView>, run: impl Future<Output = SimStatus>) {
    let _ended = EndGuard(Arc::clone(&view));
    let status = match AssertUnwindSafe(run).catch_unwind().await {
        Ok(status) => status,
        Err(_) => {
            tracing::error!("the simulation run panicked: stopping it as failed");
            view.shared.lock_control().stop = Some(StopReason::Failed);
            SimStatus::Stopped
        }
    };
    let announce = {
        let c = view.shared.lock_control();
        c.stop.is_some() && c.announce_stop
    };
    // After the announcement of a change under way, and before any change's after it. A run
    // that announced its end itself (`simulation.finished`) is not announced again.
    let mut ended = view.shared.announcing.lock().await;
    if status == SimStatus::Stopped && announce && !*ended {
        publish(&app, SimEvent::Stopped, &view.state_as(status)).await;
    }
    *ended = true;
    drop(ended);
    view.shared.status.send_replace(status);
}

/// Stops `run` when the engine follower hears of a data reset made after `loads_at` (when the
/// run began to load its data) by another process (another server on the same database, `luna
/// seed --force`), as [`Simulator::while_stopped`] stops it for a reset made here: with the
/// reason `data_reset` and its `simulation.stopped`. Ends with the run.
///
/// The reset's time is read off the clock of the process that made it: a reset made elsewhere
/// within the two clocks' difference of the run's start may be taken for one made before it (or
/// after it). So many resets that the channel dropped some (16 waiting) stop the run too. A
/// reset whose event the follower never applies (it lagged and reloaded instead) stops nothing.
async fn stop_on_data_reset(mut resets: broadcast::Receiver<i64>, run: Arc<RunView>, loads_at: i64) {
    let mut status = run.shared.status.subscribe();
    loop {
        tokio::select! {
            reset = resets.recv() => match reset {
                Ok(at) if at <= loads_at => {} // made before the run loaded its data
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    tracing::info!("a data reset made by another process: stopping the simulation");
                    run.ask_stop(StopReason::DataReset, true);
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = status.wait_for(|&s| s != SimStatus::Running) => return,
        }
    }
}

/// Marks each of the run's users deleted while it goes on as having left it
/// ([`super::executor::Departed`]): they open no more sessions, get no requests or invitations,
/// are picked by no one and are not counted in `active_users`. Ends with the run. Deletions the
/// channel dropped (1024 waiting) are still found by the first action naming them that fails.
async fn leave_on_user_deleted(
    mut deletions: broadcast::Receiver<domain::UserId>,
    run: Arc<RunView>,
    world: Arc<super::world::World>,
) {
    let index: std::collections::HashMap<_, u32> =
        world.users.iter().enumerate().map(|(i, u)| (u.id, i as u32)).collect();
    let mut status = run.shared.status.subscribe();
    loop {
        tokio::select! {
            deleted = deletions.recv() => match deleted {
                Ok(id) => {
                    if let Some(&u) = index.get(&id) {
                        run.shared.departed.insert(u);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = status.wait_for(|&s| s != SimStatus::Running) => return,
        }
    }
}

/// Sets a run's status to `Stopped` if its task ends without setting one (it panicked after
/// the run, or the runtime dropped it), so the run never looks like it is still going and
/// whoever waits for its end ([`RunView::ended`]) is let go.
struct EndGuard(Arc<RunView>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let ended = self.0.shared.status.send_if_modified(|s| {
            let running = *s == SimStatus::Running;
            if running {
                *s = SimStatus::Stopped;
            }
            running
        });
        if ended {
            tracing::error!("the simulation task ended without setting the run's status");
        }
    }
}

/// Every event the simulator publishes on the bus's `simulation` channel: the one list of them
/// (the API's channel listing is checked against [`SimEvent::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimEvent {
    Started,
    Paused,
    Resumed,
    SpeedChanged,
    ScenarioTriggered,
    /// Stopped on request, by a data reset or forced reseed, by itself at the booking horizon
    /// (a run without a duration), as the server shut down, or because it broke down; its
    /// state's `stop_reason` says which.
    Stopped,
    /// Reached the end of its duration (published by the runner).
    Finished,
    Reset,
}

impl SimEvent {
    /// Every variant, in the order of a run's life.
    pub const ALL: [SimEvent; 8] = [
        SimEvent::Started,
        SimEvent::Paused,
        SimEvent::Resumed,
        SimEvent::SpeedChanged,
        SimEvent::ScenarioTriggered,
        SimEvent::Stopped,
        SimEvent::Finished,
        SimEvent::Reset,
    ];

    /// The event's type on the bus, such as `simulation.started`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SimEvent::Started => "simulation.started",
            SimEvent::Paused => "simulation.paused",
            SimEvent::Resumed => "simulation.resumed",
            SimEvent::SpeedChanged => "simulation.speed_changed",
            SimEvent::ScenarioTriggered => "simulation.scenario_triggered",
            SimEvent::Stopped => "simulation.stopped",
            SimEvent::Finished => "simulation.finished",
            SimEvent::Reset => "simulation.reset",
        }
    }
}

/// Announces `event` on the bus's `simulation` channel through the outbox, as every committed
/// write's event goes: recorded there, then relayed at once ([`crate::relay::relay_now`]), so it
/// is on the bus when this returns, after the events recorded before it. When the bus refuses
/// it (Redis down), it waits in the outbox and the relay publishes it, in order with the others,
/// once the bus is back: a control event is no longer lost while the bus is away. Only when the
/// store cannot record it is it published straight to the bus (where it may come before older
/// events still waiting in the outbox).
pub async fn publish<T: serde::Serialize + ?Sized>(app: &App, event: SimEvent, data: &T) {
    let data = domain::Payload::of(data).unwrap_or_default();
    let recorded = app.store.record_service_event(Channel::Simulation, event.as_str(), data.clone()).await;
    match recorded {
        Ok(_) => {
            if let Err(e) = crate::relay::relay_now(&app.store, &app.bus).await {
                tracing::warn!(error = %e, event = event.as_str(),
                    "simulation event not published yet: it waits in the outbox for the relay");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, event = event.as_str(), "simulation event not recorded: publishing it directly");
            let publish = Publish {
                channel: Channel::Simulation,
                event_type: event.as_str().to_string(),
                data,
                timestamp: chrono::Utc::now(),
                source_id: None,
            };
            if let Err(e) = app.bus.publish(publish).await {
                tracing::warn!(error = %e, event = event.as_str(), "simulation event not published");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppSettings;

    #[test]
    fn every_sim_event_is_in_all_once_under_its_own_name() {
        // No `_` arm: a new variant fails to compile here until it is placed in `ALL` too.
        let position = |e: SimEvent| match e {
            SimEvent::Started => 0,
            SimEvent::Paused => 1,
            SimEvent::Resumed => 2,
            SimEvent::SpeedChanged => 3,
            SimEvent::ScenarioTriggered => 4,
            SimEvent::Stopped => 5,
            SimEvent::Finished => 6,
            SimEvent::Reset => 7,
        };
        for (i, e) in SimEvent::ALL.into_iter().enumerate() {
            assert_eq!(position(e), i, "{e:?}");
            assert!(e.as_str().starts_with("simulation."), "{e:?}");
        }
        let mut names: Vec<_> = SimEvent::ALL.iter().map(|e| e.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), SimEvent::ALL.len());
    }

    /// A run as [`Simulator::start`] makes it, without a world or a runner: `end_of` is given
    /// the run's future instead.
    fn bare_run() -> Arc<RunView> {
        let started_at = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("a time");
        let progress = Progress {
            ticks: 0,
            simulation_time: started_at,
            scenario: ScenarioId::Normal,
            action_log_hash: ActionLog::new(0).hash_hex(),
            actions_logged: 0,
        };
        Arc::new(RunView {
            shared: Arc::new(Shared::new(Speed::Max, progress)),
            opts: RunOptions::default(),
            started_at,
            ends_at: None,
            tz: chrono_tz::UTC,
            active_users: 0,
            seeded: false,
            stop_asked: AtomicBool::new(false),
        })
    }

    /// QA: a run whose task panicked read `stopped` with no `stop_reason`, and no
    /// `simulation.stopped` was published, so the dashboard and SSE clients saw it running on.
    #[tokio::test]
    async fn a_run_that_panics_is_announced_stopped_as_failed_before_it_reads_stopped() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.expect("connect sqlite"), AppSettings::default());
        let within = std::time::Duration::from_secs(10);
        // Nothing asked; a stop asked before it broke down (it failed all the same); a reset's
        // quiet stop (the reset announces `simulation.reset` instead).
        for (asked, announced) in [(None, true), (Some(true), true), (Some(false), false)] {
            let run = bare_run();
            if let Some(announce) = asked {
                run.ask_stop(StopReason::Requested, announce);
            }
            let before = app.bus.history(Channel::Simulation, 100, None).await.expect("history").len();
            let task = tokio::spawn(end_of(app.clone(), Arc::clone(&run), async {
                panic!("the run broke down (a test)");
            }));
            let state = tokio::time::timeout(within, run.ended()).await.expect("the run ends");
            assert_eq!((state.status, state.stop_reason), (SimStatus::Stopped, Some(StopReason::Failed)), "{asked:?}");
            assert_eq!(serde_json::to_value(&state).expect("JSON")["stop_reason"], json!("failed"));
            assert!(!state.running && !run.is_live(), "{asked:?}");
            // On the bus by the time the state reads `stopped`, once, with the reason.
            let events = app.bus.history(Channel::Simulation, 100, None).await.expect("history");
            let stopped: Vec<serde_json::Value> = events[before..]
                .iter()
                .filter(|e| e.event_type == SimEvent::Stopped.as_str())
                .map(|e| serde_json::from_str(e.data.get()).expect("JSON data"))
                .collect();
            if announced {
                assert_eq!(stopped.len(), 1, "{asked:?}: {events:?}");
                assert_eq!((&stopped[0]["status"], &stopped[0]["stop_reason"]), (&json!("stopped"), &json!("failed")));
            } else {
                assert!(stopped.is_empty(), "{asked:?}: {events:?}");
            }
            tokio::time::timeout(within, task).await.expect("the task ends").expect("the task itself does not panic");
        }
    }

    #[tokio::test]
    async fn state_metrics_and_log_never_wait_for_a_control_action_under_way() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.expect("connect sqlite"), AppSettings::default());
        let sim = Simulator::new(app);
        // A start, reset or data reset holds the gate for as long as it takes (seeding the demo
        // city, waiting for the run's end): readers go on answering meanwhile. (No one holds the
        // slot across an await; clippy's `await_holding_lock` sees to that.)
        let held = sim.gate.lock().await;
        let within = std::time::Duration::from_secs(5);
        let state = tokio::time::timeout(within, sim.state()).await.expect("the state answers");
        assert_eq!(state.status, SimStatus::Idle);
        tokio::time::timeout(within, sim.metrics()).await.expect("the metrics answer");
        assert!(tokio::time::timeout(within, sim.log_lines()).await.expect("the log answers").is_empty());
        drop(held);
    }
}
