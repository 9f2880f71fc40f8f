//! The real binary, driven as a user would: `luna seed`, then `luna serve` on a free port,
//! called over HTTP, then stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LUNA: &str = env!("CARGO_BIN_EXE_luna");

fn luna(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(LUNA)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .expect("luna runs")
}

fn seed(data_dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["seed", "--users", "60", "--venues", "40", "--seed", "7"];
    args.extend_from_slice(extra);
    luna(data_dir, &args)
}

/// A running `luna serve` and the address it printed.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(LUNA)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("luna serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines.next().expect("luna serve printed its address before exiting").expect("utf-8 line");
            if let Some(rest) = line.split("dashboard http://").nth(1) {
                break format!("http://{}", rest.split('/').next().expect("an address"));
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("luna serve did not stop within 10 s of SIGTERM");
    }
}

fn get(base: &str, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let r = reqwest::get(format!("{base}{path}")).await.expect("request succeeds");
        assert!(r.status().is_success(), "GET {path} -> {}", r.status());
        r.json().await.expect("json body")
    })
}

#[test]
fn seed_writes_a_city_once_and_refuses_to_reseed_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = seed(dir.path(), &[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).expect("a JSON report");
    assert_eq!(report["users"], 60);
    assert_eq!(report["venues"], 40);
    assert!(report["interactions"].as_u64().expect("a count") > 60);

    let again = seed(dir.path(), &[]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(again.stdout.is_empty(), "nothing is reported as written");

    let forced = seed(dir.path(), &["--force"]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    let report2: serde_json::Value = serde_json::from_slice(&forced.stdout).expect("a JSON report");
    assert_eq!(report2["interactions"], report["interactions"], "same seed, same data");
}

#[test]
fn serve_answers_the_seed_paths_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &["--demo"]);
    let health = get(&server.base, "/health");
    assert_eq!(health["status"], "healthy");
    let users = get(&server.base, "/users/");
    assert_eq!(users.as_array().expect("an array").len(), 50, "the first page holds 50 of the 300 demo users");
    let id = users[0]["id"].as_str().expect("an id").to_string();
    assert_eq!(get(&server.base, &format!("/users/{id}"))["id"], id.as_str());
    let venues = get(&server.base, "/api/v1/venues?limit=5");
    assert_eq!(venues.as_array().expect("an array").len(), 5);
    // The demo trains the learned model, so the `learned` ranker answers from it.
    assert!(dir.path().join("model.json").exists());
    let learned = get(&server.base, &format!("/api/v1/recommendations/{id}/venues?ranker=learned&limit=3"));
    assert_eq!(learned["venues"][0]["reasons"][0]["code"], "learned", "{learned}");
    let spec = get(&server.base, "/openapi.json");
    assert!(
        spec["paths"].as_object().expect("paths").contains_key("/users/{user_id}")
            || spec["paths"].to_string().contains("/users/")
    );
    let status = server.stop();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[test]
fn plain_serve_never_writes_data_on_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[]);
    let users = get(&server.base, "/users/");
    assert_eq!(users.as_array().expect("an array").len(), 0);
    assert!(server.stop().success());
}

#[test]
fn config_prints_settings_without_secrets() {
    let out = Command::new(LUNA)
        .arg("config")
        .env("DATABASE_URL", "postgres://luna:hunter2@127.0.0.1:5432/luna")
        .output()
        .expect("luna config runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("postgres://luna:****@127.0.0.1:5432/luna"), "{text}");
    assert!(!text.contains("hunter2"));
}
