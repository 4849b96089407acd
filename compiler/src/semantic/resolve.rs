//! Resolving references: declaration names, `source.column`, `dimension.level`, axes (`by`,
//! `top ... by`, a mart's `dimensions`) and the paths and calls inside expressions, which
//! become the model's [`Expr`]s (see [`super::expr`]).
//!
//! Every lookup is one map lookup in the name table or in the model built by earlier passes.
//! A reference that does not resolve is reported once, with the nearest valid name, and left
//! out of the model.

use super::expr::{self, Aggregate, Link, Node};
use super::model::*;
use super::names::{article, noun, Entry};
use super::Analyzer;
use crate::diagnostic::{codes, did_you_mean, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::{self, DeclKind, ExprKind, Ident, Literal};

/// Function names from SQL and spreadsheets, mapped to Tally's for "did you mean".
const FUNCTION_ALIASES: &[(&str, &str)] = &[
    ("average", "avg"),
    ("mean", "avg"),
    ("total", "sum"),
    ("minimum", "min"),
    ("maximum", "max"),
    ("ifnull", "coalesce"),
    ("nvl", "coalesce"),
    ("lcase", "lower"),
    ("ucase", "upper"),
    ("fraction", "share"),
    ("ratio", "share"),
    ("current_timestamp", "now"),
    ("quantile", "percentile"),
    ("quantile_cont", "percentile"),
    ("percentile_cont", "percentile"),
    ("quantile_disc", "percentile_disc"),
    ("approx_quantile", "approx_percentile"),
];

/// What an expression reads, gathered while resolving it.
#[derive(Debug, Default)]
pub(super) struct Reads {
    pub columns: Vec<ColumnRef>,
    pub metrics: Vec<NameRef>,
    /// Bare names that are not declared: reported once the whole metric is read, so that the
    /// help can suggest a column of the metric's source.
    pub unknown: Vec<Ident>,
    /// Where `calendar_days()` is called in a measure: it has a value only in a derived
    /// metric's formula, which the measure is only once all of it is read.
    pub calendar_days: Vec<Span>,
}

/// Where an expression appears; only a measure may read other metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Measure,
    Filter,
    Buckets,
    Having,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Measure => "a measure",
            Place::Filter => "a `where` filter",
            Place::Buckets => "`buckets`",
            Place::Having => "`having`",
        }
    }
}

impl Analyzer<'_> {
    // ------------------------------------------------------------ declarations

    /// A name that must be a declaration of `kind`: unknown is T0203, another kind T0207.
    pub(super) fn declaration(&mut self, ident: &Ident, kind: DeclKind) -> Option<NameRef> {
        match self.names.get(&ident.name) {
            Some(entry) if entry.kind == kind => {
                Some(NameRef { name: ident.name.clone(), span: ident.span })
            }
            Some(entry) => {
                let candidates = self.names.of(&[kind]);
                let help = did_you_mean(&ident.name, &candidates, noun(kind));
                let d = wrong_kind(ident, entry, noun(kind), help);
                self.push(d);
                None
            }
            None => {
                let what = noun(kind);
                let candidates = self.names.of(&[kind]);
                let help = did_you_mean(&ident.name, &candidates, what);
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_NAME,
                        format!("Unknown {what} `{}`", ident.name),
                        ident.span,
                    )
                    .label(format!("no {what} has this name"))
                    .help(help),
                );
                None
            }
        }
    }

    /// A list of declarations of one kind (`metrics a, b`), each once (T0202).
    pub(super) fn declarations_list(
        &mut self,
        idents: &[Ident],
        kind: DeclKind,
        owner: &str,
    ) -> Vec<NameRef> {
        let unique = self.unique(idents, codes::DUPLICATE_MEMBER, |n| {
            format!("`{n}` is listed twice in {owner}")
        });
        unique.into_iter().filter_map(|ident| self.declaration(ident, kind)).collect()
    }

    // ------------------------------------------------------------ columns and levels

    /// Whether `source` (in the model) has the column; T0204 otherwise.
    pub(super) fn column_of(&mut self, source: &str, column: &Ident) -> bool {
        let Some(found) = self.model.sources.get(source) else {
            // Only sources that own their name are in the model; a lookup through the name
            // table always finds one, so there is nothing more to say here.
            return false;
        };
        if found.columns.contains_key(&column.name) {
            return true;
        }
        let names: Vec<&str> = found.columns.keys().map(String::as_str).collect();
        let d = unknown_column(source, column, &names);
        self.push(d);
        false
    }

    /// `source.column`, where only a column makes sense (`time`, a path in an expression).
    pub(super) fn column_path(&mut self, path: &ast::Path) -> Option<ColumnRef> {
        match path.segments.as_slice() {
            [source, column] => {
                let source = self.declaration(source, DeclKind::Source)?;
                self.column_of(&source.name, column).then(|| ColumnRef {
                    source: source.name,
                    column: column.name.clone(),
                    span: path.span,
                })
            }
            _ => {
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_COLUMN,
                        format!("`{}` is not a column", path.dotted()),
                        path.span,
                    )
                    .label("expected `source.column`")
                    .help("write a column with its source, e.g. `seacats.seizure_date`"),
                );
                None
            }
        }
    }

    /// Whether the dimension (in the model) has the level; T0205 otherwise.
    pub(super) fn level_of(&mut self, dimension: &str, level: &Ident) -> bool {
        let Some(found) = self.model.dimensions.get(dimension) else { return false };
        if found.levels.contains_key(&level.name) {
            return true;
        }
        let names: Vec<&str> = found.levels.keys().map(String::as_str).collect();
        let help = did_you_mean(&level.name, &names, "level");
        self.push(
            Diagnostic::error(
                codes::UNKNOWN_LEVEL,
                format!("Dimension `{dimension}` has no level `{}`", level.name),
                level.span,
            )
            .label("unknown level")
            .help(help),
        );
        false
    }

    /// `dimension.level`, where only a level makes sense (a column's `->`, a role's scope).
    pub(super) fn level_path(&mut self, path: &ast::Path, place: &str) -> Option<LevelRef> {
        let (first, rest) = path.segments.split_first()?;
        let dimension = self.declaration(first, DeclKind::Dimension)?;
        match rest {
            [level] => self.level_of(&dimension.name, level).then(|| LevelRef {
                dimension: dimension.name,
                level: level.name.clone(),
                span: path.span,
            }),
            _ => {
                let levels = self.level_list(&dimension.name);
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_LEVEL,
                        format!("{place} names a dimension level, written `dimension.level`"),
                        path.span,
                    )
                    .label(if rest.is_empty() { "no level" } else { "too many parts" })
                    .help(format!("name one level: {levels}")),
                );
                None
            }
        }
    }

    /// "`geography.clinic`, `geography.region`" for help lines.
    fn level_list(&self, dimension: &str) -> String {
        let levels: Vec<String> = self
            .model
            .dimensions
            .get(dimension)
            .map(|d| d.levels.keys().map(|l| format!("`{dimension}.{l}`")).collect())
            .unwrap_or_default();
        if levels.is_empty() {
            format!("`{dimension}` has no levels yet")
        } else {
            levels.join(", ")
        }
    }

    // ------------------------------------------------------------ grains

    /// A grain the calendar offers: unknown words are T0113, grains left out of the
    /// calendar's `grains` T0205.
    pub(super) fn calendar_grain(&mut self, ident: &Ident) -> Option<Grain> {
        let grain = self.grain_word(ident)?;
        self.offered_grain(ident, grain)
    }

    fn offered_grain(&mut self, ident: &Ident, grain: Grain) -> Option<Grain> {
        if self.model.calendar.has_grain(grain) {
            return Some(grain);
        }
        let calendar = &self.model.calendar;
        let offered: Vec<&str> = calendar.grains.iter().map(|g| g.word()).collect();
        let mut d = Diagnostic::error(
            codes::UNKNOWN_LEVEL,
            format!("Calendar `{}` has no grain `{}`", calendar.name, ident.name),
            ident.span,
        )
        .label("not among the calendar's grains")
        .help(format!(
            "add `{}` to the calendar's `grains`, or use one of: {}",
            ident.name,
            offered.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ")
        ));
        if let Some(span) = calendar.span {
            d = d.secondary(span, "calendar declared here");
        }
        self.push(d);
        None
    }

    // ------------------------------------------------------------ axes

    /// Something to cut by: `dimension`, `dimension.level`, `calendar`, `calendar.grain` or
    /// `source.column`.
    pub(super) fn axis(&mut self, path: &ast::Path) -> Option<Axis> {
        let (first, rest) = path.segments.split_first()?;
        let span = path.span;
        let Some(entry) = self.names.get(&first.name) else {
            let candidates =
                self.names.of(&[DeclKind::Dimension, DeclKind::Calendar, DeclKind::Source]);
            let help = did_you_mean(&first.name, &candidates, "dimension");
            self.push(
                Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    format!("Unknown dimension `{}`", first.name),
                    first.span,
                )
                .label("no dimension, calendar or source has this name")
                .help(help),
            );
            return None;
        };
        let name = first.name.clone();
        match (entry.kind, rest) {
            (DeclKind::Dimension, []) => Some(Axis::Dimension { dimension: name, span }),
            (DeclKind::Dimension, [level]) => self.level_of(&name, level).then(|| Axis::Level {
                dimension: name,
                level: level.name.clone(),
                span,
            }),
            (DeclKind::Calendar, []) => Some(Axis::Time { grain: None, span }),
            (DeclKind::Calendar, [grain]) => {
                let Some(word) = Grain::from_word(&grain.name) else {
                    let calendar = &self.model.calendar;
                    let offered: Vec<&str> = calendar.grains.iter().map(|g| g.word()).collect();
                    let help = did_you_mean(&grain.name, &offered, "grain");
                    let message =
                        format!("Calendar `{}` has no grain `{}`", calendar.name, grain.name);
                    self.push(
                        Diagnostic::error(codes::UNKNOWN_LEVEL, message, grain.span)
                            .label("not a grain")
                            .help(help),
                    );
                    return None;
                };
                let grain = self.offered_grain(grain, word)?;
                Some(Axis::Time { grain: Some(grain), span })
            }
            (DeclKind::Source, [column]) => self.column_of(&name, column).then(|| Axis::Column {
                source: name,
                column: column.name.clone(),
                span,
            }),
            (DeclKind::Dimension | DeclKind::Calendar, [_, extra, ..]) => {
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_LEVEL,
                        format!("`{}` has too many parts", path.dotted()),
                        extra.span,
                    )
                    .label("unexpected")
                    .help(format!("write `{name}` or `{name}.<level>`")),
                );
                None
            }
            (DeclKind::Source, _) => {
                let example = self
                    .model
                    .sources
                    .get(&name)
                    .and_then(|s| s.columns.keys().next())
                    .map_or_else(|| format!("{name}.<column>"), |c| format!("{name}.{c}"));
                let help = format!("cut by one of its columns, e.g. `{example}`");
                let d = if rest.is_empty() {
                    // A whole source is not something to cut by: a name of the wrong kind.
                    wrong_kind(first, entry, "dimension", help)
                } else {
                    Diagnostic::error(
                        codes::UNKNOWN_COLUMN,
                        format!("`{}` has too many parts", path.dotted()),
                        span,
                    )
                    .label("expected `source.column`")
                    .help(help)
                };
                self.push(d);
                None
            }
            (_, _) => {
                let candidates = self.names.of(&[DeclKind::Dimension, DeclKind::Calendar]);
                let help = did_you_mean(&first.name, &candidates, "dimension");
                let d = wrong_kind(first, entry, "dimension", help);
                self.push(d);
                None
            }
        }
    }

    /// A list of axes, each once (T0202).
    pub(super) fn axes(&mut self, paths: &[ast::Path], owner: &str) -> Vec<Axis> {
        let mut seen: indexmap::IndexMap<String, Span> = indexmap::IndexMap::new();
        let mut axes = Vec::new();
        for path in paths {
            let dotted = path.dotted();
            if let Some(first) = seen.get(&dotted) {
                self.push(
                    Diagnostic::error(
                        codes::DUPLICATE_MEMBER,
                        format!("`{dotted}` is listed twice in {owner}"),
                        path.span,
                    )
                    .label("given again here")
                    .secondary(*first, "first given here")
                    .help("remove the repeat"),
                );
                continue;
            }
            seen.insert(dotted, path.span);
            axes.extend(self.axis(path));
        }
        axes
    }

    // ------------------------------------------------------------ expressions

    /// Resolves an expression into its model form ([`Expr`], untyped: the type checker types
    /// it once every metric is known), gathering what it reads into `reads`.
    pub(super) fn expr(&mut self, expr: &ast::Expr, place: Place, reads: &mut Reads) -> Expr {
        let span = expr.span;
        let node = match &expr.kind {
            ExprKind::Literal(literal) => self.literal(literal, span),
            ExprKind::Path(path) => self.value_path(path, place, reads),
            ExprKind::Call { function, args, .. } if function.name == "total" => {
                self.total(args, place, reads, span)
            }
            ExprKind::Call { function, distinct, star, args } => {
                let args: Vec<Expr> = args.iter().map(|a| self.expr(a, place, reads)).collect();
                let node = self.call(function, *distinct, *star, args, span);
                if matches!(node, Node::Call { function: Function::CalendarDays, .. }) {
                    if place == Place::Measure {
                        reads.calendar_days.push(span);
                    } else {
                        self.push(
                            Diagnostic::error(
                                codes::CALENDAR_DAYS_MISPLACED,
                                format!("`calendar_days()` has no value in {}", place.describe()),
                                span,
                            )
                            .label("a cell's period has no rows to filter or sort")
                            .help("divide a metric by it in a derived metric: `metric per_day = arrivals / calendar_days()`"),
                        );
                        return Expr::untyped(Node::Invalid(Vec::new()), span);
                    }
                }
                node
            }
            // The node keeps the span of the parentheses, which is what was written around it.
            ExprKind::Paren(inner) => return Expr { span, ..self.expr(inner, place, reads) },
            ExprKind::Neg(inner) => Node::Neg(Box::new(self.expr(inner, place, reads))),
            ExprKind::Not(inner) => Node::Not(Box::new(self.expr(inner, place, reads))),
            ExprKind::Chain { first, rest } => Node::Chain {
                first: Box::new(self.expr(first, place, reads)),
                rest: rest
                    .iter()
                    .map(|link| Link {
                        op: link.op,
                        operand: self.expr(&link.operand, place, reads),
                    })
                    .collect(),
            },
            ExprKind::Binary { op, left, right } => Node::Compare {
                op: *op,
                left: Box::new(self.expr(left, place, reads)),
                right: Box::new(self.expr(right, place, reads)),
            },
            ExprKind::IsNull { expr: inner, negated } => {
                Node::IsNull { expr: Box::new(self.expr(inner, place, reads)), negated: *negated }
            }
            ExprKind::InList { expr: inner, list, negated } => Node::InList {
                expr: Box::new(self.expr(inner, place, reads)),
                list: list.iter().map(|item| self.expr(item, place, reads)).collect(),
                negated: *negated,
            },
            ExprKind::Between { expr: inner, low, high, negated } => Node::Between {
                expr: Box::new(self.expr(inner, place, reads)),
                low: Box::new(self.expr(low, place, reads)),
                high: Box::new(self.expr(high, place, reads)),
                negated: *negated,
            },
            ExprKind::Like { expr: inner, pattern, negated } => Node::Like {
                expr: Box::new(self.expr(inner, place, reads)),
                pattern: Box::new(self.expr(pattern, place, reads)),
                negated: *negated,
            },
        };
        Expr::untyped(node, span)
    }

    /// `total(metric, axis, ...)` (T0319 when it is not that, or not in a measure).
    fn total(&mut self, args: &[ast::Expr], place: Place, reads: &mut Reads, span: Span) -> Node {
        let refuse = |this: &mut Self, at: Span, message: String, label: &str| {
            this.push(
                Diagnostic::error(codes::INVALID_TOTAL, message, at)
                    .label(label)
                    .help("write `total(<metric>, <dimension or level or column>, ...)` in a derived metric: `metric port_share = seizures / total(seizures, location)`"),
            );
            Node::Invalid(Vec::new())
        };
        if place != Place::Measure {
            return refuse(
                self,
                span,
                format!("`total` has no value in {}", place.describe()),
                "a total of a metric per cell",
            );
        }
        let Some((first, rest)) = args.split_first() else {
            return refuse(
                self,
                span,
                "`total` names no metric".to_string(),
                "a metric and the axes it is totalled over",
            );
        };
        let metric = match &first.kind {
            ExprKind::Path(path) if path.segments.len() == 1 => {
                let name = &path.segments[0];
                match self.names.get(&name.name) {
                    Some(entry) if entry.kind == DeclKind::Metric => {
                        NameRef { name: name.name.clone(), span: name.span }
                    }
                    _ => {
                        return refuse(
                            self,
                            first.span,
                            format!("`total` totals a metric, and `{}` is not one", name.name),
                            "not a metric",
                        )
                    }
                }
            }
            _ => {
                return refuse(
                    self,
                    first.span,
                    "`total` totals a metric by its name".to_string(),
                    "not a metric name",
                )
            }
        };
        if rest.is_empty() {
            return refuse(
                self,
                span,
                format!("`total({})` names nothing to total over", metric.name),
                "which dimension does the total leave out?",
            );
        }
        let mut over = Vec::new();
        for arg in rest {
            let ExprKind::Path(path) = &arg.kind else {
                return refuse(
                    self,
                    arg.span,
                    "`total` is over dimensions, levels or columns".to_string(),
                    "not an axis",
                );
            };
            match self.axis(path) {
                Some(Axis::Time { .. }) => {
                    return refuse(
                        self,
                        arg.span,
                        "`total` is not over time".to_string(),
                        "a total over periods is a window: `window to date <grain>`",
                    )
                }
                Some(axis) => over.push(axis),
                None => return Node::Invalid(Vec::new()),
            }
        }
        reads.metrics.push(metric.clone());
        Node::Total(expr::Total { metric, over })
    }

    /// A literal as a value. Numbers keep their digits in the syntax tree; whole ones must fit
    /// the engines' 64-bit integers.
    pub(super) fn literal(&mut self, literal: &Literal, span: Span) -> Node {
        Node::Literal(match literal {
            Literal::Int(digits) => match digits.parse::<i64>() {
                Ok(value) => expr::Literal::Int(value),
                Err(_) => {
                    self.push(
                        Diagnostic::error(codes::INVALID_NUMBER, "Number too large", span)
                            .label("does not fit in a 64-bit integer")
                            .help("use a number up to 9223372036854775807"),
                    );
                    return Node::Invalid(Vec::new());
                }
            },
            Literal::Decimal(digits) => expr::Literal::Decimal(digits.clone()),
            Literal::Percent(digits) => expr::Literal::Percent(digits.clone()),
            Literal::Duration { amount, unit } => {
                expr::Literal::Duration { amount: *amount, unit: *unit }
            }
            Literal::String(text) => expr::Literal::String(text.clone()),
            Literal::Bool(value) => expr::Literal::Bool(*value),
            Literal::Null => expr::Literal::Null,
        })
    }

    /// A call: an unknown function is T0206, a call of the wrong shape T0305 (`*` and
    /// `distinct` only in `count`, the number of arguments); either is [`Node::Invalid`].
    fn call(
        &mut self,
        function: &Ident,
        distinct: bool,
        star: bool,
        args: Vec<Expr>,
        span: Span,
    ) -> Node {
        let Some(f) = Function::from_word(&function.name) else {
            self.unknown_word_or_alias(
                codes::UNKNOWN_FUNCTION,
                "function",
                function,
                Function::WORDS,
                FUNCTION_ALIASES,
            );
            return Node::Invalid(args);
        };
        if let Some(problem) = call_shape(f, distinct, star, args.len()) {
            self.push(
                Diagnostic::error(codes::INVALID_CALL, problem, span)
                    .label("called here")
                    .help(format!("call it as {}", usage(f))),
            );
            return Node::Invalid(args);
        }
        if f.is_aggregate() {
            let fraction = match f {
                Function::Median | Function::ApproxMedian => Some("0.5".to_string()),
                _ if f.takes_fraction() => {
                    let given = args.get(1);
                    match given.and_then(fraction) {
                        Some(fraction) => Some(fraction),
                        None => {
                            let at = given.map_or(span, |g| g.span);
                            self.push(
                                Diagnostic::error(
                                    codes::INVALID_CALL,
                                    format!("The fraction of `{}` is not a constant from 0 to 1", f.word()),
                                    at,
                                )
                                .label("not a constant fraction")
                                .help(format!(
                                    "write the fraction as a percentage or a decimal: `{}(x.wait_minutes, 90%)` or `{}(x.wait_minutes, 0.9)`",
                                    f.word(),
                                    f.word()
                                )),
                            );
                            return Node::Invalid(args);
                        }
                    }
                }
                _ => None,
            };
            let arg = args.into_iter().next().map(Box::new);
            Node::Aggregate(Aggregate { function: f, distinct, arg, fraction })
        } else {
            Node::Call { function: f, args }
        }
    }

    /// A path in an expression: `source.column`, or a bare metric name in a measure.
    fn value_path(&mut self, path: &ast::Path, place: Place, reads: &mut Reads) -> Node {
        let [name] = path.segments.as_slice() else {
            return match self.column_path(path) {
                Some(column) => {
                    reads.columns.push(column.clone());
                    Node::Column(column)
                }
                None => Node::Invalid(Vec::new()),
            };
        };
        match self.names.get(&name.name) {
            None => reads.unknown.push(name.clone()),
            Some(entry) if entry.kind == DeclKind::Metric && place == Place::Measure => {
                let metric = NameRef { name: name.name.clone(), span: name.span };
                reads.metrics.push(metric.clone());
                return Node::Metric(metric);
            }
            Some(entry) if entry.kind == DeclKind::Metric => {
                self.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("Metric `{}` cannot be read in {}", name.name, place.describe()),
                        name.span,
                    )
                    .label("a metric")
                    .help("only a measure combines metrics; here, read columns as `source.column`"),
                );
            }
            Some(entry) => {
                let help = match entry.kind {
                    DeclKind::Source => format!("name a column: `{}.<column>`", name.name),
                    _ => "write a column as `source.column`, or a metric by its name".to_string(),
                };
                let d = wrong_kind(name, entry, "column or metric", help);
                self.push(d);
            }
        }
        Node::Invalid(Vec::new())
    }

    /// Reports the bare names no declaration has. When a source the metric reads has a column
    /// of that name, the help says how to write it.
    pub(super) fn report_unknown(&mut self, unknown: &[Ident], source: Option<&str>) {
        for ident in unknown {
            let column_of_source = source.filter(|s| {
                self.model.sources.get(*s).is_some_and(|s| s.columns.contains_key(&ident.name))
            });
            let help = match column_of_source {
                Some(source) => {
                    format!("columns are written with their source: `{source}.{}`", ident.name)
                }
                None => {
                    let metrics = self.names.of(&[DeclKind::Metric]);
                    did_you_mean(&ident.name, &metrics, "metric")
                }
            };
            self.push(
                Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    format!("Unknown metric `{}`", ident.name),
                    ident.span,
                )
                .label("no metric has this name")
                .help(help),
            );
        }
    }
}

/// T0207: the name exists but is another kind of declaration.
fn wrong_kind(ident: &Ident, entry: Entry, expected: &str, help: String) -> Diagnostic {
    let actual = noun(entry.kind);
    let mut d = Diagnostic::error(
        codes::WRONG_KIND,
        format!(
            "`{}` is {} {actual}, not {} {expected}",
            ident.name,
            article(actual),
            article(expected)
        ),
        ident.span,
    )
    .label(format!("expected {} {expected}", article(expected)))
    .help(help);
    if let Some(span) = entry.span {
        d = d.secondary(span, format!("`{}` is declared here", ident.name));
    }
    d
}

/// T0204 for `column` in `source`.
fn unknown_column(source: &str, column: &Ident, columns: &[&str]) -> Diagnostic {
    Diagnostic::error(
        codes::UNKNOWN_COLUMN,
        format!("Source `{source}` has no column `{}`", column.name),
        column.span,
    )
    .label("unknown column")
    .help(did_you_mean(&column.name, columns, "column"))
}

/// T0204 for a column of a source being built (its columns are not in the model yet), or
/// `None` when the column exists.
pub(super) fn unknown_local_column(
    source: &str,
    column: &Ident,
    columns: &indexmap::IndexMap<String, Column>,
) -> Option<Diagnostic> {
    if columns.contains_key(&column.name) {
        return None;
    }
    let names: Vec<&str> = columns.keys().map(String::as_str).collect();
    Some(unknown_column(source, column, &names))
}

/// A percentile's fraction as an exact decimal from 0 to 1: `90%` is `0.9`, `0.25` stays,
/// `0` and `1` are the smallest and largest values. `None` for anything else.
fn fraction(expr: &expr::Expr) -> Option<String> {
    let (digits, shift) = match &expr.node {
        Node::Literal(expr::Literal::Int(i)) if (0..=1).contains(i) => return Some(i.to_string()),
        Node::Literal(expr::Literal::Decimal(d)) => (d.as_str(), 0),
        Node::Literal(expr::Literal::Percent(d)) => (d.as_str(), 2),
        _ => return None,
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Move the point `shift` places left.
    let padded = format!("{whole:0>width$}", width = shift + 1);
    let (int, moved) = padded.split_at(padded.len() - shift);
    let int = int.trim_start_matches('0');
    let fraction = format!("{moved}{fraction}");
    let fraction = fraction.trim_end_matches('0');
    let text = match (int.is_empty(), fraction.is_empty()) {
        (true, true) => "0".to_string(),
        (false, true) => int.to_string(),
        (true, false) => format!("0.{fraction}"),
        (false, false) => format!("{int}.{fraction}"),
    };
    let within = int.is_empty() || (int == "1" && fraction.is_empty());
    within.then_some(text)
}

/// Why a call of `f` with these arguments has the wrong shape (T0305), if it does.
fn call_shape(f: Function, distinct: bool, star: bool, args: usize) -> Option<String> {
    let name = f.word();
    if star && f != Function::Count {
        return Some(format!("Only `count` takes `*`, not `{name}`"));
    }
    if distinct && f != Function::Count {
        return Some(format!("`distinct` goes only with `count`, not `{name}`"));
    }
    if star {
        return None;
    }
    let (min, max) = match f {
        Function::Now | Function::CalendarDays => (0, 0),
        Function::Coalesce => (2, usize::MAX),
        Function::Round => (1, 2),
        Function::Percentile | Function::PercentileDisc | Function::ApproxPercentile => (2, 2),
        _ => (1, 1),
    };
    (args < min || args > max).then(|| {
        let expected = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (1, 1) => "one argument".to_string(),
            (_, usize::MAX) => format!("at least {min} arguments"),
            _ => format!("{min} or {max} arguments"),
        };
        format!("`{name}` takes {expected}, not {args}")
    })
}

/// How `f` is called, for the help of T0305.
fn usage(f: Function) -> &'static str {
    match f {
        Function::Count => "`count(*)`, `count(x)` or `count(distinct x)`",
        Function::Sum => "`sum(x)`",
        Function::Avg => "`avg(x)`",
        Function::Min => "`min(x)`",
        Function::Max => "`max(x)`",
        Function::Share => "`share(condition)`",
        Function::Median => "`median(x)`",
        Function::Percentile => "`percentile(x, 90%)`",
        Function::PercentileDisc => "`percentile_disc(x, 90%)`",
        Function::ApproxMedian => "`approx_median(x)`",
        Function::ApproxPercentile => "`approx_percentile(x, 90%)`",
        Function::Age => "`age(timestamp)`",
        Function::Now => "`now()`",
        Function::CalendarDays => "`calendar_days()`",
        Function::Coalesce => "`coalesce(a, b, ...)`",
        Function::Lower => "`lower(text)`",
        Function::Upper => "`upper(text)`",
        Function::Abs => "`abs(x)`",
        Function::Round => "`round(x)` or `round(x, digits)`",
    }
}
