//! Tunes the default ranker's weights by coordinate ascent on a validation split: the test
//! period of the generated city is removed first, so tuning never sees it. Prints the best
//! settings as JSON. `TUNE_USERS`, `TUNE_VENUES`, `TUNE_SEED`, `TUNE_ROUNDS` size it.

mod common;

use common::{city_dataset, env};
use engine::eval::{Dataset, EvalConfig, evaluate, split_instant};
use engine::{EngineSettings, Ranker};

fn ndcg(ds: &Dataset, s: &EngineSettings) -> f64 {
    let cfg =
        EvalConfig { rankers: vec![Ranker::Default], settings: s.clone(), max_users: 1500, ..EvalConfig::default() };
    evaluate(ds, &cfg).rankers[0].ndcg
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let city = synth::City::new(synth::CityConfig::new(
        env("TUNE_SEED", 7),
        env("TUNE_USERS", 5000),
        env("TUNE_VENUES", 800),
    ))?;
    let mut ds = city_dataset(&city);
    let split = split_instant(&ds, &EvalConfig::default());
    ds.interactions.retain(|i| i.occurred_at < split);
    ds.interests.retain(|i| i.created_at < split);
    let mut best = EngineSettings::default();
    if let Ok(p) = std::env::var("TUNE_START") {
        best = serde_json::from_str(&std::fs::read_to_string(p)?)?;
    }
    let mut best_score = ndcg(&ds, &best);
    eprintln!("start {best_score:.4}");
    let fields = [
        "w_proximity",
        "w_history",
        "history_floor",
        "w_viewed",
        "w_preference",
        "w_taste",
        "w_context",
        "w_trending",
        "w_social",
        "social_scale",
        "w_learned",
        "w_neighbours",
        "w_popularity",
        "w_rating",
        "personal_distance_factor",
        "just_visited_factor",
        "diversity_cuisine",
    ];
    for round in 0..env("TUNE_ROUNDS", 2) {
        for f in fields {
            for mult in [0.0, 0.5, 1.5, 2.5] {
                let mut v = serde_json::to_value(&best)?;
                let cur = v["ranker"][f].as_f64().unwrap_or(0.0);
                let next = if cur == 0.0 && mult > 0.0 { 0.05 * mult } else { cur * mult };
                v["ranker"][f] = serde_json::json!(next);
                let cand: EngineSettings = serde_json::from_value(v)?;
                let score = ndcg(&ds, &cand);
                if score > best_score + 1e-4 {
                    eprintln!("round {round}: {f} {cur} -> {next}: {best_score:.4} -> {score:.4}");
                    best = cand;
                    best_score = score;
                }
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&best)?);
    eprintln!("validation ndcg {best_score:.4}");
    Ok(())
}
