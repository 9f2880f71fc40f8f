//! The seam between the backend-neutral store logic (`ops`) and each driver. A statement is
//! SQL text with `$n` placeholders plus its bind values ([`Sql`], [`Arg`]); each backend's
//! connection implements [`Conn`] to run one, binding every value the way its database wants it
//! (on SQLite: UUIDs as 16-byte BLOBs, timestamps as fixed-width RFC 3339 TEXT, JSON as TEXT; on
//! PostgreSQL: `uuid`, `timestamptz`, `jsonb`). Rows come back through `FromRow` structs that
//! decode on both backends. Everything above this module is written once.

use std::future::Future;

use chrono::SubsecRound;
use domain::{Payload, Timestamp};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow, SqlSafeStr, SqlStr};
use uuid::Uuid;

use crate::{Backend, StoreError, StoreResult};

/// One bind value. Each variant carries an `Option` so a `NULL` keeps its SQL type (PostgreSQL
/// needs the type of every parameter, even a null one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    SmallInt(Option<i16>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Time(Option<Timestamp>),
    Json(Option<Payload>),
}

impl Arg {
    /// A JSON value (a list, a map, an event payload).
    pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> StoreResult<Self> {
        Payload::of(value).map(|v| Self::Json(Some(v))).map_err(|e| StoreError::Internal(e.to_string()))
    }

    /// An optional JSON value; `None` binds SQL `NULL`.
    pub(crate) fn opt_json<T: Serialize>(value: Option<&T>) -> StoreResult<Self> {
        match value {
            Some(v) => Self::json(v),
            None => Ok(Self::Json(None)),
        }
    }
}

macro_rules! arg_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                Arg::$variant(Some(v.into()))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Self {
                Arg::$variant(v.map(Into::into))
            }
        }
    )*};
}

arg_from!(Uuid => Uuid, String => Text, &str => Text, i16 => SmallInt, i32 => Int, i64 => BigInt, f64 => Float,
    bool => Bool, Timestamp => Time);

/// A statement ready to run: SQL text and its bind values, in `$n` order.
#[derive(Debug)]
pub(crate) struct Sql {
    pub(crate) text: SqlStr,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    /// A static statement; bind its values in placeholder order with [`Sql::bind`].
    pub(crate) fn new(text: &'static str) -> Self {
        Self { text: text.into_sql_str(), args: Vec::new() }
    }

    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }
}

/// Builds dynamic SQL (optional filters, partial updates, multi-row inserts): text is pushed
/// verbatim and every value becomes the next `$n` placeholder, so no value is ever spliced into
/// the text.
#[derive(Debug, Default)]
pub(crate) struct SqlBuilder {
    text: String,
    args: Vec<Arg>,
    has_where: bool,
}

impl SqlBuilder {
    pub(crate) fn new(head: &str) -> Self {
        Self { text: head.to_string(), args: Vec::new(), has_where: false }
    }

    /// Starts the next filter condition: ` WHERE ` the first time, ` AND ` after that.
    pub(crate) fn and(&mut self) -> &mut Self {
        self.text.push_str(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self
    }

    /// Appends SQL text (never user input).
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        let p = self.param(value);
        self.text.push_str(&p);
        self
    }

    /// Registers `value` and returns its placeholder, for a value used more than once.
    pub(crate) fn param(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    pub(crate) fn finish(self) -> Sql {
        Sql { text: AssertSqlSafe(self.text).into_sql_str(), args: self.args }
    }
}

/// A row struct that decodes from both backends' rows (every `#[derive(FromRow)]` struct whose
/// fields have types both drivers know).
pub(crate) trait FromDbRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl<T> FromDbRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// An index a bulk load drops, to rebuild it by sorting once the rows are in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeferrableIndex {
    pub(crate) name: &'static str,
    /// `CREATE [UNIQUE] INDEX IF NOT EXISTS ...`
    pub(crate) create: &'static str,
    /// For a unique index: deletes the later copies of duplicate keys, which nothing stopped
    /// while the index was gone, so the index can be built.
    pub(crate) dedupe: Option<&'static str>,
}

/// Statements around the rebuild of the deferred indexes: `before` tunes the connection for
/// big sorts, `after` puts back its everyday settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexBuild {
    pub(crate) before: &'static [&'static str],
    pub(crate) after: &'static [&'static str],
}

/// A database connection the store logic can run statements on (a pooled connection or an
/// open transaction, through `DerefMut`).
pub(crate) trait Conn: Send {
    /// Which database this is.
    const BACKEND: Backend;
    /// How a write transaction starts (`BEGIN IMMEDIATE` on SQLite takes the write lock up
    /// front, so a transaction never fails half-way with `SQLITE_BUSY` when it starts writing).
    const BEGIN_WRITE: &'static str;
    /// How a data reset's transaction starts: as a write's, but on PostgreSQL without the
    /// shared hold of the reset gate that `BEGIN_WRITE` takes (the reset takes it exclusively).
    const BEGIN_RESET: &'static str;
    /// Appended to a `SELECT` of one row to lock it until the transaction ends: ` FOR UPDATE`
    /// on PostgreSQL; nothing on SQLite, where a write transaction (`BEGIN IMMEDIATE`) already
    /// holds the one write lock of the database.
    const FOR_UPDATE: &'static str;
    /// Appended to a `SELECT` of a row that a write is about to reference: ` FOR KEY SHARE` on
    /// PostgreSQL (as its foreign-key check takes), so a concurrent `FOR UPDATE` of the row, such
    /// as a venue's deletion, waits for this write or this write for it, and the row is read as
    /// that one committed it; nothing on SQLite, which runs one write transaction at a time.
    const FOR_KEY_SHARE: &'static str;
    /// Appended to a `SELECT` of rows a background sweep moves: ` FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL, so two servers sweeping at once each lock and move their own rows and never
    /// wait for or repeat the other's; nothing on SQLite (one write transaction at a time).
    const FOR_UPDATE_SKIP_LOCKED: &'static str;
    /// The most bind values one statement may carry.
    const MAX_BINDS: usize;
    /// How long a write transaction may wait for a write lock held by another process, counted
    /// from when it asked for the write connection: SQLite's busy timeout. `None` on PostgreSQL,
    /// whose waits are for rows and tables and bounded by its own settings.
    const WRITE_LOCK_WAIT: Option<std::time::Duration>;
    /// Indexes a bulk load may drop and rebuild afterwards. They must match the migrations (a
    /// test checks that a drop and rebuild restores the schema exactly).
    const DEFERRABLE_INDEXES: &'static [DeferrableIndex];
    /// One row when the index named `$1` exists (read without locking any table).
    const INDEX_EXISTS: &'static str;
    /// Statements run outside any transaction once a bulk load has committed: fresh planner
    /// statistics, and on SQLite a checkpoint that folds the write-ahead log (gigabytes after a
    /// large seed) back into the database file and truncates it.
    const AFTER_BULK_LOAD: &'static [&'static str];
    /// Settings for rebuilding the deferred indexes, and the ones to restore after (both run
    /// even when a rebuild fails).
    const INDEX_BUILD: IndexBuild;

    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: Sql) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Runs a query and decodes every row.
    fn fetch_all<R: FromDbRow>(&mut self, sql: Sql) -> impl Future<Output = Result<Vec<R>, sqlx::Error>> + Send;

    /// Runs a query and decodes the first row, if any.
    fn fetch_optional<R: FromDbRow>(&mut self, sql: Sql)
    -> impl Future<Output = Result<Option<R>, sqlx::Error>> + Send;

    /// Applies this backend's pending migrations.
    fn migrate(&mut self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets how long this connection's next statements wait for a lock held by another process
    /// (SQLite's `busy_timeout`; nothing on PostgreSQL). See [`Conn::WRITE_LOCK_WAIT`].
    fn set_lock_wait(&mut self, wait: std::time::Duration) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// The current time, truncated to microseconds: both databases keep microseconds, so what a
/// write returns equals what a later read returns.
pub(crate) fn now() -> Timestamp {
    chrono::Utc::now().trunc_subsecs(6)
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a `LIKE ... ESCAPE '\'`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn the_builder_numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind(1_i64).push(" AND b = ");
        let p = b.param("x");
        b.push(&p).push(" OR c = ").push(&p);
        let sql = b.finish();
        assert_eq!(sql.text.as_str(), "SELECT 1 WHERE a = $1 AND b = $2 OR c = $2");
        assert_eq!(sql.args, vec![Arg::BigInt(Some(1)), Arg::Text(Some("x".into()))]);
    }
}
