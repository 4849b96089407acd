//! One interface over the two engines. Everything above this module is engine-agnostic: it
//! runs the plan's statements for [`Backend::dialect`] through these few calls.
//!
//! Transactions are explicit (`begin`/`commit`/`rollback`) rather than guard objects so that the
//! trait stays object-safe and the ETL can hold one open across many plan statements.

mod duck;
mod pg;
mod spark;

pub use duck::DuckDb;
pub use pg::Postgres;
pub use spark::Spark;

use crate::error::{codes, Error, Result};
use crate::value::Rows;
use std::io::Read;

/// Which engine; named as in `plan.json` and `generated/<dialect>/`.
pub use tally_contract::plan::Dialect;

/// A connection to a warehouse database.
pub trait Backend: std::fmt::Debug {
    fn dialect(&self) -> Dialect;

    /// Where the database is, for messages (`warehouse.duckdb`, `postgres 127.0.0.1:5432/db`).
    fn describe(&self) -> String;

    /// Runs one statement that returns no rows; the number of rows it changed.
    fn execute(&mut self, sql: &str) -> Result<u64>;

    /// Runs one query and returns all its rows.
    fn query(&mut self, sql: &str) -> Result<Rows>;

    /// PostgreSQL: streams `data` to a `COPY ... FROM STDIN` statement; rows copied. DuckDB has
    /// no `COPY FROM STDIN` and reads landed files itself, so it refuses.
    fn copy_in(&mut self, sql: &str, data: &mut dyn Read) -> Result<u64>;

    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;

    /// Takes the migration lock, waiting for another migrator to finish. PostgreSQL: a
    /// session advisory lock. DuckDB: the file lock taken when the database was opened already
    /// excludes every other process, so there is nothing more to take.
    fn lock_migrations(&mut self) -> Result<()>;
    fn unlock_migrations(&mut self) -> Result<()>;

    /// Whether the connection is lost for good (a PostgreSQL server that closed it): a
    /// long-lived holder such as `tally serve`'s pool then opens a new one.
    fn is_closed(&self) -> bool {
        false
    }

    /// Whether `table` exists in the warehouse schema.
    fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = '{}'",
            table.replace('\'', "''")
        );
        Ok(self.query(&sql)?.scalar().and_then(|v| v.as_i64()).unwrap_or(0) > 0)
    }
}

/// Opens the database `target` names: a `postgres://` or `postgresql://` URL, a Spark Connect
/// `sc://host:port` address, or the path of a DuckDB file (created when missing).
pub fn open(target: &str) -> Result<Box<dyn Backend>> {
    if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        Ok(Box::new(Postgres::connect(target)?))
    } else if target.starts_with("sc://") {
        Ok(Box::new(Spark::connect(target)?))
    } else {
        Ok(Box::new(DuckDb::open(std::path::Path::new(target))?))
    }
}

/// Runs `work` in one transaction: committed when it succeeds, rolled back when it fails (the
/// work's error is returned, not the rollback's).
pub fn in_transaction<T>(
    db: &mut dyn Backend,
    work: impl FnOnce(&mut dyn Backend) -> Result<T>,
) -> Result<T> {
    db.begin()?;
    match work(db) {
        Ok(value) => {
            db.commit()?;
            Ok(value)
        }
        Err(error) => {
            // The connection may already have aborted the transaction; the first error is
            // the one worth reporting.
            let _ = db.rollback();
            Err(error)
        }
    }
}

pub(crate) fn connect_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(codes::CANNOT_CONNECT, format!("cannot open {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spark_connect_target_is_a_server_not_a_file() {
        // Nothing listens on port 1: a connection error naming the target, and no file `sc:`.
        let error = open("sc://127.0.0.1:1").expect_err("no server there");
        assert_eq!(error.code, codes::CANNOT_CONNECT);
        assert!(error.to_string().contains("sc://127.0.0.1:1"), "{error}");
        assert!(!std::path::Path::new("sc:").exists());
        let error = open("sc://127.0.0.1:port").expect_err("not an address");
        assert_eq!(error.code, codes::CANNOT_CONNECT);
    }
}
