//! Training the learned model (BPR matrix factorisation) inside the running server, on the
//! engine it serves from: off the async workers, one training at a time, its progress readable
//! meanwhile. The model is written to `model_path` whole or not at all (as `luna train` writes
//! it) and put to use on the live engine; a reload cannot slip between the two (it would load
//! the file before the rename and swap in an engine without the new model).

use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use domain::Timestamp;
use engine::{Engine, EngineStats, MfModel, TrainConfig};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::model_mismatch;
use crate::{App, AppError, AppResult};

/// Latent dimensions a training may ask for (as `luna train --factors`).
pub const FACTORS: RangeInclusive<usize> = 1..=512;
/// Passes over the interactions a training may ask for (as `luna train --epochs`).
pub const EPOCHS: RangeInclusive<usize> = 1..=10_000;

/// A training under way.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrainingRun {
    /// Epochs done so far (0 until the first ends).
    pub epoch: usize,
    /// Epochs asked for.
    pub epochs: usize,
    pub factors: usize,
    pub seed: u64,
    /// Mean BPR loss of the last epoch done.
    pub loss: Option<f64>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub started_at: Timestamp,
}

/// How many of the users and venues the engine holds the model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ModelFit {
    pub users_known: usize,
    pub users_held: usize,
    pub venues_known: usize,
    pub venues_held: usize,
}

/// How the last training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingOutcome {
    /// Trained, written to the model file (if the server has one) and in use.
    Trained,
    /// Failed: see `error`; the model in use before is kept.
    Failed,
}

/// The last training that ended.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrainingResult {
    pub outcome: TrainingOutcome,
    pub epochs: usize,
    pub factors: usize,
    pub seed: u64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub started_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub finished_at: Timestamp,
    pub elapsed_ms: u64,
    /// The model's fit to the engine it was put to use on, as it was put to use.
    pub fit: Option<ModelFit>,
    /// Where it was written (none: the server has no model file, the model is in memory only).
    pub path: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Whether a training runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingPhase {
    #[default]
    Idle,
    Training,
}

/// The server's trainings: the one running, if any, and the last that ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, ToSchema)]
pub struct TrainingState {
    pub state: TrainingPhase,
    pub running: Option<TrainingRun>,
    pub last: Option<TrainingResult>,
}

/// The learned model in use: its file, its fit, what to warn the operator of, and the trainings.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModelStatus {
    /// The model file (`model_path`), loaded at every engine reload.
    pub path: Option<String>,
    pub file_exists: bool,
    /// When the model file was last written (none: no file).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub file_modified_at: Option<Timestamp>,
    /// When the file this server last loaded (or wrote by its own training) had been written
    /// (none: there was no file then).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros_opt")]
    pub loaded_file_modified_at: Option<Timestamp>,
    /// The file was written after this server loaded it (by another server on the same model
    /// file, or `luna train`): this server keeps the model it has (`loaded`, `fit`) until its
    /// next engine reload (a restart, or a reseed or reset of the data); `warning` says so.
    pub file_changed_since_load: bool,
    /// Whether the engine has a learned model loaded.
    pub loaded: bool,
    /// Its fit (zeros known when none is loaded).
    pub fit: ModelFit,
    /// (user, venue) pairs with interactions: what a training learns from.
    pub user_venue_pairs: usize,
    /// Set when the learned ranker cannot work: no model loaded while there are interactions to
    /// learn from, or a model that knows none of the users or none of the venues held.
    pub warning: Option<String>,
    pub training: TrainingState,
}

/// The trainings' state, shared by the server.
#[derive(Debug)]
pub struct Training {
    state: watch::Sender<TrainingState>,
    /// A training was asked for (after a reseed) while one ran on the data before: run again.
    again: AtomicBool,
    /// The server is shutting down ([`App::stop_training`]): the training running gives up and
    /// none starts.
    stopped: AtomicBool,
    /// How many data resets this server has heard of (the reset generation): its own
    /// ([`App::reset_data`], a forced seed) counted as it commits, another process's as the
    /// engine follower hears its `data.reset`. Each engine reload records the generation it
    /// loads (read before its scan begins); a training on an engine of an older generation
    /// learned data that is gone: it is discarded, not written nor put to use. A counter, not a
    /// time: a reset and the reload after it often fall in the same millisecond, and another
    /// server's clock says nothing about when this server's scan began.
    resets: AtomicU64,
    /// This server's own resets whose `data.reset` the engine follower has not heard yet: when
    /// it does, that reset was counted already (as it committed), so it is not counted again.
    own_resets_unheard: AtomicU64,
    /// When the model file in use had been written: the one the last engine reload read (none:
    /// there was none), or the one this server's last training wrote. A file written since is
    /// another's, not yet loaded here.
    pub(crate) loaded_file: std::sync::Mutex<Option<SystemTime>>,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            state: watch::Sender::default(),
            again: AtomicBool::default(),
            stopped: AtomicBool::default(),
            resets: AtomicU64::new(0),
            own_resets_unheard: AtomicU64::new(0),
            loaded_file: std::sync::Mutex::default(),
        }
    }
}

impl Training {
    /// This server is about to reset the data: its `data.reset`, which the engine follower may
    /// hear as soon as the reset commits (before [`Training::own_reset_ended`]), is its own.
    pub(crate) fn own_reset_begins(&self) {
        self.own_resets_unheard.fetch_add(1, Ordering::SeqCst);
    }

    /// This server's reset ended: `committed`, a training running on an engine loaded before it
    /// is discarded as it ends. Not committed, it is no longer waited for; returns `true` when
    /// the follower had meanwhile taken another server's reset for it (counted now instead: the
    /// engine must be reloaded, see [`Training::reset_heard`]).
    pub(crate) fn own_reset_ended(&self, committed: bool) -> bool {
        if committed {
            self.resets.fetch_add(1, Ordering::SeqCst);
            return false;
        }
        let waited = self.own_resets_unheard.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if waited.is_err() {
            self.resets.fetch_add(1, Ordering::SeqCst);
        }
        waited.is_err()
    }

    /// The engine follower heard a `data.reset`. This server's own (counted as it committed) is
    /// not counted again; another server's is, and returns `true`: the engine must then be
    /// reloaded whatever its scan's time, as only an engine whose scan began after this (so
    /// after that reset committed) is of the new generation. One heard while this server has a
    /// reset of its own begun and unheard is taken as that one: another server's committed
    /// before this server's (resets take turns), which counts as it commits, so the generation
    /// ends up past both either way; its own heard later is then counted as another's (one
    /// reload more, never one too few).
    pub(crate) fn reset_heard(&self) -> bool {
        let own =
            self.own_resets_unheard.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if !own {
            self.resets.fetch_add(1, Ordering::SeqCst);
        }
        !own
    }

    /// The engine follower may have missed events (a lag, a gap, a restart): any of them may
    /// have been a reset. Counted as one (the reload that follows loads the new generation), and
    /// this server's own unheard ones are forgotten, as their `data.reset` may be among those
    /// missed (one kept would take another server's next reset for its own).
    pub(crate) fn resets_maybe_missed(&self) {
        self.own_resets_unheard.store(0, Ordering::SeqCst);
        self.resets.fetch_add(1, Ordering::SeqCst);
    }

    /// The reset generation now (see [`Training::resets`]).
    pub(crate) fn reset_generation(&self) -> u64 {
        self.resets.load(Ordering::SeqCst)
    }
}

/// What a training whose data was reset under it ends with.
pub const DISCARDED_RESET: &str = "discarded: the data was reset during the training (the model learned data that is gone; nothing written, the model in use kept); train again on the new data";

/// When the file at `path` was last written (none: no file, or it cannot be read).
pub(crate) fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The training settings of the given options (`None`: the default); out of range is refused
/// by the caller (the API names every bad field), here it is clamped.
pub fn config(epochs: Option<usize>, factors: Option<usize>, seed: Option<u64>) -> TrainConfig {
    let d = TrainConfig::default();
    TrainConfig {
        epochs: epochs.unwrap_or(d.epochs).clamp(*EPOCHS.start(), *EPOCHS.end()),
        factors: factors.unwrap_or(d.factors).clamp(*FACTORS.start(), *FACTORS.end()),
        seed: seed.unwrap_or(d.seed),
        ..d
    }
}

/// Writes a model file whole or not at all (a temporary file, then a rename): a server may read
/// it meanwhile. Missing folders are made; no temporary file stays behind on failure.
pub fn save_model(model: &MfModel, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    // Its own temporary file per process: `luna train` and a server writing one path at once
    // must not write into one file (each rename is then whole, the last one wins).
    // Left behind by a crash, it is removed at a server's next start ([`remove_stale_partials`]).
    let partial = partial_path(path, std::process::id());
    let saved = model
        .save(&partial)
        .map_err(|e| format!("writing {}: {e}", partial.display()))
        .and_then(|()| std::fs::rename(&partial, path).map_err(|e| format!("writing {}: {e}", path.display())));
    if saved.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    saved
}

/// The temporary file this process writes `path` through ([`save_model`]).
fn partial_path(path: &Path, pid: u32) -> std::path::PathBuf {
    path.with_extension(format!("partial.{pid}"))
}

/// A temporary file not written to for this long is no write under way: a model is written in
/// one go, its file growing all along (a big one takes seconds, minutes on a slow disk).
pub const PARTIAL_IDLE: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Nor is one this old, whatever process its name gives (the pid may have been taken again).
pub const PARTIAL_ABANDONED: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Removes the temporary files of `path` ([`save_model`]'s `<stem>.partial.<pid>`) that a process
/// killed while writing left behind (nothing else removes them: each process has its own, so one
/// is left per crash). Another process writing one now keeps it: a file is removed only when
/// nobody has written to it for [`PARTIAL_IDLE`] and its process is not alive on this host, or
/// for [`PARTIAL_ABANDONED`] whatever its process (a server on another host sharing the file,
/// or a pid taken again, may look alive or dead here; a write under way keeps its file fresh).
/// Returns the files removed.
pub fn remove_stale_partials(path: &Path, now: SystemTime) -> Vec<std::path::PathBuf> {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { return Vec::new() };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{stem}.partial.");
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let file = entry.path();
        // The name is exactly the one `save_model` gives (no other file that happens to match).
        if file != partial_path(path, pid) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Some(idle) = modified(&file).and_then(|t| now.duration_since(t).ok()) else { continue };
        let stale = idle >= PARTIAL_ABANDONED || (idle >= PARTIAL_IDLE && !process_alive(pid));
        if stale && std::fs::remove_file(&file).is_ok() {
            tracing::info!(file = %file.display(), idle_s = idle.as_secs(), "removed a temporary model file a stopped process left");
            removed.push(file);
        }
    }
    removed
}

/// Whether process `pid` is alive on this host (taken as alive where that cannot be told).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// The engine's users and venues, and how many of them its model knows.
pub fn fit_of(engine: &Engine) -> ModelFit {
    fit_with(engine, &engine.stats())
}

/// [`fit_of`], with the engine's `stats` already read (each read is a pass over every user).
fn fit_with(engine: &Engine, stats: &EngineStats) -> ModelFit {
    let (users_known, venues_known) = engine.model_fit().unwrap_or((0, 0));
    ModelFit { users_known, users_held: stats.users, venues_known, venues_held: stats.venues }
}

impl App {
    /// The trainings' state now.
    pub fn training(&self) -> TrainingState {
        self.training.state.borrow().clone()
    }

    /// The learned model in use, its fit and the trainings.
    pub fn model_status(&self) -> ModelStatus {
        let engine = self.engine();
        let stats = engine.stats();
        let fit = fit_with(&engine, &stats);
        let path = self.settings.reco.model_path.as_ref();
        let file_modified = path.and_then(|p| modified(p));
        let loaded_file = *self.training.loaded_file.lock().unwrap_or_else(|e| e.into_inner());
        let changed = file_modified.is_some() && file_modified != loaded_file;
        let when = |t: Option<SystemTime>| t.map(Timestamp::from);
        let warning = if changed {
            let written = when(file_modified).map(|t| domain::time::written(&t)).unwrap_or_default();
            Some(if stats.has_model {
                format!(
                    "the model file was written at {written}, after this server loaded its model: another server or `luna train` wrote it; this server ranks with the model it loaded (its `fit`) until its next engine reload (a restart, or a reseed or reset of the data), or train here"
                )
            } else {
                format!(
                    "the model file was written at {written}, after this server's last engine reload: another server or `luna train` wrote it; this server loads it at its next engine reload (a restart, or a reseed or reset of the data) and ranks by popularity until then, or train here"
                )
            })
        } else if stats.has_model {
            model_mismatch(&fit)
        } else if stats.user_venue_pairs > 0 {
            Some(
                "no learned model is loaded, so the learned ranker ranks by popularity; train the model on this data"
                    .to_string(),
            )
        } else {
            None
        };
        ModelStatus {
            path: path.map(|p| p.display().to_string()),
            file_exists: path.is_some_and(|p| p.exists()),
            file_modified_at: when(file_modified),
            loaded_file_modified_at: when(loaded_file),
            file_changed_since_load: changed,
            loaded: stats.has_model,
            fit,
            user_venue_pairs: stats.user_venue_pairs,
            warning,
            training: self.training(),
        }
    }

    /// Starts training the model on the engine as it is now, in the background; returns at once
    /// with the state (the training running). Refused (409) while one runs, and when there are no
    /// interactions to learn from (nothing is written then). Looking for those walks every user:
    /// a request handler calls it off the async workers (`spawn_blocking`; the training itself
    /// is spawned onto the runtime, which a blocking thread can do).
    pub fn start_training(&self, cfg: TrainConfig) -> AppResult<TrainingState> {
        if self.training.stopped.load(Ordering::SeqCst) {
            return Err(AppError::Unavailable("the server is shutting down: no training starts".into()));
        }
        // Read before the engine: an engine swapped in between is then taken as older than it
        // is (a reset after its scan discards the training), never as newer.
        let generation = self.engine.reset_generation();
        let engine = self.engine();
        if engine.stats().user_venue_pairs == 0 {
            return Err(AppError::conflict(
                "no interactions to train on: seed or import data first (no model was trained or written)",
            ));
        }
        let run = TrainingRun {
            epoch: 0,
            epochs: cfg.epochs,
            factors: cfg.factors,
            seed: cfg.seed,
            loss: None,
            started_at: self.now(),
        };
        let mut busy = None;
        self.training.state.send_if_modified(|s| match &s.running {
            Some(r) => {
                busy = Some(r.clone());
                false
            }
            None => {
                s.state = TrainingPhase::Training;
                s.running = Some(run.clone());
                true
            }
        });
        if let Some(r) = busy {
            let message = format!(
                "a training is already running (epoch {} of {}, started {}); wait for it to end",
                r.epoch,
                r.epochs,
                domain::time::written(&r.started_at)
            );
            return Err(AppError::Conflict { message, field: None });
        }
        let app = self.clone();
        tokio::spawn(async move { app.run_training(engine, generation, cfg, run).await });
        Ok(self.training())
    }

    /// Trains again with the default settings after the data changed (a reseed of the demo):
    /// now, or once the training running (on the data before) ends. Whether one runs is decided
    /// under the state's lock, where a training marks itself ended and takes the flag up, so a
    /// retrain asked for as one ends is never lost (review of 62b95cc).
    pub fn retrain_after_seed(&self) {
        loop {
            let mut queued = false;
            self.training.state.send_if_modified(|s| {
                if s.running.is_some() {
                    self.training.again.store(true, Ordering::SeqCst);
                    queued = true;
                }
                false
            });
            if queued {
                return;
            }
            match self.start_training(TrainConfig::default()) {
                Ok(_) => tracing::info!("training the learned model on the data just seeded"),
                // Refused for another that started between the two looks (not for want of
                // interactions, the other refusal): look again, to queue behind it.
                Err(AppError::Conflict { .. }) if self.engine().stats().user_venue_pairs > 0 => continue,
                Err(e) => tracing::warn!(error = %e, "the learned model was not trained after the seed"),
            }
            return;
        }
    }

    /// The server is shutting down: the training running gives up within moments (nothing is
    /// written, the model before stays), as its blocking thread would otherwise keep the process
    /// alive until it ended (minutes, hours at scale) after `luna stopped`; none starts any more.
    pub fn stop_training(&self) {
        self.training.stopped.store(true, Ordering::SeqCst);
    }

    /// Waits until no training runs, and returns the state then.
    pub async fn wait_for_training(&self) -> TrainingState {
        let mut rx = self.training.state.subscribe();
        let state = rx.wait_for(|s| s.running.is_none()).await.map(|s| s.clone());
        state.unwrap_or_else(|_| self.training())
    }

    async fn run_training(&self, engine: Arc<Engine>, generation: u64, cfg: TrainConfig, run: TrainingRun) {
        let started = Instant::now();
        let path = self.settings.reco.model_path.clone();
        tracing::info!(epochs = cfg.epochs, factors = cfg.factors, seed = cfg.seed, "training the learned model");
        let outcome = self.train_save_use(engine, generation, cfg.clone()).await;
        let result = TrainingResult {
            outcome: if outcome.is_ok() { TrainingOutcome::Trained } else { TrainingOutcome::Failed },
            epochs: cfg.epochs,
            factors: cfg.factors,
            seed: cfg.seed,
            started_at: run.started_at,
            finished_at: self.now(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            fit: outcome.as_ref().ok().copied(),
            path: path.map(|p| p.display().to_string()),
            error: outcome.as_ref().err().cloned(),
        };
        match &outcome {
            Ok(fit) => tracing::info!(elapsed_ms = result.elapsed_ms, ?fit, "learned model trained and in use"),
            Err(e) => tracing::error!(error = %e, "training the learned model failed"),
        }
        let data = domain::Payload::of(&result).unwrap_or_default();
        let mut again = false;
        self.training.state.send_modify(|s| {
            s.state = TrainingPhase::Idle;
            s.running = None;
            s.last = Some(result);
            again = self.training.again.swap(false, Ordering::SeqCst);
        });
        if outcome.is_ok() {
            // For the live feed, beside `data.seeded` and `data.reset` (not from the outbox: the
            // model is no database row), and for the engine followers of the servers sharing the
            // model file, which load it ([`App::load_model_if_changed`]).
            let publish = bus::Publish {
                channel: domain::Channel::System,
                event_type: MODEL_TRAINED.into(),
                data,
                timestamp: self.now(),
                source_id: None,
            };
            if let Err(e) = self.bus.publish(publish).await {
                tracing::warn!(error = %e, "model.trained not published");
            }
        }
        if again {
            self.retrain_after_seed();
        }
    }

    /// Loads the model file at `model_path` onto the engine in use if the file was written since
    /// this server loaded it (or wrote it): another server sharing the file trained (the engine
    /// follower calls this on `model.trained`, from any server; this server's own training, or a
    /// file unchanged, makes it a no-op). Under the reload lock, as training sets its model: a
    /// reload running meanwhile reads the file itself. Off the async workers (a big model takes
    /// seconds to read). Returns whether a model was loaded.
    pub async fn load_model_if_changed(&self) -> AppResult<bool> {
        let Some(path) = self.settings.reco.model_path.clone() else { return Ok(false) };
        let _no_reload = self.engine.reloads.lock().await;
        // Read before the file (as a reload does): one replaced meanwhile shows as newer than the
        // one loaded, never the other way round.
        let written = modified(&path);
        let loaded = *self.training.loaded_file.lock().unwrap_or_else(|e| e.into_inner());
        if written.is_none() || written == loaded {
            return Ok(false);
        }
        let in_use = self.engine();
        let shown = path.display().to_string();
        let fit = tokio::task::spawn_blocking(move || {
            let model = MfModel::load(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            in_use.set_model(&model);
            Ok::<_, String>(fit_of(&in_use))
        })
        .await
        .map_err(|e| AppError::Internal(format!("loading the learned model: {e}")))?
        .map_err(AppError::Internal)?;
        *self.training.loaded_file.lock().unwrap_or_else(|e| e.into_inner()) = written;
        tracing::info!(path = %shown, ?fit, "learned model another server trained loaded");
        Ok(true)
    }

    /// Trains on `engine` (loaded at reset generation `generation`), writes the file and puts
    /// the model to use on the engine in use then; discarded if the data was reset after the scan.
    async fn train_save_use(&self, engine: Arc<Engine>, generation: u64, cfg: TrainConfig) -> Result<ModelFit, String> {
        let training = self.training.clone();
        let model = tokio::task::spawn_blocking(move || {
            let progress = |r: engine::EpochReport| {
                training.state.send_modify(|s| {
                    if let Some(run) = s.running.as_mut() {
                        run.epoch = r.epoch;
                        run.loss = Some(r.loss);
                    }
                })
            };
            engine::train_bpr_unless(&engine, &cfg, progress, &training.stopped)
        })
        .await
        .map_err(|e| format!("training task: {e}"))?
        .ok_or("stopped: the server is shutting down (nothing written, the model before kept)")?;
        // No reload between the file and the swap: one before would load the old file, one after
        // loads the new one.
        let _no_reload = self.engine.reloads.lock().await;
        // A reset since the scan: the model learned users, venues and interactions that are
        // gone, and knows none of the new ones. Checked under the reload lock: a reset heard
        // after this is one the training ended before, as if it had ended a moment earlier (its
        // file is then what the reset's reload loads, as any file).
        if self.training.reset_generation() != generation {
            return Err(DISCARDED_RESET.into());
        }
        let path = self.settings.reco.model_path.clone();
        let in_use = self.engine();
        let (fit, written) = tokio::task::spawn_blocking(move || {
            let written = match path {
                Some(path) => {
                    save_model(&model, &path)?;
                    Some(modified(&path))
                }
                None => None,
            };
            in_use.set_model(&model);
            Ok::<_, String>((fit_of(&in_use), written))
        })
        .await
        .map_err(|e| format!("loading the model: {e}"))??;
        if let Some(written) = written {
            *self.training.loaded_file.lock().unwrap_or_else(|e| e.into_inner()) = written;
        }
        Ok(fit)
    }
}

/// The event published on the `system` channel when a training put a model to use.
pub const MODEL_TRAINED: &str = "model.trained";
