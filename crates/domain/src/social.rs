//! The social graph: directed edges with a strength, friend requests, and interest in venues.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

/// A request from one user to befriend another. At most one pending request per pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FriendRequest {
    pub id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub status: FriendRequestStatus,
    pub created_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

/// A user wants to go to a venue, optionally at a preferred time (used to form groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VenueInterest {
    pub user_id: Uuid,
    pub venue_id: Uuid,
    pub preferred_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
