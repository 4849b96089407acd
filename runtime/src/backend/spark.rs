//! Apache Spark through Spark Connect (`sc://host:port/;database=NAME`), with the client of
//! `tally-spark-connect`. Tables are Parquet in the session catalog; the statements are the
//! plan's `spark` ones (`docs/artifacts.md`, "Spark SQL").
//!
//! Spark has no transactions: `begin`, `commit` and `rollback` do nothing, and every plan
//! statement is written so that running it again after a crash gives the same rows
//! (`compiler/src/codegen/rewrite.rs`). What a crash can leave half done is a replacement
//! through a scratch table (`_tally_rw__<table>`); opening the warehouse **rolls every scratch
//! table forward** (overwrite its target from it, drop it) before anything else runs. The
//! session runs with `spark.sql.sources.partitionOverwriteMode=dynamic` (an overwrite of a
//! partitioned table replaces only the partitions it writes) and in UTC.

use super::{Backend, Dialect};
use crate::error::{codes, Error, Result};
use crate::value::{decimal_text, timestamp_text, Rows, Value};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use std::io::Read;
use tally_spark_connect::{Client, ErrorKind};

/// The prefix of the scratch tables replacements go through (as the compiler names them).
const SCRATCH_PREFIX: &str = "_tally_rw__";

pub struct Spark {
    client: Client,
    describe: String,
}

impl std::fmt::Debug for Spark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spark").field("server", &self.describe).finish()
    }
}

impl Spark {
    /// Connects, selects the database the address names (`;database=NAME`, created when
    /// missing; else Spark's `default`), sets the session up and rolls scratch tables forward.
    pub fn connect(url: &str) -> Result<Self> {
        let client = Client::connect(url).map_err(|e| match e.kind {
            ErrorKind::Address => Error::new(codes::CANNOT_CONNECT, e.message)
                .help("a Spark Connect target is sc://HOST:PORT, optionally followed by /;database=NAME"),
            _ => super::connect_error(url, e.message).help(
                "start the Spark Connect server (spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer) and check the port",
            ),
        })?;
        let database = client.address().param("database").map(str::to_owned);
        let describe = match &database {
            Some(db) => format!("spark {}:{}/{db}", client.address().host, client.address().port),
            None => format!("spark {}:{}", client.address().host, client.address().port),
        };
        let mut spark = Spark { client, describe };
        spark.execute("SET spark.sql.session.timeZone = UTC")?;
        spark.execute("SET spark.sql.sources.partitionOverwriteMode = dynamic")?;
        // Spark's ANSI mode turns a failed cast into an error; the plan's validation reads
        // text with `try_cast`-like casts that must give NULL, as on the other engines.
        spark.execute("SET spark.sql.ansi.enabled = false")?;
        if let Some(database) = database {
            if !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::new(
                    codes::CANNOT_CONNECT,
                    format!("`{database}` is not a database name (letters, digits and _ only)"),
                ));
            }
            spark.execute(&format!("CREATE DATABASE IF NOT EXISTS {database}"))?;
            spark.execute(&format!("USE {database}"))?;
        }
        spark.roll_forward()?;
        Ok(spark)
    }

    /// Finishes every replacement a crash interrupted: the scratch table is complete (Spark
    /// registers a `CREATE TABLE ... AS SELECT` after its files are written), so its target
    /// is overwritten from it, by column name, and it is dropped.
    fn roll_forward(&mut self) -> Result<()> {
        let tables = self.query(&format!("SHOW TABLES LIKE '{SCRATCH_PREFIX}*'"))?;
        for row in 0..tables.rows.len() {
            let Some(scratch) = tables.get(row, "tableName").and_then(Value::as_str) else {
                continue;
            };
            if tables.get(row, "isTemporary") == Some(&Value::Bool(true)) {
                continue;
            }
            let scratch = scratch.to_owned();
            let Some(target) = scratch.strip_prefix(SCRATCH_PREFIX) else { continue };
            let columns = self.query(&format!("SELECT * FROM {scratch} LIMIT 0"))?.columns;
            let columns: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            let columns = columns.join(", ");
            self.execute(&format!(
                "INSERT OVERWRITE TABLE {target} ({columns}) SELECT {columns} FROM {scratch}"
            ))?;
            self.execute(&format!("DROP TABLE {scratch}"))?;
        }
        Ok(())
    }
}

fn statement_error(e: tally_spark_connect::Error, sql: &str) -> Error {
    match e.kind {
        ErrorKind::Connect => Error::new(codes::CANNOT_CONNECT, e.message),
        _ => Error::statement(e.message, sql),
    }
}

impl Backend for Spark {
    fn dialect(&self) -> Dialect {
        Dialect::Spark
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    /// Spark reports no count of changed rows: 0.
    fn execute(&mut self, sql: &str) -> Result<u64> {
        self.client.execute(sql).map_err(|e| statement_error(e, sql))?;
        Ok(0)
    }

    fn query(&mut self, sql: &str) -> Result<Rows> {
        let answer = self.client.query(sql).map_err(|e| statement_error(e, sql))?;
        let mut rows = Rows::default();
        if let Some(schema) = &answer.schema {
            rows.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        }
        for batch in &answer.batches {
            append(&mut rows, batch).map_err(|e| Error::statement(e, sql))?;
        }
        Ok(rows)
    }

    fn copy_in(&mut self, sql: &str, _data: &mut dyn Read) -> Result<u64> {
        Err(Error::statement("Spark reads landed files itself; it has no COPY FROM STDIN", sql))
    }

    fn begin(&mut self) -> Result<()> {
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        Ok(())
    }

    /// Spark has no lock to take: one migrator at a time is the operator's duty.
    fn lock_migrations(&mut self) -> Result<()> {
        Ok(())
    }

    fn unlock_migrations(&mut self) -> Result<()> {
        Ok(())
    }

    fn table_exists(&mut self, table: &str) -> Result<bool> {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Ok(false);
        }
        Ok(!self.query(&format!("SHOW TABLES LIKE '{table}'"))?.rows.is_empty())
    }
}

/// Appends a record batch's rows as engine-independent values.
fn append(rows: &mut Rows, batch: &RecordBatch) -> std::result::Result<(), String> {
    let columns: Vec<Vec<Value>> = batch
        .columns()
        .iter()
        .map(|c| values(c.as_ref()))
        .collect::<std::result::Result<_, _>>()?;
    for row in 0..batch.num_rows() {
        rows.rows.push(columns.iter().map(|c| c[row].clone()).collect());
    }
    Ok(())
}

fn values(array: &dyn Array) -> std::result::Result<Vec<Value>, String> {
    let n = array.len();
    let each = |f: &dyn Fn(usize) -> Value| -> Vec<Value> {
        (0..n).map(|i| if array.is_null(i) { Value::Null } else { f(i) }).collect()
    };
    Ok(match array.data_type() {
        DataType::Null => vec![Value::Null; n],
        DataType::Boolean => each(&|i| Value::Bool(array.as_boolean().value(i))),
        DataType::Int8 => each(&|i| Value::Int(array.as_primitive::<Int8Type>().value(i).into())),
        DataType::Int16 => each(&|i| Value::Int(array.as_primitive::<Int16Type>().value(i).into())),
        DataType::Int32 => each(&|i| Value::Int(array.as_primitive::<Int32Type>().value(i).into())),
        DataType::Int64 => each(&|i| Value::Int(array.as_primitive::<Int64Type>().value(i))),
        DataType::Float32 => {
            each(&|i| Value::Float(array.as_primitive::<Float32Type>().value(i).into()))
        }
        DataType::Float64 => each(&|i| Value::Float(array.as_primitive::<Float64Type>().value(i))),
        DataType::Decimal128(_, _) => each(&|i| {
            Value::Decimal(decimal_text(&array.as_primitive::<Decimal128Type>().value_as_string(i)))
        }),
        DataType::Utf8 => each(&|i| Value::Text(array.as_string::<i32>().value(i).to_owned())),
        DataType::LargeUtf8 => each(&|i| Value::Text(array.as_string::<i64>().value(i).to_owned())),
        DataType::Date32 => each(&|i| {
            let days = array.as_primitive::<Date32Type>().value(i);
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163);
            Value::Date(date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default())
        }),
        // The session is in UTC, so an instant's UTC wall-clock time is the stored one.
        DataType::Timestamp(TimeUnit::Microsecond, _) => each(&|i| {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(i);
            let time = chrono::DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc());
            Value::Timestamp(time.map(timestamp_text).unwrap_or_default())
        }),
        other => {
            return Err(format!(
                "Spark returned a column of type {other}, which Tally does not read"
            ))
        }
    })
}
