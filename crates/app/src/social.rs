//! Social use cases: friend requests (send, accept, decline, list), friends and unfriending.
//! A friendship is born only from an accepted request; the store creates both edges in the
//! same transaction as the answer.

use domain::{DomainEvent, FriendRequest, Id, Page, PageRequest, UserId, ValidationError};
use store::{Friend, RequestDirection};

use crate::error::InBody;
use crate::{App, AppResult};

impl App {
    /// Sends a friend request. `Invalid` to oneself, `NotFound` for an unknown sender,
    /// `Invalid` naming `to_user_id` for an unknown addressee, `Conflict` (naming `to_user_id`)
    /// if already friends, a request is pending between the two, or `to` declined a request of
    /// `from` less than [`domain::social::DECLINED_REQUEST_COOLDOWN_DAYS`] ago.
    #[tracing::instrument(skip_all, fields(%from, %to), err(level = "debug"))]
    pub async fn send_friend_request(&self, from: UserId, to: UserId) -> AppResult<FriendRequest> {
        if from == to {
            return Err(ValidationError::field("to_user_id", "cannot send a friend request to yourself").into());
        }
        self.store.get_user(from).await?;
        let request = self.store.send_friend_request(from, to).await.in_body(&[("user", "to_user_id")])?;
        self.wrote();
        Ok(request)
    }

    /// Accepts (creating the friendship) or declines a pending request addressed to `to`.
    #[tracing::instrument(skip_all, fields(%request_id, %to, accept), err(level = "debug"))]
    pub async fn answer_friend_request(&self, request_id: Id, to: UserId, accept: bool) -> AppResult<FriendRequest> {
        let written = self.store.answer_friend_request(request_id, to, accept).await?;
        self.wrote();
        let request = written.value;
        let users = [request.from_user_id, request.to_user_id];
        self.apply_to_known_users(&users, DomainEvent::FriendRequestAnswered(request.clone()), Some(written.event_id));
        Ok(request)
    }

    /// A page of a user's pending friend requests in one direction, or both when `None`, by id
    /// (oldest first) across pages, both directions merged. `NotFound` for an unknown user.
    #[tracing::instrument(skip_all, fields(%user_id, ?direction, limit = page.limit), err(level = "debug"))]
    pub async fn list_friend_requests(
        &self,
        user_id: UserId,
        direction: Option<RequestDirection>,
        page: PageRequest,
    ) -> AppResult<Page<FriendRequest>> {
        self.store.get_user(user_id).await?;
        Ok(self.store.list_friend_requests(user_id, direction, page).await?)
    }

    /// The user's friends and other connections. `NotFound` for an unknown user.
    #[tracing::instrument(skip_all, fields(%user_id, limit = page.limit), err(level = "debug"))]
    pub async fn list_friends(&self, user_id: UserId, page: PageRequest) -> AppResult<Page<Friend>> {
        self.store.get_user(user_id).await?;
        Ok(self.store.list_friends(user_id, page).await?)
    }

    /// Ends a friendship both ways. `NotFound` if the two were not connected.
    #[tracing::instrument(skip_all, fields(%user_id, %other), err(level = "debug"))]
    pub async fn remove_friend(&self, user_id: UserId, other: UserId) -> AppResult<()> {
        let written = self.store.remove_friend(user_id, other).await?;
        self.wrote();
        let event = DomainEvent::FriendRemoved { user_id, other_user_id: other };
        self.apply_to_known_users(&[user_id, other], event, Some(written.event_id));
        Ok(())
    }
}
