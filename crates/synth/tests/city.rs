//! Behaviour of the city generator: reproducible, chunk-invariant, valid by the domain's own
//! rules, a well-formed social graph, and interactions that carry the latent taste signal.

use std::collections::{HashMap, HashSet};

use domain::user::{PreferencesInput, UserInput};
use domain::venue::VenueInput;
use domain::{Category, InteractionType, NewUser, NewVenue, Persona, RelationshipType, UserPreferences};
use synth::{Chunk, City, CityConfig};

fn city(seed: u64, users: usize, venues: usize) -> City {
    City::new(CityConfig::new(seed, users, venues)).expect("valid config")
}

/// Concatenates chunks of `size` into one.
fn pulled_in_chunks(c: &City, size: usize) -> Chunk {
    let mut all = Chunk { range: 0..c.user_count(), ..Chunk::default() };
    for ch in c.chunks(size) {
        all.users.extend(ch.users);
        all.preferences.extend(ch.preferences);
        all.edges.extend(ch.edges);
        all.interactions.extend(ch.interactions);
        all.interests.extend(ch.interests);
        all.plans.extend(ch.plans);
    }
    all
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

#[test]
fn the_same_seed_gives_byte_identical_data() {
    let (a, b) = (city(7, 300, 120), city(7, 300, 120));
    assert_eq!(json(&a.venues()), json(&b.venues()));
    let (ca, cb) = (a.chunk(0..300), b.chunk(0..300));
    assert_eq!(json(&ca.users), json(&cb.users));
    assert_eq!(json(&ca.preferences), json(&cb.preferences));
    assert_eq!(json(&ca.edges), json(&cb.edges));
    assert_eq!(json(&ca.interactions), json(&cb.interactions));
    assert_eq!(json(&ca.interests), json(&cb.interests));
    assert_eq!(json(&ca.plans), json(&cb.plans));
}

#[test]
fn different_seeds_give_different_cities() {
    let (a, b) = (city(1, 50, 40), city(2, 50, 40));
    assert_ne!(a.venue(0).id, b.venue(0).id);
    assert_ne!(a.user(0).id, b.user(0).id);
    assert_ne!(a.venue(0).lat, b.venue(0).lat);
}

#[test]
fn chunk_sizes_do_not_change_the_data() {
    let c = city(11, 257, 90);
    let whole = c.chunk(0..257);
    for size in [1, 7, 64, 1000] {
        let pulled = pulled_in_chunks(&c, size);
        assert_eq!(pulled.users, whole.users, "users, size {size}");
        assert_eq!(pulled.preferences, whole.preferences, "preferences, size {size}");
        assert_eq!(pulled.edges, whole.edges, "edges, size {size}");
        assert_eq!(pulled.interactions, whole.interactions, "interactions, size {size}");
        assert_eq!(pulled.interests, whole.interests, "interests, size {size}");
        assert_eq!(pulled.plans, whole.plans, "plans, size {size}");
    }
    assert_eq!(c.venues_range(0..40).into_iter().chain(c.venues_range(40..90)).collect::<Vec<_>>(), c.venues());
}

#[test]
fn the_single_purpose_accessors_agree_with_chunks() {
    let c = city(3, 120, 60);
    let whole = c.chunk(0..120);
    assert_eq!(c.users(0..120), whole.users);
    assert_eq!(c.preferences_range(0..120), whole.preferences);
    assert_eq!(c.edges(0..120), whole.edges);
    assert_eq!(c.interactions(0..120), whole.interactions);
    assert_eq!(c.interests(0..120), whole.interests);
    assert_eq!(c.plans(0..120), whole.plans);
    let records = c.interaction_records(0..120);
    assert_eq!(records.len(), whole.interactions.len());
    for (r, i) in records.iter().zip(&whole.interactions) {
        assert_eq!(r.id, i.id);
        assert_eq!(c.user_id(r.user as usize), i.user_id);
        assert_eq!(c.venue_id(r.venue as usize), i.venue_id);
    }
    for i in [0, 17, 119] {
        assert_eq!(c.user(i), whole.users[i]);
        assert_eq!(c.user_id(i), whole.users[i].id);
        assert_eq!(c.preferences(i), whole.preferences[i].1);
    }
    let parallel: Vec<Chunk> = c.par_map_ranges(25, |r| c.chunk(r));
    assert_eq!(parallel.iter().flat_map(|ch| ch.users.clone()).collect::<Vec<_>>(), whole.users);
    let mut in_order = vec![];
    c.for_each_chunk(13, |ch| in_order.push(ch));
    assert_eq!(in_order, c.chunks(13).collect::<Vec<_>>());
}

#[test]
fn handles_and_emails_are_unique_and_accepted_by_the_domain() {
    let c = city(5, 3000, 50);
    let users = c.users(0..3000);
    let handles: HashSet<&str> = users.iter().map(|u| u.handle.as_str()).collect();
    assert_eq!(handles.len(), users.len());
    let emails: Vec<&str> = users.iter().filter_map(|u| u.email.as_deref()).collect();
    assert!(emails.len() > 2000, "most users have an email");
    assert_eq!(emails.iter().collect::<HashSet<_>>().len(), emails.len());
    let ids: HashSet<_> = users.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), users.len());
    for (u, (id, p)) in users.iter().zip(c.preferences_range(0..3000)).take(500) {
        assert_eq!(id, u.id);
        let input = UserInput {
            handle: u.handle.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            age: u.age,
            avatar_url: u.avatar_url.clone(),
            home_lat: u.home_lat,
            home_lng: u.home_lng,
            city: u.city.clone(),
            persona: u.persona,
            activity_score: Some(u.activity_score),
            social_score: Some(u.social_score),
            preferences: Some(PreferencesInput {
                cuisines: p.cuisines.clone(),
                price_min: Some(p.price_min),
                price_max: Some(p.price_max),
                ambiance: p.ambiance.clone(),
                dietary: p.dietary.clone(),
                preferred_group_size: Some(p.preferred_group_size),
                openness: Some(p.openness),
            }),
            password: None,
        };
        let parsed = NewUser::parse(input).unwrap_or_else(|e| panic!("{} rejected: {e}", u.handle));
        assert_eq!(parsed.handle, u.handle, "handles are already normalised");
        assert_eq!(parsed.email, u.email, "emails are already normalised");
        assert_eq!(parsed.preferences, Some(p.clone()), "preferences are already normalised");
    }
}

#[test]
fn venues_pass_the_domain_validation_unchanged() {
    let c = city(9, 10, 2000);
    let venues = c.venues();
    let ids: HashSet<_> = venues.iter().map(|v| v.id).collect();
    assert_eq!(ids.len(), venues.len());
    let center = c.config().center;
    for v in &venues {
        let wire: VenueInput = serde_json::from_value(serde_json::json!({
            "name": v.name, "description": v.description, "category": v.category, "cuisine": v.cuisine,
            "address": v.address, "city": v.city, "lat": v.lat, "lng": v.lng, "price_level": v.price_level,
            "rating": v.rating, "capacity": v.capacity, "tags": v.tags, "opening_hours": v.opening_hours,
            "timezone": v.timezone,
        }))
        .unwrap_or_else(|e| panic!("{} does not deserialise: {e}", v.name));
        let parsed = NewVenue::parse(wire).unwrap_or_else(|e| panic!("{} rejected: {e}", v.name));
        assert_eq!((parsed.name.as_str(), &parsed.tags, &parsed.cuisine), (v.name.as_str(), &v.tags, &v.cuisine));
        assert_eq!(parsed.opening_hours, v.opening_hours);
        assert!(domain::haversine_km(center.lat, center.lng, v.lat, v.lng) <= c.config().radius_km + 1e-6);
        assert!(v.opening_hours.as_ref().is_some_and(|h| h.weekly_minutes() > 0));
        assert!(v.created_at < c.config().now);
    }
    let share =
        |f: &dyn Fn(&domain::Venue) -> bool| venues.iter().filter(|v| f(v)).count() as f64 / venues.len() as f64;
    let typical = share(&|v| v.rating.is_some_and(|r| (3.5..=4.8).contains(&r)));
    assert!(typical > 0.85, "ratings mostly 3.5 to 4.8: {typical}");
    for cat in Category::ALL {
        assert!(share(&|v| v.category == cat) > 0.005, "{cat:?} is present");
    }
    let food_with_cuisine = share(&|v| v.category == Category::Restaurant && v.cuisine.is_some())
        / share(&|v| v.category == Category::Restaurant);
    assert!((food_with_cuisine - 1.0).abs() < 1e-9, "every restaurant has a cuisine");
    assert!(share(&|v| v.tags.iter().any(|t| t == "vegan_options")) > 0.05);
    let bars_open_late = venues
        .iter()
        .filter(|v| v.category == Category::Bar)
        .all(|v| v.opening_hours.as_ref().is_some_and(|h| h.is_open(chrono::Weekday::Fri, 23 * 60)));
    assert!(bars_open_late, "bars are open on Friday at 23:00");
    let cafes_close_early = venues
        .iter()
        .filter(|v| v.category == Category::Cafe)
        .all(|v| v.opening_hours.as_ref().is_some_and(|h| !h.is_open(chrono::Weekday::Wed, 22 * 60)));
    assert!(cafes_close_early, "cafes are closed at 22:00");
}

/// A description says each price level in words that read before "prices" (QA: level 2 read
/// "with fairly priced prices").
#[test]
fn venue_descriptions_say_the_price_level_once_in_plain_words() {
    let c = city(9, 10, 2000);
    let words = ["wallet-friendly", "moderate", "upscale", "splurge-worthy"];
    let mut seen = [false; 4];
    for v in c.venues() {
        let d = v.description.as_deref().unwrap_or_default();
        let level = v.price_level.expect("a price level") as usize;
        assert!(d.contains(&format!(" with {} prices.", words[level - 1])), "level {level}: {d}");
        assert_eq!(d.matches("price").count(), 1, "{d}");
        seen[level - 1] = true;
    }
    assert_eq!(seen, [true; 4], "every price level is generated");
}

#[test]
fn venues_cluster_around_their_neighbourhoods() {
    let c = city(4, 10, 3000);
    let hoods = c.neighbourhoods();
    assert!((20..=40).contains(&hoods.len()));
    let center = c.config().center;
    let (mut to_hood, mut to_center) = (0.0, 0.0);
    for i in 0..c.venue_count() {
        let v = c.venue(i);
        let h = &hoods[c.venue_neighbourhood(i)];
        to_hood += domain::haversine_km(v.lat, v.lng, h.center.lat, h.center.lng);
        to_center += domain::haversine_km(v.lat, v.lng, center.lat, center.lng);
    }
    assert!(to_hood * 3.0 < to_center, "{to_hood} vs {to_center}");
}

#[test]
fn the_social_graph_is_symmetric_without_self_or_duplicate_edges() {
    let c = city(21, 1500, 100);
    let edges = c.edges(0..1500);
    let mut seen = HashSet::new();
    let mut kinds = HashMap::new();
    for e in &edges {
        assert_ne!(e.user_id, e.other_user_id, "no self-edge");
        assert!(seen.insert((e.user_id, e.other_user_id)), "no duplicate edge");
        assert!((0.3..=0.95).contains(&e.strength), "strength {}", e.strength);
        *kinds.entry(e.relationship_type).or_insert(0) += 1;
    }
    for e in &edges {
        assert!(seen.contains(&(e.other_user_id, e.user_id)), "every edge has its reverse");
    }
    assert!(kinds.len() == 3 && kinds[&RelationshipType::Friend] > kinds[&RelationshipType::Suggested]);
    let mean_degree = edges.len() as f64 / 1500.0;
    assert!((8.0..=20.0).contains(&mean_degree), "mean degree {mean_degree}");
    // Friends agree with the edge list, seen from either side.
    for i in [0usize, 10, 777, 1499] {
        let id = c.user_id(i);
        let from_edges = edges.iter().filter(|e| e.user_id == id).count();
        assert_eq!(c.friends(i).len(), from_edges);
    }
    // Communities: most ties stay inside one; social personas have more ties.
    let friends: Vec<_> = (0..1500).map(|i| c.friends(i)).collect();
    let inside = friends.iter().flatten().filter(|f| f.same_community).count() as f64;
    assert!(inside / friends.iter().flatten().count() as f64 > 0.6);
    let degree_of = |p: Persona| {
        let ds: Vec<usize> = (0..1500).filter(|&i| c.persona(i) == p).map(|i| friends[i].len()).collect();
        ds.iter().sum::<usize>() as f64 / ds.len().max(1) as f64
    };
    assert!(degree_of(Persona::SocialButterfly) > 1.5 * degree_of(Persona::RoutineRegular));
}

#[test]
fn a_chunk_only_references_users_generated_before_its_end() {
    let c = city(8, 400, 80);
    let index: HashMap<_, _> = (0..400).map(|i| (c.user_id(i), i)).collect();
    let venue_ids: HashSet<_> = (0..80).map(|v| c.venue_id(v)).collect();
    for ch in c.chunks(37) {
        let end = ch.range.end;
        let known = |id: &uuid::Uuid| index.get(id).is_some_and(|&i| i < end);
        assert!(ch.edges.iter().all(|e| known(&e.user_id) && known(&e.other_user_id)));
        for p in &ch.plans {
            assert!(p.organizer_id.as_ref().is_some_and(known) && venue_ids.contains(&p.venue_id));
            assert!(p.participants.iter().all(|pp| known(&pp.user_id) && pp.plan_id == p.id));
        }
        assert!(
            ch.interactions.iter().all(|i| ch.range.contains(&index[&i.user_id]) && venue_ids.contains(&i.venue_id))
        );
        assert!(ch.interests.iter().all(|i| ch.range.contains(&index[&i.user_id]) && venue_ids.contains(&i.venue_id)));
    }
}

#[test]
fn interactions_lie_in_the_history_window_at_plausible_times() {
    let c = city(13, 600, 300);
    let ch = c.chunk(0..600);
    let (start, now) = (c.config().history_start(), c.config().now);
    let created: HashMap<_, _> = ch.users.iter().map(|u| (u.id, u.created_at)).collect();
    let venues: HashMap<_, _> = c.venues().into_iter().map(|v| (v.id, v)).collect();
    let mean = ch.interactions.len() as f64 / 600.0;
    assert!((14.0..=24.0).contains(&mean), "about 20 interactions per user: {mean}");
    let tz = c.timezone();
    for i in &ch.interactions {
        assert!(i.occurred_at >= start && i.occurred_at < now, "{} outside the window", i.occurred_at);
        assert!(i.occurred_at >= created[&i.user_id], "no interaction before the user joined");
        assert!(i.occurred_at >= venues[&i.venue_id].created_at, "no interaction before the venue opened");
        assert!((0..=86_400).contains(&i.dwell_time_seconds));
        assert_eq!(i.time_of_day, domain::TimeOfDay::at(i.occurred_at, tz));
        if i.interaction_type == InteractionType::Visit {
            assert!(venues[&i.venue_id].is_open_at(i.occurred_at), "visits happen when the venue is open");
            assert!(i.dwell_time_seconds > 600, "a visit lasts a while");
        }
    }
    let kinds: HashSet<_> = ch.interactions.iter().map(|i| i.interaction_type).collect();
    assert_eq!(kinds.len(), InteractionType::ALL.len(), "every interaction type occurs");
    let ids: HashSet<_> = ch.interactions.iter().map(|i| i.id).collect();
    assert_eq!(ids.len(), ch.interactions.len());
}

#[test]
fn visits_follow_category_hours_and_new_openings_trend() {
    let c = city(31, 1500, 600);
    let venues = c.venues();
    let tz = c.timezone();
    let records = c.interaction_records(0..1500);
    let hour = |ms: i64| {
        chrono::Timelike::hour(&chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&tz))
    };
    let visits_in = |cat: Category, hours: &dyn Fn(u32) -> bool| {
        let all: Vec<_> = records
            .iter()
            .filter(|r| r.kind == InteractionType::Visit && venues[r.venue as usize].category == cat)
            .collect();
        all.iter().filter(|r| hours(hour(r.at_ms))).count() as f64 / all.len().max(1) as f64
    };
    assert!(visits_in(Category::Cafe, &|h| (6..15).contains(&h)) > 0.8, "cafes in the morning and early afternoon");
    assert!(visits_in(Category::Bar, &|h| !(3..18).contains(&h)) > 0.8, "bars in the evening and night");
    let start = c.config().history_start();
    let opened_recently: HashSet<usize> = (0..venues.len()).filter(|&v| venues[v].created_at > start).collect();
    assert!(!opened_recently.is_empty());
    let share = |from: i64, to: i64| {
        let window: Vec<_> = records.iter().filter(|r| (from..to).contains(&r.at_ms)).collect();
        window.iter().filter(|r| opened_recently.contains(&(r.venue as usize))).count() as f64 / window.len() as f64
    };
    let (s, n) = (start.timestamp_millis(), c.config().now.timestamp_millis());
    let mid = s + (n - s) / 2;
    assert!(
        share(mid, n) > 1.5 * share(s, mid),
        "new openings take a growing share: {} then {}",
        share(s, mid),
        share(mid, n)
    );
}

#[test]
fn users_interact_with_venues_they_have_high_affinity_for() {
    let c = city(17, 400, 1500);
    let records = c.interaction_records(0..400);
    let (mut chosen, mut future, mut baseline) = (0.0, 0.0, 0.0);
    let (mut n_chosen, mut n_future) = (0, 0);
    let split = c.config().now.timestamp_millis() - 15 * 86_400_000;
    for u in 0..400 {
        let t = c.taste(u);
        baseline += (0..1500).map(|v| c.affinity_for(&t, v)).sum::<f64>() / 1500.0;
        for r in records.iter().filter(|r| r.user as usize == u) {
            let a = c.affinity_for(&t, r.venue as usize);
            if r.at_ms >= split {
                future += a;
                n_future += 1;
            } else {
                chosen += a;
                n_chosen += 1;
            }
        }
    }
    let (chosen, future, baseline) = (chosen / n_chosen as f64, future / n_future as f64, baseline / 400.0);
    assert!(chosen > baseline + 0.15, "interacted {chosen:.3} vs all venues {baseline:.3}");
    assert!(future > baseline + 0.15, "held-out future {future:.3} vs all venues {baseline:.3}");
    assert!((c.affinity(3, 5) - c.affinity_for(&c.taste(3), 5)).abs() < 1e-12);
}

#[test]
fn commitments_go_to_better_liked_venues_than_views() {
    let c = city(19, 400, 800);
    let records = c.interaction_records(0..400);
    let mean = |f: &dyn Fn(InteractionType) -> bool| {
        let xs: Vec<f64> =
            records.iter().filter(|r| f(r.kind)).map(|r| c.affinity(r.user as usize, r.venue as usize)).collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    let views = mean(&|k| k == InteractionType::View);
    let likes = mean(&|k| matches!(k, InteractionType::Like | InteractionType::Save | InteractionType::Visit));
    assert!(likes > views, "likes {likes:.3} vs views {views:.3}");
}

#[test]
fn stated_preferences_follow_the_persona_and_the_hidden_taste() {
    let c = city(23, 2000, 400);
    let mut budget_cheap = (0, 0);
    let mut foodie_cuisines = (0usize, 0usize);
    let mut other_cuisines = (0usize, 0usize);
    for i in 0..2000 {
        let p: UserPreferences = c.preferences(i);
        match c.persona(i) {
            Persona::BudgetConscious => {
                budget_cheap = (budget_cheap.0 + usize::from(p.price_max <= 2), budget_cheap.1 + 1)
            }
            Persona::FoodieExplorer => foodie_cuisines = (foodie_cuisines.0 + p.cuisines.len(), foodie_cuisines.1 + 1),
            _ => other_cuisines = (other_cuisines.0 + p.cuisines.len(), other_cuisines.1 + 1),
        }
        // Stated cuisines lean to the hidden favourites.
        let t = c.taste(i);
        let stated: f32 = p
            .cuisines
            .iter()
            .map(|s| t.cuisine[synth::catalog::CUISINES.iter().position(|c| c == s).unwrap_or(0)])
            .sum::<f32>()
            / p.cuisines.len().max(1) as f32;
        let all: f32 = t.cuisine.iter().sum::<f32>() / t.cuisine.len() as f32;
        assert!(stated >= all - 0.3, "user {i}: stated {stated} vs mean {all}");
    }
    assert!(budget_cheap.0 as f64 > 0.8 * budget_cheap.1 as f64, "{budget_cheap:?}");
    let per = |x: (usize, usize)| x.0 as f64 / x.1.max(1) as f64;
    assert!(per(foodie_cuisines) > per(other_cuisines) + 2.0);
    let personas: HashSet<_> = (0..2000).map(|i| c.persona(i)).collect();
    assert_eq!(personas.len(), 7);
}

#[test]
fn plans_and_interests_lie_after_now_with_the_organizer_accepted() {
    let c = city(29, 800, 200);
    let ch = c.chunk(0..800);
    let now = c.config().now;
    assert!(!ch.plans.is_empty() && !ch.interests.is_empty());
    for p in &ch.plans {
        assert!(p.start_time > now && p.created_at <= now);
        assert!(p.participants.len() >= 2, "an organizer and at least one friend");
        let first = &p.participants[0];
        assert_eq!((Some(first.user_id), first.status), (p.organizer_id, domain::ParticipantStatus::Accepted));
        let unique: HashSet<_> = p.participants.iter().map(|x| x.user_id).collect();
        assert_eq!(unique.len(), p.participants.len());
    }
    let mut pairs = HashSet::new();
    for i in &ch.interests {
        assert!(i.preferred_time.is_none_or(|t| t > now) && i.created_at <= now);
        assert!(pairs.insert((i.user_id, i.venue_id)), "one interest per user and venue");
    }
}

/// The store refuses a plan whose party the venue cannot seat, and the integrity check reports
/// one. These cities each have a venue seating 10 and, before plans were trimmed to the venue,
/// had such plans at it: parties of 12 (seed 203, drafts), of 11 (seed 298, confirmed; seed
/// 348, a draft and a cancelled one, and a draft of 12).
#[test]
fn no_plan_has_a_party_larger_than_its_venue_seats() {
    for (seed, users, venues) in [(203, 40_000, 60), (298, 40_000, 60), (348, 40_000, 60)] {
        let c = city(seed, users, venues);
        let seats: HashMap<_, _> = c.venues().into_iter().map(|v| (v.id, v.capacity)).collect();
        let over: Vec<String> = c
            .par_map_ranges(2_000, |r| c.plans(r))
            .into_iter()
            .flatten()
            .filter(|p| p.party() > seats[&p.venue_id])
            .map(|p| format!("{:?} plan {}: party {}, seats {}", p.status, p.id, p.party(), seats[&p.venue_id]))
            .collect();
        assert!(over.is_empty(), "seed {seed}, {users} users, {venues} venues: {over:?}");
    }
}

#[test]
fn bad_configurations_are_refused() {
    let bad = [
        CityConfig { radius_km: 0.0, ..CityConfig::default() },
        CityConfig { timezone: "Mars/Olympus".into(), ..CityConfig::default() },
        CityConfig { venues: 0, ..CityConfig::default() },
        CityConfig { history_days: 0, ..CityConfig::default() },
        CityConfig { city: " ".into(), ..CityConfig::default() },
    ];
    for cfg in bad {
        assert!(City::new(cfg).is_err());
    }
    let empty = City::new(CityConfig { users: 0, venues: 0, ..CityConfig::default() }).expect("an empty city is fine");
    assert!(empty.chunk(0..10).users.is_empty());
    let one = city(1, 1, 1);
    assert!(one.edges(0..1).is_empty());
    assert_eq!(one.users(0..5).len(), 1);
}

#[test]
fn the_ground_truth_odds_cover_the_history_and_predict_its_commitments() {
    let c = city(13, 1500, 300);
    let all = pulled_in_chunks(&c, 500);
    let users: HashMap<_, _> = all.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let venues: HashMap<_, _> = c.venues().iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    let mut touched: HashMap<usize, HashSet<usize>> = HashMap::new();
    let (mut commitments, mut episodes) = (0usize, 0usize);
    for i in &all.interactions {
        touched.entry(users[&i.user_id]).or_default().insert(venues[&i.venue_id]);
        match i.interaction_type {
            InteractionType::View | InteractionType::Search => episodes += 1,
            _ => commitments += 1,
        }
    }
    let (mut expected, mut hit, mut base) = (0.0, 0.0, 0.0);
    for (&u, vs) in &touched {
        let odds: HashMap<usize, f64> = c.commitment_odds(u).into_iter().collect();
        // Every venue of the history is one the user knows of, with a chance of commitment.
        for v in vs {
            assert!(odds.get(v).is_some_and(|&p| p > 0.0 && p < 1.0), "user {u} venue {v}");
        }
        expected += odds.values().sum::<f64>();
        // Fresh draws of the known set find the venues of a user's own history far more often
        // than venues at large.
        let known = c.known_frequency(&c.taste(u), 16);
        assert!(known.iter().all(|f| (0.0..=1.0).contains(f)));
        hit += vs.iter().map(|&v| known[v]).sum::<f64>() / vs.len() as f64;
        base += known.iter().sum::<f64>() / known.len() as f64;
    }
    assert!(hit > 2.0 * base, "history venues known {hit:.1}, venues at large {base:.1}");
    // The odds sum, per user, to the chance p that an episode is a commitment. A look at the
    // page is logged before 45% of commitments (fewer near the window's edges), so the logged
    // share of commitments is about p / (1 + 0.45 p).
    let logged = commitments as f64 / (commitments + episodes) as f64;
    let p = expected / touched.len() as f64;
    let predicted = p / (1.0 + 0.45 * p);
    assert!((logged - predicted).abs() < 0.015, "logged {logged:.3}, predicted {predicted:.3}");
}

#[test]
fn oracles_that_know_more_find_more_of_the_future() {
    let c = city(21, 2000, 300);
    let all = pulled_in_chunks(&c, 1000);
    let venues: HashMap<_, _> = c.venues().iter().enumerate().map(|(i, v)| (v.id, i)).collect();
    let users: HashMap<_, _> = all.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let (start, now) = (c.config().history_start().timestamp_millis(), c.config().now.timestamp_millis());
    let split = start + (now - start) * 4 / 5;
    let opened: Vec<i64> = c.venues().iter().map(|v| v.created_at.timestamp_millis()).collect();
    assert!(opened.iter().any(|&t| t >= split), "no venue opens in the test period");
    let mut touched: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut count: HashMap<usize, usize> = HashMap::new();
    let mut future: HashMap<usize, HashSet<usize>> = HashMap::new();
    for i in &all.interactions {
        let (u, v) = (users[&i.user_id], venues[&i.venue_id]);
        if i.occurred_at.timestamp_millis() < split {
            touched.entry(u).or_default().push(v);
            *count.entry(u).or_default() += 1;
        } else if !matches!(i.interaction_type, InteractionType::View | InteractionType::Search) {
            future.entry(u).or_default().insert(v);
        }
    }
    touched.values_mut().for_each(|t| {
        t.sort_unstable();
        t.dedup();
    });
    let hits: Vec<usize> = synth::Oracle::ALL
        .iter()
        .map(|&oracle| {
            future
                .iter()
                .map(|(&u, fut)| {
                    let t = touched.get(&u).map_or(&[][..], |t| &t[..]);
                    let past = synth::Past { touched: t, interactions: count.get(&u).copied().unwrap_or(0) };
                    let top = c.oracle_ranking(oracle, u, split, past, 10);
                    assert_eq!(top.iter().collect::<HashSet<_>>().len(), top.len());
                    assert!(top.len() <= 10);
                    assert!(top.iter().all(|&v| opened[v] < split), "{oracle:?} ranked a venue opened after the split");
                    top.iter().filter(|v| fut.contains(v)).count()
                })
                .sum()
        })
        .collect();
    let relevant: usize = future.values().map(HashSet::len).sum();
    assert!(relevant > 1000, "{relevant}");
    // Exact, then fair, then taste only: each knows less and finds less, by a clear margin.
    assert!(hits[0] as f64 > 1.04 * hits[1] as f64 && hits[1] as f64 > 1.04 * hits[2] as f64, "{hits:?} of {relevant}");
}
