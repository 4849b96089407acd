//! `tally run` and `tally status`: loads the landed files of the sources that are due, refreshes
//! the metrics whose inputs changed, applies retention; and reports how fresh each source is.
//!
//! A run, at time `now` (`--now`, else the clock):
//!
//! 1. **Which sources.** A source is due when one of its scheduled instants (`schedule` in the
//!    plan, a [`Schedule`] that the contract evaluates, the same cron implementation that gave
//!    the plan its `freshness`) falls after its last load (`runtime.last_loads`) and at or
//!    before `now`, or when it was never loaded, or **at once when a landed file of it is not
//!    in the ledger** (`SourceReport::unloaded_before`): a run killed or failed part-way, or a
//!    file landed after the period's load. So the run after any crash loads what the crashed
//!    run left, whenever it runs, and reaches the state of a run that never crashed; nothing
//!    about a run in progress needs remembering.
//! 2. **Which files.** Its landed files ([`landing`]) in name order. A file the ledger has
//!    (`runtime.ledger_lookup`) with the same checksum and size is skipped; with another one it
//!    is an error, `R0202`, never a silent reload. A new file takes `runtime.next_batch` and
//!    runs every `file_steps` step's statements **in one transaction**, with the ledger row
//!    (`record`) and the run-log rows: a crash anywhere leaves the file unloaded, or loaded and
//!    logged. Before committing, the runtime checks the ledger row: rows read = rows loaded +
//!    rows rejected + rows late (an incremental source's rows older than its watermark less
//!    its lookback, kept in `etl_late`). PostgreSQL receives a `COPY ... FROM STDIN` statement's data from the
//!    runtime: the file's bytes (CSV after `landing.csv.skip` lines, JSON lines without blank
//!    lines), or for Parquet the CSV that the plan's `convert` statements write in an
//!    in-process DuckDB. A file that fails is rolled back, its failure written to the run log in
//!    a transaction of its own, and the source's later files wait for the next run (loading
//!    them first would apply newer data before older).
//! 3. **Refresh.** The metrics whose `inputs.tables` received a batch since the last refresh
//!    (every metric before the first), the metrics whose values depend on the clock (`clock`)
//!    when `now` is past their `metric_refresh.as_of`, and the metrics derived from them, in
//!    plan order, in one transaction with their run-log row and `metric_refresh` rows. That row's `batch` is the last batch the refresh
//!    covers, so what is stale is read from the database, not remembered by a process: a run
//!    that crashed before refreshing leaves the metrics stale for the next run to refresh.
//! 4. **Retention**, as `tally retain` applies it ([`crate::retain`]), when the last one
//!    (the run log's `retain` rows) is an hour or more old.
//!
//! Run-log rows (`runtime.run_log`) are written per file step (`rows_in`, `rows_out`,
//! `rows_rejected`: for `validate` and `record` the file's rows read, loaded and rejected; the
//! rest of those read were skipped as late),
//! per failure and per refresh. Their times are `now` plus the time the run has taken, so a run
//! with `--now` logs consistent times.
//!
//! **Test hook: fault points.** When `RunOptions::fault` (the CLI reads it from the
//! `TALLY_FAULT` environment variable) is `<source>:<step>`, the process aborts
//! (`std::process::abort`, no unwinding, no cleanup: a crash) right after that step's
//! statements ran for the source's first new file, before the transaction commits. `<step>` is
//! a `file_steps` name, or `commit` (right after the file's commit), and `*:refresh` aborts
//! after the refresh statements, before their commit; `*:retention` after retention. `*` as the
//! source matches any. The crash tests run `tally run` with each point and check that the next
//! run reaches exactly the state of a run that never crashed. Only builds with debug assertions
//! (`cargo build`, `cargo test`) have fault points: in a release build `RunOptions::fault` is
//! ignored and the abort is compiled out, so a release binary has no way to crash on purpose.

pub mod landing;
pub mod xlsx;

use crate::backend::{Backend, Dialect, DuckDb};
use crate::error::{codes, Error, Result};
use crate::generated::Generated;
use crate::migrate;
use crate::params::Params;
use crate::plan::{
    LandingFormat, PerDialect as _, Plan, Role, RuntimeSql, SourcePlan, SourceSql,
    SourceStatements as _,
};
use crate::value::{timestamp_text, Rows, Value};
use chrono::{NaiveDate, NaiveDateTime};
use landing::{CopyShape, HashingReader, LandedFile};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tally_contract::schedule::Schedule;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The landing area: source patterns are relative to it.
    pub landing: PathBuf,
    /// The run's time (`{now}`), UTC.
    pub now: NaiveDateTime,
    /// Only these sources (none: all).
    pub sources: Vec<String>,
    /// The fault point (test hook, see the module docs): `<source>:<step>`.
    pub fault: Option<String>,
}

/// What a run reports as it goes, for progress bars.
#[derive(Debug)]
pub enum Event<'a> {
    /// A source is due and has `files` landed files matching its pattern.
    Source { source: &'a str, files: usize },
    /// A new file starts loading.
    FileStarted { source: &'a str, path: &'a str, size: u64 },
    /// A landed file is done with: loaded, skipped or failed (`error`).
    FileDone { source: &'a str, path: &'a str, error: Option<&'a Error> },
    /// Refreshing `metrics` metrics starts.
    Refresh { metrics: usize },
    /// A whole run finished (in `--watch`, one per scheduled instant).
    Finished(&'a RunReport),
}

/// Receives [`Event`]s.
pub trait Progress {
    fn event(&mut self, event: Event<'_>);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn event(&mut self, _event: Event<'_>) {}
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub now: String,
    pub sources: Vec<SourceReport>,
    /// `None` when no metric was stale.
    pub refresh: Option<RefreshReport>,
    /// The retention step's report, as it prints.
    pub retention: Option<String>,
    /// Failures of the refresh or retention steps.
    #[serde(serialize_with = "errors_json")]
    pub errors: Vec<Error>,
}

/// What a run did for one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub due: bool,
    /// The next scheduled instant after the run.
    pub next_due: Option<String>,
    /// The files loaded, in order.
    pub files: Vec<FileReport>,
    /// Files already loaded (same checksum), left alone.
    pub skipped: u64,
    /// Files left for a later run because an earlier file of the source failed.
    pub held_back: u64,
    /// When no scheduled instant made the source due: its landed files that the ledger did not
    /// have (left by a run that was killed or failed part-way, or landed after the period's
    /// load), which make it due at once.
    pub unloaded_before: u64,
    #[serde(serialize_with = "errors_json")]
    pub errors: Vec<Error>,
}

/// One loaded file: its ledger row's counts (`rows_read = rows_loaded + rows_rejected +
/// rows_late`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub path: String,
    pub batch: i64,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    /// Rows of an incremental source older than its watermark less the lookback, kept in
    /// `etl_late`.
    pub rows_late: i64,
}

/// Rows read, loaded, rejected and skipped as late.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub read: i64,
    pub loaded: i64,
    pub rejected: i64,
    pub late: i64,
}

/// The refresh step.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    /// Refreshed metrics, in plan order.
    pub metrics: Vec<String>,
    /// The last batch it covers.
    pub through_batch: i64,
}

impl SourceReport {
    pub fn rows(&self) -> RowCounts {
        self.files.iter().fold(RowCounts::default(), |c, f| RowCounts {
            read: c.read + f.rows_read,
            loaded: c.loaded + f.rows_loaded,
            rejected: c.rejected + f.rows_rejected,
            late: c.late + f.rows_late,
        })
    }
}

impl RunReport {
    /// Whether anything failed: a file, a source, the refresh or retention.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty() || self.sources.iter().any(|s| !s.errors.is_empty())
    }

    /// Every error of the run, with the source it belongs to.
    pub fn all_errors(&self) -> impl Iterator<Item = &Error> {
        self.sources.iter().flat_map(|s| &s.errors).chain(&self.errors)
    }

    pub fn files_loaded(&self) -> usize {
        self.sources.iter().map(|s| s.files.len()).sum()
    }
}

fn errors_json<S: serde::Serializer>(errors: &[Error], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq as _;
    let mut seq = serializer.serialize_seq(Some(errors.len()))?;
    for e in errors {
        seq.serialize_element(&serde_json::json!({
            "code": e.code,
            "message": e.message,
            "help": e.help,
        }))?;
    }
    seq.end()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "run {} at {}", self.run_id, self.now)?;
        let width = self.sources.iter().map(|s| s.source.len()).max().unwrap_or(0);
        for s in &self.sources {
            let name = &s.source;
            if !s.due {
                let next = s.next_due.as_deref().unwrap_or("never");
                writeln!(f, "  {name:width$}  not due (next {next})")?;
                continue;
            }
            let RowCounts { read, loaded, rejected, late } = s.rows();
            write!(
                f,
                "  {name:width$}  {} loaded ({read} rows read, {loaded} loaded, {rejected} rejected, {late} late), {} skipped",
                plural(s.files.len(), "file", "files"),
                s.skipped
            )?;
            if s.held_back > 0 {
                write!(f, ", {} held back", s.held_back)?;
            }
            if s.unloaded_before > 0 {
                write!(
                    f,
                    ", due at once for {} not loaded before",
                    plural(
                        usize::try_from(s.unloaded_before).unwrap_or(usize::MAX),
                        "file",
                        "files"
                    )
                )?;
            }
            if !s.errors.is_empty() {
                write!(f, ", {}", plural(s.errors.len(), "error", "errors"))?;
            }
            writeln!(f)?;
            for e in &s.errors {
                writeln!(f, "    {}", indent(&e.to_string()))?;
            }
        }
        match &self.refresh {
            Some(r) => writeln!(
                f,
                "  refreshed {} (through batch {})",
                plural(r.metrics.len(), "metric", "metrics"),
                r.through_batch
            )?,
            None => writeln!(f, "  no metric to refresh")?,
        }
        if let Some(retention) = &self.retention {
            writeln!(f, "  retention: {}", indent(retention.trim_end()))?;
        }
        for e in &self.errors {
            writeln!(f, "  {}", indent(&e.to_string()))?;
        }
        Ok(())
    }
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n      ")
}

/// Reads a `--now` / `--until` time: `2024-03-01`, `2024-03-01 06:00`, `2024-03-01T06:00:00Z`
/// (UTC; seconds and fractions optional).
pub fn parse_time(text: &str) -> Result<NaiveDateTime> {
    let trimmed = text.trim();
    let t = trimmed.strip_suffix('Z').unwrap_or(trimmed).replacen('T', " ", 1);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(&t, format) {
            return Ok(parsed);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN));
    }
    Err(Error::new(codes::BAD_INPUT, format!("`{text}` is not a time"))
        .help("write a UTC time as `2024-03-01 06:00`, `2024-03-01T06:00:00Z` or `2024-03-01`"))
}

/// Refuses to run against a database that does not hold the schema `generated/` describes:
/// no tally schema, pending migrations, or migrations that differ.
pub fn check_ready(db: &mut dyn Backend, generated: &Generated) -> Result<()> {
    if db.dialect() != generated.dialect {
        return Err(Error::new(
            codes::GENERATED_UNREADABLE,
            format!(
                "generated/ was read for {}, the database is {}",
                generated.dialect.name(),
                db.dialect().name()
            ),
        ));
    }
    let status = migrate::status(db, &generated.migrations)?;
    if let Some(problem) = status.drift.into_iter().next() {
        return Err(problem);
    }
    if status.applied.is_empty() || !db.table_exists("etl_file_ledger")? {
        return Err(Error::new(
            codes::NOT_MIGRATED,
            format!("{} has no tally schema yet", db.describe()),
        )
        .help("apply the migrations first: `tally migrate`"));
    }
    if !status.pending.is_empty() {
        return Err(Error::new(
            codes::NOT_MIGRATED,
            format!(
                "{} has {} not applied: {}",
                db.describe(),
                plural(status.pending.len(), "migration", "migrations"),
                status.pending.join(", ")
            ),
        )
        .help("the plan needs the schema they create: run `tally migrate`"));
    }
    Ok(())
}

/// Names in `wanted` that are not sources of the plan, as an `R0301` error.
pub fn check_source_names(plan: &Plan, wanted: &[String]) -> Result<()> {
    let names: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
    for name in wanted {
        if !names.contains(&name.as_str()) {
            return Err(Error::new(codes::BAD_INPUT, format!("no source `{name}` in the plan"))
                .help(tally_contract::suggest::did_you_mean(name, &names, "source")));
        }
    }
    Ok(())
}

/// A fault point (see the module docs).
#[derive(Debug, Clone)]
struct Fault {
    source: String,
    step: String,
}

impl Fault {
    /// `None` in a release build, whatever `text` says (see the module docs).
    fn parse(text: Option<&str>) -> Option<Fault> {
        if !cfg!(debug_assertions) {
            return None;
        }
        let (source, step) = text?.trim().split_once(':')?;
        Some(Fault { source: source.to_owned(), step: step.to_owned() })
    }

    fn check(fault: Option<&Fault>, source: &str, step: &str) {
        if !cfg!(debug_assertions) {
            return;
        }
        if let Some(f) = fault {
            if (f.source == "*" || f.source == source) && f.step == step {
                eprintln!("fault point {}:{step} reached (TALLY_FAULT): aborting", f.source);
                std::process::abort();
            }
        }
    }
}

/// `now` plus the time elapsed since the run started: the run log's clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: NaiveDateTime,
    started: Instant,
}

impl Clock {
    fn new(base: NaiveDateTime) -> Self {
        Clock { base, started: Instant::now() }
    }

    fn at(&self) -> NaiveDateTime {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        // Whole microseconds: both engines store timestamps to the microsecond.
        let micros = elapsed.num_microseconds().unwrap_or(0);
        self.base + chrono::Duration::microseconds(micros)
    }
}

/// Everything one run needs, borrowed.
struct Run<'a> {
    db: &'a mut dyn Backend,
    plan: &'a Plan,
    dialect: Dialect,
    runtime: &'a RuntimeSql,
    options: &'a RunOptions,
    landing: PathBuf,
    fault: Option<Fault>,
    run_id: String,
    clock: Clock,
}

/// One run-log row.
#[derive(Debug, Clone)]
struct LogRow {
    source: Option<String>,
    step: String,
    batch: Option<i64>,
    started_at: NaiveDateTime,
    finished_at: NaiveDateTime,
    rows_in: i64,
    rows_out: i64,
    rows_rejected: i64,
    error: Option<String>,
}

/// Runs what is due at `options.now` once. Problems with a file, a source, the refresh or
/// retention are in the report (and make [`RunReport::failed`] true); an error is returned
/// only when the run cannot start or the database fails under it.
pub fn run_once(
    db: &mut dyn Backend,
    generated: &Generated,
    options: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    check_ready(db, generated)?;
    check_source_names(&generated.plan, &options.sources)?;
    tick(db, generated, options, progress)
}

/// One run on a database already checked.
fn tick(
    db: &mut dyn Backend,
    generated: &Generated,
    options: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    // One writer at a time: a second `tally run` (or a `tally migrate`) waits for this one.
    db.lock_migrations()?;
    let result = run_locked(db, generated, options, progress);
    let unlocked = db.unlock_migrations();
    let report = result?;
    unlocked?;
    progress.event(Event::Finished(&report));
    Ok(report)
}

fn run_id(now: NaiveDateTime) -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        now.format("%Y%m%dT%H%M%S"),
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

fn run_locked(
    db: &mut dyn Backend,
    generated: &Generated,
    options: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    let plan = &generated.plan;
    let dialect = db.dialect();
    let landing = std::path::absolute(&options.landing).map_err(|e| {
        Error::new(
            codes::LANDING_UNREADABLE,
            format!("the landing area {}: {e}", options.landing.display()),
        )
    })?;
    let mut run = Run {
        db,
        plan,
        dialect,
        runtime: plan.runtime_sql(dialect)?,
        options,
        landing,
        fault: Fault::parse(options.fault.as_deref()),
        run_id: run_id(options.now),
        clock: Clock::new(options.now),
    };
    let last_loads = last_loads(run.db, run.runtime)?;
    let mut report = RunReport {
        run_id: run.run_id.clone(),
        now: timestamp_text(options.now),
        sources: Vec::new(),
        refresh: None,
        retention: None,
        errors: Vec::new(),
    };
    for source in &plan.sources {
        if !options.sources.is_empty() && !options.sources.contains(&source.name) {
            continue;
        }
        let scheduled =
            is_due(&source.schedule, last_loads.get(&source.name).copied(), options.now);
        let unloaded = if scheduled { 0 } else { run.unloaded_files(source)? };
        let mut source_report = SourceReport {
            source: source.name.clone(),
            due: scheduled || unloaded > 0,
            unloaded_before: unloaded,
            next_due: next_after(&source.schedule, options.now).map(timestamp_text),
            ..SourceReport::default()
        };
        if source_report.due {
            run.source(source, &mut source_report, progress)?;
        }
        report.sources.push(source_report);
    }
    match run.refresh(progress) {
        Ok(refresh) => report.refresh = refresh,
        Err(e) => report.errors.push(e),
    }
    if retention_due(run.db, options.now)? {
        let mut archived = 0;
        match crate::retain::retain(run.db, plan, options.now) {
            Ok(retained) => {
                archived = retained.archived();
                report.retention = Some(retained.to_string());
            }
            Err(e) => report.errors.push(e.context("retention")),
        }
        Fault::check(run.fault.as_ref(), "*", "retention");
        // What retention took out of the live tables changes the metrics that read them
        // (periods it reached are kept as published: see `docs/runtime.md`, Published history).
        if archived > 0 {
            match run.refresh(progress) {
                Ok(Some(again)) => match &mut report.refresh {
                    Some(first) => {
                        first.metrics.extend(again.metrics);
                        first.through_batch = again.through_batch;
                    }
                    None => report.refresh = Some(again),
                },
                Ok(None) => {}
                Err(e) => report.errors.push(e),
            }
        }
    }
    Ok(report)
}

/// Refreshes what is stale at `now` (after `tally retain`: the metrics whose sources it took
/// rows from), in one transaction, as the refresh step of `tally run` does.
pub fn refresh_stale(
    db: &mut dyn Backend,
    generated: &Generated,
    now: NaiveDateTime,
    progress: &mut dyn Progress,
) -> Result<Option<RefreshReport>> {
    check_ready(db, generated)?;
    db.lock_migrations()?;
    let plan = &generated.plan;
    let dialect = db.dialect();
    let options = RunOptions { landing: PathBuf::from("."), now, sources: Vec::new(), fault: None };
    let runtime = match plan.runtime_sql(dialect) {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = db.unlock_migrations();
            return Err(e);
        }
    };
    let mut run = Run {
        db,
        plan,
        dialect,
        runtime,
        options: &options,
        landing: PathBuf::from("."),
        fault: None,
        run_id: run_id(now),
        clock: Clock::new(now),
    };
    let result = run.refresh(progress);
    let unlocked = run.db.unlock_migrations();
    let report = result?;
    unlocked?;
    Ok(report)
}

/// The first scheduled instant of `schedule` strictly after `t` (UTC).
fn next_after(schedule: &Schedule, t: NaiveDateTime) -> Option<NaiveDateTime> {
    schedule.next_after(t.and_utc()).map(|next| next.naive_utc())
}

/// Whether a scheduled instant falls in `(last, now]`; always when never loaded.
fn is_due(schedule: &Schedule, last: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    match last {
        None => true,
        Some(last) => next_after(schedule, last).is_some_and(|next| next <= now),
    }
}

/// How often a run applies retention at most. Retention periods are whole days or more, so
/// an hour late is never noticed, and a scheduler ticking every few minutes does not run every
/// source's retention statements each time.
pub const RETENTION_EVERY_MINUTES: i64 = 60;

/// Whether the last successful retention (of a run or of `tally retain`, from the run log) is
/// [`RETENTION_EVERY_MINUTES`] or more before `now`, or there was none.
fn retention_due(db: &mut dyn Backend, now: NaiveDateTime) -> Result<bool> {
    let rows = db.query(&format!(
        "SELECT max(started_at) AS last_retention FROM etl_run_log \
         WHERE step = '{}' AND status = 'ok'",
        crate::retain::STEP
    ))?;
    let last = rows.scalar().and_then(Value::as_str).and_then(read_timestamp);
    Ok(last.is_none_or(|last| {
        last > now || now - last >= chrono::Duration::minutes(RETENTION_EVERY_MINUTES)
    }))
}

/// `runtime.last_loads`: each source's last load.
fn last_loads(
    db: &mut dyn Backend,
    runtime: &RuntimeSql,
) -> Result<BTreeMap<String, NaiveDateTime>> {
    let rows = db.query(&Params::new().render(&runtime.last_loads)?)?;
    let mut out = BTreeMap::new();
    for i in 0..rows.rows.len() {
        let source = rows.get(i, "source").and_then(Value::as_str);
        let at = rows.get(i, "last_loaded_at").and_then(Value::as_str).and_then(read_timestamp);
        if let (Some(source), Some(at)) = (source, at) {
            out.insert(source.to_owned(), at);
        }
    }
    Ok(out)
}

fn read_timestamp(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
}

fn int(rows: &Rows, row: usize, column: &str) -> i64 {
    rows.get(row, column).and_then(Value::as_i64).unwrap_or(0)
}

impl Run<'_> {
    /// How many of `source`'s landed files the ledger does not have. A landing area that
    /// cannot be listed counts none here: the source's scheduled run reports it.
    fn unloaded_files(&mut self, source: &SourcePlan) -> Result<u64> {
        let Ok(files) = landing::list(&self.landing, &source.landing.pattern) else {
            return Ok(0);
        };
        if files.is_empty() {
            return Ok(0);
        }
        let sql = Params::new()
            .with("source", source.name.as_str())
            .render("SELECT path FROM etl_file_ledger WHERE source = {source}")?;
        let rows = self.db.query(&sql)?;
        let loaded: BTreeSet<&str> = (0..rows.rows.len())
            .filter_map(|i| rows.get(i, "path").and_then(Value::as_str))
            .collect();
        let unloaded =
            files.iter().filter(|f| !loaded.contains(landing::ledger_path(f).as_str())).count();
        Ok(u64::try_from(unloaded).unwrap_or(u64::MAX))
    }

    fn source(
        &mut self,
        source: &SourcePlan,
        report: &mut SourceReport,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let files = match landing::list(&self.landing, &source.landing.pattern) {
            Ok(files) => files,
            Err(e) => {
                report.errors.push(e.context(&source.name));
                return Ok(());
            }
        };
        progress.event(Event::Source { source: &source.name, files: files.len() });
        for (index, relative) in files.iter().enumerate() {
            let file = match landing::inspect(&self.landing, relative) {
                Ok(file) => file,
                Err(e) => {
                    progress.event(Event::FileDone {
                        source: &source.name,
                        path: &relative.to_string_lossy(),
                        error: Some(&e),
                    });
                    report.errors.push(e.context(&source.name));
                    report.held_back = (files.len() - index - 1) as u64;
                    return Ok(());
                }
            };
            match self.ledger_lookup(source, &file)? {
                Some(Loaded::Same) => {
                    report.skipped += 1;
                    progress.event(Event::FileDone {
                        source: &source.name,
                        path: &file.path,
                        error: None,
                    });
                }
                Some(Loaded::Changed(e)) => {
                    let e = e.context(&source.name);
                    // The failure is visible in the run log too; a log that cannot be written
                    // is a second problem, not a reason to hide the first.
                    let now = self.clock.at();
                    if let Err(log_error) = self.log_in_own_transaction(&[LogRow {
                        source: Some(source.name.clone()),
                        step: "load".to_owned(),
                        batch: None,
                        started_at: now,
                        finished_at: now,
                        rows_in: 0,
                        rows_out: 0,
                        rows_rejected: 0,
                        error: Some(e.to_string()),
                    }]) {
                        report.errors.push(log_error.context("writing the run log"));
                    }
                    progress.event(Event::FileDone {
                        source: &source.name,
                        path: &file.path,
                        error: Some(&e),
                    });
                    report.errors.push(e);
                }
                None => {
                    progress.event(Event::FileStarted {
                        source: &source.name,
                        path: &file.path,
                        size: file.size,
                    });
                    match self.load_file(source, &file) {
                        Ok(loaded) => {
                            progress.event(Event::FileDone {
                                source: &source.name,
                                path: &file.path,
                                error: None,
                            });
                            report.files.push(loaded);
                        }
                        Err(failure) => {
                            let (e, log_error) = *failure;
                            progress.event(Event::FileDone {
                                source: &source.name,
                                path: &file.path,
                                error: Some(&e),
                            });
                            report.errors.push(e);
                            report.errors.extend(log_error);
                            report.held_back = (files.len() - index - 1) as u64;
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the ledger has `file` already: `None` (new), the same, or changed (`R0202`).
    fn ledger_lookup(&mut self, source: &SourcePlan, file: &LandedFile) -> Result<Option<Loaded>> {
        let sql = Params::new()
            .with("source", source.name.as_str())
            .with("path", file.path.as_str())
            .render(&self.runtime.ledger_lookup)?;
        let rows = self.db.query(&sql)?;
        if rows.rows.is_empty() {
            return Ok(None);
        }
        let sha256 = rows.get(0, "sha256").map(Value::to_string).unwrap_or_default();
        let size = int(&rows, 0, "size");
        if sha256 == file.sha256 && u64::try_from(size).ok() == Some(file.size) {
            return Ok(Some(Loaded::Same));
        }
        let batch = int(&rows, 0, "batch");
        let loaded_at = rows.get(0, "loaded_at").map(Value::to_string).unwrap_or_default();
        Ok(Some(Loaded::Changed(
            Error::new(
                codes::LANDED_FILE_CHANGED,
                format!(
                    "{} changed after it was loaded: batch {batch} loaded it at {loaded_at} with \
                     sha256 {sha256} ({size} bytes), it now has sha256 {} ({} bytes)",
                    file.path, file.sha256, file.size
                ),
            )
            .help(
                "a loaded file is never loaded again: restore it as it was, and land corrections \
                 as a new file (a later file supersedes an earlier one for the same keys)",
            ),
        )))
    }

    /// Loads one new file in one transaction. On failure: the error, and a second one when
    /// the failure could not be written to the run log.
    fn load_file(
        &mut self,
        source: &SourcePlan,
        file: &LandedFile,
    ) -> std::result::Result<FileReport, FileFailure> {
        let context = format!("{}: {}", source.name, file.path);
        let batch = match self.next_batch() {
            Ok(batch) => batch,
            Err(e) => return Err(Box::new((e.context(context), None))),
        };
        let mut done: Vec<LogRow> = Vec::new();
        if let Err(e) = self.db.begin() {
            return Err(Box::new((e.context(context), None)));
        }
        let mut failed_step = None;
        let result = self.file_steps(source, file, batch, &mut done, &mut failed_step);
        match result {
            Ok(loaded) => {
                Fault::check(self.fault.as_ref(), &source.name, "commit");
                Ok(loaded)
            }
            Err(e) => {
                let _ = self.db.rollback();
                let step = failed_step.unwrap_or_else(|| "commit".to_owned());
                let e =
                    e.context(format!("{context}: step `{step}` failed; the file stays unloaded"));
                let now = self.clock.at();
                // A step whose statements ran but whose check failed is logged once, failed.
                done.retain(|row| row.step != step);
                let mut rows: Vec<LogRow> = done
                    .into_iter()
                    .map(|mut row| {
                        row.error = Some(format!("rolled back: step `{step}` failed"));
                        row
                    })
                    .collect();
                let started = rows.last().map_or(now, |r| r.finished_at);
                rows.push(LogRow {
                    source: Some(source.name.clone()),
                    step,
                    batch: Some(batch),
                    started_at: started,
                    finished_at: now,
                    rows_in: 0,
                    rows_out: 0,
                    rows_rejected: 0,
                    error: Some(e.to_string()),
                });
                let log_error = self
                    .log_in_own_transaction(&rows)
                    .err()
                    .map(|l| l.context("writing the run log"));
                Err(Box::new((e, log_error)))
            }
        }
    }

    fn next_batch(&mut self) -> Result<i64> {
        let rows = self.db.query(&Params::new().render(&self.runtime.next_batch)?)?;
        rows.scalar().and_then(Value::as_i64).ok_or_else(|| {
            Error::new(
                codes::STATEMENT_FAILED,
                "runtime.next_batch returned no batch number".to_owned(),
            )
        })
    }

    /// The file steps, the count check and the run log, inside the open transaction; commits.
    fn file_steps(
        &mut self,
        source: &SourcePlan,
        file: &LandedFile,
        batch: i64,
        done: &mut Vec<LogRow>,
        failed_step: &mut Option<String>,
    ) -> Result<FileReport> {
        let sql = source.sql(self.dialect)?;
        // A spreadsheet is read as the CSV of its sheet (see `xlsx`).
        let converted = match source.landing.format {
            LandingFormat::Xlsx => Some(xlsx::convert(source, file)?),
            _ => None,
        };
        let engine_file = converted.as_ref().map_or(file.absolute.as_path(), |c| c.csv.as_path());
        let params = Params::new()
            .with("now", self.options.now)
            .with("batch", batch)
            .with("file", engine_file.to_string_lossy().into_owned())
            .with("path", file.path.as_str())
            .with("sha256", file.sha256.as_str())
            .with("size", i64::try_from(file.size).unwrap_or(i64::MAX));
        let mut changed: Vec<i64> = Vec::new();
        let plan: &Plan = self.plan;
        for &step in &plan.file_steps {
            *failed_step = Some(step.name().to_owned());
            let statements = sql.step(step);
            let started_at = self.clock.at();
            let mut most = 0u64;
            for statement in statements {
                let n = if statement.role == Role::CopyFromStdin {
                    let converted = converted.as_ref().map(|c| c.csv.as_path());
                    self.copy(source, sql, file, converted, &params, &statement.sql)?
                } else {
                    self.db.execute(&params.render(&statement.sql)?)?
                };
                most = most.max(n);
            }
            changed.push(i64::try_from(most).unwrap_or(i64::MAX));
            done.push(LogRow {
                source: Some(source.name.clone()),
                step: step.name().to_owned(),
                batch: Some(batch),
                started_at,
                finished_at: self.clock.at(),
                rows_in: 0,
                rows_out: 0,
                rows_rejected: 0,
                error: None,
            });
            Fault::check(self.fault.as_ref(), &source.name, step.name());
        }
        *failed_step = Some("record".to_owned());
        let loaded = self.check_counts(source, file, batch)?;
        // Each step's counts: what it read and wrote, as far as the ledger row tells; merge
        // and archive_deleted report the rows their largest statement changed.
        for (row, changed) in done.iter_mut().zip(&changed) {
            let (rows_in, rows_out, rows_rejected) = match row.step.as_str() {
                "load" => (loaded.rows_read, loaded.rows_read, 0),
                "validate" | "record" => {
                    (loaded.rows_read, loaded.rows_loaded, loaded.rows_rejected)
                }
                "clear_staging" => (loaded.rows_loaded, 0, 0),
                _ => (loaded.rows_loaded, *changed, 0),
            };
            row.rows_in = rows_in;
            row.rows_out = rows_out;
            row.rows_rejected = rows_rejected;
        }
        *failed_step = Some("commit".to_owned());
        self.write_log(done)?;
        self.db.commit()?;
        Ok(loaded)
    }

    /// Streams a landed file to a `COPY ... FROM STDIN` statement.
    fn copy(
        &mut self,
        source: &SourcePlan,
        sql: &SourceSql,
        file: &LandedFile,
        converted: Option<&Path>,
        params: &Params,
        statement: &str,
    ) -> Result<u64> {
        let copy_sql = params.render(statement)?;
        let open = |path: &Path| {
            std::fs::File::open(path).map_err(|e| {
                Error::new(
                    codes::LANDING_UNREADABLE,
                    format!("cannot read {}: {e}", path.display()),
                )
            })
        };
        if let Some(csv_file) = converted {
            // A spreadsheet's sheet, converted (and its bytes checked) before the steps.
            let mut input = open(csv_file)?;
            return self
                .db
                .copy_in(&copy_sql, &mut landing::copy_stream(&mut input, CopyShape::Verbatim));
        }
        if source.landing.format == LandingFormat::Parquet {
            let scratch = tempfile::tempdir().map_err(|e| {
                Error::new(
                    codes::LANDING_UNREADABLE,
                    format!("cannot create a scratch directory: {e}"),
                )
            })?;
            let csv_file = scratch.path().join(format!("{}.csv", source.name));
            let params = params.clone().with("csv_file", csv_file.to_string_lossy().into_owned());
            let mut converter = DuckDb::in_memory()?;
            for statement in &sql.convert {
                converter
                    .execute(&params.render(&statement.sql)?)
                    .map_err(|e| e.context("convert"))?;
            }
            let mut input = open(&csv_file)?;
            return self
                .db
                .copy_in(&copy_sql, &mut landing::copy_stream(&mut input, CopyShape::Verbatim));
        }
        let shape = match source.landing.format {
            LandingFormat::Jsonl => CopyShape::JsonLines,
            LandingFormat::Csv | LandingFormat::Parquet | LandingFormat::Xlsx => {
                CopyShape::Csv { skip: source.landing.csv.as_ref().map_or(0, |c| c.skip) }
            }
        };
        let mut hashing = HashingReader::new(open(&file.absolute)?);
        let copied = self.db.copy_in(&copy_sql, &mut landing::copy_stream(&mut hashing, shape))?;
        let (sha256, size) = hashing.finish();
        if sha256 != file.sha256 || size != file.size {
            return Err(Error::new(
                codes::LANDED_FILE_CHANGED,
                format!("{} changed while it was being loaded", file.path),
            )
            .help("land files under a temporary name (starting with `.`) and rename them when complete"));
        }
        Ok(copied)
    }

    /// The ledger row `record` wrote, checked: rows read = rows loaded + rows rejected + rows
    /// late.
    fn check_counts(
        &mut self,
        source: &SourcePlan,
        file: &LandedFile,
        batch: i64,
    ) -> Result<FileReport> {
        let sql = Params::new()
            .with("source", source.name.as_str())
            .with("path", file.path.as_str())
            .render(
                "SELECT rows_read, rows_loaded, rows_rejected, rows_late FROM etl_file_ledger \
                 WHERE source = {source} AND path = {path}",
            )?;
        let rows = self.db.query(&sql)?;
        if rows.rows.is_empty() {
            return Err(Error::new(
                codes::LOAD_DOES_NOT_ADD_UP,
                format!("the `record` step wrote no ledger row for {}", file.path),
            )
            .help("regenerate generated/ with `tally compile`; if it persists, report it"));
        }
        let loaded = FileReport {
            path: file.path.clone(),
            batch,
            rows_read: int(&rows, 0, "rows_read"),
            rows_loaded: int(&rows, 0, "rows_loaded"),
            rows_rejected: int(&rows, 0, "rows_rejected"),
            rows_late: int(&rows, 0, "rows_late"),
        };
        if loaded.rows_read != loaded.rows_loaded + loaded.rows_rejected + loaded.rows_late {
            return Err(Error::new(
                codes::LOAD_DOES_NOT_ADD_UP,
                format!(
                    "{}: rows do not add up: {} read, {} loaded + {} rejected + {} late",
                    file.path,
                    loaded.rows_read,
                    loaded.rows_loaded,
                    loaded.rows_rejected,
                    loaded.rows_late
                ),
            )
            .help("nothing was loaded; this is a bug in the plan's statements, please report it"));
        }
        Ok(loaded)
    }

    fn write_log(&mut self, rows: &[LogRow]) -> Result<()> {
        write_log(self.db, self.runtime, &self.run_id, rows)
    }

    fn log_in_own_transaction(&mut self, rows: &[LogRow]) -> Result<()> {
        let (runtime, run_id) = (self.runtime, self.run_id.as_str());
        crate::backend::in_transaction(self.db, |db| write_log(db, runtime, run_id, rows))
    }

    /// Refreshes the stale metrics (see the module docs) in one transaction.
    fn refresh(&mut self, progress: &mut dyn Progress) -> Result<Option<RefreshReport>> {
        let plan: &Plan = self.plan;
        let last = self.db.query(
            "SELECT count(*) AS refreshes, max(batch) AS through_batch FROM etl_run_log \
             WHERE step = 'refresh' AND status = 'ok'",
        )?;
        let refreshed_before = int(&last, 0, "refreshes") > 0;
        let through_before = int(&last, 0, "through_batch");
        let loaded = self
            .db
            .query("SELECT source, max(batch) AS batch FROM etl_file_ledger GROUP BY source")?;
        let mut through = 0;
        let mut changed: BTreeSet<&str> = BTreeSet::new();
        for i in 0..loaded.rows.len() {
            let batch = int(&loaded, i, "batch");
            through = through.max(batch);
            let name = loaded.get(i, "source").and_then(Value::as_str).unwrap_or_default();
            if batch > through_before {
                if let Some(source) = plan.source(name) {
                    changed.insert(source.tables.current.as_str());
                }
            }
        }
        // A metric whose values depend on the clock is stale at every instant after the one
        // its values are as of, new data or not; one without a `metric_refresh` row was never
        // refreshed, or retention took rows of its sources out of the live tables since.
        let as_of = metric_as_of(self.db)?;
        let now = self.options.now;
        let mut stale: Vec<&crate::plan::MetricPlan> = Vec::new();
        for metric in &plan.metrics {
            let inputs_changed = !refreshed_before
                || metric.inputs.tables.iter().any(|t| changed.contains(t.as_str()))
                || metric.inputs.metrics.iter().any(|m| stale.iter().any(|s| &s.name == m))
                || as_of.get(&metric.name).is_none_or(|t| metric.clock && *t < now);
            if inputs_changed {
                stale.push(metric);
            }
        }
        if stale.is_empty() {
            return Ok(None);
        }
        progress.event(Event::Refresh { metrics: stale.len() });
        let params = Params::new().with("now", self.options.now);
        let started_at = self.clock.at();
        let dialect = self.dialect;
        let plan_error = |metric: &str| {
            Error::new(
                codes::GENERATED_UNREADABLE,
                format!("plan.json: metric `{metric}` has no {dialect} refresh"),
            )
            .help("regenerate generated/ with `tally compile`")
        };
        self.db.begin()?;
        let mut rows_out = 0u64;
        let mut work = || -> Result<()> {
            for metric in &stale {
                for refresh in &metric.refresh {
                    let statements = refresh.sql.get(&dialect).ok_or_else(|| {
                        if metric.approximate {
                            Error::new(
                                codes::ENGINE_LACKS_FUNCTION,
                                format!(
                                    "metric `{}` is an approximate percentile, which {dialect} does not compute",
                                    metric.name
                                ),
                            )
                            .help("use the exact `median` or `percentile` in the metric, or run the warehouse on DuckDB")
                        } else {
                            plan_error(&metric.name)
                        }
                    })?;
                    for statement in statements {
                        rows_out +=
                            self.db.execute(&params.render(&statement.sql)?).map_err(|e| {
                                e.context(format!(
                                    "refreshing {} in {}",
                                    metric.name, refresh.table
                                ))
                            })?;
                    }
                }
            }
            record_refresh(self.db, &stale, now, through, self.clock.at())?;
            Fault::check(self.fault.as_ref(), "*", "refresh");
            let row = LogRow {
                source: None,
                step: "refresh".to_owned(),
                batch: Some(through),
                started_at,
                finished_at: self.clock.at(),
                rows_in: i64::try_from(stale.len()).unwrap_or(i64::MAX),
                rows_out: i64::try_from(rows_out).unwrap_or(i64::MAX),
                rows_rejected: 0,
                error: None,
            };
            self.write_log(&[row])?;
            self.db.commit()
        };
        match work() {
            Ok(()) => Ok(Some(RefreshReport {
                metrics: stale.iter().map(|m| m.name.clone()).collect(),
                through_batch: through,
            })),
            Err(e) => {
                let _ = self.db.rollback();
                let e = e.context("refresh failed, nothing refreshed");
                let now = self.clock.at();
                let row = LogRow {
                    source: None,
                    step: "refresh".to_owned(),
                    batch: Some(through),
                    started_at,
                    finished_at: now,
                    rows_in: i64::try_from(stale.len()).unwrap_or(i64::MAX),
                    rows_out: 0,
                    rows_rejected: 0,
                    error: Some(e.to_string()),
                };
                let mut e = e;
                if let Err(log_error) = self.log_in_own_transaction(&[row]) {
                    e.message.push_str(&format!(
                        "\n  and the run log could not be written: {log_error}"
                    ));
                }
                Err(e)
            }
        }
    }
}

enum Loaded {
    Same,
    Changed(Error),
}

/// Writes run-log rows with `runtime.run_log`.
/// Each metric's last refresh instant (`metric_refresh.as_of`).
pub fn metric_as_of(db: &mut dyn Backend) -> Result<BTreeMap<String, NaiveDateTime>> {
    let rows = db.query("SELECT metric, as_of FROM metric_refresh")?;
    let mut out = BTreeMap::new();
    for i in 0..rows.rows.len() {
        let metric = rows.get(i, "metric").and_then(Value::as_str).unwrap_or_default();
        let as_of = rows.get(i, "as_of").map(ToString::to_string).unwrap_or_default();
        out.insert(metric.to_owned(), parse_time(&as_of)?);
    }
    Ok(out)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Deletes the `metric_refresh` rows of `metrics`: they are stale until refreshed again.
pub(crate) fn forget_refreshes(
    db: &mut dyn Backend,
    metrics: &[&crate::plan::MetricPlan],
) -> Result<()> {
    for chunk in metrics.chunks(200) {
        let names: Vec<String> = chunk.iter().map(|m| quote(&m.name)).collect();
        let names = names.join(", ");
        if db.dialect() == crate::backend::Dialect::Spark {
            // No DELETE on Parquet: the table replaced through a scratch table, which the
            // backend rolls forward after a crash (as the plan's replacements).
            db.execute(&format!(
                "CREATE TABLE _tally_rw__metric_refresh USING PARQUET AS SELECT * FROM metric_refresh WHERE metric NOT IN ({names})"
            ))?;
            db.execute(
                "INSERT OVERWRITE TABLE metric_refresh SELECT * FROM _tally_rw__metric_refresh",
            )?;
            db.execute("DROP TABLE _tally_rw__metric_refresh")?;
        } else {
            db.execute(&format!("DELETE FROM metric_refresh WHERE metric IN ({names})"))?;
        }
    }
    Ok(())
}

/// Replaces the `metric_refresh` rows of `metrics`: as of `now`, through `batch`.
fn record_refresh(
    db: &mut dyn Backend,
    metrics: &[&crate::plan::MetricPlan],
    now: NaiveDateTime,
    batch: i64,
    at: NaiveDateTime,
) -> Result<()> {
    let stamp = |t: NaiveDateTime| format!("TIMESTAMP '{}'", timestamp_text(t));
    forget_refreshes(db, metrics)?;
    for chunk in metrics.chunks(200) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|m| format!("({}, {}, {batch}, {})", quote(&m.name), stamp(now), stamp(at)))
            .collect();
        db.execute(&format!(
            "INSERT INTO metric_refresh (metric, as_of, batch, refreshed_at) VALUES {}",
            rows.join(", ")
        ))?;
    }
    Ok(())
}

fn write_log(
    db: &mut dyn Backend,
    runtime: &RuntimeSql,
    run_id: &str,
    rows: &[LogRow],
) -> Result<()> {
    for row in rows {
        let sql = Params::new()
            .with("run_id", run_id)
            .with("log_source", row.source.clone())
            .with("step", row.step.as_str())
            .with("log_batch", row.batch)
            .with("started_at", row.started_at)
            .with("finished_at", row.finished_at)
            .with("rows_in", row.rows_in)
            .with("rows_out", row.rows_out)
            .with("rows_rejected", row.rows_rejected)
            .with("status", if row.error.is_some() { "failed" } else { "ok" })
            .with("error", row.error.clone())
            .render(&runtime.run_log)?;
        db.execute(&sql)?;
    }
    Ok(())
}

/// Which clock `--watch` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchClock {
    /// The system clock: sleeps until each next scheduled instant.
    Real,
    /// A simulated clock from `RunOptions::now`: jumps from one scheduled instant to the next,
    /// without sleeping, so a week of schedules runs in seconds.
    Simulated,
}

/// What `--watch` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSummary {
    pub runs: usize,
    pub failed_runs: usize,
}

/// The scheduler loop: runs what is due, waits for the next scheduled instant of any selected
/// source, and again, until `until` (forever without it, on the real clock). Each run's report
/// goes to `progress` as [`Event::Finished`].
pub fn watch(
    db: &mut dyn Backend,
    generated: &Generated,
    options: &RunOptions,
    clock: WatchClock,
    until: Option<NaiveDateTime>,
    progress: &mut dyn Progress,
) -> Result<WatchSummary> {
    check_ready(db, generated)?;
    check_source_names(&generated.plan, &options.sources)?;
    if clock == WatchClock::Simulated && until.is_none() {
        return Err(Error::new(codes::BAD_INPUT, "a simulated clock needs an end")
            .help("with --watch and --now, say when to stop with --until"));
    }
    let schedules: Vec<&Schedule> = (generated.plan.sources.iter())
        .filter(|s| options.sources.is_empty() || options.sources.contains(&s.name))
        .map(|s| &s.schedule)
        .collect();
    let next_instant =
        |after: NaiveDateTime| schedules.iter().filter_map(|s| next_after(s, after)).min();
    let mut summary = WatchSummary::default();
    let mut now = match clock {
        WatchClock::Simulated => options.now,
        WatchClock::Real => chrono::Utc::now().naive_utc(),
    };
    loop {
        if until.is_some_and(|until| now > until) {
            return Ok(summary);
        }
        let options_now = RunOptions { now, ..options.clone() };
        let report = tick(db, generated, &options_now, progress)?;
        summary.runs += 1;
        if report.failed() {
            summary.failed_runs += 1;
        }
        let Some(next) = next_instant(now) else { return Ok(summary) };
        if until.is_some_and(|until| next > until) {
            return Ok(summary);
        }
        now = match clock {
            WatchClock::Simulated => next,
            WatchClock::Real => {
                let wait = next - chrono::Utc::now().naive_utc();
                if let Ok(wait) = wait.to_std() {
                    std::thread::sleep(wait);
                }
                chrono::Utc::now().naive_utc().max(next)
            }
        };
    }
}

/// How fresh one source is.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub source: String,
    pub title: Option<String>,
    /// Five cron fields, UTC.
    pub schedule: String,
    pub last_load: Option<String>,
    /// The longest time between two scheduled instants.
    pub expected_every_minutes: u64,
    pub late_after_minutes: u64,
    /// Never loaded, or the last load is older than `late_after_minutes`.
    pub late: bool,
    /// The next scheduled instant after now.
    pub next_due: Option<String>,
    pub files_loaded: i64,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    /// Rows skipped as late (older than the watermark less the lookback), in `etl_late`.
    pub rows_late: i64,
    /// Files that failed to load (or changed after loading) since the last load.
    pub failures_since_last_load: i64,
    /// The most recent failure's message, if any since the last load.
    pub last_failure: Option<String>,
}

/// Each source's freshness at `now`: `runtime.last_loads` against `freshness`, with the
/// ledger's totals and the run log's recent failures.
pub fn status(
    db: &mut dyn Backend,
    generated: &Generated,
    now: NaiveDateTime,
) -> Result<Vec<SourceStatus>> {
    check_ready(db, generated)?;
    let plan = &generated.plan;
    let runtime = plan.runtime_sql(db.dialect())?;
    let last = last_loads(db, runtime)?;
    let totals = db.query(
        "SELECT source, count(*) AS files, sum(rows_read) AS rows_read, \
         sum(rows_loaded) AS rows_loaded, sum(rows_rejected) AS rows_rejected, \
         sum(rows_late) AS rows_late \
         FROM etl_file_ledger GROUP BY source",
    )?;
    let failures = db.query(
        "SELECT source, finished_at, error FROM etl_run_log \
         WHERE status = 'failed' AND source IS NOT NULL AND error NOT LIKE 'rolled back:%' \
         ORDER BY finished_at",
    )?;
    let mut out = Vec::new();
    for source in &plan.sources {
        let last_load = last.get(&source.name).copied();
        let late_after = i64::try_from(source.freshness.late_after_minutes).unwrap_or(i64::MAX);
        let late = last_load.is_none_or(|at| now - at > chrono::Duration::minutes(late_after));
        let row = (0..totals.rows.len())
            .find(|i| totals.get(*i, "source").and_then(Value::as_str) == Some(&source.name));
        let total = |column: &str| row.map_or(0, |i| int(&totals, i, column));
        let recent: Vec<(NaiveDateTime, String)> = (0..failures.rows.len())
            .filter(|i| failures.get(*i, "source").and_then(Value::as_str) == Some(&source.name))
            .filter_map(|i| {
                let at = failures
                    .get(i, "finished_at")
                    .and_then(Value::as_str)
                    .and_then(read_timestamp)?;
                let error = failures.get(i, "error").map(Value::to_string).unwrap_or_default();
                Some((at, error))
            })
            .filter(|(at, _)| last_load.is_none_or(|last| *at > last))
            .collect();
        out.push(SourceStatus {
            source: source.name.clone(),
            title: source.title.clone(),
            schedule: source.schedule.cron().to_string(),
            last_load: last_load.map(timestamp_text),
            expected_every_minutes: source.freshness.expected_every_minutes,
            late_after_minutes: source.freshness.late_after_minutes,
            late,
            next_due: next_after(&source.schedule, now).map(timestamp_text),
            files_loaded: total("files"),
            rows_read: total("rows_read"),
            rows_loaded: total("rows_loaded"),
            rows_rejected: total("rows_rejected"),
            rows_late: total("rows_late"),
            failures_since_last_load: i64::try_from(recent.len()).unwrap_or(i64::MAX),
            last_failure: recent.last().map(|(at, e)| format!("{}: {e}", timestamp_text(*at))),
        });
    }
    Ok(out)
}

/// Why a file did not load, and the error writing that to the run log, if any.
type FileFailure = Box<(Error, Option<Error>)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_usual_spellings() {
        let expect = |text: &str, shown: &str| {
            assert_eq!(parse_time(text).map(timestamp_text), Ok(shown.to_owned()), "{text}");
        };
        expect("2024-03-01", "2024-03-01 00:00:00");
        expect("2024-03-01 06:00", "2024-03-01 06:00:00");
        expect("2024-03-01T06:00:30Z", "2024-03-01 06:00:30");
        expect(" 2024-03-01 06:00:30.25 ", "2024-03-01 06:00:30.250000");
        let error = parse_time("yesterday").expect_err("not a time");
        assert_eq!(error.code, codes::BAD_INPUT);
        assert_eq!(parse_time("2024-02-30").map_err(|e| e.code), Err(codes::BAD_INPUT));
    }

    #[test]
    fn fault_points_name_a_source_and_a_step_and_only_exist_in_debug_builds() {
        let fault = Fault::parse(Some("seizures:merge"));
        if cfg!(debug_assertions) {
            let fault = fault.expect("a fault point");
            assert_eq!((fault.source.as_str(), fault.step.as_str()), ("seizures", "merge"));
        } else {
            assert!(fault.is_none(), "a release build read a fault point");
        }
        assert!(Fault::parse(Some("merge")).is_none());
        assert!(Fault::parse(None).is_none());
    }

    #[test]
    fn due_when_an_instant_passed_since_the_last_load() {
        let at =
            |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time");
        let daily = Schedule::new(tally_contract::schedule::Form::Daily { hour: 5, minute: 0 })
            .expect("a schedule");
        assert!(is_due(&daily, None, at("2024-03-01 04:00")));
        assert!(!is_due(&daily, Some(at("2024-03-01 05:00")), at("2024-03-02 04:59")));
        assert!(is_due(&daily, Some(at("2024-03-01 05:00")), at("2024-03-02 05:00")));
        assert!(is_due(&daily, Some(at("2024-03-01 04:00")), at("2024-03-01 05:00")));
        assert_eq!(next_after(&daily, at("2024-03-01 05:00")), Some(at("2024-03-02 05:00")));
    }
}
