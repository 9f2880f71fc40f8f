//! What a run did, counted as outcomes come back: actions by type, reads and writes, bookings,
//! recommendation click-through and conversion, social activity, failures, actions that were
//! skipped because their service does not exist yet, and per local hour of the day. Wall time
//! is only used for rates here; it never feeds a decision.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use super::action::Action;
use super::executor::Outcome;

/// Per local hour of the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct HourMetrics {
    pub hour: u8,
    /// Actions decided in that hour (service calls and skips).
    pub actions: u64,
    /// Booking attempts (confirmed, refused, failed or skipped while bookings are unavailable).
    pub booking_attempts: u64,
    pub bookings_confirmed: u64,
    /// People invited to plans (sent or skipped while plans are unavailable).
    pub invitations_attempted: u64,
    pub friend_requests: u64,
    pub recommendation_requests: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct BookingMetrics {
    pub attempted: u64,
    pub confirmed: u64,
    pub failed: u64,
    /// Attempts the venue refused (full, closed then, or seating fewer than the party).
    pub refused: u64,
    /// Those refused because the venue was full then: the ones that propose alternatives.
    pub refused_full: u64,
    /// Refusals after which the user tried one of the alternatives proposed (another time there
    /// or a similar venue nearby); each try is an attempt of its own too.
    pub alternatives_tried: u64,
    /// Those tries that were confirmed.
    pub alternatives_confirmed: u64,
    /// Attempts not made because the booking service is not available yet.
    pub skipped_unavailable: u64,
    pub cancelled: u64,
    pub no_shows: u64,
    pub attended: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct RecommendationMetrics {
    /// The ranker that answered (the engine-backed `default`).
    pub source: String,
    pub requests: u64,
    pub shown: u64,
    pub clicks: u64,
    pub ignored: u64,
    /// Clicks followed by an intent to go (interest or a booking attempt).
    pub conversions: u64,
    /// Clicks per request.
    pub click_through_rate: f64,
    /// Conversions per request.
    pub conversion_rate: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SocialMetrics {
    pub friend_requests_sent: u64,
    /// Refused because the other had just asked them (crossing requests in one minute).
    pub friend_requests_crossed: u64,
    pub friend_requests_accepted: u64,
    pub friend_requests_declined: u64,
    pub interests_expressed: u64,
    pub plans_attempted: u64,
    pub plans_created: u64,
    /// People invited to plans, whether or not the plan could be created.
    pub invitations_attempted: u64,
    pub invitations_sent: u64,
    pub invitations_accepted: u64,
    pub invitations_declined: u64,
    /// Acceptances refused because the plan's party already filled its venue.
    pub invitations_refused_full: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct FailureMetrics {
    pub total: u64,
    pub by_type: BTreeMap<String, u64>,
    pub last_error: Option<String>,
}

/// A run's metrics at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct MetricsSnapshot {
    /// Service calls made (successful or failed).
    pub actions_total: u64,
    pub writes: u64,
    pub reads: u64,
    /// Writes among successful calls, 0 to 1.
    pub write_share: f64,
    /// Service calls per wall second while running (pauses excluded).
    pub actions_per_second: f64,
    /// The same over about the last ten wall seconds, up to now (from the last count before
    /// them: a tick's actions count over the wait after it); 0 in a run's first half second,
    /// and 0 once a paused or stopped run has had ten seconds without actions.
    pub recent_actions_per_second: f64,
    pub wall_seconds: f64,
    pub sessions: u64,
    pub by_type: BTreeMap<String, u64>,
    pub bookings: BookingMetrics,
    pub recommendations: RecommendationMetrics,
    pub social: SocialMetrics,
    pub failures: FailureMetrics,
    /// Decided actions whose service does not exist yet, by type.
    pub skipped_unavailable: BTreeMap<String, u64>,
    /// Actions about a venue, and those about a venue near the concert (Concert Night's pull).
    pub venue_actions: u64,
    pub near_event_actions: u64,
    pub hourly: Vec<HourMetrics>,
    /// The first seed document's names: service calls, confirmed bookings, invitations sent.
    pub events_generated: u64,
    pub bookings_created: u64,
    pub invites_sent: u64,
}

/// The window of `recent_actions_per_second`.
const RECENT: Duration = Duration::from_secs(10);
/// The shortest span a recent rate is measured over: a run's first moments have none yet.
const MIN_SPAN: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct Inner {
    snap: MetricsSnapshot,
    wall: Duration,
    /// When the runner began its current stretch of running (a tick's wait and work) not yet
    /// added to `wall`; `None` between stretches (paused, stopped, or between ticks).
    running_since: Option<Instant>,
    recent: VecDeque<(Instant, u64)>,
}

/// Counters shared by a run's sessions and its controller.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_string()).or_default() += 1;
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Counts one action's outcome at local `hour`; `near_event` when its venue is near the event.
    pub fn record(&self, action: &Action, outcome: &Outcome, hour: usize, near_event: bool) {
        self.with(|m| {
            let s = &mut m.snap;
            bump(&mut s.by_type, action.kind());
            let h = &mut s.hourly_mut()[hour % 24];
            h.actions += 1;
            match outcome {
                Outcome::Done { write } => {
                    s.actions_total += 1;
                    if *write { s.writes += 1 } else { s.reads += 1 }
                }
                Outcome::Failed(e) => {
                    s.actions_total += 1;
                    s.failures.total += 1;
                    bump(&mut s.failures.by_type, action.kind());
                    s.failures.last_error = Some(format!("{}: {e}", action.kind()));
                }
                Outcome::Refused { .. } => s.actions_total += 1,
                Outcome::Unavailable => bump(&mut s.skipped_unavailable, action.kind()),
                // A user deleted meanwhile: gone from the run, not a failure of it.
                Outcome::NoCall | Outcome::Left(_) => {}
            }
            if action.venue().is_some() {
                s.venue_actions += 1;
                s.near_event_actions += u64::from(near_event);
            }
            count_kind(s, action, outcome, hour);
        });
    }

    pub fn session(&self) {
        self.with(|m| m.snap.sessions += 1);
    }

    /// A recommendation list of `n` venues was shown.
    pub fn shown(&self, n: usize) {
        self.with(|m| m.snap.recommendations.shown += n as u64);
    }

    /// A refused user tried a proposed alternative; `confirmed` when it was booked.
    pub fn alternative_tried(&self, confirmed: bool) {
        self.with(|m| {
            m.snap.bookings.alternatives_tried += 1;
            m.snap.bookings.alternatives_confirmed += u64::from(confirmed);
        });
    }

    /// A clicked recommendation led to an intent to go.
    pub fn converted(&self) {
        self.with(|m| m.snap.recommendations.conversions += 1);
    }

    /// The runner begins a stretch of running at `at` (before a tick's wait): until its
    /// `add_wall`, snapshots count the time since then as run time too, so the all-time rate
    /// during the wait after the first tick is not that tick's actions over its few ms of work.
    pub fn running_from(&self, at: Instant) {
        self.with(|m| m.running_since = Some(at));
    }

    /// Adds wall time spent running (not paused), ending the stretch `running_from` began.
    pub fn add_wall(&self, d: Duration) {
        self.add_wall_at(d, Instant::now());
    }

    /// `add_wall` at `now`. The recent window keeps one count from before its ten seconds, the
    /// start of the rate; the first call of a run adds the run's start (`now - d`, no action yet).
    fn add_wall_at(&self, d: Duration, now: Instant) {
        self.with(|m| {
            if m.wall.is_zero() && m.recent.is_empty() {
                m.recent.push_back((now.checked_sub(d).unwrap_or(now), 0));
            }
            m.wall += d;
            m.running_since = None;
            m.recent.push_back((now, m.snap.actions_total));
            while m.recent.get(1).is_some_and(|(t, _)| now.duration_since(*t) > RECENT) {
                m.recent.pop_front();
            }
        });
    }

    pub fn snapshot(&self, source: &str) -> MetricsSnapshot {
        self.snapshot_at(source, Instant::now())
    }

    fn snapshot_at(&self, source: &str, now: Instant) -> MetricsSnapshot {
        self.with(|m| {
            let mut s = m.snap.clone();
            s.hourly_mut();
            let per = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            // The stretch running now counts up to now (QA: the first tick's 15 actions in its
            // 31 ms of work read as 483 actions/s all-time until the second tick).
            let stretch = m.running_since.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            s.wall_seconds = (m.wall + stretch).as_secs_f64();
            s.actions_per_second = if s.wall_seconds > 0.0 { s.actions_total as f64 / s.wall_seconds } else { 0.0 };
            // Actions since the window's first count, over the time since then, up to now: a
            // tick's burst is spread over the wait that follows it (QA: the first tick's 15
            // actions in its 31 ms of work read as 477 actions/s until the next tick, 12 s later
            // at 5x, 4 minutes at 0.25x).
            // A paused or stopped run (no stretch running) counts from the last count at least
            // ten seconds old, so ten seconds without actions read 0 (QA: a stopped run still
            // read 44.7 actions/s twelve seconds after its last action).
            let base = match m.running_since {
                Some(_) => m.recent.front(),
                None => (m.recent.iter().rev())
                    .find(|(t, _)| now.saturating_duration_since(*t) >= RECENT)
                    .or(m.recent.front()),
            };
            s.recent_actions_per_second = match base {
                Some((t0, n0)) if now.duration_since(*t0) >= MIN_SPAN => {
                    (s.actions_total - n0) as f64 / now.duration_since(*t0).as_secs_f64()
                }
                _ => 0.0,
            };
            s.write_share = per(s.writes, s.writes + s.reads);
            let r = &mut s.recommendations;
            r.source = source.to_string();
            r.click_through_rate = per(r.clicks, r.requests);
            r.conversion_rate = per(r.conversions, r.requests);
            s.events_generated = s.actions_total;
            s.bookings_created = s.bookings.confirmed;
            s.invites_sent = s.social.invitations_sent;
            s
        })
    }
}

impl MetricsSnapshot {
    fn hourly_mut(&mut self) -> &mut Vec<HourMetrics> {
        if self.hourly.len() != 24 {
            self.hourly = (0..24).map(|h| HourMetrics { hour: h, ..HourMetrics::default() }).collect();
        }
        &mut self.hourly
    }
}

/// The per-kind counters (bookings, recommendations, social) of one outcome.
fn count_kind(s: &mut MetricsSnapshot, action: &Action, outcome: &Outcome, hour: usize) {
    let done = matches!(outcome, Outcome::Done { .. });
    let skipped = matches!(outcome, Outcome::Unavailable);
    let refused = matches!(outcome, Outcome::Refused { .. });
    let (b, r, so) = (&mut s.bookings, &mut s.recommendations, &mut s.social);
    let h = &mut s.hourly[hour % 24];
    match action {
        Action::Book { .. } => {
            b.attempted += 1;
            h.booking_attempts += 1;
            h.bookings_confirmed += u64::from(done);
            if done {
                b.confirmed += 1
            } else if skipped {
                b.skipped_unavailable += 1
            } else if refused {
                b.refused += 1;
                b.refused_full += u64::from(matches!(outcome, Outcome::Refused { full: true, .. }));
            } else {
                b.failed += 1
            }
        }
        Action::Cancel { .. } => b.cancelled += u64::from(done),
        Action::NoShow { .. } => b.no_shows += u64::from(done),
        Action::Attend { .. } => b.attended += u64::from(done),
        Action::AskRecommendations { .. } => {
            r.requests += u64::from(done);
            h.recommendation_requests += 1;
        }
        Action::ClickRecommendation { .. } => r.clicks += u64::from(done),
        Action::IgnoreRecommendations { .. } => r.ignored += 1,
        Action::SendFriendRequest { .. } => {
            so.friend_requests_sent += u64::from(done);
            so.friend_requests_crossed += u64::from(refused);
            h.friend_requests += 1;
        }
        Action::AnswerFriendRequest { accept, .. } if done => {
            if *accept {
                so.friend_requests_accepted += 1
            } else {
                so.friend_requests_declined += 1
            }
        }
        Action::ExpressInterest { .. } => so.interests_expressed += u64::from(done),
        Action::CreatePlan { invitees, .. } => {
            let n = invitees.len() as u64;
            so.plans_attempted += 1;
            so.invitations_attempted += n;
            h.invitations_attempted += n;
            if done {
                so.plans_created += 1;
                so.invitations_sent += n;
            }
        }
        Action::AnswerInvitation { accept, .. } if done => {
            if *accept {
                so.invitations_accepted += 1
            } else {
                so.invitations_declined += 1
            }
        }
        // Only a full plan's refusal: an acceptance refused once the plan's time had come is not.
        Action::AnswerInvitation { .. } => {
            so.invitations_refused_full += u64::from(matches!(outcome, Outcome::Refused { full: true, .. }))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::action::Handle;

    #[test]
    fn only_a_full_plans_refusal_counts_as_an_invitation_refused_full() {
        let metrics = Metrics::default();
        let answer = Action::AnswerInvitation { plan: Handle { owner: 0, seq: 0 }, accept: true, plan_id: None };
        let full = Outcome::Refused { full: true, message: "the plan is full".into() };
        let late = Outcome::Refused { full: false, message: "the plan's time has come".into() };
        metrics.record(&answer, &full, 20, false);
        metrics.record(&answer, &late, 20, false);
        let social = metrics.snapshot("default").social;
        assert_eq!((social.invitations_refused_full, social.invitations_accepted), (1, 0));
    }

    fn act(metrics: &Metrics, n: usize) {
        let answer = Action::AnswerInvitation { plan: Handle { owner: 0, seq: 0 }, accept: true, plan_id: None };
        for _ in 0..n {
            metrics.record(&answer, &Outcome::Done { write: true }, 20, false);
        }
    }

    #[test]
    fn the_recent_rate_spreads_a_ticks_burst_over_the_wait_after_it() {
        // At 5x a simulated minute is 12 s: the first tick's 15 actions took 31 ms of work, then
        // nothing until the next tick.
        let metrics = Metrics::default();
        let start = Instant::now();
        let ms = |ms: u64| start + Duration::from_millis(ms);
        // As the runner does: a stretch of running begins before each tick's wait and work.
        metrics.running_from(start);
        act(&metrics, 15);
        metrics.add_wall_at(Duration::from_millis(31), ms(31));
        metrics.running_from(ms(31));
        let at = |t: u64| metrics.snapshot_at("default", ms(t)).recent_actions_per_second;
        assert_eq!(at(100), 0.0, "no rate from the first moments");
        assert!((at(1_500) - 10.0).abs() < 1e-9, "15 actions in 1.5 s: {}", at(1_500));
        assert!((at(12_000) - 1.25).abs() < 1e-9, "15 actions in 12 s: {}", at(12_000));
        // Each later tick counts from the count before the window: 15 more actions over 12 s.
        act(&metrics, 15);
        metrics.add_wall_at(Duration::from_secs(12), ms(12_031));
        metrics.running_from(ms(12_031));
        act(&metrics, 15);
        metrics.add_wall_at(Duration::from_secs(12), ms(24_031));
        // Then the run is paused (or stopped): no stretch begins.
        assert!((at(24_031) - 1.25).abs() < 1e-9, "15 actions between the last two ticks: {}", at(24_031));
        // Its rate falls as time passes without actions, and ten seconds of none read 0.
        assert!((at(30_031) - 15.0 / 18.0).abs() < 1e-9, "{}", at(30_031));
        assert_eq!(at(34_031), 0.0, "ten seconds without actions");
        assert_eq!(at(60_000), 0.0);
    }

    #[test]
    fn the_all_time_rate_counts_the_wait_after_the_first_tick() {
        // At 5x: the first tick's 15 actions in 31 ms of work, then 12 s of waiting for the next.
        let metrics = Metrics::default();
        let start = Instant::now();
        metrics.running_from(start);
        act(&metrics, 15);
        metrics.add_wall_at(Duration::from_millis(31), start + Duration::from_millis(31));
        let second = start + Duration::from_millis(32);
        metrics.running_from(second);
        let s = metrics.snapshot_at("default", start + Duration::from_millis(1_532));
        assert!((s.wall_seconds - 1.531).abs() < 1e-9, "{}", s.wall_seconds);
        assert!((s.actions_per_second - 15.0 / 1.531).abs() < 1e-9, "not 15 in 31 ms: {}", s.actions_per_second);
        // The second tick ends the stretch: its time is in the total once, not twice.
        metrics.add_wall_at(Duration::from_secs(12), second + Duration::from_secs(12));
        let s = metrics.snapshot_at("default", second + Duration::from_secs(20));
        assert!((s.wall_seconds - 12.031).abs() < 1e-9, "a paused run's time is not run time: {}", s.wall_seconds);
    }

    #[test]
    fn the_recent_rate_at_full_speed_is_over_the_last_ten_seconds() {
        let metrics = Metrics::default();
        let start = Instant::now();
        // A tick of 100 actions every 100 ms for 30 s: 1000 actions a second.
        for i in 1..=300u64 {
            act(&metrics, 100);
            metrics.add_wall_at(Duration::from_millis(100), start + Duration::from_millis(100 * i));
        }
        let rate = metrics.snapshot_at("default", start + Duration::from_secs(30)).recent_actions_per_second;
        assert!((rate - 1000.0).abs() < 1e-6, "{rate}");
    }
}
