//! A user or venue written a moment ago is known to the recommendation endpoints at once, on
//! the server that wrote it and on any other: here an app with no follower at all (the engine
//! hears of no event), as a second server is before its follower reads the event.

use domain::interaction::InteractionInput;
use domain::user::{PreferencesInput, UserInput, UserPatchInput};
use domain::venue::{VenueInput, VenuePatchInput};
use domain::{DomainEvent, InteractionType, InterestWish};
use engine::{GroupQuery, GroupStrategy, PeopleQuery, Ranker, VenueQuery};
use testdb::Backend;

use crate::{fresh_app, user, venue};

crate::on_every_backend!(
    users_and_venues_written_a_moment_ago_are_recommended_for_not_404,
    a_venue_deleted_a_moment_ago_is_gone_at_once_on_the_server_that_deleted_it,
    a_user_deleted_a_moment_ago_is_gone_at_once_on_the_server_that_deleted_them,
    interest_and_interactions_written_a_moment_ago_are_seen_at_once_on_the_server_that_wrote_them,
    a_home_or_preferences_changed_a_moment_ago_are_used_at_once_on_the_server_that_changed_them,
    a_venue_moved_a_moment_ago_is_measured_where_it_is_at_once_on_the_server_that_moved_it,
    a_friendship_made_or_ended_a_moment_ago_is_seen_at_once_on_the_server_that_wrote_it,
    a_booking_made_a_moment_ago_is_seen_at_once_on_the_server_that_made_it_and_counted_once,
    a_plan_confirmed_a_moment_ago_is_seen_at_once_on_the_server_that_confirmed_it
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
    assert!(recs[0].distance_km.is_some_and(|d| (d - 0.14).abs() < 0.02), "{:?} km", recs[0].distance_km);

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

async fn a_user_deleted_a_moment_ago_is_gone_at_once_on_the_server_that_deleted_them(backend: Backend) {
    // No follower: the engine hears of the deletion only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let gone = app.create_user(user("leaving_now")).await.unwrap();
    let friend = app.create_user(user("staying_on")).await.unwrap();
    let bar = app.create_venue(venue("Still Open", 40.731)).await.unwrap();
    let people =
        |user_id| PeopleQuery { user_id, venue_id: Some(bar.id), limit: 10, ranker: Ranker::Default, now: None };
    app.recommend_people(people(gone.id)).await.expect("people for them, while they are there");
    app.express_interest(gone.id, bar.id, InterestWish::at(None)).await.expect("interest");
    let interested = || async {
        let r = app.interested_in_venue(bar.id, friend.id, 100).await.expect("who is interested");
        r.friends.iter().chain(&r.mutuals).chain(&r.new_people).map(|p| p.user_id).collect::<Vec<_>>()
    };
    assert_eq!(interested().await, [gone.id], "interested while there");

    app.delete_user(gone.id).await.expect("deleted");

    let not_found = |e: &app::AppError| matches!(e, app::AppError::NotFound { entity: "user", .. });
    for ranker in [Ranker::Default, Ranker::Seed2] {
        let err = app.recommend_venues(VenueQuery::new(gone.id, 10, ranker)).await.unwrap_err();
        assert!(not_found(&err), "venues for a deleted user ({}): {err:?}", ranker.as_str());
    }
    let err = app.recommend_venues_in_context(VenueQuery::new(gone.id, 10, Ranker::Default)).await.unwrap_err();
    assert!(not_found(&err), "venues in context for a deleted user: {err:?}");
    let err = app.recommend_people(people(gone.id)).await.unwrap_err();
    assert!(not_found(&err), "people for a deleted user: {err:?}");
    let err = app.interested_in_venue(bar.id, gone.id, 100).await.unwrap_err();
    assert!(not_found(&err), "who is interested, for a deleted viewer: {err:?}");
    assert!(interested().await.is_empty(), "a deleted user is no longer interested");
    // The follower's copy of the deletion, a moment later, changes nothing.
    app.engine.apply(DomainEvent::UserDeleted { user_id: gone.id }, chrono::Utc::now(), Some(uuid::Uuid::now_v7()));
    let err = app.recommend_people(people(gone.id)).await.unwrap_err();
    assert!(not_found(&err), "{err:?}");
    app.recommend_people(people(friend.id)).await.expect("the others are still there");
}

async fn interest_and_interactions_written_a_moment_ago_are_seen_at_once_on_the_server_that_wrote_them(
    backend: Backend,
) {
    // No follower: the engine hears of each write only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let viewer = app.create_user(user("looking_around")).await.unwrap();
    let (keen, logged) = (app.create_user(user("keen")).await.unwrap(), app.create_user(user("logged")).await.unwrap());
    let (first, second) = (
        app.create_venue(venue("First Bar", 40.731)).await.unwrap(),
        app.create_venue(venue("Second Bar", 40.732)).await.unwrap(),
    );
    let interested = |venue_id| {
        let app = app.clone();
        async move {
            let r = app.interested_in_venue(venue_id, viewer.id, 100).await.expect("who is interested");
            r.friends.iter().chain(&r.mutuals).chain(&r.new_people).map(|p| p.user_id).collect::<Vec<_>>()
        }
    };
    assert!(interested(first.id).await.is_empty(), "nobody yet, and all of them in the engine now");

    // Expressed (POST /recommendations/{u}/interest), by a user the engine did not know yet.
    app.express_interest(keen.id, first.id, InterestWish::at(None)).await.expect("interest");
    assert_eq!(interested(first.id).await, [keen.id], "an interest expressed a moment ago");

    // Logged as an interaction of type interest (POST /venues/{v}/interactions).
    let interest = InteractionInput {
        user_id: logged.id,
        interaction_type: InteractionType::Interest,
        dwell_time_seconds: None,
        occurred_at: None,
    };
    app.record_interaction(second.id, interest.clone()).await.expect("logged");
    assert_eq!(interested(second.id).await, [logged.id], "an interest logged a moment ago");
    // An interest they had expressed before, with a time, keeps it when they log one again.
    let at = chrono::Utc::now() + chrono::Duration::days(2);
    app.express_interest(keen.id, second.id, InterestWish::at(Some(at))).await.expect("interest at a time");
    let again = InteractionInput { user_id: keen.id, interaction_type: InteractionType::Interest, ..interest.clone() };
    app.record_interaction(second.id, again).await.expect("logged again");
    let r = app.interested_in_venue(second.id, viewer.id, 100).await.unwrap();
    let keen_at = r.new_people.iter().find(|p| p.user_id == keen.id).map(|p| p.preferred_time.map(|t| t.timestamp()));
    assert_eq!(keen_at, Some(Some(at.timestamp())), "{r:?}");

    // A venue just liked is no new place to the user who liked it.
    let new_only = |user_id| VenueQuery { new_only: true, ..VenueQuery::new(user_id, 10, Ranker::Default) };
    let offered = app.recommend_venues(new_only(viewer.id)).await.unwrap();
    assert!(offered.iter().any(|r| r.venue_id == first.id), "new to the viewer so far: {offered:?}");
    let like = InteractionInput { user_id: viewer.id, interaction_type: InteractionType::Like, ..interest };
    let liked = app.record_interaction(first.id, like).await.expect("liked");
    let offered = app.recommend_venues(new_only(viewer.id)).await.unwrap();
    assert!(offered.iter().all(|r| r.venue_id != first.id), "a venue liked a moment ago is offered: {offered:?}");

    // The follower's copy of the like, a moment later (another outbox id), is not counted again:
    // seed2's preference part is 0.4 * min(1, the user's likes of the venue * 0.5).
    let preference = || {
        let recs = app.engine().recommend_venues(&VenueQuery::new(viewer.id, 10, Ranker::Seed2)).unwrap();
        let rec = recs.into_iter().find(|r| r.venue_id == first.id).expect("the liked venue is ranked");
        rec.reasons.iter().find(|r| r.code == "preference").map_or(0.0, |r| r.contribution)
    };
    assert!((preference() - 0.2).abs() < 1e-9, "one like: {}", preference());
    app.engine.apply(DomainEvent::InteractionRecorded(liked), chrono::Utc::now(), Some(uuid::Uuid::now_v7()));
    assert!((preference() - 0.2).abs() < 1e-9, "the like counted twice: {}", preference());
}

async fn a_home_or_preferences_changed_a_moment_ago_are_used_at_once_on_the_server_that_changed_them(backend: Backend) {
    // No follower: the engine hears of each change only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let mover = app.create_user(user("moving_to_tokyo")).await.unwrap();
    let bar = app.create_venue(venue("Corner Bar", 40.731)).await.unwrap();
    app.interested_in_venue(bar.id, mover.id, 100).await.expect("named, both are in the engine now");
    let distance = || async {
        let recs = app.recommend_venues(VenueQuery::new(mover.id, 10, Ranker::Seed2)).await.expect("venues");
        recs.iter().find(|r| r.venue_id == bar.id).and_then(|r| r.distance_km)
    };
    assert!(distance().await.is_some_and(|d| d < 1.0), "next door");

    let tokyo = UserPatchInput { home_lat: Some(Some(35.68)), home_lng: Some(Some(139.69)), ..Default::default() };
    app.update_user(mover.id, tokyo).await.expect("moved");
    let d = distance().await.expect("still listed");
    assert!(d > 10_000.0, "measured from the new home at once, not the old one: {d} km");
    let away = UserPatchInput { home_lat: Some(None), home_lng: Some(None), ..Default::default() };
    app.update_user(mover.id, away).await.expect("home forgotten");
    // No home: nothing to measure the seed's formula from, so seed2 refuses, naming `ranker`.
    let refused = app.recommend_venues(VenueQuery::new(mover.id, 10, Ranker::Seed2)).await.err();
    assert!(format!("{refused:?}").contains("\"ranker\""), "{refused:?}");

    let cheap = PreferencesInput { price_max: Some(1), ..Default::default() };
    app.put_preferences(mover.id, cheap).await.expect("preferences");
    let (_, context) =
        app.recommend_venues_in_context(VenueQuery::new(mover.id, 10, Ranker::Default)).await.expect("venues");
    let stated = context.preferences.expect("the preferences stated a moment ago");
    assert_eq!((stated.price_min, stated.price_max), (1, 1));
}

async fn a_venue_moved_a_moment_ago_is_measured_where_it_is_at_once_on_the_server_that_moved_it(backend: Backend) {
    // No follower: the engine hears of the move only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let local = app.create_user(user("stays_home")).await.unwrap();
    let bar = app.create_venue(venue("Moving Bar", 40.731)).await.unwrap();
    app.interested_in_venue(bar.id, local.id, 100).await.expect("named, both are in the engine now");
    let distance = || async {
        let recs = app.recommend_venues(VenueQuery::new(local.id, 10, Ranker::Seed2)).await.expect("venues");
        recs.iter().find(|r| r.venue_id == bar.id).map(|r| r.distance_km.expect("measured from home")).expect("listed")
    };
    assert!(distance().await < 1.0, "next door");

    let uptown = VenuePatchInput { lat: Some(40.80), lng: Some(-73.95), ..Default::default() };
    app.update_venue(bar.id, uptown).await.expect("moved");
    let d = distance().await;
    assert!((d - 8.5).abs() < 0.5, "measured where it is now, not where it was: {d} km");
}

async fn a_friendship_made_or_ended_a_moment_ago_is_seen_at_once_on_the_server_that_wrote_it(backend: Backend) {
    // No follower: the engine hears of each answer only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let (me, her) =
        (app.create_user(user("asks_first")).await.unwrap(), app.create_user(user("says_yes")).await.unwrap());
    let bar = app.create_venue(venue("Meeting Point", 40.731)).await.unwrap();
    app.express_interest(her.id, bar.id, InterestWish::at(None)).await.expect("interest");
    let seen = || async {
        let r = app.interested_in_venue(bar.id, me.id, 100).await.expect("who is interested");
        (r.friends_total, r.new_people_total)
    };
    assert_eq!(seen().await, (0, 1), "a stranger wants to go, and both are in the engine now");

    let request = app.send_friend_request(me.id, her.id).await.expect("asked");
    app.answer_friend_request(request.id, her.id, true).await.expect("accepted");
    assert_eq!(seen().await, (1, 0), "a friend at once");
    app.remove_friend(me.id, her.id).await.expect("unfriended");
    assert_eq!(seen().await, (0, 1), "a stranger again at once");
}

async fn a_booking_made_a_moment_ago_is_seen_at_once_on_the_server_that_made_it_and_counted_once(backend: Backend) {
    // No follower: the engine hears of the booking only from the call that made it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let diner = app.create_user(user("books_a_table")).await.unwrap();
    let bar = app.create_venue(venue("Booked Bar", 40.731)).await.unwrap();
    app.interested_in_venue(bar.id, diner.id, 100).await.expect("named, both are in the engine now");
    let new_to_them = || async {
        let mut q = VenueQuery::new(diner.id, 10, Ranker::Default);
        q.new_only = true;
        let recs = app.recommend_venues(q).await.expect("venues");
        recs.iter().any(|r| r.venue_id == bar.id)
    };
    let bookings = || {
        let map = app.city_map(0);
        let i = map.venues.id.iter().position(|&id| id == bar.id).expect("on the map");
        map.venues.bookings[i]
    };
    assert!(new_to_them().await, "never been there");

    let at = chrono::DurationRound::duration_trunc(
        chrono::Utc::now() + chrono::Duration::days(1),
        chrono::Duration::hours(1),
    )
    .unwrap();
    let input = domain::BookingInput {
        venue_id: bar.id,
        booking_time: Some(at),
        party_size: Some(2),
        group_members: Vec::new(),
        special_requests: None,
    };
    let receipt = app.create_booking(diner.id, input, None, chrono::Utc::now()).await.expect("booked").into_inner();
    assert!(!new_to_them().await, "booked there: no longer new to them, at once");
    assert_eq!(bookings(), 1);
    // The follower's copy of the event, a moment later, is not counted again.
    let booking = app.get_booking(receipt.booking_id).await.unwrap();
    app.engine.apply(DomainEvent::BookingCreated(booking), chrono::Utc::now(), Some(uuid::Uuid::now_v7()));
    assert_eq!(bookings(), 1, "the follower's copy counted again");
}

async fn a_plan_confirmed_a_moment_ago_is_seen_at_once_on_the_server_that_confirmed_it(backend: Backend) {
    // No follower: the engine hears of the plan's booking only from the call that confirmed it.
    let Some((_db, app)) = fresh_app(backend).await else { return };
    app.reload_engine().await.expect("load the empty engine");
    let (host, guest) =
        (app.create_user(user("hosts_a_night")).await.unwrap(), app.create_user(user("comes_along")).await.unwrap());
    let bar = app.create_venue(venue("Planned Bar", 40.731)).await.unwrap();
    app.interested_in_venue(bar.id, host.id, 100).await.expect("named, the host and venue are in the engine now");
    app.recommend_venues(VenueQuery::new(guest.id, 1, Ranker::Seed2)).await.expect("the guest is in the engine now");
    let new_to = |who: uuid::Uuid| {
        let app = app.clone();
        async move {
            let mut q = VenueQuery::new(who, 10, Ranker::Default);
            q.new_only = true;
            app.recommend_venues(q).await.expect("venues").iter().any(|r| r.venue_id == bar.id)
        }
    };
    let bookings = || {
        let map = app.city_map(0);
        let i = map.venues.id.iter().position(|&id| id == bar.id).expect("on the map");
        map.venues.bookings[i]
    };
    assert!(new_to(host.id).await && new_to(guest.id).await, "neither has been there");

    let at = chrono::DurationRound::duration_trunc(
        chrono::Utc::now() + chrono::Duration::days(1),
        chrono::Duration::hours(1),
    )
    .unwrap();
    let now = chrono::Utc::now();
    let input = domain::PlanInput {
        organizer_id: host.id,
        venue_id: bar.id,
        start_time: at,
        party_size: None,
        participant_ids: vec![guest.id],
    };
    let plan = app.create_plan(input, now).await.expect("a plan");
    app.answer_invitation(plan.id, guest.id, true, now).await.expect("accepted");
    app.confirm_plan(plan.id, None, now).await.expect("confirmed");
    assert_eq!(bookings(), 1, "the plan's booking is counted at once");
    assert!(!new_to(host.id).await && !new_to(guest.id).await, "booked there: no longer new to either, at once");
}
