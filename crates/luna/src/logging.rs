//! Structured logs with `tracing`: readable in development, JSON lines otherwise.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for the server. `json` picks the JSON formatter.
pub fn init(json: bool) {
    install(json, "info,sqlx=warn,tower_http=info,hyper=warn");
}

/// Installs the global subscriber for a batch command (seed, import, simulate, ...), whose
/// long statements (building an index over millions of rows) are expected: sqlx's
/// slow-statement warnings would only break up the progress bar.
pub fn init_batch() {
    install(false, "info,sqlx=error,hyper=warn");
}

fn install(json: bool, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json { builder.json().try_init() } else { builder.compact().try_init() };
    // A second init (tests, repeated calls) is harmless.
    let _ = result;
}
