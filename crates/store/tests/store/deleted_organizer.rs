//! Plans outlive their organizer's account (migration 0012): deleting the organizer cancels the
//! plans still being organised and keeps every plan, with no organizer, for the people invited
//! (it used to cascade them away). A database migrated before 0012 keeps its plans, their
//! participants and their bookings through it (SQLite rebuilds the table).

use domain::{NewPlan, PageRequest, ParticipantStatus, PlanStatus, Timestamp};
use store::{DynStore, PlanRole, StoreError};
use testdb::{Backend, TestDatabase};
use uuid::Uuid;

use crate::fixtures::{booked, new_booking, pending_event_types, tomorrow_at, user, venue_seating};
use crate::older::{at, sql_id, tests_per_backend, users_and_venue, written_at};
use crate::store_tests;

store_tests!(
    the_plans_of_a_deleted_organizer_stay_for_those_invited,
    confirming_a_plan_while_its_organizer_is_deleted,
    booking_with_a_group_member_while_the_member_is_deleted,
    confirming_a_plan_while_an_invitee_who_has_not_answered_is_deleted,
);
tests_per_backend!(plans_written_before_0012_survive_it);

fn new_plan(organizer: Uuid, venue: Uuid, start_time: Timestamp, invitees: Vec<Uuid>) -> NewPlan {
    NewPlan { id: domain::new_id(), organizer_id: organizer, venue_id: venue, start_time, party_size: None, invitees }
}

fn is_conflict_on(err: &StoreError, field: &str) -> bool {
    matches!(err, StoreError::Conflict { field: Some(f), .. } if f == field)
}

async fn ids_invited(store: &DynStore, user: Uuid, role: Option<PlanRole>) -> Vec<Uuid> {
    let page = store.list_user_plans(user, role, None, PageRequest { limit: 10, after: None }).await.unwrap();
    page.items.iter().map(|p| p.id).collect()
}

/// Olga organises a plan for tomorrow evening (Ann accepted, Ben invited) and had one confirmed
/// for tomorrow noon with Ann; she is deleted as of tomorrow afternoon. Before 0012 both plans
/// went with her account: `get_plan` was `NotFound` and Ann's and Ben's lists were empty.
async fn the_plans_of_a_deleted_organizer_stay_for_those_invited(store: DynStore) {
    let (olga, ann, ben, cat) =
        (user(&store, "olga").await, user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "Corner", 20).await;
    let evening = store.create_plan(new_plan(olga.id, v.id, tomorrow_at(19, 0), vec![ann.id, ben.id])).await.unwrap();
    store.answer_plan_invitation(evening.id, ann.id, true).await.unwrap();
    let noon = store.create_plan(new_plan(olga.id, v.id, tomorrow_at(12, 0), vec![ann.id])).await.unwrap();
    let noon = store.answer_plan_invitation(noon.id, ann.id, true).await.unwrap();
    let mut table = new_booking(&olga, &v, noon.start_time, noon.party());
    table.request.plan_id = Some(noon.id);
    table.request.group_members = noon.accepted_guests();
    let table = booked(&store, table).await.booking;
    let events_before = pending_event_types(&store).await.len();

    store.delete_user(olga.id, tomorrow_at(15, 0)).await.unwrap();
    let events = pending_event_types(&store).await;
    assert_eq!(events[events_before..], ["plan.cancelled", "user.deleted"]);
    // The plan being organised is cancelled, the confirmed one stays confirmed; both without an
    // organizer, with everyone else's places as they were.
    let evening = store.get_plan(evening.id).await.unwrap();
    assert_eq!((evening.status, evening.organizer_id), (PlanStatus::Cancelled, None));
    let people: Vec<_> = evening.participants.iter().map(|p| (p.user_id, p.status)).collect();
    assert_eq!(people, [(ann.id, ParticipantStatus::Accepted), (ben.id, ParticipantStatus::Invited)]);
    let noon = store.get_plan(noon.id).await.unwrap();
    assert_eq!((noon.status, noon.organizer_id), (PlanStatus::Confirmed, None));
    assert_eq!(noon.participants.iter().map(|p| p.user_id).collect::<Vec<_>>(), [ann.id]);
    // Her own table, over by then, stays too, without its booker (0013).
    let table = store.get_booking(table.id).await.unwrap();
    assert_eq!((table.user_id, table.status, table.plan_id), (None, domain::BookingStatus::Confirmed, Some(noon.id)));
    // Those invited still find them among their plans; nobody organises them.
    assert_eq!(ids_invited(&store, ann.id, Some(PlanRole::Invited)).await, [evening.id, noon.id]);
    assert_eq!(ids_invited(&store, ann.id, None).await, [evening.id, noon.id]);
    assert_eq!(ids_invited(&store, ben.id, Some(PlanRole::Invited)).await, [evening.id]);
    assert!(ids_invited(&store, ann.id, Some(PlanRole::Organizer)).await.is_empty());
    // Nobody can change them any more, and the answer says why.
    let err = store.cancel_plan(noon.id).await.unwrap_err();
    assert!(is_conflict_on(&err, "organizer_id") && err.to_string().contains("deleted their account"), "{err:?}");
    let err = store.cancel_plan(evening.id).await.unwrap_err();
    assert!(is_conflict_on(&err, "organizer_id"), "{err:?}");
    let err = store.reschedule_plan(evening.id, tomorrow_at(20, 0), None).await.unwrap_err();
    assert!(is_conflict_on(&err, "organizer_id"), "{err:?}");
    let err = store.invite_to_plan(evening.id, vec![cat.id]).await.unwrap_err();
    assert!(is_conflict_on(&err, "organizer_id"), "{err:?}");
    let err = store.answer_plan_invitation(evening.id, ben.id, true).await.unwrap_err();
    assert!(is_conflict_on(&err, "status"), "{err:?}");
    assert_eq!(store.get_plan(evening.id).await.unwrap(), evening, "nothing changed");
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Olga's plan is confirmed (booked) while her account is deleted, again and again. The
/// deletion locks her, cancels her plan, then deletes her, whose cascade (`organizer_id` set to
/// null) checks the cancelled plan's venue key; the booking used to lock the venue first and her
/// second, so on PostgreSQL the two deadlocked and one failed as `Unavailable` (a 503 from
/// `POST /plans/{id}/confirm` or `DELETE /users/{id}`). Either may go first; neither may fail
/// for the other.
async fn confirming_a_plan_while_its_organizer_is_deleted(store: DynStore) {
    let v = venue_seating(&store, "Race", 50).await;
    for round in 0..6u64 {
        let olga = user(&store, &format!("olga{round}")).await;
        let plan = store.create_plan(new_plan(olga.id, v.id, tomorrow_at(19, 0), vec![])).await.unwrap();
        let mut table = new_booking(&olga, &v, plan.start_time, plan.party());
        table.request.plan_id = Some(plan.id);
        let deleting = store.clone();
        let delete = tokio::spawn(async move { deleting.delete_user(olga.id, chrono::Utc::now()).await });
        // The deletion a moment ahead (its first lock taken), as a confirmation arriving just after.
        tokio::time::sleep(std::time::Duration::from_micros(round * 400)).await;
        let booking = store.book(table, None).await;
        let deleted = delete.await.unwrap();
        assert!(deleted.is_ok(), "round {round}: the deletion failed: {deleted:?}");
        match booking {
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
            Err(e) => panic!("round {round}: the confirmation failed for the deletion: {e:?}"),
        }
        let plan = store.get_plan(plan.id).await.unwrap();
        assert_eq!((plan.status, plan.organizer_id), (PlanStatus::Cancelled, None), "round {round}");
    }
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Ann books a table with Mia in her group while Mia's account is deleted, again and again;
/// Mia has a table of her own at the same venue later that evening. The deletion locks her,
/// cancels her table, then deletes her, whose cascade (`user_id` set to null) checks the
/// cancelled table's venue key; the booking locked the venue, then Mia only when inviting her
/// (the invitation's foreign key), so on PostgreSQL the two deadlocked and one failed as
/// `Unavailable` (a 503). Either may go first; neither may fail for the other.
async fn booking_with_a_group_member_while_the_member_is_deleted(store: DynStore) {
    let v = venue_seating(&store, "Race", 50).await;
    for round in 0..6u64 {
        let (ann, mia) = (user(&store, &format!("ann{round}")).await, user(&store, &format!("mia{round}")).await);
        booked(&store, new_booking(&mia, &v, tomorrow_at(21, 0), 1)).await;
        let mut table = new_booking(&ann, &v, tomorrow_at(18, 0), 2);
        table.request.group_members = vec![mia.id];
        let deleting = store.clone();
        let delete = tokio::spawn(async move { deleting.delete_user(mia.id, chrono::Utc::now()).await });
        // The deletion a moment ahead (its first lock taken), as a booking arriving just after.
        tokio::time::sleep(std::time::Duration::from_micros(round * 400)).await;
        let booking = store.book(table, None).await;
        let deleted = delete.await.unwrap();
        assert!(deleted.is_ok(), "round {round}: the deletion failed: {deleted:?}");
        match booking {
            Ok(_) | Err(StoreError::NotFound { entity: "user", .. }) => {}
            Err(e) => panic!("round {round}: the booking failed for the deletion: {e:?}"),
        }
    }
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Olga's plan (Ann accepted, Ben not answered yet) is confirmed while Ben's account is deleted,
/// again and again; Ben has a table of his own at the same venue later that evening. The
/// deletion locks Ben, cancels his table, locks the plan (to decline for him), then deletes him,
/// whose cascade (`user_id` set to null) checks the cancelled table's venue key; the booking
/// locks Olga and Ann (not Ben: he is not in the party), the venue, then the plan. On PostgreSQL
/// the two could deadlock, one failing as `Unavailable` (a 503). Neither may fail for the other.
async fn confirming_a_plan_while_an_invitee_who_has_not_answered_is_deleted(store: DynStore) {
    let v = venue_seating(&store, "Race", 50).await;
    for round in 0..24u64 {
        let olga = user(&store, &format!("olga{round}")).await;
        let (ann, ben) = (user(&store, &format!("ann{round}")).await, user(&store, &format!("ben{round}")).await);
        booked(&store, new_booking(&ben, &v, tomorrow_at(21, 0), 1)).await;
        let plan = store.create_plan(new_plan(olga.id, v.id, tomorrow_at(19, 0), vec![ann.id, ben.id])).await.unwrap();
        let plan = store.answer_plan_invitation(plan.id, ann.id, true).await.unwrap();
        let mut table = new_booking(&olga, &v, plan.start_time, plan.party());
        table.request.plan_id = Some(plan.id);
        table.request.group_members = vec![ann.id];
        // One a moment ahead of the other, by turns.
        let (deleting, booking) = (store.clone(), store.clone());
        let lead = std::time::Duration::from_micros((round / 2) * 150);
        let delete = tokio::spawn(async move {
            if round % 2 == 1 {
                tokio::time::sleep(lead).await;
            }
            deleting.delete_user(ben.id, chrono::Utc::now()).await
        });
        if round % 2 == 0 {
            tokio::time::sleep(lead).await;
        }
        let booked = booking.book(table, None).await;
        let deleted = delete.await.unwrap();
        assert!(deleted.is_ok(), "round {round}: the deletion failed: {deleted:?}");
        assert!(booked.is_ok(), "round {round}: the confirmation failed for the deletion: {booked:?}");
        assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Confirmed, "round {round}");
    }
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// Migrates a fresh database of `backend` up to 0011 and writes, as a server before 0012 would
/// have, Olga's two plans (one being organised with Ann and Ben, one confirmed and past with
/// Ann), the booking of the confirmed one, and a cancelled booking naming the other; then opens
/// the store, which applies 0012. Every row is still there with its references (on SQLite,
/// dropping the old table with foreign keys on would have deleted the participants and emptied
/// `bookings.plan_id`), foreign keys are on again, and deleting Olga now keeps both plans.
async fn plans_written_before_0012_survive_it(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let [olga, ann, ben, v, pending, past, table, attempt] = std::array::from_fn(|_| domain::new_id());
    let id = |u: Uuid| sql_id(backend, u);
    let now = chrono::Utc::now();
    let (t0, t1, t2) = (at(now - chrono::Duration::days(3)), at(now - chrono::Duration::days(2)), at(now));
    let (later, before) = (at(now + chrono::Duration::days(2)), at(now - chrono::Duration::days(1)));
    let [users, venue] = users_and_venue(backend, &t0, &[(olga, "olga"), (ann, "ann"), (ben, "ben")], v);
    let statements = [
        users,
        venue,
        format!(
            "INSERT INTO plans (id, organizer_id, venue_id, start_time, party_size, status, created_at) VALUES \
             ({}, {}, {}, '{later}', NULL, 'draft', '{t1}'), ({}, {}, {}, '{before}', 4, 'confirmed', '{t0}')",
            id(pending),
            id(olga),
            id(v),
            id(past),
            id(olga),
            id(v)
        ),
        format!(
            "INSERT INTO plan_participants (plan_id, user_id, status, invited_at, responded_at) VALUES \
             ({p}, {o}, 'accepted', '{t1}', '{t1}'), ({p}, {a}, 'accepted', '{t1}', '{t2}'), \
             ({p}, {b}, 'invited', '{t2}', NULL), ({q}, {o}, 'accepted', '{t0}', '{t0}'), \
             ({q}, {a}, 'accepted', '{t0}', '{t1}')",
            p = id(pending),
            q = id(past),
            o = id(olga),
            a = id(ann),
            b = id(ben)
        ),
        format!(
            "INSERT INTO bookings (id, user_id, venue_id, plan_id, booking_time, party_size, status, \
             confirmation_code, provider, agent, group_members, created_at, updated_at) VALUES \
             ({}, {}, {v}, {}, '{before}', 4, 'confirmed', 'LUNA-M001', 'house', 'test', '[]', '{t0}', '{t0}'), \
             ({}, {}, {v}, {}, '{later}', 2, 'cancelled', 'LUNA-M002', 'house', 'test', '[]', '{t1}', '{t1}')",
            id(table),
            id(olga),
            id(past),
            id(attempt),
            id(ann),
            id(pending),
            v = id(v)
        ),
    ];
    written_at(&db, backend, 11, &statements).await;
    let store = store::connect(&db.url).await.expect("the store opens and applies 0012");
    let people = |plan: &domain::Plan| plan.participants.iter().map(|p| (p.user_id, p.status)).collect::<Vec<_>>();
    use ParticipantStatus::{Accepted, Invited};
    let plan = store.get_plan(pending).await.unwrap();
    assert_eq!((plan.organizer_id, plan.status), (Some(olga), PlanStatus::Draft));
    assert_eq!(people(&plan), [(olga, Accepted), (ann, Accepted), (ben, Invited)]);
    let plan = store.get_plan(past).await.unwrap();
    assert_eq!((plan.organizer_id, plan.status, plan.party_size), (Some(olga), PlanStatus::Confirmed, Some(4)));
    assert_eq!(people(&plan), [(olga, Accepted), (ann, Accepted)]);
    assert_eq!(store.get_booking(table).await.unwrap().plan_id, Some(past));
    assert_eq!(store.get_booking(attempt).await.unwrap().plan_id, Some(pending));
    assert_eq!(store.check_invariants().await.unwrap(), []);

    store.delete_user(olga, chrono::Utc::now()).await.unwrap();
    let plan = store.get_plan(pending).await.unwrap();
    assert_eq!((plan.organizer_id, plan.status), (None, PlanStatus::Cancelled));
    assert_eq!(people(&plan), [(ann, Accepted), (ben, Invited)]);
    let plan = store.get_plan(past).await.unwrap();
    assert_eq!((plan.organizer_id, plan.status), (None, PlanStatus::Confirmed));
    assert_eq!(people(&plan), [(ann, Accepted)]);
    // Foreign keys are on again: her booking lost its booker (0013), Ann's still names its plan.
    assert_eq!(store.get_booking(table).await.unwrap().user_id, None);
    assert_eq!(store.get_booking(attempt).await.unwrap().plan_id, Some(pending));
    assert_eq!(store.check_invariants().await.unwrap(), []);
    drop(store);
    drop(db);
}
