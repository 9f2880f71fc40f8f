//! Users over HTTP: the seed's paths and body, both slash variants, the `/api/v1` twins,
//! pagination, filters, update, delete and preferences.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_error, expect_json, ids, next_link, seed_user};

crate::on_every_backend!(
    the_seed_example_creates_a_user_with_the_seed_fields,
    every_time_is_written_to_the_microsecond_whatever_its_value,
    every_user_path_answers_with_and_without_a_trailing_slash_and_under_api_v1,
    a_user_with_only_the_required_fields_can_be_created,
    users_are_listed_in_pages_linked_by_the_link_header,
    users_can_be_filtered_by_handle_prefix_and_persona,
    a_user_can_be_updated_and_deleted,
    only_the_admin_sets_a_users_persona_and_scores,
    a_system_owned_field_that_does_not_parse_is_refused_for_the_missing_credential_first,
    preferences_default_until_put_and_refuse_bad_values,
);

async fn the_seed_example_creates_a_user_with_the_seed_fields(app: &TestApp) {
    let res = app.post("/users/", &seed_user("alice")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let user = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(user["handle"], "alice");
    assert_eq!(user["name"], "Alice Chen");
    assert_eq!(user["age"], 25);
    assert_eq!(user["home_lat"], 40.73);
    assert_eq!(user["home_lng"], -73.93);
    let id = user["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(location, format!("/users/{id}"));

    let list = app.get_json("/users/", StatusCode::OK).await;
    assert_eq!(ids(&list), vec![id.to_string()]);
    let one = app.get_json(&location, StatusCode::OK).await;
    assert_eq!(one, user);
}

async fn every_user_path_answers_with_and_without_a_trailing_slash_and_under_api_v1(app: &TestApp) {
    let a = expect_json(app.post("/users", &seed_user("alice")).await, StatusCode::CREATED).await;
    let res = app.post("/api/v1/users/", &seed_user("bob")).await;
    let id = res.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/v1/users/"));
    let b = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(b["id"], id.as_str());
    for path in ["/users", "/users/", "/api/v1/users", "/api/v1/users/"] {
        assert_eq!(app.get_json(path, StatusCode::OK).await.as_array().unwrap().len(), 2, "{path}");
    }
    let a_id = a["id"].as_str().unwrap();
    for path in [format!("/users/{a_id}"), format!("/users/{a_id}/"), format!("/api/v1/users/{a_id}/")] {
        assert_eq!(app.get_json(&path, StatusCode::OK).await["handle"], "alice", "{path}");
    }
}

async fn a_user_with_only_the_required_fields_can_be_created(app: &TestApp) {
    let user = app.create_user(json!({"handle": "Minimal_1", "name": "Min"})).await;
    assert_eq!(user["handle"], "minimal_1");
    assert!(user["age"].is_null() && user["home_lat"].is_null() && user["email"].is_null());
    assert_eq!(user["activity_score"], 0.5);
}

async fn users_are_listed_in_pages_linked_by_the_link_header(app: &TestApp) {
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.create_user(seed_user(&format!("pager{i}"))).await["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut path = Some("/api/v1/users?handle=pager&limit=2".to_string());
    while let Some(p) = path {
        let res = app.get(&p).await;
        path = next_link(&res);
        if let Some(next) = &path {
            assert!(next.contains("handle=pager") && next.contains("limit=2"), "{next}");
        }
        let page = expect_json(res, StatusCode::OK).await;
        assert!(page.as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
    }
    assert_eq!(seen, created);
    let res = app.get("/users/?limit=5").await;
    assert!(res.headers().get("link").is_none(), "no next page after the last one");
    assert_eq!(ids(&expect_json(res, StatusCode::OK).await), created);
}

async fn users_can_be_filtered_by_handle_prefix_and_persona(app: &TestApp) {
    let mut foodie = seed_user("foodie_ann");
    foodie["persona"] = json!("foodie_explorer");
    app.create_user(foodie).await;
    app.create_user(seed_user("food_bob")).await;
    app.create_user(seed_user("carol")).await;
    let food = app.get_json("/api/v1/users?handle=FOOD", StatusCode::OK).await;
    assert_eq!(food.as_array().unwrap().len(), 2);
    let literal = app.get_json("/api/v1/users?handle=food_", StatusCode::OK).await;
    assert_eq!(literal.as_array().unwrap().len(), 1, "`_` is a literal, not a wildcard");
    let by_persona = app.get_json("/users/?persona=foodie_explorer", StatusCode::OK).await;
    assert_eq!(by_persona.as_array().unwrap().len(), 1);
    assert_eq!(by_persona[0]["handle"], "foodie_ann");
    expect_error(
        app.get("/users/?persona=wizard").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("persona"),
    )
    .await;
}

async fn a_user_can_be_updated_and_deleted(app: &TestApp) {
    let user = app.create_user(seed_user("alice")).await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let updated = expect_json(
        app.patch(&path, &json!({"name": "Alice C.", "age": null, "city": "New York"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["name"], "Alice C.");
    assert!(updated["age"].is_null());
    assert_eq!(updated["city"], "New York");
    assert_eq!(updated["handle"], "alice");
    assert_eq!(app.get_json(&path, StatusCode::OK).await["name"], "Alice C.");
    // The home location is forgotten as a pair, never half.
    assert!(updated["home_lat"].is_number(), "{updated}");
    let half = app.patch(&path, &json!({"home_lat": null})).await;
    expect_error(half, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("home_lng")).await;
    let gone = expect_json(app.patch(&path, &json!({"home_lat": null, "home_lng": null})).await, StatusCode::OK).await;
    assert!(gone["home_lat"].is_null() && gone["home_lng"].is_null() && gone["name"] == "Alice C.", "{gone}");
    // A required field cannot be cleared: null is a 422 naming it, and changes nothing.
    for field in ["name", "handle", "activity_score"] {
        let res = app.patch(&path, &json!({ field: null, "city": "Boston" })).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get_json(&path, StatusCode::OK).await["city"], "New York");

    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    expect_error(app.delete(&path).await, StatusCode::NOT_FOUND, "not_found", None).await;
    expect_error(app.patch(&path, &json!({"name": "x"})).await, StatusCode::NOT_FOUND, "not_found", None).await;
    assert_eq!(app.user_count().await, 0);
}

/// `persona`, `activity_score` and `social_score` are the system's (the simulator acts for
/// users with a persona, the recommender trusts the scores): a user's own token cannot set them
/// (403 naming the field, nothing changed), nor can a sign-up without a credential (401); the
/// admin can.
async fn only_the_admin_sets_a_users_persona_and_scores(app: &TestApp) {
    let alice = app.create_user(seed_user("alice")).await;
    let id = alice["id"].as_str().unwrap();
    let path = format!("/api/v1/users/{id}");
    let as_alice = app.as_user(id);
    for (body, field) in [
        (json!({"persona": "social_butterfly"}), "persona"),
        (json!({"persona": null}), "persona"),
        (json!({"activity_score": 1.0}), "activity_score"),
        (json!({"name": "Alice C.", "social_score": 1.0}), "social_score"),
    ] {
        let res = as_alice.patch(app.url(&path)).json(&body).send().await.unwrap();
        let err = expect_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}`")), "{body}: {message}");
    }
    assert_eq!(app.get_json(&path, StatusCode::OK).await, alice, "nothing changed");
    let renamed = as_alice.patch(app.url(&path)).json(&json!({"name": "Alice C."})).send().await.unwrap();
    assert_eq!(expect_json(renamed, StatusCode::OK).await["name"], "Alice C.", "other fields are hers");

    // Signing up: without a credential a 401, with a user's token a 403, each naming the fields.
    let mut scored = seed_user("bob");
    scored["activity_score"] = json!(1.0);
    scored["persona"] = json!("foodie_explorer");
    let res = app.anon.post(app.url("/api/v1/users")).json(&scored).send().await.unwrap();
    let err = expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
    assert!(err["error"]["message"].as_str().unwrap().contains("`persona`, `activity_score`"), "{err}");
    let res = as_alice.post(app.url("/users")).json(&scored).send().await.unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert_eq!(app.user_count().await, 1, "no user created");
    let res = app.anon.post(app.url("/api/v1/users")).json(&seed_user("bob")).send().await.unwrap();
    assert_eq!(expect_json(res, StatusCode::CREATED).await["persona"], json!(null), "a plain sign-up still works");

    // The admin sets them, on a sign-up and on an update.
    let carol = app.create_user(json!({"handle": "carol", "name": "Carol", "persona": "routine_regular"})).await;
    assert_eq!(carol["persona"], "routine_regular");
    let body = json!({"persona": "event_organizer", "activity_score": 0.9, "social_score": 0.2});
    let set = expect_json(app.patch(&path, &body).await, StatusCode::OK).await;
    assert_eq!(
        (&set["persona"], &set["activity_score"], &set["social_score"]),
        (&json!("event_organizer"), &json!(0.9), &json!(0.2))
    );
}

/// A system-owned field whose value does not parse is refused for the credential it needs
/// first, as a well-formed one is: without a credential a 401, with a user's token a 403, each
/// naming it, nothing written; only the admin is told the value is wrong (422).
async fn a_system_owned_field_that_does_not_parse_is_refused_for_the_missing_credential_first(app: &TestApp) {
    let alice = app.create_user(seed_user("alice")).await;
    let path = format!("/api/v1/users/{}", alice["id"].as_str().unwrap());
    let as_alice = app.as_user(alice["id"].as_str().unwrap());
    for (field, value) in [("persona", json!("wizard")), ("activity_score", json!("high")), ("social_score", json!([]))]
    {
        let mut body = seed_user("bob");
        body[field] = value.clone();
        let res = app.anon.post(app.url("/api/v1/users")).json(&body).send().await.unwrap();
        let err = expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
        assert!(err["error"]["message"].as_str().unwrap().contains(&format!("`{field}`")), "{err}");
        let res = as_alice.post(app.url("/users/")).json(&body).send().await.unwrap();
        expect_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
        let res = as_alice.patch(app.url(&path)).json(&json!({field: value})).send().await.unwrap();
        let err = expect_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
        assert!(err["error"]["message"].as_str().unwrap().contains(&format!("`{field}`")), "{err}");
        let res = app.post("/api/v1/users", &body).await;
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.user_count().await, 1, "no user created");
    assert_eq!(app.get_json(&path, StatusCode::OK).await, alice, "nothing changed");
    // A bad value of a field anyone may give is still a 422, with or without a credential.
    let mut aged = seed_user("bob");
    aged["age"] = json!("old");
    let res = app.anon.post(app.url("/api/v1/users")).json(&aged).send().await.unwrap();
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("age")).await;
}

async fn preferences_default_until_put_and_refuse_bad_values(app: &TestApp) {
    let user = app.create_user(seed_user("alice")).await;
    let path = format!("/api/v1/users/{}/preferences", user["id"].as_str().unwrap());
    let defaults = app.get_json(&path, StatusCode::OK).await;
    assert_eq!(defaults["price_min"], 1);
    assert_eq!(defaults["price_max"], 4);

    let body = json!({"cuisines": ["Japanese", "ramen"], "price_min": 2, "price_max": 3, "ambiance": ["cozy"],
                      "dietary": ["vegetarian"], "preferred_group_size": 4, "openness": 0.8});
    let stored = expect_json(app.put(&path, &body).await, StatusCode::OK).await;
    assert_eq!(stored["cuisines"], json!(["japanese", "ramen"]));
    assert_eq!(app.get_json(&path, StatusCode::OK).await, stored);

    let bad = json!({"price_min": 5, "openness": 2.0});
    let err = expect_error(
        app.put(&path, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("price_min"),
    )
    .await;
    assert!(err["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == "openness"));
    assert_eq!(app.get_json(&path, StatusCode::OK).await, stored, "nothing written");

    let unknown = format!("/api/v1/users/{}/preferences", uuid::Uuid::now_v7());
    expect_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "not_found", None).await;
    expect_error(app.put(&unknown, &body).await, StatusCode::NOT_FOUND, "not_found", None).await;
}

/// Every time is written one way: RFC 3339 in UTC, six digits after the second unless it is a
/// whole second. chrono wrote a generated city's times (whole milliseconds) with three digits,
/// stored ones with six and `generated_at` (just made) with nine, so a client's fixed-format
/// parser failed on some rows and not others.
async fn every_time_is_written_to_the_microsecond_whatever_its_value(app: &TestApp) {
    let made = app.create_user(seed_user("alice")).await;
    let id: uuid::Uuid = made["id"].as_str().expect("id").parse().expect("a UUID");
    let mut user = app.app.store.get_user(id).await.expect("stored");
    // As a generated city's rows are: whole milliseconds.
    let at: chrono::DateTime<chrono::Utc> = "2023-09-08T17:09:19.394Z".parse().expect("a time");
    (user.id, user.handle, user.created_at, user.updated_at) = (domain::new_id(), "bob".into(), at, at);
    let batch = store::Batch { users: vec![user.clone()], ..store::Batch::default() };
    app.app.store.insert_batch(batch).await.expect("written");
    let bob = app.get_json(&format!("/users/{}", user.id), StatusCode::OK).await;
    assert_eq!(
        (bob["created_at"].as_str(), bob["updated_at"].as_str()),
        (Some("2023-09-08T17:09:19.394000Z"), Some("2023-09-08T17:09:19.394000Z")),
        "{bob}"
    );
    let micros = |t: &serde_json::Value| {
        let t = t.as_str().unwrap_or_default();
        let fraction = t.strip_suffix('Z').and_then(|t| t.split_once('.')).map(|(_, f)| f.len());
        t.len() >= 20 && t.parse::<chrono::DateTime<chrono::Utc>>().is_ok() && matches!(fraction, None | Some(6))
    };
    assert!(micros(&made["created_at"]), "{made}");
    let reco = app.get_json(&format!("/api/v1/recommendations/{id}?limit=1"), StatusCode::OK).await;
    assert!(micros(&reco["generated_at"]), "{}", reco["generated_at"]);
}
