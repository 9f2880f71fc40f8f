//! [`SqlStore`]: the one implementation of [`Store`], generic over the database. It owns the
//! pools and the transactions: every write method opens a write transaction, runs one use case
//! from `ops` (which records its events in the outbox on that transaction) and commits; reads
//! run on a pooled connection. What differs between SQLite and PostgreSQL lives in their
//! [`Conn`] implementations (`sqlite.rs`, `postgres.rs`).
//!
//! Errors are traced at debug level: most are the caller's (not found, a conflict), and the
//! API logs the ones that are a 5xx at error level.

use async_trait::async_trait;
use domain::{
    DomainEvent, FriendRequest, Id, Interaction, NewInteraction, NewUser, NewVenue, Page, PageRequest, SocialEdge,
    Timestamp, User, UserId, UserPatch, UserPreferences, Venue, VenueId, VenueInterest, VenuePatch,
};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

use crate::ops::{auth, bookings, bulk, idempotency, interactions, outbox, plans, seats, social, users, venues};
use crate::sql::{Conn, Sql};
use crate::{
    Backend, Batch, BookingQuery, Counts, DeadLetter, Friend, IdempotencyKey, Idempotent, NewBooking, RequestDirection,
    ServerSecret, Store, StoreError, StoreResult, Unpublished, UnreadableEvent, UserQuery, VenueQuery, Written,
};

/// A [`Store`] on a SQL database: [`SqliteStore`](crate::sqlite::SqliteStore) or
/// [`PostgresStore`](crate::postgres::PostgresStore).
pub struct SqlStore<DB: Database> {
    /// Connections for reads.
    pub(crate) read: Pool<DB>,
    /// Connections for write transactions (on SQLite a single connection, so in-process writers
    /// queue fairly instead of spinning on the file lock; the same pool as `read` elsewhere).
    pub(crate) write: Pool<DB>,
    /// Whether the database can be reached, asked when a request waits long for a connection
    /// (PostgreSQL only: a SQLite file is always there, its waits are for the one writer).
    pub(crate) reach: Option<std::sync::Arc<crate::reach::Reach>>,
    /// Whether the write connection may wait less than [`Conn::WRITE_LOCK_WAIT`] for another
    /// process's lock ([`begin_write`] lowered it, and has not set it back yet).
    lock_wait_lowered: std::sync::atomic::AtomicBool,
    /// The relay lease on SQLite: one relay pass at a time in the process (PostgreSQL's is an
    /// advisory lock, across processes).
    relay_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl<DB: Database> SqlStore<DB> {
    pub(crate) fn from_pools(read: Pool<DB>, write: Pool<DB>) -> Self {
        Self { read, write, reach: None, lock_wait_lowered: Default::default(), relay_turn: Default::default() }
    }

    /// Answers [`StoreError::Unreachable`] soon, instead of after the pool's wait, when the
    /// database cannot be reached (see [`crate::reach`]).
    pub(crate) fn probing_reach(mut self) -> Self {
        self.reach = Some(Default::default());
        self
    }

    /// Runs `work`, which waits for a connection of `pool`, giving up early if the database
    /// cannot be reached.
    pub(crate) async fn within_reach<T, E: Into<StoreError>>(
        &self,
        pool: &Pool<DB>,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> StoreResult<T> {
        match &self.reach {
            Some(reach) => reach.within(pool, work).await,
            None => work.await.map_err(Into::into),
        }
    }

    /// Runs `work` on a connection already held from `pool`, abandoning it if the database stops
    /// answering meanwhile ([`crate::reach::Reach::watch`]; PostgreSQL only).
    pub(crate) async fn watched<T>(
        &self,
        pool: &Pool<DB>,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> Result<StoreResult<T>, crate::reach::Abandoned> {
        match &self.reach {
            Some(reach) => reach.watch(pool, work).await,
            None => Ok(work.await),
        }
    }

    /// Closes every connection (waits for those in use to be returned).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// How long a data reset keeps trying (a new try starts only before this much has passed; a
/// try itself waits at most its table-lock timeout, see `bulk::reset`), and how long it waits
/// before its second try (doubling each time, up to the maximum).
const RESET_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);
const RESET_FIRST_BACKOFF_MS: u64 = 20;
const RESET_MAX_BACKOFF_MS: u64 = 500;

/// Why a data reset is refused when a write held the reset gate for all of `RESET_BUDGET`.
pub(crate) const RESET_GATE_BUSY: &str =
    "a long write (such as an import or a seed) is running; try again when it ends (nothing was deleted)";

/// A connection for write transactions.
async fn writer<DB: Database>(store: &SqlStore<DB>) -> StoreResult<PoolConnection<DB>> {
    store.within_reach(&store.write, store.write.acquire()).await
}

/// A write that waited at most this long for the write connection starts its transaction with
/// the connection's whole [`Conn::WRITE_LOCK_WAIT`], without a statement to change it.
const QUEUE_UNCOUNTED: std::time::Duration = std::time::Duration::from_millis(100);

/// The least a write waits for another process's lock: one that queued longer than the whole
/// wait behind this server's own writes (a seed) is not refused for a lock held for an instant.
const MIN_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// Starts a write transaction with `begin` on `conn`, which was asked for at `asked`. On SQLite
/// its wait for a write lock held by another process is what is left of the busy timeout since
/// `asked` (at least [`MIN_LOCK_WAIT`]), so a write gives up about 5 s after it asked to write.
/// Writers queue for the one write connection, and each waited the whole timeout once it had
/// it: with the file locked by another process, the n-th queued write gave up after n times
/// 5 s, and a request queued behind a background write after about 10 s. The connection's
/// timeout is set back once the transaction has begun (or, if it could not, by the next write).
async fn begin_write<'c, DB: Database<Connection: Conn>>(
    store: &SqlStore<DB>,
    conn: &'c mut DB::Connection,
    begin: &'static str,
    asked: std::time::Instant,
) -> StoreResult<sqlx::Transaction<'c, DB>> {
    use std::sync::atomic::Ordering::Relaxed;
    let queued = asked.elapsed();
    let Some(whole) = <DB::Connection as Conn>::WRITE_LOCK_WAIT else {
        return Ok(sqlx::Connection::begin_with(conn, begin).await?);
    };
    if queued <= QUEUE_UNCOUNTED && !store.lock_wait_lowered.load(Relaxed) {
        return Ok(sqlx::Connection::begin_with(conn, begin).await?);
    }
    // Marked first: a write cancelled before it sets the wait back leaves it to the next one.
    store.lock_wait_lowered.store(true, Relaxed);
    conn.set_lock_wait(whole.saturating_sub(queued).max(MIN_LOCK_WAIT)).await?;
    let mut tx = sqlx::Connection::begin_with(conn, begin).await?;
    tx.set_lock_wait(whole).await?;
    store.lock_wait_lowered.store(false, Relaxed);
    Ok(tx)
}

/// A connection for reads.
async fn reader<DB: Database>(store: &SqlStore<DB>) -> StoreResult<PoolConnection<DB>> {
    store.within_reach(&store.read, store.read.acquire()).await
}

/// What work on the held `conn` came to ([`SqlStore::watched`]). Work abandoned because the
/// database stopped answering leaves the connection mid-exchange: it is closed (its socket
/// dropped, the pool opens a replacement), never returned to the pool, whose release ping
/// would wait on it for as long as the database stays silent. A transaction that did not send
/// its `COMMIT` can then never commit (the server rolls it back when it reads the closed
/// socket): [`StoreError::Unreachable`]. One that sent it and got no answer may have committed
/// or not, and says so: [`StoreError::OutcomeUnknown`] (also when the connection broke with
/// the `COMMIT` unanswered).
fn settle<DB: Database, T>(
    conn: PoolConnection<DB>,
    outcome: Result<StoreResult<T>, crate::reach::Abandoned>,
    committing: bool,
) -> StoreResult<T> {
    match outcome {
        Ok(Err(StoreError::Unreachable(why))) if committing => Err(StoreError::OutcomeUnknown(why)),
        Ok(done) => done,
        Err(crate::reach::Abandoned(why)) => {
            drop(conn.detach());
            Err(if committing { StoreError::OutcomeUnknown(why) } else { StoreError::Unreachable(why) })
        }
    }
}

/// Runs `op` in a write transaction begun with `begin` ([`begin_write`]) and commits it when
/// `commit` says so of its output (otherwise rolls it back), on a connection closed instead of
/// reused if the database stops answering meanwhile ([`settle`], told whether the `COMMIT` was
/// sent).
async fn in_write_tx<DB, T>(
    store: &SqlStore<DB>,
    begin: &'static str,
    op: impl AsyncFnOnce(&mut DB::Connection) -> StoreResult<T>,
    commit: impl FnOnce(&T) -> bool,
) -> StoreResult<T>
where
    DB: Database<Connection: Conn>,
{
    let asked = std::time::Instant::now();
    let mut conn = writer(store).await?;
    let committing = std::sync::atomic::AtomicBool::new(false);
    let work = async {
        let mut tx = begin_write(store, &mut *conn, begin, asked).await?;
        let out = op(&mut *tx).await?;
        if commit(&out) {
            committing.store(true, std::sync::atomic::Ordering::Relaxed);
            tx.commit().await?;
        }
        Ok(out)
    };
    let outcome = store.watched(&store.write, work).await;
    settle(conn, outcome, committing.into_inner())
}

/// Runs `$op(&mut conn, args...)` in a write transaction and commits it ([`in_write_tx`]).
macro_rules! write_tx {
    ($self:ident, $op:path $(, $arg:expr)*) => {{
        let op = async |c: &mut DB::Connection| $op(c $(, $arg)*).await;
        in_write_tx($self, <DB::Connection as Conn>::BEGIN_WRITE, op, |_| true).await
    }};
}

/// Runs `$op(&mut conn, args...)` on a read connection, closed instead of reused if the
/// database stops answering meanwhile ([`settle`]).
macro_rules! read {
    ($self:ident, $op:path $(, $arg:expr)*) => {{
        let mut conn = reader($self).await?;
        let outcome = $self.watched(&$self.read, async { $op(&mut *conn $(, $arg)*).await }).await;
        settle(conn, outcome, false)
    }};
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Database<Connection: Conn>,
{
    fn backend(&self) -> Backend {
        <DB::Connection as Conn>::BACKEND
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn ping(&self) -> StoreResult<()> {
        let mut conn = reader(self).await?;
        let work = async {
            let _: Option<(i32,)> = conn.fetch_optional(Sql::new("SELECT 1")).await?;
            Ok(())
        };
        let outcome = self.watched(&self.read, work).await;
        settle(conn, outcome, false)
    }

    async fn reachable(&self) -> StoreResult<()> {
        match &self.reach {
            Some(reach) => match reach.unreachable(&self.read).await {
                Some(why) => Err(StoreError::Unreachable(why)),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.within_reach(&self.write, self.write.acquire()).await?;
        conn.migrate().await
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %new.id), err(level = "debug"))]
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        write_tx!(self, users::create_user, new)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %id), err(level = "debug"))]
    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        read!(self, users::get_user, id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), handle = handle), err(level = "debug"))]
    async fn get_user_by_handle(&self, handle: &str) -> StoreResult<User> {
        read!(self, users::get_user_by_handle, handle)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = ids.len()), err(level = "debug"))]
    async fn users_by_ids(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        read!(self, users::users_by_ids, ids)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = page.limit), err(level = "debug"))]
    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>> {
        read!(self, users::list_users, query, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %id), err(level = "debug"))]
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<Written<User>> {
        write_tx!(self, users::update_user, id, patch)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %id), err(level = "debug"))]
    async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<Vec<domain::Booking>> {
        write_tx!(self, users::delete_user, id, now)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %id), err(level = "debug"))]
    async fn get_preferences(&self, id: UserId) -> StoreResult<UserPreferences> {
        read!(self, users::get_preferences, id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %id), err(level = "debug"))]
    async fn put_preferences(&self, id: UserId, prefs: UserPreferences) -> StoreResult<Written<UserPreferences>> {
        write_tx!(self, users::put_preferences, id, prefs)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %new.id), err(level = "debug"))]
    async fn create_venue(&self, new: NewVenue) -> StoreResult<Venue> {
        write_tx!(self, venues::create_venue, new)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %id), err(level = "debug"))]
    async fn get_venue(&self, id: VenueId) -> StoreResult<Venue> {
        read!(self, venues::get_venue, id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = ids.len()), err(level = "debug"))]
    async fn live_venues(&self, ids: &[VenueId]) -> StoreResult<Vec<VenueId>> {
        read!(self, venues::live_venues, ids)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = ids.len()), err(level = "debug"))]
    async fn deleted_venues(&self, ids: &[VenueId]) -> StoreResult<Vec<VenueId>> {
        read!(self, venues::deleted_venues, ids)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = page.limit), err(level = "debug"))]
    async fn list_venues(&self, query: &VenueQuery, page: PageRequest) -> StoreResult<Page<Venue>> {
        read!(self, venues::list_venues, query, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %id), err(level = "debug"))]
    async fn update_venue(&self, id: VenueId, patch: VenuePatch) -> StoreResult<Written<Venue>> {
        write_tx!(self, venues::update_venue, id, patch)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %id), err(level = "debug"))]
    async fn delete_venue(&self, id: VenueId, now: Timestamp, force: bool) -> StoreResult<Vec<domain::Booking>> {
        write_tx!(self, venues::delete_venue, id, now, force)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %new.user_id, venue_id = %new.venue_id), err(level = "debug"))]
    async fn record_interaction(&self, new: NewInteraction) -> StoreResult<crate::RecordedInteraction> {
        write_tx!(self, interactions::record_interaction, new)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id), err(level = "debug"))]
    async fn list_user_interactions(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Interaction>> {
        read!(self, interactions::list_user_interactions, user_id, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), from = %from, to = %to), err(level = "debug"))]
    async fn send_friend_request(&self, from: UserId, to: UserId) -> StoreResult<FriendRequest> {
        write_tx!(self, social::send_friend_request, from, to)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), request_id = %request_id, accept = accept), err(level = "debug"))]
    async fn answer_friend_request(
        &self,
        request_id: Id,
        to: UserId,
        accept: bool,
    ) -> StoreResult<Written<FriendRequest>> {
        write_tx!(self, social::answer_friend_request, request_id, to, accept)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id, limit = page.limit), err(level = "debug"))]
    async fn list_friend_requests(
        &self,
        user_id: UserId,
        direction: Option<RequestDirection>,
        page: PageRequest,
    ) -> StoreResult<Page<FriendRequest>> {
        read!(self, social::list_friend_requests, user_id, direction, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id), err(level = "debug"))]
    async fn list_friends(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Friend>> {
        read!(self, social::list_friends, user_id, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id, other = %other), err(level = "debug"))]
    async fn remove_friend(&self, user_id: UserId, other: UserId) -> StoreResult<Written<()>> {
        write_tx!(self, social::remove_friend, user_id, other)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id, n = others.len()), err(level = "debug"))]
    async fn connected(&self, user_id: UserId, others: &[UserId]) -> StoreResult<Vec<UserId>> {
        read!(self, social::connected, user_id, others)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id, venue_id = %venue_id), err(level = "debug"))]
    async fn express_interest(
        &self,
        user_id: UserId,
        venue_id: VenueId,
        wish: domain::InterestWish,
    ) -> StoreResult<Written<VenueInterest>> {
        write_tx!(self, social::express_interest, user_id, venue_id, wish)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %new.id), err(level = "debug"))]
    async fn create_plan(&self, new: domain::NewPlan) -> StoreResult<domain::Plan> {
        write_tx!(self, plans::create_plan, new)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %id), err(level = "debug"))]
    async fn get_plan(&self, id: domain::PlanId) -> StoreResult<domain::Plan> {
        read!(self, plans::get_plan, id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %plan_id, n = users.len()), err(level = "debug"))]
    async fn invite_to_plan(&self, plan_id: domain::PlanId, users: Vec<UserId>) -> StoreResult<domain::Plan> {
        write_tx!(self, plans::invite, plan_id, users)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %plan_id, user_id = %user_id, accept), err(level = "debug"))]
    async fn answer_plan_invitation(
        &self,
        plan_id: domain::PlanId,
        user_id: UserId,
        accept: bool,
    ) -> StoreResult<domain::Plan> {
        write_tx!(self, plans::answer, plan_id, user_id, accept)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %plan_id), err(level = "debug"))]
    async fn cancel_plan(&self, plan_id: domain::PlanId) -> StoreResult<domain::Plan> {
        write_tx!(self, plans::cancel_plan, plan_id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit), err(level = "debug"))]
    async fn cancel_expired_plans(&self, now: domain::Timestamp, limit: u32) -> StoreResult<Vec<domain::Plan>> {
        write_tx!(self, plans::cancel_expired_plans, now, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %plan_id), err(level = "debug"))]
    async fn reschedule_plan(
        &self,
        plan_id: domain::PlanId,
        start_time: domain::Timestamp,
        venue_id: Option<VenueId>,
    ) -> StoreResult<domain::Plan> {
        write_tx!(self, plans::reschedule_plan, plan_id, start_time, venue_id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id, ?role, ?status, limit = page.limit), err(level = "debug"))]
    async fn list_user_plans(
        &self,
        user_id: UserId,
        role: Option<crate::PlanRole>,
        status: Option<domain::PlanStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<domain::Plan>> {
        read!(self, plans::list_user_plans, user_id, role, status, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), booking_id = %new.id, venue_id = %new.request.venue_id), err(level = "debug"))]
    async fn book(&self, new: NewBooking, key: Option<IdempotencyKey>) -> StoreResult<Idempotent<domain::SeatOutcome>> {
        write_tx!(self, seats::book, new, key)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), booking_id = %id), err(level = "debug"))]
    async fn confirm_hold(&self, id: domain::BookingId, key: Option<IdempotencyKey>) -> StoreResult<domain::Booked> {
        write_tx!(self, seats::confirm_hold, id, key)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), booking_id = %id, reason), err(level = "debug"))]
    async fn release_hold(
        &self,
        id: domain::BookingId,
        reason: &str,
        key: Option<IdempotencyKey>,
    ) -> StoreResult<bool> {
        write_tx!(self, seats::release_hold, id, reason, key)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %venue_id, groups = groups.len()), err(level = "debug"))]
    async fn auto_book(
        &self,
        venue_id: VenueId,
        groups: Vec<NewBooking>,
        flexible: Vec<uuid::Uuid>,
        min_group: usize,
        turn_by_party: Vec<i32>,
        key: Option<IdempotencyKey>,
    ) -> StoreResult<Idempotent<domain::AutoBooked>> {
        write_tx!(self, seats::auto_book, venue_id, groups, &flexible, min_group, &turn_by_party, key)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), booking_id = %id, next = next.as_str()), err(level = "debug"))]
    async fn set_booking_status(
        &self,
        id: domain::BookingId,
        next: domain::BookingStatus,
        at: Timestamp,
    ) -> StoreResult<domain::Booking> {
        write_tx!(self, bookings::set_status, id, next, at)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), booking_id = %id), err(level = "debug"))]
    async fn get_booking(&self, id: domain::BookingId) -> StoreResult<domain::Booking> {
        read!(self, bookings::get_booking, id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), plan_id = %plan_id), err(level = "debug"))]
    async fn plan_booking(&self, plan_id: domain::PlanId) -> StoreResult<domain::Booking> {
        read!(self, bookings::plan_booking, plan_id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = page.limit), err(level = "debug"))]
    async fn list_bookings(&self, query: &BookingQuery, page: PageRequest) -> StoreResult<Page<domain::Booking>> {
        read!(self, bookings::list_bookings, query, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %venue_id), err(level = "debug"))]
    async fn venue_holds(
        &self,
        venue_id: VenueId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<domain::inventory::Hold>> {
        read!(self, bookings::venue_holds, venue_id, from, to)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), venue_id = %venue_id), err(level = "debug"))]
    async fn venue_interests(&self, venue_id: VenueId, from: Timestamp) -> StoreResult<Vec<VenueInterest>> {
        read!(self, bookings::venue_interests, venue_id, from)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn stale_holds(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<domain::Booking>> {
        read!(self, bookings::stale_holds, before, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn idempotent_answer(&self, key: &IdempotencyKey) -> StoreResult<Option<serde_json::Value>> {
        read!(self, idempotency::answer, key)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn purge_idempotency_keys(
        &self,
        in_flight_before: Timestamp,
        answered_before: Timestamp,
    ) -> StoreResult<u64> {
        write_tx!(self, idempotency::purge, in_flight_before, answered_before)
    }

    async fn insert_batch(&self, batch: Batch) -> StoreResult<()> {
        self.insert_batch_reporting(batch, &|_| {}).await
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), rows = batch.len()), err(level = "debug"))]
    async fn insert_batch_reporting(&self, batch: Batch, progress: crate::BatchProgress<'_>) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        write_tx!(self, bulk::insert_batch, batch, progress)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn begin_bulk_load(&self) -> StoreResult<()> {
        write_tx!(self, bulk::begin_bulk_load)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn finish_bulk_load(&self) -> StoreResult<()> {
        let rebuilt: StoreResult<()> = write_tx!(self, bulk::finish_bulk_load);
        rebuilt?;
        let mut conn = self.within_reach(&self.write, self.write.acquire()).await?;
        for statement in <DB::Connection as Conn>::AFTER_BULK_LOAD {
            conn.execute(Sql::new(statement)).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn reset(&self) -> StoreResult<()> {
        // The whole transaction again while a write holds the gate (each try queues for it only
        // `bulk::RESET_GATE_TIMEOUT`, so writes never wait long behind the reset), or when it
        // lost to a lock holder (its lock wait timed out, or a deadlock or serialization
        // failure: `Unavailable`); nothing of a failed one stays.
        let started = std::time::Instant::now();
        let mut backoff = std::time::Duration::from_millis(RESET_FIRST_BACKOFF_MS);
        let mut table_tries = 0;
        loop {
            // Committed only when the reset ran (`false`: the gate stayed busy, rolled back).
            let reset = async |c: &mut DB::Connection| bulk::reset(c, table_tries).await;
            let outcome = in_write_tx(self, <DB::Connection as Conn>::BEGIN_RESET, reset, |ran| *ran).await;
            let why = match outcome {
                Ok(true) => return Ok(()),
                Ok(false) => StoreError::Busy(RESET_GATE_BUSY.to_owned()),
                Err(StoreError::Unavailable(why)) => {
                    table_tries += 1;
                    StoreError::Unavailable(why)
                }
                Err(e) => return Err(e),
            };
            if started.elapsed() >= RESET_BUDGET {
                return Err(why);
            }
            tracing::debug!(table_tries, %why, "the data reset gave way to writers; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_millis(RESET_MAX_BACKOFF_MS));
        }
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn counts(&self) -> StoreResult<Counts> {
        read!(self, bulk::counts)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_users(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<(User, Option<UserPreferences>)>> {
        read!(self, bulk::scan_users, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_venues(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Venue>> {
        read!(self, bulk::scan_venues, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_interactions(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Interaction>> {
        read!(self, bulk::scan_interactions, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_edges(&self, after: Option<(UserId, UserId)>, limit: u32) -> StoreResult<Vec<SocialEdge>> {
        read!(self, bulk::scan_edges, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_interests(&self, after: Option<(UserId, VenueId)>, limit: u32) -> StoreResult<Vec<VenueInterest>> {
        read!(self, bulk::scan_interests, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_bookings(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<domain::Booking>> {
        read!(self, bulk::scan_bookings, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_live_locations(
        &self,
        since: Timestamp,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<crate::LiveLocation>> {
        read!(self, users::scan_live_locations, since, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %location.user_id), err(level = "debug"))]
    async fn set_live_location(&self, location: crate::LiveLocation) -> StoreResult<()> {
        write_tx!(self, users::set_live_location, &location)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), user_id = %user_id), err(level = "debug"))]
    async fn get_live_location(&self, user_id: UserId) -> StoreResult<Option<crate::LiveLocation>> {
        read!(self, users::get_live_location, user_id)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn scan_pending_friend_requests(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<FriendRequest>> {
        read!(self, social::scan_pending_friend_requests, after, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), event = event.event_type()), err(level = "debug"))]
    async fn record_event(&self, event: DomainEvent) -> StoreResult<Id> {
        write_tx!(self, crate::ops::record, &event)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), %event_type), err(level = "debug"))]
    async fn record_service_event(
        &self,
        channel: domain::Channel,
        event_type: &str,
        data: domain::Payload,
    ) -> StoreResult<Id> {
        write_tx!(self, crate::ops::record_service, channel, event_type, &data)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = limit), err(level = "debug"))]
    async fn unpublished_events(&self, limit: u32) -> StoreResult<Unpublished> {
        read!(self, outbox::unpublished_events, limit)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = rows.len()), err(level = "debug"))]
    async fn set_aside_events(&self, rows: &[UnreadableEvent]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        write_tx!(self, outbox::set_aside, rows)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), limit = page.limit), err(level = "debug"))]
    async fn dead_letters(&self, page: PageRequest) -> StoreResult<Page<DeadLetter>> {
        read!(self, outbox::dead_letters, page)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = ids.map(<[Id]>::len)), err(level = "debug"))]
    async fn redrive_dead_letters(&self, ids: Option<&[Id]>) -> StoreResult<u64> {
        if ids.is_some_and(<[Id]>::is_empty) {
            return Ok(0);
        }
        write_tx!(self, outbox::redrive, ids)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str(), n = ids.len()), err(level = "debug"))]
    async fn mark_published(&self, ids: &[Id]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        write_tx!(self, outbox::mark_published, ids)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn relay_lease(&self) -> StoreResult<Option<crate::RelayLease>> {
        self.within_reach(
            &self.write,
            crate::ops::relay_lease::acquire(&self.write, self.reach.clone(), &self.relay_turn),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn status_counts(&self) -> StoreResult<crate::StatusCounts> {
        read!(self, crate::ops::status_counts::status_counts)
    }

    async fn set_password(&self, user_id: UserId, password_hash: &str) -> StoreResult<()> {
        write_tx!(self, auth::set_password, user_id, password_hash)
    }

    async fn password_hash(&self, login: &str) -> StoreResult<Option<(UserId, String)>> {
        read!(self, auth::password_hash, login)
    }

    async fn insert_refresh_token(&self, user_id: UserId, token_hash: &str, expires_at: Timestamp) -> StoreResult<()> {
        write_tx!(self, auth::insert_refresh_token, user_id, token_hash, expires_at)
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
        reuse_grace: chrono::Duration,
    ) -> StoreResult<Option<UserId>> {
        write_tx!(self, auth::rotate_refresh_token, old_hash, new_hash, expires_at, reuse_grace)
    }

    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<u64> {
        write_tx!(self, auth::revoke_refresh_family, token_hash)
    }

    async fn init_server_secret(&self, name: ServerSecret, value: &str) -> StoreResult<String> {
        write_tx!(self, auth::init_server_secret, name, value)
    }

    async fn put_server_secret(&self, name: ServerSecret, value: &str) -> StoreResult<()> {
        write_tx!(self, auth::put_server_secret, name, value)
    }

    async fn server_secret(&self, name: ServerSecret) -> StoreResult<Option<String>> {
        read!(self, auth::server_secret, name)
    }

    #[tracing::instrument(skip_all, fields(db = self.backend().as_str()), err(level = "debug"))]
    async fn check_invariants(&self) -> StoreResult<Vec<crate::Violation>> {
        read!(self, crate::ops::check::check_invariants)
    }
}
