//! The embedded dashboard at `/`: its files with content types and cache headers, the app
//! shell for browser navigations to its own routes, and every API route still winning.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use app::{App, AppSettings};

use crate::helpers::{Backend, fresh_store};

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(router: &axum::Router, uri: &str, headers: &[(header::HeaderName, &str)]) -> Answer {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let res = router.clone().oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

const HTML: (header::HeaderName, &str) = (header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");

async fn router() -> (axum::Router, crate::helpers::FreshStore) {
    let fresh = fresh_store(Backend::Sqlite).await.expect("sqlite");
    let app = App::new(fresh.store.clone(), AppSettings::default());
    let opts = api::ServeOptions { auth: crate::helpers::test_auth(), ..Default::default() };
    (api::router_with(app, &opts), fresh)
}

fn content_type(a: &Answer) -> &str {
    a.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root_with_its_hashed_assets_cached() {
    let (router, _db) = router().await;
    let index = get(&router, "/", &[]).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(content_type(&index).starts_with("text/html"));
    assert!(index.body.contains("<div id=\"root\">"), "{}", index.body);
    assert_eq!(index.headers[header::CACHE_CONTROL], "no-cache");

    let script = index.body.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("a script tag");
    assert!(script.starts_with("/assets/"), "{script}");
    let js = get(&router, script, &[]).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(content_type(&js).contains("javascript"), "{}", content_type(&js));
    assert_eq!(js.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");

    let etag = js.headers[header::ETAG].to_str().expect("etag").to_string();
    let again = get(&router, script, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn a_browser_reloading_a_dashboard_page_gets_the_app() {
    let (router, _db) = router().await;
    for uri in ["/map", "/inspector", "/inspector?users=x"] {
        let page = get(&router, uri, &[HTML]).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert!(page.body.contains("<div id=\"root\">"), "{uri}");
    }
    // Not a browser navigation, a missing file, or an API path: the API's JSON 404.
    for (uri, headers) in
        [("/inspector", &[][..]), ("/assets/missing.js", &[HTML][..]), ("/api/v1/nothing", &[HTML][..])]
    {
        let res = get(&router, uri, headers).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(res.body.contains("\"not_found\""), "{uri}: {}", res.body);
    }
}

#[tokio::test]
async fn api_routes_win_over_the_dashboard_even_for_browsers() {
    let (router, _db) = router().await;
    let admin = format!("Bearer {}", crate::helpers::ADMIN_TOKEN);
    let with_admin = [HTML, (header::AUTHORIZATION, admin.as_str())];
    for uri in ["/health", "/openapi.json", "/users/", "/venues", "/api/v1/admin/stats", "/api/v1/admin/map"] {
        let res = get(&router, uri, &with_admin).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert!(content_type(&res).starts_with("application/json"), "{uri}: {}", content_type(&res));
    }
    let metrics = get(&router, "/metrics", &with_admin).await;
    assert!(content_type(&metrics).starts_with("text/plain"), "{}", content_type(&metrics));
    let docs = get(&router, "/docs/", &[HTML]).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.body.to_lowercase().contains("swagger"));
    // The second seed's other docs page, with its script served from the binary.
    for uri in ["/redoc", "/redoc/"] {
        let redoc = get(&router, uri, &[HTML]).await;
        assert_eq!(redoc.status, StatusCode::OK, "{uri}");
        assert!(redoc.body.contains(r#"<redoc spec-url="/openapi.json">"#), "{uri}: {}", redoc.body);
    }
    let script = get(&router, "/redoc/redoc.standalone.js", &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(content_type(&script).starts_with("text/javascript"), "{}", content_type(&script));
    assert!(script.body.len() > 500_000 && script.body.contains("Redoc"), "{} bytes", script.body.len());
    // Nothing on the page is fetched from the internet (the bundle's one image URL is replaced).
    assert!(!script.body.contains("https://cdn."), "the served bundle still fetches from a CDN");
    // Its page names the dashboard's icon, which is served, so no request for /favicon.ico 404s.
    let page = get(&router, "/redoc", &[HTML]).await.body;
    assert!(page.contains(r#"<link rel="icon" type="image/svg+xml" href="/favicon.svg" />"#), "{page}");
    let icon = get(&router, "/favicon.svg", &[]).await;
    assert_eq!((icon.status, content_type(&icon).starts_with("image/svg+xml")), (StatusCode::OK, true));
}
