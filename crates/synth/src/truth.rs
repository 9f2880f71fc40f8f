//! Ceilings from the ground truth: how well could any ranker predict a user's future
//! commitments? The history draws each episode independently from the fixed set of venues a
//! user knows of, weighted by choice weight, so given that set a venue's chance of a commitment
//! in a later period does not depend on the past at all. Three oracles rank by it, knowing
//! less and less: the set itself ([`Oracle::Exact`]), only the taste that the set is drawn
//! from ([`Oracle::Fair`]), and the taste without how known sets are drawn
//! ([`Oracle::TasteOnly`]).

use domain::InteractionType;

use crate::City;
use crate::behaviour::{Candidates, is_commitment, kind_weights};
use crate::rng::{Kind, entity_rng};
use crate::taste::Taste;

/// How much an oracle knows (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    /// The venues the user knows of and the choice weight of each: the exact chances.
    Exact,
    /// The user's taste, not the draw of their known venues: how often each venue is known by
    /// such a user, updated by the history (a venue touched is known; one untouched after
    /// many episodes is less likely so), times its choice weight.
    Fair,
    /// The user's taste, with every venue equally likely to be known before the history.
    TasteOnly,
}

impl Oracle {
    /// All oracles, most knowing first.
    pub const ALL: [Oracle; 3] = [Oracle::Exact, Oracle::Fair, Oracle::TasteOnly];

    /// The name reported next to rankers.
    pub fn as_str(self) -> &'static str {
        match self {
            Oracle::Exact => "oracle_exact",
            Oracle::Fair => "oracle_fair",
            Oracle::TasteOnly => "oracle_taste",
        }
    }
}

/// A user's past as an evaluator sees it at the split.
#[derive(Debug, Clone, Copy)]
pub struct Past<'a> {
    /// Indices of the venues the user interacted with before the split, sorted.
    pub touched: &'a [usize],
    /// How many interactions the user had before the split.
    pub interactions: usize,
}

/// Draws of a user's known venues that [`City::known_frequency`] averages over.
pub const KNOWN_SAMPLES: usize = 64;

impl City {
    /// Ground truth: the chance that one episode of a user with taste `taste` at venue
    /// `venue` is a commitment (save, like, interest or visit) rather than a look or a search.
    pub fn commitment_chance(&self, taste: &Taste, venue: usize) -> f64 {
        let mix = crate::personas::profile(taste.persona).action_mix.as_array();
        let w = kind_weights(&mix, self.affinity_for(taste, venue));
        let commit: f64 = InteractionType::ALL.iter().zip(w).filter(|(t, _)| is_commitment(**t)).map(|(_, x)| x).sum();
        commit / w.iter().sum::<f64>().max(1e-12)
    }

    /// Ground truth: the venues user `user` knows of (the only ones their history is drawn
    /// from), each with the chance that one episode of theirs is a commitment at that venue:
    /// the venue's share of the user's choice weight times [`City::commitment_chance`].
    pub fn commitment_odds(&self, user: usize) -> Vec<(usize, f64)> {
        let taste = self.taste(user);
        let mut c = Candidates::default();
        self.user_candidates(user, &taste, &mut c);
        let total = c.cumulative.last().copied().unwrap_or(0.0);
        let mut before = 0.0;
        let mut out = Vec::with_capacity(c.venues.len());
        for (&v, &cum) in c.venues.iter().zip(&c.cumulative) {
            let share = if total > 0.0 { (cum - before) / total } else { 0.0 };
            before = cum;
            out.push((v as usize, share * self.commitment_chance(&taste, v as usize)));
        }
        out
    }

    /// Ground truth without chance: how often each venue (by index) is among the venues a
    /// user with taste `taste` knows of, over `samples` fresh draws of that set.
    pub fn known_frequency(&self, taste: &Taste, samples: usize) -> Vec<f64> {
        let mut freq = vec![0.0; self.venues.len()];
        let mut c = Candidates::default();
        for k in 0..samples {
            let mut rng = entity_rng(self.config.seed, Kind::KnownSets, k as u64);
            self.candidates(&mut rng, taste, &mut c);
            for &v in &c.venues {
                freq[v as usize] += 1.0 / samples as f64;
            }
        }
        freq
    }

    /// The `k` venues (indices) `oracle` ranks first for user `user`, whose past up to
    /// `split_ms` (milliseconds since the epoch) is `past`: by the chance of a commitment in
    /// one episode, times the share of the user's episodes at the venue that fall after the
    /// split. Only venues open by the split are ranked: a ranker at the split cannot know of
    /// later openings. Ties go to the lower index.
    pub fn oracle_ranking(&self, oracle: Oracle, user: usize, split_ms: i64, past: Past<'_>, k: usize) -> Vec<usize> {
        let user_from = self.history_start_ms.max(self.core(user).created_ms);
        let late = |v: usize| {
            let from = user_from.max(self.venues[v].created_ms);
            if self.now_ms > from {
                (self.now_ms - split_ms.max(from)).max(0) as f64 / (self.now_ms - from) as f64
            } else {
                0.0
            }
        };
        let mut scored: Vec<(f64, usize)> = match oracle {
            Oracle::Exact => self.commitment_odds(user).into_iter().map(|(v, p)| (p * late(v), v)).collect(),
            Oracle::Fair | Oracle::TasteOnly => {
                let taste = self.taste(user);
                let mut known = self.known_frequency(&taste, KNOWN_SAMPLES);
                if oracle == Oracle::TasteOnly {
                    let mean = known.iter().sum::<f64>() / known.len().max(1) as f64;
                    known.fill(mean);
                }
                let pull: Vec<f64> = (0..self.venues.len()).map(|v| self.choice_weight(&taste, v)).collect();
                let total: f64 = known.iter().zip(&pull).map(|(f, p)| f * p).sum::<f64>().max(f64::MIN_POSITIVE);
                let n = past.interactions as f64;
                (0..self.venues.len())
                    .map(|v| {
                        let share = (pull[v] / total).min(1.0);
                        let known = if past.touched.binary_search(&v).is_ok() {
                            1.0
                        } else {
                            // Known yet untouched in n episodes, against not known at all.
                            let missed = known[v] * (1.0 - share).powf(n);
                            missed / (missed + 1.0 - known[v]).max(f64::MIN_POSITIVE)
                        };
                        (known * share * self.commitment_chance(&taste, v) * late(v), v)
                    })
                    .collect()
            }
        };
        scored.retain(|&(_, v)| self.venues[v].created_ms < split_ms);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().take(k).map(|x| x.1).collect()
    }
}
