//! PostgreSQL: one pool for reads and writes, native types (`uuid`, `timestamptz`, `jsonb`,
//! `double precision`), migrations applied on connect (serialised across processes by the
//! migrator's advisory lock).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
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
        let store = Self::from_pools(pool.clone(), pool).probing_reach();
        store.migrate().await?;
        store.finish_bulk_load().await?;
        Ok(store)
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
        // `run_direct` is sqlx's own way around an "Acquire is not general enough" error that
        // `run(&mut conn)` hits inside a `Send` future.
        Ok(MIGRATOR.run_direct(None, self, false).await?)
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
