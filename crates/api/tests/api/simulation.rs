//! The simulation endpoints: the life of a run (start, pause, resume, speed, scenario, stop,
//! reset), the 409s of transitions that make no sense, validation, a short run at `max` that
//! finishes on its own with its control events on the bus, and auto-seeding of an empty city.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, expect_json};

crate::on_every_backend!(
    a_run_goes_through_its_states_and_transitions_that_make_no_sense_are_conflicts,
    a_short_run_at_max_speed_finishes_on_its_own_and_announces_itself_on_the_bus,
    starting_on_an_empty_database_seeds_the_demo_city_first,
    bad_start_and_speed_bodies_are_refused_naming_the_field,
    a_pause_answers_with_the_last_tick_and_no_tick_runs_after_it,
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

    let stopped = post(app, "stop", json!({}), StatusCode::OK).await;
    assert_eq!((stopped["status"].clone(), stopped["running"].clone()), (json!("stopped"), json!(false)));
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
