//! Opening hours per weekday, in the venue's local time. On the wire:
//! `{"mon": ["11:30-15:00", "17:00-23:00"], "fri": ["18:00-02:00"]}`; a missing day is closed
//! and an interval whose end is not after its start runs past midnight into the next day.
//! A stay between two instants is read on the wall clock of the venue's zone at each instant
//! of it, so it is open exactly when every instant of it is.

use chrono::{Datelike, Offset, TimeZone, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{Timestamp, ValidationError};

/// Day keys in order, Monday first (index = `Weekday::num_days_from_monday`).
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Opening intervals per weekday as (open, close) minutes after local midnight, with
/// `close` in `open+1 ..= open+1440` (a value past 1440 runs into the next day).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OpeningHours {
    pub days: [Vec<(u16, u16)>; 7],
}

impl OpeningHours {
    /// The same intervals on all seven days.
    pub fn every_day(intervals: &[(u16, u16)]) -> Self {
        Self { days: std::array::from_fn(|_| intervals.to_vec()) }
    }

    /// Parses the wire form; `field` prefixes error paths.
    pub fn parse(raw: &BTreeMap<String, Vec<String>>, field: &str) -> Result<Self, ValidationError> {
        let mut c = crate::error::Checker::new();
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (key, list) in raw {
            let Some(d) = DAY_KEYS.iter().position(|k| k == key) else {
                c.check(false, &format!("{field}.{key}"), "unknown day (use mon, tue, wed, thu, fri, sat, sun)");
                continue;
            };
            for (i, s) in list.iter().enumerate() {
                match parse_interval(s) {
                    Some(iv) => days[d].push(iv),
                    None => c.check(false, &format!("{field}.{key}[{i}]"), "must look like 11:30-23:00"),
                }
            }
            days[d].sort_unstable();
        }
        c.finish(Self { days })
    }

    /// The wire form.
    pub fn to_wire(&self) -> BTreeMap<String, Vec<String>> {
        let mut m = BTreeMap::new();
        for (d, list) in self.days.iter().enumerate() {
            if !list.is_empty() {
                let v = list.iter().map(|&(o, c)| format!("{}-{}", hhmm(o), hhmm(c % 1440))).collect();
                m.insert(DAY_KEYS[d].to_string(), v);
            }
        }
        m
    }

    /// Whether the venue is open at a local weekday and minute of day (0..1440).
    pub fn is_open(&self, weekday: Weekday, minute: u16) -> bool {
        let d = weekday.num_days_from_monday() as usize;
        let prev = (d + 6) % 7;
        self.days[d].iter().any(|&(o, c)| minute >= o && minute < c)
            || self.days[prev].iter().any(|&(_, c)| c > 1440 && minute + 1440 < c)
    }

    /// Whether open at a local date-time.
    pub fn is_open_at<T: Datelike + Timelike>(&self, t: &T) -> bool {
        self.is_open(t.weekday(), (t.hour() * 60 + t.minute()) as u16)
    }

    /// Whether the party can hold a table from `t` for `minutes` of wall-clock time without the
    /// venue closing. The stay may run through intervals that meet (`11:00-15:00` then
    /// `15:00-23:00`) and across midnight into the next day's hours, so a venue open around the
    /// clock takes a table at 23:30 (before, each interval had to hold the whole stay, and such
    /// a venue refused the last stretch before midnight).
    pub fn is_open_for<T: Datelike + Timelike>(&self, t: &T, minutes: u16) -> bool {
        let mut day = t.weekday().num_days_from_monday() as usize;
        // Minutes after the midnight that starts the stay's first day.
        let mut at = t.hour() * 60 + t.minute();
        let end = at + u32::from(minutes);
        let mut midnight = 0;
        loop {
            let Some(until) = self.open_until(day, (at - midnight) as u16) else { return false };
            // `until` is after the minute it was asked about, so `at` grows every turn.
            at = midnight + u32::from(until);
            if at >= end {
                return true;
            }
            while at - midnight >= 1440 {
                midnight += 1440;
                day = (day + 1) % 7;
            }
        }
    }

    /// Whether the venue is open at every instant of `[from, to)`, each read on the wall clock
    /// `tz` shows then, so exactly when [`is_open_at`](Self::is_open_at) holds at each of them.
    /// The stay is checked in parts between changes of the zone's offset: 90 minutes from 01:00
    /// on the night New York's clocks go forward run 01:00-02:00, then 03:00-03:30; from 00:45
    /// on the night they go back, 00:45 to the first 02:00 (EDT), then the second 01:00-01:15
    /// (EST), so a venue closing at 01:30 refuses them. Within a part, the minutes it starts and
    /// ends in count whole: a stay from 22:00:30 for an hour needs 23:00-23:01 too. A part
    /// longer than 65,535 minutes (45 days, more than any booking) is refused.
    pub fn is_open_between(&self, tz: chrono_tz::Tz, from: Timestamp, to: Timestamp) -> bool {
        let mut from = from;
        while from < to {
            let offset = offset_at(tz, from);
            let part_end = next_change(tz, from, to).unwrap_or(to);
            // The part's wall clock, from the start of its first minute.
            let start = (from.naive_utc() + offset).with_second(0).and_then(|t| t.with_nanosecond(0));
            let Some(start) = start else { return false };
            let span = part_end.naive_utc() + offset - start;
            let minutes = (span - chrono::Duration::nanoseconds(1)).num_minutes() + 1;
            // A part longer than `is_open_for` reads (45 days) is refused rather than checked
            // only in its first 45 days.
            let Ok(minutes) = u16::try_from(minutes) else { return false };
            if !self.is_open_for(&start, minutes) {
                return false;
            }
            from = part_end;
        }
        true
    }

    /// How far (minutes after day `day`'s midnight) the intervals open at minute `minute` of
    /// that day run, counting the previous day's intervals that run past midnight; `None` when
    /// closed then.
    fn open_until(&self, day: usize, minute: u16) -> Option<u16> {
        let today = self.days[day].iter().filter(|&&(o, c)| minute >= o && minute < c).map(|&(_, c)| c);
        let spill =
            self.days[(day + 6) % 7].iter().filter(|&&(_, c)| c > 1440 && minute + 1440 < c).map(|&(_, c)| c - 1440);
        today.chain(spill).max()
    }

    /// The intervals of a local weekday as people read them ("11:30-15:00, 17:00-23:00"), or
    /// "closed".
    pub fn describe_day(&self, weekday: Weekday) -> String {
        let list = &self.days[weekday.num_days_from_monday() as usize];
        if list.is_empty() {
            return "closed".into();
        }
        list.iter().map(|&(o, c)| format!("{}-{}", hhmm(o), hhmm(c % 1440))).collect::<Vec<_>>().join(", ")
    }

    /// Until when ("01:00") the previous day's intervals that run past midnight keep the venue
    /// open on `weekday`'s early hours, if any do.
    pub fn describe_spill_into(&self, weekday: Weekday) -> Option<String> {
        let prev = (weekday.num_days_from_monday() as usize + 6) % 7;
        self.days[prev].iter().filter(|&&(_, c)| c > 1440).map(|&(_, c)| c - 1440).max().map(hhmm)
    }

    /// Refuses hours that overlap on a day, naming the day under `field` (`opening_hours.mon`):
    /// two intervals of the day (`10:00-14:00` and `12:00-16:00`), or the previous day's
    /// interval running past midnight into one of the day's own (`fri` 18:00-02:00 and `sat`
    /// 01:00-05:00). Such hours are a slip (a venue is open or not; a list, a refusal's message
    /// and the weekly total would show or count the shared time twice). Intervals that only
    /// meet (`11:00-15:00` and `15:00-23:00`) do not overlap. Checked where hours come in (a
    /// venue's body), not where stored ones are read, so hours stored before stay readable.
    pub fn check_overlaps(&self, c: &mut crate::error::Checker, field: &str) {
        for (d, key) in DAY_KEYS.iter().enumerate() {
            let prev = (d + 6) % 7;
            // (start, end in minutes after this day's midnight, how it reads, whether it is the
            // previous day's running past midnight).
            let mut spans: Vec<(u16, u16, String, bool)> = self.days[prev]
                .iter()
                .filter(|&&(_, c)| c > 1440)
                .map(|&(o, c)| (0, c - 1440, format!("{}'s {}-{}", DAY_KEYS[prev], hhmm(o), hhmm(c - 1440)), true))
                .collect();
            spans.extend(self.days[d].iter().map(|&(o, c)| (o, c, format!("{}-{}", hhmm(o), end_hhmm(c)), false)));
            spans.sort_by_key(|&(o, c, _, _)| (o, c));
            let mut reach: Option<&(u16, u16, String, bool)> = None;
            for span in &spans {
                if let Some(before) = reach.filter(|b| span.0 < b.1) {
                    let message = match (before.3, span.3) {
                        // Two of the previous day's: named on that day already.
                        (true, true) => break,
                        (true, false) | (false, true) => {
                            let (spill, own) = if before.3 { (before, span) } else { (span, before) };
                            format!("{} runs past midnight into {}: give each stretch of opening once", spill.2, own.2)
                        }
                        (false, false) => format!(
                            "{} and {} overlap: give them as one interval, {}-{}",
                            before.2,
                            span.2,
                            hhmm(before.0),
                            end_hhmm(before.1.max(span.1))
                        ),
                    };
                    c.check(false, &format!("{field}.{key}"), message);
                    break;
                }
                if reach.is_none_or(|b| span.1 > b.1) {
                    reach = Some(span);
                }
            }
        }
    }

    /// Total open minutes in a week (0 means never open).
    pub fn weekly_minutes(&self) -> u32 {
        self.days.iter().flatten().map(|&(o, c)| u32::from(c - o)).sum()
    }
}

/// The offset from UTC `tz` shows at `t`.
fn offset_at(tz: chrono_tz::Tz, t: Timestamp) -> chrono::FixedOffset {
    tz.offset_from_utc_datetime(&t.naive_utc()).fix()
}

/// The first instant after `from` and before `to` at which `tz` changes its offset, if any.
fn next_change(tz: chrono_tz::Tz, from: Timestamp, to: Timestamp) -> Option<Timestamp> {
    // Probed an hour at a time, so a change and its undoing within one stay are both seen (no
    // zone changes twice within an hour), then found to the second by bisection (changes fall
    // on whole seconds).
    const PROBE: chrono::TimeDelta = chrono::TimeDelta::hours(1);
    let first = offset_at(tz, from);
    let mut a = from;
    while a < to {
        let b = (a + PROBE).min(to);
        if offset_at(tz, b) != first {
            let (mut lo, mut hi) = (a.timestamp(), b.timestamp());
            let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap_or(b);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, at(mid)) == first { lo = mid } else { hi = mid }
            }
            return Some(at(hi).min(b));
        }
        a = b;
    }
    None
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// An interval's end as a message reads it: midnight ending the day is "24:00", a later end
/// (past midnight) the next day's time.
fn end_hhmm(c: u16) -> String {
    if c == 1440 { "24:00".into() } else { hhmm(c % 1440) }
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // "24:00" is accepted as the end of the day.
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

fn parse_interval(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-')?;
    let (o, c) = (parse_hhmm(a)?, parse_hhmm(b)?);
    if o >= 1440 {
        return None;
    }
    Some(if c > o { (o, c) } else { (o, c + 1440) })
}

impl Serialize for OpeningHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for OpeningHours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Vec<String>>::deserialize(d)?;
        Self::parse(&raw, "opening_hours").map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for OpeningHours {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ObjectBuilder::new()
            .description(Some(
                "Opening intervals per weekday (keys mon..sun) in the venue's local time, such as \
                 {\"mon\": [\"11:30-15:00\", \"17:00-23:00\"]}. A missing day is closed; an interval \
                 ending at or before its start runs past midnight. The intervals of a day must not overlap, \
                 nor the previous day's running past midnight (intervals that meet, 11:00-15:00 and \
                 15:00-23:00, may): a venue's body with hours that do is a 422 naming the day \
                 (`opening_hours.mon`).",
            ))
            .additional_properties(Some(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String))))
            .into()
    }
}

impl utoipa::ToSchema for OpeningHours {}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn late_night_hours_spill_into_the_next_day() {
        let h = OpeningHours::parse(&raw(&[("fri", &["18:00-02:00"])]), "h").unwrap();
        assert!(h.is_open(Weekday::Fri, 23 * 60));
        assert!(h.is_open(Weekday::Sat, 60));
        assert!(!h.is_open(Weekday::Sat, 3 * 60));
        assert!(!h.is_open(Weekday::Fri, 17 * 60));
        assert_eq!(h.to_wire(), raw(&[("fri", &["18:00-02:00"])]));
    }

    #[test]
    fn bad_days_and_times_name_the_field() {
        let e = OpeningHours::parse(&raw(&[("funday", &["10:00-11:00"]), ("mon", &["25:00-26:00"])]), "h").unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["h.funday", "h.mon[0]"]);
    }

    fn overlaps(pairs: &[(&str, &[&str])]) -> Vec<String> {
        let h = OpeningHours::parse(&raw(pairs), "opening_hours").unwrap();
        let mut c = crate::error::Checker::new();
        h.check_overlaps(&mut c, "opening_hours");
        match c.finish(()) {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect(),
        }
    }

    #[test]
    fn hours_that_overlap_are_named_with_their_day() {
        assert_eq!(
            overlaps(&[("mon", &["12:00-16:00", "10:00-14:00"])]),
            ["opening_hours.mon: 10:00-14:00 and 12:00-16:00 overlap: give them as one interval, 10:00-16:00"]
        );
        assert_eq!(
            overlaps(&[("tue", &["11:00-23:00", "11:00-23:00"]), ("wed", &["09:00-17:00", "10:00-11:00"])]),
            [
                "opening_hours.tue: 11:00-23:00 and 11:00-23:00 overlap: give them as one interval, 11:00-23:00",
                "opening_hours.wed: 09:00-17:00 and 10:00-11:00 overlap: give them as one interval, 09:00-17:00",
            ]
        );
        // An end at midnight reads 24:00, not 00:00.
        assert_eq!(
            overlaps(&[("thu", &["12:00-24:00", "10:00-24:00"])]),
            ["opening_hours.thu: 10:00-24:00 and 12:00-24:00 overlap: give them as one interval, 10:00-24:00"]
        );
        // Across midnight, Sunday's into Monday's too.
        assert_eq!(
            overlaps(&[("fri", &["18:00-02:00"]), ("sat", &["01:00-05:00"])]),
            [
                "opening_hours.sat: fri's 18:00-02:00 runs past midnight into 01:00-05:00: give each stretch of opening once"
            ]
        );
        assert_eq!(
            overlaps(&[("sun", &["20:00-03:00"]), ("mon", &["00:00-24:00"])]),
            [
                "opening_hours.mon: sun's 20:00-03:00 runs past midnight into 00:00-24:00: give each stretch of opening once"
            ]
        );
        assert_eq!(
            overlaps(&[("thu", &["22:00-02:00", "23:00-01:00"])]),
            ["opening_hours.thu: 22:00-02:00 and 23:00-01:00 overlap: give them as one interval, 22:00-02:00"]
        );
    }

    #[test]
    fn hours_that_only_meet_do_not_overlap() {
        let meet: &[(&str, &[&str])] = &[
            ("mon", &["11:00-15:00", "15:00-23:00"]),
            ("fri", &["18:00-02:00"]),
            ("sat", &["02:00-05:00", "18:00-04:00"]),
            ("sun", &["04:00-12:00"]),
            ("tue", &["00:00-24:00"]),
            ("wed", &["00:00-24:00"]),
        ];
        assert_eq!(overlaps(meet), Vec::<String>::new());
    }

    #[test]
    fn a_table_must_fit_before_closing() {
        let h = OpeningHours::every_day(&[(17 * 60, 23 * 60)]);
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap().and_hms_opt(21, 0, 0).unwrap();
        assert!(h.is_open_for(&t, 120));
        assert!(!h.is_open_for(&t, 121));
    }

    #[test]
    fn a_stay_runs_on_through_hours_that_meet_and_across_midnight() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(); // a Friday
        let at = |h, m| day.and_hms_opt(h, m, 0).unwrap();
        // Open around the clock: a table at 23:30 for 90 minutes (refused before).
        let always = OpeningHours::parse(&raw(&[("fri", &["00:00-24:00"]), ("sat", &["00:00-24:00"])]), "h").unwrap();
        assert!(always.is_open_for(&at(23, 30), 90));
        // Two intervals that meet are one stretch; a gap breaks it.
        let split = OpeningHours::every_day(&[(11 * 60, 15 * 60), (15 * 60, 23 * 60)]);
        assert!(split.is_open_for(&at(14, 0), 9 * 60));
        assert!(!split.is_open_for(&at(14, 0), 9 * 60 + 1));
        let gap = OpeningHours::every_day(&[(11 * 60, 15 * 60), (16 * 60, 23 * 60)]);
        assert!(!gap.is_open_for(&at(14, 0), 61));
        // Friday night's hours spill into Saturday and meet Saturday's own.
        let late = OpeningHours::parse(&raw(&[("fri", &["18:00-02:00"]), ("sat", &["02:00-05:00"])]), "h").unwrap();
        assert!(late.is_open_for(&at(23, 0), 6 * 60));
        assert!(!late.is_open_for(&at(23, 0), 6 * 60 + 1));
        assert!(!late.is_open_for(&at(17, 59), 1));
    }

    /// Sunday 1 November 2026 in New York: at 06:00 UTC the clocks go from 02:00 EDT back to
    /// 01:00 EST, so 01:00-02:00 on the wall passes first at 05:00-06:00 UTC, then again at
    /// 06:00-07:00 UTC.
    fn fall_back(h: u32, m: u32) -> Timestamp {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, h, m, 0).unwrap()
    }

    fn stay(hours: &OpeningHours, from: Timestamp, minutes: i64) -> bool {
        hours.is_open_between(chrono_tz::America::New_York, from, from + chrono::Duration::minutes(minutes))
    }

    #[test]
    fn on_the_night_clocks_go_back_each_pass_through_the_repeated_hour_is_read_on_its_own_offset() {
        // Closing at 01:30: open 04:00-05:30 UTC (to the first 01:30, EDT) and again
        // 06:00-06:30 UTC (the second 01:00-01:30, EST).
        let mut closing = OpeningHours::default();
        closing.days[6] = vec![(0, 90)];
        // 00:45 EDT (04:45 UTC) for 90 minutes ends at the second 01:15 (06:15 UTC), before
        // closing by the clock, but runs through the first 01:30-02:00, when it is closed.
        assert!(!stay(&closing, fall_back(4, 45), 90));
        assert!(stay(&closing, fall_back(4, 45), 45) && !stay(&closing, fall_back(4, 45), 46));
        // Within the first pass before 01:30: 01:00-01:30 EDT (05:00-05:30 UTC).
        assert!(stay(&closing, fall_back(5, 0), 30) && !stay(&closing, fall_back(5, 0), 31));
        // Within the second pass: 01:00-01:30 EST (06:00-06:30 UTC).
        assert!(stay(&closing, fall_back(6, 0), 30) && !stay(&closing, fall_back(6, 0), 31));
        // 01:40 EDT (05:40 UTC) for 20 minutes ends at the second 01:00 (06:00 UTC): closed
        // throughout, though 00:40-01:00 on the later offset would be open.
        assert!(!stay(&closing, fall_back(5, 40), 20));
        // 01:15 EDT (05:15 UTC) to the second 01:15 (06:15 UTC): closed at 05:30-06:00 UTC.
        assert!(!stay(&closing, fall_back(5, 15), 60));

        // And the reverse: open 01:00-03:00 only. 01:30 EDT (05:30 UTC) for an hour runs to the
        // second 01:30 (06:30 UTC), open throughout, though 00:30 on the later offset is not.
        let late = OpeningHours { days: std::array::from_fn(|d| if d == 6 { vec![(60, 180)] } else { vec![] }) };
        assert!(stay(&late, fall_back(5, 30), 60));
        assert!(stay(&late, fall_back(5, 0), 120));
        assert!(!stay(&late, fall_back(4, 59), 2));
    }

    #[test]
    fn a_stay_that_starts_within_a_minute_needs_the_minute_it_ends_in_too() {
        // Closing at 23:00 EST (04:00 UTC): from 22:00:30 EST for an hour ends at 23:00:30, 30
        // seconds after closing (it was taken as 22:00-23:00).
        let h = OpeningHours::every_day(&[(17 * 60, 23 * 60)]);
        let ny = chrono_tz::America::New_York;
        let at = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 4, 3, 0, 30).unwrap();
        assert!(!h.is_open_between(ny, at, at + chrono::Duration::minutes(60)));
        assert!(h.is_open_between(ny, at, at + chrono::Duration::seconds(3_570)));
        assert!(!h.is_open_between(ny, at, at + chrono::Duration::seconds(3_571)));
    }

    #[test]
    fn a_stay_longer_than_the_hours_can_be_read_for_is_refused_not_checked_in_part() {
        // Open around the clock, in a zone without clock changes: 45 days are read (65,535
        // minutes); 60 were taken as open after their first 45.
        let h = OpeningHours::every_day(&[(0, 24 * 60)]);
        let at = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 4, 0, 0, 0).unwrap();
        assert!(h.is_open_between(chrono_tz::UTC, at, at + chrono::Duration::days(45)));
        assert!(!h.is_open_between(chrono_tz::UTC, at, at + chrono::Duration::days(60)));
    }
}
