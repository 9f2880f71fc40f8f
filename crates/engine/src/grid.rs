//! A uniform latitude/longitude grid over a snapshot's alive venues that streams them nearest
//! first, in the order of the R-tree's nearest-neighbour walk (squared chord distance, computed
//! as the tree computes it; ties, which the tree leaves to chance, by venue index), at a fraction
//! of its cost.
//!
//! Venues are stored cell by cell in one array, so a query reads rings of cells around its
//! origin as contiguous runs rather than walking tree nodes through a heap. After each ring, a
//! lower bound on the great-circle distance of anything outside the square read so far proves
//! which of the venues collected are nearer than every venue not yet read; those are released
//! in order. The bound holds on the whole sphere (poles and the antimeridian included), so the
//! stream is exact wherever the venues are. The grid is only built where it pays: when venues
//! span at most half the longitudes (so no query waits on a seam) and are spread evenly enough
//! that the cell a typical venue is in holds at most [`MAX_PER_CELL`]; else the R-tree serves.

use crate::util::{chord_for_km, chord2, to_xyz};

/// Venues per cell aimed at, weighted by venue (the crowding a query near venues meets).
const TARGET_PER_CELL: f64 = 8.0;
/// Above this weighted crowding at the finest grid allowed, the grid is not built.
const MAX_PER_CELL: f64 = 64.0;
/// Cells allowed per venue (the finest grid), which bounds memory and empty rings.
const CELLS_PER_VENUE: usize = 4;

/// One venue in the grid: its point (as [`to_xyz`]) and index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GridPoint {
    xyz: [f64; 3],
    v: u32,
}

/// The grid: `rows` x `cols` cells of `dlat` x `dlng` degrees from the south-west corner
/// (`lat0`, `lng0`); cell `i = r * cols + c` holds `points[start[i]..start[i + 1]]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VenueGrid {
    lat0: f64,
    lng0: f64,
    dlat: f64,
    dlng: f64,
    rows: i64,
    cols: i64,
    start: Vec<u32>,
    points: Vec<GridPoint>,
}

impl VenueGrid {
    /// Bytes its cells and points take.
    pub fn bytes(&self) -> u64 {
        (self.start.capacity() * std::mem::size_of::<u32>() + self.points.capacity() * std::mem::size_of::<GridPoint>())
            as u64
    }

    /// A grid over `(venue index, lat, lng)`, or `None` when the venues are too unevenly spread
    /// for a uniform grid (a few far-apart cities, or many venues on one spot) or there are none.
    pub fn build(venues: &[(u32, f64, f64)]) -> Option<Self> {
        if venues.is_empty() {
            return None;
        }
        let (mut lat_min, mut lat_max, mut lng_min, mut lng_max) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        for &(_, lat, lng) in venues {
            lat_min = lat_min.min(lat);
            lat_max = lat_max.max(lat);
            lng_min = lng_min.min(lng);
            lng_max = lng_max.max(lng);
        }
        if lng_max - lng_min > 180.0 {
            // Venues round the world: a box with a seam through them, where a query near the
            // seam would read the whole grid before its bound lets anything through.
            return None;
        }
        let n = venues.len();
        // Cell side from the box's area at TARGET_PER_CELL on average, then finer while the
        // venues crowd into fewer cells than that (as a city's centre does).
        let km_per_deg = 111.2;
        let mid = ((lat_min + lat_max) / 2.0).to_radians().cos().max(0.01);
        let (h_km, w_km) =
            (((lat_max - lat_min) * km_per_deg).max(1e-3), ((lng_max - lng_min) * km_per_deg * mid).max(1e-3));
        let mut side = (h_km * w_km * TARGET_PER_CELL / n as f64).sqrt().max(1e-3);
        let max_cells = CELLS_PER_VENUE * n + 16;
        let mut best: Option<(Self, f64)> = None;
        for _ in 0..8 {
            let rows = ((h_km / side).ceil() as usize).max(1);
            let cols = ((w_km / side).ceil() as usize).max(1);
            if rows.saturating_mul(cols) > max_cells {
                break;
            }
            let grid = Self::fill(venues, (lat_min, lng_min), (lat_max, lng_max), rows, cols);
            let crowding = grid.crowding();
            best = Some((grid, crowding));
            if crowding <= 2.0 * TARGET_PER_CELL {
                break;
            }
            side /= 2.0;
        }
        best.filter(|(_, crowding)| *crowding <= MAX_PER_CELL).map(|(g, _)| g)
    }

    fn fill(venues: &[(u32, f64, f64)], sw: (f64, f64), ne: (f64, f64), rows: usize, cols: usize) -> Self {
        // Cells a hair larger than the box, so its north and east edges fall inside the last cell.
        let dlat = ((ne.0 - sw.0) / rows as f64).max(1e-9) * (1.0 + 1e-9);
        let dlng = ((ne.1 - sw.1) / cols as f64).max(1e-9) * (1.0 + 1e-9);
        let mut g = Self {
            lat0: sw.0,
            lng0: sw.1,
            dlat,
            dlng,
            rows: rows as i64,
            cols: cols as i64,
            start: vec![0; rows * cols + 1],
            points: Vec::with_capacity(venues.len()),
        };
        let cell_of = |lat: f64, lng: f64| {
            let (r, c) = g.cell(lat, lng);
            (r.clamp(0, g.rows - 1) * g.cols + c.clamp(0, g.cols - 1)) as usize
        };
        let mut keyed: Vec<(usize, u32, f64, f64)> =
            venues.iter().map(|&(v, lat, lng)| (cell_of(lat, lng), v, lat, lng)).collect();
        keyed.sort_unstable_by_key(|&(cell, v, _, _)| (cell, v));
        for &(cell, ..) in &keyed {
            g.start[cell + 1] += 1;
        }
        for i in 1..g.start.len() {
            g.start[i] += g.start[i - 1];
        }
        g.points = keyed.into_iter().map(|(_, v, lat, lng)| GridPoint { xyz: to_xyz(lat, lng), v }).collect();
        g
    }

    /// Every venue, cell by cell.
    pub fn venues(&self) -> impl Iterator<Item = u32> + '_ {
        self.points.iter().map(|p| p.v)
    }

    /// The cell (row, column) of a point, possibly outside the grid.
    fn cell(&self, lat: f64, lng: f64) -> (i64, i64) {
        (((lat - self.lat0) / self.dlat).floor() as i64, ((lng - self.lng0) / self.dlng).floor() as i64)
    }

    /// Venues in the cell a typical venue is in (the venue-weighted mean occupancy).
    fn crowding(&self) -> f64 {
        let sq: u64 = self.start.windows(2).map(|w| u64::from(w[1] - w[0]).pow(2)).sum();
        sq as f64 / self.points.len().max(1) as f64
    }

    /// Venues nearest first from a point (degrees), with their squared chord distance (km², the
    /// R-tree's `distance_2`), up to `max_d2`.
    pub fn nearest(&self, lat: f64, lng: f64, max_d2: f64) -> Nearest<'_> {
        // The origin's longitude, or the same meridian 360 degrees on, whichever is nearest the
        // box: a point just west of venues at 179 degrees is read from their side, not from the
        // far end of the grid.
        let lng_max = self.lng0 + self.cols as f64 * self.dlng;
        let off_box = |x: f64| (self.lng0 - x).max(x - lng_max).max(0.0);
        let lng_near = [lng, lng - 360.0, lng + 360.0]
            .into_iter()
            .min_by(|a, b| off_box(*a).total_cmp(&off_box(*b)))
            .unwrap_or(lng);
        let (r0, c0) = self.cell(lat, lng_near);
        // The first ring that reaches the grid: rings before it are empty.
        let gap = |x: i64, n: i64| {
            if x < 0 {
                -x
            } else if x >= n {
                x - n + 1
            } else {
                0
            }
        };
        Nearest {
            g: self,
            origin: to_xyz(lat, lng),
            lat,
            lng: lng_near,
            r0,
            c0,
            ring: gap(r0, self.rows).max(gap(c0, self.cols)),
            max_d2,
            pending: Vec::with_capacity(512),
            ready: Vec::new(),
            done: false,
        }
    }
}

/// The stream of [`VenueGrid::nearest`].
#[derive(Debug)]
pub(crate) struct Nearest<'g> {
    g: &'g VenueGrid,
    origin: [f64; 3],
    lat: f64,
    /// The origin's longitude as [`VenueGrid::nearest`] placed it (maybe 360 degrees off).
    lng: f64,
    r0: i64,
    c0: i64,
    /// The next ring to read.
    ring: i64,
    max_d2: f64,
    /// Read, not yet proved nearest: (venue, squared chord).
    pending: Vec<(u32, f64)>,
    /// Proved nearest, farthest first (the next one is popped from the end).
    ready: Vec<(u32, f64)>,
    /// Every cell in reach has been read.
    done: bool,
}

impl Nearest<'_> {
    /// Reads ring `self.ring` (the cells at Chebyshev distance `ring` from the origin's cell):
    /// its top and bottom rows whole, the rows between at their two ends.
    fn read_ring(&mut self) {
        let (g, k) = (self.g, self.ring);
        self.ring += 1;
        let (top, bottom, left, right) = (self.r0 - k, self.r0 + k, self.c0 - k, self.c0 + k);
        for r in top.max(0)..=bottom.min(g.rows - 1) {
            if r == top || r == bottom {
                for c in left.max(0)..=right.min(g.cols - 1) {
                    self.read_cell(r, c);
                }
            } else {
                if left >= 0 {
                    self.read_cell(r, left);
                }
                if right < g.cols {
                    self.read_cell(r, right);
                }
            }
        }
    }

    fn read_cell(&mut self, r: i64, c: i64) {
        let g = self.g;
        let cell = (r * g.cols + c) as usize;
        let o = self.origin;
        for p in &g.points[g.start[cell] as usize..g.start[cell + 1] as usize] {
            let d2 = chord2(&p.xyz, &o);
            if d2 <= self.max_d2 {
                self.pending.push((p.v, d2));
            }
        }
    }

    /// A lower bound on the squared chord distance of any venue outside the rings read so far
    /// (infinite once they cover the grid).
    fn safe_d2(&self) -> f64 {
        let (g, k) = (self.g, self.ring - 1);
        // Each side of the square read so far, in degrees from the origin, or None when no venue
        // lies beyond it.
        let south = (self.r0 - k > 0).then(|| self.lat - (g.lat0 + (self.r0 - k) as f64 * g.dlat));
        let north = (self.r0 + k + 1 < g.rows).then(|| g.lat0 + (self.r0 + k + 1) as f64 * g.dlat - self.lat);
        let lng_max = g.lng0 + g.cols as f64 * g.dlng;
        // Longitudes wrap: a venue east of the square may be nearer going west, round the
        // antimeridian, and the other way.
        let west = (self.c0 - k > 0)
            .then(|| (self.lng - (g.lng0 + (self.c0 - k) as f64 * g.dlng)).min(360.0 - (self.lng - g.lng0)));
        let east = (self.c0 + k + 1 < g.cols)
            .then(|| (g.lng0 + (self.c0 + k + 1) as f64 * g.dlng - self.lng).min(360.0 - (lng_max - self.lng)));
        let lat_gap = south.into_iter().chain(north).fold(f64::INFINITY, f64::min);
        let lng_gap = west.into_iter().chain(east).fold(f64::INFINITY, f64::min);
        if lat_gap.is_infinite() && lng_gap.is_infinite() {
            return f64::INFINITY;
        }
        // A latitude difference of x is at least x of arc. A venue at least `d` of longitude
        // away lies across a meridian whose great circle is asin(cos(lat) sin(d)) of arc from
        // the origin when d is under 90 degrees; past that, at least as far as the nearer pole.
        let phi = self.lat.to_radians();
        let by_lat = lat_gap.max(0.0).to_radians();
        let by_lng = if lng_gap.is_infinite() {
            f64::INFINITY
        } else if lng_gap < 90.0 {
            (phi.cos() * lng_gap.max(0.0).to_radians().sin()).asin()
        } else {
            std::f64::consts::FRAC_PI_2 - phi.abs()
        };
        // 1e-7 of arc (0.6 m) less: an arcsine near 1 is ill-conditioned (an argument rounded to
        // 1 moves it by up to 1.5e-8), and the points' own rounding is far smaller.
        let arc = (by_lat.min(by_lng) - 1e-7).max(0.0);
        let chord = chord_for_km(arc * domain::geo::EARTH_RADIUS_KM);
        chord * chord
    }
}

impl Nearest<'_> {
    /// Reads rings until some venues are proved nearer than (or as near as) every venue not yet
    /// released and moves them, in no order, to `out`; false when nothing is left in reach.
    fn release(&mut self, out: &mut Vec<(u32, f64)>) -> bool {
        while !self.done {
            self.read_ring();
            let safe = self.safe_d2();
            if safe.is_infinite() || safe >= self.max_d2 {
                // Everything in reach is read.
                self.done = true;
            }
            let bound = if self.done { f64::INFINITY } else { safe };
            let before = out.len();
            let mut i = 0;
            while i < self.pending.len() {
                if self.pending[i].1 <= bound {
                    out.push(self.pending.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            if out.len() > before {
                return true;
            }
        }
        false
    }

    /// The next group of venues, (venue, squared chord), in no order within the group: each is
    /// as near as or nearer than every venue of later groups. A caller that takes the nearest
    /// few of a group by selection skips the sort that [`Iterator::next`] pays for order.
    pub fn next_group(&mut self, out: &mut Vec<(u32, f64)>) -> bool {
        if self.ready.is_empty() {
            return self.release(out);
        }
        out.append(&mut self.ready);
        true
    }
}

impl Iterator for Nearest<'_> {
    type Item = (u32, f64);

    fn next(&mut self) -> Option<(u32, f64)> {
        if self.ready.is_empty() {
            let mut ready = std::mem::take(&mut self.ready);
            self.release(&mut ready);
            // Farthest first, so the nearest pops first; ties by venue index.
            ready.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
            self.ready = ready;
        }
        self.ready.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::SplitMix64;

    /// The R-tree's order, by brute force: squared chord, ties by index.
    fn brute(points: &[(u32, f64, f64)], lat: f64, lng: f64, max_d2: f64) -> Vec<(u32, f64)> {
        let o = to_xyz(lat, lng);
        let mut all: Vec<(u32, f64)> = points
            .iter()
            .map(|&(v, la, lo)| (v, chord2(&to_xyz(la, lo), &o)))
            .filter(|&(_, d2)| d2 <= max_d2)
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all
    }

    fn city(rng: &mut SplitMix64, n: usize, lat: f64, lng: f64, spread: f64) -> Vec<(u32, f64, f64)> {
        (0..n as u32)
            .map(|v| {
                // Clustered: half around a centre, half anywhere in the box.
                let s = if v % 2 == 0 { spread * 0.1 } else { spread };
                (v, lat + (rng.unit() - 0.5) * s, lng + (rng.unit() - 0.5) * s)
            })
            .collect()
    }

    #[test]
    fn streams_in_exact_nearest_order_from_inside_and_outside_the_grid() {
        let mut rng = SplitMix64::new(7);
        let pts = city(&mut rng, 5_000, 52.5, 13.4, 0.6);
        let g = VenueGrid::build(&pts).expect("an even city gets a grid");
        assert!(g.rows * g.cols > 100, "the grid has cells: {} x {}", g.rows, g.cols);
        for (lat, lng) in [(52.5, 13.4), (52.21, 13.11), (52.79, 13.69), (53.5, 13.4), (52.5, 11.0), (-30.0, -100.0)] {
            let want = brute(&pts, lat, lng, f64::INFINITY);
            let got: Vec<(u32, f64)> = g.nearest(lat, lng, f64::INFINITY).take(400).collect();
            assert_eq!(got, want[..400], "from ({lat}, {lng})");
            let max_d2 = want[150].1;
            let got: Vec<(u32, f64)> = g.nearest(lat, lng, max_d2).collect();
            assert_eq!(got, brute(&pts, lat, lng, max_d2), "within a radius from ({lat}, {lng})");
        }
        // Groups: the same venues, each group no farther than the next.
        for (lat, lng) in [(52.5, 13.4), (53.5, 13.4)] {
            let want = brute(&pts, lat, lng, f64::INFINITY);
            let mut it = g.nearest(lat, lng, f64::INFINITY);
            let (mut all, mut group, mut groups) = (Vec::new(), Vec::new(), 0);
            let mut last_max = 0.0f64;
            while it.next_group(&mut group) {
                let min = group.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                assert!(min >= last_max, "a group holds a venue nearer than the one before's farthest");
                last_max = group.iter().map(|p| p.1).fold(0.0, f64::max);
                all.append(&mut group);
                groups += 1;
            }
            assert!(groups > 1, "the stream came in one group");
            all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            assert_eq!(all, want, "groups from ({lat}, {lng})");
        }
        // Every venue, once, when nothing bounds the stream.
        assert_eq!(g.nearest(52.6, 13.5, f64::INFINITY).count(), pts.len());
    }

    /// A grid of a given shape over the venues' box (whatever `build` would choose).
    fn shaped(pts: &[(u32, f64, f64)], rows: usize, cols: usize) -> VenueGrid {
        let lat = pts.iter().map(|p| p.1);
        let lng = pts.iter().map(|p| p.2);
        let sw = (lat.clone().fold(90.0, f64::min), lng.clone().fold(180.0, f64::min));
        let ne = (lat.fold(-90.0, f64::max), lng.fold(-180.0, f64::max));
        VenueGrid::fill(pts, sw, ne, rows, cols)
    }

    #[test]
    fn is_exact_across_the_antimeridian_and_near_a_pole() {
        let mut rng = SplitMix64::new(11);
        // Venues on both sides of 180 degrees: the box spans the globe's width, and the nearest
        // of a point at 179.9 are at -179.9, at the other end of the grid.
        let pts: Vec<(u32, f64, f64)> = (0..600u32)
            .map(|v| {
                let lng = if v % 2 == 0 { 179.0 + rng.unit() } else { -180.0 + rng.unit() };
                (v, -16.0 + rng.unit(), lng)
            })
            .collect();
        for (rows, cols) in [(4, 720), (10, 3600), (1, 1)] {
            let g = shaped(&pts, rows, cols);
            for (lat, lng) in [(-15.5, 179.99), (-15.5, -179.99), (-16.2, 179.0), (-15.0, 0.0)] {
                let got: Vec<(u32, f64)> = g.nearest(lat, lng, f64::INFINITY).collect();
                assert_eq!(got, brute(&pts, lat, lng, f64::INFINITY), "{rows}x{cols} from ({lat}, {lng})");
            }
        }
        // Round a pole, where a degree of longitude is a few metres.
        let pts: Vec<(u32, f64, f64)> =
            (0..600u32).map(|v| (v, 87.0 + rng.unit() * 3.0, -180.0 + rng.unit() * 360.0)).collect();
        for (rows, cols) in [(30, 360), (3, 36)] {
            let g = shaped(&pts, rows, cols);
            for (lat, lng) in [(89.9, 0.0), (88.5, 170.0), (87.2, -179.9), (70.0, -90.0)] {
                let got: Vec<(u32, f64)> = g.nearest(lat, lng, f64::INFINITY).collect();
                assert_eq!(got, brute(&pts, lat, lng, f64::INFINITY), "{rows}x{cols} from ({lat}, {lng})");
            }
        }
    }

    #[test]
    fn the_bound_holds_where_the_arcsine_rounds_to_a_right_angle() {
        // The origin is 89.9999995 degrees of longitude from the first column's edge, on the
        // equator: sin rounds to 1 and the arcsine to exactly a right angle, 1.5e-8 too far.
        let pts = vec![(0, 0.0, -180.0), (1, 0.0, 90.0), (2, 0.0, 8e-7)];
        let g = shaped(&pts, 1, 3);
        let got: Vec<(u32, f64)> = g.nearest(0.0, 90.0000005, f64::INFINITY).collect();
        assert_eq!(got, brute(&pts, 0.0, 90.0000005, f64::INFINITY));
    }

    #[test]
    fn an_origin_across_the_antimeridian_reads_the_near_side_first() {
        // Venues from 170 to 179.9 degrees; the origin at -179.5 is half a degree east of them,
        // going round. Its stream must start there, not after reading the whole grid.
        let mut rng = SplitMix64::new(3);
        let pts: Vec<(u32, f64, f64)> = (0..3_000u32).map(|v| (v, rng.unit(), 170.0 + rng.unit() * 9.9)).collect();
        let g = VenueGrid::build(&pts).expect("an even band gets a grid");
        let mut it = g.nearest(0.5, -179.5, f64::INFINITY);
        let first = it.next();
        assert_eq!(first, brute(&pts, 0.5, -179.5, f64::INFINITY).first().copied());
        assert!(it.ring < g.cols / 4, "read {} rings of {} columns for the first venue", it.ring, g.cols);
        let rest: Vec<(u32, f64)> = first.into_iter().chain(it).collect();
        assert_eq!(rest, brute(&pts, 0.5, -179.5, f64::INFINITY));
        // Venues round the world get no grid (the R-tree serves them).
        let world: Vec<(u32, f64, f64)> = (0..3_000u32).map(|v| (v, rng.unit(), -180.0 + rng.unit() * 360.0)).collect();
        assert_eq!(VenueGrid::build(&world), None);
    }

    #[test]
    fn crowded_or_scattered_venues_get_no_grid() {
        // Two thousand venues on one spot: no cell size spreads them.
        let pts: Vec<(u32, f64, f64)> = (0..2_000u32).map(|v| (v, 40.0, -74.0 + f64::from(v % 2) * 1e-12)).collect();
        assert_eq!(VenueGrid::build(&pts), None);
        assert_eq!(VenueGrid::build(&[]), None);
        // One venue: a grid of one cell.
        let one = VenueGrid::build(&[(3, 10.0, 10.0)]).expect("one venue");
        assert_eq!(one.nearest(0.0, 0.0, f64::INFINITY).map(|(v, _)| v).collect::<Vec<_>>(), vec![3]);
    }
}
