//! Two servers on one PostgreSQL database and one Redis (needs `TEST_POSTGRES_URL` and
//! `TEST_REDIS_URL`): users, venues and a like written through one server reach the other
//! server's recommendation engine through the bus, within moments.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::stream_support::{StreamServer, two_servers};

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
    let Some(servers) = two_servers().await else { return };
    let (a, b) = (&servers.a, &servers.b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let users = [a.create_user("rtwo1").await, a.create_user("rtwo2").await, a.create_user("rtwo3").await];
    let venues = [a.create_venue("One").await, a.create_venue("Two").await, a.create_venue("Three").await];
    let path = format!("/api/v1/recommendations/{}/venues?ranker=popularity&limit=3&lat=40.73&lng=-73.99", users[0]);
    let before = eventually(b, &path, |v| v["venues"].as_array().is_some_and(|l| l.len() == 3)).await;
    let last = before["venues"][2]["venue_id"].as_str().unwrap().to_string();
    assert!(venues.contains(&last));
    for u in &users[1..] {
        let body = json!({"user_id": u, "interaction_type": "like"});
        let res = a.client.post(a.url(&format!("/venues/{last}/interactions"))).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    eventually(b, &path, |v| v["venues"][0]["venue_id"] == last.as_str()).await;
}

/// Writes a `kind` interaction of `user` with `venue` through `server`.
async fn interact(server: &StreamServer, user: &str, venue: &str, kind: &str) {
    let body = json!({"user_id": user, "interaction_type": kind});
    let res =
        server.client.post(server.url(&format!("/venues/{venue}/interactions"))).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_is_credited_once_by_the_server_that_showed_the_venue_last() {
    let Some(servers) = two_servers().await else { return };
    let (a, b) = (&servers.a, &servers.b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (a_id, b_id) = (a.app.telemetry.server().to_string(), b.app.telemetry.server().to_string());
    let neighbour = |handle: &'static str| async move {
        let body = json!({"handle": handle, "name": handle, "home_lat": 40.731, "home_lng": -73.99});
        let res = a.client.post(a.url("/api/v1/users")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    };
    let (user, marker) = (neighbour("shown_twice").await, neighbour("shown_once").await);
    let venue = a.create_venue("Shown Twice").await;
    let shows = |body: &Value| body.to_string().contains(&venue);
    let mut served = a.sse("/api/v1/admin/streams/subscribe/recommendations", None).await;
    let mut metrics = a.sse("/api/v1/admin/streams/subscribe/metrics", None).await;
    // A shows the venue to both users; B shows it to the first one a second later.
    eventually(a, &format!("/reco/venues/{user}?limit=10"), shows).await;
    eventually(a, &format!("/reco/venues/{marker}?limit=10"), shows).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    eventually(b, &format!("/api/v1/recommendations/{user}/venues?limit=10"), |v| shows(&v["venues"])).await;
    // A's single bus reader has passed B's answer on to A's watcher before anything later.
    served
        .until(|f| {
            let data = f.bus_event().data.to_value();
            data["server"] == b_id.as_str() && data["items"].to_string().contains(&venue)
        })
        .await;
    let ranker = |f: &crate::stream_support::Frame, server: &str, name: &str| -> Option<Value> {
        let data = f.bus_event().data.to_value();
        let list = (data["server"] == server).then(|| data["recommendation_conversion"].as_array().cloned())??;
        list.into_iter().find(|r| r["ranker"] == name)
    };
    interact(a, &user, &venue, "like").await;
    metrics.until(|f| ranker(f, &b_id, "default").is_some_and(|r| r["liked"] == 1)).await;
    // The marker's visit is written after the like reached the bus, so A reads it later: once A
    // counts it, A has read the like too.
    interact(a, &marker, &venue, "visit").await;
    let frames = metrics.until(|f| ranker(f, &a_id, "seed2").is_some_and(|r| r["visited"] == 1)).await;
    let seed2 = ranker(frames.last().unwrap(), &a_id, "seed2").unwrap();
    assert_eq!(seed2["liked"], 0, "B showed the venue to the user last: A does not credit the like: {seed2}");
    let frames = metrics.until(|f| ranker(f, &b_id, "default").is_some()).await;
    let default = ranker(frames.last().unwrap(), &b_id, "default").unwrap();
    assert_eq!(default["liked"], 1, "{default}");
}
