//! Friend requests, friendships, interactions and interest in venues.

use std::collections::HashSet;

use domain::{
    FriendRequest, FriendRequestStatus, InteractionType, InterestWish, PageRequest, RelationshipType, SocialEdge,
    TimeOfDay,
};
use store::{Batch, DynStore, RequestDirection, StoreError};

use crate::fixtures::{new_interaction, pending_event_types, user, venue};
use crate::store_tests;

store_tests!(
    a_friend_request_to_oneself_is_invalid,
    a_friend_request_from_or_to_an_unknown_user_is_not_found,
    a_second_pending_request_either_way_is_a_conflict,
    accepting_a_request_makes_friends_both_ways,
    declining_a_request_makes_no_friends_and_allows_a_new_request,
    answering_twice_is_a_conflict_and_only_the_addressee_may_answer,
    a_request_between_friends_is_a_conflict,
    accepting_upgrades_an_existing_suggested_edge_keeping_its_strength,
    removing_a_friend_removes_both_edges_and_a_second_removal_is_not_found,
    friends_are_listed_in_one_order_across_pages_friends_first_then_strongest,
    pending_friend_requests_page_by_id_with_both_directions_merged,
    interactions_need_a_known_user_and_venue_and_list_in_time_order,
    expressing_interest_again_keeps_the_newest_preferred_time,
    expressing_interest_again_replaces_the_part_of_the_day_and_the_openness_only_when_given,
    venue_interests_are_the_timed_ones_ahead_then_the_flexible_ones_in_the_order_expressed,
    concurrent_opposite_requests_leave_exactly_one_pending,
    friend_and_mutual_ties_either_way_connect_and_suggested_ones_do_not,
    an_interest_logged_as_an_interaction_is_an_expressed_interest_keeping_any_time,
    each_write_a_server_applies_itself_names_the_outbox_row_of_its_event,
);

async fn a_friend_request_to_oneself_is_invalid(store: DynStore) {
    let a = user(&store, "ann").await;
    let err = store.send_friend_request(a.id, a.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(v) if v.0[0].field == "to_user_id"), "{err:?}");
}

async fn a_friend_request_from_or_to_an_unknown_user_is_not_found(store: DynStore) {
    let a = user(&store, "ann").await;
    let ghost = domain::new_id();
    for (from, to) in [(a.id, ghost), (ghost, a.id)] {
        let err = store.send_friend_request(from, to).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound { entity: "user", id } if *id == ghost.to_string()), "{err:?}");
    }
}

async fn a_second_pending_request_either_way_is_a_conflict(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    assert_eq!(
        (r.status, r.from_user_id, r.to_user_id, r.responded_at),
        (FriendRequestStatus::Pending, a.id, b.id, None)
    );
    assert!(matches!(store.send_friend_request(a.id, b.id).await, Err(StoreError::Conflict { .. })));
    assert!(matches!(store.send_friend_request(b.id, a.id).await, Err(StoreError::Conflict { .. })));
    let incoming =
        store.list_friend_requests(b.id, Some(RequestDirection::Incoming), PageRequest::default()).await.unwrap();
    assert_eq!((incoming.items, incoming.next), (vec![r.clone()], None));
    let outgoing = store.list_friend_requests(a.id, Some(RequestDirection::Outgoing), PageRequest::default()).await;
    assert_eq!(outgoing.unwrap().items, vec![r]);
    let to_a = store.list_friend_requests(a.id, Some(RequestDirection::Incoming), PageRequest::default()).await;
    assert!(to_a.unwrap().items.is_empty());
}

async fn accepting_a_request_makes_friends_both_ways(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    let answered = store.answer_friend_request(r.id, b.id, true).await.unwrap().value;
    assert_eq!(answered.status, FriendRequestStatus::Accepted);
    assert!(answered.responded_at.is_some());
    for (me, other) in [(&a, &b), (&b, &a)] {
        let friends = store.list_friends(me.id, PageRequest::default()).await.unwrap();
        assert_eq!(friends.items.len(), 1);
        assert_eq!(friends.items[0].user, *other);
        assert_eq!((friends.items[0].relationship_type, friends.items[0].strength), (RelationshipType::Friend, 0.5));
    }
    let to_b = store.list_friend_requests(b.id, Some(RequestDirection::Incoming), PageRequest::default()).await;
    assert!(to_b.unwrap().items.is_empty());
    let events = pending_event_types(&store).await;
    assert_eq!(events[2..], ["friend.requested", "friend.request_answered"]);
}

async fn declining_a_request_makes_no_friends_and_allows_a_new_request(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    let answered = store.answer_friend_request(r.id, b.id, false).await.unwrap().value;
    assert_eq!(answered.status, FriendRequestStatus::Declined);
    assert!(store.list_friends(a.id, PageRequest::default()).await.unwrap().items.is_empty());
    assert_eq!(store.counts().await.unwrap().social_edges, 0);
    store.send_friend_request(b.id, a.id).await.unwrap();
}

async fn answering_twice_is_a_conflict_and_only_the_addressee_may_answer(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    let err = store.answer_friend_request(r.id, a.id, true).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "friend_request", .. }), "{err:?}");
    let err = store.answer_friend_request(domain::new_id(), b.id, true).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "friend_request", .. }), "{err:?}");
    store.answer_friend_request(r.id, b.id, true).await.unwrap();
    assert!(matches!(store.answer_friend_request(r.id, b.id, false).await, Err(StoreError::Conflict { .. })));
}

async fn a_request_between_friends_is_a_conflict(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    store.answer_friend_request(r.id, b.id, true).await.unwrap();
    let err = store.send_friend_request(b.id, a.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { message, .. } if message.contains("already friends")), "{err:?}");
}

async fn accepting_upgrades_an_existing_suggested_edge_keeping_its_strength(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let edge = SocialEdge {
        user_id: a.id,
        other_user_id: b.id,
        relationship_type: RelationshipType::Suggested,
        strength: 0.8,
        created_at: a.created_at,
    };
    store.insert_batch(Batch { edges: vec![edge], ..Default::default() }).await.unwrap();
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    store.answer_friend_request(r.id, b.id, true).await.unwrap();
    let edges = store.scan_edges(None, 10).await.unwrap();
    assert_eq!(edges.len(), 2);
    assert!(edges.iter().all(|e| e.relationship_type == RelationshipType::Friend));
    let from_a = edges.iter().find(|e| e.user_id == a.id).unwrap();
    assert_eq!(from_a.strength, 0.8);
}

async fn removing_a_friend_removes_both_edges_and_a_second_removal_is_not_found(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let r = store.send_friend_request(a.id, b.id).await.unwrap();
    store.answer_friend_request(r.id, b.id, true).await.unwrap();
    store.remove_friend(b.id, a.id).await.unwrap();
    assert_eq!(store.counts().await.unwrap().social_edges, 0);
    let err = store.remove_friend(a.id, b.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(pending_event_types(&store).await.ends_with(&["friend.removed".to_string()]));
}

async fn friends_are_listed_in_one_order_across_pages_friends_first_then_strongest(store: DynStore) {
    let me = user(&store, "myself").await;
    let stranger = user(&store, "stranger").await;
    let mut others = Vec::new();
    for i in 0..9 {
        others.push(user(&store, &format!("other{i}")).await);
    }
    let kinds = [RelationshipType::Suggested, RelationshipType::Friend, RelationshipType::Mutual];
    // Strengths repeat (0.2, 0.5, 0.5, ...) so ties are broken by id.
    let strength = |i: usize| [0.2, 0.5, 0.5, 0.9][i % 4];
    let mut edges: Vec<SocialEdge> = others
        .iter()
        .enumerate()
        .map(|(i, o)| SocialEdge {
            user_id: me.id,
            other_user_id: o.id,
            relationship_type: kinds[i % 3],
            strength: strength(i),
            created_at: me.created_at,
        })
        .collect();
    // Someone else's edges are never listed, whatever the cursor.
    edges.push(SocialEdge { user_id: stranger.id, other_user_id: others[0].id, ..edges[1].clone() });
    store.insert_batch(Batch { edges, ..Default::default() }).await.unwrap();
    let rank = |k: RelationshipType| kinds.iter().position(|x| *x == k).map(|p| [2, 0, 1][p]).unwrap();
    let mut want: Vec<(usize, f64, uuid::Uuid)> =
        others.iter().enumerate().map(|(i, o)| (rank(kinds[i % 3]), strength(i), o.id)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let want: Vec<_> = want.into_iter().map(|x| x.2).collect();
    let whole = store.list_friends(me.id, PageRequest { limit: 500, after: None }).await.unwrap();
    assert_eq!(whole.items.iter().map(|f| f.user.id).collect::<Vec<_>>(), want);
    for limit in [1, 2, 4] {
        let (mut got, mut after) = (Vec::new(), None);
        loop {
            let page = store.list_friends(me.id, PageRequest { limit, after }).await.unwrap();
            assert!(page.items.len() <= limit as usize);
            got.extend(page.items.iter().map(|f| f.user.id));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(got, want, "limit {limit}");
    }
    // A cursor whose connection was removed meanwhile is a clear error, not a silent restart.
    store.remove_friend(me.id, want[0]).await.unwrap();
    let err = store.list_friends(me.id, PageRequest { limit: 2, after: Some(want[0]) }).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(v) if v.0[0].field == "after"), "{err:?}");
}

async fn pending_friend_requests_page_by_id_with_both_directions_merged(store: DynStore) {
    let me = user(&store, "meg").await;
    let stranger = user(&store, "stranger").await;
    let mut others = Vec::new();
    for i in 0..6 {
        others.push(user(&store, &format!("other{i}")).await);
    }
    // Incoming and outgoing alternate, so a page of both has to merge the two.
    let mut sent = Vec::new();
    for (i, o) in others.iter().enumerate() {
        let (from, to) = if i % 2 == 0 { (o.id, me.id) } else { (me.id, o.id) };
        sent.push(store.send_friend_request(from, to).await.unwrap());
    }
    // Answered requests and others' requests are never listed.
    store.answer_friend_request(sent[0].id, me.id, false).await.unwrap();
    store.send_friend_request(stranger.id, others[0].id).await.unwrap();
    let pending = &sent[1..];
    let me_id = me.id;
    let walk = |direction: Option<RequestDirection>, limit: u32| {
        let store = store.clone();
        async move {
            let (mut got, mut after) = (Vec::new(), None);
            loop {
                let page = store.list_friend_requests(me_id, direction, PageRequest { limit, after }).await.unwrap();
                assert!(page.items.len() <= limit as usize);
                got.extend(page.items.iter().map(|r| r.id));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break got,
                }
            }
        }
    };
    let by_id = |keep: &dyn Fn(&FriendRequest) -> bool| {
        let mut ids: Vec<_> = pending.iter().filter(|r| keep(r)).map(|r| r.id).collect();
        ids.sort();
        ids
    };
    let incoming = by_id(&|r| r.to_user_id == me.id);
    let outgoing = by_id(&|r| r.from_user_id == me.id);
    let both = by_id(&|_| true);
    assert_eq!((incoming.len(), outgoing.len(), both.len()), (2, 3, 5));
    for limit in [1, 2, 3, 500] {
        assert_eq!(walk(None, limit).await, both, "limit {limit}");
        assert_eq!(walk(Some(RequestDirection::Incoming), limit).await, incoming, "limit {limit}");
        assert_eq!(walk(Some(RequestDirection::Outgoing), limit).await, outgoing, "limit {limit}");
    }
    let first = store.list_friend_requests(me.id, None, PageRequest { limit: 2, after: None }).await.unwrap();
    assert_eq!(first.next, Some(both[1]));
    let err = store.list_friend_requests(domain::new_id(), None, PageRequest::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "user", .. }), "{err:?}");
}

async fn interactions_need_a_known_user_and_venue_and_list_in_time_order(store: DynStore) {
    let u = user(&store, "ann").await;
    let v = venue(&store, "Bar").await;
    let other = user(&store, "ben").await;
    let mut bad_venue = new_interaction(&u, &v, InteractionType::View);
    bad_venue.venue_id = domain::new_id();
    let err = store.record_interaction(bad_venue).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "venue", .. }), "{err:?}");
    let mut bad_user = new_interaction(&u, &v, InteractionType::View);
    bad_user.user_id = domain::new_id();
    let err = store.record_interaction(bad_user).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "user", .. }), "{err:?}");

    let mut recorded = Vec::new();
    for kind in [InteractionType::View, InteractionType::Like, InteractionType::Save] {
        recorded.push(store.record_interaction(new_interaction(&u, &v, kind)).await.unwrap().interaction);
    }
    store.record_interaction(new_interaction(&other, &v, InteractionType::Visit)).await.unwrap();
    recorded.sort_by_key(|i| i.id);
    let page = store.list_user_interactions(u.id, PageRequest { limit: 2, after: None }).await.unwrap();
    assert_eq!(page.items, recorded[..2]);
    let rest = store.list_user_interactions(u.id, PageRequest { limit: 2, after: page.next }).await.unwrap();
    assert_eq!((rest.items.as_slice(), rest.next), (&recorded[2..], None));
    assert!(
        store
            .list_user_interactions(user(&store, "cid").await.id, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let events = pending_event_types(&store).await;
    assert_eq!(events.iter().filter(|t| *t == "interaction.recorded").count(), 4);
}

async fn expressing_interest_again_keeps_the_newest_preferred_time(store: DynStore) {
    let u = user(&store, "ann").await;
    let v = venue(&store, "Bar").await;
    let first = chrono::Utc::now() + chrono::Duration::days(1);
    let a = store.express_interest(u.id, v.id, domain::InterestWish::at(Some(first))).await.unwrap().value;
    assert_eq!(a.preferred_time.map(|t| t.timestamp_micros()), Some(first.timestamp_micros()));
    let later = first + chrono::Duration::hours(2);
    let b = store.express_interest(u.id, v.id, domain::InterestWish::at(Some(later))).await.unwrap().value;
    assert_eq!(b.preferred_time.map(|t| t.timestamp_micros()), Some(later.timestamp_micros()));
    assert_eq!(b.created_at, a.created_at);
    assert_eq!(store.counts().await.unwrap().venue_interests, 1);
    let err = store.express_interest(u.id, domain::new_id(), domain::InterestWish::at(None)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "venue", .. }), "{err:?}");
}

async fn expressing_interest_again_replaces_the_part_of_the_day_and_the_openness_only_when_given(store: DynStore) {
    let u = user(&store, "ann").await;
    let v = venue(&store, "Bar").await;
    let closed_evening = InterestWish {
        preferred_time_slot: Some(TimeOfDay::Evening),
        open_to_invites: Some(false),
        ..InterestWish::at(None)
    };
    let a = store.express_interest(u.id, v.id, closed_evening).await.unwrap().value;
    assert_eq!((a.preferred_time_slot, a.open_to_invites), (Some(TimeOfDay::Evening), false));
    // Every reader gives them back: auto-booking's and the engine loader's.
    let listed = store.venue_interests(v.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(listed, vec![a.clone()]);
    assert_eq!(store.scan_interests(None, 10).await.unwrap(), vec![a.clone()]);
    // The next call's values replace them, a missing part of the day included; a call that
    // does not say whether the user is open keeps them closed.
    let at = chrono::Utc::now() + chrono::Duration::days(1);
    let b = store.express_interest(u.id, v.id, InterestWish::at(Some(at))).await.unwrap().value;
    assert_eq!((b.preferred_time_slot, b.open_to_invites, b.created_at), (None, false, a.created_at));
    assert_eq!(store.scan_interests(None, 10).await.unwrap(), vec![b]);
    let open = InterestWish { open_to_invites: Some(true), ..InterestWish::at(Some(at)) };
    let c = store.express_interest(u.id, v.id, open).await.unwrap().value;
    assert!(c.open_to_invites);
    let d = store.express_interest(u.id, v.id, InterestWish::at(None)).await.unwrap().value;
    assert_eq!((d.preferred_time, d.open_to_invites), (None, true), "kept open");
    assert_eq!(store.scan_interests(None, 10).await.unwrap(), vec![d]);
    assert_eq!(store.counts().await.unwrap().venue_interests, 1);
    // A first interest that does not say is open.
    let w = venue(&store, "Cafe").await;
    assert!(store.express_interest(u.id, w.id, InterestWish::at(None)).await.unwrap().value.open_to_invites);
}

async fn venue_interests_are_the_timed_ones_ahead_then_the_flexible_ones_in_the_order_expressed(store: DynStore) {
    let v = venue(&store, "Bar").await;
    let now = chrono::Utc::now();
    let slot = |s| InterestWish { preferred_time_slot: Some(s), ..InterestWish::at(None) };
    let wishes = [
        ("late", InterestWish::at(Some(now + chrono::Duration::hours(5)))),
        ("flex_first", slot(TimeOfDay::Night)),
        ("early", InterestWish::at(Some(now + chrono::Duration::hours(2)))),
        ("vague", InterestWish::at(None)),
        ("past", InterestWish::at(Some(now - chrono::Duration::hours(1)))),
        ("flex_second", InterestWish { open_to_invites: Some(false), ..slot(TimeOfDay::Morning) }),
    ];
    let mut ids = std::collections::HashMap::new();
    for (handle, wish) in wishes {
        let u = user(&store, handle).await;
        store.express_interest(u.id, v.id, wish).await.unwrap();
        ids.insert(u.id, handle);
    }
    let listed = store.venue_interests(v.id, now).await.unwrap();
    let handles: Vec<_> = listed.iter().map(|i| ids[&i.user_id]).collect();
    // No time and no part of the day, or a time gone: nothing auto-booking can act on.
    assert_eq!(handles, ["early", "late", "flex_first", "flex_second"]);
    assert!(!listed[3].open_to_invites, "closed ones are listed (the caller leaves them out)");
}

async fn concurrent_opposite_requests_leave_exactly_one_pending(store: DynStore) {
    let (a, b) = (user(&store, "ann").await, user(&store, "ben").await);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let (from, to) = if i % 2 == 0 { (a.id, b.id) } else { (b.id, a.id) };
        tasks.push(tokio::spawn(async move { store.send_friend_request(from, to).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.counts().await.unwrap().friend_requests, 1);
}

async fn friend_and_mutual_ties_either_way_connect_and_suggested_ones_do_not(store: DynStore) {
    let me = user(&store, "myself").await;
    let mut others = Vec::new();
    for name in ["friend", "mutual_to_me", "suggested", "stranger", "befriended"] {
        others.push(user(&store, name).await);
    }
    let edge = |from: &domain::User, to: &domain::User, kind| SocialEdge {
        user_id: from.id,
        other_user_id: to.id,
        relationship_type: kind,
        strength: 0.5,
        created_at: me.created_at,
    };
    let edges = vec![
        edge(&me, &others[0], RelationshipType::Friend),
        // Only the other way.
        edge(&others[1], &me, RelationshipType::Mutual),
        edge(&me, &others[2], RelationshipType::Suggested),
    ];
    store.insert_batch(Batch { edges, ..Default::default() }).await.unwrap();
    let r = store.send_friend_request(others[4].id, me.id).await.unwrap();
    store.answer_friend_request(r.id, me.id, true).await.unwrap();
    let ids: Vec<_> = others.iter().map(|o| o.id).collect();
    let connected: HashSet<_> = store.connected(me.id, &ids).await.unwrap().into_iter().collect();
    assert_eq!(connected, HashSet::from([others[0].id, others[1].id, others[4].id]));
    assert!(store.connected(me.id, &[]).await.unwrap().is_empty());
    assert!(store.connected(others[3].id, &ids).await.unwrap().is_empty());
}

async fn an_interest_logged_as_an_interaction_is_an_expressed_interest_keeping_any_time(store: DynStore) {
    let (u, w) = (user(&store, "ann").await, user(&store, "ben").await);
    let (v, other) = (venue(&store, "Bar").await, venue(&store, "Cafe").await);
    let events = |types: Vec<String>| types.iter().filter(|t| *t == "interest.expressed").count();
    let before = events(pending_event_types(&store).await);
    let added = store.record_interaction(new_interaction(&u, &v, InteractionType::Interest)).await.unwrap().interest;
    assert_eq!(
        added.map(|i| (i.user_id, i.venue_id, i.preferred_time)),
        Some((u.id, v.id, None)),
        "the interest added"
    );
    assert_eq!(store.counts().await.unwrap().venue_interests, 1);
    assert_eq!(events(pending_event_types(&store).await), before + 1);
    // One with a time already: the time stays, and nothing new is announced.
    let at = chrono::Utc::now() + chrono::Duration::days(1);
    store.express_interest(w.id, other.id, domain::InterestWish::at(Some(at))).await.unwrap();
    let again = store.record_interaction(new_interaction(&w, &other, InteractionType::Interest)).await.unwrap();
    assert_eq!(again.interest, None, "none added: one was there");
    store.record_interaction(new_interaction(&w, &other, InteractionType::Like)).await.unwrap();
    assert_eq!(store.counts().await.unwrap().venue_interests, 2);
    assert_eq!(events(pending_event_types(&store).await), before + 2);
    let kept = store.venue_interests(other.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].preferred_time.map(|t| t.timestamp_micros()), Some(at.timestamp_micros()));
}

/// The writes whose events the writing server applies to its own engine at once return the id
/// of the outbox row each recorded: the `source_id` the follower hears the event under, by which
/// the two tell that they hold the same event (another id and both would apply it).
async fn each_write_a_server_applies_itself_names_the_outbox_row_of_its_event(store: DynStore) {
    let (a, b, v) = (user(&store, "ann").await, user(&store, "ben").await, venue(&store, "Spot").await);
    let before: HashSet<_> = store.unpublished_events(1000).await.unwrap().events.iter().map(|r| r.id).collect();
    let request = store.send_friend_request(a.id, b.id).await.unwrap();
    let mut written = vec![
        (store.update_user(a.id, domain::UserPatch::default()).await.unwrap().event_id, "user.updated"),
        (
            store.put_preferences(a.id, domain::UserPreferences::default()).await.unwrap().event_id,
            "user.preferences_updated",
        ),
        (store.update_venue(v.id, domain::venue::VenuePatch::default()).await.unwrap().event_id, "venue.updated"),
        (store.answer_friend_request(request.id, b.id, true).await.unwrap().event_id, "friend.request_answered"),
        (store.express_interest(a.id, v.id, InterestWish::at(None)).await.unwrap().event_id, "interest.expressed"),
    ];
    written.push((store.remove_friend(a.id, b.id).await.unwrap().event_id, "friend.removed"));
    let outbox = store.unpublished_events(1000).await.unwrap().events;
    let recorded: Vec<_> = outbox.iter().filter(|r| !before.contains(&r.id)).collect();
    for (id, kind) in &written {
        let row = recorded.iter().find(|r| r.id == *id).unwrap_or_else(|| panic!("{kind}: no outbox row {id}"));
        assert_eq!(row.event.event_type(), *kind);
    }
}
