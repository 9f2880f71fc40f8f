//! Our own extractors, so every rejection has the project's error shape and names the field:
//! [`AppJson`] (415 without a JSON content type, 413 over the body limit, 400 for text that is
//! not JSON, 422 naming the JSON path for a wrong type, unknown enum value or missing field),
//! [`AppPath`] (422 naming the path parameter, such as a malformed UUID) and [`AppQuery`]
//! (422 naming the query parameter, also one that is not UTF-8 once decoded). A body must be
//! a JSON object: an array is a 422 on `body` (serde would fill a struct from it by position),
//! and a number no type can hold (`1e999`) a 422 naming its field (an integer field asks for a
//! whole number in its range, as it does of `1e20`). A time, date, number or UUID that does not
//! parse says what the field expects (an RFC 3339 time with an offset, a whole number ≥ 0, a
//! smaller whole number, a UUID, a JSON object, ...), and a field given twice is named, instead
//! of the parser's bare complaint. [`NoOptions`] is the body of a `POST` that takes none: no
//! body or `{}`, any field a 422 naming it.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A JSON body in, or a JSON response out.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

/// Room reserved for an answer's JSON: most are a few kilobytes (ten explained venues are about
/// 7), so one allocation up front replaces growing from 128 bytes by doubling.
const JSON_CAPACITY: usize = 8 * 1024;

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(JSON_CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(e) => ApiError::Internal(format!("could not write the answer as JSON: {e}")).into_response(),
        }
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("could not read the request body: {}", r.body_text()))
        }
    }
}

/// Deserializes a JSON object, telling syntax errors (400) from shape errors (422 naming the
/// field). Every request body is an object: an array is refused here, once for all routes,
/// because serde would otherwise fill a struct's fields from it by position.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'[') {
        return Err(ApiError::field("body", "the body must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data => more_shape_errors::<T>(bytes, shape_error(&path, &message, None)),
            // Valid JSON that no number type holds (`1e999`): the value's fault, not the syntax's.
            serde_json::error::Category::Syntax if message.starts_with("number out of range") => {
                let field = if path == "." { "body".to_string() } else { path.clone() };
                let message = beyond_every_range::<T>(bytes, &path, inner.line(), inner.column())
                    .unwrap_or_else(|| "number out of range: expected a number of at most 1.7e308 in magnitude".into());
                ApiError::field(field, message)
            }
            // Valid JSON of the wrong kind where a name is expected (`null`, a number or `true`
            // for an enum): serde_json reports it as "expected value", a syntax error, though the
            // body parses. When it does not, the JSON's own error names the place it breaks (not
            // the enum's value, which may be fine JSON before a trailing comma).
            serde_json::error::Category::Syntax if message.starts_with("expected value") && path != "." => {
                match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                    Ok(_) => {
                        let named = names_expected::<T>(bytes, &path, inner.line(), inner.column());
                        more_shape_errors::<T>(bytes, ApiError::field(path, expected_names(named)))
                    }
                    Err(broken) => ApiError::MalformedJson(broken.to_string()),
                }
            }
            _ => ApiError::MalformedJson(message),
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if bytes.windows(3).any(|w| w == b":60") {
        let mut at = Vec::new();
        if let Ok(sent) = serde_json::from_slice::<serde_json::Value>(bytes) {
            leap_seconds(&sent, String::new(), &mut at);
        }
        if !at.is_empty() {
            return Err(ApiError::Validation(at.into_iter().map(leap_second_error).collect()));
        }
    }
    Ok(value)
}

/// Whether `text` is a time in a leap second (`2026-12-31T23:59:60Z`). chrono reads one, but
/// the API would write it back with `:60`, which JavaScript's `Date` (and so most clients)
/// cannot read, and it is not a second the booking calendar has: it is refused, naming it.
fn is_leap_second(text: &str) -> bool {
    use chrono::Timelike;
    // Every query parameter of every request comes here: only one with a `:60` is parsed.
    text.len() <= 64
        && text.contains(":60")
        && text.parse::<chrono::DateTime<chrono::FixedOffset>>().is_ok_and(|t| t.nanosecond() >= 1_000_000_000)
}

/// The 422 of a leap second at `field`.
fn leap_second_error(field: String) -> domain::FieldError {
    let message = "a leap second (:60) is not taken: give seconds 00 to 59, such as 2026-12-20T19:00:00Z".into();
    domain::FieldError { field, message }
}

/// The paths (as [`shape_error`] names fields: `a.b`, `a[1]`) of the strings in `value` that
/// are times in a leap second.
fn leap_seconds(value: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if is_leap_second(s) => {
            out.push(if path.is_empty() { "body".into() } else { path })
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leap_seconds(item, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(fields) => {
            for (k, v) in fields {
                leap_seconds(v, if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
            }
        }
        _ => {}
    }
}

/// The most fields one 422 names for a body of the wrong shape.
const MAX_SHAPE_ERRORS: usize = 20;

/// `first` (the parser's complaint, at the first bad field in the body's order) followed by
/// the other fields of the body that are of the wrong shape or missing, so a client fixes them
/// in one go: a bad field is taken out of the body, a missing required one filled in with a
/// stand-in of its type (see [`fill_in`]), and the rest read again, until it reads. A required
/// field taken out is not named again as missing, nor are the fields of a stand-in object. A
/// list's bad item takes its whole list out (its other items are not looked at). The fields
/// after the first are named in the order the parser meets them (by name; missing ones once
/// the fields given read). Rules checked once the body reads (a range, a time in the past) are
/// named together already, but only once no field is of the wrong shape or missing.
fn more_shape_errors<T: DeserializeOwned>(bytes: &[u8], first: ApiError) -> ApiError {
    let ApiError::Validation(mut errors) = first else { return first };
    let Ok(sent) = serde_json::from_slice::<serde_json::Value>(bytes) else { return ApiError::Validation(errors) };
    let mut body = sent.clone();
    let Some(mut fault) = errors.first().map(|f| (f.field.clone(), is_missing(&f.message))) else {
        return ApiError::Validation(errors);
    };
    // Fields filled in with a stand-in: what is missing inside them is the stand-in's, not named.
    let mut filled: Vec<String> = Vec::new();
    // Each turn takes a field out of the body or fills a missing one in with a value that reads,
    // so the loop ends; the bound is a guard.
    for _ in 0..MAX_SHAPE_ERRORS * 8 {
        if errors.len() >= MAX_SHAPE_ERRORS {
            break;
        }
        let (out, missing) = &fault;
        let cleared = if *missing { fill_in::<T>(&mut body, out) } else { take_out(&mut body, list_or_field(out)) };
        if !cleared {
            break;
        }
        if *missing {
            filled.push(out.clone());
        }
        let Err(e) = serde_path_to_error::deserialize::<_, T>(&body) else { break };
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let ApiError::Validation(next) = shape_error(&path, &message, None) else { break };
        let Some(mut next) = next.into_iter().next() else { break };
        let next_missing = is_missing(&message);
        // An enum given a number, `null` or `true`, read from a value (serde_json's wording for
        // it there): named with its names, as the first such field is (review: the raw
        // "invalid type: integer `5`, expected string or map" reached clients).
        if message.ends_with(", expected string or map") {
            next.message = expected_names(names_expected_in::<T>(&body, &path));
        }
        let in_stand_in = filled.iter().any(|f| next.field.starts_with(&format!("{f}.")));
        if next_missing && (in_stand_in || errors.iter().any(|f| list_or_field(&f.field) == next.field)) {
            // Named already (a required field or list taken out above), or a field of a
            // stand-in: filled in too, to read on past it, and not named.
            fault = (next.field, true);
            continue;
        }
        if errors.iter().any(|f| list_or_field(&f.field) == next.field) {
            // Named already and still refused: its object goes, to read on past it.
            let Some((parent, _)) = next.field.rsplit_once('.') else { break };
            fault = (parent.to_string(), false);
            continue;
        }
        // A field is named only for what the client sent (or left out), never for a body this
        // loop made: one that is neither in it nor left out of it stops the search.
        if !(value_at(&body, &next.field).is_some() || value_at(&sent, &next.field).is_none()) {
            break;
        }
        fault = (next.field.clone(), next_missing);
        errors.push(next);
    }
    ApiError::Validation(errors)
}

/// Whether serde's message (or the 422's, which keeps it) is of a required field left out.
fn is_missing(message: &str) -> bool {
    message.starts_with("missing field `")
}

/// Fills the missing field at `field` (object keys, `a.b`) in `body` with a stand-in its type
/// reads, so the body can be read on past it (QA: `POST /api/v1/users {}` named `handle` only,
/// and `name` on the next try): text, a UUID, a time, a date, a number, a flag, a list, an
/// object (whose own missing fields come next), or an enum's first name. A stand-in that reads
/// is one the parser no longer refuses at `field` itself. Whether one was found.
fn fill_in<T: DeserializeOwned>(body: &mut serde_json::Value, field: &str) -> bool {
    use serde_json::{Value, json};
    let Some(keys) = object_keys(field) else { return false };
    let Some((last, parents)) = keys.split_last() else { return false };
    let mut stand_ins = vec![
        json!(""),
        json!("00000000-0000-0000-0000-000000000000"),
        json!("2026-01-01T00:00:00Z"),
        json!("2026-01-01"),
        json!(0),
        json!(false),
        json!([]),
        json!({}),
    ];
    let mut i = 0;
    while let Some(stand_in) = stand_ins.get(i).cloned() {
        i += 1;
        let mut again = body.clone();
        let mut at = &mut again;
        for k in parents {
            match at.as_object_mut().and_then(|o| o.get_mut(*k)) {
                Some(v) => at = v,
                None => return false,
            }
        }
        let Some(object) = at.as_object_mut() else { return false };
        object.insert((*last).to_string(), stand_in.clone());
        let refused = match serde_path_to_error::deserialize::<_, T>(&again) {
            Ok(_) => None,
            Err(e) => {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                match shape_error(&path, &message, None) {
                    ApiError::Validation(f) if f.first().is_some_and(|f| f.field == field) => Some(message),
                    _ => None,
                }
            }
        };
        match refused {
            None => {
                *body = again;
                return true;
            }
            // An enum refuses `""` naming what it expects: its first name is the stand-in.
            Some(message) if stand_in == json!("") => {
                let first_name = message
                    .split_once(", expected ")
                    .and_then(|(_, names)| names.split('`').nth(1))
                    .filter(|n| !n.is_empty());
                if let Some(name) = first_name {
                    stand_ins.push(Value::String(name.to_string()));
                }
            }
            Some(_) => {}
        }
    }
    false
}

/// The list a list item's path goes through (`a.b` of `a.b[2].c`, review of a1115ae: the search
/// stopped at a list's item, so `{"tags": [1], "age": "x"}` named `tags[0]` and not `age`); the
/// path itself for any other field.
fn list_or_field(field: &str) -> &str {
    field.split_once('[').map_or(field, |(list, _)| list)
}

/// The object keys of a field's path as [`shape_error`] names it (`a.b.c`); `None` for the
/// whole body or a path through a list's item (`a[0].b`), which are not taken out.
fn object_keys(field: &str) -> Option<Vec<&str>> {
    let keys: Vec<&str> = field.split('.').collect();
    (field != "body" && keys.iter().all(|k| !k.is_empty() && !k.contains('['))).then_some(keys)
}

/// The value at a field's path in `body`, if the path is one of object keys and names a value.
fn value_at<'a>(body: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    object_keys(field)?.into_iter().try_fold(body, |v, k| v.as_object()?.get(k))
}

/// Removes the field at `field` from `body`; whether there was one to remove.
fn take_out(body: &mut serde_json::Value, field: &str) -> bool {
    let Some(keys) = object_keys(field) else { return false };
    let Some((last, parents)) = keys.split_last() else { return false };
    let mut at = body;
    for k in parents {
        match at.as_object_mut().and_then(|o| o.get_mut(*k)) {
            Some(v) => at = v,
            None => return false,
        }
    }
    at.as_object_mut().and_then(|o| o.remove(*last)).is_some()
}

/// What an integer field says of a number no type holds (`1e999` at `line` and `column`, as
/// serde_json reports it): the same as of one just past its range (`1e300`), which is what it
/// is. The parser refuses the number before the field's type is known, so the body is parsed
/// again with `1e300` in its place; a float field takes that, and `None` keeps the float wording.
fn beyond_every_range<T: DeserializeOwned>(bytes: &[u8], path: &str, line: usize, column: usize) -> Option<String> {
    let (start, end) = infinite_number_near(bytes, line, column)?;
    let stand_in: &[u8] = if bytes[start] == b'-' { b"-1e300" } else { b"1e300" };
    let again = [&bytes[..start], stand_in, &bytes[end..]].concat();
    let e = serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_slice(&again)).err()?;
    if e.path().to_string() != path || e.inner().classify() != serde_json::error::Category::Data {
        return None;
    }
    let message = e.into_inner().to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    let ty = message.rsplit_once(", expected ").map(|(_, ty)| ty)?;
    whole_range(ty)?;
    clearer(path, message, None)
}

/// The names an enum field takes (``a` or `b``, `one of `a`, `b`, `c``), for a value of another kind at `line` and
/// `column` (serde_json's, of the value's first byte): the body is parsed again with `""` in
/// its place, which serde answers with the variants it expected.
fn names_expected<T: DeserializeOwned>(bytes: &[u8], path: &str, line: usize, column: usize) -> Option<String> {
    let line_start = match line {
        0 | 1 => 0,
        n => bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(n - 2)?.0 + 1,
    };
    let start = line_start + column.checked_sub(1)?;
    let mut values = serde_json::Deserializer::from_slice(bytes.get(start..)?).into_iter::<serde::de::IgnoredAny>();
    values.next()?.ok()?;
    let again = [&bytes[..start], b"\"\"", &bytes[start + values.byte_offset()..]].concat();
    let e = serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_slice(&again)).err()?;
    if e.path().to_string() != path {
        return None;
    }
    let message = e.into_inner().to_string();
    let (_, names) = message.split(" at line ").next()?.split_once(", expected ")?;
    (names.starts_with("one of ") || names.starts_with('`')).then(|| names.to_string())
}

/// What an enum field given a value of another kind expects: its `names`, when known.
fn expected_names(names: Option<String>) -> String {
    names.map_or_else(|| "expected a name (a string)".into(), |n| format!("expected {n}"))
}

/// [`names_expected`] for a body already read into a value: the value at `path` (object keys
/// and list items, `a.b[1]`) is replaced with `""`, which serde answers with the names.
fn names_expected_in<T: DeserializeOwned>(body: &serde_json::Value, path: &str) -> Option<String> {
    let mut again = body.clone();
    let mut at = &mut again;
    for key in path.split('.') {
        let (name, items) = key.split_once('[').map_or((key, ""), |(n, rest)| (n, rest));
        if !name.is_empty() {
            at = at.as_object_mut()?.get_mut(name)?;
        }
        for index in items.split('[').filter(|i| !i.is_empty()) {
            at = at.as_array_mut()?.get_mut(index.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
    }
    *at = serde_json::Value::String(String::new());
    let e = serde_path_to_error::deserialize::<_, T>(&again).err()?;
    if e.path().to_string() != path {
        return None;
    }
    let message = e.into_inner().to_string();
    let (_, names) = message.split_once(", expected ")?;
    (names.starts_with("one of ") || names.starts_with('`')).then(|| names.to_string())
}

/// The byte range of the number serde_json found too large near its reported position (the
/// line from 1, the column from 0, at or just past the number's end), if it is one.
fn infinite_number_near(bytes: &[u8], line: usize, column: usize) -> Option<(usize, usize)> {
    let line_start = match line {
        0 | 1 => 0,
        n => bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(n - 2)?.0 + 1,
    };
    let in_number = |b: &u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
    let at = (line_start + column).min(bytes.len());
    // The last digit at or up to two bytes before the position, then the number around it.
    let digit = (at.saturating_sub(2)..=at).rev().find(|i| bytes.get(*i).is_some_and(u8::is_ascii_digit))?;
    let start = (0..=digit).rev().take_while(|i| in_number(&bytes[*i])).last()?;
    let end = (digit..bytes.len()).find(|i| !in_number(&bytes[*i])).unwrap_or(bytes.len());
    let number = std::str::from_utf8(&bytes[start..end]).ok()?.parse::<f64>().ok()?;
    number.is_infinite().then_some((start, end))
}

/// A 422 for a value of the wrong shape at `path`. serde reports a missing field at its
/// parent, so the field's own name is taken from the message. `raw` is the value as sent, when
/// known (a query parameter's).
fn shape_error(path: &str, message: &str, raw: Option<&str>) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message).to_string();
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let field = match (path, named) {
        (".", Some(name)) => name.to_string(),
        // An unknown field's path already ends with it; a missing one's is its parent.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (".", None) => "body".to_string(),
        (p, None) => p.to_string(),
    };
    let message = clearer(&field, &message, raw).unwrap_or(message);
    ApiError::field(field, message)
}

/// The texts chrono gives for any time or date that does not parse (its `ParseError`), which
/// say nothing of the format expected.
const CHRONO_ERRORS: &[&str] = &[
    "input is out of range",
    "no possible date and time matching input",
    "input is not enough for unique date and time",
    "input contains invalid characters",
    "premature end of input",
    "trailing input",
    "bad or unsupported format string",
];

/// Fields of request bodies also read under other names (`#[serde(alias)]`): the field's name
/// and its aliases.
const SAME_FIELD: &[(&str, &[&str])] = &[
    ("participant_ids", &["invitees"]),
    ("login", &["handle", "email", "username"]),
    ("booking_time", &["preferred_time"]),
];

/// What a field expects, in place of a parser's bare complaint: chrono's (a time or a date),
/// the standard library's integer and float parsers' (a query parameter) and serde's `expected
/// u32`-style endings (a JSON number). `None` keeps the message as it is.
fn clearer(field: &str, message: &str, raw: Option<&str>) -> Option<String> {
    if CHRONO_ERRORS.contains(&message) {
        // Times (`DateTime<Utc>`) are the rule; the few plain dates are named `date` or `*_date`.
        let name = field.rsplit('.').next().unwrap_or(field);
        // A query's `+01:00` not written `%2B01:00` arrives as ` 01:00` (a `+` in a query
        // string is a space): the time had its offset, so say what became of it.
        if let Some((time, offset)) = raw.and_then(|r| r.rsplit_once(' '))
            && format!("{time}+{offset}").parse::<chrono::DateTime<chrono::FixedOffset>>().is_ok()
        {
            return Some(format!(
                "expected an RFC 3339 time with a UTC offset: the `+` before {offset} arrived as a space (in a \
                 query string `+` means a space), so write it %2B ({time}%2B{offset}), or give the time in UTC \
                 with Z"
            ));
        }
        return Some(if name == "date" || name.ends_with("_date") {
            "expected a date such as 2026-12-20".into()
        } else {
            "expected an RFC 3339 time with a UTC offset, such as 2026-12-20T19:00:00Z".into()
        });
    }
    let whole = match message {
        "invalid digit found in string" | "cannot parse integer from empty string" => true,
        "number too large to fit in target type" | "number too small to fit in target type" => true,
        "invalid float literal" | "cannot parse float from empty string" => return Some("expected a number".into()),
        _ => false,
    };
    if whole {
        // A whole number the type refused is out of its range: below zero for an unsigned one.
        return Some(match raw.map(|r| r.trim().parse::<i128>()) {
            Some(Ok(n)) if n < 0 => "expected a whole number ≥ 0".into(),
            Some(Ok(_)) => "expected a smaller whole number".into(),
            _ => "expected a whole number".into(),
        });
    }
    if message.starts_with("duplicate field `") {
        // A field read under a second name too: serde names the first, so sending both names
        // read as the first given twice (QA: `invitees` and `participant_ids` together).
        let name = field.rsplit('.').next().unwrap_or(field);
        if let Some((_, aliases)) = SAME_FIELD.iter().find(|(n, _)| *n == name) {
            let mut names: Vec<String> =
                std::iter::once(name).chain(aliases.iter().copied()).map(|n| format!("`{n}`")).collect();
            let last = names.pop().unwrap_or_default();
            return Some(format!(
                "given more than once: {} and {last} are names of the same field; give only one of them, once",
                names.join(", ")
            ));
        }
        return Some("given more than once: give it once".into());
    }
    // The uuid crate's serde error (`UUID parsing failed: invalid length: ...`).
    if message.starts_with("UUID parsing failed") {
        return Some("expected a UUID".into());
    }
    // serde_json: `invalid type: string "x", expected u32`, `invalid value: integer `-1`, expected usize`,
    // `invalid length 0, expected struct StartRequest with 6 elements` (an array for an object).
    let ty = message.rsplit_once(", expected ").map(|(_, ty)| ty)?;
    if ty.starts_with("struct ") {
        return Some(if field == "body" { "the body must be a JSON object" } else { "expected a JSON object" }.into());
    }
    // A whole number the type refused is out of its range (`1e20` arrives as a float), unless
    // it lies within the range: then it was written as a float (`2.0`), which JSON integers
    // are not.
    let sent = message.split('`').nth(1).and_then(|v| v.parse::<f64>().ok()).filter(|x| x.fract() == 0.0);
    let whole = |(lo, hi): (f64, f64)| -> String {
        match sent {
            Some(x) if x > hi => "expected a smaller whole number".into(),
            Some(x) if x < lo && lo == 0.0 => "expected a whole number ≥ 0".into(),
            Some(x) if x < lo => "expected a larger whole number".into(),
            Some(_) => "expected a whole number, written without a decimal point".into(),
            None if lo == 0.0 => "expected a whole number ≥ 0".into(),
            None => "expected a whole number".into(),
        }
    };
    match ty {
        "f32" | "f64" => Some("expected a number".into()),
        ty => whole_range(ty).map(whole),
    }
}

/// The range of serde's integer type named `ty` (`u32`, `i16`, ...), `None` for other types.
fn whole_range(ty: &str) -> Option<(f64, f64)> {
    match ty {
        "u8" => Some((0.0, u8::MAX.into())),
        "u16" => Some((0.0, u16::MAX.into())),
        "u32" => Some((0.0, u32::MAX.into())),
        "u64" | "u128" | "usize" => Some((0.0, u64::MAX as f64)),
        "i8" => Some((i8::MIN.into(), i8::MAX.into())),
        "i16" => Some((i16::MIN.into(), i16::MAX.into())),
        "i32" => Some((i32::MIN.into(), i32::MAX.into())),
        "i64" | "i128" | "isize" => Some((i64::MIN as f64, i64::MAX as f64)),
        _ => None,
    }
}

/// A 415 for a body sent with a `Content-Encoding` other than `identity`: no route decodes one,
/// and reading gzip's bytes as the JSON they encode would fail as malformed JSON (a 400 that
/// blames the JSON), while plain JSON labelled gzip would be taken as it is (QA on the real
/// binary: it was). Empty list elements (`Content-Encoding:` with no value, or `, identity`)
/// are no coding: RFC 9110 (5.6.1) has a recipient ignore them.
fn unencoded(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut codings = headers.get_all(header::CONTENT_ENCODING).iter().flat_map(|v| v.as_bytes().split(|b| *b == b','));
    match codings.find(|c| !c.trim_ascii().is_empty() && !c.trim_ascii().eq_ignore_ascii_case(b"identity")) {
        None => Ok(()),
        Some(c) => Err(ApiError::UnsupportedEncoding(format!(
            "a body with `Content-Encoding: {}` is not taken: send the JSON unencoded",
            String::from_utf8_lossy(c.trim_ascii())
        ))),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        unencoded(req.headers())?;
        let bytes = Bytes::from_request(req, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// `Option<AppJson<T>>`: an empty body is `None`; anything else must be valid JSON.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let json = is_json_content_type(req.headers());
        let encoded = unencoded(req.headers());
        let bytes = Bytes::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        encoded?;
        parse_json(&bytes).map(|v| Some(AppJson(v)))
    }
}

/// The body of a `POST` that takes no options (an answer to an invitation, a cancellation, a
/// confirmation, a reset, a simulator control): none, or an empty object. A field sent (a
/// `reason`, a `dry_run`) is refused with a 422 naming it before the handler runs, so nothing is
/// done for a client that counted on an option the route does not have; a body that is not JSON
/// is a 415, broken JSON a 400, as for any body.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

impl<S: Send + Sync> FromRequest<S> for NoOptions {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = <AppJson<NoOptions> as OptionalFromRequest<S>>::from_request(req, state).await?;
        Ok(body.map(|b| b.0).unwrap_or_default())
    }
}

/// Path parameters; a value that does not parse (such as a malformed UUID) is a 422 naming it.
#[derive(Debug, Clone, Copy)]
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(AppPath(v)),
            Err(rejection) => {
                let raw = RawPathParams::from_request_parts(parts, state).await.ok();
                Err(path_error(rejection, raw))
            }
        }
    }
}

fn path_error(rejection: PathRejection, raw: Option<RawPathParams>) -> ApiError {
    use axum::extract::path::ErrorKind;
    let PathRejection::FailedToDeserializePathParams(e) = rejection else {
        return ApiError::Internal(format!("path extraction: {rejection}"));
    };
    let key_of =
        |value: &str| raw.as_ref().and_then(|r| r.iter().find(|(_, v)| *v == value).map(|(k, _)| k.to_string()));
    let (field, message) = match e.kind() {
        ErrorKind::ParseErrorAtKey { key, expected_type, .. } => (key.clone(), describe(expected_type)),
        ErrorKind::ParseErrorAtIndex { value, expected_type, .. } | ErrorKind::ParseError { value, expected_type } => {
            (key_of(value).unwrap_or_else(|| "path".into()), describe(expected_type))
        }
        ErrorKind::DeserializeError { key, message, .. } => {
            let message = if message.contains("UUID") { "must be a UUID".into() } else { message.clone() };
            (key.clone(), message)
        }
        ErrorKind::InvalidUtf8InPathParam { key } => (key.clone(), "must be valid UTF-8".into()),
        other => ("path".into(), other.to_string()),
    };
    ApiError::field(field, message)
}

fn describe(expected_type: &str) -> String {
    if expected_type.contains("Uuid") { "must be a UUID".into() } else { format!("must be a valid {expected_type}") }
}

/// Query parameters; a value of the wrong type or an unknown enum value is a 422 naming it.
#[derive(Debug, Clone, Default)]
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(AppQuery)
    }
}

/// Two sets of query parameters read from one query string (a route's filters and options of
/// its own): a 422 names every parameter of the wrong type in either set, as one set's does.
/// A route reading two sets takes this, not two [`AppQuery`]s: axum stops at the first
/// extractor's rejection, so the second set's bad parameters went unnamed.
#[derive(Debug, Clone, Default)]
pub struct AppQueries<A, B>(pub A, pub B);

impl<A: DeserializeOwned, B: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQueries<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        match (parse_query::<A>(query), parse_query::<B>(query)) {
            (Ok(a), Ok(b)) => Ok(AppQueries(a, b)),
            (a, b) => Err(merge_query_errors(query, [a.err(), b.err()].into_iter().flatten())),
        }
    }
}

/// Reads a query string into `T`, naming every parameter at fault (see [`more_query_errors`]).
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if let Some(name) = not_utf8(query) {
        return Err(ApiError::field(name, "must be valid UTF-8 once percent-decoded"));
    }
    read_query(query).map_err(|first| more_query_errors::<T>(query, first))
}

/// The 422s of several sets read from `query` as one: each parameter named once (a parameter
/// both sets read, or one not UTF-8, is named by each), in the order the query gives them,
/// required ones left out after. An error that is not a 422 is answered as it is.
fn merge_query_errors(query: &str, errors: impl IntoIterator<Item = ApiError>) -> ApiError {
    let mut fields: Vec<domain::FieldError> = Vec::new();
    for e in errors {
        let ApiError::Validation(named) = e else { return e };
        for f in named {
            if !fields.iter().any(|g| g.field == f.field) {
                fields.push(f);
            }
        }
    }
    let keys: Vec<String> = form_urlencoded::parse(query.as_bytes()).map(|(k, _)| k.into_owned()).collect();
    fields.sort_by_key(|f| keys.iter().position(|k| *k == f.field).unwrap_or(keys.len()));
    fields.truncate(MAX_SHAPE_ERRORS);
    ApiError::Validation(fields)
}

/// Reads a query string into `T`, naming the first parameter at fault (a time in a leap
/// second once the rest reads).
fn read_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let raw = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| *k == path).map(|(_, v)| v);
        shape_error(&path, &e.into_inner().to_string(), raw.as_deref())
    })?;
    match form_urlencoded::parse(query.as_bytes()).find(|(_, v)| is_leap_second(v)) {
        Some((k, _)) => Err(ApiError::Validation(vec![leap_second_error(k.into_owned())])),
        None => Ok(value),
    }
}

/// `first` followed by the query's other parameters of the wrong type, as [`more_shape_errors`]
/// does for a body: the parameter at fault is left out and the rest read again, until it reads
/// or what is left to name is a parameter already named or one not sent (a required one, named
/// once). One set's parameters: [`AppQueries`] names those of two sets together.
fn more_query_errors<T: DeserializeOwned>(query: &str, first: ApiError) -> ApiError {
    let ApiError::Validation(mut errors) = first else { return first };
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    while errors.len() < MAX_SHAPE_ERRORS {
        let Some(out) = errors.last().map(|f| f.field.clone()) else { break };
        let before = pairs.len();
        pairs.retain(|(k, _)| *k != out);
        if pairs.len() == before {
            break;
        }
        let rest = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let Err(ApiError::Validation(next)) = read_query::<T>(&rest) else { break };
        let Some(next) = next.into_iter().next() else { break };
        if errors.iter().any(|f| f.field == next.field) {
            break;
        }
        errors.push(next);
    }
    ApiError::Validation(errors)
}

/// The name of the first query parameter whose name or value is not UTF-8 once
/// percent-decoded (`?q=%FF`), which the parser would quietly replace by U+FFFD.
fn not_utf8(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let ok = std::str::from_utf8(&key).is_ok() && std::str::from_utf8(&percent_decode(value)).is_ok();
        (!ok).then(|| String::from_utf8_lossy(&key).into_owned())
    })
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space, `%XY` a byte; a `%`
/// without two hex digits stays as it is (as the form parser leaves it).
fn percent_decode(text: &str) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let pair = (b == b'%').then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?))).flatten();
        match (b, pair) {
            (_, Some((hi, lo))) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (other, None) => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review: `SAME_FIELD` is a hand copy of the request bodies' field aliases; an alias
    /// added to a body (`#[serde(alias = "..")]` on a field, in api or domain) and not to it
    /// would make sending both names say "given more than once" of a field given once. Read
    /// from the sources: every field alias is listed with its field, and nothing else is (a
    /// field of two bodies, as `participant_ids`, once).
    #[test]
    fn same_field_lists_every_alias_of_a_field() {
        fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("read the sources").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for krate in ["api", "domain"] {
            rust_files(&crates.join(krate).join("src"), &mut files);
        }
        let mut found: Vec<(String, Vec<String>)> = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source");
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for (i, line) in lines.iter().enumerate() {
                if !line.starts_with("#[serde(") || !line.contains("alias = \"") {
                    continue;
                }
                let aliases: Vec<String> =
                    line.split("alias = \"").skip(1).filter_map(|a| a.split('"').next()).map(String::from).collect();
                // The item it is on: the next line that is no attribute nor comment. A field
                // (`name: Type`), not an enum variant (`Name,`).
                let item = lines[i + 1..].iter().find(|l| !l.starts_with("#[") && !l.starts_with("//"));
                let field = item.and_then(|l| l.trim_start_matches("pub ").split_once(':')).map(|(n, _)| n.trim());
                if let Some(field) = field.filter(|f| f.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
                    found.push((field.to_string(), aliases));
                }
            }
        }
        found.sort();
        found.dedup();
        let mut listed: Vec<(String, Vec<String>)> =
            SAME_FIELD.iter().map(|(n, a)| (n.to_string(), a.iter().map(|a| a.to_string()).collect())).collect();
        listed.sort();
        assert_eq!(listed, found, "SAME_FIELD against the sources' field aliases");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        level: i16,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        LunchRush,
        FridayNight,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct WithKind {
        kind: Kind,
        kinds: Option<Vec<Kind>>,
    }

    #[test]
    fn a_name_given_as_null_a_number_or_a_boolean_is_a_422_naming_the_field_and_its_names() {
        // Before, valid JSON was answered 400 `malformed_json` "expected value at line 1 column 9".
        let names = "expected `lunch_rush` or `friday_night`";
        for (body, field) in [
            (r#"{"kind": null}"#, "kind"),
            (r#"{"kind": 5}"#, "kind"),
            ("{\n  \"kind\": true\n}", "kind"),
            (r#"{"kind": "lunch_rush", "kinds": ["friday_night", -1.5e3]}"#, "kinds[1]"),
        ] {
            let e = parse_json::<WithKind>(body.as_bytes()).expect_err(body);
            assert_eq!(first_error(e), (field.to_string(), names.to_string()), "{body}");
        }
        // Broken JSON stays a 400.
        for body in [r#"{"kind": nul}"#, r#"{"kind": }"#] {
            let e = parse_json::<WithKind>(body.as_bytes()).expect_err(body);
            assert!(matches!(e, ApiError::MalformedJson(_)), "{body}: {e:?}");
        }
    }

    #[test]
    fn every_name_given_as_null_a_number_or_a_boolean_is_named_with_the_other_bad_fields() {
        // Review: a body whose first fault was such a name named only it, and one after
        // another bad field got serde's "invalid type: integer `5`, expected string or map".
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Named {
            name: String,
            kind: Kind,
            kinds: Option<Vec<Kind>>,
        }
        let names = "expected `lunch_rush` or `friday_night`";
        for (body, expected) in [
            (
                r#"{"kind": 5, "name": 7}"#,
                &[("kind", names), ("name", "invalid type: integer `7`, expected a string")][..],
            ),
            (
                r#"{"name": 7, "kind": 5}"#,
                &[("name", "invalid type: integer `7`, expected a string"), ("kind", names)][..],
            ),
            (
                r#"{"kind": null, "name": "a", "kinds": ["lunch_rush", true]}"#,
                &[("kind", names), ("kinds[1]", names)][..],
            ),
            (
                r#"{"name": false, "kinds": [1], "kind": "friday_night"}"#,
                &[("name", "invalid type: boolean `false`, expected a string"), ("kinds[0]", names)][..],
            ),
        ] {
            let ApiError::Validation(got) = parse_json::<Named>(body.as_bytes()).expect_err(body) else {
                panic!("{body}: expected a validation error");
            };
            let got: Vec<(&str, &str)> = got.iter().map(|f| (f.field.as_str(), f.message.as_str())).collect();
            assert_eq!(got, expected, "{body}");
        }
    }

    #[test]
    fn broken_json_after_a_name_given_as_null_is_a_400_naming_where_it_breaks() {
        // QA: `{"kind": null,}` was answered "expected value at line 1 column 10", the null's
        // place, so a client would look for the fault in a value that is fine JSON.
        for (body, at) in [(r#"{"kind": null,}"#, "column 15"), ("{\"kind\": 7, \"kinds\": [}", "column 23")] {
            match parse_json::<WithKind>(body.as_bytes()).expect_err(body) {
                ApiError::MalformedJson(m) => assert!(m.ends_with(at), "{body}: {m}"),
                other => panic!("{body}: expected a 400, got {other:?}"),
            }
        }
    }

    /// The field and message of the first complaint of a validation error.
    fn first_error(e: ApiError) -> (String, String) {
        match e {
            ApiError::Validation(f) => (f[0].field.clone(), f[0].message.clone()),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn field_of(e: ApiError) -> String {
        first_error(e).0
    }

    fn fields_of(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_field_of_the_wrong_shape_is_named_the_first_in_the_bodys_order_first() {
        for (body, fields) in [
            (r#"{"name": "a", "inner": {"level": "x"}, "zzz": 1}"#, &["inner.level", "zzz"][..]),
            (r#"{"zzz": 1, "name": 5, "inner": {"level": "x"}}"#, &["zzz", "inner.level", "name"][..]),
            // A required field of the wrong type is not named again as missing.
            (r#"{"name": 5}"#, &["name"][..]),
            // Missing and of the wrong type.
            (r#"{"inner": {"level": 1.5}}"#, &["inner.level", "name"][..]),
            // A list's bad item is named (its first), and the search reads on past its list.
            (r#"{"kind": "lunch_rush", "kinds": ["x", "y"]}"#, &["kinds[0]"][..]),
            (r#"{"kinds": ["lunch_rush", "x", "y"], "kind": "z"}"#, &["kinds[1]", "kind"][..]),
            // A required list taken out is not named again as missing.
            (r#"{"names": [1], "age": "x"}"#, &["names[0]", "age"][..]),
            (r#"{"age": "x", "names": ["a", 2], "zzz": 1}"#, &["age", "names[1]", "zzz"][..]),
            // ... nor in an optional object, which goes to read on past it.
            (r#"{"more": {"names": [1]}, "zzz": 1, "names": []}"#, &["more.names[0]", "zzz"][..]),
        ] {
            #[derive(Debug, serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            #[allow(dead_code)]
            struct WithList {
                names: Vec<String>,
                age: Option<i16>,
                more: Option<Box<WithList>>,
            }
            let e = if body.contains("names") {
                parse_json::<WithList>(body.as_bytes()).expect_err(body)
            } else if body.contains("kind") {
                parse_json::<WithKind>(body.as_bytes()).expect_err(body)
            } else {
                parse_json::<Body>(body.as_bytes()).expect_err(body)
            };
            assert_eq!(fields_of(e), fields, "{body}");
        }
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_name() {
        assert_eq!(field_of(parse_json::<Body>(b"{}").unwrap_err()), "name");
        assert_eq!(field_of(parse_json::<Body>(br#"{"name":"a","inner":{}}"#).unwrap_err()), "inner.level");
    }

    #[test]
    fn every_missing_required_field_is_named_with_the_fields_of_the_wrong_type() {
        // QA on the real binary: `POST /api/v1/users {}` named `handle` only (then `name` on the
        // next try), `POST /api/v1/plans {}` `organizer_id` only: a missing field stopped the search.
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Required {
            name: String,
            id: uuid::Uuid,
            at: chrono::DateTime<chrono::Utc>,
            day: chrono::NaiveDate,
            kind: Kind,
            ratio: f64,
            count: u32,
            on: bool,
            tags: Vec<String>,
            inner: Inner,
            note: Option<String>,
        }
        let all = ["name", "id", "at", "day", "kind", "ratio", "count", "on", "tags", "inner"];
        for (body, expected) in [
            ("{}", all.to_vec()),
            // An object left out is named, not the fields it would hold.
            (r#"{"note": 5}"#, [&["note"][..], &all].concat()),
            // Wrong types first, in the body's order, then what is missing; each field once.
            (
                r#"{"count": -1, "id": "x", "zzz": true}"#,
                vec!["count", "id", "zzz", "name", "at", "day", "kind", "ratio", "on", "tags", "inner"],
            ),
            // Missing inside an object given.
            (
                r#"{"inner": {}, "tags": [1]}"#,
                vec!["inner.level", "tags[0]", "name", "id", "at", "day", "kind", "ratio", "count", "on"],
            ),
        ] {
            let e = parse_json::<Required>(body.as_bytes()).expect_err(body);
            assert_eq!(fields_of(e), expected, "{body}");
        }
        let ApiError::Validation(named) = parse_json::<Required>(b"{}").unwrap_err() else { panic!("a 422") };
        assert_eq!(named[1].message, "missing field `id`");
        // The search's stand-ins never reach the caller: a body that reads is taken as sent.
        assert!(parse_json::<Body>(br#"{"name": "a"}"#).is_ok());
    }

    #[test]
    fn a_wrong_type_is_named_by_its_path() {
        let e = parse_json::<Body>(br#"{"name":"a","inner":{"level":"x"}}"#).unwrap_err();
        assert_eq!(field_of(e), "inner.level");
        assert_eq!(field_of(parse_json::<Body>(br#"{"name":"a","extra":1}"#).unwrap_err()), "extra");
    }

    fn message_of(e: ApiError) -> String {
        first_error(e).1
    }

    #[test]
    fn unparsable_times_and_numbers_say_what_is_expected() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Timed {
            at: Option<chrono::DateTime<chrono::Utc>>,
            count: Option<u32>,
            ratio: Option<f64>,
        }
        let time = "expected an RFC 3339 time with a UTC offset, such as 2026-12-20T19:00:00Z";
        assert_eq!(message_of(parse_json::<Timed>(br#"{"at":"2026-12-20T19:00:00"}"#).unwrap_err()), time);
        assert_eq!(message_of(parse_json::<Timed>(br#"{"at":"tomorrow"}"#).unwrap_err()), time);
        assert_eq!(message_of(parse_json::<Timed>(br#"{"count":-1}"#).unwrap_err()), "expected a whole number ≥ 0");
        assert_eq!(message_of(parse_json::<Timed>(br#"{"ratio":"x"}"#).unwrap_err()), "expected a number");
        assert_eq!(
            clearer("limit", "invalid digit found in string", Some("-1")).unwrap(),
            "expected a whole number ≥ 0"
        );
        assert_eq!(clearer("limit", "invalid digit found in string", Some("ten")).unwrap(), "expected a whole number");
        assert_eq!(
            clearer("date", "premature end of input", Some("2026-12")).unwrap(),
            "expected a date such as 2026-12-20"
        );
        assert_eq!(clearer("name", "invalid length 3, expected 5", None), None, "other messages stay");
    }

    #[test]
    fn out_of_range_numbers_duplicates_uuids_and_non_objects_say_what_is_expected() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Sized {
            users: Option<usize>,
            small: Option<u8>,
            level: Option<i16>,
            id: Option<uuid::Uuid>,
        }
        let smaller = "expected a smaller whole number";
        assert_eq!(
            first_error(parse_json::<Sized>(br#"{"users":1e20}"#).unwrap_err()),
            ("users".into(), smaller.into())
        );
        assert_eq!(message_of(parse_json::<Sized>(br#"{"small":300}"#).unwrap_err()), smaller);
        assert_eq!(message_of(parse_json::<Sized>(br#"{"level":99999}"#).unwrap_err()), smaller);
        assert_eq!(
            message_of(parse_json::<Sized>(br#"{"level":-99999}"#).unwrap_err()),
            "expected a larger whole number"
        );
        assert_eq!(message_of(parse_json::<Sized>(br#"{"users":1.5}"#).unwrap_err()), "expected a whole number ≥ 0");
        assert_eq!(message_of(parse_json::<Sized>(br#"{"users":-1}"#).unwrap_err()), "expected a whole number ≥ 0");
        // A whole number written as a float, within range, is not "too large" nor "too small".
        let float = "expected a whole number, written without a decimal point";
        assert_eq!(message_of(parse_json::<Sized>(br#"{"users":2.0}"#).unwrap_err()), float);
        assert_eq!(message_of(parse_json::<Sized>(br#"{"level":-3.0}"#).unwrap_err()), float);
        assert_eq!(message_of(parse_json::<Sized>(br#"{"users":-2.0}"#).unwrap_err()), "expected a whole number ≥ 0");
        assert_eq!(
            first_error(parse_json::<Sized>(br#"{"id":""}"#).unwrap_err()),
            ("id".into(), "expected a UUID".into())
        );
        let twice = parse_json::<Sized>(br#"{"small":1,"small":2}"#).unwrap_err();
        assert_eq!(first_error(twice), ("small".into(), "given more than once: give it once".into()));
        for body in [&b"[]"[..], b"[1]", b"\"x\""] {
            let e = parse_json::<Sized>(body).unwrap_err();
            assert_eq!(first_error(e), ("body".into(), "the body must be a JSON object".into()));
        }
        let nested = parse_json::<Body>(br#"{"name":"a","inner":[]}"#).unwrap_err();
        assert_eq!(first_error(nested), ("inner".into(), "expected a JSON object".into()));
    }

    #[test]
    fn an_array_for_the_body_is_refused_even_when_its_items_fit_the_fields() {
        for body in [&br#"["a",null]"#[..], b" \n[\"a\"]", b"[[[[1]]]]"] {
            let e = parse_json::<Body>(body).unwrap_err();
            assert_eq!(first_error(e), ("body".into(), "the body must be a JSON object".into()));
        }
    }

    #[test]
    fn a_number_out_of_every_range_is_named_by_its_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Point {
            lat: f64,
        }
        let (field, message) = first_error(parse_json::<Point>(br#"{"lat":1e999}"#).unwrap_err());
        assert_eq!(field, "lat");
        assert!(message.starts_with("number out of range"), "{message}");
        assert_eq!(
            first_error(parse_json::<Body>(br#"{"name":"a","inner":{"level":-1e400}}"#).unwrap_err()).0,
            "inner.level"
        );
    }

    #[test]
    fn a_number_out_of_every_range_for_an_integer_field_asks_for_a_whole_number_in_its_range() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Counts {
            users: Option<usize>,
            level: Option<i16>,
            ids: Option<Vec<u32>>,
            ratio: Option<f64>,
        }
        let long = format!(r#"{{"users":{}}}"#, "9".repeat(400));
        for (body, field, message) in [
            (r#"{"users":1e999}"#, "users", "expected a smaller whole number"),
            (r#"{"users": -1e999 , "ratio":1}"#, "users", "expected a whole number ≥ 0"),
            (long.as_str(), "users", "expected a smaller whole number"),
            ("{\n  \"ratio\": 0.5,\n  \"level\": 1E+999\n}", "level", "expected a smaller whole number"),
            (r#"{"level":-1e999}"#, "level", "expected a larger whole number"),
            (r#"{"ids":[1,1e999]}"#, "ids[1]", "expected a smaller whole number"),
        ] {
            let (f, m) = first_error(parse_json::<Counts>(body.as_bytes()).unwrap_err());
            assert_eq!((f.as_str(), m.as_str()), (field, message), "{body}");
        }
        // A float field keeps the finite-number wording, also beside an integer field.
        let (f, m) = first_error(parse_json::<Counts>(br#"{"users":1,"ratio":-1e999}"#).unwrap_err());
        assert_eq!(f, "ratio");
        assert!(m.starts_with("number out of range: expected a number of at most 1.7e308"), "{m}");
    }

    #[test]
    fn query_parameters_that_are_not_utf8_are_named() {
        assert_eq!(not_utf8("limit=2&q=%FF%FE"), Some("q".into()));
        assert_eq!(not_utf8("%FF=1"), Some("\u{fffd}".into()));
        assert_eq!(not_utf8("q=caf%C3%A9+cr%C3%A8me&x=%&y=%4"), None);
        assert_eq!(percent_decode("a+b%20c%zz%4"), b"a b c%zz%4");
    }

    #[test]
    fn text_that_is_not_json_is_malformed() {
        assert!(matches!(parse_json::<Body>(b"{\"name\":"), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json::<Body>(br#"{"name":"a"} trailing"#), Err(ApiError::MalformedJson(_))));
    }

    #[test]
    fn json_content_types_include_charset_and_suffixes() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert!(is_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/merge-patch+json".parse().unwrap());
        assert!(is_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json_content_type(&h));
    }
}

/// The `Idempotency-Key` header of a booking-creating request, if any. The service checks its
/// shape (a 422 naming `idempotency_key`); a value that is not even text is refused here.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKeyHeader(pub Option<String>);

/// The header's name.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get(IDEMPOTENCY_KEY) {
            None => Ok(Self(None)),
            Some(v) => v
                .to_str()
                .map(|s| Self(Some(s.to_string())))
                .map_err(|_| ApiError::field("idempotency_key", "must be visible ASCII characters")),
        }
    }
}
