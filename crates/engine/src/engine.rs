//! The [`Engine`]: one atomically swapped [`State`] read by every query without locks, and the
//! query entry points. Writes (`apply`, `set_location`, `set_model`) are in `live.rs`.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::EngineError;
use crate::settings::EngineSettings;
use crate::state::{Delta, Snapshot, State};
use crate::types::{
    GroupQuery, GroupRecommendations, InterestedInVenue, PeopleQuery, PersonRecommendation, VenueContext, VenueQuery,
    VenueRecommendation,
};

/// The recommendation engine. `Send + Sync`: share it in an `Arc`; readers never block.
#[derive(Debug)]
pub struct Engine {
    pub(crate) state: ArcSwap<State>,
    /// Serialises writers only; readers never take it.
    pub(crate) writer: Mutex<()>,
    /// Serialises model loads (long, outside `writer`), so the last one asked is the one kept.
    pub(crate) model_writer: Mutex<()>,
    pub(crate) settings: EngineSettings,
}

/// Sizes of the engine's data, for dashboards and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    /// Alive users.
    pub users: usize,
    /// Alive venues.
    pub venues: usize,
    /// (user, venue) pairs with at least one interaction.
    pub user_venue_pairs: usize,
    /// Directed social edges.
    pub edges: usize,
    /// Users and venues changed since the last merge.
    pub delta_rows: usize,
    /// Whether a learned model is loaded.
    pub has_model: bool,
}

impl Engine {
    pub(crate) fn from_parts(snap: Snapshot, delta: Delta, settings: EngineSettings) -> Self {
        let state = State { snap: Arc::new(snap), delta, model: None, generation: 0 };
        Self { state: ArcSwap::from_pointee(state), writer: Mutex::new(()), model_writer: Mutex::new(()), settings }
    }

    /// The settings the engine was built with.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// A consistent view of the current state (cheap; holds it alive while in use).
    pub(crate) fn load(&self) -> Arc<State> {
        self.state.load_full()
    }

    /// Venue recommendations for a user.
    pub fn recommend_venues(&self, q: &VenueQuery) -> Result<Vec<VenueRecommendation>, EngineError> {
        let st = self.state.load();
        crate::venues::recommend(&st, &self.settings, q)
    }

    /// Venue recommendations for a user as ranked with other `settings` (an evaluation's
    /// ablation), on the same state.
    pub(crate) fn recommend_venues_with(
        &self,
        settings: &EngineSettings,
        q: &VenueQuery,
    ) -> Result<Vec<VenueRecommendation>, EngineError> {
        crate::venues::recommend(&self.state.load(), settings, q)
    }

    /// Venue recommendations for a user with the [`VenueContext`] they were computed from (the
    /// user's local time, where the search started, persona and stated preferences), both read
    /// from the same state.
    pub fn recommend_venues_in_context(
        &self,
        q: &VenueQuery,
    ) -> Result<(Vec<VenueRecommendation>, VenueContext), EngineError> {
        let st = self.state.load();
        crate::venues::recommend_in_context(&st, &self.settings, q)
    }

    /// People to go out with.
    pub fn recommend_people(&self, q: &PeopleQuery) -> Result<Vec<PersonRecommendation>, EngineError> {
        let st = self.state.load();
        crate::people::recommend(&st, &self.settings, q)
    }

    /// Venues for a group of 2 to 20 users.
    pub fn recommend_group(&self, q: &GroupQuery) -> Result<GroupRecommendations, EngineError> {
        let st = self.state.load();
        crate::group::recommend(&st, &self.settings, q)
    }

    /// Who wants to go to a venue as of `now`, grouped by relation to the viewer, at most
    /// `limit` (1 to 100) of each group. An interest whose exact `preferred_time` is before
    /// `now` is over and left out (of the totals too); one with only a part of the day stays.
    pub fn interested_in_venue(
        &self,
        venue_id: Uuid,
        viewer: Uuid,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<InterestedInVenue, EngineError> {
        let st = self.state.load();
        crate::people::interested_in_venue(&st, &self.settings, venue_id, viewer, limit, now)
    }

    /// Whether the engine knows an alive user.
    pub fn has_user(&self, user_id: Uuid) -> bool {
        let st = self.state.load();
        st.user_idx(&user_id).and_then(|u| st.live_user(u)).is_some()
    }

    /// Whether the engine knows an alive venue.
    pub fn has_venue(&self, venue_id: Uuid) -> bool {
        let st = self.state.load();
        st.venue_idx(&venue_id).and_then(|v| st.live_venue(v)).is_some()
    }

    /// How many of the alive users and venues the loaded learned model was trained with (users,
    /// venues); `None` without a model. Users and venues added since it was loaded are unknown
    /// to it (the model folds a new user in from their history, but never learned them).
    pub fn model_fit(&self) -> Option<(usize, usize)> {
        let st = self.state.load();
        let m = st.model.as_ref()?;
        let users = (0..st.n_users()).filter(|&u| st.live_user(u).is_some() && m.knows_user(u)).count();
        let venues = (0..st.n_venues()).filter(|&v| st.live_venue(v).is_some() && m.knows_venue(v)).count();
        Some((users, venues))
    }

    /// Sizes of the current data.
    pub fn stats(&self) -> EngineStats {
        let st = self.state.load();
        let (mut users, mut pairs, mut edges) = (0, 0, 0);
        for u in 0..st.n_users() {
            if let Some(r) = st.live_user(u) {
                users += 1;
                pairs += r.history.len();
                edges += r.edges.len();
            }
        }
        let venues = (0..st.n_venues()).filter(|&v| st.live_venue(v).is_some()).count();
        EngineStats {
            users,
            venues,
            user_venue_pairs: pairs,
            edges,
            delta_rows: st.delta.users.len() + st.delta.vdyn.len() + st.delta.venues.len(),
            has_model: st.model.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
    }
}
