//! SQLite implementation of the [`Store`](crate::Store) trait.

#![allow(unused_variables)]

use async_trait::async_trait;
use domain::*;

use crate::*;

/// A store on sqlite.
pub struct SqliteStore {
    _private: (),
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Err(StoreError::Internal(format!("sqlite store not implemented yet ({url})")))
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    async fn ping(&self) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn migrate(&self) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn get_user_by_handle(&self, handle: &str) -> StoreResult<User> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn delete_user(&self, id: UserId) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn get_preferences(&self, id: UserId) -> StoreResult<UserPreferences> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn put_preferences(&self, id: UserId, prefs: UserPreferences) -> StoreResult<UserPreferences> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn create_venue(&self, new: NewVenue) -> StoreResult<Venue> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn get_venue(&self, id: VenueId) -> StoreResult<Venue> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn list_venues(&self, query: &VenueQuery, page: PageRequest) -> StoreResult<Page<Venue>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn update_venue(&self, id: VenueId, patch: VenuePatch) -> StoreResult<Venue> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn delete_venue(&self, id: VenueId) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn record_interaction(&self, new: NewInteraction) -> StoreResult<Interaction> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn list_user_interactions(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Interaction>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn send_friend_request(&self, from: UserId, to: UserId) -> StoreResult<FriendRequest> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn answer_friend_request(&self, request_id: Id, to: UserId, accept: bool) -> StoreResult<FriendRequest> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn list_friend_requests(&self, user_id: UserId, direction: RequestDirection) -> StoreResult<Vec<FriendRequest>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn list_friends(&self, user_id: UserId, page: PageRequest) -> StoreResult<Page<Friend>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn remove_friend(&self, user_id: UserId, other: UserId) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn express_interest(&self, user_id: UserId, venue_id: VenueId, preferred_time: Option<Timestamp>) -> StoreResult<VenueInterest> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn insert_batch(&self, batch: Batch) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn reset(&self) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn counts(&self) -> StoreResult<Counts> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn scan_users(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<(User, Option<UserPreferences>)>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn scan_venues(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Venue>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn scan_interactions(&self, after: Option<Id>, limit: u32) -> StoreResult<Vec<Interaction>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn scan_edges(&self, after: Option<(UserId, UserId)>, limit: u32) -> StoreResult<Vec<SocialEdge>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn record_event(&self, event: DomainEvent) -> StoreResult<Id> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn unpublished_events(&self, limit: u32) -> StoreResult<Vec<OutboxRecord>> {
        Err(StoreError::Internal("not implemented".into()))
    }
    async fn mark_published(&self, ids: &[Id]) -> StoreResult<()> {
        Err(StoreError::Internal("not implemented".into()))
    }
}
