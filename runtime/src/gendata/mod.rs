//! `tally gen-data`: deterministic synthetic landing files for every source of a compiled
//! project, from `generated/plan.json` and the project's profile (`generated/gendata.json`,
//! optional: without one every setting has a default that fits any plan).
//!
//! For each source the plan gives the landing pattern and format, the load mode, the key and
//! the typed columns, and for each dimension its levels, keys, labels and `from` source; the
//! profile adds volumes, value weights and distributions and the dimensions' members. This
//! module turns them into files the runtime loads as they are:
//!
//! 1. **Members first** ([`members`]): every dimension's members, listed by the profile or
//!    made up level by level, parents consistent with the hierarchy. A dimension's `from`
//!    source is written first, one snapshot of one row per member of its finest level; a
//!    column `-> dimension.level` draws the level's members, busy ones more often.
//! 2. **Other sources** in dependency order: a column named like another source's first key
//!    column (`account_id`) takes that source's key values, so that source is written first.
//! 3. **Values** by column ([`planner`]): key columns unique by construction; the event time
//!    (the retention `by` column) spread over the period along the traffic curves; the
//!    profile's setting for the column when it has one; else a default by type, name and
//!    personal-data class ([`fake`]). Personal data is fake.
//! 4. **Batches.** The period's last day is kept for follow-up batches. The initial batch is
//!    one file per chunk of the period before it (one per month at most); then, by load mode:
//!    `append` a file of the last day's new rows; `incremental` new rows plus updated earlier
//!    rows with a newer watermark; `cdc` the same, then a file of delete-marker rows; a
//!    `snapshot` list a second full snapshot with some rows changed, some new and some keys
//!    missing (only the second when the pattern names one file). Member lists get one snapshot. File names are the pattern with its `*`
//!    replaced by `<yyyymmdd>_<nnn>`, so they sort in the order they are to be loaded.
//! 5. **Bad rows** (`bad_rows`), when asked for: extra rows with one value the loader must
//!    reject (a non-numeric int, a date that does not exist), in the follow-up files (a
//!    snapshot source's last snapshot), each of a new key.
//!
//! Same plan, profile and options, same bytes: every source draws from its own ChaCha8 stream
//! seeded from the seed and the source name, nothing iterates a hash map, and no clock is read.

pub mod fake;
pub mod members;
mod planner;
pub mod profile;
pub mod writer;

use crate::error::{codes, Error, Result};
use crate::plan::{Load, Plan, SourcePlan};
use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime};
use planner::{Context, SourcePlanner};
use rand::SeedableRng as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tally_contract::gendata::Profile;
use tally_contract::plan::{Calendar, ColumnType};

/// The random number generator of every draw.
pub type Rng = rand::rngs::ChaCha8Rng;

/// The scale `tally gen-data` uses without `--scale`: a small share of the profile's volumes,
/// generated in seconds, enough for every dashboard to show numbers.
pub const DEMO_SCALE: f64 = 0.005;
/// The fiscal year whose first day starts the default period.
pub const DEFAULT_FISCAL_YEAR: i32 = 2025;
pub const DEFAULT_DAYS: u32 = 365;
pub const DEFAULT_SEED: u64 = 2017;

/// Initial-batch files hold about this many rows at most (and cover a month at least).
const ROWS_PER_FILE: f64 = 250_000.0;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// 1.0: the profile's volumes (rows per day, members) in full.
    pub scale: f64,
    pub seed: u64,
    /// The first day of the period; `None`: the first day of fiscal year
    /// [`DEFAULT_FISCAL_YEAR`] in the plan's calendar.
    pub start: Option<NaiveDate>,
    /// The period's length; its last day holds the follow-up batches.
    pub days: u32,
    /// Rows the loader must reject, spread over the event sources.
    pub bad_rows: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            scale: DEMO_SCALE,
            seed: DEFAULT_SEED,
            start: None,
            days: DEFAULT_DAYS,
            bad_rows: 0,
        }
    }
}

/// The first day of fiscal year `year` of `calendar`: fiscal years are named for the calendar
/// year they end in, so a year starting October 1 is named for the next January.
pub fn fiscal_year_start(calendar: &Calendar, year: i32) -> NaiveDate {
    let (month, day) = (calendar.fiscal_year_start.month, calendar.fiscal_year_start.day);
    let first_year = if (month, day) == (1, 1) { year } else { year - 1 };
    NaiveDate::from_ymd_opt(first_year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(first_year, month, 1))
        .unwrap_or_default()
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct GenReport {
    pub start: String,
    /// The end of the period (exclusive): the `--now` to run the ETL at.
    pub end: String,
    pub scale: f64,
    pub seed: u64,
    pub sources: Vec<SourceSummary>,
}

/// What was written for one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub mode: String,
    pub files: Vec<FileSummary>,
    /// Rows in all files.
    pub rows: u64,
    /// Rows that change a key loaded by an earlier file.
    pub updates: u64,
    /// Keys a later file deletes: delete-marker rows, or keys missing from a later snapshot.
    pub deletions: u64,
    /// Rows the loader must reject.
    pub bad_rows: u64,
    /// Rows `cur_<source>` holds once every file is loaded: what was written, less updates
    /// (for an append source, each is a deletion line and the corrected row), deletions (their
    /// rows and the rows they delete) and rejected rows.
    pub current_rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// Relative to the output directory, `/`-separated.
    pub path: String,
    pub rows: u64,
    /// `initial`, `follow-up`, `deletions` or `snapshot`.
    pub batch: &'static str,
}

impl GenReport {
    pub fn total_rows(&self) -> u64 {
        self.sources.iter().map(|s| s.rows).sum()
    }

    pub fn total_files(&self) -> usize {
        self.sources.iter().map(|s| s.files.len()).sum()
    }
}

impl std::fmt::Display for GenReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.sources.iter().map(|s| s.source.len()).max().unwrap_or(6).max(6);
        writeln!(
            f,
            "{:width$}  {:11}  {:>5}  {:>10}  {:>8}  {:>9}  {:>4}",
            "source", "mode", "files", "rows", "updates", "deletions", "bad"
        )?;
        for s in &self.sources {
            writeln!(
                f,
                "{:width$}  {:11}  {:>5}  {:>10}  {:>8}  {:>9}  {:>4}",
                s.source,
                s.mode,
                s.files.len(),
                s.rows,
                s.updates,
                s.deletions,
                s.bad_rows
            )?;
        }
        writeln!(
            f,
            "{:width$}  {:11}  {:>5}  {:>10}  {:>8}  {:>9}  {:>4}",
            "total",
            "",
            self.total_files(),
            self.total_rows(),
            self.sources.iter().map(|s| s.updates).sum::<u64>(),
            self.sources.iter().map(|s| s.deletions).sum::<u64>(),
            self.sources.iter().map(|s| s.bad_rows).sum::<u64>()
        )?;
        write!(f, "period {} to {} (run the ETL with --now \"{}\")", self.start, self.end, self.end)
    }
}

/// Receives progress as sources are written.
pub trait GenProgress {
    /// `index` of `total` (from 0) starts.
    fn source(&mut self, name: &str, index: usize, total: usize);
    fn file(&mut self, path: &str, rows: u64);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl GenProgress for Quiet {
    fn source(&mut self, _name: &str, _index: usize, _total: usize) {}
    fn file(&mut self, _path: &str, _rows: u64) {}
}

/// Generates every source's files under `out`, which must be missing or empty.
pub fn generate(
    plan: &Plan,
    profile: &Profile,
    options: &GenOptions,
    out: &Path,
    progress: &mut dyn GenProgress,
) -> Result<GenReport> {
    check_options(plan, options)?;
    prepare_out(out)?;
    let period = Period::new(plan, options);
    let dimensions = members::build(plan, profile, period.start.date())?;
    let ctx = Context::new(plan, profile, period, dimensions);
    let suppliers: BTreeMap<&str, &str> = ctx
        .dimensions
        .values()
        .filter_map(|d| Some((d.from.as_deref()?, d.name.as_str())))
        .collect();
    let order = source_order(plan, &suppliers);
    let patterns = Patterns::new(plan)?;
    let mut world = World::default();
    let bad = bad_row_plan(plan, options.bad_rows, &suppliers);
    let linked: BTreeSet<String> =
        plan.sources.iter().flat_map(|s| link_targets(plan, s)).collect();
    let mut report = GenReport {
        start: period.start.format("%Y-%m-%d").to_string(),
        end: period.end.format("%Y-%m-%d %H:%M").to_string(),
        scale: options.scale,
        seed: options.seed,
        sources: Vec::new(),
    };
    for (index, source) in order.iter().enumerate() {
        progress.source(&source.name, index, order.len());
        let mut rng = source_rng(options.seed, &source.name);
        let mut planner = SourcePlanner::new(&ctx, source, &world)?;
        planner.keep_keys = linked.contains(&source.name);
        let mut summary = SourceSummary {
            source: source.name.clone(),
            mode: source.load.mode().to_owned(),
            files: Vec::new(),
            rows: 0,
            updates: 0,
            deletions: 0,
            bad_rows: 0,
            current_rows: 0,
        };
        let mut last_rows = 0;
        // Each batch is written as soon as it is made: a source's rows are never all in memory.
        let mut write = |batch: Batch| -> Result<()> {
            let seq = summary.files.len() + 1;
            let relative = patterns.file_name(source, batch.date, seq)?;
            let rows = writer::write_file(source, &out.join(&relative), &batch.rows)?;
            progress.file(&relative, rows);
            summary.rows += rows;
            summary.updates += batch.updates;
            summary.deletions += batch.deletions;
            summary.bad_rows += batch.bad_rows;
            summary.files.push(FileSummary { path: relative, rows, batch: batch.kind });
            last_rows = rows;
            Ok(())
        };
        if let Some(dimension) = suppliers.get(source.name.as_str()) {
            let members = &ctx.dimensions[*dimension];
            write(planner.member_batch(&mut rng, members, &mut world))?;
        } else if matches!(source.load, Load::Snapshot) {
            let bad_rows = bad.get(&source.name).copied().unwrap_or(0);
            let mut batches =
                planner.snapshot_batches(&mut rng, options.scale, bad_rows, &mut world);
            // A landing pattern that names one file holds the whole list, replaced in place:
            // the latest snapshot is the file, and nothing in it updates or deletes a loaded row.
            if !source.landing.pattern.contains('*') {
                batches.drain(..batches.len() - 1);
                for batch in &mut batches {
                    (batch.updates, batch.deletions) = (0, 0);
                }
            }
            for batch in batches {
                write(batch)?;
            }
        } else {
            let bad_rows = bad.get(&source.name).copied().unwrap_or(0);
            planner.event_batches(&mut rng, options.scale, bad_rows, &mut world, &mut write)?;
        }
        summary.current_rows = if matches!(source.load, Load::Snapshot) {
            last_rows - summary.bad_rows
        } else {
            // An append source's correction is two lines: the deletion, then the row.
            let per_update = if matches!(source.load, Load::Append { .. }) { 2 } else { 1 };
            summary.rows - per_update * summary.updates - 2 * summary.deletions - summary.bad_rows
        };
        report.sources.push(summary);
    }
    report.sources.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(report)
}

fn check_options(plan: &Plan, options: &GenOptions) -> Result<()> {
    if !options.scale.is_finite() || options.scale <= 0.0 || options.scale > 100.0 {
        return Err(Error::new(
            codes::GEN_DATA_OPTIONS,
            format!("scale {} is out of range", options.scale),
        )
        .help("pass a scale above 0 and at most 100 (1 is the profile's full volumes)"));
    }
    if options.days < 2 {
        return Err(Error::new(
            codes::GEN_DATA_OPTIONS,
            format!("a period of {} day(s) is too short", options.days),
        )
        .help("pass --days 2 or more: the last day holds the follow-up batches"));
    }
    let start =
        options.start.unwrap_or_else(|| fiscal_year_start(&plan.calendar, DEFAULT_FISCAL_YEAR));
    if start.checked_add_signed(Duration::days(i64::from(options.days))).is_none() {
        return Err(Error::new(
            codes::GEN_DATA_OPTIONS,
            "the period ends past the calendar".to_owned(),
        )
        .help("pass an earlier --start or fewer --days"));
    }
    Ok(())
}

fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(|e| {
            Error::new(codes::GEN_DATA_OUTPUT, format!("cannot read {}: {e}", out.display()))
                .help("pass a new or empty directory with --out DIR")
        })?;
        if entries.next().is_some() {
            return Err(Error::new(codes::GEN_DATA_OUTPUT, format!("{} is not empty", out.display())).help(
                "pass a new or empty directory with --out DIR: files left from another run would be loaded too",
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| {
        Error::new(codes::GEN_DATA_OUTPUT, format!("cannot create {}: {e}", out.display()))
            .help("pass a directory that can be written with --out DIR")
    })
}

/// Member lists first, then link targets before the sources that link to them; ties by name.
fn source_order<'a>(plan: &'a Plan, suppliers: &BTreeMap<&str, &str>) -> Vec<&'a SourcePlan> {
    let mut sorted: Vec<&SourcePlan> = plan.sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut order, mut rest): (Vec<&SourcePlan>, Vec<&SourcePlan>) =
        sorted.into_iter().partition(|s| suppliers.contains_key(s.name.as_str()));
    while !rest.is_empty() {
        let placed: BTreeSet<String> = order.iter().map(|s| s.name.clone()).collect();
        let ready =
            rest.iter().position(|s| link_targets(plan, s).iter().all(|t| placed.contains(t)));
        // A cycle of links: the first by name goes first, its links to later sources unused.
        let next = ready.unwrap_or(0);
        order.push(rest.remove(next));
    }
    order
}

/// The sources whose first key column `source` has a (non-key) column named like.
fn link_targets(plan: &Plan, source: &SourcePlan) -> Vec<String> {
    source
        .columns
        .iter()
        .filter(|c| !source.is_key(&c.name) && c.references.is_none() && c.ty == ColumnType::String)
        .filter_map(|c| {
            plan.sources
                .iter()
                .find(|t| t.name != source.name && t.key.first() == Some(&c.name))
                .map(|t| t.name.clone())
        })
        .collect()
}

fn source_rng(seed: u64, name: &str) -> Rng {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_slice());
    Rng::from_seed(bytes)
}

/// Which sources get bad rows, and how many: round robin over the sources (by name) but the
/// member lists of dimensions, which must load whole.
fn bad_row_plan(plan: &Plan, n: u32, suppliers: &BTreeMap<&str, &str>) -> BTreeMap<String, u64> {
    let mut eligible: Vec<&str> = plan
        .sources
        .iter()
        .filter(|s| !suppliers.contains_key(s.name.as_str()))
        .filter(|s| bad_column(s, 0).is_some())
        .map(|s| s.name.as_str())
        .collect();
    eligible.sort_unstable();
    let mut out = BTreeMap::new();
    if eligible.is_empty() {
        return out;
    }
    for i in 0..n as usize {
        *out.entry(eligible[i % eligible.len()].to_owned()).or_insert(0) += 1;
    }
    out
}

/// The watermark column of an incremental source and the delete marker of a cdc one.
fn load_columns(source: &SourcePlan) -> (Option<&str>, Option<&str>) {
    match &source.load {
        Load::Incremental { column, .. } => (Some(column.as_str()), source.load.delete_marker()),
        Load::Cdc { .. } | Load::Snapshot | Load::Append { .. } => {
            (None, source.load.delete_marker())
        }
    }
}

/// The column the `k`-th bad row of `source` breaks and the bad text: an int column (text
/// that is not a number) for even `k`, a date or timestamp column (a day that does not exist)
/// for odd `k`, whichever the source has.
fn bad_column(source: &SourcePlan, k: u64) -> Option<(usize, &'static str)> {
    let (watermark, marker) = load_columns(source);
    let skip = |c: &crate::plan::Column| {
        source.is_key(&c.name)
            || watermark == Some(c.name.as_str())
            || marker == Some(c.name.as_str())
    };
    let int = source.columns.iter().position(|c| c.ty == ColumnType::Int && !skip(c));
    let date = source
        .columns
        .iter()
        .position(|c| matches!(c.ty, ColumnType::Date | ColumnType::Timestamp) && !skip(c));
    let bad_date = |i: usize| {
        (
            i,
            if source.columns[i].ty == ColumnType::Date {
                "2025-02-30"
            } else {
                "2025-02-30 10:15:00"
            },
        )
    };
    match (int, date, k % 2) {
        (Some(i), _, 0) | (Some(i), None, _) => Some((i, "12x")),
        (_, Some(d), _) => Some(bad_date(d)),
        (None, None, _) => None,
    }
}

// ---------------------------------------------------------------------------------------------

/// The generated period: `[start, end)`; the last day, from `cutoff`, holds follow-ups.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    start: NaiveDateTime,
    end: NaiveDateTime,
    cutoff: NaiveDateTime,
    days: u32,
    /// The calendar's first day of the fiscal year, as (month, day).
    fiscal_start: (u32, u32),
}

impl Period {
    fn new(plan: &Plan, options: &GenOptions) -> Self {
        let start = options
            .start
            .unwrap_or_else(|| fiscal_year_start(&plan.calendar, DEFAULT_FISCAL_YEAR))
            .and_time(chrono::NaiveTime::MIN);
        let end = start + Duration::days(i64::from(options.days));
        let fy = &plan.calendar.fiscal_year_start;
        Period {
            start,
            end,
            cutoff: end - Duration::days(1),
            days: options.days,
            fiscal_start: (fy.month, fy.day),
        }
    }

    /// The fiscal year `date` is in, named for the calendar year it ends in.
    fn fiscal_year(&self, date: NaiveDate) -> i32 {
        if self.fiscal_start == (1, 1) {
            return date.year();
        }
        date.year() + i32::from((date.month(), date.day()) >= self.fiscal_start)
    }
}

/// What earlier sources left for later ones.
#[derive(Debug, Default)]
pub(crate) struct World {
    /// A source's first-key values, for the sources that link to it.
    keys: BTreeMap<String, Vec<String>>,
    /// A member list's rows, each as column → value, by source.
    attributes: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

/// One file's rows.
#[derive(Debug)]
pub(crate) struct Batch {
    date: NaiveDate,
    kind: &'static str,
    rows: Vec<Vec<writer::Val>>,
    updates: u64,
    deletions: u64,
    bad_rows: u64,
}

/// The landing patterns: file names for a source, checked against every other pattern.
struct Patterns {
    globs: Vec<(String, globset::GlobMatcher)>,
}

impl Patterns {
    fn new(plan: &Plan) -> Result<Self> {
        let mut globs = Vec::new();
        for s in &plan.sources {
            let glob = globset::GlobBuilder::new(&s.landing.pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    Error::new(
                        codes::GEN_DATA_FILE_NAMES,
                        format!("{}: landing pattern `{}`: {e}", s.name, s.landing.pattern),
                    )
                    .help("regenerate generated/ with `tally compile`")
                })?
                .compile_matcher();
            globs.push((s.name.clone(), glob));
        }
        Ok(Patterns { globs })
    }

    /// The pattern with its last `*` replaced by `<yyyymmdd>_<nnn>` (and any `**/` dropped);
    /// the name must match the source's pattern and no other source's.
    fn file_name(&self, source: &SourcePlan, date: NaiveDate, seq: usize) -> Result<String> {
        let pattern = source.landing.pattern.replace("**/", "");
        let token = format!("{}_{seq:03}", date.format("%Y%m%d"));
        let name = match pattern.rfind('*') {
            Some(at) => {
                format!("{}{token}{}", &pattern[..at], &pattern[at + 1..]).replace('*', "x")
            }
            None if seq == 1 => pattern.clone(),
            None => {
                return Err(Error::new(
                    codes::GEN_DATA_FILE_NAMES,
                    format!(
                        "{}: landing pattern `{}` names one file, gen-data writes several",
                        source.name, source.landing.pattern
                    ),
                )
                .help("give the source a landing pattern with `*`, e.g. `dir/name_*.csv`"))
            }
        };
        for (other, glob) in &self.globs {
            let matches = glob.is_match(&name);
            if *other == source.name && !matches || *other != source.name && matches {
                return Err(Error::new(
                    codes::GEN_DATA_FILE_NAMES,
                    format!(
                        "{}: generated file name {name} {} the landing pattern of `{other}`",
                        source.name,
                        if matches { "also matches" } else { "does not match" }
                    ),
                )
                .help("give each source a landing pattern of its own (`dir/<source>_*.csv`)"));
            }
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests;
