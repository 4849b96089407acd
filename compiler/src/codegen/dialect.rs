//! SQL dialects: everything that differs between engines, behind one trait.
//!
//! Code generation never asks "is this PostgreSQL?". It asks the dialect what it can do
//! (`supports_row_level_security`) or how to say something (`type_name`). A new engine is a
//! new implementation of [`Dialect`], with defaults for what most engines share.

use super::schema::{SqlType, Value};
use crate::diagnostic::{codes, Diagnostic};
use crate::project;

pub trait Dialect: std::fmt::Debug + Sync {
    /// The name used in paths (`generated/<name>/`) and messages.
    fn name(&self) -> &'static str;

    /// The dialect as the plan names it.
    fn id(&self) -> tally_contract::plan::Dialect;

    /// The sqlparser dialect every emitted statement is re-parsed with.
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect>;

    fn type_name(&self, ty: SqlType) -> String {
        standard_type_name(ty)
    }

    /// An identifier, quoted only when it must be.
    fn quote_ident(&self, name: &str) -> String {
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !is_reserved(name);
        if plain {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Null => "NULL".to_string(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// DDL runs inside a transaction and rolls back with it.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// Native row-level security (`CREATE POLICY`, `FORCE ROW LEVEL SECURITY`) and database
    /// roles with `GRANT`. Without it, the runtime enforces scopes itself.
    fn supports_row_level_security(&self) -> bool {
        false
    }

    /// `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`.
    fn supports_add_column_if_not_exists(&self) -> bool {
        true
    }

    /// `ALTER TABLE ... ADD COLUMN c T NOT NULL`. Without it a migration adds the column and
    /// then sets `NOT NULL` in a second statement.
    fn supports_add_column_not_null(&self) -> bool {
        true
    }

    /// `ALTER TABLE` may change the type of, rename or drop a primary-key column, and drop a
    /// column stored before one. Without it such a migration rebuilds the table (create,
    /// copy, drop, rename).
    fn alters_key_columns(&self) -> bool {
        true
    }

    /// `ALTER COLUMN c SET DATA TYPE T` converts with an assignment cast only, so a migration
    /// says `USING CAST(c AS T)` to convert values the engine would not cast on its own.
    fn alter_type_needs_using(&self) -> bool {
        false
    }

    /// How landed files reach the engine in bulk (never row by row from the runtime).
    fn bulk_load(&self) -> BulkLoad {
        BulkLoad::CopyFromStdin
    }

    /// A boolean expression: whether `text` matches the regular expression `pattern` (a SQL
    /// string literal) anywhere. Patterns Tally emits use only what POSIX and RE2 agree on.
    fn regex_matches(&self, text: &str, pattern: &str) -> String {
        format!("({text} ~ {pattern})")
    }

    /// The schema temporary tables live in, to name them without touching a real table.
    fn temporary_schema(&self) -> &'static str {
        "pg_temp"
    }

    /// Text with every occurrence of `from` replaced by `to` (all three SQL text expressions):
    /// how a total's cell finds its `levels` (`total(m, ...)` in a derived metric).
    fn replace_text(&self, text: &str, from: &str, to: &str) -> String {
        format!("replace({text}, {from}, {to})")
    }

    /// Text expressions joined end to end.
    fn concat_text(&self, parts: &[&str]) -> String {
        parts.join(" || ")
    }

    /// How an exact percentile is written: the SQL standard's ordered-set aggregates
    /// (`percentile_cont(0.9) WITHIN GROUP (ORDER BY x)`) unless the engine says otherwise.
    fn exact_percentile(&self) -> PercentileSyntax {
        PercentileSyntax::WithinGroup { continuous: "percentile_cont", discrete: "percentile_disc" }
    }

    /// The engine's approximate percentile, called as `f(x, fraction)`, if it has one. Without
    /// it `approx_median` and `approx_percentile` are refused (T0316), never computed exactly.
    fn approx_percentile(&self) -> Option<&'static str> {
        None
    }
}

/// How an engine writes an exact percentile of `x` at a fraction `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentileSyntax {
    /// `name(p) WITHIN GROUP (ORDER BY x)`.
    WithinGroup { continuous: &'static str, discrete: &'static str },
    /// `name(x, p)`.
    Call { continuous: &'static str, discrete: &'static str },
}

/// The engine's bulk path for landed files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkLoad {
    /// Table functions read the file where it lies (DuckDB `read_csv`, `read_json`,
    /// `read_parquet`), given its path.
    ReadFunctions,
    /// `COPY ... FROM STDIN`: the runtime streams the file's bytes (PostgreSQL).
    CopyFromStdin,
}

fn is_reserved(name: &str) -> bool {
    // Words that are reserved in DuckDB or PostgreSQL and plausible as column names.
    const RESERVED: &[&str] = &[
        "all",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "at",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "default",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "into",
        "is",
        "join",
        "leading",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "primary",
        "references",
        "select",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&name)
}

/// The embedded default: DuckDB.
#[derive(Debug, Clone, Copy)]
pub struct DuckDb;

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn id(&self) -> tally_contract::plan::Dialect {
        tally_contract::plan::Dialect::Duckdb
    }

    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::DuckDbDialect {})
    }

    fn type_name(&self, ty: SqlType) -> String {
        match ty {
            SqlType::Double => "DOUBLE".to_string(),
            other => standard_type_name(other),
        }
    }

    fn bulk_load(&self) -> BulkLoad {
        BulkLoad::ReadFunctions
    }

    fn regex_matches(&self, text: &str, pattern: &str) -> String {
        format!("regexp_matches({text}, {pattern})")
    }

    fn temporary_schema(&self) -> &'static str {
        "temp"
    }

    fn exact_percentile(&self) -> PercentileSyntax {
        PercentileSyntax::Call { continuous: "quantile_cont", discrete: "quantile_disc" }
    }

    // A t-digest sketch.
    fn approx_percentile(&self) -> Option<&'static str> {
        Some("approx_quantile")
    }

    // DuckDB's parser rejects constraints in `ADD COLUMN` ("Adding columns with constraints
    // not yet supported").
    fn supports_add_column_not_null(&self) -> bool {
        false
    }

    // A primary key is an ART index, and DuckDB refuses to alter a column an index covers
    // ("an index depends on it") or to drop one before it ("an index depends on a column
    // after it").
    fn alters_key_columns(&self) -> bool {
        false
    }
}

/// The multi-user server: PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn id(&self) -> tally_contract::plan::Dialect {
        tally_contract::plan::Dialect::Postgres
    }

    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::PostgreSqlDialect {})
    }

    fn type_name(&self, ty: SqlType) -> String {
        match ty {
            SqlType::Decimal { precision, scale } => format!("NUMERIC({precision}, {scale})"),
            other => standard_type_name(other),
        }
    }

    fn supports_row_level_security(&self) -> bool {
        true
    }

    // `text` → `bigint` has no assignment cast in PostgreSQL.
    fn alter_type_needs_using(&self) -> bool {
        true
    }
}

/// The SQL-standard name of a type, which most engines accept.
pub fn standard_type_name(ty: SqlType) -> String {
    match ty {
        SqlType::Text => "TEXT".to_string(),
        SqlType::BigInt => "BIGINT".to_string(),
        SqlType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        SqlType::Double => "DOUBLE PRECISION".to_string(),
        SqlType::Boolean => "BOOLEAN".to_string(),
        SqlType::Date => "DATE".to_string(),
        SqlType::Timestamp => "TIMESTAMP".to_string(),
    }
}

/// Every dialect Tally compiles for, in output order.
pub fn all() -> [&'static dyn Dialect; 2] {
    [&DuckDb, &Postgres]
}

/// What the project's own engine cannot compute, each at the expression that asks for it:
/// an approximate percentile where the engine has none (T0316). The other dialects'
/// artifacts leave such a metric out, and their runtime refuses it by name.
pub fn refusals(model: &crate::semantic::Model, dialect: &dyn Dialect) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if dialect.approx_percentile().is_some() {
        return out;
    }
    for (name, metric) in &model.metrics {
        let Some(measure) = &metric.measure else { continue };
        measure.expr.walk(|e| {
            let Some(aggregate) = e.as_aggregate().filter(|a| a.function.is_approximate()) else {
                return;
            };
            let exact = match aggregate.function {
                crate::semantic::Function::ApproxMedian => "median",
                _ => "percentile",
            };
            out.push(
                Diagnostic::error(
                    codes::APPROXIMATE_UNAVAILABLE,
                    format!(
                        "Metric `{name}` asks for `{}`, which {} does not compute",
                        aggregate.function.word(),
                        dialect.name()
                    ),
                    e.span,
                )
                .label("an approximation")
                .help(format!(
                    "use the exact `{exact}`, or run the warehouse on an engine with approximate percentiles (`dialect: duckdb`)"
                )),
            );
        });
    }
    out
}

/// The dialect a project names in `tally.yaml`.
pub fn for_project(dialect: project::Dialect) -> &'static dyn Dialect {
    match dialect {
        project::Dialect::Duckdb => &DuckDb,
        project::Dialect::Postgres => &Postgres,
    }
}
