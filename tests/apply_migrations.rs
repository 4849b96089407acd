//! Migrations applied to real engines. `tests/migrations.rs` checks what the compiler writes;
//! this file checks that it runs, through the runtime an operator uses (`tally_runtime::migrate`
//! over the files `tally compile` wrote).
//!
//! Each scenario compiles a project, applies its migrations, compiles a changed copy of the
//! project on top of that output and applies the one new migration. The database must then
//! be the database a fresh compile of the changed project gives: the same tables and views,
//! columns (name, type, nullability, default), keys, policy rows and, on PostgreSQL, row-level
//! security, policies and grants. Column order is the exception, on purpose: a migration
//! appends a new column wherever the `.tally` file puts it, so each database is compared with
//! its own lock file instead, which records the database's order.
//!
//! Destructive changes are refused with their `T06xx` code; with the allowance the help asks
//! for, they compile, apply and end the same way, keeping the data a rename, a narrowing or a
//! rebuild promises to keep.

mod common;

use chrono::NaiveDateTime;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use tally_compiler::codegen::compile::Artifacts;
use tally_compiler::diagnostic::{render, Diagnostic};
use tally_compiler::semantic::model::ColumnType;
use tally_compiler::source::{FileSystem, MemoryFs};
use tally_runtime::backend::{Backend, Dialect, DuckDb};
use tally_runtime::testing::TestDatabase;

// ---------------------------------------------------------------- projects and compiles

/// Every fixture project: the examples, the EMIS-EDW definitions and each code generation
/// fixture, by path relative to the repository.
fn fixture_projects() -> Vec<String> {
    let root = common::root();
    let mut dirs = Vec::new();
    for area in ["examples", "tests/fixtures/codegen"] {
        let entries = std::fs::read_dir(root.join(area)).expect("fixture area is readable");
        let mut found: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("tally.yaml").is_file())
            .map(|e| format!("{area}/{}", e.file_name().to_string_lossy()))
            .collect();
        found.sort();
        dirs.extend(found);
    }
    dirs.push("metrics-dsl".to_string());
    dirs
}

fn project(dir: &str) -> MemoryFs {
    common::fixture_project(&common::root().join(dir))
}

/// Compiles `fs` on top of the output directory `previous`; the refusal's diagnostics,
/// rendered, when code generation refuses. Panics when the project itself does not check.
fn compile_on(fs: &MemoryFs, previous: &MemoryFs) -> Result<Artifacts, (Vec<Diagnostic>, String)> {
    let (checked, result) = tally_compiler::compile(fs, "", previous);
    let rendered = |d: &[Diagnostic]| render::human(d, &checked.project.sources, false);
    assert!(
        !checked.has_errors(),
        "the changed project does not check:\n{}",
        rendered(checked.diagnostics())
    );
    match result {
        Ok(Some(artifacts)) => Ok(artifacts),
        Ok(None) => panic!("no artifacts and no diagnostics"),
        Err(diagnostics) => {
            let text = rendered(&diagnostics);
            Err((diagnostics, text))
        }
    }
}

fn compile(fs: &MemoryFs, previous: &MemoryFs) -> Artifacts {
    compile_on(fs, previous).unwrap_or_else(|(_, rendered)| panic!("compile refused:\n{rendered}"))
}

fn compile_fresh(fs: &MemoryFs) -> Artifacts {
    compile(fs, &MemoryFs::new())
}

/// The output directory holding `artifacts`.
fn output(artifacts: &Artifacts) -> MemoryFs {
    let mut fs = MemoryFs::new();
    for (path, text) in &artifacts.files {
        fs.insert(path, text);
    }
    fs
}

fn migration_names(artifacts: &Artifacts, dialect: Dialect) -> Vec<String> {
    let prefix = format!("{}/migrations/", dialect.name());
    artifacts
        .files
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter(|n| n.ends_with(".sql"))
        .map(str::to_string)
        .collect()
}

fn lock(artifacts: &Artifacts, dialect: Dialect) -> Json {
    let path = format!("{}/schema.lock.json", dialect.name());
    let text = artifacts.files.get(&path).unwrap_or_else(|| panic!("no {path}"));
    serde_json::from_str(text).expect("the lock file is JSON")
}

// ---------------------------------------------------------------- changing a project

/// `fs` with the first `from` in `path` replaced by `to`. The anchor must be there: when a
/// fixture changes, the test says which edit no longer applies.
fn replace(fs: &MemoryFs, path: &str, from: &str, to: &str) -> MemoryFs {
    let text = fs.read(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains(from), "{path} no longer contains {from:?}: update this test");
    let mut fs = fs.clone();
    fs.insert(path, &text.replacen(from, to, 1));
    fs
}

fn with_file(fs: &MemoryFs, path: &str, text: &str) -> MemoryFs {
    assert!(fs.read(path).is_err(), "{path} already exists");
    let mut fs = fs.clone();
    fs.insert(path, text);
    fs
}

/// `fs` whose `tally.yaml` allows `lines` (YAML list items, `  - drop column ...`).
fn allowing(fs: &MemoryFs, lines: &str) -> MemoryFs {
    let yaml = fs.read("tally.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert!(!yaml.contains("allow_changes"), "the fixture already allows changes");
    let mut fs = fs.clone();
    fs.insert("tally.yaml", &format!("{}\nallow_changes:\n{lines}", yaml.trim_end()));
    fs
}

/// A nullable text column added to the project's first source, written above its first
/// column: the fresh compile puts it first, the migration appends it.
fn add_column(fs: &MemoryFs) -> MemoryFs {
    let checked = tally_compiler::check(fs, "");
    let (_, source) = checked.model.sources.first().expect("the project has a source");
    let first = source.columns.values().next().expect("a source has columns");
    let file = checked.project.sources.file(first.span.file);
    let at = first.span.start as usize;
    let line_start = file.text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = &file.text[line_start..at];
    let mut text = file.text.clone();
    text.insert_str(line_start, &format!("{indent}tally_added_note string\n"));
    let mut fs = fs.clone();
    fs.insert(&file.name, &text);
    fs
}

/// A metric counting the project's first source (by a date or time column when it has one
/// free of personal data), in a file of its own.
fn add_metric(fs: &MemoryFs) -> MemoryFs {
    let checked = tally_compiler::check(fs, "");
    let (name, source) = checked.model.sources.first().expect("the project has a source");
    let key = source.key.first().expect("a source has a key");
    let time = source.columns.values().find(|c| {
        matches!(c.ty, Some(ColumnType::Date | ColumnType::Timestamp)) && c.pii.is_empty()
    });
    let time = time.map_or(String::new(), |c| format!("  time {name}.{}\n", c.name));
    let text = format!(
        "/// Added by a test.\nmetric tally_added_count {{\n  title \"Added\"\n  measure count({name}.{key})\n{time}}}\n"
    );
    with_file(fs, "tally_added.tally", &text)
}

// ---------------------------------------------------------------- databases

/// Which engine a scenario runs on.
#[derive(Debug, Clone, Copy)]
enum Engine {
    DuckDb,
    Postgres,
}

/// A database for one side of a comparison. The connection closes before the PostgreSQL
/// test database is dropped (fields drop in order).
struct Database {
    db: Box<dyn Backend>,
    _server: Option<TestDatabase>,
}

impl Engine {
    fn open(self, label: &str) -> Database {
        match self {
            Engine::DuckDb => Database {
                db: Box::new(DuckDb::in_memory().unwrap_or_else(|e| panic!("{e}"))),
                _server: None,
            },
            Engine::Postgres => {
                let server = TestDatabase::create(label);
                Database { db: server.open(), _server: Some(server) }
            }
        }
    }
}

fn now() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("a valid time")
}

/// Writes `artifacts` where `tally compile` would and runs `tally migrate`'s code on them;
/// the migrations it applied.
fn try_apply(db: &mut dyn Backend, artifacts: &Artifacts) -> tally_runtime::Result<Vec<String>> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in &artifacts.files {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().expect("a file has a parent"))
            .expect("the directory is writable");
        std::fs::write(&target, text).expect("the file is writable");
    }
    let migrations_dir = dir.path().join(db.dialect().name()).join("migrations");
    let migrations = tally_runtime::generated::load_migrations(&migrations_dir)?;
    Ok(tally_runtime::migrate::migrate(db, &migrations, now(), false)?.applied)
}

fn apply(db: &mut dyn Backend, artifacts: &Artifacts, label: &str) -> Vec<String> {
    try_apply(db, artifacts).unwrap_or_else(|e| panic!("{label}: {}: {e}", db.describe()))
}

fn query(db: &mut dyn Backend, sql: &str) -> Vec<Vec<String>> {
    let rows = db.query(sql).unwrap_or_else(|e| panic!("{e}"));
    rows.rows.iter().map(|row| row.iter().map(ToString::to_string).collect()).collect()
}

const LEDGER: &str = tally_runtime::migrate::LEDGER;

/// Base tables and views of the warehouse schema (not the runtime's ledger): name → kind.
fn tables(db: &mut dyn Backend) -> Vec<(String, String)> {
    query(
        db,
        "SELECT CAST(table_name AS TEXT), CAST(table_type AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_catalog = current_database() \
         ORDER BY 1",
    )
    .into_iter()
    .filter(|r| r[0] != LEDGER)
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect()
}

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DbColumn {
    table: String,
    name: String,
    /// In the lock's words: `text`, `big_int`, `decimal(12,3)`, ...
    ty: String,
    nullable: bool,
    default: String,
}

/// Every column of the warehouse schema, in table then database order.
fn columns(db: &mut dyn Backend) -> Vec<DbColumn> {
    let dialect = db.dialect();
    query(
        db,
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT), \
           CAST(numeric_precision AS TEXT), CAST(numeric_scale AS TEXT), \
           CAST(is_nullable AS TEXT), CAST(column_default AS TEXT) \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_catalog = current_database() \
         ORDER BY table_name, ordinal_position",
    )
    .into_iter()
    .filter(|r| r[0] != LEDGER)
    .map(|r| DbColumn {
        table: r[0].clone(),
        name: r[1].clone(),
        ty: lock_type(dialect, &r[2], &r[3], &r[4]),
        nullable: r[5] == "YES",
        default: r[6].clone(),
    })
    .collect()
}

/// A database column type in the lock file's words, so the two can be compared; an unknown
/// type stays as the engine names it, and fails the comparison.
fn lock_type(dialect: Dialect, data_type: &str, precision: &str, scale: &str) -> String {
    let named = match (dialect, data_type) {
        (Dialect::Duckdb, "VARCHAR") | (Dialect::Postgres, "text") => "text",
        (Dialect::Duckdb, "BIGINT") | (Dialect::Postgres, "bigint") => "big_int",
        (Dialect::Duckdb, "DOUBLE") | (Dialect::Postgres, "double precision") => "double",
        (Dialect::Duckdb, "BOOLEAN") | (Dialect::Postgres, "boolean") => "boolean",
        (Dialect::Duckdb, "DATE") | (Dialect::Postgres, "date") => "date",
        (Dialect::Duckdb, "TIMESTAMP") | (Dialect::Postgres, "timestamp without time zone") => {
            "timestamp"
        }
        (Dialect::Duckdb, t) if t.starts_with("DECIMAL(") => {
            return t.to_lowercase().replace(' ', "");
        }
        (Dialect::Postgres, "numeric") => return format!("decimal({precision},{scale})"),
        _ => return format!("{data_type} (not a type Tally writes)"),
    };
    named.to_string()
}

/// Primary keys: table → key columns in key order.
fn primary_keys(db: &mut dyn Backend) -> Vec<(String, String)> {
    let rows = query(
        db,
        "SELECT CAST(tc.table_name AS TEXT), CAST(kcu.column_name AS TEXT) \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage kcu \
           ON kcu.constraint_name = tc.constraint_name \
          AND kcu.table_name = tc.table_name AND kcu.table_schema = tc.table_schema \
         WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY' \
         ORDER BY tc.table_name, kcu.ordinal_position",
    );
    let mut keys: Vec<(String, String)> = Vec::new();
    for row in rows {
        match keys.last_mut() {
            Some((table, columns)) if *table == row[0] => {
                columns.push_str(", ");
                columns.push_str(&row[1]);
            }
            _ => keys.push((row[0].clone(), row[1].clone())),
        }
    }
    keys.retain(|(t, _)| t != LEDGER);
    keys
}

/// Views and their definitions as the engine keeps them.
fn views(db: &mut dyn Backend) -> Vec<(String, String)> {
    let sql = match db.dialect() {
        Dialect::Duckdb => {
            "SELECT view_name, sql FROM duckdb_views() \
             WHERE NOT internal AND schema_name = current_schema() ORDER BY 1"
        }
        Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT), CAST(view_definition AS TEXT) \
             FROM information_schema.views WHERE table_schema = current_schema() ORDER BY 1"
        }
        Dialect::Spark => unreachable!("the runtime opens no Spark Connect target yet"),
    };
    query(db, sql).into_iter().map(|r| (r[0].clone(), r[1].clone())).collect()
}

/// The database as one line per fact, sorted: what "the same schema" means here. Columns are
/// listed by name (their order is checked against the lock instead); rows only for the policy
/// tables, the one place migrations write rows.
fn describe(db: &mut dyn Backend) -> String {
    let mut lines = BTreeSet::new();
    let tables = tables(db);
    for (table, kind) in &tables {
        lines.insert(format!("table {table} ({kind})"));
    }
    for c in columns(db) {
        let null = if c.nullable { "null" } else { "not null" };
        lines
            .insert(format!("column {}.{} {} {null} default {}", c.table, c.name, c.ty, c.default));
    }
    for (table, key) in primary_keys(db) {
        lines.insert(format!("primary key {table} ({key})"));
    }
    for (view, definition) in views(db) {
        lines.insert(format!("view {view}: {definition}"));
    }
    for (table, _) in tables.iter().filter(|(t, kind)| t.starts_with("policy_") && kind != "VIEW") {
        let rows = db.query(&format!("SELECT * FROM {table}")).unwrap_or_else(|e| panic!("{e}"));
        for row in &rows.rows {
            let mut cells: Vec<String> =
                rows.columns.iter().zip(row).map(|(c, v)| format!("{c}={v}")).collect();
            cells.sort();
            lines.insert(format!("row {table}: {}", cells.join(", ")));
        }
    }
    if db.dialect() == Dialect::Postgres {
        for r in query(
            db,
            "SELECT CAST(c.relname AS TEXT), CAST(c.relrowsecurity AS TEXT), \
               CAST(c.relforcerowsecurity AS TEXT) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r' \
               AND (c.relrowsecurity OR c.relforcerowsecurity)",
        ) {
            lines.insert(format!("row level security {}: enabled {}, forced {}", r[0], r[1], r[2]));
        }
        for r in query(
            db,
            "SELECT CAST(tablename AS TEXT), CAST(policyname AS TEXT), CAST(cmd AS TEXT), \
               CAST(roles AS TEXT), CAST(qual AS TEXT), CAST(with_check AS TEXT) \
             FROM pg_policies WHERE schemaname = current_schema()",
        ) {
            lines.insert(format!(
                "policy {} on {}: {} to {} using {} check {}",
                r[1], r[0], r[2], r[3], r[4], r[5]
            ));
        }
        for r in query(
            db,
            "SELECT CAST(grantee AS TEXT), CAST(table_name AS TEXT), CAST(privilege_type AS TEXT) \
             FROM information_schema.role_table_grants \
             WHERE table_schema = current_schema() AND grantee <> current_user",
        ) {
            lines.insert(format!("grant {} on {} to {}", r[2], r[1], r[0]));
        }
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

/// Fails with a diff when two descriptions differ.
fn assert_same(label: &str, incremental: &str, fresh: &str) {
    if incremental != fresh {
        let diff = similar::TextDiff::from_lines(fresh, incremental)
            .unified_diff()
            .context_radius(2)
            .header("fresh compile of the changed project", "migrated on top")
            .to_string();
        panic!("{label}: the migrated database is not what a fresh compile gives\n{diff}");
    }
}

/// The database holds exactly the lock file's tables, views and keys, each table with the
/// lock's columns in the lock's order, types and nullability.
fn assert_matches_lock(db: &mut dyn Backend, artifacts: &Artifacts, label: &str) {
    let lock = lock(artifacts, db.dialect());
    let mut expected = BTreeSet::new();
    let lock_tables = lock["tables"].as_object().expect("lock tables");
    for (name, table) in lock_tables {
        for column in table["columns"].as_array().expect("lock columns") {
            let ty = &column["ty"];
            let ty = match ty["type"].as_str().expect("a column type") {
                "decimal" => format!("decimal({},{})", ty["precision"], ty["scale"]),
                other => other.to_string(),
            };
            let null = if column["nullable"] == Json::Bool(true) { "null" } else { "not null" };
            expected
                .insert(format!("{name}: {} {ty} {null}", column["name"].as_str().unwrap_or("")));
        }
        let key: Vec<&str> = table["primary_key"]
            .as_array()
            .map(|k| k.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if !key.is_empty() {
            expected.insert(format!("{name}: primary key ({})", key.join(", ")));
        }
    }
    for name in lock["views"].as_object().expect("lock views").keys() {
        expected.insert(format!("view {name}"));
    }
    let mut actual = BTreeSet::new();
    for c in columns(db) {
        let null = if c.nullable { "null" } else { "not null" };
        actual.insert(format!("{}: {} {} {null}", c.table, c.name, c.ty));
    }
    for (table, key) in primary_keys(db) {
        actual.insert(format!("{table}: primary key ({key})"));
    }
    for (view, _) in views(db) {
        actual.insert(format!("view {view}"));
    }
    let render = |set: &BTreeSet<String>| set.iter().map(|l| format!("{l}\n")).collect::<String>();
    let (expected_text, actual_text) = (render(&expected), render(&actual));
    if expected_text != actual_text {
        let diff = similar::TextDiff::from_lines(&expected_text, &actual_text)
            .unified_diff()
            .context_radius(1)
            .header("schema.lock.json", "database")
            .to_string();
        panic!("{label}: {} does not hold the lock's schema\n{diff}", db.describe());
    }

    // Order: a table's columns in the database are in the lock's order.
    let db_columns = columns(db);
    for (name, table) in lock_tables {
        let want: Vec<&str> = table["columns"]
            .as_array()
            .expect("lock columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let have: Vec<&str> =
            db_columns.iter().filter(|c| c.table == *name).map(|c| c.name.as_str()).collect();
        assert_eq!(have, want, "{label}: column order of {name} in the database and the lock");
    }
}

// ---------------------------------------------------------------- scenarios

/// Applies `before`, then `after` (compiled on top of it) to one database and a fresh compile
/// of the changed project to another, and compares them. Returns the first database, for
/// checks on the data it kept.
fn migrate_and_compare(
    engine: Engine,
    label: &str,
    before: &Artifacts,
    after: &Artifacts,
    fresh: &Artifacts,
    prepare: &dyn Fn(&mut dyn Backend),
) -> Database {
    let mut migrated = engine.open(label);
    let db = migrated.db.as_mut();
    let dialect = db.dialect();

    let initial = apply(db, before, label);
    assert_eq!(initial, migration_names(before, dialect), "{label}: the initial migrations");
    assert_matches_lock(db, before, &format!("{label}, before the change"));
    prepare(db);

    let new: Vec<String> =
        migration_names(after, dialect).into_iter().filter(|n| !initial.contains(n)).collect();
    assert!(new.len() <= 1, "{label}: one change, one migration: {new:?}");
    let applied = apply(db, after, label);
    assert_eq!(applied, new, "{label}: the migrations applied on top");
    assert_matches_lock(db, after, &format!("{label}, migrated"));

    let mut reference = engine.open(&format!("{label}_fresh"));
    let fresh_db = reference.db.as_mut();
    apply(fresh_db, fresh, label);
    assert_matches_lock(fresh_db, fresh, &format!("{label}, fresh"));
    let (a, b) = (describe(db), describe(fresh_db));
    if std::env::var("SHOW_DESCRIBE").is_ok() {
        eprintln!("{a}");
    }
    assert_same(label, &a, &b);
    migrated
}

/// A change that needs no allowance: compiled on top of `base`, it migrates, and the database
/// ends as a fresh compile leaves it.
fn check_change(engine: Engine, label: &str, base: &MemoryFs, changed: &MemoryFs) -> Database {
    let before = compile_fresh(base);
    let after = compile(changed, &output(&before));
    let fresh = compile_fresh(changed);
    assert_ne!(after.files, before.files, "{label}: the change changed nothing");
    assert!(
        [Dialect::Duckdb, Dialect::Postgres].iter().any(|d| migration_names(&after, *d).len() == 2),
        "{label}: no new migration"
    );
    migrate_and_compare(engine, label, &before, &after, &fresh, &|_| {})
}

/// What the help of a refusal asks `tally.yaml` to allow, as YAML list items.
fn asked_allowances(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .flat_map(str::lines)
        .filter(|l| l.starts_with("  - "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A change refused with `code` whose diagnostics ask for (at least) `expected` allowances;
/// with `allowances` in `tally.yaml` it compiles, migrates, and ends as a fresh compile.
/// `prepare` runs on the migrated database before the change (to give it rows).
struct Refused<'a> {
    label: &'a str,
    code: &'a str,
    expected: &'a [&'a str],
    allowances: Option<&'a str>,
    prepare: &'a dyn Fn(&mut dyn Backend),
}

impl<'a> Refused<'a> {
    /// Allowed with exactly the allowances its diagnostics ask for, on empty tables.
    fn new(label: &'a str, code: &'a str, expected: &'a [&'a str]) -> Self {
        fn empty_tables(_: &mut dyn Backend) {}
        Refused { label, code, expected, allowances: None, prepare: &empty_tables }
    }

    /// Allowed with these `allow_changes` lines instead of the ones asked for.
    fn allowing(self, allowances: &'a str) -> Self {
        Refused { allowances: Some(allowances), ..self }
    }

    /// With rows that `prepare` inserts before the change.
    fn with_rows(self, prepare: &'a dyn Fn(&mut dyn Backend)) -> Self {
        Refused { prepare, ..self }
    }
}

fn check_refused(engine: Engine, base: &MemoryFs, changed: &MemoryFs, r: &Refused) -> Database {
    let label = r.label;
    let before = compile_fresh(base);
    let (diagnostics, rendered) = match compile_on(changed, &output(&before)) {
        Err(refusal) => refusal,
        Ok(artifacts) => {
            panic!("{label}: compiled without an allowance: {:#?}", artifacts.files.keys())
        }
    };
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.0).collect();
    assert!(codes.iter().all(|c| *c == r.code), "{label}: expected {}:\n{rendered}", r.code);
    assert!(!codes.is_empty(), "{label}: refused without a diagnostic");
    let asked = asked_allowances(&diagnostics);
    for line in r.expected {
        assert!(
            rendered.contains(line),
            "{label}: the diagnostic does not offer `{line}`:\n{rendered}"
        );
    }
    let allowances = r.allowances.map_or(asked, str::to_string);
    let allowed = allowing(changed, &allowances);
    let after = match compile_on(&allowed, &output(&before)) {
        Ok(artifacts) => artifacts,
        Err((_, rendered)) => panic!("{label}: still refused once allowed:\n{rendered}"),
    };
    assert!(after.warnings.is_empty(), "{label}: {:#?}", after.warnings);
    let fresh = compile_fresh(changed);
    migrate_and_compare(engine, label, &before, &after, &fresh, r.prepare)
}

/// Inserts one row into `table`, giving `values` (SQL literals) and a sample value to every
/// other column that needs one, by the lock file's column list.
fn insert_row(db: &mut dyn Backend, table: &str, values: &[(&str, &str)]) {
    let columns = columns(db);
    let mut names = Vec::new();
    let mut literals = Vec::new();
    for c in columns.iter().filter(|c| c.table == table) {
        let literal = match values.iter().find(|(n, _)| *n == c.name) {
            Some((_, v)) => v.to_string(),
            None if c.nullable || c.default != "NULL" => continue,
            None => match c.ty.as_str() {
                "text" => "'x'".to_string(),
                "boolean" => "false".to_string(),
                "date" => "DATE '2025-01-02'".to_string(),
                "timestamp" => "TIMESTAMP '2025-01-02 03:04:05'".to_string(),
                _ => "1".to_string(),
            },
        };
        names.push(c.name.clone());
        literals.push(literal);
    }
    assert!(!names.is_empty(), "no table {table}");
    let sql =
        format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), literals.join(", "));
    db.execute(&sql).unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------- every fixture

#[test]
fn every_fixture_migrates_from_scratch_and_takes_an_added_column_and_metric() {
    for dir in fixture_projects() {
        let base = project(&dir);
        check_change(Engine::DuckDb, &format!("{dir}: added column"), &base, &add_column(&base));
        check_change(Engine::DuckDb, &format!("{dir}: added metric"), &base, &add_metric(&base));
        check_change(
            Engine::DuckDb,
            &format!("{dir}: added column and metric"),
            &base,
            &add_metric(&add_column(&base)),
        );
    }
}

// ---------------------------------------------------------------- changes that need no allowance

const EVERYTHING: &str = "tests/fixtures/codegen/everything";

const NEW_SOURCE: &str = r#"/// Appointments booked ahead at ports of entry.
source cbp_one {
  title "CBP One appointments"
  refresh hourly
  landing "cbp_one/*.csv" as csv
  load append
  key appointment_id
  retain 2 years
  columns {
    appointment_id string
    booked_at      timestamp not null
    port_code      string -> location.port
    party_size     int default 1
  }
}
"#;

#[test]
fn a_new_source_migrates() {
    let base = project(EVERYTHING);
    let changed = with_file(&base, "cbp_one.tally", NEW_SOURCE);
    check_change(Engine::DuckDb, "new source", &base, &changed);
}

#[test]
fn a_new_metric_shown_in_a_mart_migrates() {
    let base = project(EVERYTHING);
    let changed = replace(
        &base,
        "metrics.tally",
        "seizure_lines_total, unapproved_seizures_by_age\n",
        "seizure_lines_total, unapproved_seizures_by_age, currency_seizure_lines\n",
    );
    let changed = with_file(
        &changed,
        "more_metrics.tally",
        "metric currency_seizure_lines {\n  measure count(*) where seacats.seizure_type = 'currency'\n  time seacats.seizure_date\n}\n",
    );
    check_change(Engine::DuckDb, "new metric in a mart", &base, &changed);
}

/// `currency_lines` is read only by a derived metric, so it has an aggregate table of its own;
/// shown in a mart, its rows move to the mart's table and `agg_currency_lines` goes, which
/// drops rows: refused until allowed, like any dropped table.
#[test]
fn an_existing_metric_added_to_a_mart_drops_its_aggregate_table_when_allowed() {
    let base = project(EVERYTHING);
    let changed = replace(
        &base,
        "metrics.tally",
        "seizure_lines_total, unapproved_seizures_by_age\n",
        "seizure_lines_total, unapproved_seizures_by_age, currency_lines\n",
    );
    check_refused(
        Engine::DuckDb,
        &base,
        &changed,
        &Refused::new("existing metric into a mart", "T0601", &["drop table agg_currency_lines"]),
    );
}

#[test]
fn a_new_role_migrates_its_policy_rows() {
    let base = project(EVERYTHING);
    let changed = with_file(
        &base,
        "auditor.tally",
        "/// Reads the enforcement mart nationwide.\nrole auditor {\n  marts usbp_enforcement\n  metrics hit_rate\n  scope national\n  min_cell_size 11\n}\n",
    );
    let mut migrated = check_change(Engine::DuckDb, "new role", &base, &changed);
    let rows = query(
        migrated.db.as_mut(),
        "SELECT CAST(object AS TEXT) FROM policy_grant WHERE role = 'auditor' ORDER BY 1",
    );
    assert_eq!(rows, [["hit_rate"], ["usbp_enforcement"]]);
}

#[test]
fn a_wider_type_relaxed_constraint_and_new_default_migrate() {
    let base = project(EVERYTHING);
    let changed = replace(&base, "warehouse.tally", "decimal(12, 3)", "decimal(18, 3)");
    let changed = replace(
        &changed,
        "warehouse.tally",
        "port_name         string not null",
        "port_name         string",
    );
    let changed = replace(&changed, "warehouse.tally", "default 'pending'", "default 'approved'");
    let mut migrated =
        check_change(Engine::DuckDb, "wider type, dropped not null, new default", &base, &changed);
    let db = migrated.db.as_mut();
    insert_row(db, "cur_seacats", &[("seizure_id", "'S1'"), ("drug_weight_kg", "123456789012.5")]);
    let rows = query(db, "SELECT CAST(drug_weight_kg AS TEXT), status FROM cur_seacats");
    assert_eq!(rows, [["123456789012.500", "approved"]]);
}

// ---------------------------------------------------------------- refused changes

#[test]
fn a_dropped_column_is_refused_then_applies_when_allowed() {
    let base = project(EVERYTHING);
    let changed = replace(&base, "warehouse.tally", "    subject_name   string pii(name)\n", "");
    check_refused(
        Engine::DuckDb,
        &base,
        &changed,
        &Refused::new("dropped column", "T0601", &["drop column cur_seacats.subject_name"]),
    );
}

/// `subject_name` renamed: refused as a dropped column, and allowed as a rename in the three
/// tables of the source, it keeps the values.
fn renamed_column_keeps_its_values(engine: Engine, label: &str) {
    const RENAMES: &str = "  - rename column stg_seacats.subject_name to subject_full_name
  - rename column cur_seacats.subject_name to subject_full_name
  - rename column arc_seacats.subject_name to subject_full_name
";
    let base = project(EVERYTHING);
    let renamed = replace(
        &base,
        "warehouse.tally",
        "    subject_name   string pii(name)\n",
        "    subject_full_name string pii(name)\n",
    );
    let expected = [
        "drop column cur_seacats.subject_name",
        "rename column cur_seacats.subject_name to subject_full_name",
    ];
    let with_a_value = |db: &mut dyn Backend| {
        insert_row(db, "cur_seacats", &[("seizure_id", "'S1'"), ("subject_name", "'Kept'")])
    };
    let refused =
        Refused::new(label, "T0601", &expected).allowing(RENAMES).with_rows(&with_a_value);
    let mut migrated = check_refused(engine, &base, &renamed, &refused);
    let rows = query(migrated.db.as_mut(), "SELECT subject_full_name FROM cur_seacats");
    assert_eq!(rows, [["Kept"]]);
}

#[test]
fn a_renamed_column_is_refused_then_keeps_its_values_when_allowed() {
    renamed_column_keeps_its_values(Engine::DuckDb, "renamed column");
}

#[test]
fn a_narrowed_type_is_refused_then_converts_when_allowed() {
    let base = project(EVERYTHING);
    let changed = replace(&base, "warehouse.tally", "decimal(12, 3)", "decimal(10, 3)");
    let mut migrated = check_refused(
        Engine::DuckDb,
        &base,
        &changed,
        &Refused::new("narrowed type", "T0602", &["narrow column cur_seacats.drug_weight_kg"])
            .with_rows(&|db| {
                insert_row(db, "cur_seacats", &[("seizure_id", "'S1'"), ("drug_weight_kg", "1.5")])
            }),
    );
    let rows = query(migrated.db.as_mut(), "SELECT CAST(drug_weight_kg AS TEXT) FROM cur_seacats");
    assert_eq!(rows, [["1.500"]]);
}

#[test]
fn a_new_not_null_column_is_refused_then_applies_to_an_empty_table_when_allowed() {
    let base = project(EVERYTHING);
    let changed = replace(
        &base,
        "warehouse.tally",
        "    narcotic       bool default false\n",
        "    narcotic       bool default false\n    inspector      string not null\n",
    );
    check_refused(
        Engine::DuckDb,
        &base,
        &changed,
        &Refused::new("new not null column", "T0603", &["not null column cur_seacats.inspector"]),
    );

    // With a row that has no value the migration fails and changes nothing.
    let before = compile_fresh(&base);
    let allowed = allowing(&changed, "  - not null column cur_seacats.inspector\n");
    let after = compile(&allowed, &output(&before));
    let mut database = Engine::DuckDb.open("not_null_with_rows");
    let db = database.db.as_mut();
    apply(db, &before, "not null with rows");
    insert_row(db, "cur_seacats", &[("seizure_id", "'S1'")]);
    let schema = describe(db);
    let error = try_apply(db, &after).expect_err("a NOT NULL column cannot be added to a row");
    assert!(error.to_string().contains("0002_"), "{error}");
    assert_same("failed not null migration", &describe(db), &schema);
    let ledger = query(db, "SELECT name FROM tally_migrations ORDER BY name");
    assert_eq!(ledger, [["0001_initial.sql"]]);
}

#[test]
fn a_key_change_is_refused_then_rebuilds_the_table_keeping_rows_when_allowed() {
    let base = project(EVERYTHING);
    let changed = replace(
        &base,
        "warehouse.tally",
        "key (seizure_id, line_item)",
        "key (seizure_id, line_item, seizure_date)",
    );
    let mut migrated = check_refused(
        Engine::DuckDb,
        &base,
        &changed,
        &Refused::new("changed key", "T0604", &["change key cur_seacats"])
            .with_rows(&|db| insert_row(db, "cur_seacats", &[("seizure_id", "'S1'")])),
    );
    let rows = query(migrated.db.as_mut(), "SELECT seizure_id FROM cur_seacats");
    assert_eq!(rows, [["S1"]]);
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn postgres_metrics_dsl_takes_an_added_column_and_metric() {
    let base = project("metrics-dsl");
    check_change(Engine::Postgres, "pg_added_column", &base, &add_column(&base));
    check_change(Engine::Postgres, "pg_added_metric", &base, &add_metric(&base));
}

#[test]
fn postgres_everything_takes_a_new_role_and_a_renamed_column() {
    let base = project(EVERYTHING);
    let changed = with_file(
        &base,
        "auditor.tally",
        "role auditor {\n  marts usbp_enforcement\n  scope usbp.sector = user.sector\n}\n",
    );
    check_change(Engine::Postgres, "pg_new_role", &base, &changed);
    renamed_column_keeps_its_values(Engine::Postgres, "pg_renamed_column");
}
