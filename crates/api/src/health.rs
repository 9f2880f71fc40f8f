//! `GET /health` (also `/health/`, as the second seed document's code serves it): the seed's
//! `{"status": "healthy", "service": "Luna API Service"}` plus the version and the state of the
//! database, of the event bus and of the supervised background tasks. A failing database
//! answers 503 with status `degraded`. A busy one (its ping waited [`DATABASE_PING`] for a pooled
//! connection, and the database can be reached) answers 200 with status `degraded` and the
//! database `busy`: the server is working through a queue, and a load balancer that took it out
//! of rotation would put its load on the others. A failing bus, or a background task that is down
//! (between a panic and its restart), answers 200 with status `degraded`: the server keeps
//! serving, and the events of its writes wait in the outbox until the bus (or relay) returns.
//! So does a bus whose trimming fails (`bus.trim_error`): events still flow, but its streams
//! grow without bound until trimming works again. Both pings are bounded in time, so an
//! unreachable database is answered as a 503 within about 2 s (a busy one within about 2 to
//! 3.5 s, the time to check that it can be reached), before a load balancer's probe gives up, not
//! after the connection pool's own wait for a connection.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use store::Backend;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::supervise::TaskHealth;
use bus::TrimState;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(health))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `healthy`, or `degraded` when the database does not answer (a 503) or is `busy` (a 200),
    /// the event bus does not answer, the bus's trimming fails (`bus.trim_error`) or a background
    /// task is down.
    pub status: String,
    /// Always `Luna API Service`.
    pub service: String,
    pub version: String,
    pub database: DatabaseHealth,
    pub bus: BusHealth,
    /// The supervised background tasks by name (`relay`, `engine_follower`, `metrics_watcher`,
    /// `metrics_snapshots`, `booking_janitor`, `admin_token_follower`): each `running`, or
    /// `down` until its restart, with its restarts and last failure.
    pub tasks: BTreeMap<String, TaskHealth>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BusHealth {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `memory` or `redis`.
    pub backend: String,
    /// Trims of the bus's history that failed since the server started (always 0 on `memory`).
    /// A failed trim loses no event: the stream grows past its length instead.
    pub trim_failures: u64,
    /// While trimming fails (the latest trim of some channel failed: e.g. a Redis user without
    /// the scripting commands), that failure as `<channel>: trim failed (<Redis error code>; ...)`
    /// (the whole error, which can name the server's Redis user, is in the server's log only),
    /// and the service is `degraded`; null once that channel trims again, or five minutes after
    /// the failure if nothing was published on it since (its stream grows no more).
    pub trim_error: Option<String>,
}

/// What the bus said: whether it answered its ping, its backend, how its trimming goes.
struct BusCheck<'a> {
    ok: bool,
    backend: &'a str,
    trim: TrimState,
}

/// How long the bus may take to answer its ping.
const BUS_PING: Duration = Duration::from_secs(1);

/// How long the database may take to answer its ping before `/health` asks whether it can be
/// reached at all. Without a bound, a PostgreSQL that cannot be reached held `/health` for the
/// pool's whole wait for a connection (10 s), so probes timed out instead of reading the 503 that
/// says the database is down. Longer than the bus's: under load a healthy server's ping may wait
/// a moment for a pooled connection.
const DATABASE_PING: Duration = Duration::from_secs(2);

/// How long, once the ping has waited [`DATABASE_PING`], the store may take to say whether the
/// database can be reached (its probe takes 1.5 s at most) before it counts as unavailable.
const DATABASE_REACH: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    /// `ok`; `busy` when the ping found no free pooled connection within 2 s but the database
    /// can be reached (every connection is in use: heavy load, or requests queued behind a lock
    /// or a long import; the service is `degraded`, still a 200, and requests wait up to 10 s for
    /// a connection); or `unavailable` when it cannot be reached or answers with an error (a
    /// 503).
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

/// Liveness, database and event bus health.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Healthy, or degraded because the event bus does not answer, its trimming \
            fails (`bus.trim_error`: events flow, its streams grow) or a background task is down (it is restarted \
            after a backoff; see `tasks`), or because the database is busy (`database.status` `busy`: its ping \
            waited 2 s for a pooled connection, and it can be reached)", body = Health),
        (status = 503, description = "Degraded: the database cannot be reached or answers with an error \
            (within about 2 s)", body = Health),
    ))]
async fn health(State(app): State<App>) -> (StatusCode, AppJson<Health>) {
    let database = check_database(app.store.as_ref()).await;
    match &database {
        DatabaseCheck::Ok => {}
        DatabaseCheck::Busy => tracing::warn!(
            "health check: database busy (no pooled connection for the ping within {DATABASE_PING:?}; \
             the database can be reached)"
        ),
        DatabaseCheck::Unavailable(e) => tracing::warn!(error = %e, "health check: database ping failed"),
    }
    let bus = tokio::time::timeout(BUS_PING, app.bus.ping()).await;
    if !matches!(bus, Ok(Ok(()))) {
        tracing::warn!(?bus, "health check: event bus ping failed");
    }
    let bus = BusCheck { ok: matches!(bus, Ok(Ok(()))), backend: app.bus.backend(), trim: app.bus.trim_state() };
    if let Some(e) = &bus.trim.error {
        // The bus logs a channel's trims starting to fail and working again; at every poll (the
        // dashboard's every 3 s, a balancer's probes) this is only detail.
        tracing::debug!(error = %e, failures = bus.trim.failures, "health check: event bus trimming fails");
    }
    let tasks = app.tasks.report();
    let down: Vec<&str> = tasks.iter().filter(|(_, t)| t.status != "running").map(|(n, _)| n.as_str()).collect();
    if !down.is_empty() {
        tracing::warn!(?down, "health check: background tasks down");
    }
    let (status, body) = report(&database, app.store.backend(), bus, tasks);
    (status, AppJson(body))
}

/// What the database's ping found.
#[derive(Debug)]
enum DatabaseCheck {
    Ok,
    /// No pooled connection for the ping within [`DATABASE_PING`], but the database can be
    /// reached: every connection is in use.
    Busy,
    /// It cannot be reached, answered with an error, or neither answered nor said whether it can
    /// be reached in time; why.
    Unavailable(String),
}

/// Pings the database; a ping still waiting after [`DATABASE_PING`] (for a pooled connection,
/// usually) keeps waiting while the store says whether the database can be reached at all. The
/// store's requests ask the same probe, so its verdict is usually already there (a ping that
/// waited half a second asked it): a refused connection is a 503 within about 0.5 s, one that is
/// not answered within about 2 s.
async fn check_database(store: &dyn store::Store) -> DatabaseCheck {
    let answered = |answer: store::StoreResult<()>| match answer {
        Ok(()) => DatabaseCheck::Ok,
        Err(e) => DatabaseCheck::Unavailable(e.to_string()),
    };
    let mut ping = std::pin::pin!(store.ping());
    if let Ok(answer) = tokio::time::timeout(DATABASE_PING, &mut ping).await {
        return answered(answer);
    }
    let reach = async {
        match tokio::time::timeout(DATABASE_REACH, store.reachable()).await {
            Ok(Ok(())) => DatabaseCheck::Busy,
            Ok(Err(e)) => DatabaseCheck::Unavailable(e.to_string()),
            Err(_) => DatabaseCheck::Unavailable(format!(
                "no answer within {DATABASE_PING:?}, and not known within {DATABASE_REACH:?} more whether it can be reached"
            )),
        }
    };
    tokio::select! {
        biased;
        answer = &mut ping => answered(answer),
        verdict = reach => verdict,
    }
}

/// The health answer for what the database's ping found, the bus and the background tasks.
fn report(
    database: &DatabaseCheck,
    backend: Backend,
    bus: BusCheck<'_>,
    tasks: BTreeMap<String, TaskHealth>,
) -> (StatusCode, Health) {
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let state = |ok: bool| if ok { "ok" } else { "unavailable" };
    let tasks_ok = tasks.values().all(|t| t.status == "running");
    let bus_ok = bus.ok && bus.trim.error.is_none();
    let (status, overall) = match (database, bus_ok && tasks_ok) {
        (DatabaseCheck::Ok, true) => (StatusCode::OK, "healthy"),
        (DatabaseCheck::Ok | DatabaseCheck::Busy, _) => (StatusCode::OK, "degraded"),
        (DatabaseCheck::Unavailable(_), _) => (StatusCode::SERVICE_UNAVAILABLE, "degraded"),
    };
    let database_status = match database {
        DatabaseCheck::Ok => "ok",
        DatabaseCheck::Busy => "busy",
        DatabaseCheck::Unavailable(_) => "unavailable",
    };
    let body = Health {
        status: overall.into(),
        service: "Luna API Service".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: DatabaseHealth { status: database_status.into(), backend: backend.into() },
        bus: BusHealth {
            status: state(bus.ok).into(),
            backend: bus.backend.into(),
            trim_failures: bus.trim.failures,
            trim_error: bus.trim.error,
        },
        tasks,
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bus that did (or did not) answer its ping, and whose trims all succeeded.
    fn answering(ok: bool, backend: &str) -> BusCheck<'_> {
        BusCheck { ok, backend, trim: TrimState::default() }
    }

    #[test]
    fn a_silent_database_makes_the_service_degraded_with_a_503() {
        let (status, body) = report(
            &DatabaseCheck::Unavailable("refused".into()),
            Backend::Postgres,
            answering(true, "redis"),
            BTreeMap::new(),
        );
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!((body.status.as_str(), body.database.status.as_str()), ("degraded", "unavailable"));
        assert_eq!(body.service, "Luna API Service");
        assert_eq!(
            report(&DatabaseCheck::Ok, Backend::Sqlite, answering(true, "memory"), BTreeMap::new()).0,
            StatusCode::OK
        );
    }

    #[test]
    fn a_busy_database_makes_the_service_degraded_but_still_serving() {
        let (status, body) = report(&DatabaseCheck::Busy, Backend::Postgres, answering(true, "redis"), BTreeMap::new());
        assert_eq!(status, StatusCode::OK);
        assert_eq!((body.status.as_str(), body.database.status.as_str()), ("degraded", "busy"));
        let (status, body) =
            report(&DatabaseCheck::Busy, Backend::Postgres, answering(false, "redis"), BTreeMap::new());
        assert_eq!(
            (status, body.status.as_str(), body.bus.status.as_str()),
            (StatusCode::OK, "degraded", "unavailable")
        );
    }

    #[test]
    fn a_silent_bus_makes_the_service_degraded_but_still_serving() {
        let (status, body) = report(&DatabaseCheck::Ok, Backend::Postgres, answering(false, "redis"), BTreeMap::new());
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (body.status.as_str(), body.bus.status.as_str(), body.bus.backend.as_str()),
            ("degraded", "unavailable", "redis")
        );
        assert_eq!(body.database.status, "ok");
    }

    #[test]
    fn a_background_task_that_is_down_makes_the_service_degraded_but_still_serving() {
        let task = |status: &str| TaskHealth { status: status.into(), restarts: 1, last_failure: Some("ended".into()) };
        let tasks =
            BTreeMap::from([("relay".to_string(), task("down")), ("engine_follower".to_string(), task("running"))]);
        let (status, body) = report(&DatabaseCheck::Ok, Backend::Sqlite, answering(true, "memory"), tasks);
        assert_eq!(
            (status, body.status.as_str(), body.tasks["relay"].status.as_str()),
            (StatusCode::OK, "degraded", "down")
        );
        let tasks = BTreeMap::from([("relay".to_string(), task("running"))]);
        assert_eq!(report(&DatabaseCheck::Ok, Backend::Sqlite, answering(true, "memory"), tasks).1.status, "healthy");
    }

    #[test]
    fn a_bus_whose_trimming_fails_makes_the_service_degraded_but_still_serving_with_the_error() {
        let error = "bookings: trim failed (NOPERM; the server's log has the error)";
        let trim = TrimState { failures: 3, error: Some(error.into()) };
        let (status, body) = report(
            &DatabaseCheck::Ok,
            Backend::Postgres,
            BusCheck { ok: true, backend: "redis", trim },
            BTreeMap::new(),
        );
        assert_eq!((status, body.status.as_str(), body.bus.status.as_str()), (StatusCode::OK, "degraded", "ok"));
        assert_eq!((body.bus.trim_failures, body.bus.trim_error.as_deref()), (3, Some(error)));
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!((&json["bus"]["trim_failures"], &json["bus"]["trim_error"]), (&3.into(), &error.into()));

        // Trims that failed before but succeed now: counted, and healthy again.
        let trim = TrimState { failures: 3, error: None };
        let (status, body) = report(
            &DatabaseCheck::Ok,
            Backend::Postgres,
            BusCheck { ok: true, backend: "redis", trim },
            BTreeMap::new(),
        );
        assert_eq!((status, body.status.as_str(), body.bus.trim_failures), (StatusCode::OK, "healthy", 3));
        let json = serde_json::to_value(&body).unwrap();
        assert!(json["bus"]["trim_error"].is_null(), "present, and null: {json}");

        let (_, body) = report(&DatabaseCheck::Ok, Backend::Sqlite, answering(true, "memory"), BTreeMap::new());
        assert_eq!((body.bus.trim_failures, body.bus.trim_error), (0, None));
    }
}
