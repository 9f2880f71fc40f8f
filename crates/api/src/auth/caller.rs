//! [`Caller`]: who is making a request, and `act_as`, the one check every user rule reduces to.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credential.
    Anonymous,
    /// No credential, on a `--dev` server bound to loopback: may act as any user.
    DevAnyone,
    /// A user, by a valid access token.
    User(Uuid),
    /// The admin credential: may act as anyone.
    Admin,
}

impl Caller {
    /// Allowed to act as `user`: the user themself, the admin, or anyone under `--dev`.
    /// 401 without a credential, 403 for another user.
    pub fn act_as(self, user: Uuid) -> Result<(), ApiError> {
        match self {
            Caller::Admin | Caller::DevAnyone => Ok(()),
            Caller::User(me) if me == user => Ok(()),
            Caller::User(_) => Err(ApiError::Forbidden("you may not act for another user".into())),
            Caller::Anonymous => Err(ApiError::unauthorized()),
        }
    }

    /// Any credential (or `--dev`); 401 otherwise.
    pub fn signed_in(self) -> Result<(), ApiError> {
        match self {
            Caller::Anonymous => Err(ApiError::unauthorized()),
            _ => Ok(()),
        }
    }

    /// The admin credential: 401 without a credential, 403 with a user's.
    pub fn admin(self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::User(_) => Err(ApiError::Forbidden("this needs the admin credential".into())),
            Caller::Anonymous | Caller::DevAnyone => {
                Err(ApiError::Unauthorized("this needs the admin credential".into()))
            }
        }
    }

    /// Allowed to act for every user at once (a list across users): the admin, or anyone
    /// under `--dev`. 401 without a credential, 403 for a user.
    pub fn act_for_everyone(self) -> Result<(), ApiError> {
        match self {
            Caller::Admin | Caller::DevAnyone => Ok(()),
            Caller::User(_) => Err(ApiError::Forbidden("this lists every user's data: name yourself".into())),
            Caller::Anonymous => Err(ApiError::unauthorized()),
        }
    }

    /// Whether the caller may see `user`'s private fields.
    pub fn sees_private_fields_of(self, user: Uuid) -> bool {
        match self {
            Caller::Admin | Caller::DevAnyone => true,
            Caller::User(me) => me == user,
            Caller::Anonymous => false,
        }
    }
}

/// The caller the auth middleware resolved (anonymous if it did not run).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().copied().unwrap_or(Caller::Anonymous))
    }
}
