//! Test databases: a fresh SQLite file per test, and a fresh PostgreSQL database per test when
//! `TEST_POSTGRES_URL` names a server (`testdb`: created through that admin URL,
//! dropped afterwards).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use store::DynStore;
use testdb::{Backend, POSTGRES_URL_VAR, TestDatabase};

/// Runs `body` against a fresh store of `backend`, then drops the database even if `body`
/// panicked.
pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(DynStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDatabase::create(backend).await else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return;
    };
    // In a folder the store makes itself.
    let url = match db.dir() {
        Some(dir) => format!("sqlite://{}/data/luna.db", dir.display()),
        None => db.url.clone(),
    };
    let store = store::connect(&url).await.expect("open the store");
    let result = AssertUnwindSafe(body(store.clone())).catch_unwind().await;
    // The pool first; the database is dropped even if some connection lingers.
    drop(store);
    drop(db);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
