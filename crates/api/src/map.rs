//! `GET /api/v1/admin/map`: what the dashboard's city map draws, compactly (see
//! [`engine::CityMap`]): every venue with its category and demand, and an even sample of
//! users' homes. Admin data, like the stats.

use axum::extract::State;
use engine::CityMap;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery};

/// Homes sampled when the request does not say.
const DEFAULT_HOMES: usize = 2_000;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(city_map))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// Users' homes to sample, 0 to 20000 (default 2000).
    #[param(value_type = Option<crate::ranges::MapHomesRange>, inline)]
    pub homes: Option<usize>,
}

/// Every alive venue (id, position, category, interactions, bookings, decayed demand) as
/// parallel arrays, and an even sample of users' homes, read from the recommendation engine's
/// live state.
#[utoipa::path(get, path = "/api/v1/admin/map", tag = "admin", params(MapQuery),
    responses(
        (status = 200, description = "The city", body = CityMap),
        (status = 422, description = "`homes` out of range", body = ErrorBody),
    ))]
async fn city_map(State(app): State<App>, AppQuery(q): AppQuery<MapQuery>) -> ApiResult<AppJson<CityMap>> {
    let homes = q.homes.unwrap_or(DEFAULT_HOMES);
    let range = crate::ranges::MAP_HOMES;
    if !range.contains(i64::try_from(homes).unwrap_or(i64::MAX)) {
        return Err(ApiError::field("homes", range.message()));
    }
    // Building the arrays walks every venue: off the async workers for very large cities.
    let map = tokio::task::spawn_blocking(move || app.city_map(homes))
        .await
        .map_err(|e| ApiError::Internal(format!("map task: {e}")))?;
    Ok(AppJson(map))
}
