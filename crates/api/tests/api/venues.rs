//! Venues over HTTP: the seed's paths and body, slash variants, `/api/v1` twins, search by
//! text, category, price and radius, pagination, update and delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, expect_json, ids, next_link, seed_user, seed_venue};
use crate::plans::in_two_days_at;

crate::on_every_backend!(
    the_seed_example_creates_a_venue_with_the_seed_fields,
    every_venue_path_answers_with_and_without_a_trailing_slash_and_under_api_v1,
    venues_are_searched_by_text_category_price_and_radius,
    search_results_are_paginated_and_the_link_keeps_the_filters,
    bad_search_parameters_are_refused_naming_the_parameter,
    a_venue_can_be_updated_and_deleted,
    a_venue_with_an_upcoming_booking_is_deleted_only_with_force,
    capacity_cannot_go_below_the_seats_booked_ahead,
    capacity_cannot_go_below_the_party_of_a_plan_still_to_come,
    opening_hours_that_overlap_are_refused_naming_the_day_and_change_nothing,
);

fn venue(name: &str, category: &str, lat: f64, lng: f64, price: i64, extra: Value) -> Value {
    let mut v = json!({"name": name, "category": category, "lat": lat, "lng": lng, "price_level": price});
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        v.extend(extra.clone());
    }
    v
}

async fn the_seed_example_creates_a_venue_with_the_seed_fields(app: &TestApp) {
    let res = app.post("/venues/", &seed_venue("Sunset Rooftop Bar")).await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let v = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(v["name"], "Sunset Rooftop Bar");
    assert_eq!(v["description"], "Rooftop cocktails with skyline view.");
    assert_eq!(v["category"], "bar");
    assert_eq!(v["lat"], 40.7325);
    assert_eq!(v["lng"], -73.99);
    assert_eq!(v["price_level"], 3);
    assert_eq!(v["rating"], 4.7);
    let id = v["id"].as_str().unwrap();
    assert_eq!(location, format!("/venues/{id}"));
    assert_eq!(ids(&app.get_json("/venues/", StatusCode::OK).await), vec![id.to_string()]);
    assert_eq!(app.get_json(&location, StatusCode::OK).await, v);
}

async fn every_venue_path_answers_with_and_without_a_trailing_slash_and_under_api_v1(app: &TestApp) {
    let a = expect_json(app.post("/venues", &seed_venue("A")).await, StatusCode::CREATED).await;
    let res = app.post("/api/v1/venues/", &seed_venue("B")).await;
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/v1/venues/"));
    expect_json(res, StatusCode::CREATED).await;
    for path in ["/venues", "/venues/", "/api/v1/venues", "/api/v1/venues/"] {
        assert_eq!(app.get_json(path, StatusCode::OK).await.as_array().unwrap().len(), 2, "{path}");
    }
    let id = a["id"].as_str().unwrap();
    for path in [format!("/venues/{id}/"), format!("/api/v1/venues/{id}"), format!("/api/v1/venues/{id}/")] {
        assert_eq!(app.get_json(&path, StatusCode::OK).await["name"], "A", "{path}");
    }
}

async fn venues_are_searched_by_text_category_price_and_radius(app: &TestApp) {
    let union =
        app.create_venue(venue("Ramen Union", "restaurant", 40.7325, -73.99, 2, json!({"cuisine": "japanese"}))).await;
    let times = app.create_venue(venue("Times Bar", "bar", 40.7580, -73.9855, 3, json!({"tags": ["rooftop"]}))).await;
    let park = app
        .create_venue(venue("Park Slope Cafe", "cafe", 40.6782, -73.9442, 1, json!({"description": "Great ramen too"})))
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    let search = |q: &'static str| async move { ids(&app.get_json(&format!("/venues/?{q}"), StatusCode::OK).await) };

    assert_eq!(search("q=RAMEN").await, vec![id(&union), id(&park)]);
    assert_eq!(search("q=rooftop").await, vec![id(&times)]);
    assert_eq!(search("category=bar").await, vec![id(&times)]);
    assert_eq!(search("price_min=2&price_max=2").await, vec![id(&union)]);
    assert_eq!(search("price_max=2").await, vec![id(&union), id(&park)]);
    assert_eq!(search("lat=40.7325&lng=-73.99&radius_km=1").await, vec![id(&union)]);
    assert_eq!(search("lat=40.7325&lng=-73.99&radius_km=4").await, vec![id(&union), id(&times)]);
    assert_eq!(search("lat=40.7325&lng=-73.99&radius_km=10").await.len(), 3);
    assert_eq!(search("q=ramen&category=cafe&lat=40.68&lng=-73.94&radius_km=2").await, vec![id(&park)]);
    assert!(search("q=nothing-like-this").await.is_empty());
}

async fn search_results_are_paginated_and_the_link_keeps_the_filters(app: &TestApp) {
    let mut bars = Vec::new();
    for i in 0..5 {
        bars.push(app.create_venue(venue(&format!("Bar {i}"), "bar", 40.73, -73.99, 2, json!({}))).await["id"].clone());
        app.create_venue(venue(&format!("Cafe {i}"), "cafe", 40.73, -73.99, 2, json!({}))).await;
    }
    let mut seen = Vec::new();
    let mut path = Some("/api/v1/venues/?category=bar&limit=2".to_string());
    let mut pages = 0;
    while let Some(p) = path {
        let res = app.get(&p).await;
        path = next_link(&res);
        if let Some(next) = &path {
            assert!(
                next.starts_with("/api/v1/venues") && next.contains("category=bar") && next.contains("after="),
                "{next}"
            );
        }
        seen.extend(ids(&expect_json(res, StatusCode::OK).await));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, bars.iter().map(|b| b.as_str().unwrap().to_string()).collect::<Vec<_>>());
    assert_eq!(app.get_json("/venues/", StatusCode::OK).await.as_array().unwrap().len(), 10, "default page is 50");
}

async fn bad_search_parameters_are_refused_naming_the_parameter(app: &TestApp) {
    let cases = [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("after=not-a-uuid", "after"),
        ("category=spa", "category"),
        ("price_min=0", "price_min"),
        ("price_max=5", "price_max"),
        ("price_min=3&price_max=2", "price_max"),
        ("lat=40.7&radius_km=2", "lng"),
        ("lat=40.7&lng=-74&radius_km=0", "radius_km"),
        ("lat=40.7&lng=-74&radius_km=101", "radius_km"),
        ("lat=91&lng=-74&radius_km=1", "lat"),
        ("lat=40&lng=181&radius_km=1", "lng"),
    ];
    for (query, field) in cases {
        let res = app.get(&format!("/venues/?{query}")).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    expect_json(app.get("/venues/?limit=500").await, StatusCode::OK).await;
}

async fn a_venue_can_be_updated_and_deleted(app: &TestApp) {
    let v = app.create_venue(seed_venue("Sunset Rooftop Bar")).await;
    let path = format!("/api/v1/venues/{}", v["id"].as_str().unwrap());
    let body =
        json!({"rating": 4.9, "description": null, "tags": ["Rooftop", "cocktails"], "lat": 40.74, "lng": -73.98});
    let updated = expect_json(app.patch(&path, &body).await, StatusCode::OK).await;
    assert_eq!(updated["rating"], 4.9);
    assert!(updated["description"].is_null());
    assert_eq!(updated["tags"], json!(["rooftop", "cocktails"]));
    assert_eq!(updated["lat"], 40.74);
    assert_eq!(updated["name"], "Sunset Rooftop Bar");

    expect_error(
        app.patch(&path, &json!({"rating": 6})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("rating"),
    )
    .await;
    expect_error(
        app.patch(&path, &json!({"lat": 40.0})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lng"),
    )
    .await;
    assert_eq!(app.get_json(&path, StatusCode::OK).await, updated, "nothing written");

    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    assert_eq!(app.counts().await.venues, 0);
}

async fn a_venue_with_an_upcoming_booking_is_deleted_only_with_force(app: &TestApp) {
    let ann = app.create_user(seed_user("ann")).await["id"].as_str().expect("id").to_string();
    let v = app.create_venue(seed_venue("Booked")).await["id"].as_str().expect("id").to_string();
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let booked =
        expect_json(app.post(&format!("/api/v1/bookings/{ann}/create"), &body).await, StatusCode::CREATED).await;
    let booking = format!("/api/v1/bookings/{}", booked["booking_id"].as_str().expect("booking_id"));
    let path = format!("/venues/{v}");

    let refused = expect_error(app.delete(&path).await, StatusCode::CONFLICT, "conflict", Some("venue_id")).await;
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 upcoming booking and 0 plans") && message.contains("force=true"), "{refused}");
    let bad = app.delete(&format!("{path}?force=yes")).await;
    expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("force")).await;
    assert_eq!(app.get_json(&booking, StatusCode::OK).await["status"], "confirmed", "nothing changed");
    assert_eq!(app.counts().await.venues, 1);

    assert_eq!(app.delete(&format!("{path}?force=true")).await.status(), StatusCode::NO_CONTENT);
    expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    let c = app.counts().await;
    assert_eq!((c.venues, c.bookings), (0, 1));
    // Ann's evening stays in her history, cancelled, and the deleted venue takes no new booking.
    assert_eq!(app.get_json(&booking, StatusCode::OK).await["status"], "cancelled");
    let again = app.post(&format!("/api/v1/bookings/{ann}/create"), &body).await;
    expect_error(again, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("venue_id")).await;
    assert_eq!(app.counts().await.bookings, 1);
}

async fn capacity_cannot_go_below_the_seats_booked_ahead(app: &TestApp) {
    let ann = app.create_user(seed_user("ann")).await["id"].as_str().expect("id").to_string();
    let body = venue("Small", "bar", 40.73, -73.99, 2, json!({"capacity": 10}));
    let v = app.create_venue(body).await["id"].as_str().expect("id").to_string();
    for hour in [19, 20] {
        // Overlapping stays: 3 + 3 seats at 20:00.
        let body = json!({"venue_id": v, "booking_time": in_two_days_at(hour), "party_size": 3});
        expect_json(app.post(&format!("/api/v1/bookings/{ann}/create"), &body).await, StatusCode::CREATED).await;
    }
    let path = format!("/venues/{v}");
    // Before, the PATCH went through and /admin/check reported the slot overbooked.
    let refused = expect_error(
        app.patch(&path, &json!({"capacity": 5})).await,
        StatusCode::CONFLICT,
        "conflict",
        Some("capacity"),
    )
    .await;
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("hold 6 seats"), "{refused}");
    assert_eq!(app.get_json(&path, StatusCode::OK).await["capacity"], 10, "nothing written");
    assert_eq!(app.patch(&path, &json!({"capacity": 6})).await.status(), StatusCode::OK);
    assert_eq!(app.patch(&path, &json!({"capacity": 40})).await.status(), StatusCode::OK);
}

async fn capacity_cannot_go_below_the_party_of_a_plan_still_to_come(app: &TestApp) {
    // Ann's plan at a venue seating 6: she and the three who accepted are a party of 4, nothing booked.
    let mut u = Vec::new();
    for handle in ["ann", "ben", "cat", "dan"] {
        u.push(app.create_user(seed_user(handle)).await["id"].as_str().expect("id").to_string());
    }
    let body = venue("Corner", "bar", 40.73, -73.99, 2, json!({"capacity": 6}));
    let v = app.create_venue(body).await["id"].as_str().expect("id").to_string();
    let body = json!({"organizer_id": u[0], "venue_id": v, "start_time": in_two_days_at(19),
                      "participant_ids": [u[1], u[2], u[3]]});
    let plan = expect_json(app.post("/api/v1/plans", &body).await, StatusCode::CREATED).await;
    let plan = format!("/api/v1/plans/{}", plan["id"].as_str().expect("id"));
    for guest in &u[1..] {
        expect_json(app.post(&format!("{plan}/participants/{guest}/accept"), &json!({})).await, StatusCode::OK).await;
    }
    let path = format!("/api/v1/venues/{v}");
    // Before, the PATCH went through and confirming the plan answered 422 about a party size
    // nobody gave.
    let res = app.patch(&path, &json!({"capacity": 3, "name": "Smaller Corner"})).await;
    let refused = expect_error(res, StatusCode::CONFLICT, "conflict", Some("capacity")).await;
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("needs 4 seats"), "{refused}");
    let venue_now = app.get_json(&path, StatusCode::OK).await;
    assert_eq!(
        (venue_now["capacity"].as_i64(), venue_now["name"].as_str()),
        (Some(6), Some("Corner")),
        "nothing written"
    );
    // Exactly the party fits, and the plan is confirmed.
    assert_eq!(app.patch(&path, &json!({"capacity": 4})).await.status(), StatusCode::OK);
    let confirmed = expect_json(app.post(&format!("{plan}/confirm"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(confirmed["booking"]["party_size"], 4);

    // A plan whose evening passed while still undecided holds no seats.
    let body = venue("Old Corner", "bar", 40.73, -73.99, 2, json!({"capacity": 6}));
    let old = app.create_venue(body).await["id"].as_str().expect("id").parse().expect("uuid");
    let organizer = u[0].parse().expect("uuid");
    let past = domain::NewPlan {
        id: domain::new_id(),
        organizer_id: organizer,
        venue_id: old,
        start_time: chrono::Utc::now() - chrono::Duration::days(1),
        party_size: Some(5),
        invitees: vec![],
    };
    app.app.store.create_plan(past).await.expect("a plan of yesterday");
    assert_eq!(app.patch(&format!("/api/v1/venues/{old}"), &json!({"capacity": 2})).await.status(), StatusCode::OK);
}

async fn opening_hours_that_overlap_are_refused_naming_the_day_and_change_nothing(app: &TestApp) {
    let overlapping = json!({"mon": ["10:00-14:00", "12:00-16:00"]});
    let body = venue("Overlap", "cafe", 40.73, -73.99, 2, json!({"opening_hours": overlapping}));
    for path in ["/venues/", "/api/v1/venues"] {
        let e = expect_error(
            app.post(path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("opening_hours.mon"),
        )
        .await;
        assert!(e.to_string().contains("10:00-14:00 and 12:00-16:00 overlap"), "{e}");
    }
    assert_eq!(app.get_json("/api/v1/venues", StatusCode::OK).await, json!([]), "nothing was made");
    let hours = json!({"mon": ["10:00-14:00", "14:00-16:00"], "fri": ["18:00-02:00"]});
    let v = expect_json(
        app.post("/api/v1/venues", &venue("Meets", "bar", 40.73, -73.99, 2, json!({"opening_hours": hours}))).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/v1/venues/{}", v["id"].as_str().unwrap());
    let spill = json!({"opening_hours": {"fri": ["18:00-02:00"], "sat": ["01:00-05:00"]}, "name": "Renamed"});
    let e = expect_error(
        app.patch(&path, &spill).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("opening_hours.sat"),
    )
    .await;
    assert!(e.to_string().contains("fri's 18:00-02:00 runs past midnight into 01:00-05:00"), "{e}");
    assert_eq!(app.get_json(&path, StatusCode::OK).await, v, "the venue is unchanged");
}
