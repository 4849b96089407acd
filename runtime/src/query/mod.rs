//! `tally query`: a metric, a report, the rows behind a metric, or an ad hoc `SELECT`, **as a
//! given user may see it**.
//!
//! | module        | what                                                              |
//! |---------------|-------------------------------------------------------------------|
//! | [`catalog`]   | the parts of `plan.json` queries read                             |
//! | [`viewer`]    | the user: roles, scopes, privileges; refusing lapsed accounts     |
//! | [`sql`]       | the read-only `SELECT`s over plan relations, values as literals   |
//! | [`suppress`]  | small-cell and complementary suppression                          |
//! | [`adhoc`]     | checking and rewriting ad hoc SQL                                 |
//! | [`output`]    | table, CSV and JSON                                               |
//!
//! What a user may see is decided here and nowhere else, from the policy tables and the plan:
//!
//! - **Grants.** A metric is readable through a role that grants a mart publishing it (in that
//!   mart's table), the metric itself, or a report showing it (in every table that publishes
//!   it). A report is readable through a role that grants it, or that reads all its metrics in
//!   its table.
//! - **One role per query.** Among the user's roles that may read what is asked (and allow
//!   drill-down or ad hoc, when asked for), the widest (national before bound), then the first
//!   by name; its scope and `min_cell_size` apply.
//! - **Scope.** A bound role (`geography.region = user.region`) reads only rows cut by that
//!   level whose member is the user's stored attribute: the runtime adds the condition and the
//!   level to the cut asked for, so a regional user's total is their region's row, never the
//!   nation's. The value comes from `policy_user`, never from the
//!   command line.
//! - **Which table.** `--mart` names it; otherwise, for the chosen role, the first table it
//!   reads the metric in that has every column asked for: marts by name, then the metric's
//!   aggregate table. Only the columns the metric is cut by there (`metric_columns`) count,
//!   for `--by`, `--where`, the scope (`R0408` when the metric is not placed by the scope's
//!   level) and the suggestions of a refusal. The answer names the mart.
//! - **Personal data.** What may be grouped by, filtered on or shown is the compiler's
//!   decision per source column (`plan.json` `sources[].columns[].access`), applied as is.
//! - **Drill-down.** Only through a mart the role is granted that publishes the metric and
//!   declares a `drill` of its source; only that declaration's columns are shown.
//! - **Suppression.** See [`suppress`]: computed over every cell of the scope the table stores
//!   for the periods asked for, then the result is cut to the rows asked for.

pub mod adhoc;
pub mod catalog;
pub mod output;
pub mod sql;
pub mod suppress;
pub mod viewer;

use crate::backend::Backend;
use crate::error::{codes, Error, Result};
use crate::params::Params;
use crate::value::{decimal_text, Value};
use catalog::{Catalog, Column, Table};
use chrono::NaiveDateTime;
use serde_json::json;
use sql::{Condition, From, Literal, Select};
use std::collections::{BTreeMap, BTreeSet};
use suppress::Status;
use tally_contract::period::compare_shift;
use tally_contract::plan::CompareSpan;
use viewer::{Role, Scope, Viewer};

/// Rows a drill-down returns unless `--limit` says otherwise.
pub const DEFAULT_DRILL_LIMIT: u64 = 1000;
/// Rows an ad hoc query returns at most unless `--limit` says otherwise.
pub const DEFAULT_SQL_LIMIT: u64 = 10_000;

/// What is asked.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Metric(String),
    Report(String),
    /// The transaction rows behind a metric.
    Drill(String),
    /// An ad hoc `SELECT`.
    Sql(String),
}

/// One `tally query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The user the query runs as (`--as`).
    pub user: String,
    pub what: What,
    /// `--by`: mart dimensions (`location.port`, `seizures.kind`, `time.month`).
    pub by: Vec<String>,
    /// `--where DIM=VALUE`: only rows whose member of `DIM` is `VALUE`.
    pub filters: Vec<(String, String)>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub grain: Option<String>,
    /// `--mart`: the mart whose table answers (or, with `--drill`, whose declared drill-down
    /// lists the rows); `None`: the documented pick (see [`metric_answer`]).
    pub mart: Option<String>,
    /// Whether subtotals and the total within the scope come with the rows asked for.
    pub totals: bool,
    pub limit: Option<u64>,
    /// When the query runs: account lapse, audit time.
    pub now: NaiveDateTime,
}

impl Request {
    pub fn new(user: &str, what: What, now: NaiveDateTime) -> Request {
        Request {
            user: user.to_string(),
            what,
            by: Vec::new(),
            filters: Vec::new(),
            from: None,
            to: None,
            grain: None,
            mart: None,
            totals: true,
            limit: None,
            now,
        }
    }

    /// The object audited: the metric, report, or `sql`.
    pub fn object(&self) -> String {
        match &self.what {
            What::Metric(m) | What::Drill(m) => m.clone(),
            What::Report(r) => r.clone(),
            What::Sql(_) => "sql".to_string(),
        }
    }

    /// The action audited: `query.metric`, `query.report`, `query.drill` (rows behind a
    /// metric) or `query.sql` (ad hoc SQL).
    pub fn action(&self) -> &'static str {
        match &self.what {
            What::Metric(_) => "query.metric",
            What::Report(_) => "query.report",
            What::Drill(_) => "query.drill",
            What::Sql(_) => "query.sql",
        }
    }

    /// The arguments, as audited.
    pub fn parameters(&self) -> serde_json::Value {
        let time = |t: &Option<NaiveDateTime>| t.map(crate::value::timestamp_text);
        let (kind, text) = match &self.what {
            What::Metric(m) => ("metric", m),
            What::Report(r) => ("report", r),
            What::Drill(m) => ("drill", m),
            What::Sql(s) => ("sql", s),
        };
        json!({
            "kind": kind,
            "asked": text,
            "by": self.by,
            "where": self.filters.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "from": time(&self.from),
            "to": time(&self.to),
            "grain": self.grain,
            "mart": self.mart,
            "totals": self.totals,
            "limit": self.limit,
        })
    }
}

/// One cell of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Value(Value),
    /// Hidden by suppression.
    Suppressed,
    /// A dimension column the row is not cut by: the row is a total over it.
    All,
}

/// One row of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Out>,
    /// For metric and report rows: the dimension columns the row is cut by (`levels`).
    pub levels: Option<String>,
    /// For metric and report rows: whether its value is hidden, and why.
    pub status: Option<Status>,
}

/// What a query returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `metric`, `report`, `drill` or `sql`.
    pub kind: &'static str,
    pub object: String,
    pub title: Option<String>,
    pub user: String,
    pub role: String,
    /// The scope the rows are restricted to, for people (`national`, `location.port = '0901'`).
    pub scope: String,
    /// The mart that answered: whose table the cells come from, or whose declared drill-down
    /// lists the rows; `None` for a metric's own aggregate table and for ad hoc SQL.
    pub mart: Option<String>,
    pub table: Option<String>,
    pub grain: Option<String>,
    pub min_cell_size: Option<i64>,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// The titles of the source systems the numbers come from.
    pub sources: Vec<String>,
    /// For metrics whose values depend on the clock (`now()`, `age(...)`): the instant they
    /// are counted from, their last refresh (`metric_refresh.as_of`); `None` otherwise.
    pub as_of: Option<String>,
}

impl Answer {
    pub fn suppressed(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == Some(status)).count()
    }
}

/// Runs `request` against `db` with the plan of `catalog`, audits it (a query or a refusal),
/// and marks the user active when it succeeds.
pub fn run(db: &mut dyn Backend, catalog: &Catalog, request: &Request) -> Result<Answer> {
    let result = viewer::authorize(db, catalog, &request.user, request.now)
        .and_then(|v| answer(db, catalog, &v, request));
    match &result {
        Ok(answer) => {
            viewer::touch(db, &request.user, request.now)?;
            let mut parameters = request.parameters();
            if let Some(map) = parameters.as_object_mut() {
                map.insert("role".into(), answer.role.clone().into());
                map.insert("scope".into(), answer.scope.clone().into());
                map.insert("rows".into(), answer.rows.len().into());
                map.insert(
                    "suppressed".into(),
                    (answer.suppressed(Status::Primary) + answer.suppressed(Status::Complementary))
                        .into(),
                );
            }
            viewer::record(db, request, parameters, None)?;
        }
        Err(error) => {
            let parameters = request.parameters();
            viewer::record(db, request, parameters, Some(error))?;
        }
    }
    result
}

/// The answer to `request` for `viewer`, unaudited.
pub fn answer(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    request: &Request,
) -> Result<Answer> {
    match &request.what {
        What::Metric(metric) => metric_answer(db, catalog, viewer, request, metric),
        What::Report(report) => report_answer(db, catalog, viewer, request, report),
        What::Drill(metric) => drill_answer(db, catalog, viewer, request, metric),
        What::Sql(text) => adhoc::answer(db, catalog, viewer, request, text),
    }
}

// ------------------------------------------------------------------------- access

/// The tables in which `role` may read `metric`.
pub fn readable_tables<'c>(catalog: &'c Catalog, role: &Role, metric: &str) -> Vec<&'c Table> {
    let everywhere = role.grants("metric", metric)
        || catalog
            .reports
            .iter()
            .any(|r| role.grants("report", &r.name) && r.metrics.iter().any(|m| m == metric));
    let mut tables: Vec<&Table> = catalog
        .publishing(metric)
        .into_iter()
        .filter(|t| everywhere || (is_mart(catalog, t) && role.grants("mart", &t.name)))
        .collect();
    tables.sort_by_key(|t| (!is_mart(catalog, t), t.name.clone()));
    tables
}

fn is_mart(catalog: &Catalog, table: &Table) -> bool {
    catalog.marts.iter().any(|m| m.table == table.table)
}

/// The metrics `role` may read in `table`.
pub fn readable_metrics(catalog: &Catalog, role: &Role, table: &Table) -> Vec<String> {
    table
        .metrics
        .iter()
        .filter(|m| readable_tables(catalog, role, m).iter().any(|t| t.table == table.table))
        .cloned()
        .collect()
}

/// Roles in the order queries prefer them: national first, then by name.
fn by_preference<'v>(roles: impl Iterator<Item = &'v Role>) -> Vec<&'v Role> {
    let mut roles: Vec<&Role> = roles.collect();
    roles.sort_by_key(|r| (!matches!(r.scope, Scope::National), r.name.clone()));
    roles
}

fn role_names(viewer: &Viewer) -> String {
    if viewer.roles.is_empty() {
        "none".to_string()
    } else {
        viewer.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The refusal for a metric no role of the user reaches, saying which grants would.
fn not_granted(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    kind: &str,
    object: &str,
    metrics: &[String],
) -> Error {
    let mut grants: Vec<(String, String)> = Vec::new();
    if kind == "report" {
        grants.push(("report".into(), object.into()));
    }
    for metric in metrics {
        for t in catalog.publishing(metric) {
            if is_mart(catalog, t) {
                grants.push(("mart".into(), t.name.clone()));
            }
        }
        grants.push(("metric".into(), metric.clone()));
        for r in catalog.reports.iter().filter(|r| r.metrics.contains(metric)) {
            grants.push(("report".into(), r.name.clone()));
        }
    }
    grants.sort();
    grants.dedup();
    let through: Vec<String> = grants.iter().map(|(k, o)| format!("{k} {o}")).collect();
    let holders = viewer::granted_by(db, &grants).unwrap_or_default();
    let help = if holders.is_empty() {
        format!("a role granting one of: {}; no role does yet", through.join(", "))
    } else {
        format!(
            "a role granting one of: {}. Roles that do: {}; an administrator can `tally user grant` one",
            through.join(", "),
            holders.join(", ")
        )
    };
    Error::new(
        codes::NOT_GRANTED,
        format!(
            "user `{}` may not read {kind} `{object}`: none of their roles ({}) grants it",
            viewer.user_id,
            role_names(viewer)
        ),
    )
    .help(help)
}

/// The scope's column in a table (or drill relation) and the user's value, or why there is
/// none. `Ok(None)` for a national scope.
fn scope_column<'c>(
    role: &Role,
    columns: &'c [Column],
) -> Result<Option<(&'c Column, String)>, ScopeProblem> {
    match &role.scope {
        Scope::National => Ok(None),
        Scope::Bound { dimension, level, value, attribute } => {
            let column = columns
                .iter()
                .find(|c| c.is_level(dimension, level))
                .ok_or(ScopeProblem::NotKept)?;
            let value = value.clone().ok_or(ScopeProblem::NoValue(attribute.clone()))?;
            Ok(Some((column, value)))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ScopeProblem {
    /// The relation does not keep the scope's level.
    NotKept,
    /// The user has no value for the attribute the scope binds.
    NoValue(String),
}

fn no_value(viewer: &Viewer, role: &Role, attribute: &str) -> Error {
    Error::new(
        codes::NO_SCOPE_VALUE,
        format!(
            "user `{}` has no {attribute}, which the scope of role `{}` ({}) binds",
            viewer.user_id,
            role.name,
            role.scope.describe()
        ),
    )
    .help(format!("an administrator can set the user's {attribute} (`tally user add`)"))
}

// ------------------------------------------------------------------------- cuts

/// A `--by` or `--where` name resolved against a table.
#[derive(Debug, Clone, PartialEq)]
enum Axis {
    /// The time axis, with a grain when one was named.
    Time(Option<String>),
    /// Dimension columns (a level, a source column, or every level of a dimension).
    Columns(Vec<usize>),
}

/// What a `--by` or `--where` name is used for: the compiler's decision for a source column
/// (`plan.json` `sources[].columns[].access`) says whether it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Group,
    Filter,
}

/// Resolves `name` against the columns of `table` that one of `metrics` is cut by;
/// `Err(true)` when it names a source column the plan says may not be used so.
fn resolve(
    catalog: &Catalog,
    table: &Table,
    metrics: &[String],
    name: &str,
    usage: Use,
) -> Result<Axis, bool> {
    if let Some((first, second)) = name.split_once('.') {
        if let Some(access) = catalog.access(first, second) {
            let allowed = match usage {
                Use::Group => access.group,
                Use::Filter => access.filter,
            };
            if !allowed {
                return Err(true);
            }
        }
    }
    let time = catalog::time_axis(table).filter(|_| metrics.iter().any(|m| catalog.timed(m)));
    if let Some(t) = &time {
        if name == t {
            return Ok(Axis::Time(None));
        }
        if let Some(grain) = name.strip_prefix(&format!("{t}.")) {
            if table.grains.iter().any(|g| g.word() == grain) {
                return Ok(Axis::Time(Some(grain.to_string())));
            }
        }
    }
    let cut: Vec<(usize, &Column)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| metrics.iter().any(|m| table.cuts(m, &c.name)))
        .collect();
    let exact: Vec<usize> = cut.iter().filter(|(_, c)| c.axis() == name).map(|(i, _)| *i).collect();
    if !exact.is_empty() {
        return Ok(Axis::Columns(exact));
    }
    let dimension: Vec<usize> =
        cut.iter().filter(|(_, c)| c.dimension.as_deref() == Some(name)).map(|(i, _)| *i).collect();
    if !dimension.is_empty() {
        return Ok(Axis::Columns(dimension));
    }
    Err(false)
}

/// What `--by` may name for `metrics` in `tables` (the ones the user's role reads), for
/// messages: the columns the metrics are cut by there, and the time axis and its grains when
/// they are placed in time.
fn valid_axes(catalog: &Catalog, tables: &[&Table], metrics: &[String]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for t in tables {
        for c in &t.columns {
            if metrics.iter().any(|m| t.cuts(m, &c.name)) {
                out.insert(c.axis());
            }
        }
        if !metrics.iter().any(|m| catalog.timed(m)) {
            continue;
        }
        if let Some(time) = catalog::time_axis(t) {
            out.insert(time.clone());
            for g in &t.grains {
                out.insert(format!("{time}.{g}"));
            }
        }
    }
    out.into_iter().collect()
}

fn pii_refusal(name: &str, usage: Use) -> Error {
    let (done, help) = match usage {
        Use::Group => (
            "grouped by",
            "group by the metric's dimensions; a personal-data column that identifies a person is only ever counted",
        ),
        Use::Filter => (
            "filtered on",
            "filter on the metric's dimensions: no search by personal data is possible",
        ),
    };
    Error::new(
        codes::PERSONAL_DATA,
        format!("`{name}` is personal data that may not be {done} (plan.json: the compiler's rule for its classes)"),
    )
    .help(format!("{help}; `tally lineage METRIC` shows what a metric reads"))
}

fn unknown_axis(name: &str, what: &str, valid: &[String]) -> Error {
    let valid = if valid.is_empty() {
        "nothing: it is not cut by any dimension".to_string()
    } else {
        valid.join(", ")
    };
    Error::new(codes::NOT_A_DIMENSION, format!("`{name}` is not a dimension of {what}"))
        .help(format!("valid here: {valid}"))
}

/// The cut a metric or report query reads.
struct Cut<'c> {
    table: &'c Table,
    metrics: Vec<String>,
    grain: Option<String>,
    /// Columns the rows must be cut by (bit per table column).
    want: u64,
    /// Columns that must be present in every row shown, totals included (scope, filters).
    required: u64,
    filters: Vec<(usize, String)>,
    scope: Option<(usize, String)>,
}

fn bits(columns: &[usize]) -> u64 {
    columns.iter().filter(|&&i| i < 64).fold(0, |m, &i| m | (1 << i))
}

/// Resolves `--by` and `--where` against the role's readable tables and picks the first
/// table (in the order given: marts by name, then the aggregate table) that has every column
/// needed for the metrics (the scope's included).
fn plan_cut<'c>(
    catalog: &'c Catalog,
    viewer: &Viewer,
    role: &Role,
    tables: &[&'c Table],
    metrics: Vec<String>,
    request: &Request,
    what: &str,
) -> Result<Cut<'c>> {
    let mut problems: Vec<Error> = Vec::new();
    let valid = || valid_axes(catalog, tables, &metrics);
    for table in tables {
        let mut want = Vec::new();
        let mut grain = request.grain.clone();
        let mut failed = None;
        for name in &request.by {
            match resolve(catalog, table, &metrics, name, Use::Group) {
                Ok(Axis::Time(Some(g))) => grain = grain.or(Some(g)),
                Ok(Axis::Time(None)) => {}
                Ok(Axis::Columns(c)) => want.extend(c),
                Err(true) => return Err(pii_refusal(name, Use::Group)),
                Err(false) => failed = Some(unknown_axis(name, what, &valid())),
            }
        }
        let mut filters = Vec::new();
        for (name, value) in &request.filters {
            match resolve(catalog, table, &metrics, name, Use::Filter) {
                Ok(Axis::Columns(c)) if c.len() == 1 => filters.push((c[0], value.clone())),
                Ok(_) => {
                    failed = Some(
                        Error::new(
                            codes::NOT_A_DIMENSION,
                            format!("`--where {name}=...` must name one level or column"),
                        )
                        .help(format!("valid here: {}", valid().join(", "))),
                    )
                }
                Err(true) => return Err(pii_refusal(name, Use::Filter)),
                Err(false) => failed = Some(unknown_axis(name, what, &valid())),
            }
        }
        if let Some(problem) = failed {
            problems.push(problem);
            continue;
        }
        let scope = match scope_column(role, &table.columns) {
            Ok(Some((c, v))) if metrics.iter().all(|m| table.cuts(m, &c.name)) => {
                table.columns.iter().position(|x| x == c).map(|i| (i, v))
            }
            Ok(None) => None,
            Err(ScopeProblem::NoValue(attribute)) => {
                return Err(no_value(viewer, role, &attribute))
            }
            Ok(Some(_)) | Err(ScopeProblem::NotKept) => {
                let level = match &role.scope {
                    Scope::Bound { dimension, level, .. } => format!("{dimension}.{level}"),
                    Scope::National => String::new(),
                };
                let cut: Vec<String> = table
                    .columns
                    .iter()
                    .filter(|c| metrics.iter().any(|m| table.cuts(m, &c.name)))
                    .map(Column::axis)
                    .collect();
                problems.push(
                    Error::new(
                        codes::NOT_PUBLISHED,
                        format!(
                            "{what} is not placed by {level} in {}, and role `{}` sees only {}",
                            table.table,
                            role.name,
                            role.scope.describe()
                        ),
                    )
                    .help(format!(
                        "its cells there are cut by {}; a role of wider scope can read it",
                        if cut.is_empty() {
                            "nothing but time".to_string()
                        } else {
                            cut.join(", ")
                        }
                    )),
                );
                continue;
            }
        };
        // Targets have values only at their own grain and coarser ones (`grains` in the plan).
        let target_grains: Vec<&[String]> =
            metrics.iter().filter_map(|m| catalog.target_grains(m)).collect();
        let allowed = |g: &str| target_grains.iter().all(|gs| gs.iter().any(|x| x == g));
        let grain = match (&grain, table.grains.is_empty()) {
            (Some(g), false) if table.grains.iter().any(|k| k.word() == g) && !allowed(g) => {
                let coarser: Vec<&str> =
                    table.grains.iter().map(|k| k.word()).filter(|k| allowed(k)).collect();
                return Err(Error::new(
                    codes::FINER_THAN_TARGET,
                    format!("{what} has no value by {g}: it is a target, or reads one, set per a coarser period"),
                )
                .help(if coarser.is_empty() {
                    format!("{} keeps no grain the target has values at", table.table)
                } else {
                    format!("ask for a grain it has values at: --grain {}", coarser.join(" | "))
                }));
            }
            (Some(g), false) if table.grains.iter().any(|k| k.word() == g) => Some(g.clone()),
            // Metrics without time keep their rows without a grain.
            (None, false) if !metrics.iter().any(|m| catalog.timed(m)) => None,
            (None, false) => {
                // The table's default grain, or the finest it keeps that a target has values at.
                let default = table.grain.or_else(|| table.grains.first().copied());
                default
                    .filter(|g| allowed(g.word()))
                    .or_else(|| table.grains.iter().copied().find(|g| allowed(g.word())))
                    .map(|g| g.word().to_owned())
            }
            (None, true) => None,
            (Some(g), _) => {
                problems.push(
                    Error::new(
                        codes::GRAIN_NOT_KEPT,
                        format!("{what} is not kept by {g} in {}", table.table),
                    )
                    .help(if table.grains.is_empty() {
                        "it has no time axis: leave out --grain".to_string()
                    } else {
                        let kept: Vec<&str> = table.grains.iter().map(|g| g.word()).collect();
                        format!("grains kept: {}", kept.join(", "))
                    }),
                );
                continue;
            }
        };
        let mut required: Vec<usize> = filters.iter().map(|(i, _)| *i).collect();
        required.extend(scope.iter().map(|(i, _)| *i));
        want.extend(required.iter().copied());
        return Ok(Cut {
            table,
            metrics: metrics.clone(),
            grain,
            want: bits(&want),
            required: bits(&required),
            filters,
            scope,
        });
    }
    Err(problems.into_iter().next().unwrap_or_else(|| {
        Error::new(
            codes::NOT_GRANTED,
            format!("user `{}` has no table to read {what} from", viewer.user_id),
        )
        .help("an administrator can `tally user grant` a role that reads it")
    }))
}

/// One stored row of a cut table.
struct Stored {
    metric: String,
    period: Value,
    levels: u64,
    levels_text: String,
    coords: Vec<Option<String>>,
    bucket: Value,
    member: Value,
    value: Value,
    rows: i64,
    /// Whether the period had not ended at the refresh (`NULL` without a grain).
    partial: Value,
    /// A `to date` comparison's earlier value and the rows behind it, as refreshed.
    previous_value: Value,
    previous_rows: i64,
}

/// What identifies a stored cell: metric, period, levels, members, bucket, top member.
type CellKey<'a> = (&'a str, String, u64, &'a [Option<String>], String, String);

impl Stored {
    /// The key of this cell's place at `period` (its own, or another period's).
    fn key(&self, period: String) -> CellKey<'_> {
        (
            self.metric.as_str(),
            period,
            self.levels,
            self.coords.as_slice(),
            self.bucket.to_string(),
            self.member.to_string(),
        )
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Null => None,
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        other => other.as_str().and_then(|s| s.parse().ok()),
    }
}

/// A decimal as people read it: no trailing fractional zeros.
pub fn display_decimal(value: &Value) -> Value {
    match value {
        Value::Decimal(text) => {
            let text = decimal_text(text);
            let trimmed = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                text
            };
            Value::Decimal(if trimmed == "-0" { "0".into() } else { trimmed })
        }
        other => other.clone(),
    }
}

/// Reads a cut, suppresses, and returns the rows asked for.
fn read_cut(
    db: &mut dyn Backend,
    catalog: &Catalog,
    role: &Role,
    cut: &Cut,
    request: &Request,
    what: &str,
) -> Result<(Vec<String>, Vec<Row>)> {
    let t = cut.table;
    let mut columns: Vec<String> =
        ["metric", "grain", "period_start", "levels"].map(String::from).to_vec();
    columns.extend(t.columns.iter().map(|c| c.name.clone()));
    columns.extend(
        ["bucket", "member", "value", "cell_rows", "partial", "previous_value", "previous_rows"]
            .map(String::from),
    );
    let metrics: Vec<Literal> = cut.metrics.iter().cloned().map(Literal::Text).collect();
    let mut select = Select::new(From::Table(t.table.clone()), columns)
        .filter(Condition::In("metric".into(), metrics));
    select = match &cut.grain {
        Some(g) => select.filter(Condition::Eq("grain".into(), Literal::Text(g.clone()))),
        None => select.filter(Condition::IsNull("grain".into())),
    };
    // A metric compared with its previous period shows that period's published value: read
    // back far enough to have it, and suppress it with the rest.
    let compares: BTreeMap<&str, &str> = cut
        .metrics
        .iter()
        .filter_map(|m| Some((m.as_str(), catalog.metric(m)?.compare.as_deref()?)))
        .collect();
    // A `to date` comparison's earlier value is no published cell: it is refreshed into each
    // row (`previous_value`, over `previous_rows` rows) and suppressed on its own.
    let to_date: BTreeSet<&str> = cut
        .metrics
        .iter()
        .filter(|m| catalog.metric(m).and_then(|m| m.compare_span) == Some(CompareSpan::ToDate))
        .map(String::as_str)
        .collect();
    let shift_of = |metric: &str| {
        let grain = cut.grain.as_deref()?;
        compare_shift(compares.get(metric)?, grain)
    };
    if let Some(from) = request.from {
        let earliest = cut
            .metrics
            .iter()
            .filter_map(|m| shift_of(m)?.back(from))
            .fold(from, NaiveDateTime::min);
        select =
            select.filter(Condition::AtLeast("period_start".into(), Literal::Timestamp(earliest)));
    }
    if let Some(to) = request.to {
        select = select.filter(Condition::Before("period_start".into(), Literal::Timestamp(to)));
    }
    if let Some((i, value)) = &cut.scope {
        select =
            select.filter(Condition::Eq(t.columns[*i].name.clone(), Literal::Text(value.clone())));
    }
    let sql = select.render(db.dialect())?;
    let result = db.query(&sql)?;
    let n = t.columns.len();
    let stored: Vec<Stored> = result
        .rows
        .into_iter()
        .map(|row| {
            let levels_text = row[3].as_str().unwrap_or("").to_string();
            let levels = levels_text
                .split(',')
                .filter(|l| !l.is_empty())
                .filter_map(|l| t.columns.iter().position(|c| c.name == l))
                .fold(0u64, |m, i| if i < 64 { m | (1 << i) } else { m });
            let coords = (0..n)
                .map(|i| match &row[4 + i] {
                    Value::Null => None,
                    v => Some(v.to_string()),
                })
                .collect();
            Stored {
                metric: row[0].to_string(),
                period: row[2].clone(),
                levels,
                levels_text,
                coords,
                bucket: row[4 + n].clone(),
                member: row[5 + n].clone(),
                value: row[6 + n].clone(),
                rows: row[7 + n].as_i64().unwrap_or(0),
                partial: row[8 + n].clone(),
                previous_value: row[9 + n].clone(),
                previous_rows: row[10 + n].as_i64().unwrap_or(0),
            }
        })
        .collect();

    let counts: BTreeSet<&str> =
        catalog.metrics.iter().filter(|m| m.counts).map(|m| m.name.as_str()).collect();
    // A target's rows are plans, not people: its cells are never too small to show.
    let targets: BTreeSet<&str> =
        catalog.metrics.iter().filter(|m| m.target.is_some()).map(|m| m.name.as_str()).collect();
    let cells: Vec<suppress::Cell> = stored
        .iter()
        .map(|s| suppress::Cell {
            group: format!("{}\u{1f}{}\u{1f}{}\u{1f}{}", s.metric, s.period, s.bucket, s.member),
            levels: s.levels,
            coords: s.coords.clone(),
            value: number(&s.value),
            rows: if targets.contains(s.metric.as_str()) { i64::MAX } else { s.rows },
            counts: counts.contains(s.metric.as_str()),
        })
        .collect();
    let status = suppress::suppress(&cells, role.min_cell_size);

    // The cut asked for: the smallest stored set of columns holding every wanted one.
    let sets: BTreeSet<u64> = stored.iter().map(|s| s.levels).collect();
    let target = sets
        .iter()
        .filter(|&&s| s & cut.want == cut.want)
        .min_by_key(|&&s| (s.count_ones(), s))
        .copied();
    let Some(target) = target else {
        if stored.is_empty() {
            let dims: Vec<usize> = (0..n).filter(|i| cut.want & (1 << i) != 0).collect();
            return Ok((header(t, cut.grain.is_some(), &dims, false, false), Vec::new()));
        }
        let cuts: Vec<String> = sets
            .iter()
            .map(|&s| {
                let names: Vec<&str> = (0..n)
                    .filter(|i| s & (1 << i) != 0)
                    .map(|i| t.columns[i].name.as_str())
                    .collect();
                if names.is_empty() {
                    "(total)".to_string()
                } else {
                    names.join(",")
                }
            })
            .collect();
        return Err(Error::new(
            codes::NOT_PUBLISHED,
            format!("{what} has no rows cut by what was asked for in {}", t.table),
        )
        .help(format!("its rows here are cut by: {}", cuts.join("; "))));
    };
    let mut keep: Vec<usize> = (0..stored.len())
        .filter(|&i| {
            let s = &stored[i];
            let level_ok = if request.totals {
                s.levels & !target == 0 && s.levels & cut.required == cut.required
            } else {
                s.levels == target
            };
            let asked = request
                .from
                .is_none_or(|from| timestamp_of(&s.period).is_none_or(|period| period >= from));
            asked
                && level_ok
                && cut.filters.iter().all(|(c, v)| s.coords[*c].as_deref() == Some(v.as_str()))
        })
        .collect();
    // Each stored cell by what identifies it, to find a cell's previous period.
    let index: BTreeMap<CellKey, usize> =
        stored.iter().enumerate().map(|(i, s)| (s.key(s.period.to_string()), i)).collect();
    let previous_of = |s: &Stored| -> Option<usize> {
        let start = shift_of(&s.metric)?.back(timestamp_of(&s.period)?)?;
        let period = Value::Timestamp(crate::value::timestamp_text(start)).to_string();
        index.get(&s.key(period)).copied()
    };
    let comparing = !compares.is_empty() && cut.grain.is_some();
    let order: Vec<&str> = cut.metrics.iter().map(String::as_str).collect();
    keep.sort_by(|&a, &b| {
        let (x, y) = (&stored[a], &stored[b]);
        let position = |m: &str| order.iter().position(|o| *o == m);
        position(&x.metric)
            .cmp(&position(&y.metric))
            .then_with(|| x.period.to_string().cmp(&y.period.to_string()))
            .then_with(|| {
                let key = |s: &Stored| {
                    (0..n)
                        .map(|i| (s.levels & (1 << i) != 0, s.coords[i].clone()))
                        .collect::<Vec<_>>()
                };
                key(x).cmp(&key(y))
            })
            .then_with(|| x.bucket.to_string().cmp(&y.bucket.to_string()))
            .then_with(|| x.member.to_string().cmp(&y.member.to_string()))
    });
    let shown: Vec<&Stored> = keep.iter().map(|&i| &stored[i]).collect();
    let has_bucket = shown.iter().any(|s| !s.bucket.is_null());
    let has_member = shown.iter().any(|s| !s.member.is_null());
    let dims: Vec<usize> = (0..n).filter(|i| target & (1 << i) != 0).collect();
    let mut header = header(t, cut.grain.is_some(), &dims, has_bucket, has_member);
    if comparing {
        header.extend(["previous", "change", "change_percent"].map(String::from));
    }
    let rows = keep
        .iter()
        .map(|&i| {
            let s = &stored[i];
            let mut cells = vec![Out::Value(Value::Text(s.metric.clone()))];
            if cut.grain.is_some() {
                cells.push(Out::Value(s.period.clone()));
                cells.push(Out::Value(s.partial.clone()));
            }
            for &d in &dims {
                cells.push(if s.levels & (1 << d) == 0 {
                    Out::All
                } else {
                    Out::Value(s.coords[d].clone().map_or(Value::Null, Value::Text))
                });
            }
            if has_bucket {
                cells.push(Out::Value(s.bucket.clone()));
            }
            if has_member {
                cells.push(Out::Value(s.member.clone()));
            }
            cells.push(if status[i].hidden() {
                Out::Suppressed
            } else {
                Out::Value(display_decimal(&s.value))
            });
            if comparing {
                let previous = if to_date.contains(s.metric.as_str()) {
                    to_date_previous(s, role.min_cell_size, counts.contains(s.metric.as_str()))
                } else {
                    previous_of(s).map(|j| (stored[j].value.clone(), status[j]))
                };
                cells.extend(comparison(s, status[i], previous));
            }
            Row { cells, levels: Some(s.levels_text.clone()), status: Some(status[i]) }
        })
        .collect();
    Ok((header, rows))
}

/// A `to date` comparison's earlier value, as refreshed into the cell's row, hidden as a
/// cell of its own would be: over fewer than `min_cell_size` rows, or (a count) below it.
/// `None` when the earlier span had no rows.
fn to_date_previous(cell: &Stored, min_cell_size: i64, counts: bool) -> Option<(Value, Status)> {
    if cell.previous_value.is_null() {
        return None;
    }
    let small_value =
        counts && number(&cell.previous_value).is_some_and(|v| v < min_cell_size as f64);
    let status = if cell.previous_rows < min_cell_size || small_value {
        Status::Primary
    } else {
        Status::Shown
    };
    Some((cell.previous_value.clone(), status))
}

/// The columns of a metric answer.
/// A compared cell's `previous`, `change` and `change_percent`: the previous period's value
/// as published (hidden when that cell is suppressed, and then no change either), the
/// difference, and the difference as a percentage of the previous value (none from zero).
/// Cells without a comparison, or without a previous period, get nulls.
fn comparison(cell: &Stored, status: Status, previous: Option<(Value, Status)>) -> [Out; 3] {
    let null = || Out::Value(Value::Null);
    let Some((previous, previous_status)) = previous else { return [null(), null(), null()] };
    if previous_status.hidden() {
        return [Out::Suppressed, Out::Suppressed, Out::Suppressed];
    }
    let shown = Out::Value(display_decimal(&previous));
    if status.hidden() {
        return [shown, Out::Suppressed, Out::Suppressed];
    }
    let (Some(now), Some(before)) = (number(&cell.value), number(&previous)) else {
        return [shown, null(), null()];
    };
    let round = |x: f64, places: i32| {
        let scale = 10f64.powi(places);
        Value::Decimal(format!("{}", (x * scale).round() / scale))
    };
    let change = Out::Value(display_decimal(&round(now - before, 6)));
    let percent = if before == 0.0 {
        null()
    } else {
        Out::Value(display_decimal(&round((now - before) / before * 100.0, 1)))
    };
    [shown, change, percent]
}

/// A `period_start` as a time.
fn timestamp_of(value: &Value) -> Option<NaiveDateTime> {
    match value {
        Value::Timestamp(text) | Value::Text(text) => crate::etl::parse_time(text).ok(),
        Value::Date(text) => crate::etl::parse_time(text).ok(),
        _ => None,
    }
}

fn header(t: &Table, timed: bool, dims: &[usize], bucket: bool, member: bool) -> Vec<String> {
    let mut header = vec!["metric".to_string()];
    if timed {
        header.push("period_start".into());
        header.push("partial".into());
    }
    header.extend(dims.iter().map(|&i| t.columns[i].name.clone()));
    if bucket {
        header.push("bucket".into());
    }
    if member {
        header.push("member".into());
    }
    header.push("value".into());
    header
}

/// The titles of the source systems of `objects` (`metric` or `mart` names).
fn sources(db: &mut dyn Backend, kind: &str, objects: &[String]) -> Result<Vec<String>> {
    let select = Select::new(
        From::Table("policy_source".into()),
        vec!["source".into(), "source_title".into()],
    )
    .filter(Condition::Eq("object_kind".into(), Literal::Text(kind.into())))
    .filter(Condition::In("object".into(), objects.iter().cloned().map(Literal::Text).collect()));
    let rows = db.query(&select.render(db.dialect())?)?;
    let mut titles: Vec<String> = rows
        .rows
        .iter()
        .map(|r| match &r[1] {
            Value::Null => r[0].to_string(),
            title => title.to_string(),
        })
        .collect();
    titles.sort();
    titles.dedup();
    Ok(titles)
}

// ------------------------------------------------------------------------- answers

fn unknown_metric(catalog: &Catalog, name: &str) -> Error {
    Error::new(codes::NO_SUCH_METRIC, format!("no metric `{name}` in plan.json"))
        .help(format!("metrics: {}", catalog.metric_names().join(", ")))
}

/// The marts publishing `metric` that some role of the user reads it in, for messages.
fn readable_marts(catalog: &Catalog, viewer: &Viewer, metric: &str) -> Vec<String> {
    let mut out: Vec<String> = viewer
        .roles
        .iter()
        .flat_map(|r| readable_tables(catalog, r, metric))
        .filter(|t| is_mart(catalog, t))
        .map(|t| t.name.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Checks the mart `--mart` names against `metric`: it exists and publishes the metric
/// (`R0413`), and a role of the user reads the metric in it (`R0404`).
fn check_mart(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    metric: &str,
    mart: &str,
) -> Result<()> {
    let readable = readable_marts(catalog, viewer, metric);
    let help = || {
        if readable.is_empty() {
            format!("no mart this user reads publishes metric `{metric}`")
        } else {
            format!("marts that publish metric `{metric}` for this user: {}", readable.join(", "))
        }
    };
    let Some(table) = catalog.marts.iter().find(|t| t.name == mart) else {
        return Err(
            Error::new(codes::NO_SUCH_MART, format!("no mart `{mart}` in plan.json")).help(help())
        );
    };
    if !table.metrics.iter().any(|m| m == metric) {
        return Err(Error::new(
            codes::NO_SUCH_MART,
            format!("mart `{mart}` does not publish metric `{metric}`"),
        )
        .help(help()));
    }
    if readable.iter().any(|m| m == mart) {
        return Ok(());
    }
    let grants = vec![("mart".to_string(), mart.to_string())];
    let holders = viewer::granted_by(db, &grants).unwrap_or_default();
    Err(Error::new(
        codes::NOT_GRANTED,
        format!(
            "user `{}` may not read mart `{mart}`: none of their roles ({}) grants it",
            viewer.user_id,
            role_names(viewer)
        ),
    )
    .help(if holders.is_empty() {
        format!("{}; no role grants mart `{mart}` yet", help())
    } else {
        format!("{}; roles that grant mart `{mart}`: {}", help(), holders.join(", "))
    }))
}

/// The tables in which `role` may read `metric` for `request`: all of them, or only the mart
/// `--mart` names.
fn tables_for<'c>(
    catalog: &'c Catalog,
    role: &Role,
    metric: &str,
    request: &Request,
) -> Vec<&'c Table> {
    let mut tables = readable_tables(catalog, role, metric);
    if let Some(mart) = &request.mart {
        tables.retain(|t| is_mart(catalog, t) && t.name == *mart);
    }
    tables
}

/// A metric's cells. Which table answers: with `--mart`, that mart's (`R0413` when it does
/// not publish the metric, `R0404` when no role of the user reads it). Otherwise the role
/// first (the widest scope, then by name: [`by_preference`]), then, among the tables that
/// role reads the metric in, the first that has every column asked for: marts by name, then
/// the metric's own aggregate table. The answer names the mart.
fn metric_answer(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    request: &Request,
    name: &str,
) -> Result<Answer> {
    let metric = catalog.metric(name).ok_or_else(|| unknown_metric(catalog, name))?;
    let what = format!("metric `{name}`");
    let candidates: Vec<&Role> = by_preference(
        viewer.roles.iter().filter(|r| !readable_tables(catalog, r, name).is_empty()),
    );
    if candidates.is_empty() {
        return Err(not_granted(db, catalog, viewer, "metric", name, &[name.to_string()]));
    }
    if let Some(mart) = &request.mart {
        check_mart(db, catalog, viewer, name, mart)?;
    }
    let mut first_problem = None;
    for role in &candidates {
        let tables = tables_for(catalog, role, name, request);
        if tables.is_empty() {
            continue;
        }
        match plan_cut(catalog, viewer, role, &tables, vec![name.to_string()], request, &what) {
            Ok(cut) => {
                let (columns, rows) = read_cut(db, catalog, role, &cut, request, &what)?;
                return Ok(Answer {
                    kind: "metric",
                    object: name.to_string(),
                    title: metric.title.clone(),
                    user: viewer.user_id.clone(),
                    role: role.name.clone(),
                    scope: role.scope.describe(),
                    mart: is_mart(catalog, cut.table).then(|| cut.table.name.clone()),
                    table: Some(cut.table.table.clone()),
                    grain: cut.grain.clone(),
                    min_cell_size: Some(role.min_cell_size),
                    columns,
                    rows,
                    sources: sources(db, "metric", &[name.to_string()])?,
                    as_of: as_of(db, catalog, &[name.to_string()])?,
                });
            }
            // Refusals that another role cannot lift are final.
            Err(e) if e.code == codes::PERSONAL_DATA || e.code == codes::NOT_A_DIMENSION => {
                return Err(e)
            }
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| sql::internal("no role and no problem")))
}

fn report_answer(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    request: &Request,
    name: &str,
) -> Result<Answer> {
    let report = catalog.report(name).ok_or_else(|| {
        let names: Vec<&str> = catalog.reports.iter().map(|r| r.name.as_str()).collect();
        Error::new(codes::NO_SUCH_METRIC, format!("no report `{name}` in plan.json"))
            .help(format!("reports: {}", names.join(", ")))
    })?;
    if !request.by.is_empty() || request.grain.is_some() {
        return Err(Error::new(
            codes::QUERY_OPTIONS,
            "a report's cut and grain are its own: --by and --grain do not apply",
        )
        .help("query its metrics with `tally query METRIC --by ...` for another cut"));
    }
    if request.mart.as_ref().is_some_and(|m| *m != report.mart) {
        return Err(Error::new(
            codes::QUERY_OPTIONS,
            format!("report `{name}` is read from mart `{}`: --mart does not apply", report.mart),
        )
        .help("leave out --mart, or query its metrics with `tally query METRIC --mart MART`"));
    }
    let table = catalog.table(&report.table).ok_or_else(|| {
        sql::internal(format!("report `{name}` reads unknown table {}", report.table))
    })?;
    // A report is read by the roles that list it: reading its mart is not enough, since a
    // report's cut and grain are its own and may lie above the scope of the mart's readers.
    let candidates = by_preference(viewer.roles.iter().filter(|r| r.grants("report", name)));
    let Some(role) = candidates.first() else {
        return Err(not_granted(db, catalog, viewer, "report", name, &[]));
    };
    let what = format!("report `{name}`");
    let mut want: Vec<usize> = report
        .levels
        .split(',')
        .filter(|l| !l.is_empty())
        .filter_map(|l| table.columns.iter().position(|c| c.name == l))
        .collect();
    let sub = Request {
        by: Vec::new(),
        grain: report.grain.map(|g| g.word().to_owned()),
        ..request.clone()
    };
    let mut cut = plan_cut(catalog, viewer, role, &[table], report.metrics.clone(), &sub, &what)?;
    want.extend((0..table.columns.len()).filter(|i| cut.want & (1 << i) != 0));
    cut.want = bits(&want);
    let (columns, rows) = read_cut(db, catalog, role, &cut, request, &what)?;
    Ok(Answer {
        kind: "report",
        object: name.to_string(),
        title: report.title.clone(),
        user: viewer.user_id.clone(),
        role: role.name.clone(),
        scope: role.scope.describe(),
        mart: Some(report.mart.clone()),
        table: Some(table.table.clone()),
        grain: cut.grain.clone(),
        min_cell_size: Some(role.min_cell_size),
        columns,
        rows,
        sources: sources(db, "metric", &report.metrics)?,
        as_of: as_of(db, catalog, &report.metrics)?,
    })
}

/// When the values of `metrics` that depend on the clock were counted: the earliest
/// `metric_refresh.as_of` among them; `None` when none depends on the clock.
fn as_of(db: &mut dyn Backend, catalog: &Catalog, metrics: &[String]) -> Result<Option<String>> {
    let clock: Vec<&String> =
        metrics.iter().filter(|m| catalog.metric(m).is_some_and(|p| p.clock)).collect();
    if clock.is_empty() {
        return Ok(None);
    }
    let all = crate::etl::metric_as_of(db)?;
    Ok(clock
        .iter()
        .map(|m| all.get(m.as_str()).copied())
        .min()
        .flatten()
        .map(crate::value::timestamp_text))
}

/// The marts through which `role` may drill into the rows of `source` behind `metric`: marts
/// the role is granted, that publish the metric and declare a drill-down of that source, by
/// name (only the one `--mart` names, when it names one).
fn drill_marts<'c>(
    catalog: &'c Catalog,
    role: &Role,
    metric: &str,
    source: &str,
    request: &Request,
) -> Vec<&'c Table> {
    let mut marts: Vec<&Table> = catalog
        .marts
        .iter()
        .filter(|t| role.grants("mart", &t.name) && t.metrics.iter().any(|m| m == metric))
        .filter(|t| t.drill.as_ref().is_some_and(|d| d.source == source))
        .filter(|t| request.mart.as_ref().is_none_or(|m| *m == t.name))
        .collect();
    marts.sort_by_key(|t| t.name.clone());
    marts
}

/// Why no mart lets the user drill into `metric`'s rows of `source` (`R0414`), and which
/// marts would.
fn no_declared_drill(
    catalog: &Catalog,
    viewer: &Viewer,
    roles: &[&Role],
    metric: &str,
    source: &str,
    request: &Request,
) -> Error {
    let declaring: Vec<&str> = catalog
        .marts
        .iter()
        .filter(|t| t.metrics.iter().any(|m| m == metric))
        .filter(|t| t.drill.as_ref().is_some_and(|d| d.source == source))
        .map(|t| t.name.as_str())
        .collect();
    let role_list = roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ");
    let message = match request.mart.as_deref().and_then(|m| catalog.marts.iter().find(|t| t.name == m)) {
        Some(mart) => match &mart.drill {
            None => format!(
                "mart `{}` declares no drill-down: its rows are not shown row by row",
                mart.name
            ),
            Some(d) if d.source != source => format!(
                "mart `{}` declares a drill-down of `{}`, not of `{source}`, which metric `{metric}` is computed from",
                mart.name, d.source
            ),
            Some(_) => format!(
                "user `{}` may not drill down through mart `{}`: none of their roles with drill-down ({role_list}) is granted it",
                viewer.user_id, mart.name
            ),
        },
        None => format!(
            "no mart that the drill-down roles of user `{}` ({role_list}) are granted declares a drill-down of `{source}`, the rows behind metric `{metric}`",
            viewer.user_id
        ),
    };
    let help = if declaring.is_empty() {
        format!("no mart publishing `{metric}` declares `drill {source} (...)`: its rows are never shown row by row; the aggregates are available without --drill")
    } else {
        format!(
            "marts that declare a drill-down of `{metric}`'s rows: {}; a role granting one of them with `allow drill_down` can drill",
            declaring.join(", ")
        )
    };
    Error::new(codes::NO_DECLARED_DRILL, message).help(help)
}

/// The rows behind a metric, through a mart's declared drill-down: the columns the mart's
/// `drill` lists, in its order, of the metric's drill-down relation (`plan.json`
/// `metrics[].drill`); the relation's level columns only restrict the rows (scope, `--where`).
fn drill_answer(
    db: &mut dyn Backend,
    catalog: &Catalog,
    viewer: &Viewer,
    request: &Request,
    name: &str,
) -> Result<Answer> {
    let metric = catalog.metric(name).ok_or_else(|| unknown_metric(catalog, name))?;
    let reaching: Vec<&Role> = by_preference(
        viewer.roles.iter().filter(|r| !readable_tables(catalog, r, name).is_empty()),
    );
    if reaching.is_empty() {
        return Err(not_granted(db, catalog, viewer, "metric", name, &[name.to_string()]));
    }
    let drilling: Vec<&Role> = reaching.iter().copied().filter(|r| r.drill_down).collect();
    if drilling.is_empty() {
        let names: Vec<&str> = reaching.iter().map(|r| r.name.as_str()).collect();
        return Err(Error::new(
            codes::DRILL_NOT_ALLOWED,
            format!(
                "user `{}` may read metric `{name}` (role {}) but not drill down to its rows",
                viewer.user_id,
                names.join(", ")
            ),
        )
        .help("drill-down needs a role with `allow drill_down`; the aggregates are available without --drill"));
    }
    if !request.by.is_empty() || request.grain.is_some() {
        return Err(Error::new(
            codes::QUERY_OPTIONS,
            "--by and --grain do not apply to --drill: it lists rows",
        )
        .help("narrow the rows with --where DIM=VALUE, --from and --to"));
    }
    let Some(drill) = &metric.drill else {
        return Err(Error::new(
            codes::NOTHING_TO_DRILL,
            format!("metric `{name}` is derived from other metrics: it has no rows of its own to drill into"),
        )
        .help("drill into the metrics it is computed from"));
    };
    if let Some(mart) = &request.mart {
        if !catalog.marts.iter().any(|t| t.name == *mart && t.metrics.iter().any(|m| m == name)) {
            check_mart(db, catalog, viewer, name, mart)?;
        }
    }
    let Some((role, mart)) = drilling.iter().find_map(|r| {
        drill_marts(catalog, r, name, &drill.source, request).first().map(|m| (*r, *m))
    }) else {
        return Err(no_declared_drill(catalog, viewer, &drilling, name, &drill.source, request));
    };
    let declared =
        mart.drill.as_ref().ok_or_else(|| sql::internal("a drill mart without a drill"))?;
    // The declared columns, found in the relation as columns of the source.
    let mut shown: Vec<&Column> = Vec::new();
    for c in &declared.columns {
        let column = drill
            .columns
            .iter()
            .find(|x| x.source.as_deref() == Some(drill.source.as_str()) && x.column.as_deref() == Some(c.as_str()))
            .filter(|_| catalog.access(&drill.source, c).is_some_and(|a| a.show))
            .ok_or_else(|| {
                Error::new(
                    codes::GENERATED_UNREADABLE,
                    format!("mart `{}` declares drill column `{}.{c}`, which plan.json's drill-down of `{name}` does not show", mart.name, drill.source),
                )
                .help("regenerate generated/ with `tally compile`")
            })?;
        shown.push(column);
    }
    let levels: Vec<&Column> = drill.columns.iter().filter(|c| c.dimension.is_some()).collect();
    let dialect = db.dialect();
    let relation = drill.sql.get(&dialect).ok_or_else(|| {
        Error::new(
            codes::GENERATED_UNREADABLE,
            format!("plan.json has no drill-down of `{name}` for {}", dialect.name()),
        )
        .help("regenerate it with `tally compile`")
    })?;
    let relation = Params::new().with("now", request.now).render(relation)?;
    let names: Vec<String> = shown.iter().map(|c| c.name.clone()).collect();
    let mut select = Select::new(From::Relation(relation), names.clone());
    match scope_column(role, &drill.columns) {
        Ok(Some((column, value))) => {
            select = select.filter(Condition::Eq(column.name.clone(), Literal::Text(value)));
        }
        Ok(None) => {}
        Err(ScopeProblem::NoValue(attribute)) => return Err(no_value(viewer, role, &attribute)),
        Err(ScopeProblem::NotKept) => {
            return Err(Error::new(
                codes::NOT_PUBLISHED,
                format!(
                    "the rows of metric `{name}` are not placed at the level role `{}` is scoped to ({})",
                    role.name,
                    role.scope.describe()
                ),
            )
            .help("a role of wider scope can drill into it"))
        }
    }
    let filterable: Vec<&Column> = levels.iter().chain(&shown).copied().collect();
    let valid: Vec<String> = filterable.iter().map(|c| c.axis()).collect();
    for (filter, value) in &request.filters {
        if let Some((s, c)) = filter.split_once('.') {
            if catalog.access(s, c).is_some_and(|a| !a.filter) {
                return Err(pii_refusal(filter, Use::Filter));
            }
        }
        let column = filterable
            .iter()
            .find(|c| c.axis() == *filter || c.name == *filter)
            .ok_or_else(|| {
                unknown_axis(
                    filter,
                    &format!("the rows of `{name}` that mart `{}` shows", mart.name),
                    &valid,
                )
            })?;
        select = select.filter(Condition::Eq(column.name.clone(), Literal::Text(value.clone())));
    }
    match (&drill.time, request.from.or(request.to)) {
        (Some(time), _) => {
            if let Some(from) = request.from {
                select = select.filter(Condition::AtLeast(time.clone(), Literal::Timestamp(from)));
            }
            if let Some(to) = request.to {
                select = select.filter(Condition::Before(time.clone(), Literal::Timestamp(to)));
            }
        }
        (None, Some(_)) => {
            return Err(Error::new(
                codes::QUERY_OPTIONS,
                format!("the rows of `{name}` have no time to restrict"),
            )
            .help("leave out --from and --to"))
        }
        (None, None) => {}
    }
    select.order = names.clone();
    select.limit = Some(request.limit.unwrap_or(DEFAULT_DRILL_LIMIT));
    let rows = db.query(&select.render(dialect)?)?;
    let title = catalog
        .sources
        .iter()
        .find(|s| s.name == drill.source)
        .map(|s| s.title.clone().unwrap_or_else(|| s.name.clone()));
    Ok(Answer {
        kind: "drill",
        object: name.to_string(),
        title: metric.title.clone(),
        user: viewer.user_id.clone(),
        role: role.name.clone(),
        scope: role.scope.describe(),
        mart: Some(mart.name.clone()),
        table: None,
        grain: None,
        min_cell_size: None,
        columns: rows.columns.clone(),
        rows: rows
            .rows
            .into_iter()
            .map(|r| Row {
                cells: r.into_iter().map(|v| Out::Value(display_decimal(&v))).collect(),
                levels: None,
                status: None,
            })
            .collect(),
        sources: title.into_iter().collect(),
        as_of: None,
    })
}

/// Shared by [`adhoc`]: the readable tables of `role` and, per table, its metrics.
pub(crate) fn readable(catalog: &Catalog, role: &Role) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for t in catalog.tables() {
        let metrics = readable_metrics(catalog, role, t);
        if !metrics.is_empty() {
            out.insert(t.table.clone(), metrics);
        }
    }
    out
}

pub(crate) fn scope_of(role: &Role, table: &Table) -> Result<Option<(String, String)>, bool> {
    match scope_column(role, &table.columns) {
        Ok(s) => Ok(s.map(|(c, v)| (c.name.clone(), v))),
        Err(ScopeProblem::NotKept) => Err(false),
        Err(ScopeProblem::NoValue(_)) => Err(true),
    }
}

pub(crate) fn source_titles(db: &mut dyn Backend, metrics: &[String]) -> Result<Vec<String>> {
    sources(db, "metric", metrics)
}

pub(crate) fn refuse_no_value(viewer: &Viewer, role: &Role) -> Error {
    match &role.scope {
        Scope::Bound { attribute, .. } => no_value(viewer, role, attribute),
        Scope::National => sql::internal("a national scope has a value"),
    }
}
