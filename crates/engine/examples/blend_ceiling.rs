//! How far the default ranker's list could go if it knew what no data holds. Each test user's
//! default top 100 (the same engine and model `luna eval` builds on the past) is re-ranked with
//! one of the generator's hidden quantities added to the scores, scaled to 0..1 over the list,
//! at a few weights:
//! - `taste`: the user's affinity for the venue (hidden taste: categories, cuisines, tags, price,
//!   hidden factors, dietary needs, community favourites);
//! - `pull`: the chance that one of the user's episodes is a commitment at the venue, if they
//!   knew it: the taste with the user's own distance tolerance and herding on popularity (what
//!   `oracle_fair` knows, less which venues the user knows of);
//! - `known`: the other half, how often a user of that taste knows of the venue (1 for a venue
//!   in their past), added as its logarithm (a factor, a power of it, on the exponential of the
//!   default's scores); its weights are not scaled to the list, unlike the others'.
//!
//! The rows show how much of the gap between the default and the oracles is information the
//! interaction log does not carry. `cargo run --release -p engine --example blend_ceiling`, with
//! `EVAL_USERS` (5000), `EVAL_VENUES` (500) and `EVAL_SEED` (42) as `luna eval --synth` uses.

mod common;

use std::collections::{HashMap, HashSet};

use common::{city_dataset, env};
use engine::eval::{EvalConfig, ExternalRanker, build_until, evaluate_with, render_table, split_instant};
use engine::{Ranker, VenueQuery, train_bpr};
use synth::KNOWN_SAMPLES;
use uuid::Uuid;

/// The hidden quantities a re-ranking adds.
#[derive(Clone, Copy)]
enum Hidden {
    Taste,
    Pull,
    Known,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = env("EVAL_SEED", 42);
    let city = synth::City::new(synth::CityConfig::new(seed, env("EVAL_USERS", 5000), env("EVAL_VENUES", 500)))?;
    let ds = city_dataset(&city);
    // As `luna eval --synth` evaluates: its seed picks the test users and trains the model.
    let mut cfg = EvalConfig { rankers: vec![Ranker::Seed2, Ranker::Default], seed, ..EvalConfig::default() };
    cfg.train.seed = seed;
    let split = split_instant(&ds, &cfg);
    let engine = build_until(&ds, split, &cfg.settings);
    engine.set_model(&train_bpr(&engine, &cfg.train));
    let users: HashMap<Uuid, usize> = ds.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let venues: HashMap<Uuid, usize> = ds.venues.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    // The venues each user touched before the split: known for sure.
    let mut past: HashMap<Uuid, HashSet<usize>> = HashMap::new();
    for i in ds.interactions.iter().filter(|i| i.occurred_at < split) {
        past.entry(i.user_id).or_default().insert(venues[&i.venue_id]);
    }
    let (engine, users, venues, city, past) = (&engine, &users, &venues, &city, &past);
    let mut external = Vec::new();
    for hidden in [Hidden::Taste, Hidden::Pull, Hidden::Known] {
        for weight in [0.5, 1.0, 2.0, 4.0] {
            let rank = move |user: Uuid, split: chrono::DateTime<chrono::Utc>, k: usize| -> Vec<Uuid> {
                let mut q = VenueQuery::new(user, 100, Ranker::Default);
                (q.now, q.time) = (Some(split), Some(split));
                let list = engine.recommend_venues(&q).unwrap_or_default();
                let taste = city.taste(users[&user]);
                let total: f64 = match hidden {
                    Hidden::Taste | Hidden::Known => 1.0,
                    Hidden::Pull => (0..city.venue_count()).map(|v| city.choice_weight(&taste, v)).sum(),
                };
                let known = match hidden {
                    Hidden::Known => city.known_frequency(&taste, KNOWN_SAMPLES),
                    Hidden::Taste | Hidden::Pull => Vec::new(),
                };
                let touched = past.get(&user);
                let extra: Vec<f64> = list
                    .iter()
                    .map(|r| {
                        let v = venues[&r.venue_id];
                        match hidden {
                            Hidden::Taste => city.affinity_for(&taste, v),
                            Hidden::Pull => city.choice_weight(&taste, v) / total * city.commitment_chance(&taste, v),
                            Hidden::Known if touched.is_some_and(|t| t.contains(&v)) => 0.0,
                            Hidden::Known => known[v].max(1e-6).ln(),
                        }
                    })
                    .collect();
                if let Hidden::Known = hidden {
                    let mut scored: Vec<(f64, Uuid)> =
                        list.iter().zip(&extra).map(|(r, x)| (r.score + weight * x, r.venue_id)).collect();
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                    return scored.into_iter().take(k).map(|x| x.1).collect();
                }
                let top = extra.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
                let mut scored: Vec<(f64, Uuid)> =
                    list.iter().zip(&extra).map(|(r, x)| (r.score + weight * x / top, r.venue_id)).collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                scored.into_iter().take(k).map(|x| x.1).collect()
            };
            let name = match hidden {
                Hidden::Taste => format!("default+taste x{weight}"),
                Hidden::Pull => format!("default+pull x{weight}"),
                Hidden::Known => format!("default+ln(known) x{weight}"),
            };
            external.push(ExternalRanker { name, rank: Box::new(rank) });
        }
    }
    let report = evaluate_with(&ds, &cfg, &external);
    println!("{}", render_table(&report));
    let seed2 = report.ranker(Ranker::Seed2).map_or(f64::NAN, |m| m.ndcg);
    for m in &report.rankers {
        println!("{:24} NDCG@10 {:.4} = {:.3} x seed2", m.ranker, m.ndcg, m.ndcg / seed2);
    }
    Ok(())
}
