//! Item-to-item neighbours ("people who went to this also went to that"), the neighbourhood
//! half of the learned model. For each venue, the venues most often engaged with by the same
//! users, by shrunk cosine similarity of their sets of users:
//! `sim(i, j) = c_ij / sqrt(n_i * n_j) * c_ij / (c_ij + shrink)`, where `c_ij` counts users who
//! engaged with both and `n_i` those who engaged with `i`. Computed from the engine's state when
//! a model is loaded (a few seconds at a million users, on every core), then read by queries: a
//! user's neighbour score for a venue is the sum, over the venues they engaged with, of their
//! engagement times the similarity. The user's side is live (a new interaction changes the
//! next answer); the table is refreshed with the model.

use crate::state::{Agg, State};
use crate::util::FastMap;

/// Neighbours kept per venue.
pub(crate) const NEIGHBOURS: usize = 24;

/// At most this many of a user's venues count, the most recent: bounds the build (which grows
/// with the square of a history) and each query for users with very long histories.
pub(crate) const RECENT: usize = 200;

/// Shrinkage of the similarity towards 0 for pairs seen together by few users.
const SHRINK: f32 = 3.0;

/// What one thread builds for its range of venues: each venue's list length, and the lists
/// one after another.
type Part = (Vec<u32>, Vec<(u32, f32)>);

/// For each venue index, its best neighbours (venue index, similarity), best first.
#[derive(Debug, Default)]
pub(crate) struct ItemNeighbours {
    offsets: Vec<u32>,
    items: Vec<(u32, f32)>,
}

impl ItemNeighbours {
    /// Bytes its table takes.
    pub fn bytes(&self) -> u64 {
        (self.offsets.capacity() * std::mem::size_of::<u32>()
            + self.items.capacity() * std::mem::size_of::<(u32, f32)>()) as u64
    }

    /// Builds the table from the alive users' histories with alive venues.
    pub fn build(st: &State) -> Self {
        let (nu, nv) = (st.n_users() as usize, st.n_venues() as usize);
        // Users of each venue, as compressed rows, and each user's venues likewise.
        let mut user_venues: Vec<Vec<u32>> = Vec::with_capacity(nu);
        let mut count = vec![0u32; nv + 1];
        for u in 0..nu as u32 {
            let vs: Vec<u32> = st.live_user(u).map_or_else(Vec::new, |r| {
                recent(&r.history).map(|a| a.venue).filter(|&v| st.live_venue(v).is_some()).collect()
            });
            for &v in &vs {
                count[v as usize] += 1;
            }
            user_venues.push(vs);
        }
        let mut start = vec![0u32; nv + 1];
        for v in 0..nv {
            start[v + 1] = start[v] + count[v];
        }
        let mut fill = start.clone();
        let mut venue_users = vec![0u32; start[nv] as usize];
        for (u, vs) in user_venues.iter().enumerate() {
            for &v in vs {
                venue_users[fill[v as usize] as usize] = u as u32;
                fill[v as usize] += 1;
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
        let per = nv.div_ceil(threads).max(1);
        // Each thread takes a range of venues and writes their lists flat, one scratch buffer
        // for all: a venue can share users with thousands of others, of which only the best
        // are kept.
        let parts: Vec<Part> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..nv)
                .step_by(per)
                .map(|lo| {
                    let (user_venues, venue_users, start, count) = (&user_venues, &venue_users, &start, &count);
                    scope.spawn(move || {
                        let hi = (lo + per).min(nv);
                        let mut acc = vec![0u32; nv];
                        let mut touched: Vec<u32> = Vec::new();
                        let mut scratch: Vec<(u32, f32)> = Vec::new();
                        let (mut lens, mut items) = (Vec::with_capacity(hi - lo), Vec::new());
                        let by_sim = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                        for i in lo..hi {
                            for &u in &venue_users[start[i] as usize..start[i + 1] as usize] {
                                for &j in &user_venues[u as usize] {
                                    if j as usize != i {
                                        if acc[j as usize] == 0 {
                                            touched.push(j);
                                        }
                                        acc[j as usize] += 1;
                                    }
                                }
                            }
                            let ni = count[i] as f32;
                            scratch.clear();
                            scratch.extend(touched.drain(..).map(|j| {
                                let c = std::mem::take(&mut acc[j as usize]) as f32;
                                let nj = count[j as usize] as f32;
                                (j, c / (ni * nj).sqrt() * c / (c + SHRINK))
                            }));
                            if scratch.len() > NEIGHBOURS {
                                scratch.select_nth_unstable_by(NEIGHBOURS, by_sim);
                                scratch.truncate(NEIGHBOURS);
                            }
                            scratch.sort_unstable_by(by_sim);
                            lens.push(scratch.len() as u32);
                            items.extend_from_slice(&scratch);
                        }
                        (lens, items)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("neighbour thread")).collect()
        });
        let mut offsets = Vec::with_capacity(nv + 1);
        let mut items = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
        offsets.push(0);
        for (lens, part) in parts {
            items.extend(part);
            for n in lens {
                offsets.push(offsets.last().copied().unwrap_or(0) + n);
            }
        }
        Self { offsets, items }
    }

    /// The neighbours of venue `v`, best first (none for a venue newer than the table).
    pub fn of(&self, v: u32) -> &[(u32, f32)] {
        let v = v as usize;
        match (self.offsets.get(v), self.offsets.get(v + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// A user's neighbour score per venue: over the venues of their history (the [`RECENT`]
    /// latest), engagement times similarity, summed.
    pub fn scores(&self, st: &State, history: &[Agg]) -> FastMap<u32, f64> {
        let mut m: FastMap<u32, f64> =
            FastMap::with_capacity_and_hasher(history.len().min(RECENT) * NEIGHBOURS, Default::default());
        for a in recent(history) {
            if st.live_venue(a.venue).is_none() {
                continue;
            }
            let w = a.engagement();
            for &(j, s) in self.of(a.venue) {
                *m.entry(j).or_default() += w * f64::from(s);
            }
        }
        m
    }
}

/// A history's [`RECENT`] most recent entries (all of a shorter one, in their order).
fn recent(history: &[Agg]) -> impl Iterator<Item = &Agg> {
    let mut latest: Vec<&Agg> = Vec::new();
    if history.len() > RECENT {
        latest = history.iter().collect();
        latest.select_nth_unstable_by_key(RECENT, |a| std::cmp::Reverse(a.last));
        latest.truncate(RECENT);
    }
    let all = (history.len() <= RECENT).then_some(history.iter()).into_iter().flatten();
    all.chain(latest)
}

#[cfg(test)]
mod tests {
    use domain::{DomainEvent, InteractionType as T};

    use crate::testkit::*;
    use crate::venues::tests::hand_city;
    use crate::{TrainConfig, train_bpr};

    /// In the hand city, user 1 engaged with venues 12 and 13, user 2 with 11 and 12, user 3 with
    /// 13: so 12 has two users, one shared with 11 (which has one) and one with 13 (two).
    #[test]
    fn similarities_are_the_shrunk_cosine_of_shared_users() {
        let e = hand_city();
        let st = e.load();
        let nb = super::ItemNeighbours::build(&st);
        let v = |n: u128| st.venue_idx(&id(n)).unwrap();
        let pinned = |x: u128, want: &[(u128, f64)]| {
            let got = nb.of(v(x));
            assert_eq!(got.len(), want.len(), "neighbours of {x}: {got:?}");
            for (&(j, s), &(wj, ws)) in got.iter().zip(want) {
                assert_eq!(j, v(wj), "neighbours of {x}: {got:?}");
                assert!((f64::from(s) - ws).abs() < 1e-6, "sim({x}, {wj}) = {s}, want {ws}");
            }
        };
        let quarter = 1.0 / (1.0 + f64::from(super::SHRINK));
        pinned(11, &[(12, 1.0 / 2f64.sqrt() * quarter)]);
        pinned(12, &[(11, 1.0 / 2f64.sqrt() * quarter), (13, 0.5 * quarter)]);
        pinned(13, &[(12, 0.5 * quarter)]);
    }

    #[test]
    fn only_the_most_recent_venues_of_a_long_history_count() {
        let history: Vec<crate::state::Agg> = (0..super::RECENT as u32 + 50)
            .map(|v| crate::state::Agg { venue: v, last: 1000 + (v * 7) % 997, ..Default::default() })
            .collect();
        let kept: Vec<u32> = super::recent(&history).map(|a| a.last).collect();
        assert_eq!(kept.len(), super::RECENT);
        let oldest_kept = kept.iter().min().unwrap();
        let dropped = history.iter().filter(|a| !kept.contains(&a.last)).count();
        assert_eq!(dropped, 50);
        assert!(history.iter().filter(|a| a.last < *oldest_kept).count() == 50, "the 50 oldest are the ones left out");
        let short = &history[..10];
        assert_eq!(super::recent(short).map(|a| a.venue).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    }

    /// The table stays as loaded, but a user's scores follow their history at once.
    #[test]
    fn a_new_interaction_changes_the_users_scores_without_a_reload() {
        let e = hand_city();
        e.set_model(&train_bpr(&e, &TrainConfig { factors: 4, epochs: 1, ..TrainConfig::default() }));
        let score = |n: u128| {
            let st = e.load();
            let (u, v) = (st.user_idx(&id(3)).unwrap(), st.venue_idx(&id(n)).unwrap());
            let m = st.model.as_ref().unwrap();
            m.neighbours.scores(&st, &st.live_user(u).unwrap().history).get(&v).copied()
        };
        // User 3 went only to 13, whose one neighbour is 12.
        let before = score(12).unwrap();
        assert!(before > 0.0);
        assert_eq!(score(11), None);
        e.apply(&DomainEvent::InteractionRecorded(ix(3, 11, T::Like, 0, 5)));
        // 11's neighbour is 12 too: its score grows, and 11 itself is still no one's neighbour
        // of 13.
        assert!(score(12).unwrap() > before + 1e-6, "{:?} against {before}", score(12));
        assert_eq!(score(11), None);
    }
}
