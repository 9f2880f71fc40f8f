//! Idempotency keys as insert-or-replay (zero-to-production's `try_processing`): the first
//! request with a key inserts its row, does its work and saves its answer on that row, all in
//! the caller's transaction; a later request with the same key finds the row and replays the
//! saved answer, or is refused while the first is still in flight, or when it carries another
//! request. The primary key (scope, key) makes the database the judge: on PostgreSQL a second
//! insert waits for the first transaction and then sees its row; on SQLite writers run one at
//! a time.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::types::Json;

use crate::booking::IdempotencyKey;
use crate::sql::{Arg, Conn, Sql, now};
use crate::{StoreError, StoreResult};

/// What to do with a request that carries a key.
#[derive(Debug)]
pub(crate) enum NextAction<T> {
    /// A new key: do the work, then [`finish`] (or [`forget`] on failure).
    StartProcessing,
    /// The first request's answer.
    Replay(T),
}

#[derive(Debug, sqlx::FromRow)]
struct KeyRow {
    request: Json<serde_json::Value>,
    response_body: Option<Json<serde_json::Value>>,
    created_at: domain::Timestamp,
}

/// Claims `key`, or finds what the first request with it did. `KeyInFlight` (with when that
/// request took the key) while it is in flight; `Invalid` if it carried another request.
pub(crate) async fn begin<C: Conn, T: DeserializeOwned>(c: &mut C, key: &IdempotencyKey) -> StoreResult<NextAction<T>> {
    let insert = Sql::new(
        "INSERT INTO idempotency_keys (scope, idempotency_key, request, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope, idempotency_key) DO NOTHING",
    );
    let sql = insert.bind(key.scope.as_str()).bind(key.key.as_str()).bind(Arg::json(&key.request)?);
    if c.execute(sql.bind(now())).await? == 1 {
        return Ok(NextAction::StartProcessing);
    }
    // Taken: by a request still in flight (no answer yet), or answered; or gone again (its
    // hold released meanwhile), which is in flight too: a retry then claims it afresh.
    match key_row(c, key).await? {
        None => Err(StoreError::KeyInFlight { since: now() }),
        Some(KeyRow { response_body: None, created_at, .. }) => Err(StoreError::KeyInFlight { since: created_at }),
        Some(KeyRow { response_body: Some(body), .. }) => serde_json::from_value(body.0)
            .map(NextAction::Replay)
            .map_err(|e| StoreError::Internal(format!("unreadable idempotent response: {e}"))),
    }
}

/// The row of `key`, if taken; `Invalid` if it was taken with another request.
async fn key_row<C: Conn>(c: &mut C, key: &IdempotencyKey) -> StoreResult<Option<KeyRow>> {
    let select = Sql::new(
        "SELECT request, response_body, created_at FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
    );
    let row: Option<KeyRow> = c.fetch_optional(select.bind(key.scope.as_str()).bind(key.key.as_str())).await?;
    match row {
        Some(row) if row.request.0 != key.request => {
            Err(StoreError::invalid("idempotency_key", "was already used with a different request"))
        }
        row => Ok(row),
    }
}

/// The saved answer of the first request with `key`, read without claiming the key: `None`
/// while there is none (a new key, or one in flight, which [`begin`] then sorts out), `Invalid`
/// if the key carried another request. Callers replay it before checking the request again, so
/// a retry gets the first answer even when the request would no longer pass (its time passed).
pub(crate) async fn answer<C: Conn>(c: &mut C, key: &IdempotencyKey) -> StoreResult<Option<serde_json::Value>> {
    Ok(key_row(c, key).await?.and_then(|row| row.response_body).map(|b| b.0))
}

/// Saves the answer of the first request with `key` (same transaction as its work).
pub(crate) async fn finish<C: Conn, T: Serialize>(
    c: &mut C,
    key: &IdempotencyKey,
    status: i32,
    answer: &T,
) -> StoreResult<()> {
    let sql = Sql::new(
        "UPDATE idempotency_keys SET response_status = $1, response_body = $2, completed_at = $3 \
         WHERE scope = $4 AND idempotency_key = $5",
    );
    let sql = sql.bind(status).bind(Arg::json(answer)?).bind(now()).bind(key.scope.as_str()).bind(key.key.as_str());
    c.execute(sql).await?;
    Ok(())
}

/// Gives a key back after its request failed without effect, so a retry starts afresh.
pub(crate) async fn forget<C: Conn>(c: &mut C, key: &IdempotencyKey) -> StoreResult<()> {
    let sql = Sql::new("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2");
    c.execute(sql.bind(key.scope.as_str()).bind(key.key.as_str())).await?;
    Ok(())
}

/// Removes keys in flight since before `in_flight_before` (their request died) and answered
/// keys older than `answered_before`. Returns how many went.
pub(crate) async fn purge<C: Conn>(
    c: &mut C,
    in_flight_before: domain::Timestamp,
    answered_before: domain::Timestamp,
) -> StoreResult<u64> {
    let sql =
        Sql::new("DELETE FROM idempotency_keys WHERE (completed_at IS NULL AND created_at < $1) OR completed_at < $2");
    Ok(c.execute(sql.bind(in_flight_before).bind(answered_before)).await?)
}
