//! Property tests of the parsers that take outside input: opening hours, page parameters,
//! coordinates, confirmation codes, and the capacity arithmetic bookings rely on. Each parser
//! must never panic on any input, accept exactly what its rule says, and round-trip what it
//! prints.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use domain::hours::DAY_KEYS;
use domain::inventory::{Hold, open_for, peak_seats};
use domain::{Category, LatLng, OpeningHours, PageRequest, Venue, confirmation};
use proptest::prelude::*;

/// A valid interval on the wire: `HH:MM-HH:MM`, any open minute of the day, any close.
fn interval() -> impl Strategy<Value = String> {
    (0u16..1440, 0u16..=1440).prop_map(|(o, c)| format!("{:02}:{:02}-{:02}:{:02}", o / 60, o % 60, c / 60, c % 60))
}

fn wire_hours() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    prop::collection::btree_map(
        prop::sample::select(DAY_KEYS.to_vec()).prop_map(String::from),
        prop::collection::vec(interval(), 0..4),
        0..7,
    )
}

/// Hours whose intervals mostly open or close between 20:00 and 04:00, when clocks change.
fn night_hours() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    let minute = || prop_oneof![(0u16..32).prop_map(|k| (20 * 60 + k * 15) % 1440), 0u16..1440];
    let interval =
        (minute(), minute()).prop_map(|(o, c)| format!("{:02}:{:02}-{:02}:{:02}", o / 60, o % 60, c / 60, c % 60));
    prop::collection::btree_map(
        prop::sample::select(DAY_KEYS.to_vec()).prop_map(String::from),
        prop::collection::vec(interval, 1..3),
        3..7,
    )
}

fn at(day: u32, minute: u32) -> NaiveDateTime {
    // 2024-01-01 is a Monday.
    let date = NaiveDate::from_ymd_opt(2024, 1, 1 + day).expect("a January day");
    date.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("a time"))
}

/// Zones whose clocks change on the nights below: by an hour at 02:00 (New York), at 01:00 UTC
/// (London), at midnight (Santiago: 24:00 back to 23:00, 00:00 forward to 01:00), and by half
/// an hour (Lord Howe Island).
const ZONES: [&str; 4] = ["America/New_York", "Europe/London", "America/Santiago", "Australia/Lord_Howe"];

/// A UTC instant within a day either side of a change of `zone`'s offset in 2026: the night
/// clocks go back when `back`, else the night they go forward.
fn near_a_change(zone: &str, back: bool, minutes_before: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    // The first instant of each change, in UTC.
    let change = match (zone, back) {
        ("America/New_York", true) => (11, 1, 6, 0),
        ("America/New_York", false) => (3, 8, 7, 0),
        ("Europe/London", true) => (10, 25, 1, 0),
        ("Europe/London", false) => (3, 29, 1, 0),
        ("America/Santiago", true) => (4, 5, 3, 0),
        ("America/Santiago", false) => (9, 6, 4, 0),
        ("Australia/Lord_Howe", true) => (4, 4, 15, 0),
        _ => (10, 3, 15, 30),
    };
    let at = chrono::Utc.with_ymd_and_hms(2026, change.0, change.1, change.2, change.3, 0).unwrap();
    at - chrono::Duration::minutes(i64::from(minutes_before))
}

fn venue_with(hours: OpeningHours, zone: &str) -> Venue {
    let t0 = chrono::DateTime::from_timestamp(0, 0).unwrap();
    Venue {
        id: domain::new_id(),
        name: "v".into(),
        description: None,
        category: Category::Bar,
        cuisine: None,
        address: None,
        city: None,
        lat: 0.0,
        lng: 0.0,
        price_level: None,
        rating: None,
        capacity: 10,
        tags: vec![],
        opening_hours: Some(hours),
        timezone: zone.into(),
        created_at: t0,
        updated_at: t0,
    }
}

proptest! {
    #[test]
    fn opening_hours_never_panic_on_any_text(raw in prop::collection::btree_map(
        prop_oneof!["\\PC{0,6}", prop::sample::select(DAY_KEYS.to_vec()).prop_map(String::from)],
        prop::collection::vec(prop_oneof!["\\PC{0,14}", "[0-9+-]{0,3}:[0-9+-]{0,3}-[0-9+-]{0,3}:[0-9]{0,3}"], 0..3),
        0..4,
    )) {
        let _ = OpeningHours::parse(&raw, "opening_hours");
    }

    #[test]
    fn valid_opening_hours_parse_and_round_trip_through_the_wire_form(raw in wire_hours()) {
        let hours = OpeningHours::parse(&raw, "opening_hours").expect("valid hours parse");
        let again = OpeningHours::parse(&hours.to_wire(), "opening_hours").expect("printed hours parse");
        prop_assert_eq!(again, hours);
    }

    #[test]
    fn open_for_a_stay_means_open_at_its_start_and_for_any_shorter_stay(
        raw in wire_hours(), day in 0u32..7, minute in 0u32..1440, stay in 1u16..=480, shorter in 1u16..=480,
    ) {
        let hours = OpeningHours::parse(&raw, "opening_hours").expect("valid hours parse");
        let t = at(day, minute);
        if hours.is_open_for(&t, stay) {
            prop_assert!(hours.is_open_at(&t));
            prop_assert!(hours.is_open_for(&t, shorter.min(stay)));
        }
        // The same answer minute by minute: open at every minute of the stay.
        let every_minute = (minute..minute + u32::from(stay)).all(|m| {
            let day = chrono::Weekday::try_from(((day + m / 1440) % 7) as u8).expect("a weekday");
            hours.is_open(day, (m % 1440) as u16)
        });
        prop_assert_eq!(hours.is_open_for(&t, stay), every_minute);
        prop_assert!(hours.weekly_minutes() <= 7 * 4 * 1440);
    }

    #[test]
    fn on_nights_the_clocks_change_a_stay_is_open_exactly_when_open_at_each_of_its_minutes(
        raw in prop_oneof![wire_hours(), night_hours()], zone in prop::sample::select(ZONES.to_vec()),
        back in any::<bool>(), before in 0u32..720, second in prop_oneof![Just(0i64), 1i64..60], stay in 1u16..=480,
    ) {
        // Each minute of the stay read on the wall clock it shows: in the hour that happens
        // twice, the first pass on the earlier offset, the second on the later one. A stay
        // starting within a minute is open at that minute and at each minute it reaches.
        let venue = venue_with(OpeningHours::parse(&raw, "opening_hours").expect("valid hours parse"), zone);
        let at = near_a_change(zone, back, before) + chrono::Duration::seconds(second);
        let end = at + chrono::Duration::minutes(i64::from(stay));
        let first_whole = at + chrono::Duration::seconds((60 - second) % 60);
        let every_minute = venue.is_open_at(at)
            && (0..).map(|m| first_whole + chrono::Duration::minutes(m)).take_while(|&t| t < end).all(|t| venue.is_open_at(t));
        prop_assert_eq!(open_for(&venue, at, stay), every_minute);
    }

    #[test]
    fn page_limits_are_accepted_exactly_between_1_and_the_cap(limit in any::<Option<i64>>()) {
        let parsed = PageRequest::parse(limit, None);
        let ok = limit.is_none_or(|l| (1..=i64::from(domain::page::MAX_LIMIT)).contains(&l));
        prop_assert_eq!(parsed.is_ok(), ok);
        if let Ok(p) = parsed {
            prop_assert!(p.limit >= 1 && p.limit <= domain::page::MAX_LIMIT);
        }
    }

    #[test]
    fn coordinates_are_accepted_exactly_in_range(lat in any::<f64>(), lng in any::<f64>()) {
        let ok = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng);
        prop_assert_eq!(LatLng::parse(lat, lng, "lat", "lng").is_ok(), ok);
    }

    #[test]
    fn distances_are_finite_symmetric_and_bounded(a in (-90.0f64..=90.0, -180.0f64..=180.0), b in (-90.0f64..=90.0, -180.0f64..=180.0)) {
        let (p, q) = (LatLng::parse(a.0, a.1, "a", "a").unwrap(), LatLng::parse(b.0, b.1, "b", "b").unwrap());
        let d = p.distance_km(&q);
        prop_assert!(d.is_finite() && (0.0..=std::f64::consts::PI * domain::geo::EARTH_RADIUS_KM + 1e-6).contains(&d));
        prop_assert!((d - q.distance_km(&p)).abs() < 1e-6);
    }

    #[test]
    fn confirmation_codes_are_recognised_exactly(s in "\\PC{0,12}", seed in any::<u64>()) {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        prop_assert!(confirmation::is_well_formed(&confirmation::generate(&mut rng)));
        let expected = s.strip_prefix(confirmation::PREFIX).is_some_and(|r| {
            r.len() == confirmation::LENGTH && r.bytes().all(|b| confirmation::ALPHABET.contains(&b))
        });
        prop_assert_eq!(confirmation::is_well_formed(&s), expected);
    }

    #[test]
    fn the_peak_of_held_seats_is_at_least_each_hold_and_at_most_their_sum(
        holds in prop::collection::vec((0i64..600, 15i64..240, 1i32..50), 0..12),
    ) {
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let holds: Vec<Hold> = holds.iter().map(|&(start, len, seats)| Hold {
            start: t0 + chrono::Duration::minutes(start),
            end: t0 + chrono::Duration::minutes(start + len),
            seats,
        }).collect();
        let (from, to) = (t0, t0 + chrono::Duration::minutes(900));
        let peak = peak_seats(&holds, from, to);
        prop_assert!(peak <= holds.iter().map(|h| h.seats).sum::<i32>());
        for h in &holds {
            prop_assert!(peak >= h.seats);
            prop_assert!(peak_seats(&holds, h.start, h.end) >= h.seats);
        }
    }
}
