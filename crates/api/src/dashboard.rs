//! The admin dashboard at `/`: the built single-page app (`dashboard/dist`, built by
//! `cd dashboard && npm ci && npm run build` and committed) embedded in the binary, so
//! `luna serve` needs no Node and no files beside it.
//!
//! It is the router's fallback, so every API route, `/docs`, `/openapi.json`, `/health` and
//! `/metrics` win over it. A path that names an embedded file gets it with its content type;
//! Vite's content-hashed files under `assets/` are cached for a year, everything else is
//! revalidated (`ETag`, `If-None-Match` -> 304). A browser navigation (`Accept: text/html`) to
//! any other path outside `/api` gets `index.html`, so the app's own routes (`/map`,
//! `/inspector`) survive a reload; anything else stays the API's JSON 404.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::error::not_found;

#[derive(RustEmbed)]
// Relative to this crate (crates/api).
#[folder = "../../dashboard/dist"]
struct Assets;

const INDEX: &str = "index.html";
/// Vite puts content-hashed files here: their bytes never change under the same name.
const HASHED_DIR: &str = "assets/";

/// The fallback: an embedded file, the app shell for a browser navigation, or the JSON 404.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_found().await.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { INDEX } else { path };
    if let Some(file) = Assets::get(path) {
        return respond(path, &file, &headers);
    }
    if is_app_route(path, &headers)
        && let Some(index) = Assets::get(INDEX)
    {
        return respond(INDEX, &index, &headers);
    }
    not_found().await.into_response()
}

/// A client-side route: a browser asking for a page, outside the API, not naming a file.
fn is_app_route(path: &str, headers: &HeaderMap) -> bool {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    let last = path.rsplit('/').next().unwrap_or_default();
    wants_html && !path.starts_with("api/") && path != "api" && !last.contains('.')
}

fn respond(path: &str, file: &EmbeddedFile, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with(HASHED_DIR) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = Response::new(Body::from(file.data.clone()));
        if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
            res.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        res
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn only_browser_navigations_outside_the_api_are_app_routes() {
        let html = accept("text/html,application/xhtml+xml,*/*;q=0.8");
        assert!(is_app_route("inspector", &html));
        assert!(is_app_route("map/venues", &html));
        assert!(!is_app_route("api/v1/nothing", &html));
        assert!(!is_app_route("api", &html));
        assert!(!is_app_route("assets/missing.js", &html));
        assert!(!is_app_route("inspector", &accept("application/json")));
        assert!(!is_app_route("inspector", &HeaderMap::new()));
    }

    #[test]
    fn the_built_app_is_embedded() {
        let index = Assets::get(INDEX).expect("dashboard/dist/index.html is embedded");
        assert_eq!(index.metadata.mimetype(), "text/html");
        assert!(Assets::iter().any(|p| p.starts_with(HASHED_DIR) && p.ends_with(".js")));
    }
}
