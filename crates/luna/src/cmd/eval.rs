//! `luna eval`: splits an interaction log by time, builds the engine on the past, and measures
//! every ranker (popularity, seed2, default, learned) on the future: a table on the terminal,
//! optionally a JSON report and an SVG chart. The log comes from the configured store (seeded
//! or imported data) or, with `--synth`, from a generated city held in memory; `--ceiling` adds
//! that city's oracles, the rankings of its hidden ground truth; `--ablate` ranks with the
//! default ranker once more per signal, that signal's weight at 0, and says what each adds.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use engine::eval::{
    Dataset, EvalConfig, EvalStep, ExternalRanker, evaluate_observed, render_svg, render_table, split_instant,
};
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Generate a city in memory instead of reading the store.
    #[arg(long)]
    pub synth: bool,
    /// Users of the generated city (with --synth; at least 1).
    #[arg(long, default_value_t = 5000, value_parser = at_least_one, requires = "synth")]
    pub users: usize,
    /// Venues of the generated city (with --synth; at least 1).
    #[arg(long, default_value_t = 500, value_parser = at_least_one, requires = "synth")]
    pub venues: usize,
    /// Also rank by the generated city's hidden ground truth (with --synth): the ceilings
    /// `oracle_exact`, `oracle_fair` and `oracle_taste` (see `synth::Oracle`).
    #[arg(long)]
    pub ceiling: bool,
    /// Also rank with the default ranker once per signal, that signal's weight set to 0 (rows
    /// `default-<signal>`), and print what each signal adds to its NDCG.
    #[arg(long)]
    pub ablate: bool,
    /// Seed of the generated city, the user sample and the model training.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Cut-off of the ranked lists (at least 1).
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub k: usize,
    /// Latest share of the log's time span used as the test period (unless --split-at is given),
    /// between 0 and 1 exclusive.
    #[arg(long, default_value_t = 0.2, value_parser = fraction)]
    pub test_fraction: f64,
    /// Train on the log before this instant and test on the rest (RFC 3339, such as
    /// 2026-10-20T00:00:00Z), instead of --test-fraction.
    #[arg(long, value_parser = super::parse_instant, conflicts_with = "test_fraction")]
    pub split_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Interaction types that make a venue relevant in the test period, comma-separated
    /// (default like,interest,save,visit).
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    pub relevant: Vec<domain::InteractionType>,
    /// Evaluate at most this many test users (at least 1).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one)]
    pub max_users: usize,
    /// Training epochs of the learned model (1 to 10,000, as `luna train` takes).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub epochs: Option<usize>,
    /// Write the report as JSON here (missing folders are made, an existing file is replaced).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Draw the report as an SVG chart here (missing folders are made, an existing file is
    /// replaced).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

pub async fn run(mut settings: Settings, args: EvalArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    // One file for both would hold the chart alone, after saying the report was written there.
    if let (Some(json), Some(svg)) = (&args.json, &args.svg)
        && same_file(json, svg)
    {
        let message = format!("--json and --svg both name {}: give each its own file", json.display());
        return Err(super::usage_error("eval", message).into());
    }
    // Before the evaluation, which can take minutes, and before either file is written.
    for (path, flag) in [(&args.json, "--json"), (&args.svg, "--svg")] {
        if let Some(path) = path {
            super::check_output(path, flag)?;
        }
    }
    anyhow::ensure!(
        args.synth || !args.ceiling,
        "--ceiling needs --synth: the ceilings come from a generated city's hidden tastes"
    );
    let city = if args.synth {
        Some(synth::City::new(synth::CityConfig::new(args.seed, args.users, args.venues)).context("city settings")?)
    } else {
        None
    };
    let ds = match &city {
        Some(city) => synth_dataset(city),
        None => store_dataset(&settings).await?,
    };
    eprintln!(
        "Evaluating on {} users, {} venues, {} edges, {} interactions",
        ds.users.len(),
        ds.venues.len(),
        ds.edges.len(),
        ds.interactions.len()
    );
    anyhow::ensure!(
        !ds.interactions.is_empty(),
        if args.synth {
            "the generated city has no interactions to evaluate on: give it users and venues (--users, --venues)"
        } else {
            "no interactions to evaluate on (seed or import some first)"
        }
    );
    let mut cfg = EvalConfig {
        k: args.k,
        test_fraction: args.test_fraction,
        max_users: args.max_users,
        settings: settings.engine.clone(),
        seed: args.seed,
        split_at: args.split_at,
        ablate: args.ablate,
        ..EvalConfig::default()
    };
    if !args.relevant.is_empty() {
        cfg.relevant = args.relevant.clone();
    }
    let split = split_instant(&ds, &cfg);
    let trained = ds.interactions.iter().filter(|i| i.occurred_at < split).count();
    anyhow::ensure!(
        trained > 0 && trained < ds.interactions.len(),
        "the split at {} leaves no interactions to {} (the log runs from {} to {})",
        domain::time::written(&split),
        if trained == 0 { "train on" } else { "test on" },
        domain::time::written(&ds.interactions.iter().map(|i| i.occurred_at).min().unwrap_or(split)),
        domain::time::written(&ds.interactions.iter().map(|i| i.occurred_at).max().unwrap_or(split)),
    );
    anyhow::ensure!(
        ds.interactions.iter().any(|i| i.occurred_at >= split && cfg.relevant.contains(&i.interaction_type)),
        "no {} interactions from the split at {} on: nothing to test on",
        cfg.relevant.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" or "),
        domain::time::written(&split)
    );
    cfg.train.seed = args.seed;
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    // The JSON report records what it was run with: reports with another relevance, seed or
    // split would otherwise look alike.
    let run_settings = serde_json::json!({
        "source": if args.synth { "synth" } else { "store" },
        "users": args.synth.then_some(args.users),
        "venues": args.synth.then_some(args.venues),
        "seed": args.seed,
        "k": cfg.k,
        "relevant": cfg.relevant.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "split_at": args.split_at.as_ref().map(domain::time::written),
        "test_fraction": if args.split_at.is_some() { None } else { Some(args.test_fraction) },
        "max_users": cfg.max_users,
        "epochs": cfg.train.epochs,
        "ablate": args.ablate,
        "ceiling": args.ceiling,
    });
    let bar = spinner("building the engine on the past");
    let ceiling = args.ceiling;
    let shown = bar.clone();
    let report = tokio::task::spawn_blocking(move || {
        let external = match &city {
            Some(city) if ceiling => ceilings(city, &ds, &cfg),
            _ => Vec::new(),
        };
        let mut users = 0;
        evaluate_observed(&ds, &cfg, &external, |step| show_step(&shown, step, &mut users))
    })
    .await
    .context("evaluation task")?;
    bar.finish_and_clear();
    println!("{}", render_table(&report));
    if args.ablate {
        println!("{}", render_ablation(&report));
    }
    if let Some(path) = &args.json {
        let mut json = serde_json::to_value(&report)?;
        json["settings"] = run_settings;
        super::write_output(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("JSON report written to {}", path.display());
    }
    if let Some(path) = &args.svg {
        super::write_output(path, render_svg(&report))?;
        eprintln!("SVG chart written to {}", path.display());
    }
    Ok(())
}

/// What each signal adds to the default ranker's NDCG@k: the default's NDCG less that of the
/// default without the signal, largest first (negative: the signal costs NDCG on this data).
fn render_ablation(report: &engine::eval::EvalReport) -> String {
    let Some(full) = report.ranker(engine::Ranker::Default) else { return String::new() };
    let mut rows: Vec<(&str, f64)> = report
        .rankers
        .iter()
        .filter_map(|m| m.ranker.strip_prefix("default-").map(|signal| (signal, full.ndcg - m.ndcg)))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = format!("what each signal adds to the default ranker's ndcg@k ({:.4}):\n", full.ndcg);
    for (signal, adds) in rows {
        // A share of nothing says nothing: without any NDCG, the differences alone.
        let share = if full.ndcg > 0.0 { format!(" ({:+.1}%)", 100.0 * adds / full.ndcg) } else { String::new() };
        out += &format!("  {signal:<12} {adds:+.4}{share}\n");
    }
    out
}

/// Every user, venue, edge and interaction of the configured store.
pub async fn store_dataset(settings: &Settings) -> anyhow::Result<Dataset> {
    let store = super::open_existing_store(settings).await?;
    let spinner = spinner("reading the store");
    let mut ds = Dataset::default();
    // Evaluations ask from home: no live location is read, and no booking change remembered.
    let now = chrono::Utc::now();
    app::reco::scan_store(&store, &mut ds, now, now).await.map_err(|e| anyhow::anyhow!("reading the store: {e}"))?;
    spinner.finish_and_clear();
    Ok(ds)
}

/// A generated city's data, in memory.
pub fn synth_dataset(city: &synth::City) -> Dataset {
    let mut ds = Dataset { venues: city.venues(), ..Dataset::default() };
    let bar = ProgressBar::new(city.user_count() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("generating");
    let plain = super::plain_progress();
    city.for_each_chunk(2_000, |c| {
        let before = bar.position();
        bar.inc(c.users.len() as u64);
        if plain
            && let Some(line) = super::plain_line("generating users", before, bar.position(), city.user_count() as u64)
        {
            eprintln!("{line}");
        }
        ds.users.extend(c.users);
        ds.preferences.extend(c.preferences);
        ds.edges.extend(c.edges);
        ds.interactions.extend(c.interactions);
        ds.interests.extend(c.interests);
    });
    bar.finish_and_clear();
    ds
}

/// What the ceilings know of each user's past at the split: index in the city (the data
/// set's order), venues touched (sorted indices) and interaction count.
struct Pasts {
    users: HashMap<Uuid, usize>,
    touched: Vec<Vec<usize>>,
    interactions: Vec<usize>,
}

/// The city's oracles as rankings of `ds` (generated from `city`, in its order).
fn ceilings<'a>(city: &'a synth::City, ds: &'a Dataset, cfg: &EvalConfig) -> Vec<ExternalRanker<'a>> {
    let split = split_instant(ds, cfg);
    let users: HashMap<Uuid, usize> = ds.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let venues: HashMap<Uuid, usize> = ds.venues.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    let mut touched = vec![Vec::new(); ds.users.len()];
    let mut interactions = vec![0; ds.users.len()];
    for i in ds.interactions.iter().filter(|i| i.occurred_at < split) {
        if let (Some(&u), Some(&v)) = (users.get(&i.user_id), venues.get(&i.venue_id)) {
            touched[u].push(v);
            interactions[u] += 1;
        }
    }
    for t in &mut touched {
        t.sort_unstable();
        t.dedup();
    }
    let pasts = Arc::new(Pasts { users, touched, interactions });
    synth::Oracle::ALL
        .into_iter()
        .map(|oracle| {
            let pasts = pasts.clone();
            let rank = move |user: Uuid, split: chrono::DateTime<chrono::Utc>, k: usize| -> Vec<Uuid> {
                let Some(&u) = pasts.users.get(&user) else { return Vec::new() };
                let past = synth::Past { touched: &pasts.touched[u], interactions: pasts.interactions[u] };
                let top = city.oracle_ranking(oracle, u, split.timestamp_millis(), past, k);
                top.into_iter().map(|v| ds.venues[v].id).collect()
            };
            ExternalRanker { name: oracle.as_str().to_string(), rank: Box::new(rank) }
        })
        .collect()
}

/// A whole number of at least 1, as a clap value parser.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number of at least 1".into()),
    }
}

/// A share strictly between 0 and 1, as a clap value parser (NaN is not one).
fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f > 0.0 && f < 1.0 => Ok(f),
        _ => Err("must be a number between 0 and 1, exclusive (such as 0.2)".into()),
    }
}

fn parse_kind(s: &str) -> Result<domain::InteractionType, String> {
    domain::InteractionType::parse(s.trim()).ok_or_else(|| {
        let known: Vec<&str> = domain::InteractionType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown interaction type `{s}` (one of {})", known.join(", "))
    })
}

/// Moves the evaluation's bar on: a spinner while building, then a bar over every ranking asked
/// (test users times rankings), training epochs said on the way; plain lines without a terminal.
fn show_step(bar: &ProgressBar, step: EvalStep<'_>, users: &mut usize) {
    let plain = super::plain_progress();
    match step {
        EvalStep::Built { users: n, rankers } => {
            *users = n;
            bar.set_style(
                ProgressStyle::with_template("{msg:>24} [{bar:40}] {human_pos}/{human_len} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_length((n * rankers) as u64);
            bar.set_message(format!("{n} test users"));
            if plain {
                eprintln!("built the engine on the past: {n} test users, {rankers} rankings each");
            }
        }
        EvalStep::Trained { epoch, epochs } => {
            bar.set_message(format!("training {epoch}/{epochs}"));
            if plain {
                eprintln!("training the learned model: epoch {epoch}/{epochs}");
            }
        }
        EvalStep::Ranked { ranker, index, done } => {
            let before = bar.position();
            bar.set_message(ranker.to_string());
            bar.set_position((index * *users + done) as u64);
            if plain && let Some(line) = super::plain_line("ranking", before, bar.position(), bar.length().unwrap_or(0))
            {
                eprintln!("{line} ({ranker})");
            }
        }
    }
}

/// Whether two output paths name one file, written alike or not (`r.json` and `./r.json`,
/// `out/r.json` and `out/new/../r.json`, a path through a symbolic link), whether it exists yet
/// or not: each is resolved as far as it exists, the rest taken as written.
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || resolved(a) == resolved(b)
}

/// Where `path` leads: absolute, its existing part resolved (symbolic links, `..`), each part
/// beyond taken as written (`.` dropped, `..` going up a folder, as making the folders would).
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            part => out.push(part),
        }
        if let Ok(real) = std::fs::canonicalize(&out) {
            out = real;
        }
    }
    out
}

pub fn spinner(msg: &str) -> ProgressBar {
    let s = ProgressBar::new_spinner();
    s.set_message(msg.to_string());
    s.enable_steady_tick(Duration::from_millis(120));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ranker: &str, ndcg: f64) -> serde_json::Value {
        serde_json::json!({"ranker": ranker, "precision": 0.1, "recall": 0.5, "ndcg": ndcg, "map": 0.3,
            "coverage": 0.9, "novelty": 8.0, "mean_latency_us": 300.0, "p99_latency_us": 400.0})
    }

    /// QA after 63c4a0f: `--json r.json --svg ./r.json` (or through `..` or a symbolic link)
    /// named one new file in two spellings; only the same spelling, or a file already there, was
    /// caught, so the chart replaced the report said written.
    #[test]
    fn two_spellings_of_one_output_file_are_the_same_file_whether_it_exists_or_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).expect("a folder");
        std::os::unix::fs::symlink(d.join("sub"), d.join("link")).expect("a symbolic link");
        let report = d.join("sub/r.json");
        for other in ["sub/./r.json", "sub/new/../r.json", "link/r.json", "sub/../sub/r.json", "link/../sub/r.json"] {
            assert!(same_file(&report, &d.join(other)), "{other} (not there yet)");
        }
        assert!(same_file(&d.join("out/r.json"), &d.join("out/x/../r.json")), "under a folder not there yet");
        for other in ["sub/r.svg", "r.json", "link/new/r.json", "sub/r.json/x"] {
            assert!(!same_file(&report, &d.join(other)), "{other}");
        }
        std::fs::write(&report, "{}").expect("the report");
        assert!(same_file(&report, &d.join("link/./r.json")), "once there");
    }

    #[test]
    fn the_ablation_summary_gives_what_each_signal_adds_largest_first() {
        let report = serde_json::json!({"k": 10, "split_at": "2026-11-02T00:00:00Z", "train_interactions": 9,
            "test_interactions": 3, "users_evaluated": 2, "catalogue": 5, "build_seconds": 0.1, "train_seconds": 0.1,
            "rankers": [row("seed2", 0.3), row("default", 0.4), row("default-context", 0.41),
                row("default-history", 0.3), row("default-social", 0.38)]});
        let report: engine::eval::EvalReport = serde_json::from_value(report).expect("a report");
        let lines: Vec<String> = render_ablation(&report).lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(
            lines[1..],
            ["history+0.1000(+25.0%)", "social+0.0200(+5.0%)", "context-0.0100(-2.5%)"],
            "{lines:?}"
        );
        assert!(lines[0].contains("(0.4000)"), "{lines:?}");
        let mut nothing = report.clone();
        nothing.rankers.iter_mut().for_each(|m| m.ndcg = 0.0);
        assert!(render_ablation(&nothing).lines().skip(1).all(|l| l.trim().ends_with("+0.0000")), "no share of 0");
    }
}
