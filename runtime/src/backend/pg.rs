//! The multi-user server: PostgreSQL through the synchronous `postgres` crate.
//!
//! Queries run in the simple (text) protocol so that every type, `numeric` included, arrives
//! as the server prints it; the statement is prepared first only to learn its column types.

use super::{Backend, Dialect};
use crate::error::{codes, Error, Result};
use crate::value::{decimal_text, Rows, Value};
use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};
use std::io::{Read, Write};

/// The advisory lock key `tally migrate` holds while it applies migrations ("tally mig").
const MIGRATION_LOCK: i64 = 0x7461_6c6c_796d_6967;

pub struct Postgres {
    client: Client,
    describe: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").field("server", &self.describe).finish()
    }
}

impl Postgres {
    pub fn connect(url: &str) -> Result<Self> {
        let describe = redact(url);
        let mut client = Client::connect(url, NoTls)
            .map_err(|e| super::connect_error(&describe, db_message(&e)))?;
        // UTC everywhere: `{now}` and every stored timestamp are UTC wall-clock times.
        client
            .batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")
            .map_err(|e| Error::statement(db_message(&e), "SET TIME ZONE 'UTC'"))?;
        Ok(Postgres { client, describe })
    }
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The server's own message (with its detail and hint), not the driver's "db error" wrapper.
fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" hint: {hint}"));
            }
            text
        }
        None => e.to_string(),
    }
}

impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn execute(&mut self, sql: &str) -> Result<u64> {
        let messages =
            self.client.simple_query(sql).map_err(|e| Error::statement(db_message(&e), sql))?;
        Ok(messages
            .iter()
            .map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => *n,
                _ => 0,
            })
            .sum())
    }

    fn query(&mut self, sql: &str) -> Result<Rows> {
        let statement =
            self.client.prepare(sql).map_err(|e| Error::statement(db_message(&e), sql))?;
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        let columns = statement.columns().iter().map(|c| c.name().to_owned()).collect();
        let messages =
            self.client.simple_query(sql).map_err(|e| Error::statement(db_message(&e), sql))?;
        let mut rows = Vec::new();
        for message in messages {
            if let SimpleQueryMessage::Row(row) = message {
                let mut values = Vec::with_capacity(types.len());
                for (i, ty) in types.iter().enumerate() {
                    values.push(convert(ty, row.get(i)));
                }
                rows.push(values);
            }
        }
        Ok(Rows { columns, rows })
    }

    fn copy_in(&mut self, sql: &str, data: &mut dyn Read) -> Result<u64> {
        let mut writer =
            self.client.copy_in(sql).map_err(|e| Error::statement(db_message(&e), sql))?;
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = data.read(&mut buffer).map_err(|e| {
                Error::new(codes::LANDING_UNREADABLE, format!("reading the landed file: {e}"))
            })?;
            if n == 0 {
                break;
            }
            writer
                .write_all(&buffer[..n])
                .map_err(|e| Error::statement(format!("COPY stream: {e}"), sql))?;
        }
        writer.finish().map_err(|e| Error::statement(db_message(&e), sql))
    }

    fn begin(&mut self) -> Result<()> {
        self.client.batch_execute("BEGIN").map_err(|e| Error::statement(db_message(&e), "BEGIN"))
    }

    fn commit(&mut self) -> Result<()> {
        self.client.batch_execute("COMMIT").map_err(|e| Error::statement(db_message(&e), "COMMIT"))
    }

    fn rollback(&mut self) -> Result<()> {
        self.client
            .batch_execute("ROLLBACK")
            .map_err(|e| Error::statement(db_message(&e), "ROLLBACK"))
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn lock_migrations(&mut self) -> Result<()> {
        let sql = format!("SELECT pg_advisory_lock({MIGRATION_LOCK})");
        self.client.batch_execute(&sql).map_err(|e| Error::statement(db_message(&e), &sql))
    }

    fn unlock_migrations(&mut self) -> Result<()> {
        let sql = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})");
        self.client.batch_execute(&sql).map_err(|e| Error::statement(db_message(&e), &sql))
    }

    fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = format!(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '{}'",
            table.replace('\'', "''")
        );
        Ok(self.query(&sql)?.scalar().and_then(|v| v.as_i64()).unwrap_or(0) > 0)
    }
}

fn convert(ty: &Type, text: Option<&str>) -> Value {
    let Some(text) = text else { return Value::Null };
    match *ty {
        Type::BOOL => Value::Bool(text == "t"),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            text.parse().map_or_else(|_| Value::Decimal(text.to_owned()), Value::Int)
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            text.parse().map_or_else(|_| Value::Text(text.to_owned()), Value::Float)
        }
        Type::NUMERIC => Value::Decimal(decimal_text(text)),
        Type::DATE => Value::Date(text.to_owned()),
        Type::TIMESTAMP => Value::Timestamp(text.to_owned()),
        Type::TIMESTAMPTZ => Value::Timestamp(text.trim_end_matches("+00").to_owned()),
        _ => Value::Text(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgres://tally:s3cret@db:5432/w"), "postgres://tally@db:5432/w");
        assert_eq!(redact("postgres://db/w"), "postgres://db/w");
    }
}
