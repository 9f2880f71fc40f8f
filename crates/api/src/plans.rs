//! `/plans`: the second seed document's plan flow. `POST /plans/` proposes a plan (the
//! organizer takes part; `participant_ids` are invited), `GET /plans/{plan_id}` shows it with its
//! participants, `PATCH /plans/{plan_id}` reschedules it, people are invited and answer under
//! `/participants`, and `POST /plans/{plan_id}/confirm` validates the plan and has the booking
//! agent book it, and
//! `POST /plans/{plan_id}/cancel` calls off one still being organised. `GET
//! /users/{user_id}/plans` lists the plans a user organises or is invited to.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use domain::{PageRequest, Plan, PlanInput, PlanReschedule, PlanStatus};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::{App, PlanConfirmation};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, IdempotencyKeyHeader, NoOptions};
use crate::respond::{Created, Paginated, Replayable};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_plan))
        .routes(routes!(get_plan, reschedule_plan))
        .routes(routes!(invite))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(confirm_plan))
        .routes(routes!(cancel_plan))
        .routes(routes!(list_user_plans))
}

/// Propose a plan: organizer, venue, start time, and optionally a party size and people to invite.
#[utoipa::path(post, path = "/plans", tag = "plans", request_body = PlanInput,
    responses(
        (status = 201, description = "Proposed (status `pending`); `Location` names the plan", body = Plan,
            headers(("location" = String, description = "Path of the new plan"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A start in the past, a bad party size or invitee list, or an id that names \
            nothing", body = ErrorBody),
    ))]
async fn create_plan(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppJson(input): AppJson<PlanInput>,
) -> ApiResult<Created<Plan>> {
    let plan = app.create_plan(input, app.now()).await?;
    Ok(Created::under(&uri, plan.id, plan))
}

/// A plan with its participants.
#[utoipa::path(get, path = "/plans/{plan_id}", tag = "plans",
    params(("plan_id" = Uuid, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = Plan),
        (status = 404, description = "No such plan; with auth, the same answer for a user not on it", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn get_plan(State(app): State<App>, AppPath(plan_id): AppPath<Uuid>) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.get_plan(plan_id).await?))
}

/// Move a plan still being organised to another time, and optionally another venue (organizer
/// only). Checked as a new plan is; everyone invited is asked again (their answers were for the
/// old time: back to `invited`), told with `plan.rescheduled`.
#[utoipa::path(patch, path = "/plans/{plan_id}", tag = "plans", request_body = PlanReschedule,
    params(("plan_id" = Uuid, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan with its participants, invitees back to `invited`; the same time and \
            venue again change nothing", body = Plan),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such plan; with auth, the same answer for a user not on it", body = ErrorBody),
        (status = 409, description = "The plan is confirmed or cancelled, or being booked through an outside provider \
            (field `status`); the new venue cannot seat its party", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A start in the past or more than a year ahead, the venue closed then, a venue \
            that does not exist (field `venue_id`) or too small for the plan's party size", body = ErrorBody),
    ))]
async fn reschedule_plan(
    State(app): State<App>,
    AppPath(plan_id): AppPath<Uuid>,
    AppJson(input): AppJson<PlanReschedule>,
) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.reschedule_plan(plan_id, input, app.now()).await?))
}

/// The body of an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    /// Users to invite: those who declined are invited again (back to `invited`); those invited
    /// already or who accepted stay as they are. Also read as `invitees`, as `POST /plans` reads it.
    // QA: the name a plan may be proposed with was refused here as an unknown field.
    #[serde(alias = "invitees")]
    pub participant_ids: Vec<Uuid>,
}

/// Invite more people to a pending plan, or invite again someone who declined it.
#[utoipa::path(post, path = "/plans/{plan_id}/participants", tag = "plans", request_body = InviteInput,
    params(("plan_id" = Uuid, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan with its participants, each as they now stand: the newly invited \
            and those who had declined `invited` (told with `invitation.sent`, a decliner's change also with \
            `plan.participant_updated`), the others' answers unchanged", body = Plan),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "The plan is confirmed or cancelled (field `status`: a late invitee is not \
            added, as the booking counted the party without them), or its time has come (field `start_time`); \
            nothing is changed", body = ErrorBody),
        (status = 422, description = "An empty or repeated list, the organizer in it, or an unknown user",
            body = ErrorBody),
    ))]
async fn invite(
    State(app): State<App>,
    AppPath(plan_id): AppPath<Uuid>,
    AppJson(input): AppJson<InviteInput>,
) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.invite_to_plan(plan_id, input.participant_ids, app.now()).await?))
}

/// A plan and one of its participants.
#[derive(Debug, Deserialize)]
struct ParticipantPath {
    plan_id: Uuid,
    user_id: Uuid,
}

/// Accept an invitation to a plan.
#[utoipa::path(post, path = "/plans/{plan_id}/participants/{user_id}/accept", tag = "plans",
    params(
        ("plan_id" = Uuid, Path, description = "The plan's id"),
        ("user_id" = Uuid, Path, description = "The invitee's id"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "The plan with its participants; the answer the invitee gave already \
            changes nothing (the first `responded_at` stays, nobody is told again)", body = Plan),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such plan; the same answer for a user not on the plan, whatever it \
            is (an outsider cannot tell a plan from no plan)", body = ErrorBody),
        (status = 409, description = "The plan is confirmed or cancelled, its time has come (field `start_time`), \
            its party would be larger than the venue seats, or its booking is waiting on an outside provider and the answer would change its party (try again \
            in a moment)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, the organizer, or a body with a field", body = ErrorBody),
    ))]
async fn accept(
    State(app): State<App>,
    AppPath(p): AppPath<ParticipantPath>,
    _: NoOptions,
) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.answer_invitation(p.plan_id, p.user_id, true, app.now()).await?))
}

/// Decline an invitation to a plan.
#[utoipa::path(post, path = "/plans/{plan_id}/participants/{user_id}/decline", tag = "plans",
    params(
        ("plan_id" = Uuid, Path, description = "The plan's id"),
        ("user_id" = Uuid, Path, description = "The invitee's id"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "The plan with its participants; the answer the invitee gave already \
            changes nothing (the first `responded_at` stays, nobody is told again)", body = Plan),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such plan; the same answer for a user not on the plan, whatever it \
            is (an outsider cannot tell a plan from no plan)", body = ErrorBody),
        (status = 409, description = "The plan is confirmed or cancelled, or its booking is waiting on an outside \
            provider and the answer would change its party (try again in a moment)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, the organizer, or a body with a field", body = ErrorBody),
    ))]
async fn decline(
    State(app): State<App>,
    AppPath(p): AppPath<ParticipantPath>,
    _: NoOptions,
) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.answer_invitation(p.plan_id, p.user_id, false, app.now()).await?))
}

/// Confirm a plan: validates it (start in the future, venue open then, the party of the organizer
/// and everyone who accepted within capacity) and has the booking agent book it.
#[utoipa::path(post, path = "/plans/{plan_id}/confirm", tag = "plans",
    params(
        ("plan_id" = Uuid, Path, description = "The plan's id"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "Retries with the same key replay the first answer and book nothing new"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Confirmed with its booking (`Idempotent-Replayed: true` on a replay)",
            body = PlanConfirmation),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "Already confirmed or cancelled (field `status`, with a key or without); \
            the organizer already holds a table there at that time (field `start_time`); `slot_full` with \
            alternatives in `details`; the key's first request still in flight (field `idempotency_key`, \
            `Retry-After` 1 to 5 s; up to `booking.hold_ttl_secs` + 30 s after a 503 `database_unavailable`); the \
            party kept changing while it was booked (field `party_size`, after eight attempts); people kept \
            being invited while it was being booked (field `invitees`, after eight attempts: nothing is booked, \
            confirm it again); it was \
            rescheduled while it was being booked (field `start_time`: confirm it again)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Start in the past, venue closed then, party too big, the key reused \
            with another request, or a body with a field (nothing is booked)", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the external provider did not confirm, nothing was \
            booked; `database_unavailable`: the database stopped answering, and if it did while confirming, the \
            booking may or may not have been saved (a retry with the same key replays it if it was, and may get \
            the 409 in flight until its key is freed)", body = ErrorBody),
    ))]
async fn confirm_plan(
    State(app): State<App>,
    AppPath(plan_id): AppPath<Uuid>,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    _: NoOptions,
) -> ApiResult<Replayable<(StatusCode, AppJson<PlanConfirmation>)>> {
    let answer = app.confirm_plan(plan_id, key, app.now()).await?;
    Ok(Replayable::of(answer, |c| (StatusCode::OK, AppJson(c))))
}

/// Call off a plan still being organised (organizer only). A confirmed plan is called off by
/// cancelling its booking, which cancels the plan too and frees its seats.
#[utoipa::path(post, path = "/plans/{plan_id}/cancel", tag = "plans",
    params(("plan_id" = Uuid, Path, description = "The plan's id")),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Cancelled (`plan.cancelled` tells its people); the plan with its participants",
            body = Plan),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "Already cancelled; confirmed (field `status`: cancel its booking instead, \
            named in the message); or being booked through an outside provider (try again in a moment)",
            body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field (a `reason`: it takes none; the plan \
            stays as it was)", body = ErrorBody),
    ))]
async fn cancel_plan(
    State(app): State<App>,
    AppPath(plan_id): AppPath<Uuid>,
    _: NoOptions,
) -> ApiResult<AppJson<Plan>> {
    Ok(AppJson(app.cancel_plan(plan_id).await?))
}

/// Which side of a user's plans to list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanRole {
    Organizer,
    Invited,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserPlansQuery {
    /// `pending`, `confirmed` or `cancelled`; all when omitted.
    pub status: Option<PlanStatus>,
    /// `organizer` (plans the user organises) or `invited` (others' plans the user is invited
    /// to, whatever their answer); both when omitted.
    pub role: Option<PlanRole>,
    /// Items per page, 1 to 500 (default 50).
    #[param(value_type = Option<domain::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    /// Continue after this id (from the `Link: <...>; rel="next"` header).
    pub after: Option<Uuid>,
}

/// The plans a user organises or is invited to, each with its participants.
#[utoipa::path(get, path = "/users/{user_id}/plans", tag = "plans",
    params(("user_id" = Uuid, Path, description = "The user's id"), UserPlansQuery),
    responses(
        (status = 200, description = "A page of plans, in one order across pages: by id (oldest first), organised \
            and invited merged unless `role` picks one; the next page is in the `Link` header", body = Vec<Plan>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter (`status`, `role`, `limit` or `after`)", body = ErrorBody),
    ))]
async fn list_user_plans(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<UserPlansQuery>,
) -> ApiResult<Paginated<Plan>> {
    let page = PageRequest::parse(q.limit, q.after)?;
    let role = q.role.map(|r| match r {
        PlanRole::Organizer => store::PlanRole::Organizer,
        PlanRole::Invited => store::PlanRole::Invited,
    });
    let plans = app.list_user_plans(user_id, role, q.status, page).await?;
    Ok(Paginated::new(plans, &uri, page.limit))
}
