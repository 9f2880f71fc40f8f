//! Stats, metrics and health over HTTP on both stacks: the admin stats in the seed's shape with
//! bookings by status, open streams counted and capped, the periodic `metrics.snapshot` with the
//! figures `/metrics` exports, and `/health` reporting the bus and the background tasks without
//! going down with them.

use std::time::Duration;

use app::LiveSettings;
use domain::{Booking, BookingStatus, DomainEvent};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stream_support::{
    RedisPrefix, RedisUser, Setup, StreamServer, TestDb, WAIT, production_urls, quick_live, spawn,
};

crate::on_every_setup!(
    stats_count_users_venues_bookings_by_status_and_events_in_the_seed_shape,
    trending_venues_stop_counting_once_deleted_or_reset_even_when_a_reseed_brings_their_ids_back,
    a_reset_given_an_option_is_refused_naming_it_and_deletes_nothing,
    open_streams_are_counted_and_one_past_the_cap_gets_a_503,
    a_metrics_snapshot_carries_request_rates_latencies_and_bookings_and_metrics_exports_them,
    venues_shown_then_viewed_liked_or_booked_are_conversions_of_the_ranker_that_showed_them,
    health_reports_the_bus_and_keeps_serving_when_it_is_down,
    health_is_degraded_with_the_error_while_the_bus_trimming_fails,
    health_shows_a_background_task_that_is_down_until_its_supervisor_restarts_it,
);

fn booking(user_id: uuid::Uuid, venue_id: uuid::Uuid, status: BookingStatus, n: usize) -> Booking {
    let now = chrono::Utc::now();
    Booking {
        id: domain::new_id(),
        user_id: Some(user_id),
        venue_id,
        plan_id: None,
        booking_time: now + chrono::Duration::days(1),
        party_size: 2,
        duration_minutes: 120,
        status,
        confirmation_code: format!("LUNA-T{n:04}"),
        provider: "house".into(),
        agent: "test".into(),
        group_members: vec![],
        special_requests: None,
        created_at: now,
        updated_at: now,
    }
}

/// Writes bookings with these statuses (and their `booking.created` events) for a new user at a
/// new venue; returns the two.
async fn book(srv: &StreamServer, statuses: &[BookingStatus]) -> (uuid::Uuid, uuid::Uuid) {
    let user: uuid::Uuid = srv.create_user("booker").await.parse().unwrap();
    let venue: uuid::Uuid = srv.create_venue("Booked Bar").await.parse().unwrap();
    let bookings: Vec<Booking> = statuses.iter().enumerate().map(|(n, s)| booking(user, venue, *s, n)).collect();
    let batch = store::Batch { bookings: bookings.clone(), ..store::Batch::default() };
    srv.app.store.insert_batch(batch).await.expect("bookings written");
    for b in bookings {
        srv.app.store.record_event(DomainEvent::BookingCreated(b)).await.expect("event recorded");
    }
    srv.app.wrote();
    (user, venue)
}

/// Polls `path` until `ready` holds for its JSON body.
async fn wait_for_json(srv: &StreamServer, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    poll_json(srv, path, |_, body| ready(body)).await
}

/// Polls `path` until `ready` holds for its status and JSON body; returns the body.
async fn poll_json(srv: &StreamServer, path: &str, ready: impl Fn(StatusCode, &Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = srv.get_json(path).await;
        if ready(status, &body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stats_count_users_venues_bookings_by_status_and_events_in_the_seed_shape(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let res = srv
        .client
        .post(srv.url("/api/v1/admin/data/seed"))
        .json(&serde_json::json!({"users": 20, "venues": 10}))
        .send();
    let res = res.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The seed books its confirmed plans (all confirmed).
    let seeded = res.json::<serde_json::Value>().await.unwrap()["seeded"]["bookings"].as_u64().unwrap();
    use BookingStatus::*;
    let (user, venue) = book(srv, &[Pending, Confirmed, Confirmed, Cancelled, NoShow]).await;
    let like = serde_json::json!({"user_id": user, "interaction_type": "like"});
    let res = srv.client.post(srv.url(&format!("/api/v1/venues/{venue}/interactions"))).json(&like).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::CREATED);
    srv.drained().await;
    // On Redis the counts come from the stream reader, a moment after publishing.
    let stats = wait_for_json(srv, "/api/v1/admin/stats", |s| {
        s["events"]["per_channel"]["bookings"] == 5 && s["venues"]["trending"] == 1
    })
    .await;
    assert_eq!(stats["users"]["total"], 21);
    let (simulated, real) = (stats["users"]["simulated"].as_u64().unwrap(), stats["users"]["real"].as_u64().unwrap());
    assert_eq!((simulated + real, real), (21, 1), "seeded users have personas; the booker has none");
    assert_eq!(stats["venues"]["total"], 11);
    let totals = (stats["bookings"]["total"].as_u64(), stats["bookings"]["confirmed"].as_u64());
    assert_eq!(totals, (Some(5 + seeded), Some(2 + seeded)));
    let by_status = stats["bookings"]["by_status"].as_object().unwrap();
    let expected = [("pending", 1), ("confirmed", 2 + seeded), ("cancelled", 1), ("completed", 0), ("no_show", 1)];
    for (name, n) in expected {
        assert_eq!(by_status[name], n, "{name}");
    }
    assert_eq!(stats["interactions"]["total"], srv.app.store.counts().await.unwrap().interactions);
    assert_eq!(stats["events"]["backend"], srv.app.bus.backend());
    assert_eq!(stats["events"]["outbox_pending"], 0);
    assert!(stats["events"]["last_minute"].as_u64() >= Some(9), "seeded, user, venue, 5 bookings, like: {stats}");
    assert!(stats["events"]["per_second"].as_f64() > Some(0.0), "{stats}");
    assert_eq!(stats["streams"]["max_subscribers"], 1000);
}

async fn trending_venues_stop_counting_once_deleted_or_reset_even_when_a_reseed_brings_their_ids_back(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let seed = || async {
        let res =
            srv.client.post(srv.url("/api/v1/admin/data/seed")).json(&json!({"users": 10, "venues": 5, "force": true}));
        assert_eq!(res.send().await.unwrap().status(), StatusCode::OK);
    };
    seed().await;
    let user = srv.create_user("liker").await;
    let venues = [srv.create_venue("Kept Bar").await, srv.create_venue("Gone Bar").await];
    let (_, listed) = srv.get_json("/api/v1/venues?limit=1").await;
    let seeded = listed[0]["id"].as_str().expect("a seeded venue").to_string();
    for venue in venues.iter().chain([&seeded]) {
        let like = json!({"user_id": user, "interaction_type": "like"});
        let res = srv.client.post(srv.url(&format!("/api/v1/venues/{venue}/interactions"))).json(&like).send().await;
        assert_eq!(res.unwrap().status(), StatusCode::CREATED);
    }
    srv.drained().await;
    wait_for_json(srv, "/api/v1/admin/stats", |s| s["venues"]["trending"] == 3).await;

    // A deleted venue stops counting at once, before its event comes back from the bus.
    let res = srv.client.delete(srv.url(&format!("/api/v1/venues/{}", venues[1]))).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    let (_, stats) = srv.get_json("/api/v1/admin/stats").await;
    assert_eq!(stats["venues"]["trending"], 2, "{stats}");

    // A reset: nothing is left to trend.
    let res = srv.client.post(srv.url("/api/v1/admin/data/reset")).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    let (_, stats) = srv.get_json("/api/v1/admin/stats").await;
    assert_eq!(
        (stats["venues"]["total"].as_u64(), stats["venues"]["trending"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );

    // The same seed in the same hour makes the same venues; the one liked before the reset is
    // back, but nobody has touched it since.
    seed().await;
    srv.drained().await;
    let stats = wait_for_json(srv, "/api/v1/admin/stats", |s| s["venues"]["trending"] == 0).await;
    assert_eq!(stats["venues"]["total"], 5);
    let (status, _) = srv.get_json(&format!("/api/v1/venues/{seeded}")).await;
    if status != StatusCode::OK {
        eprintln!("the hour turned between the seeds: the reseed made other venues");
    }
}

/// A reset has no options: one sent (a client counting on a `dry_run`) is refused, naming it,
/// and nothing is deleted; no body, or an empty object as the dashboard sends, resets.
async fn a_reset_given_an_option_is_refused_naming_it_and_deletes_nothing(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    srv.create_venue("Still Here").await;
    let venues = async || srv.get_json("/api/v1/admin/stats").await.1["venues"]["total"].as_u64();
    let reset = async |body: Option<Value>| {
        let req = srv.client.post(srv.url("/api/v1/admin/data/reset"));
        let res = match body {
            Some(b) => req.json(&b).send().await,
            None => req.send().await,
        };
        let res = res.unwrap();
        (res.status(), res.text().await.unwrap())
    };
    for option in [json!({"dry_run": true}), json!({"keep_users": true})] {
        let (status, body) = reset(Some(option.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{option}: {body}");
        let name = option.as_object().unwrap().keys().next().unwrap().clone();
        assert!(body.contains(&name), "{body}");
        assert_eq!(venues().await, Some(1), "{option} deleted the data");
    }
    assert_eq!(reset(Some(json!({}))).await.0, StatusCode::OK);
    assert_eq!(venues().await, Some(0));
    srv.create_venue("Again").await;
    assert_eq!(reset(None).await.0, StatusCode::OK);
    assert_eq!(venues().await, Some(0));
}

async fn open_streams_are_counted_and_one_past_the_cap_gets_a_503(setup: Setup) {
    let s = spawn(setup, LiveSettings { max_subscribers: 2, ..quick_live() }).await.expect("server");
    let srv = &s.server;
    let path = "/api/v1/admin/streams/subscribe/bookings";
    let first = srv.sse(path, None).await;
    let _second = srv.sse("/api/v1/admin/streams/subscribe-all", None).await;
    let (_, stats) = srv.get_json("/api/v1/admin/stats").await;
    assert_eq!(stats["streams"]["active_subscribers"], 2);
    let res = srv.client.get(srv.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "service_unavailable");
    drop(first); // noticed at the next keep-alive write at the latest
    wait_for_json(srv, "/api/v1/admin/stats", |s| s["streams"]["active_subscribers"] == 1).await;
    srv.sse(path, None).await;
}

async fn a_metrics_snapshot_carries_request_rates_latencies_and_bookings_and_metrics_exports_them(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut metrics = srv.sse("/api/v1/admin/streams/subscribe/metrics", None).await;
    book(srv, &[BookingStatus::Pending, BookingStatus::Confirmed]).await;
    let (status, _) = srv.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    let frames = metrics
        .until(|f| {
            let e = f.bus_event();
            e.event_type == "metrics.snapshot" && e.data.to_value()["bookings_per_minute"].as_u64() >= Some(2)
        })
        .await;
    let snapshot = frames.last().expect("a snapshot").bus_event().data.to_value();
    assert!(snapshot["requests_last_minute"].as_u64() >= Some(3), "{snapshot}");
    assert!(snapshot["requests_per_second"].as_f64() > Some(0.0));
    let routes = snapshot["routes"].as_array().unwrap();
    let list = routes.iter().find(|r| r["route"] == "GET /api/v1/users").unwrap_or_else(|| panic!("{snapshot}"));
    assert_eq!(list["total"], 1);
    assert!(list["latency_ms"]["p99"].as_f64() > Some(0.0), "{list}");
    assert!(snapshot["recommendation_latency_ms"]["p50"].is_number(), "present even before reco routes exist");
    assert!(snapshot["events_per_channel"]["bookings"].as_u64() >= Some(2));
    assert!(snapshot["server"].is_string() && snapshot["sse_subscribers"] == 1, "{snapshot}");
    let text = srv.client.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for series in [
        "luna_requests_per_second",
        "luna_bookings_per_minute",
        "luna_events_per_second",
        "luna_route_latency_ms{",
        "luna_sse_subscribers",
        "luna_bus_events_published_total{",
    ] {
        assert!(text.contains(series), "{series} missing from /metrics");
    }
}

/// Records what `user` did with `venue` through the second seed's path.
async fn interact(srv: &StreamServer, user: &str, venue: &str, kind: &str) {
    let body = serde_json::json!({"user_id": user, "interaction_type": kind});
    let res = srv.client.post(srv.url(&format!("/venues/{venue}/interactions"))).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
}

async fn venues_shown_then_viewed_liked_or_booked_are_conversions_of_the_ranker_that_showed_them(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    // Users living by the venues (seed2 ranks by the distance from home).
    let neighbour = |handle: &'static str| async move {
        let body = serde_json::json!({"handle": handle, "name": handle, "home_lat": 40.731, "home_lng": -73.99});
        let res = srv.client.post(srv.url("/api/v1/users")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    };
    let user = neighbour("shown").await;
    let (a, b) = (srv.create_venue("Shown Bar").await, srv.create_venue("Also Shown").await);
    // One seed2 answer that shows both venues (the engine follows the writes).
    let shown =
        wait_for_json(srv, &format!("/reco/venues/{user}?limit=10"), |v| v.as_array().is_some_and(|l| l.len() == 2))
            .await;
    assert_eq!(shown.as_array().unwrap().len(), 2);
    let mut metrics = srv.sse("/api/v1/admin/streams/subscribe/metrics", None).await;
    interact(srv, &user, &a, "view").await;
    interact(srv, &user, &a, "view").await; // the same conversion again: counted once
    interact(srv, &user, &a, "like").await;
    interact(srv, &user, &b, "search").await; // not a conversion
    let other = neighbour("not_shown").await;
    interact(srv, &other, &a, "like").await; // a user who was not shown it
    let booking = booking(user.parse().unwrap(), a.parse().unwrap(), BookingStatus::Confirmed, 0);
    srv.app
        .store
        .insert_batch(store::Batch { bookings: vec![booking.clone()], ..store::Batch::default() })
        .await
        .unwrap();
    srv.app.store.record_event(DomainEvent::BookingCreated(booking)).await.unwrap();
    srv.app.wrote();
    let seed2 = |f: &crate::stream_support::Frame| -> Option<Value> {
        let data = f.bus_event().data.to_value();
        let list = data["recommendation_conversion"].as_array()?.clone();
        list.into_iter().find(|r| r["ranker"] == "seed2")
    };
    let frames = metrics.until(|f| seed2(f).is_some_and(|r| r["booked"] == 1 && r["liked"] == 1)).await;
    let r = seed2(frames.last().unwrap()).unwrap();
    // Polling may have served answers before both venues were in; the last showed both.
    let (answers, shown) = (r["answers"].as_u64().unwrap(), r["shown"].as_u64().unwrap());
    assert!(answers >= 1 && shown >= 2 && shown <= 2 * answers, "{r}");
    assert_eq!((r["viewed"].as_u64(), r["liked"].as_u64(), r["visited"].as_u64()), (Some(1), Some(1), Some(0)), "{r}");
    let rate = r["booking_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / shown as f64).abs() < 1e-9, "{r}");
    // Shown again by the default ranker: a visit now counts for it, not for seed2.
    let (status, again) = srv.get_json(&format!("/api/v1/recommendations/{user}/venues?limit=10")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(again.to_string().contains(&a), "{again}");
    interact(srv, &user, &a, "visit").await;
    let by = |f: &crate::stream_support::Frame, name: &str| -> Option<Value> {
        let data = f.bus_event().data.to_value();
        data["recommendation_conversion"].as_array()?.iter().find(|r| r["ranker"] == name).cloned()
    };
    let frames = metrics.until(|f| by(f, "default").is_some_and(|r| r["visited"] == 1)).await;
    let last = frames.last().unwrap();
    assert_eq!(by(last, "seed2").unwrap()["visited"], 0);
    let text = srv.client.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"luna_recommendation_conversion_rate{ranker="default",kind="visited"}"#), "{text}");
    // A group answer is shown to every member.
    let (status, group) = srv.get_json(&format!("/api/v1/recommendations/group/{user},{other}")).await;
    assert_eq!(status, StatusCode::OK, "{group}");
    let n = group["group_venues"].as_array().map_or(0, Vec::len) as u64;
    assert!(n >= 1, "{group}");
    let frames = metrics.until(|f| by(f, "group").is_some()).await;
    let g = by(frames.last().unwrap(), "group").unwrap();
    assert_eq!((g["answers"].as_u64(), g["shown"].as_u64()), (Some(1), Some(2 * n)), "{g}");
}

async fn health_reports_the_bus_and_keeps_serving_when_it_is_down(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("healthy")), "{health}");
    assert_eq!(health["bus"]["status"], "ok");
    assert_eq!(health["bus"]["backend"], srv.app.bus.backend());
    srv.bus.set_down(true);
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("degraded")), "{health}");
    assert_eq!(
        (health["bus"]["status"].as_str(), health["database"]["status"].as_str()),
        (Some("unavailable"), Some("ok"))
    );
    srv.create_user("still_served").await;
    srv.bus.set_down(false);
    let (_, health) = srv.get_json("/health").await;
    assert_eq!(health["status"], "healthy");
}

/// Before, a bus whose trims kept failing (a Redis user without the scripting commands) only
/// logged and counted it: `/health` said healthy while its streams grew without bound. Here the
/// bus reports trims failing (a double: the Redis bus's own state is tested in the bus crate):
/// degraded, still 200 and serving, with the error, until a trim succeeds again.
async fn health_is_degraded_with_the_error_while_the_bus_trimming_fails(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("healthy")), "{health}");
    assert_eq!((&health["bus"]["trim_failures"], &health["bus"]["trim_error"]), (&json!(0), &Value::Null), "{health}");

    let error = "bookings: NoPerm: this user has no permissions to run the 'eval' command";
    srv.bus.set_trim_state(Some(bus::TrimState { failures: 2, error: Some(error.into()) }));
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("degraded")), "{health}");
    assert_eq!(health["bus"]["status"], "ok", "the bus answers: {health}");
    assert_eq!((&health["bus"]["trim_failures"], &health["bus"]["trim_error"]), (&json!(2), &json!(error)));
    srv.create_user("served_while_trims_fail").await;

    srv.bus.set_trim_state(Some(bus::TrimState { failures: 2, error: None }));
    let (_, health) = srv.get_json("/health").await;
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!((&health["bus"]["trim_failures"], &health["bus"]["trim_error"]), (&json!(2), &Value::Null));
}

/// The same with a real failing trim: the server's Redis user may not run scripts, so every
/// trim fails (the metrics snapshots publish every 300 ms); once it may, they work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_degraded_while_redis_refuses_the_trim_script_and_healthy_once_it_runs() {
    let Some((_, redis_url)) = production_urls() else {
        eprintln!("skipped: TEST_POSTGRES_URL and TEST_REDIS_URL are not both set");
        return;
    };
    let db = TestDb::create(Setup::Production).await.expect("database");
    let user = RedisUser::without(&redis_url, "-@scripting");
    let prefix = RedisPrefix::new(&redis_url);
    let store = store::connect(&db.url).await.expect("store");
    let srv = StreamServer::start(store, prefix.connect(&user.url).await, quick_live()).await;

    let health = health_until(&srv, |h| !h["bus"]["trim_error"].is_null()).await;
    assert_eq!((health["status"].as_str(), health["bus"]["status"].as_str()), (Some("degraded"), Some("ok")));
    let error = health["bus"]["trim_error"].as_str().unwrap_or_default();
    assert!(error.contains("trim failed (NOPERM;"), "{health}");
    assert!(health["bus"]["trim_failures"].as_u64() >= Some(1), "{health}");
    srv.create_user("served_no_scripts").await;

    user.allow("+@scripting");
    // The user's event may have gone out (and failed its trim) before the user could run
    // scripts: another one on its channel trims it back to health.
    srv.create_user("served_with_scripts").await;
    let health = health_until(&srv, |h| h["status"] == "healthy").await;
    assert!(health["bus"]["trim_error"].is_null() && health["bus"]["trim_failures"].as_u64() >= Some(1), "{health}");
}

/// Polls `/health` until `check` holds of it, every answer a 200 (degraded or not); returns it.
async fn health_until(srv: &StreamServer, check: impl Fn(&Value) -> bool) -> Value {
    poll_json(srv, "/health", |status, health| {
        assert_eq!(status, StatusCode::OK, "{health}");
        check(health)
    })
    .await
}

/// Before, a background task that panicked stopped its pipeline while `/health` stayed green.
/// Here a supervised task panics on its first two runs: `/health` shows it down (degraded, still
/// serving) with its failure, then running again after two restarts; the server's own tasks are
/// listed as running, and the restarts are counted in `/metrics`.
async fn health_shows_a_background_task_that_is_down_until_its_supervisor_restarts_it(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let health = health_until(srv, |h| h["status"] == "healthy").await;
    for task in ["relay", "engine_follower", "metrics_watcher", "metrics_snapshots", "booking_janitor"] {
        assert_eq!(health["tasks"][task]["status"], "running", "{task}: {health}");
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let flaky = srv.app.tasks.supervise("test_flaky", move || {
        let runs = runs.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                panic!("on purpose");
            }
            std::future::pending::<()>().await
        }
    });
    let down = health_until(srv, |h| h["tasks"]["test_flaky"]["status"] == "down").await;
    assert_eq!(down["status"], "degraded", "{down}");
    assert_eq!(down["tasks"]["test_flaky"]["last_failure"], "panicked: on purpose", "{down}");
    srv.create_user("served_meanwhile").await;
    let up = health_until(srv, |h| h["tasks"]["test_flaky"]["restarts"] == 2).await;
    assert_eq!(up["tasks"]["test_flaky"]["status"], "running", "{up}");
    let text = srv.client.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("luna_background_task_restarts_total{task=\"test_flaky\"}"), "restarts counted");
    flaky.abort();
    let _ = flaky.await;
    health_until(srv, |h| h["status"] == "healthy" && h["tasks"].get("test_flaky").is_none()).await;
}
