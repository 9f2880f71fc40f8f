//! Interactions over HTTP: the seed's body on `/interactions` and `/interact`, the `/api/v1`
//! twin, a user's interactions, and refusals that write nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, expect_json, ids, next_link, seed_user, seed_venue};

crate::on_every_backend!(
    the_seed_example_interaction_answers_ok_with_the_stored_fields,
    the_interact_alias_and_the_api_v1_twin_record_the_same_way,
    a_users_interactions_are_listed_in_pages,
    interactions_on_unknown_ids_or_with_bad_fields_write_nothing,
);

async fn user_and_venue(app: &TestApp) -> (String, String) {
    let u = app.create_user(seed_user("alice")).await;
    let v = app.create_venue(seed_venue("Sunset Rooftop Bar")).await;
    (u["id"].as_str().unwrap().to_string(), v["id"].as_str().unwrap().to_string())
}

fn seed_body(user_id: &str) -> Value {
    json!({"user_id": user_id, "interaction_type": "like", "dwell_time_seconds": 240})
}

async fn the_seed_example_interaction_answers_ok_with_the_stored_fields(app: &TestApp) {
    let (user, venue) = user_and_venue(app).await;
    let res = app.post(&format!("/venues/{venue}/interactions"), &seed_body(&user)).await;
    let body = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["user_id"], user.as_str());
    assert_eq!(body["venue_id"], venue.as_str());
    assert_eq!(body["interaction_type"], "like");
    assert_eq!(body["dwell_time_seconds"], 240);
    assert!(body["id"].is_string() && body["occurred_at"].is_string() && body["time_of_day"].is_string());
    assert_eq!(app.counts().await.interactions, 1);
}

async fn the_interact_alias_and_the_api_v1_twin_record_the_same_way(app: &TestApp) {
    let (user, venue) = user_and_venue(app).await;
    let paths = [
        format!("/venues/{venue}/interact"),
        format!("/venues/{venue}/interact/"),
        format!("/venues/{venue}/interactions/"),
        format!("/api/v1/venues/{venue}/interactions"),
        format!("/api/v1/venues/{venue}/interact"),
    ];
    for path in &paths {
        let body = json!({"user_id": user, "interaction_type": "view"});
        let res = expect_json(app.post(path, &body).await, StatusCode::CREATED).await;
        assert_eq!(res["status"], "ok", "{path}");
        assert_eq!(res["dwell_time_seconds"], 0, "the seed stores a missing dwell time as 0");
    }
    assert_eq!(app.counts().await.interactions, paths.len() as u64);
}

async fn a_users_interactions_are_listed_in_pages(app: &TestApp) {
    let (user, venue) = user_and_venue(app).await;
    let mut recorded = Vec::new();
    for kind in ["view", "interest", "like", "save", "visit"] {
        let body = json!({"user_id": user, "interaction_type": kind, "dwell_time_seconds": 10});
        recorded.push(expect_json(app.post(&format!("/venues/{venue}/interactions"), &body).await, StatusCode::CREATED).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = Some(format!("/api/v1/users/{user}/interactions?limit=2"));
    while let Some(p) = path {
        let res = app.get(&p).await;
        path = next_link(&res);
        seen.extend(ids(&expect_json(res, StatusCode::OK).await));
    }
    assert_eq!(seen, recorded.iter().map(|r| r.as_str().unwrap().to_string()).collect::<Vec<_>>());
    let unknown = format!("/api/v1/users/{}/interactions", uuid::Uuid::now_v7());
    expect_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "not_found", None).await;
}

async fn interactions_on_unknown_ids_or_with_bad_fields_write_nothing(app: &TestApp) {
    let (user, venue) = user_and_venue(app).await;
    let nobody = uuid::Uuid::now_v7().to_string();
    let path = format!("/venues/{venue}/interactions");
    // A body id that names nothing is bad input on that field; a 404 only ever means the path's venue.
    let res = app.post(&path, &seed_body(&nobody)).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_id")).await;
    let nowhere = format!("/venues/{}/interactions", uuid::Uuid::now_v7());
    expect_error(app.post(&nowhere, &seed_body(&user)).await, StatusCode::NOT_FOUND, "not_found", None).await;
    let cases = [
        (json!({"user_id": user, "interaction_type": "poke"}), "interaction_type"),
        (json!({"user_id": user, "interaction_type": "like", "dwell_time_seconds": -1}), "dwell_time_seconds"),
        (json!({"user_id": user, "interaction_type": "like", "dwell_time_seconds": 90000}), "dwell_time_seconds"),
        (json!({"user_id": "not-a-uuid", "interaction_type": "like"}), "user_id"),
        (json!({"interaction_type": "like"}), "user_id"),
        (json!({"user_id": user, "interaction_type": "like", "occurred_at": "2999-01-01T00:00:00Z"}), "occurred_at"),
        // Before 2000: year 1 (a zero date) and the epoch are mistakes, not a log.
        (json!({"user_id": user, "interaction_type": "like", "occurred_at": "0001-01-01T00:00:00Z"}), "occurred_at"),
        (json!({"user_id": user, "interaction_type": "like", "occurred_at": "1970-01-01T00:00:00Z"}), "occurred_at"),
        (json!({"user_id": user, "interaction_type": "like", "occurred_at": "1999-12-31T23:59:59Z"}), "occurred_at"),
    ];
    for (body, field) in cases {
        expect_error(app.post(&path, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field))
            .await;
    }
    expect_error(
        app.post("/venues/not-a-uuid/interactions", &seed_body(&user)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("venue_id"),
    )
    .await;
    assert_eq!(app.counts().await.interactions, 0);
}
