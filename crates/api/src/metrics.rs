//! Prometheus metrics: one recorder per process (installed on first use, shared by every router
//! a process builds, tests included), a middleware counting requests and timing them by the
//! MATCHED route template (never the raw path, so ids do not explode the label set), and
//! `GET /metrics` in the Prometheus text format.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
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

/// Middleware: `http_requests_total{method,route,status}` and
/// `http_request_duration_seconds{route}`; unmatched paths count under `route="unmatched"`.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!(DURATION, "route" => route.clone()).record(start.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    res
}
