//! `tally migrate` as an operator runs it: the real binary against a DuckDB file and a
//! PostgreSQL database, with `generated/` from `tally compile examples/quickstart`. The
//! DuckDB single-writer lock needs two processes, so it is tested here: this test process
//! holds the file open while the binary tries to migrate it.

mod common;

use assert_cmd::Command;
use common::root;
use std::path::Path;
use tally_runtime::backend::DuckDb;
use tally_runtime::testing::TestDatabase;

fn tally() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env("NO_COLOR", "1").env_remove("TALLY_DB").current_dir(root());
    cmd
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `tally compile examples/quickstart --out DIR/generated`; returns that directory.
fn compile_quickstart(dir: &Path) -> std::path::PathBuf {
    let generated = dir.join("generated");
    let output = tally()
        .args(["compile", "examples/quickstart", "--out"])
        .arg(&generated)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    generated
}

fn migrate(db: &str, generated: &Path, extra: &[&str]) -> std::process::Output {
    tally()
        .arg("migrate")
        .args(extra)
        .args(["--db", db, "--generated"])
        .arg(generated)
        .output()
        .expect("runs")
}

#[test]
fn a_second_process_on_a_duckdb_file_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile_quickstart(dir.path());
    let file = dir.path().join("warehouse.duckdb");
    let db = file.to_str().expect("UTF-8 path");

    let holder = DuckDb::open(&file).unwrap_or_else(|e| panic!("{e}"));
    let output = migrate(db, &generated, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("error[R0002]"), "{err}");
    assert!(err.contains("is in use by another process"), "{err}");
    assert!(err.contains("help: DuckDB allows one writer per file"), "{err}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    drop(holder);

    // Released, the same command applies everything.
    let output = migrate(db, &generated, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "applied 0001_initial.sql\n");
}

/// The whole operator round on one engine: dry run, migrate, migrate again, status, and an
/// edited migration refused.
fn operator_round(db: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile_quickstart(dir.path());

    let dry = migrate(db, &generated, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(stdout(&dry), "would apply 0001_initial.sql\n");
    assert!(
        stderr(&dry).contains("1 migration(s) would apply, 0 already applied"),
        "{}",
        stderr(&dry)
    );

    let status = tally()
        .args(["migrate", "status", "--db", db, "--generated"])
        .arg(&generated)
        .output()
        .expect("runs");
    assert!(status.status.success(), "{}", stderr(&status));
    assert_eq!(stdout(&status), "pending  0001_initial.sql\n", "a dry run applied something");

    let first = migrate(db, &generated, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stdout(&first), "applied 0001_initial.sql\n");

    let second = migrate(db, &generated, &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&second), "");
    assert!(
        stderr(&second).contains("0 migration(s) applied, 1 already applied"),
        "{}",
        stderr(&second)
    );

    let status = tally()
        .args(["migrate", "status", "--db", db, "--generated"])
        .arg(&generated)
        .output()
        .expect("runs");
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).starts_with("applied  0001_initial.sql  "), "{}", stdout(&status));
    assert!(stderr(&status).contains("1 applied, 0 pending, 0 problem(s)"), "{}", stderr(&status));

    // An edited migration: refused with its name and what to do, exit 1.
    let dialect = if db.starts_with("postgres") { "postgres" } else { "duckdb" };
    let file = generated.join(dialect).join("migrations/0001_initial.sql");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, format!("{text}\n-- a hand edit\n")).expect("write");
    let edited = migrate(db, &generated, &[]);
    assert_eq!(edited.status.code(), Some(1), "{}", stderr(&edited));
    let err = stderr(&edited);
    assert!(err.contains("error[R0102]") && err.contains("0001_initial.sql"), "{err}");
    assert!(err.contains("help: migrations are never edited by hand"), "{err}");
}

#[test]
fn operator_round_on_duckdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    operator_round(dir.path().join("warehouse.duckdb").to_str().expect("UTF-8 path"));
}

#[test]
fn operator_round_on_postgres() {
    let database = TestDatabase::create("migrate_cli");
    operator_round(&database.url);
}
