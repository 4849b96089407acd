//! `tally migrate` as an operator runs it: the real binary against a DuckDB file and a
//! PostgreSQL database, with `generated/` from `tally compile examples/quickstart`. The
//! DuckDB single-writer lock needs two processes, so it is tested here: this test process
//! holds the file open while the binary tries to migrate it.

mod common;

use common::cli::{compile, mask, refused, stderr, stdout, succeeded, tally, Engine, Warehouse};
use std::path::Path;
use tally_runtime::backend::DuckDb;

/// `tally migrate EXTRA --db DB --generated GENERATED` (`status` as EXTRA for the status).
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
    let generated = compile("examples/quickstart", dir.path());
    let file = dir.path().join("warehouse.duckdb");
    let db = file.to_str().expect("UTF-8 path");

    let holder = DuckDb::open(&file).unwrap_or_else(|e| panic!("{e}"));
    let output = migrate(db, &generated, &[]);
    let err = refused(&output, "R0002");
    assert!(err.contains("is in use by another process"), "{err}");
    assert!(err.contains("help: DuckDB allows one writer per file"), "{err}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    drop(holder);

    // Released, the same command applies everything.
    assert_eq!(succeeded(&migrate(db, &generated, &[])), "applied 0001_initial.sql\n");
}

/// The whole operator round on one engine: dry run, migrate, migrate again, status, and an
/// edited migration refused.
fn operator_round(engine: Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::new(engine, dir.path(), "migrate_cli");
    let db = warehouse.target.as_str();
    let generated = compile("examples/quickstart", dir.path());

    let dry = migrate(db, &generated, &["--dry-run"]);
    assert_eq!(succeeded(&dry), "would apply 0001_initial.sql\n");
    let err = stderr(&dry);
    assert!(err.contains("1 migration(s) would apply, 0 already applied"), "{err}");

    let status = migrate(db, &generated, &["status"]);
    assert_eq!(succeeded(&status), "pending  0001_initial.sql\n", "a dry run applied something");

    let first = migrate(db, &generated, &[]);
    assert_eq!(succeeded(&first), "applied 0001_initial.sql\n");

    let second = migrate(db, &generated, &[]);
    assert_eq!(succeeded(&second), "");
    let err = stderr(&second);
    assert!(err.contains("0 migration(s) applied, 1 already applied"), "{err}");

    let status = migrate(db, &generated, &["status"]);
    let out = succeeded(&status);
    assert!(out.starts_with("applied  0001_initial.sql  "), "{out}");
    let err = stderr(&status);
    assert!(err.contains("1 applied, 0 pending, 0 problem(s)"), "{err}");

    // An edited migration: refused with its name and what to do, exit 1.
    let dialect = match engine {
        Engine::DuckDb => "duckdb",
        Engine::Postgres => "postgres",
    };
    let file = generated.join(dialect).join("migrations/0001_initial.sql");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, format!("{text}\n-- a hand edit\n")).expect("write");
    let err = mask(&refused(&migrate(db, &generated, &[]), "R0102"), dir.path());
    let first = format!("error[R0102]: [TMP]/generated/{dialect}/migrations/0001_initial.sql: ");
    assert!(err.starts_with(&first), "{err}");
    assert!(err.contains("help: migrations are never edited by hand"), "{err}");
}

#[test]
fn operator_round_on_duckdb() {
    operator_round(Engine::DuckDb);
}

#[test]
fn operator_round_on_postgres() {
    operator_round(Engine::Postgres);
}
