//! SQL dialects: everything that differs between engines, behind one trait.
//!
//! Code generation never asks "is this PostgreSQL?". It asks the dialect what it can do
//! (`supports_row_level_security`) or how to say something (`type_name`). A new engine is a
//! new implementation of [`Dialect`], with defaults for what most engines share.

use super::schema::{SqlType, Value};
use crate::project;

pub trait Dialect: std::fmt::Debug + Sync {
    /// The name used in paths (`generated/<name>/`) and messages.
    fn name(&self) -> &'static str;

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

    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::DuckDbDialect {})
    }

    fn type_name(&self, ty: SqlType) -> String {
        match ty {
            SqlType::Double => "DOUBLE".to_string(),
            other => standard_type_name(other),
        }
    }
}

/// The multi-user server: PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
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

/// The dialect a project names in `tally.yaml`.
pub fn for_project(dialect: project::Dialect) -> &'static dyn Dialect {
    match dialect {
        project::Dialect::Duckdb => &DuckDb,
        project::Dialect::Postgres => &Postgres,
    }
}
