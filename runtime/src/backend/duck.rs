//! The embedded default: a DuckDB file, through the `duckdb` crate with the engine bundled.

use super::{Backend, Dialect};
use crate::error::{codes, Error, Result};
use crate::value::{decimal_text, timestamp_text, Rows, Value};
use duckdb::types::{TimeUnit, ValueRef};
use duckdb::Connection;
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct DuckDb {
    conn: Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for DuckDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDb").field("path", &self.path).finish()
    }
}

impl DuckDb {
    /// Opens (creating if needed) the database file at `path`. DuckDB allows one writing
    /// process per file; a second one is refused here, with the engine's word on who holds it.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::new(
                    codes::CANNOT_CONNECT,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
        let conn = Connection::open(path).map_err(|e| {
            let text = e.to_string();
            if text.contains("lock") {
                Error::new(
                    codes::DATABASE_IN_USE,
                    format!("{} is in use by another process: {text}", path.display()),
                )
                .help("DuckDB allows one writer per file: wait for the other tally command to finish, or stop it")
            } else {
                super::connect_error(&path.display().to_string(), text)
            }
        })?;
        Ok(DuckDb { conn, path: Some(path.to_path_buf()) })
    }

    /// A private in-memory database (tests, scratch conversions).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(|e| super::connect_error("in-memory DuckDB", e))?;
        Ok(DuckDb { conn, path: None })
    }
}

impl Backend for DuckDb {
    fn dialect(&self) -> Dialect {
        Dialect::Duckdb
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "in-memory DuckDB".to_owned(),
        }
    }

    fn execute(&mut self, sql: &str) -> Result<u64> {
        let mut statement = self.conn.prepare(sql).map_err(|e| Error::statement(e, sql))?;
        let changed = statement.execute([]).map_err(|e| Error::statement(e, sql))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str) -> Result<Rows> {
        let mut statement = self.conn.prepare(sql).map_err(|e| Error::statement(e, sql))?;
        let mut rows = statement.query([]).map_err(|e| Error::statement(e, sql))?;
        let mut out = Rows::default();
        while let Some(row) = rows.next().map_err(|e| Error::statement(e, sql))? {
            if out.columns.is_empty() {
                out.columns = row.as_ref().column_names();
            }
            let mut values = Vec::with_capacity(out.columns.len());
            for i in 0..out.columns.len() {
                let value = row.get_ref(i).map_err(|e| Error::statement(e, sql))?;
                values.push(convert(value));
            }
            out.rows.push(values);
        }
        if out.columns.is_empty() {
            out.columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        }
        Ok(out)
    }

    fn copy_in(&mut self, sql: &str, _data: &mut dyn Read) -> Result<u64> {
        Err(Error::statement(
            "DuckDB reads landed files itself; COPY FROM STDIN is PostgreSQL's",
            sql,
        ))
    }

    fn begin(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN TRANSACTION").map_err(|e| Error::statement(e, "BEGIN"))
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| Error::statement(e, "COMMIT"))
    }

    fn rollback(&mut self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK").map_err(|e| Error::statement(e, "ROLLBACK"))
    }

    fn lock_migrations(&mut self) -> Result<()> {
        Ok(())
    }

    fn unlock_migrations(&mut self) -> Result<()> {
        Ok(())
    }
}

fn convert(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(b),
        ValueRef::TinyInt(i) => Value::Int(i.into()),
        ValueRef::SmallInt(i) => Value::Int(i.into()),
        ValueRef::Int(i) => Value::Int(i.into()),
        ValueRef::BigInt(i) => Value::Int(i),
        ValueRef::HugeInt(i) => i64::try_from(i).map_or(Value::Decimal(i.to_string()), Value::Int),
        ValueRef::UTinyInt(i) => Value::Int(i.into()),
        ValueRef::USmallInt(i) => Value::Int(i.into()),
        ValueRef::UInt(i) => Value::Int(i.into()),
        ValueRef::UBigInt(i) => i64::try_from(i).map_or(Value::Decimal(i.to_string()), Value::Int),
        ValueRef::UHugeInt(i) => i64::try_from(i).map_or(Value::Decimal(i.to_string()), Value::Int),
        ValueRef::Float(x) => Value::Float(x.into()),
        ValueRef::Double(x) => Value::Float(x),
        ValueRef::Decimal(d) => Value::Decimal(decimal_text(&d.to_string())),
        ValueRef::Timestamp(unit, t) => {
            let micros = match unit {
                TimeUnit::Second => t.saturating_mul(1_000_000),
                TimeUnit::Millisecond => t.saturating_mul(1_000),
                TimeUnit::Microsecond => t,
                TimeUnit::Nanosecond => t / 1_000,
            };
            chrono::DateTime::from_timestamp_micros(micros)
                .map_or(Value::Null, |t| Value::Timestamp(timestamp_text(t.naive_utc())))
        }
        ValueRef::Date32(days) => chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map_or(Value::Null, |d| Value::Date(d.format("%Y-%m-%d").to_string())),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        other => Value::Text(format!("{other:?}")),
    }
}
