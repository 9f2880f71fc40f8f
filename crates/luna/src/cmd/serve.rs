//! `luna serve`: the HTTP API, its docs, metrics and the dashboard, with graceful shutdown on
//! SIGTERM or Ctrl-C. Plain `luna serve` never writes data on its own; `--demo` seeds the demo
//! city into an empty database first.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8000).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Seed the demo city into the database first if it is empty.
    #[arg(long)]
    pub demo: bool,
    /// Local development: readable logs, permissive CORS, and on a loopback address only,
    /// requests without a token may act as any user (admin routes still need the admin token).
    #[arg(long)]
    pub dev: bool,
    /// Concurrent SSE streams this server accepts; more get a 503.
    #[arg(long, default_value_t = app::LiveSettings::default().max_subscribers)]
    pub max_sse_subscribers: usize,
    /// Streams of their own events (`/api/v1/users/{id}/events`) one user may hold open at once;
    /// more get a 429. Users' streams together leave a tenth of the SSE places to the admin's.
    #[arg(long, default_value_t = app::LiveSettings::default().max_streams_per_user)]
    pub max_streams_per_user: usize,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

pub async fn run(mut settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    if let Some(b) = args.bind {
        settings.bind = b;
    }
    settings.dev |= args.dev;
    super::auth::check_dev_bind(&settings)?;
    let json_logs = settings.log_format.as_deref().map_or(!settings.dev, |f| f == "json");
    crate::logging::init(json_logs);

    let store = super::open_store(&settings).await?;
    let bus = super::open_bus(&settings, &store).await?;
    let live = app::LiveSettings {
        max_subscribers: args.max_sse_subscribers,
        max_streams_per_user: args.max_streams_per_user,
        ..app::LiveSettings::default()
    };
    let mut app_settings = super::seed::app_settings(&settings);
    // The demo keeps its learned ranker working: every seed through the API (a reseed from the
    // dashboard) trains the model again on the new city, as the demo does at its first start.
    app_settings.reco.train_after_seed = args.demo;
    let app = app::App::with_bus(store, bus, app_settings).with_live_settings(live);
    let (auth, fresh_admin_token) = super::auth::server_auth(&app, &settings).await?;
    if args.demo {
        let opts = super::seed::demo_options(&settings, false);
        let report = match app.seed_demo(opts).await {
            Ok(report) => report,
            // Another server started on the same empty database at the same moment and seeded
            // it first: its city is the demo city.
            Err(app::AppError::Conflict { .. })
                if app.store.counts().await.is_ok_and(|c| c.users > 0 || c.venues > 0) =>
            {
                app::seed::SeedReport::default()
            }
            Err(e) => anyhow::bail!("seeding the demo city: {e}"),
        };
        if report.seeded {
            tracing::info!(
                users = report.users,
                venues = report.venues,
                interactions = report.interactions,
                "demo city seeded"
            );
        } else {
            tracing::info!("database already has data; demo seeding skipped");
            // Another server may be seeding it right now (found mid-way, or that server won the
            // race): load the whole city, not part of it, and learn from all of it.
            wait_until_still(&app).await?;
        }
    }

    // Follow the bus before loading, so no event between the scan and the swap is missed.
    let background = app.start_background();
    tracing::info!("loading the recommendation engine");
    app.reload_engine().await.map_err(|e| anyhow::anyhow!("loading the recommendation engine: {e}"))?;
    if args.demo {
        // On the loaded engine: seeding builds one, but a server that found the city already
        // seeded (by another server) has none until now.
        train_demo_model(&app, &settings).await?;
    }
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("binding {} (is another server running there?)", settings.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = ?app.store.backend(), "luna is serving");
    eprintln!("Luna is up: dashboard http://{addr}/  API docs http://{addr}/docs  OpenAPI http://{addr}/openapi.json");
    super::auth::announce(addr, fresh_admin_token.as_deref(), auth.relaxed());
    let opts = api::ServeOptions {
        dev: settings.dev,
        body_limit_bytes: settings.body_limit_bytes,
        request_timeout: Duration::from_secs(settings.request_timeout_secs),
        auth,
        rate_limit: settings.rate_limit.clone(),
    };
    let serving = api::serve(app.clone(), listener, opts, shutdown_signal());
    then_stop_training(&app, serving).await.context("serving HTTP")?;
    for task in background {
        task.abort();
    }
    // Publish what the last requests committed, for a few seconds at most (a simulation still
    // running keeps writing); anything left waits in the outbox for the next start.
    let flush_until = std::time::Instant::now() + Duration::from_secs(5);
    while let Ok(n) = app::relay::relay_once(&app.store, &app.bus).await {
        if n == 0 || std::time::Instant::now() > flush_until {
            break;
        }
    }
    tracing::info!("luna stopped");
    Ok(())
}

/// Waits for `serving` to end, then stops a running training, whatever `serving` returned: its
/// blocking thread would otherwise keep the process alive until it ended (hours at scale), long
/// after the server stopped; an error too (before, `?` returned it before the stop).
async fn then_stop_training<T>(app: &app::App, serving: impl std::future::Future<Output = T>) -> T {
    let served = serving.await;
    app.stop_training();
    served
}

/// Gives the demo a learned ranker: trains the BPR model on the loaded engine when no model
/// file exists yet (`luna train` does the same on any data), saves it and puts it to use, so
/// the `learned` ranker and the default ranker's learned signal work from the first start. The
/// seed of an empty database has started that training already ([`app::App::retrain_after_seed`]):
/// it is waited for. Nothing to learn from (no interactions) leaves no file, as `luna train`
/// refuses to write one.
async fn train_demo_model(app: &app::App, settings: &Settings) -> anyhow::Result<()> {
    let path = settings.model_path();
    let mut state = app.wait_for_training().await;
    if state.last.is_none() && !path.exists() && app.engine().stats().user_venue_pairs > 0 {
        tracing::info!(path = %path.display(), "training the learned model on the demo city");
        app.start_training(engine::TrainConfig::default()).map_err(|e| anyhow::anyhow!("training the model: {e}"))?;
        state = app.wait_for_training().await;
    }
    if let Some(error) = state.last.and_then(|l| l.error) {
        anyhow::bail!("training the learned model on the demo city: {error}");
    }
    Ok(())
}

/// Waits until the database's counts stop changing for a second (another server finishing its
/// seeding), for a minute at most (a simulation elsewhere may keep writing).
async fn wait_until_still(app: &app::App) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let mut still = 0;
    while still < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let c = app.store.counts().await.map_err(|e| anyhow::anyhow!("reading the database: {e}"))?;
        let now = (c.users, c.venues, c.interactions, c.social_edges, c.bookings);
        still = if last == Some(now) { still + 1 } else { 0 };
        last = Some(now);
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; draining in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review: `api::serve(..).await?` returned its error before `app.stop_training()`, so the
    /// process waited for a training running then to end on its own. Stopped on an error too.
    #[tokio::test]
    async fn a_training_running_is_stopped_when_serving_ends_in_an_error() {
        let Some(db) = testdb::TestDatabase::create(testdb::Backend::Sqlite).await else { return };
        let store = store::connect(&db.url).await.expect("connect the test database");
        let app = app::App::new(store, app::AppSettings::default());
        let city = app::seed::SeedOptions { users: 30, venues: 12, seed: 3, ..app::seed::SeedOptions::default() };
        app.seed_demo(city).await.expect("seed");
        let long = engine::TrainConfig { epochs: 100_000, factors: 32, ..engine::TrainConfig::default() };
        app.start_training(long).expect("training starts");

        let failed = async { Err::<(), _>(std::io::Error::other("the listener failed")) };
        assert!(then_stop_training(&app, failed).await.is_err(), "the error is returned");
        let ended = tokio::time::timeout(Duration::from_secs(10), app.wait_for_training()).await;
        let last = ended.expect("the training gave up within 10 s").last.expect("a training ended");
        assert!(last.error.as_deref().is_some_and(|e| e.contains("shutting down")), "{last:?}");
    }
}
