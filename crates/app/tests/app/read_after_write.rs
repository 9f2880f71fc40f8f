//! A user or venue written a moment ago is known to the recommendation endpoints at once, on
//! the server that wrote it and on any other: here an app with no follower at all (the engine
//! hears of no event), as a second server is before its follower reads the event.

use domain::user::UserInput;
use domain::venue::VenueInput;
use engine::{GroupQuery, GroupStrategy, PeopleQuery, Ranker, VenueQuery};
use testdb::Backend;

use crate::{fresh_app, user, venue};

crate::on_every_backend!(
    users_and_venues_written_a_moment_ago_are_recommended_for_not_404,
    a_venue_deleted_a_moment_ago_is_gone_at_once_on_the_server_that_deleted_it
);

async fn users_and_venues_written_a_moment_ago_are_recommended_for_not_404(backend: Backend) {
    // No follower at all: the engine hears of no event.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let (a, b) =
        (app.create_user(user("just_signed_up")).await.unwrap(), app.create_user(user("her_friend")).await.unwrap());
    let venue = VenueInput { lng: -73.991, ..venue("Just Opened", 40.731) };
    let venue = app.create_venue(venue).await.unwrap();
    assert!(!app.engine().has_user(a.id), "the engine was not told: this is the case under test");

    for ranker in [Ranker::Default, Ranker::Seed2] {
        app.recommend_venues(VenueQuery::new(a.id, 10, ranker)).await.expect("venues for a new user");
    }
    let people = PeopleQuery { user_id: b.id, venue_id: Some(venue.id), limit: 10, ranker: Ranker::Default, now: None };
    app.recommend_people(people).await.expect("people for a new user and venue");
    // Named by that query, the venue is in the engine now, and listed.
    let recs = app.recommend_venues(VenueQuery::new(a.id, 10, Ranker::Seed2)).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.venue_id).collect::<Vec<_>>(), [venue.id]);
    app.interested_in_venue(venue.id, a.id, 100).await.expect("who is interested, for a new viewer");
    let group = GroupQuery::new(vec![a.id, b.id], GroupStrategy::Average, 5);
    app.recommend_group(group).await.expect("a group of new users");

    let c = app.create_user(user("on_the_move")).await.unwrap();
    app.update_location(c.id, 40.74, -73.98).await.expect("a new user's live location");

    // Someone with no home who sent where they are to another server: measured from there.
    let homeless = UserInput { home_lat: None, home_lng: None, ..user("no_fixed_abode") };
    let d = app.create_user(homeless).await.unwrap();
    let here = store::LiveLocation { user_id: d.id, lat: 40.73, lng: -73.99, at: chrono::Utc::now() };
    app.store.set_live_location(here).await.expect("keep the location");
    assert!(!app.engine().has_user(d.id));
    let recs = app.recommend_venues(VenueQuery::new(d.id, 10, Ranker::Seed2)).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.venue_id).collect::<Vec<_>>(), [venue.id], "measured from the live location");
    assert!((recs[0].distance_km - 0.14).abs() < 0.02, "{} km", recs[0].distance_km);

    // Someone who does not exist is still a 404, after one look at the store.
    let nobody = uuid::Uuid::now_v7();
    let err = app.recommend_venues(VenueQuery::new(nobody, 10, Ranker::Default)).await.unwrap_err();
    assert!(matches!(err, app::AppError::NotFound { entity: "user", .. }), "{err:?}");
}

async fn a_venue_deleted_a_moment_ago_is_gone_at_once_on_the_server_that_deleted_it(backend: Backend) {
    // No follower: the engine hears of the deletion only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let viewer = app.create_user(user("still_here")).await.unwrap();
    let gone = app.create_venue(venue("Closing Down", 40.731)).await.unwrap();
    app.interested_in_venue(gone.id, viewer.id, 100).await.expect("named, the venue is in the engine now");

    app.delete_venue(gone.id, false).await.expect("nothing upcoming there");

    let not_found = |e: &app::AppError| matches!(e, app::AppError::NotFound { entity: "venue", .. });
    let err = app.interested_in_venue(gone.id, viewer.id, 100).await.unwrap_err();
    assert!(not_found(&err), "who is interested in a deleted venue: {err:?}");
    let people =
        PeopleQuery { user_id: viewer.id, venue_id: Some(gone.id), limit: 10, ranker: Ranker::Default, now: None };
    let err = app.recommend_people(people).await.unwrap_err();
    assert!(not_found(&err), "people for a deleted venue: {err:?}");
    let recs = app.recommend_venues(VenueQuery::new(viewer.id, 10, Ranker::Seed2)).await.unwrap();
    assert!(recs.iter().all(|r| r.venue_id != gone.id), "a deleted venue is not recommended");
}
