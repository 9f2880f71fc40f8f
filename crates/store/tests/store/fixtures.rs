//! Small builders for test data.

use chrono::SubsecRound;
use domain::user::UserInput;
use domain::{Category, Interaction, InteractionType, NewInteraction, NewUser, NewVenue, TimeOfDay, User, Venue};
use store::DynStore;

/// A valid new user with this handle.
pub fn new_user(handle: &str) -> NewUser {
    NewUser::parse(UserInput { handle: handle.into(), name: format!("{handle} name"), ..Default::default() })
        .expect("valid user")
}

/// A valid new venue with this name at (lat, lng).
pub fn new_venue(name: &str, category: Category, lat: f64, lng: f64) -> NewVenue {
    NewVenue {
        id: domain::new_id(),
        name: name.into(),
        description: None,
        category,
        cuisine: None,
        address: None,
        city: Some("New York".into()),
        lat,
        lng,
        price_level: Some(2),
        rating: Some(4.0),
        capacity: category.default_capacity(),
        tags: vec![],
        opening_hours: None,
        timezone: domain::venue::DEFAULT_TIMEZONE.into(),
    }
}

pub async fn user(store: &DynStore, handle: &str) -> User {
    store.create_user(new_user(handle)).await.expect("create user")
}

pub async fn venue(store: &DynStore, name: &str) -> Venue {
    store.create_venue(new_venue(name, Category::Bar, 40.73, -73.99)).await.expect("create venue")
}

/// A new interaction of `user` with `venue`, happening now.
pub fn new_interaction(user: &User, venue: &Venue, kind: InteractionType) -> NewInteraction {
    NewInteraction {
        id: domain::new_id(),
        user_id: user.id,
        venue_id: venue.id,
        interaction_type: kind,
        dwell_time_seconds: 30,
        time_of_day: TimeOfDay::Evening,
        occurred_at: chrono::Utc::now().trunc_subsecs(6),
    }
}

pub async fn interaction(store: &DynStore, user: &User, venue: &Venue) -> Interaction {
    store
        .record_interaction(new_interaction(user, venue, InteractionType::Like))
        .await
        .expect("record interaction")
        .interaction
}

/// The event types waiting in the outbox, oldest first.
pub async fn pending_event_types(store: &DynStore) -> Vec<String> {
    store.unpublished_events(1000).await.expect("outbox").events.into_iter().map(|r| r.event.event_type()).collect()
}

/// A venue seating `capacity` people, always open.
pub async fn venue_seating(store: &DynStore, name: &str, capacity: i32) -> Venue {
    let mut v = new_venue(name, Category::Restaurant, 40.73, -73.99);
    v.capacity = capacity;
    store.create_venue(v).await.expect("create venue")
}

/// Tomorrow at `hour`:`minute` UTC (microsecond precision, as stored).
pub fn tomorrow_at(hour: u32, minute: u32) -> domain::Timestamp {
    use chrono::{Duration, TimeZone, Utc};
    let day = (Utc::now() + Duration::days(1)).date_naive();
    Utc.from_utc_datetime(&day.and_hms_opt(hour, minute, 0).expect("valid time"))
}

/// A confirmed-at-once (house) booking of `party` at `venue` from `at` for two hours.
pub fn new_booking(user: &User, venue: &Venue, at: domain::Timestamp, party: i32) -> store::NewBooking {
    store::NewBooking {
        id: domain::new_id(),
        confirmation_code: domain::confirmation::generate(&mut rand::rng()),
        provider: "house".into(),
        agent: "test_agent".into(),
        status: domain::BookingStatus::Confirmed,
        refuse_double: false,
        request: domain::SeatRequest {
            user_id: user.id,
            venue_id: venue.id,
            plan_id: None,
            booking_time: at,
            party_size: party,
            duration_minutes: 120,
            group_members: vec![],
            special_requests: None,
        },
    }
}

/// Books and expects a fresh booking.
pub async fn booked(store: &DynStore, new: store::NewBooking) -> domain::Booked {
    match store.book(new, None).await.expect("book") {
        store::Idempotent::Fresh(domain::SeatOutcome::Booked(b)) => b,
        other => panic!("expected a fresh booking, got {other:?}"),
    }
}
