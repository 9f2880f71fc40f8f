//! The outbox relay on a real store: a row it cannot read is set aside, not retried forever; a
//! row it publishes twice (at-least-once) reaches the engine once.

use std::time::Duration;

use app::App;
use app::relay::relay_once;
use domain::interaction::InteractionInput;
use domain::{DomainEvent, InteractionType};
use engine::{Ranker, VenueQuery};
use testdb::Backend;

use crate::{fresh_app, user, venue};

crate::on_every_backend!(
    an_unreadable_outbox_row_is_set_aside_and_the_relay_carries_on,
    a_newer_versions_event_is_forwarded_as_it_is,
    a_like_the_relay_publishes_twice_reaches_the_engine_once,
);

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
