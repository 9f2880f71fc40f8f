//! `/bookings`: the first seed document's booking endpoints under `/api/v1` (list, one booking,
//! a user's bookings, create through the agent, cancel, auto-book interested users) plus the
//! other status moves and a venue's availability; and the second seed's `GET /bookings/` and
//! `GET /bookings/{plan_id}` at the root. Booking-creating POSTs take an `Idempotency-Key`.

use axum::extract::{OriginalUri, State};
use chrono::{DateTime, Utc};
use domain::{Booking, BookingStatus};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;
use app::booking::{BookingFilter, StatusChange};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, NoOptions};
use crate::respond::{Paginated, page_request};

mod create;

use create::{__path_auto_book, __path_availability, __path_create_booking, auto_book, availability, create_booking};

/// Routes served under `/api/v1`.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_bookings))
        .routes(routes!(get_booking))
        .routes(routes!(create_booking))
        .routes(routes!(user_bookings))
        .routes(routes!(cancel_booking))
        .routes(routes!(complete_booking))
        .routes(routes!(no_show_booking))
        .routes(routes!(set_status))
        .routes(routes!(auto_book))
        .routes(routes!(availability))
}

/// The second seed's paths, served at the root.
pub fn legacy_router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(legacy_list_bookings)).routes(routes!(legacy_plan_booking))
}

/// Filters and paging of a booking list. Filters combine with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListBookingsQuery {
    /// Bookings the user is in: made by them, inviting them, or of a plan they accepted.
    pub user_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub status: Option<BookingStatus>,
    /// Booking time at or after this (RFC 3339; read to the nanosecond: nothing earlier is listed).
    pub from: Option<DateTime<Utc>>,
    /// Booking time before this (RFC 3339; read to the nanosecond: nothing earlier is left out).
    pub to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 500 (default 50).
    #[param(value_type = Option<domain::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    /// Continue after this id (taken from the `Link` header).
    pub after: Option<Uuid>,
    /// The first seed's offset, taken as `0` only (the first page): lists page by id, so any
    /// other offset is a 422. For the next page, follow the `Link` header (it gives `after`).
    #[param(minimum = 0, maximum = 0)]
    pub skip: Option<u64>,
}

async fn list(app: &App, uri: &axum::http::Uri, q: ListBookingsQuery) -> ApiResult<Paginated<Booking>> {
    let page = page_request(q.limit, q.after, q.skip)?;
    let filter = BookingFilter { user_id: q.user_id, venue_id: q.venue_id, status: q.status, from: q.from, to: q.to };
    Ok(Paginated::new(app.list_bookings(filter, page).await?, uri, page.limit))
}

/// List bookings in creation order, filtered by user, venue, status and time.
#[utoipa::path(get, path = "/bookings", tag = "bookings", params(ListBookingsQuery),
    responses(
        (status = 200, description = "A page of bookings; the next page is in the `Link` header", body = Vec<Booking>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 404, description = "No such user or venue", body = ErrorBody),
        (status = 422, description = "A bad query parameter", body = ErrorBody),
    ))]
async fn list_bookings(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppQuery(q): AppQuery<ListBookingsQuery>,
) -> ApiResult<Paginated<Booking>> {
    list(&app, &uri, q).await
}

/// The bookings the agent made (the second seed's `GET /bookings/`), filtered and paged.
#[utoipa::path(get, path = "/bookings", tag = "seed paths (unprefixed)", params(ListBookingsQuery),
    responses(
        (status = 200, description = "A page of bookings; the next page is in the `Link` header", body = Vec<Booking>),
        (status = 404, description = "No such user or venue", body = ErrorBody),
        (status = 422, description = "A bad query parameter", body = ErrorBody),
    ))]
async fn legacy_list_bookings(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppQuery(q): AppQuery<ListBookingsQuery>,
) -> ApiResult<Paginated<Booking>> {
    list(&app, &uri, q).await
}

/// The booking of a plan (the second seed's `GET /bookings/{plan_id}`): the one holding seats,
/// else the latest.
#[utoipa::path(get, path = "/bookings/{plan_id}", tag = "seed paths (unprefixed)",
    params(("plan_id" = Uuid, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan's booking", body = Booking),
        (status = 404, description = "No such plan, or it has no booking", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn legacy_plan_booking(State(app): State<App>, AppPath(plan_id): AppPath<Uuid>) -> ApiResult<AppJson<Booking>> {
    Ok(AppJson(app.plan_booking(plan_id).await?))
}

/// One booking.
#[utoipa::path(get, path = "/bookings/{booking_id}", tag = "bookings",
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    responses(
        (status = 200, description = "The booking", body = Booking),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn get_booking(State(app): State<App>, AppPath(booking_id): AppPath<Uuid>) -> ApiResult<AppJson<Booking>> {
    Ok(AppJson(app.get_booking(booking_id).await?))
}

/// Filters of a user's bookings.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserBookingsQuery {
    pub status: Option<BookingStatus>,
    /// Booking time at or after this (RFC 3339; read to the nanosecond: nothing earlier is listed).
    pub from: Option<DateTime<Utc>>,
    /// Booking time before this (RFC 3339; read to the nanosecond: nothing earlier is left out).
    pub to: Option<DateTime<Utc>>,
    #[param(value_type = Option<domain::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    pub after: Option<Uuid>,
    /// The first seed's offset, taken as `0` only (the first page): lists page by id, so any
    /// other offset is a 422. For the next page, follow the `Link` header (it gives `after`).
    #[param(minimum = 0, maximum = 0)]
    pub skip: Option<u64>,
}

/// A user's bookings: made by them, inviting them, or of a plan they accepted.
#[utoipa::path(get, path = "/bookings/user/{user_id}", tag = "bookings",
    params(("user_id" = Uuid, Path, description = "The user's id"), UserBookingsQuery),
    responses(
        (status = 200, description = "A page of bookings; the next page is in the `Link` header", body = Vec<Booking>),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
async fn user_bookings(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<UserBookingsQuery>,
) -> ApiResult<Paginated<Booking>> {
    let q = ListBookingsQuery {
        user_id: Some(user_id),
        venue_id: None,
        status: q.status,
        from: q.from,
        to: q.to,
        limit: q.limit,
        after: q.after,
        skip: q.skip,
    };
    list(&app, &uri, q).await
}

async fn move_to(app: &App, booking_id: Uuid, next: BookingStatus) -> ApiResult<AppJson<StatusChange>> {
    Ok(AppJson(app.set_booking_status(booking_id, next, app.now()).await?))
}

/// Cancel a booking; its seats are free again, and a plan's booking cancels the plan. Only the
/// one who made it (for a plan's booking, the plan's organizer) or the admin may: members of its
/// group and the plan's invitees may read it but get a 403 here.
#[utoipa::path(post, path = "/bookings/{booking_id}/cancel", tag = "bookings",
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Cancelled", body = StatusChange),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Not the one who made the booking, nor its plan's organizer, nor the admin \
            (members of its group and the plan's invitees may not cancel it)", body = ErrorBody),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 409, description = "Not pending or confirmed (already cancelled, completed or a no-show), \
            or its time has come (complete it or mark it no_show)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field (a `reason`: it takes none; the booking \
            stays as it was)", body = ErrorBody),
    ))]
async fn cancel_booking(
    State(app): State<App>,
    AppPath(booking_id): AppPath<Uuid>,
    _: NoOptions,
) -> ApiResult<AppJson<StatusChange>> {
    move_to(&app, booking_id, BookingStatus::Cancelled).await
}

/// Mark a confirmed booking completed (the party came), once its time has come.
#[utoipa::path(post, path = "/bookings/{booking_id}/complete", tag = "bookings",
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Completed", body = StatusChange),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 409, description = "Not confirmed, or its time has not come", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field", body = ErrorBody),
    ))]
async fn complete_booking(
    State(app): State<App>,
    AppPath(booking_id): AppPath<Uuid>,
    _: NoOptions,
) -> ApiResult<AppJson<StatusChange>> {
    move_to(&app, booking_id, BookingStatus::Completed).await
}

/// Mark a confirmed booking a no-show, once its time has come.
#[utoipa::path(post, path = "/bookings/{booking_id}/no-show", tag = "bookings",
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Marked a no-show", body = StatusChange),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 409, description = "Not confirmed, or its time has not come", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field", body = ErrorBody),
    ))]
async fn no_show_booking(
    State(app): State<App>,
    AppPath(booking_id): AppPath<Uuid>,
    _: NoOptions,
) -> ApiResult<AppJson<StatusChange>> {
    move_to(&app, booking_id, BookingStatus::NoShow).await
}

/// The body of a status move.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `cancelled`, `completed` or `no_show` (the agent confirms).
    pub status: BookingStatus,
}

/// Move a booking along its state machine to `cancelled` (before its time), `completed` or
/// `no_show` (from its time on). Confirming a pending booking is the booking agent's move, not
/// a client's (422).
#[utoipa::path(post, path = "/bookings/{booking_id}/status", tag = "bookings", request_body = StatusInput,
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    responses(
        (status = 200, description = "Moved", body = StatusChange),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 409, description = "An illegal move", body = ErrorBody),
        (status = 422, description = "Not a status a client may set", body = ErrorBody),
    ))]
async fn set_status(
    State(app): State<App>,
    AppPath(booking_id): AppPath<Uuid>,
    AppJson(input): AppJson<StatusInput>,
) -> ApiResult<AppJson<StatusChange>> {
    move_to(&app, booking_id, input.status).await
}
