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
