//! Events: what happened, on which channel. Every committed write records its events in the
//! same transaction (the outbox); a relay publishes them to the bus.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::booking::{Invitation, SlotFull};
use crate::{
    Booking, FriendRequest, Interaction, Plan, PlanParticipant, User, UserId, UserPreferences, Venue, VenueId,
    VenueInterest,
};

/// The streams events travel on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    UserActions,
    Recommendations,
    Bookings,
    Social,
    System,
    Metrics,
    Simulation,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::UserActions,
        Channel::Recommendations,
        Channel::Bookings,
        Channel::Social,
        Channel::System,
        Channel::Metrics,
        Channel::Simulation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::UserActions => "user_actions",
            Channel::Recommendations => "recommendations",
            Channel::Bookings => "bookings",
            Channel::Social => "social",
            Channel::System => "system",
            Channel::Metrics => "metrics",
            Channel::Simulation => "simulation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A domain event with its payload. The serialized form is `{"type": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    #[serde(rename = "user.created")]
    UserCreated(User),
    #[serde(rename = "user.updated")]
    UserUpdated(User),
    #[serde(rename = "user.deleted")]
    UserDeleted { user_id: UserId },
    #[serde(rename = "user.preferences_updated")]
    PreferencesUpdated { user_id: UserId, preferences: UserPreferences },
    #[serde(rename = "venue.created")]
    VenueCreated(Venue),
    #[serde(rename = "venue.updated")]
    VenueUpdated(Venue),
    #[serde(rename = "venue.deleted")]
    VenueDeleted { venue_id: VenueId },
    #[serde(rename = "interaction.recorded")]
    InteractionRecorded(Interaction),
    #[serde(rename = "friend.requested")]
    FriendRequested(FriendRequest),
    #[serde(rename = "friend.request_answered")]
    FriendRequestAnswered(FriendRequest),
    #[serde(rename = "friend.removed")]
    FriendRemoved { user_id: UserId, other_user_id: UserId },
    #[serde(rename = "interest.expressed")]
    InterestExpressed(VenueInterest),
    #[serde(rename = "plan.created")]
    PlanCreated(Plan),
    #[serde(rename = "plan.participant_updated")]
    ParticipantUpdated(PlanParticipant),
    #[serde(rename = "plan.confirmed")]
    PlanConfirmed(Plan),
    /// A confirmed plan whose booking was cancelled.
    #[serde(rename = "plan.cancelled")]
    PlanCancelled(Plan),
    /// Someone was invited to a plan or a booking.
    #[serde(rename = "invitation.sent")]
    InvitationSent(Invitation),
    /// Seats held (`pending`) while an external provider is asked.
    #[serde(rename = "booking.held")]
    BookingHeld(Booking),
    /// A booking now exists (confirmed).
    #[serde(rename = "booking.created")]
    BookingCreated(Booking),
    /// A hold given back without a booking (the provider failed, or the hold expired).
    #[serde(rename = "booking.released")]
    BookingReleased { booking: Booking, reason: String },
    /// A request the slot could not take.
    #[serde(rename = "booking.refused")]
    BookingRefused(SlotFull),
    #[serde(rename = "booking.status_changed")]
    BookingStatusChanged(Booking),
    #[serde(rename = "data.seeded")]
    DataSeeded { users: u64, venues: u64, interactions: u64, edges: u64, plans: u64 },
    #[serde(rename = "data.reset")]
    DataReset,
}

impl DomainEvent {
    /// The channels domain events travel on; the others (recommendations, metrics,
    /// simulation) carry only what services publish straight to the bus.
    pub const CHANNELS: [Channel; 4] = [Channel::UserActions, Channel::Social, Channel::Bookings, Channel::System];

    /// The channel the event belongs on (one of [`DomainEvent::CHANNELS`]).
    pub fn channel(&self) -> Channel {
        use DomainEvent::*;
        match self {
            UserCreated(_)
            | UserUpdated(_)
            | UserDeleted { .. }
            | PreferencesUpdated { .. }
            | InteractionRecorded(_) => Channel::UserActions,
            FriendRequested(_)
            | FriendRequestAnswered(_)
            | FriendRemoved { .. }
            | InterestExpressed(_)
            | PlanCreated(_)
            | ParticipantUpdated(_)
            | InvitationSent(_) => Channel::Social,
            PlanConfirmed(_)
            | PlanCancelled(_)
            | BookingHeld(_)
            | BookingCreated(_)
            | BookingReleased { .. }
            | BookingRefused(_)
            | BookingStatusChanged(_) => Channel::Bookings,
            VenueCreated(_) | VenueUpdated(_) | VenueDeleted { .. } | DataSeeded { .. } | DataReset => Channel::System,
        }
    }

    /// The stable type name, such as `interaction.recorded`.
    pub fn event_type(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    /// Splits into (type, data) for storage in the outbox.
    pub fn into_parts(&self) -> (String, serde_json::Value) {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut m)) => {
                let t = m.remove("type").and_then(|t| t.as_str().map(String::from)).unwrap_or_default();
                (t, m.remove("data").unwrap_or(serde_json::Value::Null))
            }
            _ => (String::new(), serde_json::Value::Null),
        }
    }

    /// Rebuilds the event from its stored (type, data) parts.
    pub fn from_parts(event_type: &str, data: serde_json::Value) -> Result<Self, serde_json::Error> {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), event_type.into());
        if !data.is_null() {
            m.insert("data".into(), data);
        }
        serde_json::from_value(serde_json::Value::Object(m))
    }
}

/// An event as it travels on the bus and over SSE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Ordered per channel; the bus assigns it (`Last-Event-ID` resumes after it).
    pub id: String,
    /// The outbox id of the write that produced it (for de-duplication), if any.
    pub source_id: Option<Uuid>,
    pub channel: Channel,
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_parts() {
        let e = DomainEvent::FriendRemoved { user_id: crate::new_id(), other_user_id: crate::new_id() };
        let (t, d) = e.into_parts();
        assert_eq!(t, "friend.removed");
        assert_eq!(DomainEvent::from_parts(&t, d).unwrap(), e);
        assert_eq!(DomainEvent::DataReset.event_type(), "data.reset");
        assert_eq!(DomainEvent::from_parts("data.reset", serde_json::Value::Null).unwrap(), DomainEvent::DataReset);
    }
}
