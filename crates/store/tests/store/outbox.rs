//! The outbox: events recorded with their writes, read oldest first, marked published.

use domain::{DomainEvent, OpeningHours};
use store::{DynStore, StoreError};

use crate::fixtures::{new_user, new_venue, pending_event_types};
use crate::store_tests;

store_tests!(
    every_write_records_its_event_with_the_full_entity,
    a_refused_write_records_no_event,
    published_events_are_no_longer_pending_and_the_oldest_come_first,
);

async fn every_write_records_its_event_with_the_full_entity(store: DynStore) {
    let user = store.create_user(new_user("ann")).await.unwrap();
    let mut v = new_venue("Late Bar", domain::Category::Bar, 40.7, -73.9);
    v.opening_hours = Some(OpeningHours::every_day(&[(18 * 60, 26 * 60)]));
    v.rating = Some(4.3);
    let venue = store.create_venue(v).await.unwrap();
    let records = store.unpublished_events(10).await.unwrap().events;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].event, DomainEvent::UserCreated(user));
    assert_eq!(records[1].event, DomainEvent::VenueCreated(venue));
    assert!(records[0].id < records[1].id);
}

async fn a_refused_write_records_no_event(store: DynStore) {
    store.create_user(new_user("ann")).await.unwrap();
    assert!(matches!(store.create_user(new_user("ann")).await, Err(StoreError::Conflict { .. })));
    assert_eq!(pending_event_types(&store).await, ["user.created"]);
}

async fn published_events_are_no_longer_pending_and_the_oldest_come_first(store: DynStore) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(store.record_event(DomainEvent::DataReset).await.unwrap());
    }
    let oldest = store.unpublished_events(2).await.unwrap().events;
    assert_eq!(oldest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..2]);
    store.mark_published(&[ids[0], ids[1], domain::new_id()]).await.unwrap();
    store.mark_published(&[]).await.unwrap();
    assert_eq!(store.counts().await.unwrap().outbox_pending, 1);
    let rest = store.unpublished_events(10).await.unwrap().events;
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[2..]);
}

/// A row that cannot be published (its channel unknown) is reported apart while the rows around
/// it still read, in order; set aside, it is no longer pending, is counted as dead, and keeps its
/// reason for operators. Rows this version cannot decode (a type it does not know; data not of
/// its type's shape, as a newer version's new field value) read as they are, for the relay to
/// forward. Before, one such row failed every read of the outbox, so the relay stopped on it for
/// good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_is_reported_apart_and_can_be_set_aside_with_its_reason() {
    for backend in testdb::Backend::ALL {
        let Some(db) = testdb::TestDatabase::create(backend).await else { continue };
        let store = store::connect(&db.url).await.expect("open the store");
        let first = store.create_user(new_user("ann")).await.unwrap();
        let unknown = store.record_event(DomainEvent::DataReset).await.unwrap();
        let misshapen = store.create_user(new_user("bob")).await.unwrap();
        let nowhere = store.record_event(DomainEvent::DataReset).await.unwrap();
        let last = store.create_user(new_user("cyd")).await.unwrap();
        // The first of the two resets becomes a type no version of this one knows.
        let sql = "UPDATE outbox SET event_type = 'no.such.event' WHERE event_type = 'data.reset' \
                   AND id = (SELECT id FROM outbox WHERE event_type = 'data.reset' ORDER BY id LIMIT 1)";
        assert_eq!(db.execute(sql).await.unwrap(), 1, "{backend:?}");
        let sql = format!(
            "UPDATE outbox SET payload = '{{\"handle\": 7}}' WHERE CAST(payload AS TEXT) LIKE '%{}%'",
            misshapen.id
        );
        assert_eq!(db.execute(&sql).await.unwrap(), 1, "{backend:?}");
        let sql = "UPDATE outbox SET channel = 'nowhere' WHERE event_type = 'data.reset'";
        assert_eq!(db.execute_unchecked("outbox", "outbox_channel_check", sql).await.unwrap(), 1, "{backend:?}");

        let outbox = store.unpublished_events(10).await.unwrap();
        assert_eq!(outbox.events.len(), 2, "{backend:?}: the readable rows still read");
        assert_eq!(outbox.events[0].event, DomainEvent::UserCreated(first), "{backend:?}");
        assert_eq!(outbox.events[1].event, DomainEvent::UserCreated(last), "{backend:?}");
        let foreign: Vec<_> = outbox.foreign.iter().map(|f| (f.channel, f.event_type.as_str())).collect();
        let expected = [(domain::Channel::System, "no.such.event"), (domain::Channel::UserActions, "user.created")];
        assert_eq!(foreign, expected, "{backend:?}");
        assert_eq!(outbox.foreign[0].id, unknown, "{backend:?}");
        assert_eq!(outbox.foreign[0].data, domain::Payload::default(), "{backend:?}: its data as written");
        assert_eq!(outbox.foreign[1].data.to_value(), serde_json::json!({"handle": 7}), "{backend:?}");
        assert!(outbox.foreign.iter().all(|f| !f.why.is_empty()), "{backend:?}");
        let bad: Vec<_> = outbox.unreadable.iter().map(|u| (u.id, u.event_type.as_str())).collect();
        assert_eq!(bad, [(nowhere, "data.reset")], "{backend:?}: {:?}", outbox.unreadable);
        assert!(outbox.unreadable[0].reason.contains("unknown channel"), "{backend:?}: {:?}", outbox.unreadable);

        store.set_aside_events(&outbox.unreadable).await.unwrap();
        store.set_aside_events(&outbox.unreadable).await.unwrap(); // twice changes nothing
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.outbox_pending, counts.outbox_dead), (4, 1), "{backend:?}");
        let again = store.unpublished_events(10).await.unwrap();
        assert!(again.unreadable.is_empty() && again.events.len() == 2, "{backend:?}: {again:?}");
        assert_eq!(again.foreign.len(), 2, "{backend:?}");
        let reasons = db.texts("SELECT dead_reason FROM outbox WHERE dead_at IS NOT NULL ORDER BY id").await.unwrap();
        assert_eq!(reasons, outbox.unreadable.iter().map(|u| u.reason.clone()).collect::<Vec<_>>(), "{backend:?}");
        drop(store);
    }
}
