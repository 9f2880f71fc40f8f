//! Recommendations: the first seed's `/recommendations/...` (venues and people together, one
//! kind, group, interest) under `/api/v1`, the second seed's `/reco/venues` and `/reco/people`
//! (bare lists, `seed2` ranker by default), who is interested in a venue, and live location.

use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::error::Checker;
use domain::{Category, LatLng};
use engine::{PeopleQuery, PersonRecommendation, Ranker, VenueQuery, VenueRecommendation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use crate::docs;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQueries, AppQuery};

mod context;
mod interest;

use context::RecommendationContext;
pub(crate) use interest::GROUP_SIZE;
use interest::{
    __path_express_interest, __path_group_recommendations, __path_interested_in_venue, __path_update_location,
};
use interest::{express_interest, group_recommendations, interested_in_venue, update_location};

/// Routes served under `/api/v1` only.
pub fn router() -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(recommendations))
        .routes(routes!(venue_recommendations))
        .routes(routes!(people_recommendations))
        .routes(routes!(express_interest))
        .routes(routes!(group_recommendations))
        .routes(routes!(interested_in_venue))
        .routes(routes!(update_location));
    docs::describe_parameter(router.get_openapi_mut(), "/recommendations/{user_id}", "limit", BOTH_LIMIT);
    router
}

/// The `limit` of `/recommendations/{user_id}`.
const BOTH_LIMIT: &str = "Results wanted in each list, venues and people, 1 to 100 (default 10).";

/// The second seed's legacy paths, served at the root. Their query types are the `/api/v1`
/// ones, whose `ranker` defaults to `default`: here it is `seed2`, and the document says so.
pub fn legacy_router() -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::new().routes(routes!(legacy_venues)).routes(routes!(legacy_people));
    let doc = router.get_openapi_mut();
    docs::describe_parameter(doc, "/reco/venues/{user_id}", "ranker", SEED2_VENUE_RANKER);
    docs::describe_parameter(doc, "/reco/people/{user_id}", "ranker", SEED2_PEOPLE_RANKER);
    router
}

/// The `ranker` of `/reco/venues/{user_id}`.
const SEED2_VENUE_RANKER: &str = "`seed2` (the default here), `default`, `popularity` or `learned`. `seed2` scores by \
     distance from the user: for a user with no home and no fresh live location, and no `lat` and `lng` given, it is \
     a 422 naming `ranker` (not an empty list).";
/// The `ranker` of `/reco/people/{user_id}`.
const SEED2_PEOPLE_RANKER: &str =
    "`seed2` (the default here) or `default`; `popularity` and `learned` rank people as `default` does.";

const DEFAULT_LIMIT: usize = 10;

/// Checks a `limit` (1 to [`engine::MAX_LIMIT`]) and gives the default when there is none.
/// It is read as a signed number so that `-1` is told the range, as `0` is, rather than that
/// it is not a whole number ≥ 0.
pub(crate) fn check_limit(c: &mut Checker, limit: Option<i64>) -> usize {
    let range = crate::ranges::RECO_LIMIT;
    let limit = limit.unwrap_or(DEFAULT_LIMIT as i64);
    c.whole("limit", limit, range);
    if range.contains(limit) { limit as usize } else { DEFAULT_LIMIT }
}

/// Filters of a venue recommendation.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VenueRecoQuery {
    /// Results wanted, 1 to 100 (default 10).
    #[param(value_type = Option<crate::ranges::RecoLimitRange>, inline)]
    pub limit: Option<i64>,
    /// `seed2`, `default`, `popularity` or `learned` (default `default`). `seed2` scores by
    /// distance from the user: for a user with no home and no fresh live location, and no `lat`
    /// and `lng` given, it is a 422 naming `ranker` (not an empty list).
    pub ranker: Option<Ranker>,
    /// Search from here instead of the live location or home (with `lng`).
    #[param(value_type = Option<domain::limits::LatRange>, inline)]
    pub lat: Option<f64>,
    #[param(value_type = Option<domain::limits::LngRange>, inline)]
    pub lng: Option<f64>,
    /// Only venues within this distance, km: above 0, at most 20000.
    #[param(value_type = Option<crate::ranges::RecoRadiusRange>, inline)]
    pub radius_km: Option<f64>,
    /// When the user wants to go (RFC 3339; default now): it sets the hour and weekday the
    /// venues are ranked for. From now to 366 days ahead (the booking horizon): a time more than
    /// a minute before the server's clock (a client's clock a little behind still means now) or
    /// further ahead is a 422 naming `time`.
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub time: Option<DateTime<Utc>>,
    /// Only venues that can seat this many, 1 to 1000.
    #[param(value_type = Option<domain::limits::PartySizeRange>, inline)]
    pub party_size: Option<u32>,
    pub category: Option<Category>,
    /// Only venues of this price level or above, 1 to 4.
    #[param(value_type = Option<domain::limits::PriceLevelRange>, inline)]
    pub price_min: Option<i16>,
    /// Only venues of this price level or below, 1 to 4 (at least `price_min`).
    #[param(value_type = Option<domain::limits::PriceLevelRange>, inline)]
    pub price_max: Option<i16>,
    /// Only venues open now (`true` not with `open_at`, which names another time).
    pub open_now: Option<bool>,
    /// Only venues open at this instant (RFC 3339; not with `open_now=true`). The same rule as
    /// `time`: from now to 366 days ahead (the booking horizon), a minute behind the server's
    /// clock still counting as now; else a 422 naming `open_at`. Without `time`, the results are
    /// ranked and explained for this instant, as a visit then.
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub open_at: Option<DateTime<Utc>>,
    /// Only venues new to the user: none they have viewed, searched, saved, liked, shown
    /// interest in, visited or booked.
    pub new_only: Option<bool>,
}

impl VenueRecoQuery {
    /// Checks the filters, naming each bad parameter.
    fn into_query(self, user_id: Uuid, default_ranker: Ranker) -> ApiResult<VenueQuery> {
        let mut c = Checker::new();
        let limit = check_limit(&mut c, self.limit);
        let point = match (self.lat, self.lng) {
            (Some(lat), Some(lng)) => c.absorb(LatLng::parse(lat, lng, "lat", "lng")),
            (None, None) => None,
            _ => {
                c.check(false, "lat", "lat and lng go together");
                None
            }
        };
        if let Some(r) = self.radius_km {
            c.real("radius_km", r, crate::ranges::RECO_RADIUS_KM);
        }
        if let Some(p) = self.party_size {
            c.whole("party_size", p, domain::limits::PARTY_SIZE);
        }
        app::check_price_range(&mut c, self.price_min, self.price_max);
        // Two different times: which one the venues must be open at is the client's to say.
        c.check(
            self.open_now != Some(true) || self.open_at.is_none(),
            "open_now",
            "give open_now=true or open_at, not both: open_now=true means now, open_at another time",
        );
        let mut q = c.finish(VenueQuery::new(user_id, limit, self.ranker.unwrap_or(default_ranker)))?;
        q.point = point;
        q.radius_km = self.radius_km;
        q.time = self.time;
        q.party_size = self.party_size;
        q.category = self.category;
        q.price_min = self.price_min;
        q.price_max = self.price_max;
        q.open_at = self.open_at.or(self.open_now.filter(|o| *o).map(|_| Utc::now()));
        q.new_only = self.new_only.unwrap_or(false);
        Ok(q)
    }
}

/// Filters of a people recommendation.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleRecoQuery {
    /// Who would like to go to this venue.
    pub venue_id: Option<Uuid>,
    /// Results wanted, 1 to 100 (default 10).
    #[param(value_type = Option<crate::ranges::RecoLimitRange>, inline)]
    pub limit: Option<i64>,
    /// `default` (the default) or `seed2`; `popularity` and `learned` rank people as `default`
    /// does.
    pub ranker: Option<Ranker>,
}

impl PeopleRecoQuery {
    fn into_query(self, user_id: Uuid, default_ranker: Ranker) -> ApiResult<PeopleQuery> {
        let mut c = Checker::new();
        let limit = check_limit(&mut c, self.limit);
        let ranker = self.ranker.unwrap_or(default_ranker);
        Ok(c.finish(PeopleQuery { user_id, venue_id: self.venue_id, limit, ranker, now: None })?)
    }
}

/// What `/recommendations/{user_id}` takes besides the venue filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludePeopleQuery {
    /// Whether to recommend people too (default true, as in the first seed's code); `false`
    /// answers an empty `people`.
    pub include_people: Option<bool>,
}

/// Venues and people for a user (the first seed's `RecommendationResponse`, Luna's items).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecommendationResponse {
    pub user_id: Uuid,
    pub venues: Vec<VenueRecommendation>,
    pub people: Vec<PersonRecommendation>,
    /// What the answer was computed from: the user's local time, where the search started,
    /// their persona and stated preferences.
    pub context: RecommendationContext,
    /// One sentence per venue, in order.
    pub explanations: Vec<String>,
    #[serde(serialize_with = "domain::time::micros")]
    pub generated_at: DateTime<Utc>,
}

/// `{"user_id": ..., "venues": [...]}`: whom the venues are for, as every recommendation
/// answer of the first seed's paths says.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VenuesResponse {
    pub user_id: Uuid,
    pub venues: Vec<VenueRecommendation>,
}

/// `{"user_id": ..., "people": [...]}`: whom the people are for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeopleResponse {
    pub user_id: Uuid,
    pub people: Vec<PersonRecommendation>,
}

/// Venues and people for a user in one answer: `limit` applies to each list, the venue filters
/// to the venues; people are left out with `include_people=false`.
#[utoipa::path(get, path = "/recommendations/{user_id}", tag = "recommendations",
    params(("user_id" = Uuid, Path, description = "The user"), VenueRecoQuery, IncludePeopleQuery),
    responses(
        (status = 200, description = "Venues and people", body = RecommendationResponse),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter, such as a `time` or `open_at` in the past or more than 366 days ahead (the error names it)", body = ErrorBody),
    ))]
async fn recommendations(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppQueries(q, include): AppQueries<VenueRecoQuery, IncludePeopleQuery>,
) -> ApiResult<AppJson<RecommendationResponse>> {
    let people_query = PeopleRecoQuery { venue_id: None, limit: q.limit, ranker: q.ranker };
    let venue_query = q.into_query(user_id, Ranker::Default)?;
    let people_query = people_query.into_query(user_id, Ranker::Default)?;
    let radius_km = venue_query.radius_km;
    let (venues, context) = app.recommend_venues_in_context(venue_query).await?;
    let context = RecommendationContext::new(context, radius_km);
    let people = match include.include_people {
        Some(false) => Vec::new(),
        _ => app.recommend_people(people_query).await?,
    };
    let explanations = venues.iter().map(|v| v.explanation.clone()).collect();
    Ok(AppJson(RecommendationResponse { user_id, venues, people, context, explanations, generated_at: app.now() }))
}

/// Venues for a user, with context filters and a choice of ranker.
#[utoipa::path(get, path = "/recommendations/{user_id}/venues", tag = "recommendations",
    params(("user_id" = Uuid, Path, description = "The user"), VenueRecoQuery),
    responses(
        (status = 200, description = "Ranked venues", body = VenuesResponse),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter, such as a `time` or `open_at` in the past or more than 366 days ahead (the error names it)", body = ErrorBody),
    ))]
async fn venue_recommendations(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<VenueRecoQuery>,
) -> ApiResult<AppJson<VenuesResponse>> {
    let venues = app.recommend_venues(q.into_query(user_id, Ranker::Default)?).await?;
    Ok(AppJson(VenuesResponse { user_id, venues }))
}

/// People to go out with, optionally for one venue.
#[utoipa::path(get, path = "/recommendations/{user_id}/people", tag = "recommendations",
    params(("user_id" = Uuid, Path, description = "The user"), PeopleRecoQuery),
    responses(
        (status = 200, description = "Ranked people", body = PeopleResponse),
        (status = 404, description = "No such user or venue", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
async fn people_recommendations(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<PeopleRecoQuery>,
) -> ApiResult<AppJson<PeopleResponse>> {
    let people = app.recommend_people(q.into_query(user_id, Ranker::Default)?).await?;
    Ok(AppJson(PeopleResponse { user_id, people }))
}

/// The second seed's venue recommendations: a bare list, `seed2` ranker unless `ranker` is set.
#[utoipa::path(get, path = "/reco/venues/{user_id}", tag = "recommendations",
    params(("user_id" = Uuid, Path, description = "The user"), VenueRecoQuery),
    responses(
        (status = 200, description = "Ranked venues", body = Vec<VenueRecommendation>),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter, such as a `time` or `open_at` in the past or more than 366 days ahead (the error names it)", body = ErrorBody),
    ))]
async fn legacy_venues(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<VenueRecoQuery>,
) -> ApiResult<AppJson<Vec<VenueRecommendation>>> {
    Ok(AppJson(app.recommend_venues(q.into_query(user_id, Ranker::Seed2)?).await?))
}

/// The second seed's people recommendations: a bare list, `seed2` ranker unless `ranker` is set.
#[utoipa::path(get, path = "/reco/people/{user_id}", tag = "recommendations",
    params(("user_id" = Uuid, Path, description = "The user"), PeopleRecoQuery),
    responses(
        (status = 200, description = "Ranked people", body = Vec<PersonRecommendation>),
        (status = 404, description = "No such user or venue", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    ))]
async fn legacy_people(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<PeopleRecoQuery>,
) -> ApiResult<AppJson<Vec<PersonRecommendation>>> {
    Ok(AppJson(app.recommend_people(q.into_query(user_id, Ranker::Seed2)?).await?))
}
