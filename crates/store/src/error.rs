//! Store errors, normalised once here from sqlx's: callers never see a driver error.
//!
//! The schema names its constraints so this mapping works the same on both backends: unique
//! indexes carry the column (`users_handle_key`), checks are `<table>_<field>_check`. SQLite
//! reports the column or constraint name in its message, PostgreSQL in the error's constraint.

use domain::ValidationError;
use sqlx::error::{DatabaseError, ErrorKind};

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row. `entity` is `user`, `venue`, `friend_request`...
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// A uniqueness or state conflict, such as a taken handle. `field` names the culprit when known.
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    /// An Idempotency-Key whose first request, which took it at `since`, has no answer saved
    /// yet: still running, or left unanswered until its hold is released (see `book`). A 409
    /// on `idempotency_key` for the caller, whose `Retry-After` can follow from `since`.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    KeyInFlight { since: domain::Timestamp },
    /// Input that is well-formed but not acceptable (a constraint the database refused).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database cannot be reached: connections to it fail (refused, reset, no answer), or
    /// the store's reachability probe found so while a request waited for a connection
    /// (PostgreSQL). A 503 `database_unavailable` for the caller, retry in a moment.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// The database stopped answering after a transaction sent its `COMMIT`: it may have been
    /// saved or not, and only reading it back tells. A 503 `database_unavailable` for the
    /// caller that says so (PostgreSQL).
    #[error("database unreachable while committing, outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The database answers but could not serve this now (a lock or serialization conflict, a
    /// deadlock, SQLite's file locked by another process, no pooled connection free within the
    /// pool's wait): a 503 for the caller, retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Another operation holds what this one needs for longer than it waits (a data reset
    /// behind a long import): a 503 for the caller, whose message is safe to show and says when
    /// to retry.
    #[error("{0}")]
    Busy(String),
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

    /// An invalid value of one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::field(field, message))
    }

    /// A stored value the code cannot read back (an enum string it does not know...).
    pub(crate) fn corrupt(what: &str, value: &str) -> Self {
        Self::Internal(format!("unreadable {what} in the database: {value:?}"))
    }
}

/// Columns whose uniqueness is worth naming in a conflict.
const UNIQUE_FIELDS: [&str; 3] = ["handle", "email", "confirmation_code"];

/// Tables, longest first, so a constraint name's table prefix can be stripped.
const TABLES: [&str; 17] = [
    "booking_invitations",
    "user_credentials",
    "idempotency_keys",
    "plan_participants",
    "user_preferences",
    "friend_requests",
    "venue_interests",
    "user_locations",
    "refresh_tokens",
    "server_secrets",
    "interactions",
    "social_edges",
    "bookings",
    "outbox",
    "venues",
    "users",
    "plans",
];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound { entity: "row", id: String::new() },
            sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Self::Unreachable(e.to_string()),
            sqlx::Error::PoolTimedOut => Self::Unavailable(e.to_string()),
            sqlx::Error::Database(db) => from_database_error(db.as_ref()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => match Self::from(inner) {
                Self::Unavailable(m) => Self::Unavailable(m),
                Self::Unreachable(m) => Self::Unreachable(m),
                Self::OutcomeUnknown(m) => Self::OutcomeUnknown(m),
                other => Self::Internal(format!("migration failed: {other}")),
            },
            other => Self::Internal(format!("migration failed: {other}")),
        }
    }
}

fn from_database_error(db: &dyn DatabaseError) -> StoreError {
    let msg = db.message().to_string();
    // The constraint (PostgreSQL) or the message (SQLite: "UNIQUE constraint failed: users.handle").
    let culprit = db.constraint().map_or_else(|| msg.clone(), str::to_string);
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let field = UNIQUE_FIELDS.into_iter().find(|f| culprit.contains(f));
            StoreError::Conflict {
                message: match field {
                    Some(f) => format!("{f} is already taken"),
                    None => "already exists".into(),
                },
                field: field.map(String::from),
            }
        }
        ErrorKind::ForeignKeyViolation => {
            StoreError::NotFound { entity: referenced_entity(&culprit), id: String::new() }
        }
        ErrorKind::CheckViolation => {
            StoreError::invalid(&check_field(&culprit), "refused by a database constraint (out of range or malformed)")
        }
        ErrorKind::NotNullViolation => {
            let field = db.constraint().map_or_else(|| after_colon_column(&msg), str::to_string);
            StoreError::invalid(&field, "must not be null")
        }
        // PostgreSQL's "invalid byte sequence for encoding UTF8: 0x00": a NUL in some text that
        // no check before the store refused (SQLite stores it).
        // (22P05: the same NUL inside JSON text.)
        _ if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
            StoreError::invalid("text", "must not contain the NUL character (U+0000)")
        }
        _ if is_disconnection(db) => StoreError::Unreachable(msg),
        _ if is_transient(db) => StoreError::Unavailable(msg),
        _ => StoreError::Internal(msg),
    }
}

/// Which entity a foreign key points at, from a constraint like `interactions_venue_id_fkey`.
fn referenced_entity(culprit: &str) -> &'static str {
    let name = strip_table(culprit.trim_end_matches("_fkey"));
    match name {
        "user_id" | "other_user_id" | "from_user_id" | "to_user_id" | "organizer_id" | "invitee_id" | "inviter_id" => {
            "user"
        }
        "venue_id" => "venue",
        "plan_id" => "plan",
        _ => "referenced row",
    }
}

/// The field a check constraint guards: `users_age_check` (or SQLite's
/// "CHECK constraint failed: users_age_check") becomes `age`.
fn check_field(culprit: &str) -> String {
    let name = culprit.rsplit(": ").next().unwrap_or(culprit).trim();
    strip_table(name.trim_end_matches("_check")).to_string()
}

fn strip_table(name: &str) -> &str {
    TABLES.iter().find_map(|t| name.strip_prefix(t).and_then(|rest| rest.strip_prefix('_'))).unwrap_or(name)
}

/// The column of SQLite's "NOT NULL constraint failed: users.name".
fn after_colon_column(msg: &str) -> String {
    let tail = msg.rsplit(": ").next().unwrap_or(msg);
    tail.rsplit('.').next().unwrap_or(tail).to_string()
}

/// The server ended or refused the session: PostgreSQL connection exceptions (08xxx), an
/// administrator's or crash shutdown (57P01, 57P02), a server still starting (57P03).
fn is_disconnection(db: &dyn DatabaseError) -> bool {
    let code = db.code().map(|c| c.to_string()).unwrap_or_default();
    matches!(code.as_str(), "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

/// A lock or load problem that a retry may fix: SQLite busy/locked, PostgreSQL too many
/// connections, serialization failures and deadlocks, a lock not granted within `lock_timeout`
/// (55P03). Disconnections are asked first ([`is_disconnection`]).
fn is_transient(db: &dyn DatabaseError) -> bool {
    let code = db.code().map(|c| c.to_string()).unwrap_or_default();
    matches!(code.as_str(), "5" | "6" | "517" | "261" | "40001" | "40P01" | "55P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_constraints_name_their_field() {
        assert_eq!(check_field("users_age_check"), "age");
        assert_eq!(check_field("CHECK constraint failed: user_preferences_price_min_check"), "price_min");
        assert_eq!(check_field("venues_lat_check"), "lat");
    }

    #[test]
    fn foreign_keys_name_the_referenced_entity() {
        assert_eq!(referenced_entity("interactions_venue_id_fkey"), "venue");
        assert_eq!(referenced_entity("social_edges_other_user_id_fkey"), "user");
        assert_eq!(referenced_entity("FOREIGN KEY constraint failed"), "referenced row");
    }

    /// A connection that cannot be made is the database being away (a 503
    /// `database_unavailable` at once); a pool with no connection free in time is only busy.
    #[test]
    fn a_refused_connection_is_unreachable_and_a_busy_pool_is_not() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(StoreError::from(refused), StoreError::Unreachable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::PoolClosed), StoreError::Unreachable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
    }

    #[test]
    fn not_null_messages_name_the_column() {
        assert_eq!(after_colon_column("NOT NULL constraint failed: users.name"), "name");
    }
}
