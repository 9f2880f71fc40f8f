//! Luna's domain: ids, entities, value types that parse themselves at the edge, the rules that
//! do not depend on storage (booking states, opening hours, distances), and the events every
//! committed write publishes. No I/O lives here.

pub mod booking;
pub mod concern;
pub mod confirmation;
pub mod error;
pub mod event;
pub mod geo;
pub mod grouping;
pub mod hours;
pub mod interaction;
pub mod inventory;
pub mod limits;
pub mod page;
pub mod plan;
pub mod social;
pub mod time;
pub mod user;
pub mod venue;

pub use booking::{
    AutoBooked, Booked, Booking, BookingInput, BookingStatus, Invitation, SeatOutcome, SeatRequest, SlotFull,
};
pub use concern::Concern;
pub use error::{FieldError, ValidationError, nfc};
pub use event::{Channel, DomainEvent, Event, Payload};
pub use geo::{LatLng, haversine_km};
pub use hours::OpeningHours;
pub use interaction::{Interaction, InteractionType, NewInteraction, TimeOfDay};
pub use page::{Page, PageRequest};
pub use plan::{NewPlan, ParticipantStatus, Plan, PlanInput, PlanParticipant, PlanReschedule, PlanStatus};
pub use social::{FriendRequest, FriendRequestStatus, InterestWish, RelationshipType, SocialEdge, VenueInterest};
pub use user::{NewUser, Persona, User, UserPatch, UserPreferences};
pub use venue::{Category, NewVenue, Venue, VenuePatch};

/// Every entity id is a UUIDv7 (time-ordered), so keyset pagination by id is also by age.
pub type Id = uuid::Uuid;
pub type UserId = Id;
pub type VenueId = Id;
pub type PlanId = Id;
pub type BookingId = Id;

/// A fresh time-ordered id.
pub fn new_id() -> Id {
    uuid::Uuid::now_v7()
}

/// Timestamps are UTC everywhere; RFC 3339 on the wire.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
