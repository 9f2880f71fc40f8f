//! Venues and venue search.

use domain::geo::KM_PER_DEG_LAT;
use domain::{
    BookingStatus, Category, DomainEvent, LatLng, NewPlan, OpeningHours, PageRequest, PlanStatus, Venue, VenuePatch,
};
use store::{DynStore, StoreError, VenueQuery};

use crate::fixtures::{
    booked, interaction, new_booking, new_venue, pending_event_types, tomorrow_at, user, venue, venue_seating,
};
use crate::store_tests;

store_tests!(
    a_created_venue_round_trips_with_tags_and_opening_hours,
    a_venue_moved_without_a_zone_takes_its_new_places_and_its_place_sent_again_keeps_its_own,
    text_search_matches_name_description_cuisine_or_tags_ignoring_case,
    text_search_treats_like_wildcards_literally,
    text_search_finds_a_name_whichever_unicode_form_it_or_the_query_is_in,
    venues_filter_by_category_and_price_range,
    a_radius_search_keeps_only_venues_inside_the_circle_with_full_pages,
    an_update_changes_only_the_given_fields_and_can_clear_the_hours,
    deleting_a_venue_removes_its_interactions_and_interests,
    a_venue_with_upcoming_bookings_or_plans_is_deleted_only_by_force_which_cancels_them,
    a_deleted_venue_is_found_by_no_read_and_takes_nothing_new,
    of_any_number_of_ids_the_deleted_venues_are_told_apart_from_live_and_unknown_ones,
    deleting_a_venue_gives_back_holds_under_way_and_cancels_plans_left_undecided,
    a_venue_cannot_shrink_under_the_party_of_a_plan_still_to_come,
    a_capacity_change_and_an_acceptance_racing_never_both_pass,
    unknown_venues_are_not_found,
);

/// A point `north_km` north and `east_km` east of `c`.
fn offset(c: LatLng, north_km: f64, east_km: f64) -> (f64, f64) {
    (c.lat + north_km / KM_PER_DEG_LAT, c.lng + east_km / (KM_PER_DEG_LAT * c.lat.to_radians().cos()))
}

fn names(venues: &[Venue]) -> Vec<&str> {
    venues.iter().map(|v| v.name.as_str()).collect()
}

async fn search(store: &DynStore, query: VenueQuery) -> Vec<Venue> {
    store.list_venues(&query, PageRequest { limit: 500, after: None }).await.unwrap().items
}

fn text(t: &str) -> VenueQuery {
    VenueQuery { text: Some(t.into()), ..Default::default() }
}

async fn a_created_venue_round_trips_with_tags_and_opening_hours(store: DynStore) {
    let mut new = new_venue("Sunset Rooftop Bar", Category::Bar, 40.7325, -73.99);
    new.description = Some("Rooftop cocktails with skyline view.".into());
    new.tags = vec!["rooftop".into(), "cozy".into()];
    let mut hours = OpeningHours::every_day(&[(17 * 60, 26 * 60)]);
    hours.days[0].clear();
    new.opening_hours = Some(hours);
    new.price_level = Some(3);
    new.rating = Some(4.7);
    let created = store.create_venue(new.clone()).await.unwrap();
    assert_eq!((created.id, &created.tags, &created.opening_hours), (new.id, &new.tags, &new.opening_hours));
    assert_eq!(store.get_venue(created.id).await.unwrap(), created);
    assert_eq!(pending_event_types(&store).await, ["venue.created"]);
}

async fn text_search_matches_name_description_cuisine_or_tags_ignoring_case(store: DynStore) {
    let mut a = new_venue("Sunset Rooftop", Category::Bar, 40.73, -73.99);
    a.tags = vec!["live_music".into()];
    let mut b = new_venue("Noodle House", Category::Restaurant, 40.73, -73.99);
    b.description = Some("Hand-pulled RAMEN".into());
    b.cuisine = Some("japanese".into());
    store.create_venue(a).await.unwrap();
    store.create_venue(b).await.unwrap();
    assert_eq!(names(&search(&store, text("ROOFTOP")).await), ["Sunset Rooftop"]);
    assert_eq!(names(&search(&store, text("ramen")).await), ["Noodle House"]);
    assert_eq!(names(&search(&store, text("Japan")).await), ["Noodle House"]);
    assert_eq!(names(&search(&store, text("live_music")).await), ["Sunset Rooftop"]);
    assert_eq!(search(&store, text("  ")).await.len(), 2);
    assert!(search(&store, text("karaoke")).await.is_empty());
    // Any alphabet: SQLite's own lower() folds ASCII only.
    store.create_venue(new_venue("ÉCLAIR Ωmega", Category::Cafe, 40.73, -73.99)).await.unwrap();
    for q in ["éclair", "ÉCLAIR", "Éclair", "ωMEGA"] {
        assert_eq!(names(&search(&store, text(q)).await), ["ÉCLAIR Ωmega"], "{q}");
    }
    // Greek's final sigma: typed in capitals, or with a middle sigma, it is still found.
    store.create_venue(new_venue("Καφές", Category::Cafe, 40.73, -73.99)).await.unwrap();
    for q in ["ΚΑΦΈΣ", "καφέσ", "Καφές"] {
        assert_eq!(names(&search(&store, text(q)).await), ["Καφές"], "{q}");
    }
}

async fn text_search_treats_like_wildcards_literally(store: DynStore) {
    store.create_venue(new_venue("100% Agave", Category::Bar, 40.73, -73.99)).await.unwrap();
    store.create_venue(new_venue("1000 Lanes", Category::Sports, 40.73, -73.99)).await.unwrap();
    store.create_venue(new_venue("Back\\Slash", Category::Bar, 40.73, -73.99)).await.unwrap();
    assert_eq!(names(&search(&store, text("100%")).await), ["100% Agave"]);
    assert_eq!(names(&search(&store, text("10_")).await), Vec::<&str>::new());
    assert_eq!(names(&search(&store, text("k\\s")).await), ["Back\\Slash"]);
    // Nor are GLOB's.
    store.create_venue(new_venue("Star*Bar? [Late]", Category::Bar, 40.73, -73.99)).await.unwrap();
    assert_eq!(names(&search(&store, text("r*b")).await), ["Star*Bar? [Late]"]);
    assert_eq!(names(&search(&store, text("[late]")).await), ["Star*Bar? [Late]"]);
    assert!(search(&store, text("s*r")).await.is_empty());
    assert!(search(&store, text("bar?x")).await.is_empty());
}

/// "é" is one code point in NFC and "e" + U+0301 in NFD; keyboards and clients send either.
async fn text_search_finds_a_name_whichever_unicode_form_it_or_the_query_is_in(store: DynStore) {
    let composed = store.create_venue(new_venue("Café Noir", Category::Cafe, 40.73, -73.99)).await.unwrap();
    let mut decomposed = new_venue("Cre\u{300}me Bru\u{302}le\u{301}e", Category::Cafe, 40.73, -73.99);
    decomposed.description = Some("Pa\u{302}tisserie".into());
    decomposed.cuisine = Some("franc\u{327}aise".into());
    decomposed.tags = vec!["the\u{301}".into()];
    let decomposed = store.create_venue(decomposed).await.unwrap();
    // Written in NFC, whichever form was sent.
    assert_eq!(decomposed.name, "Crème Brûlée");
    assert_eq!(store.get_venue(decomposed.id).await.unwrap(), decomposed);
    assert_eq!(
        (decomposed.description.as_deref(), decomposed.cuisine.as_deref(), decomposed.tags.as_slice()),
        (Some("Pâtisserie"), Some("française"), ["thé".to_string()].as_slice())
    );
    for q in ["cafe\u{301}", "CAFE\u{301}", "café", "CAFÉ"] {
        assert_eq!(names(&search(&store, text(q)).await), [composed.name.as_str()], "{q:?}");
    }
    for q in ["bru\u{302}le\u{301}e", "BRÛLÉE", "pa\u{302}tisserie", "FRANÇAISE", "the\u{301}"] {
        assert_eq!(names(&search(&store, text(q)).await), ["Crème Brûlée"], "{q:?}");
    }
    // An update is written in NFC too.
    let patch = VenuePatch { name: Some("Cafe\u{301} Blanc".into()), ..Default::default() };
    assert_eq!(store.update_venue(composed.id, patch).await.unwrap().value.name, "Café Blanc");
    assert_eq!(names(&search(&store, text("CAFÉ BLANC")).await), ["Café Blanc"]);
}

async fn venues_filter_by_category_and_price_range(store: DynStore) {
    for (name, category, price) in [
        ("Cheap Bar", Category::Bar, Some(1)),
        ("Fancy Bar", Category::Bar, Some(4)),
        ("Mid Cafe", Category::Cafe, Some(2)),
        ("Unpriced Bar", Category::Bar, None),
    ] {
        let mut v = new_venue(name, category, 40.73, -73.99);
        v.price_level = price;
        store.create_venue(v).await.unwrap();
    }
    let bars = search(&store, VenueQuery { category: Some(Category::Bar), ..Default::default() }).await;
    assert_eq!(names(&bars), ["Cheap Bar", "Fancy Bar", "Unpriced Bar"]);
    let q = VenueQuery { price_min: Some(2), price_max: Some(4), ..Default::default() };
    assert_eq!(names(&search(&store, q).await), ["Fancy Bar", "Mid Cafe"]);
    let q = VenueQuery { category: Some(Category::Bar), price_max: Some(2), ..Default::default() };
    assert_eq!(names(&search(&store, q).await), ["Cheap Bar"]);
}

async fn a_radius_search_keeps_only_venues_inside_the_circle_with_full_pages(store: DynStore) {
    let center = LatLng { lat: 40.7580, lng: -73.9855 };
    let places = [
        ("in-0.5n", 0.5, 0.0, true),
        ("in-1.5e", 0.0, 1.5, true),
        ("in-1.2sw", -1.2, -1.2, true),
        ("corner-1.9ne", 1.9, 1.9, false), // inside the bounding box, outside the circle
        ("out-2.5w", 0.0, -2.5, false),
        ("out-10s", -10.0, 0.0, false),
    ];
    let mut inside = Vec::new();
    for (name, north, east, is_inside) in places {
        let (lat, lng) = offset(center, north, east);
        let v = store.create_venue(new_venue(name, Category::Cafe, lat, lng)).await.unwrap();
        if is_inside {
            inside.push(v.name);
        }
    }
    let near = VenueQuery { near: Some((center, 2.0)), ..Default::default() };
    assert_eq!(names(&search(&store, near.clone()).await), inside);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_venues(&near, PageRequest { limit: 2, after }).await.unwrap();
        if page.next.is_some() {
            assert_eq!(page.items.len(), 2, "every page but the last is full");
        }
        paged.extend(page.items.into_iter().map(|v| v.name));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, inside);
}

async fn an_update_changes_only_the_given_fields_and_can_clear_the_hours(store: DynStore) {
    let mut new = new_venue("Cafe Uno", Category::Cafe, 40.73, -73.99);
    new.opening_hours = Some(OpeningHours::every_day(&[(8 * 60, 18 * 60)]));
    let before = store.create_venue(new).await.unwrap();
    let patch = VenuePatch {
        name: Some("Cafe Due".into()),
        tags: Some(vec!["wifi".into()]),
        opening_hours: Some(None),
        price_level: Some(None),
        location: Some((40.74, -73.98)),
        ..Default::default()
    };
    let after = store.update_venue(before.id, patch.clone()).await.unwrap().value;
    let mut expected = before.clone();
    patch.apply(&mut expected);
    expected.updated_at = after.updated_at;
    assert_eq!(after, expected);
    assert_eq!(store.get_venue(before.id).await.unwrap(), after);
    let bad = VenuePatch { rating: Some(Some(9.0)), ..Default::default() };
    let err = store.update_venue(before.id, bad).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(v) if v.0[0].field == "rating"), "{err:?}");
}

/// QA 39: a PATCH sending a venue's place again took the zone found there over the one given
/// before. The update compares with the row's place as it commits.
async fn a_venue_moved_without_a_zone_takes_its_new_places_and_its_place_sent_again_keeps_its_own(store: DynStore) {
    let mut new = new_venue("Ramen Bar", Category::Restaurant, 40.73, -73.93);
    new.timezone = "Asia/Tokyo".into();
    let v = store.create_venue(new).await.unwrap();
    let patch = |lat: f64, lng: f64| {
        let input = domain::venue::VenuePatchInput { lat: Some(lat), lng: Some(lng), ..Default::default() };
        VenuePatch::parse(input).unwrap()
    };
    let again = store.update_venue(v.id, patch(40.73, -73.93)).await.unwrap().value;
    assert_eq!(again.timezone, "Asia/Tokyo", "its place sent again is no move");
    let moved = store.update_venue(v.id, patch(48.85, 2.35)).await.unwrap().value;
    assert_eq!((moved.lat, moved.lng, moved.timezone.as_str()), (48.85, 2.35, "Europe/Paris"));
    assert_eq!(store.get_venue(v.id).await.unwrap().timezone, "Europe/Paris");
}

async fn deleting_a_venue_removes_its_interactions_and_interests(store: DynStore) {
    let u = user(&store, "mia").await;
    let v = store.create_venue(new_venue("Gone", Category::Bar, 40.73, -73.99)).await.unwrap();
    let keep = store.create_venue(new_venue("Kept", Category::Bar, 40.73, -73.99)).await.unwrap();
    interaction(&store, &u, &v).await;
    interaction(&store, &u, &keep).await;
    store.express_interest(u.id, v.id, domain::InterestWish::at(None)).await.unwrap();
    store.delete_venue(v.id, chrono::Utc::now(), false).await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.venues, counts.interactions, counts.venue_interests), (1, 1, 0));
    assert!(matches!(store.get_venue(v.id).await, Err(StoreError::NotFound { entity: "venue", .. })));
    assert!(pending_event_types(&store).await.ends_with(&["venue.deleted".to_string()]));
}

async fn a_venue_with_upcoming_bookings_or_plans_is_deleted_only_by_force_which_cancels_them(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "Busy", 20).await;
    let now = chrono::Utc::now();
    // A booking that ended yesterday holds nothing; one tomorrow and a plan tomorrow do.
    let past = booked(&store, new_booking(&ann, &v, tomorrow_at(19, 0) - chrono::Duration::days(2), 2)).await;
    let booking = booked(&store, new_booking(&ben, &v, tomorrow_at(19, 0), 2)).await.booking;
    let plan = NewPlan {
        id: domain::new_id(),
        organizer_id: ann.id,
        venue_id: v.id,
        start_time: tomorrow_at(20, 0),
        party_size: None,
        invitees: vec![ben.id],
    };
    let plan = store.create_plan(plan).await.unwrap();
    let before = store.counts().await.unwrap();
    let events_before = pending_event_types(&store).await.len();

    let err = store.delete_venue(v.id, now, false).await.unwrap_err();
    let StoreError::Conflict { message, field } = &err else { panic!("expected a conflict, got {err:?}") };
    assert_eq!(field.as_deref(), Some("venue_id"));
    assert!(message.starts_with("the venue has 1 upcoming booking and 1 plan being organised"), "{message}");
    assert_eq!(store.counts().await.unwrap(), before, "a refused delete changes nothing");
    assert_eq!(pending_event_types(&store).await.len(), events_before);
    assert_eq!(store.get_booking(booking.id).await.unwrap().status, BookingStatus::Confirmed);

    // Once the booking is under way it is no longer upcoming (it cannot be cancelled); the plan still is.
    let err = store.delete_venue(v.id, tomorrow_at(19, 30), false).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { message, .. } if message.contains("0 upcoming bookings and 1 plan "))
    );

    let cancelled = store.delete_venue(v.id, now, true).await.unwrap();
    assert_eq!(
        cancelled.iter().map(|b| (b.id, b.status)).collect::<Vec<_>>(),
        [(booking.id, BookingStatus::Cancelled)]
    );
    assert!(matches!(store.get_venue(v.id).await, Err(StoreError::NotFound { entity: "venue", .. })));
    let events = store.unpublished_events(1000).await.unwrap().events;
    let new: Vec<_> = events[events_before..].iter().map(|r| &r.event).collect();
    let types: Vec<String> = new.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["booking.status_changed", "plan.cancelled", "venue.deleted"]);
    assert!(
        matches!(new[0], DomainEvent::BookingStatusChanged(b) if b.id == booking.id && b.status == BookingStatus::Cancelled),
        "{:?}",
        new[0]
    );
    assert!(matches!(new[1], DomainEvent::PlanCancelled(p) if p.id == plan.id && p.status == PlanStatus::Cancelled));
    assert!(!new.iter().any(|e| matches!(e, DomainEvent::BookingStatusChanged(b) if b.id == past.booking.id)));
    // The people's evenings stay in their history: the cancelled booking and plan, and the past one.
    assert_eq!(store.get_booking(booking.id).await.unwrap().status, BookingStatus::Cancelled);
    assert_eq!(store.get_booking(past.booking.id).await.unwrap(), past.booking);
    assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Cancelled);
    let after = store.counts().await.unwrap();
    assert_eq!((after.venues, after.bookings, after.plans), (before.venues - 1, before.bookings, before.plans));
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

async fn a_deleted_venue_is_found_by_no_read_and_takes_nothing_new(store: DynStore) {
    let ann = user(&store, "ann").await;
    let gone = venue_seating(&store, "Gone", 20).await;
    let kept = venue_seating(&store, "Kept", 20).await;
    booked(&store, new_booking(&ann, &gone, tomorrow_at(19, 0) - chrono::Duration::days(2), 2)).await;
    store.delete_venue(gone.id, chrono::Utc::now(), false).await.unwrap();

    let not_found =
        |e: StoreError| matches!(e, StoreError::NotFound { entity: "venue", id } if id == gone.id.to_string());
    assert!(not_found(store.get_venue(gone.id).await.unwrap_err()));
    assert!(not_found(store.update_venue(gone.id, VenuePatch::default()).await.unwrap_err()));
    assert!(not_found(store.delete_venue(gone.id, chrono::Utc::now(), true).await.unwrap_err()));
    assert_eq!(names(&search(&store, VenueQuery::default()).await), ["Kept"]);
    let scanned = store.scan_venues(None, 100).await.unwrap();
    assert_eq!(scanned.iter().map(|v| v.id).collect::<Vec<_>>(), [kept.id]);

    let before = store.counts().await.unwrap();
    let events_before = pending_event_types(&store).await.len();
    let like = crate::fixtures::new_interaction(&ann, &gone, domain::InteractionType::Like);
    assert!(not_found(store.record_interaction(like).await.unwrap_err()));
    assert!(not_found(store.express_interest(ann.id, gone.id, domain::InterestWish::at(None)).await.unwrap_err()));
    let plan = NewPlan {
        id: domain::new_id(),
        organizer_id: ann.id,
        venue_id: gone.id,
        start_time: tomorrow_at(20, 0),
        party_size: None,
        invitees: vec![],
    };
    assert!(not_found(store.create_plan(plan).await.unwrap_err()));
    assert!(not_found(store.book(new_booking(&ann, &gone, tomorrow_at(19, 0), 2), None).await.unwrap_err()));
    let (from, to) = (tomorrow_at(0, 0), tomorrow_at(23, 0));
    assert!(not_found(store.venue_holds(gone.id, from, to).await.unwrap_err()));
    // Nor through a bulk load, whose foreign keys would let the rows in.
    let imported = crate::fixtures::new_interaction(&ann, &gone, domain::InteractionType::Visit).into_interaction();
    let batch = store::Batch { interactions: vec![imported], ..Default::default() };
    assert!(not_found(store.insert_batch(batch).await.unwrap_err()));
    assert_eq!(store.counts().await.unwrap(), before, "nothing was written");
    assert_eq!(pending_event_types(&store).await.len(), events_before);
}

/// `deleted_venues` gives the ids a deleted venue keeps taken (what `luna import` checks a new
/// venue's id against), `live_venues` the others that exist; an unknown id is in neither. More
/// ids than one statement binds are asked in chunks.
async fn of_any_number_of_ids_the_deleted_venues_are_told_apart_from_live_and_unknown_ones(store: DynStore) {
    let gone = venue(&store, "Gone").await;
    let kept = venue(&store, "Kept").await;
    store.delete_venue(gone.id, chrono::Utc::now(), false).await.unwrap();
    let mut ids: Vec<_> = (0..2500).map(|_| domain::new_id()).collect();
    ids.insert(1200, gone.id);
    ids.push(kept.id);
    assert_eq!(store.deleted_venues(&ids).await.unwrap(), [gone.id]);
    assert_eq!(store.live_venues(&ids).await.unwrap(), [kept.id]);
    assert!(store.deleted_venues(&[kept.id]).await.unwrap().is_empty());
    assert!(store.deleted_venues(&[]).await.unwrap().is_empty());
}

async fn deleting_a_venue_gives_back_holds_under_way_and_cancels_plans_left_undecided(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "Closing", 20).await;
    let now = chrono::Utc::now();
    // A provider is still answering for a table from a quarter of an hour ago.
    let mut hold = new_booking(&ann, &v, now - chrono::Duration::minutes(15), 2);
    hold.status = BookingStatus::Pending;
    let hold = booked(&store, hold).await.booking;
    // A plan whose evening came and went while still being organised.
    let stale = NewPlan {
        id: domain::new_id(),
        organizer_id: ben.id,
        venue_id: v.id,
        start_time: now - chrono::Duration::days(1),
        party_size: None,
        invitees: vec![ann.id],
    };
    let stale = store.create_plan(stale).await.unwrap();
    let events_before = pending_event_types(&store).await.len();

    // Neither is upcoming: no force needed.
    assert_eq!(store.delete_venue(v.id, now, false).await.unwrap(), []);
    assert!(matches!(store.get_booking(hold.id).await, Err(StoreError::NotFound { entity: "booking", .. })));
    assert!(matches!(store.confirm_hold(hold.id, None).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.get_plan(stale.id).await.unwrap().status, PlanStatus::Cancelled);
    let types = pending_event_types(&store).await[events_before..].to_vec();
    assert_eq!(types, ["booking.released", "plan.cancelled", "venue.deleted"]);
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

fn plan_at(
    organizer: &domain::User,
    venue: &Venue,
    start_time: domain::Timestamp,
    invitees: Vec<uuid::Uuid>,
) -> NewPlan {
    NewPlan {
        id: domain::new_id(),
        organizer_id: organizer.id,
        venue_id: venue.id,
        start_time,
        party_size: None,
        invitees,
    }
}

fn capacity(capacity: i32) -> VenuePatch {
    VenuePatch { capacity: Some(capacity), ..Default::default() }
}

async fn a_venue_cannot_shrink_under_the_party_of_a_plan_still_to_come(store: DynStore) {
    // Ann organises at a venue seating 6; ben, cat and dan accept: a party of 4, nothing booked.
    let mut people = Vec::new();
    for handle in ["ann", "ben", "cat", "dan"] {
        people.push(user(&store, handle).await);
    }
    let v = venue_seating(&store, "Corner", 6).await;
    let guests: Vec<_> = people[1..].iter().map(|u| u.id).collect();
    let plan = store.create_plan(plan_at(&people[0], &v, tomorrow_at(19, 0), guests.clone())).await.unwrap();
    for &g in &guests {
        store.answer_plan_invitation(plan.id, g, true).await.unwrap();
    }
    let events_before = pending_event_types(&store).await.len();
    let err = store.update_venue(v.id, capacity(3)).await.unwrap_err();
    let says = err.to_string();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "capacity"), "{err:?}");
    assert!(says.contains(&format!("plan {}", plan.id)) && says.contains("needs 4 seats"), "{says}");
    assert_eq!(store.get_venue(v.id).await.unwrap().capacity, 6, "nothing written");
    assert_eq!(pending_event_types(&store).await.len(), events_before, "nothing recorded");
    // Exactly the party fits, and the plan can still be booked.
    assert_eq!(store.update_venue(v.id, capacity(4)).await.unwrap().value.capacity, 4);
    assert_eq!(store.get_plan(plan.id).await.unwrap().party(), 4);
    assert_eq!(store.check_invariants().await.unwrap(), []);

    // A plan's own party size counts when larger than those who accepted.
    let w = venue_seating(&store, "Wide", 8).await;
    let guests_of_5 = NewPlan { party_size: Some(5), ..plan_at(&people[0], &w, tomorrow_at(20, 0), vec![]) };
    store.create_plan(guests_of_5).await.unwrap();
    let says = store.update_venue(w.id, capacity(4)).await.unwrap_err().to_string();
    assert!(says.contains("needs 5 seats"), "{says}");
    assert_eq!(store.update_venue(w.id, capacity(5)).await.unwrap().value.capacity, 5);

    // A plan whose time has passed, still undecided, holds nothing.
    let old = venue_seating(&store, "Old", 6).await;
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let past = store.create_plan(plan_at(&people[0], &old, yesterday, guests.clone())).await.unwrap();
    for &g in &guests {
        store.answer_plan_invitation(past.id, g, true).await.unwrap();
    }
    assert_eq!(store.update_venue(old.id, capacity(2)).await.unwrap().value.capacity, 2);
}

async fn a_capacity_change_and_an_acceptance_racing_never_both_pass(store: DynStore) {
    // At a venue seating 4, ann's plan has a party of 3; dan accepting (4) and the venue going
    // down to 3 race: one of them is refused, whichever commits first.
    let mut people = Vec::new();
    for handle in ["ann", "ben", "cat", "dan"] {
        people.push(user(&store, handle).await);
    }
    let guests: Vec<_> = people[1..].iter().map(|u| u.id).collect();
    let store = std::sync::Arc::new(store);
    let (mut accepted, mut shrunk) = (0, 0);
    for round in 0..30 {
        let v = venue_seating(&store, &format!("Race {round}"), 4).await;
        let plan = store.create_plan(plan_at(&people[0], &v, tomorrow_at(19, 0), guests.clone())).await.unwrap();
        for &g in &guests[..2] {
            store.answer_plan_invitation(plan.id, g, true).await.unwrap();
        }
        let (s, dan) = (store.clone(), guests[2]);
        let accept = tokio::spawn(async move { s.answer_plan_invitation(plan.id, dan, true).await });
        let s = store.clone();
        let shrink = tokio::spawn(async move { s.update_venue(v.id, capacity(3)).await });
        let (accept, shrink) = (accept.await.unwrap(), shrink.await.unwrap());
        let (party, seats) =
            (store.get_plan(plan.id).await.unwrap().party(), store.get_venue(v.id).await.unwrap().capacity);
        assert!(party <= seats, "round {round}: a party of {party} at a venue seating {seats}");
        assert!(accept.is_ok() != shrink.is_ok(), "round {round}: {accept:?} {shrink:?}");
        accepted += i32::from(accept.is_ok());
        shrunk += i32::from(shrink.is_ok());
    }
    assert_eq!(accepted + shrunk, 30);
}

async fn unknown_venues_are_not_found(store: DynStore) {
    let id = domain::new_id();
    let is_venue_not_found = |e: StoreError| matches!(e, StoreError::NotFound { entity: "venue", .. });
    assert!(is_venue_not_found(store.get_venue(id).await.unwrap_err()));
    assert!(is_venue_not_found(store.update_venue(id, VenuePatch::default()).await.unwrap_err()));
    assert!(is_venue_not_found(store.delete_venue(id, chrono::Utc::now(), true).await.unwrap_err()));
}
