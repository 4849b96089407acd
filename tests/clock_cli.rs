//! A metric that depends on the clock (`age(...)`) is refreshed by every `tally run`, new data or
//! not, and says as of when, through the real binary on both engines: three days after the
//! last file, with nothing new landed, cases awaiting approval have all aged past 72 hours.
//! And `tally retain` refreshes what it changed: once the cases leave the live table, the
//! count of cases held follows at once, while the published ages stay (published history).

mod common;

use common::cli::{compile, succeeded, tally, temp_project, Engine, Warehouse};
use serde_json::Value;
use std::fmt::Write as _;

const PROJECT: &str = r#"
calendar time {
  grains day, month
  timezone "UTC"
}

source cases {
  title "Case system"
  refresh daily at 06:00
  landing "cases/*.csv" as csv
  load cdc delete_marker is_deleted
  key case_id
  retain 60 days by opened_at
  columns {
    case_id     string
    opened_at   timestamp not null
    approved_at timestamp
    is_deleted  bool not null default false
  }
}

metric waiting_by_age {
  title "Cases awaiting approval, by age"
  measure count(*) where cases.approved_at is null
  time cases.opened_at
  buckets age(cases.opened_at) [24 hours, 72 hours]
}

/// Not placed in time: the cases the warehouse holds.
metric cases_held {
  title "Cases held"
  measure count(cases.case_id)
}

mart backlog {
  title "Cases"
  kind dashboard
  metrics waiting_by_age, cases_held
  dimensions time
  grain day
}

role analyst {
  title "Analyst"
  marts backlog
  scope national
  min_cell_size 3
}
"#;

/// Three cases awaiting approval opened 6, 30 and 108 hours before noon on 2024-03-10, three
/// of each; one more approved.
fn landing_file() -> String {
    let mut csv = String::from("case_id,opened_at,approved_at,is_deleted\n");
    let mut n = 0;
    for opened in ["2024-03-10 06:00:00", "2024-03-09 06:00:00", "2024-03-06 00:00:00"] {
        for _ in 0..3 {
            n += 1;
            let _ = writeln!(csv, "K{n},{opened},,");
        }
    }
    let _ = writeln!(csv, "K{},2024-03-06 00:00:00,2024-03-07 00:00:00,", n + 1);
    csv
}

/// The JSON answer's cases by bucket, over all days.
fn by_bucket(answer: &Value) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for row in answer["rows"].as_array().expect("rows") {
        let bucket = row["bucket"].as_str().expect("bucket").to_owned();
        let value = row["value"].as_f64().unwrap_or_else(|| panic!("hidden: {row}"));
        match out.iter_mut().find(|(b, _)| *b == bucket) {
            Some((_, total)) => *total += value,
            None => out.push((bucket, value)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn scenario(engine: Engine) {
    let project = temp_project(&[("main.tally", PROJECT)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile(project.path().to_str().expect("UTF-8 path"), dir.path());
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(landing.join("cases")).expect("landing");
    std::fs::write(landing.join("cases/cases_1.csv"), landing_file()).expect("write");
    let warehouse = Warehouse::new(engine, dir.path(), "clock");
    let db = warehouse.target.as_str();
    let run = |args: &[&str]| {
        let output = tally()
            .args(args)
            .args(["--db", db, "--generated"])
            .arg(&generated)
            .output()
            .expect("runs");
        succeeded(&output)
    };
    let landing = landing.to_str().expect("UTF-8");
    run(&["migrate"]);
    run(&["run", "--once", "--landing", landing, "--now", "2024-03-10 12:00:00"]);
    run(&["user", "add", "ana", "--role", "analyst", "--now", "2024-03-10"]);
    let query = |now: &str, format: &str| {
        run(&["query", "waiting_by_age", "--as", "ana", "--format", format, "--now", now])
    };
    let json = |text: String| -> Value {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };

    let first = json(query("2024-03-10 12:00:00", "json"));
    assert_eq!(first["as_of"], "2024-03-10 12:00:00", "{first}");
    assert_eq!(
        by_bucket(&first),
        [
            ("24 hours to under 72 hours".to_owned(), 3.0),
            ("72 hours and over".to_owned(), 3.0),
            ("under 24 hours".to_owned(), 3.0)
        ]
    );

    // Three days on, no new file: the run refreshes the metric as of its `now`.
    let report = run(&["run", "--once", "--landing", landing, "--now", "2024-03-13 12:00:00"]);
    assert!(report.contains("refreshed 1 metric"), "the run refreshed nothing:\n{report}");
    let later = json(query("2024-03-13 12:00:00", "json"));
    assert_eq!(later["as_of"], "2024-03-13 12:00:00", "{later}");
    assert_eq!(by_bucket(&later), [("72 hours and over".to_owned(), 9.0)]);

    // Every format says as of when.
    let table = query("2024-03-13 12:00:00", "table");
    assert!(
        table.contains("as of 2024-03-13 12:00:00 (the values depend on the clock)"),
        "{table}"
    );
    let csv = query("2024-03-13 12:00:00", "csv");
    assert!(csv.lines().any(|l| l == "# as of: 2024-03-13 12:00:00"), "{csv}");

    // A run at the same instant has nothing to refresh.
    let again = run(&["run", "--once", "--landing", landing, "--now", "2024-03-13 12:00:00"]);
    assert!(again.contains("no metric to refresh"), "{again}");

    // `tally retain` two months on takes every case out of the live table (kept 60 days) and
    // refreshes at once: nothing is held any more, while the published ages stay as they were.
    let held = |now: &str| -> Vec<Value> {
        let text = run(&["query", "cases_held", "--as", "ana", "--format", "json", "--now", now]);
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        answer["rows"].as_array().expect("rows").iter().map(|r| r["value"].clone()).collect()
    };
    assert!(held("2024-03-13 12:00:00").iter().any(|v| v.as_f64() == Some(10.0)));
    let retained = run(&["retain", "--now", "2024-05-20 00:00:00"]);
    assert!(retained.contains("refreshed"), "{retained}");
    // Nothing is held: the count is 0 (shown, or hidden as a small cell), never the 10 of before.
    let now_held = held("2024-05-20 00:00:00");
    assert!(
        !now_held.is_empty() && now_held.iter().all(|v| v.is_null() || v.as_f64() == Some(0.0)),
        "{now_held:?}"
    );
    let kept = json(query("2024-05-20 00:00:00", "json"));
    assert_eq!(by_bucket(&kept), [("72 hours and over".to_owned(), 9.0)], "{kept}");
}

#[test]
fn clock_metrics_refresh_without_new_data_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn clock_metrics_refresh_without_new_data_on_postgres() {
    scenario(Engine::Postgres);
}
