//! Cheap in-process tests of the router (`oneshot`, no socket): slashes, methods, body limits,
//! CORS and the OpenAPI document.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use app::{App, AppSettings};

use crate::helpers::{Backend, FreshStore, fresh_store};

async fn test_router(opts: api::ServeOptions) -> (Router, FreshStore) {
    let fresh = fresh_store(Backend::Sqlite).await.expect("sqlite");
    let app = App::new(fresh.store.clone(), AppSettings::default());
    (api::router_with(app, &opts), fresh)
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn a_trailing_slash_routes_like_no_slash() {
    let (router, _db) = test_router(Default::default()).await;
    for uri in ["/health", "/health/", "/users", "/users/", "/api/v1/venues/", "/api/v1/venues"] {
        let (status, _, _) = send(&router, get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_that_keeps_the_allow_header() {
    let (router, _db) = test_router(Default::default()).await;
    let req = Request::delete("/users/").body(Body::empty()).expect("request");
    let (status, headers, body) = send(&router, req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    assert!(headers.get(header::ALLOW).is_some_and(|a| a.to_str().unwrap_or_default().contains("POST")));
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let (router, _db) = test_router(Default::default()).await;
    let (status, _, body) = send(&router, get("/api/v2/users")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["details"].is_null());
}

fn small_limit() -> api::ServeOptions {
    api::ServeOptions { body_limit_bytes: 1024, ..Default::default() }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413_with_or_without_a_content_length() {
    let (router, _db) = test_router(small_limit()).await;
    let big = format!("{{\"handle\": \"alice\", \"name\": \"{}\"}}", "x".repeat(2048));
    let with_length = Request::post("/users/")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .expect("request");
    let (status, _, body) = send(&router, with_length).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let chunks = futures::stream::iter(
        big.into_bytes().chunks(256).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let streamed = Request::post("/api/v1/users")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .expect("request");
    let (status, _, body) = send(&router, streamed).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn cors_is_permissive_only_in_dev() {
    let preflight = || {
        Request::options("/api/v1/users")
            .header(header::ORIGIN, "http://localhost:5173")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .expect("request")
    };
    let (dev, _db) = test_router(api::ServeOptions { dev: true, ..Default::default() }).await;
    let (_, headers, _) = send(&dev, preflight()).await;
    assert!(headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let (prod, _db2) = test_router(Default::default()).await;
    let (_, headers, _) = send(&prod, preflight()).await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn the_served_document_is_the_one_openapi_returns() {
    let (router, _db) = test_router(Default::default()).await;
    let (status, _, served) = send(&router, get("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let built = serde_json::to_value(api::openapi()).expect("serializable");
    assert_eq!(served, built);
}
