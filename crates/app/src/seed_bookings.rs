//! Bookings for the seeded city's confirmed plans, so a fresh demo has bookings to list. They
//! obey the same capacity rule as the agent (seats at the busiest moment of each stay, per
//! venue, across every chunk of the seed); a confirmed plan the venue has no room for goes back
//! to pending instead. Codes and ids come from a generator keyed by the seed: same seed, same
//! bookings.

use std::collections::{HashMap, HashSet};

use domain::inventory::{Hold, TurnTimes, peak_seats};
use domain::{Booking, BookingStatus, Category, Plan, PlanStatus, Venue, VenueId};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The agent name seeded bookings record.
pub const SEED_AGENT: &str = "seed";

/// Books confirmed plans chunk by chunk, remembering what each venue holds.
pub(crate) struct PlanBookings {
    venues: HashMap<VenueId, (i32, Category)>,
    holds: HashMap<VenueId, Vec<Hold>>,
    codes: HashSet<String>,
    rng: ChaCha8Rng,
    turns: TurnTimes,
}

impl PlanBookings {
    pub(crate) fn new(seed: u64, turns: TurnTimes) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_B00C);
        Self { venues: HashMap::new(), holds: HashMap::new(), codes: HashSet::new(), rng, turns }
    }

    pub(crate) fn add_venues(&mut self, venues: &[Venue]) {
        self.venues.extend(venues.iter().map(|v| (v.id, (v.capacity, v.category))));
    }

    /// The bookings of the confirmed plans that fit; the others go back to pending.
    pub(crate) fn book(&mut self, plans: &mut [Plan]) -> Vec<Booking> {
        let mut out = Vec::new();
        for plan in plans.iter_mut().filter(|p| p.status == PlanStatus::Confirmed) {
            let Some(&(capacity, category)) = self.venues.get(&plan.venue_id) else { continue };
            // A plan whose organizer's account is gone keeps the status it came with.
            let Some(organizer) = plan.organizer_id else { continue };
            let party = plan.party();
            let duration = i32::from(self.turns.minutes(category, party));
            let (start, end) = (plan.start_time, plan.start_time + chrono::Duration::minutes(i64::from(duration)));
            let holds = self.holds.entry(plan.venue_id).or_default();
            if peak_seats(holds, start, end) + party > capacity {
                plan.status = PlanStatus::Draft;
                continue;
            }
            holds.push(Hold { start, end, seats: party });
            let code = loop {
                let code = domain::confirmation::generate(&mut self.rng);
                if self.codes.insert(code.clone()) {
                    break code;
                }
            };
            let random: [u8; 10] = self.rng.random();
            let millis = plan.created_at.timestamp_millis().max(0) as u64;
            out.push(Booking {
                id: uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid(),
                user_id: Some(organizer),
                venue_id: plan.venue_id,
                plan_id: Some(plan.id),
                booking_time: plan.start_time,
                party_size: party,
                duration_minutes: duration,
                status: BookingStatus::Confirmed,
                confirmation_code: code,
                provider: "house".into(),
                agent: SEED_AGENT.into(),
                group_members: plan.accepted_guests(),
                special_requests: None,
                created_at: plan.created_at,
                updated_at: plan.created_at,
            });
        }
        out
    }
}
