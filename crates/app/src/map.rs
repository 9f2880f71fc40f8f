//! The admin map's data: every venue and a sample of homes, from the recommendation engine's
//! current state (kept fresh by the event stream), so drawing the city never scans the store.

use engine::CityMap;

use crate::App;

/// Most homes one map request may ask for.
pub const MAX_MAP_HOMES: usize = 20_000;

impl App {
    /// Every alive venue (position, category, demand) and at most `homes` users' homes.
    #[tracing::instrument(skip_all, fields(homes))]
    pub fn city_map(&self, homes: usize) -> CityMap {
        self.engine().city_map(homes.min(MAX_MAP_HOMES), self.now().timestamp())
    }
}
