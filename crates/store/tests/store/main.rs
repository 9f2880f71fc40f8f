//! The store's behavioural suite, written once against `DynStore`: every test runs on SQLite
//! (a fresh file per test) and on PostgreSQL when `TEST_POSTGRES_URL` is set (a fresh database
//! per test). Test `x` appears as `x::sqlite` and `x::postgres`.

mod bookings;
mod bulk;
mod concurrent_open;
mod credentials;
mod database_id;
mod deleted_booker;
mod deleted_organizer;
mod fixtures;
mod harness;
mod older;
mod outbox;
mod plans;
mod postgres_only;
mod relay_lease;
mod social;
mod sqlite_only;
mod users;
mod venues;

/// Turns `async fn name(store: DynStore)` bodies into one test per backend.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::harness::run(testdb::Backend::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::harness::run(testdb::Backend::Postgres, super::$name).await;
            }
        }
    )*};
}
pub(crate) use store_tests;
