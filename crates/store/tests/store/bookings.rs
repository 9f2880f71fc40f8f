//! Taking seats: capacity at the busiest moment, the state machine, holds, and the database's
//! part in it (unique codes, one active booking per plan), on every backend.

use std::sync::Arc;

use chrono::Duration;
use domain::{BookingStatus, PageRequest, SeatOutcome};
use store::{BookingQuery, DynStore, Idempotent, StoreError};

use crate::fixtures::{booked, new_booking, pending_event_types, tomorrow_at, user, venue_seating};
use crate::store_tests;

store_tests!(
    a_party_fits_only_while_the_busiest_moment_has_room,
    cancelling_frees_the_seats_and_illegal_moves_are_conflicts,
    completing_or_no_show_waits_for_the_booking_time_and_cancelling_stops_there,
    a_taken_confirmation_code_is_a_conflict_naming_it_and_writes_nothing,
    concurrent_bookings_never_oversell_a_slot,
    a_hold_is_confirmed_with_its_invitations_or_released_without_a_trace,
    group_members_are_invited_and_must_exist,
    bookings_list_by_user_venue_status_and_time,
    the_invariant_check_passes_on_honest_data_and_a_venue_cannot_shrink_under_its_bookings,
);

async fn a_party_fits_only_while_the_busiest_moment_has_room(store: DynStore) {
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "tiny", 4).await);
    let seven = tomorrow_at(19, 0);
    booked(&store, new_booking(&ann, &v, seven, 3)).await;
    let Idempotent::Fresh(SeatOutcome::Full(full)) = store.book(new_booking(&ann, &v, seven, 2), None).await.unwrap()
    else {
        panic!("a party of 2 does not fit next to 3 in 4 seats");
    };
    assert_eq!((full.seats_free, full.capacity, full.party_size), (1, 4, 2));
    booked(&store, new_booking(&ann, &v, seven + Duration::minutes(30), 1)).await;
    // 21:00 starts when the 19:00 party leaves: only the 19:30 party (until 21:30) is there.
    booked(&store, new_booking(&ann, &v, seven + Duration::hours(2), 3)).await;
    let later = store.book(new_booking(&ann, &v, seven + Duration::hours(2), 1), None).await.unwrap();
    assert!(matches!(later, Idempotent::Fresh(SeatOutcome::Full(_))), "{later:?}");
    let events = pending_event_types(&store).await;
    assert_eq!(events.iter().filter(|e| *e == "booking.created").count(), 3);
    assert_eq!(events.iter().filter(|e| *e == "booking.refused").count(), 2);
    assert_eq!(store.counts().await.unwrap().bookings, 3);
}

async fn cancelling_frees_the_seats_and_illegal_moves_are_conflicts(store: DynStore) {
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "tiny", 2).await);
    let at = tomorrow_at(19, 0);
    let first = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    assert!(matches!(
        store.book(new_booking(&ann, &v, at, 2), None).await.unwrap(),
        Idempotent::Fresh(SeatOutcome::Full(_))
    ));
    let now = chrono::Utc::now();
    let cancelled = store.set_booking_status(first.id, BookingStatus::Cancelled, now).await.unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    booked(&store, new_booking(&ann, &v, at, 2)).await;
    for next in [BookingStatus::Confirmed, BookingStatus::Cancelled, BookingStatus::Completed] {
        let err = store.set_booking_status(first.id, next, now).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "status"), "{err:?}");
    }
    let err = store.set_booking_status(domain::new_id(), BookingStatus::Cancelled, now).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "booking", .. }), "{err:?}");
    assert!(pending_event_types(&store).await.contains(&"booking.status_changed".to_string()));
}

async fn completing_or_no_show_waits_for_the_booking_time_and_cancelling_stops_there(store: DynStore) {
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "v", 10).await);
    let at = tomorrow_at(12, 0);
    let b = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    let early = store.set_booking_status(b.id, BookingStatus::Completed, at - Duration::minutes(1)).await;
    assert!(matches!(early, Err(StoreError::Conflict { .. })), "{early:?}");
    let done = store.set_booking_status(b.id, BookingStatus::Completed, at).await.unwrap();
    assert_eq!(done.status, BookingStatus::Completed);
    let other = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    // From its time on, a booking was kept or not: it can no longer be called cancelled.
    let late = store.set_booking_status(other.id, BookingStatus::Cancelled, at).await.unwrap_err();
    assert!(
        matches!(&late, StoreError::Conflict { message, .. } if message.contains("no longer be cancelled")),
        "{late:?}"
    );
    let gone = store.set_booking_status(other.id, BookingStatus::NoShow, at + Duration::hours(1)).await.unwrap();
    assert_eq!(gone.status, BookingStatus::NoShow);
    let third = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    let in_time = store.set_booking_status(third.id, BookingStatus::Cancelled, at - Duration::seconds(1)).await;
    assert_eq!(in_time.unwrap().status, BookingStatus::Cancelled);
}

async fn a_taken_confirmation_code_is_a_conflict_naming_it_and_writes_nothing(store: DynStore) {
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "v", 10).await);
    let at = tomorrow_at(20, 0);
    let first = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    let mut again = new_booking(&ann, &v, at, 2);
    again.confirmation_code = first.confirmation_code.clone();
    let err = store.book(again, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "confirmation_code"), "{err:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 1);
    assert_eq!(pending_event_types(&store).await.iter().filter(|e| *e == "booking.created").count(), 1);
}

async fn concurrent_bookings_never_oversell_a_slot(store: DynStore) {
    let v = venue_seating(&store, "popular", 10).await;
    let mut users = Vec::new();
    for i in 0..40 {
        users.push(user(&store, &format!("guest{i:02}")).await);
    }
    let at = tomorrow_at(19, 0);
    let store = Arc::new(store);
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (store, new) = (store.clone(), new_booking(u, &v, at, 1));
            tokio::spawn(async move { store.book(new, None).await })
        })
        .collect();
    let (mut ok, mut full) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Idempotent::Fresh(SeatOutcome::Booked(_)) => ok += 1,
            Idempotent::Fresh(SeatOutcome::Full(f)) => {
                assert_eq!(f.seats_free, 0);
                full += 1
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, full), (10, 30));
    let holds = store.venue_holds(v.id, at, at + Duration::hours(2)).await.unwrap();
    assert_eq!(holds.iter().map(|h| h.seats).sum::<i32>(), 10);
}

async fn a_hold_is_confirmed_with_its_invitations_or_released_without_a_trace(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "v", 4).await;
    let at = tomorrow_at(19, 0);
    let mut hold = new_booking(&ann, &v, at, 2);
    hold.status = BookingStatus::Pending;
    hold.request.group_members = vec![ben.id];
    let held = booked(&store, hold).await;
    assert_eq!((held.booking.status, held.invitations.len()), (BookingStatus::Pending, 0));
    // A hold takes its seats while pending.
    assert!(matches!(
        store.book(new_booking(&ann, &v, at, 3), None).await.unwrap(),
        Idempotent::Fresh(SeatOutcome::Full(_))
    ));
    let confirmed = store.confirm_hold(held.booking.id, None).await.unwrap();
    assert_eq!(confirmed.booking.status, BookingStatus::Confirmed);
    assert_eq!(confirmed.invitations.iter().map(|i| i.invitee_id).collect::<Vec<_>>(), vec![ben.id]);

    let mut other = new_booking(&ben, &v, at, 2);
    other.status = BookingStatus::Pending;
    let other = booked(&store, other).await.booking;
    let stale = store.stale_holds(chrono::Utc::now() + Duration::seconds(1), 10).await.unwrap();
    assert_eq!(stale.iter().map(|b| b.id).collect::<Vec<_>>(), vec![other.id]);
    assert!(store.release_hold(other.id, "provider_failed", None).await.unwrap());
    assert!(!store.release_hold(other.id, "provider_failed", None).await.unwrap());
    assert!(matches!(store.get_booking(other.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.confirm_hold(other.id, None).await, Err(StoreError::NotFound { .. })));
    let events = pending_event_types(&store).await;
    for e in ["booking.held", "booking.created", "invitation.sent", "booking.released"] {
        assert!(events.contains(&e.to_string()), "{e} missing from {events:?}");
    }
}

async fn group_members_are_invited_and_must_exist(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "v", 10).await;
    let mut new = new_booking(&ann, &v, tomorrow_at(19, 0), 3);
    new.request.group_members = vec![ben.id, domain::new_id()];
    let err = store.book(new.clone(), None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "user", .. }), "{err:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 0);
    new.request.group_members.pop();
    let made = booked(&store, new).await;
    assert_eq!(made.invitations.len(), 1);
    let mine = BookingQuery { user_id: Some(ben.id), ..Default::default() };
    let mine = store.list_bookings(&mine, PageRequest::default()).await.unwrap();
    assert_eq!(mine.items.len(), 1, "an invitee sees the booking among theirs");
}

async fn bookings_list_by_user_venue_status_and_time(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let (v, w) = (venue_seating(&store, "v", 10).await, venue_seating(&store, "w", 10).await);
    let at = tomorrow_at(12, 0);
    let a1 = booked(&store, new_booking(&ann, &v, at, 2)).await.booking;
    let a2 = booked(&store, new_booking(&ann, &w, at + Duration::hours(5), 2)).await.booking;
    let b1 = booked(&store, new_booking(&ben, &v, at + Duration::hours(1), 2)).await.booking;
    store.set_booking_status(b1.id, BookingStatus::Cancelled, chrono::Utc::now()).await.unwrap();
    let list = |q: BookingQuery| {
        let store = store.clone();
        async move {
            store
                .list_bookings(&q, PageRequest::default())
                .await
                .unwrap()
                .items
                .iter()
                .map(|b| b.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(BookingQuery { user_id: Some(ann.id), ..Default::default() }).await, vec![a1.id, a2.id]);
    assert_eq!(list(BookingQuery { venue_id: Some(v.id), ..Default::default() }).await, vec![a1.id, b1.id]);
    assert_eq!(list(BookingQuery { status: Some(BookingStatus::Cancelled), ..Default::default() }).await, vec![b1.id]);
    let window = BookingQuery {
        from: Some(at + Duration::minutes(30)),
        to: Some(at + Duration::hours(5)),
        ..Default::default()
    };
    assert_eq!(list(window).await, vec![b1.id]);
    let page = store.list_bookings(&BookingQuery::default(), PageRequest { limit: 2, after: None }).await.unwrap();
    assert_eq!((page.items.len(), page.next), (2, Some(a2.id)));
}

async fn the_invariant_check_passes_on_honest_data_and_a_venue_cannot_shrink_under_its_bookings(store: DynStore) {
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "tiny", 4).await);
    let seven = tomorrow_at(19, 0);
    booked(&store, new_booking(&ann, &v, seven, 3)).await;
    booked(&store, new_booking(&ann, &v, seven + Duration::minutes(30), 1)).await;
    assert_eq!(store.check_invariants().await.unwrap(), vec![], "bookings taken through the store fit");
    // The store will not shrink the venue under its bookings (4 seats held at 19:30).
    let patch = |capacity| domain::VenuePatch { capacity: Some(capacity), ..Default::default() };
    let err = store.update_venue(v.id, patch(3)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "capacity"), "{err:?}");
    assert_eq!(store.get_venue(v.id).await.unwrap().capacity, 4, "nothing written");
    assert_eq!(store.update_venue(v.id, patch(4)).await.unwrap().value.capacity, 4);
    assert_eq!(store.check_invariants().await.unwrap(), vec![]);
    // (An overbooked slot written behind the store's back is found: `sqlite_only`.)
}
