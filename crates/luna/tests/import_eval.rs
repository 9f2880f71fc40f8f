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

    luna(dir.path(), &["train", "--epochs", "3"]);
    assert!(dir.path().join("model.json").exists());
}
