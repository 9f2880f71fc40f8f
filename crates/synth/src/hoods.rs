//! Neighbourhoods: named clusters scattered around the centre, each with a character
//! (nightlife, business, residential, ...) that sets its category mix, prices, ambiance and
//! how many venues and homes it holds. Venues and homes are drawn around their centres.

use domain::LatLng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::catalog::{self, tag};
use crate::rng::{EntityRng, Kind, entity_rng};
use crate::words;

/// The character of a neighbourhood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoodKind {
    /// Bars, music, karaoke; late nights.
    Nightlife,
    /// Offices: cafes and lunch restaurants, pricier.
    Business,
    /// Where people live: neighbourhood restaurants and cafes.
    Residential,
    /// Galleries and venues: music, comedy, trendy places.
    Arts,
    /// Views: rooftops, patios, romantic dinners.
    Waterfront,
    /// Students: cheap eats, happy hours.
    University,
    /// A food destination with a signature cuisine.
    FoodHub,
}

impl HoodKind {
    const ALL: [HoodKind; 7] = [
        HoodKind::Nightlife,
        HoodKind::Business,
        HoodKind::Residential,
        HoodKind::Arts,
        HoodKind::Waterfront,
        HoodKind::University,
        HoodKind::FoodHub,
    ];

    /// Odds of each kind for a neighbourhood at relative distance `r` (0 centre, 1 edge).
    fn odds(self, r: f64) -> f64 {
        match self {
            HoodKind::Nightlife => 0.15 * (1.3 - 0.6 * r),
            HoodKind::Business => 0.12 * (1.8 - 1.4 * r).max(0.1),
            HoodKind::Residential => 0.30 * (0.5 + r),
            HoodKind::Arts => 0.12,
            HoodKind::Waterfront => 0.09 * (0.6 + r),
            HoodKind::University => 0.10,
            HoodKind::FoodHub => 0.12,
        }
    }

    /// Category mix in the order of `Category::ALL`.
    fn category_mix(self) -> [f64; 7] {
        match self {
            HoodKind::Nightlife => [0.25, 0.35, 0.06, 0.12, 0.07, 0.10, 0.05],
            HoodKind::Business => [0.45, 0.17, 0.30, 0.02, 0.02, 0.02, 0.02],
            HoodKind::Residential => [0.42, 0.18, 0.25, 0.03, 0.02, 0.03, 0.07],
            HoodKind::Arts => [0.30, 0.22, 0.20, 0.14, 0.08, 0.03, 0.03],
            HoodKind::Waterfront => [0.40, 0.26, 0.18, 0.06, 0.03, 0.02, 0.05],
            HoodKind::University => [0.35, 0.22, 0.25, 0.05, 0.04, 0.05, 0.04],
            HoodKind::FoodHub => [0.65, 0.12, 0.15, 0.02, 0.02, 0.03, 0.01],
        }
    }

    /// (venue density, home density, price shift).
    fn weights(self) -> (f64, f64, f64) {
        match self {
            HoodKind::Nightlife => (1.4, 0.6, 0.1),
            HoodKind::Business => (1.3, 0.3, 0.4),
            HoodKind::Residential => (0.7, 2.0, -0.1),
            HoodKind::Arts => (1.0, 1.0, 0.0),
            HoodKind::Waterfront => (0.8, 0.8, 0.3),
            HoodKind::University => (0.8, 1.5, -0.5),
            HoodKind::FoodHub => (1.3, 0.8, -0.2),
        }
    }

    /// Multipliers on the odds of tags here.
    pub(crate) fn tag_boosts(self) -> &'static [(usize, f64)] {
        use tag::*;
        match self {
            HoodKind::Nightlife => &[(LIVELY, 1.6), (LATE_NIGHT, 1.6), (TRENDY, 1.4), (QUIET, 0.4), (COCKTAILS, 1.3)],
            HoodKind::Business => {
                &[(WIFI, 1.3), (QUIET, 1.2), (RESERVATIONS, 1.3), (LATE_NIGHT, 0.5), (HAPPY_HOUR, 1.3)]
            }
            HoodKind::Residential => &[(COZY, 1.5), (FAMILY, 1.6), (QUIET, 1.3), (DOG, 1.4), (BRUNCH, 1.3)],
            HoodKind::Arts => &[(TRENDY, 1.6), (LIVE_MUSIC, 1.5), (COZY, 1.2), (BEER, 1.2)],
            HoodKind::Waterfront => &[(ROOFTOP, 2.5), (OUTDOOR, 1.8), (ROMANTIC, 1.5), (BRUNCH, 1.3)],
            HoodKind::University => &[(WIFI, 1.3), (HAPPY_HOUR, 1.5), (LIVELY, 1.3), (VEGAN, 1.3)],
            HoodKind::FoodHub => &[(VEGAN, 1.3), (VEGETARIAN, 1.3), (RESERVATIONS, 1.2)],
        }
    }
}

/// A neighbourhood of the generated city.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbourhood {
    /// An invented name such as "Harbor Point".
    pub name: String,
    /// Its character.
    pub kind: HoodKind,
    /// Where its venues and homes are centred.
    pub center: LatLng,
    /// Standard deviation, in km, of venue and home positions around the centre.
    pub spread_km: f64,
    /// Relative share of the city's venues.
    pub venue_weight: f64,
    /// Relative share of the city's homes.
    pub home_weight: f64,
    /// Category mix in the order of `Category::ALL`.
    pub category_mix: [f64; 7],
    /// The cuisine it is known for, if any.
    pub signature_cuisine: Option<&'static str>,
    /// Shift of price levels here (positive is dearer).
    pub price_shift: f64,
    #[serde(skip)]
    pub(crate) signature: Option<usize>,
}

/// How many neighbourhoods a city of `venues` venues has (20 to 40).
pub(crate) fn hood_count(venues: usize) -> usize {
    (16.0 + (venues as f64).sqrt() / 8.0).clamp(20.0, 40.0) as usize
}

/// A point `(east_km, north_km)` away from `c`.
pub(crate) fn offset(c: LatLng, east_km: f64, north_km: f64) -> LatLng {
    let lat = c.lat + north_km / domain::geo::KM_PER_DEG_LAT;
    let lng = c.lng + east_km / (domain::geo::KM_PER_DEG_LAT * c.lat.to_radians().cos());
    LatLng { lat: lat.clamp(-90.0, 90.0), lng: ((lng + 540.0) % 360.0) - 180.0 }
}

/// A point drawn around `around` with spread `sigma_km`, kept inside the city radius.
pub(crate) fn scatter(rng: &mut EntityRng, center: LatLng, radius_km: f64, around: LatLng, sigma_km: f64) -> LatLng {
    let s = sigma_km.max(0.01);
    for _ in 0..8 {
        let p = offset(around, s * gauss(rng), s * gauss(rng));
        if center.distance_km(&p) <= radius_km {
            return p;
        }
    }
    // Rare: pull the last try towards the centre onto the radius.
    let p = offset(around, s * gauss(rng), s * gauss(rng));
    let d = center.distance_km(&p).max(1e-9);
    let k = (radius_km * 0.98 / d).min(1.0);
    LatLng { lat: center.lat + (p.lat - center.lat) * k, lng: center.lng + (p.lng - center.lng) * k }
}

/// A standard normal draw.
#[inline]
pub(crate) fn gauss(rng: &mut EntityRng) -> f64 {
    StandardNormal.sample(rng)
}

/// Draws the neighbourhoods of a city.
pub(crate) fn generate(seed: u64, center: LatLng, radius_km: f64, venues: usize) -> Vec<Neighbourhood> {
    let mut rng = entity_rng(seed, Kind::Hoods, 0);
    let count = hood_count(venues);
    let mut names: Vec<&str> = words::HOOD_NAMES.to_vec();
    let mut hoods = Vec::with_capacity(count);
    let sigma = radius_km * 0.4;
    for i in 0..count {
        let pos = scatter(&mut rng, center, radius_km * 0.85, center, sigma);
        let r = (center.distance_km(&pos) / radius_km).min(1.0);
        let odds: Vec<f64> = HoodKind::ALL.iter().map(|k| k.odds(r)).collect();
        let kind = HoodKind::ALL[pick(&mut rng, &odds)];
        let name = if names.is_empty() {
            format!("District {}", i + 1)
        } else {
            names.swap_remove(rng.random_range(0..names.len())).to_string()
        };
        let (vw, hw, ps) = kind.weights();
        let jitter = |rng: &mut EntityRng, s: f64| (s * (rng.random::<f64>() * 2.0 - 1.0)).exp();
        let mut mix = kind.category_mix();
        for m in &mut mix {
            *m *= jitter(&mut rng, 0.35);
        }
        let signature =
            (kind == HoodKind::FoodHub || rng.random_bool(0.25)).then(|| pick(&mut rng, &catalog::CUISINE_SHARE));
        hoods.push(Neighbourhood {
            name,
            kind,
            center: pos,
            spread_km: (radius_km / 12.0) * (0.35 + rng.random::<f64>() * 0.8),
            venue_weight: vw * jitter(&mut rng, 0.6),
            home_weight: hw * jitter(&mut rng, 0.5),
            category_mix: mix,
            signature_cuisine: signature.map(|c| catalog::CUISINES[c]),
            price_shift: ps + (rng.random::<f64>() - 0.5) * 0.4,
            signature,
        });
    }
    hoods
}

/// An index drawn with probability proportional to `weights` (never empty).
pub(crate) fn pick(rng: &mut EntityRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// An index drawn by binary search in cumulative weights (last element = total).
pub(crate) fn pick_cumulative(u: f64, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = u * total;
    cumulative.partition_point(|&c| c <= x).min(cumulative.len().saturating_sub(1))
}
