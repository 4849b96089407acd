//! `tally query` as a user runs it: the real binary on a DuckDB file and on a PostgreSQL
//! database. Besides the tour of `query_as_users`, one test per rule of what the definitions
//! say the runtime does: drill-down shows a mart's declared columns only, demographic
//! attributes group and filter as the plan says, the user names the mart that answers, and
//! refusals say why with suggestions valid for the user and metric. `generated/` comes from `tally compile tests/fixtures/query/project`, the data from
//! `tests/fixtures/query/landing` through `tally migrate` and `tally run`; users are rows put
//! into the policy tables directly.

mod common;

use common::cli::{compile, copy_tree, refused, succeeded, tally, Engine, Warehouse};
use common::root;
use std::process::Output;
use tempfile::TempDir;

/// A warehouse loaded through the CLI, with users.
struct Setup {
    dir: TempDir,
    warehouse: Warehouse,
}

impl Setup {
    fn new(engine: Engine) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let warehouse = Warehouse::new(engine, dir.path(), "query_cli");
        let db = warehouse.target.clone();
        let generated = compile("tests/fixtures/query/project", dir.path());
        let landing = dir.path().join("landing");
        copy_tree(&root().join("tests/fixtures/query/landing"), &landing);
        succeeded(
            &tally()
                .args(["migrate", "--db", &db, "--generated"])
                .arg(&generated)
                .output()
                .expect("runs"),
        );
        succeeded(
            &tally()
                .args(["run", "--db", &db, "--now", "2024-04-01 06:00", "--generated"])
                .arg(&generated)
                .arg("--landing")
                .arg(&landing)
                .output()
                .expect("runs"),
        );
        let setup = Setup { dir, warehouse };
        let mut conn = tally_runtime::backend::open(&db).unwrap_or_else(|e| panic!("{e}"));
        for (user, role, column, value) in [
            ("hq", "hq_analyst", "field_office", None),
            ("fo1", "field_office_director", "field_office", Some("F1")),
            ("analyst", "ad_hoc_analyst", "field_office", None),
            ("tsa", "component_user", "field_office", None),
            ("ov", "overview_analyst", "field_office", None),
            ("pov", "port_overview", "port", Some("P11")),
        ] {
            let value = value.map_or("NULL".to_string(), |v| format!("'{v}'"));
            for sql in [
                format!(
                    "INSERT INTO policy_user (user_id, {column}, created_at, last_active_at) VALUES ('{user}', {value}, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-03-31 00:00:00')"
                ),
                format!("INSERT INTO policy_user_role (user_id, role) VALUES ('{user}', '{role}')"),
            ] {
                conn.execute(&sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
            }
        }
        setup
    }

    fn query(&self, args: &[&str]) -> Output {
        tally()
            .arg("query")
            .args(args)
            .args(["--db", &self.warehouse.target, "--now", "2024-04-01 07:00", "--generated"])
            .arg(self.dir.path().join("generated"))
            .output()
            .expect("runs")
    }
}

fn query_as_users(engine: Engine) {
    let s = Setup::new(engine);

    // A table for people: the user's field office only, the sources below.
    let table = succeeded(&s.query(&["seizure_lines", "--as", "fo1", "--by", "location.port"]));
    assert!(table.starts_with("metric seizure_lines: Seizure line items\nas fo1 (role field_office_director, scope location.field_office = 'F1'), by month\n"), "{table}");
    assert!(table.contains("\nsources: Seizure system (SEACATS)\n"), "{table}");
    assert!(!table.contains("F2") && !table.contains("P21"), "{table}");
    assert!(table.contains("(all)"), "the field office subtotal: {table}");

    // JSON for programs: suppressed cells are null and say so.
    let json = succeeded(&s.query(&[
        "seizure_lines",
        "--as",
        "hq",
        "--by",
        "location.port",
        "--format",
        "json",
    ]));
    let answer: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(answer["sources"], serde_json::json!(["Seizure system (SEACATS)"]));
    let rows = answer["rows"].as_array().expect("rows");
    let hidden: Vec<&serde_json::Value> = rows.iter().filter(|r| r["suppressed"] == true).collect();
    assert!(hidden.len() >= 2, "P14 and a sibling: {json}");
    assert!(hidden.iter().all(|r| r["value"].is_null()));
    assert!(rows.iter().any(|r| r["levels"] == "" && r["value"].is_number()), "the national total");

    // CSV: `*` for suppressed, the sources as a trailing comment.
    let csv = succeeded(&s.query(&[
        "seizure_lines",
        "--as",
        "hq",
        "--by",
        "location.port",
        "--format",
        "csv",
    ]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,period_start,partial,field_office,port,levels,value");
    assert!(lines.iter().any(|l| l.ends_with(",*")), "{csv}");
    assert!(lines.contains(&"# sources: Seizure system (SEACATS)"), "{csv}");

    // A report.
    let report =
        succeeded(&s.query(&["--report", "seizures_by_port", "--as", "tsa", "--format", "json"]));
    let answer: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(answer["kind"], "report");

    // Refusals, with a code and what would allow it.
    let stderr = refused(&s.query(&["drug_weight", "--as", "tsa"]), "R0404");
    assert!(stderr.contains("mart borderstat"), "{stderr}");
    refused(&s.query(&["seizure_lines", "--as", "nobody"]), "R0464");
    refused(&s.query(&["seizure_lines", "--as", "hq", "--by", "location.region"]), "R0406");
    refused(&s.query(&["--sql", "SELECT * FROM cur_seizures", "--as", "analyst"]), "R0423");
    refused(&s.query(&["--sql", "SELECT count(*) FROM mart_borderstat", "--as", "hq"]), "R0420");

    // A search for a person, on every path.
    refused(
        &s.query(&[
            "seizure_lines",
            "--as",
            "hq",
            "--where",
            "seizures.subject_name=Maria Quintanilla",
        ]),
        "R0412",
    );
    refused(
        &s.query(&[
            "seizure_lines",
            "--drill",
            "--as",
            "hq",
            "--where",
            "seizures.subject_name=Maria Quintanilla",
        ]),
        "R0412",
    );
    refused(
        &s.query(&[
            "--sql",
            "SELECT * FROM mart_borderstat WHERE port_name = 'Maria Quintanilla'",
            "--as",
            "analyst",
        ]),
        "R0425",
    );
    let drill =
        succeeded(&s.query(&["seizure_lines", "--drill", "--as", "fo1", "--format", "csv"]));
    assert!(!drill.contains("Maria") && !drill.contains("1980-02-11"), "{drill}");
    assert!(drill.lines().next().is_some_and(|h| h.contains("port_code")), "{drill}");

    // Ad hoc SQL, scoped and suppressed.
    let sql = succeeded(&s.query(&[
        "--sql",
        "SELECT levels, count(*) AS cells FROM mart_borderstat GROUP BY levels ORDER BY levels",
        "--as",
        "analyst",
        "--format",
        "json",
    ]));
    let answer: serde_json::Value = serde_json::from_str(&sql).expect("JSON");
    assert_eq!(answer["kind"], "sql");
    assert!(!answer["rows"].as_array().expect("rows").is_empty());
}

#[test]
fn query_as_users_on_duckdb() {
    query_as_users(Engine::DuckDb);
}

#[test]
fn query_as_users_on_postgres() {
    query_as_users(Engine::Postgres);
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn rows(answer: &serde_json::Value) -> Vec<serde_json::Value> {
    answer["rows"].as_array().cloned().unwrap_or_default()
}

/// The `help:` line of a refusal.
fn help(stderr: &str) -> String {
    stderr.lines().find(|l| l.trim_start().starts_with("help:")).unwrap_or_default().to_string()
}

/// Issue 13, point 1: a mart's `drill` says which rows may be listed and which of their
/// columns are shown; nothing else is.
fn drill_shows_only_what_a_mart_declares(engine: Engine) {
    let s = Setup::new(engine);
    // Exactly the columns of `drill seizures (...)` in borderstat, in that order: not the
    // other non-personal columns (`weight_kg`), not the level columns (`port`, `field_office`).
    let csv = succeeded(&s.query(&["seizure_lines", "--drill", "--as", "hq", "--format", "csv"]));
    assert_eq!(csv.lines().next(), Some("seizure_id,line_item,seized_on,port_code,kind"), "{csv}");
    assert!(csv.lines().count() > 10, "{csv}");
    assert!(csv.contains("\n# from: mart borderstat's declared drill-down\n"), "{csv}");
    let answer =
        json(&succeeded(&s.query(&["drug_weight", "--drill", "--as", "hq", "--format", "json"])));
    assert_eq!(answer["mart"], "borderstat");
    assert_eq!(
        answer["columns"],
        serde_json::json!(["seizure_id", "line_item", "seized_on", "port_code", "kind"])
    );

    // The level columns restrict the rows without being shown.
    let answer = json(&succeeded(&s.query(&[
        "seizure_lines",
        "--drill",
        "--as",
        "hq",
        "--where",
        "location.field_office=F1",
        "--format",
        "json",
    ])));
    let f1 = rows(&answer);
    assert!(!f1.is_empty());
    for row in &f1 {
        let port = row["port_code"].as_str().unwrap_or_default();
        assert!(["P11", "P12", "P13", "P14"].contains(&port), "{row}");
        assert!(row.get("field_office").is_none(), "{row}");
    }
    // A column the mart does not declare is not there to filter on either.
    let stderr = refused(
        &s.query(&["drug_weight", "--drill", "--as", "hq", "--where", "seizures.weight_kg=15.64"]),
        "R0406",
    );
    let valid = help(&stderr);
    assert!(valid.contains("seizures.kind") && valid.contains("location.port"), "{stderr}");
    assert!(!valid.contains("weight_kg"), "{stderr}");

    // A mart that declares no drill shows no rows: apprehensions are in no mart's `drill`.
    let stderr = refused(&s.query(&["apprehension_count", "--drill", "--as", "hq"]), "R0414");
    assert!(stderr.contains("declares a drill-down of `apprehensions`"), "{stderr}");
    assert!(stderr.contains("never shown row by row"), "{stderr}");
    // Through a named mart that declares none, although another would do.
    let stderr = refused(
        &s.query(&["seizure_lines", "--drill", "--as", "ov", "--mart", "overview"]),
        "R0414",
    );
    assert!(stderr.contains("mart `overview` declares no drill-down"), "{stderr}");
    assert!(help(&stderr).contains("borderstat"), "{stderr}");
    let csv = succeeded(&s.query(&["seizure_lines", "--drill", "--as", "ov", "--format", "csv"]));
    assert_eq!(csv.lines().next(), Some("seizure_id,line_item,seized_on,port_code,kind"), "{csv}");
}

#[test]
fn drill_shows_only_what_a_mart_declares_on_duckdb() {
    drill_shows_only_what_a_mart_declares(Engine::DuckDb);
}

#[test]
fn drill_shows_only_what_a_mart_declares_on_postgres() {
    drill_shows_only_what_a_mart_declares(Engine::Postgres);
}

/// Issue 13, point 4: what a query may do with a personal-data column is the compiler's
/// decision, carried in `plan.json`: a demographic attribute is grouped and filtered on, a
/// direct identifier neither.
fn demographic_attributes_group_and_filter_as_the_plan_says(engine: Engine) {
    let s = Setup::new(engine);
    let plan = std::fs::read_to_string(s.dir.path().join("generated/plan.json")).expect("plan");
    let plan = json(&plan);
    let columns = plan["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "apprehensions"))
        .map(|s| s["columns"].clone())
        .expect("apprehensions");
    let access = |name: &str| {
        columns
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .map(|c| c["access"].clone())
    };
    assert_eq!(
        access("nationality"),
        Some(serde_json::json!({"group": true, "filter": true, "show": false}))
    );
    assert_eq!(
        access("subject_name"),
        Some(serde_json::json!({"group": false, "filter": false, "show": false}))
    );
    assert_eq!(
        access("station_code"),
        Some(serde_json::json!({"group": true, "filter": true, "show": true}))
    );

    // The overview mart lists the nationality as a dimension: grouping by it is answered.
    let answer = json(&succeeded(&s.query(&[
        "apprehension_count",
        "--as",
        "ov",
        "--by",
        "apprehensions.nationality",
        "--format",
        "json",
    ])));
    assert_eq!(answer["mart"], "overview");
    assert!(
        answer["columns"].as_array().is_some_and(|c| c.contains(&"nationality".into())),
        "{answer}"
    );
    let by = rows(&answer);
    assert!(by.iter().any(|r| r["nationality"] == "MX"), "{answer}");
    assert!(by
        .iter()
        .all(|r| ["MX", "GT", "HN", "SV"].contains(&r["nationality"].as_str().unwrap_or("MX"))));
    // And filtering on it.
    let answer = json(&succeeded(&s.query(&[
        "apprehension_count",
        "--as",
        "ov",
        "--where",
        "apprehensions.nationality=GT",
        "--format",
        "json",
    ])));
    let gt = rows(&answer);
    assert!(!gt.is_empty(), "{answer}");
    assert!(gt.iter().all(|r| r["nationality"] == "GT"), "{answer}");
    // A direct identifier is refused either way.
    for args in [
        ["--by", "apprehensions.subject_name"],
        ["--where", "apprehensions.subject_name=Jonah Abernathy"],
    ] {
        let stderr = refused(
            &s.query(&[&["apprehension_count", "--as", "ov"][..], &args[..]].concat()),
            "R0412",
        );
        assert!(stderr.contains("apprehensions.subject_name"), "{stderr}");
    }
}

#[test]
fn demographic_attributes_group_and_filter_as_the_plan_says_on_duckdb() {
    demographic_attributes_group_and_filter_as_the_plan_says(Engine::DuckDb);
}

#[test]
fn demographic_attributes_group_and_filter_as_the_plan_says_on_postgres() {
    demographic_attributes_group_and_filter_as_the_plan_says(Engine::Postgres);
}

/// Issue 13, point 5: a metric two marts publish is answered from the mart the user names,
/// else from the documented pick (marts by name), and every format says which.
fn the_user_names_the_mart_and_the_answer_names_it(engine: Engine) {
    let s = Setup::new(engine);
    let picked = json(&succeeded(&s.query(&["seizure_lines", "--as", "ov", "--format", "json"])));
    assert_eq!(
        (picked["mart"].as_str(), picked["table"].as_str()),
        (Some("borderstat"), Some("mart_borderstat"))
    );
    let named = json(&succeeded(&s.query(&[
        "seizure_lines",
        "--as",
        "ov",
        "--mart",
        "overview",
        "--format",
        "json",
    ])));
    assert_eq!(
        (named["mart"].as_str(), named["table"].as_str()),
        (Some("overview"), Some("mart_overview"))
    );
    let table = succeeded(&s.query(&["seizure_lines", "--as", "ov", "--mart", "overview"]));
    assert!(table.contains("\nfrom mart overview (mart_overview)\n"), "{table}");
    let table = succeeded(&s.query(&["seizure_lines", "--as", "ov"]));
    assert!(table.contains("\nfrom mart borderstat (mart_borderstat)\n"), "{table}");
    let csv = succeeded(&s.query(&[
        "seizure_lines",
        "--as",
        "ov",
        "--mart",
        "overview",
        "--format",
        "csv",
    ]));
    assert!(csv.contains("\n# from: mart overview (mart_overview)\n"), "{csv}");
    let own = succeeded(&s.query(&["currency_lines", "--as", "hq", "--format", "csv"]));
    assert!(own.contains("\n# from: the metric's own table agg_currency_lines\n"), "{own}");

    // A mart that does not publish the metric, or does not exist: R0413, naming the ones
    // that do for this user.
    let stderr =
        refused(&s.query(&["seizure_lines", "--as", "ov", "--mart", "enforcement"]), "R0413");
    assert!(help(&stderr).contains("borderstat, overview"), "{stderr}");
    refused(&s.query(&["seizure_lines", "--as", "ov", "--mart", "nowhere"]), "R0413");
    // A mart the user's roles do not read (hq reads apprehensions in `enforcement` only).
    let stderr =
        refused(&s.query(&["apprehension_count", "--as", "hq", "--mart", "overview"]), "R0404");
    assert!(stderr.contains("overview_analyst"), "{stderr}");
    // A report is read from its own mart.
    refused(
        &s.query(&["--report", "seizures_by_port", "--as", "tsa", "--mart", "overview"]),
        "R0426",
    );
}

#[test]
fn the_user_names_the_mart_and_the_answer_names_it_on_duckdb() {
    the_user_names_the_mart_and_the_answer_names_it(Engine::DuckDb);
}

#[test]
fn the_user_names_the_mart_and_the_answer_names_it_on_postgres() {
    the_user_names_the_mart_and_the_answer_names_it(Engine::Postgres);
}

/// Issue 13, point 6: a refusal is never silent, and its suggestions are what is valid for
/// that user and that metric.
fn refusals_say_why_and_suggest_only_what_is_valid(engine: Engine) {
    let s = Setup::new(engine);
    // A port-scoped user, a metric the overview does not place by location: R0408, not
    // "(no rows)".
    let stderr = refused(&s.query(&["apprehension_count", "--as", "pov"]), "R0408");
    assert!(stderr.contains("not placed by location.port in mart_overview"), "{stderr}");
    assert!(help(&stderr).contains("usbp.station"), "{stderr}");
    let ports = json(&succeeded(&s.query(&["seizure_lines", "--as", "pov", "--format", "json"])));
    assert!(!rows(&ports).is_empty(), "{ports}");
    assert!(rows(&ports).iter().all(|r| r["port"] == "P11"), "{ports}");

    // R0406 offers the dimensions of this metric in the marts this user reads, no others.
    let stderr = refused(
        &s.query(&["apprehension_count", "--as", "ov", "--by", "location.region"]),
        "R0406",
    );
    let valid = help(&stderr);
    for axis in ["usbp.station", "usbp.sector", "apprehensions.nationality", "time.month"] {
        assert!(valid.contains(axis), "{axis}: {stderr}");
    }
    for axis in ["location.port", "location.field_office", "seizures.kind"] {
        assert!(!valid.contains(axis), "{axis}: {stderr}");
    }
    let stderr =
        refused(&s.query(&["seizure_lines", "--as", "ov", "--by", "usbp.station"]), "R0406");
    let valid = help(&stderr);
    assert!(valid.contains("location.port") && valid.contains("seizures.kind"), "{stderr}");
    assert!(!valid.contains("usbp") && !valid.contains("nationality"), "{stderr}");
}

#[test]
fn refusals_say_why_and_suggest_only_what_is_valid_on_duckdb() {
    refusals_say_why_and_suggest_only_what_is_valid(Engine::DuckDb);
}

#[test]
fn refusals_say_why_and_suggest_only_what_is_valid_on_postgres() {
    refusals_say_why_and_suggest_only_what_is_valid(Engine::Postgres);
}
