//! Events: what happened, on which channel. Every committed write records its events in the
//! same transaction (the outbox); a relay publishes them to the bus.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
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
    /// A plan still being organised moved to another time (or venue) by its organizer; everyone
    /// invited is asked again (their answers were for the old time).
    #[serde(rename = "plan.rescheduled")]
    PlanRescheduled(Plan),
    #[serde(rename = "plan.confirmed")]
    PlanConfirmed(Plan),
    /// A plan cancelled: a confirmed one whose booking was cancelled, or one still being organised
    /// that its organizer called off, whose organizer or venue was deleted, or whose start time
    /// came without a booking (the janitor's sweep).
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
    /// simulation) carry only services' events: published straight to the bus, or (the
    /// simulator's control events) recorded in the outbox as they are and relayed.
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
            | PlanRescheduled(_)
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
        self.into_parts().0
    }

    /// Splits into the type and the data, for the outbox and the bus.
    pub fn into_parts(&self) -> (String, Payload) {
        /// The serialized event's two fields, the data left as the text it was written as.
        #[derive(Deserialize)]
        struct Parts<'a> {
            #[serde(rename = "type")]
            event_type: String,
            #[serde(borrow)]
            data: Option<&'a RawValue>,
        }
        let text = serde_json::to_string(self).unwrap_or_default();
        match serde_json::from_str::<Parts<'_>>(&text) {
            Ok(p) => (p.event_type, p.data.map(|d| Payload(d.to_owned())).unwrap_or_default()),
            Err(_) => (String::new(), Payload::default()),
        }
    }

    /// Rebuilds the event from its (type, data) parts; an error for a type that is not a
    /// domain event, or data that does not fit it.
    pub fn from_parts(event_type: &str, data: &Payload) -> Result<Self, serde_json::Error> {
        let name = serde_json::to_string(event_type)?;
        serde_json::from_str(&format!(r#"{{"type":{name},"data":{}}}"#, data.get()))
    }

    /// Whether this version has an event of this type name (a newer version may write types it
    /// does not know, which its relay forwards as they are).
    pub fn knows_type(event_type: &str) -> bool {
        // The type is read before the data: only a name this version lacks fails as unknown.
        Payload::from_json("null".into())
            .and_then(|null| Self::from_parts(event_type, &null))
            .map_or_else(|e| !e.to_string().starts_with("unknown variant"), |_| true)
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
    #[serde(serialize_with = "crate::time::micros")]
    pub timestamp: DateTime<Utc>,
    /// The event's data (its shape depends on `type`).
    #[schema(value_type = serde_json::Value)]
    pub data: Payload,
}

/// An event's data as JSON text: serialised once where the event is made, then written as it
/// is wherever the event goes (the bus's history, Redis, every SSE subscriber), never rebuilt
/// as a tree on the way. Readers parse it into the type they expect ([`Payload::parse`]).
#[derive(Clone)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// The JSON of `data`. Fails only for what JSON cannot hold (a map with non-string keys).
    pub fn of<T: Serialize + ?Sized>(data: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(data).map(Self)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        Box::<str>::from(self.0).into()
    }

    /// Reads the data as a `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }

    /// Takes JSON text as it is, once checked to be one JSON value.
    pub fn from_json(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self)
    }

    /// The data as a JSON tree (for readers that look at a field or two).
    pub fn to_value(&self) -> serde_json::Value {
        self.parse().unwrap_or_default()
    }
}

impl Default for Payload {
    /// `null`.
    fn default() -> Self {
        Self(RawValue::NULL.to_owned())
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_parts() {
        let e = DomainEvent::FriendRemoved { user_id: crate::new_id(), other_user_id: crate::new_id() };
        let (t, d) = e.into_parts();
        assert_eq!(t, "friend.removed");
        assert_eq!(DomainEvent::from_parts(&t, &d).unwrap(), e);
        assert_eq!(DomainEvent::DataReset.event_type(), "data.reset");
        assert_eq!(DomainEvent::DataReset.into_parts().1, Payload::default());
        assert_eq!(DomainEvent::from_parts("data.reset", &Payload::default()).unwrap(), DomainEvent::DataReset);
        assert!(DomainEvent::from_parts("metrics.snapshot", &d).is_err(), "not a domain event");
        assert!(DomainEvent::from_parts("friend.removed", &Payload::default()).is_err(), "no data");
    }

    #[test]
    fn the_types_this_version_writes_are_known_and_others_not() {
        let e = DomainEvent::FriendRemoved { user_id: crate::new_id(), other_user_id: crate::new_id() };
        for t in [e.event_type(), DomainEvent::DataReset.event_type(), "booking.status_changed".into()] {
            assert!(DomainEvent::knows_type(&t), "{t}");
        }
        for t in ["no.such.event", "metrics.snapshot", "", "User.Created"] {
            assert!(!DomainEvent::knows_type(t), "{t}");
        }
    }

    #[test]
    fn a_payload_is_written_as_the_json_it_holds() {
        let e = DomainEvent::FriendRemoved { user_id: crate::new_id(), other_user_id: crate::new_id() };
        let (t, data) = e.into_parts();
        assert_eq!(data.to_value(), serde_json::to_value(&e).unwrap()["data"]);
        // Written as the struct writes itself, never through a tree (which sorts the keys).
        assert!(data.get().starts_with(r#"{"user_id":"#), "{data:?}");
        let event = Event {
            id: "1-0".into(),
            source_id: None,
            channel: Channel::Social,
            event_type: t,
            timestamp: DateTime::UNIX_EPOCH,
            data: data.clone(),
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.ends_with(&format!(r#""data":{}}}"#, data.get())), "{text}");
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
        assert_eq!(Payload::default().get(), "null");
        assert!(Payload::from_json("{\"a\": 1".into()).is_err(), "not one JSON value");
        assert_eq!(Payload::from_json("[1, 2]".into()).unwrap().parse::<Vec<u8>>().unwrap(), [1, 2]);
        // Coordinates read back off the text are those written, to the last bit.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..1000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let lng = (x >> 11) as f64 / (1u64 << 53) as f64 * 360.0 - 180.0;
            assert_eq!(Payload::of(&lng).unwrap().parse::<f64>().unwrap().to_bits(), lng.to_bits(), "{lng}");
        }
    }
}
