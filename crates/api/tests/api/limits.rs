//! Issue 8, item 2: no single client can exhaust the server. Per-client rate limits (429 with
//! `Retry-After`), request timeouts (408), and the caps on groups: group recommendations, plan
//! participants (also across repeated invitations) and booking group members. Body size,
//! pagination and SSE caps are covered where those resources are (`bad_input`, `venues`,
//! `admin_stats`).

use std::time::Duration;

use api::RateLimitSettings;
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

/// A server on SQLite with these rate limits.
async fn rate_limited(rate_limit: RateLimitSettings) -> TestApp {
    serving(api::ServeOptions { rate_limit, ..api::ServeOptions::default() }).await
}

/// The default limits but the general bucket: `burst` requests per client at once, refilled at
/// `per_second`.
fn general_bucket(per_second: f64, burst: u32) -> RateLimitSettings {
    RateLimitSettings { per_second, burst, ..RateLimitSettings::default() }
}

/// `rest` but the password routes' bucket: `burst` sign-ins and sign-ups per address at once,
/// refilled at `per_second`.
fn password_bucket(per_second: f64, burst: u32, rest: RateLimitSettings) -> RateLimitSettings {
    RateLimitSettings { password_per_second: per_second, password_burst: burst, ..rest }
}

/// Limits on, three requests per client at once, then one per 100 s; ten clients tracked.
fn three_requests_then_one_per_100_s() -> RateLimitSettings {
    RateLimitSettings { enabled: true, max_clients: 10, ..general_bucket(0.01, 3) }
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_in_the_error_shape() {
    let app = rate_limited(three_requests_then_one_per_100_s()).await;
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

/// A user with a password, made through the app (a sign-up over HTTP would take from the
/// password bucket under test).
async fn with_password(app: &TestApp, handle: &str, password: &str) -> String {
    let mut body = seed_user(handle);
    body["password"] = json!(password);
    let input = serde_json::from_value(body).expect("a user input");
    app.app.create_user(input).await.expect("created").id.to_string()
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, login: &str, password: &str) -> reqwest::Response {
    let body = json!({"login": login, "password": password});
    client.post(app.url("/api/v1/auth/token")).json(&body).send().await.expect("POST")
}

/// The 429 `rate_limited` with a `Retry-After` of 1 to `most` seconds.
async fn expect_429(res: reqwest::Response, most: u64, what: &str) {
    let retry_after =
        res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| (1..=most).contains(&s)), "{what}: Retry-After {retry_after:?}");
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
}

#[tokio::test]
async fn the_password_routes_have_a_small_bucket_per_ip_of_their_own() {
    let app = rate_limited(password_bucket(0.01, 2, general_bucket(100.0, 100))).await;
    let pat = with_password(&app, "pat", "correct horse battery").await;
    for _ in 0..2 {
        assert_eq!(sign_in(&app, &app.anon, "pat", "wrong horse battery").await.status(), StatusCode::UNAUTHORIZED);
    }
    expect_429(sign_in(&app, &app.anon, "pat", "correct horse battery").await, 100, "a third sign-in").await;
    // Sign-up hashes too: the same bucket, and nothing written.
    let mut body = seed_user("sam");
    body["password"] = json!("correct horse battery");
    expect_429(app.anon.post(app.url("/api/v1/users/")).json(&body).send().await.unwrap(), 100, "a sign-up").await;
    let mut body = seed_user("kim");
    body["password"] = json!("correct horse battery");
    expect_429(app.anon.post(app.url("/users")).json(&body).send().await.unwrap(), 100, "at the root").await;
    assert_eq!(app.user_count().await, 1);
    // A token buys no fresh password bucket: it is per address.
    expect_429(sign_in(&app, &app.as_user(&pat), "pat", "correct horse battery").await, 100, "with a token").await;
    // Every other route is on the general bucket only.
    assert_eq!(app.get("/api/v1/users").await.status(), StatusCode::OK);
    assert_eq!(
        app.as_user(&pat).get(app.url(&format!("/api/v1/users/{pat}"))).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sign_up_without_a_password_hashes_nothing_and_leaves_the_password_bucket_alone() {
    let app = rate_limited(password_bucket(0.01, 2, general_bucket(100.0, 100))).await;
    for handle in ["ann", "ben", "cat"] {
        let res = app.anon.post(app.url("/api/v1/users")).json(&seed_user(handle)).send().await.unwrap();
        expect_json(res, StatusCode::CREATED).await;
    }
    // The bucket is whole: two sign-ins, then a 429.
    for _ in 0..2 {
        assert_eq!(sign_in(&app, &app.anon, "ann", "wrong horse battery").await.status(), StatusCode::UNAUTHORIZED);
    }
    expect_429(sign_in(&app, &app.anon, "ann", "wrong horse battery").await, 100, "a third sign-in").await;
    // Empty, it still takes sign-ups without a password, at both mounts, but not one with.
    let res = app.anon.post(app.url("/users")).json(&seed_user("dan")).send().await.unwrap();
    expect_json(res, StatusCode::CREATED).await;
    let mut body = seed_user("eve");
    body["password"] = json!("correct horse battery");
    expect_429(app.anon.post(app.url("/api/v1/users")).json(&body).send().await.unwrap(), 100, "with one").await;
    assert_eq!(app.user_count().await, 4);
}

/// A sign-in with a wrong password through a proxy that says it came from `forwarded_for`.
async fn sign_in_from(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    let body = json!({"login": "nobody", "password": "wrong horse battery"});
    let req = app.anon.post(app.url("/api/v1/auth/token")).header("x-forwarded-for", forwarded_for);
    req.json(&body).send().await.expect("POST")
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket_and_others_cannot_pick_one() {
    let proxies = api::TrustedProxies::parse(["127.0.0.1"]).unwrap();
    let limits = RateLimitSettings { trusted_proxies: proxies, ..general_bucket(100.0, 100) };
    let app = rate_limited(password_bucket(0.01, 2, limits)).await;
    for _ in 0..2 {
        assert_eq!(sign_in_from(&app, "203.0.113.1").await.status(), StatusCode::UNAUTHORIZED);
    }
    expect_429(sign_in_from(&app, "203.0.113.1").await, 100, "the third from one client").await;
    assert_eq!(sign_in_from(&app, "203.0.113.2").await.status(), StatusCode::UNAUTHORIZED, "another client");
    // A client writing its own header gets it kept left of the address the proxy adds.
    expect_429(sign_in_from(&app, "203.0.113.9, 203.0.113.1").await, 100, "a forged first hop").await;
    // Without trusted proxies the header is ignored: every request is the peer's.
    let app = rate_limited(password_bucket(0.01, 2, general_bucket(100.0, 100))).await;
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(sign_in_from(&app, client).await.status(), StatusCode::UNAUTHORIZED);
    }
    expect_429(sign_in_from(&app, "203.0.113.3").await, 100, "a third address, not trusted").await;
}

#[tokio::test]
async fn failed_sign_ins_for_one_login_are_throttled_alike_whether_it_names_anyone_or_not() {
    let logins =
        RateLimitSettings { login_failures: 3, login_failure_window_secs: 300, ..RateLimitSettings::default() };
    let app = rate_limited(password_bucket(1000.0, 1000, logins)).await;
    with_password(&app, "pat", "correct horse battery").await;
    with_password(&app, "sam", "correct horse battery").await;
    for login in ["pat", "nobody"] {
        for _ in 0..3 {
            let res = sign_in(&app, &app.anon, login, "wrong horse battery").await;
            expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
        }
        expect_429(sign_in(&app, &app.anon, login, "wrong horse battery").await, 300, login).await;
    }
    // Locked out from this address for the window, even with the right password, and by
    // another spelling.
    expect_429(sign_in(&app, &app.anon, "PAT", "correct horse battery").await, 300, "the right password").await;
    // A success clears the count: sam fails twice, signs in, then has three attempts again.
    for _ in 0..2 {
        assert_eq!(sign_in(&app, &app.anon, "sam", "wrong horse battery").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&app, &app.anon, "sam", "correct horse battery").await.status(), StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(sign_in(&app, &app.anon, "sam", "wrong horse battery").await.status(), StatusCode::UNAUTHORIZED);
    }
    expect_429(sign_in(&app, &app.anon, "sam", "wrong horse battery").await, 300, "sam again").await;
}

/// A sign-in through a trusted proxy (127.0.0.1) for a client at `client`.
async fn sign_in_as(app: &TestApp, client: &str, login: &str, password: &str) -> reqwest::Response {
    let body = json!({"login": login, "password": password});
    let req = app.anon.post(app.url("/api/v1/auth/token")).header("x-forwarded-for", client);
    req.json(&body).send().await.expect("POST")
}

/// Limits behind a trusted proxy (127.0.0.1) with `per_address` sign-in attempts per login and
/// address and `all_addresses` per login, and a password bucket that never runs dry.
async fn login_throttled(per_address: u32, all_addresses: u32) -> TestApp {
    let proxies = api::TrustedProxies::parse(["127.0.0.1"]).unwrap();
    let limits = RateLimitSettings {
        login_failures: per_address,
        login_failures_all_addresses: all_addresses,
        login_failure_window_secs: 300,
        trusted_proxies: proxies,
        ..RateLimitSettings::default()
    };
    rate_limited(password_bucket(1000.0, 1000, limits)).await
}

#[tokio::test]
async fn an_attacker_out_of_attempts_on_a_login_does_not_lock_its_owner_out_from_another_address() {
    let app = login_throttled(3, 30).await;
    with_password(&app, "pat", "correct horse battery").await;
    let (attacker, owner) = ("203.0.113.66", "198.51.100.7");
    for login in ["pat", "nobody"] {
        for _ in 0..3 {
            let res = sign_in_as(&app, attacker, login, "wrong horse battery").await;
            expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
        }
        expect_429(sign_in_as(&app, attacker, login, "wrong horse battery").await, 300, login).await;
        // From another address the login is not held, whether it names anyone or not.
        let res = sign_in_as(&app, owner, login, "wrong horse battery").await;
        expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
    }
    expect_429(sign_in_as(&app, attacker, "PAT", "correct horse battery").await, 300, "the attacker, right password")
        .await;
    let res = sign_in_as(&app, owner, "pat", "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::OK, "the owner signs in from their own address");
    expect_429(sign_in_as(&app, attacker, "pat", "wrong horse battery").await, 300, "the attacker still").await;
}

#[tokio::test]
async fn the_ceiling_per_login_still_throttles_guessing_spread_over_many_addresses() {
    let app = login_throttled(2, 6).await;
    with_password(&app, "pat", "correct horse battery").await;
    with_password(&app, "sam", "correct horse battery").await;
    for login in ["pat", "nobody"] {
        for n in 0..6 {
            let res = sign_in_as(&app, &format!("203.0.113.{}", n / 2), login, "wrong horse battery").await;
            expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
        }
        // Every address now, a fresh one too, whether the login names anyone or not.
        expect_429(sign_in_as(&app, "198.51.100.9", login, "wrong horse battery").await, 300, login).await;
    }
    let res = sign_in_as(&app, "198.51.100.7", "pat", "correct horse battery").await;
    expect_429(res, 300, "the owner too: the residual trade-off").await;
    let res = sign_in_as(&app, "203.0.113.0", "sam", "correct horse battery").await;
    assert_eq!(res.status(), StatusCode::OK, "another login is not held");
}

#[tokio::test]
async fn with_limits_off_neither_the_password_bucket_nor_the_login_throttle_refuses() {
    let off = RateLimitSettings { login_failures: 1, ..RateLimitSettings::disabled() };
    let app = rate_limited(password_bucket(0.01, 1, off)).await;
    with_password(&app, "pat", "correct horse battery").await;
    for _ in 0..3 {
        assert_eq!(sign_in(&app, &app.anon, "pat", "wrong horse battery").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&app, &app.anon, "pat", "correct horse battery").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signed_in_users_behind_one_address_each_have_their_own_bucket() {
    let app = rate_limited(three_requests_then_one_per_100_s()).await;
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
    // A forged token (a 401 on this profile) is counted against the address: it buys no fresh
    // bucket.
    let forged = crate::helpers::client_with_token("forged.token.value");
    for _ in 0..2 {
        assert_eq!(status(forged.clone()).await, StatusCode::UNAUTHORIZED);
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A client that sends its headers and the first byte of its body, then stalls: the handler
    // waits for the rest past the deadline, however fast the machine is.
    let opts = api::ServeOptions { request_timeout: Duration::from_millis(200), ..api::ServeOptions::default() };
    let app = serving(opts).await;
    let url = reqwest::Url::parse(&app.url("/api/v1/users")).expect("url");
    let addr = (url.host_str().expect("host").to_string(), url.port().expect("port"));
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = "POST /api/v1/users HTTP/1.1\r\nhost: luna\r\ncontent-type: application/json\r\n\
                content-length: 64\r\nconnection: close\r\n\r\n{";
    conn.write_all(head.as_bytes()).await.expect("write");
    // Read the whole answer: the head, then as many body bytes as it says.
    let mut got = Vec::new();
    let answer = loop {
        let mut buf = [0u8; 1024];
        let n =
            tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await.expect("an answer").expect("read");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok());
            if n == 0 || length.is_some_and(|len| body.len() >= len) {
                break (head.to_string(), body.to_string());
            }
        }
        assert!(n > 0, "the connection closed without an answer: {text:?}");
    };
    assert!(answer.0.starts_with("HTTP/1.1 408"), "{answer:?}");
    let body: serde_json::Value = serde_json::from_str(&answer.1).expect("a JSON body");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(app.user_count().await, 0, "nothing written by a request that timed out");
}

#[tokio::test]
async fn a_seed_slower_than_the_timeout_is_answered_when_done_not_408() {
    // QA (dashboard, real binary): a 20,000-user seed outlasted the 30 s timeout; its 408 was
    // sent again by Chromium (a POST answered 408 on a kept-alive connection is re-sent), and the
    // database was deleted and seeded a second time, the seed going on in its own task meanwhile.
    let opts = api::ServeOptions { request_timeout: Duration::from_millis(100), ..api::ServeOptions::default() };
    let app = serving(opts).await;
    let started = std::time::Instant::now();
    let res = app.post("/api/v1/admin/data/seed", &json!({"users": 800, "venues": 120, "seed": 3})).await;
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK, "after {took:?}: {:?}", res.text().await);
    assert!(
        took > Duration::from_millis(150),
        "the seed took {took:?}, not longer than the timeout: it proves nothing"
    );
    assert_eq!(app.user_count().await, 800);
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
