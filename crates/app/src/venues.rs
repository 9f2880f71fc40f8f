//! Venue use cases (create, read, search, edit, delete) and the interactions users log on
//! venues. Search filters are parsed here into a [`VenueQuery`] the store can run as is.

use domain::error::Checker;
use domain::interaction::InteractionInput;
use domain::limits::Real;
use domain::venue::{VenueInput, VenuePatchInput};
use domain::{
    Category, DomainEvent, Interaction, LatLng, NewInteraction, NewVenue, Page, PageRequest, UserId, ValidationError,
    Venue, VenueId, VenuePatch,
};
use store::VenueQuery;

use crate::error::InBody;
use crate::{App, AppResult};

/// The largest search radius, in kilometres.
pub const MAX_RADIUS_KM: f64 = 100.0;

/// A venue search's `radius_km`: above 0, at most [`MAX_RADIUS_KM`].
pub const SEARCH_RADIUS_KM: Real = Real::above(0.0, MAX_RADIUS_KM);
domain::documented_range!(pub SearchRadiusRange = SEARCH_RADIUS_KM);

/// Raw venue search filters, as a client sends them. All optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VenueSearch {
    /// Free text matched against name, description, cuisine and tags.
    pub q: Option<String>,
    pub category: Option<Category>,
    pub price_min: Option<i16>,
    pub price_max: Option<i16>,
    /// `lat`, `lng` and `radius_km` go together.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub radius_km: Option<f64>,
}

impl VenueSearch {
    /// Validates the filters, naming each bad query parameter.
    pub fn parse(self) -> Result<VenueQuery, ValidationError> {
        let mut c = Checker::new();
        let text = c.opt_text("q", self.q.as_deref(), 100);
        check_price_range(&mut c, self.price_min, self.price_max);
        let near = match (self.lat, self.lng, self.radius_km) {
            (None, None, None) => None,
            (Some(lat), Some(lng), Some(r)) => {
                c.real("radius_km", r, SEARCH_RADIUS_KM);
                c.absorb(LatLng::parse(lat, lng, "lat", "lng")).map(|p| (p, r))
            }
            (lat, lng, r) => {
                for (field, missing) in [("lat", lat.is_none()), ("lng", lng.is_none()), ("radius_km", r.is_none())] {
                    c.check(!missing, field, "lat, lng and radius_km go together");
                }
                None
            }
        };
        let query =
            VenueQuery { text, category: self.category, price_min: self.price_min, price_max: self.price_max, near };
        c.finish(query)
    }
}

/// Checks the `price_min` and `price_max` filters of a search or a recommendation: price
/// levels 1 to 4, the least at most the most.
pub fn check_price_range(c: &mut Checker, price_min: Option<i16>, price_max: Option<i16>) {
    for (field, price) in [("price_min", price_min), ("price_max", price_max)] {
        if let Some(p) = price {
            c.whole(field, p, domain::limits::PRICE_LEVEL);
        }
    }
    if let (Some(lo), Some(hi)) = (price_min, price_max) {
        c.check(lo <= hi, "price_max", "must be at least price_min");
    }
}

impl App {
    #[tracing::instrument(skip_all, fields(name = %input.name), err(level = "debug"))]
    pub async fn create_venue(&self, input: VenueInput) -> AppResult<Venue> {
        let new = NewVenue::parse(input)?;
        let venue = self.store.create_venue(new).await?;
        self.wrote();
        Ok(venue)
    }

    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_venue(&self, id: VenueId) -> AppResult<Venue> {
        Ok(self.store.get_venue(id).await?)
    }

    /// Venues in id order matching every given filter.
    #[tracing::instrument(skip_all, fields(limit = page.limit), err(level = "debug"))]
    pub async fn search_venues(&self, search: VenueSearch, page: PageRequest) -> AppResult<Page<Venue>> {
        let query = search.parse()?;
        Ok(self.store.list_venues(&query, page).await?)
    }

    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn update_venue(&self, id: VenueId, input: VenuePatchInput) -> AppResult<Venue> {
        let patch = VenuePatch::parse(input)?;
        let written = self.store.update_venue(id, patch).await?;
        self.wrote();
        let venue = written.value;
        // Changed in this server's engine at once (where it is, its hours, its seats), as a
        // deletion is: until the follower's copy of the event, a moment later (seconds on
        // PostgreSQL and Redis), the engine answered from the venue as it was. A venue the engine
        // does not hold is read from the store when first named. Applied under its outbox id,
        // as `apply_to_known_users` explains, so it is applied once, by whichever comes first.
        if self.engine().has_venue(id) {
            self.engine.apply(DomainEvent::VenueUpdated(venue.clone()), self.now(), Some(written.event_id));
        }
        Ok(venue)
    }

    /// Deletes a venue. `Conflict` while it has upcoming bookings or plans being organised,
    /// unless `force`, which cancels them first (their people get the cancellations).
    #[tracing::instrument(skip_all, fields(%id, force), err(level = "debug"))]
    pub async fn delete_venue(&self, id: VenueId, force: bool) -> AppResult<()> {
        let cancelled = self.store.delete_venue(id, self.now(), force).await?;
        self.wrote();
        // Gone from this server's engine at once, as from the store: the follower's copy of the
        // event comes a moment later (and changes nothing), and until then the engine still
        // answered for the venue (who is interested, people for it: a 200 for a deleted venue).
        self.engine.apply(DomainEvent::VenueDeleted { venue_id: id }, self.now(), None);
        // Tables an outside provider holds are given back there too.
        for b in &cancelled {
            self.booking.give_back(b).await;
        }
        Ok(())
    }

    /// Logs what a user did with a venue, and applies it to this server's engine at once
    /// ([`App::apply_written`]). The time of day is taken in the venue's time zone.
    /// `NotFound` for an unknown venue, `Invalid` naming `user_id` for an unknown user.
    #[tracing::instrument(skip_all, fields(%venue_id, user_id = %input.user_id), err(level = "debug"))]
    pub async fn record_interaction(&self, venue_id: VenueId, input: InteractionInput) -> AppResult<Interaction> {
        let venue = self.store.get_venue(venue_id).await?;
        let new = NewInteraction::parse(input, venue_id, self.now(), venue.tz())?;
        // Checked here as well as by the foreign key, so the error names the user.
        let user_field = [("user", "user_id")];
        self.store.get_user(new.user_id).await.in_body(&user_field)?;
        let recorded = self.store.record_interaction(new).await.in_body(&user_field)?;
        self.wrote();
        let interaction = recorded.interaction;
        let event = DomainEvent::InteractionRecorded(interaction.clone());
        if self.apply_written(interaction.user_id, venue_id, event, None).await
            && let Some(interest) = recorded.interest
        {
            // The interest the store added, as none was there when it committed: one the engine
            // holds already (expressed since, with a time) stays.
            self.engine().apply_if_unknown(&[DomainEvent::InterestExpressed(interest)]);
        }
        Ok(interaction)
    }

    /// A user's interactions in time order. `NotFound` for an unknown user.
    #[tracing::instrument(skip_all, fields(%user_id, limit = page.limit), err(level = "debug"))]
    pub async fn list_user_interactions(&self, user_id: UserId, page: PageRequest) -> AppResult<Page<Interaction>> {
        self.store.get_user(user_id).await?;
        Ok(self.store.list_user_interactions(user_id, page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ValidationError) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn an_empty_search_matches_everything() {
        let q = VenueSearch::default().parse().unwrap();
        assert!(q.text.is_none() && q.category.is_none() && q.near.is_none() && q.price_min.is_none());
    }

    #[test]
    fn a_radius_needs_a_centre_and_stays_within_bounds() {
        let s = VenueSearch { lat: Some(40.7), radius_km: Some(2.0), ..Default::default() };
        assert_eq!(fields(s.parse().unwrap_err()), vec!["lng"]);
        let s = VenueSearch { lat: Some(40.7), lng: Some(-74.0), radius_km: Some(0.0), ..Default::default() };
        assert_eq!(fields(s.parse().unwrap_err()), vec!["radius_km"]);
        let s = VenueSearch { lat: Some(95.0), lng: Some(-74.0), radius_km: Some(101.0), ..Default::default() };
        assert_eq!(fields(s.parse().unwrap_err()), vec!["radius_km", "lat"]);
    }

    #[test]
    fn price_filters_are_levels_in_order() {
        let s = VenueSearch { price_min: Some(3), price_max: Some(2), ..Default::default() };
        assert_eq!(fields(s.parse().unwrap_err()), vec!["price_max"]);
        let s = VenueSearch { price_min: Some(0), ..Default::default() };
        assert_eq!(fields(s.parse().unwrap_err()), vec!["price_min"]);
    }

    #[test]
    fn blank_text_is_no_filter() {
        let q = VenueSearch { q: Some("  ".into()), ..Default::default() }.parse().unwrap();
        assert_eq!(q.text, None);
    }
}
