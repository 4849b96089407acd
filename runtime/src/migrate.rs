//! `tally migrate`: applies `generated/<dialect>/migrations` to a database, in order, each in
//! one transaction with its ledger row.
//!
//! Before any DDL: the migrations directory is verified against `tally.sum` (by
//! [`crate::generated`]), and the ledger of applied migrations is compared with it. A
//! migration applied from different contents (its chain hash differs), an applied migration
//! missing from `generated/`, or a pending one ordered before an applied one is refused and
//! nothing is applied. Two migrators serialise on [`Backend::lock_migrations`].

use crate::backend::{in_transaction, Backend};
use crate::error::{codes, Error, Result};
use crate::generated::Migration;
use crate::split;
use crate::value::timestamp_text;
use chrono::NaiveDateTime;

/// The runtime's ledger of applied migrations. Created by the runtime itself: it must exist
/// before the first migration runs.
pub const LEDGER: &str = "tally_migrations";

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS tally_migrations (
  name TEXT PRIMARY KEY,
  chain_hash TEXT NOT NULL,
  statements BIGINT NOT NULL,
  applied_at TIMESTAMP NOT NULL
)";

/// Spark (Parquet): no `TEXT`, no constraints.
const CREATE_LEDGER_SPARK: &str = "CREATE TABLE IF NOT EXISTS tally_migrations (
  name STRING NOT NULL,
  chain_hash STRING NOT NULL,
  statements BIGINT NOT NULL,
  applied_at TIMESTAMP NOT NULL
) USING PARQUET";

/// A ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub name: String,
    pub chain_hash: String,
    pub applied_at: String,
}

/// How the database stands against `generated/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub applied: Vec<Applied>,
    pub pending: Vec<String>,
    /// Problems that stop `migrate`: each says which migration and what is wrong.
    pub drift: Vec<Error>,
}

impl Status {
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty()
    }
}

/// What the database has applied, compared with `migrations`. Reads only.
pub fn status(db: &mut dyn Backend, migrations: &[Migration]) -> Result<Status> {
    let applied = applied(db)?;
    let mut drift = Vec::new();
    for row in &applied {
        match migrations.iter().find(|m| m.name == row.name) {
            None => drift.push(
                Error::new(
                    codes::DATABASE_AHEAD,
                    format!(
                        "{} applied `{}` (at {}), which generated/ does not have",
                        db.describe(),
                        row.name,
                        row.applied_at
                    ),
                )
                .help("this database was migrated from newer or different definitions: use the generated/ it was migrated from"),
            ),
            Some(m) if m.chain_hash != row.chain_hash => drift.push(
                Error::new(
                    codes::APPLIED_MIGRATION_DIFFERS,
                    format!(
                        "{} applied `{}` from different contents than generated/ holds (it, or a migration before it, changed since)",
                        db.describe(),
                        row.name
                    ),
                )
                .help("applied migrations are never changed: restore generated/ from version control and express the change as a new migration with `tally compile`"),
            ),
            Some(_) => {}
        }
    }
    let last_applied = applied.iter().map(|a| a.name.as_str()).max();
    let mut pending = Vec::new();
    for m in migrations {
        if applied.iter().any(|a| a.name == m.name) {
            continue;
        }
        if let Some(last) = last_applied.filter(|last| m.name.as_str() < *last) {
            drift.push(
                Error::new(
                    codes::APPLIED_MIGRATION_DIFFERS,
                    format!(
                        "`{}` is not applied but sorts before `{last}`, which is: migrations were reordered or inserted",
                        m.name
                    ),
                )
                .help("restore generated/ from version control; new changes always get a new, later migration"),
            );
        }
        pending.push(m.name.clone());
    }
    Ok(Status { applied, pending, drift })
}

/// The ledger's rows in name order; none when the ledger does not exist yet.
pub fn applied(db: &mut dyn Backend) -> Result<Vec<Applied>> {
    if !db.table_exists(LEDGER)? {
        return Ok(Vec::new());
    }
    let text = if db.dialect() == crate::backend::Dialect::Spark { "STRING" } else { "TEXT" };
    let rows = db.query(&format!(
        "SELECT name, chain_hash, CAST(applied_at AS {text}) AS applied_at FROM tally_migrations ORDER BY name"
    ))?;
    Ok(rows
        .rows
        .iter()
        .map(|r| Applied {
            name: r[0].to_string(),
            chain_hash: r[1].to_string(),
            applied_at: r[2].to_string(),
        })
        .collect())
}

/// What one `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Migrations applied now (or that would be, for a dry run), in order.
    pub applied: Vec<String>,
    /// Migrations that were already applied.
    pub already: usize,
}

/// Applies every pending migration, in order; `dry_run` only reports them. Each migration
/// and its ledger row commit together; the first failure rolls its migration back, stops, and
/// names the migration, the statement's line and the engine's message.
pub fn migrate(
    db: &mut dyn Backend,
    migrations: &[Migration],
    now: NaiveDateTime,
    dry_run: bool,
) -> Result<Outcome> {
    db.lock_migrations()?;
    let result = migrate_locked(db, migrations, now, dry_run);
    let unlocked = db.unlock_migrations();
    let outcome = result?;
    unlocked?;
    Ok(outcome)
}

fn migrate_locked(
    db: &mut dyn Backend,
    migrations: &[Migration],
    now: NaiveDateTime,
    dry_run: bool,
) -> Result<Outcome> {
    let status = status(db, migrations)?;
    if let Some(first) = status.drift.into_iter().next() {
        return Err(first);
    }
    let already = status.applied.len();
    if dry_run {
        return Ok(Outcome { applied: status.pending, already });
    }
    db.execute(match db.dialect() {
        crate::backend::Dialect::Spark => CREATE_LEDGER_SPARK,
        _ => CREATE_LEDGER,
    })?;
    let mut done = Vec::new();
    for name in status.pending {
        let Some(migration) = migrations.iter().find(|m| m.name == name) else { continue };
        in_transaction(db, |db| apply_one(db, migration, now))?;
        done.push(name);
    }
    Ok(Outcome { applied: done, already })
}

fn apply_one(db: &mut dyn Backend, migration: &Migration, now: NaiveDateTime) -> Result<()> {
    let statements = split::located(&migration.contents);
    for (index, statement) in statements.iter().enumerate() {
        let done = if creates_role(&statement.sql) {
            create_role(db, &statement.sql)
        } else {
            db.execute(&statement.sql).map(|_| ())
        };
        done.map_err(|e| {
            e.context(format!(
                "migration {} failed at statement {} of {} (line {}); nothing of it was applied",
                migration.name,
                index + 1,
                statements.len(),
                statement.line
            ))
        })?;
    }
    let ledger = format!(
        "INSERT INTO tally_migrations (name, chain_hash, statements, applied_at) VALUES ('{}', '{}', {}, TIMESTAMP '{}')",
        migration.name.replace('\'', "''"),
        migration.chain_hash,
        statements.len(),
        timestamp_text(now)
    );
    db.execute(&ledger)?;
    Ok(())
}

fn creates_role(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .is_some_and(|l| l.to_ascii_uppercase().starts_with("CREATE ROLE "))
}

/// PostgreSQL roles are cluster-wide: another warehouse database on the same server (staging
/// beside production, the test suites' databases), or a database dropped earlier, may have
/// created the role already, possibly at this very moment. An existing role is taken as
/// created; the savepoint keeps the failed statement from aborting the migration.
fn create_role(db: &mut dyn Backend, sql: &str) -> Result<()> {
    db.execute("SAVEPOINT tally_create_role")?;
    match db.execute(sql) {
        Ok(_) => {}
        // "role ... already exists", or, when another session created it concurrently, the
        // unique violation whose detail says "Key (rolname)=(...) already exists".
        Err(e) if e.message.contains("already exists") => {
            db.execute("ROLLBACK TO SAVEPOINT tally_create_role")?;
        }
        Err(e) => return Err(e),
    }
    db.execute("RELEASE SAVEPOINT tally_create_role")?;
    Ok(())
}
