//! The city's local time, precomputed for the generated period: UTC offsets (with daylight
//! saving changes) so that local hours, weekdays and opening hours are computed with integer
//! arithmetic yet agree exactly with `chrono-tz`.

use chrono::{Offset, TimeZone};
use domain::Timestamp;

pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;

/// Local days and UTC offsets over a period.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// Local day number (days since 1970-01-01 in local time) of day index 0.
    first_day: i64,
    /// Number of local days covered.
    days: usize,
    /// `(utc_ms, offset_ms)`: from `utc_ms` on, local time is UTC plus `offset_ms`.
    transitions: Vec<(i64, i64)>,
}

impl Clock {
    pub(crate) fn new(tz: chrono_tz::Tz, from: Timestamp, to: Timestamp) -> Self {
        let offset = |ms: i64| {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
            i64::from(tz.offset_from_utc_datetime(&t).fix().local_minus_utc()) * 1000
        };
        let (start, end) = (from.timestamp_millis() - DAY_MS, to.timestamp_millis() + DAY_MS);
        let mut transitions = vec![(i64::MIN, offset(start))];
        let mut t = start;
        while t <= end {
            let o = offset(t);
            if o != transitions[transitions.len() - 1].1 {
                // Offsets change on the minute: find it within the last hour.
                let mut at = t - HOUR_MS;
                while offset(at) != o {
                    at += 60_000;
                }
                transitions.push((at, o));
            }
            t += HOUR_MS;
        }
        let mut clock = Self { first_day: 0, days: 0, transitions };
        clock.first_day = clock.local(from.timestamp_millis()).div_euclid(DAY_MS);
        clock.days = (clock.local(to.timestamp_millis()).div_euclid(DAY_MS) - clock.first_day + 1).max(1) as usize;
        clock
    }

    fn offset_at(&self, utc: i64) -> i64 {
        let k = self.transitions.partition_point(|&(from, _)| from <= utc);
        self.transitions[k.saturating_sub(1)].1
    }

    /// Local wall-clock time of a UTC instant, as milliseconds of a naive local epoch.
    pub(crate) fn local(&self, utc: i64) -> i64 {
        utc + self.offset_at(utc)
    }

    /// The UTC instant of a local time, or `None` if that local time does not exist
    /// (skipped by a daylight saving change).
    pub(crate) fn to_utc(&self, local: i64) -> Option<i64> {
        let guess = local - self.offset_at(local - self.offset_at(local));
        (self.local(guess) == local).then_some(guess)
    }

    /// Number of local days covered.
    pub(crate) fn days(&self) -> usize {
        self.days
    }

    /// Index of the local day of a UTC instant (clamped to the covered days).
    pub(crate) fn day_of(&self, utc: i64) -> usize {
        (self.local(utc).div_euclid(DAY_MS) - self.first_day).clamp(0, self.days as i64 - 1) as usize
    }

    /// Local midnight of day `day`, in naive local milliseconds.
    pub(crate) fn midnight(&self, day: usize) -> i64 {
        (self.first_day + day as i64) * DAY_MS
    }

    /// Weekday of day `day`, Monday = 0.
    pub(crate) fn weekday(&self, day: usize) -> usize {
        // 1970-01-01 was a Thursday.
        (self.first_day + day as i64 + 3).rem_euclid(7) as usize
    }

    /// Local hour (0 to 23) of a UTC instant.
    pub(crate) fn local_hour(&self, utc: i64) -> u32 {
        (self.local(utc).rem_euclid(DAY_MS) / HOUR_MS) as u32
    }
}

/// Local weekday (Monday = 0) and minute of the day of a naive local time.
pub(crate) fn weekday_minute(local: i64) -> (usize, u16) {
    let day = local.div_euclid(DAY_MS);
    ((day + 3).rem_euclid(7) as usize, (local.rem_euclid(DAY_MS) / 60_000) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};

    #[test]
    fn local_hours_and_weekdays_agree_with_chrono_tz_across_daylight_saving() {
        let tz = chrono_tz::America::New_York;
        let from = chrono::Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).single().unwrap();
        let to = chrono::Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).single().unwrap();
        let clock = Clock::new(tz, from, to);
        let mut t = from.timestamp_millis();
        while t < to.timestamp_millis() {
            let real = chrono::DateTime::from_timestamp_millis(t).unwrap().with_timezone(&tz);
            assert_eq!(clock.local_hour(t), real.hour());
            let (wd, minute) = weekday_minute(clock.local(t));
            assert_eq!(wd as u32, real.weekday().num_days_from_monday());
            assert_eq!(u32::from(minute), real.hour() * 60 + real.minute());
            assert_eq!(clock.to_utc(clock.local(t)).map(|u| clock.local(u)), Some(clock.local(t)));
            t += 17 * 60_000;
        }
    }
}
