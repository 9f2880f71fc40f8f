//! Two servers on one PostgreSQL database and one Redis (needs `TEST_POSTGRES_URL` and
//! `TEST_REDIS_URL`): users, venues and a like written through one server reach the other
//! server's recommendation engine through the bus, within moments.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stream_support::{RedisPrefix, Setup, StreamServer, TestDb, production_urls, quick_live};

/// Polls `path` on `server` until `ok` holds (or fails after 10 s).
async fn eventually(server: &StreamServer, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = server.get_json(path).await;
        if status == StatusCode::OK && ok(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never satisfied the condition; last {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_like_written_through_one_server_changes_the_other_servers_recommendations() {
    let Some((_, redis_url)) = production_urls() else {
        eprintln!("skipped: TEST_POSTGRES_URL and TEST_REDIS_URL are not both set");
        return;
    };
    let db = TestDb::create(Setup::Production).await.expect("database");
    let prefix = RedisPrefix::new(&redis_url);
    let a = StreamServer::start(store::connect(&db.url).await.unwrap(), prefix.connect(&redis_url).await, quick_live())
        .await;
    let b = StreamServer::start(store::connect(&db.url).await.unwrap(), prefix.connect(&redis_url).await, quick_live())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let users = [a.create_user("rtwo1").await, a.create_user("rtwo2").await, a.create_user("rtwo3").await];
    let venues = [a.create_venue("One").await, a.create_venue("Two").await, a.create_venue("Three").await];
    let path = format!("/api/v1/recommendations/{}/venues?ranker=popularity&limit=3&lat=40.73&lng=-73.99", users[0]);
    let before = eventually(&b, &path, |v| v["venues"].as_array().is_some_and(|l| l.len() == 3)).await;
    let last = before["venues"][2]["venue_id"].as_str().unwrap().to_string();
    assert!(venues.contains(&last));
    for u in &users[1..] {
        let body = json!({"user_id": u, "interaction_type": "like"});
        let res = a.client.post(a.url(&format!("/venues/{last}/interactions"))).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    eventually(&b, &path, |v| v["venues"][0]["venue_id"] == last.as_str()).await;
}
