//! `tally audit verify|list|show|anchor|export`, and what every audited command shares: who the
//! operator is (`--actor`) and where the audit trail's head is kept outside the database
//! (`--audit-anchor`).

use super::{fail, Target};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tally_runtime::audit::{self, Entry, Filter, Record};
use tally_runtime::{backend, Backend};

/// Who acts, for the audit trail, and the anchor file. Flattened into every command that
/// changes the warehouse.
#[derive(Debug, Clone, Args)]
pub struct Operator {
    /// Who is acting, for the audit trail [default: the OS user, $USER]
    #[arg(long, env = "TALLY_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,
    /// Keep the audit trail's head in this file too, outside the database, so that a trail
    /// truncated together with its anchor table is still caught by `tally audit verify`
    #[arg(long, env = "TALLY_AUDIT_ANCHOR", value_name = "FILE")]
    pub audit_anchor: Option<PathBuf>,
}

impl Operator {
    /// `--actor`, else the OS user (`USER`, `LOGNAME`, `USERNAME`).
    pub fn actor(&self) -> String {
        self.actor
            .clone()
            .filter(|a| !a.trim().is_empty())
            .or_else(|| {
                ["USER", "LOGNAME", "USERNAME"]
                    .iter()
                    .filter_map(|v| std::env::var(v).ok())
                    .find(|v| !v.trim().is_empty())
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Appends `entry` in a transaction of its own. A database without an audit trail yet (a
    /// refusal before the first migration) gets a note on stderr instead.
    pub fn record(&self, db: &mut dyn Backend, entry: &Entry) -> tally_runtime::Result<()> {
        if !audit::available(db)? {
            eprintln!(
                "note: {} has no audit trail yet; `{}` was not audited",
                db.describe(),
                entry.action
            );
            return Ok(());
        }
        audit::record(db, entry)?;
        Ok(())
    }

    /// After a command's work committed: writes the head to the anchor file, when one is
    /// configured. A problem is printed, not returned: the command's own result stands.
    pub fn finish(&self, db: &mut dyn Backend) {
        let Some(path) = &self.audit_anchor else { return };
        match audit::available(db) {
            Ok(true) => {
                if let Err(error) = audit::write_anchor_file(db, path) {
                    eprintln!("{error}");
                }
            }
            Ok(false) => {}
            Err(error) => eprintln!("{error}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, for people
    Table,
    /// JSON, for programs
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exit 1 and name each edited, deleted, reordered or truncated record
    Verify {
        #[command(flatten)]
        target: Target,
        /// Also check the trail against the head kept in this file
        #[arg(long, env = "TALLY_AUDIT_ANCHOR", value_name = "FILE")]
        audit_anchor: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List audit records, oldest first
    List {
        #[command(flatten)]
        target: Target,
        /// Only this actor's records
        #[arg(long)]
        actor: Option<String>,
        /// Only this action's records (`user.add`, `migrate.apply`, `run`, ...)
        #[arg(long)]
        action: Option<String>,
        /// Only records about this object (a user, a migration)
        #[arg(long)]
        object: Option<String>,
        /// Only the last N matching records
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one record in full, with its hashes
    Show {
        /// The record's seq
        seq: i64,
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the trail's head to the anchor file now
    Anchor {
        #[command(flatten)]
        target: Target,
        /// The anchor file
        #[arg(long, env = "TALLY_AUDIT_ANCHOR", value_name = "FILE")]
        audit_anchor: PathBuf,
    },
    /// Land the audit records since the last export as a new file of a source of the project
    /// (JSON lines), so that the project's metrics over its audit log count this warehouse's
    /// own trail; `tally run` then loads it like any landed file
    Export {
        /// The source that receives the trail (its columns named like `audit_log`'s take them)
        #[arg(long)]
        source: String,
        /// The landing directory `tally run --landing` reads
        #[arg(long, value_name = "DIR")]
        landing: PathBuf,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        operator: Operator,
        /// The time recorded for the export (default: the clock)
        #[arg(long)]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn main(args: AuditArgs) -> anyhow::Result<ExitCode> {
    Ok(match args.command {
        AuditCommand::Verify { target, audit_anchor, format } => {
            verify(&target, audit_anchor.as_deref(), format)
        }
        AuditCommand::List { target, actor, action, object, limit, format } => {
            list(&target, &Filter { actor, action, object, limit }, format)
        }
        AuditCommand::Show { seq, target, format } => show(&target, seq, format),
        AuditCommand::Anchor { target, audit_anchor } => anchor(&target, &audit_anchor),
        AuditCommand::Export { source, landing, target, operator, now, format } => {
            export(&target, &operator, &source, &landing, now.as_deref(), format)
        }
    }
    .unwrap_or_else(|error| fail(&error)))
}

fn verify(
    target: &Target,
    anchor_file: Option<&std::path::Path>,
    format: Format,
) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let verification = audit::verify(db.as_mut(), anchor_file)?;
    match format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&verification).unwrap_or_default())
        }
        Format::Table => {
            for problem in &verification.problems {
                println!("{problem}");
            }
        }
    }
    let head = verification.anchor.as_ref().map_or(0, |h| h.seq);
    if verification.is_clean() {
        eprintln!(
            "{}: audit trail intact: {} record(s), head at seq {head}{}",
            db.describe(),
            verification.records,
            if anchor_file.is_some() { ", matching the anchor file" } else { "" }
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error[R0452]: {}: the audit trail was tampered with: {} problem(s) in {} record(s)",
            db.describe(),
            verification.problems.len(),
            verification.records
        );
        eprintln!("  help: restore audit_log from a backup and report the incident; the problems above say which records changed");
        Ok(ExitCode::FAILURE)
    }
}

fn list(target: &Target, filter: &Filter, format: Format) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let records = audit::list(db.as_mut(), filter)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&records).unwrap_or_default()),
        Format::Table => {
            let header =
                ["seq", "occurred_at", "actor", "action", "object", "outcome", "parameters"];
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.seq.to_string(),
                        r.occurred_at.clone(),
                        r.actor.clone(),
                        r.action.clone(),
                        r.object.clone().unwrap_or_else(|| "-".to_owned()),
                        r.outcome.clone(),
                        r.parameters.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(&header, &rows);
        }
    }
    eprintln!("{}: {} record(s)", db.describe(), records.len());
    Ok(ExitCode::SUCCESS)
}

fn show(target: &Target, seq: i64, format: Format) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let record: Record = audit::show(db.as_mut(), seq)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&record).unwrap_or_default()),
        Format::Table => {
            let none = || "-".to_owned();
            let fields = [
                ("seq", record.seq.to_string()),
                ("occurred_at", record.occurred_at.clone()),
                ("actor", record.actor.clone()),
                ("action", record.action.clone()),
                ("object", record.object.clone().unwrap_or_else(none)),
                ("outcome", record.outcome.clone()),
                ("parameters", record.parameters.clone().unwrap_or_else(none)),
                ("origin", record.origin.clone().unwrap_or_else(none)),
                ("prev_hash", record.prev_hash.clone().unwrap_or_else(none)),
                ("hash", record.hash.clone()),
            ];
            for (name, value) in fields {
                println!("{name:<12} {value}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn anchor(target: &Target, path: &std::path::Path) -> tally_runtime::Result<ExitCode> {
    let mut db = backend::open(&target.db)?;
    let head = audit::write_anchor_file(db.as_mut(), path)?;
    eprintln!("{}: wrote head seq {} to {}", db.describe(), head.seq, path.display());
    Ok(ExitCode::SUCCESS)
}

fn export(
    target: &Target,
    operator: &Operator,
    source: &str,
    landing: &std::path::Path,
    now: Option<&str>,
    format: Format,
) -> tally_runtime::Result<ExitCode> {
    let now = super::now_or_clock(now)?;
    let plan = tally_runtime::plan::load(&target.generated)?;
    let mut db = backend::open(&target.db)?;
    let done = audit::export::export(db.as_mut(), &plan, source, landing, &operator.actor(), now)?;
    operator.finish(db.as_mut());
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&done).unwrap_or_default()),
        Format::Table => match (&done.file, done.first_seq, done.last_seq) {
            (Some(file), Some(first), Some(last)) => println!(
                "exported {} audit record(s), seq {first} to {last}, to {} ({source})",
                done.records,
                landing.join(file).display()
            ),
            _ => println!("no audit records since the last export to {source}"),
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}
