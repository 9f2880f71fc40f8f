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
    let records = store.unpublished_events(10).await.unwrap();
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
    let oldest = store.unpublished_events(2).await.unwrap();
    assert_eq!(oldest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..2]);
    store.mark_published(&[ids[0], ids[1], domain::new_id()]).await.unwrap();
    store.mark_published(&[]).await.unwrap();
    assert_eq!(store.counts().await.unwrap().outbox_pending, 1);
    let rest = store.unpublished_events(10).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[2..]);
}
