//! Percentiles and medians as a user sees them, through the real binary on both engines, over
//! a dozen waits worked out by hand. The refresh is 2024-03-15 at noon.
//!
//! Ports A and B report to office E, C and D to office W. Minutes waited:
//!
//! | wait | at                  | port | minutes |
//! |------|---------------------|------|---------|
//! | F1   | 2024-02-10 09:00    | A    | 50      |
//! | F2   | 2024-02-20 09:00    | A    | 60      |
//! | M1-4 | 2024-03-01 to 03-04 | A    | 10, 20, 30, 40 |
//! | M5   | 2024-03-05 09:00    | B    | 100     |
//! | M6-8 | 2024-03-06 to 03-08 | C    | none, none, 70 |
//! | M9   | 2024-03-09 09:00    | D    | none    |
//!
//! The traps: each cell's percentile comes from its own rows, never from its parts (March
//! nationally is the median of 10, 20, 30, 40, 70, 100, which is 35, not the median nor the
//! mean of the ports' medians 25, 100, 70); a continuous percentile interpolates (A's March
//! median is 25) where a discrete one is a value of the data (20); a port whose rows have no
//! value (D) has no value, not 0; suppression counts the rows with a value (C has three rows
//! but one value); a to-date comparison is the percentile of the earlier rows up to the same
//! point (February to the 15th at noon: F1 alone, 50), not of the whole earlier month (55);
//! a window is the percentile of the window's rows.

mod common;

use common::cli::{succeeded, tally, temp_project, Engine, Setup};
use serde_json::Value;

const PROJECT: &str = r#"
calendar time {
  fiscal_year_start october 1
  week_start monday
  grains day, month, fiscal_year
  timezone "UTC"
}

source ports {
  title "Ports"
  refresh daily
  landing "ports/*.csv" as csv
  load snapshot
  key port_code
  columns {
    port_code string
    office    string not null
  }
}

dimension location {
  from ports
  level national
  level office key office
  level port key port_code
  hierarchy national > office > port
}

source waits {
  title "Waits"
  refresh daily
  landing "waits/*.csv" as csv
  load append
  key wait_id
  columns {
    wait_id    string
    arrived_at timestamp not null
    port_code  string not null -> location.port
    minutes    int
  }
}

metric median_wait {
  measure median(waits.minutes)
  unit minutes
  time waits.arrived_at
  compare previous month to date
}

metric p90_wait {
  measure percentile(waits.minutes, 90%)
  unit minutes
  time waits.arrived_at
}

metric median_wait_disc {
  measure percentile_disc(waits.minutes, 0.5)
  unit minutes
  time waits.arrived_at
}

metric median_wait_fytd {
  measure median(waits.minutes)
  time waits.arrived_at
  window to date fiscal_year
}

/// How far the slowest tenth waits beyond the median.
metric wait_spread = p90_wait - median_wait

mart waits_mart {
  title "Waits"
  kind dashboard
  metrics median_wait, p90_wait, median_wait_disc, median_wait_fytd, wait_spread
  dimensions location, time
  grain day
}

role analyst {
  title "Analyst"
  marts waits_mart
  scope national
  min_cell_size 1
}

role careful {
  title "Careful"
  marts waits_mart
  scope national
  min_cell_size 2
}
"#;

/// An approximate median, published in a mart of its own.
const APPROXIMATE: &str = r#"
metric approx_median_wait {
  measure approx_median(waits.minutes)
  unit minutes
  time waits.arrived_at
}

mart approx_mart {
  title "Approximate waits"
  kind dashboard
  metrics approx_median_wait
  dimensions location, time
  grain day
}

role approx_analyst {
  title "Approximations"
  marts approx_mart
  scope national
  min_cell_size 1
}
"#;

const PORTS: &str = "port_code,office\nA,E\nB,E\nC,W\nD,W\n";

const WAITS: &str = "wait_id,arrived_at,port_code,minutes
F1,2024-02-10 09:00:00,A,50
F2,2024-02-20 09:00:00,A,60
M1,2024-03-01 09:00:00,A,10
M2,2024-03-02 09:00:00,A,20
M3,2024-03-03 09:00:00,A,30
M4,2024-03-04 09:00:00,A,40
M5,2024-03-05 09:00:00,B,100
M6,2024-03-06 09:00:00,C,
M7,2024-03-07 09:00:00,C,
M8,2024-03-08 09:00:00,C,70
M9,2024-03-09 09:00:00,D,
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The percentile scenario's warehouse.
fn setup(engine: Engine, text: &str, label: &str) -> Setup {
    Setup::new(engine, text, &[("ports", "ports.csv", PORTS), ("waits", "w1.csv", WAITS)], label)
}

/// The rows of `metric` by port (with the office and national totals) at `grain`.
fn query(setup: &Setup, metric: &str, user: &str, grain: &str) -> Vec<Value> {
    let args = [
        "query",
        metric,
        "--as",
        user,
        "--grain",
        grain,
        "--by",
        "location.port",
        "--from",
        "2023-10-01",
        "--to",
        "2024-04-01",
        "--format",
        "json",
        "--now",
        "2024-03-15",
    ];
    let answer = json(&succeeded(&setup.command(&args)));
    answer["rows"].as_array().expect("rows").clone()
}

/// The row of `period` (`YYYY-MM-DD`) at `office`/`port` (`None`: the total over it).
fn row(rows: &[Value], period: &str, office: Option<&str>, port: Option<&str>) -> Option<Value> {
    let member = |r: &Value, column: &str, want: Option<&str>| match want {
        Some(w) => r[column].as_str() == Some(w),
        None => r[column].is_null() || r[column].as_str() == Some("(all)"),
    };
    rows.iter()
        .find(|r| {
            r["period_start"].as_str().is_some_and(|p| p.starts_with(period))
                && member(r, "office", office)
                && member(r, "port", port)
        })
        .cloned()
}

fn value(rows: &[Value], period: &str, office: Option<&str>, port: Option<&str>) -> Option<f64> {
    row(rows, period, office, port).and_then(|r| r["value"].as_f64())
}

/// A metric, a period, an office and a port (`None`: the total over it), and the value there
/// (`None`: no value).
type Expected<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<f64>);

fn scenario(engine: Engine) {
    let s = setup(engine, PROJECT, "percentile");
    succeeded(&s.run("2024-03-15 12:00:00"));
    for (user, role) in [("ana", "analyst"), ("cal", "careful")] {
        succeeded(&s.command(&["user", "add", user, "--role", role, "--now", "2024-03-15"]));
    }
    let m = "2024-03-01";
    let f = "2024-02-01";
    // (metric, period, office, port, value): `None` for no value.
    let expected: &[Expected] = &[
        // Medians: each cell from its own rows. March nationally: 10 20 30 40 70 100 → 35.
        ("median_wait", m, None, None, Some(35.0)),
        ("median_wait", m, Some("E"), None, Some(30.0)),
        ("median_wait", m, Some("E"), Some("A"), Some(25.0)),
        ("median_wait", m, Some("E"), Some("B"), Some(100.0)),
        ("median_wait", m, Some("W"), None, Some(70.0)),
        ("median_wait", m, Some("W"), Some("C"), Some(70.0)),
        // D's only row has no value: no median, not 0.
        ("median_wait", m, Some("W"), Some("D"), None),
        ("median_wait", f, Some("E"), Some("A"), Some(55.0)),
        // The 90th percentile interpolates: A in March at 0.9 × 3 = 2.7 → 30 + 0.7 × 10.
        ("p90_wait", m, Some("E"), Some("A"), Some(37.0)),
        // E in March: 10 20 30 40 100 at 3.6 → 40 + 0.6 × 60; nationally at 4.5 → 70 + 15.
        ("p90_wait", m, Some("E"), None, Some(76.0)),
        ("p90_wait", m, None, None, Some(85.0)),
        ("p90_wait", f, None, None, Some(59.0)),
        // Discrete: the first value whose share of the values reaches a half.
        ("median_wait_disc", m, Some("E"), Some("A"), Some(20.0)),
        ("median_wait_disc", m, None, None, Some(30.0)),
        ("median_wait_disc", f, None, None, Some(50.0)),
        // A window's percentile is over the window's rows: the fiscal year to March's end at
        // A is 10 20 30 40 50 60 → 35; nationally 10 20 30 40 50 60 70 100 → 45.
        ("median_wait_fytd", m, Some("E"), Some("A"), Some(35.0)),
        ("median_wait_fytd", m, None, None, Some(45.0)),
        ("median_wait_fytd", f, None, None, Some(55.0)),
        // A derived metric over percentiles, cell by cell: 37 - 25 at A, 85 - 35 nationally;
        // D has neither input, so no value.
        ("wait_spread", m, Some("E"), Some("A"), Some(12.0)),
        ("wait_spread", m, None, None, Some(50.0)),
        ("wait_spread", m, Some("W"), Some("D"), None),
    ];
    for (metric, period, office, port, want) in expected {
        let rows = query(&s, metric, "ana", "month");
        let got = value(&rows, period, *office, *port);
        match (got, want) {
            (Some(g), Some(w)) => {
                assert!((g - w).abs() < 1e-6, "{metric} {period} {office:?} {port:?}: {g} ≠ {w}")
            }
            (None, None) => {}
            _ => panic!("{metric} {period} {office:?} {port:?}: {got:?}, expected {want:?}"),
        }
    }

    // A to-date comparison: March to the 15th at noon against February to the 15th at noon
    // (F1 alone, 50), not the whole of February (55).
    let rows = query(&s, "median_wait", "ana", "month");
    let a = row(&rows, m, Some("E"), Some("A")).expect("A in March");
    assert_eq!((num(&a["value"]), num(&a["previous"])), (25.0, 50.0), "{a}");
    let b = row(&rows, m, Some("E"), Some("B")).expect("B in March");
    assert!(b["previous"].is_null(), "B had no wait in February: {b}");

    // Suppression counts the rows with a value: under a minimum of 2, B (one row) and C
    // (three rows, one value) are hidden, A (four values) is not.
    let rows = query(&s, "median_wait", "cal", "month");
    for port in ["B", "C"] {
        let r = row(&rows, m, None, Some(port))
            .or_else(|| {
                rows.iter()
                    .find(|r| {
                        r["port"] == port
                            && r["period_start"].as_str().is_some_and(|p| p.starts_with(m))
                    })
                    .cloned()
            })
            .expect("a row for the port");
        assert_eq!(r["suppressed"], Value::Bool(true), "{port}: {r}");
        assert!(r["value"].is_null(), "{port}: {r}");
    }
    let a = row(&rows, m, Some("E"), Some("A")).expect("A");
    assert_eq!(num(&a["value"]), 25.0, "{a}");
}

#[test]
fn percentiles_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn percentiles_on_postgres() {
    scenario(Engine::Postgres);
}

/// Asked for, an approximate median is computed where the engine has one (DuckDB's t-digest;
/// over a handful of values it meets the exact one).
#[test]
fn an_approximate_median_on_duckdb() {
    let s = setup(Engine::DuckDb, &format!("{PROJECT}{APPROXIMATE}"), "approx");
    succeeded(&s.run("2024-03-15 12:00:00"));
    succeeded(&s.command(&[
        "user",
        "add",
        "ada",
        "--role",
        "approx_analyst",
        "--now",
        "2024-03-15",
    ]));
    let rows = query(&s, "approx_median_wait", "ada", "month");
    let national = value(&rows, "2024-03-01", None, None).expect("a national value");
    assert!((national - 35.0).abs() < 1e-6, "{national}");
}

/// PostgreSQL has no approximate percentile: a project that runs on it is refused at
/// `tally check`, and a DuckDB project's artifacts refuse to refresh the metric there, rather
/// than computing it exactly under an approximate name.
#[test]
fn an_approximate_median_is_refused_on_postgres() {
    let project = temp_project(&[("main.tally", &format!("{PROJECT}{APPROXIMATE}"))]);
    std::fs::write(project.path().join("tally.yaml"), "name: cli_test\ndialect: postgres\n")
        .expect("tally.yaml");
    let output = tally().arg("check").arg(project.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let err = common::cli::stderr(&output);
    assert!(err.contains("T0316") && err.contains("approx_median"), "{err}");
    assert!(err.contains("use the exact `median`"), "{err}");

    // `tally run` reports each step on stdout, the refresh's refusal among them.
    let s = setup(Engine::Postgres, &format!("{PROJECT}{APPROXIMATE}"), "approx");
    let output = s.run("2024-03-15 12:00:00");
    assert_eq!(output.status.code(), Some(1));
    let report = common::cli::stdout(&output);
    assert!(report.contains("error[R0105]") && report.contains("`approx_median_wait`"), "{report}");
    assert!(report.contains("help: use the exact `median`"), "{report}");
}
