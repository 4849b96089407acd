//! The tables metric values are published in, and their shape.
//!
//! Every mart has a table `mart_<mart>`; a metric that no mart shows has its own table
//! `agg_<metric>`, cut by the metric's `by` and `grain` as if it were a one-metric mart. Both
//! have the same columns (see `docs/artifacts.md`): one row per metric, time grain, period,
//! combination of dimension members (and bucket, and `top` member).
//!
//! A row's **`levels`** column lists the dimension columns the row is grouped by
//! (`region,clinic`, `region`, or empty for the total), so that a rolled-up row (where
//! `clinic` is NULL because it covers every clinic) is never confused with a row for a member
//! that is NULL. Every coarser cut is stored, not rolled up at query time, because
//! `count(distinct ...)`, `avg` and ratios do not add up.
//!
//! Which cuts a mart keeps:
//!
//! - **Time**: the mart's `grain` (else the grain of its `time.<grain>` axis, else `day`) and
//!   every coarser grain the calendar offers.
//! - **A level** (`geography.clinic`): that level and every level above it in the dimension's
//!   hierarchies (`region`; `national`, which has no key, is the total).
//! - **A dimension** (`geography`): all of its levels.
//! - **A column** (`visits.visit_type`): the column, and the total.

use super::schema::{Column, SqlType, TableKind};
use crate::semantic::{Axis, Grain, Model};
use std::collections::BTreeSet;

/// The type of `value` and `previous_value`: exact, on every engine.
pub const VALUE_TYPE: SqlType = SqlType::Decimal { precision: 38, scale: 6 };

/// Column names every cut table has; a dimension column that would clash is prefixed.
pub const FIXED_COLUMNS: &[&str] = &[
    "metric",
    "grain",
    "period_start",
    "levels",
    "bucket",
    "member",
    "value",
    "previous_value",
    "previous_rows",
    "cell_rows",
    "partial",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutTable {
    pub name: String,
    /// [`TableKind::Mart`] or [`TableKind::MetricAggregate`].
    pub kind: TableKind,
    /// The mart, or the metric for an aggregate table.
    pub owner: String,
    /// Metrics stored in it, in the mart's order.
    pub metrics: Vec<String>,
    /// Time grains kept, finest first; empty when the table has no time axis.
    pub grains: Vec<Grain>,
    /// Dimension and column axes, in the order listed.
    pub dimensions: Vec<CutDimension>,
    /// One text column per kept keyed level and per column axis.
    pub columns: Vec<CutColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutDimension {
    /// A dimension and the levels of it the table keeps, in declaration order.
    Levels { dimension: String, kept: Vec<String> },
    /// A column of a source.
    Column { source: String, column: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutColumn {
    pub name: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Level { dimension: String, level: String },
    Column { source: String, column: String },
}

impl CutTable {
    /// The table column holding a dimension level's members, if the table keeps it.
    pub fn level_column(&self, dimension: &str, level: &str) -> Option<&CutColumn> {
        self.columns.iter().find(|c| {
            matches!(&c.origin, Origin::Level { dimension: d, level: l } if d == dimension && l == level)
        })
    }

    /// The table column for a source column axis.
    pub fn source_column(&self, source: &str, column: &str) -> Option<&CutColumn> {
        self.columns.iter().find(|c| {
            matches!(&c.origin, Origin::Column { source: s, column: c } if s == source && c == column)
        })
    }

    /// The table's columns, for the schema.
    pub fn schema_columns(&self) -> Vec<Column> {
        let column = |name: &str, ty: SqlType, nullable: bool| Column {
            name: name.to_string(),
            ty,
            nullable,
            default: None,
        };
        let mut columns = vec![
            column("metric", SqlType::Text, false),
            column("grain", SqlType::Text, true),
            column("period_start", SqlType::Timestamp, true),
            column("levels", SqlType::Text, false),
        ];
        columns.extend(self.columns.iter().map(|c| column(&c.name, SqlType::Text, true)));
        columns.extend([
            column("bucket", SqlType::Text, true),
            column("member", SqlType::Text, true),
            column("value", VALUE_TYPE, true),
            column("previous_value", VALUE_TYPE, true),
            // The rows behind a `to date` comparison's `previous_value`, for suppression.
            column("previous_rows", SqlType::BigInt, true),
            column("cell_rows", SqlType::BigInt, false),
            // Whether the period had not ended at the refresh.
            column("partial", SqlType::Boolean, true),
        ]);
        columns
    }
}

pub fn mart_table(mart: &str) -> String {
    format!("mart_{mart}")
}

/// Where a mart's cells past its records schedule's `keep` wait: `arc_mart_<mart>`.
pub fn mart_archive_table(table: &str) -> String {
    format!("arc_{table}")
}

pub fn aggregate_table(metric: &str) -> String {
    format!("agg_{metric}")
}

/// How coarse a grain is; grains of equal rank cover periods of about the same length.
pub fn grain_rank(grain: Grain) -> u8 {
    match grain {
        Grain::QuarterHour => 0,
        Grain::Hour => 1,
        Grain::Day => 2,
        Grain::Week => 3,
        Grain::Month => 4,
        Grain::Quarter | Grain::FiscalQuarter => 5,
        Grain::Year | Grain::FiscalYear => 6,
    }
}

/// Every cut table, marts first (by name), then aggregate tables (by metric name).
pub fn cut_tables(model: &Model) -> Vec<CutTable> {
    let mut tables = Vec::new();
    let mut marts: Vec<&String> = model.marts.keys().collect();
    marts.sort();
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    for name in marts {
        let mart = &model.marts[name];
        let metrics: Vec<String> = mart.metrics.iter().map(|m| m.name.clone()).collect();
        shown.extend(mart.metrics.iter().map(|m| m.name.as_str()));
        tables.push(layout(
            model,
            mart_table(name),
            TableKind::Mart,
            name,
            metrics,
            &mart.dimensions,
            mart.grain,
        ));
    }
    let mut metrics: Vec<&String> = model.metrics.keys().collect();
    metrics.sort();
    for name in metrics {
        if shown.contains(name.as_str()) {
            continue;
        }
        let metric = &model.metrics[name];
        let mut axes = metric.by.clone();
        let has_time = axes.iter().any(|a| matches!(a, Axis::Time { .. }));
        // A metric placed in time is published over time even when `by` does not say so.
        if !has_time && (metric.time.is_some() || metric.is_derived()) {
            axes.push(Axis::Time { grain: metric.grain, span: metric.meta.span });
        }
        tables.push(layout(
            model,
            aggregate_table(name),
            TableKind::MetricAggregate,
            name,
            vec![name.clone()],
            &axes,
            metric.grain,
        ));
    }
    tables
}

fn layout(
    model: &Model,
    name: String,
    kind: TableKind,
    owner: &str,
    metrics: Vec<String>,
    axes: &[Axis],
    grain: Option<Grain>,
) -> CutTable {
    let mut grains = Vec::new();
    let mut dimensions: Vec<CutDimension> = Vec::new();
    for axis in axes {
        match axis {
            Axis::Time { grain: axis_grain, .. } => {
                if !grains.is_empty() {
                    continue;
                }
                let finest = grain.or(*axis_grain).unwrap_or(Grain::Day);
                grains = model
                    .calendar
                    .grains
                    .iter()
                    .copied()
                    .filter(|g| grain_rank(*g) >= grain_rank(finest))
                    .collect();
                if !grains.contains(&finest) {
                    grains.insert(0, finest);
                }
                grains.sort_by_key(|g| (grain_rank(*g), *g));
            }
            Axis::Level { dimension, level, .. } => {
                let mut wanted = ancestors(model, dimension, level);
                wanted.insert(level.clone());
                keep_levels(model, &mut dimensions, dimension, wanted);
            }
            Axis::Dimension { dimension, .. } => {
                let wanted = model
                    .dimensions
                    .get(dimension)
                    .map(|d| d.levels.keys().cloned().collect())
                    .unwrap_or_default();
                keep_levels(model, &mut dimensions, dimension, wanted);
            }
            Axis::Column { source, column, .. } => {
                let axis = CutDimension::Column { source: source.clone(), column: column.clone() };
                if !dimensions.contains(&axis) {
                    dimensions.push(axis);
                }
            }
        }
    }
    let columns = name_columns(model, &dimensions);
    CutTable { name, kind, owner: owner.to_string(), metrics, grains, dimensions, columns }
}

/// Adds `wanted` levels to the dimension's entry (one entry per dimension, however many axes
/// name it), in the dimension's declaration order.
fn keep_levels(
    model: &Model,
    dimensions: &mut Vec<CutDimension>,
    dimension: &str,
    mut wanted: BTreeSet<String>,
) {
    let existing = dimensions.iter_mut().find_map(|d| match d {
        CutDimension::Levels { dimension: name, kept } if name == dimension => Some(kept),
        _ => None,
    });
    let declared: Vec<String> = model
        .dimensions
        .get(dimension)
        .map(|d| d.levels.keys().cloned().collect())
        .unwrap_or_default();
    match existing {
        Some(kept) => {
            wanted.extend(kept.iter().cloned());
            *kept = declared.into_iter().filter(|l| wanted.contains(l)).collect();
        }
        None => dimensions.push(CutDimension::Levels {
            dimension: dimension.to_string(),
            kept: declared.into_iter().filter(|l| wanted.contains(l)).collect(),
        }),
    }
}

/// Column names: the level or column name, or `<dimension>_<level>` / `<source>_<column>`
/// when two axes would give the same name or the name is one of [`FIXED_COLUMNS`].
fn name_columns(model: &Model, dimensions: &[CutDimension]) -> Vec<CutColumn> {
    let mut wanted: Vec<(String, String, Origin)> = Vec::new();
    for d in dimensions {
        match d {
            CutDimension::Levels { dimension, kept } => {
                for level in kept {
                    if !has_key(model, dimension, level) {
                        continue;
                    }
                    wanted.push((
                        level.clone(),
                        format!("{dimension}_{level}"),
                        Origin::Level { dimension: dimension.clone(), level: level.clone() },
                    ));
                }
            }
            CutDimension::Column { source, column } => wanted.push((
                column.clone(),
                format!("{source}_{column}"),
                Origin::Column { source: source.clone(), column: column.clone() },
            )),
        }
    }
    let clashes = |name: &str| {
        FIXED_COLUMNS.contains(&name) || wanted.iter().filter(|(n, _, _)| n == name).count() > 1
    };
    wanted
        .iter()
        .map(|(short, long, origin)| CutColumn {
            name: if clashes(short) { long.clone() } else { short.clone() },
            origin: origin.clone(),
        })
        .collect()
}

/// Whether a level has members of its own (a `key`); a level without one is the total.
pub fn has_key(model: &Model, dimension: &str, level: &str) -> bool {
    level_key(model, dimension, level).is_some()
}

/// The column of the dimension's `from` source that identifies a level's members.
pub fn level_key<'m>(model: &'m Model, dimension: &str, level: &str) -> Option<&'m str> {
    model.dimensions.get(dimension)?.levels.get(level)?.key.as_deref()
}

/// Levels above `level` in any of the dimension's hierarchies.
pub fn ancestors(model: &Model, dimension: &str, level: &str) -> BTreeSet<String> {
    let mut above = BTreeSet::new();
    if let Some(d) = model.dimensions.get(dimension) {
        for hierarchy in &d.hierarchies {
            if let Some(position) = hierarchy.levels.iter().position(|l| l == level) {
                above.extend(hierarchy.levels[..position].iter().cloned());
            }
        }
    }
    above
}

/// The first column of `source` that references `dimension`, and the level it references:
/// how rows of the source are placed in the dimension.
pub fn fact_level<'m>(
    model: &'m Model,
    source: &str,
    dimension: &str,
) -> Option<(&'m str, &'m str)> {
    model.sources.get(source)?.columns.values().find_map(|c| {
        let r = c.references.as_ref()?;
        (r.dimension == dimension).then_some((c.name.as_str(), r.level.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryFs;

    const PROJECT: &str = r#"
source ports {
  title "Ports"
  refresh daily
  landing "ports/*.csv" as csv
  load snapshot
  key code
  columns {
    code   string
    region string not null
    metric string not null
  }
}

dimension location {
  from ports
  level national
  level region key region
  level port key code
  hierarchy national > region > port
}

dimension area {
  from ports
  level region key region
}

source visits {
  title "Visits"
  refresh hourly
  landing "visits/*.csv" as csv
  load append
  key id
  columns {
    id      string
    port    string -> location.port
    at      timestamp not null
    metric  string
  }
}

metric visit_count {
  measure count(*)
  time visits.at
}

mart traffic {
  kind dashboard
  metrics visit_count
  dimensions location.port, area.region, visits.metric, time
  grain week
}
"#;

    #[test]
    fn levels_above_come_along_and_clashing_names_are_prefixed() {
        let fs = MemoryFs::new().with("tally.yaml", "name: t\n").with("main.tally", PROJECT);
        let checked = crate::check(&fs, "");
        assert!(!checked.has_errors(), "{:#?}", checked.diagnostics());
        let tables = cut_tables(&checked.model);
        let traffic = &tables[0];
        assert_eq!(traffic.name, "mart_traffic");
        let names: Vec<&str> = traffic.columns.iter().map(|c| c.name.as_str()).collect();
        // `region` is a level of two dimensions; `metric` is a fixed column.
        assert_eq!(names, ["location_region", "port", "area_region", "visits_metric"]);
        let grains: Vec<&str> = traffic.grains.iter().map(|g| g.word()).collect();
        assert_eq!(grains, ["week", "month", "quarter", "fiscal_quarter", "year", "fiscal_year"]);
        assert!(tables.len() == 1, "every metric is in a mart: no aggregate tables");
    }
}
