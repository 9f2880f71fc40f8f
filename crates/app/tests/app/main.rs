//! The app's services end to end on a real store: every test on SQLite, and again on PostgreSQL
//! when `TEST_POSTGRES_URL` is set (a fresh database each, from `testdb`).

mod follower;
mod read_after_write;
mod relay;
mod reload;
mod seed;
mod sim;

use app::{App, AppSettings};
use domain::Category;
use domain::user::UserInput;
use domain::venue::VenueInput;
use testdb::{Backend, POSTGRES_URL_VAR, TestDatabase};

/// What keeps a fresh database of `backend` alive, and an app on it (its engine not built yet);
/// `None` for PostgreSQL when it is not configured. Bound as `(db, app)`, the app is dropped
/// first, then the database.
pub async fn fresh_app(backend: Backend) -> Option<(TestDatabase, App)> {
    let Some(db) = TestDatabase::create(backend).await else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return None;
    };
    let store = store::connect(&db.url).await.expect("connect the test database");
    Some((db, App::new(store, AppSettings::default())))
}

/// Whether tests can run on `backend` (PostgreSQL needs its URL); says so when they cannot.
pub fn configured(backend: Backend) -> bool {
    let ok = backend == Backend::Sqlite || testdb::postgres_admin_url().is_some();
    if !ok {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
    }
    ok
}

/// A user living in Greenwich Village.
pub fn user(handle: &str) -> UserInput {
    UserInput {
        handle: handle.into(),
        name: handle.into(),
        home_lat: Some(40.73),
        home_lng: Some(-73.99),
        ..UserInput::default()
    }
}

/// A bar for 40 at `lat`, on the meridian of [`user`]'s home.
pub fn venue(name: &str, lat: f64) -> VenueInput {
    VenueInput {
        name: name.into(),
        description: None,
        category: Category::Bar,
        cuisine: None,
        address: None,
        city: None,
        lat,
        lng: -73.99,
        price_level: Some(2),
        rating: None,
        capacity: Some(40),
        tags: Vec::new(),
        opening_hours: None,
        timezone: None,
    }
}

/// Turns `async fn name(backend: Backend)` bodies into `<module>::sqlite::<name>` and
/// `<module>::postgres::<name>` tests (the latter passes without running when PostgreSQL is not
/// configured: the body finds so through [`fresh_app`] or [`configured`]).
macro_rules! on_every_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(testdb::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(testdb::Backend::Postgres).await;
                }
            )+
        }
    };
}
pub(crate) use on_every_backend;
