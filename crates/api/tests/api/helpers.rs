//! `spawn_app`: a fresh database (a SQLite temp file, or a PostgreSQL database made for the test
//! from `TEST_POSTGRES_URL`), the real server on 127.0.0.1:0, and typed helpers around a client.
//! [`on_every_backend!`] turns `async fn name(app: &TestApp)` into one test per backend.
//!
//! The server checks credentials as in production. `client` sends the admin token (which may
//! act for anyone), so tests about other things need not sign in; `anon` sends nothing, and
//! [`TestApp::user_token`] signs tokens for the authorization tests.

use app::{App, AppSettings};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use testdb::TestDatabase;

pub use testdb::Backend;

/// A running server on a fresh database.
pub struct TestApp {
    pub address: String,
    /// Sends the admin token on every request.
    pub client: Client,
    /// Sends no credential.
    pub anon: Client,
    pub app: App,
    pub auth: api::auth::Auth,
    _db: TestDatabase,
    /// Resolves the server's shutdown future (as SIGTERM does `luna serve`'s): by
    /// [`TestApp::shut_down`], or when the app is dropped.
    shutdown: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// A fresh store and what keeps its database alive.
pub struct FreshStore {
    pub store: store::DynStore,
    pub db: TestDatabase,
}

/// A fresh store: `None` for PostgreSQL when `TEST_POSTGRES_URL` is not set.
pub async fn fresh_store(backend: Backend) -> Option<FreshStore> {
    let db = TestDatabase::create(backend).await?;
    let store = store::connect(&db.url).await.expect("connect the test database");
    Some(FreshStore { store, db })
}

/// The admin token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The credentials of a test server: a fixed signing key and [`ADMIN_TOKEN`].
pub fn test_auth() -> api::auth::Auth {
    api::auth::Auth::new(
        api::auth::Signer::new(b"test-signing-secret-0123456789abcdef".to_vec()),
        Some(app::auth::token_hash(ADMIN_TOKEN)),
    )
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn client_with_token(token: &str) -> Client {
    client_builder_with_token(token).build().expect("client")
}

/// A client builder that sends `Authorization: Bearer <token>`, for clients that need more settings.
pub fn client_builder_with_token(token: &str) -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    Client::builder().no_proxy().default_headers(headers)
}

/// Starts the server on a fresh database; `None` when the backend is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, AppSettings::default(), |app| app).await
}

/// Starts the server on a fresh database with these settings, the app adjusted by `configure`.
pub async fn spawn_app_with(
    backend: Backend,
    settings: AppSettings,
    configure: impl FnOnce(App) -> App,
) -> Option<TestApp> {
    spawn_app_opts(backend, settings, api::ServeOptions { auth: test_auth(), ..Default::default() }, configure).await
}

/// Starts the server on a fresh database with these settings and serve options.
pub async fn spawn_app_opts(
    backend: Backend,
    settings: AppSettings,
    opts: api::ServeOptions,
    configure: impl FnOnce(App) -> App,
) -> Option<TestApp> {
    let FreshStore { store, db } = fresh_store(backend).await?;
    let app = configure(App::new(store, settings));
    let auth = opts.auth.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        let _ = api::serve(served, listener, opts, shutdown).await;
    });
    let client = client_with_token(ADMIN_TOKEN);
    let anon = Client::builder().no_proxy().build().expect("client");
    Some(TestApp { address, client, anon, app, auth, _db: db, shutdown: std::sync::Mutex::new(Some(tx)) })
}

impl TestApp {
    /// The test's database, for statements of the test's own on a connection of their own.
    pub fn db(&self) -> &TestDatabase {
        &self._db
    }

    /// Shuts the server down as SIGTERM does `luna serve`: it stops taking connections and
    /// drains the requests in flight.
    pub fn shut_down(&self) {
        if let Some(tx) = self.shutdown.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The seed's example user, with a handle of our choosing.
pub fn seed_user(handle: &str) -> Value {
    json!({"handle": handle, "name": "Alice Chen", "age": 25, "home_lat": 40.73, "home_lng": -73.93})
}

/// The seed's example venue, with a name of our choosing.
pub fn seed_venue(name: &str) -> Value {
    json!({"name": name, "description": "Rooftop cocktails with skyline view.", "category": "bar",
           "lat": 40.7325, "lng": -73.99, "price_level": 3, "rating": 4.7})
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A valid access token for `user_id`.
    pub fn user_token(&self, user_id: &str) -> String {
        let id = user_id.parse().expect("a user id");
        self.auth.signer().issue(id, chrono::Utc::now(), chrono::Duration::minutes(15))
    }

    /// A client acting as `user_id`.
    pub fn as_user(&self, user_id: &str) -> Client {
        client_with_token(&self.user_token(user_id))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.expect("POST")
    }

    /// POSTs JSON with an `Idempotency-Key`.
    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).header("idempotency-key", key).json(body).send().await.expect("POST")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).json(body).send().await.expect("PUT")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client.patch(self.url(path)).json(body).send().await.expect("PATCH")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.expect("DELETE")
    }

    /// POSTs raw bytes with a content type (or none).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Response {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send().await.expect("POST")
    }

    /// GETs a JSON body, asserting the status.
    pub async fn get_json(&self, path: &str, status: StatusCode) -> Value {
        let res = self.get(path).await;
        expect_json(res, status).await
    }

    /// Creates a user through the API and returns it.
    pub async fn create_user(&self, body: Value) -> Value {
        expect_json(self.post("/api/v1/users", &body).await, StatusCode::CREATED).await
    }

    pub async fn create_venue(&self, body: Value) -> Value {
        expect_json(self.post("/api/v1/venues", &body).await, StatusCode::CREATED).await
    }

    /// How many users are stored (read from the store, so a refused request is seen not to write).
    pub async fn user_count(&self) -> usize {
        self.app.store.counts().await.expect("counts").users as usize
    }

    pub async fn counts(&self) -> store::Counts {
        self.app.store.counts().await.expect("counts")
    }

    /// The types of the events waiting in the outbox, oldest first.
    pub async fn pending_event_types(&self) -> Vec<String> {
        let outbox = self.app.store.unpublished_events(1000).await.expect("outbox");
        outbox.events.iter().map(|r| r.event.event_type()).collect()
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error response: status, `error.code`, and (if given) the field named in details.
pub async fn expect_error(res: Response, status: StatusCode, code: &str, field: Option<&str>) -> Value {
    let body = expect_json(res, status).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    if let Some(field) = field {
        let details = body["error"]["details"].as_array().unwrap_or_else(|| panic!("no details: {body}"));
        assert!(details.iter().any(|d| d["field"] == field), "field {field} not named in {body}");
    }
    body
}

/// The ids of a JSON array of objects.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("array").iter().map(|v| v["id"].as_str().expect("id").to_string()).collect()
}

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(res: &Response) -> Option<String> {
    let link = res.headers().get("link")?.to_str().ok()?;
    let start = link.find('<')? + 1;
    let end = link.find('>')?;
    link.contains("rel=\"next\"").then(|| link[start..end].to_string())
}

/// The plan `organizer` confirmed with `guest` at `venue` (ids as text) a week ago, both having
/// accepted the day before (history, as an import writes it: `Store::insert_batch`). Not written.
pub fn past_confirmed_plan(organizer: &str, guest: &str, venue: &str) -> domain::Plan {
    let id = |s: &str| s.parse::<uuid::Uuid>().expect("an id");
    let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
    let plan_id = domain::new_id();
    let place = |user: &str| domain::PlanParticipant {
        plan_id,
        user_id: id(user),
        status: domain::ParticipantStatus::Accepted,
        invited_at: week_ago - chrono::Duration::days(1),
        responded_at: Some(week_ago - chrono::Duration::days(1)),
    };
    domain::Plan {
        id: plan_id,
        organizer_id: Some(id(organizer)),
        venue_id: id(venue),
        start_time: week_ago,
        party_size: None,
        status: domain::PlanStatus::Confirmed,
        created_at: week_ago - chrono::Duration::days(2),
        participants: vec![place(organizer), place(guest)],
    }
}

/// Runs one test body per backend: `<module>::sqlite::<name>` and `<module>::postgres::<name>`
/// (the latter passes without running when `TEST_POSTGRES_URL` is not set).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.expect("sqlite");
                    super::$name(&app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(&app).await;
                    }
                }
            )+
        }
    };
}
