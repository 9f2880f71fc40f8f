//! Context: what a venue is good for at a given local time (time of day against category,
//! weekday or weekend) and whether it is open then. Local time is computed once per time
//! zone per query, not once per venue. A user's own local time is read in the zone of the
//! venues around them ([`user_zone`]).

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use domain::{Category, TimeOfDay};

use crate::state::{State, VenueRow};
use crate::util::{chord_for_km, to_xyz};

/// How far [`user_zone`] looks for a venue near the user, km.
const ZONE_REACH_KM: f64 = 200.0;

/// The time zone a user is taken to live in (users have none of their own): that of the alive
/// venue nearest to `origin` (within [`ZONE_REACH_KM`]), else of the venue `fallback` (the first
/// one recommended), else the engine's default zone.
pub(crate) fn user_zone(st: &State, origin: Option<(f64, f64)>, fallback: Option<u32>) -> Tz {
    let near = origin.and_then(|(lat, lng)| nearest_venue(st, lat, lng));
    match near.or(fallback).and_then(|v| st.live_venue(v)) {
        Some(row) => st.tz(row),
        None => st.delta.tzs.first().copied().unwrap_or(chrono_tz::America::New_York),
    }
}

/// The alive venue nearest to a point within [`ZONE_REACH_KM`]: the snapshot's index gives the
/// nearest of its venues; venues changed since (a few, and maybe moved) are checked directly.
fn nearest_venue(st: &State, lat: f64, lng: f64) -> Option<u32> {
    let max_d2 = chord_for_km(ZONE_REACH_KM).powi(2);
    let p = to_xyz(lat, lng);
    let d2 = |row: &VenueRow| row.xyz.iter().zip(&p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
    let mut best: Option<(u32, f64)> = None;
    let mut consider = |v: u32, d: f64| {
        if d <= max_d2 && best.is_none_or(|(bv, bd)| d < bd || (d == bd && v < bv)) {
            best = Some((v, d));
        }
    };
    for &v in st.delta.venues.keys() {
        if let Some(row) = st.live_venue(v) {
            consider(v, d2(row));
        }
    }
    // Groups come nearest first: the first with a venue not overridden by the delta holds the
    // snapshot's nearest.
    let mut near = st.snap.spatial.nearest(lat, lng, max_d2);
    let mut group = Vec::new();
    while near.next_group(&mut group) {
        let mut found = false;
        for &(v, d) in &group {
            if !st.delta.venues.contains_key(&v) && st.live_venue(v).is_some() {
                consider(v, d);
                found = true;
            }
        }
        if found {
            break;
        }
        group.clear();
    }
    best.map(|(v, _)| v)
}

/// A query instant seen in each venue time zone, computed lazily.
#[derive(Debug)]
pub(crate) struct LocalClock {
    at: DateTime<Utc>,
    cache: Vec<Option<(Weekday, u16)>>,
}

impl LocalClock {
    pub fn new(at: DateTime<Utc>, zones: usize) -> Self {
        Self { at, cache: vec![None; zones] }
    }

    /// The local weekday and minute of day at the venue.
    pub fn local(&mut self, st: &State, row: &VenueRow) -> (Weekday, u16) {
        let i = usize::from(row.tz);
        if let Some(Some(x)) = self.cache.get(i) {
            return *x;
        }
        let t = self.at.with_timezone(&st.tz(row));
        let x = (t.weekday(), (t.hour() * 60 + t.minute()) as u16);
        if i < self.cache.len() {
            self.cache[i] = Some(x);
        }
        x
    }

    /// Whether the venue is open at the query time (unknown hours count as open).
    pub fn is_open(&mut self, st: &State, row: &VenueRow) -> bool {
        let (d, m) = self.local(st, row);
        row.hours.as_ref().is_none_or(|h| h.is_open(d, m))
    }

    /// How well the venue's category fits the local time of day and day of week, 0 to 1.
    pub fn fit(&mut self, st: &State, row: &VenueRow) -> f64 {
        let (d, m) = self.local(st, row);
        let tod = TimeOfDay::from_hour(u32::from(m / 60));
        let weekend =
            matches!(d, Weekday::Fri | Weekday::Sat) && m >= 17 * 60 || matches!(d, Weekday::Sat | Weekday::Sun);
        category_fit(row.category, tod, weekend)
    }
}

/// Prior fit of a category to a time of day (morning, afternoon, evening, night).
pub(crate) fn category_fit(c: Category, tod: TimeOfDay, weekend: bool) -> f64 {
    let row: [f64; 4] = match c {
        Category::Restaurant => [0.35, 0.8, 1.0, 0.4],
        Category::Bar => [0.05, 0.3, 0.9, 1.0],
        Category::Cafe => [1.0, 0.8, 0.3, 0.05],
        Category::Music => [0.05, 0.2, 0.9, 1.0],
        Category::Comedy => [0.05, 0.2, 1.0, 0.8],
        Category::Karaoke => [0.05, 0.2, 0.8, 1.0],
        Category::Sports => [0.2, 0.7, 1.0, 0.5],
    };
    let base = row[tod as usize];
    let nightlife = matches!(c, Category::Bar | Category::Music | Category::Karaoke | Category::Comedy);
    if weekend && (nightlife || (c == Category::Cafe && tod == TimeOfDay::Morning)) {
        (base * 1.15).min(1.0)
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cafes_suit_mornings_and_bars_suit_nights() {
        assert!(
            category_fit(Category::Cafe, TimeOfDay::Morning, false)
                > category_fit(Category::Bar, TimeOfDay::Morning, false)
        );
        assert!(
            category_fit(Category::Bar, TimeOfDay::Night, false)
                > category_fit(Category::Cafe, TimeOfDay::Night, false)
        );
        assert!(
            category_fit(Category::Bar, TimeOfDay::Evening, true)
                >= category_fit(Category::Bar, TimeOfDay::Evening, false)
        );
    }
}
