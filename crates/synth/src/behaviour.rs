//! Behaviour: which venues a user knows of (candidates near home, near a going-out
//! neighbourhood, in their favourite categories and cuisines, popular across the city, and
//! their community's favourites), how much each one pulls (taste utility, popularity,
//! distance), and the interaction log drawn from that: episodes of search, view, save, like,
//! interest and visit in the persona's mix, at the persona's hours and the venue's hours.

use domain::{Interaction, InteractionType, TimeOfDay};
use rand::RngExt;
use uuid::Uuid;

use crate::City;
use crate::catalog::{self, VISIT_MINUTES};
use crate::clock::{HOUR_MS, weekday_minute};
use crate::hoods::{gauss, pick_cumulative};
use crate::personas::{self, PersonaProfile};
use crate::rng::{EntityRng, uuid_v7};
use crate::taste::{Taste, affinity_of_utility};
use crate::users::UserCore;

/// One generated interaction in compact form (indices instead of ids).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InteractionRecord {
    /// The interaction's id (UUIDv7 of `at_ms`).
    pub id: Uuid,
    /// User index.
    pub user: u32,
    /// Venue index.
    pub venue: u32,
    /// What the user did.
    pub kind: InteractionType,
    /// Seconds on the page (browsing) or at the venue (visits).
    pub dwell_seconds: i32,
    /// Part of the local day.
    pub time_of_day: TimeOfDay,
    /// Milliseconds since the epoch (UTC).
    pub at_ms: i64,
}

/// The venues a user knows of and how strongly each pulls (cumulative, for sampling).
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    pub venues: Vec<u32>,
    pub utility: Vec<f32>,
    pub cumulative: Vec<f64>,
}

impl Candidates {
    pub(crate) fn sample(&self, rng: &mut EntityRng) -> Option<usize> {
        (!self.venues.is_empty()).then(|| pick_cumulative(rng.random(), &self.cumulative))
    }
}

impl City {
    /// Gathers and weighs the venues user `taste` knows of.
    pub(crate) fn candidates(&self, rng: &mut EntityRng, taste: &Taste, out: &mut Candidates) {
        out.venues.clear();
        out.utility.clear();
        out.cumulative.clear();
        let n = self.venues.len();
        if n == 0 {
            return;
        }
        let tol = taste.distance_km;
        // Near home, and around a neighbourhood they go out in.
        self.spatial(rng, taste.home_xy, tol, 40, &mut out.venues);
        let out_hood = if rng.random_bool(0.5) {
            self.hood_near[taste.home_hood as usize].first().map_or(taste.home_hood as usize, |&h| h as usize)
        } else {
            rng.random_range(0..self.hoods.len())
        };
        let out_xy = self.projection.xy(self.hoods[out_hood].center);
        self.spatial(rng, out_xy, tol * 0.7, 12, &mut out.venues);
        // Their favourite categories and cuisines, in their own and nearby neighbourhoods.
        let cat_w: Vec<f64> = taste.category.iter().map(|&u| f64::from(u).exp()).collect();
        let cui_w: Vec<f64> = taste.cuisine.iter().map(|&u| f64::from(2.0 * u).exp()).collect();
        let near = &self.hood_near[taste.home_hood as usize];
        for k in 0..28 {
            let hood = if k % 2 == 0 || near.is_empty() {
                taste.home_hood as usize
            } else {
                near[rng.random_range(0..near.len())] as usize
            };
            let list = if k % 4 == 3 {
                let c = crate::hoods::pick(rng, &cui_w);
                self.by_hood_cuisine.get(hood * catalog::CUISINES.len() + c)
            } else {
                let c = crate::hoods::pick(rng, &cat_w);
                self.by_hood_category.get(hood * 7 + c)
            };
            if !list.is_empty() {
                out.venues.push(list[rng.random_range(0..list.len())]);
            }
        }
        // The city's well-known places, and the community's favourites.
        for _ in 0..8 {
            out.venues.push(self.popular[rng.random_range(0..self.popular.len())]);
        }
        out.venues.extend(taste.favourites.iter().copied().filter(|&v| (v as usize) < n));
        out.venues.sort_unstable();
        out.venues.dedup();
        // Touch every candidate first: independent loads overlap their cache misses.
        let touched = out.venues.iter().fold(0u32, |a, &v| a ^ self.hot[v as usize].tags);
        std::hint::black_box(touched);
        let mut acc = 0.0;
        for &v in &out.venues {
            let u = taste.utility(&self.hot[v as usize], v);
            acc += self.pull(taste, v as usize, u);
            out.utility.push(u);
            out.cumulative.push(acc);
        }
    }

    /// The unnormalised choice weight of venue `v` with taste utility `u`. Habitual users
    /// concentrate on their best places; explorers spread out.
    pub(crate) fn pull(&self, taste: &Taste, v: usize, u: f32) -> f64 {
        let p = &self.hot[v];
        let sharpness = 1.7 - taste.exploration;
        let d = crate::city::dist(taste.home_xy, p.xy);
        let pull = sharpness * (u + taste.popularity_weight * p.popularity) - d / taste.distance_km;
        f64::from(pull.clamp(-30.0, 30.0).exp())
    }

    /// Draws `count` venues around `at` (projected km), at distances of about `scale_km`.
    fn spatial(&self, rng: &mut EntityRng, at: [f32; 2], scale_km: f32, count: usize, out: &mut Vec<u32>) {
        let mut found = 0;
        for _ in 0..count * 3 {
            if found == count {
                break;
            }
            let (dx, dy) = (gauss(rng) as f32, gauss(rng) as f32);
            let p = [at[0] + 0.8 * scale_km * dx, at[1] + 0.8 * scale_km * dy];
            if let Some(cell) = self.grid.cell_of(p) {
                let list = self.grid.cells.get(cell);
                if !list.is_empty() {
                    out.push(list[rng.random_range(0..list.len())]);
                    found += 1;
                }
            }
        }
    }

    /// Appends the interaction history of user `i` (sorted by time) to `out`.
    pub(crate) fn interactions_into(
        &self,
        rng: &mut EntityRng,
        i: usize,
        core: &UserCore,
        taste: &Taste,
        cands: &Candidates,
        out: &mut Vec<InteractionRecord>,
    ) {
        let from = self.history_start_ms.max(core.created_ms);
        let span = self.now_ms - from;
        if span <= 0 || cands.venues.is_empty() {
            return;
        }
        let prof = personas::profile(core.persona);
        let window = (self.now_ms - self.history_start_ms).max(1) as f64;
        let mean = f64::from(self.config.interactions_per_user) * prof.activity / personas::mean_activity()
            * f64::from(taste.activity)
            * (span as f64 / window);
        let count = (mean + rng.random::<f64>()).floor() as usize;
        let first = out.len();
        let mix = prof.action_mix.as_array();
        let mut attempts = 0;
        while out.len() - first < count && attempts < 4 * count {
            attempts += 1;
            let Some(k) = cands.sample(rng) else { break };
            let v = cands.venues[k];
            let affinity = affinity_of_utility(cands.utility[k]);
            let kind = episode_kind(rng, &mix, affinity);
            // New openings are only seen once they have opened.
            let from = from.max(self.venues[v as usize].created_ms);
            let Some(at) = self.episode_time(rng, prof, v, kind, from) else { continue };
            let dwell = dwell_seconds(rng, kind, self.hot[v as usize].category as usize, affinity);
            // Commitments usually follow a look at the venue page first.
            if kind != InteractionType::View
                && kind != InteractionType::Search
                && rng.random_bool(0.45)
                && out.len() - first + 1 < count
            {
                let lead = if kind == InteractionType::Visit {
                    rng.random_range(600_000..259_200_000)
                } else {
                    rng.random_range(5_000..600_000)
                };
                if at - lead >= from {
                    let view_dwell = dwell_seconds(rng, InteractionType::View, 0, affinity);
                    out.push(self.record(rng, i, v, InteractionType::View, view_dwell, at - lead));
                }
            }
            out.push(self.record(rng, i, v, kind, dwell, at));
        }
        out[first..].sort_by_key(|r| (r.at_ms, r.id));
    }

    fn record(
        &self,
        rng: &mut EntityRng,
        i: usize,
        v: u32,
        kind: InteractionType,
        dwell: i32,
        at_ms: i64,
    ) -> InteractionRecord {
        InteractionRecord {
            id: uuid_v7(at_ms, rng.random()),
            user: i as u32,
            venue: v,
            kind,
            dwell_seconds: dwell,
            time_of_day: TimeOfDay::from_hour(self.clock.local_hour(at_ms)),
            at_ms,
        }
    }

    /// A time for an episode in `[from, now)`: a day by the persona's weekly rhythm, an hour
    /// by the persona's daily rhythm, or for visits by the venue's category and open hours.
    /// `None` if no such time was found quickly (the episode is then dropped).
    fn episode_time(
        &self,
        rng: &mut EntityRng,
        prof: &PersonaProfile,
        v: u32,
        kind: InteractionType,
        from: i64,
    ) -> Option<i64> {
        if from >= self.now_ms {
            return None;
        }
        let (d0, d1) = (self.clock.day_of(from), self.clock.day_of(self.now_ms - 1));
        let wmax = prof.weekday_activity.iter().copied().fold(0.0, f64::max);
        let p = &self.hot[v as usize];
        let visit = kind == InteractionType::Visit;
        for _ in 0..16 {
            let day = rng.random_range(d0..=d1);
            let wd = self.clock.weekday(day);
            if rng.random::<f64>() * wmax > prof.weekday_activity[wd] {
                continue;
            }
            let mut w = [0f64; 24];
            if visit {
                let open = self.hours.masks[p.hours as usize][wd];
                let by_category = catalog::visit_hours(p.category as usize);
                for (h, x) in w.iter_mut().enumerate() {
                    if open & (1 << h) != 0 {
                        *x = by_category[h] * prof.hourly_activity[h].sqrt();
                    }
                }
            } else {
                // People browse at their own hours, a little ahead of when such places fill up.
                let by_category = catalog::visit_hours(p.category as usize);
                let peak = by_category.iter().copied().fold(0.0, f64::max).max(1e-9);
                for (h, x) in w.iter_mut().enumerate() {
                    *x = prof.hourly_activity[h] * (0.6 + 0.4 * by_category[(h + 1) % 24] / peak);
                }
            }
            if w.iter().all(|&x| x <= 0.0) {
                continue;
            }
            let h = crate::hoods::pick(rng, &w) as i64;
            let local = self.clock.midnight(day) + h * HOUR_MS + rng.random_range(0..HOUR_MS);
            let Some(at) = self.clock.to_utc(local) else { continue };
            if at < from || at >= self.now_ms {
                continue;
            }
            if visit {
                let (wd, minute) = weekday_minute(local);
                if !self.hours.hours[p.hours as usize].is_open(catalog::WEEKDAYS[wd], minute) {
                    continue;
                }
            }
            return Some(at);
        }
        None
    }
}

/// The type of an episode's main interaction: the persona's mix, with commitments (save,
/// like, interest, visit) more likely the more the user likes the venue.
fn episode_kind(rng: &mut EntityRng, mix: &[f64; 6], affinity: f64) -> InteractionType {
    InteractionType::ALL[crate::hoods::pick(rng, &kind_weights(mix, affinity))]
}

/// The weights of each episode type (in `InteractionType::ALL` order): the persona's mix,
/// commitments scaled up by affinity.
pub(crate) fn kind_weights(mix: &[f64; 6], affinity: f64) -> [f64; 6] {
    let boost = 0.25 + 1.5 * affinity;
    let mut w = *mix;
    for (x, &t) in w.iter_mut().zip(&InteractionType::ALL) {
        if is_commitment(t) {
            *x *= boost;
        }
    }
    w
}

/// Whether an episode of type `t` commits to the venue (save, like, interest or visit) rather
/// than only looking (view, search).
pub(crate) fn is_commitment(t: InteractionType) -> bool {
    !matches!(t, InteractionType::View | InteractionType::Search)
}

/// Seconds spent: on the page for browsing types, at the venue for visits.
fn dwell_seconds(rng: &mut EntityRng, kind: InteractionType, category: usize, affinity: f64) -> i32 {
    let s = match kind {
        InteractionType::View => 25.0 * (0.5 + 2.0 * affinity) * (0.6 * gauss(rng)).exp(),
        InteractionType::Search => 8.0 * (0.5 * gauss(rng)).exp(),
        InteractionType::Save | InteractionType::Like | InteractionType::Interest => 12.0 * (0.5 * gauss(rng)).exp(),
        InteractionType::Visit => VISIT_MINUTES[category] * 60.0 * (0.3 * gauss(rng)).exp(),
    };
    s.round().clamp(1.0, 86_400.0) as i32
}

impl InteractionRecord {
    /// The domain value, given the ids of the user and the venue.
    pub fn to_interaction(&self, user_id: Uuid, venue_id: Uuid) -> Interaction {
        Interaction {
            id: self.id,
            user_id,
            venue_id,
            interaction_type: self.kind,
            dwell_time_seconds: self.dwell_seconds,
            time_of_day: self.time_of_day,
            occurred_at: chrono::DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default(),
        }
    }
}
