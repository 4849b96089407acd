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
        Project::compile_with(&[])
    }

    /// The fixture project with each `(from, to)` replaced in its `.tally` files.
    fn compile_with(edits: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("project");
        copy_tree(&root().join("tests/fixtures/runtime/project"), &project);
        for (from, to) in edits {
            let mut edited = false;
            for entry in std::fs::read_dir(&project).expect("project") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "tally") {
                    let text = std::fs::read_to_string(&path).expect("read");
                    if text.contains(from) {
                        std::fs::write(&path, text.replace(from, to)).expect("write");
                        edited = true;
                    }
                }
            }
            assert!(edited, "no `{from}` in the fixture project");
        }
        let generated = compile(&project.display().to_string(), dir.path());
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
        tables.extend(
            ["etl_file_ledger", "etl_rejects", "etl_late", "etl_watermark"].map(String::from),
        );
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
        "  arrivals     1 file loaded (2 rows read, 2 loaded, 0 rejected, 0 late), 0 skipped",
        "  inspections  0 files loaded (0 rows read, 0 loaded, 0 rejected, 0 late), 0 skipped",
        "  ports        1 file loaded (4 rows read, 4 loaded, 0 rejected, 0 late), 0 skipped",
        "  seizures     1 file loaded (5 rows read, 5 loaded, 0 rejected, 0 late), 0 skipped",
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
        serde_json::json!([{"path": "seizures/2024-03-02T0600.csv", "batch": 4, "rows_read": 3, "rows_loaded": 3, "rows_rejected": 0, "rows_late": 0}])
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
            "source       last load            every  late after  state         next due             files  read  loaded  rejected  late rows",
            "arrivals     2024-03-02 06:15:00  1h     2h          ok            2024-03-02 07:00:00      2     6       4         1          1",
            "inspections  never                1d     2d          never loaded  2024-03-03 06:00:00      0     0       0         0          0",
            "ports        2024-03-02 06:15:00  1d     2d          ok            2024-03-03 05:00:00      2     7       7         0          0",
            "seizures     2024-03-02 06:00:00  15m    30m         ok            2024-03-02 06:30:00      2     8       8         0          0",
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

/// Issue 13, point 3: every row read is loaded, rejected or skipped as late, each counted in
/// `tally run` and `tally status`; late rows are kept in `etl_late` with the watermark and the
/// reason; a `lookback` accepts rows up to that long before the watermark, and a row it
/// accepts never replaces a newer version of its key.
fn late_rows_are_counted_kept_and_accepted_within_a_lookback(engine: Engine) {
    // Arrivals, after 1-inserts: watermark 2024-03-01 05:40. 2-updates holds A2 updated at
    // 05:20 (late), a bad wait (rejected) and two good rows; then a file with A5 at 04:30 and
    // A6 at 03:00 of the day after, when the watermark is 2024-03-02 05:00.
    let third = concat!(
        "{\"arrival_id\": \"A5\", \"port_code\": \"JFK\", \"arrived_at\": \"2024-03-02T04:00:00\", \"wait_minutes\": 5, \"updated_at\": \"2024-03-02T04:30:00\"}\n",
        "{\"arrival_id\": \"A6\", \"port_code\": \"JFK\", \"arrived_at\": \"2024-03-02T02:00:00\", \"wait_minutes\": 6, \"updated_at\": \"2024-03-02T03:00:00\"}\n",
    );
    let scenario = |project: &Project, label: &str| -> (Database, Vec<String>) {
        let db = Database::new(project, engine, label);
        land(&db.landing, "1-inserts");
        succeeded(&project.run(&db, "2024-03-01 06:00", None));
        land(&db.landing, "2-updates");
        let second = succeeded(&project.run(&db, T2, None));
        std::fs::write(db.landing.join("arrivals/2024-03-02T0700.jsonl"), third).expect("land");
        let mut cmd = project.command(
            "run",
            &db.target,
            &["--now", "2024-03-02 07:00", "--source", "arrivals", "--format", "json", "--landing"],
        );
        let json = cmd.arg(&db.landing).output().expect("runs");
        let third_run = succeeded(&json);
        (db, vec![second, third_run])
    };
    let query = |db: &Database, sql: &str| -> Vec<String> {
        let mut backend =
            tally_runtime::backend::open(&db.target).unwrap_or_else(|e| panic!("{e}"));
        let rows = backend.query(sql).unwrap_or_else(|e| panic!("{e}"));
        rows.rows
            .iter()
            .map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "))
            .collect()
    };
    let status = |project: &Project, db: &Database| -> serde_json::Value {
        let status = project
            .command("status", &db.target, &["--now", "2024-03-02 07:00", "--format", "json"])
            .output()
            .expect("runs");
        succeeded(&status);
        let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
        json["sources"][0].clone()
    };
    let late_rows = "SELECT source, batch, file, line, column_name, value, watermark, reason \
                     FROM etl_late ORDER BY batch, line";
    let waits = "SELECT arrival_id, wait_minutes, updated_at FROM cur_arrivals ORDER BY arrival_id";

    // Without a lookback: older than the watermark is late.
    let project = Project::compile();
    let (db, printed) = scenario(&project, "late");
    let line =
        "  arrivals     1 file loaded (4 rows read, 2 loaded, 1 rejected, 1 late), 1 skipped";
    assert!(printed[0].lines().any(|l| l == line), "no line {line:?} in\n{}", printed[0]);
    let report: serde_json::Value = serde_json::from_str(&printed[1]).expect("JSON");
    assert_eq!(
        report["sources"][0]["files"][0],
        serde_json::json!({"path": "arrivals/2024-03-02T0700.jsonl", "batch": 7, "rows_read": 2, "rows_loaded": 0, "rows_rejected": 0, "rows_late": 2})
    );
    assert_eq!(
        query(&db, late_rows),
        [
            "arrivals | 4 | arrivals/2024-03-02T0600.jsonl | 2 | updated_at | 2024-03-01T05:20:00 | 2024-03-01 05:40:00 | older than the watermark",
            "arrivals | 7 | arrivals/2024-03-02T0700.jsonl | 1 | updated_at | 2024-03-02T04:30:00 | 2024-03-02 05:00:00 | older than the watermark",
            "arrivals | 7 | arrivals/2024-03-02T0700.jsonl | 2 | updated_at | 2024-03-02T03:00:00 | 2024-03-02 05:00:00 | older than the watermark",
        ]
    );
    assert_eq!(
        query(&db, waits),
        [
            "A1 | 30 | 2024-03-02 05:00:00",
            "A2 | 40 | 2024-03-01 05:40:00",
            "A3 | 10 | 2024-03-02 05:00:00",
        ]
    );
    let arrivals = status(&project, &db);
    assert_eq!(arrivals["source"], "arrivals");
    assert_eq!(
        [
            &arrivals["rows_read"],
            &arrivals["rows_loaded"],
            &arrivals["rows_rejected"],
            &arrivals["rows_late"]
        ],
        [8, 4, 1, 3]
    );

    // `lookback 1 hour`: A2 (20 minutes before) loads but does not replace the newer A2; A5
    // (30 minutes before) loads; A6 (two hours before) is late.
    let project = Project::compile_with(&[(
        "load incremental by updated_at",
        "load incremental by updated_at lookback 1 hour",
    )]);
    let arrivals = project.plan.sources.iter().find(|s| s.name == "arrivals").expect("arrivals");
    assert_eq!(
        arrivals.load,
        plan::Load::Incremental {
            column: "updated_at".into(),
            lookback_minutes: Some(60),
            delete_marker: None,
        }
    );
    let (db, printed) = scenario(&project, "lookback");
    let line =
        "  arrivals     1 file loaded (4 rows read, 3 loaded, 1 rejected, 0 late), 1 skipped";
    assert!(printed[0].lines().any(|l| l == line), "no line {line:?} in\n{}", printed[0]);
    assert_eq!(
        query(&db, late_rows),
        ["arrivals | 7 | arrivals/2024-03-02T0700.jsonl | 2 | updated_at | 2024-03-02T03:00:00 | 2024-03-02 05:00:00 | older than the watermark less the lookback of 1 hour"]
    );
    assert_eq!(
        query(&db, waits),
        [
            "A1 | 30 | 2024-03-02 05:00:00",
            "A2 | 40 | 2024-03-01 05:40:00",
            "A3 | 10 | 2024-03-02 05:00:00",
            "A5 | 5 | 2024-03-02 04:30:00",
        ]
    );
    let arrivals = status(&project, &db);
    assert_eq!(
        [
            &arrivals["rows_read"],
            &arrivals["rows_loaded"],
            &arrivals["rows_rejected"],
            &arrivals["rows_late"]
        ],
        [8, 6, 1, 1]
    );
}

#[test]
fn late_rows_are_counted_kept_and_accepted_within_a_lookback_on_duckdb() {
    late_rows_are_counted_kept_and_accepted_within_a_lookback(Engine::DuckDb);
}

#[test]
fn late_rows_are_counted_kept_and_accepted_within_a_lookback_on_postgres() {
    late_rows_are_counted_kept_and_accepted_within_a_lookback(Engine::Postgres);
}

/// Every landing batch of the fixtures at once: several files per source.
fn land_all(landing: &Path) {
    for batch in ["1-inserts", "2-updates", "3-deletes", "4-bad-rows"] {
        land(landing, batch);
    }
}

const T_ALL: &str = "2024-03-04 06:00";

/// A `xorshift64*` step: the random delays of the kill test, from a seed it prints on failure.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Issue 13, point 7: a run killed part-way (SIGKILL, at any moment) is resumed by the next
/// run at the same time, although no scheduled instant passed since: a source with landed
/// files the ledger does not have is due at once. The state reached equals a clean run's.
fn killed_runs_are_resumed(engine: Engine) {
    let project = Project::compile();
    let clean = Database::new(&project, engine, "clean");
    land_all(&clean.landing);
    let started = std::time::Instant::now();
    succeeded(&project.run(&clean, T_ALL, None));
    let clean_run = started.elapsed();
    let expected = project.snapshot(&clean);
    assert_eq!(expected["etl_file_ledger"].len(), 8, "{:?}", expected["etl_file_ledger"]);

    // Killed right after the first of the four seizures files committed: the next run, at the
    // same instant, is not on the schedule but loads the other three.
    if cfg!(debug_assertions) {
        let db = Database::new(&project, engine, "first_file");
        land_all(&db.landing);
        let crashed = project.run(&db, T_ALL, Some("seizures:commit"));
        assert!(!crashed.status.success(), "the run did not crash: {}", stdout(&crashed));
        let rerun = succeeded(&project.run(&db, T_ALL, None));
        let line = "  seizures     3 files loaded (12 rows read, 7 loaded, 5 rejected, 0 late), 1 skipped, due at once for 3 files not loaded before";
        assert!(rerun.lines().any(|l| l == line), "no line {line:?} in\n{rerun}");
        assert!(rerun.contains("  ports        not due (next "), "{rerun}");
        assert_eq!(project.snapshot(&db), expected, "the rerun differs from a clean run");
    }

    // Killed at random moments within a clean run's time, several times over (until a run
    // gets to its end before the kill), then run to the end.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut state = seed;
    let window = u64::try_from(clean_run.as_micros()).unwrap_or(u64::MAX).max(1);
    for round in 0..3 {
        let db = Database::new(&project, engine, &format!("killed{round}"));
        land_all(&db.landing);
        let mut kills = Vec::new();
        for _ in 0..5 {
            let delay = std::time::Duration::from_micros(next_random(&mut state) % window);
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"));
            child
                .env("NO_COLOR", "1")
                .env("CI", "true")
                .env_remove("TALLY_FAULT")
                .env_remove("TALLY_DB")
                .args(["run", "--db", &db.target, "--generated"])
                .arg(&project.generated)
                .args(["--now", T_ALL, "--landing"])
                .arg(&db.landing)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let mut child = child.spawn().expect("spawns");
            std::thread::sleep(delay);
            // SIGKILL: no unwinding, no cleanup, like `kill -9`.
            let _ = child.kill();
            let finished = child.wait().expect("waits").success();
            kills.push((delay, finished));
            if finished {
                break;
            }
        }
        succeeded(&project.run(&db, T_ALL, None));
        let actual = project.snapshot(&db);
        for (table, rows) in &expected {
            assert_eq!(
                &actual[table], rows,
                "{table} differs from a clean run after kills {kills:?} (seed {seed})"
            );
        }
    }
}

#[test]
fn killed_runs_are_resumed_on_duckdb() {
    killed_runs_are_resumed(Engine::DuckDb);
}

#[test]
fn killed_runs_are_resumed_on_postgres() {
    killed_runs_are_resumed(Engine::Postgres);
}
