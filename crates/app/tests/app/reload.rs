//! An engine built from the store at start-up (or by a reload) knows everything the live one
//! learnt from events: here, expressed interests and bookings written straight to the store,
//! as a previous server run left them.

use app::{App, AppSettings};
use domain::user::UserInput;
use domain::{Booking, BookingStatus, VenueInterest};
use engine::{Ranker, VenueQuery};
use store::Batch;
use testdb::Backend;

use crate::{fresh_app, user, venue};

crate::on_every_backend!(
    interests_and_bookings_in_the_store_reach_the_engine_it_builds,
    a_fresh_live_location_in_the_store_is_used_after_a_restart_and_a_stale_one_is_not,
    a_deleted_venue_whose_bookings_stay_is_not_recommended_by_the_engine_it_builds,
    a_user_who_stays_put_is_stored_once_a_move_at_once_and_a_deleted_one_is_refused,
);

async fn interests_and_bookings_in_the_store_reach_the_engine_it_builds(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let (keen, viewer) = (app.create_user(user("keen")).await.unwrap(), app.create_user(user("viewer")).await.unwrap());
    let wanted = app.create_venue(venue("Wanted", 40.731)).await.unwrap();
    let booked = app.create_venue(venue("Booked", 40.732)).await.unwrap();
    let other = app.create_venue(venue("Other", 40.733)).await.unwrap();
    let now = chrono::Utc::now();
    let when = now + chrono::Duration::days(2);
    let interest = VenueInterest {
        user_id: keen.id,
        venue_id: wanted.id,
        preferred_time: Some(when),
        preferred_time_slot: None,
        open_to_invites: true,
        created_at: now,
    };
    let booking = stored_booking(viewer.id, booked.id, when, BookingStatus::Confirmed, vec![keen.id]);
    app.store
        .insert_batch(Batch { interests: vec![interest], bookings: vec![booking], ..Batch::default() })
        .await
        .expect("write the rows");

    app.reload_engine().await.expect("build the engine from the store");

    let who = app.interested_in_venue(wanted.id, viewer.id, 100).await.unwrap();
    let listed: Vec<_> = who.friends.iter().chain(&who.mutuals).chain(&who.new_people).map(|p| p.user_id).collect();
    assert_eq!(listed, [keen.id], "the stored interest is listed");
    assert_eq!(who.new_people[0].preferred_time.map(|t| t.timestamp()), Some(when.timestamp()));

    // Both members of the booking have been there, as far as `new_only` is concerned.
    for member in [viewer.id, keen.id] {
        let mut q = VenueQuery::new(member, 10, Ranker::Default);
        q.new_only = true;
        let recs: Vec<_> = app.recommend_venues(q).await.unwrap().into_iter().map(|r| r.venue_id).collect();
        assert!(!recs.contains(&booked.id), "a booked venue is not new to its members: {recs:?}");
        assert!(recs.contains(&other.id), "other venues still are: {recs:?}");
    }
}

async fn a_fresh_live_location_in_the_store_is_used_after_a_restart_and_a_stale_one_is_not(backend: Backend) {
    let Some((db, app)) = fresh_app(backend).await else { return };
    let homeless = |handle: &str| UserInput { home_lat: None, home_lng: None, ..user(handle) };
    let (fresh, stale) =
        (app.create_user(homeless("out_now")).await.unwrap(), app.create_user(homeless("out_earlier")).await.unwrap());
    let near = app.create_venue(venue("Near", 40.731)).await.unwrap();
    let now = chrono::Utc::now();
    for (u, mins) in [(&fresh, 5), (&stale, 180)] {
        let at = now - chrono::Duration::minutes(mins);
        let location = store::LiveLocation { user_id: u.id, lat: 40.73, lng: -73.99, at };
        app.store.set_live_location(location).await.expect("keep the location");
    }

    app.reload_engine().await.expect("build the engine from the store");

    let recs = app.recommend_venues(VenueQuery::new(fresh.id, 10, Ranker::Seed2)).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.venue_id).collect::<Vec<_>>(), [near.id], "measured from the live location");
    assert!(recs[0].distance_km.is_some_and(|d| (d - 0.111).abs() < 0.01), "{:?} km", recs[0].distance_km);
    // Three hours old is past the freshness window (120 minutes): no location, so seed2 refuses,
    // naming `ranker`.
    let refused = app.recommend_venues(VenueQuery::new(stale.id, 10, Ranker::Seed2)).await.err();
    assert!(format!("{refused:?}").contains("\"ranker\""), "{refused:?}");

    // A location sent through the app is kept: a server started afterwards on the same database
    // uses it.
    app.update_location(stale.id, 40.73, -73.99).await.expect("send a location");
    let restarted = App::new(store::connect(&db.url).await.expect("connect again"), AppSettings::default());
    restarted.reload_engine().await.expect("build the engine from the store");
    let recs = restarted.recommend_venues(VenueQuery::new(stale.id, 10, Ranker::Seed2)).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.venue_id).collect::<Vec<_>>(), [near.id]);
}

/// A booking as the store keeps it, written straight through a batch.
fn stored_booking(
    user: uuid::Uuid,
    venue: uuid::Uuid,
    at: domain::Timestamp,
    status: BookingStatus,
    group_members: Vec<uuid::Uuid>,
) -> Booking {
    let now = chrono::Utc::now();
    Booking {
        id: domain::new_id(),
        user_id: Some(user),
        venue_id: venue,
        plan_id: None,
        booking_time: at,
        party_size: 1 + group_members.len() as i32,
        duration_minutes: 120,
        status,
        confirmation_code: "LUNA-7K3QX9".into(),
        provider: "house".into(),
        agent: "booking_agent".into(),
        group_members,
        special_requests: None,
        created_at: now,
        updated_at: now,
    }
}

async fn a_deleted_venue_whose_bookings_stay_is_not_recommended_by_the_engine_it_builds(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let (ann, ben) = (app.create_user(user("ann")).await.unwrap(), app.create_user(user("ben")).await.unwrap());
    let gone = app.create_venue(venue("Gone", 40.731)).await.unwrap();
    let kept = app.create_venue(venue("Kept", 40.732)).await.unwrap();
    // An evening there last week: it stays in Ann's and Ben's history once the venue is deleted.
    let last_week = chrono::Utc::now() - chrono::Duration::days(7);
    let evening = stored_booking(ann.id, gone.id, last_week, BookingStatus::Completed, vec![ben.id]);
    app.store.insert_batch(Batch { bookings: vec![evening.clone()], ..Batch::default() }).await.expect("write it");
    app.delete_venue(gone.id, false).await.expect("nothing upcoming there");

    app.reload_engine().await.expect("build the engine from the store");

    assert_eq!(app.store.get_booking(evening.id).await.unwrap().status, BookingStatus::Completed);
    for (who, ranker) in [(ann.id, Ranker::Default), (ben.id, Ranker::Default), (ann.id, Ranker::Seed2)] {
        let recs: Vec<_> = app
            .recommend_venues(VenueQuery::new(who, 10, ranker))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.venue_id)
            .collect();
        assert_eq!(recs, [kept.id], "{ranker:?}");
    }
    let err = app.interested_in_venue(gone.id, ann.id, 100).await.unwrap_err();
    assert!(matches!(err, app::AppError::NotFound { entity: "venue", .. }), "{err:?}");
}

async fn a_user_who_stays_put_is_stored_once_a_move_at_once_and_a_deleted_one_is_refused(backend: Backend) {
    let Some((_db, app)) = fresh_app(backend).await else { return };
    let (out, gone) = (app.create_user(user("out")).await.unwrap(), app.create_user(user("gone")).await.unwrap());
    let near = app.create_venue(venue("Near", 40.731)).await.unwrap();
    app.reload_engine().await.expect("build the engine from the store");
    let stored = |id| {
        let app = app.clone();
        async move { app.store.get_live_location(id).await.unwrap().map(|l| (l.lat, l.at)) }
    };

    app.update_location(out.id, 40.73, -73.99).await.unwrap();
    let (lat, first) = stored(out.id).await.expect("the first location is stored");
    assert_eq!(lat, 40.73);
    // 11 m further, moments later: the engine measures from there, the store keeps the first.
    app.update_location(out.id, 40.7301, -73.99).await.unwrap();
    assert_eq!(stored(out.id).await, Some((40.73, first)));
    let recs = app.recommend_venues(VenueQuery::new(out.id, 10, Ranker::Seed2)).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.venue_id).collect::<Vec<_>>(), [near.id]);
    assert!(
        recs[0].distance_km.is_some_and(|d| (d - 0.100).abs() < 0.003),
        "measured from the latest: {:?} km",
        recs[0].distance_km
    );
    // 560 m on: stored at once.
    app.update_location(out.id, 40.735, -73.99).await.unwrap();
    let (lat, moved) = stored(out.id).await.expect("kept");
    assert_eq!(lat, 40.735);
    assert!(moved > first);
    // A reload (after a reset or a seed, say) forgets what was written: the next is written.
    app.reload_engine().await.expect("reload");
    app.update_location(out.id, 40.7351, -73.99).await.unwrap();
    assert_eq!(stored(out.id).await.map(|(lat, _)| lat), Some(40.7351));

    // Deleted here: gone from this server's engine at once (no follower here), and the next
    // location is written, so refused.
    app.delete_user(out.id).await.unwrap();
    assert!(!app.engine().has_user(out.id));
    let err = app.update_location(out.id, 40.735, -73.99).await.unwrap_err();
    assert!(matches!(err, app::AppError::NotFound { entity: "user", .. }), "{err:?}");

    // Deleted on another server, and followed here: refused too.
    app.update_location(gone.id, 40.73, -73.99).await.unwrap();
    app.store.delete_user(gone.id, chrono::Utc::now()).await.unwrap();
    app.engine().apply(&domain::DomainEvent::UserDeleted { user_id: gone.id });
    let err = app.update_location(gone.id, 40.73, -73.99).await.unwrap_err();
    assert!(matches!(err, app::AppError::NotFound { entity: "user", .. }), "{err:?}");
}
