//! User use cases: sign-up, profile reads and edits, deletion, and a user's preferences.
//! Input arrives as the domain's `*Input` wire types and is parsed here, so the store only
//! ever sees values that passed validation.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::user::{PreferencesInput, UserInput, UserPatchInput};
use domain::{DomainEvent, NewUser, Page, PageRequest, User, UserId, UserPatch, UserPreferences};
use store::{StoreError, UserQuery};

use crate::{App, AppResult};

/// How long this server remembers a user it deleted: the life of an access token (15 minutes)
/// and a minute more, so a token issued just before the deletion is refused here for all its
/// life even if this server's engine never hears of the deletion (a follower down that long).
/// The engine usually applies it within milliseconds.
pub const DELETED_MEMORY: Duration = Duration::from_secs(16 * 60);
/// Deletions remembered at most (memory bound); beyond it the oldest are forgotten first.
const DELETED_CAP: usize = 10_000;

/// The users this server deleted in the last [`DELETED_MEMORY`]: until the engine applies a
/// deletion it still holds the user, and [`App::user_exists`] must not believe it. Asked on
/// every request with a user token, so a lookup is a hash probe, not a scan.
#[derive(Debug, Default)]
pub struct RecentlyDeleted {
    deleted: Mutex<Deletions>,
}

/// When each remembered user was deleted, and the same oldest first (for forgetting).
#[derive(Debug, Default)]
struct Deletions {
    at: HashMap<UserId, Instant>,
    order: VecDeque<(Instant, UserId)>,
}

impl RecentlyDeleted {
    fn lock(&self) -> std::sync::MutexGuard<'_, Deletions> {
        self.deleted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers that `id` was deleted at `now`, forgetting what is too old or too many.
    pub fn remember(&self, id: UserId, now: Instant) {
        let mut d = self.lock();
        while let Some(&(at, old)) = d.order.front() {
            if now.saturating_duration_since(at) < DELETED_MEMORY && d.order.len() < DELETED_CAP {
                break;
            }
            d.order.pop_front();
            // A user remembered again later keeps their later time.
            if d.at.get(&old) == Some(&at) {
                d.at.remove(&old);
            }
        }
        d.order.push_back((now, id));
        d.at.insert(id, now);
    }

    /// Whether `id` was deleted here within [`DELETED_MEMORY`] of `now`.
    pub fn contains(&self, id: UserId, now: Instant) -> bool {
        self.lock().at.get(&id).is_some_and(|at| now.saturating_duration_since(*at) < DELETED_MEMORY)
    }

    /// Deletions remembered.
    pub fn len(&self) -> usize {
        self.lock().at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl App {
    /// Creates a user (and its preferences and password hash when given, in one transaction).
    /// `Conflict` on a taken handle or email.
    #[tracing::instrument(skip_all, fields(handle = %input.handle), err(level = "debug"))]
    pub async fn create_user(&self, input: UserInput) -> AppResult<User> {
        let password = input.password.clone();
        let mut new = NewUser::parse(input)?;
        if let Some(password) = password {
            new.password_hash = Some(crate::auth::hash_password(password).await?);
        }
        let user = self.store.create_user(new).await?;
        self.wrote();
        Ok(user)
    }

    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_user(&self, id: UserId) -> AppResult<User> {
        Ok(self.store.get_user(id).await?)
    }

    /// Of `ids`, the users that exist, in the order asked, each once; ids of no user (never
    /// one, or deleted) are left out. One store query (per thousand distinct ids).
    #[tracing::instrument(skip_all, fields(n = ids.len()), err(level = "debug"))]
    pub async fn users_by_ids(&self, ids: &[UserId]) -> AppResult<Vec<User>> {
        Ok(self.store.users_by_ids(ids).await?)
    }

    /// Users in id order, optionally filtered by handle prefix (case-insensitive) and persona.
    /// `Invalid` (field `handle`) for a prefix holding control characters.
    #[tracing::instrument(skip_all, fields(limit = page.limit), err(level = "debug"))]
    pub async fn list_users(&self, mut query: UserQuery, page: PageRequest) -> AppResult<Page<User>> {
        let mut c = domain::error::Checker::new();
        let prefix = c.opt_text("handle", query.handle_prefix.as_deref(), 100);
        c.finish(())?;
        query.handle_prefix = prefix.map(|h| h.to_lowercase());
        Ok(self.store.list_users(&query, page).await?)
    }

    /// Applies a partial update. `Conflict` when the new handle or email is taken.
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn update_user(&self, id: UserId, input: UserPatchInput) -> AppResult<User> {
        let patch = UserPatch::parse(input)?;
        let written = self.store.update_user(id, patch).await?;
        self.wrote();
        self.apply_to_known_users(&[id], DomainEvent::UserUpdated(written.value.clone()), Some(written.event_id));
        Ok(written.value)
    }

    /// Applies what a write on this server just committed about users `ids` to this server's
    /// engine at once, so the next request here sees it (a new home measured from, new stated
    /// preferences, a new or ended friendship), as [`App::apply_written`] does for interests:
    /// without it, the engine answered from the old state until the follower brought the event,
    /// a moment later (seconds on PostgreSQL and Redis), and changes nothing then. When the
    /// engine does not hold one of them (or they were deleted here a moment ago) it is left
    /// alone: a user is read from the store when first asked for.
    ///
    /// `event_id` is the outbox id the store recorded the event under, the follower's source id
    /// for it ([`store::Written`]): applied under it, the event is applied once, by whichever
    /// comes first. The follower may come first, having heard of this write and of a newer one
    /// of the same row from another server between this commit and this call; this server's
    /// older version applied after them would have stood until the row's next change.
    pub(crate) fn apply_to_known_users(&self, ids: &[UserId], event: DomainEvent, event_id: Option<domain::Id>) {
        let now = Instant::now();
        let engine = self.engine();
        if ids.iter().all(|&id| engine.has_user(id) && !self.deleted_users.contains(id, now)) {
            self.engine.apply(event, self.now(), event_id);
        }
    }

    /// Deletes the user and everything that hangs off it, cancelling first what others count
    /// on (their upcoming bookings and the plans they organise, with events; see
    /// `Store::delete_user`).
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn delete_user(&self, id: UserId) -> AppResult<()> {
        // Remembered first, so no request in between is answered from the engine; should the
        // deletion fail, the store answers that the user is still there.
        self.deleted_users.remember(id, Instant::now());
        let cancelled = self.store.delete_user(id, self.now()).await?;
        self.wrote();
        // Gone from this server's engine at once, as from the store: the follower's copy of the
        // event comes a moment later (and changes nothing), and until then the engine still
        // answered for the user (venues and people for them: a 200 for a deleted user).
        self.engine.apply(DomainEvent::UserDeleted { user_id: id }, self.now(), None);
        // After the commit: a location sent from now on is written, and so refused.
        self.location_writes.forget(id);
        // A running simulation drops them (no receiver, no simulation: no error).
        let _ = self.user_deletions.send(id);
        // Tables an outside provider holds are given back there too.
        for b in &cancelled {
            self.booking.give_back(b).await;
        }
        Ok(())
    }

    /// Whether the user still exists, as every request with their access token asks: the
    /// engine's in-memory snapshot answers for the users it holds (no database round trip); a
    /// user it does not hold (created a moment ago and not applied yet, or deleted) or one this
    /// server deleted a moment ago (the engine may not have applied that yet) is looked up in the
    /// store. Another server's deletion is seen once this server's engine applies it.
    #[tracing::instrument(level = "trace", skip_all, fields(%id), err(level = "debug"))]
    pub async fn user_exists(&self, id: UserId) -> AppResult<bool> {
        if self.engine().has_user(id) && !self.deleted_users.contains(id, Instant::now()) {
            return Ok(true);
        }
        match self.store.get_user(id).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's preferences, or the defaults when none were set.
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_preferences(&self, id: UserId) -> AppResult<UserPreferences> {
        Ok(self.store.get_preferences(id).await?)
    }

    /// Replaces the user's preferences; omitted fields take their defaults.
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn put_preferences(&self, id: UserId, input: PreferencesInput) -> AppResult<UserPreferences> {
        let prefs = UserPreferences::parse(input, "")?;
        let written = self.store.put_preferences(id, prefs).await?;
        self.wrote();
        let event = DomainEvent::PreferencesUpdated { user_id: id, preferences: written.value.clone() };
        self.apply_to_known_users(&[id], event, Some(written.event_id));
        Ok(written.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_user_exists_until_deleted_here_even_before_the_engine_hears_of_either() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.unwrap(), crate::AppSettings::default());
        let input = |h: &str| serde_json::from_value(serde_json::json!({"handle": h, "name": h})).unwrap();
        let ann = app.create_user(input("ann")).await.unwrap();
        app.reload_engine().await.unwrap();
        assert!(app.engine().has_user(ann.id));
        // No follower: the engine hears of nothing written from here on.
        let ben = app.create_user(input("ben")).await.unwrap();
        assert!(!app.engine().has_user(ben.id));
        assert!(app.user_exists(ann.id).await.unwrap(), "from the engine");
        assert!(app.user_exists(ben.id).await.unwrap(), "created a moment ago: from the store");
        app.delete_user(ann.id).await.unwrap();
        assert!(!app.engine().has_user(ann.id), "a deletion made here is applied to this server's engine at once");
        assert!(!app.user_exists(ann.id).await.unwrap(), "deleted here a moment ago");
        assert!(!app.user_exists(uuid::Uuid::now_v7()).await.unwrap(), "nobody");
    }

    /// The follower may hear of a write made here, and of a newer one of the same user made on
    /// another server, before this server's own apply of its write: that apply, coming last,
    /// must not put the older version back (it is skipped by the write's outbox id).
    #[tokio::test]
    async fn a_write_the_follower_applied_first_is_not_applied_again_over_a_newer_one() {
        let db = testdb::TestDatabase::create(testdb::Backend::Sqlite).await.expect("sqlite");
        let app = App::new(store::connect(&db.url).await.unwrap(), crate::AppSettings::default());
        let input = serde_json::json!({"handle": "mover", "name": "Mover", "home_lat": 40.70, "home_lng": -73.99});
        let user = app.create_user(serde_json::from_value(input).unwrap()).await.unwrap();
        app.reload_engine().await.unwrap();
        let home = |lat: f64| UserPatch { home: Some(Some((lat, -73.99))), ..UserPatch::default() };
        let origin = || async {
            let q = engine::VenueQuery::new(user.id, 10, engine::Ranker::Default);
            app.recommend_venues_in_context(q).await.unwrap().1.origin.expect("a home").lat
        };

        // This server's write commits, and another server's newer one after it; the follower
        // applies both, in that order, before this server's task resumes to apply its own.
        let ours = app.store.update_user(user.id, home(40.75)).await.unwrap();
        let theirs = app.store.update_user(user.id, home(40.80)).await.unwrap();
        for w in [&ours, &theirs] {
            app.engine.apply(DomainEvent::UserUpdated(w.value.clone()), app.now(), Some(w.event_id));
        }
        assert_eq!(origin().await, 40.80);
        app.apply_to_known_users(&[user.id], DomainEvent::UserUpdated(ours.value.clone()), Some(ours.event_id));
        assert_eq!(origin().await, 40.80, "the older version was put back over the newer one");
    }

    #[test]
    fn deletions_are_remembered_for_a_token_life_and_at_most_the_cap() {
        assert!(DELETED_MEMORY > Duration::from_secs(15 * 60), "longer than an access token lives");
        let deleted = RecentlyDeleted::default();
        let (ann, ben) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let t0 = Instant::now();
        deleted.remember(ann, t0);
        assert!(deleted.contains(ann, t0 + Duration::from_secs(15 * 60)));
        assert!(!deleted.contains(ben, t0));
        assert!(!deleted.contains(ann, t0 + DELETED_MEMORY), "forgotten once the memory has passed");
        deleted.remember(ben, t0 + DELETED_MEMORY);
        assert_eq!(deleted.len(), 1, "the old entry was dropped");
        for _ in 0..DELETED_CAP + 5 {
            deleted.remember(uuid::Uuid::now_v7(), t0 + DELETED_MEMORY);
        }
        assert_eq!(deleted.len(), DELETED_CAP);
        assert!(!deleted.contains(ben, t0 + DELETED_MEMORY), "the oldest went first");
        // Remembered twice, a user is kept by the later time when the earlier one is dropped.
        let again = RecentlyDeleted::default();
        let (cal, dot) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        again.remember(cal, t0);
        again.remember(cal, t0 + Duration::from_secs(600));
        let later = t0 + DELETED_MEMORY + Duration::from_secs(1);
        again.remember(dot, later);
        assert!(again.contains(cal, later) && again.contains(dot, later));
        assert_eq!(again.len(), 2);
    }
}
