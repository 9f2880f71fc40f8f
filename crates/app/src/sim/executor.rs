//! The action executor: the one place where a simulated [`Action`] becomes a call to an `App`
//! service, the same services HTTP handlers call, so every action writes through the store
//! and publishes its events through the outbox like a real request.
//!
//! Recommendations come from the engine-backed service (`App::recommend_venues`, the
//! [`RECOMMENDER`] ranker, asked at the simulated time), so click-through and conversion in
//! the metrics measure the real recommender. Plans and bookings run through the plan and
//! booking services with the simulated time as "now" (`CreatePlan`, `AnswerInvitation`,
//! `Book` with an idempotency key from its handle, `Cancel`, `NoShow`, `Attend` which
//! completes the booking and logs a visit). A booking the venue refuses (full, or closed
//! then) is [`Outcome::Refused`], counted apart from failures; when it was full, what the
//! refusal proposed instead comes back as [`Effect::Proposed`]. So is an invitee's acceptance
//! of a plan whose party already fills its venue.

use domain::interaction::InteractionInput;
use domain::{BookingInput, BookingStatus, Id, InteractionType, PageRequest, PlanInput, Timestamp};
use engine::{Ranker, VenueQuery};

use super::action::{Action, Handle};
use super::metrics::Metrics;
use super::world::{SimUser, World};
use crate::booking::Alternatives;
use crate::{App, AppError, AppResult, VenueSearch};

/// The ranker simulated users get their recommendations from (named in the metrics).
pub const RECOMMENDER: &str = "default";

/// How an action went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The service call succeeded; `write` when it changed data.
    Done { write: bool },
    /// The service does not exist yet; nothing was called.
    Unavailable,
    /// The service refused for a reason of the world, not of the call (a booking at a full or
    /// closed venue, or for more people than it seats; a friend request crossing one the other
    /// sent in the same minute); `full` when the venue was full then
    /// (the refusal proposes alternatives); the message says why.
    Refused { full: bool, message: String },
    /// The service refused or failed; the message says why.
    Failed(String),
    /// A decision that calls no service (ignoring recommendations).
    NoCall,
    /// The call failed because a user it names (the one acting, or the other party: the one
    /// asked, an invitee, the one who asked) was deleted meanwhile: they left the run
    /// ([`Departed`]), which is not a failure of the simulator. The message says what failed.
    Left(String),
}

/// The world's users deleted while the run goes on (world indices): they left the run. A user
/// is found gone when an action naming them fails and the store no longer has them; from then
/// on they open no session, get no requests or invitations and are picked by no one.
#[derive(Debug, Default)]
pub struct Departed(std::sync::Mutex<std::collections::HashSet<u32>>);

impl Departed {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<u32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn contains(&self, user: u32) -> bool {
        self.lock().contains(&user)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub(super) fn insert(&self, user: u32) {
        self.lock().insert(user);
    }
}

/// What a successful action hands back to the simulation.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Effect {
    #[default]
    None,
    /// Venues a search or a recommendation showed, in their order (world indices).
    Venues(Vec<u32>),
    FriendRequest(Id),
    Plan(Id),
    Booking(Id),
    /// What a full venue's refusal proposed instead, in the order proposed: other times there,
    /// and other venues (world indices) at their times.
    Proposed {
        times: Vec<Timestamp>,
        venues: Vec<(u32, Timestamp)>,
    },
}

/// Runs actions for the users of a world against an app.
pub struct Executor<'a> {
    pub app: &'a App,
    pub world: &'a World,
    /// Tells this run's idempotency keys from another run's with the same seed.
    pub run_id: Id,
    /// Users found deleted during the run.
    pub departed: &'a Departed,
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
            Err(AppError::NoRoom(no)) => {
                let proposed = self.proposed(&no.alternatives);
                (Outcome::Refused { full: true, message: AppError::NoRoom(no).to_string() }, proposed)
            }
            // Closed then, too many people, a table they already hold then, or its key in flight.
            Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. } | AppError::KeyInFlight { .. }))
                if matches!(action, Action::Book { .. }) =>
            {
                (Outcome::Refused { full: false, message: e.to_string() }, Effect::None)
            }
            // Two users who asked each other in the same minute: the store keeps the first. Or
            // someone who declined this user lately (a run before this one): asked again later.
            Err(e @ AppError::Conflict { .. })
                if matches!(action, Action::SendFriendRequest { .. })
                    && (e.to_string().contains("is pending")
                        || e.to_string().contains("declined your friend request")) =>
            {
                (Outcome::Refused { full: false, message: e.to_string() }, Effect::None)
            }
            // An invitee who would make the party larger than the venue seats (the plan is full),
            // or who answers once the plan's time has come.
            Err(e @ AppError::Conflict { .. })
                if matches!(action, Action::AnswerInvitation { accept: true, .. })
                    && (e.to_string().contains("the plan is full")
                        || matches!(&e, AppError::Conflict { field: Some(f), .. } if f == "start_time")) =>
            {
                let full = e.to_string().contains("the plan is full");
                (Outcome::Refused { full, message: e.to_string() }, Effect::None)
            }
            // An answer to a plan called off meanwhile: by its organizer, with its venue, or by
            // the janitor once its time came (a run whose clock is behind the wall clock).
            Err(e @ AppError::Conflict { .. })
                if matches!(action, Action::AnswerInvitation { .. })
                    && matches!(&e, AppError::Conflict { field: Some(f), .. } if f == "status") =>
            {
                (Outcome::Refused { full: false, message: e.to_string() }, Effect::None)
            }
            Err(e) => match self.left(user, action).await {
                true => (Outcome::Left(e.to_string()), Effect::None),
                false => (Outcome::Failed(e.to_string()), Effect::None),
            },
        }
    }

    /// After a failed `action` of `user`: whether a user it names (the one acting, or the other
    /// party) no longer exists, each such user marked [`Departed`]. Asked only on a failure, so a
    /// run in which nobody is deleted takes the same path as before.
    async fn left(&self, user: u32, action: &Action) -> bool {
        let mut named = vec![user];
        match action {
            Action::SendFriendRequest { to } => named.push(*to),
            Action::AnswerFriendRequest { from, .. } => named.push(*from),
            Action::CreatePlan { invitees, .. } => named.extend(invitees),
            _ => {}
        }
        let mut left = false;
        for u in named {
            // A lookup that fails itself tells nothing: the action stays a failure.
            if let Ok(false) = self.app.user_exists(self.world.users[u as usize].id).await {
                self.departed.insert(u);
                left = true;
            }
        }
        left
    }

    /// Runs `action` like [`Executor::execute`] and counts its outcome in `metrics` at local
    /// `hour`.
    pub async fn execute_counted(
        &self,
        metrics: &Metrics,
        user: u32,
        at: Timestamp,
        hour: usize,
        action: &Action,
    ) -> (Outcome, Effect) {
        let (outcome, effect) = self.execute(user, at, action).await;
        let near = action.venue().is_some_and(|v| self.world.near_event(v));
        metrics.record(action, &outcome, hour, near);
        (outcome, effect)
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
                let wish = domain::InterestWish::at(Some(*when));
                app.express_interest(user.id, self.world.venues[*venue as usize].id, wish).await?;
                (true, Effect::None)
            }
            Action::CreatePlan { venue, at: start, invitees, .. } => {
                let input = PlanInput {
                    organizer_id: user.id,
                    venue_id: self.world.venues[*venue as usize].id,
                    start_time: *start,
                    party_size: None,
                    participant_ids: invitees.iter().map(|&i| self.world.users[i as usize].id).collect(),
                };
                let plan = app.create_plan(input, at).await?;
                (true, Effect::Plan(plan.id))
            }
            Action::AnswerInvitation { accept, plan_id, .. } => {
                let Some(plan_id) = plan_id else { return Ok(None) };
                app.answer_invitation(*plan_id, user.id, *accept, at).await?;
                (true, Effect::None)
            }
            Action::Book { booking, venue, at: when, party } => {
                let input = BookingInput {
                    venue_id: self.world.venues[*venue as usize].id,
                    booking_time: Some(*when),
                    party_size: Some(i32::from(*party)),
                    group_members: Vec::new(),
                    special_requests: None,
                };
                let receipt = app.create_booking(user.id, input, Some(self.key(*booking)), at).await?;
                (true, Effect::Booking(receipt.into_inner().booking_id))
            }
            Action::Cancel { booking_id, .. } => {
                app.set_booking_status(*booking_id, BookingStatus::Cancelled, at).await?;
                (true, Effect::None)
            }
            Action::NoShow { booking_id, .. } => {
                app.set_booking_status(*booking_id, BookingStatus::NoShow, at).await?;
                (true, Effect::None)
            }
            Action::Attend { venue, booking_id, .. } => {
                let done = app.set_booking_status(*booking_id, BookingStatus::Completed, at).await?;
                self.interact(user, *venue, InteractionType::Visit, done.booking.duration_minutes * 60, at).await?;
                (true, Effect::None)
            }
            Action::IgnoreRecommendations { .. } => (false, Effect::None),
        };
        Ok(Some(out))
    }

    /// The idempotency key of a booking attempt: the run and the maker's handle.
    fn key(&self, booking: Handle) -> String {
        format!("sim-{}-{}.{}", self.run_id.simple(), booking.owner, booking.seq)
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

    /// A refusal's alternatives in world terms (venues created after the run started are left
    /// out).
    fn proposed(&self, alternatives: &Alternatives) -> Effect {
        let times = alternatives.times.iter().map(|t| t.booking_time).collect();
        let venues = alternatives
            .venues
            .iter()
            .filter_map(|v| Some((*self.world.venue_index.get(&v.venue_id)?, v.booking_time)))
            .collect();
        Effect::Proposed { times, venues }
    }

    /// World indices of venue ids (venues created after the run started are left out).
    fn indices(&self, ids: impl Iterator<Item = Id>) -> Vec<u32> {
        ids.filter_map(|id| self.world.venue_index.get(&id).copied()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::action::Handle;

    /// An app on a new SQLite database with one user per handle, living in the same spot.
    async fn app_with<const N: usize>(handles: [&str; N]) -> (testdb::TestDatabase, App, [domain::User; N]) {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.unwrap(), crate::AppSettings::default());
        let mut users = Vec::with_capacity(N);
        for h in handles {
            let json = serde_json::json!({"handle": h, "name": h, "home_lat": 40.73, "home_lng": -73.99});
            users.push(app.create_user(serde_json::from_value(json).unwrap()).await.unwrap());
        }
        let users = users.try_into().unwrap_or_else(|_| unreachable!("one user per handle"));
        (db, app, users)
    }

    /// An invitee answering a plan that was called off meanwhile (here by its organizer; the
    /// janitor does so once a plan's time has come) is refused by the world, not a failure.
    #[tokio::test]
    async fn an_answer_to_a_plan_called_off_meanwhile_is_refused_not_failed() {
        let (_db, app, [host, guest]) = app_with(["host", "guest"]).await;
        let bar = serde_json::json!({"name": "Called Off", "category": "bar", "lat": 40.73, "lng": -73.99});
        let bar = app.create_venue(serde_json::from_value(bar).unwrap()).await.unwrap();
        let now = chrono::Utc::now();
        let start = chrono::DurationRound::duration_trunc(now + chrono::Duration::days(2), chrono::Duration::hours(1));
        let input = PlanInput {
            organizer_id: host.id,
            venue_id: bar.id,
            start_time: start.unwrap(),
            party_size: None,
            participant_ids: vec![guest.id],
        };
        let plan = app.create_plan(input, now).await.unwrap();
        app.cancel_plan(plan.id).await.unwrap();

        let world = crate::sim::load::load_world(&app, 100).await.unwrap();
        let departed = Departed::default();
        let executor = Executor { app: &app, world: &world, run_id: domain::new_id(), departed: &departed };
        let who = world.users.iter().position(|u| u.id == guest.id).expect("the guest is in the world") as u32;
        for accept in [true, false] {
            let answer = Action::AnswerInvitation { plan: Handle { owner: 0, seq: 0 }, accept, plan_id: Some(plan.id) };
            let (outcome, _) = executor.execute(who, now, &answer).await;
            assert!(matches!(outcome, Outcome::Refused { full: false, .. }), "accept {accept}: {outcome:?}");
        }
    }

    /// A user asking again someone who declined them lately (in a run before this one: a run
    /// asks each person once) waits out the cool-down: refused by the world, not a failure.
    #[tokio::test]
    async fn a_friend_request_to_someone_who_declined_lately_is_refused_not_failed() {
        let (_db, app, [ann, bob]) = app_with(["ann", "bob"]).await;
        let request = app.send_friend_request(ann.id, bob.id).await.unwrap();
        app.answer_friend_request(request.id, bob.id, false).await.unwrap();

        let world = crate::sim::load::load_world(&app, 100).await.unwrap();
        let departed = Departed::default();
        let executor = Executor { app: &app, world: &world, run_id: domain::new_id(), departed: &departed };
        let index = |id| world.users.iter().position(|u| u.id == id).expect("in the world") as u32;
        let ask = Action::SendFriendRequest { to: index(bob.id) };
        let (outcome, _) = executor.execute(index(ann.id), chrono::Utc::now(), &ask).await;
        assert!(matches!(outcome, Outcome::Refused { full: false, .. }), "{outcome:?}");
    }
}
