//! The rest of the recommendation routes: expressing interest in a venue, group venues, who
//! is interested in a venue, and the live location that recommendations start from.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::error::Checker;
use domain::{Category, TimeOfDay};
use engine::{GroupQuery, GroupRecommendations, GroupStrategy, InterestedInVenue, InterestedPerson, Ranker};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use app::App;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};

/// Body of `POST /recommendations/{user_id}/interest`. Each call replaces the user's previous
/// interest in the venue: its time and part of the day (one left out is none), and whether they
/// are open to invites when the call says. Other fields are refused, naming them (a misspelt
/// `open_to_invite: false` would otherwise leave the interest open to others).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestRequest {
    /// The first seed's clients send the user here too: taken when it is the path's user, else a
    /// 422.
    pub user_id: Option<Uuid>,
    pub venue_id: Uuid,
    /// When the user would like to go (RFC 3339), in the future, within a year.
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub preferred_time: Option<DateTime<Utc>>,
    /// The part of the day they would go in, at the venue's local time: `morning` (05:00 to
    /// 10:59), `afternoon` (11:00 to 16:59), `evening` (17:00 to 21:59) or `night` (22:00 to
    /// 04:59), or a meal time (`breakfast`, `lunch`, `brunch`, `dinner`, `late_night`), taken
    /// as the part of the day it falls in and shown back as that part of the day. Derived from
    /// `preferred_time` when that is given alone; with both, the time must fall in this part of
    /// the day there (else 422). Alone, it makes the user flexible: the auto-booking agent may
    /// seat them with others who go then.
    pub preferred_time_slot: Option<TimeSlotName>,
    /// Whether other users may see this interest (in the venue's interested list and in others'
    /// interest answers) and the auto-booking agent may book them. Left out: as the user said
    /// before for this venue, else true (so a client that does not send it never reopens an
    /// interest its user closed). Either way the interest shapes the user's own recommendations
    /// and the venue's popularity.
    pub open_to_invites: Option<bool>,
}

/// A `preferred_time_slot` as given: a part of the day, or one of the first seed's meal times
/// (the values its model notes, lunch/dinner/brunch/breakfast, and its README's late-night, as
/// `/recommendations`' `context.meal_time` names them), taken as the part of the day it lies
/// in: `breakfast` the morning, `lunch` and `brunch` the afternoon (from 11:00, where most of a
/// 9:30 to 14:00 brunch lies), `dinner` the evening, `late_night` (or `late-night`) the night.
// QA: those names, and the meal times Luna itself answers with, were refused as unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeSlotName {
    Morning,
    Afternoon,
    Evening,
    Night,
    Breakfast,
    Lunch,
    Brunch,
    Dinner,
    #[serde(alias = "late-night")]
    LateNight,
}

impl From<TimeSlotName> for TimeOfDay {
    fn from(name: TimeSlotName) -> Self {
        match name {
            TimeSlotName::Morning | TimeSlotName::Breakfast => TimeOfDay::Morning,
            TimeSlotName::Afternoon | TimeSlotName::Lunch | TimeSlotName::Brunch => TimeOfDay::Afternoon,
            TimeSlotName::Evening | TimeSlotName::Dinner => TimeOfDay::Evening,
            TimeSlotName::Night | TimeSlotName::LateNight => TimeOfDay::Night,
        }
    }
}

/// The first seed's `InterestResponse`, with Luna's people (those open to invites).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InterestResponse {
    pub success: bool,
    pub venue_id: Uuid,
    /// Friends first, then friends of friends, then new people: the 20 most compatible of each
    /// (the message counts everyone open to invites whose exact preferred time, if any, has not
    /// passed).
    pub others_interested: Vec<InterestedPerson>,
    pub message: String,
}

/// Say that a user wants to go to a venue; returns who else does.
#[utoipa::path(post, path = "/recommendations/{user_id}/interest", tag = "recommendations",
    request_body = InterestRequest,
    params(("user_id" = Uuid, Path, description = "The user")),
    responses(
        (status = 200, description = "Recorded", body = InterestResponse),
        (status = 404, description = "No such user or venue", body = ErrorBody),
        (status = 422, description = "Invalid fields: an unknown field, a `user_id` other than the path's, a time not in the future or past a year, an unknown `preferred_time_slot`, or one that `preferred_time` does not fall in at the venue (the message says which it falls in)", body = ErrorBody),
    ))]
pub async fn express_interest(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppJson(body): AppJson<InterestRequest>,
) -> ApiResult<AppJson<InterestResponse>> {
    let now = app.now();
    // Every bad field in one answer, as other bodies are checked.
    let mut bad = Vec::new();
    if body.user_id.is_some_and(|id| id != user_id) {
        bad.extend(domain::ValidationError::field("user_id", "must be the user of the path, or left out").0);
    }
    if body.preferred_time.is_some_and(|t| t <= now) {
        bad.extend(domain::ValidationError::field("preferred_time", "must be in the future").0);
    }
    // As far ahead as a booking may be made: the agent must be able to act on it.
    if body.preferred_time.is_some_and(|t| t > now + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD)) {
        bad.extend(domain::ValidationError::field("preferred_time", "must be within a year").0);
    }
    if !bad.is_empty() {
        return Err(ApiError::Validation(bad));
    }
    let wish = domain::InterestWish {
        preferred_time: body.preferred_time,
        preferred_time_slot: body.preferred_time_slot.map(TimeOfDay::from),
        open_to_invites: body.open_to_invites,
    };
    app.express_interest(user_id, body.venue_id, wish).await?;
    // The viewer is never in their own lists, so the totals count the others.
    let seen = app.interested_in_venue(body.venue_id, user_id, INTERESTED_LIMIT).await?;
    let total = seen.friends_total + seen.mutuals_total + seen.new_people_total;
    let others: Vec<_> = [seen.friends, seen.mutuals, seen.new_people].into_iter().flatten().collect();
    let message = match total {
        0 => "Interest recorded! Nobody else is interested yet.".to_string(),
        1 => "Interest recorded! 1 other person is also interested.".to_string(),
        n => format!("Interest recorded! {n} others are also interested."),
    };
    Ok(AppJson(InterestResponse { success: true, venue_id: body.venue_id, others_interested: others, message }))
}

/// Options of a group recommendation.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupRecoQuery {
    /// `average` (default), `least_misery` or `fairness`.
    pub strategy: Option<GroupStrategy>,
    /// No member travels farther than this, km (above 0, at most 20000); every member needs a
    /// home or a fresh live location to be measured from.
    #[param(value_type = Option<crate::ranges::RecoRadiusRange>, inline)]
    pub max_distance_km: Option<f64>,
    /// Results wanted, 1 to 100 (default 10).
    #[param(value_type = Option<crate::ranges::RecoLimitRange>, inline)]
    pub limit: Option<i64>,
    pub category: Option<Category>,
    /// When the group wants to go (RFC 3339; default now); venues must be open then. From now to
    /// 366 days ahead (the booking horizon): a time more than a minute before the server's clock
    /// (a client's clock a little behind still means now) or further ahead is a 422.
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub time: Option<DateTime<Utc>>,
    /// How each member scores a venue: `default` (the default), `seed2` (the second seed's
    /// formula from each member's own location: every member needs a home or a fresh live
    /// location), `popularity` or `learned`. The strategy then combines the members' scores.
    pub ranker: Option<Ranker>,
}

/// `{"group_venues": [...], "group_size": n}` plus the strategy and centroid.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupResponse {
    /// How many users the group has (whether or not any venue suits them).
    pub group_size: usize,
    pub group_venues: Vec<engine::GroupVenue>,
    pub strategy: GroupStrategy,
    /// The ranker each member scored the venues with.
    pub ranker: Ranker,
    /// The mean of the members' known locations; null when no member has one.
    pub centroid: Option<domain::LatLng>,
}

/// Venues for a group of 2 to 20 users (comma-separated ids). Each member's `distance_km` is
/// null when their location (a fresh live one, else home) is unknown, and a venue's is null
/// when no member's is known (the centroid is null then).
#[utoipa::path(get, path = "/recommendations/group/{user_ids}", tag = "recommendations",
    params(("user_ids" = String, Path, description = "2 to 20 comma-separated user ids"), GroupRecoQuery),
    responses(
        (status = 200, description = "Ranked venues for the group", body = GroupResponse),
        (status = 404, description = "A member does not exist", body = ErrorBody),
        (status = 422, description = "Bad ids or parameters (a `time` in the past or more than 366 days ahead among them), members whose stated budgets do not overlap, or `max_distance_km` or `ranker=seed2` with a member of unknown location (the message names them)", body = ErrorBody),
    ))]
pub async fn group_recommendations(
    State(app): State<App>,
    AppPath(user_ids): AppPath<String>,
    AppQuery(q): AppQuery<GroupRecoQuery>,
) -> ApiResult<AppJson<GroupResponse>> {
    let ids = parse_ids(&user_ids)?;
    let group_size = ids.len();
    let mut c = Checker::new();
    let limit = super::check_limit(&mut c, q.limit);
    if let Some(d) = q.max_distance_km {
        c.real("max_distance_km", d, crate::ranges::RECO_RADIUS_KM);
    }
    let mut query = c.finish(GroupQuery::new(ids, q.strategy.unwrap_or_default(), limit))?;
    query.max_distance_km = q.max_distance_km;
    query.category = q.category;
    query.time = q.time;
    query.ranker = q.ranker.unwrap_or_default();
    let ranker = query.ranker;
    let GroupRecommendations { strategy, centroid, venues } = app.recommend_group(query).await?;
    Ok(AppJson(GroupResponse { group_size, group_venues: venues, strategy, ranker, centroid }))
}

/// Parses `a,b,c` into 2 to 20 distinct UUIDs.
/// How many distinct users a group recommendation takes.
pub(crate) const GROUP_SIZE: std::ops::RangeInclusive<usize> = 2..=20;

fn parse_ids(raw: &str) -> ApiResult<Vec<Uuid>> {
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = Uuid::parse_str(part).map_err(|_| ApiError::field("user_ids", "must be comma-separated UUIDs"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if !GROUP_SIZE.contains(&ids.len()) {
        return Err(ApiError::field("user_ids", "a group has 2 to 20 distinct users"));
    }
    Ok(ids)
}

/// How many of each group an interested list shows unless asked.
const INTERESTED_LIMIT: usize = 20;

/// Who a viewer sees in a venue's interested list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterestedQuery {
    /// The user looking (required, the admin too: the list is as they see it).
    pub viewer: Uuid,
    /// At most this many of each group, the most compatible first: 1 to 100 (default 20).
    #[param(value_type = Option<crate::ranges::RecoLimitRange>, inline)]
    pub limit: Option<i64>,
}

/// Who wants to go to a venue: friends, friends of friends and new people. Those not open to
/// invites are left out, and so are interests whose exact `preferred_time` has passed (one with
/// only a part of the day stays); the totals count what is left. Left out or not, an interest
/// still shapes its user's own recommendations.
#[utoipa::path(get, path = "/venues/{venue_id}/interested", tag = "recommendations",
    params(("venue_id" = Uuid, Path, description = "The venue"), InterestedQuery),
    responses(
        (status = 200, description = "Interested people by relation", body = InterestedInVenue),
        (status = 404, description = "No such venue or viewer", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
pub async fn interested_in_venue(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<InterestedQuery>,
) -> ApiResult<AppJson<InterestedInVenue>> {
    let mut c = Checker::new();
    let limit = super::check_limit(&mut c, Some(q.limit.unwrap_or(INTERESTED_LIMIT as i64)));
    c.finish(())?;
    Ok(AppJson(app.interested_in_venue(venue_id, q.viewer, limit).await?))
}

/// A live location. Unknown fields are refused, as in the interactions body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    #[schema(value_type = domain::limits::LatRange, inline)]
    pub lat: f64,
    #[schema(value_type = domain::limits::LngRange, inline)]
    pub lng: f64,
}

/// Set a user's live location (recommendations start from it while it is fresh).
#[utoipa::path(put, path = "/users/{user_id}/location", tag = "recommendations", request_body = LocationInput,
    params(("user_id" = Uuid, Path, description = "The user")),
    responses(
        (status = 204, description = "Updated"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Invalid coordinates", body = ErrorBody),
    ))]
pub async fn update_location(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppJson(body): AppJson<LocationInput>,
) -> ApiResult<StatusCode> {
    app.update_location(user_id, body.lat, body.lng).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reco::context::MealTime;

    #[test]
    fn every_meal_time_the_context_shows_is_taken_as_the_part_of_the_day_of_its_hours() {
        for hour in 0..24 {
            let shown = serde_json::to_value(MealTime::from_hour(hour)).expect("a name");
            let name: TimeSlotName = serde_json::from_value(shown.clone()).expect("taken");
            assert_eq!(TimeOfDay::from(name), TimeOfDay::from_hour(hour), "{shown} at {hour}:00");
            let part = serde_json::to_value(TimeOfDay::from_hour(hour)).expect("a name");
            assert_eq!(
                TimeOfDay::from(serde_json::from_value::<TimeSlotName>(part).expect("taken")),
                TimeOfDay::from_hour(hour)
            );
        }
    }
}
