//! Batched inserts, scans, counts, reset, and many concurrent writers.

use chrono::SubsecRound;
use domain::{
    Booking, BookingStatus, Category, Interaction, InteractionType, ParticipantStatus, Plan, PlanParticipant,
    PlanStatus, RelationshipType, SocialEdge, TimeOfDay, User, UserPreferences, Venue, VenueInterest,
};
use store::{Batch, Counts, DynStore, StoreError};

use crate::fixtures::{new_user, new_venue, pending_event_types};
use crate::store_tests;

store_tests!(
    a_batch_is_written_and_scanned_back_in_key_order,
    a_batch_larger_than_one_statement_is_split_under_the_bind_limit,
    a_batch_with_a_dangling_reference_writes_nothing,
    reset_empties_every_table_and_records_data_reset,
    a_reset_under_concurrent_writers_succeeds_and_no_writer_fails_for_it,
    many_concurrent_writers_all_succeed,
    a_bulk_load_defers_indexes_and_everything_works_once_it_finishes,
    a_duplicate_loaded_during_a_bulk_load_never_survives_it,
    migrating_again_changes_nothing,
);

fn now() -> domain::Timestamp {
    chrono::Utc::now().trunc_subsecs(6)
}

fn batch_user(i: usize) -> User {
    let n = new_user(&format!("batch{i:05}"));
    User {
        id: n.id,
        handle: n.handle,
        name: n.name,
        email: Some(format!("u{i}@example.com")),
        age: Some(30),
        avatar_url: None,
        home_lat: Some(40.7),
        home_lng: Some(-73.9),
        city: Some("New York".into()),
        persona: Some(domain::Persona::SocialButterfly),
        activity_score: 0.25,
        social_score: 0.75,
        created_at: now(),
        updated_at: now(),
    }
}

fn batch_venue(i: usize) -> Venue {
    let n = new_venue(&format!("Venue {i}"), Category::Restaurant, 40.7 + i as f64 * 0.001, -73.9);
    Venue {
        id: n.id,
        name: n.name,
        description: Some("A place".into()),
        category: n.category,
        cuisine: Some("italian".into()),
        address: None,
        city: n.city,
        lat: n.lat,
        lng: n.lng,
        price_level: Some(2),
        rating: Some(4.5),
        capacity: 60,
        tags: vec!["cozy".into()],
        opening_hours: Some(domain::OpeningHours::every_day(&[(11 * 60, 23 * 60)])),
        timezone: n.timezone,
        created_at: now(),
        updated_at: now(),
    }
}

fn batch_interaction(user: &User, venue: &Venue) -> Interaction {
    Interaction {
        id: domain::new_id(),
        user_id: user.id,
        venue_id: venue.id,
        interaction_type: InteractionType::Visit,
        dwell_time_seconds: 600,
        time_of_day: TimeOfDay::Night,
        occurred_at: now(),
    }
}

fn edge(a: &User, b: &User, kind: RelationshipType) -> SocialEdge {
    SocialEdge { user_id: a.id, other_user_id: b.id, relationship_type: kind, strength: 0.7, created_at: now() }
}

async fn a_batch_is_written_and_scanned_back_in_key_order(store: DynStore) {
    let users: Vec<User> = (0..5).map(batch_user).collect();
    let venues: Vec<Venue> = (0..3).map(batch_venue).collect();
    let prefs = UserPreferences { cuisines: vec!["italian".into()], ..Default::default() };
    let edges = vec![
        edge(&users[0], &users[1], RelationshipType::Friend),
        edge(&users[1], &users[0], RelationshipType::Friend),
        edge(&users[2], &users[0], RelationshipType::Mutual),
    ];
    let interactions: Vec<Interaction> =
        users.iter().flat_map(|u| venues.iter().map(move |v| batch_interaction(u, v))).collect();
    let plan_id = domain::new_id();
    let participant = |u: &User| PlanParticipant {
        plan_id,
        user_id: u.id,
        status: ParticipantStatus::Invited,
        invited_at: now(),
        responded_at: None,
    };
    let plan = Plan {
        id: plan_id,
        organizer_id: Some(users[0].id),
        venue_id: venues[0].id,
        start_time: now() + chrono::Duration::days(2),
        party_size: Some(3),
        status: PlanStatus::Confirmed,
        created_at: now(),
        participants: vec![participant(&users[1])],
    };
    let booking = Booking {
        id: domain::new_id(),
        user_id: Some(users[0].id),
        venue_id: venues[0].id,
        plan_id: Some(plan_id),
        booking_time: plan.start_time,
        party_size: 3,
        duration_minutes: 120,
        status: BookingStatus::Confirmed,
        confirmation_code: "LUNA-7K3QX9".into(),
        provider: "house".into(),
        agent: "booking_agent".into(),
        group_members: vec![users[1].id, users[2].id],
        special_requests: Some("window seat".into()),
        created_at: now(),
        updated_at: now(),
    };
    let cancelled = Booking {
        id: domain::new_id(),
        plan_id: None,
        status: BookingStatus::Cancelled,
        confirmation_code: "LUNA-2B4D6F".into(),
        group_members: Vec::new(),
        special_requests: None,
        ..booking.clone()
    };
    let interest = |u: &User, v: &Venue, preferred_time| VenueInterest {
        user_id: u.id,
        venue_id: v.id,
        preferred_time,
        preferred_time_slot: None,
        open_to_invites: true,
        created_at: now(),
    };
    let mut interests = vec![
        interest(&users[4], &venues[2], None),
        interest(&users[0], &venues[1], Some(now() + chrono::Duration::days(3))),
        interest(&users[4], &venues[0], None),
    ];
    // A part of the day and a closed interest come back as loaded.
    interests[1].preferred_time_slot = Some(domain::TimeOfDay::Evening);
    interests[2] = VenueInterest {
        preferred_time_slot: Some(domain::TimeOfDay::Morning),
        open_to_invites: false,
        ..interests[2].clone()
    };
    let batch = Batch {
        users: users.clone(),
        preferences: vec![(users[3].id, prefs.clone())],
        venues: venues.clone(),
        edges: edges.clone(),
        interactions: interactions.clone(),
        interests: interests.clone(),
        participants: vec![participant(&users[1]), participant(&users[2])],
        plans: vec![plan],
        bookings: vec![booking.clone(), cancelled.clone()],
    };
    store.insert_batch(batch).await.unwrap();
    assert_eq!(store.get_booking(booking.id).await.unwrap(), booking);
    assert_eq!(store.plan_booking(plan_id).await.unwrap(), booking);

    let expected = Counts {
        users: 5,
        venues: 3,
        interactions: 15,
        social_edges: 3,
        friend_requests: 0,
        venue_interests: 3,
        plans: 1,
        bookings: 2,
        outbox_pending: 0,
        outbox_dead: 0,
    };
    assert_eq!(store.counts().await.unwrap(), expected);

    let mut scanned = Vec::new();
    let mut after = None;
    loop {
        let chunk = store.scan_users(after, 2).await.unwrap();
        let Some(last) = chunk.last() else { break };
        after = Some(last.0.id);
        scanned.extend(chunk);
    }
    let mut sorted_users = users.clone();
    sorted_users.sort_by_key(|u| u.id);
    assert_eq!(scanned.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(), sorted_users);
    for (u, p) in &scanned {
        assert_eq!(p.as_ref(), (u.id == users[3].id).then_some(&prefs));
    }

    let mut sorted_venues = venues.clone();
    sorted_venues.sort_by_key(|v| v.id);
    assert_eq!(store.scan_venues(None, 10).await.unwrap(), sorted_venues);
    let first = store.scan_venues(None, 1).await.unwrap();
    assert_eq!(store.scan_venues(Some(first[0].id), 10).await.unwrap(), sorted_venues[1..]);

    let mut sorted_interactions = interactions.clone();
    sorted_interactions.sort_by_key(|i| i.id);
    let head = store.scan_interactions(None, 10).await.unwrap();
    let tail = store.scan_interactions(Some(head[9].id), 10).await.unwrap();
    assert_eq!([head, tail].concat(), sorted_interactions);

    let mut sorted_edges = edges.clone();
    sorted_edges.sort_by_key(|e| (e.user_id, e.other_user_id));
    let head = store.scan_edges(None, 2).await.unwrap();
    let tail = store.scan_edges(Some((head[1].user_id, head[1].other_user_id)), 2).await.unwrap();
    assert_eq!([head, tail].concat(), sorted_edges);

    let mut sorted_interests = interests.clone();
    sorted_interests.sort_by_key(|i| (i.user_id, i.venue_id));
    let head = store.scan_interests(None, 2).await.unwrap();
    let tail = store.scan_interests(Some((head[1].user_id, head[1].venue_id)), 2).await.unwrap();
    assert_eq!([head, tail].concat(), sorted_interests);
    // The cancelled booking is not read: it counts for nothing in the engine.
    assert_eq!(store.scan_bookings(None, 10).await.unwrap(), vec![booking.clone()]);
    assert!(store.scan_bookings(Some(booking.id), 10).await.unwrap().is_empty());
}

async fn a_batch_larger_than_one_statement_is_split_under_the_bind_limit(store: DynStore) {
    let users: Vec<User> = (0..100).map(batch_user).collect();
    let venues: Vec<Venue> = (0..100).map(batch_venue).collect();
    let interactions: Vec<Interaction> =
        (0..12_000).map(|i| batch_interaction(&users[i % 100], &venues[i / 120])).collect();
    // Told after each statement how many rows are written: rising, ending at all of them.
    let heard = std::sync::Mutex::new(Vec::new());
    let progress = |done: usize| heard.lock().unwrap().push(done);
    let batch = Batch { users, venues, interactions, ..Default::default() };
    store.insert_batch_reporting(batch, &progress).await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.users, counts.venues, counts.interactions), (100, 100, 12_000));
    let heard = heard.into_inner().unwrap();
    assert!(heard.len() >= 3 && heard.windows(2).all(|w| w[0] < w[1]), "{heard:?}");
    assert_eq!(heard.last(), Some(&12_200));
}

async fn a_batch_with_a_dangling_reference_writes_nothing(store: DynStore) {
    let users: Vec<User> = (0..3).map(batch_user).collect();
    let venue = batch_venue(0);
    let mut dangling = batch_interaction(&users[0], &venue);
    dangling.venue_id = domain::new_id();
    let batch = Batch { users, venues: vec![venue], interactions: vec![dangling], ..Default::default() };
    let err = store.insert_batch(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

async fn reset_empties_every_table_and_records_data_reset(store: DynStore) {
    let users: Vec<User> = (0..3).map(batch_user).collect();
    let venues: Vec<Venue> = (0..2).map(batch_venue).collect();
    let interactions = vec![batch_interaction(&users[0], &venues[0])];
    let edges = vec![edge(&users[0], &users[1], RelationshipType::Friend)];
    store
        .insert_batch(Batch { users: users.clone(), venues, interactions, edges, ..Default::default() })
        .await
        .unwrap();
    store.send_friend_request(users[1].id, users[2].id).await.unwrap();
    store.reset().await.unwrap();
    assert_eq!(store.counts().await.unwrap(), Counts { outbox_pending: 1, ..Counts::default() });
    assert_eq!(pending_event_types(&store).await, ["data.reset"]);
    // The tables are usable again, and the same ids may come back.
    store.insert_batch(Batch { users, ..Default::default() }).await.unwrap();
}

async fn many_concurrent_writers_all_succeed(store: DynStore) {
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let u = store.create_user(new_user(&format!("writer{i}"))).await?;
            let v = store.create_venue(new_venue("Busy", Category::Bar, 40.7, -73.9)).await?;
            store.express_interest(u.id, v.id, domain::InterestWish::at(None)).await?;
            store.counts().await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.users, counts.venues, counts.venue_interests, counts.outbox_pending), (60, 60, 60, 180));
}

/// Resets while bookings (with and without an idempotency key) and interactions are written at
/// once. Before, PostgreSQL's `TRUNCATE` took its tables one by one while a writer held one it
/// had not reached and waited for one it had: `deadlock detected`, the reset (or a booking)
/// failed as unavailable. Now every reset succeeds and a writer only ever finds its rows gone.
async fn a_reset_under_concurrent_writers_succeeds_and_no_writer_fails_for_it(store: DynStore) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::fixtures::{new_booking, new_interaction, tomorrow_at, user, venue_seating};

    for round in 0..4 {
        let users = [user(&store, &format!("ann{round}")).await, user(&store, &format!("ben{round}")).await];
        let v = venue_seating(&store, &format!("Busy{round}"), 10_000).await;
        let done = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..4usize {
            let (store, done, u, v) = (store.clone(), Arc::clone(&done), users[w % 2].clone(), v.clone());
            writers.push(tokio::spawn(async move {
                let mut refused = Vec::new();
                for n in 0.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let answer = match w {
                        0 | 1 => {
                            let key = (w == 0).then(|| store::IdempotencyKey {
                                scope: format!("book:{}", u.id),
                                key: format!("k{round}-{n}"),
                                request: serde_json::json!({ "n": n }),
                            });
                            let at = tomorrow_at(19, 0) + chrono::Duration::minutes(n % 600);
                            store.book(new_booking(&u, &v, at, 1), key).await.map(drop)
                        }
                        _ => store.record_interaction(new_interaction(&u, &v, InteractionType::View)).await.map(drop),
                    };
                    match answer {
                        Ok(()) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
                        Err(e) => refused.push(e),
                    }
                }
                refused
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let reset = store.reset().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        done.store(true, Ordering::Relaxed);
        let mut failed = Vec::new();
        for w in writers {
            failed.extend(w.await.expect("a writer's task"));
        }
        assert!(reset.is_ok(), "round {round}: the reset failed: {reset:?}");
        assert!(failed.is_empty(), "round {round}: writers failed: {failed:?}");
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.users, counts.venues), (0, 0), "round {round}: nothing survives the reset");
    }
}

async fn migrating_again_changes_nothing(store: DynStore) {
    crate::fixtures::user(&store, "kept").await;
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.counts().await.unwrap().users, 1);
}

async fn a_bulk_load_defers_indexes_and_everything_works_once_it_finishes(store: DynStore) {
    store.begin_bulk_load().await.unwrap();
    store.begin_bulk_load().await.unwrap();
    let users: Vec<User> = (0..4).map(batch_user).collect();
    let venues: Vec<Venue> = (0..2).map(batch_venue).collect();
    let interactions: Vec<Interaction> = (0..40).map(|i| batch_interaction(&users[i % 4], &venues[i % 2])).collect();
    let edges = vec![
        edge(&users[0], &users[1], RelationshipType::Friend),
        edge(&users[1], &users[0], RelationshipType::Friend),
    ];
    let batch = Batch { users: users.clone(), venues, interactions: interactions.clone(), edges, ..Default::default() };
    store.insert_batch(batch).await.unwrap();
    store.finish_bulk_load().await.unwrap();
    store.finish_bulk_load().await.unwrap();

    let mine: Vec<_> = interactions.iter().filter(|i| i.user_id == users[0].id).cloned().collect();
    let mut mine_sorted = mine.clone();
    mine_sorted.sort_by_key(|i| i.id);
    let page = store.list_user_interactions(users[0].id, domain::PageRequest::default()).await.unwrap();
    assert_eq!(page.items, mine_sorted);
    let friends = store.list_friends(users[0].id, domain::PageRequest::default()).await.unwrap();
    assert_eq!(friends.items.iter().map(|f| f.user.id).collect::<Vec<_>>(), [users[1].id]);
    let request = store.send_friend_request(users[2].id, users[3].id).await.unwrap();
    store.answer_friend_request(request.id, users[3].id, true).await.unwrap();
    assert_eq!(store.counts().await.unwrap().social_edges, 4);
}

async fn a_duplicate_loaded_during_a_bulk_load_never_survives_it(store: DynStore) {
    let users: Vec<User> = (0..2).map(batch_user).collect();
    store.insert_batch(Batch { users: users.clone(), ..Default::default() }).await.unwrap();
    store.begin_bulk_load().await.unwrap();
    let e = edge(&users[0], &users[1], RelationshipType::Mutual);
    store.insert_batch(Batch { edges: vec![e.clone()], ..Default::default() }).await.unwrap();
    let again = store.insert_batch(Batch { edges: vec![e], ..Default::default() }).await;
    // PostgreSQL keeps its primary keys and refuses at once; SQLite drops the copy at the rebuild.
    assert!(matches!(again, Ok(()) | Err(StoreError::Conflict { .. })), "{again:?}");
    store.finish_bulk_load().await.unwrap();
    assert_eq!(store.counts().await.unwrap().social_edges, 1);
    let dup = edge(&users[0], &users[1], RelationshipType::Friend);
    let err = store.insert_batch(Batch { edges: vec![dup], ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}
