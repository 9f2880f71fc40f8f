//! `luna bench --bookings`: booking throughput of a running server. Each connection books
//! `--party` people for a random user at a random venue, at a random half hour in the next
//! `--days` days when the venue is open for at least an hour (so requests are valid bookings,
//! not validation errors), through the agent endpoint. Prints bookings/s (201s), refusals (409
//! `slot_full`, with their alternatives computed), other errors by status, and latency; a run
//! where most requests failed (other than 409s) exits non-zero.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::Venue;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bench::{BenchArgs, Tally, fetch_users, mostly_answered, print_latencies, progress_lines};

#[derive(Default)]
struct Counts {
    tally: Tally,
    booked: u64,
    refused: u64,
}

pub async fn run(client: &reqwest::Client, base: &str, args: &BenchArgs) -> anyhow::Result<()> {
    let users = fetch_users(client, base, args.sample).await?;
    let venues = fetch_venues(client, base).await?;
    anyhow::ensure!(!users.is_empty() && !venues.is_empty(), "the server at {base} has no users or venues (seed it)");
    eprintln!(
        "{} connections for {} s booking parties of {} at {} venues for {} users against {base}",
        args.connections,
        args.duration,
        args.party,
        venues.len(),
        users.len()
    );
    let (users, venues) = (Arc::new(users), Arc::new(venues));
    let now = chrono::Utc::now();
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = progress_lines(done.clone(), started, deadline);
    let mut tasks = Vec::with_capacity(args.connections);
    for c in 0..args.connections {
        let (client, users, venues, base) = (client.clone(), users.clone(), venues.clone(), base.to_string());
        let done = done.clone();
        let (party, days) = (args.party, args.days.max(1));
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_add(c as u64));
        tasks.push(tokio::spawn(async move {
            let mut t = Counts::default();
            while Instant::now() < deadline {
                let user = &users[rng.random_range(0..users.len())];
                let venue = &venues[rng.random_range(0..venues.len())];
                let Some(at) = open_time(&mut rng, venue, now, days) else { continue };
                let body = serde_json::json!({"venue_id": venue.id, "booking_time": at, "party_size": party});
                let url = format!("{base}/api/v1/bookings/{user}/create");
                let sent = Instant::now();
                let status = match client.post(&url).json(&body).send().await {
                    Ok(res) => {
                        let s = res.status();
                        res.bytes().await.map(|_| s).ok()
                    }
                    Err(_) => None,
                };
                t.tally.latencies_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // No answer at all counts as status 0.
                match status.map_or(0, |s| s.as_u16()) {
                    201 => t.booked += 1,
                    409 => t.refused += 1,
                    code => {
                        t.tally.errors += 1;
                        *t.tally.failed_by_status.entry(code).or_default() += 1;
                    }
                }
            }
            t
        }));
    }
    let mut all = Counts::default();
    for task in tasks {
        let t = task.await.context("bench connection")?;
        all.tally.latencies_us.extend(t.tally.latencies_us);
        all.tally.errors += t.tally.errors;
        for (code, n) in t.tally.failed_by_status {
            *all.tally.failed_by_status.entry(code).or_default() += n;
        }
        all.booked += t.booked;
        all.refused += t.refused;
    }
    progress.abort();
    let elapsed = started.elapsed();
    print_latencies(&all.tally, elapsed);
    println!("bookings      {}", all.booked);
    println!("bookings/s    {:.0}", all.booked as f64 / elapsed.as_secs_f64());
    println!("refused (409) {}", all.refused);
    // Refusals of a full slot are answers; other failures are not.
    mostly_answered(&all.tally)
}

/// A random half hour in the next `days` days at which `venue` is open for an hour or more.
pub(crate) fn open_time(
    rng: &mut ChaCha8Rng,
    venue: &Venue,
    now: domain::Timestamp,
    days: i64,
) -> Option<domain::Timestamp> {
    for _ in 0..20 {
        let day = now.date_naive() + chrono::Duration::days(rng.random_range(1..=days));
        let minute = 30 * rng.random_range(0..48);
        let at = day.and_hms_opt(minute / 60, minute % 60, 0)?.and_utc();
        if domain::inventory::open_for(venue, at, 60) {
            return Some(at);
        }
    }
    None
}

/// Every venue, page by page through `GET /api/v1/venues`.
pub(crate) async fn fetch_venues(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<Venue>> {
    let mut venues: Vec<Venue> = Vec::new();
    loop {
        let mut url = format!("{base}/api/v1/venues?limit=500");
        if let Some(last) = venues.last() {
            url.push_str(&format!("&after={}", last.id));
        }
        let res = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
        anyhow::ensure!(res.status().is_success(), "GET {url}: {}", res.status());
        let page: Vec<Venue> = res.json().await.context("a list of venues")?;
        let done = page.len() < 500;
        venues.extend(page);
        if done {
            return Ok(venues);
        }
    }
}
