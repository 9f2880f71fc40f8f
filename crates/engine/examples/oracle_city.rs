//! How far can any ranker go on the generated city? Uses synth's hidden ground truth
//! (`City::taste`, `City::choice_weight`) on the evaluation's split (last 20% of time, 2,000
//! test users, relevance = like, interest, save or visit in the test period) and prints the
//! NDCG@10 of: the oracle choice weight alone, the user's past interaction counts alone, and
//! counts plus k times the oracle prior (a Bayesian mix no real ranker can compute).
//! `cargo run --release -p engine --example oracle_city`.
use domain::InteractionType as T;
use engine::eval::list_metrics;
use std::collections::{HashMap, HashSet};
fn main() {
    let city = synth::City::new(synth::CityConfig::new(42, 5000, 800)).unwrap();
    let venues = city.venues();
    let vix: HashMap<_, _> = venues.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    let mut users = Vec::new();
    let mut ix = Vec::new();
    for c in city.chunks(10_000) {
        users.extend(c.users);
        ix.extend(c.interactions);
    }
    let uix: HashMap<_, _> = users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let lo = ix.iter().map(|i| i.occurred_at).min().unwrap();
    let hi = ix.iter().map(|i| i.occurred_at).max().unwrap();
    let split = lo + chrono::Duration::seconds(((hi - lo).num_seconds() as f64 * 0.8) as i64);
    let pos = [T::Like, T::Interest, T::Save, T::Visit];
    let mut train: HashMap<usize, HashMap<usize, f64>> = HashMap::new();
    let mut test: HashMap<usize, HashSet<usize>> = HashMap::new();
    for i in &ix {
        let (u, v) = (uix[&i.user_id], vix[&i.venue_id]);
        if i.occurred_at < split {
            *train.entry(u).or_default().entry(v).or_default() += 1.0;
        } else if pos.contains(&i.interaction_type) {
            test.entry(u).or_default().insert(v);
        }
    }
    let mut us: Vec<_> = test.keys().copied().collect();
    us.sort();
    us.truncate(2000);
    let (mut o, mut c) = (0.0, 0.0);
    let ks = [2.0, 5.0, 10.0, 20.0, 40.0, 80.0];
    let mut m = [0.0; 6];
    for &u in &us {
        let taste = city.taste(u);
        let mut rel: Vec<usize> = test[&u].iter().copied().collect();
        rel.sort();
        let w: Vec<f64> = (0..venues.len()).map(|v| city.choice_weight(&taste, v)).collect();
        let mut all: Vec<usize> = (0..venues.len()).collect();
        all.sort_by(|a, b| w[*b].total_cmp(&w[*a]));
        o += list_metrics(&all[..10], &rel, 10).ndcg;
        let hist = train.get(&u).cloned().unwrap_or_default();
        let mut seen: Vec<usize> = hist.keys().copied().collect();
        seen.sort_by(|a, b| hist[b].total_cmp(&hist[a]));
        c += list_metrics(&seen[..seen.len().min(10)], &rel, 10).ndcg;
        let tot: f64 = w.iter().sum();
        for (j, k) in ks.iter().enumerate() {
            let mut mix: Vec<(f64, usize)> =
                (0..venues.len()).map(|v| ((hist.get(&v).copied().unwrap_or(0.0) + k * w[v] / tot), v)).collect();
            mix.sort_by(|a, b| b.0.total_cmp(&a.0));
            let ids: Vec<usize> = mix.iter().take(10).map(|x| x.1).collect();
            m[j] += list_metrics(&ids, &rel, 10).ndcg;
        }
    }
    let n = us.len() as f64;
    println!(
        "oracle choice weight ndcg {:.4}; past counts only {:.4}; counts + k * oracle prior {:?}",
        o / n,
        c / n,
        m.iter().map(|x| x / n).collect::<Vec<_>>()
    );
}
