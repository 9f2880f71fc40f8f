//! The admin data endpoints of the first seed document: seed (body and/or `?user_count=`),
//! refusal to reseed without `force`, reset.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_error, expect_json, seed_user};

crate::on_every_backend!(
    seeding_generates_a_city_once_unless_forced_and_reset_empties_it,
    the_seed_documents_user_count_parameter_works_without_a_body,
    seeding_sizes_out_of_range_are_refused_and_write_nothing,
    seeding_ends_the_history_at_a_pinned_as_of_or_else_at_the_current_hour,
    a_bad_as_of_is_refused_naming_the_field_and_writes_nothing,
    a_city_of_venues_alone_is_seeded_as_luna_seed_seeds_it,
    user_names_resolves_many_ids_in_one_request_leaving_out_unknown_and_deleted_users,
    user_names_refuses_bad_ids_and_too_many_and_is_admin_only,
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
    let named = |err: &serde_json::Value| -> Vec<String> {
        let details = err["error"]["details"].as_array().expect("details");
        details.iter().map(|d| d["field"].as_str().unwrap().to_string()).collect()
    };
    // Both at 0 name both, each once (QA: only `venues` was named).
    for (body, why, fields) in [
        (json!({"users": 0, "venues": 0}), "users 0 and venues 0 would seed nothing", &["venues", "users"][..]),
        (json!({"users": 5, "venues": 0}), "a city with users needs somewhere for them to go", &["venues"][..]),
    ] {
        let res = app.post(SEED, &body).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("venues")).await;
        assert!(err["error"]["details"][0]["message"].as_str().unwrap().contains(why), "{body}: {err}");
        assert_eq!(named(&err), fields, "{body}: {err}");
    }
    let res = app.post(&format!("{SEED}?user_count=0"), &json!({"venues": 0})).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("venues")).await;
    assert_eq!(named(&err), ["venues", "user_count"], "{err}");
    expect_error(
        app.post(SEED, &json!({"users": 20_001})).await,
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
    // Out of range beside a body's `users`, which wins: still refused (fuzzing: it seeded).
    let res = app.post(&format!("{SEED}?user_count=20001"), &json!({"users": 0, "venues": 1})).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_count")).await;
    assert_eq!(named(&err), ["user_count"], "{err}");
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

/// The bookings the seed made, as (booking time) instants.
async fn seeded_booking_times(app: &TestApp) -> Vec<chrono::DateTime<chrono::Utc>> {
    let list = app.get_json("/bookings/?limit=500", StatusCode::OK).await;
    let list = list.as_array().expect("a list").clone();
    list.iter().map(|b| b["booking_time"].as_str().expect("a time").parse().expect("RFC 3339")).collect()
}

async fn seeding_ends_the_history_at_a_pinned_as_of_or_else_at_the_current_hour(app: &TestApp) {
    let pinned: chrono::DateTime<chrono::Utc> = "2026-12-02T23:00:00Z".parse().unwrap();
    let body = json!({"users": 60, "venues": 20, "seed": 4, "as_of": "2026-12-02T18:00:00-05:00"});
    let report = expect_json(app.post(SEED, &body).await, StatusCode::OK).await;
    let as_of: chrono::DateTime<chrono::Utc> = report["seeded"]["as_of"].as_str().expect("as_of").parse().unwrap();
    assert_eq!(as_of, pinned);
    let bookings = seeded_booking_times(app).await;
    assert!(!bookings.is_empty() && bookings.iter().all(|&t| t > pinned), "plans lie after the anchor");

    let before = chrono::Utc::now();
    let unpinned = json!({"users": 60, "venues": 20, "seed": 4, "force": true});
    let report = expect_json(app.post(SEED, &unpinned).await, StatusCode::OK).await;
    let as_of: chrono::DateTime<chrono::Utc> = report["seeded"]["as_of"].as_str().expect("as_of").parse().unwrap();
    let hour = chrono::Duration::hours(1);
    assert!(as_of > before - hour && as_of <= chrono::Utc::now(), "anchored at {as_of}, seeded at {before}");
    assert!(seeded_booking_times(app).await.iter().all(|&t| t > as_of), "plans lie ahead of now");

    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    let field = &doc["components"]["schemas"]["SeedRequest"]["properties"]["as_of"];
    assert!(field["description"].as_str().is_some_and(|d| d.contains("RFC 3339")), "{field}");
}

async fn a_bad_as_of_is_refused_naming_the_field_and_writes_nothing(app: &TestApp) {
    // A history cannot end after the time of seeding.
    let ahead = json!((chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    for as_of in
        [json!("yesterday"), json!("2026-13-01T00:00:00Z"), json!(1_700_000_000), json!("1999-12-31T23:00:00Z"), ahead]
    {
        let body = json!({"users": 10, "venues": 5, "as_of": as_of});
        expect_error(app.post(SEED, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("as_of"))
            .await;
    }
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.venues), (0, 0));
    // The field itself is known: a good instant seeds.
    let body = json!({"users": 10, "venues": 5, "as_of": "2026-11-20T12:00:00Z"});
    assert_eq!(
        expect_json(app.post(SEED, &body).await, StatusCode::OK).await["seeded"]["as_of"],
        "2026-11-20T12:00:00Z"
    );
}

/// The rule of `luna seed`: venues alone are a city (`users` 0), a seed of nothing is refused.
async fn a_city_of_venues_alone_is_seeded_as_luna_seed_seeds_it(app: &TestApp) {
    let report = expect_json(app.post(SEED, &json!({"users": 0, "venues": 5, "seed": 3})).await, StatusCode::OK).await;
    assert_eq!((&report["seeded"]["users"], &report["seeded"]["venues"]), (&json!(0), &json!(5)));
    let counts = app.counts().await;
    assert_eq!((counts.users, counts.venues), (0, 5));
    let res = app.client.post(app.url("/api/v1/admin/data/seed?user_count=0")).json(&json!({"force": true})).send();
    let report = expect_json(res.await.unwrap(), StatusCode::OK).await;
    assert_eq!(report["seeded"]["users"], 0);
}

const NAMES: &str = "/api/v1/admin/users/names";

async fn user_names_resolves_many_ids_in_one_request_leaving_out_unknown_and_deleted_users(app: &TestApp) {
    let ann = app.create_user(seed_user("ann")).await["id"].as_str().unwrap().to_string();
    let mut bob = seed_user("bob");
    bob["name"] = json!("Bob Okafor");
    let bob = app.create_user(bob).await["id"].as_str().unwrap().to_string();
    let gone = app.create_user(seed_user("gone")).await["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/api/v1/users/{gone}")).await.status(), StatusCode::NO_CONTENT);
    let never = uuid::Uuid::new_v4();
    // In the order asked, each once; the deleted and the unknown are left out.
    let path = format!("{NAMES}?ids={bob},{never},{ann},{gone},{bob}");
    let body = app.get_json(&path, StatusCode::OK).await;
    assert_eq!(
        body,
        json!({"users": [
            {"id": bob, "handle": "bob", "name": "Bob Okafor"},
            {"id": ann, "handle": "ann", "name": "Alice Chen"},
        ]})
    );
    // Only ids of no user: an empty answer, not an error.
    assert_eq!(app.get_json(&format!("{NAMES}?ids={never}"), StatusCode::OK).await, json!({"users": []}));
}

async fn user_names_refuses_bad_ids_and_too_many_and_is_admin_only(app: &TestApp) {
    let ann = app.create_user(seed_user("ann")).await["id"].as_str().unwrap().to_string();
    let hundred_and_one: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for query in [
        String::new(),
        "?ids=".to_string(),
        format!("?ids={ann},not-a-uuid"),
        format!("?ids={ann},"),
        format!("?ids={}", hundred_and_one.join(",")),
    ] {
        let res = app.get(&format!("{NAMES}{query}")).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ids")).await;
    }
    // A hundred is allowed.
    let hundred = hundred_and_one[..100].join(",");
    assert_eq!(app.get_json(&format!("{NAMES}?ids={hundred}"), StatusCode::OK).await, json!({"users": []}));
    // A user's token is not the admin's.
    let res = app.as_user(&ann).get(app.url(&format!("{NAMES}?ids={ann}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
