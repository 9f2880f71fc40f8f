//! The ranges number fields must lie in, each written once: the validation checks a value
//! against its range here and the OpenAPI document states the same range (through the marker
//! types [`documented_range!`] makes), so what the document says and what a request gets cannot
//! drift apart.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::booking::MAX_PARTY;
use crate::error::Checker;

/// Whole numbers from `lo` to `hi`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole {
    pub lo: i64,
    pub hi: i64,
}

impl Whole {
    pub const fn new(lo: i64, hi: i64) -> Self {
        Self { lo, hi }
    }

    pub fn contains(self, v: impl Into<i64>) -> bool {
        (self.lo..=self.hi).contains(&v.into())
    }

    /// What a value outside says: `must be between 1 and 4`.
    pub fn message(self) -> String {
        format!("must be between {} and {}", self.lo, self.hi)
    }

    /// The range as a JSON schema: an integer with `minimum` and `maximum`.
    pub fn schema(self) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(self.lo)).maximum(Some(self.hi)).into()
    }
}

/// Finite numbers from `lo` to `hi`; `hi` included, `lo` too unless `above_lo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Real {
    pub lo: f64,
    pub hi: f64,
    pub above_lo: bool,
}

impl Real {
    /// `lo` to `hi`, both included.
    pub const fn new(lo: f64, hi: f64) -> Self {
        Self { lo, hi, above_lo: false }
    }

    /// Above `lo`, up to `hi` included.
    pub const fn above(lo: f64, hi: f64) -> Self {
        Self { lo, hi, above_lo: true }
    }

    pub fn contains(self, v: f64) -> bool {
        v.is_finite() && v <= self.hi && if self.above_lo { v > self.lo } else { v >= self.lo }
    }

    /// What a value outside says: `must be between 0 and 5`, `must be above 0 and at most 20000`.
    pub fn message(self) -> String {
        if self.above_lo {
            format!("must be above {} and at most {}", self.lo, self.hi)
        } else {
            format!("must be between {} and {}", self.lo, self.hi)
        }
    }

    /// The range as a JSON schema: a number with `minimum` (or `exclusiveMinimum`) and `maximum`.
    pub fn schema(self) -> RefOr<Schema> {
        let b = ObjectBuilder::new().schema_type(Type::Number);
        let b = if self.above_lo { b.exclusive_minimum(Some(self.lo)) } else { b.minimum(Some(self.lo)) };
        b.maximum(Some(self.hi)).into()
    }
}

impl Checker {
    /// Records `field` unless `value` lies in `range`.
    pub fn whole(&mut self, field: &str, value: impl Into<i64>, range: Whole) {
        self.check(range.contains(value), field, range.message());
    }

    /// Records `field` unless `value` is finite and lies in `range`.
    pub fn real(&mut self, field: &str, value: f64, range: Real) {
        self.check(range.contains(value), field, range.message());
    }
}

/// Makes a marker type whose schema is a range's, for `#[schema(value_type = Marker, inline)]`
/// on a body field or `#[param(value_type = Option<Marker>, inline)]` on a query parameter: the
/// field keeps its own type and description, and the document takes the range from the constant.
#[macro_export]
macro_rules! documented_range {
    ($(#[$meta:meta])* $vis:vis $marker:ident = $range:expr) => {
        $(#[$meta])*
        $vis struct $marker;

        impl utoipa::PartialSchema for $marker {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $range.schema()
            }
        }

        impl utoipa::ToSchema for $marker {}
    };
}

/// A user's age.
pub const AGE: Whole = Whole::new(13, 120);
/// A latitude, in degrees.
pub const LAT: Real = Real::new(-90.0, 90.0);
/// A longitude, in degrees.
pub const LNG: Real = Real::new(-180.0, 180.0);
/// A user's activity and social scores, and a preference's openness.
pub const SCORE: Real = Real::new(0.0, 1.0);
/// A venue's price level, and the price range of a user's preferences.
pub const PRICE_LEVEL: Whole = Whole::new(1, 4);
/// A venue's rating.
pub const RATING: Real = Real::new(0.0, 5.0);
/// A venue's seats.
pub const CAPACITY: Whole = Whole::new(1, 100_000);
/// The people of one booking or plan, organizer included.
pub const PARTY_SIZE: Whole = Whole::new(1, MAX_PARTY as i64);
/// The group size a user prefers.
pub const GROUP_SIZE: Whole = Whole::new(1, 20);
/// Seconds spent looking at a venue (a day at most).
pub const DWELL_SECONDS: Whole = Whole::new(0, 86_400);
/// How many items one page of a list holds.
pub const PAGE_LIMIT: Whole = Whole::new(1, crate::page::MAX_LIMIT as i64);

documented_range!(pub AgeRange = AGE);
documented_range!(pub LatRange = LAT);
documented_range!(pub LngRange = LNG);
documented_range!(pub ScoreRange = SCORE);
documented_range!(pub PriceLevelRange = PRICE_LEVEL);
documented_range!(pub RatingRange = RATING);
documented_range!(pub CapacityRange = CAPACITY);
documented_range!(pub PartySizeRange = PARTY_SIZE);
documented_range!(pub GroupSizeRange = GROUP_SIZE);
documented_range!(pub DwellSecondsRange = DWELL_SECONDS);
documented_range!(pub PageLimitRange = PAGE_LIMIT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_says_what_it_takes() {
        assert!(AGE.contains(13) && AGE.contains(120) && !AGE.contains(12) && !AGE.contains(121));
        let radius = Real::above(0.0, 10.0);
        assert!(!radius.contains(0.0) && radius.contains(10.0) && !radius.contains(f64::NAN));
        assert!(!SCORE.contains(f64::INFINITY) && SCORE.contains(0.0));
        assert_eq!(radius.message(), "must be above 0 and at most 10");
        assert_eq!(RATING.message(), "must be between 0 and 5");
    }
}
