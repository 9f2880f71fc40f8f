//! Plans: an organizer proposes a venue and a time, invites people, then confirms (which books).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
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

/// A plan to go somewhere together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub venue_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub party_size: Option<i32>,
    pub status: PlanStatus,
    pub created_at: DateTime<Utc>,
    pub participants: Vec<PlanParticipant>,
}

/// One invited person on a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanParticipant {
    pub plan_id: Uuid,
    pub user_id: Uuid,
    pub status: ParticipantStatus,
    pub invited_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}
