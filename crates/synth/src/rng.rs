//! Deterministic randomness: every entity gets its own generator derived from
//! `(seed, kind, index)`, so any entity can be regenerated alone, in any order, in any chunk,
//! and come out byte-identical. Also holds the cheap integer hashes used where a full
//! generator would be too slow (pair predicates of the social graph, id bits), the UUIDv7
//! builder and a keyed bijection of `0..n` (used to interleave communities).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// The generator every entity draws from.
pub type EntityRng = ChaCha8Rng;

/// Streams of randomness; one per kind of entity or decision, so adding draws to one kind
/// never shifts the values of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Kind {
    Hoods = 1,
    Venue = 2,
    VenueText = 3,
    VenueId = 4,
    UserId = 5,
    UserCore = 6,
    UserProfile = 7,
    Taste = 8,
    Prefs = 9,
    Interactions = 10,
    Interests = 11,
    Plans = 12,
    Community = 13,
    Edge = 14,
    EdgeAttr = 15,
    Ring = 16,
    Permutation = 17,
    Candidates = 18,
    /// Fresh draws of a known-venue set for ground truth (`City::known_frequency`), apart
    /// from every user's own.
    KnownSets = 19,
}

/// SplitMix64 finaliser: a fast, well-mixing bijection on `u64`.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of `(seed, kind, a)`.
#[inline]
pub(crate) fn hash1(seed: u64, kind: Kind, a: u64) -> u64 {
    mix64(mix64(seed ^ mix64(kind as u64)) ^ a)
}

/// A hash of `(seed, kind, a, b)`; order matters.
#[inline]
pub(crate) fn hash2(seed: u64, kind: Kind, a: u64, b: u64) -> u64 {
    mix64(hash1(seed, kind, a) ^ mix64(b.wrapping_add(0x5851_F42D_4C95_7F2D)))
}

/// A uniform number in `[0, 1)` from a hash.
#[inline]
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The independent generator of entity `index` of `kind`.
pub(crate) fn entity_rng(seed: u64, kind: Kind, index: u64) -> EntityRng {
    let mut key = [0u8; 32];
    let mut h = hash1(seed, kind, index);
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&h.to_le_bytes());
        h = mix64(h);
    }
    ChaCha8Rng::from_seed(key)
}

/// A UUIDv7 with the given creation time and 74 bits taken from `bits`.
pub(crate) fn uuid_v7(millis: i64, bits: u128) -> Uuid {
    let bytes: [u8; 16] = bits.to_le_bytes();
    let mut rand = [0u8; 10];
    rand.copy_from_slice(&bytes[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis.max(0) as u64, &rand).into_uuid()
}

/// A keyed bijection of `0..n`: `p = (a * i + b) mod n` with `a` coprime to `n`, near the
/// golden ratio of `n` so consecutive positions come from far-apart indices. Cheap both ways;
/// used to interleave user indices into communities.
#[derive(Debug, Clone)]
pub(crate) struct Permutation {
    n: u64,
    a: u64,
    a_inv: u64,
    b: u64,
}

/// The inverse of `a` modulo `n` (which must be coprime), by the extended Euclid algorithm.
fn mod_inverse(a: u64, n: u64) -> u64 {
    let (mut t, mut new_t) = (0i128, 1i128);
    let (mut r, mut new_r) = (i128::from(n), i128::from(a));
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    t.rem_euclid(i128::from(n)) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Permutation {
    /// A permutation of `0..n`; `n` is at most `2^32` (checked by the city's configuration).
    pub(crate) fn new(seed: u64, n: u64) -> Self {
        let n = n.clamp(1, 1 << 32);
        let h = hash1(seed, Kind::Permutation, n);
        let mut a = ((n as f64 * 0.618_033_988_75) as u64 + h % 97).max(1) % n.max(2);
        while n > 1 && (a == 0 || gcd(a, n) != 1) {
            a = (a + 1) % n;
        }
        let a = a.max(1);
        Self { n, a, a_inv: if n > 1 { mod_inverse(a, n) } else { 0 }, b: mix64(h) % n }
    }

    /// The position of `i` (in `0..n`). With `n <= 2^32` the products fit in 64 bits.
    pub(crate) fn apply(&self, i: u64) -> u64 {
        (self.a * i + self.b) % self.n
    }

    /// The index at position `p` (in `0..n`).
    pub(crate) fn invert(&self, p: u64) -> u64 {
        (self.a_inv * ((p + self.n - self.b) % self.n)) % self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_a_bijection_and_inverts() {
        for n in [1u64, 2, 3, 10, 97, 1000, 4096] {
            let p = Permutation::new(7, n);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let x = p.apply(i);
                assert!(x < n);
                assert!(!seen[x as usize]);
                seen[x as usize] = true;
                assert_eq!(p.invert(x), i);
            }
        }
    }

    #[test]
    fn entity_generators_differ_by_kind_and_index() {
        use rand::Rng;
        let a = entity_rng(1, Kind::Venue, 0).next_u64();
        let b = entity_rng(1, Kind::Venue, 1).next_u64();
        let c = entity_rng(1, Kind::UserCore, 0).next_u64();
        let d = entity_rng(1, Kind::Venue, 0).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, d);
    }
}
