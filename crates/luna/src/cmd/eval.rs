//! `luna eval`: splits an interaction log by time, builds the engine on the past, and measures
//! every ranker (popularity, seed2, default, learned) on the future: a table on the terminal,
//! optionally a JSON report and an SVG chart. The log comes from the configured store (seeded
//! or imported data) or, with `--synth`, from a generated city held in memory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use engine::eval::{Dataset, EvalConfig, evaluate, render_svg, render_table};
use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Generate a city in memory instead of reading the store.
    #[arg(long)]
    pub synth: bool,
    /// Users of the generated city (with --synth).
    #[arg(long, default_value_t = 5000)]
    pub users: usize,
    /// Venues of the generated city (with --synth).
    #[arg(long, default_value_t = 500)]
    pub venues: usize,
    /// Seed of the generated city, the user sample and the model training.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Cut-off of the ranked lists.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Latest share of the log's time span used as the test period.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Evaluate at most this many test users.
    #[arg(long, default_value_t = 2000)]
    pub max_users: usize,
    /// Training epochs of the learned model.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Draw the report as an SVG chart here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

pub async fn run(mut settings: Settings, args: EvalArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let ds =
        if args.synth { synth_dataset(args.users, args.venues, args.seed)? } else { store_dataset(&settings).await? };
    eprintln!(
        "Evaluating on {} users, {} venues, {} edges, {} interactions",
        ds.users.len(),
        ds.venues.len(),
        ds.edges.len(),
        ds.interactions.len()
    );
    anyhow::ensure!(!ds.interactions.is_empty(), "no interactions to evaluate on (seed or import some first)");
    let mut cfg = EvalConfig {
        k: args.k,
        test_fraction: args.test_fraction,
        max_users: args.max_users,
        settings: settings.engine.clone(),
        seed: args.seed,
        ..EvalConfig::default()
    };
    cfg.train.seed = args.seed;
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    let spinner = spinner("building, training and ranking");
    let report = tokio::task::spawn_blocking(move || evaluate(&ds, &cfg)).await.context("evaluation task")?;
    spinner.finish_and_clear();
    println!("{}", render_table(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("JSON report written to {}", path.display());
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, render_svg(&report)).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("SVG chart written to {}", path.display());
    }
    Ok(())
}

/// Every user, venue, edge and interaction of the configured store.
pub async fn store_dataset(settings: &Settings) -> anyhow::Result<Dataset> {
    let store = super::open_store(settings).await?;
    let spinner = spinner("reading the store");
    let mut ds = Dataset::default();
    app::reco::scan_store(&store, &mut ds).await.map_err(|e| anyhow::anyhow!("reading the store: {e}"))?;
    spinner.finish_and_clear();
    Ok(ds)
}

/// A generated city, in memory.
pub fn synth_dataset(users: usize, venues: usize, seed: u64) -> anyhow::Result<Dataset> {
    let city = synth::City::new(synth::CityConfig::new(seed, users, venues)).context("city settings")?;
    let mut ds = Dataset { venues: city.venues(), ..Dataset::default() };
    let bar = ProgressBar::new(users as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("generating");
    city.for_each_chunk(2_000, |c| {
        bar.inc(c.users.len() as u64);
        ds.users.extend(c.users);
        ds.preferences.extend(c.preferences);
        ds.edges.extend(c.edges);
        ds.interactions.extend(c.interactions);
        ds.interests.extend(c.interests);
    });
    bar.finish_and_clear();
    Ok(ds)
}

pub fn spinner(msg: &str) -> ProgressBar {
    let s = ProgressBar::new_spinner();
    s.set_message(msg.to_string());
    s.enable_steady_tick(Duration::from_millis(120));
    s
}
