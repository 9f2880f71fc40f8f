//! The booking-creating routes (create through the agent, auto-book) and availability.

use axum::extract::{OriginalUri, State};
use chrono::NaiveDate;
use domain::BookingInput;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use app::App;
use app::booking::{AutoBookResponse, Availability, BookingReceipt};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, IdempotencyKeyHeader, NoOptions};
use crate::respond::{Created, Replayable};

/// Book through the agent for a user (the first seed's `BookingRequest`): venue, time, party
/// size and group members, who get invitations. A full slot is a 409 `slot_full` whose
/// `details` carry nearby times at the venue and similar venues with room.
#[utoipa::path(post, path = "/bookings/{user_id}/create", tag = "bookings", request_body = BookingInput,
    params(
        ("user_id" = Uuid, Path, description = "Who books (the organizer)"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "Retries with the same key and body replay the first answer and book nothing new"),
    ),
    responses(
        (status = 201, description = "Booked (`Idempotent-Replayed: true` on a replay); `Location` names the booking",
            body = BookingReceipt, headers(("location" = String, description = "Path of the booking"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "`slot_full` with alternatives in `details`; `conflict` (field \
            `booking_time`) when the user already holds a table there then; or the key's first request still in \
            flight (field `idempotency_key`, `Retry-After` 1 to 5 s; the message says it can last up to \
            `booking.hold_ttl_secs` + 30 s when that request got a 503 `database_unavailable`)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields (a time in the past or when the venue is closed, a party too \
            big, a `venue_id` or group member that names nothing), or the key reused with another body",
            body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the external provider did not confirm, nothing was \
            booked; `database_unavailable`: the database stopped answering, and if it did while confirming, the \
            booking may or may not have been saved (a retry with the same key replays it if it was, and may get \
            the 409 in flight until its key is freed)", body = ErrorBody),
    ))]
pub async fn create_booking(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    AppJson(input): AppJson<BookingInput>,
) -> ApiResult<Replayable<Created<BookingReceipt>>> {
    let answer = app.create_booking(user_id, input, key, app.now()).await?;
    // `/api/v1/bookings/{user_id}/create` -> `/api/v1/bookings/{booking_id}`.
    let prefix = uri.path().split("/bookings/").next().unwrap_or_default().to_string();
    Ok(Replayable::of(answer, |r| Created::at(format!("{prefix}/bookings/{}", r.booking_id), r)))
}

/// Group the users interested in a venue by compatible preferred times into group bookings,
/// within capacity, and invite them.
#[utoipa::path(post, path = "/bookings/venue/{venue_id}/auto-book", tag = "bookings",
    params(
        ("venue_id" = Uuid, Path, description = "The venue"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key replay the first answer"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "What was booked (`Idempotent-Replayed: true` on a replay)", body = AutoBookResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 409, description = "The key's first request still in flight (`Retry-After: 5`)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, a malformed key, or a body with a field (nothing is booked)",
            body = ErrorBody),
    ))]
pub async fn auto_book(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    _: NoOptions,
) -> ApiResult<Replayable<AppJson<AutoBookResponse>>> {
    let answer = app.auto_book(venue_id, key, app.now()).await?;
    Ok(Replayable::of(answer, AppJson))
}

/// Query of an availability list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Local date at the venue, `YYYY-MM-DD` (default: today there).
    pub date: Option<NaiveDate>,
    /// People in the party (default 2), at most the venue's capacity.
    #[param(value_type = Option<domain::limits::PartySizeRange>, inline)]
    pub party_size: Option<i32>,
}

/// The free slots of a venue for a party on a local date: every slot start (every 30 minutes
/// by default) while the venue is open, with the seats free at the busiest moment of the stay.
#[utoipa::path(get, path = "/venues/{venue_id}/availability", tag = "bookings",
    params(("venue_id" = Uuid, Path, description = "The venue"), AvailabilityQuery),
    responses(
        (status = 200, description = "The free slots", body = Availability),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 422, description = "A bad date or party size", body = ErrorBody),
    ))]
pub async fn availability(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<AvailabilityQuery>,
) -> ApiResult<AppJson<Availability>> {
    Ok(AppJson(app.availability(venue_id, q.date, q.party_size, app.now()).await?))
}
