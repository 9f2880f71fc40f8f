//! The learned model for the admin: `GET /api/v1/admin/model` and `POST
//! /api/v1/admin/model/train`. A model trained before a reseed knows none of the new users (the
//! learned ranker ranks by popularity, as QA found on the real binary); training in the server
//! fixes it without a shell, and under `--demo` a reseed trains again by itself.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, expect_error, expect_json, spawn_app_with};

const MODEL: &str = "/api/v1/admin/model";
const TRAIN: &str = "/api/v1/admin/model/train";
const SEED: &str = "/api/v1/admin/data/seed";

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both!(
    training_makes_the_learned_ranker_know_a_reseeded_city,
    a_second_training_while_one_runs_is_refused,
    bad_training_settings_are_refused_naming_every_field_and_start_nothing,
    training_with_nothing_to_learn_from_is_refused_and_writes_no_file,
    under_the_demo_a_reseed_trains_the_model_again,
    a_model_file_written_by_another_after_the_load_is_said_to_wait_for_the_next_reload,
    under_the_demo_a_simulation_start_that_seeds_the_demo_city_trains_the_model,
);

/// The server with its model file in a folder of its own (removed when the test ends).
struct WithModel {
    app: TestApp,
    path: PathBuf,
}

impl Drop for WithModel {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn spawn(backend: Backend, train_after_seed: bool) -> Option<WithModel> {
    let dir = std::env::temp_dir().join(format!("luna-model-test-{}", uuid::Uuid::now_v7()));
    let path = dir.join("models").join("model.bin");
    let mut settings = app::AppSettings::default();
    settings.reco.model_path = Some(path.clone());
    settings.reco.train_after_seed = train_after_seed;
    let app = spawn_app_with(backend, settings, |a| a).await?;
    Some(WithModel { app, path })
}

/// The model's state once no training runs (and, if `after` is given, one ended after it).
async fn settled(app: &TestApp, after: Option<&str>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = app.get_json(MODEL, StatusCode::OK).await;
        let finished = m["training"]["last"]["finished_at"].as_str().map(str::to_string);
        let newer = match after {
            None => true,
            Some(t) => finished.as_deref().is_some_and(|f| f > t),
        };
        if m["training"]["state"] == "idle" && newer {
            return m;
        }
        assert!(Instant::now() < deadline, "no training ended in 60 s: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The learned ranker's answers for the first few users: (reason code, score) of each venue.
async fn learned_answers(app: &TestApp) -> Vec<(String, f64)> {
    let users = app.get_json("/api/v1/users?limit=10", StatusCode::OK).await;
    let mut out = Vec::new();
    for u in users.as_array().unwrap() {
        let id = u["id"].as_str().unwrap();
        let body = app.get_json(&format!("/api/v1/recommendations/{id}?ranker=learned"), StatusCode::OK).await;
        for v in body["venues"].as_array().unwrap() {
            let code = v["reasons"][0]["code"].as_str().unwrap().to_string();
            out.push((code, v["score"].as_f64().unwrap()));
        }
    }
    assert!(!out.is_empty(), "no venues recommended");
    out
}

fn fit(m: &Value) -> (u64, u64, u64, u64) {
    let f = &m["fit"];
    let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {m}"));
    (n("users_known"), n("users_held"), n("venues_known"), n("venues_held"))
}

async fn training_makes_the_learned_ranker_know_a_reseeded_city(backend: Backend) {
    let Some(w) = spawn(backend, false).await else { return };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 40, "venues": 15, "seed": 1})).await, StatusCode::OK).await;
    let before = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(before["loaded"], false, "{before}");
    assert!(before["warning"].as_str().unwrap().contains("no learned model"), "{before}");

    let started =
        expect_json(app.post(TRAIN, &json!({"epochs": 3, "factors": 8, "seed": 5})).await, StatusCode::ACCEPTED).await;
    assert_eq!(started["state"], "training", "{started}");
    assert_eq!(started["running"]["epochs"], 3, "{started}");
    assert_eq!(started["running"]["factors"], 8, "{started}");
    let m = settled(app, None).await;
    let last = &m["training"]["last"];
    assert_eq!(last["outcome"], "trained", "{m}");
    assert_eq!(last["epochs"], 3, "{m}");
    assert_eq!(last["path"], w.path.display().to_string(), "{m}");
    assert_eq!(fit(&m), (40, 40, 15, 15), "{m}");
    assert_eq!(m["loaded"], true);
    assert_eq!(m["warning"], Value::Null, "{m}");
    assert!(w.path.exists(), "no model file written");
    let folder = w.path.parent().expect("the model's folder");
    let left: Vec<_> = std::fs::read_dir(folder)
        .expect("the model's folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.contains(".partial"))
        .collect();
    assert!(left.is_empty(), "temporary file left behind: {left:?}");
    assert!(learned_answers(app).await.iter().any(|(code, _)| code == "learned"));

    // A reseed: the model knows none of the new city, and says so; the learned ranker falls back
    // on popularity (scores of about a millionth).
    let reseed = json!({"users": 30, "venues": 12, "seed": 2, "force": true});
    expect_json(app.post(SEED, &reseed).await, StatusCode::OK).await;
    let stale = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(fit(&stale), (0, 30, 0, 12), "{stale}");
    let warning = stale["warning"].as_str().unwrap_or_else(|| panic!("no warning: {stale}"));
    assert!(warning.contains("none of the 30 users and none of the 12 venues"), "{warning}");
    let answers = learned_answers(app).await;
    assert!(answers.iter().all(|(code, score)| code == "popularity" && *score < 0.001), "{answers:?}");

    let at = stale["training"]["last"]["finished_at"].as_str().unwrap().to_string();
    expect_json(app.post(TRAIN, &json!({"epochs": 3})).await, StatusCode::ACCEPTED).await;
    let m = settled(app, Some(&at)).await;
    assert_eq!(fit(&m), (30, 30, 12, 12), "{m}");
    assert_eq!(m["warning"], Value::Null, "{m}");
    let answers = learned_answers(app).await;
    assert!(answers.iter().any(|(code, score)| code == "learned" && *score > 0.5), "{answers:?}");
    // The file is the new model: a server loading it (a reload) keeps knowing the city.
    app.app.reload_engine().await.unwrap();
    assert_eq!(fit(&app.get_json(MODEL, StatusCode::OK).await), (30, 30, 12, 12));
}

async fn a_second_training_while_one_runs_is_refused(backend: Backend) {
    let Some(w) = spawn(backend, false).await else { return };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 40, "venues": 15, "seed": 1})).await, StatusCode::OK).await;
    // Long enough (a few seconds) for the second request to find it running.
    let long = json!({"epochs": 3000, "factors": 64});
    expect_json(app.post(TRAIN, &long).await, StatusCode::ACCEPTED).await;
    let refused = expect_error(app.post(TRAIN, &json!({})).await, StatusCode::CONFLICT, "conflict", None).await;
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("already running") && message.contains("of 3000"), "{message}");
    let running = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(running["training"]["state"], "training", "{running}");
    assert_eq!(running["training"]["running"]["epochs"], 3000, "{running}");
    let m = settled(app, None).await;
    // The first one ran to its end; the refused one started nothing.
    assert_eq!(m["training"]["last"]["epochs"], 3000, "{m}");
    assert_eq!(m["training"]["last"]["outcome"], "trained", "{m}");
}

async fn bad_training_settings_are_refused_naming_every_field_and_start_nothing(backend: Backend) {
    let Some(w) = spawn(backend, false).await else { return };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 20, "venues": 10, "seed": 1})).await, StatusCode::OK).await;
    let body = expect_error(
        app.post(TRAIN, &json!({"epochs": 0, "factors": 513})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("epochs"),
    )
    .await;
    let named: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(named, ["epochs", "factors"], "{body}");
    for bad in [json!({"epochs": 10001}), json!({"epochs": "many"}), json!({"factors": -1}), json!({"rate": 0.1})] {
        let res = app.post(TRAIN, &bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", res.text().await.unwrap());
    }
    let m = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(m["training"], json!({"state": "idle", "running": null, "last": null}), "{m}");
    assert_eq!(m["loaded"], false);
    assert!(!w.path.exists(), "a refused training wrote a model file");
    // Admin only.
    let res = app.anon.post(app.url(TRAIN)).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.anon.get(app.url(MODEL)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn training_with_nothing_to_learn_from_is_refused_and_writes_no_file(backend: Backend) {
    let Some(w) = spawn(backend, false).await else { return };
    let app = &w.app;
    let refused = expect_error(app.post(TRAIN, &json!({})).await, StatusCode::CONFLICT, "conflict", None).await;
    assert!(refused["error"]["message"].as_str().unwrap().contains("no interactions to train on"), "{refused}");
    // Venues alone: still nothing to learn from.
    expect_json(app.post(SEED, &json!({"users": 0, "venues": 5})).await, StatusCode::OK).await;
    expect_error(app.post(TRAIN, &json!({"epochs": 2})).await, StatusCode::CONFLICT, "conflict", None).await;
    let m = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(m["training"]["state"], "idle", "{m}");
    assert_eq!(m["training"]["last"], Value::Null, "{m}");
    assert_eq!(
        (m["user_venue_pairs"].as_u64(), &m["warning"], &m["file_exists"]),
        (Some(0), &Value::Null, &json!(false))
    );
    assert!(!w.path.exists() && !w.path.parent().unwrap().exists(), "nothing should be written");
}

async fn under_the_demo_a_reseed_trains_the_model_again(backend: Backend) {
    let Some(w) = spawn(backend, true).await else { return };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 25, "venues": 10, "seed": 1})).await, StatusCode::OK).await;
    let m = settled(app, Some("")).await;
    assert_eq!(fit(&m), (25, 25, 10, 10), "{m}");
    let at = m["training"]["last"]["finished_at"].as_str().unwrap().to_string();
    let reseed = json!({"users": 20, "venues": 8, "seed": 3, "force": true});
    expect_json(app.post(SEED, &reseed).await, StatusCode::OK).await;
    let m = settled(app, Some(&at)).await;
    assert_eq!(fit(&m), (20, 20, 8, 8), "{m}");
    assert_eq!(m["warning"], Value::Null, "{m}");
    assert!(learned_answers(app).await.iter().any(|(code, score)| code == "learned" && *score > 0.5));
}

/// Servers sharing a model file (`model_path`) each load it at their own engine reload: after
/// another server (or `luna train`) writes it, this one keeps the model it loaded, and GET
/// /admin/model says so, instead of an unqualified `loaded: true` and no warning (QA on two real
/// servers: the second kept the old model with nothing saying a newer file waited).
async fn a_model_file_written_by_another_after_the_load_is_said_to_wait_for_the_next_reload(backend: Backend) {
    let Some(w) = spawn(backend, false).await else { return };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 40, "venues": 15, "seed": 1})).await, StatusCode::OK).await;
    expect_json(app.post(TRAIN, &json!({"epochs": 2, "factors": 8})).await, StatusCode::ACCEPTED).await;
    let own = settled(app, None).await;
    // Its own training wrote the file it uses: nothing to wait for.
    assert_eq!(own["file_changed_since_load"], false, "{own}");
    assert_eq!(own["warning"], Value::Null, "{own}");
    assert_eq!(own["file_modified_at"], own["loaded_file_modified_at"], "{own}");
    assert!(own["file_modified_at"].is_string(), "{own}");

    // Another writes the file (as another server's training or `luna train` would), later.
    let bytes = std::fs::read(&w.path).expect("the model file");
    std::fs::write(&w.path, bytes).expect("rewriting the model file");
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options().write(true).open(&w.path).and_then(|f| f.set_modified(later)).expect("its time");
    let waiting = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(waiting["file_changed_since_load"], true, "{waiting}");
    assert_eq!(waiting["loaded"], true, "{waiting}");
    assert_ne!(waiting["file_modified_at"], waiting["loaded_file_modified_at"], "{waiting}");
    let warning = waiting["warning"].as_str().unwrap_or_else(|| panic!("no warning: {waiting}"));
    assert!(
        warning.contains("after this server loaded its model") && warning.contains("next engine reload"),
        "{warning}"
    );

    // The next reload loads it: nothing waits any more.
    app.app.reload_engine().await.unwrap();
    let reloaded = app.get_json(MODEL, StatusCode::OK).await;
    assert_eq!(reloaded["file_changed_since_load"], false, "{reloaded}");
    assert_eq!(reloaded["warning"], Value::Null, "{reloaded}");
}

/// QA: under `--demo`, a simulation started on an empty database (after a data reset) seeded the
/// demo city (`seeded_demo_city: true`) and the model was not trained again, while a seed
/// through the admin API is.
async fn under_the_demo_a_simulation_start_that_seeds_the_demo_city_trains_the_model(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("luna-model-test-{}", uuid::Uuid::now_v7()));
    let path = dir.join("models").join("model.bin");
    let mut settings = app::AppSettings::default();
    settings.reco.model_path = Some(path.clone());
    settings.reco.train_after_seed = true;
    settings.demo = app::seed::SeedOptions { users: 30, venues: 12, seed: 2, ..Default::default() };
    let Some(app) = spawn_app_with(backend, settings, |a| a).await else { return };
    let w = WithModel { app, path };
    let app = &w.app;
    expect_json(app.post(SEED, &json!({"users": 20, "venues": 8, "seed": 1})).await, StatusCode::OK).await;
    let first = settled(app, Some("")).await;
    let at = first["training"]["last"]["finished_at"].as_str().unwrap().to_string();
    expect_json(app.post("/api/v1/admin/data/reset", &json!({})).await, StatusCode::OK).await;
    let started = app.post("/api/v1/simulation/start", &json!({"users": 30, "speed": "max"})).await;
    let state = expect_json(started, StatusCode::OK).await;
    assert_eq!(state["seeded_demo_city"], true, "{state}");
    let m = settled(app, Some(&at)).await;
    assert_eq!(m["training"]["last"]["outcome"], "trained", "{m}");
    let (users_known, users_held, _, _) = fit(&m);
    assert!(users_known > 0 && users_known == users_held, "{m}");
    let _ = app.post("/api/v1/simulation/stop", &json!({})).await;
}
