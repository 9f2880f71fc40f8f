//! `GET /health` (also `/health/`, as the second seed document's code serves it): the seed's
//! `{"status": "healthy", "service": "Luna API Service"}` plus the version and the database's
//! state. A failing database ping answers 503 with status `degraded`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use store::Backend;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(health))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `healthy`, or `degraded` when the database does not answer.
    pub status: String,
    /// Always `Luna API Service`.
    pub service: String,
    pub version: String,
    pub database: DatabaseHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

/// Liveness and database health.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Degraded: the database does not answer", body = Health),
    ))]
async fn health(State(app): State<App>) -> (StatusCode, AppJson<Health>) {
    let ping = app.store.ping().await;
    if let Err(e) = &ping {
        tracing::warn!(error = %e, "health check: database ping failed");
    }
    let (status, body) = report(ping.is_ok(), app.store.backend());
    (status, AppJson(body))
}

/// The health answer for a database that did (or did not) answer its ping.
fn report(database_ok: bool, backend: Backend) -> (StatusCode, Health) {
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let (status, overall, db) = match database_ok {
        true => (StatusCode::OK, "healthy", "ok"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "degraded", "unavailable"),
    };
    let body = Health {
        status: overall.into(),
        service: "Luna API Service".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: DatabaseHealth { status: db.into(), backend: backend.into() },
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_database_makes_the_service_degraded_with_a_503() {
        let (status, body) = report(false, Backend::Postgres);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!((body.status.as_str(), body.database.status.as_str()), ("degraded", "unavailable"));
        assert_eq!(body.service, "Luna API Service");
        assert_eq!(report(true, Backend::Sqlite).0, StatusCode::OK);
    }
}
