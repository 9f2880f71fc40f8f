//! The ranges of query parameters whose limits live outside the domain crate (the recommender's,
//! the map's), each written once: the handler checks against it and the OpenAPI document states
//! it (see [`domain::limits`]).

use app::reco::training;
use domain::documented_range;
use domain::limits::{Real, Whole};

/// How many results a recommendation returns.
pub const RECO_LIMIT: Whole = Whole::new(1, engine::MAX_LIMIT as i64);
/// How far from the user, or each member of a group, a recommended venue may be, km.
pub const RECO_RADIUS_KM: Real = Real::above(0.0, engine::MAX_RADIUS_KM);
/// How many users' homes the city map samples.
pub const MAP_HOMES: Whole = Whole::new(0, app::map::MAX_MAP_HOMES as i64);
/// How many of the stored users a simulation runs.
pub const SIM_USERS: Whole = app::sim::USERS;
/// A training's passes over the interactions.
pub const EPOCHS: Whole = Whole::new(*training::EPOCHS.start() as i64, *training::EPOCHS.end() as i64);
/// A trained model's latent dimensions.
pub const FACTORS: Whole = Whole::new(*training::FACTORS.start() as i64, *training::FACTORS.end() as i64);
/// The users of a city the API seeds (0: venues alone).
pub const SEED_USERS: Whole = Whole::new(0, 20_000);
/// The venues of a city the API seeds.
pub const SEED_VENUES: Whole = Whole::new(1, 10_000);

documented_range!(pub RecoLimitRange = RECO_LIMIT);
documented_range!(pub RecoRadiusRange = RECO_RADIUS_KM);
documented_range!(pub MapHomesRange = MAP_HOMES);
documented_range!(pub SimUsersRange = SIM_USERS);
documented_range!(pub EpochsRange = EPOCHS);
documented_range!(pub FactorsRange = FACTORS);
documented_range!(pub SeedUsersRange = SEED_USERS);
documented_range!(pub SeedVenuesRange = SEED_VENUES);
