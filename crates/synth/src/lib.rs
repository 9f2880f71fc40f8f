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
//!   chunk sizes. Only venues (about 100 bytes each) are held in memory.
//! - **Foreign-key safe in order**: a [`Chunk`] for `a..b` only references venues and users
//!   with indices below `b`, so inserting venues, then chunks in ascending order, works.
//! - **Ground truth**: [`City::taste`] and [`City::affinity`] expose the hidden tastes the
//!   interactions were drawn from; the history is timestamped, so an evaluator can split by
//!   time and the future follows the same tastes.
//!
//! ```
//! let city = synth::City::new(synth::CityConfig::default()).expect("valid config");
//! let venues = city.venues();
//! for chunk in city.chunks(100) {
//!     assert!(chunk.users.len() <= 100);
//! }
//! # assert_eq!(venues.len(), 150);
//! ```

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
pub use venues::LATENT_DIM;

/// Why a city could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// The configuration is out of range; the message says which value.
    #[error("invalid city configuration: {0}")]
    Config(String),
}
