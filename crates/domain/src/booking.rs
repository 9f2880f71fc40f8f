//! Bookings and their state machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a booking stands. Legal moves: pending -> confirmed | cancelled;
/// confirmed -> cancelled | completed | no_show. Everything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Cancelled,
    Completed,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 5] =
        [Self::Pending, Self::Confirmed, Self::Cancelled, Self::Completed, Self::NoShow];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a booking in this state may move to `next`.
    pub fn can_move_to(self, next: BookingStatus) -> bool {
        use BookingStatus::*;
        matches!((self, next), (Pending, Confirmed | Cancelled) | (Confirmed, Cancelled | Completed | NoShow))
    }

    /// Whether the booking holds seats in this state.
    pub fn holds_seats(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

/// A reservation of seats at a venue for a party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Booking {
    pub id: Uuid,
    pub user_id: Uuid,
    pub venue_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub booking_time: DateTime<Utc>,
    pub party_size: i32,
    pub status: BookingStatus,
    /// Unique, human-friendly code such as `LUNA-7K3QX9`.
    pub confirmation_code: String,
    /// Which provider holds the reservation (`house`, or an external one).
    pub provider: String,
    /// Which agent made the booking.
    pub agent: String,
    pub group_members: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::BookingStatus::*;

    #[test]
    fn only_legal_moves_are_allowed() {
        assert!(Pending.can_move_to(Confirmed));
        assert!(Confirmed.can_move_to(NoShow));
        assert!(!Cancelled.can_move_to(Confirmed));
        assert!(!Completed.can_move_to(Cancelled));
        assert!(!Pending.can_move_to(Completed));
    }
}
