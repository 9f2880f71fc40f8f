//! One module per subcommand.

pub mod auth;
pub mod bench;
mod bench_bookings;
mod bench_http;
mod bench_mix;
pub mod check;
pub mod config;
pub mod eval;
pub mod import;
pub mod migrate;
pub mod outbox;
pub mod seed;
pub mod serve;
pub mod simulate;
pub mod train;

use anyhow::Context;

use crate::settings::Settings;

/// An RFC 3339 instant (such as 2026-10-20T00:00:00Z), in UTC; not one in a leap second
/// (`23:59:60`), which the API refuses too: stored, it would be written back with `:60`, which
/// JavaScript's `Date` cannot read.
pub fn rfc3339(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::Timelike;
    chrono::DateTime::parse_from_rfc3339(s).ok().filter(|t| t.nanosecond() < 1_000_000_000).map(|t| t.to_utc())
}

/// What is wrong with `s`, which [`rfc3339`] refused.
pub fn not_an_instant(s: &str) -> &'static str {
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        "is in a leap second (:60), which is not taken: give seconds 00 to 59"
    } else {
        "is not RFC 3339"
    }
}

/// [`rfc3339`] as a clap value parser: a bad instant is refused before anything runs.
pub fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    rfc3339(s).ok_or_else(|| match not_an_instant(s) {
        "is not RFC 3339" => format!("not an RFC 3339 instant (such as 2026-10-20T00:00:00Z): {s}"),
        why => format!("{s} {why} (such as 2026-10-20T00:00:00Z)"),
    })
}

/// The error clap gives for a bad option (the message, the subcommand's usage line), for a
/// check clap cannot make itself: one across options, or across options and settings. `main`
/// ends with it as clap does, with status 2.
pub fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> clap::Error {
    use clap::CommandFactory;
    let mut cli = crate::Cli::command();
    cli.build();
    let mut command = cli.find_subcommand(subcommand).cloned().unwrap_or(cli);
    command.error(clap::error::ErrorKind::ArgumentConflict, message)
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

/// The event bus of a command that follows or publishes events: in-memory without `redis_url`;
/// on Redis, under `redis_prefix`, claimed for this database first ([`claim_redis_prefix`]), so
/// a server never reads or writes another database's events.
pub async fn open_bus(s: &Settings, store: &store::DynStore) -> anyhow::Result<bus::DynBus> {
    let Some(url) = &s.redis_url else { return Ok(std::sync::Arc::new(bus::MemoryBus::default())) };
    let bus = bus::RedisBus::connect(url, &s.redis_prefix, 100_000)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to Redis at {}: {e}", crate::settings::redact_url(url)))?;
    claim_redis_prefix(&bus, store).await?;
    Ok(std::sync::Arc::new(bus))
}

/// Binds the bus's prefix to this database: its id (`database_id` in `server_secrets`, random,
/// stored by the first server and kept by a reset) is claimed in Redis; a prefix another
/// database holds is an error that says what to do.
async fn claim_redis_prefix(bus: &bus::RedisBus, store: &store::DynStore) -> anyhow::Result<()> {
    let fresh = format!("{:032x}", rand::random::<u128>());
    let database = store
        .init_server_secret(store::ServerSecret::DatabaseId, &fresh)
        .await
        .map_err(|e| anyhow::anyhow!("reading the database's id: {e}"))?;
    match bus.claim(&database).await {
        Ok(bus::Claimed::New) => {
            tracing::info!(key = %bus.claim_key(), database = %database, "claimed the Redis key prefix for this database")
        }
        Ok(bus::Claimed::Held) => {}
        Err(e @ bus::ClaimError::Taken { .. }) => anyhow::bail!("{e}"),
        Err(bus::ClaimError::Bus(e)) => anyhow::bail!("claiming the Redis key prefix {}: {e}", bus.claim_key()),
    }
    Ok(())
}

/// Refuses an output file a long job could not write, before the job computes what goes in it:
/// a directory, or a path whose nearest existing folder is a file or takes no new file (the
/// missing folders are made when the file is written, [`write_output`]). Nothing is left
/// behind: an existing file is opened without being changed, no folder is made yet, and a probe
/// file is removed at once.
pub(crate) fn check_output(path: &std::path::Path, flag: &str) -> anyhow::Result<()> {
    let shown = path.display();
    anyhow::ensure!(!path.is_dir(), "{flag} {shown}: is a folder; name a file");
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .with_context(|| format!("{flag} {shown}: cannot be written"))?;
        return Ok(());
    }
    let folder = |p: &std::path::Path| {
        p.parent()
            .map(|d| if d.as_os_str().is_empty() { std::path::Path::new(".") } else { d })
            .map(|d| d.to_path_buf())
    };
    let mut dir = folder(path).unwrap_or_else(|| ".".into());
    while !dir.exists() {
        match folder(&dir) {
            Some(up) if up != dir => dir = up,
            _ => break,
        }
    }
    anyhow::ensure!(dir.is_dir(), "{flag} {shown}: {} is not a folder", dir.display());
    let probe = dir.join(format!(".luna-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| format!("{flag} {shown}: cannot write in {}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes an output file a long job made (`luna eval --json`/`--svg`, `luna simulate
/// --summary`), making its missing folders first, as [`check_output`] allowed.
pub(crate) fn write_output(path: &std::path::Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    make_folders(path)?;
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Makes the missing folders of an output file: every command that writes one names a file
/// anywhere, as `luna train --out` always did.
pub(crate) fn make_folders(path: &std::path::Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// Whether progress goes out as plain lines: indicatif draws nothing when stderr is not a
/// terminal (a CI log, a pipe, a helper's shell), so long jobs print lines there instead.
pub(crate) fn plain_progress() -> bool {
    use std::io::IsTerminal;
    !std::io::stderr().is_terminal()
}

/// The plain progress line when a stage moved from `before` to `now` of `total` across a tenth,
/// if it did.
pub(crate) fn plain_line(stage: &str, before: u64, now: u64, total: u64) -> Option<String> {
    let tenth = |n: u64| (n.min(total) * 10).checked_div(total).unwrap_or(10);
    // The share shown is the count's own (10/40 is 25%), not the tenth it reached.
    let percent = (now.min(total) * 100).checked_div(total).unwrap_or(100);
    (tenth(now) > tenth(before)).then(|| format!("{stage}: {}/{total} ({percent}%)", now.min(total)))
}

#[cfg(test)]
mod tests {
    use super::plain_line;

    #[test]
    fn plain_progress_prints_once_per_tenth_of_a_stage() {
        assert_eq!(plain_line("users", 0, 99, 1000), None);
        assert_eq!(plain_line("users", 99, 100, 1000).as_deref(), Some("users: 100/1000 (10%)"));
        assert_eq!(plain_line("users", 100, 150, 1000), None);
        assert_eq!(plain_line("users", 150, 1000, 1000).as_deref(), Some("users: 1000/1000 (100%)"));
        let lines = (0..1000u64).filter_map(|i| plain_line("venues", i, i + 1, 1000)).count();
        assert_eq!(lines, 10);
    }

    #[test]
    fn a_plain_progress_line_gives_the_share_of_the_count_it_shows() {
        assert_eq!(plain_line("ranking", 0, 10, 40).as_deref(), Some("ranking: 10/40 (25%)"));
        assert_eq!(plain_line("ranking", 20, 30, 40).as_deref(), Some("ranking: 30/40 (75%)"));
        assert_eq!(plain_line("users", 0, 1, 3).as_deref(), Some("users: 1/3 (33%)"));
    }
}
