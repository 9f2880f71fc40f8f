//! Criterion benches of the engine on a generated city, by default at 1,000,000 users,
//! 100,000 venues and about 20,000,000 interactions, all in memory.
//!
//! Size it with `LUNA_BENCH_USERS`, `LUNA_BENCH_VENUES`, `LUNA_BENCH_IPU` (interactions per
//! user) and `LUNA_BENCH_EPOCHS` (BPR epochs for the learned model the default ranker uses; 0
//! for none) and `LUNA_BENCH_SETTINGS` (a JSON file of engine settings). Before the criterion
//! runs it prints build time, resident memory after build (from /proc/self/status) and
//! median/p99 latencies over 2,000 random queries per query kind.
//!
//! `LUNA_BENCH_USERS=20000 LUNA_BENCH_VENUES=2000 cargo bench -p engine` is a quick run.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use domain::{DomainEvent, Interaction, InteractionType, TimeOfDay};
use engine::util::SplitMix64;
use engine::{
    Engine, EngineBuilder, EngineSettings, GroupQuery, GroupStrategy, PeopleQuery, Ranker, TrainConfig, VenueQuery,
};
use uuid::Uuid;

/// The server's allocator, so allocation costs here are the ones a request pays.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn rss_mib(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct World {
    engine: Engine,
    users: Vec<Uuid>,
    venues: Vec<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
}

/// The engine's settings: the defaults, or a JSON file of them named by `LUNA_BENCH_SETTINGS`
/// (a partial one keeps the other defaults), to compare settings on the same city.
fn settings() -> EngineSettings {
    std::env::var("LUNA_BENCH_SETTINGS").map_or_else(
        |_| EngineSettings::default(),
        |path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("LUNA_BENCH_SETTINGS {path}: {e}"));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("LUNA_BENCH_SETTINGS {path}: {e}"))
        },
    )
}

fn build_world() -> World {
    let (nu, nv): (usize, usize) = (env("LUNA_BENCH_USERS", 1_000_000), env("LUNA_BENCH_VENUES", 100_000));
    let mut cfg = synth::CityConfig::new(42, nu, nv);
    cfg.interactions_per_user = env("LUNA_BENCH_IPU", 20.0);
    // A city of a million people spreads wider than the demo's 12 km.
    cfg.radius_km = (12.0 * (nv as f64 / 2_000.0).sqrt()).clamp(12.0, 40.0);
    let now = cfg.now;
    let t = Instant::now();
    let city = synth::City::new(cfg).expect("valid city");
    let mut b = EngineBuilder::new(settings());
    b.reserve(nu, nv);
    let venues = city.venues();
    for v in &venues {
        b.add_venue(v);
    }
    let venue_ids: Vec<Uuid> = venues.iter().map(|v| v.id).collect();
    drop(venues);
    let mut users = Vec::with_capacity(nu);
    let mut n_interactions = 0usize;
    for chunk in city.chunks(20_000) {
        let prefs: std::collections::HashMap<_, _> = chunk.preferences.iter().map(|(id, p)| (*id, p)).collect();
        for u in &chunk.users {
            b.add_user(u, prefs.get(&u.id).copied());
            users.push(u.id);
        }
        for e in &chunk.edges {
            b.add_edge(e);
        }
        for i in &chunk.interactions {
            b.add_interaction(i);
        }
        n_interactions += chunk.interactions.len();
        for i in &chunk.interests {
            b.add_interest(i);
        }
    }
    let generated = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let engine = b.build();
    let built = t.elapsed().as_secs_f64();
    println!(
        "dataset: {nu} users, {nv} venues, {n_interactions} interactions; generate+ingest {generated:.1}s, build {built:.1}s"
    );
    println!("memory after build: VmRSS {:.0} MiB, VmHWM {:.0} MiB", rss_mib("VmRSS:"), rss_mib("VmHWM:"));
    println!("engine memory by part: {}", engine.memory());
    let epochs: usize = env("LUNA_BENCH_EPOCHS", 1);
    if epochs > 0 {
        let t = Instant::now();
        let model = engine::train_bpr_with_progress(&engine, &TrainConfig { epochs, ..TrainConfig::default() }, |r| {
            println!(
                "bpr epoch {} loss {:.4} samples {} at {:.1}s",
                r.epoch,
                r.loss,
                r.samples,
                t.elapsed().as_secs_f64()
            );
        });
        engine.set_model(&model);
        println!(
            "bpr: {epochs} epoch(s) in {:.1}s; memory VmRSS {:.0} MiB",
            t.elapsed().as_secs_f64(),
            rss_mib("VmRSS:")
        );
    }
    println!("engine stats: {:?}", engine.stats());
    println!("engine memory by part: {}", engine.memory());
    World { engine, users, venues: venue_ids, now }
}

fn percentiles(name: &str, mut f: impl FnMut(usize)) {
    let mut lat: Vec<f64> = (0..2000)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    println!("{name}: median {:.3} ms, p99 {:.3} ms, max {:.3} ms", lat[1000], lat[1980], lat[1999]);
}

fn venue_query(w: &World, i: usize, ranker: Ranker) -> VenueQuery {
    let mut q = VenueQuery::new(w.users[(i * 7919) % w.users.len()], 10, ranker);
    q.now = Some(w.now);
    q
}

fn benches(c: &mut Criterion) {
    let w = build_world();
    let mut rng = SplitMix64::new(9);
    percentiles("venues default", |i| drop(black_box(w.engine.recommend_venues(&venue_query(&w, i, Ranker::Default)))));
    percentiles("venues seed2", |i| drop(black_box(w.engine.recommend_venues(&venue_query(&w, i, Ranker::Seed2)))));
    let people = |i: usize, ranker| PeopleQuery {
        user_id: w.users[(i * 7919) % w.users.len()],
        venue_id: Some(w.venues[i % w.venues.len()]),
        limit: 10,
        ranker,
        now: Some(w.now),
    };
    percentiles("people default", |i| drop(black_box(w.engine.recommend_people(&people(i, Ranker::Default)))));
    percentiles("people seed2", |i| drop(black_box(w.engine.recommend_people(&people(i, Ranker::Seed2)))));
    let group = |i: usize| {
        let ids = (0..4).map(|k| w.users[(i * 7919 + k * 13) % w.users.len()]).collect();
        let mut q = GroupQuery::new(ids, GroupStrategy::Fairness, 10);
        q.now = Some(w.now);
        q
    };
    percentiles("group of 4", |i| drop(black_box(w.engine.recommend_group(&group(i)))));
    let interaction = |rng: &mut SplitMix64| Interaction {
        id: Uuid::from_u128(u128::from(rng.next_u64())),
        user_id: w.users[rng.below(w.users.len())],
        venue_id: w.venues[rng.below(w.venues.len())],
        interaction_type: InteractionType::Like,
        dwell_time_seconds: 30,
        time_of_day: TimeOfDay::Evening,
        occurred_at: w.now,
    };
    percentiles("apply interaction", |_| {
        w.engine.apply(&DomainEvent::InteractionRecorded(interaction(&mut rng)));
    });

    let mut i = 0usize;
    c.bench_function("venues_default", |b| {
        b.iter(|| {
            i += 1;
            black_box(w.engine.recommend_venues(&venue_query(&w, i, Ranker::Default)))
        })
    });
    c.bench_function("venues_seed2", |b| {
        b.iter(|| {
            i += 1;
            black_box(w.engine.recommend_venues(&venue_query(&w, i, Ranker::Seed2)))
        })
    });
    c.bench_function("people_default", |b| {
        b.iter(|| {
            i += 1;
            black_box(w.engine.recommend_people(&people(i, Ranker::Default)))
        })
    });
    c.bench_function("group_fairness_4", |b| {
        b.iter(|| {
            i += 1;
            black_box(w.engine.recommend_group(&group(i)))
        })
    });
    c.bench_function("apply_interaction", |b| {
        b.iter(|| w.engine.apply(&DomainEvent::InteractionRecorded(interaction(&mut rng))))
    });
}

criterion_group! {
    name = engine_benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5)).warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(engine_benches);
