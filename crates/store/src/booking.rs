//! The types of the booking use cases: a booking ready to write ([`NewBooking`]), an
//! `Idempotency-Key` with the request it guards ([`IdempotencyKey`]), whether an answer is
//! fresh or replayed ([`Idempotent`]), and booking list filters ([`BookingQuery`]).

use domain::{BookingId, BookingStatus, SeatRequest, Timestamp, UserId, VenueId};

/// A booking the agent has named (id, confirmation code, provider, agent) and wants written
/// if the venue has room.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBooking {
    pub id: BookingId,
    pub confirmation_code: String,
    pub provider: String,
    pub agent: String,
    /// `Confirmed` to book at once (Luna's own inventory), `Pending` to hold the seats while
    /// an external provider is asked (then [`crate::Store::confirm_hold`] or
    /// [`crate::Store::release_hold`]).
    pub status: BookingStatus,
    pub request: SeatRequest,
    /// Refuse it (a `Conflict` naming `booking_time`) when the same user already holds a table
    /// at this venue and time. The agent sets it: its callers are people, for whom a second
    /// identical request is a double tap. Tools booking on purpose for one user (the store's
    /// own capacity tests) leave it off.
    pub refuse_double: bool,
}

/// An `Idempotency-Key` as used by one caller for one request. `scope` names the caller (and
/// the key is unique per scope); `request` is the canonical form of the request, so the same
/// key with another request is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub request: serde_json::Value,
}

/// An answer, fresh or replayed from the first request with the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotent<T> {
    Fresh(T),
    Replayed(T),
}

impl<T> Idempotent<T> {
    pub fn into_inner(self) -> T {
        match self {
            Self::Fresh(t) | Self::Replayed(t) => t,
        }
    }

    pub fn is_replayed(&self) -> bool {
        matches!(self, Self::Replayed(_))
    }
}

/// Filters for listing bookings; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookingQuery {
    /// Bookings the user is in: made by them, inviting them, or of a plan they accepted.
    pub user_id: Option<UserId>,
    pub venue_id: Option<VenueId>,
    pub status: Option<BookingStatus>,
    /// Booking time at or after this.
    pub from: Option<Timestamp>,
    /// Booking time before this.
    pub to: Option<Timestamp>,
}
