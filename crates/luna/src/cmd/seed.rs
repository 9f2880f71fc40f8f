//! `luna seed`: generates a city into the database, with a progress bar. Same `--seed` and
//! `--as-of`, same data. A seeded database is left alone unless `--force`, which resets it first.
//! The learned model is then trained on the new city and written to the model file, as `luna
//! simulate` and `luna serve --demo` do after their seeds, so a `luna serve` started on the data
//! afterwards never loads a model file left from the data before (which knows none of the new
//! users); with `--no-train` (or a city without interactions to learn from) that file is removed.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// How many users to generate (default: demo.users, 300).
    #[arg(long)]
    pub users: Option<usize>,
    /// How many venues to generate (default: demo.venues, 150); at least 1 (with --users 0, a
    /// city of venues alone).
    #[arg(long)]
    pub venues: Option<usize>,
    /// Random seed: the same seed gives the same city.
    #[arg(long)]
    pub seed: Option<u64>,
    /// City name written on venues and users. A city other than the configured one (demo.city,
    /// New York) needs its centre, `--lat` and `--lng`.
    #[arg(long)]
    pub city: Option<String>,
    /// Latitude of the city centre (with `--lng`).
    #[arg(long, allow_hyphen_values = true, requires = "lng")]
    pub lat: Option<f64>,
    /// Longitude of the city centre (with `--lat`).
    #[arg(long, allow_hyphen_values = true, requires = "lat")]
    pub lng: Option<f64>,
    /// Radius of the city in kilometres.
    #[arg(long)]
    pub radius_km: Option<f64>,
    /// End of the generated history, RFC 3339 (such as 2026-11-20T12:00:00Z): pins the city's
    /// dates for reproducibility (default: demo.as_of, else the current hour).
    #[arg(long, value_parser = super::parse_instant)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Reset a database that already has data, then seed it.
    #[arg(long)]
    pub force: bool,
    /// Do not train the learned model on the new city (a large city takes minutes to train):
    /// the model file from before, which knows none of its users, is removed instead; train
    /// later with `luna train` (`luna serve --demo` trains when there is no model file).
    #[arg(long)]
    pub no_train: bool,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// The services' slice of the settings.
pub fn app_settings(s: &Settings) -> app::AppSettings {
    let reco =
        app::reco::RecoSettings { engine: s.engine.clone(), model_path: Some(s.model_path()), train_after_seed: false };
    app::AppSettings { demo: demo_options(s, false), reco, booking: s.booking.clone(), events: s.events.clone() }
}

/// Seed options from the demo settings.
pub fn demo_options(s: &Settings, force: bool) -> app::seed::SeedOptions {
    app::seed::SeedOptions {
        users: s.demo.users,
        venues: s.demo.venues,
        seed: s.demo.seed,
        city: s.demo.city.clone(),
        center_lat: s.demo.center_lat,
        center_lng: s.demo.center_lng,
        radius_km: s.demo.radius_km,
        as_of: s.demo.as_of,
        force,
    }
}

pub async fn run(mut settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let d = &mut settings.demo;
    // Another city at the configured one's centre would be a city in the wrong place.
    if let Some(city) = &args.city
        && city.trim() != d.city.trim()
        && args.lat.is_none()
    {
        anyhow::bail!(
            "--city {city:?} needs its centre, --lat and --lng (the configured city, {}, is at {}, {})",
            d.city,
            d.center_lat,
            d.center_lng
        );
    }
    d.users = args.users.unwrap_or(d.users);
    d.venues = args.venues.unwrap_or(d.venues);
    d.seed = args.seed.unwrap_or(d.seed);
    d.city = args.city.clone().unwrap_or_else(|| d.city.clone());
    d.center_lat = args.lat.unwrap_or(d.center_lat);
    d.center_lng = args.lng.unwrap_or(d.center_lng);
    d.radius_km = args.radius_km.unwrap_or(d.radius_km);
    d.as_of = args.as_of.or(d.as_of);
    // A seed that would write nothing is a mistake, not a success that did nothing; users with
    // no venue to go to are refused by the generator. Both before anything is opened, and the
    // same rule as the API's seed (a 422 on `venues`).
    if d.venues == 0 {
        let what = if d.users == 0 {
            "--users 0 and --venues 0 would seed nothing"
        } else {
            "--venues 0 would seed users with nowhere to go"
        };
        let message = format!(
            "{what}: give --venues more than 0 (--users may be 0; they default to demo.users and demo.venues of \
             the settings)"
        );
        return Err(super::usage_error("seed", message).into());
    }

    let mut opts = demo_options(&settings, args.force);
    // Checked before the database is opened, so refused options leave no new database behind.
    opts.check(chrono::Utc::now()).map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
    let model_path = settings.model_path();
    // The model file is replaced (or removed) after the seed: one that cannot be is refused
    // before anything is written, not after minutes of seeding.
    super::check_output(&model_path, "the model file")?;
    let store = super::open_store(&settings).await?;
    let app = app::App::new(store, app_settings(&settings));
    // Taken once, so the anchor said here is the one seeded (an hour could turn in between).
    let anchor = opts.as_of.unwrap_or_else(|| app::seed::current_anchor(app.now()));
    opts.as_of = Some(anchor);
    eprintln!(
        "Seeding {} users and {} venues around {} (seed {}, history up to {}) into {}",
        opts.users,
        opts.venues,
        opts.city,
        opts.seed,
        domain::time::written(&anchor),
        crate::settings::redact_url(&settings.database_url())
    );
    let report = app.seed_city(opts, &BarProgress::new()).await.map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
    // A seed that wrote nothing did not do what it was asked, as one of nothing above: a
    // script going on (a simulation, a benchmark) would run on a city other than the one it
    // asked for. Non-zero, nothing on stdout; `--force` reseeds, `serve --demo` seeds only an
    // empty database.
    anyhow::ensure!(
        report.seeded,
        "the database already has data: nothing seeded. Use --force to reset and reseed it."
    );
    let model = model_for_the_new_city(&app.store, &settings, &report, args.no_train).await?;
    let mut shown = serde_json::to_value(&report)?;
    shown["model"] = serde_json::to_value(model)?;
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

/// The learned model written for the city just seeded (`model` in the JSON report).
#[derive(Debug, serde::Serialize)]
struct WrittenModel {
    path: String,
    users: usize,
    venues: usize,
    epochs: usize,
    factors: usize,
    seed: u64,
}

/// Trains the learned model on the city just seeded and writes it to the model file, as `luna
/// serve --demo` and `luna simulate` do after their seeds (the same settings, so the same model).
/// With `--no-train`, or no interactions to learn from, the model file left from the data before
/// is removed instead, saying so. A failed training removes it too and fails the command: the
/// city stays seeded, and `luna train` trains it.
async fn model_for_the_new_city(
    store: &store::DynStore,
    settings: &Settings,
    report: &app::seed::SeedReport,
    no_train: bool,
) -> anyhow::Result<Option<WrittenModel>> {
    let path = settings.model_path();
    let skipped = if no_train {
        Some("--no-train")
    } else if report.interactions == 0 {
        Some("the city has no interactions to learn from")
    } else {
        None
    };
    if let Some(why) = skipped {
        if remove_stale_model(&path)? {
            eprintln!(
                "Removed the model file {} (it was trained on the data before the seed and knows none of the new \
                 users); not trained ({why}): train with `luna train`",
                path.display()
            );
        }
        return Ok(None);
    }
    let cfg = engine::TrainConfig::default();
    eprintln!("Training the learned model on the seeded city (written to {})", path.display());
    let trained = match super::train::train_on_store(store, settings, cfg.clone()).await {
        Ok(model) => super::train::save_model(&model, &path).map(|()| model),
        Err(e) => Err(e),
    };
    match trained {
        Ok(model) => Ok(Some(WrittenModel {
            path: path.display().to_string(),
            users: model.users.len(),
            venues: model.venues.len(),
            epochs: cfg.epochs,
            factors: cfg.factors,
            seed: cfg.seed,
        })),
        Err(e) => {
            let removed = remove_stale_model(&path).unwrap_or(false);
            let note = if removed { "; the model file from before the seed was removed" } else { "" };
            anyhow::bail!(
                "the city was seeded, but training the learned model on it failed: {e:#}{note}; train it with `luna train`"
            )
        }
    }
}

/// Removes the model file at `path`; whether there was one.
fn remove_stale_model(path: &std::path::Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(anyhow::anyhow!(
            "the model file {} is from the data before the seed and could not be removed: {e}",
            path.display()
        )),
    }
}

/// An indicatif progress bar per stage. indicatif draws nothing when stderr is not a terminal
/// (a CI log, a pipe), so there every tenth of a stage is printed as a plain line instead.
struct BarProgress {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    plain: bool,
}

impl BarProgress {
    fn new() -> Self {
        Self { bar: std::sync::Mutex::new(None), plain: super::plain_progress() }
    }
}

impl app::seed::SeedProgress for BarProgress {
    fn begin(&self, stage: &str, total: u64) {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut b) = self.bar.lock()
            && let Some(old) = b.replace(bar)
        {
            old.finish();
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(b) = self.bar.lock()
            && let Some(bar) = b.as_ref()
        {
            let before = bar.position();
            bar.inc(n);
            if self.plain
                && let Some(line) = super::plain_line(&bar.message(), before, before + n, bar.length().unwrap_or(0))
            {
                eprintln!("{line}");
            }
        }
    }

    fn end(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish();
        }
    }
}
