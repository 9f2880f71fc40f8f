//! Seeding: generates a city with `synth` and writes it through the store's batch path.
//! Generation runs on a blocking thread and hands batches over a small channel, so generating
//! the next chunk overlaps writing the previous one. A seeded database is left alone unless
//! `force`, which resets it first. One `data.seeded` event summarises the run. Confirmed plans
//! get their bookings, within capacity (`seed_bookings`).
//!
//! The generated history ends at the run's anchor: `as_of` when pinned, else the current hour
//! ([`current_anchor`]), so a city seeded today is alive today (recent activity, plans and
//! bookings ahead). Everything dated in the city (interactions, venue openings, friendships,
//! interests, plans and their bookings) is placed relative to it: same seed and anchor, same
//! data.

use std::time::Instant;

use chrono::{Datelike, DurationRound};
use domain::{DomainEvent, LatLng, Timestamp};
use serde::Serialize;
use store::Batch;

use crate::{App, AppError, AppResult};

/// Users per generated chunk, written in one store transaction. Fewer commits rewrite the
/// pages of the random-key indexes (users, venue interests) fewer times: a 1M-user seed took
/// 8 min 54 s in 5k-user chunks and 7 min 00 s in 50k ones (before the faster index rebuild);
/// 100k ones were no faster.
const CHUNK_USERS: usize = 50_000;
/// Venues per batch.
const CHUNK_VENUES: usize = 10_000;
/// From this many users on, seeding uses the store's bulk-load mode.
const BULK_LOAD_USERS: usize = 20_000;

/// What city to seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedOptions {
    pub users: usize,
    pub venues: usize,
    pub seed: u64,
    pub city: String,
    pub center_lat: f64,
    pub center_lng: f64,
    pub radius_km: f64,
    /// End of the generated history: interactions lie before it, interests and plans after.
    /// `None` takes the hour of seeding ([`current_anchor`]); pin it to reproduce a city.
    pub as_of: Option<Timestamp>,
    /// Reset a database that has data, then seed.
    pub force: bool,
}

impl SeedOptions {
    /// Checks the options as seeding at `now` would (the centre, the sizes, the anchor), so a
    /// caller can refuse them before doing anything else (such as stopping a simulation).
    pub fn check(&self, now: Timestamp) -> AppResult<()> {
        city_config(self, now).map(|_| ())
    }
}

impl Default for SeedOptions {
    /// The demo city: 300 users and 150 venues in New York, seed 42.
    fn default() -> Self {
        Self {
            users: 300,
            venues: 150,
            seed: 42,
            city: "New York".into(),
            center_lat: 40.7306,
            center_lng: -73.9352,
            radius_km: 12.0,
            as_of: None,
            force: false,
        }
    }
}

/// The first year a seed's anchor may lie in (it may not lie after the time of seeding), and
/// a simulation's start (`sim::RunOptions::validate`).
pub const FIRST_ANCHOR_YEAR: i32 = 2000;

/// The anchor of a seed made at `now` with none pinned: `now` truncated to the whole hour. The
/// generator places activity by the city's local hour and weekday (its own clock), so any
/// anchor keeps the daily and weekly patterns; a whole hour keeps the newest activity within
/// the hour before seeding while two seeds in the same hour give the same city.
pub fn current_anchor(now: Timestamp) -> Timestamp {
    now.duration_trunc(chrono::TimeDelta::hours(1)).unwrap_or(now)
}

/// What a seeding run wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeedReport {
    /// False when the database already had data and `force` was not set (nothing written).
    pub seeded: bool,
    pub users: u64,
    pub venues: u64,
    pub interactions: u64,
    pub social_edges: u64,
    pub venue_interests: u64,
    pub plans: u64,
    /// Bookings of the confirmed plans.
    pub bookings: u64,
    /// The end of the generated history (the anchor the run took); absent when nothing was
    /// written.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub as_of: Option<Timestamp>,
    pub elapsed_ms: u64,
}

/// Progress callbacks for long runs (the CLI draws a bar; the API passes [`NoProgress`]).
pub trait SeedProgress: Send + Sync {
    fn begin(&self, stage: &str, total: u64);
    fn advance(&self, n: u64);
    fn end(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl SeedProgress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

enum Work {
    Venues(Batch),
    Users(Batch, u64),
}

impl App {
    /// Seeds the demo city with no progress output (API, simulator and `serve --demo`), then
    /// rebuilds this server's recommendation engine from the store, so the next request (a
    /// simulation started right after, say) knows the new city. Other servers reload when
    /// the `data.seeded` event reaches them. With `reco.train_after_seed` (`luna serve --demo`),
    /// the learned model is then trained again in the background ([`App::retrain_after_seed`]).
    pub async fn seed_demo(&self, opts: SeedOptions) -> AppResult<SeedReport> {
        let report = self.seed_city(opts, &NoProgress).await?;
        if report.seeded {
            self.reload_engine().await?;
            if self.settings.reco.train_after_seed {
                self.retrain_after_seed();
            }
        }
        Ok(report)
    }

    /// Seeds a city, reporting progress by stage.
    #[tracing::instrument(skip_all, fields(users = opts.users, venues = opts.venues, seed = opts.seed), err(level = "debug"))]
    pub async fn seed_city(&self, opts: SeedOptions, progress: &dyn SeedProgress) -> AppResult<SeedReport> {
        let started = Instant::now();
        let counts = self.store.counts().await?;
        let seeded = counts.users > 0 || counts.venues > 0;
        // A seeded database is left alone whatever the options (a server restarting with a
        // `demo.as_of` that has become invalid still starts); anything else is checked before
        // `force` resets it, so a refused seed changes nothing.
        if seeded && !opts.force {
            return Ok(SeedReport::default());
        }
        let config = city_config(&opts, self.now())?;
        if seeded {
            self.reset_store().await?;
        }
        let as_of = Some(config.now);
        let city = synth::City::new(config)
            .map_err(|e| AppError::Invalid(domain::ValidationError::field("seed", e.to_string())))?;
        let mut report = SeedReport { seeded: true, as_of, ..SeedReport::default() };
        // Large seeds drop secondary indexes while loading and rebuild them by sorting once:
        // several times faster than maintaining them row by row. Small ones are not worth it.
        let bulk = opts.users >= BULK_LOAD_USERS;
        if bulk {
            self.store.begin_bulk_load().await?;
        }
        let written = self.write_city(city, &opts, progress, &mut report).await;
        if bulk {
            progress.begin("indexes", 1);
            let rebuilt = self.store.finish_bulk_load().await;
            progress.advance(1);
            progress.end();
            rebuilt?;
        }
        written?;
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        self.store
            .record_event(DomainEvent::DataSeeded {
                users: report.users,
                venues: report.venues,
                interactions: report.interactions,
                edges: report.social_edges,
                plans: report.plans,
            })
            .await?;
        self.wrote();
        Ok(report)
    }

    /// Generates the city on a blocking thread and writes it batch by batch, counting rows.
    async fn write_city(
        &self,
        city: synth::City,
        opts: &SeedOptions,
        progress: &dyn SeedProgress,
        report: &mut SeedReport,
    ) -> AppResult<()> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Work>(2);
        let (n_users, n_venues) = (opts.users, opts.venues);
        let generator = tokio::task::spawn_blocking(move || {
            for start in (0..n_venues).step_by(CHUNK_VENUES) {
                let venues = city.venues_range(start..(start + CHUNK_VENUES).min(n_venues));
                if tx.blocking_send(Work::Venues(Batch { venues, ..Batch::default() })).is_err() {
                    return;
                }
            }
            for chunk in city.chunks(CHUNK_USERS) {
                let users = chunk.users.len() as u64;
                if tx.blocking_send(Work::Users(chunk_to_batch(chunk), users)).is_err() {
                    return;
                }
            }
        });

        let turns = self.settings.booking.turn_minutes.clone();
        let mut booker = crate::seed_bookings::PlanBookings::new(opts.seed, turns);
        let mut stage = "";
        while let Some(mut work) = rx.recv().await {
            match &mut work {
                Work::Venues(b) => booker.add_venues(&b.venues),
                Work::Users(b, _) => b.bookings = booker.book(&mut b.plans),
            }
            let (name, total, batch, advance) = match work {
                Work::Venues(b) => ("venues", n_venues, b.venues.len() as u64, b),
                Work::Users(b, n) => ("users", n_users, n, b),
            };
            if stage != name {
                if !stage.is_empty() {
                    progress.end();
                }
                progress.begin(name, total as u64);
                stage = name;
            }
            report.venues += advance.venues.len() as u64;
            report.users += advance.users.len() as u64;
            report.interactions += advance.interactions.len() as u64;
            report.social_edges += advance.edges.len() as u64;
            report.venue_interests += advance.interests.len() as u64;
            report.plans += advance.plans.len() as u64;
            report.bookings += advance.bookings.len() as u64;
            self.store.insert_batch(advance).await?;
            progress.advance(batch);
        }
        progress.end();
        generator.await.map_err(|e| AppError::Internal(format!("city generator failed: {e}")))?;
        Ok(())
    }

    /// Deletes all data (users, venues, everything hanging off them) and empties this
    /// server's recommendation engine.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn reset_data(&self) -> AppResult<()> {
        self.reset_store().await?;
        self.wrote();
        self.reload_engine().await
    }

    /// Resets the store, counting the reset in the trainings' reset generation: a training
    /// running on the data before is discarded as it ends.
    async fn reset_store(&self) -> AppResult<()> {
        self.training.own_reset_begins();
        let reset = self.store.reset().await;
        if self.training.own_reset_ended(reset.is_ok()) {
            crate::reco::reload_in_background(self);
        }
        Ok(reset?)
    }
}

/// The generator's configuration of a run seeded at `now`.
fn city_config(o: &SeedOptions, now: Timestamp) -> AppResult<synth::CityConfig> {
    let center = LatLng::parse(o.center_lat, o.center_lng, "center_lat", "center_lng")?;
    let anchor = o.as_of.unwrap_or_else(|| current_anchor(now));
    // The history ends at the anchor: a city cannot have done what is yet to come (nor would
    // interactions dated ahead of the clock age as time passes).
    if anchor.year() < FIRST_ANCHOR_YEAR || anchor > now {
        let message =
            format!("must lie between the year {FIRST_ANCHOR_YEAR} and now ({})", domain::time::written(&now));
        return Err(AppError::Invalid(domain::ValidationError::field("as_of", message)));
    }
    // In the time zone at its centre: a city seeded in Tokyo keeps Tokyo's hours.
    let mut c = synth::CityConfig::new(o.seed, o.users, o.venues).centred_at(center);
    c.now = anchor;
    c.radius_km = o.radius_km;
    c.city = o.city.clone();
    c.validate().map_err(|e| AppError::Invalid(domain::ValidationError::field("seed", e.to_string())))?;
    Ok(c)
}

fn chunk_to_batch(c: synth::Chunk) -> Batch {
    Batch {
        users: c.users,
        preferences: c.preferences,
        venues: Vec::new(),
        edges: c.edges,
        interactions: c.interactions,
        interests: c.interests,
        plans: c.plans,
        participants: Vec::new(),
        bookings: Vec::new(),
    }
}
