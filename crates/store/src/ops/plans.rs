//! Plans and their participants: propose (the organizer takes part, invitees are invited),
//! read with participants, invite more, answer. Confirming a plan books it, so that lives with
//! the bookings (`ops::bookings`).

use domain::{
    DomainEvent, Invitation, NewPlan, Page, PageRequest, ParticipantStatus, Plan, PlanId, PlanParticipant, PlanStatus,
    Timestamp, UserId, VenueId,
};
use std::collections::HashMap;

use uuid::Uuid;

use super::venues::select_live_venue;
use super::{record, require};
use crate::sql::{Conn, Sql, SqlBuilder, now};
use crate::{PlanRole, StoreError, StoreResult};

/// One row of `plans`.
#[derive(Debug, sqlx::FromRow)]
struct PlanRow {
    id: Uuid,
    organizer_id: Option<Uuid>,
    venue_id: Uuid,
    start_time: Timestamp,
    party_size: Option<i32>,
    status: String,
    created_at: Timestamp,
}

/// One row of `plan_participants`.
#[derive(Debug, sqlx::FromRow)]
struct ParticipantRow {
    plan_id: Uuid,
    user_id: Uuid,
    status: String,
    invited_at: Timestamp,
    responded_at: Option<Timestamp>,
}

impl ParticipantRow {
    fn into_domain(self) -> StoreResult<PlanParticipant> {
        let status = ParticipantStatus::parse(&self.status)
            .ok_or_else(|| StoreError::corrupt("participant status", &self.status))?;
        Ok(PlanParticipant {
            plan_id: self.plan_id,
            user_id: self.user_id,
            status,
            invited_at: self.invited_at,
            responded_at: self.responded_at,
        })
    }
}

impl PlanRow {
    fn into_domain(self, participants: Vec<ParticipantRow>) -> StoreResult<Plan> {
        let status = PlanStatus::parse(&self.status).ok_or_else(|| StoreError::corrupt("plan status", &self.status))?;
        Ok(Plan {
            id: self.id,
            organizer_id: self.organizer_id,
            venue_id: self.venue_id,
            start_time: self.start_time,
            party_size: self.party_size,
            status,
            created_at: self.created_at,
            participants: participants.into_iter().map(ParticipantRow::into_domain).collect::<StoreResult<_>>()?,
        })
    }
}

/// The plan with its participants (in invitation order). `NotFound` for no such plan.
pub(crate) async fn get_plan<C: Conn>(c: &mut C, id: PlanId) -> StoreResult<Plan> {
    let sql = Sql::new(
        "SELECT id, organizer_id, venue_id, start_time, party_size, status, created_at FROM plans WHERE id = $1",
    );
    let row: PlanRow = c.fetch_optional(sql.bind(id)).await?.ok_or_else(|| StoreError::not_found("plan", id))?;
    let sql = Sql::new(
        "SELECT plan_id, user_id, status, invited_at, responded_at FROM plan_participants \
         WHERE plan_id = $1 ORDER BY invited_at, user_id",
    );
    let rows: Vec<ParticipantRow> = c.fetch_all(sql.bind(id)).await?;
    row.into_domain(rows)
}

/// A page of the plans `user_id` organises or is invited to (`role` picks one side, `status`
/// one status), in id order across pages, each with its participants as [`get_plan`] gives them.
/// Each side is a keyset range of its index (`plans_organizer_idx`, `plan_participants_user_idx`);
/// the two are disjoint (an invitee is never the organizer), so merging them repeats nothing.
/// A plan whose organizer deleted their account (no organizer) stays on its invitees' side.
pub(crate) async fn list_user_plans<C: Conn>(
    c: &mut C,
    user_id: UserId,
    role: Option<PlanRole>,
    status: Option<PlanStatus>,
    page: PageRequest,
) -> StoreResult<Page<Plan>> {
    const COLUMNS: &str = "p.id, p.organizer_id, p.venue_id, p.start_time, p.party_size, p.status, p.created_at";
    let mut b = SqlBuilder::new("SELECT ");
    let me = b.param(user_id);
    let status = status.map(|s| format!(" AND p.status = {}", b.param(s.as_str()))).unwrap_or_default();
    let after = page.after.map(|a| format!(" AND p.id > {}", b.param(a))).unwrap_or_default();
    let n = b.param(i64::from(page.limit) + 1);
    let organising =
        format!("SELECT {COLUMNS} FROM plans p WHERE p.organizer_id = {me}{status}{after} ORDER BY p.id LIMIT {n}");
    let invited = format!(
        "SELECT {COLUMNS} FROM plans p JOIN plan_participants pp ON pp.plan_id = p.id \
         WHERE pp.user_id = {me} AND (p.organizer_id IS NULL OR p.organizer_id <> {me}){status}{after} ORDER BY p.id LIMIT {n}"
    );
    let plain = COLUMNS.replace("p.", "");
    b.push(&plain).push(" FROM (");
    match role {
        Some(PlanRole::Organizer) => b.push(&organising).push(") AS o"),
        Some(PlanRole::Invited) => b.push(&invited).push(") AS i"),
        None => b
            .push(&organising)
            .push(") AS o UNION ALL SELECT ")
            .push(&plain)
            .push(" FROM (")
            .push(&invited)
            .push(") AS i"),
    };
    b.push(" ORDER BY id LIMIT ").push(&n);
    let rows: Vec<PlanRow> = c.fetch_all(b.finish()).await?;
    if rows.is_empty() {
        require(c, "users", "user", user_id).await?;
        return Ok(Page { items: Vec::new(), next: None });
    }
    let mut q = SqlBuilder::new("SELECT plan_id, user_id, status, invited_at, responded_at FROM plan_participants");
    q.push(" WHERE plan_id IN (");
    for (i, r) in rows.iter().enumerate() {
        q.push(if i == 0 { "" } else { ", " }).bind(r.id);
    }
    q.push(") ORDER BY plan_id, invited_at, user_id");
    let participants: Vec<ParticipantRow> = c.fetch_all(q.finish()).await?;
    let mut by_plan: HashMap<PlanId, Vec<ParticipantRow>> = HashMap::new();
    for p in participants {
        by_plan.entry(p.plan_id).or_default().push(p);
    }
    let plans = rows
        .into_iter()
        .map(|row| {
            let theirs = by_plan.remove(&row.id).unwrap_or_default();
            row.into_domain(theirs)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(plans, page.limit, |p| p.id))
}

pub(crate) async fn create_plan<C: Conn>(c: &mut C, new: NewPlan) -> StoreResult<Plan> {
    require(c, "users", "user", new.organizer_id).await?;
    super::venues::require_venue(c, new.venue_id, C::FOR_KEY_SHARE).await?;
    let at = now();
    let sql = Sql::new(
        "INSERT INTO plans (id, organizer_id, venue_id, start_time, party_size, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6)",
    );
    let sql = sql.bind(new.id).bind(new.organizer_id).bind(new.venue_id).bind(new.start_time);
    c.execute(sql.bind(new.party_size).bind(at)).await?;
    let join = Sql::new(
        "INSERT INTO plan_participants (plan_id, user_id, status, invited_at, responded_at) \
         VALUES ($1, $2, 'accepted', $3, $3)",
    );
    c.execute(join.bind(new.id).bind(new.organizer_id).bind(at)).await?;
    let invitations = insert_invitees(c, new.id, &new.invitees, at).await?;
    let plan = get_plan(c, new.id).await?;
    // Under the venue's lock: a capacity lowered since the caller checked the party is seen.
    venue_seats_party(c, &plan).await?;
    record(c, &DomainEvent::PlanCreated(plan.clone())).await?;
    for i in invitations {
        record(c, &DomainEvent::InvitationSent(invitation(&plan, new.organizer_id, i, at))).await?;
    }
    Ok(plan)
}

fn invitation(plan: &Plan, organizer: UserId, invitee: UserId, at: Timestamp) -> Invitation {
    Invitation {
        inviter_id: organizer,
        invitee_id: invitee,
        venue_id: plan.venue_id,
        plan_id: Some(plan.id),
        booking_id: None,
        created_at: at,
    }
}

/// Invites the users not on the plan yet; returns who was newly invited.
async fn insert_invitees<C: Conn>(
    c: &mut C,
    plan_id: PlanId,
    users: &[UserId],
    at: Timestamp,
) -> StoreResult<Vec<UserId>> {
    let mut invited = Vec::new();
    for &user in users {
        require(c, "users", "user", user).await?;
        let sql = Sql::new(
            "INSERT INTO plan_participants (plan_id, user_id, status, invited_at, responded_at) \
             VALUES ($1, $2, 'invited', $3, NULL) ON CONFLICT (plan_id, user_id) DO NOTHING",
        );
        if c.execute(sql.bind(plan_id).bind(user).bind(at)).await? == 1 {
            invited.push(user);
        }
    }
    Ok(invited)
}

/// Invites again those of `users` who declined the plan: back to `invited`, their answer
/// (`responded_at`) cleared, their first `invited_at` kept (they have been on the plan since,
/// its events theirs). Returns each as it is now, in `users`' order.
async fn invite_again<C: Conn>(c: &mut C, plan_id: PlanId, users: &[UserId]) -> StoreResult<Vec<PlanParticipant>> {
    let mut again = Vec::new();
    for &user in users {
        let sql = Sql::new(
            "UPDATE plan_participants SET status = $1, responded_at = NULL \
             WHERE plan_id = $2 AND user_id = $3 AND status = $4 \
             RETURNING plan_id, user_id, status, invited_at, responded_at",
        );
        let sql = sql.bind(ParticipantStatus::Invited.as_str()).bind(plan_id).bind(user);
        let row: Option<ParticipantRow> = c.fetch_optional(sql.bind(ParticipantStatus::Declined.as_str())).await?;
        if let Some(row) = row {
            again.push(row.into_domain()?);
        }
    }
    Ok(again)
}

/// Locks a plan's row until the transaction ends (PostgreSQL; SQLite's writers run one at a
/// time): its participants change, or are counted for its booking, one transaction at a time.
pub(crate) async fn lock_plan<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<()> {
    let mut lock = SqlBuilder::new("SELECT id FROM plans WHERE id = ");
    lock.bind(plan_id).push(C::FOR_UPDATE);
    let _: Option<(Uuid,)> = c.fetch_optional(lock.finish()).await?;
    Ok(())
}

/// The plan and its organizer, refused with `Conflict` unless it is still being organised by
/// someone.
async fn pending_plan<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<(Plan, UserId)> {
    let plan = get_plan(c, plan_id).await?;
    let organizer = organizer(&plan)?;
    still_pending(&plan)?;
    Ok((plan, organizer))
}

/// The plan's organizer; `Conflict` (field `organizer_id`) once they deleted their account: the
/// plan then stays as it is for its invitees to see, and nobody can change it.
pub(crate) fn organizer(plan: &Plan) -> StoreResult<UserId> {
    plan.organizer_id.ok_or_else(|| {
        let message = plan.without_organizer();
        StoreError::conflict(message, Some("organizer_id"))
    })
}

/// `Conflict` (field `status`) unless the plan is still being organised.
fn still_pending(plan: &Plan) -> StoreResult<()> {
    if plan.status != PlanStatus::Draft {
        return Err(StoreError::conflict(format!("the plan is already {}", plan.status.as_str()), Some("status")));
    }
    Ok(())
}

/// `Conflict` while a hold of the plan waits on an outside provider: it counted the party as it
/// was, and is confirmed or given back within the provider's timeout (or by the janitor).
async fn party_not_held<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<()> {
    let sql = Sql::new("SELECT 1 FROM bookings WHERE plan_id = $1 AND status = 'pending'");
    let held: Option<(i32,)> = c.fetch_optional(sql.bind(plan_id)).await?;
    match held {
        Some(_) => Err(StoreError::conflict("the plan is being booked; try again in a moment", Some("status"))),
        None => Ok(()),
    }
}

/// Invites more people to a plan still being organised. Those who declined it are invited again
/// (back to `invited`, told with `plan.participant_updated` and a fresh `invitation.sent`), as
/// the organizer asked; those invited or who accepted are left as they are. `NotFound` for an
/// unknown plan or user.
pub(crate) async fn invite<C: Conn>(c: &mut C, plan_id: PlanId, users: Vec<UserId>) -> StoreResult<Plan> {
    // Invitations to one plan run one after the other (see `seats::lock_venue`), so two at once
    // cannot each count the other's people as absent and pass the cap together.
    lock_plan(c, plan_id).await?;
    let (_, organizer) = pending_plan(c, plan_id).await?;
    if users.contains(&organizer) {
        return Err(StoreError::invalid("participant_ids", "must not include the organizer"));
    }
    let at = now();
    // Asking again is no change to the party (only acceptances count) nor to the cap (a
    // decliner is still on the plan), so a hold under way is not in the way.
    let again = invite_again(c, plan_id, &users).await?;
    let invited = insert_invitees(c, plan_id, &users, at).await?;
    let plan = get_plan(c, plan_id).await?;
    // Counted after inserting, in the transaction: an invitation that would pass the cap rolls back.
    let invited_total = plan.participants.iter().filter(|p| p.user_id != organizer).count();
    if invited_total > domain::booking::MAX_GROUP_MEMBERS {
        let max = domain::booking::MAX_GROUP_MEMBERS;
        return Err(StoreError::invalid("participant_ids", format!("a plan has at most {max} invited people")));
    }
    for p in again {
        let user = p.user_id;
        record(c, &DomainEvent::ParticipantUpdated(p)).await?;
        record(c, &DomainEvent::InvitationSent(invitation(&plan, organizer, user, at))).await?;
    }
    for i in invited {
        record(c, &DomainEvent::InvitationSent(invitation(&plan, organizer, i, at))).await?;
    }
    Ok(plan)
}

/// Records an invitee's answer (they may change their mind while the plan is pending). The
/// answer they gave already (a retry, a double tap) changes nothing: the first `responded_at`
/// stays and no event is recorded, so nobody is told twice. `NotFound` ("plan", as for no such
/// plan, so an outsider cannot tell one from the other) unless the user is on the plan, checked
/// first; `Invalid` for the organizer; `Conflict` (field `status`) unless the plan is pending.
pub(crate) async fn answer<C: Conn>(c: &mut C, plan_id: PlanId, user_id: UserId, accept: bool) -> StoreResult<Plan> {
    if accept {
        // The venue before the plan, in the order a booking of the plan and a deletion of the
        // venue take them. A change of its capacity (`venues::update_venue`) then waits for this
        // acceptance and counts it, or this acceptance waits for the change and meets the new
        // capacity: never both pass.
        lock_plans_venue(c, plan_id).await?;
    }
    // A booking of the plan under way holds this lock until it commits: the answer then finds
    // the plan confirmed, instead of changing the party the booking counted.
    lock_plan(c, plan_id).await?;
    let plan = get_plan(c, plan_id).await?;
    // Someone not on the plan learns nothing of it, not even that it exists or where it
    // stands: the answer to no such plan, before any other check.
    let Some(invited) = plan.participants.iter().find(|p| p.user_id == user_id) else {
        return Err(StoreError::not_found("plan", plan_id));
    };
    if plan.organizer_id == Some(user_id) {
        return Err(StoreError::invalid("user_id", "the organizer takes part in their own plan"));
    }
    still_pending(&plan)?;
    let status = if accept { ParticipantStatus::Accepted } else { ParticipantStatus::Declined };
    if invited.status == status {
        return Ok(plan);
    }
    // Joining or leaving the party changes what a hold under way counted; other answers do not.
    let was_in = invited.status == ParticipantStatus::Accepted;
    if accept != was_in {
        party_not_held(c, plan_id).await?;
    }
    let sql = Sql::new(
        "UPDATE plan_participants SET status = $1, responded_at = $2 WHERE plan_id = $3 AND user_id = $4 \
         RETURNING plan_id, user_id, status, invited_at, responded_at",
    );
    let row: Option<ParticipantRow> =
        c.fetch_optional(sql.bind(status.as_str()).bind(now()).bind(plan_id).bind(user_id)).await?;
    let participant = row.ok_or_else(|| StoreError::not_found("plan", plan_id))?.into_domain()?;
    record(c, &DomainEvent::ParticipantUpdated(participant)).await?;
    let plan = get_plan(c, plan_id).await?;
    if accept {
        // Counted with the answer written, under the plan's lock: of two racing for the last
        // place one gets in, and a refusal rolls the answer back.
        venue_seats_party(c, &plan).await?;
    }
    Ok(plan)
}

/// Locks the plan's venue as a write referencing it does (`FOR KEY SHARE`: writes about its
/// plans go on side by side, while its capacity is changed or a table taken there one at a time).
/// Nothing for an unknown plan or a deleted venue: the caller refuses the one, a booking the other.
async fn lock_plans_venue<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<()> {
    let venue: Option<(Uuid,)> =
        c.fetch_optional(Sql::new("SELECT venue_id FROM plans WHERE id = $1").bind(plan_id)).await?;
    if let Some((venue_id,)) = venue {
        let _: Option<(i32,)> = c.fetch_optional(select_live_venue("1", venue_id, C::FOR_KEY_SHARE)).await?;
    }
    Ok(())
}

/// A plan being organised and what its party counts from ([`domain::plan::party_of`]).
#[derive(Debug, sqlx::FromRow)]
struct PartyRow {
    id: Uuid,
    party_size: Option<i32>,
    accepted: i64,
}

impl PartyRow {
    /// How many people the plan takes, as [`Plan::party`] counts them.
    fn party(&self) -> i32 {
        domain::plan::party_of(i32::try_from(self.accepted).unwrap_or(i32::MAX), self.party_size)
    }
}

/// Of the plans being organised at the venue that start at `from` or later, the one with the
/// largest party (the first to start of equals) and that party; `None` for no such plan.
pub(crate) async fn largest_party_ahead<C: Conn>(
    c: &mut C,
    venue_id: VenueId,
    from: Timestamp,
) -> StoreResult<Option<(PlanId, i32)>> {
    let mut b = SqlBuilder::new(
        "SELECT p.id, p.party_size, \
         (SELECT COUNT(*) FROM plan_participants pp WHERE pp.plan_id = p.id AND pp.status = ",
    );
    b.bind(ParticipantStatus::Accepted.as_str()).push(") AS accepted FROM plans p");
    b.and().push("p.venue_id = ").bind(venue_id).and().push("p.status = ").bind(PlanStatus::Draft.as_str());
    b.and().push("p.start_time >= ").bind(from).push(" ORDER BY p.start_time, p.id");
    let rows: Vec<PartyRow> = c.fetch_all(b.finish()).await?;
    let largest = rows.iter().rev().max_by_key(|r| r.party());
    Ok(largest.map(|r| (r.id, r.party())))
}

/// `Conflict` ("the plan is full") if `plan`'s party is larger than its venue seats: such a plan
/// could never be confirmed. A deleted venue is left to the booking to refuse.
async fn venue_seats_party<C: Conn>(c: &mut C, plan: &Plan) -> StoreResult<()> {
    let venue: Option<(String, i32)> = c.fetch_optional(select_live_venue("name, capacity", plan.venue_id, "")).await?;
    match venue {
        Some((name, capacity)) if plan.party() > capacity => Err(StoreError::conflict(
            format!("the plan is full: {name} seats at most {capacity}, and the party would be {}", plan.party()),
            None,
        )),
        _ => Ok(()),
    }
}

/// The organizer calls off a plan still being organised: it becomes cancelled with its
/// `plan.cancelled` event, as when its organizer or venue is deleted ([`move_plan`]).
/// `NotFound` for no such plan; `Conflict` (field `status`) for a plan already cancelled, for a
/// confirmed one (its booking is cancelled instead, which cancels the plan and frees its seats,
/// see `bookings::set_status`), and while a hold of it waits on an outside provider.
pub(crate) async fn cancel_plan<C: Conn>(c: &mut C, plan_id: PlanId) -> StoreResult<Plan> {
    // A booking of the plan under way holds this lock until it commits: the plan is then read
    // as confirmed, and its booking named, rather than cancelled under a fresh booking.
    lock_plan(c, plan_id).await?;
    let plan = get_plan(c, plan_id).await?;
    // Before the status: a confirmed plan's booking went with its organizer's account.
    organizer(&plan)?;
    match plan.status {
        PlanStatus::Draft => {}
        PlanStatus::Cancelled => {
            return Err(StoreError::conflict("the plan is already cancelled", Some("status")));
        }
        PlanStatus::Confirmed => {
            let booking = super::bookings::plan_booking(c, plan_id).await?;
            let message = format!(
                "the plan is confirmed: cancel its booking instead (POST /api/v1/bookings/{}/cancel), which \
                 cancels the plan and frees its seats",
                booking.id
            );
            return Err(StoreError::conflict(message, Some("status")));
        }
    }
    party_not_held(c, plan_id).await?;
    move_plan(c, plan_id, PlanStatus::Draft, PlanStatus::Cancelled).await
}

/// Moves a pending plan to `next` (the plan's booking was made or cancelled) and records it.
/// `Conflict` if the plan is not in `from`.
pub(crate) async fn move_plan<C: Conn>(
    c: &mut C,
    plan_id: PlanId,
    from: PlanStatus,
    next: PlanStatus,
) -> StoreResult<Plan> {
    let sql = Sql::new("UPDATE plans SET status = $1 WHERE id = $2 AND status = $3");
    if c.execute(sql.bind(next.as_str()).bind(plan_id).bind(from.as_str())).await? == 0 {
        let plan = get_plan(c, plan_id).await?;
        return Err(StoreError::conflict(format!("the plan is already {}", plan.status.as_str()), Some("status")));
    }
    let plan = get_plan(c, plan_id).await?;
    let event = match next {
        PlanStatus::Confirmed => DomainEvent::PlanConfirmed(plan.clone()),
        PlanStatus::Cancelled | PlanStatus::Draft => DomainEvent::PlanCancelled(plan.clone()),
    };
    record(c, &event).await?;
    Ok(plan)
}

/// Cancels, each with its `plan.cancelled` event, up to `limit` plans still being organised whose
/// start time has come by `now` (the earliest first): never booked, they can no longer be
/// confirmed, so they stop showing as pending. A plan whose hold waits on an outside provider is
/// left to its hold (confirmed, the plan is; released, the next sweep cancels it): not picked,
/// so such plans never fill a batch, nor are locked against the provider's answer. Nor is a plan
/// made after its start time: only a simulation whose clock runs behind the wall clock (a run
/// anchored in the past) makes one, for a time still to come in its world. The plans are
/// locked as they are picked (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and moved only from
/// `draft` ([`move_plan`]'s conditional update), so two servers sweeping at once never cancel
/// one plan twice or record its event twice. Returns the plans cancelled.
pub(crate) async fn cancel_expired_plans<C: Conn>(c: &mut C, now: Timestamp, limit: u32) -> StoreResult<Vec<Plan>> {
    let mut b = SqlBuilder::new("SELECT id FROM plans WHERE status = ");
    b.bind(PlanStatus::Draft.as_str()).push(" AND start_time <= ").bind(now);
    b.push(" AND created_at < start_time");
    b.push(" AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.plan_id = plans.id AND b.status = 'pending')");
    b.push(" ORDER BY start_time, id LIMIT ").bind(i64::from(limit)).push(C::FOR_UPDATE_SKIP_LOCKED);
    let ids: Vec<(Uuid,)> = c.fetch_all(b.finish()).await?;
    let mut cancelled = Vec::with_capacity(ids.len());
    for (id,) in ids {
        // Read after the lock: a hold that committed meanwhile is seen.
        match party_not_held(c, id).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
        match move_plan(c, id, PlanStatus::Draft, PlanStatus::Cancelled).await {
            Ok(plan) => cancelled.push(plan),
            // No longer being organised: left as it is (the lock above makes this rare).
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(cancelled)
}

/// The organizer moves a plan still being organised to `start_time` and, when given, another
/// venue (which must take a party of its size): everyone invited is asked again (their answers
/// were for another evening: back to `invited`, no `responded_at`), recorded as
/// `plan.rescheduled` with the plan as it is now. The same time and venue again change nothing
/// (no event, answers kept). `NotFound` for no such plan or venue; `Conflict` (field `status`)
/// unless the plan is pending, and while a hold of it waits on an outside provider.
pub(crate) async fn reschedule_plan<C: Conn>(
    c: &mut C,
    plan_id: PlanId,
    start_time: Timestamp,
    venue_id: Option<VenueId>,
) -> StoreResult<Plan> {
    // The venue before the plan, as an acceptance takes them: a change of its capacity meanwhile
    // is waited for and met, or waits for this move and counts it.
    match venue_id {
        Some(venue) => super::venues::require_venue(c, venue, C::FOR_KEY_SHARE).await?,
        None => lock_plans_venue(c, plan_id).await?,
    }
    // A booking of the plan under way holds this lock until it commits: the plan is then found
    // confirmed, not moved from under its booking.
    lock_plan(c, plan_id).await?;
    let (plan, organizer) = pending_plan(c, plan_id).await?;
    party_not_held(c, plan_id).await?;
    let venue_id = venue_id.unwrap_or(plan.venue_id);
    if plan.start_time == start_time && plan.venue_id == venue_id {
        return Ok(plan);
    }
    let sql = Sql::new("UPDATE plans SET start_time = $1, venue_id = $2 WHERE id = $3");
    c.execute(sql.bind(start_time).bind(venue_id).bind(plan_id)).await?;
    let reset =
        Sql::new("UPDATE plan_participants SET status = $1, responded_at = NULL WHERE plan_id = $2 AND user_id <> $3");
    c.execute(reset.bind(ParticipantStatus::Invited.as_str()).bind(plan_id).bind(organizer)).await?;
    let plan = get_plan(c, plan_id).await?;
    venue_seats_party(c, &plan).await?;
    record(c, &DomainEvent::PlanRescheduled(plan.clone())).await?;
    Ok(plan)
}
