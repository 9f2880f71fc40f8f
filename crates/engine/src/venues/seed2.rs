//! The second seed document's venue ranker (section 8.2), reproduced exactly:
//! `0.4 * exp(-0.3 d) + 0.4 * min(1, likes * 0.5 + dwell / 300) + 0.2 * pop / max_pop`, with `d`
//! the haversine distance from home (or from the query's point when one is given; no home and
//! no point: no results, as in the published code), `likes` the user's like and interest
//! interactions on the venue, `dwell` the dwell seconds of all their interactions on it, and
//! `pop` the venue's like and interest interactions (0 when `max_pop` is 0). Ties keep venue
//! insertion order, as the seed's stable sort does.
//!
//! Instead of scoring every venue, it runs the threshold algorithm over two sorted streams,
//! venues by distance (the spatial stream) and by popularity, after scoring the user's own
//! venues (the only ones with a preference) and venues changed since the snapshot explicitly.
//! It stops once the k-th score beats the best score an unseen venue could still reach, so the
//! top k are the same as a full scan's.

use crate::state::{State, UserRow};
use crate::types::{Reason, VenueQuery, VenueRecommendation};
use crate::util::FastSet;
use crate::venues::{Filter, frontier_km, summary, warm};

/// The three parts of a seed2 venue score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seed2Parts {
    pub distance_km: f64,
    pub spatial: f64,
    pub preference: f64,
    pub popularity: f64,
    pub score: f64,
}

/// Scores one venue exactly as the seed does.
/// The distance is the haversine one from the filter's origin (none: no score).
pub(crate) fn score(st: &State, user: &UserRow, v: u32, f: &Filter, max_pos: u32) -> Option<Seed2Parts> {
    let row = st.live_venue(v)?;
    let distance_km = f.distance(row)?;
    let preference = user.agg(v).map_or(0.0, |a| a.seed2_preference());
    let spatial = (-0.3 * distance_km).exp();
    let pos = st.trend_pos(v).1;
    let popularity = if max_pos > 0 { f64::from(pos) / f64::from(max_pos) } else { 0.0 };
    let score = 0.4 * spatial + 0.4 * preference + 0.2 * popularity;
    Some(Seed2Parts { distance_km, spatial, preference, popularity, score })
}

/// Venues read ahead from the spatial stream at a time.
const NEAR_BATCH: usize = 16;

struct TopK {
    k: usize,
    items: Vec<(f64, u32, Seed2Parts)>,
    /// Venues already considered (scored or filtered out).
    seen: FastSet<u32>,
}

impl TopK {
    fn offer(&mut self, v: u32, p: Seed2Parts) {
        let pos = self.items.partition_point(|(s, w, _)| *s > p.score || (*s == p.score && *w < v));
        if pos < self.k {
            self.items.insert(pos, (p.score, v, p));
            self.items.truncate(self.k);
        }
    }

    fn kth(&self) -> Option<f64> {
        (self.items.len() >= self.k).then(|| self.items[self.k - 1].0)
    }
}

/// The top venues under the seed2 formula for `user`, with distances from `origin`, where they
/// are searching from (the query's point, a fresh live location, then home, which is the seed's
/// `user.home_lat/home_lng`).
pub(crate) fn recommend(st: &State, user: &UserRow, origin: (f64, f64), q: &VenueQuery) -> Vec<VenueRecommendation> {
    let f = Filter::for_user(st, q, user, Some(origin));
    let max_pos = st.delta.max_pos;
    // A query usually considers a few hundred venues: room for them up front, not by rehashing.
    let seen = FastSet::with_capacity_and_hasher(1024, Default::default());
    let mut top = TopK { k: q.limit, items: Vec::with_capacity(q.limit + 1), seen };
    let consider = |v: u32, top: &mut TopK| {
        if !top.seen.insert(v) {
            return;
        }
        let Some(row) = st.live_venue(v) else { return };
        if !f.passes(st, v, row) {
            return;
        }
        if let Some(p) = score(st, user, v, &f, max_pos)
            && f.within(Some(p.distance_km))
        {
            top.offer(v, p);
        }
    };
    // The user's own venues first (none of them can pass a query for new places only).
    if !q.new_only {
        warm(st, user.history.iter().map(|a| a.venue));
        for a in &user.history {
            consider(a.venue, &mut top);
        }
    }
    for &v in st.delta.venues.keys() {
        consider(v, &mut top);
    }
    let mut near = st.snap.spatial.nearest(origin.0, origin.1, f64::INFINITY);
    // The spatial stream is read ahead in small batches whose rows are warmed together (the
    // venues read past the stopping point are warmed, never scored).
    let mut batch: Vec<(u32, f64)> = Vec::with_capacity(NEAR_BATCH);
    let mut popular = st.snap.pop_order.iter();
    let mut dirty = st.delta.dirty_pop.iter();
    let mut pop_front = max_pos;
    let mut pop_done = false;
    // The spatial stream alone visits every base venue in reach: when it ends, all are scored.
    'stream: loop {
        batch.clear();
        batch.extend(near.by_ref().take(NEAR_BATCH));
        if batch.is_empty() {
            break;
        }
        warm(st, batch.iter().map(|&(v, _)| v));
        for &(v, d2) in &batch {
            let near_km = (frontier_km(d2) - 1e-9).max(0.0);
            if f.radius_km.is_some_and(|r| near_km > r) {
                break 'stream;
            }
            if !st.delta.venues.contains_key(&v) {
                consider(v, &mut top);
            }
            // Two popularity streams: base order (for venues whose count is unchanged) and the
            // delta's venues whose count changed, by their current count.
            if !pop_done {
                match popular.by_ref().find(|&&v| !st.pos_dirty(v)) {
                    Some(&v) => {
                        pop_front = st.base_pos(v);
                        consider(v, &mut top);
                    }
                    None => {
                        pop_done = true;
                        pop_front = 0;
                    }
                }
            }
            let dirty_front = match dirty.next() {
                Some(&(pos, v)) => {
                    consider(v, &mut top);
                    pos
                }
                None => 0,
            };
            let front = pop_front.max(dirty_front);
            let pop_bound = if max_pos > 0 { f64::from(front) / f64::from(max_pos) } else { 0.0 };
            let bound = 0.4 * (-0.3 * near_km).exp() + 0.2 * pop_bound;
            if top.kth().is_some_and(|kth| kth > bound) {
                break 'stream;
            }
        }
    }
    top.items.into_iter().filter_map(|(_, v, p)| to_reco(st, v, p)).collect()
}

fn to_reco(st: &State, v: u32, p: Seed2Parts) -> Option<VenueRecommendation> {
    let row = st.venue(v)?;
    let reasons = vec![
        Reason {
            code: "proximity".into(),
            label: format!("{:.1} km away", p.distance_km).into(),
            contribution: 0.4 * p.spatial,
        },
        Reason {
            code: "preference".into(),
            label: "your past likes and views".into(),
            contribution: 0.4 * p.preference,
        },
        Reason { code: "popularity".into(), label: "liked by many".into(), contribution: 0.2 * p.popularity },
    ];
    Some(VenueRecommendation {
        venue_id: row.id,
        venue_name: row.name.clone(),
        score: p.score,
        distance_km: Some(p.distance_km),
        venue: summary(row),
        reasons,
        explanation: sentence(&p),
    })
}

/// The human sentence of a seed2 score.
pub(crate) fn sentence(p: &Seed2Parts) -> String {
    let mut parts = vec![format!("{:.1} km away", p.distance_km)];
    if p.preference > 0.0 {
        parts.push("you engaged with it before".into());
    }
    if p.popularity >= 0.5 {
        parts.push("popular with others".into());
    }
    crate::venues::explain::sentence(&parts)
}
