//! The rule that no SQL leaves the compiler unchecked: every statement is re-parsed with
//! sqlparser in its dialect before it is written.

use super::dialect::Dialect;
use crate::syntax::limits::{MAX_DEPTH, MAX_OPERATORS};
use sqlparser::parser::Parser;

/// How deeply sqlparser may nest while it reads a generated statement.
///
/// sqlparser counts one level per sub-expression it enters (a parenthesis, a function's
/// argument, the operand of `CAST`, a subquery), and stops at 50 by default, which a measure
/// of about 25 parenthesized operators used to exceed. What the compiler emits nests at most:
/// one level per operator of an expression (an exact division casts the quotient before it),
/// a few per level of the expression's nesting, a few per subquery and derived metric. This
/// limit covers all of it with room to spare; sqlparser grows its own stack when it recurses
/// deeply, so the limit guards against nothing but a runaway statement. The runtime reads the
/// plan's statements back with the same limit, which the contract holds.
pub const RECURSION_LIMIT: usize = tally_contract::plan::SQL_RECURSION_LIMIT;
const _: () = assert!(2 * MAX_OPERATORS + 64 * MAX_DEPTH <= RECURSION_LIMIT);

/// A parser for `dialect` that reads what the compiler emits (see [`RECURSION_LIMIT`]).
pub fn parser(dialect: &dyn sqlparser::dialect::Dialect) -> Parser<'_> {
    Parser::new(dialect).with_recursion_limit(RECURSION_LIMIT)
}

/// Parses `sql` (one or more statements) in `dialect`. A statement that does not parse is a bug
/// in Tally's code generation, so callers turn the error into an internal-error diagnostic.
pub fn validate(dialect: &dyn Dialect, sql: &str) -> Result<(), String> {
    let parser_dialect = dialect.parser();
    parser(parser_dialect.as_ref())
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map(|_| ())
        .map_err(|e| format!("generated {} SQL does not parse: {e}\n{sql}", dialect.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::{DuckDb, Postgres, Spark};

    #[test]
    fn valid_sql_passes_and_invalid_sql_is_named() {
        assert!(validate(&DuckDb, "CREATE TABLE t (a BIGINT NOT NULL)").is_ok());
        assert!(validate(&Postgres, "CREATE TABLE t (a NUMERIC(12, 3))").is_ok());
        let error = validate(&DuckDb, "CREATE TABEL t (a BIGINT)").expect_err("does not parse");
        assert!(error.contains("duckdb") && error.contains("CREATE TABEL"), "{error}");
    }

    #[test]
    fn spark_reads_what_spark_accepts() {
        for ok in [
            "CREATE TABLE t (\n    metric STRING NOT NULL,\n    v DECIMAL(38, 6)\n)\nUSING PARQUET\nPARTITIONED BY (metric)",
            "CREATE TABLE s\nUSING PARQUET\nAS SELECT * FROM t",
            "SELECT x - INTERVAL '84 months', 'a\\'b', `select` FROM t WHERE y RLIKE '^a$'",
            "CACHE TABLE raw_x AS\nSELECT * FROM IDENTIFIER('text.`' || '/x.csv' || '`')",
            "ALTER TABLE t DROP IF EXISTS PARTITION (metric = 'm')",
            "INSERT OVERWRITE TABLE t (a, b)\nSELECT a, b\nFROM s",
        ] {
            validate(&Spark, ok).unwrap_or_else(|e| panic!("{e}"));
        }
        let error = validate(&Spark, "CREATE TABLE t (a STRING) USING PARQUET PARTITIONED BY a")
            .expect_err("a partition list is parenthesized");
        assert!(error.contains("spark"), "{error}");
    }

    #[test]
    fn nesting_far_beyond_sqlparsers_default_parses() {
        // sqlparser's default limit is 50 levels.
        let deep = format!("SELECT {}1{}", "(".repeat(1_000), ")".repeat(1_000));
        assert!(validate(&DuckDb, &deep).is_ok());
        let runaway =
            format!("SELECT {}1{}", "(".repeat(RECURSION_LIMIT), ")".repeat(RECURSION_LIMIT));
        let error = validate(&Postgres, &runaway).expect_err("too deep");
        assert!(error.contains("recursion limit"), "{error}");
    }
}
