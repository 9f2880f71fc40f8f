//! Bookings outlive their booker's account (migration 0013): deleting the booker cancels their
//! upcoming bookings, as before, and keeps the others, with no booker, for the people in their
//! party, their plan, the venue's history and the counts (they used to cascade away, with their
//! invitations). A database migrated before 0013 keeps its bookings and their invitations
//! through it (SQLite rebuilds both tables).

use domain::{BookingStatus, NewPlan, Page, PageRequest, PlanStatus};
use store::{BookingQuery, DynStore, StoreError};
use testdb::{Backend, TestDatabase};
use uuid::Uuid;

use crate::fixtures::{booked, new_booking, tomorrow_at, user, venue_seating};
use crate::older::{at, sql_id, tests_per_backend, users_and_venue, written_at};
use crate::store_tests;

store_tests!(the_past_bookings_of_a_deleted_booker_stay_for_their_party, confirming_a_hold_while_its_booker_is_deleted,);
tests_per_backend!(bookings_written_before_0013_survive_it);

async fn booking_ids(store: &DynStore, query: BookingQuery) -> Vec<Uuid> {
    let page: Page<domain::Booking> =
        store.list_bookings(&query, PageRequest { limit: 50, after: None }).await.unwrap();
    page.items.iter().map(|b| b.id).collect()
}

fn of_user(user: Uuid) -> BookingQuery {
    BookingQuery { user_id: Some(user), ..BookingQuery::default() }
}

/// Ann holds a table (pending, an outside provider asked) with Mia in her group, and the hold is
/// confirmed while Ann's account is deleted, again and again. The confirmation updated the hold,
/// then locked Ann (the invitation's `inviter_id` key) to invite Mia; the deletion locks Ann,
/// then her bookings, the hold among them (to give it back), so on PostgreSQL the two deadlocked
/// and one failed as `Unavailable` (a 503). Either may go first; neither may fail for the other:
/// the confirmation finds the hold given back (a conflict), or the deletion cancels the table.
async fn confirming_a_hold_while_its_booker_is_deleted(store: DynStore) {
    let v = venue_seating(&store, "Race", 50).await;
    for round in 0..24u64 {
        let (ann, mia) = (user(&store, &format!("ann{round}")).await, user(&store, &format!("mia{round}")).await);
        let mut hold = new_booking(&ann, &v, tomorrow_at(18, 0), 2);
        hold.status = BookingStatus::Pending;
        hold.request.group_members = vec![mia.id];
        let held = booked(&store, hold).await.booking;
        // One a moment ahead of the other, by turns: the deadlock needed the confirmation's
        // update before the deletion's read of Ann's bookings, and the deletion's lock of Ann
        // before the confirmation's invitation.
        let (deleting, confirming) = (store.clone(), store.clone());
        let lead = std::time::Duration::from_micros((round / 2) * 150);
        let delete = tokio::spawn(async move {
            if round % 2 == 1 {
                tokio::time::sleep(lead).await;
            }
            deleting.delete_user(ann.id, chrono::Utc::now()).await
        });
        if round % 2 == 0 {
            tokio::time::sleep(lead).await;
        }
        let confirmed = confirming.confirm_hold(held.id, None).await;
        let deleted = delete.await.unwrap();
        assert!(deleted.is_ok(), "round {round}: the deletion failed: {deleted:?}");
        match confirmed {
            Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
            Err(e) => panic!("round {round}: the confirmation failed for the deletion: {e:?}"),
        }
        // Whichever went first, nothing of Ann's holds seats.
        let b = store.get_booking(held.id).await;
        assert!(b.as_ref().map_or(true, |b| b.status == BookingStatus::Cancelled), "round {round}: {b:?}");
    }
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Olga booked, for tomorrow: at 10:00 a table with Ben in her group (he was invited), at noon
/// her plan's table with Ann, at 13:00 a table for herself alone, and at 20:00 a table with Ann.
/// The morning one was completed, the solo one was a no-show; she is deleted as of 15:00. Before
/// 0013 the three past bookings went with her account: Ann's and Ben's lists lost them, the
/// plan's booking was `NotFound`, the venue's history and the counts forgot them.
async fn the_past_bookings_of_a_deleted_booker_stay_for_their_party(store: DynStore) {
    let (olga, ann, ben) = (user(&store, "olga").await, user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "Corner", 20).await;
    let mut morning = new_booking(&olga, &v, tomorrow_at(10, 0), 2);
    morning.request.group_members = vec![ben.id];
    let morning = booked(&store, morning).await;
    assert_eq!(morning.invitations.len(), 1);
    let morning = morning.booking;
    let plan = NewPlan {
        id: domain::new_id(),
        organizer_id: olga.id,
        venue_id: v.id,
        start_time: tomorrow_at(12, 0),
        party_size: None,
        invitees: vec![ann.id],
    };
    let plan = store.create_plan(plan).await.unwrap();
    let plan = store.answer_plan_invitation(plan.id, ann.id, true).await.unwrap();
    let mut noon = new_booking(&olga, &v, plan.start_time, plan.party());
    noon.request.plan_id = Some(plan.id);
    noon.request.group_members = plan.accepted_guests();
    let noon = booked(&store, noon).await.booking;
    let solo = booked(&store, new_booking(&olga, &v, tomorrow_at(13, 0), 1)).await.booking;
    let mut evening = new_booking(&olga, &v, tomorrow_at(20, 0), 2);
    evening.request.group_members = vec![ann.id];
    let evening = booked(&store, evening).await.booking;
    store.set_booking_status(morning.id, BookingStatus::Completed, tomorrow_at(12, 30)).await.unwrap();
    store.set_booking_status(solo.id, BookingStatus::NoShow, tomorrow_at(14, 0)).await.unwrap();
    let counts_before = store.status_counts().await.unwrap().bookings;

    let cancelled = store.delete_user(olga.id, tomorrow_at(15, 0)).await.unwrap();
    assert_eq!(cancelled.iter().map(|b| b.id).collect::<Vec<_>>(), [evening.id], "the upcoming one is cancelled");
    // Each booking stays as it was, without its booker.
    let read = |b: &domain::Booking| (b.user_id, b.status, b.group_members.clone(), b.plan_id);
    let got = store.get_booking(morning.id).await.unwrap();
    assert_eq!(read(&got), (None, BookingStatus::Completed, vec![ben.id], None));
    let got = store.plan_booking(plan.id).await.unwrap();
    assert_eq!(got.id, noon.id);
    assert_eq!(read(&got), (None, BookingStatus::Confirmed, vec![ann.id], Some(plan.id)));
    let got = store.get_booking(solo.id).await.unwrap();
    assert_eq!(read(&got), (None, BookingStatus::NoShow, vec![], None));
    let got = store.get_booking(evening.id).await.unwrap();
    assert_eq!(read(&got), (None, BookingStatus::Cancelled, vec![ann.id], None));
    let plan = store.get_plan(plan.id).await.unwrap();
    assert_eq!((plan.organizer_id, plan.status), (None, PlanStatus::Confirmed));
    // The party still finds them (Ben through his invitation), the venue and the counts too.
    assert_eq!(booking_ids(&store, of_user(ben.id)).await, [morning.id]);
    assert_eq!(booking_ids(&store, of_user(ann.id)).await, [noon.id, evening.id]);
    assert!(booking_ids(&store, of_user(olga.id)).await.is_empty());
    let at_venue = BookingQuery { venue_id: Some(v.id), ..BookingQuery::default() };
    assert_eq!(booking_ids(&store, at_venue).await, [morning.id, noon.id, solo.id, evening.id]);
    let counts = store.status_counts().await.unwrap().bookings;
    let moved = |c: &[(BookingStatus, u64)], s: BookingStatus| c.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
    assert_eq!(moved(&counts, BookingStatus::Completed), moved(&counts_before, BookingStatus::Completed));
    assert_eq!(moved(&counts, BookingStatus::NoShow), moved(&counts_before, BookingStatus::NoShow));
    assert_eq!(moved(&counts, BookingStatus::Confirmed), moved(&counts_before, BookingStatus::Confirmed) - 1);
    assert_eq!(store.check_invariants().await.unwrap(), []);

    // Ann deleted later leaves the party of the booking without booker, as of any other's.
    store.delete_user(ann.id, tomorrow_at(16, 0)).await.unwrap();
    assert_eq!(store.get_booking(noon.id).await.unwrap().group_members, Vec::<Uuid>::new());
    assert_eq!(store.get_booking(evening.id).await.unwrap().group_members, Vec::<Uuid>::new());
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Migrates a fresh database of `backend` up to 0012 and writes, as a server before 0013 would
/// have, Olga's past confirmed plan with Ann and its booking, and her past booking with Ben in
/// its group and his invitation; then opens the store, which applies 0013. Every row is still
/// there (on SQLite, dropping the old table with foreign keys on would have deleted the
/// invitations), foreign keys are on again, and deleting Olga now keeps both bookings with a
/// null booker (with foreign keys off she would stay named) and Ben's invitation.
async fn bookings_written_before_0013_survive_it(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let [olga, ann, ben, v, plan, table, lunch] = std::array::from_fn(|_| domain::new_id());
    let id = |u: Uuid| sql_id(backend, u);
    let now = chrono::Utc::now();
    let (t0, t1) = (at(now - chrono::Duration::days(3)), at(now - chrono::Duration::days(2)));
    let before = at(now - chrono::Duration::days(1));
    let [users, venue] = users_and_venue(backend, &t0, &[(olga, "olga"), (ann, "ann"), (ben, "ben")], v);
    let statements = [
        users,
        venue,
        format!(
            "INSERT INTO plans (id, organizer_id, venue_id, start_time, party_size, status, created_at) VALUES \
             ({}, {}, {}, '{before}', NULL, 'confirmed', '{t0}')",
            id(plan),
            id(olga),
            id(v)
        ),
        format!(
            "INSERT INTO plan_participants (plan_id, user_id, status, invited_at, responded_at) VALUES \
             ({p}, {o}, 'accepted', '{t0}', '{t0}'), ({p}, {a}, 'accepted', '{t0}', '{t1}')",
            p = id(plan),
            o = id(olga),
            a = id(ann)
        ),
        format!(
            "INSERT INTO bookings (id, user_id, venue_id, plan_id, booking_time, party_size, status, \
             confirmation_code, provider, agent, group_members, created_at, updated_at, duration_minutes, \
             special_requests) VALUES \
             ({}, {o}, {v}, {}, '{before}', 2, 'confirmed', 'LUNA-M001', 'house', 'test', '[\"{ann}\"]', \
             '{t0}', '{t0}', 90, NULL), \
             ({}, {o}, {v}, NULL, '{t1}', 2, 'completed', 'LUNA-M002', 'house', 'test', '[\"{ben}\"]', \
             '{t0}', '{t1}', 60, 'window seat')",
            id(table),
            id(plan),
            id(lunch),
            o = id(olga),
            v = id(v)
        ),
        format!(
            "INSERT INTO booking_invitations (booking_id, invitee_id, inviter_id, status, created_at, responded_at) \
             VALUES ({}, {}, {}, 'accepted', '{t0}', '{t0}')",
            id(lunch),
            id(ben),
            id(olga)
        ),
    ];
    written_at(&db, backend, 12, &statements).await;
    let store = store::connect(&db.url).await.expect("the store opens and applies 0013");
    let read = |b: &domain::Booking| {
        (b.user_id, b.plan_id, b.status, b.group_members.clone(), b.duration_minutes, b.special_requests.clone())
    };
    let window = Some("window seat".to_string());
    let got = store.plan_booking(plan).await.unwrap();
    assert_eq!(got.id, table);
    assert_eq!(read(&got), (Some(olga), Some(plan), BookingStatus::Confirmed, vec![ann], 90, None));
    let got = store.get_booking(lunch).await.unwrap();
    assert_eq!(read(&got), (Some(olga), None, BookingStatus::Completed, vec![ben], 60, window.clone()));
    assert_eq!(got.confirmation_code, "LUNA-M002");
    assert_eq!(booking_ids(&store, of_user(ben)).await, [lunch], "his invitation is kept");
    assert_eq!(store.check_invariants().await.unwrap(), []);

    store.delete_user(olga, chrono::Utc::now()).await.unwrap();
    let got = store.plan_booking(plan).await.unwrap();
    assert_eq!(read(&got), (None, Some(plan), BookingStatus::Confirmed, vec![ann], 90, None));
    let got = store.get_booking(lunch).await.unwrap();
    assert_eq!(read(&got), (None, None, BookingStatus::Completed, vec![ben], 60, window));
    assert_eq!(booking_ids(&store, of_user(ann)).await, [table]);
    assert_eq!(booking_ids(&store, of_user(ben)).await, [lunch]);
    assert_eq!(store.check_invariants().await.unwrap(), []);
    drop(store);
    drop(db);
}
