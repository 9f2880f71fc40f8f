//! The event bus: what happened, per channel, in order. Two backends behind [`EventBus`]:
//! in-memory (the embedded default: a broadcast for live delivery and a bounded history per
//! channel) and Redis Streams (production). Event ids are `<millis>-<seq>` on both, ordered
//! per channel, so a client resumes after the last id it saw whichever backend serves it.
//! Both keep a bounded history and record what they trim from it (how many events, the first
//! and last of their ids), so a reader resuming from a position older than the history is told
//! it missed events instead of silently skipping them.

pub mod feed;
pub mod id;
pub mod memory;
pub mod redis;
pub mod repeats;

use async_trait::async_trait;
use domain::{Channel, Event, Id, Payload, Timestamp};
use std::sync::Arc;

pub use feed::{Cursor, Feed, FeedItem};
pub use id::EventId;
pub use memory::MemoryBus;
pub use redis::{ClaimError, Claimed, RedisBus};
pub use repeats::{DEFAULT_REPEAT_WINDOW, Repeats};

/// A bus error: the backend is unreachable (the caller keeps events in the outbox and retries).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    #[error("invalid event id {0:?}")]
    InvalidId(String),
    /// A cursor part naming no channel (`nowhere` in `bookings:1-0,nowhere:1-0`).
    #[error("unknown channel {0:?}")]
    UnknownChannel(String),
}

pub type BusResult<T> = Result<T, BusError>;

/// What a publisher hands the bus; the bus assigns the id.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub channel: Channel,
    pub event_type: String,
    pub data: Payload,
    pub timestamp: Timestamp,
    /// The outbox id, for de-duplication by consumers (at-least-once delivery: see [`Repeats`]).
    pub source_id: Option<Id>,
}

/// A live message: an event, notice that the subscriber fell behind and missed events (of any
/// channel, even one it did not subscribe to: every subscription reads one broadcast), or notice
/// that the bus itself missed events of one channel: it should resume that channel (or every
/// one, after a lag) from history after the last id it saw. Events are shared, not copied, between the subscribers of a process (each one's copy is
/// a reference count).
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Event(Arc<Event>),
    /// This subscriber fell `missed` events behind live delivery (on any channel: a subscription
    /// to one channel reads the broadcast of all, and counts the events of every one it missed).
    Lagged {
        missed: u64,
    },
    /// The bus missed at least `missed` events of `channel` (on Redis, events trimmed before its
    /// reader read them: while it was down, or behind), so none of its subscribers got them.
    /// History reports the same events as trimmed ([`Page::trimmed`]) to a reader resuming from
    /// before them: one that reads back from history learns of them there, and should not count
    /// them twice.
    Gap {
        channel: Channel,
        missed: u64,
    },
}

/// A live subscription to one channel or to all.
pub type Subscription = futures::stream::BoxStream<'static, Delivery>;

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// `memory` or `redis`.
    fn backend(&self) -> &'static str;
    /// Appends an event to its channel and returns it with its id (shared with the live
    /// subscribers, not copied).
    async fn publish(&self, event: Publish) -> BusResult<Arc<Event>>;
    /// Appends events in order; returns those appended (a prefix of `events`) and the error that
    /// stopped the rest, if any. Backends that can send a batch in one round trip do (Redis).
    async fn publish_many(&self, events: Vec<Publish>) -> (Vec<Arc<Event>>, Option<BusError>) {
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            match self.publish(e).await {
                Ok(e) => out.push(e),
                Err(err) => return (out, Some(err)),
            }
        }
        (out, None)
    }
    /// Live events from now on, on `channel` or on every channel when `None`.
    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription>;
    /// Up to `limit` most recent events of a channel strictly before `before` (or the newest),
    /// returned oldest first.
    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>>;
    /// Up to `limit` events of a channel strictly after `after`, oldest first (resumption), and
    /// how many events after `after` history trimmed away before the first of them (read
    /// together, so a trim between the two cannot hide a gap).
    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page>;
    /// Whether the backend answers.
    async fn ping(&self) -> BusResult<()>;
    /// Events published per channel since start (for stats).
    fn published_counts(&self) -> Vec<(Channel, u64)>;
    /// How trimming the history has gone since start. A trim that fails loses no event, but the
    /// history then grows past its bound until trimming works again (`/health` shows it).
    fn trim_state(&self) -> TrimState;
}

pub type DynBus = Arc<dyn EventBus>;

/// How a bus's trimming of its history has gone since start ([`EventBus::trim_state`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrimState {
    /// Trims that failed since start (0 on the memory bus, whose trimming cannot fail).
    pub failures: u64,
    /// While trimming fails, the failure: set while the latest trim of some channel failed, as
    /// `<channel>: trim failed (<code>; ...)` with the Redis error's code (`NOPERM`; the whole
    /// error goes to the log), the first such channel in [`Channel::ALL`]'s order; cleared once
    /// that channel's next trim succeeds, or five minutes after the failure when the channel
    /// took no publish since (its stream grows no more).
    pub error: Option<String>,
}

/// What [`EventBus::after`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The events after the position, oldest first.
    pub events: Vec<Event>,
    /// Events after the position that history no longer holds: they come before `events` and
    /// can never be read. 0 when none. Exact when the position is older than every event
    /// trimmed (all of them followed it, as for a reader starting from `0-0`); otherwise the
    /// bus knows only that some followed it (it keeps how many it trimmed and the first and
    /// last of their ids, not every id), and says 1: at least one.
    pub trimmed: u64,
}

/// What a bus trimmed from one channel's history, oldest first: how many events, the first and
/// the last of their ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Trimmed {
    pub count: u64,
    pub first: EventId,
    pub last: EventId,
}

impl Trimmed {
    /// Records `n` more events trimmed, the last of them `last` (ids only grow).
    pub fn add(&mut self, n: u64, first: EventId, last: EventId) {
        if self.count == 0 {
            self.first = first;
        }
        self.count += n;
        self.last = last;
    }

    /// How many trimmed events followed `after`: every one when `after` is older than the first,
    /// none when it is not older than the last, and otherwise at least one (see [`Page::trimmed`]).
    pub fn after(&self, after: EventId) -> u64 {
        match self.count {
            0 => 0,
            _ if after >= self.last => 0,
            n if after < self.first => n,
            _ => 1,
        }
    }
}

/// What a bus's local broadcast carries to the live subscriptions of a process.
#[derive(Debug, Clone)]
pub(crate) enum Live {
    Event(Arc<Event>),
    /// The bus itself missed at least `missed` events of `channel`: trimming took some the Redis
    /// reader had not read (while it was down, or behind). Its subscribers get a [`Delivery::Gap`].
    Gap {
        channel: Channel,
        missed: u64,
    },
}

/// A live subscription over a local broadcast: keeps `channel`'s events and gaps (or all) and
/// turns the broadcast's overflow into [`Delivery::Lagged`], the bus's own gaps into
/// [`Delivery::Gap`]. Both backends fan out this way.
pub(crate) fn live_subscription(rx: tokio::sync::broadcast::Receiver<Live>, channel: Option<Channel>) -> Subscription {
    use futures::StreamExt;
    use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
    BroadcastStream::new(rx)
        .filter_map(move |r| async move {
            match r {
                Ok(Live::Event(e)) if channel.is_none_or(|c| c == e.channel) => Some(Delivery::Event(e)),
                Ok(Live::Gap { channel: c, missed }) if channel.is_none_or(|f| f == c) => {
                    Some(Delivery::Gap { channel: c, missed })
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Delivery::Lagged { missed: n }),
            }
        })
        .boxed()
}
