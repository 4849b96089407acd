//! `tally query` as a user runs it: the real binary on a DuckDB file and on a PostgreSQL
//! database. `generated/` comes from `tally compile tests/fixtures/query/project`, the data from
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
    assert_eq!(lines[0], "metric,period_start,field_office,port,levels,value");
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
    assert!(drill.lines().next().is_some_and(|h| h.contains("field_office")), "{drill}");

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
