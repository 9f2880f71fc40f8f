//! The social graph: directed edges with a strength, friend requests, and interest in venues.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{TimeOfDay, ValidationError};

/// How two users are related (the second seed document's `relationship_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipType {
    Friend,
    Mutual,
    Suggested,
}

impl RelationshipType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Friend => "friend",
            Self::Mutual => "mutual",
            Self::Suggested => "suggested",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Friend, Self::Mutual, Self::Suggested].into_iter().find(|t| t.as_str() == s)
    }
}

/// A directed edge `user_id -> other_user_id` with strength 0 to 1. Friendships are stored as
/// two edges, one each way; a user never has an edge to themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SocialEdge {
    pub user_id: Uuid,
    pub other_user_id: Uuid,
    pub relationship_type: RelationshipType,
    pub strength: f64,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
}

/// Where a friend request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FriendRequestStatus {
    Pending,
    Accepted,
    Declined,
}

impl FriendRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Declined].into_iter().find(|t| t.as_str() == s)
    }
}

/// How long after someone declined a friend request its sender may not ask them again (the one
/// who declined may ask the sender at any time): a decline is not answered by the same request
/// a moment later, again and again.
pub const DECLINED_REQUEST_COOLDOWN_DAYS: i64 = 7;

/// A request from one user to befriend another. At most one pending request per pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FriendRequest {
    pub id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub status: FriendRequestStatus,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::micros_opt")]
    pub responded_at: Option<DateTime<Utc>>,
}

/// A user wants to go to a venue, optionally at a preferred time or part of the day (used to
/// form groups), and says whether others may see them there and invite them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VenueInterest {
    pub user_id: Uuid,
    pub venue_id: Uuid,
    #[serde(serialize_with = "crate::time::micros_opt")]
    pub preferred_time: Option<DateTime<Utc>>,
    /// The part of the day they would go in, at the venue's local time. Absent from events
    /// written before it existed.
    #[serde(default)]
    pub preferred_time_slot: Option<TimeOfDay>,
    /// Whether other users see this interest and may invite them (auto-booking included). True
    /// for events written before it existed.
    #[serde(default = "open_by_default")]
    pub open_to_invites: bool,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
}

/// What an interest without an `open_to_invites` means: open, as every interest was before
/// the field existed.
fn open_by_default() -> bool {
    true
}

/// When a user would like to go to a venue and whether others may invite them: what
/// expressing interest stores. Each call's wish replaces the time and the part of the day of the
/// one before; whether the user is open to invites is kept unless the wish says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterestWish {
    pub preferred_time: Option<DateTime<Utc>>,
    pub preferred_time_slot: Option<TimeOfDay>,
    /// `None` keeps what the user said before in this venue (open, for a first interest), so a
    /// client that does not know the field never reopens an interest its user closed.
    pub open_to_invites: Option<bool>,
}

impl InterestWish {
    /// A wish for an exact time (or none), its openness as before, its part of the day left for
    /// [`InterestWish::resolve`] to fill in.
    pub fn at(preferred_time: Option<DateTime<Utc>>) -> Self {
        Self { preferred_time, preferred_time_slot: None, open_to_invites: None }
    }

    /// Checks the wish against the venue's time zone `tz`: a time without a part of the day gets
    /// the one it falls in there; a part of the day that the time does not fall in is refused,
    /// naming `preferred_time_slot` and the part the time is in.
    pub fn resolve(self, tz: chrono_tz::Tz) -> Result<Self, ValidationError> {
        let Some(at) = self.preferred_time else { return Ok(self) };
        let local = TimeOfDay::at(at, tz);
        match self.preferred_time_slot {
            Some(slot) if slot != local => Err(ValidationError::field(
                "preferred_time_slot",
                format!(
                    "preferred_time is {} at the venue ({tz}), in the {}, not the {}",
                    at.with_timezone(&tz).format("%H:%M"),
                    local.as_str(),
                    slot.as_str()
                ),
            )),
            _ => Ok(Self { preferred_time_slot: Some(local), ..self }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_time_without_a_slot_gets_the_part_of_day_it_falls_in_at_the_venue() {
        // 01:00 UTC is 20:00 the evening before in New York, and night in UTC.
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap();
        let ny = InterestWish::at(Some(at)).resolve(chrono_tz::America::New_York).unwrap();
        assert_eq!(ny.preferred_time_slot, Some(TimeOfDay::Evening));
        let utc = InterestWish::at(Some(at)).resolve(chrono_tz::UTC).unwrap();
        assert_eq!(utc.preferred_time_slot, Some(TimeOfDay::Night));
        let none = InterestWish::at(None).resolve(chrono_tz::UTC).unwrap();
        assert_eq!(none, InterestWish::at(None));
    }

    #[test]
    fn a_slot_the_time_does_not_fall_in_is_refused_saying_which_it_falls_in() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap();
        let wish = InterestWish { preferred_time_slot: Some(TimeOfDay::Night), ..InterestWish::at(Some(at)) };
        let err = wish.resolve(chrono_tz::America::New_York).unwrap_err();
        assert_eq!(err.0[0].field, "preferred_time_slot");
        assert!(err.0[0].message.contains("20:00") && err.0[0].message.contains("evening"), "{err:?}");
        let agrees = InterestWish { preferred_time_slot: Some(TimeOfDay::Evening), ..wish };
        assert_eq!(agrees.resolve(chrono_tz::America::New_York), Ok(agrees));
    }

    #[test]
    fn an_interest_event_from_before_the_slot_and_the_open_flag_reads_as_open_without_a_slot() {
        let old = serde_json::json!({
            "user_id": Uuid::nil(), "venue_id": Uuid::nil(),
            "preferred_time": null, "created_at": "2026-12-01T10:00:00Z"
        });
        let i: VenueInterest = serde_json::from_value(old).unwrap();
        assert_eq!((i.preferred_time_slot, i.open_to_invites), (None, true));
        let closed = serde_json::json!({
            "user_id": Uuid::nil(), "venue_id": Uuid::nil(), "preferred_time": null,
            "preferred_time_slot": "night", "open_to_invites": false, "created_at": "2026-12-01T10:00:00Z"
        });
        let i: VenueInterest = serde_json::from_value(closed).unwrap();
        assert_eq!((i.preferred_time_slot, i.open_to_invites), (Some(TimeOfDay::Night), false));
    }
}
