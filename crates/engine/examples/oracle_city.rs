//! How far can any ranker go on the generated city? Prints, on the split, relevance and users
//! of `luna eval --synth` (every user with a relevant test venue), the NDCG@k of:
//!
//! - **the exact oracle**: the generator draws each user's episodes independently from a fixed
//!   set of venues they know of, so given that set the chance of a venue being relevant in the
//!   test period does not depend on the history: it grows with the venue's chance per episode
//!   of a commitment there (`City::commitment_odds`) times the share of its episodes that fall
//!   in the test period (all of a new opening's fall late). Ranking by that is the ceiling.
//! - **the fair oracle**: knows the user's taste but not how the dice fell: how often each venue
//!   is among the venues such a user knows of (`City::known_frequency`), updated by the
//!   history (a venue seen is known; one unseen after n episodes less likely so), times its
//!   choice weight, commitment chance and test share. What a ranker that had learnt everything
//!   learnable about a user could reach.
//! - **taste only**: the fair oracle without the structure of which venues a user comes to know
//!   of (every venue equally likely to be known before the history is seen).
//! - the `seed2` and default rankers, with the share of relevant venues the user had already
//!   touched in training.
//!
//! `cargo run --release -p engine --example oracle_city`, with `ORACLE_USERS` (5000),
//! `ORACLE_VENUES` (500), `ORACLE_SEED` (42) and `ORACLE_SAMPLES` (64 draws of the known set).
use std::collections::{HashMap, HashSet};

use engine::eval::{Dataset, EvalConfig, evaluate, list_metrics, split_instant};
use engine::{Ranker, TrainConfig};

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// The top `k` venue indices by score, ties by index.
fn top(mut scored: Vec<(f64, usize)>, k: usize) -> Vec<usize> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|x| x.1).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = env("ORACLE_SEED", 42);
    let config = synth::CityConfig::new(seed, env("ORACLE_USERS", 5000), env("ORACLE_VENUES", 500));
    let city = synth::City::new(config.clone())?;
    let mut ds = Dataset { venues: city.venues(), ..Dataset::default() };
    for c in city.chunks(10_000) {
        ds.users.extend(c.users);
        ds.preferences.extend(c.preferences);
        ds.edges.extend(c.edges);
        ds.interactions.extend(c.interactions);
        ds.interests.extend(c.interests);
    }
    let cfg = EvalConfig {
        rankers: vec![Ranker::Seed2, Ranker::Default],
        max_users: usize::MAX,
        seed,
        train: TrainConfig { seed, ..TrainConfig::default() },
        ..EvalConfig::default()
    };
    let split = split_instant(&ds, &cfg).timestamp_millis();
    let (start, now) = (config.history_start().timestamp_millis(), config.now.timestamp_millis());
    let uix: HashMap<_, _> = ds.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let vix: HashMap<_, _> = ds.venues.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    // Relevant test venues, venues touched in training and training episodes, per user.
    let mut relevant: HashMap<usize, HashSet<usize>> = HashMap::new();
    let mut seen: HashMap<usize, HashSet<usize>> = HashMap::new();
    let mut episodes: HashMap<usize, f64> = HashMap::new();
    for i in &ds.interactions {
        let (u, v) = (uix[&i.user_id], vix[&i.venue_id]);
        if i.occurred_at.timestamp_millis() < split {
            seen.entry(u).or_default().insert(v);
            *episodes.entry(u).or_default() += 1.0;
        } else if cfg.relevant.contains(&i.interaction_type) {
            relevant.entry(u).or_default().insert(v);
        }
    }
    let samples = env("ORACLE_SAMPLES", 64);
    let k = cfg.k;
    let none = HashSet::new();
    let (mut exact, mut fair, mut taste_only, mut n_relevant, mut n_seen) = (0.0, 0.0, 0.0, 0usize, 0usize);
    for (&u, rel) in &relevant {
        let mut rel: Vec<usize> = rel.iter().copied().collect();
        rel.sort_unstable();
        let seen = seen.get(&u).unwrap_or(&none);
        n_relevant += rel.len();
        n_seen += rel.iter().filter(|v| seen.contains(v)).count();
        // The share of a venue's episodes in the test period, for this user.
        let user_from = start.max(ds.users[u].created_at.timestamp_millis());
        let late = |v: usize| {
            let from = user_from.max(ds.venues[v].created_at.timestamp_millis());
            if now > from { (now - split.max(from)).max(0) as f64 / (now - from) as f64 } else { 0.0 }
        };
        let odds = city.commitment_odds(u).into_iter().map(|(v, p)| (p * late(v), v)).collect();
        exact += list_metrics(&top(odds, k), &rel, k).ndcg;
        let taste = city.taste(u);
        let pull: Vec<f64> = (0..ds.venues.len()).map(|v| city.choice_weight(&taste, v)).collect();
        let n = episodes.get(&u).copied().unwrap_or(0.0);
        // Ranks by the chance of being known (given the history), choice weight, commitment
        // chance and test share.
        let guess = |known: &[f64]| -> Vec<usize> {
            let total: f64 = known.iter().zip(&pull).map(|(f, p)| f * p).sum::<f64>().max(1e-300);
            let scored = (0..ds.venues.len())
                .map(|v| {
                    let share = (pull[v] / total).min(1.0);
                    let known = if seen.contains(&v) {
                        1.0
                    } else {
                        let missed = known[v] * (1.0 - share).powf(n);
                        missed / (missed + 1.0 - known[v]).max(1e-300)
                    };
                    (known * share * city.commitment_chance(&taste, v) * late(v), v)
                })
                .collect();
            top(scored, k)
        };
        let known = city.known_frequency(&taste, samples);
        fair += list_metrics(&guess(&known), &rel, k).ndcg;
        let flat = vec![known.iter().sum::<f64>() / known.len().max(1) as f64; known.len()];
        taste_only += list_metrics(&guess(&flat), &rel, k).ndcg;
    }
    let users = relevant.len().max(1) as f64;
    let report = evaluate(&ds, &cfg);
    let ndcg = |r| report.ranker(r).map_or(0.0, |m| m.ndcg);
    let seed2 = ndcg(Ranker::Seed2).max(1e-12);
    println!("{} users; {:.1}% of relevant test venues were touched in training", relevant.len(), {
        100.0 * n_seen as f64 / n_relevant.max(1) as f64
    });
    for (name, x) in [
        ("exact oracle", exact / users),
        ("fair oracle", fair / users),
        ("taste only", taste_only / users),
        ("default", ndcg(Ranker::Default)),
        ("seed2", seed2),
    ] {
        println!("{name:<12} NDCG@{k} {x:.4} ({:.3}x seed2)", x / seed2);
    }
    Ok(())
}
