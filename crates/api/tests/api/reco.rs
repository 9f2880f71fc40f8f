//! Recommendations over HTTP: the first seed's `/api/v1/recommendations/...`, the second seed's
//! `/reco/...` legacy shape, group, interest, live location, and the engine following writes
//! (an interaction, a reseed) within moments.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, expect_json, seed_user, seed_venue};
use crate::plans::in_two_days_at;

crate::on_every_backend!(
    venue_and_people_recommendations_carry_the_seed_fields_and_luna_explanations,
    the_second_seed_paths_answer_bare_lists_with_and_without_a_trailing_slash,
    unknown_users_get_404_and_bad_parameters_get_422,
    a_recorded_like_changes_the_recommendation_within_moments,
    new_places_only_leave_out_what_the_user_has_interacted_with,
    group_recommendations_take_2_to_20_users,
    a_group_without_locations_has_a_null_centroid_and_its_size_even_when_nothing_suits_it,
    a_member_of_unknown_location_has_a_null_distance_not_zero,
    a_user_without_any_location_gets_venues_at_a_null_distance_and_no_distance_claimed,
    a_group_time_in_the_past_is_refused_naming_time,
    a_time_past_the_booking_horizon_is_refused_naming_time_for_groups_and_venues,
    a_venue_time_or_open_at_in_the_past_or_past_the_horizon_is_refused_naming_it,
    an_interest_whose_time_has_passed_is_no_longer_shown_or_counted,
    an_interest_whose_time_has_passed_no_longer_says_in_people_recommendations_that_its_user_wants_to_go,
    the_interested_list_needs_its_viewer_whoever_asks,
    interest_is_recorded_and_shown_to_others,
    the_part_of_the_day_is_derived_at_the_venue_shown_to_others_and_must_agree_with_the_time,
    a_meal_time_is_taken_as_the_part_of_the_day_it_lies_in,
    an_interest_not_open_to_invites_is_hidden_from_others_and_their_totals_but_still_recorded,
    a_live_location_is_accepted_for_known_users_only,
    a_deleted_user_gets_404_for_a_live_location_and_nothing_is_published,
    open_now_true_with_open_at_is_a_422_naming_the_conflict,
    out_of_range_parameters_are_422s_naming_the_parameter,
    a_live_location_with_an_unknown_field_is_refused_and_nothing_is_published,
    venues_and_people_together_take_limit_for_both_and_can_leave_people_out,
    the_engine_reloads_after_the_admin_seed_endpoint,
    the_context_gives_local_time_start_point_persona_and_stated_preferences,
);

/// Starts the background tasks (relay, engine follower) and loads the engine.
async fn start(app: &TestApp) {
    let _ = app.app.start_background();
    app.app.reload_engine().await.expect("engine loads");
    // Let the follower subscribe before the test writes.
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Three users and three venues, engine loaded: returns (users, venues).
async fn small_city(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let mut users = Vec::new();
    for h in ["alice", "bob", "carol"] {
        users.push(app.create_user(seed_user(h)).await["id"].as_str().unwrap().to_string());
    }
    let mut venues = Vec::new();
    for (i, n) in ["Roof", "Cellar", "Garden"].into_iter().enumerate() {
        let mut v = seed_venue(n);
        v["lat"] = json!(40.73 + 0.004 * i as f64);
        venues.push(app.create_venue(v).await["id"].as_str().unwrap().to_string());
    }
    start(app).await;
    (users, venues)
}

/// Polls `path` until `ok` holds (or fails after 5 s).
async fn eventually(app: &TestApp, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let res = app.get(path).await;
        let body: Value = if res.status() == StatusCode::OK { res.json().await.unwrap() } else { Value::Null };
        if ok(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never satisfied the condition; last {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn venue_and_people_recommendations_carry_the_seed_fields_and_luna_explanations(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let a = &users[0];
    let all = app.get_json(&format!("/api/v1/recommendations/{a}"), StatusCode::OK).await;
    assert_eq!(all["user_id"], a.as_str());
    let v = &all["venues"][0];
    for key in ["venue_id", "venue_name", "score", "distance_km", "venue", "reasons", "explanation"] {
        assert!(v.get(key).is_some(), "venue item lacks {key}: {v}");
    }
    assert!(all["people"].is_array());
    let only = app.get_json(&format!("/api/v1/recommendations/{a}/venues?limit=2&ranker=seed2"), StatusCode::OK).await;
    assert_eq!(only["venues"].as_array().unwrap().len(), 2);
    // Each answer says whom it is for, as the venues-and-people one does.
    assert_eq!(only["user_id"], a.as_str(), "{only}");
    let people = app.get_json(&format!("/api/v1/recommendations/{a}/people?limit=5"), StatusCode::OK).await;
    assert!(people["people"].is_array());
    assert_eq!(people["user_id"], a.as_str(), "{people}");
}

async fn the_second_seed_paths_answer_bare_lists_with_and_without_a_trailing_slash(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let a = &users[0];
    for path in [format!("/reco/venues/{a}?limit=3"), format!("/reco/venues/{a}/?limit=3")] {
        let list = app.get_json(&path, StatusCode::OK).await;
        let items = list.as_array().expect("a bare list");
        assert_eq!(items.len(), 3);
        assert!(items[0]["venue_name"].is_string() && items[0]["distance_km"].is_number());
        assert!(items.windows(2).all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()));
    }
    let people = app.get_json(&format!("/reco/people/{a}/?venue_id={}", venues[0]), StatusCode::OK).await;
    assert!(people.is_array());
}

async fn unknown_users_get_404_and_bad_parameters_get_422(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let ghost = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/recommendations/{ghost}"),
        format!("/api/v1/recommendations/{ghost}/venues"),
        format!("/api/v1/recommendations/{ghost}/people"),
        format!("/reco/venues/{ghost}"),
        format!("/reco/people/{ghost}"),
    ] {
        expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let a = &users[0];
    // An unknown venue is not ignored, under either people ranker.
    for path in
        [format!("/reco/people/{a}?venue_id={ghost}"), format!("/api/v1/recommendations/{a}/people?venue_id={ghost}")]
    {
        expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    for (query, field) in [
        ("ranker=magic", "ranker"),
        ("lat=40.7", "lat"),
        ("time=yesterday", "time"),
        ("limit=-1", "limit"),
        ("new_only=maybe", "new_only"),
    ] {
        let res = app.get(&format!("/api/v1/recommendations/{a}/venues?{query}")).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    let res = app.get("/api/v1/recommendations/not-a-uuid/venues").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_recorded_like_changes_the_recommendation_within_moments(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let path = format!("/api/v1/recommendations/{}/venues?ranker=popularity&limit=3", users[0]);
    let before = app.get_json(&path, StatusCode::OK).await;
    let last = before["venues"][2]["venue_id"].as_str().unwrap().to_string();
    assert!(venues.contains(&last));
    for u in &users[1..] {
        let body = json!({"user_id": u, "interaction_type": "like"});
        expect_json(app.post(&format!("/venues/{last}/interactions"), &body).await, StatusCode::CREATED).await;
    }
    eventually(app, &path, |b| b["venues"][0]["venue_id"] == last.as_str()).await;
}

async fn new_places_only_leave_out_what_the_user_has_interacted_with(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let a = &users[0];
    let path = format!("/api/v1/recommendations/{a}/venues?new_only=true&limit=10");
    let all = app.get_json(&path, StatusCode::OK).await;
    assert_eq!(all["venues"].as_array().unwrap().len(), 3, "nothing is known to a new user: {all}");
    let body = json!({"user_id": a, "interaction_type": "like"});
    expect_json(app.post(&format!("/venues/{}/interactions", venues[1]), &body).await, StatusCode::CREATED).await;
    let ids = |b: &Value| -> Vec<String> {
        b["venues"].as_array().unwrap().iter().map(|v| v["venue_id"].as_str().unwrap().to_string()).collect()
    };
    let new = eventually(app, &path, |b| b["venues"].as_array().is_some_and(|v| v.len() == 2)).await;
    assert!(!ids(&new).contains(&venues[1]), "{new}");
    let seed2 = app.get_json(&format!("{path}&ranker=seed2"), StatusCode::OK).await;
    assert_eq!(ids(&seed2).len(), 2);
    assert!(!ids(&seed2).contains(&venues[1]), "{seed2}");
    // Saying they want to go somewhere makes it known too.
    let body = json!({"venue_id": venues[2]});
    expect_json(app.post(&format!("/api/v1/recommendations/{a}/interest"), &body).await, StatusCode::OK).await;
    let new = eventually(app, &path, |b| b["venues"].as_array().is_some_and(|v| v.len() == 1)).await;
    assert_eq!(ids(&new), [venues[0].clone()]);
    // Without the filter the liked venue is still there.
    let plain = app.get_json(&format!("/api/v1/recommendations/{a}/venues?limit=10"), StatusCode::OK).await;
    assert!(ids(&plain).contains(&venues[1]), "{plain}");
}

async fn group_recommendations_take_2_to_20_users(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let two = format!("{},{}", users[0], users[1]);
    let g = app
        .get_json(&format!("/api/v1/recommendations/group/{two}?strategy=least_misery&limit=2"), StatusCode::OK)
        .await;
    assert_eq!(g["strategy"], "least_misery");
    assert!(g["group_venues"].as_array().unwrap().len() <= 2);
    let one = app.get(&format!("/api/v1/recommendations/group/{}", users[0])).await;
    expect_error(one, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_ids")).await;
    let many: Vec<String> = (0..21).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let res = app.get(&format!("/api/v1/recommendations/group/{}", many.join(","))).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_ids")).await;
    let res = app.get("/api/v1/recommendations/group/a,b").await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_ids")).await;
    let ghost = format!("{},{}", users[0], uuid::Uuid::now_v7());
    assert_eq!(app.get(&format!("/api/v1/recommendations/group/{ghost}")).await.status(), StatusCode::NOT_FOUND);
    // Scored by the second seed's formula, each member's score is the one they get alone.
    let g = app.get_json(&format!("/api/v1/recommendations/group/{two}?ranker=seed2&limit=3"), StatusCode::OK).await;
    assert_eq!(g["ranker"], "seed2");
    let venues = g["group_venues"].as_array().unwrap();
    assert!(!venues.is_empty(), "{g}");
    for (i, user) in users[..2].iter().enumerate() {
        let own = app.get_json(&format!("/reco/venues/{user}?limit=100"), StatusCode::OK).await;
        for v in venues {
            let alone = own.as_array().unwrap().iter().find(|r| r["venue_id"] == v["venue_id"]).expect("scored alone");
            let member = &v["members"][i];
            assert_eq!(member["user_id"], user.as_str());
            let gap = (member["score"].as_f64().unwrap() - alone["score"].as_f64().unwrap()).abs();
            assert!(gap < 1e-9, "{member} against {alone}");
        }
    }
    let g = app.get_json(&format!("/api/v1/recommendations/group/{two}"), StatusCode::OK).await;
    assert_eq!(g["ranker"], "default");
    let res = app.get(&format!("/api/v1/recommendations/group/{two}?ranker=best")).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ranker")).await;
}

async fn a_group_without_locations_has_a_null_centroid_and_its_size_even_when_nothing_suits_it(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let mut homeless = Vec::new();
    for h in ["drifter", "wanderer"] {
        let body = json!({"handle": h, "name": h});
        homeless.push(app.create_user(body).await["id"].as_str().unwrap().to_string());
    }
    let pair = homeless.join(",");
    let g = app.get_json(&format!("/api/v1/recommendations/group/{pair}"), StatusCode::OK).await;
    assert_eq!(g["centroid"], Value::Null, "{g}");
    assert_eq!(g["group_size"], 2);
    for v in g["group_venues"].as_array().unwrap() {
        assert!(!v["explanation"].as_str().unwrap().contains("km"), "no distance is known: {v}");
        assert_eq!(v["distance_km"], Value::Null, "no centroid, no distance from it: {v}");
    }
    // A distance limit nobody's location can be checked against is refused, naming it.
    let res = app.get(&format!("/api/v1/recommendations/group/{pair}?max_distance_km=1")).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("max_distance_km")).await;
    // Nothing suits three located users here (no comedy club): the group still has three.
    let three = users.join(",");
    let g = app.get_json(&format!("/api/v1/recommendations/group/{three}?category=comedy"), StatusCode::OK).await;
    assert_eq!(g["group_venues"], json!([]), "{g}");
    assert_eq!(g["group_size"], 3);
    assert!(g["centroid"]["lat"].is_f64(), "{g}");
}

async fn interest_is_recorded_and_shown_to_others(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let at = in_two_days_at(20);
    let body = json!({"venue_id": venues[1], "preferred_time": at});
    let interest = format!("/api/v1/recommendations/{}/interest", users[0]);
    let answer = expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
    assert_eq!(answer["success"], true);
    assert_eq!(answer["message"], "Interest recorded! Nobody else is interested yet.");
    let path = format!("/api/v1/venues/{}/interested?viewer={}", venues[1], users[1]);
    let seen = eventually(app, &path, |b| b.to_string().contains(users[0].as_str())).await;
    assert!(seen.to_string().contains(&at[..16]), "with the preferred time: {seen}");
    // The second seed's way of saying it, an `interest` interaction, counts the same.
    let logged = json!({"user_id": users[2], "interaction_type": "interest"});
    expect_json(app.post(&format!("/venues/{}/interactions", venues[1]), &logged).await, StatusCode::CREATED).await;
    eventually(app, &path, |b| b.to_string().contains(users[2].as_str())).await;
    // The first seed's clients' shape is taken (its `user_id`, the path's user, and the others).
    let seed_shape =
        json!({"user_id": users[0], "venue_id": venues[1], "preferred_time_slot": "evening", "open_to_invites": true});
    expect_json(app.post(&interest, &seed_shape).await, StatusCode::OK).await;
    // A time in the past, or past the year ahead bookings may be made in, is refused and changes nothing;
    // so is a field it does not have (a misspelt `open_to_invites` would leave the interest open to
    // others) or another user's `user_id`. (Row counts only: the outbox drains meanwhile.)
    let rows = |c: store::Counts| (c.venue_interests, c.interactions);
    let before = rows(app.counts().await);
    let misspelt = json!({"venue_id": venues[2], "open_to_invite": false});
    let res = app.post(&interest, &misspelt).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("open_to_invite")).await;
    let foreign = json!({"user_id": users[1], "venue_id": venues[2]});
    let res = app.post(&interest, &foreign).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_id")).await;
    for when in ["2020-12-12T19:00:00Z", "9999-12-31T23:59:59Z"] {
        let body = json!({"venue_id": venues[2], "preferred_time": when});
        let res = app.post(&interest, &body).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("preferred_time")).await;
    }
    // Both at once are named in the one answer, not one per try.
    let both = json!({"user_id": users[1], "venue_id": venues[2], "preferred_time": "2020-12-12T19:00:00Z"});
    let res = app.post(&interest, &both).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("user_id")).await;
    assert!(err["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == "preferred_time"), "{err}");
    assert_eq!(rows(app.counts().await), before);
    let res = app.get(&format!("/api/v1/venues/{}/interested", venues[1])).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Users 0 and 2 are interested: with limit=1 user 1 sees one of each group and the totals.
    let one = app.get_json(&format!("{path}&limit=1"), StatusCode::OK).await;
    let groups = ["friends", "mutuals", "new_people"];
    assert!(groups.iter().all(|g| one[*g].as_array().unwrap().len() <= 1), "{one}");
    let total: u64 = groups.iter().map(|g| one[format!("{g}_total")].as_u64().unwrap()).sum();
    assert_eq!(total, 2, "{one}");
    for bad in ["0", "101", "x"] {
        let res = app.get(&format!("{path}&limit={bad}")).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("limit")).await;
    }
}

async fn a_member_of_unknown_location_has_a_null_distance_not_zero(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let nowhere =
        app.create_user(json!({"handle": "nohome", "name": "No Home"})).await["id"].as_str().unwrap().to_string();
    let g = app.get_json(&format!("/api/v1/recommendations/group/{},{nowhere}", users[0]), StatusCode::OK).await;
    let venues = g["group_venues"].as_array().unwrap();
    assert!(!venues.is_empty(), "{g}");
    for v in venues {
        let members = v["members"].as_array().unwrap();
        assert_eq!(members[0]["user_id"], users[0].as_str());
        assert!(members[0]["distance_km"].is_f64(), "a member with a home has a distance: {v}");
        assert_eq!(members[1]["user_id"], nowhere.as_str());
        assert_eq!(members[1]["distance_km"], Value::Null, "unknown, not 0 km: {v}");
        assert!(v["distance_km"].is_f64(), "one located member makes a centroid: {v}");
    }
}

async fn a_user_without_any_location_gets_venues_at_a_null_distance_and_no_distance_claimed(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let nowhere =
        app.create_user(json!({"handle": "nohome", "name": "No Home"})).await["id"].as_str().unwrap().to_string();
    // Unknown is null, not 0 km: on every path of both seeds, with every ranker.
    let mut seen = 0;
    for ranker in ["default", "popularity", "learned"] {
        for path in [
            format!("/api/v1/recommendations/{nowhere}?ranker={ranker}"),
            format!("/api/v1/recommendations/{nowhere}/venues?ranker={ranker}"),
        ] {
            let body = app.get_json(&path, StatusCode::OK).await;
            for v in body["venues"].as_array().unwrap() {
                assert_eq!(v["distance_km"], Value::Null, "{path}: {v}");
                assert!(!v["explanation"].as_str().unwrap().contains(" km"), "{path}: {v}");
                seen += 1;
            }
        }
        let list = app.get_json(&format!("/reco/venues/{nowhere}?ranker={ranker}"), StatusCode::OK).await;
        for v in list.as_array().unwrap() {
            assert_eq!(v["distance_km"], Value::Null, "/reco/venues {ranker}: {v}");
            seen += 1;
        }
    }
    assert!(seen > 0, "the user without a location got no venues at all");
    // seed2 scores by distance: without a point it is a 422 naming `ranker`, as on the group
    // path, not an empty list read as "no venues" (QA: 200 and []); a point given is ranked from.
    for path in [
        format!("/api/v1/recommendations/{nowhere}?ranker=seed2"),
        format!("/api/v1/recommendations/{nowhere}/venues?ranker=seed2"),
        format!("/reco/venues/{nowhere}"),
        format!("/reco/venues/{nowhere}?ranker=seed2"),
    ] {
        let res = app.get(&path).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ranker")).await;
        assert!(err.to_string().contains("no home and no fresh live location"), "{path}: {err}");
        let here = format!("{path}{}lat=40.73&lng=-73.99", if path.contains('?') { '&' } else { '?' });
        let ranked = app.get_json(&here, StatusCode::OK).await;
        let list = ranked.get("venues").unwrap_or(&ranked).as_array().expect("venues").clone();
        assert!(!list.is_empty() && list[0]["distance_km"].is_f64(), "{here}: {ranked}");
    }
    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    for path in ["/reco/venues/{user_id}", "/api/v1/recommendations/{user_id}/venues"] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().expect("parameters");
        let ranker = params.iter().find(|p| p["name"] == "ranker").expect("ranker");
        assert!(ranker["description"].as_str().unwrap_or_default().contains("422 naming `ranker`"), "{path}: {ranker}");
    }
    // A located user still has numbers.
    let body = app.get_json(&format!("/api/v1/recommendations/{}/venues", users[0]), StatusCode::OK).await;
    assert!(body["venues"][0]["distance_km"].is_f64(), "{body}");
}

async fn a_group_time_in_the_past_is_refused_naming_time(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let two = format!("{},{}", users[0], users[1]);
    let minute_ago =
        (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for past in ["2020-01-01T00:00:00Z", minute_ago.as_str()] {
        let res = app.get(&format!("/api/v1/recommendations/group/{two}?time={past}")).await;
        let body = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("time")).await;
        assert!(body.to_string().contains("must not be in the past"), "{body}");
    }
    // Now (a clock a few seconds behind included) and later are fine.
    let now = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for ok in [now, in_two_days_at(20)] {
        app.get_json(&format!("/api/v1/recommendations/group/{two}?time={ok}"), StatusCode::OK).await;
    }
}

async fn a_time_past_the_booking_horizon_is_refused_naming_time_for_groups_and_venues(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let (a, two) = (&users[0], format!("{},{}", users[0], users[1]));
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let horizon = chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD);
    let paths = |t: &str| {
        [
            format!("/api/v1/recommendations/group/{two}?time={t}"),
            format!("/api/v1/recommendations/{a}/venues?time={t}"),
            format!("/api/v1/recommendations/{a}?time={t}"),
            format!("/reco/venues/{a}?time={t}"),
        ]
    };
    // A day past the horizon, and the year 9999: refused, naming `time` and the range.
    for t in [at(chrono::Utc::now() + horizon + chrono::Duration::days(1)), "9999-12-31T23:00:00Z".to_string()] {
        for path in paths(&t) {
            let body =
                expect_error(app.get(&path).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("time"))
                    .await;
            assert!(body.to_string().contains("366 days ahead (the booking horizon)"), "{path}: {body}");
        }
    }
    // A day inside it is fine.
    for path in paths(&at(chrono::Utc::now() + horizon - chrono::Duration::days(1))) {
        app.get_json(&path, StatusCode::OK).await;
    }
}

async fn a_venue_time_or_open_at_in_the_past_or_past_the_horizon_is_refused_naming_it(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let a = &users[0];
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let now = chrono::Utc::now();
    let horizon = chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD);
    let paths = |query: &str| {
        [
            format!("/api/v1/recommendations/{a}/venues?{query}"),
            format!("/api/v1/recommendations/{a}?{query}"),
            format!("/reco/venues/{a}?{query}"),
        ]
    };
    // An hour ago (it only set the hour and weekday before), the year 1900, a day past the
    // horizon, the year 9999: refused as the group's `time` is, naming the parameter.
    let an_hour_ago = at(now - chrono::Duration::hours(1));
    let past_horizon = at(now + horizon + chrono::Duration::days(1));
    let refused = [
        ("time", an_hour_ago.as_str()),
        ("open_at", an_hour_ago.as_str()),
        ("open_at", "1900-01-01T00:00:00Z"),
        ("open_at", past_horizon.as_str()),
        ("open_at", "9999-12-31T23:00:00Z"),
    ];
    for (field, t) in refused {
        for path in paths(&format!("{field}={t}")) {
            let res = app.get(&path).await;
            let body = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
            let said = body.to_string();
            assert!(said.contains("must not be in the past nor more than 366 days ahead"), "{path}: {body}");
        }
    }
    // Now by a client's clock a few seconds behind, and a day ahead, are served.
    let (just_now, tomorrow) =
        (at(chrono::Utc::now() - chrono::Duration::seconds(5)), at(now + chrono::Duration::days(1)));
    for field in ["time", "open_at"] {
        for t in [&just_now, &tomorrow] {
            for path in paths(&format!("{field}={t}")) {
                app.get_json(&path, StatusCode::OK).await;
            }
        }
    }
}

/// The small city, where Alice (user 0) wants to go to venue 1 in twelve seconds' time (more
/// than two `eventually` polls may wait together, so a slow engine cannot let her time pass
/// before she is seen) and Carol (user 2) some evening, no time said; and Alice's time.
async fn alice_soon_and_carol_some_evening(app: &TestApp) -> (Vec<String>, Vec<String>, chrono::DateTime<chrono::Utc>) {
    let (users, venues) = small_city(app).await;
    let soon = chrono::Utc::now() + chrono::Duration::seconds(12);
    let body = json!({"venue_id": venues[1], "preferred_time": soon.to_rfc3339()});
    expect_json(app.post(&format!("/api/v1/recommendations/{}/interest", users[0]), &body).await, StatusCode::OK).await;
    let body = json!({"venue_id": venues[1], "preferred_time_slot": "evening"});
    expect_json(app.post(&format!("/api/v1/recommendations/{}/interest", users[2]), &body).await, StatusCode::OK).await;
    (users, venues, soon)
}

async fn an_interest_whose_time_has_passed_is_no_longer_shown_or_counted(app: &TestApp) {
    let (users, venues, soon) = alice_soon_and_carol_some_evening(app).await;
    let path = format!("/api/v1/venues/{}/interested?viewer={}", venues[1], users[1]);
    let total = |b: &Value| {
        ["friends", "mutuals", "new_people"].iter().filter_map(|g| b[format!("{g}_total")].as_u64()).sum::<u64>()
    };
    let both = eventually(app, &path, |b| total(b) == 2).await;
    assert!(person(&both, &users[0]).is_some() && person(&both, &users[2]).is_some(), "{both}");
    // Once Alice's time has passed she is no longer listed or counted; Carol's evening stays.
    let wait = (soon - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1100);
    tokio::time::sleep(wait).await;
    let later = app.get_json(&path, StatusCode::OK).await;
    assert!(person(&later, &users[0]).is_none(), "{later}");
    assert!(person(&later, &users[2]).is_some(), "{later}");
    assert_eq!(total(&later), 1, "{later}");
    // Nor in the interest answer's people and message.
    let body = json!({"venue_id": venues[1]});
    let answer = app.post(&format!("/api/v1/recommendations/{}/interest", users[1]), &body).await;
    let answer = expect_json(answer, StatusCode::OK).await;
    assert_eq!(answer["message"], "Interest recorded! 1 other person is also interested.", "{answer}");
    let others: Vec<_> = answer["others_interested"].as_array().unwrap().iter().map(|p| p["user_id"].clone()).collect();
    assert_eq!(others, vec![json!(users[2])]);
}

async fn an_interest_whose_time_has_passed_no_longer_says_in_people_recommendations_that_its_user_wants_to_go(
    app: &TestApp,
) {
    // Bob has no friends: only their interests make them people to go with.
    let (users, venues, soon) = alice_soon_and_carol_some_evening(app).await;
    let paths = [
        format!("/api/v1/recommendations/{}/people?venue_id={}", users[1], venues[1]),
        format!("/reco/people/{}?venue_id={}&ranker=default", users[1], venues[1]),
    ];
    // Whether `who` is recommended saying they want to go there (None: not recommended).
    let wants = |b: &Value, who: &str| {
        let list = if b.is_array() { b } else { &b["people"] };
        list.as_array()?.iter().find(|p| p["user_id"] == who).map(|p| {
            p["reasons"].as_array().into_iter().flatten().any(|r| r["code"] == "wants_to_go")
                && p["explanation"].as_str().is_some_and(|e| e.contains("wants to go there too"))
        })
    };
    for path in &paths {
        eventually(app, path, |b| wants(b, &users[0]) == Some(true) && wants(b, &users[2]) == Some(true)).await;
    }
    // Once Alice's time has passed she no longer wants to go; Carol's evening stays.
    let wait = (soon - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1100);
    tokio::time::sleep(wait).await;
    for path in &paths {
        let later = app.get_json(path, StatusCode::OK).await;
        assert_eq!((wants(&later, &users[0]), wants(&later, &users[2])), (None, Some(true)), "{path}: {later}");
    }
}

async fn the_interested_list_needs_its_viewer_whoever_asks(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let path = format!("/api/v1/venues/{}/interested", venues[1]);
    // The admin and a signed-in user alike: a 422 naming `viewer`, not a list of everyone.
    expect_error(app.get(&path).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    let res = app.as_user(&users[0]).get(app.url(&path)).send().await.expect("GET");
    let body = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    assert!(body.to_string().contains("viewer"), "{body}");
    // Naming someone else is still refused; oneself is fine.
    let res = app.as_user(&users[0]).get(app.url(&format!("{path}?viewer={}", users[1]))).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.as_user(&users[0]).get(app.url(&format!("{path}?viewer={}", users[0]))).send().await.expect("GET");
    expect_json(res, StatusCode::OK).await;
}

/// The one `user` in `list` (a venue's interested list), if there.
fn person<'a>(list: &'a Value, user: &str) -> Option<&'a Value> {
    ["friends", "mutuals", "new_people"]
        .iter()
        .flat_map(|g| list[*g].as_array().into_iter().flatten())
        .find(|p| p["user_id"] == user)
}

/// The 422 of an interest refused for its `preferred_time_slot`, as its body.
async fn refused_time_slot(res: reqwest::Response) -> Value {
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("preferred_time_slot")).await
}

async fn the_part_of_the_day_is_derived_at_the_venue_shown_to_others_and_must_agree_with_the_time(app: &TestApp) {
    // The venues are in New York: 20:00 UTC is 15:00 there, the afternoon (the evening in UTC).
    let (users, venues) = small_city(app).await;
    let interest = format!("/api/v1/recommendations/{}/interest", users[0]);
    let at = in_two_days_at(20);
    let body = json!({"venue_id": venues[1], "preferred_time": at});
    expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
    let path = format!("/api/v1/venues/{}/interested?viewer={}", venues[1], users[1]);
    let seen = eventually(app, &path, |b| person(b, &users[0]).is_some()).await;
    assert_eq!(person(&seen, &users[0]).unwrap()["preferred_time_slot"], "afternoon", "{seen}");
    // A part of the day the time is not in there is refused, saying which it is in; nothing changes.
    let before = app.app.store.scan_interests(None, 100).await.expect("interests");
    let body = json!({"venue_id": venues[1], "preferred_time": at, "preferred_time_slot": "evening"});
    let err = refused_time_slot(app.post(&interest, &body).await).await;
    assert!(err.to_string().contains("in the afternoon"), "{err}");
    // An unknown part of the day is refused naming the field and the values it takes.
    let body = json!({"venue_id": venues[1], "preferred_time_slot": "dusk"});
    let err = refused_time_slot(app.post(&interest, &body).await).await;
    assert!(err.to_string().contains("morning"), "{err}");
    assert_eq!(app.app.store.scan_interests(None, 100).await.expect("interests"), before);
    // One that agrees is kept; a part of the day alone makes a flexible interest, shown as such.
    let body = json!({"venue_id": venues[1], "preferred_time": at, "preferred_time_slot": "afternoon"});
    expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
    let body = json!({"venue_id": venues[1], "preferred_time_slot": "night"});
    expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
    let seen =
        eventually(app, &path, |b| person(b, &users[0]).is_some_and(|p| p["preferred_time_slot"] == "night")).await;
    assert_eq!(person(&seen, &users[0]).unwrap()["preferred_time"], Value::Null, "{seen}");
}

/// QA: the first seed's `preferred_time_slot` values (its model notes lunch/dinner/brunch/
/// breakfast, its README late-night), which Luna's own `context.meal_time` answers with too,
/// were refused (422, unknown variant). They are taken as the part of the day they lie in and
/// shown back as it.
async fn a_meal_time_is_taken_as_the_part_of_the_day_it_lies_in(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let interest = format!("/api/v1/recommendations/{}/interest", users[0]);
    let path = format!("/api/v1/venues/{}/interested?viewer={}", venues[1], users[1]);
    for (meal, part) in [
        ("dinner", "evening"),
        ("breakfast", "morning"),
        ("brunch", "afternoon"),
        ("late-night", "night"),
        ("late_night", "night"),
    ] {
        let body = json!({"venue_id": venues[1], "preferred_time_slot": meal});
        expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
        let seen =
            eventually(app, &path, |b| person(b, &users[0]).is_some_and(|p| p["preferred_time_slot"] == part)).await;
        assert_eq!(person(&seen, &users[0]).unwrap()["preferred_time"], Value::Null, "{meal}: {seen}");
    }
    // 20:00 UTC is 15:00 or 16:00 in New York: lunch's afternoon, not dinner's evening.
    let at = in_two_days_at(20);
    let before = app.app.store.scan_interests(None, 100).await.expect("interests");
    let body = json!({"venue_id": venues[1], "preferred_time": at, "preferred_time_slot": "dinner"});
    let err = refused_time_slot(app.post(&interest, &body).await).await;
    assert!(err.to_string().contains("in the afternoon"), "{err}");
    // A name that is neither is refused naming the meal times too; nothing changes.
    let body = json!({"venue_id": venues[1], "preferred_time_slot": "teatime"});
    let err = refused_time_slot(app.post(&interest, &body).await).await;
    assert!(err.to_string().contains("lunch") && err.to_string().contains("evening"), "{err}");
    assert_eq!(app.app.store.scan_interests(None, 100).await.expect("interests"), before);
    let body = json!({"venue_id": venues[1], "preferred_time": at, "preferred_time_slot": "lunch"});
    expect_json(app.post(&interest, &body).await, StatusCode::OK).await;
    let seen = eventually(app, &path, |b| {
        person(b, &users[0])
            .is_some_and(|p| p["preferred_time_slot"] == "afternoon" && p["preferred_time"] != Value::Null)
    })
    .await;
    assert!(person(&seen, &users[0]).is_some(), "{seen}");
}

async fn an_interest_not_open_to_invites_is_hidden_from_others_and_their_totals_but_still_recorded(app: &TestApp) {
    let (users, venues) = small_city(app).await;
    let interest = |u: &str| format!("/api/v1/recommendations/{u}/interest");
    let path = format!("/api/v1/venues/{}/interested?viewer={}", venues[1], users[1]);
    let body = json!({"venue_id": venues[1]});
    expect_json(app.post(&interest(&users[2]), &body).await, StatusCode::OK).await;
    eventually(app, &path, |b| person(b, &users[2]).is_some()).await;
    let rows = app.counts().await.venue_interests;
    let closed = json!({"venue_id": venues[1], "preferred_time": in_two_days_at(23), "open_to_invites": false});
    expect_json(app.post(&interest(&users[0]), &closed).await, StatusCode::OK).await;
    assert_eq!(app.counts().await.venue_interests, rows + 1, "recorded");
    // An open interest of the same user after it: once others see that, the engine has the closed one.
    expect_json(app.post(&interest(&users[0]), &json!({"venue_id": venues[2]})).await, StatusCode::OK).await;
    let elsewhere = format!("/api/v1/venues/{}/interested?viewer={}", venues[2], users[1]);
    eventually(app, &elsewhere, |b| person(b, &users[0]).is_some()).await;
    let seen = app.get_json(&path, StatusCode::OK).await;
    assert!(person(&seen, &users[0]).is_none(), "{seen}");
    let total: u64 =
        ["friends", "mutuals", "new_people"].iter().map(|g| seen[format!("{g}_total")].as_u64().unwrap()).sum();
    assert_eq!(total, 1, "only user 2 is counted: {seen}");
    // Nor in another's interest answer.
    let again = expect_json(app.post(&interest(&users[2]), &body).await, StatusCode::OK).await;
    assert_eq!(again["others_interested"], json!([]), "{again}");
    assert_eq!(again["message"], "Interest recorded! Nobody else is interested yet.");
    // Still their own signal: the venue is no new place to them.
    let new = app
        .get_json(&format!("/api/v1/recommendations/{}/venues?new_only=true&limit=10", users[0]), StatusCode::OK)
        .await;
    assert!(!new.to_string().contains(&venues[1]), "{new}");
    // A call that does not say (a client that does not know the field) keeps it closed: after
    // it, an open interest elsewhere is seen, and this one still is not.
    let later = json!({"venue_id": venues[1], "preferred_time": in_two_days_at(21)});
    expect_json(app.post(&interest(&users[0]), &later).await, StatusCode::OK).await;
    expect_json(app.post(&interest(&users[0]), &json!({"venue_id": venues[0]})).await, StatusCode::OK).await;
    let third = format!("/api/v1/venues/{}/interested?viewer={}", venues[0], users[1]);
    eventually(app, &third, |b| person(b, &users[0]).is_some()).await;
    let seen = app.get_json(&path, StatusCode::OK).await;
    assert!(person(&seen, &users[0]).is_none(), "still closed: {seen}");
    // Open again, they are shown.
    let open = json!({"venue_id": venues[1], "open_to_invites": true});
    expect_json(app.post(&interest(&users[0]), &open).await, StatusCode::OK).await;
    eventually(app, &path, |b| person(b, &users[0]).is_some()).await;
}

async fn a_live_location_is_accepted_for_known_users_only(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let path = format!("/api/v1/users/{}/location", users[0]);
    assert_eq!(app.put(&path, &json!({"lat": 40.75, "lng": -73.98})).await.status(), StatusCode::NO_CONTENT);
    let bad = app.put(&path, &json!({"lat": 140.0, "lng": -73.98})).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ghost = format!("/api/v1/users/{}/location", uuid::Uuid::now_v7());
    assert_eq!(app.put(&ghost, &json!({"lat": 40.75, "lng": -73.98})).await.status(), StatusCode::NOT_FOUND);
}

async fn a_deleted_user_gets_404_for_a_live_location_and_nothing_is_published(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let user = format!("/api/v1/users/{}", users[1]);
    assert_eq!(app.delete(&user).await.status(), StatusCode::NO_CONTENT);
    // Once the engine has followed the deletion too, and straight after it: both are refused.
    for wait in [Duration::ZERO, Duration::from_millis(300)] {
        tokio::time::sleep(wait).await;
        let res = app.put(&format!("{user}/location"), &json!({"lat": 40.7, "lng": -73.9})).await;
        expect_error(res, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let events = app.app.bus.history(domain::Channel::UserActions, 1000, None).await.expect("history");
    let moved: Vec<_> = events.iter().filter(|e| e.event_type == app::reco_service::LOCATION_EVENT).collect();
    assert!(moved.is_empty(), "location published for a deleted user: {moved:?}");
}

async fn open_now_true_with_open_at_is_a_422_naming_the_conflict(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let a = &users[0];
    // Ahead, as an `open_at` must be.
    let later = in_two_days_at(1);
    for base in [
        format!("/api/v1/recommendations/{a}"),
        format!("/api/v1/recommendations/{a}/venues"),
        format!("/reco/venues/{a}"),
    ] {
        let res = app.get(&format!("{base}?open_now=true&open_at={later}")).await;
        let body = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("open_now")).await;
        assert!(body["error"]["details"][0]["message"].as_str().unwrap().contains("open_at"), "{body}");
        // Either alone is still served, and open_now=false (no filter on now) goes with open_at.
        expect_json(app.get(&format!("{base}?open_now=true")).await, StatusCode::OK).await;
        let at = expect_json(app.get(&format!("{base}?open_at={later}")).await, StatusCode::OK).await;
        let both = format!("{base}?open_now=false&open_at={later}");
        // The same venues (the scores may move with the clock between the two calls).
        let ids = |b: &Value| {
            let mut ids: Vec<String> =
                b.to_string().split("\"venue_id\":").skip(1).map(|x| x[..38].to_string()).collect();
            ids.sort();
            ids
        };
        let with_false = expect_json(app.get(&both).await, StatusCode::OK).await;
        assert_eq!(ids(&with_false), ids(&at), "{with_false} against {at}");
    }
}

async fn out_of_range_parameters_are_422s_naming_the_parameter(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let (a, b) = (&users[0], &users[1]);
    let venue_paths = [
        format!("/api/v1/recommendations/{a}"),
        format!("/api/v1/recommendations/{a}/venues"),
        format!("/reco/venues/{a}"),
    ];
    for base in &venue_paths {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("radius_km=0", "radius_km"),
            ("radius_km=20001", "radius_km"),
            ("radius_km=NaN", "radius_km"),
            ("price_min=-1", "price_min"),
            ("price_min=0", "price_min"),
            ("price_max=99", "price_max"),
            ("price_max=5", "price_max"),
            ("price_min=3&price_max=2", "price_max"),
        ] {
            let res = app.get(&format!("{base}?{query}")).await;
            expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
        }
        expect_json(app.get(&format!("{base}?price_min=1&price_max=4&limit=100")).await, StatusCode::OK).await;
    }
    for base in [format!("/api/v1/recommendations/{a}/people"), format!("/reco/people/{a}")] {
        for query in ["limit=0", "limit=101"] {
            let res = app.get(&format!("{base}?{query}")).await;
            expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("limit")).await;
        }
    }
    let group = format!("/api/v1/recommendations/group/{a},{b}");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("max_distance_km=0", "max_distance_km"),
        ("max_distance_km=-3", "max_distance_km"),
    ] {
        let res = app.get(&format!("{group}?{query}")).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
}

async fn a_live_location_with_an_unknown_field_is_refused_and_nothing_is_published(app: &TestApp) {
    let (users, _) = small_city(app).await;
    let path = format!("/api/v1/users/{}/location", users[0]);
    let res = app.put(&path, &json!({"lat": 40.7, "lng": -73.9, "accuracy_m": 5})).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("accuracy_m")).await;
    let events = app.app.bus.history(domain::Channel::UserActions, 1000, None).await.expect("history");
    assert!(!events.iter().any(|e| e.event_type == app::reco_service::LOCATION_EVENT), "published: {events:?}");
}

async fn venues_and_people_together_take_limit_for_both_and_can_leave_people_out(app: &TestApp) {
    start(app).await;
    let seeded = app.post("/api/v1/admin/data/seed", &json!({"users": 40, "venues": 20, "seed": 7})).await;
    expect_json(seeded, StatusCode::OK).await;
    let page = app.get_json("/api/v1/users?limit=1", StatusCode::OK).await;
    let id = page[0]["id"].as_str().expect("a seeded user").to_string();
    let path = format!("/api/v1/recommendations/{id}");
    let len = |b: &Value, list: &str| b[list].as_array().map_or(0, Vec::len);
    let all = eventually(app, &path, |b| len(b, "venues") >= 2 && len(b, "people") >= 2).await;
    let one = app.get_json(&format!("{path}?limit=1"), StatusCode::OK).await;
    assert_eq!((len(&one, "venues"), len(&one, "people")), (1, 1), "{one}");
    assert_eq!(one["people"][0], all["people"][0]);
    let many = app.get_json(&format!("{path}?limit=100"), StatusCode::OK).await;
    let people_alone = app.get_json(&format!("{path}/people?limit=100"), StatusCode::OK).await;
    assert_eq!(len(&many, "people"), len(&people_alone, "people"));
    assert!(len(&many, "people") >= len(&all, "people"));
    let venues_only = app.get_json(&format!("{path}?include_people=false&limit=3"), StatusCode::OK).await;
    assert_eq!(venues_only["people"], json!([]), "{venues_only}");
    assert_eq!(len(&venues_only, "venues"), 3);
    let with_people = app.get_json(&format!("{path}?include_people=true&limit=3"), StatusCode::OK).await;
    assert_eq!(len(&with_people, "people"), len(&all, "people").min(3));
    let res = app.get(&format!("{path}?include_people=maybe")).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("include_people")).await;
}

async fn the_engine_reloads_after_the_admin_seed_endpoint(app: &TestApp) {
    start(app).await;
    let seeded = app.post("/api/v1/admin/data/seed", &json!({"users": 20, "venues": 10, "seed": 7})).await;
    expect_json(seeded, StatusCode::OK).await;
    let page = app.get_json("/api/v1/users?limit=1", StatusCode::OK).await;
    let id = page[0]["id"].as_str().expect("a seeded user").to_string();
    let path = format!("/api/v1/recommendations/{id}/venues?limit=5");
    eventually(app, &path, |b| b["venues"].as_array().is_some_and(|v| !v.is_empty())).await;
}

/// The first Saturday from tomorrow on that lies from December to February, when New York keeps
/// standard time (UTC-5) over that weekend and the Monday after, whenever the test runs: at most
/// about ten months ahead, inside the booking horizon.
fn next_winter_saturday() -> chrono::NaiveDate {
    use chrono::Datelike;
    let mut day = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    while day.weekday() != chrono::Weekday::Sat || ![12, 1, 2].contains(&day.month()) {
        day = day.succ_opt().unwrap();
    }
    day
}

async fn the_context_gives_local_time_start_point_persona_and_stated_preferences(app: &TestApp) {
    let mut alice = seed_user("ctx_alice");
    alice["persona"] = json!("social_butterfly");
    alice["preferences"] = json!({"cuisines": ["ramen", "italian"], "price_min": 2, "price_max": 3});
    let alice = app.create_user(alice).await["id"].as_str().unwrap().to_string();
    let bob = app.create_user(seed_user("ctx_bob")).await["id"].as_str().unwrap().to_string();
    app.create_venue(seed_venue("Ctx Roof")).await;
    // Bob's last live location is three hours old: stale, so his search starts from home.
    let bob_id = bob.parse().unwrap();
    let at = chrono::Utc::now() - chrono::Duration::hours(3);
    let stale = store::LiveLocation { user_id: bob_id, lat: 40.8, lng: -73.95, at };
    app.app.store.set_live_location(stale).await.unwrap();
    start(app).await;
    let home = json!({"lat": 40.73, "lon": -73.93});

    // A Saturday ahead (a past `time` is refused) in winter, 13:00 in New York (18:00 UTC on
    // standard time), the venues' zone.
    let day = next_winter_saturday();
    let saturday = format!("{}T18:00:00Z", day.format("%Y-%m-%d"));
    let r = app.get_json(&format!("/api/v1/recommendations/{alice}?time={saturday}"), StatusCode::OK).await;
    let c = &r["context"];
    assert_eq!(c["meal_time"], "lunch", "{c}");
    assert_eq!(c["is_weekend"], true, "{c}");
    assert_eq!(c["hour"], 13, "{c}");
    assert_eq!(c["user_location"], home, "{c}");
    assert_eq!(c["user_persona"], "social_butterfly", "{c}");
    assert_eq!(
        c["preferences"],
        json!({"cuisines": ["ramen", "italian"], "price_range": [2, 3], "max_distance": null})
    );
    let r = app.get_json(&format!("/api/v1/recommendations/{alice}?time={saturday}&radius_km=5"), StatusCode::OK).await;
    assert_eq!(r["context"]["preferences"]["max_distance"], 5.0, "{r}");

    // The Monday after, 17:30 in New York (22:30 UTC, late at night in UTC): dinner, a weekday.
    let monday = format!("{}T22:30:00Z", (day + chrono::Duration::days(2)).format("%Y-%m-%d"));
    let r = app.get_json(&format!("/api/v1/recommendations/{alice}?time={monday}"), StatusCode::OK).await;
    assert_eq!((&r["context"]["meal_time"], &r["context"]["is_weekend"]), (&json!("dinner"), &json!(false)), "{r}");
    assert_eq!(r["context"]["hour"], 17, "{r}");

    // A fresh live location is where the search starts from.
    let put = app.put(&format!("/api/v1/users/{alice}/location"), &json!({"lat": 40.75, "lng": -73.98})).await;
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let live = json!({"lat": 40.75, "lon": -73.98});
    let path = format!("/api/v1/recommendations/{alice}?time={saturday}");
    eventually(app, &path, |r| r["context"]["user_location"] == live).await;

    // No persona, no stated preferences: both null; the stale live location is not used.
    let r = app.get_json(&format!("/api/v1/recommendations/{bob}?time={saturday}"), StatusCode::OK).await;
    let c = &r["context"];
    assert_eq!(c["user_location"], home, "{c}");
    assert!(c["user_persona"].is_null() && c["preferences"].is_null(), "{c}");
    assert_eq!((&c["meal_time"], &c["hour"]), (&json!("lunch"), &json!(13)), "{c}");
}
