//! The claim that binds a Redis key prefix to one database. Servers that share a Redis and a
//! prefix share their events: every one applies and streams what any of them publishes. That
//! is right for the servers of one deployment (one database) and wrong across databases (one
//! deployment's users, their emails and locations, in the other's streams and engine). So a
//! server claims the prefix for its database before it uses the bus: `SET <prefix>:database
//! <id> NX` and a read of what the key holds, in one transaction; a prefix held by another
//! database's id is refused. The key has no expiry; the first server to start takes it, which
//! is also how a prefix whose streams predate the claim (no key yet) is taken over.

use crate::{BusError, BusResult};

use super::{RedisBus, unavailable};

/// How a claim went when the prefix is (now) this database's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// No database held the prefix: this one took it (the first start on it, or streams written
    /// before prefixes were claimed).
    New,
    /// This database already held it (another server of the deployment, or an earlier start).
    Held,
}

/// Why a claim failed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The prefix is bound to another database.
    #[error(
        "the Redis key prefix {prefix:?} belongs to another database: Redis key {key:?} holds {holder:?}, this \
         database's id is {ours:?}. Deployments on different databases must not share a prefix (each would apply \
         and stream the other's events), so this server does not start. Set a different redis_prefix \
         (LUNA_REDIS_PREFIX) for this deployment. Only if the prefix's events really are this database's (it was \
         re-created, or restored without its server_secrets table) release the claim, with no server of the \
         other database running: `redis-cli DEL {key}`, then start again"
    )]
    Taken { prefix: String, key: String, holder: String, ours: String },
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl RedisBus {
    /// The key that holds the id of the database this bus's prefix belongs to.
    pub fn claim_key(&self) -> String {
        claim_key(&self.prefix)
    }

    /// Binds this bus's prefix to `database` (an id stable for every server on one database and
    /// different across databases): takes it when no database holds it, accepts it when
    /// `database` does, and refuses it with [`ClaimError::Taken`] when another does. Race-safe:
    /// of servers of different databases claiming at once, one takes the prefix and the others
    /// are refused.
    pub async fn claim(&self, database: &str) -> Result<Claimed, ClaimError> {
        let key = self.claim_key();
        let (set, holder): (Option<String>, Option<String>) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(database)
            .arg("NX")
            .cmd("GET")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match holder {
            Some(h) if h == database => Ok(if set.is_some() { Claimed::New } else { Claimed::Held }),
            Some(holder) => {
                Err(ClaimError::Taken { prefix: self.prefix.clone(), key, holder, ours: database.to_string() })
            }
            // Deleted between the SET and the GET cannot happen in one transaction.
            None => Err(BusError::Unavailable(format!("Redis kept no value for {key} after SET NX")).into()),
        }
    }

    /// Who holds this bus's prefix, if anyone.
    pub async fn claimed_by(&self) -> BusResult<Option<String>> {
        redis::cmd("GET").arg(self.claim_key()).query_async(&mut self.conn.clone()).await.map_err(unavailable)
    }
}

/// The claim key of `prefix`.
pub(super) fn claim_key(prefix: &str) -> String {
    format!("{prefix}:database")
}

/// Whether `prefix` can name a deployment's keys: not empty, no whitespace or control
/// characters (they would split or garble the keys in `redis-cli` and in the ACL rules that
/// name them). The error says what is wrong.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("redis_prefix must not be empty (the default is \"luna:events\")".into());
    }
    if let Some(c) = prefix.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("redis_prefix {prefix:?} must not contain spaces or control characters (found {c:?})"));
    }
    Ok(())
}
