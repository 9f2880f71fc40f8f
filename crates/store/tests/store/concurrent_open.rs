//! Several servers opening one fresh database at the same moment (rolling deploys, autoscaling):
//! one applies the migrations and the set-up after them, the others wait for it and start on the
//! finished schema.

use testdb::{Backend, TestDatabase};

/// Stores opened at once per round.
const AT_ONCE: usize = 3;
/// Fresh databases tried: the race is lost only now and then on some machines.
const ROUNDS: usize = 4;

/// On PostgreSQL the second server exited with "deadlock detected": waiting in sqlx's
/// `pg_advisory_lock` holds a snapshot, and the first server's `CREATE INDEX CONCURRENTLY`
/// migration (0007, 0011) waits for every older snapshot to end, while holding that lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_opening_one_fresh_database_at_once_all_start_and_migrate_it_once() {
    for backend in Backend::ALL {
        for round in 0..ROUNDS {
            let Some(db) = TestDatabase::create(backend).await else {
                eprintln!("skipped on {backend:?}: {} is not set", testdb::POSTGRES_URL_VAR);
                continue;
            };
            let opened = futures::future::join_all((0..AT_ONCE).map(|_| store::connect(&db.url))).await;
            for (i, store) in opened.iter().enumerate() {
                assert!(store.is_ok(), "{backend:?} round {round}: store {i}: {:?}", store.as_ref().err());
            }
            let store = opened.into_iter().next().unwrap().unwrap();
            assert_eq!(store.counts().await.unwrap().users, 0, "{backend:?}: the schema answers");
            let applied = db.texts("SELECT CAST(version AS TEXT) FROM _sqlx_migrations WHERE success").await.unwrap();
            let mut applied: Vec<i64> = applied.iter().map(|v| v.parse().unwrap()).collect();
            applied.sort_unstable();
            assert_eq!(applied, migration_versions(backend), "{backend:?} round {round}: each migration once");
            drop(store);
        }
    }
}

/// The versions of the backend's migration files, in order.
fn migration_versions(backend: Backend) -> Vec<i64> {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.split_once('_').map(|(version, _)| version.parse().unwrap()))
        .collect();
    versions.sort_unstable();
    versions
}
