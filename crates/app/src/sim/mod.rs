//! The simulator: the seeded city's users, as the seven personas of the first seed document,
//! use the app over simulated time, through the same `App` services HTTP requests use, so
//! every action writes through the store and publishes its events through the outbox.
//!
//! - [`behaviour`]: personas as behaviour models (the shared `synth::personas::PROFILES`
//!   plus the simulator's reactions, all documented data).
//! - [`scenario`]: normal day, lunch rush, Friday night, weekend brunch, concert night, happy
//!   hour rush, new-user onboarding, as surges over windows of local time; triggerable mid-run.
//! - [`clock`]: one simulated minute per tick, paced at 1x to 100x or run at `max`.
//! - `executor`: actions to services, with the plug points for recommendations, plans and
//!   bookings; `session` and `runner`: who acts when and what they do.
//! - [`Simulator`]: one run at a time; control changes go out on the `simulation` channel.
//!
//! Guarantee: the same data, seed and [`RunOptions`] give the same action log (see
//! [`SimState::action_log_hash`]) at any speed: every draw comes from a generator keyed by
//! `(seed, tick, user)`, the simulated clock drives every decision and the wall clock only
//! paces ticks. Scenario triggers and speed changes sent while a run goes on land on the tick
//! they arrive at, so a run controlled by hand is reproducible up to those. One input is
//! outside the simulator: the recommendation engine's answers. Under `luna serve` and
//! `luna simulate` the engine learns from the run's own writes as they arrive from the bus,
//! so with sessions in flight concurrently a recommendation (and the reaction to it) can
//! differ between two runs by timing; on an engine that is not following writes (the tests)
//! the whole log is reproducible.

pub mod action;
pub mod behaviour;
pub mod clock;
mod control;
mod executor;
mod load;
mod metrics;
mod runner;
pub mod scenario;
mod session;
mod state;
mod world;

pub use clock::{MAX_MULTIPLIER, Speed, SpeedInput, TICK_SECONDS, parse_duration};
pub use control::Simulator;
pub use executor::RECOMMENDER;
pub use metrics::{BookingMetrics, FailureMetrics, HourMetrics, MetricsSnapshot, RecommendationMetrics, SocialMetrics};
pub use scenario::{SCENARIOS, ScenarioId};
pub use state::{SimState, SimStatus};

use domain::{Timestamp, ValidationError};

/// The most users one run drives.
pub const MAX_USERS: usize = 1_000_000;

/// How to run a simulation. `Default`: normal day at 1x, 1000 users, seed 42, until stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub scenario: ScenarioId,
    pub speed: Speed,
    /// At most this many users act: the first in id order (the seeded city's).
    pub users: usize,
    pub seed: u64,
    /// Simulated time to run for; `None` runs until stopped.
    pub duration: Option<chrono::Duration>,
    /// Simulated start; by default the scenario's usual start at or after the seeded history's
    /// end: the anchor of the city the run seeded, else the demo settings' pinned `as_of`, else
    /// the current hour (a city seeded now ends there). Give it to reproduce a run.
    pub start_at: Option<Timestamp>,
    /// Sessions in flight at once within a tick.
    pub concurrency: usize,
    /// Action log lines kept in memory (for tests and debugging; the hash covers all).
    pub keep_log: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            scenario: ScenarioId::Normal,
            speed: Speed::Times(1.0),
            users: 1000,
            seed: 42,
            duration: None,
            start_at: None,
            concurrency: 16,
            keep_log: 0,
        }
    }
}

impl RunOptions {
    /// Checks the sizes, naming the field at fault.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=MAX_USERS).contains(&self.users) {
            return Err(ValidationError::field("users", format!("must be between 1 and {MAX_USERS}")));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(ValidationError::field("concurrency", "must be between 1 and 256"));
        }
        if let Some(d) = self.duration
            && (d.num_seconds() < TICK_SECONDS || d > chrono::Duration::days(366))
        {
            return Err(ValidationError::field("duration", "must be between one minute and 366 days"));
        }
        Ok(())
    }
}
