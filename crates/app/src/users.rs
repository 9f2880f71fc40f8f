//! User use cases: sign-up, profile reads and edits, deletion, and a user's preferences.
//! Input arrives as the domain's `*Input` wire types and is parsed here, so the store only
//! ever sees values that passed validation.

use domain::user::{PreferencesInput, UserInput, UserPatchInput};
use domain::{NewUser, Page, PageRequest, User, UserId, UserPatch, UserPreferences};
use store::UserQuery;

use crate::{App, AppResult};

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

    /// Users in id order, optionally filtered by handle prefix (case-insensitive) and persona.
    #[tracing::instrument(skip_all, fields(limit = page.limit), err(level = "debug"))]
    pub async fn list_users(&self, mut query: UserQuery, page: PageRequest) -> AppResult<Page<User>> {
        query.handle_prefix = query.handle_prefix.map(|h| h.trim().to_lowercase()).filter(|h| !h.is_empty());
        Ok(self.store.list_users(&query, page).await?)
    }

    /// Applies a partial update. `Conflict` when the new handle or email is taken.
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn update_user(&self, id: UserId, input: UserPatchInput) -> AppResult<User> {
        let patch = UserPatch::parse(input)?;
        let user = self.store.update_user(id, patch).await?;
        self.wrote();
        Ok(user)
    }

    /// Deletes the user and everything that hangs off it, cancelling first what others count
    /// on (their upcoming bookings and the plans they organise, with events; see
    /// `Store::delete_user`).
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn delete_user(&self, id: UserId) -> AppResult<()> {
        let cancelled = self.store.delete_user(id, self.now()).await?;
        self.wrote();
        // After the commit: a location sent from now on is written, and so refused.
        self.location_writes.forget(id);
        // Tables an outside provider holds are given back there too.
        for b in &cancelled {
            self.booking.give_back(b).await;
        }
        Ok(())
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
        let prefs = self.store.put_preferences(id, prefs).await?;
        self.wrote();
        Ok(prefs)
    }
}
