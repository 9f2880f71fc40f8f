//! The relay lease: at most one outbox relay publishes at a time, across every process that
//! shares the database, so events reach the bus in one order and normally once. On PostgreSQL
//! the lease is a session advisory lock (`pg_try_advisory_lock`) held on a pooled connection
//! for one relay pass; releasing unlocks it and returns the connection. A lease dropped without
//! release (a cancelled task) closes its connection instead, which ends the session and frees
//! the lock, so a crash or cancellation never leaves it stuck; nor does a frozen process
//! (SIGSTOP, a paused VM): the lease's session may sit idle for `IDLE_BOUND` (5 s) at most, then
//! PostgreSQL ends it and another relay takes over. SQLite serves one process: the lease is an
//! in-process lock, so its relays (the background one, and a pass a caller runs at once, as the
//! simulator does for its control events) take turns too.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

use crate::reach::Reach;
use crate::sql::{Conn, Sql};
use crate::{Backend, RelayLease, StoreResult};

/// The advisory lock key ("LUNARELY"); the same in every Luna process.
const RELAY_LOCK: i64 = 0x4c55_4e41_5245_4c59;

/// What a [`RelayLease`] holds.
#[async_trait]
pub(crate) trait Held: Send {
    /// Whether the lease is still this holder's (see [`RelayLease::still_held`]).
    async fn still_held(&mut self) -> bool;
    async fn release(self: Box<Self>);
}

/// Takes the lease if no other relay holds it. `reach` (PostgreSQL's) tells a check answered
/// late from a database that no longer answers.
/// `turn` is the store's in-process lock, the lease on SQLite.
pub(crate) async fn acquire<DB>(
    pool: &Pool<DB>,
    reach: Option<Arc<Reach>>,
    turn: &Arc<tokio::sync::Mutex<()>>,
) -> StoreResult<Option<RelayLease>>
where
    DB: Database<Connection: Conn>,
{
    if <DB::Connection as Conn>::BACKEND == Backend::Sqlite {
        return Ok(Arc::clone(turn)
            .try_lock_owned()
            .ok()
            .map(|held| RelayLease(Box::new(SingleProcess { _held: held }))));
    }
    let mut conn = pool.acquire().await?;
    // With the session's pid and start: a check of the lease that hangs past its cap ends that
    // session, and only it (see `still_held`).
    let sql = Sql::new(
        "SELECT pg_try_advisory_lock($1), pg_backend_pid(), \
         (SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid())",
    )
    .bind(RELAY_LOCK);
    let locked: Option<(bool, i32, Option<String>)> = (*conn).fetch_optional(sql).await?;
    let Some((true, pid, started)) = locked else {
        // Not ours: the connection holds no lock and goes back to the pool (a waiting relay
        // asks every few milliseconds; closing it would open a session each time).
        return Ok(None);
    };
    // The lease's session is idle while the pass publishes on other connections. Should its
    // process freeze (SIGSTOP, a paused VM), PostgreSQL still sees a healthy session and would
    // keep the lock, and every server's events with it, until the process resumes: bound that
    // idleness, so PostgreSQL ends the session and another relay takes over. A PostgreSQL
    // before 14 has no such setting; the lease then works as before.
    let bound = Sql::new("SELECT set_config('idle_session_timeout', $1, false)").bind(IDLE_BOUND);
    let bounded = (*conn).fetch_optional::<(String,)>(bound).await.is_ok();
    Ok(Some(RelayLease(Box::new(AdvisoryLock::<DB> {
        conn: Some(conn),
        pid,
        started,
        bounded,
        reach,
        pool: pool.clone(),
    }))))
}

/// How long the lease's session may sit idle before PostgreSQL ends it, freeing the lease: far
/// beyond a pass (milliseconds). A session running the lease's check is not idle, however long
/// PostgreSQL takes to answer it.
const IDLE_BOUND: &str = "5s";

/// How long a check that the lease is still held may wait for its answer, however reachable the
/// database, before the lease counts as lost, its session is ended (`pg_terminate_backend`,
/// which frees the lock) and its connection closed: far beyond a loaded server's slow answer,
/// and the bound on how long a hung session or a connection gone half-open (which the kernel
/// gives up on only after about 15 minutes) can stall the relay. A pass that loses its lease
/// this way does not mark what it published, so that batch goes out again (at least once,
/// never lost). The default of [`check_cap`], which tests may shorten ([`set_check_cap`]).
pub const CHECK_CAP: std::time::Duration = std::time::Duration::from_secs(20);

/// The cap in use, in milliseconds (see [`CHECK_CAP`]).
static CHECK_CAP_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(CHECK_CAP.as_millis() as u64);

/// The cap a lease check waits for its answer now ([`CHECK_CAP`] unless set otherwise).
pub fn check_cap() -> std::time::Duration {
    std::time::Duration::from_millis(CHECK_CAP_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Sets the cap for every store of this process. For tests only (which would otherwise wait
/// [`CHECK_CAP`] for a hang to be given up); a server never calls it.
#[doc(hidden)]
pub fn set_check_cap(cap: std::time::Duration) {
    CHECK_CAP_MS.store(cap.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// The lease on SQLite: the store's in-process lock, held until released or dropped.
struct SingleProcess {
    _held: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl Held for SingleProcess {
    async fn still_held(&mut self) -> bool {
        true
    }

    async fn release(self: Box<Self>) {}
}

struct AdvisoryLock<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    /// Its session's process id, to end the session should a check hang.
    pid: i32,
    /// Its session's start (`pg_stat_activity.backend_start`): with the pid, names the session
    /// and no later one given the same pid.
    started: Option<String>,
    /// Whether its session's idleness is bounded (to be lifted before it rejoins the pool).
    bounded: bool,
    /// Whether the database can still be reached, asked while a check waits for its answer.
    reach: Option<Arc<Reach>>,
    pool: Pool<DB>,
}

#[async_trait]
impl<DB> Held for AdvisoryLock<DB>
where
    DB: Database<Connection: Conn>,
{
    async fn still_held(&mut self) -> bool {
        let Self { conn, reach, pool, pid, started, .. } = self;
        let pid = *pid;
        let Some(conn) = conn.as_mut() else { return false };
        // The lock as PostgreSQL lists it for this very session: the query fails if the session
        // was ended (its idleness bound, an administrator, a restart), and finds nothing if the
        // lock is gone. A key of 64 bits is listed as its high and low halves.
        let sql = Sql::new(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid() AND classid = ($1 >> 32)::oid \
             AND objid = ($1 & 4294967295)::oid AND objsubid = 1)",
        )
        .bind(RELAY_LOCK);
        // A check answered late is still an answer: the session was running it all along, so
        // PostgreSQL could not end it as idle, and `true` means the lock is this session's. Only
        // a database that no longer answers a new connection either gives it up (as any work on
        // a held connection, `Reach::watch`). Before, a check slower than 2.5 s (a loaded
        // server) counted the lease as lost, so a pass that had published did not mark, and its
        // batch went out again at the next pass.
        // Never past CHECK_CAP, though: a session hung in the check, or a connection gone
        // half-open while new ones still connect, would otherwise stall the relay for good.
        let check = (**conn).fetch_optional::<(bool,)>(sql);
        let watched = async {
            match reach {
                Some(reach) => reach.watch(pool, check).await.map_err(|gone| gone.0),
                None => Ok(check.await),
            }
        };
        let cap = check_cap();
        let held = tokio::time::timeout(cap, watched).await;
        let hung = held.is_err();
        let held = held.unwrap_or_else(|_| Err(format!("no answer within {} ms", cap.as_millis())));
        if matches!(held, Ok(Ok(Some((true,))))) {
            return true;
        }
        if hung {
            // Closing the connection is not enough: PostgreSQL notices a client gone only as it
            // next writes to it, so a session hung in the check (waiting on a lock, say) would
            // go on holding the lease, and no relay on any server could take over until the
            // hang ended. End it from another connection (bounded as well: a database that
            // answers nothing ends nothing, and the lease's idleness bound is left to work).
            let end = async {
                let mut other = pool.acquire().await?;
                // Only that very session: it may have ended meanwhile and its pid been given to
                // another backend, which must not be ended, so the pid must still belong to a
                // session started when the lease's did. (Not through `pg_locks`: a check hung in
                // the lock manager, as in the test, would hang this query as well.)
                let sql = Sql::new(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE pid = $1 AND backend_start = $2::timestamptz",
                )
                .bind(pid)
                .bind(started.clone());
                (*other).fetch_optional::<(bool,)>(sql).await
            };
            let ended = tokio::time::timeout(cap, end).await;
            tracing::warn!(pid, ?ended, "relay lease: its check hung; its session was asked to end");
        }
        tracing::warn!(?held, "relay lease: lost (its session ended or the lock is gone); closing its connection");
        // Whatever state the session is in, it is no longer a lease: close it (which frees the
        // lock, should the session still hold it) rather than return it to the pool.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
        false
    }

    async fn release(mut self: Box<Self>) {
        let Some(mut conn) = self.conn.take() else { return };
        let sql = match self.bounded {
            // Back to the session's default before the connection rejoins the pool.
            true => Sql::new(
                "SELECT pg_advisory_unlock($1) AND set_config('idle_session_timeout', \
                 (SELECT reset_val FROM pg_settings WHERE name = 'idle_session_timeout'), false) IS NOT NULL",
            ),
            false => Sql::new("SELECT pg_advisory_unlock($1)"),
        }
        .bind(RELAY_LOCK);
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
