//! Validation errors: which field is wrong and why. Produced by every `parse()` at the edge,
//! turned into a 422 by the API with the field names in `details`.

use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The JSON path of the field, such as `home_lat` or `opening_hours.mon[0]`.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

/// All the fields of one input that failed validation (never empty).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError(pub Vec<FieldError>);

impl ValidationError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

/// `s` in Unicode NFC, the one form stored text is kept and passwords are hashed in: an "é"
/// sent as `e` plus U+0301 (NFD, as some keyboards and clients send it) becomes the one code
/// point, so either form finds, matches and counts as the other. Most text is in NFC already and
/// is only copied.
pub fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if unicode_normalization::is_nfc(s) { s.to_string() } else { s.nfc().collect() }
}

/// Characters no stored text may hold: control characters other than tab and line breaks (a NUL
/// breaks C strings and PostgreSQL's `text`; the others corrupt logs and terminals), and the
/// bidirectional marks, overrides and isolates that make a name display as something else.
pub fn hidden(ch: char) -> bool {
    (ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'))
        || matches!(ch, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing, besides white space: text of these alone is blank. They are
/// Unicode's default-ignorable code points (zero-width spaces and joiners, the word joiner and
/// invisible operators, the byte-order mark, the soft hyphen, Hangul fillers, variation
/// selectors, Mongolian free variation selectors, tags: a font draws none of them) and the blank
/// Braille pattern (U+2800, drawn as an empty cell: the usual "invisible name"). The [`hidden`]
/// marks among them are not blank but refused wherever they come, as before.
fn blank(ch: char) -> bool {
    ch.is_whitespace()
        || (!hidden(ch)
            && matches!(
                ch,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'..='\u{1160}'
                    | '\u{17B4}'..='\u{17B5}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{2800}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{FFF0}'..='\u{FFF8}'
                    | '\u{1BCA0}'..='\u{1BCA3}'
                    | '\u{1D173}'..='\u{1D17A}'
                    | '\u{E0000}'..='\u{E0FFF}'
            ))
}

/// Collects field errors while a value is parsed, so one response names every bad field.
#[derive(Debug, Default)]
pub struct Checker(Vec<FieldError>);

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.0.push(FieldError { field: field.to_string(), message: message.into() });
        }
    }

    /// Records the error of a nested parse, if any.
    pub fn absorb<T>(&mut self, r: Result<T, ValidationError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.extend(e.0);
                None
            }
        }
    }

    /// A trimmed, non-empty string of at most `max` characters, without [`hidden`] characters,
    /// in [`nfc`]: counted in the form it is stored in (a character NFC writes as two counts as
    /// two, so what passes here fits the column). Text of characters that show nothing alone
    /// (`"\u{200B}"`, a zero-width space) is empty too: a name a list would show as blank.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let t = nfc(value.trim());
        self.check(t.chars().any(|ch| !blank(ch)), field, "must not be empty");
        self.check(t.chars().count() <= max, field, format!("must be at most {max} characters"));
        self.visible(field, &t);
        t
    }

    /// An optional string: trimmed, empty (or of characters that show nothing alone, as for
    /// [`Checker::text`]) becomes `None`, at most `max` characters, without [`hidden`]
    /// characters, in [`nfc`] (counted as stored, as [`Checker::text`]).
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let t = nfc(value.map(str::trim).filter(|t| t.chars().any(|ch| !blank(ch)))?);
        self.check(t.chars().count() <= max, field, format!("must be at most {max} characters"));
        self.visible(field, &t);
        Some(t)
    }

    /// Refuses text holding a [`hidden`] character, naming the first.
    fn visible(&mut self, field: &str, t: &str) {
        if let Some(ch) = t.chars().find(|&ch| hidden(ch)) {
            self.check(false, field, format!("must not contain control characters (found U+{:04X})", ch as u32));
        }
    }

    /// A finite number within `[lo, hi]`.
    pub fn range(&mut self, field: &str, value: f64, lo: f64, hi: f64) {
        self.check(value.is_finite() && (lo..=hi).contains(&value), field, format!("must be between {lo} and {hi}"));
    }

    /// A list of at most `max` short tags, each trimmed, lower-cased and de-duplicated.
    pub fn tags(&mut self, field: &str, values: &[String], max: usize) -> Vec<String> {
        self.check(values.len() <= max, field, format!("must have at most {max} entries"));
        let mut out: Vec<String> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let t = nfc(&v.trim().to_lowercase());
            self.check(
                !t.is_empty() && t.chars().count() <= 40,
                &format!("{field}[{i}]"),
                "must be 1 to 40 characters",
            );
            self.visible(&format!("{field}[{i}]"), &t);
            if !t.is_empty() && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// `value`, or every complaint, each field named once: a field broken more ways than one
    /// (a `party_size` of 0 is both out of range and too few for the group) is named where it
    /// was first, its messages joined with `; ` (QA: `details` named `party_size` twice).
    pub fn finish<T>(self, value: T) -> Result<T, ValidationError> {
        if self.0.is_empty() {
            return Ok(value);
        }
        let mut named: Vec<FieldError> = Vec::with_capacity(self.0.len());
        for e in self.0 {
            match named.iter_mut().find(|f| f.field == e.field) {
                Some(f) if f.message.split("; ").any(|m| m == e.message) => {}
                Some(f) => {
                    f.message.push_str("; ");
                    f.message.push_str(&e.message);
                }
                None => named.push(e),
            }
        }
        Err(ValidationError(named))
    }
}
