//! What the simulator reports about a run: its status, the runner's progress after each
//! tick, and [`SimState`], the body of `GET /api/v1/simulation/state` and of every control
//! endpoint's answer.

use domain::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::clock::{Speed, SpeedInput};
use super::scenario::ScenarioId;

/// Where the simulator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimStatus {
    /// Nothing has run since start-up or the last reset.
    Idle,
    Running,
    Paused,
    /// Stopped before the end of its duration; [`SimState::stop_reason`] says why.
    Stopped,
    /// Reached the end of its duration.
    Finished,
}

/// Why a run stopped. Every stop takes the same path: the reason is recorded in the run's
/// control, the runner ends between two ticks (or breaks down: its task then records
/// `failed`), and the run's task announces `simulation.stopped` with the run's state (which
/// carries the reason), so the event is on the bus before the state reads `stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `POST /api/v1/simulation/stop` (or `Simulator::stop`).
    Requested,
    /// A data reset or a forced reseed stopped it first.
    DataReset,
    /// A run without a duration reached the booking horizon: 366 days past the wall clock at
    /// its start, the latest a run with a duration may end. Past it the simulated users would
    /// plan, book and record what no real request may.
    BookingHorizon,
    /// The server running it shut down (SIGTERM, Ctrl-C).
    Shutdown,
    /// The run broke down (its task panicked), whatever stop was asked before: the server's log
    /// says why. It is announced and reads `stopped` like any other stop.
    Failed,
}

/// What the runner reports after each tick.
#[derive(Debug, Clone)]
pub struct Progress {
    pub ticks: u64,
    pub simulation_time: Timestamp,
    pub scenario: ScenarioId,
    pub action_log_hash: String,
    pub actions_logged: u64,
}

/// The simulator's state (`GET /api/v1/simulation/state`). The first seed document's keys
/// (`running`, `paused`, `simulation_time`, `speed_multiplier`, `scenario`, `active_users`,
/// `events_generated`, `bookings_created`, `invites_sent`) are kept; `active_users` is a count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimState {
    pub status: SimStatus,
    pub running: bool,
    pub paused: bool,
    pub scenario: ScenarioId,
    /// A multiplier or `"max"`.
    #[schema(value_type = Option<SpeedInput>)]
    pub speed: Option<Speed>,
    /// The multiplier (`null` at `max` or when idle).
    pub speed_multiplier: Option<f64>,
    pub seed: Option<u64>,
    pub active_users: usize,
    /// Simulated time now, where the run started and where it ends (`null`: until stopped).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub simulation_time: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub ends_at: Option<Timestamp>,
    /// The simulated city's time zone (IANA name, such as `America/New_York`): its people live
    /// by it, so its clock is the one to read `simulation_time` on (`null` when idle).
    pub timezone: Option<String>,
    /// Simulated minutes run.
    pub ticks: u64,
    pub events_generated: u64,
    pub bookings_created: u64,
    pub invites_sent: u64,
    /// FNV-1a hash of the action log so far: equal for runs with the same seed and settings.
    pub action_log_hash: Option<String>,
    pub actions_logged: u64,
    /// Whether starting this run first seeded the demo city into an empty database.
    pub seeded_demo_city: bool,
    /// Why the run stopped: set when `status` is `stopped`, else `null`.
    pub stop_reason: Option<StopReason>,
}

/// The state when nothing has run since start-up or the last reset.
pub fn idle_state() -> SimState {
    SimState {
        status: SimStatus::Idle,
        running: false,
        paused: false,
        scenario: ScenarioId::Normal,
        speed: None,
        speed_multiplier: None,
        seed: None,
        active_users: 0,
        simulation_time: None,
        started_at: None,
        ends_at: None,
        timezone: None,
        ticks: 0,
        events_generated: 0,
        bookings_created: 0,
        invites_sent: 0,
        action_log_hash: None,
        actions_logged: 0,
        seeded_demo_city: false,
        stop_reason: None,
    }
}
