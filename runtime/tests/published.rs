//! Published history follows the warehouse's records, not the source rows (`docs/runtime.md`,
//! Published history), on both engines: when rows leave a source by age, the cells of the
//! periods they were counted in stay as published; a period is final once its rows begin to
//! leave (a late row for it changes nothing published); and what retention takes out of the live tables
//! is refreshed at once, by `tally run` and by `tally retain`, for the metrics that are not
//! placed in time.

mod support;

use std::collections::BTreeMap;
use support::{compile, write_tree, Engine};
use tally_runtime::etl::{self, Quiet, RunOptions, RunReport};
use tally_runtime::generated::Generated;
use tally_runtime::{migrate, retain, Backend};
use tempfile::TempDir;

const PROJECT: &str = r#"
calendar time {
  grains month
  timezone "UTC"
}

/// The source system keeps a year of events.
source events {
  title "Event system"
  refresh daily at 06:00
  landing "events/*.csv" as csv
  load append
  key event_id
  retain 1 years by happened
  columns {
    event_id string
    happened date not null
  }
}

metric events_by_month {
  title "Events"
  measure count(*)
  time events.happened
}

/// The same count, published in a mart kept by the records schedule.
metric events_published {
  title "Events published"
  measure count(*)
  time events.happened
}

/// The warehouse's own records: two years live, three in all.
retention records {
  keep 2 years
  archive 3 years
}

mart history {
  title "History"
  kind subject_area
  metrics events_published
  dimensions time
  grain month
  retention records
}

/// Not placed in time: the events the warehouse holds now.
metric events_held {
  title "Events held"
  measure count(events.event_id)
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
            ("tally.yaml".to_owned(), "name: published\n".to_owned()),
            ("project.tally".to_owned(), PROJECT.to_owned()),
        ]);
        let generated_dir = dir.path().join("generated");
        write_tree(&generated_dir, &compile(&project, &BTreeMap::new()));
        let mut db = engine.open();
        let generated =
            Generated::load(&generated_dir, db.dialect()).unwrap_or_else(|e| panic!("{e}"));
        migrate::migrate(db.as_mut(), &generated.migrations, time("2023-01-01 00:00"), false)
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

    /// The monthly cells as `YYYY-MM: n`.
    fn months(&mut self) -> Vec<String> {
        let rows = self
            .db
            .query(
                "SELECT CAST(CAST(period_start AS DATE) AS VARCHAR) AS month, \
                 CAST(value AS BIGINT) AS n FROM agg_events_by_month \
                 WHERE grain = 'month' ORDER BY 1",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        rows.rows.iter().map(|r| format!("{}: {}", &r[0].to_string()[..7], r[1])).collect()
    }

    /// The mart's monthly cells, then its archive's, as `YYYY-MM: n`.
    fn mart(&mut self) -> (Vec<String>, Vec<String>) {
        let mut read = |table: &str| {
            let rows = self
                .db
                .query(&format!(
                    "SELECT CAST(CAST(period_start AS DATE) AS VARCHAR) AS month, \
                     CAST(value AS BIGINT) AS n FROM {table} WHERE grain = 'month' ORDER BY 1"
                ))
                .unwrap_or_else(|e| panic!("{e}"));
            rows.rows
                .iter()
                .map(|r| format!("{}: {}", &r[0].to_string()[..7], r[1]))
                .collect::<Vec<_>>()
        };
        (read("mart_history"), read("arc_mart_history"))
    }

    fn held(&mut self) -> i64 {
        let rows = self
            .db
            .query("SELECT CAST(value AS BIGINT) AS n FROM agg_events_held")
            .unwrap_or_else(|e| panic!("{e}"));
        rows.scalar().and_then(|v| v.as_i64()).unwrap_or(0)
    }
}

fn time(text: &str) -> chrono::NaiveDateTime {
    etl::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

fn history_outlives_the_source_rows(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land(
        "events/1.csv",
        "event_id,happened\nA1,2023-02-10\nA2,2023-02-11\nB1,2023-09-01\nB2,2023-09-02\nB3,2023-09-03\n",
    );
    w.run("2023-10-01 06:00");
    assert_eq!(w.months(), ["2023-02: 2", "2023-09: 3"]);
    assert_eq!(w.held(), 5);

    // A year and a half later the run's retention takes February's rows out of the live
    // table (older than a year), then refreshes: February stays published, the events held
    // drop to those still kept.
    w.land("events/2.csv", "event_id,happened\nC1,2024-03-05\n");
    let report = w.run("2024-03-20 06:00");
    assert!(report.retention.as_deref().is_some_and(|r| r.contains("events")), "{report}");
    assert_eq!(w.months(), ["2023-02: 2", "2023-09: 3", "2024-03: 1"]);
    assert_eq!(w.held(), 4, "February's two events left the live table:\n{report}");

    // `tally retain` half a year on takes September's rows: published history stays, and the
    // metric of what is held is refreshed at once.
    let retained = retain::retain(w.db.as_mut(), &w.generated.plan, time("2024-09-20 00:00"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retained.archived(), 3, "{retained}");
    let refreshed =
        etl::refresh_stale(w.db.as_mut(), &w.generated, time("2024-09-20 00:00"), &mut Quiet)
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("a refresh");
    assert!(refreshed.metrics.iter().any(|m| m == "events_held"), "{:?}", refreshed.metrics);
    assert_eq!(w.held(), 1);
    assert_eq!(w.months(), ["2023-02: 2", "2023-09: 3", "2024-03: 1"]);
    let published = ["2023-02: 2", "2023-09: 3", "2024-03: 1"].map(String::from).to_vec();
    assert_eq!(w.mart(), (published, Vec::new()));

    // The mart's records schedule: after two years a month's cells leave the mart for its
    // archive (and are never published again), after three they are purged.
    let retain_at = |w: &mut Warehouse, now: &str| {
        retain::retain(w.db.as_mut(), &w.generated.plan, time(now))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let retained = retain_at(&mut w, "2025-03-15 00:00");
    assert_eq!(retained.source("mart_history").map(|r| (r.archived, r.purged)), Some((1, 0)));
    w.run("2025-03-15 06:00");
    assert_eq!(
        w.mart(),
        (
            ["2023-09: 3", "2024-03: 1"].map(String::from).to_vec(),
            ["2023-02: 2"].map(String::from).to_vec()
        )
    );
    retain_at(&mut w, "2026-03-15 00:00");
    assert_eq!(w.mart(), (Vec::new(), ["2023-09: 3", "2024-03: 1"].map(String::from).to_vec()));
}

fn a_period_is_final_once_its_rows_begin_to_leave(engine: &Engine) {
    let mut w = Warehouse::new(engine);
    w.land("events/1.csv", "event_id,happened\nA1,2023-02-10\nA2,2023-02-11\nB1,2023-09-01\n");
    w.run("2023-10-01 06:00");
    assert_eq!(w.months(), ["2023-02: 2", "2023-09: 1"]);
    // On 2024-02-20 February 2023 has begun to leave (its 10th and 11th are past the year): a
    // late row of the 25th, still inside the year, is loaded but February stays as published.
    w.land("events/2.csv", "event_id,happened\nA3,2023-02-25\nB2,2023-09-02\n");
    w.run("2024-02-20 06:00");
    assert_eq!(w.months(), ["2023-02: 2", "2023-09: 2"]);
    assert_eq!(w.held(), 3, "A3, B1 and B2 are held");
}

on_both_engines!(history_outlives_the_source_rows, a_period_is_final_once_its_rows_begin_to_leave);
