//! Credentials: password hashes stored with the user, login by handle or email, refresh
//! tokens used once, server secrets created once and kept by a data reset.

use chrono::{Duration, Utc};
use store::{DynStore, ServerSecret};

use crate::fixtures::new_user;
use crate::store_tests;

store_tests!(
    a_password_hash_is_found_by_handle_or_email_and_goes_with_its_user,
    a_refresh_token_rotates_once_and_never_after_expiry,
    a_rotated_token_used_again_after_the_grace_signs_every_session_of_its_user_out,
    revoking_a_family_signs_out_that_sign_in_only_and_other_tokens_change_nothing,
    server_secrets_are_created_once_and_survive_a_reset,
);

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$xNWIgdLtkzLKsvLGJNPqYlr6mPxkJVmX1GZ2W0p1H6o";

/// The reuse grace the app gives: the reuses below come within it.
const GRACE: Duration = Duration::seconds(30);

fn token(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

async fn a_password_hash_is_found_by_handle_or_email_and_goes_with_its_user(store: DynStore) {
    let mut new = new_user("alice");
    new.email = Some("alice@example.com".into());
    new.password_hash = Some(HASH.into());
    let alice = store.create_user(new).await.unwrap();
    let plain = store.create_user(new_user("bob")).await.unwrap();
    for login in ["alice", "ALICE", "Alice@Example.com"] {
        assert_eq!(store.password_hash(login).await.unwrap(), Some((alice.id, HASH.to_string())), "{login}");
    }
    assert_eq!(store.password_hash("bob").await.unwrap(), None, "no password, no login");
    assert_eq!(store.password_hash("nobody").await.unwrap(), None);
    store.set_password(plain.id, HASH).await.unwrap();
    assert!(store.password_hash("bob").await.unwrap().is_some());
    // The database refuses anything that is not an Argon2id hash.
    assert!(store.set_password(plain.id, "hunter2").await.is_err());
    store.delete_user(alice.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(store.password_hash("alice").await.unwrap(), None);
}

async fn a_refresh_token_rotates_once_and_never_after_expiry(store: DynStore) {
    let user = store.create_user(new_user("alice")).await.unwrap();
    let later = Utc::now() + Duration::days(1);
    store.insert_refresh_token(user.id, &token(1), later).await.unwrap();
    assert_eq!(store.rotate_refresh_token(&token(1), &token(2), later, GRACE).await.unwrap(), Some(user.id));
    assert_eq!(store.rotate_refresh_token(&token(1), &token(3), later, GRACE).await.unwrap(), None, "reuse");
    assert_eq!(store.rotate_refresh_token(&token(2), &token(4), later, GRACE).await.unwrap(), Some(user.id));
    store.insert_refresh_token(user.id, &token(5), Utc::now() - Duration::seconds(1)).await.unwrap();
    assert_eq!(store.rotate_refresh_token(&token(5), &token(6), later, GRACE).await.unwrap(), None, "expired");
    assert_eq!(store.rotate_refresh_token(&token(9), &token(7), later, GRACE).await.unwrap(), None, "unknown");
}

async fn a_rotated_token_used_again_after_the_grace_signs_every_session_of_its_user_out(store: DynStore) {
    let (alice, bob) =
        (store.create_user(new_user("alice")).await.unwrap(), store.create_user(new_user("bob")).await.unwrap());
    let later = Utc::now() + Duration::days(1);
    store.insert_refresh_token(alice.id, &token(1), later).await.unwrap();
    store.insert_refresh_token(alice.id, &token(10), later).await.unwrap(); // her other phone
    store.insert_refresh_token(bob.id, &token(20), later).await.unwrap();
    assert_eq!(store.rotate_refresh_token(&token(1), &token(2), later, GRACE).await.unwrap(), Some(alice.id));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Used again past a (here zero) grace: a copy. Neither successor nor other session survives.
    let zero = Duration::zero();
    assert_eq!(store.rotate_refresh_token(&token(1), &token(3), later, zero).await.unwrap(), None);
    assert_eq!(store.rotate_refresh_token(&token(2), &token(4), later, GRACE).await.unwrap(), None, "successor");
    assert_eq!(store.rotate_refresh_token(&token(10), &token(11), later, GRACE).await.unwrap(), None, "other phone");
    assert_eq!(store.rotate_refresh_token(&token(20), &token(21), later, GRACE).await.unwrap(), Some(bob.id), "bob");
    // Signing in again gives a token that works, and an old copy replayed again is merely refused.
    store.insert_refresh_token(alice.id, &token(12), later).await.unwrap();
    for old in [1, 2] {
        assert_eq!(store.rotate_refresh_token(&token(old), &token(30 + old), later, zero).await.unwrap(), None);
    }
    assert_eq!(store.rotate_refresh_token(&token(12), &token(13), later, GRACE).await.unwrap(), Some(alice.id));
}

async fn revoking_a_family_signs_out_that_sign_in_only_and_other_tokens_change_nothing(store: DynStore) {
    let (alice, bob) =
        (store.create_user(new_user("alice")).await.unwrap(), store.create_user(new_user("bob")).await.unwrap());
    let later = Utc::now() + Duration::days(1);
    store.insert_refresh_token(alice.id, &token(1), later).await.unwrap();
    store.insert_refresh_token(alice.id, &token(10), later).await.unwrap(); // her other phone
    store.insert_refresh_token(bob.id, &token(20), later).await.unwrap();
    assert_eq!(store.rotate_refresh_token(&token(1), &token(2), later, GRACE).await.unwrap(), Some(alice.id));
    assert_eq!(store.rotate_refresh_token(&token(2), &token(3), later, GRACE).await.unwrap(), Some(alice.id));
    // Unknown or expired: nothing changes.
    assert_eq!(store.revoke_refresh_family(&token(99)).await.unwrap(), 0, "unknown");
    store.insert_refresh_token(alice.id, &token(40), Utc::now() - Duration::seconds(1)).await.unwrap();
    assert_eq!(store.revoke_refresh_family(&token(40)).await.unwrap(), 0, "expired");
    // A used token of the family (its holder lost the answer of its last refresh) signs the
    // session out as the live one would: the family (1, 2 and 3) goes, and none of it rotates
    // again.
    assert_eq!(store.revoke_refresh_family(&token(2)).await.unwrap(), 3);
    for (old, new) in [(3, 4), (2, 5), (1, 6)] {
        let rotated = store.rotate_refresh_token(&token(old), &token(new), later, Duration::zero()).await.unwrap();
        assert_eq!(rotated, None, "token {old} after the sign-out");
    }
    assert_eq!(store.revoke_refresh_family(&token(3)).await.unwrap(), 0, "a second sign-out");
    // Her other sign-in and Bob's are untouched.
    assert_eq!(store.rotate_refresh_token(&token(10), &token(11), later, GRACE).await.unwrap(), Some(alice.id));
    assert_eq!(store.rotate_refresh_token(&token(20), &token(21), later, GRACE).await.unwrap(), Some(bob.id));
}

async fn server_secrets_are_created_once_and_survive_a_reset(store: DynStore) {
    let first = "a".repeat(43);
    assert_eq!(store.init_server_secret(ServerSecret::SigningSecret, &first).await.unwrap(), first);
    let second = "b".repeat(43);
    assert_eq!(store.init_server_secret(ServerSecret::SigningSecret, &second).await.unwrap(), first, "kept");
    store.put_server_secret(ServerSecret::AdminTokenHash, &token(1)).await.unwrap();
    store.create_user(new_user("alice")).await.unwrap();
    store.reset().await.unwrap();
    assert_eq!(store.counts().await.unwrap().users, 0);
    assert_eq!(store.server_secret(ServerSecret::SigningSecret).await.unwrap(), Some(first));
    assert_eq!(store.server_secret(ServerSecret::AdminTokenHash).await.unwrap(), Some(token(1)));
    store.put_server_secret(ServerSecret::AdminTokenHash, &token(2)).await.unwrap();
    assert_eq!(store.server_secret(ServerSecret::AdminTokenHash).await.unwrap(), Some(token(2)));
}
