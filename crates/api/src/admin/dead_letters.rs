//! The outbox's dead letters for operators: `GET /api/v1/admin/outbox/dead` lists the rows the
//! relay set aside (a page at a time, as stored), `POST /api/v1/admin/outbox/dead/redrive` sends
//! some or all of them back to the relay (see `app::dead_letters`). Admin only.

use axum::extract::{OriginalUri, State};
use domain::PageRequest;
use domain::page::PageQuery;
use serde::{Deserialize, Serialize};
use store::DeadLetter;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;
use app::dead_letters::Redrive;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery};
use crate::respond::Paginated;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_dead_letters)).routes(routes!(redrive_dead_letters))
}

/// Which dead letters to send back: `ids`, or `all: true` (exactly one of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    /// The outbox ids to send back (1 to 1000); ids of rows not set aside are passed over.
    pub ids: Option<Vec<Uuid>>,
    /// Send back every dead letter.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedriveResponse {
    /// How many rows were set aside and are pending again.
    pub redriven: u64,
}

/// The outbox rows the relay set aside as unpublishable (dead letters), in id order, as stored:
/// channel, type, payload as text (it may not be JSON), when and why.
#[utoipa::path(get, path = "/api/v1/admin/outbox/dead", tag = "admin", params(PageQuery),
    responses(
        (status = 200, description = "A page of dead letters; the next page is in the `Link` header",
            body = Vec<DeadLetter>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
async fn list_dead_letters(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<Paginated<DeadLetter>> {
    let page = PageRequest::parse(q.limit, q.after)?;
    let letters = app.dead_letters(page).await?;
    Ok(Paginated::new(letters, &uri, page.limit))
}

/// Send dead letters back to the relay: they are pending again and published in id order
/// before the rows still waiting behind them (on their channel they come after the events
/// published meanwhile); one that still cannot be published is set aside
/// again with its reason. For rows set aside by an older server, once every server knows them.
#[utoipa::path(post, path = "/api/v1/admin/outbox/dead/redrive", tag = "admin",
    request_body = RedriveRequest,
    responses(
        (status = 200, description = "How many were sent back", body = RedriveResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Both or neither of `ids` and `all`, or a bad id; nothing changed",
            body = ErrorBody),
    ))]
async fn redrive_dead_letters(
    State(app): State<App>,
    AppJson(body): AppJson<RedriveRequest>,
) -> ApiResult<AppJson<RedriveResponse>> {
    let which = Redrive::parse(body.ids, body.all)?;
    let redriven = app.redrive_dead_letters(which).await?;
    Ok(AppJson(RedriveResponse { redriven }))
}
