//! SQLite, the embedded default: a file under a data directory (created when missing) in WAL
//! mode with foreign keys on, or `sqlite::memory:` for throw-away stores.
//!
//! Writes go through a pool of one connection, so in-process writers queue fairly on the pool
//! instead of spinning on SQLite's file lock, and every write transaction starts with
//! `BEGIN IMMEDIATE` (it takes the lock up front, so it never fails half-way with
//! `SQLITE_BUSY`); `busy_timeout` covers writers in other processes (5 s from when a write
//! asked for the connection, not from when it got it). Reads use their own pool
//! and, thanks to WAL, never wait for writers. Values are bound as the schema expects: UUIDs as
//! 16-byte BLOBs, timestamps as fixed-width RFC 3339 TEXT (so text order is time order), JSON as
//! TEXT.

use std::str::FromStr;
use std::time::Duration;

use domain::Timestamp;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Arguments, AssertSqlSafe, SqlSafeStr, SqlStr, Sqlite};

use crate::sql::{Arg, Conn, DeferrableIndex, FromDbRow, IndexBuild, Sql};
use crate::store::SqlStore;
use crate::{Backend, Store, StoreError, StoreResult};

/// A store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Read connections of a file database (readers never block each other in WAL mode).
const READERS: u32 = 8;

/// How long a writer waits for another process's write lock before giving up, counted from
/// when it asked for the write connection (time queued behind this server's writers included;
/// see `store::begin_write`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page cache of each read connection, in KiB.
const READ_CACHE_KIB: i64 = 32 * 1024;

/// Page cache of the write connection, in KiB. Big, because a seeding batch dirties a page per
/// row in each index (the keys are random): when those pages fit, each is written once per
/// commit instead of being spilled to the WAL again and again. Pages are only allocated as they
/// are touched, so everyday writes never grow it.
const WRITE_CACHE_KIB: i64 = 1024 * 1024;
/// [`WRITE_CACHE_KIB`] as a statement (a test checks they agree).
const WRITE_CACHE_PRAGMA: &str = "PRAGMA cache_size = -1048576";

impl SqlStore<Sqlite> {
    /// Opens the database a `sqlite:` URL names (`sqlite://./luna-data/luna.db`,
    /// `sqlite::memory:`), creating the file and its folder when missing, and applies pending
    /// migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("database_url", format!("not a SQLite URL: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory");
        let mut migrating = None;
        let store = if is_memory(url) {
            // Every connection to `:memory:` would be its own database: keep exactly one, forever.
            let pool = single_connection().connect_with(options.pragma("cache_size", cache(READ_CACHE_KIB))).await?;
            Self::from_pools(pool.clone(), pool)
        } else {
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create the data directory {}: {e}", dir.display()))
                })?;
            }
            // Taken before the first connection: setting up a new file's journal races too.
            migrating = Some(migration_lock(options.get_filename()).await?);
            let options = options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal);
            let write = options.clone().pragma("cache_size", cache(WRITE_CACHE_KIB)).pragma("threads", "4");
            let write = single_connection().connect_with(write);
            let write = write.await?;
            let read = SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_lazy_with(options.pragma("cache_size", cache(READ_CACHE_KIB)));
            Self::from_pools(read, write)
        };
        store.migrate().await?;
        // Heals a bulk load that was interrupted before it rebuilt its indexes.
        store.finish_bulk_load().await?;
        drop(migrating);
        Ok(store)
    }
}

/// Held while migrations run on a database file (dropping it unlocks). sqlx takes no lock of
/// its own on SQLite, so a second process opening the same new file at the same moment ran the
/// migrations again and failed to start ("already exists"); it now waits for the first and
/// then finds them applied. The lock is the OS's, on a file beside the database, so it is freed
/// with a process that dies holding it.
async fn migration_lock(db: &std::path::Path) -> StoreResult<std::fs::File> {
    let mut name = db.as_os_str().to_owned();
    name.push(".migrate-lock");
    let path = std::path::PathBuf::from(name);
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("cannot lock {}: {e}", path.display()));
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(unavailable)?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(std::fs::TryLockError::Error(e)) => return Err(unavailable(e)),
        }
    }
}

/// A pool that keeps one connection open for its whole life.
fn single_connection() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(60))
}

/// SQLite's `cache_size` value for a size in KiB (negative means KiB, positive pages).
fn cache(kib: i64) -> String {
    (-kib).to_string()
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The fixed-width text form of a timestamp: `2026-11-25T03:48:00.123456Z`.
fn time_text(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The statement text with SQLite's own placeholders. SQLite treats `$n` as a *named*
/// parameter, and both resolving names while preparing and sqlx's per-value
/// `sqlite3_bind_parameter_name` are linear searches, so a multi-row insert with thousands of
/// `$n` values costs seconds. Placeholders used once each in order become anonymous `?` (no
/// names at all); otherwise (a value used twice) they become numbered `?n`.
fn sqlite_placeholders(sql: SqlStr) -> SqlStr {
    let text = sql.as_str();
    if !text.contains('$') {
        return sql;
    }
    let placeholders = placeholder_spans(text);
    let in_order = placeholders.iter().enumerate().all(|(i, &(_, _, n))| n == i + 1);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, _) in placeholders {
        out.push_str(&text[last..start]);
        out.push('?');
        if !in_order {
            out.push_str(&text[start + 1..end]);
        }
        last = end;
    }
    out.push_str(&text[last..]);
    AssertSqlSafe(out).into_sql_str()
}

/// The (start, end, number) of every `$n` outside string literals.
fn placeholder_spans(text: &str) -> Vec<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut in_literal = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_literal = !in_literal,
            b'$' if !in_literal => {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 {
                    let n = text[i + 1..i + 1 + digits].parse().unwrap_or(0);
                    spans.push((i, i + 1 + digits, n));
                    i += digits;
                }
            }
            _ => {}
        }
        i += 1;
    }
    spans
}

fn arguments(args: Vec<Arg>) -> Result<SqliteArguments, sqlx::Error> {
    let mut out = SqliteArguments::default();
    out.reserve(args.len(), 0);
    for arg in args {
        match arg {
            Arg::Uuid(v) => Arguments::add(&mut out, v),
            Arg::Text(v) => Arguments::add(&mut out, v),
            Arg::SmallInt(v) => Arguments::add(&mut out, v),
            Arg::Int(v) => Arguments::add(&mut out, v),
            Arg::BigInt(v) => Arguments::add(&mut out, v),
            Arg::Float(v) => Arguments::add(&mut out, v),
            Arg::Bool(v) => Arguments::add(&mut out, v),
            Arg::Time(v) => Arguments::add(&mut out, v.map(time_text)),
            Arg::Json(v) => Arguments::add(&mut out, v.map(domain::Payload::into_string)),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

impl Conn for SqliteConnection {
    const BACKEND: Backend = Backend::Sqlite;
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const BEGIN_RESET: &'static str = "BEGIN IMMEDIATE";
    const FOR_UPDATE: &'static str = "";
    const FOR_KEY_SHARE: &'static str = "";
    const FOR_UPDATE_SKIP_LOCKED: &'static str = "";
    const MAX_BINDS: usize = 32_766;
    const WRITE_LOCK_WAIT: Option<Duration> = Some(BUSY_TIMEOUT);
    const AFTER_BULK_LOAD: &'static [&'static str] = &["PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"];
    // SQLite's sorter sorts on its worker threads (`threads`) only when its temporary storage
    // is a file, and hands a run to a worker each time the page cache's worth of keys is
    // gathered: with temp files and a 16 MiB cache, building the index of 19M interactions by
    // venue took 12.8 s instead of 50 s on 2 cores. The temp files (about the size of the
    // index) go to SQLite's temp folder (`SQLITE_TMPDIR`, else `TMPDIR`, else /var/tmp).
    const INDEX_BUILD: IndexBuild = IndexBuild {
        before: &["PRAGMA temp_store = FILE", "PRAGMA cache_size = -16384"],
        after: &["PRAGMA temp_store = MEMORY", WRITE_CACHE_PRAGMA],
    };
    const INDEX_EXISTS: &'static str = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = $1";
    const DEFERRABLE_INDEXES: &'static [DeferrableIndex] = &[
        DeferrableIndex {
            name: "interactions_id_key",
            create: "CREATE UNIQUE INDEX IF NOT EXISTS interactions_id_key ON interactions (id)",
            dedupe: Some(
                "DELETE FROM interactions WHERE rowid NOT IN (SELECT min(rowid) FROM interactions GROUP BY id)",
            ),
        },
        DeferrableIndex {
            name: "interactions_user_idx",
            create: "CREATE INDEX IF NOT EXISTS interactions_user_idx ON interactions (user_id, id)",
            dedupe: None,
        },
        DeferrableIndex {
            name: "interactions_venue_idx",
            create: "CREATE INDEX IF NOT EXISTS interactions_venue_idx ON interactions (venue_id)",
            dedupe: None,
        },
        DeferrableIndex {
            name: "social_edges_pair_key",
            create: "CREATE UNIQUE INDEX IF NOT EXISTS social_edges_pair_key ON social_edges (user_id, other_user_id)",
            dedupe: Some(
                "DELETE FROM social_edges WHERE rowid NOT IN \
                 (SELECT min(rowid) FROM social_edges GROUP BY user_id, other_user_id)",
            ),
        },
        DeferrableIndex {
            name: "social_edges_other_idx",
            create: "CREATE INDEX IF NOT EXISTS social_edges_other_idx ON social_edges (other_user_id)",
            dedupe: None,
        },
        DeferrableIndex {
            name: "venue_interests_venue_idx",
            create: "CREATE INDEX IF NOT EXISTS venue_interests_venue_idx ON venue_interests (venue_id, preferred_time)",
            dedupe: None,
        },
        DeferrableIndex {
            name: "users_persona_idx",
            create: "CREATE INDEX IF NOT EXISTS users_persona_idx ON users (persona, id)",
            dedupe: None,
        },
    ];

    async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        let args = arguments(sql.args)?;
        Ok(sqlx::query_with(sqlite_placeholders(sql.text), args).execute(self).await?.rows_affected())
    }

    async fn fetch_all<R: FromDbRow>(&mut self, sql: Sql) -> Result<Vec<R>, sqlx::Error> {
        let args = arguments(sql.args)?;
        sqlx::query_as_with::<Sqlite, R, _>(sqlite_placeholders(sql.text), args).fetch_all(self).await
    }

    async fn fetch_optional<R: FromDbRow>(&mut self, sql: Sql) -> Result<Option<R>, sqlx::Error> {
        let args = arguments(sql.args)?;
        sqlx::query_as_with::<Sqlite, R, _>(sqlite_placeholders(sql.text), args).fetch_optional(self).await
    }

    async fn migrate(&mut self) -> StoreResult<()> {
        // `run_direct` is sqlx's own way around an "Acquire is not general enough" error that
        // `run(&mut conn)` hits inside a `Send` future.
        Ok(MIGRATOR.run_direct(None, self, false).await?)
    }

    async fn set_lock_wait(&mut self, wait: Duration) -> Result<(), sqlx::Error> {
        let pragma = format!("PRAGMA busy_timeout = {}", wait.as_millis());
        Conn::execute(self, Sql { text: AssertSqlSafe(pragma).into_sql_str(), args: Vec::new() }).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_text() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(time_text(t), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn placeholders_in_order_become_anonymous() {
        let sql = sqlite_placeholders("INSERT INTO t VALUES ($1, '$9', $2), ($3, $4)".into_sql_str());
        assert_eq!(sql.as_str(), "INSERT INTO t VALUES (?, '$9', ?), (?, ?)");
    }

    #[test]
    fn reused_placeholders_stay_numbered() {
        let sql = sqlite_placeholders("SELECT 1 WHERE (a = $1 AND b = $2) OR (a = $2 AND b = $1)".into_sql_str());
        assert_eq!(sql.as_str(), "SELECT 1 WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1)");
    }

    /// The indexes of a fresh database: (name, SQL).
    async fn indexes(store: &SqliteStore) -> Vec<(String, String)> {
        let sql =
            Sql::new("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
        let mut conn = store.write.acquire().await.unwrap();
        let rows: Vec<(String, String)> = conn.fetch_all(sql).await.unwrap();
        rows.into_iter().map(|(name, sql)| (name, sql.replace(" IF NOT EXISTS", ""))).collect()
    }

    #[tokio::test]
    async fn a_bulk_load_rebuilds_exactly_the_indexes_of_the_migrations() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let migrated = indexes(&store).await;
        store.begin_bulk_load().await.unwrap();
        let during = indexes(&store).await;
        for index in <SqliteConnection as Conn>::DEFERRABLE_INDEXES {
            assert!(migrated.iter().any(|(name, _)| name == index.name), "{} is not in the migrations", index.name);
            assert!(!during.iter().any(|(name, _)| name == index.name), "{} was not dropped", index.name);
        }
        store.finish_bulk_load().await.unwrap();
        assert_eq!(indexes(&store).await, migrated);
    }

    /// The plan SQLite makes for `sql`: one `detail` line a step.
    async fn plan(store: &SqliteStore, sql: Sql) -> Vec<String> {
        let text = AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", sql.text.as_str())).into_sql_str();
        let mut conn = store.write.acquire().await.unwrap();
        let rows: Vec<(i64, i64, i64, String)> = conn.fetch_all(Sql { text, args: sql.args }).await.unwrap();
        rows.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    #[tokio::test]
    async fn the_dead_letter_listing_count_and_redrive_read_the_index_of_dead_rows() {
        use crate::ops::{bulk, outbox};
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let first = domain::PageRequest { limit: 50, after: None };
        let next = domain::PageRequest { limit: 50, after: Some(uuid::Uuid::now_v7()) };
        let dead = "outbox USING INDEX outbox_dead_idx";
        // In id order from the index, so no sort; the next page starts within it.
        assert_eq!(plan(&store, outbox::dead_letters_sql(first)).await, [format!("SCAN {dead}")]);
        assert_eq!(plan(&store, outbox::dead_letters_sql(next)).await, [format!("SEARCH {dead} (id>?)")]);
        assert_eq!(plan(&store, Sql::new(outbox::REDRIVE)).await, [format!("SCAN {dead}")]);
        let counts = plan(&store, Sql::new(bulk::COUNTS)).await;
        assert!(counts.contains(&format!("SCAN {dead}")), "{counts:?}");
        assert!(!counts.contains(&"SCAN outbox".to_string()), "{counts:?}");
    }

    /// Two servers started at the same moment on one new database file (review of migration
    /// 0012: the second exited with "migration failed: already exists").
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_one_new_file_at_once_both_start_and_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..3 {
            let url = format!("sqlite://{}", dir.path().join(format!("race{round}.db")).display());
            let opened = futures::future::join_all((0..4).map(|_| SqliteStore::connect(&url))).await;
            for store in &opened {
                assert!(store.is_ok(), "round {round}: {:?}", store.as_ref().err());
            }
            let store = opened.into_iter().next().unwrap().unwrap();
            let mut conn = store.write.acquire().await.unwrap();
            let sql = Sql::new("SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations");
            let counted: Vec<(i64, i64)> = conn.fetch_all(sql).await.unwrap();
            let (rows, versions) = counted[0];
            assert_eq!((rows, versions), (MIGRATOR.iter().count() as i64, rows), "each migration once");
        }
    }

    #[test]
    fn the_write_cache_is_restored_to_its_size_after_an_index_build() {
        assert_eq!(WRITE_CACHE_PRAGMA, format!("PRAGMA cache_size = {}", cache(WRITE_CACHE_KIB)));
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_memory("sqlite::memory:"));
        assert!(!is_memory("sqlite://./luna-data/luna.db"));
    }
}
