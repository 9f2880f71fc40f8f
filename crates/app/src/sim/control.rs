//! The controller: one run at a time, driven by start, pause, resume, stop, reset, speed and
//! scenario triggers. Transitions that make no sense (pausing a stopped run, starting while
//! one runs) are `Conflict`s. Every change is announced on the bus's `simulation` channel
//! ([`SimEvent`]: `simulation.started`, `.paused`, `.resumed`, `.speed_changed`,
//! `.scenario_triggered`, `.stopped`, `.finished`, `.reset`); the actions themselves publish
//! their own events through the outbox like any request. A data reset or forced reseed stops
//! the run first ([`Simulator::while_stopped`]); a run without a duration stops itself when its
//! clock reaches the booking horizon as of its start ([`super::horizon`]). Every stop takes
//! one path: its reason ([`StopReason`]) is recorded in the run's control, the runner ends
//! between ticks, and the run's task announces `simulation.stopped` with the final state
//! before that state reads `stopped`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use bus::Publish;
use domain::{Channel, Timestamp};
use futures::FutureExt;
use serde_json::json;
use tokio::sync::Mutex;

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
    active_users: usize,
    seeded: bool,
}

/// A run and its task, owned by the controller's slot.
struct Run {
    view: Arc<RunView>,
    task: tokio::task::JoinHandle<()>,
}

impl std::ops::Deref for Run {
    type Target = RunView;
    fn deref(&self) -> &RunView {
        &self.view
    }
}

impl RunView {
    fn status(&self) -> SimStatus {
        match *self.shared.status.borrow() {
            SimStatus::Running if self.shared.lock_control().paused => SimStatus::Paused,
            s => s,
        }
    }

    fn is_active(&self) -> bool {
        matches!(self.status(), SimStatus::Running | SimStatus::Paused)
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
            active_users: self.active_users,
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

/// Runs simulations on an app, one at a time. Control actions (start, pause, stop, ...) take
/// turns on the slot and may wait there: a start that seeds the demo city, a pause or a stop for
/// the tick under way. Reading the state, the metrics or the log never waits for them: it reads
/// the latest run's view.
pub struct Simulator {
    app: App,
    slot: Mutex<Option<Run>>,
    current: ArcSwapOption<RunView>,
}

impl Simulator {
    pub fn new(app: App) -> Self {
        Self { app, slot: Mutex::new(None), current: ArcSwapOption::empty() }
    }

    /// Starts a run. An empty database is first seeded with `seed_if_empty`, or refused
    /// (`Conflict`) when that is `None`. `Conflict` while another run is going. Options that
    /// [`RunOptions::validate`] refuses are refused before anything is written.
    #[tracing::instrument(skip_all, fields(scenario = opts.scenario.as_str(), users = opts.users, seed = opts.seed), err(level = "debug"))]
    pub async fn start(&self, opts: RunOptions, seed_if_empty: Option<SeedOptions>) -> AppResult<SimState> {
        let now = self.app.now();
        opts.validate(now)?;
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|r| r.is_active()) {
            return Err(AppError::conflict("a simulation is already running: stop or reset it first"));
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
        let view = Arc::new(RunView { shared, opts, started_at, ends_at, tz, active_users: world.users.len(), seeded });
        let state = view.state();
        self.current.store(Some(Arc::clone(&view)));
        // Announced before the run can go, so its start comes before its stop on the bus even
        // when it stops at once (a start at the horizon).
        self.publish(SimEvent::Started, &state).await;
        let task = tokio::spawn(end_of(self.app.clone(), Arc::clone(&view), runner));
        *slot = Some(Run { view, task });
        Ok(state)
    }

    /// The active run, or `Conflict` naming what was asked.
    fn active<'a>(slot: &'a mut Option<Run>, what: &str) -> AppResult<&'a mut Run> {
        match slot.as_mut() {
            Some(run) if run.is_active() => Ok(run),
            _ => Err(AppError::conflict(format!("no simulation is running: cannot {what}"))),
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
    /// pause's answer holds the last tick that will run, and none runs after it.
    async fn change(
        &self,
        what: &str,
        event: SimEvent,
        settle: bool,
        f: impl FnOnce(&Run) -> AppResult<()>,
    ) -> AppResult<SimState> {
        let mut slot = self.slot.lock().await;
        let run = Self::active(&mut slot, what)?;
        f(run)?;
        run.shared.wake.notify_one();
        if settle {
            let (mut parked, mut status) = (run.shared.parked.subscribe(), run.shared.status.subscribe());
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
        let state = run.state();
        drop(slot);
        self.publish(event, &state).await;
        Ok(state)
    }

    /// Stops the run and waits for its current tick to end; `simulation.stopped` is on the bus
    /// when this returns. A run that had just stopped itself at the booking horizon answers
    /// with that reason.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn stop(&self) -> AppResult<SimState> {
        let mut slot = self.slot.lock().await;
        let run = Self::active(&mut slot, "stop")?;
        Ok(Self::halt(run, StopReason::Requested, true).await)
    }

    /// Asks the run to stop for `reason` (unless it already was: the first reason stands) and
    /// waits for its task, which announces the stop unless `announce` is false.
    async fn halt(run: &mut Run, reason: StopReason, announce: bool) -> SimState {
        {
            let mut c = run.shared.lock_control();
            if c.stop.is_none() {
                c.stop = Some(reason);
            }
            // A reset stays quiet even when the run had just stopped itself (the horizon).
            c.announce_stop &= announce;
        }
        run.shared.wake.notify_one();
        if let Err(e) = (&mut run.task).await {
            tracing::error!(error = %e, "simulation task failed");
            run.shared.status.send_replace(SimStatus::Stopped);
        }
        run.state()
    }

    /// Runs `work` (a data reset or a forced reseed) with no simulation running. The active
    /// run, if any, is stopped first as [`Simulator::stop`] stops it: its `simulation.stopped`
    /// is published (with the reason `data_reset`) and its state and metrics stay readable as a
    /// stopped run's. No run can start until `work` is done (it holds the controller's slot),
    /// so none acts for users who are being deleted.
    #[tracing::instrument(skip_all)]
    pub async fn while_stopped<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let mut slot = self.slot.lock().await;
        if let Some(run) = slot.as_mut().filter(|r| r.is_active()) {
            let state = Self::halt(run, StopReason::DataReset, true).await;
            tracing::info!(ticks = state.ticks, "simulation stopped for a data reset");
        }
        let out = work.await;
        drop(slot);
        out
    }

    /// Stops any run and forgets it (metrics included). Stored data is left alone. Only
    /// `simulation.reset` is announced (no `simulation.stopped`).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn reset(&self) -> AppResult<SimState> {
        let mut slot = self.slot.lock().await;
        if let Some(run) = slot.as_mut().filter(|r| r.is_active()) {
            Self::halt(run, StopReason::Requested, false).await;
        }
        *slot = None;
        self.current.store(None);
        drop(slot);
        self.publish(SimEvent::Reset, &json!({})).await;
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

/// A run's task: runs it, then announces how it stopped and sets its status, in that order, so
/// whoever reads the run stopped (a [`Simulator::stop`] returning, a poll of its state, a
/// [`Simulator::wait`]) finds its `simulation.stopped` already on the bus. Whoever stopped it
/// (a stop, a data reset, the run itself at the booking horizon), it is announced here, once.
async fn end_of(app: App, view: Arc<RunView>, runner: Runner) {
    let status = match AssertUnwindSafe(runner.run()).catch_unwind().await {
        Ok(status) => status,
        // A panicking run must not look like it is still going.
        Err(_) => {
            tracing::error!("the simulation run panicked");
            SimStatus::Stopped
        }
    };
    let announce = {
        let c = view.shared.lock_control();
        c.stop.is_some() && c.announce_stop
    };
    if status == SimStatus::Stopped && announce {
        publish(&app, SimEvent::Stopped, &view.state_as(status)).await;
    }
    view.shared.status.send_replace(status);
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
    /// Stopped on request, by a data reset or forced reseed, or by itself at the booking
    /// horizon (a run without a duration); its state's `stop_reason` says which.
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

/// Announces `event` on the bus's `simulation` channel (directly: a control change writes
/// nothing to the store, so there is no outbox row to relay).
pub async fn publish<T: serde::Serialize + ?Sized>(app: &App, event: SimEvent, data: &T) {
    let publish = Publish {
        channel: Channel::Simulation,
        event_type: event.as_str().to_string(),
        data: domain::Payload::of(data).unwrap_or_default(),
        timestamp: chrono::Utc::now(),
        source_id: None,
    };
    if let Err(e) = app.bus.publish(publish).await {
        tracing::warn!(error = %e, event = event.as_str(), "simulation event not published");
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

    #[tokio::test]
    async fn state_metrics_and_log_never_wait_for_a_control_action_under_way() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.expect("connect sqlite"), AppSettings::default());
        let sim = Simulator::new(app);
        // A control action holds the slot for as long as it takes (a start seeding the demo city,
        // a pause or a stop waiting for a tick): readers go on answering meanwhile.
        let held = sim.slot.lock().await;
        let within = std::time::Duration::from_secs(5);
        let state = tokio::time::timeout(within, sim.state()).await.expect("the state answers");
        assert_eq!(state.status, SimStatus::Idle);
        tokio::time::timeout(within, sim.metrics()).await.expect("the metrics answer");
        assert!(tokio::time::timeout(within, sim.log_lines()).await.expect("the log answers").is_empty());
        drop(held);
    }
}
