//! What the examples share: settings from the environment and a generated city as a data set.

use engine::eval::Dataset;

/// The environment variable `k` parsed, or `d` when unset or unreadable.
pub fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// Every user, preference, edge, interaction and interest of `city`, and its venues.
pub fn city_dataset(city: &synth::City) -> Dataset {
    let mut ds = Dataset { venues: city.venues(), ..Dataset::default() };
    for c in city.chunks(10_000) {
        ds.users.extend(c.users);
        ds.preferences.extend(c.preferences);
        ds.edges.extend(c.edges);
        ds.interactions.extend(c.interactions);
        ds.interests.extend(c.interests);
    }
    ds
}
