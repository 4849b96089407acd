//! The ETL (`tally_runtime::etl`) on both engines. The project in
//! `tests/fixtures/runtime/project/` is compiled and migrated into a fresh database; the
//! landing batches of `tests/fixtures/runtime/landing/<batch>/` are copied into a landing area
//! one after the other and run at fixed times; the warehouse tables are checked row for row.
//!
//! The project's sources, in plan (name) order, which is also the order their files get batch
//! numbers in a run:
//! - `arrivals`: JSON lines, `load incremental by updated_at`, hourly;
//! - `inspections`: Parquet (written by the tests), `load append`, daily at 06:00;
//! - `ports`: CSV, `load snapshot`, daily at 05:00, the `location` dimension's members;
//! - `seizures`: CSV, `load cdc delete_marker is_deleted`, every 15 minutes.
//!
//! The batches: `1-inserts`, `2-updates` (ports: one renamed, one gone; seizures: one changed,
//! one key twice in a file; arrivals: one newer, one older than the watermark, a blank line, a
//! bad value), `3-deletes` (delete markers, one for a key never loaded), `4-bad-rows` (a wrong
//! int, an impossible date, an unknown enum value, a missing required value, a line with three
//! bad values, one good line).

mod support;

use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{compile, read_tree, repo, write_tree, Engine};
use tally_runtime::backend::DuckDb;
use tally_runtime::error::codes;
use tally_runtime::etl::{self, Event, FileReport, Progress, Quiet, RunOptions, RunReport};
use tally_runtime::generated::Generated;
use tally_runtime::{migrate, Backend};
use tempfile::TempDir;

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/runtime")
}

fn time(text: &str) -> NaiveDateTime {
    etl::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Copies the files of a landing batch into `landing`.
fn land(landing: &Path, batch: &str) {
    let from = fixture().join("landing").join(batch);
    let files = read_tree(&from);
    assert!(!files.is_empty(), "no landing batch {batch}");
    write_tree(landing, &files);
}

/// A compiled, migrated warehouse with an empty landing area.
struct Warehouse {
    dir: TempDir,
    generated: Generated,
    db: Box<dyn Backend>,
}

impl Warehouse {
    fn new(engine: &Engine) -> Warehouse {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = compile(&read_tree(&fixture().join("project")), &BTreeMap::new());
        let generated_dir = dir.path().join("generated");
        write_tree(&generated_dir, &files);
        std::fs::create_dir_all(dir.path().join("landing")).expect("landing area");
        let mut db = engine.open();
        let generated =
            Generated::load(&generated_dir, db.dialect()).unwrap_or_else(|e| panic!("{e}"));
        migrate::migrate(db.as_mut(), &generated.migrations, time("2024-03-01"), false)
            .unwrap_or_else(|e| panic!("{e}"));
        Warehouse { dir, generated, db }
    }

    fn landing(&self) -> PathBuf {
        self.dir.path().join("landing")
    }

    fn land(&self, batch: &str) {
        land(&self.landing(), batch);
    }

    /// The inspections Parquet file of the first batch: two good rows and one without its
    /// required date.
    fn land_inspections(&self) {
        let path = self.landing().join("inspections/2024-03-01.parquet");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut duck = DuckDb::in_memory().unwrap_or_else(|e| panic!("{e}"));
        duck.execute(&format!(
            "COPY (SELECT * FROM (VALUES (1, 'JFK', DATE '2024-03-01', true), \
             (2, 'LAX', DATE '2024-03-01', false), (3, 'EWR', NULL, NULL)) \
             AS t (inspection_id, port_code, inspected_on, passed)) TO '{}' (FORMAT parquet)",
            path.display()
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn options(&self, now: &str, sources: &[&str]) -> RunOptions {
        RunOptions {
            landing: self.landing(),
            now: time(now),
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            fault: None,
        }
    }

    fn try_run(&mut self, now: &str, sources: &[&str]) -> tally_runtime::Result<RunReport> {
        let options = self.options(now, sources);
        etl::run_once(self.db.as_mut(), &self.generated, &options, &mut Quiet)
    }

    fn run(&mut self, now: &str) -> RunReport {
        self.try_run(now, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `sql`'s rows, each as its values joined by ` | `, sorted.
    fn rows(&mut self, sql: &str) -> Vec<String> {
        let rows = self.db.query(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        let mut out: Vec<String> = rows
            .rows
            .iter()
            .map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "))
            .collect();
        out.sort();
        out
    }

    /// Every warehouse table the plan names, and the ETL state (not the run log), row for row.
    fn snapshot(&mut self) -> BTreeMap<String, Vec<String>> {
        let plan = &self.generated.plan;
        let mut tables: Vec<String> = plan
            .sources
            .iter()
            .flat_map(|s| {
                [s.tables.current.clone(), s.tables.archive.clone(), s.tables.staging.clone()]
            })
            .chain(plan.marts.iter().chain(&plan.aggregates).map(|t| t.table.clone()))
            .collect();
        tables.extend(["etl_file_ledger", "etl_rejects", "etl_watermark"].map(String::from));
        tables.into_iter().map(|t| (t.clone(), self.rows(&format!("SELECT * FROM {t}")))).collect()
    }
}

#[track_caller]
fn assert_rows(actual: Vec<String>, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(actual, expected, "\nactual rows:\n{}\n", actual.join("\n"));
}

fn source<'r>(report: &'r RunReport, name: &str) -> &'r etl::SourceReport {
    report
        .sources
        .iter()
        .find(|s| s.source == name)
        .unwrap_or_else(|| panic!("no {name} in\n{report}"))
}

fn file(path: &str, batch: i64, read: i64, loaded: i64, rejected: i64, late: i64) -> FileReport {
    FileReport {
        path: path.to_owned(),
        batch,
        rows_read: read,
        rows_loaded: loaded,
        rows_rejected: rejected,
        rows_late: late,
    }
}

const SEIZURES: &str =
    "SELECT seizure_id, line_item, seized_on, port_code, kind, weight_kg, is_deleted, \
     _tally_batch, _tally_loaded_at FROM cur_seizures";
const ARCHIVED_SEIZURES: &str =
    "SELECT seizure_id, line_item, kind, _tally_batch, _tally_loaded_at, \
     _tally_archived_at, _tally_archive_reason, _tally_purge_after FROM arc_seizures";
const MART: &str =
    "SELECT metric, grain, period_start, levels, field_office, bucket, member, value, \
     previous_value, cell_rows FROM mart_borderstat";

/// The three batches and the bad rows, checked after each run.
fn three_batches_and_bad_rows(engine: &Engine) {
    let mut w = Warehouse::new(engine);

    // 1: inserts. Every source is due (never loaded); batches in source name order.
    w.land("1-inserts");
    w.land_inspections();
    let report = w.run("2024-03-01 06:00");
    assert!(!report.failed(), "{report}");
    assert_eq!(
        source(&report, "arrivals").files,
        [file("arrivals/2024-03-01T0600.jsonl", 1, 2, 2, 0, 0)]
    );
    assert_eq!(
        source(&report, "inspections").files,
        [file("inspections/2024-03-01.parquet", 2, 3, 2, 1, 0)]
    );
    assert_eq!(source(&report, "ports").files, [file("ports/2024-03-01.csv", 3, 4, 4, 0, 0)]);
    assert_eq!(
        source(&report, "seizures").files,
        [file("seizures/2024-03-01T0600.csv", 4, 5, 5, 0, 0)]
    );
    assert_eq!(
        report.refresh.as_ref().map(|r| r.metrics.len()),
        Some(5),
        "the first refresh is of every metric"
    );
    assert_rows(
        w.rows(SEIZURES),
        &[
            "S1 | 1 | 2024-02-10 | JFK | drug | 10.50 | false | 4 | 2024-03-01 06:00:00",
            "S1 | 2 | 2024-02-10 | JFK | currency | NULL | false | 4 | 2024-03-01 06:00:00",
            "S2 | 1 | 2024-02-20 | EWR | drug | 4.25 | false | 4 | 2024-03-01 06:00:00",
            "S3 | 1 | 2024-03-01 | LAX | drug | 2.00 | false | 4 | 2024-03-01 06:00:00",
            "S4 | 1 | 2024-03-01 | SFO | currency | NULL | false | 4 | 2024-03-01 06:00:00",
        ],
    );
    assert_rows(
        w.rows("SELECT inspection_id, port_code, inspected_on, passed, _tally_batch FROM cur_inspections"),
        &["1 | JFK | 2024-03-01 | true | 2", "2 | LAX | 2024-03-01 | false | 2"],
    );

    // 2: updates, a day later: every source is due again; inspections has nothing new.
    w.land("2-updates");
    let report = w.run("2024-03-02 06:00");
    assert!(!report.failed(), "{report}");
    // The blank line is not a record: 4 read, A4's bad wait rejected.
    assert_eq!(
        source(&report, "arrivals").files,
        [file("arrivals/2024-03-02T0600.jsonl", 5, 4, 2, 1, 1)]
    );
    assert_eq!(source(&report, "inspections").files, []);
    assert_eq!(source(&report, "inspections").skipped, 1);
    assert_eq!(source(&report, "ports").files, [file("ports/2024-03-02.csv", 6, 3, 3, 0, 0)]);
    assert_eq!(
        source(&report, "seizures").files,
        [file("seizures/2024-03-02T0600.csv", 7, 3, 3, 0, 0)]
    );
    assert_rows(
        w.rows("SELECT port_code, port_name, field_office, _tally_batch, _tally_loaded_at FROM cur_ports"),
        &[
            "EWR | Newark Liberty | NYC | 6 | 2024-03-01 06:00:00",
            "JFK | John F. Kennedy | NYC | 6 | 2024-03-01 06:00:00",
            "LAX | Los Angeles | LA | 6 | 2024-03-01 06:00:00",
        ],
    );
    // SFO is missing from the new snapshot: archived, kept 40 years from loading (the rule).
    assert_rows(
        w.rows(
            "SELECT port_code, port_name, _tally_batch, _tally_archived_at, _tally_archive_reason, \
             _tally_purge_after FROM arc_ports",
        ),
        &["SFO | San Francisco | 3 | 2024-03-02 06:00:00 | missing_from_snapshot | 2064-03-01 06:00:00"],
    );
    // A1 is newer and replaces its row; A2's record is older than the watermark and ignored.
    assert_rows(
        w.rows("SELECT arrival_id, port_code, arrived_at, wait_minutes, updated_at, _tally_batch, _tally_loaded_at FROM cur_arrivals"),
        &[
            "A1 | JFK | 2024-03-01 05:00:00 | 30 | 2024-03-02 05:00:00 | 5 | 2024-03-01 06:00:00",
            "A2 | LAX | 2024-03-01 05:10:00 | 40 | 2024-03-01 05:40:00 | 1 | 2024-03-01 06:00:00",
            "A3 | EWR | 2024-03-02 04:00:00 | 10 | 2024-03-02 05:00:00 | 5 | 2024-03-02 06:00:00",
        ],
    );
    assert_rows(
        w.rows("SELECT source, column_name, value, updated_at FROM etl_watermark"),
        &["arrivals | updated_at | 2024-03-02 05:00:00 | 2024-03-02 06:00:00"],
    );
    // S5 came twice in the file: the last line wins.
    assert_rows(
        w.rows(SEIZURES),
        &[
            "S1 | 1 | 2024-02-10 | JFK | drug | 10.50 | false | 4 | 2024-03-01 06:00:00",
            "S1 | 2 | 2024-02-10 | JFK | currency | NULL | false | 4 | 2024-03-01 06:00:00",
            "S2 | 1 | 2024-02-20 | EWR | drug | 5.75 | false | 7 | 2024-03-01 06:00:00",
            "S3 | 1 | 2024-03-01 | LAX | drug | 2.00 | false | 4 | 2024-03-01 06:00:00",
            "S4 | 1 | 2024-03-01 | SFO | currency | NULL | false | 4 | 2024-03-01 06:00:00",
            "S5 | 1 | 2024-03-02 | JFK | drug | 3.00 | false | 7 | 2024-03-02 06:00:00",
        ],
    );
    assert_rows(w.rows(ARCHIVED_SEIZURES), &[]);

    // 3: deletes. S6 was never loaded: its delete marker archives nothing.
    w.land("3-deletes");
    let report = w.run("2024-03-03 06:00");
    assert!(!report.failed(), "{report}");
    assert_eq!(
        source(&report, "seizures").files,
        [file("seizures/2024-03-03T0600.csv", 8, 3, 3, 0, 0)]
    );
    assert_eq!(source(&report, "seizures").skipped, 2);
    assert_eq!(
        report.refresh.as_ref().map(|r| r.metrics.clone()),
        Some(
            ["drug_seizures", "drug_weight", "kg_per_drug_seizure", "seizure_lines"]
                .map(String::from)
                .to_vec()
        ),
        "only the metrics of the source that changed"
    );
    assert_rows(
        w.rows(SEIZURES),
        &[
            "S1 | 1 | 2024-02-10 | JFK | drug | 10.50 | false | 4 | 2024-03-01 06:00:00",
            "S2 | 1 | 2024-02-20 | EWR | drug | 5.75 | false | 7 | 2024-03-01 06:00:00",
            "S3 | 1 | 2024-03-01 | LAX | drug | 2.00 | false | 4 | 2024-03-01 06:00:00",
            "S5 | 1 | 2024-03-02 | JFK | drug | 3.00 | false | 7 | 2024-03-02 06:00:00",
        ],
    );
    assert_rows(
        w.rows(ARCHIVED_SEIZURES),
        &[
            "S1 | 2 | currency | 4 | 2024-03-01 06:00:00 | 2024-03-03 06:00:00 | deleted_upstream | 2064-02-10 00:00:00",
            "S4 | 1 | currency | 4 | 2024-03-01 06:00:00 | 2024-03-03 06:00:00 | deleted_upstream | 2064-03-01 00:00:00",
        ],
    );

    // 4: bad rows. One good line of six; a line with three bad values is one rejected row.
    w.land("4-bad-rows");
    let report = w.run("2024-03-04 06:00");
    assert!(!report.failed(), "{report}");
    assert_eq!(
        source(&report, "seizures").files,
        [file("seizures/2024-03-04T0600.csv", 9, 6, 1, 5, 0)]
    );
    assert_rows(
        w.rows(SEIZURES),
        &[
            "S1 | 1 | 2024-02-10 | JFK | drug | 10.50 | false | 4 | 2024-03-01 06:00:00",
            "S11 | 1 | 2024-03-04 | LAX | drug | 7.50 | false | 9 | 2024-03-04 06:00:00",
            "S2 | 1 | 2024-02-20 | EWR | drug | 5.75 | false | 7 | 2024-03-01 06:00:00",
            "S3 | 1 | 2024-03-01 | LAX | drug | 2.00 | false | 4 | 2024-03-01 06:00:00",
            "S5 | 1 | 2024-03-02 | JFK | drug | 3.00 | false | 7 | 2024-03-02 06:00:00",
        ],
    );
    assert_rows(
        w.rows("SELECT source, batch, file, line, column_name, value, reason, rejected_at FROM etl_rejects"),
        &[
            "arrivals | 5 | arrivals/2024-03-02T0600.jsonl | 4 | wait_minutes | many | not a valid int | 2024-03-02 06:00:00",
            "inspections | 2 | inspections/2024-03-01.parquet | 3 | inspected_on | NULL | missing value | 2024-03-01 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 2 | line_item | x1 | not a valid int | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 3 | seized_on | 2024-02-30 | not a valid date | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 4 | kind | weapon | not one of: drug, currency | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 5 | port_code | NULL | missing value | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 7 | kind | cocaine | not one of: drug, currency | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 7 | seized_on | not-a-date | not a valid date | 2024-03-04 06:00:00",
            "seizures | 9 | seizures/2024-03-04T0600.csv | 7 | weight_kg | abc | not a valid decimal(10, 2) | 2024-03-04 06:00:00",
        ],
    );
    // Nothing lost, nothing doubled: every file's rows add up, in the ledger and the run log.
    assert_rows(
        w.rows(
            "SELECT source, path, size, rows_read, rows_loaded, rows_rejected, rows_late, batch, \
             loaded_at FROM etl_file_ledger",
        ),
        &[
            "arrivals | arrivals/2024-03-01T0600.jsonl | 268 | 2 | 2 | 0 | 0 | 1 | 2024-03-01 06:00:00",
            "arrivals | arrivals/2024-03-02T0600.jsonl | 545 | 4 | 2 | 1 | 1 | 5 | 2024-03-02 06:00:00",
            &format!("inspections | inspections/2024-03-01.parquet | {} | 3 | 2 | 1 | 0 | 2 | 2024-03-01 06:00:00", parquet_size(&w)),
            "ports | ports/2024-03-01.csv | 112 | 4 | 4 | 0 | 0 | 3 | 2024-03-01 06:00:00",
            "ports | ports/2024-03-02.csv | 99 | 3 | 3 | 0 | 0 | 6 | 2024-03-02 06:00:00",
            "seizures | seizures/2024-03-01T0600.csv | 224 | 5 | 5 | 0 | 0 | 4 | 2024-03-01 06:00:00",
            "seizures | seizures/2024-03-02T0600.csv | 159 | 3 | 3 | 0 | 0 | 7 | 2024-03-02 06:00:00",
            "seizures | seizures/2024-03-03T0600.csv | 168 | 3 | 3 | 0 | 0 | 8 | 2024-03-03 06:00:00",
            "seizures | seizures/2024-03-04T0600.csv | 245 | 6 | 1 | 5 | 0 | 9 | 2024-03-04 06:00:00",
        ],
    );
    for row in w.rows("SELECT sha256, path FROM etl_file_ledger") {
        let (sha256, path) = row.split_once(" | ").expect("two columns");
        let landed =
            etl::landing::inspect(&w.landing(), Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sha256, landed.sha256, "{path}");
    }
    assert_rows(
        w.rows(
            "SELECT step, batch, rows_in, rows_out, rows_rejected, status, error FROM etl_run_log \
             WHERE batch = 9 AND step <> 'refresh'",
        ),
        &[
            "load | 9 | 6 | 6 | 0 | ok | NULL",
            "validate | 9 | 6 | 1 | 5 | ok | NULL",
            "merge | 9 | 1 | 1 | 0 | ok | NULL",
            "archive_deleted | 9 | 1 | 0 | 0 | ok | NULL",
            "record | 9 | 6 | 1 | 5 | ok | NULL",
            "clear_staging | 9 | 1 | 0 | 0 | ok | NULL",
        ],
    );
    assert_rows(
        w.rows(
            "SELECT step, source, batch, rows_in, status FROM etl_run_log WHERE step = 'refresh'",
        ),
        &[
            "refresh | NULL | 4 | 5 | ok",
            "refresh | NULL | 7 | 5 | ok",
            "refresh | NULL | 8 | 4 | ok",
            "refresh | NULL | 9 | 4 | ok",
        ],
    );
    assert_rows(w.rows("SELECT * FROM stg_seizures"), &[]);

    // The marts: ports as they are now (SFO archived, S4 deleted anyway), seizures by month.
    assert_rows(
        w.rows(MART),
        &[
            "drug_weight | month | 2024-02-01 00:00:00 |  | NULL | NULL | NULL | 16.250000 | NULL | 2",
            "drug_weight | month | 2024-02-01 00:00:00 | field_office | NYC | NULL | NULL | 16.250000 | NULL | 2",
            "drug_weight | month | 2024-03-01 00:00:00 |  | NULL | NULL | NULL | 12.500000 | NULL | 3",
            "drug_weight | month | 2024-03-01 00:00:00 | field_office | LA | NULL | NULL | 9.500000 | NULL | 2",
            "drug_weight | month | 2024-03-01 00:00:00 | field_office | NYC | NULL | NULL | 3.000000 | NULL | 1",
            "kg_per_drug_seizure | month | 2024-02-01 00:00:00 |  | NULL | NULL | NULL | 8.125000 | NULL | 2",
            "kg_per_drug_seizure | month | 2024-02-01 00:00:00 | field_office | NYC | NULL | NULL | 8.125000 | NULL | 2",
            "kg_per_drug_seizure | month | 2024-03-01 00:00:00 |  | NULL | NULL | NULL | 4.166667 | NULL | 3",
            "kg_per_drug_seizure | month | 2024-03-01 00:00:00 | field_office | LA | NULL | NULL | 4.750000 | NULL | 2",
            "kg_per_drug_seizure | month | 2024-03-01 00:00:00 | field_office | NYC | NULL | NULL | 3.000000 | NULL | 1",
            "seizure_lines | month | 2024-02-01 00:00:00 |  | NULL | NULL | NULL | 2.000000 | NULL | 2",
            "seizure_lines | month | 2024-02-01 00:00:00 | field_office | NYC | NULL | NULL | 2.000000 | NULL | 2",
            "seizure_lines | month | 2024-03-01 00:00:00 |  | NULL | NULL | NULL | 3.000000 | NULL | 3",
            "seizure_lines | month | 2024-03-01 00:00:00 | field_office | LA | NULL | NULL | 2.000000 | NULL | 2",
            "seizure_lines | month | 2024-03-01 00:00:00 | field_office | NYC | NULL | NULL | 1.000000 | NULL | 1",
        ],
    );
    assert_rows(
        w.rows(
            "SELECT metric, grain, period_start, levels, value, cell_rows FROM agg_drug_seizures",
        ),
        &[
            "drug_seizures | day | 2024-02-10 00:00:00 |  | 1.000000 | 1",
            "drug_seizures | day | 2024-02-20 00:00:00 |  | 1.000000 | 1",
            "drug_seizures | day | 2024-03-01 00:00:00 |  | 1.000000 | 1",
            "drug_seizures | day | 2024-03-02 00:00:00 |  | 1.000000 | 1",
            "drug_seizures | day | 2024-03-04 00:00:00 |  | 1.000000 | 1",
            "drug_seizures | month | 2024-02-01 00:00:00 |  | 2.000000 | 2",
            "drug_seizures | month | 2024-03-01 00:00:00 |  | 3.000000 | 3",
        ],
    );
    assert_rows(
        w.rows(
            "SELECT metric, grain, period_start, levels, value, cell_rows FROM agg_average_wait",
        ),
        &["average_wait | month | 2024-03-01 00:00:00 |  | 26.666667 | 3"],
    );
}

fn parquet_size(w: &Warehouse) -> u64 {
    std::fs::metadata(w.landing().join("inspections/2024-03-01.parquet")).expect("parquet").len()
}

/// A second run loads nothing and changes nothing; a run before anything is due does nothing.
fn a_rerun_loads_nothing(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("1-inserts");
    w.land_inspections();
    let first = w.run("2024-03-01 06:00");
    assert_eq!(first.files_loaded(), 4, "{first}");
    let before = w.snapshot();

    // An hour later seizures and arrivals are due again: their files are in the ledger.
    let report = w.run("2024-03-01 07:00");
    assert!(!report.failed(), "{report}");
    assert_eq!(report.files_loaded(), 0, "{report}");
    assert_eq!(source(&report, "seizures").skipped, 1);
    assert_eq!(source(&report, "arrivals").skipped, 1);
    assert!(!source(&report, "ports").due, "ports are due daily at 05:00");
    assert!(report.refresh.is_none(), "nothing changed, nothing to refresh: {report}");
    assert_eq!(w.snapshot(), before);

    // The same time again: seizures and arrivals stay due until they load a file, and load
    // nothing.
    let report = w.run("2024-03-01 07:00");
    assert_eq!(report.files_loaded(), 0, "{report}");
    assert_eq!(w.snapshot(), before);
}

/// A loaded file that changed is an error for that file (R0202); the source's other files and
/// the other sources still load.
fn a_changed_file_is_refused(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("1-inserts");
    w.run("2024-03-01 06:00");
    let cur_before = w.rows(SEIZURES);

    let loaded = w.landing().join("seizures/2024-03-01T0600.csv");
    let mut text = std::fs::read_to_string(&loaded).expect("landed file");
    text.push_str("S9,1,2024-03-01,JFK,drug,100,\n");
    std::fs::write(&loaded, text).expect("rewrite");
    w.land("2-updates");
    let report = w.run("2024-03-02 06:00");
    assert!(report.failed(), "{report}");
    let seizures = source(&report, "seizures");
    assert_eq!(seizures.errors.len(), 1, "{report}");
    assert_eq!(seizures.errors[0].code, codes::LANDED_FILE_CHANGED);
    assert!(
        seizures.errors[0]
            .message
            .contains("seizures/2024-03-01T0600.csv changed after it was loaded"),
        "{}",
        seizures.errors[0]
    );
    assert_eq!(seizures.files, [file("seizures/2024-03-02T0600.csv", 6, 3, 3, 0, 0)]);
    assert_eq!(source(&report, "ports").files.len(), 1, "{report}");
    assert_ne!(w.rows(SEIZURES), cur_before, "the next file loaded");
    assert!(w.rows("SELECT seizure_id FROM cur_seizures WHERE seizure_id = 'S9'").is_empty());
    let failed = w
        .rows("SELECT source, step, batch, status, error FROM etl_run_log WHERE status = 'failed'");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("seizures | load | NULL | failed | error[R0202]: seizures: seizures/2024-03-01T0600.csv changed"), "{failed:?}");

    // It stays refused on every run, and `status` shows it.
    let report = w.run("2024-03-02 06:15");
    assert_eq!(source(&report, "seizures").errors[0].code, codes::LANDED_FILE_CHANGED);
    let status = etl::status(w.db.as_mut(), &w.generated, time("2024-03-02 06:20"))
        .unwrap_or_else(|e| panic!("{e}"));
    let seizures = status.iter().find(|s| s.source == "seizures").expect("seizures");
    assert_eq!(seizures.failures_since_last_load, 2);
    assert!(
        seizures
            .last_failure
            .as_deref()
            .is_some_and(|f| f.contains(codes::LANDED_FILE_CHANGED.as_str())),
        "{seizures:?}"
    );
}

/// A file the bulk reader cannot read (a line with too many fields) fails and is rolled back
/// whole; the source's later files wait, so they never load before it. Once the file is fixed
/// (it was never loaded, so its name is free), both load in order.
fn a_malformed_file_stays_unloaded_and_holds_back_later_files(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    let landing = w.landing();
    std::fs::create_dir_all(landing.join("seizures")).expect("mkdir");
    let header = "seizure_id,line_item,seized_on,port_code,kind,weight_kg,is_deleted\n";
    std::fs::write(
        landing.join("seizures/a.csv"),
        format!("{header}S1,1,2024-02-10,JFK,drug,1,\nS2,1,2024-02-10,JFK,drug,1,,surprise\n"),
    )
    .expect("write");
    std::fs::write(
        landing.join("seizures/b.csv"),
        format!("{header}S1,1,2024-02-10,JFK,drug,9,\n"),
    )
    .expect("write");

    let report = w.run("2024-03-01 06:00");
    assert!(report.failed(), "{report}");
    let seizures = source(&report, "seizures");
    assert_eq!(seizures.files, []);
    assert_eq!(seizures.held_back, 1);
    assert_eq!(seizures.errors.len(), 1, "{report}");
    let error = &seizures.errors[0];
    assert_eq!(error.code, codes::STATEMENT_FAILED, "{error}");
    assert!(
        error
            .message
            .starts_with("seizures: seizures/a.csv: step `load` failed; the file stays unloaded"),
        "{error}"
    );
    assert_rows(w.rows("SELECT * FROM cur_seizures"), &[]);
    assert_rows(w.rows("SELECT * FROM etl_file_ledger"), &[]);
    assert_rows(w.rows("SELECT * FROM etl_rejects"), &[]);
    assert_rows(
        w.rows(
            "SELECT source, step, batch, status FROM etl_run_log \
             WHERE source = 'seizures' AND step <> 'retain'",
        ),
        &["seizures | load | 1 | failed"],
    );

    std::fs::write(
        landing.join("seizures/a.csv"),
        format!("{header}S1,1,2024-02-10,JFK,drug,1,\n"),
    )
    .expect("fix");
    let report = w.run("2024-03-01 06:15");
    assert!(!report.failed(), "{report}");
    assert_eq!(
        source(&report, "seizures").files,
        [file("seizures/a.csv", 1, 1, 1, 0, 0), file("seizures/b.csv", 2, 1, 1, 0, 0)]
    );
    assert_rows(
        w.rows("SELECT seizure_id, weight_kg, _tally_batch FROM cur_seizures"),
        &["S1 | 9.00 | 2"],
    );
}

/// Sources are due when their schedule says, and at once when a landed file of theirs is not
/// loaded yet (left by a run killed or failed part-way, or landed after the period's load).
fn sources_load_on_their_schedule(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("1-inserts");
    w.run("2024-03-01 06:00");
    let due = |report: &RunReport| -> Vec<String> {
        report.sources.iter().filter(|s| s.due).map(|s| s.source.clone()).collect()
    };
    let loaded = |report: &RunReport| -> Vec<String> {
        report.sources.iter().filter(|s| !s.files.is_empty()).map(|s| s.source.clone()).collect()
    };

    // Nothing new landed: inspections never loaded, so they are always due (and have no
    // files); the others wait for their schedules.
    let report = w.run("2024-03-01 06:10");
    assert_eq!(due(&report), ["inspections"], "{report}");
    assert_eq!(source(&report, "seizures").next_due.as_deref(), Some("2024-03-01 06:15:00"));
    assert_eq!(due(&w.run("2024-03-01 06:15")), ["inspections", "seizures"]);
    // Due from a scheduled instant until a file loads: seizures ran empty at 06:15.
    assert_eq!(due(&w.run("2024-03-01 07:00")), ["arrivals", "inspections", "seizures"]);

    // New files make their sources due at once, before their next scheduled instants.
    w.land("2-updates");
    let report = w.run("2024-03-01 07:05");
    assert_eq!(loaded(&report), ["arrivals", "ports", "seizures"], "{report}");
    // Arrivals and seizures were due already (they ran empty since their instants); ports
    // was not, and is because of its new file.
    let unloaded = |name: &str| source(&report, name).unloaded_before;
    assert_eq!([unloaded("arrivals"), unloaded("ports"), unloaded("seizures")], [0, 1, 0]);
    assert_eq!(source(&report, "ports").next_due.as_deref(), Some("2024-03-02 05:00:00"));
    assert_eq!(due(&w.run("2024-03-01 07:10")), ["inspections"]);
    assert_eq!(loaded(&w.run("2024-03-02 05:00")), Vec::<String>::new());

    // `--source` runs only the sources named; an unknown name is refused with a suggestion.
    let report = w.try_run("2024-03-03 06:00", &["ports"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.sources.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), ["ports"]);
    let error = w.try_run("2024-03-03 06:00", &["seizure"]).expect_err("no such source");
    assert_eq!(error.code, codes::BAD_INPUT);
    assert_eq!(error.help.as_deref(), Some("did you mean `seizures`?"));
}

/// Lands the next batches when the simulated clock has passed their times.
struct Lander {
    landing: PathBuf,
    pending: Vec<(NaiveDateTime, &'static str)>,
    runs: Vec<RunReport>,
}

impl Progress for Lander {
    fn event(&mut self, event: Event<'_>) {
        if let Event::Finished(report) = event {
            let now = time(&report.now);
            self.pending.retain(|(at, batch)| {
                if *at <= now {
                    land(&self.landing, batch);
                }
                *at > now
            });
            self.runs.push(report.clone());
        }
    }
}

/// `--watch` with `--now`: a simulated week, every quarter hour, batches landing in between.
/// A landed file that is not loaded makes its source due at once: the batch landed at 12:00
/// loads at the 12:15 tick, ports (daily at 05:00) included.
fn a_simulated_week(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("1-inserts");
    let mut lander = Lander {
        landing: w.landing(),
        pending: vec![
            (time("2024-03-01 12:00"), "2-updates"),
            (time("2024-03-02 00:00"), "3-deletes"),
            (time("2024-03-03 00:00"), "4-bad-rows"),
        ],
        runs: Vec::new(),
    };
    let options = w.options("2024-03-01 06:00", &[]);
    let summary = etl::watch(
        w.db.as_mut(),
        &w.generated,
        &options,
        etl::WatchClock::Simulated,
        Some(time("2024-03-08 06:00")),
        &mut lander,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The start, then every quarter hour for seven days.
    assert_eq!(summary, etl::WatchSummary { runs: 1 + 7 * 96, failed_runs: 0 });
    assert_eq!(lander.runs.first().map(|r| r.now.as_str()), Some("2024-03-01 06:00:00"));
    assert_eq!(lander.runs.last().map(|r| r.now.as_str()), Some("2024-03-08 06:00:00"));
    assert_rows(
        w.rows("SELECT path, batch, loaded_at FROM etl_file_ledger"),
        &[
            "arrivals/2024-03-01T0600.jsonl | 1 | 2024-03-01 06:00:00",
            "ports/2024-03-01.csv | 2 | 2024-03-01 06:00:00",
            "seizures/2024-03-01T0600.csv | 3 | 2024-03-01 06:00:00",
            "arrivals/2024-03-02T0600.jsonl | 4 | 2024-03-01 12:15:00",
            "ports/2024-03-02.csv | 5 | 2024-03-01 12:15:00",
            "seizures/2024-03-02T0600.csv | 6 | 2024-03-01 12:15:00",
            "seizures/2024-03-03T0600.csv | 7 | 2024-03-02 00:15:00",
            "seizures/2024-03-04T0600.csv | 8 | 2024-03-03 00:15:00",
        ],
    );
    // Refreshed once per run that loaded something.
    assert_eq!(lander.runs.iter().filter(|r| r.refresh.is_some()).count(), 4);
    assert_rows(
        w.rows("SELECT seizure_id, line_item FROM cur_seizures"),
        &["S1 | 1", "S11 | 1", "S2 | 1", "S3 | 1", "S5 | 1"],
    );
}

/// `status`: last loads against the schedules' lateness thresholds.
fn status_says_what_is_late(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("1-inserts");
    w.run("2024-03-01 06:00");
    let status = |w: &mut Warehouse, now: &str| -> Vec<String> {
        etl::status(w.db.as_mut(), &w.generated, time(now))
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|s| {
                format!(
                    "{} | {} | {:?} | {} | {} | {}",
                    s.source,
                    s.last_load.as_deref().unwrap_or("never"),
                    s.late_after_minutes,
                    if s.late { "late" } else { "on time" },
                    s.files_loaded,
                    s.rows_loaded
                )
            })
            .collect()
    };
    assert_eq!(
        status(&mut w, "2024-03-01 06:30"),
        [
            "arrivals | 2024-03-01 06:00:00 | 120 | on time | 1 | 2",
            "inspections | never | 2880 | late | 0 | 0",
            "ports | 2024-03-01 06:00:00 | 2880 | on time | 1 | 4",
            "seizures | 2024-03-01 06:00:00 | 30 | on time | 1 | 5",
        ]
    );
    assert_eq!(
        status(&mut w, "2024-03-01 06:31"),
        [
            "arrivals | 2024-03-01 06:00:00 | 120 | on time | 1 | 2",
            "inspections | never | 2880 | late | 0 | 0",
            "ports | 2024-03-01 06:00:00 | 2880 | on time | 1 | 4",
            "seizures | 2024-03-01 06:00:00 | 30 | late | 1 | 5",
        ]
    );
}

/// The ETL refuses a database without the schema, or with migrations pending.
fn an_unmigrated_database_is_refused(engine: &Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = compile(&read_tree(&fixture().join("project")), &BTreeMap::new());
    write_tree(dir.path(), &files);
    let mut db = engine.open();
    let generated = Generated::load(dir.path(), db.dialect()).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        landing: dir.path().to_path_buf(),
        now: time("2024-03-01"),
        sources: Vec::new(),
        fault: None,
    };
    let error =
        etl::run_once(db.as_mut(), &generated, &options, &mut Quiet).expect_err("no schema");
    assert_eq!(error.code, codes::NOT_MIGRATED, "{error}");
    assert_eq!(error.help.as_deref(), Some("apply the migrations first: `tally migrate`"));
}

on_both_engines!(
    three_batches_and_bad_rows,
    a_rerun_loads_nothing,
    a_changed_file_is_refused,
    a_malformed_file_stays_unloaded_and_holds_back_later_files,
    sources_load_on_their_schedule,
    a_simulated_week,
    status_says_what_is_late,
    an_unmigrated_database_is_refused,
);
