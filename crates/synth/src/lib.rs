//! A seeded, reproducible city generator: neighbourhoods, venues, users with the seven
//! personas, their hidden tastes, a small-world social graph, an interaction history drawn
//! from those tastes, venue interests and upcoming plans, all as `domain` values.
//!
//! Guarantees:
//! - **Reproducible**: everything is a pure function of [`CityConfig`]; each entity draws
//!   from its own generator keyed by `(seed, kind, index)` and ids are UUIDv7 built from the
//!   entity's synthetic creation time and those generators.
//! - **Chunk-invariant and bounded**: users and everything hanging off them are produced for
//!   any range of user indices; concatenating ranges gives byte-identical data whatever the
//!   chunk sizes. Only venues (about 100 bytes each) and communities (about 100 bytes per
//!   150 users) are held in memory.
//! - **Foreign-key safe in order**: a [`Chunk`] for `a..b` only references venues and users
//!   with indices below `b`, so inserting venues, then chunks in ascending order, works.
//! - **Ground truth**: [`City::taste`] and [`City::affinity`] expose the hidden tastes the
//!   interactions were drawn from; the history is timestamped, so an evaluator can split by
//!   time and the future follows the same tastes. [`City::oracle_ranking`] ranks by them:
//!   the ceilings a ranker is measured against.
//!
//! How it works, briefly: 20 to 40 neighbourhoods with a character (nightlife, business,
//! residential, ...) hold venues drawn around their centres. Users belong to communities
//! (interleaved blocks of a keyed permutation) that share a home neighbourhood, part of a
//! hidden taste and favourite places; ties are a symmetric hash predicate of each pair, mostly
//! inside a community plus a few long-range ones. Each user's hidden [`Taste`] sets the
//! utility of every venue; the venues a user knows of (near home, in a going-out area, in
//! favourite categories and cuisines, popular, community favourites) are weighed by utility,
//! popularity and distance, and episodes (search, view, save, like, interest, visit) are
//! drawn from them at the persona's hours and the venue's opening hours.
//! [`personas::PROFILES`] holds every persona number as documented data.
//!
//! Pulling data: [`City::venues`] for all venues; [`City::chunk`] / [`City::chunks`] /
//! [`City::for_each_chunk`] (parallel, in order) for users with everything hanging off them;
//! [`City::interaction_records`] and [`City::par_map_ranges`] for the compact log at scale.
//!
//! ```
//! let city = synth::City::new(synth::CityConfig::default()).expect("valid config");
//! let venues = city.venues();
//! for chunk in city.chunks(100) {
//!     assert!(chunk.users.len() <= 100);
//! }
//! # assert_eq!(venues.len(), 150);
//! ```

#![warn(missing_docs)]

mod behaviour;
pub mod catalog;
mod chunk;
mod city;
mod clock;
mod config;
mod hoods;
pub mod personas;
mod plans;
mod rng;
mod social;
mod taste;
mod truth;
mod users;
mod venues;
mod words;

pub use behaviour::InteractionRecord;
pub use chunk::Chunk;
pub use city::City;
pub use config::{CityConfig, default_now};
pub use hoods::{HoodKind, Neighbourhood};
pub use social::Friend;
pub use taste::{FAVOURITE_BONUS, FAVOURITES, LATENT_WEIGHT, Taste};
pub use truth::{KNOWN_SAMPLES, Oracle, Past};
pub use venues::LATENT_DIM;

/// Why a city could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// The configuration is out of range; the message says which value.
    #[error("invalid city configuration: {0}")]
    Config(String),
}
