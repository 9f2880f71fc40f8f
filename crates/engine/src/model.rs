//! The learned collaborative model: implicit-feedback matrix factorisation trained with BPR
//! (Bayesian personalised ranking) by SGD, deterministic from its seed. Negatives are drawn half
//! from the positive venue's spatial neighbours, half uniformly, so the model learns taste
//! rather than geography. Models are keyed by UUID, saved in a small binary format
//! (`LUNAMF01`, little-endian), and mapped onto an engine's dense indices when loaded.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::neighbours::ItemNeighbours;
use crate::state::State;
use crate::util::SplitMix64;

/// BPR training parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Latent dimensions.
    pub factors: usize,
    pub epochs: usize,
    /// SGD learning rate.
    pub lr: f32,
    /// L2 regularisation.
    pub reg: f32,
    pub seed: u64,
    /// Share of negatives drawn from the positive venue's neighbourhood, 0 to 1.
    pub local_negatives: f64,
    /// Spatial neighbours per venue kept for local negatives.
    pub neighbours: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { factors: 32, epochs: 20, lr: 0.05, reg: 0.002, seed: 42, local_negatives: 0.5, neighbours: 32 }
    }
}

/// A trained model, keyed by ids so it can be loaded into any engine.
#[derive(Debug, Clone, PartialEq)]
pub struct MfModel {
    pub factors: usize,
    pub users: Vec<Uuid>,
    /// `users.len() * factors` values.
    pub user_vecs: Vec<f32>,
    pub venues: Vec<Uuid>,
    /// `venues.len() * factors` values.
    pub venue_vecs: Vec<f32>,
    pub venue_bias: Vec<f32>,
}

/// What one training epoch reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean BPR loss `-ln sigmoid(x_uij)` over the epoch's samples.
    pub loss: f64,
    pub samples: usize,
}

const MAGIC: &[u8; 8] = b"LUNAMF01";

/// Trains a BPR model on the engine's current interactions.
pub fn train_bpr(engine: &Engine, cfg: &TrainConfig) -> MfModel {
    train_bpr_with_progress(engine, cfg, |_| {})
}

/// Trains a BPR model, calling `progress` after each epoch.
pub fn train_bpr_with_progress(engine: &Engine, cfg: &TrainConfig, progress: impl FnMut(EpochReport)) -> MfModel {
    match train_bpr_unless(engine, cfg, progress, &AtomicBool::new(false)) {
        Some(model) => model,
        None => unreachable!("a training never asked to stop ends with a model"),
    }
}

/// How many samples a training takes between two looks at its stop flag: an epoch over millions
/// of interactions takes minutes, so it is not waited for.
const STOP_CHECK_EVERY: usize = 4096;

/// [`train_bpr_with_progress`] that gives up, with no model, once `stop` is set (looked at every
/// few thousand samples): a server shutting down does not wait minutes for a training to end.
pub fn train_bpr_unless(
    engine: &Engine,
    cfg: &TrainConfig,
    mut progress: impl FnMut(EpochReport),
    stop: &AtomicBool,
) -> Option<MfModel> {
    let st = engine.load();
    let k = cfg.factors.max(1);
    let (nu, nv) = (st.n_users() as usize, st.n_venues() as usize);
    // Positive pairs, repeated with engagement: the model learns how often, not only whether.
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for u in 0..st.n_users() {
        let Some(r) = st.live_user(u) else { continue };
        for a in &r.history {
            if st.live_venue(a.venue).is_none() {
                continue;
            }
            let repeats = 1 + usize::from(a.n.min(8)) / 2 + usize::from(a.positive());
            pairs.extend(std::iter::repeat_n((u, a.venue), repeats));
        }
    }
    let alive: Vec<u32> = (0..st.n_venues()).filter(|&v| st.live_venue(v).is_some()).collect();
    let neighbours = venue_neighbours(&st, cfg.neighbours);
    let mut rng = SplitMix64::new(cfg.seed);
    let scale = 0.1 / (k as f64).sqrt();
    let mut p: Vec<f32> = (0..nu * k).map(|_| (rng.normal() * scale) as f32).collect();
    let mut q: Vec<f32> = (0..nv * k).map(|_| (rng.normal() * scale) as f32).collect();
    let mut b: Vec<f32> = vec![0.0; nv];
    if pairs.is_empty() || alive.len() < 2 {
        return Some(export(&st, k, p, q, b));
    }
    let (lr, reg) = (cfg.lr, cfg.reg);
    for epoch in 0..cfg.epochs {
        let mut loss = 0.0;
        for s in 0..pairs.len() {
            if s % STOP_CHECK_EVERY == 0 && stop.load(Ordering::Relaxed) {
                return None;
            }
            let (u, i) = pairs[rng.below(pairs.len())];
            let j = sample_negative(&st, &mut rng, u, i, &alive, &neighbours, cfg.local_negatives);
            let (u, i, j) = (u as usize, i as usize, j as usize);
            let mut x = b[i] - b[j];
            for f in 0..k {
                x += p[u * k + f] * (q[i * k + f] - q[j * k + f]);
            }
            let g = 1.0 / (1.0 + x.exp());
            loss += f64::from((1.0 + (-x).exp()).ln());
            for f in 0..k {
                let (pu, qi, qj) = (p[u * k + f], q[i * k + f], q[j * k + f]);
                p[u * k + f] += lr * (g * (qi - qj) - reg * pu);
                q[i * k + f] += lr * (g * pu - reg * qi);
                q[j * k + f] += lr * (-g * pu - reg * qj);
            }
            b[i] += lr * (g - reg * b[i]);
            b[j] += lr * (-g - reg * b[j]);
        }
        progress(EpochReport { epoch: epoch + 1, loss: loss / pairs.len() as f64, samples: pairs.len() });
    }
    Some(export(&st, k, p, q, b))
}

fn sample_negative(
    st: &State,
    rng: &mut SplitMix64,
    u: u32,
    i: u32,
    alive: &[u32],
    neighbours: &[Vec<u32>],
    local: f64,
) -> u32 {
    let hist = st.user(u).map(|r| &r.history[..]).unwrap_or(&[]);
    for _ in 0..8 {
        let near = &neighbours[i as usize];
        let j = if !near.is_empty() && rng.unit() < local {
            near[rng.below(near.len())]
        } else {
            alive[rng.below(alive.len())]
        };
        if j != i && hist.binary_search_by_key(&j, |a| a.venue).is_err() {
            return j;
        }
    }
    alive[rng.below(alive.len())]
}

/// For each venue, its nearest alive venues (for local negatives).
fn venue_neighbours(st: &State, n: usize) -> Vec<Vec<u32>> {
    (0..st.n_venues())
        .map(|v| match st.live_venue(v) {
            Some(row) if n > 0 => st
                .snap
                .spatial
                .nearest(row.lat, row.lng, f64::INFINITY)
                .map(|(x, _)| x)
                .filter(|&x| x != v)
                .take(n)
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn export(st: &State, k: usize, p: Vec<f32>, q: Vec<f32>, b: Vec<f32>) -> MfModel {
    let users = (0..st.n_users()).map(|u| st.user(u).map(|r| r.id).unwrap_or_default()).collect();
    let venues = (0..st.n_venues()).map(|v| st.venue(v).map(|r| r.id).unwrap_or_default()).collect();
    MfModel { factors: k, users, user_vecs: p, venues, venue_vecs: q, venue_bias: b }
}

impl MfModel {
    /// Writes the model to a file.
    pub fn save(&self, path: &Path) -> Result<(), EngineError> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        w.write_all(MAGIC)?;
        w.write_all(&(self.factors as u64).to_le_bytes())?;
        w.write_all(&(self.users.len() as u64).to_le_bytes())?;
        w.write_all(&(self.venues.len() as u64).to_le_bytes())?;
        for id in self.users.iter().chain(&self.venues) {
            w.write_all(id.as_bytes())?;
        }
        for x in self.user_vecs.iter().chain(&self.venue_vecs).chain(&self.venue_bias) {
            w.write_all(&x.to_le_bytes())?;
        }
        w.flush()?;
        Ok(())
    }

    /// Reads a model written by [`MfModel::save`].
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(EngineError::ModelFormat("not a Luna model file".into()));
        }
        let mut word = || -> Result<usize, EngineError> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            usize::try_from(u64::from_le_bytes(b)).map_err(|_| EngineError::ModelFormat("size overflow".into()))
        };
        let (k, nu, nv) = (word()?, word()?, word()?);
        if k == 0 || k > 1024 || nu > 100_000_000 || nv > 100_000_000 {
            return Err(EngineError::ModelFormat("implausible sizes".into()));
        }
        let mut ids = |n: usize| -> Result<Vec<Uuid>, EngineError> {
            (0..n)
                .map(|_| {
                    let mut b = [0u8; 16];
                    r.read_exact(&mut b)?;
                    Ok(Uuid::from_bytes(b))
                })
                .collect()
        };
        let users = ids(nu)?;
        let venues = ids(nv)?;
        let mut floats = |n: usize| -> Result<Vec<f32>, EngineError> {
            let mut bytes = vec![0u8; n * 4];
            r.read_exact(&mut bytes)?;
            Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        };
        let user_vecs = floats(nu * k)?;
        let venue_vecs = floats(nv * k)?;
        let venue_bias = floats(nv)?;
        Ok(Self { factors: k, users, user_vecs, venues, venue_vecs, venue_bias })
    }
}

/// A model mapped onto an engine's indices.
#[derive(Debug)]
pub(crate) struct LoadedModel {
    pub k: usize,
    user_vecs: Vec<f32>,
    has_user: Vec<bool>,
    venue_vecs: Vec<f32>,
    venue_bias: Vec<f32>,
    has_venue: Vec<bool>,
    /// Item-to-item neighbours, computed from the state the model was loaded on.
    pub neighbours: ItemNeighbours,
}

impl LoadedModel {
    /// Bytes its factors take, and its item neighbours.
    pub fn bytes(&self) -> (u64, u64) {
        let f32s = self.user_vecs.capacity() + self.venue_vecs.capacity() + self.venue_bias.capacity();
        let flags = self.has_user.capacity() + self.has_venue.capacity();
        ((f32s * std::mem::size_of::<f32>() + flags) as u64, self.neighbours.bytes())
    }

    pub fn new(m: &MfModel, st: &State) -> Self {
        let k = m.factors;
        let (nu, nv) = (st.n_users() as usize, st.n_venues() as usize);
        let mut s = Self {
            k,
            user_vecs: vec![0.0; nu * k],
            has_user: vec![false; nu],
            venue_vecs: vec![0.0; nv * k],
            venue_bias: vec![0.0; nv],
            has_venue: vec![false; nv],
            neighbours: ItemNeighbours::build(st),
        };
        for (i, id) in m.users.iter().enumerate() {
            if let Some(u) = st.user_idx(id).map(|u| u as usize).filter(|&u| u < nu) {
                s.user_vecs[u * k..(u + 1) * k].copy_from_slice(&m.user_vecs[i * k..(i + 1) * k]);
                s.has_user[u] = true;
            }
        }
        for (i, id) in m.venues.iter().enumerate() {
            if let Some(v) = st.venue_idx(id).map(|v| v as usize).filter(|&v| v < nv) {
                s.venue_vecs[v * k..(v + 1) * k].copy_from_slice(&m.venue_vecs[i * k..(i + 1) * k]);
                s.venue_bias[v] = m.venue_bias[i];
                s.has_venue[v] = true;
            }
        }
        s
    }

    /// Whether the model was trained with user `u` (an engine index).
    pub fn knows_user(&self, u: u32) -> bool {
        self.has_user.get(u as usize).copied().unwrap_or(false)
    }

    /// Whether the model was trained with venue `v` (an engine index).
    pub fn knows_venue(&self, v: u32) -> bool {
        self.has_venue.get(v as usize).copied().unwrap_or(false)
    }

    /// The user's latent vector: trained if known, else folded in from their history.
    pub fn user_vector(&self, st: &State, u: u32) -> Option<Vec<f32>> {
        let k = self.k;
        if self.has_user.get(u as usize).copied().unwrap_or(false) {
            return Some(self.user_vecs[u as usize * k..(u as usize + 1) * k].to_vec());
        }
        let row = st.live_user(u)?;
        let mut acc = vec![0.0f32; k];
        let mut w = 0.0f32;
        for a in &row.history {
            if let Some(q) = self.venue_vector(a.venue) {
                let e = a.engagement() as f32;
                acc.iter_mut().zip(q).for_each(|(x, y)| *x += e * y);
                w += e;
            }
        }
        (w > 0.0).then(|| acc.into_iter().map(|x| x / w).collect())
    }

    fn venue_vector(&self, v: u32) -> Option<&[f32]> {
        let v = v as usize;
        self.has_venue.get(v).copied().unwrap_or(false).then(|| &self.venue_vecs[v * self.k..(v + 1) * self.k])
    }

    /// The model's score of a venue for a user vector (None if the venue is unknown to it).
    pub fn score(&self, user: &[f32], v: u32) -> Option<f64> {
        let q = self.venue_vector(v)?;
        Some(f64::from(dot(user, q) + self.venue_bias[v as usize]))
    }
}

/// The dot product of two vectors in eight interleaved sums, which the compiler keeps in one
/// SIMD register (a single running sum is a chain of dependent additions it may not reorder).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::dot;

    #[test]
    fn dot_matches_the_plain_sum_at_every_length() {
        for n in [0, 1, 7, 8, 9, 16, 32, 33, 64] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.91 + 1.0).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-5, "length {n}: {} vs {plain}", dot(&a, &b));
        }
    }
}
