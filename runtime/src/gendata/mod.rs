//! `tally gen-data`: deterministic synthetic landing files for every source of a compiled
//! project, driven by `generated/plan.json` alone.
//!
//! For each source the plan gives the landing pattern and format, the load mode, the key and
//! the typed columns; this module turns them into files the runtime loads as they are:
//!
//! 1. **Reference sources first.** A column `-> dimension.level` takes its values from the
//!    source that supplies the dimension's members ([`resolve_references`]); those sources are
//!    written first (one that references another's level after it), from a built-in catalog when their key column is a known one
//!    ([`profiles::catalog_for`]: ports and field offices, Border Patrol stations and sectors,
//!    modes of transportation, CEEs), else from generic members. Members carry a traffic
//!    weight, so a few big ports get most of the rows.
//! 2. **Other sources** in dependency order: a column named like another source's first key
//!    column (`shipment_id`, `account_id`, `employee_id`) takes that source's key values.
//! 3. **Values** by column: key columns unique by construction; the event time (the
//!    retention `by` column) spread over the period with daily and weekly peaks; later
//!    timestamps (`approved_at`, `closed_at`, ...) after it or null; enums from their declared
//!    values with plausible weights; the rest by [`profiles::profile`] (name, type, PII class)
//!    or generic by type. Personal data is fake ([`profiles`]).
//! 4. **Batches.** The period's last day is kept for follow-up batches. The initial batch is
//!    one file per chunk of the period before it (one per month at most); then, by load mode:
//!    `append` a file of the last day's new rows; `incremental` new rows plus updated earlier
//!    rows with a newer watermark; `cdc` the same, then a file of delete-marker rows; a
//!    `snapshot` list a second full snapshot with some rows changed, some new and some keys
//!    missing. Reference lists get one snapshot. File names are the pattern with its `*`
//!    replaced by `<yyyymmdd>_<nnn>`, so they sort in the order they are to be loaded.
//! 5. **Bad rows** (`bad_rows`), when asked for: extra rows with one value the loader must
//!    reject (a non-numeric int, a date that does not exist), in the follow-up files.
//!
//! Same plan and options, same bytes: every source draws from its own ChaCha8 stream seeded
//! from the seed and the source name, nothing iterates a hash map, and no clock is read.

pub mod profiles;
pub mod spec;
pub mod writer;

use crate::error::{codes, Error, Result};
use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, Timelike as _};
use profiles::{Catalog, Profile};
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use spec::{ColumnSpec, Reference, SourceSpec, Spec};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use writer::Val;

/// The random number generator of every draw.
pub type Rng = rand::rngs::ChaCha8Rng;

/// The scale `tally gen-data` uses without `--scale`: about 75,000 rows, generated in a few
/// seconds, enough for every dashboard to show numbers.
pub const DEMO_SCALE: f64 = 0.005;
/// The first day of the default period: the start of federal fiscal year 2025.
pub const DEFAULT_START: (i32, u32, u32) = (2024, 10, 1);
pub const DEFAULT_DAYS: u32 = 365;
pub const DEFAULT_SEED: u64 = 2017;

/// Initial-batch files hold about this many rows at most (and cover a month at least).
const ROWS_PER_FILE: f64 = 250_000.0;
/// Share of earlier rows a follow-up batch updates, and deletes (cdc, snapshot lists).
const UPDATE_SHARE: f64 = 0.05;
const DELETE_SHARE: f64 = 0.02;
/// Snapshot lists: share of new members in the second snapshot.
const NEW_SHARE: f64 = 0.02;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// 1.0: about a year of a large port network (millions of rows in the busiest sources).
    pub scale: f64,
    pub seed: u64,
    /// The first day of the period.
    pub start: NaiveDate,
    /// The period's length; its last day holds the follow-up batches.
    pub days: u32,
    /// Rows the loader must reject, spread over the event sources.
    pub bad_rows: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        let (y, m, d) = DEFAULT_START;
        GenOptions {
            scale: DEMO_SCALE,
            seed: DEFAULT_SEED,
            start: NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default(),
            days: DEFAULT_DAYS,
            bad_rows: 0,
        }
    }
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
    /// Rows `cur_<source>` holds once every file is loaded: what was written, less updates,
    /// deletions (their rows and the rows they delete) and rejected rows.
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

/// Where a reference's values come from: `column` of `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplier {
    pub source: String,
    pub column: String,
}

/// Finds, for every `references` of the plan, the source that supplies the level's members.
/// The plan names the dimension and level, not the dimension's `from` source, so the
/// supplier is the other source with a one-column key named like the referencing column, or
/// `<level>_code`, `<level>_id`, `<level>` (`location.port` ← `ports.port_code`,
/// `transport.mode` ← `transport_modes.mode_code`); among several, a snapshot source.
pub fn resolve_references(spec: &Spec) -> Result<BTreeMap<Reference, Supplier>> {
    let mut out = BTreeMap::new();
    for source in &spec.sources {
        for column in &source.columns {
            let Some(reference) = &column.references else { continue };
            if out.contains_key(reference) {
                continue;
            }
            let level = &reference.level;
            let names = [
                column.name.clone(),
                format!("{level}_code"),
                format!("{level}_id"),
                level.clone(),
            ];
            let mut found: Option<(usize, bool, &SourceSpec)> = None;
            for (rank, name) in names.iter().enumerate() {
                for candidate in &spec.sources {
                    if candidate.name == source.name
                        || candidate.key.len() != 1
                        || &candidate.key[0] != name
                    {
                        continue;
                    }
                    let snapshot = candidate.load.mode == "snapshot";
                    let better = match found {
                        None => true,
                        Some((r, s, _)) => rank < r || (rank == r && snapshot && !s),
                    };
                    if better {
                        found = Some((rank, snapshot, candidate));
                    }
                }
            }
            let Some((_, _, supplier)) = found else {
                return Err(Error::new(
                    codes::GEN_DATA_NO_SUPPLIER,
                    format!(
                        "no source supplies the members of `{reference}`, which {}.{} references",
                        source.name, column.name
                    ),
                )
                .help(format!(
                    "gen-data takes a level's members from the source keyed by a column named \
                     `{}` or `{level}_code`: give the dimension's `from` source such a key",
                    column.name
                )));
            };
            out.insert(
                reference.clone(),
                Supplier { source: supplier.name.clone(), column: supplier.key[0].clone() },
            );
        }
    }
    Ok(out)
}

/// Generates every source's files under `out`, which must be missing or empty.
pub fn generate(
    spec: &Spec,
    options: &GenOptions,
    out: &Path,
    progress: &mut dyn GenProgress,
) -> Result<GenReport> {
    check_options(options)?;
    prepare_out(out)?;
    let suppliers = resolve_references(spec)?;
    let order = source_order(spec, &suppliers);
    let patterns = Patterns::new(spec)?;
    let period = Period::new(options);
    let mut world = World {
        objects: spec.marts.iter().chain(&spec.reports).map(|m| m.name.clone()).collect(),
        ..World::default()
    };
    let bad = bad_row_plan(spec, options.bad_rows, &suppliers);
    let linked: BTreeSet<String> =
        spec.sources.iter().flat_map(|s| link_targets(spec, s)).collect();
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
        let mut plan = SourcePlanner::new(spec, source, &suppliers, &world, &period)?;
        plan.keep_keys = linked.contains(&source.name);
        let supplier_of = suppliers.values().any(|s| s.source == source.name);
        let mut summary = SourceSummary {
            source: source.name.clone(),
            mode: source.load.mode.clone(),
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
        if supplier_of {
            for batch in plan.reference_batches(&mut rng, &mut world) {
                write(batch)?;
            }
        } else if source.load.mode == "snapshot" {
            for batch in plan.snapshot_batches(&mut rng, options.scale, &mut world) {
                write(batch)?;
            }
        } else {
            let bad_rows = bad.get(&source.name).copied().unwrap_or(0);
            plan.event_batches(&mut rng, options.scale, bad_rows, &mut world, &mut write)?;
        }
        summary.current_rows = if source.load.mode == "snapshot" {
            last_rows - summary.bad_rows
        } else {
            summary.rows - summary.updates - 2 * summary.deletions - summary.bad_rows
        };
        report.sources.push(summary);
    }
    report.sources.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(report)
}

fn check_options(options: &GenOptions) -> Result<()> {
    if !options.scale.is_finite() || options.scale <= 0.0 || options.scale > 100.0 {
        return Err(Error::new(
            codes::GEN_DATA_OPTIONS,
            format!("scale {} is out of range", options.scale),
        )
        .help("pass a scale above 0 and at most 100 (1 is a year of a large port network)"));
    }
    if options.days < 2 {
        return Err(Error::new(
            codes::GEN_DATA_OPTIONS,
            format!("a period of {} day(s) is too short", options.days),
        )
        .help("pass --days 2 or more: the last day holds the follow-up batches"));
    }
    if options.start.checked_add_signed(Duration::days(i64::from(options.days))).is_none() {
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

/// Reference suppliers first, then link targets before the sources that link to them; ties
/// by name.
fn source_order<'a>(
    spec: &'a Spec,
    suppliers: &BTreeMap<Reference, Supplier>,
) -> Vec<&'a SourceSpec> {
    let supplier_names: BTreeSet<&str> = suppliers.values().map(|s| s.source.as_str()).collect();
    let mut sorted: Vec<&SourceSpec> = spec.sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    // Suppliers first, each after the suppliers of the levels it references itself (a list of
    // clinics naming their regions comes after the regions).
    let mut pending: Vec<&SourceSpec> =
        sorted.iter().copied().filter(|s| supplier_names.contains(s.name.as_str())).collect();
    let mut order: Vec<&SourceSpec> = Vec::new();
    while !pending.is_empty() {
        let placed: BTreeSet<&str> = order.iter().map(|s| s.name.as_str()).collect();
        let ready = pending.iter().position(|s| {
            s.columns.iter().filter_map(|c| suppliers.get(c.references.as_ref()?)).all(|supplier| {
                supplier.source == s.name || placed.contains(supplier.source.as_str())
            })
        });
        // A cycle of references: the first by name goes first.
        order.push(pending.remove(ready.unwrap_or(0)));
    }
    let mut rest: Vec<&SourceSpec> =
        sorted.iter().copied().filter(|s| !supplier_names.contains(s.name.as_str())).collect();
    while !rest.is_empty() {
        let placed: BTreeSet<String> = order.iter().map(|s| s.name.clone()).collect();
        let ready = rest.iter().position(|s| {
            link_targets(spec, s)
                .iter()
                .all(|t| placed.contains(t) || supplier_names.contains(t.as_str()))
        });
        // A cycle of links: the first by name goes first, its links to later sources unused.
        let next = ready.unwrap_or(0);
        order.push(rest.remove(next));
    }
    order
}

/// The sources whose first key column `source` has a (non-key) column named like.
fn link_targets(spec: &Spec, source: &SourceSpec) -> Vec<String> {
    source
        .columns
        .iter()
        .filter(|c| !source.is_key(&c.name) && c.references.is_none() && c.ty == "string")
        .filter_map(|c| {
            spec.sources
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

/// Which sources get bad rows, and how many: round robin over the event sources (by name).
fn bad_row_plan(
    spec: &Spec,
    n: u32,
    suppliers: &BTreeMap<Reference, Supplier>,
) -> BTreeMap<String, u64> {
    let mut eligible: Vec<&str> = spec
        .sources
        .iter()
        .filter(|s| s.load.mode != "snapshot" && !suppliers.values().any(|x| x.source == s.name))
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

/// The column the `k`-th bad row of `source` breaks and the bad text: an int column (text
/// that is not a number) for even `k`, a date or timestamp column (a day that does not exist)
/// for odd `k`, whichever the source has.
fn bad_column(source: &SourceSpec, k: u64) -> Option<(usize, &'static str)> {
    let skip = |c: &ColumnSpec| {
        source.is_key(&c.name)
            || source.load.column.as_deref() == Some(c.name.as_str())
            || source.load.delete_marker.as_deref() == Some(c.name.as_str())
    };
    let int = source.columns.iter().position(|c| c.ty == "int" && !skip(c));
    let date =
        source.columns.iter().position(|c| (c.ty == "date" || c.ty == "timestamp") && !skip(c));
    let bad_date = |i: usize| {
        (i, if source.columns[i].ty == "date" { "2025-02-30" } else { "2025-02-30 10:15:00" })
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
struct Period {
    start: NaiveDateTime,
    end: NaiveDateTime,
    cutoff: NaiveDateTime,
    days: u32,
}

impl Period {
    fn new(options: &GenOptions) -> Self {
        let start = options.start.and_time(chrono::NaiveTime::MIN);
        let end = start + Duration::days(i64::from(options.days));
        Period { start, end, cutoff: end - Duration::days(1), days: options.days }
    }
}

/// What earlier sources left for later ones.
#[derive(Debug, Default)]
struct World {
    /// A reference's members and their traffic weights.
    members: BTreeMap<String, Vec<(String, f64)>>,
    /// A source's first-key values, for the sources that link to it.
    keys: BTreeMap<String, Vec<String>>,
    /// Marts and reports: what audit rows name.
    objects: Vec<String>,
    /// A reference source's members, each as column → value.
    attributes: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

/// One file's rows.
#[derive(Debug)]
struct Batch {
    date: NaiveDate,
    kind: &'static str,
    rows: Vec<Vec<Val>>,
    updates: u64,
    deletions: u64,
    bad_rows: u64,
}

/// How one column is filled.
#[derive(Debug, Clone)]
enum Role {
    /// The single key, or the first column of a composite one: a fresh identifier.
    Id,
    /// A composite key's prefix column with a default: the default (one group for all rows).
    Constant(String),
    /// A composite key's last int column: 1, 2, ... within the group.
    Sequence,
    /// A composite key's last column that is a pay period.
    PayPeriod,
    /// When the event happened.
    Anchor,
    /// The incremental watermark.
    Watermark,
    DeleteMarker,
    /// A snapshot list's extract date.
    Extracted,
    /// The date of the event (`arrival_date` of `arrived_at`).
    AnchorDate,
    /// The last day of the row's pay period.
    PeriodEnd,
    /// A timestamp after the event: at least this many minutes, median, null share.
    After {
        median_minutes: f64,
        null: f64,
    },
    /// `cleared_at`: the event plus the row's wait.
    AfterWait {
        wait: usize,
    },
    /// A date or timestamp some time in the period (current-state lists).
    InPeriod,
    Reference(String),
    Link(String),
    Enum(Vec<(String, f64)>),
    Bool(f64),
    /// True when the row's nationality column holds a special interest country.
    SpecialInterest(Option<usize>),
    /// Running total within the group of another column.
    YearToDate(usize),
    Profiled(Profile),
    Generic,
}

#[derive(Debug, Clone)]
struct ColumnPlan {
    role: Role,
    /// Copied from the group's first row to its other rows.
    shared: bool,
    /// Null unless the enum column at `.0` has value `.1` (`drug_type` for `seizure_type = drug`).
    only_when: Option<(usize, String)>,
}

/// How the rows of one key group come: one row per key, a crowd (passengers of a flight),
/// items (lines of an entry), or one sequence for the whole source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    Single,
    Crowd,
    Items,
    Sequence,
    PayPeriods,
}

struct SourcePlanner<'a> {
    source: &'a SourceSpec,
    columns: Vec<ColumnPlan>,
    grouping: Grouping,
    period: Period,
    rate: f64,
    /// References resolve to member lists, links to key lists (copied from the world).
    members: BTreeMap<String, (Vec<String>, Vec<f64>)>,
    links: BTreeMap<String, Vec<String>>,
    objects: Vec<String>,
    id_prefix: String,
    pay_periods: Vec<(String, NaiveDate)>,
    /// Another source links to this one's keys: keep them.
    keep_keys: bool,
    follows: Vec<Follow>,
}

/// An enum column that agrees with an attribute of the member a reference column names: a
/// primary inspection at an `air` port has lane type `air`, at a `land` port one of the lane
/// types that are no port mode (`vehicle`, `pedestrian`).
#[derive(Debug, Clone)]
struct Follow {
    column: usize,
    reference: usize,
    /// Member key → the enum values allowed for it.
    allowed: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for SourcePlanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourcePlanner").field("source", &self.source.name).finish()
    }
}

/// Events per day at scale 1 (rows for event sources, members for lists), by source name;
/// sources not listed get a rate from how often they refresh.
const VOLUMES: &[(&str, f64)] = &[
    ("ats_p_primary", 10_000.0),
    ("ats_p_arrivals", 6_000.0),
    ("ats_p_apis", 6_000.0),
    ("acs_entries", 3_000.0),
    ("ats_n_shipments", 2_500.0),
    ("tally_audit", 2_000.0),
    ("ats_p_i94", 1_500.0),
    ("icad_sensor_events", 1_500.0),
    ("e3", 1_200.0),
    ("ats_n_udr_hits", 800.0),
    ("ats_p_secondary", 400.0),
    ("palms_completions", 400.0),
    ("ats_cert_exams", 300.0),
    ("sevis", 300.0),
    ("tomis_missions", 80.0),
    ("ats_p_enforcement", 60.0),
    ("seacats", 50.0),
    ("tecs_moirs", 40.0),
    ("ace_cee_activities", 30.0),
    ("seacats_arrests", 15.0),
    ("ess_incidents", 10.0),
    // Current-state lists: members.
    ("facts_assets", 60_000.0),
    ("ndc_employees", 30_000.0),
    ("ace_accounts", 20_000.0),
    ("coss", 12_000.0),
    ("remedy_rvss", 1_500.0),
];

fn volume(source: &SourceSpec) -> f64 {
    if let Some((_, v)) = VOLUMES.iter().find(|(n, _)| *n == source.name) {
        return *v;
    }
    if source.load.mode == "snapshot" {
        return 1_000.0;
    }
    match source.freshness.map(|f| f.expected_every_minutes) {
        Some(m) if m <= 15 => 2_000.0,
        Some(m) if m <= 60 => 500.0,
        Some(m) if m <= 24 * 60 => 100.0,
        _ => 20.0,
    }
}

/// Enum weights that differ from the default (the first value, or the default, is the most
/// common and the rest fall off), by column name.
const ENUM_WEIGHTS: &[(&str, &[(&str, f64)])] = &[
    (
        "seizure_type",
        &[
            ("drug", 35.0),
            ("currency", 12.0),
            ("merchandise", 30.0),
            ("weapon", 5.0),
            ("conveyance", 8.0),
            ("other", 10.0),
        ],
    ),
    (
        "drug_type",
        &[
            ("cocaine", 20.0),
            ("heroin", 5.0),
            ("methamphetamine", 25.0),
            ("fentanyl", 10.0),
            ("marijuana", 35.0),
            ("other_drug", 5.0),
        ],
    ),
    ("lane_type", &[("vehicle", 45.0), ("pedestrian", 20.0), ("air", 30.0), ("sea", 5.0)]),
    ("outcome", &[("allowed", 95.0), ("denied", 4.0), ("error", 1.0)]),
    ("traveler_role", &[("passenger", 92.0), ("crew", 8.0)]),
    ("visa_class", &[("F", 70.0), ("M", 5.0), ("J", 25.0)]),
    ("conveyance", &[("air", 90.0), ("sea", 10.0)]),
    ("issuance", &[("electronic", 85.0), ("paper", 15.0)]),
    ("component", &[("cbp", 80.0), ("ice", 20.0)]),
    ("asset_category", &[("aircraft", 70.0), ("vessel", 30.0)]),
];

/// True shares of bool columns, by a word of their name; else 0.1.
const BOOL_SHARES: &[(&str, f64)] = &[
    ("operational", 0.9),
    ("launched", 0.85),
    ("whti_compliant", 0.92),
    ("dispatched", 0.4),
    ("rfid_document", 0.35),
    ("rfid_read", 0.3),
    ("csi_port", 0.3),
    ("reporting_violation", 0.3),
    ("turned_away", 0.5),
    ("discrepancy", 0.15),
    ("ntc_reviewed", 0.1),
    ("hs_seal", 0.1),
    ("high_risk", 0.05),
    ("referred_secondary", 0.04),
    ("deferred", 0.05),
    ("hit", 0.02),
    ("match", 0.01),
];

impl<'a> SourcePlanner<'a> {
    fn new(
        spec: &Spec,
        source: &'a SourceSpec,
        suppliers: &BTreeMap<Reference, Supplier>,
        world: &World,
        period: &Period,
    ) -> Result<Self> {
        let key = &source.key;
        let last_key = key.last().cloned().unwrap_or_default();
        let grouping = if key.len() < 2 {
            Grouping::Single
        } else if source
            .column(&last_key)
            .is_some_and(|c| c.ty == "string" && c.name == "pay_period")
        {
            Grouping::PayPeriods
        } else if key[..key.len() - 1]
            .iter()
            .all(|k| source.column(k).is_some_and(|c| c.default_text().is_some()))
        {
            Grouping::Sequence
        } else if last_key.contains("passenger") || last_key.contains("traveler") {
            Grouping::Crowd
        } else {
            Grouping::Items
        };
        let anchor = anchor_column(source);
        let nationality =
            source.columns.iter().position(|c| c.has_pii("nationality") && c.ty == "string");
        let wait = source.columns.iter().position(|c| c.name == "wait_minutes");
        let is_list = source.load.mode == "snapshot";
        let mut columns = Vec::new();
        let mut members = BTreeMap::new();
        let mut links = BTreeMap::new();
        for (i, c) in source.columns.iter().enumerate() {
            let is_key = source.is_key(&c.name);
            let role = if is_key && key.first() == Some(&c.name) && grouping != Grouping::Sequence {
                Role::Id
            } else if is_key && key.last() == Some(&c.name) && key.len() > 1 {
                if grouping == Grouping::PayPeriods {
                    Role::PayPeriod
                } else {
                    Role::Sequence
                }
            } else if is_key && c.default_text().is_some() {
                Role::Constant(c.default_text().unwrap_or_default())
            } else if is_key {
                Role::Id
            } else if source.load.delete_marker.as_deref() == Some(c.name.as_str()) {
                Role::DeleteMarker
            } else if source.load.column.as_deref() == Some(c.name.as_str()) {
                Role::Watermark
            } else if let Some(r) = &c.references {
                let supplier = suppliers
                    .get(r)
                    .map(|s| format!("{}.{}", s.source, s.column))
                    .unwrap_or_default();
                let list = world.members.get(&supplier).cloned().unwrap_or_default();
                let values: Vec<String> = list.iter().map(|(v, _)| v.clone()).collect();
                let weights: Vec<f64> = list.iter().map(|(_, w)| *w).collect();
                if values.is_empty() {
                    return Err(Error::new(
                        codes::GEN_DATA_NO_SUPPLIER,
                        format!("`{r}` has no members for {}.{}", source.name, c.name),
                    )
                    .help("this is a bug in gen-data's source order, please report it"));
                }
                members.insert(c.name.clone(), (values, weights));
                Role::Reference(c.name.clone())
            } else if anchor == Some(i) {
                Role::Anchor
            } else if c.name == "period_end" && grouping == Grouping::PayPeriods {
                Role::PeriodEnd
            } else if is_list
                && (c.name == "extracted_on"
                    || source.retention.as_ref().and_then(|r| r.by.as_deref())
                        == Some(c.name.as_str()))
                && c.ty == "date"
            {
                Role::Extracted
            } else if let Some(target) = link_target(spec, source, c, world) {
                links.insert(c.name.clone(), world.keys.get(&target).cloned().unwrap_or_default());
                Role::Link(c.name.clone())
            } else if c.ty == "date" && c.pii.is_empty() && anchor.is_some() && !c.nullable {
                Role::AnchorDate
            } else if c.ty == "timestamp" && anchor.is_some() {
                if c.name == "cleared_at" && wait.is_some() {
                    Role::AfterWait { wait: wait.unwrap_or(0) }
                } else {
                    let (median_minutes, null) = after_profile(&c.name);
                    Role::After { median_minutes, null }
                }
            } else if (c.ty == "timestamp" || c.ty == "date") && c.pii.is_empty() {
                Role::InPeriod
            } else if c.ty == "enum" {
                Role::Enum(enum_weights(c))
            } else if c.ty == "bool" && c.name.starts_with("special_interest") {
                Role::SpecialInterest(nationality)
            } else if c.ty == "bool" {
                Role::Bool(bool_share(c))
            } else if c.name.starts_with("ytd_") {
                let base = &c.name["ytd_".len()..];
                match source.columns.iter().position(|o| o.name != c.name && o.name.ends_with(base))
                {
                    Some(other) => Role::YearToDate(other),
                    None => Role::Generic,
                }
            } else if let Some(p) = profiles::profile(&c.name, &c.ty, &c.pii) {
                Role::Profiled(p)
            } else {
                Role::Generic
            };
            let shared = match grouping {
                Grouping::Single | Grouping::Sequence => false,
                Grouping::Crowd => {
                    matches!(
                        role,
                        Role::Id
                            | Role::Anchor
                            | Role::Watermark
                            | Role::AnchorDate
                            | Role::Reference(_)
                            | Role::Link(_)
                            | Role::Extracted
                    ) || matches!(
                        role,
                        Role::Profiled(Profile::FlightId | Profile::Carrier | Profile::Terminal)
                    )
                }
                Grouping::Items | Grouping::PayPeriods => {
                    !matches!(
                        role,
                        Role::Sequence
                            | Role::PayPeriod
                            | Role::PeriodEnd
                            | Role::YearToDate(_)
                            | Role::DeleteMarker
                    ) && (!matches!(c.ty.as_str(), "int" | "decimal" | "bool" | "enum")
                        || matches!(role, Role::Profiled(Profile::OvertimeCapUsd)))
                }
            };
            columns.push(ColumnPlan { role, shared, only_when: None });
        }
        // `drug_type`, `drug_weight_kg` only for `seizure_type = drug`; `currency_usd` only for
        // currency: a nullable column named after one enum value of another column.
        for (i, c) in source.columns.iter().enumerate() {
            if !c.nullable || source.is_key(&c.name) {
                continue;
            }
            for (j, other) in source.columns.iter().enumerate() {
                if i == j || other.ty != "enum" {
                    continue;
                }
                let values = other.values.as_deref().unwrap_or_default();
                if let Some(v) =
                    values.iter().find(|v| c.name.starts_with(&format!("{v}_")) || c.name == **v)
                {
                    columns[i].only_when = Some((j, v.clone()));
                }
            }
        }
        let pay_periods =
            if grouping == Grouping::PayPeriods { pay_periods(period) } else { Vec::new() };
        Ok(SourcePlanner {
            source,
            columns,
            grouping,
            period: *period,
            rate: volume(source),
            members,
            links,
            objects: world.objects.clone(),
            id_prefix: id_prefix(&source.name),
            pay_periods,
            keep_keys: false,
            follows: follows(source, &columns_roles_enum(source), suppliers, world),
        })
    }

    // --- reference lists -------------------------------------------------------------------

    /// One snapshot of a reference list: the catalog's members, or generic ones.
    fn reference_batches(&self, rng: &mut Rng, world: &mut World) -> Vec<Batch> {
        let key = self.source.key.first().cloned().unwrap_or_default();
        let catalog: Option<&Catalog> = profiles::catalog_for(&key);
        let count = catalog.map_or(12, |c| c.rows.len());
        let mut rows = Vec::new();
        let mut weights = Vec::new();
        let extract = self.period.start.date();
        for n in 0..count {
            let entry = catalog.map(|c| c.rows[n]);
            let mut row = Vec::new();
            for (i, c) in self.source.columns.iter().enumerate() {
                let from_catalog = entry
                    .and_then(|(fields, _)| fields.iter().find(|(name, _)| *name == c.name))
                    .map(|(_, v)| *v);
                let value = match from_catalog {
                    Some(v) => Val::Str(v.to_owned()),
                    None if self.source.is_key(&c.name) => {
                        Val::Str(format!("{}{:02}", generic_code(&c.name), n + 1))
                    }
                    None if c.ty == "string" && !c.nullable && c.pii.is_empty() => {
                        Val::Str(format!("{} {}", title_words(&c.name), n + 1))
                    }
                    None => self.value(
                        rng,
                        i,
                        &row,
                        extract.and_time(chrono::NaiveTime::MIN),
                        extract,
                        None,
                    ),
                };
                row.push(value);
            }
            weights.push(entry.map_or(1.0 / (n as f64 + 1.0), |(_, w)| w));
            rows.push(row);
        }
        self.publish_members(&rows, &weights, world);
        self.publish_keys(&rows, world);
        vec![Batch { date: extract, kind: "snapshot", rows, updates: 0, deletions: 0, bad_rows: 0 }]
    }

    /// Every column of a supplier as a member list (weights summed per distinct value), for
    /// the references to it.
    fn publish_members(&self, rows: &[Vec<Val>], weights: &[f64], world: &mut World) {
        let attributes = rows
            .iter()
            .map(|row| {
                self.source
                    .columns
                    .iter()
                    .zip(row)
                    .filter_map(|(c, v)| Some((c.name.clone(), v.text()?)))
                    .collect()
            })
            .collect();
        world.attributes.insert(self.source.name.clone(), attributes);
        for (i, c) in self.source.columns.iter().enumerate() {
            let mut list: Vec<(String, f64)> = Vec::new();
            for (row, w) in rows.iter().zip(weights) {
                let Some(v) = row[i].text() else { continue };
                match list.iter_mut().find(|(x, _)| *x == v) {
                    Some(entry) => entry.1 += w,
                    None => list.push((v, *w)),
                }
            }
            world.members.insert(format!("{}.{}", self.source.name, c.name), list);
        }
    }

    fn publish_keys(&self, rows: &[Vec<Val>], world: &mut World) {
        let Some(first) = self.source.key.first() else { return };
        let Some(i) = self.source.columns.iter().position(|c| &c.name == first) else { return };
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        for row in rows {
            if let Some(v) = row[i].text() {
                if seen.insert(v.clone()) {
                    keys.push(v);
                }
            }
        }
        world.keys.insert(self.source.name.clone(), keys);
    }

    // --- current-state lists ---------------------------------------------------------------

    /// Two full snapshots: the second a day later, with some members changed, some new and
    /// some missing (deleted upstream).
    fn snapshot_batches(&self, rng: &mut Rng, scale: f64, world: &mut World) -> Vec<Batch> {
        let members = ((self.rate * scale).round() as usize).max(20);
        let first_date = (self.period.cutoff - Duration::days(1)).date();
        let second_date = self.period.cutoff.date();
        let mut ids = IdMaker::new(&self.id_prefix);
        let mut groups: Vec<Vec<Vec<Val>>> = Vec::with_capacity(members);
        for _ in 0..members {
            groups.push(self.group(rng, &mut ids, None, first_date));
        }
        let first: Vec<Vec<Val>> = groups.iter().flatten().cloned().collect();
        let mut second = Vec::new();
        let (mut updates, mut deletions) = (0u64, 0u64);
        for group in &groups {
            let x: f64 = rng.random();
            if x < DELETE_SHARE {
                deletions += group.len() as u64;
                continue;
            }
            for row in group {
                let mut row = row.clone();
                self.set_extracted(&mut row, second_date);
                if x < DELETE_SHARE + UPDATE_SHARE {
                    self.mutate(rng, &mut row);
                    updates += 1;
                }
                second.push(row);
            }
        }
        let new = ((members as f64 * NEW_SHARE).ceil() as usize).max(1);
        for _ in 0..new {
            second.extend(self.group(rng, &mut ids, None, second_date));
        }
        self.publish_keys(&second, world);
        vec![
            Batch {
                date: first_date,
                kind: "snapshot",
                rows: first,
                updates: 0,
                deletions: 0,
                bad_rows: 0,
            },
            Batch {
                date: second_date,
                kind: "snapshot",
                rows: second,
                updates,
                deletions,
                bad_rows: 0,
            },
        ]
    }

    fn set_extracted(&self, row: &mut [Val], date: NaiveDate) {
        for (i, c) in self.columns.iter().enumerate() {
            if matches!(c.role, Role::Extracted) {
                row[i] = Val::Date(date);
            }
        }
    }

    // --- events ----------------------------------------------------------------------------

    /// The initial files (chunks of the period before its last day), then the follow-ups.
    fn event_batches(
        &self,
        rng: &mut Rng,
        scale: f64,
        bad_rows: u64,
        world: &mut World,
        sink: &mut dyn FnMut(Batch) -> Result<()>,
    ) -> Result<()> {
        let p = self.period;
        let initial_days = f64::from(p.days - 1);
        let target_rows = (self.rate * scale * initial_days).round().max(20.0);
        let files = ((target_rows / ROWS_PER_FILE).ceil() as i64)
            .clamp(1, i64::from((p.days - 1).div_ceil(30)));
        let chunk = (p.cutoff - p.start) / i32::try_from(files).unwrap_or(1);
        let per_group = self.mean_group_size();
        let mut ids = IdMaker::new(&self.id_prefix);
        let mut sequence = 0i64;
        let mut pool: Vec<Vec<Val>> = Vec::new();
        let pool_share =
            UPDATE_SHARE + if self.source.load.mode == "cdc" { DELETE_SHARE } else { 0.0 };
        let mut all_keys = Vec::new();
        let mut first_row: Option<Vec<Val>> = None;
        for f in 0..files {
            let from = p.start + chunk * i32::try_from(f).unwrap_or(0);
            let to = if f == files - 1 { p.cutoff } else { from + chunk };
            let rows_wanted = target_rows / files as f64;
            let groups = ((rows_wanted / per_group).round() as usize).max(1);
            let rows = self.events(rng, &mut ids, &mut sequence, groups, from, to);
            for row in &rows {
                if rng.random::<f64>() < pool_share {
                    pool.push(row.clone());
                }
            }
            self.collect_keys(&rows, &mut all_keys);
            if first_row.is_none() {
                first_row = rows.first().cloned();
            }
            sink(Batch {
                date: (to - Duration::seconds(1)).date(),
                kind: "initial",
                rows,
                updates: 0,
                deletions: 0,
                bad_rows: 0,
            })?;
        }
        // Follow-up: the last day's events; updates of earlier rows (not for append).
        let last_day_rows = (self.rate * scale).round().max(3.0);
        let groups = ((last_day_rows / per_group).round() as usize).max(1);
        let follow_end = p.end - Duration::hours(1);
        let mut rows = self.events(rng, &mut ids, &mut sequence, groups, p.cutoff, follow_end);
        self.collect_keys(&rows, &mut all_keys);
        let mode = self.source.load.mode.as_str();
        let update_count = if mode == "append" {
            0
        } else {
            ((pool.len() as f64 * UPDATE_SHARE / pool_share).round() as usize).min(pool.len())
        };
        let mut updates = 0;
        for original in pool.iter().take(update_count) {
            let mut row = original.clone();
            self.mutate(rng, &mut row);
            let at = sample_time(rng, p.cutoff, follow_end, false);
            self.set_watermark(&mut row, at);
            rows.push(row);
            updates += 1;
        }
        let mut bad = 0;
        for k in 0..bad_rows {
            let mut extra = self.events(rng, &mut ids, &mut sequence, 1, p.cutoff, follow_end);
            if let (Some(mut row), Some((column, text))) = (extra.pop(), bad_column(self.source, k))
            {
                row[column] = Val::Raw(text.to_owned());
                rows.push(row);
                bad += 1;
            }
        }
        sink(Batch {
            date: p.cutoff.date(),
            kind: "follow-up",
            rows,
            updates,
            deletions: 0,
            bad_rows: bad,
        })?;
        if mode == "cdc" {
            let mut rows = Vec::new();
            for original in pool.iter().skip(update_count) {
                let mut row = original.clone();
                for (i, c) in self.columns.iter().enumerate() {
                    if matches!(c.role, Role::DeleteMarker) {
                        row[i] = Val::Bool(true);
                    }
                }
                rows.push(row);
            }
            if rows.is_empty() {
                if let Some(mut row) = first_row.take() {
                    for (i, c) in self.columns.iter().enumerate() {
                        if matches!(c.role, Role::DeleteMarker) {
                            row[i] = Val::Bool(true);
                        }
                    }
                    rows.push(row);
                }
            }
            let deletions = rows.len() as u64;
            sink(Batch {
                date: p.cutoff.date(),
                kind: "deletions",
                rows,
                updates: 0,
                deletions,
                bad_rows: 0,
            })?;
        }
        world.keys.insert(self.source.name.clone(), all_keys);
        Ok(())
    }

    fn collect_keys(&self, rows: &[Vec<Val>], keys: &mut Vec<String>) {
        if !self.keep_keys {
            return;
        }
        let Some(i) = self.columns.iter().position(|c| matches!(c.role, Role::Id)) else { return };
        let mut last: Option<String> = None;
        for row in rows {
            if let Some(v) = row[i].text() {
                if last.as_deref() != Some(v.as_str()) {
                    keys.push(v.clone());
                    last = Some(v);
                }
            }
        }
    }

    fn mean_group_size(&self) -> f64 {
        match self.grouping {
            Grouping::Single | Grouping::Sequence => 1.0,
            Grouping::Crowd => 110.0,
            Grouping::Items => 1.6,
            Grouping::PayPeriods => self.pay_periods.len().max(1) as f64,
        }
    }

    /// `groups` key groups with event times in `[from, to)`, in time order.
    fn events(
        &self,
        rng: &mut Rng,
        ids: &mut IdMaker,
        sequence: &mut i64,
        groups: usize,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Vec<Vec<Val>> {
        let mut anchors: Vec<NaiveDateTime> =
            (0..groups).map(|_| sample_time(rng, from, to, true)).collect();
        anchors.sort();
        let mut rows = Vec::new();
        for anchor in anchors {
            let group = self.group_at(rng, ids, anchor, to, sequence);
            rows.extend(group);
        }
        rows
    }

    /// One key group (one row unless the key is composite).
    fn group(
        &self,
        rng: &mut Rng,
        ids: &mut IdMaker,
        anchor: Option<NaiveDateTime>,
        extract: NaiveDate,
    ) -> Vec<Vec<Val>> {
        let mut sequence = 0;
        let at = anchor.unwrap_or_else(|| extract.and_time(chrono::NaiveTime::MIN));
        self.build_group(
            rng,
            ids,
            at,
            extract.and_hms_opt(23, 59, 59).unwrap_or(at),
            &mut sequence,
            extract,
        )
    }

    fn group_at(
        &self,
        rng: &mut Rng,
        ids: &mut IdMaker,
        anchor: NaiveDateTime,
        chunk_end: NaiveDateTime,
        sequence: &mut i64,
    ) -> Vec<Vec<Val>> {
        self.build_group(rng, ids, anchor, chunk_end, sequence, anchor.date())
    }

    fn build_group(
        &self,
        rng: &mut Rng,
        ids: &mut IdMaker,
        anchor: NaiveDateTime,
        chunk_end: NaiveDateTime,
        sequence: &mut i64,
        extract: NaiveDate,
    ) -> Vec<Vec<Val>> {
        let size = match self.grouping {
            Grouping::Single | Grouping::Sequence => 1,
            Grouping::Crowd => {
                (profiles::lognormal(rng, 110.0, 0.5).round() as usize).clamp(5, 400)
            }
            Grouping::Items => {
                let mut n = 1;
                while n < 6 && rng.random::<f64>() < 0.35 {
                    n += 1;
                }
                n
            }
            Grouping::PayPeriods => {
                self.pay_periods.iter().filter(|(_, end)| *end <= extract).count().max(1)
            }
        };
        let mut rows: Vec<Vec<Val>> = Vec::with_capacity(size);
        let id = ids.next(self, rng, anchor);
        for member in 0..size {
            let mut row: Vec<Val> = Vec::with_capacity(self.columns.len());
            for (i, plan) in self.columns.iter().enumerate() {
                if member > 0 && plan.shared {
                    let v = rows[0][i].clone();
                    row.push(v);
                    continue;
                }
                let value = match &plan.role {
                    Role::Id => id.clone(),
                    Role::Sequence => {
                        if self.grouping == Grouping::Sequence {
                            *sequence += 1;
                            Val::Int(*sequence)
                        } else {
                            Val::Int(member as i64 + 1)
                        }
                    }
                    Role::PayPeriod => self
                        .pay_periods
                        .get(member)
                        .map_or(Val::Str(format!("PP-{member}")), |(label, _)| {
                            Val::Str(label.clone())
                        }),
                    Role::PeriodEnd => self
                        .pay_periods
                        .get(member)
                        .map_or(Val::Date(extract), |(_, end)| Val::Date(*end)),
                    Role::YearToDate(other) => {
                        // The running total within the fiscal year of the row's pay period.
                        let year_of = |m: usize| {
                            self.pay_periods.get(m).and_then(|(l, _)| l.split('-').next())
                        };
                        let mut total: f64 = rows
                            .iter()
                            .enumerate()
                            .filter(|(m, _)| year_of(*m) == year_of(member))
                            .map(|(_, r)| decimal_value(&r[*other]))
                            .sum();
                        total += row.get(*other).map_or(0.0, decimal_value);
                        let c = &self.source.columns[i];
                        fit_decimal(total, c.precision.unwrap_or(18), c.scale.unwrap_or(2))
                    }
                    _ => self.value(rng, i, &row, anchor, extract, Some(chunk_end)),
                };
                row.push(value);
            }
            // Values computed from later columns of the row (`cleared_at` from `wait_minutes`).
            for (i, plan) in self.columns.iter().enumerate() {
                if matches!(plan.role, Role::AfterWait { .. }) {
                    let v = self.value(rng, i, &row, anchor, extract, Some(chunk_end));
                    row[i] = v;
                }
            }
            self.apply_follows(rng, &mut row);
            self.apply_conditions(&mut row);
            self.fill_required(rng, &mut row);
            rows.push(row);
        }
        rows
    }

    /// A required column never stays empty: its default, else a generic value.
    fn fill_required(&self, rng: &mut Rng, row: &mut [Val]) {
        for (i, c) in self.source.columns.iter().enumerate() {
            if c.nullable || row[i] != Val::Null {
                continue;
            }
            row[i] = match c.default_text() {
                Some(d) => Val::Raw(d),
                None => self.generic(rng, c),
            };
        }
    }

    fn apply_follows(&self, rng: &mut Rng, row: &mut [Val]) {
        for follow in &self.follows {
            let Some(member) = row[follow.reference].as_str() else { continue };
            let Some(allowed) = follow.allowed.get(member) else { continue };
            if row[follow.column].as_str().is_some_and(|v| allowed.iter().any(|a| a == v)) {
                continue;
            }
            let Role::Enum(weights) = &self.columns[follow.column].role else { continue };
            let choices: Vec<(String, f64)> =
                weights.iter().filter(|(v, _)| allowed.contains(v)).cloned().collect();
            if !choices.is_empty() {
                row[follow.column] = Val::Str(profiles::weighted(rng, &choices).clone());
            }
        }
    }

    fn apply_conditions(&self, row: &mut [Val]) {
        for (i, plan) in self.columns.iter().enumerate() {
            if let Some((j, value)) = &plan.only_when {
                if row[*j].as_str() != Some(value.as_str()) {
                    row[i] = Val::Null;
                }
            }
        }
    }

    /// A value for column `i` of a row whose earlier columns are `row`.
    fn value(
        &self,
        rng: &mut Rng,
        i: usize,
        row: &[Val],
        anchor: NaiveDateTime,
        extract: NaiveDate,
        chunk_end: Option<NaiveDateTime>,
    ) -> Val {
        let c = &self.source.columns[i];
        let p = self.period;
        let null = |share: f64, rng: &mut Rng| c.nullable && rng.random::<f64>() < share;
        match &self.columns[i].role {
            Role::Anchor => typed_time(c, anchor),
            Role::Watermark => {
                let limit = chunk_end.unwrap_or(p.end) - Duration::seconds(1);
                let lag = Duration::minutes(profiles::lognormal(rng, 20.0, 1.0).min(600.0) as i64);
                typed_time(c, (anchor + lag).min(limit).max(anchor))
            }
            Role::DeleteMarker => Val::Bool(false),
            Role::Extracted => Val::Date(extract),
            Role::AnchorDate => Val::Date(anchor.date()),
            Role::After { median_minutes, null: share } => {
                if null(*share, rng) {
                    return Val::Null;
                }
                let minutes = profiles::lognormal(rng, *median_minutes, 0.9).max(1.0);
                let at = anchor + Duration::seconds((minutes * 60.0) as i64);
                if at >= p.end {
                    return if c.nullable {
                        Val::Null
                    } else {
                        typed_time(c, p.end - Duration::minutes(1))
                    };
                }
                typed_time(c, at)
            }
            Role::AfterWait { wait } => match row.get(*wait) {
                Some(Val::Int(m)) => {
                    let at = anchor + Duration::minutes(*m);
                    if at < p.end {
                        typed_time(c, at)
                    } else if c.nullable {
                        Val::Null
                    } else {
                        typed_time(c, p.end - Duration::minutes(1))
                    }
                }
                _ if c.nullable => Val::Null,
                _ => typed_time(c, anchor),
            },
            Role::InPeriod => {
                if null(0.1, rng) {
                    return Val::Null;
                }
                let until = extract
                    .and_hms_opt(23, 59, 59)
                    .unwrap_or(p.end)
                    .min(p.end - Duration::seconds(1));
                typed_time(
                    c,
                    sample_time(rng, p.start, until.max(p.start + Duration::seconds(1)), false),
                )
            }
            Role::Reference(name) => {
                if null(0.05, rng) {
                    return Val::Null;
                }
                match self.members.get(name) {
                    Some((values, weights)) => {
                        Val::Str(values[weighted_index(rng, weights)].clone())
                    }
                    None => Val::Null,
                }
            }
            Role::Link(name) => match self.links.get(name) {
                Some(keys) if !keys.is_empty() => {
                    Val::Str(keys[rng.random_range(0..keys.len())].clone())
                }
                _ => self.generic(rng, c),
            },
            Role::Enum(weights) => {
                if null(0.05, rng) {
                    return Val::Null;
                }
                Val::Str(profiles::weighted(rng, weights).clone())
            }
            Role::Bool(share) => Val::Bool(rng.random::<f64>() < *share),
            Role::SpecialInterest(nationality) => {
                let v = nationality.and_then(|n| row.get(n)).and_then(Val::as_str);
                Val::Bool(v.is_some_and(|v| profiles::SPECIAL_INTEREST.contains(&v)))
            }
            Role::Profiled(profile) => {
                if null(profile.null_rate(), rng) {
                    return Val::Null;
                }
                self.profiled(rng, *profile, c, row, anchor)
            }
            Role::Generic
            | Role::YearToDate(_)
            | Role::Id
            | Role::Constant(_)
            | Role::Sequence
            | Role::PayPeriod
            | Role::PeriodEnd => {
                if let Role::Constant(v) = &self.columns[i].role {
                    return Val::Str(v.clone());
                }
                if null(0.05, rng) {
                    return Val::Null;
                }
                self.generic(rng, c)
            }
        }
    }

    fn generic(&self, rng: &mut Rng, c: &ColumnSpec) -> Val {
        match c.ty.as_str() {
            "int" => Val::Int(rng.random_range(0..100)),
            "decimal" => {
                let (p, s) = (c.precision.unwrap_or(18), c.scale.unwrap_or(0));
                let top = 10f64.powi(i32::from(p.saturating_sub(s))).min(1000.0);
                fit_decimal(rng.random::<f64>() * top, p, s)
            }
            "bool" => Val::Bool(rng.random::<f64>() < 0.1),
            "date" => Val::Date(sample_time(rng, self.period.start, self.period.end, false).date()),
            "timestamp" => Val::Ts(sample_time(rng, self.period.start, self.period.end, false)),
            "enum" => match c.values.as_deref() {
                Some(values) if !values.is_empty() => {
                    Val::Str(values[rng.random_range(0..values.len())].clone())
                }
                _ => Val::Null,
            },
            _ => {
                Val::Str(format!("{}-{:04}", c.name.replace('_', "-"), rng.random_range(1..10_000)))
            }
        }
    }

    fn profiled(
        &self,
        rng: &mut Rng,
        profile: Profile,
        c: &ColumnSpec,
        row: &[Val],
        anchor: NaiveDateTime,
    ) -> Val {
        use Profile::*;
        let (p, s) = (c.precision.unwrap_or(18), c.scale.unwrap_or(2));
        let dec = |v: f64| fit_decimal(v, p, s);
        let int = |v: f64, lo: i64, hi: i64| Val::Int((v.round() as i64).clamp(lo, hi));
        let str_or = |v: String| if c.ty == "string" { Val::Str(v) } else { Val::Null };
        match profile {
            PersonName => str_or(profiles::person_name(rng)),
            NameList => {
                let n = rng.random_range(1..4);
                str_or((0..n).map(|_| profiles::person_name(rng)).collect::<Vec<_>>().join("; "))
            }
            Address => str_or(profiles::address(rng)),
            Phone => str_or(profiles::phone(rng)),
            Email => str_or(profiles::email(rng)),
            Document(kind) => str_or(profiles::fake_document(rng, kind)),
            EmployeeId => str_or(format!("FAKE-EMP-{:07}", rng.random_range(1..100_000u32))),
            BirthDate => {
                let year =
                    (1978.0 + profiles::normal(rng) * 15.0).round().clamp(1930.0, 2020.0) as i32;
                let day = rng.random_range(1..=365u32);
                let date = NaiveDate::from_yo_opt(year, day).unwrap_or_default();
                if c.ty == "date" {
                    Val::Date(date)
                } else {
                    str_or(date.to_string())
                }
            }
            Gender => str_or((*profiles::weighted(rng, profiles::words(Gender))).to_owned()),
            Nationality => {
                let list = if self.members.keys().any(|k| {
                    self.source
                        .column(k)
                        .and_then(|c| c.references.as_ref())
                        .is_some_and(|r| r.dimension == "usbp")
                }) {
                    profiles::APPREHENSION_COUNTRIES
                } else {
                    profiles::COUNTRIES
                };
                str_or((*profiles::weighted(rng, list)).to_owned())
            }
            GpsPosition => str_or(format!(
                "{:.4},{:.4}",
                rng.random_range(25.9..32.7f64),
                rng.random_range(-117.1..-97.2f64)
            )),
            LicensePlate => str_or(format!("FAKE{:04}", rng.random_range(0..10_000))),
            PnrLocator => {
                const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                str_or(
                    (0..6).map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char).collect(),
                )
            }
            Seat => str_or(format!(
                "{}{}",
                rng.random_range(1..46),
                ["A", "B", "C", "D", "E", "F", "J", "K"][rng.random_range(0..8)]
            )),
            FreeText => str_or(profiles::free_text(rng)),
            AuditParameters => str_or(format!(
                "{{\"fiscal_year\": {}, \"note\": \"synthetic\"}}",
                anchor.year() + i32::from(anchor.month() >= 10)
            )),
            FlightId => {
                let carrier = profiles::weighted(rng, profiles::CARRIERS);
                str_or(format!(
                    "{carrier}{}-{}",
                    rng.random_range(1..3000),
                    anchor.format("%Y%m%d")
                ))
            }
            Carrier => str_or((*profiles::weighted(rng, profiles::CARRIERS)).to_owned()),
            Terminal => str_or((*profiles::weighted(rng, profiles::words(Terminal))).to_owned()),
            CountryOfOrigin => {
                str_or((*profiles::weighted(rng, profiles::ORIGIN_COUNTRIES)).to_owned())
            }
            ForeignPort => str_or((*profiles::weighted(rng, profiles::FOREIGN_PORTS)).to_owned()),
            HtsHeading => str_or((*profiles::weighted(rng, profiles::HTS_HEADINGS)).to_owned()),
            ClassOfAdmission | ResultCode | Disposition | AlienType | IncidentType
            | MoirCategory | EducationLevel | DeferralReason | AuditAction => {
                str_or((*profiles::weighted(rng, profiles::words(profile))).to_owned())
            }
            AuditObject => match self.objects.len() {
                0 => str_or("emis_edw".to_owned()),
                n => str_or(self.objects[rng.random_range(0..n)].clone()),
            },
            PayPeriod => str_or(format!("{}-{:02}", anchor.year(), rng.random_range(1..27))),
            WaitMinutes => {
                let busy = profiles::HOURLY_TRAFFIC[anchor.hour() as usize];
                // Passengers of one flight queue together: a flight that lands into a backlog
                // (one in twenty) waits about four times as long, one in seven about twice.
                let flight = row
                    .iter()
                    .zip(&self.source.columns)
                    .find(|(_, c)| c.name == "flight_id")
                    .and_then(|(v, _)| v.as_str());
                let backlog = match flight.map(profiles::unit_hash) {
                    Some(u) if u < 0.05 => 4.0,
                    Some(u) if u < 0.2 => 2.0,
                    _ => 1.0,
                };
                int(profiles::lognormal(rng, (8.0 * busy + 4.0) * backlog, 0.7), 0, 300)
            }
            DurationMinutes => int(profiles::lognormal(rng, 25.0, 0.8), 1, 720),
            ProcessingSeconds => int(profiles::lognormal(rng, 45.0, 0.6), 5, 1800),
            DrugWeightKg => {
                let drug = row
                    .iter()
                    .zip(&self.source.columns)
                    .find(|(_, c)| c.name.ends_with("drug_type"))
                    .and_then(|(v, _)| v.as_str());
                let median = match drug {
                    Some("marijuana") => 40.0,
                    Some("cocaine") => 6.0,
                    Some("methamphetamine") => 4.0,
                    Some("heroin") => 1.2,
                    Some("fentanyl") => 0.6,
                    _ => 1.5,
                };
                dec(profiles::lognormal(rng, median, 1.2).max(0.001))
            }
            CurrencyUsd => dec(profiles::lognormal(rng, 15_000.0, 1.1)),
            EnteredValueUsd => dec(profiles::lognormal(rng, 18_000.0, 1.5)),
            DutyUsd => {
                let entered = row
                    .iter()
                    .zip(&self.source.columns)
                    .find(|(_, c)| c.name.starts_with("entered_value"))
                    .and_then(|(v, _)| match v {
                        Val::Dec { units, scale } => {
                            Some(*units as f64 / 10f64.powi(i32::from(*scale)))
                        }
                        _ => None,
                    });
                let rate = [0.0, 0.0, 0.025, 0.05, 0.08, 0.12, 0.25][rng.random_range(0..7)];
                dec(entered.unwrap_or(10_000.0) * rate)
            }
            OvertimeUsd => dec(if rng.random::<f64>() < 0.25 {
                0.0
            } else {
                profiles::lognormal(rng, 900.0, 0.9)
            }),
            PremiumPayUsd => dec(if rng.random::<f64>() < 0.4 {
                0.0
            } else {
                profiles::lognormal(rng, 250.0, 0.8)
            }),
            OvertimeHours => dec(if rng.random::<f64>() < 0.25 {
                0.0
            } else {
                profiles::lognormal(rng, 16.0, 0.7).min(120.0)
            }),
            LeaveHours => dec(if rng.random::<f64>() < 0.7 {
                0.0
            } else {
                [4.0, 8.0, 8.0, 16.0, 24.0, 40.0, 80.0][rng.random_range(0..7)]
            }),
            OvertimeCapUsd => dec([45_000.0, 45_000.0, 50_000.0, 55_000.0][rng.random_range(0..4)]),
            FlightHours => dec(profiles::lognormal(rng, 2.5, 0.5).min(14.0)),
            SmallCount => {
                let mut n = 0;
                while n < 20 && rng.random::<f64>() < 0.4 {
                    n += 1;
                }
                Val::Int(n)
            }
            Occupants => Val::Int(*profiles::weighted(
                rng,
                &[(1i64, 50.0), (2, 25.0), (3, 12.0), (4, 8.0), (5, 5.0)],
            )),
            Level => Val::Int(*profiles::weighted(
                rng,
                &[(1i64, 40.0), (2, 30.0), (3, 18.0), (4, 8.0), (5, 4.0)],
            )),
            Code(prefix) => {
                let range = match prefix {
                    "UDR" => 200,
                    "CRS" => 80,
                    "SNS" => 2_000,
                    "SCH" => 500,
                    "ORG" => 60,
                    "AMO" => 30,
                    "RVSS" => 800,
                    _ => 100_000_000,
                };
                str_or(format!("{prefix}-{:06}", rng.random_range(1..=range)))
            }
        }
    }

    /// Changes one or two of a row's mutable values (statuses, amounts, later timestamps).
    fn mutate(&self, rng: &mut Rng, row: &mut [Val]) {
        let mutable: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                matches!(
                    c.role,
                    Role::Enum(_)
                        | Role::Bool(_)
                        | Role::After { .. }
                        | Role::InPeriod
                        | Role::Profiled(_)
                )
            })
            .filter(|(i, _)| self.source.columns[*i].pii.is_empty())
            .map(|(i, _)| i)
            .collect();
        if mutable.is_empty() {
            return;
        }
        let anchor = self
            .columns
            .iter()
            .position(|c| matches!(c.role, Role::Anchor))
            .and_then(|i| row[i].as_ts())
            .unwrap_or(self.period.start);
        let extract = self.period.cutoff.date();
        for _ in 0..rng.random_range(1..=2usize.min(mutable.len())) {
            let i = mutable[rng.random_range(0..mutable.len())];
            let before = row[i].clone();
            for _ in 0..4 {
                let v = self.value(rng, i, row, anchor, extract, None);
                row[i] = v;
                if row[i] != before {
                    break;
                }
            }
        }
        self.apply_follows(rng, row);
        self.apply_conditions(row);
    }

    fn set_watermark(&self, row: &mut [Val], at: NaiveDateTime) {
        for (i, c) in self.columns.iter().enumerate() {
            if matches!(c.role, Role::Watermark) {
                row[i] = typed_time(&self.source.columns[i], at);
            }
        }
    }
}

/// The enum columns (not keys) of a source, by index.
fn columns_roles_enum(source: &SourceSpec) -> Vec<usize> {
    source
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.ty == "enum"
                && !source.is_key(&c.name)
                && source.load.delete_marker.as_deref() != Some(c.name.as_str())
        })
        .map(|(i, _)| i)
        .collect()
}

/// The [`Follow`]s of a source: for each enum column, the first reference column whose
/// members have an attribute sharing values with the enum.
fn follows(
    source: &SourceSpec,
    enums: &[usize],
    suppliers: &BTreeMap<Reference, Supplier>,
    world: &World,
) -> Vec<Follow> {
    let mut out = Vec::new();
    for &e in enums {
        let values = source.columns[e].values.clone().unwrap_or_default();
        'references: for (r, c) in source.columns.iter().enumerate() {
            let Some(supplier) = c.references.as_ref().and_then(|x| suppliers.get(x)) else {
                continue;
            };
            let Some(members) = world.attributes.get(&supplier.source) else { continue };
            let Some(first) = members.first() else { continue };
            for attribute in first.keys().filter(|a| **a != supplier.column) {
                let shared: BTreeSet<&String> = members
                    .iter()
                    .filter_map(|m| m.get(attribute))
                    .filter(|v| values.contains(v))
                    .collect();
                if shared.is_empty() {
                    continue;
                }
                let rest: Vec<String> =
                    values.iter().filter(|v| !shared.contains(v)).cloned().collect();
                let mut allowed = BTreeMap::new();
                for m in members {
                    let (Some(key), Some(v)) = (m.get(&supplier.column), m.get(attribute)) else {
                        continue;
                    };
                    let choice = if values.contains(v) { vec![v.clone()] } else { rest.clone() };
                    if !choice.is_empty() {
                        allowed.insert(key.clone(), choice);
                    }
                }
                out.push(Follow { column: e, reference: r, allowed });
                break 'references;
            }
        }
    }
    out
}

fn typed_time(c: &ColumnSpec, at: NaiveDateTime) -> Val {
    if c.ty == "date" {
        Val::Date(at.date())
    } else {
        Val::Ts(at)
    }
}

/// The column an event's time is: the retention `by` column, else the first required
/// timestamp; `None` for sources without one.
fn anchor_column(source: &SourceSpec) -> Option<usize> {
    if source.load.mode == "snapshot" {
        return None;
    }
    let by = source.retention.as_ref().and_then(|r| r.by.as_deref());
    let watermark = source.load.column.as_deref();
    by.and_then(|b| {
        source.columns.iter().position(|c| c.name == b && (c.ty == "timestamp" || c.ty == "date"))
    })
    .filter(|i| Some(source.columns[*i].name.as_str()) != watermark)
    .or_else(|| {
        source.columns.iter().position(|c| {
            c.ty == "timestamp"
                && !c.nullable
                && Some(c.name.as_str()) != watermark
                && !source.is_key(&c.name)
        })
    })
}

/// How long after the event a later timestamp comes (median minutes) and how often it is
/// still empty, by name.
fn after_profile(name: &str) -> (f64, f64) {
    match () {
        _ if name.starts_with("approved") => (360.0, 0.1),
        _ if name.starts_with("closed") => (180.0, 0.1),
        _ if name.starts_with("cleared") => (20.0, 0.05),
        _ if name.starts_with("scheduled") => (480.0, 0.0),
        _ if name.starts_with("first_entry") => (43_200.0, 0.3),
        _ => (120.0, 0.1),
    }
}

fn enum_weights(c: &ColumnSpec) -> Vec<(String, f64)> {
    let values = c.values.clone().unwrap_or_default();
    if let Some((_, table)) = ENUM_WEIGHTS.iter().find(|(n, _)| *n == c.name) {
        let listed: Vec<(String, f64)> = values
            .iter()
            .map(|v| (v.clone(), table.iter().find(|(x, _)| x == v).map_or(1.0, |(_, w)| *w)))
            .collect();
        return listed;
    }
    let default = c.default_text();
    let n = values.len().max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let zipf = 1.0 / ((i + 1) as f64).powf(1.3);
            let w = if default.as_deref() == Some(v.as_str()) { 0.7 * n } else { zipf };
            (v.clone(), w)
        })
        .collect()
}

fn bool_share(c: &ColumnSpec) -> f64 {
    if let Some((_, share)) = BOOL_SHARES.iter().find(|(w, _)| c.name.contains(w)) {
        return *share;
    }
    match c.default.as_ref() {
        Some(serde_json::Value::Bool(true)) => 0.9,
        _ => 0.1,
    }
}

fn link_target(spec: &Spec, source: &SourceSpec, c: &ColumnSpec, world: &World) -> Option<String> {
    if c.ty != "string" || c.references.is_some() {
        return None;
    }
    let target =
        spec.sources.iter().find(|t| t.name != source.name && t.key.first() == Some(&c.name))?;
    let keys = world.keys.get(&target.name)?;
    (!keys.is_empty()).then(|| target.name.clone())
}

/// `acs_entries` → `ACSENT`: a readable identifier prefix from the source name.
fn id_prefix(name: &str) -> String {
    let parts: Vec<&str> = name.split('_').filter(|p| !p.is_empty()).collect();
    let mut prefix: String = match parts.len() {
        0 => "ID".to_owned(),
        1 => parts[0].chars().take(6).collect(),
        _ => parts.iter().map(|p| p.chars().take(3).collect::<String>()).collect(),
    };
    prefix.make_ascii_uppercase();
    prefix
}

fn generic_code(column: &str) -> String {
    let base = column.trim_end_matches("_code").trim_end_matches("_id");
    base.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(4)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn title_words(column: &str) -> String {
    column
        .trim_end_matches("_name")
        .split('_')
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|f| f.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Biweekly pay periods ending in the period, labelled `<fiscal year>-<nn>`.
fn pay_periods(period: &Period) -> Vec<(String, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = period.start.date();
    let mut index_in_year = 0;
    let mut year = fiscal_year(start);
    loop {
        let end = start + Duration::days(13);
        if end >= period.end.date() {
            break;
        }
        if fiscal_year(end) != year {
            year = fiscal_year(end);
            index_in_year = 0;
        }
        index_in_year += 1;
        out.push((format!("{year}-{index_in_year:02}"), end));
        start = end + Duration::days(1);
    }
    out
}

fn fiscal_year(date: NaiveDate) -> i32 {
    date.year() + i32::from(date.month() >= 10)
}

/// Makes the key groups' identifiers: unique by construction (a counter), flight numbers
/// unique per day.
#[derive(Debug)]
struct IdMaker {
    prefix: String,
    next: u64,
    seen: HashSet<String>,
}

impl IdMaker {
    fn new(prefix: &str) -> Self {
        IdMaker { prefix: prefix.to_owned(), next: 0, seen: HashSet::new() }
    }

    fn next(&mut self, plan: &SourcePlanner<'_>, rng: &mut Rng, anchor: NaiveDateTime) -> Val {
        self.next += 1;
        let Some(i) = plan.columns.iter().position(|c| matches!(c.role, Role::Id)) else {
            return Val::Null;
        };
        let c = &plan.source.columns[i];
        match (c.ty.as_str(), profiles::profile(&c.name, &c.ty, &c.pii)) {
            ("int", _) => Val::Int(self.next as i64),
            (_, Some(Profile::FlightId)) => loop {
                let carrier = profiles::weighted(rng, profiles::CARRIERS);
                let id =
                    format!("{carrier}{}-{}", rng.random_range(1..10_000), anchor.format("%Y%m%d"));
                if self.seen.insert(id.clone()) {
                    return Val::Str(id);
                }
            },
            (_, Some(Profile::EmployeeId)) => Val::Str(format!("FAKE-EMP-{:07}", self.next)),
            _ => Val::Str(format!("{}-{:09}", self.prefix, self.next)),
        }
    }
}

fn decimal_value(v: &Val) -> f64 {
    match v {
        Val::Dec { units, scale } => *units as f64 / 10f64.powi(i32::from(*scale)),
        Val::Int(n) => *n as f64,
        _ => 0.0,
    }
}

fn fit_decimal(v: f64, precision: u8, scale: u8) -> Val {
    let factor = 10f64.powi(i32::from(scale));
    let limit = 10f64.powi(i32::from(precision.min(18))) - 1.0;
    let units = (v * factor).round().clamp(-limit, limit);
    Val::Dec { units: units as i64, scale }
}

fn weighted_index(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A time in `[from, to)`, following the daily and weekly traffic curves when `traffic`.
fn sample_time(
    rng: &mut Rng,
    from: NaiveDateTime,
    to: NaiveDateTime,
    traffic: bool,
) -> NaiveDateTime {
    let span = (to - from).num_seconds().max(1);
    let peak = 2.0 * 1.2;
    for _ in 0..64 {
        let at = from + Duration::seconds(rng.random_range(0..span));
        if !traffic {
            return at;
        }
        let weight = profiles::HOURLY_TRAFFIC[at.hour() as usize]
            * profiles::WEEKDAY_TRAFFIC[at.weekday().num_days_from_monday() as usize];
        if rng.random::<f64>() * peak < weight {
            return at;
        }
    }
    from + Duration::seconds(rng.random_range(0..span))
}

/// The landing patterns: file names for a source, checked against every other pattern.
struct Patterns {
    globs: Vec<(String, globset::GlobMatcher)>,
}

impl Patterns {
    fn new(spec: &Spec) -> Result<Self> {
        let mut globs = Vec::new();
        for s in &spec.sources {
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
    fn file_name(&self, source: &SourceSpec, date: NaiveDate, seq: usize) -> Result<String> {
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
