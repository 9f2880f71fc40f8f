//! The recommendation engine inside the service: one [`Engine`] behind an `ArcSwap` so a
//! reload builds a fresh engine from the store and swaps it in while requests keep reading
//! the old one; a follower task applies every bus event to it, so a committed write is
//! visible to the next recommendation within milliseconds, on every server sharing the bus.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use domain::DomainEvent;
use engine::{Engine, EngineBuilder, EngineSettings, MfModel};
use futures::StreamExt;
use store::DynStore;

use self::training::ModelFit;
use crate::{App, AppError, AppResult};

pub mod training;

/// Rows fetched per store scan page.
const PAGE: u32 = 5_000;
/// Log progress every this many rows.
const LOG_EVERY: usize = 100_000;

/// Engine settings the service needs: the engine's own, and where the learned model lives.
#[derive(Debug, Clone, Default)]
pub struct RecoSettings {
    pub engine: EngineSettings,
    /// The learned model file (`luna train` writes it); loaded at every reload if present.
    pub model_path: Option<PathBuf>,
    /// Train the model again (in the background) after every seed made through [`App::seed_demo`],
    /// as `luna serve --demo` does, so the demo's learned ranker knows the reseeded users.
    pub train_after_seed: bool,
}

/// The swappable engine, when the store scan behind it started, and the events that arrived
/// while a reload was scanning (replayed onto the new engine so none is lost).
pub struct EngineCell {
    engine: ArcSwap<Engine>,
    /// Milliseconds since the epoch at which the current engine's store scan began; a reload
    /// asked for by an older event (a seed the scan already saw) is skipped.
    scanned_from_ms: AtomicI64,
    /// The reset generation the current engine was loaded at (the trainings' count of resets
    /// heard, read before its scan began; see `Training::resets`).
    reset_generation: AtomicU64,
    /// When the running reload's scan began (`i64::MIN` when none runs): a seed older than that
    /// will be seen by it, so it asks for no second, concurrent reload.
    loading_from_ms: AtomicI64,
    pending: Mutex<Option<Vec<Pending>>>,
    /// What the current engine's scan read, and when it began (milliseconds): an event from
    /// before then that it read is not applied again (a catch-up after a lag, a relay's repeat).
    last_scan: Mutex<Option<(i64, Arc<Scanned>)>>,
    /// The outbox ids of the events applied lately: the relay's repeat of one (at-least-once) is
    /// not applied again, however new it is; and the ids of the interactions among them, so the
    /// follower's copy of one this server applied as it wrote it is not counted again. Kept
    /// across reloads (outbox and interaction ids are never reused).
    applied: Mutex<bus::Repeats>,
    /// Reloads run one at a time (each with its own replay buffer).
    reloads: tokio::sync::Mutex<()>,
    /// The follower's reload task is running; asked again meanwhile, it runs once more.
    follower_reloading: std::sync::atomic::AtomicBool,
    follower_reload_wanted: std::sync::atomic::AtomicBool,
    /// Reloads asked for, begun and ended, for [`EngineCell::reloads`].
    asked: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    failed: AtomicU64,
}

/// How many engine reloads were asked for, begun and ended since the engine cell was made. The
/// follower's are asked for as it takes the delivery that calls for one (a seed, a reset, a lag,
/// a gap of a channel it applies, its own restart), before it takes the next, so once it has
/// applied a later event a test knows whether an earlier delivery asked for a reload, however
/// slow the reload would be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineReloads {
    /// Asked for by the engine follower; those asked while one runs make one more run after it.
    pub asked: u64,
    /// Begun by [`App::reload_engine`] (the follower's, the server's first, a seed's).
    pub started: u64,
    /// Swapped a fresh engine in (counted in `luna_engine_reloads_total{outcome="finished"}`).
    pub finished: u64,
    /// Ended in an error, the engine before kept (`luna_engine_reloads_total{outcome="failed"}`).
    pub failed: u64,
}

/// What arrived while a reload was scanning, to replay onto the engine it builds (events are
/// by far the most of it: boxing them would cost an allocation each).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
enum Pending {
    Event(DomainEvent),
    Location(store::LiveLocation),
}

impl EngineCell {
    /// An empty engine with these settings, remembering the default number of applied events'
    /// outbox ids ([`bus::DEFAULT_REPEAT_WINDOW`]).
    pub fn empty(settings: &EngineSettings) -> Self {
        Self::new(settings, bus::DEFAULT_REPEAT_WINDOW)
    }

    /// An empty engine with these settings, remembering the outbox ids of the last
    /// `repeat_window` events applied.
    pub fn new(settings: &EngineSettings, repeat_window: usize) -> Self {
        let engine = ArcSwap::from_pointee(EngineBuilder::new(settings.clone()).build());
        Self {
            engine,
            scanned_from_ms: AtomicI64::new(i64::MIN),
            reset_generation: AtomicU64::new(0),
            loading_from_ms: AtomicI64::new(i64::MIN),
            pending: Mutex::new(None),
            last_scan: Mutex::new(None),
            applied: Mutex::new(bus::Repeats::new(repeat_window)),
            reloads: tokio::sync::Mutex::new(()),
            follower_reloading: std::sync::atomic::AtomicBool::new(false),
            follower_reload_wanted: std::sync::atomic::AtomicBool::new(false),
            asked: AtomicU64::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// The reloads asked for, begun and ended so far.
    pub fn reloads(&self) -> EngineReloads {
        EngineReloads {
            asked: self.asked.load(Ordering::SeqCst),
            started: self.started.load(Ordering::SeqCst),
            finished: self.finished.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
        }
    }

    /// The current engine (lock-free).
    pub fn load(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Applies an event published at `at` from outbox row `source_id` now, and keeps it for the
    /// engine a running reload is building. Skipped: a repeat of an event applied already (the
    /// same outbox id: the relay published its row again; or an interaction or a new booking
    /// applied already, as its writer applies it before the follower hears of it, see
    /// [`App::apply_written`]), and an event from before the current engine's scan began that
    /// the scan read (the engine has them already). Other events are upserts or deletions,
    /// which change nothing the second time.
    pub fn apply(&self, event: DomainEvent, at: domain::Timestamp, source_id: Option<domain::Id>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
            if !applied.first_time(source_id) {
                return;
            }
            // Applied already by the server that wrote it (not an upsert: applied twice, it
            // would count twice).
            let written = match &event {
                DomainEvent::InteractionRecorded(i) => Some(i.id),
                DomainEvent::BookingCreated(b) => Some(b.id),
                _ => None,
            };
            if written.is_some() && !applied.first_time(written) {
                return;
            }
        }
        let read = self
            .last_scan
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|(from_ms, scanned)| at.timestamp_millis() < *from_ms && !scanned.missed(&event));
        if read {
            return;
        }
        self.engine.load().apply(&event);
        if let Some(buf) = pending.as_mut() {
            buf.push(Pending::Event(event));
        }
    }

    /// Sets a live location now (the engine keeps the latest by time), and keeps it for the
    /// engine a running reload is building: its scan may have read the locations already.
    pub fn set_location(&self, l: store::LiveLocation) -> Result<(), engine::EngineError> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.engine.load().set_location(l.user_id, l.lat, l.lng, l.at)?;
        if let Some(buf) = pending.as_mut() {
            buf.push(Pending::Location(l));
        }
        Ok(())
    }

    fn begin_reload(&self, scanned_from: domain::Timestamp) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(Vec::new);
        self.loading_from_ms.fetch_max(scanned_from.timestamp_millis(), Ordering::SeqCst);
    }

    fn abort_reload(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.loading_from_ms.store(i64::MIN, Ordering::SeqCst);
    }

    /// Swaps in `engine`, built from a scan that began at `scanned_from` at reset generation
    /// `generation` (what it read is `scanned`), after replaying the events and locations it may
    /// have missed.
    fn finish_reload(&self, engine: Engine, scanned_from: domain::Timestamp, generation: u64, scanned: Scanned) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut replay: Vec<DomainEvent> = Vec::new();
        let mut locations = Vec::new();
        for p in pending.take().unwrap_or_default() {
            match p {
                Pending::Event(e) if scanned.missed(&e) => replay.push(e),
                Pending::Event(_) => {}
                Pending::Location(l) => locations.push(l),
            }
        }
        engine.apply_all(replay.iter());
        // After the events, which may create their users (one caught up from the store while the
        // scan ran); in any order, as the engine keeps the latest of each user's.
        for l in locations {
            let _ = engine.set_location(l.user_id, l.lat, l.lng, l.at);
        }
        self.engine.store(Arc::new(engine));
        // After the engine: one read before it may then be taken as older than it is (a
        // training on it discarded), never as newer.
        self.reset_generation.store(generation, Ordering::SeqCst);
        *self.last_scan.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((scanned_from.timestamp_millis(), Arc::new(scanned)));
        self.scanned_from_ms.fetch_max(scanned_from.timestamp_millis(), Ordering::SeqCst);
        let _ = self.loading_from_ms.compare_exchange(
            scanned_from.timestamp_millis(),
            i64::MIN,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// The reset generation the current engine was loaded at.
    pub(crate) fn reset_generation(&self) -> u64 {
        self.reset_generation.load(Ordering::SeqCst)
    }

    /// Whether the engine was built, or is being built, from a scan that began after `at`.
    fn covers(&self, at: domain::Timestamp) -> bool {
        let at = at.timestamp_millis();
        self.scanned_from_ms.load(Ordering::SeqCst) > at || self.loading_from_ms.load(Ordering::SeqCst) > at
    }
}

/// Where scanned rows go: an engine builder, or an evaluation data set.
pub trait RowSink {
    fn user(&mut self, u: &domain::User, p: Option<&domain::UserPreferences>);
    fn venue(&mut self, v: &domain::Venue);
    fn edge(&mut self, e: &domain::SocialEdge);
    fn interaction(&mut self, i: &domain::Interaction);
    fn interest(&mut self, i: &domain::VenueInterest);
    fn booking(&mut self, b: &domain::Booking);
    fn live_location(&mut self, l: &store::LiveLocation);
}

impl RowSink for EngineBuilder {
    fn user(&mut self, u: &domain::User, p: Option<&domain::UserPreferences>) {
        self.add_user(u, p);
    }
    fn venue(&mut self, v: &domain::Venue) {
        self.add_venue(v);
    }
    fn edge(&mut self, e: &domain::SocialEdge) {
        self.add_edge(e);
    }
    fn interaction(&mut self, i: &domain::Interaction) {
        self.add_interaction(i);
    }
    fn interest(&mut self, i: &domain::VenueInterest) {
        self.add_interest(i);
    }
    fn booking(&mut self, b: &domain::Booking) {
        self.add_booking(b);
    }
    fn live_location(&mut self, l: &store::LiveLocation) {
        self.set_location(l.user_id, l.lat, l.lng, l.at);
    }
}

impl RowSink for engine::eval::Dataset {
    fn user(&mut self, u: &domain::User, p: Option<&domain::UserPreferences>) {
        self.users.push(u.clone());
        if let Some(p) = p {
            self.preferences.push((u.id, p.clone()));
        }
    }
    fn venue(&mut self, v: &domain::Venue) {
        self.venues.push(v.clone());
    }
    fn edge(&mut self, e: &domain::SocialEdge) {
        self.edges.push(e.clone());
    }
    fn interaction(&mut self, i: &domain::Interaction) {
        self.interactions.push(i.clone());
    }
    fn interest(&mut self, i: &domain::VenueInterest) {
        self.interests.push(i.clone());
    }
    /// An evaluation judges rankings on the interaction log: bookings are not part of it.
    fn booking(&mut self, _: &domain::Booking) {}
    /// Nor are live locations (an evaluation asks from home).
    fn live_location(&mut self, _: &store::LiveLocation) {}
}

/// What a scan read that events arriving meanwhile may repeat.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    /// The last interaction id read (interactions are read in id order, ids are time-ordered).
    pub last_interaction: Option<uuid::Uuid>,
    /// The status of each booking read that changed since shortly before the scan began (a
    /// booking's id is made before its write commits, so id order cannot tell what was read).
    pub recent_bookings: engine::util::FastMap<uuid::Uuid, domain::BookingStatus>,
}

impl Scanned {
    /// How long before a scan began a booking change is remembered: beyond the time a booking
    /// takes from its id to its commit, and the clock skew between servers.
    pub const RECENT_MARGIN_SECS: i64 = 60;

    /// Whether an event that arrived while the scan ran is missing from what it read (so it must
    /// be applied to the engine built from it). Events other than interactions and bookings are
    /// upserts, safe to apply twice.
    pub fn missed(&self, e: &DomainEvent) -> bool {
        match e {
            DomainEvent::InteractionRecorded(i) => self.last_interaction.is_none_or(|last| i.id > last),
            DomainEvent::BookingCreated(b) => !self.recent_bookings.contains_key(&b.id),
            DomainEvent::BookingStatusChanged(b) if b.status == domain::BookingStatus::Completed => {
                self.recent_bookings.get(&b.id) != Some(&domain::BookingStatus::Completed)
            }
            _ => true,
        }
    }
}

/// Streams every user, venue, edge, interaction, expressed interest, booking (not cancelled) and
/// live location sent since `live_since` of the store into `sink`, page by page, logging
/// progress on big loads. Bookings changed since `recent_from` are remembered in the answer.
pub async fn scan_store(
    store: &DynStore,
    sink: &mut impl RowSink,
    live_since: domain::Timestamp,
    recent_from: domain::Timestamp,
) -> AppResult<Scanned> {
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_users(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.0.id);
        page.iter().for_each(|(u, p)| sink.user(u, p.as_ref()));
        n = progress("users", n, page.len());
    }
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_venues(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        page.iter().for_each(|v| sink.venue(v));
        n = progress("venues", n, page.len());
    }
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_edges(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.user_id, last.other_user_id));
        page.iter().for_each(|e| sink.edge(e));
        n = progress("edges", n, page.len());
    }
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_interactions(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        page.iter().for_each(|i| sink.interaction(i));
        n = progress("interactions", n, page.len());
    }
    let last_interaction = after;
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_live_locations(live_since, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.user_id);
        page.iter().for_each(|l| sink.live_location(l));
        n = progress("live locations", n, page.len());
    }
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_interests(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.user_id, last.venue_id));
        page.iter().for_each(|i| sink.interest(i));
        n = progress("interests", n, page.len());
    }
    let (mut n, mut after) = (0usize, None);
    let mut recent_bookings = engine::util::FastMap::default();
    loop {
        let page = store.scan_bookings(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for b in &page {
            sink.booking(b);
            if b.updated_at >= recent_from {
                recent_bookings.insert(b.id, b.status);
            }
        }
        n = progress("bookings", n, page.len());
    }
    Ok(Scanned { last_interaction, recent_bookings })
}

/// Builds an engine from every row of the store.
pub async fn build_from_store(store: &DynStore, settings: &EngineSettings) -> AppResult<Engine> {
    Ok(build_scanned(store, settings, chrono::Utc::now()).await?.0)
}

/// Builds an engine from every row of the store, scanned from `scanned_from` on; also returns
/// what the scan read that events arriving meanwhile may repeat.
async fn build_scanned(
    store: &DynStore,
    settings: &EngineSettings,
    scanned_from: domain::Timestamp,
) -> AppResult<(Engine, Scanned)> {
    let started = Instant::now();
    let mut b = EngineBuilder::new(settings.clone());
    // Older live locations are never fresh (the engine judges each again when it answers).
    let live_since = scanned_from - chrono::Duration::minutes(settings.candidates.live_location_fresh_minutes);
    let recent_from = scanned_from - chrono::Duration::seconds(Scanned::RECENT_MARGIN_SECS);
    let scanned = scan_store(store, &mut b, live_since, recent_from).await?;
    let engine = tokio::task::spawn_blocking(move || b.build())
        .await
        .map_err(|e| AppError::Internal(format!("engine build: {e}")))?;
    let stats = engine.stats();
    let memory = engine.memory().to_string();
    tracing::info!(?stats, %memory, elapsed_ms = started.elapsed().as_millis() as u64, "recommendation engine built");
    Ok((engine, scanned))
}

/// What to tell an operator whose model knows none of the users or none of the venues the engine
/// holds (trained on other data, or before a reset or reseed): the learned signals then add
/// nothing, and the `learned` ranker ranks by popularity alone.
pub fn model_mismatch(fit: &ModelFit) -> Option<String> {
    let none_of =
        |known: usize, held: usize, what: &str| (known == 0 && held > 0).then(|| format!("none of the {held} {what}"));
    let missing: Vec<String> =
        [none_of(fit.users_known, fit.users_held, "users"), none_of(fit.venues_known, fit.venues_held, "venues")]
            .into_iter()
            .flatten()
            .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the learned model knows {} held here: it was trained on other data (or before a reset or reseed), so its signals add nothing and the learned ranker ranks by popularity; train it again on this data (the dashboard's Train the model, POST /api/v1/admin/model/train, or `luna train`)",
            missing.join(" and ")
        )
    })
}

fn progress(what: &str, before: usize, added: usize) -> usize {
    let now = before + added;
    if now / LOG_EVERY > before / LOG_EVERY {
        tracing::info!(rows = now, "loading engine: {what}");
    }
    now
}

impl App {
    /// Rebuilds the engine from the store (and the model file, if any) and swaps it in.
    /// Forgets which live locations this server wrote: a reload follows a reset or a seed,
    /// which may have emptied them (and a reseed brings the same user ids back).
    pub async fn reload_engine(&self) -> AppResult<()> {
        let _one_at_a_time = self.engine.reloads.lock().await;
        self.engine.started.fetch_add(1, Ordering::SeqCst);
        let outcome = self.rebuild_engine().await;
        let (counter, name) = match outcome {
            Ok(()) => (&self.engine.finished, "finished"),
            Err(_) => (&self.engine.failed, "failed"),
        };
        counter.fetch_add(1, Ordering::SeqCst);
        metrics::counter!("luna_engine_reloads_total", "outcome" => name).increment(1);
        outcome
    }

    /// The body of [`App::reload_engine`], under its lock.
    async fn rebuild_engine(&self) -> AppResult<()> {
        self.location_writes.clear();
        // Before the scan: a reset counted after this may have come before the scan read
        // anything, so the engine is taken as of the generation before it (conservative).
        let generation = self.training.reset_generation();
        let scanned_from = chrono::Utc::now();
        self.engine.begin_reload(scanned_from);
        let (engine, scanned) = match build_scanned(&self.store, &self.settings.reco.engine, scanned_from).await {
            Ok(built) => built,
            Err(e) => {
                self.engine.abort_reload();
                return Err(e);
            }
        };
        // Reading the model file and mapping it (with its item neighbours) takes seconds at a
        // million users: off the async workers.
        // When the file read had been written (read before it, so a file replaced meanwhile
        // shows as newer than the one loaded, never the other way round).
        let mut loaded_file = None;
        let engine = match self.settings.reco.model_path.clone().filter(|p| p.exists()) {
            Some(path) => {
                loaded_file = training::modified(&path);
                let loading = tokio::task::spawn_blocking(move || {
                    match MfModel::load(&path) {
                        Ok(m) => {
                            engine.set_model(&m);
                            let memory = engine.memory().to_string();
                            let fit = training::fit_of(&engine);
                            let (users_known, venues_known) = (fit.users_known, fit.venues_known);
                            tracing::info!(path = %path.display(), users = m.users.len(), users_known, venues_known, %memory, "learned model loaded");
                            if let Some(warning) = model_mismatch(&fit) {
                                tracing::warn!(path = %path.display(), "{warning}");
                            }
                        }
                        Err(e) => tracing::warn!(path = %path.display(), error = %e, "model file not loaded"),
                    }
                    engine
                });
                match loading.await {
                    Ok(engine) => engine,
                    Err(e) => {
                        self.engine.abort_reload();
                        return Err(AppError::Internal(format!("loading the learned model: {e}")));
                    }
                }
            }
            None => engine,
        };
        self.engine.finish_reload(engine, scanned_from, generation, scanned);
        *self.training.loaded_file.lock().unwrap_or_else(|e| e.into_inner()) = loaded_file;
        Ok(())
    }

    /// The engine requests read now.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load()
    }
}

/// Follows every bus channel: applies each domain event to the engine, and reloads it from the
/// store after a seed, a reset, or a gap in delivery (the supervised task `engine_follower`).
pub fn spawn_follower(app: App) -> tokio::task::JoinHandle<()> {
    let tasks = app.tasks.clone();
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    tasks.supervise("engine_follower", move || follow(app.clone(), started.swap(true, Ordering::SeqCst)))
}

/// The follower's loop. A follower `restarted` after a failure missed what was published while
/// it was down: once subscribed again, it reloads the engine, as after a lag.
async fn follow(app: App, restarted: bool) {
    let mut reload = restarted;
    loop {
        let mut sub = match app.bus.subscribe(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "engine follower cannot subscribe; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if std::mem::take(&mut reload) {
            tracing::warn!("engine follower restarted; reloading");
            app.training.resets_maybe_missed();
            reload_in_background(&app);
        }
        while let Some(d) = sub.next().await {
            match d {
                bus::Delivery::Event(e) => follow_event(&app, &e).await,
                bus::Delivery::Lagged { missed } => {
                    tracing::warn!(missed, "engine follower lagged; reloading");
                    app.training.resets_maybe_missed();
                    reload_in_background(&app);
                }
                bus::Delivery::Gap { channel, missed } if applies(channel) => {
                    tracing::warn!(
                        channel = channel.as_str(),
                        missed,
                        "the bus missed events the engine applies; reloading"
                    );
                    if channel == domain::Channel::System {
                        app.training.resets_maybe_missed();
                    }
                    reload_in_background(&app);
                }
                // Nothing the engine learns from (metrics, simulation, recommendations).
                bus::Delivery::Gap { .. } => {}
            }
        }
    }
}

/// Whether the follower applies events of `channel`: the domain events' channels, and that of
/// live locations.
fn applies(channel: domain::Channel) -> bool {
    DomainEvent::CHANNELS.contains(&channel) || channel == crate::reco_service::LOCATION_CHANNEL
}

async fn follow_event(app: &App, e: &domain::Event) {
    if e.event_type == crate::reco_service::LOCATION_EVENT {
        crate::reco_service::apply_location(app, &e.data);
        return;
    }
    if e.channel == domain::Channel::System && e.event_type == training::MODEL_TRAINED {
        load_model_in_background(app);
        return;
    }
    if DomainEvent::CHANNELS.contains(&e.channel) {
        follow_domain_event(app, e).await;
    }
}

async fn follow_domain_event(app: &App, e: &domain::Event) {
    let event = DomainEvent::from_parts(&e.event_type, &e.data);
    if let Ok(DomainEvent::DataReset) = event {
        // A reset made by another process stops this server's simulation (see `sim::control`).
        // No receiver (no simulation running) is no error.
        let _ = app.data_resets.send(e.timestamp.timestamp_millis());
        // Another server's: a training on the data before is discarded as it ends, and the
        // engine reloads whatever its scan's time says (another server's clock tells nothing
        // of when this server's scan began). This server's own was counted as it committed.
        if app.training.reset_heard() {
            reload_in_background(app);
            return;
        }
    }
    if let Ok(DomainEvent::UserDeleted { user_id }) = event {
        // A user deleted by another server leaves this server's simulation.
        let _ = app.user_deletions.send(user_id);
    }
    match event {
        Ok(DomainEvent::DataSeeded { .. } | DomainEvent::DataReset) if !app.engine.covers(e.timestamp) => {
            reload_in_background(app)
        }
        Ok(DomainEvent::DataSeeded { .. } | DomainEvent::DataReset) => {}
        Ok(ev) => app.engine.apply(ev, e.timestamp, e.source_id),
        Err(_) => {} // not a domain event (metrics, simulation, recommendations)
    }
}

/// Reloads the engine off the follower, which keeps applying events meanwhile: the reload
/// replays those its scan missed and the engine skips those it read, so a burst that made the
/// follower lag (and the catch-up that follows) is neither lost nor counted twice, and a long
/// reload does not make the follower lag again. One at a time: asked again while it runs, it
/// runs once more after.
pub(crate) fn reload_in_background(app: &App) {
    let cell = &app.engine;
    cell.asked.fetch_add(1, Ordering::SeqCst);
    cell.follower_reload_wanted.store(true, Ordering::SeqCst);
    if cell.follower_reloading.swap(true, Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let cell = &app.engine;
        loop {
            while cell.follower_reload_wanted.swap(false, Ordering::SeqCst) {
                reload_logged(&app).await;
            }
            cell.follower_reloading.store(false, Ordering::SeqCst);
            // Asked between the last look and now, with nobody left to run it: run it here.
            if !cell.follower_reload_wanted.load(Ordering::SeqCst)
                || cell.follower_reloading.swap(true, Ordering::SeqCst)
            {
                break;
            }
        }
    });
}

/// A server trained the model (this one, or another sharing the model file): loads the file
/// if it changed since this server loaded it, off the follower (it waits for a running reload).
fn load_model_in_background(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.load_model_if_changed().await {
            tracing::warn!(error = %e, "the model file another server trained was not loaded");
        }
    });
}

async fn reload_logged(app: &App) {
    if let Err(e) = app.reload_engine().await {
        tracing::error!(error = %e, "engine reload failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower started again by its supervisor reloads the engine (it missed what was
    /// published while it was down); a first start leaves that to the server's own load. Counted
    /// once the follower has applied an event, so after it chose, however slow a reload would be
    /// (it watched for a reload for 300 ms).
    #[tokio::test]
    async fn a_restarted_follower_reloads_the_engine_and_a_first_one_does_not() {
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        for restarted in [false, true] {
            let store = store::connect("sqlite::memory:").await.unwrap();
            let app = App::new(store, crate::AppSettings::default());
            let follower = tokio::spawn(follow(app.clone(), restarted));
            applied_one(&app).await;
            let asked = app.engine.reloads().asked;
            assert_eq!(asked, u64::from(restarted), "restarted: {restarted}");
            let deadline = Instant::now() + std::time::Duration::from_secs(10);
            while app.engine.reloads().finished < asked {
                assert!(Instant::now() < deadline, "the reload never finished");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            follower.abort();
            let started = u64::from(restarted);
            assert_eq!(app.engine.reloads(), EngineReloads { asked, started, finished: started, failed: 0 });
            assert_eq!(app.engine.covers(before), restarted, "restarted: {restarted}");
        }
    }

    /// Publishes a new user until the follower applies one: it has subscribed, and done what it
    /// does first.
    async fn applied_one(app: &App) {
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (user, _, _) = walker_and_two_bars();
            let (event_type, data) = DomainEvent::UserCreated(user.clone()).into_parts();
            let publish = bus::Publish {
                channel: domain::Channel::UserActions,
                event_type,
                data,
                timestamp: chrono::Utc::now(),
                source_id: None,
            };
            app.bus.publish(publish).await.expect("published");
            for _ in 0..20 {
                if app.engine().has_user(user.id) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(Instant::now() < deadline, "the follower never applied an event");
        }
    }

    #[test]
    fn a_running_reload_covers_older_seeds_so_none_starts_a_second_one() {
        let cell = EngineCell::empty(&EngineSettings::default());
        let t0 = chrono::Utc::now();
        let t1 = t0 + chrono::Duration::seconds(1);
        let t2 = t1 + chrono::Duration::seconds(1);
        assert!(!cell.covers(t0), "an empty engine covers nothing");
        cell.begin_reload(t1);
        assert!(cell.covers(t0), "the running scan began after this seed");
        assert!(!cell.covers(t2), "a seed after the scan began needs another reload");
        cell.abort_reload();
        assert!(!cell.covers(t0), "an aborted scan covers nothing");
        cell.begin_reload(t1);
        cell.finish_reload(EngineBuilder::new(EngineSettings::default()).build(), t1, 0, Scanned::default());
        assert!(cell.covers(t0) && !cell.covers(t2));
    }

    fn booking(status: domain::BookingStatus) -> domain::Booking {
        let now = chrono::Utc::now();
        domain::Booking {
            id: domain::new_id(),
            user_id: Some(domain::new_id()),
            venue_id: domain::new_id(),
            plan_id: None,
            booking_time: now,
            party_size: 2,
            duration_minutes: 120,
            status,
            confirmation_code: "LUNA-7K3QX9".into(),
            provider: "house".into(),
            agent: "booking_agent".into(),
            group_members: Vec::new(),
            special_requests: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_reload_replays_exactly_the_booking_events_its_scan_did_not_read() {
        use domain::BookingStatus::{Completed, Confirmed};
        let (read, read_done, unread) = (booking(Confirmed), booking(Completed), booking(Confirmed));
        let mut scanned = Scanned::default();
        scanned.recent_bookings.insert(read.id, Confirmed);
        scanned.recent_bookings.insert(read_done.id, Completed);
        // Created while the scan ran: read already, or not (whatever its id's order).
        assert!(!scanned.missed(&DomainEvent::BookingCreated(read.clone())));
        assert!(scanned.missed(&DomainEvent::BookingCreated(unread.clone())));
        // Completed while the scan ran: read as completed, or read before it was.
        let done =
            |b: &domain::Booking| DomainEvent::BookingStatusChanged(domain::Booking { status: Completed, ..b.clone() });
        assert!(!scanned.missed(&done(&read_done)));
        assert!(scanned.missed(&done(&read)));
        assert!(scanned.missed(&done(&unread)));
    }

    /// A user with no home, and two bars: one in Midtown, one far south.
    fn walker_and_two_bars() -> (domain::User, domain::Venue, domain::Venue) {
        let user = domain::User {
            id: domain::new_id(),
            handle: "walker".into(),
            name: "Walker".into(),
            email: None,
            age: None,
            avatar_url: None,
            home_lat: None,
            home_lng: None,
            city: None,
            persona: None,
            activity_score: 0.0,
            social_score: 0.0,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let venue = |name: &str, lat: f64| domain::Venue {
            id: domain::new_id(),
            name: name.into(),
            description: None,
            category: domain::Category::Bar,
            cuisine: None,
            address: None,
            city: None,
            lat,
            lng: -73.98,
            price_level: Some(2),
            rating: None,
            capacity: 40,
            tags: Vec::new(),
            opening_hours: None,
            timezone: "America/New_York".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        (user, venue("Midtown", 40.75), venue("South", 40.0))
    }

    /// A model trained on another data set knows none of the users and venues held: the operator
    /// is told; one trained here is not warned about.
    #[test]
    fn a_model_that_knows_none_of_the_users_or_venues_held_is_told() {
        let (user, midtown, south) = walker_and_two_bars();
        let engine = two_bars(&user, [&midtown, &south], true);
        let model = |users: Vec<uuid::Uuid>, venues: Vec<uuid::Uuid>| MfModel {
            factors: 1,
            user_vecs: vec![0.1; users.len()],
            venue_vecs: vec![0.1; venues.len()],
            venue_bias: vec![0.0; venues.len()],
            users,
            venues,
        };
        let fit_of = |m: &MfModel| {
            engine.set_model(m);
            training::fit_of(&engine)
        };
        let other = model(vec![domain::new_id()], vec![domain::new_id(), domain::new_id()]);
        let fit = fit_of(&other);
        assert_eq!((fit.users_known, fit.venues_known), (0, 0));
        let told = model_mismatch(&fit).expect("a warning");
        assert!(told.contains("none of the 1 users and none of the 2 venues"), "{told}");
        let here = model(vec![user.id], vec![midtown.id, south.id]);
        let fit = fit_of(&here);
        assert_eq!((fit.users_known, fit.venues_known), (1, 2));
        assert_eq!(model_mismatch(&fit), None);
        // One that knows the venues but none of the users (all new since it was trained, as after
        // a reseed): told about the users only.
        let venues_only = model(vec![domain::new_id()], vec![midtown.id]);
        let told = model_mismatch(&fit_of(&venues_only)).expect("a warning");
        assert!(told.contains("none of the 1 users held") && !told.contains("venues"), "{told}");
    }

    /// An engine of the two bars, with the user when `with_user`.
    fn two_bars(user: &domain::User, bars: [&domain::Venue; 2], with_user: bool) -> Engine {
        let mut b = EngineBuilder::new(EngineSettings::default());
        if with_user {
            b.add_user(user, None);
        }
        bars.into_iter().for_each(|v| b.add_venue(v));
        b.build()
    }

    /// The names of the seed2 venues within 1 km of where `user` is at `at`.
    fn near(cell: &EngineCell, user: &domain::User, at: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        let mut q = engine::VenueQuery::new(user.id, 10, engine::Ranker::Seed2);
        q.now = Some(at);
        q.radius_km = Some(1.0);
        let recs = cell.load().recommend_venues(&q).expect("a location to measure from reached the new engine");
        recs.into_iter().map(|r| r.venue_name).collect()
    }

    #[test]
    fn a_location_sent_while_a_reload_scans_reaches_the_engine_it_builds() {
        let (user, midtown, south) = walker_and_two_bars();
        let built = || two_bars(&user, [&midtown, &south], true);
        let cell = EngineCell::empty(&EngineSettings::default());
        cell.engine.store(Arc::new(built()));
        let t1 = chrono::Utc::now();
        cell.begin_reload(t1);
        let at = chrono::Utc::now();
        let later = store::LiveLocation { user_id: user.id, lat: 40.75, lng: -73.98, at };
        let earlier = store::LiveLocation { lat: 40.0, at: at - chrono::Duration::seconds(30), ..later };
        cell.set_location(later).unwrap();
        // An older location delivered late changes nothing, on either engine.
        cell.set_location(earlier).unwrap();
        cell.finish_reload(built(), t1, 0, Scanned::default());
        assert_eq!(near(&cell, &user, at), ["Midtown"], "measured from the latest location");
    }

    #[test]
    fn a_location_of_a_user_created_while_a_reload_scans_reaches_the_engine_it_builds() {
        // The scan missed the user; the running engine learnt of them (caught up from the store),
        // then of their location, and the follower's creation event came after.
        let (user, midtown, south) = walker_and_two_bars();
        let cell = EngineCell::empty(&EngineSettings::default());
        cell.engine.store(Arc::new(two_bars(&user, [&midtown, &south], true)));
        let t1 = chrono::Utc::now();
        cell.begin_reload(t1);
        let at = chrono::Utc::now();
        cell.set_location(store::LiveLocation { user_id: user.id, lat: 40.75, lng: -73.98, at }).unwrap();
        cell.apply(DomainEvent::UserCreated(user.clone()), at, None);
        cell.finish_reload(two_bars(&user, [&midtown, &south], false), t1, 0, Scanned::default());
        assert_eq!(near(&cell, &user, at), ["Midtown"], "the location outlived the user's late creation");
    }

    /// Seed2's preference and popularity parts of `venue`'s score for `user`, measured from the
    /// south bar: 0.4 * min(1, their likes * 0.5) and 0.2 * its likes / the most likes of any venue.
    fn seed2_parts(cell: &EngineCell, user: &domain::User, venue: &domain::Venue) -> (f64, f64) {
        let mut q = engine::VenueQuery::new(user.id, 10, engine::Ranker::Seed2);
        q.point = Some(domain::LatLng { lat: 40.0, lng: -73.98 });
        let recs = cell.load().recommend_venues(&q).unwrap();
        let rec = recs.into_iter().find(|r| r.venue_id == venue.id).expect("the venue is ranked");
        let part = |code: &str| rec.reasons.iter().find(|r| r.code == code).map_or(0.0, |r| r.contribution);
        (part("preference"), part("popularity"))
    }

    /// `event` as the bus delivers it: bus id `id`, from outbox row `source_id`.
    /// A like of `venue` by `user` at `at`.
    fn like_at(user: &domain::User, venue: &domain::Venue, at: chrono::DateTime<chrono::Utc>) -> domain::Interaction {
        domain::Interaction {
            id: domain::new_id(),
            user_id: user.id,
            venue_id: venue.id,
            interaction_type: domain::InteractionType::Like,
            dwell_time_seconds: 0,
            time_of_day: domain::TimeOfDay::Evening,
            occurred_at: at,
        }
    }

    fn delivered(event: &DomainEvent, id: &str, source_id: domain::Id) -> domain::Event {
        let (event_type, data) = event.into_parts();
        let timestamp = chrono::Utc::now();
        domain::Event {
            id: id.into(),
            source_id: Some(source_id),
            channel: event.channel(),
            event_type,
            timestamp,
            data,
        }
    }

    /// Before, a like the relay published twice (its outbox row's mark as published failed) was
    /// applied twice by the follower: two likes in the venue's popularity and the user's history.
    #[tokio::test]
    async fn the_follower_applies_an_outbox_event_delivered_twice_once_and_every_other_event() {
        let (user, midtown, south) = walker_and_two_bars();
        let app = App::new(store::connect("sqlite::memory:").await.unwrap(), crate::AppSettings::default());
        app.engine.engine.store(Arc::new(two_bars(&user, [&midtown, &south], true)));
        let like = |venue: &domain::Venue| DomainEvent::InteractionRecorded(like_at(&user, venue, chrono::Utc::now()));
        follow_event(&app, &delivered(&like(&south), "1-0", domain::new_id())).await;
        let (liked, row) = (like(&midtown), domain::new_id());
        follow_event(&app, &delivered(&liked, "2-0", row)).await;
        // The relay's repeat: the same outbox row under a new bus id.
        follow_event(&app, &delivered(&liked, "3-0", row)).await;
        let (preference, _) = seed2_parts(&app.engine, &user, &midtown);
        assert!((preference - 0.2).abs() < 1e-12, "one like of Midtown in the user's history: {preference}");
        let (_, popularity) = seed2_parts(&app.engine, &user, &south);
        assert!((popularity - 0.2).abs() < 1e-12, "Midtown has 1 like, as South: {popularity}");
        // Another like of Midtown (another outbox row) is no repeat.
        follow_event(&app, &delivered(&like(&midtown), "4-0", domain::new_id())).await;
        let (preference, _) = seed2_parts(&app.engine, &user, &midtown);
        assert!((preference - 0.4).abs() < 1e-12, "two likes of Midtown: {preference}");
        let (_, popularity) = seed2_parts(&app.engine, &user, &south);
        assert!((popularity - 0.1).abs() < 1e-12, "Midtown has 2 likes to South's 1: {popularity}");
    }

    #[test]
    fn an_event_the_engine_was_built_with_is_not_counted_again_and_a_newer_one_is() {
        // The user liked Midtown once; an engine was built from a scan that read that like.
        let (user, midtown, south) = walker_and_two_bars();
        let like = |venue: &domain::Venue, at: chrono::DateTime<chrono::Utc>| like_at(&user, venue, at);
        let before = chrono::Utc::now() - chrono::Duration::seconds(5);
        let read = like(&midtown, before);
        let mut b = EngineBuilder::new(EngineSettings::default());
        b.add_user(&user, None);
        [&midtown, &south].into_iter().for_each(|v| b.add_venue(v));
        b.add_interaction(&read);
        let cell = EngineCell::empty(&EngineSettings::default());
        let t1 = chrono::Utc::now();
        cell.begin_reload(t1);
        cell.finish_reload(b.build(), t1, 0, Scanned { last_interaction: Some(read.id), ..Scanned::default() });
        // Seed2's popularity part of South: 0.2 * its likes / the most likes of any venue.
        let south_popularity = |cell: &EngineCell| {
            let mut q = engine::VenueQuery::new(user.id, 10, engine::Ranker::Seed2);
            q.point = Some(domain::LatLng { lat: 40.0, lng: -73.98 });
            let recs = cell.load().recommend_venues(&q).unwrap();
            recs.into_iter().find(|r| r.venue_id == south.id).unwrap().reasons[2].contribution
        };
        // South gets a like of its own: 1 of a most of 1.
        cell.apply(DomainEvent::InteractionRecorded(like(&south, chrono::Utc::now())), chrono::Utc::now(), None);
        assert!((south_popularity(&cell) - 0.2).abs() < 1e-12);
        // The like the scan read comes again (a catch-up after a lag, a relay's repeat): skipped,
        // or Midtown would have 2 and South's part would halve.
        cell.apply(DomainEvent::InteractionRecorded(read.clone()), before, None);
        assert!((south_popularity(&cell) - 0.2).abs() < 1e-12, "counted twice: {}", south_popularity(&cell));
        // A new like of Midtown, after the scan, counts.
        cell.apply(DomainEvent::InteractionRecorded(like(&midtown, chrono::Utc::now())), chrono::Utc::now(), None);
        assert!((south_popularity(&cell) - 0.1).abs() < 1e-12, "{}", south_popularity(&cell));
    }
}
