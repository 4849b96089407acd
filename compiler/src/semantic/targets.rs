//! Targets: metrics set per a period and per the levels their source names (`target month`),
//! compared with actuals by derived metrics.
//!
//! A target's value exists only at its own grain and at the coarser grains made of whole
//! periods of it (a month target gives quarters and years, not days or weeks), and only by the
//! dimension levels its source places rows at and above. A metric derived from a target has
//! the same limits. What a report or a metric's own `by` and `grain` ask for beyond them is
//! refused here (`T0318`); what a query asks for is refused by the runtime (`R0427`), from
//! the plan's `grains` and `metric_columns`. A cell without a target has no value, never 0:
//! code generation reads a target as not additive.

use super::model::*;
use crate::codegen::cuts;
use crate::diagnostic::{codes, Diagnostic};
use crate::span::Span;
use std::collections::BTreeSet;

/// The grains whose periods are unions of whole periods of `target`, finest first among the
/// calendar's own: the grains a target set per `target` has values at.
pub fn grains_covered(target: Grain, calendar: &Calendar) -> Vec<Grain> {
    let start = calendar.fiscal_year_start;
    let fiscal_months = start.day == 1;
    let fiscal_quarters = fiscal_months
        && matches!(start.month, Month::January | Month::April | Month::July | Month::October);
    let fiscal_is_calendar = fiscal_months && start.month == Month::January;
    let covered = |g: Grain| -> bool {
        use Grain::*;
        match target {
            QuarterHour => true,
            Hour => g != QuarterHour,
            Day => !matches!(g, QuarterHour | Hour),
            Week => g == Week,
            Month => match g {
                Month | Quarter | Year => true,
                FiscalQuarter => fiscal_quarters || fiscal_months,
                FiscalYear => fiscal_months,
                _ => false,
            },
            Quarter => match g {
                Quarter | Year => true,
                FiscalQuarter | FiscalYear => fiscal_quarters,
                _ => false,
            },
            FiscalQuarter => match g {
                FiscalQuarter | FiscalYear => true,
                Quarter | Year => fiscal_quarters,
                _ => false,
            },
            Year => g == Year || (g == FiscalYear && fiscal_is_calendar),
            FiscalYear => g == FiscalYear || (g == Year && fiscal_is_calendar),
        }
    };
    calendar.grains.iter().copied().filter(|g| covered(*g)).collect()
}

/// The target metrics `metric` reads: itself when it is one, else those of its inputs.
pub fn targets_read<'m>(model: &'m Model, metric: &str) -> Vec<&'m str> {
    let mut out: Vec<&'m str> = Vec::new();
    let mut stack: Vec<&str> = vec![metric];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(name) = stack.pop() {
        let Some((key, m)) = model.metrics.get_key_value(name) else { continue };
        if !seen.insert(key.clone()) {
            continue;
        }
        if m.target.is_some() {
            out.push(key.as_str());
        }
        stack.extend(m.measure.iter().flat_map(|x| &x.metrics).map(|r| r.name.as_str()));
    }
    out.sort_unstable();
    out
}

/// The grains `metric` has values at when it reads targets (the grains every target it reads
/// covers), `None` when it reads none.
pub fn grains(model: &Model, metric: &str) -> Option<Vec<Grain>> {
    let targets = targets_read(model, metric);
    if targets.is_empty() {
        return None;
    }
    let mut grains: Vec<Grain> = model.calendar.grains.clone();
    for t in targets {
        let Some(grain) = model.metrics.get(t).and_then(|m| m.target) else { continue };
        let covered = grains_covered(grain, &model.calendar);
        grains.retain(|g| covered.contains(g));
    }
    Some(grains)
}

/// Whether the target `target` has values by `dimension.level`: its source places rows at
/// that level or below it.
fn reaches(model: &Model, target: &str, dimension: &str, level: &str) -> bool {
    let Some(source) = model.metrics.get(target).and_then(|m| m.source.as_deref()) else {
        return false;
    };
    let Some((_, fact_level)) = cuts::fact_level(model, source, dimension) else {
        return false;
    };
    fact_level == level || cuts::ancestors(model, dimension, fact_level).contains(level)
}

/// T0317 and T0318 over the whole model (see the module docs).
pub(super) fn check(model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    for (name, metric) in &model.metrics {
        if let (Some(grain), Some(span)) = (metric.target, metric.target_span) {
            let problem = if metric.is_derived() {
                Some(("A derived metric cannot be a target", "a target is read from a source of targets", format!("put `target {}` on the metric that reads the targets' source, and derive from it", grain.word())))
            } else if metric.time.is_none() {
                Some((
                    "A target needs a `time` column",
                    "which period is each target for?",
                    "name the column that dates each target, e.g. `time amo_targets.month_start`"
                        .to_string(),
                ))
            } else if metric.window.is_some() {
                Some(("A target has no `window`", "a target is set per period", "compare the actuals' window with a target set for the same span, or drop the window".to_string()))
            } else if metric.per.is_some() || metric.buckets.is_some() || metric.top.is_some() {
                Some((
                    "A target is a total per period",
                    "`per`, `buckets` and `top` split it",
                    "sum the targets' source: `measure sum(amo_targets.flight_hours)`".to_string(),
                ))
            } else {
                None
            };
            if let Some((message, label, help)) = problem {
                diagnostics.push(
                    Diagnostic::error(codes::INVALID_TARGET, format!("{message}: `{name}`"), span)
                        .label(label)
                        .help(help),
                );
            }
        }
        let own: Vec<(&Axis, String)> =
            metric.by.iter().map(|a| (a, format!("metric `{name}`"))).collect();
        finer(
            model,
            name,
            &own,
            metric.grain.map(|g| (g, metric_grain_span(metric))),
            &format!("Metric `{name}`"),
            diagnostics,
        );
    }
    for (name, report) in &model.reports {
        for metric in &report.metrics {
            let axes: Vec<(&Axis, String)> =
                report.by.iter().map(|a| (a, format!("report `{name}`"))).collect();
            finer(
                model,
                &metric.name,
                &axes,
                report.grain.map(|g| (g, report.meta.span)),
                &format!("Report `{name}`"),
                diagnostics,
            );
        }
    }
}

fn metric_grain_span(metric: &Metric) -> Span {
    metric.meta.span
}

/// T0318: `metric` asked for by `axes` or at `grain` beyond its targets.
fn finer(
    model: &Model,
    metric: &str,
    axes: &[(&Axis, String)],
    grain: Option<(Grain, Span)>,
    place: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let targets = targets_read(model, metric);
    for target in targets {
        let Some(target_metric) = model.metrics.get(target) else { continue };
        let Some(target_grain) = target_metric.target else { continue };
        let covered = grains_covered(target_grain, &model.calendar);
        let at = target_metric.target_span.unwrap_or(target_metric.meta.span);
        let mut push = |span: Span, asked: String, help: String| {
            let through = if target == metric {
                format!("`{metric}`")
            } else {
                format!("`{metric}` reads the target `{target}`, which")
            };
            diagnostics.push(
                Diagnostic::error(
                    codes::FINER_THAN_TARGET,
                    format!("{place} asks for `{metric}` {asked}, finer than its target"),
                    span,
                )
                .label(asked.clone())
                .secondary(at, format!("{through} is set per {}", target_grain.word()))
                .help(help),
            );
        };
        if let Some((g, span)) = grain {
            if !covered.contains(&g) {
                let words: Vec<&str> = covered.iter().map(|g| g.word()).collect();
                push(
                    span,
                    format!("by {}", g.word()),
                    format!("ask for a grain the target has values at: {}", words.join(", ")),
                );
            }
        }
        for (axis, _) in axes {
            match axis {
                Axis::Time { grain: Some(g), span } if !covered.contains(g) => {
                    let words: Vec<&str> = covered.iter().map(|g| g.word()).collect();
                    push(
                        *span,
                        format!("by {}", g.word()),
                        format!("ask for a grain the target has values at: {}", words.join(", ")),
                    );
                }
                Axis::Level { dimension, level, span }
                    if !reaches(model, target, dimension, level) =>
                {
                    let named = model
                        .metrics
                        .get(target)
                        .and_then(|m| m.source.as_deref())
                        .and_then(|s| cuts::fact_level(model, s, dimension))
                        .map(|(_, l)| format!("`{dimension}.{l}`"))
                        .unwrap_or_else(|| format!("no level of `{dimension}`"));
                    push(*span, format!("by {dimension}.{level}"), format!("the targets are set by {named}: cut it by that level or one above it, and show the actuals alone by `{dimension}.{level}`"));
                }
                _ => {}
            }
        }
    }
}
