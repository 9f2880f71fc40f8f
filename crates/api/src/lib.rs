//! Luna's HTTP API: an axum router over the [`App`] services, with its OpenAPI document.
//! [`router`] is pure (tests drive it with `oneshot`); [`serve`] runs it on a listener until
//! a shutdown future resolves, draining in-flight requests.
//!
//! Every resource (users, venues, interactions, friends, plans) is built once and served both under
//! `/api/v1` and at the root, where the second seed document's clients expect it. Every path
//! answers with and without a trailing slash. Every error is `{"error": {"code", "message",
//! "details"}}`, including those of the outer layers (405, 413, 408, panics). What no route
//! matches falls to the embedded admin dashboard (see `dashboard`), then to the JSON 404.

mod admin;
pub mod auth;
mod bookings;
mod check;
mod dashboard;
mod docs;
mod error;
mod extract;
mod health;
mod interactions;
mod map;
mod metrics;
mod model;
mod plans;
mod ranges;
mod rate_limit;
mod reco;
mod respond;
mod simulation;
mod social;
mod stats;
mod streams;
mod users;
mod venues;
mod whole;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use app::App;
use app::sim::Simulator;

pub use error::{ApiError, ApiResult, ErrorBody, ErrorDetail, ErrorDetails};
pub use extract::{AppJson, AppPath, AppQuery};
pub use metrics::handle as metrics_handle;
pub use rate_limit::{ClientKey, IpBlock, RateLimitSettings, RateLimiter, TrustedProxies};

/// How [`serve`] runs the router.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Local development: permissive CORS (any origin).
    pub dev: bool,
    /// Largest accepted request body; larger ones get a 413.
    pub body_limit_bytes: usize,
    /// Longest a request may take; slower ones get a 408, except POST /api/v1/admin/data/seed,
    /// answered when the city is written.
    pub request_timeout: Duration,
    /// How credentials are checked (see `auth`). The default has a random signing key and no
    /// admin credential: user tokens it did not sign and every admin route are refused.
    pub auth: auth::Auth,
    /// Per-client request rate, the password routes' per-IP rate and per-login sign-in attempts
    /// (429 beyond); off by default, `luna serve` turns them on.
    pub rate_limit: RateLimitSettings,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            dev: false,
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            auth: auth::Auth::default(),
            rate_limit: RateLimitSettings::disabled(),
        }
    }
}

/// The resources served both at `/` (the seed's paths) and under `/api/v1`.
fn resources() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .merge(users::router())
        .merge(venues::router())
        .merge(interactions::router())
        .merge(social::router())
        .merge(plans::router())
}

/// Every documented route, with the document.
fn routes() -> (Router<App>, OpenApi) {
    let resources = resources();
    let (legacy_routes, resource_doc) = resources.clone().split_for_parts();
    let (routes, mut doc) = OpenApiRouter::with_openapi(docs::base())
        .nest("/api/v1", resources.merge(reco::router()).merge(bookings::router()))
        .merge(reco::legacy_router())
        .merge(bookings::legacy_router())
        .merge(auth::tokens::router())
        .merge(admin::router())
        .merge(model::router())
        .merge(check::router())
        .merge(map::router())
        .merge(simulation::router())
        .merge(streams::router())
        .merge(stats::router())
        .merge(health::router())
        .merge(metrics::router())
        .split_for_parts();
    doc.merge(docs::legacy(resource_doc));
    auth::security_doc::document(&mut doc);
    docs::complete(&mut doc);
    (routes.merge(legacy_routes), doc)
}

/// The OpenAPI 3 document of every operation (also served at `/openapi.json`).
pub fn openapi() -> OpenApi {
    routes().1
}

/// The whole service with default [`ServeOptions`].
pub fn router(app: App) -> Router {
    router_with(app, &ServeOptions::default())
}

/// The whole service: routes, docs, metrics and the middleware stack.
pub fn router_with(app: App, opts: &ServeOptions) -> Router {
    let sim = Arc::new(Simulator::new(app.clone()));
    service(app, opts, sim)
}

/// [`router_with`] around the app's simulator `sim`.
fn service(app: App, opts: &ServeOptions, sim: Arc<Simulator>) -> Router {
    metrics::handle();
    let (routes, doc) = routes();
    let mut inner = routes
        .route("/openapi.json", docs::openapi_json(&doc))
        .fallback(dashboard::serve)
        // After routing (so the matched route's rule is known), before every handler.
        .layer(axum::middleware::from_fn_with_state(
            auth::AuthState { app: app.clone(), auth: opts.auth.clone() },
            auth::enforce,
        ));
    if opts.rate_limit.enabled {
        // After routing too (the rules mark the password routes), before the auth check.
        let limiter = rate_limit::PasswordLimiter::new(&opts.rate_limit);
        inner = inner.layer(axum::middleware::from_fn_with_state(limiter, rate_limit::enforce_passwords));
    }
    let inner = inner
        .layer(axum::Extension(opts.auth.clone()))
        .layer(axum::Extension(auth::LoginThrottle::new(&opts.rate_limit)))
        .layer(simulation::layer(sim))
        .layer(axum::middleware::from_fn_with_state(app.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(opts.body_limit_bytes))
        .with_state(app);
    // Outside the router, so `/users/` is trimmed to `/users` before routing.
    let normalized = NormalizePathLayer::trim_trailing_slash().layer(inner);
    let mut service = Router::new()
        .merge(docs::swagger_ui())
        .merge(docs::redoc())
        .fallback_service(normalized)
        .layer(RequestBodyLimitLayer::new(opts.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(opts.request_timeout, request_timeout))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::map_response(error::json_errors));
    if opts.rate_limit.enabled {
        let limiter = RateLimiter::new(opts.rate_limit.clone(), opts.auth.clone());
        service = service.layer(axum::middleware::from_fn_with_state(limiter, rate_limit::enforce));
    }
    if opts.dev {
        service = service.layer(CorsLayer::permissive());
    }
    service
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The demo seed's route: the one a request timeout does not cut.
const SEED_PATH: &str = "/api/v1/admin/data/seed";

/// Answers 408 to a request slower than `limit`, but for a demo seed, which is answered when it
/// is done: it runs to its end in its own task whatever the answer, and a 408 is sent again by
/// browsers (Chromium re-sends a POST answered 408 on a kept-alive connection), each time a
/// forced reseed (QA, dashboard on the real binary: a 20,000-user seed outlasted the 30 s, and
/// the database was deleted and seeded a second time while the dialog said 'Working…').
pub(crate) async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.method() == axum::http::Method::POST && req.uri().path().trim_end_matches('/') == SEED_PATH {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

fn request_span(req: &Request) -> tracing::Span {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let uri = auth::redacted_uri(req.uri());
    tracing::info_span!("request", method = %req.method(), uri = %uri, request_id)
}

/// How long a shutdown waits for a running simulation's tick to end, to announce its stop.
const SIM_SHUTDOWN: Duration = Duration::from_secs(5);

/// Serves the API on `listener` until `shutdown` resolves, then stops a running simulation
/// (announcing it, reason `shutdown`) and drains in-flight requests.
/// Each request carries its peer address (`ConnectInfo`), which the rate limiter keys on.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = {
        let (app, auth) = (app.clone(), opts.auth.clone());
        let tasks = app.tasks.clone();
        tasks.supervise("admin_token_follower", move || auth::follow_admin_token(app.clone(), auth.clone()))
    };
    let telemetry = app.telemetry.clone();
    // In-flight requests get their timeout and a little more to finish; then the server stops
    // (POST /api/v1/admin/data/seed, which has no timeout, is then not answered if still running).
    let grace = opts.request_timeout + Duration::from_secs(2);
    let sim = Arc::new(Simulator::new(app.clone()));
    let service = service(app, &opts, Arc::clone(&sim));
    let service = service.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        // Its `simulation.stopped` (reason `shutdown`) reaches the streams before they close.
        sim.shut_down(SIM_SHUTDOWN).await;
        telemetry.close_streams();
        let _ = draining_tx.send(());
    };
    let served = axum::serve(listener, service).with_graceful_shutdown(signal).into_future();
    let deadline = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = served => served,
        _ = deadline => {
            tracing::warn!(?grace, "requests still running after the grace period; stopping anyway");
            Ok(())
        }
    };
    follower.abort();
    served
}
