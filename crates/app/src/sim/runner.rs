//! The run loop. Each tick (one simulated minute): apply control changes (pause, stop, speed,
//! triggered scenarios; a run without a duration asks for its own stop at the booking horizon
//! here, as a stop request would), wait for the tick's wall time unless at `max`, run what is
//! due (booking outcomes), draw which users open the app, run their sessions concurrently, log
//! their decisions in user order, then run the contended actions one by one in that order and
//! hand their effects (requests, invitations) to the users concerned.
//!
//! Reproducible: who acts in a tick and every draw of a session come from generators keyed by
//! `(seed, tick, user)`; decisions never read the wall clock or another session's results.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use domain::Timestamp;
use futures::StreamExt;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use synth::personas::PROFILES;
use tokio::sync::{Notify, watch};

use super::RunOptions;
use super::action::{Action, ActionLog, Handle};
use super::behaviour::{REACTIONS, session_chance};
use super::clock::{Pacer, Speed, TICK_SECONDS, tick_time};
use super::control::{SimEvent, publish};
use super::executor::{Departed, Effect, Executor, Outcome, RECOMMENDER};
use super::metrics::Metrics;
use super::scenario::{LocalTime, ScenarioId, Schedule, Surge};
use super::session::{InboxItem, Session, SessionAt, SessionOutput, UserState};
use super::state::{Progress, SimStatus, StopReason};
use super::world::{World, pick_weighted};
use crate::App;

/// Pending items kept per user at most (older ones are dropped, left pending in the store).
const INBOX_CAP: usize = 20;

/// Control requests the runner picks up between ticks.
#[derive(Debug)]
pub struct Control {
    pub paused: bool,
    /// Why the run is asked to stop. The first reason recorded stands: the controller's stop,
    /// or the runner's own at the booking horizon, whichever comes first.
    pub stop: Option<StopReason>,
    /// Whether the run's task announces the stop (`simulation.stopped`); a reset does not (it
    /// announces `simulation.reset`).
    pub announce_stop: bool,
    pub speed: Speed,
    pub triggers: Vec<ScenarioId>,
}

/// What the runner and its controller share.
#[derive(Debug)]
pub struct Shared {
    pub control: Mutex<Control>,
    pub wake: Notify,
    pub metrics: Metrics,
    pub progress: Mutex<Progress>,
    pub status: watch::Sender<SimStatus>,
    /// Whether the runner is parked by a pause (between ticks, waiting to be resumed).
    pub parked: watch::Sender<bool>,
    /// The action log once the run has ended.
    pub log: Mutex<Option<ActionLog>>,
    /// Held to announce a control change or the run's end, so they reach the bus one at a time;
    /// `true` once the run has ended (its `simulation.stopped` or `.finished`, if any, on the
    /// bus): nothing of the run is announced after its end.
    pub announcing: tokio::sync::Mutex<bool>,
    /// The world's users deleted during the run, who left it.
    pub departed: Departed,
}

impl Shared {
    pub fn new(speed: Speed, progress: Progress) -> Self {
        Self {
            control: Mutex::new(Control {
                paused: false,
                stop: None,
                announce_stop: true,
                speed,
                triggers: Vec::new(),
            }),
            wake: Notify::new(),
            metrics: Metrics::default(),
            progress: Mutex::new(progress),
            status: watch::channel(SimStatus::Running).0,
            parked: watch::channel(false).0,
            log: Mutex::new(None),
            announcing: tokio::sync::Mutex::new(false),
            departed: Departed::default(),
        }
    }

    pub fn lock_control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn lock_progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Puts `item`, from `from`, in `to`'s inbox (dropping the oldest beyond [`INBOX_CAP`], left
/// pending in the store), unless `to` left the run (was deleted). A friend request is
/// remembered on both sides whether or not it stays in the inbox: neither asks the other while
/// it is pending, or after it was answered.
fn deliver(states: &mut [UserState], departed: &Departed, from: u32, to: u32, item: InboxItem) {
    if departed.contains(to) {
        return;
    }
    if matches!(item, InboxItem::FriendRequest { .. }) {
        for (a, b) in [(from, to), (to, from)] {
            let requested = &mut states[a as usize].requested;
            if !requested.contains(&b) {
                requested.push(b);
            }
        }
    }
    let inbox = &mut states[to as usize].inbox;
    if inbox.len() >= INBOX_CAP {
        inbox.remove(0);
    }
    inbox.push(item);
}

/// SplitMix64: a well-mixing bijection, for cheap keyed draws.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn key(seed: u64, stream: u64, a: u64, b: u64) -> u64 {
    mix64(mix64(mix64(seed ^ mix64(stream)) ^ a) ^ b)
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The state of one run, owned by its task.
pub struct Runner {
    pub app: App,
    pub world: Arc<World>,
    pub shared: Arc<Shared>,
    pub seed: u64,
    pub start: Timestamp,
    pub end_tick: Option<u64>,
    /// The tick at which a run without a duration stops itself ([`StopReason::BookingHorizon`]).
    pub horizon_tick: u64,
    pub concurrency: usize,
    pub log: ActionLog,
    /// Keeps this run's idempotency keys apart from other runs' (never in the log).
    run_id: domain::Id,
    schedule: Schedule,
    states: Vec<UserState>,
    agenda: BTreeMap<u64, Vec<(u32, Action)>>,
}

impl Runner {
    /// A runner for `opts` from simulated `start`, finishing after `end_tick` ticks if given,
    /// else stopping itself after `horizon_tick` ticks.
    pub fn new(
        app: App,
        world: Arc<World>,
        shared: Arc<Shared>,
        opts: &RunOptions,
        start: Timestamp,
        end_tick: Option<u64>,
        horizon_tick: u64,
    ) -> Self {
        let mut states = vec![UserState::default(); world.users.len()];
        for &(from, to, request) in &world.pending_requests {
            deliver(&mut states, &shared.departed, from, to, InboxItem::FriendRequest { from, request });
        }
        Self {
            states,
            app,
            world,
            shared,
            seed: opts.seed,
            start,
            end_tick,
            horizon_tick,
            concurrency: opts.concurrency.max(1),
            log: ActionLog::new(opts.keep_log),
            run_id: domain::new_id(),
            schedule: Schedule::new(opts.scenario),
            agenda: BTreeMap::new(),
        }
    }

    /// Runs until stopped or the duration is over; leaves the log in `shared.log` and returns
    /// how the run ended (`Stopped` or `Finished`), for its task to announce and set.
    pub async fn run(mut self) -> SimStatus {
        let mut pacer = Pacer::new(0);
        let mut tick = 0u64;
        let mut last_speed = None;
        let status = loop {
            let Some((speed, triggers, resumed)) = self.wait_for_control(tick).await else { break SimStatus::Stopped };
            if self.end_tick.is_some_and(|end| tick >= end) {
                break SimStatus::Finished;
            }
            let at = tick_time(self.start, tick);
            for id in triggers {
                self.schedule.trigger(id, at, LocalTime::at(at, self.world.tz()));
                self.log.push_line(format!("{tick} scenario {}", id.as_str()));
            }
            if resumed || last_speed != Some(speed) {
                pacer.reanchor(tick);
                last_speed = Some(speed);
            }
            let began = Instant::now();
            self.shared.metrics.running_from(began);
            if let Some(due) = pacer.due(tick, speed) {
                tokio::select! {
                    _ = tokio::time::sleep_until(due.into()) => {},
                    // A control change: look at it before running the tick.
                    _ = self.shared.wake.notified() => {
                        self.shared.metrics.add_wall(began.elapsed());
                        continue;
                    }
                }
            }
            self.tick(tick, at).await;
            tick += 1;
            self.shared.metrics.add_wall(began.elapsed());
            self.publish_progress(tick);
            if speed == Speed::Max {
                tokio::task::yield_now().await;
            }
        };
        self.publish_progress(tick);
        if status == SimStatus::Finished {
            let mut ended = self.shared.announcing.lock().await;
            let p = self.shared.lock_progress().clone();
            let data = json!({"ticks": p.ticks, "simulation_time": domain::time::Written(&p.simulation_time), "scenario": p.scenario,
                "action_log_hash": p.action_log_hash, "metrics": self.shared.metrics.snapshot(RECOMMENDER)});
            publish(&self.app, SimEvent::Finished, &data).await;
            *ended = true;
        }
        *self.shared.log.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.log);
        status
    }

    /// Waits while paused; `None` when asked to stop. Returns the speed, the scenarios
    /// triggered since the last tick and whether the run was just resumed. Before tick `tick`
    /// of a run without a duration, at the booking horizon, it asks for its own stop, paused or
    /// not: nothing is left to run.
    async fn wait_for_control(&self, tick: u64) -> Option<(Speed, Vec<ScenarioId>, bool)> {
        let mut resumed = false;
        loop {
            {
                let mut c = self.shared.lock_control();
                // Under the lock the controller's stop takes, so exactly one reason is recorded.
                if self.end_tick.is_none() && tick >= self.horizon_tick {
                    c.stop.get_or_insert(StopReason::BookingHorizon);
                }
                if c.stop.is_some() {
                    return None;
                }
                if !c.paused {
                    self.shared.parked.send_replace(false);
                    return Some((c.speed, std::mem::take(&mut c.triggers), resumed));
                }
            }
            self.shared.parked.send_replace(true);
            resumed = true;
            self.shared.wake.notified().await;
        }
    }

    fn publish_progress(&self, tick: u64) {
        let mut p = self.shared.lock_progress();
        p.ticks = tick;
        p.simulation_time = tick_time(self.start, tick);
        // The scenario is the triggers' (`Simulator::trigger` sets it as it answers): a trigger
        // that came during the tick is the run's now, though only the next tick takes it up.
        p.action_log_hash = self.log.hash_hex();
        p.actions_logged = self.log.len();
    }

    /// One simulated minute.
    async fn tick(&mut self, tick: u64, at: Timestamp) {
        let world = Arc::clone(&self.world);
        let local = LocalTime::at(at, world.tz());
        let surge = self.schedule.surge(at, local);
        let app = self.app.clone();
        let shared = Arc::clone(&self.shared);
        let exec = Executor { app: &app, world: &world, run_id: self.run_id, departed: &shared.departed };
        for (user, action) in self.agenda.remove(&tick).unwrap_or_default() {
            // A user who left the run (was deleted): their bookings went with them.
            if shared.departed.contains(user) {
                continue;
            }
            self.log.push(tick, user, &action);
            self.execute(&exec, tick, user, at, local, action).await;
        }
        let mut inputs = Vec::new();
        for (u, user) in world.users.iter().enumerate() {
            // Who left opens no session; the others' draws are keyed by their own index.
            if shared.departed.contains(u as u32) {
                continue;
            }
            let chance = session_chance(
                &PROFILES[user.persona],
                user.persona,
                user.activity,
                local.weekday,
                local.hour,
                surge,
                TICK_SECONDS,
            );
            if unit(key(self.seed, 1, tick, u as u64)) < chance {
                let rng = ChaCha8Rng::seed_from_u64(key(self.seed, 2, tick, u as u64));
                let when = SessionAt { user: u as u32, at, local, surge };
                inputs.push((when, std::mem::take(&mut self.states[u]), rng));
            }
        }
        let metrics = &self.shared.metrics;
        let sessions =
            inputs.into_iter().map(|(when, state, rng)| Session::new(&exec, metrics, when, state, rng).run());
        let mut outputs: Vec<SessionOutput> =
            futures::stream::iter(sessions).buffer_unordered(self.concurrency).collect().await;
        outputs.sort_by_key(|o| o.user);
        for o in &outputs {
            for action in &o.log {
                self.log.push(tick, o.user, action);
            }
        }
        // Every session's state is back before anything is delivered: a request or invitation to
        // a user who also acted this tick must not land in the state their session took out (and
        // be overwritten when it is put back).
        let mut rest = Vec::with_capacity(outputs.len());
        for o in outputs {
            self.states[o.user as usize] = o.state;
            rest.push((o.user, o.effects, o.deferred));
        }
        for (user, effects, deferred) in rest {
            for (action, effect) in effects {
                self.apply(tick, user, &action, effect);
            }
            for action in deferred {
                self.execute(&exec, tick, user, at, local, action).await;
            }
        }
    }

    /// Runs an action outside a session (contended or due), counts it and applies its effect.
    async fn execute(
        &mut self,
        exec: &Executor<'_>,
        tick: u64,
        user: u32,
        at: Timestamp,
        local: LocalTime,
        action: Action,
    ) {
        let metrics = &self.shared.metrics;
        let (_, effect) = exec.execute_counted(metrics, user, at, local.hour, &action).await;
        // A full venue proposed alternatives: the user may try one (once; a second refusal
        // ends it).
        if let Some(retry) = self.alternative(user, &action, &effect, self.schedule.surge(at, local)) {
            self.log.push(tick, user, &retry);
            let metrics = &self.shared.metrics;
            let (outcome, effect) = exec.execute_counted(metrics, user, at, local.hour, &retry).await;
            self.shared.metrics.alternative_tried(matches!(outcome, Outcome::Done { .. }));
            self.apply(tick, user, &retry, effect);
        }
        self.apply(tick, user, &action, effect);
    }

    /// Whether a user whose booking a full venue refused tries one of the alternatives it
    /// proposed, and which: a new booking attempt, or `None` if they give up (or nothing was
    /// refused). Drawn from the refused booking's own generator with the persona's
    /// `take_alternative`; each option is weighed by how much the user likes its venue now, and
    /// another time by how near it is to the time they asked for (each hour away halves it).
    fn alternative(&mut self, user: u32, action: &Action, effect: &Effect, surge: &Surge) -> Option<Action> {
        let (Action::Book { booking, venue, at: asked, party }, Effect::Proposed { times, venues }) = (action, effect)
        else {
            return None;
        };
        let u = &self.world.users[user as usize];
        let stream = u64::from(booking.owner) << 32 | u64::from(booking.seq);
        let mut rng = ChaCha8Rng::seed_from_u64(key(self.seed, 4, stream, 0));
        if !rng.random_bool(REACTIONS[u.persona].take_alternative) {
            return None;
        }
        let options: Vec<(u32, Timestamp)> = times.iter().map(|&t| (*venue, t)).chain(venues.iter().copied()).collect();
        let weights: Vec<f64> = options
            .iter()
            .map(|&(v, t)| self.world.appeal(u, v, surge) * 0.5f64.powf((t - *asked).num_minutes().abs() as f64 / 60.0))
            .collect();
        let (venue, at) = options[pick_weighted(&weights, &mut rng)?];
        let state = &mut self.states[user as usize];
        state.next_seq += 1;
        Some(Action::Book { booking: Handle { owner: user, seq: state.next_seq }, venue, at, party: *party })
    }

    /// Hands an effect to the users it concerns.
    fn apply(&mut self, tick: u64, user: u32, action: &Action, effect: Effect) {
        match (action, effect) {
            (Action::SendFriendRequest { to }, Effect::FriendRequest(request)) => {
                deliver(
                    &mut self.states,
                    &self.shared.departed,
                    user,
                    *to,
                    InboxItem::FriendRequest { from: user, request },
                );
            }
            (Action::CreatePlan { plan, invitees, .. }, Effect::Plan(plan_id)) => {
                for &to in invitees {
                    let item = InboxItem::Invitation { plan: *plan, plan_id };
                    deliver(&mut self.states, &self.shared.departed, user, to, item);
                }
            }
            (Action::Book { booking, venue, at, .. }, Effect::Booking(booking_id)) => {
                self.schedule_booking(tick, user, *booking, *venue, *at, booking_id);
            }
            _ => {}
        }
    }

    /// Decides a confirmed booking's fate from its own generator (cancelled before the day,
    /// not shown up, or attended) and puts it on the agenda.
    fn schedule_booking(
        &mut self,
        tick: u64,
        user: u32,
        booking: Handle,
        venue: u32,
        at: Timestamp,
        booking_id: domain::Id,
    ) {
        let app = &PROFILES[self.world.users[user as usize].persona].app;
        let draw = |n| unit(key(self.seed, 3, u64::from(booking.owner) << 32 | u64::from(booking.seq), n));
        let due = ((at - self.start).num_seconds() / TICK_SECONDS).max(tick as i64 + 1) as u64;
        let (when, action) = if draw(0) < app.cancel_booking {
            let span = due.saturating_sub(tick + 1).max(1);
            (tick + 1 + (draw(1) * span as f64) as u64, Action::Cancel { booking, booking_id })
        } else if draw(2) < app.no_show {
            (due, Action::NoShow { booking, booking_id })
        } else {
            (due, Action::Attend { booking, venue, booking_id })
        };
        self.agenda.entry(when).or_default().push((user, action));
    }
}
