//! Two servers on one PostgreSQL database and one Redis (needs `TEST_POSTGRES_URL` and
//! `TEST_REDIS_URL`): a write through either shows up on the other's SSE stream, both streams see
//! every event once and in the same order (one relay publishes at a time), and the delay from
//! write to event on the other server is measured and printed (`--nocapture` shows it).

use std::time::{Duration, Instant};

use crate::stream_support::{SseClient, two_servers};

const WRITES: usize = 200;
const USERS: &str = "/api/v1/admin/streams/subscribe/user_actions";

/// Reads `sse` until the user `handle` arrives; appends every handle seen to `seen`.
async fn read_until(sse: &mut SseClient, handle: &str, seen: &mut Vec<String>) {
    loop {
        let e = sse.next_event().await.1;
        let h = e.data.to_value()["handle"].as_str().unwrap_or_default().to_string();
        seen.push(h.clone());
        if h == handle {
            return;
        }
    }
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut delays: Vec<Duration>) -> f64 {
    delays.sort();
    let (median, p99) = (percentile(&delays, 0.5), percentile(&delays, 0.99));
    eprintln!(
        "two servers: {name}: n={} median {median:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        delays.len(),
        percentile(&delays, 1.0)
    );
    median
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_server_shows_up_promptly_once_and_in_order_on_the_other() {
    let Some(servers) = two_servers().await else { return };
    let (a, b) = (&servers.a, &servers.b);
    let (mut on_a, mut on_b) = (a.sse(USERS, None).await, b.sse(USERS, None).await);
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    let (mut a_to_b, mut b_to_a, mut round_trips) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..WRITES {
        let handle = format!("two{i:03}");
        let (writer, watcher, seen, delays) = match i % 2 {
            0 => (a, &mut on_b, &mut seen_b, &mut a_to_b),
            _ => (b, &mut on_a, &mut seen_a, &mut b_to_a),
        };
        let start = Instant::now();
        writer.create_user(&handle).await;
        round_trips.push(start.elapsed());
        read_until(watcher, &handle, seen).await;
        delays.push(start.elapsed());
    }
    let last = format!("two{:03}", WRITES - 1);
    if seen_a.last() != Some(&last) {
        read_until(&mut on_a, &last, &mut seen_a).await;
    }
    if seen_b.last() != Some(&last) {
        read_until(&mut on_b, &last, &mut seen_b).await;
    }
    let expected: Vec<String> = (0..WRITES).map(|i| format!("two{i:03}")).collect();
    assert_eq!(seen_a, expected, "server A's stream: every write once, in write order");
    assert_eq!(seen_b, expected, "server B's stream: the same");
    let all: Vec<Duration> = a_to_b.iter().chain(&b_to_a).copied().collect();
    let median = summary("write on one -> event on the other's SSE", all);
    summary("A -> B", a_to_b);
    summary("B -> A", b_to_a);
    summary("write round trip (POST /api/v1/users)", round_trips);
    assert!(median < 500.0, "the other server sees a write within half a second (median {median:.1} ms)");
}

/// A data reset made through server A deletes the users server B's simulation acts for: B's run
/// stops when A's `data.reset` reaches B's engine follower, with the reason `data_reset` and its
/// `simulation.stopped` on the bus, as a reset made through B stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_reset_through_one_server_stops_the_other_servers_simulation() {
    let Some(servers) = two_servers().await else { return };
    let (a, b) = (&servers.a, &servers.b);
    let seed = serde_json::json!({"users": 40, "venues": 20, "seed": 3});
    let res = a.client.post(a.url("/api/v1/admin/data/seed")).json(&seed).send().await.expect("seed");
    assert!(res.status().is_success(), "seed: {}", res.text().await.unwrap_or_default());
    let mut sim_events = b.sse("/api/v1/admin/streams/subscribe/simulation", None).await;
    let start = serde_json::json!({"speed": 1, "users": 30, "seed": 7});
    let res = b.client.post(b.url("/api/v1/simulation/start")).json(&start).send().await.expect("start");
    assert!(res.status().is_success(), "start on B: {}", res.text().await.unwrap_or_default());
    assert_eq!(b.get_json("/api/v1/simulation/state").await.1["status"], "running");

    let res = a.client.post(a.url("/api/v1/admin/data/reset")).send().await.expect("reset");
    assert!(res.status().is_success(), "reset on A: {}", res.text().await.unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let state = b.get_json("/api/v1/simulation/state").await.1;
        if state["status"] != "running" || Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((&state["status"], &state["stop_reason"]), (&"stopped".into(), &"data_reset".into()), "{state}");
    loop {
        let e = sim_events.next_event().await.1;
        if e.event_type == "simulation.stopped" {
            assert_eq!(e.data.to_value()["stop_reason"], "data_reset", "{e:?}");
            break;
        }
    }
}
