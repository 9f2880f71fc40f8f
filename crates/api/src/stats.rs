//! `GET /api/v1/admin/stats` (the admin dashboard's figures, in the first seed document's shape
//! and more) and the middleware that feeds every answered request, by method and route
//! template, into the app's telemetry (request rates and latency percentiles for the
//! `metrics.snapshot` event and the `luna_*` Prometheus series).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::stats::Stats;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(stats))
}

/// Counts of users, venues, bookings by status, interactions; events per channel and per
/// second; open SSE streams.
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin",
    responses(
        (status = 200, description = "The figures", body = Stats),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
async fn stats(State(app): State<App>) -> ApiResult<AppJson<Stats>> {
    Ok(AppJson(app.stats().await?))
}

/// Middleware: records each answered request under `METHOD /route/{template}` (unmatched paths
/// under `unmatched`). An SSE stream counts once, when its headers go out.
pub async fn record(State(app): State<App>, req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str());
    let route = format!("{} {template}", req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    app.telemetry.record_request(&route, res.status().as_u16(), start.elapsed());
    res
}
