//! Booking use cases: create (the first seed's agent booking), read and list, cancel and the
//! other status moves, availability, alternatives on refusal, auto-booking, and the janitor.
//! Every booking-creating call takes an optional `Idempotency-Key` (see [`idempotency_key`]).

mod agent;
mod alternatives;
mod auto_book;
mod availability;
pub mod janitor;
mod provider;
mod settings;

use domain::{
    Booked, Booking, BookingId, BookingInput, BookingStatus, DomainEvent, Invitation, Page, PageRequest, SeatOutcome,
    SeatRequest, SlotFull, Timestamp, UserId, ValidationError, VenueId,
};
use serde::{Deserialize, Serialize};
use store::{BookingQuery, IdempotencyKey, Idempotent};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::InBody;
use crate::{App, AppError, AppResult};

pub use agent::{AGENT, AUTO_BOOK_AGENT, BookingAgent};
pub use alternatives::{AlternativeTime, AlternativeVenue, Alternatives, NoRoom};
pub use auto_book::AutoBookResponse;
pub use availability::{Availability, Slot};
pub use provider::{BookingProvider, ExternalProvider, HouseProvider, ProviderError};
pub use settings::{AlternativeSettings, AutoBookSettings, BookingSettings, ExternalSettings, ProviderKind};

/// The answer to a booking: the first seed's `CreateBookingResponse` fields, plus the booking
/// and its invitations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BookingReceipt {
    pub success: bool,
    pub booking_id: Uuid,
    pub confirmation_code: String,
    pub venue_id: Uuid,
    #[serde(serialize_with = "domain::time::micros")]
    pub booking_time: chrono::DateTime<chrono::Utc>,
    pub party_size: i32,
    /// Group members invited.
    pub invitations_sent: usize,
    pub status: BookingStatus,
    pub booking: Booking,
    pub invitations: Vec<Invitation>,
}

impl From<Booked> for BookingReceipt {
    fn from(b: Booked) -> Self {
        let k = &b.booking;
        Self {
            success: true,
            booking_id: k.id,
            confirmation_code: k.confirmation_code.clone(),
            venue_id: k.venue_id,
            booking_time: k.booking_time,
            party_size: k.party_size,
            invitations_sent: b.invitations.len(),
            status: k.status,
            invitations: b.invitations,
            booking: b.booking,
        }
    }
}

/// The answer to a status move (the first seed's cancel answer, plus the booking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub success: bool,
    pub booking_id: Uuid,
    pub status: BookingStatus,
    pub booking: Booking,
}

/// Raw list filters, as a client sends them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookingFilter {
    pub user_id: Option<UserId>,
    pub venue_id: Option<VenueId>,
    pub status: Option<BookingStatus>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// The longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The longest `Retry-After` of a 409 refusing an Idempotency-Key whose first request is still
/// in flight: that request is usually answered within seconds.
pub const KEY_IN_FLIGHT_RETRY_AFTER_SECS: u64 = 5;

/// The `Retry-After` of a 409 for a key taken at `since` whose first request is still in
/// flight: the seconds left (rounded up) until its hold may be released, `hold_ttl_secs` after
/// `since`, when that is sooner than [`KEY_IN_FLIGHT_RETRY_AFTER_SECS`]; otherwise that cap,
/// also once the hold's time has passed (the key then waits for the janitor's next pass, up to
/// 30 s, so asking every second would not help). Never below 1. A `since` after `now` (another
/// server's clock ahead) counts as just taken.
pub(crate) fn key_retry_after_secs(since: Timestamp, now: Timestamp, hold_ttl_secs: u64) -> u64 {
    let cap = KEY_IN_FLIGHT_RETRY_AFTER_SECS;
    let elapsed_ms = u64::try_from((now - since).num_milliseconds()).unwrap_or(0);
    match hold_ttl_secs.saturating_mul(1000).checked_sub(elapsed_ms) {
        Some(left_ms) if left_ms > 0 => left_ms.div_ceil(1000).clamp(1, cap),
        _ => cap,
    }
}

/// An idempotency key for `scope` (the caller), guarding `request` (the canonical request,
/// including which operation it is). `Invalid` (field `idempotency_key`) for an empty key, one
/// over 255 characters, or one with characters other than visible ASCII.
pub fn idempotency_key(
    scope: String,
    key: Option<String>,
    request: serde_json::Value,
) -> AppResult<Option<IdempotencyKey>> {
    let Some(key) = key else { return Ok(None) };
    let ok = !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        let message = format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters");
        return Err(ValidationError::field("idempotency_key", message).into());
    }
    Ok(Some(IdempotencyKey { scope, key, request }))
}

impl App {
    /// The first answer to a request with `key`, if it has one, to replay before the request
    /// is checked again: a retry must get that answer even when the request would no longer
    /// pass (its time has passed, its venue was deleted since).
    pub(crate) async fn saved_answer<T: serde::de::DeserializeOwned>(
        &self,
        key: &Option<IdempotencyKey>,
    ) -> AppResult<Option<T>> {
        let Some(key) = key else { return Ok(None) };
        let Some(body) = self.store.idempotent_answer(key).await? else { return Ok(None) };
        let answer = serde_json::from_value(body)
            .map_err(|e| AppError::Internal(format!("unreadable idempotent response: {e}")))?;
        Ok(Some(answer))
    }

    /// Books `request` through the agent (a booking made, a plan confirmed), the key's 409 in
    /// flight explained ([`Self::in_flight_explained`]); the engine's readers are told of the write.
    pub(crate) async fn book_through_agent(
        &self,
        request: SeatRequest,
        key: Option<IdempotencyKey>,
    ) -> AppResult<Idempotent<SeatOutcome>> {
        let answer = self.booking.book(&self.store, request, key).await;
        self.wrote();
        answer.map_err(|e| self.in_flight_explained(e))
    }

    /// Says, in the 409 refusing a key whose first request is still in flight, how long that
    /// can last: seconds while it runs; if it got a 503 whose outcome is unknown, its answer is
    /// replayed once it was saved, and otherwise its hold and key are freed by the janitor's
    /// first pass after `hold_ttl_secs`, so within `hold_ttl_secs` + 30 s of the first request.
    /// Its `Retry-After` follows from the key's age ([`key_retry_after_secs`]).
    fn in_flight_explained(&self, e: AppError) -> AppError {
        match e {
            AppError::KeyInFlight { message, since, .. } => {
                let ttl = self.settings.booking.hold_ttl_secs;
                let most = ttl + janitor::EVERY.as_secs();
                let message = format!(
                    "{message}. The first request with it is usually answered within seconds; if it got a 503 \
                     database_unavailable, a retry replays its answer if it was saved, and otherwise the key is freed \
                     within {most} s of it (holds are released after {ttl} s, checked every {} s)",
                    janitor::EVERY.as_secs()
                );
                let retry_after_secs = key_retry_after_secs(since, self.now(), ttl);
                AppError::KeyInFlight { message, since, retry_after_secs }
            }
            other => other,
        }
    }

    /// Turns a refusal into the 409 with alternatives; `replayed` when it is the saved answer of
    /// an earlier request with the same key.
    pub(crate) async fn no_room(&self, full: SlotFull, now: Timestamp, replayed: bool) -> AppError {
        match self.alternatives(&full, now).await {
            Ok(alternatives) => AppError::NoRoom(Box::new(NoRoom { requested: full, alternatives, replayed })),
            Err(e) => e,
        }
    }

    /// Books for `user_id` through the agent (`POST /api/v1/bookings/{user_id}/create`). A full
    /// slot is `NoRoom` with alternatives; bad input `Invalid`; unknown user, venue or group
    /// member `NotFound`.
    #[tracing::instrument(skip_all, fields(%user_id, venue_id = %input.venue_id), err(level = "debug"))]
    pub async fn create_booking(
        &self,
        user_id: UserId,
        input: BookingInput,
        key: Option<String>,
        now: Timestamp,
    ) -> AppResult<Idempotent<BookingReceipt>> {
        let request = serde_json::json!({"op": "bookings.create", "user_id": user_id, "body": input});
        let key = idempotency_key(format!("user:{user_id}"), key, request)?;
        if let Some(first) = self.saved_answer(&key).await? {
            return self.receipt(Idempotent::Replayed(first), now).await;
        }
        self.store.get_user(user_id).await?;
        let venue = self.store.get_venue(input.venue_id).await.in_body(&[("venue", "venue_id")])?;
        let b = &self.settings.booking;
        let request = SeatRequest::parse(user_id, input, &venue, now, &b.turn_minutes, b.last_seating_minutes)?;
        self.book_request(request, key, now).await
    }

    /// Books a parsed request. The write checks again that every user still exists: a missing
    /// group member is the body's `group_members` (422), but the booker deleted since the checks
    /// above (a booking racing with its own user's deletion) is the same 404 "user not found"
    /// the request gets once the deletion is done.
    async fn book_request(
        &self,
        request: SeatRequest,
        key: Option<IdempotencyKey>,
        now: Timestamp,
    ) -> AppResult<Idempotent<BookingReceipt>> {
        let booker = request.user_id.to_string();
        let answer = self.book_through_agent(request, key).await;
        let answer = answer.map_err(|e| match e {
            AppError::NotFound { entity: "user", ref id } if *id == booker => e,
            e => e.in_body(&[("user", "group_members"), ("venue", "venue_id")]),
        })?;
        if let Idempotent::Fresh(SeatOutcome::Booked(booked)) = &answer {
            self.apply_booking_written(&booked.booking);
        }
        self.receipt(answer, now).await
    }

    /// Applies a booking this server just made to its engine at once, so the next request here
    /// sees it (`new_only` leaves the venue out, its bookings count), as interests are: without
    /// it, the engine heard of it from the follower only, a moment later (seconds on PostgreSQL
    /// and Redis). The follower's copy is then skipped by the booking's id, as the counts it adds
    /// to are not upserts. Left to the follower when the engine does not hold the venue or a
    /// member.
    pub(crate) fn apply_booking_written(&self, booking: &Booking) {
        if self.engine().has_venue(booking.venue_id) {
            let mut users: Vec<Uuid> = booking.user_id.into_iter().collect();
            users.extend(&booking.group_members);
            self.apply_to_known_users(&users, DomainEvent::BookingCreated(booking.clone()), None);
        }
    }

    /// A booked answer as a receipt; a refused one as `NoRoom` with alternatives.
    pub(crate) async fn receipt(
        &self,
        answer: Idempotent<SeatOutcome>,
        now: Timestamp,
    ) -> AppResult<Idempotent<BookingReceipt>> {
        let replayed = answer.is_replayed();
        match answer.into_inner() {
            SeatOutcome::Booked(b) if replayed => Ok(Idempotent::Replayed(b.into())),
            SeatOutcome::Booked(b) => Ok(Idempotent::Fresh(b.into())),
            SeatOutcome::Full(full) => Err(self.no_room(full, now, replayed).await),
        }
    }

    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_booking(&self, id: BookingId) -> AppResult<Booking> {
        Ok(self.store.get_booking(id).await?)
    }

    /// The booking of a plan (`GET /bookings/{plan_id}`).
    #[tracing::instrument(skip_all, fields(%plan_id), err(level = "debug"))]
    pub async fn plan_booking(&self, plan_id: domain::PlanId) -> AppResult<Booking> {
        Ok(self.store.plan_booking(plan_id).await?)
    }

    /// Bookings in id order, filtered (`from` at or after, `to` before, to the nanosecond the
    /// filter gives). `NotFound` for an unknown user or venue filter; a
    /// deleted venue is not unknown: its row and bookings stay in their people's history, so
    /// its bookings are listed as any venue's are.
    #[tracing::instrument(skip_all, fields(limit = page.limit), err(level = "debug"))]
    pub async fn list_bookings(&self, filter: BookingFilter, page: PageRequest) -> AppResult<Page<Booking>> {
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(ValidationError::field("to", "must be after from").into());
        }
        if let Some(user) = filter.user_id {
            self.store.get_user(user).await?;
        }
        if let Some(venue) = filter.venue_id
            && self.store.deleted_venues(&[venue]).await?.is_empty()
        {
            self.store.get_venue(venue).await?;
        }
        // The store keeps microseconds: a bound with more digits goes up to the next one, so
        // `from` lists nothing earlier than it and `to` leaves out nothing before it. One past
        // 9999-12-31T23:59:59.999999 (the last time a bound or a booking can be written) lies in
        // year 10000, after every stored time; SQLite keeps times as text, where `+10000-...`
        // sorts before them all, so such a `from` is an empty list and such a `to` no bound.
        let up = |t: chrono::DateTime<chrono::Utc>| {
            Some(domain::time::first_micros_at_or_after(t)).filter(|t| chrono::Datelike::year(t) <= 9999)
        };
        let from = filter.from.map(up);
        if from == Some(None) {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let q = BookingQuery {
            user_id: filter.user_id,
            venue_id: filter.venue_id,
            status: filter.status,
            from: from.flatten(),
            to: filter.to.and_then(up),
        };
        Ok(self.store.list_bookings(&q, page).await?)
    }

    /// Moves a booking to `cancelled`, `completed` or `no_show` at time `now` (confirming is the
    /// agent's job). `Conflict` for an illegal move; cancelling frees the seats, and cancels an
    /// external booking at its provider too.
    #[tracing::instrument(skip_all, fields(%id, next = next.as_str()), err(level = "debug"))]
    pub async fn set_booking_status(
        &self,
        id: BookingId,
        next: BookingStatus,
        now: Timestamp,
    ) -> AppResult<StatusChange> {
        if !matches!(next, BookingStatus::Cancelled | BookingStatus::Completed | BookingStatus::NoShow) {
            return Err(ValidationError::field("status", "must be cancelled, completed or no_show").into());
        }
        let booking = self.store.set_booking_status(id, next, now).await?;
        self.wrote();
        if next == BookingStatus::Cancelled {
            self.booking.give_back(&booking).await;
        }
        Ok(StatusChange { success: true, booking_id: booking.id, status: booking.status, booking })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app on a fresh SQLite store, a user, and a parsed request of theirs for a table
    /// tomorrow at 19:00 at a bar open 17:00 to 23:00 (UTC), with `members` in the group.
    async fn app_and_request(members: Vec<Uuid>) -> (testdb::TestDatabase, App, SeatRequest) {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.unwrap(), crate::AppSettings::default());
        let user = serde_json::from_value(serde_json::json!({"handle": "booker", "name": "Booker"})).unwrap();
        let user = app.create_user(user).await.unwrap();
        let venue = serde_json::json!({"name": "Bar", "category": "bar", "lat": 40.73, "lng": -73.99,
            "capacity": 40, "timezone": "UTC", "opening_hours": {"mon": ["17:00-23:00"], "tue": ["17:00-23:00"],
            "wed": ["17:00-23:00"], "thu": ["17:00-23:00"], "fri": ["17:00-23:00"], "sat": ["17:00-23:00"],
            "sun": ["17:00-23:00"]}});
        let venue = app.create_venue(serde_json::from_value(venue).unwrap()).await.unwrap();
        let now = app.now();
        let at = (now + chrono::Duration::days(1)).date_naive().and_hms_opt(19, 0, 0).unwrap().and_utc();
        let input = BookingInput {
            venue_id: venue.id,
            booking_time: Some(at),
            party_size: Some(members.len() as i32 + 1),
            group_members: members,
            special_requests: None,
        };
        let b = &app.settings.booking;
        let request = SeatRequest::parse(user.id, input, &venue, now, &b.turn_minutes, b.last_seating_minutes).unwrap();
        (db, app, request)
    }

    #[tokio::test]
    async fn a_booker_deleted_before_the_write_is_a_404_for_the_user_not_a_group_member_error() {
        let (_db, app, request) = app_and_request(Vec::new()).await;
        let booker = request.user_id;
        // The user passed the checks of `create_booking`, then was deleted before the write ran.
        app.delete_user(booker).await.unwrap();
        match app.book_request(request, None, app.now()).await {
            Err(AppError::NotFound { entity: "user", id }) => assert_eq!(id, booker.to_string()),
            other => panic!("expected the booker's 404, got {other:?}"),
        }
        let written = app.store.list_bookings(&BookingQuery::default(), PageRequest::default()).await.unwrap();
        assert!(written.items.is_empty(), "nothing booked");
    }

    #[tokio::test]
    async fn a_missing_group_member_is_still_the_bodys_group_members_field() {
        let stranger = Uuid::now_v7();
        let (_db, app, request) = app_and_request(vec![stranger]).await;
        match app.book_request(request, None, app.now()).await {
            Err(AppError::Invalid(v)) => {
                let text = format!("{v:?}");
                assert!(text.contains("group_members") && text.contains(&stranger.to_string()), "{text}");
            }
            other => panic!("expected a 422 on group_members, got {other:?}"),
        }
    }

    #[test]
    fn a_key_in_flight_is_retried_when_its_hold_may_be_released_if_sooner_than_five_seconds() {
        let since = chrono::Utc::now();
        let after = |ms: i64| since + chrono::Duration::milliseconds(ms);
        // Just taken, holds of 120 s: the request is usually answered within seconds.
        assert_eq!(key_retry_after_secs(since, after(200), 120), 5);
        // Holds of 3 s: 2.8 s left, rounded up; then 0.5 s left is still a second.
        assert_eq!(key_retry_after_secs(since, after(200), 3), 3);
        assert_eq!(key_retry_after_secs(since, after(2_500), 3), 1);
        // The hold's time has passed (or holds of 0 s): the janitor's next pass frees the key.
        assert_eq!(key_retry_after_secs(since, after(3_000), 3), 5);
        assert_eq!(key_retry_after_secs(since, after(200), 0), 5);
        // Taken by a server whose clock is ahead: as if just taken.
        assert_eq!(key_retry_after_secs(since, after(-1_000), 2), 2);
        // A hold time no clock reaches.
        assert_eq!(key_retry_after_secs(since, after(200), u64::MAX), 5);
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        let ok = idempotency_key("u".into(), Some("order-42_retry:1".into()), serde_json::json!({})).unwrap();
        assert_eq!(ok.map(|k| k.key), Some("order-42_retry:1".to_string()));
        for bad in ["", "has space", "é", &"k".repeat(256)] {
            let err = idempotency_key("u".into(), Some(bad.into()), serde_json::json!({})).unwrap_err();
            assert!(matches!(err, AppError::Invalid(_)), "{bad:?}");
        }
        assert!(idempotency_key("u".into(), None, serde_json::json!({})).unwrap().is_none());
    }
}
