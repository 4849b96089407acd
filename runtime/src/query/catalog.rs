//! What `tally query` reads from `plan.json`: the tables that publish metrics and their
//! columns, the metrics (whether they count, their drill-down relation), the reports, and the
//! sources' columns with their personal-data classes. Read on its own (not through
//! [`crate::plan`], which holds what the ETL executes), and only these parts.

use crate::error::{codes, Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    pub sources: Vec<Source>,
    pub metrics: Vec<Metric>,
    pub marts: Vec<Table>,
    pub aggregates: Vec<Table>,
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub name: String,
    pub title: Option<String>,
    pub columns: Vec<SourceColumn>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourceColumn {
    pub name: String,
    pub pii: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metric {
    pub name: String,
    pub title: Option<String>,
    pub derived: bool,
    pub source: Option<String>,
    pub counts: bool,
    pub drill: Option<Drill>,
    /// What it reads (a derived metric: the metrics it is computed from).
    pub inputs: crate::plan::Inputs,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Drill {
    pub source: String,
    pub time: Option<String>,
    pub columns: Vec<Column>,
    pub sql: BTreeMap<String, String>,
}

/// A column and what it holds: a dimension level or a source column.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Column {
    pub name: String,
    pub dimension: Option<String>,
    pub level: Option<String>,
    pub source: Option<String>,
    pub column: Option<String>,
}

impl Column {
    /// How a user names it: `location.port`, `seizures.kind`.
    pub fn axis(&self) -> String {
        match (&self.dimension, &self.level, &self.source, &self.column) {
            (Some(d), Some(l), _, _) => format!("{d}.{l}"),
            (_, _, Some(s), Some(c)) => format!("{s}.{c}"),
            _ => self.name.clone(),
        }
    }

    pub fn is_level(&self, dimension: &str, level: &str) -> bool {
        self.dimension.as_deref() == Some(dimension) && self.level.as_deref() == Some(level)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    pub name: String,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub table: String,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub grain: Option<String>,
    pub grains: Vec<String>,
    pub columns: Vec<Column>,
}

impl Table {
    /// The time axis's name as written in `dimensions` (`time` of `time` or `time.month`),
    /// when the table has one.
    pub fn time_axis(&self) -> Option<String> {
        if self.grains.is_empty() {
            return None;
        }
        let named: BTreeSet<String> = self
            .columns
            .iter()
            .flat_map(|c| [c.dimension.clone(), c.source.clone()])
            .flatten()
            .collect();
        self.dimensions
            .iter()
            .map(|d| d.split('.').next().unwrap_or(d).to_string())
            .find(|first| !named.contains(first))
            .or_else(|| Some("time".to_string()))
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub name: String,
    pub title: Option<String>,
    pub mart: String,
    pub table: String,
    pub metrics: Vec<String>,
    pub grain: Option<String>,
    pub levels: String,
    pub columns: Vec<String>,
}

impl Catalog {
    /// Reads the query parts of `dir/plan.json`.
    pub fn load(dir: &Path) -> Result<Catalog> {
        let path = dir.join("plan.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("cannot read {}: {e}", path.display()))
                .help("run `tally compile` to write generated/, or pass --generated DIR")
        })?;
        Catalog::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Catalog> {
        serde_json::from_str(text).map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("{origin} line {}: {e}", e.line()))
                .help("regenerate it with the `tally compile` of this tally version")
        })
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Whether `name` is placed in time (its rows have a grain and a period): an aggregate
    /// with a time column, or a derived metric with such an input. A metric counting what
    /// exists now (no time) keeps one row per cut with no grain. Unknown metrics count as
    /// timed.
    pub fn timed(&self, name: &str) -> bool {
        match self.metric(name) {
            Some(m) if m.derived => m.inputs.metrics.iter().any(|i| self.timed(i)),
            Some(Metric { drill: Some(drill), .. }) => drill.time.is_some(),
            _ => true,
        }
    }

    pub fn report(&self, name: &str) -> Option<&Report> {
        self.reports.iter().find(|r| r.name == name)
    }

    /// Marts, then aggregate tables.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.marts.iter().chain(&self.aggregates)
    }

    pub fn table(&self, table: &str) -> Option<&Table> {
        self.tables().find(|t| t.table == table)
    }

    /// The tables that publish `metric`.
    pub fn publishing(&self, metric: &str) -> Vec<&Table> {
        self.tables().filter(|t| t.metrics.iter().any(|m| m == metric)).collect()
    }

    /// Every source column with personal data, as `(source, column)`.
    pub fn pii_columns(&self) -> Vec<(&str, &str)> {
        self.sources
            .iter()
            .flat_map(|s| {
                s.columns
                    .iter()
                    .filter(|c| !c.pii.is_empty())
                    .map(|c| (s.name.as_str(), c.name.as_str()))
            })
            .collect()
    }

    /// Whether `name` (any case) is the name of a personal-data column of some source.
    pub fn is_pii_name(&self, name: &str) -> bool {
        self.pii_columns().iter().any(|(_, c)| c.eq_ignore_ascii_case(name))
    }

    /// Whether `source.column` is personal data.
    pub fn is_pii(&self, source: &str, column: &str) -> bool {
        self.pii_columns().iter().any(|(s, c)| *s == source && *c == column)
    }

    pub fn metric_names(&self) -> Vec<&str> {
        self.metrics.iter().map(|m| m.name.as_str()).collect()
    }
}
