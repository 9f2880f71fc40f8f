//! Property tests of venue recommendations over generated cities and random queries: results
//! are sorted by score, within the radius asked, never an excluded venue, at most `limit`, and
//! the same seed gives the same answer (the city built twice from one seed, queried twice).

use std::sync::LazyLock;

use domain::LatLng;
use proptest::prelude::*;

use crate::testkit::t0;
use crate::types::{Ranker, VenueQuery};
use crate::venues::tests::random_city;
use crate::{Engine, EngineSettings};

const USERS: u128 = 60;
const VENUES: u128 = 300;

/// One city for every case (building is the slow part); a second from the same seed.
static CITY: LazyLock<Engine> = LazyLock::new(|| random_city(11, USERS, VENUES, 3000, EngineSettings::default()));
static SAME_SEED: LazyLock<Engine> = LazyLock::new(|| random_city(11, USERS, VENUES, 3000, EngineSettings::default()));

fn query() -> impl Strategy<Value = VenueQuery> {
    (
        0..USERS,
        1usize..=40,
        prop::sample::select(Ranker::ALL.to_vec()),
        prop::option::of(0.2f64..15.0),
        prop::option::of((40.55f64..40.95, -74.15f64..-73.75)),
        prop::collection::vec(0..VENUES, 0..20),
        0i64..7 * 24,
    )
        .prop_map(|(user, limit, ranker, radius_km, point, exclude, hours)| {
            let mut q = VenueQuery::new(crate::testkit::id(1000 + user), limit, ranker);
            q.radius_km = radius_km;
            q.point = point.map(|(lat, lng)| LatLng { lat, lng });
            q.exclude = exclude.into_iter().map(|v| crate::testkit::id(100_000 + v)).collect();
            q.now = Some(t0());
            q.time = Some(t0() + chrono::Duration::hours(hours));
            q
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn recommendations_are_sorted_within_the_radius_and_never_excluded(q in query()) {
        let got = CITY.recommend_venues(&q).expect("a known user");
        prop_assert!(got.len() <= q.limit);
        prop_assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "not sorted by score");
        for r in &got {
            prop_assert!(r.score.is_finite());
            prop_assert!(!q.exclude.contains(&r.venue_id), "excluded venue {} returned", r.venue_id);
            if let Some(radius) = q.radius_km {
                prop_assert!(r.distance_km.is_some_and(|d| d <= radius + 1e-9), "{:?} km with a radius of {radius}", r.distance_km);
            }
        }
        let mut ids: Vec<_> = got.iter().map(|r| r.venue_id).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), got.len(), "a venue returned twice");
    }

    #[test]
    fn the_same_seed_and_query_give_the_same_answer(q in query()) {
        let first = CITY.recommend_venues(&q).expect("a known user");
        let again = CITY.recommend_venues(&q).expect("a known user");
        let rebuilt = SAME_SEED.recommend_venues(&q).expect("a known user");
        let key = |rs: &[crate::VenueRecommendation]| rs.iter().map(|r| (r.venue_id, r.score.to_bits())).collect::<Vec<_>>();
        prop_assert_eq!(key(&first), key(&again));
        prop_assert_eq!(key(&first), key(&rebuilt));
    }
}
