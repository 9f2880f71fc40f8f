//! Live conversion of served venue recommendations, per ranker: of the venues an answer showed
//! a user, how many that user went on to view, like (or save, or say they want to go to), visit
//! or book within a day of it (by the time the action was written, not when the bus delivered
//! it). Answers are recorded where they are served, so each server reports its own answers;
//! conversions come from the bus, so a like that another server took still counts for the
//! answer this one served. Last touch wins: a venue shown again, by any ranker on any server,
//! is credited to the latest answer. Another server's answers arrive on the bus and drop this
//! server's earlier showings of the same venues to the same users ([`Conversions::superseded`]),
//! so when one user's requests are spread over several servers, only the last to show a venue
//! credits what the user did with it, and the dashboard's sum over servers counts it once.
//! (Answers and actions travel on different channels: an action this server reads before
//! another server's later answer, within the moment between them or while catching up after a
//! lag, which reads channel by channel, is still credited by both.) A watcher that lags reads
//! what it missed back from the bus's history (`stats::watch`), so no action is lost while the
//! history holds it. Each (answer, venue, kind) converts at most once.

use std::collections::VecDeque;

use domain::InteractionType;
use engine::util::FastMap;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long after an answer a conversion is credited to it, seconds.
pub const WINDOW_SECS: u64 = 86_400;
/// How much earlier than the answer an action may be timed and still count, seconds: the answer
/// is timed by this server's clock, the action by the clock of the server that wrote it.
pub const CLOCK_SLACK_SECS: u32 = 2;
/// Shown (user, venue) pairs kept waiting for a conversion; the oldest go first beyond it.
pub const MAX_PENDING: usize = 500_000;
/// How long another server's showing of a pair is remembered, seconds: an answer of this server
/// recorded after it was read, yet timed no later (the same second, or a clock behind), must
/// still yield to it.
const ELSEWHERE_SECS: u32 = CLOCK_SLACK_SECS + 2;
/// Other servers' recent showings remembered at most (the oldest go first beyond it).
const MAX_ELSEWHERE: usize = 200_000;

/// What a user did with a venue they were shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    Viewed,
    Liked,
    Visited,
    Booked,
}

impl Conversion {
    /// The conversion an interaction is, if any (a search is not one).
    pub fn of(kind: InteractionType) -> Option<Self> {
        match kind {
            InteractionType::View => Some(Self::Viewed),
            InteractionType::Like | InteractionType::Save | InteractionType::Interest => Some(Self::Liked),
            InteractionType::Visit => Some(Self::Visited),
            InteractionType::Search => None,
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The `done` of a showing that another server's later answer superseded: every kind is done,
/// so it converts no more, and it leaves the map when its time comes like any other.
const SUPERSEDED: u8 = 0b1111;

/// One ranker's figures since the server started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct RankerConversion {
    /// `default`, `seed2`, `learned`, `popularity`, `group` or `alternatives`.
    pub ranker: String,
    /// Venue answers served.
    pub answers: u64,
    /// Venues shown in them (a group answer counts once per member).
    pub shown: u64,
    /// Shown venues the user then viewed, liked (or saved, or expressed interest in), visited
    /// or booked within [`WINDOW_SECS`].
    pub viewed: u64,
    pub liked: u64,
    pub visited: u64,
    pub booked: u64,
    /// `viewed / shown`, and likewise for the others (0 before anything was shown).
    pub view_rate: f64,
    pub like_rate: f64,
    pub visit_rate: f64,
    pub booking_rate: f64,
}

/// A venue shown to a user: by which ranker (an index into the tallies), when (Unix seconds),
/// and which conversions it has had. Eight bytes: the map is as large as the cap, and
/// serving an answer touches one entry per venue, so a small entry is fewer cache misses.
#[derive(Debug, Clone, Copy)]
struct Shown {
    ranker: u16,
    done: u8,
    at: u32,
}

/// A (user, venue) pair as one 64-bit key. Two pairs among those kept sharing a key is about
/// as likely as one in a hundred million at the cap; it would credit one conversion to the
/// wrong answer.
fn pair(user: Uuid, venue: Uuid) -> u64 {
    let mix = |h: u64, x: u64| {
        let mut z = (h ^ x).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let ((a, b), (c, d)) = (user.as_u64_pair(), venue.as_u64_pair());
    mix(mix(mix(mix(0, a), b), c), d)
}

/// Another server's latest showing of a pair: when, and whether it wins a tie in that second
/// (its server id is the greater).
#[derive(Debug, Clone, Copy)]
struct Elsewhere {
    at: u32,
    wins_tie: bool,
}

impl Elsewhere {
    /// Whether it comes after a showing of this server at `at`: answers are ordered by their
    /// second, then by server id, the same way on every server.
    fn after(self, at: u32) -> bool {
        self.at > at || (self.at == at && self.wins_tie)
    }
}

/// The tallies and the pairs waiting for a conversion.
#[derive(Debug)]
pub struct Conversions {
    /// Most pairs kept waiting ([`MAX_PENDING`]).
    cap: usize,
    tallies: Vec<RankerConversion>,
    shown: FastMap<u64, Shown>,
    /// Pairs in the order they were shown (a pair shown again appears again; the stale entry
    /// is recognised by its time).
    order: VecDeque<(u32, u64)>,
    /// Other servers' showings of the last [`ELSEWHERE_SECS`], and their order (likewise).
    elsewhere: FastMap<u64, Elsewhere>,
    elsewhere_order: VecDeque<(u32, u64)>,
}

impl Default for Conversions {
    fn default() -> Self {
        Self::with_cap(MAX_PENDING)
    }
}

impl Conversions {
    /// Keeps at most `cap` pairs waiting.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            cap,
            tallies: Vec::new(),
            shown: FastMap::default(),
            order: VecDeque::new(),
            elsewhere: FastMap::default(),
            elsewhere_order: VecDeque::new(),
        }
    }

    /// Records an answer of `ranker` showing `venues` to each of `users` at `now` (Unix seconds).
    pub fn served(&mut self, ranker: &str, users: &[Uuid], venues: &[Uuid], now: u64) {
        let at = secs(now);
        let r = match self.tallies.iter().position(|t| t.ranker == ranker) {
            Some(r) => r,
            None => {
                self.tallies.push(RankerConversion { ranker: ranker.to_string(), ..RankerConversion::default() });
                self.tallies.len() - 1
            }
        };
        self.tallies[r].answers += 1;
        self.tallies[r].shown += (users.len() * venues.len()) as u64;
        let ranker = u16::try_from(r).unwrap_or(u16::MAX);
        for &u in users {
            for &v in venues {
                let key = pair(u, v);
                // Another server's answer read before this one yet ordered after it still wins.
                let done = if self.elsewhere.get(&key).is_some_and(|e| e.after(at)) { SUPERSEDED } else { 0 };
                // Shown again in the same second: its queue entry is already there.
                if self.shown.insert(key, Shown { ranker, at, done }).is_none_or(|old| old.at != at) {
                    self.order.push_back((at, key));
                }
            }
        }
        self.forget(now);
    }

    /// Credits what `user` did with `venue` at `now` (Unix seconds, when it happened) to the
    /// answer that last showed it.
    pub fn converted(&mut self, user: Uuid, venue: Uuid, kind: Conversion, now: u64) {
        let Some(s) = self.shown.get_mut(&pair(user, venue)) else { return };
        // Only what the user did after the answer, within the window, once per kind.
        let at = secs(now);
        if at + CLOCK_SLACK_SECS < s.at || u64::from(at.saturating_sub(s.at)) > WINDOW_SECS || s.done & kind.bit() != 0
        {
            return;
        }
        s.done |= kind.bit();
        let Some(t) = self.tallies.get_mut(usize::from(s.ranker)) else { return };
        match kind {
            Conversion::Viewed => t.viewed += 1,
            Conversion::Liked => t.liked += 1,
            Conversion::Visited => t.visited += 1,
            Conversion::Booked => t.booked += 1,
        }
    }

    /// Another server showed `venues` to each of `users` at `at` (Unix seconds): this server's
    /// showings of those pairs from before then no longer are the last touch and convert no
    /// more (those of the same second too when `wins_tie`). It is remembered for a few seconds,
    /// so an answer of this server recorded after it, but ordered before it, yields too. This
    /// server's tallies are not touched: the other server counts its answer.
    pub fn superseded(&mut self, users: &[Uuid], venues: &[Uuid], at: u64, wins_tie: bool) {
        let at = secs(at);
        let theirs = Elsewhere { at, wins_tie };
        for &u in users {
            for &v in venues {
                let key = pair(u, v);
                if let Some(s) = self.shown.get_mut(&key)
                    && theirs.after(s.at)
                {
                    s.done = SUPERSEDED;
                }
                // Keep the latest of other servers' showings (at a tie, the one that wins it).
                let newer = self.elsewhere.get(&key).is_none_or(|e| (theirs.at, theirs.wins_tie) > (e.at, e.wins_tie));
                if newer && self.elsewhere.insert(key, theirs).is_none_or(|old| old.at != at) {
                    self.elsewhere_order.push_back((at, key));
                }
            }
        }
        // Forget what is older than a few seconds of the newest, and the oldest beyond the cap.
        while let Some(&(then, key)) = self.elsewhere_order.front() {
            if then + ELSEWHERE_SECS >= at && self.elsewhere.len() <= MAX_ELSEWHERE {
                break;
            }
            self.elsewhere_order.pop_front();
            if self.elsewhere.get(&key).is_some_and(|e| e.at == then) {
                self.elsewhere.remove(&key);
            }
        }
        if self.elsewhere_order.len() > 2 * MAX_ELSEWHERE {
            let elsewhere = &self.elsewhere;
            self.elsewhere_order.retain(|&(then, key)| elsewhere.get(&key).is_some_and(|e| e.at == then));
        }
    }

    /// Every ranker's figures with their rates, by ranker name.
    pub fn figures(&mut self, now: u64) -> Vec<RankerConversion> {
        self.forget(now);
        let mut out = self.tallies.clone();
        for t in &mut out {
            let rate = |n: u64| if t.shown > 0 { n as f64 / t.shown as f64 } else { 0.0 };
            (t.view_rate, t.like_rate, t.visit_rate, t.booking_rate) =
                (rate(t.viewed), rate(t.liked), rate(t.visited), rate(t.booked));
        }
        out.sort_by(|a, b| a.ranker.cmp(&b.ranker));
        out
    }

    /// Drops pairs shown longer ago than the window, and the oldest beyond the cap.
    fn forget(&mut self, now: u64) {
        let now = secs(now);
        while let Some(&(at, key)) = self.order.front() {
            if u64::from(now.saturating_sub(at)) <= WINDOW_SECS && self.shown.len() <= self.cap {
                break;
            }
            self.order.pop_front();
            // Only if this entry is the pair's latest showing (else a newer one keeps it).
            if self.shown.get(&key).is_some_and(|s| s.at == at) {
                self.shown.remove(&key);
            }
        }
        // Re-shown pairs leave stale entries behind; keep the queue from outgrowing the map.
        if self.order.len() > 2 * self.cap.max(1) {
            let shown = &self.shown;
            self.order.retain(|&(at, key)| shown.get(&key).is_some_and(|s| s.at == at));
        }
    }
}

/// Unix seconds in the four bytes an entry keeps (until 2106).
fn secs(now: u64) -> u32 {
    u32::try_from(now).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    #[test]
    fn conversions_are_credited_to_the_ranker_that_last_showed_the_venue_once_each() {
        let (u, v) = (ids(2), ids(3));
        let mut c = Conversions::default();
        c.served("seed2", &u[..1], &v, 0);
        c.served("default", &u[..1], &v[..1], 10); // shown again: default now owns (u0, v0)
        c.converted(u[0], v[0], Conversion::Viewed, 20);
        c.converted(u[0], v[0], Conversion::Viewed, 21); // once per kind
        c.converted(u[0], v[0], Conversion::Booked, 22);
        c.converted(u[0], v[1], Conversion::Liked, 23);
        c.converted(u[1], v[1], Conversion::Liked, 24); // never shown to u1
        let f = c.figures(30);
        let by = |r: &str| f.iter().find(|t| t.ranker == r).cloned().expect(r);
        let d = by("default");
        assert_eq!((d.answers, d.shown, d.viewed, d.booked, d.liked), (1, 1, 1, 1, 0));
        assert_eq!((d.view_rate, d.booking_rate), (1.0, 1.0));
        let s = by("seed2");
        assert_eq!((s.answers, s.shown, s.viewed, s.liked, s.booked), (1, 3, 0, 1, 0));
        assert!((s.like_rate - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn what_was_done_before_the_answer_does_not_count_and_a_same_second_reshow_queues_once() {
        let (u, v) = (Uuid::now_v7(), Uuid::now_v7());
        let mut c = Conversions::default();
        c.served("default", &[u], &[v], 100);
        c.served("default", &[u], &[v], 100);
        assert_eq!(c.order.len(), 1);
        c.converted(u, v, Conversion::Viewed, 90); // written before the answer, delivered late
        c.converted(u, v, Conversion::Liked, 99); // within the slack of another server's clock
        let d = &c.figures(100)[0];
        assert_eq!((d.answers, d.shown, d.viewed, d.liked), (2, 2, 0, 1));
    }

    #[test]
    fn a_group_answer_is_shown_to_every_member_and_late_conversions_do_not_count() {
        let (u, v) = (ids(3), ids(2));
        let mut c = Conversions::default();
        c.served("group", &u, &v, 0);
        c.converted(u[2], v[1], Conversion::Visited, WINDOW_SECS);
        c.converted(u[1], v[1], Conversion::Visited, WINDOW_SECS + 1);
        let g = &c.figures(WINDOW_SECS + 1)[0];
        assert_eq!((g.answers, g.shown, g.visited), (1, 6, 1));
        assert!(c.shown.is_empty() && c.order.is_empty(), "forgotten after the window");
    }

    #[test]
    fn another_servers_later_answer_takes_the_pairs_it_showed() {
        let (u, v) = (ids(3), ids(3));
        let mut c = Conversions::default();
        c.served("default", &u[..2], &v, 100);
        // Another server showed v0 to both users, and v1 to u0, after this server did.
        c.superseded(&u[..2], &v[..1], 101, false);
        c.superseded(&u[..1], &v[1..2], 150, false);
        // Same second: it goes to the greater server id; earlier: nothing changes.
        c.superseded(&u[1..2], &v[1..2], 100, false);
        c.superseded(&u[1..2], &v[2..3], 100, true);
        c.superseded(&u[..1], &v[2..3], 99, true);
        c.superseded(&u[2..], &v, 200, true); // never shown to u2 here
        for (user, venue) in [(0, 0), (1, 0), (0, 1), (1, 1), (1, 2), (0, 2)] {
            c.converted(u[user], v[venue], Conversion::Viewed, 300);
        }
        let d = &c.figures(300)[0];
        assert_eq!((d.answers, d.shown, d.viewed), (1, 6, 2), "kept: (u1, v1) and (u0, v2)");
        assert_eq!(c.shown.len(), 6, "superseded pairs wait for their time like the others");
    }

    #[test]
    fn an_answer_recorded_after_another_servers_read_one_yields_if_ordered_before_it() {
        let (u, v) = (ids(1), ids(4));
        let mut c = Conversions::default();
        // Another server's answers were read first: one in this second that wins the tie, one
        // in this second that loses it, one a second ahead (its clock), one a second behind.
        c.superseded(&u, &v[..1], 100, true);
        c.superseded(&u, &v[1..2], 100, false);
        c.superseded(&u, &v[2..3], 101, false);
        c.superseded(&u, &v[3..], 99, true);
        c.served("default", &u, &v, 100);
        for venue in &v {
            c.converted(u[0], *venue, Conversion::Liked, 102);
        }
        assert_eq!(c.figures(102)[0].liked, 2, "v1 and v3 are this server's to credit");
        // Remembered for a few seconds only: an answer much later is this server's again.
        c.superseded(&ids(1), &v[..1], 100 + 2 * u64::from(ELSEWHERE_SECS), false);
        assert!(c.elsewhere.len() == 1 && c.elsewhere_order.len() == 1, "{:?}", c.elsewhere);
    }

    #[test]
    fn pending_pairs_are_bounded_and_a_reshown_pair_survives_its_stale_entry() {
        let mut c = Conversions::with_cap(10);
        let (u, v) = (Uuid::now_v7(), Uuid::now_v7());
        c.served("default", &[u], &[v], 0);
        let others = ids(10);
        c.served("seed2", &[Uuid::now_v7()], &others, 1);
        assert_eq!(c.shown.len(), 10);
        assert!(!c.shown.contains_key(&pair(u, v)), "the oldest pair went first");
        for t in 2..40 {
            c.served("default", &[u], &[v], t); // re-shown: stale entries pile up, then are swept
        }
        assert!(c.order.len() <= 21 && c.shown.len() <= 10, "{} {}", c.order.len(), c.shown.len());
        c.converted(u, v, Conversion::Viewed, 41);
        let d = c.figures(5).into_iter().find(|t| t.ranker == "default").expect("default");
        assert_eq!(d.viewed, 1);
        assert_eq!(Conversion::of(InteractionType::Search), None);
        assert_eq!(Conversion::of(InteractionType::Save), Some(Conversion::Liked));
    }
}
