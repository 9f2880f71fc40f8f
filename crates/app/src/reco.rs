//! The recommendation engine inside the service: one [`Engine`] behind an `ArcSwap` so a
//! reload builds a fresh engine from the store and swaps it in while requests keep reading
//! the old one; a follower task applies every bus event to it, so a committed write is
//! visible to the next recommendation within milliseconds, on every server sharing the bus.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use domain::DomainEvent;
use engine::{Engine, EngineBuilder, EngineSettings, MfModel};
use futures::StreamExt;
use store::DynStore;

use crate::{App, AppError, AppResult};

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
}

/// The swappable engine, when the store scan behind it started, and the events that arrived
/// while a reload was scanning (replayed onto the new engine so none is lost).
pub struct EngineCell {
    engine: ArcSwap<Engine>,
    /// Milliseconds since the epoch at which the current engine's store scan began; a reload
    /// asked for by an older event (a seed the scan already saw) is skipped.
    scanned_from_ms: AtomicI64,
    /// When the running reload's scan began (`i64::MIN` when none runs): a seed older than that
    /// will be seen by it, so it asks for no second, concurrent reload.
    loading_from_ms: AtomicI64,
    pending: Mutex<Option<Vec<DomainEvent>>>,
}

impl EngineCell {
    /// An empty engine with these settings.
    pub fn empty(settings: &EngineSettings) -> Self {
        let engine = ArcSwap::from_pointee(EngineBuilder::new(settings.clone()).build());
        Self {
            engine,
            scanned_from_ms: AtomicI64::new(i64::MIN),
            loading_from_ms: AtomicI64::new(i64::MIN),
            pending: Mutex::new(None),
        }
    }

    /// The current engine (lock-free).
    pub fn load(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Applies an event now, and keeps it for the engine a running reload is building.
    pub fn apply(&self, event: DomainEvent) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.engine.load().apply(&event);
        if let Some(buf) = pending.as_mut() {
            buf.push(event);
        }
    }

    fn begin_reload(&self, scanned_from: domain::Timestamp) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(Vec::new);
        self.loading_from_ms.fetch_max(scanned_from.timestamp_millis(), Ordering::SeqCst);
    }

    fn abort_reload(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.loading_from_ms.store(i64::MIN, Ordering::SeqCst);
    }

    /// Swaps in `engine`, built from a scan that began at `scanned_from` and read interactions
    /// and bookings up to `scanned`'s last ids, after replaying the events it may have missed.
    fn finish_reload(&self, engine: Engine, scanned_from: domain::Timestamp, scanned: Scanned) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Interaction and booking ids are time-ordered and the scan reads them in id order: later
        // ones were not seen. Other events are upserts, safe to apply twice (a booking's
        // completion read by the scan and replayed counts its visit twice).
        let replay: Vec<_> = pending
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| match e {
                DomainEvent::InteractionRecorded(i) => scanned.last_interaction.is_none_or(|last| i.id > last),
                DomainEvent::BookingCreated(b) => scanned.last_booking.is_none_or(|last| b.id > last),
                _ => true,
            })
            .collect();
        engine.apply_all(replay.iter());
        self.engine.store(Arc::new(engine));
        self.scanned_from_ms.fetch_max(scanned_from.timestamp_millis(), Ordering::SeqCst);
        let _ = self.loading_from_ms.compare_exchange(
            scanned_from.timestamp_millis(),
            i64::MIN,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
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

/// The last ids a scan read of the time-ordered rows (interactions, bookings).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scanned {
    pub last_interaction: Option<uuid::Uuid>,
    pub last_booking: Option<uuid::Uuid>,
}

/// How far back live locations are read at start-up: older ones are never fresh (the engine
/// checks each against `candidates.live_location_fresh_minutes` when it answers).
const LIVE_LOCATIONS_SINCE_HOURS: i64 = 24;

/// Streams every user, venue, edge, interaction, expressed interest and booking of the store,
/// and the live locations of the last day, into `sink`, page by page, logging progress on big
/// loads.
pub async fn scan_store(store: &DynStore, sink: &mut impl RowSink) -> AppResult<Scanned> {
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
    let since = chrono::Utc::now() - chrono::Duration::hours(LIVE_LOCATIONS_SINCE_HOURS);
    let (mut n, mut after) = (0usize, None);
    loop {
        let page = store.scan_live_locations(since, after, PAGE).await?;
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
    loop {
        let page = store.scan_bookings(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        page.iter().for_each(|b| sink.booking(b));
        n = progress("bookings", n, page.len());
    }
    Ok(Scanned { last_interaction, last_booking: after })
}

/// Builds an engine from every row of the store.
pub async fn build_from_store(store: &DynStore, settings: &EngineSettings) -> AppResult<Engine> {
    Ok(build_scanned(store, settings).await?.0)
}

/// Builds an engine from every row of the store; also returns the last ids read.
async fn build_scanned(store: &DynStore, settings: &EngineSettings) -> AppResult<(Engine, Scanned)> {
    let started = Instant::now();
    let mut b = EngineBuilder::new(settings.clone());
    let scanned = scan_store(store, &mut b).await?;
    let engine = tokio::task::spawn_blocking(move || b.build())
        .await
        .map_err(|e| AppError::Internal(format!("engine build: {e}")))?;
    let stats = engine.stats();
    tracing::info!(?stats, elapsed_ms = started.elapsed().as_millis() as u64, "recommendation engine built");
    Ok((engine, scanned))
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
    pub async fn reload_engine(&self) -> AppResult<()> {
        let scanned_from = chrono::Utc::now();
        self.engine.begin_reload(scanned_from);
        let (engine, scanned) = match build_scanned(&self.store, &self.settings.reco.engine).await {
            Ok(built) => built,
            Err(e) => {
                self.engine.abort_reload();
                return Err(e);
            }
        };
        // Reading the model file and mapping it (with its item neighbours) takes seconds at a
        // million users: off the async workers.
        let engine = match self.settings.reco.model_path.clone().filter(|p| p.exists()) {
            Some(path) => {
                let loading = tokio::task::spawn_blocking(move || {
                    match MfModel::load(&path) {
                        Ok(m) => {
                            engine.set_model(&m);
                            tracing::info!(path = %path.display(), users = m.users.len(), "learned model loaded");
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
        self.engine.finish_reload(engine, scanned_from, scanned);
        Ok(())
    }

    /// The engine requests read now.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load()
    }
}

/// Follows every bus channel: applies each domain event to the engine, and reloads it from the
/// store after a seed, a reset, or a gap in delivery.
pub fn spawn_follower(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let mut sub = match app.bus.subscribe(None).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "engine follower cannot subscribe; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(d) = sub.next().await {
                match d {
                    bus::Delivery::Event(e) => follow_event(&app, &e).await,
                    bus::Delivery::Lagged { missed } => {
                        tracing::warn!(missed, "engine follower lagged; reloading");
                        reload_logged(&app).await;
                    }
                }
            }
        }
    })
}

async fn follow_event(app: &App, e: &domain::Event) {
    if e.event_type == crate::reco_service::LOCATION_EVENT {
        crate::reco_service::apply_location(app, &e.data);
        return;
    }
    if DomainEvent::CHANNELS.contains(&e.channel) {
        follow_domain_event(app, &e.event_type, e.timestamp, &e.data).await;
    }
}

async fn follow_domain_event(app: &App, event_type: &str, at: domain::Timestamp, data: &domain::Payload) {
    match DomainEvent::from_parts(event_type, data) {
        Ok(DomainEvent::DataSeeded { .. } | DomainEvent::DataReset) if !app.engine.covers(at) => {
            reload_logged(app).await
        }
        Ok(DomainEvent::DataSeeded { .. } | DomainEvent::DataReset) => {}
        Ok(ev) => app.engine.apply(ev),
        Err(_) => {} // not a domain event (metrics, simulation, recommendations)
    }
}

async fn reload_logged(app: &App) {
    if let Err(e) = app.reload_engine().await {
        tracing::error!(error = %e, "engine reload failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        cell.finish_reload(EngineBuilder::new(EngineSettings::default()).build(), t1, Scanned::default());
        assert!(cell.covers(t0) && !cell.covers(t2));
    }
}
