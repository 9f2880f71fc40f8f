//! Auto-booking (`POST /api/v1/bookings/venue/{venue_id}/auto-book`): the users who said they
//! want to go to a venue at a future time are grouped by compatible preferred times
//! (`domain::grouping`); groups the venue cannot take then (closed, too many, in the past) are
//! dropped; users who gave only a part of the day join the earliest group in it with room
//! ([`fill_flexible`]); and each group of two or more is booked at the venue as one party on
//! Luna's own inventory, in one store transaction that checks capacity group by group, leaves
//! out anyone who already holds a booking there then, and invites the other members. Users not
//! open to invites are never booked.
//!
//! Two rules keep flexible users from hurting anyone. Room for them is counted in seats: a group
//! takes flexible members only while its party still fits the seats free at its time (and at
//! most `max_group`), so the exact-time users never lose their table to them; and since that
//! count is read before the booking transaction, the store lets flexible members go again, last
//! first, if someone else took seats in between. And a flexible interest is never used up, so a
//! flexible user who already holds an upcoming booking at the venue (not cancelled, ending after
//! now; as booker or group member) is not seated again: the store leaves their interest out
//! (`Store::venue_interests`).

use chrono::Duration;
use domain::grouping::{Flexible, InterestGroup, fill_flexible, group_by_time};
use domain::{AutoBooked, BookingStatus, SeatRequest, SlotFull, Timestamp, Venue, VenueId, inventory};
use serde::{Deserialize, Serialize};
use store::Idempotent;
use utoipa::ToSchema;

use super::agent::{AUTO_BOOK_AGENT, named, with_fresh_codes};
use super::{BookingReceipt, idempotency_key};
use crate::{App, AppResult};

/// The first seed's auto-book answer, plus what could not be booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AutoBookResponse {
    pub success: bool,
    pub venue_id: uuid::Uuid,
    pub bookings_created: usize,
    pub bookings: Vec<BookingReceipt>,
    /// Groups the venue had no room for.
    pub full: Vec<SlotFull>,
    /// Interested users left out because they already hold a booking there then.
    pub already_booked: Vec<uuid::Uuid>,
}

impl From<(VenueId, AutoBooked)> for AutoBookResponse {
    fn from((venue_id, a): (VenueId, AutoBooked)) -> Self {
        Self {
            success: true,
            venue_id,
            bookings_created: a.booked.len(),
            bookings: a.booked.into_iter().map(BookingReceipt::from).collect(),
            full: a.full,
            already_booked: a.already_booked,
        }
    }
}

impl App {
    /// How many members each group may have once flexible people join: at most `max`, and only
    /// as many as the seats free at its time hold over the stay of a party that size (never
    /// fewer than its exact-time members: whether they fit is the store's call). One read of
    /// what the venue holds over all the groups' times.
    async fn room_for_flexible(&self, venue: &Venue, groups: &[InterestGroup], max: usize) -> AppResult<Vec<usize>> {
        let (Some(first), Some(last)) = (groups.iter().map(|g| g.at).min(), groups.iter().map(|g| g.at).max()) else {
            return Ok(Vec::new());
        };
        let longest = (1..=max as i32).map(|n| self.turn(venue, n)).max().unwrap_or(0);
        let holds = self.store.venue_holds(venue.id, first, last + Duration::minutes(i64::from(longest))).await?;
        let fits = |at: Timestamp, n: usize| {
            let end = at + Duration::minutes(i64::from(self.turn(venue, n as i32)));
            n as i32 <= venue.capacity - inventory::peak_seats(&holds, at, end)
        };
        Ok(groups
            .iter()
            .map(|g| (g.members.len() + 1..=max).take_while(|&n| fits(g.at, n)).last().unwrap_or(g.members.len()))
            .collect())
    }

    /// Groups and books the users interested in `venue_id` (see the module doc).
    #[tracing::instrument(skip_all, fields(%venue_id), err(level = "debug"))]
    pub async fn auto_book(
        &self,
        venue_id: VenueId,
        key: Option<String>,
        now: Timestamp,
    ) -> AppResult<Idempotent<AutoBookResponse>> {
        let request = serde_json::json!({"op": "bookings.auto_book", "venue_id": venue_id});
        let key = idempotency_key(format!("venue:{venue_id}"), key, request)?;
        if let Some(first) = self.saved_answer::<domain::AutoBooked>(&key).await? {
            return Ok(Idempotent::Replayed((venue_id, first).into()));
        }
        let venue = self.store.get_venue(venue_id).await?;
        let b = &self.settings.booking;
        let a = &b.auto_book;
        let open: Vec<_> =
            self.store.venue_interests(venue_id, now).await?.into_iter().filter(|i| i.open_to_invites).collect();
        let exact: Vec<_> = open.iter().filter_map(|i| i.preferred_time.map(|t| (i.user_id, t))).collect();
        let flexible: Vec<_> = open
            .iter()
            .filter(|i| i.preferred_time.is_none())
            .filter_map(|i| {
                i.preferred_time_slot.map(|slot| Flexible { user_id: i.user_id, slot, created_at: i.created_at })
            })
            .collect();
        let step = Duration::minutes(i64::from(b.slot_minutes.max(5)));
        let window = Duration::minutes(i64::from(a.window_minutes));
        // Every exact-time group first, even of one: a flexible user may make it a party.
        let mut groups: Vec<_> = group_by_time(&exact, window, 1, a.max_group, step)
            .into_iter()
            .filter(|g| g.at > now && inventory::open_for(&venue, g.at, b.last_seating_minutes))
            .filter(|g| g.members.len() as i32 <= venue.capacity)
            .collect();
        let room = self.room_for_flexible(&venue, &groups, a.max_group).await?;
        let seated = fill_flexible(&mut groups, &flexible, venue.tz(), &room);
        let requests: Vec<SeatRequest> = groups
            .into_iter()
            .filter(|g| g.members.len() >= a.min_group.max(1))
            .map(|g| SeatRequest {
                user_id: g.members[0],
                venue_id,
                plan_id: None,
                booking_time: g.at,
                party_size: g.members.len() as i32,
                duration_minutes: self.turn(&venue, g.members.len() as i32),
                group_members: g.members[1..].to_vec(),
                special_requests: None,
            })
            .collect();
        // A group that loses members (already booked there then) stays as long as its new size.
        let turn_by_party: Vec<i32> = (0..=a.max_group as i32).map(|n| self.turn(&venue, n)).collect();
        let write = || {
            let named = requests.iter().map(|r| named(r.clone(), "house", AUTO_BOOK_AGENT, BookingStatus::Confirmed));
            let (flexible, min) = (seated.clone(), a.min_group);
            self.store.auto_book(venue_id, named.collect(), flexible, min, turn_by_party.clone(), key.clone())
        };
        let answer = with_fresh_codes(write).await;
        self.wrote();
        Ok(match answer? {
            Idempotent::Fresh(a) => Idempotent::Fresh((venue_id, a).into()),
            Idempotent::Replayed(a) => Idempotent::Replayed((venue_id, a).into()),
        })
    }
}
