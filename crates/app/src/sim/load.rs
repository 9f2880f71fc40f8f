//! Loads a run's [`World`] from the store: every venue, the first `max_users` users with a
//! persona in id order (the generated city's users, which `/admin/stats` counts as simulated;
//! people who sign up through the API have none unless they give one, and are not acted for),
//! the friendships among them and the friend requests pending between them. A data set without
//! personas (an import) is simulated as it is: its first `max_users` users, each given a persona
//! drawn from their id. Read-only; a few bulk scans, or one friend list per user when only a
//! small share of a large city is simulated.

use std::collections::HashMap;

use domain::{LatLng, PageRequest, RelationshipType, User, UserPreferences, Venue};
use synth::catalog::category_index;
use synth::personas::{PROFILES, persona_index};

use super::world::{SimUser, SimVenue, World};
use crate::{App, AppResult};

/// Rows per scan page.
const PAGE: u32 = 1000;

/// Interns cuisine names into small indices.
#[derive(Default)]
struct Cuisines {
    index: HashMap<String, u16>,
}

impl Cuisines {
    fn id(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.index.len() as u16;
        self.index.insert(name.to_string(), i);
        i
    }
}

/// Loads the world a run drives: at most `max_users` users.
pub async fn load_world(app: &App, max_users: usize) -> AppResult<World> {
    let mut cuisines = Cuisines::default();
    let mut venues = Vec::new();
    let mut after = None;
    loop {
        let page = app.store.scan_venues(after, PAGE).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|v| v.id);
        venues.extend(page.into_iter().map(|v| sim_venue(v, &mut cuisines)));
        if !full {
            break;
        }
    }
    let centre = centre_of(&venues);

    // Users with a persona, or any user in a data set without personas (none on its first page:
    // a generated city's users come first in id order).
    let mut users = Vec::new();
    let (mut after, mut personas) = (None, None);
    while users.len() < max_users {
        let page = app.store.scan_users(after, PAGE).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|(u, _)| u.id);
        let personas = *personas.get_or_insert_with(|| page.iter().any(|(u, _)| u.persona.is_some()));
        for (u, p) in page.into_iter().filter(|(u, _)| !personas || u.persona.is_some()) {
            if users.len() == max_users {
                break;
            }
            users.push(sim_user(u, p, centre, &mut cuisines));
        }
        if !full {
            break;
        }
    }
    let index: HashMap<_, u32> = users.iter().enumerate().map(|(i, u)| (u.id, i as u32)).collect();
    link_friends(app, &mut users, &index).await?;
    let pending = pending_requests(app, &index).await?;
    let mut world = World::new(users, venues);
    world.pending_requests = pending;
    Ok(world)
}

/// The friend requests pending between active users (from, to, request), oldest first, so the
/// run neither asks again where a request waits nor forgets to answer it.
async fn pending_requests(app: &App, index: &HashMap<domain::UserId, u32>) -> AppResult<Vec<(u32, u32, domain::Id)>> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = app.store.scan_pending_friend_requests(after, PAGE).await?;
        after = page.last().map(|r| r.id);
        for r in &page {
            if let (Some(&from), Some(&to)) = (index.get(&r.from_user_id), index.get(&r.to_user_id)) {
                out.push((from, to, r.id));
            }
        }
        if page.len() < PAGE as usize {
            return Ok(out);
        }
    }
}

/// Fills in each user's friends among the active users, strongest first.
async fn link_friends(app: &App, users: &mut [SimUser], index: &HashMap<domain::UserId, u32>) -> AppResult<()> {
    let total = app.store.counts().await?.users as usize;
    let is_friend = |t: RelationshipType| matches!(t, RelationshipType::Friend | RelationshipType::Mutual);
    if users.len() * 4 >= total {
        // Most of the city is active: one scan of the graph is cheaper than a query per user.
        let mut after = None;
        loop {
            let page = app.store.scan_edges(after, PAGE * 5).await?;
            after = page.last().map(|e| (e.user_id, e.other_user_id));
            for e in &page {
                if let (Some(&a), Some(&b)) = (index.get(&e.user_id), index.get(&e.other_user_id))
                    && is_friend(e.relationship_type)
                {
                    // The store refuses a request along either direction of a friendship.
                    users[a as usize].friends.push((b, e.strength as f32));
                    users[b as usize].friends.push((a, e.strength as f32));
                }
            }
            if page.len() < (PAGE * 5) as usize {
                break;
            }
        }
    } else {
        for u in users.iter_mut() {
            let page = app.store.list_friends(u.id, PageRequest { limit: 500, after: None }).await?;
            let friends = page.items.iter().filter(|f| is_friend(f.relationship_type));
            u.friends = friends.filter_map(|f| Some((*index.get(&f.user.id)?, f.strength as f32))).collect();
        }
    }
    for u in users.iter_mut() {
        u.friends.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        u.friends.dedup_by_key(|f| f.0);
        u.friends.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    Ok(())
}

fn centre_of(venues: &[SimVenue]) -> LatLng {
    let n = venues.len().max(1) as f64;
    let (lat, lng) = venues.iter().fold((0.0, 0.0), |(a, b), v| (a + v.pos.lat, b + v.pos.lng));
    if venues.is_empty() { LatLng { lat: 40.7306, lng: -73.9352 } } else { LatLng { lat: lat / n, lng: lng / n } }
}

fn sim_venue(v: Venue, cuisines: &mut Cuisines) -> SimVenue {
    SimVenue {
        id: v.id,
        category: category_index(v.category),
        pos: LatLng { lat: v.lat, lng: v.lng },
        price: f64::from(v.price_level.unwrap_or(2)),
        rating: v.rating.unwrap_or(3.5),
        cuisine: v.cuisine.as_deref().map(|c| cuisines.id(c)),
        tz: v.tz(),
        tags: v.tags,
        hours: v.opening_hours,
    }
}

fn sim_user(u: User, prefs: Option<UserPreferences>, centre: LatLng, cuisines: &mut Cuisines) -> SimUser {
    // Users without a persona get one drawn from their id, so the choice is stable.
    let persona = u.persona.map_or_else(|| (u.id.as_u128() % PROFILES.len() as u128) as usize, persona_index);
    let p = &PROFILES[persona];
    let home = match (u.home_lat, u.home_lng) {
        (Some(lat), Some(lng)) => LatLng { lat, lng },
        _ => centre,
    };
    let (price_ideal, openness, group, tastes) = match &prefs {
        Some(pr) => {
            let stated = f64::from(pr.price_min + pr.price_max) / 2.0;
            ((p.price_ideal + stated) / 2.0, pr.openness, pr.preferred_group_size, pr.cuisines.clone())
        }
        None => (p.price_ideal, p.openness, (p.group_size.0 + p.group_size.1) / 2, Vec::new()),
    };
    SimUser {
        id: u.id,
        persona,
        home,
        activity: u.activity_score,
        openness,
        price_ideal,
        cuisines: tastes.iter().map(|c| cuisines.id(c)).collect(),
        group_size: group.clamp(1, 20) as u8,
        friends: Vec::new(),
    }
}
