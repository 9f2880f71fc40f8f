//! Taking seats: the capacity check and the write in one transaction, race-free on both
//! backends. Each use case first locks the venue row (`SELECT ... FROM venues WHERE id = $1`
//! plus [`Conn::FOR_UPDATE`]: `FOR UPDATE` on PostgreSQL, nothing on SQLite where the write
//! transaction already holds the database's one write lock), so checks on one venue run one
//! after the other; then it reads what overlapping bookings hold, and inserts only if the party
//! fits at the busiest moment of its stay. The same user asking again for a table they hold at
//! that venue and time is a `Conflict`. A refusal is recorded (`booking.refused`) and, with
//! an idempotency key, saved as the key's answer like a success.

use std::collections::HashSet;

use domain::inventory::peak_seats;
use domain::{
    AutoBooked, Booked, Booking, BookingId, BookingStatus, DomainEvent, Invitation, ParticipantStatus, PlanStatus,
    SeatOutcome, SlotFull, VenueId,
};
use uuid::Uuid;

use super::bookings::{BookingRow, booking_columns, hold_of, holding};
use super::idempotency::{self, NextAction};
use super::{plans, record};
use crate::booking::{IdempotencyKey, Idempotent, NewBooking};
use crate::sql::{Arg, Conn, Sql, SqlBuilder, now};
use crate::{StoreError, StoreResult};

/// Locks the venue for this transaction; returns its capacity. `NotFound` for no such venue.
pub(crate) async fn lock_venue<C: Conn>(c: &mut C, venue_id: VenueId) -> StoreResult<i32> {
    let sql = super::venues::select_live_venue("capacity", venue_id, C::FOR_UPDATE);
    let row: Option<(i32,)> = c.fetch_optional(sql).await?;
    row.map(|(cap,)| cap).ok_or_else(|| StoreError::not_found("venue", venue_id))
}

/// Seats free at the busiest moment of the booking's stay, and the bookings overlapping it.
async fn seats_free<C: Conn>(c: &mut C, capacity: i32, new: &NewBooking) -> StoreResult<(i32, Vec<Booking>)> {
    let r = &new.request;
    let end = r.booking_time + chrono::Duration::minutes(i64::from(r.duration_minutes));
    let overlapping = holding(c, r.venue_id, r.booking_time, end).await?;
    let holds: Vec<_> = overlapping.iter().map(hold_of).collect();
    Ok((capacity - peak_seats(&holds, r.booking_time, end), overlapping))
}

fn full(new: &NewBooking, seats_free: i32, capacity: i32) -> SlotFull {
    let r = &new.request;
    SlotFull {
        user_id: r.user_id,
        venue_id: r.venue_id,
        booking_time: r.booking_time,
        party_size: r.party_size,
        duration_minutes: r.duration_minutes,
        seats_free: seats_free.max(0),
        capacity,
    }
}

async fn insert<C: Conn>(c: &mut C, new: &NewBooking) -> StoreResult<Booking> {
    let r = &new.request;
    let at = now();
    let sql = Sql::new(concat!(
        "INSERT INTO bookings (",
        booking_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING ",
        booking_columns!()
    ));
    let sql = sql.bind(new.id).bind(r.user_id).bind(r.venue_id).bind(r.plan_id).bind(r.booking_time);
    let sql = sql.bind(r.party_size).bind(r.duration_minutes).bind(new.status.as_str());
    let sql = sql.bind(new.confirmation_code.as_str()).bind(new.provider.as_str()).bind(new.agent.as_str());
    let sql = sql.bind(Arg::json(&r.group_members)?).bind(r.special_requests.as_deref()).bind(at);
    super::fetch_one::<_, BookingRow>(c, sql).await?.into_domain()
}

/// Invites a booking's group members (not for a plan's booking: its people were invited to
/// the plan) and records `booking.created`, plus `plan.confirmed` for a plan's booking.
async fn announce<C: Conn>(c: &mut C, booking: Booking) -> StoreResult<Booked> {
    let mut invitations = Vec::new();
    if booking.plan_id.is_none() && !booking.group_members.is_empty() {
        // A booking being made or confirmed has its booker: a deletion gives back their holds
        // first, and no pending booking is without one (bookings_user_id_check, 0013).
        let booker = booking.user_id.ok_or_else(|| StoreError::corrupt("user_id", "null on a booking being made"))?;
        let at = now();
        for &member in &booking.group_members {
            let sql = Sql::new(
                "INSERT INTO booking_invitations (booking_id, invitee_id, inviter_id, status, created_at, responded_at) \
                 VALUES ($1, $2, $3, 'pending', $4, NULL)",
            );
            c.execute(sql.bind(booking.id).bind(member).bind(booker).bind(at)).await?;
            invitations.push(Invitation {
                inviter_id: booker,
                invitee_id: member,
                venue_id: booking.venue_id,
                plan_id: None,
                booking_id: Some(booking.id),
                created_at: at,
            });
        }
    }
    record(c, &DomainEvent::BookingCreated(booking.clone())).await?;
    for i in &invitations {
        record(c, &DomainEvent::InvitationSent(i.clone())).await?;
    }
    let plan = match booking.plan_id {
        Some(plan_id) => Some(plans::move_plan(c, plan_id, PlanStatus::Draft, PlanStatus::Confirmed).await?),
        None => None,
    };
    Ok(Booked { booking, invitations, plan })
}

/// Checks what a plan's booking needs: the plan is pending, at this time and venue, for the party it
/// has now (the organizer and the guests who accepted), with no booking holding seats yet (the
/// venue lock serialises two confirmations of one plan). The plan's row is locked, as answers
/// and invitations lock it, so nobody joins or leaves between this check and the commit: a
/// guest who accepted after the caller read the plan would otherwise come without a seat.
///
/// `locked`: the people `book` locked before the venue; someone invited since it read the plan
/// was not, so the plan is refused as changed (confirming again locks them too).
async fn check_plan<C: Conn>(c: &mut C, new: &NewBooking, locked: &HashSet<Uuid>) -> StoreResult<()> {
    let Some(plan_id) = new.request.plan_id else { return Ok(()) };
    plans::lock_plan(c, plan_id).await?;
    let plan = plans::get_plan(c, plan_id).await?;
    let organizer = plans::organizer(&plan)?;
    if plan.status != PlanStatus::Draft {
        return Err(StoreError::conflict(format!("the plan is already {}", plan.status.as_str()), Some("status")));
    }
    if plan.participants.iter().any(|p| p.status != ParticipantStatus::Declined && !locked.contains(&p.user_id)) {
        let message = "someone was invited to the plan while it was being booked; confirm it again";
        return Err(StoreError::conflict(message, Some("invitees")));
    }
    // Rescheduled since the caller read it: booking the old time or venue would confirm the
    // plan with a table for an evening it no longer has. A 409: confirming again books the new one.
    if plan.start_time != new.request.booking_time || plan.venue_id != new.request.venue_id {
        let message = "the plan was rescheduled while it was being booked; confirm it again";
        return Err(StoreError::conflict(message, Some("start_time")));
    }
    let mut guests = plan.accepted_guests();
    let mut asked = new.request.group_members.clone();
    guests.sort_unstable();
    asked.sort_unstable();
    if plan.party() != new.request.party_size || guests != asked || organizer != new.request.user_id {
        let message = format!(
            "the plan's party changed while it was being booked (it is {} now); confirm it again",
            plan.party()
        );
        return Err(StoreError::conflict(message, Some("party_size")));
    }
    let sql = Sql::new("SELECT 1 FROM bookings WHERE plan_id = $1 AND status IN ('pending', 'confirmed')");
    let held: Option<(i32,)> = c.fetch_optional(sql.bind(plan_id)).await?;
    if held.is_some() {
        return Err(StoreError::conflict("the plan is being booked already", Some("status")));
    }
    Ok(())
}

/// The user's own booking of this venue at the same time (to the second: a stored time keeps
/// microseconds on PostgreSQL), if they hold one already, confirmed or still being confirmed: a
/// second request for it (a double tap, with no key or a fresh one) is a conflict, not a second
/// table. Plans count too: an organizer confirming a second plan there then, or booking besides
/// a plan's table, would hold two tables for one evening.
fn already_booked<'a>(new: &NewBooking, overlapping: &'a [Booking]) -> Option<&'a Booking> {
    let r = &new.request;
    if !new.refuse_double {
        return None;
    }
    let second = r.booking_time.timestamp();
    overlapping.iter().find(|b| b.made_by(r.user_id) && b.booking_time.timestamp() == second)
}

/// Books (status `Confirmed`) or holds (status `Pending`) seats if the venue has room at the
/// busiest moment of the stay; otherwise records the refusal. With a key, the answer is saved
/// for replay (a hold's answer is saved when it is confirmed).
pub(crate) async fn book<C: Conn>(
    c: &mut C,
    new: NewBooking,
    key: Option<IdempotencyKey>,
) -> StoreResult<Idempotent<SeatOutcome>> {
    if let Some(k) = &key
        && let NextAction::Replay(answer) = idempotency::begin(c, k).await?
    {
        return Ok(Idempotent::Replayed(answer));
    }
    // The booker and the group members, locked as the booking's and the invitations' foreign
    // keys will, before the venue and the plan (see `check_plan`): a deletion of one of them
    // locks them, then their plans, and its cascade to the rows it changed first (a plan or
    // booking of theirs it cancelled) checks their venue's key again (`FOR KEY SHARE`, waiting
    // for our `FOR UPDATE`), so taking them in the other order could deadlock with it (on
    // PostgreSQL, one of the two failed as unavailable: a 503).
    // For a plan's booking, its invitees who have not declined too (not in the party when they
    // have not answered): a deletion of one of them locks them, cancels their own table (at this
    // venue, it may be), then locks the plan to decline for them, and its cascade checks that
    // venue's key, while we held the venue and waited for the plan.
    let people: Vec<Uuid> = std::iter::once(new.request.user_id).chain(new.request.group_members.clone()).collect();
    let invitees = match new.request.plan_id {
        Some(plan_id) => undeclined_invitees(c, plan_id).await?,
        None => Vec::new(),
    };
    let present = lock_present_users(c, people.iter().chain(&invitees).copied().collect()).await?;
    if let Some(missing) = people.iter().find(|u| !present.contains(u)) {
        return Err(StoreError::not_found("user", *missing));
    }
    let capacity = lock_venue(c, new.request.venue_id).await?;
    let locked: HashSet<Uuid> = people.into_iter().chain(invitees).collect();
    check_plan(c, &new, &locked).await?;
    let (free, overlapping) = seats_free(c, capacity, &new).await?;
    if let Some(held) = already_booked(&new, &overlapping) {
        // A plan's time is its `start_time`, and the one holding the table its organizer.
        let (who, field) = if new.request.plan_id.is_some() {
            ("the plan's organizer", "start_time")
        } else {
            ("this user", "booking_time")
        };
        return Err(StoreError::conflict(
            format!(
                "{who} already holds booking {} here at that time, {}",
                held.id,
                domain::time::written(&held.booking_time)
            ),
            Some(field),
        ));
    }
    let outcome = if free < new.request.party_size {
        let refused = full(&new, free, capacity);
        record(c, &DomainEvent::BookingRefused(refused.clone())).await?;
        SeatOutcome::Full(refused)
    } else {
        let booking = insert(c, &new).await?;
        if booking.status == BookingStatus::Pending {
            record(c, &DomainEvent::BookingHeld(booking.clone())).await?;
            return Ok(Idempotent::Fresh(SeatOutcome::Booked(Booked { booking, invitations: vec![], plan: None })));
        }
        SeatOutcome::Booked(announce(c, booking).await?)
    };
    if let Some(k) = &key {
        let status = if matches!(outcome, SeatOutcome::Booked(_)) { 201 } else { 409 };
        idempotency::finish(c, k, status, &outcome).await?;
    }
    Ok(Idempotent::Fresh(outcome))
}

/// Confirms a hold once its provider said yes. `Conflict` if it is no longer pending (it
/// expired and was released); `NotFound` user if one of its group members was deleted meanwhile
/// (the caller gives the hold back).
pub(crate) async fn confirm_hold<C: Conn>(
    c: &mut C,
    id: BookingId,
    key: Option<IdempotencyKey>,
) -> StoreResult<Booked> {
    let released = || StoreError::conflict("the hold was released before the provider answered", None);
    // The booker and the group members, locked as the invitations' foreign keys will, before the
    // hold's row (as `book` locks them before the venue): a deletion of the booker locks them,
    // then their bookings, the hold among them, to give it back; updating the hold first and
    // locking them for the invitations could deadlock with it (on PostgreSQL, one of the two
    // failed as unavailable: a 503). Read unlocked: a hold's people do not change while it is
    // pending (`forget_member` leaves holds alone), and the update below reads it again.
    let hold = super::bookings::get_booking(c, id).await?;
    if hold.status != BookingStatus::Pending {
        return Err(released());
    }
    let present = lock_present_users(c, hold.user_id.into_iter().chain(hold.group_members).collect()).await?;
    let sql = Sql::new(concat!(
        "UPDATE bookings SET status = 'confirmed', updated_at = $1 WHERE id = $2 AND status = 'pending' RETURNING ",
        booking_columns!()
    ));
    let row: Option<BookingRow> = c.fetch_optional(sql.bind(now()).bind(id)).await?;
    let Some(row) = row else {
        super::bookings::get_booking(c, id).await?;
        return Err(released());
    };
    let booking = row.into_domain()?;
    let mut people = booking.user_id.into_iter().chain(booking.group_members.iter().copied());
    if let Some(missing) = people.find(|u| !present.contains(u)) {
        return Err(StoreError::not_found("user", missing));
    }
    let booked = announce(c, booking).await?;
    if let Some(k) = &key {
        idempotency::finish(c, k, 201, &SeatOutcome::Booked(booked.clone())).await?;
    }
    Ok(booked)
}

/// Gives a hold back (its provider failed, or it expired): the pending booking is deleted, so
/// no half-made booking remains, `booking.released` is recorded, and the key (if any) is freed
/// for a retry. Returns whether there was such a hold; when there was none (released already),
/// the key is left alone: it may be a newer request's by now.
pub(crate) async fn release_hold<C: Conn>(
    c: &mut C,
    id: BookingId,
    reason: &str,
    key: Option<IdempotencyKey>,
) -> StoreResult<bool> {
    let sql =
        Sql::new(concat!("DELETE FROM bookings WHERE id = $1 AND status = 'pending' RETURNING ", booking_columns!()));
    let row: Option<BookingRow> = c.fetch_optional(sql.bind(id)).await?;
    let Some(row) = row else { return Ok(false) };
    if let Some(k) = &key {
        idempotency::forget(c, k).await?;
    }
    let booking = row.into_domain()?;
    record(c, &DomainEvent::BookingReleased { booking, reason: reason.to_string() }).await?;
    Ok(true)
}

/// The people invited to a plan who have not declined (its organizer among them, if listed),
/// read without a lock: `check_plan` finds anyone invited after.
async fn undeclined_invitees<C: Conn>(c: &mut C, plan_id: Uuid) -> StoreResult<Vec<Uuid>> {
    let sql = Sql::new("SELECT user_id FROM plan_participants WHERE plan_id = $1 AND status <> $2");
    let rows: Vec<(Uuid,)> = c.fetch_all(sql.bind(plan_id).bind(ParticipantStatus::Declined.as_str())).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Of `ids`, those of users that exist, each locked `FOR KEY SHARE` (in id order, a thousand
/// per statement), so none is deleted before the transaction ends.
async fn lock_present_users<C: Conn>(c: &mut C, mut ids: Vec<Uuid>) -> StoreResult<HashSet<Uuid>> {
    ids.sort_unstable();
    ids.dedup();
    let mut present = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut b = SqlBuilder::new("SELECT id FROM users WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            b.push(if i > 0 { ", " } else { "" }).bind(*id);
        }
        b.push(") ORDER BY id").push(C::FOR_KEY_SHARE);
        let rows: Vec<(Uuid,)> = c.fetch_all(b.finish()).await?;
        present.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(present)
}

/// Books each group at the venue in order, in one transaction: members who already hold a
/// booking there overlapping the group's time are left out (the next member organises if the
/// first is out, and the smaller party stays `turn_by_party[its size]` minutes, when given);
/// members named in `flexible` (who joined by part of the day, after the others) are let go,
/// last first, while their group does not fit, down to `min_group` people (at least two), so
/// the seats counted here,
/// not the caller's earlier read, decide how many of them come; groups left with fewer than two
/// people are skipped, and groups the venue has no room for are refused.
pub(crate) async fn auto_book<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    groups: Vec<NewBooking>,
    flexible: &[Uuid],
    min_group: usize,
    turn_by_party: &[i32],
    key: Option<IdempotencyKey>,
) -> StoreResult<Idempotent<AutoBooked>> {
    if let Some(k) = &key
        && let NextAction::Replay(answer) = idempotency::begin(c, k).await?
    {
        return Ok(Idempotent::Replayed(answer));
    }
    // Everyone named who still has an account, locked as the bookings' foreign keys will and
    // before the venue (see `book`): someone deleted since the caller read the interests leaves
    // their group, instead of failing every group as a user not found (a 404 from auto-book).
    let named = groups.iter().flat_map(|g| std::iter::once(g.request.user_id).chain(g.request.group_members.clone()));
    let present = lock_present_users(c, named.collect()).await?;
    let capacity = lock_venue(c, venue_id).await?;
    let mut out = AutoBooked::default();
    for mut new in groups {
        if new.request.venue_id != venue_id {
            return Err(StoreError::invalid("venue_id", "every group books the same venue"));
        }
        let (mut free, overlapping) = seats_free(c, capacity, &new).await?;
        let mut counted_over = new.request.duration_minutes;
        let busy = |u: &Uuid| overlapping.iter().any(|b| b.includes(*u));
        let people: Vec<Uuid> = std::iter::once(new.request.user_id)
            .chain(new.request.group_members.clone())
            .filter(|u| present.contains(u))
            .collect();
        let (taken, mut members): (Vec<Uuid>, Vec<Uuid>) = people.into_iter().partition(busy);
        out.already_booked.extend(taken);
        while members.len() >= 2 {
            let size = members.len() as i32;
            if size != new.request.party_size
                && let Some(&turn) = turn_by_party.get(members.len())
            {
                // A smaller party stays a shorter (or longer) time: count the seats over that stay.
                new.request.duration_minutes = turn;
            }
            new.request.user_id = members[0];
            new.request.group_members = members[1..].to_vec();
            new.request.party_size = size;
            if new.request.duration_minutes != counted_over {
                free = seats_free(c, capacity, &new).await?.0;
                counted_over = new.request.duration_minutes;
            }
            let can_let_go = members.len() > min_group.max(2) && members.last().is_some_and(|u| flexible.contains(u));
            if free >= size || !can_let_go {
                break;
            }
            members.pop();
        }
        if members.len() < 2 {
            continue;
        }
        if free < new.request.party_size {
            let refused = full(&new, free, capacity);
            record(c, &DomainEvent::BookingRefused(refused.clone())).await?;
            out.full.push(refused);
            continue;
        }
        let booking = insert(c, &new).await?;
        out.booked.push(announce(c, booking).await?);
    }
    if let Some(k) = &key {
        idempotency::finish(c, k, 200, &out).await?;
    }
    Ok(Idempotent::Fresh(out))
}
