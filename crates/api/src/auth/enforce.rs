//! The middleware that applies [`rules::RULES`]: it resolves the [`Caller`], finds the matched
//! route's rule and refuses the request (401/403) or passes it on with the caller in its
//! extensions. A matched route without a rule is refused (deny by default; a test keeps the
//! table complete); a method the route does not serve goes on to the router's 405. Paths no
//! route matches (the dashboard's files, 404s) are public.
//!
//! A check that needs a resource (a plan's members) passes requests for one that does not
//! exist through to the handler, which answers 404 as it would for anyone signed in; a path
//! parameter that is not a UUID goes on to the handler's 422 the same way.
//!
//! On SSE routes it also leaves the [`StreamCredential`](super::StreamCredential) the stream
//! was opened with, which the stream watches so that it ends once that credential is retired.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use app::{App, AppError};
use domain::{ParticipantStatus, Plan};

use super::rules::{self, Rule};
use super::{Auth, Caller};
use crate::error::ApiError;

/// What the middleware needs.
#[derive(Clone)]
pub(crate) struct AuthState {
    pub app: App,
    pub auth: Auth,
}

pub(crate) async fn enforce(State(state): State<AuthState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let method = if parts.method == Method::HEAD { Method::GET } else { parts.method.clone() };
    let entry = match parts.extensions.get::<MatchedPath>() {
        None => None,
        Some(matched) => match rules::for_path(matched.as_str()) {
            // A method the route does not serve: the router answers 405.
            Some(entries) => entries.iter().find(|e| e.method == method.as_str()).copied(),
            None => return ApiError::Forbidden("no access rule covers this operation".into()).into_response(),
        },
    };
    let rule = entry.map_or(Rule::Public, |e| e.rule);
    // A bad token is ignored on a public route, whose answer is the same for everyone (so a
    // client whose access token expired can still sign in, refresh it or sign up), and a 401
    // everywhere else, a public profile included: its answer depends on who asks, so a client
    // with a stale token must learn it rather than be shown the profile without its private
    // fields.
    let sse = entry.is_some_and(|e| e.sse);
    let resolved =
        request_token(&parts, sse).and_then(|token| Ok((resolve_caller(&state.auth, token.as_deref())?, token)));
    let (caller, token) = match resolved {
        Ok(resolved) => resolved,
        Err(_) if rule == Rule::Public => (Caller::Anonymous, None),
        Err(e) => return e.into_response(),
    };
    // A public route's answer is the same for everyone: its caller is not looked up.
    if rule != Rule::Public
        && let Err(e) = still_exists(&state.app, caller).await
    {
        return e.into_response();
    }
    let body = match check(&state.app, rule, caller, &mut parts, body).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(caller);
    if sse {
        // A stream outlives this check: it ends when its credential is retired.
        parts.extensions.insert(state.auth.stream_credential(caller, token.as_deref()));
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The request's token: its `Authorization: Bearer` header, or on an SSE route (`sse`) its
/// `?access_token=`. A malformed header is a 401.
fn request_token(parts: &Parts, sse: bool) -> Result<Option<String>, ApiError> {
    match parts.headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let value =
                value.to_str().map_err(|_| ApiError::Unauthorized("a malformed Authorization header".into()))?;
            let token = super::bearer_token(value)
                .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer <token>`".into()))?;
            Ok(Some(token.to_string()))
        }
        None if sse => Ok(query_token(parts.uri.query())),
        None => Ok(None),
    }
}

/// The caller of a request with `token`: the admin token, a valid user token, or none
/// (anonymous; anyone under a relaxed `--dev`). A token that is present but invalid or expired
/// is a 401.
fn resolve_caller(auth: &Auth, token: Option<&str>) -> Result<Caller, ApiError> {
    let Some(token) = token else {
        return Ok(if auth.relaxed() { Caller::DevAnyone } else { Caller::Anonymous });
    };
    if auth.is_admin_token(token) {
        return Ok(Caller::Admin);
    }
    match auth.signer().verify(token, chrono::Utc::now()) {
        Ok(claims) => Ok(Caller::User(claims.sub)),
        Err(e) => Err(ApiError::Unauthorized(e.to_string())),
    }
}

/// A user token's user must still exist: a token outlives its user's deletion by up to its
/// lifetime (15 minutes), and must not act for nobody meanwhile. A 401, as for any token that no
/// longer counts.
async fn still_exists(app: &App, caller: Caller) -> Result<(), ApiError> {
    let Caller::User(id) = caller else { return Ok(()) };
    if app.user_exists(id).await? {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the user of this token no longer exists".into()))
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "access_token").map(|(_, v)| v.into_owned())
}

/// Applies `rule`; returns the body (read, and put back, when the rule looks inside it).
async fn check(app: &App, rule: Rule, caller: Caller, parts: &mut Parts, body: Body) -> Result<Body, ApiError> {
    match rule {
        Rule::Public | Rule::PublicProfile => {}
        Rule::Admin => caller.admin()?,
        Rule::Authenticated => caller.signed_in()?,
        Rule::SelfUser(param) => {
            caller.signed_in()?;
            if let Some(user) = path_uuid(parts, param).await {
                caller.act_as(user)?;
            }
        }
        Rule::SelfUserInQuery(name) | Rule::SelfUserInRequiredQuery(name) => {
            let value = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned());
            match value {
                // A missing required parameter is the handler's 422, not a list of everyone.
                None if matches!(rule, Rule::SelfUserInRequiredQuery(_)) => caller.signed_in()?,
                None => caller.act_for_everyone()?,
                Some(v) => {
                    caller.signed_in()?;
                    if let Ok(user) = Uuid::parse_str(&v) {
                        caller.act_as(user)?;
                    }
                }
            }
        }
        Rule::OneOfUsers(param) => {
            caller.signed_in()?;
            if let (Caller::User(me), Some(list)) = (caller, path_param(parts, param).await) {
                let ids: Vec<Uuid> = list.split(',').filter_map(|id| Uuid::parse_str(id.trim()).ok()).collect();
                if !ids.contains(&me) {
                    return Err(ApiError::Forbidden("you are not one of these users".into()));
                }
                group_allows(app, me, ids).await?;
            }
        }
        Rule::SelfUserInBody(field) => return body_user(caller, field, body).await,
        Rule::PlanMember(param) | Rule::PlanAttendee(param) | Rule::PlanOrganizer(param) => {
            caller.signed_in()?;
            if let (Caller::User(me), Some(plan_id)) = (caller, path_uuid(parts, param).await) {
                let who = match rule {
                    Rule::PlanOrganizer(_) => PlanRole::Organizer,
                    Rule::PlanAttendee(_) => PlanRole::Attendee,
                    _ => PlanRole::Invitee,
                };
                plan_allows(app, plan_id, me, who).await?;
            }
        }
        Rule::BookingMember(param) | Rule::BookingOwner(param) => {
            caller.signed_in()?;
            if let (Caller::User(me), Some(booking_id)) = (caller, path_uuid(parts, param).await) {
                booking_allows(app, booking_id, me, matches!(rule, Rule::BookingOwner(_))).await?;
            }
        }
    }
    Ok(body)
}

async fn path_param(parts: &mut Parts, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

async fn path_uuid(parts: &mut Parts, name: &str) -> Option<Uuid> {
    path_param(parts, name).await.and_then(|v| Uuid::parse_str(&v).ok())
}

/// The body's `field` must name the caller. The body is read here (the outer body limit
/// applies) and handed on unchanged; a body without the field goes on to the handler's 422.
async fn body_user(caller: Caller, field: &str, body: Body) -> Result<Body, ApiError> {
    caller.signed_in()?;
    if !matches!(caller, Caller::User(_)) {
        return Ok(body);
    }
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|_| ApiError::PayloadTooLarge)?;
    let named = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get(field).and_then(|f| f.as_str()).and_then(|s| Uuid::parse_str(s).ok()));
    if let Some(user) = named {
        caller.act_as(user)?;
    }
    Ok(Body::from(bytes))
}

/// Who on a plan a rule lets through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PlanRole {
    /// The organizer only.
    Organizer,
    /// The organizer and invitees who have not declined (those who may still come).
    Attendee,
    /// The organizer and every invitee, declined too (they may change their mind while it is
    /// pending).
    Invitee,
}

/// Passes when the plan does not exist (the handler's 404) or `me` is on it as `who` asks; the
/// same 404 for `me` not on it at all, so an outsider cannot tell a plan from no plan.
async fn plan_allows(app: &App, plan_id: Uuid, me: Uuid, who: PlanRole) -> Result<(), ApiError> {
    let plan = match app.get_plan(plan_id).await {
        Ok(plan) => plan,
        Err(AppError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let declined = plan.participants.iter().any(|p| p.user_id == me && p.status == ParticipantStatus::Declined);
    if on_plan(&plan, me, who) {
        Ok(())
    } else if !on_plan(&plan, me, PlanRole::Invitee) {
        // Someone never on the plan gets the handler's answer to no such plan: a 403 would tell
        // them that the id names one.
        Err(AppError::not_found("plan", plan_id).into())
    } else if who == PlanRole::Organizer && plan.organizer_id.is_none() {
        // Nobody may any more: a 409 saying why, as the handler gives the admin, rather than a
        // 403 telling an invitee that someone else could.
        Err(AppError::Conflict { message: plan.without_organizer(), field: Some("organizer_id".into()) }.into())
    } else if who == PlanRole::Organizer {
        Err(ApiError::Forbidden("only the plan's organizer may do this".into()))
    } else if declined {
        // Only attendee rules refuse someone on the plan; the plan's booking is theirs alone.
        Err(ApiError::Forbidden("you declined this plan: invitees who declined cannot see the plan's booking".into()))
    } else {
        Err(ApiError::Forbidden("you are not on this plan".into()))
    }
}

fn on_plan(plan: &Plan, me: Uuid, who: PlanRole) -> bool {
    plan.organizer_id == Some(me)
        || plan.participants.iter().any(|p| {
            p.user_id == me
                && match who {
                    PlanRole::Organizer => false,
                    PlanRole::Attendee => p.status != ParticipantStatus::Declined,
                    PlanRole::Invitee => true,
                }
        })
}

/// Passes when everyone else in the group is a friend of `me`: a group's answer carries where
/// each member is (their distance to every venue, the group's centre), which strangers must not
/// learn by naming someone in a group.
async fn group_allows(app: &App, me: Uuid, mut ids: Vec<Uuid>) -> Result<(), ApiError> {
    ids.sort_unstable();
    ids.dedup();
    // A group out of bounds is the handler's 422, without a query naming thousands of ids.
    if !crate::reco::GROUP_SIZE.contains(&ids.len()) {
        return Ok(());
    }
    ids.retain(|&id| id != me);
    let friends = app.store.connected(me, &ids).await.map_err(AppError::from)?;
    let strangers: Vec<String> = ids.iter().filter(|id| !friends.contains(id)).map(Uuid::to_string).collect();
    if strangers.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a group may only hold you and your friends; not your friend: {}",
            strangers.join(", ")
        )))
    }
}

/// Passes when the booking does not exist (the handler's 404), or `me` made it or organizes
/// its plan; unless `owner_only`, also when `me` is in its group or invited to its plan and has
/// not declined (someone who said no is not going, and has no business with the table).
async fn booking_allows(app: &App, booking_id: Uuid, me: Uuid, owner_only: bool) -> Result<(), ApiError> {
    let booking = match app.get_booking(booking_id).await {
        Ok(booking) => booking,
        Err(AppError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if booking.made_by(me) || (!owner_only && booking.group_members.contains(&me)) {
        return Ok(());
    }
    if let Some(plan_id) = booking.plan_id {
        let who = if owner_only { PlanRole::Organizer } else { PlanRole::Attendee };
        match app.get_plan(plan_id).await {
            Ok(plan) if on_plan(&plan, me, who) => return Ok(()),
            Ok(_) | Err(AppError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Forbidden(if owner_only && booking.user_id.is_none() {
        // Its maker deleted their account (0013); the party still sees it, the admin may move it.
        "the one who made this booking deleted their account: only the admin may change it now".into()
    } else if owner_only {
        "only the one who made this booking (for a plan, its organizer) may do this".into()
    } else {
        "this is not your booking".into()
    }))
}
