//! Availability: the slots of a venue on a local date with room for a party, and the seats free
//! at one time. Both read what overlapping bookings hold and count seats at the busiest moment
//! of each stay (`domain::inventory`).

use chrono::NaiveDate;
use domain::inventory::{self, Hold, peak_seats};
use domain::{Timestamp, ValidationError, Venue, VenueId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{App, AppResult};

/// One bookable start time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    #[serde(serialize_with = "domain::time::micros")]
    pub start: chrono::DateTime<chrono::Utc>,
    /// Seats free at the busiest moment of a stay starting then.
    pub seats_free: i32,
}

/// A venue's free slots for a party on one local date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub venue_id: uuid::Uuid,
    /// The local date, in the venue's time zone.
    pub date: NaiveDate,
    pub timezone: String,
    pub party_size: i32,
    /// How long the party would hold its seats, minutes.
    pub duration_minutes: i32,
    pub capacity: i32,
    /// Future slots with room for the party, in time order.
    pub slots: Vec<Slot>,
}

impl App {
    /// The turn of a party at a venue, minutes.
    pub(crate) fn turn(&self, venue: &Venue, party: i32) -> i32 {
        i32::from(self.settings.booking.turn_minutes.minutes(venue.category, party))
    }

    /// Seats free at `venue` at the busiest moment of `[at, at + duration)`.
    pub(crate) async fn seats_free_at(&self, venue: &Venue, at: Timestamp, duration: i32) -> AppResult<i32> {
        let end = at + chrono::Duration::minutes(i64::from(duration));
        let holds = self.store.venue_holds(venue.id, at, end).await?;
        Ok(venue.capacity - peak_seats(&holds, at, end))
    }

    /// The future slot starts at `venue` on these local dates with room for `party`, each with
    /// its seats free.
    pub(crate) async fn free_slots(
        &self,
        venue: &Venue,
        dates: &[NaiveDate],
        party: i32,
        now: Timestamp,
    ) -> AppResult<Vec<Slot>> {
        let b = &self.settings.booking;
        let starts: Vec<Timestamp> = dates
            .iter()
            .flat_map(|d| inventory::slot_starts(venue, *d, b.slot_minutes, b.last_seating_minutes))
            .filter(|s| *s > now)
            .collect();
        let (Some(first), Some(last)) = (starts.first(), starts.last()) else { return Ok(Vec::new()) };
        let duration = chrono::Duration::minutes(i64::from(self.turn(venue, party)));
        let holds: Vec<Hold> = self.store.venue_holds(venue.id, *first, *last + duration).await?;
        Ok(starts
            .into_iter()
            .map(|s| Slot { start: s, seats_free: venue.capacity - peak_seats(&holds, s, s + duration) })
            .filter(|s| s.seats_free >= party)
            .collect())
    }

    /// `GET /api/v1/venues/{id}/availability`: the venue's free slots for `party_size` on a
    /// local `date` (today in the venue's time zone when omitted).
    #[tracing::instrument(skip_all, fields(%venue_id), err(level = "debug"))]
    pub async fn availability(
        &self,
        venue_id: VenueId,
        date: Option<NaiveDate>,
        party_size: Option<i32>,
        now: Timestamp,
    ) -> AppResult<Availability> {
        let venue = self.store.get_venue(venue_id).await?;
        let party = party_size.unwrap_or(2);
        let today = inventory::local_date(&venue, now);
        let date = date.unwrap_or(today);
        let mut c = domain::error::Checker::new();
        // The party a booking may seat, narrowed to the venue's seats.
        let party_size = domain::limits::PARTY_SIZE;
        let seats = domain::limits::Whole { hi: party_size.hi.min(i64::from(venue.capacity)), ..party_size };
        c.whole("party_size", party, seats);
        let within = today - chrono::Duration::days(1) <= date
            && date <= today + chrono::Duration::days(domain::booking::MAX_DAYS_AHEAD);
        c.check(within, "date", "must be from yesterday to a year ahead");
        c.finish(()).map_err(|e: ValidationError| crate::AppError::Invalid(e))?;
        let slots = self.free_slots(&venue, &[date], party, now).await?;
        Ok(Availability {
            venue_id,
            date,
            timezone: venue.timezone.clone(),
            party_size: party,
            duration_minutes: self.turn(&venue, party),
            capacity: venue.capacity,
            slots,
        })
    }
}
