//! `luna train`: trains the learned ranker (BPR matrix factorisation) on the store's
//! interactions, with a progress bar per epoch, and writes the model file `luna serve` loads
//! (`model_path`, default `<data_dir>/model.bin`). Same `--seed`, same model.

use std::path::PathBuf;

use anyhow::Context;
use engine::{TrainConfig, train_bpr_with_progress};
use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Latent dimensions (1 to 512).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(ranged(app::reco::training::FACTORS)))]
    pub factors: Option<usize>,
    /// Passes over the interactions (1 to 10,000).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(ranged(app::reco::training::EPOCHS)))]
    pub epochs: Option<usize>,
    /// Random seed (initialisation and sampling).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the model (default: the `model_path` setting); missing folders are made,
    /// an existing file is replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// The training's range of a setting, as clap's parser takes it (shared with the API's).
fn ranged(r: std::ops::RangeInclusive<usize>) -> std::ops::RangeInclusive<u64> {
    *r.start() as u64..=*r.end() as u64
}

pub async fn run(mut settings: Settings, args: TrainArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let out = args.out.clone().unwrap_or_else(|| settings.model_path());
    // Before loading and training, which can take minutes each.
    super::check_output(&out, "the model file")?;
    let store = super::open_existing_store(&settings).await?;
    let d = TrainConfig::default();
    let cfg = TrainConfig {
        factors: args.factors.unwrap_or(d.factors),
        epochs: args.epochs.unwrap_or(d.epochs),
        seed: args.seed.unwrap_or(d.seed),
        ..d
    };
    let model = train_on_store(&store, &settings, cfg).await?;
    save_model(&model, &out)?;
    println!("Model with {} users and {} venues written to {}", model.users.len(), model.venues.len(), out.display());
    Ok(())
}

/// Loads the store's interactions and trains on them with a progress bar per epoch (a plain
/// line per epoch where stderr is not a terminal). Refused when there is nothing to learn from
/// (a mistyped --data-dir opens an empty database: a model of nobody is no model).
pub(crate) async fn train_on_store(
    store: &store::DynStore,
    settings: &Settings,
    cfg: TrainConfig,
) -> anyhow::Result<engine::MfModel> {
    let spinner = super::eval::spinner("loading interactions");
    let engine = app::reco::build_from_store(store, &settings.engine)
        .await
        .map_err(|e| anyhow::anyhow!("loading the store: {e}"))?;
    spinner.finish_and_clear();
    let stats = engine.stats();
    anyhow::ensure!(
        stats.user_venue_pairs > 0,
        "no interactions to train on in {} (seed or import data first)",
        crate::settings::redact_url(&settings.database_url())
    );
    eprintln!(
        "Training on {} users, {} venues and {} user-venue pairs ({} epochs, {} factors, seed {})",
        stats.users, stats.venues, stats.user_venue_pairs, cfg.epochs, cfg.factors, cfg.seed
    );
    let bar = ProgressBar::new(cfg.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] epoch {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("training");
    let progress = bar.clone();
    let (plain, epochs) = (super::plain_progress(), cfg.epochs);
    let model = tokio::task::spawn_blocking(move || {
        train_bpr_with_progress(&engine, &cfg, |r| {
            progress.set_message(format!("loss {:.4}", r.loss));
            progress.inc(1);
            if plain {
                eprintln!("epoch {}/{epochs}: loss {:.4}", r.epoch, r.loss);
            }
        })
    })
    .await
    .context("training task")?;
    bar.finish();
    Ok(model)
}

/// Writes a model file whole or not at all (see [`app::reco::training::save_model`]).
pub(crate) fn save_model(model: &engine::MfModel, path: &std::path::Path) -> anyhow::Result<()> {
    app::reco::training::save_model(model, path).map_err(anyhow::Error::msg)
}
