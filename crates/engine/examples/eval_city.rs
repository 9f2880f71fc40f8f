//! Evaluates every ranker on a generated city and prints the table (and JSON, SVG files).
//!
//! `cargo run --release -p engine --example eval_city` with optional environment variables:
//! `EVAL_USERS` (default 20000), `EVAL_VENUES` (2000), `EVAL_SEED` (42), `EVAL_IPU`
//! (interactions per user, 20), `EVAL_SETTINGS` (a JSON file of engine settings), `EVAL_TRAIN` (BPR settings as JSON), `EVAL_OUT`
//! (a directory for report.json and report.svg), and `EVAL_VALIDATE=1` to tune honestly: the
//! test period is cut off and the last part of the training period is evaluated instead.

mod common;

use std::time::Instant;

use common::{city_dataset, env};
use engine::eval::{EvalConfig, evaluate, render_svg, render_table, split_instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = synth::CityConfig::new(env("EVAL_SEED", 42), env("EVAL_USERS", 20_000), env("EVAL_VENUES", 2_000));
    cfg.interactions_per_user = env("EVAL_IPU", 20.0);
    let t = Instant::now();
    let city = synth::City::new(cfg)?;
    let mut ds = city_dataset(&city);
    eprintln!(
        "generated {} users, {} venues, {} interactions in {:.1}s",
        ds.users.len(),
        ds.venues.len(),
        ds.interactions.len(),
        t.elapsed().as_secs_f64()
    );
    let mut ecfg = EvalConfig::default();
    if let Ok(path) = std::env::var("EVAL_SETTINGS") {
        ecfg.settings = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    }
    if let Ok(json) = std::env::var("EVAL_TRAIN") {
        ecfg.train = serde_json::from_str(&json)?;
    }
    if env("EVAL_VALIDATE", 0) == 1 {
        // Drop the test period entirely, then split what is left: tuning never sees the test.
        let split = split_instant(&ds, &ecfg);
        ds.interactions.retain(|i| i.occurred_at < split);
        ds.interests.retain(|i| i.created_at < split);
        eprintln!("validation mode: test period from {split} removed");
    }
    let report = evaluate(&ds, &ecfg);
    println!("{}", render_table(&report));
    eprintln!("build {:.1}s, train {:.1}s", report.build_seconds, report.train_seconds);
    if let (Some(d), Some(s)) = (report.ranker(engine::Ranker::Default), report.ranker(engine::Ranker::Seed2)) {
        println!("default/seed2 NDCG ratio: {:.2}", d.ndcg / s.ndcg.max(1e-12));
    }
    if let Ok(dir) = std::env::var("EVAL_OUT") {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(format!("{dir}/report.json"), serde_json::to_string_pretty(&report)?)?;
        std::fs::write(format!("{dir}/report.svg"), render_svg(&report))?;
    }
    Ok(())
}
