//! The relay lease: one holder at a time on PostgreSQL (servers sharing a database take turns),
//! freed by release and by dropping it; on SQLite too, between the relays of one process.

use std::time::{Duration, Instant};

use store::{Backend, DynStore};

use crate::store_tests;

store_tests!(
    only_one_relay_holds_the_lease_and_a_dropped_lease_is_freed,
    an_empty_database_counts_zero_of_every_booking_status
);

async fn only_one_relay_holds_the_lease_and_a_dropped_lease_is_freed(store: DynStore) {
    let first = store.relay_lease().await.unwrap().expect("a free lease is granted");
    if store.backend() == Backend::Sqlite {
        // One process, but two relays in it (the background one and a pass the simulator runs
        // at once for its control events): before, both were granted it, and published the
        // same rows twice.
        assert!(store.relay_lease().await.unwrap().is_none(), "a second relay must wait, on SQLite too");
        first.release().await;
        let second = store.relay_lease().await.unwrap().expect("granted again after release");
        drop(second);
        assert!(store.relay_lease().await.unwrap().is_some(), "a dropped lease is freed at once");
        return;
    }
    assert!(store.relay_lease().await.unwrap().is_none(), "a second relay must wait");
    first.release().await;
    let second = store.relay_lease().await.unwrap().expect("granted again after release");
    drop(second); // a cancelled relay: its session closes, which frees the lock
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(lease) = store.relay_lease().await.unwrap() {
            lease.release().await;
            break;
        }
        assert!(Instant::now() < deadline, "a dropped lease was not freed within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn an_empty_database_counts_zero_of_every_booking_status(store: DynStore) {
    let status = store.status_counts().await.unwrap();
    assert_eq!(status.bookings.len(), domain::BookingStatus::ALL.len());
    assert!(status.bookings.iter().all(|(_, n)| *n == 0));
    assert_eq!(status.users_with_persona, 0);
}
