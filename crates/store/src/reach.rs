//! Telling "the database is unreachable" from "the pool is busy" while a request waits for a
//! connection, so that a PostgreSQL that went away is answered within about a second instead
//! of after the pool's whole wait.
//!
//! sqlx's pool retries a refused connection (and waits on one that does not answer) until its
//! acquire timeout, 10 s: every request hung that long before its 503, and clients and load
//! balancers piled up connections. A short pool timeout would instead refuse requests that only
//! queue behind busy connections under load (32 clients on 16 connections, a long import). So
//! the pool keeps its wait for a busy pool, and a request that has not got a connection after
//! [`PROBE_AFTER`] asks [`Reach`]: one fresh connection attempt outside the pool, shared by
//! every waiting request and remembered for [`FRESH`]. If that attempt is refused, reset or not
//! answered within [`PROBE_TIMEOUT`], the request gives up with [`StoreError::Unreachable`];
//! if it connects (or the server answers with an error of its own, such as too many
//! connections), the request keeps waiting for the pool as before.
//!
//! A request that already holds a connection when the database stops answering (its server
//! frozen, packets dropped) would wait on it until the request timeout, 30 s, and sqlx would
//! then hold the connection out of the pool while its release ping waits for an answer that
//! never comes. So work on a held connection is [`Reach::watch`]ed: once it has run
//! [`WATCH_AFTER`], the same probe is asked every [`FRESH`]; if the database cannot be reached
//! the work is abandoned (its future dropped) and the caller closes the connection instead of
//! returning it. Work of any length goes on while the probe connects: a long import, a seed or a
//! slow query is never cut off by a deadline, only by a database that no longer answers a new
//! connection either.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Database, Pool};

use crate::StoreError;

/// How long a request waits for a pooled connection before the reachability of the database
/// is checked. Well above a healthy pool's queueing, so the probe is rare.
pub(crate) const PROBE_AFTER: Duration = Duration::from_millis(500);

/// How long the probe's connection may take before the database counts as unreachable.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long a probe's verdict is reused by the requests that ask next.
pub(crate) const FRESH: Duration = Duration::from_secs(1);

/// How long work on a held connection runs before the probe is asked whether the database
/// still answers (then every [`FRESH`] until the work ends). Above a healthy query's time, so
/// the probe is rare.
pub(crate) const WATCH_AFTER: Duration = Duration::from_secs(1);

/// Work on a held connection abandoned because the database stopped answering (the probe's
/// reason): the connection is in an unknown state and must be closed, not reused.
pub(crate) struct Abandoned(pub(crate) String);

/// The latest verdict on the database's reachability (one probe at a time).
#[derive(Default)]
pub(crate) struct Reach {
    last: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
}

impl Reach {
    /// Runs `work` (which waits for a connection of `pool`); once it has waited [`PROBE_AFTER`],
    /// fails with [`StoreError::Unreachable`] if the database cannot be reached, and otherwise
    /// lets it finish.
    pub(crate) async fn within<DB, T, E>(
        &self,
        pool: &Pool<DB>,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, StoreError>
    where
        DB: Database,
        E: Into<StoreError>,
    {
        let work = std::pin::pin!(work);
        let mut work = work;
        if let Ok(done) = tokio::time::timeout(PROBE_AFTER, &mut work).await {
            return done.map_err(Into::into);
        }
        tokio::select! {
            // Work that finished wins over a verdict ready at the same poll: its outcome is known.
            biased;
            done = &mut work => done.map_err(Into::into),
            verdict = self.unreachable(pool) => match verdict {
                Some(why) => Err(StoreError::Unreachable(why)),
                None => work.await.map_err(Into::into),
            },
        }
    }

    /// Runs `work`, which uses a connection already held; once it has run [`WATCH_AFTER`], asks
    /// every [`FRESH`] whether the database can still be reached, and abandons the work (drops
    /// it) with the reason when it cannot. Never abandons work while the database answers.
    pub(crate) async fn watch<DB, T>(&self, pool: &Pool<DB>, work: impl Future<Output = T>) -> Result<T, Abandoned>
    where
        DB: Database,
    {
        let work = std::pin::pin!(work);
        let mut work = work;
        if let Ok(done) = tokio::time::timeout(WATCH_AFTER, &mut work).await {
            return Ok(done);
        }
        loop {
            tokio::select! {
                // A read that completed, or a COMMIT that was answered, is never reported as
                // abandoned because a probe failed at the same poll.
                biased;
                done = &mut work => return Ok(done),
                verdict = self.unreachable(pool) => if let Some(why) = verdict {
                    tracing::warn!(%why, "database unreachable: work on a held connection abandoned, its connection closed");
                    return Err(Abandoned(why));
                },
            }
            if let Ok(done) = tokio::time::timeout(FRESH, &mut work).await {
                return Ok(done);
            }
        }
    }

    /// Why the database cannot be reached, or `None` when it can: a recent verdict, or a new
    /// connection attempt ([`PROBE_TIMEOUT`] at most, after the one in flight if any). Also
    /// asked by `/health` when its ping waits long, to tell a busy pool from a database that is
    /// gone ([`crate::Store::reachable`]).
    pub(crate) async fn unreachable<DB: Database>(&self, pool: &Pool<DB>) -> Option<String> {
        let mut last = self.last.lock().await;
        if let Some((at, verdict)) = &*last
            && at.elapsed() < FRESH
        {
            return verdict.clone();
        }
        let options = pool.connect_options();
        let verdict = match tokio::time::timeout(PROBE_TIMEOUT, options.connect()).await {
            Ok(Ok(conn)) => {
                // Said goodbye to properly, off the request's path.
                tokio::spawn(async move {
                    let _ = conn.close().await;
                });
                None
            }
            Ok(Err(e @ (sqlx::Error::Io(_) | sqlx::Error::Tls(_)))) => Some(format!("cannot connect: {e}")),
            Ok(Err(e)) => match StoreError::from(e) {
                StoreError::Unreachable(why) => Some(format!("cannot connect: {why}")),
                // The server answered: it is there, the pool will have its connection.
                _ => None,
            },
            Err(_) => Some(format!("no connection within {PROBE_TIMEOUT:?}")),
        };
        if let Some(why) = &verdict {
            // Once a probe (a second at most), not once a request: the API logs each 503.
            tracing::warn!(%why, "database unreachable: requests waiting for a connection give up");
        }
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }
}
