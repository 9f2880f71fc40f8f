//! PostgreSQL: one pool for reads and writes, native types (`uuid`, `timestamptz`, `jsonb`,
//! `double precision`), migrations applied on connect (serialised across processes by an
//! advisory lock of our own, [`MIGRATION_LOCK`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Arguments, Postgres};

use crate::sql::{Arg, Conn, DeferrableIndex, FromDbRow, IndexBuild, Sql};
use crate::store::SqlStore;
use crate::{Backend, Store, StoreError, StoreResult};

/// A store on PostgreSQL.
pub type PostgresStore = SqlStore<Postgres>;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process; several replicas share one server, so keep it modest.
const MAX_CONNECTIONS: u32 = 16;

impl SqlStore<Postgres> {
    /// Connects to the database a `postgres://` URL names and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("database_url", format!("not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // The wait for a busy pool; an unreachable database is answered sooner (`reach`).
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let store = Self::from_pools(pool.clone(), pool.clone()).probing_reach();
        // The migrations and the set-up after them (which builds indexes and analyzes tables)
        // run under one lock, held by this session: another server starting at the same moment
        // waits for all of it, then finds nothing to do.
        let mut conn = pool.acquire().await?;
        lock_migrations(&mut conn).await?;
        let set_up = async {
            (*conn).migrate().await?;
            store.finish_bulk_load().await
        };
        let set_up = set_up.await;
        unlock_migrations(conn).await;
        set_up?;
        Ok(store)
    }
}

/// The advisory lock (per database) held while a process migrates and sets up the schema.
const MIGRATION_LOCK: i64 = 0x4c55_4e41_4d49_4752;

/// How often a process waiting for [`MIGRATION_LOCK`] asks for it again.
const MIGRATION_LOCK_POLL: Duration = Duration::from_millis(25);

/// Takes [`MIGRATION_LOCK`] on this session (once more if it holds it already), asking until it
/// is free rather than queueing in `pg_advisory_lock`: a statement waiting there keeps its
/// snapshot open, and a `CREATE INDEX CONCURRENTLY` migration (0007, 0011) that the holder runs
/// waits for every older snapshot to end, so the two servers deadlocked and one failed to start
/// ("deadlock detected"). Between tries this session holds no snapshot. sqlx's migrator still
/// takes its own lock inside, on the same session; nobody else waits for it then.
async fn lock_migrations(conn: &mut PgConnection) -> StoreResult<()> {
    let mut said = false;
    loop {
        let sql = Sql::new("SELECT pg_try_advisory_lock($1)").bind(MIGRATION_LOCK);
        if let Some((true,)) = conn.fetch_optional::<(bool,)>(sql).await? {
            return Ok(());
        }
        if !said {
            tracing::info!("another process is migrating the database; waiting for it to finish");
            said = true;
        }
        tokio::time::sleep(MIGRATION_LOCK_POLL).await;
    }
}

/// Frees [`MIGRATION_LOCK`] once (its holder may hold it several times). If that fails the
/// connection is closed, which frees the lock with the session, rather than going back to the
/// pool still holding it.
async fn unlock_migrations(mut conn: PoolConnection<Postgres>) {
    let sql = Sql::new("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK);
    if !matches!((*conn).fetch_optional::<(bool,)>(sql).await, Ok(Some((true,)))) {
        tracing::warn!("could not free the migration lock; closing its connection");
        conn.close_on_drop();
    }
}

fn arguments(args: Vec<Arg>) -> Result<PgArguments, sqlx::Error> {
    let mut out = PgArguments::default();
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
            Arg::Time(v) => Arguments::add(&mut out, v),
            Arg::Json(v) => Arguments::add(&mut out, v.map(Json)),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

impl Conn for PgConnection {
    const BACKEND: Backend = Backend::Postgres;
    // Every write transaction holds the reset gate (`bulk::RESET_GATE`) shared until it ends, so
    // a data reset, which takes it exclusively before any table, waits for the writes under way
    // and new ones wait for it: no write holds a table the reset is waiting for.
    const BEGIN_WRITE: &'static str = "BEGIN; SELECT pg_advisory_xact_lock_shared(5500000000000000001)";
    const BEGIN_RESET: &'static str = "BEGIN";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_KEY_SHARE: &'static str = " FOR KEY SHARE";
    const FOR_UPDATE_SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const MAX_BINDS: usize = 65_535;
    const WRITE_LOCK_WAIT: Option<std::time::Duration> = None;
    const AFTER_BULK_LOAD: &'static [&'static str] = &["ANALYZE"];
    const INDEX_BUILD: IndexBuild = IndexBuild { before: &[], after: &[] };
    const INDEX_EXISTS: &'static str =
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1";
    const DEFERRABLE_INDEXES: &'static [DeferrableIndex] = &[
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
        Ok(sqlx::query_with(sql.text, args).execute(self).await?.rows_affected())
    }

    async fn fetch_all<R: FromDbRow>(&mut self, sql: Sql) -> Result<Vec<R>, sqlx::Error> {
        let args = arguments(sql.args)?;
        sqlx::query_as_with::<Postgres, R, _>(sql.text, args).fetch_all(self).await
    }

    async fn fetch_optional<R: FromDbRow>(&mut self, sql: Sql) -> Result<Option<R>, sqlx::Error> {
        let args = arguments(sql.args)?;
        sqlx::query_as_with::<Postgres, R, _>(sql.text, args).fetch_optional(self).await
    }

    async fn migrate(&mut self) -> StoreResult<()> {
        lock_migrations(self).await?;
        // `run_direct` is sqlx's own way around an "Acquire is not general enough" error that
        // `run(&mut conn)` hits inside a `Send` future.
        let migrated = MIGRATOR.run_direct(None, &mut *self, false).await;
        let sql = Sql::new("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK);
        let unlocked = self.fetch_optional::<(bool,)>(sql).await;
        migrated?;
        unlocked?;
        Ok(())
    }

    async fn set_lock_wait(&mut self, _wait: std::time::Duration) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_holds_the_gate_a_reset_takes() {
        let gate = format!("pg_advisory_xact_lock_shared({})", crate::ops::bulk::RESET_GATE);
        assert!(PgConnection::BEGIN_WRITE.ends_with(&gate), "{}", PgConnection::BEGIN_WRITE);
    }
}
