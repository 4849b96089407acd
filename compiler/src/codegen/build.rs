//! The desired warehouse schema for one dialect: every table, policy row and dialect-native
//! extra the model implies. The migration planner ([`super::migrate`]) turns the difference
//! between this and the last compiled schema into SQL.
//!
//! | tables | kind | one per |
//! |--------|------|---------|
//! | `stg_<source>`, `cur_<source>`, `arc_<source>` | staging, current, archive | source |
//! | `mart_<mart>` | mart | mart |
//! | `agg_<metric>` | metric aggregate | metric no mart shows |
//! | `etl_file_ledger`, `etl_watermark`, `etl_run_log`, `etl_rejects`, `etl_late`, `metric_refresh` | ETL state | warehouse |
//! | `policy_role`, `policy_grant`, `policy_user`, `policy_user_role`, `policy_source` | policy | warehouse |
//! | `audit_log`, `audit_anchor` | audit | warehouse |
//! | `auth_account`, `auth_enrolment`, `auth_session` | policy (sign-on of `tally serve`) | warehouse |
//!
//! Column by column, and why, in `docs/artifacts.md`. No views: marts are tables so that
//! PostgreSQL row-level security applies to them.

use super::cuts::{self, CutTable};
use super::dialect::Dialect;
use super::load::sql_type;
use super::policy;
use super::schema::{Column, Schema, SqlType, Table, TableKind, Value};
use super::templates::Sql;
use crate::diagnostic::Diagnostic;
use crate::graph::{archive_table, current_table, staging_table};
use crate::semantic::{Model, Source};
use crate::syntax::ast;

/// The schema `model` needs in `dialect`. Errors are internal errors (`T9999`): the model is
/// error-free when code generation runs, so a failure here is a bug in Tally.
pub fn schema(model: &Model, dialect: &dyn Dialect) -> Result<Schema, Vec<Diagnostic>> {
    let mut sql = Sql::new();
    let mut schema = Schema::default();
    let mut add = |table: Table| {
        schema.tables.insert(table.name.clone(), table);
    };
    for (name, source) in &model.sources {
        match source_tables(name, source) {
            Ok(tables) => tables.into_iter().for_each(&mut add),
            Err(problem) => sql.bug(format!("source `{name}`: {problem}")),
        }
    }
    let cut_tables = cuts::cut_tables(model);
    for t in &cut_tables {
        add(cut_table(t));
        let retained = model.marts.get(&t.owner).is_some_and(|m| m.retention.is_some());
        if t.kind == TableKind::Mart && retained {
            add(mart_archive(t));
        }
    }
    etl_tables().into_iter().for_each(&mut add);
    policy::tables(model).into_iter().for_each(&mut add);
    add(audit_table());
    add(audit_anchor_table());
    auth_tables().into_iter().for_each(&mut add);
    schema.rows = policy::rows(model);
    schema.extras = policy::extras(model, dialect, &mut sql, &cut_tables);
    sql.finish(schema)
}

fn column(name: &str, ty: SqlType, nullable: bool) -> Column {
    Column { name: name.to_string(), ty, nullable, default: None }
}

fn table(
    name: String,
    kind: TableKind,
    columns: Vec<Column>,
    key: &[&str],
    comment: String,
) -> Table {
    Table { name, kind, columns, primary_key: key.iter().map(|k| k.to_string()).collect(), comment }
}

/// Staging, current and archive tables of a source.
fn source_tables(name: &str, source: &Source) -> Result<Vec<Table>, String> {
    let system = source.meta.title.as_deref().unwrap_or(name);
    let mut declared = Vec::new();
    for c in source.columns.values() {
        let ty = c.ty.as_ref().ok_or_else(|| format!("column `{}` has no type", c.name))?;
        let default = match &c.default {
            Some(literal) => Some(default_value(literal, ty)?),
            None => None,
        };
        declared.push(Column {
            name: c.name.clone(),
            ty: sql_type(ty),
            nullable: c.nullable,
            default,
        });
    }
    // Staging and archive columns are nullable and have no defaults: staging holds rows that
    // were already checked, and archived rows keep what they had when a column was added later.
    let loose: Vec<Column> =
        declared.iter().map(|c| Column { nullable: true, default: None, ..c.clone() }).collect();

    let mut staging = loose.clone();
    staging.extend([
        column("_tally_batch", SqlType::BigInt, false),
        column("_tally_file", SqlType::Text, false),
        column("_tally_line", SqlType::BigInt, false),
    ]);
    let mut current = declared;
    current.extend([
        column("_tally_source", SqlType::Text, false),
        column("_tally_batch", SqlType::BigInt, false),
        column("_tally_loaded_at", SqlType::Timestamp, false),
    ]);
    let mut archive = loose;
    archive.extend([
        column("_tally_batch", SqlType::BigInt, false),
        column("_tally_loaded_at", SqlType::Timestamp, false),
        column("_tally_archived_at", SqlType::Timestamp, false),
        column("_tally_archive_reason", SqlType::Text, false),
        column("_tally_purge_after", SqlType::Timestamp, false),
    ]);
    let key: Vec<&str> = source.key.iter().map(String::as_str).collect();
    Ok(vec![
        table(
            staging_table(name),
            TableKind::Staging,
            staging,
            &[],
            format!("{system}: the checked rows of the file being loaded"),
        ),
        table(
            current_table(name),
            TableKind::Current,
            current,
            &key,
            format!("{system}: current rows"),
        ),
        table(
            archive_table(name),
            TableKind::Archive,
            archive,
            &[],
            format!("{system}: rows deleted upstream or past retention, until purged"),
        ),
    ])
}

/// A column default as a value, in the column's type.
fn default_value(
    literal: &ast::Literal,
    ty: &crate::semantic::ColumnType,
) -> Result<Value, String> {
    use crate::semantic::ColumnType;
    Ok(match (literal, ty) {
        (ast::Literal::Null, _) => Value::Null,
        (ast::Literal::Bool(b), _) => Value::Bool(*b),
        (ast::Literal::Int(digits), ColumnType::Int) => {
            Value::Int(digits.parse().map_err(|_| format!("default `{digits}` is out of range"))?)
        }
        (ast::Literal::Int(digits) | ast::Literal::Decimal(digits), _) => {
            Value::Text(digits.clone())
        }
        (ast::Literal::String(s), _) => Value::Text(s.clone()),
        (ast::Literal::Percent(p), _) => Value::Text(super::expr::percent(p)?),
        (ast::Literal::Duration { .. }, _) => {
            return Err("a duration is not a column default".into())
        }
    })
}

fn cut_table(t: &CutTable) -> Table {
    let comment = match t.kind {
        TableKind::Mart => format!("Mart `{}`: one row per metric, period and cut", t.owner),
        _ => format!("Metric `{}`, which no mart shows: one row per period and cut", t.owner),
    };
    // No primary key: a row's identity includes nullable columns (a rolled-up level is NULL).
    table(t.name.clone(), t.kind, t.schema_columns(), &[], comment)
}

/// A mart's archive (`arc_mart_<mart>`): cells past its records schedule's `keep`, until its
/// `archive`.
fn mart_archive(t: &CutTable) -> Table {
    let mut columns: Vec<Column> =
        t.schema_columns().into_iter().map(|c| Column { nullable: true, ..c }).collect();
    columns.extend([
        column("_tally_archived_at", SqlType::Timestamp, false),
        column("_tally_purge_after", SqlType::Timestamp, false),
    ]);
    table(
        cuts::mart_archive_table(&t.name),
        TableKind::Archive,
        columns,
        &[],
        format!("Mart `{}`: published cells past its records schedule, until purged", t.owner),
    )
}

fn etl_tables() -> Vec<Table> {
    use SqlType::{BigInt, Text, Timestamp};
    let kind = TableKind::EtlState;
    vec![
        table(
            "etl_file_ledger".to_string(),
            kind,
            vec![
                column("source", Text, false),
                column("path", Text, false),
                column("sha256", Text, false),
                column("size", BigInt, false),
                column("rows_read", BigInt, false),
                column("rows_loaded", BigInt, false),
                column("rows_rejected", BigInt, false),
                column("batch", BigInt, false),
                column("loaded_at", Timestamp, false),
                // Added after the first release, hence last: rows read = loaded + rejected +
                // late.
                Column {
                    name: "rows_late".to_string(),
                    ty: BigInt,
                    nullable: false,
                    default: Some(Value::Int(0)),
                },
            ],
            &["source", "path"],
            "Every landed file loaded, once: its checksum and row counts".to_string(),
        ),
        table(
            "etl_watermark".to_string(),
            kind,
            vec![
                column("source", Text, false),
                column("column_name", Text, false),
                column("value", Text, false),
                column("updated_at", Timestamp, false),
            ],
            &["source"],
            "Incremental sources: the highest value of the incremental column loaded so far"
                .to_string(),
        ),
        table(
            "etl_run_log".to_string(),
            kind,
            vec![
                column("run_id", Text, false),
                column("source", Text, true),
                column("step", Text, false),
                column("batch", BigInt, true),
                column("started_at", Timestamp, false),
                column("finished_at", Timestamp, true),
                column("rows_in", BigInt, true),
                column("rows_out", BigInt, true),
                column("rows_rejected", BigInt, true),
                column("status", Text, false),
                column("error", Text, true),
            ],
            &[],
            "One row per step run: when, how many rows, whether it worked".to_string(),
        ),
        table(
            "metric_refresh".to_string(),
            kind,
            vec![
                column("metric", Text, false),
                column("as_of", Timestamp, false),
                column("batch", BigInt, false),
                column("refreshed_at", Timestamp, false),
            ],
            &["metric"],
            "Each metric's last refresh: the instant its values are as of, the last batch they cover"
                .to_string(),
        ),
        table(
            "etl_rejects".to_string(),
            kind,
            vec![
                column("source", Text, false),
                column("batch", BigInt, false),
                column("file", Text, false),
                column("line", BigInt, false),
                column("column_name", Text, false),
                column("value", Text, true),
                column("reason", Text, false),
                column("rejected_at", Timestamp, false),
            ],
            &["source", "batch", "line", "column_name"],
            "Landed values that failed their column's checks; their rows were not loaded"
                .to_string(),
        ),
        table(
            "etl_late".to_string(),
            kind,
            vec![
                column("source", Text, false),
                column("batch", BigInt, false),
                column("file", Text, false),
                column("line", BigInt, false),
                column("column_name", Text, false),
                column("value", Text, true),
                column("watermark", Text, false),
                column("reason", Text, false),
                column("skipped_at", Timestamp, false),
            ],
            &["source", "batch", "line"],
            "Landed rows of incremental sources skipped as late (older than the watermark less \
             the lookback); their rows were not loaded"
                .to_string(),
        ),
    ]
}

fn audit_table() -> Table {
    use SqlType::{BigInt, Text, Timestamp};
    table(
        "audit_log".to_string(),
        TableKind::Audit,
        vec![
            column("seq", BigInt, false),
            // Not `at`: a reserved word in DuckDB.
            column("occurred_at", Timestamp, false),
            column("actor", Text, false),
            column("action", Text, false),
            column("object", Text, true),
            column("outcome", Text, false),
            column("parameters", Text, true),
            column("prev_hash", Text, true),
            column("hash", Text, false),
            // Where the action came from (host, process); added after the first release,
            // hence last.
            column("origin", Text, true),
        ],
        &["seq"],
        "Append-only audit trail; each row's hash covers the previous row's".to_string(),
    )
}

/// The head of the audit chain, updated in the same transaction as every append: a trail
/// whose last rows were deleted no longer reaches the head recorded here.
fn audit_anchor_table() -> Table {
    use SqlType::{BigInt, Text, Timestamp};
    table(
        "audit_anchor".to_string(),
        TableKind::Audit,
        vec![
            column("chain", Text, false),
            column("seq", BigInt, false),
            column("hash", Text, true),
            column("updated_at", Timestamp, false),
        ],
        &["chain"],
        "The audit chain's head (last seq and hash), written with every append".to_string(),
    )
}

/// Sign-on of `tally serve` (the runtime's `serve` module writes them): a user's password
/// hash, the one-time enrolment tokens that let a user set it, and the sessions. Tokens are
/// stored as SHA-256 hashes only, so a copy of the database signs no one in. No grants: only
/// the runtime's own connection reads them.
fn auth_tables() -> Vec<Table> {
    use SqlType::{BigInt, Text, Timestamp};
    vec![
        table(
            "auth_account".to_string(),
            TableKind::Policy,
            vec![
                column("user_id", Text, false),
                column("password_hash", Text, false),
                column("password_set_at", Timestamp, false),
            ],
            &["user_id"],
            "A user's password as an Argon2id PHC string, set by the user from an enrolment token"
                .to_string(),
        ),
        table(
            "auth_enrolment".to_string(),
            TableKind::Policy,
            vec![
                column("token_hash", Text, false),
                column("user_id", Text, false),
                column("created_at", Timestamp, false),
                column("expires_at", Timestamp, false),
                column("used_at", Timestamp, true),
            ],
            &["token_hash"],
            "One-time tokens (SHA-256) with which a user sets a password; they expire and work once"
                .to_string(),
        ),
        table(
            "auth_session".to_string(),
            TableKind::Policy,
            vec![
                column("token_hash", Text, false),
                column("user_id", Text, false),
                column("csrf_hash", Text, false),
                column("created_at", Timestamp, false),
                column("last_seen_at", Timestamp, false),
                column("expires_at", Timestamp, false),
                column("revoked_at", Timestamp, true),
                column("revoked_why", Text, true),
                column("client", Text, true),
                column("requests", BigInt, false),
            ],
            &["token_hash"],
            "Signed-in sessions (token and CSRF token as SHA-256), with idle and absolute expiry"
                .to_string(),
        ),
    ]
}
