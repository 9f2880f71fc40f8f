//! Application services: the use cases HTTP handlers, the simulator and the CLI all call.
//! A service parses input into domain values, calls the store (which records events in the
//! same transaction) and returns domain values. No HTTP here.

mod error;

use std::sync::Arc;

use store::DynStore;

pub use error::{AppError, AppResult};

/// Settings the services need (a slice of the binary's settings).
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Name of the city the demo data is generated for.
    pub demo_city: String,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self { demo_city: "New York".into() }
    }
}

/// Everything a request needs: cheap to clone, shared by all handlers.
#[derive(Clone)]
pub struct App {
    pub store: DynStore,
    pub settings: Arc<AppSettings>,
}

impl App {
    pub fn new(store: DynStore, settings: AppSettings) -> Self {
        Self { store, settings: Arc::new(settings) }
    }

    /// The current time (one place to swap in a simulated clock).
    pub fn now(&self) -> domain::Timestamp {
        chrono::Utc::now()
    }
}
