//! Deletions and corrections reach every load mode (`docs/language.md`, Load modes), on both
//! engines: an append source's rows never change, so a repeated key is rejected (counted, kept
//! in `etl_rejects` with the reason) unless a deletion of the key comes first; with a delete
//! marker, an append or incremental source deletes keys upstream deleted, and the deleted rows
//! go to the archive.

mod support;

use std::collections::BTreeMap;
use support::{compile, write_tree, Engine};
use tally_runtime::etl::{self, FileReport, Quiet, RunOptions, RunReport};
use tally_runtime::generated::Generated;
use tally_runtime::{migrate, Backend};
use tempfile::TempDir;

const PROJECT: &str = r#"
calendar time {
  grains day
  timezone "UTC"
}

/// Deleted rows wait in the archive.
retention records {
  follow source
  keep 7 years
  archive 40 years
}

/// Events that never change; a deletion record retracts one.
source events {
  title "Event system"
  refresh every 15 minutes
  landing "events/*.csv" as csv
  load append delete_marker retracted
  key event_id
  retention records
  columns {
    event_id  string
    happened  date not null
    amount    int
    retracted bool not null default false
  }
}

/// Events without a delete marker: nothing may change them.
source plain {
  title "Plain event system"
  refresh every 15 minutes
  landing "plain/*.csv" as csv
  load append
  key event_id
  retention records
  columns {
    event_id string
    amount   int
  }
}

/// Cases changed since the watermark; a deletion record removes one.
source cases {
  title "Case system"
  refresh every 15 minutes
  landing "cases/*.csv" as csv
  load incremental by updated_at delete_marker is_deleted
  key case_id
  retention records
  columns {
    case_id    string
    status     string
    updated_at timestamp not null
    is_deleted bool not null default false
  }
}

metric event_amount {
  title "Event amount"
  measure sum(events.amount)
  time events.happened
}
"#;

struct Warehouse {
    dir: TempDir,
    generated: Generated,
    db: Box<dyn Backend>,
}

impl Warehouse {
    fn new(engine: &Engine) -> Warehouse {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = BTreeMap::from([
            ("tally.yaml".to_owned(), "name: deletions\n".to_owned()),
            ("project.tally".to_owned(), PROJECT.to_owned()),
        ]);
        let generated_dir = dir.path().join("generated");
        write_tree(&generated_dir, &compile(&project, &BTreeMap::new()));
        let mut db = engine.open();
        let generated =
            Generated::load(&generated_dir, db.dialect()).unwrap_or_else(|e| panic!("{e}"));
        migrate::migrate(db.as_mut(), &generated.migrations, time("2024-03-01 00:00"), false)
            .unwrap_or_else(|e| panic!("{e}"));
        Warehouse { dir, generated, db }
    }

    fn land(&self, path: &str, text: &str) {
        write_tree(
            &self.dir.path().join("landing"),
            &BTreeMap::from([(path.to_owned(), text.to_owned())]),
        );
    }

    fn run(&mut self, now: &str) -> RunReport {
        let options = RunOptions {
            landing: self.dir.path().join("landing"),
            now: time(now),
            sources: Vec::new(),
            fault: None,
        };
        let report = etl::run_once(self.db.as_mut(), &self.generated, &options, &mut Quiet)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!report.failed(), "{report}");
        report
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
}

fn time(text: &str) -> chrono::NaiveDateTime {
    etl::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The counts of the one file `path` the run loaded: read, loaded, rejected, late.
fn counts(report: &RunReport, path: &str) -> (i64, i64, i64, i64) {
    let files: Vec<&FileReport> =
        report.sources.iter().flat_map(|s| &s.files).filter(|f| f.path == path).collect();
    let [f] = files.as_slice() else { panic!("{path} not loaded once: {report}") };
    (f.rows_read, f.rows_loaded, f.rows_rejected, f.rows_late)
}

fn append_deletions_and_corrections(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land(
        "events/1.csv",
        "event_id,happened,amount,retracted\nE1,2024-03-01,10,\nE2,2024-03-01,20,\nE3,2024-03-01,30,\n",
    );
    let first = w.run("2024-03-01 06:00");
    assert_eq!(counts(&first, "events/1.csv"), (3, 3, 0, 0));

    // E1 retracted; E2 sent again with a new amount and no retraction (refused: rows never
    // change); E3 retracted then corrected; E4 new, then repeated (refused); E5 new then
    // retracted in the same file (never loaded).
    w.land(
        "events/2.csv",
        "event_id,happened,amount,retracted\n\
         E1,2024-03-01,10,true\n\
         E2,2024-03-01,99,false\n\
         E3,2024-03-01,30,true\n\
         E3,2024-03-01,33,false\n\
         E4,2024-03-02,40,false\n\
         E4,2024-03-02,41,false\n\
         E5,2024-03-02,50,false\n\
         E5,2024-03-02,50,true\n",
    );
    let second = w.run("2024-03-02 06:00");
    assert_eq!(counts(&second, "events/2.csv"), (8, 6, 2, 0), "{second}");
    assert_eq!(
        w.rows("SELECT event_id, amount FROM cur_events"),
        ["E2 | 20", "E3 | 33", "E4 | 40"],
        "E1 deleted, E2 unchanged, E3 corrected, E4 as first sent, E5 never kept"
    );
    assert_eq!(
        w.rows("SELECT event_id, amount, _tally_archive_reason FROM arc_events"),
        ["E1 | 10 | deleted_upstream", "E3 | 30 | corrected_upstream"],
    );
    assert_eq!(
        w.rows("SELECT line, column_name, value, reason FROM etl_rejects WHERE source = 'events'"),
        [
            "3 | event_id | E2 | key already loaded: rows of an append source never change \
             (land a deletion of the key before its corrected row)",
            "7 | event_id | E4 | key already loaded: rows of an append source never change \
             (land a deletion of the key before its corrected row)",
        ]
    );
    // The metric follows: E2 20 + E3 33 on March 1, E4 40 on March 2.
    let cells = w.rows(
        "SELECT CAST(CAST(period_start AS DATE) AS VARCHAR), CAST(value AS BIGINT) \
         FROM agg_event_amount WHERE metric = 'event_amount' AND grain = 'day'",
    );
    assert_eq!(cells, ["2024-03-01 | 53", "2024-03-02 | 40"]);
}

fn append_without_marker_refuses_changes(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("plain/1.csv", "event_id,amount\nP1,1\nP2,2\nP2,3\n");
    let first = w.run("2024-03-01 06:00");
    assert_eq!(counts(&first, "plain/1.csv"), (3, 2, 1, 0));
    w.land("plain/2.csv", "event_id,amount\nP1,5\nP3,3\n");
    let second = w.run("2024-03-02 06:00");
    assert_eq!(counts(&second, "plain/2.csv"), (2, 1, 1, 0));
    assert_eq!(w.rows("SELECT event_id, amount FROM cur_plain"), ["P1 | 1", "P2 | 2", "P3 | 3"]);
    assert_eq!(
        w.rows("SELECT file, line, value, reason FROM etl_rejects WHERE source = 'plain'"),
        [
            "plain/1.csv | 4 | P2 | key already loaded: rows of an append source never change",
            "plain/2.csv | 2 | P1 | key already loaded: rows of an append source never change",
        ]
    );
}

fn incremental_deletions(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land(
        "cases/1.csv",
        "case_id,status,updated_at,is_deleted\n\
         C1,open,2024-03-01 05:00:00,\n\
         C2,open,2024-03-01 05:00:00,\n\
         C3,open,2024-03-01 05:00:00,\n",
    );
    w.run("2024-03-01 06:00");
    // C1 corrected, C2 deleted, C3 deleted and brought back within the file.
    w.land(
        "cases/2.csv",
        "case_id,status,updated_at,is_deleted\n\
         C1,closed,2024-03-02 05:00:00,false\n\
         C2,open,2024-03-02 05:00:00,true\n\
         C3,open,2024-03-02 05:00:00,true\n\
         C3,reopened,2024-03-02 05:30:00,false\n",
    );
    let report = w.run("2024-03-02 06:00");
    assert_eq!(counts(&report, "cases/2.csv"), (4, 4, 0, 0));
    assert_eq!(w.rows("SELECT case_id, status FROM cur_cases"), ["C1 | closed", "C3 | reopened"]);
    assert_eq!(
        w.rows("SELECT case_id, _tally_archive_reason FROM arc_cases"),
        ["C2 | deleted_upstream"]
    );
}

on_both_engines!(
    append_deletions_and_corrections,
    append_without_marker_refuses_changes,
    incremental_deletions,
);
