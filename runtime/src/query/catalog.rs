//! What `tally query` asks of `plan.json`: the tables that publish metrics, their columns and
//! which of them each metric is cut by, the marts' declared drill-downs, the metrics (whether
//! they count, whether they are placed in time, their drill-down relation), the reports, and
//! the sources' columns with what a query may do with each (the compiler's decision). The
//! catalog is the contract's [`Plan`] read by [`crate::plan::load`], with the look-ups queries
//! need.

use crate::error::Result;
use crate::plan::{self, Plan};
use std::collections::BTreeSet;
use std::path::Path;
use tally_contract::plan::ColumnAccess;

pub use crate::plan::{
    CutColumn as Column, DrillPlan as Drill, MetricPlan as Metric, ReportPlan as Report,
    SourcePlan as Source, TablePlan as Table,
};

/// The plan, for queries.
#[derive(Debug, Clone)]
pub struct Catalog(Plan);

impl std::ops::Deref for Catalog {
    type Target = Plan;

    fn deref(&self) -> &Plan {
        &self.0
    }
}

impl From<Plan> for Catalog {
    fn from(plan: Plan) -> Catalog {
        Catalog(plan)
    }
}

/// The time axis's name as written in a table's `dimensions` (`time` of `time` or
/// `time.month`), when the table has one.
pub fn time_axis(table: &Table) -> Option<String> {
    if table.grains.is_empty() {
        return None;
    }
    let named: BTreeSet<String> = table
        .columns
        .iter()
        .flat_map(|c| [c.dimension.clone(), c.source.clone()])
        .flatten()
        .collect();
    table
        .dimensions
        .iter()
        .map(|d| d.split('.').next().unwrap_or(d).to_string())
        .find(|first| !named.contains(first))
        .or_else(|| Some("time".to_string()))
}

impl Catalog {
    /// Reads `dir/plan.json`.
    pub fn load(dir: &Path) -> Result<Catalog> {
        plan::load(dir).map(Catalog)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Catalog> {
        plan::parse(text, origin).map(Catalog)
    }

    /// Whether `name` is placed in time (its rows have a grain and a period), as the compiler
    /// decided. Unknown metrics count as timed.
    pub fn timed(&self, name: &str) -> bool {
        self.metric(name).is_none_or(|m| m.timed)
    }

    /// The only grains `name` has values at (a target, or a metric derived from one); `None`
    /// when it has values at every grain its tables keep.
    pub fn target_grains(&self, name: &str) -> Option<&[String]> {
        self.metric(name).map(|m| m.grains.as_slice()).filter(|g| !g.is_empty())
    }

    pub fn table(&self, table: &str) -> Option<&Table> {
        self.tables().find(|t| t.table == table)
    }

    /// The tables that publish `metric`.
    pub fn publishing(&self, metric: &str) -> Vec<&Table> {
        self.tables().filter(|t| t.metrics.iter().any(|m| m == metric)).collect()
    }

    /// What a query may do with the source column `source.column`, as the compiler decided
    /// (`plan.json` `sources[].columns[].access`); `None` when there is no such column.
    pub fn access(&self, source: &str, column: &str) -> Option<ColumnAccess> {
        self.sources.iter().find(|s| s.name == source)?.column(column).map(|c| c.access)
    }

    /// Whether `name` (any case) is the name of a source column that may not be grouped by
    /// or filtered on (a direct identifier): ad hoc SQL may not name it anywhere.
    pub fn is_identifier_name(&self, name: &str) -> bool {
        self.sources
            .iter()
            .flat_map(|s| &s.columns)
            .any(|c| c.name.eq_ignore_ascii_case(name) && !(c.access.group && c.access.filter))
    }

    pub fn metric_names(&self) -> Vec<&str> {
        self.metrics.iter().map(|m| m.name.as_str()).collect()
    }
}
