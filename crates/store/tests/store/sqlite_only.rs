//! What only SQLite has: a data directory created on demand, and in-memory stores.

use store::{Backend, UserQuery};

use crate::fixtures::user;

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
