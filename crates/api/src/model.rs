//! The learned model, for the admin: `GET /api/v1/admin/model` (its fit to the data held, what
//! to warn of, the trainings) and `POST /api/v1/admin/model/train` (train it in the server on
//! the data held now, write it to `model_path` and put it to use). Admin only (`auth::rules`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::App;
use app::reco::training::{self, ModelStatus, TrainingState};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(model_status)).routes(routes!(train_model))
}

/// Optional body of a training request; omitted fields take `luna train`'s defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// Passes over the interactions, 1 to 10000 (default 20).
    #[serde(default, deserialize_with = "epochs_in_range")]
    #[schema(value_type = Option<crate::ranges::EpochsRange>, inline)]
    pub epochs: Option<usize>,
    /// Latent dimensions, 1 to 512 (default 32).
    #[serde(default, deserialize_with = "factors_in_range")]
    #[schema(value_type = Option<crate::ranges::FactorsRange>, inline)]
    pub factors: Option<usize>,
    /// Random seed (initialisation and sampling; default 42): same seed and data, same model.
    pub seed: Option<u64>,
}

/// `epochs` and `factors` as sent, naming their ranges when they are no whole number a `usize`
/// holds ([`crate::whole`]).
fn epochs_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    crate::whole::opt(d, crate::ranges::EPOCHS)
}

fn factors_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    crate::whole::opt(d, crate::ranges::FACTORS)
}

fn bad_range(
    bad: &mut Vec<domain::FieldError>,
    field: &str,
    value: Option<usize>,
    range: std::ops::RangeInclusive<usize>,
) {
    if value.is_some_and(|v| !range.contains(&v)) {
        let message = format!("must be between {} and {}", range.start(), range.end());
        bad.push(domain::FieldError { field: field.into(), message });
    }
}

/// The learned model in use: the model file, how many of the users and venues held it was
/// trained with, a warning when the learned ranker cannot work (no model loaded while there are
/// interactions, or one that knows none of the users or none of the venues held: trained on
/// other data or before a reset or reseed), and the trainings (the one running, epoch by epoch,
/// and how the last ended).
#[utoipa::path(get, path = "/api/v1/admin/model", tag = "admin",
    responses((status = 200, description = "The model and the trainings", body = ModelStatus)))]
async fn model_status(State(app): State<App>) -> ApiResult<AppJson<ModelStatus>> {
    // Counting the users and venues the model knows walks every user: off the async workers for
    // very large cities (the dashboard polls this).
    let status = tokio::task::spawn_blocking(move || app.model_status())
        .await
        .map_err(|e| ApiError::Internal(format!("model status task: {e}")))?;
    Ok(AppJson(status))
}

/// Train the learned model (BPR) on the data the server holds now, in the background.
///
/// Answers at once (202) with the trainings' state; follow it with `GET /api/v1/admin/model`.
/// When it ends, the model is written to the model file (`model_path`, whole or not at all) and
/// put to use by the running server, and `model.trained` is published on the `system` channel;
/// a failure is kept as the last training's `error`, the model before staying in use. One at a
/// time. Under `luna serve --demo`, every seed through the API starts one by itself.
#[utoipa::path(post, path = "/api/v1/admin/model/train", tag = "admin",
    request_body(content = Option<TrainRequest>, description = "Optional; an empty body takes the defaults"),
    responses(
        (status = 202, description = "Training started", body = TrainingState),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "A training is already running, or there are no interactions to learn from \
            (nothing is trained or written)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
        (status = 422, description = "Settings out of range (`epochs` 1 to 10000, `factors` 1 to 512, as for `luna \
            train`), every bad field named; nothing is started", body = ErrorBody),
    ))]
async fn train_model(
    State(app): State<App>,
    body: Option<AppJson<TrainRequest>>,
) -> ApiResult<(StatusCode, AppJson<TrainingState>)> {
    let body = body.map(|b| b.0).unwrap_or_default();
    let mut bad = Vec::new();
    bad_range(&mut bad, "epochs", body.epochs, training::EPOCHS);
    bad_range(&mut bad, "factors", body.factors, training::FACTORS);
    if !bad.is_empty() {
        return Err(ApiError::Validation(bad));
    }
    // Whether there is anything to learn from walks every user (as GET /admin/model's status):
    // off the async workers too.
    let cfg = training::config(body.epochs, body.factors, body.seed);
    let state = tokio::task::spawn_blocking(move || app.start_training(cfg))
        .await
        .map_err(|e| ApiError::Internal(format!("training start task: {e}")))??;
    Ok((StatusCode::ACCEPTED, AppJson(state)))
}
