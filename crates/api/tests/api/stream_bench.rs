//! A measurement, not a check (ignored by default): events per second the bus sustains to 100
//! SSE subscribers, on the in-memory bus and (when configured) on Redis Streams. One task
//! publishes `LUNA_BENCH_EVENTS` events (default 20000) straight on the bus in batches of 256
//! (as the outbox relay does: one pipeline per batch on Redis); 100 HTTP clients
//! in the same process read them from `subscribe/simulation`; the clock stops when the last
//! client has every event (a client that lags gets them back from history, so all arrive).
//!
//! `cargo test -p api --release --test api stream_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use app::LiveSettings;
use bus::Publish;
use chrono::Utc;
use domain::{Channel, Payload};
use serde_json::json;

use crate::stream_support::{HISTORY, Setup, spawn};

const SUBSCRIBERS: usize = 100;
/// Events per publish call: the outbox relay's batch.
const BATCH: usize = 256;

fn tick(n: usize) -> Publish {
    Publish {
        channel: Channel::Simulation,
        event_type: "test.tick".into(),
        data: Payload::of(&json!({ "n": n })).expect("JSON"),
        timestamp: Utc::now(),
        source_id: None,
    }
}

/// Reads one SSE stream until `total` tick frames have arrived; returns the lag notices seen.
/// Counts frame markers in the raw text rather than parsing JSON, so the clients cost little
/// next to the server they share the cores with.
async fn count_ticks(mut res: reqwest::Response, total: usize) -> usize {
    const TICK: &str = "event: test.tick\n";
    const LAG: &str = "event: lagged\n";
    let (mut ticks, mut lags, mut carry) = (0, 0, String::new());
    while ticks < total {
        let chunk = tokio::time::timeout(Duration::from_secs(60), res.chunk()).await;
        let chunk = chunk.expect("data within 60 s").expect("read").expect("stream open");
        carry.push_str(&String::from_utf8_lossy(&chunk));
        ticks += carry.matches(TICK).count();
        lags += carry.matches(LAG).count();
        // Keep a tail shorter than a marker, so one split across chunks is counted once.
        let keep = carry.len().saturating_sub(TICK.len() - 1);
        let cut = (keep..=carry.len()).find(|i| carry.is_char_boundary(*i)).unwrap_or(carry.len());
        carry.drain(..cut);
    }
    lags
}

async fn measure(setup: Setup, total: usize) {
    let live = LiveSettings {
        max_subscribers: 1000,
        keep_alive: Duration::from_secs(15),
        snapshot_every: Duration::from_secs(3600),
        ..LiveSettings::default()
    };
    let Some(s) = spawn(setup, live).await else {
        eprintln!("{setup:?}: skipped (not configured)");
        return;
    };
    let srv = &s.server;
    let client = crate::helpers::client_builder_with_token(crate::helpers::ADMIN_TOKEN)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut readers = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let res = client.get(srv.url("/api/v1/admin/streams/subscribe/simulation")).send().await.expect("SSE");
        assert!(res.status().is_success(), "subscribe: {}", res.status());
        readers.push(tokio::spawn(count_ticks(res, total)));
    }
    let start = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(BATCH) {
        let batch = chunk.iter().map(|n| tick(*n)).collect();
        let (done, failure) = srv.app.bus.publish_many(batch).await;
        assert!(failure.is_none() && done.len() == chunk.len(), "published: {failure:?}");
    }
    let published = start.elapsed();
    let mut lags = 0;
    for r in readers {
        lags += r.await.expect("reader");
    }
    let all = start.elapsed().as_secs_f64();
    eprintln!(
        "{} bus -> {SUBSCRIBERS} SSE subscribers: {total} events in {all:.2} s = {:.0} events/s ({:.0} deliveries/s); \
         publishing alone {:.2} s; lag notices {lags}",
        srv.app.bus.backend(),
        total as f64 / all,
        (total * SUBSCRIBERS) as f64 / all,
        published.as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p api --release --test api stream_bench -- --ignored --nocapture"]
async fn events_per_second_to_100_sse_subscribers_on_each_bus() {
    let total = std::env::var("LUNA_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000).min(HISTORY);
    measure(Setup::Embedded, total).await;
    measure(Setup::Production, total).await;
}
