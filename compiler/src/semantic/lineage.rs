//! Column-level lineage: which source columns a metric depends on, and how.
//!
//! [`uses`] lists every column a metric reads with the role it plays there (measured,
//! counted, filtered, grouped, ...). The personal-data checks ([`super::pii`]) judge each use;
//! [`lineage`] gathers them over a metric and every metric it reads, transitively, for
//! `tally lineage METRIC`: the columns with their roles, types and PII classes, the metrics
//! traversed and the PII classes involved.
//!
//! Cutting by a dimension (`by location.port`) reads columns too: the metric's column that
//! references the dimension (role `grouped`) and the key and label columns of the levels in the
//! dimension's source (role `dimension`).

use super::expr::{Expr, Node};
use super::model::*;
use crate::span::Span;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// What a column does for a metric. The order is the order roles are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// The argument of `count(...)` / `count(distinct ...)` in the measure: only how many
    /// values there are is kept.
    Counted,
    /// Read by the measure otherwise: aggregated (`sum`, `avg`, `min`, `max`) or passed to a
    /// function.
    Measured,
    /// In the measure's `where`, or in the condition of `share(...)`: it decides which rows
    /// count.
    Filtered,
    /// In `per ... having`.
    Having,
    /// A `per` key: rows are grouped by it before `having` is tested.
    PerKey,
    /// Cut by: a `by` column, or the column that references a dimension the metric is cut by.
    Grouped,
    /// `top N by` the column.
    Top,
    /// The metric's `time` column.
    Time,
    /// Read by `buckets`.
    Bucketed,
    /// The key or label of a level of a dimension the metric is cut by.
    Dimension,
}

impl ColumnRole {
    pub fn word(self) -> &'static str {
        match self {
            ColumnRole::Counted => "counted",
            ColumnRole::Measured => "measured",
            ColumnRole::Filtered => "filtered",
            ColumnRole::Having => "having",
            ColumnRole::PerKey => "per key",
            ColumnRole::Grouped => "grouped",
            ColumnRole::Top => "top",
            ColumnRole::Time => "time",
            ColumnRole::Bucketed => "bucketed",
            ColumnRole::Dimension => "dimension",
        }
    }
}

/// One place a metric reads a column of its source.
#[derive(Debug, Clone, Copy)]
pub(super) struct ColumnUse<'m> {
    pub source: &'m str,
    pub column: &'m str,
    pub span: Span,
    pub role: ColumnRole,
    /// The column is the whole argument of `count(...)`, which keeps none of its values (in
    /// the measure this is [`ColumnRole::Counted`]; in `having` the role stays `Having`).
    pub counted: bool,
    /// The innermost function the column is read inside, for messages.
    pub within: Option<&'m str>,
    /// The property the column is read in (`measure`, `where`, `by`, ...), for messages.
    pub property: &'static str,
}

/// Every column a metric reads directly, in the order of its properties (not through the
/// metrics a derived measure reads, nor through dimensions).
pub(super) fn uses<'m>(metric: &'m Metric) -> Vec<ColumnUse<'m>> {
    let mut out = Vec::new();
    if let Some(measure) = &metric.measure {
        let at = At { property: "measure", role: ColumnRole::Measured };
        walk(&measure.expr, at, None, false, &mut out);
        if let Some(filter) = &measure.filter {
            let at = At { property: "where", role: ColumnRole::Filtered };
            walk(filter, at, None, false, &mut out);
        }
    }
    if let Some(time) = &metric.time {
        out.push(ColumnUse {
            source: &time.source,
            column: &time.column,
            span: time.span,
            role: ColumnRole::Time,
            counted: false,
            within: None,
            property: "time",
        });
    }
    let axis_use = |axis: &'m Axis, role: ColumnRole, property: &'static str| match axis {
        Axis::Column { source, column, span } => Some(ColumnUse {
            source,
            column,
            span: *span,
            role,
            counted: false,
            within: None,
            property,
        }),
        _ => None,
    };
    out.extend(metric.by.iter().filter_map(|a| axis_use(a, ColumnRole::Grouped, "by")));
    out.extend(metric.top.iter().filter_map(|t| axis_use(&t.by, ColumnRole::Top, "top")));
    if let Some(buckets) = &metric.buckets {
        let at = At { property: "buckets", role: ColumnRole::Bucketed };
        walk(&buckets.expr, at, None, false, &mut out);
    }
    if let Some(per) = &metric.per {
        out.extend(per.keys.iter().filter_map(|a| axis_use(a, ColumnRole::PerKey, "per")));
        let at = At { property: "having", role: ColumnRole::Having };
        walk(&per.having, at, None, false, &mut out);
    }
    out
}

/// Where [`walk`] is: the property and the role its columns play.
#[derive(Clone, Copy)]
struct At {
    property: &'static str,
    role: ColumnRole,
}

fn walk<'m>(
    expr: &'m Expr,
    at: At,
    within: Option<&'static str>,
    counted: bool,
    out: &mut Vec<ColumnUse<'m>>,
) {
    let role = at.role;
    match &expr.node {
        Node::Column(column) => {
            let role =
                if counted && role == ColumnRole::Measured { ColumnRole::Counted } else { role };
            out.push(ColumnUse {
                source: &column.source,
                column: &column.column,
                span: column.span,
                role,
                counted,
                within,
                property: at.property,
            });
        }
        Node::Aggregate(aggregate) => {
            let function = aggregate.function;
            // `share(condition)` counts the rows the condition keeps: its columns filter.
            let at = if function == Function::Share && role == ColumnRole::Measured {
                At { role: ColumnRole::Filtered, ..at }
            } else {
                at
            };
            if let Some(arg) = &aggregate.arg {
                walk(arg, at, Some(function.word()), function == Function::Count, out);
            }
        }
        Node::Call { function, args } => {
            for arg in args {
                walk(arg, at, Some(function.word()), false, out);
            }
        }
        // What did not resolve was reported; its parts are judged once it does.
        Node::Literal(_) | Node::Metric(_) | Node::Total(_) | Node::Invalid(_) => {}
        Node::Neg(_)
        | Node::Not(_)
        | Node::IsNull { .. }
        | Node::Chain { .. }
        | Node::Compare { .. }
        | Node::Like { .. }
        | Node::InList { .. }
        | Node::Between { .. } => {
            for part in expr.children() {
                walk(part, at, within, false, out);
            }
        }
    }
}

/// The lineage of one metric (see the module docs). Everything is sorted and deduplicated.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    pub metric: String,
    /// The metric's value type, when known.
    #[serde(rename = "type")]
    pub value_type: Option<Type>,
    pub unit: Option<String>,
    /// The metric and every metric it reads, directly or through derived metrics.
    pub metrics: Vec<String>,
    /// Every source column the metrics read, by source and column name.
    pub columns: Vec<LineageColumn>,
    /// Every PII class among the columns.
    pub pii: Vec<PiiClass>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineageColumn {
    pub source: String,
    pub column: String,
    /// The column's type as written (`decimal(12, 3)`); `None` when it was invalid.
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub pii: Vec<PiiClass>,
    pub roles: Vec<ColumnRole>,
    /// The metrics that read the column directly.
    pub metrics: Vec<String>,
}

/// How a column is read: its roles, and the metrics that read it.
type Reads<'m> = (BTreeSet<ColumnRole>, BTreeSet<&'m str>);

/// The lineage of `metric`, or `None` when the model has no such metric. Cycles of derived
/// metrics are walked once.
pub fn lineage(model: &Model, metric: &str) -> Option<Lineage> {
    let (root, found) = model.metrics.get_key_value(metric)?;
    let mut traversed: BTreeSet<&str> = BTreeSet::new();
    let mut columns: BTreeMap<(&str, &str), Reads<'_>> = BTreeMap::new();
    let mut stack: Vec<&str> = vec![root.as_str()];
    while let Some(name) = stack.pop() {
        let Some(current) = model.metrics.get(name) else { continue };
        if !traversed.insert(name) {
            continue;
        }
        let mut add = |source: &str, column: &str, role: ColumnRole| {
            // Keys borrow from the model, whose strings outlive this function's result.
            let Some((s, source_model)) = model.sources.get_key_value(source) else { return };
            let Some((c, _)) = source_model.columns.get_key_value(column) else { return };
            let entry = columns.entry((s.as_str(), c.as_str())).or_default();
            entry.0.insert(role);
            entry.1.insert(name);
        };
        for u in uses(current) {
            add(u.source, u.column, u.role);
        }
        let axes = current.by.iter().chain(current.top.iter().map(|t| &t.by));
        let axes = axes.chain(current.per.iter().flat_map(|p| &p.keys));
        for axis in axes {
            let (dimension, level) = match axis {
                Axis::Dimension { dimension, .. } => (dimension, None),
                Axis::Level { dimension, level, .. } => (dimension, Some(level)),
                Axis::Time { .. } | Axis::Column { .. } => continue,
            };
            let Some(dim) = model.dimensions.get(dimension) else { continue };
            if let Some(source) =
                current.source.as_deref().and_then(|s| model.sources.get_key_value(s))
            {
                for column in source.1.columns.values() {
                    if column.references.as_ref().is_some_and(|r| &r.dimension == dimension) {
                        add(source.0, &column.name, ColumnRole::Grouped);
                    }
                }
            }
            let Some(from) = dim.from.as_deref() else { continue };
            let levels = dim.levels.values().filter(|l| level.is_none_or(|want| &l.name == want));
            for member in levels {
                for column in member.key.iter().chain(&member.label) {
                    add(from, column, ColumnRole::Dimension);
                }
            }
        }
        for read in current.measure.iter().flat_map(|m| &m.metrics) {
            if !traversed.contains(read.name.as_str()) {
                stack.push(&read.name);
            }
        }
    }
    let mut pii: BTreeSet<PiiClass> = BTreeSet::new();
    let columns: Vec<LineageColumn> = columns
        .into_iter()
        .map(|((source, column), (roles, metrics))| {
            let model_column = model.column(source, column);
            let classes = model_column.map(|c| c.pii.clone()).unwrap_or_default();
            pii.extend(classes.iter().copied());
            LineageColumn {
                source: source.to_string(),
                column: column.to_string(),
                ty: model_column
                    .and_then(|c| c.ty.as_ref())
                    .map(|t| Type::of_column(t).to_string()),
                pii: classes,
                roles: roles.into_iter().collect(),
                metrics: metrics.into_iter().map(str::to_string).collect(),
            }
        })
        .collect();
    Some(Lineage {
        metric: root.clone(),
        value_type: found.value_type.clone(),
        unit: found.unit.clone(),
        metrics: traversed.into_iter().map(str::to_string).collect(),
        columns,
        pii: pii.into_iter().collect(),
    })
}

impl Lineage {
    /// A table for people: the metric, then one line per column.
    pub fn to_text(&self) -> String {
        let or_dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        let classes = |pii: &[PiiClass]| {
            or_dash(&pii.iter().map(|c| c.word()).collect::<Vec<_>>().join(", "))
        };
        let mut out = String::new();
        let ty = self.value_type.as_ref().map_or_else(|| "unknown".to_string(), Type::to_string);
        writeln!(out, "metric   {}", self.metric).ok();
        writeln!(out, "type     {ty}").ok();
        writeln!(out, "unit     {}", or_dash(self.unit.as_deref().unwrap_or_default())).ok();
        writeln!(out, "metrics  {}", or_dash(&self.metrics.join(", "))).ok();
        writeln!(out, "pii      {}", classes(&self.pii)).ok();
        if self.columns.is_empty() {
            writeln!(out, "\nno source columns").ok();
            return out;
        }
        let header = ["column", "type", "pii", "roles", "metrics"];
        let rows: Vec<[String; 5]> = self
            .columns
            .iter()
            .map(|c| {
                [
                    format!("{}.{}", c.source, c.column),
                    c.ty.clone().unwrap_or_else(|| "?".to_string()),
                    classes(&c.pii),
                    c.roles.iter().map(|r| r.word()).collect::<Vec<_>>().join(", "),
                    c.metrics.join(", "),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        out.push('\n');
        let mut line = |cells: [&str; 5]| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    // Padded by hand: a width in a format string may not pass 65,535.
                    text.push_str(cell);
                    let padding = width.saturating_sub(cell.chars().count()) + 2;
                    text.extend(std::iter::repeat_n(' ', padding));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(header);
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        }
        out
    }
}
