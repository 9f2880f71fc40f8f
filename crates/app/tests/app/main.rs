//! The app's services end to end on a real store: every test on SQLite, and again on PostgreSQL
//! when `TEST_POSTGRES_URL` is set (a fresh database each, from `testdb`).

mod follower;
mod model;
mod read_after_write;
mod relay;
mod reload;
mod seed;
mod sim;

use std::sync::Arc;

use app::{App, AppSettings};
use async_trait::async_trait;
use bus::{BusResult, DynBus, EventBus, EventId, Page, Publish, Subscription};
use domain::Category;
use domain::user::UserInput;
use domain::venue::VenueInput;
use domain::{Channel, Event};
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

/// What a test bus does differently from the in-memory bus it wraps ([`TestBus`]) when it
/// publishes or subscribes: by default, nothing.
#[async_trait]
pub trait Tap: Send + Sync + 'static {
    async fn publish(&self, inner: &DynBus, event: Publish) -> BusResult<Arc<Event>> {
        inner.publish(event).await
    }

    async fn subscribe(&self, inner: &DynBus, channel: Option<Channel>) -> BusResult<Subscription> {
        inner.subscribe(channel).await
    }
}

/// An in-memory bus with a [`Tap`] on its publishes and subscriptions; everything else passes
/// through. Derefs to its tap, so a test steers the tap through the bus it gave the app.
pub struct TestBus<T> {
    inner: DynBus,
    tap: T,
}

impl<T: Tap> TestBus<T> {
    pub fn new(tap: T) -> Self {
        Self { inner: Arc::new(bus::MemoryBus::default()), tap }
    }
}

impl<T> std::ops::Deref for TestBus<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.tap
    }
}

#[async_trait]
impl<T: Tap> EventBus for TestBus<T> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn publish(&self, event: Publish) -> BusResult<Arc<Event>> {
        self.tap.publish(&self.inner, event).await
    }

    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription> {
        self.tap.subscribe(&self.inner, channel).await
    }

    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>> {
        self.inner.history(channel, limit, before).await
    }

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page> {
        self.inner.after(channel, after, limit).await
    }

    async fn ping(&self) -> BusResult<()> {
        self.inner.ping().await
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        self.inner.published_counts()
    }

    fn trim_state(&self) -> bus::TrimState {
        self.inner.trim_state()
    }
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
