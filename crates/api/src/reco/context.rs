//! The `context` of `/recommendations/{user_id}`: the first seed's keys (`meal_time`,
//! `is_weekend`, `hour`, `user_location`, `user_persona`, `preferences`), each computed from
//! what the answer used (the engine's [`VenueContext`]), not from the server's clock.

use chrono::{Datelike, Timelike, Weekday};
use domain::{Persona, TimeOfDay};
use engine::VenueContext;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The first seed's five meal times, on the engine's own time-of-day boundaries (morning
/// 05-10, afternoon 11-16, evening 17-21, night 22-04, in local hours), the afternoon split at
/// 15:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealTime {
    /// 05:00 to 10:59 (the engine's morning).
    Breakfast,
    /// 11:00 to 14:59 (the engine's afternoon, first part).
    Lunch,
    /// 15:00 to 16:59 (the engine's afternoon, second part).
    Afternoon,
    /// 17:00 to 21:59 (the engine's evening).
    Dinner,
    /// 22:00 to 04:59 (the engine's night).
    LateNight,
}

impl MealTime {
    /// The meal time of a local hour (0 to 23).
    pub fn from_hour(hour: u32) -> Self {
        match TimeOfDay::from_hour(hour) {
            TimeOfDay::Morning => Self::Breakfast,
            TimeOfDay::Afternoon if hour < 15 => Self::Lunch,
            TimeOfDay::Afternoon => Self::Afternoon,
            TimeOfDay::Evening => Self::Dinner,
            TimeOfDay::Night => Self::LateNight,
        }
    }
}

/// What a recommendation answer was computed from (the first seed's `context`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendationContext {
    /// The meal time of `hour`.
    pub meal_time: MealTime,
    /// Whether the local day is a Saturday or a Sunday.
    pub is_weekend: bool,
    /// The local hour, 0 to 23, of the query's `time` (else now). Users have no time zone of
    /// their own: local means the zone of the venue nearest to `user_location`, else of the
    /// first venue recommended, else `America/New_York` (the zone opening hours and time-of-day
    /// fit are read in for venues there).
    pub hour: u32,
    /// Where the search started from: `lat`/`lng` of the query, else a fresh live location,
    /// else home; null when the user has none.
    pub user_location: Option<ContextLocation>,
    /// Null when the user has none.
    pub user_persona: Option<Persona>,
    /// The user's stated preferences; null when they stated none.
    pub preferences: Option<ContextPreferences>,
}

/// A point, as the first seed writes it (`lon`, not `lng`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContextLocation {
    pub lat: f64,
    pub lon: f64,
}

/// A user's stated preferences, in the first seed's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContextPreferences {
    /// Cuisine names, favourite first.
    pub cuisines: Vec<String>,
    /// Cheapest and dearest acceptable price levels, `[min, max]`, 1 to 4.
    pub price_range: [i16; 2],
    /// The query's `radius_km`: Luna keeps no maximum distance per user, so null without one.
    pub max_distance: Option<f64>,
}

impl RecommendationContext {
    /// The context of an answer to a query with `radius_km`.
    pub fn new(c: VenueContext, radius_km: Option<f64>) -> Self {
        let hour = c.local_time.hour();
        Self {
            meal_time: MealTime::from_hour(hour),
            is_weekend: matches!(c.local_time.weekday(), Weekday::Sat | Weekday::Sun),
            hour,
            user_location: c.origin.map(|p| ContextLocation { lat: p.lat, lon: p.lng }),
            user_persona: c.persona,
            preferences: c.preferences.map(|p| ContextPreferences {
                cuisines: p.cuisines,
                price_range: [p.price_min, p.price_max],
                max_distance: radius_km,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meal_times_keep_the_engine_time_of_day_boundaries() {
        for hour in 0..24 {
            let tod = match MealTime::from_hour(hour) {
                MealTime::Breakfast => TimeOfDay::Morning,
                MealTime::Lunch | MealTime::Afternoon => TimeOfDay::Afternoon,
                MealTime::Dinner => TimeOfDay::Evening,
                MealTime::LateNight => TimeOfDay::Night,
            };
            assert_eq!(tod, TimeOfDay::from_hour(hour), "hour {hour}");
        }
        assert_eq!(MealTime::from_hour(14), MealTime::Lunch);
        assert_eq!(MealTime::from_hour(15), MealTime::Afternoon);
    }
}
