//! `tally migrate [--dry-run]` and `tally migrate status`.

use super::{fail, Target};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use tally_runtime::backend;
use tally_runtime::generated::load_migrations;
use tally_runtime::migrate;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: Option<MigrateCommand>,
    #[command(flatten)]
    target: Target,
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
        None => apply(&args.target, args.dry_run),
    }
    .unwrap_or_else(|error| fail(&error)))
}

fn apply(target: &Target, dry_run: bool) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let dir = target.generated.join(db.dialect().name()).join("migrations");
    let migrations = load_migrations(&dir)?;
    let now = chrono::Utc::now().naive_utc();
    let outcome = migrate::migrate(db.as_mut(), &migrations, now, dry_run)?;
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
