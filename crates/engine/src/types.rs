//! Queries the engine answers and the results it returns (serializable, with OpenAPI schemas).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use domain::{Category, LatLng};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Which ranker orders the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ranker {
    /// Exactly the second seed document's formulas (section 8.2 and 8.3).
    Seed2,
    /// Luna's blended ranker: preferences, context, trending, social proof, learned model.
    #[default]
    Default,
    /// Global popularity (count of likes and interests) near the user.
    Popularity,
    /// The learned matrix factorisation model alone.
    Learned,
}

impl Ranker {
    /// Every ranker, in report order.
    pub const ALL: [Ranker; 4] = [Ranker::Popularity, Ranker::Seed2, Ranker::Default, Ranker::Learned];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ranker::Seed2 => "seed2",
            Ranker::Default => "default",
            Ranker::Popularity => "popularity",
            Ranker::Learned => "learned",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The ranker that orders people when this one is asked for: people have only `seed2` and
    /// the default (popularity and the learned model rank venues).
    pub fn for_people(self) -> Self {
        if self == Ranker::Seed2 { Ranker::Seed2 } else { Ranker::Default }
    }
}

/// A venue recommendation request.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueQuery {
    pub user_id: Uuid,
    /// Results wanted, 1 to 100.
    pub limit: usize,
    pub ranker: Ranker,
    /// Where to search from; defaults to a fresh live location, then home.
    pub point: Option<LatLng>,
    /// Only venues within this distance of the point, km.
    pub radius_km: Option<f64>,
    /// When the user wants to go (context: time of day, weekday); defaults to `open_at`, then
    /// `now` ([`VenueQuery::going_at`]). From `now` to the booking horizon
    /// ([`check_time_window`]), else refused naming `time`.
    pub time: Option<DateTime<Utc>>,
    /// Only venues that can seat the party.
    pub party_size: Option<u32>,
    pub category: Option<Category>,
    /// Price levels accepted (inclusive); venues without a price pass.
    pub price_min: Option<i16>,
    pub price_max: Option<i16>,
    /// Only venues open at this instant. From `now` to the booking horizon
    /// ([`check_time_window`]), else refused naming `open_at`.
    pub open_at: Option<DateTime<Utc>>,
    /// Venues never to return.
    pub exclude: Vec<Uuid>,
    /// Only venues new to the user: none they have viewed, searched, saved, liked, shown
    /// interest in, visited or booked.
    pub new_only: bool,
    /// The current instant (trending decay, just-visited, live-location freshness).
    pub now: Option<DateTime<Utc>>,
}

impl VenueQuery {
    /// When the user would go, which the context is ranked and said for: `time`, else the
    /// `open_at` the venues must be open at (who asks for places open Saturday at 2:00 means
    /// to go then), else `now`.
    pub fn going_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.time.or(self.open_at).unwrap_or(now)
    }

    /// A query with only the user, the limit and the ranker set.
    pub fn new(user_id: Uuid, limit: usize, ranker: Ranker) -> Self {
        Self {
            user_id,
            limit,
            ranker,
            point: None,
            radius_km: None,
            time: None,
            party_size: None,
            category: None,
            price_min: None,
            price_max: None,
            open_at: None,
            exclude: Vec::new(),
            new_only: false,
            now: None,
        }
    }
}

/// What a venue is, in a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VenueSummary {
    pub category: Category,
    pub cuisine: Option<String>,
    pub price_level: Option<i16>,
    pub rating: Option<f64>,
    pub lat: f64,
    pub lng: f64,
}

/// One machine-readable reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable snake_case code such as `proximity`, `friends_liked`, `cuisine_match` (a
    /// borrowed constant when the engine makes it: no allocation per reason). `friends_liked`
    /// is social proof, also when friends only looked ("1 friend looked at it").
    #[schema(value_type = String)]
    pub code: Cow<'static, str>,
    /// Short human label such as "3 friends liked it".
    #[schema(value_type = String)]
    pub label: Cow<'static, str>,
    /// What the reason added to the score (negative for demotions).
    pub contribution: f64,
}

/// A recommended venue: the second seed's fields plus a summary and an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VenueRecommendation {
    pub venue_id: Uuid,
    pub venue_name: String,
    /// How well the venue fits, higher first: for ordering, and comparable only within one
    /// answer. Its range is the ranker's: `seed2` (the second seed's 0.4 × proximity + 0.4 ×
    /// preference + 0.2 × popularity), `popularity` and `learned` give 0 to 1; `default` gives 0
    /// or more with no fixed top (a weighted sum of a dozen signals, often above 1), so it is not
    /// a percentage.
    pub score: f64,
    /// Kilometres from where the user searches from (the query's point, a fresh live location,
    /// then home). `null` when none is known (unknown, not 0 km): the explanation then names no
    /// distance.
    pub distance_km: Option<f64>,
    pub venue: VenueSummary,
    pub reasons: Vec<Reason>,
    /// One human sentence, such as "0.8 km away, 3 friends liked it, matches your love of ramen".
    pub explanation: String,
}

/// What a venue answer was computed from, besides the venues: the user's local time, where
/// the search started and what the engine knows of the user.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueContext {
    /// The query's `time` (else its `now`) in the user's time zone. Users have no zone of their
    /// own: theirs is the zone of the venue nearest to where the search started, else of the
    /// first venue recommended, else the engine's default (`America/New_York`), the zone
    /// opening hours and time-of-day fit are read in for venues there.
    pub local_time: DateTime<chrono_tz::Tz>,
    /// Where distances were measured from: the query's point, else a fresh live location, else
    /// home; `None` when there is none.
    pub origin: Option<LatLng>,
    pub persona: Option<domain::Persona>,
    /// The user's stated preferences; `None` if they stated none.
    pub preferences: Option<StatedPreferences>,
}

/// The parts of a user's preferences an answer's context says back.
#[derive(Debug, Clone, PartialEq)]
pub struct StatedPreferences {
    /// Cuisine names as stated, favourite first.
    pub cuisines: Vec<String>,
    pub price_min: i16,
    pub price_max: i16,
}

/// A people ("who to go with") request.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleQuery {
    pub user_id: Uuid,
    /// Condition on a venue: who would like to go there.
    pub venue_id: Option<Uuid>,
    pub limit: usize,
    pub ranker: Ranker,
    /// The current instant: an interest in the venue whose exact preferred time is before it no
    /// longer says its user wants to go. Defaults to the clock.
    pub now: Option<DateTime<Utc>>,
}

/// How a recommended person relates to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// A direct social edge.
    Friend,
    /// A friend of a friend.
    Mutual,
    /// Someone new (shares places or tastes).
    New,
}

impl Relationship {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Friend => "friend",
            Relationship::Mutual => "mutual",
            Relationship::New => "new",
        }
    }
}

/// A recommended companion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonRecommendation {
    pub user_id: Uuid,
    /// How well the person fits, higher first: for ordering, and comparable only within one
    /// answer. `seed2` (the second seed's 0.6 × strength + 0.25 × direct + 0.15 × category
    /// preference) gives 0 to 1; `default` gives 0 or more with no fixed top (a weighted sum
    /// of signals), so it is not a percentage.
    pub score: f64,
    pub handle: String,
    pub name: String,
    pub relationship: Relationship,
    pub mutual_friends: u32,
    pub reasons: Vec<Reason>,
    pub explanation: String,
}

/// How a group's member scores are combined into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupStrategy {
    /// Mean of the members' scores.
    #[default]
    Average,
    /// The lowest member score (no one is miserable).
    LeastMisery,
    /// Mean minus the spread of the scores (good for all, not great for one).
    Fairness,
}

/// How far before `now` a time a query asks about (a group's or a venue query's `time`, a venue
/// query's `open_at`) may be and still count as now: a client sending its own clock's "now"
/// that runs a little behind the server's is not refused.
pub const TIME_SKEW: chrono::Duration = chrono::Duration::minutes(1);

/// The latest `time` a venue or group query may ask about: the booking horizon
/// ([`domain::booking::MAX_DAYS_AHEAD`] days) after `now`, as far ahead as an interest's time or
/// a booking may be.
pub(crate) fn latest_time(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD)
}

/// The one rule for a time a query asks about (a group's `time`, a venue query's `time` and
/// `open_at`): from `now` ([`TIME_SKEW`] before it still counts as now) to the booking horizon
/// ([`latest_time`]). Anything else is refused, naming `field` and the range.
pub(crate) fn check_time_window(
    field: &'static str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), crate::EngineError> {
    let latest = latest_time(now);
    if at.is_some_and(|t| t < now - TIME_SKEW || t > latest) {
        let days = domain::booking::MAX_DAYS_AHEAD;
        return Err(crate::EngineError::invalid(
            field,
            format!(
                "must not be in the past nor more than {days} days ahead (the booking horizon): from now to {}",
                rfc3339(latest)
            ),
        ));
    }
    Ok(())
}

/// `at` as RFC 3339 to the second, for messages.
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A group recommendation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupQuery {
    /// 2 to 20 members.
    pub user_ids: Vec<Uuid>,
    pub strategy: GroupStrategy,
    /// No member travels farther than this, km.
    pub max_distance_km: Option<f64>,
    pub limit: usize,
    pub category: Option<Category>,
    /// When the group wants to go; venues must be open then. Not in the past (more than
    /// [`TIME_SKEW`] before `now`) nor past the booking horizon ([`latest_time`]): either
    /// is refused, naming `time` ([`check_time_window`]).
    pub time: Option<DateTime<Utc>>,
    pub now: Option<DateTime<Utc>>,
    /// How each member scores a venue (the default ranker unless asked).
    pub ranker: Ranker,
}

impl GroupQuery {
    /// A query with the members, the strategy and the limit set.
    pub fn new(user_ids: Vec<Uuid>, strategy: GroupStrategy, limit: usize) -> Self {
        Self {
            user_ids,
            strategy,
            max_distance_km: None,
            limit,
            category: None,
            time: None,
            now: None,
            ranker: Ranker::Default,
        }
    }
}

/// One member's view of a group venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberScore {
    pub user_id: Uuid,
    /// The member's score for the venue under the group's ranker, in that ranker's range (see
    /// a venue recommendation's `score`: 0 to 1 except under `default`, 0 or more).
    pub score: f64,
    /// How far the member is from the venue, km: from their fresh live location, else their
    /// home; null when neither is known (never 0 for unknown).
    pub distance_km: Option<f64>,
    pub explanation: String,
}

/// A venue recommended to a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupVenue {
    pub venue_id: Uuid,
    pub venue_name: String,
    /// The members' scores combined under the query's strategy: `average` and `least_misery`
    /// stay in the ranker's range; `fairness` (the mean less half the spread) can fall below 0.
    pub score: f64,
    pub venue: VenueSummary,
    /// Distance of the venue from the group's centroid, km; null when no member's location is
    /// known (the centroid is null too).
    pub distance_km: Option<f64>,
    pub members: Vec<MemberScore>,
    pub explanation: String,
}

/// The answer to a group request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupRecommendations {
    pub strategy: GroupStrategy,
    /// The mean of the members' known locations; null when no member has one.
    pub centroid: Option<LatLng>,
    pub venues: Vec<GroupVenue>,
}

/// Someone who wants to go to a venue, seen by a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InterestedPerson {
    pub user_id: Uuid,
    pub handle: String,
    pub name: String,
    /// When they would like to go, if they said.
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub preferred_time: Option<DateTime<Utc>>,
    /// The part of the day they would go in (at the venue's local time), if they said or gave a
    /// time. Null for interests from before the part of the day was kept.
    pub preferred_time_slot: Option<domain::TimeOfDay>,
    /// Social compatibility with the viewer, 0 to 1.
    pub compatibility: f64,
    pub mutual_friends: u32,
}

/// Who wants to go to a venue, grouped by their relation to the viewer, each group the most
/// compatible first and cut at the limit asked for (the totals count everyone shown: those not
/// open to invites are in neither).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InterestedInVenue {
    pub venue_id: Uuid,
    pub friends: Vec<InterestedPerson>,
    /// Friends of friends.
    pub mutuals: Vec<InterestedPerson>,
    pub new_people: Vec<InterestedPerson>,
    /// How many friends are interested in all.
    pub friends_total: usize,
    /// How many friends of friends are interested in all.
    pub mutuals_total: usize,
    /// How many new people are interested in all.
    pub new_people_total: usize,
}
