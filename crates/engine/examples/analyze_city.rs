//! Scratch analysis of a generated city's time split (not part of the API).
use std::collections::{HashMap, HashSet};
use domain::InteractionType as T;
fn main() {
    let city = synth::City::new(synth::CityConfig::new(42, 5000, 800)).unwrap();
    let mut ix = Vec::new();
    for c in city.chunks(10_000) { ix.extend(c.interactions); }
    let lo = ix.iter().map(|i| i.occurred_at).min().unwrap();
    let hi = ix.iter().map(|i| i.occurred_at).max().unwrap();
    let split = lo + (hi - lo) * 4 / 5;
    let pos = [T::Like, T::Interest, T::Save, T::Visit];
    let mut train: HashMap<_, HashMap<_, u32>> = HashMap::new();
    let mut test: HashMap<_, HashSet<_>> = HashMap::new();
    let mut kinds: HashMap<String, u32> = HashMap::new();
    for i in &ix {
        *kinds.entry(format!("{:?}", i.interaction_type)).or_default() += 1;
        if i.occurred_at < split { *train.entry(i.user_id).or_default().entry(i.venue_id).or_default() += 1; }
        else if pos.contains(&i.interaction_type) { test.entry(i.user_id).or_default().insert(i.venue_id); }
    }
    let (mut seen, mut total) = (0, 0);
    let mut by_count: HashMap<u32, (u32, u32)> = HashMap::new();
    for (u, vs) in &test { for v in vs { total += 1; if train.get(u).is_some_and(|m| m.contains_key(v)) { seen += 1; } } }
    for (u, m) in &train { for (v, &c) in m { let e = by_count.entry(c.min(8)).or_default(); e.0 += 1; if test.get(u).is_some_and(|s| s.contains(v)) { e.1 += 1; } } }
    println!("kinds {kinds:?}");
    println!("relevant test pairs {total}, seen in train {seen} ({:.2})", seen as f64 / total as f64);
    let mut bc: Vec<_> = by_count.into_iter().collect(); bc.sort();
    for (c, (n, hit)) in bc { println!("train count {c}: pairs {n}, relevant in test {hit} ({:.3})", hit as f64 / n as f64); }
}
