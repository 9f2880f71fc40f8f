//! Prometheus metrics: one recorder per process (installed on first use, shared by every router
//! a process builds, tests included), a middleware counting requests and timing them by the
//! MATCHED route template (never the raw path, so ids do not explode the label set), and
//! `GET /metrics` in the Prometheus text format.

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;

const DURATION: &str = "http_request_duration_seconds";
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus handle; installs the global recorder the first time. If another
/// recorder was installed first (by an embedding program), the handle renders nothing.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets_for_metric(Matcher::Full(DURATION.into()), &BUCKETS) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: default buckets");
                PrometheusBuilder::new()
            }
        };
        match builder.install_recorder() {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: a recorder is already installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}

/// Middleware, one per request for both sinks: `http_requests_total{method,route,status}` and
/// `http_request_duration_seconds{route}` in Prometheus, and the app's telemetry under
/// `METHOD /route/{template}` (the dashboard's request rates and latency percentiles). Routes
/// are their MATCHED template; unmatched paths count under `unmatched`. An SSE stream counts
/// once, when its headers go out.
pub async fn track(State(app): State<App>, req: Request, next: Next) -> Response {
    let labels = RouteLabels::of(req.extensions().get::<MatchedPath>());
    let method = method_index(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    app.telemetry.record_request(labels.by_method[method], status, elapsed);
    metrics::histogram!(DURATION, "route" => labels.route).record(elapsed.as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method_name(method), "route" => labels.route, "status" => status_label(status))
        .increment(1);
    res
}

/// The labels of one route template, made once per template and kept for the process (a
/// router has a fixed set of templates), so a request allocates no label string.
struct RouteLabels {
    route: &'static str,
    /// `METHOD template` for each of [`METHODS`], then for any other method.
    by_method: [&'static str; METHODS.len() + 1],
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RouteLabels {
    fn of(matched: Option<&MatchedPath>) -> &'static RouteLabels {
        static KNOWN: OnceLock<RwLock<HashMap<Box<str>, &'static RouteLabels>>> = OnceLock::new();
        let route = matched.map_or("unmatched", MatchedPath::as_str);
        let known = KNOWN.get_or_init(Default::default);
        if let Some(labels) = known.read().unwrap_or_else(PoisonError::into_inner).get(route) {
            return labels;
        }
        let mut known = known.write().unwrap_or_else(PoisonError::into_inner);
        known.entry(route.into()).or_insert_with(|| {
            let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
            let by_method = std::array::from_fn(|i| leak(format!("{} {route}", method_name(i))));
            Box::leak(Box::new(RouteLabels { route: leak(route.to_owned()), by_method }))
        })
    }
}

/// The index of a method in [`METHODS`] ([`METHODS`]`.len()` for any other).
fn method_index(method: &Method) -> usize {
    METHODS.iter().position(|m| *m == method.as_str()).unwrap_or(METHODS.len())
}

/// The label of a [`method_index`].
fn method_name(i: usize) -> &'static str {
    METHODS.get(i).copied().unwrap_or("OTHER")
}

/// The three digits of a status code, as a label that lives for the process.
fn status_label(status: u16) -> &'static str {
    static LABELS: OnceLock<Vec<String>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| (100..1000).map(|c: u16| c.to_string()).collect());
    labels.get(usize::from(status.saturating_sub(100))).map_or("other", String::as_str)
}
