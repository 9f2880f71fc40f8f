//! Users, their tastes (preferences) and the seven personas of the first seed document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ValidationError;
use crate::error::Checker;

/// The seven behaviour archetypes of the first seed document; they drive seeding and simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    SocialButterfly,
    FoodieExplorer,
    RoutineRegular,
    EventOrganizer,
    /// Also read as `spontaneous`, the first seed document's value.
    #[serde(alias = "spontaneous")]
    SpontaneousDiner,
    BusyProfessional,
    BudgetConscious,
}

impl Persona {
    pub const ALL: [Persona; 7] = [
        Persona::SocialButterfly,
        Persona::FoodieExplorer,
        Persona::RoutineRegular,
        Persona::EventOrganizer,
        Persona::SpontaneousDiner,
        Persona::BusyProfessional,
        Persona::BudgetConscious,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Persona::SocialButterfly => "social_butterfly",
            Persona::FoodieExplorer => "foodie_explorer",
            Persona::RoutineRegular => "routine_regular",
            Persona::EventOrganizer => "event_organizer",
            Persona::SpontaneousDiner => "spontaneous_diner",
            Persona::BusyProfessional => "busy_professional",
            Persona::BudgetConscious => "budget_conscious",
        }
    }

    /// Reads a wire name, or `spontaneous` (the first seed document's name for spontaneous diners).
    pub fn parse(s: &str) -> Option<Self> {
        if s == "spontaneous" {
            return Some(Persona::SpontaneousDiner);
        }
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The display name used by the first seed document ("Social Butterfly").
    pub fn display_name(self) -> &'static str {
        match self {
            Persona::SocialButterfly => "Social Butterfly",
            Persona::FoodieExplorer => "Foodie Explorer",
            Persona::RoutineRegular => "Routine Regular",
            Persona::EventOrganizer => "Event Organizer",
            Persona::SpontaneousDiner => "Spontaneous Diner",
            Persona::BusyProfessional => "Busy Professional",
            Persona::BudgetConscious => "Budget Conscious",
        }
    }
}

/// A person using Luna. `handle` is unique (stored lower-case); `email` is unique when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
    pub email: Option<String>,
    pub age: Option<i32>,
    pub avatar_url: Option<String>,
    pub home_lat: Option<f64>,
    pub home_lng: Option<f64>,
    pub city: Option<String>,
    /// Which archetype the simulator plays this user as; `null` for people, whom it leaves
    /// alone. Set by the system (seeding, the simulator) or the admin, never by users.
    pub persona: Option<Persona>,
    /// How active the user is, 0 to 1. Set by the system or the admin, never by users: the
    /// recommender trusts it.
    pub activity_score: f64,
    /// How social the user is, 0 to 1. Set by the system or the admin, never by users: the
    /// recommender trusts it.
    pub social_score: f64,
    #[serde(serialize_with = "crate::time::micros")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::micros")]
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST /users/`: the second seed document's fields plus Luna's optional ones.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// 3 to 30 characters of ASCII letters, digits, `_`, `.` or `-`; unique, case-insensitive.
    pub handle: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::AgeRange>, inline)]
    pub age: Option<i32>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::LatRange>, inline)]
    pub home_lat: Option<f64>,
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::LngRange>, inline)]
    pub home_lng: Option<f64>,
    #[serde(default)]
    pub city: Option<String>,
    /// System-owned: only the admin may give it (anyone else gets a 403, or a 401 without a
    /// credential, naming it).
    #[serde(default)]
    pub persona: Option<Persona>,
    /// Default 0.5. System-owned: only the admin may give it (anyone else gets a 403, or a 401
    /// without a credential, naming it).
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::ScoreRange>, inline)]
    pub activity_score: Option<f64>,
    /// Default 0.5. System-owned: only the admin may give it (anyone else gets a 403, or a 401
    /// without a credential, naming it).
    #[serde(default)]
    #[schema(value_type = Option<crate::limits::ScoreRange>, inline)]
    pub social_score: Option<f64>,
    /// Optional tastes, stored with the user in the same transaction.
    #[serde(default, deserialize_with = "object_or_null::deserialize")]
    pub preferences: Option<PreferencesInput>,
    /// Optional; 8 to 128 characters, counted in Unicode NFC, the form it is hashed in. Lets the
    /// user get tokens at `POST /api/v1/auth/token`. Stored only as an Argon2id hash and never
    /// returned.
    #[serde(default)]
    #[schema(value_type = Option<String>, write_only, min_length = 8, max_length = 128, format = Password)]
    pub password: Option<Password>,
}

/// The fields of a user that the system owns: seeding and the simulator set them (the persona
/// the simulator plays, the activity and social scores the recommender trusts), and so may the
/// admin. A body from anyone else that gives one is refused, naming it, and changes nothing.
pub const SYSTEM_OWNED_FIELDS: [&str; 3] = ["persona", "activity_score", "social_score"];

impl UserInput {
    /// The [`SYSTEM_OWNED_FIELDS`] this body gives, in that order.
    pub fn system_owned_fields(&self) -> Vec<&'static str> {
        given(self.persona.is_some(), self.activity_score.is_some(), self.social_score.is_some())
    }
}

impl UserPatchInput {
    /// The [`SYSTEM_OWNED_FIELDS`] this patch sets or clears, in that order.
    pub fn system_owned_fields(&self) -> Vec<&'static str> {
        given(self.persona.is_some(), self.activity_score.is_some(), self.social_score.is_some())
    }
}

fn given(persona: bool, activity: bool, social: bool) -> Vec<&'static str> {
    SYSTEM_OWNED_FIELDS.into_iter().zip([persona, activity, social]).filter(|(_, g)| *g).map(|(f, _)| f).collect()
}

/// A password as a client sent it. Its `Debug` hides it, so it never reaches a log.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Shortest and longest accepted length, in characters of the password's NFC form.
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form the password is hashed and checked in: Unicode NFC (RFC 8265's OpaqueString
    /// profile), so "café" typed as one `é` on one device and as `e` plus a combining accent on
    /// another (as some keyboards and password managers send it) is the same password.
    pub fn normalized(&self) -> String {
        crate::error::nfc(&self.0)
    }

    /// Checks the length rule, reporting on `field`. The password is hashed in Unicode NFC
    /// (`app::auth`), so the rule counts the characters of that form: "é" sent as `e` plus a
    /// combining accent (NFD) is one character, not two, and a character that NFC writes as
    /// two (such as U+0958) counts as two.
    pub fn check(&self, c: &mut Checker, field: &str) {
        let n = self.normalized().chars().count();
        c.check(
            (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n),
            field,
            format!("must be {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
        );
    }
}

/// A user that passed validation and can be stored as is.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
    pub email: Option<String>,
    pub age: Option<i32>,
    pub avatar_url: Option<String>,
    pub home_lat: Option<f64>,
    pub home_lng: Option<f64>,
    pub city: Option<String>,
    pub persona: Option<Persona>,
    pub activity_score: f64,
    pub social_score: f64,
    pub preferences: Option<UserPreferences>,
    /// The password's Argon2id hash, stored with the user in the same transaction. `parse`
    /// checks the password and leaves this `None`: hashing is slow, the service does it.
    pub password_hash: Option<String>,
}

fn check_handle(c: &mut Checker, handle: &str) -> String {
    let h = handle.trim().to_lowercase();
    let ok_chars = h.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
    c.check(
        (3..=30).contains(&h.len()) && ok_chars,
        "handle",
        "must be 3 to 30 ASCII letters (a to z), digits, '_', '.' or '-'",
    );
    h
}

/// An avatar address: an `http` or `https` URL without spaces (a client puts it in an `href` or
/// an image source, where `javascript:` or `data:` would run or smuggle content).
fn check_avatar(c: &mut Checker, url: Option<&str>) -> Option<String> {
    let u = c.opt_text("avatar_url", url, 500)?;
    let lower = u.to_ascii_lowercase();
    let web = ["http://", "https://"].iter().any(|p| lower.starts_with(p) && lower.len() > p.len());
    c.check(web && !u.contains(char::is_whitespace), "avatar_url", "must be an http or https URL");
    Some(u)
}

fn check_email(c: &mut Checker, email: Option<&str>) -> Option<String> {
    let e = c.opt_text("email", email, 254)?.to_lowercase();
    let valid = e.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
    }) && !e.contains(char::is_whitespace);
    c.check(valid, "email", "must be an email address");
    Some(e)
}

fn check_location(c: &mut Checker, lat: Option<f64>, lng: Option<f64>) {
    c.check(lat.is_some() == lng.is_some(), "home_lng", "home_lat and home_lng go together");
    if let Some(lat) = lat {
        c.real("home_lat", lat, crate::limits::LAT);
    }
    if let Some(lng) = lng {
        c.real("home_lng", lng, crate::limits::LNG);
    }
}

fn check_common(c: &mut Checker, age: Option<i32>, activity: Option<f64>, social: Option<f64>) {
    if let Some(age) = age {
        c.whole("age", age, crate::limits::AGE);
    }
    if let Some(a) = activity {
        c.real("activity_score", a, crate::limits::SCORE);
    }
    if let Some(s) = social {
        c.real("social_score", s, crate::limits::SCORE);
    }
}

impl NewUser {
    pub fn parse(input: UserInput) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let handle = check_handle(&mut c, &input.handle);
        let name = c.text("name", &input.name, 100);
        let email = check_email(&mut c, input.email.as_deref());
        let avatar_url = check_avatar(&mut c, input.avatar_url.as_deref());
        let city = c.opt_text("city", input.city.as_deref(), 100);
        check_location(&mut c, input.home_lat, input.home_lng);
        check_common(&mut c, input.age, input.activity_score, input.social_score);
        let preferences = input.preferences.map(|p| c.absorb(UserPreferences::parse(p, "preferences")));
        if let Some(password) = &input.password {
            password.check(&mut c, "password");
        }
        let value = Self {
            id: crate::new_id(),
            handle,
            name,
            email,
            age: input.age,
            avatar_url,
            home_lat: input.home_lat,
            home_lng: input.home_lng,
            city,
            persona: input.persona,
            activity_score: input.activity_score.unwrap_or(0.5),
            social_score: input.social_score.unwrap_or(0.5),
            preferences: preferences.flatten(),
            password_hash: None,
        };
        c.finish(value)
    }
}

/// The body of a user update: every field optional; `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    #[serde(default, deserialize_with = "non_null::deserialize")]
    #[schema(nullable = false)]
    pub handle: Option<String>,
    #[serde(default, deserialize_with = "non_null::deserialize")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::limits::AgeRange>, inline)]
    pub age: Option<Option<i32>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// Set with `home_lng`, or both `null` to forget the home location.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::limits::LatRange>, inline)]
    pub home_lat: Option<Option<f64>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::limits::LngRange>, inline)]
    pub home_lng: Option<Option<f64>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    /// System-owned: only the admin may set or clear it (anyone else gets a 403, or a 401
    /// without a credential, naming it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Persona>)]
    pub persona: Option<Option<Persona>>,
    /// System-owned: only the admin may set it (anyone else gets a 403, or a 401 without a
    /// credential, naming it).
    #[serde(default, deserialize_with = "non_null::deserialize")]
    #[schema(value_type = crate::limits::ScoreRange, inline)]
    pub activity_score: Option<f64>,
    /// System-owned: only the admin may set it (anyone else gets a 403, or a 401 without a
    /// credential, naming it).
    #[serde(default, deserialize_with = "non_null::deserialize")]
    #[schema(value_type = crate::limits::ScoreRange, inline)]
    pub social_score: Option<f64>,
}

/// A validated partial update of a user. `Some(None)` clears a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub handle: Option<String>,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub age: Option<Option<i32>>,
    pub avatar_url: Option<Option<String>>,
    /// `Some(None)` forgets the home location.
    pub home: Option<Option<(f64, f64)>>,
    pub city: Option<Option<String>>,
    pub persona: Option<Option<Persona>>,
    pub activity_score: Option<f64>,
    pub social_score: Option<f64>,
}

impl UserPatch {
    pub fn parse(input: UserPatchInput) -> Result<Self, ValidationError> {
        let mut c = Checker::new();
        let handle = input.handle.as_deref().map(|h| check_handle(&mut c, h));
        let name = input.name.as_deref().map(|n| c.text("name", n, 100));
        let email = input.email.map(|e| check_email(&mut c, e.as_deref()));
        let avatar_url = input.avatar_url.map(|a| check_avatar(&mut c, a.as_deref()));
        let city = input.city.map(|a| c.opt_text("city", a.as_deref(), 100));
        // Both given (set or cleared together) or neither; said once.
        if input.home_lat.is_some() == input.home_lng.is_some() {
            check_location(&mut c, input.home_lat.flatten(), input.home_lng.flatten());
        } else {
            c.check(false, "home_lng", "home_lat and home_lng go together");
        }
        check_common(&mut c, input.age.flatten(), input.activity_score, input.social_score);
        let patch = Self {
            handle,
            name,
            email,
            age: input.age,
            avatar_url,
            home: input.home_lat.zip(input.home_lng).map(|(lat, lng)| lat.zip(lng)),
            city,
            persona: input.persona,
            activity_score: input.activity_score,
            social_score: input.social_score,
        };
        c.finish(patch)
    }

    /// Applies the patch to a user in memory (the store does the same in SQL).
    pub fn apply(&self, u: &mut User) {
        if let Some(h) = &self.handle {
            u.handle = h.clone();
        }
        if let Some(n) = &self.name {
            u.name = n.clone();
        }
        if let Some(e) = &self.email {
            u.email = e.clone();
        }
        if let Some(a) = self.age {
            u.age = a;
        }
        if let Some(a) = &self.avatar_url {
            u.avatar_url = a.clone();
        }
        if let Some(home) = self.home {
            (u.home_lat, u.home_lng) = (home.map(|h| h.0), home.map(|h| h.1));
        }
        if let Some(c) = &self.city {
            u.city = c.clone();
        }
        if let Some(p) = self.persona {
            u.persona = p;
        }
        if let Some(a) = self.activity_score {
            u.activity_score = a;
        }
        if let Some(s) = self.social_score {
            u.social_score = s;
        }
    }
}

/// A user's tastes (the first seed document's UserPreferences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserPreferences {
    /// Lower-case cuisine names such as `japanese`, `ramen`, `italian`.
    pub cuisines: Vec<String>,
    /// Cheapest acceptable price level, 1 to 4.
    pub price_min: i16,
    /// Dearest acceptable price level, 1 to 4, at least `price_min`.
    pub price_max: i16,
    /// Ambiance tags such as `cozy`, `lively`, `rooftop`.
    pub ambiance: Vec<String>,
    /// Dietary needs such as `vegetarian`, `vegan`, `gluten_free`, `halal`.
    pub dietary: Vec<String>,
    /// Usual party size, 1 to 20.
    pub preferred_group_size: i16,
    /// Openness to meeting new people, 0 to 1.
    pub openness: f64,
}

impl Default for UserPreferences {
    fn default() -> Self {
        Self {
            cuisines: vec![],
            price_min: 1,
            price_max: 4,
            ambiance: vec![],
            dietary: vec![],
            preferred_group_size: 2,
            openness: 0.5,
        }
    }
}

/// The body of `PUT /api/v1/users/{id}/preferences`; omitted fields take their defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// Left out or `null`: none.
    #[serde(default, deserialize_with = "null_as_empty::deserialize")]
    pub cuisines: Vec<String>,
    #[schema(value_type = Option<crate::limits::PriceLevelRange>, inline)]
    pub price_min: Option<i16>,
    #[schema(value_type = Option<crate::limits::PriceLevelRange>, inline)]
    pub price_max: Option<i16>,
    /// Left out or `null`: none.
    #[serde(default, deserialize_with = "null_as_empty::deserialize")]
    pub ambiance: Vec<String>,
    /// Needs, each one of vegetarian, vegan, gluten_free, halal (`-` or a space reads as `_`).
    /// Left out or `null`: none.
    #[serde(default, deserialize_with = "null_as_empty::deserialize")]
    pub dietary: Vec<String>,
    #[schema(value_type = Option<crate::limits::GroupSizeRange>, inline)]
    pub preferred_group_size: Option<i16>,
    #[schema(value_type = Option<crate::limits::ScoreRange>, inline)]
    pub openness: Option<f64>,
}

/// The dietary needs a user can state: those venues are tagged for. A venue serves a need when
/// one of its tags is the need itself, `{need}_options` or `{need}_friendly`.
pub const DIETARY_NEEDS: [&str; 4] = ["vegetarian", "vegan", "gluten_free", "halal"];

impl UserPreferences {
    pub fn parse(input: PreferencesInput, prefix: &str) -> Result<Self, ValidationError> {
        let f = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        let d = Self::default();
        let mut c = Checker::new();
        let cuisines = c.tags(&f("cuisines"), &input.cuisines, 20);
        let ambiance = c.tags(&f("ambiance"), &input.ambiance, 20);
        // A need is matched against venue tags: one no venue is tagged for (a typo, or a need the
        // catalogue does not know) would hide every place to eat without a word, so only known
        // needs are taken ("gluten-free" is read as gluten_free). Each is named at its own index.
        let normal = |d: &str| d.trim().to_lowercase().replace(['-', ' '], "_");
        for (i, need) in input.dietary.iter().enumerate() {
            let need = normal(need);
            c.check(
                DIETARY_NEEDS.contains(&need.as_str()),
                &format!("{}[{i}]", f("dietary")),
                format!("unknown dietary need {need:?}; known: {}", DIETARY_NEEDS.join(", ")),
            );
        }
        let normalised: Vec<String> = input.dietary.iter().map(|d| normal(d)).collect();
        let dietary = c.tags(&f("dietary"), &normalised, 10);
        let price_min = input.price_min.unwrap_or(d.price_min);
        let price_max = input.price_max.unwrap_or(d.price_max);
        c.whole(&f("price_min"), price_min, crate::limits::PRICE_LEVEL);
        c.whole(&f("price_max"), price_max, crate::limits::PRICE_LEVEL);
        c.check(price_min <= price_max, &f("price_max"), "must be at least price_min");
        let preferred_group_size = input.preferred_group_size.unwrap_or(d.preferred_group_size);
        c.whole(&f("preferred_group_size"), preferred_group_size, crate::limits::GROUP_SIZE);
        let openness = input.openness.unwrap_or(d.openness);
        c.real(&f("openness"), openness, crate::limits::SCORE);
        c.finish(Self { cuisines, price_min, price_max, ambiance, dietary, preferred_group_size, openness })
    }
}

/// Serde helper: tells a missing field (`None`) from an explicit `null` (`Some(None)`).
pub mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// For `#[serde(default, deserialize_with = "non_null::deserialize")]`: a field a patch may
/// leave out but not set to `null` (it cannot be cleared), a 422 naming it.
pub mod non_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Option::<T>::deserialize(d)?
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("cannot be null: leave the field out to keep its value"))
    }
}

/// `#[serde(default, deserialize_with = "null_as_empty::deserialize")]` on an optional list of a
/// request body: `null` reads as the list left out (empty), as the first seed's clients send
/// `Optional[List] = None` fields.
pub mod null_as_empty {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

/// `#[serde(default, deserialize_with = "object_or_null::deserialize")]` on an optional object
/// inside a request body: a JSON array is refused ("expected a JSON object"), as the API refuses
/// one for the body itself, where serde would fill the struct's fields from it by position.
pub mod object_or_null {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        struct ObjectOrNull<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOrNull<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Some)
            }
        }
        d.deserialize_any(ObjectOrNull(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_may_clear_optional_fields_but_not_set_required_ones_to_null() {
        let patch = |json: &str| serde_json::from_str::<UserPatchInput>(json);
        for field in ["handle", "name", "activity_score", "social_score"] {
            let err = patch(&format!("{{\"{field}\": null}}")).unwrap_err().to_string();
            assert!(err.contains("cannot be null"), "{field}: {err}");
        }
        let cleared = UserPatch::parse(patch(r#"{"email": null, "city": null}"#).unwrap()).unwrap();
        assert_eq!((cleared.email, cleared.city), (Some(None), Some(None)));
        assert_eq!(UserPatch::parse(patch("{}").unwrap()).unwrap(), UserPatch::default());
    }

    #[test]
    fn half_a_home_location_is_one_error() {
        let input = UserPatchInput { home_lat: Some(Some(40.7)), ..Default::default() };
        let errs = UserPatch::parse(input).unwrap_err().0;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "home_lng");
    }

    /// The length rule holds for what is hashed, the NFC form: seven "é" sent decomposed
    /// (NFD, 14 characters) are 7 hashed, too short; 65 U+0958 (composition-excluded, two
    /// characters each in NFC) are 130 hashed, too long.
    #[test]
    fn the_password_length_rule_counts_the_characters_of_the_nfc_form() {
        let errors = |p: String| {
            let mut c = Checker::new();
            Password(p).check(&mut c, "password");
            c.finish(()).err().map(|e| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>()).unwrap_or_default()
        };
        let nfd_short = "e\u{301}".repeat(7);
        assert_eq!(nfd_short.chars().count(), 14);
        assert_eq!(errors(nfd_short), ["password"], "7 characters once normalized");
        let nfc_long = "\u{958}".repeat(65);
        assert_eq!(errors(nfc_long), ["password"], "130 characters once normalized");
        assert!(errors("\u{e9}".repeat(8)).is_empty() && errors("e\u{301}".repeat(8)).is_empty());
        assert!(errors("\u{958}".repeat(64)).is_empty(), "128 characters once normalized");
    }

    #[test]
    fn the_first_seeds_spontaneous_is_a_spontaneous_diner() {
        assert_eq!(serde_json::from_str::<Persona>(r#""spontaneous""#).unwrap(), Persona::SpontaneousDiner);
        assert_eq!(Persona::parse("spontaneous"), Some(Persona::SpontaneousDiner));
        assert_eq!(serde_json::to_string(&Persona::SpontaneousDiner).unwrap(), r#""spontaneous_diner""#);
    }

    fn input(handle: &str) -> UserInput {
        UserInput { handle: handle.into(), name: "Alice Chen".into(), ..Default::default() }
    }

    #[test]
    fn hidden_characters_and_non_web_avatars_are_refused_naming_the_field() {
        let fields = |i: UserInput| NewUser::parse(i).map(|_| Vec::new()).unwrap_or_else(|e| e.0);
        for name in ["Bob\u{0}", "Bob\u{7}", "\u{202E}boB", "Bob\u{2066}x"] {
            let errs = fields(UserInput { name: name.into(), ..input("bob") });
            assert_eq!(errs.len(), 1, "{name:?}: {errs:?}");
            assert_eq!(errs[0].field, "name");
            assert!(errs[0].message.contains("control characters (found U+"), "{errs:?}");
        }
        // QA: a name of zero-width characters alone was taken, and listed as a blank name.
        for name in ["\u{200B}", " \u{200B}\u{FEFF} ", "\u{2060}\u{200D}", "\u{3164}"] {
            let errs = fields(UserInput { name: name.into(), ..input("bob") });
            let errs: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
            assert_eq!(errs, [("name", "must not be empty")], "{name:?}");
        }
        // QA: so was one of a variation selector, a tag, a Mongolian free variation selector or the
        // blank Braille pattern alone (shown blank as well).
        for name in ["\u{FE0F}", "\u{E0020}", "\u{180B}", "\u{2800}", "\u{2800}\u{200B} \u{E0001}", "\u{1D173}"] {
            let errs = fields(UserInput { name: name.into(), ..input("bob") });
            let errs: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
            assert_eq!(errs, [("name", "must not be empty")], "{name:?}");
        }
        let heart = NewUser::parse(UserInput { name: "Ann \u{2764}\u{FE0F}".into(), ..input("bob") });
        assert_eq!(
            heart.expect("a name with a variation selector after a visible character").name,
            "Ann \u{2764}\u{FE0F}"
        );
        let joined = NewUser::parse(UserInput { name: "Zoë 👩\u{200D}💻".into(), ..input("bob") });
        assert_eq!(joined.expect("a name with a joiner between visible characters").name, "Zoë 👩\u{200D}💻");
        for url in ["javascript:alert(1)", "data:text/html,x", "https://", "https://a.b/x y", "//a.b/c.png"] {
            let errs = fields(UserInput { avatar_url: Some(url.into()), ..input("bob") });
            assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["avatar_url"], "{url}");
        }
        let ok = UserInput {
            avatar_url: Some(" HTTPS://cdn.example/a.png ".into()),
            name: "Zoë Åsa 李".into(),
            ..input("bob")
        };
        assert_eq!(NewUser::parse(ok).unwrap().avatar_url.as_deref(), Some("HTTPS://cdn.example/a.png"));
        let patch = UserPatchInput { avatar_url: Some(Some("javascript:x".into())), ..Default::default() };
        assert_eq!(UserPatch::parse(patch).unwrap_err().0[0].field, "avatar_url");
    }

    #[test]
    fn handles_are_lower_cased_and_checked() {
        assert_eq!(NewUser::parse(input(" Alice ")).unwrap().handle, "alice");
        let e = NewUser::parse(input("a b")).unwrap_err();
        assert_eq!(e.0[0].field, "handle");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input("al");
        i.age = Some(7);
        i.email = Some("nope".into());
        i.home_lat = Some(100.0);
        i.home_lng = Some(0.0);
        let fields: Vec<_> = NewUser::parse(i).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["handle", "email", "home_lat", "age"]);
    }

    #[test]
    fn only_known_dietary_needs_are_taken_each_unknown_one_named() {
        let input =
            |d: &[&str]| PreferencesInput { dietary: d.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let p = UserPreferences::parse(input(&["Gluten-Free", "gluten_free", " vegan "]), "").unwrap();
        assert_eq!(p.dietary, ["gluten_free", "vegan"]);
        let e = UserPreferences::parse(input(&["vegan", "vegan", "vegann", "kosher"]), "preferences").unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["preferences.dietary[2]", "preferences.dietary[3]"], "at the index the client sent");
        assert!(e.0[0].message.contains("\"vegann\"") && e.0[0].message.contains("halal"), "{e:?}");
    }

    #[test]
    fn preferences_refuse_an_inverted_price_range() {
        let p = PreferencesInput { price_min: Some(3), price_max: Some(2), ..Default::default() };
        assert_eq!(UserPreferences::parse(p, "").unwrap_err().0[0].field, "price_max");
    }
}
