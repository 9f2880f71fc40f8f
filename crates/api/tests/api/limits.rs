//! Issue 8, item 2: no single client can exhaust the server. Per-client rate limits (429 with
//! `Retry-After`), request timeouts (408), and the caps on groups: group recommendations, plan
//! participants (also across repeated invitations) and booking group members. Body size,
//! pagination and SSE caps are covered where those resources are (`bad_input`, `venues`,
//! `admin_stats`).

use std::time::Duration;

use app::AppSettings;
use reqwest::StatusCode;
use serde_json::json;

use crate::bookings::evening_venue;
use crate::helpers::{Backend, TestApp, expect_error, expect_json, seed_user, spawn_app_opts, test_auth};
use crate::plans::in_two_days_at;

crate::on_every_backend!(
    a_plan_never_grows_past_the_group_cap_even_invitation_by_invitation,
    bookings_and_group_recommendations_refuse_oversized_groups,
);

async fn serving(opts: api::ServeOptions) -> TestApp {
    let opts = api::ServeOptions { auth: test_auth(), ..opts };
    spawn_app_opts(Backend::Sqlite, AppSettings::default(), opts, |a| a).await.expect("sqlite")
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_in_the_error_shape() {
    let rate_limit = api::RateLimitSettings { enabled: true, per_second: 0.01, burst: 3, max_clients: 10 };
    let app = serving(api::ServeOptions { rate_limit, ..api::ServeOptions::default() }).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/users").await.status(), StatusCode::OK);
    }
    let res = app.get("/api/v1/users").await;
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    assert_eq!(retry_after.as_deref(), Some("100"), "one token per 100 s");
    // Nothing written through a refused request either.
    let res = app.post("/api/v1/users", &seed_user("late")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn signed_in_users_behind_one_address_each_have_their_own_bucket() {
    let rate_limit = api::RateLimitSettings { enabled: true, per_second: 0.01, burst: 3, max_clients: 10 };
    let app = serving(api::ServeOptions { rate_limit, ..api::ServeOptions::default() }).await;
    let ann = expect_json(app.post("/api/v1/users", &seed_user("ann")).await, StatusCode::CREATED).await;
    let ben = expect_json(app.post("/api/v1/users", &seed_user("ben")).await, StatusCode::CREATED).await;
    let (ann, ben) = (ann["id"].as_str().expect("id"), ben["id"].as_str().expect("id"));
    let profile = app.url(&format!("/api/v1/users/{ann}"));
    let status = |c: reqwest::Client| {
        let url = profile.clone();
        async move { c.get(url).send().await.expect("GET").status() }
    };
    for _ in 0..3 {
        assert_eq!(status(app.as_user(ann)).await, StatusCode::OK);
    }
    assert_eq!(status(app.as_user(ann)).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status(app.as_user(ben)).await, StatusCode::OK, "ben, same address, has his own bucket");
    let anonymous = reqwest::Client::builder().no_proxy().build().expect("client");
    assert_eq!(status(anonymous.clone()).await, StatusCode::OK, "the address's bucket is untouched by tokens");
    // A forged token (read as anonymous on this public route) is counted against the address:
    // it buys no fresh bucket.
    let forged = crate::helpers::client_with_token("forged.token.value");
    for _ in 0..2 {
        assert_eq!(status(forged.clone()).await, StatusCode::OK);
    }
    assert_eq!(status(anonymous).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn rate_limiting_is_off_unless_asked_for() {
    let app = serving(api::ServeOptions::default()).await;
    for _ in 0..300 {
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_408_in_the_error_shape() {
    // Far below a database round trip: the first poll finds the query pending, the next the deadline gone.
    let opts = api::ServeOptions { request_timeout: Duration::from_nanos(1), ..api::ServeOptions::default() };
    let app = serving(opts).await;
    expect_error(app.get("/api/v1/users").await, StatusCode::REQUEST_TIMEOUT, "request_timeout", None).await;
}

async fn users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(app.create_user(seed_user(&format!("user{i}"))).await["id"].as_str().expect("id").to_string());
    }
    ids
}

async fn a_plan_never_grows_past_the_group_cap_even_invitation_by_invitation(app: &TestApp) {
    let max = domain::booking::MAX_GROUP_MEMBERS;
    let u = users(app, max + 2).await;
    let v = evening_venue(app, "Hall", 200).await;
    let (organizer, others) = (&u[0], &u[1..]);
    let too_many = json!({"organizer_id": organizer, "venue_id": v, "start_time": in_two_days_at(19),
        "participant_ids": others});
    expect_error(
        app.post("/api/v1/plans", &too_many).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("participant_ids"),
    )
    .await;

    let body = json!({"organizer_id": organizer, "venue_id": v, "start_time": in_two_days_at(19),
        "participant_ids": &others[..max - 1]});
    let plan = expect_json(app.post("/api/v1/plans", &body).await, StatusCode::CREATED).await;
    let id = plan["id"].as_str().expect("id");
    let path = format!("/api/v1/plans/{id}/participants");
    let last_two = json!({"participant_ids": &others[max - 1..]});
    expect_error(
        app.post(&path, &last_two).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("participant_ids"),
    )
    .await;
    let plan = app.get_json(&format!("/api/v1/plans/{id}"), StatusCode::OK).await;
    assert_eq!(invited(&plan, organizer), max - 1, "the refused invitation wrote nothing");
    let one_more = json!({"participant_ids": [others[max - 1]]});
    let plan = expect_json(app.post(&path, &one_more).await, StatusCode::OK).await;
    assert_eq!(invited(&plan, organizer), max, "up to the cap is fine");
}

/// People on the plan other than its organizer.
fn invited(plan: &serde_json::Value, organizer: &str) -> usize {
    plan["participants"].as_array().expect("participants").iter().filter(|p| p["user_id"] != organizer).count()
}

async fn bookings_and_group_recommendations_refuse_oversized_groups(app: &TestApp) {
    let max = domain::booking::MAX_GROUP_MEMBERS;
    let u = users(app, 2).await;
    let v = evening_venue(app, "Hall", 500).await;
    let members: Vec<String> = (0..=max).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let body =
        json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": max + 2, "group_members": members});
    let res = app.post(&format!("/api/v1/bookings/{}/create", u[0]), &body).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("group_members")).await;
    assert_eq!(app.counts().await.bookings, 0);

    let mut group: Vec<String> = (0..19).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    group.extend(u.iter().cloned());
    let res = app.get(&format!("/api/v1/recommendations/group/{}", group.join(","))).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_ids")).await;
    // A party no venue can seat is a bad parameter, not an empty answer (found by the fuzzer).
    for size in [0_u64, 1001, 2_147_483_648] {
        let res = app.get(&format!("/api/v1/recommendations/{}/venues?party_size={size}", u[0])).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("party_size")).await;
    }
}
