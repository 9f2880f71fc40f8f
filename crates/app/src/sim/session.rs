//! One app session of one simulated user: why they opened the app (the persona's session mix
//! under the scenario's surge), then what they do step by step, each step an action run
//! through the executor. Decisions draw from the session's own generator and read only the
//! world, the user's own state and the results of their own calls, so sessions of a tick can
//! run concurrently and still decide the same things. Contended actions (a friend request, a
//! booking) are decided here and run after the tick, in user order.

use domain::{Category, Id, InteractionType, Timestamp};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use synth::personas::{PROFILES, PersonaProfile};

use super::action::{Action, Handle};
use super::behaviour::{Intent, REACTIONS, Reactions};
use super::executor::{Effect, Executor};
use super::metrics::Metrics;
use super::scenario::{LocalTime, Surge};
use super::world::{SimUser, World, pick_weighted};

/// How much attention each position of a recommendation list gets (people read the top).
const ATTENTION: [f64; 5] = [1.0, 0.7, 0.5, 0.35, 0.25];

/// Times drawn for a plan before the venue, closed at each, is given up on.
const PLAN_TIME_TRIES: usize = 6;

/// Something waiting for a user's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum InboxItem {
    FriendRequest { from: u32, request: Id },
    Invitation { plan: Handle, plan_id: Id },
}

/// What the simulator remembers of a user between sessions.
#[derive(Debug, Clone, Default)]
pub struct UserState {
    pub inbox: Vec<InboxItem>,
    /// Users they sent a friend request to or got one from (pending or answered).
    pub requested: Vec<u32>,
    /// Next sequence number of their plans and bookings.
    pub next_seq: u32,
}

/// Where and when a session happens.
#[derive(Debug, Clone, Copy)]
pub struct SessionAt {
    pub user: u32,
    pub at: Timestamp,
    pub local: LocalTime,
    pub surge: &'static Surge,
}

/// What a session decided and what it leaves behind.
#[derive(Debug)]
pub struct SessionOutput {
    pub user: u32,
    /// Every decided action, in order (contended ones included).
    pub log: Vec<Action>,
    /// Contended actions to run after the tick.
    pub deferred: Vec<Action>,
    /// Actions whose effect the runner applies (a created plan invites people).
    pub effects: Vec<(Action, Effect)>,
    pub state: UserState,
}

/// A session in progress.
pub struct Session<'a> {
    exec: &'a Executor<'a>,
    metrics: &'a Metrics,
    world: &'a World,
    user: &'a SimUser,
    profile: &'static PersonaProfile,
    reactions: &'static Reactions,
    when: SessionAt,
    rng: ChaCha8Rng,
    out: SessionOutput,
}

impl<'a> Session<'a> {
    pub fn new(
        exec: &'a Executor<'a>,
        metrics: &'a Metrics,
        when: SessionAt,
        state: UserState,
        rng: ChaCha8Rng,
    ) -> Self {
        let world = exec.world;
        let user = &world.users[when.user as usize];
        let out = SessionOutput { user: when.user, log: vec![], deferred: vec![], effects: vec![], state };
        Self {
            exec,
            metrics,
            world,
            user,
            profile: &PROFILES[user.persona],
            reactions: &REACTIONS[user.persona],
            when,
            rng,
            out,
        }
    }

    /// Runs the session to its end.
    pub async fn run(mut self) -> SessionOutput {
        self.metrics.session();
        if !self.out.state.inbox.is_empty() && self.rng.random_bool(self.reactions.answer_inbox) {
            self.answer_one().await;
        }
        let base = Intent::weights(&self.profile.app);
        let weights: Vec<f64> = base.iter().zip(self.when.surge.intents).map(|(w, m)| w * m).collect();
        match pick_weighted(&weights, &mut self.rng).map(|i| Intent::ALL[i]) {
            Some(Intent::Browse) | None => self.browse().await,
            Some(Intent::Search) => self.search().await,
            Some(Intent::AskRecommendations) => self.ask_recommendations().await,
            Some(Intent::CheckFriends) => self.check_friends().await,
            Some(Intent::ExpressInterest) => {
                if let Some(v) = self.choose_venue(12) {
                    self.express_interest(v).await;
                }
            }
            Some(Intent::InviteFriends) => self.invite_friends().await,
            Some(Intent::RespondInvitation) if !self.out.state.inbox.is_empty() => self.answer_one().await,
            Some(Intent::RespondInvitation) => self.check_friends().await,
            Some(Intent::Book) => self.book(None).await,
        }
        self.out
    }

    /// Runs (or defers, when contended) one action and returns its effect.
    async fn act(&mut self, action: Action) -> Effect {
        self.out.log.push(action.clone());
        if action.is_contended() {
            self.out.deferred.push(action);
            return Effect::None;
        }
        let (_, effect) =
            self.exec.execute_counted(self.metrics, self.when.user, self.when.at, self.when.local.hour, &action).await;
        if matches!(effect, Effect::Plan(_) | Effect::Booking(_)) {
            self.out.effects.push((action, effect.clone()));
        }
        effect
    }

    /// Picks a venue the user would consider now, by appeal among `k` candidates.
    fn choose_venue(&mut self, k: usize) -> Option<u32> {
        let cands = self.world.candidates(self.user, self.when.surge, &mut self.rng, k);
        let weights: Vec<f64> = cands.iter().map(|c| c.1).collect();
        pick_weighted(&weights, &mut self.rng).map(|i| cands[i].0)
    }

    /// A look at a venue's page, perhaps followed by a like, a save or a walk-in.
    async fn view(&mut self, v: u32) {
        let dwell = self.rng.random_range(10..300);
        self.act(Action::Interact { venue: v, kind: InteractionType::View, dwell }).await;
        let r = self.reactions;
        if self.rng.random_bool(r.like_after_view) {
            self.act(Action::Interact { venue: v, kind: InteractionType::Like, dwell: 0 }).await;
        }
        if self.rng.random_bool(r.save_after_view) {
            self.act(Action::Interact { venue: v, kind: InteractionType::Save, dwell: 0 }).await;
        }
        if self.world.venues[v as usize].is_open_at(self.when.at) && self.rng.random_bool(r.walk_in) {
            let dwell = self.rng.random_range(1800..7200);
            self.act(Action::Interact { venue: v, kind: InteractionType::Visit, dwell }).await;
        }
    }

    async fn browse(&mut self) {
        let (lo, hi) = self.reactions.views_per_browse;
        for _ in 0..self.rng.random_range(lo..=hi) {
            if let Some(v) = self.choose_venue(16) {
                self.view(v).await;
            }
        }
    }

    async fn search(&mut self) {
        let bias: Vec<f64> =
            self.profile.category_bias.iter().zip(self.when.surge.category).map(|(b, m)| b * m).collect();
        let category = pick_weighted(&bias, &mut self.rng).map(|c| Category::ALL[c]);
        let price_max = (self.user.price_ideal + self.when.surge.price_shift + 0.5).round().clamp(1.0, 4.0) as i16;
        let radius_km = (self.profile.distance_km * 2.0).clamp(1.0, 30.0) as u8;
        let found = self.act(Action::Search { category, price_max: Some(price_max), radius_km }).await;
        let Effect::Venues(list) = found else { return };
        let weights: Vec<f64> =
            list.iter().take(10).map(|&v| self.world.appeal(self.user, v, self.when.surge)).collect();
        if let Some(i) = pick_weighted(&weights, &mut self.rng) {
            self.act(Action::Interact { venue: list[i], kind: InteractionType::Search, dwell: 0 }).await;
            self.view(list[i]).await;
        }
    }

    /// Asks for recommendations and reacts. They look down the list with a position bias
    /// ([`ATTENTION`]); how well a venue fits them is its appeal against the best venue they
    /// would have found themselves. They click with the persona's `accept_recommendation`
    /// times the best fit they saw (on a venue drawn by fit and position), then may act on it.
    /// A better recommender shows better-fitting venues, so it gets more clicks and conversions.
    async fn ask_recommendations(&mut self) {
        let Effect::Venues(shown) = self.act(Action::AskRecommendations { limit: 10 }).await else { return };
        self.metrics.shown(shown.len());
        let own = self.world.candidates(self.user, self.when.surge, &mut self.rng, 12);
        let reference = own.iter().map(|c| c.1).fold(1e-9, f64::max);
        let seen: Vec<(u32, f64)> = shown
            .iter()
            .zip(ATTENTION)
            .map(|(&v, attention)| {
                (v, attention * (self.world.appeal(self.user, v, self.when.surge) / reference).min(1.0))
            })
            .collect();
        let best = seen.iter().map(|s| s.1).fold(0.0, f64::max);
        let weights: Vec<f64> = seen.iter().map(|s| s.1).collect();
        let click = self.rng.random_bool((self.profile.app.accept_recommendation * best).clamp(0.0, 1.0));
        let Some(rank) = pick_weighted(&weights, &mut self.rng).filter(|_| click) else {
            self.act(Action::IgnoreRecommendations { shown: shown.len() as u8 }).await;
            return;
        };
        let (v, fit) = seen[rank];
        self.act(Action::ClickRecommendation { venue: v, rank: rank as u8 }).await;
        if self.rng.random_bool((self.reactions.convert_after_click * fit).clamp(0.0, 1.0)) {
            self.metrics.converted();
            if self.rng.random_bool(self.reactions.book_on_convert) {
                self.book(Some(v)).await;
            } else {
                self.express_interest(v).await;
            }
        }
    }

    async fn check_friends(&mut self) {
        self.act(Action::ListFriends).await;
        let p = (self.reactions.send_friend_request * self.user.openness).clamp(0.0, 1.0);
        if self.rng.random_bool(p)
            && let Some(to) = self.friend_of_a_friend()
        {
            self.out.state.requested.push(to);
            self.act(Action::SendFriendRequest { to }).await;
        }
    }

    /// Someone a friend knows who is not yet a friend, not asked yet and not asking them.
    fn friend_of_a_friend(&mut self) -> Option<u32> {
        let friends = &self.user.friends;
        let weights: Vec<f64> = friends.iter().map(|f| f64::from(f.1)).collect();
        let via = friends.get(pick_weighted(&weights, &mut self.rng)?)?.0;
        let me = self.when.user;
        let state = &self.out.state;
        let options: Vec<u32> = self.world.users[via as usize]
            .friends
            .iter()
            .map(|f| f.0)
            .filter(|&c| c != me && !friends.iter().any(|f| f.0 == c) && !state.requested.contains(&c))
            .filter(|&c| !self.exec.departed.contains(c))
            .collect();
        (!options.is_empty()).then(|| options[self.rng.random_range(0..options.len())])
    }

    /// A time `lead_hours` ahead, on a quarter hour.
    fn ahead(&mut self) -> Timestamp {
        let (lo, hi) = self.reactions.lead_hours;
        let minutes = self.rng.random_range(i64::from(lo) * 60..=i64::from(hi.max(lo)) * 60 + 30);
        let t = self.when.at + chrono::Duration::minutes(minutes);
        t - chrono::Duration::seconds(t.timestamp().rem_euclid(900))
    }

    async fn express_interest(&mut self, v: u32) {
        let at = self.ahead();
        self.act(Action::ExpressInterest { venue: v, at }).await;
        self.act(Action::Interact { venue: v, kind: InteractionType::Interest, dwell: 0 }).await;
    }

    fn party(&self) -> u8 {
        (self.user.group_size + self.when.surge.party_bonus).clamp(1, 12)
    }

    fn handle(&mut self) -> Handle {
        self.out.state.next_seq += 1;
        Handle { owner: self.when.user, seq: self.out.state.next_seq }
    }

    /// Proposes a plan to the user's friends (strongest ties more likely).
    async fn invite_friends(&mut self) {
        if self.user.friends.is_empty() {
            return self.check_friends().await;
        }
        let Some(venue) = self.choose_venue(16) else { return };
        // Friends who left the run (were deleted) are invited no more.
        let departed = self.exec.departed;
        let mut pool: Vec<(u32, f64)> =
            self.user.friends.iter().filter(|f| !departed.contains(f.0)).map(|f| (f.0, f64::from(f.1))).collect();
        let mut invitees = Vec::new();
        while invitees.len() + 1 < usize::from(self.party().max(2)) && !pool.is_empty() {
            let weights: Vec<f64> = pool.iter().map(|p| p.1).collect();
            let Some(i) = pick_weighted(&weights, &mut self.rng) else { break };
            invitees.push(pool.swap_remove(i).0);
        }
        // A time the venue is open for a meal, as people look up the hours before proposing
        // one (a few tries; a venue rarely open then is given up on).
        let sit = self.exec.app.settings.booking.last_seating_minutes;
        let world = self.world;
        let Some(at) =
            (0..PLAN_TIME_TRIES).map(|_| self.ahead()).find(|&t| world.venues[venue as usize].is_open_for(t, sit))
        else {
            return;
        };
        let plan = self.handle();
        self.act(Action::CreatePlan { plan, venue, at, invitees }).await;
    }

    /// Answers the oldest pending friend request or invitation.
    async fn answer_one(&mut self) {
        if self.out.state.inbox.is_empty() {
            return;
        }
        match self.out.state.inbox.remove(0) {
            InboxItem::FriendRequest { from, request } => {
                // Answered either way, they never ask in turn: `requested` holds `from` since
                // the request was delivered.
                let accept = self.rng.random_bool(self.reactions.accept_friend_request);
                self.act(Action::AnswerFriendRequest { from, accept, request }).await;
            }
            InboxItem::Invitation { plan, plan_id } => {
                let accept = self.rng.random_bool(self.profile.app.accept_invitation);
                self.act(Action::AnswerInvitation { plan, accept, plan_id: Some(plan_id) }).await;
            }
        }
    }

    /// Books a table at `venue` (or one they choose, open at the time) soon.
    async fn book(&mut self, venue: Option<u32>) {
        let minutes = self.rng.random_range(30..=240);
        let t = self.when.at + chrono::Duration::minutes(minutes);
        let at = t + chrono::Duration::seconds((900 - t.timestamp().rem_euclid(900)) % 900);
        let venue = match venue {
            Some(v) => v,
            None => {
                let cands = self.world.candidates(self.user, self.when.surge, &mut self.rng, 16);
                let open = |v: u32| self.world.venues[v as usize].is_open_at(at);
                let weights: Vec<f64> = cands.iter().map(|c| if open(c.0) { c.1 } else { c.1 * 0.01 }).collect();
                let Some(i) = pick_weighted(&weights, &mut self.rng) else { return };
                cands[i].0
            }
        };
        let (booking, party) = (self.handle(), self.party());
        self.act(Action::Book { booking, venue, at, party }).await;
    }
}
