//! `GET /api/v1/admin/stats`: the admin dashboard's figures, in the first seed document's shape
//! and more. Requests reach the app's telemetry through [`crate::metrics::track`].

use axum::extract::State;
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
