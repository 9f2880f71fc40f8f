//! What only SQLite has: a data directory created on demand, and in-memory stores.

use sqlx::{Connection, Executor};
use store::{Backend, DynStore, UserQuery};

use crate::fixtures::{booked, new_booking, tomorrow_at, user, venue_seating};

/// A store on `luna.db` in a fresh directory (deleted when the directory is dropped), and the
/// file's URL.
async fn file_store() -> (tempfile::TempDir, String, DynStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/luna.db", dir.path().display());
    let store = store::connect(&url).await.unwrap();
    (dir, url, store)
}

/// A connection of its own to the file at `url`: writes behind the store's back.
async fn behind_the_stores_back(url: &str) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(url).await.unwrap()
}

#[tokio::test]
async fn a_file_store_creates_its_data_directory_and_keeps_data_across_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/data/luna.db", dir.path().display());
    let store = store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    user(&store, "persisted").await;
    drop(store);
    assert!(dir.path().join("nested/data/luna.db").exists());
    let again = store::connect(&url).await.unwrap();
    assert_eq!(again.get_user_by_handle("persisted").await.unwrap().handle, "persisted");
}

#[tokio::test]
async fn a_memory_store_keeps_its_data_between_calls() {
    let store = store::connect("sqlite::memory:").await.unwrap();
    for i in 0..5 {
        user(&store, &format!("mem{i}")).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let page = store.list_users(&UserQuery::default(), domain::PageRequest::default()).await.unwrap();
    assert_eq!(page.items.len(), 5);
}

#[tokio::test]
async fn an_unknown_url_scheme_is_invalid() {
    let err = store::connect("mysql://localhost/luna").await.err().unwrap();
    assert!(matches!(err, store::StoreError::Invalid(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_write_concurrently_without_busy_errors() {
    // Like `luna seed` running next to `luna serve`: two pools, one file, one write lock.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/luna.db", dir.path().display());
    let (a, b) = (store::connect(&url).await.unwrap(), store::connect(&url).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { s.create_user(crate::fixtures::new_user(&format!("twin{i}"))).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(a.counts().await.unwrap().users, 40);
}

#[tokio::test]
async fn a_finished_bulk_load_folds_the_write_ahead_log_into_the_database_file() {
    let (dir, _url, store) = file_store().await;
    store.begin_bulk_load().await.unwrap();
    for i in 0..200 {
        user(&store, &format!("bulk{i}")).await;
    }
    let wal = dir.path().join("luna.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the writes went to the log first");
    store.finish_bulk_load().await.unwrap();
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "the log was checkpointed and truncated");
    assert_eq!(store.counts().await.unwrap().users, 200);
}

#[tokio::test]
async fn the_invariant_check_finds_a_slot_overbooked_behind_the_stores_back() {
    let (_dir, url, store) = file_store().await;
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "tiny", 4).await);
    let seven = tomorrow_at(19, 0);
    booked(&store, new_booking(&ann, &v, seven, 3)).await;
    booked(&store, new_booking(&ann, &v, seven + chrono::Duration::minutes(30), 1)).await;
    assert_eq!(store.check_invariants().await.unwrap(), vec![]);
    // The store refuses to shrink a venue under its bookings; a hand edit of the file does not.
    let mut raw = behind_the_stores_back(&url).await;
    raw.execute("UPDATE venues SET capacity = 2").await.unwrap();
    raw.close().await.unwrap();
    let found = store.check_invariants().await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "overbooked_slot");
    assert!(found[0].detail.contains("4 seats held, capacity 2"), "{}", found[0].detail);
}

#[tokio::test]
async fn a_venue_made_smaller_is_not_overbooked_by_evenings_already_over() {
    let store = store::connect("sqlite::memory:").await.unwrap();
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "tiny", 4).await);
    // Still `confirmed` (nobody marked it done), but over: it held its seats under capacity 4.
    booked(&store, new_booking(&ann, &v, chrono::Utc::now() - chrono::Duration::days(2), 3)).await;
    let patch = domain::VenuePatch { capacity: Some(2), ..Default::default() };
    assert_eq!(store.update_venue(v.id, patch).await.unwrap().value.capacity, 2);
    assert_eq!(store.check_invariants().await.unwrap(), vec![]);
}

/// Rows written as before migration 0008 (no part of the day, no open flag) read as open with
/// no part of the day, and the schema itself refuses a part of the day it does not know.
#[tokio::test]
async fn an_interest_written_without_the_new_columns_is_open_and_an_unknown_part_of_the_day_is_refused() {
    let (_dir, url, store) = file_store().await;
    let (ann, v) = (user(&store, "ann").await, venue_seating(&store, "bar", 4).await);
    let mut raw = behind_the_stores_back(&url).await;
    raw.execute(
        "INSERT INTO venue_interests (user_id, venue_id, preferred_time, created_at) \
         SELECT u.id, v.id, NULL, '2026-12-01T10:00:00.000000Z' FROM users u, venues v",
    )
    .await
    .unwrap();
    let err = raw.execute("UPDATE venue_interests SET preferred_time_slot = 'dusk'").await.unwrap_err();
    assert!(err.to_string().contains("venue_interests_preferred_time_slot_check"), "{err}");
    raw.close().await.unwrap();
    let got = store.scan_interests(None, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].user_id, got[0].venue_id), (ann.id, v.id));
    assert_eq!((got[0].preferred_time_slot, got[0].open_to_invites), (None, true));
}

/// A name written in NFD before venues were written in NFC is still found by a query typed in
/// either form.
#[tokio::test]
async fn a_name_stored_decomposed_before_names_were_normalised_is_found_in_either_form() {
    let (_dir, url, store) = file_store().await;
    let v = venue_seating(&store, "Cafe", 4).await;
    let mut raw = behind_the_stores_back(&url).await;
    raw.execute("UPDATE venues SET name = 'Cafe' || char(769) || ' Noir'").await.unwrap();
    raw.close().await.unwrap();
    for q in ["café", "CAFÉ", "cafe\u{301}", "CAFE\u{301} noir"] {
        let query = store::VenueQuery { text: Some(q.into()), ..Default::default() };
        let found = store.list_venues(&query, domain::PageRequest { limit: 10, after: None }).await.unwrap().items;
        assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), [v.id], "{q:?}");
    }
}

/// With the file locked by another process (`sqlite3` holding `BEGIN EXCLUSIVE`), writes queued
/// for the one write connection each give up once SQLite's busy timeout (5 s) has passed since
/// they asked to write, with the transient error a 503 is made of. Before, each waited the whole
/// timeout in turn once it had the connection: the n-th queued write gave up after n times 5 s
/// (measured on the real binary: 5, 10, 15, 20, 25 s, then a 408), and a request behind a
/// background write gave up after about 10 s. Generous bounds, so load cannot flake it: with
/// the old behaviour the second write alone takes 10 s. Once the lock is gone, a write that
/// meets a lock held for a moment waits for it again (the wait is set back to the full timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_behind_a_file_locked_by_another_process_give_up_within_the_busy_timeout() {
    use std::time::{Duration, Instant};
    let (_dir, url, store) = file_store().await;
    let mut other = behind_the_stores_back(&url).await;
    other.execute("BEGIN EXCLUSIVE").await.unwrap();
    let started = Instant::now();
    let writes = (0..4).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let outcome = store.create_user(crate::fixtures::new_user(&format!("queued{i}"))).await;
            (outcome, started.elapsed())
        })
    });
    let done = tokio::time::timeout(Duration::from_millis(9500), futures::future::join_all(writes))
        .await
        .expect("every queued write gave up within 9.5 s (before: the n-th after n times 5 s)");
    for joined in done {
        let (outcome, took) = joined.unwrap();
        assert!(matches!(outcome, Err(store::StoreError::Unavailable(_))), "{outcome:?}");
        assert!(took < Duration::from_secs(9), "a write gave up after {took:?}");
    }
    other.execute("ROLLBACK").await.unwrap();
    // A lock held for a moment is waited for, not refused.
    other.execute("BEGIN EXCLUSIVE").await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        other.execute("ROLLBACK").await.unwrap();
        other
    });
    user(&store, "after").await;
    release.await.unwrap();
    assert_eq!(store.counts().await.unwrap().users, 1);
}
