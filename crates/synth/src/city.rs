//! The generated city: built once from a [`CityConfig`] (neighbourhoods, compact venue
//! profiles and the indexes the behaviour model samples from, about 100 bytes per venue),
//! then asked for any entity by index. Nothing per user is stored, so memory stays bounded
//! whatever the number of users.

use domain::{LatLng, Venue, VenueId};

use crate::catalog::{CUISINES, HoursTable};
use crate::hoods::{self, Neighbourhood};
use crate::rng::{Kind, Permutation, hash1};
use crate::venues::{self, VenueContext, VenueHot, VenueProfile};
use crate::{CityConfig, SynthError};

/// Compressed lists: the items of key `k` are `items[start[k]..start[k + 1]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Csr {
    pub start: Vec<u32>,
    pub items: Vec<u32>,
}

impl Csr {
    fn build(keys: usize, pairs: impl Iterator<Item = (usize, u32)> + Clone) -> Self {
        let mut start = vec![0u32; keys + 1];
        for (k, _) in pairs.clone() {
            start[k + 1] += 1;
        }
        for k in 0..keys {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut items = vec![0u32; start[keys] as usize];
        for (k, v) in pairs {
            items[fill[k] as usize] = v;
            fill[k] += 1;
        }
        Self { start, items }
    }

    pub(crate) fn get(&self, k: usize) -> &[u32] {
        match (self.start.get(k), self.start.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// An equirectangular projection to kilometres east and north of the centre. Within a
/// city's radius its distances differ from great-circle ones by well under one percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Projection {
    center: LatLng,
    km_per_deg_lng: f64,
}

impl Projection {
    pub(crate) fn new(center: LatLng) -> Self {
        Self { center, km_per_deg_lng: domain::geo::KM_PER_DEG_LAT * center.lat.to_radians().cos() }
    }

    pub(crate) fn xy(&self, p: LatLng) -> [f32; 2] {
        [
            // Wrapped, so a city on the antimeridian stays in one piece.
            (((p.lng - self.center.lng + 540.0) % 360.0 - 180.0) * self.km_per_deg_lng) as f32,
            ((p.lat - self.center.lat) * domain::geo::KM_PER_DEG_LAT) as f32,
        ]
    }
}

/// Planar distance in km between projected points.
#[inline]
pub(crate) fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    (dx * dx + dy * dy).sqrt()
}

/// A uniform grid of venues over the city's square, in projected kilometres.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub half_km: f32,
    pub cell_km: f32,
    pub cols: usize,
    pub cells: Csr,
}

impl Grid {
    fn new(radius_km: f64, venues: &[VenueHot]) -> Self {
        let cols = ((2.0 * radius_km / 0.5).ceil() as usize).clamp(4, 96);
        let half_km = (radius_km * 1.01) as f32;
        let mut g = Self { half_km, cell_km: 2.0 * half_km / cols as f32, cols, cells: Csr::default() };
        let keys: Vec<usize> = venues.iter().map(|v| g.cell_of(v.xy).unwrap_or(0)).collect();
        g.cells = Csr::build(cols * cols, keys.iter().enumerate().map(|(i, &k)| (k, i as u32)));
        g
    }

    /// The cell holding a point, if inside the grid.
    pub(crate) fn cell_of(&self, p: [f32; 2]) -> Option<usize> {
        let c = (p[0] + self.half_km) / self.cell_km;
        let r = (p[1] + self.half_km) / self.cell_km;
        // Truncation is the floor for the non-negative values kept.
        (r >= 0.0 && c >= 0.0 && (r as usize) < self.cols && (c as usize) < self.cols)
            .then(|| r as usize * self.cols + c as usize)
    }
}

/// A generated city. Cheap to share between threads (`&City` is `Sync`).
#[derive(Debug, Clone)]
pub struct City {
    pub(crate) config: CityConfig,
    pub(crate) tz: chrono_tz::Tz,
    pub(crate) hoods: Vec<Neighbourhood>,
    pub(crate) home_cumulative: Vec<f64>,
    /// For each neighbourhood, the nearest others (closest first).
    pub(crate) hood_near: Vec<Vec<u16>>,
    pub(crate) venues: Vec<VenueProfile>,
    pub(crate) hot: Vec<VenueHot>,
    pub(crate) projection: Projection,
    pub(crate) hours: HoursTable,
    pub(crate) grid: Grid,
    pub(crate) by_hood: Csr,
    pub(crate) by_hood_category: Csr,
    pub(crate) by_hood_cuisine: Csr,
    pub(crate) popular: Vec<u32>,
    pub(crate) perm: Permutation,
    pub(crate) community_size: u64,
    pub(crate) communities: Vec<crate::users::Community>,
    /// Per dominant persona of a community, cumulative persona odds of its members.
    pub(crate) persona_cumulative: [[f64; 7]; 7],
    /// Multipliers of a persona's mean degree, log-normal-like, indexed by 10 hash bits.
    pub(crate) degree_spread: Vec<f32>,
    /// Venue ids, dense (read once per generated interaction).
    pub(crate) venue_ids: Vec<VenueId>,
    pub(crate) ring: Vec<u64>,
    pub(crate) clock: crate::clock::Clock,
    pub(crate) history_start_ms: i64,
    pub(crate) now_ms: i64,
}

impl City {
    /// Builds the city: neighbourhoods, venue profiles and sampling indexes. About a second
    /// for 100,000 venues; users are generated later, on demand.
    pub fn new(config: CityConfig) -> Result<Self, SynthError> {
        let tz = config.validate()?;
        let seed = config.seed;
        let hoods = hoods::generate(seed, config.center, config.radius_km, config.venues);
        let cumulative = |w: &dyn Fn(&Neighbourhood) -> f64| -> Vec<f64> {
            hoods
                .iter()
                .scan(0.0, |acc, h| {
                    *acc += w(h);
                    Some(*acc)
                })
                .collect()
        };
        let venue_cumulative = cumulative(&|h| h.venue_weight);
        let home_cumulative = cumulative(&|h| h.home_weight);
        let hours = HoursTable::new();
        let history_start = config.history_start();
        let history_start_ms = history_start.timestamp_millis();
        let now_ms = config.now.timestamp_millis();
        const YEAR_MS: i64 = 365 * 86_400_000;
        let projection = Projection::new(config.center);
        let ctx = VenueContext {
            seed,
            center: config.center,
            radius_km: config.radius_km,
            hoods: &hoods,
            hood_cumulative: &venue_cumulative,
            hours: &hours,
            created_range_ms: (history_start_ms - 6 * YEAR_MS, history_start_ms - 86_400_000),
            opening_range_ms: (history_start_ms, now_ms - 3 * 86_400_000),
            projection: &projection,
        };
        let (venues, hot): (Vec<VenueProfile>, Vec<VenueHot>) =
            (0..config.venues).map(|i| venues::profile(&ctx, i)).unzip();
        let nh = hoods.len();
        let by_hood = Csr::build(nh, venues.iter().enumerate().map(|(i, v)| (v.hood as usize, i as u32)));
        let by_hood_category = Csr::build(
            nh * 7,
            venues
                .iter()
                .zip(&hot)
                .enumerate()
                .map(|(i, (v, h))| (v.hood as usize * 7 + h.category as usize, i as u32)),
        );
        let nc = CUISINES.len();
        let by_hood_cuisine = Csr::build(
            nh * nc,
            venues
                .iter()
                .zip(&hot)
                .enumerate()
                .filter(|(_, (_, h))| (h.cuisine as usize) < nc)
                .map(|(i, (v, h))| (v.hood as usize * nc + h.cuisine as usize, i as u32)),
        );
        let mut popular: Vec<u32> = (0..venues.len() as u32).collect();
        popular.sort_by(|&a, &b| hot[b as usize].popularity.total_cmp(&hot[a as usize].popularity).then(a.cmp(&b)));
        popular.truncate((venues.len() / 50).clamp(venues.len().min(20), 2000));
        let hood_near = hoods
            .iter()
            .map(|h| {
                let mut others: Vec<(f64, u16)> =
                    hoods.iter().enumerate().map(|(j, o)| (h.center.distance_km(&o.center), j as u16)).collect();
                others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                others.into_iter().skip(1).take(4).map(|(_, j)| j).collect()
            })
            .collect();
        let grid = Grid::new(config.radius_km, &hot);
        let n = config.users as u64;
        let community_size = if n < 16 { n.max(1) } else { (n / 8).clamp(16, 150) };
        let ring = ring_offsets(seed, n, community_size);
        let clock = crate::clock::Clock::new(
            tz,
            history_start - chrono::Duration::days(2),
            config.now + chrono::Duration::days(40),
        );
        let persona_cumulative = std::array::from_fn(|dominant| {
            let mut acc = 0.0;
            std::array::from_fn(|k| {
                acc += crate::personas::PROFILES[k].share * if k == dominant { 2.5 } else { 1.0 };
                acc
            })
        });
        let venue_ids = venues.iter().map(|v| v.id).collect();
        let mut city = Self {
            perm: Permutation::new(seed, n.max(1)),
            config,
            tz,
            hoods,
            home_cumulative,
            hood_near,
            venues,
            hot,
            projection,
            hours,
            grid,
            by_hood,
            by_hood_category,
            by_hood_cuisine,
            popular,
            community_size,
            communities: vec![],
            persona_cumulative,
            venue_ids,
            degree_spread: degree_spread(),
            ring,
            clock,
            history_start_ms,
            now_ms,
        };
        let count = n.div_ceil(community_size).max(1) as u32;
        city.communities = (0..count).map(|c| city.build_community(c)).collect();
        Ok(city)
    }

    /// The configuration the city was built from.
    pub fn config(&self) -> &CityConfig {
        &self.config
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.config.users
    }

    /// Number of venues.
    pub fn venue_count(&self) -> usize {
        self.venues.len()
    }

    /// The neighbourhoods, in index order.
    pub fn neighbourhoods(&self) -> &[Neighbourhood] {
        &self.hoods
    }

    /// The id of venue `index` (panics if out of range, like slice indexing).
    pub fn venue_id(&self, index: usize) -> VenueId {
        self.venue_ids[index]
    }

    /// Venue `index` in full (panics if out of range, like slice indexing).
    pub fn venue(&self, index: usize) -> Venue {
        self.build_venue(index)
    }

    /// Venues with indices in `range` (clamped to the venue count), in index order.
    pub fn venues_range(&self, range: std::ops::Range<usize>) -> Vec<Venue> {
        let end = range.end.min(self.venues.len());
        (range.start.min(end)..end).map(|i| self.venue(i)).collect()
    }

    /// Every venue, in index order (about 40 MB at 100,000 venues).
    pub fn venues(&self) -> Vec<Venue> {
        self.venues_range(0..self.venues.len())
    }

    /// The neighbourhood index of venue `index`.
    pub fn venue_neighbourhood(&self, index: usize) -> usize {
        self.venues[index].hood as usize
    }

    /// The city's time zone.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.tz
    }
}

/// 1,024 quantiles of `exp(0.35 z - 0.06)` with `z` logistic of unit variance: the spread
/// of users' sociability around their persona's mean degree (mean about 1).
fn degree_spread() -> Vec<f32> {
    (0..1024)
        .map(|k| {
            let u = (k as f64 + 0.5) / 1024.0;
            let z = (u / (1.0 - u)).ln() * 0.5513;
            (0.35 * z - 0.06).exp() as f32
        })
        .collect()
}

/// Long-range tie offsets on the ring of permuted user positions: distinct, at least one
/// community apart and below `n / 2`, so `+d` and `-d` never meet.
fn ring_offsets(seed: u64, n: u64, community: u64) -> Vec<u64> {
    let hi = n.saturating_sub(1) / 2;
    if hi <= community {
        return vec![];
    }
    let mut out: Vec<u64> = vec![];
    for k in 0..64u64 {
        if out.len() == 6 {
            break;
        }
        let d = community + hash1(seed, Kind::Ring, k) % (hi - community + 1);
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}
