//! Hand-made domain values for unit tests.

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    Category, Interaction, InteractionType, RelationshipType, SocialEdge, TimeOfDay, User, UserPreferences, Venue,
};
use uuid::Uuid;

/// A fixed instant: Wednesday 2026-03-04 19:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 19, 0, 0).unwrap()
}

/// A deterministic id.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn user(n: u128, home: Option<(f64, f64)>) -> User {
    User {
        id: id(n),
        handle: format!("user{n}"),
        name: format!("User {n}"),
        email: None,
        age: None,
        avatar_url: None,
        home_lat: home.map(|h| h.0),
        home_lng: home.map(|h| h.1),
        city: None,
        persona: None,
        activity_score: 0.5,
        social_score: 0.5,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub fn venue(n: u128, lat: f64, lng: f64, category: Category, cuisine: Option<&str>) -> Venue {
    Venue {
        id: id(n),
        name: format!("Venue {n}"),
        description: None,
        category,
        cuisine: cuisine.map(String::from),
        address: None,
        city: None,
        lat,
        lng,
        price_level: Some(2),
        rating: Some(4.0),
        capacity: 50,
        tags: vec![],
        opening_hours: None,
        timezone: "America/New_York".into(),
        created_at: t0(),
        updated_at: t0(),
    }
}

pub fn ix(user: u128, venue: u128, kind: InteractionType, dwell: i32, minutes_ago: i64) -> Interaction {
    Interaction {
        id: Uuid::now_v7(),
        user_id: id(user),
        venue_id: id(venue),
        interaction_type: kind,
        dwell_time_seconds: dwell,
        time_of_day: TimeOfDay::Evening,
        occurred_at: t0() - chrono::Duration::minutes(minutes_ago),
    }
}

pub fn edge(a: u128, b: u128, strength: f64) -> SocialEdge {
    SocialEdge {
        user_id: id(a),
        other_user_id: id(b),
        relationship_type: RelationshipType::Friend,
        strength,
        created_at: t0(),
    }
}

/// `user`'s interest in `venue`, open to invites, with no part of the day, expressed at [`t0`].
pub fn interest(user: u128, venue: u128, preferred_time: Option<DateTime<Utc>>) -> domain::VenueInterest {
    domain::VenueInterest {
        user_id: id(user),
        venue_id: id(venue),
        preferred_time,
        preferred_time_slot: None,
        open_to_invites: true,
        created_at: t0(),
    }
}

/// A confirmed booking `n` of `user` at `venue` for two, at [`t0`].
pub fn booking(n: u128, user: u128, venue: u128) -> domain::Booking {
    domain::Booking {
        id: id(n),
        user_id: Some(id(user)),
        venue_id: id(venue),
        plan_id: None,
        booking_time: t0(),
        party_size: 2,
        duration_minutes: 120,
        status: domain::BookingStatus::Confirmed,
        confirmation_code: "LUNA-XXXXXX".into(),
        provider: "house".into(),
        agent: "test".into(),
        group_members: vec![],
        special_requests: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub fn prefs(cuisines: &[&str], dietary: &[&str]) -> UserPreferences {
    UserPreferences {
        cuisines: cuisines.iter().map(|s| s.to_string()).collect(),
        dietary: dietary.iter().map(|s| s.to_string()).collect(),
        ..UserPreferences::default()
    }
}
