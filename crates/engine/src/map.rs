//! The city as the admin map draws it: every alive venue (position, category, demand) and an
//! even sample of users' homes, read from the current state (no store scan). Columnar and
//! rounded, so a 100,000-venue city fits in a few megabytes of JSON: positions to 5 decimals
//! (about a metre), categories as indices into [`CityMap::categories`].

use domain::Category;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::engine::Engine;

/// Every alive venue and a sample of homes.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CityMap {
    /// The category table: `venues.category[i]` indexes it.
    pub categories: Vec<Category>,
    pub venues: MapVenues,
    pub homes: MapHomes,
    /// Alive users (the homes are a sample of those with a home).
    pub users_total: usize,
    /// Alive users with a home.
    pub users_with_home: usize,
    /// The box around venues and sampled homes; `null` when both are empty.
    pub bounds: Option<Bounds>,
}

/// Venues as parallel arrays: venue `i` is `id[i]`, `lat[i]`, `lng[i]`, ...
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct MapVenues {
    pub id: Vec<Uuid>,
    pub lat: Vec<f64>,
    pub lng: Vec<f64>,
    /// Index into `categories`.
    pub category: Vec<u8>,
    /// Interactions of any type with the venue.
    pub interactions: Vec<u32>,
    pub bookings: Vec<u32>,
    /// Recent demand: interactions decayed by the trending half-life, at the time of the request.
    pub demand: Vec<f64>,
}

/// Sampled homes as parallel arrays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct MapHomes {
    pub lat: Vec<f64>,
    pub lng: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Bounds {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lng: f64,
    pub max_lng: f64,
}

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

fn category_index(c: Category) -> u8 {
    Category::ALL.iter().position(|&x| x == c).map_or(u8::MAX, |i| i as u8)
}

impl Bounds {
    fn around(points: impl Iterator<Item = (f64, f64)>) -> Option<Self> {
        points.fold(None, |b: Option<Bounds>, (lat, lng)| {
            Some(match b {
                None => Bounds { min_lat: lat, max_lat: lat, min_lng: lng, max_lng: lng },
                Some(b) => Bounds {
                    min_lat: b.min_lat.min(lat),
                    max_lat: b.max_lat.max(lat),
                    min_lng: b.min_lng.min(lng),
                    max_lng: b.max_lng.max(lng),
                },
            })
        })
    }
}

impl Engine {
    /// Every alive venue and at most `max_homes` homes, spread evenly over the users with one
    /// (every k-th in index order, so the same state gives the same sample). `now` is seconds
    /// since the epoch, for the demand decay.
    pub fn city_map(&self, max_homes: usize, now: i64) -> CityMap {
        let st = self.load();
        let mut venues = MapVenues::default();
        for v in 0..st.n_venues() {
            let Some(row) = st.live_venue(v) else { continue };
            let dynamic = st.vdyn(v);
            venues.id.push(row.id);
            venues.lat.push(round(row.lat, 5));
            venues.lng.push(round(row.lng, 5));
            venues.category.push(category_index(row.category));
            venues.interactions.push(dynamic.map_or(0, |d| d.total));
            venues.bookings.push(dynamic.map_or(0, |d| d.bookings));
            // JSON has no NaN or infinity. An engine built before any interaction keeps its trend
            // origin at the epoch, so later live interactions overflow the trend: drawn as no
            // demand rather than breaking the column.
            let demand = st.trend(v, now);
            venues.demand.push(if demand.is_finite() { round(demand, 3) } else { 0.0 });
        }
        let (mut users_total, mut homes_all) = (0, Vec::new());
        for u in 0..st.n_users() {
            let Some(row) = st.live_user(u) else { continue };
            users_total += 1;
            if let Some(home) = row.home {
                homes_all.push(home);
            }
        }
        let stride = homes_all.len().div_ceil(max_homes.max(1)).max(1);
        let sampled = homes_all.iter().step_by(stride).take(max_homes);
        let homes = MapHomes {
            lat: sampled.clone().map(|h| round(h.0, 5)).collect(),
            lng: sampled.map(|h| round(h.1, 5)).collect(),
        };
        let points = venues.lat.iter().zip(&venues.lng).chain(homes.lat.iter().zip(&homes.lng));
        let bounds = Bounds::around(points.map(|(a, b)| (*a, *b)));
        CityMap {
            categories: Category::ALL.to_vec(),
            venues,
            homes,
            users_total,
            users_with_home: homes_all.len(),
            bounds,
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::{Category, InteractionType};

    use crate::testkit::*;
    use crate::{EngineBuilder, EngineSettings};

    fn city() -> crate::Engine {
        let mut b = EngineBuilder::new(EngineSettings::default());
        for n in 1..=10 {
            let home = (n != 10).then_some((40.70 + n as f64 * 0.001, -73.90));
            b.add_user(&user(n, home), None);
        }
        b.add_venue(&venue(101, 40.7123456, -73.9876543, Category::Bar, None));
        b.add_venue(&venue(102, 40.75, -73.95, Category::Cafe, None));
        for (u, minutes_ago) in [(1, 5), (2, 10), (3, 600)] {
            b.add_interaction(&ix(u, 101, InteractionType::Like, 0, minutes_ago));
        }
        b.build()
    }

    #[test]
    fn every_venue_is_listed_with_its_category_index_and_demand() {
        let map = city().city_map(100, t0().timestamp());
        assert_eq!(map.venues.id, vec![id(101), id(102)]);
        assert_eq!((map.venues.lat[0], map.venues.lng[0]), (40.71235, -73.98765));
        let bar = map.categories.iter().position(|&c| c == Category::Bar).unwrap();
        assert_eq!(map.venues.category[0] as usize, bar);
        assert_eq!(map.venues.interactions, vec![3, 0]);
        assert!(map.venues.demand[0] > 0.0 && map.venues.demand[1] == 0.0);
        let later = city().city_map(100, t0().timestamp() + 7 * 24 * 3600);
        assert!(later.venues.demand[0] < map.venues.demand[0], "demand decays with time");
    }

    #[test]
    fn homes_are_an_even_sample_of_users_with_a_home() {
        let map = city().city_map(3, t0().timestamp());
        assert_eq!((map.users_total, map.users_with_home), (10, 9));
        assert_eq!(map.homes.lat, vec![40.701, 40.704, 40.707]);
        let all = city().city_map(1000, t0().timestamp());
        assert_eq!(all.homes.lat.len(), 9);
        let none = city().city_map(0, t0().timestamp());
        assert!(none.homes.lat.is_empty());
        let b = all.bounds.unwrap();
        assert_eq!((b.min_lat, b.max_lat, b.min_lng, b.max_lng), (40.701, 40.75, -73.98765, -73.9));
    }
}
