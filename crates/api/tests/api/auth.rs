//! Authentication and authorization end to end: sign-up with a password, tokens and refresh
//! rotation, and every kind of rule of `auth::rules` refusing the wrong user (403), no token
//! (401), an expired token (401) and a tampered one (401), while letting the right caller
//! through. Admin routes refuse no credential (401) and user tokens (403); `--dev` relaxes
//! user rules only.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_TOKEN, Backend, TestApp, client_with_token, expect_error, expect_json, seed_user, seed_venue, spawn_app_opts,
    test_auth,
};
use crate::plans::in_two_days_at;

crate::on_every_backend!(
    sign_up_with_a_password_gets_tokens_and_refresh_tokens_rotate,
    logout_revokes_the_sessions_refresh_tokens_only_and_always_answers_204,
    every_kind_of_rule_refuses_other_users_missing_expired_and_tampered_tokens,
    invitees_read_the_plan_and_answer_their_own_invitation_only,
    only_the_booker_or_the_plans_organizer_cancels_a_booking,
    admin_routes_refuse_no_credential_and_user_tokens_and_write_nothing,
    other_callers_do_not_see_a_users_email_or_home,
    a_token_in_the_url_is_accepted_on_streams_only,
    a_deleted_users_token_is_refused_with_a_401_and_a_new_users_is_not,
    a_nul_in_a_login_or_a_handle_prefix_is_answered_as_bad_input_not_a_500,
    an_email_or_password_typed_decomposed_signs_in_as_composed,
);

async fn send(client: &Client, method: Method, url: &str, body: Option<&Value>) -> reqwest::Response {
    let mut req = client.request(method, url);
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request")
}

/// Asserts a 401 with the error shape and `WWW-Authenticate: Bearer`.
async fn expect_401(res: reqwest::Response, what: &str) {
    let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap_or_default().to_string());
    assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{what}: no WWW-Authenticate: Bearer");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
}

async fn expect_403(res: reqwest::Response, what: &str) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
    body
}

async fn user(app: &TestApp, handle: &str) -> String {
    app.create_user(seed_user(handle)).await["id"].as_str().expect("id").to_string()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn sign_up_with_a_password_gets_tokens_and_refresh_tokens_rotate(app: &TestApp) {
    let mut body = seed_user("pat");
    body["email"] = json!("Pat@Example.com");
    body["password"] = json!("short");
    expect_error(
        app.anon.post(app.url("/users/")).json(&body).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("password"),
    )
    .await;
    assert_eq!(app.user_count().await, 0);
    body["password"] = json!("correct horse battery");
    let res = app.anon.post(app.url("/users/")).json(&body).send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains("password") && !text.contains("correct horse"), "the password came back: {text}");
    let pat: Value = serde_json::from_str(&text).unwrap();

    let token_url = app.url("/api/v1/auth/token");
    let wrong = app
        .anon
        .post(&token_url)
        .json(&json!({"login": "pat", "password": "wrong horse battery"}))
        .send()
        .await
        .unwrap();
    let unknown = app
        .anon
        .post(&token_url)
        .json(&json!({"login": "nobody", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let (wrong_body, unknown_body): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(wrong_body, unknown_body, "a wrong password and an unknown user must look the same");
    assert_eq!(wrong_body["error"]["code"], "unauthorized");

    let by_email = app
        .anon
        .post(&token_url)
        .json(&json!({"login": "pat@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let pair = expect_json(by_email, StatusCode::OK).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_i64().unwrap() > 0);
    let access = pair["access_token"].as_str().unwrap();
    let own = client_with_token(access)
        .get(app.url(&format!("/api/v1/users/{}/preferences", id_of(&pat))))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);

    let refresh_url = app.url("/api/v1/auth/refresh");
    let first = pair["refresh_token"].as_str().unwrap().to_string();
    let next = expect_json(
        app.anon.post(&refresh_url).json(&json!({"refresh_token": first})).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_ne!(next["refresh_token"], pair["refresh_token"]);
    assert_eq!(next["user_id"], pat["id"]);
    expect_401(
        app.anon.post(&refresh_url).json(&json!({"refresh_token": first})).send().await.unwrap(),
        "reused refresh token",
    )
    .await;
    let second = next["refresh_token"].as_str().unwrap();
    expect_json(
        app.anon.post(&refresh_url).json(&json!({"refresh_token": second})).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
}

async fn logout_revokes_the_sessions_refresh_tokens_only_and_always_answers_204(app: &TestApp) {
    let mut body = seed_user("pat");
    body["password"] = json!("correct horse battery");
    expect_json(app.anon.post(app.url("/users/")).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    let sign_in = || async {
        let res = app
            .anon
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"login": "pat", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        expect_json(res, StatusCode::OK).await["refresh_token"].as_str().unwrap().to_string()
    };
    let (refresh_url, logout_url) = (app.url("/api/v1/auth/refresh"), app.url("/api/v1/auth/logout"));
    let refresh = |token: String| app.anon.post(&refresh_url).json(&json!({"refresh_token": token})).send();
    let logout = |token: &str| app.anon.post(&logout_url).json(&json!({"refresh_token": token})).send();

    let first = sign_in().await;
    let other_session = sign_in().await;
    let current = expect_json(refresh(first.clone()).await.unwrap(), StatusCode::OK).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = logout(&current).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.text().await.unwrap().is_empty(), "a 204 has no body");
    expect_401(refresh(current.clone()).await.unwrap(), "the signed-out refresh token").await;
    expect_401(refresh(first).await.unwrap(), "an earlier refresh token of the signed-out session").await;
    // Idempotent, and silent about what it was given.
    for token in [current.as_str(), "garbage", ""] {
        assert_eq!(logout(token).await.unwrap().status(), StatusCode::NO_CONTENT, "logout with {token:?}");
    }
    // A client whose last refresh answer was lost (or whose token a thief used first) holds a
    // used token: signing out with it still ends the session, its successor included.
    let lost = sign_in().await;
    let successor = expect_json(refresh(lost.clone()).await.unwrap(), StatusCode::OK).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(logout(&lost).await.unwrap().status(), StatusCode::NO_CONTENT);
    expect_401(refresh(successor).await.unwrap(), "the successor of a used token signed out with").await;
    // The user's other sign-in still refreshes.
    expect_json(refresh(other_session).await.unwrap(), StatusCode::OK).await;
    // A body that is not the refresh route's: refused as there.
    let malformed =
        app.anon.post(&logout_url).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let missing = app.anon.post(&logout_url).json(&json!({})).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn every_kind_of_rule_refuses_other_users_missing_expired_and_tampered_tokens(app: &TestApp) {
    let (a, b, c) = (user(app, "alice").await, user(app, "bob").await, user(app, "carol").await);
    let v = id_of(&app.create_venue(seed_venue("Rooftop")).await);
    let plan = json!({"organizer_id": a, "venue_id": v, "start_time": in_two_days_at(19), "participant_ids": [c]});
    let p = id_of(&expect_json(app.post("/api/v1/plans", &plan).await, StatusCode::CREATED).await);
    let booking = json!({"venue_id": v, "booking_time": in_two_days_at(20), "party_size": 2});
    let made =
        expect_json(app.post(&format!("/api/v1/bookings/{a}/create"), &booking).await, StatusCode::CREATED).await;
    let bk = made["booking_id"].as_str().expect("booking id").to_string();
    // a and c are friends: a group of them is theirs to ask for.
    let asked = app.post(&format!("/api/v1/users/{a}/friend-requests"), &json!({"to_user_id": c})).await;
    let request = id_of(&expect_json(asked, StatusCode::CREATED).await);
    let accept = app.post(&format!("/api/v1/users/{c}/friend-requests/{request}/accept"), &json!({})).await;
    expect_json(accept, StatusCode::OK).await;

    // (rule kind, method, path, body): each must let `a` through and refuse `b`.
    let cases: Vec<(&str, Method, String, Option<Value>)> = vec![
        ("SelfUser", Method::GET, format!("/api/v1/users/{a}/preferences"), None),
        ("SelfUser at the root", Method::GET, format!("/users/{a}/interactions"), None),
        (
            "SelfUserInBody",
            Method::POST,
            format!("/venues/{v}/interactions"),
            Some(json!({"user_id": a, "interaction_type": "view"})),
        ),
        ("SelfUserInQuery", Method::GET, format!("/api/v1/bookings?user_id={a}"), None),
        ("SelfUserInQuery (viewer)", Method::GET, format!("/api/v1/venues/{v}/interested?viewer={a}"), None),
        ("OneOfUsers", Method::GET, format!("/api/v1/recommendations/group/{a},{c}"), None),
        ("PlanMember", Method::GET, format!("/api/v1/plans/{p}"), None),
        (
            "PlanOrganizer",
            Method::POST,
            format!("/api/v1/plans/{p}/participants"),
            Some(json!({"participant_ids": [b]})),
        ),
        ("BookingMember", Method::GET, format!("/api/v1/bookings/{bk}"), None),
    ];
    let as_a = app.as_user(&a);
    let as_b = app.as_user(&b);
    let expired = app.auth.signer().issue(
        a.parse().unwrap(),
        chrono::Utc::now() - chrono::Duration::hours(1),
        chrono::Duration::minutes(15),
    );
    let valid = app.user_token(&a);
    let tampered = {
        let mut t = valid.clone();
        let last = t.pop().unwrap();
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    let foreign = crate::helpers::client_with_token(
        &api::auth::Signer::new(b"some other server's key, not ours".to_vec()).issue(
            a.parse().unwrap(),
            chrono::Utc::now(),
            chrono::Duration::minutes(15),
        ),
    );
    for (kind, method, path, body) in &cases {
        let url = app.url(path);
        expect_401(send(&app.anon, method.clone(), &url, body.as_ref()).await, &format!("{kind}: no token")).await;
        expect_401(
            send(&client_with_token(&expired), method.clone(), &url, body.as_ref()).await,
            &format!("{kind}: expired"),
        )
        .await;
        expect_401(
            send(&client_with_token(&tampered), method.clone(), &url, body.as_ref()).await,
            &format!("{kind}: tampered"),
        )
        .await;
        expect_401(send(&foreign, method.clone(), &url, body.as_ref()).await, &format!("{kind}: foreign key")).await;
        let other = send(&as_b, method.clone(), &url, body.as_ref()).await;
        if kind.starts_with("Plan") {
            // Someone not on the plan is answered as for no such plan: ids are not theirs to probe.
            let refused = expect_error(other, StatusCode::NOT_FOUND, "not_found", None).await;
            assert_eq!(refused["error"]["message"], format!("plan {p} not found"), "{kind}: other user");
        } else {
            expect_403(other, &format!("{kind}: other user")).await;
        }
        // The user themself reaches the handler (whose answer is not about access).
        let ok = send(&as_a, method.clone(), &url, body.as_ref()).await;
        let status = ok.status();
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !status.is_server_error(),
            "{kind}: the user themself got {status} {}",
            ok.text().await.unwrap_or_default()
        );
    }
    // A group with someone who is not your friend is refused, even with yourself in it: its
    // answer tells where each member is.
    let strangers = app.url(&format!("/api/v1/recommendations/group/{b},{a}"));
    let refused = as_b.get(&strangers).send().await.unwrap();
    let body = expect_403(refused, "OneOfUsers: a group with a stranger").await;
    assert!(body.to_string().contains(&a) && !body.to_string().contains(&b), "names the stranger only: {body}");
    // Authenticated: any user, no anonymous.
    let venues = app.url("/api/v1/venues");
    let new_venue = seed_venue("Added by b");
    expect_401(app.anon.post(&venues).json(&new_venue).send().await.unwrap(), "Authenticated: no token").await;
    let reached = as_b.post(&venues).json(&new_venue).send().await.unwrap().status();
    assert!(reached != StatusCode::UNAUTHORIZED && reached != StatusCode::FORBIDDEN, "Authenticated: {reached}");
    // Public: anyone, and a bad token is ignored there (so an expired one can still refresh);
    // a public profile, whose answer depends on who asks, tells a client its token went stale.
    assert_eq!(app.anon.get(app.url(&format!("/venues/{v}"))).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client_with_token(&tampered).get(app.url("/venues")).send().await.unwrap().status(), StatusCode::OK);
    let refresh = client_with_token(&expired).post(app.url("/api/v1/auth/refresh")).json(&json!({})).send().await;
    assert_ne!(refresh.unwrap().status(), StatusCode::UNAUTHORIZED, "an expired access token does not block refresh");
    let profile = client_with_token(&tampered).get(app.url(&format!("/users/{a}"))).send().await.unwrap();
    expect_401(profile, "PublicProfile: bad token").await;
}

async fn invitees_read_the_plan_and_answer_their_own_invitation_only(app: &TestApp) {
    let (a, b, c) = (user(app, "alice").await, user(app, "bob").await, user(app, "carol").await);
    let v = id_of(&app.create_venue(seed_venue("Rooftop")).await);
    let plan = json!({"organizer_id": a, "venue_id": v, "start_time": in_two_days_at(19), "participant_ids": [b]});
    let p = id_of(&expect_json(app.post("/plans/", &plan).await, StatusCode::CREATED).await);
    let (as_b, as_c) = (app.as_user(&b), app.as_user(&c));
    assert_eq!(as_b.get(app.url(&format!("/plans/{p}"))).send().await.unwrap().status(), StatusCode::OK);
    // A stranger is answered as for no such plan: whether the id names one is not theirs to learn.
    let res = as_c.get(app.url(&format!("/plans/{p}"))).send().await.unwrap();
    let body = expect_error(res, StatusCode::NOT_FOUND, "not_found", None).await;
    assert_eq!(body["error"]["message"], format!("plan {p} not found"), "a stranger reads the plan");
    expect_403(
        as_c.post(app.url(&format!("/plans/{p}/participants/{b}/accept"))).send().await.unwrap(),
        "accepting for another",
    )
    .await;
    expect_403(as_b.post(app.url(&format!("/plans/{p}/confirm"))).send().await.unwrap(), "an invitee confirms").await;
    let accepted = as_b.post(app.url(&format!("/plans/{p}/participants/{b}/accept"))).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    // Proposing a plan in someone else's name.
    let forged = json!({"organizer_id": a, "venue_id": v, "start_time": in_two_days_at(19)});
    expect_403(as_b.post(app.url("/plans/")).json(&forged).send().await.unwrap(), "a plan as another organizer").await;
}

async fn only_the_booker_or_the_plans_organizer_cancels_a_booking(app: &TestApp) {
    let (o, d, g) = (user(app, "olga").await, user(app, "dan").await, user(app, "gus").await);
    let v = id_of(&app.create_venue(seed_venue("Rooftop")).await);
    let (as_o, as_d, as_g) = (app.as_user(&o), app.as_user(&d), app.as_user(&g));
    let plan = json!({"organizer_id": o, "venue_id": v, "start_time": in_two_days_at(19), "participant_ids": [d, g]});
    let created = as_o.post(app.url("/plans/")).json(&plan).send().await.unwrap();
    let p = id_of(&expect_json(created, StatusCode::CREATED).await);
    let declined = as_d.post(app.url(&format!("/plans/{p}/participants/{d}/decline"))).send().await.unwrap();
    expect_json(declined, StatusCode::OK).await;
    let accepted = as_g.post(app.url(&format!("/plans/{p}/participants/{g}/accept"))).send().await.unwrap();
    expect_json(accepted, StatusCode::OK).await;
    let confirmed =
        expect_json(as_o.post(app.url(&format!("/plans/{p}/confirm"))).send().await.unwrap(), StatusCode::OK);
    let pb = confirmed.await["booking_id"].as_str().expect("booking id").to_string();
    let (booking_url, cancel_url) =
        (app.url(&format!("/api/v1/bookings/{pb}")), app.url(&format!("/api/v1/bookings/{pb}/cancel")));

    // Someone who declined is not going: they neither cancel the plan's booking nor read it.
    let body = expect_403(as_d.post(&cancel_url).send().await.unwrap(), "a declined participant cancels").await;
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("organizer")), "{body}");
    expect_403(as_d.get(&booking_url).send().await.unwrap(), "a declined participant reads the booking").await;
    let plans_booking = app.url(&format!("/bookings/{p}"));
    expect_403(as_d.get(&plans_booking).send().await.unwrap(), "a declined participant reads the plan's booking").await;
    assert_eq!(as_d.get(app.url(&format!("/plans/{p}"))).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(as_g.get(&plans_booking).send().await.unwrap().status(), StatusCode::OK);
    // A guest who accepted (in the booking's group) reads it but may not cancel it for everyone.
    assert_eq!(as_g.get(&booking_url).send().await.unwrap().status(), StatusCode::OK);
    expect_403(as_g.post(&cancel_url).send().await.unwrap(), "an accepted guest cancels").await;
    let booking = app.get_json(&format!("/api/v1/bookings/{pb}"), StatusCode::OK).await;
    assert_eq!(booking["status"], "confirmed", "the refused cancels changed nothing");
    assert_eq!(app.get_json(&format!("/plans/{p}"), StatusCode::OK).await["status"], "confirmed");

    // A plain booking: its group member reads it but cannot cancel it; the booker can.
    let mine = json!({"venue_id": v, "booking_time": in_two_days_at(21), "party_size": 2, "group_members": [g]});
    let made = as_d.post(app.url(&format!("/api/v1/bookings/{d}/create"))).json(&mine).send().await.unwrap();
    let bk = expect_json(made, StatusCode::CREATED).await["booking_id"].as_str().expect("booking id").to_string();
    let plain_cancel = app.url(&format!("/api/v1/bookings/{bk}/cancel"));
    assert_eq!(as_g.get(app.url(&format!("/api/v1/bookings/{bk}"))).send().await.unwrap().status(), StatusCode::OK);
    expect_403(as_g.post(&plain_cancel).send().await.unwrap(), "a group member cancels").await;
    assert_eq!(app.get_json(&format!("/api/v1/bookings/{bk}"), StatusCode::OK).await["status"], "confirmed");
    let cancelled = expect_json(as_d.post(&plain_cancel).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");

    // The organizer cancels the plan's booking, and with it the plan.
    let cancelled = expect_json(as_o.post(&cancel_url).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.get_json(&format!("/plans/{p}"), StatusCode::OK).await["status"], "cancelled");
}

async fn admin_routes_refuse_no_credential_and_user_tokens_and_write_nothing(app: &TestApp) {
    let a = user(app, "alice").await;
    let as_a = app.as_user(&a);
    for (method, path) in [
        (Method::POST, "/api/v1/admin/data/reset"),
        (Method::POST, "/api/v1/admin/data/seed"),
        (Method::POST, "/api/v1/simulation/start"),
        (Method::GET, "/api/v1/admin/streams/subscribe-all"),
        (Method::GET, "/api/v1/admin/stats"),
        (Method::DELETE, "/api/v1/venues/00000000-0000-7000-8000-000000000000"),
        (Method::GET, "/metrics"),
    ] {
        let url = app.url(path);
        expect_401(send(&app.anon, method.clone(), &url, None).await, &format!("{path}: no credential")).await;
        expect_403(send(&as_a, method.clone(), &url, None).await, &format!("{path}: a user token")).await;
        let wrong_admin = client_with_token("not-the-admin-token");
        expect_401(send(&wrong_admin, method.clone(), &url, None).await, &format!("{path}: a wrong admin token")).await;
    }
    assert_eq!(app.user_count().await, 1, "a refused reset must not delete anything");
    let reset = app.client.post(app.url("/api/v1/admin/data/reset")).send().await.unwrap();
    assert!(reset.status().is_success(), "{}", reset.status());
    assert_eq!(app.user_count().await, 0);
}

async fn other_callers_do_not_see_a_users_email_or_home(app: &TestApp) {
    let mut body = seed_user("alice");
    body["email"] = json!("alice@example.com");
    let a = id_of(&app.create_user(body).await);
    let b = user(app, "bob").await;
    let path = app.url(&format!("/api/v1/users/{a}"));
    let own: Value = app.as_user(&a).get(&path).send().await.unwrap().json().await.unwrap();
    assert_eq!(own["email"], "alice@example.com");
    assert!(own["home_lat"].is_number());
    for (who, client) in [("another user", app.as_user(&b)), ("anonymous", app.anon.clone())] {
        let seen: Value = client.get(&path).send().await.unwrap().json().await.unwrap();
        assert_eq!(seen["handle"], "alice", "{who}");
        assert!(seen["email"].is_null() && seen["home_lat"].is_null() && seen["home_lng"].is_null(), "{who}: {seen}");
        let list: Value = client.get(app.url("/users/")).send().await.unwrap().json().await.unwrap();
        assert!(list.as_array().unwrap().iter().all(|u| u["email"].is_null()), "{who}: {list}");
    }
}

async fn a_token_in_the_url_is_accepted_on_streams_only(app: &TestApp) {
    let stream = app
        .anon
        .get(app.url(&format!("/api/v1/admin/streams/subscribe-all?access_token={ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);
    let not_a_stream =
        app.anon.get(app.url(&format!("/api/v1/admin/stats?access_token={ADMIN_TOKEN}"))).send().await.unwrap();
    expect_401(not_a_stream, "a token in the URL of a non-stream route").await;
}

#[tokio::test]
async fn dev_mode_relaxes_user_rules_but_never_admin_rules() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let opts = api::ServeOptions { auth: test_auth().relax_user_auth(true), ..Default::default() };
        let Some(app) = spawn_app_opts(backend, app::AppSettings::default(), opts, |a| a).await else { continue };
        let a = user(&app, "alice").await;
        let b = user(&app, "bob").await;
        let prefs = app.url(&format!("/users/{a}/preferences"));
        assert_eq!(app.anon.get(&prefs).send().await.unwrap().status(), StatusCode::OK, "no token acts as anyone");
        // The seed documents' unauthenticated paths work as written.
        assert_eq!(app.anon.get(app.url("/bookings/")).send().await.unwrap().status(), StatusCode::OK);
        let venue = app.anon.post(app.url("/venues/")).json(&seed_venue("Dev Bar")).send().await.unwrap();
        assert_eq!(venue.status(), StatusCode::CREATED);
        // A token still counts for what it says.
        expect_403(app.as_user(&b).get(&prefs).send().await.unwrap(), "a token for another user under --dev").await;
        expect_401(app.anon.post(app.url("/api/v1/admin/data/reset")).send().await.unwrap(), "admin under --dev").await;
        assert_eq!(app.user_count().await, 2);
    }
}

#[test]
fn the_openapi_document_has_a_bearer_scheme_and_the_401_403_answers() {
    let doc = serde_json::to_value(api::openapi()).expect("json");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer", "{}", doc["components"]);
    let reset = &doc["paths"]["/api/v1/admin/data/reset"]["post"];
    assert!(reset["security"].is_array(), "{reset}");
    for code in ["401", "403"] {
        assert!(reset["responses"][code].is_object(), "reset has no {code}");
    }
    let prefs = &doc["paths"]["/api/v1/users/{user_id}/preferences"]["get"];
    assert!(prefs["responses"]["403"].is_object(), "{prefs}");
    let venues = &doc["paths"]["/api/v1/venues"]["get"];
    assert!(venues["security"].is_null() && venues["responses"]["401"].is_null(), "public routes need nothing");
    let token = &doc["paths"]["/api/v1/auth/token"]["post"];
    assert!(token["responses"]["200"].is_object());
}

/// Serves `app` on 127.0.0.1:0 until the returned sender is dropped; returns its base URL.
async fn serve_on_loopback(app: app::App, auth: api::auth::Auth) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let opts = api::ServeOptions { auth, ..Default::default() };
    tokio::spawn(async move {
        let _ = api::serve(app, listener, opts, async move {
            let _ = rx.await;
        })
        .await;
    });
    (base, tx)
}

#[tokio::test]
async fn servers_on_one_database_share_the_signing_secret_and_accept_each_others_tokens() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(fresh) = crate::helpers::fresh_store(backend).await else { continue };
        let mut servers = Vec::new();
        for _ in 0..2 {
            let app = app::App::new(fresh.store.clone(), app::AppSettings::default());
            let key = app.signing_secret().await.expect("signing secret");
            servers.push(serve_on_loopback(app, api::auth::Auth::new(api::auth::Signer::new(key), None)).await);
        }
        let anon = Client::new();
        let mut body = seed_user("alice");
        body["password"] = json!("correct horse battery");
        let alice = expect_json(
            anon.post(format!("{}/users/", servers[0].0)).json(&body).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        let login = json!({"login": "alice", "password": "correct horse battery"});
        let pair = expect_json(
            anon.post(format!("{}/api/v1/auth/token", servers[0].0)).json(&login).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        let on_other = client_with_token(pair["access_token"].as_str().unwrap())
            .get(format!("{}/api/v1/users/{}/preferences", servers[1].0, id_of(&alice)))
            .send()
            .await
            .unwrap();
        assert_eq!(on_other.status(), StatusCode::OK, "{backend:?}: the other server refused the token");
        // The refresh token, used on the other server, rotates there.
        let refresh = json!({"refresh_token": pair["refresh_token"]});
        expect_json(
            anon.post(format!("{}/api/v1/auth/refresh", servers[1].0)).json(&refresh).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        drop(servers);
    }
}

async fn a_deleted_users_token_is_refused_with_a_401_and_a_new_users_is_not(app: &TestApp) {
    let ann = user(app, "ann").await;
    let as_ann = app.as_user(&ann);
    let venues = app.url("/api/v1/venues/");
    let res = send(&as_ann, Method::POST, &venues, Some(&seed_venue("Before"))).await;
    assert_eq!(res.status(), StatusCode::CREATED, "a user's token on an any-signed-in-user route");
    let me = app.url(&format!("/api/v1/users/{ann}"));
    assert_eq!(send(&as_ann, Method::DELETE, &me, None).await.status(), StatusCode::NO_CONTENT);

    let res = send(&as_ann, Method::POST, &venues, Some(&seed_venue("After"))).await;
    let message = |body: &Value| body["error"]["message"].as_str().unwrap_or_default().to_string();
    let body: Value = {
        let challenge = res.headers().get("www-authenticate").is_some();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(challenge, "no WWW-Authenticate");
        body
    };
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(message(&body).contains("no longer exists"), "{body}");
    let listed = app.get_json("/api/v1/venues?limit=100", StatusCode::OK).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "nothing created after the deletion: {listed}");
    expect_401(send(&as_ann, Method::GET, &me, None).await, "a public profile with a dead user's token").await;
    expect_401(send(&as_ann, Method::GET, &app.url("/api/v1/bookings"), None).await, "a user route").await;
    // A public route ignores the token, as it ignores any bad one.
    assert_eq!(send(&as_ann, Method::GET, &venues, None).await.status(), StatusCode::OK);

    // A user created a moment ago (the engine has not heard of them) is not refused.
    let ben = user(app, "ben").await;
    let res = send(&app.as_user(&ben), Method::POST, &venues, Some(&seed_venue("New"))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// PostgreSQL refuses a NUL in any text outright: a login holding one names nobody (401, as an
/// unknown login), and a handle prefix holding one is a 422 naming `handle`.
async fn a_nul_in_a_login_or_a_handle_prefix_is_answered_as_bad_input_not_a_500(app: &TestApp) {
    let mut body = seed_user("pat");
    body["password"] = json!("correct horse battery");
    assert_eq!(app.anon.post(app.url("/users/")).json(&body).send().await.unwrap().status(), StatusCode::CREATED);
    let token_url = app.url("/api/v1/auth/token");
    for login in ["pat\u{0}", "p\u{0}at", "\u{0}"] {
        let res = app.anon.post(&token_url).json(&json!({"login": login, "password": "correct horse battery"}));
        expect_error(res.send().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized", None).await;
    }
    let res = app.anon.get(app.url("/users/?handle=p%00at")).send().await.unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("handle")).await;
    let res = app.anon.get(app.url("/api/v1/users/?handle=pa")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a plain prefix still lists");
}

/// Text is stored in NFC (an email too): a login or password typed in NFD (`e` plus U+0301, as
/// some keyboards send it) signs in as the composed form does (QA: the email looked up as sent,
/// so a decomposed email answered 401 'wrong login or password').
async fn an_email_or_password_typed_decomposed_signs_in_as_composed(app: &TestApp) {
    let mut body = seed_user("rene");
    body["email"] = json!("Re\u{301}ne\u{301}@example.com");
    body["password"] = json!("cafe\u{301} cre\u{300}me");
    let created =
        expect_json(app.anon.post(app.url("/users/")).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(created["email"], "r\u{e9}n\u{e9}@example.com", "stored in NFC, lower-cased");
    let token_url = app.url("/api/v1/auth/token");
    for login in ["r\u{e9}n\u{e9}@example.com", "Re\u{301}ne\u{301}@Example.com", "rene"] {
        for password in ["caf\u{e9} cr\u{e8}me", "cafe\u{301} cre\u{300}me"] {
            let res = app.anon.post(&token_url).json(&json!({"login": login, "password": password}));
            let pair = expect_json(res.send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(pair["user_id"], created["id"], "{login:?} / {password:?}");
        }
    }
}
