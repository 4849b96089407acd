//! The read-only statements of `tally query`: `SELECT`s over the relations `plan.json`
//! defines (mart and aggregate tables, drill-down relations), restricted by conditions on
//! their columns.
//!
//! This is the one place the runtime writes warehouse SQL, and it is deliberately small:
//! every identifier is a column or table name taken from the plan (quoted), every value a
//! user or a policy row supplies is a literal rendered here (text with `'` doubled), and the
//! statement is parsed back with sqlparser in the backend's dialect before it runs, so a value
//! can never become SQL.

use crate::backend::Dialect;
use crate::error::{codes, Error, Result};
use chrono::NaiveDateTime;
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect, SparkSqlDialect};
use sqlparser::parser::Parser;
use tally_contract::plan::SQL_RECURSION_LIMIT;

/// A quoted identifier: `"name"`, quotes inside doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Int(i64),
    Timestamp(NaiveDateTime),
}

impl Literal {
    /// The literal as SQL. Both engines read standard strings (a backslash is a backslash), so
    /// doubling `'` is all the quoting text needs; NUL, which neither engine stores in text,
    /// is refused by [`Select::render`] before it gets here.
    pub fn sql(&self) -> String {
        match self {
            Literal::Text(t) => format!("'{}'", t.replace('\'', "''")),
            Literal::Int(i) => i.to_string(),
            Literal::Timestamp(t) => {
                format!("TIMESTAMP '{}'", crate::value::timestamp_text(*t))
            }
        }
    }

    fn has_nul(&self) -> bool {
        matches!(self, Literal::Text(t) if t.contains('\0'))
    }
}

/// A condition on one column of the relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Eq(String, Literal),
    In(String, Vec<Literal>),
    IsNull(String),
    AtLeast(String, Literal),
    Before(String, Literal),
}

impl Condition {
    fn sql(&self) -> String {
        match self {
            Condition::Eq(c, v) => format!("{} = {}", ident(c), v.sql()),
            Condition::In(c, vs) if vs.is_empty() => format!("{} IS NULL AND 1 = 0", ident(c)),
            Condition::In(c, vs) => {
                let list: Vec<String> = vs.iter().map(Literal::sql).collect();
                format!("{} IN ({})", ident(c), list.join(", "))
            }
            Condition::IsNull(c) => format!("{} IS NULL", ident(c)),
            Condition::AtLeast(c, v) => format!("{} >= {}", ident(c), v.sql()),
            Condition::Before(c, v) => format!("{} < {}", ident(c), v.sql()),
        }
    }

    fn literals(&self) -> Vec<&Literal> {
        match self {
            Condition::Eq(_, v) | Condition::AtLeast(_, v) | Condition::Before(_, v) => vec![v],
            Condition::In(_, vs) => vs.iter().collect(),
            Condition::IsNull(_) => Vec::new(),
        }
    }
}

/// What a `SELECT` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    /// A table named in the plan.
    Table(String),
    /// A relation the plan gives as a `SELECT` (drill-down).
    Relation(String),
}

/// `SELECT <columns> FROM <from> WHERE <conditions> ORDER BY <order> LIMIT <limit>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub columns: Vec<String>,
    pub from: From,
    pub conditions: Vec<Condition>,
    pub order: Vec<String>,
    pub limit: Option<u64>,
}

impl Select {
    pub fn new(from: From, columns: Vec<String>) -> Select {
        Select { columns, from, conditions: Vec::new(), order: Vec::new(), limit: None }
    }

    pub fn filter(mut self, condition: Condition) -> Select {
        self.conditions.push(condition);
        self
    }

    /// The statement for `dialect`, checked by parsing it back.
    pub fn render(&self, dialect: Dialect) -> Result<String> {
        if self.conditions.iter().flat_map(Condition::literals).any(Literal::has_nul) {
            return Err(Error::new(
                codes::QUERY_OPTIONS,
                "a filter value contains a NUL character",
            )
            .help("filter values are plain text"));
        }
        let columns: Vec<String> = self.columns.iter().map(|c| ident(c)).collect();
        let from = match &self.from {
            From::Table(t) => ident(t),
            From::Relation(sql) => format!("(\n{sql}\n) AS drill"),
        };
        let mut text = format!("SELECT {}\nFROM {from}", columns.join(", "));
        if !self.conditions.is_empty() {
            let conditions: Vec<String> = self.conditions.iter().map(Condition::sql).collect();
            text.push_str(&format!("\nWHERE {}", conditions.join("\n  AND ")));
        }
        if !self.order.is_empty() {
            let order: Vec<String> = self.order.iter().map(|c| ident(c)).collect();
            text.push_str(&format!("\nORDER BY {}", order.join(", ")));
        }
        if let Some(limit) = self.limit {
            text.push_str(&format!("\nLIMIT {limit}"));
        }
        check(dialect, &text)?;
        Ok(text)
    }
}

/// Parses `sql` in `dialect`; exactly one query.
pub fn check(dialect: Dialect, sql: &str) -> Result<()> {
    // A drill-down relation carries a metric's `where`, which nests as deep as the compiler
    // allows: read it with the limit the compiler checked it with.
    let (duckdb, postgres, spark) = (DuckDbDialect {}, PostgreSqlDialect {}, SparkSqlDialect);
    let parser_dialect: &dyn sqlparser::dialect::Dialect = match dialect {
        Dialect::Duckdb => &duckdb,
        Dialect::Postgres => &postgres,
        Dialect::Spark => &spark,
    };
    let parsed = Parser::new(parser_dialect)
        .with_recursion_limit(SQL_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    match parsed {
        Ok(statements)
            if statements.len() == 1
                && matches!(statements[0], sqlparser::ast::Statement::Query(_)) =>
        {
            Ok(())
        }
        Ok(_) => Err(internal(format!("a query statement is not one SELECT:\n{sql}"))),
        Err(e) => Err(internal(format!("a query statement does not parse ({e}):\n{sql}"))),
    }
}

pub fn internal(problem: impl std::fmt::Display) -> Error {
    Error::new(codes::QUERY_INTERNAL, format!("internal error: {problem}"))
        .help("this is a bug in tally; please report it with the command that triggered it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_literals_and_names_are_quoted() {
        let select = Select::new(From::Table("mart_x".into()), vec!["value".into()])
            .filter(Condition::Eq("port".into(), Literal::Text("x' OR '1'='1".into())))
            .filter(Condition::In("metric".into(), vec![Literal::Text("a".into())]));
        let sql = select.render(Dialect::Duckdb).expect("renders");
        assert_eq!(
            sql,
            "SELECT \"value\"\nFROM \"mart_x\"\nWHERE \"port\" = 'x'' OR ''1''=''1'\n  AND \"metric\" IN ('a')"
        );
        assert!(select.render(Dialect::Postgres).is_ok());
    }

    #[test]
    fn a_nul_in_a_value_is_refused() {
        let select = Select::new(From::Table("t".into()), vec!["v".into()])
            .filter(Condition::Eq("c".into(), Literal::Text("a\0b".into())));
        assert_eq!(select.render(Dialect::Duckdb).expect_err("refused").code, codes::QUERY_OPTIONS);
    }
}
