//! The OpenAPI document and the interactive docs. `/openapi.json` serves the document built
//! from the handlers' `#[utoipa::path]` attributes; `/docs` serves Swagger UI and `/redoc`
//! ReDoc (the second seed's two pages), both from assets compiled into the binary (no CDN,
//! works offline). The unprefixed seed paths are documented
//! next to their `/api/v1` twins with their own operation ids (`legacy_*`).

use app::App;
use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::Html;
use axum::routing::{MethodRouter, get};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The document's frame: title, version, description.
pub fn base() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Luna API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Luna, the backend of a social going-out app. Every resource is served under `/api/v1` and, \
             for clients of the seed documents, at the root as well (`legacy_*` operations). Errors are \
             `{\"error\": {\"code\", \"message\", \"details\"}}`. Lists are JSON arrays with the next page \
             in a `Link` header.",
        ))
        .build();
    OpenApiBuilder::new().info(info).build()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// Documents `to` as a copy of `from` (one handler serving two paths), with operation ids
/// suffixed by `suffix` so they stay unique.
pub fn alias_path(api: &mut OpenApi, from: &str, to: &str, suffix: &str) {
    let Some(mut item) = api.paths.paths.get(from).cloned() else {
        return;
    };
    for op in operations(&mut item) {
        op.operation_id = op.operation_id.take().map(|id| format!("{id}{suffix}"));
    }
    api.paths.paths.insert(to.to_string(), item);
}

/// Replaces the description of the parameter `name` of every operation at `path`: for a
/// parameter whose meaning differs there from the other paths its query type serves (such as
/// a ranker's default).
pub fn describe_parameter(api: &mut OpenApi, path: &str, name: &str, description: &str) {
    let Some(item) = api.paths.paths.get_mut(path) else {
        return;
    };
    for op in operations(item) {
        for p in op.parameters.iter_mut().flatten() {
            if let RefOr::T(p) = p
                && p.name == name
            {
                p.description = Some(description.to_string());
            }
        }
    }
}

/// The unprefixed (seed) copy of the resource document: collection paths written with the
/// trailing slash the seed uses (`/users/`), operation ids prefixed `legacy_`, tag `seed paths`.
pub fn legacy(mut api: OpenApi) -> OpenApi {
    let paths = std::mem::take(&mut api.paths.paths);
    for (path, mut item) in paths {
        for op in operations(&mut item) {
            op.operation_id = op.operation_id.take().map(|id| format!("legacy_{id}"));
            op.tags = Some(vec!["seed paths (unprefixed)".into()]);
        }
        let is_collection = path.matches('/').count() == 1;
        let path = if is_collection { format!("{path}/") } else { path };
        api.paths.paths.insert(path, item);
    }
    api
}

/// Completes the document with what no handler annotation says: the error responses the outer
/// layers give any operation (408 timeout, 429 rate limit, 503 unavailable; 400 malformed JSON,
/// 413 too large and 415 not JSON for operations with a body), and the schemas of enums used
/// only as query parameters (which utoipa does not collect).
pub fn complete(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            let mut common = vec![
                ("408", "The request took longer than the server allows"),
                ("429", "Too many requests from this client; `Retry-After` says when to retry"),
                (
                    "503",
                    "A dependency is unavailable; retry after `Retry-After` seconds. Code `database_unavailable` \
                    when the database cannot be reached (answered within about 2 s, not after the connection \
                    pool's wait, and within about 3 s for a request whose database stopped answering mid-query; \
                    its message says when a change may or may not have been saved), `service_unavailable` otherwise",
                ),
            ];
            if op.request_body.is_some() {
                common.extend([
                    ("400", "Malformed JSON"),
                    ("413", "The body is too large"),
                    ("415", "The body is not JSON"),
                ]);
            }
            for (status, description) in common {
                op.responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::T(error_response(status, description)));
            }
            // Every 429 and 503 carries `Retry-After` (`ApiError`'s responses), those a handler
            // documents itself too (QA: the streams' own 503 did not say so).
            for status in ["429", "503"] {
                if let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) {
                    response.headers.entry("retry-after".into()).or_insert_with(|| RefOr::T(retry_after()));
                }
            }
        }
    }
    let schemas = &mut api.components.get_or_insert_with(Default::default).schemas;
    schemas.entry("Ranker".into()).or_insert_with(<engine::Ranker as utoipa::PartialSchema>::schema);
    schemas.entry("Direction".into()).or_insert_with(<crate::social::Direction as utoipa::PartialSchema>::schema);
    schemas.entry("PlanRole".into()).or_insert_with(<crate::plans::PlanRole as utoipa::PartialSchema>::schema);
}

fn error_response(status: &str, description: &str) -> Response {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let mut response = ResponseBuilder::new().description(description).content("application/json", content);
    if matches!(status, "429" | "503") {
        response = response.header("retry-after", retry_after());
    }
    response.build()
}

/// The `Retry-After` header of a 429 or 503.
fn retry_after() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer)))
        .description(Some("Seconds to wait before retrying"))
        .build()
}

/// `/docs` (Swagger UI, vendored assets). Mounted outside the trailing-slash normalisation,
/// because Swagger UI redirects `/docs` to `/docs/`.
pub fn swagger_ui() -> Router {
    SwaggerUi::new("/docs").config(Config::from("/openapi.json")).into()
}

/// ReDoc 2.5.4's standalone bundle (MIT, `assets/redoc/LICENSE`), vendored from npm's `redoc`.
const REDOC_JS: &str = include_str!("../assets/redoc/redoc.standalone.js");
const REDOC_HTML: &str = include_str!("../assets/redoc/index.html");
/// The one file the bundle fetches from the internet: the Redocly logo beside "API docs by
/// Redocly" in the sidebar. Served, it is an empty image instead, so the page makes no request
/// outside the server (the docs work offline).
const REDOC_CDN_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const EMPTY_SVG: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
static REDOC_SCRIPT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| REDOC_JS.replace(REDOC_CDN_LOGO, EMPTY_SVG));

/// `/redoc` (ReDoc, vendored bundle) reading `/openapi.json`. Mounted outside the
/// trailing-slash normalisation like `/docs`, so `/redoc/` is routed here too.
pub fn redoc() -> Router {
    let page = get(|| async { Html(REDOC_HTML) });
    let script = get(|| async {
        let headers = [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ];
        (headers, REDOC_SCRIPT.as_str())
    });
    Router::new().route("/redoc", page.clone()).route("/redoc/", page).route("/redoc/redoc.standalone.js", script)
}

/// `GET /openapi.json`, serialized once.
pub fn openapi_json(api: &OpenApi) -> MethodRouter<App> {
    let json = Bytes::from(api.to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialize the OpenAPI document");
        "{}".into()
    }));
    get(move || {
        let json = json.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], json) }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(crate::openapi()).unwrap_or_default()
    }

    #[test]
    fn every_schema_the_document_refers_to_is_in_it() {
        let doc = doc();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            assert!(schemas.contains_key(&name), "{name} is referred to but not defined");
        }
    }

    #[test]
    fn every_operation_documents_the_errors_of_the_outer_layers() {
        let doc = doc();
        for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
            for (method, op) in item.as_object().cloned().unwrap_or_default() {
                let responses = &op["responses"];
                for status in ["408", "429", "503"] {
                    assert!(responses.get(status).is_some(), "{method} {path} lacks {status}");
                }
                // Every 429 and 503 answered carries `Retry-After`, so every one documented says so.
                for status in ["429", "503"] {
                    let headers = &responses[status]["headers"];
                    assert!(headers.get("retry-after").is_some(), "{method} {path}: {status} without Retry-After");
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415"] {
                        assert!(responses.get(status).is_some(), "{method} {path} lacks {status}");
                    }
                }
            }
        }
    }

    /// Every number a request carries, as (where, schema): the query parameters and the fields
    /// of the request bodies (through `$ref`s, `oneOf`, `allOf` and arrays).
    fn numbers_requests_carry(doc: &Value) -> Vec<(String, Value)> {
        fn walk(doc: &Value, at: &str, schema: &Value, seen: &mut Vec<String>, out: &mut Vec<(String, Value)>) {
            if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                if !seen.iter().any(|s| s == name) {
                    seen.push(name.to_string());
                    walk(doc, &format!("{at}({name})"), &doc["components"]["schemas"][name], seen, out);
                }
                return;
            }
            let types = schema["type"].to_string();
            if types.contains("integer") || types.contains("number") {
                out.push((at.to_string(), schema.clone()));
            }
            for key in ["oneOf", "allOf", "anyOf"] {
                for item in schema[key].as_array().into_iter().flatten() {
                    walk(doc, at, item, seen, out);
                }
            }
            walk_items(doc, at, schema, seen, out);
        }
        fn walk_items(doc: &Value, at: &str, schema: &Value, seen: &mut Vec<String>, out: &mut Vec<(String, Value)>) {
            for (name, field) in schema["properties"].as_object().into_iter().flatten() {
                walk(doc, &format!("{at}.{name}"), field, seen, out);
            }
            if schema["items"].is_object() {
                walk(doc, &format!("{at}[]"), &schema["items"], seen, out);
            }
            if schema["additionalProperties"].is_object() {
                walk(doc, &format!("{at}{{}}"), &schema["additionalProperties"], seen, out);
            }
        }
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
            for (method, op) in item.as_object().cloned().unwrap_or_default() {
                let at = format!("{method} {path}");
                for p in op["parameters"].as_array().into_iter().flatten() {
                    walk(
                        doc,
                        &format!("{at} ?{}", p["name"].as_str().unwrap_or("")),
                        &p["schema"],
                        &mut Vec::new(),
                        &mut out,
                    );
                }
                let body = &op["requestBody"]["content"]["application/json"]["schema"];
                walk(doc, &format!("{at} body"), body, &mut Vec::new(), &mut out);
            }
        }
        out
    }

    /// The range a documented number has: (lowest, highest, lowest excluded).
    fn documented_range(schema: &Value) -> Option<(f64, f64, bool)> {
        let hi = schema["maximum"].as_f64()?;
        match (schema["minimum"].as_f64(), schema["exclusiveMinimum"].as_f64()) {
            (Some(lo), None) => Some((lo, hi, false)),
            (None, Some(lo)) => Some((lo, hi, true)),
            _ => None,
        }
    }

    #[test]
    fn every_number_a_request_carries_is_documented_with_its_range() {
        // Numbers without a range: random seeds (any u64).
        let free = [".seed", "?seed"];
        let doc = doc();
        let numbers = numbers_requests_carry(&doc);
        assert!(numbers.len() > 50, "{}", numbers.len());
        let missing: Vec<&String> = numbers
            .iter()
            .filter(|(at, schema)| documented_range(schema).is_none() && !free.iter().any(|f| at.ends_with(f)))
            .map(|(at, _)| at)
            .collect();
        assert!(missing.is_empty(), "numbers without a documented range: {missing:#?}");
    }

    #[test]
    fn the_documented_ranges_are_those_the_validation_enforces() {
        use domain::limits::*;
        let doc = doc();
        let numbers = numbers_requests_carry(&doc);
        let whole = |r: Whole| Some((r.lo as f64, r.hi as f64, false));
        let real = |r: Real| Some((r.lo, r.hi, r.above_lo));
        for (at, expected) in [
            ("post /api/v1/users body(UserInput).age", whole(AGE)),
            ("post /api/v1/users body(UserInput).home_lat", real(LAT)),
            ("post /api/v1/users body(UserInput).preferences(PreferencesInput).openness", real(SCORE)),
            ("patch /api/v1/users/{user_id} body(UserPatchInput).age", whole(AGE)),
            ("post /api/v1/venues body(VenueInput).capacity", whole(CAPACITY)),
            ("post /api/v1/venues body(VenueInput).rating", real(RATING)),
            ("patch /api/v1/venues/{venue_id} body(VenuePatchInput).capacity", whole(CAPACITY)),
            ("post /api/v1/bookings/{user_id}/create body(BookingInput).party_size", whole(PARTY_SIZE)),
            ("post /api/v1/plans body(PlanInput).party_size", whole(PARTY_SIZE)),
            ("get /api/v1/users ?limit", whole(PAGE_LIMIT)),
            ("get /api/v1/venues ?radius_km", real(app::SEARCH_RADIUS_KM)),
            ("get /api/v1/recommendations/{user_id}/venues ?limit", whole(crate::ranges::RECO_LIMIT)),
            ("get /api/v1/recommendations/{user_id}/venues ?radius_km", real(crate::ranges::RECO_RADIUS_KM)),
            ("get /api/v1/recommendations/{user_id}/venues ?party_size", whole(PARTY_SIZE)),
            ("get /api/v1/venues/{venue_id}/availability ?party_size", whole(PARTY_SIZE)),
            ("post /api/v1/admin/data/seed ?user_count", whole(crate::ranges::SEED_USERS)),
        ] {
            let found: Vec<_> = numbers.iter().filter(|(a, _)| a == at).map(|(_, s)| documented_range(s)).collect();
            assert!(!found.is_empty(), "{at} is not documented");
            assert!(found.iter().all(|r| *r == expected), "{at}: documented {found:?}, enforced {expected:?}");
        }
    }

    #[test]
    fn the_admin_seed_body_is_optional() {
        let body = &doc()["paths"]["/api/v1/admin/data/seed"]["post"]["requestBody"];
        assert_ne!(body["required"], Value::Bool(true), "{body}");
    }

    #[test]
    fn the_interaction_answer_documents_status_and_the_interaction_fields() {
        let schema = doc()["components"]["schemas"]["InteractionRecorded"].to_string();
        assert!(schema.contains("status") && schema.contains("Interaction"), "{schema}");
    }

    #[test]
    fn seed_paths_are_documented_as_the_seed_writes_them_next_to_their_v1_twins() {
        let doc = doc();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert_eq!(paths["/users/"]["post"]["operationId"], "legacy_create_user");
        assert_eq!(paths["/api/v1/users"]["post"]["operationId"], "create_user");
        assert_eq!(
            paths["/venues/{venue_id}/interact"]["post"]["operationId"],
            "legacy_record_interaction_via_interact"
        );
        assert!(!paths.contains_key("/users"), "the unprefixed collection is written `/users/`");
    }

    #[test]
    fn plans_and_bookings_are_documented_at_the_seed_paths_with_their_errors() {
        let doc = doc();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for (path, method) in [
            ("/plans/", "post"),
            ("/api/v1/plans", "post"),
            ("/plans/{plan_id}", "get"),
            ("/plans/{plan_id}/confirm", "post"),
            ("/plans/{plan_id}/cancel", "post"),
            ("/api/v1/plans/{plan_id}/cancel", "post"),
            ("/users/{user_id}/plans", "get"),
            ("/api/v1/users/{user_id}/plans", "get"),
            ("/api/v1/plans/{plan_id}/participants", "post"),
            ("/api/v1/plans/{plan_id}/participants/{user_id}/accept", "post"),
            ("/bookings", "get"),
            ("/bookings/{plan_id}", "get"),
            ("/api/v1/bookings", "get"),
            ("/api/v1/bookings/{booking_id}", "get"),
            ("/api/v1/bookings/{user_id}/create", "post"),
            ("/api/v1/bookings/user/{user_id}", "get"),
            ("/api/v1/bookings/{booking_id}/cancel", "post"),
            ("/api/v1/bookings/{booking_id}/status", "post"),
            ("/api/v1/bookings/venue/{venue_id}/auto-book", "post"),
            ("/api/v1/venues/{venue_id}/availability", "get"),
        ] {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
        }
        let create = &paths["/api/v1/bookings/{user_id}/create"]["post"];
        for status in ["201", "404", "409", "422", "503"] {
            assert!(create["responses"].get(status).is_some(), "create booking does not document {status}");
        }
        let params = create["parameters"].to_string();
        assert!(params.contains("Idempotency-Key"), "{params}");
        let schemas = doc["components"]["schemas"].to_string();
        for schema in ["BookingReceipt", "NoRoom", "Alternatives", "PlanConfirmation", "Availability"] {
            assert!(schemas.contains(&format!("\"{schema}\"")), "{schema} has no schema");
        }
    }
}
