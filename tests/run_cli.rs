//! `tally run`, `tally status` and `tally retain` as an operator runs them: the real binary on a
//! DuckDB file and on a PostgreSQL database, with `generated/` from `tally compile
//! tests/fixtures/runtime/project` and the landing batches of `tests/fixtures/runtime/landing`.
//!
//! The crash tests kill `tally run` at every step boundary (`TALLY_FAULT`, see
//! `tally_runtime::etl`): the process aborts with the file's transaction open, or right after
//! it committed, or before the refresh commits. Running again without the fault must reach
//! exactly the state of a run that never crashed: every warehouse table, the rejects, the
//! ledger and the watermarks, row for row. Fault points exist only in builds with debug
//! assertions; built with `--release`, the same test checks that the binary ignores them.

mod common;

use assert_cmd::Command;
use common::cli::{compile, copy_tree, stderr, stdout, succeeded, tally, Engine, Warehouse};
use common::root;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use tally_runtime::plan;
use tempfile::TempDir;

/// Copies a landing batch of the fixtures into `landing`.
fn land(landing: &Path, batch: &str) {
    copy_tree(&root().join("tests/fixtures/runtime/landing").join(batch), landing);
}

/// A compiled `generated/` and, per database, a landing area.
struct Project {
    dir: TempDir,
    generated: PathBuf,
    plan: plan::Plan,
}

impl Project {
    fn compile() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let generated = compile("tests/fixtures/runtime/project", dir.path());
        let plan_path = generated.join("plan.json");
        let plan_text = std::fs::read_to_string(&plan_path).expect("plan.json");
        let plan = plan::parse(&plan_text, "plan.json").unwrap_or_else(|e| panic!("{e}"));
        Project { dir, generated, plan }
    }

    /// `tally <command> --db DB --generated DIR <args>`.
    fn command(&self, command: &str, db: &str, args: &[&str]) -> Command {
        let mut cmd = tally();
        cmd.arg(command).args(["--db", db, "--generated"]).arg(&self.generated).args(args);
        cmd
    }

    fn run(&self, db: &Database, now: &str, fault: Option<&str>) -> Output {
        let mut cmd = self.command("run", &db.target, &["--now", now, "--landing"]);
        cmd.arg(&db.landing);
        if let Some(fault) = fault {
            cmd.env("TALLY_FAULT", fault);
        }
        cmd.output().expect("runs")
    }

    /// Every table the plan names and the ETL state but the run log, row for row.
    fn snapshot(&self, db: &Database) -> BTreeMap<String, Vec<String>> {
        let mut tables: Vec<String> = Vec::new();
        for s in &self.plan.sources {
            tables.extend([
                s.tables.current.clone(),
                s.tables.archive.clone(),
                s.tables.staging.clone(),
            ]);
        }
        tables.extend(self.plan.marts.iter().chain(&self.plan.aggregates).map(|t| t.table.clone()));
        tables.extend(["etl_file_ledger", "etl_rejects", "etl_watermark"].map(String::from));
        let mut backend =
            tally_runtime::backend::open(&db.target).unwrap_or_else(|e| panic!("{e}"));
        tables
            .into_iter()
            .map(|table| {
                let rows = backend
                    .query(&format!("SELECT * FROM {table}"))
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut lines: Vec<String> = rows
                    .rows
                    .iter()
                    .map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "))
                    .collect();
                lines.sort();
                (table, lines)
            })
            .collect()
    }
}

/// A fresh database, migrated, and its landing area.
struct Database {
    target: String,
    landing: PathBuf,
    _warehouse: Warehouse,
}

impl Database {
    fn new(project: &Project, engine: Engine, label: &str) -> Database {
        let home = project.dir.path().join(label);
        std::fs::create_dir_all(&home).expect("mkdir");
        let warehouse = Warehouse::new(engine, &home, label);
        let target = warehouse.target.clone();
        succeeded(&project.command("migrate", &target, &[]).output().expect("runs"));
        Database { target, landing: home.join("landing"), _warehouse: warehouse }
    }
}

/// The state before the run that crashes: batch 1 loaded at T1, batch 2 landed.
fn prepared(project: &Project, engine: Engine, label: &str) -> Database {
    let db = Database::new(project, engine, label);
    land(&db.landing, "1-inserts");
    succeeded(&project.run(&db, "2024-03-01 06:00", None));
    land(&db.landing, "2-updates");
    db
}

const T2: &str = "2024-03-02 06:00";

/// Every step boundary of the file transaction (for the cdc source, which runs last, so the
/// others have committed when it crashes), a snapshot and an incremental source's, the
/// commit, the refresh and retention. Retention commits per source before its fault point
/// fires, and is the run's last step: that crash must leave the finished state itself.
const FAULTS: [&str; 11] = [
    "seizures:load",
    "seizures:validate",
    "seizures:merge",
    "seizures:archive_deleted",
    "seizures:record",
    "seizures:clear_staging",
    "seizures:commit",
    "ports:archive_deleted",
    "arrivals:merge",
    "*:refresh",
    "*:retention",
];

fn crash_and_rerun_reach_the_same_state(engine: Engine) {
    let project = Project::compile();
    let baseline = prepared(&project, engine, "baseline");
    succeeded(&project.run(&baseline, T2, None));
    let expected = project.snapshot(&baseline);
    assert!(expected["cur_seizures"].len() == 6, "{:?}", expected["cur_seizures"]);
    assert!(!expected["mart_borderstat"].is_empty());

    if !cfg!(debug_assertions) {
        // A release build (`cargo test --release`) has no fault points: the run ignores them.
        let db = prepared(&project, engine, "release");
        succeeded(&project.run(&db, T2, Some("seizures:merge")));
        assert_eq!(project.snapshot(&db), expected, "a release build honoured TALLY_FAULT");
        return;
    }
    for (i, fault) in FAULTS.iter().enumerate() {
        let db = prepared(&project, engine, &format!("crash{i}"));
        let crashed = project.run(&db, T2, Some(fault));
        assert!(!crashed.status.success(), "{fault}: the run did not crash");
        let stderr = stderr(&crashed);
        assert!(
            stderr.contains(&format!("fault point {fault} reached (TALLY_FAULT): aborting")),
            "{fault}: {stderr}"
        );
        let after_crash = project.snapshot(&db);
        if *fault == "*:retention" {
            assert_eq!(after_crash, expected, "{fault}: a crash after the last commit lost work");
        } else {
            assert_ne!(after_crash, expected, "{fault}: the crash left nothing to redo");
        }

        let rerun = project.run(&db, T2, None);
        succeeded(&rerun);
        let actual = project.snapshot(&db);
        for (table, rows) in &expected {
            assert_eq!(
                &actual[table], rows,
                "{fault}: {table} differs from a run that never crashed"
            );
        }
    }
}

#[test]
fn crash_and_rerun_reach_the_same_state_on_duckdb() {
    crash_and_rerun_reach_the_same_state(Engine::DuckDb);
}

#[test]
fn crash_and_rerun_reach_the_same_state_on_postgres() {
    crash_and_rerun_reach_the_same_state(Engine::Postgres);
}

/// What an operator reads: the run summary, `status`, `retain`, and the exit codes.
fn operator_round(engine: Engine) {
    let project = Project::compile();
    let db = Database::new(&project, engine, "operator");
    land(&db.landing, "1-inserts");

    let run = project.run(&db, "2024-03-01 06:00", None);
    succeeded(&run);
    let printed = stdout(&run);
    for line in [
        "  arrivals     1 file loaded (2 rows read, 2 loaded, 0 rejected), 0 skipped",
        "  inspections  0 files loaded (0 rows read, 0 loaded, 0 rejected), 0 skipped",
        "  ports        1 file loaded (4 rows read, 4 loaded, 0 rejected), 0 skipped",
        "  seizures     1 file loaded (5 rows read, 5 loaded, 0 rejected), 0 skipped",
        "  refreshed 5 metrics (through batch 3)",
    ] {
        assert!(printed.lines().any(|l| l == line), "no line {line:?} in\n{printed}");
    }
    assert!(printed.starts_with("run 20240301T060000-"), "{printed}");
    assert!(stderr(&run).is_empty(), "quiet when not on a terminal: {}", stderr(&run));

    // JSON for programs.
    land(&db.landing, "2-updates");
    let mut cmd = project.command(
        "run",
        &db.target,
        &["--now", "2024-03-02 06:00", "--format", "json", "--source", "seizures", "--landing"],
    );
    let json = cmd.arg(&db.landing).output().expect("runs");
    succeeded(&json);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(report["now"], "2024-03-02 06:00:00");
    assert_eq!(
        report["sources"][0]["files"],
        serde_json::json!([{"path": "seizures/2024-03-02T0600.csv", "batch": 4, "rows_read": 3, "rows_loaded": 3, "rows_rejected": 0}])
    );

    // A changed file: reported with its code, exit 1.
    let landed = db.landing.join("seizures/2024-03-01T0600.csv");
    let mut changed = std::fs::read_to_string(&landed).expect("landed");
    changed.push_str("S9,1,2024-03-01,JFK,drug,100,\n");
    std::fs::write(&landed, changed).expect("rewrite");
    let run = project.run(&db, "2024-03-02 06:15", None);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let printed = stdout(&run);
    assert!(
        printed.contains(
            "    error[R0202]: seizures: seizures/2024-03-01T0600.csv changed after it was loaded"
        ),
        "{printed}"
    );

    // Status: a table on stdout, JSON on request; exit 0 even when sources are late. The
    // failing source stopped only itself: arrivals and ports, due at 06:15, loaded.
    let status = project
        .command("status", &db.target, &["--now", "2024-03-02 06:20"])
        .output()
        .expect("runs");
    succeeded(&status);
    let printed = stdout(&status);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "source       last load            every  late after  state         next due             files  read  loaded  rejected",
            "arrivals     2024-03-02 06:15:00  1h     2h          ok            2024-03-02 07:00:00      2     6       5         1",
            "inspections  never                1d     2d          never loaded  2024-03-03 06:00:00      0     0       0         0",
            "ports        2024-03-02 06:15:00  1d     2d          ok            2024-03-03 05:00:00      2     7       7         0",
            "seizures     2024-03-02 06:00:00  15m    30m         ok            2024-03-02 06:30:00      2     8       8         0",
        ],
        "{printed}"
    );
    assert!(
        lines[5].starts_with(
            "seizures: 1 failure(s) since the last load, the latest at 2024-03-02 06:15:00"
        ),
        "{printed}"
    );
    let status = project
        .command("status", &db.target, &["--now", "2024-03-03 06:20", "--format", "json"])
        .output()
        .expect("runs");
    succeeded(&status);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(json["sources"][3]["source"], "seizures");
    assert_eq!(json["sources"][3]["late"], true);

    // Retention on its own.
    let retain = project
        .command("retain", &db.target, &["--now", "2024-03-03 06:00"])
        .output()
        .expect("runs");
    succeeded(&retain);
    assert!(stdout(&retain).starts_with("retention at 2024-03-03 06:00:00"), "{}", stdout(&retain));

    // Usage errors: a bad time, an unknown source.
    let bad = project.command("run", &db.target, &["--now", "yesterday"]).output().expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).starts_with("error[R0301]: `yesterday` is not a time"),
        "{}",
        stderr(&bad)
    );
    let mut cmd = project.command("run", &db.target, &["--source", "seizure", "--landing"]);
    let bad = cmd.arg(&db.landing).output().expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr(&bad),
        "error[R0301]: no source `seizure` in the plan\n  help: did you mean `seizures`?\n"
    );
}

#[test]
fn operator_round_on_duckdb() {
    operator_round(Engine::DuckDb);
}

#[test]
fn operator_round_on_postgres() {
    operator_round(Engine::Postgres);
}
