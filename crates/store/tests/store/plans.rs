//! Plans (propose, invite, answer, book) and idempotency keys, on every backend.

use std::sync::Arc;

use domain::{
    AutoBooked, BookingStatus, NewPlan, PageRequest, ParticipantStatus, PlanStatus, SeatOutcome, User, Venue,
};
use serde_json::json;
use store::{DynStore, IdempotencyKey, Idempotent, PlanRole, StoreError};

use crate::fixtures::{booked, new_booking, pending_event_types, tomorrow_at, user, venue_seating};
use crate::store_tests;

store_tests!(
    a_plan_invites_people_who_answer_and_its_booking_confirms_it,
    a_plan_is_booked_at_most_once,
    a_plan_is_booked_only_for_the_party_it_has_now,
    a_plans_party_stays_as_it_is_while_a_provider_answers_for_its_hold,
    an_answer_given_again_keeps_the_first_and_records_nothing,
    a_plans_booking_that_clashes_or_comes_too_late_names_the_plans_fields,
    concurrent_invitations_never_pass_the_cap_together,
    auto_booking_leaves_out_people_deleted_since_the_groups_were_drawn,
    acceptances_never_make_the_party_larger_than_the_venue_seats_even_racing,
    a_plan_is_not_made_with_a_party_larger_than_its_venue_seats,
    the_same_key_and_request_replays_the_first_answer_and_books_nothing_new,
    a_key_reused_with_another_request_or_still_in_flight_is_refused,
    concurrent_requests_with_one_key_make_one_booking,
    auto_booking_skips_people_already_booked_and_groups_without_room,
    auto_booking_lets_flexible_members_go_when_seats_were_taken_since_the_caller_counted,
    old_keys_are_purged,
    an_organizer_cancels_a_plan_being_organised_once_and_a_confirmed_one_only_through_its_booking,
    a_users_plans_are_listed_by_role_and_status_a_page_at_a_time,
    plans_whose_time_came_unbooked_are_cancelled_once_even_by_two_sweeps_at_once,
    someone_not_on_a_plan_who_answers_it_gets_the_answer_to_no_such_plan,
    a_plan_being_organised_is_rescheduled_and_its_invitees_asked_again,
    a_plans_booking_drawn_up_before_it_was_rescheduled_is_refused,
);

fn new_plan(organizer: uuid::Uuid, venue: uuid::Uuid, invitees: Vec<uuid::Uuid>) -> NewPlan {
    NewPlan {
        id: domain::new_id(),
        organizer_id: organizer,
        venue_id: venue,
        start_time: tomorrow_at(19, 0),
        party_size: None,
        invitees,
    }
}

async fn a_plan_invites_people_who_answer_and_its_booking_confirms_it(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap();
    assert_eq!(plan.status, PlanStatus::Draft);
    let statuses: Vec<_> = plan.participants.iter().map(|p| (p.user_id, p.status)).collect();
    assert_eq!(statuses, vec![(ann.id, ParticipantStatus::Accepted), (ben.id, ParticipantStatus::Invited)]);
    let plan = store.invite_to_plan(plan.id, vec![cat.id, ben.id]).await.unwrap();
    assert_eq!(plan.participants.len(), 3);
    store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    let plan = store.answer_plan_invitation(plan.id, cat.id, false).await.unwrap();
    assert_eq!((plan.party(), plan.accepted_guests()), (2, vec![ben.id]));
    let err = store.answer_plan_invitation(plan.id, domain::new_id(), true).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "plan", .. }), "{err:?}");

    let mut new = new_booking(&ann, &v, plan.start_time, plan.party());
    new.request.plan_id = Some(plan.id);
    new.request.group_members = plan.accepted_guests();
    let made = booked(&store, new).await;
    assert_eq!(made.plan.as_ref().map(|p| p.status), Some(PlanStatus::Confirmed));
    assert!(made.invitations.is_empty(), "a plan's people were invited to the plan");
    assert_eq!(store.plan_booking(plan.id).await.unwrap().id, made.booking.id);
    let late = store.answer_plan_invitation(plan.id, cat.id, true).await.unwrap_err();
    assert!(matches!(late, StoreError::Conflict { .. }), "{late:?}");

    store.set_booking_status(made.booking.id, BookingStatus::Cancelled, chrono::Utc::now()).await.unwrap();
    assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Cancelled);
    let events = pending_event_types(&store).await;
    for e in ["plan.created", "invitation.sent", "plan.participant_updated", "plan.confirmed", "plan.cancelled"] {
        assert!(events.contains(&e.to_string()), "{e} missing from {events:?}");
    }
}

async fn a_plan_is_booked_at_most_once(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let mut hold = new_booking(&ann, &v, plan.start_time, 1);
    hold.request.plan_id = Some(plan.id);
    hold.status = BookingStatus::Pending;
    booked(&store, hold.clone()).await;
    let mut second = new_booking(&ann, &v, plan.start_time, 1);
    second.request.plan_id = Some(plan.id);
    let err = store.book(second, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 1);
}

async fn a_plan_is_booked_only_for_the_party_it_has_now(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id, cat.id])).await.unwrap();
    // The booking was drawn up from the plan as it was; then Ben accepted.
    let stale = plan.clone();
    let plan = store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    let mut new = new_booking(&ann, &v, stale.start_time, stale.party());
    new.request.plan_id = Some(stale.id);
    new.request.group_members = stale.accepted_guests();
    let err = store.book(new, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "party_size"), "{err:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 0);
    assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Draft);
    // The same guests in another order are the same party; another organizer is not.
    store.answer_plan_invitation(plan.id, cat.id, true).await.unwrap();
    let plan = store.get_plan(plan.id).await.unwrap();
    let mut wrong = new_booking(&ben, &v, plan.start_time, plan.party());
    wrong.request.plan_id = Some(plan.id);
    wrong.request.group_members = vec![ann.id, cat.id];
    assert!(matches!(store.book(wrong, None).await, Err(StoreError::Conflict { .. })));
    let mut new = new_booking(&ann, &v, plan.start_time, plan.party());
    new.request.plan_id = Some(plan.id);
    new.request.group_members = plan.accepted_guests().into_iter().rev().collect();
    let made = booked(&store, new).await;
    assert_eq!((made.booking.party_size, made.plan.map(|p| p.status)), (3, Some(PlanStatus::Confirmed)));
}

async fn a_plans_party_stays_as_it_is_while_a_provider_answers_for_its_hold(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let (dan, eve) = (user(&store, "dan").await, user(&store, "eve").await);
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id, cat.id, dan.id])).await.unwrap();
    store.answer_plan_invitation(plan.id, cat.id, true).await.unwrap();
    // A hold for Ann and Cat, while an outside provider is asked.
    let mut hold = new_booking(&ann, &v, plan.start_time, 2);
    hold.request.plan_id = Some(plan.id);
    hold.request.group_members = vec![cat.id];
    hold.status = BookingStatus::Pending;
    let hold = booked(&store, hold).await.booking;
    // Joining or leaving the party is refused meanwhile.
    let join = store.answer_plan_invitation(plan.id, ben.id, true).await;
    assert!(matches!(&join, Err(StoreError::Conflict { .. })), "{join:?}");
    let leave = store.answer_plan_invitation(plan.id, cat.id, false).await;
    assert!(matches!(&leave, Err(StoreError::Conflict { .. })), "{leave:?}");
    // Someone not invited is not found, hold or not.
    let stranger = store.answer_plan_invitation(plan.id, eve.id, true).await;
    assert!(matches!(&stranger, Err(StoreError::NotFound { entity: "plan", .. })), "{stranger:?}");
    // What leaves the party as it is goes through: a decline by someone not in it, an invitation.
    store.answer_plan_invitation(plan.id, dan.id, false).await.unwrap();
    store.invite_to_plan(plan.id, vec![eve.id]).await.unwrap();
    let plan_now = store.get_plan(plan.id).await.unwrap();
    assert_eq!((plan_now.party(), plan_now.accepted_guests()), (2, vec![cat.id]));
    // Given back (the provider said no): the plan takes answers again.
    assert!(store.release_hold(hold.id, "provider refused", None).await.unwrap());
    let plan = store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    assert_eq!(plan.party(), 3);
}

async fn an_answer_given_again_keeps_the_first_and_records_nothing(store: DynStore) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap();
    let updates =
        || async { pending_event_types(&store).await.into_iter().filter(|e| e == "plan.participant_updated").count() };
    let first = store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    assert_eq!(updates().await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    assert_eq!(again, first, "the first answer and its time stay");
    assert_eq!(updates().await, 1, "nobody is told twice");
    let declined = store.answer_plan_invitation(plan.id, ben.id, false).await.unwrap();
    assert_eq!(updates().await, 2);
    assert_eq!(store.answer_plan_invitation(plan.id, ben.id, false).await.unwrap(), declined);
    assert_eq!(updates().await, 2);
}

async fn a_plans_booking_that_clashes_or_comes_too_late_names_the_plans_fields(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let at = tomorrow_at(19, 0);
    // Ann holds a table there then; a plan of hers at that time clashes on its `start_time`.
    booked(&store, new_booking(&ann, &v, at, 2)).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let mut new = new_booking(&ann, &v, plan.start_time, 1);
    new.request.plan_id = Some(plan.id);
    new.refuse_double = true;
    let err = store.book(new, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "start_time"), "{err:?}");
    // A plan confirmed already is refused on its `status`, as answers to it are.
    let other = new_plan(ann.id, v.id, vec![]);
    let other = store.create_plan(NewPlan { start_time: at + chrono::Duration::hours(2), ..other }).await.unwrap();
    let mut first = new_booking(&ann, &v, other.start_time, 1);
    first.request.plan_id = Some(other.id);
    booked(&store, first.clone()).await;
    first.id = domain::new_id();
    let err = store.book(first, None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "status"), "{err:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 2);
}

async fn acceptances_never_make_the_party_larger_than_the_venue_seats_even_racing(store: DynStore) {
    // Ann and ben fill a venue seating 2: cat's acceptance is refused, rolled back and recorded
    // nowhere; once ben declines, cat gets in.
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let two = venue_seating(&store, "Two Seats", 2).await;
    let plan = store.create_plan(new_plan(ann.id, two.id, vec![ben.id, cat.id])).await.unwrap();
    store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    let updates =
        || async { pending_event_types(&store).await.into_iter().filter(|e| e == "plan.participant_updated").count() };
    let before = updates().await;
    let err = store.answer_plan_invitation(plan.id, cat.id, true).await.unwrap_err();
    let says = err.to_string();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(says.contains("the plan is full: Two Seats seats at most 2, and the party would be 3"), "{says}");
    let now = store.get_plan(plan.id).await.unwrap();
    let cat_now = now.participants.iter().find(|p| p.user_id == cat.id).map(|p| (p.status, p.responded_at));
    assert_eq!(cat_now, Some((ParticipantStatus::Invited, None)), "the refused answer changed nothing");
    assert_eq!(updates().await, before, "nobody is told of a refused answer");
    // Declining is never refused, and makes room.
    store.answer_plan_invitation(plan.id, cat.id, false).await.unwrap();
    store.answer_plan_invitation(plan.id, ben.id, false).await.unwrap();
    assert_eq!(store.answer_plan_invitation(plan.id, cat.id, true).await.unwrap().party(), 2);

    // Twelve invitees race for the three places left at a venue seating 4: three get in.
    let four = venue_seating(&store, "Four Seats", 4).await;
    let mut people = Vec::new();
    for i in 0..12 {
        people.push(user(&store, &format!("racer{i}")).await.id);
    }
    let plan = store.create_plan(new_plan(ann.id, four.id, people.clone())).await.unwrap();
    let store = Arc::new(store);
    let tasks: Vec<_> = people
        .iter()
        .map(|&who| {
            let store = store.clone();
            tokio::spawn(async move { store.answer_plan_invitation(plan.id, who, true).await })
        })
        .collect();
    let mut got_in = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => got_in += 1,
            Err(StoreError::Conflict { message, .. }) => assert!(message.contains("the plan is full"), "{message}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    let plan = store.get_plan(plan.id).await.unwrap();
    assert_eq!((got_in, plan.party()), (3, 4), "{plan:?}");
}

async fn a_plan_is_not_made_with_a_party_larger_than_its_venue_seats(store: DynStore) {
    // The app checks the party against the venue first; the store checks again under the
    // venue's lock, so a capacity lowered in between is seen.
    let ann = user(&store, "ann").await;
    let two = venue_seating(&store, "Two Seats", 2).await;
    let crowd = NewPlan { party_size: Some(3), ..new_plan(ann.id, two.id, vec![]) };
    let err = store.create_plan(crowd).await.unwrap_err();
    let says = err.to_string();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(says.contains("Two Seats seats at most 2, and the party would be 3"), "{says}");
    assert_eq!(store.counts().await.unwrap().plans, 0);
    let pair = NewPlan { party_size: Some(2), ..new_plan(ann.id, two.id, vec![]) };
    assert_eq!(store.create_plan(pair).await.unwrap().party(), 2);
}

/// The store never lets a plan being organised grow past its venue, nor the venue shrink under
/// it; the invariant check finds one made behind its back, counting accepted participants or a
/// larger `party_size` as `Plan::party` does. Plans already past (the venue may have shrunk
/// since) and plans booked (their booking holds the seats) are not reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invariant_check_finds_a_plan_larger_than_its_venue_made_behind_the_stores_back() {
    for backend in testdb::Backend::ALL {
        let Some(db) = testdb::TestDatabase::create(backend).await else { continue };
        let store = store::connect(&db.url).await.expect("open the store");
        let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
        let four = venue_seating(&store, "Four Seats", 4).await;
        let ahead = store.create_plan(new_plan(ann.id, four.id, vec![ben.id, cat.id])).await.unwrap();
        for guest in [ben.id, cat.id] {
            store.answer_plan_invitation(ahead.id, guest, true).await.unwrap();
        }
        let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
        let past = NewPlan { start_time: yesterday, party_size: Some(4), ..new_plan(ann.id, four.id, vec![]) };
        store.create_plan(past).await.unwrap();
        assert_eq!(store.check_invariants().await.unwrap(), vec![], "{backend:?}");

        assert_eq!(db.execute("UPDATE venues SET capacity = 2").await.unwrap(), 1, "{backend:?}");
        let found = store.check_invariants().await.unwrap();
        let rules: Vec<_> = found.iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(rules, ["plan_over_capacity"], "{backend:?}: {found:?}");
        let says = format!("plan {} at venue {}: party of 3, capacity 2", ahead.id, four.id);
        assert_eq!(found[0].detail, says, "{backend:?}");

        assert_eq!(db.execute("UPDATE venues SET capacity = 4").await.unwrap(), 1, "{backend:?}");
        assert_eq!(store.check_invariants().await.unwrap(), vec![], "{backend:?}");
        let sql = "UPDATE plans SET party_size = 6 WHERE party_size IS NULL";
        assert_eq!(db.execute(sql).await.unwrap(), 1, "{backend:?}");
        let found = store.check_invariants().await.unwrap();
        assert_eq!(found.len(), 1, "{backend:?}: {found:?}");
        assert!(found[0].detail.ends_with("party of 6, capacity 4"), "{backend:?}: {found:?}");

        let sql = "UPDATE plans SET status = 'confirmed' WHERE party_size = 6";
        assert_eq!(db.execute(sql).await.unwrap(), 1, "{backend:?}");
        assert_eq!(store.check_invariants().await.unwrap(), vec![], "{backend:?}");
        drop(store);
    }
}

fn key(scope: &str, k: &str, request: serde_json::Value) -> IdempotencyKey {
    IdempotencyKey { scope: scope.into(), key: k.into(), request }
}

async fn concurrent_invitations_never_pass_the_cap_together(store: DynStore) {
    let max = domain::booking::MAX_GROUP_MEMBERS;
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 200).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let mut people = Vec::new();
    for i in 0..(2 * max - 2) {
        people.push(user(&store, &format!("guest{i}")).await.id);
    }
    // Two invitations that each fit alone (max - 1 people) but not together.
    let store = Arc::new(store);
    let tasks: Vec<_> = people
        .chunks(max - 1)
        .map(|group| {
            let (store, group) = (store.clone(), group.to_vec());
            tokio::spawn(async move { store.invite_to_plan(plan.id, group).await })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "participant_ids", "{e:?}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(accepted, 1, "exactly one of the two invitations fits");
    let invited = store.get_plan(plan.id).await.unwrap().participants.len() - 1;
    assert_eq!(invited, max - 1);
}

async fn the_same_key_and_request_replays_the_first_answer_and_books_nothing_new(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let at = tomorrow_at(19, 0);
    let k = key(&ann.id.to_string(), "k-1", json!({"venue_id": v.id, "party_size": 2}));
    let first = store.book(new_booking(&ann, &v, at, 2), Some(k.clone())).await.unwrap();
    let Idempotent::Fresh(SeatOutcome::Booked(made)) = first else { panic!("{first:?}") };
    // A retry carries a new id and code (the agent draws them per attempt): the first answer wins.
    let again = store.book(new_booking(&ann, &v, at, 2), Some(k)).await.unwrap();
    assert_eq!(again, Idempotent::Replayed(SeatOutcome::Booked(made)));
    assert_eq!(store.counts().await.unwrap().bookings, 1);
    // The same key under another caller is another key.
    let other = key("someone-else", "k-1", json!({"venue_id": v.id, "party_size": 2}));
    assert!(matches!(store.book(new_booking(&ann, &v, at, 2), Some(other)).await.unwrap(), Idempotent::Fresh(_)));
}

async fn a_key_reused_with_another_request_or_still_in_flight_is_refused(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let at = tomorrow_at(19, 0);
    let k = key("ann", "k-2", json!({"party_size": 2}));
    let mut hold = new_booking(&ann, &v, at, 2);
    hold.status = BookingStatus::Pending;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let Idempotent::Fresh(SeatOutcome::Booked(held)) = store.book(hold, Some(k.clone())).await.unwrap() else {
        panic!("a hold");
    };
    let after = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // It says when the key was taken (by the hold, not this request), for the caller's Retry-After.
    let in_flight = store.book(new_booking(&ann, &v, at, 2), Some(k.clone())).await.unwrap_err();
    assert!(
        matches!(in_flight, StoreError::KeyInFlight { since } if before < since && since <= after),
        "{in_flight:?}"
    );
    let other = key("ann", "k-2", json!({"party_size": 3}));
    let mismatch = store.book(new_booking(&ann, &v, at, 3), Some(other)).await.unwrap_err();
    assert!(matches!(&mismatch, StoreError::Invalid(e) if e.0[0].field == "idempotency_key"), "{mismatch:?}");
    // Released (the provider failed): the key is free for a fresh attempt.
    assert!(store.release_hold(held.booking.id, "provider_failed", Some(k.clone())).await.unwrap());
    let mut hold = new_booking(&ann, &v, at, 2);
    hold.status = BookingStatus::Pending;
    let retry = store.book(hold, Some(k.clone())).await.unwrap();
    assert!(matches!(retry, Idempotent::Fresh(SeatOutcome::Booked(_))), "{retry:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 1);
    // A late second release of the first hold finds none, and leaves the key to the retry,
    // which is still in flight: a third attempt is refused, not booked again.
    assert!(!store.release_hold(held.booking.id, "confirm_failed", Some(k.clone())).await.unwrap());
    let third = store.book(new_booking(&ann, &v, at, 2), Some(k)).await.unwrap_err();
    assert!(matches!(&third, StoreError::KeyInFlight { .. }), "{third:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 1);
}

async fn concurrent_requests_with_one_key_make_one_booking(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 100).await;
    let at = tomorrow_at(19, 0);
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, new) = (store.clone(), new_booking(&ann, &v, at, 2));
            let k = key("ann", "same", json!({"party_size": 2}));
            tokio::spawn(async move { store.book(new, Some(k)).await })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(answer) => match answer.into_inner() {
                SeatOutcome::Booked(b) => ids.push(b.booking.id),
                full => panic!("{full:?}"),
            },
            // A house booking saves its answer in the transaction that claims the key, so a
            // concurrent request waits for it and replays it: none is refused as in flight.
            Err(e) => panic!("{e:?}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(store.counts().await.unwrap().bookings, 1);
}

/// Ann, Ben, Cat, Dan and Eve, the auto-booking tests' people.
async fn five_people(store: &DynStore) -> Vec<User> {
    let mut people = Vec::new();
    for h in ["ann", "ben", "cat", "dan", "eve"] {
        people.push(user(store, h).await);
    }
    people
}

/// A group auto-booked at `v`: `people[members[0]]` organises, the others come along.
fn group_of(people: &[User], v: &Venue, at: domain::Timestamp, members: &[usize]) -> store::NewBooking {
    let mut g = new_booking(&people[members[0]], v, at, members.len() as i32);
    g.request.group_members = members[1..].iter().map(|&i| people[i].id).collect();
    g
}

async fn auto_booking_skips_people_already_booked_and_groups_without_room(store: DynStore) {
    let people = five_people(&store).await;
    let v = venue_seating(&store, "v", 5).await;
    let at = tomorrow_at(19, 0);
    // Dan already has a table there then.
    booked(&store, new_booking(&people[3], &v, at, 2)).await;
    let group = |members: &[usize]| group_of(&people, &v, at, members);
    let groups = vec![group(&[3, 0, 1]), group(&[2, 4])];
    // Parties of 2 stay 90 minutes, of 3 two hours (as the groups were drawn up).
    let turns = vec![60, 60, 90, 120];
    let Idempotent::Fresh(out) = store.auto_book(v.id, groups, Vec::new(), 2, turns, None).await.unwrap() else {
        panic!("fresh")
    };
    let AutoBooked { booked, full, already_booked } = out;
    assert_eq!(already_booked, vec![people[3].id]);
    assert_eq!(booked.len(), 1);
    assert_eq!(
        (booked[0].booking.user_id, booked[0].booking.group_members.clone()),
        (Some(people[0].id), vec![people[1].id])
    );
    // The first group lost Dan: two people stay 90 minutes, not the three's two hours.
    assert_eq!(booked[0].booking.duration_minutes, 90);
    assert_eq!(full.len(), 1, "2 + 2 seats taken of 5: the second group of 2 does not fit");
    assert_eq!(full[0].seats_free, 1);
}

/// Ben is deleted after the groups were drawn up from the interests (an HTTP auto-book racing
/// `DELETE /api/v1/users/{id}`): his group is booked without him and the other group as drawn.
/// The booking's foreign key used to fail the whole run as a user not found (a 404 from
/// `POST /bookings/venue/{venue_id}/auto-book`, which means no such venue).
async fn auto_booking_leaves_out_people_deleted_since_the_groups_were_drawn(store: DynStore) {
    let people = five_people(&store).await;
    let v = venue_seating(&store, "v", 20).await;
    let at = tomorrow_at(19, 0);
    let group = |members: &[usize]| group_of(&people, &v, at, members);
    let groups = vec![group(&[1, 0, 2]), group(&[3, 4])];
    store.delete_user(people[1].id, chrono::Utc::now()).await.unwrap();
    let turns = vec![60, 60, 90, 120];
    let Idempotent::Fresh(out) = store.auto_book(v.id, groups, Vec::new(), 2, turns, None).await.unwrap() else {
        panic!("fresh")
    };
    let seated: Vec<_> = out.booked.iter().map(|b| (b.booking.user_id, b.booking.group_members.clone())).collect();
    assert_eq!(seated, [(Some(people[0].id), vec![people[2].id]), (Some(people[3].id), vec![people[4].id])]);
    assert_eq!(out.booked[0].booking.party_size, 2);
    assert!(out.full.is_empty() && out.already_booked.is_empty(), "{out:?}");
    assert_eq!(store.check_invariants().await.unwrap(), []);
}

/// The caller counts free seats before the transaction; if someone takes seats in between, the
/// store lets the group's flexible members go, last first (never the exact-time ones, never
/// below two), instead of refusing the whole group.
async fn auto_booking_lets_flexible_members_go_when_seats_were_taken_since_the_caller_counted(store: DynStore) {
    let mut people = Vec::new();
    for h in ["ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ida"] {
        people.push(user(&store, h).await);
    }
    let v = venue_seating(&store, "v", 8).await;
    let (at, later) = (tomorrow_at(19, 0), tomorrow_at(22, 0));
    let group = |at, members: &[usize]| {
        let mut g = new_booking(&people[members[0]], &v, at, members.len() as i32);
        g.request.group_members = members[1..].iter().map(|&i| people[i].id).collect();
        g
    };
    // Seats taken after the caller counted: 5 of 8 at 19:00, 7 of 8 at 22:00.
    booked(&store, new_booking(&people[3], &v, at, 5)).await;
    booked(&store, new_booking(&people[3], &v, later, 7)).await;
    // Ann and Ben chose 19:00, Cat and Eve joined by part of the day (Eve last); Fay and Gus
    // chose 22:00 with Hal and Ida flexible.
    let groups = vec![group(at, &[0, 1, 2, 4]), group(later, &[5, 6, 7, 8])];
    let flexible = vec![people[2].id, people[4].id, people[7].id, people[8].id];
    let turns = vec![60, 60, 90, 120, 150];
    let Idempotent::Fresh(out) = store.auto_book(v.id, groups, flexible, 2, turns, None).await.unwrap() else {
        panic!("fresh")
    };
    let AutoBooked { booked, full, already_booked } = out;
    assert!(already_booked.is_empty(), "{already_booked:?}");
    assert_eq!(booked.len(), 1, "{booked:?}");
    let b = &booked[0].booking;
    assert_eq!((b.user_id, b.group_members.clone()), (Some(people[0].id), vec![people[1].id, people[2].id]));
    assert_eq!((b.party_size, b.duration_minutes), (3, 120), "a party of three stays as long as three do");
    // At 22:00 one seat is left: letting Hal and Ida go leaves the exact pair, which does not fit.
    assert_eq!(full.len(), 1, "{full:?}");
    assert_eq!((full[0].user_id, full[0].party_size, full[0].seats_free), (people[5].id, 2, 1));
    assert_eq!(store.counts().await.unwrap().bookings, 3);
    // Never below the smallest group auto-booking makes: with three, the party of four lets Eve
    // go, then stops, and three do not fit the two seats left at noon.
    let noon = tomorrow_at(12, 0);
    crate::fixtures::booked(&store, new_booking(&people[3], &v, noon, 6)).await;
    let flexible = vec![people[2].id, people[4].id];
    let groups = vec![group(noon, &[0, 1, 2, 4])];
    let out = store.auto_book(v.id, groups, flexible, 3, vec![60, 60, 90, 120, 150], None).await.unwrap();
    let AutoBooked { booked: made, full, .. } = out.into_inner();
    assert!(made.is_empty(), "{made:?}");
    assert_eq!((full[0].party_size, full[0].seats_free), (3, 2));
}

async fn old_keys_are_purged(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let k = key("ann", "old", json!({}));
    store.book(new_booking(&ann, &v, tomorrow_at(19, 0), 2), Some(k.clone())).await.unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        store.purge_idempotency_keys(now - chrono::Duration::hours(1), now - chrono::Duration::hours(1)).await.unwrap(),
        0
    );
    assert_eq!(store.purge_idempotency_keys(now, now + chrono::Duration::seconds(1)).await.unwrap(), 1);
    // The key is gone: the same request books again.
    let again = store.book(new_booking(&ann, &v, tomorrow_at(19, 0), 2), Some(k)).await.unwrap();
    assert!(matches!(again, Idempotent::Fresh(SeatOutcome::Booked(_))));
}

async fn an_organizer_cancels_a_plan_being_organised_once_and_a_confirmed_one_only_through_its_booking(
    store: DynStore,
) {
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let v = venue_seating(&store, "v", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap();
    let before = pending_event_types(&store).await.iter().filter(|e| *e == "plan.cancelled").count();
    let cancelled = store.cancel_plan(plan.id).await.unwrap();
    assert_eq!(cancelled.status, PlanStatus::Cancelled);
    assert_eq!(cancelled.participants, plan.participants, "the participants stay as they were");
    assert_eq!(store.get_plan(plan.id).await.unwrap(), cancelled);
    let told = || async { pending_event_types(&store).await.iter().filter(|e| *e == "plan.cancelled").count() };
    assert_eq!(told().await, before + 1);
    // Cancelled already: refused, nobody told again.
    let again = store.cancel_plan(plan.id).await.unwrap_err();
    assert!(
        matches!(&again, StoreError::Conflict { field: Some(f), message } if f == "status"
        && message.contains("already cancelled")),
        "{again:?}"
    );
    assert_eq!(told().await, before + 1);
    let unknown = store.cancel_plan(domain::new_id()).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound { entity: "plan", .. }), "{unknown:?}");

    // A confirmed plan is called off by cancelling its booking, which the refusal names.
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let mut new = new_booking(&ann, &v, plan.start_time, 1);
    new.request.plan_id = Some(plan.id);
    let booking = booked(&store, new).await.booking;
    let err = store.cancel_plan(plan.id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { field: Some(f), message } if f == "status"
        && message.contains(&booking.id.to_string())),
        "{err:?}"
    );
    assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Confirmed);
    assert_eq!(store.get_booking(booking.id).await.unwrap().status, BookingStatus::Confirmed);

    // A plan whose hold waits on an outside provider stays as it is.
    let plan = store.create_plan(new_plan(ben.id, v.id, vec![])).await.unwrap();
    let mut hold = new_booking(&ben, &v, plan.start_time, 1);
    hold.request.plan_id = Some(plan.id);
    hold.status = BookingStatus::Pending;
    booked(&store, hold).await;
    let err = store.cancel_plan(plan.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.get_plan(plan.id).await.unwrap().status, PlanStatus::Draft);
    assert_eq!(told().await, before + 1);
}

async fn a_users_plans_are_listed_by_role_and_status_a_page_at_a_time(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "v", 10).await;
    let first = store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap();
    let second = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let invited = store.create_plan(new_plan(ben.id, v.id, vec![ann.id, cat.id])).await.unwrap();
    let invited = store.answer_plan_invitation(invited.id, ann.id, false).await.unwrap();
    let _not_hers = store.create_plan(new_plan(cat.id, v.id, vec![ben.id])).await.unwrap();
    let second = store.cancel_plan(second.id).await.unwrap();
    let page = |limit, after| PageRequest { limit, after };

    let one = store.list_user_plans(ann.id, None, None, page(2, None)).await.unwrap();
    assert_eq!(one.items, vec![first.clone(), second.clone()], "with their participants, as get_plan gives them");
    assert_eq!(one.next, Some(second.id));
    let two = store.list_user_plans(ann.id, None, None, page(2, one.next)).await.unwrap();
    assert_eq!((two.items, two.next), (vec![invited.clone()], None));

    let ids = |p: domain::Page<domain::Plan>| p.items.iter().map(|p| p.id).collect::<Vec<_>>();
    let organising = store.list_user_plans(ann.id, Some(PlanRole::Organizer), None, page(50, None)).await.unwrap();
    assert_eq!(ids(organising), vec![first.id, second.id]);
    let asked = store.list_user_plans(ann.id, Some(PlanRole::Invited), None, page(50, None)).await.unwrap();
    assert_eq!(ids(asked), vec![invited.id], "a declined invitation is still listed");
    let cancelled = store.list_user_plans(ann.id, None, Some(PlanStatus::Cancelled), page(50, None)).await.unwrap();
    assert_eq!(ids(cancelled), vec![second.id]);
    let pending_asked = store.list_user_plans(ann.id, Some(PlanRole::Invited), Some(PlanStatus::Draft), page(1, None));
    assert_eq!(ids(pending_asked.await.unwrap()), vec![invited.id]);
    let none = store.list_user_plans(cat.id, Some(PlanRole::Organizer), Some(PlanStatus::Confirmed), page(5, None));
    assert_eq!(none.await.unwrap().items, vec![]);
    let unknown = store.list_user_plans(domain::new_id(), None, None, page(5, None)).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound { entity: "user", .. }), "{unknown:?}");
}

/// The janitor's sweep: every plan still being organised whose start time has come is cancelled
/// with one `plan.cancelled` event, even by two sweeps running at once (two servers on one
/// database); a plan still to come, a confirmed one and one whose hold waits on a provider are
/// left as they are.
async fn plans_whose_time_came_unbooked_are_cancelled_once_even_by_two_sweeps_at_once(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "v", 100).await;
    let mut gone = Vec::new();
    for _ in 0..7 {
        gone.push(store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap().id);
    }
    let later = store.create_plan(NewPlan { start_time: tomorrow_at(21, 0), ..new_plan(ann.id, v.id, vec![]) });
    let later = later.await.unwrap();
    let confirmed = store.create_plan(new_plan(ben.id, v.id, vec![])).await.unwrap();
    let mut booking = new_booking(&ben, &v, confirmed.start_time, 1);
    booking.request.plan_id = Some(confirmed.id);
    booked(&store, booking).await;
    let held = store.create_plan(new_plan(cat.id, v.id, vec![])).await.unwrap();
    let mut hold = new_booking(&cat, &v, held.start_time, 1);
    hold.request.plan_id = Some(held.id);
    hold.status = BookingStatus::Pending;
    booked(&store, hold).await;

    let now = tomorrow_at(20, 0);
    let store = Arc::new(store);
    let sweeps: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.cancel_expired_plans(now, 2).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|p| (p.id, p.status)));
                }
            })
        })
        .collect();
    let mut cancelled = Vec::new();
    for s in sweeps {
        cancelled.extend(s.await.unwrap());
    }
    cancelled.sort_by_key(|(id, _)| *id);
    let mut expected: Vec<_> = gone.iter().map(|&id| (id, PlanStatus::Cancelled)).collect();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(cancelled, expected, "each plan whose time came is cancelled by one sweep");
    for id in &gone {
        assert_eq!(store.get_plan(*id).await.unwrap().status, PlanStatus::Cancelled);
    }
    let events = pending_event_types(&store).await;
    let cancellations = events.iter().filter(|e| *e == "plan.cancelled").count();
    assert_eq!(cancellations, gone.len(), "one plan.cancelled per plan, never two");
    // Left as they are, and nothing more to do.
    assert_eq!(store.get_plan(later.id).await.unwrap().status, PlanStatus::Draft);
    assert_eq!(store.get_plan(confirmed.id).await.unwrap().status, PlanStatus::Confirmed);
    assert_eq!(store.get_plan(held.id).await.unwrap().status, PlanStatus::Draft);
    assert!(store.cancel_expired_plans(now, 100).await.unwrap().is_empty());
    // A plan held for a provider is not even picked: a sweep of one cancels the plan behind it
    // (review: picked and skipped, such plans filled every batch and held the provider's answer).
    let behind = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    let one = store.cancel_expired_plans(now, 1).await.unwrap();
    assert_eq!(one.iter().map(|p| p.id).collect::<Vec<_>>(), vec![behind.id]);
    // A plan made after its start time (by a simulation whose clock is behind the wall clock,
    // for a time still to come in its world) is its run's, not the janitor's.
    let simulated = NewPlan { start_time: now - chrono::Duration::days(3), ..new_plan(ann.id, v.id, vec![]) };
    let simulated = store.create_plan(simulated).await.unwrap();
    assert!(store.cancel_expired_plans(now, 100).await.unwrap().is_empty());
    assert_eq!(store.get_plan(simulated.id).await.unwrap().status, PlanStatus::Draft);
    let pending = store.list_user_plans(ann.id, None, Some(PlanStatus::Draft), PageRequest { limit: 50, after: None });
    let pending: Vec<_> = pending.await.unwrap().items.into_iter().map(|p| p.id).collect();
    assert_eq!(pending, vec![later.id, simulated.id], "the user's pending plans are those still to come");
}

/// QA: an outsider answering a plan they are not invited to got `NotFound` for an invitation,
/// and an unknown plan `NotFound` for a plan, so plan ids could be probed; nor was a plan
/// confirmed or cancelled to be told to them. Now each is the answer to no such plan.
async fn someone_not_on_a_plan_who_answers_it_gets_the_answer_to_no_such_plan(store: DynStore) {
    let (ann, ben, eve) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "eve").await);
    let v = venue_seating(&store, "v", 10).await;
    let pending = store.create_plan(new_plan(ann.id, v.id, vec![ben.id])).await.unwrap();
    let cancelled = store.create_plan(new_plan(ben.id, v.id, vec![ann.id])).await.unwrap();
    store.cancel_plan(cancelled.id).await.unwrap();
    let confirmed = store.create_plan(NewPlan { start_time: tomorrow_at(21, 0), ..new_plan(ann.id, v.id, vec![]) });
    let confirmed = confirmed.await.unwrap();
    let mut booking = new_booking(&ann, &v, confirmed.start_time, 1);
    booking.request.plan_id = Some(confirmed.id);
    booked(&store, booking).await;
    let before = pending_event_types(&store).await.len();

    let no_plan = |e: &StoreError, id: uuid::Uuid| matches!(e, StoreError::NotFound { entity: "plan", id: i } if *i == id.to_string());
    let ghost = domain::new_id();
    for id in [ghost, pending.id, cancelled.id, confirmed.id] {
        for accept in [true, false] {
            let err = store.answer_plan_invitation(id, eve.id, accept).await.unwrap_err();
            assert!(no_plan(&err, id), "{id} accept={accept}: {err:?}");
        }
    }
    assert_eq!(pending_event_types(&store).await.len(), before, "nothing recorded");
    // Those on the plan still hear where it stands.
    let late = store.answer_plan_invitation(cancelled.id, ann.id, true).await.unwrap_err();
    assert!(matches!(&late, StoreError::Conflict { field: Some(f), .. } if f == "status"), "{late:?}");
}

/// QA: a plan's time could not be changed. `reschedule_plan` moves a pending plan (and its venue
/// when given), puts everyone invited back to `invited` with one `plan.rescheduled`; the same time
/// again changes nothing; a confirmed or cancelled plan, and a venue too small, are refused.
async fn a_plan_being_organised_is_rescheduled_and_its_invitees_asked_again(store: DynStore) {
    let (ann, ben, cat) = (user(&store, "ann").await, user(&store, "ben").await, user(&store, "cat").await);
    let v = venue_seating(&store, "v", 10).await;
    let small = venue_seating(&store, "small", 1).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![ben.id, cat.id])).await.unwrap();
    store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    store.answer_plan_invitation(plan.id, cat.id, false).await.unwrap();
    let told = |events: Vec<String>| events.iter().filter(|e| *e == "plan.rescheduled").count();

    let later = tomorrow_at(21, 0);
    let moved = store.reschedule_plan(plan.id, later, None).await.unwrap();
    assert_eq!((moved.start_time, moved.venue_id, moved.status), (later, v.id, PlanStatus::Draft));
    let answers: Vec<_> = moved.participants.iter().map(|p| (p.user_id, p.status, p.responded_at.is_some())).collect();
    assert_eq!(
        answers,
        vec![
            (ann.id, ParticipantStatus::Accepted, true),
            (ben.id, ParticipantStatus::Invited, false),
            (cat.id, ParticipantStatus::Invited, false)
        ]
    );
    assert_eq!(store.get_plan(plan.id).await.unwrap(), moved);
    assert_eq!(told(pending_event_types(&store).await), 1);
    // The same again (a retry) changes nothing and tells nobody.
    store.answer_plan_invitation(plan.id, ben.id, true).await.unwrap();
    let again = store.reschedule_plan(plan.id, later, Some(v.id)).await.unwrap();
    assert_eq!(again.accepted_guests(), vec![ben.id], "answers given since are kept");
    assert_eq!(told(pending_event_types(&store).await), 1);
    // A venue that cannot seat the party (its party size) is refused, and nothing changes.
    let sized = store.create_plan(NewPlan { party_size: Some(2), ..new_plan(cat.id, v.id, vec![]) }).await.unwrap();
    let full = store.reschedule_plan(sized.id, later, Some(small.id)).await.unwrap_err();
    assert!(matches!(&full, StoreError::Conflict { message, .. } if message.contains("full")), "{full:?}");
    assert_eq!(store.get_plan(sized.id).await.unwrap(), sized);
    let ghost = store.reschedule_plan(plan.id, later, Some(domain::new_id())).await.unwrap_err();
    assert!(matches!(ghost, StoreError::NotFound { entity: "venue", .. }), "{ghost:?}");
    assert_eq!(store.get_plan(plan.id).await.unwrap(), again);

    // Confirmed or cancelled: a 409 on status, and nothing changes.
    let mut booking = new_booking(&ann, &v, later, 2);
    booking.request.plan_id = Some(plan.id);
    booking.request.group_members = vec![ben.id];
    booked(&store, booking).await;
    let cancelled = store.create_plan(new_plan(cat.id, v.id, vec![])).await.unwrap();
    store.cancel_plan(cancelled.id).await.unwrap();
    for id in [plan.id, cancelled.id] {
        let err = store.reschedule_plan(id, tomorrow_at(22, 0), None).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "status"), "{err:?}");
    }
    assert_eq!(store.get_plan(plan.id).await.unwrap().start_time, later);
    assert_eq!(told(pending_event_types(&store).await), 1);
}

/// QA: a confirmation that read the plan before a reschedule committed booked the old time (or
/// venue) and confirmed the plan, now at another time, with it: the party alone was checked again
/// (an organizer on their own is the same party). The booking's check refuses a plan moved since
/// it was read (409 on `start_time`: confirming again books the new time), and nothing is booked.
async fn a_plans_booking_drawn_up_before_it_was_rescheduled_is_refused(store: DynStore) {
    let ann = user(&store, "ann").await;
    let v = venue_seating(&store, "v", 10).await;
    let w = venue_seating(&store, "w", 10).await;
    let plan = store.create_plan(new_plan(ann.id, v.id, vec![])).await.unwrap();
    // Drawn up from the plan as read: its venue, its time, the organizer alone.
    let mut stale = new_booking(&ann, &v, plan.start_time, 1);
    stale.request.plan_id = Some(plan.id);
    stale.request.group_members = vec![];
    for (at, venue) in [(tomorrow_at(21, 0), None), (tomorrow_at(21, 0), Some(w.id))] {
        let moved = store.reschedule_plan(plan.id, at, venue).await.unwrap();
        let mut again = stale.clone();
        again.id = domain::new_id();
        let err = store.book(again, None).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "start_time"), "{err:?}");
        assert_eq!(store.get_plan(plan.id).await.unwrap(), moved, "still pending at its new time");
        assert!(store.plan_booking(plan.id).await.is_err(), "nothing booked");
    }
}
