//! Operations over HTTP: health as the seed writes it, the OpenAPI document, Swagger UI served
//! offline, Prometheus metrics labelled by route template, request ids.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, expect_json, seed_user};

crate::on_every_backend!(
    health_answers_the_seed_fields_with_and_without_the_slash,
    the_openapi_document_lists_the_v1_and_the_seed_paths_with_unique_operation_ids,
    the_openapi_document_gives_recommendation_parameters_the_bounds_and_defaults_served,
    the_openapi_document_gives_sized_body_fields_the_ranges_served,
    swagger_ui_is_served_from_the_binary,
    metrics_count_requests_by_route_template,
    every_response_carries_a_request_id,
);

async fn health_answers_the_seed_fields_with_and_without_the_slash(app: &TestApp) {
    for path in ["/health", "/health/"] {
        let body = app.get_json(path, StatusCode::OK).await;
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["service"], "Luna API Service");
        assert_eq!(body["database"]["status"], "ok");
        assert!(body["version"].is_string());
    }
}

async fn the_openapi_document_lists_the_v1_and_the_seed_paths_with_unique_operation_ids(app: &TestApp) {
    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/users/",
        "/users/{user_id}",
        "/venues/",
        "/venues/{venue_id}",
        "/venues/{venue_id}/interactions",
        "/venues/{venue_id}/interact",
        "/health",
        "/api/v1/users",
        "/api/v1/users/{user_id}/preferences",
        "/api/v1/users/{user_id}/friends/{other_user_id}",
        "/api/v1/users/{user_id}/friend-requests/{request_id}/accept",
        "/api/v1/venues/{venue_id}/interact",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    let mut ids = Vec::new();
    for item in paths.values() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} without operationId"));
            ids.push(id.to_string());
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{id} has no responses");
        }
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "operation ids are unique");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["User", "UserInput", "Venue", "VenueInput", "InteractionInput", "ErrorBody", "FieldError"] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
}

/// The parameters of the operation at `path` (its only method), by name.
fn parameters(doc: &Value, path: &str) -> serde_json::Map<String, Value> {
    let item = doc["paths"][path].as_object().unwrap_or_else(|| panic!("{path} not documented"));
    let op = item.values().next().expect("an operation");
    let list = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().map(|p| (p["name"].as_str().unwrap().to_string(), p.clone())).collect()
}

async fn the_openapi_document_gives_recommendation_parameters_the_bounds_and_defaults_served(app: &TestApp) {
    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    let reco_paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.starts_with("/api/v1/recommendations/") || p.starts_with("/reco/"))
        .cloned()
        .collect();
    let mut with_limit = 0;
    for path in &reco_paths {
        let params = parameters(&doc, path);
        // The server takes 1 to 100 (0 and 101 are 422s); the document must not allow 0.
        if let Some(limit) = params.get("limit") {
            with_limit += 1;
            assert_eq!((&limit["schema"]["minimum"], &limit["schema"]["maximum"]), (&1.into(), &100.into()), "{path}");
        }
        for price in ["price_min", "price_max"].iter().filter_map(|p| params.get(*p)) {
            assert_eq!((&price["schema"]["minimum"], &price["schema"]["maximum"]), (&1.into(), &4.into()), "{path}");
        }
    }
    assert_eq!(with_limit, 6, "limit on both, venues, people and group, and the two seed paths: {reco_paths:?}");
    // Without a ranker the seed paths answer with seed2, the /api/v1 ones with default.
    for path in ["/reco/venues/{user_id}", "/reco/people/{user_id}"] {
        let ranker = parameters(&doc, path)["ranker"]["description"].as_str().unwrap_or_default().to_string();
        assert!(ranker.contains("`seed2` (the default here)"), "{path}: {ranker}");
        assert!(!ranker.contains("(default `default`)") && !ranker.contains("`default` (the default)"), "{path}");
    }
    // Venues and people together: limit caps each list, and people can be left out.
    let both = parameters(&doc, "/api/v1/recommendations/{user_id}");
    assert!(both["limit"]["description"].as_str().unwrap_or_default().contains("venues and people"), "{both:?}");
    assert!(both.contains_key("include_people"), "{both:?}");
    for path in ["/api/v1/recommendations/{user_id}/venues", "/api/v1/recommendations/{user_id}/people"] {
        let ranker = parameters(&doc, path)["ranker"]["description"].as_str().unwrap_or_default().to_string();
        assert!(ranker.contains("default `default`") || ranker.contains("`default` (the default)"), "{path}: {ranker}");
    }
}

/// The sizes of a simulation, a demo seed and a training, as their handlers check them (the
/// seed's `users` may be 0: venues alone, as `luna seed --users 0`), as a client reads them in
/// the served document.
async fn the_openapi_document_gives_sized_body_fields_the_ranges_served(app: &TestApp) {
    let doc = app.get_json("/openapi.json", StatusCode::OK).await;
    let schemas = &doc["components"]["schemas"];
    for (schema, field, lo, hi) in [
        ("StartRequest", "users", 1, 1_000_000),
        ("SeedRequest", "users", 0, 20_000),
        ("SeedRequest", "venues", 1, 10_000),
        ("TrainRequest", "epochs", 1, 10_000),
        ("TrainRequest", "factors", 1, 512),
    ] {
        let property = &schemas[schema]["properties"][field];
        // An optional field states its range on the branch that is not `null`.
        let ranged = property["oneOf"]
            .as_array()
            .and_then(|branches| branches.iter().find(|b| b["type"] != "null"))
            .unwrap_or(property);
        assert_eq!((&ranged["minimum"], &ranged["maximum"]), (&lo.into(), &hi.into()), "{schema}.{field}: {property}");
    }
}

async fn swagger_ui_is_served_from_the_binary(app: &TestApp) {
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().to_lowercase().contains("swagger"));
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::OK, "/docs redirects to /docs/");
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
}

async fn metrics_count_requests_by_route_template(app: &TestApp) {
    let user = app.create_user(seed_user("alice")).await;
    let id = user["id"].as_str().unwrap();
    app.get_json(&format!("/api/v1/users/{id}"), StatusCode::OK).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/api/v1/users/{user_id}""#), "route template label: {text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "a histogram: {text}");
    assert!(!text.contains(id), "raw paths never become labels");
}

async fn every_response_carries_a_request_id(app: &TestApp) {
    let res = app.get("/health").await;
    assert!(res.headers().contains_key("x-request-id"));
    let res = app.client.get(app.url("/nope")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let body: Value = expect_json(res, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"]["code"], "not_found");
}
