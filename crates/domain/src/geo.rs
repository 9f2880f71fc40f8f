//! Coordinates and great-circle distance.

use serde::{Deserialize, Serialize};

/// Mean Earth radius in kilometres (the value both seed documents use).
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// A WGS84 point. Construct through [`LatLng::parse`] so it is always in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatLng {
    pub lat: f64,
    pub lng: f64,
}

impl LatLng {
    /// A point, or a validation error naming `lat_field` / `lng_field`.
    pub fn parse(lat: f64, lng: f64, lat_field: &str, lng_field: &str) -> Result<Self, crate::ValidationError> {
        let mut c = crate::error::Checker::new();
        c.real(lat_field, lat, crate::limits::LAT);
        c.real(lng_field, lng, crate::limits::LNG);
        c.finish(Self { lat, lng })
    }

    pub fn distance_km(&self, other: &LatLng) -> f64 {
        haversine_km(self.lat, self.lng, other.lat, other.lng)
    }
}

/// Haversine distance in kilometres, as in both seed documents.
pub fn haversine_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().atan2((1.0 - a).sqrt())
}

/// Kilometres per degree of latitude; used to size bounding boxes around a point.
pub const KM_PER_DEG_LAT: f64 = 111.195;

/// A (min_lat, min_lng, max_lat, max_lng) box that contains every point within `radius_km`.
pub fn bounding_box(center: LatLng, radius_km: f64) -> (f64, f64, f64, f64) {
    let dlat = radius_km / KM_PER_DEG_LAT;
    let cos = center.lat.to_radians().cos().max(1e-6);
    let dlng = (radius_km / (KM_PER_DEG_LAT * cos)).min(180.0);
    (center.lat - dlat, center.lng - dlng, center.lat + dlat, center.lng + dlng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manhattan_to_brooklyn_is_about_right() {
        // Times Square to Grand Army Plaza is about 8.9 km as the crow flies.
        let d = haversine_km(40.7580, -73.9855, 40.6743, -73.9700);
        assert!((d - 9.4).abs() < 0.5, "{d}");
    }

    #[test]
    fn out_of_range_points_are_refused_naming_the_field() {
        let e = LatLng::parse(91.0, 0.0, "home_lat", "home_lng").unwrap_err();
        assert_eq!(e.0[0].field, "home_lat");
        assert!(LatLng::parse(0.0, f64::NAN, "a", "b").is_err());
    }
}
