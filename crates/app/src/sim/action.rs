//! The vocabulary of the simulation: every [`Action`] a simulated user can take, and the
//! [`ActionLog`], a canonical line per decided action hashed as it grows. Lines name users and
//! venues by their index in the run's world and plans and bookings by the simulator's own
//! [`Handle`]s, never by ids the database minted, so the same seed and settings on the same
//! data give the same log, byte for byte.

use std::fmt;

use domain::{Category, Id, InteractionType, Timestamp};

/// A plan or booking as its maker knows it: (their index, their n-th one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle {
    pub owner: u32,
    pub seq: u32,
}

/// One thing a simulated user does. Each runs through an `App` service (see `executor.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Logs an interaction (view, like, save, visit, interest, search) on a venue.
    Interact {
        venue: u32,
        kind: InteractionType,
        dwell: i32,
    },
    /// Searches venues by category, price and distance from home.
    Search {
        category: Option<Category>,
        price_max: Option<i16>,
        radius_km: u8,
    },
    /// Asks for venue recommendations.
    AskRecommendations {
        limit: u8,
    },
    /// Opens a shown recommendation (logged as a `view`).
    ClickRecommendation {
        venue: u32,
        rank: u8,
    },
    /// Looks at the recommendations and takes none (no service call).
    IgnoreRecommendations {
        shown: u8,
    },
    /// Looks at their friends.
    ListFriends,
    SendFriendRequest {
        to: u32,
    },
    /// `request` is the store's id, left out of the log line.
    AnswerFriendRequest {
        from: u32,
        accept: bool,
        request: Id,
    },
    /// Says they want to go, at a preferred time.
    ExpressInterest {
        venue: u32,
        at: Timestamp,
    },
    /// Proposes a plan and invites friends.
    CreatePlan {
        plan: Handle,
        venue: u32,
        at: Timestamp,
        invitees: Vec<u32>,
    },
    /// Answers an invitation to someone's plan.
    AnswerInvitation {
        plan: Handle,
        accept: bool,
        plan_id: Option<Id>,
    },
    Book {
        booking: Handle,
        venue: u32,
        at: Timestamp,
        party: u8,
    },
    Cancel {
        booking: Handle,
        booking_id: Id,
    },
    NoShow {
        booking: Handle,
        booking_id: Id,
    },
    /// Goes to a booked venue (a `visit`, and the booking completes).
    Attend {
        booking: Handle,
        venue: u32,
        booking_id: Id,
    },
}

impl Action {
    /// A stable name for metrics (`by_type`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Interact { kind, .. } => kind.as_str(),
            Action::Search { .. } => "venue_search",
            Action::AskRecommendations { .. } => "ask_recommendations",
            Action::ClickRecommendation { .. } => "click_recommendation",
            Action::IgnoreRecommendations { .. } => "ignore_recommendations",
            Action::ListFriends => "list_friends",
            Action::SendFriendRequest { .. } => "send_friend_request",
            Action::AnswerFriendRequest { .. } => "answer_friend_request",
            Action::ExpressInterest { .. } => "express_interest",
            Action::CreatePlan { .. } => "create_plan",
            Action::AnswerInvitation { .. } => "answer_invitation",
            Action::Book { .. } => "book",
            Action::Cancel { .. } => "cancel",
            Action::NoShow { .. } => "no_show",
            Action::Attend { .. } => "attend",
        }
    }

    /// Whether its outcome can depend on other users acting in the same tick (a friend request
    /// between two people, seats at a venue). Such actions run after the tick's sessions, one
    /// by one in user order, so their outcomes are reproducible too.
    pub fn is_contended(&self) -> bool {
        matches!(self, Action::SendFriendRequest { .. } | Action::Book { .. })
    }

    /// The venue it is about, if any.
    pub fn venue(&self) -> Option<u32> {
        match self {
            Action::Interact { venue, .. }
            | Action::ClickRecommendation { venue, .. }
            | Action::ExpressInterest { venue, .. }
            | Action::CreatePlan { venue, .. }
            | Action::Book { venue, .. }
            | Action::Attend { venue, .. } => Some(*venue),
            _ => None,
        }
    }
}

fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%MZ").to_string()
}

impl fmt::Display for Action {
    /// The canonical log line (no database ids).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Interact { venue, kind, dwell } => write!(f, "{} v{venue} {dwell}s", kind.as_str()),
            Action::Search { category, price_max, radius_km } => {
                let c = category.map_or("any", |c| c.as_str());
                write!(f, "venue_search {c} p<={} r{radius_km}", price_max.unwrap_or(4))
            }
            Action::AskRecommendations { limit } => write!(f, "ask_recommendations {limit}"),
            Action::ClickRecommendation { venue, rank } => write!(f, "click_recommendation v{venue} #{rank}"),
            Action::IgnoreRecommendations { shown } => write!(f, "ignore_recommendations {shown}"),
            Action::ListFriends => f.write_str("list_friends"),
            Action::SendFriendRequest { to } => write!(f, "send_friend_request u{to}"),
            Action::AnswerFriendRequest { from, accept, .. } => write!(f, "answer_friend_request u{from} {accept}"),
            Action::ExpressInterest { venue, at } => write!(f, "express_interest v{venue} {}", time(at)),
            Action::CreatePlan { plan, venue, at, invitees } => {
                write!(f, "create_plan {}.{} v{venue} {} {invitees:?}", plan.owner, plan.seq, time(at))
            }
            Action::AnswerInvitation { plan, accept, .. } => {
                write!(f, "answer_invitation {}.{} {accept}", plan.owner, plan.seq)
            }
            Action::Book { booking, venue, at, party } => {
                write!(f, "book {}.{} v{venue} {} x{party}", booking.owner, booking.seq, time(at))
            }
            Action::Cancel { booking, .. } => write!(f, "cancel {}.{}", booking.owner, booking.seq),
            Action::NoShow { booking, .. } => write!(f, "no_show {}.{}", booking.owner, booking.seq),
            Action::Attend { booking, venue, .. } => write!(f, "attend {}.{} v{venue}", booking.owner, booking.seq),
        }
    }
}

/// The run's log: `tick user action` lines, hashed with 64-bit FNV-1a as they come. Keeps the
/// first `keep` lines in memory (tests and debugging); the hash covers all of them.
#[derive(Debug, Clone)]
pub struct ActionLog {
    hash: u64,
    count: u64,
    keep: usize,
    lines: Vec<String>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl ActionLog {
    pub fn new(keep: usize) -> Self {
        Self { hash: FNV_OFFSET, count: 0, keep, lines: Vec::new() }
    }

    /// Appends a line.
    pub fn push_line(&mut self, line: String) {
        for b in line.bytes().chain(std::iter::once(b'\n')) {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.count += 1;
        if self.lines.len() < self.keep {
            self.lines.push(line);
        }
    }

    /// Appends a user's action decided at `tick`.
    pub fn push(&mut self, tick: u64, user: u32, action: &Action) {
        self.push_line(format!("{tick} u{user} {action}"));
    }

    /// The hash of every line so far, as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash)
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kept lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_hash_depends_on_every_line_and_their_order() {
        let a = Action::ListFriends;
        let b = Action::SendFriendRequest { to: 3 };
        let (mut x, mut y, mut z) = (ActionLog::new(10), ActionLog::new(0), ActionLog::new(0));
        x.push(1, 0, &a);
        x.push(1, 1, &b);
        y.push(1, 0, &a);
        y.push(1, 1, &b);
        z.push(1, 1, &b);
        z.push(1, 0, &a);
        assert_eq!(x.hash_hex(), y.hash_hex());
        assert_ne!(x.hash_hex(), z.hash_hex());
        assert_eq!(x.lines(), ["1 u0 list_friends", "1 u1 send_friend_request u3"]);
    }

    #[test]
    fn store_ids_stay_out_of_log_lines() {
        let id = domain::new_id();
        let line = Action::AnswerFriendRequest { from: 2, accept: true, request: id }.to_string();
        assert!(!line.contains(&id.to_string()), "{line}");
    }
}
