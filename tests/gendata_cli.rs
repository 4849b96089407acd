//! `tally gen-data` as an operator uses it: the real binary compiles `metrics-dsl` (with its
//! profile, `gendata.yaml`) or a project without a profile, writes synthetic landing files at a
//! small scale, and `tally migrate` + `tally run --once` load them into a fresh DuckDB file and
//! a fresh PostgreSQL database. Every source must load rows, each current table must hold
//! exactly the rows the generator says it will (updates merged, deletions archived), the
//! archive must hold the deletions, and the rejects table must hold exactly the deliberately
//! bad rows, with their reasons. A profile given with `--profile` is checked against the plan.

mod common;

use common::cli::{compile, mask, refused, stderr, succeeded, tally, text, Engine, Warehouse};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs gen-data; returns its JSON summary.
fn gen_data(generated: &Path, out: &Path, extra: &[&str]) -> Value {
    let output = tally()
        .arg("gen-data")
        .arg("--generated")
        .arg(generated)
        .arg("--out")
        .arg(out)
        .args(["--scale", "0.002", "--days", "45", "--format", "json"])
        .args(extra)
        .output()
        .expect("runs");
    succeeded(&output);
    assert!(stderr(&output).contains("wrote "), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("gen-data --format json prints JSON")
}

fn count(db: &mut dyn tally_runtime::Backend, sql: &str) -> i64 {
    let rows = db.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.scalar().and_then(tally_runtime::value::Value::as_i64).unwrap_or(-1)
}

/// gen-data, migrate, run at the end of the period, and the checks of the module docs.
fn load_generated(engine: Engine, bad_rows: u32) {
    load_project(engine, "metrics-dsl", bad_rows, 25);
}

fn load_project(engine: Engine, project: &str, bad_rows: u32, sources_at_least: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile(project, dir.path());
    let landing = dir.path().join("landing");
    let bad = bad_rows.to_string();
    let summary = gen_data(&generated, &landing, &["--bad-rows", &bad]);
    let warehouse = Warehouse::new(engine, dir.path(), "gendata");
    let target = &warehouse.target;
    let migrate = tally()
        .args(["migrate", "--db", target, "--generated"])
        .arg(&generated)
        .output()
        .expect("runs");
    succeeded(&migrate);
    let now = summary["end"].as_str().expect("end").to_owned();
    let run = tally()
        .args(["run", "--once", "--db", target, "--now", &now, "--landing"])
        .arg(&landing)
        .arg("--generated")
        .arg(&generated)
        .output()
        .expect("runs");
    succeeded(&run);
    let mut db = tally_runtime::backend::open(target).unwrap_or_else(|e| panic!("{e}"));
    let sources = summary["sources"].as_array().expect("sources");
    assert!(sources.len() >= sources_at_least, "every source of {project}: {}", sources.len());
    let mut archived_total = 0;
    for s in sources {
        let name = s["source"].as_str().expect("source");
        let files = s["files"].as_array().expect("files").len() as i64;
        let ledger = count(
            db.as_mut(),
            &format!(
                "SELECT count(*) FROM etl_file_ledger WHERE source = '{name}' AND rows_loaded > 0"
            ),
        );
        assert_eq!(ledger, files, "{name}: every file loaded rows");
        let current = count(db.as_mut(), &format!("SELECT count(*) FROM cur_{name}"));
        assert_eq!(
            current,
            s["current_rows"].as_i64().expect("current_rows"),
            "{name}: current rows"
        );
        assert!(current > 0, "{name} loaded no rows");
        let archived = count(
            db.as_mut(),
            &format!(
                "SELECT count(*) FROM arc_{name} \
                 WHERE _tally_archive_reason IN ('deleted_upstream', 'missing_from_snapshot')"
            ),
        );
        assert_eq!(
            archived,
            s["deletions"].as_i64().expect("deletions"),
            "{name}: archived deletions"
        );
        archived_total += archived;
    }
    assert!(archived_total > 0, "the follow-up batches archive rows");
    let rejects = db
        .query("SELECT source, file, line, column_name, value, reason FROM etl_rejects ORDER BY source, file, line")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rejects.rows.len(), bad_rows as usize, "{rejects:?}");
    for i in 0..rejects.rows.len() {
        let source = rejects.get(i, "source").map(ToString::to_string).unwrap_or_default();
        let value = rejects.get(i, "value").map(ToString::to_string).unwrap_or_default();
        let reason = rejects.get(i, "reason").map(ToString::to_string).unwrap_or_default();
        assert!(value == "12x" || value.starts_with("2025-02-30"), "{source}: {value}");
        assert!(reason.starts_with("not a valid "), "{source}: {reason}");
        let planned =
            sources.iter().find(|s| s["source"] == source.as_str()).expect("a generated source");
        assert!(planned["bad_rows"].as_i64() > Some(0), "{source} got no bad rows from gen-data");
    }
}

#[test]
fn generated_data_loads_on_duckdb() {
    load_generated(Engine::DuckDb, 0);
}

#[test]
fn generated_bad_rows_are_rejected_on_duckdb() {
    load_generated(Engine::DuckDb, 4);
}

#[test]
fn generated_data_with_bad_rows_loads_on_postgres() {
    load_generated(Engine::Postgres, 4);
}

#[test]
fn generated_data_loads_on_postgres() {
    load_generated(Engine::Postgres, 0);
}

#[test]
fn a_project_without_a_profile_gets_data_from_its_plan_alone() {
    assert!(!root().join("examples/quickstart/gendata.yaml").exists());
    load_project(Engine::DuckDb, "examples/quickstart", 2, 2);
}

#[test]
fn the_project_profile_reaches_gen_data_and_another_can_replace_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile("metrics-dsl", dir.path());
    assert!(generated.join("gendata.json").is_file(), "compile writes the profile");
    let ports = |summary: &Value, landing: &Path| -> String {
        let source = summary["sources"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["source"] == "ports"))
            .expect("ports");
        let path = source["files"][0]["path"].as_str().expect("a file");
        std::fs::read_to_string(landing.join(path)).expect("ports file")
    };
    let landing = dir.path().join("landing");
    let summary = gen_data(&generated, &landing, &[]);
    // The catalog of the profile: ports of entry with their field offices.
    assert!(ports(&summary, &landing).contains("New York JFK Airport"));
    // Another profile, checked against the plan: here a smaller set of ports.
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        "dimensions:\n  location:\n    port:\n      members:\n        - {key: \"0001\", label: Only Port}\n",
    )
    .expect("write");
    let landing_b = dir.path().join("landing_b");
    let profile = other.to_string_lossy().into_owned();
    let summary_b = gen_data(&generated, &landing_b, &["--profile", &profile]);
    let listed = ports(&summary_b, &landing_b);
    assert!(listed.contains("Only Port") && !listed.contains("JFK"), "{listed}");
    // A profile that does not fit the plan is refused with every problem and its line.
    std::fs::write(&other, "sources:\n  seacat:\n    rows_per_day: 5\n").expect("write");
    let refused = tally()
        .arg("gen-data")
        .arg("--generated")
        .arg(&generated)
        .args(["--profile", &profile, "--out"])
        .arg(dir.path().join("landing_c"))
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("error[R0607]")
            && stderr.contains("other.yaml:2: Unknown source `seacat`")
            && stderr.contains("did you mean `seacats`?"),
        "{stderr}"
    );
}

#[test]
fn gen_data_is_deterministic_and_refuses_a_used_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile("metrics-dsl", dir.path());
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let summary_a = gen_data(&generated, &a, &[]);
    let summary_b = gen_data(&generated, &b, &[]);
    assert_eq!(summary_a, summary_b);
    let mut files = 0;
    for s in summary_a["sources"].as_array().expect("sources") {
        for f in s["files"].as_array().expect("files") {
            let path = f["path"].as_str().expect("path");
            let left = std::fs::read(a.join(path)).expect("file a");
            assert_eq!(left, std::fs::read(b.join(path)).expect("file b"), "{path} differs");
            files += 1;
        }
    }
    assert!(files > 50, "{files} files");
    // The human summary names every source and the --now to run at.
    let c = dir.path().join("c");
    let output = tally()
        .arg("gen-data")
        .arg("--generated")
        .arg(&generated)
        .arg("--out")
        .arg(&c)
        .args(["--scale", "0.001", "--days", "10"])
        .output()
        .expect("runs");
    let stdout = succeeded(&output);
    assert!(
        stdout.contains("seacats") && stdout.contains("--now \"2024-10-11 00:00\""),
        "{stdout}"
    );
    let again = tally()
        .arg("gen-data")
        .arg("--generated")
        .arg(&generated)
        .arg("--out")
        .arg(&c)
        .output()
        .expect("runs");
    let refusal = mask(&refused(&again, "R0602"), dir.path());
    assert!(refusal.starts_with("error[R0602]: [TMP]/c is not empty\n"), "{refusal}");
    let bad = tally()
        .arg("gen-data")
        .arg("--generated")
        .arg(&generated)
        .args(["--start", "2024-13-01", "--out"])
        .arg(dir.path().join("d"))
        .output()
        .expect("runs");
    refused(&bad, "R0603");
}
