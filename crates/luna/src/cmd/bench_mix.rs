//! `luna bench --mix read=5,interact=2,reco=3,book=1,locate=2`: a mixed load against a running
//! server for a fixed time (reads of users and venues, interactions, recommendations, bookings
//! and live locations, in those proportions), with progress, then per-kind throughput and
//! latency, then the invariants:
//!
//! * the server's invariant check (`GET /api/v1/admin/check`: no overbooked slot, no orphan row);
//! * every committed write's event delivered: an SSE subscription opened before the load must
//!   see `interaction.recorded` / `booking.created` for every 201 the load got;
//! * counts consistent: the stored interactions and bookings grew by exactly the 201s (so run it
//!   with nothing else writing, the simulator stopped).
//!
//! Exits non-zero when an invariant fails.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::Venue;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::bench::{BenchArgs, Tally, fetch_users};
use super::bench_bookings::{fetch_venues, open_time};

/// What one request of the mix does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Read,
    Interact,
    Reco,
    Book,
    /// A phone reporting where its user is: around one venue per user (the user's index in the
    /// sample picks it), within 20 m, as while out for the evening.
    Locate,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Read, Kind::Interact, Kind::Reco, Kind::Book, Kind::Locate];

    fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Interact => "interact",
            Kind::Reco => "reco",
            Kind::Book => "book",
            Kind::Locate => "locate",
        }
    }
}

/// Kinds with their weights, from `read=5,interact=2,reco=3,book=1`.
pub fn parse_mix(text: &str) -> anyhow::Result<Vec<(Kind, u32)>> {
    let mut mix = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == name.trim())
            .with_context(|| format!("unknown kind {name:?} in --mix (read, interact, reco, book, locate)"))?;
        let weight: u32 = weight.trim().parse().with_context(|| format!("weight of {name} in --mix"))?;
        mix.push((kind, weight));
    }
    anyhow::ensure!(mix.iter().any(|(_, w)| *w > 0), "--mix needs at least one positive weight");
    Ok(mix)
}

/// One connection's results: per kind, latencies and errors; plus refusals and committed writes.
#[derive(Default)]
struct Counts {
    tally: HashMap<Kind, Tally>,
    refused: u64,
    interactions: Vec<String>,
    bookings: Vec<String>,
}

/// The data the load picks from.
struct World {
    users: Vec<String>,
    venues: Vec<Venue>,
    mix: Vec<(Kind, u32)>,
    base: String,
    days: i64,
    party: i32,
}

pub async fn run(client: &reqwest::Client, base: &str, args: &BenchArgs, mix: &str) -> anyhow::Result<()> {
    let mix = parse_mix(mix)?;
    let users = fetch_users(client, base, args.sample).await?;
    let venues = fetch_venues(client, base).await?;
    anyhow::ensure!(!users.is_empty() && !venues.is_empty(), "the server at {base} has no users or venues (seed it)");
    let before = stored_counts(client, base).await?;
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    let watcher = watch_events(client.clone(), base.to_string(), seen.clone()).await?;
    eprintln!(
        "{} connections for {} s against {base}: mix {}, {} users, {} venues",
        args.connections,
        args.duration,
        mix.iter().map(|(k, w)| format!("{}={w}", k.name())).collect::<Vec<_>>().join(","),
        users.len(),
        venues.len()
    );
    let world =
        Arc::new(World { users, venues, mix, base: base.to_string(), days: args.days.max(1), party: args.party });
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let progress = super::bench::progress_lines(sent.clone(), started, deadline);
    let mut tasks = Vec::with_capacity(args.connections);
    for c in 0..args.connections {
        let rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_add(c as u64));
        tasks.push(tokio::spawn(connection(client.clone(), world.clone(), rng, deadline, sent.clone())));
    }
    let mut all = Counts::default();
    for task in tasks {
        let t = task.await.context("bench connection")?;
        for (kind, tally) in t.tally {
            let mine = all.tally.entry(kind).or_default();
            mine.latencies_us.extend(tally.latencies_us);
            mine.errors += tally.errors;
            for (status, n) in tally.failed_by_status {
                *mine.failed_by_status.entry(status).or_default() += n;
            }
        }
        all.refused += t.refused;
        all.interactions.extend(t.interactions);
        all.bookings.extend(t.bookings);
    }
    let elapsed = started.elapsed();
    progress.abort();
    eprintln!();
    report(&all, elapsed);
    let ok = check_invariants(client, base, &all, before, &seen).await?;
    watcher.abort();
    anyhow::ensure!(ok, "an invariant failed (see above)");
    println!("invariants    ok");
    Ok(())
}

/// One keep-alive connection's loop until the deadline.
async fn connection(
    client: reqwest::Client,
    world: Arc<World>,
    mut rng: ChaCha8Rng,
    deadline: Instant,
    sent: Arc<AtomicU64>,
) -> Counts {
    let total: u32 = world.mix.iter().map(|(_, w)| w).sum();
    let now = chrono::Utc::now();
    let mut t = Counts::default();
    while Instant::now() < deadline {
        let mut pick = rng.random_range(0..total);
        let kind = world
            .mix
            .iter()
            .find(|(_, w)| {
                pick < *w || {
                    pick -= w;
                    false
                }
            })
            .map_or(Kind::Read, |(k, _)| *k);
        let who = rng.random_range(0..world.users.len());
        let user = &world.users[who];
        let venue = &world.venues[rng.random_range(0..world.venues.len())];
        let base = &world.base;
        let req = match kind {
            Kind::Read if rng.random_bool(0.5) => client.get(format!("{base}/api/v1/users/{user}")),
            Kind::Read => client.get(format!("{base}/api/v1/venues/{}", venue.id)),
            Kind::Reco => client.get(format!("{base}/api/v1/recommendations/{user}/venues?limit=10")),
            Kind::Interact => {
                let types = ["view", "like", "save", "interest", "visit"];
                let body = json!({"user_id": user, "interaction_type": types[rng.random_range(0..types.len())],
                    "dwell_time_seconds": rng.random_range(0..300)});
                client.post(format!("{base}/api/v1/venues/{}/interactions", venue.id)).json(&body)
            }
            Kind::Book => {
                let Some(at) = open_time(&mut rng, venue, now, world.days) else { continue };
                let body = json!({"venue_id": venue.id, "booking_time": at, "party_size": world.party});
                client.post(format!("{base}/api/v1/bookings/{user}/create")).json(&body)
            }
            Kind::Locate => {
                let place = &world.venues[who % world.venues.len()];
                // Up to 1.2e-4 degrees off each way: within 20 m (1e-4 degrees of latitude is 11 m).
                let (dlat, dlng) = (rng.random_range(-1.2e-4..1.2e-4), rng.random_range(-1.2e-4..1.2e-4));
                let body = near(place.lat, place.lng, dlat, dlng);
                client.put(format!("{base}/api/v1/users/{user}/location")).json(&body)
            }
        };
        let started = Instant::now();
        // The status (0: no answer) and the JSON body, if it was one (a 204 has none).
        let (status, body) = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let body = res.bytes().await.ok();
                (
                    status,
                    body.and_then(|b| if b.is_empty() { Some(Value::Null) } else { serde_json::from_slice(&b).ok() }),
                )
            }
            Err(_) => (0, None),
        };
        let answer = body.map(|body| (status, body));
        sent.fetch_add(1, Ordering::Relaxed);
        let tally = t.tally.entry(kind).or_default();
        tally.latencies_us.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match (kind, answer) {
            (Kind::Interact, Some((201, body))) => t.interactions.extend(body["id"].as_str().map(str::to_string)),
            (Kind::Book, Some((201, body))) => t.bookings.extend(body["booking_id"].as_str().map(str::to_string)),
            (Kind::Book, Some((409, _))) => t.refused += 1,
            (Kind::Read | Kind::Reco, Some((200, _))) | (Kind::Locate, Some((204, _))) => {}
            _ => {
                tally.errors += 1;
                *tally.failed_by_status.entry(status).or_default() += 1;
            }
        }
    }
    t
}

fn report(all: &Counts, elapsed: Duration) {
    println!(
        "{:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "kind", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let mut total = Tally::default();
    for kind in Kind::ALL {
        let Some(t) = all.tally.get(&kind) else { continue };
        print_row(kind.name(), t, elapsed);
        total.latencies_us.extend(&t.latencies_us);
        total.errors += t.errors;
    }
    print_row("all", &total, elapsed);
    for kind in Kind::ALL {
        if let Some(t) = all.tally.get(&kind).filter(|t| !t.failed_by_status.is_empty()) {
            println!("{:<9} errors by status: {}", kind.name(), by_status(t));
        }
    }
    println!("interactions  {} committed", all.interactions.len());
    println!("bookings      {} committed, {} refused (409 slot full)", all.bookings.len(), all.refused);
}

fn print_row(name: &str, t: &Tally, elapsed: Duration) {
    let mut l = t.latencies_us.clone();
    l.sort_unstable();
    let ms = |p: f64| {
        let i = ((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1));
        f64::from(l.get(i).copied().unwrap_or(0)) / 1000.0
    };
    let rate = l.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{name:<9} {:>9} {rate:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
        l.len(),
        ms(0.50),
        ms(0.99),
        ms(1.0),
        t.errors
    );
}

/// A tally's failures by status, as `422: 3, no answer: 1`.
fn by_status(t: &Tally) -> String {
    let part = |(code, n): (&u16, &u64)| if *code == 0 { format!("no answer: {n}") } else { format!("{code}: {n}") };
    t.failed_by_status.iter().map(part).collect::<Vec<_>>().join(", ")
}

/// A point `dlat`, `dlng` degrees off a venue's place that is still a place: latitude kept
/// within the poles, longitude wrapped into -180..=180 (a venue at 90 degrees or on the
/// antimeridian would otherwise be sent a place the server refuses).
fn near(lat: f64, lng: f64, dlat: f64, dlng: f64) -> Value {
    let lat = (lat + dlat).clamp(-90.0, 90.0);
    let mut lng = lng + dlng;
    if lng > 180.0 {
        lng -= 360.0;
    } else if lng < -180.0 {
        lng += 360.0;
    }
    json!({"lat": lat, "lng": lng})
}

/// Stored interactions and bookings, from the admin stats.
async fn stored_counts(client: &reqwest::Client, base: &str) -> anyhow::Result<(u64, u64)> {
    let stats = get_json(client, &format!("{base}/api/v1/admin/stats")).await?;
    let n = |v: &Value| v.as_u64().context("a count in /api/v1/admin/stats");
    Ok((n(&stats["interactions"]["total"])?, n(&stats["bookings"]["total"])?))
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let res = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(res.status().is_success(), "GET {url}: {}", res.status());
    res.json().await.with_context(|| format!("JSON of {url}"))
}

/// Subscribes to the user-actions and bookings streams and records the ids of the interactions
/// and bookings their events carry. Returns once the stream is connected.
async fn watch_events(
    client: reqwest::Client,
    base: String,
    seen: Arc<Mutex<HashSet<String>>>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let url = format!("{base}/api/v1/admin/streams/subscribe-all?channels=user_actions,bookings");
    let mut res = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(res.status().is_success(), "GET {url}: {}", res.status());
    Ok(tokio::spawn(async move {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if let Some(id) = committed_id(&frame) {
                    seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
                }
            }
        }
    }))
}

/// The interaction or booking id of an `interaction.recorded` / `booking.created` frame.
fn committed_id(frame: &str) -> Option<String> {
    let data: String = frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
    let event: Value = serde_json::from_str(&data).ok()?;
    match event["type"].as_str()? {
        "interaction.recorded" | "booking.created" => event["data"]["id"].as_str().map(str::to_string),
        _ => None,
    }
}

/// Checks and prints each invariant; false when one fails.
async fn check_invariants(
    client: &reqwest::Client,
    base: &str,
    all: &Counts,
    before: (u64, u64),
    seen: &Mutex<HashSet<String>>,
) -> anyhow::Result<bool> {
    let mut ok = true;
    let check = get_json(client, &format!("{base}/api/v1/admin/check")).await?;
    if check["ok"] == true {
        println!("check         ok (no overbooked slot, no orphan row)");
    } else {
        println!("check         FAILED: {}", check["violations"]);
        ok = false;
    }
    // Events go through the outbox relay: give it a moment to publish the last writes.
    let committed: Vec<&String> = all.interactions.iter().chain(&all.bookings).collect();
    let mut missing = committed.len();
    for _ in 0..100 {
        missing = count_missing(&committed, seen);
        if missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if missing == 0 {
        println!("events        ok ({} committed writes, each event delivered)", committed.len());
    } else {
        println!("events        FAILED: {missing} of {} committed writes have no event on the stream", committed.len());
        ok = false;
    }
    let after = stored_counts(client, base).await?;
    let grown = (after.0.saturating_sub(before.0), after.1.saturating_sub(before.1));
    let expected = (all.interactions.len() as u64, all.bookings.len() as u64);
    if grown == expected {
        println!("counts        ok (+{} interactions, +{} bookings stored = the 201s)", grown.0, grown.1);
    } else {
        let why = if grown.0 > expected.0 || grown.1 > expected.1 {
            " (more stored than this load wrote: was something else writing, another bench or the simulator?)"
        } else {
            ""
        };
        println!("counts        FAILED: stored +{grown:?} (interactions, bookings), 201s {expected:?}{why}");
        ok = false;
    }
    Ok(ok)
}

/// How many of `committed` the stream has not delivered yet.
fn count_missing(committed: &[&String], seen: &Mutex<HashSet<String>>) -> usize {
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    committed.iter().filter(|id| !seen.contains(**id)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_parses_kinds_and_weights() {
        let mix = parse_mix("read=5, interact=2,reco=3,book,locate=4").unwrap();
        let want = [(Kind::Read, 5), (Kind::Interact, 2), (Kind::Reco, 3), (Kind::Book, 1), (Kind::Locate, 4)];
        assert_eq!(mix, want);
        assert!(parse_mix("write=1").is_err());
        assert!(parse_mix("read=0").is_err());
        assert!(parse_mix("read=x").is_err());
    }

    #[test]
    fn a_location_near_a_venue_at_a_pole_or_on_the_antimeridian_is_still_a_place() {
        let at = |lat, lng, dlat, dlng| {
            let m = near(lat, lng, dlat, dlng);
            (m["lat"].as_f64().unwrap(), m["lng"].as_f64().unwrap())
        };
        assert_eq!(at(90.0, 0.0, 1e-4, 0.0), (90.0, 0.0));
        assert_eq!(at(-90.0, 0.0, -1e-4, 0.0), (-90.0, 0.0));
        let (_, lng) = at(0.0, 180.0, 0.0, 1e-4);
        assert!((lng - (-179.9999)).abs() < 1e-9, "{lng}");
        let (_, lng) = at(0.0, -180.0, 0.0, -1e-4);
        assert!((lng - 179.9999).abs() < 1e-9, "{lng}");
        let (lat, lng) = at(40.0, -73.0, 1e-4, -1e-4);
        assert!((lat - 40.0001).abs() < 1e-9 && (lng - -73.0001).abs() < 1e-9, "{lat} {lng}");
    }

    #[test]
    fn failures_are_told_by_status() {
        let mut t = Tally::default();
        t.failed_by_status.insert(0, 1);
        t.failed_by_status.insert(422, 3);
        assert_eq!(by_status(&t), "no answer: 1, 422: 3");
    }

    #[test]
    fn committed_ids_are_read_from_the_events_that_carry_them() {
        let frame = "id: 1-0\nevent: interaction.recorded\ndata: {\"type\":\"interaction.recorded\",\"data\":{\"id\":\"abc\"}}\n\n";
        assert_eq!(committed_id(frame).as_deref(), Some("abc"));
        assert_eq!(committed_id("event: connected\ndata: {\"type\":\"connected\"}\n\n"), None);
        assert_eq!(committed_id(":keepalive\n\n"), None);
    }
}
