//! `tally audit export` through the real binary, on both engines: the warehouse's own audit
//! trail lands as a source of the project, `tally run` loads it, and the project's metrics over
//! its audit log count the real trail (queries answered and refused, in the runtime's words).
//! A second export starts where the first ended; a source that cannot take the trail is
//! refused with R0455.

mod common;

use common::cli::{compile, refused, succeeded, tally, temp_project, Engine, Warehouse};
use serde_json::Value;
use std::path::Path;

const PROJECT: &str = r#"
calendar time {
  grains hour, day, month
  timezone "UTC"
}

/// This warehouse's audit trail, landed by `tally audit export`.
source trail {
  title "Audit trail"
  refresh every 15 minutes
  landing "audit/events_*.jsonl" as jsonl
  load append
  key (system, seq)
  retain 6 years by occurred_at
  columns {
    system      string not null default 'here'
    seq         int
    occurred_at timestamp not null
    action      string not null
    object      string
    outcome     enum(ok, refused, failed) not null
    actor       string not null pii(employee_id)
    parameters  string pii(free_text)
  }
}

/// A list landed as CSV: it cannot take the trail.
source visits {
  title "Visits"
  refresh daily
  landing "visits/*.csv" as csv
  load append
  key visit_id
  retain 6 years by visited_at
  columns {
    visit_id   string
    visited_at timestamp not null
  }
}

metric events {
  title "Audit events"
  measure count(*)
  time trail.occurred_at
}

metric refused_events {
  title "Refused requests"
  measure count(*) where trail.outcome = 'refused'
  time trail.occurred_at
}

mart security {
  title "Security"
  kind dashboard
  metrics events, refused_events
  dimensions trail.action, trail.outcome, time
  grain hour
}

role officer {
  title "Security officer"
  marts security
  scope national
  min_cell_size 1
}
"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

struct Scene<'a> {
    db: &'a str,
    generated: &'a Path,
    landing: &'a Path,
}

impl Scene<'_> {
    fn tally(&self, args: &[&str]) -> std::process::Output {
        tally()
            .args(args)
            .args(["--db", self.db, "--generated"])
            .arg(self.generated)
            .output()
            .expect("tally runs")
    }

    fn export(&self, source: &str, now: &str) -> std::process::Output {
        let mut args = vec!["audit", "export", "--source", source, "--landing"];
        let landing = self.landing.to_str().expect("UTF-8 path");
        args.extend([landing, "--now", now, "--format", "json", "--actor", "ops"]);
        self.tally(&args)
    }

    fn query(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["query", "--as", "officer_1"];
        all.extend_from_slice(args);
        self.tally(&all)
    }
}

fn scenario(engine: Engine) {
    let project = temp_project(&[("main.tally", PROJECT)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = compile(project.path().to_str().expect("UTF-8 path"), dir.path());
    let warehouse = Warehouse::new(engine, dir.path(), "audit_export");
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(&landing).expect("landing");
    let s = Scene { db: &warehouse.target, generated: &generated, landing: &landing };

    succeeded(&s.tally(&["migrate", "--actor", "ops"]));
    let now = "2024-03-01 10:00:00";
    succeeded(&s.tally(&["user", "add", "officer_1", "--role", "officer", "--now", now]));
    // One question answered, one refused (no such metric), one refused drill-down.
    succeeded(&s.query(&["events", "--now", now]));
    refused(&s.query(&["evnets", "--now", now]), "R0405");
    refused(&s.query(&["events", "--drill", "--now", now]), "R0410");

    let first = json(&succeeded(&s.export("trail", "2024-03-01 10:05:00")));
    assert_eq!(first["first_seq"], 1, "{first}");
    let (last, records) = (first["last_seq"].as_i64().expect("last"), first["records"].as_i64());
    assert_eq!(records, Some(last), "{first}");
    let file = landing.join(first["file"].as_str().expect("a file"));
    assert!(file.ends_with(format!("events_tally_000000000001_{last:012}.jsonl")), "{file:?}");
    let lines: Vec<Value> =
        std::fs::read_to_string(&file).expect("the exported file").lines().map(json).collect();
    assert_eq!(lines.len() as i64, last);
    // The trail's columns, none the source lacks; `system` is left to its default.
    assert!(lines.iter().all(|l| l.get("system").is_none() && l.get("hash").is_none()));
    let actions: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["action"].as_str().unwrap_or(""), l["outcome"].as_str().unwrap_or("")))
        .collect();
    for expected in [
        ("user.add", "ok"),
        ("query.metric", "ok"),
        ("query.metric", "refused"),
        ("query.drill", "refused"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(file.parent().expect("audit/"))
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let landing_text = landing.to_str().expect("UTF-8 path");
    succeeded(&s.tally(&[
        "run",
        "--once",
        "--landing",
        landing_text,
        "--now",
        "2024-03-01 10:10:00",
    ]));
    let answer = json(&succeeded(&s.query(&[
        "events",
        "--by",
        "trail.outcome",
        "--grain",
        "month",
        "--format",
        "json",
        "--now",
        "2024-03-01 10:15:00",
    ])));
    let rows = answer["rows"].as_array().expect("rows");
    // Summed over the months (`migrate` ran at the clock's time, the rest at `--now`).
    let value = |outcome: &str| -> f64 {
        rows.iter().filter(|r| r["outcome"] == outcome).filter_map(|r| r["value"].as_f64()).sum()
    };
    let refused_count = actions.iter().filter(|(_, o)| *o == "refused").count();
    assert_eq!(value("refused") as usize, refused_count, "{answer}");
    assert_eq!((value("ok") + value("refused")) as i64, last, "{answer}");

    // The next export starts after the last one, and includes that export's own record.
    let second = json(&succeeded(&s.export("trail", "2024-03-01 10:20:00")));
    assert_eq!(second["first_seq"].as_i64(), Some(last + 1), "{second}");
    let text = std::fs::read_to_string(landing.join(second["file"].as_str().expect("file")))
        .expect("second file");
    assert!(text.lines().map(json).any(|l| l["action"] == "audit.export"), "{text}");

    // Sources that cannot take the trail.
    let stderr = refused(&s.export("visits", "2024-03-01 10:25:00"), "R0455");
    assert!(stderr.contains("as jsonl"), "{stderr}");
    let stderr = refused(&s.export("trial", "2024-03-01 10:25:00"), "R0455");
    assert!(stderr.contains("did you mean `trail`?"), "{stderr}");
    assert!(succeeded(&s.tally(&["audit", "verify"])).is_empty(), "the trail is intact");
}

#[test]
fn the_trail_lands_and_is_counted_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn the_trail_lands_and_is_counted_on_postgres() {
    scenario(Engine::Postgres);
}
