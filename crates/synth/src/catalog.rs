//! The fixed vocabulary of the generated city: cuisines, venue tags, dietary needs, and per
//! category the price mix, tag odds, visiting hours and weekly opening-hour patterns.
//! Indices into these tables are stable: they are part of the generator's output.

use domain::{Category, OpeningHours};

/// Cuisines a restaurant or cafe can serve (lower-case, as stored on venues and preferences).
pub const CUISINES: [&str; 20] = [
    "japanese",
    "ramen",
    "sushi",
    "italian",
    "pizza",
    "mexican",
    "thai",
    "indian",
    "chinese",
    "korean",
    "french",
    "american",
    "mediterranean",
    "vegan",
    "vietnamese",
    "greek",
    "spanish",
    "middle_eastern",
    "caribbean",
    "ethiopian",
];

/// Relative frequency of each cuisine among restaurants.
pub(crate) const CUISINE_SHARE: [f64; 20] =
    [5.0, 4.0, 4.0, 9.0, 7.0, 7.0, 5.0, 5.0, 7.0, 4.0, 4.0, 10.0, 4.0, 2.5, 3.0, 2.5, 2.5, 3.0, 2.5, 1.5];

/// Price-level shift of each cuisine (sushi and French dearer, pizza cheaper).
pub(crate) const CUISINE_PRICE: [f64; 20] =
    [0.4, -0.4, 0.7, 0.3, -0.8, -0.4, -0.2, -0.2, -0.4, 0.1, 0.9, 0.0, 0.2, 0.0, -0.4, 0.0, 0.4, -0.3, -0.3, -0.4];

/// Cuisines a cafe can have (indices into [`CUISINES`]); most cafes have none.
pub(crate) const CAFE_CUISINES: [usize; 7] = [10, 3, 11, 13, 0, 12, 9];

/// Venue tags: ten ambiance tags, then features. Index = bit in a venue's tag mask.
pub const TAGS: [&str; 22] = [
    "cozy",
    "lively",
    "romantic",
    "rooftop",
    "outdoor_seating",
    "live_music",
    "quiet",
    "trendy",
    "family_friendly",
    "late_night",
    "vegan_options",
    "vegetarian_options",
    "gluten_free_options",
    "halal",
    "wifi",
    "happy_hour",
    "reservations",
    "dog_friendly",
    "craft_cocktails",
    "craft_beer",
    "brunch",
    "wheelchair_accessible",
];

/// How many of [`TAGS`] are ambiance tags (the rest are features).
pub const AMBIANCE_TAGS: usize = 10;

/// Tag indices used by rules below.
pub(crate) mod tag {
    pub const COZY: usize = 0;
    pub const LIVELY: usize = 1;
    pub const ROMANTIC: usize = 2;
    pub const ROOFTOP: usize = 3;
    pub const OUTDOOR: usize = 4;
    pub const LIVE_MUSIC: usize = 5;
    pub const QUIET: usize = 6;
    pub const TRENDY: usize = 7;
    pub const FAMILY: usize = 8;
    pub const LATE_NIGHT: usize = 9;
    pub const VEGAN: usize = 10;
    pub const VEGETARIAN: usize = 11;
    pub const GLUTEN_FREE: usize = 12;
    pub const HALAL: usize = 13;
    pub const WIFI: usize = 14;
    pub const HAPPY_HOUR: usize = 15;
    pub const RESERVATIONS: usize = 16;
    pub const DOG: usize = 17;
    pub const COCKTAILS: usize = 18;
    pub const BEER: usize = 19;
    pub const BRUNCH: usize = 20;
    pub const ACCESSIBLE: usize = 21;
}

/// Dietary needs a user can state, each with the venue tag that serves it.
pub const DIETARY: [(&str, usize); 4] =
    [("vegetarian", tag::VEGETARIAN), ("vegan", tag::VEGAN), ("gluten_free", tag::GLUTEN_FREE), ("halal", tag::HALAL)];

/// Share of users with each dietary need (a user has at most one).
pub(crate) const DIETARY_SHARE: [f64; 4] = [0.08, 0.03, 0.04, 0.03];

/// Position of a category in [`Category::ALL`].
pub fn category_index(c: Category) -> usize {
    match c {
        Category::Restaurant => 0,
        Category::Bar => 1,
        Category::Cafe => 2,
        Category::Music => 3,
        Category::Comedy => 4,
        Category::Karaoke => 5,
        Category::Sports => 6,
    }
}

/// Price-level odds (levels 1 to 4) by category.
pub(crate) const PRICE_MIX: [[f64; 4]; 7] = [
    [0.22, 0.43, 0.25, 0.10],
    [0.15, 0.50, 0.28, 0.07],
    [0.45, 0.45, 0.09, 0.01],
    [0.15, 0.50, 0.30, 0.05],
    [0.20, 0.55, 0.22, 0.03],
    [0.25, 0.55, 0.18, 0.02],
    [0.35, 0.50, 0.13, 0.02],
];

/// Odds that a venue of category `c` (index) carries tag `t`, before neighbourhood effects.
pub(crate) fn tag_odds(c: usize, t: usize) -> f64 {
    use tag::*;
    const DEFAULTS: [f64; 7] = [0.0; 7];
    let per_cat: [f64; 7] = match t {
        //           rest  bar   cafe  music comedy karaoke sports
        COZY => [0.30, 0.25, 0.55, 0.10, 0.20, 0.10, 0.05],
        LIVELY => [0.30, 0.55, 0.15, 0.70, 0.50, 0.75, 0.75],
        ROMANTIC => [0.20, 0.15, 0.05, 0.05, 0.02, 0.01, 0.00],
        ROOFTOP => [0.04, 0.10, 0.02, 0.03, 0.00, 0.00, 0.02],
        OUTDOOR => [0.30, 0.25, 0.35, 0.05, 0.00, 0.00, 0.20],
        LIVE_MUSIC => [0.04, 0.20, 0.05, 1.00, 0.05, 0.10, 0.05],
        QUIET => [0.15, 0.05, 0.45, 0.00, 0.00, 0.00, 0.00],
        TRENDY => [0.20, 0.30, 0.25, 0.30, 0.15, 0.25, 0.05],
        FAMILY => [0.35, 0.02, 0.40, 0.10, 0.02, 0.15, 0.50],
        LATE_NIGHT => [0.10, 0.70, 0.02, 0.70, 0.40, 0.80, 0.30],
        VEGAN => [0.25, 0.05, 0.35, 0.02, 0.02, 0.02, 0.05],
        VEGETARIAN => [0.55, 0.15, 0.60, 0.05, 0.05, 0.10, 0.15],
        GLUTEN_FREE => [0.30, 0.05, 0.30, 0.02, 0.02, 0.02, 0.05],
        HALAL => [0.06, 0.01, 0.03, 0.01, 0.00, 0.01, 0.02],
        WIFI => [0.15, 0.20, 0.90, 0.10, 0.05, 0.10, 0.40],
        HAPPY_HOUR => [0.20, 0.70, 0.00, 0.25, 0.20, 0.40, 0.55],
        RESERVATIONS => [0.70, 0.25, 0.05, 0.50, 0.80, 0.85, 0.40],
        DOG => [0.08, 0.20, 0.30, 0.00, 0.00, 0.00, 0.05],
        COCKTAILS => [0.15, 0.60, 0.00, 0.35, 0.30, 0.30, 0.10],
        BEER => [0.10, 0.50, 0.00, 0.30, 0.25, 0.20, 0.65],
        BRUNCH => [0.25, 0.05, 0.45, 0.00, 0.00, 0.00, 0.10],
        ACCESSIBLE => [0.45, 0.35, 0.45, 0.55, 0.45, 0.45, 0.60],
        _ => DEFAULTS,
    };
    per_cat[c]
}

/// Tags a cuisine implies or favours: (tag, odds).
pub(crate) fn cuisine_tags(cuisine: usize) -> &'static [(usize, f64)] {
    use tag::*;
    match CUISINES[cuisine] {
        "vegan" => &[(VEGAN, 1.0), (VEGETARIAN, 1.0), (GLUTEN_FREE, 0.5)],
        "indian" => &[(VEGETARIAN, 0.9), (VEGAN, 0.5), (HALAL, 0.3)],
        "middle_eastern" => &[(HALAL, 0.7), (VEGETARIAN, 0.7), (VEGAN, 0.3)],
        "mediterranean" => &[(VEGETARIAN, 0.8), (HALAL, 0.2), (VEGAN, 0.3)],
        "ethiopian" => &[(VEGAN, 0.7), (VEGETARIAN, 0.9), (GLUTEN_FREE, 0.4)],
        "thai" | "vietnamese" => &[(VEGETARIAN, 0.5), (GLUTEN_FREE, 0.4)],
        "french" | "italian" | "spanish" => &[(ROMANTIC, 0.4), (RESERVATIONS, 0.5)],
        "sushi" | "japanese" => &[(QUIET, 0.25), (RESERVATIONS, 0.4)],
        "pizza" | "american" => &[(FAMILY, 0.4), (BEER, 0.3)],
        "korean" => &[(LIVELY, 0.4), (LATE_NIGHT, 0.3)],
        _ => &[],
    }
}

/// Relative chance of visiting a venue of category `c` (index) at each local hour.
pub(crate) fn visit_hours(c: usize) -> [f64; 24] {
    //          0    1    2    3    4    5    6    7    8    9    10   11   12   13   14   15   16   17   18   19   20   21   22   23
    match c {
        0 => [
            0.1, 0., 0., 0., 0., 0., 0., 0., 0.1, 0.3, 0.6, 2.0, 4.0, 3.0, 1.0, 0.5, 0.5, 1.5, 4.0, 6.0, 5.5, 3.5, 1.5,
            0.5,
        ],
        1 => [
            2.0, 1.0, 0.3, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.2, 0.2, 0.2, 0.3, 0.8, 2.5, 4.0, 4.5, 5.0, 5.0, 4.5,
            3.5,
        ],
        2 => [
            0., 0., 0., 0., 0., 0., 0.3, 2.5, 4.0, 4.0, 3.5, 2.5, 2.5, 2.0, 2.0, 1.5, 1.0, 0.4, 0.1, 0., 0., 0., 0., 0.,
        ],
        3 => [2.0, 0.8, 0.2, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.2, 0.8, 2.5, 4.5, 5.0, 4.5, 3.5],
        4 => [0.8, 0.2, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.2, 1.0, 3.5, 5.0, 4.5, 3.0, 1.8],
        5 => {
            [3.0, 2.0, 1.0, 0.2, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.1, 0.5, 1.5, 3.0, 4.5, 5.0, 4.5]
        }
        _ => [
            0.5, 0.1, 0., 0., 0., 0., 0., 0., 0., 0., 0.1, 0.3, 1.0, 1.5, 1.5, 1.5, 1.5, 2.0, 3.0, 4.5, 5.0, 4.5, 3.0,
            1.5,
        ],
    }
}

/// Typical minutes spent on a visit to a venue of category `c` (index).
pub(crate) const VISIT_MINUTES: [f64; 7] = [75.0, 90.0, 40.0, 150.0, 110.0, 120.0, 140.0];

fn hm(h: u16, m: u16) -> u16 {
    h * 60 + m
}

/// Weekly hours from a closed-day list and one pattern for weekdays and one for Fri/Sat.
fn weekly(closed: &[usize], weekday: &[(u16, u16)], weekend: &[(u16, u16)]) -> OpeningHours {
    let mut h = OpeningHours::default();
    for (d, day) in h.days.iter_mut().enumerate() {
        if closed.contains(&d) {
            continue;
        }
        // Friday and Saturday nights run later; Sunday keeps the weekday pattern.
        *day = if d == 4 || d == 5 { weekend.to_vec() } else { weekday.to_vec() };
    }
    h
}

/// The opening-hour patterns of category `c` (index) with their relative odds.
pub(crate) fn hours_variants(c: usize) -> Vec<(f64, OpeningHours)> {
    const MON: usize = 0;
    const SUN: usize = 6;
    match c {
        0 => vec![
            (
                4.0,
                weekly(
                    &[],
                    &[(hm(11, 30), hm(15, 0)), (hm(17, 0), hm(22, 0))],
                    &[(hm(11, 30), hm(15, 0)), (hm(17, 0), hm(23, 0))],
                ),
            ),
            (
                3.0,
                weekly(
                    &[MON],
                    &[(hm(12, 0), hm(14, 30)), (hm(17, 30), hm(22, 30))],
                    &[(hm(12, 0), hm(14, 30)), (hm(17, 30), hm(23, 30))],
                ),
            ),
            (2.0, weekly(&[MON], &[(hm(17, 0), hm(22, 30))], &[(hm(17, 0), hm(23, 30))])),
            (3.0, weekly(&[], &[(hm(11, 0), hm(23, 0))], &[(hm(11, 0), hm(24, 0))])),
        ],
        1 => vec![
            (5.0, weekly(&[], &[(hm(17, 0), hm(26, 0))], &[(hm(17, 0), hm(27, 0))])),
            (3.0, weekly(&[MON], &[(hm(16, 0), hm(25, 0))], &[(hm(16, 0), hm(26, 0))])),
            (2.0, weekly(&[], &[(hm(12, 0), hm(24, 0))], &[(hm(12, 0), hm(26, 0))])),
        ],
        2 => vec![
            (5.0, weekly(&[], &[(hm(7, 0), hm(17, 0))], &[(hm(8, 0), hm(17, 0))])),
            (3.0, weekly(&[SUN], &[(hm(6, 30), hm(16, 0))], &[(hm(7, 30), hm(16, 0))])),
            (2.0, weekly(&[], &[(hm(8, 0), hm(19, 0))], &[(hm(8, 0), hm(20, 0))])),
        ],
        3 => vec![
            (4.0, weekly(&[MON, 1], &[(hm(19, 0), hm(25, 0))], &[(hm(19, 0), hm(26, 0))])),
            (3.0, weekly(&[MON], &[(hm(18, 0), hm(24, 0))], &[(hm(18, 0), hm(26, 0))])),
        ],
        4 => vec![
            (4.0, weekly(&[MON], &[(hm(19, 0), hm(24, 0))], &[(hm(19, 0), hm(26, 0))])),
            (2.0, weekly(&[MON, 1, 2], &[(hm(19, 30), hm(23, 30))], &[(hm(19, 0), hm(25, 0))])),
        ],
        5 => vec![
            (4.0, weekly(&[], &[(hm(18, 0), hm(26, 0))], &[(hm(18, 0), hm(28, 0))])),
            (2.0, weekly(&[MON], &[(hm(17, 0), hm(25, 0))], &[(hm(17, 0), hm(27, 0))])),
        ],
        _ => vec![
            (4.0, weekly(&[], &[(hm(11, 0), hm(24, 0))], &[(hm(11, 0), hm(26, 0))])),
            (2.0, weekly(&[], &[(hm(16, 0), hm(24, 0))], &[(hm(12, 0), hm(25, 0))])),
        ],
    }
}

/// Weekdays, Monday first (the order of `OpeningHours::days`).
pub(crate) const WEEKDAYS: [chrono::Weekday; 7] = {
    use chrono::Weekday::*;
    [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
};

/// Opening-hour patterns of every category with a per-weekday mask of open local hours
/// (bit `h` set when open at `h:30`), built once per city.
#[derive(Debug, Clone)]
pub(crate) struct HoursTable {
    /// All patterns, category after category.
    pub hours: Vec<OpeningHours>,
    /// Open-hour masks per pattern and weekday (Monday first).
    pub masks: Vec<[u32; 7]>,
    /// Per category: (first pattern index, cumulative odds).
    pub by_category: Vec<(usize, Vec<f64>)>,
}

impl HoursTable {
    pub(crate) fn new() -> Self {
        let (mut hours, mut masks, mut by_category) = (vec![], vec![], vec![]);
        for c in 0..7 {
            let first = hours.len();
            let mut cum = vec![];
            let mut total = 0.0;
            for (w, h) in hours_variants(c) {
                total += w;
                cum.push(total);
                let mask = std::array::from_fn(|d| {
                    let wd = WEEKDAYS[d];
                    (0..24u16).filter(|&hr| h.is_open(wd, hr * 60 + 30)).fold(0u32, |m, hr| m | (1 << hr))
                });
                masks.push(mask);
                hours.push(h);
            }
            by_category.push((first, cum));
        }
        Self { hours, masks, by_category }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern a city's venues are given passes the hours rule a venue's body is held to
    /// (no two intervals of a day overlap, nor one running past midnight with the next day's).
    #[test]
    fn no_opening_hour_pattern_overlaps() {
        for c in 0..7 {
            for (_, hours) in hours_variants(c) {
                let mut check = domain::error::Checker::new();
                hours.check_overlaps(&mut check, "opening_hours");
                assert_eq!(check.finish(()), Ok(()), "category {c}: {hours:?}");
            }
        }
    }
}
