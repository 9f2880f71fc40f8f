//! `GET /api/v1/admin/map`: every venue with its category and demand, and a sample of homes,
//! read from the engine, which follows writes.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, seed_user, seed_venue};

crate::on_every_backend!(
    the_map_lists_every_venue_by_category_and_an_even_sample_of_homes,
    the_map_follows_new_interactions_and_refuses_too_many_homes,
);

async fn city(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    for i in 0..6 {
        let mut u = seed_user(&format!("mapper{i}"));
        u["home_lat"] = json!(40.70 + 0.01 * i as f64);
        users.push(app.create_user(u).await["id"].as_str().unwrap().to_string());
    }
    let mut venues = Vec::new();
    for (i, category) in ["bar", "cafe", "music"].into_iter().enumerate() {
        let mut v = seed_venue(&format!("Spot {i}"));
        v["category"] = json!(category);
        v["lng"] = json!(-73.99 + 0.01 * i as f64);
        venues.push(app.create_venue(v).await["id"].as_str().unwrap().to_string());
    }
    let _ = app.app.start_background();
    app.app.reload_engine().await.expect("engine loads");
    tokio::time::sleep(Duration::from_millis(50)).await;
    (users, venues)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

async fn the_map_lists_every_venue_by_category_and_an_even_sample_of_homes(app: &TestApp) {
    let (_, venues) = city(app).await;
    let map = app.get_json("/api/v1/admin/map", StatusCode::OK).await;
    let ids: BTreeSet<String> = strings(&map["venues"]["id"]).into_iter().collect();
    assert_eq!(ids, venues.iter().cloned().collect());
    let categories = strings(&map["categories"]);
    let named: BTreeSet<String> = map["venues"]["category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| categories[i.as_u64().unwrap() as usize].clone())
        .collect();
    assert_eq!(named, ["bar", "cafe", "music"].map(String::from).into_iter().collect());
    for column in ["lat", "lng", "interactions", "bookings", "demand"] {
        assert_eq!(map["venues"][column].as_array().unwrap().len(), 3, "{column}");
    }
    assert_eq!((map["users_total"].as_u64(), map["users_with_home"].as_u64()), (Some(6), Some(6)));
    assert_eq!(map["homes"]["lat"].as_array().unwrap().len(), 6);
    assert!(map["bounds"]["min_lat"].as_f64().unwrap() <= 40.70);

    let sample = app.get_json("/api/v1/admin/map?homes=2", StatusCode::OK).await;
    let lats: Vec<f64> = sample["homes"]["lat"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(lats.len(), 2);
    assert!(lats[1] - lats[0] > 0.025, "spread over the users, not the first two: {lats:?}");
}

async fn the_map_follows_new_interactions_and_refuses_too_many_homes(app: &TestApp) {
    let (users, venues) = city(app).await;
    let body = json!({"user_id": users[0], "interaction_type": "like"});
    let res = app.post(&format!("/api/v1/venues/{}/interactions", venues[1]), &body).await;
    assert!(res.status().is_success(), "{}", res.status());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let map = app.get_json("/api/v1/admin/map?homes=0", StatusCode::OK).await;
        assert!(map["homes"]["lat"].as_array().unwrap().is_empty());
        let at = strings(&map["venues"]["id"]).iter().position(|v| *v == venues[1]).unwrap();
        assert!(map["venues"]["demand"].as_array().unwrap().iter().all(Value::is_f64), "{map}");
        if map["venues"]["interactions"][at] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the map never saw the like: {map}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    expect_error(
        app.get("/api/v1/admin/map?homes=20001").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("homes"),
    )
    .await;
}
