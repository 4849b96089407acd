//! Changes of rows on an engine without `DELETE`, `UPDATE` or `MERGE` (Spark over Parquet):
//! the table, or one partition of it, is replaced by what it should hold.
//!
//! Spark refuses to overwrite a table a statement also reads, so a replacement goes through a
//! **scratch table** named after its target (`_tally_rw__<table>`, [`SCRATCH_PREFIX`]):
//!
//! 1. `CREATE TABLE _tally_rw__t USING PARQUET AS SELECT ...` (what `t` should hold);
//! 2. `INSERT OVERWRITE TABLE t SELECT ... FROM _tally_rw__t`;
//! 3. `DROP TABLE _tally_rw__t`.
//!
//! Spark registers a `CREATE TABLE ... AS SELECT` table only after its files are written, so a
//! scratch table that exists is complete, and it exists from step 1 to step 3 only. A crash in
//! step 2 can leave `t` half written, but the scratch table survives it: before it runs
//! anything else, the runtime **rolls forward** every scratch table it finds (step 2 and 3
//! again), which finishes the interrupted replacement whichever step it stopped at. Step 1 is a
//! plain `CREATE TABLE`, so a scratch table that was not rolled forward stops the statement
//! instead of being taken for a fresh one.
//!
//! The runtime runs Spark with `spark.sql.sources.partitionOverwriteMode=dynamic`, so step 2
//! replaces the whole of an unpartitioned table but, of a partitioned one (marts and
//! aggregates, by metric), only the partitions the scratch table has rows in: a metric's
//! a metric's refresh and `compare` replace that metric's partition. (The roll-forward and this
//! setting are duties of the runtime's Spark backend.) A partition is emptied by dropping it
//! (`ALTER TABLE ... DROP PARTITION`), never by a replacement: a refresh drops it between
//! steps 1 and 2, so that a metric left with no cells has none.

use super::dialect::Dialect;

/// The prefix of scratch tables: `_tally_rw__<table>` replaces `<table>`.
pub const SCRATCH_PREFIX: &str = "_tally_rw__";

/// The statements that delete the rows of table `name` for which `condition` holds (rows
/// where it is null stay, as with `DELETE`). The condition reads the table by its name.
/// Without a condition: `TRUNCATE TABLE`.
pub fn delete(dialect: &dyn Dialect, name: &str, condition: Option<&str>) -> Vec<String> {
    let table = dialect.quote_ident(name);
    match condition {
        None => vec![format!("TRUNCATE TABLE {table}")],
        Some(condition) => replace(
            dialect,
            name,
            None,
            &format!("SELECT *\nFROM {table}\nWHERE NOT COALESCE({condition}, FALSE)"),
        ),
    }
}

/// The statements that replace every row of table `name` by the rows `query` returns. With
/// `columns` (quoted) the query's columns are those, matched by name (the table's own order
/// may differ: columns added by later migrations come last); without, the query returns the
/// table's columns in its order (`SELECT *` of the table).
pub fn replace(
    dialect: &dyn Dialect,
    name: &str,
    columns: Option<&[String]>,
    query: &str,
) -> Vec<String> {
    let table = dialect.quote_ident(name);
    let scratch = dialect.quote_ident(&format!("{SCRATCH_PREFIX}{name}"));
    let overwrite = match columns {
        Some(columns) => {
            let columns = columns.join(", ");
            format!("INSERT OVERWRITE TABLE {table} ({columns})\nSELECT {columns}\nFROM {scratch}")
        }
        None => format!("INSERT OVERWRITE TABLE {table}\nSELECT *\nFROM {scratch}"),
    };
    vec![
        format!("CREATE TABLE {scratch}\nUSING PARQUET\nAS {query}"),
        overwrite,
        format!("DROP TABLE {scratch}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::Spark;
    use crate::codegen::sql::validate;

    #[test]
    fn a_delete_is_a_replacement_through_a_scratch_table_named_after_its_target() {
        let statements = delete(&Spark, "cur_x", Some("cur_x.id = 1"));
        assert_eq!(
            statements,
            [
                "CREATE TABLE _tally_rw__cur_x\nUSING PARQUET\nAS SELECT *\nFROM cur_x\nWHERE NOT COALESCE(cur_x.id = 1, FALSE)",
                "INSERT OVERWRITE TABLE cur_x\nSELECT *\nFROM _tally_rw__cur_x",
                "DROP TABLE _tally_rw__cur_x",
            ]
        );
        for statement in &statements {
            validate(&Spark, statement).expect("parses as Spark SQL");
        }
        assert_eq!(delete(&Spark, "stg_x", None), ["TRUNCATE TABLE stg_x"]);
        let columns = ["b".to_string(), "a".to_string()];
        let replaced = replace(&Spark, "t", Some(&columns), "SELECT 1 AS b, 2 AS a");
        assert_eq!(replaced[1], "INSERT OVERWRITE TABLE t (b, a)\nSELECT b, a\nFROM _tally_rw__t");
        validate(&Spark, &replaced[1]).expect("parses as Spark SQL");
    }
}
