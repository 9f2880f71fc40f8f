//! What the simulator knows of the city, loaded once per run from the store: the active users
//! (their persona, home, tastes and friends among the active users), the venues with a
//! spatial grid, and, for Concert Night, the event spot (the densest cluster around a music
//! venue). Read-only during a run; indices are positions in id order, so the same database
//! gives the same world.

use std::collections::HashMap;

use domain::{LatLng, OpeningHours, Timestamp, UserId, VenueId};
use rand::RngExt;
use synth::personas::PROFILES;

use super::scenario::Surge;

/// Grid cell size in degrees of latitude (about 1.1 km).
const CELL_DEG: f64 = 0.01;
/// Kilometres per degree of latitude.
const KM_PER_DEG: f64 = 111.2;
/// Radius of the concert's pull around the event spot.
pub const EVENT_RADIUS_KM: f64 = 1.0;

/// A simulated user: an existing user of the store with what drives their choices.
#[derive(Debug, Clone)]
pub struct SimUser {
    pub id: UserId,
    /// Index into `PROFILES` (from the stored persona, or drawn from the id when unset).
    pub persona: usize,
    pub home: LatLng,
    pub activity: f64,
    pub openness: f64,
    /// The price level they aim at, 1 to 4 (persona ideal blended with stated range).
    pub price_ideal: f64,
    /// Stated cuisines, as indices interned at load (shared with [`SimVenue::cuisine`]).
    pub cuisines: Vec<u16>,
    pub group_size: u8,
    /// Friends among the active users, strongest first.
    pub friends: Vec<(u32, f32)>,
}

/// A venue as the simulator sees it.
#[derive(Debug, Clone)]
pub struct SimVenue {
    pub id: VenueId,
    /// Index into `Category::ALL`.
    pub category: usize,
    pub pos: LatLng,
    pub price: f64,
    pub rating: f64,
    pub cuisine: Option<u16>,
    pub tags: Vec<String>,
    pub hours: Option<OpeningHours>,
    pub tz: chrono_tz::Tz,
}

impl SimVenue {
    /// Open at `at` (unknown hours count as open).
    pub fn is_open_at(&self, at: Timestamp) -> bool {
        use chrono::{Datelike, Timelike};
        let l = at.with_timezone(&self.tz);
        self.hours.as_ref().is_none_or(|h| h.is_open(l.weekday(), (l.hour() * 60 + l.minute()) as u16))
    }

    /// Open from `at` for at least `minutes`, each instant on the wall clock it shows, as the
    /// booking agent checks (unknown hours count as open).
    pub fn is_open_for(&self, at: Timestamp, minutes: u16) -> bool {
        let to = at + chrono::Duration::minutes(i64::from(minutes));
        self.hours.as_ref().is_none_or(|h| h.is_open_between(self.tz, at, to))
    }
}

/// The venues within the concert's pull, in index order.
#[derive(Debug, Clone)]
pub struct EventSpot {
    pub venues: Vec<u32>,
}

/// The run's world.
#[derive(Debug, Default)]
pub struct World {
    pub users: Vec<SimUser>,
    pub venues: Vec<SimVenue>,
    pub venue_index: HashMap<VenueId, u32>,
    pub tz: Option<chrono_tz::Tz>,
    pub event: Option<EventSpot>,
    /// Friend requests among the active users pending when the run began (from, to, request),
    /// oldest first: left by earlier runs or sent through the API.
    pub pending_requests: Vec<(u32, u32, domain::Id)>,
    grid: HashMap<(i32, i32), Vec<u32>>,
    lng_cell_deg: f64,
}

impl World {
    /// Builds the world from loaded users and venues (both in id order).
    pub fn new(users: Vec<SimUser>, venues: Vec<SimVenue>) -> Self {
        let lat0 = venues.first().map_or(40.7, |v| v.pos.lat);
        let lng_cell_deg = CELL_DEG / lat0.to_radians().cos().max(0.1);
        let mut w = World { users, lng_cell_deg, tz: venues.first().map(|v| v.tz), ..World::default() };
        for (i, v) in venues.iter().enumerate() {
            w.venue_index.insert(v.id, i as u32);
            w.grid.entry(w.cell(v.pos)).or_default().push(i as u32);
        }
        w.venues = venues;
        w.event = w.find_event_spot();
        w
    }

    /// The city's time zone (the venues'; New York when there are none).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.tz.unwrap_or(chrono_tz::America::New_York)
    }

    fn cell(&self, p: LatLng) -> (i32, i32) {
        ((p.lat / CELL_DEG).floor() as i32, (p.lng / self.lng_cell_deg).floor() as i32)
    }

    /// Venues in the grid cells within about `radius_km` of `center` (a square, not a disc).
    pub fn near(&self, center: LatLng, radius_km: f64) -> Vec<u32> {
        let (ci, cj) = self.cell(center);
        let reach = (radius_km / (CELL_DEG * KM_PER_DEG)).ceil() as i32;
        let mut out = Vec::new();
        for i in ci - reach..=ci + reach {
            for j in cj - reach..=cj + reach {
                if let Some(list) = self.grid.get(&(i, j)) {
                    out.extend_from_slice(list);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The music venue with the most venues within [`EVENT_RADIUS_KM`] (the first on a tie).
    fn find_event_spot(&self) -> Option<EventSpot> {
        let music: Vec<usize> = (0..self.venues.len()).filter(|&i| self.venues[i].category == 3).collect();
        let candidates = if music.is_empty() { (0..self.venues.len()).collect() } else { music };
        let around = |i: usize| -> Vec<u32> {
            let c = self.venues[i].pos;
            let near = self.near(c, EVENT_RADIUS_KM).into_iter();
            near.filter(|&j| self.venues[j as usize].pos.distance_km(&c) <= EVENT_RADIUS_KM).collect()
        };
        let mut best: Option<(usize, Vec<u32>)> = None;
        for i in candidates {
            let venues = around(i);
            if best.as_ref().is_none_or(|(_, b)| venues.len() > b.len()) {
                best = Some((i, venues));
            }
        }
        best.map(|(_, venues)| EventSpot { venues })
    }

    /// Whether venue `v` is within the event's pull.
    pub fn near_event(&self, v: u32) -> bool {
        self.event.as_ref().is_some_and(|e| e.venues.binary_search(&v).is_ok())
    }

    /// How much user `u` would like venue `v` under `surge`: category taste, price fit,
    /// distance from home, stated cuisine, rating, the surge's tag and event pull. Positive.
    pub fn appeal(&self, u: &SimUser, v: u32, surge: &Surge) -> f64 {
        let venue = &self.venues[v as usize];
        let p = &PROFILES[u.persona];
        let category = p.category_bias[venue.category] * surge.category[venue.category];
        let price = (-p.price_sensitivity * (venue.price - (u.price_ideal + surge.price_shift)).abs()).exp();
        let distance = (-u.home.distance_km(&venue.pos) / p.distance_km).exp();
        let cuisine = if venue.cuisine.is_some_and(|c| u.cuisines.contains(&c)) { 1.6 } else { 1.0 };
        let rating = 0.5 + venue.rating / 5.0;
        let tag = surge.tag.filter(|(t, _)| venue.tags.iter().any(|x| x == t)).map_or(1.0, |(_, m)| m);
        let event = if surge.event_pull > 0.0 && self.near_event(v) { 1.0 + 4.0 * surge.event_pull } else { 1.0 };
        (category * price * distance * cuisine * rating * tag * event).max(1e-9)
    }

    /// Up to `k` venues user `u` might consider now, with their appeal: mostly near home, a few
    /// from anywhere (exploration), and around the event with the surge's event pull.
    pub fn candidates(&self, u: &SimUser, surge: &Surge, rng: &mut impl RngExt, k: usize) -> Vec<(u32, f64)> {
        if self.venues.is_empty() {
            return Vec::new();
        }
        let pool = match &self.event {
            Some(e) if surge.event_pull > 0.0 && rng.random_bool(surge.event_pull) => e.venues.clone(),
            _ => self.near(u.home, PROFILES[u.persona].distance_km.max(1.5)),
        };
        let explore = 1 + (PROFILES[u.persona].exploration * 4.0) as usize;
        let mut picked: Vec<u32> = Vec::with_capacity(k);
        for i in 0..k {
            let from_pool = i + explore < k && !pool.is_empty();
            let v = if from_pool {
                pool[rng.random_range(0..pool.len())]
            } else {
                rng.random_range(0..self.venues.len() as u32)
            };
            if !picked.contains(&v) {
                picked.push(v);
            }
        }
        picked.into_iter().map(|v| (v, self.appeal(u, v, surge))).collect()
    }
}

/// Draws an index with probability proportional to its weight (the last on rounding).
pub fn pick_weighted(weights: &[f64], rng: &mut impl RngExt) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() || total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    Some(weights.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The simulator plans a stay at a venue as the booking agent checks it, each instant on
    /// its own wall clock: it read the stay from its local start for its length, so 90 minutes
    /// from 01:00 on the night New York's clocks go forward (8 March 2026, 06:00 UTC) were
    /// checked as 01:00-02:30 and a venue closing at 03:00 took them, though they end at 03:30.
    #[test]
    fn a_planned_stay_is_checked_on_the_wall_clock_on_daylight_saving_nights() {
        let mut hours = OpeningHours::default();
        hours.days[6] = vec![(0, 3 * 60)];
        let venue = SimVenue {
            id: domain::new_id(),
            category: 0,
            pos: LatLng { lat: 40.7, lng: -74.0 },
            price: 2.0,
            rating: 4.0,
            cuisine: None,
            tags: Vec::new(),
            hours: Some(hours),
            tz: chrono_tz::America::New_York,
        };
        let one_am = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 6, 0, 0).unwrap();
        assert!(!venue.is_open_for(one_am, 90));
        assert!(venue.is_open_for(one_am, 60));
        assert!(venue.is_open_at(one_am));
    }
}
