//! Friends and friend requests under `/users/{user_id}`: send a request, list incoming and
//! outgoing ones, accept or decline (as the recipient), list friends, unfriend.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use domain::page::PageQuery;
use domain::{FriendRequest, PageRequest};
use serde::Deserialize;
use store::{Friend, RequestDirection};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, NoOptions};
use crate::respond::Paginated;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_friends))
        .routes(routes!(remove_friend))
        .routes(routes!(send_friend_request, list_friend_requests))
        .routes(routes!(accept_friend_request))
        .routes(routes!(decline_friend_request))
}

/// Two users in a path.
#[derive(Debug, Deserialize)]
struct UserPair {
    user_id: Uuid,
    other_user_id: Uuid,
}

/// A friend request addressed to a user.
#[derive(Debug, Deserialize)]
struct RequestPath {
    user_id: Uuid,
    request_id: Uuid,
}

/// A user's friends and other connections.
#[utoipa::path(get, path = "/users/{user_id}/friends", tag = "social",
    params(("user_id" = Uuid, Path, description = "The user's id"), PageQuery),
    responses(
        (status = 200, description = "A page of connections, in one order across pages: friends, then mutual, then suggested connections, strongest first; the next page is in the `Link` header", body = Vec<Friend>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter, or an `after` whose connection was removed meanwhile", body = ErrorBody),
    ))]
async fn list_friends(
    State(app): State<App>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<Paginated<Friend>> {
    let page = PageRequest::parse(q.limit, q.after)?;
    let mut friends = app.list_friends(user_id, page).await?;
    // Friends' emails and homes stay theirs.
    for f in &mut friends.items {
        f.user = crate::users::shown_to(caller, f.user.clone());
    }
    Ok(Paginated::new(friends, &uri, page.limit))
}

/// End a friendship (both ways).
#[utoipa::path(delete, path = "/users/{user_id}/friends/{other_user_id}", tag = "social",
    params(
        ("user_id" = Uuid, Path, description = "The user's id"),
        ("other_user_id" = Uuid, Path, description = "The friend's id"),
    ),
    responses(
        (status = 204, description = "No longer friends"),
        (status = 404, description = "The two were not connected", body = ErrorBody),
        (status = 422, description = "Not a UUID", body = ErrorBody),
    ))]
async fn remove_friend(State(app): State<App>, AppPath(p): AppPath<UserPair>) -> ApiResult<StatusCode> {
    app.remove_friend(p.user_id, p.other_user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of a friend request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FriendRequestInput {
    /// Who the request is for.
    pub to_user_id: Uuid,
}

/// Ask another user to be friends.
#[utoipa::path(post, path = "/users/{user_id}/friend-requests", tag = "social", request_body = FriendRequestInput,
    params(("user_id" = Uuid, Path, description = "The sender's id")),
    responses(
        (status = 201, description = "Sent; pending until the recipient answers", body = FriendRequest),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such sender", body = ErrorBody),
        (status = 409, description = "Already friends, a request is pending between the two, or the recipient \
            declined this sender's request less than 7 days ago (field `to_user_id`; the message says from when \
            they may ask again; the one who declined may ask the sender at any time)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A request to oneself or to an unknown user, or invalid fields", body = ErrorBody),
    ))]
async fn send_friend_request(
    State(app): State<App>,
    AppPath(user_id): AppPath<Uuid>,
    AppJson(input): AppJson<FriendRequestInput>,
) -> ApiResult<(StatusCode, AppJson<FriendRequest>)> {
    let request = app.send_friend_request(user_id, input.to_user_id).await?;
    Ok((StatusCode::CREATED, AppJson(request)))
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FriendRequestsQuery {
    /// `incoming` (sent to the user) or `outgoing` (sent by the user); both when omitted.
    pub direction: Option<Direction>,
    /// Items per page, 1 to 500 (default 50).
    #[param(value_type = Option<domain::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    /// Continue after this id (from the `Link: <...>; rel="next"` header).
    pub after: Option<Uuid>,
}

/// A user's pending friend requests, incoming and outgoing.
#[utoipa::path(get, path = "/users/{user_id}/friend-requests", tag = "social",
    params(("user_id" = Uuid, Path, description = "The user's id"), FriendRequestsQuery),
    responses(
        (status = 200, description = "A page of pending requests, in one order across pages: by id (oldest first), incoming and outgoing merged unless `direction` picks one; the next page is in the `Link` header", body = Vec<FriendRequest>,
            headers(("link" = String, description = "`<...?after=ID&limit=N>; rel=\"next\"` when more follow"))),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A bad parameter (`direction`, `limit` or `after`)", body = ErrorBody),
    ))]
async fn list_friend_requests(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<FriendRequestsQuery>,
) -> ApiResult<Paginated<FriendRequest>> {
    let page = PageRequest::parse(q.limit, q.after)?;
    let direction = q.direction.map(|d| match d {
        Direction::Incoming => RequestDirection::Incoming,
        Direction::Outgoing => RequestDirection::Outgoing,
    });
    let requests = app.list_friend_requests(user_id, direction, page).await?;
    Ok(Paginated::new(requests, &uri, page.limit))
}

/// Accept a pending request addressed to this user; they become friends.
#[utoipa::path(post, path = "/users/{user_id}/friend-requests/{request_id}/accept", tag = "social",
    params(
        ("user_id" = Uuid, Path, description = "The recipient's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Accepted", body = FriendRequest),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such request for this user", body = ErrorBody),
        (status = 409, description = "Already answered", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field", body = ErrorBody),
    ))]
async fn accept_friend_request(
    State(app): State<App>,
    AppPath(p): AppPath<RequestPath>,
    _: NoOptions,
) -> ApiResult<AppJson<FriendRequest>> {
    Ok(AppJson(app.answer_friend_request(p.request_id, p.user_id, true).await?))
}

/// Decline a pending request addressed to this user.
#[utoipa::path(post, path = "/users/{user_id}/friend-requests/{request_id}/decline", tag = "social",
    params(
        ("user_id" = Uuid, Path, description = "The recipient's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
    ),
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses(
        (status = 200, description = "Declined", body = FriendRequest),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "No such request for this user", body = ErrorBody),
        (status = 409, description = "Already answered", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Not a UUID, or a body with a field", body = ErrorBody),
    ))]
async fn decline_friend_request(
    State(app): State<App>,
    AppPath(p): AppPath<RequestPath>,
    _: NoOptions,
) -> ApiResult<AppJson<FriendRequest>> {
    Ok(AppJson(app.answer_friend_request(p.request_id, p.user_id, false).await?))
}
