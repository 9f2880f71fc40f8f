//! Event streams over real HTTP (reqwest streaming), on the embedded stack and on PostgreSQL +
//! Redis: order and envelopes, history with paging, resumption with `Last-Event-ID` after a
//! disconnect (one channel and several), lag notices followed by what was missed (or by the
//! oldest events kept, for a client resuming from before the history), a slow reader
//! not holding back a fast one, keep-alives, and the error shape of bad input.

use bus::{EventId, Publish};
use chrono::Utc;
use domain::{Channel, Payload};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, client_with_token, test_auth};
use crate::stream_support::{Frame, Setup, SseClient, WAIT, quick_live, spawn, spawn_keeping};

crate::on_every_setup!(
    events_arrive_in_order_with_their_ids_types_and_envelopes,
    history_gives_the_newest_events_oldest_first_and_pages_back_through_the_link,
    a_client_that_reconnects_with_last_event_id_gets_what_it_missed_then_live_events,
    subscribe_all_follows_its_channels_and_resumes_each_from_the_cursor_in_its_ids,
    a_lagging_stream_is_told_so_and_then_gets_what_it_missed,
    a_client_resuming_from_before_the_kept_history_is_told_it_missed_events,
    a_slow_subscriber_does_not_hold_back_a_fast_one,
    a_relay_repeat_is_sent_once_and_the_next_event_still_arrives,
    bad_channels_ids_and_limits_get_the_json_error_shape,
    idle_streams_carry_keep_alive_comments,
    a_shutting_down_server_ends_its_streams_and_stops,
    a_shutting_down_server_sends_its_simulations_stop_before_it_ends_the_streams,
    a_rotated_admin_token_ends_the_streams_opened_with_it_and_the_new_one_streams_on,
    include_history_starts_a_stream_with_the_latest_events_of_each_channel_then_live_ones,
    a_cursor_ahead_of_the_bus_resumes_from_the_latest_event_with_nothing_replayed,
);

const USERS: &str = "/api/v1/admin/streams/subscribe/user_actions";

fn handle_of(f: &Frame) -> String {
    f.bus_event().data.to_value()["handle"].as_str().unwrap_or_default().to_string()
}

/// The handles of the next `n` user events.
async fn next_handles(sse: &mut SseClient, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(handle_of(&sse.next_event().await.0));
    }
    out
}

async fn events_arrive_in_order_with_their_ids_types_and_envelopes(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = srv.sse(USERS, None).await;
    let handles: Vec<String> = (0..5).map(|i| format!("order{i}")).collect();
    for h in &handles {
        srv.create_user(h).await;
    }
    let mut last: Option<EventId> = None;
    for h in &handles {
        let (frame, e) = sse.next_event().await;
        assert_eq!(frame.event.as_deref(), Some("user.created"));
        assert_eq!(frame.id.as_deref(), Some(e.id.as_str()), "the SSE id is the event id");
        assert_eq!((e.channel, e.event_type.as_str()), (Channel::UserActions, "user.created"));
        assert_eq!(e.data.to_value()["handle"], h.as_str());
        assert!(e.source_id.is_some(), "events from writes carry their outbox id");
        let id: EventId = e.id.parse().expect("an event id");
        assert!(last.is_none_or(|l| l < id), "ids increase");
        last = Some(id);
    }
}

async fn history_gives_the_newest_events_oldest_first_and_pages_back_through_the_link(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    for i in 0..5 {
        srv.create_user(&format!("hist{i}")).await;
    }
    srv.drained().await;
    let res = srv.client.get(srv.url("/api/v1/admin/streams/history/user_actions?limit=2")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let link = res.headers().get("link").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let page: Value = res.json().await.unwrap();
    assert_eq!((&page["channel"], &page["count"]), (&json!("user_actions"), &json!(2)), "{page}");
    let handles = |page: &Value| -> Vec<String> {
        let events = page["events"].as_array().expect("events");
        events.iter().map(|e| e["data"]["handle"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(handles(&page), ["hist3", "hist4"]);
    let next = link.split(['<', '>']).nth(1).expect("a Link to the previous page");
    let (_, older) = srv.get_json(next).await;
    assert_eq!(handles(&older), ["hist1", "hist2"]);
    let (status, all) = srv.get_json("/api/v1/admin/streams/history/user_actions").await;
    assert_eq!((status, &all["count"]), (StatusCode::OK, &json!(5)), "the default limit covers all 5");
    assert_eq!(handles(&all).len(), 5);
}

async fn a_client_that_reconnects_with_last_event_id_gets_what_it_missed_then_live_events(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = srv.sse(USERS, None).await;
    srv.create_user("seen_a").await;
    srv.create_user("seen_b").await;
    sse.next_event().await;
    let last_seen = sse.next_event().await.0.id.expect("an id");
    drop(sse); // the client goes away...
    for h in ["missed_c", "missed_d", "missed_e"] {
        srv.create_user(h).await;
    }
    srv.drained().await;
    // ...and comes back with the id of the last event it saw.
    let mut again = srv.sse(USERS, Some(&last_seen)).await;
    assert_eq!(next_handles(&mut again, 3).await, ["missed_c", "missed_d", "missed_e"]);
    srv.create_user("live_f").await;
    assert_eq!(next_handles(&mut again, 1).await, ["live_f"], "then live, with nothing repeated");
    // The query parameter does the same for clients that cannot set the header.
    let (_, history) = srv.get_json("/api/v1/admin/streams/history/user_actions?limit=3").await;
    let id_of_d = history["events"][0]["id"].as_str().unwrap();
    let mut by_query = srv.sse(&format!("{USERS}?last_event_id={id_of_d}"), None).await;
    assert_eq!(next_handles(&mut by_query, 2).await, ["missed_e", "live_f"]);
}

async fn subscribe_all_follows_its_channels_and_resumes_each_from_the_cursor_in_its_ids(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let path = "/api/v1/admin/streams/subscribe-all?channels=user_actions,system";
    let mut sse = srv.sse(path, None).await;
    srv.create_user("all_a").await;
    srv.create_venue("Venue A").await;
    let (mut types, mut cursor) = (Vec::new(), String::new());
    for _ in 0..2 {
        let (frame, e) = sse.next_event().await;
        types.push(e.event_type);
        cursor = frame.id.expect("an id");
    }
    types.sort();
    assert_eq!(types, ["user.created", "venue.created"]);
    assert!(cursor.contains("user_actions:") && cursor.contains("system:"), "the id is the cursor: {cursor}");
    assert!(!cursor.contains("bookings:"), "only the followed channels: {cursor}");
    drop(sse);
    srv.create_user("all_b").await;
    srv.create_venue("Venue B").await;
    srv.drained().await;
    let mut again = srv.sse(path, Some(&cursor)).await;
    let mut missed = Vec::new();
    for _ in 0..2 {
        let e = again.next_event().await.1;
        missed.push(
            e.data.to_value()["handle"].as_str().or(e.data.to_value()["name"].as_str()).unwrap_or_default().to_string(),
        );
    }
    missed.sort();
    assert_eq!(missed, ["Venue B", "all_b"]);
    srv.create_user("all_c").await;
    assert_eq!(again.next_event().await.1.data.to_value()["handle"], "all_c", "then live, with nothing repeated");
}

async fn a_lagging_stream_is_told_so_and_then_gets_what_it_missed(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = srv.sse(USERS, None).await;
    srv.create_user("lag_0").await;
    assert_eq!(next_handles(&mut sse, 1).await, ["lag_0"]);
    srv.bus.set_stalled(true); // live deliveries are dropped, as a full buffer would
    srv.create_user("lag_1").await;
    srv.create_user("lag_2").await;
    srv.drained().await;
    srv.bus.set_stalled(false);
    srv.create_user("lag_3").await;
    let notice = sse.next_message().await;
    assert_eq!(notice.event.as_deref(), Some("lagged"), "{notice:?}");
    assert_eq!(serde_json::from_str::<Value>(&notice.data).unwrap(), json!({"missed": 2}));
    assert_eq!(next_handles(&mut sse, 3).await, ["lag_1", "lag_2", "lag_3"], "read back from history");
    srv.create_user("lag_4").await;
    assert_eq!(next_handles(&mut sse, 1).await, ["lag_4"], "then live, with nothing repeated");
}

/// The `n` of every `test.tick` frame until `last`, lag notices skipped.
async fn ticks_until(sse: &mut SseClient, last: u64) -> Vec<u64> {
    let frames =
        sse.until(|f| f.event.as_deref() == Some("test.tick") && f.bus_event().data.to_value()["n"] == last).await;
    frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("test.tick"))
        .map(|f| f.bus_event().data.to_value()["n"].as_u64().unwrap())
        .collect()
}

async fn a_slow_subscriber_does_not_hold_back_a_fast_one(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let path = "/api/v1/admin/streams/subscribe/simulation";
    let mut slow = srv.sse(path, None).await; // connected, then not read until the end
    let mut fast = srv.sse(path, None).await;
    let total = 3_000u64;
    let pad = "x".repeat(1_000); // ~3 MB in all: more than the slow reader's socket buffers hold
    let bus = srv.app.bus.clone();
    let publisher = tokio::spawn(async move {
        for n in 0..total {
            let data = json!({"n": n, "pad": pad});
            let p = Publish {
                channel: Channel::Simulation,
                event_type: "test.tick".into(),
                data: Payload::of(&data).expect("JSON"),
                timestamp: Utc::now(),
                source_id: None,
            };
            bus.publish(p).await.expect("published");
        }
    });
    assert_eq!(ticks_until(&mut fast, total - 1).await, (0..total).collect::<Vec<_>>(), "the fast reader gets all");
    publisher.await.expect("the publisher was not held back");
    assert_eq!(ticks_until(&mut slow, total - 1).await, (0..total).collect::<Vec<_>>(), "the slow one too, later");
}

/// Event `name` on `simulation`, with outbox id `source`.
fn named(name: &str, source: Option<uuid::Uuid>) -> Publish {
    Publish {
        channel: Channel::Simulation,
        event_type: "test.named".into(),
        data: Payload::of(&json!({ "name": name })).expect("JSON"),
        timestamp: Utc::now(),
        source_id: source,
    }
}

/// The names of the next `n` events of `sse`.
async fn next_names(sse: &mut SseClient, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(sse.next_event().await.1.data.to_value()["name"].as_str().unwrap_or_default().to_string());
    }
    out
}

/// Before, SSE clients got the relay's repeats: an event published again with its outbox id
/// (after a failed mark as published) reached them twice. Here `once` goes out twice with one
/// source id, as the relay's repeat does: each stream (one channel, and several) sends it once,
/// then the events after it, the two without a source id both. A client resuming with
/// `Last-Event-ID` after `once` starts a fresh memory and gets the repeat (as documented), then
/// the rest.
async fn a_relay_repeat_is_sent_once_and_the_next_event_still_arrives(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut one = srv.sse("/api/v1/admin/streams/subscribe/simulation", None).await;
    let mut all = srv.sse("/api/v1/admin/streams/subscribe-all?channels=simulation,social", None).await;
    let (source, next) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mut ids = Vec::new();
    for p in [named("once", Some(source)), named("once", Some(source)), named("plain", None), named("plain", None)] {
        ids.push(srv.app.bus.publish(p).await.expect("published").id.clone());
    }
    srv.app.bus.publish(named("next", Some(next))).await.expect("published");
    let want = ["once", "plain", "plain", "next"];
    assert_eq!(next_names(&mut one, 4).await, want, "one channel");
    assert_eq!(next_names(&mut all, 4).await, want, "several");

    let path = "/api/v1/admin/streams/subscribe/simulation";
    let mut resumed = srv.sse(path, Some(&ids[0])).await;
    let (frame, repeat) = resumed.next_event().await;
    assert_eq!((repeat.data.to_value()["name"].as_str(), repeat.source_id), (Some("once"), Some(source)));
    assert_eq!(frame.id.as_deref(), Some(ids[1].as_str()), "the repeat, under its own id");
    assert_eq!(next_names(&mut resumed, 3).await, ["plain", "plain", "next"]);
}

/// A bus keeping 10 events per channel, after 25 were published: a client resuming from `0-0`
/// gets `lagged` with the 15 trimmed before event 15, the oldest kept; one resuming from a
/// trimmed event gets `lagged` with 1 (at least one). Before, both went straight to event 15.
async fn a_client_resuming_from_before_the_kept_history_is_told_it_missed_events(setup: Setup) {
    let s = spawn_keeping(setup, quick_live(), 10).await.expect("server");
    let srv = &s.server;
    let mut ids = Vec::new();
    for n in 0..25u64 {
        let p = Publish {
            channel: Channel::Simulation,
            event_type: "test.tick".into(),
            data: Payload::of(&json!({"n": n})).expect("JSON"),
            timestamp: Utc::now(),
            source_id: None,
        };
        ids.push(srv.app.bus.publish(p).await.expect("published").id.clone());
    }
    let path = "/api/v1/admin/streams/subscribe/simulation";
    for (resume, missed) in [("0-0", 15), (ids[4].as_str(), 1)] {
        let mut sse = srv.sse(path, Some(resume)).await;
        let notice = sse.next_message().await;
        assert_eq!(notice.event.as_deref(), Some("lagged"), "from {resume}: {notice:?}");
        assert_eq!(serde_json::from_str::<Value>(&notice.data).unwrap(), json!({ "missed": missed }), "from {resume}");
        let (frame, first) = sse.next_event().await;
        assert_eq!((first.data.to_value()["n"].as_u64(), frame.id.as_deref()), (Some(15), Some(ids[15].as_str())));
    }
}

async fn bad_channels_ids_and_limits_get_the_json_error_shape(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let cases = [
        ("/api/v1/admin/streams/subscribe/nowhere", None, StatusCode::NOT_FOUND, "not_found", None),
        ("/api/v1/admin/streams/history/nowhere", None, StatusCode::NOT_FOUND, "not_found", None),
        (
            "/api/v1/admin/streams/subscribe-all?channels=bookings,nowhere",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("channels"),
        ),
        (USERS, Some("yesterday"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("Last-Event-ID")),
        // A channel named twice: which position was meant cannot be known (the last used to win).
        (
            USERS,
            Some("social:1-0,bookings:0-0,social:99-0"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("Last-Event-ID"),
        ),
        (
            "/api/v1/admin/streams/subscribe-all?last_event_id=bookings:x",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("last_event_id"),
        ),
        (
            "/api/v1/admin/streams/history/bookings?limit=0",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("limit"),
        ),
        (
            "/api/v1/admin/streams/history/bookings?limit=1001",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("limit"),
        ),
        (
            "/api/v1/admin/streams/history/bookings?limit=ten",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("limit"),
        ),
        (
            "/api/v1/admin/streams/history/bookings?before=soon",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("before"),
        ),
        (
            "/api/v1/admin/streams/subscribe/bookings?include_history=maybe",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("include_history"),
        ),
    ];
    for (path, last_id, status, code, field) in cases {
        let mut req = srv.client.get(srv.url(path));
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["details"][0]["field"], field, "{path}: {body}");
        }
    }
    // A cursor naming an unknown channel: the 422 names it and lists the channels (before, only
    // the general "must be an event id ... or a cursor" message, not saying what was wrong).
    // The 422's body for a stream opened at `path` with `header` as its Last-Event-ID.
    let refused = |path: &'static str, header: Option<&'static str>| async move {
        let mut req = srv.client.get(srv.url(path));
        if let Some(id) = header {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        res.json::<Value>().await.unwrap()
    };
    for (path, header) in [
        (USERS, Some("social:1-0,nowhere:0-0")),
        ("/api/v1/admin/streams/subscribe-all?last_event_id=nowhere:1-0", None),
    ] {
        let body = refused(path, header).await;
        let message = body["error"]["details"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("\"nowhere\""), "{path}: {body}");
        for c in Channel::ALL {
            assert!(message.contains(c.as_str()), "{path}: {} not listed: {body}", c.as_str());
        }
    }
    // A cursor naming none of the stream's channels (another stream's) resumes nothing: a 422
    // naming the stream's channels, not a stream from now that the client takes for resumed.
    for (path, header, field, own) in [
        ("/api/v1/admin/streams/subscribe/system", Some("bookings:1-0"), "Last-Event-ID", "system"),
        (
            "/api/v1/admin/streams/subscribe-all?channels=social,system",
            Some("bookings:1-0"),
            "Last-Event-ID",
            "social, system",
        ),
        (
            "/api/v1/admin/streams/subscribe-all?channels=social&last_event_id=bookings:1-0,metrics:0-0",
            None,
            "last_event_id",
            "social",
        ),
    ] {
        let body = refused(path, header).await;
        assert_eq!(body["error"]["details"][0]["field"], field, "{path}: {body}");
        let message = body["error"]["details"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("({own})")), "{path}: {body}");
    }
    let (status, channels) = srv.get_json("/api/v1/admin/streams/channels").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(channels["channels"].as_object().map(|c| c.len()), Some(Channel::ALL.len()));
    assert!(channels["event_types"]["bookings"].as_array().unwrap().contains(&json!("booking.created")));
    for c in Channel::ALL {
        let types = channels["event_types"][c.as_str()].as_array().cloned().unwrap_or_default();
        assert!(!types.is_empty(), "{} lists no event types", c.as_str());
    }
    for e in ::app::sim::SimEvent::ALL {
        assert!(channels["event_types"]["simulation"].as_array().unwrap().contains(&json!(e.as_str())), "{e:?}");
    }
}

async fn idle_streams_carry_keep_alive_comments(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let mut sse = s.server.sse("/api/v1/admin/streams/subscribe/bookings", None).await;
    let frame = sse.next_frame().await;
    assert!(frame.comment, "an idle stream sends a keep-alive comment: {frame:?}");
}

async fn a_shutting_down_server_ends_its_streams_and_stops(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let mut sse = s.server.sse(USERS, None).await;
    let mut other = s.server.sse("/api/v1/admin/streams/subscribe-all", None).await;
    let served = s.server.shut_down();
    // Before, draining waited on the open streams for ever (QA: alive 90 s after SIGTERM).
    tokio::time::timeout(std::time::Duration::from_secs(5), served)
        .await
        .expect("the server stopped with streams open")
        .expect("serve task");
    assert!(sse.ended().await && other.ended().await, "both streams were ended by the server");
}

/// Before, the streams open when the server was told to stop ended at once, dropping the
/// `simulation.stopped` (reason `shutdown`) the shutdown had just published (QA: SIGTERM with a
/// run going; the dashboard went on showing it running, and neither stream had the stop).
async fn a_shutting_down_server_sends_its_simulations_stop_before_it_ends_the_streams(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let post = async |path: &str, body: Value| {
        let res = srv.client.post(srv.url(path)).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), StatusCode::OK, "{path}: {}", res.text().await.unwrap_or_default());
    };
    post("/api/v1/admin/data/seed", json!({"users": 20, "venues": 10, "seed": 3})).await;
    post("/api/v1/simulation/start", json!({"users": 20, "speed": 100})).await;
    let mut one = srv.sse("/api/v1/admin/streams/subscribe/simulation", None).await;
    let mut all = srv.sse("/api/v1/admin/streams/subscribe-all?channels=simulation,bookings", None).await;
    let served = s.server.shut_down();
    for (name, sse) in [("subscribe", &mut one), ("subscribe-all", &mut all)] {
        let rest = sse.rest().await.unwrap_or_else(|| panic!("the {name} stream ended"));
        let stops: Vec<Value> = (rest.iter())
            .filter(|f| f.event.as_deref() == Some("simulation.stopped"))
            .map(|f| f.bus_event().data.to_value()["stop_reason"].clone())
            .collect();
        assert_eq!(stops, [json!("shutdown")], "{name}: {rest:?}");
    }
    tokio::time::timeout(WAIT, served).await.expect("the server stopped").expect("serve task");
}

async fn a_rotated_admin_token_ends_the_streams_opened_with_it_and_the_new_one_streams_on(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    // With the token in the URL (as EventSource, and QA, open it) and in the header.
    let anon = reqwest::Client::builder().no_proxy().build().unwrap();
    let old_url = srv.url(&format!("{USERS}?access_token={ADMIN_TOKEN}"));
    let mut by_query = SseClient::connect(&anon, &old_url, None).await;
    let mut by_header = srv.sse("/api/v1/admin/streams/subscribe-all", None).await;
    srv.create_user("before_rotation").await;
    assert_eq!(by_query.next_message().await.event.as_deref(), Some("connected"));
    assert_eq!(next_handles(&mut by_query, 1).await, ["before_rotation"]);

    // What `luna admin-token --rotate` does: store a new token; the server adopts it by polling.
    let new_token = "rotated-admin-token-0123456789abcdef";
    srv.app.set_admin_token(new_token).await.expect("rotate");
    let rotated = client_with_token(new_token);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let res = rotated.get(srv.url("/api/v1/admin/streams/channels")).send().await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the new token was not adopted within {WAIT:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut fresh = SseClient::connect(&rotated, &srv.url(USERS), None).await;
    assert_eq!(fresh.next_message().await.event.as_deref(), Some("connected"));
    let create_user = async |handle: &str| {
        let body = json!({"handle": handle, "name": "Stream Tester", "age": 30});
        let res = rotated.post(srv.url("/api/v1/users")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    };
    create_user("after_rotation").await;
    assert_eq!(next_handles(&mut fresh, 1).await, ["after_rotation"], "the new token's stream works");

    // Before, both went on for good (QA: `user.updated` with email and home still sent 15 s on).
    // `WAIT` only detects a failure: they end as soon as the server adopts the new token.
    for (name, sse) in [("?access_token=", &mut by_query), ("Authorization", &mut by_header)] {
        let rest = sse.rest().await.unwrap_or_else(|| panic!("the stream opened by {name} with the old token is open"));
        let after: Vec<&Frame> = rest.iter().filter(|f| f.data.contains("after_rotation")).collect();
        assert!(after.is_empty(), "the old token's stream ({name}) got an event after the rotation: {after:?}");
        let last = rest.last().unwrap_or_else(|| panic!("no notice on the stream opened by {name}"));
        assert!(last.comments.iter().any(|c| c.contains("no longer valid")), "{name}: {last:?}");
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while srv.app.telemetry.subscribers() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "the ended streams kept their places under the cap");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let res = anon.get(&old_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a reconnect with the old token is refused");
    create_user("still_streaming").await;
    assert_eq!(next_handles(&mut fresh, 1).await, ["still_streaming"], "and goes on after the old ones ended");
}

/// `include_history=true` (the second seed document's flag): a stream of one channel starts
/// with its latest 50 events, subscribe-all with the latest 20 of each channel in time order
/// (a channel holding fewer gives all it holds), then live events; a resume point wins over it.
async fn include_history_starts_a_stream_with_the_latest_events_of_each_channel_then_live_ones(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    srv.create_venue("Kept A").await;
    srv.create_venue("Kept B").await;
    let handles: Vec<String> = (0..55).map(|i| format!("inc{i:02}")).collect();
    for h in &handles {
        srv.create_user(h).await;
    }
    srv.drained().await;

    let mut one = srv.sse(&format!("{USERS}?include_history=true"), None).await;
    // Keep-alives come meanwhile: without the replay this would wait for ever.
    let replayed = tokio::time::timeout(WAIT, next_handles(&mut one, 50)).await.expect("the latest 50 in time");
    assert_eq!(replayed, handles[5..], "the latest 50, oldest first");
    let path = "/api/v1/admin/streams/subscribe-all?channels=user_actions,system&include_history=true";
    let mut all = srv.sse(path, None).await;
    let mut first = Vec::new();
    for _ in 0..22 {
        let e = all.next_event().await.1;
        let data = e.data.to_value();
        first.push(data["handle"].as_str().or(data["name"].as_str()).unwrap_or_default().to_string());
    }
    let mut expected = vec!["Kept A".to_string(), "Kept B".to_string()];
    expected.extend_from_slice(&handles[35..]);
    assert_eq!(first, expected, "both venues (fewer than 20), then the latest 20 users, in time order");
    let (_, page) = srv.get_json("/api/v1/admin/streams/history/user_actions?limit=2").await;
    let before_last = page["events"][0]["id"].as_str().expect("an id").to_string();
    let mut resumed = srv.sse(&format!("{USERS}?include_history=true"), Some(&before_last)).await;

    srv.create_user("inc_live").await;
    assert_eq!(next_handles(&mut one, 1).await, ["inc_live"], "then live, nothing repeated");
    assert_eq!(next_handles(&mut all, 1).await, ["inc_live"]);
    assert_eq!(next_handles(&mut resumed, 2).await, ["inc54", "inc_live"], "Last-Event-ID wins");
    let mut live_only = srv.sse(USERS, None).await;
    srv.create_user("inc_after").await;
    assert_eq!(next_handles(&mut live_only, 1).await, ["inc_after"], "without the flag, live events only");
}

/// Opens a stream at `path` with `client` and reads its `connected` frame.
async fn open_with(client: &reqwest::Client, url: &str, last_event_id: &str) -> (SseClient, Frame) {
    let mut sse = SseClient::connect(client, url, Some(last_event_id)).await;
    let hello = sse.next_message().await;
    assert_eq!(hello.event.as_deref(), Some("connected"), "{hello:?}");
    (sse, hello)
}

/// A `Last-Event-ID` later than a channel's latest event (a cursor kept from another deployment,
/// or from before the bus was emptied) resumes that channel from its latest event: the stream's
/// first id says so, nothing of the channel's history is replayed, and live events follow. On
/// one channel, on subscribe-all (one channel ahead, the other resumed as usual) and on a user's
/// stream, whose cursor spans three channels.
async fn a_cursor_ahead_of_the_bus_resumes_from_the_latest_event_with_nothing_replayed(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let me = srv.create_user("ahead_me").await;
    let friend = srv.create_user("ahead_friend").await;
    let other = srv.create_user("ahead_other").await;
    srv.create_venue("Ahead Venue").await;
    let request = async |from: &str| {
        let req = srv.client.post(srv.url(&format!("/api/v1/users/{from}/friend-requests")));
        let res = req.json(&json!({"to_user_id": me})).send().await.expect("POST");
        assert!(res.status().is_success(), "{}", res.status());
    };
    request(&friend).await;
    srv.drained().await;
    let latest = async |channel: &str| {
        let (_, page) = srv.get_json(&format!("/api/v1/admin/streams/history/{channel}?limit=1")).await;
        page["events"][0]["id"].as_str().expect("an id").to_string()
    };
    let (users, system, social) = (latest("user_actions").await, latest("system").await, latest("social").await);
    let ahead = "99999999999999-0";

    let (mut one, hello) = open_with(&srv.client, &srv.url(USERS), ahead).await;
    assert_eq!(hello.id.as_deref(), Some(users.as_str()), "resumed from the latest event: {hello:?}");
    let path = srv.url("/api/v1/admin/streams/subscribe-all?channels=user_actions,system");
    let (mut all, hello) = open_with(&srv.client, &path, &format!("user_actions:{ahead},system:{system}")).await;
    assert_eq!(hello.id, Some(format!("user_actions:{users},system:{system}")), "{hello:?}");
    let token = test_auth().signer().issue(me.parse().expect("a user id"), Utc::now(), chrono::Duration::minutes(15));
    let path = srv.url(&format!("/api/v1/users/{me}/events"));
    let cursor = format!("user_actions:{ahead},social:{ahead},bookings:0-0");
    let (mut mine, hello) = open_with(&client_with_token(&token), &path, &cursor).await;
    assert_eq!(hello.id, Some(format!("user_actions:{users},bookings:0-0,social:{social}")), "{hello:?}");

    // Nothing replayed: the next event of each stream is a live one.
    srv.create_user("ahead_live").await;
    assert_eq!(next_handles(&mut one, 1).await, ["ahead_live"], "no replay on one channel");
    assert_eq!(next_handles(&mut all, 1).await, ["ahead_live"], "no replay on subscribe-all");
    request(&other).await;
    let (frame, e) = mine.next_event().await;
    assert_eq!(e.data.to_value()["from_user_id"], other.as_str(), "the live request, not a replay: {frame:?}");
}
