//! Recommendation use cases: venues, people, groups, who is interested in a venue, expressing
//! interest and live location. Every served recommendation is published on the
//! `recommendations` channel (straight to the bus: it is not a committed write) so conversion
//! can be measured later.

use domain::{Channel, DomainEvent, InterestWish, UserId, ValidationError, VenueId, VenueInterest};
use engine::{
    EngineError, GroupQuery, GroupRecommendations, InterestedInVenue, PeopleQuery, PersonRecommendation, Ranker,
    VenueContext, VenueQuery, VenueRecommendation,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{App, AppError, AppResult};

/// Bus event type of a live location update (published on `user_actions`; the location itself
/// is kept in the store's `user_locations`, the bus only tells the other servers).
pub const LOCATION_EVENT: &str = "user.location_updated";
/// The channel [`LOCATION_EVENT`]s go out on.
pub const LOCATION_CHANNEL: Channel = Channel::UserActions;
/// Bus event type of a served recommendation.
pub const SERVED_EVENT: &str = "recommendation.served";

/// The data of a [`LOCATION_EVENT`]: where a user is now, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationUpdate {
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
    pub lat: f64,
    pub lng: f64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub at: domain::Timestamp,
}

/// The data of a [`SERVED_EVENT`]: what one answer showed to whom, so later views, likes and
/// bookings of those items can be traced back to it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecommendationServed {
    /// The server that answered (the `server` of its metrics snapshots). First, so a server can
    /// tell its own answers on the bus by their opening bytes ([`crate::telemetry`]).
    pub server: String,
    /// Made for this answer.
    pub request_id: Uuid,
    /// Who asked (a group's first member).
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
    /// A group answer's members, each of whom was shown it; absent for one user's answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Uuid>)]
    pub members: Vec<UserId>,
    /// `default`, `seed2`, `learned`, `popularity`, `group`, or `alternatives` (venues
    /// proposed when a booking was refused).
    pub ranker: &'static str,
    /// `venues`, `people` or `group`.
    pub kind: &'static str,
    /// The answer's items, in order.
    pub items: Vec<ServedItem>,
}

/// One item of a served answer: a venue or a person, with its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServedItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// The ranker's score; null for booking alternatives proposed by distance alone.
    pub score: Option<f64>,
}

impl ServedItem {
    pub(crate) fn venue(id: VenueId, score: Option<f64>) -> Self {
        Self { venue_id: Some(id), user_id: None, score }
    }

    fn person(id: UserId, score: f64) -> Self {
        Self { venue_id: None, user_id: Some(id), score: Some(score) }
    }
}

/// Maps an engine error to the service's: unknown ids are 404, bad parameters 422.
pub fn engine_error(e: EngineError) -> AppError {
    match e {
        EngineError::UnknownUser(id) => AppError::not_found("user", id),
        EngineError::UnknownVenue(id) => AppError::not_found("venue", id),
        EngineError::InvalidQuery { field, message } => AppError::Invalid(ValidationError::field(field, message)),
        EngineError::ModelIo(e) => AppError::Internal(e.to_string()),
        EngineError::ModelFormat(m) => AppError::Internal(m),
    }
}

/// Users or venues an engine query may load from the store before it gives up (a group names
/// up to 20 users, and a venue).
const CATCH_UP_ROWS: usize = 22;

impl App {
    /// Runs a query on the engine. When the engine does not know a user or venue that the store
    /// holds (written a moment ago, here or on another server, and its event not followed yet),
    /// the row is loaded into the engine and the query asked again: a caller never gets a 404
    /// for a user or venue that exists. The follower's later copy of the event changes nothing.
    async fn ask_engine<T>(&self, query: impl Fn(&engine::Engine) -> Result<T, EngineError>) -> AppResult<T> {
        let mut loaded = 0;
        loop {
            match query(&self.engine()) {
                Err(EngineError::UnknownUser(id)) if loaded < CATCH_UP_ROWS => self.catch_up_user(id).await?,
                Err(EngineError::UnknownVenue(id)) if loaded < CATCH_UP_ROWS => self.catch_up_venue(id).await?,
                answer => return answer.map_err(engine_error),
            }
            loaded += 1;
        }
    }

    /// Loads a user the engine does not know from the store (`NotFound` if the store has none
    /// either), with their preferences and live location. Applied only if still unknown, so what
    /// the follower applied meanwhile stands; and looked up again after, so a deletion that
    /// slipped in between is applied too.
    async fn catch_up_user(&self, id: UserId) -> AppResult<()> {
        let user = self.store.get_user(id).await?;
        let mut events = vec![DomainEvent::UserCreated(user)];
        match self.store.get_preferences(id).await {
            Ok(preferences) => events.push(DomainEvent::PreferencesUpdated { user_id: id, preferences }),
            Err(store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        // Only a better starting point: an answer measured from home beats no answer.
        let location = self.store.get_live_location(id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, user_id = %id, "live location not read for a user caught up");
            None
        });
        if self.engine().apply_if_unknown(&events) && self.store.get_user(id).await.is_err() {
            self.engine().apply(&DomainEvent::UserDeleted { user_id: id });
            return Ok(());
        }
        // Where they are now, if they said so on another server: the engine keeps the latest by
        // time (a newer one the follower brought meanwhile stands) and judges freshness itself.
        if let Some(l) = location {
            match self.engine.set_location(l) {
                Ok(()) | Err(EngineError::UnknownUser(_)) => {}
                Err(e) => return Err(engine_error(e)),
            }
        }
        Ok(())
    }

    /// Applies what a write on this server just committed (`event`, naming `user_id` and
    /// `venue_id`, recorded under outbox id `event_id` when given) to this server's engine at
    /// once, so the next request here sees it: the follower's copy of the event comes a moment
    /// later and is skipped ([`crate::reco::EngineCell::apply`]; by its outbox id, or for an
    /// interaction by the interaction's), and should the follower have come first, this apply
    /// is the one skipped ([`App::apply_to_known_users`]). A user or venue the engine does not
    /// know yet (made a moment ago) is caught up from the store first, so no placeholder stands
    /// in for them. Returns whether it applied the event; when not (the user or venue deleted
    /// meanwhile, the store unreachable), the engine learns of the write from the follower.
    pub(crate) async fn apply_written(
        &self,
        user_id: UserId,
        venue_id: VenueId,
        event: DomainEvent,
        event_id: Option<domain::Id>,
    ) -> bool {
        let known = |e: &engine::Engine| match (e.has_user(user_id), e.has_venue(venue_id)) {
            (false, _) => Err(EngineError::UnknownUser(user_id)),
            (_, false) => Err(EngineError::UnknownVenue(venue_id)),
            _ => Ok(()),
        };
        if let Err(e) = self.ask_engine(known).await {
            tracing::debug!(error = %e, %user_id, %venue_id, "a write left to the engine follower");
            return false;
        }
        self.engine.apply(event, self.now(), event_id);
        true
    }

    /// [`App::catch_up_user`] for a venue.
    async fn catch_up_venue(&self, id: VenueId) -> AppResult<()> {
        let venue = self.store.get_venue(id).await?;
        if self.engine().apply_if_unknown(&[DomainEvent::VenueCreated(venue)])
            && self.store.get_venue(id).await.is_err()
        {
            self.engine().apply(&DomainEvent::VenueDeleted { venue_id: id });
        }
        Ok(())
    }

    /// Venues for a user, ranked by the query's ranker.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %q.user_id, ranker = q.ranker.as_str()), err(level = "debug"))]
    pub async fn recommend_venues(&self, mut q: VenueQuery) -> AppResult<Vec<VenueRecommendation>> {
        q.now.get_or_insert_with(|| self.now());
        let recs = self.ask_engine(|e| e.recommend_venues(&q)).await?;
        self.served_venues(&q, &recs);
        Ok(recs)
    }

    /// [`App::recommend_venues`] with the context the answer was computed from (the user's
    /// local time, where the search started, persona, stated preferences).
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %q.user_id, ranker = q.ranker.as_str()), err(level = "debug"))]
    pub async fn recommend_venues_in_context(
        &self,
        mut q: VenueQuery,
    ) -> AppResult<(Vec<VenueRecommendation>, VenueContext)> {
        q.now.get_or_insert_with(|| self.now());
        let (recs, context) = self.ask_engine(|e| e.recommend_venues_in_context(&q)).await?;
        self.served_venues(&q, &recs);
        Ok((recs, context))
    }

    fn served_venues(&self, q: &VenueQuery, recs: &[VenueRecommendation]) {
        let items = recs.iter().map(|r| ServedItem::venue(r.venue_id, Some(r.score))).collect();
        self.served(&[q.user_id], q.ranker.as_str(), "venues", items);
    }

    /// People to go out with, optionally for one venue.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %q.user_id), err(level = "debug"))]
    pub async fn recommend_people(&self, mut q: PeopleQuery) -> AppResult<Vec<PersonRecommendation>> {
        // The app's clock decides which interests in the venue have passed.
        q.now.get_or_insert_with(|| self.now());
        let recs = self.ask_engine(|e| e.recommend_people(&q)).await?;
        let items = recs.iter().map(|r| ServedItem::person(r.user_id, r.score)).collect();
        // Logged under the ranker that ordered them, so conversions are credited to it.
        self.served(&[q.user_id], q.ranker.for_people().as_str(), "people", items);
        Ok(recs)
    }

    /// Venues for a group of 2 to 20 users.
    #[tracing::instrument(level = "debug", skip_all, fields(members = q.user_ids.len()), err(level = "debug"))]
    pub async fn recommend_group(&self, mut q: GroupQuery) -> AppResult<GroupRecommendations> {
        if !(2..=20).contains(&q.user_ids.len()) {
            return Err(ValidationError::field("user_ids", "a group has 2 to 20 distinct users").into());
        }
        q.now.get_or_insert_with(|| self.now());
        let recs = self.ask_engine(|e| e.recommend_group(&q)).await?;
        let items = recs.venues.iter().map(|r| ServedItem::venue(r.venue_id, Some(r.score))).collect();
        // Conversion is measured per ranker: a group's answers apart from one user's.
        let ranker = match q.ranker {
            Ranker::Default => "group",
            Ranker::Seed2 => "group_seed2",
            Ranker::Popularity => "group_popularity",
            Ranker::Learned => "group_learned",
        };
        self.served(&q.user_ids, ranker, "group", items);
        Ok(recs)
    }

    /// Who wants to go to a venue, as seen by `viewer` now: at most `limit` (1 to 100) of each
    /// group, leaving out interests whose exact time has passed.
    pub async fn interested_in_venue(
        &self,
        venue_id: VenueId,
        viewer: UserId,
        limit: usize,
    ) -> AppResult<InterestedInVenue> {
        let now = self.now();
        self.ask_engine(|e| e.interested_in_venue(venue_id, viewer, limit, now)).await
    }

    /// Records that a user wants to go to a venue (stored, and applied to this server's engine at
    /// once: [`App::apply_written`]; the follower tells the other servers' engines). The
    /// wish is resolved in the venue's time zone first ([`InterestWish::resolve`]): a time gets
    /// its part of the day there, and a part of the day the time is not in is `Invalid`, naming
    /// `preferred_time_slot`, with nothing written. `NotFound` for an unknown venue or user.
    #[tracing::instrument(skip_all, fields(user_id = %user_id, venue_id = %venue_id), err(level = "debug"))]
    pub async fn express_interest(
        &self,
        user_id: UserId,
        venue_id: VenueId,
        wish: InterestWish,
    ) -> AppResult<VenueInterest> {
        let venue = self.store.get_venue(venue_id).await?;
        let wish = wish.resolve(venue.tz())?;
        let written = self.store.express_interest(user_id, venue_id, wish).await?;
        self.wrote();
        let event = DomainEvent::InterestExpressed(written.value.clone());
        self.apply_written(user_id, venue_id, event, Some(written.event_id)).await;
        Ok(written.value)
    }

    /// Sets a user's live location: here, through the bus on every other server, and in the
    /// store (so a restarted server still uses it while fresh), where a user who stays put is
    /// rewritten only every few minutes ([`crate::location_writes`]). `NotFound` for a user the
    /// store does not hold, deleted ones included: the engine may still know a deleted user (its
    /// deletion not followed yet, or kept as a dead row), so a write is skipped only for a user
    /// the engine knows alive. (A deletion on another server that this one has not followed yet,
    /// a few milliseconds, may still see a location accepted and not stored.)
    #[tracing::instrument(skip_all, fields(user_id = %user_id), err(level = "debug"))]
    pub async fn update_location(&self, user_id: UserId, lat: f64, lng: f64) -> AppResult<()> {
        domain::LatLng::parse(lat, lng, "lat", "lng")?;
        // Microseconds, as the store keeps them.
        let at = chrono::SubsecRound::trunc_subsecs(self.now(), 6);
        let location = store::LiveLocation { user_id, lat, lng, at };
        if self.location_writes.must_write(&location) || !self.engine().has_user(user_id) {
            self.store.set_live_location(location).await?;
            self.location_writes.written(location);
        }
        // Through the cell, so a reload under way replays it onto the engine it builds.
        self.ask_engine(|_| self.engine.set_location(location)).await?;
        let data = domain::Payload::of(&LocationUpdate { user_id, lat, lng, at }).unwrap_or_default();
        let publish = bus::Publish {
            channel: LOCATION_CHANNEL,
            event_type: LOCATION_EVENT.into(),
            data,
            timestamp: at,
            source_id: None,
        };
        if let Err(e) = self.bus.publish(publish).await {
            tracing::warn!(error = %e, "location update not published");
        }
        Ok(())
    }

    /// Publishes what an answer showed (the event names the first of `users`, the one who asked,
    /// and all of them when there are several) and, for venues, counts it toward every user's
    /// conversion ([`crate::conversion`]).
    pub(crate) fn served(&self, users: &[UserId], ranker: &'static str, kind: &'static str, items: Vec<ServedItem>) {
        let Some(&user_id) = users.first() else { return };
        // One time for both: other servers order their answers against this one by it.
        let at = self.now();
        if kind != "people" {
            let venues: Vec<VenueId> = items.iter().filter_map(|i| i.venue_id).collect();
            self.telemetry.record_served(ranker, users, &venues, at);
        }
        let members = if users.len() > 1 { users.to_vec() } else { Vec::new() };
        let server = self.telemetry.server().to_string();
        let served = RecommendationServed { server, request_id: Uuid::now_v7(), user_id, members, ranker, kind, items };
        let data = domain::Payload::of(&served).unwrap_or_default();
        let publish = bus::Publish {
            channel: Channel::Recommendations,
            event_type: SERVED_EVENT.into(),
            data,
            timestamp: at,
            source_id: None,
        };
        let bus = self.bus.clone();
        let mut task = Box::pin(async move {
            if let Err(e) = bus.publish(publish).await {
                tracing::debug!(error = %e, "recommendation.served not published");
            }
        });
        // The in-memory bus publishes without waiting: done here, with no task to spawn and
        // wake per request. A bus that waits (Redis) finishes in its own task, off the answer's
        // path; the next poll there registers the task's waker, as a future's contract requires.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if task.as_mut().poll(&mut cx).is_pending() {
            tokio::spawn(task);
        }
    }
}

/// Applies a location event from the bus (from this server or another).
pub(crate) fn apply_location(app: &App, data: &domain::Payload) {
    if let Ok(l) = data.parse::<LocationUpdate>() {
        let _ = app.engine.set_location(store::LiveLocation { user_id: l.user_id, lat: l.lat, lng: l.lng, at: l.at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interest applied here by the write that stored it, after the follower had applied it
    /// and a newer wish of the same user for the same venue (made on another server), does not
    /// put the older wish back.
    #[tokio::test]
    async fn an_interest_the_follower_applied_first_is_not_applied_again_over_a_newer_wish() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.unwrap(), crate::AppSettings::default());
        let user = |h: &str| serde_json::from_value(serde_json::json!({"handle": h, "name": h})).unwrap();
        let (fan, viewer) =
            (app.create_user(user("fan")).await.unwrap(), app.create_user(user("viewer")).await.unwrap());
        let bar = serde_json::json!({"name": "Open Late", "category": "bar", "lat": 40.73, "lng": -73.99});
        let bar = app.create_venue(serde_json::from_value(bar).unwrap()).await.unwrap();
        app.reload_engine().await.unwrap();
        let (sooner, later) = (app.now() + chrono::Duration::days(2), app.now() + chrono::Duration::days(3));
        let wished = || async {
            let seen = app.interested_in_venue(bar.id, viewer.id, 10).await.unwrap();
            seen.new_people.iter().find(|p| p.user_id == fan.id).and_then(|p| p.preferred_time).map(|t| t.timestamp())
        };

        let ours = app.store.express_interest(fan.id, bar.id, domain::InterestWish::at(Some(sooner))).await.unwrap();
        let theirs = app.store.express_interest(fan.id, bar.id, domain::InterestWish::at(Some(later))).await.unwrap();
        for w in [&ours, &theirs] {
            app.engine.apply(DomainEvent::InterestExpressed(w.value.clone()), app.now(), Some(w.event_id));
        }
        assert_eq!(wished().await, Some(later.timestamp()));
        let event = DomainEvent::InterestExpressed(ours.value.clone());
        assert!(app.apply_written(fan.id, bar.id, event, Some(ours.event_id)).await, "both are known");
        assert_eq!(wished().await, Some(later.timestamp()), "the older wish was put back over the newer one");
    }
}
