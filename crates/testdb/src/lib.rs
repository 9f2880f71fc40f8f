//! Databases for tests: a fresh SQLite file in a temporary folder, or a fresh
//! PostgreSQL database made through the admin URL in [`POSTGRES_URL_VAR`] and dropped with the
//! value. Every test suite of the workspace takes its databases from here, so each test gets
//! its own and none is left behind.

use std::path::Path;

/// The environment variable with the PostgreSQL admin URL (a server and a database to connect
/// to while creating and dropping the tests' own).
pub const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Both, SQLite first.
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

/// The PostgreSQL admin URL of [`POSTGRES_URL_VAR`], if set and not empty.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.is_empty())
}

/// A database made for one test: `url` opens it (several stores or servers may share it). A
/// PostgreSQL database is dropped, even while others still hold connections to it, when the
/// value is; a SQLite file goes with its temporary folder.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    dir: Option<tempfile::TempDir>,
    /// The admin URL and the database's name.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database of `backend`: `None` for PostgreSQL when [`POSTGRES_URL_VAR`] is not set.
    /// Panics when the server refuses (a test cannot go on without its database).
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("luna.db").display());
                Some(Self { url, dir: Some(dir), postgres: None })
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url()?;
                // The name is ours: a fixed prefix and a UUID's hex digits.
                let name = format!("luna_t_{}", uuid::Uuid::now_v7().simple());
                admin_sql(&admin_url, &format!("CREATE DATABASE {name}")).await.expect("create the test database");
                Some(Self { url: with_database(&admin_url, &name), dir: None, postgres: Some((admin_url, name)) })
            }
        }
    }

    /// The temporary folder of a SQLite database.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }

    /// [`TestDatabase::execute`], past the check constraint `constraint` of `table`, for a row
    /// the schema keeps out (written around it): PostgreSQL drops the constraint first; SQLite
    /// runs the statement with its check constraints ignored.
    pub async fn execute_unchecked(&self, table: &str, constraint: &str, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.postgres {
            Some(_) => {
                self.execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {constraint}")).await?;
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                let done = sqlx::query(sql).execute(&mut conn).await?.rows_affected();
                conn.close().await.map(|()| done)
            }
            None => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut conn).await?;
                let done = sqlx::query(sql).execute(&mut conn).await?.rows_affected();
                conn.close().await.map(|()| done)
            }
        }
    }

    /// Runs one statement of the test's own on this database (once a store has made its
    /// tables), for what no store method writes, such as a row an older or newer version left;
    /// returns the rows it touched.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.postgres {
            Some(_) => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                let done = sqlx::query(sql).execute(&mut conn).await?.rows_affected();
                conn.close().await.map(|()| done)
            }
            None => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                let done = sqlx::query(sql).execute(&mut conn).await?.rows_affected();
                conn.close().await.map(|()| done)
            }
        }
    }

    /// The first column, as text, of every row `sql` returns.
    pub async fn texts(&self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.postgres {
            Some(_) => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::query_scalar(sql).fetch_all(&mut conn).await
            }
            None => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::query_scalar(sql).fetch_all(&mut conn).await
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // A runtime of its own, on a thread of its own: the test's runtime may be the one
        // dropping this value, or gone. Best effort: a failure here must not hide the test's
        // own result.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            let _ = rt.block_on(admin_sql(&admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        })
        .join();
    }
}

/// Runs one statement of ours (fixed text and a UUID's hex digits) on the admin database.
async fn admin_sql(admin_url: &str, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await?;
    conn.close().await
}

/// The admin URL with its database replaced by `name` (query parameters kept).
pub fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_an_admin_url_is_replaced_and_its_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
        assert_eq!(with_database("postgresql://h:5432", "t3"), "postgresql://h:5432/t3");
    }
}
