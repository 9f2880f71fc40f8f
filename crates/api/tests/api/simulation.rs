//! The simulation endpoints: the life of a run (start, pause, resume, speed, scenario, stop,
//! reset), the 409s of transitions that make no sense, validation, a short run at `max` that
//! finishes on its own with its control events on the bus, a run without a duration that stops
//! itself at the booking horizon, and auto-seeding of an empty city.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, expect_json};

crate::on_every_backend!(
    a_run_goes_through_its_states_and_transitions_that_make_no_sense_are_conflicts,
    a_short_run_at_max_speed_finishes_on_its_own_and_announces_itself_on_the_bus,
    starting_on_an_empty_database_seeds_the_demo_city_first,
    bad_start_and_speed_bodies_are_refused_naming_the_field,
    a_pause_answers_with_the_last_tick_and_no_tick_runs_after_it,
    a_start_outside_the_year_2000_to_the_booking_horizon_is_refused_and_writes_nothing,
    a_data_reset_or_forced_reseed_stops_the_running_simulation_first,
    speed_and_multiplier_may_both_be_given_only_when_equal,
    a_run_without_a_duration_stops_itself_at_the_booking_horizon_and_says_why,
    a_server_shutting_down_stops_its_running_simulation_and_says_why,
    a_scenario_is_taken_by_its_name_as_luna_simulate_takes_it,
);

const SIM: &str = "/api/v1/simulation";

async fn post(app: &TestApp, action: &str, body: Value, status: StatusCode) -> Value {
    expect_json(app.post(&format!("{SIM}/{action}"), &body).await, status).await
}

async fn conflict(app: &TestApp, action: &str, body: Value) {
    expect_error(app.post(&format!("{SIM}/{action}"), &body).await, StatusCode::CONFLICT, "conflict", None).await;
}

async fn seed(app: &TestApp, users: u32) {
    let body = json!({"users": users, "venues": users / 2, "seed": 3});
    expect_json(app.post("/api/v1/admin/data/seed", &body).await, StatusCode::OK).await;
}

async fn a_run_goes_through_its_states_and_transitions_that_make_no_sense_are_conflicts(app: &TestApp) {
    seed(app, 40).await;
    assert_eq!(app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["status"], "idle");
    for action in ["pause", "resume", "stop"] {
        conflict(app, action, json!({})).await;
    }
    conflict(app, "speed", json!({"speed": 5})).await;
    conflict(app, "scenario", json!({"scenario": "lunch_rush"})).await;

    let start = json!({"scenario": "friday_night", "speed": 1, "users": 30, "seed": 7});
    let started = post(app, "start", start.clone(), StatusCode::OK).await;
    assert_eq!((started["status"].clone(), started["running"].clone()), (json!("running"), json!(true)));
    assert_eq!((started["active_users"].clone(), started["speed"].clone()), (json!(30), json!(1.0)));
    assert_eq!(started["scenario"], "friday_night");
    conflict(app, "start", start).await;

    let paused = post(app, "pause", json!({}), StatusCode::OK).await;
    // The first seed's keys: a paused run is still running, and paused.
    assert_eq!(
        (&paused["status"], &paused["running"], &paused["paused"]),
        (&json!("paused"), &json!(true), &json!(true))
    );
    conflict(app, "pause", json!({})).await;
    assert_eq!(post(app, "resume", json!({}), StatusCode::OK).await["status"], "running");
    conflict(app, "resume", json!({})).await;

    assert_eq!(post(app, "speed", json!({"multiplier": 50}), StatusCode::OK).await["speed_multiplier"], 50.0);
    let max = post(app, "speed", json!({"speed": "max"}), StatusCode::OK).await;
    assert_eq!((max["speed"].clone(), max["speed_multiplier"].clone()), (json!("max"), Value::Null));
    assert_eq!(
        post(app, "scenario", json!({"scenario": "lunch_rush"}), StatusCode::OK).await["scenario"],
        "lunch_rush"
    );
    let metrics = app.get_json(&format!("{SIM}/metrics"), StatusCode::OK).await;
    assert!(metrics["by_type"].is_object() && metrics["recommendations"]["source"].is_string(), "{metrics}");
    // The first seed's metrics keys: where the run stands, `active_users` a count.
    let seed_keys = ["active_users", "scenario", "running", "paused", "speed_multiplier"].map(|k| metrics[k].clone());
    assert_eq!(seed_keys, [json!(30), json!("lunch_rush"), json!(true), json!(false), Value::Null], "{metrics}");
    assert!(metrics["simulation_time"].as_str().is_some_and(|t| t.parse::<DateTime<Utc>>().is_ok()), "{metrics}");

    let stopped = post(app, "stop", json!({}), StatusCode::OK).await;
    assert_eq!((stopped["status"].clone(), stopped["running"].clone()), (json!("stopped"), json!(false)));
    assert_eq!(stopped["stop_reason"], "requested");
    conflict(app, "stop", json!({})).await;
    conflict(app, "pause", json!({})).await;
    assert_eq!(app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["status"], "stopped");

    assert_eq!(post(app, "start", json!({"users": 10}), StatusCode::OK).await["status"], "running");
    assert_eq!(post(app, "reset", json!({}), StatusCode::OK).await["status"], "idle");
    let state = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
    assert_eq!((state["status"].clone(), state["events_generated"].clone()), (json!("idle"), json!(0)));
}

async fn a_short_run_at_max_speed_finishes_on_its_own_and_announces_itself_on_the_bus(app: &TestApp) {
    seed(app, 40).await;
    let body = json!({"scenario": "lunch_rush", "speed": "max", "users": 40, "duration": "3h", "seed": 1});
    post(app, "start", body, StatusCode::OK).await;
    let mut state = Value::Null;
    for _ in 0..600 {
        state = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
        if state["status"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state["status"], "finished", "{state}");
    assert_eq!(state["ticks"], 180);
    let metrics = app.get_json(&format!("{SIM}/metrics"), StatusCode::OK).await;
    assert!(metrics["actions_total"].as_u64().unwrap_or(0) > 0, "{metrics}");
    assert_eq!(metrics["failures"]["total"], 0, "{metrics}");
    let events = app.app.bus.history(domain::Channel::Simulation, 100, None).await.expect("history");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"simulation.started") && types.contains(&"simulation.finished"), "{types:?}");
    conflict(app, "pause", json!({})).await;
}

async fn starting_on_an_empty_database_seeds_the_demo_city_first(app: &TestApp) {
    let started = post(app, "start", json!({"users": 20, "speed": 1}), StatusCode::OK).await;
    assert_eq!((started["seeded_demo_city"].clone(), started["active_users"].clone()), (json!(true), json!(20)));
    assert!(app.counts().await.users >= 20);
    post(app, "stop", json!({}), StatusCode::OK).await;
}

async fn bad_start_and_speed_bodies_are_refused_naming_the_field(app: &TestApp) {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    for (body, field) in [
        (json!({"speed": 0}), "speed"),
        (json!({"speed": 101}), "speed"),
        (json!({"speed": "warp"}), "speed"),
        (json!({"scenario": "brunch"}), "scenario"),
        (json!({"duration": "forever"}), "duration"),
        (json!({"users": 0}), "users"),
        (json!({"bogus": 1}), "bogus"),
    ] {
        let res = app.post(&format!("{SIM}/start"), &body).await;
        expect_error(res, unprocessable, "validation_failed", Some(field)).await;
    }
    // Every bad field at once, each named once, in the one 422 (not the first of them, then the
    // next on the following try).
    for (body, fields) in [
        (
            json!({"speed": 0, "users": 0, "duration": "forever", "start_at": "1990-01-01T00:00:00Z"}),
            vec!["speed", "duration", "users", "start_at"],
        ),
        (
            json!({"users": 0, "duration": "400d", "start_at": "1990-01-01T00:00:00Z"}),
            vec!["users", "duration", "start_at"],
        ),
    ] {
        let res = app.post(&format!("{SIM}/start"), &body).await;
        let err = expect_error(res, unprocessable, "validation_failed", None).await;
        let mut named: Vec<&str> =
            err["error"]["details"].as_array().unwrap().iter().filter_map(|d| d["field"].as_str()).collect();
        named.sort_unstable();
        let mut want = fields.clone();
        want.sort_unstable();
        assert_eq!(named, want, "{body}: {err}");
    }
    let res = app.post(&format!("{SIM}/speed"), &json!({})).await;
    expect_error(res, unprocessable, "validation_failed", Some("speed")).await;
    let res = app.post(&format!("{SIM}/speed"), &json!({"multiplier": -2})).await;
    expect_error(res, unprocessable, "validation_failed", Some("multiplier")).await;
    let list = app.get_json(&format!("{SIM}/scenarios"), StatusCode::OK).await;
    let ids: Vec<&str> = list["scenarios"].as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids.len(), 7);
    assert!(ids.contains(&"concert_night") && ids.contains(&"happy_hour_rush") && ids.contains(&"new_user_onboarding"));
    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    for path in ["start", "pause", "resume", "stop", "reset", "speed", "scenario", "scenarios", "state", "metrics"] {
        assert!(doc["paths"][format!("{SIM}/{path}")].is_object(), "{path} is not documented");
    }
    // The start's 422 says every bad field is named in it (it said "A bad field, such as...").
    let refused = &doc["paths"][format!("{SIM}/start")]["post"]["responses"]["422"]["description"];
    assert!(refused.as_str().is_some_and(|d| d.contains("every one named in the one 422")), "{refused}");
    // A number for the duration says how to write it (QA on the real binary: `"duration": 30`
    // answered serde's "invalid type: integer `30`, expected a string", no word of the format).
    let res = app.post(&format!("{SIM}/start"), &json!({"duration": 30})).await;
    let err = expect_error(res, unprocessable, "validation_failed", None).await;
    let details = err["error"]["details"].as_array().unwrap();
    let duration = details.iter().find(|d| d["field"] == "duration").unwrap_or_else(|| panic!("{err}"));
    let message = duration["message"].as_str().unwrap();
    assert!(message.contains("no unit") && message.contains("\"30m\""), "{message}");
    assert_eq!(app.counts().await.users, 0, "refused starts write nothing");
}

async fn a_pause_answers_with_the_last_tick_and_no_tick_runs_after_it(app: &TestApp) {
    seed(app, 40).await;
    let body = json!({"scenario": "friday_night", "speed": "max", "users": 40, "seed": 5});
    post(app, "start", body, StatusCode::OK).await;
    // At `max` a tick is almost always under way when the pause arrives.
    for round in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let paused = post(app, "pause", json!({}), StatusCode::OK).await;
        assert_eq!(paused["status"], "paused");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let state = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
        assert_eq!(
            (state["ticks"].clone(), state["simulation_time"].clone()),
            (paused["ticks"].clone(), paused["simulation_time"].clone()),
            "round {round}: a tick ran after the pause answered"
        );
        post(app, "resume", json!({}), StatusCode::OK).await;
    }
    post(app, "stop", json!({}), StatusCode::OK).await;
}

async fn a_start_outside_the_year_2000_to_the_booking_horizon_is_refused_and_writes_nothing(app: &TestApp) {
    let horizon_days = domain::booking::MAX_DAYS_AHEAD;
    let in_days = |d: i64| (chrono::Utc::now() + chrono::Duration::days(d)).to_rfc3339();
    let cases = [
        // The QA run that wrote interactions dated year 1 and bookings up to year 10000.
        (json!({"start_at": "0001-01-01T00:00:00Z", "speed": "max", "users": 300, "duration": "6h"}), "start_at"),
        (json!({"start_at": "1999-12-31T23:59:00Z"}), "start_at"),
        (json!({"start_at": in_days(horizon_days + 1)}), "start_at"),
        (json!({"start_at": "9999-12-31T23:00:00Z", "duration": "6h"}), "start_at"),
        // A start inside the horizon whose end is past it.
        (json!({"start_at": in_days(horizon_days - 1), "duration": "2d"}), "duration"),
    ];
    for (body, field) in cases {
        let res = app.post(&format!("{SIM}/start"), &body).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
        let message = err["error"]["details"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(&format!("{horizon_days} days from now")), "{body}: {message}");
    }
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.interactions, counts.bookings), (0, 0, 0), "refused starts write nothing");
    assert_eq!(app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["status"], "idle");
}

/// Starts a run of 30 users at `max` and waits until they have acted.
async fn start_a_busy_run(app: &TestApp) {
    let body = json!({"scenario": "friday_night", "speed": "max", "users": 30, "seed": 9});
    post(app, "start", body, StatusCode::OK).await;
    for _ in 0..400 {
        if app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["actions_logged"].as_u64().unwrap_or(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run did not get going");
}

async fn simulation_event_types(app: &TestApp) -> Vec<String> {
    let events = app.app.bus.history(domain::Channel::Simulation, 100, None).await.expect("history");
    let mut types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    types.sort();
    types
}

async fn a_data_reset_or_forced_reseed_stops_the_running_simulation_first(app: &TestApp) {
    seed(app, 40).await;
    start_a_busy_run(app).await;
    let reset = expect_json(app.post("/api/v1/admin/data/reset", &json!({})).await, StatusCode::OK).await;
    assert_eq!(reset["success"], true);
    let stopped = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
    assert_eq!((stopped["status"].clone(), stopped["running"].clone()), (json!("stopped"), json!(false)));
    assert_eq!(stopped["stop_reason"], "data_reset");
    assert!(stopped["actions_logged"].as_u64().unwrap_or(0) > 0, "a stopped run's state stays readable: {stopped}");
    let metrics = app.get_json(&format!("{SIM}/metrics"), StatusCode::OK).await;
    assert!(metrics["actions_total"].as_u64().unwrap_or(0) > 0, "its metrics stay readable: {metrics}");
    assert_eq!(simulation_event_types(app).await.iter().filter(|t| *t == "simulation.stopped").count(), 1);
    // Nothing acts for the deleted users any more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.interactions, counts.plans), (0, 0, 0));
    assert_eq!(app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["ticks"], stopped["ticks"]);

    // A forced reseed does the same; a seed without `force` (a 409) leaves the run alone.
    seed(app, 40).await;
    start_a_busy_run(app).await;
    let res = app.post("/api/v1/admin/data/seed", &json!({"users": 40, "venues": 20})).await;
    expect_error(res, StatusCode::CONFLICT, "conflict", Some("force")).await;
    let res = app.post("/api/v1/admin/data/seed", &json!({"force": true, "as_of": "1999-01-01T00:00:00Z"})).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("as_of")).await;
    assert_eq!(
        app.get_json(&format!("{SIM}/state"), StatusCode::OK).await["status"],
        "running",
        "refusals stop nothing"
    );
    let body = json!({"users": 40, "venues": 20, "seed": 4, "force": true});
    expect_json(app.post("/api/v1/admin/data/seed", &body).await, StatusCode::OK).await;
    let stopped = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
    assert_eq!(stopped["status"], "stopped");
    let types = simulation_event_types(app).await;
    assert_eq!(types.iter().filter(|t| *t == "simulation.stopped").count(), 2, "{types:?}");
    let reseeded = app.counts().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.counts().await.interactions, reseeded.interactions, "nothing acts on the new city");
    // A new run can start on the new city.
    assert_eq!(post(app, "start", json!({"users": 10}), StatusCode::OK).await["status"], "running");
    post(app, "stop", json!({}), StatusCode::OK).await;
}

async fn speed_and_multiplier_may_both_be_given_only_when_equal(app: &TestApp) {
    let res = app.post(&format!("{SIM}/speed"), &json!({"speed": 5, "multiplier": 50})).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    let fields: Vec<&str> =
        err["error"]["details"].as_array().expect("details").iter().filter_map(|d| d["field"].as_str()).collect();
    assert_eq!(fields, ["speed", "multiplier"]);
    let res = app.post(&format!("{SIM}/speed"), &json!({"speed": 0, "multiplier": "fast"})).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    assert_eq!(err["error"]["details"].as_array().map(Vec::len), Some(2), "{err}");
    // Equal speeds pass validation (and reach the controller: nothing is running).
    conflict(app, "speed", json!({"speed": 50, "multiplier": "50"})).await;
    conflict(app, "speed", json!({"speed": "max", "multiplier": "MAX"})).await;
}

async fn a_run_without_a_duration_stops_itself_at_the_booking_horizon_and_says_why(app: &TestApp) {
    seed(app, 40).await;
    // No duration, 20 simulated minutes before the horizon (366 days from now): before, its
    // clock went on past the horizon, where no request may plan or book.
    let horizon = chrono::Utc::now() + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD);
    let start_at = (horizon - chrono::Duration::minutes(20)).to_rfc3339();
    let body = json!({"speed": "max", "users": 40, "seed": 2, "start_at": start_at});
    let started = post(app, "start", body, StatusCode::OK).await;
    assert_eq!((started["ends_at"].clone(), started["stop_reason"].clone()), (Value::Null, Value::Null));
    let mut state = Value::Null;
    for _ in 0..300 {
        state = app.get_json(&format!("{SIM}/state"), StatusCode::OK).await;
        if state["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((&state["status"], &state["stop_reason"]), (&json!("stopped"), &json!("booking_horizon")), "{state}");
    assert_eq!((state["ticks"].clone(), state["running"].clone()), (json!(20), json!(false)));
    let time: chrono::DateTime<chrono::Utc> =
        state["simulation_time"].as_str().expect("time").parse().expect("RFC 3339");
    assert!(time <= horizon + chrono::Duration::seconds(10), "{time} is past the horizon {horizon}");
    let metrics = app.get_json(&format!("{SIM}/metrics"), StatusCode::OK).await;
    assert!(metrics["wall_seconds"].as_f64().unwrap_or(0.0) > 0.0, "its metrics stay readable: {metrics}");
    // Announced as a stop is, once, with its state.
    let events = app.app.bus.history(domain::Channel::Simulation, 100, None).await.expect("history");
    let stopped: Vec<Value> = events
        .iter()
        .filter(|e| e.event_type == "simulation.stopped")
        .map(|e| serde_json::from_str(e.data.get()).expect("JSON data"))
        .collect();
    assert_eq!(stopped.len(), 1, "{events:?}");
    assert_eq!((&stopped[0]["stop_reason"], &stopped[0]["ticks"]), (&json!("booking_horizon"), &json!(20)));
    conflict(app, "stop", json!({})).await;
    conflict(app, "resume", json!({})).await;
    // Another run can start.
    assert_eq!(post(app, "start", json!({"users": 10}), StatusCode::OK).await["stop_reason"], Value::Null);
    assert_eq!(post(app, "stop", json!({}), StatusCode::OK).await["stop_reason"], "requested");
}

/// Before, a server shut down (SIGTERM) while a simulation ran ended the run without a word:
/// the simulation channel's last event stayed `simulation.started`, and the dashboard or another
/// server's stream showed the run going on. Now the shutdown stops it first and announces it,
/// with the reason `shutdown`.
async fn a_server_shutting_down_stops_its_running_simulation_and_says_why(app: &TestApp) {
    seed(app, 40).await;
    start_a_busy_run(app).await;
    app.shut_down();
    for _ in 0..200 {
        let events = app.app.bus.history(domain::Channel::Simulation, 100, None).await.expect("history");
        if let Some(stopped) = events.iter().find(|e| e.event_type == "simulation.stopped") {
            let data: Value = serde_json::from_str(stopped.data.get()).expect("JSON data");
            assert_eq!((&data["status"], &data["stop_reason"]), (&json!("stopped"), &json!("shutdown")), "{data}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no simulation.stopped within 10 s of the shutdown");
}

/// Gap: `luna simulate --scenario` took a scenario's display name ("Lunch Rush", as the
/// dashboard and `/simulation/scenarios` show it) while `POST /simulation/start` took ids only
/// (422 for "Lunch Rush"). Both now read it with `app::sim::ScenarioId::find`: id or name, any
/// case, runs of spaces, `-` and `_` as one; so does `POST /simulation/scenario`. An unknown one
/// is a 422 on `scenario` whose message lists every id with its name.
async fn a_scenario_is_taken_by_its_name_as_luna_simulate_takes_it(app: &TestApp) {
    seed(app, 20).await;
    let res = app.post(&format!("{SIM}/start"), &json!({"scenario": "brunch"})).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("scenario")).await;
    let text = err.to_string();
    assert!(text.contains("lunch_rush (Lunch Rush)") && text.contains("weekend_brunch (Weekend Brunch)"), "{err}");
    let start = json!({"scenario": "  lunch - RUSH", "speed": 1, "users": 10, "seed": 7});
    let started = post(app, "start", start, StatusCode::OK).await;
    assert_eq!(started["scenario"], "lunch_rush", "{started}");
    let triggered = post(app, "scenario", json!({"scenario": "Friday Night Out"}), StatusCode::OK).await;
    assert_eq!(triggered["scenario"], "friday_night", "{triggered}");
    let res = app.post(&format!("{SIM}/scenario"), &json!({"scenario": "fridaynight"})).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("scenario")).await;
    post(app, "stop", json!({}), StatusCode::OK).await;
}
