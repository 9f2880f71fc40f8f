//! Plan use cases (the second seed's flow): propose a plan at a venue and a time it is open,
//! invite people, let them accept or decline, then confirm, which validates the plan again
//! (start in the future, the venue open then, a party of the organizer and everyone who
//! accepted, within capacity) and has the booking agent book it; the plan is confirmed together
//! with its booking.

use domain::booking::{check_slot, check_venue_hosts};
use domain::error::Checker;
use domain::{
    Booking, NewPlan, Page, PageRequest, ParticipantStatus, Plan, PlanId, PlanInput, PlanReschedule, PlanStatus,
    SeatOutcome, SeatRequest, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use store::{Idempotent, PlanRole};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::booking::idempotency_key;
use crate::error::InBody;
use crate::{App, AppError, AppResult};

/// How many times a confirmation draws the plan's booking up when the plan changes as it is
/// booked (someone answers, or is invited while the booking waits for its venue) before the 409
/// naming `party_size` or `invitees`: QA saw a burst of 23 concurrent invitations make every
/// confirmation a 409 when it was not retried.
const CONFIRM_ATTEMPTS: usize = 8;

/// The answer to `POST /plans/{plan_id}/confirm`: the second seed's `plan_id` and `booking_id`,
/// plus the confirmation code and both records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanConfirmation {
    pub plan_id: Uuid,
    pub booking_id: Uuid,
    pub confirmation_code: String,
    pub status: PlanStatus,
    pub plan: Plan,
    pub booking: Booking,
}

/// `Conflict` (naming `start_time`) for a plan still being organised whose time has come as of
/// `now`: it can no longer be confirmed, so it takes no more `what` (people would be invited to,
/// or join, an evening already begun). A plan confirmed or cancelled is left to the store to
/// refuse, naming its `status`.
fn still_to_come(plan: &Plan, now: Timestamp, what: &str) -> AppResult<()> {
    if plan.status != PlanStatus::Draft || plan.start_time > now {
        return Ok(());
    }
    let start = domain::time::written(&plan.start_time);
    Err(AppError::Conflict {
        message: format!("the plan's time has come ({start}): it takes no more {what}"),
        field: Some("start_time".into()),
    })
}

/// The plan's organizer; `Conflict` (naming `organizer_id`) once they deleted their account:
/// the plan stays as it was for its invitees to see, and nobody can change it any more.
fn organizer(plan: &Plan) -> AppResult<UserId> {
    plan.organizer_id
        .ok_or_else(|| AppError::Conflict { message: plan.without_organizer(), field: Some("organizer_id".into()) })
}

impl App {
    /// Proposes a plan as of `now`. `Invalid` for a start in the past or when the venue is
    /// closed then, a party the venue cannot seat or a bad invitee list, also naming
    /// `organizer_id`, `venue_id` or `participant_ids` when one names nothing.
    #[tracing::instrument(skip_all, fields(organizer_id = %input.organizer_id, venue_id = %input.venue_id), err(level = "debug"))]
    pub async fn create_plan(&self, input: PlanInput, now: Timestamp) -> AppResult<Plan> {
        let (organizer_id, venue_id, start, party) =
            (input.organizer_id, input.venue_id, input.start_time, input.party_size);
        // The body's own rules and the venue's are named together, not the venue's only once
        // the others pass.
        let mut c = Checker::new();
        let new = c.absorb(NewPlan::parse(input, now));
        self.store.get_user(organizer_id).await.in_body(&[("user", "organizer_id")])?;
        // What confirming would refuse for the venue itself is refused now, not when the
        // group has gathered: a time it is closed, or a party larger than it seats (of a time
        // and a party already refused, nothing more is said).
        let venue = self.store.get_venue(venue_id).await.in_body(&[("venue", "venue_id")])?;
        let last_seating = self.settings.booking.last_seating_minutes;
        let future = (start > now).then_some(start);
        let party = party.filter(|n| (1..=domain::booking::MAX_PARTY).contains(n));
        check_venue_hosts(&mut c, &venue, future, party, last_seating, ("start_time", "party_size"));
        let new = c.finish(new).map_err(AppError::Invalid)?;
        let new = new.ok_or_else(|| AppError::Internal("a plan refused without a reason".into()))?;
        let plan = self.store.create_plan(new).await.in_body(&[("venue", "venue_id"), ("user", "participant_ids")])?;
        self.wrote();
        Ok(plan)
    }

    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_plan(&self, id: PlanId) -> AppResult<Plan> {
        Ok(self.store.get_plan(id).await?)
    }

    /// Invites more people to a pending plan as of `now`, and again those who declined it (back
    /// to `invited`): `Conflict` (naming `start_time`) once its time has come.
    #[tracing::instrument(skip_all, fields(%plan_id, n = users.len()), err(level = "debug"))]
    pub async fn invite_to_plan(&self, plan_id: PlanId, users: Vec<UserId>, now: Timestamp) -> AppResult<Plan> {
        let mut c = Checker::new();
        c.check(!users.is_empty(), "participant_ids", "must name at least one person");
        let plan = self.store.get_plan(plan_id).await?;
        let organizer = organizer(&plan)?;
        still_to_come(&plan, now, "invitations")?;
        let users = domain::booking::check_members(&mut c, "participant_ids", organizer, &users);
        c.finish(()).map_err(AppError::Invalid)?;
        let plan = self.store.invite_to_plan(plan_id, users).await.in_body(&[("user", "participant_ids")])?;
        self.wrote();
        Ok(plan)
    }

    /// An invitee accepts or declines, as of `now`; the answer they gave already changes nothing
    /// (no new `responded_at`, no event). An acceptance that would make the party larger than the
    /// venue seats is a `Conflict` ("the plan is full": the plan could never be confirmed),
    /// checked in the store's transaction, so two racing for the last place never both get in;
    /// so is an acceptance once the plan's time has come (naming `start_time`), unless it is the
    /// answer given already. A decline is taken then too: it only says who did not come. Someone
    /// not on the plan gets `NotFound` for the plan, as for no such plan, whatever it is.
    #[tracing::instrument(skip_all, fields(%plan_id, %user_id, accept), err(level = "debug"))]
    pub async fn answer_invitation(
        &self,
        plan_id: PlanId,
        user_id: UserId,
        accept: bool,
        now: Timestamp,
    ) -> AppResult<Plan> {
        if accept {
            let plan = self.store.get_plan(plan_id).await?;
            // Accepting again (a retry that arrives late) is still the answer given, which changes
            // nothing. Someone not on the plan is left to the store's answer, the one to no such
            // plan: when its time came is not theirs to learn.
            let answer = plan.participants.iter().find(|p| p.user_id == user_id).map(|p| p.status);
            if answer.is_some_and(|a| a != ParticipantStatus::Accepted) {
                still_to_come(&plan, now, "acceptances")?;
            }
        }
        let plan = self.store.answer_plan_invitation(plan_id, user_id, accept).await?;
        self.wrote();
        Ok(plan)
    }

    /// The organizer calls off a plan still being organised (cancelled with its
    /// `plan.cancelled` event). `NotFound` for no such plan; `Conflict` naming `status` when it is
    /// cancelled already, or confirmed (its booking is cancelled instead, which cancels the plan
    /// and frees its seats: the message names the booking), or being booked right now.
    #[tracing::instrument(skip_all, fields(%plan_id), err(level = "debug"))]
    pub async fn cancel_plan(&self, plan_id: PlanId) -> AppResult<Plan> {
        let plan = self.store.cancel_plan(plan_id).await?;
        self.wrote();
        Ok(plan)
    }

    /// The organizer moves a plan still being organised to another time, and optionally another
    /// venue, as of `now`: checked as its creation is (the start in the future, within a year,
    /// the venue open then and seating the plan's party size). Everyone invited is asked again
    /// (`plan.rescheduled`). `Invalid` naming `start_time`, `venue_id` or `party_size`;
    /// `NotFound` for no such plan; `Conflict` naming `status` once it is confirmed or cancelled
    /// (or while it is being booked), "the plan is full" when the new venue cannot seat its party.
    #[tracing::instrument(skip_all, fields(%plan_id), err(level = "debug"))]
    pub async fn reschedule_plan(&self, plan_id: PlanId, input: PlanReschedule, now: Timestamp) -> AppResult<Plan> {
        let plan = self.store.get_plan(plan_id).await?;
        organizer(&plan)?;
        if plan.status != PlanStatus::Draft {
            return Err(AppError::Conflict {
                message: format!(
                    "the plan is already {}: only a plan being organised is rescheduled",
                    plan.status.as_str()
                ),
                field: Some("status".into()),
            });
        }
        input.check(now)?;
        let venue_id = input.venue_id.unwrap_or(plan.venue_id);
        let venue = self.store.get_venue(venue_id).await.in_body(&[("venue", "venue_id")])?;
        let mut c = Checker::new();
        let last_seating = self.settings.booking.last_seating_minutes;
        let at = Some(input.start_time);
        check_venue_hosts(&mut c, &venue, at, plan.party_size, last_seating, ("start_time", "party_size"));
        c.finish(()).map_err(AppError::Invalid)?;
        let plan = self.store.reschedule_plan(plan_id, input.start_time, input.venue_id).await;
        let plan = plan.in_body(&[("venue", "venue_id")])?;
        self.wrote();
        Ok(plan)
    }

    /// The janitor's pass over plans as of `now`: every plan still being organised whose start
    /// time has come is cancelled with its `plan.cancelled` event (never booked, it can no longer
    /// be confirmed, so it stops showing as pending), in batches. Safe on several servers at once:
    /// each plan is cancelled, and its event recorded, once. Returns how many were cancelled.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn cancel_expired_plans(&self, now: Timestamp) -> AppResult<usize> {
        const BATCH: u32 = 200;
        let mut cancelled = 0;
        loop {
            let batch = self.store.cancel_expired_plans(now, BATCH).await?.len();
            cancelled += batch;
            if batch > 0 {
                self.wrote();
            }
            if batch < BATCH as usize {
                break;
            }
        }
        if cancelled > 0 {
            tracing::info!(cancelled, "cancelled plans whose start time came without a booking");
        }
        Ok(cancelled)
    }

    /// A page of the plans a user organises or is invited to, by id across pages, filtered by
    /// `role` and `status`. `NotFound` for an unknown user.
    #[tracing::instrument(skip_all, fields(%user_id, ?role, ?status, limit = page.limit), err(level = "debug"))]
    pub async fn list_user_plans(
        &self,
        user_id: UserId,
        role: Option<PlanRole>,
        status: Option<PlanStatus>,
        page: PageRequest,
    ) -> AppResult<Page<Plan>> {
        self.store.get_user(user_id).await?;
        Ok(self.store.list_user_plans(user_id, role, status, page).await?)
    }

    /// The ids of every plan a user organises or is invited to, whatever its status (where their
    /// event stream starts from), each with whether the user declined it (its booking is then not
    /// theirs to see) and when they joined it (invited, or proposed it: its earlier events are not
    /// theirs). `NotFound` for an unknown user.
    #[tracing::instrument(skip_all, fields(%user_id), err(level = "debug"))]
    pub async fn user_plan_ids(&self, user_id: UserId) -> AppResult<Vec<(PlanId, bool, Timestamp)>> {
        let mut ids = Vec::new();
        let mut page = PageRequest { limit: domain::page::MAX_LIMIT, after: None };
        loop {
            let plans = self.list_user_plans(user_id, None, None, page).await?;
            let membership = |p: &Plan| {
                let me = p.participants.iter().find(|pp| pp.user_id == user_id);
                let declined = me.is_some_and(|pp| pp.status == ParticipantStatus::Declined);
                (p.id, declined, me.map_or(p.created_at, |pp| pp.invited_at))
            };
            ids.extend(plans.items.iter().map(membership));
            match plans.next {
                Some(after) => page.after = Some(after),
                None => return Ok(ids),
            }
        }
    }

    /// Validates the plan as of `now` and has the agent book it (drawn up again when the party
    /// or the invitees change meanwhile, up to [`CONFIRM_ATTEMPTS`] times); the plan is
    /// confirmed with its booking. `Conflict` if it is confirmed or cancelled already (naming `status`) or its
    /// organizer holds a table there then (naming `start_time`), `NoRoom` (with alternatives)
    /// if the venue is full then, `Invalid` naming `start_time` or `party_size` otherwise.
    #[tracing::instrument(skip_all, fields(%plan_id), err(level = "debug"))]
    pub async fn confirm_plan(
        &self,
        plan_id: PlanId,
        key: Option<String>,
        now: Timestamp,
    ) -> AppResult<Idempotent<PlanConfirmation>> {
        let request = serde_json::json!({"op": "plans.confirm", "plan_id": plan_id});
        let key = idempotency_key(String::new(), key, request)?;
        // A key confirms the plan at the time and venue it has: once rescheduled (a pending plan
        // only, so never one the key booked) it is another request, not a replay of an answer
        // about the old evening, such as a full slot then.
        let key = match key {
            Some(k) => {
                let plan = self.store.get_plan(plan_id).await?;
                let at = plan.start_time.timestamp_micros();
                Some(store::IdempotencyKey { scope: format!("plan:{plan_id}@{at}@{}", plan.venue_id), ..k })
            }
            None => None,
        };
        // The booking checks, in its transaction, that the plan still has the party it was
        // drawn up for and that nobody was invited since it was read (the invitees it locked);
        // when someone answered or was invited in between, it is drawn up again, up to
        // CONFIRM_ATTEMPTS times: a 409 naming the field only when the plan keeps changing.
        let mut attempts = 0;
        let answer = loop {
            if let Some(first) = self.saved_answer(&key).await? {
                break Idempotent::Replayed(first);
            }
            attempts += 1;
            let plan = self.store.get_plan(plan_id).await?;
            let organizer = organizer(&plan)?;
            if plan.status != PlanStatus::Draft && key.is_none() {
                return Err(AppError::Conflict {
                    message: format!("the plan is already {}", plan.status.as_str()),
                    field: Some("status".into()),
                });
            }
            let venue = self.store.get_venue(plan.venue_id).await?;
            let party = plan.party();
            let mut c = Checker::new();
            let last_seating = self.settings.booking.last_seating_minutes;
            check_slot(&mut c, &venue, plan.start_time, party, now, last_seating, ("start_time", "party_size"));
            c.finish(()).map_err(AppError::Invalid)?;
            let request = SeatRequest {
                user_id: organizer,
                venue_id: venue.id,
                plan_id: Some(plan.id),
                booking_time: plan.start_time,
                party_size: party,
                duration_minutes: self.turn(&venue, party),
                group_members: plan.accepted_guests(),
                special_requests: None,
            };
            match self.book_through_agent(request, key.clone()).await {
                Err(AppError::Conflict { field: Some(f), .. })
                    if (f == "party_size" || f == "invitees") && attempts < CONFIRM_ATTEMPTS =>
                {
                    continue;
                }
                other => break other?,
            }
        };
        let replayed = answer.is_replayed();
        let booked = match answer.into_inner() {
            SeatOutcome::Booked(b) => b,
            SeatOutcome::Full(full) => return Err(self.no_room(full, now, replayed).await),
        };
        // Seen by this server's engine at once, as a booking made directly is (the party's
        // visit to come, the venue's count), not only when the follower brings the event.
        if !replayed {
            self.apply_booking_written(&booked.booking);
        }
        // The plan as its booking left it (a replay answers exactly as the first request did).
        let plan = match booked.plan {
            Some(p) => p,
            None => self.store.get_plan(plan_id).await?,
        };
        let booking = booked.booking;
        let confirmation = PlanConfirmation {
            plan_id,
            booking_id: booking.id,
            confirmation_code: booking.confirmation_code.clone(),
            status: plan.status,
            plan,
            booking,
        };
        Ok(if replayed { Idempotent::Replayed(confirmation) } else { Idempotent::Fresh(confirmation) })
    }
}
