//! Databases as an older server wrote them: migrated up to a version and filled with raw SQL,
//! for the tests that open the store on them and check what a later migration keeps.

use domain::Timestamp;
use testdb::{Backend, TestDatabase};
use uuid::Uuid;

/// The fixed-width text of a time, as the SQLite store writes it (PostgreSQL reads it too).
pub fn at(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `u` as a literal of `backend`'s SQL.
pub fn sql_id(backend: Backend, u: Uuid) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", u.simple()),
        Backend::Postgres => format!("'{u}'"),
    }
}

/// The rows of `users` (id and handle; the name is the handle capitalised) and of the venue
/// 'Corner' with id `venue`, all created at `t0`.
pub fn users_and_venue(backend: Backend, t0: &str, users: &[(Uuid, &str)], venue: Uuid) -> [String; 2] {
    let rows: Vec<String> = users
        .iter()
        .map(|&(u, handle)| {
            let mut name = handle.to_string();
            name[..1].make_ascii_uppercase();
            format!("({}, '{handle}', '{name}', 0.5, 0.5, '{t0}', '{t0}')", sql_id(backend, u))
        })
        .collect();
    [
        format!(
            "INSERT INTO users (id, handle, name, activity_score, social_score, created_at, updated_at) VALUES {}",
            rows.join(", ")
        ),
        format!(
            "INSERT INTO venues (id, name, category, lat, lng, capacity, tags, timezone, created_at, updated_at) \
             VALUES ({}, 'Corner', 'restaurant', 40.73, -73.99, 20, '[]', 'UTC', '{t0}', '{t0}')",
            sql_id(backend, venue)
        ),
    ]
}

/// Migrates `db` (a fresh database of `backend`) up to migration `version` and runs
/// `statements` on it, as a server of that version would have written them.
pub async fn written_at(db: &TestDatabase, backend: Backend, version: i64, statements: &[String]) {
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    let migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    use sqlx::{Connection, Executor};
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url)).await.unwrap();
            migrator.run_to(version, &mut c).await.unwrap();
            for s in statements {
                c.execute(sqlx::AssertSqlSafe(s.as_str())).await.unwrap();
            }
            c.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            migrator.run_to(version, &mut c).await.unwrap();
            for s in statements {
                c.execute(sqlx::AssertSqlSafe(s.as_str())).await.unwrap();
            }
            c.close().await.unwrap();
        }
    }
}

/// Turns `async fn name(backend: Backend)` into one test per backend, `name::sqlite` and
/// `name::postgres` (which returns at once when `TEST_POSTGRES_URL` is not set).
macro_rules! tests_per_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(testdb::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(testdb::Backend::Postgres).await;
            }
        }
    )*};
}
pub(crate) use tests_per_backend;
