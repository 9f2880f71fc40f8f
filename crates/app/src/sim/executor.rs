//! The action executor: the one place where a simulated [`Action`] becomes a call to an `App`
//! service, the same services HTTP handlers call, so every action writes through the store
//! and publishes its events through the outbox like a real request.
//!
//! Recommendations come from the engine-backed service (`App::recommend_venues`, the
//! [`RECOMMENDER`] ranker, asked at the simulated time), so click-through and conversion in
//! the metrics measure the real recommender.
//!
//! Services that do not exist yet are plug points, marked `PLUG` below:
//! - **Plans and bookings** (`CreatePlan`, `AnswerInvitation`, `Book`, `Cancel`, `NoShow`,
//!   `Attend`): answered [`Outcome::Unavailable`] and counted as `skipped_unavailable`; no
//!   booking is ever faked. Return `Effect::Plan` / `Effect::Booking` with the new id when
//!   plugging them in: the runner then delivers invitations and tracks bookings (cancel,
//!   no-show, attend) without other changes.

use domain::interaction::InteractionInput;
use domain::{Id, InteractionType, PageRequest, Timestamp};
use engine::{Ranker, VenueQuery};

use super::action::Action;
use super::world::{SimUser, World};
use crate::{App, AppResult, VenueSearch};

/// The ranker simulated users get their recommendations from (named in the metrics).
pub const RECOMMENDER: &str = "default";

/// How an action went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The service call succeeded; `write` when it changed data.
    Done { write: bool },
    /// The service does not exist yet; nothing was called.
    Unavailable,
    /// The service refused or failed; the message says why.
    Failed(String),
    /// A decision that calls no service (ignoring recommendations).
    NoCall,
}

/// What a successful action hands back to the simulation.
#[derive(Debug, Clone, PartialEq, Default)]
// `Plan` and `Booking` are built once plans and bookings are plugged in (see above).
#[allow(dead_code)]
pub enum Effect {
    #[default]
    None,
    /// Venues a search or a recommendation showed, in their order (world indices).
    Venues(Vec<u32>),
    FriendRequest(Id),
    Plan(Id),
    Booking(Id),
}

/// Runs actions for the users of a world against an app.
pub struct Executor<'a> {
    pub app: &'a App,
    pub world: &'a World,
}

impl Executor<'_> {
    /// Runs `action` for user `user` at simulated time `at`.
    pub async fn execute(&self, user: u32, at: Timestamp, action: &Action) -> (Outcome, Effect) {
        if matches!(action, Action::IgnoreRecommendations { .. }) {
            return (Outcome::NoCall, Effect::None);
        }
        match self.run(&self.world.users[user as usize], at, action).await {
            Ok(Some((write, effect))) => (Outcome::Done { write }, effect),
            Ok(None) => (Outcome::Unavailable, Effect::None),
            Err(e) => (Outcome::Failed(e.to_string()), Effect::None),
        }
    }

    /// `Ok(None)` when the service is not available yet.
    async fn run(&self, user: &SimUser, at: Timestamp, action: &Action) -> AppResult<Option<(bool, Effect)>> {
        let app = self.app;
        let out = match action {
            Action::Interact { venue, kind, dwell } => {
                self.interact(user, *venue, *kind, *dwell, at).await?;
                (true, Effect::None)
            }
            Action::ClickRecommendation { venue, .. } => {
                self.interact(user, *venue, InteractionType::View, 60, at).await?;
                (true, Effect::None)
            }
            Action::Search { category, price_max, radius_km } => {
                let search = VenueSearch {
                    category: *category,
                    price_max: *price_max,
                    lat: Some(user.home.lat),
                    lng: Some(user.home.lng),
                    radius_km: Some(f64::from(*radius_km)),
                    ..VenueSearch::default()
                };
                let page = app.search_venues(search, PageRequest { limit: 20, after: None }).await?;
                (false, Effect::Venues(self.indices(page.items.iter().map(|v| v.id))))
            }
            Action::AskRecommendations { limit } => self.recommend(user, *limit, at).await?,
            Action::ListFriends => {
                app.list_friends(user.id, PageRequest { limit: 50, after: None }).await?;
                (false, Effect::None)
            }
            Action::SendFriendRequest { to } => {
                let request = app.send_friend_request(user.id, self.world.users[*to as usize].id).await?;
                (true, Effect::FriendRequest(request.id))
            }
            Action::AnswerFriendRequest { request, accept, .. } => {
                app.answer_friend_request(*request, user.id, *accept).await?;
                (true, Effect::None)
            }
            Action::ExpressInterest { venue, at: when } => {
                app.express_interest(user.id, self.world.venues[*venue as usize].id, Some(*when)).await?;
                (true, Effect::None)
            }
            // PLUG (plans, issue 4): `app.create_plan(organizer, venue, at, invitees)` then
            // `(true, Effect::Plan(plan.id))`; `AnswerInvitation` -> `app.answer_invitation(plan_id,
            // user, accept)` then `(true, Effect::None)`.
            Action::CreatePlan { .. } | Action::AnswerInvitation { .. } => return Ok(None),
            // PLUG (bookings, issue 4): `Book` -> `app.create_booking(user, venue, at, party,
            // idempotency key from the handle)` then `(true, Effect::Booking(booking.id))`;
            // `Cancel` / `NoShow` -> the booking status change; `Attend` -> complete the
            // booking and `self.interact(user, venue, InteractionType::Visit, ..)`.
            Action::Book { .. } | Action::Cancel { .. } | Action::NoShow { .. } | Action::Attend { .. } => {
                return Ok(None);
            }
            Action::IgnoreRecommendations { .. } => (false, Effect::None),
        };
        Ok(Some(out))
    }

    /// Venue recommendations for `user` at simulated time `at`, from the same service as
    /// `GET /api/v1/recommendations/{user_id}/venues`, as world indices in rank order.
    async fn recommend(&self, user: &SimUser, limit: u8, at: Timestamp) -> AppResult<(bool, Effect)> {
        let mut q = VenueQuery::new(user.id, usize::from(limit), Ranker::Default);
        q.now = Some(at);
        q.time = Some(at);
        let recs = self.app.recommend_venues(q).await?;
        Ok((false, Effect::Venues(self.indices(recs.iter().map(|r| r.venue_id)))))
    }

    /// Logs an interaction at simulated time `at` through the same service as
    /// `POST /venues/{id}/interactions`. A simulated time ahead of the wall clock (a long run
    /// at high speed) is stored as now, since the service refuses future times; the decision
    /// and its log line do not change.
    async fn interact(
        &self,
        user: &SimUser,
        venue: u32,
        kind: InteractionType,
        dwell: i32,
        at: Timestamp,
    ) -> AppResult<()> {
        let venue_id = self.world.venues[venue as usize].id;
        let input = InteractionInput {
            user_id: user.id,
            interaction_type: kind,
            dwell_time_seconds: Some(dwell),
            occurred_at: Some(at.min(chrono::Utc::now())),
        };
        self.app.record_interaction(venue_id, input).await?;
        Ok(())
    }

    /// World indices of venue ids (venues created after the run started are left out).
    fn indices(&self, ids: impl Iterator<Item = Id>) -> Vec<u32> {
        ids.filter_map(|id| self.world.venue_index.get(&id).copied()).collect()
    }
}
