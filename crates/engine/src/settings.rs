//! Tunable numbers of the engine: ranker weights, candidate budgets and live-update policy.
//! Every struct deserializes with defaults, so the app can load a partial TOML section.

use serde::{Deserialize, Serialize};

/// Everything the engine can be tuned with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// Weights of the default venue ranker.
    pub ranker: RankerSettings,
    /// Weights of the default people ranker.
    pub people: PeopleSettings,
    /// Candidate generation budgets.
    pub candidates: CandidateSettings,
    /// Live update policy.
    pub live: LiveSettings,
}

/// Weights and shapes of the default venue ranker. Each feature is scaled to 0..1 before
/// weighting, so a weight is the most a feature can add to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RankerSettings {
    /// Proximity `exp(-d / proximity_scale_km)`.
    pub w_proximity: f64,
    /// Distance scale of proximity, km (for users without enough history).
    pub proximity_scale_km: f64,
    /// Use the user's own typical distance (mean distance of the venues they engaged with, times
    /// this factor) as the proximity scale once they have 3 or more; 0 disables.
    pub personal_distance_factor: f64,
    /// The user's own past engagement with the venue (likes, saves, visits, dwell, repeats).
    pub w_history: f64,
    /// The history feature of a venue the user engaged with is
    /// `history_floor + (1 - history_floor) * ln(1 + e) / ln(1 + e_max)`, with `e` the user's
    /// engagement with it and `e_max` their largest: any engagement counts, repeats count more.
    pub history_floor: f64,
    /// A venue the user only looked at (views, searches, no positive signal), scaled by its
    /// relative engagement like history.
    pub w_viewed: f64,
    /// Explicit preference match: stated cuisine (by rank), closeness of price to the middle
    /// of the stated range, share of stated ambiance tags found.
    pub w_preference: f64,
    /// Implicit taste: share of the user's past engagement on the venue's cuisine and category.
    pub w_taste: f64,
    /// Context: time of day against category, weekday or weekend, opening hours.
    pub w_context: f64,
    /// Trending: recent interaction velocity with exponential decay.
    pub w_trending: f64,
    /// Half-life of the trending decay, hours.
    pub trend_half_life_hours: f64,
    /// Social proof: friends who engaged with the venue (liked, saved, visited, booked; a look
    /// counts half), `1 - exp(-sum of edge strengths / social_scale)`.
    pub w_social: f64,
    pub social_scale: f64,
    /// The learned matrix factorisation score (0 when no model is loaded).
    pub w_learned: f64,
    /// Item-to-item neighbours of the venues the user engaged with (0 when no model is loaded).
    pub w_neighbours: f64,
    /// Global popularity (log-scaled).
    pub w_popularity: f64,
    /// Venue rating above 3 stars.
    pub w_rating: f64,
    /// Multiplier applied to venues visited within `just_visited_days`.
    pub just_visited_factor: f64,
    /// How recent a visit must be to demote the venue, days.
    pub just_visited_days: f64,
    /// Dietary needs filter venues out (true) or only demote them (false).
    pub dietary_hard: bool,
    /// Multiplier for venues not meeting a dietary need when `dietary_hard` is false.
    pub dietary_soft_factor: f64,
    /// Multiplier for venues closed at the query time (when no open-at filter is given).
    pub closed_factor: f64,
    /// Diversity penalty per earlier pick of the same category (MMR-style re-rank).
    pub diversity_category: f64,
    /// Diversity penalty per earlier pick of the same cuisine.
    pub diversity_cuisine: f64,
    /// At most this many results share one cuisine (0 = no cap).
    pub max_per_cuisine: usize,
}

impl RankerSettings {
    /// The weights of the default ranker's signals, each named as its field without `w_`, to
    /// change one (`luna eval --ablate` sets each to 0 in turn).
    pub fn signal_weights_mut(&mut self) -> [(&'static str, &mut f64); 12] {
        [
            ("proximity", &mut self.w_proximity),
            ("history", &mut self.w_history),
            ("viewed", &mut self.w_viewed),
            ("preference", &mut self.w_preference),
            ("taste", &mut self.w_taste),
            ("context", &mut self.w_context),
            ("trending", &mut self.w_trending),
            ("social", &mut self.w_social),
            ("learned", &mut self.w_learned),
            ("neighbours", &mut self.w_neighbours),
            ("popularity", &mut self.w_popularity),
            ("rating", &mut self.w_rating),
        ]
    }
}

impl Default for RankerSettings {
    fn default() -> Self {
        Self {
            w_proximity: 0.5,
            proximity_scale_km: 3.0,
            personal_distance_factor: 0.0,
            w_history: 1.25,
            history_floor: 0.0,
            w_viewed: 2.85,
            w_preference: 0.22,
            w_taste: 0.22,
            w_context: 0.02,
            w_trending: 0.04,
            trend_half_life_hours: 72.0,
            w_social: 0.5,
            social_scale: 1.5,
            w_learned: 0.15,
            w_neighbours: 0.3,
            w_popularity: 0.225,
            w_rating: 0.055,
            just_visited_factor: 0.9,
            just_visited_days: 2.0,
            dietary_hard: true,
            dietary_soft_factor: 0.5,
            closed_factor: 0.85,
            diversity_category: 0.0,
            diversity_cuisine: 0.0,
            max_per_cuisine: 4,
        }
    }
}

/// Weights of the default people ranker (the first seed's social compatibility, extended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeopleSettings {
    /// Edge strength of a direct relation.
    pub w_strength: f64,
    /// Mutual friends, `1 - exp(-n / 3)`.
    pub w_mutual: f64,
    /// Adamic-Adar over common neighbours, squashed.
    pub w_adamic_adar: f64,
    /// Jaccard of explicit preferences (cuisines, ambiance).
    pub w_preference: f64,
    /// Overlap of visited venues (implicit taste).
    pub w_co_visit: f64,
    /// Activity pattern: time-of-day and weekday/weekend histogram overlap.
    pub w_activity: f64,
    /// Openness of the candidate to new people (only for non-friends).
    pub w_openness: f64,
    /// The candidate's interest in the venue of the query.
    pub w_venue: f64,
    /// Strength assumed for a friendship created by an accepted request.
    pub new_friend_strength: f64,
    /// Friends of friends considered, at most.
    pub max_fof: usize,
}

impl Default for PeopleSettings {
    fn default() -> Self {
        Self {
            w_strength: 0.30,
            w_mutual: 0.15,
            w_adamic_adar: 0.10,
            w_preference: 0.10,
            w_co_visit: 0.10,
            w_activity: 0.10,
            w_openness: 0.05,
            w_venue: 0.20,
            new_friend_strength: 0.5,
            max_fof: 500,
        }
    }
}

/// How many candidates each source contributes before scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CandidateSettings {
    /// Nearest venues taken from the spatial index (after filters), and never fewer than the
    /// results a query asks for (a new user has no other candidates). With the history, friends'
    /// and item neighbours' candidates beside them, 60 rank as well as 100 (default NDCG@10 of
    /// `examples/eval_city` at 5,000, 20,000 and 100,000 users within 0.0004: 0.4480 against
    /// 0.4478, 0.3766 against 0.3769, 0.3515 against 0.3514), and 100 as well as 150 before.
    /// Fewer cost less: each is a venue row read and scored (engine bench at 1,000,000 users,
    /// `venues_default`: 86 µs against 101 µs with 100, `LUNA_BENCH_SETTINGS` on one build).
    pub spatial: usize,
    /// How far the popularity ranker's popular venues and the item neighbours' candidates reach
    /// when the query gives no radius, km. The nearest venues are then taken as far as they are
    /// (and fill the popularity ranker's list when too few popular ones are within reach), so a
    /// user far from every venue still gets an answer.
    pub default_radius_km: f64,
    /// Venues from the user's own history, most recent first.
    pub history: usize,
    /// Venues liked by friends.
    pub friends: usize,
    /// Venues most engaged with by the people who went where the user went (the learned
    /// model's item neighbours).
    pub neighbours: usize,
    /// A live location older than this is ignored (home is used), minutes.
    pub live_location_fresh_minutes: i64,
}

impl Default for CandidateSettings {
    fn default() -> Self {
        Self {
            spatial: 60,
            default_radius_km: 25.0,
            history: 100,
            friends: 30,
            neighbours: 30,
            live_location_fresh_minutes: 120,
        }
    }
}

/// When the small delta state is folded into a fresh snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveSettings {
    /// Merge after this many changed users or venues.
    pub merge_after: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self { merge_after: 8192 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_settings_document_keeps_the_other_defaults() {
        let s: EngineSettings = serde_json::from_str(r#"{"ranker": {"w_learned": 0.5}}"#).unwrap();
        assert_eq!(s.ranker.w_learned, 0.5);
        assert_eq!(s.ranker.w_proximity, RankerSettings::default().w_proximity);
        assert_eq!(s.people, PeopleSettings::default());
    }
}
