//! Store errors, normalised once here from sqlx's: callers never see a driver error.

use domain::ValidationError;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row. `entity` is `user`, `venue`, `friend_request`...
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// A uniqueness or state conflict, such as a taken handle. `field` names the culprit when known.
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    /// Input that is well-formed but not acceptable (a constraint the database refused).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database cannot be reached or timed out: a 503 for the caller, retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corruption. Logged, never shown.
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    pub fn conflict(message: impl Into<String>, field: Option<&str>) -> Self {
        Self::Conflict { message: message.into(), field: field.map(String::from) }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound { entity: "row", id: String::new() },
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) => {
                let msg = db.message().to_string();
                if db.is_unique_violation() {
                    let field = ["handle", "email", "confirmation_code"].into_iter().find(|f| msg.contains(f));
                    Self::Conflict {
                        message: match field {
                            Some(f) => format!("{f} is already taken"),
                            None => "already exists".into(),
                        },
                        field: field.map(String::from),
                    }
                } else if db.is_foreign_key_violation() {
                    Self::NotFound { entity: "referenced row", id: String::new() }
                } else if db.is_check_violation() {
                    Self::Invalid(ValidationError::field("body", format!("refused by a database constraint: {msg}")))
                } else {
                    Self::Internal(msg)
                }
            }
            _ => Self::Internal(e.to_string()),
        }
    }
}
