//! Settings: defaults, then a TOML file, then `LUNA_*` environment variables (nested keys with
//! `__`, e.g. `LUNA_DEMO__USERS=500`), then `DATABASE_URL` / `REDIS_URL`, then command-line
//! flags. Secrets (the admin token, passwords inside URLs) are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `luna` can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address `luna serve` listens on.
    pub bind: SocketAddr,
    /// Folder for the embedded SQLite database (and other local state).
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// Redis for the event bus; in-memory when unset.
    pub redis_url: Option<String>,
    /// Local development: readable logs, permissive CORS.
    pub dev: bool,
    /// `pretty` or `json` (default: pretty with --dev, json otherwise).
    pub log_format: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a request may take before it is answered with a timeout error, in seconds.
    pub request_timeout_secs: u64,
    /// Per-client request rate limit of `luna serve` (429 with `Retry-After` beyond).
    #[serde(default)]
    pub rate_limit: api::RateLimitSettings,
    /// The demo city `--demo` and `luna seed` generate.
    pub demo: DemoSettings,
    /// The recommendation engine: ranker weights, candidate budgets, live-update policy.
    #[serde(default)]
    pub engine: engine::EngineSettings,
    /// The learned model `luna train` writes and `luna serve` loads (default `<data_dir>/model.json`).
    #[serde(default)]
    pub model_path: Option<PathBuf>,
    /// Bookings: slots, turn times, the provider (`house` or `external`) and its patience,
    /// hold and idempotency-key lifetimes, alternatives, auto-booking.
    #[serde(default)]
    pub booking: app::booking::BookingSettings,
}

/// Size and place of the generated demo city.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    pub users: usize,
    pub venues: usize,
    pub seed: u64,
    pub city: String,
    pub center_lat: f64,
    pub center_lng: f64,
    pub radius_km: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: PathBuf::from("./luna-data"),
            database_url: None,
            redis_url: None,
            dev: false,
            log_format: None,
            body_limit_bytes: 1 << 20,
            request_timeout_secs: 30,
            rate_limit: api::RateLimitSettings::default(),
            demo: DemoSettings::default(),
            engine: engine::EngineSettings::default(),
            model_path: None,
            booking: app::booking::BookingSettings::default(),
        }
    }
}

impl Default for DemoSettings {
    /// The services' demo city, so the binary and the admin endpoint agree.
    fn default() -> Self {
        let d = app::seed::SeedOptions::default();
        Self {
            users: d.users,
            venues: d.venues,
            seed: d.seed,
            city: d.city,
            center_lat: d.center_lat,
            center_lng: d.center_lng,
            radius_km: d.radius_km,
        }
    }
}

impl Settings {
    /// Loads settings from the layers, the TOML file being `path` or `./luna.toml` if present.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(p) => {
                anyhow::ensure!(p.exists(), "config file {} does not exist", p.display());
                fig = fig.merge(Toml::file(p));
            }
            None => fig = fig.merge(Toml::file("luna.toml")),
        }
        fig = fig.merge(Env::prefixed("LUNA_").split("__"));
        fig = fig.merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]).map(|k| k.as_str().to_lowercase().into()));
        fig.extract().context("reading settings (defaults, luna.toml, LUNA_* variables)")
    }

    /// The learned model file in effect.
    pub fn model_path(&self) -> PathBuf {
        self.model_path.clone().unwrap_or_else(|| self.data_dir.join("model.json"))
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("luna.db").display()))
    }

    /// The settings as TOML with secrets hidden (what `luna config` prints).
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        let mut s = self.clone();
        s.database_url = Some(redact_url(&self.database_url()));
        s.redis_url = s.redis_url.as_deref().map(redact_url);
        toml_string(&s)
    }
}

fn toml_string(s: &Settings) -> anyhow::Result<String> {
    let mut out = String::new();
    if let serde_json::Value::Object(m) = serde_json::to_value(s)? {
        toml_table(&mut out, "", &m);
    }
    Ok(out)
}

/// Writes a table's plain keys, then its sub-tables as `[path.key]` sections.
fn toml_table(out: &mut String, path: &str, m: &serde_json::Map<String, serde_json::Value>) {
    for (k, v) in m {
        match v {
            serde_json::Value::Null => out.push_str(&format!("# {k} = (unset)\n")),
            serde_json::Value::Object(_) => {}
            other => out.push_str(&format!("{k} = {other}\n")),
        }
    }
    for (k, v) in m {
        if let serde_json::Value::Object(inner) = v {
            let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            out.push_str(&format!("\n[{sub}]\n"));
            toml_table(out, &sub, inner);
        }
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((creds, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:****@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn the_default_database_is_sqlite_under_the_data_dir() {
        let s = Settings::default();
        assert_eq!(s.database_url(), "sqlite://./luna-data/luna.db");
        assert!(s.to_redacted_toml().unwrap().contains("bind = \"127.0.0.1:8000\""));
    }
}
