//! Plans: an organizer proposes a venue and a time, invites people, then confirms (which books).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::booking::{MAX_DAYS_AHEAD, check_members};
use crate::error::Checker;
use crate::{Timestamp, ValidationError};

/// Where a plan stands. A plan being organised is `pending` on the wire (the second seed's
/// value), in and out, and `draft` in the database only: the storage name is not taken as input
/// (a client sending it would be answered with another name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    #[serde(rename = "pending")]
    Draft,
    Confirmed,
    Cancelled,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Confirmed, Self::Cancelled].into_iter().find(|t| t.as_str() == s)
    }
}

/// A participant's answer to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantStatus {
    Invited,
    Accepted,
    Declined,
}

impl ParticipantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Invited, Self::Accepted, Self::Declined].into_iter().find(|t| t.as_str() == s)
    }
}

/// How many people a plan with `accepted` participants (its organizer among them) and its own
/// `party_size` takes: [`Plan::party`], for a store that counts the accepted without loading them.
pub fn party_of(accepted: i32, party_size: Option<i32>) -> i32 {
    let counted = accepted.max(1);
    party_size.map_or(counted, |n| n.max(counted))
}

/// A plan to go somewhere together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub id: Uuid,
    /// Who organises the plan; `null` once they deleted their account. Such a plan is never
    /// being organised (it was cancelled with the account, or was confirmed or cancelled
    /// before): its invitees keep seeing it, and nobody can change it any more.
    pub organizer_id: Option<Uuid>,
    pub venue_id: Uuid,
    #[serde(serialize_with = "crate::time::micros")]
    pub start_time: DateTime<Utc>,
    /// The least the table is booked for, as the organizer asked (guests not on Luna); the
    /// booking seats the larger of this and the organizer plus everyone who accepted.
    pub party_size: Option<i32>,
    pub status: PlanStatus,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
    pub participants: Vec<PlanParticipant>,
}

/// One invited person on a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanParticipant {
    pub plan_id: Uuid,
    pub user_id: Uuid,
    pub status: ParticipantStatus,
    #[serde(serialize_with = "crate::time::micros")]
    pub invited_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::micros_opt")]
    pub responded_at: Option<DateTime<Utc>>,
}

impl Plan {
    /// How many people go: the organizer and everyone who accepted, or the plan's own
    /// `party_size` when that is larger (guests who are not on Luna).
    pub fn party(&self) -> i32 {
        let accepted = self.participants.iter().filter(|p| p.status == ParticipantStatus::Accepted).count() as i32;
        party_of(accepted, self.party_size)
    }

    /// Why a plan whose organizer deleted their account (`organizer_id` null) refuses every
    /// change: nobody may confirm, reschedule, invite to or cancel it any more.
    pub fn without_organizer(&self) -> String {
        format!(
            "the plan's organizer deleted their account: the plan stays {} and can no longer be changed",
            self.status.as_str()
        )
    }

    /// Everyone who accepted, except the organizer, in the order they were invited.
    pub fn accepted_guests(&self) -> Vec<Uuid> {
        self.participants
            .iter()
            .filter(|p| p.status == ParticipantStatus::Accepted && Some(p.user_id) != self.organizer_id)
            .map(|p| p.user_id)
            .collect()
    }
}

/// The body of `POST /plans/` (the second seed's `PlanCreate`, plus Luna's optional fields).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub organizer_id: Uuid,
    pub venue_id: Uuid,
    #[serde(serialize_with = "crate::time::micros", deserialize_with = "crate::time::to_micros")]
    pub start_time: DateTime<Utc>,
    /// People going, organizer included, when more than those on Luna: the least the table is
    /// booked for. The booking seats the larger of this and the organizer plus everyone who
    /// accepted, so it may be smaller than the people invited.
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::PartySizeRange>, inline)]
    pub party_size: Option<i32>,
    /// Users to invite now (more can be invited later). Left out or `null`: nobody yet.
    #[serde(default, alias = "invitees", deserialize_with = "crate::user::null_as_empty::deserialize")]
    pub participant_ids: Vec<Uuid>,
}

/// A plan that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub venue_id: Uuid,
    pub start_time: Timestamp,
    pub party_size: Option<i32>,
    pub invitees: Vec<Uuid>,
}

impl NewPlan {
    /// Validates a plan proposed at `now`: it starts in the future (within a year), invites
    /// distinct people other than the organizer, and its party size is 1 to 1000.
    pub fn parse(input: PlanInput, now: Timestamp) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        check_start(&mut c, input.start_time, now);
        if let Some(n) = input.party_size {
            c.whole("party_size", n, crate::limits::PARTY_SIZE);
        }
        let invitees = check_members(&mut c, "participant_ids", input.organizer_id, &input.participant_ids);
        let plan = Self {
            id: crate::new_id(),
            organizer_id: input.organizer_id,
            venue_id: input.venue_id,
            start_time: input.start_time,
            party_size: input.party_size,
            invitees,
        };
        c.finish(plan)
    }
}

/// A plan's start as of `now`: in the future, within a year.
fn check_start(c: &mut Checker, start: Timestamp, now: Timestamp) {
    c.check(start > now, "start_time", "must be in the future");
    c.check(start <= now + chrono::Duration::days(MAX_DAYS_AHEAD), "start_time", "must be within a year");
}

/// The body of `PATCH /plans/{plan_id}`: the organizer moves a plan still being organised to
/// another time, and optionally another venue.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanReschedule {
    #[serde(serialize_with = "crate::time::micros", deserialize_with = "crate::time::to_micros")]
    pub start_time: DateTime<Utc>,
    /// Another venue; left out or `null`: the plan's own.
    #[serde(default)]
    pub venue_id: Option<Uuid>,
}

impl PlanReschedule {
    /// Validates the new start as of `now` as a plan's creation does: in the future, within a year.
    pub fn check(&self, now: Timestamp) -> Result<(), ValidationError> {
        let mut c = Checker::new();
        check_start(&mut c, self.start_time, now);
        c.finish(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_being_organised_is_pending_on_the_wire_and_draft_in_storage() {
        assert_eq!(serde_json::to_value(PlanStatus::Draft).unwrap(), "pending");
        assert_eq!(serde_json::from_value::<PlanStatus>("pending".into()).unwrap(), PlanStatus::Draft);
        assert!(serde_json::from_value::<PlanStatus>("draft".into()).is_err());
        assert_eq!(PlanStatus::Draft.as_str(), "draft");
    }

    #[test]
    fn plans_in_the_past_or_inviting_the_organizer_are_refused() {
        let now = chrono::Utc::now();
        let me = crate::new_id();
        let input = PlanInput {
            organizer_id: me,
            venue_id: crate::new_id(),
            start_time: now - chrono::Duration::hours(1),
            party_size: Some(0),
            participant_ids: vec![me],
        };
        let fields: Vec<_> = NewPlan::parse(input, now).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["start_time", "party_size", "participant_ids"]);
    }
}
