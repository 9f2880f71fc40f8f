//! The engine's error type: what a query or a model file can get wrong.

use uuid::Uuid;

/// Errors returned by the engine's queries and model I/O.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The user is not in the engine (never created, or deleted).
    #[error("unknown user {0}")]
    UnknownUser(Uuid),
    /// The venue is not in the engine (never created, or deleted).
    #[error("unknown venue {0}")]
    UnknownVenue(Uuid),
    /// A query parameter is out of range, or cannot be used with the others.
    #[error("invalid {field}: {message}")]
    InvalidQuery {
        /// The parameter to change (as the API names it).
        field: &'static str,
        message: String,
    },
    /// A model file could not be read or written.
    #[error("model file: {0}")]
    ModelIo(#[from] std::io::Error),
    /// A model file is not a model.
    #[error("model format: {0}")]
    ModelFormat(String),
}

impl EngineError {
    /// A refused query parameter.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidQuery { field, message: message.into() }
    }
}
