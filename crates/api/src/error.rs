//! The API's one error type. Every failure a client sees is `{"error": {"code", "message",
//! "details"}}` with a stable snake_case `code`; `details` lists the bad fields of a 400/409/422,
//! holds the request and its alternatives for a 409 `slot_full`, and is `null` otherwise. Server errors are logged with their cause and never shown.
//! [`json_errors`] rewrites the plain-text or empty error responses of layers outside our
//! handlers (405, body limit, timeout, panics) into the same shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Well-formed input that breaks a rule (422): which fields and why.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// A body that is not JSON at all (400).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A request we cannot read for another reason (400).
    #[error("{0}")]
    BadRequest(String),
    /// No JSON content type on a JSON route (415).
    #[error("expected a request with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// A body sent with a `Content-Encoding` (such as gzip), which no route decodes (415): the
    /// message names it.
    #[error("{0}")]
    UnsupportedEncoding(String),
    /// A body over the size limit (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// No credential, or an invalid or expired one (401, with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthorized(String),
    /// A valid credential that may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (404): an unknown id or route.
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not for this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Conflicts with what is stored, such as a taken handle (409).
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    /// The first request with this Idempotency-Key is still in flight (409 `conflict` on
    /// `idempotency_key`, with `Retry-After: retry_after_secs`, 1 to 5).
    #[error("{message}")]
    KeyInFlight { message: String, retry_after_secs: u64 },
    /// The venue has no room for the party then (409), with alternatives in `details`.
    #[error("the venue has no room for a party of {} then", .0.requested.party_size)]
    SlotFull(Box<app::booking::NoRoom>),
    /// The client sent too many requests (429); `Retry-After` says when to try again.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A user holds as many open event streams as one user may (429, `Retry-After:`
    /// [`STREAM_RETRY_AFTER_SECS`]); the message says how many. One must end before another
    /// opens.
    #[error("{0}")]
    TooManyStreams(String),
    /// The request took longer than the server allows (408).
    #[error("the request took too long")]
    Timeout,
    /// Another operation holds what this request needs, such as a data reset behind a long
    /// import (503, `Retry-After: 5`); the message says what and is shown.
    #[error("{0}")]
    Busy(String),
    /// A dependency is down (503); the cause is logged, not shown.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be reached (503 `database_unavailable`, `Retry-After: 2`): answered
    /// within about a second of asking, not after the connection pool's wait. The cause is
    /// logged, not shown.
    #[error("database unreachable: {0}")]
    DatabaseUnavailable(String),
    /// Like [`Self::DatabaseUnavailable`], but the database stopped answering after the change
    /// was sent to be committed: the message says it may or may not have been saved (the same
    /// 503 `database_unavailable`, `Retry-After: 2`). The cause is logged, not shown.
    #[error("database unreachable while committing, outcome unknown: {0}")]
    DatabaseOutcomeUnknown(String),
    /// A bug (500); the cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The `Retry-After` of a 429 `too_many_streams`: a place is freed as soon as one of the user's
/// streams ends (closed by the app, its token expired), which the server cannot foresee; a few
/// seconds lets an app that reconnects in a loop (a reload, a second tab) wait without hammering.
pub const STREAM_RETRY_AFTER_SECS: u64 = 5;

/// The `Retry-After` of a 503 `service_unavailable` for a dependency down (such as the event
/// bus), and of any other 503 that does not give its own.
const UNAVAILABLE_RETRY_AFTER: &str = "1";

/// The message of a 503 `database_unavailable` for a change whose commit got no answer: the
/// database may have saved it (it received the commit) or not, and only reading it back tells.
pub const OUTCOME_UNKNOWN: &str = "the database stopped answering while this change was being saved: it may or may not \
     have been saved; read it back in a few seconds before sending it again (a booking request may be retried with \
     the same Idempotency-Key: it replays the booking if it was saved; until the key is freed, it may answer 409 \
     conflict on `idempotency_key` with Retry-After, whose message says how long that can last)";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `validation_failed`, `malformed_json`, `not_found`, `conflict`...
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// The fields at fault for validation errors and conflicts; the request and its
    /// alternatives for `slot_full`; otherwise `null`.
    pub details: Option<ErrorDetails>,
}

/// What `details` holds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// The fields at fault.
    Fields(Vec<FieldError>),
    /// A refused booking: what was asked (`requested`) and `alternatives`.
    SlotFull(Box<app::booking::NoRoom>),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedJson(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType | Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } | Self::KeyInFlight { .. } | Self::SlotFull(_) => StatusCode::CONFLICT,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited { .. } | Self::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy(_) | Self::DatabaseUnavailable(_) | Self::DatabaseOutcomeUnknown(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest(_) => "bad_request",
            Self::UnsupportedMediaType | Self::UnsupportedEncoding(_) => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict { .. } | Self::KeyInFlight { .. } => "conflict",
            Self::SlotFull(_) => "slot_full",
            Self::Timeout => "request_timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyStreams(_) => "too_many_streams",
            Self::Unavailable(_) | Self::Busy(_) => "service_unavailable",
            Self::DatabaseUnavailable(_) | Self::DatabaseOutcomeUnknown(_) => "database_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// A 401 for a request without a credential.
    pub fn unauthorized() -> Self {
        Self::Unauthorized("this needs a token: `Authorization: Bearer <token>`".into())
    }

    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    /// The error a bare status stands for (used to rewrite responses of outer layers).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound("no such resource".into()),
            StatusCode::UNAUTHORIZED => Self::unauthorized(),
            StatusCode::FORBIDDEN => Self::Forbidden("forbidden".into()),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::REQUEST_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(format!("upstream layer answered {status}")),
            s if s.is_client_error() => Self::BadRequest(s.canonical_reason().unwrap_or("bad request").to_lowercase()),
            s => Self::Internal(format!("a layer answered {s}")),
        }
    }

    fn body(&self) -> ErrorBody {
        let (message, details) = match self {
            Self::Validation(fields) => {
                ("the request has invalid fields".to_string(), Some(ErrorDetails::Fields(fields.clone())))
            }
            Self::Conflict { message, field } => {
                let details = field.as_ref().map(|f| vec![FieldError { field: f.clone(), message: message.clone() }]);
                (message.clone(), details.map(ErrorDetails::Fields))
            }
            Self::KeyInFlight { message, .. } => {
                let details = vec![FieldError { field: "idempotency_key".into(), message: message.clone() }];
                (message.clone(), Some(ErrorDetails::Fields(details)))
            }
            Self::SlotFull(no_room) => (self.to_string(), Some(ErrorDetails::SlotFull(no_room.clone()))),
            Self::Unavailable(_) => ("the service is temporarily unavailable, retry later".into(), None),
            Self::DatabaseUnavailable(_) => ("the database cannot be reached; retry in a few seconds".into(), None),
            Self::DatabaseOutcomeUnknown(_) => (OUTCOME_UNKNOWN.into(), None),
            Self::Internal(_) => ("internal server error".into(), None),
            other => (other.to_string(), None),
        };
        ErrorBody { error: ErrorDetail { code: self.code().into(), message, details } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "service unavailable"),
            Self::DatabaseUnavailable(cause) => tracing::warn!(%cause, "database unreachable"),
            Self::DatabaseOutcomeUnknown(cause) => {
                tracing::warn!(%cause, "database unreachable while committing: outcome unknown")
            }
            Self::Busy(why) => tracing::warn!(%why, "busy"),
            _ => {}
        }
        let mut res = (status, Json(self.body())).into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(HeaderValue::from(*retry_after_secs)),
            Self::Unavailable(_) => Some(HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER)),
            Self::DatabaseUnavailable(_) | Self::DatabaseOutcomeUnknown(_) => Some(HeaderValue::from_static("2")),
            Self::Busy(_) => Some(HeaderValue::from_static("5")),
            Self::TooManyStreams(_) => Some(HeaderValue::from(STREAM_RETRY_AFTER_SECS)),
            // An Idempotency-Key whose first request is still in flight: usually answered within
            // seconds, or its hold released sooner; the message says how long it can last at most.
            Self::KeyInFlight { retry_after_secs, .. } => Some(HeaderValue::from(*retry_after_secs)),
            _ => None,
        };
        if let Some(v) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // A refusal replayed for a retry with its `Idempotency-Key` is marked as a replayed
        // booking is (`respond::Replayable`): the slot was not counted again.
        if let Self::SlotFull(no_room) = &self
            && no_room.replayed
        {
            res.headers_mut().insert(crate::respond::REPLAYED, HeaderValue::from_static("true"));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"luna\""));
        }
        res
    }
}

impl From<app::AppError> for ApiError {
    fn from(e: app::AppError) -> Self {
        use app::AppError;
        // Exhaustive on purpose: a new service error must get an HTTP decision here.
        match e {
            AppError::Invalid(v) => Self::Validation(v.0),
            AppError::NotFound { entity, id } if id.is_empty() => Self::NotFound(format!("{entity} not found")),
            AppError::NotFound { entity, id } => Self::NotFound(format!("{entity} {id} not found")),
            AppError::Conflict { message, field } => Self::Conflict { message, field },
            AppError::KeyInFlight { message, retry_after_secs, .. } => Self::KeyInFlight { message, retry_after_secs },
            AppError::NoRoom(no_room) => Self::SlotFull(no_room),
            AppError::Unavailable(m) => Self::Unavailable(m),
            AppError::DatabaseUnreachable(m) => Self::DatabaseUnavailable(m),
            AppError::DatabaseOutcomeUnknown(m) => Self::DatabaseOutcomeUnknown(m),
            AppError::Busy(m) => Self::Busy(m),
            AppError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<domain::ValidationError> for ApiError {
    fn from(e: domain::ValidationError) -> Self {
        Self::Validation(e.0)
    }
}

/// Middleware: gives error responses that did not come from [`ApiError`] (axum's empty 405,
/// tower-http's plain-text 413 and 408, a caught panic) the project's JSON shape, keeping
/// their headers (such as `Allow`).
pub async fn json_errors(mut res: Response) -> Response {
    let status = res.status();
    // Every 503 says when to retry, as the API's own do: also one answered by a handler with
    // its own body (`/health` for a database it cannot reach, which had none).
    if status == StatusCode::SERVICE_UNAVAILABLE && !res.headers().contains_key(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER));
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let fresh = ApiError::from_status(status).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.extend(fresh_parts.headers);
    Response::from_parts(parts, body)
}

/// The handler for paths no route matches.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such resource".into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn body_of(res: Response) -> serde_json::Value {
        let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn server_errors_never_show_their_cause() {
        for e in [
            ApiError::Internal("password=hunter2".into()),
            ApiError::Unavailable("pg at 10.0.0.1 down".into()),
            ApiError::DatabaseUnavailable("cannot connect to 10.0.0.1:5432: password=hunter2".into()),
            ApiError::DatabaseOutcomeUnknown("no connection to 10.0.0.1:5432 within 1.5s: password=hunter2".into()),
        ] {
            let res = e.into_response();
            let body = body_of(res).await.to_string();
            assert!(!body.contains("hunter2") && !body.contains("10.0.0.1"), "{body}");
        }
    }

    #[tokio::test]
    async fn plain_error_responses_of_outer_layers_get_the_json_shape() {
        let router = Router::new()
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }))
            .route("/plain", get(|| async { (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded") }))
            .route("/fine", get(|| async { "ok" }))
            // The server's own timeout, as `service` layers it.
            .layer(axum::middleware::from_fn_with_state(Duration::from_millis(20), crate::request_timeout))
            .layer(axum::middleware::map_response(json_errors));
        for (uri, status, code) in [
            ("/slow", StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ("/plain", StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ] {
            let req = Request::get(uri).body(Body::empty()).unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), status);
            assert_eq!(body_of(res).await["error"]["code"], code);
        }
        let res = router.oneshot(Request::get("/fine").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    /// A 503 a handler answers with its own JSON body (`/health`) gets `Retry-After` as the
    /// API's own 503s have it; one that gives its own keeps it.
    #[tokio::test]
    async fn every_503_says_when_to_retry() {
        let router = Router::new()
            .route(
                "/own",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "degraded"}))) }),
            )
            .route("/busy", get(|| async { ApiError::Busy("an import is running".into()) }))
            .layer(axum::middleware::map_response(json_errors));
        for (uri, retry_after) in [("/own", "1"), ("/busy", "5")] {
            let res = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
                Some(retry_after),
                "{uri}"
            );
        }
    }

    /// A data reset refused behind a long import says so (the store's message), where a
    /// dependency being down says only "temporarily unavailable"; both are 503s.
    #[tokio::test]
    async fn a_busy_answer_shows_why_and_when_to_retry() {
        let why = "a long write (such as an import or a seed) is running; try again when it ends (nothing was deleted)";
        let res = ApiError::from(app::AppError::Busy(why.into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        let body = body_of(res).await;
        assert_eq!(body["error"]["code"], "service_unavailable");
        assert_eq!(body["error"]["message"], why);
    }

    #[test]
    fn conflicts_name_their_field_in_details() {
        let e = ApiError::Conflict { message: "handle is already taken".into(), field: Some("handle".into()) };
        let Some(ErrorDetails::Fields(details)) = e.body().error.details else { panic!("no field details") };
        assert_eq!(details[0].field, "handle");
        assert!(ApiError::NotFound("x".into()).body().error.details.is_none());
    }
}
