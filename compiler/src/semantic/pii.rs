//! Personal data stays out of reports, by construction.
//!
//! EMIS-EDW's privacy impact assessment promises that reports are aggregate only and contain
//! no PII, and that no search by PII is possible. Tally makes a project that breaks either
//! promise fail to compile, by following each PII column to every place it is used
//! ([`super::lineage::uses`] for metrics; marts, reports, dimensions and column references
//! here). The classes of a column ([`Column::pii`]) decide what it may do:
//!
//! - **Direct identifiers** (every class but `gender` and `nationality`) may appear only as
//!   the argument of `count(...)` or `count(distinct ...)`, which keep how many values there
//!   are and none of the values. Grouping by one (`T0501`), filtering on one (`T0502`) or
//!   reading one in a measure any other way (`T0503`) would list people or find them.
//! - **Demographic attributes** (`gender`, `nationality`) describe groups: they may also be
//!   grouped by and filtered on (*Top 10 Nationalities*, *Total Mexican Apprehensions*),
//!   because every output is an aggregate and the role's `min_cell_size` hides small cells.
//!   They are still not output as values (`T0503`).
//! - No PII column of any class is listed in a mart's `drill` (`T0504`): drill-down shows
//!   rows, and a row is a person.
//!
//! A column with a direct class and a demographic one is a direct identifier. Derived metrics
//! need no rule: they combine metrics, which are aggregates, so no PII value reaches them.

use super::lineage::{uses, ColumnRole};
use super::model::*;
use crate::diagnostic::{codes, Code, Diagnostic};
use crate::span::Span;

/// How much a column says about one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exposure {
    None,
    /// Only `gender` and/or `nationality`.
    Demographic,
    Direct,
}

fn exposure(column: &Column) -> Exposure {
    if column.pii.is_empty() {
        Exposure::None
    } else if column.pii.iter().all(|c| c.is_demographic()) {
        Exposure::Demographic
    } else {
        Exposure::Direct
    }
}

/// What was done with a PII column: decides the code and the words of the diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Grouped,
    Filtered,
    Output,
    Drill,
}

impl Path {
    fn code(self) -> Code {
        match self {
            Path::Grouped => codes::PII_GROUPED,
            Path::Filtered => codes::PII_FILTERED,
            Path::Output => codes::PII_OUTPUT,
            Path::Drill => codes::PII_IN_DRILL,
        }
    }

    fn allows(self, exposure: Exposure) -> bool {
        match exposure {
            Exposure::None => true,
            Exposure::Demographic => matches!(self, Path::Grouped | Path::Filtered),
            Exposure::Direct => false,
        }
    }
}

/// What a query may do with `column`: cut by it, filter on it, show its values. The same rule
/// as the checks of metrics, marts and drills below, written into `plan.json` so that the
/// runtime applies this decision and no rule of its own.
pub fn access(column: &Column) -> tally_contract::plan::ColumnAccess {
    let exposure = exposure(column);
    tally_contract::plan::ColumnAccess {
        group: Path::Grouped.allows(exposure),
        filter: Path::Filtered.allows(exposure),
        show: Path::Drill.allows(exposure) && Path::Output.allows(exposure),
    }
}

/// Where a PII column was met: the column, the place and how it got there.
struct Found<'a> {
    source: &'a str,
    column: &'a str,
    span: Span,
    path: Path,
    /// "metric `x`", "mart `y`"
    owner: String,
    /// The property: "`by`", "level `port`"
    via: String,
    /// The label of the use.
    label: String,
}

pub(super) fn check(model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    let mut found: Vec<Found<'_>> = Vec::new();
    for (name, metric) in &model.metrics {
        let owner = format!("metric `{name}`");
        for u in uses(metric) {
            let personal = model.column(u.source, u.column).is_some_and(|c| !c.pii.is_empty());
            if u.counted || !personal {
                continue;
            }
            let (path, label) = match u.role {
                ColumnRole::Counted | ColumnRole::Dimension => continue,
                ColumnRole::Measured => {
                    let label = match u.within {
                        Some(function) => format!("read by `{function}`"),
                        None => "read outside any aggregate".to_string(),
                    };
                    (Path::Output, label)
                }
                ColumnRole::Filtered if u.property == "measure" => {
                    (Path::Filtered, "tested by `share`".to_string())
                }
                ColumnRole::Filtered => (Path::Filtered, "filtered on".to_string()),
                ColumnRole::Having => (Path::Filtered, "tested".to_string()),
                ColumnRole::PerKey => (Path::Filtered, "groups tested by `having`".to_string()),
                ColumnRole::Grouped => (Path::Grouped, "cut by".to_string()),
                ColumnRole::Top => (Path::Grouped, "ranked by".to_string()),
                ColumnRole::Time => (Path::Grouped, "places rows in time".to_string()),
                ColumnRole::Bucketed => (Path::Grouped, "bucketed".to_string()),
            };
            found.push(Found {
                source: u.source,
                column: u.column,
                span: u.span,
                path,
                owner: owner.clone(),
                via: format!("`{}`", u.property),
                label,
            });
        }
    }
    for (name, mart) in &model.marts {
        for axis in &mart.dimensions {
            if let Axis::Column { source, column, span } = axis {
                found.push(Found {
                    source,
                    column,
                    span: *span,
                    path: Path::Grouped,
                    owner: format!("mart `{name}`"),
                    via: "`dimensions`".to_string(),
                    label: "cut by".to_string(),
                });
            }
        }
        if let Some(drill) = &mart.drill {
            for (column, span) in drill.columns.iter().zip(&drill.column_spans) {
                found.push(Found {
                    source: &drill.source,
                    column,
                    span: *span,
                    path: Path::Drill,
                    owner: format!("mart `{name}`"),
                    via: "`drill`".to_string(),
                    label: "shown row by row".to_string(),
                });
            }
        }
    }
    for (name, report) in &model.reports {
        for axis in &report.by {
            if let Axis::Column { source, column, span } = axis {
                found.push(Found {
                    source,
                    column,
                    span: *span,
                    path: Path::Grouped,
                    owner: format!("report `{name}`"),
                    via: "`by`".to_string(),
                    label: "cut by".to_string(),
                });
            }
        }
    }
    for (name, dimension) in &model.dimensions {
        let Some(from) = dimension.from.as_deref() else { continue };
        for level in dimension.levels.values() {
            let members =
                [("key", &level.key, level.key_span), ("label", &level.label, level.label_span)];
            for (what, column, span) in members {
                let Some(column) = column else { continue };
                found.push(Found {
                    source: from,
                    column,
                    span: span.unwrap_or(level.span),
                    path: Path::Grouped,
                    owner: format!("dimension `{name}`"),
                    via: format!("level `{}`", level.name),
                    label: format!("the {what} of its members"),
                });
            }
        }
    }
    for (name, source) in &model.sources {
        for column in source.columns.values() {
            let Some(reference) = &column.references else { continue };
            found.push(Found {
                source: name,
                column: &column.name,
                span: reference.span,
                path: Path::Grouped,
                owner: format!("source `{name}`"),
                via: format!("`-> {}.{}`", reference.dimension, reference.level),
                label: "members of a dimension level".to_string(),
            });
        }
    }
    for f in found {
        let Some(column) = model.column(f.source, f.column) else { continue };
        let exposure = exposure(column);
        if f.path.allows(exposure) {
            continue;
        }
        diagnostics.push(diagnostic(&f, column, exposure));
    }
}

fn diagnostic(f: &Found<'_>, column: &Column, exposure: Exposure) -> Diagnostic {
    let name = format!("{}.{}", f.source, f.column);
    let classes: Vec<&str> = column.pii.iter().map(|c| c.word()).collect();
    let classes = classes.join(", ");
    let done = match f.path {
        Path::Grouped => "is grouped by",
        Path::Filtered => "is filtered on",
        Path::Output => "is used outside `count`",
        Path::Drill => "is listed",
    };
    let help = match f.path {
        Path::Grouped => format!(
            "cut by a column or dimension level without personal data; to count people, use `count(distinct {name})`"
        ),
        Path::Filtered => {
            "filter on a column without personal data: no search by PII is possible".to_string()
        }
        Path::Output => format!("count it instead: `count(distinct {name})`"),
        Path::Drill => format!("remove `{}` from the drill", f.column),
    };
    let mut d = Diagnostic::error(
        f.path.code(),
        format!("`{name}` (pii: {classes}) {done} in {} via {}", f.owner, f.via),
        f.span,
    )
    .label(f.label.clone())
    .secondary(column.span, format!("declared `pii({classes})` here"))
    .help(help);
    d = match (f.path, exposure) {
        (Path::Drill | Path::Output, Exposure::Demographic) => d.note(
            "gender and nationality may be grouped and filtered, since reports show only aggregates, but their values are never shown",
        ),
        (Path::Grouped | Path::Filtered, _) => d.note(
            "a PII column that identifies a person may only be counted, with `count(...)` or `count(distinct ...)`",
        ),
        _ => d,
    };
    d
}
