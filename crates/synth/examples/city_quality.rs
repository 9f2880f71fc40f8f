//! Prints statistics of a generated city's behaviour: repeat rates, distances, popularity
//! concentration, persona mixes. `cargo run --release -p synth --example city_quality -- USERS VENUES`

use std::collections::{HashMap, HashSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let users: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let venues: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let city = synth::City::new(synth::CityConfig::new(42, users, venues))?;
    let recs = city.interaction_records(0..users);
    let split = city.config().now.timestamp_millis() - 14 * 86_400_000;
    let mut seen: HashMap<u32, HashSet<u32>> = HashMap::new();
    let (mut test, mut repeat) = (0usize, 0usize);
    let mut per_venue = vec![0usize; venues];
    let mut dist = 0.0;
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut hours = [0usize; 24];
    for r in &recs {
        per_venue[r.venue as usize] += 1;
        *kinds.entry(r.kind.as_str()).or_default() += 1;
        let local =
            chrono::DateTime::from_timestamp_millis(r.at_ms).unwrap_or_default().with_timezone(&city.timezone());
        hours[chrono::Timelike::hour(&local) as usize] += 1;
        if r.at_ms >= split {
            test += 1;
            if seen.get(&r.user).is_some_and(|s| s.contains(&r.venue)) {
                repeat += 1;
            }
        } else {
            seen.entry(r.user).or_default().insert(r.venue);
        }
    }
    for u in 0..users.min(2000) {
        let t = city.taste(u);
        let mine: Vec<_> = recs.iter().filter(|r| r.user as usize == u).collect();
        for r in &mine {
            let v = city.venue(r.venue as usize);
            dist += t.home.distance_km(&domain::LatLng { lat: v.lat, lng: v.lng }) / mine.len().max(1) as f64;
        }
    }
    let distinct: f64 = seen.values().map(|s| s.len() as f64).sum::<f64>() / seen.len().max(1) as f64;
    per_venue.sort_unstable_by(|a, b| b.cmp(a));
    let top1: usize = per_venue.iter().take(venues / 100).sum();
    let zero = per_venue.iter().filter(|&&c| c == 0).count();
    println!("interactions {} ({:.1}/user)", recs.len(), recs.len() as f64 / users as f64);
    println!(
        "test (last 14 days) {test}, of which on venues seen in train {:.1}%",
        100.0 * repeat as f64 / test as f64
    );
    println!("distinct venues per user in train {distinct:.1}");
    println!("mean distance home->interacted venue {:.2} km", dist / users.min(2000) as f64);
    println!(
        "top 1% venues get {:.1}% of interactions; {zero} venues never touched",
        100.0 * top1 as f64 / recs.len() as f64
    );
    println!("kinds {kinds:?}");
    println!("by local hour {hours:?}");
    let all = city.venues();
    let mut by_cat: HashMap<&str, (usize, f64, f64, f64)> = HashMap::new();
    for v in &all {
        let e = by_cat.entry(v.category.as_str()).or_default();
        e.0 += 1;
        e.1 += f64::from(v.price_level.unwrap_or(0));
        e.2 += v.rating.unwrap_or(0.0);
        e.3 += f64::from(v.capacity);
    }
    for (c, (n, p, r, cap)) in by_cat {
        let n = n as f64;
        println!(
            "{c:>10}: {:>5.1}% price {:.2} rating {:.2} capacity {:.0}",
            100.0 * n / all.len() as f64,
            p / n,
            r / n,
            cap / n
        );
    }
    let mut personas: HashMap<&str, usize> = HashMap::new();
    for u in 0..users {
        *personas.entry(city.persona(u).as_str()).or_default() += 1;
    }
    println!("personas {personas:?}");
    let (mut chosen, mut base) = (0.0, 0.0);
    for u in 0..users.min(500) {
        let t = city.taste(u);
        base += (0..venues).map(|v| city.affinity_for(&t, v)).sum::<f64>() / venues as f64;
        let mine: Vec<_> = recs.iter().filter(|r| r.user as usize == u).collect();
        chosen += mine.iter().map(|r| city.affinity_for(&t, r.venue as usize)).sum::<f64>() / mine.len().max(1) as f64;
    }
    println!(
        "mean affinity: interacted {:.3}, all venues {:.3}",
        chosen / users.min(500) as f64,
        base / users.min(500) as f64
    );
    Ok(())
}
