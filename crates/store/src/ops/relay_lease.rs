//! The relay lease: at most one outbox relay publishes at a time, across every process that
//! shares the database, so events reach the bus in one order and normally once. On PostgreSQL
//! the lease is a session advisory lock (`pg_try_advisory_lock`) held on a pooled connection
//! for one relay pass; releasing unlocks it and returns the connection. A lease dropped without
//! release (a cancelled task) closes its connection instead, which ends the session and frees
//! the lock, so a crash or cancellation never leaves it stuck. SQLite serves one process, whose
//! single relay always gets the lease.

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

use crate::sql::{Conn, Sql};
use crate::{Backend, RelayLease, StoreResult};

/// The advisory lock key ("LUNARELY"); the same in every Luna process.
const RELAY_LOCK: i64 = 0x4c55_4e41_5245_4c59;

/// What a [`RelayLease`] holds.
#[async_trait]
pub(crate) trait Held: Send {
    async fn release(self: Box<Self>);
}

/// Takes the lease if no other relay holds it.
pub(crate) async fn acquire<DB>(pool: &Pool<DB>) -> StoreResult<Option<RelayLease>>
where
    DB: Database<Connection: Conn>,
{
    if <DB::Connection as Conn>::BACKEND == Backend::Sqlite {
        return Ok(Some(RelayLease(Box::new(SingleProcess))));
    }
    let mut conn = pool.acquire().await?;
    let sql = Sql::new("SELECT pg_try_advisory_lock($1)").bind(RELAY_LOCK);
    let locked: Option<(bool,)> = (*conn).fetch_optional(sql).await?;
    if !matches!(locked, Some((true,))) {
        // Not ours: the connection holds no lock and goes back to the pool (a waiting relay
        // asks every few milliseconds; closing it would open a session each time).
        return Ok(None);
    }
    Ok(Some(RelayLease(Box::new(AdvisoryLock::<DB> { conn: Some(conn) }))))
}

struct SingleProcess;

#[async_trait]
impl Held for SingleProcess {
    async fn release(self: Box<Self>) {}
}

struct AdvisoryLock<DB: Database> {
    conn: Option<PoolConnection<DB>>,
}

#[async_trait]
impl<DB> Held for AdvisoryLock<DB>
where
    DB: Database<Connection: Conn>,
{
    async fn release(mut self: Box<Self>) {
        let Some(mut conn) = self.conn.take() else { return };
        let sql = Sql::new("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK);
        let unlocked: Result<Option<(bool,)>, _> = (*conn).fetch_optional(sql).await;
        if !matches!(unlocked, Ok(Some((true,)))) {
            tracing::warn!(?unlocked, "relay lease: unlock failed; closing its connection instead");
            drop(conn.detach());
        }
    }
}

impl<DB: Database> Drop for AdvisoryLock<DB> {
    fn drop(&mut self) {
        // Never hand a connection that still holds the lock back to the pool.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
