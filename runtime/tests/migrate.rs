//! `tally migrate` on both engines, with the real compile of `examples/quickstart`: applying,
//! dry runs, integrity (an edited file is refused before anything runs), a failing migration
//! rolled back whole, drift between the database and `generated/`, and (PostgreSQL)
//! concurrent migrators. The DuckDB file lock against a second process is tested with the
//! real binary in the root package's `tests/migrate_cli.rs`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{at, Engine};
use tally_contract::integrity;
use tally_runtime::error::codes;
use tally_runtime::generated::{load_migrations, Migration};
use tally_runtime::migrate::{self, Outcome};
use tally_runtime::{Backend, Result};
use tempfile::TempDir;

/// A second source, added on top of the quickstart to make a second migration.
const APIS: &str = r#"
source apis {
  title "Advance Passenger Information System"
  refresh hourly
  landing "apis/*.csv" as csv
  load append
  key manifest_id
  columns {
    manifest_id string
    arrived_at  timestamp
  }
}
"#;

/// Three `generated/` directories:
/// - `one`: the quickstart, `0001_initial.sql`;
/// - `two`: the quickstart, then with `apis` added: `0001_initial.sql`, `0002_add_source_apis.sql`;
/// - `other`: the quickstart with `apis` compiled from scratch: a different `0001_initial.sql`.
struct Dirs {
    one: TempDir,
    two: TempDir,
    other: TempDir,
}

fn dirs() -> Dirs {
    let quickstart = support::read_tree(&support::repo().join("examples/quickstart"));
    let mut with_apis = quickstart.clone();
    with_apis.insert("apis.tally".into(), APIS.into());
    let one = support::compile(&quickstart, &BTreeMap::new());
    let two = support::compile(&with_apis, &one);
    let other = support::compile(&with_apis, &BTreeMap::new());
    let write = |files: &BTreeMap<String, String>| {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_tree(dir.path(), files);
        dir
    };
    Dirs { one: write(&one), two: write(&two), other: write(&other) }
}

fn migrations_dir(generated: &Path, db: &dyn Backend) -> PathBuf {
    generated.join(db.dialect().name()).join("migrations")
}

fn load(generated: &Path, db: &dyn Backend) -> Vec<Migration> {
    load_migrations(&migrations_dir(generated, db)).unwrap_or_else(|e| panic!("{e}"))
}

fn names(migrations: &[Migration]) -> Vec<String> {
    migrations.iter().map(|m| m.name.clone()).collect()
}

fn now() -> chrono::NaiveDateTime {
    at(2024, 3, 1)
}

fn run(db: &mut dyn Backend, migrations: &[Migration], dry_run: bool) -> Result<Outcome> {
    migrate::migrate(db, migrations, now(), dry_run)
}

fn apply(db: &mut dyn Backend, generated: &Path) -> Outcome {
    let migrations = load(generated, db);
    run(db, &migrations, false).unwrap_or_else(|e| panic!("{e}"))
}

/// The ledger: (name, chain hash) in order.
fn ledger(db: &mut dyn Backend) -> Vec<(String, String)> {
    migrate::applied(db)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|a| (a.name, a.chain_hash))
        .collect()
}

fn exists(db: &mut dyn Backend, table: &str) -> bool {
    db.table_exists(table).unwrap_or_else(|e| panic!("{e}"))
}

fn a_fresh_database_gets_every_migration_then_none(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    let migrations = load(dirs.two.path(), db);
    assert_eq!(names(&migrations), ["0001_initial.sql", "0002_add_source_apis.sql"]);

    let before = migrate::status(db, &migrations).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((before.applied.len(), before.pending.clone()), (0, names(&migrations)));
    assert!(before.is_clean(), "{:?}", before.drift);

    let first = run(db, &migrations, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, Outcome { applied: names(&migrations), already: 0 });
    let expected: Vec<(String, String)> =
        migrations.iter().map(|m| (m.name.clone(), m.chain_hash.clone())).collect();
    assert_eq!(ledger(db), expected);
    for table in ["cur_seacats", "arc_seacats", "cur_ports", "cur_apis", "etl_run_log"] {
        assert!(exists(db, table), "{table} was not created");
    }

    let second = run(db, &migrations, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, Outcome { applied: vec![], already: 2 });
    assert_eq!(ledger(db), expected);

    let after = migrate::status(db, &migrations).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((after.applied.len(), after.pending.len()), (2, 0));
    assert!(after.is_clean(), "{:?}", after.drift);
    assert!(after.applied.iter().all(|a| a.applied_at == "2024-03-01 00:00:00"), "{after:?}");
}

fn dry_run_lists_pending_and_applies_nothing(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    let migrations = load(dirs.two.path(), db);

    let fresh = run(db, &migrations, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh, Outcome { applied: names(&migrations), already: 0 });
    assert!(!exists(db, migrate::LEDGER), "a dry run created the ledger");
    assert!(!exists(db, "cur_seacats"), "a dry run applied a migration");

    apply(db, dirs.one.path());
    let one_behind = run(db, &migrations, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        one_behind,
        Outcome { applied: vec!["0002_add_source_apis.sql".into()], already: 1 }
    );
    assert_eq!(names_of(ledger(db)), ["0001_initial.sql"]);
    assert!(!exists(db, "cur_apis"), "a dry run applied a migration");
}

fn names_of(ledger: Vec<(String, String)>) -> Vec<String> {
    ledger.into_iter().map(|(name, _)| name).collect()
}

/// A copy of the `generated/` directory `from`, with `change` applied to one dialect's
/// migrations directory.
fn altered(from: &Path, dialect: &str, change: impl FnOnce(&Path)) -> TempDir {
    let files = support::read_tree(from);
    let dir = tempfile::tempdir().expect("temp dir");
    support::write_tree(dir.path(), &files);
    change(&dir.path().join(dialect).join("migrations"));
    dir
}

fn an_edited_migration_is_refused_before_anything_is_applied(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    apply(db, dirs.one.path());
    let before = ledger(db);
    let dialect = db.dialect().name();

    // An applied migration edited, and a pending one edited: both refused by name.
    for file in ["0001_initial.sql", "0002_add_source_apis.sql"] {
        let edited = altered(dirs.two.path(), dialect, |migrations| {
            let path = migrations.join(file);
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, text.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
                .expect("write");
        });
        let error = load_migrations(&migrations_dir(edited.path(), db)).expect_err("refused");
        assert_eq!(error.code, codes::MIGRATIONS_EDITED, "{error}");
        assert!(error.message.contains(file), "{error}");
        assert!(error.help.as_deref().unwrap_or("").contains("git checkout"), "{error}");
    }
    assert_eq!(ledger(db), before);
    assert!(!exists(db, "cur_apis"));
}

fn a_failing_migration_is_rolled_back_entirely(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    apply(db, dirs.one.path());
    let before = ledger(db);

    let bad = altered(dirs.one.path(), db.dialect().name(), |migrations| {
        std::fs::write(
            migrations.join("0002_bad.sql"),
            "-- generated by tally compile, do not edit\n\
             -- a migration whose second statement fails\n\
             \n\
             -- bad_first: created, then rolled back\n\
             CREATE TABLE bad_first (x INTEGER);\n\
             \n\
             INSERT INTO no_such_table (x)\n\
             VALUES (1);\n\
             \n\
             CREATE TABLE bad_third (x INTEGER);\n",
        )
        .expect("write");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(migrations).expect("list") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            if name.ends_with(".sql") {
                files.push((name, std::fs::read_to_string(&path).expect("read")));
            }
        }
        files.sort();
        std::fs::write(migrations.join(integrity::SUM_FILE), integrity::sum(&files))
            .expect("write tally.sum");
    });
    let migrations = load(bad.path(), db);
    assert_eq!(names(&migrations), ["0001_initial.sql", "0002_bad.sql"]);

    let error = run(db, &migrations, false).expect_err("the second statement fails");
    assert_eq!(error.code, codes::STATEMENT_FAILED, "{error}");
    for part in ["0002_bad.sql", "statement 2 of 3", "line 7", "no_such_table", "nothing of it"] {
        assert!(error.message.contains(part), "`{part}` missing from: {error}");
    }
    assert!(!exists(db, "bad_first"), "the failed migration's first statement stayed");
    assert!(!exists(db, "bad_third"));
    assert_eq!(ledger(db), before);

    // The database is as it was: the good migrations still apply cleanly.
    let status = migrate::status(db, &migrations).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.pending, ["0002_bad.sql"]);
    assert!(status.is_clean(), "{:?}", status.drift);
}

fn a_database_ahead_of_generated_is_refused(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    apply(db, dirs.two.path());
    let before = ledger(db);

    let older = load(dirs.one.path(), db);
    let error = run(db, &older, false).expect_err("ahead");
    assert_eq!(error.code, codes::DATABASE_AHEAD, "{error}");
    assert!(error.message.contains("0002_add_source_apis.sql"), "{error}");
    let status = migrate::status(db, &older).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.drift.iter().map(|e| e.code).collect::<Vec<_>>(), [codes::DATABASE_AHEAD]);
    // A dry run says the same and is refused too.
    assert_eq!(run(db, &older, true).expect_err("ahead").code, codes::DATABASE_AHEAD);
    assert_eq!(ledger(db), before);
}

fn an_applied_migration_with_other_contents_is_refused(engine: &Engine) {
    let dirs = dirs();
    let mut db = engine.open();
    let db = db.as_mut();
    apply(db, dirs.one.path());
    let before = ledger(db);

    // `other` verifies against its own tally.sum, but its 0001 is not what was applied.
    let other = load(dirs.other.path(), db);
    let error = run(db, &other, false).expect_err("different contents");
    assert_eq!(error.code, codes::APPLIED_MIGRATION_DIFFERS, "{error}");
    assert!(error.message.contains("0001_initial.sql"), "{error}");
    assert!(error.help.is_some(), "{error}");
    assert_eq!(ledger(db), before);
    assert!(!exists(db, "cur_apis"), "a migration of the refused directory ran");
}

on_both_engines!(
    a_fresh_database_gets_every_migration_then_none,
    dry_run_lists_pending_and_applies_nothing,
    an_edited_migration_is_refused_before_anything_is_applied,
    a_failing_migration_is_rolled_back_entirely,
    a_database_ahead_of_generated_is_refused,
    an_applied_migration_with_other_contents_is_refused,
);

/// PostgreSQL: migrators on two connections at once serialise on the advisory lock; both
/// succeed and each migration is applied once. (DuckDB: see `tests/migrate_cli.rs`.)
#[test]
fn concurrent_migrators_apply_each_migration_once_on_postgres() {
    let dirs = dirs();
    for round in 0..3 {
        let engine = Engine::postgres(&format!("concurrent_{round}"));
        let target = engine.target();
        let generated = dirs.two.path().to_path_buf();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (target, generated, barrier) =
                    (target.clone(), generated.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut db = tally_runtime::backend::open(&target)?;
                    let migrations = load(&generated, db.as_ref());
                    barrier.wait();
                    run(db.as_mut(), &migrations, false)
                })
            })
            .collect();
        let outcomes: Vec<Outcome> = threads
            .into_iter()
            .map(|t| t.join().expect("no panic").unwrap_or_else(|e| panic!("round {round}: {e}")))
            .collect();
        let mut applied: Vec<String> = outcomes.iter().flat_map(|o| o.applied.clone()).collect();
        applied.sort();
        assert_eq!(
            applied,
            ["0001_initial.sql", "0002_add_source_apis.sql"],
            "round {round}: {outcomes:?}"
        );
        let mut db = engine.open();
        assert_eq!(names_of(ledger(db.as_mut())), ["0001_initial.sql", "0002_add_source_apis.sql"]);
    }
}
