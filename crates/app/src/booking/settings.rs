//! Booking settings (the `[booking]` table of `luna.toml`, `LUNA_BOOKING__*`): slots, last
//! seating, turn times, which provider the agent uses and how it treats a slow or failing one,
//! hold and idempotency-key lifetimes, alternatives and auto-booking.

use domain::inventory::TurnTimes;
use serde::{Deserialize, Serialize};

/// Which provider books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Luna's own inventory, booked inside the store transaction.
    #[default]
    House,
    /// The stand-in for a remote reservation API (holds seats, asks it, confirms or releases).
    External,
}

/// The external provider stand-in and the agent's patience with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalSettings {
    /// The provider name bookings record.
    pub name: String,
    /// Typical answer time, ms, plus up to `jitter_ms`.
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Share of calls that fail (0 to 1).
    pub failure_rate: f64,
    /// Share of calls that never answer in time (the reservation may land remotely anyway).
    pub timeout_rate: f64,
    /// The agent gives up on one call after this long, ms.
    pub timeout_ms: u64,
    /// Calls per booking at most (first try included).
    pub max_attempts: u32,
    /// Wait before the second call, doubled for each later one, ms.
    pub backoff_ms: u64,
    /// Seed of the stand-in's failures and latencies.
    pub seed: u64,
}

impl Default for ExternalSettings {
    fn default() -> Self {
        Self {
            name: "external".into(),
            latency_ms: 80,
            jitter_ms: 40,
            failure_rate: 0.1,
            timeout_rate: 0.02,
            timeout_ms: 500,
            max_attempts: 3,
            backoff_ms: 50,
            seed: 7,
        }
    }
}

/// What a refusal proposes instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlternativeSettings {
    /// Other times at the same venue, at most.
    pub times: usize,
    /// Other venues, at most.
    pub venues: usize,
    /// Other times are within this many minutes of the one asked for.
    pub window_minutes: u16,
    /// Other venues are within this distance of the one asked for, km.
    pub radius_km: f64,
}

impl Default for AlternativeSettings {
    fn default() -> Self {
        Self { times: 4, venues: 3, window_minutes: 180, radius_km: 5.0 }
    }
}

/// How auto-booking groups interested users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoBookSettings {
    /// Preferred times within this many minutes of a group's first are compatible.
    pub window_minutes: u16,
    pub min_group: usize,
    pub max_group: usize,
}

impl Default for AutoBookSettings {
    fn default() -> Self {
        Self { window_minutes: 60, min_group: 2, max_group: 4 }
    }
}

/// Everything about booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingSettings {
    /// Minutes between two slot starts in an availability list.
    pub slot_minutes: u16,
    /// How long a venue must stay open after a booking starts (the last seating).
    pub last_seating_minutes: u16,
    /// Turn times by category, plus extra time for bigger parties.
    pub turn_minutes: TurnTimes,
    pub provider: ProviderKind,
    pub external: ExternalSettings,
    /// A hold still pending after this many seconds is released by the janitor (its agent died
    /// between its two transactions); its idempotency key is freed as well.
    pub hold_ttl_secs: u64,
    /// Answered idempotency keys are kept this many hours.
    pub idempotency_ttl_hours: u64,
    pub alternatives: AlternativeSettings,
    pub auto_book: AutoBookSettings,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            slot_minutes: 30,
            last_seating_minutes: 60,
            turn_minutes: TurnTimes::default(),
            provider: ProviderKind::House,
            external: ExternalSettings::default(),
            hold_ttl_secs: 120,
            idempotency_ttl_hours: 24,
            alternatives: AlternativeSettings::default(),
            auto_book: AutoBookSettings::default(),
        }
    }
}
