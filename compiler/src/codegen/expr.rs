//! The model's expressions ([`semantic::expr`](crate::semantic::expr)) → SQL expressions, as
//! `sqlparser::ast` values.
//!
//! One lowering serves measures, `where` filters, bucket expressions, `having` conditions and
//! derived-metric formulas; [`ExprSql`] says where column values come from (a row alias),
//! whether aggregates run as window functions (for `per ... having`) or read only some rows,
//! and how a metric is read (for derived metrics). The rendered text goes into the templates.
//!
//! **Parentheses.** sqlparser prints an expression tree as it is and adds parentheses only
//! for [`SqlExpr::Nested`]. Each lowered node therefore carries its SQL precedence, and a
//! `Nested` is put exactly where an operand binds more loosely than its operator needs: the
//! right operand of a left-associative operator when it is of the same level, any operand of
//! lower level. The levels are the DSL's (`or` < `and` < `not` < comparisons < `+ -` < `* /` <
//! unary `-`), which both engines share, and comparison-level operands are always enclosed,
//! so the engines' finer rules among comparisons (`IS` against `=`) never matter. A chain
//! `a + b + c` prints without parentheses, the way it was written.
//!
//! Semantics chosen here, identical on every engine:
//!
//! - `/` divides exactly and a zero divisor gives NULL: `CAST(a AS DECIMAL(38, 6)) /
//!   NULLIF(b, 0)` (PostgreSQL would otherwise divide integers as integers).
//! - `share(c)` is `AVG(CASE WHEN c THEN 1.0 ELSE 0.0 END)`: a row where `c` has no value
//!   counts as not meeting it.
//! - `age(t)` is `{now} - CAST(t AS TIMESTAMP)`, an interval; durations are intervals.
//! - Percentages are exact decimals (`3%` is `0.03`).
//!
//! Text that Tally writes itself and knows to be one operand (a string literal quoted by
//! [`text_literal`], a `{now}` placeholder) goes in as [`verbatim`]: sqlparser's own string
//! quoting treats `\'` and `''` in a value as already escaped, which user text must never be.

use super::dialect::{Dialect, PercentileSyntax};
use super::schema::SqlType;
use super::templates::text_literal;
use crate::semantic::expr::{Aggregate, Expr, Literal, Node};
use crate::semantic::Function;
use crate::syntax::ast::{BinaryOp, TimeUnit};
use sqlparser::ast::{
    self as sql, BinaryOperator, CaseWhen, CastKind, DuplicateTreatment, FunctionArg,
    FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, InTarget, ObjectName,
    UnaryOperator, Value, WindowSpec, WindowType,
};
use sqlparser::parser::Parser;

pub use sqlparser::ast::Expr as SqlExpr;

/// The type exact division and rounding compute in.
pub const EXACT: SqlType = SqlType::Decimal { precision: 38, scale: 6 };

/// How a derived metric's formula reads one of its inputs.
pub type ReadMetric<'a> = dyn Fn(&str) -> Option<SqlExpr> + 'a;

pub struct ExprSql<'a> {
    pub dialect: &'a dyn Dialect,
    /// The alias whose columns `source.column` reads (`f` → `f.seizure_date`).
    pub row: &'a str,
    /// When set, aggregates are window functions partitioned by these (`PARTITION BY ...`).
    pub window: Option<&'a [SqlExpr]>,
    /// When set, aggregates read only the rows meeting this condition (`FILTER (WHERE ...)`).
    pub filter: Option<&'a SqlExpr>,
    /// How a metric name reads (derived metrics); `None` where metrics cannot appear.
    pub metric: Option<&'a ReadMetric<'a>>,
}

impl std::fmt::Debug for ExprSql<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExprSql")
            .field("dialect", &self.dialect.name())
            .field("row", &self.row)
            .field("window", &self.window)
            .field("filter", &self.filter)
            .field("reads_metrics", &self.metric.is_some())
            .finish()
    }
}

/// How tightly an SQL expression binds: an operand of an operator needs parentheses when it
/// binds more loosely (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
    Compare,
    Add,
    Mul,
    Neg,
    /// Literals, columns, calls, `CAST(...)`, `CASE ... END`, parenthesized expressions.
    Atom,
}

impl Prec {
    fn of(op: BinaryOp) -> Prec {
        match op {
            BinaryOp::Or => Prec::Or,
            BinaryOp::And => Prec::And,
            BinaryOp::Add | BinaryOp::Sub => Prec::Add,
            BinaryOp::Mul | BinaryOp::Div => Prec::Mul,
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => Prec::Compare,
        }
    }
}

/// A lowered expression and how tightly it binds.
struct Lowered {
    expr: SqlExpr,
    prec: Prec,
}

impl Lowered {
    fn atom(expr: SqlExpr) -> Lowered {
        Lowered { expr, prec: Prec::Atom }
    }

    /// The expression as an operand that must bind at least as tightly as `above` (strictly
    /// more with `strict`), in parentheses when it does not.
    fn operand(self, above: Prec, strict: bool) -> SqlExpr {
        let fits = if strict { self.prec > above } else { self.prec >= above };
        if fits {
            self.expr
        } else {
            SqlExpr::Nested(Box::new(self.expr))
        }
    }
}

impl ExprSql<'_> {
    /// `e` as an SQL expression.
    pub fn expr(&self, e: &Expr) -> Result<SqlExpr, String> {
        Ok(self.lower(e)?.expr)
    }

    /// `e` as SQL text, for a template.
    pub fn sql(&self, e: &Expr) -> Result<String, String> {
        Ok(self.expr(e)?.to_string())
    }

    /// `left op right` as SQL text (a bucket's edge test), grouped as precedence needs.
    pub fn compare(&self, left: &Expr, op: BinaryOp, right: &Expr) -> Result<String, String> {
        let (left, right) = (self.lower(left)?, self.lower(right)?);
        Ok(self.binary(left, op, right)?.expr.to_string())
    }

    /// `e IS NULL` as SQL text.
    pub fn is_null(&self, e: &Expr) -> Result<String, String> {
        let operand = self.lower(e)?.operand(Prec::Compare, true);
        Ok(SqlExpr::IsNull(Box::new(operand)).to_string())
    }

    fn lower(&self, e: &Expr) -> Result<Lowered, String> {
        Ok(match &e.node {
            Node::Literal(literal) => self.literal(literal)?,
            Node::Column(c) => Lowered::atom(column(self.dialect, self.row, &c.column)),
            Node::Metric(m) => {
                let read = self.metric.and_then(|read| read(&m.name));
                Lowered::atom(read.ok_or_else(|| {
                    format!("`{}` is not a metric this expression may read", m.name)
                })?)
            }
            Node::Total(total) => {
                let key = total.key();
                let read = self.metric.and_then(|read| read(&key));
                Lowered::atom(read.ok_or_else(|| format!("`{key}` is not readable here"))?)
            }
            Node::Aggregate(aggregate) => Lowered::atom(self.aggregate(aggregate)?),
            Node::Call { function, args } => self.call(*function, args)?,
            Node::Neg(inner) => {
                let inner = self.lower(inner)?;
                // `- -x` would print as `--x`, which SQL reads as a comment.
                let doubled =
                    matches!(inner.expr, SqlExpr::UnaryOp { op: UnaryOperator::Minus, .. });
                let expr = if doubled {
                    SqlExpr::Nested(Box::new(inner.expr))
                } else {
                    inner.operand(Prec::Neg, false)
                };
                Lowered {
                    expr: SqlExpr::UnaryOp { op: UnaryOperator::Minus, expr: Box::new(expr) },
                    prec: Prec::Neg,
                }
            }
            Node::Not(inner) => {
                let inner = self.lower(inner)?.operand(Prec::Not, false);
                Lowered {
                    expr: SqlExpr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(inner) },
                    prec: Prec::Not,
                }
            }
            Node::Chain { first, rest } => {
                // A left fold, in a loop: a chain of any length costs no recursion.
                let mut acc = self.lower(first)?;
                for link in rest {
                    let right = self.lower(&link.operand)?;
                    acc = self.binary(acc, link.op, right)?;
                }
                acc
            }
            Node::Compare { op, left, right } => {
                let (left, right) = (self.lower(left)?, self.lower(right)?);
                self.binary(left, *op, right)?
            }
            Node::IsNull { expr, negated } => {
                let expr = Box::new(self.lower(expr)?.operand(Prec::Compare, true));
                let expr = if *negated { SqlExpr::IsNotNull(expr) } else { SqlExpr::IsNull(expr) };
                Lowered { expr, prec: Prec::Compare }
            }
            Node::InList { expr, list, negated } => {
                let expr = Box::new(self.lower(expr)?.operand(Prec::Compare, true));
                let list = list.iter().map(|item| self.expr(item)).collect::<Result<_, _>>()?;
                let target = InTarget::List(list);
                let expr = SqlExpr::In { expr, target, negated: *negated, global: false };
                Lowered { expr, prec: Prec::Compare }
            }
            Node::Between { expr, low, high, negated } => {
                let bound = |e: &Expr| -> Result<Box<SqlExpr>, String> {
                    Ok(Box::new(self.lower(e)?.operand(Prec::Compare, true)))
                };
                let expr = SqlExpr::Between {
                    expr: bound(expr)?,
                    negated: *negated,
                    low: bound(low)?,
                    high: bound(high)?,
                };
                Lowered { expr, prec: Prec::Compare }
            }
            Node::Like { expr, pattern, negated } => {
                let expr = SqlExpr::Like {
                    negated: *negated,
                    any: false,
                    expr: Box::new(self.lower(expr)?.operand(Prec::Compare, true)),
                    pattern: Box::new(self.lower(pattern)?.operand(Prec::Compare, true)),
                    escape_char: None,
                };
                Lowered { expr, prec: Prec::Compare }
            }
            Node::Invalid(_) => return Err("an expression that did not resolve".to_string()),
        })
    }

    /// `left op right`. Division is exact (see the module docs); every other operator is
    /// left-associative, comparisons not associative at all.
    fn binary(&self, left: Lowered, op: BinaryOp, right: Lowered) -> Result<Lowered, String> {
        let prec = Prec::of(op);
        if op == BinaryOp::Div {
            // Inside `CAST(...)` and `NULLIF(...)` any operand stands on its own.
            let exact = cast(left.expr, self.sql_type(self.dialect.fraction_type(EXACT))?);
            let divisor = call("NULLIF", vec![right.expr, number("0")]);
            let expr = SqlExpr::BinaryOp {
                left: Box::new(exact),
                op: BinaryOperator::Divide,
                right: Box::new(divisor),
            };
            return Ok(Lowered { expr, prec });
        }
        let comparison = prec == Prec::Compare;
        let expr = SqlExpr::BinaryOp {
            left: Box::new(left.operand(prec, comparison)),
            op: operator(op),
            right: Box::new(right.operand(prec, true)),
        };
        Ok(Lowered { expr, prec })
    }

    fn aggregate(&self, aggregate: &Aggregate) -> Result<SqlExpr, String> {
        let arg = match &aggregate.arg {
            Some(arg) => Some(self.expr(arg)?),
            None => None,
        };
        let one = || {
            arg.clone()
                .ok_or_else(|| format!("`{}` without an argument", aggregate.function.word()))
        };
        let mut function = match aggregate.function {
            Function::Count => match arg.clone() {
                None => function("COUNT", vec![FunctionArgExpr::Wildcard], false),
                Some(arg) => {
                    function("COUNT", vec![FunctionArgExpr::Expr(arg)], aggregate.distinct)
                }
            },
            Function::Sum => function("SUM", vec![FunctionArgExpr::Expr(one()?)], false),
            Function::Avg => function("AVG", vec![FunctionArgExpr::Expr(one()?)], false),
            Function::Min => function("MIN", vec![FunctionArgExpr::Expr(one()?)], false),
            Function::Max => function("MAX", vec![FunctionArgExpr::Expr(one()?)], false),
            Function::Share => {
                let mut case = case(vec![(one()?, number("1.0"))], Some(number("0.0")));
                let fraction = self.dialect.fraction_type(EXACT);
                if fraction != EXACT {
                    case = cast(case, self.sql_type(fraction)?);
                }
                function("AVG", vec![FunctionArgExpr::Expr(case)], false)
            }
            f if f.is_percentile() => self.percentile(aggregate, one()?)?,
            other => return Err(format!("`{}` is not an aggregate", other.word())),
        };
        function.filter = self.filter.map(|f| Box::new(f.clone()));
        function.over = self.window.map(|partition| {
            WindowType::WindowSpec(WindowSpec {
                window_name: None,
                partition_by: partition.to_vec(),
                order_by: Vec::new(),
                window_frame: None,
            })
        });
        Ok(SqlExpr::Function(function))
    }

    /// A percentile the engine's way: exact unless `approx_` asked otherwise, and an
    /// approximation only where the engine has one (the semantic check refuses it elsewhere).
    fn percentile(&self, aggregate: &Aggregate, arg: SqlExpr) -> Result<sql::Function, String> {
        let name = aggregate.function.word();
        let fraction = number(
            aggregate.fraction.as_deref().ok_or_else(|| format!("`{name}` without a fraction"))?,
        );
        if aggregate.function.is_approximate() {
            let approx = self.dialect.approx_percentile().ok_or_else(|| {
                format!("`{name}` on {}, which has no approximate percentile", self.dialect.name())
            })?;
            let args = vec![FunctionArgExpr::Expr(arg), FunctionArgExpr::Expr(fraction)];
            return Ok(function(approx, args, false));
        }
        let discrete = aggregate.function == Function::PercentileDisc;
        Ok(match self.dialect.exact_percentile() {
            PercentileSyntax::Call { continuous, discrete: disc } => {
                let args = vec![FunctionArgExpr::Expr(arg), FunctionArgExpr::Expr(fraction)];
                function(if discrete { disc } else { continuous }, args, false)
            }
            PercentileSyntax::WithinGroup { continuous, discrete: disc } => {
                let name = if discrete { disc } else { continuous };
                let mut f = function(name, vec![FunctionArgExpr::Expr(fraction)], false);
                f.within_group = vec![sql::OrderByExpr {
                    expr: arg,
                    options: sql::OrderByOptions { sort: None, nulls_first: None },
                    with_fill: None,
                }];
                f
            }
        })
    }

    fn call(&self, f: Function, args: &[Expr]) -> Result<Lowered, String> {
        let args: Vec<SqlExpr> = args.iter().map(|a| self.expr(a)).collect::<Result<_, _>>()?;
        let one =
            || args.first().cloned().ok_or_else(|| format!("`{}` without an argument", f.word()));
        Ok(match f {
            Function::Age => {
                let since = cast(one()?, self.sql_type(SqlType::Timestamp)?);
                let expr = SqlExpr::BinaryOp {
                    left: Box::new(verbatim("{now}")),
                    op: BinaryOperator::Minus,
                    right: Box::new(since),
                };
                Lowered { expr, prec: Prec::Add }
            }
            Function::Now => Lowered::atom(verbatim("{now}")),
            Function::CalendarDays => {
                Lowered::atom(verbatim(&format!("({})", calendar_days(self.dialect, self.row))))
            }
            Function::Coalesce => Lowered::atom(call("COALESCE", args)),
            Function::Lower => Lowered::atom(call("lower", vec![one()?])),
            Function::Upper => Lowered::atom(call("upper", vec![one()?])),
            Function::Abs => Lowered::atom(call("abs", vec![one()?])),
            Function::Round => {
                let mut round = vec![cast(one()?, self.sql_type(EXACT)?)];
                round.extend(args.get(1).cloned());
                Lowered::atom(call("round", round))
            }
            aggregate => {
                return Err(format!("aggregate `{}` called as a function", aggregate.word()))
            }
        })
    }

    fn literal(&self, literal: &Literal) -> Result<Lowered, String> {
        Ok(match literal {
            Literal::Int(value) => Lowered::atom(number(&value.to_string())),
            Literal::Decimal(digits) => Lowered::atom(number(digits)),
            Literal::Percent(digits) => Lowered::atom(number(&percent(digits)?)),
            Literal::Duration { amount, unit } => Lowered::atom(interval_expr(*amount, *unit)),
            Literal::String(text) => Lowered::atom(string(text)),
            Literal::Bool(value) => Lowered::atom(value_expr(Value::Boolean(*value))),
            Literal::Null => Lowered::atom(value_expr(Value::Null)),
        })
    }

    /// The dialect's name of `ty` as sqlparser's data type: one spelling of each type, the
    /// one the schema uses.
    fn sql_type(&self, ty: SqlType) -> Result<sql::DataType, String> {
        let name = self.dialect.type_name(ty);
        let parser_dialect = self.dialect.parser();
        Parser::new(parser_dialect.as_ref())
            .try_with_sql(&name)
            .and_then(|mut p| p.parse_data_type())
            .map_err(|e| format!("type `{name}` does not parse: {e}"))
    }
}

fn operator(op: BinaryOp) -> BinaryOperator {
    match op {
        BinaryOp::Or => BinaryOperator::Or,
        BinaryOp::And => BinaryOperator::And,
        BinaryOp::Eq => BinaryOperator::Eq,
        BinaryOp::NotEq => BinaryOperator::NotEq,
        BinaryOp::Lt => BinaryOperator::Lt,
        BinaryOp::LtEq => BinaryOperator::LtEq,
        BinaryOp::Gt => BinaryOperator::Gt,
        BinaryOp::GtEq => BinaryOperator::GtEq,
        BinaryOp::Add => BinaryOperator::Plus,
        BinaryOp::Sub => BinaryOperator::Minus,
        BinaryOp::Mul => BinaryOperator::Multiply,
        BinaryOp::Div => BinaryOperator::Divide,
    }
}

// ---------------------------------------------------------------- building blocks

/// SQL text Tally wrote itself that stands as one operand (a quoted literal, a placeholder),
/// printed as it is: sqlparser prints an unquoted identifier verbatim.
pub fn verbatim(text: &str) -> SqlExpr {
    SqlExpr::Identifier(Ident::new(text))
}

/// `row.column`, the column quoted as the dialect needs.
pub fn column(dialect: &dyn Dialect, row: &str, name: &str) -> SqlExpr {
    SqlExpr::CompoundIdentifier(vec![Ident::new(row), Ident::new(dialect.quote_ident(name))])
}

/// A number, from digits Tally wrote or checked.
pub fn number(digits: &str) -> SqlExpr {
    value_expr(Value::Number(digits.to_string(), false))
}

/// A string literal of any text (see [`text_literal`]): an operand on its own.
pub fn string(text: &str) -> SqlExpr {
    let literal = text_literal(text);
    if literal.contains(" || ") {
        // `'a' || chr(123) || 'b'`: a concatenation, enclosed so it stays one operand.
        SqlExpr::Nested(Box::new(verbatim(&literal)))
    } else {
        verbatim(&literal)
    }
}

fn value_expr(value: Value) -> SqlExpr {
    SqlExpr::Value(value.with_empty_span())
}

/// `name(args...)`.
pub fn call(name: &str, args: Vec<SqlExpr>) -> SqlExpr {
    SqlExpr::Function(function(name, args.into_iter().map(FunctionArgExpr::Expr).collect(), false))
}

fn function(name: &str, args: Vec<FunctionArgExpr>, distinct: bool) -> sql::Function {
    sql::Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: distinct.then_some(DuplicateTreatment::Distinct),
            args: args.into_iter().map(FunctionArg::Unnamed).collect(),
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    }
}

/// `CASE WHEN c THEN r ... [ELSE e] END`.
pub fn case(whens: Vec<(SqlExpr, SqlExpr)>, otherwise: Option<SqlExpr>) -> SqlExpr {
    SqlExpr::Case {
        case_token: sql::helpers::attached_token::AttachedToken::empty(),
        end_token: sql::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: whens
            .into_iter()
            .map(|(condition, result)| CaseWhen { condition, result })
            .collect(),
        else_result: otherwise.map(Box::new),
    }
}

/// `left = right`, for expressions that bind more tightly than a comparison (columns,
/// literals, calls).
pub fn equals(left: SqlExpr, right: SqlExpr) -> SqlExpr {
    SqlExpr::BinaryOp { left: Box::new(left), op: BinaryOperator::Eq, right: Box::new(right) }
}

fn cast(expr: SqlExpr, data_type: sql::DataType) -> SqlExpr {
    SqlExpr::Cast { kind: CastKind::Cast, expr: Box::new(expr), data_type, format: None }
}

/// `INTERVAL '24 hours'`. Weeks are written as days, which every engine reads the same way.
fn interval_expr(amount: u64, unit: TimeUnit) -> SqlExpr {
    SqlExpr::Interval(sql::Interval {
        value: Box::new(value_expr(Value::SingleQuotedString(interval_text(amount, unit)))),
        leading_field: None,
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    })
}

fn interval_text(amount: u64, unit: TimeUnit) -> String {
    let (amount, unit) = match unit {
        TimeUnit::Week => (amount.saturating_mul(7), TimeUnit::Day),
        other => (amount, other),
    };
    format!("{amount} {}", unit.word(amount))
}

/// `INTERVAL '24 hours'` as text, for SQL written as text (periods, shifts, retention).
pub fn interval(amount: u64, unit: TimeUnit) -> String {
    format!("INTERVAL '{}'", interval_text(amount, unit))
}

/// The end (exclusive) of the period of a cell row `row` (its `grain` and `period_start`):
/// one period of the grain later. `NULL` for a row without a grain.
pub fn period_end(dialect: &dyn Dialect, row: &str) -> String {
    period_end_of(&column_text(dialect, row, "grain"), &column_text(dialect, row, "period_start"))
}

/// The end (exclusive) of the period of grain `grain` (a text expression) starting at `start`.
pub fn period_end_of(grain: &str, start: &str) -> String {
    let whens: Vec<String> = [
        ("quarter_hour", interval(15, TimeUnit::Minute)),
        ("hour", interval(1, TimeUnit::Hour)),
        ("day", interval(1, TimeUnit::Day)),
        ("week", interval(7, TimeUnit::Day)),
        ("month", interval(1, TimeUnit::Month)),
        ("quarter", interval(3, TimeUnit::Month)),
        ("fiscal_quarter", interval(3, TimeUnit::Month)),
        ("year", interval(12, TimeUnit::Month)),
        ("fiscal_year", interval(12, TimeUnit::Month)),
    ]
    .into_iter()
    .map(|(g, step)| format!("WHEN '{g}' THEN {start} + {step}"))
    .collect();
    format!("CASE {grain} {} END", whens.join(" "))
}

/// Whether the period of cell row `row` had not ended at the refresh (`{now}`): its end is
/// after it. `NULL` for a row without a grain.
pub fn partial(dialect: &dyn Dialect, row: &str) -> String {
    format!("{} > {{now}}", period_end(dialect, row))
}

/// The calendar days of the period of cell row `row`: every day of an ended period (or of
/// one that has not begun), and from its first day through the refresh day (`{now}`)
/// while it runs. A grain finer than a day has no whole days: `NULL`.
pub fn calendar_days(dialect: &dyn Dialect, row: &str) -> String {
    let start = column_text(dialect, row, "period_start");
    let grain = column_text(dialect, row, "grain");
    let end = period_end(dialect, row);
    let date = dialect.type_name(SqlType::Date);
    let to_now = dialect
        .days_between(&format!("CAST({start} AS {date})"), &format!("CAST({{now}} AS {date})"));
    let whole = dialect
        .days_between(&format!("CAST({start} AS {date})"), &format!("CAST({end} AS {date})"));
    format!(
        "CASE WHEN {grain} IN ('quarter_hour', 'hour') THEN NULL \
         WHEN {start} <= {{now}} AND {end} > {{now}} \
         THEN {to_now} + 1 \
         ELSE {whole} END"
    )
}

fn column_text(dialect: &dyn Dialect, row: &str, name: &str) -> String {
    format!("{row}.{}", dialect.quote_ident(name))
}

/// `12.5` (the digits of `12.5%`) → `0.125`, exactly.
pub fn percent(digits: &str) -> Result<String, String> {
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(format!("percentage `{digits}%` is not a number"));
    }
    let padded = format!("{whole:0>3}");
    let (int, frac) = padded.split_at(padded.len() - 2);
    let int = int.trim_start_matches('0');
    let fraction = format!("{frac}{fraction}");
    let fraction = fraction.trim_end_matches('0');
    Ok(match (int.is_empty(), fraction.is_empty()) {
        (true, true) => "0".to_string(),
        (false, true) => int.to_string(),
        (true, false) => format!("0.{fraction}"),
        (false, false) => format!("{int}.{fraction}"),
    })
}

// ---------------------------------------------------------------- questions about expressions

/// Whether an aggregate over no rows means zero (`count`, `sum` and sums and differences of
/// them), so a cell where the metric has no rows reads as 0 in a derived formula rather than
/// as no value.
pub fn is_additive(e: &Expr) -> bool {
    match &e.node {
        Node::Aggregate(a) => matches!(a.function, Function::Count | Function::Sum),
        Node::Chain { first, rest } => {
            is_additive(first)
                && rest.iter().all(|l| {
                    matches!(l.op, BinaryOp::Add | BinaryOp::Sub) && is_additive(&l.operand)
                })
        }
        Node::Neg(inner) => is_additive(inner),
        _ => false,
    }
}

/// A bucket edge as written: `15`, `24 hours`, `3%`.
pub fn edge_label(e: &Expr) -> String {
    match &e.node {
        Node::Literal(Literal::Int(i)) => i.to_string(),
        Node::Literal(Literal::Decimal(d)) => d.clone(),
        Node::Literal(Literal::Percent(d)) => format!("{d}%"),
        Node::Literal(Literal::Duration { amount, unit }) => {
            format!("{amount} {}", unit.word(*amount))
        }
        Node::Neg(inner) => format!("-{}", edge_label(inner)),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::{DuckDb, Postgres};
    use crate::semantic::expr::Link;
    use crate::semantic::ColumnRef;
    use crate::span::Span;

    #[test]
    fn percentages_are_exact_decimals() {
        assert_eq!(percent("3").expect("succeeds"), "0.03");
        assert_eq!(percent("12.5").expect("succeeds"), "0.125");
        assert_eq!(percent("100").expect("succeeds"), "1");
        assert_eq!(percent("250").expect("succeeds"), "2.5");
        assert_eq!(percent("0").expect("succeeds"), "0");
        assert_eq!(percent("0.5").expect("succeeds"), "0.005");
    }

    #[test]
    fn durations_are_intervals() {
        assert_eq!(interval(24, TimeUnit::Hour), "INTERVAL '24 hours'");
        assert_eq!(interval(2, TimeUnit::Week), "INTERVAL '14 days'");
        assert_eq!(interval_expr(1, TimeUnit::Month).to_string(), "INTERVAL '1 month'");
    }

    fn e(node: Node) -> Expr {
        Expr::untyped(node, Span::default())
    }

    fn col(name: &str) -> Expr {
        e(Node::Column(ColumnRef {
            source: "x".into(),
            column: name.into(),
            span: Span::default(),
        }))
    }

    fn chain(first: Expr, rest: Vec<(BinaryOp, Expr)>) -> Expr {
        let rest = rest.into_iter().map(|(op, operand)| Link { op, operand }).collect();
        e(Node::Chain { first: Box::new(first), rest })
    }

    fn sql(expr: &Expr) -> String {
        let row = ExprSql { dialect: &DuckDb, row: "f", window: None, filter: None, metric: None };
        row.sql(expr).expect("lowers")
    }

    #[test]
    fn chains_print_flat_and_grouping_only_where_precedence_needs_it() {
        use BinaryOp::{Add, And, Mul, Or, Sub};
        let sum = chain(col("a"), vec![(Add, col("b")), (Sub, col("c"))]);
        assert_eq!(sql(&sum), "f.a + f.b - f.c");
        // a - (b - c): the right operand of a left-associative operator, same level.
        let right = chain(col("a"), vec![(Sub, chain(col("b"), vec![(Sub, col("c"))]))]);
        assert_eq!(sql(&right), "f.a - (f.b - f.c)");
        // (a + b) * c and a * b + c.
        let product = chain(chain(col("a"), vec![(Add, col("b"))]), vec![(Mul, col("c"))]);
        assert_eq!(sql(&product), "(f.a + f.b) * f.c");
        let mixed = chain(chain(col("a"), vec![(Mul, col("b"))]), vec![(Add, col("c"))]);
        assert_eq!(sql(&mixed), "f.a * f.b + f.c");
        // (a or b) and c; not (a and b); - -a.
        let logic = chain(chain(col("a"), vec![(Or, col("b"))]), vec![(And, col("c"))]);
        assert_eq!(sql(&logic), "(f.a OR f.b) AND f.c");
        let not = e(Node::Not(Box::new(chain(col("a"), vec![(And, col("b"))]))));
        assert_eq!(sql(&not), "NOT (f.a AND f.b)");
        let neg = e(Node::Neg(Box::new(e(Node::Neg(Box::new(col("a")))))));
        assert_eq!(sql(&neg), "-(-f.a)");
        let neg_sum = e(Node::Neg(Box::new(chain(col("a"), vec![(Add, col("b"))]))));
        assert_eq!(sql(&neg_sum), "-(f.a + f.b)");
    }

    #[test]
    fn division_is_exact_in_both_dialects() {
        let ratio = chain(
            col("a"),
            vec![(BinaryOp::Div, chain(col("b"), vec![(BinaryOp::Add, col("c"))]))],
        );
        assert_eq!(sql(&ratio), "CAST(f.a AS DECIMAL(38,6)) / NULLIF(f.b + f.c, 0)");
        let pg = ExprSql { dialect: &Postgres, row: "f", window: None, filter: None, metric: None };
        assert_eq!(
            pg.sql(&ratio).expect("lowers"),
            "CAST(f.a AS NUMERIC(38,6)) / NULLIF(f.b + f.c, 0)"
        );
    }

    #[test]
    fn string_literals_never_escape_their_quotes() {
        for text in ["it's", "a\\'b", "''", "{now}", "x\\"] {
            let lowered = sql(&e(Node::Literal(Literal::String(text.to_string()))));
            let parsed = Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(&format!("SELECT {lowered}"))
                .and_then(|mut p| p.parse_statements());
            assert!(parsed.is_ok(), "{text:?} → {lowered}");
            assert!(!lowered.contains("{now}"), "{lowered}");
        }
        assert_eq!(sql(&e(Node::Literal(Literal::String("it's".into())))), "'it''s'");
    }

    #[test]
    fn a_long_chain_lowers_without_recursing_per_operator() {
        let rest =
            (0..crate::syntax::limits::MAX_OPERATORS).map(|_| (BinaryOp::Add, col("a"))).collect();
        let long = chain(col("a"), rest);
        let text = sql(&long);
        assert!(text.starts_with("f.a + f.a + f.a") && !text.contains('('));
    }
}
