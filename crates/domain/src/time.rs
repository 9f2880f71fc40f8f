//! How the API writes a time: RFC 3339 in UTC with `Z`, to the microsecond (the precision the
//! store keeps), six digits after the second unless the time is a whole second
//! (`2026-12-05T02:06:43.903034Z`, `2026-12-05T02:06:43.596000Z`, `2026-12-20T19:00:00Z`), as the
//! seed documents' Python backends write `datetime`s. chrono's own writing picks 0, 3, 6 or 9
//! digits by the value, so one field came as milliseconds for one row (a generated city's),
//! microseconds for another (a stored one) and nanoseconds when just made (`generated_at`).
//! Serialized fields name [`micros`] or [`micros_opt`] (`#[serde(serialize_with = ...)]`);
//! reading accepts any RFC 3339 time and takes it to the microsecond ([`to_micros`],
//! [`to_micros_opt`] on every time the API or a client's input gives), so a time given with more
//! digits is the time the store keeps on every path (a plan's start, a booking's time, a
//! preferred time, a query's time), not one that compares unequal to it. A list's time bound is
//! the exception: it is read whole, and the list takes it to the microsecond with
//! [`first_micros_at_or_after`], since dropping its digits would move an `at or after` bound
//! earlier (listing what came before it) and a `before` bound earlier too (leaving out what came
//! before it).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time as the API writes it.
pub fn written(t: &DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Micros, true);
    match s.strip_suffix(".000000Z") {
        Some(whole) => format!("{whole}Z"),
        None => s,
    }
}

/// `serialize_with` of a time field.
pub fn micros<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&written(t))
}

/// `serialize_with` of an optional time field (`null` when absent).
pub fn micros_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&Written(t)),
        None => s.serialize_none(),
    }
}

/// `deserialize_with` of an input time field: any RFC 3339 time, to the microsecond (the
/// precision the store keeps; digits beyond it are dropped, not rounded).
pub fn to_micros<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d).map(|t| t.trunc_subsecs(6))
}

/// `deserialize_with` of an optional input time field (with `#[serde(default)]`: absent is
/// `None`), to the microsecond as [`to_micros`].
pub fn to_micros_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(|t| t.map(|t| t.trunc_subsecs(6)))
}

/// The first microsecond at or after `t`: `t` itself when it has no digits beyond the
/// microsecond, else the next microsecond. Times the store keeps (to the microsecond) compare
/// with it as with `t`: `x >= t` exactly when `x >= first_micros_at_or_after(t)`, and `x < t`
/// exactly when `x < first_micros_at_or_after(t)`, which truncating would not keep.
pub fn first_micros_at_or_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let down = t.trunc_subsecs(6);
    if down < t { down + chrono::Duration::microseconds(1) } else { down }
}

/// A time that serializes as [`written`] gives it, for `json!` and other hand-made values.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a>(pub &'a DateTime<Utc>);

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        micros(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_time_is_written_to_the_microsecond_and_a_whole_second_without_a_fraction() {
        let at = |nanos: u32| {
            Utc.with_ymd_and_hms(2026, 12, 5, 2, 6, 43).unwrap() + chrono::Duration::nanoseconds(nanos.into())
        };
        for (nanos, text) in [
            (0, "2026-12-05T02:06:43Z"),
            (596_000_000, "2026-12-05T02:06:43.596000Z"),
            (903_034_000, "2026-12-05T02:06:43.903034Z"),
            (328_571_816, "2026-12-05T02:06:43.328571Z"),
            (999, "2026-12-05T02:06:43Z"),
        ] {
            assert_eq!(written(&at(nanos)), text);
            assert_eq!(serde_json::to_value(Written(&at(nanos))).unwrap(), text);
        }
    }

    #[test]
    fn an_input_time_is_read_to_the_microsecond() {
        #[derive(serde::Deserialize)]
        struct Input {
            #[serde(deserialize_with = "to_micros")]
            at: DateTime<Utc>,
            #[serde(default, deserialize_with = "to_micros_opt")]
            maybe: Option<DateTime<Utc>>,
        }
        let read: Input = serde_json::from_str(
            r#"{"at": "2026-12-05T19:00:00.123456789Z", "maybe": "2026-12-05T20:00:00.999999999+01:00"}"#,
        )
        .unwrap();
        assert_eq!(written(&read.at), "2026-12-05T19:00:00.123456Z");
        assert_eq!(read.at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(read.maybe.map(|t| t.timestamp_subsec_nanos()), Some(999_999_000));
        let absent: Input = serde_json::from_str(r#"{"at": "2026-12-05T19:00:00Z"}"#).unwrap();
        assert_eq!(absent.maybe, None);
    }

    #[test]
    fn a_bound_goes_up_to_the_next_microsecond_when_it_has_more_digits() {
        let t =
            |nanos: i64| Utc.with_ymd_and_hms(2026, 12, 5, 19, 0, 0).unwrap() + chrono::Duration::nanoseconds(nanos);
        for (given, expected) in
            [(0, 0), (1, 1_000), (500, 1_000), (999, 1_000), (1_000, 1_000), (999_999_001, 1_000_000_000)]
        {
            assert_eq!(first_micros_at_or_after(t(given)), t(expected), "{given} ns");
        }
    }
}
