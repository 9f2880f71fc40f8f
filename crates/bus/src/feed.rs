//! Resumable subscriptions: what an SSE stream (or any long-lived consumer) reads. A [`Feed`]
//! follows one or more channels from a [`Cursor`] (the last id seen per channel, or for a reader
//! without one, each channel's newest id when it opens, read BEFORE it subscribes) with no gap
//! and no duplicate: it subscribes to live delivery, then reads the backlog after the cursor
//! from history, then hands out live events, skipping any whose id is not past the cursor (they
//! were already read from the backlog). When live delivery lags (a slow reader), the feed says
//! so and reads what it missed back from history before going live again, so a slow reader
//! never slows the bus and loses nothing the history still holds. What the history no longer
//! holds (a reader resuming from before its oldest event, or overtaken by trimming while it
//! catches up) is announced with a lag notice before the events that follow the gap, never
//! skipped in silence; so is what the bus itself missed of a followed channel (a Redis reader
//! overtaken by trimming): told of such a gap, the feed reads that channel back from its
//! cursor, and history says how many it missed (the gap notice itself is not passed on, which
//! would count them twice); gaps of channels it does not follow are ignored. A backlog over
//! several channels is handed out in id (time) order across them, as live delivery would have:
//! a reader that relates events of two channels (an answer, then the action it led to) sees
//! them in the order they happened, not one channel's whole backlog before the other's.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use domain::{Channel, Event};
use futures::StreamExt;

use crate::{BusError, BusResult, Delivery, DynBus, EventId, Subscription};

/// Events read from history per round trip while catching up, shared among the channels of a
/// feed (each reads ahead at most its share, and at least [`MIN_PAGE`]).
const PAGE: usize = 500;
const MIN_PAGE: usize = 100;
/// How long the feed waits before retrying a history read the backend refused.
const RETRY: Duration = Duration::from_millis(500);

/// Where a reader stands: the last event id it has seen on each channel.
///
/// Its text form is `channel:id` pairs joined by commas (`bookings:1732500000000-3,social:0-0`);
/// a bare id (`1732500000000-3`) stands for every channel the feed follows (exact for one
/// channel; for several it resumes each from the start of that millisecond, so a few events may
/// repeat, never go missing). A channel absent from a composite cursor starts from now; one named
/// twice is refused (which of its two positions was meant cannot be known).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor(BTreeMap<Channel, EventId>);

impl Cursor {
    /// Parses the text form for a feed over `channels` (entries for other channels are ignored).
    pub fn parse(text: &str, channels: &[Channel]) -> BusResult<Cursor> {
        let text = text.trim();
        if !text.contains(':') {
            let id: EventId = text.parse()?;
            let id = if channels.len() == 1 { id } else { start_of_millisecond(id) };
            return Ok(Cursor(channels.iter().map(|c| (*c, id)).collect()));
        }
        let mut out = BTreeMap::new();
        let mut named = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, id) = part.split_once(':').ok_or_else(|| BusError::InvalidId(part.to_string()))?;
            let channel = match (Channel::parse(name.trim()), name.trim()) {
                (Some(channel), _) => channel,
                (None, "") => return Err(BusError::InvalidId(part.to_string())),
                (None, unknown) => return Err(BusError::UnknownChannel(unknown.to_string())),
            };
            if named.contains(&channel) {
                return Err(BusError::InvalidId(part.to_string()));
            }
            named.push(channel);
            if channels.contains(&channel) {
                out.insert(channel, id.trim().parse()?);
            }
        }
        Ok(Cursor(out))
    }

    /// The last id seen on `channel`, if known.
    pub fn get(&self, channel: Channel) -> Option<EventId> {
        self.0.get(&channel).copied()
    }

    pub fn set(&mut self, channel: Channel, id: EventId) {
        self.0.insert(channel, id);
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (channel, id)) in self.0.iter().enumerate() {
            write!(f, "{}{}:{id}", if i == 0 { "" } else { "," }, channel.as_str())?;
        }
        Ok(())
    }
}

/// Just before every id of `id`'s millisecond.
fn start_of_millisecond(id: EventId) -> EventId {
    match id.millis {
        0 => EventId::ZERO,
        m => EventId { millis: m - 1, seq: u64::MAX },
    }
}

/// What a feed hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    Event(Arc<Event>),
    /// Events were missed. Either live delivery fell `missed` events behind (the events that
    /// follow are read back from history before live delivery resumes), or history no longer
    /// holds `missed` events after the reader's position (it resumed from before the oldest
    /// event kept, or trimming overtook its catch-up): those are gone, and the events that
    /// follow are the oldest kept. For such a gap `missed` is exact when the position is older
    /// than every event trimmed, and otherwise 1, meaning at least one (see [`crate::Page`]).
    Lagged {
        missed: u64,
    },
}

/// A gap-free, duplicate-free reader over some channels. See the module documentation.
pub struct Feed {
    bus: DynBus,
    channels: Vec<Channel>,
    live: Subscription,
    cursor: Cursor,
    /// Channels whose history after the cursor must be read before live events.
    catch_up: Vec<Backlog>,
}

/// One channel's history being read back: the page read ahead and not yet handed out.
struct Backlog {
    channel: Channel,
    /// The last id read from history (handed out or in `page`).
    read_to: EventId,
    page: VecDeque<(EventId, Arc<Event>)>,
    /// Whether the last read found nothing after `read_to`.
    exhausted: bool,
    /// Events history trimmed between `read_to` and the page, not yet announced.
    trimmed: u64,
}

impl Backlog {
    fn new(channel: Channel, after: EventId) -> Self {
        Self { channel, read_to: after, page: VecDeque::new(), exhausted: false, trimmed: 0 }
    }

    /// Reads the page after `read_to`; whether it found anything.
    async fn read(&mut self, bus: &DynBus, limit: usize) -> BusResult<bool> {
        let page = bus.after(self.channel, self.read_to, limit).await?;
        self.exhausted = page.events.is_empty();
        if !self.exhausted {
            // The page moves `read_to` past the gap, so it is counted once.
            self.trimmed += page.trimmed;
        }
        for e in page.events {
            // An id that does not parse (none should) goes first rather than never.
            let id = e.id.parse().unwrap_or(EventId::ZERO);
            self.read_to = self.read_to.max(id);
            self.page.push_back((id, Arc::new(e)));
        }
        Ok(!self.exhausted)
    }
}

impl Feed {
    /// Opens a feed over `channels` (at least one). Channels with a position in `resume` first
    /// replay what followed it; the others start from their newest event now, taken before the
    /// feed subscribes: whatever is published after that point is handed out, once.
    pub async fn open(bus: DynBus, channels: Vec<Channel>, resume: Option<&Cursor>) -> BusResult<Feed> {
        let filter = if channels.len() == 1 { Some(channels[0]) } else { None };
        // The starting points first, then live delivery, then the backlog after each starting
        // point: anything published after it is either in that backlog or arrives live (and is
        // skipped if it was in the backlog). Reading the newest id after subscribing would take
        // an event published in between for one already seen: live delivery would drop it.
        let mut cursor = Cursor::default();
        for &c in &channels {
            let newest = newest_id(&bus, c).await?;
            match resume.and_then(|r| r.get(c)) {
                // A position past the newest event (a cursor from another bus, or from before
                // the bus was emptied) would wait for ids that may never come: such a reader
                // starts from now, as one without a position does.
                Some(id) if id <= newest => cursor.set(c, id),
                _ => cursor.set(c, newest),
            }
        }
        let live = bus.subscribe(filter).await?;
        let mut catch_up = Vec::new();
        for &c in &channels {
            let mut backlog = Backlog::new(c, cursor.get(c).unwrap_or(EventId::ZERO));
            match resume.and_then(|r| r.get(c)) {
                Some(id) if Some(id) == cursor.get(c) => catch_up.push(backlog),
                // Starting from now: what was published after the starting point, up to the
                // subscription, is read now (usually nothing: then live delivery carries all
                // that follows, and a lag is told as such).
                _ => {
                    if backlog.read(&bus, (PAGE / channels.len()).max(MIN_PAGE)).await? {
                        catch_up.push(backlog);
                    }
                }
            }
        }
        Ok(Feed { bus, channels, live, cursor, catch_up })
    }

    /// The channels this feed follows.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The position after the last item handed out (what a reconnecting reader sends back).
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The next event or lag notice; `None` once the bus has shut down.
    pub async fn next(&mut self) -> Option<FeedItem> {
        loop {
            if !self.catch_up.is_empty() {
                match self.next_from_history().await {
                    Some(FeedItem::Event(e)) => {
                        self.advance(&e);
                        return Some(FeedItem::Event(e));
                    }
                    Some(lagged) => return Some(lagged),
                    None => continue,
                }
            }
            match self.live.next().await? {
                Delivery::Event(e) if self.is_new(&e) => {
                    self.advance(&e);
                    return Some(FeedItem::Event(e));
                }
                Delivery::Event(_) => continue,
                Delivery::Lagged { missed } => {
                    let cursor = &self.cursor;
                    self.catch_up = (self.channels.iter())
                        .map(|&c| Backlog::new(c, cursor.get(c).unwrap_or(EventId::ZERO)))
                        .collect();
                    return Some(FeedItem::Lagged { missed });
                }
                // The bus missed events of one of this feed's channels: history has trimmed
                // them, and reading it back from the cursor reports them (once, and only those
                // after the cursor), then reads on to the events kept.
                Delivery::Gap { channel, .. } if self.channels.contains(&channel) => {
                    let from = self.cursor.get(channel).unwrap_or(EventId::ZERO);
                    self.catch_up = vec![Backlog::new(channel, from)];
                }
                // A channel this feed does not follow (subscribed to all, it hears of every one).
                Delivery::Gap { .. } => continue,
            }
        }
    }

    /// The backlog's next event in id order across its channels. Each channel with nothing read
    /// ahead reads its next page first; once any page came in, channels whose history was
    /// exhausted read again (after it), since events may have been published there meanwhile:
    /// so the smallest id read ahead is the smallest left, however long the catch-up takes (to
    /// the millisecond: each channel numbers its own events within one). A gap a read found in
    /// history comes first, as a lag notice. `None` when a read failed (retried after a pause)
    /// or the backlog is done (every channel exhausted).
    async fn next_from_history(&mut self) -> Option<FeedItem> {
        if self.read_ahead(false).await? {
            self.read_ahead(true).await?;
        }
        let trimmed: u64 = self.catch_up.iter_mut().map(|b| std::mem::take(&mut b.trimmed)).sum();
        if trimmed > 0 {
            return Some(FeedItem::Lagged { missed: trimmed });
        }
        let Some(first) = (self.catch_up.iter_mut()).filter(|b| !b.page.is_empty()).min_by_key(|b| b.page[0].0) else {
            // Every channel exhausted, nothing read ahead: live delivery takes over.
            self.catch_up.clear();
            return None;
        };
        first.page.pop_front().map(|(_, e)| FeedItem::Event(e))
    }

    /// Reads the next page of every channel with nothing read ahead whose history was (or was
    /// not yet) `exhausted`; whether any found something. `None` after a failed read, retried
    /// after a pause.
    async fn read_ahead(&mut self, exhausted: bool) -> Option<bool> {
        let limit = (PAGE / self.catch_up.len().max(1)).max(MIN_PAGE);
        let mut came = false;
        for b in self.catch_up.iter_mut().filter(|b| b.page.is_empty() && b.exhausted == exhausted) {
            match b.read(&self.bus, limit).await {
                Ok(found) => came |= found,
                Err(e) => {
                    tracing::warn!(error = %e, channel = b.channel.as_str(), "feed: history read failed; retrying");
                    tokio::time::sleep(RETRY).await;
                    return None;
                }
            }
        }
        Some(came)
    }

    /// Whether a live event is on a followed channel and past the cursor.
    fn is_new(&self, e: &Event) -> bool {
        let Some(last) = self.cursor.get(e.channel) else { return false };
        e.id.parse::<EventId>().is_ok_and(|id| id > last)
    }

    fn advance(&mut self, e: &Event) {
        if let Ok(id) = e.id.parse() {
            self.cursor.set(e.channel, id);
        }
    }
}

/// The id of a channel's newest event, or zero for an empty channel.
async fn newest_id(bus: &DynBus, channel: Channel) -> BusResult<EventId> {
    let newest = bus.history(channel, 1, None).await?;
    newest.first().map_or(Ok(EventId::ZERO), |e| e.id.parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_their_text_form() {
        let all = [Channel::Bookings, Channel::Social];
        let c = Cursor::parse("bookings:10-2, social:0-0,metrics:5-5", &all).unwrap();
        assert_eq!(c.get(Channel::Bookings), Some(EventId { millis: 10, seq: 2 }));
        assert_eq!(c.get(Channel::Metrics), None, "channels the feed does not follow are ignored");
        assert_eq!(c.to_string(), "bookings:10-2,social:0-0");
        assert_eq!(Cursor::parse(&c.to_string(), &all).unwrap(), c);
    }

    #[test]
    fn a_bare_id_is_exact_for_one_channel_and_the_start_of_its_millisecond_for_several() {
        let one = Cursor::parse("10-2", &[Channel::Bookings]).unwrap();
        assert_eq!(one.get(Channel::Bookings), Some(EventId { millis: 10, seq: 2 }));
        let many = Cursor::parse("10-2", &[Channel::Bookings, Channel::Social]).unwrap();
        assert_eq!(many.get(Channel::Social), Some(EventId { millis: 9, seq: u64::MAX }));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        // A channel named twice, at two positions or one, followed or not: the server never
        // writes one, and which position was meant cannot be known (the last one used to win).
        let twice = ["bookings:1-0,bookings:5-0", "bookings:1-0,bookings:1-0", "bookings:1-0,metrics:1-0,metrics:2-0"];
        for bad in ["x", "bookings:x", "nowhere:1-0", "bookings"].into_iter().chain(twice) {
            assert!(Cursor::parse(bad, &[Channel::Bookings]).is_err(), "{bad}");
        }
    }
}
