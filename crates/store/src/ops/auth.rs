//! Credentials: users' password hashes, refresh tokens (hashed; a token is used once, rotation
//! revokes it in the same transaction that stores its successor) and the secrets every server
//! on the database shares (the signing secret, the admin token's hash). The store never sees a
//! password or a token in the clear: callers hash them first.

use domain::{Timestamp, UserId};
use uuid::Uuid;

use crate::sql::{Conn, Sql, now};
use crate::{ServerSecret, StoreResult};

/// Stores (or replaces) a user's password hash.
pub(crate) async fn set_password<C: Conn>(c: &mut C, user_id: UserId, password_hash: &str) -> StoreResult<()> {
    super::require(c, "users", "user", user_id).await?;
    let sql = Sql::new(
        "INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(now());
    c.execute(sql).await?;
    Ok(())
}

/// The user whose handle (case-insensitive) or email (case-insensitive) is `login`, with their
/// password hash; `None` when there is no such user or they have no password. The login is put
/// in the form emails are stored in (trimmed, NFC, lower-cased), so an email typed decomposed
/// (NFD) signs in as it does composed.
pub(crate) async fn password_hash<C: Conn>(c: &mut C, login: &str) -> StoreResult<Option<(UserId, String)>> {
    let login = domain::nfc(login.trim()).to_lowercase();
    let sql = Sql::new(
        "SELECT u.id, uc.password_hash FROM users u JOIN user_credentials uc ON uc.user_id = u.id \
         WHERE u.handle = $1 OR lower(u.email) = $1 ORDER BY u.handle = $1 DESC LIMIT 1",
    )
    .bind(login.as_str());
    let row: Option<(Uuid, String)> = c.fetch_optional(sql).await?;
    Ok(row)
}

/// Stores a new refresh token's hash, starting a family (a sign-in): the family is named by
/// the hash of its first token.
pub(crate) async fn insert_refresh_token<C: Conn>(
    c: &mut C,
    user_id: UserId,
    token_hash: &str,
    expires_at: Timestamp,
) -> StoreResult<()> {
    insert_in_family(c, user_id, token_hash, token_hash, expires_at).await
}

/// Stores a refresh token's hash in the family `family_hash`.
async fn insert_in_family<C: Conn>(
    c: &mut C,
    user_id: UserId,
    token_hash: &str,
    family_hash: &str,
    expires_at: Timestamp,
) -> StoreResult<()> {
    let sql = Sql::new(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_hash, created_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(family_hash)
    .bind(now())
    .bind(expires_at);
    c.execute(sql).await?;
    Ok(())
}

/// Revokes the live token `old_hash` and stores `new_hash` for the same user, in the same
/// family, in the caller's transaction. `None` (and nothing stored) when `old_hash` is unknown, expired or already used.
///
/// A token used again more than `reuse_grace` after it was rotated, before it would have
/// expired, was copied: the thief or its owner holds its successor, and nobody can tell which,
/// so every refresh token of the user is deleted and they sign in again (RFC 9700, 4.14.2);
/// access tokens already issued run out on their own (15 minutes). The used-up tokens go too,
/// so an old copy replayed later is merely unknown. Within the grace, a reuse is taken for a
/// client retrying a refresh whose answer it lost, and only refused.
pub(crate) async fn rotate_refresh_token<C: Conn>(
    c: &mut C,
    old_hash: &str,
    new_hash: &str,
    expires_at: Timestamp,
    reuse_grace: chrono::Duration,
) -> StoreResult<Option<UserId>> {
    let at = now();
    let sql = Sql::new(
        "UPDATE refresh_tokens SET revoked_at = $1 \
         WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING user_id, COALESCE(family_hash, token_hash)",
    )
    .bind(at)
    .bind(old_hash);
    let row: Option<(Uuid, String)> = c.fetch_optional(sql).await?;
    let Some((user_id, family_hash)) = row else {
        let used = Sql::new("SELECT user_id, revoked_at, expires_at FROM refresh_tokens WHERE token_hash = $1");
        let used: Option<(Uuid, Option<Timestamp>, Timestamp)> = c.fetch_optional(used.bind(old_hash)).await?;
        if let Some((user_id, Some(revoked_at), expires_at)) = used
            && at - revoked_at > reuse_grace
            && expires_at > at
        {
            // Every token of the user goes, the used-up ones too: the live ones are revoked,
            // and no old copy can set this off again once they have signed in anew.
            let all = Sql::new("DELETE FROM refresh_tokens WHERE user_id = $1");
            let n = c.execute(all.bind(user_id)).await?;
            tracing::warn!(%user_id, tokens = n, "a rotated refresh token was used again: every refresh token of the user is revoked");
        }
        return Ok(None);
    };
    insert_in_family(c, user_id, new_hash, &family_hash, expires_at).await?;
    Ok(Some(user_id))
}

/// Signs out one session: when `token_hash` is a refresh token of it that has not expired,
/// live or already used (a client whose last refresh answer was lost, or whose token a thief
/// used first, still holds a used one), deletes every refresh token of its family (the sign-in
/// it descends from: the used-up ones too, so an old copy replayed later is merely unknown),
/// and returns how many. Any other hash changes nothing (0). The user's other sessions keep
/// their tokens; access tokens already issued run out on their own.
pub(crate) async fn revoke_refresh_family<C: Conn>(c: &mut C, token_hash: &str) -> StoreResult<u64> {
    // Written first, as a rotation does, so the two take turns on the token's row: a refresh
    // racing the sign-out either committed its successor before (the family's delete takes it
    // too) or waits and then finds its token used (it adds no successor). A token stored by a
    // server from before families (0010) has none: it is a family of its own.
    let known = Sql::new(
        "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) \
         WHERE token_hash = $2 AND expires_at > $1 RETURNING COALESCE(family_hash, token_hash)",
    )
    .bind(now())
    .bind(token_hash);
    let Some((family_hash,)): Option<(String,)> = c.fetch_optional(known).await? else {
        return Ok(0);
    };
    let all = Sql::new("DELETE FROM refresh_tokens WHERE family_hash = $1 OR token_hash = $1");
    Ok(c.execute(all.bind(family_hash.as_str())).await?)
}

/// The stored value of a server secret, storing `value` first when there is none. Servers
/// starting together all get the first one stored.
pub(crate) async fn init_server_secret<C: Conn>(c: &mut C, name: ServerSecret, value: &str) -> StoreResult<String> {
    let sql = Sql::new(
        "INSERT INTO server_secrets (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name.as_str())
    .bind(value)
    .bind(now());
    c.execute(sql).await?;
    let row: Option<(String,)> =
        c.fetch_optional(Sql::new("SELECT value FROM server_secrets WHERE name = $1").bind(name.as_str())).await?;
    Ok(row.map(|(v,)| v).unwrap_or_else(|| value.to_string()))
}

/// Stores a server secret, replacing any.
pub(crate) async fn put_server_secret<C: Conn>(c: &mut C, name: ServerSecret, value: &str) -> StoreResult<()> {
    let sql = Sql::new(
        "INSERT INTO server_secrets (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(name.as_str())
    .bind(value)
    .bind(now());
    c.execute(sql).await?;
    Ok(())
}

/// A server secret's value, if stored.
pub(crate) async fn server_secret<C: Conn>(c: &mut C, name: ServerSecret) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        c.fetch_optional(Sql::new("SELECT value FROM server_secrets WHERE name = $1").bind(name.as_str())).await?;
    Ok(row.map(|(v,)| v))
}
