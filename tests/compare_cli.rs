//! `compare whole previous <grain>` as a user sees it, through the real binary on both engines: every
//! compared row shows the previous period's value as published, the change and the change in
//! percent, in JSON, CSV and the table; a week is compared with the week 52 weeks earlier; and
//! a previous cell that is suppressed stays hidden (its value could otherwise be read off the
//! comparison).

mod common;

use common::cli::{compile, succeeded, tally, temp_project, Engine, Warehouse};
use serde_json::Value;
use std::fmt::Write as _;

const PROJECT: &str = r#"
calendar time {
  week_start monday
  grains day, week, month, year
  timezone "UTC"
}

source sales {
  title "Sales"
  refresh daily
  landing "sales/*.csv" as csv
  load append
  key sale_id
  retain 10 years by sold_at
  columns {
    sale_id string
    sold_at timestamp not null
    shop    string not null
  }
}

metric sales_count {
  title "Sales"
  measure count(*)
  time sales.sold_at
  compare whole previous year
}

mart shops {
  title "Shops"
  kind dashboard
  metrics sales_count
  dimensions sales.shop, time
  grain day
}

role analyst {
  title "Analyst"
  marts shops
  scope national
  min_cell_size 3
}
"#;

/// (shop, day, sales that day).
const SALES: &[(&str, &str, usize)] = &[
    // March 2023 and the week from Monday 2023-02-27: A 4, B 3.
    ("A", "2023-03-01", 4),
    ("B", "2023-03-02", 3),
    // March 2024 and the week from Monday 2024-02-26: A 6, B 5.
    ("A", "2024-02-29", 2),
    ("A", "2024-03-01", 4),
    ("B", "2024-03-01", 5),
    // April 2023: B has one sale (hidden), so A is hidden too (the total would give B away).
    ("A", "2023-04-10", 4),
    ("B", "2023-04-11", 1),
    // April 2024: both shown.
    ("A", "2024-04-10", 5),
    ("B", "2024-04-11", 5),
];

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn scenario(engine: Engine) {
    let project = temp_project(&[("main.tally", PROJECT)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile(project.path().to_str().expect("UTF-8 path"), dir.path());
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(landing.join("sales")).expect("landing");
    let mut csv = String::from("sale_id,sold_at,shop\n");
    let mut n = 0;
    for (shop, day, count) in SALES {
        for k in 0..*count {
            n += 1;
            let _ = writeln!(csv, "S{n},{day} {:02}:00:00,{shop}", 8 + k);
        }
    }
    std::fs::write(landing.join("sales/sales_1.csv"), csv).expect("write");
    let warehouse = Warehouse::new(engine, dir.path(), "compare");
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
    run(&["run", "--once", "--landing", landing_text, "--now", "2024-05-01 00:00:00"]);
    run(&["user", "add", "ana", "--role", "analyst", "--now", "2024-05-01"]);
    let query = |grain: &str, from: &str, to: &str, format: &str| {
        run(&[
            "query",
            "sales_count",
            "--as",
            "ana",
            "--by",
            "sales.shop",
            "--grain",
            grain,
            "--from",
            from,
            "--to",
            to,
            "--format",
            format,
            "--now",
            "2024-05-01",
        ])
    };

    let answer = json(&query("month", "2024-03-01", "2024-05-01", "json"));
    let columns: Vec<&str> =
        answer["columns"].as_array().expect("columns").iter().filter_map(Value::as_str).collect();
    assert!(columns.ends_with(&["value", "previous", "change", "change_percent"]), "{columns:?}");
    let row = |period: &str, shop: Option<&str>| {
        answer["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| {
                r["period_start"].as_str().is_some_and(|p| p.starts_with(period))
                    && r["shop"].as_str() == shop
            })
            .unwrap_or_else(|| panic!("no row {period} {shop:?} in {answer}"))
            .clone()
    };
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    // March: A 4 → 4 (the week-spanning sale of 02-29 is in February), B 3 → 5, total 7 → 9.
    let a = row("2024-03", Some("A"));
    assert_eq!((num(&a["value"]), num(&a["previous"]), num(&a["change"])), (4.0, 4.0, 0.0), "{a}");
    assert_eq!(num(&a["change_percent"]), 0.0, "{a}");
    let b = row("2024-03", Some("B"));
    assert_eq!((num(&b["value"]), num(&b["previous"]), num(&b["change"])), (5.0, 3.0, 2.0), "{b}");
    assert_eq!(num(&b["change_percent"]), 66.7, "{b}");
    let total = row("2024-03", None);
    assert_eq!((num(&total["value"]), num(&total["previous"])), (9.0, 7.0), "{total}");
    // April: the previous month's shops are hidden, so are their previous values and changes;
    // the total of April 2023 (5) is published.
    for shop in ["A", "B"] {
        let r = row("2024-04", Some(shop));
        assert!(r["value"].is_number() && r["previous"].is_null() && r["change"].is_null(), "{r}");
    }
    let total = row("2024-04", None);
    assert_eq!(
        (num(&total["value"]), num(&total["previous"]), num(&total["change"])),
        (10.0, 5.0, 5.0)
    );

    // The table marks the hidden previous values as it marks hidden values.
    let table = query("month", "2024-04-01", "2024-05-01", "table");
    assert!(table.contains("previous") && table.contains('*'), "{table}");
    let csv = query("month", "2024-03-01", "2024-04-01", "csv");
    assert!(
        csv.lines().next().is_some_and(|h| h.contains("previous,change,change_percent")),
        "{csv}"
    );

    // Weeks: the week from Monday 2024-02-26 (A 6, B 5) against the week from Monday
    // 2023-02-27, 52 weeks earlier (A 4, B 3).
    let weeks = json(&query("week", "2024-02-26", "2024-03-04", "json"));
    let total = weeks["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["shop"].is_null())
        .unwrap_or_else(|| panic!("{weeks}"))
        .clone();
    assert_eq!((num(&total["value"]), num(&total["previous"])), (11.0, 7.0), "{weeks}");
}

#[test]
fn comparisons_are_shown_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn comparisons_are_shown_on_postgres() {
    scenario(Engine::Postgres);
}
