//! `/users`: the second seed document's `GET/POST /users/` and `GET /users/{user_id}`, plus
//! update, delete and preferences. Served at the root and under `/api/v1` (see `lib.rs`).
//! Who may call what is in `auth::rules`; profiles read by others lose their private fields
//! here ([`shown_to`]).

use axum::Extension;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use domain::user::{PreferencesInput, UserInput, UserPatchInput};
use domain::{Persona, User, UserPreferences};
use serde::Deserialize;
use store::UserQuery;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::rate_limit::PasswordGate;
use crate::respond::{Created, Paginated, page_request};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(get_preferences, put_preferences))
}

/// Filters and paging of `GET /users/`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Only handles starting with this prefix (case-insensitive).
    pub handle: Option<String>,
    /// Only users with this persona.
    pub persona: Option<Persona>,
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

/// List users in creation order.
#[utoipa::path(get, path = "/users", tag = "users", params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users; the next page is in the `Link` header", body = Vec<User>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 422, description = "A bad query parameter", body = ErrorBody),
    ))]
async fn list_users(
    State(app): State<App>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    AppQuery(q): AppQuery<ListUsersQuery>,
) -> ApiResult<Paginated<User>> {
    let page = page_request(q.limit, q.after, q.skip)?;
    let mut users = app.list_users(UserQuery { handle_prefix: q.handle, persona: q.persona }, page).await?;
    users.items = users.items.into_iter().map(|u| shown_to(caller, u)).collect();
    Ok(Paginated::new(users, &uri, page.limit))
}

/// Create a user (the seed's body: handle, name, age, home_lat, home_lng; the rest optional).
/// `persona`, `activity_score` and `social_score` are the system's: only the admin may give them.
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserInput,
    responses(
        (status = 201, description = "Created; `Location` names the new user", body = User,
            headers(("location" = String, description = "Path of the new user"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "A system-owned field (`persona`, `activity_score`, `social_score`) without a credential, even one whose value would not parse; the message names it", body = ErrorBody),
        (status = 403, description = "A system-owned field (`persona`, `activity_score`, `social_score`) from a caller other than the admin, even one whose value would not parse; the message names it", body = ErrorBody),
        (status = 409, description = "Handle or email already taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many sign-ups with a `password` from this IP: the password routes' bucket (`rate_limit.password_per_second`, `password_burst`; 5/s, burst 10 by default), with `Retry-After`; a sign-up without one hashes nothing and does not use it", body = ErrorBody),
    ))]
async fn create_user(
    State(app): State<App>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    gate: Option<Extension<PasswordGate>>,
    body: Result<AppJson<UserInput>, ApiError>,
) -> ApiResult<Created<User>> {
    let input = credential_before_value(caller, body)?;
    only_the_admin_sets(caller, &input.system_owned_fields())?;
    // Only a password is hashed (costly by design): only a sign-up with one uses the bucket.
    if let (Some(_), Some(Extension(gate))) = (&input.password, gate) {
        gate.admit()?;
    }
    let user = app.create_user(input).await?;
    Ok(Created::under(&uri, user.id, user))
}

/// Get one user.
#[utoipa::path(get, path = "/users/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn get_user(State(app): State<App>, caller: Caller, AppPath(user_id): AppPath<Uuid>) -> ApiResult<AppJson<User>> {
    Ok(AppJson(shown_to(caller, app.get_user(user_id).await?)))
}

/// The user as `caller` may see them: email and home location only for the user themself and
/// the admin.
pub fn shown_to(caller: Caller, mut user: User) -> User {
    if !caller.sees_private_fields_of(user.id) {
        user.email = None;
        user.home_lat = None;
        user.home_lng = None;
    }
    user
}

/// The body, or why it was refused. A system-owned field whose value does not parse (an unknown
/// `persona`, a score that is not a number) is refused for the caller's missing credential or
/// right first, as a well-formed one is: a 401 or 403 naming it, not a 422 judging a value the
/// caller may not give at all. The admin gets the 422.
fn credential_before_value<T>(caller: Caller, body: Result<AppJson<T>, ApiError>) -> ApiResult<T> {
    match body {
        Ok(AppJson(input)) => Ok(input),
        Err(ApiError::Validation(fields)) => {
            let owned: Vec<&str> = domain::user::SYSTEM_OWNED_FIELDS
                .into_iter()
                .filter(|owned| fields.iter().any(|f| f.field == *owned))
                .collect();
            only_the_admin_sets(caller, &owned)?;
            Err(ApiError::Validation(fields))
        }
        Err(e) => Err(e),
    }
}

/// Refuses a body giving a system-owned field (`domain::user::SYSTEM_OWNED_FIELDS`: the
/// simulator's persona, the scores the recommender trusts) unless the admin sends it, naming
/// the fields: a 403 with a user's token, a 401 without a credential (`--dev` included), as
/// [`Caller::admin`] answers.
fn only_the_admin_sets(caller: Caller, fields: &[&str]) -> ApiResult<()> {
    let Some(first) = fields.first() else { return Ok(()) };
    let names = fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
    let message = format!(
        "{names} {} set by the system (seeding, the simulator) or the admin, not by users: leave {} out",
        if fields.len() == 1 { "is" } else { "are" },
        if fields.len() == 1 { first } else { "them" },
    );
    caller.admin().map_err(|e| match e {
        ApiError::Unauthorized(_) => ApiError::Unauthorized(message),
        _ => ApiError::Forbidden(message),
    })
}

/// Update some fields of a user; `null` clears an optional field. `persona`, `activity_score`
/// and `social_score` are the system's: only the admin may set them.
#[utoipa::path(patch, path = "/users/{user_id}", tag = "users", request_body = UserPatchInput,
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Another user's profile, or a system-owned field (`persona`, `activity_score`, `social_score`) from a caller other than the admin, even one whose value would not parse (the message names it; nothing is changed)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Handle or email already taken", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_user(
    State(app): State<App>,
    caller: Caller,
    AppPath(user_id): AppPath<Uuid>,
    body: Result<AppJson<UserPatchInput>, ApiError>,
) -> ApiResult<AppJson<User>> {
    let input = credential_before_value(caller, body)?;
    only_the_admin_sets(caller, &input.system_owned_fields())?;
    Ok(AppJson(app.update_user(user_id, input).await?))
}

/// Delete a user and everything that hangs off it. First, each with its event: the upcoming
/// bookings they made are cancelled (their group members are told), the plans they are
/// organising are cancelled and their invitations to others' plans being organised declined.
/// While a table they booked is in use (its time has come and not ended), the deletion is
/// refused with a 409 that says when it ends.
#[utoipa::path(delete, path = "/users/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "A table they booked is in use now, or a plan they accepted is being booked \
            through an outside provider (try again in a moment)", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn delete_user(State(app): State<App>, AppPath(user_id): AppPath<Uuid>) -> ApiResult<StatusCode> {
    app.delete_user(user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get a user's preferences (the defaults when none were set).
#[utoipa::path(get, path = "/users/{user_id}/preferences", tag = "users",
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The preferences", body = UserPreferences),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn get_preferences(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
) -> ApiResult<AppJson<UserPreferences>> {
    Ok(AppJson(app.get_preferences(user_id).await?))
}

/// Replace a user's preferences; omitted fields take their defaults.
#[utoipa::path(put, path = "/users/{user_id}/preferences", tag = "users", request_body = PreferencesInput,
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The stored preferences", body = UserPreferences),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn put_preferences(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppJson(input): AppJson<PreferencesInput>,
) -> ApiResult<AppJson<UserPreferences>> {
    Ok(AppJson(app.put_preferences(user_id, input).await?))
}
