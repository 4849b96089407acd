//! The ETL statements of one source, per dialect: bulk load, validation, merge, deletions,
//! the ledger record, retention.
//!
//! The runtime handles one landed file at a time (one **batch**), running the file steps in
//! order in one transaction: `load` → `validate` → `merge` → `archive_deleted` → `record` →
//! `clear_staging`. The moving parts:
//!
//! - **`raw_<source>`**, a temporary table created by `load`: every column as text plus
//!   `_tally_line` (the line of the file, or the record number for JSON lines and Parquet).
//!   Bulk loading into text cannot fail on a bad value, so bad values become rejects, not
//!   failed loads. DuckDB fills it with `read_csv` / `read_json` / `read_parquet`; PostgreSQL
//!   with `COPY ... FROM STDIN` (a `BIGSERIAL` numbers the records).
//! - **`validate`** inserts one `etl_rejects` row per bad value (a missing required value, a
//!   value that is not of the column's type or not one of its enum values); for an
//!   incremental source, one `etl_late` row per good row older than the watermark less the
//!   source's `lookback` (skipped as late, with the watermark and the reason); and then the
//!   remaining rows, typed, into `stg_<source>`. Type checks are regular expressions plus
//!   calendar checks, written the same way for every engine so that both accept exactly the
//!   same values; the casts they guard cannot fail.
//! - **`merge`** applies the staged rows to `cur_<source>` by load mode, keeping the last line
//!   of the file for each key (incremental: never replacing a newer version of the key, which a
//!   row accepted within the lookback may be older than). `_tally_loaded_at` is when the key
//!   was first loaded (retention counted "from loading" needs it to stay put); `_tally_batch`
//!   is the last batch that wrote the row. Rows already past retention are not merged.
//! - **`archive_deleted`** moves rows deleted upstream to `arc_<source>` (snapshot: keys
//!   missing from the file; cdc: keys whose last record carries the delete marker).
//! - **`record`** writes the ledger row; `rows_read = rows_loaded + rows_rejected + rows_late`
//!   holds by construction (a line with several bad values is one rejected row; a rejected row
//!   is never also late).
//! - **`retention`** runs after a source's files (and in `tally retain`): rows past their keep
//!   period go to the archive; archived rows past `_tally_purge_after` are deleted.

use super::dialect::{BulkLoad, Dialect};
use super::expr::interval;
use super::rewrite;
use super::schema::SqlType;
use super::templates::{text_literal, Ctx, Sql};
use crate::graph::{archive_table, current_table, staging_table};
use crate::semantic::{ColumnType, Keep, LandingFormat, LoadMode, Model, Period, Source};
use crate::syntax::ast;
use tally_contract::plan::{Role, Statement};

/// The statements of one source in one dialect, each with its role. See the module docs for
/// the order.
pub use tally_contract::plan::SourceSql;

pub fn raw_table(source: &str) -> String {
    format!("raw_{source}")
}

/// The SQL type a column is stored as.
pub fn sql_type(ty: &ColumnType) -> SqlType {
    match ty {
        ColumnType::String | ColumnType::Enum(_) => SqlType::Text,
        ColumnType::Int => SqlType::BigInt,
        ColumnType::Decimal { precision, scale } => {
            SqlType::Decimal { precision: *precision, scale: *scale }
        }
        ColumnType::Bool => SqlType::Boolean,
        ColumnType::Date => SqlType::Date,
        ColumnType::Timestamp => SqlType::Timestamp,
    }
}

pub fn source_sql(model: &Model, dialect: &dyn Dialect, sql: &mut Sql, name: &str) -> SourceSql {
    let Some(source) = model.sources.get(name) else {
        sql.bug(format!("unknown source `{name}`"));
        return SourceSql::default();
    };
    let gen = Gen { model, dialect, name, source };
    match gen.all(sql) {
        Ok(out) => out,
        Err(problem) => {
            sql.bug(format!("source `{name}`: {problem}"));
            SourceSql::default()
        }
    }
}

struct Gen<'a> {
    model: &'a Model,
    dialect: &'a dyn Dialect,
    name: &'a str,
    source: &'a Source,
}

/// A condition on current rows, given the name they are read under (an alias or the table).
type Condition<'a> = dyn Fn(&str) -> String + 'a;

/// The rows a file step merges: the staged rows ranked per key, with their columns.
struct Staged<'a> {
    /// The current table's columns the merge writes (quoted).
    columns: &'a [String],
    /// The expressions over the staged row `s`, one per column.
    select: &'a [String],
    /// Which line of a key wins: `DESC` the last, `ASC` the first.
    order: &'a str,
    conditions: Vec<String>,
}

/// A column with its type resolved.
struct Col<'a> {
    name: &'a str,
    ty: &'a ColumnType,
    required: bool,
    default: Option<&'a ast::Literal>,
}

impl Gen<'_> {
    fn q(&self, name: &str) -> String {
        self.dialect.quote_ident(name)
    }

    fn columns(&self) -> Result<Vec<Col<'_>>, String> {
        self.source
            .columns
            .values()
            .map(|c| {
                let ty = c.ty.as_ref().ok_or_else(|| format!("column `{}` has no type", c.name))?;
                Ok(Col { name: &c.name, ty, required: !c.nullable, default: c.default.as_ref() })
            })
            .collect()
    }

    fn source_literal(&self) -> String {
        text_literal(self.name)
    }

    fn all(&self, sql: &mut Sql) -> Result<SourceSql, String> {
        let columns = self.columns()?;
        let mut out = SourceSql::default();
        self.load(sql, &columns, &mut out)?;
        out.validate = self.validate(sql, &columns)?;
        out.merge = self.merge(sql, &columns)?;
        out.archive_deleted = self.archive_deleted(sql, &columns)?;
        out.record = vec![Statement::new(Role::Record, self.record(sql))];
        out.clear_staging = self.delete(sql, Role::Clear, &staging_table(self.name), None);
        out.clear_staging
            .push(Statement::new(Role::Clear, sql.check(self.dialect, self.drop_raw())));
        out.retention = self.retention(sql, &columns)?;
        Ok(out)
    }

    fn raw(&self) -> String {
        self.q(&raw_table(self.name))
    }

    fn drop_raw(&self) -> String {
        // Qualified with the temporary schema, so it can never drop a real table.
        self.dialect.drop_scratch(&self.raw())
    }

    /// `DELETE FROM <name> [WHERE condition]` as statements of `role`; where rows cannot be
    /// deleted, the table's replacement ([`rewrite::delete`]).
    fn delete(
        &self,
        sql: &mut Sql,
        role: Role,
        name: &str,
        condition: Option<String>,
    ) -> Vec<Statement> {
        let d = self.dialect;
        let texts = if d.row_mutations() {
            let table = self.q(name);
            vec![match condition {
                Some(condition) => format!("DELETE FROM {table}\nWHERE {condition}"),
                None => format!("DELETE FROM {table}"),
            }]
        } else {
            rewrite::delete(d, name, condition.as_deref())
        };
        texts.into_iter().map(|text| Statement::new(role, sql.check(d, text))).collect()
    }

    fn load(&self, sql: &mut Sql, columns: &[Col<'_>], out: &mut SourceSql) -> Result<(), String> {
        let d = self.dialect;
        let landing = self.source.landing.as_ref().ok_or("source without landing")?;
        let text = d.type_name(SqlType::Text);
        let names: Vec<String> = columns.iter().map(|c| self.q(c.name)).collect();
        let of_batch = format!("source = {}\n  AND batch = {{batch}}", self.source_literal());
        // Leftovers of an attempt that did not commit.
        let mut load = self.delete(sql, Role::Clear, &staging_table(self.name), None);
        load.extend(self.delete(sql, Role::Clear, "etl_rejects", Some(of_batch.clone())));
        if self.incremental().is_some() {
            load.extend(self.delete(sql, Role::Clear, "etl_late", Some(of_batch)));
        }
        load.push(Statement::new(Role::Clear, sql.check(d, self.drop_raw())));
        if d.bulk_load() == BulkLoad::DataSourceViews {
            load.push(self.read_into_view(sql, columns, landing)?);
            out.load = load;
            return Ok(());
        }
        let json_doc =
            landing.format == LandingFormat::Jsonl && d.bulk_load() == BulkLoad::CopyFromStdin;
        let mut raw_columns = vec![format!(
            "_tally_line {}",
            match d.bulk_load() {
                BulkLoad::DataSourceViews => d.type_name(SqlType::BigInt),
                BulkLoad::ReadFunctions => d.type_name(SqlType::BigInt),
                // COPY cannot number lines; a sequence counts records in file order.
                BulkLoad::CopyFromStdin => "BIGSERIAL".to_string(),
            }
        )];
        if json_doc {
            raw_columns.push(format!("_tally_doc {text}"));
        }
        raw_columns.extend(names.iter().map(|n| format!("{n} {text}")));
        load.push(Statement::new(
            Role::Create,
            sql.statement(
                d,
                "raw_table.sql",
                Ctx::new().set("raw", &self.raw()).set("columns", &raw_columns.join(",\n  ")),
            ),
        ));
        let csv = landing.csv.clone().unwrap_or_default();
        // Lines before the first record: skipped lines and the header.
        let offset = csv.skip + u64::from(csv.header);
        match (d.bulk_load(), landing.format) {
            (BulkLoad::ReadFunctions, LandingFormat::Csv) => {
                let struct_literal = self.varchar_struct(columns);
                let mut options = read_csv_options(
                    csv.header,
                    &csv.delimiter.to_string(),
                    &csv.quote.to_string(),
                    &csv.null,
                );
                options.extend([
                    format!("skip = {}", csv.skip),
                    "auto_detect = false".to_string(),
                    format!("columns = {struct_literal}"),
                ]);
                let line = if offset > 0 {
                    format!("row_number() OVER () + {offset}")
                } else {
                    "row_number() OVER ()".to_string()
                };
                load.push(Statement::new(
                    Role::ReadFile,
                    sql.statement(
                        d,
                        "read_csv.sql",
                        Ctx::new()
                            .set("raw", &self.raw())
                            .set("columns", &names.join(", "))
                            .set("line", &line)
                            .set("select", &names.join(",\n  "))
                            .set("options", &options.join(",\n  ")),
                    ),
                ));
            }
            // The runtime converts the sheet to CSV first, each record's sheet row as its first
            // field (`_tally_row`): see `runtime/src/etl/xlsx.rs`.
            (BulkLoad::ReadFunctions, LandingFormat::Xlsx) => {
                let converted = tally_contract::plan::Xlsx::converted();
                let mut fields = vec!["'_tally_row': 'VARCHAR'".to_string()];
                fields
                    .extend(columns.iter().map(|c| format!("{}: 'VARCHAR'", text_literal(c.name))));
                let mut options = read_csv_options(
                    converted.header,
                    &converted.delimiter,
                    &converted.quote,
                    &converted.null,
                );
                options.extend([
                    "auto_detect = false".to_string(),
                    format!("columns = {{{}}}", fields.join(", ")),
                ]);
                load.push(Statement::new(
                    Role::ReadFile,
                    sql.statement(
                        d,
                        "read_csv.sql",
                        Ctx::new()
                            .set("raw", &self.raw())
                            .set("columns", &names.join(", "))
                            .set("line", "CAST(_tally_row AS BIGINT)")
                            .set("select", &names.join(",\n  "))
                            .set("options", &options.join(",\n  ")),
                    ),
                ));
            }
            (BulkLoad::ReadFunctions, LandingFormat::Jsonl) => {
                load.push(Statement::new(
                    Role::ReadFile,
                    sql.statement(
                        d,
                        "read_json.sql",
                        Ctx::new()
                            .set("raw", &self.raw())
                            .set("columns", &names.join(", "))
                            .set("select", &names.join(",\n  "))
                            .set("struct", &self.varchar_struct(columns)),
                    ),
                ));
            }
            (BulkLoad::ReadFunctions, LandingFormat::Parquet) => {
                load.push(Statement::new(
                    Role::ReadFile,
                    sql.statement(
                        d,
                        "read_parquet.sql",
                        Ctx::new()
                            .set("raw", &self.raw())
                            .set("columns", &names.join(", "))
                            .set("select", &self.cast_to_varchar(&names, "VARCHAR").join(",\n  ")),
                    ),
                ));
            }
            (BulkLoad::DataSourceViews, _) => {
                return Err("a data source view is read above".to_string())
            }
            (BulkLoad::CopyFromStdin, format) => {
                let (copy_columns, options) = match format {
                    LandingFormat::Csv => (
                        names.join(", "),
                        copy_csv_options(
                            csv.header,
                            &csv.delimiter.to_string(),
                            &csv.quote.to_string(),
                            &csv.null,
                        ),
                    ),
                    // Each line is one field: the delimiter and quote are control characters
                    // JSON text cannot contain unescaped.
                    LandingFormat::Jsonl => (
                        "_tally_doc".to_string(),
                        vec![
                            "FORMAT csv".to_string(),
                            "DELIMITER E'\\x01'".to_string(),
                            "QUOTE E'\\x02'".to_string(),
                        ],
                    ),
                    // The sheet converted to CSV by the runtime, its row numbers first.
                    LandingFormat::Xlsx => {
                        let converted = tally_contract::plan::Xlsx::converted();
                        (
                            format!("_tally_line, {}", names.join(", ")),
                            copy_csv_options(
                                converted.header,
                                &converted.delimiter,
                                &converted.quote,
                                &converted.null,
                            ),
                        )
                    }
                    // Converted to CSV by `convert` first, with DuckDB's defaults.
                    LandingFormat::Parquet => (
                        names.join(", "),
                        vec![
                            "FORMAT csv".to_string(),
                            "HEADER true".to_string(),
                            "DELIMITER ','".to_string(),
                            "QUOTE '\"'".to_string(),
                            "NULL ''".to_string(),
                        ],
                    ),
                };
                if format == LandingFormat::Parquet {
                    let duckdb = super::dialect::DuckDb;
                    out.convert.push(Statement::new(
                        Role::Convert,
                        sql.statement(
                            &duckdb,
                            "parquet_to_csv.sql",
                            Ctx::new().set(
                                "select",
                                &self.cast_to_varchar(&names, "VARCHAR").join(",\n    "),
                            ),
                        ),
                    ));
                }
                load.push(Statement::new(
                    Role::CopyFromStdin,
                    sql.statement(
                        d,
                        "copy.sql",
                        Ctx::new()
                            .set("raw", &self.raw())
                            .set("columns", &copy_columns)
                            .set("options", &options.join(", ")),
                    ),
                ));
                if format == LandingFormat::Csv && offset > 0 {
                    load.push(Statement::new(
                        Role::Normalize,
                        sql.check(
                            d,
                            format!(
                                "UPDATE {}\nSET _tally_line = _tally_line + {offset}",
                                self.raw()
                            ),
                        ),
                    ));
                }
                if format == LandingFormat::Jsonl {
                    let sets: Vec<String> = columns
                        .iter()
                        .map(|c| {
                            format!(
                                "{} = CAST(_tally_doc AS JSONB) ->> {}",
                                self.q(c.name),
                                text_literal(c.name)
                            )
                        })
                        .collect();
                    load.push(Statement::new(
                        Role::Normalize,
                        sql.check(
                            d,
                            format!("UPDATE {}\nSET\n  {}", self.raw(), sets.join(",\n  ")),
                        ),
                    ));
                }
            }
        }
        out.load = load;
        Ok(())
    }

    /// Spark: the raw rows as a cached temporary view over the landed file, every column as
    /// text and `_tally_line` the line (CSV, JSON lines) or the record (Parquet), read once.
    fn read_into_view(
        &self,
        sql: &mut Sql,
        columns: &[Col<'_>],
        landing: &crate::semantic::Landing,
    ) -> Result<Statement, String> {
        let d = self.dialect;
        let text = d.type_name(SqlType::Text);
        let names: Vec<String> = columns.iter().map(|c| self.q(c.name)).collect();
        // Rows in file order: one file's splits are numbered in order.
        let line = "row_number() OVER (ORDER BY monotonically_increasing_id())";
        let file = |format: &str| format!("IDENTIFIER('{format}.`' || {{file}} || '`')");
        let schema: Vec<String> =
            columns.iter().map(|c| format!("`{}` {text}", c.name.replace('`', "``"))).collect();
        let schema = text_literal(&schema.join(", "));
        let fields: Vec<String> = names.iter().map(|n| format!("l.r.{n} AS {n}")).collect();
        let query = match landing.format {
            LandingFormat::Csv => {
                let csv = landing.csv.clone().unwrap_or_default();
                // Lines before the first record: skipped lines and the header.
                let offset = csv.skip + u64::from(csv.header);
                let options =
                    from_csv_options(&csv.delimiter.to_string(), &csv.quote.to_string(), &csv.null);
                format!(
                    "SELECT\n  l._tally_line,\n  {}\nFROM (\n  SELECT\n    {line} AS _tally_line,\n    from_csv(value, {schema}, map({})) AS r\n  FROM {}\n) AS l\nWHERE l._tally_line > {offset}",
                    fields.join(",\n  "),
                    options,
                    file("text")
                )
            }
            LandingFormat::Jsonl => format!(
                "SELECT\n  l._tally_line,\n  {}\nFROM (\n  SELECT\n    {line} AS _tally_line,\n    from_json(value, {schema}) AS r\n  FROM {}\n) AS l",
                fields.join(",\n  "),
                file("text")
            ),
            LandingFormat::Xlsx => {
                // The sheet converted to CSV by the runtime: a header line, then each record
                // with its sheet row first.
                let converted = tally_contract::plan::Xlsx::converted();
                let mut schema: Vec<String> = vec![format!("`_tally_row` {text}")];
                schema.extend(
                    columns.iter().map(|c| format!("`{}` {text}", c.name.replace('`', "``"))),
                );
                let schema = text_literal(&schema.join(", "));
                let options =
                    from_csv_options(&converted.delimiter, &converted.quote, &converted.null);
                format!(
                    "SELECT\n  CAST(l.r._tally_row AS BIGINT) AS _tally_line,\n  {}\nFROM (\n  SELECT\n    {line} AS n,\n    from_csv(value, {schema}, map({})) AS r\n  FROM {}\n) AS l\nWHERE l.n > 1",
                    fields.join(",\n  "),
                    options,
                    file("text")
                )
            }
            LandingFormat::Parquet => format!(
                "SELECT\n  {line} AS _tally_line,\n  {}\nFROM {}",
                self.cast_to_varchar(&names, &text).join(",\n  "),
                file("parquet")
            ),
        };
        Ok(Statement::new(
            Role::ReadFile,
            sql.check(d, format!("CACHE TABLE {} AS\n{query}", self.raw())),
        ))
    }

    /// `{'a': 'VARCHAR', ...}`: DuckDB reads every column as text.
    fn varchar_struct(&self, columns: &[Col<'_>]) -> String {
        let fields: Vec<String> =
            columns.iter().map(|c| format!("{}: 'VARCHAR'", text_literal(c.name))).collect();
        format!("{{{}}}", fields.join(", "))
    }

    fn cast_to_varchar(&self, names: &[String], ty: &str) -> Vec<String> {
        names.iter().map(|n| format!("CAST({n} AS {ty}) AS {n}")).collect()
    }

    fn validate(&self, sql: &mut Sql, columns: &[Col<'_>]) -> Result<Vec<Statement>, String> {
        let d = self.dialect;
        let mut statements = Vec::new();
        for c in columns {
            let value = format!("r.{}", self.q(c.name));
            let missing = c.required && c.default.is_none();
            let valid = valid(d, &value, c.ty);
            let invalid_reason = match c.ty {
                ColumnType::Enum(values) => format!("not one of: {}", values.join(", ")),
                other => format!("not a valid {}", type_word(other)),
            };
            let (bad, reason) = match (missing, &valid) {
                (false, None) => continue,
                (true, None) => (format!("{value} IS NULL"), text_literal("missing value")),
                (false, Some(valid)) => (
                    format!("{value} IS NOT NULL\n  AND NOT {valid}"),
                    text_literal(&invalid_reason),
                ),
                (true, Some(valid)) => (
                    format!("{value} IS NULL\n  OR NOT {valid}"),
                    format!(
                        "CASE WHEN {value} IS NULL THEN {} ELSE {} END",
                        text_literal("missing value"),
                        text_literal(&invalid_reason)
                    ),
                ),
            };
            statements.push(Statement::new(
                Role::Reject,
                sql.statement(
                    d,
                    "reject.sql",
                    Ctx::new()
                        .set("source", &self.source_literal())
                        .set("column", &text_literal(c.name))
                        .set("value", &value)
                        .set("reason", &reason)
                        .set("raw", &self.raw())
                        .set("bad", &bad),
                ),
            ));
        }
        if let Some(LoadMode::Append { delete_marker }) = &self.source.load {
            statements.push(self.reject_repeated_keys(sql, columns, delete_marker.as_deref())?);
        }
        let mut skipped = Vec::new();
        if let Some((by, lookback)) = self.incremental() {
            statements.push(self.late(sql, columns, by, lookback)?);
            skipped.push("etl_late".to_string());
        }
        let mut names: Vec<String> = columns.iter().map(|c| self.q(c.name)).collect();
        names.extend(["_tally_batch", "_tally_file", "_tally_line"].map(String::from));
        let mut select: Vec<String> = Vec::new();
        for c in columns {
            let value = format!("r.{}", self.q(c.name));
            let typed = typed(d, &value, c.ty);
            let typed = match c.default {
                Some(literal) => format!("COALESCE({typed}, {})", default_literal(literal)?),
                None => typed,
            };
            select.push(format!("{typed} AS {}", self.q(c.name)));
        }
        statements.push(Statement::new(
            Role::Stage,
            sql.statement(
                d,
                "stage.sql",
                Ctx::new()
                    .set("staging", &self.q(&staging_table(self.name)))
                    .set("columns", &names.join(", "))
                    .set("select", &select.join(",\n  "))
                    .set("raw", &self.raw())
                    .set("source", &self.source_literal())
                    .set_list("skipped", skipped),
            ),
        ));
        Ok(statements)
    }

    /// Append: rejects a line whose key is already loaded, or was given by an earlier line of
    /// the file, unless the line just before it with that key is a deletion (`marker` true):
    /// an append source's rows never change, and a correction arrives as a deletion, then the
    /// corrected row. Deletions themselves are never rejected here.
    fn reject_repeated_keys(
        &self,
        sql: &mut Sql,
        columns: &[Col<'_>],
        marker: Option<&str>,
    ) -> Result<Statement, String> {
        let d = self.dialect;
        let ty = |name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.ty)
                .ok_or_else(|| format!("column `{name}` is not a column"))
        };
        let typed_col = |row: &str, name: &str| -> Result<String, String> {
            Ok(typed(d, &format!("{row}.{}", self.q(name)), ty(name)?))
        };
        let same_key = |a: &str, b: &str| -> Result<String, String> {
            let parts: Vec<String> = self
                .source
                .key
                .iter()
                .map(|k| Ok(format!("{} = {}", typed_col(a, k)?, typed_col(b, k)?)))
                .collect::<Result<_, String>>()?;
            Ok(parts.join(" AND "))
        };
        let current = self.q(&current_table(self.name));
        let source = self.source_literal();
        let kept = |row: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM etl_rejects AS e WHERE e.source = {source} AND e.batch = {{batch}} AND e.line = {row}._tally_line)"
            )
        };
        let current_key: Vec<String> = self
            .source
            .key
            .iter()
            .map(|k| Ok(format!("c.{} = {}", self.q(k), typed_col("r", k)?)))
            .collect::<Result<_, String>>()?;
        let repeated = format!(
            "(\n    EXISTS (SELECT 1 FROM {current} AS c WHERE {})\n    OR EXISTS (\n      SELECT 1\n      FROM {} AS p\n      WHERE {}\n        AND p._tally_line < r._tally_line\n        AND {}\n    )\n  )",
            current_key.join(" AND "),
            self.raw(),
            same_key("p", "r")?,
            kept("p"),
        );
        let mut conditions = vec![kept("r"), repeated];
        if let Some(marker) = marker {
            conditions.push(format!("{} IS NOT TRUE", typed_col("r", marker)?));
            // The previous kept line with the key is a deletion: a correction.
            if !d.deep_correlation() {
                // The kept lines, each with the next kept line of its key: the one before `r`
                // is the one whose next is `r`.
                let keys: Vec<String> = self
                    .source
                    .key
                    .iter()
                    .map(|k| typed_col("p", k))
                    .collect::<Result<_, String>>()?;
                conditions.push(format!(
                    "NOT EXISTS (\n    SELECT 1\n    FROM (\n      SELECT\n        p.*,\n        lead(p._tally_line) OVER (PARTITION BY {keys} ORDER BY p._tally_line) AS _tally_next\n      FROM {raw} AS p\n      WHERE {kept_p}\n    ) AS p\n    WHERE p._tally_next = r._tally_line\n      AND {marker_p} IS TRUE\n  )",
                    keys = keys.join(", "),
                    raw = self.raw(),
                    kept_p = kept("p"),
                    marker_p = typed_col("p", marker)?,
                ));
            } else {
                conditions.push(format!(
                "NOT EXISTS (\n    SELECT 1\n    FROM {raw} AS p\n    WHERE {same_p}\n      AND p._tally_line < r._tally_line\n      AND {kept_p}\n      AND {marker_p} IS TRUE\n      AND NOT EXISTS (\n        SELECT 1\n        FROM {raw} AS q\n        WHERE {same_q}\n          AND q._tally_line > p._tally_line\n          AND q._tally_line < r._tally_line\n          AND {kept_q}\n      )\n  )",
                raw = self.raw(),
                same_p = same_key("p", "r")?,
                kept_p = kept("p"),
                marker_p = typed_col("p", marker)?,
                same_q = same_key("q", "r")?,
                kept_q = kept("q"),
            ));
            }
        }
        let first_key = self.source.key.first().ok_or("source without a key")?;
        Ok(Statement::new(
            Role::Reject,
            sql.statement(
                d,
                "reject.sql",
                Ctx::new()
                    .set("source", &source)
                    .set("column", &text_literal(first_key))
                    .set("value", &format!("r.{}", self.q(first_key)))
                    .set(
                        "reason",
                        &text_literal(if marker.is_some() {
                            "key already loaded: rows of an append source never change (land a deletion of the key before its corrected row)"
                        } else {
                            "key already loaded: rows of an append source never change"
                        }),
                    )
                    .set("raw", &self.raw())
                    .set("bad", &conditions.join("\n  AND ")),
            ),
        ))
    }

    /// An incremental source's watermark column and lookback.
    fn incremental(&self) -> Option<(&str, Option<u64>)> {
        match self.source.load.as_ref()? {
            LoadMode::Incremental { by, lookback_minutes, .. } => {
                Some((by.as_str(), *lookback_minutes))
            }
            _ => None,
        }
    }

    /// Records in `etl_late` the rows of the file (not rejected) whose watermark column is
    /// older than the watermark less the lookback; `stage` leaves them out.
    fn late(
        &self,
        sql: &mut Sql,
        columns: &[Col<'_>],
        by: &str,
        lookback: Option<u64>,
    ) -> Result<Statement, String> {
        let d = self.dialect;
        let ty = columns
            .iter()
            .find(|c| c.name == by)
            .map(|c| c.ty)
            .ok_or_else(|| format!("watermark column `{by}` is not a column"))?;
        let watermark = format!("CAST(w.value AS {})", d.type_name(sql_type(ty)));
        let (cutoff, reason) = match lookback {
            None => (watermark, "older than the watermark".to_string()),
            Some(minutes) => {
                let (amount, unit) = lookback_unit(minutes);
                (
                    format!("{watermark} - {}", interval(amount, unit)),
                    format!(
                        "older than the watermark less the lookback of {amount} {}",
                        unit.word(amount)
                    ),
                )
            }
        };
        Ok(Statement::new(
            Role::Late,
            sql.statement(
                d,
                "late.sql",
                Ctx::new()
                    .set("source", &self.source_literal())
                    .set("column", &text_literal(by))
                    .set("by", &self.q(by))
                    .set("reason", &text_literal(&reason))
                    .set("raw", &self.raw())
                    .set("typed", &typed(d, &format!("r.{}", self.q(by)), ty))
                    .set("cutoff", &cutoff),
            ),
        ))
    }

    fn key(&self) -> Vec<String> {
        self.source.key.iter().map(|k| self.q(k)).collect()
    }

    fn merge(&self, sql: &mut Sql, columns: &[Col<'_>]) -> Result<Vec<Statement>, String> {
        let d = self.dialect;
        let mode = self.source.load.as_ref().ok_or("source without a load mode")?;
        let names: Vec<String> = columns.iter().map(|c| self.q(c.name)).collect();
        let key = self.key();
        let mut insert_columns = names.clone();
        insert_columns
            .extend(["_tally_source", "_tally_batch", "_tally_loaded_at"].map(String::from));
        let mut select: Vec<String> = names.iter().map(|n| format!("s.{n}")).collect();
        let system = self.source.meta.title.as_deref().unwrap_or(self.name);
        select.push(text_literal(system));
        select.push("s._tally_batch".to_string());
        select.push("{now}".to_string());

        let mut conditions = Vec::new();
        if let Some(past) = self.past_retention("s", false) {
            // A row whose age column is empty is not past anything (and must not vanish).
            conditions.push(format!("NOT COALESCE({past}, FALSE)"));
        }
        // The last line of a key decides: a row is loaded, a deletion is not. (An append
        // source's repeated keys were rejected by `validate`, but after a deletion.)
        let order = "DESC";
        // Incremental: rows older than the watermark (less the lookback) were set aside as
        // late by `validate` and are not staged. Rows at the watermark itself are applied
        // again: a file may hold more changes made at the same instant as the last one
        // loaded, and an upsert twice is harmless.
        if let Some(delete_marker) = mode.delete_marker() {
            conditions.push(format!("s.{} IS NOT TRUE", self.q(delete_marker)));
        }
        // Append: a key the file deletes leaves (for the archive) before its corrected row, if
        // any, is inserted.
        // A key the file deletes for good is archived `deleted_upstream`; one it deletes and
        // brings back (a correction) `corrected_upstream`.
        let mut statements = match mode {
            LoadMode::Append { delete_marker: Some(marker) } => {
                let mut moves =
                    self.move_to_archive(sql, columns, "deleted_upstream", &|row: &str| {
                        self.deleted_in_file(row, marker, true)
                    });
                moves.extend(self.move_to_archive(sql, columns, "corrected_upstream", &|row| {
                    format!(
                        "{}\n  AND NOT {}",
                        self.deleted_in_file(row, marker, false),
                        self.deleted_in_file(row, marker, true)
                    )
                }));
                moves
            }
            _ => Vec::new(),
        };
        if !d.row_mutations() {
            let new = Staged { columns: &insert_columns, select: &select, order, conditions };
            statements.extend(self.merge_by_replacement(sql, mode, &key, &new)?);
            return Ok(statements);
        }
        let action = match mode {
            LoadMode::Append { .. } => "NOTHING".to_string(),
            _ => {
                let mut sets: Vec<String> = names
                    .iter()
                    .filter(|n| !key.contains(n))
                    .map(|n| format!("{n} = excluded.{n}"))
                    .collect();
                sets.push("_tally_source = excluded._tally_source".to_string());
                sets.push("_tally_batch = excluded._tally_batch".to_string());
                let set = format!("UPDATE SET\n  {}", sets.join(",\n  "));
                match mode {
                    // A row accepted within the lookback never replaces a newer version of
                    // its key.
                    LoadMode::Incremental { by, .. } => {
                        let current = self.q(&current_table(self.name));
                        let by = self.q(by);
                        format!(
                            "{set}\nWHERE {current}.{by} IS NULL\n  OR excluded.{by} IS NULL\n  OR {current}.{by} <= excluded.{by}"
                        )
                    }
                    _ => set,
                }
            }
        };
        statements.push(Statement::new(
            Role::Merge,
            sql.statement(
                d,
                "upsert.sql",
                Ctx::new()
                    .set("current", &self.q(&current_table(self.name)))
                    .set("staging", &self.q(&staging_table(self.name)))
                    .set("columns", &insert_columns.join(", "))
                    .set("select", &select.join(",\n  "))
                    .set("key", &key.join(", "))
                    .set("order", order)
                    .set_list("conditions", conditions)
                    .set("action", &action),
            ),
        ));
        if let LoadMode::Incremental { by, .. } = mode {
            let ty = d.type_name(self.column_sql_type(by)?);
            statements.push(Statement::new(
                Role::Watermark,
                sql.statement(
                    d,
                    "watermark.sql",
                    Ctx::new()
                        .set("source", &self.source_literal())
                        .set("column", &text_literal(by))
                        .set("value", &format!("s.{}", self.q(by)))
                        .set("text", &d.type_name(SqlType::Text))
                        .set("staging", &self.q(&staging_table(self.name)))
                        .set("type", &ty),
                ),
            ));
        }
        Ok(statements)
    }

    /// Where rows cannot be updated in place: the current table replaced by its rows whose
    /// key the file does not have, and the staged rows merged with the current row of their
    /// key as `ON CONFLICT` would (the first load time kept; an append never replaces; an
    /// incremental row never replaces a newer version). The watermark likewise.
    fn merge_by_replacement(
        &self,
        sql: &mut Sql,
        mode: &LoadMode,
        key: &[String],
        new: &Staged<'_>,
    ) -> Result<Vec<Statement>, String> {
        let d = self.dialect;
        let current_name = current_table(self.name);
        let current = self.q(&current_name);
        let staging = self.q(&staging_table(self.name));
        let first_key = key.first().ok_or("source without a key")?;
        let matched = format!("c.{first_key} IS NOT NULL");
        let keep_current = match mode {
            LoadMode::Append { .. } => Some(matched.clone()),
            LoadMode::Incremental { by, .. } => {
                let by = self.q(by);
                Some(format!(
                    "{matched} AND NOT (c.{by} IS NULL OR n.{by} IS NULL OR c.{by} <= n.{by})"
                ))
            }
            LoadMode::Snapshot | LoadMode::Cdc { .. } => None,
        };
        let merged: Vec<String> = new
            .columns
            .iter()
            .map(|c| {
                if key.contains(c) {
                    format!("n.{c}")
                } else if c == "_tally_loaded_at" {
                    format!("CASE WHEN {matched} THEN c.{c} ELSE n.{c} END AS {c}")
                } else {
                    match &keep_current {
                        Some(keep) => format!("CASE WHEN {keep} THEN c.{c} ELSE n.{c} END AS {c}"),
                        None => format!("n.{c}"),
                    }
                }
            })
            .collect();
        let staged: Vec<String> =
            new.select.iter().zip(new.columns).map(|(e, c)| format!("{e} AS {c}")).collect();
        let mut filter = vec!["s._tally_rank = 1".to_string()];
        filter.extend(new.conditions.iter().cloned());
        let same: Vec<String> = key.iter().map(|k| format!("n.{k} = c.{k}")).collect();
        let query = format!(
            "WITH n AS (\n  SELECT\n    {staged}\n  FROM (\n    SELECT\n      s.*,\n      row_number() OVER (PARTITION BY {key} ORDER BY s._tally_line {order}) AS _tally_rank\n    FROM {staging} AS s\n  ) AS s\n  WHERE {filter}\n)\nSELECT\n  {kept}\nFROM {current} AS c\nWHERE NOT EXISTS (\n  SELECT 1\n  FROM n\n  WHERE {same}\n)\nUNION ALL\nSELECT\n  {merged}\nFROM n\nLEFT JOIN {current} AS c\n  ON {same}",
            staged = staged.join(",\n    "),
            key = key.join(", "),
            order = new.order,
            filter = filter.join("\n    AND "),
            kept = new.columns.iter().map(|c| format!("c.{c}")).collect::<Vec<_>>().join(",\n  "),
            merged = merged.join(",\n  "),
            same = same.join("\n    AND "),
        );
        let mut statements: Vec<Statement> =
            rewrite::replace(d, &current_name, Some(new.columns), &query)
                .into_iter()
                .map(|text| Statement::new(Role::Merge, sql.check(d, text)))
                .collect();
        if let LoadMode::Incremental { by, .. } = mode {
            let ty = d.type_name(self.column_sql_type(by)?);
            let source = self.source_literal();
            let older = format!("COALESCE(CAST(o.value AS {ty}) < CAST(n.value AS {ty}), FALSE)");
            let query = format!(
                "WITH n AS (\n  SELECT\n    {source} AS source,\n    {column} AS column_name,\n    CAST(max(s.{by}) AS {text}) AS value,\n    {{now}} AS updated_at\n  FROM {staging} AS s\n  HAVING max(s.{by}) IS NOT NULL\n),\no AS (\n  SELECT source, column_name, value, updated_at\n  FROM etl_watermark\n  WHERE source = {source}\n)\nSELECT source, column_name, value, updated_at\nFROM etl_watermark\nWHERE source <> {source}\nUNION ALL\nSELECT o.*\nFROM o\nWHERE NOT EXISTS (SELECT 1 FROM n WHERE {older})\nUNION ALL\nSELECT n.*\nFROM n\nWHERE NOT EXISTS (SELECT 1 FROM o WHERE NOT {older})",
                column = text_literal(by),
                by = self.q(by),
                text = d.type_name(SqlType::Text),
            );
            let columns = ["source", "column_name", "value", "updated_at"].map(String::from);
            statements.extend(
                rewrite::replace(d, "etl_watermark", Some(&columns), &query)
                    .into_iter()
                    .map(|text| Statement::new(Role::Watermark, sql.check(d, text))),
            );
        }
        Ok(statements)
    }

    fn column_sql_type(&self, column: &str) -> Result<SqlType, String> {
        let c = self.source.columns.get(column).ok_or_else(|| format!("no column `{column}`"))?;
        c.ty.as_ref().map(sql_type).ok_or_else(|| format!("column `{column}` has no type"))
    }

    fn archive_deleted(
        &self,
        sql: &mut Sql,
        columns: &[Col<'_>],
    ) -> Result<Vec<Statement>, String> {
        let d = self.dialect;
        let mode = self.source.load.as_ref().ok_or("source without a load mode")?;
        let staging = self.q(&staging_table(self.name));
        let (reason, condition): (&str, Box<Condition<'_>>) = match mode {
            LoadMode::Snapshot => {
                // A key is missing when no line of the file has it, rejected lines included:
                // a line rejected for a bad value elsewhere does not delete its row. A file
                // with no good rows deletes nothing (more likely a broken file than an empty
                // table).
                let typed_keys: Vec<(String, String)> = self
                    .source
                    .key
                    .iter()
                    .map(|k| {
                        let ty = columns
                            .iter()
                            .find(|c| c.name == k)
                            .map(|c| c.ty)
                            .ok_or_else(|| format!("key column `{k}` is not a column"))?;
                        Ok((typed(d, &format!("r.{}", self.q(k)), ty), self.q(k)))
                    })
                    .collect::<Result<_, String>>()?;
                let raw = self.raw();
                let staging = staging.clone();
                (
                    "missing_from_snapshot",
                    Box::new(move |row: &str| {
                        let same: Vec<String> =
                            typed_keys.iter().map(|(t, k)| format!("{t} = {row}.{k}")).collect();
                        format!(
                            "EXISTS (SELECT 1 FROM {staging})\n  AND NOT EXISTS (\n    SELECT 1\n    FROM {raw} AS r\n    WHERE {}\n  )",
                            same.join("\n      AND ")
                        )
                    }),
                )
            }
            LoadMode::Cdc { delete_marker }
            | LoadMode::Incremental { delete_marker: Some(delete_marker), .. } => {
                let marker = delete_marker.clone();
                (
                    "deleted_upstream",
                    Box::new(move |row: &str| self.deleted_in_file(row, &marker, true)),
                )
            }
            // Append: deletions are archived by `merge`, before corrected rows are inserted.
            LoadMode::Append { .. } | LoadMode::Incremental { delete_marker: None, .. } => {
                return Ok(Vec::new())
            }
        };
        Ok(self.move_to_archive(sql, columns, reason, &*condition))
    }

    /// Whether the file deletes the key of `row`: it has a deletion (`marker` true) of the key;
    /// with `last`, only when that deletion is the key's last line in the file (a later line
    /// brings the key back).
    fn deleted_in_file(&self, row: &str, marker: &str, last: bool) -> String {
        let staging = self.q(&staging_table(self.name));
        let key = self.key();
        let marker = self.q(marker);
        let same: Vec<String> = key.iter().map(|k| format!("s.{k} = {row}.{k}")).collect();
        let mut text = format!(
            "EXISTS (\n    SELECT 1\n    FROM {staging} AS s\n    WHERE {}\n      AND s.{marker} IS TRUE",
            same.join("\n      AND ")
        );
        if last {
            let later: Vec<String> = key.iter().map(|k| format!("later.{k} = s.{k}")).collect();
            text.push_str(&format!(
                "\n      AND NOT EXISTS (\n        SELECT 1\n        FROM {staging} AS later\n        WHERE {}\n          AND later._tally_line > s._tally_line\n      )",
                later.join("\n          AND ")
            ));
        }
        text.push_str("\n  )");
        text
    }

    /// Copies the current rows meeting `condition` to the archive with `reason`, then deletes
    /// them. `condition` is given the name its rows are read under.
    fn move_to_archive(
        &self,
        sql: &mut Sql,
        columns: &[Col<'_>],
        reason: &str,
        condition: &dyn Fn(&str) -> String,
    ) -> Vec<Statement> {
        let d = self.dialect;
        let current = self.q(&current_table(self.name));
        let mut names: Vec<String> = columns.iter().map(|c| self.q(c.name)).collect();
        let mut select: Vec<String> = names.iter().map(|n| format!("c.{n}")).collect();
        names.extend(
            [
                "_tally_batch",
                "_tally_loaded_at",
                "_tally_archived_at",
                "_tally_archive_reason",
                "_tally_purge_after",
            ]
            .map(String::from),
        );
        select.extend([
            "c._tally_batch".to_string(),
            "c._tally_loaded_at".to_string(),
            "{now}".to_string(),
            text_literal(reason),
            self.purge_after("c"),
        ]);
        let archive = self.q(&archive_table(self.name));
        let mut archived = condition("c");
        if !d.row_mutations() {
            // Without a transaction the archive copy and the delete are apart: a rerun after a
            // crash between them must not copy the rows again.
            let same: Vec<String> = self.key().iter().map(|k| format!("a.{k} = c.{k}")).collect();
            archived = format!(
                "({archived})\n  AND NOT EXISTS (\n    SELECT 1\n    FROM {archive} AS a\n    WHERE {}\n      AND a._tally_batch = c._tally_batch\n      AND a._tally_archive_reason = {}\n  )",
                same.join("\n      AND "),
                text_literal(reason)
            );
        }
        let insert = sql.statement(
            d,
            "archive.sql",
            Ctx::new()
                .set("archive", &archive)
                .set("columns", &names.join(", "))
                .set("select", &select.join(",\n  "))
                .set("current", &current)
                .set("condition", &archived),
        );
        let mut statements = vec![Statement::new(Role::Archive, insert)];
        // DELETE cannot alias its table in DuckDB, so the condition reads the table's name.
        statements.extend(self.delete(
            sql,
            Role::Expire,
            &current_table(self.name),
            Some(condition(&current)),
        ));
        statements
    }

    /// When a row's age starts: its `retain ... by` column, else when it was loaded.
    fn age_start(&self, row: &str, loaded: bool) -> Option<String> {
        let by = self
            .source
            .retention
            .by
            .as_ref()
            .map(|c| format!("CAST({row}.{} AS TIMESTAMP)", self.q(c)));
        match (by, loaded) {
            (Some(by), true) => Some(format!("COALESCE({by}, {row}._tally_loaded_at)")),
            (Some(by), false) => Some(by),
            (None, true) => Some(format!("{row}._tally_loaded_at")),
            // A staged row is being loaded now: not past any period counted from loading.
            (None, false) => None,
        }
    }

    /// The periods rows stay in the live tables: the source's `retain` and its rule's `keep`;
    /// whichever ends first applies.
    fn keeps(&self) -> Vec<Period> {
        keep_periods(self.model, self.source)
    }

    fn rule(&self) -> Option<&crate::semantic::RetentionRule> {
        self.model.retention_rules.get(self.source.retention.rule.as_ref()?)
    }

    /// A condition: the row is past one of its keep periods.
    fn past_retention(&self, row: &str, loaded: bool) -> Option<String> {
        let keeps = self.keeps();
        if keeps.is_empty() {
            return None;
        }
        let start = self.age_start(row, loaded)?;
        let past: Vec<String> =
            keeps.iter().map(|p| format!("{start} < {{now}} - {}", period_interval(*p))).collect();
        Some(past.join(" OR "))
    }

    /// When an archived row is purged: the rule's `archive` period after the row's age
    /// starts; without one, at once (at the next retention step).
    fn purge_after(&self, row: &str) -> String {
        match (self.rule().and_then(|r| r.archive), self.age_start(row, true)) {
            (Some(archive), Some(start)) => format!("{start} + {}", period_interval(archive)),
            _ => "{now}".to_string(),
        }
    }

    fn retention(&self, sql: &mut Sql, columns: &[Col<'_>]) -> Result<Vec<Statement>, String> {
        let mut statements = Vec::new();
        if self.past_retention("c", true).is_some() {
            let condition = |row: &str| self.past_retention(row, true).unwrap_or_default();
            statements.extend(self.move_to_archive(sql, columns, "past_retention", &condition));
        }
        statements.extend(self.delete(
            sql,
            Role::Purge,
            &archive_table(self.name),
            Some("_tally_purge_after <= {now}".to_string()),
        ));
        Ok(statements)
    }

    fn record(&self, sql: &mut Sql) -> String {
        // Only an incremental source has late rows.
        let late = match self.incremental() {
            Some(_) => format!(
                "(\n    SELECT count(*)\n    FROM etl_late\n    WHERE source = {}\n      AND batch = {{batch}}\n  )",
                self.source_literal()
            ),
            None => "0".to_string(),
        };
        sql.statement(
            self.dialect,
            "ledger.sql",
            Ctx::new()
                .set("source", &self.source_literal())
                .set("raw", &self.raw())
                .set("staging", &self.q(&staging_table(self.name)))
                .set("late", &late),
        )
    }
}

/// A lookback in the largest whole unit: `2880` minutes are `2 days`.
fn lookback_unit(minutes: u64) -> (u64, crate::syntax::ast::TimeUnit) {
    use crate::syntax::ast::TimeUnit;
    match minutes {
        m if m % (24 * 60) == 0 => (m / (24 * 60), TimeUnit::Day),
        m if m % 60 == 0 => (m / 60, TimeUnit::Hour),
        m => (m, TimeUnit::Minute),
    }
}

/// The periods a source's rows stay in the live tables: its `retain` and its rule's `keep`;
/// whichever ends first applies.
pub fn keep_periods(model: &Model, source: &Source) -> Vec<Period> {
    let mut keeps = Vec::new();
    if let Some(Keep::For(period)) = source.retention.keep {
        keeps.push(period);
    }
    if let Some(rule) = source.retention.rule.as_ref().and_then(|r| model.retention_rules.get(r)) {
        keeps.extend(rule.keep);
    }
    keeps
}

pub fn period_interval(period: Period) -> String {
    use crate::syntax::ast::TimeUnit;
    match period {
        Period::Days(days) => interval(days, TimeUnit::Day),
        Period::Months(months) => interval(months, TimeUnit::Month),
    }
}

fn type_word(ty: &ColumnType) -> String {
    match ty {
        ColumnType::String => "string".to_string(),
        ColumnType::Int => "int".to_string(),
        ColumnType::Decimal { precision, scale } => format!("decimal({precision}, {scale})"),
        ColumnType::Bool => "bool".to_string(),
        ColumnType::Date => "date".to_string(),
        ColumnType::Timestamp => "timestamp".to_string(),
        ColumnType::Enum(_) => "enum".to_string(),
    }
}

/// Texts accepted as `true` and as `false`, case-insensitive, after trimming.
const TRUE_WORDS: &str = "'true', 't', 'yes', 'y', '1'";
const FALSE_WORDS: &str = "'false', 'f', 'no', 'n', '0'";

/// A condition that holds when the text `value` (not null) is a valid value of `ty`; `None`
/// when every text is.
pub fn valid(d: &dyn Dialect, value: &str, ty: &ColumnType) -> Option<String> {
    let trimmed = format!("trim({value})");
    let re = |pattern: &str| d.regex_matches(&trimmed, &format!("'{pattern}'"));
    match ty {
        ColumnType::String => None,
        ColumnType::Enum(values) => {
            let list: Vec<String> = values.iter().map(|v| text_literal(v)).collect();
            Some(format!("{value} IN ({})", list.join(", ")))
        }
        // At most 18 digits always fits in a BIGINT.
        ColumnType::Int => Some(re("^[+-]?[0-9]{1,18}$")),
        ColumnType::Decimal { precision, scale } => {
            let whole = precision - scale;
            let pattern = match (whole, *scale) {
                (_, 0) => format!("^[+-]?0*[0-9]{{1,{whole}}}$"),
                (0, s) => format!("^[+-]?0*[.][0-9]{{1,{s}}}$"),
                (w, s) => {
                    format!("^[+-]?(0*[0-9]{{1,{w}}}([.][0-9]{{0,{s}}})?|[.][0-9]{{1,{s}}})$")
                }
            };
            Some(re(&pattern))
        }
        ColumnType::Bool => Some(format!("lower({trimmed}) IN ({TRUE_WORDS}, {FALSE_WORDS})")),
        ColumnType::Date => Some(format!(
            "CASE WHEN {} THEN {} ELSE FALSE END",
            re("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
            calendar_date(&trimmed)
        )),
        ColumnType::Timestamp => {
            // Hours, minutes and seconds may be absent (a date alone is midnight).
            let part = |at: u8, max: u8| {
                format!("CAST(COALESCE(NULLIF(substr({trimmed}, {at}, 2), ''), '0') AS INTEGER) <= {max}")
            };
            Some(format!(
                "CASE WHEN {} THEN {} AND {} AND {} AND {} ELSE FALSE END",
                re("^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?Z?$"),
                calendar_date(&trimmed),
                part(12, 23),
                part(15, 59),
                part(18, 59)
            ))
        }
    }
}

/// Whether the first ten characters of `text` (already `YYYY-MM-DD`) are a real date: year
/// 1 or later, month 1 to 12, day within the month. Nested `CASE` keeps each cast from
/// running on text that would make it fail.
fn calendar_date(text: &str) -> String {
    let month = format!("CAST(substr({text}, 6, 2) AS INTEGER)");
    let day = format!("CAST(substr({text}, 9, 2) AS INTEGER)");
    let last_day = format!(
        "EXTRACT(DAY FROM CAST(substr({text}, 1, 7) || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day')"
    );
    format!(
        "(CASE WHEN substr({text}, 1, 4) <> '0000' AND {month} BETWEEN 1 AND 12 THEN {day} BETWEEN 1 AND {last_day} ELSE FALSE END)"
    )
}

/// The text `value` as `ty`; NULL when it is not valid (rejected rows never get here, the
/// guard keeps engines that evaluate eagerly from failing).
pub fn typed(d: &dyn Dialect, value: &str, ty: &ColumnType) -> String {
    let trimmed = format!("trim({value})");
    let cast = |text: &str, to: SqlType| format!("CAST({text} AS {})", d.type_name(to));
    let converted = match ty {
        ColumnType::String | ColumnType::Enum(_) => return value.to_string(),
        ColumnType::Bool => format!("lower({trimmed}) IN ({TRUE_WORDS})"),
        ColumnType::Timestamp => {
            let zone_dropped = d.trim_trailing(&trimmed, "'Z'");
            cast(&format!("replace({zone_dropped}, 'T', ' ')"), SqlType::Timestamp)
        }
        other => cast(&trimmed, sql_type(other)),
    };
    match valid(d, value, ty) {
        Some(valid) => format!("CASE WHEN {valid} THEN {converted} END"),
        None => converted,
    }
}

/// A column default as a SQL literal.
fn default_literal(literal: &ast::Literal) -> Result<String, String> {
    Ok(match literal {
        ast::Literal::Int(d) | ast::Literal::Decimal(d) => d.clone(),
        ast::Literal::String(s) => text_literal(s),
        ast::Literal::Bool(true) => "TRUE".to_string(),
        ast::Literal::Bool(false) => "FALSE".to_string(),
        ast::Literal::Null => "NULL".to_string(),
        ast::Literal::Percent(p) => super::expr::percent(p)?,
        ast::Literal::Duration { .. } => return Err("a duration is not a column default".into()),
    })
}

/// DuckDB `read_csv` options for a CSV file's header, delimiter, quote (also the escape) and
/// null text.
fn read_csv_options(header: bool, delimiter: &str, quote: &str, null: &str) -> Vec<String> {
    vec![
        format!("header = {header}"),
        format!("delim = {}", text_literal(delimiter)),
        format!("quote = {}", text_literal(quote)),
        format!("escape = {}", text_literal(quote)),
        format!("nullstr = {}", text_literal(null)),
    ]
}

/// PostgreSQL `COPY` options for the same.
fn copy_csv_options(header: bool, delimiter: &str, quote: &str, null: &str) -> Vec<String> {
    vec![
        "FORMAT csv".to_string(),
        format!("HEADER {header}"),
        format!("DELIMITER {}", text_literal(delimiter)),
        format!("QUOTE {}", text_literal(quote)),
        format!("NULL {}", text_literal(null)),
    ]
}

/// Spark `from_csv` options (the `map(...)` arguments) for a delimiter, quote (also the
/// escape) and null text.
fn from_csv_options(delimiter: &str, quote: &str, null: &str) -> String {
    [("sep", delimiter), ("quote", quote), ("escape", quote), ("nullValue", null)]
        .map(|(k, v)| format!("{}, {}", text_literal(k), text_literal(v)))
        .join(", ")
}
