//! Nothing committed is lost between the database and a subscriber: events committed while the
//! bus is unreachable, or while the relay is stopped, wait in the outbox and all reach the SSE
//! stream once it is back; compared by outbox id (`source_id`), each exactly once. On PostgreSQL
//! + Redis, Redis itself is cut away (through a TCP proxy) and brought back.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::stream_support::{Setup, SseClient, StreamServer, WAIT, quick_live, server_with_bus_behind_proxy, spawn};

crate::on_every_setup!(
    events_committed_while_the_bus_is_unreachable_are_all_delivered_when_it_returns,
    events_committed_while_the_relay_is_stopped_are_all_delivered_when_it_restarts,
    an_unreadable_outbox_row_is_set_aside_counted_and_the_events_after_it_delivered,
    dead_letters_set_aside_by_an_older_server_are_listed_and_once_redriven_delivered,
    simulation_control_events_made_while_the_bus_is_unreachable_are_delivered_in_order_when_it_returns,
    a_pause_while_another_relay_holds_the_lease_answers_at_once_and_its_event_follows,
    a_runs_stop_for_a_data_reset_made_while_the_bus_is_unreachable_is_delivered_before_the_reset,
);

const STREAM: &str = "/api/v1/admin/streams/subscribe-all?channels=user_actions,system";

/// The outbox ids of every event waiting to be published.
async fn pending_ids(srv: &StreamServer) -> BTreeSet<Uuid> {
    srv.app.store.unpublished_events(1000).await.expect("outbox").events.into_iter().map(|r| r.id).collect()
}

/// Reads events until every id of `expected` has arrived; fails on a duplicate or a stranger.
async fn receive_all(sse: &mut SseClient, expected: &BTreeSet<Uuid>) {
    let mut seen = BTreeSet::new();
    while seen.len() < expected.len() {
        let (_, e) = sse.next_event().await;
        let id = e.source_id.expect("a source id");
        assert!(expected.contains(&id), "an event that was not waiting: {e:?}");
        assert!(seen.insert(id), "delivered twice: {e:?}");
    }
}

/// Writes 5 users and 2 venues (the server keeps answering); returns their waiting outbox ids.
async fn write_while_unpublished(srv: &StreamServer, tag: &str) -> BTreeSet<Uuid> {
    for i in 0..5 {
        srv.create_user(&format!("{tag}{i}")).await;
    }
    srv.create_venue(&format!("{tag} Hall")).await;
    srv.create_venue(&format!("{tag} Club")).await;
    let waiting = pending_ids(srv).await;
    assert_eq!(waiting.len(), 7, "every committed event waits in the outbox");
    waiting
}

async fn events_committed_while_the_bus_is_unreachable_are_all_delivered_when_it_returns(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = srv.sse(STREAM, None).await;
    srv.bus.set_down(true);
    let waiting = write_while_unpublished(srv, "down").await;
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("degraded")));
    srv.bus.set_down(false); // the relay retries on its own
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
}

async fn events_committed_while_the_relay_is_stopped_are_all_delivered_when_it_restarts(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let relay = s.server.background.remove(0);
    relay.abort();
    let _ = relay.await; // stopped, whatever it was doing
    let srv = &mut s.server;
    let mut sse = srv.sse(STREAM, None).await;
    let waiting = write_while_unpublished(srv, "stopped").await;
    srv.background.push(srv.app.spawn_relay());
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
}

/// A row the relay cannot publish (its channel unknown) used to stop it for good:
/// nothing after it was ever published. It is set aside (a dead letter, counted in the admin
/// stats and in `luna_relay_dead_letters_total`) and the events after it reach the stream.
async fn an_unreadable_outbox_row_is_set_aside_counted_and_the_events_after_it_delivered(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let relay = s.server.background.remove(0);
    relay.abort();
    let _ = relay.await;
    let mut sse = s.server.sse(STREAM, None).await;
    s.server.app.store.record_event(domain::DomainEvent::DataReset).await.expect("recorded");
    let sql = "UPDATE outbox SET channel = 'nowhere' WHERE event_type = 'data.reset'";
    s._db.execute_unchecked("outbox", "outbox_channel_check", sql).await;
    let waiting = write_while_unpublished(&s.server, "after_bad").await;
    let srv = &mut s.server;
    srv.background.push(srv.app.spawn_relay());
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
    let (_, stats) = srv.get_json("/api/v1/admin/stats").await;
    assert_eq!(
        (stats["events"]["outbox_pending"].as_u64(), stats["events"]["outbox_dead"].as_u64()),
        (Some(0), Some(1))
    );
    let text = srv.client.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("luna_relay_dead_letters_total"), "the dead letter is counted in /metrics");

    // The admin lists it with its reason; sent back while its channel is still unknown, the relay
    // sets it aside again.
    let (status, dead) = srv.get_json(DEAD).await;
    assert_eq!(status, StatusCode::OK, "{dead}");
    let letter = &dead[0];
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!((letter["channel"].as_str(), letter["event_type"].as_str()), (Some("nowhere"), Some("data.reset")));
    assert!(letter["dead_reason"].as_str().is_some_and(|r| r.contains("unknown channel")), "{letter}");
    assert_eq!(redrive(srv, serde_json::json!({"all": true})).await, 1);
    srv.drained().await;
    let (_, again) = srv.get_json(DEAD).await;
    assert_eq!(again[0]["id"], letter["id"], "{again}");
    assert!(time(&again[0]["dead_at"]) > time(&letter["dead_at"]), "set aside anew: {again} after {letter}");
}

fn time(v: &serde_json::Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
}

const DEAD: &str = "/api/v1/admin/outbox/dead";
const REDRIVE: &str = "/api/v1/admin/outbox/dead/redrive";

/// `POST .../redrive` with `body` as the admin; how many were sent back.
async fn redrive(srv: &StreamServer, body: serde_json::Value) -> u64 {
    let res = srv.client.post(srv.url(REDRIVE)).json(&body).send().await.expect("POST");
    let answer = crate::helpers::expect_json(res, StatusCode::OK).await;
    answer["redriven"].as_u64().expect("a count")
}

/// Reads the next event, which must come from the outbox row `id`.
async fn receive_from(sse: &mut SseClient, id: &str) {
    let (_, e) = sse.next_event().await;
    assert_eq!(e.source_id.map(|s| s.to_string()).as_deref(), Some(id), "{e:?}");
}

/// The rolling-upgrade case: an older server's relay set aside rows of a channel only the newer
/// version knows. Once every server runs the newer one, the admin lists them (a page at a time),
/// sends one back by id and then all, and each reaches the stream; bad bodies and bad pages are
/// 422s that change nothing, and only the admin may call either. Before, only raw SQL could.
async fn dead_letters_set_aside_by_an_older_server_are_listed_and_once_redriven_delivered(setup: Setup) {
    use crate::helpers::expect_error;
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let relay = s.server.background.remove(0);
    relay.abort();
    let _ = relay.await;
    let mut sse = s.server.sse(STREAM, None).await;
    for _ in 0..2 {
        s.server.app.store.record_event(domain::DomainEvent::DataReset).await.expect("recorded");
    }
    // What the older relay left: the rows stamped dead, with its reason.
    let sql = "UPDATE outbox SET dead_at = created_at, dead_reason = 'unknown channel \"system\"' \
               WHERE event_type = 'data.reset'";
    assert_eq!(s._db.execute_unchecked("outbox", "outbox_channel_check", sql).await, 2);
    let srv = &mut s.server;
    srv.background.push(srv.app.spawn_relay());
    srv.create_user("after_dead").await;
    let (_, e) = sse.next_event().await;
    assert_eq!(e.event_type, "user.created", "the relay passes the dead letters over: {e:?}");

    let res = srv.client.get(srv.url(&format!("{DEAD}?limit=1"))).send().await.expect("GET");
    let next = crate::helpers::next_link(&res).expect("a next page");
    let first = crate::helpers::expect_json(res, StatusCode::OK).await;
    let (_, second) = srv.get_json(&next).await;
    assert!(second.as_array().is_some_and(|a| a.len() == 1), "{second}");
    let ids = [first[0]["id"].as_str().expect("id").to_string(), second[0]["id"].as_str().expect("id").to_string()];
    assert!(ids[0] < ids[1], "{ids:?}");
    assert_eq!((first[0]["channel"].as_str(), first[0]["event_type"].as_str()), (Some("system"), Some("data.reset")));
    assert!(first[0]["payload"].is_string(), "the payload as stored, as text: {first}");
    assert_eq!(time(&first[0]["dead_at"]), time(&first[0]["created_at"]), "{first}");

    let bad = [
        (serde_json::json!({}), "ids"),
        (serde_json::json!({"all": false}), "ids"),
        (serde_json::json!({"ids": []}), "ids"),
        (serde_json::json!({"ids": [ids[0]], "all": true}), "all"),
        (serde_json::json!({"ids": ["not-an-id"]}), "ids[0]"),
        (serde_json::json!({"all": true, "also": 1}), "also"),
    ];
    for (body, field) in bad {
        let res = srv.client.post(srv.url(REDRIVE)).json(&body).send().await.expect("POST");
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    for query in ["limit=0", "limit=501", "after=nope"] {
        let res = srv.client.get(srv.url(&format!("{DEAD}?{query}"))).send().await.expect("GET");
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    }
    let user = srv.create_user("not_admin").await;
    let token = crate::helpers::test_auth().signer().issue(
        user.parse().expect("a user id"),
        chrono::Utc::now(),
        chrono::Duration::minutes(15),
    );
    let as_user = crate::helpers::client_with_token(&token);
    let res = as_user.get(srv.url(DEAD)).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = as_user.post(srv.url(REDRIVE)).json(&serde_json::json!({"all": true})).send().await.expect("POST");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let anyone = reqwest::Client::builder().no_proxy().build().expect("client");
    let res = anyone.post(srv.url(REDRIVE)).json(&serde_json::json!({"all": true})).send().await;
    assert_eq!(res.expect("POST").status(), StatusCode::UNAUTHORIZED);
    let counts = srv.app.store.counts().await.expect("counts");
    assert_eq!(counts.outbox_dead, 2, "no refused request changed anything");
    let (_, e) = sse.next_event().await;
    assert_eq!(e.event_type, "user.created", "{e:?}");

    let unknown = Uuid::now_v7().to_string();
    assert_eq!(redrive(srv, serde_json::json!({"ids": [ids[1], unknown]})).await, 1);
    receive_from(&mut sse, &ids[1]).await;
    let (_, left) = srv.get_json(DEAD).await;
    assert_eq!(crate::helpers::ids(&left), [ids[0].clone()]);
    assert_eq!(redrive(srv, serde_json::json!({"all": true})).await, 1);
    receive_from(&mut sse, &ids[0]).await;
    assert_eq!(redrive(srv, serde_json::json!({"all": true})).await, 0);
    srv.drained().await;
    let (_, none) = srv.get_json(DEAD).await;
    assert_eq!(none, serde_json::json!([]));
    assert_eq!(srv.app.store.counts().await.expect("counts").outbox_dead, 0);
}

/// Polls `/health` until its status is `want`.
async fn health_becomes(srv: &StreamServer, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, health) = srv.get_json("/health").await;
        if health["status"] == want {
            assert_eq!(status, StatusCode::OK, "{health}");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "health never became {want}: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_while_redis_is_cut_off_are_all_delivered_when_it_returns() {
    // Bound whole: its database and key prefix live until the end of the test.
    let Some(setup) = server_with_bus_behind_proxy().await else { return };
    let (srv, proxy) = (&setup.srv, &setup.proxy);
    let mut sse = srv.sse(STREAM, None).await;
    srv.create_user("before_cut").await;
    sse.next_event().await;
    // The relay marks an event published after the bus took it: wait for that before cutting.
    srv.drained().await;
    proxy.cut();
    let waiting = write_while_unpublished(srv, "cut").await;
    health_becomes(srv, "degraded").await;
    proxy.restore();
    receive_all(&mut sse, &waiting).await;
    health_becomes(srv, "healthy").await;
    srv.drained().await;
}

/// POSTs `body` to `path`, expecting a 200 with JSON, which it returns.
async fn post_ok(srv: &StreamServer, path: &str, body: serde_json::Value) -> serde_json::Value {
    let res = srv.client.post(srv.url(path)).json(&body).send().await.expect("POST");
    crate::helpers::expect_json(res, StatusCode::OK).await
}

/// Seeds a city (30 users, 15 venues), opens a stream of `channels` and starts a run at 1x, where
/// a tick takes a wall minute: the run does nothing but answer its controls.
async fn a_run_on_a_seeded_city(srv: &StreamServer, channels: &str) -> SseClient {
    post_ok(srv, "/api/v1/admin/data/seed", serde_json::json!({"users": 30, "venues": 15, "seed": 3})).await;
    let sse = srv.sse(&format!("/api/v1/admin/streams/subscribe-all?channels={channels}"), None).await;
    post_ok(srv, "/api/v1/simulation/start", serde_json::json!({"speed": 1, "users": 20, "seed": 7})).await;
    sse
}

/// The simulator's control events went straight to the bus, not through the outbox: those made
/// while it was unreachable (Redis down) were lost, so a dashboard or SSE client saw the run
/// running on after its stop. They are recorded in the outbox now: the control calls answer
/// meanwhile, and once the bus is back every one reaches the stream, in order, once each.
async fn simulation_control_events_made_while_the_bus_is_unreachable_are_delivered_in_order_when_it_returns(
    setup: Setup,
) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = a_run_on_a_seeded_city(srv, "simulation").await;
    // Keep-alives come all the time: the next event itself is waited for `WAIT` at most.
    let mut next = async || tokio::time::timeout(WAIT, sse.next_event()).await.expect("the next event in time").1;
    let started = next().await;
    assert_eq!(started.event_type, "simulation.started", "{started:?}");

    srv.bus.set_down(true);
    post_ok(srv, "/api/v1/simulation/pause", serde_json::json!({})).await;
    post_ok(srv, "/api/v1/simulation/resume", serde_json::json!({})).await;
    post_ok(srv, "/api/v1/simulation/speed", serde_json::json!({"speed": 5})).await;
    let stopped = post_ok(srv, "/api/v1/simulation/stop", serde_json::json!({})).await;
    assert_eq!(stopped["status"], "stopped", "the stop answers while the bus is down: {stopped}");
    srv.bus.set_down(false); // the relay retries on its own

    let expected = ["simulation.paused", "simulation.resumed", "simulation.speed_changed", "simulation.stopped"];
    let mut ids = BTreeSet::new();
    for want in expected {
        let e = next().await;
        assert_eq!(e.event_type, want, "{e:?}");
        assert!(ids.insert(e.source_id.expect("an outbox id")), "delivered twice: {e:?}");
        if want == "simulation.stopped" {
            let data: serde_json::Value = serde_json::from_str(e.data.get()).expect("JSON");
            assert_eq!(
                (&data["status"], &data["stop_reason"]),
                (&serde_json::json!("stopped"), &serde_json::json!("requested"))
            );
        }
    }
    srv.drained().await;
}

/// A control action publishes its event at once under the relay lease, waiting its turn while
/// another relay holds it. Held for long (another server frozen mid-pass, a hung session), the
/// pause waited 30 s for it and answered the request timeout's 408, though the run was paused
/// (on PostgreSQL: when that relay's session is not idle, as a pass on a slow bus keeps it).
/// It answers within a few seconds now, and its event follows once the lease is free.
async fn a_pause_while_another_relay_holds_the_lease_answers_at_once_and_its_event_follows(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let post = async |path: &str, body: serde_json::Value| {
        srv.client.post(srv.url(path)).json(&body).send().await.expect("POST")
    };
    let mut sse = a_run_on_a_seeded_city(srv, "simulation").await;
    let mut next = async || tokio::time::timeout(WAIT, sse.next_event()).await.expect("the next event in time").1;
    assert_eq!(next().await.event_type, "simulation.started");

    // Another relay holds the lease, mid-pass on a slow bus (checking it every second, as a
    // pass does, so PostgreSQL does not end its session as idle): on PostgreSQL another
    // server's (a store of its own on the same database), on SQLite another in the process.
    let other = match setup {
        Setup::Production => store::connect(&s._db.url).await.expect("another server's store"),
        Setup::Embedded => srv.app.store.clone(),
    };
    let mut lease = other.relay_lease().await.expect("lease").expect("a free lease");
    let began = std::time::Instant::now();
    let pause = post("/api/v1/simulation/pause", serde_json::json!({}));
    tokio::pin!(pause);
    let res = loop {
        tokio::select! {
            res = &mut pause => break res,
            () = tokio::time::sleep(Duration::from_secs(1)) => assert!(lease.still_held().await, "the lease held"),
        }
    };
    let took = began.elapsed();
    let paused = crate::helpers::expect_json(res, StatusCode::OK).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert!(took < Duration::from_secs(10), "the pause waited {took:?} for another relay's lease");
    lease.release().await;
    let e = next().await;
    assert_eq!(e.event_type, "simulation.paused", "the relay publishes it once the lease is free: {e:?}");
    let res = post("/api/v1/simulation/stop", serde_json::json!({})).await;
    crate::helpers::expect_json(res, StatusCode::OK).await;
    assert_eq!(next().await.event_type, "simulation.stopped");
    srv.drained().await;
}

/// A data reset empties the outbox but for its `data.reset`. It stops a running simulation first,
/// whose `simulation.stopped` went to the outbox just before: while the bus was unreachable it
/// was still waiting there, and the reset deleted it, so nothing ever said the run had stopped.
/// Services' events waiting are kept now, ahead of the reset's.
async fn a_runs_stop_for_a_data_reset_made_while_the_bus_is_unreachable_is_delivered_before_the_reset(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = a_run_on_a_seeded_city(srv, "simulation,system").await;
    let mut next = async || tokio::time::timeout(WAIT, sse.next_event()).await.expect("the next event in time").1;
    // The seed's data.seeded may come first.
    while next().await.event_type != "simulation.started" {}

    srv.bus.set_down(true);
    post_ok(srv, "/api/v1/admin/data/reset", serde_json::json!({})).await;
    srv.bus.set_down(false); // the relay retries on its own

    let stopped = next().await;
    assert_eq!(stopped.event_type, "simulation.stopped", "{stopped:?}");
    let data: serde_json::Value = serde_json::from_str(stopped.data.get()).expect("JSON");
    assert_eq!(data["stop_reason"], "data_reset", "{data}");
    let reset = next().await;
    assert_eq!(reset.event_type, "data.reset", "{reset:?}");
    srv.drained().await;
}
