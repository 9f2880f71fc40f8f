//! Latent tastes: the hidden ground truth behind every user. Stated preferences are a noisy
//! reading of it and every interaction is drawn from it, so a recommender can be judged
//! against [`Taste::utility`] / `City::affinity` as well as against held-out interactions.

use domain::{LatLng, Persona, UserPreferences};
use rand::RngExt;
use serde::Serialize;

use crate::catalog::{self, AMBIANCE_TAGS, CUISINES, DIETARY, TAGS, tag};
use crate::hoods::gauss;
use crate::personas::PersonaProfile;
use crate::rng::EntityRng;
use crate::venues::{LATENT_DIM, LATENT_SCALE, NO_CUISINE, VenueHot};

/// How many venues a community shares as favourites (friends' places).
pub const FAVOURITES: usize = 10;

/// Extra utility of a venue the user's community favours (friends go there).
pub const FAVOURITE_BONUS: f32 = 1.0;

/// Weight of the hidden factor match in the utility.
pub const LATENT_WEIGHT: f32 = 0.3;

/// A user's hidden taste. Utilities are additive log-odds: higher is better.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Taste {
    /// The user's persona.
    pub persona: Persona,
    /// The social community (friends mostly come from the same one).
    pub community: u32,
    /// Where the user lives.
    pub home: LatLng,
    /// `home` in kilometres east and north of the city centre.
    #[serde(skip)]
    pub(crate) home_xy: [f32; 2],
    /// Index of the home neighbourhood.
    pub home_hood: u16,
    /// Utility of each category, in the order of `Category::ALL`.
    pub category: [f32; 7],
    /// Utility of each cuisine of [`catalog::CUISINES`] (for venues that have one).
    pub cuisine: [f32; 20],
    /// Utility of each tag of [`catalog::TAGS`] a venue carries.
    pub tags: [f32; 22],
    /// Favourite price level (1 to 4) and how much a distance from it costs.
    pub price_ideal: f32,
    /// Utility lost per squared price level away from the ideal, times two.
    pub price_sensitivity: f32,
    /// Distance (km) over which a venue's appeal falls by a factor e.
    pub distance_km: f32,
    /// Weight of a venue's popularity in choices (herding).
    pub popularity_weight: f32,
    /// 0 (creature of habit) to 1 (always somewhere new).
    pub exploration: f32,
    /// Index into [`catalog::DIETARY`] of a dietary need, if any.
    pub dietary: Option<u8>,
    /// Hidden factors (half shared with the community); matched against venue factors.
    pub latent: [f32; LATENT_DIM],
    /// Venues the user's community favours (indices), which add [`FAVOURITE_BONUS`].
    pub favourites: [u32; FAVOURITES],
    /// Multiplier on the mean number of interactions.
    pub activity: f32,
}

/// Persona-specific shifts of tag utilities.
fn persona_tag_bias(p: Persona) -> &'static [(usize, f32)] {
    use tag::*;
    match p {
        Persona::SocialButterfly => &[(LIVELY, 0.6), (LATE_NIGHT, 0.4), (TRENDY, 0.3), (QUIET, -0.5), (COCKTAILS, 0.3)],
        Persona::FoodieExplorer => &[(TRENDY, 0.3), (RESERVATIONS, 0.2), (COZY, 0.2)],
        Persona::RoutineRegular => &[(COZY, 0.5), (QUIET, 0.3), (WIFI, 0.2), (LATE_NIGHT, -0.3)],
        Persona::EventOrganizer => &[(LIVE_MUSIC, 0.5), (LIVELY, 0.3), (RESERVATIONS, 0.3)],
        Persona::SpontaneousDiner => &[(LATE_NIGHT, 0.4), (LIVELY, 0.2), (RESERVATIONS, -0.2)],
        Persona::BusyProfessional => &[(WIFI, 0.3), (RESERVATIONS, 0.4), (QUIET, 0.2)],
        Persona::BudgetConscious => &[(HAPPY_HOUR, 0.6), (ROOFTOP, -0.2), (ROMANTIC, -0.2)],
    }
}

/// Draws everything of a taste except place, community and favourites (set by the caller).
pub(crate) fn draw(rng: &mut EntityRng, prof: &PersonaProfile, community_latent: &[f32; LATENT_DIM]) -> Taste {
    let mut category = [0f32; 7];
    let mut total = 0.0;
    for (c, u) in category.iter_mut().enumerate() {
        // A gamma-like spread around the persona's bias.
        let w = prof.category_bias[c] * (0.55 * gauss(rng)).exp();
        *u = w as f32;
        total += w;
    }
    for u in &mut category {
        *u = (*u * 7.0 / total as f32).ln();
    }
    let mut cuisine = [0f32; 20];
    for u in &mut cuisine {
        *u = (0.6 * gauss(rng)) as f32;
    }
    // Favourite cuisines: as many as the persona states, boosted.
    let (lo, hi) = prof.cuisine_breadth;
    let k = rng.random_range(lo..=hi);
    for _ in 0..k {
        let c = crate::hoods::pick(rng, &catalog::CUISINE_SHARE);
        cuisine[c] += 0.9;
    }
    let mut tags = [0f32; 22];
    for (t, u) in tags.iter_mut().enumerate() {
        let spread = if t < AMBIANCE_TAGS { 0.35 } else { 0.15 };
        *u = (spread * gauss(rng)) as f32;
    }
    for &(t, b) in persona_tag_bias(prof.persona) {
        tags[t] += b;
    }
    let dietary = {
        let x = rng.random::<f64>();
        let mut acc = 0.0;
        catalog::DIETARY_SHARE.iter().position(|s| {
            acc += s;
            x < acc
        })
    };
    if let Some(d) = dietary {
        tags[DIETARY[d].1] += 0.8;
    }
    let latent = std::array::from_fn(|i| (0.6 * community_latent[i] as f64 + 0.8 * gauss(rng)) as f32);
    Taste {
        persona: prof.persona,
        community: 0,
        home: LatLng { lat: 0.0, lng: 0.0 },
        home_xy: [0.0; 2],
        home_hood: 0,
        category,
        cuisine,
        tags,
        // Price-sensitive people are also the most consistent about price.
        price_ideal: (prof.price_ideal + 0.5 / (1.0 + prof.price_sensitivity) * gauss(rng)).clamp(1.0, 4.0) as f32,
        price_sensitivity: (prof.price_sensitivity * (0.3 * gauss(rng)).exp()) as f32,
        distance_km: (prof.distance_km * (0.3 * gauss(rng)).exp()) as f32,
        popularity_weight: (0.45 + 0.1 * gauss(rng)).clamp(0.1, 0.9) as f32,
        exploration: (prof.exploration + 0.1 * gauss(rng)).clamp(0.02, 1.0) as f32,
        dietary: dietary.map(|d| d as u8),
        latent,
        favourites: [u32::MAX; FAVOURITES],
        activity: 1.0,
    }
}

impl Taste {
    /// The user's utility for a venue (taste only: no distance, no popularity). Higher is
    /// better; about 0 is indifferent.
    pub(crate) fn utility(&self, v: &VenueHot, index: u32) -> f32 {
        let mut u = self.category[v.category as usize];
        if v.cuisine != NO_CUISINE {
            u += self.cuisine[v.cuisine as usize];
        }
        let mut bits = v.tags;
        let mut tag_sum = 0.0;
        while bits != 0 {
            let t = bits.trailing_zeros() as usize;
            tag_sum += self.tags[t];
            bits &= bits - 1;
        }
        u += tag_sum * 0.6;
        let dp = f32::from(v.price) - self.price_ideal;
        u -= self.price_sensitivity * 0.5 * dp * dp;
        let mut dot = 0.0;
        for k in 0..LATENT_DIM {
            dot += self.latent[k] * f32::from(v.latent[k]);
        }
        u += LATENT_WEIGHT * LATENT_SCALE * dot;
        if let Some(d) = self.dietary
            && !v.has(DIETARY[d as usize].1)
        {
            // Food places that cannot feed them are nearly out; bars and shows a little.
            u -= if v.category <= 2 { 2.0 } else { 0.4 };
        }
        if self.favourites.contains(&index) {
            u += FAVOURITE_BONUS;
        }
        u
    }

    /// The stated preferences: a noisy, partial reading of this taste.
    pub(crate) fn preferences(&self, rng: &mut EntityRng, prof: &PersonaProfile) -> UserPreferences {
        let mut order: Vec<(f32, usize)> =
            self.cuisine.iter().enumerate().map(|(c, &u)| (u + 0.3 * gauss(rng) as f32, c)).collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let (lo, hi) = prof.cuisine_breadth;
        let k = rng.random_range(lo..=hi);
        let cuisines = order.iter().take(k).map(|&(_, c)| CUISINES[c].to_string()).collect();
        let mut amb: Vec<(f32, usize)> =
            (0..AMBIANCE_TAGS).map(|t| (self.tags[t] + 0.2 * gauss(rng) as f32, t)).collect();
        amb.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let n_amb = rng.random_range(1..=3);
        let ambiance = amb.iter().take(n_amb).filter(|a| a.0 > 0.0).map(|&(_, t)| TAGS[t].to_string()).collect();
        let tol = 0.75 / self.price_sensitivity.max(0.2).sqrt();
        let noisy_ideal = self.price_ideal + 0.2 * gauss(rng) as f32;
        let price_min = (noisy_ideal - tol).round().clamp(1.0, 4.0) as i16;
        let price_max = ((noisy_ideal + tol).round().clamp(1.0, 4.0) as i16).max(price_min);
        // Most people with a dietary need state it; a few state one they do not strictly keep.
        let stated = match self.dietary {
            Some(d) if rng.random_bool(0.9) => Some(d as usize),
            None if rng.random_bool(0.02) => Some(0),
            _ => None,
        };
        let dietary = stated.map(|d| DIETARY[d].0.to_string()).into_iter().collect();
        let (g_lo, g_hi) = prof.group_size;
        UserPreferences {
            cuisines,
            price_min,
            price_max,
            ambiance,
            dietary,
            preferred_group_size: rng.random_range(g_lo..=g_hi),
            openness: ((prof.openness + 0.12 * gauss(rng)).clamp(0.0, 1.0) * 100.0).round() / 100.0,
        }
    }
}

/// The logistic map from utility to an affinity in (0, 1).
pub(crate) fn affinity_of_utility(u: f32) -> f64 {
    1.0 / (1.0 + (-f64::from(u)).exp())
}
