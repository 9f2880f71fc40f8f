//! Venues: a compact profile per venue (what the behaviour model needs: place, category,
//! cuisine, price, quality, tags, hours, latent factors) drawn from `(seed, venue, i)`, and
//! the full `domain::Venue` (names, descriptions, addresses) built from it on demand from a
//! separate stream, so the text never shifts the numbers.

use domain::{Category, LatLng, Venue};
use rand::RngExt;
use uuid::Uuid;

use crate::catalog::{self, CUISINES, TAGS, tag};
use crate::hoods::{self, Neighbourhood, gauss, pick, pick_cumulative};
use crate::rng::{Kind, entity_rng, hash1, hash2, uuid_v7};
use crate::words;

/// Dimension of the hidden taste factors shared by users and venues.
pub const LATENT_DIM: usize = 8;

/// Marks a venue without a cuisine.
pub(crate) const NO_CUISINE: u8 = u8::MAX;

/// Hidden factors are stored as `i8` in units of this (range about +-4).
pub(crate) const LATENT_SCALE: f32 = 1.0 / 32.0;

/// What the behaviour model reads for every candidate venue, packed into 32 bytes so the
/// whole table of a 100,000-venue city stays in cache.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct VenueHot {
    /// Kilometres east and north of the city centre.
    pub xy: [f32; 2],
    /// Bit `t` set when the venue carries `catalog::TAGS[t]`.
    pub tags: u32,
    /// Log of how well known the venue is (quality, location, luck).
    pub popularity: f32,
    /// Hidden factors, in units of [`LATENT_SCALE`].
    pub latent: [i8; LATENT_DIM],
    pub category: u8,
    pub cuisine: u8,
    pub price: u8,
    /// Index into the city's `HoursTable`.
    pub hours: u16,
}

impl VenueHot {
    pub(crate) fn has(&self, t: usize) -> bool {
        self.tags & (1 << t) != 0
    }

    pub(crate) fn category(&self) -> Category {
        Category::ALL[self.category as usize]
    }
}

/// The rest of what is known about a venue (read when it is built in full).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VenueProfile {
    pub id: Uuid,
    pub created_ms: i64,
    pub loc: LatLng,
    pub hood: u16,
    pub rating: f32,
    /// Hidden quality (a z-score); the rating is a noisy view of it.
    pub quality: f32,
    pub capacity: i32,
}

/// Shared inputs for drawing venues.
pub(crate) struct VenueContext<'a> {
    pub seed: u64,
    pub center: LatLng,
    pub radius_km: f64,
    pub hoods: &'a [Neighbourhood],
    pub hood_cumulative: &'a [f64],
    pub hours: &'a catalog::HoursTable,
    /// Creation times are drawn in `[from_ms, to_ms)`.
    pub created_range_ms: (i64, i64),
    /// New openings (one venue in 25) are created in `[from_ms, to_ms)` instead.
    pub opening_range_ms: (i64, i64),
    pub projection: &'a crate::city::Projection,
}

/// Draws the profile of venue `i`.
pub(crate) fn profile(ctx: &VenueContext<'_>, i: usize) -> (VenueProfile, VenueHot) {
    let mut rng = entity_rng(ctx.seed, Kind::Venue, i as u64);
    let hood_index = pick_cumulative(rng.random(), ctx.hood_cumulative);
    let hood = &ctx.hoods[hood_index];
    let loc = hoods::scatter(&mut rng, ctx.center, ctx.radius_km, hood.center, hood.spread_km);
    let c = pick(&mut rng, &hood.category_mix);
    let cuisine = match c {
        0 => match hood.signature {
            Some(s) if rng.random_bool(0.45) => s,
            _ => pick(&mut rng, &catalog::CUISINE_SHARE),
        },
        2 if rng.random_bool(0.55) => catalog::CAFE_CUISINES[rng.random_range(0..catalog::CAFE_CUISINES.len())],
        5 if rng.random_bool(0.3) => {
            if rng.random_bool(0.6) {
                9
            } else {
                0
            }
        }
        _ => NO_CUISINE as usize,
    };
    let cuisine_shift = catalog::CUISINE_PRICE.get(cuisine).copied().unwrap_or(0.0);
    let base = pick(&mut rng, &catalog::PRICE_MIX[c]) as f64 + 1.0;
    let price = (base + 0.6 * hood.price_shift + 0.8 * cuisine_shift + 0.25 * gauss(&mut rng)).round().clamp(1.0, 4.0);
    let quality = gauss(&mut rng);
    let rating = ((4.12 + 0.32 * quality + 0.12 * gauss(&mut rng)).clamp(2.5, 5.0) * 10.0).round() / 10.0;
    let popularity = 0.8 * quality + 0.6 * gauss(&mut rng) + 0.3 * hood.venue_weight.ln();
    let mut tags = 0u32;
    for t in 0..TAGS.len() {
        let mut odds = catalog::tag_odds(c, t);
        for &(b, m) in hood.kind.tag_boosts() {
            if b == t {
                odds *= m;
            }
        }
        if cuisine != NO_CUISINE as usize {
            for &(b, p) in catalog::cuisine_tags(cuisine) {
                if b == t {
                    odds = 1.0 - (1.0 - odds) * (1.0 - p);
                }
            }
        }
        // Dearer places take reservations and feel romantic; cheaper ones run happy hours.
        odds *= match t {
            tag::RESERVATIONS | tag::ROMANTIC => 0.6 + 0.25 * price,
            tag::HAPPY_HOUR => 1.5 - 0.2 * price,
            _ => 1.0,
        };
        if rng.random::<f64>() < odds.min(0.98) {
            tags |= 1 << t;
        }
    }
    if tags & (1 << tag::VEGAN) != 0 {
        tags |= 1 << tag::VEGETARIAN;
    }
    let (first, cumulative) = &ctx.hours.by_category[c];
    let hours = (first + pick_cumulative(rng.random(), cumulative)) as u16;
    let cat = Category::ALL[c];
    let capacity = ((f64::from(cat.default_capacity()) * (0.35 * gauss(&mut rng)).exp() / 5.0).round() * 5.0)
        .clamp(10.0, 5000.0) as i32;
    let latent = std::array::from_fn(|_| (gauss(&mut rng) as f32 / LATENT_SCALE).round().clamp(-127.0, 127.0) as i8);
    let h = hash1(ctx.seed, Kind::VenueId, i as u64);
    let (open_from, open_to) = ctx.opening_range_ms;
    let is_new = h.is_multiple_of(25) && open_to > open_from;
    let (from, to) = if is_new { ctx.opening_range_ms } else { ctx.created_range_ms };
    let created_ms = from + (crate::rng::mix64(h) % (to - from).max(1) as u64) as i64;
    // A new opening has buzz: it is talked about more than its quality alone explains.
    let popularity = if is_new { popularity + 0.6 } else { popularity };
    let bits = (u128::from(hash2(ctx.seed, Kind::VenueId, i as u64, 1)) << 64) | u128::from(mix_low(h));
    let cold = VenueProfile {
        id: uuid_v7(created_ms, bits),
        created_ms,
        loc,
        hood: hood_index as u16,
        rating: rating as f32,
        quality: quality as f32,
        capacity,
    };
    let hot = VenueHot {
        xy: ctx.projection.xy(loc),
        tags,
        popularity: popularity as f32,
        latent,
        category: c as u8,
        cuisine: cuisine as u8,
        price: price as u8,
        hours,
    };
    (cold, hot)
}

fn mix_low(h: u64) -> u64 {
    crate::rng::mix64(h ^ 0xA5A5_A5A5_A5A5_A5A5)
}

const CATEGORY_WORDS: [&str; 7] =
    ["restaurant", "bar", "cafe", "live music venue", "comedy club", "karaoke bar", "sports bar"];

fn choose<'a>(rng: &mut crate::rng::EntityRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// The display name of a venue.
fn name(rng: &mut crate::rng::EntityRng, p: &VenueHot, hood: &Neighbourhood) -> String {
    let c = p.category as usize;
    let adj = choose(rng, words::ADJECTIVES);
    let noun = choose(rng, words::NOUNS);
    let suffix = choose(rng, words::CATEGORY_SUFFIXES[c]);
    let hood_word = hood.name.strip_prefix("The ").unwrap_or(&hood.name);
    if let Some(nouns) = words::CUISINE_NOUNS.get(p.cuisine as usize).filter(|_| c == 0) {
        let dish = choose(rng, nouns);
        return match rng.random_range(0..4) {
            0 => format!("{adj} {dish}"),
            1 => format!("{}'s {dish}", choose(rng, words::LAST_NAMES)),
            2 => format!("{dish} {hood_word}"),
            _ => format!("The {adj} {noun} {dish}"),
        };
    }
    match rng.random_range(0..4) {
        0 => format!("The {adj} {noun}"),
        1 => format!("{adj} {noun} {suffix}"),
        2 => format!("{hood_word} {suffix}"),
        _ => format!("{noun} & {}", choose(rng, words::NOUNS)),
    }
}

fn description(rng: &mut crate::rng::EntityRng, p: &VenueHot, hood: &Neighbourhood) -> String {
    let ambiance: Vec<&str> =
        (0..catalog::AMBIANCE_TAGS).filter(|&t| p.has(t)).map(|t| words::AMBIANCE_WORDS[t]).collect();
    let mood = if ambiance.is_empty() { "neighbourhood" } else { ambiance[rng.random_range(0..ambiance.len())] };
    let cuisine = CUISINES.get(p.cuisine as usize).map(|c| format!("{} ", c.replace('_', " "))).unwrap_or_default();
    // Each reads before "prices" (QA: level 2 read "with fairly priced prices").
    let price = ["wallet-friendly", "moderate", "upscale", "splurge-worthy"][(p.price as usize).clamp(1, 4) - 1];
    let article = if mood.starts_with(['a', 'e', 'i', 'o', 'u']) { "An" } else { "A" };
    let mut s = format!(
        "{article} {mood} {cuisine}{} in {} with {price} prices.",
        CATEGORY_WORDS[p.category as usize], hood.name
    );
    let extras: Vec<&str> = [
        (tag::ROOFTOP, "rooftop views"),
        (tag::HAPPY_HOUR, "a happy hour"),
        (tag::BRUNCH, "weekend brunch"),
        (tag::COCKTAILS, "craft cocktails"),
        (tag::BEER, "craft beer on tap"),
        (tag::VEGAN, "vegan options"),
        (tag::OUTDOOR, "outdoor seating"),
    ]
    .iter()
    .filter(|(t, _)| p.has(*t))
    .map(|(_, w)| *w)
    .take(2)
    .collect();
    if !extras.is_empty() {
        s.push_str(&format!(" Known for {}.", extras.join(" and ")));
    }
    s
}

impl crate::City {
    /// Venue `i` in full: its profile plus names and text from its own stream.
    pub(crate) fn build_venue(&self, i: usize) -> Venue {
        let (cold, p) = (&self.venues[i], &self.hot[i]);
        let hood = &self.hoods[cold.hood as usize];
        let (city, timezone) = (&self.config.city, &self.config.timezone);
        let mut rng = entity_rng(self.config.seed, Kind::VenueText, i as u64);
        let created_at = chrono::DateTime::from_timestamp_millis(cold.created_ms).unwrap_or_default();
        let address =
            format!("{} {}, {}, {city}", rng.random_range(1..=999), choose(&mut rng, words::STREETS), hood.name);
        Venue {
            id: cold.id,
            name: name(&mut rng, p, hood),
            description: Some(description(&mut rng, p, hood)),
            category: p.category(),
            cuisine: CUISINES.get(p.cuisine as usize).map(|c| c.to_string()),
            address: Some(address),
            city: Some(city.to_string()),
            lat: cold.loc.lat,
            lng: cold.loc.lng,
            price_level: Some(i16::from(p.price)),
            rating: Some(f64::from(cold.rating * 10.0).round() / 10.0),
            capacity: cold.capacity,
            tags: (0..TAGS.len()).filter(|&t| p.has(t)).map(|t| TAGS[t].to_string()).collect(),
            opening_hours: self.hours.hours.get(p.hours as usize).cloned(),
            timezone: timezone.to_string(),
            created_at,
            updated_at: created_at,
        }
    }
}
