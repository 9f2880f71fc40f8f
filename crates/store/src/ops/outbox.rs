//! The outbox: events recorded with the writes that caused them, waiting for the relay. A row
//! whose event does not read back is reported apart, never failing the rows around it, and can
//! be set aside (a dead letter: `dead_at`, `dead_reason`) so the relay moves past it.

use domain::{DomainEvent, Id, Payload, Timestamp};
use uuid::Uuid;

use crate::sql::{Conn, Sql, SqlBuilder, now};
use crate::{OutboxRecord, StoreResult, Unpublished, UnreadableEvent};

/// How many ids one `UPDATE ... WHERE id IN (...)` carries.
const MARK_CHUNK: usize = 500;

/// One row of `outbox`, its payload as text: decoding it is part of reading the event, which
/// may fail for this row alone.
#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    event_type: String,
    payload: String,
    created_at: Timestamp,
}

impl OutboxRow {
    fn into_domain(self) -> Result<OutboxRecord, UnreadableEvent> {
        let event = Payload::from_json(self.payload)
            .map_err(|e| format!("payload is not JSON: {e}"))
            .and_then(|data| DomainEvent::from_parts(&self.event_type, &data).map_err(|e| e.to_string()));
        match event {
            Ok(event) => Ok(OutboxRecord { id: self.id, event, created_at: self.created_at }),
            Err(reason) => Err(UnreadableEvent { id: self.id, event_type: self.event_type, reason }),
        }
    }
}

/// The oldest rows neither published nor set aside, in id order.
pub(crate) async fn unpublished_events<C: Conn>(c: &mut C, limit: u32) -> StoreResult<Unpublished> {
    let sql = Sql::new(
        "SELECT id, event_type, CAST(payload AS TEXT) AS payload, created_at FROM outbox \
         WHERE published_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT $1",
    );
    let rows: Vec<OutboxRow> = c.fetch_all(sql.bind(i64::from(limit))).await?;
    let mut out = Unpublished::default();
    for row in rows {
        match row.into_domain() {
            Ok(record) => out.events.push(record),
            Err(unreadable) => out.unreadable.push(unreadable),
        }
    }
    Ok(out)
}

/// Stamps unreadable rows as dead letters with their reasons; rows already published or set
/// aside are left as they are.
pub(crate) async fn set_aside<C: Conn>(c: &mut C, rows: &[UnreadableEvent]) -> StoreResult<()> {
    let at = now();
    for row in rows {
        let sql = Sql::new(
            "UPDATE outbox SET dead_at = $1, dead_reason = $2 \
             WHERE id = $3 AND published_at IS NULL AND dead_at IS NULL",
        );
        c.execute(sql.bind(at).bind(row.reason.as_str()).bind(row.id)).await?;
    }
    Ok(())
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
