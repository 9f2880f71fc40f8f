//! Turning domain values into engine rows: shared by the builder (bulk load) and by `apply`
//! (live events), so both paths count exactly the same way.

use std::sync::Arc;

use chrono::Datelike;
use domain::{Booking, Interaction, InteractionType, User, UserPreferences, Venue};

use crate::state::{Prefs, UserRow, VenueDyn, VenueRow};
use crate::util::{TagVocab, tag_hash, tag_hashes, to_secs, to_xyz};

/// Copies a user's profile into a row, keeping its history and graph.
pub(crate) fn set_profile(row: &mut UserRow, u: &User) {
    row.id = u.id;
    row.handle.clone_from(&u.handle);
    row.name.clone_from(&u.name);
    row.alive = true;
    row.home = u.home_lat.zip(u.home_lng);
    row.persona = u.persona;
    row.activity = u.activity_score as f32;
    row.social = u.social_score as f32;
}

/// Explicit preferences as tag hashes.
pub(crate) fn prefs_from(p: &UserPreferences) -> Prefs {
    Prefs {
        cuisines: tag_hashes(&p.cuisines),
        cuisines_ranked: p.cuisines.iter().map(|c| tag_hash(c)).collect(),
        cuisine_names: p.cuisines.clone(),
        price_min: p.price_min,
        price_max: p.price_max,
        ambiance: tag_hashes(&p.ambiance),
        dietary: p
            .dietary
            .iter()
            .map(|d| {
                // As preferences are checked now; needs stored before ("gluten-free") read the same.
                let d = d.trim().to_lowercase().replace(['-', ' '], "_");
                [tag_hash(&d), tag_hash(&format!("{d}_options")), tag_hash(&format!("{d}_friendly"))]
            })
            .collect(),
        openness: p.openness,
        group_size: p.preferred_group_size,
    }
}

/// A venue row; `tz` is the index of its time zone in the engine's table, and its tag mask is
/// over `vocab` (which learns the tags it has not seen).
pub(crate) fn venue_row(v: &Venue, tz: u16, vocab: &mut TagVocab) -> VenueRow {
    let tags_h = tag_hashes(&v.tags);
    VenueRow {
        id: v.id,
        name: v.name.clone(),
        alive: true,
        category: v.category,
        cuisine: v.cuisine.clone(),
        cuisine_h: v.cuisine.as_deref().map(tag_hash),
        tags: vocab.learn(&tags_h),
        tags_h,
        price: v.price_level,
        rating: v.rating,
        lat: v.lat,
        lng: v.lng,
        xyz: to_xyz(v.lat, v.lng),
        capacity: v.capacity,
        hours: v.opening_hours.clone().map(Arc::new),
        tz,
    }
}

/// Adds `2^((t - t0) / half_life)` to a venue's trend.
pub(crate) fn add_trend(d: &mut VenueDyn, t: i64, t0: i64, half_life_secs: f64, weight: f64) {
    d.trend += weight * ((t - t0) as f64 / half_life_secs).exp2();
}

/// Weight of an interaction in the trend (views count less than likes or visits).
pub(crate) fn trend_weight(t: InteractionType) -> f64 {
    match t {
        InteractionType::View | InteractionType::Search => 0.5,
        InteractionType::Interest | InteractionType::Save => 1.0,
        InteractionType::Like | InteractionType::Visit => 1.5,
    }
}

/// Records one interaction on the user's row.
pub(crate) fn record_on_user(row: &mut UserRow, venue: u32, i: &Interaction) {
    let t = to_secs(i.occurred_at);
    let a = row.agg_mut(venue);
    a.n = a.n.saturating_add(1);
    a.dwell = a.dwell.saturating_add(u32::try_from(i.dwell_time_seconds.max(0)).unwrap_or(0));
    a.last = a.last.max(t);
    match i.interaction_type {
        InteractionType::Like | InteractionType::Interest => a.likes = a.likes.saturating_add(1),
        InteractionType::Save => a.saves = a.saves.saturating_add(1),
        InteractionType::Visit => {
            a.visits = a.visits.saturating_add(1);
            a.last_visit = a.last_visit.max(t);
        }
        InteractionType::View | InteractionType::Search => {}
    }
    let tod = i.time_of_day as usize;
    row.tod[tod.min(3)] += 1;
    let weekend = matches!(i.occurred_at.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
    row.week[usize::from(weekend)] += 1;
}

/// Records one interaction on the venue's counters.
pub(crate) fn record_on_venue(d: &mut VenueDyn, user: u32, i: &Interaction, t0: i64, half_life_secs: f64) {
    d.total += 1;
    if i.interaction_type.is_seed_positive() {
        d.pos += 1;
    }
    if matches!(
        i.interaction_type,
        InteractionType::Like | InteractionType::Interest | InteractionType::Save | InteractionType::Visit
    ) {
        d.push_recent(user, to_secs(i.occurred_at));
    }
    add_trend(d, i.occurred_at.timestamp(), t0, half_life_secs, trend_weight(i.interaction_type));
}

/// Records a booking (created, or completed when `completed`) for one member.
pub(crate) fn record_booking_on_user(row: &mut UserRow, venue: u32, b: &Booking, completed: bool) {
    let t = to_secs(b.booking_time);
    let a = row.agg_mut(venue);
    if completed {
        a.visits = a.visits.saturating_add(1);
        a.last_visit = a.last_visit.max(t);
    } else {
        a.booked = a.booked.saturating_add(1);
        a.last = a.last.max(to_secs(b.created_at));
    }
}

/// When a booking was a member's positive signal: its time once completed (they went), else when
/// it was made.
pub(crate) fn booking_signal_at(b: &Booking, completed: bool) -> u32 {
    to_secs(if completed { b.booking_time } else { b.created_at })
}

/// Everyone in a booking: the booker (unless they deleted their account) and the group
/// members, without duplicates.
pub(crate) fn booking_members(b: &Booking) -> Vec<uuid::Uuid> {
    let mut v: Vec<uuid::Uuid> = b.user_id.into_iter().collect();
    for m in &b.group_members {
        if !v.contains(m) {
            v.push(*m);
        }
    }
    v
}
