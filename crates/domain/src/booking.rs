//! Bookings: the state machine, the booking as stored, the seed's request body parsed into a
//! [`SeatRequest`], and what an attempt to take seats comes to ([`SeatOutcome`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Checker;
use crate::inventory::{self, TurnTimes};
use crate::{Plan, Timestamp, ValidationError, Venue};

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
    /// Who booked (the organizer); `null` once they deleted their account. Such a booking is
    /// history (cancelled, completed, no-show, or confirmed and over: the deletion cancels the
    /// upcoming ones first): its party, plan and venue keep it.
    pub user_id: Option<Uuid>,
    pub venue_id: Uuid,
    pub plan_id: Option<Uuid>,
    #[serde(serialize_with = "crate::time::micros")]
    pub booking_time: DateTime<Utc>,
    pub party_size: i32,
    /// How long the party holds its seats (the turn time), in minutes.
    pub duration_minutes: i32,
    pub status: BookingStatus,
    /// Unique, human-friendly code such as `LUNA-7K3QX9`.
    pub confirmation_code: String,
    /// Which provider holds the reservation (`house`, or an external one).
    pub provider: String,
    /// Which agent made the booking.
    pub agent: String,
    /// The other people in the party (the organizer is `user_id`).
    pub group_members: Vec<Uuid>,
    pub special_requests: Option<String>,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::micros")]
    pub updated_at: DateTime<Utc>,
}

impl Booking {
    /// Whether `user` made the booking (never, once its booker deleted their account).
    pub fn made_by(&self, user: Uuid) -> bool {
        self.user_id == Some(user)
    }

    /// Whether `user` made the booking or is in its party.
    pub fn includes(&self, user: Uuid) -> bool {
        self.made_by(user) || self.group_members.contains(&user)
    }

    /// When the party gives its seats back.
    pub fn ends_at(&self) -> Timestamp {
        self.booking_time + chrono::Duration::minutes(i64::from(self.duration_minutes))
    }
}

/// Someone asked to join a plan or a booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub inviter_id: Uuid,
    pub invitee_id: Uuid,
    pub venue_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub booking_id: Option<Uuid>,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/bookings/{user_id}/create` (the first seed's `BookingRequest`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub venue_id: Uuid,
    /// When (RFC 3339); `preferred_time` is accepted too. Without it: 12:00 today before 11:00
    /// local time, 19:00 today before 17:00, else 12:00 tomorrow (the first seed's rule).
    #[serde(default, alias = "preferred_time")]
    #[serde(serialize_with = "crate::time::micros_opt", deserialize_with = "crate::time::to_micros_opt")]
    pub booking_time: Option<DateTime<Utc>>,
    /// People in the party, organizer included, 1 to 1000 (default 2, or 1 + group members).
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::PartySizeRange>, inline)]
    pub party_size: Option<i32>,
    /// Other users in the party; each gets an invitation. Left out or `null`: nobody.
    #[serde(default, deserialize_with = "crate::user::null_as_empty::deserialize")]
    pub group_members: Vec<Uuid>,
    #[serde(default)]
    pub special_requests: Option<String>,
}

/// A validated request for seats, before an agent names its id, code and provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatRequest {
    pub user_id: Uuid,
    pub venue_id: Uuid,
    pub plan_id: Option<Uuid>,
    #[serde(serialize_with = "crate::time::micros")]
    pub booking_time: Timestamp,
    pub party_size: i32,
    pub duration_minutes: i32,
    pub group_members: Vec<Uuid>,
    pub special_requests: Option<String>,
}

/// The most people a booking may invite.
pub const MAX_GROUP_MEMBERS: usize = 50;

/// The largest party one booking may seat.
pub const MAX_PARTY: i32 = 1000;

/// How far ahead a booking may be made.
pub const MAX_DAYS_AHEAD: i64 = 366;

impl SeatRequest {
    /// Parses the seed's body for `user_id` at `venue`, as of `now`. `last_seating` is how long
    /// the venue must stay open after the booking time.
    pub fn parse(
        user_id: Uuid,
        input: BookingInput,
        venue: &Venue,
        now: Timestamp,
        turns: &TurnTimes,
        last_seating: u16,
    ) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let members = check_members(&mut c, "group_members", user_id, &input.group_members);
        let party = input.party_size.unwrap_or_else(|| (members.len() as i32 + 1).max(2));
        c.check(party > members.len() as i32, "party_size", "must count the organizer and every group member");
        let at = input.booking_time.unwrap_or_else(|| inventory::default_time(now, venue.tz()));
        let fields = ("booking_time", "party_size");
        if input.booking_time.is_some() {
            check_slot(&mut c, venue, at, party, now, last_seating, fields);
        } else {
            // The client named no time: a refusal of the one chosen for it says which it was.
            let mut slot = Checker::new();
            check_slot(&mut slot, venue, at, party, now, last_seating, fields);
            c.absorb(slot.finish(()).map_err(|e| said_default_time(e, venue, at)));
        }
        let special_requests = c.opt_text("special_requests", input.special_requests.as_deref(), 500);
        let request = Self {
            user_id,
            venue_id: venue.id,
            plan_id: None,
            booking_time: at,
            party_size: party,
            duration_minutes: i32::from(turns.minutes(venue.category, party)),
            group_members: members,
            special_requests,
        };
        c.finish(request)
    }
}

/// `e` with every complaint about `booking_time` saying that none was given and which time the
/// first seed's default chose (`at`, also in the venue's local time), so a client that left it
/// out learns what "then" was.
fn said_default_time(mut e: ValidationError, venue: &Venue, at: Timestamp) -> ValidationError {
    let local = at.with_timezone(&venue.tz()).format("%H:%M on %A %Y-%m-%d");
    let utc = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for f in e.0.iter_mut().filter(|f| f.field == "booking_time") {
        f.message = format!(
            "{}; no booking_time was given, so the default one was taken: {utc} ({local}, {} time)",
            f.message, venue.timezone
        );
    }
    e
}

/// Distinct users other than `organizer`, at most [`MAX_GROUP_MEMBERS`], in the given order.
pub fn check_members(c: &mut Checker, field: &str, organizer: Uuid, ids: &[Uuid]) -> Vec<Uuid> {
    c.check(ids.len() <= MAX_GROUP_MEMBERS, field, format!("must have at most {MAX_GROUP_MEMBERS} people"));
    c.check(!ids.contains(&organizer), field, "must not include the organizer");
    // A set, not `out.contains`: the list is only refused for its length above, and a body may
    // hold tens of thousands of ids.
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let out: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    c.check(out.len() == ids.len(), field, "must not repeat anyone");
    out
}

/// The rules every booking time and party meet: in the future (at most a year ahead), the venue
/// open then for at least `last_seating` minutes, the party between 1 and the venue's capacity.
pub fn check_slot(
    c: &mut Checker,
    venue: &Venue,
    at: Timestamp,
    party: i32,
    now: Timestamp,
    last_seating: u16,
    (time_field, party_field): (&str, &str),
) {
    c.check(at > now, time_field, "must be in the future");
    c.check(at <= now + chrono::Duration::days(MAX_DAYS_AHEAD), time_field, "must be within a year");
    c.whole(party_field, party, crate::limits::PARTY_SIZE);
    // The hours of a time already refused as past say nothing more.
    let future = (at > now).then_some(at);
    check_venue_hosts(c, venue, future, Some(party), last_seating, (time_field, party_field));
}

/// What the venue itself allows: open at `at` (when given) for at least `last_seating` minutes,
/// and a party (when known) within its capacity.
pub fn check_venue_hosts(
    c: &mut Checker,
    venue: &Venue,
    at: Option<Timestamp>,
    party: Option<i32>,
    last_seating: u16,
    (time_field, party_field): (&str, &str),
) {
    if let Some(closed) = at.and_then(|at| inventory::closed_then(venue, at, last_seating)) {
        c.check(false, time_field, closed);
    }
    if let Some(n) = party {
        c.check(n <= venue.capacity, party_field, format!("must be at most the venue's capacity ({})", venue.capacity));
    }
}

/// Seats taken: the booking as made, who it invited, and the plan it confirmed, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Booked {
    pub booking: Booking,
    pub invitations: Vec<Invitation>,
    pub plan: Option<Plan>,
}

/// A slot that cannot take the party: what was asked and how many seats were left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlotFull {
    pub user_id: Uuid,
    pub venue_id: Uuid,
    #[serde(serialize_with = "crate::time::micros")]
    pub booking_time: DateTime<Utc>,
    pub party_size: i32,
    pub duration_minutes: i32,
    /// Seats free at the busiest moment of the party's stay.
    pub seats_free: i32,
    pub capacity: i32,
}

/// What an attempt to take seats came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Booked is the common answer and lives for one request: boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SeatOutcome {
    Booked(Booked),
    Full(SlotFull),
}

/// What auto-booking a venue did: the group bookings made, the groups the venue had no room
/// for, and the interested users left out because they already hold a booking there then.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AutoBooked {
    pub booked: Vec<Booked>,
    pub full: Vec<SlotFull>,
    pub already_booked: Vec<Uuid>,
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
        assert!(!Confirmed.can_move_to(Confirmed));
    }

    #[test]
    fn members_keep_their_order_without_repeats_and_a_repeat_or_a_long_list_is_refused() {
        use super::check_members;
        use crate::error::Checker;
        let ids: Vec<uuid::Uuid> = (0..4).map(|_| uuid::Uuid::now_v7()).collect();
        let organizer = uuid::Uuid::now_v7();
        let mut c = Checker::new();
        assert_eq!(check_members(&mut c, "group_members", organizer, &ids), ids);
        assert!(c.finish(()).is_ok());
        let mut c = Checker::new();
        let repeated = [ids[1], ids[0], ids[1], ids[2], ids[0]];
        assert_eq!(check_members(&mut c, "group_members", organizer, &repeated), vec![ids[1], ids[0], ids[2]]);
        let err = c.finish(()).unwrap_err();
        assert_eq!((err.0[0].field.as_str(), err.0[0].message.as_str()), ("group_members", "must not repeat anyone"));
        // Tens of thousands of ids (a 1 MiB body) are refused for their length, repeats and all.
        let many: Vec<uuid::Uuid> = (0..30_000).map(|i| ids[i % 4]).collect();
        let mut c = Checker::new();
        assert_eq!(check_members(&mut c, "participant_ids", organizer, &many).len(), 4);
        let messages: Vec<String> = c.finish(()).unwrap_err().0.into_iter().map(|e| e.message).collect();
        // Named once, with both reasons.
        assert_eq!(messages, ["must have at most 50 people; must not repeat anyone"]);
    }

    #[test]
    fn only_pending_and_confirmed_bookings_hold_seats() {
        let holding: Vec<_> = super::BookingStatus::ALL.into_iter().filter(|s| s.holds_seats()).collect();
        assert_eq!(holding, vec![Pending, Confirmed]);
    }
}
