//! The social graph: a small world with communities. Users are interleaved into communities
//! by a keyed permutation; a pair inside a community is tied with a probability growing with
//! both users' sociability (Chung-Lu style), and a few long-range ties join users a fixed set
//! of ring offsets apart. Whether a pair is tied is a symmetric hash predicate of the pair,
//! so each user's ties are computed alone, without global state, and the union over users
//! is symmetric with no duplicates and no self-ties.

use domain::{RelationshipType, SocialEdge};

use crate::City;
use crate::rng::{Kind, hash2, unit};
use crate::users::UserCore;

/// Share of a user's expected ties inside their community (the rest are long-range).
const WITHIN_SHARE: f64 = 0.8;

/// One tie of a user, seen from that user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Friend {
    /// The other user's index.
    pub index: u32,
    /// Friend, mutual or suggested (the same both ways).
    pub relationship: RelationshipType,
    /// Strength of the edge from this user to the other, 0.3 to 0.95.
    pub strength: f64,
    /// Whether the tie is inside the user's community (else long-range).
    pub same_community: bool,
    /// When the tie was made (milliseconds since the epoch), same both ways.
    pub created_ms: i64,
}

/// Population mean of the expected degree (normalises pair probabilities).
fn mean_degree() -> f64 {
    crate::personas::PROFILES.iter().map(|p| p.share * p.mean_degree).sum()
}

impl City {
    /// Every tie of user `index`, sorted by the other user's index.
    pub fn friends(&self, index: usize) -> Vec<Friend> {
        let core = self.core(index);
        let mut out = Vec::with_capacity(32);
        self.friends_into(index, &core, &mut out);
        out
    }

    pub(crate) fn friends_into(&self, i: usize, core: &UserCore, out: &mut Vec<Friend>) {
        out.clear();
        let n = self.config.users as u64;
        if n < 2 {
            return;
        }
        let kbar = mean_degree();
        let s = self.community_size;
        let p = self.perm.apply(i as u64);
        let c = p / s;
        let block = (c * s)..((c + 1) * s).min(n);
        let block_len = (block.end - block.start).max(2) as f64;
        let dominant = self.communities[c as usize].dominant as usize;
        for q in block.clone() {
            if q == p {
                continue;
            }
            let j = self.perm.invert(q) as usize;
            let (_, degree) = self.persona_and_degree(j, dominant);
            let prob =
                (WITHIN_SHARE * f64::from(core.degree) * f64::from(degree) / (kbar * (block_len - 1.0))).min(0.95);
            self.maybe_tie(i, core, j, prob, true, out);
        }
        let candidates = 2.0 * self.ring.len() as f64;
        for &d in &self.ring {
            for q in [(p + d) % n, (p + n - d) % n] {
                if q / s == c {
                    continue;
                }
                let j = self.perm.invert(q) as usize;
                let (_, degree) = self.persona_and_degree(j, self.communities[(q / s) as usize].dominant as usize);
                let prob =
                    ((1.0 - WITHIN_SHARE) * f64::from(core.degree) * f64::from(degree) / (kbar * candidates)).min(0.9);
                self.maybe_tie(i, core, j, prob, false, out);
            }
        }
        out.sort_by_key(|f| f.index);
        out.dedup_by_key(|f| f.index);
    }

    fn maybe_tie(&self, i: usize, core: &UserCore, j: usize, prob: f64, within: bool, out: &mut Vec<Friend>) {
        let seed = self.config.seed;
        let (a, b) = (i.min(j) as u64, i.max(j) as u64);
        let kind = if within { Kind::Edge } else { Kind::Ring };
        if i == j || unit(hash2(seed, kind, a, b)) >= prob {
            return;
        }
        let attr = hash2(seed, Kind::EdgeAttr, a, b);
        let x = unit(attr);
        let relationship = match (within, x) {
            (true, x) if x < 0.7 => RelationshipType::Friend,
            (true, x) if x < 0.9 => RelationshipType::Mutual,
            (false, x) if x < 0.45 => RelationshipType::Friend,
            (false, x) if x < 0.7 => RelationshipType::Mutual,
            _ => RelationshipType::Suggested,
        };
        let strength = self.strength(i, j, within, relationship);
        let since = core.created_ms.max(self.core(j).created_ms);
        let created_ms = since + ((self.now_ms - since).max(1) as f64 * unit(crate::rng::mix64(attr ^ 0xFEED))) as i64;
        out.push(Friend { index: j as u32, relationship, strength, same_community: within, created_ms });
    }

    /// The social edges emitted for users in `range`: for each user `i` of the range and
    /// each tie to a user `j < i`, both directions `i -> j` and `j -> i`. Every tie is thus
    /// emitted exactly once, by the range holding the later user, and only references users
    /// with indices below `range.end`: inserting ranges in ascending order never breaks a
    /// foreign key. Over `0..users` the result is the whole symmetric graph.
    pub fn edges(&self, range: std::ops::Range<usize>) -> Vec<SocialEdge> {
        let end = range.end.min(self.config.users);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for i in range.start.min(end)..end {
            let core = self.core(i);
            self.friends_into(i, &core, &mut buf);
            self.push_edges(i, &core, &buf, &mut out);
        }
        out
    }

    pub(crate) fn push_edges(&self, i: usize, core: &UserCore, friends: &[Friend], out: &mut Vec<SocialEdge>) {
        for f in friends.iter().filter(|f| (f.index as usize) < i) {
            let j = f.index as usize;
            let other_id = self.user_id(j);
            let back = self.strength(j, i, f.same_community, f.relationship);
            let at = chrono::DateTime::from_timestamp_millis(f.created_ms).unwrap_or_default();
            out.push(SocialEdge {
                user_id: core.id,
                other_user_id: other_id,
                relationship_type: f.relationship,
                strength: f.strength,
                created_at: at,
            });
            out.push(SocialEdge {
                user_id: other_id,
                other_user_id: core.id,
                relationship_type: f.relationship,
                strength: back,
                created_at: at,
            });
        }
    }

    /// The strength of the edge `from -> to`: a range by kind of tie, a shared base from the
    /// pair, and a small per-direction difference.
    fn strength(&self, from: usize, to: usize, within: bool, relationship: RelationshipType) -> f64 {
        let seed = self.config.seed;
        let (a, b) = (from.min(to) as u64, from.max(to) as u64);
        let attr = hash2(seed, Kind::EdgeAttr, a, b);
        let (lo, hi) = match (within, relationship) {
            (true, RelationshipType::Friend) => (0.55, 0.95),
            (true, RelationshipType::Mutual) => (0.4, 0.8),
            (false, RelationshipType::Friend) => (0.5, 0.9),
            (false, RelationshipType::Mutual) => (0.4, 0.75),
            (_, RelationshipType::Suggested) => (0.3, 0.55),
        };
        let base = lo + (hi - lo) * unit(crate::rng::mix64(attr));
        let dir = unit(hash2(seed, Kind::EdgeAttr, from as u64, to as u64 ^ (1 << 63)));
        ((base + (dir - 0.5) * 0.1).clamp(0.3, 0.95) * 100.0).round() / 100.0
    }
}
