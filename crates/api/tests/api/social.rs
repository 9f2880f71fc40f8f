//! Friends over HTTP: request, list, accept, decline, unfriend, and the refusals (oneself,
//! unknown users, duplicates, answering someone else's request).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_error, expect_json, seed_user};

crate::on_every_backend!(
    a_friend_request_accepted_makes_two_friends_until_one_unfriends,
    a_declined_request_makes_no_friends_and_a_new_one_can_follow,
    friend_requests_to_oneself_unknown_users_or_twice_are_refused_and_write_nothing,
);

async fn three_users(app: &TestApp) -> [String; 3] {
    let mut out = Vec::new();
    for h in ["alice", "bob", "carol"] {
        out.push(app.create_user(seed_user(h)).await["id"].as_str().unwrap().to_string());
    }
    [out[0].clone(), out[1].clone(), out[2].clone()]
}

async fn a_friend_request_accepted_makes_two_friends_until_one_unfriends(app: &TestApp) {
    let [a, b, _] = three_users(app).await;
    let req = expect_json(
        app.post(&format!("/api/v1/users/{a}/friend-requests"), &json!({"to_user_id": b})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(req["status"], "pending");
    assert_eq!(req["from_user_id"], a.as_str());
    let rid = req["id"].as_str().unwrap();

    let incoming = app.get_json(&format!("/api/v1/users/{b}/friend-requests?direction=incoming"), StatusCode::OK).await;
    assert_eq!(incoming.as_array().unwrap().len(), 1);
    assert_eq!(incoming[0]["id"], rid);
    let outgoing = app.get_json(&format!("/api/v1/users/{a}/friend-requests?direction=outgoing"), StatusCode::OK).await;
    assert_eq!(outgoing[0]["id"], rid);
    assert!(
        app.get_json(&format!("/api/v1/users/{a}/friend-requests?direction=incoming"), StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/users/{b}/friend-requests"), StatusCode::OK).await.as_array().unwrap().len(),
        1
    );

    // Only the recipient can answer.
    let accept_as_a = format!("/api/v1/users/{a}/friend-requests/{rid}/accept");
    assert!(app.post(&accept_as_a, &json!({})).await.status().is_client_error());
    let accepted = expect_json(
        app.post(&format!("/api/v1/users/{b}/friend-requests/{rid}/accept"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    let again = app.post(&format!("/api/v1/users/{b}/friend-requests/{rid}/decline"), &json!({})).await;
    expect_error(again, StatusCode::CONFLICT, "conflict", None).await;

    let friends_of_a = app.get_json(&format!("/api/v1/users/{a}/friends"), StatusCode::OK).await;
    assert_eq!(friends_of_a.as_array().unwrap().len(), 1);
    assert_eq!(friends_of_a[0]["user"]["id"], b.as_str());
    assert_eq!(friends_of_a[0]["relationship_type"], "friend");
    assert_eq!(app.get_json(&format!("/users/{b}/friends/"), StatusCode::OK).await[0]["user"]["id"], a.as_str());
    let dup = app.post(&format!("/api/v1/users/{b}/friend-requests"), &json!({"to_user_id": a})).await;
    expect_error(dup, StatusCode::CONFLICT, "conflict", None).await;

    assert_eq!(app.delete(&format!("/api/v1/users/{b}/friends/{a}")).await.status(), StatusCode::NO_CONTENT);
    assert!(app.get_json(&format!("/api/v1/users/{a}/friends"), StatusCode::OK).await.as_array().unwrap().is_empty());
    expect_error(app.delete(&format!("/api/v1/users/{b}/friends/{a}")).await, StatusCode::NOT_FOUND, "not_found", None)
        .await;
}

async fn a_declined_request_makes_no_friends_and_a_new_one_can_follow(app: &TestApp) {
    let [a, _, c] = three_users(app).await;
    let req = expect_json(
        app.post(&format!("/api/v1/users/{a}/friend-requests"), &json!({"to_user_id": c})).await,
        StatusCode::CREATED,
    )
    .await;
    let rid = req["id"].as_str().unwrap();
    let declined = expect_json(
        app.post(&format!("/api/v1/users/{c}/friend-requests/{rid}/decline"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declined["status"], "declined");
    assert!(app.get_json(&format!("/api/v1/users/{c}/friends"), StatusCode::OK).await.as_array().unwrap().is_empty());
    let again = app.post(&format!("/api/v1/users/{c}/friend-requests"), &json!({"to_user_id": a})).await;
    assert_eq!(expect_json(again, StatusCode::CREATED).await["status"], "pending");
}

async fn friend_requests_to_oneself_unknown_users_or_twice_are_refused_and_write_nothing(app: &TestApp) {
    let [a, b, _] = three_users(app).await;
    let path = format!("/api/v1/users/{a}/friend-requests");
    expect_error(
        app.post(&path, &json!({"to_user_id": a})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to_user_id"),
    )
    .await;
    let nobody = uuid::Uuid::now_v7();
    // An addressee that names nothing is bad input; a 404 is for the path's sender.
    let res = app.post(&path, &json!({"to_user_id": nobody})).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("to_user_id")).await;
    let from_nobody = format!("/api/v1/users/{nobody}/friend-requests");
    expect_error(app.post(&from_nobody, &json!({"to_user_id": a})).await, StatusCode::NOT_FOUND, "not_found", None)
        .await;
    expect_error(
        app.post(&path, &json!({"to_user_id": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to_user_id"),
    )
    .await;
    expect_error(
        app.post(&path, &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to_user_id"),
    )
    .await;
    assert_eq!(app.counts().await.friend_requests, 0, "nothing written");

    expect_json(app.post(&path, &json!({"to_user_id": b})).await, StatusCode::CREATED).await;
    expect_error(app.post(&path, &json!({"to_user_id": b})).await, StatusCode::CONFLICT, "conflict", None).await;
    let reverse = format!("/api/v1/users/{b}/friend-requests");
    expect_error(app.post(&reverse, &json!({"to_user_id": a})).await, StatusCode::CONFLICT, "conflict", None).await;
    assert_eq!(app.counts().await.friend_requests, 1);

    let bad_direction = format!("/api/v1/users/{a}/friend-requests?direction=sideways");
    expect_error(
        app.get(&bad_direction).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("direction"),
    )
    .await;
    let unknown_request = format!("/api/v1/users/{b}/friend-requests/{}/accept", uuid::Uuid::now_v7());
    expect_error(app.post(&unknown_request, &json!({})).await, StatusCode::NOT_FOUND, "not_found", None).await;
    assert_eq!(app.counts().await.social_edges, 0);
}
