//! The refresh SQL of each metric: the statements that recompute its rows in every cut table
//! (mart or aggregate table, see [`super::cuts`]) that shows it.
//!
//! For a metric in a table the statements are: `DELETE` its rows, `INSERT` them anew (each row
//! with `partial`: its period had not ended at `{now}`), and for a comparison an `UPDATE` that
//! fills `previous_value`: from the published row one period earlier for `compare whole
//! previous <grain>` (`templates/compare.sql`), from a second cells query for `compare previous
//! <grain> to date` (`templates/compare_to_date.sql`), whose facts are only the rows dated
//! before `{now}` moved back by the shift (`Gen::cutoff`), so that a running period meets
//! the same span of the earlier one. The `INSERT` reads a **cells** query, built in layers:
//!
//! 1. **facts** (`templates/facts.sql`): the metric's source rows (`cur_<source>`, current rows
//!    only) passing its `where`, with the columns the measure reads and, prefixed `_tally_`,
//!    what each row is cut by: the time grain and period (one copy of the row per grain kept,
//!    through a `VALUES` list of grains), the member of each dimension level (the fact
//!    column that references the dimension, and the levels above it from the dimension's
//!    `from` source), the bucket, and the `top` member when the table has no column for it.
//!    With a `window`, a row is copied into its own period and the next ones of each grain
//!    (`VALUES` of grain and step), and `templates/facts_window.sql` keeps the copies whose
//!    period's window (ending at the period's end, or at `{now}` while it runs) holds the row:
//!    a cell's value is then over its window's rows, whatever the aggregate.
//! 2. for `per ... having`, **kept groups** (`templates/facts_per.sql`): for each cut the
//!    table keeps, window functions over the cell and the `per` keys mark the rows of groups
//!    that pass `having` and the first row of each group; a cell's aggregate reads the marks
//!    of its cut (`FILTER (WHERE ...)`), so `count(*)` counts kept groups and other aggregates
//!    read the rows of kept groups.
//! 3. **cells** (`templates/cells_base.sql`): the measure, aggregated with `GROUPING SETS` over
//!    every cut the table keeps, with `levels` saying which one each row is.
//!
//! A derived metric's cells (`templates/cells_derived.sql`) are the cells of its inputs,
//! computed for the same table, stacked with `UNION ALL` and combined per cell by the formula;
//! an input that has no row in a cell counts as 0 when it is a count or sum, and as no value
//! otherwise. Inputs are computed inline rather than read from the table, so a derived metric
//! does not depend on its inputs being published in the same mart; inputs are read without
//! their own `top` and `compare`.
//!
//! `top N by <axis>` keeps, in each cell of the other cuts, the N members with the largest
//! values (ties broken by member, so exactly N); rows where the axis is rolled up are kept.
//! Levels above the ranked one (a port's field office) ride along and do not split the ranking.

use super::cuts::{self, CutDimension, CutTable};
use super::dialect::Dialect;
use super::expr::{self, edge_label, interval, is_additive, ExprSql, SqlExpr};
use super::rewrite;
use super::schema::SqlType;
use super::templates::{indent, text_literal, Ctx, Sql};
use crate::graph::current_table;
use crate::semantic::{Axis, Calendar, CompareKind, Grain, Metric, Model, Period, Weekday, Window};
use crate::syntax::ast::{BinaryOp, TimeUnit};
use std::collections::BTreeSet;
use tally_contract::plan::{Role, Statement};

/// Statements that refresh `metric` in `table`, in order.
pub fn refresh(
    model: &Model,
    dialect: &dyn Dialect,
    sql: &mut Sql,
    table: &CutTable,
    metric: &str,
) -> Vec<Statement> {
    let mut gen = Gen { model, dialect, sql, table, cutoff: None };
    match gen.refresh(metric) {
        Ok(statements) => statements,
        Err(problem) => {
            gen.sql.bug(format!("metric `{metric}` in `{}`: {problem}", table.name));
            Vec::new()
        }
    }
}

/// Whether the cells of `metric` in `table` read the refresh time (`{now}`: `now()`,
/// `age(...)`), so that its values change as time passes without new data. The conditions of
/// published history (which keep values as they were) do not count.
pub fn reads_clock(model: &Model, dialect: &dyn Dialect, table: &CutTable, metric: &str) -> bool {
    let mut sql = Sql::new();
    let mut gen = Gen { model, dialect, sql: &mut sql, table, cutoff: None };
    gen.cells(metric, None, 0).is_ok_and(|cells| cells.contains("{now}"))
}

/// A condition on a period expression, given as text.
type LiveCondition = Box<dyn Fn(&str) -> String>;

struct Gen<'a> {
    model: &'a Model,
    dialect: &'a dyn Dialect,
    sql: &'a mut Sql,
    table: &'a CutTable,
    /// While building the cells a `to date` comparison reads: the grain it looks back by.
    /// Fact rows are then read only up to the refresh time moved back by that shift.
    cutoff: Option<Grain>,
}

/// Where the `top` axis's members go: a column the table has, or `member`.
enum TopTarget {
    Column(String),
    Member(Axis),
}

impl<'a> Gen<'a> {
    fn q(&self, name: &str) -> String {
        self.dialect.quote_ident(name)
    }

    fn text(&self) -> String {
        self.dialect.type_name(SqlType::Text)
    }

    fn metric(&self, name: &str) -> Result<&'a Metric, String> {
        let model: &'a Model = self.model;
        model.metrics.get(name).ok_or_else(|| format!("unknown metric `{name}`"))
    }

    fn refresh(&mut self, name: &str) -> Result<Vec<Statement>, String> {
        let metric = self.metric(name)?;
        let t = self.q(&self.table.name);
        let target = metric.top.as_ref().map(|top| (top.count, self.top_target(&top.by)));
        let member = match &target {
            Some((_, TopTarget::Member(axis))) => Some(axis.clone()),
            _ => None,
        };
        let cells = self.cells(name, member.as_ref(), 0)?;
        let cells = match &target {
            Some((count, target)) => self.top(cells, *count, target),
            None => cells,
        };

        let mut columns =
            vec!["metric".to_string(), "grain".to_string(), "period_start".to_string()];
        columns.push("levels".to_string());
        columns.extend(self.table.columns.iter().map(|c| c.name.clone()));
        columns.extend(["bucket", "member", "value", "cell_rows", "partial"].map(String::from));
        let value_type = self.dialect.type_name(cuts::VALUE_TYPE);
        let select: Vec<String> = columns
            .iter()
            .map(|c| match c.as_str() {
                "metric" => text_literal(name),
                "value" => format!("CAST(c.value AS {value_type})"),
                "partial" => expr::partial(self.dialect, "c"),
                other => format!("c.{}", self.q(other)),
            })
            .collect();
        let quoted: Vec<String> = columns.iter().map(|c| self.q(c)).collect();

        // Published history: a period whose source rows have begun to leave by age (before
        // the source's shortest keep period) keeps the cells it was published with, and is
        // published once if it never was (a backfill); every other cell is recomputed.
        let live = self.live_periods(metric);
        let mut delete = format!("DELETE FROM {t}\nWHERE metric = {}", text_literal(name));
        let mut conditions = Vec::new();
        if let Some(top) = &target {
            conditions.push(format!("c._tally_rank <= {}", top.0));
        }
        // A mart's records schedule: cells of periods past its `keep` are archived by
        // retention and never published again.
        if let Some(keep) = self.mart_keep() {
            conditions.push(format!(
                "(c.period_start IS NULL OR c.period_start >= {{now}} - {})",
                super::load::period_interval(keep)
            ));
        }
        if let Some(live) = &live {
            delete.push_str(&format!("\n  AND (period_start IS NULL OR {})", live("period_start")));
            conditions.push(format!(
                "(\n    c.period_start IS NULL\n    OR {}\n    OR NOT EXISTS (\n      SELECT 1\n      FROM {t} AS published\n      WHERE published.metric = {}\n        AND published.grain = c.grain\n        AND published.period_start = c.period_start\n    )\n  )",
                live("c.period_start"),
                text_literal(name)
            ));
        }
        let mut statements = Vec::new();
        if self.dialect.row_mutations() {
            statements.push(Statement::new(Role::ClearCells, self.sql.check(self.dialect, delete)));
            let insert = self.sql.statement(
                self.dialect,
                "insert_cells.sql",
                Ctx::new()
                    .set("table", &t)
                    .set("columns", &quoted.join(", "))
                    .set("select", &select.join(",\n  "))
                    .set("cells", &indent(&cells, 2))
                    .set_list("conditions", conditions),
            );
            statements.push(Statement::new(Role::InsertCells, insert));
        } else {
            // Where rows cannot be deleted (Spark), mart and aggregate tables are partitioned
            // by metric and the metric's partition is replaced by what `DELETE` and `INSERT`
            // would leave: its frozen cells as they were, and the recomputed ones.
            let mut all = quoted.clone();
            all.extend(["previous_value", "previous_rows"].map(|c| self.q(c)));
            let mut recomputed: Vec<String> =
                select.iter().zip(&quoted).map(|(e, c)| format!("{e} AS {c}")).collect();
            recomputed.push(format!("CAST(NULL AS {value_type}) AS {}", self.q("previous_value")));
            let bigint = self.dialect.type_name(SqlType::BigInt);
            recomputed.push(format!("CAST(NULL AS {bigint}) AS {}", self.q("previous_rows")));
            let mut query = String::new();
            if let Some(live) = &live {
                query.push_str(&format!(
                    "SELECT\n  {}\nFROM {t}\nWHERE metric = {}\n  AND period_start IS NOT NULL\n  AND NOT {}\nUNION ALL\n",
                    all.join(",\n  "),
                    text_literal(name),
                    live("period_start")
                ));
            }
            query.push_str(&format!(
                "SELECT\n  {}\nFROM (\n  {}\n) AS c",
                recomputed.join(",\n  "),
                indent(&cells, 2)
            ));
            for (i, condition) in conditions.iter().enumerate() {
                query
                    .push_str(&format!("\n{} {condition}", if i == 0 { "WHERE" } else { "  AND" }));
            }
            let mut texts = rewrite::replace(self.dialect, &self.table.name, Some(&all), &query);
            // An empty result must still empty the partition, which an overwrite of the
            // partitions the scratch table has rows in would not do.
            texts.insert(
                1,
                format!(
                    "ALTER TABLE {t} DROP IF EXISTS PARTITION (metric = {})",
                    text_literal(name)
                ),
            );
            let roles = [Role::InsertCells, Role::ClearCells, Role::InsertCells, Role::Clear];
            for (role, text) in roles.into_iter().zip(texts) {
                statements.push(Statement::new(role, self.sql.check(self.dialect, text)));
            }
        }
        if let (Some(compare), false) = (metric.compare, self.table.grains.is_empty()) {
            let grain = compare.grain;
            let mut keys = vec!["levels".to_string()];
            keys.extend(self.table.columns.iter().map(|c| c.name.clone()));
            keys.extend(["bucket", "member"].map(String::from));
            let same: Vec<String> = keys
                .iter()
                .map(|k| {
                    let k = self.q(k);
                    if k == "levels" {
                        format!("p.{k} = {t}.{k}")
                    } else {
                        // Equality that hashes (a join on IS NOT DISTINCT FROM would not).
                        format!("COALESCE(p.{k}, '') = COALESCE({t}.{k}, '')")
                    }
                })
                .collect();
            let previous = previous_start(grain, &t, &self.table.grains);
            if !self.dialect.row_mutations() {
                // The metric's partition replaced by its rows with the values they are
                // compared with; a row without one keeps what it had, as with `UPDATE`.
                let metric_literal = text_literal(name);
                let (source, on_metric, value, rows) = match compare.kind {
                    CompareKind::Whole => (
                        t.clone(),
                        format!("p.metric = {metric_literal}\n  AND "),
                        "p.value".to_string(),
                        format!("{t}.previous_rows"),
                    ),
                    CompareKind::ToDate => {
                        self.cutoff = Some(grain);
                        let cells = self.cells(name, member.as_ref(), 0);
                        self.cutoff = None;
                        (
                            format!("(\n  {}\n)", indent(&cells?, 2)),
                            String::new(),
                            format!("CAST(p.value AS {value_type})"),
                            format!("CASE WHEN p.grain IS NULL THEN {t}.previous_rows ELSE p.cell_rows END"),
                        )
                    }
                };
                let mut all = quoted.clone();
                all.extend(["previous_value", "previous_rows"].map(|c| self.q(c)));
                let mut select: Vec<String> = quoted.iter().map(|c| format!("{t}.{c}")).collect();
                select.push(format!(
                    "CASE WHEN p.grain IS NULL THEN {t}.previous_value ELSE {value} END AS previous_value"
                ));
                select.push(format!("{rows} AS previous_rows"));
                let query = format!(
                    "SELECT\n  {}\nFROM {t}\nLEFT JOIN {source} AS p\n  ON {on_metric}p.grain = {t}.grain\n  AND p.period_start = {previous}\n  AND {}\nWHERE {t}.metric = {metric_literal}",
                    select.join(",\n  "),
                    same.join("\n  AND "),
                );
                for text in rewrite::replace(self.dialect, &self.table.name, Some(&all), &query) {
                    let checked = self.sql.check(self.dialect, text);
                    statements.push(Statement::new(Role::Compare, checked));
                }
                return Ok(statements);
            }
            let update = match compare.kind {
                CompareKind::Whole => self.sql.statement(
                    self.dialect,
                    "compare.sql",
                    Ctx::new()
                        .set("table", &t)
                        .set("metric", &text_literal(name))
                        .set("previous", &previous)
                        .set("same", &same.join("\n  AND ")),
                ),
                CompareKind::ToDate => {
                    // The earlier periods' cells over the rows dated before the refresh time
                    // moved back by the shift: an ended period's earlier period whole, the
                    // running one's up to the same point.
                    self.cutoff = Some(grain);
                    let cells = self.cells(name, member.as_ref(), 0);
                    self.cutoff = None;
                    self.sql.statement(
                        self.dialect,
                        "compare_to_date.sql",
                        Ctx::new()
                            .set("table", &t)
                            .set("metric", &text_literal(name))
                            .set("value_type", &value_type)
                            .set("cells", &indent(&cells?, 2))
                            .set("previous", &previous)
                            .set("same", &same.join("\n  AND ")),
                    )
                }
            };
            statements.push(Statement::new(Role::Compare, update));
        }
        Ok(statements)
    }

    /// For a metric over a source whose rows leave by age: a condition that a period (the
    /// expression given) is recent enough that none of its rows has left yet; `None` when
    /// rows never leave by age or the metric has no periods of its own.
    fn live_periods(&self, metric: &Metric) -> Option<LiveCondition> {
        if metric.is_derived() || metric.time.is_none() || self.table.grains.is_empty() {
            return None;
        }
        let source = self.model.sources.get(metric.source.as_ref()?)?;
        let keeps = super::load::keep_periods(self.model, source);
        if keeps.is_empty() {
            return None;
        }
        let intervals: Vec<String> = keeps.into_iter().map(super::load::period_interval).collect();
        Some(Box::new(move |period: &str| {
            let parts: Vec<String> =
                intervals.iter().map(|i| format!("{period} >= {{now}} - {i}")).collect();
            match parts.as_slice() {
                [one] => one.clone(),
                _ => format!("({})", parts.join(" AND ")),
            }
        }))
    }

    /// The `keep` of the records schedule of the mart this table is, if it names one.
    fn mart_keep(&self) -> Option<crate::semantic::Period> {
        if self.table.kind != super::schema::TableKind::Mart || self.table.grains.is_empty() {
            return None;
        }
        let mart = self.model.marts.get(&self.table.owner)?;
        self.model.retention_rules.get(mart.retention.as_ref()?)?.keep
    }

    fn top_target(&self, axis: &Axis) -> TopTarget {
        let column = match axis {
            Axis::Level { dimension, level, .. } => {
                self.table.level_column(dimension, level).map(|c| c.name.clone())
            }
            Axis::Column { source, column, .. } => {
                self.table.source_column(source, column).map(|c| c.name.clone())
            }
            Axis::Time { .. } if !self.table.grains.is_empty() => Some("period_start".to_string()),
            Axis::Time { .. } | Axis::Dimension { .. } => None,
        };
        match column {
            Some(c) => TopTarget::Column(c),
            None => TopTarget::Member(axis.clone()),
        }
    }

    /// Keeps the `count` largest values per cell of the other cuts; adds `_tally_rank`.
    fn top(&mut self, cells: String, count: u64, target: &TopTarget) -> String {
        // The columns of levels above the ranked one come along with each member (a port's
        // row carries its field office) and do not split the ranking: "top 20 ports" ranks
        // ports nationally, not within each field office.
        let mut carried = BTreeSet::new();
        if let TopTarget::Column(column) = target {
            if let Some(cuts::CutColumn {
                origin: cuts::Origin::Level { dimension, level }, ..
            }) = self.table.columns.iter().find(|c| c.name == *column)
            {
                for above in cuts::ancestors(self.model, dimension, level) {
                    if let Some(c) = self.table.level_column(dimension, &above) {
                        carried.insert(c.name.clone());
                    }
                }
            }
        }
        let target = match target {
            TopTarget::Column(c) => c.clone(),
            TopTarget::Member(_) => "member".to_string(),
        };
        let mut partition: Vec<String> =
            vec!["grain", "period_start", "levels"].into_iter().map(String::from).collect();
        partition.extend(self.table.columns.iter().map(|c| c.name.clone()));
        partition.extend(["bucket", "member"].map(String::from));
        partition.retain(|c| *c != target && !carried.contains(c));
        let partition: Vec<String> = partition.iter().map(|c| format!("c.{}", self.q(c))).collect();
        self.sql.fragment(
            "cells_top.sql",
            Ctx::new()
                .set("partition", &partition.join(", "))
                .set("target", &format!("c.{}", self.q(&target)))
                .set("cells", &indent(&cells, 4))
                .set("count", &count.to_string()),
        )
    }

    /// The cells query of `name` for this table: columns `grain, period_start, levels,
    /// <dimension columns>, bucket, member, value, cell_rows`.
    fn cells(&mut self, name: &str, member: Option<&Axis>, depth: usize) -> Result<String, String> {
        if depth > 64 {
            return Err(format!("derived metrics nest too deep at `{name}` (a cycle?)"));
        }
        let metric = self.metric(name)?;
        if metric.is_derived() {
            self.derived_cells(metric, member, depth)
        } else {
            self.base_cells(metric, member)
        }
    }

    fn derived_cells(
        &mut self,
        metric: &Metric,
        member: Option<&Axis>,
        depth: usize,
    ) -> Result<String, String> {
        let measure = metric.measure.as_ref().ok_or("derived metric without a measure")?;
        let mut inputs: Vec<String> = Vec::new();
        for m in &measure.metrics {
            if !inputs.contains(&m.name) {
                inputs.push(m.name.clone());
            }
        }
        let mut union = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let cells = self.cells(input, member, depth + 1)?;
            let alias = format!("input_{i}");
            union.push(format!(
                "SELECT {} AS input, {alias}.*\nFROM (\n  {}\n) AS {alias}",
                text_literal(input),
                indent(&cells, 2)
            ));
        }
        // Each `total(m, ...)`: m's cells, each given the value of its total cell.
        let mut totals: Vec<&crate::semantic::expr::Total> = Vec::new();
        measure.expr.walk(|e| {
            if let crate::semantic::expr::Node::Total(t) = &e.node {
                if !totals.iter().any(|x| x.key() == t.key()) {
                    totals.push(t);
                }
            }
        });
        for total in totals {
            let cells = self.cells(&total.metric.name, member, depth + 1)?;
            union.push(self.total_cells(total, &cells));
        }
        // A missing count or sum is 0; a missing target is no target, not a target of 0.
        let mut additive = BTreeSet::new();
        for input in &inputs {
            let m = self.metric(input)?;
            if m.target.is_none()
                && m.measure.as_ref().is_some_and(|x| !m.is_derived() && is_additive(&x.expr))
            {
                additive.insert(input.clone());
            }
        }
        let dialect = self.dialect;
        let read = |name: &str| -> Option<SqlExpr> {
            let this = expr::equals(expr::column(dialect, "i", "input"), expr::string(name));
            let value = expr::case(vec![(this, expr::column(dialect, "i", "value"))], None);
            let value = expr::call("MAX", vec![value]);
            Some(if additive.contains(name) {
                expr::call("COALESCE", vec![value, expr::number("0")])
            } else {
                value
            })
        };
        let formula = ExprSql {
            dialect: self.dialect,
            row: "i",
            window: None,
            filter: None,
            metric: Some(&read),
        }
        .sql(&measure.expr)?;
        let mut keys = vec!["grain".to_string(), "period_start".to_string(), "levels".to_string()];
        keys.extend(self.table.columns.iter().map(|c| c.name.clone()));
        keys.extend(["bucket", "member"].map(String::from));
        let keys: Vec<String> = keys.iter().map(|k| format!("i.{}", self.q(k))).collect();
        // The rows behind a cell: the fewest of its inputs', a target's not counted (its rows
        // are plans, not people).
        let targets: Vec<String> = inputs
            .iter()
            .filter(|i| self.model.metrics.get(*i).is_some_and(|m| m.target.is_some()))
            .map(|i| text_literal(i))
            .collect();
        let cell_rows = if targets.is_empty() || targets.len() == inputs.len() {
            "MIN(i.cell_rows)".to_string()
        } else {
            format!(
                // A cell with a target and nothing else counts the target's rows.
                "COALESCE(MIN(CASE WHEN i.input IN ({}) THEN NULL ELSE i.cell_rows END), MIN(i.cell_rows))",
                targets.join(", ")
            )
        };
        let cells = self.sql.fragment(
            "cells_derived.sql",
            Ctx::new()
                .set("cell_rows", &cell_rows)
                .set("keys", &keys.join(",\n  "))
                .set("formula", &formula)
                .set("inputs", &indent(&union.join("\nUNION ALL\n"), 2))
                .set("group_by", &keys.join(", ")),
        );
        Ok(self.within_targets(metric, cells))
    }

    /// The cells of a metric (`cells`), each with the value and rows of its total over the
    /// axes of `total`: the cell with the same grain, period, bucket, member and members of
    /// the other columns, whose `levels` are the cell's less the columns the total leaves out.
    fn total_cells(&self, total: &crate::semantic::expr::Total, cells: &str) -> String {
        let removed: BTreeSet<String> = self
            .table
            .columns
            .iter()
            .filter(|c| {
                total.over.iter().any(|axis| match (axis, &c.origin) {
                    (
                        Axis::Dimension { dimension, .. },
                        cuts::Origin::Level { dimension: d, .. },
                    ) => d == dimension,
                    (
                        Axis::Level { dimension, level, .. },
                        cuts::Origin::Level { dimension: d, level: l },
                    ) => {
                        d == dimension
                            && l != level
                            && !cuts::ancestors(self.model, dimension, level).contains(l)
                    }
                    (
                        Axis::Column { source, column, .. },
                        cuts::Origin::Column { source: s, column: col },
                    ) => s == source && col == column,
                    _ => false,
                })
            })
            .map(|c| c.name.clone())
            .collect();
        // `levels` lists a row's columns, comma-separated in table order: wrapped in commas,
        // a column leaves by one `replace`, and the empty list reads `,,`.
        let d = self.dialect;
        let wrapped = |levels: &str| d.concat_text(&["','", levels, "','"]);
        let mut levels = wrapped("c.levels");
        for name in &removed {
            levels = d.replace_text(&levels, &text_literal(&format!(",{name},")), "','");
        }
        let mut on = vec![
            "COALESCE(t.grain, '') = COALESCE(c.grain, '')".to_string(),
            "(t.period_start = c.period_start OR (t.period_start IS NULL AND c.period_start IS NULL))"
                .to_string(),
            format!(
                "{} = {}",
                d.replace_text(&wrapped("t.levels"), "',,'", "','"),
                d.replace_text(&levels, "',,'", "','")
            ),
        ];
        for c in &self.table.columns {
            if !removed.contains(&c.name) {
                let k = self.q(&c.name);
                on.push(format!("COALESCE(t.{k}, '') = COALESCE(c.{k}, '')"));
            }
        }
        on.push("COALESCE(t.bucket, '') = COALESCE(c.bucket, '')".to_string());
        on.push("COALESCE(t.member, '') = COALESCE(c.member, '')".to_string());
        let mut select = vec![
            format!("{} AS input", text_literal(&total.key())),
            "c.grain".to_string(),
            "c.period_start".to_string(),
            "c.levels".to_string(),
        ];
        select.extend(self.table.columns.iter().map(|c| format!("c.{}", self.q(&c.name))));
        select.extend(["c.bucket", "c.member", "t.value", "t.cell_rows"].map(String::from));
        format!(
            "SELECT {}\nFROM (\n  {}\n) AS c\nJOIN (\n  {}\n) AS t\n  ON {}",
            select.join(", "),
            indent(cells, 2),
            indent(cells, 2),
            on.join("\n  AND ")
        )
    }

    /// A derived metric that reads targets keeps only the cells its targets have values in:
    /// the grains they cover, and no cut by a column they are not cut by.
    fn within_targets(&self, metric: &Metric, cells: String) -> String {
        let name = metric.meta.name.as_str();
        let Some(grains) = crate::semantic::targets::grains(self.model, name) else {
            return cells;
        };
        let mut conditions = Vec::new();
        if !self.table.grains.is_empty() {
            let words: Vec<String> = grains.iter().map(|g| text_literal(g.word())).collect();
            conditions.push(if words.is_empty() {
                "FALSE".to_string()
            } else {
                format!("d.grain IN ({})", words.join(", "))
            });
        }
        let allowed = super::plan::metric_columns(self.model, self.table, name, 0);
        for c in &self.table.columns {
            if !allowed.contains(&c.name) {
                conditions.push(format!("d.{} IS NULL", self.q(&c.name)));
            }
        }
        if conditions.is_empty() {
            return cells;
        }
        format!(
            "SELECT d.*\nFROM (\n  {}\n) AS d\nWHERE {}",
            indent(&cells, 2),
            conditions.join("\n  AND ")
        )
    }

    fn base_cells(&mut self, metric: &Metric, member: Option<&Axis>) -> Result<String, String> {
        let source = metric.source.as_deref().ok_or("metric without a source")?;
        let measure = metric.measure.as_ref().ok_or("metric without a measure")?;
        let model = self.model;
        let row =
            ExprSql { dialect: self.dialect, row: "f", window: None, filter: None, metric: None };

        // What each fact row is cut by.
        let mut select: Vec<String> = Vec::new();
        let mut joins: Joins = Joins::default();
        let timed = metric.time.is_some() && !self.table.grains.is_empty();
        let window = metric.window.filter(|_| timed);
        // The grains cells are made at: every kept one, or for a window those it is defined
        // at (a day or coarser; `to date <grain>` no coarser than its grain).
        let mut grains_kept: Vec<Grain> = match window {
            None => self.table.grains.clone(),
            Some(w) => self.table.grains.iter().copied().filter(|g| window_grain(w, *g)).collect(),
        };
        // A target has cells only at its grain and the coarser ones made of whole periods of
        // it: a month's target is no day's.
        if let Some(target) = metric.target {
            let covered = crate::semantic::targets::grains_covered(target, &model.calendar);
            grains_kept.retain(|g| covered.contains(g));
        }
        if let Some(time) = metric.time.as_ref().filter(|_| timed) {
            let t = format!("CAST(f.{} AS TIMESTAMP)", self.q(&time.column));
            let whens: Vec<String> = grains_kept
                .iter()
                .map(|g| {
                    let start = period_start(*g, &t, &model.calendar);
                    match window {
                        // The n-th period from the row's own: a window ending in a later period
                        // may still hold the row.
                        Some(_) => {
                            format!("WHEN '{}' THEN {start} + g.n * {}", g.word(), grain_step(*g))
                        }
                        None => format!("WHEN '{}' THEN {start}", g.word()),
                    }
                })
                .collect();
            if window.is_some() {
                select.push(format!("{t} AS _tally_t"));
            }
            select.push("g.grain AS _tally_grain".to_string());
            select.push(format!(
                "CASE g.grain\n    {}\n  END AS _tally_period",
                whens.join("\n    ")
            ));
        }
        // Dimension columns this metric can fill, and the grouping sets over them.
        let mut available: Vec<String> = Vec::new();
        let mut sets: Vec<Vec<String>> = vec![Vec::new()];
        for d in &self.table.dimensions {
            let mut options: Vec<Vec<String>> = Vec::new();
            match d {
                CutDimension::Levels { dimension, kept } => {
                    if let Some((fact_column, fact_level)) =
                        cuts::fact_level(model, source, dimension)
                    {
                        let mut reachable = cuts::ancestors(model, dimension, fact_level);
                        reachable.insert(fact_level.to_string());
                        let keyed: Vec<&String> = kept
                            .iter()
                            .filter(|l| {
                                reachable.contains(*l) && cuts::has_key(model, dimension, l)
                            })
                            .collect();
                        for level in &keyed {
                            let column = self.level_column_name(dimension, level)?;
                            let value = self.level_value(
                                &mut joins,
                                dimension,
                                fact_column,
                                fact_level,
                                level,
                            )?;
                            select.push(format!(
                                "CAST({value} AS {}) AS {}",
                                self.text(),
                                self.q(&format!("_tally_d_{column}"))
                            ));
                            available.push(column);
                        }
                        for level in &keyed {
                            let above = cuts::ancestors(model, dimension, level);
                            let mut set = Vec::new();
                            for l in &keyed {
                                if *l == *level || above.contains(*l) {
                                    set.push(self.level_column_name(dimension, l)?);
                                }
                            }
                            options.push(set);
                        }
                        let total = kept
                            .iter()
                            .any(|l| reachable.contains(l) && !cuts::has_key(model, dimension, l));
                        if total || keyed.is_empty() {
                            options.push(Vec::new());
                        }
                    } else {
                        options.push(Vec::new());
                    }
                }
                CutDimension::Column { source: s, column } => {
                    if s == source {
                        let name = self
                            .table
                            .source_column(s, column)
                            .map(|c| c.name.clone())
                            .ok_or("column axis without a table column")?;
                        select.push(format!(
                            "CAST(f.{} AS {}) AS {}",
                            self.q(column),
                            self.text(),
                            self.q(&format!("_tally_d_{name}"))
                        ));
                        options.push(vec![name.clone()]);
                        available.push(name);
                    }
                    options.push(Vec::new());
                }
            }
            sets = sets
                .iter()
                .flat_map(|set| {
                    options.iter().map(move |o| set.iter().chain(o).cloned().collect::<Vec<_>>())
                })
                .collect();
        }
        let mut unique_sets: Vec<Vec<String>> = Vec::new();
        for set in sets {
            if !unique_sets.contains(&set) {
                unique_sets.push(set);
            }
        }

        if let Some(buckets) = &metric.buckets {
            let mut whens = vec![format!("WHEN {} THEN NULL", row.is_null(&buckets.expr)?)];
            let mut previous: Option<String> = None;
            for edge in &buckets.edges {
                let label = edge_label(edge);
                let below = row.compare(&buckets.expr, BinaryOp::Lt, edge)?;
                let text = match &previous {
                    None => format!("under {label}"),
                    Some(p) => format!("{p} to under {label}"),
                };
                whens.push(format!("WHEN {below} THEN {}", text_literal(&text)));
                previous = Some(label);
            }
            let last = match previous {
                Some(p) => format!("{p} and over"),
                None => "all".to_string(),
            };
            select.push(format!(
                "CASE\n    {}\n    ELSE {}\n  END AS _tally_bucket",
                whens.join("\n    "),
                text_literal(&last)
            ));
        }
        if let Some(axis) = member {
            let value = self.axis_value(&mut joins, source, axis)?;
            select.push(format!("CAST({value} AS {}) AS _tally_member", self.text()));
        }
        let mut per_keys = Vec::new();
        if let Some(per) = &metric.per {
            for (i, axis) in per.keys.iter().enumerate() {
                let value = self.axis_value(&mut joins, source, axis)?;
                select.push(format!("{value} AS _tally_per_{i}"));
                per_keys.push(format!("_tally_per_{i}"));
            }
        }
        // The source columns the measure and `having` read, once each.
        let mut read: Vec<&str> = Vec::new();
        let used = measure.columns.iter().chain(metric.per.iter().flat_map(|p| &p.columns));
        for c in used {
            if c.source == source && !read.contains(&c.column.as_str()) {
                read.push(&c.column);
            }
        }
        let mut facts_select: Vec<String> =
            read.iter().map(|c| format!("f.{}", self.q(c))).collect();
        facts_select.extend(select);
        if facts_select.is_empty() {
            // `count(*)` over a table with no cuts reads no column.
            facts_select.push("1 AS _tally_one".to_string());
        }
        let mut filter = match &measure.filter {
            Some(f) => row.sql(f)?,
            None => String::new(),
        };
        if let (Some(grain), Some(time), true) = (self.cutoff, metric.time.as_ref(), timed) {
            let t = format!("CAST(f.{} AS TIMESTAMP)", self.q(&time.column));
            let before =
                format!("{t} < {}", shift_back(grain, "{now}", "g.grain", &self.table.grains));
            filter = if filter.is_empty() { before } else { format!("({filter}) AND {before}") };
        }
        let grains: Vec<String> = match (timed, window) {
            (false, _) => Vec::new(),
            (true, None) => grains_kept.iter().map(|g| format!("('{}')", g.word())).collect(),
            (true, Some(w)) => grains_kept
                .iter()
                .flat_map(|g| {
                    (0..=window_steps(w, *g)).map(move |n| format!("('{}', {n})", g.word()))
                })
                .collect(),
        };
        let mut facts = self.sql.fragment(
            "facts.sql",
            Ctx::new()
                .set("select", &facts_select.join(",\n  "))
                .set("table", &self.q(&current_table(source)))
                .set_list("joins", joins.sql(self.dialect))
                .set("grains", &grains.join(", "))
                .set("grain_columns", if window.is_some() { "grain, n" } else { "grain" })
                .set("filter", &filter),
        );
        if let (Some(w), true) = (window, timed) {
            facts = self.window_facts(w, &facts);
        }

        // The grouping columns every set has (of the facts, `f`).
        let mut always_names: Vec<&str> = Vec::new();
        if timed {
            always_names.extend(["_tally_grain", "_tally_period"]);
        }
        if metric.buckets.is_some() {
            always_names.push("_tally_bucket");
        }
        if member.is_some() {
            always_names.push("_tally_member");
        }
        let always: Vec<String> = always_names.iter().map(|n| format!("f.{n}")).collect();
        let dialect = self.dialect;
        let dim =
            move |name: &str| format!("f.{}", dialect.quote_ident(&format!("_tally_d_{name}")));

        // Columns of each grouping set, in table column order.
        let set_columns: Vec<Vec<String>> = unique_sets
            .iter()
            .map(|set| {
                self.table
                    .columns
                    .iter()
                    .filter(|c| set.contains(&c.name))
                    .map(|c| c.name.clone())
                    .collect()
            })
            .collect();

        // The rows a cell's value comes from, which suppression counts: every row, but for a
        // lone percentile only the rows with a value (a median of one value among ten rows
        // is that one value).
        let counted = match lone_percentile(&measure.expr) {
            Some(arg) => row.sql(arg)?,
            None => "*".to_string(),
        };
        let (facts, value, cell_rows, having) = match &metric.per {
            // Groups are formed per grouping set: a flight is one group in the total even
            // when its passengers fall into several admission classes. So each set has its
            // own window (its cut, the time period, bucket, member and the `per` keys), its
            // own flags, and the aggregate of a cell reads the flags of the cell's set.
            Some(per) => {
                let mut flags = Vec::new();
                let mut values = Vec::new();
                let mut counts = Vec::new();
                let f = |name: &str| expr::column(dialect, "f", name);
                for (i, columns) in set_columns.iter().enumerate() {
                    let mut partition: Vec<SqlExpr> = always_names.iter().map(|n| f(n)).collect();
                    partition.extend(columns.iter().map(|c| f(&format!("_tally_d_{c}"))));
                    partition.extend(per_keys.iter().map(|k| f(k)));
                    let window: Vec<String> = partition.iter().map(ToString::to_string).collect();
                    let window = format!("PARTITION BY {}", window.join(", "));
                    let windowed = ExprSql {
                        dialect: self.dialect,
                        row: "f",
                        window: Some(&partition),
                        filter: None,
                        metric: None,
                    };
                    let having = windowed.sql(&per.having)?;
                    flags.push(format!("{having} AS _tally_keep_{i}"));
                    // Any row of a group may be its first.
                    let first = match partition.first() {
                        Some(any) if self.dialect.row_number_needs_order() => {
                            format!("{window} ORDER BY {any}")
                        }
                        _ => window.clone(),
                    };
                    flags.push(format!("row_number() OVER ({first}) = 1 AS _tally_first_{i}"));
                    let keep = f(&format!("_tally_keep_{i}"));
                    values.push(if measure.expr.is_count_rows() {
                        // `count(*)` counts the kept groups: their first rows.
                        format!("COUNT(*) FILTER (WHERE {keep} AND f._tally_first_{i})")
                    } else {
                        ExprSql {
                            dialect: self.dialect,
                            row: "f",
                            window: None,
                            filter: Some(&keep),
                            metric: None,
                        }
                        .sql(&measure.expr)?
                    });
                    counts.push(format!("COUNT({counted}) FILTER (WHERE {keep})"));
                }
                let facts = self.sql.fragment(
                    "facts_per.sql",
                    Ctx::new().set("flags", &flags.join(",\n  ")).set("facts", &indent(&facts, 2)),
                );
                let by_set = |exprs: &[String]| -> String {
                    if exprs.len() == 1 || available.is_empty() {
                        return exprs.first().cloned().unwrap_or_default();
                    }
                    let args: Vec<String> = available.iter().map(|c| dim(c)).collect();
                    let whens: Vec<String> = set_columns
                        .iter()
                        .zip(exprs)
                        .map(|(columns, e)| {
                            format!("WHEN {} THEN {e}", grouping_mask(&available, columns))
                        })
                        .collect();
                    format!(
                        "CASE {}\n    {}\n  END",
                        self.dialect.grouping_bits(&args),
                        whens.join("\n    ")
                    )
                };
                let cell_rows = by_set(&counts);
                // Cells with no kept group are left out, as cells with no rows are.
                (facts, by_set(&values), cell_rows.clone(), format!("{cell_rows} > 0"))
            }
            // A percentile over no values has none: such a cell is left out, as a cell with
            // no rows is, rather than published empty.
            None if counted != "*" => {
                let cell_rows = format!("COUNT({counted})");
                let having = format!("{cell_rows} > 0");
                (facts, row.sql(&measure.expr)?, cell_rows, having)
            }
            None => (facts, row.sql(&measure.expr)?, "COUNT(*)".to_string(), String::new()),
        };

        let null_text = format!("CAST(NULL AS {})", self.text());
        let mut out: Vec<String> = Vec::new();
        if timed {
            out.push("f._tally_grain AS grain".to_string());
            out.push("f._tally_period AS period_start".to_string());
        } else {
            out.push(format!("{null_text} AS grain"));
            out.push(format!(
                "CAST(NULL AS {}) AS period_start",
                self.dialect.type_name(SqlType::Timestamp)
            ));
        }
        if available.is_empty() {
            out.push("'' AS levels".to_string());
        } else {
            let parts: Vec<String> = available
                .iter()
                .map(|c| format!("CASE WHEN GROUPING({}) = 0 THEN {} END", dim(c), text_literal(c)))
                .collect();
            out.push(format!("concat_ws(',',\n    {}\n  ) AS levels", parts.join(",\n    ")));
        }
        for c in &self.table.columns {
            if available.contains(&c.name) {
                out.push(format!("{} AS {}", dim(&c.name), self.q(&c.name)));
            } else {
                out.push(format!("{null_text} AS {}", self.q(&c.name)));
            }
        }
        out.push(if metric.buckets.is_some() {
            "f._tally_bucket AS bucket".to_string()
        } else {
            format!("{null_text} AS bucket")
        });
        out.push(if member.is_some() {
            "f._tally_member AS member".to_string()
        } else {
            format!("{null_text} AS member")
        });
        out.push(format!("{value} AS value"));
        out.push(format!("{cell_rows} AS cell_rows"));

        let group_by: Vec<String> = if always.is_empty() && available.is_empty() {
            Vec::new()
        } else {
            set_columns
                .iter()
                .map(|columns| {
                    let mut all = always.clone();
                    all.extend(columns.iter().map(|c| dim(c)));
                    format!("({})", all.join(", "))
                })
                .collect()
        };
        if !having.is_empty() && !self.dialect.having_reads_grouping() {
            let names: Vec<String> =
                out.iter().map(|o| format!("g.{}", o.rsplit(" AS ").next().unwrap_or(o))).collect();
            out.push(format!("{having} AS _tally_having"));
            let grouped = self.sql.fragment(
                "cells_base.sql",
                Ctx::new()
                    .set("select", &out.join(",\n  "))
                    .set("facts", &indent(&facts, 2))
                    .set_list("sets", group_by)
                    .set("having", ""),
            );
            return Ok(format!(
                "SELECT\n  {}\nFROM (\n  {}\n) AS g\nWHERE g._tally_having",
                names.join(",\n  "),
                indent(&grouped, 2)
            ));
        }
        Ok(self.sql.fragment(
            "cells_base.sql",
            Ctx::new()
                .set("select", &out.join(",\n  "))
                .set("facts", &indent(&facts, 2))
                .set_list("sets", group_by)
                .set("having", &having),
        ))
    }

    /// Keeps, of the facts copied into the periods a window may end in, the copies whose row
    /// the window holds: dated before the window's end (the period's end, or the refresh while
    /// it runs) and not before its start; and no cell for a period that has not begun.
    fn window_facts(&mut self, window: Window, facts: &str) -> String {
        let as_of = match self.cutoff {
            Some(grain) => shift_back(grain, "{now}", "f._tally_grain", &self.table.grains),
            None => "{now}".to_string(),
        };
        let end = expr::period_end_of("f._tally_grain", "f._tally_period");
        let end = format!("LEAST({end}, {as_of})");
        let start = match window {
            Window::ToDate(grain) => period_start(
                grain,
                &format!("({end} - INTERVAL '1 microsecond')"),
                &self.model.calendar,
            ),
            Window::Last(Period::Days(n)) => format!("{end} - {}", interval(n, TimeUnit::Day)),
            Window::Last(Period::Months(n)) => format!("{end} - {}", interval(n, TimeUnit::Month)),
        };
        self.sql.fragment(
            "facts_window.sql",
            Ctx::new()
                .set("facts", &indent(facts, 2))
                .set("as_of", &as_of)
                .set("end", &end)
                .set("start", &start),
        )
    }

    fn level_column_name(&self, dimension: &str, level: &str) -> Result<String, String> {
        self.table
            .level_column(dimension, level)
            .map(|c| c.name.clone())
            .ok_or_else(|| format!("no column for `{dimension}.{level}`"))
    }

    /// The member of `level` for a fact row: the fact column itself at the level it
    /// references, a column of the dimension's `from` source (joined once) above it.
    fn level_value(
        &self,
        joins: &mut Joins,
        dimension: &str,
        fact_column: &str,
        fact_level: &str,
        level: &str,
    ) -> Result<String, String> {
        if level == fact_level {
            return Ok(format!("f.{}", self.q(fact_column)));
        }
        let key = cuts::level_key(self.model, dimension, level)
            .ok_or_else(|| format!("level `{dimension}.{level}` has no key"))?;
        joins.need(self.model, dimension, fact_column, fact_level, key)?;
        Ok(format!("{}.{}", Joins::alias(dimension), self.q(key)))
    }

    /// The value of an axis for a fact row (`top` members and `per` keys).
    fn axis_value(&self, joins: &mut Joins, source: &str, axis: &Axis) -> Result<String, String> {
        match axis {
            Axis::Column { column, .. } => Ok(format!("f.{}", self.q(column))),
            Axis::Level { dimension, level, .. } => {
                let (fact_column, fact_level) = cuts::fact_level(self.model, source, dimension)
                    .ok_or_else(|| format!("`{source}` has no column referencing `{dimension}`"))?;
                self.level_value(joins, dimension, fact_column, fact_level, level)
            }
            Axis::Dimension { dimension, .. } => {
                let (fact_column, _) = cuts::fact_level(self.model, source, dimension)
                    .ok_or_else(|| format!("`{source}` has no column referencing `{dimension}`"))?;
                Ok(format!("f.{}", self.q(fact_column)))
            }
            Axis::Time { .. } => Err("a time axis cannot be a `top` member or `per` key".into()),
        }
    }
}

/// The joins from fact rows to dimension sources, one per dimension, each reading the keys
/// of the levels it is asked for.
#[derive(Default)]
struct Joins {
    wanted: Vec<Join>,
}

struct Join {
    dimension: String,
    /// `cur_<from>` of the dimension.
    table: String,
    fact_column: String,
    /// The key of the level the fact column references.
    fact_key: String,
    keys: BTreeSet<String>,
}

impl Joins {
    fn alias(dimension: &str) -> String {
        format!("d_{dimension}")
    }

    fn need(
        &mut self,
        model: &Model,
        dimension: &str,
        fact_column: &str,
        fact_level: &str,
        key: &str,
    ) -> Result<(), String> {
        if let Some(join) = self.wanted.iter_mut().find(|w| w.dimension == dimension) {
            join.keys.insert(key.to_string());
            return Ok(());
        }
        let fact_key = cuts::level_key(model, dimension, fact_level)
            .ok_or_else(|| format!("level `{dimension}.{fact_level}` has no key"))?;
        let from = model
            .dimensions
            .get(dimension)
            .and_then(|d| d.from.as_deref())
            .ok_or_else(|| format!("dimension `{dimension}` has no `from` source"))?;
        self.wanted.push(Join {
            dimension: dimension.to_string(),
            table: current_table(from),
            fact_column: fact_column.to_string(),
            fact_key: fact_key.to_string(),
            keys: BTreeSet::from([key.to_string()]),
        });
        Ok(())
    }

    fn sql(&self, dialect: &dyn Dialect) -> Vec<String> {
        let q = |n: &str| dialect.quote_ident(n);
        self.wanted
            .iter()
            .map(|join| {
                let mut columns = vec![q(&join.fact_key)];
                columns.extend(join.keys.iter().filter(|k| **k != join.fact_key).map(|k| q(k)));
                let alias = Joins::alias(&join.dimension);
                // DISTINCT: a fact may reference a level above the finest, whose key repeats
                // once per member below it.
                format!(
                    "LEFT JOIN (\n  SELECT DISTINCT {}\n  FROM {}\n) AS {alias}\n  ON {alias}.{} = f.{}",
                    columns.join(", "),
                    q(&join.table),
                    q(&join.fact_key),
                    q(&join.fact_column)
                )
            })
            .collect()
    }
}

/// The argument of the measure's one aggregate when that aggregate is a percentile.
fn lone_percentile(expr: &crate::semantic::expr::Expr) -> Option<&crate::semantic::expr::Expr> {
    let mut aggregates = Vec::new();
    expr.walk(|e| aggregates.extend(e.as_aggregate()));
    match aggregates.as_slice() {
        [one] if one.is_percentile() => one.arg.as_deref(),
        _ => None,
    }
}

/// The value `GROUPING(available...)` takes for rows of the set grouped by `columns`: one bit
/// per argument, the first argument the most significant, set when it is not grouped.
fn grouping_mask(available: &[String], columns: &[String]) -> u64 {
    available.iter().fold(0, |mask, c| (mask << 1) | u64::from(!columns.contains(c)))
}

/// The start of the period of `grain` that timestamp `t` falls in.
pub fn period_start(grain: Grain, t: &str, calendar: &Calendar) -> String {
    match grain {
        Grain::QuarterHour => format!(
            "date_trunc('hour', {t}) + INTERVAL '15 minutes' * CAST(floor(EXTRACT(MINUTE FROM {t}) / 15) AS INTEGER)"
        ),
        Grain::Hour | Grain::Day | Grain::Month | Grain::Quarter | Grain::Year => {
            format!("date_trunc('{}', {t})", grain.word())
        }
        Grain::Week => {
            // date_trunc('week') starts weeks on Monday; shift so the calendar's week start
            // lands on a Monday, truncate, shift back.
            let days = (7 - weekday_index(calendar.week_start)) % 7;
            if days == 0 {
                format!("date_trunc('week', {t})")
            } else {
                let shift = interval(u64::from(days), crate::syntax::ast::TimeUnit::Day);
                format!("date_trunc('week', {t} + {shift}) - {shift}")
            }
        }
        Grain::FiscalQuarter | Grain::FiscalYear => {
            // Shift the fiscal year's start onto January 1, truncate, shift back.
            let unit = if grain == Grain::FiscalYear { "year" } else { "quarter" };
            let start = calendar.fiscal_year_start;
            let month = start.month as u32 + 1;
            let months = (13 - month) % 12;
            let days = u32::from(start.day.saturating_sub(1));
            let days = interval(u64::from(days), crate::syntax::ast::TimeUnit::Day);
            let months = interval(u64::from(months), crate::syntax::ast::TimeUnit::Month);
            let (has_days, has_months) = (start.day > 1, month != 1);
            let mut shifted = t.to_string();
            if has_days {
                shifted = format!("{shifted} - {days}");
            }
            if has_months {
                shifted = format!("{shifted} + {months}");
            }
            let mut out = format!("date_trunc('{unit}', {shifted})");
            if has_months {
                out = format!("{out} - {months}");
            }
            if has_days {
                out = format!("{out} + {days}");
            }
            out
        }
    }
}

/// Whether a window's cells are made at `grain`: a day or coarser, and for `to date <g>` no
/// coarser than `<g>` (a month-to-date value per fiscal year would be its last month's).
fn window_grain(window: Window, grain: Grain) -> bool {
    let rank = cuts::grain_rank(grain);
    rank >= cuts::grain_rank(Grain::Day)
        && match window {
            Window::ToDate(to) => grain == to || rank < cuts::grain_rank(to),
            Window::Last(_) => true,
        }
}

/// One period of `grain`, as an interval a start is moved on by.
fn grain_step(grain: Grain) -> String {
    match grain {
        Grain::QuarterHour => interval(15, TimeUnit::Minute),
        Grain::Hour => interval(1, TimeUnit::Hour),
        Grain::Day => interval(1, TimeUnit::Day),
        Grain::Week => interval(7, TimeUnit::Day),
        Grain::Month => interval(1, TimeUnit::Month),
        Grain::Quarter | Grain::FiscalQuarter => interval(3, TimeUnit::Month),
        Grain::Year | Grain::FiscalYear => interval(12, TimeUnit::Month),
    }
}

/// How many periods of `grain` after a row's own a window can end in and still hold the row:
/// the window's longest span over the grain's shortest period, plus the one it straddles.
fn window_steps(window: Window, grain: Grain) -> u64 {
    let span = match window {
        Window::ToDate(to) => match to {
            Grain::QuarterHour | Grain::Hour | Grain::Day => 1,
            Grain::Week => 7,
            Grain::Month => 31,
            Grain::Quarter | Grain::FiscalQuarter => 92,
            Grain::Year | Grain::FiscalYear => 366,
        },
        Window::Last(period) => period.day_range().1,
    };
    let shortest = match grain {
        Grain::QuarterHour | Grain::Hour | Grain::Day => 1,
        Grain::Week => 7,
        Grain::Month => 28,
        Grain::Quarter | Grain::FiscalQuarter => 89,
        Grain::Year | Grain::FiscalYear => 365,
    };
    span / shortest + 1
}

fn weekday_index(day: Weekday) -> u32 {
    Weekday::ALL.iter().position(|d| *d == day).map_or(0, |i| i as u32)
}

/// The start of the period a row of `table` is compared with under `compare previous <grain>`:
/// the same period one `grain` earlier, by the contract's rule
/// ([`tally_contract::period::compare_shift`]: a week looks back whole weeks, so that it lands
/// on a week's first day). One expression per distinct shift among the kept grains.
pub fn previous_start(grain: Grain, table: &str, kept: &[Grain]) -> String {
    shift_back(grain, &format!("{table}.period_start"), &format!("{table}.grain"), kept)
}

/// `value` moved back one `grain` by the contract's rule, for rows whose grain is the text
/// expression `row_grain` (a week moves back whole weeks). One expression per distinct shift
/// among the kept grains.
pub fn shift_back(grain: Grain, value: &str, row_grain: &str, kept: &[Grain]) -> String {
    use tally_contract::period::{compare_shift, Shift};
    let sql = |row: Grain| {
        let shift = compare_shift(grain.word(), row.word()).unwrap_or(Shift::Days(0));
        let interval = match shift {
            Shift::Minutes(n) if n % 60 == 0 => interval(u64::from(n / 60), TimeUnit::Hour),
            Shift::Minutes(n) => interval(u64::from(n), TimeUnit::Minute),
            Shift::Days(n) => interval(u64::from(n), TimeUnit::Day),
            Shift::Months(n) => interval(u64::from(n), TimeUnit::Month),
        };
        format!("{value} - {interval}")
    };
    let usual = kept.iter().copied().find(|g| *g != Grain::Week).unwrap_or(grain);
    if kept.contains(&Grain::Week) && sql(Grain::Week) != sql(usual) {
        format!("CASE WHEN {row_grain} = 'week' THEN {} ELSE {} END", sql(Grain::Week), sql(usual))
    } else {
        sql(usual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::{Month, MonthDay};

    #[test]
    fn a_week_is_compared_with_the_week_whole_weeks_earlier() {
        let kept = [Grain::Week, Grain::Month, Grain::FiscalYear];
        assert_eq!(
            previous_start(Grain::FiscalYear, "t", &kept),
            "CASE WHEN t.grain = 'week' THEN t.period_start - INTERVAL '364 days' \
             ELSE t.period_start - INTERVAL '12 months' END"
        );
        assert_eq!(
            previous_start(Grain::Quarter, "t", &kept),
            "CASE WHEN t.grain = 'week' THEN t.period_start - INTERVAL '91 days' \
             ELSE t.period_start - INTERVAL '3 months' END"
        );
        assert_eq!(previous_start(Grain::Week, "t", &kept), "t.period_start - INTERVAL '7 days'");
        assert_eq!(
            previous_start(Grain::Year, "t", &[Grain::Month]),
            "t.period_start - INTERVAL '12 months'"
        );
    }

    #[test]
    fn fiscal_periods_shift_onto_the_calendar_year() {
        let mut calendar = Calendar::implicit();
        calendar.fiscal_year_start = MonthDay { month: Month::October, day: 1 };
        assert_eq!(
            period_start(Grain::FiscalYear, "t", &calendar),
            "date_trunc('year', t + INTERVAL '3 months') - INTERVAL '3 months'"
        );
        calendar.fiscal_year_start = MonthDay { month: Month::January, day: 1 };
        assert_eq!(period_start(Grain::FiscalQuarter, "t", &calendar), "date_trunc('quarter', t)");
        calendar.week_start = Weekday::Sunday;
        assert_eq!(
            period_start(Grain::Week, "t", &calendar),
            "date_trunc('week', t + INTERVAL '1 day') - INTERVAL '1 day'"
        );
    }
}
