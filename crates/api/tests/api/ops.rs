//! Operations over HTTP: health as the seed writes it, the OpenAPI document, Swagger UI served
//! offline, Prometheus metrics labelled by route template, request ids.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, expect_json, seed_user};

crate::on_every_backend!(
    health_answers_the_seed_fields_with_and_without_the_slash,
    the_openapi_document_lists_the_v1_and_the_seed_paths_with_unique_operation_ids,
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
