//! One source's rows: how each column is filled ([`Role`]), decided once per source from the
//! plan, the profile and the defaults, then the batches of rows drawn from it.
//!
//! A column's role comes from, in order: its place in the key (a fresh identifier, a constant
//! prefix, the group's sequence or period); the load (watermark, delete marker); a reference
//! to a dimension level (its members); the event time (the retention `by` column); the
//! profile's setting for the column; and last the defaults: a snapshot's extract date, a link
//! to another source's keys, the event's date, later timestamps after the event, enums with the
//! first or default value most common, bools mostly false, and values by kind ([`fake::kind`]).
//! Columns computed from other columns of the row come after them.

use super::fake::{self, Kind};
use super::members::{self, DimensionMembers};
use super::writer::Val;
use super::{load_columns, Batch, Period, Rng, World};
use crate::error::{codes, Error, Result};
use crate::plan::{Column, ColumnType, Load, Plan, SourcePlan};
use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, Timelike as _};
use rand::RngExt as _;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use tally_contract::gendata::{ColumnProfile, Pattern, Piece, Profile, SourceProfile};

/// Share of earlier rows a follow-up batch updates, and deletes (cdc, snapshot lists), when
/// the profile does not say.
const UPDATE_SHARE: f64 = 0.05;
const DELETE_SHARE: f64 = 0.02;
/// Snapshot lists: share of new members in the second snapshot.
const NEW_SHARE: f64 = 0.02;

/// What every source's planner reads: the plan, the profile and what was made of them.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub plan: &'a Plan,
    pub profile: &'a Profile,
    pub period: Period,
    pub dimensions: BTreeMap<String, DimensionMembers>,
    hours: [f64; 24],
    weekdays: [f64; 7],
    /// The highest hour weight times the highest weekday weight.
    peak: f64,
    lists: BTreeMap<String, Vec<(String, f64)>>,
}

impl<'a> Context<'a> {
    pub fn new(
        plan: &'a Plan,
        profile: &'a Profile,
        period: Period,
        dimensions: BTreeMap<String, DimensionMembers>,
    ) -> Self {
        let traffic = profile.traffic.as_ref();
        let mut hours = fake::HOURS;
        if let Some(h) = traffic.and_then(|t| t.hours.as_ref()).filter(|h| h.len() == 24) {
            hours.copy_from_slice(h);
        }
        let mut weekdays = fake::WEEKDAYS;
        if let Some(w) = traffic.and_then(|t| t.weekdays.as_ref()).filter(|w| w.len() == 7) {
            weekdays.copy_from_slice(w);
        }
        let max = |xs: &[f64]| xs.iter().copied().fold(0.0, f64::max);
        let peak = max(&hours) * max(&weekdays);
        let lists = profile
            .lists
            .iter()
            .map(|(name, weights)| {
                (name.clone(), weights.iter().map(|(v, w)| (v.clone(), *w)).collect())
            })
            .collect();
        Context { plan, profile, period, dimensions, hours, weekdays, peak, lists }
    }

    /// A time in `[from, to)`, following the daily and weekly traffic curves when `traffic`.
    fn sample_time(
        &self,
        rng: &mut Rng,
        from: NaiveDateTime,
        to: NaiveDateTime,
        traffic: bool,
    ) -> NaiveDateTime {
        let span = (to - from).num_seconds().max(1);
        for _ in 0..64 {
            let at = from + Duration::seconds(rng.random_range(0..span));
            if !traffic || self.peak <= 0.0 {
                return at;
            }
            let weight = self.hours[at.hour() as usize]
                * self.weekdays[at.weekday().num_days_from_monday() as usize];
            if rng.random::<f64>() * self.peak < weight {
                return at;
            }
        }
        from + Duration::seconds(rng.random_range(0..span))
    }
}

/// How one column is filled.
#[derive(Debug, Clone)]
enum Role {
    /// The single key, or the first column of a composite one: a fresh identifier.
    Id,
    /// A composite key's prefix column with a default: the default (one group for all rows).
    Constant(String),
    /// A composite key's last column: 1, 2, ... within the group (or the source).
    Sequence,
    /// A composite key's last column that labels periods: one row per period.
    PeriodKey,
    /// The label of the period the row's event falls in.
    PeriodLabel,
    /// The last day of the row's period (the period column is `.0`).
    PeriodEnd(usize),
    /// When the event happened.
    Anchor,
    /// The incremental watermark.
    Watermark,
    DeleteMarker,
    /// A snapshot list's extract date.
    Extracted,
    /// The date of the event (`visit_date` of `visited_at`).
    AnchorDate,
    /// A time after the event: log-normal minutes.
    After {
        median_minutes: f64,
        sigma: f64,
    },
    /// The event plus the minutes another column of the row holds.
    AfterColumn(usize),
    /// A date or timestamp some time in the period (current-state lists).
    InPeriod,
    /// A dimension level's members and their weights.
    Reference(Vec<String>, Vec<f64>),
    /// Another source's key values.
    Link(Vec<String>),
    /// Values and weights.
    Choice(Vec<(Val, f64)>),
    Pattern(Pattern),
    Bool(f64),
    /// True when column `.0` holds one of the values.
    BoolWhen(usize, Vec<String>),
    /// Running total of column `.0` within the key group and fiscal year.
    RunningTotal(usize),
    Number(Box<Numbers>),
    /// Column `.0` times a weighted factor.
    Times(usize, Vec<(f64, f64)>),
    Kind(Kind),
    Generic,
}

/// A numeric column's distribution and what adjusts it.
#[derive(Debug, Clone)]
struct Numbers {
    lognormal: Option<(f64, f64)>,
    uniform: Option<(f64, f64)>,
    min: Option<f64>,
    max: Option<f64>,
    zero_share: f64,
    median_by: Option<(usize, BTreeMap<String, f64>)>,
    traffic_median: f64,
    clusters: Option<(usize, Vec<(f64, f64)>)>,
}

#[derive(Debug, Clone)]
struct ColumnPlan {
    role: Role,
    /// Share of rows left empty, when the column may be.
    null: f64,
    /// Copied from the group's first row to its other rows.
    shared: bool,
    /// Null unless the enum column at `.0` has value `.1` (`refund_amount` for `kind = refund`).
    only_when: Option<(usize, String)>,
}

/// How the rows of one key group come.
#[derive(Debug, Clone, PartialEq)]
enum Grouping {
    /// One row per key.
    Single,
    /// One sequence for the whole source (the key's other columns are constants).
    Sequence,
    /// One row per period (the last key column labels periods).
    Periods,
    /// Groups of a size drawn from a distribution: log-normal (median, sigma) or uniform
    /// (min, max), bounded; `None`: an entry's lines (1 and a few more).
    Sized {
        lognormal: Option<(f64, f64)>,
        uniform: Option<(f64, f64)>,
        min: f64,
        max: f64,
    },
    Lines,
}

pub(crate) struct SourcePlanner<'a> {
    ctx: &'a Context<'a>,
    source: &'a SourcePlan,
    columns: Vec<ColumnPlan>,
    /// The order columns are computed in: those computed from others after them.
    order: Vec<usize>,
    grouping: Grouping,
    /// Rows a day (events) or members (lists) at scale 1.
    rate: f64,
    updates: f64,
    deletes: f64,
    new_members: f64,
    id_prefix: String,
    id_pattern: Option<Pattern>,
    periods: Vec<(String, NaiveDate)>,
    /// Another source links to this one's keys: keep them.
    pub keep_keys: bool,
    follows: Vec<Follow>,
}

impl std::fmt::Debug for SourcePlanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourcePlanner").field("source", &self.source.name).finish()
    }
}

/// An enum column that agrees with an attribute of the member a reference column names: a
/// row at a member whose `kind` is `air` gets the enum value `air`; at a member whose kind the
/// enum does not have, one of the enum's other values.
#[derive(Debug, Clone)]
struct Follow {
    column: usize,
    reference: usize,
    /// Member key → the enum values allowed for it.
    allowed: BTreeMap<String, Vec<String>>,
}

impl<'a> SourcePlanner<'a> {
    pub fn new(ctx: &'a Context<'a>, source: &'a SourcePlan, world: &World) -> Result<Self> {
        let sp = ctx.profile.source(&source.name);
        let column_profile = |name: &str| sp.and_then(|p| p.columns.get(name));
        let key = &source.key;
        let last_key = key.last().cloned().unwrap_or_default();
        let group = sp.and_then(|p| p.group.as_ref());
        let grouping = if key.len() < 2 {
            Grouping::Single
        } else if column_profile(&last_key).is_some_and(|p| p.periods.is_some()) {
            Grouping::Periods
        } else if key[..key.len() - 1]
            .iter()
            .all(|k| source.column(k).is_some_and(|c| c.default_text().is_some()))
        {
            Grouping::Sequence
        } else if let Some(size) = group.and_then(|g| g.size.as_ref()) {
            Grouping::Sized {
                lognormal: size.lognormal.map(|l| (l.median, l.sigma)),
                uniform: size.uniform.map(|u| (u.min, u.max)),
                min: size.min.unwrap_or(1.0).max(1.0),
                max: size.max.unwrap_or(10_000.0).max(1.0),
            }
        } else {
            Grouping::Lines
        };
        let shared_list: Option<BTreeSet<&str>> =
            group.and_then(|g| g.shared.as_ref()).map(|s| s.iter().map(String::as_str).collect());
        let anchor = anchor_column(source);
        let (watermark, marker) = load_columns(source);
        let is_list = matches!(source.load, Load::Snapshot);
        let index = |name: &str| source.columns.iter().position(|c| c.name == name);
        let mut columns = Vec::new();
        for (i, c) in source.columns.iter().enumerate() {
            let cp = column_profile(&c.name);
            let is_key = source.is_key(&c.name);
            let role = if is_key && key.first() == Some(&c.name) && grouping != Grouping::Sequence {
                Role::Id
            } else if is_key && key.last() == Some(&c.name) && key.len() > 1 {
                if grouping == Grouping::Periods {
                    Role::PeriodKey
                } else {
                    Role::Sequence
                }
            } else if is_key && c.default_text().is_some() {
                Role::Constant(c.default_text().unwrap_or_default())
            } else if is_key {
                Role::Id
            } else if marker == Some(c.name.as_str()) {
                Role::DeleteMarker
            } else if watermark == Some(c.name.as_str()) {
                Role::Watermark
            } else if let Some(r) = &c.references {
                let members = ctx
                    .dimensions
                    .get(&r.dimension)
                    .map(|d| d.weights(&r.level))
                    .unwrap_or_default();
                if members.is_empty() {
                    return Err(Error::new(
                        codes::GEN_DATA_NO_SUPPLIER,
                        format!("`{r}` has no members for {}.{}", source.name, c.name),
                    )
                    .help("the plan names a dimension level it does not declare: regenerate generated/ with `tally compile`"));
                }
                let (values, weights) = members.into_iter().unzip();
                Role::Reference(values, weights)
            } else if anchor == Some(i) {
                Role::Anchor
            } else if let Some(role) = cp.and_then(|p| profiled(ctx, source, c, p)) {
                role
            } else if is_list
                && source.retention.by.as_deref() == Some(c.name.as_str())
                && c.ty == ColumnType::Date
            {
                Role::Extracted
            } else if let Some(keys) = link_keys(ctx.plan, source, c, world) {
                Role::Link(keys)
            } else if c.ty == ColumnType::Date
                && c.pii.is_empty()
                && anchor.is_some()
                && !c.nullable
            {
                Role::AnchorDate
            } else if c.ty == ColumnType::Timestamp && anchor.is_some() {
                Role::After { median_minutes: 120.0, sigma: 0.9 }
            } else if matches!(c.ty, ColumnType::Timestamp | ColumnType::Date) && c.pii.is_empty() {
                Role::InPeriod
            } else if let ColumnType::Enum { values } = &c.ty {
                Role::Choice(enum_weights(c, values))
            } else if c.ty == ColumnType::Bool {
                Role::Bool(match c.default.as_ref() {
                    Some(serde_json::Value::Bool(true)) => 0.9,
                    _ => 0.1,
                })
            } else if let Some(kind) = fake::kind(&c.name, c.ty.word(), &c.pii) {
                Role::Kind(kind)
            } else {
                Role::Generic
            };
            let default_null = match &role {
                Role::Reference(..)
                | Role::Choice(_)
                | Role::Number(_)
                | Role::Generic
                | Role::Pattern(_) => 0.05,
                Role::InPeriod | Role::After { .. } => 0.1,
                Role::Kind(kind) => kind.null_share(),
                _ => 0.0,
            };
            let null = cp.and_then(|p| p.null_share).unwrap_or(default_null);
            let structural = matches!(
                role,
                Role::Id
                    | Role::Anchor
                    | Role::Watermark
                    | Role::AnchorDate
                    | Role::Reference(..)
                    | Role::Link(_)
                    | Role::Extracted
            );
            let per_row = matches!(
                role,
                Role::Sequence
                    | Role::PeriodKey
                    | Role::PeriodEnd(_)
                    | Role::RunningTotal(_)
                    | Role::DeleteMarker
            );
            let shared = match (&grouping, &shared_list) {
                (Grouping::Single | Grouping::Sequence, _) => false,
                (_, Some(list)) => !per_row && (structural || list.contains(c.name.as_str())),
                (_, None) => {
                    !per_row
                        && !matches!(
                            c.ty,
                            ColumnType::Int
                                | ColumnType::Decimal { .. }
                                | ColumnType::Bool
                                | ColumnType::Enum { .. }
                        )
                }
            };
            columns.push(ColumnPlan { role, null, shared, only_when: None });
        }
        // `refund_amount`, `refund_reason` only for `kind = refund`: a nullable column named after
        // one enum value of another column.
        for (i, c) in source.columns.iter().enumerate() {
            if !c.nullable || source.is_key(&c.name) {
                continue;
            }
            for (j, other) in source.columns.iter().enumerate() {
                let ColumnType::Enum { values } = &other.ty else { continue };
                if i == j {
                    continue;
                }
                if let Some(v) =
                    values.iter().find(|v| c.name.starts_with(&format!("{v}_")) || c.name == **v)
                {
                    columns[i].only_when = Some((j, v.clone()));
                }
            }
        }
        let order = compute_order(source, sp, &index);
        let id_pattern = key
            .first()
            .and_then(|k| column_profile(k))
            .and_then(|p| p.pattern.as_deref())
            .and_then(|p| Pattern::parse(p).ok());
        // The period length of the source's period labels (the key's, else any column's).
        let period_days = key
            .last()
            .into_iter()
            .chain(source.columns.iter().map(|c| &c.name))
            .find_map(|name| column_profile(name).and_then(|p| p.periods))
            .map_or(14, |p| p.days.max(1));
        let defaults = Defaults::of(source);
        let mut planner = SourcePlanner {
            ctx,
            source,
            columns,
            order,
            grouping,
            rate: sp.and_then(|p| p.rows_per_day.or(p.members)).unwrap_or(defaults.rate),
            updates: sp.and_then(|p| p.updates).unwrap_or(UPDATE_SHARE),
            deletes: sp.and_then(|p| p.deletes).unwrap_or(DELETE_SHARE),
            new_members: sp.and_then(|p| p.new_members).unwrap_or(NEW_SHARE),
            id_prefix: id_prefix(&source.name),
            id_pattern,
            periods: periods(&ctx.period, period_days),
            keep_keys: false,
            follows: Vec::new(),
        };
        planner.follows = planner.follows(world);
        Ok(planner)
    }

    // --- member lists ----------------------------------------------------------------------

    /// The one snapshot of a dimension's `from` source: a row per member of its finest level.
    pub fn member_batch(
        &self,
        rng: &mut Rng,
        members: &DimensionMembers,
        world: &mut World,
    ) -> Batch {
        let extract = self.ctx.period.start.date();
        let at = extract.and_time(chrono::NaiveTime::MIN);
        let mut rows = Vec::new();
        for n in 0..members.rows() {
            let fixed = members.row(n);
            let mut row = vec![Val::Null; self.columns.len()];
            for &i in &self.order {
                let c = &self.source.columns[i];
                row[i] = match fixed.get(&c.name) {
                    Some(text) => typed(c, text),
                    None if self.source.is_key(&c.name) => {
                        Val::Str(format!("{}{:02}", members::code(&c.name), n + 1))
                    }
                    None => self.value(rng, i, &row, at, extract, None),
                };
            }
            self.apply_conditions(&mut row);
            self.fill_required(rng, &mut row);
            rows.push(row);
        }
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
        self.publish_keys(&rows, world);
        Batch { date: extract, kind: "snapshot", rows, updates: 0, deletions: 0, bad_rows: 0 }
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
    /// Two full snapshots, the second with some members changed, some gone and some new, plus
    /// `bad_rows` rows of new members with one malformed value (rejected at load, so they
    /// change neither the current rows nor the archive).
    pub fn snapshot_batches(
        &self,
        rng: &mut Rng,
        scale: f64,
        bad_rows: u64,
        world: &mut World,
    ) -> Vec<Batch> {
        let members = ((self.rate * scale).round() as usize).max(20);
        let first_date = (self.ctx.period.cutoff - Duration::days(1)).date();
        let second_date = self.ctx.period.cutoff.date();
        let mut ids = IdMaker::new(&self.id_prefix);
        let mut groups: Vec<Vec<Vec<Val>>> = Vec::with_capacity(members);
        for _ in 0..members {
            groups.push(self.group(rng, &mut ids, None, first_date));
        }
        let first: Vec<Vec<Val>> = groups.iter().flatten().cloned().collect();
        let mut second = Vec::new();
        let (mut updates, mut deletions) = (0u64, 0u64);
        let mut draws: Vec<f64> = groups.iter().map(|_| rng.random()).collect();
        // However small the list, the second snapshot leaves out at least one member (when
        // deletions happen at all), so every snapshot source shows what a deletion does.
        if self.deletes > 0.0 && draws.len() > 1 && draws.iter().all(|x| *x >= self.deletes) {
            let forced = rng.random_range(0..draws.len());
            draws[forced] = 0.0;
        }
        for (group, x) in groups.iter().zip(draws) {
            if x < self.deletes {
                deletions += group.len() as u64;
                continue;
            }
            for row in group {
                let mut row = row.clone();
                self.set_extracted(&mut row, second_date);
                if x < self.deletes + self.updates {
                    self.mutate(rng, &mut row);
                    updates += 1;
                }
                second.push(row);
            }
        }
        let new = ((members as f64 * self.new_members).ceil() as usize).max(1);
        for _ in 0..new {
            second.extend(self.group(rng, &mut ids, None, second_date));
        }
        self.publish_keys(&second, world);
        let mut bad = 0;
        for k in 0..bad_rows {
            let mut extra = self.group(rng, &mut ids, None, second_date);
            if let (Some(mut row), Some((column, text))) =
                (extra.pop(), super::bad_column(self.source, k))
            {
                row[column] = Val::Raw(text.to_owned());
                second.push(row);
                bad += 1;
            }
        }
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
                bad_rows: bad,
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
    pub fn event_batches(
        &self,
        rng: &mut Rng,
        scale: f64,
        bad_rows: u64,
        world: &mut World,
        sink: &mut dyn FnMut(Batch) -> Result<()>,
    ) -> Result<()> {
        let p = self.ctx.period;
        let initial_days = f64::from(p.days - 1);
        let target_rows = (self.rate * scale * initial_days).round().max(20.0);
        let files = ((target_rows / super::ROWS_PER_FILE).ceil() as i64)
            .clamp(1, i64::from((p.days - 1).div_ceil(30)));
        let chunk = (p.cutoff - p.start) / i32::try_from(files).unwrap_or(1);
        let per_group = self.mean_group_size();
        let mut ids = IdMaker::new(&self.id_prefix);
        let mut sequence = 0i64;
        let mut pool: Vec<Vec<Val>> = Vec::new();
        let mode = self.source.load.mode();
        // Deletions reach every source with a delete marker. An append source's rows never
        // change: its corrections are a deletion of the row, then the corrected row.
        let marked = self.source.load.delete_marker().is_some();
        let deletes = if marked { self.deletes } else { 0.0 };
        let updates = if mode == "append" && !marked { 0.0 } else { self.updates };
        let pool_share = updates + deletes;
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
        let update_count = if pool_share > 0.0 {
            ((pool.len() as f64 * updates / pool_share).round() as usize).min(pool.len())
        } else {
            0
        };
        let mut updated = 0;
        for original in pool.iter().take(update_count) {
            let mut row = original.clone();
            self.mutate(rng, &mut row);
            let at = self.ctx.sample_time(rng, p.cutoff, follow_end, false);
            self.set_watermark(&mut row, at);
            if mode == "append" {
                rows.push(self.deleted(original));
            }
            rows.push(row);
            updated += 1;
        }
        let mut bad = 0;
        for k in 0..bad_rows {
            let mut extra = self.events(rng, &mut ids, &mut sequence, 1, p.cutoff, follow_end);
            if let (Some(mut row), Some((column, text))) =
                (extra.pop(), super::bad_column(self.source, k))
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
            updates: updated,
            deletions: 0,
            bad_rows: bad,
        })?;
        if marked {
            let mut rows: Vec<Vec<Val>> =
                pool.iter().skip(update_count).map(|r| self.deleted(r)).collect();
            if rows.is_empty() {
                rows.extend(first_row.take().map(|r| self.deleted(&r)));
            }
            // An incremental source's deletions are changes too: after the follow-up's, so that
            // they are not late.
            for row in &mut rows {
                let at = self.ctx.sample_time(rng, follow_end, p.end, false);
                self.set_watermark(row, at);
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

    /// The row with its delete marker set.
    fn deleted(&self, row: &[Val]) -> Vec<Val> {
        let mut row = row.to_vec();
        for (i, c) in self.columns.iter().enumerate() {
            if matches!(c.role, Role::DeleteMarker) {
                row[i] = Val::Bool(true);
            }
        }
        row
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
        match &self.grouping {
            Grouping::Single | Grouping::Sequence => 1.0,
            Grouping::Lines => 1.6,
            Grouping::Periods => self.periods.len().max(1) as f64,
            Grouping::Sized { lognormal, uniform, min, max } => {
                let typical = match (lognormal, uniform) {
                    (Some((median, _)), _) => *median,
                    (None, Some((lo, hi))) => (lo + hi) / 2.0,
                    (None, None) => 1.0,
                };
                typical.clamp(*min, *max)
            }
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
            (0..groups).map(|_| self.ctx.sample_time(rng, from, to, true)).collect();
        anchors.sort();
        let mut rows = Vec::new();
        for anchor in anchors {
            rows.extend(self.build_group(rng, ids, anchor, to, sequence, anchor.date()));
        }
        rows
    }

    /// One key group of a list (one row unless the key is composite).
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

    fn group_size(&self, rng: &mut Rng, extract: NaiveDate) -> usize {
        match &self.grouping {
            Grouping::Single | Grouping::Sequence => 1,
            Grouping::Lines => {
                let mut n = 1;
                while n < 6 && rng.random::<f64>() < 0.35 {
                    n += 1;
                }
                n
            }
            Grouping::Periods => {
                self.periods.iter().filter(|(_, end)| *end <= extract).count().max(1)
            }
            Grouping::Sized { lognormal, uniform, min, max } => {
                let x = match (lognormal, uniform) {
                    (Some((median, sigma)), _) => fake::lognormal(rng, *median, *sigma),
                    (None, Some((lo, hi))) => lo + rng.random::<f64>() * (hi - lo),
                    (None, None) => 1.0,
                };
                x.round().clamp(*min, *max) as usize
            }
        }
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
        let size = self.group_size(rng, extract);
        let mut rows: Vec<Vec<Val>> = Vec::with_capacity(size);
        let id = ids.next(self, rng, anchor);
        for member in 0..size {
            let mut row: Vec<Val> = vec![Val::Null; self.columns.len()];
            for &i in &self.order {
                let plan = &self.columns[i];
                if member > 0 && plan.shared {
                    row[i] = rows[0][i].clone();
                    continue;
                }
                row[i] = match &plan.role {
                    Role::Id => id.clone(),
                    Role::Sequence => {
                        if self.grouping == Grouping::Sequence {
                            *sequence += 1;
                            Val::Int(*sequence)
                        } else {
                            Val::Int(member as i64 + 1)
                        }
                    }
                    Role::PeriodKey => self
                        .periods
                        .get(member)
                        .map_or(Val::Str(format!("P-{member}")), |(label, _)| {
                            Val::Str(label.clone())
                        }),
                    Role::PeriodEnd(_) if self.grouping == Grouping::Periods => self
                        .periods
                        .get(member)
                        .map_or(Val::Date(extract), |(_, end)| Val::Date(*end)),
                    Role::RunningTotal(other) => {
                        // Within the key group and the fiscal year of each row.
                        let year = |m: usize| self.fiscal_year_of(m, anchor);
                        let this_year = year(member);
                        let mut total: f64 = rows
                            .iter()
                            .enumerate()
                            .filter(|(m, _)| year(*m) == this_year)
                            .map(|(_, r)| decimal_value(&r[*other]))
                            .sum();
                        total += decimal_value(&row[*other]);
                        number_val(&self.source.columns[i], total)
                    }
                    _ => self.value(rng, i, &row, anchor, extract, Some(chunk_end)),
                };
            }
            self.apply_follows(rng, &mut row);
            self.apply_conditions(&mut row);
            self.fill_required(rng, &mut row);
            rows.push(row);
        }
        rows
    }

    /// The fiscal year a row counts in: its period's, else its event's.
    fn fiscal_year_of(&self, member: usize, anchor: NaiveDateTime) -> i32 {
        let date = match self.grouping {
            Grouping::Periods => self.periods.get(member).map_or(anchor.date(), |(_, end)| *end),
            _ => anchor.date(),
        };
        self.ctx.period.fiscal_year(date)
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
            let Role::Choice(weights) = &self.columns[follow.column].role else { continue };
            let choices: Vec<(Val, f64)> = weights
                .iter()
                .filter(|(v, _)| v.as_str().is_some_and(|v| allowed.iter().any(|a| a == v)))
                .cloned()
                .collect();
            if !choices.is_empty() {
                row[follow.column] = fake::weighted(rng, &choices).clone();
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

    /// A value for column `i` of a row whose columns computed so far are in `row`.
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
        let p = self.ctx.period;
        let plan = &self.columns[i];
        if c.nullable && plan.null > 0.0 && rng.random::<f64>() < plan.null {
            return Val::Null;
        }
        let inside = |at: NaiveDateTime| {
            if at < p.end {
                typed_time(c, at)
            } else if c.nullable {
                Val::Null
            } else {
                typed_time(c, p.end - Duration::minutes(1))
            }
        };
        match &plan.role {
            Role::Anchor => typed_time(c, anchor),
            Role::Watermark => {
                let limit = chunk_end.unwrap_or(p.end) - Duration::seconds(1);
                let lag = Duration::minutes(fake::lognormal(rng, 20.0, 1.0).min(600.0) as i64);
                typed_time(c, (anchor + lag).min(limit).max(anchor))
            }
            Role::DeleteMarker => Val::Bool(false),
            Role::Extracted => Val::Date(extract),
            Role::AnchorDate => Val::Date(anchor.date()),
            Role::After { median_minutes, sigma } => {
                let minutes = fake::lognormal(rng, *median_minutes, *sigma).max(1.0);
                inside(anchor + Duration::seconds((minutes * 60.0) as i64))
            }
            Role::AfterColumn(from) => match row.get(*from).map(decimal_value_opt) {
                Some(Some(m)) => inside(anchor + Duration::seconds((m * 60.0) as i64)),
                _ if c.nullable => Val::Null,
                _ => typed_time(c, anchor),
            },
            Role::InPeriod => {
                let until = extract
                    .and_hms_opt(23, 59, 59)
                    .unwrap_or(p.end)
                    .min(p.end - Duration::seconds(1));
                typed_time(
                    c,
                    self.ctx.sample_time(
                        rng,
                        p.start,
                        until.max(p.start + Duration::seconds(1)),
                        false,
                    ),
                )
            }
            Role::PeriodLabel => {
                let date = anchor.date();
                let label = self
                    .periods
                    .iter()
                    .find(|(_, end)| *end >= date)
                    .or(self.periods.last())
                    .map_or_else(|| format!("{}-01", p.fiscal_year(date)), |(l, _)| l.clone());
                Val::Str(label)
            }
            Role::PeriodEnd(of) => {
                let label = row.get(*of).and_then(Val::as_str);
                let end =
                    self.periods.iter().find(|(l, _)| Some(l.as_str()) == label).map(|(_, e)| *e);
                Val::Date(end.unwrap_or(extract))
            }
            Role::Reference(values, weights) => {
                Val::Str(values[fake::weighted_index(rng, weights)].clone())
            }
            Role::Link(keys) if !keys.is_empty() => {
                Val::Str(keys[rng.random_range(0..keys.len())].clone())
            }
            Role::Choice(weights) if !weights.is_empty() => fake::weighted(rng, weights).clone(),
            Role::Pattern(pattern) => Val::Str(self.render(rng, pattern, anchor)),
            Role::Bool(share) => Val::Bool(rng.random::<f64>() < *share),
            Role::BoolWhen(column, values) => {
                let v = row.get(*column).and_then(Val::text);
                Val::Bool(v.is_some_and(|v| values.contains(&v)))
            }
            Role::Number(n) => self.number(rng, n, c, row, anchor),
            Role::Times(column, factors) => match row.get(*column).and_then(decimal_value_opt) {
                Some(base) => number_val(c, base * *fake::weighted(rng, factors)),
                None => Val::Null,
            },
            Role::Kind(kind) => self.kind(rng, kind, c),
            Role::Constant(v) => Val::Str(v.clone()),
            Role::Link(_)
            | Role::Choice(_)
            | Role::Generic
            | Role::RunningTotal(_)
            | Role::Id
            | Role::Sequence
            | Role::PeriodKey => self.generic(rng, c),
        }
    }

    fn number(
        &self,
        rng: &mut Rng,
        n: &Numbers,
        c: &Column,
        row: &[Val],
        anchor: NaiveDateTime,
    ) -> Val {
        if n.zero_share > 0.0 && rng.random::<f64>() < n.zero_share {
            return number_val(c, 0.0);
        }
        let mut x = match (n.lognormal, n.uniform) {
            (Some((median, sigma)), _) => {
                let mut median = median;
                if let Some((column, medians)) = &n.median_by {
                    if let Some(m) =
                        row.get(*column).and_then(Val::text).and_then(|v| medians.get(&v))
                    {
                        median = *m;
                    }
                }
                median += n.traffic_median * self.ctx.hours[anchor.hour() as usize];
                fake::lognormal(rng, median, sigma)
            }
            (None, Some((lo, hi))) => lo + rng.random::<f64>() * (hi - lo),
            (None, None) => 0.0,
        };
        if let Some((column, factors)) = &n.clusters {
            if let Some(value) = row.get(*column).and_then(Val::text) {
                let u = fake::unit_hash(&value);
                let mut reached = 0.0;
                for (share, factor) in factors {
                    reached += share;
                    if u < reached {
                        x *= factor;
                        break;
                    }
                }
            }
        }
        if let Some(lo) = n.min {
            x = x.max(lo);
        }
        if let Some(hi) = n.max {
            x = x.min(hi);
        }
        number_val(c, x)
    }

    /// The pattern's text for a row whose event is at `anchor`.
    fn render(&self, rng: &mut Rng, pattern: &Pattern, anchor: NaiveDateTime) -> String {
        let mut out = String::new();
        for piece in &pattern.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Number { low, high, width } => {
                    let n = rng.random_range(*low..=*high);
                    out.push_str(&format!("{n:0width$}", width = *width));
                }
                Piece::List(name) => {
                    if let Some(list) = self.ctx.lists.get(name).filter(|l| !l.is_empty()) {
                        out.push_str(fake::weighted::<String>(rng, list));
                    }
                }
                Piece::Date => out.push_str(&anchor.format("%Y%m%d").to_string()),
            }
        }
        out
    }

    fn generic(&self, rng: &mut Rng, c: &Column) -> Val {
        let p = self.ctx.period;
        match &c.ty {
            ColumnType::Int => Val::Int(rng.random_range(0..100)),
            ColumnType::Decimal { precision, scale } => {
                let top = 10f64.powi(i32::from(precision.saturating_sub(*scale))).min(1000.0);
                fit_decimal(rng.random::<f64>() * top, *precision, *scale)
            }
            ColumnType::Bool => Val::Bool(rng.random::<f64>() < 0.1),
            ColumnType::Date => Val::Date(self.ctx.sample_time(rng, p.start, p.end, false).date()),
            ColumnType::Timestamp => Val::Ts(self.ctx.sample_time(rng, p.start, p.end, false)),
            ColumnType::Enum { values } if !values.is_empty() => {
                Val::Str(values[rng.random_range(0..values.len())].clone())
            }
            ColumnType::Enum { .. } => Val::Null,
            ColumnType::String => {
                Val::Str(format!("{}-{:04}", c.name.replace('_', "-"), rng.random_range(1..10_000)))
            }
        }
    }

    fn kind(&self, rng: &mut Rng, kind: &Kind, c: &Column) -> Val {
        let text = |v: String| if c.ty == ColumnType::String { Val::Str(v) } else { Val::Null };
        let num = |v: f64| number_val(c, v);
        match kind {
            Kind::PersonName => text(fake::person_name(rng)),
            Kind::NameList => {
                let n = rng.random_range(1..4);
                text((0..n).map(|_| fake::person_name(rng)).collect::<Vec<_>>().join("; "))
            }
            Kind::Address => text(fake::address(rng)),
            Kind::Phone => text(fake::phone(rng)),
            Kind::Email => text(fake::email(rng)),
            Kind::Document(kind) => text(fake::fake_document(rng, kind)),
            Kind::EmployeeId => text(format!("FAKE-EMP-{:07}", rng.random_range(1..100_000u32))),
            Kind::BirthDate => {
                let year = (1978.0 + fake::normal(rng) * 15.0).round().clamp(1930.0, 2020.0) as i32;
                let day = rng.random_range(1..=365u32);
                let date = NaiveDate::from_yo_opt(year, day).unwrap_or_default();
                if c.ty == ColumnType::Date {
                    Val::Date(date)
                } else {
                    text(date.to_string())
                }
            }
            Kind::Gender => {
                text((*fake::weighted(rng, &[("M", 52.0), ("F", 47.0), ("X", 1.0)])).to_owned())
            }
            Kind::Nationality => text((*fake::pick(rng, fake::COUNTRIES)).to_owned()),
            Kind::Coordinates => text(format!(
                "{:.4},{:.4}",
                rng.random_range(-50.0..60.0f64),
                rng.random_range(-170.0..170.0f64)
            )),
            Kind::LicensePlate => text(format!("FAKE{:04}", rng.random_range(0..10_000))),
            Kind::BookingReference => {
                const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                text((0..6).map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char).collect())
            }
            Kind::Seat => text(format!(
                "{}{}",
                rng.random_range(1..46),
                ["A", "B", "C", "D", "E", "F", "J", "K"][rng.random_range(0..8)]
            )),
            Kind::FreeText => text(fake::free_text(rng)),
            Kind::Minutes => num(fake::lognormal(rng, 25.0, 0.8).clamp(1.0, 720.0)),
            Kind::Seconds => num(fake::lognormal(rng, 45.0, 0.6).clamp(5.0, 1800.0)),
            Kind::Hours => num(fake::lognormal(rng, 4.0, 0.6).min(24.0)),
            Kind::Money => num(fake::lognormal(rng, 500.0, 1.0)),
            Kind::Kilograms => num(fake::lognormal(rng, 1.5, 1.2).max(0.001)),
            Kind::Quantity => num(*fake::weighted(
                rng,
                &[(1.0, 50.0), (2.0, 25.0), (3.0, 12.0), (4.0, 8.0), (5.0, 5.0)],
            )),
            Kind::Level => num(*fake::weighted(
                rng,
                &[(1.0, 40.0), (2.0, 30.0), (3.0, 18.0), (4.0, 8.0), (5.0, 4.0)],
            )),
            Kind::SmallCount => {
                let mut n = 0;
                while n < 20 && rng.random::<f64>() < 0.4 {
                    n += 1;
                }
                num(f64::from(n))
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
                    Role::Choice(_)
                        | Role::Bool(_)
                        | Role::After { .. }
                        | Role::InPeriod
                        | Role::Kind(_)
                        | Role::Number(_)
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
            .unwrap_or(self.ctx.period.start);
        let extract = self.ctx.period.cutoff.date();
        let mut changed = Vec::new();
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
            changed.push(i);
        }
        // A timestamp computed from a changed column follows it (a corrected wait moves the
        // time the passenger cleared).
        for (j, c) in self.columns.iter().enumerate() {
            if matches!(c.role, Role::AfterColumn(from) if changed.contains(&from)) {
                row[j] = self.value(rng, j, row, anchor, extract, None);
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

    /// For each enum column, the first reference column whose members' rows (in their `from`
    /// source) have an attribute sharing values with the enum.
    fn follows(&self, world: &World) -> Vec<Follow> {
        let mut out = Vec::new();
        for (e, column) in self.source.columns.iter().enumerate() {
            let ColumnType::Enum { values } = &column.ty else { continue };
            if !matches!(self.columns[e].role, Role::Choice(_)) {
                continue;
            }
            'references: for (r, c) in self.source.columns.iter().enumerate() {
                let Some(reference) = &c.references else { continue };
                let Some(dimension) = self.ctx.dimensions.get(&reference.dimension) else {
                    continue;
                };
                let (Some(from), Some(level)) =
                    (&dimension.from, dimension.level(&reference.level))
                else {
                    continue;
                };
                let Some(members) = world.attributes.get(from) else { continue };
                let Some(first) = members.first() else { continue };
                let key = &level.key;
                for attribute in first.keys().filter(|a| *a != key) {
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
                        let (Some(k), Some(v)) = (m.get(key), m.get(attribute)) else { continue };
                        let choice =
                            if values.contains(v) { vec![v.clone()] } else { rest.clone() };
                        if !choice.is_empty() {
                            allowed.insert(k.clone(), choice);
                        }
                    }
                    out.push(Follow { column: e, reference: r, allowed });
                    break 'references;
                }
            }
        }
        out
    }
}

/// The role a column's profile gives it, if it gives one.
fn profiled(ctx: &Context<'_>, source: &SourcePlan, c: &Column, p: &ColumnProfile) -> Option<Role> {
    let index = |name: &str| source.columns.iter().position(|x| x.name == name);
    if let Some(weights) = &p.weights {
        return Some(Role::Choice(weights.iter().map(|(v, w)| (typed(c, v), *w)).collect()));
    }
    if let Some(list) = p.list.as_ref().and_then(|l| ctx.lists.get(l)) {
        return Some(Role::Choice(list.iter().map(|(v, w)| (typed(c, v), *w)).collect()));
    }
    if let Some(pattern) = p.pattern.as_deref().and_then(|t| Pattern::parse(t).ok()) {
        return Some(Role::Pattern(pattern));
    }
    if let Some(share) = p.true_share {
        return Some(Role::Bool(share));
    }
    if let Some(when) = &p.true_when {
        return Some(Role::BoolWhen(index(&when.column)?, when.values.clone()));
    }
    if p.lognormal.is_some() || p.uniform.is_some() {
        return Some(Role::Number(Box::new(Numbers {
            lognormal: p.lognormal.map(|l| (l.median, l.sigma)),
            uniform: p.uniform.map(|u| (u.min, u.max)),
            min: p.min,
            max: p.max,
            zero_share: p.zero_share.unwrap_or(0.0),
            median_by: p
                .median_by
                .as_ref()
                .and_then(|m| Some((index(&m.column)?, m.medians.clone()))),
            traffic_median: p.traffic_median.unwrap_or(0.0),
            clusters: p.clusters.as_ref().and_then(|cl| {
                Some((index(&cl.column)?, cl.factors.iter().map(|f| (f.share, f.factor)).collect()))
            }),
        })));
    }
    if let Some(times) = &p.times {
        let factors: Vec<(f64, f64)> =
            times.factors.iter().filter_map(|(f, w)| Some((f.parse::<f64>().ok()?, *w))).collect();
        return Some(Role::Times(index(&times.column)?, factors));
    }
    if let Some(after) = &p.after {
        if let Some(from) = &after.minutes_from {
            return Some(Role::AfterColumn(index(from)?));
        }
        return Some(Role::After {
            median_minutes: after.median_minutes.unwrap_or(120.0),
            sigma: after.sigma.unwrap_or(0.9),
        });
    }
    if let Some(of) = &p.running_total_of {
        return Some(Role::RunningTotal(index(of)?));
    }
    if p.periods.is_some() {
        return Some(Role::PeriodLabel);
    }
    if let Some(of) = &p.period_end_of {
        return Some(Role::PeriodEnd(index(of)?));
    }
    None
}

/// Columns in the order they are computed: each after the columns its profile computes it
/// from (and the key's period before the period's end); otherwise in declaration order.
fn compute_order(
    source: &SourcePlan,
    sp: Option<&SourceProfile>,
    index: &dyn Fn(&str) -> Option<usize>,
) -> Vec<usize> {
    let n = source.columns.len();
    let depends: Vec<Vec<usize>> = source
        .columns
        .iter()
        .map(|c| {
            sp.and_then(|p| p.columns.get(&c.name))
                .map(|p| p.depends_on().into_iter().filter_map(index).collect())
                .unwrap_or_default()
        })
        .collect();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let before = order.len();
        for i in 0..n {
            if !placed[i] && depends[i].iter().all(|d| placed[*d] || *d == i) {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            // A circle (the compiler refuses one): the rest in declaration order.
            order.extend((0..n).filter(|i| !placed[*i]));
            break;
        }
    }
    order
}

/// What a source gets without a profile.
struct Defaults {
    /// Rows a day (events) or members (lists) at scale 1, from how often the source refreshes.
    rate: f64,
}

impl Defaults {
    fn of(source: &SourcePlan) -> Defaults {
        if matches!(source.load, Load::Snapshot) {
            return Defaults { rate: 1_000.0 };
        }
        let rate = match source.freshness.expected_every_minutes {
            m if m <= 15 => 2_000.0,
            m if m <= 60 => 500.0,
            m if m <= 24 * 60 => 100.0,
            _ => 20.0,
        };
        Defaults { rate }
    }
}

/// The keys of the source whose first key column `c` is named like, when that source was
/// written.
fn link_keys(plan: &Plan, source: &SourcePlan, c: &Column, world: &World) -> Option<Vec<String>> {
    if c.ty != ColumnType::String || c.references.is_some() {
        return None;
    }
    let target =
        plan.sources.iter().find(|t| t.name != source.name && t.key.first() == Some(&c.name))?;
    world.keys.get(&target.name).filter(|k| !k.is_empty()).cloned()
}

fn enum_weights(c: &Column, values: &[String]) -> Vec<(Val, f64)> {
    let default = c.default_text();
    let n = values.len().max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let zipf = 1.0 / ((i + 1) as f64).powf(1.3);
            let w = if default.as_deref() == Some(v.as_str()) { 0.7 * n } else { zipf };
            (Val::Str(v.clone()), w)
        })
        .collect()
}

/// The column an event's time is: the retention `by` column, else the first required
/// timestamp; `None` for snapshot lists.
fn anchor_column(source: &SourcePlan) -> Option<usize> {
    if matches!(source.load, Load::Snapshot) {
        return None;
    }
    let (watermark, _) = load_columns(source);
    let time = |c: &Column| matches!(c.ty, ColumnType::Timestamp | ColumnType::Date);
    source
        .retention
        .by
        .as_deref()
        .and_then(|b| source.columns.iter().position(|c| c.name == b && time(c)))
        .filter(|i| Some(source.columns[*i].name.as_str()) != watermark)
        .or_else(|| {
            source.columns.iter().position(|c| {
                c.ty == ColumnType::Timestamp
                    && !c.nullable
                    && Some(c.name.as_str()) != watermark
                    && !source.is_key(&c.name)
            })
        })
}

fn typed_time(c: &Column, at: NaiveDateTime) -> Val {
    if c.ty == ColumnType::Date {
        Val::Date(at.date())
    } else {
        Val::Ts(at)
    }
}

/// A value of the profile, as written there, in the column's type.
fn typed(c: &Column, text: &str) -> Val {
    let parsed = match &c.ty {
        ColumnType::Int => text.parse().ok().map(Val::Int),
        ColumnType::Decimal { precision, scale } => {
            text.parse::<f64>().ok().map(|v| fit_decimal(v, *precision, *scale))
        }
        ColumnType::Bool => text.parse().ok().map(Val::Bool),
        ColumnType::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Val::Date),
        ColumnType::Timestamp => {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok().map(Val::Ts)
        }
        ColumnType::String | ColumnType::Enum { .. } => Some(Val::Str(text.to_owned())),
    };
    parsed.unwrap_or_else(|| Val::Raw(text.to_owned()))
}

/// A number in the column's type: a rounded int, or a decimal of its scale.
fn number_val(c: &Column, v: f64) -> Val {
    match &c.ty {
        ColumnType::Decimal { precision, scale } => fit_decimal(v, *precision, *scale),
        _ => Val::Int(v.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64),
    }
}

/// `clinic_visits` → `CLIVIS`: a readable identifier prefix from the source name.
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

/// Periods of `days` days ending in the period, labelled `<fiscal year>-<nn>`.
pub(crate) fn periods(period: &Period, days: u32) -> Vec<(String, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = period.start.date();
    let mut index_in_year = 0;
    let mut year = period.fiscal_year(start);
    loop {
        let end = start + Duration::days(i64::from(days) - 1);
        if end >= period.end.date() {
            break;
        }
        if period.fiscal_year(end) != year {
            year = period.fiscal_year(end);
            index_in_year = 0;
        }
        index_in_year += 1;
        out.push((format!("{year}-{index_in_year:02}"), end));
        start = end + Duration::days(1);
    }
    out
}

/// Makes the key groups' identifiers: unique by construction (a counter), or drawn from the
/// key's pattern until new.
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
        if c.ty == ColumnType::Int {
            return Val::Int(self.next as i64);
        }
        if let Some(pattern) = &plan.id_pattern {
            for _ in 0..100 {
                let id = plan.render(rng, pattern, anchor);
                if self.seen.insert(id.clone()) {
                    return Val::Str(id);
                }
            }
            // The pattern is used up: the counter keeps the key unique.
            return Val::Str(format!("{}-{}", plan.render(rng, pattern, anchor), self.next));
        }
        match fake::kind(&c.name, c.ty.word(), &c.pii) {
            Some(Kind::EmployeeId) => Val::Str(format!("FAKE-EMP-{:07}", self.next)),
            _ => Val::Str(format!("{}-{:09}", self.prefix, self.next)),
        }
    }
}

fn decimal_value_opt(v: &Val) -> Option<f64> {
    match v {
        Val::Dec { units, scale } => Some(*units as f64 / 10f64.powi(i32::from(*scale))),
        Val::Int(n) => Some(*n as f64),
        _ => None,
    }
}

fn decimal_value(v: &Val) -> f64 {
    decimal_value_opt(v).unwrap_or(0.0)
}

fn fit_decimal(v: f64, precision: u8, scale: u8) -> Val {
    let factor = 10f64.powi(i32::from(scale));
    let limit = 10f64.powi(i32::from(precision.min(18))) - 1.0;
    let units = (v * factor).round().clamp(-limit, limit);
    Val::Dec { units: units as i64, scale }
}
