//! Every Appendix A metric of `metrics-dsl/`, checked against values worked out by hand.
//!
//! `tests/fixtures/emis-small/landing/` holds a handful of hand-made rows per source (see the
//! README beside it); `expected.tsv` holds, per Appendix A id, the cells of the mart and
//! aggregate tables that give the line and the value each must have, with the reasoning. The
//! values were derived from the rows, not copied from a run.
//!
//! The test compiles `metrics-dsl` with the real binary, migrates a fresh warehouse on DuckDB,
//! on PostgreSQL and on Spark (`TALLY_TEST_SPARK`), lands the files, runs the ETL once at a
//! fixed time (which refreshes every metric) and reads each expected cell with plain SQL. It reports every mismatch at once.
//!
//! `expected.tsv` columns (tab-separated, `#` lines are comments):
//! - `id`: the Appendix A id;
//! - `table`: the mart or aggregate table, or `*` for every table that publishes the metric
//!   (the plan's `refresh` entries);
//! - `metric`;
//! - `grain` and `period`: the row's grain and `period_start` (`-` for a metric without time);
//! - `levels`: the row's `levels` (`-` for the total, the empty string);
//! - `cut`: `column=value` pairs, `;`-separated, for the dimension columns (`-`: none);
//! - `bucket`, `member`: the bucket label and `top` member (`-`: NULL);
//! - `field`: `value`, `previous_value` or `partial` (1 for a period not over at the refresh,
//!   0 for one that is);
//! - `expected`: a number, a fraction `p/q` (or `p/q/r`: divisions left to right), `NULL` (a row with no value), or `absent` (no
//!   such row: a member cut off by `top`, a bucket nobody is in);
//! - `finding`: `-`, or the README's FINDINGS entry that explains why the row fails today;
//! - `reasoning`: which fixture rows count and why.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use tally_runtime::backend::{self, Backend};
use tally_runtime::etl::{self, Quiet, RunOptions};
use tally_runtime::generated::Generated;
use tally_runtime::migrate;
use tally_runtime::testing::{SparkDatabase, TestDatabase};
use tally_runtime::value::Value;
use tempfile::TempDir;

/// The run's time. Seizure ages (`age(seized_at)`) count from it.
const NOW: &str = "2024-03-15 12:00:00";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    root().join("tests/fixtures/emis-small")
}

/// What a cell must hold.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// A value, within a millionth (tables keep six decimals).
    Number(f64),
    /// A row whose field is NULL.
    Null,
    /// No such row.
    Absent,
}

impl Expect {
    fn parse(text: &str) -> Result<Expect, String> {
        match text {
            "NULL" => return Ok(Expect::Null),
            "absent" => return Ok(Expect::Absent),
            _ => {}
        }
        let number = |t: &str| t.trim().parse::<f64>().map_err(|e| format!("`{t}`: {e}"));
        let mut parts = text.split('/');
        let mut value = number(parts.next().unwrap_or(""))?;
        for divisor in parts {
            value /= number(divisor)?;
        }
        Ok(Expect::Number(value))
    }
}

/// One line of `expected.tsv`.
#[derive(Debug, Clone)]
struct Cell {
    line: usize,
    id: String,
    table: String,
    metric: String,
    grain: Option<String>,
    period: Option<String>,
    levels: String,
    cut: Vec<(String, String)>,
    bucket: Option<String>,
    member: Option<String>,
    field: String,
    expected: Expect,
    expected_text: String,
    finding: Option<String>,
}

fn dash(text: &str) -> Option<String> {
    (text != "-").then(|| text.to_owned())
}

fn read_expected() -> Vec<Cell> {
    let path = fixture().join("expected.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cells = Vec::new();
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if !header_seen {
            assert_eq!(
                fields.first(),
                Some(&"id"),
                "expected.tsv:{line_no}: the header comes first"
            );
            header_seen = true;
            continue;
        }
        assert!(
            fields.len() >= 13,
            "expected.tsv:{line_no}: {} fields, 13 wanted: {line}",
            fields.len()
        );
        let cut = match fields[6] {
            "-" => Vec::new(),
            cut => cut
                .split(';')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or_else(|| {
                        panic!("expected.tsv:{line_no}: `{pair}` is not column=value")
                    });
                    (k.trim().to_owned(), v.trim().to_owned())
                })
                .collect(),
        };
        cells.push(Cell {
            line: line_no,
            id: fields[0].to_owned(),
            table: fields[1].to_owned(),
            metric: fields[2].to_owned(),
            grain: dash(fields[3]),
            period: dash(fields[4]),
            levels: if fields[5] == "-" { String::new() } else { fields[5].to_owned() },
            cut,
            bucket: dash(fields[7]),
            member: dash(fields[8]),
            field: fields[9].to_owned(),
            expected: Expect::parse(fields[10])
                .unwrap_or_else(|e| panic!("expected.tsv:{line_no}: expected value {e}")),
            expected_text: fields[10].to_owned(),
            finding: dash(fields[11]),
        });
    }
    cells
}

/// Every Appendix A id, from the shared list when it is there, else from the coverage page.
fn appendix_ids() -> Vec<String> {
    let page = root().join("docs/metrics-coverage.md");
    let text = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|id| {
            let mut parts = id.splitn(2, '-');
            let prefix = parts.next().unwrap_or("");
            let number = parts.next().unwrap_or("");
            !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_uppercase())
                && number.len() == 2
                && number.chars().all(|c| c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The query reading one cell's field from `table`.
fn cell_query(cell: &Cell, table: &str) -> String {
    let mut sql = format!(
        "SELECT {} FROM {table} WHERE metric = {} AND levels = {}",
        cell.field,
        sql_text(&cell.metric),
        sql_text(&cell.levels)
    );
    match (&cell.grain, &cell.period) {
        (Some(grain), Some(period)) => {
            let _ = write!(
                sql,
                " AND grain = {} AND period_start = TIMESTAMP {}",
                sql_text(grain),
                sql_text(period)
            );
        }
        _ => sql.push_str(" AND grain IS NULL AND period_start IS NULL"),
    }
    for (column, value) in &cell.cut {
        let _ = write!(sql, " AND {column} = {}", sql_text(value));
    }
    for (column, value) in [("bucket", &cell.bucket), ("member", &cell.member)] {
        match value {
            Some(v) => {
                let _ = write!(sql, " AND {column} = {}", sql_text(v));
            }
            None => {
                let _ = write!(sql, " AND {column} IS NULL");
            }
        }
    }
    sql
}

fn number(value: &Value) -> Option<f64> {
    match value {
        // `partial`: 1 for a period not over at the refresh, 0 for an ended one.
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Decimal(text) | Value::Text(text) => text.parse().ok(),
        _ => None,
    }
}

/// What was found for one cell, in words, when it is not what was expected.
fn check_cell(db: &mut dyn Backend, cell: &Cell, table: &str) -> Option<String> {
    let sql = cell_query(cell, table);
    let rows = match db.query(&sql) {
        Ok(rows) => rows,
        Err(e) => return Some(format!("query failed: {e}\n      {sql}")),
    };
    let actual = match rows.rows.as_slice() {
        [] => Expect::Absent,
        [row] => match row.first() {
            Some(Value::Null) | None => Expect::Null,
            Some(value) => match number(value) {
                Some(n) => Expect::Number(n),
                None => return Some(format!("not a number: {value:?}")),
            },
        },
        many => return Some(format!("{} rows match, one wanted\n      {sql}", many.len())),
    };
    let same = match (&cell.expected, &actual) {
        (Expect::Number(e), Expect::Number(a)) => (e - a).abs() <= 1e-6,
        (e, a) => e == a,
    };
    (!same).then(|| match actual {
        Expect::Number(n) => format!("{n}"),
        Expect::Null => "NULL".to_owned(),
        Expect::Absent => "absent (no row)".to_owned(),
    })
}

fn tally() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env("NO_COLOR", "1").current_dir(root());
    cmd
}

/// `tally compile metrics-dsl` into a fresh directory.
fn compile() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = tally()
        .args(["compile", "metrics-dsl", "--out"])
        .arg(dir.path())
        .output()
        .expect("tally runs");
    assert!(
        output.status.success(),
        "tally compile metrics-dsl failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("fixture directory") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Compiles, migrates `db`, lands the fixture and runs the ETL once; then checks every cell.
fn emis_small(db_target: &str, engine: &str) {
    let generated_dir = compile();
    let mut db = backend::open(db_target).unwrap_or_else(|e| panic!("{e}"));
    let generated =
        Generated::load(generated_dir.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    let now = etl::parse_time(NOW).unwrap_or_else(|e| panic!("{e}"));
    migrate::migrate(db.as_mut(), &generated.migrations, now, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let landing = tempfile::tempdir().expect("temp dir");
    copy_tree(&fixture().join("landing"), landing.path());
    let options =
        RunOptions { landing: landing.path().to_path_buf(), now, sources: Vec::new(), fault: None };
    let report = etl::run_once(db.as_mut(), &generated, &options, &mut Quiet)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.failed(), "the run failed:\n{report}");
    // The only rejected lines are the two re-sent rows of append sources (P1 and T3/1, see the
    // fixture's README): a loaded key of an append source never changes.
    let rejects = db
        .query("SELECT source, file, line, column_name, value, reason FROM etl_rejects ORDER BY 1, 2, 3")
        .unwrap_or_else(|e| panic!("{e}"));
    let rejected: Vec<String> = rejects
        .rows
        .iter()
        .map(|r| r.iter().take(5).map(ToString::to_string).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        rejected,
        [
            "ats_p_apis ats_p/apis_2024-03-15T0615.jsonl 1 transmission_id T3",
            "ats_p_primary ats_p/primary_2024-03-15T0615.csv 2 inspection_id P1",
        ],
        "the fixture's rejected lines: {:?}",
        rejects.rows
    );
    for row in &rejects.rows {
        let reason = row.last().map(ToString::to_string).unwrap_or_default();
        assert!(reason.starts_with("key already loaded"), "{reason}");
    }

    let publishing: BTreeMap<&str, Vec<&str>> = generated
        .plan
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.refresh.iter().map(|r| r.table.as_str()).collect()))
        .collect();
    let cells = read_expected();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    let mut verified_ids: BTreeMap<&str, bool> = BTreeMap::new();
    for cell in &cells {
        let tables: Vec<&str> = if cell.table == "*" {
            match publishing.get(cell.metric.as_str()) {
                Some(tables) if !tables.is_empty() => tables.clone(),
                _ => {
                    mismatches.push(format!(
                        "expected.tsv:{} {} {}: no table publishes the metric",
                        cell.line, cell.id, cell.metric
                    ));
                    verified_ids.insert(&cell.id, false);
                    continue;
                }
            }
        } else {
            vec![cell.table.as_str()]
        };
        for table in tables {
            checked += 1;
            let ok = match check_cell(db.as_mut(), cell, table) {
                None => true,
                Some(actual) => {
                    let cut: Vec<String> =
                        cell.cut.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    mismatches.push(format!(
                        "expected.tsv:{} {} {}.{} [{} {} levels={:?} {} bucket={} member={}] {}: expected {}, actual {}{}",
                        cell.line,
                        cell.id,
                        table,
                        cell.metric,
                        cell.grain.as_deref().unwrap_or("-"),
                        cell.period.as_deref().unwrap_or("-"),
                        cell.levels,
                        cut.join(";"),
                        cell.bucket.as_deref().unwrap_or("-"),
                        cell.member.as_deref().unwrap_or("-"),
                        cell.field,
                        cell.expected_text,
                        actual,
                        cell.finding.as_ref().map(|f| format!(" (known: {f})")).unwrap_or_default()
                    ));
                    false
                }
            };
            let entry = verified_ids.entry(&cell.id).or_insert(true);
            *entry &= ok;
        }
    }
    let missing: Vec<String> =
        appendix_ids().into_iter().filter(|id| !verified_ids.contains_key(id.as_str())).collect();
    let verified = verified_ids.values().filter(|ok| **ok).count();
    eprintln!(
        "{engine}: {checked} cells checked, {} mismatches; {verified} of {} ids verified",
        mismatches.len(),
        verified_ids.len()
    );
    assert!(
        missing.is_empty(),
        "{engine}: Appendix A ids with no expected row: {}",
        missing.join(", ")
    );
    assert!(
        mismatches.is_empty(),
        "{engine}: {} of {checked} cells differ from the hand-worked values:\n  {}",
        mismatches.len(),
        mismatches.join("\n  ")
    );
}

#[test]
fn emis_small_on_duckdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("warehouse.duckdb").display().to_string();
    emis_small(&target, "duckdb");
}

#[test]
fn emis_small_on_postgres() {
    let db = TestDatabase::create("emis_small");
    emis_small(&db.url, "postgres");
}

#[test]
fn emis_small_on_spark() {
    let db = SparkDatabase::create("emis_small");
    emis_small(&db.url, "spark");
}
