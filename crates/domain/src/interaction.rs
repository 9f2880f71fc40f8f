//! User-venue interactions: the behavioural signal the recommender learns from.

use chrono::Timelike;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Checker;
use crate::{Timestamp, ValidationError, VenueId};

/// What the user did with a venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionType {
    View,
    Interest,
    Like,
    Save,
    Search,
    Visit,
}

impl InteractionType {
    pub const ALL: [InteractionType; 6] =
        [Self::View, Self::Interest, Self::Like, Self::Save, Self::Search, Self::Visit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Interest => "interest",
            Self::Like => "like",
            Self::Save => "save",
            Self::Search => "search",
            Self::Visit => "visit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the second seed document counts it as positive (like or interest).
    pub fn is_seed_positive(self) -> bool {
        matches!(self, Self::Like | Self::Interest)
    }
}

/// Part of the day an interaction happened in (local to the city).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    /// 05:00 to 10:59.
    Morning,
    /// 11:00 to 16:59.
    Afternoon,
    /// 17:00 to 21:59.
    Evening,
    /// 22:00 to 04:59.
    Night,
}

impl TimeOfDay {
    pub const ALL: [TimeOfDay; 4] = [Self::Morning, Self::Afternoon, Self::Evening, Self::Night];

    pub fn from_hour(h: u32) -> Self {
        match h {
            5..=10 => Self::Morning,
            11..=16 => Self::Afternoon,
            17..=21 => Self::Evening,
            _ => Self::Night,
        }
    }

    /// The part of day of a UTC instant in a time zone.
    pub fn at(t: Timestamp, tz: chrono_tz::Tz) -> Self {
        Self::from_hour(t.with_timezone(&tz).hour())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Morning => "morning",
            Self::Afternoon => "afternoon",
            Self::Evening => "evening",
            Self::Night => "night",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One logged interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interaction {
    pub id: Uuid,
    pub user_id: Uuid,
    pub venue_id: Uuid,
    pub interaction_type: InteractionType,
    pub dwell_time_seconds: i32,
    pub time_of_day: TimeOfDay,
    #[serde(serialize_with = "crate::time::micros")]
    pub occurred_at: DateTime<Utc>,
}

/// The body of `POST /venues/{venue_id}/interactions` (the second seed document's shape).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    pub user_id: Uuid,
    pub interaction_type: InteractionType,
    /// Seconds spent looking at the venue, 0 to 86400.
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::DwellSecondsRange>, inline)]
    pub dwell_time_seconds: Option<i32>,
    /// When it happened (defaults to now); from 2000-01-01T00:00:00Z to at most a minute in the
    /// future.
    #[serde(default, deserialize_with = "crate::time::to_micros_opt")]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A validated interaction ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInteraction {
    pub id: Uuid,
    pub user_id: Uuid,
    pub venue_id: Uuid,
    pub interaction_type: InteractionType,
    pub dwell_time_seconds: i32,
    pub time_of_day: TimeOfDay,
    pub occurred_at: DateTime<Utc>,
}

impl NewInteraction {
    /// The earliest `occurred_at` taken, 2000-01-01T00:00:00Z: before any app like this one, so an
    /// older time is a mistake (a zero date, year 1, seconds read as milliseconds), not a log, and
    /// would skew every time split and decay the recommender makes.
    pub fn earliest() -> Timestamp {
        DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
    }

    /// How far ahead of `now` an `occurred_at` may lie: a client's clock running a little fast.
    pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(1);

    /// Validates an input for `venue_id`, with `now` as the default time and `tz` for time of day.
    pub fn parse(
        input: InteractionInput,
        venue_id: VenueId,
        now: Timestamp,
        tz: chrono_tz::Tz,
    ) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let dwell = input.dwell_time_seconds.unwrap_or(0);
        c.whole("dwell_time_seconds", dwell, crate::limits::DWELL_SECONDS);
        let at = input.occurred_at.unwrap_or(now);
        c.check(
            at <= now + Self::CLOCK_SKEW,
            "occurred_at",
            "must not be in the future (a minute ahead is allowed for clock skew)",
        );
        c.check(at >= Self::earliest(), "occurred_at", "must not be before 2000-01-01T00:00:00Z");
        c.finish(Self {
            id: crate::new_id(),
            user_id: input.user_id,
            venue_id,
            interaction_type: input.interaction_type,
            dwell_time_seconds: dwell,
            time_of_day: TimeOfDay::at(at, tz),
            occurred_at: at,
        })
    }

    pub fn into_interaction(self) -> Interaction {
        Interaction {
            id: self.id,
            user_id: self.user_id,
            venue_id: self.venue_id,
            interaction_type: self.interaction_type,
            dwell_time_seconds: self.dwell_time_seconds,
            time_of_day: self.time_of_day,
            occurred_at: self.occurred_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn refused(occurred_at: &str, now: Timestamp) -> Vec<String> {
        let input = InteractionInput {
            user_id: Uuid::nil(),
            interaction_type: InteractionType::View,
            dwell_time_seconds: None,
            occurred_at: Some(at(occurred_at)),
        };
        match NewInteraction::parse(input, Uuid::nil(), now, chrono_tz::UTC) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect(),
        }
    }

    #[test]
    fn occurred_at_lies_from_the_year_2000_to_a_minute_ahead() {
        let now = at("2026-12-04T20:00:00Z");
        for ok in ["2000-01-01T00:00:00Z", "2026-12-04T20:00:59Z", "2026-10-01T12:25:00Z"] {
            assert_eq!(refused(ok, now), Vec::<String>::new(), "{ok}");
        }
        for old in ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z"] {
            assert_eq!(refused(old, now), ["occurred_at: must not be before 2000-01-01T00:00:00Z"], "{old}");
        }
        for ahead in ["2026-12-04T20:01:01Z", "9999-12-31T23:59:59Z"] {
            assert_eq!(
                refused(ahead, now),
                ["occurred_at: must not be in the future (a minute ahead is allowed for clock skew)"],
                "{ahead}"
            );
        }
    }
}
