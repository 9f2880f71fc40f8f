//! One module per subcommand.

pub mod auth;
pub mod bench;
mod bench_bookings;
mod bench_mix;
pub mod check;
pub mod config;
pub mod eval;
pub mod import;
pub mod migrate;
pub mod seed;
pub mod serve;
pub mod simulate;
pub mod train;

use crate::settings::Settings;

/// An RFC 3339 instant (such as 2026-10-20T00:00:00Z), in UTC.
pub fn rfc3339(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

/// Flags shared by commands that open the database.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Folder for the embedded SQLite database (ignored when DATABASE_URL names PostgreSQL).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Database URL (`sqlite://...` or `postgres://...`); overrides DATABASE_URL.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub fn apply(&self, s: &mut Settings) {
        if let Some(d) = &self.data_dir {
            s.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            s.database_url = Some(u.clone());
        }
    }
}

/// Opens (and migrates) the configured store.
/// The store of a command that only reads (eval, train, check, admin-token's status): on the
/// embedded default, a data dir without a database is an error, not a new empty database (a
/// mistyped `--data-dir` would otherwise leave one behind and report on nothing).
pub async fn open_existing_store(s: &Settings) -> anyhow::Result<store::DynStore> {
    if s.database_url.is_none() {
        let file = s.data_dir.join("luna.db");
        anyhow::ensure!(
            file.exists(),
            "no database at {}: seed one (`luna seed`) or import data (`luna import`) first, or name another \
             --data-dir",
            file.display()
        );
    }
    open_store(s).await
}

pub async fn open_store(s: &Settings) -> anyhow::Result<store::DynStore> {
    let url = s.database_url();
    store::connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("opening the database at {}: {e}", crate::settings::redact_url(&url)))
}
