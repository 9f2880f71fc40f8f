//! Venues: places people go (restaurants, bars, cafes, music, comedy, karaoke, sports).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Checker;
use crate::user::double_option;
use crate::{OpeningHours, Timestamp, ValidationError};

/// What kind of place a venue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Restaurant,
    Bar,
    Cafe,
    Music,
    Comedy,
    Karaoke,
    Sports,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Restaurant,
        Category::Bar,
        Category::Cafe,
        Category::Music,
        Category::Comedy,
        Category::Karaoke,
        Category::Sports,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Restaurant => "restaurant",
            Category::Bar => "bar",
            Category::Cafe => "cafe",
            Category::Music => "music",
            Category::Comedy => "comedy",
            Category::Karaoke => "karaoke",
            Category::Sports => "sports",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What places of the category are called, in the plural, for sentences ("the karaoke
    /// bars you enjoy").
    pub fn places(self) -> &'static str {
        match self {
            Category::Restaurant => "restaurants",
            Category::Bar => "bars",
            Category::Cafe => "cafes",
            Category::Music => "music venues",
            Category::Comedy => "comedy clubs",
            Category::Karaoke => "karaoke bars",
            Category::Sports => "sports bars",
        }
    }

    /// Minutes a party usually holds its seats (the booking turn time).
    pub fn turn_minutes(self) -> u16 {
        match self {
            Category::Cafe => 60,
            Category::Restaurant | Category::Bar | Category::Karaoke => 120,
            Category::Music | Category::Comedy | Category::Sports => 180,
        }
    }

    /// Seats a venue of this kind has when none are given.
    pub fn default_capacity(self) -> i32 {
        match self {
            Category::Cafe => 30,
            Category::Restaurant => 60,
            Category::Bar | Category::Karaoke => 80,
            Category::Comedy => 120,
            Category::Music | Category::Sports => 200,
        }
    }
}

/// A place. `price_level` is 1 to 4 and `rating` 0 to 5 when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Venue {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: Category,
    /// Lower-case cuisine such as `japanese` (restaurants and cafes mostly).
    pub cuisine: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub price_level: Option<i16>,
    pub rating: Option<f64>,
    /// Seats available for bookings at one time.
    pub capacity: i32,
    /// Feature and ambiance tags such as `rooftop`, `cozy`, `vegan_options`, `live_music`.
    pub tags: Vec<String>,
    /// Weekly hours in local time; `null` means unknown (treated as always open).
    pub opening_hours: Option<OpeningHours>,
    /// IANA time zone of the venue, such as `America/New_York`.
    pub timezone: String,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::micros")]
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST /venues/`: the second seed document's fields plus Luna's optional ones.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub category: Category,
    #[serde(default)]
    pub cuisine: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[schema(value_type = crate::limits::LatRange, inline)]
    pub lat: f64,
    #[schema(value_type = crate::limits::LngRange, inline)]
    pub lng: f64,
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::PriceLevelRange>, inline)]
    pub price_level: Option<i16>,
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::RatingRange>, inline)]
    pub rating: Option<f64>,
    /// Default: by category (30 for a cafe to 200 for a music or sports venue).
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::CapacityRange>, inline)]
    pub capacity: Option<i32>,
    /// Left out or `null`: none.
    #[serde(default, deserialize_with = "crate::user::null_as_empty::deserialize")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub opening_hours: Option<OpeningHours>,
    /// IANA time zone, such as `Asia/Tokyo`. Left out or `null`: the zone at `lat`, `lng`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A venue that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVenue {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category: Category,
    pub cuisine: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub price_level: Option<i16>,
    pub rating: Option<f64>,
    pub capacity: i32,
    pub tags: Vec<String>,
    pub opening_hours: Option<OpeningHours>,
    pub timezone: String,
}

/// The default time zone (the demo city is New York).
pub const DEFAULT_TIMEZONE: &str = "America/New_York";

/// The IANA time zone at `lat`, `lng` (out at sea, a nautical zone such as `Etc/GMT-9`), by the
/// time zone boundaries bundled with `tzf-rs`; [`DEFAULT_TIMEZONE`] for a place out of range or
/// a zone chrono-tz does not know. The boundaries load on the first call (about 0.1 s, 30 MiB).
pub fn timezone_at(lat: f64, lng: f64) -> String {
    static FINDER: std::sync::LazyLock<tzf_rs::DefaultFinder> = std::sync::LazyLock::new(tzf_rs::DefaultFinder::new);
    if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)) {
        return DEFAULT_TIMEZONE.into();
    }
    let name = FINDER.get_tz_name(lng, lat);
    if name.parse::<chrono_tz::Tz>().is_ok() { name.to_string() } else { DEFAULT_TIMEZONE.into() }
}

fn check_price(c: &mut Checker, p: Option<i16>) {
    if let Some(p) = p {
        c.whole("price_level", p, crate::limits::PRICE_LEVEL);
    }
}

fn check_rating(c: &mut Checker, r: Option<f64>) {
    if let Some(r) = r {
        c.real("rating", r, crate::limits::RATING);
    }
}

fn check_capacity(c: &mut Checker, cap: Option<i32>) {
    if let Some(cap) = cap {
        c.whole("capacity", cap, crate::limits::CAPACITY);
    }
}

fn check_timezone(c: &mut Checker, tz: Option<&str>) -> Option<String> {
    let tz = tz?.trim();
    c.check(tz.parse::<chrono_tz::Tz>().is_ok(), "timezone", "must be an IANA time zone such as America/New_York");
    Some(tz.to_string())
}

impl NewVenue {
    pub fn parse(input: VenueInput) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let name = c.text("name", &input.name, 200);
        let description = c.opt_text("description", input.description.as_deref(), 2000);
        let cuisine = c.opt_text("cuisine", input.cuisine.as_deref(), 40).map(|s| s.to_lowercase());
        let address = c.opt_text("address", input.address.as_deref(), 300);
        let city = c.opt_text("city", input.city.as_deref(), 100);
        c.real("lat", input.lat, crate::limits::LAT);
        c.real("lng", input.lng, crate::limits::LNG);
        check_price(&mut c, input.price_level);
        check_rating(&mut c, input.rating);
        check_capacity(&mut c, input.capacity);
        let tags = c.tags("tags", &input.tags, 30);
        if let Some(hours) = &input.opening_hours {
            hours.check_overlaps(&mut c, "opening_hours");
        }
        let timezone =
            check_timezone(&mut c, input.timezone.as_deref()).unwrap_or_else(|| timezone_at(input.lat, input.lng));
        let v = Self {
            id: crate::new_id(),
            name,
            description,
            category: input.category,
            cuisine,
            address,
            city,
            lat: input.lat,
            lng: input.lng,
            price_level: input.price_level,
            rating: input.rating,
            capacity: input.capacity.unwrap_or_else(|| input.category.default_capacity()),
            tags,
            opening_hours: input.opening_hours,
            timezone,
        };
        c.finish(v)
    }
}

/// The body of a venue update: every field optional; `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenuePatchInput {
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(nullable = false)]
    pub category: Option<Category>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub cuisine: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(value_type = crate::limits::LatRange, inline)]
    pub lat: Option<f64>,
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(value_type = crate::limits::LngRange, inline)]
    pub lng: Option<f64>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::limits::PriceLevelRange>, inline)]
    pub price_level: Option<Option<i16>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::limits::RatingRange>, inline)]
    pub rating: Option<Option<f64>>,
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(value_type = crate::limits::CapacityRange, inline)]
    pub capacity: Option<i32>,
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(nullable = false)]
    pub tags: Option<Vec<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<OpeningHours>)]
    pub opening_hours: Option<Option<OpeningHours>>,
    /// Left out: unchanged, unless `lat` and `lng` change: then the zone at the new place.
    #[serde(default, deserialize_with = "crate::user::non_null::deserialize")]
    #[schema(nullable = false)]
    pub timezone: Option<String>,
}

/// A validated partial update of a venue. `Some(None)` clears a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VenuePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<Category>,
    pub cuisine: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub location: Option<(f64, f64)>,
    pub price_level: Option<Option<i16>>,
    pub rating: Option<Option<f64>>,
    pub capacity: Option<i32>,
    pub tags: Option<Vec<String>>,
    pub opening_hours: Option<Option<OpeningHours>>,
    pub timezone: Option<String>,
    /// The zone at `location`, for a venue moved without `timezone`: it takes it only if
    /// `location` is not where it is already (a client sending its place again keeps its zone).
    pub zone_if_moved: Option<String>,
}

impl VenuePatch {
    pub fn parse(input: VenuePatchInput) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let name = input.name.as_deref().map(|n| c.text("name", n, 200));
        let description = input.description.map(|d| c.opt_text("description", d.as_deref(), 2000));
        let cuisine = input.cuisine.map(|d| c.opt_text("cuisine", d.as_deref(), 40).map(|s| s.to_lowercase()));
        let address = input.address.map(|d| c.opt_text("address", d.as_deref(), 300));
        let city = input.city.map(|d| c.opt_text("city", d.as_deref(), 100));
        c.check(input.lat.is_some() == input.lng.is_some(), "lng", "lat and lng go together");
        if let Some(lat) = input.lat {
            c.real("lat", lat, crate::limits::LAT);
        }
        if let Some(lng) = input.lng {
            c.real("lng", lng, crate::limits::LNG);
        }
        check_price(&mut c, input.price_level.flatten());
        check_rating(&mut c, input.rating.flatten());
        check_capacity(&mut c, input.capacity);
        let tags = input.tags.as_deref().map(|t| c.tags("tags", t, 30));
        if let Some(Some(hours)) = &input.opening_hours {
            hours.check_overlaps(&mut c, "opening_hours");
        }
        let timezone = check_timezone(&mut c, input.timezone.as_deref());
        // A venue moved without a time zone takes the zone of its new place.
        let location = input.lat.zip(input.lng);
        let zone_if_moved = location.filter(|_| timezone.is_none()).map(|(lat, lng)| timezone_at(lat, lng));
        let p = Self {
            name,
            description,
            category: input.category,
            cuisine,
            address,
            city,
            location,
            price_level: input.price_level,
            rating: input.rating,
            capacity: input.capacity,
            tags,
            opening_hours: input.opening_hours,
            timezone,
            zone_if_moved,
        };
        c.finish(p)
    }

    /// Applies the patch to a venue in memory.
    pub fn apply(&self, v: &mut Venue) {
        macro_rules! set {
            ($($f:ident),*) => {$( if let Some(x) = &self.$f { v.$f = x.clone(); } )*};
        }
        set!(
            name,
            description,
            category,
            cuisine,
            address,
            city,
            price_level,
            rating,
            capacity,
            tags,
            opening_hours,
            timezone
        );
        if let Some((lat, lng)) = self.location {
            if let Some(zone) = self.zone_if_moved.as_ref().filter(|_| (v.lat, v.lng) != (lat, lng)) {
                v.timezone = zone.clone();
            }
            v.lat = lat;
            v.lng = lng;
        }
    }
}

impl Venue {
    /// The venue's time zone (falls back to the default if the stored name is unknown).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::America::New_York)
    }

    /// Whether the venue is open at a UTC instant (unknown hours count as open).
    pub fn is_open_at(&self, at: Timestamp) -> bool {
        self.opening_hours.as_ref().is_none_or(|h| h.is_open_at(&at.with_timezone(&self.tz())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> VenueInput {
        serde_json::from_value(serde_json::json!({
            "name": "Sunset Rooftop Bar", "description": "Rooftop cocktails with skyline view.",
            "category": "bar", "lat": 40.7325, "lng": -73.99, "price_level": 3, "rating": 4.7
        }))
        .unwrap()
    }

    /// Text is kept in Unicode NFC and its length counted in that form (review of 7dba696: the
    /// store wrote NFC after the length was checked on the text as sent, and as U+0958 is two
    /// code points in NFC, 101 of them passed the 200-character rule and broke the column's).
    #[test]
    fn text_is_kept_in_nfc_and_its_length_counted_in_that_form() {
        let decomposed = VenueInput { name: "Cafe\u{301} Blanc".into(), tags: vec!["Cre\u{300}me".into()], ..input() };
        let v = NewVenue::parse(decomposed).unwrap();
        assert_eq!((v.name.as_str(), v.tags[0].as_str()), ("Caf\u{e9} Blanc", "cr\u{e8}me"));
        let patch = VenuePatchInput { description: Some(Some("nai\u{308}ve".into())), ..VenuePatchInput::default() };
        assert_eq!(VenuePatch::parse(patch).unwrap().description, Some(Some("na\u{ef}ve".into())));

        let growing = VenueInput { name: "\u{958}".repeat(101), ..input() };
        let err = NewVenue::parse(growing).unwrap_err();
        assert_eq!(err.0[0].field, "name", "{err}");
        assert!(NewVenue::parse(VenueInput { name: "\u{958}".repeat(100), ..input() }).is_ok());
    }

    #[test]
    fn the_seed_example_parses_with_defaults() {
        let v = NewVenue::parse(input()).unwrap();
        assert_eq!(v.capacity, 80);
        assert_eq!(v.timezone, DEFAULT_TIMEZONE);
    }

    /// Before, a venue given without a time zone was in New York's wherever it was: a bar in
    /// Tokyo opened 14 hours off.
    #[test]
    fn a_venue_without_a_time_zone_takes_the_zone_at_its_place_and_a_move_takes_the_new_one() {
        let mut tokyo = input();
        (tokyo.lat, tokyo.lng) = (35.68, 139.76);
        assert_eq!(NewVenue::parse(tokyo.clone()).unwrap().timezone, "Asia/Tokyo");
        tokyo.timezone = Some("Asia/Seoul".into());
        assert_eq!(NewVenue::parse(tokyo).unwrap().timezone, "Asia/Seoul", "a zone given stands");
        assert_eq!(timezone_at(0.0, -30.0), "Etc/GMT+2", "at sea");
        assert_eq!(timezone_at(91.0, 0.0), DEFAULT_TIMEZONE, "out of range");

        let venue = |tz: &str| Venue {
            id: crate::new_id(),
            name: "v".into(),
            description: None,
            category: Category::Bar,
            cuisine: None,
            address: None,
            city: None,
            lat: 40.73,
            lng: -73.93,
            price_level: None,
            rating: None,
            capacity: 10,
            tags: Vec::new(),
            opening_hours: None,
            timezone: tz.into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let patched = |input: VenuePatchInput, tz: &str| {
            let mut v = venue(tz);
            VenuePatch::parse(input).unwrap().apply(&mut v);
            v.timezone
        };
        let to_paris = VenuePatchInput { lat: Some(48.85), lng: Some(2.35), ..VenuePatchInput::default() };
        assert_eq!(patched(to_paris.clone(), "America/New_York"), "Europe/Paris");
        let given = VenuePatchInput { timezone: Some("Europe/Berlin".into()), ..to_paris };
        assert_eq!(patched(given, "America/New_York"), "Europe/Berlin");
        let renamed = VenuePatchInput { name: Some("New name".into()), ..VenuePatchInput::default() };
        assert_eq!(patched(renamed, "Asia/Tokyo"), "Asia/Tokyo", "a venue not moved keeps its zone");
        // Its place sent again is no move: a zone given before stands (QA 39).
        let same_place = VenuePatchInput { lat: Some(40.73), lng: Some(-73.93), ..VenuePatchInput::default() };
        assert_eq!(patched(same_place, "Asia/Tokyo"), "Asia/Tokyo");
    }

    #[test]
    fn out_of_range_price_and_rating_are_refused() {
        let mut i = input();
        i.price_level = Some(5);
        i.rating = Some(5.5);
        let fields: Vec<_> = NewVenue::parse(i).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["price_level", "rating"]);
    }

    #[test]
    fn unknown_categories_do_not_deserialize() {
        let r: Result<VenueInput, _> =
            serde_json::from_value(serde_json::json!({"name": "x", "category": "spa", "lat": 0, "lng": 0}));
        assert!(r.is_err());
    }
}
