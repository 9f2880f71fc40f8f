//! Admin data endpoints of the first seed document: `POST /api/v1/admin/data/seed` (generate the
//! demo city) and `POST /api/v1/admin/data/reset` (delete all data), and the outbox's dead
//! letters (`dead_letters`). Admin only (`auth::rules`). Seeding over HTTP is capped in size;
//! larger cities are for `luna seed`. A reset, or a seed with `force`, first stops a running
//! simulation (which would otherwise go on acting for users that no longer exist).

mod dead_letters;
mod user_names;

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::seed::{SeedOptions, SeedReport};
use app::sim::Simulator;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, NoOptions};
use crate::ranges::{SEED_USERS, SEED_VENUES};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(seed_data))
        .routes(routes!(reset_data))
        .merge(dead_letters::router())
        .merge(user_names::router())
}

/// Optional body of the seed request; omitted fields take the demo defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    /// Users to generate (default 300); 0 seeds venues alone.
    #[serde(default, deserialize_with = "users_in_range")]
    #[schema(value_type = Option<crate::ranges::SeedUsersRange>, inline)]
    pub users: Option<usize>,
    /// Venues to generate (default 150), at least one: users need somewhere to go, and a seed of
    /// no user and no venue would write nothing (the rule of `luna seed`).
    #[serde(default, deserialize_with = "venues_in_range")]
    #[schema(value_type = Option<crate::ranges::SeedVenuesRange>, inline)]
    pub venues: Option<usize>,
    /// Random seed: the same seed and `as_of` give the same city (default 42).
    pub seed: Option<u64>,
    /// End of the generated history, RFC 3339: interactions lie before it, interests, plans
    /// and their bookings after. Pin it to reproduce a city (default: the server's `demo.as_of`,
    /// else the current hour, so the city is alive now).
    #[schema(example = "2026-11-20T12:00:00Z")]
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Reset a database that already has data first (default false).
    pub force: Option<bool>,
}

/// The first seed document's query parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeedQuery {
    /// Users to generate (the seed document's name for `users`; the body wins if both are given).
    #[param(value_type = Option<crate::ranges::SeedUsersRange>, inline)]
    pub user_count: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeedResponse {
    pub success: bool,
    pub seeded: SeedReport,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetResponse {
    pub success: bool,
    pub message: String,
}

/// `users` and `venues` as sent, naming their ranges when they are no whole number a `usize`
/// holds ([`crate::whole`]).
fn users_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    crate::whole::opt(d, SEED_USERS)
}

fn venues_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    crate::whole::opt(d, SEED_VENUES)
}

fn seed_options(app: &App, body: SeedRequest, query: SeedQuery) -> ApiResult<SeedOptions> {
    let demo = &app.settings.demo;
    let users = body.users.or(query.user_count).unwrap_or(demo.users);
    let venues = body.venues.unwrap_or(demo.venues);
    let mut bad = Vec::new();
    // Each size given is checked, the one the body overrides too: a `user_count` out of its
    // documented range is bad input whether or not it is used (fuzzing: `?user_count=20001`
    // beside a body's `users` seeded).
    let within = |n: usize| SEED_USERS.contains(i64::try_from(n).unwrap_or(i64::MAX));
    let given = [("users", body.users), ("user_count", query.user_count)];
    for (field, n) in given.into_iter().filter_map(|(f, n)| Some((f, n?))) {
        if !within(n) {
            bad.push(domain::FieldError { field: field.into(), message: SEED_USERS.message() });
        }
    }
    if given.iter().all(|(_, n)| n.is_none()) && !within(users) {
        bad.push(domain::FieldError { field: "users".into(), message: SEED_USERS.message() });
    }
    // As `luna seed` has it: venues alone are a city, users with nowhere to go are not, and
    // nothing at all would be a seed that writes nothing.
    if !SEED_VENUES.contains(i64::try_from(venues).unwrap_or(i64::MAX)) {
        let why = match (venues, users) {
            (0, 0) => ": users 0 and venues 0 would seed nothing",
            (0, _) => ": a city with users needs somewhere for them to go",
            _ => "",
        };
        let message = format!("{}{why}", SEED_VENUES.message());
        bad.push(domain::FieldError { field: "venues".into(), message });
        // Both at 0 are the fault together: the users are named too (QA: only `venues` was),
        // once, with the way out.
        if (venues, users) == (0, 0) {
            let field = if body.users.is_some() || query.user_count.is_none() { "users" } else { "user_count" };
            let message = "users 0 and venues 0 would seed nothing: give at least 1 venue (users may stay 0)".into();
            bad.push(domain::FieldError { field: field.into(), message });
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::Validation(bad));
    }
    Ok(SeedOptions {
        users,
        venues,
        seed: body.seed.unwrap_or(demo.seed),
        as_of: body.as_of.or(demo.as_of),
        force: body.force.unwrap_or(false),
        ..demo.clone()
    })
}

/// Generate the demo city. A database that has data is left alone unless `force`.
///
/// With `force`, valid options first stop a running simulation, as `POST
/// /api/v1/simulation/stop` does (`simulation.stopped` is published; its state and metrics stay
/// readable as a stopped run's), then reset and reseed; no simulation can start meanwhile.
/// Options that are refused (422) stop nothing.
#[utoipa::path(post, path = "/api/v1/admin/data/seed", tag = "admin", params(SeedQuery),
    request_body(content = Option<SeedRequest>, description = "Optional; an empty body takes the defaults"),
    responses(
        (status = 200, description = "Seeded", body = SeedResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "The database already has data and `force` was not set", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Sizes out of the ranges the body's `users` and `venues` give (as for \
            `luna seed`), or an `as_of` that is not an RFC 3339 instant from the year 2000 to now", body = ErrorBody),
    ))]
async fn seed_data(
    State(app): State<App>,
    Extension(sim): Extension<Arc<Simulator>>,
    AppQuery(query): AppQuery<SeedQuery>,
    body: Option<AppJson<SeedRequest>>,
) -> ApiResult<AppJson<SeedResponse>> {
    let opts = seed_options(&app, body.map(|b| b.0).unwrap_or_default(), query)?;
    // A task of its own, so a request timeout or a dropped connection cannot stop it half-way.
    let task = tokio::spawn(async move {
        if !opts.force {
            return app.seed_demo(opts).await;
        }
        opts.check(app.now())?;
        sim.while_stopped(app.seed_demo(opts)).await
    });
    let report = task.await.map_err(|e| ApiError::Internal(format!("seeding task: {e}")))??;
    if !report.seeded {
        let message = "the database already has data; send {\"force\": true} to reset and reseed it";
        return Err(ApiError::Conflict { message: message.into(), field: Some("force".into()) });
    }
    Ok(AppJson(SeedResponse { success: true, seeded: report }))
}

/// Delete all data: users, venues and everything hanging off them.
///
/// A running simulation is stopped first, as `POST /api/v1/simulation/stop` does
/// (`simulation.stopped` is published; its state and metrics stay readable as a stopped run's),
/// and no simulation can start until the reset is done. On PostgreSQL a reset waits up to
/// 10 s for writes under way; behind a longer one (an import, a seed) it is refused with a 503
/// that says so, having deleted nothing.
#[utoipa::path(post, path = "/api/v1/admin/data/reset", tag = "admin",
    request_body(content = Option<NoOptions>, description = "Optional; no body, or an empty object. It has no options: \
        any field is refused (422) and nothing is deleted"),
    responses(
        (status = 200, description = "Everything deleted (any running simulation stopped first)", body = ResetResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "A body with a field: a reset takes no options; nothing was deleted", body = ErrorBody),
        (status = 503, description = "A long write (an import, a seed) held the database for 10 s; nothing was deleted \
            (`Retry-After`)", body = ErrorBody),
    ))]
async fn reset_data(
    State(app): State<App>,
    Extension(sim): Extension<Arc<Simulator>>,
    // Read (and refused when it has a field: a `dry_run`, a `keep_users` a client counts on)
    // before anything is deleted.
    _: NoOptions,
) -> ApiResult<AppJson<ResetResponse>> {
    // A task of its own, so a dropped connection cannot leave the reset half-done.
    let task = tokio::spawn(async move { sim.while_stopped(app.reset_data()).await });
    task.await.map_err(|e| ApiError::Internal(format!("reset task: {e}")))??;
    Ok(AppJson(ResetResponse { success: true, message: "Database reset complete".into() }))
}
