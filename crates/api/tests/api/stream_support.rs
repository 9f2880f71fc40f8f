//! Support for the event-stream tests: a server with its background tasks (relay, metrics) on
//! either setup, embedded (SQLite + in-memory bus) or production (PostgreSQL + Redis Streams,
//! when `TEST_POSTGRES_URL` and `TEST_REDIS_URL` are both set); an SSE client over reqwest; a
//! bus wrapper that can be switched off, made to drop live deliveries (a lagging reader) or to
//! report its trimming failing; and a TCP proxy that cuts Redis away and brings it back.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{App, AppSettings, LiveSettings};
use async_trait::async_trait;
use bus::{
    BusError, BusResult, Delivery, DynBus, EventBus, EventId, MemoryBus, Page, Publish, RedisBus, Subscription,
    TrimState,
};
use domain::{Channel, Event};
use futures::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;

/// How long any single wait in these tests may take before it fails.
pub const WAIT: Duration = Duration::from_secs(15);
/// Events each bus keeps per channel in these tests.
pub const HISTORY: usize = 20_000;

/// Which stack a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// SQLite and the in-memory bus.
    Embedded,
    /// PostgreSQL and Redis Streams.
    Production,
}

/// The production services, when configured.
pub fn production_urls() -> Option<(String, String)> {
    let pg = std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
    let redis = std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.is_empty())?;
    Some((pg, redis))
}

/// Live settings that make tests quick: frequent keep-alives (so closed streams are noticed
/// soon) and snapshots.
pub fn quick_live() -> LiveSettings {
    LiveSettings {
        max_subscribers: 1000,
        keep_alive: Duration::from_millis(200),
        snapshot_every: Duration::from_millis(300),
        ..LiveSettings::default()
    }
}

/// A fresh database for a test (`testdb`): a SQLite file, or a PostgreSQL database made
/// for the test and dropped with this value. Several stores may open `url` (servers sharing one
/// database).
pub struct TestDb {
    pub url: String,
    _db: testdb::TestDatabase,
}

impl TestDb {
    /// `None` for the production setup when its services are not configured.
    pub async fn create(setup: Setup) -> Option<TestDb> {
        let backend = match setup {
            Setup::Embedded => testdb::Backend::Sqlite,
            Setup::Production => {
                production_urls()?;
                testdb::Backend::Postgres
            }
        };
        let db = testdb::TestDatabase::create(backend).await?;
        Some(TestDb { url: db.url.clone(), _db: db })
    }

    /// Runs one statement of the test's own on the database, past a check constraint (see
    /// [`testdb::TestDatabase::execute_unchecked`]).
    pub async fn execute_unchecked(&self, table: &str, constraint: &str, sql: &str) -> u64 {
        self._db.execute_unchecked(table, constraint, sql).await.expect("the test's statement")
    }

    /// Runs one statement of the test's own on the database (on a connection of its own).
    pub async fn execute(&self, sql: &str) -> u64 {
        self._db.execute(sql).await.expect("the test's statement")
    }

    /// The first column, as text, of every row `sql` returns.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        self._db.texts(sql).await.expect("the test's query")
    }
}

/// A unique Redis key prefix whose streams are deleted when it is dropped.
pub struct RedisPrefix {
    pub url: String,
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new(url: &str) -> Self {
        Self { url: url.to_string(), prefix: format!("luna-test-{}", uuid::Uuid::now_v7().simple()) }
    }

    pub async fn connect(&self, url: &str) -> Arc<RedisBus> {
        self.connect_keeping(url, HISTORY).await
    }

    /// A bus keeping about `history` events per channel.
    pub async fn connect_keeping(&self, url: &str, history: usize) -> Arc<RedisBus> {
        Arc::new(RedisBus::connect(url, &self.prefix, history).await.expect("redis reachable"))
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(bus) = RedisBus::connect(&url, &prefix, 1).await {
                    let _ = bus.delete_all().await;
                }
            });
        })
        .join();
    }
}

/// A Redis user that may run every command but those `without` takes away (an ACL rule such as
/// `-@scripting`); deleted when dropped.
pub struct RedisUser {
    admin: redis::Client,
    name: String,
    /// The Redis URL as this user.
    pub url: String,
}

impl RedisUser {
    pub fn without(url: &str, without: &str) -> Self {
        let admin = redis::Client::open(url).expect("a redis URL");
        let name = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
        Self::set(&admin, &name, &["on", ">secret", "~*", "&*", "+@all", without]);
        let (scheme, rest) = url.split_once("://").expect("a redis URL");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        Self { url: format!("{scheme}://{name}:secret@{host}"), admin, name }
    }

    /// Gives the user `rule` back (`+@scripting`); its open connections get it at once.
    pub fn allow(&self, rule: &str) {
        Self::set(&self.admin, &self.name, &[rule]);
    }

    fn set(admin: &redis::Client, name: &str, rules: &[&str]) {
        let mut conn = admin.get_connection().expect("redis reachable");
        redis::cmd("ACL").arg("SETUSER").arg(name).arg(rules).query::<()>(&mut conn).expect("ACL SETUSER");
    }
}

impl Drop for RedisUser {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.admin.get_connection() {
            let _ = redis::cmd("ACL").arg("DELUSER").arg(&self.name).query::<u64>(&mut conn);
        }
    }
}

/// A running server with its background tasks.
pub struct StreamServer {
    pub address: String,
    pub client: Client,
    pub app: App,
    /// The switchable wrapper around the real bus.
    pub bus: Arc<TestBus>,
    pub background: Vec<JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<JoinHandle<()>>,
}

impl StreamServer {
    /// Serves `store` and `bus` on 127.0.0.1:0 with the background tasks running.
    pub async fn start(store: store::DynStore, bus: DynBus, live: LiveSettings) -> StreamServer {
        Self::start_with(store, bus, live, AppSettings::default(), |app| app).await
    }

    /// The same, with these settings and the app as `configure` makes it (a booking agent...).
    pub async fn start_with(
        store: store::DynStore,
        bus: DynBus,
        live: LiveSettings,
        settings: AppSettings,
        configure: impl FnOnce(App) -> App,
    ) -> StreamServer {
        let bus = Arc::new(TestBus::new(bus));
        let app = configure(App::with_bus(store, bus.clone(), settings).with_live_settings(live));
        let background = app.start_background();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        let served = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            let opts = api::ServeOptions { auth: crate::helpers::test_auth(), ..Default::default() };
            let _ = api::serve(served, listener, opts, shutdown).await;
        });
        let client = crate::helpers::client_with_token(crate::helpers::ADMIN_TOKEN);
        StreamServer { address, client, app, bus, background, shutdown: Some(tx), served: Some(served) }
    }

    /// Asks the server to shut down (as SIGTERM does); the handle ends when `api::serve` returns.
    pub fn shut_down(&mut self) -> JoinHandle<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.served.take().expect("served once")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let res = self.client.get(self.url(path)).send().await.expect("GET");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Creates a user through the API; returns its id.
    pub async fn create_user(&self, handle: &str) -> String {
        let body = serde_json::json!({"handle": handle, "name": "Stream Tester", "age": 30});
        let res = self.client.post(self.url("/api/v1/users")).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
        let user: Value = res.json().await.expect("JSON");
        user["id"].as_str().expect("id").to_string()
    }

    pub async fn create_venue(&self, name: &str) -> String {
        let body = serde_json::json!({"name": name, "category": "bar", "lat": 40.73, "lng": -73.99});
        let res = self.client.post(self.url("/api/v1/venues")).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
        res.json::<Value>().await.expect("JSON")["id"].as_str().expect("id").to_string()
    }

    /// Opens an SSE stream at `path` and reads its `connected` frame.
    pub async fn sse(&self, path: &str, last_event_id: Option<&str>) -> SseClient {
        let mut client = SseClient::connect(&self.client, &self.url(path), last_event_id).await;
        let hello = client.next_frame().await;
        assert_eq!(hello.event.as_deref(), Some("connected"), "{hello:?}");
        client
    }

    /// Waits until the outbox is empty (every committed event is on the bus).
    pub async fn drained(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.app.store.counts().await.expect("counts").outbox_pending > 0 {
            assert!(tokio::time::Instant::now() < deadline, "the outbox did not drain within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for StreamServer {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Two servers on one fresh PostgreSQL database and one Redis, with what keeps them alive.
pub struct TwoServers {
    pub a: StreamServer,
    pub b: StreamServer,
    pub _db: TestDb,
    pub _redis: RedisPrefix,
}

/// Two servers sharing the production services; `None` (with a note) when they are not
/// configured.
pub async fn two_servers() -> Option<TwoServers> {
    let Some((_, redis_url)) = production_urls() else {
        eprintln!("skipped: TEST_POSTGRES_URL and TEST_REDIS_URL are not both set");
        return None;
    };
    let db = TestDb::create(Setup::Production).await.expect("database");
    let prefix = RedisPrefix::new(&redis_url);
    let mut servers = Vec::new();
    for _ in 0..2 {
        let store = store::connect(&db.url).await.expect("store");
        servers.push(StreamServer::start(store, prefix.connect(&redis_url).await, quick_live()).await);
    }
    let (b, a) = (servers.pop().expect("b"), servers.pop().expect("a"));
    Some(TwoServers { a, b, _db: db, _redis: prefix })
}

/// A server on a fresh database of `setup` and its bus, with what keeps them alive.
pub struct Spawned {
    pub server: StreamServer,
    pub _db: TestDb,
    pub _redis: Option<RedisPrefix>,
}

/// A server on a fresh stack; `None` for production when it is not configured.
pub async fn spawn(setup: Setup, live: LiveSettings) -> Option<Spawned> {
    spawn_keeping(setup, live, HISTORY).await
}

/// A server whose bus keeps `history` events per channel (about, on Redis).
pub async fn spawn_keeping(setup: Setup, live: LiveSettings, history: usize) -> Option<Spawned> {
    let db = TestDb::create(setup).await?;
    let store = store::connect(&db.url).await.expect("store");
    let (bus, redis): (DynBus, _) = match setup {
        Setup::Embedded => (Arc::new(MemoryBus::new(history)), None),
        Setup::Production => {
            let (_, url) = production_urls()?;
            let prefix = RedisPrefix::new(&url);
            (prefix.connect_keeping(&url, history).await, Some(prefix))
        }
    };
    Some(Spawned { server: StreamServer::start(store, bus, live).await, _db: db, _redis: redis })
}

/// One SSE frame.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    /// A comment-only frame (a keep-alive).
    pub comment: bool,
    /// The text of its comment lines (a keep-alive's is `keepalive`).
    pub comments: Vec<String>,
}

impl Frame {
    /// The `data:` of an event frame, as the bus event it carries.
    pub fn bus_event(&self) -> Event {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not an Event ({e}): {self:?}"))
    }
}

/// A streaming SSE reader.
pub struct SseClient {
    res: reqwest::Response,
    buf: String,
    frames: VecDeque<Frame>,
}

impl SseClient {
    /// Reads until the stream ends: `true` if it ended (the server closed it) within `WAIT`.
    pub async fn ended(&mut self) -> bool {
        self.rest().await.is_some()
    }

    /// Reads until the stream ends: the frames not read yet (keep-alives included), or `None`
    /// if the server did not close it within `WAIT`.
    pub async fn rest(&mut self) -> Option<Vec<Frame>> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Ok(Ok(Some(chunk))) => self.take_frames(&chunk),
                Ok(Ok(None) | Err(_)) => return Some(self.frames.drain(..).collect()),
                Err(_) => return None,
            }
        }
    }

    fn take_frames(&mut self, chunk: &[u8]) {
        self.buf.push_str(&String::from_utf8_lossy(chunk));
        while let Some(end) = self.buf.find("\n\n") {
            let text: String = self.buf.drain(..end + 2).collect();
            self.frames.push_back(parse_frame(&text));
        }
    }

    pub async fn connect(client: &Client, url: &str, last_event_id: Option<&str>) -> SseClient {
        let mut req = client.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = tokio::time::timeout(WAIT, req.send()).await.expect("SSE answered in time").expect("SSE GET");
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(res.status(), StatusCode::OK, "SSE refused: {}", res.text().await.unwrap_or_default());
        assert!(ct.starts_with("text/event-stream"), "content type {ct}");
        SseClient { res, buf: String::new(), frames: VecDeque::new() }
    }

    /// The next frame of any kind (keep-alives included).
    pub async fn next_frame(&mut self) -> Frame {
        loop {
            if let Some(f) = self.frames.pop_front() {
                return f;
            }
            let chunk = tokio::time::timeout(WAIT, self.res.chunk()).await.expect("a frame in time").expect("read");
            let chunk = chunk.expect("the stream stays open");
            self.take_frames(&chunk);
        }
    }

    /// The next frame that is not a keep-alive.
    pub async fn next_message(&mut self) -> Frame {
        loop {
            let f = self.next_frame().await;
            if !f.comment {
                return f;
            }
        }
    }

    /// The next event frame (lag notices must not come).
    pub async fn next_event(&mut self) -> (Frame, Event) {
        let f = self.next_message().await;
        assert_ne!(f.event.as_deref(), Some("lagged"), "unexpected lag: {f:?}");
        let e = f.bus_event();
        (f, e)
    }

    /// Event frames until one satisfies `done`; returns them all (lag notices included).
    pub async fn until(&mut self, mut done: impl FnMut(&Frame) -> bool) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let f = self.next_message().await;
            let stop = done(&f);
            out.push(f);
            if stop {
                return out;
            }
        }
    }
}

fn parse_frame(text: &str) -> Frame {
    let mut f = Frame { comment: true, ..Frame::default() };
    let mut data = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix(':') {
            f.comments.push(comment.trim_start().to_string());
            continue;
        }
        f.comment = false;
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => f.id = Some(value.to_string()),
            "event" => f.event = Some(value.to_string()),
            "data" => data.push(value.to_string()),
            _ => {}
        }
    }
    f.data = data.join("\n");
    f
}

/// A bus around a real one that can be made unreachable (`set_down`), made to drop live
/// deliveries as a full buffer would (`set_stalled`), each subscriber then being told it lagged,
/// or made to report a trim state of the test's (`set_trim_state`; the real one's otherwise).
pub struct TestBus {
    inner: DynBus,
    down: AtomicBool,
    stalled: Arc<AtomicBool>,
    trim: Mutex<Option<TrimState>>,
}

impl TestBus {
    pub fn new(inner: DynBus) -> Self {
        Self { inner, down: AtomicBool::new(false), stalled: Arc::new(AtomicBool::new(false)), trim: Mutex::new(None) }
    }

    /// Reports `state` as the bus's trim state, or the real bus's again when `None`.
    pub fn set_trim_state(&self, state: Option<TrimState>) {
        *self.trim.lock().expect("trim state") = state;
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn set_stalled(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }

    fn check(&self) -> BusResult<()> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(BusError::Unavailable("switched off by the test".into())),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl EventBus for TestBus {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn publish(&self, event: Publish) -> BusResult<Arc<Event>> {
        self.check()?;
        self.inner.publish(event).await
    }

    async fn publish_many(&self, events: Vec<Publish>) -> (Vec<Arc<Event>>, Option<BusError>) {
        match self.check() {
            Ok(()) => self.inner.publish_many(events).await,
            Err(e) => (Vec::new(), Some(e)),
        }
    }

    async fn subscribe(&self, channel: Option<Channel>) -> BusResult<Subscription> {
        let live = self.inner.subscribe(channel).await?;
        let (stalled, missed) = (self.stalled.clone(), Arc::new(AtomicU64::new(0)));
        let stream = live.flat_map(move |d| {
            let out = match d {
                Delivery::Event(_) if stalled.load(Ordering::SeqCst) => {
                    missed.fetch_add(1, Ordering::SeqCst);
                    vec![]
                }
                d => match missed.swap(0, Ordering::SeqCst) {
                    0 => vec![d],
                    n => vec![Delivery::Lagged { missed: n }, d],
                },
            };
            futures::stream::iter(out)
        });
        Ok(stream.boxed())
    }

    async fn history(&self, channel: Channel, limit: usize, before: Option<EventId>) -> BusResult<Vec<Event>> {
        self.check()?;
        self.inner.history(channel, limit, before).await
    }

    async fn after(&self, channel: Channel, after: EventId, limit: usize) -> BusResult<Page> {
        self.check()?;
        self.inner.after(channel, after, limit).await
    }

    async fn ping(&self) -> BusResult<()> {
        self.check()?;
        self.inner.ping().await
    }

    fn published_counts(&self) -> Vec<(Channel, u64)> {
        self.inner.published_counts()
    }

    fn trim_state(&self) -> TrimState {
        self.trim.lock().expect("trim state").clone().unwrap_or_else(|| self.inner.trim_state())
    }
}

/// A server on a fresh PostgreSQL database whose Redis bus goes through a [`Proxy`] the test
/// can cut; `None` (with a note) unless both production URLs are set. Keep it whole: the
/// database and the key prefix are dropped (cleaned up) with it.
pub struct BusBehindProxy {
    pub srv: StreamServer,
    pub proxy: Proxy,
    _prefix: RedisPrefix,
    _db: TestDb,
}

pub async fn server_with_bus_behind_proxy() -> Option<BusBehindProxy> {
    let Some((_, redis_url)) = production_urls() else {
        eprintln!("skipped: TEST_POSTGRES_URL and TEST_REDIS_URL are not both set");
        return None;
    };
    let db = TestDb::create(Setup::Production).await.expect("database");
    let proxy = Proxy::start(redis_addr(&redis_url)).await;
    let prefix = RedisPrefix::new(&redis_url);
    let bus = prefix.connect(&format!("redis://{}", proxy.addr)).await;
    let srv = StreamServer::start(store::connect(&db.url).await.expect("store"), bus, quick_live()).await;
    Some(BusBehindProxy { srv, proxy, _prefix: prefix, _db: db })
}

/// A TCP proxy in front of a server (Redis, PostgreSQL) that can cut every connection and
/// refuse new ones, then let them through again, or freeze: keep every connection open and
/// accept new ones but forward nothing, as when the server is stopped (SIGSTOP) or the network
/// drops packets.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, f, l) = (open.clone(), frozen.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let f = f.clone();
                let link = tokio::spawn(async move {
                    if let Ok(out) = tokio::net::TcpStream::connect(upstream).await {
                        let ((in_read, in_write), (out_read, out_write)) = (inbound.into_split(), out.into_split());
                        tokio::join!(pump(in_read, out_write, &f), pump(out_read, in_write, &f));
                    }
                });
                l.lock().expect("links").push(link);
            }
        });
        Proxy { addr, open, frozen, links, accept }
    }

    /// Keeps every connection (and new ones) open but forwards nothing until [`Self::thaw`]:
    /// what was read is held, what was not stays unread.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards again, what was held first.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// Closes every open connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Closes every open connection and the listening socket: new connections are refused, as
    /// when the dependency's host is up but the service is not (a client's pool retries refused
    /// connections until its timeout, while it gives up at once on one accepted and closed, as
    /// after [`Self::cut`]). For good: there is no restoring it.
    pub fn refuse(&self) {
        self.cut();
        self.accept.abort();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Copies one direction of a [`Proxy`] link (its end too) while the proxy is not frozen.
async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, frozen: &AtomicBool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The socket address of a `redis://host:port` URL.
pub fn redis_addr(url: &str) -> SocketAddr {
    let rest = url.trim_start_matches("redis://");
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    let host_port = if host_port.contains(':') { host_port.to_string() } else { format!("{host_port}:6379") };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port).ok().and_then(|mut a| a.next()).expect("a Redis address")
}

/// Runs one test body per setup: `<module>::embedded::<name>` and `<module>::production::<name>`
/// (the latter passes without running unless PostgreSQL and Redis are configured).
#[macro_export]
macro_rules! on_every_setup {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::stream_support::Setup::Embedded).await;
                }
            )+
        }
        mod production {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::stream_support::production_urls().is_some() {
                        super::$name($crate::stream_support::Setup::Production).await;
                    } else {
                        eprintln!("skipped: TEST_POSTGRES_URL and TEST_REDIS_URL are not both set");
                    }
                }
            )+
        }
    };
}
