//! Prints a summary of a generated city and how long generating it took.
//! `cargo run --release -p synth --example city_stats -- USERS VENUES [SEED]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let users = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let venues = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(150);
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let t = Instant::now();
    let city = synth::City::new(synth::CityConfig::new(seed, users, venues))?;
    println!("city (venue profiles): {:?}", t.elapsed());
    let t = Instant::now();
    let all = city.venues();
    println!("{} venues in full: {:?}", all.len(), t.elapsed());
    let mode = std::env::var("MODE").unwrap_or_default();
    if mode == "ordered" {
        let t = Instant::now();
        let (mut users, mut edges, mut interactions) = (0, 0, 0);
        city.for_each_chunk(10_000, |c| {
            users += c.users.len();
            edges += c.edges.len();
            interactions += c.interactions.len();
        });
        println!("for_each_chunk: {users} users, {edges} edges, {interactions} interactions in {:?}", t.elapsed());
        return Ok(());
    }
    let t = Instant::now();
    let counts = if mode == "records" {
        vec![]
    } else {
        city.par_map_ranges(10_000, |r| {
            let c = city.chunk(r);
            (c.users.len(), c.edges.len(), c.interactions.len(), c.interests.len(), c.plans.len())
        })
    };
    let sum = counts.iter().fold((0, 0, 0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2, a.3 + c.3, a.4 + c.4));
    println!(
        "parallel chunks: {} users, {} edges, {} interactions, {} interests, {} plans in {:?}",
        sum.0,
        sum.1,
        sum.2,
        sum.3,
        sum.4,
        t.elapsed()
    );
    if std::env::var_os("SAMPLE").is_some() {
        for v in all.iter().take(6) {
            println!("{}", serde_json::to_string(v)?);
        }
        let c = city.chunk(0..300);
        for (u, p) in c.users.iter().zip(&c.preferences).take(4) {
            println!("{}\n  {}", serde_json::to_string(u)?, serde_json::to_string(&p.1)?);
        }
        for i in c.interactions.iter().take(12) {
            println!("{}", serde_json::to_string(i)?);
        }
        for e in c.edges.iter().take(4) {
            println!("{}", serde_json::to_string(e)?);
        }
        println!("{}", serde_json::to_string_pretty(&c.plans.first())?);
        println!("{}", serde_json::to_string(&c.interests.iter().take(3).collect::<Vec<_>>())?);
        for h in city.neighbourhoods().iter().take(5) {
            println!("{} {:?} {:?} sig={:?}", h.name, h.kind, h.center, h.signature_cuisine);
        }
    }
    if mode == "chunks" {
        return Ok(());
    }
    let t = Instant::now();
    let n: usize = city.par_map_ranges(10_000, |r| city.interaction_records(r).len()).iter().sum();
    println!("parallel compact interaction records: {n} in {:?}", t.elapsed());
    Ok(())
}
