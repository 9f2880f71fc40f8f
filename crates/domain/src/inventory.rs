//! Bookable inventory, as pure rules: how long a party holds its seats (turn times by category
//! and party size), the slots a venue offers on a day (from its opening hours, in its own time
//! zone), and how many seats are held at the busiest moment of an interval.
//!
//! A party of `n` fits at `[start, start + turn)` when the seats held by the overlapping
//! bookings (pending or confirmed) at the busiest instant of that interval, plus `n`, do not
//! exceed the venue's capacity. Counting the busiest instant (not the sum of every overlapping
//! booking) means two parties that follow each other at a table do not block a third who
//! overlaps both; the venue is never over capacity at any instant.

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use crate::{Category, Timestamp, Venue};

/// The shortest turn time a booking may have, in minutes.
pub const MIN_TURN_MINUTES: u16 = 15;
/// The longest turn time a booking may have, in minutes (also bounds the overlap scan).
pub const MAX_TURN_MINUTES: u16 = 480;

/// How long a party holds its seats: a base per category, plus extra minutes for every four
/// guests beyond the first four.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnTimes {
    pub restaurant: u16,
    pub bar: u16,
    pub cafe: u16,
    pub music: u16,
    pub comedy: u16,
    pub karaoke: u16,
    pub sports: u16,
    /// Minutes added per four guests beyond four (a party of 5 to 8 adds this once).
    pub extra_per_four_guests: u16,
}

impl Default for TurnTimes {
    fn default() -> Self {
        Self {
            restaurant: Category::Restaurant.turn_minutes(),
            bar: Category::Bar.turn_minutes(),
            cafe: Category::Cafe.turn_minutes(),
            music: Category::Music.turn_minutes(),
            comedy: Category::Comedy.turn_minutes(),
            karaoke: Category::Karaoke.turn_minutes(),
            sports: Category::Sports.turn_minutes(),
            extra_per_four_guests: 15,
        }
    }
}

impl TurnTimes {
    /// The turn of a party of `party` at a venue of `category`, within the allowed bounds.
    pub fn minutes(&self, category: Category, party: i32) -> u16 {
        let base = match category {
            Category::Restaurant => self.restaurant,
            Category::Bar => self.bar,
            Category::Cafe => self.cafe,
            Category::Music => self.music,
            Category::Comedy => self.comedy,
            Category::Karaoke => self.karaoke,
            Category::Sports => self.sports,
        };
        let extra_groups = (party.max(1) - 1) / 4;
        let extra = u32::from(self.extra_per_four_guests) * extra_groups.clamp(0, 1000) as u32;
        (u32::from(base) + extra).clamp(u32::from(MIN_TURN_MINUTES), u32::from(MAX_TURN_MINUTES)) as u16
    }
}

/// Seats held over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    pub start: Timestamp,
    pub end: Timestamp,
    pub seats: i32,
}

/// The most seats held at any instant of `[from, to)`.
pub fn peak_seats(holds: &[Hold], from: Timestamp, to: Timestamp) -> i32 {
    // (time, delta): a hold ending at t frees its seats before one starting at t takes them.
    let mut edges: Vec<(Timestamp, i32)> = Vec::new();
    for h in holds.iter().filter(|h| h.start < to && h.end > from) {
        edges.push((h.start.max(from), h.seats));
        edges.push((h.end.min(to), -h.seats));
    }
    edges.sort_by_key(|&(t, delta)| (t, delta));
    let (mut now, mut peak) = (0, 0);
    for (_, delta) in edges {
        now += delta;
        peak = peak.max(now);
    }
    peak
}

/// Whether the venue is open at `at` and at every instant of the `minutes` after it, each on
/// its wall clock (unknown hours count as always open): see
/// [`OpeningHours::is_open_between`](crate::OpeningHours::is_open_between).
pub fn open_for(venue: &Venue, at: Timestamp, minutes: u16) -> bool {
    let Some(hours) = &venue.opening_hours else { return true };
    hours.is_open_between(venue.tz(), at, at + chrono::Duration::minutes(i64::from(minutes)))
}

/// Why a party cannot sit down at `at` for `minutes`, with the venue's hours that local day
/// in its own zone ("it opens 17:00-23:00 on Tuesdays, America/New_York time"), and how long
/// the previous day's hours run into it past midnight ("it opens 18:00-23:00 on Mondays, and
/// until 01:00 from Sundays' hours, UTC time"); `None` if it can.
pub fn closed_then(venue: &Venue, at: Timestamp, minutes: u16) -> Option<String> {
    if open_for(venue, at, minutes) {
        return None;
    }
    const DAYS: [&str; 7] = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"];
    let day = at.with_timezone(&venue.tz()).weekday();
    let hours = venue.opening_hours.as_ref().map(|h| h.describe_day(day)).unwrap_or_default();
    let spill = venue.opening_hours.as_ref().and_then(|h| h.describe_spill_into(day));
    let when = DAYS[day.num_days_from_monday() as usize];
    let before = DAYS[day.pred().num_days_from_monday() as usize];
    let tz = venue.tz();
    let hours = match (hours.as_str(), spill) {
        ("closed", None) => format!("it is closed on {when}, {tz} time"),
        ("closed", Some(until)) => format!("it is open on {when} only until {until} from {before}' hours, {tz} time"),
        (hours, None) => format!("it opens {hours} on {when}, {tz} time"),
        (hours, Some(until)) => {
            format!("it opens {hours} on {when}, and until {until} from {before}' hours, {tz} time")
        }
    };
    Some(format!("the venue is not open then for at least {minutes} minutes ({hours})"))
}

/// The slot starts of a local `date` at `venue`, every `step` minutes from local midnight,
/// where the venue is open for at least `last_seating` minutes, in time order. Local times
/// that do not exist (the hour skipped when clocks go forward) have no slot; those that come
/// twice (the hour repeated when clocks go back) have one in each pass, each a distinct
/// instant checked on the wall clock of its own pass ([`open_for`], as a booking is).
pub fn slot_starts(venue: &Venue, date: NaiveDate, step: u16, last_seating: u16) -> Vec<Timestamp> {
    let tz = venue.tz();
    let step = step.clamp(5, 240);
    let mut starts: Vec<Timestamp> = (0..1440u32)
        .step_by(usize::from(step))
        .filter_map(|m| date.and_hms_opt(m / 60, m % 60, 0))
        .flat_map(|local| match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => vec![t],
            chrono::LocalResult::Ambiguous(first, second) => vec![first, second],
            chrono::LocalResult::None => vec![],
        })
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|&t| open_for(venue, t, last_seating))
        .collect();
    // The second pass of a repeated hour comes after the first pass's later minutes (01:00 EST
    // is after 01:30 EDT); callers read the first and last slot as the day's bounds.
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The first seed's default booking time when none is given, in the venue's time zone: 12:00
/// today before 11:00, 19:00 today before 17:00, otherwise 12:00 tomorrow.
pub fn default_time(now: Timestamp, tz: chrono_tz::Tz) -> Timestamp {
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    let (day, hour) = match local.hour() {
        h if h < 11 => (today, 12),
        h if h < 17 => (today, 19),
        _ => (today.succ_opt().unwrap_or(today), 12),
    };
    let naive = day.and_hms_opt(hour, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or(now, |t| t.with_timezone(&chrono::Utc))
}

/// The local calendar date of an instant at a venue.
pub fn local_date(venue: &Venue, at: Timestamp) -> NaiveDate {
    let l = at.with_timezone(&venue.tz());
    NaiveDate::from_ymd_opt(l.year(), l.month(), l.day()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpeningHours;
    use chrono::Utc;

    fn t(h: u32, m: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    fn hold(a: (u32, u32), b: (u32, u32), seats: i32) -> Hold {
        Hold { start: t(a.0, a.1), end: t(b.0, b.1), seats }
    }

    #[test]
    fn back_to_back_parties_do_not_add_up() {
        let holds = [hold((18, 0), (20, 0), 10), hold((20, 0), (22, 0), 10), hold((19, 0), (19, 30), 5)];
        assert_eq!(peak_seats(&holds, t(19, 0), t(21, 0)), 15);
        assert_eq!(peak_seats(&holds, t(20, 0), t(21, 0)), 10);
        assert_eq!(peak_seats(&holds, t(22, 0), t(23, 0)), 0);
    }

    #[test]
    fn bigger_parties_stay_longer_within_bounds() {
        let turns = TurnTimes::default();
        assert_eq!(turns.minutes(Category::Restaurant, 2), 120);
        assert_eq!(turns.minutes(Category::Restaurant, 5), 135);
        assert_eq!(turns.minutes(Category::Restaurant, 1000), MAX_TURN_MINUTES);
        let fast = TurnTimes { cafe: 1, ..TurnTimes::default() };
        assert_eq!(fast.minutes(Category::Cafe, 1), MIN_TURN_MINUTES);
    }

    fn venue(hours: Option<OpeningHours>) -> Venue {
        Venue {
            id: crate::new_id(),
            name: "v".into(),
            description: None,
            category: Category::Restaurant,
            cuisine: None,
            address: None,
            city: None,
            lat: 40.7,
            lng: -74.0,
            price_level: None,
            rating: None,
            capacity: 20,
            tags: vec![],
            opening_hours: hours,
            timezone: "America/New_York".into(),
            created_at: t(0, 0),
            updated_at: t(0, 0),
        }
    }

    /// Before, a refusal in the early hours named only that day's own hours ("it opens
    /// 18:00-23:00 on Mondays") while the previous night's hours, which the booking was checked
    /// against, ran to 01:00: a table at 00:00 was taken and one at 00:30 refused, unexplained.
    #[test]
    fn a_refusal_after_midnight_names_the_previous_days_hours_running_into_it() {
        let mut hours = OpeningHours::default();
        hours.days[6] = vec![(17 * 60, 25 * 60)];
        hours.days[0] = vec![(18 * 60, 23 * 60)];
        let mut v = venue(Some(hours));
        v.timezone = "UTC".into();
        let monday = |h, m| Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap();
        assert!(closed_then(&v, monday(0, 0), 60).is_none());
        let why = closed_then(&v, monday(0, 30), 60).expect("closed at 01:00");
        assert_eq!(
            why,
            "the venue is not open then for at least 60 minutes (it opens 18:00-23:00 on Mondays, and until 01:00 \
             from Sundays' hours, UTC time)"
        );
        // A day closed but for the night before's hours says so.
        let mut hours = OpeningHours::default();
        hours.days[6] = vec![(17 * 60, 25 * 60)];
        v.opening_hours = Some(hours);
        let why = closed_then(&v, monday(0, 30), 60).expect("closed at 01:00");
        assert!(why.contains("it is open on Mondays only until 01:00 from Sundays' hours, UTC time"), "{why}");
    }

    #[test]
    fn slots_follow_the_local_opening_hours_and_the_last_seating() {
        let v = venue(Some(OpeningHours::every_day(&[(17 * 60, 22 * 60)])));
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let slots = slot_starts(&v, day, 30, 60);
        // 17:00 to 21:00 local (EST, UTC-5): nine half-hour starts.
        assert_eq!(slots.len(), 9);
        assert_eq!(slots[0], Utc.with_ymd_and_hms(2026, 12, 4, 22, 0, 0).unwrap());
        assert!(open_for(&v, slots[8], 60) && !open_for(&v, slots[8], 61));
        assert_eq!(slot_starts(&venue(None), day, 30, 60).len(), 48);
    }

    #[test]
    fn a_stay_is_checked_against_the_wall_clock_on_daylight_saving_nights() {
        // Open 00:00-03:00 on Sunday 8 March 2026, when New York's clocks go from 02:00 to
        // 03:00: 90 minutes from 01:00 (06:00 UTC) end at 03:30 on the wall, after closing.
        let mut hours = OpeningHours::default();
        hours.days[6] = vec![(0, 3 * 60)];
        let v = venue(Some(hours));
        let one_am = Utc.with_ymd_and_hms(2026, 3, 8, 6, 0, 0).unwrap();
        assert!(!open_for(&v, one_am, 90));
        assert!(open_for(&v, one_am, 60));
        // Open 00:00-02:00 on Sunday 1 November 2026, when clocks go from 02:00 back to 01:00:
        // 90 minutes from 00:45 (04:45 UTC) end at 01:15 on the wall, before closing.
        let mut hours = OpeningHours::default();
        hours.days[6] = vec![(0, 2 * 60)];
        let v = venue(Some(hours));
        assert!(open_for(&v, Utc.with_ymd_and_hms(2026, 11, 1, 4, 45, 0).unwrap(), 90));
        assert!(closed_then(&v, Utc.with_ymd_and_hms(2026, 11, 1, 4, 45, 0).unwrap(), 90).is_none());
        // Open Saturday 18:00-01:00 that night: 90 minutes from 00:30 (04:30 UTC) run to the
        // first 02:00 on the wall, past closing at the first 01:00 (05:00 UTC), though they end
        // at 01:00 by the clock set back.
        let mut hours = OpeningHours::default();
        hours.days[5] = vec![(18 * 60, 25 * 60)];
        let v = venue(Some(hours));
        let half_past = Utc.with_ymd_and_hms(2026, 11, 1, 4, 30, 0).unwrap();
        assert!(!open_for(&v, half_past, 90));
        assert!(open_for(&v, half_past, 30) && !open_for(&v, half_past, 31));
    }

    /// The instants every `step` minutes over `[from, to]`, UTC.
    fn every(step: i64, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let n = (to - from).num_minutes() / step;
        (0..=n).map(|i| from + chrono::Duration::minutes(i * step)).collect()
    }

    #[test]
    fn on_the_night_clocks_go_back_both_passes_of_the_repeated_hour_have_slots() {
        // Sunday 1 November 2026 in New York: at 06:00 UTC the clocks go from 02:00 EDT back
        // to 01:00 EST, so 01:00 and 01:30 on the wall come twice (05:00 and 05:30 UTC, then
        // 06:00 and 06:30 UTC). Open Saturday 18:00 to Sunday 04:00, an hour's last seating.
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let utc = |h, m| Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap();
        let mut hours = OpeningHours::default();
        hours.days[5] = vec![(18 * 60, 28 * 60)];
        let late = venue(Some(hours));
        // 00:00, 00:30, 01:00 and 01:30 EDT, 01:00 and 01:30 EST, 02:00, 02:30 and 03:00 EST:
        // nine starts, one every 30 minutes of real time from 04:00 to 08:00 UTC (the second
        // pass was missing: seven).
        let slots = slot_starts(&late, day, 30, 60);
        assert_eq!(slots, every(30, utc(4, 0), utc(8, 0)));
        assert_eq!(slots.len(), 9);
        assert!(slots.iter().all(|&s| open_for(&late, s, 60)));

        // Closing at 02:00 instead: 01:30 EDT (05:30 UTC) for an hour runs to the second 01:30
        // on the wall, open throughout; 01:00 EST (06:00 UTC) ends at 02:00 EST, at closing;
        // 01:30 EST (06:30 UTC) would end at 02:30 EST, after closing, so it is not offered,
        // though 01:30 in the first pass is.
        let mut hours = OpeningHours::default();
        hours.days[5] = vec![(18 * 60, 26 * 60)];
        let closing = venue(Some(hours));
        assert_eq!(slot_starts(&closing, day, 30, 60), every(30, utc(4, 0), utc(6, 0)));
        assert!(!open_for(&closing, utc(6, 30), 60));

        // Open around the clock: the day has 25 hours, so 50 half-hour starts in time order.
        let always = slot_starts(&venue(None), day, 30, 60);
        assert_eq!(always, every(30, utc(4, 0), Utc.with_ymd_and_hms(2026, 11, 2, 4, 30, 0).unwrap()));
        assert_eq!(always.len(), 50);
    }

    #[test]
    fn on_the_night_clocks_go_forward_the_missing_hour_has_no_slots() {
        // Sunday 8 March 2026 in New York: at 07:00 UTC the clocks go from 02:00 EST to 03:00
        // EDT, so 02:00 and 02:30 on the wall never come. Open Saturday 18:00 to Sunday 04:00.
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let utc = |h, m| Utc.with_ymd_and_hms(2026, 3, 8, h, m, 0).unwrap();
        let mut hours = OpeningHours::default();
        hours.days[5] = vec![(18 * 60, 28 * 60)];
        let late = venue(Some(hours));
        // 00:00, 00:30, 01:00 and 01:30 EST, then 03:00 EDT (03:30 would end at 04:30): one
        // start every 30 minutes of real time from 05:00 to 07:00 UTC, none twice, none in
        // the gap (01:30 EST for an hour ends at 03:30 EDT on the wall, before closing).
        assert_eq!(slot_starts(&late, day, 30, 60), every(30, utc(5, 0), utc(7, 0)));
        // Open around the clock: the day has 23 hours, so 46 half-hour starts.
        let always = slot_starts(&venue(None), day, 30, 60);
        assert_eq!(always, every(30, utc(5, 0), Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).unwrap()));
        assert_eq!(always.len(), 46);
    }

    #[test]
    fn the_default_time_follows_the_first_seeds_rule_in_local_time() {
        let tz = chrono_tz::America::New_York;
        // 09:00, 14:00 and 18:00 in New York.
        assert_eq!(default_time(t(14, 0), tz), t(17, 0));
        assert_eq!(default_time(t(19, 0), tz), Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap());
        assert_eq!(default_time(t(23, 0), tz), Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap());
    }
}
