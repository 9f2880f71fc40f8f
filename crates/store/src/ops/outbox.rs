//! The outbox: events recorded with the writes that caused them, waiting for the relay.

use domain::{DomainEvent, Id, Payload, Timestamp};
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Conn, Sql, SqlBuilder, now};
use crate::{OutboxRecord, StoreError, StoreResult};

/// How many ids one `UPDATE ... WHERE id IN (...)` carries.
const MARK_CHUNK: usize = 500;

/// One row of `outbox`.
#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    event_type: String,
    payload: Json<Payload>,
    created_at: Timestamp,
}

impl OutboxRow {
    fn into_domain(self) -> StoreResult<OutboxRecord> {
        let event = DomainEvent::from_parts(&self.event_type, &self.payload.0)
            .map_err(|e| StoreError::Internal(format!("unreadable {} event {}: {e}", self.event_type, self.id)))?;
        Ok(OutboxRecord { id: self.id, event, created_at: self.created_at })
    }
}

/// The oldest unpublished events, in id order.
pub(crate) async fn unpublished_events<C: Conn>(c: &mut C, limit: u32) -> StoreResult<Vec<OutboxRecord>> {
    let sql = Sql::new(
        "SELECT id, event_type, payload, created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
    );
    let rows: Vec<OutboxRow> = c.fetch_all(sql.bind(i64::from(limit))).await?;
    rows.into_iter().map(OutboxRow::into_domain).collect()
}

/// Stamps events as published; ids that are unknown or already published are ignored.
pub(crate) async fn mark_published<C: Conn>(c: &mut C, ids: &[Id]) -> StoreResult<()> {
    let at = now();
    for chunk in ids.chunks(MARK_CHUNK) {
        let mut b = SqlBuilder::new("UPDATE outbox SET published_at = ");
        b.bind(at).push(" WHERE published_at IS NULL AND id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.bind(*id);
        }
        b.push(")");
        c.execute(b.finish()).await?;
    }
    Ok(())
}
