//! Interactions: `POST /venues/{venue_id}/interactions` as the second seed document writes it,
//! also at `/venues/{venue_id}/interact` as its published code serves it (one handler), and a
//! user's interactions at `GET /users/{user_id}/interactions`.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::routing::post;
use domain::interaction::InteractionInput;
use domain::page::PageQuery;
use domain::{Interaction, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use crate::docs;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::respond::Paginated;

const PATH: &str = "/venues/{venue_id}/interactions";
const ALIAS: &str = "/venues/{venue_id}/interact";

pub fn router() -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(record_interaction))
        .route(ALIAS, post(record_interaction))
        .routes(routes!(list_user_interactions));
    docs::alias_path(router.get_openapi_mut(), PATH, ALIAS, "_via_interact");
    router
}

/// The seed's `{"status": "ok"}` with the stored interaction's fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionRecorded {
    /// Always `ok`.
    pub status: String,
    #[serde(flatten)]
    pub interaction: Interaction,
}

/// Log what a user did with a venue (view, interest, like, save, search, visit).
#[utoipa::path(post, path = "/venues/{venue_id}/interactions", tag = "interactions",
    request_body = InteractionInput,
    params(("venue_id" = Uuid, Path, description = "The venue's id")),
    responses(
        (status = 201, description = "Recorded", body = InteractionRecorded),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields, or a `user_id` that names no user", body = ErrorBody),
    ))]
async fn record_interaction(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    AppJson(input): AppJson<InteractionInput>,
) -> ApiResult<(StatusCode, AppJson<InteractionRecorded>)> {
    let interaction = app.record_interaction(venue_id, input).await?;
    Ok((StatusCode::CREATED, AppJson(InteractionRecorded { status: "ok".into(), interaction })))
}

/// A user's interactions in time order.
#[utoipa::path(get, path = "/users/{user_id}/interactions", tag = "interactions",
    params(("user_id" = Uuid, Path, description = "The user's id"), PageQuery),
    responses(
        (status = 200, description = "A page of interactions; the next page is in the `Link` header",
            body = Vec<Interaction>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
async fn list_user_interactions(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<Paginated<Interaction>> {
    let page = PageRequest::parse(q.limit, q.after)?;
    let items = app.list_user_interactions(user_id, page).await?;
    Ok(Paginated::new(items, &uri, page.limit))
}
