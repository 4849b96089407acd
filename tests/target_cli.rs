//! Targets against actuals, through the real binary on both engines, over a handful of
//! missions and monthly targets worked out by hand. The refresh is 2024-03-15 at noon.
//!
//! Branch N flies assets N1 and N2, S flies S1, W flies W1. Hours flown and targets:
//!
//! | branch | January 2024      | February 2024       | March 2024 (running) |
//! |--------|-------------------|---------------------|----------------------|
//! | N      | 4 + 5 = 9 of 10   | 13 of 12            | 8 of 20              |
//! | S      | 5 of 5            | nothing flown, of 6 | no target, nothing   |
//! | W      | nothing           | 3, **no target**    | nothing              |
//!
//! The traps: a branch without a target has no comparison (W in February: no value, not 3 or
//! 300%), while a branch with a target and nothing flown is 0 of it (S in February: -6, 0%);
//! totals of targets are sums of the targets set (February nationally: 16 flown of 18); a
//! target set per month has no value per day, per week or per asset (refused, `R0427` and
//! `R0406`); a quarter is three whole months of targets.

mod common;

use common::cli::{succeeded, Engine, Setup};
use serde_json::Value;

const PROJECT: &str = r#"calendar time {
  fiscal_year_start october 1
  week_start monday
  grains day, week, month, quarter, fiscal_year
  timezone "UTC"
}

source assets {
  title "Assets"
  refresh daily
  landing "assets/*.csv" as csv
  load snapshot
  key asset_id
  columns {
    asset_id    string
    branch_code string not null
  }
}

dimension fleet {
  from assets
  level national
  level branch key branch_code
  level asset key asset_id
  hierarchy national > branch > asset
}

source missions {
  title "Missions"
  refresh daily
  landing "missions/*.csv" as csv
  load append
  key mission_id
  columns {
    mission_id string
    flown_on   date not null
    asset_id   string not null -> fleet.asset
    hours      decimal(6, 1) not null
  }
}

/// Hours each branch is to fly, per month.
source mission_targets {
  title "Mission targets"
  refresh daily
  landing "mission_targets/*.csv" as csv
  load snapshot
  key (branch_code, month_start)
  columns {
    branch_code string -> fleet.branch
    month_start date
    hours       decimal(6, 1) not null
  }
}

metric hours_flown {
  measure sum(missions.hours)
  unit hours
  time missions.flown_on
}

metric hours_target {
  measure sum(mission_targets.hours)
  unit hours
  time mission_targets.month_start
  target month
}

metric hours_vs_target = hours_flown - hours_target

metric hours_share_of_target {
  measure hours_flown / hours_target
  format percent
}

mart operations {
  title "Operations"
  kind dashboard
  metrics hours_flown, hours_target, hours_vs_target, hours_share_of_target
  dimensions fleet, time
  grain day
}

report hours_against_targets {
  title "Hours against targets by branch and month"
  mart operations
  metrics hours_flown, hours_target, hours_vs_target, hours_share_of_target
  by fleet.branch
  grain month
}

role analyst {
  title "Analyst"
  marts operations
  reports hours_against_targets
  scope national
  min_cell_size 1
}

role careful {
  title "Careful"
  marts operations
  scope national
  min_cell_size 3
}
"#;

const ASSETS: &str = "asset_id,branch_code\nN1,N\nN2,N\nS1,S\nW1,W\n";

const TARGETS: &str = "branch_code,month_start,hours
N,2024-01-01,10.0
N,2024-02-01,12.0
S,2024-01-01,5.0
S,2024-02-01,6.0
N,2024-03-01,20.0
";

const MISSIONS: &str = "mission_id,flown_on,asset_id,hours
M1,2024-01-05,N1,4.0
M2,2024-01-20,N2,5.0
M3,2024-02-10,N1,13.0
M4,2024-01-15,S1,5.0
M5,2024-02-03,W1,3.0
M6,2024-03-02,N1,8.0
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn scenario(engine: Engine) {
    let setup = Setup::new(
        engine,
        PROJECT,
        &[
            ("assets", "1.csv", ASSETS),
            ("mission_targets", "1.csv", TARGETS),
            ("missions", "1.csv", MISSIONS),
        ],
        "targets",
    );
    succeeded(&setup.run("2024-03-15 12:00:00"));
    let command = |args: &[&str]| setup.command(args);
    succeeded(&command(&["user", "add", "ana", "--role", "analyst", "--now", "2024-03-15"]));
    let query = |extra: &[&str]| -> std::process::Output {
        let mut args = vec!["query"];
        args.extend(extra);
        args.extend(["--as", "ana", "--now", "2024-03-15", "--format", "json"]);
        args.extend(["--from", "2023-10-01", "--to", "2024-04-01"]);
        command(&args)
    };
    // The value of `metric` by branch (`None`: the national total) for a period.
    let value = |metric: &str, grain: &str, period: &str, branch: Option<&str>| -> Option<f64> {
        let answer = json(&succeeded(&query(&[metric, "--grain", grain, "--by", "fleet.branch"])));
        let rows = answer["rows"].as_array().expect("rows").clone();
        let row = rows
            .iter()
            .find(|r| {
                r["period_start"].as_str().is_some_and(|p| p.starts_with(period))
                    && match branch {
                        Some(b) => r["branch"].as_str() == Some(b),
                        None => r["branch"].is_null() || r["branch"].as_str() == Some("(all)"),
                    }
            })
            .unwrap_or_else(|| panic!("no row {metric} {grain} {period} {branch:?}: {rows:?}"));
        row["value"].as_f64()
    };
    let (jan, feb, mar) = ("2024-01-01", "2024-02-01", "2024-03-01");
    for (metric, grain, period, branch, want) in [
        ("hours_flown", "month", feb, Some("W"), Some(3.0)),
        ("hours_target", "month", jan, None, Some(15.0)),
        ("hours_target", "month", feb, None, Some(18.0)),
        ("hours_target", "month", feb, Some("S"), Some(6.0)),
        // Actual minus target.
        ("hours_vs_target", "month", jan, Some("N"), Some(-1.0)),
        ("hours_vs_target", "month", feb, Some("N"), Some(1.0)),
        ("hours_vs_target", "month", feb, Some("S"), Some(-6.0)),
        ("hours_vs_target", "month", feb, Some("W"), None),
        ("hours_vs_target", "month", feb, None, Some(-2.0)),
        ("hours_vs_target", "month", mar, Some("N"), Some(-12.0)),
        // The share of the target.
        ("hours_share_of_target", "month", jan, None, Some(14.0 / 15.0)),
        ("hours_share_of_target", "month", feb, Some("N"), Some(13.0 / 12.0)),
        ("hours_share_of_target", "month", feb, Some("S"), Some(0.0)),
        ("hours_share_of_target", "month", feb, Some("W"), None),
        ("hours_share_of_target", "month", mar, None, Some(0.4)),
        // Coarser grains are whole months of targets: the first quarter and fiscal 2024 at N
        // are 30 flown of 42 set.
        ("hours_vs_target", "quarter", jan, Some("N"), Some(-12.0)),
        ("hours_vs_target", "fiscal_year", "2023-10-01", Some("N"), Some(-12.0)),
        ("hours_vs_target", "fiscal_year", "2023-10-01", None, Some(-15.0)),
    ] {
        let got = value(metric, grain, period, branch);
        match (got, want) {
            (Some(g), Some(w)) => {
                assert!((g - w).abs() < 1e-5, "{metric} {grain} {period} {branch:?}: {g} ≠ {w}")
            }
            (None, None) => {}
            _ => panic!("{metric} {grain} {period} {branch:?}: {got:?}, expected {want:?}"),
        }
    }

    // Finer than the target: by day or week refused with R0427, by asset with R0406; the
    // actuals alone are shown by asset.
    for (metric, grain) in [("hours_target", "day"), ("hours_vs_target", "week")] {
        let output = query(&[metric, "--grain", grain]);
        assert_eq!(output.status.code(), Some(1), "{metric} by {grain}");
        let err = common::cli::stderr(&output);
        assert!(err.contains("error[R0427]") && err.contains("--grain month"), "{err}");
    }
    let output = query(&["hours_share_of_target", "--grain", "month", "--by", "fleet.asset"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(common::cli::stderr(&output).contains("error[R0406]"));
    succeeded(&query(&["hours_flown", "--grain", "month", "--by", "fleet.asset"]));
    // Without --grain, a target is shown at the finest grain it has values at, not the mart's
    // default day.
    let answer = json(&succeeded(&query(&["hours_target"])));
    let rows = answer["rows"].as_array().expect("rows");
    assert!(rows.iter().all(|r| r["grain"].as_str().is_none_or(|g| g == "month")), "{answer}");
    assert_eq!(rows.len(), 3, "{answer}");

    // A target's rows are plans, not people: a branch-month target (one row) is shown under
    // a minimum cell size of 3, while the comparison counts the missions' rows: N in January
    // (two missions) is hidden, N in February (one mission) too.
    succeeded(&command(&["user", "add", "cal", "--role", "careful", "--now", "2024-03-15"]));
    let careful = |metric: &str| -> Vec<Value> {
        let args = ["query", metric, "--as", "cal", "--grain", "month", "--by", "fleet.branch"];
        let mut args = args.to_vec();
        args.extend(["--now", "2024-03-15", "--format", "json", "--from", "2024-01-01"]);
        let answer = json(&succeeded(&command(&args)));
        answer["rows"].as_array().expect("rows").clone()
    };
    let at = |rows: &[Value], period: &str, branch: &str| -> Value {
        rows.iter()
            .find(|r| {
                r["branch"] == branch
                    && r["period_start"].as_str().is_some_and(|p| p.starts_with(period))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {branch} {period}: {rows:?}"))
    };
    let targets = careful("hours_target");
    assert_eq!(at(&targets, jan, "N")["value"].as_f64(), Some(10.0));
    assert_eq!(at(&targets, feb, "S")["value"].as_f64(), Some(6.0));
    let versus = careful("hours_vs_target");
    for period in [jan, feb] {
        let n = at(&versus, period, "N");
        assert_eq!(n["suppressed"], Value::Bool(true), "{n}");
    }

    // The report: by branch and month, each metric beside the others.
    let answer = json(&succeeded(&query(&["--report", "hours_against_targets"])));
    let rows = answer["rows"].as_array().expect("rows");
    let w = rows
        .iter()
        .find(|r| {
            r["metric"] == "hours_share_of_target"
                && r["branch"] == "W"
                && r["period_start"].as_str().is_some_and(|p| p.starts_with(feb))
        })
        .unwrap_or_else(|| panic!("W in February: {answer}"));
    assert!(w["value"].is_null(), "{w}");
}

#[test]
fn targets_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn targets_on_postgres() {
    scenario(Engine::Postgres);
}
