//! Live conversion of served venue recommendations, per ranker: of the venues an answer showed
//! a user, how many that user went on to view, like (or save, or say they want to go to), visit
//! or book within a day of it (by the time the action was written, not when the bus delivered
//! it). Answers are recorded where they are served, so each server reports its own answers;
//! conversions come from the bus, so a like that another server took still counts for the
//! answer this one served. Last touch wins: a venue shown again, by any ranker on any server,
//! is credited to the latest answer. Another server's answers arrive on the bus and end this
//! server's earlier showings of the same venues to the same users ([`Conversions::superseded`]):
//! what the user did from then on is the other server's to credit, what they did before stays
//! this one's. So when one user's requests are spread over several servers, each action is
//! credited by the one server that last showed the venue before it, and the dashboard's sum
//! over servers counts it once. Answers and actions travel on different channels, so an action
//! may be read before an answer that came earlier: actions are held for [`HOLD_SECS`] before
//! they are credited, time for every answer before them to arrive. A watcher that lags reads
//! what it missed back from the bus's history (`stats::watch`), so no action is lost while the
//! history holds it, and in time order across channels (`bus::Feed`), so an answer is read
//! before the actions that followed it however long the catch-up takes. Each (answer, venue,
//! kind) converts at most once.

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
/// How long an action read from the bus waits before it is credited, seconds of this server's
/// clock: beyond the clock slack, a second for another server's answer from before the action
/// to cross the bus.
pub const HOLD_SECS: u64 = CLOCK_SLACK_SECS as u64 + 1;
/// Actions held at most; beyond it the oldest are credited early.
const MAX_HELD: usize = 200_000;

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

/// One ranker's figures since the server started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct RankerConversion {
    /// `default`, `seed2`, `learned`, `popularity`, `group` (groups scored by the default ranker;
    /// `group_seed2`, `group_popularity` and `group_learned` by the others) or `alternatives`.
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
/// which conversions it has had, how many actions on it are held, and when a later answer of
/// another server (or of this one, once shown again) ended it (0 while it is the last). Sixteen
/// bytes: the map is as large as the cap, and serving an answer touches one entry per venue, so
/// a small entry is fewer cache misses.
#[derive(Debug, Clone, Copy)]
struct Shown {
    ranker: u16,
    held: u16,
    done: u8,
    at: u32,
    until: u32,
}

impl Shown {
    /// Whether an action at `at` (Unix seconds) is this showing's to credit: not before it, not
    /// after the window, and not from when another server's answer took over. Both use the clock
    /// slack alike, so of two servers' showings exactly one takes it.
    fn owns(&self, at: u32) -> bool {
        at + CLOCK_SLACK_SECS >= self.at
            && u64::from(at.saturating_sub(self.at)) <= WINDOW_SECS
            && (self.until == 0 || at + CLOCK_SLACK_SECS < self.until)
    }
}

/// An action waiting to be credited: when (this server's clock), on which pair and which showing
/// of it (its time), what, and when it happened.
#[derive(Debug, Clone, Copy)]
struct Held {
    due: u64,
    key: u64,
    shown_at: u32,
    kind: Conversion,
    at: u32,
}

/// Credits an action at `at` to showing `s` if it owns it, once per kind.
fn tally(tallies: &mut [RankerConversion], s: &mut Shown, kind: Conversion, at: u32) {
    if !s.owns(at) || s.done & kind.bit() != 0 {
        return;
    }
    s.done |= kind.bit();
    let Some(t) = tallies.get_mut(usize::from(s.ranker)) else { return };
    match kind {
        Conversion::Viewed => t.viewed += 1,
        Conversion::Liked => t.liked += 1,
        Conversion::Visited => t.visited += 1,
        Conversion::Booked => t.booked += 1,
    }
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
    /// Actions waiting [`HOLD_SECS`] to be credited, in the order read.
    held: VecDeque<Held>,
    hold: u64,
    /// Showings replaced by a newer one of this server while actions on them were held: kept
    /// (ended at the newer one) until those are credited.
    retired: FastMap<u64, Vec<Shown>>,
}

impl Default for Conversions {
    fn default() -> Self {
        Self::new(MAX_PENDING, HOLD_SECS)
    }
}

impl Conversions {
    /// Keeps at most `cap` pairs waiting, and holds each action `hold` seconds before crediting
    /// it.
    pub fn new(cap: usize, hold: u64) -> Self {
        Self {
            cap,
            tallies: Vec::new(),
            shown: FastMap::default(),
            order: VecDeque::new(),
            elsewhere: FastMap::default(),
            elsewhere_order: VecDeque::new(),
            held: VecDeque::new(),
            hold,
            retired: FastMap::default(),
        }
    }

    /// Forgets every answer, action and tally, keeping the limits: after a data reset the users
    /// and venues they were about are gone, and the figures start again.
    pub fn forget_all(&mut self) {
        *self = Self::new(self.cap, self.hold);
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
                // Another server's answer read before this one yet ordered after it still wins
                // (the latest of those remembered: with three servers answering within seconds,
                // an earlier one may be missed).
                let until = self.elsewhere.get(&key).filter(|e| e.after(at)).map_or(0, |e| e.at.max(1));
                let mut shown = Shown { ranker, at, done: 0, held: 0, until };
                match self.shown.insert(key, shown) {
                    // Shown again in the same second: its queue entry is already there, and
                    // actions held on it are this one's.
                    Some(old) if old.at == at => {
                        shown.held = old.held;
                        self.shown.insert(key, shown);
                    }
                    old => {
                        // Actions held on the showing this one replaces are that one's: it is
                        // kept, ended here, until they are credited. Those done before this
                        // answer are its own: no slack is taken off (each action is held
                        // against one showing, so none is credited by both).
                        if let Some(mut old) = old.filter(|o| o.held > 0) {
                            let end = at + CLOCK_SLACK_SECS;
                            old.until = if old.until == 0 { end } else { old.until.min(end) };
                            self.retired.entry(key).or_default().push(old);
                        }
                        self.order.push_back((at, key));
                    }
                }
            }
        }
        self.release(now);
        self.forget(now);
    }

    /// What `user` did with `venue` at `at` (Unix seconds, when it happened), read at `now`
    /// (this server's clock): credited [`HOLD_SECS`] later to the answer that last showed it
    /// before then.
    pub fn converted(&mut self, user: Uuid, venue: Uuid, kind: Conversion, at: u64, now: u64) {
        let key = pair(user, venue);
        if let Some(s) = self.shown.get_mut(&key) {
            s.held = s.held.saturating_add(1);
            let due = now.saturating_add(self.hold);
            self.held.push_back(Held { due, key, shown_at: s.at, kind, at: secs(at) });
        }
        self.release(now);
    }

    /// Credits the held actions due by `now` (and the oldest beyond the cap).
    fn release(&mut self, now: u64) {
        while let Some(&h) = self.held.front() {
            if h.due > now && self.held.len() <= MAX_HELD {
                break;
            }
            self.held.pop_front();
            self.credit(h);
        }
    }

    /// Credits a held action to the showing it was read on (still the pair's latest, or kept
    /// as retired) if that showing owns it, once per kind. A showing forgotten meanwhile (past
    /// the window or the cap) credits nothing.
    fn credit(&mut self, h: Held) {
        if let Some(s) = self.shown.get_mut(&h.key).filter(|s| s.at == h.shown_at) {
            s.held = s.held.saturating_sub(1);
            tally(&mut self.tallies, s, h.kind, h.at);
            return;
        }
        let Some(list) = self.retired.get_mut(&h.key) else { return };
        let Some(i) = list.iter().position(|s| s.at == h.shown_at) else { return };
        let s = &mut list[i];
        s.held = s.held.saturating_sub(1);
        tally(&mut self.tallies, s, h.kind, h.at);
        if s.held == 0 {
            list.swap_remove(i);
        }
        if list.is_empty() {
            self.retired.remove(&h.key);
        }
    }

    /// Another server showed `venues` to each of `users` at `at` (Unix seconds): this server's
    /// showings of those pairs from before then (of the same second too when `wins_tie`) are no
    /// longer the last touch from then on; what the user did before still counts for them. It
    /// is remembered for a few seconds, so an answer of this server recorded after it, but
    /// ordered before it, yields too. This server's tallies are not touched: the other server
    /// counts its answer.
    pub fn superseded(&mut self, users: &[Uuid], venues: &[Uuid], at: u64, wins_tie: bool) {
        let at = secs(at);
        let theirs = Elsewhere { at, wins_tie };
        for &u in users {
            for &v in venues {
                let key = pair(u, v);
                // The earliest later answer ends it (a second is never 0), and so a retired one.
                let retired = self.retired.get_mut(&key).into_iter().flatten();
                for s in self.shown.get_mut(&key).into_iter().chain(retired) {
                    if theirs.after(s.at) && (s.until == 0 || at < s.until) {
                        s.until = at.max(1);
                    }
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
        self.release(now);
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
        let mut c = Conversions::new(MAX_PENDING, 0);
        c.served("seed2", &u[..1], &v, 0);
        c.served("default", &u[..1], &v[..1], 10); // shown again: default now owns (u0, v0)
        c.converted(u[0], v[0], Conversion::Viewed, 20, 20);
        c.converted(u[0], v[0], Conversion::Viewed, 21, 21); // once per kind
        c.converted(u[0], v[0], Conversion::Booked, 22, 22);
        c.converted(u[0], v[1], Conversion::Liked, 23, 23);
        c.converted(u[1], v[1], Conversion::Liked, 24, 24); // never shown to u1
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
        let mut c = Conversions::new(MAX_PENDING, 0);
        c.served("default", &[u], &[v], 100);
        c.served("default", &[u], &[v], 100);
        assert_eq!(c.order.len(), 1);
        c.converted(u, v, Conversion::Viewed, 90, 100); // written before the answer, delivered late
        c.converted(u, v, Conversion::Liked, 99, 100); // within the slack of another server's clock
        let d = &c.figures(100)[0];
        assert_eq!((d.answers, d.shown, d.viewed, d.liked), (2, 2, 0, 1));
    }

    #[test]
    fn a_group_answer_is_shown_to_every_member_and_late_conversions_do_not_count() {
        let (u, v) = (ids(3), ids(2));
        let mut c = Conversions::new(MAX_PENDING, 0);
        c.served("group", &u, &v, 0);
        c.converted(u[2], v[1], Conversion::Visited, WINDOW_SECS, WINDOW_SECS);
        c.converted(u[1], v[1], Conversion::Visited, WINDOW_SECS + 1, WINDOW_SECS + 1);
        let g = &c.figures(WINDOW_SECS + 1)[0];
        assert_eq!((g.answers, g.shown, g.visited), (1, 6, 1));
        assert!(c.shown.is_empty() && c.order.is_empty(), "forgotten after the window");
    }

    #[test]
    fn another_servers_later_answer_takes_the_pairs_it_showed() {
        let (u, v) = (ids(3), ids(3));
        let mut c = Conversions::new(MAX_PENDING, 0);
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
            c.converted(u[user], v[venue], Conversion::Viewed, 300, 300);
        }
        let d = &c.figures(300)[0];
        assert_eq!((d.answers, d.shown, d.viewed), (1, 6, 2), "kept: (u1, v1) and (u0, v2)");
        assert_eq!(c.shown.len(), 6, "superseded pairs wait for their time like the others");
    }

    #[test]
    fn an_answer_recorded_after_another_servers_read_one_yields_if_ordered_before_it() {
        let (u, v) = (ids(1), ids(4));
        let mut c = Conversions::new(MAX_PENDING, 0);
        // Another server's answers were read first: one in this second that wins the tie, one
        // in this second that loses it, one a second ahead (its clock), one a second behind.
        c.superseded(&u, &v[..1], 100, true);
        c.superseded(&u, &v[1..2], 100, false);
        c.superseded(&u, &v[2..3], 101, false);
        c.superseded(&u, &v[3..], 99, true);
        c.served("default", &u, &v, 100);
        for venue in &v {
            c.converted(u[0], *venue, Conversion::Liked, 102, 102);
        }
        assert_eq!(c.figures(102)[0].liked, 2, "v1 and v3 are this server's to credit");
        // Remembered for a few seconds only: an answer much later is this server's again.
        c.superseded(&ids(1), &v[..1], 100 + 2 * u64::from(ELSEWHERE_SECS), false);
        assert!(c.elsewhere.len() == 1 && c.elsewhere_order.len() == 1, "{:?}", c.elsewhere);
    }

    #[test]
    fn pending_pairs_are_bounded_and_a_reshown_pair_survives_its_stale_entry() {
        let mut c = Conversions::new(10, 0);
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
        c.converted(u, v, Conversion::Viewed, 41, 41);
        let d = c.figures(5).into_iter().find(|t| t.ranker == "default").expect("default");
        assert_eq!(d.viewed, 1);
        assert_eq!(Conversion::of(InteractionType::Search), None);
        assert_eq!(Conversion::of(InteractionType::Save), Some(Conversion::Liked));
    }

    #[test]
    fn what_was_done_before_another_servers_later_answer_stays_this_servers() {
        let (u, v) = (ids(1), ids(2));
        let mut c = Conversions::new(MAX_PENDING, 0);
        c.served("default", &u, &v, 100);
        c.superseded(&u, &v, 110, false);
        c.superseded(&u, &v, 120, false); // a later one still: the first one ended it
        // Read after the other answer, done before it: this server's (it was lost before).
        c.converted(u[0], v[0], Conversion::Viewed, 105, 111);
        // Within the clock slack of the other answer: the other server's (it credits from
        // 110 - CLOCK_SLACK_SECS on), so not this one's.
        c.converted(u[0], v[1], Conversion::Viewed, 110 - u64::from(CLOCK_SLACK_SECS), 111);
        c.converted(u[0], v[1], Conversion::Liked, 109 - u64::from(CLOCK_SLACK_SECS), 111);
        let d = &c.figures(111)[0];
        assert_eq!((d.viewed, d.liked), (1, 1));
    }

    #[test]
    fn an_action_read_before_an_earlier_answer_of_another_server_waits_for_it() {
        let (u, v) = (ids(1), ids(2));
        let mut c = Conversions::new(MAX_PENDING, HOLD_SECS);
        c.served("default", &u, &v, 100);
        // Liked at 102 after another server showed v0 at 101, and read here before its answer.
        c.converted(u[0], v[0], Conversion::Liked, 102, 102);
        c.converted(u[0], v[1], Conversion::Liked, 102, 102);
        assert_eq!(c.figures(102)[0].liked, 0, "held");
        c.superseded(&u, &v[..1], 101, false);
        assert_eq!(c.figures(102 + HOLD_SECS - 1)[0].liked, 0, "held until due");
        assert_eq!(c.figures(102 + HOLD_SECS)[0].liked, 1, "v1 only: v0 was the other server's");
        assert!(c.held.is_empty() && c.shown.values().all(|s| s.held == 0));
        // Without the hold the like of v0 is credited before the other answer is read.
        let mut unheld = Conversions::new(MAX_PENDING, 0);
        unheld.served("default", &u, &v, 100);
        unheld.converted(u[0], v[0], Conversion::Liked, 102, 102);
        unheld.superseded(&u, &v[..1], 101, false);
        assert_eq!(unheld.figures(110)[0].liked, 1);
    }

    #[test]
    fn an_action_held_on_a_showing_is_credited_to_it_when_the_venue_is_shown_again() {
        let (u, v) = (Uuid::now_v7(), Uuid::now_v7());
        let mut c = Conversions::new(MAX_PENDING, HOLD_SECS);
        c.served("seed2", &[u], &[v], 100);
        c.converted(u, v, Conversion::Viewed, 101, 101);
        c.served("default", &[u], &[v], 102);
        c.converted(u, v, Conversion::Viewed, 103, 103);
        let f = c.figures(103 + HOLD_SECS);
        let viewed: Vec<(&str, u64)> = f.iter().map(|t| (t.ranker.as_str(), t.viewed)).collect();
        assert_eq!(viewed, [("default", 1), ("seed2", 1)]);
    }

    #[test]
    fn showing_a_venue_again_leaves_other_pairs_actions_held() {
        let (u, v) = (Uuid::now_v7(), ids(2));
        let mut c = Conversions::new(MAX_PENDING, HOLD_SECS);
        c.served("default", &[u], &v, 100);
        c.converted(u, v[0], Conversion::Liked, 101, 101);
        c.converted(u, v[1], Conversion::Liked, 101, 101);
        c.served("seed2", &[u], &v[..1], 102); // v0 shown again: v1's like is still held
        // Another server showed v1 before the like, read only now: the hold lets it take it.
        c.superseded(&[u], &v[1..], 100, true);
        c.superseded(&[u], &v[..1], 100, true); // and v0's retired showing too
        let f = c.figures(101 + HOLD_SECS);
        assert_eq!(f.iter().map(|t| t.liked).sum::<u64>(), 0, "both likes were the other server's: {f:?}");
        assert!(c.held.is_empty() && c.retired.is_empty(), "{:?}", c.retired);
    }
}
