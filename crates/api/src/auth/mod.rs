//! Authentication and authorization. A request's [`Caller`] is resolved from its
//! `Authorization: Bearer` header (the admin token, or a user's access token; on SSE streams
//! also `?access_token=`), and the route's rule in [`rules::RULES`] decides, in the middleware
//! [`enforce`], before the handler runs: 401 (`unauthorized`, with `WWW-Authenticate: Bearer`)
//! without a valid credential, 403 (`forbidden`) for a valid one that is not allowed.
//! Handlers that show private fields read the [`Caller`] the middleware leaves in the request.

mod caller;
mod enforce;
mod login_throttle;
pub mod rules;
pub(crate) mod security_doc;
pub mod token;
pub(crate) mod tokens;

use std::sync::Arc;

use tokio::sync::watch;

pub use caller::Caller;
pub(crate) use enforce::{AuthState, enforce};
pub use login_throttle::LoginThrottle;
pub use security_doc::security_markdown;
pub use token::{Claims, Signer, TokenError};

/// The URI as logs may show it: an `access_token` query parameter (SSE streams) is masked.
/// The token of an `Authorization` header value of the form `Bearer <token>` (either case of
/// `bearer`), trimmed.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

pub fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query().filter(|q| q.contains("access_token=")) else {
        return uri.to_string();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| if pair.starts_with("access_token=") { "access_token=****".to_string() } else { pair.to_string() })
        .collect();
    format!("{}?{}", uri.path(), masked.join("&"))
}

/// How long an access token lives by default.
pub const ACCESS_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// What the server checks credentials with.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

#[derive(Debug)]
struct AuthInner {
    signer: Signer,
    /// SHA-256 (hex) of the admin token; `None`: no admin credential, admin routes are closed.
    /// Replaced when `luna admin-token --rotate` stores a new one ([`follow_admin_token`]); open
    /// streams opened with the old one watch it ([`StreamCredential`]).
    admin_token_hash: watch::Sender<Option<String>>,
    /// `--dev` on loopback: a request without a token may act as any user.
    relax_user_auth: bool,
    access_ttl: chrono::Duration,
}

impl Default for Auth {
    /// A random signing key, no admin credential, user auth enforced.
    fn default() -> Self {
        Self::new(Signer::new(app::auth::random_token(32).into_bytes()), None)
    }
}

impl Auth {
    /// Checks tokens with `signer` and the admin token whose SHA-256 (hex) is `admin_token_hash`.
    pub fn new(signer: Signer, admin_token_hash: Option<String>) -> Self {
        Self {
            inner: Arc::new(AuthInner {
                signer,
                admin_token_hash: watch::Sender::new(admin_token_hash),
                relax_user_auth: false,
                access_ttl: ACCESS_TOKEN_TTL,
            }),
        }
    }

    /// `--dev` on loopback: requests without a token pass every user rule (never admin ones).
    pub fn relax_user_auth(self, relax: bool) -> Self {
        self.with(|i| i.relax_user_auth = relax)
    }

    /// Access tokens live this long.
    pub fn access_ttl(self, ttl: chrono::Duration) -> Self {
        self.with(|i| i.access_ttl = ttl)
    }

    fn with(self, f: impl FnOnce(&mut AuthInner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| AuthInner {
            signer: shared.signer.clone(),
            admin_token_hash: watch::Sender::new(shared.admin_token_hash.borrow().clone()),
            relax_user_auth: shared.relax_user_auth,
            access_ttl: shared.access_ttl,
        });
        f(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    pub fn relaxed(&self) -> bool {
        self.inner.relax_user_auth
    }

    pub fn ttl(&self) -> chrono::Duration {
        self.inner.access_ttl
    }

    /// Whether `token` is the admin token (compares SHA-256 digests, so timing reveals nothing
    /// about the token).
    pub fn is_admin_token(&self, token: &str) -> bool {
        let hash = app::auth::token_hash(token);
        self.inner.admin_token_hash.borrow().as_deref() == Some(hash.as_str())
    }

    /// What a stream opened by `caller` with `token` watches to learn that its credential was
    /// retired: the admin token is, by a rotation; a user's access token, when it expires.
    pub(crate) fn stream_credential(&self, caller: Caller, token: Option<&str>) -> StreamCredential {
        match (caller, token) {
            (Caller::Admin, Some(token)) => StreamCredential {
                admin: Some((app::auth::token_hash(token), self.inner.admin_token_hash.subscribe())),
                expires_at: None,
            },
            (Caller::User(_), Some(token)) => {
                let claims = self.inner.signer.verify(token, chrono::Utc::now()).ok();
                // The middleware verified it a moment ago: one that expired since ends at once.
                let expires_at = claims.map_or(0, |c| c.exp);
                StreamCredential { admin: None, expires_at: Some(expires_at) }
            }
            _ => StreamCredential::default(),
        }
    }

    /// Puts the stored admin credential in force if it differs from the one in use; true when it
    /// did. A database with none stored leaves the configured one alone.
    fn adopt_admin_token_hash(&self, stored: Option<String>) -> bool {
        let Some(stored) = stored else { return false };
        self.inner.admin_token_hash.send_if_modified(|current| {
            if current.as_deref() == Some(stored.as_str()) {
                return false;
            }
            *current = Some(stored);
            true
        })
    }
}

/// The credential an SSE stream was opened with, left in the request's extensions by the auth
/// middleware on stream routes, so the stream can end once the credential stops counting.
#[derive(Debug, Clone, Default)]
pub struct StreamCredential {
    /// The admin token's SHA-256, and the server's admin credential as it changes. `None`: a
    /// credential that nothing retires while the stream lasts.
    admin: Option<(String, watch::Receiver<Option<String>>)>,
    /// A user's access token: when it expires (seconds since the epoch). A stream outliving its
    /// token would go on telling a signed-out or deleted user's events to whoever holds it.
    expires_at: Option<i64>,
}

impl StreamCredential {
    /// Resolves once the credential no longer counts: for the admin token, as soon as the server
    /// puts another in force (at once if it already has); for a user's access token, when it
    /// expires. Never for other credentials (none under `--dev`).
    pub async fn retired(self) {
        if let Some(exp) = self.expires_at {
            let left = (exp - chrono::Utc::now().timestamp()).max(0);
            tokio::time::sleep(std::time::Duration::from_secs(left.unsigned_abs())).await;
            return;
        }
        if let Some((hash, mut current)) = self.admin
            && current.wait_for(|h| h.as_deref() != Some(hash.as_str())).await.is_ok()
        {
            return;
        }
        // Nothing to watch, or the server's credentials are gone and can no longer change.
        std::future::pending::<()>().await
    }
}

/// The stream's credential as the auth middleware left it (none: nothing retires it).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for StreamCredential {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<StreamCredential>().cloned().unwrap_or_default())
    }
}

/// How often a server re-reads the admin credential from the database.
pub const ADMIN_TOKEN_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the server's admin credential equal to the stored one, so `luna admin-token --rotate`
/// (which only writes the database) retires the old token on every running server within
/// [`ADMIN_TOKEN_POLL`], without a restart. A failed read keeps the current credential.
pub async fn follow_admin_token(app: app::App, auth: Auth) {
    let mut tick = tokio::time::interval(ADMIN_TOKEN_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app.admin_token_hash().await {
            Ok(stored) => {
                if auth.adopt_admin_token_hash(stored) {
                    tracing::info!("a new admin token was stored; it is now the one in force");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not re-read the admin token; keeping the current one"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_uris_never_show_a_token() {
        let uri: axum::http::Uri =
            "/api/v1/admin/streams/subscribe-all?channels=a&access_token=s3cret".parse().unwrap();
        let shown = super::redacted_uri(&uri);
        assert!(!shown.contains("s3cret") && shown.contains("channels=a"), "{shown}");
        let plain: axum::http::Uri = "/users?limit=5".parse().unwrap();
        assert_eq!(super::redacted_uri(&plain), "/users?limit=5");
    }
}
