//! Drill-down relations: for each metric read from one source, the query that lists the
//! transaction rows behind its numbers, without personal data, each row placed in the
//! dimensions the way the metric's cells place it.
//!
//! `tally query --drill` reads these rows for roles allowed to drill down, through a mart that
//! declares a drill-down of the source (`marts[].drill`), and shows only the columns that mart
//! lists; its level columns only restrict the rows (scope, `--where`). The runtime only
//! restricts a relation (`WHERE <column> = <literal>` on the columns listed here, a time
//! range, a row limit); the joins that give a row its scope columns (a seizure's field office
//! comes from the port it happened at) are the compiler's, because only the compiler knows the
//! dimensions. The relation:
//!
//! - reads `cur_<source>` (current rows), filtered by the metric's `where`;
//! - selects the source's columns that may be shown (no personal data: the compiler's rule,
//!   `plan.json` `sources[].columns[].access.show`), by name;
//! - adds one text column per keyed level each dimension the source references can place a
//!   row at (the referenced level and every keyed level above it), named like the level
//!   (`region`, `clinic`), or `<dimension>_<level>` when a source column has that name.
//!
//! Derived metrics have no single source and no drill relation.

use super::cuts;
use super::dialect::{self, Dialect};
use super::expr::ExprSql;
use super::schema::SqlType;
use super::templates::Sql;
use crate::graph::current_table;
use crate::semantic::expr::{Expr, Node};
use crate::semantic::{Function, Model};
use crate::syntax::ast::BinaryOp;
use std::collections::BTreeMap;
pub use tally_contract::plan::{CutColumn, DrillPlan};

/// The drill-down relation of `metric`, `None` for a derived metric.
pub fn drill(model: &Model, metric: &str, sql: &mut Sql) -> Option<DrillPlan> {
    let m = model.metrics.get(metric)?;
    if m.is_derived() {
        return None;
    }
    let source_name = m.source.as_deref()?;
    let source = model.sources.get(source_name)?;
    let mut columns: Vec<CutColumn> = source
        .columns
        .values()
        .filter(|c| crate::semantic::column_access(c).show)
        .map(|c| CutColumn {
            name: c.name.clone(),
            dimension: None,
            level: None,
            source: Some(source_name.to_string()),
            column: Some(c.name.clone()),
        })
        .collect();
    // Per dimension the source references: the fact column, its level, and the keyed levels
    // above it that the dimension's `from` source gives.
    let mut levels: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for c in source.columns.values() {
        let Some(r) = &c.references else { continue };
        // A personal-data column stays out even as the key of a level it references.
        if !c.pii.is_empty() {
            continue;
        }
        if levels.iter().any(|(d, ..)| *d == r.dimension) {
            continue;
        }
        let mut above: Vec<String> = Vec::new();
        if let Some(d) = model.dimensions.get(&r.dimension) {
            let ancestors = cuts::ancestors(model, &r.dimension, &r.level);
            above = d
                .levels
                .keys()
                .filter(|l| ancestors.contains(*l) && cuts::has_key(model, &r.dimension, l))
                .cloned()
                .collect();
        }
        levels.push((r.dimension.clone(), r.level.clone(), c.name.clone(), above));
    }
    let taken = |name: &str, columns: &[CutColumn]| columns.iter().any(|c| c.name == name);
    let mut level_columns: Vec<(CutColumn, LevelValue)> = Vec::new();
    for (dimension, fact_level, fact_column, above) in &levels {
        let mut placed = above.clone();
        placed.push(fact_level.clone());
        for level in placed {
            let short = level.clone();
            let name =
                if taken(&short, &columns) || level_columns.iter().any(|(c, _)| c.name == short) {
                    format!("{dimension}_{level}")
                } else {
                    short
                };
            let value = if level == *fact_level {
                LevelValue::Fact(fact_column.clone())
            } else {
                match cuts::level_key(model, dimension, &level) {
                    Some(key) => LevelValue::Joined(dimension.clone(), key.to_string()),
                    None => continue,
                }
            };
            level_columns.push((
                CutColumn {
                    name,
                    dimension: Some(dimension.clone()),
                    level: Some(level.clone()),
                    source: None,
                    column: None,
                },
                value,
            ));
        }
    }
    let time = m
        .time
        .as_ref()
        .filter(|t| columns.iter().any(|c| c.column.as_deref() == Some(t.column.as_str())))
        .map(|t| t.column.clone());
    let mut statements = BTreeMap::new();
    for d in dialect::all() {
        let text = relation(model, d, source_name, m, &columns, &level_columns, &levels);
        match text {
            Ok(text) => {
                statements.insert(d.id(), sql.check(d, text));
            }
            Err(problem) => sql.bug(format!("drill-down of metric `{metric}`: {problem}")),
        }
    }
    columns.extend(level_columns.into_iter().map(|(c, _)| c));
    Some(DrillPlan { source: source_name.to_string(), time, columns, sql: statements })
}

/// Where a level column's value comes from.
enum LevelValue {
    /// The fact column that references the level.
    Fact(String),
    /// A key of the dimension's `from` source, joined on the fact column.
    Joined(String, String),
}

fn relation(
    model: &Model,
    d: &dyn Dialect,
    source: &str,
    metric: &crate::semantic::Metric,
    columns: &[CutColumn],
    level_columns: &[(CutColumn, LevelValue)],
    levels: &[(String, String, String, Vec<String>)],
) -> Result<String, String> {
    let q = |n: &str| d.quote_ident(n);
    let text = d.type_name(SqlType::Text);
    let mut select: Vec<String> = columns.iter().map(|c| format!("f.{}", q(&c.name))).collect();
    for (column, value) in level_columns {
        let expr = match value {
            LevelValue::Fact(fact) => format!("f.{}", q(fact)),
            LevelValue::Joined(dimension, key) => format!("{}.{}", q(&alias(dimension)), q(key)),
        };
        select.push(format!("CAST({expr} AS {text}) AS {}", q(&column.name)));
    }
    let mut joins = Vec::new();
    for (dimension, fact_level, fact_column, _) in levels {
        let keys: Vec<&str> = level_columns
            .iter()
            .filter_map(|(_, v)| match v {
                LevelValue::Joined(dim, key) if dim == dimension => Some(key.as_str()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            continue;
        }
        let fact_key = cuts::level_key(model, dimension, fact_level)
            .ok_or_else(|| format!("level `{dimension}.{fact_level}` has no key"))?;
        let from = model
            .dimensions
            .get(dimension)
            .and_then(|x| x.from.as_deref())
            .ok_or_else(|| format!("dimension `{dimension}` has no `from` source"))?;
        let mut read = vec![q(fact_key)];
        read.extend(keys.iter().filter(|k| **k != fact_key).map(|k| q(k)));
        let a = q(&alias(dimension));
        // DISTINCT: the fact may reference a level whose key repeats once per member below.
        joins.push(format!(
            "LEFT JOIN (\n  SELECT DISTINCT {}\n  FROM {}\n) AS {a}\n  ON {a}.{} = f.{}",
            read.join(", "),
            q(&current_table(from)),
            q(fact_key),
            q(fact_column)
        ));
    }
    let mut out =
        format!("SELECT\n  {}\nFROM {} AS f", select.join(",\n  "), q(&current_table(source)));
    for join in joins {
        out.push('\n');
        out.push_str(&join);
    }
    if let Some(filter) = metric.measure.as_ref().and_then(|m| m.filter.as_ref()) {
        let row = ExprSql { dialect: d, row: "f", window: None, filter: None, metric: None };
        out.push_str(&format!("\nWHERE {}", row.sql(filter)?));
    }
    Ok(out)
}

fn alias(dimension: &str) -> String {
    format!("d_{dimension}")
}

/// Whether a metric's values are counts of rows or of distinct values (`count`, and sums and
/// differences of counts): such a value is itself a cell size, so values below a role's
/// `min_cell_size` are suppressed whatever the cell's row count.
pub fn counts(model: &Model, metric: &str) -> bool {
    fn is_count(e: &Expr) -> bool {
        match &e.node {
            Node::Aggregate(aggregate) => aggregate.function == Function::Count,
            Node::Chain { first, rest } => {
                is_count(first)
                    && rest.iter().all(|l| l.op == BinaryOp::Add && is_count(&l.operand))
            }
            _ => false,
        }
    }
    model
        .metrics
        .get(metric)
        .filter(|m| !m.is_derived())
        .and_then(|m| m.measure.as_ref())
        .is_some_and(|m| is_count(&m.expr))
}
