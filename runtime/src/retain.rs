//! `tally retain`, and the retention step of `tally run`: each source's `retention`
//! statements from the plan, run at `now`.
//!
//! Rows of `cur_<source>` past the source's `retain` or its rule's `keep` move to
//! `arc_<source>` (reason `past_retention`); archived rows whose `_tally_purge_after` has come
//! are deleted. Each source's statements and its run-log row commit in one transaction, so a
//! source is either retained and logged or left exactly as it was.
//!
//! The counts come from the rows each statement changed, attributed by the statement's role
//! in the plan: an `archive` statement copies to the archive, an `expire` statement takes the
//! same rows out of the live table (the two must agree, or nothing of the source is kept: a
//! row copied but not removed would be doubled, one removed but not copied lost), a `purge`
//! statement deletes archived rows. A source without an `archive` period purges what it archives at
//! once: such rows count as both archived and purged.

use crate::backend::{in_transaction, Backend};
use crate::error::{codes, Error, Result};
use crate::params::Params;
use crate::plan::{PerDialect as _, Plan, Role, SourcePlan, SourceStatements as _};
use crate::value::timestamp_text;
use chrono::NaiveDateTime;
use std::fmt;
use std::time::Instant;

/// The run-log step name of retention.
pub const STEP: &str = "retain";

/// What retention did to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRetention {
    pub source: String,
    /// Rows moved from `cur_<source>` to the archive because they were past retention.
    pub archived: u64,
    /// Archive rows deleted because they were past `_tally_purge_after`.
    pub purged: u64,
}

/// What one retention pass did, per source in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainReport {
    pub now: NaiveDateTime,
    pub run_id: String,
    pub sources: Vec<SourceRetention>,
}

impl RetainReport {
    pub fn source(&self, name: &str) -> Option<&SourceRetention> {
        self.sources.iter().find(|s| s.source == name)
    }

    pub fn archived(&self) -> u64 {
        self.sources.iter().map(|s| s.archived).sum()
    }

    pub fn purged(&self) -> u64 {
        self.sources.iter().map(|s| s.purged).sum()
    }
}

impl fmt::Display for RetainReport {
    /// One line per source, then the totals: what an operator reads after `tally retain`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.sources.iter().map(|s| s.source.len()).max().unwrap_or(0).max(6);
        writeln!(f, "retention at {}", timestamp_text(self.now))?;
        writeln!(f, "  {:<width$}  {:>10}  {:>10}", "source", "archived", "purged")?;
        for s in &self.sources {
            writeln!(f, "  {:<width$}  {:>10}  {:>10}", s.source, s.archived, s.purged)?;
        }
        write!(f, "  {:<width$}  {:>10}  {:>10}", "total", self.archived(), self.purged())
    }
}

/// Applies every source's retention at `now`, one transaction per source, and records one
/// run-log row per source (step `retain`, `rows_in` = archived, `rows_out` = purged). Stops
/// at the first source that fails: its transaction is rolled back, a `failed` run-log row is
/// written, and the error names the source; sources before it stay retained.
pub fn retain(db: &mut dyn Backend, plan: &Plan, now: NaiveDateTime) -> Result<RetainReport> {
    let run_id = format!("retain-{}", now.format("%Y%m%dT%H%M%S"));
    retain_run(db, plan, now, &run_id)
}

/// [`retain`] as a step of a larger run: its run-log rows carry `run_id`.
pub fn retain_run(
    db: &mut dyn Backend,
    plan: &Plan,
    now: NaiveDateTime,
    run_id: &str,
) -> Result<RetainReport> {
    let dialect = db.dialect();
    let run_log = plan.runtime_sql(dialect)?.run_log.clone();
    if !db.table_exists("etl_run_log")? {
        return Err(Error::new(
            codes::NOT_MIGRATED,
            format!("{} has no tally schema yet (no etl_run_log table)", db.describe()),
        )
        .help("apply the migrations first: `tally migrate`"));
    }
    let mut report = RetainReport { now, run_id: run_id.to_owned(), sources: Vec::new() };
    let log = Log { run_log: &run_log, run_id, now };
    for source in &plan.sources {
        let counts = log.in_transaction(db, &source.name, "source", |db| {
            let statements = &source.sql(db.dialect())?.retention;
            let counts =
                run_counted(db, statements, now, &source.tables.archive, &source.tables.current)?;
            if counts.0 > 0 {
                mark_stale(db, plan, source)?;
            }
            Ok(counts)
        })?;
        report.sources.push(SourceRetention {
            source: source.name.clone(),
            archived: counts.0,
            purged: counts.1,
        });
    }
    // Marts' records schedules: their cells by the age of their period.
    for table in plan.marts.iter() {
        let Some(retention) = &table.retention else { continue };
        let counts = log.in_transaction(db, &table.table, "mart", |db| {
            let dialect = db.dialect();
            let statements = retention.sql.get(&dialect).ok_or_else(|| {
                Error::new(
                    codes::GENERATED_UNREADABLE,
                    format!("plan.json: mart `{}` has no {dialect} retention", table.name),
                )
                .help("regenerate generated/ with `tally compile`")
            })?;
            run_counted(db, statements, now, &retention.archive, &table.table)
        })?;
        report.sources.push(SourceRetention {
            source: table.table.clone(),
            archived: counts.0,
            purged: counts.1,
        });
    }
    Ok(report)
}

/// Where and as what retention writes its run-log rows.
struct Log<'a> {
    run_log: &'a str,
    run_id: &'a str,
    now: NaiveDateTime,
}

impl Log<'_> {
    /// Runs `work` (archived and purged counts) for `name` in one transaction with its `ok`
    /// run-log row. On failure the transaction is rolled back, a `failed` row is written on
    /// its own (best effort: worth a log row, not worth hiding the error) and the error names
    /// what failed.
    fn in_transaction(
        &self,
        db: &mut dyn Backend,
        name: &str,
        what: &str,
        work: impl FnOnce(&mut dyn Backend) -> Result<(u64, u64)>,
    ) -> Result<(u64, u64)> {
        let started = Instant::now();
        let done = in_transaction(db, |db| {
            let (archived, purged) = work(db)?;
            let log = log_params(self.run_id, name, self.now, started)
                .with("rows_in", archived as i64)
                .with("rows_out", purged as i64)
                .with("status", "ok")
                .with("error", None::<String>);
            db.execute(&log.render(self.run_log)?)?;
            Ok((archived, purged))
        });
        done.map_err(|error| {
            let error = error.context(format!(
                "retention of {what} `{name}` at {} failed and was rolled back",
                timestamp_text(self.now)
            ));
            let log = log_params(self.run_id, name, self.now, started)
                .with("rows_in", 0_i64)
                .with("rows_out", 0_i64)
                .with("status", "failed")
                .with("error", error.message.clone());
            if let Ok(sql) = log.render(self.run_log) {
                let _ = db.execute(&sql);
            }
            error
        })
    }
}

/// Runs retention statements (inside the caller's transaction) and counts by role: rows
/// copied to `archive` must equal rows removed from `live`; returns (archived, purged).
fn run_counted(
    db: &mut dyn Backend,
    statements: &[crate::plan::Statement],
    now: NaiveDateTime,
    archive: &str,
    live: &str,
) -> Result<(u64, u64)> {
    let params = Params::new().with("now", now);
    let (mut copied, mut removed, mut purged) = (0, 0, 0);
    for (index, statement) in statements.iter().enumerate() {
        let changed = db.execute(&params.render(&statement.sql)?).map_err(|e| {
            e.context(format!("retention statement {} of {}", index + 1, statements.len()))
        })?;
        match statement.role {
            Role::Archive => copied += changed,
            Role::Expire => removed += changed,
            Role::Purge => purged += changed,
            _ => {}
        }
    }
    if copied != removed {
        return Err(Error::new(
            codes::STATEMENT_FAILED,
            format!("{copied} row(s) were copied to {archive} but {removed} removed from {live}"),
        )
        .help("this is a bug in the generated retention statements: please report it with generated/plan.json"));
    }
    Ok((copied, purged))
}

/// Marks the metrics that read `source`'s live table stale, in the retention's transaction:
/// their `metric_refresh` rows go, so the next refresh (at once in `tally retain` and in
/// `tally run`, or whichever comes first after a crash) recomputes them. Periods the retention
/// reached keep their published cells (`docs/runtime.md`, Published history).
fn mark_stale(db: &mut dyn Backend, plan: &Plan, source: &SourcePlan) -> Result<()> {
    let metrics: Vec<&crate::plan::MetricPlan> =
        plan.metrics.iter().filter(|m| m.inputs.tables.contains(&source.tables.current)).collect();
    crate::etl::forget_refreshes(db, &metrics)
}

/// The run-log placeholders every retention row shares. The times are on the run's clock
/// (`now`, which `--now` sets); the step's real duration is added to it.
fn log_params(run_id: &str, source: &str, now: NaiveDateTime, started: Instant) -> Params {
    let elapsed = chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    let elapsed = chrono::Duration::microseconds(elapsed.num_microseconds().unwrap_or(0));
    Params::new()
        .with("run_id", run_id)
        .with("log_source", source)
        .with("step", STEP)
        .with("log_batch", None::<i64>)
        .with("started_at", now)
        .with("finished_at", now + elapsed)
        .with("rows_rejected", 0_i64)
}
