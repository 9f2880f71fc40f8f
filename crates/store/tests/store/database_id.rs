//! The database's id (`server_secrets.database_id`, migration 0009): stored once by the first
//! server, the same for every later one, kept by a data reset; and a database migrated before
//! 0009 keeps its secrets through the migration (SQLite rebuilds the table).

use store::{DynStore, ServerSecret};
use testdb::{Backend, TestDatabase};

use crate::fixtures::new_user;
use crate::store_tests;

store_tests!(the_database_id_is_stored_by_the_first_server_and_kept_by_a_reset,);

fn id(c: char) -> String {
    c.to_string().repeat(32)
}

/// Before 0009 the schema refused the name (`server_secrets_name_check`), so the first call
/// failed.
async fn the_database_id_is_stored_by_the_first_server_and_kept_by_a_reset(store: DynStore) {
    assert_eq!(store.server_secret(ServerSecret::DatabaseId).await.unwrap(), None);
    assert_eq!(store.init_server_secret(ServerSecret::DatabaseId, &id('a')).await.unwrap(), id('a'));
    assert_eq!(store.init_server_secret(ServerSecret::DatabaseId, &id('b')).await.unwrap(), id('a'), "first wins");
    store.create_user(new_user("alice")).await.unwrap();
    store.reset().await.unwrap();
    assert_eq!(store.counts().await.unwrap().users, 0);
    assert_eq!(store.init_server_secret(ServerSecret::DatabaseId, &id('c')).await.unwrap(), id('a'), "kept");
    assert!(store.put_server_secret(ServerSecret::DatabaseId, "short").await.is_err(), "the length check stays");
}

/// Migrates a fresh database of `backend` up to 0008, writes a signing secret and an admin hash
/// as a server before 0009 would have, then opens the store (which applies 0009): both are
/// still there and the database id can be stored beside them.
async fn secrets_written_before_0009_survive_it(backend: Backend, dir: &str) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    let migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    let insert = "INSERT INTO server_secrets (name, value, updated_at) VALUES \
                  ('signing_secret', 'SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS', '2026-12-01T00:00:00Z'), \
                  ('admin_token_hash', 'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh', '2026-12-01T00:00:00Z')";
    use sqlx::{Connection, Executor};
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url)).await.unwrap();
            migrator.run_to(8, &mut c).await.unwrap();
            c.execute(insert).await.unwrap();
            c.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            migrator.run_to(8, &mut c).await.unwrap();
            c.execute(insert).await.unwrap();
            c.close().await.unwrap();
        }
    }
    let store = store::connect(&db.url).await.expect("the store opens and applies 0009");
    assert_eq!(store.server_secret(ServerSecret::SigningSecret).await.unwrap(), Some("S".repeat(43)));
    assert_eq!(store.server_secret(ServerSecret::AdminTokenHash).await.unwrap(), Some("h".repeat(64)));
    assert_eq!(store.init_server_secret(ServerSecret::DatabaseId, &id('d')).await.unwrap(), id('d'));
    assert_eq!(store.init_server_secret(ServerSecret::SigningSecret, &"T".repeat(43)).await.unwrap(), "S".repeat(43));
    drop(store);
    drop(db);
}

#[tokio::test]
async fn secrets_written_before_migration_0009_survive_it_on_sqlite() {
    secrets_written_before_0009_survive_it(Backend::Sqlite, "sqlite").await;
}

#[tokio::test]
async fn secrets_written_before_migration_0009_survive_it_on_postgres() {
    secrets_written_before_0009_survive_it(Backend::Postgres, "postgres").await;
}
