//! Confirmation codes: `LUNA-` and six characters from an alphabet without look-alikes (no 0/O,
//! 1/I/L), so a code read aloud or copied by hand survives. 31^6 (about 887 million) codes;
//! the database's unique index settles the rare collision and the agent draws again.

use rand::{Rng, RngExt};

/// The characters of a code: digits and capitals minus 0, 1, I, L and O.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// The prefix of every code.
pub const PREFIX: &str = "LUNA-";
/// Characters after the prefix.
pub const LENGTH: usize = 6;

/// A fresh random code.
pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut s = String::with_capacity(PREFIX.len() + LENGTH);
    s.push_str(PREFIX);
    for _ in 0..LENGTH {
        s.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    s
}

/// Whether `s` has the shape of a code.
pub fn is_well_formed(s: &str) -> bool {
    s.strip_prefix(PREFIX).is_some_and(|rest| rest.len() == LENGTH && rest.bytes().all(|b| ALPHABET.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn codes_are_well_formed_and_avoid_look_alikes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let code = generate(&mut rng);
            assert!(is_well_formed(&code), "{code}");
            assert!(!code[PREFIX.len()..].contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        assert!(!is_well_formed("LUNA-0000O0") && !is_well_formed("LUNA-ABC"));
    }
}
