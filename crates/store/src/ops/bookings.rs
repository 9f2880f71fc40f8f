//! Bookings: the row, reads (one, a plan's, filtered lists, what a venue holds), the state
//! machine's moves, and the janitor's queries. Taking seats lives in `ops::seats`.

use domain::inventory::{Hold, MAX_TURN_MINUTES};
use domain::{
    Booking, BookingId, BookingStatus, DomainEvent, Page, PageRequest, PlanId, PlanStatus, Timestamp, VenueId,
    VenueInterest,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::social::{InterestRow, interest_columns};
use super::{push_page, record};
use crate::booking::BookingQuery;
use crate::sql::{Conn, Sql, SqlBuilder, now};
use crate::{StoreError, StoreResult};

/// The columns of [`BookingRow`], in order.
macro_rules! booking_columns {
    () => {
        "id, user_id, venue_id, plan_id, booking_time, party_size, duration_minutes, status, confirmation_code, \
         provider, agent, group_members, special_requests, created_at, updated_at"
    };
}
pub(crate) use booking_columns;

/// One row of `bookings`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BookingRow {
    id: Uuid,
    user_id: Option<Uuid>,
    venue_id: Uuid,
    plan_id: Option<Uuid>,
    booking_time: Timestamp,
    party_size: i32,
    duration_minutes: i32,
    status: String,
    confirmation_code: String,
    provider: String,
    agent: String,
    group_members: Json<Vec<Uuid>>,
    special_requests: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl BookingRow {
    pub(crate) fn into_domain(self) -> StoreResult<Booking> {
        let status = BookingStatus::parse(&self.status).ok_or_else(|| StoreError::corrupt("status", &self.status))?;
        Ok(Booking {
            id: self.id,
            user_id: self.user_id,
            venue_id: self.venue_id,
            plan_id: self.plan_id,
            booking_time: self.booking_time,
            party_size: self.party_size,
            duration_minutes: self.duration_minutes,
            status,
            confirmation_code: self.confirmation_code,
            provider: self.provider,
            agent: self.agent,
            group_members: self.group_members.0,
            special_requests: self.special_requests,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) fn decode(rows: Vec<BookingRow>) -> StoreResult<Vec<Booking>> {
    rows.into_iter().map(BookingRow::into_domain).collect()
}

/// The booking, read with `suffix` appended (a row lock inside a write transaction).
async fn load<C: Conn>(c: &mut C, id: BookingId, suffix: &str) -> StoreResult<Booking> {
    let mut b = SqlBuilder::new(concat!("SELECT ", booking_columns!(), " FROM bookings WHERE id = "));
    b.bind(id).push(suffix);
    let row: Option<BookingRow> = c.fetch_optional(b.finish()).await?;
    row.ok_or_else(|| StoreError::not_found("booking", id))?.into_domain()
}

pub(crate) async fn get_booking<C: Conn>(c: &mut C, id: BookingId) -> StoreResult<Booking> {
    load(c, id, "").await
}

/// The plan's booking: the one holding seats, else the latest. `NotFound` when it has none.
pub(crate) async fn plan_booking<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<Booking> {
    let sql = Sql::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE plan_id = $1 \
         ORDER BY CASE WHEN status IN ('pending', 'confirmed') THEN 0 ELSE 1 END, id DESC LIMIT 1"
    ));
    let row: Option<BookingRow> = c.fetch_optional(sql.bind(plan_id)).await?;
    match row {
        Some(r) => r.into_domain(),
        None => {
            super::require(c, "plans", "plan", plan_id).await?;
            Err(StoreError::not_found("booking for plan", plan_id))
        }
    }
}

pub(crate) async fn list_bookings<C: Conn>(
    c: &mut C,
    q: &BookingQuery,
    page: PageRequest,
) -> StoreResult<Page<Booking>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", booking_columns!(), " FROM bookings"));
    if let Some(user) = q.user_id {
        let p = b.param(user);
        b.and().push(&format!(
            "(user_id = {p} OR id IN (SELECT booking_id FROM booking_invitations WHERE invitee_id = {p}) \
             OR plan_id IN (SELECT plan_id FROM plan_participants WHERE user_id = {p} AND status = 'accepted'))"
        ));
    }
    if let Some(venue) = q.venue_id {
        b.and().push("venue_id = ").bind(venue);
    }
    if let Some(status) = q.status {
        b.and().push("status = ").bind(status.as_str());
    }
    if let Some(from) = q.from {
        b.and().push("booking_time >= ").bind(from);
    }
    if let Some(to) = q.to {
        b.and().push("booking_time < ").bind(to);
    }
    push_page(&mut b, "id", page);
    let rows: Vec<BookingRow> = c.fetch_all(b.finish()).await?;
    Ok(Page::from_rows(decode(rows)?, page.limit, |b| b.id))
}

/// The bookings holding seats at `venue_id` at some point of `[from, to)`. Turn times are
/// bounded, so the scan reads only bookings that start in `(from - MAX_TURN, to)`.
pub(crate) async fn holding<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<Vec<Booking>> {
    holding_locked(c, venue_id, from, to, "").await
}

/// [`holding`], in id order, with `lock` appended (`C::FOR_UPDATE` for a write that ends them:
/// one ending a booking meanwhile is waited for, and the booking is then read as it became).
pub(crate) async fn holding_locked<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    from: Timestamp,
    to: Timestamp,
    lock: &str,
) -> StoreResult<Vec<Booking>> {
    let mut b = SqlBuilder::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE status IN ('pending', 'confirmed') AND venue_id = "
    ));
    let earliest = from - chrono::Duration::minutes(i64::from(MAX_TURN_MINUTES));
    b.bind(venue_id).push(" AND booking_time > ").bind(earliest).push(" AND booking_time < ").bind(to);
    if !lock.is_empty() {
        b.push(" ORDER BY id").push(lock);
    }
    let rows: Vec<BookingRow> = c.fetch_all(b.finish()).await?;
    Ok(decode(rows)?.into_iter().filter(|b| b.ends_at() > from).collect())
}

/// The bookings a user made that still hold seats (pending or confirmed), in id order, locked
/// (a janitor or a venue's deletion ending one meanwhile is waited for, and it is then not read).
pub(crate) async fn made_by<C: Conn>(c: &mut C, user_id: domain::UserId) -> StoreResult<Vec<Booking>> {
    let mut b = SqlBuilder::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE status IN ('pending', 'confirmed') AND user_id = "
    ));
    b.bind(user_id).push(" ORDER BY id").push(C::FOR_UPDATE);
    decode(c.fetch_all(b.finish()).await?)
}

/// Takes a deleted user out of the group members of other people's bookings, which keep their
/// seats (the party may still come as many). Locked in id order, as the user's own bookings are.
/// A hold still waiting on its provider is left as it is: its confirmation then fails on the
/// missing member and the hold is given back, so its maker books again knowing.
pub(crate) async fn forget_member<C: Conn>(c: &mut C, user_id: domain::UserId) -> StoreResult<()> {
    // A booking whose booker deleted their account (user_id null, 0013) is among the others'.
    let mut b =
        SqlBuilder::new(concat!("SELECT ", booking_columns!(), " FROM bookings WHERE (user_id IS NULL OR user_id <> "));
    // The JSON text as a first sieve (portable, and deletions are rare), then the exact list.
    b.bind(user_id).push(") AND status <> 'pending' AND CAST(group_members AS TEXT) LIKE ");
    b.bind(format!("%{user_id}%"));
    b.push(" ORDER BY id").push(C::FOR_UPDATE);
    let at = now();
    for booking in decode(c.fetch_all(b.finish()).await?)? {
        if !booking.group_members.contains(&user_id) {
            continue;
        }
        let rest: Vec<Uuid> = booking.group_members.into_iter().filter(|&m| m != user_id).collect();
        let sql = Sql::new("UPDATE bookings SET group_members = $1, updated_at = $2 WHERE id = $3");
        c.execute(sql.bind(crate::sql::Arg::json(&rest)?).bind(at).bind(booking.id)).await?;
    }
    Ok(())
}

/// Ends the bookings of something being deleted (a venue, a user) that still hold seats at
/// `now`: the upcoming ones are cancelled, each with its event (returned), and holds under way
/// (a provider still answering) are given back for `reason`. Confirmed bookings under way are
/// left as they are: their time has come, so they can no longer be cancelled.
pub(crate) async fn end_for_deletion<C: Conn>(
    c: &mut C,
    holding: Vec<Booking>,
    now: Timestamp,
    reason: &str,
) -> StoreResult<Vec<Booking>> {
    let (upcoming, under_way): (Vec<Booking>, Vec<Booking>) = holding.into_iter().partition(|b| b.booking_time > now);
    let mut cancelled = Vec::with_capacity(upcoming.len());
    for b in &upcoming {
        cancelled.push(set_status(c, b.id, BookingStatus::Cancelled, now).await?);
    }
    for b in under_way.iter().filter(|b| b.status == BookingStatus::Pending) {
        super::seats::release_hold(c, b.id, reason, None).await?;
    }
    Ok(cancelled)
}

/// The seats held at a venue over `[from, to)`.
pub(crate) async fn venue_holds<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<Vec<Hold>> {
    super::venues::require_venue(c, venue_id, "").await?;
    Ok(holding(c, venue_id, from, to).await?.iter().map(hold_of).collect())
}

pub(crate) fn hold_of(b: &Booking) -> Hold {
    Hold { start: b.booking_time, end: b.ends_at(), seats: b.party_size }
}

/// Interests in a venue with a preferred time at or after `from`, in time order, then those with
/// a part of the day and no time; each kind then in the order they were expressed, then by user.
/// A part-of-the-day interest never expires and booking does not consume it, so it is left out
/// while its user holds an upcoming booking there (pending or confirmed, ending after `from`),
/// as booker or group member: one query for the venue's upcoming bookings, not one per user.
pub(crate) async fn venue_interests<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    from: Timestamp,
) -> StoreResult<Vec<VenueInterest>> {
    super::venues::require_venue(c, venue_id, "").await?;
    let sql = Sql::new(concat!(
        "SELECT ",
        interest_columns!(),
        " FROM venue_interests WHERE venue_id = $1 \
         AND (preferred_time >= $2 OR (preferred_time IS NULL AND preferred_time_slot IS NOT NULL)) \
         ORDER BY CASE WHEN preferred_time IS NULL THEN 1 ELSE 0 END, preferred_time, created_at, user_id"
    ));
    let rows: Vec<InterestRow> = c.fetch_all(sql.bind(venue_id).bind(from)).await?;
    let interests: Vec<VenueInterest> = rows.into_iter().map(InterestRow::into_domain).collect::<StoreResult<_>>()?;
    if interests.iter().all(|i| i.preferred_time.is_some()) {
        return Ok(interests);
    }
    let sql = Sql::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE status IN ('pending', 'confirmed') AND venue_id = $1 AND booking_time > $2"
    ));
    let earliest = from - chrono::Duration::minutes(i64::from(MAX_TURN_MINUTES));
    let upcoming: Vec<Booking> = decode(c.fetch_all(sql.bind(venue_id).bind(earliest)).await?)?;
    let upcoming: Vec<&Booking> = upcoming.iter().filter(|b| b.ends_at() > from).collect();
    let booked = |u: &Uuid| upcoming.iter().any(|b| b.includes(*u));
    Ok(interests.into_iter().filter(|i| i.preferred_time.is_some() || !booked(&i.user_id)).collect())
}

/// Moves a booking along its state machine. `Conflict` for an illegal move, for completing
/// (or marking a no-show) before the booking's time, or for cancelling from its time on. Cancelling a plan's booking cancels the
/// plan. Cancelled, completed and no-show bookings hold no seats.
pub(crate) async fn set_status<C: Conn>(
    c: &mut C,
    id: BookingId,
    next: BookingStatus,
    at: Timestamp,
) -> StoreResult<Booking> {
    let current = load(c, id, C::FOR_UPDATE).await?;
    if !current.status.can_move_to(next) {
        let message = if current.status == next {
            format!("the booking is already {}", next.as_str())
        } else {
            format!("a {} booking cannot become {}", current.status.as_str(), next.as_str())
        };
        return Err(StoreError::conflict(message, Some("status")));
    }
    if matches!(next, BookingStatus::Completed | BookingStatus::NoShow) && at < current.booking_time {
        let message = format!(
            "the booking starts at {}; it cannot be {} before then",
            domain::time::written(&current.booking_time),
            next.as_str()
        );
        return Err(StoreError::conflict(message, Some("status")));
    }
    // Once its time has come, a booking was kept or not: calling it cancelled then would hide a
    // no-show.
    if next == BookingStatus::Cancelled && at >= current.booking_time {
        let message = format!(
            "the booking started at {}; it can no longer be cancelled, only completed or marked no_show",
            current.booking_time
        );
        return Err(StoreError::conflict(message, Some("status")));
    }
    let sql = Sql::new(concat!(
        "UPDATE bookings SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 RETURNING ",
        booking_columns!()
    ));
    let sql = sql.bind(next.as_str()).bind(now()).bind(id).bind(current.status.as_str());
    let row: Option<BookingRow> = c.fetch_optional(sql).await?;
    let booking =
        row.ok_or_else(|| StoreError::conflict("the booking changed meanwhile; retry", None))?.into_domain()?;
    record(c, &DomainEvent::BookingStatusChanged(booking.clone())).await?;
    if next == BookingStatus::Cancelled
        && let Some(plan_id) = booking.plan_id
    {
        let status = super::plans::get_plan(c, plan_id).await?.status;
        if status == PlanStatus::Confirmed {
            super::plans::move_plan(c, plan_id, PlanStatus::Confirmed, PlanStatus::Cancelled).await?;
        }
    }
    Ok(booking)
}

/// Holds still pending since before `before` (their agent died between its two transactions),
/// oldest first.
pub(crate) async fn stale_holds<C: Conn>(c: &mut C, before: Timestamp, limit: u32) -> StoreResult<Vec<Booking>> {
    let sql = Sql::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2"
    ));
    decode(c.fetch_all(sql.bind(before).bind(i64::from(limit))).await?)
}
