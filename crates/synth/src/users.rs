//! Users: the cheap per-user facts other users' generation needs (persona, community,
//! sociability, id) as pure hash functions of the index, then the full `domain::User`, the
//! hidden [`Taste`] and the stated `UserPreferences` from the user's own generators.

use domain::{Persona, User, UserId, UserPreferences};
use rand::RngExt;
use uuid::Uuid;

use crate::City;
use crate::hoods::{gauss, pick_cumulative, scatter};
use crate::personas::{PROFILES, PersonaProfile};
use crate::rng::{Kind, entity_rng, hash1, hash2, mix64, unit, uuid_v7};
use crate::taste::{self, FAVOURITES, Taste};
use crate::venues::{LATENT_DIM, LATENT_SCALE};
use crate::words;

/// Facts about a user that are needed when generating *other* users (friends, plans).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct UserCore {
    pub persona: Persona,
    pub community: u32,
    /// Expected number of ties (before the graph is drawn).
    pub degree: f32,
    pub created_ms: i64,
    pub id: Uuid,
    /// Standard-normal draw setting how active the user is relative to the persona.
    pub activity_z: f32,
}

/// A social community: users who mostly befriend each other, live near the same
/// neighbourhood, share part of their taste and favour the same places.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Community {
    /// The persona (index) its members lean to.
    pub dominant: u8,
    /// The neighbourhood most members live around.
    pub anchor: u16,
    pub latent: [f32; LATENT_DIM],
    pub favourites: [u32; FAVOURITES],
}

/// An approximately standard normal number from a hash (sum of four uniforms).
fn hash_normal(h: u64) -> f64 {
    let parts = [h & 0xFFFF, (h >> 16) & 0xFFFF, (h >> 32) & 0xFFFF, h >> 48];
    let s: f64 = parts.iter().map(|&p| p as f64 / 65536.0).sum();
    (s - 2.0) * (3.0f64).sqrt()
}

impl City {
    /// The community of user `i`.
    pub(crate) fn community_of(&self, i: usize) -> u32 {
        (self.perm.apply(i as u64) / self.community_size) as u32
    }

    /// Draws community `c`: the persona it leans to, its neighbourhood, its shared taste
    /// factors and its favourite places.
    pub(crate) fn build_community(&self, c: u32) -> Community {
        let h = hash1(self.config.seed, Kind::Community, u64::from(c));
        let anchor = pick_cumulative(unit(mix64(h)), &self.home_cumulative);
        let mut rng = entity_rng(self.config.seed, Kind::Community, u64::from(c));
        let latent: [f32; LATENT_DIM] = std::array::from_fn(|_| gauss(&mut rng) as f32);
        let favourites = self.community_favourites(&mut rng, anchor, &latent);
        Community { dominant: (h % 7) as u8, anchor: anchor as u16, latent, favourites }
    }

    /// The persona (index) and expected degree of user `i` whose community leans to `dominant`.
    pub(crate) fn persona_and_degree(&self, i: usize, dominant: usize) -> (usize, f32) {
        let seed = self.config.seed;
        let h = hash1(seed, Kind::UserCore, i as u64);
        // Communities lean towards one persona (birds of a feather).
        let cum = &self.persona_cumulative[dominant];
        let x = unit(h) * cum[6];
        let persona = cum.iter().position(|&c| x < c).unwrap_or(6);
        let h2 = hash2(seed, Kind::UserCore, i as u64, 1);
        (persona, PROFILES[persona].mean_degree as f32 * self.degree_spread[(h2 >> 54) as usize])
    }

    pub(crate) fn core(&self, i: usize) -> UserCore {
        let seed = self.config.seed;
        let community = self.community_of(i);
        let dominant = self.communities[community as usize].dominant as usize;
        let (persona, degree) = self.persona_and_degree(i, dominant);
        let prof = &PROFILES[persona];
        let activity_z = hash_normal(hash2(seed, Kind::UserCore, i as u64, 2)) as f32;
        const DAY_MS: i64 = 86_400_000;
        let h3 = hash1(seed, Kind::UserId, i as u64);
        let (start, now) = (self.history_start_ms, self.now_ms);
        // One in ten users joined during the history window; the rest up to three years before.
        let created_ms = if h3.is_multiple_of(10) {
            start + (mix64(h3) % ((now - start - DAY_MS).max(1) as u64)) as i64
        } else {
            start - 3 * 365 * DAY_MS + (mix64(h3) % (3 * 365 * DAY_MS as u64)) as i64
        };
        let bits = (u128::from(mix64(h3 ^ 0x1234_5678)) << 64) | u128::from(hash2(seed, Kind::UserId, i as u64, 7));
        UserCore { persona: prof.persona, community, degree, created_ms, id: uuid_v7(created_ms, bits), activity_z }
    }

    /// The id of user `index` (cheap: no other field is generated).
    pub fn user_id(&self, index: usize) -> UserId {
        self.core(index).id
    }

    /// The persona of user `index`.
    pub fn persona(&self, index: usize) -> Persona {
        self.core(index).persona
    }

    /// The hidden taste of user `index`: the ground truth of their behaviour.
    pub fn taste(&self, index: usize) -> Taste {
        let core = self.core(index);
        self.taste_with(index, &core)
    }

    pub(crate) fn taste_with(&self, i: usize, core: &UserCore) -> Taste {
        let seed = self.config.seed;
        let prof = crate::personas::profile(core.persona);
        let community = &self.communities[core.community as usize];
        let anchor = community.anchor as usize;
        let mut rng = entity_rng(seed, Kind::Taste, i as u64);
        let mut t = taste::draw(&mut rng, prof, &community.latent);
        t.community = core.community;
        // Log-normal with mean 1, shared with the user's activity score.
        t.activity = (0.5 * core.activity_z - 0.125).exp();
        // Three in four live around the community's neighbourhood, the rest anywhere.
        let hood = if rng.random_bool(0.75) { anchor } else { pick_cumulative(rng.random(), &self.home_cumulative) };
        let h = &self.hoods[hood];
        t.home_hood = hood as u16;
        t.home = scatter(&mut rng, self.config.center, self.config.radius_km, h.center, h.spread_km * 1.5);
        t.home.lat = (t.home.lat * 1e6).round() / 1e6;
        t.home.lng = (t.home.lng * 1e6).round() / 1e6;
        t.home_xy = self.projection.xy(t.home);
        t.favourites = community.favourites;
        t
    }

    /// The places a community favours: well-rated venues of its neighbourhood (and the
    /// next one) that match its shared taste factors.
    fn community_favourites(
        &self,
        rng: &mut crate::rng::EntityRng,
        anchor: usize,
        latent: &[f32; LATENT_DIM],
    ) -> [u32; FAVOURITES] {
        let mut out = [u32::MAX; FAVOURITES];
        let mut pool: Vec<(f32, u32)> = Vec::with_capacity(40);
        let near = self.hood_near[anchor].first().map_or(anchor, |&h| h as usize);
        for hood in [anchor, anchor, near] {
            let list = self.by_hood.get(hood);
            if list.is_empty() {
                continue;
            }
            for _ in 0..12 {
                let v = list[rng.random_range(0..list.len())];
                let p = &self.hot[v as usize];
                let dot: f32 = (0..LATENT_DIM).map(|k| latent[k] * f32::from(p.latent[k]) * LATENT_SCALE).sum();
                pool.push((dot + self.venues[v as usize].quality, v));
            }
        }
        pool.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        pool.dedup_by_key(|x| x.1);
        for (slot, (_, v)) in out.iter_mut().zip(pool) {
            *slot = v;
        }
        out
    }

    /// The stated preferences of user `index`.
    pub fn preferences(&self, index: usize) -> UserPreferences {
        let core = self.core(index);
        let taste = self.taste_with(index, &core);
        self.preferences_with(index, &core, &taste)
    }

    pub(crate) fn preferences_with(&self, i: usize, core: &UserCore, taste: &Taste) -> UserPreferences {
        let mut rng = entity_rng(self.config.seed, Kind::Prefs, i as u64);
        taste.preferences(&mut rng, crate::personas::profile(core.persona))
    }

    /// User `index` in full.
    pub fn user(&self, index: usize) -> User {
        let core = self.core(index);
        let taste = self.taste_with(index, &core);
        self.user_with(index, &core, &taste)
    }

    /// Users with indices in `range` (clamped to the user count), in index order.
    pub fn users(&self, range: std::ops::Range<usize>) -> Vec<User> {
        let end = range.end.min(self.config.users);
        (range.start.min(end)..end).map(|i| self.user(i)).collect()
    }

    pub(crate) fn user_with(&self, i: usize, core: &UserCore, taste: &Taste) -> User {
        let mut rng = entity_rng(self.config.seed, Kind::UserProfile, i as u64);
        let prof: &PersonaProfile = crate::personas::profile(core.persona);
        let first = words::FIRST_NAMES[rng.random_range(0..words::FIRST_NAMES.len())];
        let last = words::LAST_NAMES[rng.random_range(0..words::LAST_NAMES.len())];
        let sep = ["", ".", "_"][rng.random_range(0..3)];
        // Names have no digits, so the index suffix alone makes the handle unique.
        let digits = i.to_string();
        let mut stem = format!("{}{sep}{}", first.to_lowercase(), last.to_lowercase());
        stem.truncate(30 - digits.len());
        let handle = format!("{stem}{digits}");
        let email = rng.random_bool(0.85).then(|| {
            let domain = words::EMAIL_DOMAINS[rng.random_range(0..words::EMAIL_DOMAINS.len())];
            format!("{handle}@{domain}")
        });
        let age = (prof.age.0 + prof.age.1 * gauss(&mut rng)).round().clamp(18.0, 80.0) as i32;
        let score = |rng: &mut crate::rng::EntityRng, (m, s): (f64, f64), z: f64| {
            ((m + s * (0.7 * z + 0.7 * gauss(rng))).clamp(0.0, 1.0) * 100.0).round() / 100.0
        };
        let activity_score = score(&mut rng, prof.activity_score, f64::from(core.activity_z));
        let social_score =
            score(&mut rng, prof.social_score, f64::from(core.degree / prof.mean_degree as f32 - 1.0) * 3.0);
        let created_at = chrono::DateTime::from_timestamp_millis(core.created_ms).unwrap_or_default();
        User {
            id: core.id,
            handle,
            name: format!("{first} {last}"),
            email,
            age: Some(age),
            avatar_url: None,
            home_lat: Some(taste.home.lat),
            home_lng: Some(taste.home.lng),
            city: Some(self.config.city.clone()),
            persona: Some(core.persona),
            activity_score,
            social_score,
            created_at,
            updated_at: created_at,
        }
    }
}
