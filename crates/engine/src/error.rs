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
    /// A query parameter is out of range; the message names it.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A model file could not be read or written.
    #[error("model file: {0}")]
    ModelIo(#[from] std::io::Error),
    /// A model file is not a model.
    #[error("model format: {0}")]
    ModelFormat(String),
}
