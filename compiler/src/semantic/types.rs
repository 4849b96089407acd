//! Type checking: every expression of every metric gets a [`Type`], and every metric its
//! value type and unit ([`Metric::value_type`], [`Metric::unit`]).
//!
//! The checker runs over the resolved [`Model`], after every name is known, and writes the type
//! of every node of every expression into the model's [`Expr`]s (see [`super::expr`]), so that
//! later stages read types rather than work them out again. What it checks (codes `T03xx`,
//! documented in [`codes`]):
//!
//! - operands go together (`T0301`): numbers with numbers, text with text, dates and
//!   timestamps with each other, durations with durations; `timestamp - timestamp` is a
//!   duration, `timestamp ± duration` a timestamp, `int / int` a decimal (`/` divides exactly);
//! - an `enum` compared with a string literal names one of its values (`T0302`);
//! - operators and functions get the types they work on (`T0303`); `where` and `having` are
//!   conditions (`T0304`). (A call with the wrong arguments, `T0305`, is the resolver's to
//!   report: it has no node in the model to type.)
//! - aggregation: no aggregate inside another (`T0306`); a measure, and `having`, read columns
//!   only inside aggregates (`T0307`); `where` and `buckets` contain none (`T0308`);
//! - `buckets` edges are constants of the bucketed value's kind, strictly increasing
//!   (`T0309`); `time` is a `date` or `timestamp` (`T0310`).
//!
//! A sub-expression whose type is unknown (an unresolved name, an unknown function: already
//! reported by the resolver) has no type, and nothing is reported about the expressions around
//! it: one mistake, one diagnostic.
//!
//! **Derived metrics** read the types and units of the metrics they combine, so metrics are
//! typed in dependency order, each once (memoized). The order comes from an iterative
//! depth-first walk, not recursion, so a long chain of derived metrics cannot overflow the
//! stack; a metric met again while it is still being walked is part of a cycle (reported by
//! the graph stage) and reads as unknown. The whole pass is linear in the size of the project.
//!
//! **Units** are carried through derived formulas: `a / b` has unit `"<a> per <b>"` when the
//! units differ (none when they are equal: a ratio), `a * b` `"<a> × <b>"`, `a + b` and `a - b`
//! the unit they share. A number has no unit and does not change the other side's. A declared
//! `unit` always wins.

use super::expr::{Aggregate, Expr, Literal, Node};
use super::model::*;
use crate::diagnostic::{codes, suggest, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::{BinaryOp, TimeUnit};
use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;

/// The type of a value in an expression or of a metric.
///
/// Percentages (`3%`) are decimals: `3%` is `0.03`. Serialized as its display form
/// (`"decimal(12, 3)"`, `"enum(air, sea)"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Int,
    /// Precision and scale when known: a column's, or a sum's. Arithmetic forgets them.
    Decimal(Option<(u8, u8)>),
    Bool,
    String,
    Date,
    Timestamp,
    /// A length of time: `24 hours`, `age(x)`, `now() - x`.
    Duration,
    /// The values of an `enum` column, in declaration order.
    Enum(Vec<String>),
    /// The `null` literal: goes with any type.
    Null,
}

impl Type {
    pub fn of_column(ty: &ColumnType) -> Type {
        match ty {
            ColumnType::String => Type::String,
            ColumnType::Int => Type::Int,
            ColumnType::Decimal { precision, scale } => Type::Decimal(Some((*precision, *scale))),
            ColumnType::Bool => Type::Bool,
            ColumnType::Date => Type::Date,
            ColumnType::Timestamp => Type::Timestamp,
            ColumnType::Enum(values) => Type::Enum(values.clone()),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal(_))
    }

    /// A date or a timestamp: a point in time.
    pub fn is_temporal(&self) -> bool {
        matches!(self, Type::Date | Type::Timestamp)
    }

    /// Whether `<`, `min`, `max` and `between` mean something. Enum values are labels, so they
    /// have none (the order of their text would be an accident).
    pub fn is_orderable(&self) -> bool {
        self.is_numeric()
            || self.is_temporal()
            || matches!(self, Type::String | Type::Duration | Type::Null)
    }

    fn is_text(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_))
    }

    /// How the type is named in messages: like [`fmt::Display`], but a long enum is cut short.
    fn short(&self) -> String {
        const SHOWN: usize = 6;
        match self {
            Type::Enum(values) if values.len() > SHOWN => {
                format!("enum({}, ...)", values[..SHOWN].join(", "))
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int => f.write_str("int"),
            Type::Decimal(Some((precision, scale))) => write!(f, "decimal({precision}, {scale})"),
            Type::Decimal(None) => f.write_str("decimal"),
            Type::Bool => f.write_str("bool"),
            Type::String => f.write_str("string"),
            Type::Date => f.write_str("date"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Duration => f.write_str("duration"),
            Type::Enum(values) => write!(f, "enum({})", values.join(", ")),
            Type::Null => f.write_str("null"),
        }
    }
}

impl Serialize for Type {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Whether two types may be compared (`=`, `in`, `between`) or combined (`coalesce`).
fn comparable(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Null, _) | (_, Type::Null) => true,
        (Type::Enum(x), Type::Enum(y)) => {
            // Two enums compare when they can ever be equal.
            let x: BTreeSet<&String> = x.iter().collect();
            y.iter().any(|v| x.contains(v))
        }
        _ if a.is_numeric() && b.is_numeric() => true,
        _ if a.is_temporal() && b.is_temporal() => true,
        _ if a.is_text() && b.is_text() => true,
        _ => a == b,
    }
}

/// The type of a comparison's or `coalesce`'s values taken together: decimal wins over int.
fn widen(a: Type, b: &Type) -> Type {
    match (&a, b) {
        (Type::Null, _) => b.clone(),
        (Type::Int, Type::Decimal(_)) => Type::Decimal(None),
        (Type::Decimal(x), Type::Decimal(y)) if x != y => Type::Decimal(None),
        _ => a,
    }
}

/// The string literal an expression is.
fn string_literal(expr: &Expr) -> Option<&str> {
    match &expr.node {
        Node::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// How an expression is named in messages: a column by its path.
fn describe(expr: &Expr) -> String {
    match &expr.node {
        Node::Column(column) => format!("`{}.{}`", column.source, column.column),
        _ => "the value".to_string(),
    }
}

/// "`a`, `b`, `c`"
fn quoted_list(values: &[String]) -> String {
    values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
}

/// Types every expression of every metric of the model, in place (each node's
/// [`Expr::ty`]), and sets each metric's value type and unit.
pub(super) fn check(model: &mut Model, diagnostics: &mut Vec<Diagnostic>) {
    let order = dependency_order(&model.metrics);
    let Model { sources, metrics, .. } = model;
    let mut checker = Checker { sources, diagnostics, done: IndexMap::new() };
    for index in order {
        let Some((name, metric)) = metrics.get_index_mut(index) else { continue };
        let value = checker.metric(name, metric);
        metric.value_type = value.ty.clone();
        metric.unit = value.unit.clone();
        checker.done.insert(name.clone(), value);
    }
}

/// The metrics' indices, each after the metrics its measure reads (see the module docs): an
/// iterative depth-first walk. A metric met again while it is still being walked is part of a
/// cycle; it comes later, so whoever reads it finds no type.
fn dependency_order(metrics: &IndexMap<String, Metric>) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Seen {
        No,
        Walking,
        Done,
    }
    let mut seen = vec![Seen::No; metrics.len()];
    let mut order = Vec::with_capacity(metrics.len());
    for root in 0..metrics.len() {
        let mut stack: Vec<(usize, bool)> = vec![(root, false)];
        while let Some((index, expanded)) = stack.pop() {
            if expanded {
                seen[index] = Seen::Done;
                order.push(index);
                continue;
            }
            if seen[index] != Seen::No {
                continue;
            }
            seen[index] = Seen::Walking;
            stack.push((index, true));
            let Some((_, metric)) = metrics.get_index(index) else { continue };
            let reads = metric.measure.iter().flat_map(|m| &m.metrics);
            for read in reads.rev() {
                match metrics.get_index_of(read.name.as_str()) {
                    Some(read) if seen[read] == Seen::No => stack.push((read, false)),
                    _ => {}
                }
            }
        }
    }
    order
}

struct Checker<'m, 'd> {
    sources: &'m IndexMap<String, Source>,
    diagnostics: &'d mut Vec<Diagnostic>,
    /// The metrics typed so far, with their type and unit.
    done: IndexMap<String, Value>,
}

/// Where an expression is: what aggregation it needs and whether it may name metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Measure,
    Filter,
    Having,
    Buckets,
}

/// What the walk of one expression learned besides types.
struct Cx {
    place: Place,
    /// The aggregate call the walk is inside: its function and span.
    aggregate: Option<(&'static str, Span)>,
    /// Columns read outside any aggregate (in a measure or `having`, where that matters).
    bare: Vec<ColumnRef>,
    /// Whether an aggregate (or a metric, which is one) was met.
    aggregated: bool,
    /// Something did not resolve (already reported): checks of the whole are skipped.
    unknown: bool,
}

impl Cx {
    fn new(place: Place) -> Self {
        Cx { place, aggregate: None, bare: Vec::new(), aggregated: false, unknown: false }
    }
}

/// The type and unit of an expression; `ty` is `None` when unknown.
#[derive(Debug, Clone, Default)]
struct Value {
    ty: Option<Type>,
    unit: Option<String>,
    /// A percentile (or median), or a value computed from one: not additive (T0314).
    percentile: bool,
    /// Reads an aggregate or a metric: one value per cell, not a constant.
    varies: bool,
}

impl Value {
    fn of(ty: Type) -> Value {
        Value { ty: Some(ty), ..Value::default() }
    }
}

/// One side of an operator, for messages: where it is and, when it is a single node (not the
/// part of a chain before the operator), the node itself.
#[derive(Clone, Copy)]
struct Side<'e> {
    span: Span,
    expr: Option<&'e Expr>,
}

impl<'e> Side<'e> {
    fn of(expr: &'e Expr) -> Side<'e> {
        Side { span: expr.span, expr: Some(expr) }
    }

    fn string_literal(self) -> Option<&'e str> {
        self.expr.and_then(string_literal)
    }

    fn describe(self) -> String {
        self.expr.map_or_else(|| "the value".to_string(), describe)
    }
}

/// A bucket edge's value: a number, or a duration as the range of minutes it may span
/// (months and years vary in length).
#[derive(Debug, Clone, Copy)]
enum Edge {
    Number(f64),
    Minutes(u64, u64),
}

impl Edge {
    fn of(expr: &Expr) -> Option<Edge> {
        let number = |digits: &str| digits.parse::<f64>().ok();
        match &expr.node {
            // Exact enough to order edges: an i64 beyond 2^53 is not a bucket edge anyone writes.
            Node::Literal(Literal::Int(i)) => Some(Edge::Number(*i as f64)),
            Node::Literal(Literal::Decimal(d)) => number(d).map(Edge::Number),
            Node::Literal(Literal::Percent(d)) => number(d).map(|n| Edge::Number(n / 100.0)),
            Node::Literal(Literal::Duration { amount, unit }) => {
                let (low, high) = match unit {
                    TimeUnit::Minute => (1, 1),
                    TimeUnit::Hour => (60, 60),
                    TimeUnit::Day => (1_440, 1_440),
                    TimeUnit::Week => (10_080, 10_080),
                    TimeUnit::Month => (28 * 1_440, 31 * 1_440),
                    TimeUnit::Year => (365 * 1_440, 366 * 1_440),
                };
                Some(Edge::Minutes(amount.saturating_mul(low), amount.saturating_mul(high)))
            }
            Node::Neg(inner) => match Edge::of(inner)? {
                Edge::Number(n) => Some(Edge::Number(-n)),
                Edge::Minutes(..) => None,
            },
            _ => None,
        }
    }

    fn is_duration(self) -> bool {
        matches!(self, Edge::Minutes(..))
    }

    /// Whether `self` is certainly below `next`: `1 month` is not certainly below `30 days`.
    fn below(self, next: Edge) -> bool {
        match (self, next) {
            (Edge::Number(a), Edge::Number(b)) => a < b,
            (Edge::Minutes(_, high), Edge::Minutes(low, _)) => high < low,
            _ => true,
        }
    }

    fn kind(self) -> &'static str {
        if self.is_duration() {
            "a duration"
        } else {
            "a number"
        }
    }
}

impl Checker<'_, '_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn column(&self, source: &str, column: &str) -> Option<&Column> {
        self.sources.get(source)?.columns.get(column)
    }

    // ------------------------------------------------------------ metrics

    fn metric(&mut self, name: &str, metric: &mut Metric) -> Value {
        let mut value = Value::default();
        let derived = metric.is_derived();
        if let Some(measure) = &mut metric.measure {
            // A measure that mixes metrics and columns is T0210 already: no type to give it.
            if measure.metrics.is_empty() || measure.columns.is_empty() {
                let mut cx = Cx::new(Place::Measure);
                value = self.expr(&mut measure.expr, &mut cx);
                self.aggregation(name, &measure.expr, &cx);
            }
            if let Some(filter) = &mut measure.filter {
                let mut cx = Cx::new(Place::Filter);
                let condition = self.expr(filter, &mut cx);
                self.condition("where", filter, &condition);
            }
        }
        if let Some(time) = &metric.time {
            self.time(time);
        }
        if let Some(buckets) = &mut metric.buckets {
            self.buckets(buckets);
        }
        if let Some(per) = &mut metric.per {
            let mut cx = Cx::new(Place::Having);
            let condition = self.expr(&mut per.having, &mut cx);
            self.condition("having", &per.having, &condition);
            self.aggregation(name, &per.having, &cx);
        }
        let carried = if derived { value.unit } else { None };
        Value {
            ty: value.ty,
            unit: metric.unit.clone().or(carried),
            percentile: value.percentile,
            varies: true,
        }
    }

    /// T0307: a measure or `having` that reads columns outside aggregates, or a measure that
    /// aggregates nothing.
    fn aggregation(&mut self, metric: &str, expr: &Expr, cx: &Cx) {
        if cx.unknown {
            return;
        }
        let what = if cx.place == Place::Having {
            format!("`having` of metric `{metric}`")
        } else {
            format!("Measure of metric `{metric}`")
        };
        if let Some((first, rest)) = cx.bare.split_first() {
            let column = format!("{}.{}", first.source, first.column);
            let mut d = Diagnostic::error(
                codes::MEASURE_NOT_AGGREGATE,
                format!("{what} reads `{column}` outside an aggregate"),
                first.span,
            )
            .label("not inside an aggregate");
            for other in rest {
                d = d.secondary(other.span, "not inside an aggregate either");
            }
            // Suggest only aggregates that fit the column's type.
            let ty = self.column(&first.source, &first.column).and_then(|c| c.ty.as_ref());
            let numeric = matches!(ty, Some(ColumnType::Int | ColumnType::Decimal { .. }));
            d = match (cx.place, numeric) {
                (Place::Having, true) => d.help(format!(
                    "test an aggregate of the group, e.g. `max({column}) > 60` or `share({column} > 60) > 3%`"
                )),
                (Place::Having, false) => d.help(format!(
                    "test an aggregate of the group, e.g. `count(distinct {column}) > 1`"
                )),
                (_, true) => d.help(format!(
                    "aggregate it, e.g. `sum({column})`, `max({column})` or `count(distinct {column})`"
                )),
                (_, false) => d.help(format!("aggregate it, e.g. `count(distinct {column})`")),
            };
            if cx.place == Place::Measure {
                d = d.note("a metric is one number per cell (port, day, ...), so each column is aggregated over the cell's rows");
            }
            self.push(d);
        } else if cx.place == Place::Measure && !cx.aggregated && !calls_calendar_days(expr) {
            // A measure of `calendar_days()` alone is T0312 already.
            self.push(
                Diagnostic::error(
                    codes::MEASURE_NOT_AGGREGATE,
                    format!("{what} aggregates nothing"),
                    expr.span,
                )
                .label("a constant")
                .help("aggregate rows (`count(*)`, `sum(x.amount)`) or combine metrics (`a / b`)"),
            );
        }
    }

    /// T0304: `where` and `having` are conditions.
    fn condition(&mut self, keyword: &str, expr: &Expr, value: &Value) {
        let Some(ty) = &value.ty else { return };
        if matches!(ty, Type::Bool | Type::Null) {
            return;
        }
        let help = match &expr.node {
            Node::Column(column) => format!(
                "compare the column, e.g. `{}.{} = ...`, or filter on a `bool` column",
                column.source, column.column
            ),
            _ => "compare the value (`x.amount > 0`, `x.status = 'open'`)".to_string(),
        };
        self.push(
            Diagnostic::error(
                codes::CONDITION_NOT_BOOL,
                format!("`{keyword}` needs a condition, not `{}`", ty.short()),
                expr.span,
            )
            .label(format!("this is `{}`, not `bool`", ty.short()))
            .help(help),
        );
    }

    /// T0310: `time` is a date or a timestamp.
    fn time(&mut self, time: &ColumnRef) {
        let Some(column) = self.column(&time.source, &time.column) else { return };
        let Some(ty) = &column.ty else { return };
        if matches!(ty, ColumnType::Date | ColumnType::Timestamp) {
            return;
        }
        let ty = Type::of_column(ty);
        let declared = column.span;
        let candidate = self.sources.get(&time.source).and_then(|s| {
            s.columns
                .values()
                .find(|c| matches!(c.ty, Some(ColumnType::Date | ColumnType::Timestamp)))
        });
        let help = match candidate {
            Some(c) => format!(
                "use a date or timestamp column of `{}`, e.g. `{}.{}`",
                time.source, time.source, c.name
            ),
            None => format!(
                "declare the column as `date` or `timestamp`, or add one to `{}`",
                time.source
            ),
        };
        self.push(
            Diagnostic::error(
                codes::TIME_NOT_TEMPORAL,
                format!(
                    "Time column `{}.{}` is `{}`, not a date or timestamp",
                    time.source,
                    time.column,
                    ty.short()
                ),
                time.span,
            )
            .label("cannot place rows in time")
            .secondary(declared, format!("declared `{}` here", ty.short()))
            .help(help),
        );
    }

    /// T0309 (and T0308 inside the expression): bucket a number or duration, by constant edges
    /// of its kind, strictly increasing.
    fn buckets(&mut self, buckets: &mut Buckets) {
        let mut cx = Cx::new(Place::Buckets);
        let bucketed = self.expr(&mut buckets.expr, &mut cx);
        for edge in &mut buckets.edges {
            self.expr(edge, &mut Cx::new(Place::Buckets));
        }
        let expected = match &bucketed.ty {
            Some(ty) if ty.is_numeric() => Some(false),
            Some(Type::Duration) => Some(true),
            Some(Type::Null) | None => None,
            Some(other) => {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_BUCKETS,
                        format!("Cannot bucket `{}` values", other.short()),
                        buckets.expr.span,
                    )
                    .label(format!("this is `{}`", other.short()))
                    .help("bucket a number or a duration, such as `age(x.seized_at)`"),
                );
                return;
            }
        };
        let mut expected = expected;
        let mut previous: Option<(Edge, Span)> = None;
        for edge in &buckets.edges {
            let Some(value) = Edge::of(edge) else {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_BUCKETS,
                        "Bucket edge is not a constant",
                        edge.span,
                    )
                    .label("not a number or a duration")
                    .help("write each edge as a number (`15`) or a duration (`24 hours`)"),
                );
                continue;
            };
            match expected {
                Some(duration) if duration != value.is_duration() => {
                    let want = if duration { "a duration" } else { "a number" };
                    let message = match &bucketed.ty {
                        Some(ty) => format!(
                            "Bucket edge is {}, but the bucketed value is `{}`",
                            value.kind(),
                            ty.short()
                        ),
                        None => {
                            format!("Bucket edge is {}, but the first edge is {want}", value.kind())
                        }
                    };
                    let mut d = Diagnostic::error(codes::INVALID_BUCKETS, message, edge.span)
                        .label(value.kind())
                        .help(if duration {
                            "write the edge as a duration, e.g. `24 hours`"
                        } else {
                            "write the edge as a number, or bucket a duration such as `age(x.seized_at)`"
                        });
                    if let Some(ty) = &bucketed.ty {
                        d = d.secondary(buckets.expr.span, format!("this is `{}`", ty.short()));
                    }
                    self.push(d);
                    continue;
                }
                Some(_) => {}
                None => expected = Some(value.is_duration()),
            }
            if let Some((before, before_span)) = previous {
                if !before.below(value) {
                    self.push(
                        Diagnostic::error(
                            codes::INVALID_BUCKETS,
                            "Bucket edges are not increasing",
                            edge.span,
                        )
                        .label("not greater than the edge before")
                        .secondary(before_span, "the edge before")
                        .help("list the edges once each, smallest first"),
                    );
                    // One report per list: the rest would repeat it.
                    return;
                }
            }
            previous = Some((value, edge.span));
        }
    }

    // ------------------------------------------------------------ expressions

    /// Types `expr` and everything in it, recording each node's type.
    fn expr(&mut self, expr: &mut Expr, cx: &mut Cx) -> Value {
        let value = self.node(expr, cx);
        expr.ty = value.ty.clone();
        value
    }

    fn node(&mut self, expr: &mut Expr, cx: &mut Cx) -> Value {
        let span = expr.span;
        match &mut expr.node {
            Node::Literal(literal) => Value::of(literal.ty()),
            Node::Column(column) => {
                let Some(found) = self.column(&column.source, &column.column) else {
                    cx.unknown = true;
                    return Value::default();
                };
                let ty = found.ty.as_ref().map(Type::of_column);
                if cx.aggregate.is_none() && matches!(cx.place, Place::Measure | Place::Having) {
                    cx.bare.push(column.clone());
                }
                Value { ty, ..Value::default() }
            }
            Node::Metric(metric) => {
                cx.aggregated = true;
                if let Some((outer, outer_span)) = cx.aggregate {
                    self.push(
                        Diagnostic::error(
                            codes::NESTED_AGGREGATE,
                            format!("Metric `{}` inside aggregate `{outer}`", metric.name),
                            metric.span,
                        )
                        .label("already one value per cell")
                        .secondary(outer_span, "inside this aggregate")
                        .help("combine metrics with `+ - * /`, e.g. `metric ratio = a / b`"),
                    );
                }
                // Not typed yet: a cycle of derived metrics, reported by the graph stage.
                let mut value = self.done.get(&metric.name).cloned().unwrap_or_default();
                value.varies = true;
                value
            }
            Node::Total(total) => {
                cx.aggregated = true;
                let mut value = self.done.get(&total.metric.name).cloned().unwrap_or_default();
                value.varies = true;
                value
            }
            Node::Aggregate(aggregate) => self.aggregate(aggregate, span, cx),
            Node::Call { function, args } => {
                let values: Vec<Value> = args.iter_mut().map(|arg| self.expr(arg, cx)).collect();
                let percentile = values.iter().any(|v| v.percentile);
                let varies = values.iter().any(|v| v.varies);
                let value = self.scalar(*function, args, values);
                Value { percentile, varies, ..value }
            }
            Node::Invalid(parts) => {
                // Already reported; what is inside is still checked.
                cx.unknown = true;
                for part in parts {
                    self.expr(part, cx);
                }
                Value::default()
            }
            Node::Neg(inner) => {
                let value = self.expr(inner, cx);
                match &value.ty {
                    Some(ty) if !(ty.is_numeric() || matches!(ty, Type::Duration | Type::Null)) => {
                        self.wrong_operand("-", "a number or a duration", inner.span, ty, None);
                        Value::default()
                    }
                    _ => value,
                }
            }
            Node::Not(inner) => {
                let value = self.expr(inner, cx);
                self.expect_bool("not", inner.span, &value);
                Value::of(Type::Bool)
            }
            Node::Chain { first, rest } => {
                let mut value = self.expr(first, cx);
                let mut left = Side::of(first);
                for link in rest {
                    let right_value = self.expr(&mut link.operand, cx);
                    let right = Side::of(&link.operand);
                    self.additivity(link.op, (left, &value), (&link.operand, &right_value));
                    let percentile = value.percentile || right_value.percentile;
                    let varies = value.varies || right_value.varies;
                    value = self.binary(link.op, (left, value), (right, right_value));
                    value.percentile = percentile;
                    value.varies = varies;
                    left = Side { span: left.span.to(right.span), expr: None };
                }
                value
            }
            Node::Compare { op, left, right } => {
                let l = self.expr(left, cx);
                let r = self.expr(right, cx);
                self.binary(*op, (Side::of(left), l), (Side::of(right), r))
            }
            Node::IsNull { expr: inner, .. } => {
                self.expr(inner, cx);
                Value::of(Type::Bool)
            }
            Node::InList { expr: inner, list, .. } => {
                let value = self.expr(inner, cx);
                for item in list {
                    let item_value = self.expr(item, cx);
                    self.compare(
                        "in",
                        false,
                        (Side::of(inner), &value),
                        (Side::of(item), &item_value),
                    );
                }
                Value::of(Type::Bool)
            }
            Node::Between { expr: inner, low, high, .. } => {
                let value = self.expr(inner, cx);
                let low_value = self.expr(low, cx);
                let high_value = self.expr(high, cx);
                let inner = Side::of(inner);
                if self.compare("between", true, (inner, &value), (Side::of(low), &low_value)) {
                    self.compare("between", true, (inner, &value), (Side::of(high), &high_value));
                }
                Value::of(Type::Bool)
            }
            Node::Like { expr: inner, pattern, .. } => {
                let value = self.expr(inner, cx);
                let pattern_value = self.expr(pattern, cx);
                for (span, value) in [(inner.span, value), (pattern.span, pattern_value)] {
                    if let Some(ty) = &value.ty {
                        if !matches!(ty, Type::String | Type::Null) {
                            let help = matches!(ty, Type::Enum(_))
                                .then_some("compare an enum with `=` or `in (...)`");
                            self.wrong_operand("like", "text (`string`)", span, ty, help);
                        }
                    }
                }
                Value::of(Type::Bool)
            }
        }
    }

    /// T0314: a percentile is not additive. Added to another value that varies by cell (a sum
    /// of medians is the median of nothing), or divided by `calendar_days()` (a per-day rate
    /// needs a total to spread over the days), it would publish a number that means nothing.
    fn additivity(
        &mut self,
        op: BinaryOp,
        (left, l): (Side<'_>, &Value),
        (right, r): (&Expr, &Value),
    ) {
        let what = |v: &Value| if v.percentile { "a percentile" } else { "a value per cell" };
        let d = match op {
            BinaryOp::Add if l.percentile && r.varies || r.percentile && l.varies => {
                Diagnostic::error(codes::PERCENTILE_NOT_ADDITIVE, "Percentiles do not add up", right.span)
                    .label(format!("{}, added", what(r)))
                    .secondary(left.span, format!("to {}", what(l)))
                    .help(
                        "a sum of percentiles is the percentile of no set of rows: show each \
                         percentile as a metric of its own, or take one percentile over the rows \
                         meant together (`percentile(x.wait_minutes, 90%)`)",
                    )
            }
            BinaryOp::Div if l.percentile && calls_calendar_days(right) => Diagnostic::error(
                codes::PERCENTILE_NOT_ADDITIVE,
                "A percentile cannot be spread over the days of a period",
                right.span,
            )
            .label("per calendar day")
            .secondary(left.span, "a percentile, not a total")
            .help("a per-day rate divides a total: divide a count or a sum by `calendar_days()`, and show the percentile as it is"),
            _ => return,
        };
        self.push(d);
    }

    /// An aggregate: T0306 inside another, T0308 in a row context, then its argument's type.
    fn aggregate(&mut self, aggregate: &mut Aggregate, span: Span, cx: &mut Cx) -> Value {
        let f = aggregate.function;
        let name = f.word();
        match cx.aggregate {
            Some((outer, outer_span)) => self.push(
                Diagnostic::error(
                    codes::NESTED_AGGREGATE,
                    format!("Aggregate `{name}` inside aggregate `{outer}`"),
                    span,
                )
                .label("nested aggregate")
                .secondary(outer_span, "inside this aggregate")
                .help("aggregate once; to count groups that pass a test, use `per <axis> having <condition>`"),
            ),
            None if matches!(cx.place, Place::Filter | Place::Buckets) => {
                let (place, help) = if cx.place == Place::Filter {
                    (
                        "a `where` filter",
                        "`where` keeps rows one at a time; test aggregates of groups with `per <axis> having <condition>`",
                    )
                } else {
                    ("`buckets`", "buckets sort rows one at a time; bucket a column or `age(...)`")
                };
                self.push(
                    Diagnostic::error(
                        codes::AGGREGATE_IN_ROW_CONTEXT,
                        format!("Aggregate `{name}` in {place}"),
                        span,
                    )
                    .label("aggregates rows")
                    .help(help),
                );
            }
            None => {}
        }
        if f.is_percentile() && cx.place == Place::Having && cx.aggregate.is_none() {
            self.push(
                Diagnostic::error(
                    codes::PERCENTILE_IN_HAVING,
                    format!("Percentile `{name}` in `having`"),
                    span,
                )
                .label("tests each group by a percentile of its rows")
                .help("test the group with `avg`, `min`, `max`, `share` or a count, or publish the percentile as a metric of its own"),
            );
        }
        cx.aggregated = true;
        let outer = cx.aggregate.replace((name, span));
        let argument = aggregate.arg.as_mut().map(|arg| {
            let value = self.expr(arg, cx);
            (arg.span, value)
        });
        cx.aggregate = outer;
        let percentile = f.is_percentile();
        let Some((arg_span, value)) = argument else {
            return match f {
                Function::Count => Value { varies: true, ..Value::of(Type::Int) },
                _ => Value { varies: true, percentile, ..Value::default() },
            };
        };
        let unit = value.unit;
        let Some(ty) = value.ty else {
            return match f {
                Function::Count => Value { varies: true, ..Value::of(Type::Int) },
                Function::Share => Value { varies: true, ..Value::of(Type::Decimal(None)) },
                _ => Value { varies: true, percentile, ..Value::default() },
            };
        };
        let result = match (f, &ty) {
            (Function::Count, _) => Some(Type::Int),
            (Function::Sum, Type::Int | Type::Null) => Some(Type::Int),
            // Both engines widen a sum of decimals; DuckDB's rule is precision 38.
            (Function::Sum, Type::Decimal(size)) => {
                Some(Type::Decimal(size.map(|(_, scale)| (38, scale))))
            }
            (Function::Avg, t) if t.is_numeric() || *t == Type::Null => Some(Type::Decimal(None)),
            (Function::Avg, Type::Duration) => Some(Type::Duration),
            (Function::Min | Function::Max, t) if t.is_orderable() => Some(ty.clone()),
            (Function::Share, Type::Bool | Type::Null) => Some(Type::Decimal(None)),
            // A discrete percentile is one of the values; the others interpolate.
            (Function::PercentileDisc, t) if t.is_numeric() => Some(ty.clone()),
            (_, t) if f.is_percentile() && (t.is_numeric() || *t == Type::Null) => {
                Some(Type::Decimal(None))
            }
            _ => None,
        };
        if result.is_none() {
            let (wanted, help) = match f {
                Function::Sum => {
                    ("a number", Some("to count values, use `count(x)` or `count(distinct x)`"))
                }
                Function::Avg => ("a number or a duration", None),
                _ if f.is_percentile() => (
                    "a number",
                    Some("take the percentile of a number column, e.g. `percentile(x.wait_minutes, 90%)`"),
                ),
                Function::Share => (
                    "a condition (`bool`)",
                    Some("write a condition, e.g. `share(x.wait_minutes > 60)`"),
                ),
                _ => {
                    ("values that have an order", Some("to count values, use `count(distinct x)`"))
                }
            };
            self.wrong_operand(name, wanted, arg_span, &ty, help);
        }
        let unit = if matches!(f, Function::Count | Function::Share) { None } else { unit };
        Value { ty: result, unit, percentile, varies: true }
    }

    fn scalar(&mut self, f: Function, args: &[Expr], values: Vec<Value>) -> Value {
        let name = f.word();
        let first = args.first().zip(values.first());
        let ty = match f {
            Function::Now => Some(Type::Timestamp),
            Function::CalendarDays => Some(Type::Int),
            Function::Age => match first {
                Some((arg, Value { ty: Some(ty), .. }))
                    if !ty.is_temporal() && *ty != Type::Null =>
                {
                    self.wrong_operand(name, "a date or a timestamp", arg.span, ty, None);
                    None
                }
                _ => Some(Type::Duration),
            },
            Function::Lower | Function::Upper => match first {
                Some((arg, Value { ty: Some(ty), .. })) if !ty.is_text() && *ty != Type::Null => {
                    self.wrong_operand(name, "text (`string`)", arg.span, ty, None);
                    None
                }
                _ => Some(Type::String),
            },
            Function::Abs => match first {
                Some((_, Value { ty: Some(ty), .. }))
                    if ty.is_numeric() || matches!(ty, Type::Duration | Type::Null) =>
                {
                    Some(ty.clone())
                }
                Some((arg, Value { ty: Some(ty), .. })) => {
                    self.wrong_operand(name, "a number or a duration", arg.span, ty, None);
                    None
                }
                _ => None,
            },
            Function::Round => {
                if let (Some(digits), Some(Value { ty: Some(ty), .. })) =
                    (args.get(1), values.get(1))
                {
                    if !matches!(ty, Type::Int | Type::Null) {
                        self.wrong_operand(name, "a whole number of digits", digits.span, ty, None);
                    }
                }
                match first {
                    Some((_, Value { ty: Some(Type::Int), .. })) => Some(Type::Int),
                    Some((_, Value { ty: Some(ty), .. })) if ty.is_numeric() => {
                        Some(Type::Decimal(None))
                    }
                    Some((arg, Value { ty: Some(ty), .. })) if *ty != Type::Null => {
                        self.wrong_operand(name, "a number", arg.span, ty, None);
                        None
                    }
                    _ => None,
                }
            }
            Function::Coalesce => self.coalesce(args, &values),
            // Aggregates are nodes of their own, typed by `aggregate`.
            _ => None,
        };
        let unit = match f {
            Function::Abs | Function::Round | Function::Coalesce => {
                values.into_iter().next().and_then(|v| v.unit)
            }
            Function::CalendarDays => Some("day".to_string()),
            _ => None,
        };
        Value { ty, unit, ..Value::default() }
    }

    /// The common type of `coalesce`'s arguments (T0301 when two do not go together).
    fn coalesce(&mut self, args: &[Expr], values: &[Value]) -> Option<Type> {
        let mut result: Option<(Type, &Expr)> = None;
        for (arg, value) in args.iter().zip(values) {
            let Some(ty) = &value.ty else { return None };
            let Some((so_far, first)) = &result else {
                result = Some((ty.clone(), arg));
                continue;
            };
            if let (Type::Enum(values), Some(literal)) = (so_far, string_literal(arg)) {
                if !self.enum_value(values, Side::of(first), literal, arg.span) {
                    return None;
                }
                continue;
            }
            if !comparable(so_far, ty) {
                self.push(
                    Diagnostic::error(
                        codes::INCOMPATIBLE_TYPES,
                        format!(
                            "Cannot combine `{}` and `{}` in `coalesce`",
                            so_far.short(),
                            ty.short()
                        ),
                        arg.span,
                    )
                    .label(format!("this is `{}`", ty.short()))
                    .secondary(first.span, format!("this is `{}`", so_far.short()))
                    .help("give `coalesce` values of one kind: the first that is not null is the result"),
                );
                return None;
            }
            let widened = widen(so_far.clone(), ty);
            result = Some((widened, first));
        }
        result.map(|(ty, _)| ty)
    }

    /// `left op right`, both sides typed already.
    fn binary(
        &mut self,
        op: BinaryOp,
        (left, l): (Side<'_>, Value),
        (right, r): (Side<'_>, Value),
    ) -> Value {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expect_bool(op.symbol(), left.span, &l);
                self.expect_bool(op.symbol(), right.span, &r);
                Value::of(Type::Bool)
            }
            BinaryOp::Eq | BinaryOp::NotEq => {
                self.compare(op.symbol(), false, (left, &l), (right, &r));
                Value::of(Type::Bool)
            }
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
                self.compare(op.symbol(), true, (left, &l), (right, &r));
                Value::of(Type::Bool)
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                let unit = combine_units(op, l.unit, r.unit);
                let (Some(lt), Some(rt)) = (&l.ty, &r.ty) else {
                    return Value { ty: None, unit, ..Value::default() };
                };
                Value {
                    ty: self.arithmetic(op, (left.span, lt), (right.span, rt)),
                    unit,
                    ..Value::default()
                }
            }
        }
    }

    /// The type of `left op right` for `+ - * /`, or `None` after reporting why there is none.
    fn arithmetic(
        &mut self,
        op: BinaryOp,
        (left, l): (Span, &Type),
        (right, r): (Span, &Type),
    ) -> Option<Type> {
        use BinaryOp::{Add, Div, Mul, Sub};
        use Type::{Date, Duration, Int, Null, Timestamp};
        let result = match (op, l, r) {
            (_, Null, other) | (_, other, Null) => Some(other.clone()),
            (Div, Int, Int) => Some(Type::Decimal(None)),
            (_, Int, Int) => Some(Int),
            (_, a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Decimal(None)),
            (Sub, a, b) if a.is_temporal() && b.is_temporal() => Some(Duration),
            (Add | Sub, Timestamp | Date, Duration) | (Add, Duration, Timestamp | Date) => {
                Some(Timestamp)
            }
            (Add | Sub, Duration, Duration) => Some(Duration),
            (Mul, Duration, n) | (Mul, n, Duration) if n.is_numeric() => Some(Duration),
            (Div, Duration, n) if n.is_numeric() => Some(Duration),
            (Div, Duration, Duration) => Some(Type::Decimal(None)),
            _ => None,
        };
        if result.is_some() {
            return result;
        }
        let arithmetic = |t: &Type| t.is_numeric() || t.is_temporal() || *t == Duration;
        let symbol = op.symbol();
        if !arithmetic(l) {
            self.wrong_operand(symbol, "numbers, durations or times", left, l, None);
        } else if !arithmetic(r) {
            self.wrong_operand(symbol, "numbers, durations or times", right, r, None);
        } else {
            let (ls, rs) = (l.short(), r.short());
            let message = match op {
                Add => format!("Cannot add `{rs}` to `{ls}`"),
                Sub => format!("Cannot subtract `{rs}` from `{ls}`"),
                Mul => format!("Cannot multiply `{ls}` by `{rs}`"),
                _ => format!("Cannot divide `{ls}` by `{rs}`"),
            };
            let help = if (l.is_numeric() && *r == Duration) || (*l == Duration && r.is_numeric()) {
                "write the number as a duration, e.g. `72 hours`"
            } else if l.is_temporal() || r.is_temporal() {
                "times subtract to a duration (`now() - x.seized_at`) and move by a duration (`x.filed_at + 3 days`)"
            } else {
                "combine values of the same kind"
            };
            self.push(
                Diagnostic::error(codes::INCOMPATIBLE_TYPES, message, right)
                    .label(format!("this is `{rs}`"))
                    .secondary(left, format!("this is `{ls}`"))
                    .help(help),
            );
        }
        None
    }

    /// Checks that two values may be compared (`ordered`: with `<`, `between`). Returns
    /// whether they may.
    fn compare(
        &mut self,
        op: &str,
        ordered: bool,
        (left, l): (Side<'_>, &Value),
        (right, r): (Side<'_>, &Value),
    ) -> bool {
        let (Some(lt), Some(rt)) = (&l.ty, &r.ty) else { return true };
        if ordered {
            for (operand, ty) in [(left, lt), (right, rt)] {
                if !ty.is_orderable() {
                    let help = matches!(ty, Type::Enum(_)).then_some(
                        "enum values have no order: compare with `=`, `!=` or `in (...)`",
                    );
                    self.wrong_operand(op, "values that have an order", operand.span, ty, help);
                    return false;
                }
            }
        }
        if let (Type::Enum(values), Some(literal)) = (lt, right.string_literal()) {
            return self.enum_value(values, left, literal, right.span);
        }
        if let (Type::Enum(values), Some(literal)) = (rt, left.string_literal()) {
            return self.enum_value(values, right, literal, left.span);
        }
        if comparable(lt, rt) {
            return true;
        }
        let help = match (lt, rt) {
            (Type::Enum(values), _) | (_, Type::Enum(values)) if !values.is_empty() => {
                format!("compare with one of its values, as a string: `'{}'`", values[0])
            }
            (Type::Duration, n) | (n, Type::Duration) if n.is_numeric() => {
                "write the number as a duration, e.g. `72 hours`".to_string()
            }
            (t, _) | (_, t) if t.is_temporal() => {
                "compare with another date or timestamp, or compare the age: `age(x.filed_on) > 30 days`"
                    .to_string()
            }
            _ => "compare values of the same kind".to_string(),
        };
        self.push(
            Diagnostic::error(
                codes::INCOMPATIBLE_TYPES,
                format!("Cannot compare `{}` with `{}`", lt.short(), rt.short()),
                right.span,
            )
            .label(format!("this is `{}`", rt.short()))
            .secondary(left.span, format!("this is `{}`", lt.short()))
            .help(help),
        );
        false
    }

    /// T0302 unless `literal` is one of the enum's `values`. Returns whether it is.
    fn enum_value(
        &mut self,
        values: &[String],
        enum_side: Side<'_>,
        literal: &str,
        literal_span: Span,
    ) -> bool {
        if values.iter().any(|v| v == literal) {
            return true;
        }
        let described = enum_side.describe();
        let mut d = Diagnostic::error(
            codes::UNKNOWN_ENUM_VALUE,
            format!("{} has no value `{literal}`", capitalize_description(&described)),
            literal_span,
        )
        .label("not one of its values")
        .secondary(enum_side.span, format!("this is `{}`", Type::Enum(values.to_vec()).short()));
        d = match suggest(literal, values.iter().map(String::as_str)) {
            Some(best) => d
                .help(format!("did you mean `'{best}'`?"))
                .note(format!("valid values: {}", quoted_list(values))),
            None => d.help(format!("use one of its values: {}", quoted_list(values))),
        };
        self.push(d);
        false
    }

    /// T0303 for `and`, `or`, `not` operands.
    fn expect_bool(&mut self, op: &str, operand: Span, value: &Value) {
        if let Some(ty) = &value.ty {
            if !matches!(ty, Type::Bool | Type::Null) {
                self.wrong_operand(
                    op,
                    "conditions (`bool`)",
                    operand,
                    ty,
                    Some("compare the value, e.g. `x.amount > 0`"),
                );
            }
        }
    }

    /// T0303: "`sum` needs a number, not `string`".
    fn wrong_operand(
        &mut self,
        op: &str,
        wanted: &str,
        operand: Span,
        ty: &Type,
        help: Option<&str>,
    ) {
        let mut d = Diagnostic::error(
            codes::WRONG_OPERAND_TYPE,
            format!("`{op}` needs {wanted}, not `{}`", ty.short()),
            operand,
        )
        .label(format!("this is `{}`", ty.short()));
        if let Some(help) = help {
            d = d.help(help);
        } else {
            d = d.help(format!("give `{op}` {wanted}"));
        }
        self.push(d);
    }
}

/// "`seacats.status`" → "Column `seacats.status`", to start a message.
fn capitalize_description(described: &str) -> String {
    if described.starts_with('`') {
        format!("Column {described}")
    } else {
        "The enum".to_string()
    }
}

/// The unit of `a op b` from the units of `a` and `b` (see the module docs).
fn combine_units(op: BinaryOp, left: Option<String>, right: Option<String>) -> Option<String> {
    match (op, left, right) {
        (_, None, None) => None,
        (BinaryOp::Div, Some(a), Some(b)) if a == b => None,
        (BinaryOp::Div, Some(a), Some(b)) => Some(format!("{a} per {b}")),
        (BinaryOp::Div, Some(a), None) => Some(a),
        (BinaryOp::Div, None, Some(b)) => Some(format!("per {b}")),
        (BinaryOp::Mul, Some(a), Some(b)) => Some(format!("{a} × {b}")),
        (BinaryOp::Add | BinaryOp::Sub, Some(a), Some(b)) if a != b => None,
        (_, Some(a), _) | (_, None, Some(a)) => Some(a),
    }
}

/// Whether `expr` calls `calendar_days()` (reported where it is misplaced, T0312).
fn calls_calendar_days(expr: &Expr) -> bool {
    let mut found = false;
    expr.walk(|e| {
        if matches!(e.node, Node::Call { function: Function::CalendarDays, .. }) {
            found = true;
        }
    });
    found
}
