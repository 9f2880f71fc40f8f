//! `luna bench`: load-tests the recommendation endpoints of a running server for a fixed time
//! with N concurrent keep-alive connections (the lean client of `bench_http`), each asking for
//! a random (seeded) user among ids fetched from the server, then prints requests/s (answered),
//! latency median and p99, and errors by status; a run where most requests failed exits non-zero.
//! `--bookings` books instead (see `bench_bookings`) and also prints bookings/s; `--mix` runs
//! a mixed load of reads, interactions, recommendations, bookings and live locations, then
//! checks the server's invariants (see `bench_mix`). `--token` sends `Authorization: Bearer` on every
//! request (the admin token lets the load act for any user and read the admin endpoints).

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// Concurrent connections (1 to 10,000).
    #[arg(long, short = 'c', default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub connections: usize,
    /// How long to run, seconds (1 to 86,400).
    #[arg(long, short = 'd', default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Path to request; `{user}` is replaced by a random user id. Repeat to mix endpoints.
    #[arg(long, default_value = "/api/v1/recommendations/{user}/venues?limit=10")]
    pub path: Vec<String>,
    /// How many user ids to fetch from the server and pick from.
    #[arg(long, default_value_t = 2000)]
    pub sample: usize,
    /// Random seed of the user picks.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Book instead: each request books `--party` people at a random venue, at a random time it
    /// is open in the next `--days` days, through `POST /api/v1/bookings/{user}/create`.
    #[arg(long)]
    pub bookings: bool,
    /// Party size of each booking (1 to the API's maximum, 1,000).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(i32).range(1..=i64::from(domain::booking::MAX_PARTY)))]
    pub party: i32,
    /// Days ahead the booking times spread over (1 to 365: the API books up to a year ahead).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..domain::booking::MAX_DAYS_AHEAD))]
    pub days: i64,
    /// A mixed load with these weights, e.g. `read=5,interact=2,reco=3,book=1,locate=2`, then an
    /// invariant check (non-zero exit when one fails).
    #[arg(long)]
    pub mix: Option<String>,
    /// Bearer token sent with every request (default: the admin token of the settings,
    /// `LUNA_ADMIN_TOKEN`), so the bench may act for every user of an authenticated server.
    #[arg(long)]
    pub token: Option<String>,
}

/// One connection's tally.
#[derive(Default)]
pub(crate) struct Tally {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    /// Failed requests by status code (0: no answer), where the caller records them.
    pub failed_by_status: std::collections::BTreeMap<u16, u64>,
}

pub async fn run(settings: Settings, args: BenchArgs) -> anyhow::Result<()> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = args.token.as_ref().or(settings.admin_token.as_ref()) {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .context("--token is not a valid header value")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .no_proxy()
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .build()
        .context("HTTP client")?;
    let base = args.url.trim_end_matches('/').to_string();
    if let Some(mix) = &args.mix {
        return super::bench_mix::run(&client, &base, &args, mix).await;
    }
    if args.bookings {
        return super::bench_bookings::run(&client, &base, &args).await;
    }
    // A URL the lean client cannot speak fails before any request.
    let token = args.token.as_deref().or(settings.admin_token.as_deref());
    let target = super::bench_http::Target::parse(&base, token)?;
    let users = fetch_users(&client, &base, args.sample).await?;
    anyhow::ensure!(!users.is_empty(), "the server at {base} has no users (seed it first)");
    eprintln!(
        "{} connections for {} s against {base}{}, picking among {} users",
        args.connections,
        args.duration,
        args.path.join(" + "),
        users.len()
    );
    let users = std::sync::Arc::new(users);
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = progress_lines(done.clone(), started, deadline);
    let mut tasks = Vec::with_capacity(args.connections);
    for c in 0..args.connections {
        let (users, paths) = (users.clone(), args.path.clone());
        let mut conn = super::bench_http::Conn::new(target.clone());
        let done = done.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_add(c as u64));
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut path = String::with_capacity(256);
            while Instant::now() < deadline {
                let user = &users[rng.random_range(0..users.len())];
                let template = &paths[rng.random_range(0..paths.len())];
                path.clear();
                let mut parts = template.split("{user}");
                path.push_str(parts.next().unwrap_or_default());
                for part in parts {
                    path.push_str(user);
                    path.push_str(part);
                }
                let sent = Instant::now();
                // No answer at all counts as status 0.
                let status = conn.get(&path).await.unwrap_or(0);
                t.latencies_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !(200..300).contains(&status) {
                    t.errors += 1;
                    *t.failed_by_status.entry(status).or_default() += 1;
                }
            }
            t
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.context("bench connection")?;
        all.latencies_us.extend(t.latencies_us);
        all.errors += t.errors;
        for (code, n) in t.failed_by_status {
            *all.failed_by_status.entry(code).or_default() += n;
        }
    }
    progress.abort();
    print_latencies(&all, started.elapsed());
    mostly_answered(&all)
}

/// Prints, once a second until `deadline`, how many requests have come back and at what rate
/// (to stderr).
pub(crate) fn progress_lines(
    done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    started: Instant,
    deadline: Instant,
) -> tokio::task::JoinHandle<()> {
    let total = deadline.saturating_duration_since(started);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        while Instant::now() < deadline {
            tick.tick().await;
            eprintln!("{}", progress_line(done.load(std::sync::atomic::Ordering::Relaxed), started.elapsed(), total));
        }
    })
}

/// One progress line: `n` requests back after `elapsed` of a run of `total`. Both are rounded
/// to the second: a deadline taken a moment before the start leaves `total` a hair short.
fn progress_line(n: u64, elapsed: Duration, total: Duration) -> String {
    let s = elapsed.as_secs_f64();
    format!("{s:>4.0}/{:.0} s  {n} requests back  {:.0} req/s", total.as_secs_f64(), n as f64 / s.max(1e-9))
}

/// Fails the run when most requests failed: its figures would measure refusals, not the
/// server. A rate limit's 429s say how to turn it off.
pub(crate) fn mostly_answered(all: &Tally) -> anyhow::Result<()> {
    let n = all.latencies_us.len() as u64;
    if n == 0 || all.errors * 2 > n {
        let hint = if all.failed_by_status.contains_key(&429) {
            "; 429 is the server's rate limit: serve with LUNA_RATE_LIMIT__ENABLED=false to measure it"
        } else {
            ""
        };
        anyhow::bail!("{} of {n} requests failed, so these figures do not measure the server{hint}", all.errors);
    }
    Ok(())
}

/// Requests, requests/s, latency percentiles and errors of one tally.
pub(crate) fn print_latencies(all: &Tally, elapsed: Duration) {
    let mut l = all.latencies_us.clone();
    l.sort_unstable();
    let pct = |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0);
    let n = l.len();
    println!("requests      {n}");
    // Answered ones only: a refusal or an error is not served work.
    println!("requests/s    {:.0}", n.saturating_sub(all.errors as usize) as f64 / elapsed.as_secs_f64());
    println!("latency p50   {:.2} ms", f64::from(pct(0.50)) / 1000.0);
    println!("latency p99   {:.2} ms", f64::from(pct(0.99)) / 1000.0);
    println!("latency max   {:.2} ms", f64::from(l.last().copied().unwrap_or(0)) / 1000.0);
    let by_status: Vec<String> = all
        .failed_by_status
        .iter()
        .map(|(code, n)| if *code == 0 { format!("no answer: {n}") } else { format!("{code}: {n}") })
        .collect();
    if by_status.is_empty() {
        println!("errors        {}", all.errors);
    } else {
        println!("errors        {} ({})", all.errors, by_status.join(", "));
    }
}

/// Up to `want` user ids, page by page through `GET /api/v1/users`.
pub(crate) async fn fetch_users(client: &reqwest::Client, base: &str, want: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    while ids.len() < want {
        let limit = (want - ids.len()).min(500);
        let mut url = format!("{base}/api/v1/users?limit={limit}");
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let res = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
        anyhow::ensure!(res.status().is_success(), "GET {url}: {}", res.status());
        let page: Vec<serde_json::Value> = res.json().await.context("a list of users")?;
        let before = ids.len();
        ids.extend(page.iter().filter_map(|u| u["id"].as_str().map(str::to_string)));
        if ids.len() == before || page.len() < limit {
            break;
        }
        after = ids.last().cloned();
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::progress_line;

    #[test]
    fn a_progress_line_shows_the_duration_asked_for() {
        // `-d 5`: the deadline was taken a moment before the start.
        let total = Duration::from_secs(5) - Duration::from_micros(3);
        assert_eq!(progress_line(1200, Duration::from_millis(2001), total), "   2/5 s  1200 requests back  600 req/s");
        assert_eq!(
            progress_line(0, Duration::from_secs(1), Duration::from_secs(1)),
            "   1/1 s  0 requests back  0 req/s"
        );
    }
}
