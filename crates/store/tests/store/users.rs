//! Users and preferences.

use domain::{
    BookingStatus, DomainEvent, NewPlan, Page, PageRequest, ParticipantStatus, Persona, PlanStatus, UserPatch,
    UserPreferences,
};
use store::{DynStore, LiveLocation, StoreError, UserQuery};

use crate::fixtures::{
    booked, interaction, new_booking, new_user, pending_event_types, tomorrow_at, user, venue, venue_seating,
};
use crate::store_tests;

store_tests!(
    a_created_user_reads_back_by_id_and_by_handle,
    a_taken_handle_is_a_conflict_naming_handle,
    a_taken_email_is_a_conflict_naming_email_but_many_users_may_have_none,
    an_out_of_range_value_is_refused_by_the_database_naming_the_field,
    unknown_users_are_not_found,
    users_by_ids_come_in_the_order_asked_each_once_without_unknown_or_deleted_ones,
    an_update_changes_only_the_given_fields_and_can_clear_one,
    an_update_to_a_taken_handle_is_a_conflict_and_changes_nothing,
    deleting_a_user_removes_everything_that_hangs_off_it,
    deleting_a_user_first_cancels_what_others_count_on_and_tells_them,
    a_user_whose_table_is_in_use_is_deleted_once_it_ends,
    preferences_are_the_defaults_until_set_and_then_round_trip,
    a_user_created_with_preferences_stores_them_in_the_same_transaction,
    users_are_listed_in_id_order_one_page_at_a_time,
    users_filter_by_persona_and_literal_handle_prefix,
    live_locations_keep_the_latest_per_user_and_go_with_the_user,
);

async fn a_created_user_reads_back_by_id_and_by_handle(store: DynStore) {
    let mut new = new_user("alice");
    new.email = Some("alice@example.com".into());
    new.home_lat = Some(40.7);
    new.home_lng = Some(-73.9);
    new.persona = Some(Persona::FoodieExplorer);
    let created = store.create_user(new.clone()).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.handle, "alice");
    assert_eq!(created.persona, Some(Persona::FoodieExplorer));
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(store.get_user(created.id).await.unwrap(), created);
    assert_eq!(store.get_user_by_handle(" ALICE ").await.unwrap(), created);
}

async fn a_taken_handle_is_a_conflict_naming_handle(store: DynStore) {
    user(&store, "bob").await;
    let err = store.create_user(new_user("bob")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "handle"), "{err:?}");
    assert_eq!(store.counts().await.unwrap().users, 1);
    // Handle and email both taken: handle is named on both backends (QA: PostgreSQL named the
    // handle, SQLite the email).
    let mut taken = new_user("dora");
    taken.email = Some("dora@example.com".into());
    store.create_user(taken.clone()).await.unwrap();
    taken.id = uuid::Uuid::now_v7();
    let err = store.create_user(taken).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "handle"), "{err:?}");
}

async fn a_taken_email_is_a_conflict_naming_email_but_many_users_may_have_none(store: DynStore) {
    user(&store, "nomail1").await;
    user(&store, "nomail2").await;
    let mut a = new_user("carol");
    a.email = Some("c@example.com".into());
    store.create_user(a).await.unwrap();
    let mut b = new_user("carol2");
    b.email = Some("c@example.com".into());
    let err = store.create_user(b).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "email"), "{err:?}");
}

async fn an_out_of_range_value_is_refused_by_the_database_naming_the_field(store: DynStore) {
    // Bypass the domain's parse() to prove the database holds the line by itself.
    let mut too_young = new_user("kid");
    too_young.age = Some(7);
    let err = store.create_user(too_young).await.unwrap_err();
    let StoreError::Invalid(v) = err else { panic!("expected Invalid, got {err:?}") };
    assert_eq!(v.0[0].field, "age");
    let mut far = new_user("far");
    far.home_lat = Some(91.0);
    far.home_lng = Some(0.0);
    let StoreError::Invalid(v) = store.create_user(far).await.unwrap_err() else { panic!("expected Invalid") };
    assert_eq!(v.0[0].field, "home_lat");
    assert_eq!(store.counts().await.unwrap().users, 0);
}

async fn unknown_users_are_not_found(store: DynStore) {
    let id = domain::new_id();
    let is_user_not_found = |e: StoreError| matches!(e, StoreError::NotFound { entity: "user", .. });
    assert!(is_user_not_found(store.get_user(id).await.unwrap_err()));
    assert!(is_user_not_found(store.get_user_by_handle("nobody").await.unwrap_err()));
    assert!(is_user_not_found(store.update_user(id, UserPatch::default()).await.unwrap_err()));
    assert!(is_user_not_found(store.delete_user(id, chrono::Utc::now()).await.unwrap_err()));
    assert!(is_user_not_found(store.get_preferences(id).await.unwrap_err()));
    assert!(is_user_not_found(store.put_preferences(id, UserPreferences::default()).await.unwrap_err()));
    assert!(is_user_not_found(store.list_user_interactions(id, PageRequest::default()).await.unwrap_err()));
    assert!(is_user_not_found(store.list_friends(id, PageRequest::default()).await.unwrap_err()));
}

/// `users_by_ids` (the admin names lookup): the users found in the order asked, a repeated id
/// once at its first place, unknown and deleted ids left out; more ids than one statement's
/// chunk are asked in several and still come back in order.
async fn users_by_ids_come_in_the_order_asked_each_once_without_unknown_or_deleted_ones(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let gone = user(&store, "gone").await;
    store.delete_user(gone.id, chrono::Utc::now()).await.unwrap();
    let unknown = domain::new_id();
    let asked = [cat.id, unknown, ann.id, gone.id, cat.id, ben.id, ann.id];
    let found = store.users_by_ids(&asked).await.unwrap();
    assert_eq!(found, [cat.clone(), ann.clone(), ben.clone()]);
    assert!(store.users_by_ids(&[]).await.unwrap().is_empty());
    assert!(store.users_by_ids(&[unknown, gone.id]).await.unwrap().is_empty());
    let mut many: Vec<_> = (0..2500).map(|_| domain::new_id()).collect();
    many.insert(2400, ann.id);
    many.insert(1500, ben.id);
    many.insert(10, cat.id);
    let ids: Vec<_> = store.users_by_ids(&many).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, [cat.id, ben.id, ann.id]);
}

async fn an_update_changes_only_the_given_fields_and_can_clear_one(store: DynStore) {
    let mut new = new_user("dave");
    new.email = Some("dave@example.com".into());
    new.city = Some("Brooklyn".into());
    let before = store.create_user(new).await.unwrap();
    let patch = UserPatch {
        name: Some("Dave D".into()),
        email: Some(None),
        home: Some(Some((40.6, -73.95))),
        activity_score: Some(0.9),
        ..Default::default()
    };
    let after = store.update_user(before.id, patch.clone()).await.unwrap().value;
    let mut expected = before.clone();
    patch.apply(&mut expected);
    expected.updated_at = after.updated_at;
    assert_eq!(after, expected);
    assert_eq!(after.city.as_deref(), Some("Brooklyn"));
    assert!(after.updated_at >= before.updated_at);
    assert_eq!(store.get_user(before.id).await.unwrap(), after);
    assert_eq!(pending_event_types(&store).await, ["user.created", "user.updated"]);
    // The home location is forgotten as a pair.
    let cleared =
        store.update_user(before.id, UserPatch { home: Some(None), ..Default::default() }).await.unwrap().value;
    assert_eq!((cleared.home_lat, cleared.home_lng, cleared.name.as_str()), (None, None, "Dave D"));
}

async fn an_update_to_a_taken_handle_is_a_conflict_and_changes_nothing(store: DynStore) {
    user(&store, "erin").await;
    let frank = user(&store, "frank").await;
    let patch = UserPatch { handle: Some("erin".into()), name: Some("Changed".into()), ..Default::default() };
    let err = store.update_user(frank.id, patch).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "handle"), "{err:?}");
    assert_eq!(store.get_user(frank.id).await.unwrap(), frank);
    assert_eq!(pending_event_types(&store).await, ["user.created", "user.created"]);
}

async fn deleting_a_user_removes_everything_that_hangs_off_it(store: DynStore) {
    let gina = user(&store, "gina").await;
    let hal = user(&store, "hal").await;
    let v = venue(&store, "Bar One").await;
    interaction(&store, &gina, &v).await;
    interaction(&store, &hal, &v).await;
    store.put_preferences(gina.id, UserPreferences::default()).await.unwrap();
    store.express_interest(gina.id, v.id, domain::InterestWish::at(None)).await.unwrap();
    let request = store.send_friend_request(gina.id, hal.id).await.unwrap();
    store.answer_friend_request(request.id, hal.id, true).await.unwrap();
    let ivan = user(&store, "ivan").await;
    store.send_friend_request(ivan.id, gina.id).await.unwrap();
    store.send_friend_request(hal.id, ivan.id).await.unwrap();

    store.delete_user(gina.id, chrono::Utc::now()).await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.users, counts.interactions, counts.social_edges), (2, 1, 0));
    assert_eq!((counts.friend_requests, counts.venue_interests), (1, 0));
    assert_eq!(store.scan_users(None, 10).await.unwrap().iter().filter(|(_, p)| p.is_some()).count(), 0);
    assert!(pending_event_types(&store).await.ends_with(&["user.deleted".to_string()]));
}

async fn a_user_whose_table_is_in_use_is_deleted_once_it_ends(store: DynStore) {
    let (gina, hal) = (user(&store, "gina").await, user(&store, "hal").await);
    let v = venue_seating(&store, "Corner", 4).await;
    let now = chrono::Utc::now();
    // Gina and Hal sat down half an hour ago for two hours.
    let mut table = new_booking(&gina, &v, now - chrono::Duration::minutes(30), 2);
    table.request.group_members = vec![hal.id];
    let table = booked(&store, table).await.booking;
    let err = store.delete_user(gina.id, now).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { message, .. } if message.contains(&table.id.to_string())), "{err:?}");
    assert_eq!(store.get_booking(table.id).await.unwrap().status, BookingStatus::Confirmed);
    assert!(store.get_user(gina.id).await.is_ok());
    // Once it has ended, she goes; the table stays Hal's history, without its booker (0013).
    store.delete_user(gina.id, table.ends_at()).await.unwrap();
    assert!(store.get_user(gina.id).await.is_err());
    let table = store.get_booking(table.id).await.unwrap();
    assert_eq!((table.user_id, table.status, table.group_members), (None, BookingStatus::Confirmed, vec![hal.id]));
}

async fn deleting_a_user_first_cancels_what_others_count_on_and_tells_them(store: DynStore) {
    let (gina, hal, ivan) = (user(&store, "gina").await, user(&store, "hal").await, user(&store, "ivan").await);
    let v = venue_seating(&store, "Corner", 20).await;
    let now = chrono::Utc::now();
    let plan = |organizer: &domain::User, invitee: &domain::User, hour: u32| NewPlan {
        id: domain::new_id(),
        organizer_id: organizer.id,
        venue_id: v.id,
        start_time: tomorrow_at(hour, 0),
        party_size: None,
        invitees: vec![invitee.id],
    };
    // Gina booked a table for her and Hal tomorrow, and one last week; she organises a plan
    // with Ivan, and Hal invited her to his.
    let mut table = new_booking(&gina, &v, tomorrow_at(19, 0), 2);
    table.request.group_members = vec![hal.id];
    let table = booked(&store, table).await.booking;
    booked(&store, new_booking(&gina, &v, tomorrow_at(19, 0) - chrono::Duration::days(7), 2)).await;
    let hers = store.create_plan(plan(&gina, &ivan, 20)).await.unwrap();
    let his = store.create_plan(plan(&hal, &gina, 21)).await.unwrap();
    store.answer_plan_invitation(his.id, gina.id, true).await.unwrap();
    // Ivan's booking is his own business; Hal's counts Gina in.
    let ivans = booked(&store, new_booking(&ivan, &v, tomorrow_at(18, 0), 2)).await.booking;
    let mut hals = new_booking(&hal, &v, tomorrow_at(17, 0), 3);
    hals.request.group_members = vec![gina.id, ivan.id];
    let hals = booked(&store, hals).await.booking;
    let events_before = pending_event_types(&store).await.len();

    let cancelled = store.delete_user(gina.id, now).await.unwrap();
    assert_eq!(cancelled.iter().map(|b| (b.id, b.status)).collect::<Vec<_>>(), [(table.id, BookingStatus::Cancelled)]);
    let events = store.unpublished_events(1000).await.unwrap().events;
    let new: Vec<&DomainEvent> = events[events_before..].iter().map(|r| &r.event).collect();
    let types: Vec<String> = new.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["booking.status_changed", "plan.cancelled", "plan.participant_updated", "user.deleted"]);
    assert!(matches!(new[0], DomainEvent::BookingStatusChanged(b) if b.id == table.id && b.group_members == [hal.id]));
    assert!(matches!(new[1], DomainEvent::PlanCancelled(p) if p.id == hers.id));
    assert!(
        matches!(new[2], DomainEvent::ParticipantUpdated(p) if p.plan_id == his.id && p.user_id == gina.id && p.status == ParticipantStatus::Declined)
    );
    // Hal's plan goes on without her; Ivan's booking is untouched.
    let his = store.get_plan(his.id).await.unwrap();
    assert_eq!(his.status, PlanStatus::Draft);
    assert!(his.participants.iter().all(|p| p.user_id != gina.id), "{his:?}");
    assert_eq!(store.get_booking(ivans.id).await.unwrap().status, BookingStatus::Confirmed);
    // Hal's table keeps its seats, without her among its members.
    let hals = store.get_booking(hals.id).await.unwrap();
    assert_eq!((hals.status, hals.party_size, hals.group_members), (BookingStatus::Confirmed, 3, vec![ivan.id]));
    // Her cancelled table stays, without its booker, as Hal was told of it (0013).
    let table = store.get_booking(table.id).await.unwrap();
    assert_eq!((table.user_id, table.status, table.group_members), (None, BookingStatus::Cancelled, vec![hal.id]));
    // Her plan stays for Ivan, cancelled and without an organizer.
    let hers = store.get_plan(hers.id).await.unwrap();
    assert_eq!((hers.status, hers.organizer_id), (PlanStatus::Cancelled, None));
    assert_eq!(hers.participants.iter().map(|p| p.user_id).collect::<Vec<_>>(), [ivan.id]);
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

async fn preferences_are_the_defaults_until_set_and_then_round_trip(store: DynStore) {
    let u = user(&store, "jane").await;
    assert_eq!(store.get_preferences(u.id).await.unwrap(), UserPreferences::default());
    let prefs = UserPreferences {
        cuisines: vec!["japanese".into(), "ramen".into()],
        price_min: 2,
        price_max: 3,
        ambiance: vec!["cozy".into()],
        dietary: vec!["vegetarian".into()],
        preferred_group_size: 4,
        openness: 0.8,
    };
    assert_eq!(store.put_preferences(u.id, prefs.clone()).await.unwrap().value, prefs);
    assert_eq!(store.get_preferences(u.id).await.unwrap(), prefs);
    let changed = UserPreferences { price_max: 4, ..prefs };
    store.put_preferences(u.id, changed.clone()).await.unwrap();
    assert_eq!(store.get_preferences(u.id).await.unwrap(), changed);
    let inverted = UserPreferences { price_min: 4, price_max: 1, ..UserPreferences::default() };
    assert!(matches!(store.put_preferences(u.id, inverted).await, Err(StoreError::Invalid(_))));
}

async fn a_user_created_with_preferences_stores_them_in_the_same_transaction(store: DynStore) {
    let mut new = new_user("kim");
    let prefs = UserPreferences { cuisines: vec!["thai".into()], ..Default::default() };
    new.preferences = Some(prefs.clone());
    let u = store.create_user(new).await.unwrap();
    assert_eq!(store.get_preferences(u.id).await.unwrap(), prefs);
    assert_eq!(pending_event_types(&store).await, ["user.created", "user.preferences_updated"]);
    // Invalid preferences refuse the whole user.
    let mut bad = new_user("lee");
    bad.preferences = Some(UserPreferences { openness: 2.0, ..Default::default() });
    assert!(matches!(store.create_user(bad).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.get_user_by_handle("lee").await, Err(StoreError::NotFound { .. })));
}

async fn users_are_listed_in_id_order_one_page_at_a_time(store: DynStore) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(user(&store, &format!("user{i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page: Page<_> = store.list_users(&UserQuery::default(), PageRequest { limit: 3, after }).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    ids.sort();
    assert_eq!(seen, ids);
    let exact = store.list_users(&UserQuery::default(), PageRequest { limit: 7, after: None }).await.unwrap();
    assert_eq!((exact.items.len(), exact.next), (7, None));
}

async fn users_filter_by_persona_and_literal_handle_prefix(store: DynStore) {
    let mut a = new_user("ab_one");
    a.persona = Some(Persona::BudgetConscious);
    store.create_user(a).await.unwrap();
    user(&store, "abcde").await;
    user(&store, "zed").await;
    let handles = |p: Page<domain::User>| p.items.into_iter().map(|u| u.handle).collect::<Vec<_>>();
    let q = UserQuery { handle_prefix: Some("ab".into()), persona: None };
    assert_eq!(handles(store.list_users(&q, PageRequest::default()).await.unwrap()), ["ab_one", "abcde"]);
    // `_` is a literal underscore, not a LIKE wildcard.
    let q = UserQuery { handle_prefix: Some("AB_".into()), persona: None };
    assert_eq!(handles(store.list_users(&q, PageRequest::default()).await.unwrap()), ["ab_one"]);
    let q = UserQuery { handle_prefix: None, persona: Some(Persona::BudgetConscious) };
    assert_eq!(handles(store.list_users(&q, PageRequest::default()).await.unwrap()), ["ab_one"]);
}

async fn live_locations_keep_the_latest_per_user_and_go_with_the_user(store: DynStore) {
    use chrono::SubsecRound;
    let (a, b) = (user(&store, "walker").await, user(&store, "sitter").await);
    let now = chrono::Utc::now().trunc_subsecs(6);
    let at = |mins: i64| now - chrono::Duration::minutes(mins);
    let loc = |u: &domain::User, lat: f64, mins: i64| LiveLocation { user_id: u.id, lat, lng: -73.99, at: at(mins) };
    store.set_live_location(loc(&a, 40.70, 10)).await.unwrap();
    store.set_live_location(loc(&a, 40.71, 5)).await.unwrap();
    // An older update stored late (another server's) does not replace the newer one.
    store.set_live_location(loc(&a, 40.60, 8)).await.unwrap();
    store.set_live_location(loc(&b, 40.80, 300)).await.unwrap();
    let mut expected = vec![loc(&a, 40.71, 5), loc(&b, 40.80, 300)];
    expected.sort_by_key(|l| l.user_id);
    assert_eq!(store.scan_live_locations(at(1000), None, 10).await.unwrap(), expected);
    // Only those sent since the given time, a page at a time.
    assert_eq!(store.scan_live_locations(at(120), None, 10).await.unwrap(), vec![loc(&a, 40.71, 5)]);
    let first = store.scan_live_locations(at(1000), None, 1).await.unwrap();
    assert_eq!(store.scan_live_locations(at(1000), Some(first[0].user_id), 10).await.unwrap(), expected[1..]);
    // One user's, however old; none for a user who never sent one.
    assert_eq!(store.get_live_location(a.id).await.unwrap(), Some(loc(&a, 40.71, 5)));
    assert_eq!(store.get_live_location(b.id).await.unwrap(), Some(loc(&b, 40.80, 300)));
    let still = user(&store, "still").await;
    assert_eq!(store.get_live_location(still.id).await.unwrap(), None);
    // Unknown users are not found; a deleted user's location goes with them.
    let ghost = LiveLocation { user_id: domain::new_id(), ..loc(&a, 40.0, 0) };
    assert!(matches!(store.set_live_location(ghost).await, Err(StoreError::NotFound { .. })));
    store.delete_user(a.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(store.scan_live_locations(at(1000), None, 10).await.unwrap(), vec![loc(&b, 40.80, 300)]);
    assert_eq!(store.get_live_location(a.id).await.unwrap(), None);
    assert!(matches!(store.set_live_location(loc(&a, 40.7, 0)).await, Err(StoreError::NotFound { .. })));
    assert!(store.check_invariants().await.unwrap().is_empty());
}
