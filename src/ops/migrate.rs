//! `tally migrate [--dry-run]` and `tally migrate status`.

use super::audit::Operator;
use super::{fail, Target};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use tally_runtime::audit::{Entry, Outcome};
use tally_runtime::error::codes;
use tally_runtime::generated::load_migrations;
use tally_runtime::{backend, migrate, Backend};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: Option<MigrateCommand>,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    operator: Operator,
    /// List the pending migrations; apply nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Show applied and pending migrations, and any drift from generated/
    Status {
        #[command(flatten)]
        target: Target,
    },
}

pub fn main(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    Ok(match args.command {
        Some(MigrateCommand::Status { target }) => status(&target),
        None => apply(&args.target, &args.operator, args.dry_run),
    }
    .unwrap_or_else(|error| fail(&error)))
}

fn apply(target: &Target, operator: &Operator, dry_run: bool) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let dir = target.generated.join(db.dialect().name()).join("migrations");
    let now = chrono::Utc::now().naive_utc();
    let before = migrate::applied(db.as_mut())?;
    let result = load_migrations(&dir)
        .and_then(|migrations| migrate::migrate(db.as_mut(), &migrations, now, dry_run));
    if !dry_run {
        audit(db.as_mut(), operator, now, &before, result.as_ref().err())?;
        operator.finish(db.as_mut());
    }
    let outcome = result?;
    let verb = if dry_run { "would apply" } else { "applied" };
    for name in &outcome.applied {
        println!("{verb} {name}");
    }
    eprintln!(
        "{}: {} migration(s) {verb}, {} already applied",
        db.describe(),
        outcome.applied.len(),
        outcome.already
    );
    Ok(ExitCode::SUCCESS)
}

/// One audit record per migration applied (`migrate.apply`), and one for a refusal or
/// failure (`migrate`, with the error), after the migrations' own transactions.
fn audit(
    db: &mut dyn Backend,
    operator: &Operator,
    now: chrono::NaiveDateTime,
    before: &[migrate::Applied],
    error: Option<&tally_runtime::Error>,
) -> tally_runtime::Result<()> {
    let actor = operator.actor();
    let target = db.describe();
    for applied in migrate::applied(db)? {
        if before.iter().any(|b| b.name == applied.name) {
            continue;
        }
        let entry = Entry::new(&actor, "migrate.apply", now)
            .object(&applied.name)
            .parameters(serde_json::json!({"database": target, "chain_hash": applied.chain_hash}));
        operator.record(db, &entry)?;
    }
    if let Some(error) = error {
        // A statement that failed is a failure; integrity and drift problems are refusals.
        let outcome =
            if error.code == codes::STATEMENT_FAILED { Outcome::Failed } else { Outcome::Refused };
        let entry = Entry::new(&actor, "migrate", now)
            .parameters(serde_json::json!({"database": target}))
            .error(outcome, error);
        operator.record(db, &entry)?;
    }
    Ok(())
}

fn status(target: &Target) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let dir = target.generated.join(db.dialect().name()).join("migrations");
    let migrations = load_migrations(&dir)?;
    let status = migrate::status(db.as_mut(), &migrations)?;
    for applied in &status.applied {
        println!("applied  {}  {}", applied.name, applied.applied_at);
    }
    for pending in &status.pending {
        println!("pending  {pending}");
    }
    for problem in &status.drift {
        eprintln!("{problem}");
    }
    eprintln!(
        "{}: {} applied, {} pending, {} problem(s)",
        db.describe(),
        status.applied.len(),
        status.pending.len(),
        status.drift.len()
    );
    Ok(if status.is_clean() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
