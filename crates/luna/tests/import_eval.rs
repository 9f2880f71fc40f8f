//! `luna import` on the documented example data set, then `luna eval` and `luna train` on what
//! was imported: data Luna did not generate goes through the whole offline pipeline.

use std::path::Path;
use std::process::Command;

const LUNA: &str = env!("CARGO_BIN_EXE_luna");

fn luna(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(LUNA)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .expect("luna runs");
    assert!(out.status.success(), "luna {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples").join(name).display().to_string()
}

#[test]
fn the_example_data_set_imports_then_evaluates_every_ranker_and_trains_a_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (users, venues, edges, log) =
        (example("users.csv"), example("venues.csv"), example("edges.csv"), example("interactions.jsonl"));
    let out = luna(
        dir.path(),
        &["import", "--users", &users, "--venues", &venues, "--edges", &edges, "--interactions", &log],
    );
    // 12 users + 10 venues + 18 ties stored both ways + 192 interactions.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 250 rows"), "{out:?}");
    // Each file is announced before it is read (a large one takes a while to parse).
    let said = String::from_utf8_lossy(&out.stderr);
    for (kind, file) in [("users", &users), ("venues", &venues), ("edges", &edges), ("interactions", &log)] {
        assert!(said.contains(&format!("{kind}: reading {file}\n")), "{kind}: {said}");
    }

    let json = dir.path().join("eval.json");
    let svg = dir.path().join("eval.svg");
    let out = luna(dir.path(), &["eval", "--json", json.to_str().unwrap(), "--svg", svg.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&out.stdout);
    for ranker in ["popularity", "seed2", "default", "learned"] {
        assert!(table.contains(ranker), "{ranker} missing from\n{table}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["rankers"].as_array().unwrap().len(), 4);
    assert!(report["users_evaluated"].as_u64().unwrap() > 0);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    // An explicit split and relevance: the report says so, and only visits count as relevant.
    let at = dir.path().join("at.json");
    let args = ["eval", "--split-at", "2026-10-20T00:00:00Z", "--relevant", "visit", "--json", at.to_str().unwrap()];
    luna(dir.path(), &args);
    let at: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&at).unwrap()).unwrap();
    assert_eq!(at["split_at"], "2026-10-20T00:00:00Z");
    // QA: the report did not record --relevant nor the seed, so reports with another relevance
    // looked alike. Its `settings` say what the run was given.
    let given = &at["settings"];
    assert_eq!((&given["relevant"], &given["seed"]), (&serde_json::json!(["visit"]), &serde_json::json!(42)), "{at}");
    assert_eq!(
        (&given["split_at"], &given["test_fraction"]),
        (&serde_json::json!("2026-10-20T00:00:00Z"), &serde_json::Value::Null)
    );
    assert_eq!((&given["source"], &given["users"]), (&serde_json::json!("store"), &serde_json::Value::Null));
    // Without them, the defaults: every relevant type, the test fraction, no explicit split.
    assert_eq!(report["settings"]["split_at"], serde_json::Value::Null, "{report}");
    assert_eq!(report["settings"]["test_fraction"], 0.2, "{report}");
    assert!(report["settings"]["relevant"].as_array().unwrap().len() > 1, "{report}");
    let log = std::fs::read_to_string(example("interactions.jsonl")).unwrap();
    let later: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|i| i["timestamp"].as_str().unwrap() >= "2026-10-20T00:00:00Z")
        .collect();
    let visitors: std::collections::HashSet<&str> =
        later.iter().filter(|i| i["interaction_type"] == "visit").map(|i| i["user_id"].as_str().unwrap()).collect();
    assert_eq!(at["test_interactions"].as_u64().unwrap() as usize, later.len());
    assert_eq!(at["users_evaluated"].as_u64().unwrap() as usize, visitors.len());
    // Refusals: a split past the log's end, an unknown interaction type, a bad instant.
    for (args, message) in [
        (&["--split-at", "2027-01-01T00:00:00Z"][..], "leaves no interactions to test on"),
        (&["--relevant", "like,nope"][..], "unknown interaction type `nope`"),
        (&["--split-at", "2026-10-30T22:00:00Z", "--relevant", "search"][..], "no search interactions from the split"),
        (&["--split-at", "2026-10-20T00:00:00Z", "--test-fraction", "0.3"][..], "cannot be used with"),
        (&["--split-at", "yesterday"][..], "not an RFC 3339 instant"),
        // Bad numbers are refused by name before anything is computed.
        (&["--test-fraction", "NaN"][..], "invalid value 'NaN' for '--test-fraction"),
        (&["--test-fraction", "5"][..], "invalid value '5' for '--test-fraction"),
        (&["--test-fraction", "0"][..], "between 0 and 1, exclusive"),
        (&["--k", "0"][..], "invalid value '0' for '--k"),
        (&["--max-users", "0"][..], "invalid value '0' for '--max-users"),
    ] {
        let out = Command::new(LUNA)
            .arg("eval")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .expect("luna runs");
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{args:?}: {out:?}");
    }

    luna(dir.path(), &["train", "--epochs", "3"]);
    assert!(dir.path().join("model.bin").exists());
}

#[test]
fn a_generated_city_is_evaluated_against_its_ceilings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("eval.json");
    let args = ["eval", "--synth", "--users", "600", "--venues", "80", "--epochs", "2", "--ceiling", "--json"];
    luna(dir.path(), &[&args[..], &[json.to_str().unwrap()]].concat());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ndcg: std::collections::HashMap<&str, f64> = report["rankers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["ranker"].as_str().unwrap(), m["ndcg"].as_f64().unwrap()))
        .collect();
    assert_eq!(ndcg.len(), 7, "{ndcg:?}");
    // The exact oracle beats every ranker; each oracle is a real ranking, not an empty one.
    for r in ["popularity", "seed2", "default", "learned", "oracle_fair", "oracle_taste"] {
        assert!(ndcg["oracle_exact"] > ndcg[r], "{ndcg:?}");
        assert!(ndcg[r] > 0.0, "{ndcg:?}");
    }

    // Without a generated city there is no ground truth: a clear refusal.
    let out = Command::new(LUNA)
        .args(["eval", "--ceiling", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .expect("luna runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ceiling needs --synth"), "{out:?}");

    // A generated city without users would have nothing to evaluate: a usage error naming the
    // option, before anything is generated.
    let out = Command::new(LUNA)
        .args(["eval", "--synth", "--users", "0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .expect("luna runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'--users <USERS>'") && err.contains("at least 1"), "{err}");
}

#[test]
fn a_bad_record_anywhere_stops_the_import_with_nothing_stored_and_names_the_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users.csv");
    let mut csv = String::from("id,handle,home_lat,home_lng\n");
    for i in 0..25 {
        csv.push_str(&format!("u{i},user{i},40.7,-74.0\n"));
    }
    csv.push_str("u25,user25,140.7,-74.0\n");
    std::fs::write(&users, csv).unwrap();
    let venues = dir.path().join("venues.csv");
    std::fs::write(&venues, "id,name,category,lat,lng,timezone\nv1,Bar,bar,40.7,-74.0,Mars/Base\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(LUNA)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .expect("luna runs")
    };
    let (u, v) = (users.to_str().unwrap(), venues.to_str().unwrap());
    let refused = |args: &[&str], record: &str, field: &str| {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains(record) && err.contains(field), "{args:?}: {err}");
    };
    refused(&["import", "--users", u], "users.csv record 26", "home_lat");
    std::fs::write(&users, std::fs::read_to_string(&users).unwrap().replace("140.7", "40.7")).unwrap();
    // A bad venue stops the users, checked before it, from being stored too.
    refused(&["import", "--users", u, "--venues", v], "venues.csv record 1", "timezone");
    std::fs::write(&venues, std::fs::read_to_string(&venues).unwrap().replace("Mars/Base", "Europe/Paris")).unwrap();
    // Nothing was stored: with both mended, the same command goes through.
    let out = run(&["import", "--users", u, "--venues", v]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 27 rows"), "{out:?}");
}

/// `luna import` with `args` (file names inside `dir`) into `dir/db`, without a server's env.
fn import(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(LUNA);
    cmd.arg("import").arg("--data-dir").arg(dir.join("db")).env_remove("DATABASE_URL").env_remove("REDIS_URL");
    for pair in args.chunks(2) {
        cmd.arg(pair[0]).arg(dir.join(pair[1]));
    }
    cmd.output().expect("luna runs")
}

/// The rows stored under `dir/db` (tables an import writes that hold any).
fn stored(dir: &Path) -> Vec<(&'static str, u64)> {
    let db = dir.join("db/luna.db");
    if !db.exists() {
        return Vec::new();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let c = rt.block_on(async {
        let store = store::connect(&format!("sqlite://{}", db.display())).await.expect("opens");
        store.counts().await.expect("counts")
    });
    let all = [("users", c.users), ("venues", c.venues), ("edges", c.social_edges), ("interactions", c.interactions)];
    all.into_iter().filter(|(_, n)| *n > 0).collect()
}

#[test]
fn records_that_clash_within_the_files_or_name_nothing_are_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for name in ["users.csv", "venues.csv", "edges.csv"] {
        std::fs::copy(example(name), d.join(name)).unwrap();
    }
    let files = [
        ("venues_dupid.csv", "id,name,category,lat,lng\nv1,Dup,bar,40.7,-73.9\nv1,Dup2,bar,40.7,-73.9\n"),
        ("users_duphandle.csv", "id,handle\nx1,same\nx2,same\n"),
        ("edges_self.csv", "user_id,other_user_id\nu1,u1\n"),
        ("edges_twice.csv", "user_id,other_user_id\nu1,u2\nu1,u2\n"),
        ("edges_reversed.csv", "user_id,other_user_id\nu1,u2\n\nu2,u1\n"),
        ("edges_unknown.csv", "user_id,other_user_id\nu1,ghost\n"),
        (
            "log_unknown_venue.jsonl",
            "{\"user_id\":\"u1\",\"venue_id\":\"nope\",\"interaction_type\":\"view\",\"timestamp\":\"2026-10-01T12:25:00Z\"}\n",
        ),
        (
            "log_unknown_user.jsonl",
            "{\"user_id\":\"ghost\",\"venue_id\":\"v1\",\"interaction_type\":\"view\",\"timestamp\":\"2026-10-01T12:25:00Z\"}\n",
        ),
        (
            "log_dwell.jsonl",
            "{\"user_id\":\"u1\",\"venue_id\":\"v1\",\"interaction_type\":\"view\",\"timestamp\":\"2026-10-01T12:25:00Z\",\"dwell_time_seconds\":100000}\n",
        ),
        (
            "log_upper.jsonl",
            "{\"user_id\":\"u1\",\"venue_id\":\"v1\",\"interaction_type\":\"VIEW\",\"timestamp\":\"2026-10-01T12:25:00Z\"}\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    let base = ["--users", "users.csv", "--venues", "venues.csv"];
    for (args, says) in [
        (
            &["--users", "users.csv", "--venues", "venues_dupid.csv"][..],
            "venues_dupid.csv record 2 (line 3): id `v1` is already used by record 1",
        ),
        (
            &["--users", "users_duphandle.csv"],
            "users_duphandle.csv record 2 (line 3): handle `same` is already used by record 1",
        ),
        (
            &[&base[..], &["--edges", "edges_self.csv"]].concat(),
            "edges_self.csv record 1 (line 2): `user_id` and `other_user_id` are the same user: u1",
        ),
        (
            &[&base[..], &["--edges", "edges_twice.csv"]].concat(),
            "edges_twice.csv record 2 (line 3): the tie between `u1` and `u2` is already in record 1",
        ),
        (
            &[&base[..], &["--edges", "edges_reversed.csv"]].concat(),
            "edges_reversed.csv record 2 (line 4): the tie between `u2` and `u1` is already in record 1",
        ),
        (
            &[&base[..], &["--edges", "edges_unknown.csv"]].concat(),
            "edges_unknown.csv record 1 (line 2): `other_user_id` `ghost` is neither in the users file nor stored",
        ),
        (
            &[&base[..], &["--edges", "edges.csv", "--interactions", "log_unknown_venue.jsonl"]].concat(),
            "`venue_id` `nope` is neither in the venues file nor stored",
        ),
        (
            &[&base[..], &["--interactions", "log_unknown_user.jsonl"]].concat(),
            "log_unknown_user.jsonl record 1 (line 1): `user_id` `ghost` is neither",
        ),
        (
            &[&base[..], &["--interactions", "log_dwell.jsonl"]].concat(),
            "`dwell_time_seconds` must be between 0 and 86400: 100000",
        ),
        (
            &[&base[..], &["--interactions", "log_upper.jsonl"]].concat(),
            "`interaction_type` has an unknown value: VIEW (one of view,",
        ),
    ] {
        let out = import(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("the database refused"), "{args:?}: {err}");
        assert_eq!(stored(d), vec![], "{args:?} left rows behind");
    }

    // Users and venues stored by one run: a second run's ties and log may name them, but the
    // same users again are refused by the check, naming the record and the id.
    let out = import(d, &base);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = import(d, &["--edges", "edges.csv", "--interactions", "log_upper.jsonl"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("VIEW"), "{out:?}");
    std::fs::write(
        d.join("log.jsonl"),
        std::fs::read_to_string(d.join("log_upper.jsonl")).unwrap().replace("VIEW", "view"),
    )
    .unwrap();
    let out = import(d, &["--edges", "edges.csv", "--interactions", "log.jsonl"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 37 rows"), "{out:?}");
    let out = import(d, &["--edges", "edges.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("edges.csv record 1 (line 2): the tie between `u1` and `u3` is already stored"), "{err}");
    let out = import(d, &["--users", "users.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("users.csv record 1 (line 2): user `u1` is already stored"), "{err}");
    assert_eq!(stored(d), [("users", 12), ("venues", 10), ("edges", 36), ("interactions", 1)]);
}

#[test]
fn malformed_files_and_out_of_range_numbers_are_refused_naming_the_line_and_a_byte_order_mark_is_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let files = [
        ("badquote.csv", "id,handle,name\n\"q1\",\"quoted\",\"Name, with comma\"\n\"q2,unterminated\n"),
        ("surplus.csv", "id,handle,name\nx1,extra1,Extra,SURPLUS,MORE\n"),
        ("short.csv", "id,handle,name\nx1,full,Full\nx2,fewer\n"),
        ("dupcol.csv", "id,id,handle\nx1,x2,dupcolumn\n"),
        ("hugeage.csv", "id,handle,age\nh1,hugeage,99999999999999999999\n"),
        ("hugecap.csv", "id,name,category,lat,lng,capacity\nv1,Big,bar,40.7,-73.9,99999999999\n"),
        ("upper.csv", "id,name,category,lat,lng\nv1,Big,Bar,40.7,-73.9\n"),
    ];
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    for (args, says) in [
        (["--users", "badquote.csv"], "badquote.csv: line 3: cell 1: a quote opens but never closes"),
        (["--users", "surplus.csv"], "surplus.csv: line 2: 5 cells where the header has 3 columns"),
        (["--users", "short.csv"], "short.csv: line 3: 2 cells where the header has 3 columns"),
        (["--users", "dupcol.csv"], "dupcol.csv: line 1 (the header): the column `id` is named twice"),
        (["--users", "hugeage.csv"], "age: must be between 13 and 120"),
        (["--venues", "hugecap.csv"], "capacity: must be between 1 and 100000"),
        (["--venues", "upper.csv"], "`category` has an unknown value: Bar (one of restaurant, bar,"),
    ] {
        let out = import(d, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(stored(d), vec![], "{args:?} left rows behind");
    }
    std::fs::write(d.join("bom.csv"), "\u{feff}id,handle,name\r\nb1,bomuser,Bom\r\n").unwrap();
    std::fs::write(d.join("venue.csv"), "id,name,category,lat,lng\nv1,Bar,bar,40.7,-73.9\n").unwrap();
    let log = "\u{feff}{\"user_id\":\"b1\",\"venue_id\":\"v1\",\"interaction_type\":\"view\",\"timestamp\":\"2026-10-01T12:25:00Z\"}\n";
    std::fs::write(d.join("bom.jsonl"), log).unwrap();
    let out = import(d, &["--users", "bom.csv", "--venues", "venue.csv", "--interactions", "bom.jsonl"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 3 rows"), "{out:?}");
}

#[test]
fn a_named_file_that_holds_no_records_is_refused_before_anything_is_stored_and_can_be_left_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for name in ["users.csv", "venues.csv"] {
        std::fs::copy(example(name), d.join(name)).unwrap();
    }
    for (name, text) in
        [("empty.csv", ""), ("header.csv", "user_id,other_user_id\r\n\r\n"), ("blank.jsonl", "\n  \n\n")]
    {
        std::fs::write(d.join(name), text).unwrap();
    }
    let base = ["--users", "users.csv", "--venues", "venues.csv"];
    for (args, says) in [
        (&["--users", "empty.csv"][..], "empty.csv: holds no records"),
        (&[&base[..], &["--edges", "header.csv"]].concat(), "header.csv: holds no records"),
        (&[&base[..], &["--interactions", "blank.jsonl"]].concat(), "blank.jsonl: holds no records"),
    ] {
        let out = import(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains(says), "{args:?}: {err}");
        let flag = args[args.len() - 2];
        assert!(err.contains(&format!("leave out {flag}")), "{args:?}: {err}");
        assert_eq!(stored(d), vec![], "{args:?} left rows behind");
    }
    // No file at all is refused too, rather than importing nothing.
    let out = import(d, &[]);
    assert!(!out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to import"), "{out:?}");
    // Without ties or a log, their flags are left out: the rest goes in.
    let out = import(d, &base);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 22 rows"), "{out:?}");
    assert_eq!(stored(d), [("users", 12), ("venues", 10)]);
}

/// A file that cannot be read or parsed, or a bad record, is refused before the database is
/// created, so a failed import into a new data folder leaves no database there (it used to
/// create and migrate an empty one). A venue whose quoted description spans two lines (as spreadsheets export) imports.
#[test]
fn a_missing_or_malformed_file_leaves_no_database_and_a_quoted_cell_may_span_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("badquote.csv"), "id,handle\n\"q2,unterminated\n").unwrap();
    std::fs::write(
        d.join("venues.csv"),
        "id,name,description,category,lat,lng\nv99,Bar,\"Two lines,\nof description\",bar,40.7,-73.9\n",
    )
    .unwrap();
    std::fs::write(d.join("badlat.csv"), "id,handle,home_lat,home_lng\nu1,user1,140.7,-74.0\n").unwrap();
    for (args, says) in [
        (&["--users", "missing.csv"][..], "missing.csv"),
        // A bad record, found after every file parsed, leaves no database either.
        (
            &["--users", "badlat.csv", "--venues", "venues.csv"][..],
            "badlat.csv record 1 (line 2): invalid input: home_lat: must be between -90 and 90 (got \"140.7\")",
        ),
        (&["--users", "badquote.csv", "--venues", "venues.csv"][..], "badquote.csv: line 2: cell 1: a quote opens"),
        (&["--venues", "venues.csv", "--interactions", "missing.jsonl"][..], "missing.jsonl"),
    ] {
        let out = import(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went through");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!d.join("db/luna.db").exists(), "{args:?} left a database behind");
    }
    let out = import(d, &["--venues", "venues.csv"]);
    // QA: one row was "Imported 1 rows"; every count in the import's output is singular for one.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Imported 1 row into"), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("venues: 1 record checked in") && err.contains("storing 1 row in one"), "{err}");
    assert_eq!(stored(d), [("venues", 1)]);
    // A database that was there is checked against and kept as it is when a record is bad.
    let out = import(d, &["--users", "badlat.csv"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("badlat.csv record 1 (line 2): invalid input: home_lat"),
        "{out:?}"
    );
    assert_eq!(stored(d), [("venues", 1)]);
}

/// A deleted venue keeps its id (its bookings and plans still name it), so a venue imported
/// with that id is refused by the check, before anything is written: the message names the
/// file, record and line and says the id is a deleted venue's, rather than a bare "already
/// exists" from the database.
#[test]
fn a_venue_reusing_a_deleted_venues_id_is_refused_naming_the_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("venues.csv"), "id,name,category,lat,lng\nv1,Bar,bar,40.7,-73.9\nv2,Cafe,cafe,40.7,-73.9\n")
        .unwrap();
    std::fs::write(d.join("again.csv"), "id,name,category,lat,lng\nv3,New,bar,40.7,-73.9\nv1,Reused,bar,40.7,-73.9\n")
        .unwrap();
    let out = import(d, &["--venues", "venues.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let store = store::connect(&format!("sqlite://{}", d.join("db/luna.db").display())).await.expect("opens");
        let venues = store.scan_venues(None, 10).await.expect("venues");
        let v1 = venues.iter().find(|v| v.name == "Bar").expect("v1 stored").id;
        store.delete_venue(v1, chrono::Utc::now(), false).await.expect("deleted");
    });
    let out = import(d, &["--venues", "again.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "again.csv record 2 (line 3): venue `v1` has the id of a venue deleted before (a deleted venue keeps \
             its id, which no other venue may take): give the venue another id"
        ),
        "{err}"
    );
    assert!(!err.contains("the database refused"), "refused by the check, not the write: {err}");
    assert_eq!(stored(d), [("venues", 1)]);
}

/// QA: importing the same interaction log twice stored it twice, doubling what `luna eval` and
/// `luna train` learn from. An interaction with the same user, venue, type and timestamp (to the
/// microsecond) as a stored one, or one earlier in the file, is skipped and counted.
#[test]
fn an_interaction_log_imported_again_is_skipped_as_duplicates_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("users.csv"), "id,handle\nb1,bob1\n").unwrap();
    std::fs::write(d.join("venues.csv"), "id,name,category,lat,lng\nv1,Bar,bar,40.7,-73.9\n").unwrap();
    let line = |kind: &str, ts: &str| {
        format!("{{\"user_id\":\"b1\",\"venue_id\":\"v1\",\"interaction_type\":\"{kind}\",\"timestamp\":\"{ts}\"}}\n")
    };
    // The third repeats the first (the same microsecond); the second differs in type only.
    let log = [
        line("view", "2026-10-01T12:25:00Z"),
        line("like", "2026-10-01T12:25:00Z"),
        line("view", "2026-10-01T12:25:00.0000004Z"),
    ]
    .concat();
    std::fs::write(d.join("inter.jsonl"), &log).unwrap();
    let out = import(d, &["--users", "users.csv", "--venues", "venues.csv", "--interactions", "inter.jsonl"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && said.contains("Imported 4 rows into")
            && said.contains("(1 duplicate interaction skipped)"),
        "{out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interactions: 1 duplicate skipped"), "{out:?}");
    assert_eq!(stored(d), [("users", 1), ("venues", 1), ("interactions", 2)]);
    // Run again (as after a partial failure): nothing doubles, and it says how many it skipped.
    let out = import(d, &["--interactions", "inter.jsonl"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && said.contains("Imported 0 rows into")
            && said.contains("(3 duplicate interactions skipped)"),
        "{out:?}"
    );
    assert_eq!(stored(d), [("users", 1), ("venues", 1), ("interactions", 2)]);
    // A log with one new interaction among the stored ones adds that one.
    std::fs::write(d.join("more.jsonl"), [log, line("view", "2026-10-01T12:25:00.000001Z")].concat()).unwrap();
    let out = import(d, &["--interactions", "more.jsonl"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Imported 1 row into") && said.contains("(3 duplicate interactions skipped)"), "{out:?}");
    assert_eq!(stored(d), [("users", 1), ("venues", 1), ("interactions", 3)]);
}
