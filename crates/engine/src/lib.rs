//! Luna's recommendation engine: pure, synchronous and in memory. No SQL, no HTTP, no async.
//!
//! # Data
//! An [`EngineBuilder`] streams in users, preferences, venues, social edges, interactions,
//! interests and bookings and builds an [`Engine`]. Ids become dense `u32` indices. Nothing keeps
//! the interaction log: each user holds a sorted array of per-venue aggregates (like and
//! interest count, dwell sum, visits, bookings, last times), sorted edges and interests; each
//! venue holds its counters (positive count, decayed trend, bookings, interested users, recent
//! engagers). Venues are found nearest first, with Earth-centred coordinates so that order is
//! exact great-circle order: from a uniform latitude/longitude grid where venues are spread
//! evenly enough for one (as a city's are), else from an R-tree (`rstar`). No query scans the
//! catalogue.
//!
//! # Freshness without blocking readers
//! The state readers see is one `Arc<State>` behind an [`arc_swap::ArcSwap`]: an immutable
//! base snapshot plus a small copy-on-write delta (per-user and per-venue rows in 64 shards)
//! and the learned model. A query loads it once (lock-free) and reads a consistent view.
//! [`Engine::apply`] takes a writer-only mutex, copies the state shallowly, replaces the rows the
//! event touches (copying one shard), and stores the new state atomically, so the next query
//! sees the new interaction with no rebuild. When the delta passes
//! [`LiveSettings::merge_after`](settings::LiveSettings) rows, the writer folds it into a fresh
//! snapshot (row `Arc`s are re-shared; the spatial indexes are rebuilt only if venues changed) and swaps
//! that in the same way. Readers never wait for writers.
//!
//! # Rankers
//! - `seed2`: the second seed document's formulas, exactly (see `venues::seed2` and `people`).
//! - `default`: preferences, context, trending, social proof, the learned model, just-visited
//!   demotion and diversity, with weights in [`RankerSettings`] (see `venues::default`).
//! - `popularity` and `learned`: single-signal baselines for evaluation.
//!
//! The learned model is BPR matrix factorisation ([`train_bpr`]) and, computed when a model is
//! loaded, item-to-item neighbours (venues engaged with by the same people; `neighbours`);
//! [`eval`] measures every ranker on a time split of an interaction log.

mod builder;
mod engine;
pub mod error;
pub mod eval;
mod grid;
mod group;
mod ingest;
mod live;
pub mod map;
mod memory;
pub mod model;
mod neighbours;
mod people;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod scenario_tests;
pub mod settings;
mod state;
#[cfg(test)]
mod testkit;
pub mod types;
pub mod util;
mod venues;

pub use builder::EngineBuilder;
pub use engine::{Engine, EngineStats};
pub use error::EngineError;
pub use map::{Bounds, CityMap, MapHomes, MapVenues};
pub use memory::EngineMemory;
pub use model::{EpochReport, MfModel, TrainConfig, train_bpr, train_bpr_unless, train_bpr_with_progress};
pub use settings::{CandidateSettings, EngineSettings, LiveSettings, PeopleSettings, RankerSettings};
pub use types::*;
pub use venues::{MAX_LIMIT, MAX_RADIUS_KM};
