//! Where seeding anchors the generated history: at a pinned `as_of` (same seed and anchor, same
//! city), else at the current hour, so a demo city is alive now; the simulator's default start
//! follows the same anchor. Bad anchors are refused naming `as_of`, writing nothing.

use app::App;
use app::seed::{SeedOptions, current_anchor};
use app::sim::{RunOptions, Simulator, Speed};
use chrono::{TimeZone, Utc};
use domain::Timestamp;
use testdb::Backend;

use crate::fresh_app;

crate::on_every_backend!(
    a_pinned_anchor_ends_the_history_within_the_hour_before_it_and_gives_the_same_city_again,
    an_unpinned_seed_ends_its_history_at_the_current_hour_with_its_plans_ahead,
    a_seed_anchor_outside_the_supported_years_is_refused_naming_as_of_and_writes_nothing,
    a_simulation_starts_by_default_at_the_anchor_of_the_city_it_seeded,
);

/// 2026-12-02 23:00 UTC: 18:00 in New York, a busy hour, and not the generator's default anchor.
fn pinned() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 2, 23, 0, 0).single().expect("a time")
}

fn city(as_of: Option<Timestamp>) -> SeedOptions {
    SeedOptions { users: 120, venues: 40, seed: 5, as_of, ..SeedOptions::default() }
}

/// Every stored interaction's time, in id order.
async fn interaction_times(app: &App) -> Vec<(uuid::Uuid, Timestamp)> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = app.store.scan_interactions(after, 1000).await.expect("scan interactions");
        after = page.last().map(|i| i.id);
        out.extend(page.iter().map(|i| (i.id, i.occurred_at)));
        if page.len() < 1000 {
            return out;
        }
    }
}

/// Every stored booking's time.
async fn booking_times(app: &App) -> Vec<Timestamp> {
    let bookings = app.store.scan_bookings(None, 10_000).await.expect("scan bookings");
    bookings.iter().map(|b| b.booking_time).collect()
}

async fn a_pinned_anchor_ends_the_history_within_the_hour_before_it_and_gives_the_same_city_again(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let report = app.seed_demo(city(Some(pinned()))).await.expect("seed");
    assert_eq!(report.as_of, Some(pinned()));
    let times = interaction_times(&app).await;
    let newest = times.iter().map(|t| t.1).max().expect("interactions");
    assert!(newest < pinned() && newest >= pinned() - chrono::Duration::hours(1), "newest interaction {newest}");
    let bookings = booking_times(&app).await;
    assert!(!bookings.is_empty() && bookings.iter().all(|&t| t > pinned()), "bookings lie after the anchor");

    let again = app.seed_demo(SeedOptions { force: true, ..city(Some(pinned())) }).await.expect("reseed");
    assert_eq!((again.interactions, again.plans, again.bookings), (report.interactions, report.plans, report.bookings));
    assert_eq!(interaction_times(&app).await, times, "same seed and anchor, same interactions");
    assert_eq!(booking_times(&app).await.len(), bookings.len());
}

async fn an_unpinned_seed_ends_its_history_at_the_current_hour_with_its_plans_ahead(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let before = current_anchor(Utc::now());
    let report = app.seed_demo(city(None)).await.expect("seed");
    let after = current_anchor(Utc::now());
    let anchor = report.as_of.expect("the anchor taken");
    assert!(before <= anchor && anchor <= after, "anchor {anchor} is not the hour of seeding");
    // Within a day: at a quiet hour of the night a small city may have done nothing for hours.
    let newest = interaction_times(&app).await.into_iter().map(|t| t.1).max().expect("interactions");
    assert!(newest < anchor && newest >= anchor - chrono::Duration::days(1), "newest interaction {newest}");
    let bookings = booking_times(&app).await;
    assert!(!bookings.is_empty() && bookings.iter().all(|&t| t > anchor), "bookings lie ahead");
}

async fn a_seed_anchor_outside_the_supported_years_is_refused_naming_as_of_and_writes_nothing(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    for year in [1999, 2100] {
        let as_of = Utc.with_ymd_and_hms(year, 6, 1, 0, 0, 0).single();
        match app.seed_demo(city(as_of)).await {
            Err(app::AppError::Invalid(e)) => assert_eq!(e.0[0].field, "as_of", "{e:?}"),
            other => panic!("{year}: expected a refusal naming as_of, got {other:?}"),
        }
    }
    let counts = app.store.counts().await.expect("counts");
    assert_eq!((counts.users, counts.venues, counts.interactions), (0, 0, 0));
    // Nor after the time of seeding.
    let ahead = Some(Utc::now() + chrono::Duration::days(1));
    assert!(matches!(app.seed_demo(city(ahead)).await, Err(app::AppError::Invalid(_))));
    // A seeded database ignores the anchor unless forced (a server restarting with a bad
    // demo.as_of still starts), and a forced seed that is refused leaves the data as it was.
    let good = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).single();
    assert!(app.seed_demo(city(good)).await.expect("seed").seeded);
    let before = app.store.counts().await.expect("counts");
    assert!(!app.seed_demo(city(ahead)).await.expect("left alone").seeded);
    let forced = SeedOptions { force: true, ..city(ahead) };
    assert!(matches!(app.seed_demo(forced).await, Err(app::AppError::Invalid(_))));
    assert_eq!(app.store.counts().await.expect("counts"), before);
}

async fn a_simulation_starts_by_default_at_the_anchor_of_the_city_it_seeded(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let sim = Simulator::new(app.clone());
    let opts = RunOptions {
        speed: Speed::Max,
        users: 20,
        duration: Some(chrono::Duration::minutes(1)),
        ..RunOptions::default()
    };
    let seed = SeedOptions { users: 40, venues: 20, ..city(Some(pinned())) };
    let state = sim.start(opts.clone(), Some(seed)).await.expect("start");
    assert!(state.seeded_demo_city);
    assert_eq!(state.started_at, Some(pinned()), "a normal day starts at the seeded anchor");
    sim.wait().await;

    // On a city already there, with no anchor pinned in the settings: the current hour.
    let before = current_anchor(Utc::now());
    let state = sim.start(opts, None).await.expect("start again");
    let started = state.started_at.expect("a start");
    assert!(started >= before && started <= current_anchor(Utc::now()), "started at {started}");
    sim.wait().await;
}
