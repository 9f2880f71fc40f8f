//! Whole-number body fields that have a range of their own (`users` 1 to 1,000,000 of a
//! simulation, `epochs` 1 to 10000 of a training, ...). A value the field's Rust type cannot
//! hold (`1.5`, `-3`, `1e20`, `"ten"`) is refused while the body is read, before the handler's
//! range check, and serde would name only the type's range there (`expected a whole number ≥ 0`
//! for a `usize`, QA: said of `users: 1.5` though the range is 1 to 1,000,000). A field read
//! with [`opt`] names its own range instead: `expected a whole number between 1 and 1000000`.
//! A whole number the type holds is passed on as it is, so the handler's check (which names
//! every field out of range in one 422) still judges it. The range is the one the OpenAPI
//! document states ([`crate::ranges`]).

use std::fmt;
use std::marker::PhantomData;

use domain::limits::Whole;
use serde::Deserializer;
use serde::de::{self, Visitor};

/// Reads an optional whole number of type `T` whose range is `range`; anything that is not a
/// whole number `T` holds is refused naming that range. `null` is `None`. Use with
/// `#[serde(default, deserialize_with = "...")]` through a function fixing the range.
pub fn opt<'de, D, T>(d: D, range: Whole) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    d.deserialize_any(Reader { lo: range.lo, hi: range.hi, ty: PhantomData })
}

struct Reader<T> {
    lo: i64,
    hi: i64,
    ty: PhantomData<T>,
}

impl<T> Reader<T> {
    fn refused<E: de::Error>(&self, written_as_float: bool) -> E {
        let how = if written_as_float { ", written without a decimal point" } else { "" };
        E::custom(format!("expected a whole number between {} and {}{how}", self.lo, self.hi))
    }
}

impl<'de, T: TryFrom<i128>> Visitor<'de> for Reader<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number between {} and {}", self.lo, self.hi)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::try_from(i128::from(v)).map(Some).map_err(|_| self.refused(false))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::try_from(i128::from(v)).map(Some).map_err(|_| self.refused(false))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `2.0` is a whole number in a float's clothing: JSON integers have no decimal point.
        let whole = v.is_finite() && v.fract() == 0.0 && T::try_from(v as i128).is_ok();
        Err(self.refused(whole))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.refused(false))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.refused(false))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.refused(false))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.refused(false))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "users")]
        users: Option<usize>,
    }

    fn users<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        super::opt(d, super::Whole::new(1, 1_000_000))
    }

    fn read(json: &str) -> Result<Option<usize>, String> {
        serde_json::from_str::<Body>(json).map(|b| b.users).map_err(|e| e.to_string())
    }

    #[test]
    fn a_value_the_type_cannot_hold_names_the_fields_range() {
        let range = "expected a whole number between 1 and 1000000";
        for sent in ["1.5", "-3", "1e20", "\"ten\"", "true", "[]", "{}"] {
            let e = read(&format!(r#"{{"users": {sent}}}"#)).unwrap_err();
            assert!(e.starts_with(range) && !e.contains("decimal point"), "{sent}: {e}");
        }
        let e = read(r#"{"users": 2.0}"#).unwrap_err();
        assert!(e.starts_with(&format!("{range}, written without a decimal point")), "{e}");
    }

    #[test]
    fn a_whole_number_the_type_holds_is_passed_on_for_the_range_check() {
        assert_eq!(read(r#"{"users": 5}"#), Ok(Some(5)));
        assert_eq!(read(r#"{"users": 0}"#), Ok(Some(0)), "the handler's range check names it");
        assert_eq!(read(r#"{"users": null}"#), Ok(None));
        assert_eq!(read("{}"), Ok(None));
    }
}
