//! Bulk paths: batched inserts for seeding and import, reset, counts, and the key-ordered
//! scans that build the in-memory engine at start-up.

use std::collections::HashSet;

use domain::{
    Booking, DomainEvent, Id, Interaction, Plan, PlanParticipant, SocialEdge, User, UserId, UserPreferences, Venue,
    VenueId, VenueInterest,
};

use super::bookings::{BookingRow, booking_columns};
use super::interactions::{InteractionRow, interaction_args, interaction_columns};
use super::record;
use super::social::{EdgeRow, InterestRow, edge_args, interest_args, interest_columns};
use super::users::{PreferencesRow, UserRow, preferences_args, user_args, user_columns};
use super::venues::{VenueRow, text_in_nfc, venue_args, venue_columns};
use crate::sql::{Arg, Conn, DeferrableIndex, Sql, SqlBuilder};
use crate::{Backend, Batch, Counts, StoreError, StoreResult};

/// Called with the number of rows written so far after each statement of a batch.
pub type Progress<'a> = &'a (dyn Fn(usize) + Send + Sync);

/// Writes every row of the batch with multi-row `INSERT`s, parents before children. Each
/// statement carries as many rows as the backend's bind limit allows; `progress` hears of it.
pub(crate) async fn insert_batch<C: Conn>(c: &mut C, batch: Batch, progress: Progress<'_>) -> StoreResult<()> {
    let Batch {
        mut users,
        mut preferences,
        mut venues,
        mut edges,
        mut interactions,
        mut interests,
        mut plans,
        participants,
        mut bookings,
    } = batch;
    // Rows in key order fill each B-tree front to back, page after page, instead of jumping
    // around it: far fewer pages read and rewritten per batch.
    users.sort_unstable_by_key(|u| u.id);
    preferences.sort_unstable_by_key(|p| p.0);
    venues.sort_unstable_by_key(|v| v.id);
    let venues: Vec<Venue> = venues.into_iter().map(text_in_nfc).collect();
    edges.sort_unstable_by_key(|e| (e.user_id, e.other_user_id));
    match C::BACKEND {
        // The id index waits for the end of the load (rowids just append), so the order that
        // pays is the users': each row's foreign-key lookup lands next to the previous one,
        // and the (user_id, id) index is rebuilt from runs already in order. A third faster.
        Backend::Sqlite => interactions.sort_unstable_by_key(|i| (i.user_id, i.id)),
        // The primary key is a live B-tree here.
        Backend::Postgres => interactions.sort_unstable_by_key(|i| i.id),
    }
    interests.sort_unstable_by_key(|i| (i.user_id, i.venue_id));
    plans.sort_unstable_by_key(|p| p.id);
    bookings.sort_unstable_by_key(|b| b.id);
    refuse_deleted_venues(c, &interactions, &interests, &plans, &bookings).await?;
    let mut done = 0;
    let mut w = Written { done: &mut done, progress };
    insert_rows(c, &mut w, concat!("INSERT INTO users (", user_columns!(), ")"), &users, |u| Ok(user_args(u))).await?;
    let head = "INSERT INTO user_preferences (user_id, cuisines, price_min, price_max, ambiance, dietary, \
                preferred_group_size, openness, updated_at)";
    insert_rows(c, &mut w, head, &preferences, |(id, p): &(UserId, UserPreferences)| preferences_args(*id, p)).await?;
    insert_rows(c, &mut w, concat!("INSERT INTO venues (", venue_columns!(), ")"), &venues, venue_args).await?;
    let head = "INSERT INTO social_edges (user_id, other_user_id, relationship_type, strength, created_at)";
    insert_rows(c, &mut w, head, &edges, |e| Ok(edge_args(e))).await?;
    let head = concat!("INSERT INTO interactions (", interaction_columns!(), ")");
    insert_rows(c, &mut w, head, &interactions, |i| Ok(interaction_args(i))).await?;
    let head = concat!("INSERT INTO venue_interests (", interest_columns!(), ")");
    insert_rows(c, &mut w, head, &interests, |i| Ok(interest_args(i))).await?;
    let head = "INSERT INTO plans (id, organizer_id, venue_id, start_time, party_size, status, created_at)";
    insert_rows(c, &mut w, head, &plans, |p| Ok(plan_args(p))).await?;
    let mut participants = all_participants(&plans, participants);
    participants.sort_unstable_by_key(|p| (p.plan_id, p.user_id));
    let head = "INSERT INTO plan_participants (plan_id, user_id, status, invited_at, responded_at)";
    insert_rows(c, &mut w, head, &participants, |p| Ok(participant_args(p))).await?;
    let head = concat!("INSERT INTO bookings (", super::bookings::booking_columns!(), ")");
    insert_rows(c, &mut w, head, &bookings, booking_args).await?;
    Ok(())
}

/// `NotFound` for the first row of the batch that names a deleted venue: its foreign key would
/// let it in (the row stays), but a deleted venue takes nothing new. One indexed read of the
/// deleted venues, usually none.
async fn refuse_deleted_venues<C: Conn>(
    c: &mut C,
    interactions: &[Interaction],
    interests: &[VenueInterest],
    plans: &[Plan],
    bookings: &[Booking],
) -> StoreResult<()> {
    if interactions.is_empty() && interests.is_empty() && plans.is_empty() && bookings.is_empty() {
        return Ok(());
    }
    let sql = Sql::new("SELECT id FROM venues WHERE deleted_at IS NOT NULL");
    let deleted: HashSet<VenueId> = c.fetch_all::<(VenueId,)>(sql).await?.into_iter().map(|r| r.0).collect();
    if deleted.is_empty() {
        return Ok(());
    }
    let named = (interactions.iter().map(|i| i.venue_id))
        .chain(interests.iter().map(|i| i.venue_id))
        .chain(plans.iter().map(|p| p.venue_id))
        .chain(bookings.iter().map(|b| b.venue_id));
    match named.into_iter().find(|v| deleted.contains(v)) {
        Some(v) => Err(StoreError::not_found("venue", v)),
        None => Ok(()),
    }
}

/// Drops the indexes a bulk load defers (see [`Conn::DEFERRABLE_INDEXES`]).
pub(crate) async fn begin_bulk_load<C: Conn>(c: &mut C) -> StoreResult<()> {
    for index in C::DEFERRABLE_INDEXES {
        c.execute(SqlBuilder::new(&format!("DROP INDEX IF EXISTS {}", index.name)).finish()).await?;
    }
    Ok(())
}

/// Creates whichever deferred indexes are missing (a no-op when none are), with the backend's
/// [`Conn::INDEX_BUILD`] settings. A unique index that meets duplicates loaded while it was gone
/// keeps the first copy of each key.
///
/// Which are missing is read from the catalog first, and nothing more runs when none are: every
/// server runs this at start-up, and on PostgreSQL even a `CREATE INDEX IF NOT EXISTS` of an
/// index that exists takes its table's SHARE lock until the transaction ends, so a server
/// starting beside others that were writing (another's demo seed, a rolling deploy) deadlocked
/// with their writes and failed to start ("deadlock detected"), or stalled them meanwhile.
pub(crate) async fn finish_bulk_load<C: Conn>(c: &mut C) -> StoreResult<()> {
    let mut missing = Vec::new();
    for index in C::DEFERRABLE_INDEXES {
        let found: Option<(i32,)> = c.fetch_optional(Sql::new(C::INDEX_EXISTS).bind(index.name)).await?;
        if found.is_none() {
            missing.push(index);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    for statement in C::INDEX_BUILD.before {
        c.execute(Sql::new(statement)).await?;
    }
    let built = build_deferred_indexes(c, &missing).await;
    for statement in C::INDEX_BUILD.after {
        c.execute(Sql::new(statement)).await?;
    }
    built
}

async fn build_deferred_indexes<C: Conn>(c: &mut C, missing: &[&DeferrableIndex]) -> StoreResult<()> {
    for index in missing {
        match (c.execute(Sql::new(index.create)).await.map_err(StoreError::from), index.dedupe) {
            (Ok(_), _) => {}
            (Err(StoreError::Conflict { .. }), Some(dedupe)) => {
                let removed = c.execute(Sql::new(dedupe)).await?;
                tracing::warn!(index = index.name, removed, "removed duplicate rows loaded during a bulk load");
                c.execute(Sql::new(index.create)).await?;
            }
            (Err(e), _) => return Err(e),
        }
    }
    Ok(())
}

/// Inserts `rows` in statements of at most [`Conn::MAX_BINDS`] values each.
/// How many rows a batch has written so far, and who hears of it.
struct Written<'a, 'p> {
    done: &'a mut usize,
    progress: Progress<'p>,
}

async fn insert_rows<C, T, const N: usize>(
    c: &mut C,
    w: &mut Written<'_, '_>,
    head: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> StoreResult<[Arg; N]>,
) -> StoreResult<()>
where
    C: Conn,
{
    for chunk in rows.chunks((C::MAX_BINDS / N).max(1)) {
        let mut b = SqlBuilder::new(head);
        b.push(" VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            for (j, arg) in to_args(row)?.into_iter().enumerate() {
                if j > 0 {
                    b.push(", ");
                }
                b.bind(arg);
            }
            b.push(")");
        }
        c.execute(b.finish()).await?;
        *w.done += chunk.len();
        (w.progress)(*w.done);
    }
    Ok(())
}

/// The participants of the batch: the separate list plus those embedded in plans, once each.
fn all_participants(plans: &[Plan], separate: Vec<PlanParticipant>) -> Vec<PlanParticipant> {
    let mut seen = HashSet::new();
    let embedded = plans.iter().flat_map(|p| p.participants.iter().cloned());
    separate.into_iter().chain(embedded).filter(|p| seen.insert((p.plan_id, p.user_id))).collect()
}

fn plan_args(p: &Plan) -> [Arg; 7] {
    [
        p.id.into(),
        p.organizer_id.into(),
        p.venue_id.into(),
        p.start_time.into(),
        p.party_size.into(),
        p.status.as_str().into(),
        p.created_at.into(),
    ]
}

fn participant_args(p: &PlanParticipant) -> [Arg; 5] {
    [p.plan_id.into(), p.user_id.into(), p.status.as_str().into(), p.invited_at.into(), p.responded_at.into()]
}

/// The binds of one `bookings` row, in `booking_columns!` order.
fn booking_args(b: &Booking) -> StoreResult<[Arg; 15]> {
    Ok([
        b.id.into(),
        b.user_id.into(),
        b.venue_id.into(),
        b.plan_id.into(),
        b.booking_time.into(),
        b.party_size.into(),
        b.duration_minutes.into(),
        b.status.as_str().into(),
        b.confirmation_code.as_str().into(),
        b.provider.as_str().into(),
        b.agent.as_str().into(),
        Arg::json(&b.group_members)?,
        b.special_requests.as_deref().into(),
        b.created_at.into(),
        b.updated_at.into(),
    ])
}

/// Every table of data, children before parents. `server_secrets` is not data: a reset keeps
/// the signing secret and the admin credential, so tokens and operators survive it.
const TABLES_CHILDREN_FIRST: [&str; 16] = [
    "outbox",
    "user_locations",
    "refresh_tokens",
    "user_credentials",
    "idempotency_keys",
    "booking_invitations",
    "bookings",
    "plan_participants",
    "plans",
    "venue_interests",
    "friend_requests",
    "social_edges",
    "interactions",
    "user_preferences",
    "venues",
    "users",
];

/// The order a PostgreSQL reset locks the tables in: as writers take them (an idempotency key
/// first, then the rows looked up and locked, then the rows written, the outbox last), so a
/// writer under way mostly holds tables the reset has yet to reach, not the other way round.
const TABLES_AS_WRITERS_LOCK: [&str; 16] = [
    "idempotency_keys",
    "venues",
    "users",
    "user_preferences",
    "user_credentials",
    "refresh_tokens",
    "user_locations",
    "social_edges",
    "friend_requests",
    "venue_interests",
    "interactions",
    "plans",
    "plan_participants",
    "bookings",
    "booking_invitations",
    "outbox",
];

/// The PostgreSQL advisory lock every write transaction holds shared (`BEGIN_WRITE`) and a data
/// reset exclusively, before it touches any table.
pub const RESET_GATE: i64 = 5_500_000_000_000_000_001;

/// How long one try of a PostgreSQL reset queues for the `RESET_GATE` (new writes queue behind
/// it meanwhile): long enough for the short writes under way to end, short enough that a long
/// one (an import, a seed) holds the others up only this long per try; `SqlStore::reset` polls.
const RESET_GATE_TIMEOUT: &str = "SET LOCAL lock_timeout = '50ms'";

/// How long a PostgreSQL reset waits for its table locks, by try (see `SqlStore::reset`; the
/// last one for every later try). Only a read, a single-table statement outside a write
/// transaction, or (auto)vacuum/ANALYZE can still hold them. The first try stays under the
/// server's `deadlock_timeout` (1 s by default), so a read that locks its tables in another
/// order is never a deadlock's victim; the later ones wait longer than it, since only then does
/// PostgreSQL cancel an autovacuum that blocks the reset (a manual ANALYZE is never cancelled).
const RESET_TABLES_TIMEOUTS: [&str; 3] =
    ["SET LOCAL lock_timeout = '200ms'", "SET LOCAL lock_timeout = '1500ms'", "SET LOCAL lock_timeout = '5s'"];

/// Deletes every row of every table, then records `data.reset` (so the outbox holds just that,
/// after the services' events still waiting for the bus, which are kept: `waiting_service_events`).
/// On PostgreSQL it first takes the `RESET_GATE`, queueing for it only `RESET_GATE_TIMEOUT`:
/// `Ok(false)` (nothing done, roll back) when a write still holds it, so that writes never wait
/// long behind a reset that waits for a long one (an import, a seed); `SqlStore::reset` polls.
/// Then it takes every table in one `LOCK TABLE` (in `TABLES_AS_WRITERS_LOCK` order, waiting as
/// `try_no` says), so the `TRUNCATE` that follows has them all and cannot deadlock halfway with a
/// writer. A write that waited for it goes on once it commits and finds its rows gone (not
/// found), as after any deletion.
pub(crate) async fn reset<C: Conn>(c: &mut C, try_no: usize) -> StoreResult<bool> {
    match C::BACKEND {
        Backend::Postgres => {
            c.execute(Sql::new(RESET_GATE_TIMEOUT)).await?;
            let gate = Sql::new("SELECT pg_advisory_xact_lock($1)").bind(RESET_GATE);
            match c.execute(gate).await.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::Unavailable(_)) => return Ok(false),
                Err(e) => return Err(e),
            }
            let timeout = RESET_TABLES_TIMEOUTS[try_no.min(RESET_TABLES_TIMEOUTS.len() - 1)];
            c.execute(Sql::new(timeout)).await?;
            let mut lock = SqlBuilder::new("LOCK TABLE ");
            lock.push(&TABLES_AS_WRITERS_LOCK.join(", "));
            lock.push(" IN ACCESS EXCLUSIVE MODE");
            c.execute(lock.finish()).await?;
            let kept = waiting_service_events(c).await?;
            let mut b = SqlBuilder::new("TRUNCATE ");
            b.push(&TABLES_CHILDREN_FIRST.join(", "));
            c.execute(b.finish()).await?;
            keep(c, kept).await?;
        }
        Backend::Sqlite => {
            let kept = waiting_service_events(c).await?;
            for table in TABLES_CHILDREN_FIRST {
                c.execute(SqlBuilder::new(&format!("DELETE FROM {table}")).finish()).await?;
            }
            keep(c, kept).await?;
        }
    }
    record(c, &DomainEvent::DataReset).await?;
    Ok(true)
}

/// An outbox row of a service's event (see [`crate::Store::record_service_event`]).
#[derive(Debug, sqlx::FromRow)]
struct ServiceRow {
    id: uuid::Uuid,
    channel: String,
    event_type: String,
    payload: String,
    created_at: domain::Timestamp,
}

/// Services' events still waiting for the bus (the simulator's control events: a run stopped
/// for this very reset announces it just before, and the bus may be down). They describe no
/// data, so the reset keeps them, ahead of its `data.reset`; before, it deleted them with the
/// rest of the outbox, and a dashboard never heard that the run had stopped. Only the
/// simulation channel's: a row on a channel no version knows goes with the rest (on SQLite its
/// payload may not even be JSON, which `keep` would refuse, failing the whole reset).
async fn waiting_service_events<C: Conn>(c: &mut C) -> StoreResult<Vec<ServiceRow>> {
    let sql = Sql::new(
        "SELECT id, channel, event_type, CAST(payload AS TEXT) AS payload, created_at FROM outbox \
         WHERE published_at IS NULL AND dead_at IS NULL AND channel = $1 ORDER BY id",
    )
    .bind(domain::Channel::Simulation.as_str());
    Ok(c.fetch_all(sql).await?)
}

/// Records `rows` again, as they were (same ids, so in the same order).
async fn keep<C: Conn>(c: &mut C, rows: Vec<ServiceRow>) -> StoreResult<()> {
    for row in rows {
        let payload: domain::Payload =
            serde_json::from_str(&row.payload).map_err(|e| StoreError::Internal(e.to_string()))?;
        let sql = Sql::new(
            "INSERT INTO outbox (id, channel, event_type, payload, created_at, published_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(row.id)
        .bind(row.channel)
        .bind(row.event_type)
        .bind(Arg::Json(Some(payload)))
        .bind(row.created_at);
        c.execute(sql).await?;
    }
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct CountsRow {
    users: i64,
    venues: i64,
    interactions: i64,
    social_edges: i64,
    friend_requests: i64,
    venue_interests: i64,
    plans: i64,
    bookings: i64,
    outbox_pending: i64,
    outbox_dead: i64,
}

/// The counts of the stored entities; the outbox's pending and dead rows are counted from their
/// partial indexes (`outbox_unpublished_idx`, `outbox_dead_idx`), not by reading the outbox.
pub(crate) const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM venues WHERE deleted_at IS NULL) AS venues, \
         (SELECT COUNT(*) FROM interactions) AS interactions, (SELECT COUNT(*) FROM social_edges) AS social_edges, \
         (SELECT COUNT(*) FROM friend_requests) AS friend_requests, \
         (SELECT COUNT(*) FROM venue_interests) AS venue_interests, (SELECT COUNT(*) FROM plans) AS plans, \
         (SELECT COUNT(*) FROM bookings) AS bookings, \
         (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND dead_at IS NULL) AS outbox_pending, \
         (SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL) AS outbox_dead";

pub(crate) async fn counts<C: Conn>(c: &mut C) -> StoreResult<Counts> {
    let r: CountsRow = super::fetch_one(c, Sql::new(COUNTS)).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(Counts {
        users: n(r.users),
        venues: n(r.venues),
        interactions: n(r.interactions),
        social_edges: n(r.social_edges),
        friend_requests: n(r.friend_requests),
        venue_interests: n(r.venue_interests),
        plans: n(r.plans),
        bookings: n(r.bookings),
        outbox_pending: n(r.outbox_pending),
        outbox_dead: n(r.outbox_dead),
    })
}

#[derive(Debug, sqlx::FromRow)]
struct UserWithPreferencesRow {
    #[sqlx(flatten)]
    user: UserRow,
    #[sqlx(flatten)]
    preferences: PreferencesRow,
}

pub(crate) async fn scan_users<C: Conn>(
    c: &mut C,
    after: Option<Id>,
    limit: u32,
) -> StoreResult<Vec<(User, Option<UserPreferences>)>> {
    let mut b = SqlBuilder::new(
        "SELECT u.id, u.handle, u.name, u.email, u.age, u.avatar_url, u.home_lat, u.home_lng, u.city, u.persona, \
         u.activity_score, u.social_score, u.created_at, u.updated_at, p.cuisines, p.price_min, p.price_max, \
         p.ambiance, p.dietary, p.preferred_group_size, p.openness \
         FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id",
    );
    push_scan(&mut b, "u.id", after, limit);
    let rows: Vec<UserWithPreferencesRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(|r| Ok((r.user.into_domain()?, r.preferences.into_domain()))).collect()
}

pub(crate) async fn scan_venues<C: Conn>(c: &mut C, after: Option<Id>, limit: u32) -> StoreResult<Vec<Venue>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", venue_columns!(), " FROM venues"));
    b.and().push(super::venues::LIVE_VENUE);
    push_scan(&mut b, "id", after, limit);
    let rows: Vec<VenueRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(VenueRow::into_domain).collect()
}

pub(crate) async fn scan_interactions<C: Conn>(
    c: &mut C,
    after: Option<Id>,
    limit: u32,
) -> StoreResult<Vec<Interaction>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", interaction_columns!(), " FROM interactions"));
    push_scan(&mut b, "id", after, limit);
    let rows: Vec<InteractionRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(InteractionRow::into_domain).collect()
}

pub(crate) async fn scan_edges<C: Conn>(
    c: &mut C,
    after: Option<(UserId, UserId)>,
    limit: u32,
) -> StoreResult<Vec<SocialEdge>> {
    let mut b =
        SqlBuilder::new("SELECT user_id, other_user_id, relationship_type, strength, created_at FROM social_edges");
    if let Some((user_id, other)) = after {
        b.and().push("(user_id, other_user_id) > (").bind(user_id).push(", ").bind(other).push(")");
    }
    b.push(" ORDER BY user_id, other_user_id LIMIT ").bind(i64::from(limit));
    let rows: Vec<EdgeRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(EdgeRow::into_domain).collect()
}

pub(crate) async fn scan_interests<C: Conn>(
    c: &mut C,
    after: Option<(UserId, VenueId)>,
    limit: u32,
) -> StoreResult<Vec<VenueInterest>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", interest_columns!(), " FROM venue_interests"));
    if let Some((user_id, venue_id)) = after {
        b.and().push("(user_id, venue_id) > (").bind(user_id).push(", ").bind(venue_id).push(")");
    }
    b.push(" ORDER BY user_id, venue_id LIMIT ").bind(i64::from(limit));
    let rows: Vec<InterestRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(InterestRow::into_domain).collect()
}

pub(crate) async fn scan_bookings<C: Conn>(c: &mut C, after: Option<Id>, limit: u32) -> StoreResult<Vec<Booking>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", booking_columns!(), " FROM bookings"));
    b.and().push("status <> ").bind(domain::BookingStatus::Cancelled.as_str());
    push_scan(&mut b, "id", after, limit);
    let rows: Vec<BookingRow> = c.fetch_all(b.finish()).await?;
    super::bookings::decode(rows)
}

fn push_scan(b: &mut SqlBuilder, key: &str, after: Option<Id>, limit: u32) {
    if let Some(after) = after {
        b.and().push(key).push(" > ").bind(after);
    }
    b.push(" ORDER BY ").push(key).push(" LIMIT ").bind(i64::from(limit));
}
