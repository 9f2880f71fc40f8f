//! What city to generate: its seed, sizes, place and time window. Everything the generator
//! produces is a pure function of this value.

use chrono::{TimeZone, Utc};
use domain::{LatLng, Timestamp};
use serde::{Deserialize, Serialize};

use crate::SynthError;

/// The configuration of a generated city. Same value, same city, byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityConfig {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Number of users (at most `u32::MAX`).
    pub users: usize,
    /// Number of venues (at most `u32::MAX`).
    pub venues: usize,
    /// The city centre; neighbourhoods are scattered around it.
    pub center: LatLng,
    /// Radius of the city in kilometres; every venue and home lies inside it.
    pub radius_km: f64,
    /// The city name written on users and venues.
    pub city: String,
    /// Mean number of logged interactions of a user present over the whole history window
    /// (users who joined during it log proportionally fewer; the overall mean is about 95%).
    pub interactions_per_user: f32,
    /// Length of the interaction history, in days, ending at `now`.
    pub history_days: u32,
    /// End of the history window. Interactions lie in `[now - history_days, now)`; venue
    /// interests and plans lie after it. Fixed by default so data is reproducible; pass
    /// `Utc::now()` for a live demo.
    pub now: Timestamp,
    /// IANA time zone of the city (local hours drive activity and opening hours); every venue
    /// is stored in it. [`CityConfig::centred_at`] takes the zone at the centre.
    pub timezone: String,
}

/// The fixed default end of the history window: 2026-11-20 12:00 UTC.
pub fn default_now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).single().unwrap_or_default()
}

impl Default for CityConfig {
    /// The demo city: 300 users and 150 venues in New York, seed 42.
    fn default() -> Self {
        Self {
            seed: 42,
            users: 300,
            venues: 150,
            center: LatLng { lat: 40.7306, lng: -73.9352 },
            radius_km: 12.0,
            city: "New York".to_string(),
            interactions_per_user: 20.0,
            history_days: 90,
            now: default_now(),
            timezone: domain::venue::DEFAULT_TIMEZONE.to_string(),
        }
    }
}

impl CityConfig {
    /// The default New York city with the given seed and sizes.
    pub fn new(seed: u64, users: usize, venues: usize) -> Self {
        Self { seed, users, venues, ..Self::default() }
    }

    /// This city moved to `center`, in the time zone there (`domain::venue::timezone_at`): a
    /// city centred in Tokyo keeps Tokyo's hours. Set `timezone` after it to pick another zone.
    /// The default centre's zone is the default one, so the default city is unchanged.
    pub fn centred_at(self, center: LatLng) -> Self {
        let timezone = domain::venue::timezone_at(center.lat, center.lng);
        Self { center, timezone, ..self }
    }

    /// Start of the history window (`now - history_days`).
    pub fn history_start(&self) -> Timestamp {
        self.now - chrono::Duration::days(i64::from(self.history_days))
    }

    /// Checks the values the generator relies on.
    pub fn validate(&self) -> Result<chrono_tz::Tz, SynthError> {
        let bad = |m: &str| Err(SynthError::Config(m.to_string()));
        if self.users > u32::MAX as usize || self.venues > u32::MAX as usize {
            return bad("users and venues must each be at most 4294967295");
        }
        if self.venues == 0 && self.users > 0 {
            return bad("a city with users needs at least one venue");
        }
        if LatLng::parse(self.center.lat, self.center.lng, "lat", "lng").is_err() || self.center.lat.abs() > 85.0 {
            return bad("center must be a valid point away from the poles");
        }
        if !(self.radius_km.is_finite() && (0.5..=200.0).contains(&self.radius_km)) {
            return bad("radius_km must be between 0.5 and 200");
        }
        if !(self.interactions_per_user.is_finite() && (0.0..=10_000.0).contains(&self.interactions_per_user)) {
            return bad("interactions_per_user must be between 0 and 10000");
        }
        if !(1..=3650).contains(&self.history_days) {
            return bad("history_days must be between 1 and 3650");
        }
        let city = self.city.trim();
        if city.is_empty() || city.chars().count() > 100 {
            return bad("city must be 1 to 100 characters");
        }
        self.timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| SynthError::Config(format!("unknown time zone {:?}", self.timezone)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_centred_in_tokyo_has_its_venues_in_tokyo_time_and_the_default_city_stays_in_new_york() {
        let tokyo = CityConfig::new(7, 20, 12).centred_at(LatLng { lat: 35.68, lng: 139.76 });
        assert_eq!(tokyo.timezone, "Asia/Tokyo");
        let city = crate::City::new(tokyo).expect("valid config");
        assert_eq!(city.timezone(), chrono_tz::Asia::Tokyo);
        assert!(city.venues().iter().all(|v| v.timezone == "Asia/Tokyo"));

        let default = CityConfig::default();
        assert_eq!(default.clone().centred_at(default.center), default, "the default city is unchanged");
    }
}
