//! Application services: the use cases HTTP handlers, the simulator and the CLI all call.
//! A service parses input into domain values, calls the store (which records events in the
//! same transaction) and returns domain values. No HTTP here.

pub mod auth;
pub mod booking;
pub mod conversion;
pub mod dead_letters;
mod error;
pub mod location_writes;
pub mod map;
mod plans;
pub mod reco;
pub mod reco_service;
pub mod relay;
pub mod seed;
mod seed_bookings;
pub mod sim;
mod social;
pub mod stats;
pub mod supervise;
pub mod telemetry;
mod users;
mod venues;

use std::sync::Arc;

use bus::DynBus;
use store::DynStore;
use tokio::sync::Notify;

pub use error::{AppError, AppResult};
pub use plans::PlanConfirmation;
pub use telemetry::{LiveSettings, Telemetry};
pub use users::RecentlyDeleted;
pub use venues::{MAX_RADIUS_KM, SEARCH_RADIUS_KM, SearchRadiusRange, VenueSearch, check_price_range};

/// Settings the services need (a slice of the binary's settings).
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    /// The demo city: what `serve --demo` and the admin seed endpoint generate by default.
    pub demo: seed::SeedOptions,
    /// The recommendation engine's settings and model file.
    pub reco: reco::RecoSettings,
    /// Slots, turn times, the booking provider and its patience, holds, alternatives.
    pub booking: booking::BookingSettings,
    /// How the consumers of the bus take its events.
    pub events: EventSettings,
}

/// How the consumers of the bus that count what they read (the engine follower, the metrics
/// watcher) take its events. SSE streams skip repeats too, each remembering at most the smaller
/// of `repeat_window` and 4,096 ids (its connection's memory).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EventSettings {
    /// How many outbox ids (`source_id`) of recently applied events each remembers, to skip the
    /// relay's repeat of one (at-least-once delivery; see [`bus::Repeats`] for the bound).
    pub repeat_window: usize,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self { repeat_window: bus::DEFAULT_REPEAT_WINDOW }
    }
}

/// Everything a request needs, shared by all handlers: one pointer, so a clone (every
/// middleware and handler takes one per request) is one reference count, not seven.
#[derive(Clone)]
pub struct App(Arc<AppParts>);

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What an [`App`] shares; reached through it (`app.store`, `app.bus`, ...).
#[derive(Clone)]
pub struct AppParts {
    pub store: DynStore,
    pub bus: DynBus,
    pub settings: Arc<AppSettings>,
    /// Poked after writes so the outbox relay publishes without waiting for its next poll.
    pub outbox_wake: Arc<Notify>,
    /// Live figures (requests, latencies, event rates, SSE streams) and their settings.
    pub telemetry: Arc<Telemetry>,
    /// The recommendation engine, rebuilt and swapped by `reload_engine`.
    pub engine: Arc<reco::EngineCell>,
    /// Trainings of the learned model in this server (`App::start_training`).
    pub training: Arc<reco::training::Training>,
    /// The booking agent and its provider.
    pub booking: Arc<booking::BookingAgent>,
    /// The live locations this server last wrote, so a user who stays put is not rewritten.
    pub location_writes: Arc<location_writes::LocationWrites>,
    /// The supervised background tasks and how each is doing (`/health` shows them).
    pub tasks: Arc<supervise::Tasks>,
    /// Users this server deleted a moment ago, which its engine may not have heard of yet.
    pub deleted_users: Arc<users::RecentlyDeleted>,
    /// When (Unix milliseconds, by the clock of the process that made it) each data reset the
    /// engine follower hears of was made, by this process or another on the same database
    /// (another server, `luna seed --force`): a simulation that started before it stops
    /// (`data_reset`), its users being gone. Each reset is compared on its own, so one stamped
    /// by a clock running ahead does not hide the resets after it.
    pub data_resets: tokio::sync::broadcast::Sender<i64>,
    /// Each user deleted, by this server (as the deletion commits) or another (as the engine
    /// follower hears its `user.deleted`; this server's own come twice): a running simulation's
    /// user who is deleted leaves the run.
    pub user_deletions: tokio::sync::broadcast::Sender<domain::UserId>,
}

impl App {
    /// An app on the in-memory bus (the embedded default).
    pub fn new(store: DynStore, settings: AppSettings) -> Self {
        Self::with_bus(store, Arc::new(bus::MemoryBus::default()), settings)
    }

    pub fn with_bus(store: DynStore, bus: DynBus, settings: AppSettings) -> Self {
        let telemetry = Arc::new(Telemetry::new(LiveSettings::default()));
        let engine = Arc::new(reco::EngineCell::new(&settings.reco.engine, settings.events.repeat_window));
        let booking = Arc::new(booking::BookingAgent::from_settings(&settings.booking));
        let settings = Arc::new(settings);
        Self(Arc::new(AppParts {
            store,
            bus,
            settings,
            outbox_wake: Arc::new(Notify::new()),
            telemetry,
            engine,
            training: Arc::default(),
            booking,
            location_writes: Arc::default(),
            tasks: Arc::default(),
            deleted_users: Arc::default(),
            data_resets: tokio::sync::broadcast::Sender::new(16),
            user_deletions: tokio::sync::broadcast::Sender::new(1024),
        }))
    }

    /// The same app booking through another agent (another provider, in tests and demos).
    pub fn with_booking_agent(mut self, agent: booking::BookingAgent) -> Self {
        Arc::make_mut(&mut self.0).booking = Arc::new(agent);
        self
    }

    /// The same app with other live-stream settings (subscriber cap, keep-alive, snapshot period).
    pub fn with_live_settings(mut self, live: LiveSettings) -> Self {
        Arc::make_mut(&mut self.0).telemetry = Arc::new(Telemetry::new(live));
        self
    }

    /// Starts the background tasks (the outbox relay first, the metrics watcher, the periodic
    /// `metrics.snapshot`, the engine follower and the booking janitor), each supervised
    /// ([`supervise`]): restarted if it panics or ends; and, once, removes the temporary model
    /// files processes killed while writing left behind. Call once per process.
    pub fn start_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            self.spawn_relay(),
            stats::spawn_watcher(self.clone()),
            stats::spawn_snapshots(self.clone()),
            reco::spawn_follower(self.clone()),
            booking::janitor::spawn(self.clone()),
            self.spawn_partial_model_cleanup(),
        ]
    }

    /// Removes the temporary model files processes killed while writing `model_path` left
    /// behind ([`reco::training::remove_stale_partials`]), off the async workers.
    fn spawn_partial_model_cleanup(&self) -> tokio::task::JoinHandle<()> {
        let path = self.settings.reco.model_path.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(path) = path {
                reco::training::remove_stale_partials(&path, std::time::SystemTime::now());
            }
        })
    }

    /// Runs the outbox relay ([`relay::run`]) as the supervised task `relay`.
    pub fn spawn_relay(&self) -> tokio::task::JoinHandle<()> {
        let (store, bus, wake) = (self.store.clone(), self.bus.clone(), self.outbox_wake.clone());
        self.tasks.supervise("relay", move || relay::run(store.clone(), bus.clone(), wake.clone()))
    }

    /// Tells the relay there is something new in the outbox.
    pub fn wrote(&self) {
        self.outbox_wake.notify_one();
    }

    /// The current time (one place to swap in a simulated clock).
    pub fn now(&self) -> domain::Timestamp {
        chrono::Utc::now()
    }
}
