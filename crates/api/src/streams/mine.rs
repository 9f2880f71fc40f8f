//! A user's own event stream, `GET /api/v1/users/{user_id}/events` (SSE): what the app shows as
//! notifications, live. It follows the channels that carry what can concern a user
//! (`user_actions`, `social`, `bookings`) and sends only the events [`Concern`] admits: the
//! user's account, their friend requests and friendships, their interests, every plan they
//! organise or are invited to (with others' answers, and its booking unless they declined it:
//! from when they joined it, so a stream resumed from before their invitation does not replay
//! the plan's earlier events), invitations they sent or got, and bookings they are in. Frames,
//! ids, resumption with `Last-Event-ID` and lag notices are those of subscribe-all (the cursor
//! spans the three channels). A `lagged` notice's `missed` counts the bus's events, not the
//! user's: which of them concern the user is known only by reading them, after the notice. When
//! live delivery fell behind, it is every event the server's live delivery dropped, on every
//! channel (others' business included), and the user's among them follow, read back from
//! history: nothing of theirs is lost. When history no longer holds events after the cursor,
//! it is those trimmed from the three channels (exact from `0-0`, else at least one); which of
//! them were the user's cannot be known: any such are gone. The stream ends 2 s after the
//! user's own `user.deleted` (what else the deletion published comes on other channels, maybe
//! after it), when the access token it was opened with expires (a comment says so): the app
//! reconnects with a fresh token and its last id, and misses nothing; and at a data reset made
//! by any server sharing the bus (a comment says so), which removes every user without a
//! `user.deleted` each (a reseed with the same seed brings back users with the same ids: the
//! stream must not go on with the new one's events).

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use app::App;
use app::telemetry::StreamRefusal;
use domain::{Channel, Concern, Event};

use super::{FrameStream, frames, open_feed, resume_point};
use crate::auth::StreamCredential;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppPath, AppQuery};

/// The channels a user's stream follows.
const CHANNELS: [Channel; 3] = [Channel::UserActions, Channel::Social, Channel::Bookings];

/// The event after which a user's stream ends: the user's own deletion.
pub(super) const ACCOUNT_DELETED: &str = "user.deleted";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// Resume after this cursor (the `id:` of the last frame seen), for clients that cannot set
    /// `Last-Event-ID`; the header wins.
    pub last_event_id: Option<String>,
}

/// The user's own events, live (SSE): friend requests, invitations, plan changes and answers,
/// bookings, their account.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/events", tag = "streams",
    params(("user_id" = Uuid, Path, description = "The user's id"), MineQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor (`channel:id,...`)")),
    responses(
        (status = 200, description = "`text/event-stream` as subscribe-all's over `user_actions`, `social` and \
            `bookings`, with only the events that concern the user: `user.updated`, `user.deleted` (the stream \
            ends 2 s after it, with what else the deletion published) and `user.preferences_updated` of their account; `friend.*` they are part of; their \
            `interest.expressed`; `plan.*` of plans they organise or are invited to (from when they joined it: resumed from before their \
            invitation, the stream does not replay the plan's earlier events); `invitation.sent` they sent \
            or got; `booking.*` they made, are in the party of, or of such a plan they have not declined (as `GET /bookings/{plan_id}`). The stream ends with a comment when \
            the access token it was opened with expires (reconnect with a fresh one and `Last-Event-ID`), and when \
            the data is reset (the user is gone: the stream does not go on with a reseeded user of the same id). A `lagged` \
            notice's `missed` counts the bus's events, not the user's: after live delivery fell behind, every \
            event it dropped on every channel (the user's among them then follow: none is lost); after a gap in \
            history, the events trimmed from the three channels (whether any were the user's cannot be known)",
            body = Event, content_type = "text/event-stream"),
        (status = 401, description = "No valid credential", body = ErrorBody),
        (status = 403, description = "Another user's stream", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A malformed `user_id` or cursor, or a cursor naming none of this stream's \
            channels", body = ErrorBody),
        (status = 429, description = "The user has as many streams open as one user may (4 by default): \
            `too_many_streams`, with `Retry-After: 5`; a place is free as soon as one of their streams ends",
            body = ErrorBody),
        (status = 503, description = "Too many open streams, or the event bus is unavailable", body = ErrorBody),
    ))]
pub(super) async fn subscribe_mine(
    State(app): State<App>,
    credential: StreamCredential,
    AppPath(user_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<MineQuery>,
    headers: HeaderMap,
) -> ApiResult<FrameStream> {
    let resume = resume_point(&headers, q.last_event_id.as_deref(), &CHANNELS)?;
    // Taken before the user is looked up: a reset after the look-up ends the stream.
    let reset = Box::pin(app.telemetry.next_data_reset());
    app.get_user(user_id).await?;
    // The feed is opened before the user's plans are read: a plan made in between reaches the
    // stream as an event naming the user, so none falls between the two.
    let permit = app.telemetry.try_subscribe_user(user_id).map_err(|refusal| match refusal {
        StreamRefusal::UserFull(most) => ApiError::TooManyStreams(format!(
            "the user has {most} event streams open, the most one user may have; close one first"
        )),
        StreamRefusal::ServerFull => ApiError::Unavailable("SSE stream limit reached".into()),
    })?;
    let feed = open_feed(&app, CHANNELS.to_vec(), resume).await?;
    let plans = app.user_plan_ids(user_id).await?;
    let declined = plans.iter().filter(|(_, declined, _)| *declined).map(|(id, ..)| *id);
    let joined = plans.iter().map(|(id, _, joined)| (*id, *joined));
    let concern = Concern::new(user_id, plans.iter().map(|(id, ..)| *id)).declined(declined).joined(joined);
    Ok(frames(&app, credential, permit, feed, Some(concern), Some(reset)))
}
