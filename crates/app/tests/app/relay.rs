//! The outbox relay on a real store: a row it cannot read is set aside, not retried forever; a
//! row it publishes twice (at-least-once) reaches the engine once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use app::App;
use app::relay::{relay_once, relay_pass, relay_under};
use domain::interaction::InteractionInput;
use domain::{DomainEvent, InteractionType};
use engine::{Ranker, VenueQuery};
use testdb::Backend;

use crate::{Tap, TestBus, fresh_app, user, venue};

crate::on_every_backend!(
    an_unreadable_outbox_row_is_set_aside_and_the_relay_carries_on,
    a_newer_versions_event_is_forwarded_as_it_is,
    a_like_the_relay_publishes_twice_reaches_the_engine_once,
    a_backlog_is_published_at_once_for_a_moment_then_left_to_the_relay,
);

/// Takes 10 ms for every event it publishes: a batch of the relay's (256) takes over 2.5 s.
struct PerEvent;

#[async_trait::async_trait]
impl Tap for PerEvent {
    async fn publish(&self, inner: &bus::DynBus, event: bus::Publish) -> bus::BusResult<Arc<domain::Event>> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        inner.publish(event).await
    }
}

/// Review of 99d3e06: `relay_now` (a simulator control action, inside its HTTP request) went on
/// pass after pass while each found a full batch, never looking at its cap, so after a long bus
/// outage the request published the whole backlog. It stops once its cap (2 s) has passed,
/// leaving the rest to the background relay (an error says so).
async fn a_backlog_is_published_at_once_for_a_moment_then_left_to_the_relay(backend: Backend) {
    let Some(db) = testdb::TestDatabase::create(backend).await else { return };
    let store = store::connect(&db.url).await.expect("connect the test database");
    let bus = Arc::new(TestBus::new(PerEvent));
    let app = App::with_bus(store, bus, app::AppSettings::default());
    // Two batches and one more row.
    for _ in 0..513 {
        app.store.record_event(DomainEvent::DataReset).await.unwrap();
    }
    let started = tokio::time::Instant::now();
    let now = app::relay::relay_now(&app.store, &app.bus).await;
    let took = started.elapsed();
    assert!(now.is_err(), "{backend:?}: the backlog is not said to be out: {now:?}");
    assert_eq!(app.store.counts().await.unwrap().outbox_pending, 257, "{backend:?}: one batch, after {took:?}");
    assert!(took < Duration::from_secs(5), "{backend:?}: {took:?}");
    // The relay publishes the rest.
    while relay_once(&app.store, &app.bus).await.unwrap() > 0 {}
    assert_eq!((published(&app), app.store.counts().await.unwrap().outbox_pending), (513, 0), "{backend:?}");
}

/// Before, the relay failed on such a row at every pass, so no event after it ever went out.
async fn an_unreadable_outbox_row_is_set_aside_and_the_relay_carries_on(backend: Backend) {
    let Some((db, app)) = fresh_app(backend).await else { return };
    app.create_user(user("ann")).await.unwrap();
    app.store.record_event(DomainEvent::DataReset).await.unwrap();
    app.create_user(user("bob")).await.unwrap();
    // A channel there is no such bus stream for (written around the schema's check).
    let sql = "UPDATE outbox SET channel = 'nowhere' WHERE event_type = 'data.reset'";
    db.execute_unchecked("outbox", "outbox_channel_check", sql).await.unwrap();

    let dealt = relay_once(&app.store, &app.bus).await.expect("the relay carries on past the row");
    assert_eq!(dealt, 3, "two events published, one row set aside");
    let published: u64 = app.bus.published_counts().iter().map(|(_, n)| n).sum();
    assert_eq!(published, 2, "both users' events went out");
    let counts = app.store.counts().await.unwrap();
    assert_eq!((counts.outbox_pending, counts.outbox_dead), (0, 1));
    let dead = db.texts("SELECT event_type FROM outbox WHERE dead_at IS NOT NULL AND dead_reason <> ''").await.unwrap();
    assert_eq!(dead, ["data.reset"], "the row is kept, with its reason");
    assert_eq!(relay_once(&app.store, &app.bus).await, Ok(0), "nothing left, and no error");
}

/// What a newer server sharing the database writes during a rolling upgrade (a type this
/// version does not know; a known type's data with a value it does not have) is forwarded as it
/// is, in its place among the others (newer consumers read it). Before, both were set aside as
/// dead letters and never published.
async fn a_newer_versions_event_is_forwarded_as_it_is(backend: Backend) {
    let Some((db, app)) = fresh_app(backend).await else { return };
    app.create_venue(venue("Before", 40.73)).await.unwrap();
    app.store.record_event(DomainEvent::DataReset).await.unwrap();
    app.store.record_event(DomainEvent::DataReset).await.unwrap();
    app.create_venue(venue("After", 40.74)).await.unwrap();
    let first_reset = "(SELECT id FROM outbox WHERE event_type = 'data.reset' ORDER BY id LIMIT 1)";
    let sql = format!(
        "UPDATE outbox SET event_type = 'venue.renovated', payload = '{{\"floors\": 2}}' WHERE id = {first_reset}"
    );
    db.execute(&sql).await.unwrap();
    let sql = "UPDATE outbox SET event_type = 'data.seeded', payload = '{\"users\": \"many\"}' \
               WHERE event_type = 'data.reset'";
    db.execute(sql).await.unwrap();

    assert_eq!(relay_once(&app.store, &app.bus).await, Ok(4), "all four published");
    let counts = app.store.counts().await.unwrap();
    assert_eq!((counts.outbox_pending, counts.outbox_dead), (0, 0));
    let system = app.bus.history(domain::Channel::System, 10, None).await.unwrap();
    let types: Vec<_> = system.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["venue.created", "venue.renovated", "data.seeded", "venue.created"]);
    assert_eq!((system[1].data.get(), system[2].data.get()), (r#"{"floors": 2}"#, r#"{"users": "many"}"#));
}

/// Before, the engine follower applied an event the relay published again (here, as after its
/// mark as published failed) a second time: the like counted twice in the venue's popularity
/// and the user's history.
async fn a_like_the_relay_publishes_twice_reaches_the_engine_once(backend: Backend) {
    let Some((db, app)) = fresh_app(backend).await else { return };
    let fan = app.create_user(user("fan")).await.unwrap();
    let (near, far) =
        (app.create_venue(venue("Near", 40.731)).await.unwrap(), app.create_venue(venue("Far", 40.75)).await.unwrap());
    app.reload_engine().await.expect("build the engine from the store");
    let follower = app::reco::spawn_follower(app.clone());
    followed(&app, "probe").await;

    let like = InteractionInput {
        user_id: fan.id,
        interaction_type: InteractionType::Like,
        dwell_time_seconds: None,
        occurred_at: None,
    };
    for liked in [&far, &near] {
        app.record_interaction(liked.id, like.clone()).await.unwrap();
        assert_eq!(relay_once(&app.store, &app.bus).await, Ok(1));
    }
    // The mark as published of the like of Near (the last published) is lost: the relay
    // publishes it again.
    let sql = "UPDATE outbox SET published_at = NULL WHERE event_type = 'interaction.recorded' \
        AND published_at = (SELECT MAX(published_at) FROM outbox WHERE event_type = 'interaction.recorded')";
    assert_eq!(db.execute(sql).await.unwrap(), 1);
    assert_eq!(relay_once(&app.store, &app.bus).await, Ok(1), "published again");
    followed(&app, "after").await;
    follower.abort();

    let recs = app.engine().recommend_venues(&VenueQuery::new(fan.id, 10, Ranker::Seed2)).unwrap();
    let part = |venue_id, code: &str| {
        let rec = recs.iter().find(|r| r.venue_id == venue_id).expect("both venues ranked");
        rec.reasons.iter().find(|r| r.code == code).map_or(0.0, |r| r.contribution)
    };
    // Seed2: preference 0.4 * min(1, the user's likes * 0.5), popularity 0.2 * likes / most likes.
    assert!((part(near.id, "preference") - 0.2).abs() < 1e-9, "one like of Near: {}", part(near.id, "preference"));
    assert!(
        (part(far.id, "popularity") - 0.2).abs() < 1e-9,
        "Near has as many likes as Far: {}",
        part(far.id, "popularity")
    );
}

/// Writes a user named `handle` and publishes it, until the engine follower has applied it (the
/// first time, until the follower has subscribed): what the relay published before was applied.
pub async fn followed(app: &App, handle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for n in 0.. {
        let probe = app.create_user(user(&format!("{handle}{n}"))).await.unwrap();
        relay_once(&app.store, &app.bus).await.expect("published");
        for _ in 0..20 {
            if app.engine().has_user(probe.id) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "the engine follower never applied {handle}{n}");
    }
}

/// How many events the app's bus has published, on every channel.
fn published(app: &App) -> u64 {
    app.bus.published_counts().iter().map(|(_, n)| n).sum()
}

/// A relay whose lease PostgreSQL took away (it ended the lease's session, as its idleness bound
/// does, or an administrator) neither publishes nor marks anything: another server's relay may
/// hold the lease by then. Before, the pass went on regardless, so two relays overlapped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_relay_that_lost_its_lease_before_publishing_neither_publishes_nor_marks() {
    let Some((db, app)) = fresh_app(Backend::Postgres).await else { return };
    app.create_user(user("ann")).await.unwrap();
    let mut lease = app.store.relay_lease().await.unwrap().expect("a free lease is granted");
    // This database's advisory locks (other databases on the server have their own).
    let locks = "FROM pg_locks WHERE locktype = 'advisory' AND granted \
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let end = format!("SELECT pg_terminate_backend(pid)::text {locks}");
    assert_eq!(db.texts(&end).await.unwrap(), ["true"], "the lease's session ended");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !db.texts(&format!("SELECT pid::text {locks}")).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the ended session still holds the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(relay_under(&mut lease, &app.store, &app.bus).await, Ok(None), "the pass stops: lease lost");
    lease.release().await;
    assert_eq!(published(&app), 0, "nothing published without the lease");
    assert_eq!(app.store.counts().await.unwrap().outbox_pending, 1, "nothing marked");
    assert_eq!(relay_once(&app.store, &app.bus).await, Ok(1), "the next pass takes the lease again and publishes");
    assert_eq!((published(&app), app.store.counts().await.unwrap().outbox_pending), (1, 0));
}

/// Holds the first publish after being armed for longer than the lease's idleness bound (5 s).
#[derive(Default)]
struct Slow {
    armed: AtomicBool,
}

#[async_trait::async_trait]
impl Tap for Slow {
    async fn publish(&self, inner: &bus::DynBus, event: bus::Publish) -> bus::BusResult<Arc<domain::Event>> {
        if self.armed.swap(false, Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        inner.publish(event).await
    }
}

/// A pass whose bus is slower than the lease's idleness bound (5 s: a Redis answering late, its
/// retries) keeps the lease while it waits: it uses the lease's session every second, so
/// PostgreSQL does not end it as idle, no other server's relay takes the lease meanwhile, and
/// the pass marks what it published. Before (review of 1f8e615), the session sat idle during
/// the publish, PostgreSQL ended it after 5 s, and the pass found its lease lost and did not
/// mark: with a bus that slow at every pass, the same batch went out again and again and the
/// outbox never moved on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_relay_pass_slower_than_the_idleness_bound_keeps_its_lease_and_marks() {
    let Some(db) = testdb::TestDatabase::create(Backend::Postgres).await else {
        eprintln!("skipped: {} is not set", testdb::POSTGRES_URL_VAR);
        return;
    };
    let store = store::connect(&db.url).await.expect("connect the test database");
    let other = store::connect(&db.url).await.expect("connect another server's store");
    let slow = Arc::new(TestBus::new(Slow::default()));
    let app = App::with_bus(store, slow.clone(), app::AppSettings::default());
    app.create_user(user("ann")).await.unwrap();
    slow.armed.store(true, Ordering::SeqCst);

    let pass = {
        let (store, bus) = (app.store.clone(), app.bus.clone());
        tokio::spawn(async move { relay_pass(&store, &bus).await })
    };
    // Past the 5 s bound, while the bus still holds the publish (6 s).
    tokio::time::sleep(Duration::from_millis(5_600)).await;
    let taken = other.relay_lease().await.expect("ask for the lease");
    let taken_by_other = taken.is_some();
    if let Some(lease) = taken {
        lease.release().await;
    }
    assert!(!taken_by_other, "another relay took the lease of a pass still publishing");
    assert_eq!(pass.await.unwrap(), Ok(Some(1)), "the slow pass kept its lease");
    assert_eq!((published(&app), app.store.counts().await.unwrap().outbox_pending), (1, 0), "published once, marked");
    drop(app);
    drop(db);
}

/// Makes the relay's next lease check wait: on the first publish after being armed, another
/// session takes `pg_locks` (which the check reads) for `hold_secs`, as a loaded PostgreSQL
/// answers late (or a session hangs).
struct LockedChecks {
    db: Arc<testdb::TestDatabase>,
    armed: AtomicBool,
    hold_secs: u64,
}

impl LockedChecks {
    /// Whether the session holding `pg_locks` still sleeps.
    async fn holding(&self) -> bool {
        let sleeping = "SELECT count(*)::text FROM pg_stat_activity \
            WHERE wait_event = 'PgSleep' AND datname = current_database()";
        self.db.texts(sleeping).await.expect("sessions") == ["1"]
    }

    /// Ends the hold of `pg_locks` (cancels its sleep) as soon as no session waits for a lock:
    /// the hang was the lease check's alone, as a hung session or a half-open connection is.
    /// Whether it did so before the hold ended on its own.
    async fn end_hold_once_nobody_waits(&self) -> bool {
        let waiting = "SELECT count(*)::text FROM pg_stat_activity \
            WHERE wait_event_type = 'Lock' AND datname = current_database()";
        while self.holding().await {
            if self.db.texts(waiting).await.expect("sessions") == ["0"] {
                let cancel = "SELECT pg_cancel_backend(pid)::text FROM pg_stat_activity \
                    WHERE wait_event = 'PgSleep' AND datname = current_database()";
                self.db.texts(cancel).await.expect("cancel the hold");
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

#[async_trait::async_trait]
impl Tap for LockedChecks {
    async fn publish(&self, inner: &bus::DynBus, event: bus::Publish) -> bus::BusResult<Arc<domain::Event>> {
        if self.armed.swap(false, Ordering::SeqCst) {
            let db = self.db.clone();
            let hold = format!(
                "DO $$ BEGIN LOCK TABLE pg_catalog.pg_locks IN ACCESS EXCLUSIVE MODE; \
                 PERFORM pg_sleep({}); END $$",
                self.hold_secs
            );
            tokio::spawn(async move {
                // Ended early (cancelled) by `end_hold_once_nobody_waits`, or at its end.
                let _ = db.execute(&hold).await;
            });
            // Until the lock is taken: the sleep after it has begun.
            while !self.holding().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        inner.publish(event).await
    }
}

/// A server on a new PostgreSQL database (`None`, skipped, without one) with one event in its
/// outbox, whose bus makes the lease check after its first publish wait `hold_secs` for
/// `pg_locks` ([`LockedChecks`]).
async fn one_event_armed_to_lock_checks(hold_secs: u64) -> Option<(App, Arc<TestBus<LockedChecks>>)> {
    let Some(db) = testdb::TestDatabase::create(Backend::Postgres).await else {
        eprintln!("skipped: {} is not set", testdb::POSTGRES_URL_VAR);
        return None;
    };
    let db = Arc::new(db);
    let store = store::connect(&db.url).await.expect("connect the test database");
    let bus = Arc::new(TestBus::new(LockedChecks { db: db.clone(), armed: AtomicBool::new(false), hold_secs }));
    let app = App::with_bus(store, bus.clone(), app::AppSettings::default());
    app.create_user(user("ann")).await.unwrap();
    bus.armed.store(true, Ordering::SeqCst);
    Some((app, bus))
}

/// A lease check PostgreSQL answers late (a loaded server; here the check after publishing
/// waits about 5 s for a lock) keeps the lease: the session was busy with the check, so
/// PostgreSQL could not end it as idle, and the answer says the lock is still its own. The pass
/// marks what it published and nothing goes out twice. Before, a check slower than 2.5 s
/// counted the lease as lost: the pass did not mark, and the next pass published the batch again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lease_check_answered_late_keeps_the_lease_and_nothing_is_published_twice() {
    let Some((app, _)) = one_event_armed_to_lock_checks(5).await else { return };

    let first = relay_pass(&app.store, &app.bus).await;
    // Then passes as the relay's loop makes them, until the outbox is empty.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.store.counts().await.unwrap().outbox_pending > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the outbox never emptied");
        relay_once(&app.store, &app.bus).await.expect("a pass");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(published(&app), 1, "published once (the first pass: {first:?})");
    assert_eq!(first, Ok(Some(1)), "the pass whose check was answered late kept its lease and marked");
    drop(app);
}

/// Review of b02bf66: a lease check waited for its answer as long as new connections could be
/// made, so a session hung in the check (here: `pg_locks` held far longer than the cap), or a
/// connection gone half-open, stalled the relay, and with it every server's events, for as long
/// as the hang lasted (a half-open connection: about 15 minutes). The check gives up at its cap
/// (`RELAY_LEASE_CHECK_CAP`, shortened here): the pass ends with the lease lost while the hang
/// still lasts. Review of d629646: closing the check's connection left its PostgreSQL session
/// waiting, still holding the lease, so no relay could take over until the hang ended; the
/// session is now ended at the cap, and the event is published (again, at least once) by the
/// passes after it while the hang would still last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lease_check_that_hangs_is_given_up_at_its_cap_and_the_relay_goes_on() {
    // Shared by the tests of this process: past the 5 s the late-answer test's check waits.
    let cap = Duration::from_secs(8);
    store::set_relay_lease_check_cap(cap);
    let hold_secs = 60;
    let Some((app, bus)) = one_event_armed_to_lock_checks(hold_secs).await else { return };

    let started = tokio::time::Instant::now();
    let first = relay_pass(&app.store, &app.bus).await;
    assert!(bus.holding().await, "the pass ended while the check still could not be answered");
    assert_eq!(first, Ok(None), "the lease counted as lost");
    // The check's session is gone (nobody waits on the lock any more): the hang ends with it.
    let ended = tokio::time::timeout(Duration::from_secs(10), bus.end_hold_once_nobody_waits()).await;
    assert_eq!(ended, Ok(true), "the session of the check given up still waits, holding the lease");
    // Another pass takes the lease over, publishes and marks the event, long before the hang
    // would have ended.
    let deadline = started + cap + Duration::from_secs(20);
    while app.store.counts().await.unwrap().outbox_pending > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the outbox did not empty before the hang ended");
        let _ = relay_once(&app.store, &app.bus).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published(&app) >= 1);
    drop(app);
}
