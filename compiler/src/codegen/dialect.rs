//! SQL dialects: everything that differs between engines, behind one trait.
//!
//! Code generation never asks "is this PostgreSQL?". It asks the dialect what it can do
//! (`supports_row_level_security`) or how to say something (`type_name`). A new engine is a
//! new implementation of [`Dialect`], with defaults for what most engines share.

use super::schema::{SqlType, Table, TableKind, Value};
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

    /// For a row of `GROUP BY GROUPING SETS`, one bit per column of `columns` (set when the
    /// row is not grouped by it, the first column highest).
    fn grouping_bits(&self, columns: &[String]) -> String {
        format!("GROUPING({})", columns.join(", "))
    }

    /// `HAVING` may read `GROUPING()` of columns the `SELECT` list does not show. Without it
    /// the condition becomes a column, and an outer query filters on it.
    fn having_reads_grouping(&self) -> bool {
        true
    }

    /// `row_number()` needs an `ORDER BY` in its window even where any order will do.
    fn row_number_needs_order(&self) -> bool {
        false
    }

    /// The type fractions are computed in: a division's dividend and the 0/1 values `share()`
    /// averages are cast to it (`exact` unless the engine's decimal division and average keep
    /// fewer digits than the value type).
    fn fraction_type(&self, exact: SqlType) -> SqlType {
        exact
    }

    /// `text` without the characters of `chars` (a SQL string literal) at its end.
    fn trim_trailing(&self, text: &str, chars: &str) -> String {
        format!("rtrim({text}, {chars})")
    }

    /// Drops the scratch relation `name` (already quoted) if it exists, never a real table.
    fn drop_scratch(&self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS {}.{name}", self.temporary_schema())
    }

    /// `DELETE`, `UPDATE` and `INSERT ... ON CONFLICT` change rows of a table in place. Without
    /// them (Spark over Parquet files) a statement that changes rows is written as the
    /// replacement of the whole table or of one partition (`INSERT OVERWRITE`), see
    /// [`super::rewrite`].
    fn row_mutations(&self) -> bool {
        true
    }

    /// The whole days from date `start` to date `end` (Spark subtracts dates into an interval).
    fn days_between(&self, start: &str, end: &str) -> String {
        format!("{end} - {start}")
    }

    /// A subquery may read a column of a query two levels out (Spark resolves outer
    /// references one level out only).
    fn deep_correlation(&self) -> bool {
        true
    }

    /// A `PRIMARY KEY` constraint in `CREATE TABLE`. Without it the key is kept by the
    /// statements that write the table (the merge keeps one row per key).
    fn supports_primary_keys(&self) -> bool {
        true
    }

    /// `ALTER TABLE` may drop, rename or change (type, nullability, default) any column.
    /// Without it only `ADD COLUMN` is altered in place and any other change rebuilds the
    /// table.
    fn alters_columns(&self) -> bool {
        true
    }

    /// What follows a `CREATE TABLE`'s column list: the storage format and partitioning.
    fn table_storage(&self, _table: &Table) -> String {
        String::new()
    }

    /// The columns `table` is partitioned by (empty: not partitioned). A statement that
    /// rebuilds what one partition holds replaces that partition alone.
    fn partition_columns(&self, _table: &Table) -> Vec<&'static str> {
        Vec::new()
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
    /// A data source reads the file where it lies into a temporary view (Spark
    /// `CREATE TEMPORARY VIEW ... USING csv OPTIONS (path ...)`), given its path; the view
    /// the load goes on with is cached, so the file is read once.
    DataSourceViews,
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

/// Apache Spark SQL over Spark Connect, tables as Parquet files in the session catalog.
///
/// Parquet tables have no transactions, no `DELETE`, `UPDATE` or `MERGE` and no constraints:
/// every change of rows is a replacement of the table or of one of its partitions (see
/// [`super::rewrite`]), and the runtime keeps its control plane elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Spark;

impl Dialect for Spark {
    // `approx_percentile(x, p)`: Greenwald-Khanna with a bounded error.
    fn approx_percentile(&self) -> Option<&'static str> {
        Some("approx_percentile")
    }

    fn name(&self) -> &'static str {
        "spark"
    }

    fn id(&self) -> tally_contract::plan::Dialect {
        tally_contract::plan::Dialect::Spark
    }

    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(SparkParser)
    }

    fn type_name(&self, ty: SqlType) -> String {
        match ty {
            SqlType::Text => "STRING".to_string(),
            SqlType::Double => "DOUBLE".to_string(),
            other => standard_type_name(other),
        }
    }

    /// Backquotes: Spark reads `"x"` as a string.
    fn quote_ident(&self, name: &str) -> String {
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !is_reserved(name);
        if plain {
            name.to_string()
        } else {
            format!("`{}`", name.replace('`', "``"))
        }
    }

    /// A backslash escapes in Spark string literals, so it is doubled.
    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Text(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
            Value::Null => "NULL".to_string(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Int(i) => i.to_string(),
        }
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    // `ADD COLUMNS (c T)` only: no `IF NOT EXISTS`, no constraint.
    fn supports_add_column_if_not_exists(&self) -> bool {
        false
    }

    fn supports_add_column_not_null(&self) -> bool {
        false
    }

    // Parquet tables cannot change a column's type, rename or drop one: the table is rebuilt.
    fn alters_key_columns(&self) -> bool {
        false
    }

    fn bulk_load(&self) -> BulkLoad {
        BulkLoad::DataSourceViews
    }

    fn regex_matches(&self, text: &str, pattern: &str) -> String {
        format!("({text} RLIKE {pattern})")
    }

    fn temporary_schema(&self) -> &'static str {
        "session"
    }

    fn row_number_needs_order(&self) -> bool {
        true
    }

    fn having_reads_grouping(&self) -> bool {
        false
    }

    // A quotient of two `DECIMAL(38, 6)`, or the average of `1.0`s and `0.0`s, keeps fewer
    // than 6 decimals in Spark. DuckDB divides and averages decimals in `DOUBLE` too; the value
    // is rounded to the value type when it is stored.
    fn fraction_type(&self, _exact: SqlType) -> SqlType {
        SqlType::Double
    }

    // Spark's `grouping` takes one column, and `grouping_id` all the grouping columns.
    fn grouping_bits(&self, columns: &[String]) -> String {
        let bits: Vec<String> = columns
            .iter()
            .rev()
            .enumerate()
            .map(|(i, c)| format!("grouping({c}) * {}", 1u64 << i))
            .rev()
            .collect();
        format!("({})", bits.join(" + "))
    }

    // Spark's two-argument `rtrim` takes the characters first.
    fn trim_trailing(&self, text: &str, chars: &str) -> String {
        format!("TRIM(TRAILING {chars} FROM {text})")
    }

    /// Scratch relations are temporary views, which `DROP VIEW` finds before a stored view.
    fn drop_scratch(&self, name: &str) -> String {
        format!("DROP VIEW IF EXISTS {name}")
    }

    fn row_mutations(&self) -> bool {
        false
    }

    fn deep_correlation(&self) -> bool {
        false
    }

    fn days_between(&self, start: &str, end: &str) -> String {
        format!("datediff({end}, {start})")
    }

    fn supports_primary_keys(&self) -> bool {
        false
    }

    // A v1 (Parquet) table can only add columns.
    fn alters_columns(&self) -> bool {
        false
    }

    fn table_storage(&self, table: &Table) -> String {
        let partitions = self.partition_columns(table);
        if partitions.is_empty() {
            "USING PARQUET".to_string()
        } else {
            format!("USING PARQUET\nPARTITIONED BY ({})", partitions.join(", "))
        }
    }

    /// A metric's cells are rebuilt together, so mart and aggregate tables are partitioned
    /// by metric: a refresh replaces its metric's partition and touches no other file.
    fn partition_columns(&self, table: &Table) -> Vec<&'static str> {
        match table.kind {
            TableKind::Mart | TableKind::MetricAggregate if table.column("metric").is_some() => {
                vec!["metric"]
            }
            _ => Vec::new(),
        }
    }
}

/// sqlparser's [`SparkSqlDialect`](sqlparser::dialect::SparkSqlDialect), except that an
/// interval may carry its unit in the string (`INTERVAL '84 months'`), that a backslash
/// escapes in string literals and that `CREATE TABLE ... USING PARQUET` may be followed by
/// `PARTITIONED BY (columns)`, all as Spark itself reads them.
#[derive(Debug)]
struct SparkParser;

impl sqlparser::dialect::Dialect for SparkParser {
    fn dialect(&self) -> std::any::TypeId {
        std::any::TypeId::of::<sqlparser::dialect::SparkSqlDialect>()
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }
    fn identifier_quote_style(&self, _identifier: &str) -> Option<char> {
        Some('`')
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic() || ch == '_'
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_'
    }
    fn supports_string_literal_column_alias(&self, _explicit: bool) -> bool {
        false
    }
    fn supports_string_literal_table_alias(&self, _explicit: bool) -> bool {
        false
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }
    fn supports_group_by_expr(&self) -> bool {
        true
    }
    fn supports_struct_literal(&self) -> bool {
        true
    }
    fn supports_create_table_using(&self) -> bool {
        true
    }
    fn supports_values_as_table_factor(&self) -> bool {
        true
    }
    fn require_interval_qualifier(&self) -> bool {
        false
    }

    /// `CREATE TABLE`, then `PARTITIONED BY (columns)` after the table's clauses, which
    /// sqlparser's Spark dialect does not read.
    fn parse_statement(
        &self,
        parser: &mut sqlparser::parser::Parser,
    ) -> Option<Result<sqlparser::ast::Statement, sqlparser::parser::ParserError>> {
        use sqlparser::keywords::Keyword;
        use sqlparser::tokenizer::Token;
        let is = |token: &Token, keyword: Keyword| matches!(token, Token::Word(w) if w.keyword == keyword);
        let [create, table] = parser.peek_tokens();
        if !(is(&create, Keyword::CREATE) && is(&table, Keyword::TABLE)) {
            return None;
        }
        if !parser.parse_keywords(&[Keyword::CREATE, Keyword::TABLE]) {
            return None;
        }
        let parsed = parser
            .parse_create_table(false, false, false, None, false, false, None)
            .and_then(|create| {
                if parser.parse_keywords(&[Keyword::PARTITIONED, Keyword::BY]) {
                    parser.parse_parenthesized_column_list(
                        sqlparser::parser::IsOptional::Mandatory,
                        false,
                    )?;
                }
                Ok(sqlparser::ast::Statement::CreateTable(create))
            });
        Some(parsed)
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
pub fn all() -> [&'static dyn Dialect; 3] {
    [&DuckDb, &Postgres, &Spark]
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
        project::Dialect::Spark => &Spark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_quotes_with_backquotes_and_doubles_backslashes() {
        assert_eq!(Spark.quote_ident("port"), "port");
        assert_eq!(Spark.quote_ident("Port Code"), "`Port Code`");
        assert_eq!(Spark.quote_ident("select"), "`select`");
        assert_eq!(Spark.literal(&Value::Text("it's a\\b".into())), "'it''s a\\\\b'");
        assert_eq!(Spark.type_name(SqlType::Text), "STRING");
        assert_eq!(Spark.trim_trailing("x", "'Z'"), "TRIM(TRAILING 'Z' FROM x)");
        assert_eq!(DuckDb.trim_trailing("x", "'Z'"), "rtrim(x, 'Z')");
    }

    #[test]
    fn grouping_bits_put_the_first_column_highest() {
        let columns = ["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(Postgres.grouping_bits(&columns), "GROUPING(a, b, c)");
        assert_eq!(
            Spark.grouping_bits(&columns),
            "(grouping(a) * 4 + grouping(b) * 2 + grouping(c) * 1)"
        );
    }
}
