//! The time constructs as a user sees them, through the real binary on both engines, over a
//! handful of visits worked out by hand. The run is on a leap day, 2024-02-29 at noon, so the
//! traps meet: a comparison `to date` moved back a year lands on 2023-02-28 (the month-end
//! rule), a week's moves back 364 days to the same weekday; calendar days count days without
//! rows and stop at the refresh day in a running period; windows (to date, last 7 days) end
//! where a cell's period ends or at the refresh; every answer marks running periods `partial`.
//!
//! Visits (FY2024 runs from 2023-10-01; FY2023 from 2022-10-01):
//!
//! | visit | at                  | shop | counted in                                        |
//! |-------|---------------------|------|---------------------------------------------------|
//! | V1    | 2023-02-10 09:00    | A    | FY2023 to date, Feb 2023 to date                  |
//! | V2    | 2023-02-28 11:00    | A    | FY2023 to date (an hour before the point)         |
//! | V3    | 2023-02-28 13:00    | B    | whole FY2023 and Feb 2023 only (an hour after)    |
//! | V4    | 2023-03-01 09:00    | A    | whole FY2023; week from 2023-02-27 to date        |
//! | V5    | 2023-03-03 10:00    | B    | whole FY2023; the whole week from 2023-02-27 only  |
//! | V6    | 2023-06-15 10:00    | B    | whole FY2023                                      |
//! | V7    | 2023-12-25 10:00    | B    | FY2024, December 2023 (one day of 31 with visits) |
//! | V8    | 2024-02-01 09:00    | A    | FY2024, Feb 2024                                  |
//! | V9    | 2024-02-29 10:00    | A    | FY2024, Feb 2024, the refresh day                 |
//! | V10   | 2024-02-29 11:00    | B    | FY2024, Feb 2024, the refresh day                 |
//!
//! The point of a `to date` comparison is the refresh moved back by the shift: 2023-02-28
//! 12:00 for fiscal years and months (February 29 has no day a year earlier: the month's
//! last), 2023-03-02 12:00 for weeks (364 days).

mod common;

use common::cli::{compile, succeeded, tally, temp_project, Engine, Warehouse};
use serde_json::Value;

const PROJECT: &str = r#"
calendar time {
  fiscal_year_start october 1
  week_start monday
  grains day, week, month, fiscal_year
  timezone "UTC"
}

source visits {
  title "Visits"
  refresh daily
  landing "visits/*.csv" as csv
  load append
  key visit_id
  retain 10 years by visited_at
  columns {
    visit_id   string
    visited_at timestamp not null
    shop       string not null
  }
}

metric visit_count {
  title "Visits"
  measure count(*)
  time visits.visited_at
}

/// Each period against the same span one fiscal year earlier.
metric visits_to_date {
  measure visit_count
  compare previous fiscal_year to date
}

/// Each period against the whole period one fiscal year earlier.
metric visits_whole {
  measure visit_count
  compare whole previous fiscal_year
}

metric visits_per_day = visit_count / calendar_days()

/// Fiscal year to date at every grain up to the fiscal year, against the previous fiscal year
/// to the same point.
metric visits_fytd {
  measure count(*)
  time visits.visited_at
  window to date fiscal_year
  compare previous fiscal_year to date
}

metric visits_mtd {
  measure count(*)
  time visits.visited_at
  window to date month
}

metric visits_last_7_days {
  measure count(*)
  time visits.visited_at
  window last 7 days
}

mart shops {
  title "Shops"
  kind dashboard
  metrics visit_count, visits_to_date, visits_whole, visits_per_day, visits_fytd, visits_mtd,
    visits_last_7_days
  dimensions visits.shop, time
  grain day
}

role analyst {
  title "Analyst"
  marts shops
  scope national
  min_cell_size 1
}
"#;

const VISITS: &str = "visit_id,visited_at,shop
V1,2023-02-10 09:00:00,A
V2,2023-02-28 11:00:00,A
V3,2023-02-28 13:00:00,B
V4,2023-03-01 09:00:00,A
V5,2023-03-03 10:00:00,B
V6,2023-06-15 10:00:00,B
V7,2023-12-25 10:00:00,B
V8,2024-02-01 09:00:00,A
V9,2024-02-29 10:00:00,A
V10,2024-02-29 11:00:00,B
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(actual: &Value, expected: f64) -> bool {
    (num(actual) - expected).abs() < 1e-6
}

fn scenario(engine: Engine) {
    let project = temp_project(&[("main.tally", PROJECT)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile(project.path().to_str().expect("UTF-8 path"), dir.path());
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(landing.join("visits")).expect("landing");
    std::fs::write(landing.join("visits/visits_1.csv"), VISITS).expect("write");
    let warehouse = Warehouse::new(engine, dir.path(), "time");
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
    run(&["migrate"]);
    let landing_text = landing.to_str().expect("UTF-8");
    run(&["run", "--once", "--landing", landing_text, "--now", "2024-02-29 12:00:00"]);
    run(&["user", "add", "ana", "--role", "analyst", "--now", "2024-02-29"]);
    // The national rows of `metric` at `grain`, by period start (`YYYY-MM-DD`).
    let query = |metric: &str, grain: &str, by_shop: bool| -> Vec<Value> {
        let mut args = vec!["query", metric, "--as", "ana", "--grain", grain];
        if by_shop {
            args.extend(["--by", "visits.shop"]);
        }
        args.extend(["--from", "2022-10-01", "--to", "2024-10-01", "--format", "json"]);
        args.extend(["--now", "2024-02-29"]);
        let answer = json(&run(&args));
        let columns: Vec<&str> = answer["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(columns.starts_with(&["metric", "period_start", "partial"]), "{columns:?}");
        answer["rows"].as_array().expect("rows").clone()
    };
    let at = |rows: &[Value], period: &str, shop: Option<&str>| -> Value {
        rows.iter()
            .find(|r| {
                r["period_start"].as_str().is_some_and(|p| p.starts_with(period))
                    && r.get("shop").and_then(Value::as_str) == shop
            })
            .unwrap_or_else(|| panic!("no row {period} {shop:?} in {rows:?}"))
            .clone()
    };

    // Partial periods: FY2024, February 2024, the week from 2024-02-26 and the refresh day run
    // past the refresh; FY2023, February 2023, the day before do not.
    for (grain, period, partial) in [
        ("fiscal_year", "2023-10-01", true),
        ("fiscal_year", "2022-10-01", false),
        ("month", "2024-02-01", true),
        ("month", "2023-02-01", false),
        ("week", "2024-02-26", true),
        ("day", "2024-02-29", true),
        ("day", "2024-02-01", false),
    ] {
        let row = at(&query("visit_count", grain, false), period, None);
        assert_eq!(row["partial"], Value::Bool(partial), "{grain} {period}: {row}");
    }

    // To date against whole. FY2024 (4 visits) against FY2023 up to 2023-02-28 12:00 (V1,
    // V2) or the whole of it (V1-V6).
    let to_date = query("visits_to_date", "fiscal_year", false);
    let whole = query("visits_whole", "fiscal_year", false);
    let fy = at(&to_date, "2023-10-01", None);
    assert_eq!((num(&fy["value"]), num(&fy["previous"]), num(&fy["change"])), (4.0, 2.0, 2.0));
    assert_eq!(num(&fy["change_percent"]), 100.0, "{fy}");
    let fy = at(&whole, "2023-10-01", None);
    assert_eq!((num(&fy["value"]), num(&fy["previous"]), num(&fy["change"])), (4.0, 6.0, -2.0));
    // FY2023 has no earlier year in the data: no previous value, not 0.
    assert!(at(&to_date, "2022-10-01", None)["previous"].is_null());
    // February 2024 (V8-V10) against February 2023 up to the 28th at noon (V1, V2), or the
    // whole of it (V1-V3): the leap day moves back to the last day of February.
    let feb = at(&query("visits_to_date", "month", false), "2024-02-01", None);
    assert_eq!((num(&feb["value"]), num(&feb["previous"])), (3.0, 2.0), "{feb}");
    let feb = at(&query("visits_whole", "month", false), "2024-02-01", None);
    assert_eq!((num(&feb["value"]), num(&feb["previous"])), (3.0, 3.0), "{feb}");
    // By shop: B had V3 an hour after the point, so February 2023 to date has no B row.
    let by_shop = query("visits_to_date", "month", true);
    let b = at(&by_shop, "2024-02-01", Some("B"));
    assert!(close(&b["value"], 1.0) && b["previous"].is_null(), "{b}");
    let a = at(&by_shop, "2024-02-01", Some("A"));
    assert_eq!((num(&a["value"]), num(&a["previous"])), (2.0, 2.0), "{a}");
    // Weeks look back 52 weeks to the same weekday: the week from Monday 2024-02-26 (V9,
    // V10) against the week from Monday 2023-02-27 up to 2023-03-02 12:00 (V2, V3, V4), or
    // the whole week (V2-V5).
    let week = at(&query("visits_to_date", "week", false), "2024-02-26", None);
    assert_eq!((num(&week["value"]), num(&week["previous"])), (2.0, 3.0), "{week}");
    let week = at(&query("visits_whole", "week", false), "2024-02-26", None);
    assert_eq!((num(&week["value"]), num(&week["previous"])), (2.0, 4.0), "{week}");
    // An ended period is set against the whole earlier one either way: December 2023 (V7)
    // against December 2022 (nothing).
    let december = at(&query("visits_to_date", "month", false), "2023-12-01", None);
    assert!(close(&december["value"], 1.0) && december["previous"].is_null(), "{december}");

    // Calendar days: every day of an ended period, days without visits included; a running
    // period's days through the refresh day.
    let per_day = |grain: &str, by_shop: bool| query("visits_per_day", grain, by_shop);
    for (grain, period, shop, expected) in [
        // February 2024 to date: 3 visits over 29 days.
        ("month", "2024-02-01", None, 3.0 / 29.0),
        // B in February 2024: one visit; the 28 days B had none count.
        ("month", "2024-02-01", Some("B"), 1.0 / 29.0),
        // February 2023 has ended: 3 visits over its 28 days.
        ("month", "2023-02-01", None, 3.0 / 28.0),
        // December 2023: one day with a visit of 31.
        ("month", "2023-12-01", None, 1.0 / 31.0),
        // FY2024 to date: 31 + 30 + 31 + 31 + 29 = 152 days.
        ("fiscal_year", "2023-10-01", None, 4.0 / 152.0),
        // FY2023, ended: 365 days.
        ("fiscal_year", "2022-10-01", None, 6.0 / 365.0),
        // The week from Monday 2024-02-26 to date: Monday to Thursday, 4 days.
        ("week", "2024-02-26", None, 2.0 / 4.0),
        // The refresh day itself: 1 day.
        ("day", "2024-02-29", None, 2.0),
    ] {
        let row = at(&per_day(grain, shop.is_some()), period, shop);
        assert!(close(&row["value"], expected), "{grain} {period} {shop:?}: {row}, {expected}");
    }

    // Windows: each cell's value is over the rows of the window that ends where its period
    // ends, or at the refresh while it runs. `Some(n)`: the national value; `None`: no row
    // (no visit in the window).
    let value = |metric: &str, grain: &str, period: &str| -> Option<f64> {
        query(metric, grain, false)
            .iter()
            .find(|r| r["period_start"].as_str().is_some_and(|p| p.starts_with(period)))
            .map(|r| num(&r["value"]))
    };
    for (metric, grain, period, expected) in [
        // FY2024 to date on the refresh day: V7-V10; the day before, a day without visits of
        // its own: V7, V8.
        ("visits_fytd", "day", "2024-02-29", Some(4.0)),
        ("visits_fytd", "day", "2024-02-28", Some(2.0)),
        // A day whose fiscal year to date holds no visit has no row.
        ("visits_fytd", "day", "2023-12-24", None),
        ("visits_fytd", "month", "2024-01-01", Some(1.0)),
        ("visits_fytd", "month", "2024-02-01", Some(4.0)),
        ("visits_fytd", "month", "2023-03-01", Some(5.0)),
        ("visits_fytd", "month", "2023-02-01", Some(3.0)),
        ("visits_fytd", "week", "2024-02-26", Some(4.0)),
        ("visits_fytd", "fiscal_year", "2022-10-01", Some(6.0)),
        // Month to date: V8-V10 on the refresh day, V8 on the 15th; the week running on the
        // refresh day ends at it, in February; no fiscal year rows (a month to date per
        // fiscal year would be its last month's).
        ("visits_mtd", "day", "2024-02-29", Some(3.0)),
        ("visits_mtd", "day", "2024-02-15", Some(1.0)),
        ("visits_mtd", "day", "2023-03-01", Some(1.0)),
        ("visits_mtd", "week", "2024-02-26", Some(3.0)),
        ("visits_mtd", "month", "2024-02-01", Some(3.0)),
        ("visits_mtd", "fiscal_year", "2023-10-01", None),
        // The last 7 days: from 2024-02-22 12:00 to the refresh (V9, V10); to the end of
        // 2024-02-07 (V8); of 2023-03-03 (V2-V5); of February 2023 (V2, V3); January 2024's
        // last 7 days had none.
        ("visits_last_7_days", "day", "2024-02-29", Some(2.0)),
        ("visits_last_7_days", "day", "2024-02-07", Some(1.0)),
        ("visits_last_7_days", "day", "2024-02-08", None),
        ("visits_last_7_days", "day", "2023-03-03", Some(4.0)),
        ("visits_last_7_days", "month", "2023-02-01", Some(2.0)),
        ("visits_last_7_days", "month", "2024-02-01", Some(2.0)),
        ("visits_last_7_days", "month", "2024-01-01", None),
    ] {
        let actual = value(metric, grain, period);
        assert_eq!(actual, expected, "{metric} {grain} {period}");
    }
    // A window compared to date: the earlier window ends at the same point, 2023-02-28 12:00
    // for February and the fiscal year (V1, V2; the published February 2023 value is 3), and
    // 2023-03-02 12:00 for the week (V1-V4).
    for (grain, period, previous) in [
        ("month", "2024-02-01", 2.0),
        ("fiscal_year", "2023-10-01", 2.0),
        ("week", "2024-02-26", 4.0),
    ] {
        let row = at(&query("visits_fytd", grain, false), period, None);
        assert!(close(&row["previous"], previous), "{grain} {period}: {row}");
    }
}

#[test]
fn time_constructs_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn time_constructs_on_postgres() {
    scenario(Engine::Postgres);
}
