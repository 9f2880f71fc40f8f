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
pub use control::{SimEvent, Simulator};
pub use executor::RECOMMENDER;
pub use metrics::{BookingMetrics, FailureMetrics, HourMetrics, MetricsSnapshot, RecommendationMetrics, SocialMetrics};
pub use scenario::{SCENARIOS, ScenarioId, scenario_by_id_or_name, scenario_by_id_or_name_opt};
pub use state::{SimState, SimStatus, StopReason, idle_state};

use chrono::Datelike;
use domain::booking::MAX_DAYS_AHEAD;
use domain::limits::Whole;
use domain::{Timestamp, ValidationError};

use crate::seed::FIRST_ANCHOR_YEAR;

/// The most users one run drives.
pub const MAX_USERS: usize = 1_000_000;

/// How many of the stored users a run may drive: checked by [`RunOptions::validate`] and stated
/// by the OpenAPI document (`api::ranges::SIM_USERS`), so the two cannot drift.
pub const USERS: Whole = Whole::new(1, MAX_USERS as i64);

/// How to run a simulation. `Default`: normal day at 1x, 1000 users, seed 42, until stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub scenario: ScenarioId,
    pub speed: Speed,
    /// At most this many users act: the first in id order (the seeded city's).
    pub users: usize,
    pub seed: u64,
    /// Simulated time to run for; `None` runs until stopped, or at the latest until its clock
    /// reaches [`horizon`] as of its start, where it stops itself (status `stopped`, reason
    /// [`StopReason::BookingHorizon`]).
    pub duration: Option<chrono::Duration>,
    /// Simulated start; by default the scenario's usual start at or after the seeded history's
    /// end: the anchor of the city the run seeded, else the demo settings' pinned `as_of`, else
    /// the current hour (a city seeded now ends there). Give it to reproduce a run. It lies from
    /// the year 2000 (a seed's first anchor year) to one booking horizon ahead of now, and so
    /// does the run's end ([`RunOptions::validate`]).
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
    /// Checks the sizes and, with `now` the wall clock, the simulated time span: a given
    /// `start_at` lies from the year [`FIRST_ANCHOR_YEAR`] (the first a seeded history may end
    /// in) up to one booking horizon ([`MAX_DAYS_AHEAD`] days) ahead of `now`, and so does the
    /// run's end (`start_at + duration`). Names every field at fault, each once.
    pub fn validate(&self, now: Timestamp) -> Result<(), ValidationError> {
        let mut bad = Vec::new();
        if !USERS.contains(i64::try_from(self.users).unwrap_or(i64::MAX)) {
            bad.extend(ValidationError::field("users", USERS.message()).0);
        }
        if !(1..=256).contains(&self.concurrency) {
            bad.extend(ValidationError::field("concurrency", "must be between 1 and 256").0);
        }
        let mut duration = self.duration;
        if let Some(d) = duration
            && (d.num_seconds() < TICK_SECONDS || d > chrono::Duration::days(366))
        {
            bad.extend(ValidationError::field("duration", "must be between one minute and 366 days").0);
            // Already refused: the span's end is not checked against it as well.
            duration = None;
        }
        if let Some(start) = self.start_at
            && let Err(e) = check_span(start, duration, now)
        {
            bad.extend(e.0);
        }
        if bad.is_empty() { Ok(()) } else { Err(ValidationError(bad)) }
    }
}

/// The latest instant a run may reach: one booking horizon ahead of `now`. Beyond it the
/// simulated users would book, plan and record what no real request could (a booking may lie at
/// most [`MAX_DAYS_AHEAD`] days ahead), and timestamps leave RFC 3339's four-digit years. A run
/// with a duration must end by the horizon as of its start ([`check_span`]); one without stops
/// itself there.
pub fn horizon(now: Timestamp) -> Timestamp {
    now + chrono::Duration::days(MAX_DAYS_AHEAD)
}

/// Checks that a run from `start` lasting `duration` lies from the year [`FIRST_ANCHOR_YEAR`]
/// to [`horizon`]`(now)`: its start (naming `start_at`) and its end (naming `duration`).
pub fn check_span(start: Timestamp, duration: Option<chrono::Duration>, now: Timestamp) -> Result<(), ValidationError> {
    let last = horizon(now);
    let at = |t: Timestamp| domain::time::written(&t);
    if start.year() < FIRST_ANCHOR_YEAR || start > last {
        let message =
            format!("must lie between the year {FIRST_ANCHOR_YEAR} and {MAX_DAYS_AHEAD} days from now ({})", at(last));
        return Err(ValidationError::field("start_at", message));
    }
    if let Some(d) = duration
        && start + d > last
    {
        let message = format!(
            "the run would end at {}, past {MAX_DAYS_AHEAD} days from now ({}): start earlier or run for less",
            at(start + d),
            at(last)
        );
        return Err(ValidationError::field("duration", message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("a valid date")
    }

    fn refused(opts: &RunOptions, now: Timestamp) -> Option<String> {
        opts.validate(now).err().map(|e| e.0[0].field.clone())
    }

    #[test]
    fn a_start_lies_from_the_year_2000_to_one_booking_horizon_ahead_and_so_does_the_end() {
        let now = at(2026, 12, 3);
        let last = now + chrono::Duration::days(MAX_DAYS_AHEAD);
        let run = |start_at: Option<Timestamp>, duration: Option<chrono::Duration>| RunOptions {
            start_at,
            duration,
            ..RunOptions::default()
        };
        let six_hours = Some(chrono::Duration::hours(6));
        // The QA run: year 1 for 6 hours; and one ending in year 10000.
        assert_eq!(refused(&run(Some(at(1, 1, 1)), six_hours), now).as_deref(), Some("start_at"));
        assert_eq!(refused(&run(Some(at(1999, 12, 31)), None), now).as_deref(), Some("start_at"));
        assert_eq!(refused(&run(Some(at(9999, 12, 31)), six_hours), now).as_deref(), Some("start_at"));
        assert_eq!(refused(&run(Some(last + chrono::Duration::minutes(1)), None), now).as_deref(), Some("start_at"));
        // A start within the horizon whose end is not.
        let late = run(Some(last - chrono::Duration::hours(1)), six_hours);
        assert_eq!(refused(&late, now).as_deref(), Some("duration"));
        assert_eq!(
            refused(&run(Some(now), Some(chrono::Duration::days(MAX_DAYS_AHEAD) + chrono::Duration::minutes(1))), now),
            Some("duration".into())
        );
        // The bounds themselves, the past and no start at all are fine.
        for ok in [
            run(Some(at(2000, 1, 1)), six_hours),
            run(Some(last), None),
            run(Some(last - chrono::Duration::hours(6)), six_hours),
            run(Some(at(2026, 11, 20)), Some(chrono::Duration::days(366))),
            run(None, Some(chrono::Duration::days(366))),
        ] {
            assert_eq!(refused(&ok, now), None, "{ok:?}");
        }
        let message = run(Some(at(1, 1, 1)), None).validate(now).unwrap_err().0[0].message.clone();
        assert!(message.contains("2000") && message.contains("2027-12-04T00:00:00Z"), "{message}");
    }

    /// The window's bounds are written as the API writes a time (to the microsecond), not cut to
    /// the whole second: a horizon of 12:00:00.25 is not "12:00:00".
    #[test]
    fn the_window_in_a_refusal_is_written_as_the_api_writes_times() {
        let now = at(2026, 12, 3) + chrono::Duration::microseconds(250_000);
        let start = now + chrono::Duration::days(MAX_DAYS_AHEAD) - chrono::Duration::hours(1);
        let run =
            RunOptions { start_at: Some(start), duration: Some(chrono::Duration::hours(6)), ..RunOptions::default() };
        let message = run.validate(now).unwrap_err().0[0].message.clone();
        assert!(message.contains("2027-12-04T00:00:00.250000Z"), "{message}");
        assert!(message.contains("2027-12-04T05:00:00.250000Z"), "{message}");
        let early = RunOptions { start_at: Some(at(1999, 1, 1)), ..RunOptions::default() };
        let message = early.validate(now).unwrap_err().0[0].message.clone();
        assert!(message.contains("(2027-12-04T00:00:00.250000Z)"), "{message}");
    }
}
