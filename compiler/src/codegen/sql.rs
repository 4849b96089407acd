//! The rule that no SQL leaves the compiler unchecked: every statement is re-parsed with
//! sqlparser in its dialect before it is written.

use super::dialect::Dialect;
use sqlparser::parser::Parser;

/// Parses `sql` (one or more statements) in `dialect`. A statement that does not parse is a bug
/// in Tally's code generation, so callers turn the error into an internal-error diagnostic.
pub fn validate(dialect: &dyn Dialect, sql: &str) -> Result<(), String> {
    let parser_dialect = dialect.parser();
    Parser::parse_sql(parser_dialect.as_ref(), sql)
        .map(|_| ())
        .map_err(|e| format!("generated {} SQL does not parse: {e}\n{sql}", dialect.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::{DuckDb, Postgres};

    #[test]
    fn valid_sql_passes_and_invalid_sql_is_named() {
        assert!(validate(&DuckDb, "CREATE TABLE t (a BIGINT NOT NULL)").is_ok());
        assert!(validate(&Postgres, "CREATE TABLE t (a NUMERIC(12, 3))").is_ok());
        let error = validate(&DuckDb, "CREATE TABEL t (a BIGINT)").expect_err("does not parse");
        assert!(error.contains("duckdb") && error.contains("CREATE TABEL"), "{error}");
    }
}
