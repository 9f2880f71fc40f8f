//! Event ids: `<unix millis>-<sequence>`, totally ordered per channel (Redis Streams' format).

use std::fmt;
use std::str::FromStr;

/// An event id; ordering is (millis, seq). The default is [`EventId::ZERO`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub millis: u64,
    pub seq: u64,
}

impl EventId {
    pub const ZERO: EventId = EventId { millis: 0, seq: 0 };

    /// The next id after `last` for an event at `millis` (never goes backwards).
    pub fn next(last: EventId, millis: u64) -> EventId {
        if millis > last.millis {
            EventId { millis, seq: 0 }
        } else {
            EventId { millis: last.millis, seq: last.seq + 1 }
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.millis, self.seq)
    }
}

impl FromStr for EventId {
    type Err = crate::BusError;

    /// Accepts `millis-seq` or a bare `millis` (seq 0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::BusError::InvalidId(s.to_string());
        let (m, q) = s.split_once('-').unwrap_or((s, "0"));
        Ok(EventId { millis: m.parse().map_err(|_| bad())?, seq: q.parse().map_err(|_| bad())? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ordered_and_never_go_backwards() {
        let a = EventId::next(EventId::ZERO, 100);
        let b = EventId::next(a, 100);
        let c = EventId::next(b, 99);
        assert!(a < b && b < c);
        assert_eq!(c.to_string(), "100-2");
        assert_eq!("100-2".parse::<EventId>().unwrap(), c);
        assert!("x-1".parse::<EventId>().is_err());
    }
}
