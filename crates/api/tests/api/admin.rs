//! The admin data endpoints of the first seed document: seed (body and/or `?user_count=`),
//! refusal to reseed without `force`, reset.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_error, expect_json};

crate::on_every_backend!(
    seeding_generates_a_city_once_unless_forced_and_reset_empties_it,
    the_seed_documents_user_count_parameter_works_without_a_body,
    seeding_sizes_out_of_range_are_refused_and_write_nothing,
);

const SEED: &str = "/api/v1/admin/data/seed";

async fn seeding_generates_a_city_once_unless_forced_and_reset_empties_it(app: &TestApp) {
    let body = json!({"users": 20, "venues": 10, "seed": 7});
    let first = expect_json(app.post(SEED, &body).await, StatusCode::OK).await;
    assert_eq!(first["success"], true);
    assert_eq!(first["seeded"]["users"], 20);
    assert_eq!(first["seeded"]["venues"], 10);
    assert_eq!(app.get_json("/users/?limit=500", StatusCode::OK).await.as_array().unwrap().len(), 20);
    let venues = app.get_json("/api/v1/venues?limit=500", StatusCode::OK).await;
    assert_eq!(venues.as_array().unwrap().len(), 10);

    expect_error(app.post(SEED, &body).await, StatusCode::CONFLICT, "conflict", Some("force")).await;
    let forced = json!({"users": 15, "venues": 5, "seed": 7, "force": true});
    assert_eq!(expect_json(app.post(SEED, &forced).await, StatusCode::OK).await["seeded"]["users"], 15);
    assert_eq!(app.counts().await.users, 15);

    let reset = expect_json(app.post("/api/v1/admin/data/reset/", &json!({})).await, StatusCode::OK).await;
    assert_eq!(reset, json!({"success": true, "message": "Database reset complete"}));
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.venues, counts.interactions), (0, 0, 0));
}

async fn the_seed_documents_user_count_parameter_works_without_a_body(app: &TestApp) {
    let res = app.client.post(app.url("/api/v1/admin/data/seed?user_count=12")).send().await.unwrap();
    let report = expect_json(res, StatusCode::OK).await;
    assert_eq!(report["seeded"]["users"], 12);
    assert_eq!(app.counts().await.users, 12);
}

async fn seeding_sizes_out_of_range_are_refused_and_write_nothing(app: &TestApp) {
    expect_error(
        app.post(SEED, &json!({"users": 0})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("users"),
    )
    .await;
    expect_error(
        app.post(SEED, &json!({"venues": 10_000_000})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("venues"),
    )
    .await;
    let res = app.client.post(app.url("/api/v1/admin/data/seed?user_count=999999")).send().await.unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_count")).await;
    expect_error(
        app.post(SEED, &json!({"users": "many"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("users"),
    )
    .await;
    expect_error(
        app.post_raw(SEED, Some("text/plain"), "users=5").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    )
    .await;
    expect_error(
        app.post_raw(SEED, Some("application/json"), "{").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    )
    .await;
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.venues), (0, 0));
}
