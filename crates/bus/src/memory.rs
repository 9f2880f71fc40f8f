//! The in-memory bus: per channel, a bounded ring of recent events (history and resumption)
//! and one broadcast sender for live delivery. A slow subscriber never slows the publisher:
//! the broadcast drops what it cannot hold and the subscriber is told it lagged. What the ring
//! drops is recorded, so a reader resuming from before it learns what it missed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::{Channel, Event};
use tokio::sync::broadcast;

use crate::{BusResult, EventBus, EventId, Live, Page, Publish, Subscription, TrimState, Trimmed};

#[derive(Default)]
struct ChannelState {
    last: EventId,
    ring: VecDeque<(EventId, Arc<Event>)>,
    /// What the ring dropped to stay within its capacity.
    trimmed: Trimmed,
}

/// The embedded default bus.
pub struct MemoryBus {
    capacity: usize,
    channels: Vec<Mutex<ChannelState>>,
    counts: Vec<AtomicU64>,
    live: broadcast::Sender<Live>,
}

impl MemoryBus {
    /// A bus keeping the newest `history` events per channel.
    pub fn new(history: usize) -> Self {
        let (live, _) = broadcast::channel(4096);
        Self {
            capacity: history.max(1),
            channels: Channel::ALL.iter().map(|_| Mutex::new(ChannelState::default())).collect(),
            counts: Channel::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            live,
        }
    }

    fn slot(channel: Channel) -> usize {
        Channel::ALL.iter().position(|c| *c == channel).unwrap_or(0)
    }

    fn lock(&self, channel: Channel) -> std::sync::MutexGuard<'_, ChannelState> {
        // A poisoned lock only means a panic elsewhere mid-push; the ring is still consistent.
        self.channels[Self::slot(channel)].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new(10_000)
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn publish(&self, p: Publish) -> BusResult<Arc<Event>> {
        let event = {
            let mut st = self.lock(p.channel);
            let millis = u64::try_from(p.timestamp.timestamp_millis()).unwrap_or(0);
            let id = EventId::next(st.last, millis);
            st.last = id;
            let event = Arc::new(Event {
                id: id.to_string(),
                source_id: p.source_id,
                channel: p.channel,
                event_type: p.event_type,
                timestamp: p.timestamp,
                data: p.data,
            });
            if st.ring.len() == self.capacity
                && let Some((gone, _)) = st.ring.pop_front()
            {
                st.trimmed.add(1, gone, gone);
            }
            st.ring.push_back((id, event.clone()));
            // Sent under the channel lock so live order equals id order.
            let _ = self.live.send(Live::Event(event.clone()));
            event
        };
        self.counts[Self::slot(event.channel)].fetch_add(1, Ordering::Relaxed);
        Ok(event)
    }

    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription> {
        Ok(crate::live_subscription(self.live.subscribe(), channel))
    }

    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>> {
        let st = self.lock(channel);
        let mut out: Vec<Event> = st
            .ring
            .iter()
            .rev()
            .filter(|(id, _)| before.is_none_or(|b| *id < b))
            .take(limit)
            .map(|(_, e)| Event::clone(e))
            .collect();
        out.reverse();
        Ok(out)
    }

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page> {
        let st = self.lock(channel);
        let start = st.ring.partition_point(|(id, _)| *id <= after);
        let events = st.ring.iter().skip(start).take(limit).map(|(_, e)| Event::clone(e)).collect();
        Ok(Page { events, trimmed: st.trimmed.after(after) })
    }

    async fn ping(&self) -> BusResult<()> {
        Ok(())
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        Channel::ALL.iter().zip(&self.counts).map(|(c, n)| (*c, n.load(Ordering::Relaxed))).collect()
    }

    /// Never failing: the ring drops its oldest event in the publish itself.
    fn trim_state(&self) -> TrimState {
        TrimState::default()
    }
}
