//! Issue 4's proof: 200 simultaneous requests for one slot that seats 20 leave exactly 20 seats
//! taken, and every other request gets a 409 `slot_full` with alternatives (other times at the
//! venue, similar venues ranked by the recommendation engine). The same with retried
//! idempotency keys: several identical requests per key at once make one booking per key. On
//! SQLite and PostgreSQL, on a multi-threaded runtime so requests really run in parallel.

use std::collections::HashMap;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bookings::evening_venue;
use crate::helpers::{TestApp, seed_user};
use crate::plans::in_two_days_at;

macro_rules! threaded_on_every_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await.expect("sqlite");
                    super::$name(&app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await {
                        super::$name(&app).await;
                    }
                }
            )+
        }
    };
}

threaded_on_every_backend!(
    two_hundred_simultaneous_requests_for_twenty_seats_book_exactly_twenty,
    concurrent_retries_with_one_key_make_one_booking_per_key,
);

/// `n` users, created 16 at a time.
async fn users(app: &TestApp, n: usize) -> Vec<String> {
    let made = futures::stream::iter(0..n)
        .map(|i| async move { app.create_user(seed_user(&format!("guest{i:03}"))).await })
        .buffered(16)
        .collect::<Vec<Value>>()
        .await;
    made.iter().map(|u| u["id"].as_str().expect("id").to_string()).collect()
}

/// Fires every request at once; returns (status, body) in request order.
async fn fire(app: &TestApp, requests: Vec<(String, Option<String>, Value)>) -> Vec<(StatusCode, Value)> {
    let sends = requests.into_iter().map(|(path, key, body)| {
        let mut req = app.client.post(app.url(&path)).json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        async move {
            let res = req.send().await.expect("POST");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    });
    futures::future::join_all(sends).await
}

async fn seats_taken(app: &TestApp, venue: &str, at: &str) -> i32 {
    let (venue, at): (uuid::Uuid, chrono::DateTime<chrono::Utc>) =
        (venue.parse().expect("uuid"), at.parse().expect("time"));
    let holds = app.app.store.venue_holds(venue, at, at + chrono::Duration::hours(2)).await.expect("holds");
    holds.iter().map(|h| h.seats).sum()
}

fn assert_refused_with_alternatives(body: &Value) {
    assert_eq!(body["error"]["code"], "slot_full", "{body}");
    let details = &body["error"]["details"];
    assert_eq!(details["requested"]["seats_free"], 0, "{body}");
    let times = details["alternatives"]["times"].as_array().expect("times");
    assert!(!times.is_empty(), "no other time proposed: {body}");
    let venues = details["alternatives"]["venues"].as_array().expect("venues");
    assert!(!venues.is_empty(), "no other venue proposed: {body}");
    assert!(
        venues.iter().all(|v| v["ranked_by"] == "recommendation_engine" && v["seats_free"].as_i64() >= Some(1)),
        "{body}"
    );
}

async fn two_hundred_simultaneous_requests_for_twenty_seats_book_exactly_twenty(app: &TestApp) {
    let v = evening_venue(app, "The Only Table", 20).await;
    for name in ["Next Door", "Across The Street", "Round The Corner"] {
        evening_venue(app, name, 20).await;
    }
    let guests = users(app, 200).await;
    app.app.reload_engine().await.expect("engine loads");
    let at = in_two_days_at(19);
    let body = json!({"venue_id": v, "booking_time": at, "party_size": 1});
    let requests = guests.iter().map(|g| (format!("/api/v1/bookings/{g}/create"), None, body.clone())).collect();
    let answers = fire(app, requests).await;
    let booked: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).collect();
    let refused: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).collect();
    assert_eq!((booked.len(), refused.len()), (20, 180), "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    refused.iter().for_each(|(_, b)| assert_refused_with_alternatives(b));
    assert_eq!(seats_taken(app, &v, &at).await, 20);
    assert_eq!(app.counts().await.bookings, 20);
    // Every refusal's venues were served as an answer whose conversion is measured.
    let proposed: usize = refused
        .iter()
        .map(|(_, b)| b["error"]["details"]["alternatives"]["venues"].as_array().map_or(0, Vec::len))
        .sum();
    let figures = app.app.telemetry.snapshot(vec![]).recommendation_conversion;
    let alternatives = figures.iter().find(|r| r.ranker == "alternatives").expect("alternatives served");
    assert_eq!((alternatives.answers, alternatives.shown), (180, proposed as u64));
}

async fn concurrent_retries_with_one_key_make_one_booking_per_key(app: &TestApp) {
    let v = evening_venue(app, "The Only Table", 20).await;
    evening_venue(app, "Next Door", 20).await;
    let guests = users(app, 40).await;
    app.app.reload_engine().await.expect("engine loads");
    let at = in_two_days_at(20);
    let body = json!({"venue_id": v, "booking_time": at, "party_size": 1});
    let requests: Vec<_> = (0..5)
        .flat_map(|_| {
            guests
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("/api/v1/bookings/{g}/create"), Some(format!("key-{i}")), body.clone()))
        })
        .collect();
    let answers = fire(app, requests.clone()).await;
    let mut by_key: HashMap<String, Vec<(StatusCode, Value)>> = HashMap::new();
    for ((_, key, _), answer) in requests.into_iter().zip(answers) {
        by_key.entry(key.expect("key")).or_default().push(answer);
    }
    let (mut booked_keys, mut full_keys) = (0, 0);
    for (key, answers) in &by_key {
        assert_eq!(answers.len(), 5);
        let first = &answers[0];
        assert!(answers.iter().all(|a| a.0 == first.0), "{key}: {answers:?}");
        if first.0 == StatusCode::CREATED {
            booked_keys += 1;
            assert!(answers.iter().all(|a| a.1["booking_id"] == first.1["booking_id"]), "{key}: {answers:?}");
        } else {
            full_keys += 1;
            answers.iter().for_each(|a| assert_refused_with_alternatives(&a.1));
        }
    }
    assert_eq!((booked_keys, full_keys), (20, 20));
    assert_eq!(seats_taken(app, &v, &at).await, 20);
    assert_eq!(app.counts().await.bookings, 20);
}
