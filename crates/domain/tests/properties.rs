//! Property tests of the parsers that take outside input: opening hours, page parameters,
//! coordinates, confirmation codes, and the capacity arithmetic bookings rely on. Each parser
//! must never panic on any input, accept exactly what its rule says, and round-trip what it
//! prints.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use domain::hours::DAY_KEYS;
use domain::inventory::{Hold, peak_seats};
use domain::{LatLng, OpeningHours, PageRequest, confirmation};
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

fn at(day: u32, minute: u32) -> NaiveDateTime {
    // 2024-01-01 is a Monday.
    let date = NaiveDate::from_ymd_opt(2024, 1, 1 + day).expect("a January day");
    date.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("a time"))
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
