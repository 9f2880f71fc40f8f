//! The services' error: what went wrong, in terms a caller can act on.

use domain::ValidationError;
use store::StoreError;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: which fields and why (422).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The thing asked for does not exist (404).
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    /// The first request with this Idempotency-Key, which took it at `since`, is still in
    /// flight (409 on `idempotency_key`, `Retry-After: retry_after_secs`).
    #[error("{message}")]
    KeyInFlight { message: String, since: domain::Timestamp, retry_after_secs: u64 },
    /// The venue has no room for the party then (409), with alternatives.
    #[error("no room for {} at venue {} at {}", .0.requested.party_size, .0.requested.venue_id, .0.requested.booking_time)]
    NoRoom(Box<crate::booking::NoRoom>),
    /// A dependency is down; retry later (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be reached (503, `database_unavailable`); the cause is logged.
    #[error("database unreachable: {0}")]
    DatabaseUnreachable(String),
    /// The database stopped answering after a change was sent to be committed: it may have been
    /// saved or not (503, `database_unavailable`, with a message that says so); cause logged.
    #[error("database unreachable while committing, outcome unknown: {0}")]
    DatabaseOutcomeUnknown(String),
    /// Another operation holds what this one needs (503); the message says so and is shown.
    #[error("{0}")]
    Busy(String),
    /// A bug (500); logged with its cause, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into(), field: None }
    }

    /// Turns a missing row that the request body named into bad input on that body field (422):
    /// a 404 always means the resource the path names is gone, so a client (or a fuzzer following
    /// links) can tell "this URL is dead" from "an id I sent is wrong". `fields` maps an entity to
    /// the body field that names it; other errors, and entities not listed, are kept.
    pub fn in_body(self, fields: &[(&str, &str)]) -> Self {
        match self {
            Self::NotFound { entity, id } => match fields.iter().find(|(e, _)| *e == entity) {
                Some((_, field)) => ValidationError::field(*field, format!("no {entity} has the id {id}")).into(),
                None => Self::NotFound { entity, id },
            },
            other => other,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => Self::NotFound { entity, id },
            StoreError::Conflict { message, field } => Self::Conflict { message, field },
            e @ StoreError::KeyInFlight { since } => Self::KeyInFlight {
                message: e.to_string(),
                since,
                retry_after_secs: crate::booking::KEY_IN_FLIGHT_RETRY_AFTER_SECS,
            },
            StoreError::Invalid(v) => Self::Invalid(v),
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Unreachable(m) => Self::DatabaseUnreachable(m),
            StoreError::OutcomeUnknown(m) => Self::DatabaseOutcomeUnknown(m),
            StoreError::Busy(m) => Self::Busy(m),
            StoreError::Internal(m) => Self::Internal(m),
        }
    }
}

/// [`AppError::in_body`] on a result, for `store.get_user(id).await.in_body(&[("user", "user_id")])?`.
pub trait InBody<T> {
    fn in_body(self, fields: &[(&str, &str)]) -> AppResult<T>;
}

impl<T, E: Into<AppError>> InBody<T> for Result<T, E> {
    fn in_body(self, fields: &[(&str, &str)]) -> AppResult<T> {
        self.map_err(|e| e.into().in_body(fields))
    }
}
