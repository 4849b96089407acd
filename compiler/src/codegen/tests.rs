//! Code generation end to end on fixture projects: the schema per dialect and the plan are
//! snapshotted, every statement re-parses, output is deterministic, and the plan has the
//! shape `docs/plan.schema.json` describes and reads back through the contract's reader.

use super::dialect::{self, Dialect as _, DuckDb, Postgres};
use super::{build, plan, sql};
use crate::source::MemoryFs;
use crate::Checked;

/// The fixture covering every source and metric form (`tests/fixtures/codegen/everything`).
fn everything() -> MemoryFs {
    MemoryFs::new()
        .with("tally.yaml", include_str!("../../../tests/fixtures/codegen/everything/tally.yaml"))
        .with(
            "warehouse.tally",
            include_str!("../../../tests/fixtures/codegen/everything/warehouse.tally"),
        )
        .with(
            "metrics.tally",
            include_str!("../../../tests/fixtures/codegen/everything/metrics.tally"),
        )
}

fn quickstart() -> MemoryFs {
    MemoryFs::new()
        .with("tally.yaml", include_str!("../../../examples/quickstart/tally.yaml"))
        .with("sources.tally", include_str!("../../../examples/quickstart/sources.tally"))
        .with("metrics.tally", include_str!("../../../examples/quickstart/metrics.tally"))
}

fn checked(fs: &MemoryFs) -> (Checked, Vec<String>) {
    let checked = crate::check(fs, "");
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics());
    let (graph, _) = crate::graph::build(&checked.model);
    let order = graph
        .topological_order()
        .into_iter()
        .filter(|n| n.kind == crate::graph::NodeKind::Metric)
        .map(|n| n.name.clone())
        .collect();
    (checked, order)
}

#[test]
fn schema_per_dialect() {
    let (checked, _) = checked(&everything());
    for d in dialect::all() {
        let schema = build::schema(&checked.model, d).expect("schema builds");
        insta::assert_snapshot!(format!("everything_schema_{}", d.name()), schema_json(&schema));
    }
}

/// The schema as JSON; rows (keyed by their primary key, which JSON cannot use as a key) as
/// lists.
fn schema_json(schema: &super::schema::Schema) -> String {
    let rows: serde_json::Map<String, serde_json::Value> = schema
        .rows
        .iter()
        .map(|(table, rows)| {
            let rows = rows.values().map(|row| serde_json::json!(row)).collect();
            (table.clone(), serde_json::Value::Array(rows))
        })
        .collect();
    let value = serde_json::json!({
        "tables": schema.tables,
        "views": schema.views,
        "rows": rows,
        "extras": schema.extras,
    });
    serde_json::to_string_pretty(&value).expect("schema serializes")
}

#[test]
fn plan_of_every_form() {
    let (checked, order) = checked(&everything());
    let plan = plan::plan(&checked.model, &order).expect("plan builds");
    insta::assert_snapshot!("everything_plan", plan);
}

#[test]
fn quickstart_plan() {
    let (checked, order) = checked(&quickstart());
    let plan = plan::plan(&checked.model, &order).expect("plan builds");
    insta::assert_snapshot!("quickstart_plan", plan);
}

/// Every statement anywhere in the plan or the schema parses in its dialect. The generators
/// already refuse a statement that does not; this checks that nothing slips past them.
#[test]
fn every_statement_parses() {
    for fs in [everything(), quickstart()] {
        let (checked, order) = checked(&fs);
        let text = plan::plan(&checked.model, &order).expect("plan builds");
        let value: serde_json::Value = serde_json::from_str(&text).expect("plan is JSON");
        let mut count = 0;
        for source in value["sources"].as_array().expect("sources") {
            for d in dialect::all() {
                for (step, statements) in source["sql"][d.name()].as_object().expect("steps") {
                    // `convert` runs in DuckDB whatever the warehouse is.
                    let engine: &dyn dialect::Dialect = if step == "convert" { &DuckDb } else { d };
                    count += check_all(engine, statements);
                }
            }
        }
        for metric in value["metrics"].as_array().expect("metrics") {
            for refresh in metric["refresh"].as_array().expect("refresh") {
                for d in dialect::all() {
                    count += check_all(d, &refresh["sql"][d.name()]);
                }
            }
        }
        for report in value["reports"].as_array().expect("reports") {
            for d in dialect::all() {
                count +=
                    check_all(d, &serde_json::Value::Array(vec![report["sql"][d.name()].clone()]));
            }
        }
        for d in dialect::all() {
            for statement in value["runtime"][d.name()].as_object().expect("runtime").values() {
                count += check_all(d, &serde_json::Value::Array(vec![statement.clone()]));
            }
            let schema = build::schema(&checked.model, d).expect("schema builds");
            for extra in schema.extras.values() {
                for statement in extra.create.iter().chain(&extra.drop) {
                    sql::validate(d, statement).unwrap_or_else(|e| panic!("{e}"));
                    count += 1;
                }
            }
        }
        assert!(count > 50, "only {count} statements checked");
    }
}

/// Spark over Parquet has no `DELETE`, `UPDATE`, `MERGE`, `ON CONFLICT`, `COPY` or temporary
/// tables: none of its statements, in the plan or the initial migration, use them; a change of
/// rows goes through a scratch table, which the same statements create and drop.
#[test]
fn spark_statements_change_rows_only_by_replacement() {
    let spark = &dialect::Spark;
    for fs in [everything(), quickstart()] {
        let (checked, order) = checked(&fs);
        let text = plan::plan(&checked.model, &order).expect("plan builds");
        let value: serde_json::Value = serde_json::from_str(&text).expect("plan is JSON");
        let mut statements: Vec<String> = Vec::new();
        let mut collect = |list: &serde_json::Value| {
            for s in list.as_array().expect("a list of statements") {
                statements.push(s["sql"].as_str().expect("a statement").to_string());
            }
        };
        for source in value["sources"].as_array().expect("sources") {
            for list in source["sql"]["spark"].as_object().expect("steps").values() {
                collect(list);
            }
        }
        for metric in value["metrics"].as_array().expect("metrics") {
            for refresh in metric["refresh"].as_array().expect("refresh") {
                collect(&refresh["sql"]["spark"]);
            }
        }
        let schema = build::schema(&checked.model, spark).expect("schema builds");
        let migration =
            super::migrate::plan(&super::schema::Schema::default(), &schema, spark, &[])
                .expect("the initial migration plans");
        statements.extend(migration.statements.iter().map(|s| s.sql.clone()));
        let mut scratch = 0;
        for s in &statements {
            let upper = s.to_uppercase();
            for word in [
                "DELETE FROM",
                "UPDATE ",
                "ON CONFLICT",
                "MERGE INTO",
                "COPY ",
                "TEMPORARY TABLE",
                "PRIMARY KEY",
            ] {
                assert!(!upper.contains(word), "a Spark statement uses {word}:\n{s}");
            }
            if s.starts_with("CREATE TABLE _tally_rw__") {
                scratch += 1;
                let name = s.split_whitespace().nth(2).expect("a name");
                assert!(
                    statements.contains(&format!("DROP TABLE {name}")),
                    "{name} is never dropped"
                );
            }
        }
        assert!(scratch > 5, "only {scratch} replacements");
        let cells = schema
            .tables
            .values()
            .find(|t| t.name.starts_with("agg_") || t.name.starts_with("mart_"))
            .expect("a mart or aggregate table");
        assert_eq!(spark.table_storage(cells), "USING PARQUET\nPARTITIONED BY (metric)");
    }
}

fn check_all(d: &dyn dialect::Dialect, statements: &serde_json::Value) -> usize {
    let statements = statements.as_array().expect("a list of statements");
    for s in statements {
        // A statement with its role, or a lone query.
        let s = s.get("sql").unwrap_or(s).as_str().expect("a statement");
        let sample = super::templates::substitute_samples(s).unwrap_or_else(|e| panic!("{e}"));
        sql::validate(d, &sample).unwrap_or_else(|e| panic!("{e}"));
    }
    statements.len()
}

#[test]
fn output_is_deterministic() {
    let (checked, order) = checked(&everything());
    let first = plan::plan(&checked.model, &order).expect("plan builds");
    let second = plan::plan(&checked.model, &order).expect("plan builds");
    assert_eq!(first, second);
    // Declaration order does not matter either: the same files under other names load in
    // another order.
    let swapped = MemoryFs::new()
        .with("tally.yaml", include_str!("../../../tests/fixtures/codegen/everything/tally.yaml"))
        .with("a.tally", include_str!("../../../tests/fixtures/codegen/everything/metrics.tally"))
        .with(
            "b.tally",
            include_str!("../../../tests/fixtures/codegen/everything/warehouse.tally"),
        );
    let (other, other_order) = self::checked(&swapped);
    assert_eq!(first, plan::plan(&other.model, &other_order).expect("plan builds"));
    for d in [&DuckDb as &dyn dialect::Dialect, &Postgres] {
        assert_eq!(
            build::schema(&checked.model, d).expect("schema builds"),
            build::schema(&other.model, d).expect("schema builds")
        );
    }
}

#[test]
fn plan_reads_back_and_matches_its_json_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/plan.schema.json"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    for fs in [everything(), quickstart()] {
        let (checked, order) = checked(&fs);
        let text = plan::plan(&checked.model, &order).expect("plan builds");
        let value: serde_json::Value = serde_json::from_str(&text).expect("plan is JSON");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // What the compiler writes, the runtime's reader reads back whole.
        let read = tally_contract::plan::Plan::from_json(&text).expect("the plan reads back");
        assert_eq!(read.to_json(), text);
    }
}

#[test]
fn an_invalid_statement_becomes_an_internal_error() {
    let mut sql = super::templates::Sql::new();
    sql.check(&Postgres, "CREATE TABLE".to_string());
    let diagnostics = sql.finish(()).expect_err("fails");
    assert_eq!(diagnostics[0].code, crate::diagnostic::codes::INTERNAL);
    assert!(diagnostics[0]
        .message
        .starts_with("Internal error: generated postgres SQL does not parse"));
}
