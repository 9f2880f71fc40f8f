//! Test databases: a fresh SQLite file per test, and a fresh PostgreSQL database per test when
//! `TEST_POSTGRES_URL` names a server (created through that admin URL, dropped afterwards).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use sqlx::{Connection, Executor, PgConnection};
use store::DynStore;

/// The environment variable with the PostgreSQL admin URL.
pub const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A store on its own database, and what to remove when the test is over.
pub struct TestDb {
    pub store: DynStore,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database of this kind, or `None` for PostgreSQL when no server is configured.
    pub async fn open(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/data/luna.db", dir.path().display());
                let store = store::connect(&url).await.expect("open sqlite store");
                Some(Self { store, cleanup: Cleanup::Dir(dir) })
            }
            Kind::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.is_empty())?;
                let name = format!("luna_t_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::connect(&admin_url).await.expect("connect to TEST_POSTGRES_URL");
                admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
                let _ = admin.close().await;
                let store = store::connect(&with_database(&admin_url, &name)).await.expect("open postgres store");
                Some(Self { store, cleanup: Cleanup::Postgres { admin_url, name } })
            }
        }
    }

    /// Drops the database (best effort: a failure here must not hide the test's own result).
    pub async fn close(self) {
        drop(self.store);
        if let Cleanup::Postgres { admin_url, name } = self.cleanup
            && let Ok(mut admin) = PgConnection::connect(&admin_url).await
        {
            let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
            let _ = admin.close().await;
        }
    }
}

/// The admin URL with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Runs `body` against a fresh store of `kind`, then drops the database even if `body` panicked.
pub async fn run<F, Fut>(kind: Kind, body: F)
where
    F: FnOnce(DynStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::open(kind).await else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return;
    };
    let result = AssertUnwindSafe(body(db.store.clone())).catch_unwind().await;
    db.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_database_name_replaces_the_admin_one() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
