//! Offline evaluation. An interaction log is split by time: the engine is built and the model
//! trained on the past only, then each ranker recommends top-k venues to users who have
//! positive interactions in the future, ranking over the full catalogue as it stood at the split
//! (candidate generation included, no sampled negatives). Reports precision@k, recall@k, NDCG@k,
//! MAP@k, hits on venues the user returns to and on venues new to them, catalogue coverage,
//! novelty and latency per ranker; [`render_svg`] and [`render_table`] draw it. An ablation
//! ([`EvalConfig::ablate`]) ranks again with the default ranker once per signal, that signal's
//! weight set to 0 (`default-<signal>`): what each adds on this data.
//! [`evaluate_with`] measures outside rankings (a generator's oracles) beside them.

mod metrics;
mod svg;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use domain::{Interaction, InteractionType, SocialEdge, User, UserPreferences, Venue, VenueInterest};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use metrics::{ListMetrics, list_metrics};
pub use svg::render_svg;

use crate::model::{TrainConfig, train_bpr_with_progress};
use crate::settings::EngineSettings;
use crate::types::{Ranker, VenueQuery};
use crate::{Engine, EngineBuilder};

/// An evaluation data set: any source (the generated city, an import) in domain values.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub users: Vec<User>,
    pub preferences: Vec<(Uuid, UserPreferences)>,
    pub venues: Vec<Venue>,
    pub edges: Vec<SocialEdge>,
    pub interactions: Vec<Interaction>,
    pub interests: Vec<VenueInterest>,
}

/// How to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Cut-off of the ranked lists.
    pub k: usize,
    /// Share of the log's time span used as the test period (the latest part), when
    /// `split_at` is not given.
    pub test_fraction: f64,
    /// Explicit split instant: train before, test from.
    pub split_at: Option<DateTime<Utc>>,
    /// Evaluate at most this many test users (a deterministic sample).
    pub max_users: usize,
    /// Interaction types that make a venue relevant in the test period.
    pub relevant: Vec<InteractionType>,
    /// Rankers to evaluate, in report order.
    pub rankers: Vec<Ranker>,
    /// Engine settings (the default ranker's weights).
    pub settings: EngineSettings,
    /// With the default ranker among `rankers`, also rank with it once per signal of non-zero
    /// weight, that weight set to 0, reported as `default-<signal>` after the rankers.
    pub ablate: bool,
    /// Training of the learned model on the past.
    pub train: TrainConfig,
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            k: 10,
            test_fraction: 0.2,
            split_at: None,
            max_users: 2000,
            relevant: vec![
                InteractionType::Like,
                InteractionType::Interest,
                InteractionType::Save,
                InteractionType::Visit,
            ],
            rankers: Ranker::ALL.to_vec(),
            settings: EngineSettings::default(),
            ablate: false,
            train: TrainConfig::default(),
            seed: 7,
        }
    }
}

/// One ranker's averages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerMetrics {
    pub ranker: String,
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub map: f64,
    /// Mean hits in the top k on venues the user had interacted with before the split: returns.
    #[serde(default)]
    pub hits_returning: f64,
    /// Mean hits in the top k on venues new to the user at the split: discoveries.
    #[serde(default)]
    pub hits_new: f64,
    /// Distinct venues recommended over the alive catalogue.
    pub coverage: f64,
    /// Mean self-information `-log2 p(venue)` of recommended venues (p from training counts).
    pub novelty: f64,
    pub mean_latency_us: f64,
    pub p99_latency_us: f64,
}

/// The evaluation result (serializable to JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub k: usize,
    pub split_at: DateTime<Utc>,
    pub train_interactions: usize,
    pub test_interactions: usize,
    pub users_evaluated: usize,
    pub catalogue: usize,
    pub build_seconds: f64,
    pub train_seconds: f64,
    pub rankers: Vec<RankerMetrics>,
}

impl EvalReport {
    /// The metrics of one ranker, if evaluated.
    pub fn ranker(&self, r: Ranker) -> Option<&RankerMetrics> {
        self.ranker_named(r.as_str())
    }

    /// The metrics of the ranking named `name` (a ranker, an ablation, an outside ranking).
    pub fn ranker_named(&self, name: &str) -> Option<&RankerMetrics> {
        self.rankers.iter().find(|m| m.ranker == name)
    }
}

/// The split instant: explicit, or the start of the last `test_fraction` of the time span.
pub fn split_instant(ds: &Dataset, cfg: &EvalConfig) -> DateTime<Utc> {
    if let Some(t) = cfg.split_at {
        return t;
    }
    let lo = ds.interactions.iter().map(|i| i.occurred_at).min().unwrap_or_else(Utc::now);
    let hi = ds.interactions.iter().map(|i| i.occurred_at).max().unwrap_or(lo);
    let span = (hi - lo).num_seconds() as f64;
    lo + chrono::Duration::seconds((span * (1.0 - cfg.test_fraction.clamp(0.0, 1.0))) as i64)
}

/// Builds an engine from everything in `ds` that happened before `split`: venues opened and ties
/// made later are left out. A venue someone interacted with before the split existed then,
/// whatever its date says (rows loaded without a date carry the time they were loaded).
pub fn build_until(ds: &Dataset, split: DateTime<Utc>, settings: &EngineSettings) -> Engine {
    let seen: std::collections::HashSet<Uuid> =
        ds.interactions.iter().filter(|i| i.occurred_at < split).map(|i| i.venue_id).collect();
    let mut b = EngineBuilder::new(settings.clone());
    b.reserve(ds.users.len(), ds.venues.len());
    let prefs: HashMap<Uuid, &UserPreferences> = ds.preferences.iter().map(|(id, p)| (*id, p)).collect();
    for u in &ds.users {
        b.add_user(u, prefs.get(&u.id).copied());
    }
    for v in ds.venues.iter().filter(|v| v.created_at < split || seen.contains(&v.id)) {
        b.add_venue(v);
    }
    for e in ds.edges.iter().filter(|e| e.created_at < split) {
        b.add_edge(e);
    }
    for i in ds.interactions.iter().filter(|i| i.occurred_at < split) {
        b.add_interaction(i);
    }
    for i in ds.interests.iter().filter(|i| i.created_at < split) {
        b.add_interest(i);
    }
    b.build()
}

/// An external ranking: the top `k` venue ids for a test user, given the split instant.
pub type ExternalRank<'a> = Box<dyn Fn(Uuid, DateTime<Utc>, usize) -> Vec<Uuid> + 'a>;

/// A ranking from outside the engine (a generator's ground truth, another system), evaluated
/// on the same users and split as the engine's rankers.
pub struct ExternalRanker<'a> {
    /// The name the report gives it.
    pub name: String,
    pub rank: ExternalRank<'a>,
}

/// Runs the evaluation.
pub fn evaluate(ds: &Dataset, cfg: &EvalConfig) -> EvalReport {
    evaluate_with(ds, cfg, &[])
}

/// Runs the evaluation, with `external` rankings reported after the engine's rankers.
pub fn evaluate_with(ds: &Dataset, cfg: &EvalConfig, external: &[ExternalRanker<'_>]) -> EvalReport {
    evaluate_observed(ds, cfg, external, |_| {})
}

/// How far an evaluation has come, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvalStep<'a> {
    /// The engine holds the past; ranking will ask `users` users of each of `rankers` rankings.
    Built { users: usize, rankers: usize },
    /// The learned model finished this epoch of `epochs`.
    Trained { epoch: usize, epochs: usize },
    /// `done` of the test users were ranked by `ranker`, the report's `index`th ranking.
    Ranked { ranker: &'a str, index: usize, done: usize },
}

/// [`evaluate_with`], calling `progress` after the build, each training epoch and every test
/// user ranked.
pub fn evaluate_observed(
    ds: &Dataset,
    cfg: &EvalConfig,
    external: &[ExternalRanker<'_>],
    mut progress: impl FnMut(EvalStep<'_>),
) -> EvalReport {
    let split = split_instant(ds, cfg);
    let t = Instant::now();
    let engine = build_until(ds, split, &cfg.settings);
    let build_seconds = t.elapsed().as_secs_f64();
    // Relevant future venues per user.
    let mut future: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut test_interactions = 0;
    for i in ds.interactions.iter().filter(|i| i.occurred_at >= split) {
        test_interactions += 1;
        if cfg.relevant.contains(&i.interaction_type) {
            future.entry(i.user_id).or_default().push(i.venue_id);
        }
    }
    let mut users: Vec<(u64, Uuid)> = future
        .keys()
        .filter(|u| engine.has_user(**u))
        .map(|u| (crate::util::SplitMix64::new(cfg.seed ^ u.as_u128() as u64).next_u64(), *u))
        .collect();
    users.sort_unstable();
    users.truncate(cfg.max_users);
    let ablations =
        if cfg.ablate && cfg.rankers.contains(&Ranker::Default) { ablations(&cfg.settings) } else { vec![] };
    let rankings = cfg.rankers.len() + ablations.len() + external.len();
    progress(EvalStep::Built { users: users.len(), rankers: rankings });
    let t = Instant::now();
    if cfg.rankers.iter().any(|r| matches!(r, Ranker::Default | Ranker::Learned)) {
        let epochs = cfg.train.epochs;
        let model = train_bpr_with_progress(&engine, &cfg.train, |r| {
            progress(EvalStep::Trained { epoch: r.epoch, epochs });
        });
        engine.set_model(&model);
    }
    let train_seconds = t.elapsed().as_secs_f64();
    let st = engine.load();
    let total: f64 = (0..st.n_venues()).filter_map(|v| st.vdyn(v)).map(|d| f64::from(d.total)).sum();
    let catalogue = (0..st.n_venues()).filter(|&v| st.live_venue(v).is_some()).count();
    let info = |id: &Uuid| -> f64 {
        let n = st.venue_idx(id).and_then(|v| st.vdyn(v)).map_or(0.0, |d| f64::from(d.total));
        -((n + 1.0) / (total + catalogue as f64)).log2()
    };
    // The engine was built with `cfg.settings`; an ablation ranks with its own.
    let engine_rank = |ranker: Ranker, settings: &'_ EngineSettings| {
        let engine = &engine;
        let settings = settings.clone();
        move |uid: Uuid, k: usize| -> Vec<Uuid> {
            let mut q = VenueQuery::new(uid, k, ranker);
            q.now = Some(split);
            q.time = Some(split);
            let ranked = engine.recommend_venues_with(&settings, &q).unwrap_or_default();
            ranked.iter().map(|r| r.venue_id).collect()
        }
    };
    // Each ranker by name, as the top `k` venue ids for a test user.
    type Ranking<'b> = Box<dyn Fn(Uuid, usize) -> Vec<Uuid> + 'b>;
    let mut runs: Vec<(String, Ranking<'_>)> = Vec::new();
    for &ranker in &cfg.rankers {
        runs.push((ranker.as_str().to_string(), Box::new(engine_rank(ranker, &cfg.settings))));
    }
    for (name, settings) in &ablations {
        runs.push((name.clone(), Box::new(engine_rank(Ranker::Default, settings))));
    }
    for x in external {
        runs.push((x.name.clone(), Box::new(move |uid, k| (x.rank)(uid, split, k))));
    }
    let mut rankers = Vec::new();
    for (index, (name, rank)) in runs.into_iter().enumerate() {
        let mut sum = ListMetrics::default();
        let mut seen: HashMap<Uuid, ()> = HashMap::new();
        let (mut novelty, mut n_items) = (0.0, 0usize);
        let (mut returning, mut new) = (0usize, 0usize);
        let mut lat = Vec::with_capacity(users.len());
        for (done, (_, uid)) in users.iter().enumerate() {
            if done % 64 == 0 {
                progress(EvalStep::Ranked { ranker: &name, index, done });
            }
            let mut rel = future[uid].clone();
            rel.sort_unstable();
            rel.dedup();
            let t = Instant::now();
            let ids = rank(*uid, cfg.k);
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            let m = list_metrics(&ids, &rel, cfg.k);
            sum.precision += m.precision;
            sum.recall += m.recall;
            sum.ndcg += m.ndcg;
            sum.ap += m.ap;
            // A return if the engine, built on the past, holds the user's history with the venue.
            let past = st.user_idx(uid).and_then(|u| st.user(u));
            for id in ids.iter().take(cfg.k).filter(|id| rel.binary_search(id).is_ok()) {
                if past.zip(st.venue_idx(id)).is_some_and(|(p, v)| p.agg(v).is_some()) {
                    returning += 1;
                } else {
                    new += 1;
                }
            }
            for id in &ids {
                seen.insert(*id, ());
                novelty += info(id);
                n_items += 1;
            }
        }
        progress(EvalStep::Ranked { ranker: &name, index, done: users.len() });
        let n = users.len().max(1) as f64;
        lat.sort_by(f64::total_cmp);
        rankers.push(RankerMetrics {
            ranker: name,
            precision: sum.precision / n,
            recall: sum.recall / n,
            ndcg: sum.ndcg / n,
            map: sum.ap / n,
            hits_returning: returning as f64 / n,
            hits_new: new as f64 / n,
            coverage: seen.len() as f64 / catalogue.max(1) as f64,
            novelty: novelty / n_items.max(1) as f64,
            mean_latency_us: lat.iter().sum::<f64>() / n,
            p99_latency_us: lat
                .get(((lat.len() as f64 * 0.99) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0),
        });
    }
    EvalReport {
        k: cfg.k,
        split_at: split,
        train_interactions: ds.interactions.len() - test_interactions,
        test_interactions,
        users_evaluated: users.len(),
        catalogue,
        build_seconds,
        train_seconds,
        rankers,
    }
}

/// The default ranker's settings once per signal of non-zero weight, with that weight at 0,
/// named `default-<signal>`.
fn ablations(settings: &EngineSettings) -> Vec<(String, EngineSettings)> {
    let signals = settings.clone().ranker.signal_weights_mut().map(|(name, w)| (name, *w));
    let mut out = Vec::new();
    for (i, (name, weight)) in signals.into_iter().enumerate() {
        if weight != 0.0 {
            let mut without = settings.clone();
            *without.ranker.signal_weights_mut()[i].1 = 0.0;
            out.push((format!("default-{name}"), without));
        }
    }
    out
}

/// The report as a plain-text table.
pub fn render_table(r: &EvalReport) -> String {
    let mut s = format!(
        "k={} split={} train={} test={} users={} venues={}\n",
        r.k,
        domain::time::written(&r.split_at),
        r.train_interactions,
        r.test_interactions,
        r.users_evaluated,
        r.catalogue
    );
    let w = r.rankers.iter().map(|m| m.ranker.len()).fold(11, usize::max);
    s += &format!(
        "{:<w$} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>8} {:>9} {:>9}\n",
        "ranker",
        "prec@k",
        "recall@k",
        "ndcg@k",
        "map@k",
        "return@k",
        "new@k",
        "coverage",
        "novelty",
        "mean_us",
        "p99_us"
    );
    for m in &r.rankers {
        s += &format!(
            "{:<w$} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>8.3} {:>8.3} {:>9.4} {:>8.2} {:>9.0} {:>9.0}\n",
            m.ranker,
            m.precision,
            m.recall,
            m.ndcg,
            m.map,
            m.hits_returning,
            m.hits_new,
            m.coverage,
            m.novelty,
            m.mean_latency_us,
            m.p99_latency_us
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_reports_every_ranker_and_draws_a_chart() {
        let ds = crate::eval::tests::tiny_dataset();
        let cfg = EvalConfig {
            train: TrainConfig { epochs: 2, factors: 8, ..TrainConfig::default() },
            ..EvalConfig::default()
        };
        let r = evaluate(&ds, &cfg);
        assert_eq!(r.rankers.len(), 4);
        assert!(r.users_evaluated > 0 && r.test_interactions > 0);
        for m in &r.rankers {
            assert!((0.0..=1.0).contains(&m.ndcg) && (0.0..=1.0).contains(&m.coverage));
        }
        let svg = render_svg(&r);
        assert!(svg.starts_with("<svg") && svg.contains("seed2"));
        assert!(render_table(&r).contains("default"));
        // The split is written as the API writes times (was `+00:00`, nanoseconds as they came).
        let split = format!(" split={} ", domain::time::written(&r.split_at));
        assert!(split.ends_with("Z ") && render_table(&r).contains(&split), "{}", render_table(&r));
        assert!(serde_json::to_string(&r).unwrap().contains("\"ndcg\""));
    }

    #[test]
    fn an_ablation_ranks_once_per_signal_as_the_default_ranker_with_that_weight_at_zero() {
        let ds = crate::eval::tests::tiny_dataset();
        let base = EvalConfig {
            rankers: vec![Ranker::Default],
            train: TrainConfig { epochs: 2, factors: 8, ..TrainConfig::default() },
            ..EvalConfig::default()
        };
        let mut cfg = EvalConfig { ablate: true, ..base.clone() };
        cfg.settings.ranker.w_rating = 0.0; // a signal already off is not ablated again
        let r = evaluate(&ds, &cfg);
        let names: Vec<&str> = r.rankers.iter().map(|m| m.ranker.as_str()).collect();
        let signals = ["proximity", "history", "viewed", "preference", "taste", "context", "trending", "social"];
        let mut expected = vec!["default".to_string()];
        expected.extend(signals.iter().chain(&["learned", "neighbours", "popularity"]).map(|s| format!("default-{s}")));
        assert_eq!(names, expected);
        // Each row is what the default ranker gives with that weight at 0, on the same split.
        let quality = |m: &RankerMetrics| (m.precision, m.recall, m.ndcg, m.map, m.hits_new, m.coverage);
        let mut without_history = cfg.clone();
        without_history.ablate = false;
        without_history.settings.ranker.w_history = 0.0;
        let alone = evaluate(&ds, &without_history);
        assert_ne!(quality(&alone.rankers[0]), quality(&r.rankers[0]), "history matters on this data");
        assert_eq!(quality(r.ranker_named("default-history").unwrap()), quality(&alone.rankers[0]));
        let plain = evaluate(&ds, &EvalConfig { settings: cfg.settings.clone(), ..base });
        assert_eq!(quality(&plain.rankers[0]), quality(&r.rankers[0]), "the default row is the plain default");
    }

    #[test]
    fn progress_tells_the_build_each_epoch_and_each_ranking_to_its_end() {
        let ds = crate::eval::tests::tiny_dataset();
        let cfg = EvalConfig {
            train: TrainConfig { epochs: 3, factors: 8, ..TrainConfig::default() },
            ..EvalConfig::default()
        };
        let mut steps = Vec::new();
        let r = evaluate_observed(&ds, &cfg, &[], |s| steps.push(format!("{s:?}")));
        let n = r.users_evaluated;
        assert_eq!(steps[0], format!("Built {{ users: {n}, rankers: 4 }}"));
        let epochs: Vec<&String> = steps.iter().filter(|s| s.starts_with("Trained")).collect();
        assert_eq!(epochs.len(), 3, "{steps:?}");
        assert_eq!(epochs[2], "Trained { epoch: 3, epochs: 3 }");
        for (i, m) in r.rankers.iter().enumerate() {
            let end = format!("Ranked {{ ranker: {:?}, index: {i}, done: {n} }}", m.ranker);
            assert!(steps.contains(&end), "{end} not in {steps:?}");
        }
        assert_eq!(
            steps.last().map(String::as_str),
            Some(&*format!("Ranked {{ ranker: \"learned\", index: 3, done: {n} }}"))
        );
    }

    #[test]
    fn external_rankings_are_measured_on_the_same_users_and_split() {
        let ds = crate::eval::tests::tiny_dataset();
        let cfg = EvalConfig {
            rankers: vec![Ranker::Popularity],
            test_fraction: 0.3,
            train: TrainConfig { epochs: 1, factors: 4, ..TrainConfig::default() },
            ..EvalConfig::default()
        };
        let split = split_instant(&ds, &cfg);
        // One that knows the future exactly, and one that knows nothing.
        let perfect = |user: Uuid, at: DateTime<Utc>, k: usize| -> Vec<Uuid> {
            assert_eq!(at, split);
            let mut ids: Vec<Uuid> = ds
                .interactions
                .iter()
                .filter(|i| i.user_id == user && i.occurred_at >= at)
                .map(|i| i.venue_id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.truncate(k);
            ids
        };
        let external = [
            ExternalRanker { name: "perfect".into(), rank: Box::new(perfect) },
            ExternalRanker { name: "nothing".into(), rank: Box::new(|_, _, _| Vec::new()) },
        ];
        let r = evaluate_with(&ds, &cfg, &external);
        let names: Vec<&str> = r.rankers.iter().map(|m| m.ranker.as_str()).collect();
        assert_eq!(names, ["popularity", "perfect", "nothing"]);
        let (perfect, nothing) = (&r.rankers[1], &r.rankers[2]);
        assert!(r.users_evaluated > 10);
        assert!((perfect.ndcg - 1.0).abs() < 1e-12 && (perfect.map - 1.0).abs() < 1e-12, "{perfect:?}");
        assert_eq!((nothing.ndcg, nothing.recall, nothing.coverage), (0.0, 0.0, 0.0));
        assert!(r.rankers[0].ndcg < 1.0);
    }

    #[test]
    fn the_catalogue_and_the_graph_are_as_they_stood_at_the_split() {
        use crate::testkit::*;
        let mut ds = tiny_dataset();
        let split = split_instant(&ds, &EvalConfig::default());
        let at = |n: u128, created: DateTime<Utc>| Venue {
            created_at: created,
            ..venue(n, 40.75, -73.95, domain::Category::Bar, None)
        };
        let hours = chrono::Duration::hours;
        // Opened before the split; opened after it; dated after it but liked before it (a row
        // loaded later without its real date).
        ds.venues.push(at(2001, split - hours(24)));
        ds.venues.push(at(2002, split + hours(1)));
        ds.venues.push(at(2003, split + hours(30 * 24)));
        ds.interactions.push(Interaction {
            venue_id: id(2003),
            occurred_at: split - hours(5),
            ..ix(0, 2003, InteractionType::Like, 0, 0)
        });
        let tie = |a, b, created| SocialEdge { created_at: created, ..edge(a, b, 0.9) };
        ds.edges.push(tie(0, 1, split - hours(48)));
        ds.edges.push(tie(0, 2, split + hours(1)));
        let engine = build_until(&ds, split, &EngineSettings::default());
        assert!(engine.has_venue(id(2001)) && engine.has_venue(id(2003)));
        assert!(!engine.has_venue(id(2002)), "a venue that opened after the split was recommendable");
        let st = engine.load();
        let row = st.user(st.user_idx(&id(0)).unwrap()).unwrap();
        let friend = |n| row.edge(st.user_idx(&id(n)).unwrap()).is_some();
        assert!(friend(1) && !friend(2), "{:?}", row.edges);
    }

    #[test]
    fn hits_are_told_apart_as_returns_and_discoveries() {
        use crate::testkit::*;
        // Every user liked venue 1 before the split and likes venues 1 and 2 after it.
        let mut ds = Dataset::default();
        for u in 0..20u128 {
            ds.users.push(user(u, Some((40.75, -73.95))));
            ds.interactions.push(ix(u, 1001, InteractionType::Like, 30, 20_000));
            ds.interactions.push(ix(u, 1001, InteractionType::Like, 30, 100));
            ds.interactions.push(ix(u, 1002, InteractionType::Like, 30, 90));
        }
        for v in [1001, 1002] {
            let place = venue(v, 40.75, -73.95, domain::Category::Bar, None);
            ds.venues.push(Venue { created_at: t0() - chrono::Duration::days(400), ..place });
        }
        let cfg = EvalConfig { rankers: vec![], test_fraction: 0.5, ..EvalConfig::default() };
        let only = |v: u128| -> ExternalRank<'_> { Box::new(move |_, _, _| vec![id(v)]) };
        let external = [
            ExternalRanker { name: "returns".into(), rank: only(1001) },
            ExternalRanker { name: "discoveries".into(), rank: only(1002) },
            ExternalRanker { name: "both".into(), rank: Box::new(|_, _, _| vec![id(1002), id(1001), id(9)]) },
        ];
        let r = evaluate_with(&ds, &cfg, &external);
        assert_eq!(r.users_evaluated, 20);
        let hits: Vec<(f64, f64)> = r.rankers.iter().map(|m| (m.hits_returning, m.hits_new)).collect();
        assert_eq!(hits, [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]);
        assert!(render_table(&r).contains("new@k"));
    }

    /// A small data set: 40 users each liking 30 random venues over 30 days.
    pub(crate) fn tiny_dataset() -> Dataset {
        use crate::testkit::*;
        let mut r = crate::util::SplitMix64::new(1);
        let mut ds = Dataset::default();
        for u in 0..40u128 {
            ds.users.push(user(u, Some((40.7 + r.unit() * 0.1, -74.0 + r.unit() * 0.1))));
        }
        for v in 0..120u128 {
            let place =
                venue(1000 + v, 40.7 + r.unit() * 0.1, -74.0 + r.unit() * 0.1, domain::Category::Restaurant, None);
            // Open since long before the log starts.
            ds.venues.push(Venue {
                cuisine: Some("thai".into()),
                created_at: t0() - chrono::Duration::days(400),
                ..place
            });
        }
        for u in 0..40u128 {
            for k in 0..30 {
                let v = 1000 + ((u * 7 + r.below(20) as u128) % 120);
                ds.interactions.push(ix(u, v, InteractionType::Like, 30, (30 * 24 * 60) - k * 24 * 60));
            }
        }
        ds
    }
}
