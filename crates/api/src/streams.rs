//! Event streams over SSE, as the first seed document names them:
//! `GET /api/v1/admin/streams/subscribe/{channel}`, `.../subscribe-all?channels=a,b` and
//! `.../history/{channel}?limit=&before=`, plus `.../channels`.
//!
//! Frames: `id:` is the event id (on subscribe-all, the stream's cursor: every followed
//! channel's last id, `channel:id,channel:id`, because ids are per channel), `event:` the event
//! type, `data:` the [`domain::Event`] as JSON. The first frame is `event: connected` with the
//! starting cursor as its id. A reader that falls behind gets `event: lagged` (`{"missed": n}`)
//! and then what it missed, read back from history. After live delivery fell behind, `n` counts
//! the bus's events, not the stream's: a server feeds all its streams from one broadcast of
//! every channel, so a stream of one channel (or of some, on subscribe-all) is told of every
//! event dropped on every channel, others' included; those of its own channels among them
//! follow, and none is lost. Idle streams carry `:keepalive` comments.
//!
//! Resumption: a client that reconnects with `Last-Event-ID` (or `?last_event_id=`, the header
//! winning) gets every event after it, then live ones, with no gap and no duplicate (see
//! [`bus::Feed`]). Without one, `?include_history=true` (the second seed document's flag) starts
//! the stream at the channel's latest 50 events ([`INCLUDED_HISTORY`]; 20 of each channel on
//! subscribe-all), read back the same way. History is bounded: a position older than the oldest event kept gets
//! `event: lagged` first, `missed` being the events trimmed after it (exact from `0-0`; `1`,
//! meaning at least one, when the bus cannot tell how many), then the oldest events kept.
//! A position later than a channel's latest event (a cursor kept from another deployment, or
//! from before the bus was emptied) resumes that channel from its latest event, as a stream
//! without one starts: nothing is replayed, no notice is sent (nothing is known to be missed),
//! and the `connected` frame's id gives the position the stream took (`0-0` for a channel with
//! no event yet) ([`bus::Feed::open`]). A cursor naming none of the stream's channels (another
//! stream's) is a 422, as a malformed one is: it would resume nothing. A stream's own ids never
//! are: a bare id, or the cursor of every channel it follows. Streams per server are capped
//! (503 beyond).
//!
//! Credentials: a stream lasts only as long as the credential it was opened with. Once the
//! server puts a rotated admin token in force (within [`ADMIN_TOKEN_POLL`](crate::auth::ADMIN_TOKEN_POLL)
//! of `luna admin-token --rotate`), every stream opened with the old one gets a last comment
//! saying why and ends, before any further event; a reconnect with the old token is a 401.
//!
//! Repeats: the outbox relay publishes at least once, so an event can be on the bus twice, with
//! the same `source_id` (its outbox id) under two ids. A stream remembers the source ids it sent
//! lately ([`bus::Repeats`], up to [`REPEAT_WINDOW`]) and does not send such a repeat; events
//! without a source id always go out. The memory belongs to the connection: a client that
//! resumes with `Last-Event-ID` starts a fresh one, so a repeat of an event it got before the
//! reconnect (both after its resume point) can still reach it.

mod event_doc;
mod mine;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event as Frame, KeepAlive, KeepAliveStream, Sse};
use axum::response::{IntoResponse, Response};
use bus::{BusError, Cursor, EventId, Feed, FeedItem, Repeats};
use domain::{Channel, Concern, Event};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::telemetry::SubscriberPermit;

use crate::auth::StreamCredential;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};

/// Source ids of sent events a stream remembers at most, to skip the relay's repeats: below the
/// engine follower's `events.repeat_window` (the smaller of the two applies) because every open
/// stream keeps its own (up to `max_subscribers`, 1,000 by default: 4 GB at 100,000 ids of about
/// 40 bytes each). A repeat comes at the relay's next pass with at most the rest of its batch
/// (256 rows) between it and its original ([`bus::Repeats`]), so 4,096 ids (16 batches) reach
/// far enough, for about 200 KB a stream at most (the set's table and the queue of ids; reached
/// by a stream sent that many: 1,000 such streams hold about 200 MB).
const REPEAT_WINDOW: usize = 4_096;

/// Events a history request returns by default, and at most.
const HISTORY_DEFAULT: usize = 50;
const HISTORY_MAX: usize = 1000;
/// How many events one page of a channel's history holds.
const HISTORY_LIMIT: domain::limits::Whole = domain::limits::Whole::new(1, HISTORY_MAX as i64);
domain::documented_range!(HistoryLimitRange = HISTORY_LIMIT);

/// Events of its channel a stream opened with `include_history=true` starts with, and of each
/// channel on subscribe-all (as in the second seed document).
const INCLUDED_HISTORY: usize = 50;
const INCLUDED_HISTORY_EACH: usize = 20;

pub fn router() -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(subscribe))
        .routes(routes!(subscribe_all))
        .routes(routes!(history))
        .routes(routes!(channels))
        .routes(routes!(mine::subscribe_mine));
    event_doc::document(router.get_openapi_mut());
    router
}

type FrameStream = Sse<KeepAliveStream<BoxStream<'static, Result<Frame, Infallible>>>>;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeQuery {
    /// Resume after this event id (for clients that cannot set `Last-Event-ID`; the header wins).
    pub last_event_id: Option<String>,
    /// Without a resume point, start with the channel's latest 50 events (default false).
    pub include_history: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscribeAllQuery {
    /// Comma-separated channels to follow (default: all).
    pub channels: Option<String>,
    /// Resume after this cursor: `channel:id,channel:id` (the `id:` of the last frame seen), or
    /// a bare id applied to every channel from the start of its millisecond. The header wins.
    pub last_event_id: Option<String>,
    /// Without a resume point, start with each channel's latest 20 events, in time order across
    /// them (default false).
    pub include_history: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Events to return, 1 to 1000 (default 50).
    #[param(value_type = Option<HistoryLimitRange>, inline)]
    pub limit: Option<usize>,
    /// Only events strictly before this id (the next page: the first id of this one).
    pub before: Option<String>,
}

/// A page of a channel's history (the second seed document's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub channel: Channel,
    /// Up to `limit` events, oldest first.
    pub events: Vec<Event>,
    /// How many `events` holds.
    pub count: usize,
}

/// The channels, what they carry and their event types.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    /// Channel name to description (the first seed document's shape).
    pub channels: std::collections::BTreeMap<String, String>,
    /// Channel name to the event types published on it.
    pub event_types: std::collections::BTreeMap<String, Vec<String>>,
}

/// Live events of one channel (SSE), after any it missed.
#[utoipa::path(get, path = "/api/v1/admin/streams/subscribe/{channel}", tag = "streams",
    params(("channel" = Channel, Path, description = "The channel"), ResumeQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses(
        (status = 200, description = "`text/event-stream`: `connected`, then one frame per event (`id:` event id, \
            `event:` type, `data:` the Event; payloads per type in `EventPayload`; the relay's repeat of an event \
            this stream sent, with its `source_id`, is not sent again), `lagged` notices \
            (`{\"missed\": n}`: live delivery fell behind and the missed events follow, `n` counting every \
            event dropped on every channel, not only this one's; or `Last-Event-ID` is older than the history \
            kept and `n` of this channel's events are gone, at least one) and keep-alive comments. A \
            `Last-Event-ID` later than the channel's latest event (from another deployment, or from before the bus \
            was emptied) resumes from that latest event: nothing replayed, no notice, the `connected` id says where",
            body = Event, content_type = "text/event-stream"),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 422, description = "A malformed `Last-Event-ID`, or a cursor naming none of this stream's channels \
            (`channel:id,...`)", body = ErrorBody),
        (status = 503, description = "Too many open streams, or the event bus is unavailable", body = ErrorBody),
    ))]
async fn subscribe(
    State(app): State<App>,
    credential: StreamCredential,
    AppPath(channel): AppPath<String>,
    AppQuery(q): AppQuery<ResumeQuery>,
    headers: HeaderMap,
) -> ApiResult<FrameStream> {
    let channel = parse_channel(&channel)?;
    let channels = vec![channel];
    let resume = resume_point(&headers, q.last_event_id.as_deref(), &channels)?;
    let resume = with_history(&app, resume, q.include_history, &channels, INCLUDED_HISTORY).await?;
    open(&app, credential, channels, resume).await
}

/// Live events of every channel, or of `channels` (SSE), after any missed.
#[utoipa::path(get, path = "/api/v1/admin/streams/subscribe-all", tag = "streams",
    params(SubscribeAllQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor (`channel:id,...`)")),
    responses(
        (status = 200, description = "`text/event-stream` as for one channel, except that `id:` is the cursor \
            `channel:id,channel:id` of every followed channel (a channel whose cursor id is later than its latest \
            event resumes from that event, as on one channel; a `lagged` notice after live delivery fell behind \
            counts every channel's events dropped, followed or not)", body = Event, content_type = "text/event-stream"),
        (status = 422, description = "An unknown channel in `channels`, or a malformed cursor, or one naming none of \
            the followed channels", body = ErrorBody),
        (status = 503, description = "Too many open streams, or the event bus is unavailable", body = ErrorBody),
    ))]
async fn subscribe_all(
    State(app): State<App>,
    credential: StreamCredential,
    AppQuery(q): AppQuery<SubscribeAllQuery>,
    headers: HeaderMap,
) -> ApiResult<FrameStream> {
    let channels = channel_filter(q.channels.as_deref())?;
    let resume = resume_point(&headers, q.last_event_id.as_deref(), &channels)?;
    let resume = with_history(&app, resume, q.include_history, &channels, INCLUDED_HISTORY_EACH).await?;
    open(&app, credential, channels, resume).await
}

/// The newest events of a channel, oldest first; page back with `before`.
#[utoipa::path(get, path = "/api/v1/admin/streams/history/{channel}", tag = "streams",
    params(("channel" = Channel, Path, description = "The channel"), HistoryQuery),
    responses(
        (status = 200, description = "Up to `limit` events, oldest first, with the channel and their count; the \
            previous page is in the `Link` header",
            body = HistoryPage,
            headers(("link" = String, description = "`<...?before=ID&limit=N>; rel=\"next\"` when the page is full"))),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 422, description = "`limit` out of range or a malformed `before`", body = ErrorBody),
        (status = 503, description = "The event bus is unavailable", body = ErrorBody),
    ))]
async fn history(
    State(app): State<App>,
    OriginalUri(uri): OriginalUri,
    AppPath(channel): AppPath<String>,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let channel = parse_channel(&channel)?;
    let limit = q.limit.unwrap_or(HISTORY_DEFAULT);
    if !HISTORY_LIMIT.contains(i64::try_from(limit).unwrap_or(i64::MAX)) {
        return Err(ApiError::field("limit", HISTORY_LIMIT.message()));
    }
    let before = q.before.as_deref().map(str::parse::<EventId>).transpose();
    let before = before.map_err(|_| ApiError::field("before", "must be an event id such as 1732500000000-0"))?;
    let events = app.bus.history(channel, limit, before).await.map_err(bus_error)?;
    let next = (events.len() == limit)
        .then(|| format!("<{}?before={}&limit={limit}>; rel=\"next\"", uri.path(), events[0].id));
    let mut res = AppJson(HistoryPage { channel, count: events.len(), events }).into_response();
    if let Some(v) = next.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LINK, v);
    }
    Ok(res)
}

/// The channels, what each carries, and its event types.
#[utoipa::path(get, path = "/api/v1/admin/streams/channels", tag = "streams",
    responses((status = 200, description = "Every channel", body = ChannelList)))]
async fn channels() -> AppJson<ChannelList> {
    let describe = |c: Channel| (c.as_str().to_string(), event_doc::describe(c).to_string());
    let types = |c: Channel| {
        let names = event_doc::EVENT_TYPES.iter().filter(|(_, ch)| *ch == c).map(|(t, _)| t.to_string());
        (c.as_str().to_string(), names.collect())
    };
    AppJson(ChannelList {
        channels: Channel::ALL.into_iter().map(describe).collect(),
        event_types: Channel::ALL.into_iter().map(types).collect(),
    })
}

fn parse_channel(name: &str) -> ApiResult<Channel> {
    Channel::parse(name)
        .ok_or_else(|| ApiError::NotFound(format!("no channel named {name:?}; see /api/v1/admin/streams/channels")))
}

/// The `channels` filter of subscribe-all: every channel when absent or empty.
fn channel_filter(list: Option<&str>) -> ApiResult<Vec<Channel>> {
    let names: Vec<&str> = list.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Ok(Channel::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let c = Channel::parse(name).ok_or_else(|| ApiError::field("channels", format!("unknown channel {name:?}")))?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Where a reconnecting client resumes: `Last-Event-ID`, else `?last_event_id=`, else now.
fn resume_point(headers: &HeaderMap, query: Option<&str>, channels: &[Channel]) -> ApiResult<Option<Cursor>> {
    let (field, text) = match headers.get("last-event-id") {
        Some(v) => ("Last-Event-ID", v.to_str().map_err(|_| ApiError::field("Last-Event-ID", "must be text"))?),
        None => ("last_event_id", query.unwrap_or_default()),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let hint = "must be an event id such as 1732500000000-0, or a cursor naming each channel once, \
                such as bookings:1732500000000-0,social:0-0";
    let cursor = Cursor::parse(text, channels).map_err(|e| match e {
        BusError::UnknownChannel(name) => {
            let known: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            ApiError::field(field, format!("names an unknown channel {name:?}; the channels are {}", known.join(", ")))
        }
        _ => ApiError::field(field, hint),
    })?;
    // A cursor naming none of this stream's channels (one of another stream's) would resume
    // nothing: the stream would start from now and the client miss what it meant to resume
    // (QA: `bookings:1-0` on subscribe/system was taken as no resume point). A stream's own
    // ids always name its channels (a bare id, or a cursor of every channel it follows).
    if channels.iter().all(|&c| cursor.get(c).is_none()) {
        let own: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
        return Err(ApiError::field(
            field,
            format!(
                "names none of this stream's channels ({}): give the id of the last frame this stream sent, \
                 or a cursor naming at least one of them",
                own.join(", ")
            ),
        ));
    }
    Ok(Some(cursor))
}

/// The resume point of a stream: `resume` if the client gave one, else with `include_history`
/// the point before the latest `each` events of every channel (the start of a channel holding
/// no more), else none (live events only).
async fn with_history(
    app: &App,
    resume: Option<Cursor>,
    include_history: Option<bool>,
    channels: &[Channel],
    each: usize,
) -> ApiResult<Option<Cursor>> {
    if resume.is_some() || include_history != Some(true) {
        return Ok(resume);
    }
    let mut cursor = Cursor::default();
    for &channel in channels {
        // One more than wanted: the newest of those not replayed is where the stream resumes.
        let latest = app.bus.history(channel, each + 1, None).await.map_err(bus_error)?;
        let before = if latest.len() > each {
            latest[0].id.parse().map_err(|_| bus_error(BusError::InvalidId(latest[0].id.clone())))?
        } else {
            EventId::ZERO
        };
        cursor.set(channel, before);
    }
    Ok(Some(cursor))
}

fn bus_error(e: BusError) -> ApiError {
    match e {
        BusError::Unavailable(m) => ApiError::Unavailable(m),
        BusError::InvalidId(id) => ApiError::Internal(format!("the bus returned a malformed id {id:?}")),
        BusError::UnknownChannel(name) => ApiError::Internal(format!("the bus named an unknown channel {name:?}")),
    }
}

/// Opens the stream: a place under the cap, a feed (live first, then the backlog), the frames,
/// for as long as `credential` counts.
async fn open(
    app: &App,
    credential: StreamCredential,
    channels: Vec<Channel>,
    resume: Option<Cursor>,
) -> ApiResult<FrameStream> {
    let permit =
        app.telemetry.try_subscribe().ok_or_else(|| ApiError::Unavailable("SSE stream limit reached".into()))?;
    let feed = open_feed(app, channels, resume).await?;
    Ok(frames(app, credential, permit, feed, None, None))
}

/// A feed from `resume` (live first, then the backlog).
async fn open_feed(app: &App, channels: Vec<Channel>, resume: Option<Cursor>) -> ApiResult<Feed> {
    Feed::open(app.bus.clone(), channels, resume.as_ref()).await.map_err(bus_error)
}

/// The stream of `feed`'s frames (only the events `concern` admits, when given), for as long as
/// `credential` counts, the server runs and, when given, `reset` has not resolved.
fn frames(
    app: &App,
    credential: StreamCredential,
    permit: SubscriberPermit,
    feed: Feed,
    concern: Option<Concern>,
    reset: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
) -> FrameStream {
    let hello = connected(&feed);
    let repeats = Repeats::new(app.settings.events.repeat_window.min(REPEAT_WINDOW));
    let conn = Connection { feed, repeats, concern, closing_until: None, _permit: permit };
    let frames = stream::unfold(conn, next_frame);
    // A shutting-down server ends its streams (clients reconnect elsewhere with Last-Event-ID).
    let frames =
        until_closed(stream::once(async move { Ok(hello) }).chain(frames).boxed(), app.telemetry.streams_closed());
    let frames = while_valid(frames, credential);
    let frames = match reset {
        Some(reset) => ending_at(frames, reset, "the data was reset: this user no longer exists"),
        None => frames,
    };
    let keep_alive = KeepAlive::new().interval(app.telemetry.settings.keep_alive).text("keepalive");
    Sse::new(frames).keep_alive(keep_alive)
}

/// How long a stream goes on once the server has begun to shut down, for the events published
/// before that and still on their way to it (the shutdown's `simulation.stopped`, which a Redis
/// subscription reads back a moment after the publish: milliseconds, but a loaded machine can
/// take hundreds). Well inside the shutdown's grace for requests (their timeout plus 2 s).
const CLOSING_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// `frames` until `closed` resolves, then those that come within [`CLOSING_DRAIN`] of it, then
/// the end. Ending at once (`take_until`) dropped what the shutdown had just announced.
fn until_closed(
    frames: BoxStream<'static, Result<Frame, Infallible>>,
    closed: impl Future<Output = ()> + Send + 'static,
) -> BoxStream<'static, Result<Frame, Infallible>> {
    let closed: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(closed);
    stream::unfold((frames, Some(closed), None), |(mut frames, mut closed, mut deadline)| async move {
        if let Some(signal) = closed.as_mut() {
            tokio::select! {
                () = signal => deadline = Some(tokio::time::Instant::now() + CLOSING_DRAIN),
                frame = frames.next() => return Some((frame?, (frames, closed, deadline))),
            }
        }
        let frame = tokio::time::timeout_at(deadline?, frames.next()).await.ok()??;
        Some((frame, (frames, None, deadline)))
    })
    .boxed()
}

/// `frames` until `credential` is retired, then a comment saying so, and the end (dropping
/// `frames`, which frees the stream's place under the cap). A retirement wins over a frame ready
/// at the same time: no event goes out after the server stopped accepting the credential.
fn while_valid(
    frames: BoxStream<'static, Result<Frame, Infallible>>,
    credential: StreamCredential,
) -> BoxStream<'static, Result<Frame, Infallible>> {
    ending_at(frames, Box::pin(credential.retired()), "the credential this stream was opened with is no longer valid")
}

/// `frames` until `signal` resolves, then the comment `why`, and the end. The signal wins over a
/// frame ready at the same time.
fn ending_at(
    frames: BoxStream<'static, Result<Frame, Infallible>>,
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    why: &'static str,
) -> BoxStream<'static, Result<Frame, Infallible>> {
    stream::unfold(Some((frames, signal)), move |open| async move {
        let (mut frames, mut signal) = open?;
        tokio::select! {
            biased;
            () = &mut signal => Some((Ok(Frame::default().comment(why)), None)),
            frame = frames.next() => Some((frame?, Some((frames, signal)))),
        }
    })
    .boxed()
}

/// How long a user's stream stays open after their `user.deleted`. The deletion's other events
/// (their plans cancelled, bookings cancelled) are written in the same transaction but travel on
/// other channels, and a Redis reader can hand them over after it (QA: a deleted organizer's
/// stream on a second server ended at `user.deleted` without the `plan.cancelled` published in
/// the same millisecond on `bookings`).
const ACCOUNT_CLOSING: std::time::Duration = std::time::Duration::from_secs(2);

/// What one open stream holds: its feed, the source ids it sent lately, on a user's stream what
/// concerns them, and its place under the cap (given back when the stream ends).
struct Connection {
    feed: Feed,
    repeats: Repeats,
    concern: Option<Concern>,
    /// A user's stream that sent the user's deletion ends at this instant: until then it sends
    /// what else of theirs comes (see [`ACCOUNT_CLOSING`]).
    closing_until: Option<tokio::time::Instant>,
    _permit: SubscriberPermit,
}

/// The next frame, past the relay's repeats of events already sent and, on a user's stream,
/// events that do not concern the user.
async fn next_frame(mut conn: Connection) -> Option<(Result<Frame, Infallible>, Connection)> {
    loop {
        let item = match conn.closing_until {
            None => conn.feed.next().await?,
            Some(end) => tokio::time::timeout_at(end, conn.feed.next()).await.ok()??,
        };
        let frame = match item {
            FeedItem::Event(e)
                if conn.concern.as_mut().is_some_and(|c| !c.admits(&e.event_type, &e.data, e.timestamp)) =>
            {
                continue;
            }
            FeedItem::Event(e) if !conn.repeats.first_time(e.source_id) => {
                tracing::debug!(id = %e.id, source_id = ?e.source_id, "SSE: skipped the relay's repeat of an event sent");
                continue;
            }
            FeedItem::Event(e) => {
                if conn.concern.is_some() && e.event_type == mine::ACCOUNT_DELETED && conn.closing_until.is_none() {
                    conn.closing_until = Some(tokio::time::Instant::now() + ACCOUNT_CLOSING);
                }
                event_frame(&e, &conn.feed)
            }
            FeedItem::Lagged { missed } => {
                Frame::default().event("lagged").data(json!({ "missed": missed }).to_string())
            }
        };
        return Some((Ok(frame), conn));
    }
}

/// The frame id: the event id on one channel, the whole cursor on several.
fn frame_id(feed: &Feed, event: Option<&Event>) -> String {
    match (feed.channels(), event) {
        ([one], Some(e)) if e.channel == *one => e.id.clone(),
        ([one], _) => feed.cursor().get(*one).unwrap_or(EventId::ZERO).to_string(),
        _ => feed.cursor().to_string(),
    }
}

fn event_frame(e: &Event, feed: &Feed) -> Frame {
    // `event:` must be one line; types come from code, but a stray newline must not break the stream.
    let kind: String = e.event_type.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let frame = Frame::default().id(frame_id(feed, Some(e))).event(kind);
    match serde_json::to_string(e) {
        Ok(json) => frame.data(json),
        Err(err) => frame.data(json!({ "error": err.to_string() }).to_string()),
    }
}

fn connected(feed: &Feed) -> Frame {
    let names: Vec<&str> = feed.channels().iter().map(|c| c.as_str()).collect();
    let data = match names.as_slice() {
        [one] => json!({ "type": "connected", "channel": one }),
        _ => json!({ "type": "connected", "channels": names }),
    };
    Frame::default().event("connected").id(frame_id(feed, None)).data(data.to_string())
}
