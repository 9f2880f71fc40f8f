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

/// The admin token the test servers are given (as `LUNA_ADMIN_TOKEN`).
const ADMIN: &str = "cli-test-admin-token-0123456789";

/// A running `luna serve`, the address it printed and the admin token it printed (if any).
struct Server {
    child: Child,
    base: String,
    printed_token: Option<String>,
}

impl Server {
    /// `luna serve` with `LUNA_ADMIN_TOKEN` set to [`ADMIN`].
    fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_with(data_dir, extra, Some(ADMIN), &[])
    }

    /// Starts with this admin token (none: the server generates and prints one) and extra
    /// `LUNA_*` settings in the environment.
    fn start_with(data_dir: &Path, extra: &[&str], admin_token: Option<&str>, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(LUNA);
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("LUNA_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        if let Some(token) = admin_token {
            cmd.env("LUNA_ADMIN_TOKEN", token);
        }
        let mut child = cmd.spawn().expect("luna serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut base = None;
        let printed_token = loop {
            let line = lines.next().expect("luna serve printed its address before exiting").expect("utf-8 line");
            if let Some(rest) = line.split("dashboard http://").nth(1) {
                base = Some(format!("http://{}", rest.split('/').next().expect("an address")));
            }
            if let Some(token) = line.split("/?token=").nth(1) {
                break Some(token.trim().to_string());
            }
            if line.starts_with("Admin auth is on") {
                break None;
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base: base.expect("the address line comes first"), printed_token }
    }

    fn stop(self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.wait()
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        Command::new("kill").args([signal, &pid]).status().expect("kill runs");
    }

    fn wait(mut self) -> std::process::ExitStatus {
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

/// GETs with the admin token, asserting success.
fn get(base: &str, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(ADMIN).send().await.expect("request");
        assert!(r.status().is_success(), "GET {path} -> {}", r.status());
        r.json().await.expect("json body")
    })
}

/// The status of a GET with this bearer token (or none).
fn status_of(base: &str, path: &str, token: Option<&str>) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request").status().as_u16()
    })
}

/// Runs `luna serve` expecting it to refuse to start; returns its stderr.
fn serve_refusal(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(LUNA)
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("LUNA_ADMIN_TOKEN")
        .output()
        .expect("luna runs");
    assert!(!out.status.success(), "luna serve {args:?} started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn serve_refuses_dev_on_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = serve_refusal(dir.path(), &["--bind", "0.0.0.0:0", "--dev"]);
    assert!(err.contains("--dev") && err.contains("loopback"), "{err}");
}

#[test]
fn serve_refuses_a_public_address_without_an_admin_credential() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = serve_refusal(dir.path(), &["--bind", "0.0.0.0:0"]);
    assert!(err.contains("LUNA_ADMIN_TOKEN") && err.contains("not a loopback address"), "{err}");
}

#[test]
fn first_start_prints_an_admin_token_once_and_it_opens_admin_routes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), &[], None, &[]);
    let token = server.printed_token.clone().expect("the first start prints the admin token");
    assert_eq!(status_of(&server.base, "/api/v1/admin/stats", Some(&token)), 200);
    assert_eq!(status_of(&server.base, "/api/v1/admin/stats", None), 401);
    assert_eq!(status_of(&server.base, "/api/v1/admin/stats", Some("a-guess")), 401);
    assert!(server.stop().success());
    let again = Server::start_with(dir.path(), &[], None, &[]);
    assert_eq!(again.printed_token, None, "the token is printed once");
    assert_eq!(status_of(&again.base, "/api/v1/admin/stats", Some(&token)), 200);
    // Rotation prints a new token and retires the old one, on the running server too.
    let rotated = luna(dir.path(), &["admin-token", "--rotate"]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let fresh = String::from_utf8_lossy(&rotated.stdout).trim().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status_of(&again.base, "/api/v1/admin/stats", Some(&fresh)) != 200 {
        assert!(std::time::Instant::now() < deadline, "the running server never adopted the rotated token");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(status_of(&again.base, "/api/v1/admin/stats", Some(&token)), 401);
    assert!(again.stop().success());
    let third = Server::start_with(dir.path(), &[], None, &[]);
    assert_eq!(status_of(&third.base, "/api/v1/admin/stats", Some(&fresh)), 200);
    assert_eq!(status_of(&third.base, "/api/v1/admin/stats", Some(&token)), 401);
    assert!(third.stop().success());
}

/// The server's own count of answered GETs of `route` with `status` (its Prometheus text).
fn served_count(base: &str, route: &str, status: u16) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let text = rt.block_on(async {
        let r = reqwest::Client::new().get(format!("{base}/metrics")).bearer_auth(ADMIN).send().await.expect("request");
        assert!(r.status().is_success(), "GET /metrics -> {}", r.status());
        r.text().await.expect("text body")
    });
    let labels = format!("route=\"{route}\",status=\"{status}\"");
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains("method=\"GET\"") && l.contains(&labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `luna bench` for one second against `base` on `path`, with the admin token.
fn bench(base: &str, extra: &[&str], path: &str) -> std::process::Output {
    Command::new(LUNA)
        .args(["bench", "--url", base, "-d", "1", "--path", path])
        .args(extra)
        .env("LUNA_ADMIN_TOKEN", ADMIN)
        .env_remove("DATABASE_URL")
        .output()
        .expect("luna bench runs")
}

#[test]
fn bench_counts_exactly_the_answers_the_server_gave() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let server = Server::start_with(dir.path(), &[], Some(ADMIN), &[("LUNA_RATE_LIMIT__ENABLED", "false")]);
    let route = "/api/v1/recommendations/{user_id}/venues";
    let before = served_count(&server.base, route, 200);
    let out = bench(&server.base, &["-c", "4", "--sample", "20"], "/api/v1/recommendations/{user}/venues?limit=3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "luna bench failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let figure = |name: &str| -> String {
        let line = stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {stdout}"));
        line[name.len()..].trim().to_string()
    };
    assert_eq!(figure("errors"), "0", "{stdout}");
    let requests: u64 = figure("requests ").parse().expect("a count of requests");
    assert!(requests > 0, "{stdout}");
    // Every request it counted was answered by the server, and none more.
    assert_eq!(served_count(&server.base, route, 200) - before, requests, "{stdout}");
    // A path the server refuses counts as errors by status, and a run of only those fails.
    let out = bench(&server.base, &["-c", "2", "--sample", "5"], "/api/v1/recommendations/{user}/venues?limit=0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("(422: "), "{stdout}");
    // So does a bookings run of only refused requests (parties larger than any venue seats).
    let out = bench(&server.base, &["-c", "2", "--sample", "5", "--bookings", "--party", "1000"], "/");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("bookings      0") && stdout.contains("(422: "), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("requests failed"));
    assert!(server.stop().success());
}

#[test]
fn bench_refuses_a_party_or_days_the_api_would_refuse_before_sending_anything() {
    for bad in [&["--party", "0"][..], &["--party", "1001"], &["--days", "0"], &["--days", "366"]] {
        let started = std::time::Instant::now();
        // Port 9 (discard) has no server: an accepted argument would fail later, differently.
        let out = bench("http://127.0.0.1:9", &[&["--bookings"][..], bad].concat(), "/");
        assert!(!out.status.success(), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad[0]) && err.contains("not in"), "{bad:?}: {err}");
        assert!(started.elapsed() < Duration::from_secs(5), "{bad:?} took {:?}", started.elapsed());
    }
}

#[test]
fn dev_on_loopback_relaxes_user_auth_but_not_admin_auth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seeded = seed(dir.path(), &[]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let strict = Server::start(dir.path(), &[]);
    let id = get(&strict.base, "/users/")[0]["id"].as_str().expect("an id").to_string();
    let prefs = format!("/users/{id}/preferences");
    assert_eq!(status_of(&strict.base, &prefs, None), 401);
    assert!(strict.stop().success());
    let dev = Server::start(dir.path(), &["--dev"]);
    assert_eq!(status_of(&dev.base, &prefs, None), 200);
    assert_eq!(status_of(&dev.base, "/api/v1/admin/stats", None), 401);
    assert!(dev.stop().success());
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
    // Unpinned, the history ends at the hour of seeding.
    let as_of = report["as_of"].as_str().expect("the anchor in the report").to_string();
    let anchor: chrono::DateTime<chrono::Utc> = as_of.parse().expect("RFC 3339");
    let age = chrono::Utc::now() - anchor;
    assert!(age >= chrono::Duration::zero() && age < chrono::Duration::hours(2), "anchored at {as_of}");

    // Nothing written is not a success (gap: it exited 0 saying "nothing done", so a script went
    // on with a city other than the one it asked for).
    let again = seed(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stderr));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already has data: nothing seeded") && err.contains("--force"), "{err}");
    assert!(again.stdout.is_empty(), "nothing is reported as written");

    let forced = seed(dir.path(), &["--force", "--as-of", &as_of]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    let report2: serde_json::Value = serde_json::from_slice(&forced.stdout).expect("a JSON report");
    assert_eq!(report2["as_of"], report["as_of"]);
    assert_eq!(report2["interactions"], report["interactions"], "same seed and anchor, same data");
}

/// QA: `luna simulate` drew its progress bar only on a terminal, so a run whose stderr went to a
/// pipe or a log (CI, nohup) printed nothing until its summary. There it prints a plain line
/// each tenth of the simulated time, and the last one at the end.
#[test]
fn simulate_prints_plain_progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let out = luna(dir.path(), &["simulate", "--users", "60", "--duration", "2h", "--speed", "max", "--seed", "3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("simulated minutes: ")).collect();
    assert!(lines.last().is_some_and(|l| l.contains("(100%)")), "no final progress line in: {err}");
}

/// Gap: `luna simulate` seeding an empty database did not train the learned model, as `luna
/// serve --demo` does after its seed: the run (and a server started on the data afterwards)
/// ranked with no model, or with a model file left in the data dir from another city, which
/// knew none of the new users. The seeded city's model is now trained and written first.
fn simulate_trains_the_learned_model_on_the_city_it_seeds(database_url: Option<&str>, rt: &tokio::runtime::Runtime) {
    let other = tempfile::tempdir().expect("temp dir");
    assert!(seed(other.path(), &[]).status.success());
    let trained = luna(other.path(), &["train"]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model.bin");
    std::fs::copy(other.path().join("model.bin"), &model).expect("a model file left from another city");
    let mut args = vec!["simulate", "--users", "60", "--duration", "30m", "--seed", "3"];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let out = Command::new(LUNA)
        .args(&args)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("LUNA_DEMO__USERS", "60")
        .env("LUNA_DEMO__VENUES", "40")
        .output()
        .expect("luna runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let learned = engine::MfModel::load(&model).expect("a model file");
    let users = user_ids(database_url, dir.path(), rt);
    assert_eq!(users.len(), 60, "the city seeded");
    let known = learned.users.iter().filter(|u| users.contains(u)).count();
    assert!(known > 0 && known == learned.users.len(), "the model knows {known} of its {} users", learned.users.len());
}

/// The ids of the users in the database (PostgreSQL at `database_url`, else the data dir's SQLite).
fn user_ids(
    database_url: Option<&str>,
    data_dir: &Path,
    rt: &tokio::runtime::Runtime,
) -> std::collections::HashSet<uuid::Uuid> {
    rt.block_on(async {
        use sqlx::Connection;
        match database_url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("open the database");
                sqlx::query_scalar("SELECT id FROM users").fetch_all(&mut conn).await.expect("users")
            }
            None => {
                let url = format!("sqlite://{}", data_dir.join("luna.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open the database");
                sqlx::query_scalar("SELECT id FROM users").fetch_all(&mut conn).await.expect("users")
            }
        }
        .into_iter()
        .collect()
    })
}

/// Gap: `luna seed --force` reset and reseeded the database but left the model file trained on
/// the city before, so a `luna serve` started afterwards loaded a model that knew none of the new
/// users. The seed now trains the model on the new city (as `luna simulate` and `serve --demo`
/// do), with progress and its seed; with `--no-train` it removes the stale file instead.
fn seed_force_trains_the_learned_model_on_the_new_city(database_url: Option<&str>, rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model.bin");
    let db: Vec<&str> = database_url.map(|url| vec!["--database-url", url]).unwrap_or_default();
    let with_db = |args: &[&'static str]| -> Vec<&str> { args.iter().copied().chain(db.iter().copied()).collect() };
    let first = seed(dir.path(), &db);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let trained = luna(dir.path(), &with_db(&["train", "--epochs", "2"]));
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let before = engine::MfModel::load(&model).expect("the first city's model");

    let forced = luna(dir.path(), &with_db(&["seed", "--users", "60", "--venues", "40", "--seed", "8", "--force"]));
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    let learned = engine::MfModel::load(&model).expect("a model file");
    let users = user_ids(database_url, dir.path(), rt);
    assert_eq!(users.len(), 60, "the city seeded");
    assert!(before.users.iter().all(|u| !users.contains(u)), "a new city, other users");
    let known = learned.users.iter().filter(|u| users.contains(u)).count();
    assert!(known > 0 && known == learned.users.len(), "the model knows {known} of its {} users", learned.users.len());
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(err.contains("Training the learned model on the seeded city") && err.contains("epoch"), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&forced.stdout).expect("a JSON report");
    assert_eq!(report["model"]["users"], learned.users.len(), "{report}");
    assert_eq!(report["model"]["seed"], engine::TrainConfig::default().seed, "{report}");

    // Not trained: the file of the city before is removed, and the seed says so.
    let untrained = luna(
        dir.path(),
        &with_db(&["seed", "--users", "60", "--venues", "40", "--seed", "9", "--force", "--no-train"]),
    );
    assert!(untrained.status.success(), "{}", String::from_utf8_lossy(&untrained.stderr));
    let err = String::from_utf8_lossy(&untrained.stderr);
    assert!(err.contains("Removed the model file") && err.contains("luna train"), "{err}");
    assert!(!model.exists(), "the stale model file is left");
    let report: serde_json::Value = serde_json::from_slice(&untrained.stdout).expect("a JSON report");
    assert!(report["model"].is_null(), "{report}");
}

#[test]
fn seed_force_trains_the_learned_model_on_the_new_city_on_sqlite() {
    seed_force_trains_the_learned_model_on_the_new_city(None, &runtime());
}

#[test]
fn seed_force_trains_the_learned_model_on_the_new_city_on_postgres() {
    on_postgres(seed_force_trains_the_learned_model_on_the_new_city);
}

#[test]
fn simulate_trains_the_learned_model_on_the_city_it_seeds_on_sqlite() {
    simulate_trains_the_learned_model_on_the_city_it_seeds(None, &runtime());
}

#[test]
fn simulate_trains_the_learned_model_on_the_city_it_seeds_on_postgres() {
    on_postgres(simulate_trains_the_learned_model_on_the_city_it_seeds);
}

/// QA: `--scenario "Lunch Rush"`, the name the dashboard shows, was refused; a scenario is now
/// taken by its id or its name, in any case, and an unknown one is refused listing both.
#[test]
fn simulate_takes_a_scenario_by_its_id_or_its_name_in_any_case() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let summary = dir.path().join("summary.json");
    for (given, id) in
        [("Lunch Rush", "lunch_rush"), ("friday night out", "friday_night"), ("HAPPY-HOUR-RUSH", "happy_hour_rush")]
    {
        let args = ["simulate", "--users", "60", "--duration", "30m", "--scenario", given, "--summary"];
        let out = luna(dir.path(), &[&args[..], &[&summary.to_string_lossy()]].concat());
        assert!(out.status.success(), "{given}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&summary).expect("a summary")).expect("JSON");
        assert_eq!(report["settings"]["scenario"], id, "{given}");
    }
    let out = luna(dir.path(), &["simulate", "--users", "60", "--duration", "30m", "--scenario", "Lunch Hour"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("lunch_rush (Lunch Rush)") && err.contains("normal (Normal Day)"), "{err}");
}

#[test]
fn seed_as_of_pins_the_history_and_a_bad_one_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = seed(dir.path(), &["--as-of", "yesterday"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--as-of") && err.contains("RFC 3339"), "{err}");
    assert!(!dir.path().join("luna.db").exists(), "nothing written");

    let pinned = seed(dir.path(), &["--as-of", "2026-12-02T18:00:00-05:00"]);
    assert!(pinned.status.success(), "{}", String::from_utf8_lossy(&pinned.stderr));
    let report: serde_json::Value = serde_json::from_slice(&pinned.stdout).expect("a JSON report");
    assert_eq!(report["as_of"], "2026-12-02T23:00:00Z");
    assert!(String::from_utf8_lossy(&pinned.stderr).contains("history up to 2026-12-02T23:00:00Z"));
}

/// The distinct time zones of the venues in the SQLite database of `data_dir`.
fn venue_timezones(data_dir: &Path) -> Vec<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", data_dir.join("luna.db").display());
    runtime().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open the database");
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT timezone FROM venues").fetch_all(&mut conn).await.expect("venues");
        rows.into_iter().map(|(tz,)| tz).collect()
    })
}

#[test]
fn seed_options_the_generator_refuses_leave_no_new_database_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused: [&[&str]; 4] = [
        &["--lat", "91", "--lng", "0"],
        &["--radius-km", "0"],
        &["--lat", "45", "--lng", "200"],
        &["--as-of", "2099-01-01T00:00:00Z"],
    ];
    for args in refused {
        let out = seed(dir.path(), args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("seeding: invalid input"), "{args:?}: {err}");
        assert!(!dir.path().join("luna.db").exists(), "{args:?}: a database was created");
    }
}

#[test]
fn eval_and_train_refuse_an_output_they_could_not_write_before_computing_anything() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let report = dir.path().join("report.json");
    let not_a_folder = dir.path().join("a-file");
    std::fs::write(&not_a_folder, "").expect("a file");
    let chart = not_a_folder.join("chart.svg");
    let (report_s, chart_s) = (report.to_string_lossy(), chart.to_string_lossy());
    let args = [
        "eval", "--synth", "--users", "200", "--venues", "30", "--epochs", "1", "--json", &report_s, "--svg", &chart_s,
    ];
    let out = luna(dir.path(), &args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--svg") && err.contains("a-file is not a folder"), "{err}");
    assert!(!err.contains("Evaluating on"), "refused only after evaluating: {err}");
    assert!(!report.exists(), "the JSON report was written by a refused run");

    // QA: one file for both: the chart overwrote the report, after the report was said written.
    let args = ["eval", "--synth", "--users", "200", "--venues", "30", "--json", &report_s, "--svg", &report_s];
    let out = luna(dir.path(), &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--json and --svg both name") && !err.contains("Evaluating on"), "{err}");
    assert!(!report.exists(), "a file was written by a refused run");

    // A folder named as the model file: refused before training, no temporary file left.
    let folder = dir.path().join("models");
    std::fs::create_dir(&folder).expect("a folder");
    let out = luna(dir.path(), &["train", "--epochs", "1", "--out", &folder.to_string_lossy()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is a folder") && !err.contains("Training on"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.contains(".partial"))
        .collect();
    assert!(left.is_empty(), "a temporary model file was left behind: {left:?}");
}

/// QA: `luna train --out` made the model file's missing folders while `luna eval --json`/`--svg`
/// and `luna simulate --summary` refused them. Every output file now gets its missing folders
/// (made only once there is something to write).
#[test]
fn every_output_file_gets_its_missing_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let out_dir = dir.path().join("out");
    let path = |name: &str| out_dir.join(name).join("deeper").join(name).to_string_lossy().into_owned();
    let (report, chart, summary, model) = (path("eval.json"), path("eval.svg"), path("sim.json"), path("m.bin"));
    let runs: [&[&str]; 3] = [
        &["eval", "--epochs", "1", "--json", &report, "--svg", &chart],
        &["simulate", "--users", "60", "--duration", "1h", "--summary", &summary],
        &["train", "--epochs", "1", "--out", &model],
    ];
    for args in runs {
        let out = luna(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("the report")).expect("JSON");
    assert!(report["rankers"].is_array(), "{report}");
    assert!(std::fs::read_to_string(&chart).expect("the chart").starts_with("<svg"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("the summary")).expect("JSON");
    assert_eq!(summary["state"]["status"], "finished", "{summary}");
    assert!(Path::new(&model).is_file(), "no model at {model}");
}

/// A seed of nothing, a simulation of nobody, an empty generated city to evaluate and a learned
/// model trained for no epoch (QA: `eval --epochs 0` ranked with an untrained model and reported
/// it as the learned ranker, while `train --epochs 0` was refused) are usage errors, as clap's
/// own are (status 2, naming the options), and leave no database.
#[test]
fn counts_that_would_make_a_command_do_nothing_are_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = luna(dir.path(), &["seed", "--users", "0", "--venues", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--users 0 and --venues 0 would seed nothing") && err.contains("luna seed"), "{err}");
    assert!(!dir.path().join("luna.db").exists(), "a database was created");
    let refused: [(&[&str], &str); 5] = [
        (&["seed", "--users", "5", "--venues", "0"], "--venues 0 would seed users with nowhere to go"),
        (&["simulate", "--users", "0", "--duration", "1h"], "--users"),
        (&["eval", "--synth", "--users", "0"], "--users"),
        (&["eval", "--synth", "--venues", "0"], "--venues"),
        (&["eval", "--synth", "--users", "60", "--venues", "10", "--epochs", "0"], "--epochs"),
    ];
    for (args, option) in refused {
        let out = luna(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(option), "{args:?}: {err}");
        assert!(!dir.path().join("luna.db").exists(), "{args:?}: a database was created");
    }
}

/// `--users` and `--venues` size the generated city only (QA: `luna eval --users 5 --venues 3`
/// without `--synth` evaluated the whole store, said nothing of the two options and exited 0,
/// so a forgotten `--synth` passed for a run on a small generated city): without `--synth` they
/// are a usage error (status 2) naming `--synth`.
#[test]
fn eval_refuses_the_generated_city_s_size_without_synth() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    for args in [&["eval", "--users", "5"][..], &["eval", "--venues", "3"][..]] {
        let out = luna(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--synth"), "{args:?}: {err}");
    }
}

/// An id that names no dead letter is passed over, as `--help` says, but not in silence (QA:
/// `luna outbox redrive --id <an id of no dead letter>` printed `redriven: 0` alone and exited 0,
/// so a mistyped or stale id passed for a redrive done): stderr says how many were passed over.
#[test]
fn outbox_redrive_says_how_many_ids_named_no_dead_letter() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &[]).status.success());
    let id = "0192f4e1-7c3a-7b4e-9a2f-3c5d6e7f8a9b";
    let out = luna(dir.path(), &["outbox", "redrive", "--id", id, "--id", id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "redriven: 0\n");
    assert!(err.contains("1 of the 1 ids asked for named no dead letter") && err.contains("luna outbox dead"), "{err}");
}

#[test]
fn a_city_seeded_elsewhere_is_in_the_time_zone_at_its_centre() {
    let tokyo = tempfile::tempdir().expect("temp dir");
    let out = seed(tokyo.path(), &["--city", "Tokyo", "--lat", "35.68", "--lng", "139.76", "--radius-km", "5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(venue_timezones(tokyo.path()), ["Asia/Tokyo"]);

    let default = tempfile::tempdir().expect("temp dir");
    assert!(seed(default.path(), &[]).status.success());
    assert_eq!(venue_timezones(default.path()), ["America/New_York"]);
}

#[test]
fn seed_refuses_another_city_without_its_centre_and_a_latitude_without_a_longitude() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paris = seed(dir.path(), &["--city", "Paris"]);
    assert!(!paris.status.success());
    let err = String::from_utf8_lossy(&paris.stderr);
    assert!(err.contains("--city \"Paris\" needs its centre, --lat and --lng"), "{err}");
    for half in [&["--lat", "10"][..], &["--lng", "10"]] {
        let out = seed(dir.path(), half);
        assert!(!out.status.success(), "{half:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--lat") && err.contains("--lng"), "{half:?}: {err}");
    }
    assert!(!dir.path().join("luna.db").exists(), "nothing written");
    // The configured city by name needs no centre.
    assert!(seed(dir.path(), &["--city", "New York"]).status.success());
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
    assert!(dir.path().join("model.bin").exists());
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
fn serve_demo_on_a_city_seeded_elsewhere_learns_from_it() {
    // As a second server finds the city its peer seeded: no seeding here, and no model file
    // (`--no-train`: a seed otherwise trains the model on its city).
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(seed(dir.path(), &["--no-train"]).status.success());
    assert!(!dir.path().join("model.bin").exists());
    let server = Server::start(dir.path(), &["--demo"]);
    let users = get(&server.base, "/users/");
    let id = users[0]["id"].as_str().expect("an id").to_string();
    // Before, it trained on the engine before loading it: a model of nobody, kept for good.
    let learned = get(&server.base, &format!("/api/v1/recommendations/{id}/venues?ranker=learned&limit=3"));
    assert_eq!(learned["venues"][0]["reasons"][0]["code"], "learned", "{learned}");
    assert!(std::fs::metadata(dir.path().join("model.bin")).expect("model file").len() > 1_000);
    assert!(server.stop().success());
}

#[test]
fn sigterm_stops_a_server_with_an_open_stream_and_a_simulation_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &["--demo"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stream = rt.block_on(async {
        let client = reqwest::Client::new();
        let start = serde_json::json!({"speed": "max", "users": 200, "seed": 3});
        let url = format!("{}/api/v1/simulation/start", server.base);
        let r = client.post(url).bearer_auth(ADMIN).json(&start).send().await.expect("start");
        assert!(r.status().is_success(), "simulation start -> {}", r.status());
        // The dashboard's stream, open while the server is told to stop.
        let url = format!("{}/api/v1/admin/streams/subscribe-all", server.base);
        let res = client.get(url).bearer_auth(ADMIN).send().await.expect("stream");
        assert!(res.status().is_success());
        res
    });
    std::thread::sleep(Duration::from_millis(500));
    // Before, the open stream kept it serving. (The simulation keeps writing: the last outbox
    // flush is bounded too.)
    let status = server.stop();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    drop(stream);
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
fn reading_commands_refuse_a_data_dir_without_a_database_and_leave_none_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = dir.path().join("mistyped");
    for args in [
        &["eval"][..],
        &["train"],
        &["check"],
        &["admin-token"],
        &["outbox", "dead"],
        &["outbox", "redrive", "--all"],
        &["simulate", "--no-seed", "--duration", "1h"],
    ] {
        let out = luna(&typo, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains("no database at") && err.contains("luna seed"), "{args:?}: {err}");
        assert!(!typo.join("luna.db").exists(), "{args:?} created a database");
    }
    // A database without users is refused by `simulate --no-seed` too, as its help says, and left
    // as it was (it simulated nobody and said nothing of it).
    let empty = dir.path().join("empty");
    assert!(luna(&empty, &["seed", "--users", "0", "--venues", "3"]).status.success());
    let out = luna(&empty, &["simulate", "--no-seed", "--duration", "1h"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("has no users and --no-seed was given"), "{err}");
}

#[test]
fn config_prints_settings_without_secrets() {
    let out = Command::new(LUNA)
        .arg("config")
        .env("DATABASE_URL", "postgres://luna:hunter2@127.0.0.1:5432/luna")
        .env("LUNA_ADMIN_TOKEN", "admin-hunter3-token")
        .env("LUNA_SIGNING_SECRET", "signing-hunter4-secret-of-32-chars")
        .output()
        .expect("luna config runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("postgres://luna:****@127.0.0.1:5432/luna"), "{text}");
    assert!(!text.contains("hunter2") && !text.contains("hunter3") && !text.contains("hunter4"), "{text}");
    assert!(text.contains("admin_token = \"****\""), "{text}");
}

/// `n` writers creating users on `base` until the server stops answering; the ids of the 201s.
/// Every answer the server gives is a 201: shutdown drains requests, it does not fail them.
async fn write_until_gone(base: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let tasks: Vec<_> = (0..n)
        .map(|w| {
            let (client, url) = (client.clone(), format!("{base}/api/v1/users"));
            tokio::spawn(async move {
                let mut created = Vec::new();
                for i in 0.. {
                    let body = serde_json::json!({"handle": format!("w{w}_{i}"), "name": "Writer", "age": 30});
                    let Ok(res) = client.post(&url).json(&body).send().await else { break };
                    let status = res.status();
                    let Ok(text) = res.text().await else { break };
                    assert_eq!(status, reqwest::StatusCode::CREATED, "{text}");
                    let user: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    created.push(user["id"].as_str().expect("id").to_string());
                }
                created
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        created.extend(t.await.expect("writer"));
    }
    created
}

/// The user ids of every `user.created` event in the outbox of the database at `url`.
async fn outbox_user_ids(url: &str) -> std::collections::BTreeSet<String> {
    use sqlx::Connection;
    let sql = "SELECT payload FROM outbox WHERE event_type = 'user.created'";
    let payloads: Vec<String> = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("open the database");
        let rows: Vec<(serde_json::Value,)> = sqlx::query_as(sql).fetch_all(&mut conn).await.expect("outbox");
        rows.into_iter().map(|(p,)| p.to_string()).collect()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("open the database");
        let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut conn).await.expect("outbox");
        rows.into_iter().map(|(p,)| p).collect()
    };
    payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p).ok()?["id"].as_str().map(str::to_string))
        .collect()
}

const NO_RATE_LIMIT: &[(&str, &str)] = &[("LUNA_RATE_LIMIT__ENABLED", "false")];

/// SIGTERM while 8 writers create users: the server exits cleanly, every 201 is stored with its
/// event in the outbox, nothing beyond the 201s is stored, and the data checks out.
fn sigterm_under_write_load(database_url: Option<&str>, rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_args: Vec<&str> = database_url.map(|u| vec!["--database-url", u]).unwrap_or_default();
    let server = Server::start_with(dir.path(), &db_args, Some(ADMIN), NO_RATE_LIMIT);
    let base = server.base.clone();
    let load = rt.spawn(async move { write_until_gone(&base, 8).await });
    std::thread::sleep(Duration::from_millis(700));
    server.signal("-TERM");
    let status = server.wait();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let created = rt.block_on(load).expect("load");
    assert!(created.len() > 8, "the load wrote before the signal ({} users)", created.len());

    let sqlite = format!("sqlite://{}", dir.path().join("luna.db").display());
    let published = rt.block_on(outbox_user_ids(database_url.unwrap_or(&sqlite)));
    let missing: Vec<_> = created.iter().filter(|id| !published.contains(*id)).collect();
    assert!(missing.is_empty(), "{} committed users have no event: {missing:?}", missing.len());
    let mut args = vec!["check"];
    args.extend(&db_args);
    let check = luna(dir.path(), &args);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("a JSON report");
    assert_eq!(report["counts"]["users"].as_u64(), Some(created.len() as u64), "no write beyond the 201s");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Runs `test` on a new PostgreSQL database (skipped when `TEST_POSTGRES_URL` is not set).
fn on_postgres(test: fn(Option<&str>, &tokio::runtime::Runtime)) {
    let rt = runtime();
    let Some(db) = rt.block_on(testdb::TestDatabase::create(testdb::Backend::Postgres)) else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    test(Some(&db.url), &rt);
}

#[test]
fn sigterm_under_write_load_drains_in_flight_requests_and_loses_no_committed_event_on_sqlite() {
    sigterm_under_write_load(None, &runtime());
}

#[test]
fn sigterm_under_write_load_drains_in_flight_requests_and_loses_no_committed_event_on_postgres() {
    on_postgres(sigterm_under_write_load);
}

#[test]
fn a_sqlite_database_from_a_process_killed_mid_write_opens_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), &[], Some(ADMIN), NO_RATE_LIMIT);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let base = server.base.clone();
    let load = rt.spawn(async move { write_until_gone(&base, 8).await });
    std::thread::sleep(Duration::from_millis(700));
    server.signal("-KILL");
    assert!(!server.wait().success(), "killed, not stopped");
    let created = rt.block_on(load).expect("load");
    assert!(!created.is_empty());

    // Migrations, the invariant check, then reads and writes on a fresh server.
    let check = luna(dir.path(), &["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("a JSON report");
    assert!(report["counts"]["users"].as_u64().expect("a count") >= created.len() as u64, "every 201 survived");
    let server = Server::start_with(dir.path(), &[], Some(ADMIN), NO_RATE_LIMIT);
    let again = rt.block_on(create_users(&server.base, 3));
    assert_eq!(again.len(), 3);
    let first = get(&server.base, &format!("/api/v1/users/{}", created[0]));
    assert_eq!(first["id"], created[0].as_str());
    assert!(server.stop().success());
}

/// Creates `n` users; their ids.
async fn create_users(base: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let mut ids = Vec::new();
    for i in 0..n {
        let body = serde_json::json!({"handle": format!("after_{i}"), "name": "After", "age": 30});
        let res = client.post(format!("{base}/api/v1/users")).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        ids.push(res.json::<serde_json::Value>().await.expect("JSON")["id"].as_str().expect("id").to_string());
    }
    ids
}

/// `luna outbox` on a database of `url`; stdout, after checking it succeeded.
fn outbox(url: &str, args: &[&str]) -> String {
    let out = Command::new(LUNA)
        .arg("outbox")
        .args(args)
        .args(["--database-url", url])
        .env_remove("DATABASE_URL")
        .output()
        .expect("luna runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// An operator lists the outbox's dead letters (a table, or a page of JSON with the next
/// cursor) and sends them back by id or all at once; they are pending again. Both backends.
#[test]
fn outbox_lists_dead_letters_and_redrives_them_by_id_or_all() {
    let rt = runtime();
    for backend in testdb::Backend::ALL {
        let Some(db) = rt.block_on(testdb::TestDatabase::create(backend)) else { continue };
        let dead = rt.block_on(async {
            let store = store::connect(&db.url).await.expect("open the store");
            for _ in 0..3 {
                store.record_event(domain::DomainEvent::DataReset).await.expect("recorded");
            }
            let sql = "UPDATE outbox SET channel = 'nowhere'";
            db.execute_unchecked("outbox", "outbox_channel_check", sql).await.expect("written around the check");
            let unreadable = store.unpublished_events(10).await.expect("outbox").unreadable;
            store.set_aside_events(&unreadable).await.expect("set aside");
            unreadable.into_iter().map(|u| u.id.to_string()).collect::<Vec<_>>()
        });
        assert_eq!(dead.len(), 3, "{backend:?}");

        let table = outbox(&db.url, &["dead"]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("id") && lines[0].contains("reason"), "{backend:?}: {table}");
        for (line, id) in lines[1..4].iter().zip(&dead) {
            assert!(line.starts_with(id.as_str()) && line.contains("unknown channel"), "{backend:?}: {table}");
        }
        let page: serde_json::Value =
            serde_json::from_str(&outbox(&db.url, &["dead", "--limit", "2", "--json"])).expect("JSON");
        let ids: Vec<&str> =
            page["dead_letters"].as_array().expect("a list").iter().filter_map(|d| d["id"].as_str()).collect();
        assert_eq!((ids, page["next"].as_str()), (vec![dead[0].as_str(), dead[1].as_str()], Some(dead[1].as_str())));
        assert_eq!(page["dead_letters"][0]["channel"], "nowhere", "{backend:?}");

        assert_eq!(outbox(&db.url, &["redrive", "--id", &dead[1]]), "redriven: 1\n", "{backend:?}");
        let rest = outbox(&db.url, &["dead", "--after", &dead[0]]);
        assert!(rest.contains(&dead[2]) && !rest.contains(&dead[1]), "{backend:?}: {rest}");
        assert_eq!(outbox(&db.url, &["redrive", "--all"]), "redriven: 2\n", "{backend:?}");
        assert_eq!(outbox(&db.url, &["dead"]), "No dead letters.\n", "{backend:?}");
        let pending = rt.block_on(async {
            let store = store::connect(&db.url).await.expect("open the store");
            store.counts().await.expect("counts").outbox_pending
        });
        assert_eq!(pending, 3, "{backend:?}: pending again");
        for wrong in [&["redrive"][..], &["redrive", "--all", "--id", &dead[0]], &["dead", "--limit", "0"]] {
            let out =
                Command::new(LUNA).arg("outbox").args(wrong).args(["--database-url", &db.url]).output().expect("runs");
            assert!(!out.status.success(), "{backend:?}: {wrong:?} went through");
        }
    }
}

#[test]
fn outbox_refuses_an_id_that_is_not_one_saying_what_an_id_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["outbox", "redrive", "--id", "42"][..], &["outbox", "dead", "--after", "abc"]] {
        let out = luna(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not an outbox id") && err.contains("UUID"), "{args:?}: {err}");
    }
}

/// `luna serve` on this data dir with Redis at `redis` under `prefix`: the started server, or
/// its stderr when it refused to start.
fn serve_on_redis(data_dir: &Path, redis: &str, prefix: &str) -> Result<Server, String> {
    let mut cmd = Command::new(LUNA);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("REDIS_URL", redis)
        .env("LUNA_REDIS_PREFIX", prefix)
        .env("LUNA_ADMIN_TOKEN", ADMIN);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("luna serve starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    loop {
        let Some(line) = lines.next() else {
            let status = child.wait().expect("wait works");
            assert!(!status.success(), "luna serve exited without serving: {seen}");
            return Err(seen);
        };
        let line = line.expect("utf-8 line");
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("dashboard http://").nth(1) {
            let base = format!("http://{}", rest.split('/').next().expect("an address"));
            std::thread::spawn(move || for _ in lines {});
            // Answering means serving, with its SIGTERM handler installed.
            assert!(status_of(&base, "/health", None) > 0);
            return Ok(Server { child, base, printed_token: None });
        }
    }
}

/// Before, every deployment used the Redis prefix `luna:events`: a server on another database
/// sharing the Redis started and took the first one's events (their users' emails and
/// locations on its streams, their interactions in its engine). Now the prefix is a setting,
/// bound to the first database that uses it: a server of another database is refused with
/// what to do (so is `luna simulate`, which publishes on the bus too), one under its own prefix
/// starts, and the first database's servers start again after a restart and a reset (its id is
/// kept).
#[test]
fn serve_refuses_a_redis_prefix_that_another_database_claimed() {
    let Ok(redis) = std::env::var("TEST_REDIS_URL") else {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().expect("temp dir"), tempfile::tempdir().expect("temp dir"));
    let shared = format!("luna-test-{}", uuid::Uuid::now_v7().simple());
    let own = format!("{shared}-b");

    let a = serve_on_redis(dir_a.path(), &redis, &shared).expect("the first database takes the prefix");
    let refusal = serve_on_redis(dir_b.path(), &redis, &shared).err().expect("another database is refused");
    for part in [format!("{shared:?}"), "redis_prefix".into(), format!("redis-cli DEL {shared}:database")] {
        assert!(refusal.contains(&part), "{part:?} not in: {refusal}");
    }
    let simulate = Command::new(LUNA)
        .args(["simulate", "--duration", "1h", "--data-dir"])
        .arg(dir_b.path())
        .env_remove("DATABASE_URL")
        .env("REDIS_URL", &redis)
        .env("LUNA_REDIS_PREFIX", &shared)
        .output()
        .expect("luna runs");
    let err = String::from_utf8_lossy(&simulate.stderr);
    assert!(!simulate.status.success() && err.contains(&format!("redis-cli DEL {shared}:database")), "{err}");
    let b = serve_on_redis(dir_b.path(), &redis, &own).expect("under its own prefix it starts");
    assert!(b.stop().success());
    assert!(a.stop().success());

    assert!(seed(dir_a.path(), &["--force"]).status.success(), "reset and reseeded");
    let again = serve_on_redis(dir_a.path(), &redis, &shared).expect("the same database after a reset");
    assert!(again.stop().success());

    runtime().block_on(async {
        for prefix in [&shared, &own] {
            bus::RedisBus::connect(&redis, prefix, 1).await.expect("redis").delete_all().await.expect("deleted");
        }
    });
}

#[test]
fn a_redis_prefix_with_spaces_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(LUNA)
        .args(["config"])
        .env("LUNA_REDIS_PREFIX", "luna events")
        .current_dir(dir.path())
        .output()
        .expect("luna runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis_prefix \"luna events\" must not contain spaces"), "{err}");
}

#[test]
fn trusted_proxies_are_read_from_the_environment_and_a_bad_one_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = |value: &str| {
        Command::new(LUNA)
            .args(["config"])
            .env("LUNA_RATE_LIMIT__TRUSTED_PROXIES", value)
            .current_dir(dir.path())
            .output()
            .expect("luna runs")
    };
    let out = config("127.0.0.1, 10.0.0.0/8");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#"trusted_proxies = ["127.0.0.1/32","10.0.0.0/8"]"#), "{text}");
    let out = config("10.0.0.0/8,lb.internal");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`lb.internal` is not an IP address or CIDR block"), "{err}");
}
