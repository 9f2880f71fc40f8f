//! Small helpers shared by the engine: tag hashing, compact times, a seeded PRNG, 3D points.

use domain::Timestamp;

/// Hash of a lower-cased, trimmed tag (FNV-1a, 64 bit). Tags are compared by hash so the
/// engine keeps no string tables for cuisines, ambiance or dietary tags of a million users.
pub(crate) fn tag_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.trim().bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hashes of a tag list, sorted and de-duplicated.
pub(crate) fn tag_hashes<S: AsRef<str>>(tags: &[S]) -> Vec<u64> {
    let mut v: Vec<u64> = tags.iter().map(|t| tag_hash(t.as_ref())).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The tags that have a bit of their own in a venue's [`TagSet`] mask, in order of first
/// sight (at most [`TagVocab::CAPACITY`]; a city's vocabulary of cuisines, ambiance and
/// dietary tags is a few dozen). Append-only, so a mask made earlier stays valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TagVocab {
    bits: FastMap<u64, u8>,
}

/// A set of tag hashes as a mask over a [`TagVocab`]: one bit per tag of the vocabulary, plus
/// [`TagSet::OTHER`] when the set holds a tag outside it. Membership and overlap of known tags
/// are exact bit tests, so a query never reads a venue's tag list for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TagSet(pub u128);

impl TagSet {
    /// The bit of "some tag outside the vocabulary".
    pub const OTHER: u128 = 1 << 127;

    /// Whether the set may hold tags outside the vocabulary.
    pub fn has_other(self) -> bool {
        self.0 & Self::OTHER != 0
    }

    /// Known tags shared with another set.
    pub fn shared(self, other: TagSet) -> u32 {
        (self.0 & other.0 & !Self::OTHER).count_ones()
    }
}

impl TagVocab {
    /// Tags with a bit of their own.
    pub const CAPACITY: usize = 127;

    /// The mask of a venue's tags, giving a bit to each tag seen for the first time while there
    /// is room.
    pub fn learn(&mut self, hashes: &[u64]) -> TagSet {
        let mut m = 0u128;
        for &h in hashes {
            let n = self.bits.len();
            m |= match self.bits.get(&h) {
                Some(&b) => 1 << b,
                None if n < Self::CAPACITY => {
                    self.bits.insert(h, n as u8);
                    1 << n
                }
                None => TagSet::OTHER,
            };
        }
        TagSet(m)
    }

    /// The mask of a query's tags (no bit is given): a tag outside the vocabulary sets
    /// [`TagSet::OTHER`], and only a venue with that bit too can hold it.
    pub fn mask(&self, hashes: &[u64]) -> TagSet {
        TagSet(hashes.iter().fold(0, |m, h| m | self.bits.get(h).map_or(TagSet::OTHER, |&b| 1 << b)))
    }

    /// Whether a venue (its mask and sorted tag hashes) holds any of `wanted` (their mask):
    /// a bit test, and a look at the list only for tags outside the vocabulary.
    pub fn any(wanted: TagSet, wanted_h: &[u64], venue: TagSet, venue_h: &[u64]) -> bool {
        wanted.shared(venue) > 0
            || (wanted.has_other() && venue.has_other() && wanted_h.iter().any(|h| venue_h.binary_search(h).is_ok()))
    }

    /// How many of `wanted` (sorted, de-duplicated hashes, and their mask) a venue holds.
    pub fn count(wanted: TagSet, wanted_h: &[u64], venue: TagSet, venue_h: &[u64]) -> usize {
        if wanted.has_other() && venue.has_other() {
            sorted_intersection(wanted_h, venue_h)
        } else {
            wanted.shared(venue) as usize
        }
    }
}

/// Size of the intersection of two sorted slices.
pub(crate) fn sorted_intersection<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Jaccard similarity of two sorted, de-duplicated slices (0 when both are empty).
pub(crate) fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let inter = sorted_intersection(a, b);
    let union = a.len() + b.len() - inter;
    if union == 0 { 0.0 } else { inter as f64 / union as f64 }
}

/// Seconds since the Unix epoch as a compact `u32` (0 means "never"; saturates before 1970).
pub(crate) fn to_secs(t: Timestamp) -> u32 {
    u32::try_from(t.timestamp().max(1)).unwrap_or(u32::MAX)
}

/// A fast hasher for dense indices and UUIDs (keys the engine made or that are random).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.0 = (self.0 ^ u64::from(x)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(23) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

/// A hash map keyed by indices or ids, with [`IdHasher`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;
/// A hash set with [`IdHasher`], for small integer keys.
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<IdHasher>>;

/// SplitMix64: a tiny, fast, seeded generator (training and synthetic data only).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed; the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A point on the unit sphere scaled to the Earth's radius: Euclidean (chord) distance between
/// two such points is monotone in great-circle distance, so R-tree nearest order is exact.
pub(crate) fn to_xyz(lat: f64, lng: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lng.to_radians());
    let r = domain::geo::EARTH_RADIUS_KM;
    [r * la.cos() * lo.cos(), r * la.cos() * lo.sin(), r * la.sin()]
}

/// The chord length (km) that corresponds to a great-circle distance (km).
pub(crate) fn chord_for_km(km: f64) -> f64 {
    let r = domain::geo::EARTH_RADIUS_KM;
    let theta = (km / r).min(std::f64::consts::PI);
    2.0 * r * (theta / 2.0).sin()
}

/// The great-circle distance (km) between two points given by [`to_xyz`]: the haversine
/// distance of their latitudes and longitudes, with one square root and one arcsine.
pub(crate) fn great_circle_km(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    km_for_chord(chord2(a, b).sqrt())
}

/// The squared chord (km²) between two points given by [`to_xyz`], summed as rstar's
/// `distance_2` sums it, so a grid's nearest order and distances are the R-tree's to the bit.
#[inline]
pub(crate) fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (dx, dy, dz) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dx * dx + dy * dy + dz * dz
}

/// The great-circle distance (km) that corresponds to a chord length (km).
pub(crate) fn km_for_chord(chord: f64) -> f64 {
    let r = domain::geo::EARTH_RADIUS_KM;
    2.0 * r * (chord / (2.0 * r)).clamp(0.0, 1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_hashes_ignore_case_and_spaces() {
        assert_eq!(tag_hash(" Ramen"), tag_hash("ramen"));
        assert_ne!(tag_hash("ramen"), tag_hash("sushi"));
    }

    #[test]
    fn tag_masks_answer_membership_and_overlap_exactly_past_the_vocabulary() {
        let words: Vec<String> = (0..200).map(|i| format!("tag{i}")).collect();
        let mut vocab = TagVocab::default();
        let mut rng = SplitMix64::new(3);
        let mut pick = |n: usize| -> Vec<u64> {
            let v: Vec<&str> = words.iter().map(|w| w.as_str()).filter(|_| rng.below(n) == 0).collect();
            tag_hashes(&v)
        };
        // Venues fill the vocabulary (200 tags for 127 bits), then queries are checked
        // against a list scan on every venue.
        let venues: Vec<(Vec<u64>, TagSet)> = (0..300)
            .map(|_| {
                let h = pick(20);
                let m = vocab.learn(&h);
                (h, m)
            })
            .collect();
        assert_eq!(vocab.bits.len(), TagVocab::CAPACITY);
        for _ in 0..300 {
            let q = pick(40);
            let qm = vocab.mask(&q);
            for (h, m) in &venues {
                let n = sorted_intersection(&q, h);
                assert_eq!(TagVocab::count(qm, &q, *m, h), n, "{q:?} {h:?}");
                assert_eq!(TagVocab::any(qm, &q, *m, h), n > 0);
            }
        }
        assert_eq!(vocab.mask(&[]), TagSet(0));
    }

    #[test]
    fn jaccard_of_overlapping_sets_is_their_share() {
        assert!((jaccard(&[1, 2, 3], &[2, 3, 4]) - 0.5).abs() < 1e-12);
        assert_eq!(jaccard::<u64>(&[], &[]), 0.0);
    }

    #[test]
    fn chord_and_great_circle_distances_convert_both_ways() {
        for km in [0.0, 0.5, 10.0, 500.0] {
            assert!((km_for_chord(chord_for_km(km)) - km).abs() < 1e-9);
        }
        // From 15 metres across a street to across an ocean.
        let pairs =
            [(40.7580, -73.9855, 40.7581, -73.9856), (40.7580, -73.9855, 40.6743, -73.9700), (40.7, -74.0, 51.5, -0.1)];
        for (la1, lo1, la2, lo2) in pairs {
            let d = domain::haversine_km(la1, lo1, la2, lo2);
            let by_chord = great_circle_km(&to_xyz(la1, lo1), &to_xyz(la2, lo2));
            assert!((by_chord - d).abs() < 1e-9 * d.max(1.0), "{by_chord} vs haversine {d}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        assert_eq!((a.next_u64(), a.below(10)), (b.next_u64(), b.below(10)));
    }
}
