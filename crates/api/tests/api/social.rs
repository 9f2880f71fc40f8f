//! Friends over HTTP: request, list, accept, decline, unfriend, and the refusals (oneself,
//! unknown users, duplicates, answering someone else's request).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_error, expect_json, ids, next_link, seed_user};

crate::on_every_backend!(
    a_friend_request_accepted_makes_two_friends_until_one_unfriends,
    a_declined_request_makes_no_friends_and_a_new_one_can_follow,
    friend_requests_to_oneself_unknown_users_or_twice_are_refused_and_write_nothing,
    friend_requests_are_listed_in_pages_by_id_linked_by_the_link_header_in_each_direction,
    friend_request_pages_refuse_a_bad_limit_or_after_as_the_other_lists_do,
    a_declined_sender_waits_before_asking_the_same_person_again,
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
    let again = app.delete(&format!("/api/v1/users/{b}/friends/{a}")).await;
    let body = expect_error(again, StatusCode::NOT_FOUND, "not_found", None).await;
    // The message names the two people, not the friend's id as if it were the friendship's.
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(message, format!("friendship of {b} and {a} not found"), "{body}");
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

/// `me` and five others: three requests to `me`, two from `me`, alternating (so a page of both
/// directions merges the two); the ids of the incoming, outgoing and all pending requests,
/// each sorted.
async fn requests_both_ways(app: &TestApp) -> (String, [Vec<String>; 3]) {
    let me = app.create_user(seed_user("meg")).await["id"].as_str().unwrap().to_string();
    let (mut incoming, mut outgoing) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let other = app.create_user(seed_user(&format!("other{i}"))).await["id"].as_str().unwrap().to_string();
        let (from, to, list) = if i % 2 == 0 { (&other, &me, &mut incoming) } else { (&me, &other, &mut outgoing) };
        let res = app.post(&format!("/api/v1/users/{from}/friend-requests"), &json!({"to_user_id": to})).await;
        list.push(expect_json(res, StatusCode::CREATED).await["id"].as_str().unwrap().to_string());
    }
    let mut both = [incoming.clone(), outgoing.clone()].concat();
    incoming.sort();
    outgoing.sort();
    both.sort();
    (me, [incoming, outgoing, both])
}

/// Follows the `Link` headers from `first`, checking each page's size and that every next
/// address keeps `keep`; the ids seen, in order.
async fn walk(app: &TestApp, first: String, limit: usize, keep: &str) -> Vec<String> {
    let (mut seen, mut path) = (Vec::new(), Some(first));
    while let Some(p) = path {
        let res = app.get(&p).await;
        path = next_link(&res);
        if let Some(next) = &path {
            assert!(
                next.contains(&format!("limit={limit}")) && next.contains("after=") && next.contains(keep),
                "{next}"
            );
        }
        let page = expect_json(res, StatusCode::OK).await;
        let n = page.as_array().unwrap().len();
        assert!((1..=limit).contains(&n), "{p}: {n} items");
        seen.extend(ids(&page));
    }
    seen
}

async fn friend_requests_are_listed_in_pages_by_id_linked_by_the_link_header_in_each_direction(app: &TestApp) {
    let (me, [incoming, outgoing, both]) = requests_both_ways(app).await;
    let list = format!("/api/v1/users/{me}/friend-requests");

    // limit=1: one request, and the next page in the Link header.
    let res = app.get(&format!("{list}?limit=1")).await;
    let next = next_link(&res).expect("a next page");
    assert_eq!(ids(&expect_json(res, StatusCode::OK).await), [both[0].clone()]);
    assert!(next.contains(&format!("after={}", both[0])) && next.contains("limit=1"), "{next}");
    assert_eq!(ids(&app.get_json(&next, StatusCode::OK).await), [both[1].clone()]);

    // Every page walk yields each request exactly once, by id, both directions merged.
    for limit in [1, 2, 4] {
        assert_eq!(walk(app, format!("{list}?limit={limit}"), limit, "").await, both, "limit {limit}");
    }
    // The whole list fits the default page of 50: no Link.
    let res = app.get(&list).await;
    assert!(res.headers().get("link").is_none(), "no next page after the last one");
    assert_eq!(ids(&expect_json(res, StatusCode::OK).await), both);

    // `direction` still filters, on every page, and the Link keeps it.
    for (direction, want) in [("incoming", &incoming), ("outgoing", &outgoing)] {
        let first = format!("{list}?direction={direction}&limit=1");
        let got = walk(app, first, 1, &format!("direction={direction}")).await;
        assert_eq!(&got, want, "{direction}");
    }
}

async fn friend_request_pages_refuse_a_bad_limit_or_after_as_the_other_lists_do(app: &TestApp) {
    let me = app.create_user(seed_user("meg")).await["id"].as_str().unwrap().to_string();
    let other = app.create_user(seed_user("other")).await["id"].as_str().unwrap().to_string();
    let res = app.post(&format!("/api/v1/users/{other}/friend-requests"), &json!({"to_user_id": me})).await;
    expect_json(res, StatusCode::CREATED).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("after=nope", "after"),
    ] {
        let res = app.get(&format!("/api/v1/users/{me}/friend-requests?{query}")).await;
        let body = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
        // The same refusal as the friends list's, which pages the same way.
        let res = app.get(&format!("/api/v1/users/{me}/friends?{query}")).await;
        let friends = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
        assert_eq!(body["error"]["details"], friends["error"]["details"], "{query}");
        assert_eq!(body["error"]["message"], friends["error"]["message"], "{query}");
    }
    let res = app.get(&format!("/api/v1/users/{me}/friend-requests?direction=incoming&limit=-1")).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("limit")).await;
}

/// Gap: a declined friend request could be sent again at once, and again after each decline
/// (spam). Its sender now waits `domain::social::DECLINED_REQUEST_COOLDOWN_DAYS` (7) from the
/// decline before asking that person again: a 409 on `to_user_id` saying when they may, which
/// writes and tells nothing. The one who declined may still ask the sender, and the sender
/// anyone else.
async fn a_declined_sender_waits_before_asking_the_same_person_again(app: &TestApp) {
    let [a, b, c] = three_users(app).await;
    let ask = |from: &str, to: &str| {
        let (path, body) = (format!("/api/v1/users/{from}/friend-requests"), json!({"to_user_id": to}));
        async move { app.post(&path, &body).await }
    };
    let req = expect_json(ask(&a, &c).await, StatusCode::CREATED).await;
    let rid = req["id"].as_str().unwrap();
    let declined = app.post(&format!("/api/v1/users/{c}/friend-requests/{rid}/decline"), &json!({})).await;
    let declined = expect_json(declined, StatusCode::OK).await;
    let before = app.pending_event_types().await.len();

    let err = expect_error(ask(&a, &c).await, StatusCode::CONFLICT, "conflict", Some("to_user_id")).await;
    let message = err["error"]["message"].as_str().unwrap_or_default();
    let on = declined["responded_at"].as_str().unwrap();
    let from = (chrono::DateTime::parse_from_rfc3339(on).unwrap() + chrono::Duration::days(7)).to_utc();
    assert!(message.contains("declined your friend request"), "{err}");
    assert!(message.contains(on) && message.contains(&domain::time::written(&from)), "says when: {err}");
    assert_eq!(app.pending_event_types().await.len(), before, "nothing told");
    let outgoing = app.get_json(&format!("/api/v1/users/{a}/friend-requests?direction=outgoing"), StatusCode::OK).await;
    assert!(outgoing.as_array().unwrap().is_empty(), "nothing written: {outgoing}");
    // Others are not held back: a asks b, and c (who declined) may ask a.
    expect_json(ask(&a, &b).await, StatusCode::CREATED).await;
    expect_json(ask(&c, &a).await, StatusCode::CREATED).await;
}
