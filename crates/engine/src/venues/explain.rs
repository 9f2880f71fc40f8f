//! Turning reasons into one human sentence.

/// Joins phrases into a sentence: "0.8 km away, 3 friends liked it, matches your love of ramen".
pub(crate) fn sentence<S: AsRef<str>>(parts: &[S]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.as_ref().len() + 2).sum());
    for p in parts.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()) {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(p);
    }
    if let Some(first) = s.get(0..1) {
        let up = first.to_uppercase();
        s.replace_range(0..1, &up);
    }
    s
}

/// "1 friend" or "3 friends".
pub(crate) fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_starts_with_a_capital_and_joins_with_commas() {
        let s = sentence(&["0.8 km away", "", "3 friends liked it"]);
        assert_eq!(s, "0.8 km away, 3 friends liked it");
        assert_eq!(sentence(&["popular"]), "Popular");
        assert_eq!(sentence(&[String::new(), "a".to_string(), "b".to_string()]), "A, b");
        assert_eq!(plural(1, "friend", "friends"), "1 friend");
    }
}
