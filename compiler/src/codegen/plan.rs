//! The ETL plan (`generated/plan.json`): everything the runtime executes, for both dialects.
//!
//! The runtime needs nothing else: per source its schedule, landing files, columns and the
//! statements of each step; per metric, in dependency order, the statements that refresh it
//! and the tables it reads; per mart and aggregate table, its shape and how fresh its sources
//! should be. Statements are checked with sqlparser in their dialect (see
//! [`super::templates`]) and carry `{placeholders}` the runtime fills in. The format is
//! versioned ([`PLAN_VERSION`]), described in `docs/artifacts.md`, and has a JSON Schema in
//! `docs/plan.schema.json`.
//!
//! Output is deterministic: sources and marts by name, metrics in the given order, object keys
//! in a fixed order, no times or paths.

use super::cuts::{self, CutTable, Origin};
use super::dialect::{self, Dialect};
use super::drill;
use super::load;
use super::metrics_sql;
use super::policy::metric_sources;
use super::schema::TableKind;
use super::templates::Sql;
use crate::diagnostic::Diagnostic;
use crate::graph::{archive_table, current_table, staging_table};
use crate::semantic::{
    self, Axis, ColumnType, Keep, LandingFormat, LoadMode, Model, Period, Source,
};
use crate::syntax::ast;
use std::collections::{BTreeMap, BTreeSet};
use tally_contract::plan::{
    self as contract, Column, CutColumn, FileStep, Inputs, Landing, Load, MetricPlan, Plan,
    Refresh, ReportPlan, Retention, RetentionRule, Role as StatementRole, RuntimeSql,
    SourceFreshness, SourcePlan, SourceTables, Statement, TablePlan, TableRetention,
};

pub use tally_contract::plan::{GENERATED_BY, PLAN_VERSION};

/// The plan as pretty, deterministic JSON. `metric_order` lists metric names in dependency
/// order (inputs first), as the graph stage computed it.
pub fn plan(model: &Model, metric_order: &[String]) -> Result<String, Vec<Diagnostic>> {
    let mut sql = Sql::new();
    let plan = build(model, metric_order, &mut sql);
    let plan = sql.finish(plan)?;
    Ok(plan.to_json())
}

fn build(model: &Model, metric_order: &[String], sql: &mut Sql) -> Plan {
    let dialects = dialect::all();
    let mut runtime = BTreeMap::new();
    for d in dialects {
        runtime.insert(d.id(), runtime_sql(d, sql));
    }
    let mut names: Vec<&String> = model.sources.keys().collect();
    names.sort();
    let sources = names
        .into_iter()
        .filter_map(|name| source_plan(model, name, model.sources.get(name)?, sql))
        .collect();

    let tables = cuts::cut_tables(model);
    let known: BTreeSet<&str> = model.metrics.keys().map(String::as_str).collect();
    let ordered: BTreeSet<&str> = metric_order.iter().map(String::as_str).collect();
    for name in metric_order {
        if !known.contains(name.as_str()) {
            sql.bug(format!("the metric order names `{name}`, which is not a metric"));
        }
    }
    for name in &known {
        if !ordered.contains(name) {
            sql.bug(format!("metric `{name}` is missing from the metric order"));
        }
    }
    let mut seen = BTreeSet::new();
    let mut metrics: Vec<MetricPlan> = Vec::new();
    for name in metric_order {
        if known.contains(name.as_str()) && seen.insert(name.as_str()) {
            let plan = metric_plan(model, name, &tables, &metrics, sql);
            metrics.push(plan);
        }
    }

    let (marts, aggregates): (Vec<&CutTable>, Vec<&CutTable>) =
        tables.iter().partition(|t| t.kind == TableKind::Mart);
    Plan {
        version: PLAN_VERSION,
        generated_by: GENERATED_BY.to_owned(),
        dialects: dialects.iter().map(|d| d.id()).collect(),
        placeholders: Plan::placeholder_docs(),
        file_steps: FileStep::ALL.to_vec(),
        runtime,
        calendar: calendar(&model.calendar),
        user_attributes: user_attributes(model),
        dimensions: dimensions(model),
        sources,
        metrics,
        marts: marts.into_iter().map(|t| table_plan(model, t, sql)).collect(),
        aggregates: aggregates.into_iter().map(|t| table_plan(model, t, sql)).collect(),
        reports: report_plans(model, &tables, sql),
    }
}

fn report_plans(model: &Model, tables: &[CutTable], sql: &mut Sql) -> Vec<ReportPlan> {
    let mut names: Vec<&String> = model.reports.keys().collect();
    names.sort();
    let mut plans = Vec::new();
    for name in names {
        let report = &model.reports[name];
        let Some(mart) = report.mart.as_ref() else {
            // A report without a mart has nothing to read; the checker requires one.
            sql.bug(format!("report `{name}` has no mart"));
            continue;
        };
        let Some(table) = tables.iter().find(|t| t.kind == TableKind::Mart && t.owner == mart.name)
        else {
            sql.bug(format!("report `{name}`: no table for mart `{}`", mart.name));
            continue;
        };
        let metrics: Vec<String> = if report.metrics.is_empty() {
            table.metrics.clone()
        } else {
            report.metrics.iter().map(|m| m.name.clone()).collect()
        };
        // The columns the report is cut by: each level with the levels above it that the
        // table keeps (a port row carries its field office), each column axis.
        let mut cut: BTreeSet<String> = BTreeSet::new();
        let mut shown: Vec<String> = Vec::new();
        let mut time_grain = None;
        let mut timed = false;
        for axis in &report.by {
            match axis {
                Axis::Level { dimension, level, .. } => {
                    let mut levels = cuts::ancestors(model, dimension, level);
                    levels.insert(level.clone());
                    for l in levels {
                        if let Some(c) = table.level_column(dimension, &l) {
                            cut.insert(c.name.clone());
                        }
                    }
                    if let Some(c) = table.level_column(dimension, level) {
                        shown.push(c.name.clone());
                    }
                }
                Axis::Column { source, column, .. } => {
                    if let Some(c) = table.source_column(source, column) {
                        cut.insert(c.name.clone());
                        shown.push(c.name.clone());
                    }
                }
                Axis::Time { grain, .. } => {
                    timed = true;
                    time_grain = time_grain.or(*grain);
                }
                Axis::Dimension { .. } => {}
            }
        }
        let levels: Vec<String> = table
            .columns
            .iter()
            .filter(|c| cut.contains(&c.name))
            .map(|c| c.name.clone())
            .collect();
        let grain = if timed || report.grain.is_some() {
            report.grain.or(time_grain).or(table.grains.first().copied())
        } else {
            None
        };
        let mut statements = BTreeMap::new();
        for d in dialect::all() {
            let q = |n: &str| d.quote_ident(n);
            let mut select = vec!["metric".to_string()];
            if grain.is_some() {
                select.push("period_start".to_string());
            }
            select.extend(shown.iter().map(|c| q(c)));
            select.extend(["bucket", "member"].map(String::from));
            select.push(
                "CASE WHEN cell_rows < {min_cell_size} THEN NULL ELSE value END AS value"
                    .to_string(),
            );
            select.push(
                "CASE WHEN cell_rows < {min_cell_size} THEN NULL ELSE previous_value END AS previous_value"
                    .to_string(),
            );
            select.push("cell_rows < {min_cell_size} AS suppressed".to_string());
            let list: Vec<String> =
                metrics.iter().map(|m| super::templates::text_literal(m)).collect();
            let mut conditions = vec![format!("metric IN ({})", list.join(", "))];
            conditions.push(match grain {
                Some(g) => format!("grain = '{}'", g.word()),
                None => "grain IS NULL".to_string(),
            });
            conditions
                .push(format!("levels = {}", super::templates::text_literal(&levels.join(","))));
            let mut order = vec!["metric".to_string()];
            if grain.is_some() {
                order.push("period_start".to_string());
            }
            order.extend(shown.iter().map(|c| q(c)));
            order.extend(["bucket", "member"].map(String::from));
            let text = format!(
                "SELECT\n  {}\nFROM {}\nWHERE {}\nORDER BY {}",
                select.join(",\n  "),
                q(&table.name),
                conditions.join("\n  AND "),
                order.join(", ")
            );
            statements.insert(d.id(), sql.check(d, text));
        }
        plans.push(ReportPlan {
            name: name.clone(),
            title: report.meta.title.clone(),
            mart: mart.name.clone(),
            table: table.name.clone(),
            metrics,
            grain: grain.map(grain_id),
            levels: levels.join(","),
            columns: shown,
            sql: statements,
        });
    }
    plans
}

fn runtime_sql(d: &dyn Dialect, sql: &mut Sql) -> RuntimeSql {
    let mut check = |text: &str| sql.check(d, text.to_string());
    RuntimeSql {
        next_batch: check("SELECT COALESCE(max(batch), 0) + 1 AS batch\nFROM etl_file_ledger"),
        ledger_lookup: check(
            "SELECT sha256, size, batch, loaded_at\nFROM etl_file_ledger\nWHERE source = {source}\n  AND path = {path}",
        ),
        last_loads: check(
            "SELECT source, max(loaded_at) AS last_loaded_at\nFROM etl_file_ledger\nGROUP BY source\nORDER BY source",
        ),
        run_log: check(
            "INSERT INTO etl_run_log (run_id, source, step, batch, started_at, finished_at, rows_in, rows_out, rows_rejected, status, error)\nVALUES ({run_id}, {log_source}, {step}, {log_batch}, {started_at}, {finished_at}, {rows_in}, {rows_out}, {rows_rejected}, {status}, {error})",
        ),
    }
}

/// `None` (reported as an internal error) for a source without a schedule, which the
/// semantic stage reports as missing, so code generation never sees one.
fn source_plan(model: &Model, name: &str, source: &Source, sql: &mut Sql) -> Option<SourcePlan> {
    let Some(schedule) = source.refresh.clone() else {
        sql.bug(format!("source `{name}` has no schedule"));
        return None;
    };
    let landing = source.landing.as_ref();
    let landing = Landing {
        pattern: landing.map(|l| l.pattern.clone()).unwrap_or_default(),
        format: match landing.map(|l| l.format) {
            Some(LandingFormat::Jsonl) => contract::LandingFormat::Jsonl,
            Some(LandingFormat::Parquet) => contract::LandingFormat::Parquet,
            Some(LandingFormat::Xlsx) => contract::LandingFormat::Xlsx,
            Some(LandingFormat::Csv) | None => contract::LandingFormat::Csv,
        },
        csv: landing.and_then(|l| l.csv.as_ref()).map(|c| contract::Csv {
            delimiter: c.delimiter.to_string(),
            header: c.header,
            quote: c.quote.to_string(),
            null: c.null.clone(),
            skip: c.skip,
        }),
        xlsx: landing
            .and_then(|l| l.xlsx.as_ref())
            .map(|x| contract::Xlsx { sheet: x.sheet.clone(), skip: x.skip }),
    };
    if source.landing.as_ref().is_some_and(|l| l.format == LandingFormat::Csv && l.csv.is_none()) {
        sql.bug(format!("source `{name}` lands CSV without CSV options"));
    }
    let load = match &source.load {
        Some(LoadMode::Snapshot) | None => Load::Snapshot,
        Some(LoadMode::Append { delete_marker }) => {
            Load::Append { delete_marker: delete_marker.clone() }
        }
        Some(LoadMode::Incremental { by, lookback_minutes, delete_marker }) => Load::Incremental {
            column: by.clone(),
            lookback_minutes: *lookback_minutes,
            delete_marker: delete_marker.clone(),
        },
        Some(LoadMode::Cdc { delete_marker }) => Load::Cdc { delete_marker: delete_marker.clone() },
    };
    let columns = source.columns.values().map(column).collect();
    let rule = source.retention.rule.as_ref().and_then(|r| model.retention_rules.get_key_value(r));
    let retention = Retention {
        retain: source.retention.keep.map(|k| match k {
            Keep::Forever => contract::Period::Forever,
            Keep::For(p) => period(p),
        }),
        by: source.retention.by.clone(),
        rule: rule.map(|(name, r)| RetentionRule {
            name: name.clone(),
            follow_source: r.follow_source,
            keep: r.keep.map(period),
            archive: r.archive.map(period),
        }),
    };
    let mut statements = BTreeMap::new();
    for d in dialect::all() {
        statements.insert(d.id(), load::source_sql(model, d, sql, name));
    }
    Some(SourcePlan {
        name: name.to_string(),
        title: source.meta.title.clone(),
        freshness: schedule.freshness(),
        schedule,
        landing,
        load,
        key: source.key.clone(),
        columns,
        retention,
        tables: SourceTables {
            staging: staging_table(name),
            current: current_table(name),
            archive: archive_table(name),
            raw: load::raw_table(name),
        },
        sql: statements,
    })
}

fn period(p: Period) -> contract::Period {
    match p {
        Period::Days(days) => contract::Period::Days(days),
        Period::Months(months) => contract::Period::Months(months),
    }
}

fn column_type(ty: Option<&ColumnType>) -> contract::ColumnType {
    match ty {
        Some(ColumnType::String) | None => contract::ColumnType::String,
        Some(ColumnType::Int) => contract::ColumnType::Int,
        Some(ColumnType::Decimal { precision, scale }) => {
            contract::ColumnType::Decimal { precision: *precision, scale: *scale }
        }
        Some(ColumnType::Bool) => contract::ColumnType::Bool,
        Some(ColumnType::Date) => contract::ColumnType::Date,
        Some(ColumnType::Timestamp) => contract::ColumnType::Timestamp,
        Some(ColumnType::Enum(values)) => contract::ColumnType::Enum { values: values.clone() },
    }
}

/// The `users` block's attributes, in the order declared (the order of `policy_user`'s
/// columns). Each is the `policy_user` column of its name.
fn user_attributes(model: &Model) -> Vec<contract::UserAttribute> {
    model
        .user_attributes
        .values()
        .map(|a| contract::UserAttribute {
            name: a.name.clone(),
            title: a.docs.lines().next().map(str::to_owned).filter(|t| !t.is_empty()),
            column: a.name.clone(),
            ty: column_type(a.ty.as_ref()),
            references: a.references.as_ref().map(|r| contract::Reference {
                dimension: r.dimension.clone(),
                level: r.level.clone(),
            }),
        })
        .collect()
}

pub(crate) fn column(c: &semantic::Column) -> Column {
    let ty = column_type(c.ty.as_ref());
    let default = c.default.as_ref().map(|d| match d {
        ast::Literal::Int(s) | ast::Literal::Decimal(s) => {
            serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
        }
        ast::Literal::String(s) => serde_json::Value::String(s.clone()),
        ast::Literal::Bool(b) => serde_json::Value::Bool(*b),
        ast::Literal::Percent(p) => serde_json::Value::String(format!("{p}%")),
        ast::Literal::Duration { amount, unit } => {
            serde_json::Value::String(format!("{amount} {}", unit.word(*amount)))
        }
        ast::Literal::Null => serde_json::Value::Null,
    });
    Column {
        name: c.name.clone(),
        ty,
        nullable: c.nullable,
        default,
        references: c.references.as_ref().map(|r| contract::Reference {
            dimension: r.dimension.clone(),
            level: r.level.clone(),
        }),
        pii: c.pii.iter().map(|p| p.word().to_owned()).collect(),
        access: semantic::column_access(c),
    }
}

fn grain_id(g: semantic::Grain) -> contract::Grain {
    match g {
        semantic::Grain::QuarterHour => contract::Grain::QuarterHour,
        semantic::Grain::Hour => contract::Grain::Hour,
        semantic::Grain::Day => contract::Grain::Day,
        semantic::Grain::Week => contract::Grain::Week,
        semantic::Grain::Month => contract::Grain::Month,
        semantic::Grain::Quarter => contract::Grain::Quarter,
        semantic::Grain::Year => contract::Grain::Year,
        semantic::Grain::FiscalQuarter => contract::Grain::FiscalQuarter,
        semantic::Grain::FiscalYear => contract::Grain::FiscalYear,
    }
}

fn calendar(c: &semantic::Calendar) -> contract::Calendar {
    contract::Calendar {
        name: c.name.clone(),
        title: c.title.clone(),
        fiscal_year_start: contract::MonthDay {
            // Months are listed January first.
            month: semantic::Month::ALL
                .iter()
                .position(|m| *m == c.fiscal_year_start.month)
                .map_or(1, |i| i as u32 + 1),
            day: u32::from(c.fiscal_year_start.day),
        },
        week_start: c.week_start.to_contract(),
        grains: c.grains.iter().copied().map(grain_id).collect(),
        timezone: c.timezone.clone(),
    }
}

/// Every dimension, by name, with its levels in declaration order.
pub(crate) fn dimensions(model: &Model) -> Vec<contract::Dimension> {
    let mut names: Vec<&String> = model.dimensions.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let d = &model.dimensions[name];
            contract::Dimension {
                name: name.clone(),
                title: d.meta.title.clone(),
                from: d.from.clone(),
                levels: d
                    .levels
                    .values()
                    .map(|l| contract::Level {
                        name: l.name.clone(),
                        key: l.key.clone(),
                        label: l.label.clone(),
                    })
                    .collect(),
                hierarchies: d.hierarchies.iter().map(|h| h.levels.clone()).collect(),
            }
        })
        .collect()
}

/// `earlier` holds the plans of the metrics before this one in dependency order: a derived
/// metric's inputs are among them.
fn metric_plan(
    model: &Model,
    name: &str,
    tables: &[CutTable],
    earlier: &[MetricPlan],
    sql: &mut Sql,
) -> MetricPlan {
    let metric = &model.metrics[name];
    let mut input_tables = BTreeSet::new();
    for source in metric_sources(model, name) {
        input_tables.insert(current_table(&source));
        if let Some(s) = model.sources.get(&source) {
            for c in s.columns.values() {
                let from = c
                    .references
                    .as_ref()
                    .and_then(|r| model.dimensions.get(&r.dimension))
                    .and_then(|d| d.from.as_ref());
                if let Some(from) = from {
                    input_tables.insert(current_table(from));
                }
            }
        }
    }
    let mut inputs = Vec::new();
    for m in metric.measure.iter().flat_map(|m| &m.metrics) {
        if !inputs.contains(&m.name) {
            inputs.push(m.name.clone());
        }
    }
    // An approximate percentile is computed only where the engine has one: never exactly
    // in its place (the project's own dialect is checked by `dialect::refusals`).
    let approximate = metric.measure.as_ref().is_some_and(|m| reads_approximation(&m.expr))
        || earlier.iter().any(|m| m.approximate && inputs.contains(&m.name));
    let refresh = tables
        .iter()
        .filter(|t| t.metrics.iter().any(|m| m == name))
        .map(|t| {
            let mut statements = BTreeMap::new();
            for d in dialect::all() {
                if approximate && d.approx_percentile().is_none() {
                    continue;
                }
                statements.insert(d.id(), metrics_sql::refresh(model, d, sql, t, name));
            }
            Refresh { table: t.name.clone(), sql: statements }
        })
        .collect::<Vec<Refresh>>();
    // Its values depend on the clock when its cells read `{now}` (`now()`, `age(...)`), or
    // when it reads a metric whose values do.
    let clock = tables
        .iter()
        .find(|t| t.metrics.iter().any(|m| m == name))
        .is_some_and(|t| metrics_sql::reads_clock(model, dialect::all()[0], t, name))
        || earlier.iter().any(|m| m.clock && inputs.contains(&m.name));
    // Cells are placed in time when the metric has a time column, or reads a metric that does.
    let timed = if metric.is_derived() {
        earlier.iter().any(|m| m.timed && inputs.contains(&m.name))
    } else {
        metric.time.is_some()
    };
    MetricPlan {
        name: name.to_string(),
        title: metric.meta.title.clone(),
        description: metric.meta.description.clone(),
        unit: metric.unit.clone(),
        format: metric.format.map(|f| f.word().to_owned()),
        derived: metric.is_derived(),
        source: metric.source.clone(),
        inputs: Inputs { metrics: inputs, tables: input_tables.into_iter().collect() },
        counts: drill::counts(model, name),
        timed,
        compare: metric.compare.map(|c| c.grain.word().to_owned()),
        compare_span: metric.compare.map(|c| match c.kind {
            crate::semantic::CompareKind::ToDate => tally_contract::plan::CompareSpan::ToDate,
            crate::semantic::CompareKind::Whole => tally_contract::plan::CompareSpan::Whole,
        }),
        clock,
        approximate,
        grains: crate::semantic::targets::grains(model, name)
            .map(|g| g.iter().map(|g| g.word().to_owned()).collect())
            .unwrap_or_default(),
        target: metric.target.map(|g| g.word().to_owned()),
        refresh,
        drill: drill::drill(model, name, sql),
    }
}

/// Whether an expression computes an approximate percentile.
fn reads_approximation(expr: &crate::semantic::expr::Expr) -> bool {
    let mut found = false;
    expr.walk(|e| found |= e.as_aggregate().is_some_and(|a| a.function.is_approximate()));
    found
}

/// An axis as written in the DSL.
fn axis_text(axis: &Axis, calendar: &str) -> String {
    match axis {
        Axis::Dimension { dimension, .. } => dimension.clone(),
        Axis::Level { dimension, level, .. } => format!("{dimension}.{level}"),
        Axis::Time { grain: Some(g), .. } => format!("{calendar}.{}", g.word()),
        Axis::Time { grain: None, .. } => calendar.to_string(),
        Axis::Column { source, column, .. } => format!("{source}.{column}"),
    }
}

/// A mart's retention: cells of periods older than the rule's `keep` move to the archive table
/// (purged after `archive`, or at once without it).
fn table_retention(model: &Model, t: &CutTable, sql: &mut Sql) -> Option<TableRetention> {
    let mart = model.marts.get(&t.owner).filter(|_| t.kind == TableKind::Mart)?;
    let rule_name = mart.retention.as_ref()?;
    let rule = model.retention_rules.get(rule_name)?;
    let keep = rule.keep?;
    let archive = cuts::mart_archive_table(&t.name);
    let columns: Vec<String> = t.schema_columns().into_iter().map(|c| c.name).collect();
    let mut statements = BTreeMap::new();
    for d in dialect::all() {
        let q = |name: &str| d.quote_ident(name);
        let names: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let old = format!("period_start < {{now}} - {}", load::period_interval(keep));
        let purge_after = match rule.archive {
            Some(archive) => format!("period_start + {}", load::period_interval(archive)),
            None => "{now}".to_string(),
        };
        let copy = format!(
            "INSERT INTO {archive} ({}, _tally_archived_at, _tally_purge_after)\nSELECT\n  {},\n  {{now}},\n  {purge_after}\nFROM {}\nWHERE {old}",
            names.join(", "),
            names.join(",\n  "),
            q(&t.name)
        );
        if !d.row_mutations() {
            // Spark: without a transaction the copy and the expiry are apart, so a rerun
            // copies no period the archive already has (a period moves in one statement).
            let copy = format!(
                "{copy}\n  AND NOT EXISTS (\n    SELECT 1\n    FROM {archive} AS a\n    WHERE a.metric = {table}.metric\n      AND a.grain = {table}.grain\n      AND a.period_start = {table}.period_start\n  )",
                table = q(&t.name)
            );
            let mut list = vec![Statement::new(StatementRole::Archive, sql.check(d, copy))];
            // The table is partitioned by metric: the replacement overwrites every partition
            // (static mode), so a metric with no cell left ends empty.
            let expire = super::rewrite::delete(d, &t.name, Some(&old));
            let purge = super::rewrite::delete(d, &archive, Some("_tally_purge_after <= {now}"));
            let (static_mode, dynamic_mode) = (
                "SET spark.sql.sources.partitionOverwriteMode = static",
                "SET spark.sql.sources.partitionOverwriteMode = dynamic",
            );
            for (i, text) in expire.into_iter().enumerate() {
                if i == 1 {
                    list.push(Statement::new(
                        StatementRole::Expire,
                        sql.check(d, static_mode.to_string()),
                    ));
                }
                list.push(Statement::new(StatementRole::Expire, sql.check(d, text)));
                if i == 1 {
                    list.push(Statement::new(
                        StatementRole::Expire,
                        sql.check(d, dynamic_mode.to_string()),
                    ));
                }
            }
            list.extend(
                purge
                    .into_iter()
                    .map(|text| Statement::new(StatementRole::Purge, sql.check(d, text))),
            );
            statements.insert(d.id(), list);
            continue;
        }
        let expire = format!("DELETE FROM {}\nWHERE {old}", q(&t.name));
        let purge = format!("DELETE FROM {archive}\nWHERE _tally_purge_after <= {{now}}");
        statements.insert(
            d.id(),
            vec![
                Statement::new(StatementRole::Archive, sql.check(d, copy)),
                Statement::new(StatementRole::Expire, sql.check(d, expire)),
                Statement::new(StatementRole::Purge, sql.check(d, purge)),
            ],
        );
    }
    Some(TableRetention { rule: rule_name.clone(), archive, sql: statements })
}

fn table_plan(model: &Model, t: &CutTable, sql: &mut Sql) -> TablePlan {
    let mart = model.marts.get(&t.owner).filter(|_| t.kind == TableKind::Mart);
    let title = match mart {
        Some(m) => m.meta.title.clone(),
        None => model.metrics.get(&t.owner).and_then(|m| m.meta.title.clone()),
    };
    let mut sources = BTreeSet::new();
    for metric in &t.metrics {
        sources.extend(metric_sources(model, metric));
    }
    TablePlan {
        name: t.owner.clone(),
        title,
        kind: mart.and_then(|m| m.kind).map(|k| match k {
            semantic::MartKind::Dashboard => contract::MartKind::Dashboard,
            semantic::MartKind::SubjectArea => contract::MartKind::SubjectArea,
        }),
        table: t.name.clone(),
        metrics: t.metrics.clone(),
        dimensions: match mart {
            Some(m) => m.dimensions.iter().map(|a| axis_text(a, &model.calendar.name)).collect(),
            None => model
                .metrics
                .get(&t.owner)
                .map(|m| m.by.iter().map(|a| axis_text(a, &model.calendar.name)).collect())
                .unwrap_or_default(),
        },
        grain: t.grains.first().copied().map(grain_id),
        grains: t.grains.iter().copied().map(grain_id).collect(),
        columns: t
            .columns
            .iter()
            .map(|c| match &c.origin {
                Origin::Level { dimension, level } => CutColumn {
                    name: c.name.clone(),
                    dimension: Some(dimension.clone()),
                    level: Some(level.clone()),
                    source: None,
                    column: None,
                },
                Origin::Column { source, column } => CutColumn {
                    name: c.name.clone(),
                    dimension: None,
                    level: None,
                    source: Some(source.clone()),
                    column: Some(column.clone()),
                },
            })
            .collect(),
        freshness: sources
            .into_iter()
            .filter_map(|s| {
                let schedule = model.sources.get(&s)?.refresh.as_ref()?;
                Some(SourceFreshness { source: s, freshness: schedule.freshness() })
            })
            .collect(),
        drill: mart
            .and_then(|m| m.drill.as_ref())
            .map(|d| contract::MartDrill { source: d.source.clone(), columns: d.columns.clone() }),
        metric_columns: t
            .metrics
            .iter()
            .map(|m| {
                let cut = metric_columns(model, t, m, 0);
                let ordered = t.columns.iter().filter(|c| cut.contains(&c.name));
                (m.clone(), ordered.map(|c| c.name.clone()).collect())
            })
            .collect(),
        retention: table_retention(model, t, sql),
    }
}

/// The columns of `t` that `metric`'s cells can be cut by: as the refresh statements place
/// its source's rows (`metrics_sql`), the keyed levels its source reaches in each kept
/// dimension and the column axes of its own source; a derived metric's cells are its inputs'
/// together.
pub(super) fn metric_columns(
    model: &Model,
    t: &CutTable,
    metric: &str,
    depth: usize,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(m) = model.metrics.get(metric) else { return out };
    if m.is_derived() {
        // Derived metrics nest at most a few levels (the graph stage refuses deeper ones).
        if depth < 64 {
            let mut limits = Vec::new();
            for input in m.measure.iter().flat_map(|x| &x.metrics) {
                let columns = metric_columns(model, t, &input.name, depth + 1);
                // A target limits what the metric is cut by: its cells have no value finer.
                if !crate::semantic::targets::targets_read(model, &input.name).is_empty() {
                    limits.push(columns.clone());
                }
                out.extend(columns);
            }
            for limit in limits {
                out.retain(|c| limit.contains(c));
            }
        }
        return out;
    }
    let Some(source) = m.source.as_deref() else { return out };
    for d in &t.dimensions {
        match d {
            cuts::CutDimension::Levels { dimension, kept } => {
                let Some((_, fact_level)) = cuts::fact_level(model, source, dimension) else {
                    continue;
                };
                let mut reachable = cuts::ancestors(model, dimension, fact_level);
                reachable.insert(fact_level.to_string());
                for level in kept {
                    if reachable.contains(level) && cuts::has_key(model, dimension, level) {
                        if let Some(c) = t.level_column(dimension, level) {
                            out.insert(c.name.clone());
                        }
                    }
                }
            }
            cuts::CutDimension::Column { source: s, column } if s == source => {
                if let Some(c) = t.source_column(s, column) {
                    out.insert(c.name.clone());
                }
            }
            cuts::CutDimension::Column { .. } => {}
        }
    }
    out
}
