//! `luna simulate`: runs the simulator headless against the configured store (the embedded
//! SQLite by default, or `DATABASE_URL`), with live progress and metrics, and writes a JSON
//! summary at the end. Same data, `--seed` and settings, same actions (the summary's
//! `action_log_hash`). An empty database is seeded first with a city of `--users` users, and
//! the learned model is trained on it (written to the model file) before the run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use app::sim::{RunOptions, ScenarioId, SimStatus, Simulator, Speed, SpeedInput, StopReason};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario: normal, lunch_rush, friday_night, weekend_brunch, concert_night,
    /// happy_hour_rush or new_user_onboarding; or its name as the dashboard shows it ("Lunch
    /// Rush", "Friday Night Out"), in any case, with spaces, `-` or `_`.
    #[arg(long, default_value = "normal", value_parser = parse_scenario)]
    pub scenario: ScenarioId,
    /// How many stored users act (the first in id order), 1 to 1,000,000.
    #[arg(long, default_value_t = 1000,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=app::sim::MAX_USERS as u64))]
    pub users: usize,
    /// Simulated seconds per wall second, 1 to 100, or `max` (as fast as the store allows).
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// Simulated time to run, such as 4h, 90m or 2d.
    #[arg(long, default_value = "4h")]
    pub duration: String,
    /// Random seed: the same seed, data and settings give the same actions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated start, RFC 3339 (default: the scenario's usual start at or after the end of the
    /// seeded history: demo.as_of when pinned, else the current hour). Give it to reproduce a run.
    #[arg(long)]
    pub start_at: Option<String>,
    /// Sessions in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Write the JSON summary to this file instead of stdout (missing folders are made, an
    /// existing file is replaced).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Refuse to run on an empty database instead of seeding a city first.
    #[arg(long)]
    pub no_seed: bool,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// A scenario by its id or its display name, as the API takes it ([`ScenarioId::find`]).
fn parse_scenario(s: &str) -> Result<ScenarioId, String> {
    ScenarioId::find(s)
}

fn run_options(args: &SimulateArgs) -> anyhow::Result<RunOptions> {
    let speed = Speed::parse(&SpeedInput::Text(args.speed.clone()), "speed")
        .map_err(|_| anyhow::anyhow!("--speed must be 1 to 100 or max, not {:?}", args.speed))?;
    let duration = app::sim::parse_duration(&args.duration).map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
    let start_at = match &args.start_at {
        Some(s) => Some(chrono::DateTime::parse_from_rfc3339(s).context("--start-at must be RFC 3339")?.to_utc()),
        None => None,
    };
    let opts = RunOptions {
        scenario: args.scenario,
        speed,
        users: args.users,
        seed: args.seed,
        duration: Some(duration),
        start_at,
        concurrency: args.concurrency,
        keep_log: 0,
    };
    // The same check as the API's (and `Simulator::start`'s), so a refusal comes before the
    // database is opened or seeded.
    opts.validate(chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The summary is written after the run: a file that cannot be written is refused now, not
    // after hours of simulation that changed the database.
    if let Some(path) = &args.summary {
        super::check_output(path, "--summary")?;
    }
    Ok(opts)
}

pub async fn run(mut settings: Settings, args: SimulateArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let opts = run_options(&args)?;
    // With --no-seed a data dir without a database is refused, not given a new empty one.
    let store =
        if args.no_seed { super::open_existing_store(&settings).await? } else { super::open_store(&settings).await? };
    let bus = super::open_bus(&settings, &store).await?;
    let mut app_settings = super::seed::app_settings(&settings);
    // A city seeded here gets its learned model trained on it, as `luna serve --demo` does:
    // the simulation's recommendations (and a server started on this data afterwards) would
    // otherwise rank with no learned model, or with a model file left from another city that
    // knows none of these users.
    app_settings.reco.train_after_seed = true;
    let app = app::App::with_bus(store, bus, app_settings);
    let db = crate::settings::redact_url(&settings.database_url());
    if app.store.counts().await.map_err(|e| anyhow::anyhow!("reading the database: {e}"))?.users == 0 {
        anyhow::ensure!(
            !args.no_seed,
            "the database at {db} has no users and --no-seed was given: seed one (`luna seed`) or import data \
             (`luna import`) first, or run without --no-seed"
        );
        seed_city(&app, &settings, args.users).await?;
    }
    // Recommendations come from the engine, built from the store and kept fresh by the run's
    // own events as under `luna serve`; events leave the outbox the same way.
    app.reload_engine().await.map_err(|e| anyhow::anyhow!("loading the recommendation engine: {e}"))?;
    let follower = app::reco::spawn_follower(app.clone());
    let relay = app.spawn_relay();
    let sim = Simulator::new(app.clone());
    eprintln!(
        "Simulating {} for {} at speed {} with up to {} users (seed {}) on {db}",
        opts.scenario.as_str(),
        args.duration,
        opts.speed,
        opts.users,
        opts.seed
    );
    let began = Instant::now();
    let started = sim.start(opts.clone(), None).await.map_err(|e| anyhow::anyhow!("starting the simulation: {e}"))?;
    let state = watch(&sim, started.ticks + opts.duration.map_or(0, |d| d.num_minutes() as u64)).await;
    let wall = began.elapsed().as_secs_f64();
    relay.abort();
    follower.abort();
    while let Ok(n) = app::relay::relay_once(&app.store, &app.bus).await {
        if n == 0 {
            break;
        }
    }
    let summary = json!({
        "settings": {
            "scenario": opts.scenario, "users": args.users, "speed": opts.speed, "duration": args.duration,
            "seed": opts.seed, "concurrency": opts.concurrency, "database": app.store.backend().as_str(),
        },
        "wall_seconds": wall,
        "state": state,
        "metrics": sim.metrics().await,
    });
    let text = serde_json::to_string_pretty(&summary)?;
    match &args.summary {
        Some(path) => super::write_output(path, text + "\n")?,
        None => println!("{text}"),
    }
    outcome(&state)
}

/// How the run ended, as the command's result: an error (a non-zero exit, as every command
/// reports a failure) unless it reached the end of its duration. A run that broke down says it
/// failed, not only that it stopped early.
fn outcome(state: &app::sim::SimState) -> anyhow::Result<()> {
    match (state.status, state.stop_reason) {
        (SimStatus::Finished, _) => Ok(()),
        (_, Some(StopReason::Failed)) => anyhow::bail!(
            "the simulation failed after {} simulated minutes: its run broke down (the log above says why); the \
             summary holds what it did until then",
            state.ticks
        ),
        (_, Some(reason)) => anyhow::bail!(
            "the simulation was stopped before the end ({}) after {} simulated minutes",
            serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            state.ticks
        ),
        (_, None) => anyhow::bail!("the simulation was stopped before the end after {} simulated minutes", state.ticks),
    }
}

/// Seeds a city of `users` users (half as many venues, like the demo city) into an empty database.
async fn seed_city(app: &app::App, settings: &Settings, users: usize) -> anyhow::Result<()> {
    let mut opts = super::seed::demo_options(settings, false);
    opts.users = users.max(opts.users);
    opts.venues = (opts.users / 2).max(opts.venues);
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("The database is empty: seeding {} users and {} venues", opts.users, opts.venues));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let report = app.seed_demo(opts).await.map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
    spinner.finish_with_message(format!("Seeded {} users and {} venues", report.users, report.venues));
    // The seed started training the learned model on the new city (`train_after_seed`): the run
    // starts with it, as `luna serve --demo` starts with its model.
    if report.seeded {
        eprintln!("Training the learned model on the seeded city");
        let state = app.wait_for_training().await;
        if let Some(error) = state.last.and_then(|l| l.error) {
            anyhow::bail!("training the learned model on the seeded city: {error}");
        }
    }
    Ok(())
}

/// Shows progress until the run ends (Ctrl-C stops it); returns the final state. Where stderr
/// is not a terminal (a pipe, a log), every tenth of the simulated time is a plain line.
async fn watch(sim: &Simulator, total_ticks: u64) -> app::sim::SimState {
    let (plain, mut shown) = (super::plain_progress(), 0);
    let bar = ProgressBar::new(total_ticks);
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} sim min  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    let wait = sim.wait();
    tokio::pin!(wait);
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            state = &mut wait => {
                bar.finish();
                // A run shorter than a tick of this watch still says how far it went.
                if plain && let Some(line) = super::plain_line("simulated minutes", shown, state.ticks, total_ticks) {
                    eprintln!("{line}");
                }
                return state;
            }
            _ = tokio::signal::ctrl_c() => {
                eprintln!("Stopping the simulation");
                let _ = sim.stop().await;
            }
            _ = ticker.tick() => {
                let (s, m) = (sim.state().await, sim.metrics().await);
                bar.set_position(s.ticks);
                let time = s.simulation_time.map(|t| t.format("%a %H:%M UTC").to_string()).unwrap_or_default();
                let message = format!(
                    "{time}  {} actions  {:.0}/s  writes {:.0}%  skipped {}  failures {}",
                    m.actions_total,
                    m.recent_actions_per_second,
                    m.write_share * 100.0,
                    m.skipped_unavailable.values().sum::<u64>(),
                    m.failures.total
                );
                if plain && let Some(line) = super::plain_line("simulated minutes", shown, s.ticks, total_ticks) {
                    eprintln!("{line}  {message}");
                    shown = s.ticks;
                }
                bar.set_message(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn options(extra: &[&str]) -> anyhow::Result<RunOptions> {
        let cli = Cli::try_parse_from(["luna"].iter().chain(extra)).expect("arguments parse");
        run_options(&cli.args)
    }

    #[test]
    fn a_start_at_outside_the_year_2000_to_the_booking_horizon_is_refused_as_the_api_refuses_it() {
        let year_one = options(&["--start-at", "0001-01-01T00:00:00Z", "--duration", "6h"]).unwrap_err();
        assert!(year_one.to_string().contains("start_at"), "{year_one}");
        let far = (chrono::Utc::now() + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD + 1)).to_rfc3339();
        assert!(options(&["--start-at", &far]).unwrap_err().to_string().contains("start_at"));
        let late = (chrono::Utc::now() + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD - 1)).to_rfc3339();
        assert!(options(&["--start-at", &late, "--duration", "2d"]).unwrap_err().to_string().contains("duration"));
        assert!(options(&["--start-at", "2026-11-20T12:00:00Z", "--duration", "6h"]).is_ok());
    }

    /// Review: "Lunch  Rush" (two spaces, as a pasted or mistyped name may have) was refused,
    /// since each space became its own `_`. Runs of spaces, tabs, `-` and `_` count as one.
    #[test]
    fn a_scenario_name_with_repeated_spaces_or_mixed_separators_is_found() {
        for name in ["Lunch  Rush", " lunch \t RUSH ", "lunch - rush", "LUNCH__RUSH", "Lunch Rush", "lunch_rush"] {
            assert_eq!(parse_scenario(name), Ok(ScenarioId::LunchRush), "{name:?}");
        }
        assert_eq!(parse_scenario("friday   night-out"), Ok(ScenarioId::FridayNight));
        assert!(parse_scenario("lunchrush").is_err());
        assert!(parse_scenario("  ").is_err());
    }

    fn ended(status: SimStatus, stop_reason: Option<StopReason>) -> app::sim::SimState {
        // The idle state with what the report reads: how it ended, its seed, users and minutes.
        app::sim::SimState {
            status,
            seed: Some(42),
            active_users: 10,
            ticks: 17,
            stop_reason,
            ..app::sim::idle_state()
        }
    }

    /// Review: a run whose task panicked (`StopReason::Failed`, 94c0ac2) ended the command with
    /// "stopped before the end", as if Ctrl-C had stopped it. It now says the run failed; like
    /// every early stop it is an error (a non-zero exit, as the other commands report failures).
    #[test]
    fn a_failed_run_is_reported_as_failed_and_an_error() {
        let failed = outcome(&ended(SimStatus::Stopped, Some(StopReason::Failed))).unwrap_err().to_string();
        assert!(failed.contains("failed") && failed.contains("17 simulated minutes"), "{failed}");
        assert!(!failed.contains("stopped before the end"), "{failed}");
        let asked = outcome(&ended(SimStatus::Stopped, Some(StopReason::Requested))).unwrap_err().to_string();
        assert!(asked.contains("stopped before the end (requested)") && !asked.contains("failed"), "{asked}");
        assert!(outcome(&ended(SimStatus::Finished, None)).is_ok());
    }

    /// QA: `--summary` in a folder that does not exist failed only after the whole run, which had
    /// written its actions to the database, and the summary was lost. A missing folder is now
    /// made when the summary is written (as `luna train --out` does); one under a file is refused.
    #[test]
    fn a_summary_file_that_cannot_be_written_is_refused_before_the_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("a file");
        let under_a_file = file.join("summary.json");
        let err = options(&["--summary", under_a_file.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains("--summary") && err.contains("is not a folder"), "{err}");
        let err = options(&["--summary", dir.path().to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
        assert!(options(&["--summary", dir.path().join("summary.json").to_str().unwrap()]).is_ok());
        assert!(options(&["--summary", dir.path().join("new/summary.json").to_str().unwrap()]).is_ok());
        assert!(!dir.path().join("summary.json").exists(), "the check leaves no file behind");
        assert!(!dir.path().join("new").exists(), "the check makes no folder");
    }
}
