//! The simulator, end to end on a small seeded city, run headless at `max` speed:
//! the same seed gives the same actions, each scenario's signature shows in the metrics
//! against a normal day over the same simulated hours, and a run without a duration stops at
//! the booking horizon, and a stop whose announcement hangs on the bus holds up no other control
//! call.

use std::sync::Arc;
use std::time::Duration;

use app::App;
use app::VenueSearch;
use app::seed::SeedOptions;
use app::sim::{MetricsSnapshot, RunOptions, ScenarioId, SimStatus, Simulator, Speed};
use async_trait::async_trait;
use bus::{BusResult, DynBus, Publish};
use chrono::{Datelike, TimeZone, Utc};
use domain::user::UserInput;
use domain::venue::VenuePatchInput;
use domain::{Channel, Event, PageRequest};
use serde_json::json;
use testdb::{Backend, TestDatabase};

use crate::{Tap, TestBus, configured, fresh_app};

crate::on_every_backend!(
    two_runs_with_the_same_seed_take_the_same_actions,
    the_simulators_actions_are_ordinary_writes_through_the_services,
    a_lunch_rush_books_more_in_the_lunch_window_than_a_normal_day,
    a_friday_night_brings_more_invitations_and_friend_activity_than_a_normal_day,
    a_weekend_brunch_forms_bigger_groups_than_a_normal_day,
    a_concert_night_pulls_demand_toward_the_venues_around_the_event,
    refused_users_often_try_an_alternative_the_refusal_proposed_and_the_same_seed_tries_the_same,
    requests_pending_before_a_run_are_answered_and_never_asked_again,
    a_run_without_a_duration_stops_itself_at_the_booking_horizon_as_a_stop_does_saying_why,
    a_stop_whose_announcement_hangs_on_the_bus_holds_up_no_other_control_call,
    a_resume_sent_while_a_pause_waits_for_the_tick_comes_after_it_on_the_bus_too,
    a_reset_right_after_a_stop_leaves_the_stops_announcement_on_the_bus,
    a_stop_sent_while_a_start_is_announced_stops_that_run_after_its_announcement,
    a_reset_sent_while_a_speed_change_is_announced_comes_after_it_on_the_bus,
    a_stop_sent_while_a_speed_change_is_announced_is_announced_after_it,
    a_scenario_triggered_while_a_tick_runs_stays_the_runs_scenario_when_the_tick_ends,
    a_start_that_waited_for_a_data_reset_made_here_is_not_stopped_by_its_event,
    a_reset_stamped_by_a_clock_running_ahead_does_not_hide_the_resets_after_it,
    users_deleted_during_a_run_leave_it_and_fail_none_of_its_actions,
);

/// A fresh database of `backend` (one that is [`configured`]) with a seeded city of `users`
/// users and `users / 2` venues.
async fn seeded_app(backend: Backend, users: usize) -> (TestDatabase, App) {
    let (db, app) = fresh_app(backend).await.expect("a configured backend");
    seed_city(&app, users).await;
    (db, app)
}

/// Seeds a city of `users` users and `users / 2` venues into `app`'s empty database.
async fn seed_city(app: &App, users: usize) {
    // The history ends at a pinned instant, not the wall clock's hour; runs below that give a
    // start start there, the others at the current hour (the app's settings pin no anchor).
    let as_of = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).single();
    let opts = SeedOptions { users, venues: users / 2, seed: 11, as_of, ..SeedOptions::default() };
    // Seeding builds the engine; no follower keeps it fresh during the run here, so every run
    // of a test asks the same engine and gets the same recommendations.
    assert!(app.seed_demo(opts).await.expect("seed").seeded);
}

/// What a finished run left: its metrics, hash and log.
struct Outcome {
    metrics: MetricsSnapshot,
    hash: String,
    log: Vec<String>,
}

/// Runs `scenario` on a fresh city from `start` (UTC) for `hours` simulated hours.
async fn run(backend: Backend, scenario: ScenarioId, seed: u64, start: (u32, u32, u32), hours: i64) -> Outcome {
    let (_db, app) = seeded_app(backend, 100).await;
    run_on(&app, scenario, seed, start, hours).await
}

/// Runs `scenario` on `app`'s city (100 users) from `start` (UTC) for `hours` simulated hours.
async fn run_on(app: &App, scenario: ScenarioId, seed: u64, start: (u32, u32, u32), hours: i64) -> Outcome {
    let sim = Simulator::new(app.clone());
    let opts = RunOptions {
        scenario,
        speed: Speed::Max,
        users: 100,
        seed,
        duration: Some(chrono::Duration::hours(hours)),
        start_at: Utc.with_ymd_and_hms(2026, 11, start.0, start.1, start.2, 0).single(),
        keep_log: 100_000,
        ..RunOptions::default()
    };
    sim.start(opts, None).await.expect("start");
    let state = tokio::time::timeout(std::time::Duration::from_secs(120), sim.wait()).await.expect("run in time");
    assert_eq!(state.status, SimStatus::Finished);
    assert_eq!(state.ticks, hours as u64 * 60);
    let metrics = sim.metrics().await;
    assert_eq!(metrics.failures.total, 0, "{:?}", metrics.failures);
    Outcome { metrics, hash: state.action_log_hash.expect("hash"), log: sim.log_lines().await }
}

/// Monday 2026-11-23 10:00 in New York, in UTC.
const MONDAY_10AM: (u32, u32, u32) = (23, 15, 0);
/// Friday 2026-11-20 18:00 in New York, in UTC.
const FRIDAY_6PM: (u32, u32, u32) = (20, 23, 0);
/// Saturday 2026-11-21 09:00 in New York, in UTC.
const SATURDAY_9AM: (u32, u32, u32) = (21, 14, 0);

async fn two_runs_with_the_same_seed_take_the_same_actions(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let a = run(backend, ScenarioId::FridayNight, 7, FRIDAY_6PM, 3).await;
    let b = run(backend, ScenarioId::FridayNight, 7, FRIDAY_6PM, 3).await;
    assert!(a.log.len() > 100, "too few actions to prove anything: {}", a.log.len());
    assert_eq!(a.log, b.log);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.metrics.by_type, b.metrics.by_type);
    let c = run(backend, ScenarioId::FridayNight, 8, FRIDAY_6PM, 3).await;
    assert_ne!(a.hash, c.hash);
}

async fn the_simulators_actions_are_ordinary_writes_through_the_services(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 60).await;
    // Someone who signed up through the API (no persona): never acted for.
    let input = UserInput {
        handle: "real_person".into(),
        name: "Real Person".into(),
        home_lat: Some(40.7306),
        home_lng: Some(-73.9352),
        ..UserInput::default()
    };
    let real = app.create_user(input).await.expect("real user");
    let before = app.store.counts().await.expect("counts");
    let sim = Simulator::new(app.clone());
    // From the next Friday evening in New York (23:00 UTC), not from now: started late at night
    // (as CI at 04:00 UTC), two simulated hours found every venue closing and refused all the
    // bookings. A time ahead, so the bookings are in the future as the service requires.
    let now = Utc::now();
    let friday = (1..=7)
        .map(|d| now.date_naive() + chrono::Days::new(d))
        .find(|d| d.weekday() == chrono::Weekday::Fri)
        .expect("a Friday within a week");
    let opts = RunOptions {
        speed: Speed::Max,
        users: 100,
        duration: Some(chrono::Duration::hours(2)),
        start_at: Some(friday.and_hms_opt(23, 0, 0).expect("a time").and_utc()),
        ..RunOptions::default()
    };
    sim.start(opts, None).await.expect("start");
    sim.wait().await;
    assert_eq!(sim.state().await.active_users, 60, "the generated users only");
    let m = sim.metrics().await;
    let after = app.store.counts().await.expect("counts");
    let touched = app.store.list_user_interactions(real.id, PageRequest { limit: 10, after: None }).await;
    assert!(touched.expect("interactions").items.is_empty());
    // Attending a booking completes it and logs a visit.
    let logged: u64 = ["view", "like", "save", "visit", "interest", "search", "click_recommendation"]
        .iter()
        .filter_map(|k| m.by_type.get(*k))
        .sum::<u64>()
        + m.bookings.attended;
    assert_eq!(after.interactions - before.interactions, logged);
    // Plans and bookings are real rows too, one per successful action.
    assert_eq!(after.plans - before.plans, m.social.plans_created);
    assert_eq!(after.bookings - before.bookings, m.bookings.confirmed);
    assert!(m.bookings.confirmed > 0 && m.social.plans_created > 0, "{:?} {:?}", m.bookings, m.social);
    assert_eq!(m.bookings.confirmed + m.bookings.refused + m.bookings.failed, m.bookings.attempted);
    assert!(m.bookings.alternatives_tried <= m.bookings.refused_full, "{:?}", m.bookings);
    assert!(m.bookings.refused_full <= m.bookings.refused, "{:?}", m.bookings);
    assert!(m.writes > 0 && m.reads > 0, "{m:?}");
    let r = &m.recommendations;
    assert_eq!(r.source, "default");
    assert!(r.requests > 0 && r.shown > 0, "the engine answered: {r:?}");
    // Every write recorded its event in the outbox; the run's `simulation.finished`, itself
    // relayed from the outbox at once, took them to the bus before it (no relay runs here).
    let written = app.bus.history(Channel::UserActions, 1000, None).await.expect("history");
    assert!(!written.is_empty(), "the run's interactions are on the bus");
    assert!(written.iter().all(|e| e.source_id.is_some()), "each from an outbox row");
    assert_eq!(after.outbox_pending, 0, "nothing recorded before the announcement is left behind");
}

/// Booking attempts in local hours `hours`, or confirmed bookings once the booking service
/// exists (nothing skipped as unavailable).
fn bookings_in(m: &MetricsSnapshot, hours: std::ops::RangeInclusive<usize>) -> u64 {
    let confirmed = m.bookings.skipped_unavailable == 0 && m.bookings.attempted > 0;
    hours.map(|h| if confirmed { m.hourly[h].bookings_confirmed } else { m.hourly[h].booking_attempts }).sum()
}

async fn a_lunch_rush_books_more_in_the_lunch_window_than_a_normal_day(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let normal = run(backend, ScenarioId::Normal, 3, MONDAY_10AM, 4).await.metrics;
    let rush = run(backend, ScenarioId::LunchRush, 3, MONDAY_10AM, 4).await.metrics;
    let (n, r) = (bookings_in(&normal, 11..=13), bookings_in(&rush, 11..=13));
    assert!(r >= 10 && r >= 2 * n, "lunch rush {r} vs normal {n} bookings in 11:00-13:59");
}

/// People invited to plans (sent once plans exist) plus friend requests.
fn social(m: &MetricsSnapshot) -> u64 {
    let invited = if m.skipped_unavailable.contains_key("create_plan") {
        m.social.invitations_attempted
    } else {
        m.social.invitations_sent
    };
    invited + m.hourly.iter().map(|h| h.friend_requests).sum::<u64>()
}

async fn a_friday_night_brings_more_invitations_and_friend_activity_than_a_normal_day(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let normal = run(backend, ScenarioId::Normal, 5, FRIDAY_6PM, 4).await.metrics;
    let friday = run(backend, ScenarioId::FridayNight, 5, FRIDAY_6PM, 4).await.metrics;
    let (n, f) = (social(&normal), social(&friday));
    assert!(f >= 10 && f * 10 >= n * 25, "friday night {f} vs normal {n}");
}

async fn a_weekend_brunch_forms_bigger_groups_than_a_normal_day(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let normal = run(backend, ScenarioId::Normal, 9, SATURDAY_9AM, 4).await.metrics;
    let brunch = run(backend, ScenarioId::WeekendBrunch, 9, SATURDAY_9AM, 4).await.metrics;
    let per_plan = |m: &MetricsSnapshot| m.social.invitations_attempted as f64 / m.social.plans_attempted.max(1) as f64;
    assert!(brunch.social.plans_attempted > normal.social.plans_attempted);
    assert!(per_plan(&brunch) > per_plan(&normal), "{} vs {}", per_plan(&brunch), per_plan(&normal));
}

async fn a_concert_night_pulls_demand_toward_the_venues_around_the_event(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let share = |m: &MetricsSnapshot| m.near_event_actions as f64 / m.venue_actions.max(1) as f64;
    let normal = run(backend, ScenarioId::Normal, 4, FRIDAY_6PM, 3).await.metrics;
    let concert = run(backend, ScenarioId::ConcertNight, 4, FRIDAY_6PM, 3).await.metrics;
    assert!(share(&concert) > 2.0 * share(&normal), "{} vs {}", share(&concert), share(&normal));
}

/// Every venue of `app`'s city made to seat `capacity`.
async fn shrink_venues(app: &App, capacity: i32) {
    let page =
        app.search_venues(VenueSearch::default(), PageRequest { limit: 100, after: None }).await.expect("venues");
    assert_eq!(page.items.len(), 50);
    for v in page.items {
        let patch = VenuePatchInput { capacity: Some(capacity), ..VenuePatchInput::default() };
        app.update_venue(v.id, patch).await.expect("shrink venue");
    }
}

async fn refused_users_often_try_an_alternative_the_refusal_proposed_and_the_same_seed_tries_the_same(
    backend: Backend,
) {
    if !configured(backend) {
        return;
    }
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (_db, app) = seeded_app(backend, 100).await;
        shrink_venues(&app, 6).await;
        let before = app.store.counts().await.expect("counts").bookings;
        let run = run_on(&app, ScenarioId::LunchRush, 3, MONDAY_10AM, 4).await;
        let b = &run.metrics.bookings;
        assert!(b.refused >= 10, "too few refusals to prove anything: {b:?}");
        // Tries are attempts of their own, each logged as a `book` line and, once confirmed, a
        // booking row like any other.
        assert!(b.refused_full > 0 && b.refused_full < b.refused, "some venues were closed then: {b:?}");
        assert!(b.alternatives_tried > 0 && b.alternatives_tried <= b.refused_full, "{b:?}");
        assert!(b.alternatives_confirmed > 0 && b.alternatives_confirmed <= b.alternatives_tried, "{b:?}");
        let book_lines = run.log.iter().filter(|l| l.split(' ').nth(2) == Some("book")).count();
        assert_eq!(book_lines as u64, b.attempted);
        assert_eq!(app.store.counts().await.expect("counts").bookings - before, b.confirmed);
        runs.push(run);
    }
    assert_eq!(runs[0].log, runs[1].log);
    assert_eq!(runs[0].metrics.bookings, runs[1].metrics.bookings);
}

async fn requests_pending_before_a_run_are_answered_and_never_asked_again(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 100).await;
    // Every friend of a friend already has a request pending with them (as an earlier run or the
    // API could have left): the only people the simulator would ask.
    let mut friends: std::collections::HashMap<domain::UserId, Vec<domain::UserId>> = Default::default();
    for e in app.store.scan_edges(None, 100_000).await.expect("edges") {
        if matches!(e.relationship_type, domain::RelationshipType::Friend | domain::RelationshipType::Mutual) {
            friends.entry(e.user_id).or_default().push(e.other_user_id);
            friends.entry(e.other_user_id).or_default().push(e.user_id);
        }
    }
    let mut sent = 0;
    for (&u, mine) in &friends {
        for via in mine {
            for &c in friends.get(via).into_iter().flatten() {
                if c != u && !mine.contains(&c) && app.send_friend_request(u, c).await.is_ok() {
                    sent += 1;
                }
            }
        }
    }
    assert!(sent > 50, "too few pending requests to prove anything: {sent}");
    // Before, the run asked again (a failure each) and never answered them.
    let run = run_on(&app, ScenarioId::FridayNight, 4, FRIDAY_6PM, 6).await;
    let so = &run.metrics.social;
    assert_eq!((so.friend_requests_sent, so.friend_requests_crossed), (0, 0), "{so:?}");
    assert!(so.friend_requests_accepted + so.friend_requests_declined > 0, "{so:?}");
}

async fn a_run_without_a_duration_stops_itself_at_the_booking_horizon_as_a_stop_does_saying_why(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 60).await;
    let sim = Simulator::new(app.clone());
    // No duration, 30 simulated minutes before the horizon (366 days from now): before, the
    // clock went on past it and the users planned and booked what no request may.
    let last = app::sim::horizon(app.now());
    let start_at = Some(last - chrono::Duration::minutes(30));
    let opts = RunOptions { speed: Speed::Max, users: 60, seed: 3, start_at, ..RunOptions::default() };
    sim.start(opts, None).await.expect("start");
    let within = std::time::Duration::from_secs(60);
    let state = tokio::time::timeout(within, sim.wait()).await.expect("the run stops itself at the horizon");
    assert_eq!((state.status, state.ticks), (SimStatus::Stopped, 30));
    assert!(state.simulation_time.expect("a clock") <= last, "{:?} is past {last}", state.simulation_time);
    let json = serde_json::to_value(&state).expect("state as JSON");
    assert_eq!(json["stop_reason"], "booking_horizon", "{json}");
    // Announced once, as a stop is, with the run's final state (on the bus before the state
    // read `stopped`).
    let events = app.bus.history(domain::Channel::Simulation, 100, None).await.expect("history");
    let stopped: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.event_type == "simulation.stopped")
        .map(|e| serde_json::from_str(e.data.get()).expect("JSON data"))
        .collect();
    assert_eq!(stopped.len(), 1, "{events:?}");
    assert_eq!((&stopped[0]["stop_reason"], &stopped[0]["ticks"]), (&json!("booking_horizon"), &json!(30)));
    assert!(!events.iter().any(|e| e.event_type == "simulation.finished"), "it did not reach a duration");
    // Its state and metrics stay readable as a stopped run's; nothing runs any more.
    assert!(sim.metrics().await.wall_seconds > 0.0, "the run's metrics, not an idle simulator's");
    assert!(sim.stop().await.is_err(), "a stopped run cannot be stopped again");
    assert_eq!(sim.state().await.ticks, 30);
}

/// A tap whose publishes of one event type wait, while it is held, until the test lets them
/// go: a Redis that does not answer until its timeout, for as long as the test likes.
struct Held {
    event_type: &'static str,
    held: tokio::sync::watch::Sender<bool>,
    /// Publishes of `event_type` that have come to the bus, held or not.
    came: tokio::sync::watch::Sender<usize>,
}

impl Held {
    fn new(event_type: &'static str) -> Self {
        Self { event_type, held: tokio::sync::watch::channel(false).0, came: tokio::sync::watch::channel(0).0 }
    }

    fn hold(&self, held: bool) {
        self.held.send_replace(held);
    }

    /// Waits (10 s at most) until `n` publishes of the held type have come to the bus.
    async fn came(&self, n: usize) {
        let mut came = self.came.subscribe();
        let came = tokio::time::timeout(Duration::from_secs(10), came.wait_for(|&c| c >= n)).await;
        assert!(came.is_ok(), "{} number {n} never came to the bus", self.event_type);
    }
}

#[async_trait]
impl Tap for Held {
    async fn publish(&self, inner: &DynBus, event: Publish) -> BusResult<Arc<Event>> {
        if event.event_type == self.event_type {
            let mut held = self.held.subscribe();
            self.came.send_modify(|c| *c += 1);
            let _ = held.wait_for(|&h| !h).await;
        }
        inner.publish(event).await
    }
}

/// A simulator over a seeded city of 40 users on `backend`, whose bus holds `event_type` while
/// told to; the options of a run of them at 1x, where a tick takes a wall minute (the run waits
/// between ticks, where a stop wakes it); and the test database, kept while the test runs.
struct HeldSim {
    _db: TestDatabase,
    app: App,
    held: Arc<TestBus<Held>>,
    sim: Arc<Simulator>,
    opts: RunOptions,
}

async fn held_sim(backend: Backend, event_type: &'static str) -> Option<HeldSim> {
    let db = TestDatabase::create(backend).await?;
    let store = store::connect(&db.url).await.expect("connect the test database");
    let held = Arc::new(TestBus::new(Held::new(event_type)));
    let app = App::with_bus(store, held.clone(), app::AppSettings::default());
    seed_city(&app, 40).await;
    let sim = Arc::new(Simulator::new(app.clone()));
    let opts = RunOptions { speed: Speed::Times(1.0), users: 40, seed: 5, ..RunOptions::default() };
    Some(HeldSim { _db: db, app, held, sim, opts })
}

/// The simulation channel's event types, oldest first.
async fn simulation_events(app: &App) -> Vec<String> {
    let events = app.bus.history(Channel::Simulation, 100, None).await.expect("history");
    events.into_iter().map(|e| e.event_type).collect()
}

/// Before, a stop (and a data reset's stop) held the controller's lock until the run's task had
/// published `simulation.stopped`, so with a bus that hangs every control call waited for it:
/// here a speed change and a pause answer (a conflict: the run is stopping) within 5 s while
/// the announcement is held indefinitely, and so do the state and metrics. Once it is let go,
/// the stop answers as ever: one `simulation.stopped` with its reason, after the run's start
/// and before the next run's (a start sent meanwhile waits for it), and a second stop is a
/// conflict.
async fn a_stop_whose_announcement_hangs_on_the_bus_holds_up_no_other_control_call(backend: Backend) {
    let Some(HeldSim { _db, app, held, sim, opts }) = held_sim(backend, "simulation.stopped").await else { return };
    sim.start(opts.clone(), None).await.expect("start");
    let within = Duration::from_secs(5);

    for (n, reason) in [(1, "requested"), (2, "data_reset")] {
        held.hold(true);
        let stopping = {
            let sim = Arc::clone(&sim);
            tokio::spawn(async move {
                if n == 1 {
                    sim.stop().await.expect("stop")
                } else {
                    sim.while_stopped(async { sim.state().await }).await
                }
            })
        };
        held.came(n).await;
        // The announcement hangs: every other call answers meanwhile.
        let speed = tokio::time::timeout(within, sim.set_speed(Speed::Times(5.0))).await;
        let err = speed.expect("a speed change answers while the stop's announcement hangs").unwrap_err();
        assert!(err.to_string().contains("stopping"), "{err}");
        let pause = tokio::time::timeout(within, sim.pause()).await.expect("a pause answers meanwhile");
        assert!(pause.is_err(), "a run being stopped is not paused");
        let state = tokio::time::timeout(within, sim.state()).await.expect("the state answers meanwhile");
        assert_eq!(state.status, SimStatus::Running, "it reads stopped only once its stop is on the bus");
        tokio::time::timeout(within, sim.metrics()).await.expect("the metrics answer meanwhile");
        assert!(!stopping.is_finished(), "the stop answers once its announcement is on the bus");
        // A start sent meanwhile waits for the stop's end, so its start comes after the stop.
        let starting = {
            let (sim, opts) = (Arc::clone(&sim), opts.clone());
            tokio::spawn(async move { sim.start(opts, None).await })
        };
        held.hold(false);
        let stopped = tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the stop ends").unwrap();
        assert_eq!(stopped.status, SimStatus::Stopped);
        let json = serde_json::to_value(&stopped).expect("state as JSON");
        assert_eq!(json["stop_reason"], reason, "{json}");
        let started = tokio::time::timeout(Duration::from_secs(10), starting).await.expect("the start ends");
        assert_eq!(started.unwrap().expect("a start after a stop").status, SimStatus::Running);
        let events = simulation_events(&app).await;
        assert_eq!(events.iter().filter(|e| *e == "simulation.stopped").count(), n, "{events:?}");
        assert!(!events.iter().any(|e| e == "simulation.speed_changed" || e == "simulation.paused"), "{events:?}");
        let last = &events[events.len() - 3..];
        assert_eq!(last, ["simulation.started", "simulation.stopped", "simulation.started"], "{events:?}");
    }
    // The run started last is stopped as ever; a second stop is a conflict that changes nothing.
    assert_eq!(sim.stop().await.expect("stop").status, SimStatus::Stopped);
    assert!(sim.stop().await.is_err(), "a stopped run cannot be stopped again");
    let events = simulation_events(&app).await;
    assert_eq!(events.iter().filter(|e| *e == "simulation.stopped").count(), 3, "{events:?}");
}

/// A seeded city of 40 users with a run going at 1x (a tick takes a wall minute: the runner
/// waits between ticks, not parked, until a control change wakes it).
async fn a_run_at_1x(backend: Backend) -> Option<(TestDatabase, App, Simulator)> {
    if !configured(backend) {
        return None;
    }
    let (db, app) = seeded_app(backend, 40).await;
    let sim = Simulator::new(app.clone());
    let opts = RunOptions { speed: Speed::Times(1.0), users: 40, seed: 5, ..RunOptions::default() };
    sim.start(opts, None).await.expect("start");
    Some((db, app, sim))
}

/// Before, a pause waited for the runner to park holding nothing, so a resume sent meanwhile
/// answered at once and announced `simulation.resumed`; the runner, resumed, never parked, the
/// pause waited out its 10 s and then announced `simulation.paused` (and answered `paused:
/// false`): the last event said paused while the run went on. Here both are sent together (the
/// pause polled first) and the resume waits for the pause's announcement.
async fn a_resume_sent_while_a_pause_waits_for_the_tick_comes_after_it_on_the_bus_too(backend: Backend) {
    let Some((_db, app, sim)) = a_run_at_1x(backend).await else { return };
    let both = async { tokio::join!(sim.pause(), sim.resume()) };
    // Only a failure detector: the pause waited 10 s before.
    let (paused, resumed) = tokio::time::timeout(Duration::from_secs(8), both).await.expect("pause and resume answer");
    let (paused, resumed) = (paused.expect("pause"), resumed.expect("resume"));
    assert!(paused.paused && !resumed.paused, "{paused:?} {resumed:?}");
    let events = simulation_events(&app).await;
    assert_eq!(events, ["simulation.started", "simulation.paused", "simulation.resumed"]);
    let state = sim.state().await;
    assert!(state.running && !state.paused, "{state:?}");
    assert_eq!(sim.stop().await.expect("stop").status, SimStatus::Stopped);
}

/// Before, a reset that came while a stop waited for the run's end silenced the stop's
/// announcement: the stop answered `stopped` but no `simulation.stopped` was ever published.
/// Here the reset comes right after the stop, before the run has ended: the stop is announced
/// (once, with its reason), and the reset after it.
async fn a_reset_right_after_a_stop_leaves_the_stops_announcement_on_the_bus(backend: Backend) {
    let Some((_db, app, sim)) = a_run_at_1x(backend).await else { return };
    let both = async { tokio::join!(sim.stop(), sim.reset()) };
    let (stopped, reset) = tokio::time::timeout(Duration::from_secs(10), both).await.expect("stop and reset answer");
    assert_eq!(stopped.expect("stop").status, SimStatus::Stopped);
    assert_eq!(reset.expect("reset").status, SimStatus::Idle);
    let events = app.bus.history(Channel::Simulation, 100, None).await.expect("history");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["simulation.started", "simulation.stopped", "simulation.reset"]);
    let data: serde_json::Value = serde_json::from_str(events[1].data.get()).expect("JSON data");
    assert_eq!(data["stop_reason"], "requested", "{data}");
    // A reset alone stays quiet, as ever.
    let opts = RunOptions { speed: Speed::Times(1.0), users: 40, ..RunOptions::default() };
    sim.start(opts, None).await.expect("start");
    sim.reset().await.expect("reset");
    let types = simulation_events(&app).await;
    assert_eq!(types[3..], ["simulation.started", "simulation.reset"], "{types:?}");
}

/// Before, a start put its run where a stop looks for it only after announcing it, so while
/// `simulation.started` hung on the bus the state read running but a stop answered 409 "no
/// simulation is running". Here the stop sent meanwhile stops that run, and its
/// `simulation.stopped` comes after the start's announcement.
async fn a_stop_sent_while_a_start_is_announced_stops_that_run_after_its_announcement(backend: Backend) {
    let Some(HeldSim { _db, app, held, sim, opts }) = held_sim(backend, "simulation.started").await else { return };
    held.hold(true);
    let starting = {
        let sim = Arc::clone(&sim);
        tokio::spawn(async move { sim.start(opts, None).await })
    };
    held.came(1).await;
    assert_eq!(sim.state().await.status, SimStatus::Running);
    let stopping = {
        let sim = Arc::clone(&sim);
        tokio::spawn(async move { sim.stop().await })
    };
    held.hold(false);
    let within = Duration::from_secs(10);
    let started = tokio::time::timeout(within, starting).await.expect("the start ends").unwrap();
    assert_eq!(started.expect("start").status, SimStatus::Running);
    let stopped = tokio::time::timeout(within, stopping).await.expect("the stop ends").unwrap();
    let json = serde_json::to_value(stopped.expect("a stop of the run being announced")).expect("state as JSON");
    assert_eq!((&json["status"], &json["stop_reason"]), (&json!("stopped"), &json!("requested")), "{json}");
    assert_eq!(simulation_events(&app).await, ["simulation.started", "simulation.stopped"]);
}

/// Sends a speed change to the run of `sim` (started here at 1x), whose bus `held` holds its
/// announcement, and, once that is held, `then` (a reset, a stop); lets the announcement go once
/// `then` has had 3 s to end on its own. Answers what `then` answered; the change succeeds.
async fn while_a_speed_change_is_announced<T, F>(
    sim: &Arc<Simulator>,
    held: &TestBus<Held>,
    opts: RunOptions,
    then: impl FnOnce(Arc<Simulator>) -> F,
) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    sim.start(opts, None).await.expect("start");
    held.hold(true);
    let changing = {
        let sim = Arc::clone(sim);
        tokio::spawn(async move { sim.set_speed(Speed::Times(5.0)).await })
    };
    held.came(1).await;
    let mut then = tokio::spawn(then(Arc::clone(sim)));
    // Without the turn, `then` ends (and is announced) meanwhile; with it, it cannot.
    let early = tokio::time::timeout(Duration::from_secs(3), &mut then).await;
    held.hold(false);
    let within = Duration::from_secs(10);
    let answered = match early {
        Ok(done) => done,
        Err(_) => tokio::time::timeout(within, then).await.expect("it ends once the change is announced"),
    };
    let changed = tokio::time::timeout(within, changing).await.expect("the change ends").unwrap();
    changed.expect("the speed change of the running run");
    answered.unwrap()
}

/// Before, a reset did not wait for a change being announced, so with that announcement slow
/// the bus read `simulation.reset` and then `simulation.speed_changed`, as if a speed change had
/// come to a reset simulator. Here the reset waits for the held announcement and comes after it.
async fn a_reset_sent_while_a_speed_change_is_announced_comes_after_it_on_the_bus(backend: Backend) {
    let Some(HeldSim { _db, app, held, sim, opts }) = held_sim(backend, "simulation.speed_changed").await else {
        return;
    };
    let reset = while_a_speed_change_is_announced(&sim, &held, opts, |sim| async move { sim.reset().await }).await;
    reset.expect("reset");
    assert_eq!(simulation_events(&app).await, ["simulation.started", "simulation.speed_changed", "simulation.reset"]);
}

/// Before, a stop took no turn with the changes: a speed change whose announcement was slow to
/// reach the bus came after `simulation.stopped`, and read as a change of a run that was over.
/// Here the stop is sent while the change's announcement is held: the stop waits for it, and
/// the bus has the change, then the stop. A change that comes once the run has ended is a
/// conflict, announced nowhere.
async fn a_stop_sent_while_a_speed_change_is_announced_is_announced_after_it(backend: Backend) {
    let Some(HeldSim { _db, app, held, sim, opts }) = held_sim(backend, "simulation.speed_changed").await else {
        return;
    };
    let stopped = while_a_speed_change_is_announced(&sim, &held, opts, |sim| async move { sim.stop().await }).await;
    assert_eq!(stopped.expect("stop").status, SimStatus::Stopped);
    let types = simulation_events(&app).await;
    assert_eq!(types, ["simulation.started", "simulation.speed_changed", "simulation.stopped"]);
    assert!(sim.set_speed(Speed::Times(2.0)).await.is_err(), "a stopped run takes no change");
    assert_eq!(simulation_events(&app).await, types, "nothing is announced after the end");
}

/// Before, a scenario triggered while a tick ran was overwritten in the run's state when that
/// tick ended (by the scenario the tick ran), so the state and metrics read the old scenario
/// until the next tick, a wall minute at 1x, though the trigger had answered with the new one.
/// Here runs at 1x are triggered at a few moments of their first tick (which starts at once):
/// once it has ended, every run's state reads the scenario triggered.
async fn a_scenario_triggered_while_a_tick_runs_stays_the_runs_scenario_when_the_tick_ends(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 200).await;
    let sim = Simulator::new(app.clone());
    for delay_ms in [0, 1, 2, 4, 8, 16, 32] {
        let opts = RunOptions { speed: Speed::Times(1.0), users: 200, seed: 5, ..RunOptions::default() };
        sim.start(opts, None).await.expect("start");
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let triggered = sim.trigger(ScenarioId::FridayNight).await.expect("trigger");
        assert_eq!(triggered.scenario, ScenarioId::FridayNight);
        let first_tick = async {
            while sim.state().await.ticks < 1 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), first_tick).await.expect("the first tick ends");
        let state = sim.state().await;
        assert_eq!(state.scenario, ScenarioId::FridayNight, "triggered {delay_ms} ms after the start: {state:?}");
        sim.reset().await.expect("reset");
    }
}

/// A data reset whose `data.reset` event reaches the engine follower stops a run that started
/// before it (one made by another process: the api test `two_servers`), but not a run whose
/// start waited behind the reset for the gate: that run loads the data seeded after the reset.
/// Here the start is asked while a reset and reseed made here hold the gate; when the reset's
/// event has reached the follower, the run still runs.
async fn a_start_that_waited_for_a_data_reset_made_here_is_not_stopped_by_its_event(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 40).await;
    let (relay, follower) = (app.spawn_relay(), app::reco::spawn_follower(app.clone()));
    let mut heard = app.data_resets.subscribe();
    let sim = Simulator::new(app.clone());
    let reset_and_reseed = sim.while_stopped(async {
        // The start below is asked (and takes its time) before the reset is made.
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.reset_data().await.expect("reset");
        seed_city(&app, 40).await;
    });
    let start = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let opts = RunOptions { speed: Speed::Times(1.0), users: 40, seed: 5, ..RunOptions::default() };
        sim.start(opts, None).await.expect("start after the reset")
    };
    let ((), started) = tokio::join!(reset_and_reseed, start);
    assert_eq!(started.status, SimStatus::Running);
    let within = Duration::from_secs(10);
    tokio::time::timeout(within, heard.recv()).await.expect("the follower heard of the reset").expect("a reset");
    // The run's watcher, woken with the follower, acts at once; give it time to.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = sim.state().await;
    assert_eq!((state.status, state.stop_reason), (SimStatus::Running, None), "{state:?}");
    assert_eq!(sim.stop().await.expect("stop").status, SimStatus::Stopped);
    relay.abort();
    follower.abort();
}

/// A `data.reset` on the bus as another process would publish it, stamped `at`.
fn data_reset_at(at: chrono::DateTime<Utc>) -> Publish {
    Publish {
        channel: Channel::System,
        event_type: "data.reset".into(),
        data: domain::Payload::default(),
        timestamp: at,
        source_id: Some(uuid::Uuid::now_v7()),
    }
}

/// Before, the follower kept only the latest reset time it had heard of, raised by each newer
/// one: a reset stamped an hour ahead (by a process whose clock runs fast) stopped the run going,
/// but for that hour no reset after it stopped another, every one being stamped earlier. Here a
/// run started after such a reset is stopped by the next one.
async fn a_reset_stamped_by_a_clock_running_ahead_does_not_hide_the_resets_after_it(backend: Backend) {
    let Some((_db, app, sim)) = a_run_at_1x(backend).await else { return };
    let follower = app::reco::spawn_follower(app.clone());
    let mut heard = app.data_resets.subscribe();
    tokio::time::sleep(Duration::from_millis(100)).await; // the follower subscribes to the bus
    let within = Duration::from_secs(10);
    let stopped = |reason: &str| json!({"status": "stopped", "stop_reason": reason});
    let state = || async { serde_json::to_value(sim.state().await).expect("state as JSON") };
    app.bus.publish(data_reset_at(Utc::now() + chrono::Duration::hours(1))).await.expect("published");
    tokio::time::timeout(within, heard.recv()).await.expect("heard").expect("a reset");
    let deadline = tokio::time::Instant::now() + within;
    while state().await["status"] == "running" && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = state().await;
    assert_eq!(json!({"status": s["status"], "stop_reason": s["stop_reason"]}), stopped("data_reset"));

    let opts = RunOptions { speed: Speed::Times(1.0), users: 40, seed: 6, ..RunOptions::default() };
    sim.start(opts, None).await.expect("a second run");
    app.bus.publish(data_reset_at(Utc::now() + chrono::Duration::seconds(1))).await.expect("published");
    let deadline = tokio::time::Instant::now() + within;
    while state().await["status"] == "running" && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = state().await;
    assert_eq!(json!({"status": s["status"], "stop_reason": s["stop_reason"]}), stopped("data_reset"), "{s}");
    follower.abort();
}

/// QA deleted 5 users of a running simulation: their own actions and those naming them (an
/// invitation, a friend request) went on failing ("user ... not found", 20 failures) and
/// `active_users` stayed the same. A deleted user leaves the run instead.
async fn users_deleted_during_a_run_leave_it_and_fail_none_of_its_actions(backend: Backend) {
    if !configured(backend) {
        return;
    }
    let (_db, app) = seeded_app(backend, 100).await;
    let sim = Simulator::new(app.clone());
    let opts = RunOptions {
        scenario: ScenarioId::FridayNight,
        speed: Speed::Max,
        users: 100,
        seed: 7,
        duration: Some(chrono::Duration::hours(6)),
        start_at: Utc.with_ymd_and_hms(2026, 11, FRIDAY_6PM.0, FRIDAY_6PM.1, FRIDAY_6PM.2, 0).single(),
        ..RunOptions::default()
    };
    assert_eq!(sim.start(opts, None).await.expect("start").active_users, 100);
    let paused = sim.pause().await.expect("paused before the run ends");
    // The most connected users, whom others invite and ask most.
    let mut users = app.store.scan_users(None, 200).await.expect("users");
    users.truncate(100);
    let mut ties: Vec<(usize, domain::UserId)> = Vec::new();
    for u in &users {
        let friends = app.list_friends(u.0.id, PageRequest { limit: 100, after: None }).await.expect("friends");
        ties.push((friends.items.len(), u.0.id));
    }
    ties.sort_by(|a, b| b.cmp(a));
    for &(_, id) in ties.iter().take(10) {
        app.delete_user(id).await.expect("delete");
    }
    sim.resume().await.expect("resume");
    let state = tokio::time::timeout(Duration::from_secs(120), sim.wait()).await.expect("run in time");
    assert_eq!(state.status, SimStatus::Finished);
    assert!(
        state.ticks > paused.ticks + 60,
        "the run went on after the deletions: {} then {}",
        paused.ticks,
        state.ticks
    );
    let m = sim.metrics().await;
    assert_eq!(m.failures.total, 0, "{:?}", m.failures);
    assert_eq!(state.active_users, 90, "the deleted users left the run");
}
