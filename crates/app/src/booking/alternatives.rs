//! What a refusal proposes: other times at the same venue with room (nearest to the one asked
//! for first), and similar venues with room at the time asked for, ranked by the recommendation
//! engine for the user (same category, near the venue, open then, able to seat the party).
//! When the engine cannot rank for this user (not loaded yet, unknown user), the nearest
//! similar venues come in distance order instead, and each alternative says which ranking it
//! came from. Proposed venues are published as a served answer of the `alternatives` ranker,
//! so how often a refused user books one instead is measured ([`crate::conversion`]).

use domain::inventory::{self, local_date};
use domain::{LatLng, PageRequest, SlotFull, Timestamp, Venue, VenueId};
use engine::{Ranker, VenueQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::reco_service::ServedItem;
use crate::{App, AppResult};

/// Another time at the same venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlternativeTime {
    #[serde(serialize_with = "domain::time::micros")]
    pub booking_time: chrono::DateTime<chrono::Utc>,
    pub seats_free: i32,
}

/// Another venue with room at the time asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlternativeVenue {
    pub venue_id: uuid::Uuid,
    pub venue_name: String,
    #[serde(serialize_with = "domain::time::micros")]
    pub booking_time: chrono::DateTime<chrono::Utc>,
    pub seats_free: i32,
    /// From the venue asked for, km.
    pub distance_km: f64,
    /// `recommendation_engine` (score and explanation set) or `distance`.
    pub ranked_by: String,
    pub score: Option<f64>,
    pub explanation: Option<String>,
}

/// Both kinds of alternative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alternatives {
    pub times: Vec<AlternativeTime>,
    pub venues: Vec<AlternativeVenue>,
}

/// A refusal and what to do instead: the body of a 409 `slot_full`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoRoom {
    pub requested: SlotFull,
    pub alternatives: Alternatives,
    /// The refusal an earlier request with the same `Idempotency-Key` got, replayed (the API
    /// marks it `Idempotent-Replayed: true`, as it does a replayed booking); not in the body.
    #[serde(skip)]
    pub replayed: bool,
}

/// Venues the engine or the fallback may propose, at most (each is checked for room).
const CANDIDATES: usize = 12;

impl App {
    /// Alternatives to a refused request, as of `now`.
    #[tracing::instrument(skip_all, fields(venue_id = %full.venue_id), err(level = "debug"))]
    pub async fn alternatives(&self, full: &SlotFull, now: Timestamp) -> AppResult<Alternatives> {
        let venue = self.store.get_venue(full.venue_id).await?;
        let alternatives = Alternatives {
            times: self.other_times(&venue, full, now).await?,
            venues: self.other_venues(&venue, full, now).await?,
        };
        if !alternatives.venues.is_empty() {
            // Proposed venues are recommendations too: their conversion is measured.
            let items = alternatives.venues.iter().map(|v| ServedItem::venue(v.venue_id, v.score)).collect();
            self.served(&[full.user_id], "alternatives", "venues", items);
        }
        Ok(alternatives)
    }

    async fn other_times(&self, venue: &Venue, full: &SlotFull, now: Timestamp) -> AppResult<Vec<AlternativeTime>> {
        let s = &self.settings.booking.alternatives;
        let window = chrono::Duration::minutes(i64::from(s.window_minutes));
        let (t, party) = (full.booking_time, full.party_size);
        let mut dates = vec![local_date(venue, t - window), local_date(venue, t + window)];
        dates.dedup();
        let mut slots: Vec<_> = self
            .free_slots(venue, &dates, party, now)
            .await?
            .into_iter()
            .filter(|slot| slot.start != t && (slot.start - t).abs() <= window)
            .collect();
        slots.sort_by_key(|slot| ((slot.start - t).abs(), slot.start));
        slots.truncate(s.times);
        Ok(slots
            .into_iter()
            .map(|slot| AlternativeTime { booking_time: slot.start, seats_free: slot.seats_free })
            .collect())
    }

    async fn other_venues(&self, venue: &Venue, full: &SlotFull, now: Timestamp) -> AppResult<Vec<AlternativeVenue>> {
        let s = &self.settings.booking.alternatives;
        let mut out = Vec::new();
        for (candidate, ranked) in self.candidates(venue, full, now).await? {
            if out.len() >= s.venues {
                break;
            }
            let Ok(other) = self.store.get_venue(candidate).await else { continue };
            let b = &self.settings.booking;
            if other.capacity < full.party_size
                || !inventory::open_for(&other, full.booking_time, b.last_seating_minutes)
            {
                continue;
            }
            let free = self.seats_free_at(&other, full.booking_time, self.turn(&other, full.party_size)).await?;
            if free < full.party_size {
                continue;
            }
            let (ranked_by, score, explanation) = match ranked {
                Some((score, why)) => ("recommendation_engine", Some(score), Some(why)),
                None => ("distance", None, None),
            };
            out.push(AlternativeVenue {
                venue_id: other.id,
                venue_name: other.name.clone(),
                booking_time: full.booking_time,
                seats_free: free,
                distance_km: domain::haversine_km(venue.lat, venue.lng, other.lat, other.lng),
                ranked_by: ranked_by.into(),
                score,
                explanation,
            });
        }
        Ok(out)
    }

    /// Candidate venues in rank order, with the engine's score and explanation when it ranked them.
    async fn candidates(
        &self,
        venue: &Venue,
        full: &SlotFull,
        now: Timestamp,
    ) -> AppResult<Vec<(VenueId, Option<(f64, String)>)>> {
        let radius = self.settings.booking.alternatives.radius_km;
        let mut q = VenueQuery::new(full.user_id, CANDIDATES, Ranker::Default);
        q.point = Some(LatLng { lat: venue.lat, lng: venue.lng });
        q.radius_km = Some(radius);
        q.category = Some(venue.category);
        q.party_size = u32::try_from(full.party_size).ok();
        q.open_at = Some(full.booking_time);
        q.time = Some(full.booking_time);
        q.exclude = vec![venue.id];
        q.now = Some(now);
        match self.engine().recommend_venues(&q) {
            Ok(recs) if !recs.is_empty() => {
                return Ok(recs.into_iter().map(|r| (r.venue_id, Some((r.score, r.explanation)))).collect());
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "engine cannot rank alternatives; nearest first"),
        }
        let query = store::VenueQuery {
            category: Some(venue.category),
            near: Some((LatLng { lat: venue.lat, lng: venue.lng }, radius)),
            ..store::VenueQuery::default()
        };
        let page = self.store.list_venues(&query, PageRequest { limit: 200, after: None }).await?;
        let mut near: Vec<_> = page
            .items
            .into_iter()
            .filter(|v| v.id != venue.id)
            .map(|v| (domain::haversine_km(venue.lat, venue.lng, v.lat, v.lng), v.id))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(near.into_iter().take(CANDIDATES).map(|(_, id)| (id, None)).collect())
    }
}
