//! `tally run`, `tally status` and `tally retain`: the ETL against a warehouse, through
//! `tally_runtime::etl` and `tally_runtime::retain`. This module only reads arguments, draws
//! progress and prints reports.
//!
//! `TALLY_FAULT=<source>:<step>` makes `tally run` abort at that point: a test hook for the
//! crash tests (see `tally_runtime::etl`), read only by builds with debug assertions; a release
//! binary ignores it.

use super::audit::Operator;
use super::{fail, Target};
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tally_runtime::audit::{Entry, Outcome};
use tally_runtime::backend;
use tally_runtime::error::codes;
use tally_runtime::etl::{self, Event, Progress, RunOptions, RunReport, WatchClock};
use tally_runtime::generated::Generated;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary for people
    Human,
    /// JSON, for programs (with --watch, one object per line and run)
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    operator: Operator,
    /// The landing area; source patterns (`seacats/*.csv`) are relative to it
    #[arg(long, default_value = "landing")]
    landing: PathBuf,
    /// Run what is due now, once, and exit (the default)
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running: wait for the next scheduled instant of any source, run what is due, repeat
    #[arg(long)]
    watch: bool,
    /// Only this source (may be repeated)
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,
    /// The run's time, UTC (`2024-03-01 06:00`), instead of the clock; with --watch, a
    /// simulated clock starts there and jumps from one scheduled instant to the next
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// With --watch: stop after this time (required with --now)
    #[arg(long, value_name = "TIME", requires = "watch")]
    until: Option<String>,
    /// How to print what was done
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,
    /// The time to judge freshness at, UTC, instead of the clock
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct RetainArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    operator: Operator,
    /// The time retention is counted at, UTC, instead of the clock
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    Ok(run_inner(&args).unwrap_or_else(|e| fail(&e)))
}

fn run_inner(args: &RunArgs) -> tally_runtime::Result<ExitCode> {
    let now = super::now_or_clock(args.now.as_deref())?;
    let until = args.until.as_deref().map(etl::parse_time).transpose()?;
    let mut db = backend::open(&args.target.db)?;
    let generated = Generated::load(&args.target.generated, db.dialect())?;
    let options = RunOptions {
        landing: args.landing.clone(),
        now,
        sources: args.sources.clone(),
        fault: std::env::var("TALLY_FAULT")
            .ok()
            .filter(|f| cfg!(debug_assertions) && !f.is_empty()),
    };
    let mut progress = Bars::new(args.format, args.watch);
    if args.watch {
        let clock = if args.now.is_some() { WatchClock::Simulated } else { WatchClock::Real };
        let result = etl::watch(db.as_mut(), &generated, &options, clock, until, &mut progress);
        // The runs of a watch are audited together when it ends.
        let entry = Entry::new(&args.operator.actor(), "run.watch", now);
        let entry = match &result {
            Ok(summary) => entry
                .outcome(if summary.failed_runs > 0 { Outcome::Failed } else { Outcome::Ok })
                .parameters(serde_json::json!({
                    "runs": summary.runs,
                    "failed_runs": summary.failed_runs,
                    "until": args.until,
                })),
            Err(error) => entry.error(Outcome::Failed, error),
        };
        args.operator.record(db.as_mut(), &entry)?;
        args.operator.finish(db.as_mut());
        let summary = result?;
        eprintln!(
            "{}: {} run(s), {} with errors",
            db.describe(),
            summary.runs,
            summary.failed_runs
        );
        return Ok(if summary.failed_runs > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let result = etl::run_once(db.as_mut(), &generated, &options, &mut progress);
    let entry = Entry::new(&args.operator.actor(), "run", now);
    let entry = match &result {
        Ok(report) => entry
            .object(&report.run_id)
            .outcome(if report.failed() { Outcome::Failed } else { Outcome::Ok })
            .parameters(run_parameters(report)),
        Err(error) => entry.error(Outcome::Refused, error),
    };
    args.operator.record(db.as_mut(), &entry)?;
    args.operator.finish(db.as_mut());
    let report = result?;
    Ok(if report.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the audit trail keeps of a run: per source the files loaded and their rows, the
/// failures, the metrics refreshed, retention.
fn run_parameters(report: &RunReport) -> serde_json::Value {
    let errors = |errors: &[tally_runtime::Error]| -> Vec<serde_json::Value> {
        errors.iter().map(|e| serde_json::json!({"code": e.code, "message": e.message})).collect()
    };
    let sources: Vec<serde_json::Value> = report
        .sources
        .iter()
        .filter(|s| s.due)
        .map(|s| {
            let rows = s.rows();
            serde_json::json!({
                "source": s.source,
                "files": s.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>(),
                "rows_read": rows.read,
                "rows_loaded": rows.loaded,
                "rows_rejected": rows.rejected,
                "rows_late": rows.late,
                "skipped": s.skipped,
                "held_back": s.held_back,
                "unloaded_before": s.unloaded_before,
                "errors": errors(&s.errors),
            })
        })
        .collect();
    serde_json::json!({
        "now": report.now,
        "sources": sources,
        "files_loaded": report.files_loaded(),
        "refreshed_metrics": report.refresh.as_ref().map_or(0, |r| r.metrics.len()),
        "retention": report.retention,
        "errors": errors(&report.errors),
    })
}

/// Progress bars on a terminal (one per source, a spinner for the refresh), nothing when
/// stderr is not a terminal or under CI; and each run's report on stdout when it finishes.
struct Bars {
    format: Format,
    /// In `--watch`, runs that did nothing are not printed.
    watching: bool,
    multi: Option<MultiProgress>,
    bars: BTreeMap<String, ProgressBar>,
}

impl std::fmt::Debug for Bars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bars").field("format", &self.format).finish()
    }
}

impl Bars {
    fn new(format: Format, watching: bool) -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let multi = (std::io::stderr().is_terminal() && !ci)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Bars { format, watching, multi, bars: BTreeMap::new() }
    }

    fn bar(&mut self, key: &str, make: impl FnOnce() -> ProgressBar) -> Option<&ProgressBar> {
        let multi = self.multi.as_ref()?;
        Some(self.bars.entry(key.to_owned()).or_insert_with(|| multi.add(make())))
    }

    fn clear(&mut self) {
        for (_, bar) in std::mem::take(&mut self.bars) {
            bar.finish_and_clear();
        }
    }

    fn print(&self, report: &RunReport) {
        let eventful = report.files_loaded() > 0 || report.failed() || report.refresh.is_some();
        if self.watching && !eventful {
            return;
        }
        match self.format {
            Format::Human => print!("{report}"),
            Format::Json => match serde_json::to_string(report) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("error: cannot print the report as JSON: {e}"),
            },
        }
    }
}

impl Progress for Bars {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Source { source, files } => {
                let style = ProgressStyle::with_template(
                    "{prefix:>16} [{bar:30}] {pos}/{len} files {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                if let Some(bar) = self.bar(source, || {
                    ProgressBar::new(files as u64).with_style(style).with_prefix(source.to_owned())
                }) {
                    bar.set_length(files as u64);
                }
            }
            Event::FileStarted { source, path, size } => {
                if let Some(bar) = self.bars.get(source) {
                    bar.set_message(format!("{path} ({} KiB)", size.div_ceil(1024)));
                }
            }
            Event::FileDone { source, path, error } => {
                if let Some(bar) = self.bars.get(source) {
                    bar.inc(1);
                    if let Some(error) = error {
                        bar.println(format!("{path}: {error}"));
                    }
                }
            }
            Event::Refresh { metrics } => {
                let style = ProgressStyle::with_template("{prefix:>16} {spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                if let Some(bar) = self.bar(" refresh", || {
                    ProgressBar::new_spinner().with_style(style).with_prefix("refresh")
                }) {
                    bar.set_message(format!("{metrics} metric(s)"));
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                }
            }
            Event::Finished(report) => {
                self.clear();
                self.print(report);
            }
        }
    }
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    Ok(status_inner(&args).unwrap_or_else(|e| fail(&e)))
}

fn status_inner(args: &StatusArgs) -> tally_runtime::Result<ExitCode> {
    let now = super::now_or_clock(args.now.as_deref())?;
    let mut db = backend::open(&args.target.db)?;
    let generated = Generated::load(&args.target.generated, db.dialect())?;
    let sources = etl::status(db.as_mut(), &generated, now)?;
    if args.format == Format::Json {
        let json = serde_json::json!({
            "now": tally_runtime::value::timestamp_text(now),
            "sources": sources,
        });
        println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "source",
        "last load",
        "every",
        "late after",
        "state",
        "next due",
        "files",
        "read",
        "loaded",
        "rejected",
        "late rows",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for s in &sources {
        table.push(vec![
            s.source.clone(),
            s.last_load.clone().unwrap_or_else(|| "never".to_owned()),
            minutes(s.expected_every_minutes),
            minutes(s.late_after_minutes),
            match (&s.last_load, s.late) {
                (None, _) => "never loaded",
                (Some(_), true) => "LATE",
                (Some(_), false) => "ok",
            }
            .to_owned(),
            s.next_due.clone().unwrap_or_else(|| "-".to_owned()),
            s.files_loaded.to_string(),
            s.rows_read.to_string(),
            s.rows_loaded.to_string(),
            s.rows_rejected.to_string(),
            s.rows_late.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| table.iter().map(|row| row[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                // Counts line up on the right.
                if c >= 6 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:w$}")
                }
            })
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    for s in &sources {
        if let Some(failure) = &s.last_failure {
            println!(
                "{}: {} failure(s) since the last load, the latest at {failure}",
                s.source, s.failures_since_last_load
            );
        }
    }
    let late = sources.iter().filter(|s| s.late).count();
    eprintln!(
        "{}: {} source(s), {late} late or never loaded, at {}",
        db.describe(),
        sources.len(),
        tally_runtime::value::timestamp_text(now)
    );
    Ok(ExitCode::SUCCESS)
}

/// `15m`, `2h`, `1d`, `7d`.
fn minutes(m: u64) -> String {
    if m > 0 && m % 1440 == 0 {
        format!("{}d", m / 1440)
    } else if m > 0 && m % 60 == 0 {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

pub fn retain(args: RetainArgs) -> anyhow::Result<ExitCode> {
    Ok(retain_inner(&args).unwrap_or_else(|e| fail(&e)))
}

fn retain_inner(args: &RetainArgs) -> tally_runtime::Result<ExitCode> {
    let now = super::now_or_clock(args.now.as_deref())?;
    let mut db = backend::open(&args.target.db)?;
    let generated = Generated::load(&args.target.generated, db.dialect())?;
    let result = etl::check_ready(db.as_mut(), &generated)
        .and_then(|()| tally_runtime::retain::retain(db.as_mut(), &generated.plan, now));
    let entry = Entry::new(&args.operator.actor(), "retain", now);
    let entry = match &result {
        Ok(report) => {
            let sources: Vec<serde_json::Value> = report
                .sources
                .iter()
                .map(|s| {
                    serde_json::json!({"source": s.source, "archived": s.archived, "purged": s.purged})
                })
                .collect();
            entry.object(&report.run_id).parameters(serde_json::json!({
                "sources": sources,
                "archived": report.archived(),
                "purged": report.purged(),
            }))
        }
        Err(error) => {
            let outcome = if error.code == codes::STATEMENT_FAILED {
                Outcome::Failed
            } else {
                Outcome::Refused
            };
            entry.error(outcome, error)
        }
    };
    args.operator.record(db.as_mut(), &entry)?;
    args.operator.finish(db.as_mut());
    println!("{}", result?);
    // The metrics whose live rows retention took out are refreshed at once (periods it
    // reached stay as published).
    match etl::refresh_stale(db.as_mut(), &generated, now, &mut etl::Quiet)? {
        Some(refresh) => println!(
            "  refreshed {} metric(s) (through batch {})",
            refresh.metrics.len(),
            refresh.through_batch
        ),
        None => println!("  no metric to refresh"),
    }
    Ok(ExitCode::SUCCESS)
}
