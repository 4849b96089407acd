//! Shares of a total, through the real binary on both engines, over ten seizures of March
//! 2024 worked out by hand. Ports A and B report to office E, C to office W.
//!
//! | port | drug | cash | all |
//! |------|------|------|-----|
//! | A    | 3    | 1    | 4   |
//! | B    | 2    |      | 2   |
//! | C    |      | 4    | 4   |
//! | all  | 5    | 5    | 10  |
//!
//! The traps: the denominator is the total the definition names, whatever a query filters:
//! filtered to drugs, A's share of the national total *of drugs* is 3 of 5 (the kind is a
//! coordinate the total keeps), its share of everything 3 of 10 (the total leaves the kind out
//! by name); filtered to office E, A is still 4 of the nation's 10, and 4 of E's 6 only by the
//! office total; a `top 2` keeps A and C at 4 of 10 each, not 4 of the 8 the two hold.

mod common;

use common::cli::{succeeded, Engine, Setup};
use serde_json::Value;

const PROJECT: &str = r#"calendar time {
  fiscal_year_start october 1
  week_start monday
  grains day, month
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

source seizures {
  title "Seizures"
  refresh daily
  landing "seizures/*.csv" as csv
  load append
  key seizure_id
  columns {
    seizure_id string
    seized_on  date not null
    port_code  string not null -> location.port
    kind       enum(drug, cash) not null
  }
}

metric seizure_count {
  measure count(*)
  time seizures.seized_on
}

/// Each cell's share of the national total of its kind and month: a filter on the kind
/// applies to the total, one on the location does not.
metric share_of_national {
  measure seizure_count / total(seizure_count, location)
  format percent
}

/// Each cell's share of its office.
metric share_of_office {
  measure seizure_count / total(seizure_count, location.office)
  format percent
}

/// Each cell's share of every seizure of the month, whatever its kind.
metric share_of_everything {
  measure seizure_count / total(seizure_count, location, seizures.kind)
  format percent
}

/// The two ports with the largest shares, each of the whole national total.
metric top_port_shares {
  measure seizure_count / total(seizure_count, location)
  top 2 by location.port
  format percent
}

mart seizure_shares {
  title "Seizure shares"
  kind dashboard
  metrics seizure_count, share_of_national, share_of_office, share_of_everything, top_port_shares
  dimensions location, seizures.kind, time
  grain month
}

role analyst {
  title "Analyst"
  marts seizure_shares
  scope national
  min_cell_size 1
}
"#;

const PORTS: &str = "port_code,office\nA,E\nB,E\nC,W\n";

const SEIZURES: &str = "seizure_id,seized_on,port_code,kind
S1,2024-03-01,A,drug
S2,2024-03-02,A,drug
S3,2024-03-03,A,drug
S4,2024-03-04,A,cash
S5,2024-03-05,B,drug
S6,2024-03-06,B,drug
S7,2024-03-07,C,cash
S8,2024-03-08,C,cash
S9,2024-03-09,C,cash
S10,2024-03-10,C,cash
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn scenario(engine: Engine) {
    let setup = Setup::new(
        engine,
        PROJECT,
        &[("ports", "1.csv", PORTS), ("seizures", "1.csv", SEIZURES)],
        "shares",
    );
    succeeded(&setup.run("2024-03-15 12:00:00"));
    let command = |args: &[&str]| setup.command(args);
    succeeded(&command(&["user", "add", "ana", "--role", "analyst", "--now", "2024-03-15"]));
    // March's rows of `metric` by port, with `filters` (`--where`).
    let rows = |metric: &str, filters: &[&str]| -> Vec<Value> {
        let mut args = vec!["query", metric, "--by", "location.port", "--grain", "month"];
        for f in filters {
            args.extend(["--where", f]);
        }
        args.extend(["--as", "ana", "--now", "2024-03-15", "--format", "json"]);
        let answer = json(&succeeded(&command(&args)));
        answer["rows"].as_array().expect("rows").clone()
    };
    // The value at `office`/`port` (`None`: the total over it); `kind` when filtered by it.
    let value = |rows: &[Value], office: Option<&str>, port: Option<&str>| -> Option<f64> {
        let member = |r: &Value, column: &str, want: Option<&str>| match want {
            Some(w) => r[column].as_str() == Some(w),
            None => r[column].is_null() || r[column].as_str() == Some("(all)"),
        };
        rows.iter()
            .find(|r| member(r, "office", office) && member(r, "port", port))
            .and_then(|r| r["value"].as_f64())
    };
    let check = |metric: &str,
                 filters: &[&str],
                 expected: &[(Option<&str>, Option<&str>, Option<f64>)]| {
        let rows = rows(metric, filters);
        for (office, port, want) in expected {
            let got = value(&rows, *office, *port);
            match (got, want) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() < 1e-5,
                    "{metric} {filters:?} {office:?} {port:?}: {g} ≠ {w}"
                ),
                (None, None) => {}
                _ => panic!("{metric} {filters:?} {office:?} {port:?}: {got:?}, expected {want:?} in {rows:?}"),
            }
        }
    };
    let (e, w) = (Some("E"), Some("W"));
    // Of the national total: every port, office and the nation itself (1).
    check(
        "share_of_national",
        &[],
        &[
            (e, Some("A"), Some(0.4)),
            (e, Some("B"), Some(0.2)),
            (w, Some("C"), Some(0.4)),
            (e, None, Some(0.6)),
            (None, None, Some(1.0)),
        ],
    );
    // Filtered to office E, the denominator is still the nation's 10.
    check("share_of_national", &["location.office=E"], &[(e, Some("A"), Some(0.4))]);
    // Of the office: within E, A is 4 of 6; an office is all of itself.
    check(
        "share_of_office",
        &[],
        &[
            (e, Some("A"), Some(4.0 / 6.0)),
            (e, Some("B"), Some(2.0 / 6.0)),
            (w, Some("C"), Some(1.0)),
            (e, None, Some(1.0)),
        ],
    );
    // Filtered to drugs: the kind is kept by `total(seizure_count, location)`, so A is 3 of
    // the 5 drug seizures; `total(..., location, seizures.kind)` leaves it out: 3 of 10.
    check(
        "share_of_national",
        &["seizures.kind=drug"],
        &[(e, Some("A"), Some(0.6)), (e, Some("B"), Some(0.4))],
    );
    check(
        "share_of_everything",
        &["seizures.kind=drug"],
        &[(e, Some("A"), Some(0.3)), (e, Some("B"), Some(0.2)), (None, None, Some(0.5))],
    );
    // `top 2`: A and C, each 4 of the nation's 10 (not of the 8 the two hold); B is not kept.
    check(
        "top_port_shares",
        &[],
        &[(e, Some("A"), Some(0.4)), (w, Some("C"), Some(0.4)), (e, Some("B"), None)],
    );
}

#[test]
fn shares_on_duckdb() {
    scenario(Engine::DuckDb);
}

#[test]
fn shares_on_postgres() {
    scenario(Engine::Postgres);
}
