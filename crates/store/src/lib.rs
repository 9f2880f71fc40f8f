//! Storage: the source of truth. One [`Store`] trait sized to use cases, with a SQLite
//! implementation (the embedded default) and a PostgreSQL one. Every method is one
//! transaction; every write records its [`DomainEvent`]s in the outbox table in that same
//! transaction, so nothing is published that was not committed and nothing committed is lost.
//! Invariants (unique handles and emails, foreign keys, ranges, no self-friendship) are
//! constraints in the database, not only checks in Rust.
//!
//! Both backends run the same use-case code (`ops`, generic over a small `Conn` seam in `sql`)
//! and the same SQL; `sqlite.rs` and `postgres.rs` hold only what truly differs: connecting,
//! how values are bound, the migrations, and which indexes a bulk load may defer.

pub mod booking;
mod error;
mod ops;
pub mod postgres;
mod reach;
mod sql;
pub mod sqlite;
mod store;

use async_trait::async_trait;
use domain::inventory::Hold;
use domain::{
    AutoBooked, Booked, Booking, BookingId, BookingStatus, Category, DomainEvent, FriendRequest, Id, Interaction,
    LatLng, NewInteraction, NewPlan, NewUser, NewVenue, Page, PageRequest, Plan, PlanId, PlanParticipant,
    RelationshipType, SeatOutcome, SocialEdge, Timestamp, User, UserId, UserPatch, UserPreferences, Venue, VenueId,
    VenueInterest, VenuePatch,
};
use serde::Serialize;
use std::sync::Arc;

pub use booking::{BookingQuery, IdempotencyKey, Idempotent, NewBooking};
pub use error::{StoreError, StoreResult};
pub use ops::bulk::Progress as BatchProgress;
pub use ops::bulk::RESET_GATE;
pub use ops::relay_lease::CHECK_CAP as RELAY_LEASE_CHECK_CAP;
/// For tests only: shortens the relay lease check's cap for every store of the process.
#[doc(hidden)]
pub use ops::relay_lease::set_check_cap as set_relay_lease_check_cap;
pub use store::SqlStore;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A secret every server on one database shares, kept in `server_secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSecret {
    /// The key that signs access tokens (base64).
    SigningSecret,
    /// The SHA-256 (hex) of the admin token.
    AdminTokenHash,
    /// The database's id: random, stored by the first server, never changed (a reset keeps
    /// it). Not secret: it binds the Redis key prefix to this database.
    DatabaseId,
}

impl ServerSecret {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerSecret::SigningSecret => "signing_secret",
            ServerSecret::AdminTokenHash => "admin_token_hash",
            ServerSecret::DatabaseId => "database_id",
        }
    }
}

/// Filters for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Handles starting with this (lower-case) prefix.
    pub handle_prefix: Option<String>,
    pub persona: Option<domain::Persona>,
}

/// Filters for listing and searching venues. All are optional and combine with AND.
#[derive(Debug, Clone, Default)]
pub struct VenueQuery {
    /// Case-insensitive substring of the name, description, cuisine or tags.
    pub text: Option<String>,
    pub category: Option<Category>,
    pub price_min: Option<i16>,
    pub price_max: Option<i16>,
    /// Only venues within `radius_km` of `center`.
    pub near: Option<(LatLng, f64)>,
}

/// A friend of a user, with the edge that links them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Friend {
    pub user: User,
    pub relationship_type: RelationshipType,
    pub strength: f64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub since: Timestamp,
}

/// Which friend requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestDirection {
    Incoming,
    Outgoing,
}

/// Which of a user's plans to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRole {
    /// Plans the user organises.
    Organizer,
    /// Plans someone else organises and the user is invited to (whatever their answer).
    Invited,
}

/// An event waiting in (or taken from) the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub id: Id,
    pub event: DomainEvent,
    pub created_at: Timestamp,
}

/// An outbox row this version cannot decode, as a newer server sharing the database writes
/// during a rolling upgrade (a type, or a value in a known type's data, this version does not
/// have): the relay forwards it as it is (consumers that cannot read it skip it, newer ones
/// read it).
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignEvent {
    pub id: Id,
    pub channel: domain::Channel,
    pub event_type: String,
    pub data: domain::Payload,
    pub created_at: Timestamp,
    /// Why this version cannot decode it.
    pub why: String,
}

/// An outbox row that cannot be published at all (its payload not JSON, its channel unknown;
/// the schema's checks keep both out, so only a row written around them): the relay sets it
/// aside ([`Store::set_aside_events`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableEvent {
    pub id: Id,
    pub event_type: String,
    /// Why it cannot be read.
    pub reason: String,
}

/// An outbox row set aside as a dead letter ([`Store::set_aside_events`]), as it is stored, for
/// operators to look at and send back ([`Store::redrive_dead_letters`]).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// Its outbox id (the `source_id` its event carries once published).
    #[schema(value_type = String, format = Uuid)]
    pub id: Id,
    /// The channel as stored (it may be one this version does not know).
    pub channel: String,
    pub event_type: String,
    /// The payload as stored, as text: it may not be JSON.
    pub payload: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub created_at: Timestamp,
    /// When the relay set it aside.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub dead_at: Timestamp,
    /// Why the relay could not publish it.
    pub dead_reason: Option<String>,
}

/// The oldest outbox rows waiting for the relay, each list in id order: those it can publish
/// (its own events, and newer versions' it forwards as they are) and those it cannot read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unpublished {
    pub events: Vec<OutboxRecord>,
    /// Services' events ([`Store::record_service_event`]: on a channel domain events do not
    /// travel on), published as they are; `why` is empty.
    pub service: Vec<ForeignEvent>,
    pub foreign: Vec<ForeignEvent>,
    pub unreadable: Vec<UnreadableEvent>,
}

/// What a write returns, with the outbox id of the event it recorded in the same transaction:
/// the `source_id` the engine follower will hear it under. The writing server applies the event
/// to its own engine at once under that id, so whichever of the two comes second skips it: the
/// follower's copy, or the writer's own apply when the follower got there first (and may have
/// applied a newer version of the same row, written elsewhere a moment later, which an older
/// one applied after it would overwrite).
#[derive(Debug, Clone, PartialEq)]
pub struct Written<T> {
    /// What the write returns (the row as stored).
    pub value: T,
    /// The id of the outbox row of the write's event (its `source_id` on the bus).
    pub event_id: Id,
}

/// An interaction as stored, and the interest it added: an `interest` logged by a user not yet
/// among those who want to go there adds them (as `InterestExpressed`, recorded with it).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedInteraction {
    pub interaction: Interaction,
    pub interest: Option<domain::VenueInterest>,
}

/// The last location a user's app sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveLocation {
    pub user_id: UserId,
    pub lat: f64,
    pub lng: f64,
    pub at: Timestamp,
}

/// Row counts, for stats and for "is this database seeded?".
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub users: u64,
    pub venues: u64,
    pub interactions: u64,
    pub social_edges: u64,
    pub friend_requests: u64,
    pub venue_interests: u64,
    pub plans: u64,
    pub bookings: u64,
    pub outbox_pending: u64,
    /// Outbox rows set aside as unpublishable (dead letters), kept for operators.
    pub outbox_dead: u64,
}

/// Bookings per status and users with a persona (the generated, simulated ones), for stats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusCounts {
    /// Every status, in [`domain::BookingStatus::ALL`] order, with its count.
    pub bookings: Vec<(domain::BookingStatus, u64)>,
    pub users_with_persona: u64,
}

/// Held by the one outbox relay allowed to publish now (see [`Store::relay_lease`]). Give it
/// back with [`RelayLease::release`]; dropping it without that (a cancelled task) frees it too.
pub struct RelayLease(Box<dyn ops::relay_lease::Held>);

impl RelayLease {
    /// Whether this holder still has the lease. On PostgreSQL the lock belongs to the lease's
    /// session, which PostgreSQL ends once it has been idle for 5 s (a frozen process: a relay
    /// keeps the session busy while it waits on a slow bus) and another relay may then take
    /// it: a relay checks before it publishes and before it marks events published, and stops
    /// its pass when it has lost the lease. A check PostgreSQL answers late is waited for (the
    /// session is busy meanwhile, so it keeps the lock) for up to [`RELAY_LEASE_CHECK_CAP`];
    /// a database that no longer answers a new connection, or no answer by then (a hung
    /// session, a connection gone half-open), makes it count as lost; at the cap its session is
    /// also ended (`pg_terminate_backend`), so the lock is freed for another relay at once.
    /// A lost lease's connection is closed; releasing it afterwards does nothing. Always true
    /// on SQLite (one process).
    pub async fn still_held(&mut self) -> bool {
        self.0.still_held().await
    }

    pub async fn release(self) {
        self.0.release().await
    }
}

/// A batch of rows written without per-row events (seeding and import). The caller records one
/// summary event. Rows must be consistent with each other and with what is already stored.
/// Participants may come in `participants`, inside each plan's `participants`, or both: each
/// (plan, user) pair is written once.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub users: Vec<User>,
    pub preferences: Vec<(UserId, UserPreferences)>,
    pub venues: Vec<Venue>,
    pub edges: Vec<SocialEdge>,
    pub interactions: Vec<Interaction>,
    pub interests: Vec<VenueInterest>,
    pub plans: Vec<Plan>,
    pub participants: Vec<PlanParticipant>,
    pub bookings: Vec<Booking>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.users.len()
            + self.preferences.len()
            + self.venues.len()
            + self.edges.len()
            + self.interactions.len()
            + self.interests.len()
            + self.plans.len()
            + self.participants.len()
            + self.bookings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The storage contract. Implementations: [`sqlite::SqliteStore`], [`postgres::PostgresStore`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Cheap liveness check (`SELECT 1`).
    async fn ping(&self) -> StoreResult<()>;
    /// Whether the database can be reached now, whether or not the pool has a connection free:
    /// [`StoreError::Unreachable`] when connections to it are refused, reset or not answered.
    /// PostgreSQL: the verdict of the store's reachability probe, remembered for a second, or a
    /// fresh connection attempt (1.5 s at most). SQLite: always `Ok` (the file is local). `/health`
    /// asks it when its ping waits long, to tell a busy pool from a database that is gone.
    async fn reachable(&self) -> StoreResult<()>;
    /// Applies pending migrations (also done by `connect`).
    async fn migrate(&self) -> StoreResult<()>;

    // ---- users ----
    /// Inserts a user (and its preferences, if given) and a `user.created` event.
    /// `Conflict` on a taken handle or email.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    async fn get_user_by_handle(&self, handle: &str) -> StoreResult<User>;
    /// Of `ids`, the users that exist, in the order asked, each once (a repeated id counts at
    /// its first place); ids of no user (never one, or deleted) are left out. One query per
    /// thousand distinct ids.
    async fn users_by_ids(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;
    /// Users in id order, filtered.
    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>>;
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<Written<User>>;
    /// Deletes the user and everything that hangs off it (edges, interactions, interests,
    /// their places on plans...). First, with their events: upcoming bookings the user made are
    /// cancelled (returned) and holds under way given back, plans they organise that are being
    /// organised are cancelled, and their invitations to others' such plans declined; others'
    /// bookings keep their seats without them among their group members. The plans they
    /// organised stay, with no organizer, and the bookings they made stay, with no booker
    /// (`user_id` null: finished or cancelled ones only), as their party and the venue saw them.
    /// `Conflict` while a confirmed booking they made is under way (its seats are in use).
    async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<Vec<Booking>>;
    /// The user's preferences, or the defaults when none were set. `NotFound` for no such user.
    async fn get_preferences(&self, id: UserId) -> StoreResult<UserPreferences>;
    async fn put_preferences(&self, id: UserId, prefs: UserPreferences) -> StoreResult<Written<UserPreferences>>;

    // ---- venues ----
    async fn create_venue(&self, new: NewVenue) -> StoreResult<Venue>;
    async fn get_venue(&self, id: VenueId) -> StoreResult<Venue>;
    /// Of `ids`, those of venues that exist and are not deleted, in no order.
    async fn live_venues(&self, ids: &[VenueId]) -> StoreResult<Vec<VenueId>>;
    /// Of `ids`, those of venues that were deleted, in no order: a deleted venue keeps its id,
    /// which no new venue may take, though no other read returns it.
    async fn deleted_venues(&self, ids: &[VenueId]) -> StoreResult<Vec<VenueId>>;
    /// Venues in id order matching every filter of `query`.
    async fn list_venues(&self, query: &VenueQuery, page: PageRequest) -> StoreResult<Page<Venue>>;
    async fn update_venue(&self, id: VenueId, patch: VenuePatch) -> StoreResult<Written<Venue>>;
    /// Deletes a venue as of `now`. `Conflict` naming `venue_id` while bookings there have yet
    /// to start or plans there are being organised, unless `force`, which cancels them first
    /// (with their events) and returns the bookings so cancelled. `NotFound` for no such venue.
    /// Its interactions and interests go; its bookings and plans stay in their people's history,
    /// while every venue read and every new interaction, interest, plan or booking there is
    /// `NotFound`.
    async fn delete_venue(&self, id: VenueId, now: Timestamp, force: bool) -> StoreResult<Vec<Booking>>;

    // ---- interactions ----
    /// `NotFound` if the user or the venue does not exist.
    async fn record_interaction(&self, new: NewInteraction) -> StoreResult<RecordedInteraction>;
    /// A user's interactions in id order (which is time order). `NotFound` for an unknown user.
    async fn list_user_interactions(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Interaction>>;

    // ---- social graph ----
    /// `Invalid` for a request to oneself, `Conflict` if already friends or a request is pending
    /// between the two (either way), `NotFound` for an unknown user.
    async fn send_friend_request(&self, from: UserId, to: UserId) -> StoreResult<FriendRequest>;
    /// Answers a pending request addressed to `to`. Accepting creates the friendship (two
    /// `friend` edges, strength 0.5; an existing edge becomes `friend` and keeps its strength)
    /// in the same transaction. `NotFound` if no such request is addressed to `to`, `Conflict`
    /// if it was already answered.
    async fn answer_friend_request(
        &self,
        request_id: Id,
        to: UserId,
        accept: bool,
    ) -> StoreResult<Written<FriendRequest>>;
    /// A page of the *pending* requests to (incoming) or from (outgoing) a user, or both when
    /// `direction` is `None`, in one order across pages: by id (oldest first), both directions
    /// merged; the cursor is the last one's id. `NotFound` for an unknown user.
    async fn list_friend_requests(
        &self,
        user_id: UserId,
        direction: Option<RequestDirection>,
        page: PageRequest,
    ) -> StoreResult<Page<FriendRequest>>;
    /// Users with an edge from `user_id`, in one order across pages: friends, then mutual, then
    /// suggested connections, each strongest first, then by id (the cursor is the last one's
    /// id). `NotFound` for an unknown user; `Invalid` naming `after` when the cursor's edge is gone.
    async fn list_friends(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Friend>>;
    /// Removes the edges both ways (of any relationship type). `NotFound` if they were not
    /// connected.
    async fn remove_friend(&self, user_id: UserId, other: UserId) -> StoreResult<Written<()>>;
    /// Of `others`, those tied to `user_id` as friends (a `friend` or `mutual` edge either way;
    /// `suggested` is no tie), in no order.
    async fn connected(&self, user_id: UserId, others: &[UserId]) -> StoreResult<Vec<UserId>>;
    /// Records that `user_id` wants to go to `venue_id` (upsert: the newest call's wish replaces
    /// the old one, every field of it, `None`s included; `created_at` stays). The wish is stored
    /// as given (the caller resolves its part of the day). `NotFound` for an unknown user or
    /// venue.
    async fn express_interest(
        &self,
        user_id: UserId,
        venue_id: VenueId,
        wish: domain::InterestWish,
    ) -> StoreResult<Written<VenueInterest>>;

    // ---- plans ----
    /// Proposes a plan: the organizer takes part (accepted), the invitees are invited
    /// (`plan.created`, then `invitation.sent` each). `NotFound` for an unknown user or venue.
    async fn create_plan(&self, new: NewPlan) -> StoreResult<Plan>;
    /// The plan with its participants.
    async fn get_plan(&self, id: PlanId) -> StoreResult<Plan>;
    /// Invites more people to a pending plan (those already on it stay as they are).
    /// `Conflict` once the plan is confirmed or cancelled.
    async fn invite_to_plan(&self, plan_id: PlanId, users: Vec<UserId>) -> StoreResult<Plan>;
    /// An invitee accepts or declines (and may change their mind while the plan is pending).
    /// `NotFound` unless invited; `Conflict` once the plan is confirmed or cancelled, or
    /// ("the plan is full") when accepting would make the party larger than the venue seats,
    /// counted in the transaction, so acceptances racing for the last place never both get in.
    async fn answer_plan_invitation(&self, plan_id: PlanId, user_id: UserId, accept: bool) -> StoreResult<Plan>;
    /// The organizer calls off a plan still being organised: cancelled in one transaction with
    /// its `plan.cancelled` event, as when its organizer or venue is deleted. `NotFound` for no
    /// such plan; `Conflict` (field `status`) when it is cancelled already, when it is confirmed
    /// (its booking is to be cancelled instead, which cancels the plan too; the message names
    /// it), or while a hold of it waits on an outside provider.
    async fn cancel_plan(&self, plan_id: PlanId) -> StoreResult<Plan>;
    /// Cancels up to `limit` plans still being organised whose start time has come by `now`
    /// (earliest first), each in the transaction with its `plan.cancelled` event: never booked,
    /// they can no longer be. One whose hold waits on an outside provider is left to its hold.
    /// Two servers sweeping at once never cancel one plan twice (rows locked as picked, skipping
    /// those another holds). Returns the plans cancelled.
    async fn cancel_expired_plans(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Plan>>;
    /// The organizer moves a plan still being organised to `start_time` (and `venue_id` when
    /// given): invitees' answers go back to `invited` (they were for another evening), with a
    /// `plan.rescheduled` event in the transaction; the same time and venue change nothing.
    /// `NotFound` for no such plan or venue; `Conflict` (field `status`) unless the plan is
    /// pending or while a hold of it waits on an outside provider; `Conflict` ("the plan is
    /// full") when the new venue cannot seat its party.
    async fn reschedule_plan(
        &self,
        plan_id: PlanId,
        start_time: Timestamp,
        venue_id: Option<VenueId>,
    ) -> StoreResult<Plan>;
    /// A page of the plans a user organises or is invited to (`role` picks one side, `status`
    /// one status), each with its participants, in id order across pages (the cursor is the
    /// last one's id). `NotFound` for an unknown user.
    async fn list_user_plans(
        &self,
        user_id: UserId,
        role: Option<PlanRole>,
        status: Option<domain::PlanStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Plan>>;

    // ---- bookings ----
    /// Takes seats for `new` if the venue has room at the busiest moment of the stay, in one
    /// transaction that locks the venue first (race-free on both backends). A `Confirmed` booking
    /// is made at once (with its invitations, and its plan confirmed); a `Pending` one holds the
    /// seats until [`Store::confirm_hold`] or [`Store::release_hold`]. A full slot is answered
    /// [`SeatOutcome::Full`] and recorded. With a key: replayed if the key was used with the
    /// same request; `Invalid` (field `idempotency_key`) with another; `KeyInFlight` while in flight.
    /// `Conflict` with field `confirmation_code` when the code is taken (draw another).
    async fn book(&self, new: NewBooking, key: Option<IdempotencyKey>) -> StoreResult<Idempotent<SeatOutcome>>;
    /// Confirms a hold (its provider said yes) and saves the key's answer.
    async fn confirm_hold(&self, id: BookingId, key: Option<IdempotencyKey>) -> StoreResult<Booked>;
    /// Deletes a pending hold and frees the key; returns whether a hold was released.
    async fn release_hold(&self, id: BookingId, reason: &str, key: Option<IdempotencyKey>) -> StoreResult<bool>;
    /// Books several groups at one venue in one transaction (see `ops::seats::auto_book`).
    /// `flexible` are the members who may be let go when their group does not fit (down to
    /// `min_group` people, at least two);
    /// `turn_by_party[n]` is the stay of a party of `n` there, for a group that loses members.
    async fn auto_book(
        &self,
        venue_id: VenueId,
        groups: Vec<NewBooking>,
        flexible: Vec<uuid::Uuid>,
        min_group: usize,
        turn_by_party: Vec<i32>,
        key: Option<IdempotencyKey>,
    ) -> StoreResult<Idempotent<AutoBooked>>;
    /// Moves a booking along its state machine at time `at`. `Conflict` for an illegal move.
    async fn set_booking_status(&self, id: BookingId, next: BookingStatus, at: Timestamp) -> StoreResult<Booking>;
    async fn get_booking(&self, id: BookingId) -> StoreResult<Booking>;
    /// The plan's booking (the one holding seats, else the latest).
    async fn plan_booking(&self, plan_id: PlanId) -> StoreResult<Booking>;
    /// Bookings in id order, filtered.
    async fn list_bookings(&self, query: &BookingQuery, page: PageRequest) -> StoreResult<Page<Booking>>;
    /// What the bookings of a venue hold over `[from, to)`. `NotFound` for no such venue.
    async fn venue_holds(&self, venue_id: VenueId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<Hold>>;
    /// Interests in a venue that auto-booking can act on: those with a preferred time at or
    /// after `from`, in time order, then those with a part of the day and no time (flexible);
    /// each kind then in the order they were expressed, then by user. Closed ones included. A
    /// flexible interest is left out while its user holds an upcoming booking at the venue (not
    /// cancelled, ending after `from`), as booker or group member: it is never consumed.
    async fn venue_interests(&self, venue_id: VenueId, from: Timestamp) -> StoreResult<Vec<VenueInterest>>;
    /// Holds pending since before `before`, oldest first.
    async fn stale_holds(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<Booking>>;
    /// The saved answer of the first request with `key` (see `ops::idempotency::answer`):
    /// `None` for a new key or one in flight, `Invalid` if it carried another request.
    async fn idempotent_answer(&self, key: &IdempotencyKey) -> StoreResult<Option<serde_json::Value>>;
    /// Removes idempotency keys in flight since before `in_flight_before` and answered ones
    /// older than `answered_before`.
    async fn purge_idempotency_keys(&self, in_flight_before: Timestamp, answered_before: Timestamp)
    -> StoreResult<u64>;

    // ---- bulk: seeding, import, reset, snapshot loading ----
    /// Writes a batch in one transaction with multi-row inserts; no per-row events. Rows are
    /// written in key order whatever order they come in.
    async fn insert_batch(&self, batch: Batch) -> StoreResult<()>;
    /// [`Store::insert_batch`], calling `progress` with the rows written so far after each
    /// statement (a long import says how far it is).
    async fn insert_batch_reporting(&self, batch: Batch, progress: BatchProgress<'_>) -> StoreResult<()>;
    /// Prepares for a long run of [`Store::insert_batch`] calls (seeding, import): drops the
    /// secondary indexes of the big tables (interactions, edges...), which would otherwise be
    /// updated at a random place for every row, so loading stays fast however big the tables
    /// grow. Constraints that guard invariants (handles, emails, foreign keys, checks) stay.
    /// Until [`Store::finish_bulk_load`], reads that use those indexes are slow and, on SQLite,
    /// answering a friend request fails and a duplicate interaction id or edge is not refused
    /// (the rebuild keeps its first copy; PostgreSQL refuses it at once as usual).
    async fn begin_bulk_load(&self) -> StoreResult<()>;
    /// Rebuilds what [`Store::begin_bulk_load`] dropped, by sorting (much faster than row by
    /// row). Connecting does it too, so an interrupted load heals on the next start; a no-op
    /// when nothing was dropped.
    async fn finish_bulk_load(&self) -> StoreResult<()>;
    /// Deletes every row of every table (users, venues, ... outbox) and records `data.reset`.
    async fn reset(&self) -> StoreResult<()>;
    async fn counts(&self) -> StoreResult<Counts>;
    /// Reads every row of one kind in id order, `limit` at a time, for building the in-memory
    /// engine at start-up.
    async fn scan_users(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<(User, Option<UserPreferences>)>>;
    async fn scan_venues(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Venue>>;
    async fn scan_interactions(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Interaction>>;
    /// Edges in (user_id, other_user_id) order after the given pair.
    async fn scan_edges(&self, after: Option<(UserId, UserId)>, limit: u32) -> StoreResult<Vec<SocialEdge>>;
    /// Expressed interests in (user_id, venue_id) order after the given pair.
    async fn scan_interests(&self, after: Option<(UserId, VenueId)>, limit: u32) -> StoreResult<Vec<VenueInterest>>;
    /// Bookings that are not cancelled, in id order after the given id.
    async fn scan_bookings(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Booking>>;
    /// Live locations sent at or after `since`, in user order after the given user.
    async fn scan_live_locations(
        &self,
        since: Timestamp,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<LiveLocation>>;
    /// Keeps a user's live location (unless a later one is kept already). `NotFound` for a user
    /// the store does not hold.
    async fn set_live_location(&self, location: LiveLocation) -> StoreResult<()>;
    /// A user's kept live location, however old (the reader judges freshness); `None` when the
    /// user never sent one.
    async fn get_live_location(&self, user_id: UserId) -> StoreResult<Option<LiveLocation>>;
    /// Pending friend requests in id order after the given id.
    async fn scan_pending_friend_requests(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<FriendRequest>>;

    // ---- outbox ----
    /// Records an event that has no other write (such as a served recommendation).
    async fn record_event(&self, event: DomainEvent) -> StoreResult<Id>;
    /// Records an event of a service that writes nothing else (the simulator's control events,
    /// on `simulation`), so it waits for the bus in the outbox and goes out in order with the
    /// rows before it, as a domain event does. Its data is kept as given; the relay publishes a
    /// row on a channel domain events do not travel on as it is ([`Unpublished::service`]).
    async fn record_service_event(
        &self,
        channel: domain::Channel,
        event_type: &str,
        data: domain::Payload,
    ) -> StoreResult<Id>;
    /// The oldest `limit` outbox rows neither published nor set aside, in id order, split into
    /// the events that read back and the rows that do not (one bad row never hides the rest).
    async fn unpublished_events(&self, limit: u32) -> StoreResult<Unpublished>;
    /// Marks events as published (they stay for a while for auditing, then are pruned).
    async fn mark_published(&self, ids: &[Id]) -> StoreResult<()>;
    /// Sets unreadable rows aside (dead letters): stamped with the time and their reason, no
    /// longer pending, kept for operators. Rows already published or set aside are left alone.
    async fn set_aside_events(&self, rows: &[UnreadableEvent]) -> StoreResult<()>;
    /// The dead letters (rows set aside) in id order, a page after `page.after`.
    async fn dead_letters(&self, page: PageRequest) -> StoreResult<Page<DeadLetter>>;
    /// Sends dead letters back to the relay, in one transaction: those of `ids` (`None`: all)
    /// that are set aside lose their `dead_at` and `dead_reason`, so they are pending again and
    /// the relay tries them in id order, before the rows still pending (rows published meanwhile
    /// went out before them). Rows not set aside
    /// (pending, published, unknown ids) are left alone. Returns how many were sent back.
    async fn redrive_dead_letters(&self, ids: Option<&[Id]>) -> StoreResult<u64>;
    /// The relay lease: `Some` when the caller may publish the outbox now, `None` while another
    /// relay (another server on the same database) holds it. PostgreSQL: an advisory lock, so
    /// servers sharing a database publish one at a time and per-channel order holds. SQLite
    /// (one process): an in-process lock, so a pass run at once beside the background relay
    /// takes its turn too.
    async fn relay_lease(&self) -> StoreResult<Option<RelayLease>>;

    // ---- stats ----
    async fn status_counts(&self) -> StoreResult<StatusCounts>;

    // ---- credentials ----
    /// Stores (or replaces) a user's password hash (an Argon2id PHC string).
    async fn set_password(&self, user_id: UserId, password_hash: &str) -> StoreResult<()>;
    /// The user whose handle or email is `login` (case-insensitive) and their password hash;
    /// `None` when there is no such user or they have no password.
    async fn password_hash(&self, login: &str) -> StoreResult<Option<(UserId, String)>>;
    /// Stores a refresh token's hash.
    async fn insert_refresh_token(&self, user_id: UserId, token_hash: &str, expires_at: Timestamp) -> StoreResult<()>;
    /// In one transaction: revokes the live refresh token `old_hash` and stores `new_hash` for
    /// its user. `None` when `old_hash` is unknown, expired or already used (rotation reuse); a
    /// reuse more than `reuse_grace` after the rotation also revokes every live token of the user.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
        reuse_grace: chrono::Duration,
    ) -> StoreResult<Option<UserId>>;
    /// Signs out one session: when `token_hash` is a live refresh token, deletes every refresh
    /// token of its family (those descended from the same sign-in) and returns how many; any
    /// other hash (unknown, used, revoked, expired) changes nothing and returns 0.
    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<u64>;
    /// The stored value of a server secret; `value` is stored first when there is none.
    async fn init_server_secret(&self, name: ServerSecret, value: &str) -> StoreResult<String>;
    /// Stores a server secret, replacing any.
    async fn put_server_secret(&self, name: ServerSecret, value: &str) -> StoreResult<()>;
    /// A server secret's value, if stored.
    async fn server_secret(&self, name: ServerSecret) -> StoreResult<Option<String>>;
    // ---- consistency ----
    /// Every broken invariant of the stored data (no overbooked slot, no orphan row, parties
    /// that count their members, no draft plan still to come with a party larger than its venue
    /// seats); empty when consistent. Reads only.
    async fn check_invariants(&self) -> StoreResult<Vec<Violation>>;
}

/// One broken invariant, found by [`Store::check_invariants`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// Which rule: `overbooked_slot`, `plan_over_capacity`, `orphan plan_participants.plan_id`, ...
    pub rule: String,
    /// What breaks it, naming the rows.
    pub detail: String,
}

impl Violation {
    pub fn new(rule: String, detail: String) -> Self {
        Self { rule, detail }
    }
}

/// A shared store handle.
pub type DynStore = Arc<dyn Store>;

/// Opens the store a URL names: `sqlite://path` or `postgres://...`. Creates the SQLite file
/// (and its folder) when missing and applies migrations.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Invalid(domain::ValidationError::field(
            "database_url",
            "must start with sqlite:, postgres:// or postgresql://",
        )))
    }
}
