//! The simulated clock: time advances in ticks of one simulated minute; the speed only paces
//! ticks against the wall clock. At `max` nothing waits and wall time is never consulted, so
//! what happens is a function of the simulated clock alone at every speed.

use std::time::{Duration, Instant};

use domain::{Timestamp, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Simulated seconds per tick.
pub const TICK_SECONDS: i64 = 60;
/// The fastest paced speed; beyond it, ask for `max`.
pub const MAX_MULTIPLIER: f64 = 100.0;

/// A paced speed: above 0, at most [`MAX_MULTIPLIER`].
pub const MULTIPLIER: domain::limits::Real = domain::limits::Real::above(0.0, MAX_MULTIPLIER);
/// The longest wall wait the pacer schedules (a hundred years): a speed near 0 (`1e-300`) would
/// otherwise ask for more wall time than a `Duration` or an `Instant` holds, and panic the run.
const LONGEST_WAIT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// How fast simulated time runs against the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall second, above 0 and at most 100.
    Times(f64),
    /// As fast as the services allow; no pacing at all.
    Max,
}

/// A speed as a client sends it: a number (`50`) or a string (`"50"`, `"max"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SpeedInput {
    Number(f64),
    Text(String),
}

/// A number in [`MULTIPLIER`]'s range, or text: `max`, or such a number written as text.
impl utoipa::PartialSchema for SpeedInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("`max`, or the number as text (`\"50\"`, `\"50x\"`)"));
        OneOfBuilder::new().item(MULTIPLIER.schema()).item(text).description(Some(speed_rule())).into()
    }
}

impl ToSchema for SpeedInput {}

/// What a speed must be, as [`Speed::parse`] and the deserializer say it.
fn speed_rule() -> String {
    format!("a number above {} and at most {}, or \"max\"", MULTIPLIER.lo, MULTIPLIER.hi)
}

/// By hand rather than `untagged`, so a value of another type (`true`, `[]`) is refused saying
/// what a speed is, not that no variant of an enum matched.
impl<'de> Deserialize<'de> for SpeedInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SpeedInput;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&speed_rule())
            }
            fn visit_f64<E>(self, x: f64) -> Result<SpeedInput, E> {
                Ok(SpeedInput::Number(x))
            }
            fn visit_i64<E>(self, x: i64) -> Result<SpeedInput, E> {
                Ok(SpeedInput::Number(x as f64))
            }
            fn visit_u64<E>(self, x: u64) -> Result<SpeedInput, E> {
                Ok(SpeedInput::Number(x as f64))
            }
            fn visit_str<E>(self, t: &str) -> Result<SpeedInput, E> {
                Ok(SpeedInput::Text(t.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Speed {
    /// Parses a client's speed, naming `field` when it is out of range.
    pub fn parse(input: &SpeedInput, field: &str) -> Result<Speed, ValidationError> {
        let bad = || ValidationError::field(field, format!("must be {}", speed_rule()));
        let x = match input {
            SpeedInput::Text(t) if t.trim().eq_ignore_ascii_case("max") => return Ok(Speed::Max),
            SpeedInput::Text(t) => t.trim().trim_end_matches(['x', 'X']).parse::<f64>().map_err(|_| bad())?,
            SpeedInput::Number(x) => *x,
        };
        if MULTIPLIER.contains(x) { Ok(Speed::Times(x)) } else { Err(bad()) }
    }

    /// The multiplier, or `None` at `max`.
    pub fn multiplier(self) -> Option<f64> {
        match self {
            Speed::Times(x) => Some(x),
            Speed::Max => None,
        }
    }

    /// Wall time one tick should take at this speed (`None` at `max`).
    fn tick_wall(self) -> Option<Duration> {
        self.multiplier().map(|x| wall_wait(TICK_SECONDS as f64 / x))
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Times(x) => write!(f, "{x}"),
            Speed::Max => f.write_str("max"),
        }
    }
}

impl Serialize for Speed {
    /// A number, or the string `"max"`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Speed::Times(x) => s.serialize_f64(*x),
            Speed::Max => s.serialize_str("max"),
        }
    }
}

/// `secs` of wall time, at most [`LONGEST_WAIT`].
fn wall_wait(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT))
}

/// The simulated instant of tick `tick` of a run that started at `start`.
pub fn tick_time(start: Timestamp, tick: u64) -> Timestamp {
    start + chrono::Duration::seconds(TICK_SECONDS * tick as i64)
}

/// Paces ticks against the wall clock: tick `n` is due `n - anchor` tick-lengths after the
/// anchor. Re-anchored on resume, on a speed change and when far behind, so a slow tick is
/// not followed by a burst.
#[derive(Debug)]
pub struct Pacer {
    anchor_wall: Instant,
    anchor_tick: u64,
}

impl Pacer {
    pub fn new(tick: u64) -> Self {
        Self { anchor_wall: Instant::now(), anchor_tick: tick }
    }

    pub fn reanchor(&mut self, tick: u64) {
        *self = Self::new(tick);
    }

    /// When tick `tick` is due, or `None` to run it at once (`max`, or when behind).
    pub fn due(&mut self, tick: u64, speed: Speed) -> Option<Instant> {
        let per_tick = speed.tick_wall()?;
        let due = self.anchor_wall + wall_wait(per_tick.as_secs_f64() * tick.saturating_sub(self.anchor_tick) as f64);
        let now = Instant::now();
        if due <= now {
            if now.duration_since(due) > Duration::from_secs(1) {
                self.reanchor(tick);
            }
            return None;
        }
        Some(due)
    }
}

/// The longest simulated run, in days.
const MAX_DAYS: i64 = 366;

/// Parses a simulated duration such as `4h`, `90m`, `1h30m`, `45s` or `2d`.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 4h, 90m, 1h30m or 2d");
    // A number too large to hold is a duration too long, not a malformed one.
    let too_long_or = |malformed: bool| {
        if malformed { bad() } else { format!("{text:?} is longer than a simulation may run ({MAX_DAYS} days)") }
    };
    let (mut total, mut digits) = (0i64, String::new());
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| too_long_or(digits.is_empty()))?;
        total = n.checked_mul(unit).and_then(|x| total.checked_add(x)).ok_or_else(|| too_long_or(false))?;
        digits.clear();
    }
    if !digits.is_empty() || total <= 0 {
        return Err(bad());
    }
    if total > MAX_DAYS * 86_400 {
        return Err(too_long_or(false));
    }
    Ok(chrono::Duration::seconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speed_of_another_type_is_refused_saying_what_a_speed_is() {
        let e = serde_json::from_str::<SpeedInput>("true").unwrap_err().to_string();
        assert!(e.contains("expected a number above 0 and at most 100, or \"max\""), "{e}");
        assert!(!e.contains("untagged"), "{e}");
        assert_eq!(serde_json::from_str::<SpeedInput>("50").unwrap(), SpeedInput::Number(50.0));
        assert_eq!(serde_json::from_str::<SpeedInput>("2.5").unwrap(), SpeedInput::Number(2.5));
        assert_eq!(serde_json::from_str::<SpeedInput>("-2").unwrap(), SpeedInput::Number(-2.0));
        assert_eq!(serde_json::from_str::<SpeedInput>("\"max\"").unwrap(), SpeedInput::Text("max".into()));
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("4h").unwrap(), chrono::Duration::hours(4));
        assert_eq!(parse_duration("1h30m").unwrap(), chrono::Duration::minutes(90));
        assert_eq!(parse_duration("2d").unwrap(), chrono::Duration::days(2));
        for bad in ["", "4", "h", "4x", "0m", "-1h"] {
            assert!(parse_duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
        assert_eq!(parse_duration("366d").unwrap(), chrono::Duration::days(366));
        for long in ["367d", "9000h", "99999999999999999999d", "9999999999999999d"] {
            assert!(
                parse_duration(long).unwrap_err().contains("longer than a simulation may run (366 days)"),
                "{long}"
            );
        }
    }

    #[test]
    fn speeds_are_numbers_up_to_100_or_max() {
        assert_eq!(Speed::parse(&SpeedInput::Number(50.0), "speed").unwrap(), Speed::Times(50.0));
        assert_eq!(Speed::parse(&SpeedInput::Text("MAX".into()), "speed").unwrap(), Speed::Max);
        assert_eq!(Speed::parse(&SpeedInput::Text("10x".into()), "speed").unwrap(), Speed::Times(10.0));
        for bad in [SpeedInput::Number(0.0), SpeedInput::Number(101.0), SpeedInput::Text("fast".into())] {
            assert!(Speed::parse(&bad, "speed").is_err());
        }
        assert_eq!(serde_json::to_value(Speed::Max).unwrap(), "max");
    }

    #[test]
    fn at_max_speed_nothing_waits() {
        let mut p = Pacer::new(0);
        assert_eq!(p.due(1000, Speed::Max), None);
        assert!(p.due(1, Speed::Times(1.0)).is_some());
    }

    #[test]
    fn a_speed_near_zero_waits_without_panicking() {
        // QA: `POST /api/v1/simulation/speed {"speed": 1e-300}` was taken (above 0) and the run
        // then panicked converting 6e301 seconds into a `Duration`, and ended `stopped` with no
        // `stop_reason`.
        let mut p = Pacer::new(0);
        for x in [1e-300, f64::MIN_POSITIVE, 1e-17] {
            let due = p.due(3, Speed::Times(x)).expect("a paced tick waits");
            assert!(due > Instant::now() + Duration::from_secs(86_400 * 365), "{x}");
        }
    }
}
