//! `POST /api/v1/auth/token` (handle or email and password in, a token pair out) and
//! `POST /api/v1/auth/refresh` (a refresh token in, a new pair out; the old refresh token is
//! used up) and `POST /api/v1/auth/logout` (a refresh token in, its sign-in's refresh tokens
//! revoked; always a 204). A wrong password and an unknown login get the same 401; too many attempts for one
//! login from one address, or from all together, whether it names anyone or not, the same 429
//! (see [`super::LoginThrottle`]).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use super::{Auth, LoginThrottle};
use crate::ClientKey;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::AppJson;
use crate::rate_limit::ClientAddress;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(issue_token)).routes(routes!(refresh_token)).routes(routes!(logout))
}

/// Credentials for a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The user's handle or email (case-insensitive). Also taken under the name `handle`,
    /// `email` or `username`.
    #[serde(alias = "handle", alias = "email", alias = "username")]
    pub login: String,
    #[schema(format = Password)]
    pub password: String,
}

/// A refresh token to use.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Use once at `POST /api/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Whom the tokens are for.
    pub user_id: Uuid,
}

fn pair(auth: &Auth, user_id: Uuid, refresh: app::auth::RefreshToken) -> TokenResponse {
    TokenResponse {
        access_token: auth.signer().issue(user_id, chrono::Utc::now(), auth.ttl()),
        refresh_token: refresh.0,
        token_type: "Bearer".into(),
        expires_in: auth.ttl().num_seconds(),
        user_id,
    }
}

/// Sign in: a handle or email and a password for an access token and a refresh token.
///
/// Limited per IP by the password bucket (`rate_limit.password_per_second`, `password_burst`;
/// 5/s, burst 10 by default) and per login and address: after `rate_limit.login_failures`
/// attempts (10 by default) from one address without a success within
/// `login_failure_window_secs` (300) of the first, that address's attempts for that login get a
/// 429 until the window has passed; after `login_failures_all_addresses` (100) failures from all
/// addresses together, every attempt for it does. Alike whether the login names anyone or not.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "A token pair", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong login or password (the same answer for both)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A missing field", body = ErrorBody),
        (status = 429, description = "Too many attempts from this IP, for this login from this IP, or for this login from all IPs (`rate_limited`, with `Retry-After`)", body = ErrorBody),
    ))]
async fn issue_token(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    Extension(throttle): Extension<LoginThrottle>,
    client: Option<Extension<ClientAddress>>,
    AppJson(input): AppJson<TokenRequest>,
) -> ApiResult<AppJson<TokenResponse>> {
    let client = client.map_or(ClientKey::Unknown, |Extension(ClientAddress(key))| key);
    let attempt = throttle
        .attempt(&input.login, client, std::time::Instant::now())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let user_id = match app.authenticate(&input.login, &input.password).await {
        Ok(Some(user_id)) => user_id,
        Ok(None) => return Err(ApiError::Unauthorized("wrong login or password".into())),
        Err(e) => {
            throttle.not_counted(attempt);
            return Err(e.into());
        }
    };
    throttle.succeeded(attempt);
    let refresh = app.issue_refresh_token(user_id).await?;
    Ok(AppJson(pair(&auth, user_id, refresh)))
}

/// Use a refresh token: it is revoked and a new pair issued. A used, expired or unknown
/// refresh token gets a 401; one used again more than 30 s after its use was copied, and every
/// refresh token of its user is revoked too.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "The refresh token is unknown, expired or already used", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A missing field", body = ErrorBody),
    ))]
async fn refresh_token(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    AppJson(input): AppJson<RefreshRequest>,
) -> ApiResult<AppJson<TokenResponse>> {
    let (user_id, refresh) = app
        .rotate_refresh_token(&input.refresh_token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the refresh token is invalid, expired or already used".into()))?;
    Ok(AppJson(pair(&auth, user_id, refresh)))
}

/// Sign out: the refresh token and every refresh token descended from the same sign-in (its
/// predecessors and any successor) are revoked, so none can be used again; the user's other
/// sessions are not touched. An unknown, malformed, used, revoked or expired refresh token gets
/// the same 204 and changes nothing, so the answer tells nothing of whether it existed. Access
/// tokens are stateless: those already issued stay valid until they expire (15 minutes).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also when the refresh token was unknown, used or revoked: nothing changed)"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A missing field", body = ErrorBody),
    ))]
async fn logout(State(app): State<App>, AppJson(input): AppJson<RefreshRequest>) -> ApiResult<StatusCode> {
    app.sign_out(&input.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
