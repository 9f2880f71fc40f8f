//! Turning reasons into one human sentence.

/// Joins phrases into a sentence: "0.8 km away, 3 friends liked it, matches your love of ramen".
pub(crate) fn sentence(parts: &[String]) -> String {
    let mut s = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(", ");
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
        let s = sentence(&["0.8 km away".into(), String::new(), "3 friends liked it".into()]);
        assert_eq!(s, "0.8 km away, 3 friends liked it");
        assert_eq!(sentence(&["popular".into()]), "Popular");
        assert_eq!(plural(1, "friend", "friends"), "1 friend");
    }
}
