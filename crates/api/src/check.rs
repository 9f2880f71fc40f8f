//! `GET /api/v1/admin/check`: the store's invariant check over HTTP, so a load test or a fuzzer
//! driving a running server can prove no request left partial or inconsistent state. An admin
//! endpoint (it reads every holding booking).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(check_invariants))
}

/// The outcome of the check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckReport {
    /// True when no invariant is broken.
    pub ok: bool,
    /// Each broken invariant: `rule` (such as `overbooked_slot`) and `detail`.
    pub violations: Vec<ViolationBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationBody {
    pub rule: String,
    pub detail: String,
}

/// Checks the stored data: no overbooked slot, no orphan row, parties that count their members.
///
/// A plan still being organised (a draft yet to start) whose party its venue cannot seat breaks
/// it too (`plan_over_capacity`).
#[utoipa::path(get, path = "/api/v1/admin/check", tag = "admin",
    responses(
        (status = 200, description = "The check ran; `ok` says whether the data is consistent", body = CheckReport),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
async fn check_invariants(State(app): State<App>) -> ApiResult<AppJson<CheckReport>> {
    let found = app.store.check_invariants().await.map_err(app::AppError::from)?;
    let violations: Vec<ViolationBody> =
        found.into_iter().map(|v| ViolationBody { rule: v.rule, detail: v.detail }).collect();
    Ok(AppJson(CheckReport { ok: violations.is_empty(), violations }))
}
