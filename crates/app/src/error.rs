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
    /// The venue has no room for the party then (409), with alternatives.
    #[error("no room for {} at venue {} at {}", .0.requested.party_size, .0.requested.venue_id, .0.requested.booking_time)]
    NoRoom(Box<crate::booking::NoRoom>),
    /// A dependency is down; retry later (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
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
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => Self::NotFound { entity, id },
            StoreError::Conflict { message, field } => Self::Conflict { message, field },
            StoreError::Invalid(v) => Self::Invalid(v),
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Internal(m) => Self::Internal(m),
        }
    }
}
