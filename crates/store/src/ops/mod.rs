//! The store's use cases, written once over [`Conn`] so SQLite and PostgreSQL run the same
//! logic and the same SQL. Each function runs inside the caller's connection or transaction
//! (the caller opens and commits it); write functions record their events in the outbox on that
//! same connection, so an event exists if and only if its write committed.

pub(crate) mod auth;
pub(crate) mod bookings;
pub(crate) mod bulk;
pub(crate) mod check;
pub(crate) mod idempotency;
pub(crate) mod interactions;
pub(crate) mod outbox;
pub(crate) mod plans;
pub(crate) mod relay_lease;
pub(crate) mod seats;
pub(crate) mod social;
pub(crate) mod status_counts;
pub(crate) mod users;
pub(crate) mod venues;

use domain::{DomainEvent, Id, PageRequest};

use crate::sql::{Conn, FromDbRow, Sql, SqlBuilder, now};
use crate::{StoreError, StoreResult};

/// Runs a statement that must return exactly one row (an `INSERT ... RETURNING`).
pub(crate) async fn fetch_one<C: Conn, R: FromDbRow>(c: &mut C, sql: Sql) -> StoreResult<R> {
    c.fetch_optional(sql).await?.ok_or_else(|| StoreError::Internal("the statement returned no row".into()))
}

/// Whether a row with this id exists in `table` (a fixed table name, never input; venues have
/// their own check, `venues::require_venue`, which skips deleted ones), with `lock` appended
/// to the read (`C::FOR_KEY_SHARE`, `C::FOR_UPDATE` or "").
async fn exists<C: Conn>(c: &mut C, table: &'static str, id: Id, lock: &str) -> StoreResult<bool> {
    let mut b = SqlBuilder::new("SELECT 1 FROM ");
    b.push(table).push(" WHERE id = ").bind(id).push(lock);
    let row: Option<(i32,)> = c.fetch_optional(b.finish()).await?;
    Ok(row.is_some())
}

/// `NotFound` naming `entity` unless the row exists.
pub(crate) async fn require<C: Conn>(c: &mut C, table: &'static str, entity: &'static str, id: Id) -> StoreResult<()> {
    require_locked(c, table, entity, id, "").await
}

/// [`require`], locking the row found with `lock` until the transaction ends.
pub(crate) async fn require_locked<C: Conn>(
    c: &mut C,
    table: &'static str,
    entity: &'static str,
    id: Id,
    lock: &str,
) -> StoreResult<()> {
    if exists(c, table, id, lock).await? { Ok(()) } else { Err(StoreError::not_found(entity, id)) }
}

/// Records one event in the outbox; returns its id.
pub(crate) async fn record<C: Conn>(c: &mut C, event: &DomainEvent) -> StoreResult<Id> {
    let (event_type, data) = event.into_parts();
    record_as(c, event.channel(), &event_type, data).await
}

/// Records a service's event (not a domain event) in the outbox: see
/// [`crate::Store::record_service_event`].
pub(crate) async fn record_service<C: Conn>(
    c: &mut C,
    channel: domain::Channel,
    event_type: &str,
    data: &domain::Payload,
) -> StoreResult<Id> {
    record_as(c, channel, event_type, data.clone()).await
}

/// Inserts one outbox row; returns its id (a v7 UUID: the relay publishes in id order).
async fn record_as<C: Conn>(
    c: &mut C,
    channel: domain::Channel,
    event_type: &str,
    data: domain::Payload,
) -> StoreResult<Id> {
    let id = domain::new_id();
    let sql = Sql::new(
        "INSERT INTO outbox (id, channel, event_type, payload, created_at, published_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(id)
    .bind(channel.as_str())
    .bind(event_type)
    .bind(crate::sql::Arg::Json(Some(data)))
    .bind(now());
    c.execute(sql).await?;
    Ok(id)
}

/// Appends the keyset part of a page query: `id > after`, id order, one row more than the
/// page so [`domain::Page::from_rows`] knows whether another page follows.
pub(crate) fn push_page(b: &mut SqlBuilder, key: &str, page: PageRequest) {
    if let Some(after) = page.after {
        b.and().push(key).push(" > ").bind(after);
    }
    b.push(" ORDER BY ").push(key).push(" LIMIT ").bind(i64::from(page.limit) + 1);
}
