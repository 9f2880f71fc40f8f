//! `/venues`: the second seed document's `GET/POST /venues/` and `GET /venues/{venue_id}`,
//! with search on the list (text, category, price, radius) plus update and delete.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use domain::venue::{VenueInput, VenuePatchInput};
use domain::{Category, Venue};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::{App, VenueSearch};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::respond::{Created, Paginated, page_request};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_venues, create_venue)).routes(routes!(
        get_venue,
        update_venue,
        delete_venue
    ))
}

/// Search filters and paging of `GET /venues/`. Filters combine with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListVenuesQuery {
    /// Text found in the name, description, cuisine or tags (ignoring case in any alphabet; no wildcards).
    pub q: Option<String>,
    pub category: Option<Category>,
    /// Lowest price level, 1 to 4.
    #[param(value_type = Option<domain::limits::PriceLevelRange>, inline)]
    pub price_min: Option<i16>,
    /// Highest price level, 1 to 4.
    #[param(value_type = Option<domain::limits::PriceLevelRange>, inline)]
    pub price_max: Option<i16>,
    /// Centre of a radius search (with `lng` and `radius_km`).
    #[param(value_type = Option<domain::limits::LatRange>, inline)]
    pub lat: Option<f64>,
    #[param(value_type = Option<domain::limits::LngRange>, inline)]
    pub lng: Option<f64>,
    /// Radius in kilometres, above 0 and at most 100.
    #[param(value_type = Option<app::SearchRadiusRange>, inline)]
    pub radius_km: Option<f64>,
    /// Items per page, 1 to 500 (default 50).
    #[param(value_type = Option<domain::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    /// Continue after this id (taken from the `Link` header).
    pub after: Option<Uuid>,
    /// The first seed's offset, taken as `0` only (the first page): lists page by id, so any
    /// other offset is a 422. For the next page, follow the `Link` header (it gives `after`).
    #[param(minimum = 0, maximum = 0)]
    pub skip: Option<u64>,
}

/// List or search venues in creation order.
#[utoipa::path(get, path = "/venues", tag = "venues", params(ListVenuesQuery),
    responses(
        (status = 200, description = "A page of venues; the next page is in the `Link` header", body = Vec<Venue>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 422, description = "A bad query parameter", body = ErrorBody),
    ))]
async fn list_venues(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppQuery(q): AppQuery<ListVenuesQuery>,
) -> ApiResult<Paginated<Venue>> {
    let page = page_request(q.limit, q.after, q.skip)?;
    let search = VenueSearch {
        q: q.q,
        category: q.category,
        price_min: q.price_min,
        price_max: q.price_max,
        lat: q.lat,
        lng: q.lng,
        radius_km: q.radius_km,
    };
    let venues = app.search_venues(search, page).await?;
    Ok(Paginated::new(venues, &uri, page.limit))
}

/// Create a venue (the seed's body: name, description, category, lat, lng, price_level, rating).
#[utoipa::path(post, path = "/venues", tag = "venues", request_body = VenueInput,
    responses(
        (status = 201, description = "Created; `Location` names the new venue", body = Venue,
            headers(("location" = String, description = "Path of the new venue"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_venue(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppJson(input): AppJson<VenueInput>,
) -> ApiResult<Created<Venue>> {
    let venue = app.create_venue(input).await?;
    Ok(Created::under(&uri, venue.id, venue))
}

/// Get one venue.
#[utoipa::path(get, path = "/venues/{venue_id}", tag = "venues",
    params(("venue_id" = Uuid, Path, description = "The venue's id")),
    responses(
        (status = 200, description = "The venue", body = Venue),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn get_venue(State(app): State<App>, AppPath(venue_id): AppPath<Uuid>) -> ApiResult<AppJson<Venue>> {
    Ok(AppJson(app.get_venue(venue_id).await?))
}

/// Update some fields of a venue; `null` clears an optional field.
#[utoipa::path(patch, path = "/venues/{venue_id}", tag = "venues", request_body = VenuePatchInput,
    params(("venue_id" = Uuid, Path, description = "The venue's id")),
    responses(
        (status = 200, description = "The updated venue", body = Venue),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 409, description = "A capacity below the seats booked at the busiest moment ahead, or below the \
            party of a plan being organised there whose time has not come", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_venue(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    AppJson(input): AppJson<VenuePatchInput>,
) -> ApiResult<AppJson<Venue>> {
    Ok(AppJson(app.update_venue(venue_id, input).await?))
}

/// `DELETE /venues/{venue_id}` options.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteVenueQuery {
    /// Cancel the venue's upcoming bookings and the plans being organised there, then delete
    /// it (without it, a venue that has any is not deleted: 409).
    #[serde(default)]
    pub force: bool,
}

/// Delete a venue and its interactions. A venue with upcoming bookings or plans being organised
/// there is kept (409, naming how many) unless `force=true`, which cancels each first: the
/// `booking.status_changed` and `plan.cancelled` events tell the people who made them. The
/// bookings and plans made there stay readable in their people's history; the venue itself is
/// gone (404) and takes no new booking, plan, interest or interaction.
#[utoipa::path(delete, path = "/venues/{venue_id}", tag = "venues",
    params(("venue_id" = Uuid, Path, description = "The venue's id"), DeleteVenueQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 409, description = "Upcoming bookings or plans there, and no `force`", body = ErrorBody),
        (status = 422, description = "Not a UUID, or `force` not a boolean", body = ErrorBody),
    ))]
async fn delete_venue(
    State(app): State<App>,
    AppPath(venue_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<DeleteVenueQuery>,
) -> ApiResult<StatusCode> {
    app.delete_venue(venue_id, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}
