//! Credentials as services: Argon2id password hashes (computed off the async runtime) of the
//! password in Unicode NFC, login by handle or email, refresh tokens (random, stored as SHA-256, used once: rotation revokes the
//! old one and stores the new one in one transaction) and the secrets every server on the
//! database shares (the signing secret, created on first start; the admin token's hash).
//! Nothing here keeps a secret in the clear, in the database or in a log.

use std::sync::{Arc, LazyLock};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use domain::UserId;
use domain::user::Password;
use rand::RngExt;
use sha2::{Digest, Sha256};
use store::ServerSecret;
use tokio::sync::Semaphore;

use crate::{App, AppError, AppResult};

/// How long a refresh token lives.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
/// How long after its rotation a refresh token used again is taken for a client retrying a
/// refresh whose answer it lost (refused), not for a stolen copy (every session signed out).
pub const REFRESH_REUSE_GRACE: Duration = Duration::seconds(30);

/// A hash verified when the login names nobody, so an unknown user costs as much time as a
/// wrong password (same answer, same delay).
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$xNWIgdLtkzLKsvLGJNPqYlr6mPxkJVmX1GZ2W0p1H6o";

/// `n` random bytes as unpadded base64url: tokens and secrets.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token, in hex: how tokens are stored and compared.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Password hashes computed at once, at most: one per core. Argon2 is CPU-bound by design, so
/// more at once only makes each slower, and a flood of sign-ins would fill the runtime's
/// blocking pool (which file and DNS work share) with hashing threads; beyond this, requests
/// wait their turn as tasks, holding no thread.
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(hashing_permits())));

/// One per core.
fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Runs `work` on the blocking pool once `permits` has a permit for it, holding it till done.
async fn bounded_blocking<T: Send + 'static>(
    permits: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let permit =
        permits.clone().acquire_owned().await.map_err(|e| AppError::Internal(format!("hashing permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))
}

/// Argon2id hash of a password (a PHC string) in NFC, computed on the blocking pool, one per
/// core at most at once.
pub async fn hash_password(password: Password) -> AppResult<String> {
    bounded_blocking(&HASHING, move || {
        Argon2::default()
            .hash_password(password.normalized().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`, checked on the blocking pool, one per
/// core at most at once: in NFC, else (a hash stored before passwords were normalized, of a
/// password sent in another form) as sent.
async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    bounded_blocking(&HASHING, move || {
        let matches = |p: &str| Argon2::default().verify_password(p.as_bytes(), hash.as_str()).is_ok();
        let nfc = domain::nfc(&password);
        matches(&nfc) || (nfc != password && matches(&password))
    })
    .await
}

/// A fresh refresh token for a user (the clear token, returned once).
#[derive(Debug, Clone)]
pub struct RefreshToken(pub String);

impl App {
    /// The user whose handle or email is `login` and whose password is `password`; `None` for
    /// an unknown login, a user without a password, or a wrong password alike.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn authenticate(&self, login: &str, password: &str) -> AppResult<Option<UserId>> {
        // No handle or email holds a control character (PostgreSQL would refuse a NUL outright):
        // such a login names nobody, and is answered as any unknown one is.
        let found =
            if login.chars().any(domain::error::hidden) { None } else { self.store.password_hash(login).await? };
        let (user_id, hash) = match found {
            Some((id, hash)) => (Some(id), hash),
            None => (None, DECOY_HASH.to_string()),
        };
        let ok = verify_password(password.to_string(), hash).await?;
        Ok(user_id.filter(|_| ok))
    }

    /// Sets (or replaces) a user's password.
    #[tracing::instrument(skip_all, fields(%user_id), err(level = "debug"))]
    pub async fn set_password(&self, user_id: UserId, password: Password) -> AppResult<()> {
        let mut c = domain::error::Checker::new();
        password.check(&mut c, "password");
        c.finish(())?;
        let hash = hash_password(password).await?;
        Ok(self.store.set_password(user_id, &hash).await?)
    }

    /// Issues and stores a refresh token for `user_id`.
    pub async fn issue_refresh_token(&self, user_id: UserId) -> AppResult<RefreshToken> {
        let token = random_token(32);
        let expires_at = chrono::Utc::now() + REFRESH_TOKEN_TTL;
        self.store.insert_refresh_token(user_id, &token_hash(&token), expires_at).await?;
        Ok(RefreshToken(token))
    }

    /// Uses a refresh token: revokes it and issues its successor. `None` when the token is
    /// unknown, expired or already used; used again more than [`REFRESH_REUSE_GRACE`] after its
    /// rotation, it was copied, and every session of its user is signed out.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn rotate_refresh_token(&self, token: &str) -> AppResult<Option<(UserId, RefreshToken)>> {
        let next = random_token(32);
        let expires_at = chrono::Utc::now() + REFRESH_TOKEN_TTL;
        let (old, new) = (token_hash(token), token_hash(&next));
        let user = self.store.rotate_refresh_token(&old, &new, expires_at, REFRESH_REUSE_GRACE).await?;
        Ok(user.map(|u| (u, RefreshToken(next))))
    }

    /// Signs out the session a refresh token belongs to: when it is live, every refresh token
    /// descended from the same sign-in is revoked (the user's other sessions are not); any
    /// other token changes nothing. Access tokens already issued stay valid until they expire.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn sign_out(&self, token: &str) -> AppResult<()> {
        let n = self.store.revoke_refresh_family(&token_hash(token)).await?;
        tracing::debug!(tokens = n, "signed out");
        Ok(())
    }

    /// The key that signs access tokens: the one stored in the database, created (random, 32
    /// bytes) by the first server to start on it, so every server accepts the others' tokens.
    pub async fn signing_secret(&self) -> AppResult<Vec<u8>> {
        let stored = self.store.init_server_secret(ServerSecret::SigningSecret, &random_token(32)).await?;
        URL_SAFE_NO_PAD.decode(stored.as_bytes()).map_err(|e| AppError::Internal(format!("stored signing secret: {e}")))
    }

    /// Stores an explicitly configured signing secret (any text of 32 characters or more).
    pub async fn put_signing_secret(&self, secret: &str) -> AppResult<Vec<u8>> {
        let encoded = URL_SAFE_NO_PAD.encode(secret.as_bytes());
        self.store.put_server_secret(ServerSecret::SigningSecret, &encoded).await?;
        Ok(secret.as_bytes().to_vec())
    }

    /// The admin token's hash, if an admin token was ever set.
    pub async fn admin_token_hash(&self) -> AppResult<Option<String>> {
        Ok(self.store.server_secret(ServerSecret::AdminTokenHash).await?)
    }

    /// Makes `token` the admin credential (only its hash is stored).
    pub async fn set_admin_token(&self, token: &str) -> AppResult<String> {
        let hash = token_hash(token);
        self.store.put_server_secret(ServerSecret::AdminTokenHash, &hash).await?;
        Ok(hash)
    }

    /// The admin credential's hash, generating a token when there is none. Returns the hash
    /// and, only when it was generated now, the clear token (to be shown once).
    pub async fn init_admin_token(&self) -> AppResult<(String, Option<String>)> {
        let fresh = random_token(24);
        let hash = token_hash(&fresh);
        let stored = self.store.init_server_secret(ServerSecret::AdminTokenHash, &hash).await?;
        let shown = (stored == hash).then_some(fresh);
        Ok((stored, shown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password(Password("correct horse".into())).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse".into(), hash.clone()).await.unwrap());
        assert!(!verify_password("correct horsf".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_password_verifies_whichever_unicode_form_it_is_typed_in() {
        // "café" with a precomposed é (NFC), and with e plus a combining acute accent (NFD).
        let (nfc, nfd) = ("caf\u{e9} au lait", "cafe\u{301} au lait");
        let hash = hash_password(Password(nfc.into())).await.unwrap();
        assert!(verify_password(nfd.into(), hash.clone()).await.unwrap(), "signed up in NFC, signed in in NFD");
        let hash = hash_password(Password(nfd.into())).await.unwrap();
        assert!(verify_password(nfc.into(), hash.clone()).await.unwrap(), "signed up in NFD, signed in in NFC");
        assert!(verify_password(nfd.into(), hash.clone()).await.unwrap());
        assert!(!verify_password("cafe au lait".into(), hash).await.unwrap(), "the accent still counts");
        // A hash stored before normalization, of the password as sent in NFD, still verifies.
        let legacy = Argon2::default().hash_password(nfd.as_bytes()).unwrap().to_string();
        assert!(verify_password(nfd.into(), legacy).await.unwrap());
    }

    #[tokio::test]
    async fn the_decoy_hash_parses_and_matches_nothing_plausible() {
        assert!(argon2::PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify_password("password".into(), DECOY_HASH.into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_work_runs_at_most_as_many_at_once_as_there_are_permits() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let permits = Arc::new(Semaphore::new(2));
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (permits, running, peak) = (permits.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    bounded_blocking(&permits, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "12 sleepers on the blocking pool, 2 at a time");
    }

    #[tokio::test]
    async fn password_checks_wait_for_a_free_hashing_permit() {
        // A hash with tiny parameters (the check reads them from the hash): a millisecond's work.
        let params = argon2::Params::new(8, 1, 1, None).unwrap();
        let cheap = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let hash = cheap.hash_password(b"password").unwrap().to_string();
        // Holds every permit: a sign-in's check must wait instead of taking another thread.
        let all = u32::try_from(hashing_permits()).unwrap();
        let held = HASHING.clone().acquire_many_owned(all).await.unwrap();
        let check = tokio::spawn(verify_password("password".into(), hash));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!check.is_finished(), "the check ran without a permit");
        drop(held);
        assert!(check.await.unwrap().unwrap(), "and ran once one was free");
    }

    #[test]
    fn token_hashes_are_64_hex_digits() {
        let h = token_hash(&random_token(32));
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(random_token(32), random_token(32));
    }

    #[test]
    fn token_hash_is_lowercase_hex_sha256() {
        // FIPS 180-2's example: stored hashes stay comparable across versions.
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
