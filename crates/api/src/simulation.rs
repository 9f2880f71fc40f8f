//! The simulation endpoints of the first seed document under `/api/v1/simulation`: start,
//! pause, resume, stop, reset, speed (`{"speed": 50}` or the seed's `{"multiplier": 50}`),
//! scenario (trigger one now), and the scenarios, state and metrics reads. One run at a time:
//! a transition that makes no sense (pausing a stopped run, starting while one runs) is a 409.
//! The [`Simulator`] lives in a request extension added by [`layer`], one per router.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::sim::{MetricsSnapshot, RunOptions, SCENARIOS, ScenarioId, SimState, Simulator, Speed, SpeedInput};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, NoOptions};

type Sim = Extension<Arc<Simulator>>;

/// The extension every simulation handler reads: one simulator for the app.
pub fn layer(sim: Arc<Simulator>) -> Extension<Arc<Simulator>> {
    Extension(sim)
}

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(start_simulation))
        .routes(routes!(pause_simulation))
        .routes(routes!(resume_simulation))
        .routes(routes!(stop_simulation))
        .routes(routes!(reset_simulation))
        .routes(routes!(set_simulation_speed))
        .routes(routes!(trigger_scenario))
        .routes(routes!(list_scenarios))
        .routes(routes!(simulation_state))
        .routes(routes!(simulation_metrics))
}

/// A run's `duration`: a text with its unit. A bare number is refused with the way to write it,
/// not serde's "invalid type: integer, expected a string", which does not say what string.
fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text)),
        serde_json::Value::Number(n) => Err(serde::de::Error::custom(format!(
            "{n} has no unit: write the duration as a text such as \"{n}m\", \"{n}h\" or \"{n}s\" (4h, 90m, 1h30m, 2d)"
        ))),
        _ => Err(serde::de::Error::custom("must be a duration text such as 4h, 90m, 1h30m or 2d")),
    }
}

/// Speed of a new run when none is given.
const DEFAULT_SPEED: f64 = 10.0;

/// The body of `POST /api/v1/simulation/start`; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Scenario (default `normal`): its id or its name as `GET /api/v1/simulation/scenarios`
    /// lists them (`lunch_rush` or `Lunch Rush`), in any case, spaces, `-` and `_` alike, as
    /// `luna simulate --scenario` takes it; another is a 422 on `scenario` listing them.
    #[serde(default, deserialize_with = "app::sim::scenario_by_id_or_name_opt")]
    #[schema(value_type = Option<String>, example = "Lunch Rush")]
    pub scenario: Option<ScenarioId>,
    /// Simulated seconds per second, above 0 and at most 100, or `"max"` (default 10).
    pub speed: Option<SpeedInput>,
    /// At most this many of the stored users act, the first in id order, 1 to 1000000
    /// (default 1000).
    #[serde(default, deserialize_with = "users_in_range")]
    #[schema(value_type = Option<crate::ranges::SimUsersRange>, inline)]
    pub users: Option<usize>,
    /// Random seed: the same seed and settings give the same actions (default 42).
    pub seed: Option<u64>,
    /// Simulated time to run for, such as `4h` or `90m`, run in whole simulated minutes (cut
    /// down, at least one: `90s` runs one). Without one the run goes on until
    /// stopped, or until its clock reaches the booking horizon (366 days past the wall clock at
    /// its start), where it stops itself: its state then reads `stopped`, with the `stop_reason`
    /// `booking_horizon`, and `simulation.stopped` is published as for any stop. A number is
    /// refused: it has no unit (`30` is a 422 saying to write `30m`, `30h` or `30s`).
    #[serde(default, deserialize_with = "duration_text")]
    pub duration: Option<String>,
    /// Simulated start (default: the scenario's usual start at or after the end of the seeded
    /// history: that of the city the run seeds, else the demo settings' `as_of`, else the
    /// current hour). Give it to reproduce a run. It must lie from the year 2000 to 366 days
    /// (the booking horizon) from now, and so must the run's end (`start_at` + `duration`).
    #[serde(default, deserialize_with = "domain::time::to_micros_opt")]
    pub start_at: Option<DateTime<Utc>>,
}

/// `users` as sent, naming its range when it is no whole number a `usize` holds ([`crate::whole`]).
fn users_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    crate::whole::opt(d, crate::ranges::SIM_USERS)
}

impl StartRequest {
    /// The run's options, checked against `now` (the wall clock), naming every bad field.
    fn parse(self, now: DateTime<Utc>) -> ApiResult<RunOptions> {
        let mut bad: Vec<FieldError> = Vec::new();
        let defaults = RunOptions::default();
        let speed = match &self.speed {
            None => Speed::Times(DEFAULT_SPEED),
            Some(s) => Speed::parse(s, "speed").unwrap_or_else(|e| {
                bad.extend(e.0);
                Speed::Max
            }),
        };
        let duration = self.duration.as_deref().map(app::sim::parse_duration).transpose().unwrap_or_else(|e| {
            bad.push(FieldError { field: "duration".into(), message: e });
            None
        });
        let opts = RunOptions {
            scenario: self.scenario.unwrap_or(ScenarioId::Normal),
            speed,
            users: self.users.unwrap_or(defaults.users),
            seed: self.seed.unwrap_or(defaults.seed),
            duration,
            start_at: self.start_at,
            ..defaults
        };
        if let Err(e) = opts.validate(now) {
            bad.extend(e.0);
        }
        if bad.is_empty() { Ok(opts) } else { Err(ApiError::Validation(bad)) }
    }
}

/// Start a simulation. An empty database is first seeded with the demo city.
#[utoipa::path(post, path = "/api/v1/simulation/start", tag = "simulation",
    request_body(content = Option<StartRequest>, description = "Optional; an empty body takes the defaults"),
    responses(
        (status = 200, description = "Started", body = SimState),
        (status = 409, description = "A simulation is already running", body = ErrorBody),
        (status = 422, description = "Bad fields, every one named in the one 422's `details`: such as a `start_at` before the year 2000 or more than 366 days (the booking horizon) from now, a run that would end past that horizon, a `speed`, `users` or `duration` out of range, or an unknown `scenario`", body = ErrorBody),
    ))]
async fn start_simulation(
    State(app): State<App>,
    Extension(sim): Sim,
    body: Option<AppJson<StartRequest>>,
) -> ApiResult<AppJson<SimState>> {
    let opts = body.map(|b| b.0).unwrap_or_default().parse(app.now())?;
    let demo = app.settings.demo.clone();
    // A task of its own, so a dropped connection cannot stop seeding or loading half-way.
    let task = tokio::spawn(async move { sim.start(opts, Some(demo)).await });
    let state = task.await.map_err(|e| ApiError::Internal(format!("simulation start task: {e}")))??;
    Ok(AppJson(state))
}

/// Pause the running simulation at the end of its current simulated minute: the answer comes
/// once that minute has run, and its state (ticks, simulation time) is where the run stays.
#[utoipa::path(post, path = "/api/v1/simulation/pause", tag = "simulation",
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses((status = 200, description = "Paused", body = SimState),
        (status = 409, description = "Nothing is running, or already paused", body = ErrorBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "A body with a field: it takes none", body = ErrorBody),))]
async fn pause_simulation(Extension(sim): Sim, _: NoOptions) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.pause().await?))
}

/// Resume a paused simulation.
#[utoipa::path(post, path = "/api/v1/simulation/resume", tag = "simulation",
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses((status = 200, description = "Resumed", body = SimState),
        (status = 409, description = "Nothing is paused", body = ErrorBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "A body with a field: it takes none", body = ErrorBody),))]
async fn resume_simulation(Extension(sim): Sim, _: NoOptions) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.resume().await?))
}

/// Stop the simulation; its state and metrics stay readable until the next start or reset, its
/// `stop_reason` `requested` (or that of a stop that came first, such as the booking horizon's).
#[utoipa::path(post, path = "/api/v1/simulation/stop", tag = "simulation",
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses((status = 200, description = "Stopped", body = SimState),
        (status = 409, description = "Nothing is running", body = ErrorBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "A body with a field: it takes none", body = ErrorBody),))]
async fn stop_simulation(Extension(sim): Sim, _: NoOptions) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.stop().await?))
}

/// Stop any simulation and forget it (stored data is left alone; see the admin reset).
#[utoipa::path(post, path = "/api/v1/simulation/reset", tag = "simulation",
    request_body(content = Option<NoOptions>, description = "None, or an empty object: it takes no options (a field \
        is refused, 422, and nothing is done)"),
    responses((status = 200, description = "Back to idle", body = SimState),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "A body with a field: it takes none", body = ErrorBody),))]
async fn reset_simulation(Extension(sim): Sim, _: NoOptions) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.reset().await?))
}

/// The body of `POST /api/v1/simulation/speed`: `speed`, or the seed's earlier `multiplier`.
/// Both may be given only with the same speed (`50` and `"50"` are the same); two different
/// speeds are a 422 naming both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeedRequest {
    /// Above 0 and at most 100, or `"max"`.
    pub speed: Option<SpeedInput>,
    /// The same, under the first seed document's earlier name.
    pub multiplier: Option<SpeedInput>,
}

impl SpeedRequest {
    /// The speed asked for, naming every bad field.
    fn parse(&self) -> ApiResult<Speed> {
        match (&self.speed, &self.multiplier) {
            (Some(s), None) => Ok(Speed::parse(s, "speed")?),
            (None, Some(m)) => Ok(Speed::parse(m, "multiplier")?),
            (None, None) => Err(ApiError::field("speed", "give `speed` (or `multiplier`)")),
            (Some(s), Some(m)) => {
                let (s, m) = (Speed::parse(s, "speed"), Speed::parse(m, "multiplier"));
                match (s, m) {
                    (Ok(s), Ok(m)) if s == m => Ok(s),
                    (Ok(_), Ok(_)) => {
                        let message = "`speed` and `multiplier` name the same setting: give one, or both equal";
                        Err(ApiError::Validation(
                            ["speed", "multiplier"]
                                .map(|f| FieldError { field: f.into(), message: message.into() })
                                .into(),
                        ))
                    }
                    (s, m) => {
                        Err(ApiError::Validation([s.err(), m.err()].into_iter().flatten().flat_map(|e| e.0).collect()))
                    }
                }
            }
        }
    }
}

/// Change the speed of the running simulation.
#[utoipa::path(post, path = "/api/v1/simulation/speed", tag = "simulation", request_body = SpeedRequest,
    responses((status = 200, description = "Speed changed", body = SimState),
        (status = 409, description = "Nothing is running", body = ErrorBody),
        (status = 422, description = "No speed, a speed out of range, or `speed` and `multiplier` both given and different", body = ErrorBody)))]
async fn set_simulation_speed(
    Extension(sim): Sim,
    AppJson(body): AppJson<SpeedRequest>,
) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.set_speed(body.parse()?).await?))
}

/// The body of `POST /api/v1/simulation/scenario`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRequest {
    /// The scenario's id or name, read as in `POST /api/v1/simulation/start`.
    #[serde(deserialize_with = "app::sim::scenario_by_id_or_name")]
    #[schema(value_type = String, example = "friday_night")]
    pub scenario: ScenarioId,
}

/// Trigger a scenario in the running simulation, from now on.
#[utoipa::path(post, path = "/api/v1/simulation/scenario", tag = "simulation", request_body = ScenarioRequest,
    responses((status = 200, description = "Triggered", body = SimState),
        (status = 409, description = "Nothing is running", body = ErrorBody),
        (status = 422, description = "Unknown scenario (the message lists every id and name)", body = ErrorBody)))]
async fn trigger_scenario(
    Extension(sim): Sim,
    AppJson(body): AppJson<ScenarioRequest>,
) -> ApiResult<AppJson<SimState>> {
    Ok(AppJson(sim.trigger(body.scenario).await?))
}

/// One scenario as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioInfo {
    pub id: ScenarioId,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioList {
    pub scenarios: Vec<ScenarioInfo>,
}

/// The scenarios a run can start with or trigger.
#[utoipa::path(get, path = "/api/v1/simulation/scenarios", tag = "simulation",
    responses((status = 200, description = "Every scenario", body = ScenarioList)))]
async fn list_scenarios() -> AppJson<ScenarioList> {
    let list =
        SCENARIOS.iter().map(|s| ScenarioInfo { id: s.id, name: s.name.into(), description: s.description.into() });
    AppJson(ScenarioList { scenarios: list.collect() })
}

/// Where the simulation stands.
///
/// A stopped run's `stop_reason` says why it stopped: `requested`, `data_reset` (a data reset or
/// forced reseed), `booking_horizon` (a run without a duration whose clock reached it),
/// `shutdown` (its server shut down) or `failed` (the run broke down: the server's log says
/// why); it is `null` in every other status.
#[utoipa::path(get, path = "/api/v1/simulation/state", tag = "simulation",
    responses((status = 200, description = "The state", body = SimState)))]
async fn simulation_state(Extension(sim): Sim) -> AppJson<SimState> {
    AppJson(sim.state().await)
}

/// The answer of `GET /api/v1/simulation/metrics`: the run's metrics, and beside them the first
/// seed document's view of where the run stands (the same values as `/state`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SimMetrics {
    #[serde(flatten)]
    pub metrics: MetricsSnapshot,
    /// How many users act in the run (0 when idle).
    pub active_users: usize,
    /// Simulated time now (`null` when idle).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub simulation_time: Option<domain::Timestamp>,
    /// The speed multiplier (`null` at `max` or when idle).
    pub speed_multiplier: Option<f64>,
    pub scenario: ScenarioId,
    pub running: bool,
    pub paused: bool,
}

/// What the current (or last) run did: actions per second and by type, reads and writes,
/// bookings, recommendation click-through and conversion, social activity, failures; with the
/// first seed document's `active_users` (a count), `simulation_time`, `speed_multiplier`,
/// `scenario`, `running` and `paused`.
#[utoipa::path(get, path = "/api/v1/simulation/metrics", tag = "simulation",
    responses((status = 200, description = "The metrics", body = SimMetrics)))]
async fn simulation_metrics(Extension(sim): Sim) -> AppJson<SimMetrics> {
    // One run's both: a start or reset between two reads would mix two runs.
    let (metrics, st) = sim.metrics_and_state().await;
    AppJson(SimMetrics {
        metrics,
        active_users: st.active_users,
        simulation_time: st.simulation_time,
        speed_multiplier: st.speed_multiplier,
        scenario: st.scenario,
        running: st.running,
        paused: st.paused,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_document_says_why_a_run_stopped_and_where_a_run_without_a_duration_ends() {
        let doc = serde_json::to_value(crate::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let reason = &schemas["SimState"]["properties"]["stop_reason"];
        assert!(reason.to_string().contains("#/components/schemas/StopReason"), "{reason}");
        assert!(reason.to_string().contains("stopped"), "{reason}");
        assert_eq!(
            schemas["StopReason"]["enum"],
            json!(["requested", "data_reset", "booking_horizon", "shutdown", "failed"])
        );
        let duration = schemas["StartRequest"]["properties"]["duration"]["description"].as_str().unwrap_or_default();
        assert!(duration.contains("booking horizon") && duration.contains("`booking_horizon`"), "{duration}");
        assert!(duration.contains("whole simulated minutes"), "{duration}");
        let state = doc["paths"]["/api/v1/simulation/state"]["get"]["description"].as_str().unwrap_or_default();
        for reason in ["requested", "data_reset", "booking_horizon", "shutdown", "failed"] {
            assert!(state.contains(&format!("`{reason}`")), "{reason} is not in {state:?}");
        }
    }
}
