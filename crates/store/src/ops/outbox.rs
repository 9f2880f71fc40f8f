//! The outbox: events recorded with the writes that caused them (and services' events that
//! have no other write, such as the simulator's control events), waiting for the relay. A row
//! this version cannot decode (a newer server's: a type, or a value in a known type's data, it
//! does not have) is read as it is, for the relay to forward; a row that cannot be published at
//! all (its payload not JSON, its channel unknown) is reported apart, never failing the rows
//! around it, and can be set aside (a dead letter: `dead_at`, `dead_reason`) so the relay moves
//! past it. Dead letters are listed as stored, and sent back (redriven) to be tried again.

use domain::{Channel, DomainEvent, Id, Page, PageRequest, Payload, Timestamp};
use uuid::Uuid;

use crate::sql::{Conn, Sql, SqlBuilder, now};
use crate::{DeadLetter, ForeignEvent, OutboxRecord, StoreResult, Unpublished, UnreadableEvent};

/// How many ids one `UPDATE ... WHERE id IN (...)` carries.
const MARK_CHUNK: usize = 500;

/// One row of `outbox`, its payload as text: decoding it is part of reading the event, which
/// may fail for this row alone.
#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    channel: String,
    event_type: String,
    payload: String,
    created_at: Timestamp,
}

/// What an outbox row reads as.
enum Read {
    Event(Box<OutboxRecord>),
    /// A service's event (the simulator's), on a channel domain events do not travel on.
    Service(ForeignEvent),
    Foreign(ForeignEvent),
    Unreadable(UnreadableEvent),
}

impl OutboxRow {
    fn read(self) -> Read {
        let unreadable = |reason: String| UnreadableEvent { id: self.id, event_type: self.event_type.clone(), reason };
        let data = match Payload::from_json(self.payload.clone()) {
            Ok(data) => data,
            Err(e) => return Read::Unreadable(unreadable(format!("payload is not JSON: {e}"))),
        };
        let Some(channel) = Channel::parse(&self.channel) else {
            return Read::Unreadable(unreadable(format!("unknown channel {:?}", self.channel)));
        };
        if !DomainEvent::CHANNELS.contains(&channel) {
            return Read::Service(ForeignEvent {
                id: self.id,
                channel,
                event_type: self.event_type,
                data,
                created_at: self.created_at,
                why: String::new(),
            });
        }
        match DomainEvent::from_parts(&self.event_type, &data) {
            Ok(event) => Read::Event(Box::new(OutboxRecord { id: self.id, event, created_at: self.created_at })),
            // A newer version's: a type, or a value of a known type's field (a new status, a
            // new category), this version does not have.
            Err(e) => Read::Foreign(ForeignEvent {
                id: self.id,
                channel,
                event_type: self.event_type,
                data,
                created_at: self.created_at,
                why: e.to_string(),
            }),
        }
    }
}

/// The oldest rows neither published nor set aside, in id order.
pub(crate) async fn unpublished_events<C: Conn>(c: &mut C, limit: u32) -> StoreResult<Unpublished> {
    let sql = Sql::new(
        "SELECT id, channel, event_type, CAST(payload AS TEXT) AS payload, created_at FROM outbox \
         WHERE published_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT $1",
    );
    let rows: Vec<OutboxRow> = c.fetch_all(sql.bind(i64::from(limit))).await?;
    let mut out = Unpublished::default();
    for row in rows {
        match row.read() {
            Read::Event(record) => out.events.push(*record),
            Read::Service(service) => out.service.push(service),
            Read::Foreign(foreign) => out.foreign.push(foreign),
            Read::Unreadable(unreadable) => out.unreadable.push(unreadable),
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

/// One dead letter as stored.
#[derive(Debug, sqlx::FromRow)]
struct DeadRow {
    id: Uuid,
    channel: String,
    event_type: String,
    payload: String,
    created_at: Timestamp,
    dead_at: Timestamp,
    dead_reason: Option<String>,
}

impl DeadRow {
    fn into_domain(self) -> DeadLetter {
        let DeadRow { id, channel, event_type, payload, created_at, dead_at, dead_reason } = self;
        DeadLetter { id, channel, event_type, payload, created_at, dead_at, dead_reason }
    }
}

/// The rows set aside, in id order, a page at a time.
pub(crate) async fn dead_letters<C: Conn>(c: &mut C, page: PageRequest) -> StoreResult<Page<DeadLetter>> {
    let rows: Vec<DeadRow> = c.fetch_all(dead_letters_sql(page)).await?;
    let letters = rows.into_iter().map(DeadRow::into_domain).collect();
    Ok(Page::from_rows(letters, page.limit, |d: &DeadLetter| d.id))
}

/// The listing of a page of dead letters; it reads the index of dead rows (`outbox_dead_idx`)
/// in its order, not the whole outbox.
pub(crate) fn dead_letters_sql(page: PageRequest) -> Sql {
    let mut b = SqlBuilder::new(
        "SELECT id, channel, event_type, CAST(payload AS TEXT) AS payload, created_at, dead_at, dead_reason \
         FROM outbox",
    );
    b.and().push("dead_at IS NOT NULL");
    super::push_page(&mut b, "id", page);
    b.finish()
}

/// Sends every dead letter back; the rows of some ids when followed by ` AND id IN (...)`.
pub(crate) const REDRIVE: &str = "UPDATE outbox SET dead_at = NULL, dead_reason = NULL WHERE dead_at IS NOT NULL";

/// Clears `dead_at` and `dead_reason` of the rows of `ids` (`None`: every row) that are set
/// aside, so the relay takes them again; how many.
pub(crate) async fn redrive<C: Conn>(c: &mut C, ids: Option<&[Id]>) -> StoreResult<u64> {
    let Some(ids) = ids else {
        return Ok(c.execute(Sql::new(REDRIVE)).await?);
    };
    let mut redriven = 0;
    for chunk in ids.chunks(MARK_CHUNK) {
        let mut b = SqlBuilder::new(REDRIVE);
        b.push(" AND id");
        push_in(&mut b, chunk);
        redriven += c.execute(b.finish()).await?;
    }
    Ok(redriven)
}

/// Stamps events as published; ids that are unknown or already published are ignored.
pub(crate) async fn mark_published<C: Conn>(c: &mut C, ids: &[Id]) -> StoreResult<()> {
    let at = now();
    for chunk in ids.chunks(MARK_CHUNK) {
        let mut b = SqlBuilder::new("UPDATE outbox SET published_at = ");
        b.bind(at).push(" WHERE published_at IS NULL AND id");
        push_in(&mut b, chunk);
        c.execute(b.finish()).await?;
    }
    Ok(())
}

/// Appends ` IN ($n, ...)` of `ids` (at most [`MARK_CHUNK`]).
fn push_in(b: &mut SqlBuilder, ids: &[Id]) {
    b.push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.bind(*id);
    }
    b.push(")");
}
