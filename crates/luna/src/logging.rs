//! Structured logs with `tracing`: readable in development, JSON lines otherwise.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `json` picks the JSON formatter.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,hyper=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json { builder.json().try_init() } else { builder.compact().try_init() };
    // A second init (tests, repeated calls) is harmless.
    let _ = result;
}
