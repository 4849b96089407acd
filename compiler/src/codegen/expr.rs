//! DSL expressions → SQL expressions.
//!
//! One translation serves measures, `where` filters, bucket expressions, `having` conditions
//! and derived-metric formulas; [`ExprSql`] says where column values come from (a row alias),
//! whether aggregates run as window functions (for `per ... having`), and how a metric name is
//! read (for derived metrics). Every operator is parenthesized, so DSL precedence survives
//! whatever the engine's precedence is.
//!
//! Semantics chosen here, identical on every engine:
//!
//! - `/` divides exactly and a zero divisor gives NULL: `CAST(a AS DECIMAL(38, 6)) /
//!   NULLIF(b, 0)` (PostgreSQL would otherwise divide integers as integers).
//! - `share(c)` is `AVG(CASE WHEN c THEN 1.0 ELSE 0.0 END)`: a row where `c` has no value
//!   counts as not meeting it.
//! - `age(t)` is `{now} - CAST(t AS TIMESTAMP)`, an interval; durations are intervals.
//! - Percentages are exact decimals (`3%` is `0.03`).

use super::dialect::Dialect;
use super::schema::SqlType;
use super::templates::text_literal;
use crate::semantic::Function;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind, Literal, TimeUnit};

/// The type exact division and rounding compute in.
pub const EXACT: SqlType = SqlType::Decimal { precision: 38, scale: 6 };

/// How a derived metric's formula reads one of its inputs.
pub type ReadMetric<'a> = dyn Fn(&str) -> Option<String> + 'a;

pub struct ExprSql<'a> {
    pub dialect: &'a dyn Dialect,
    /// The alias whose columns `source.column` reads (`f` → `f.seizure_date`).
    pub row: &'a str,
    /// When set, aggregates are window functions over this window (`PARTITION BY ...`).
    pub window: Option<&'a str>,
    /// When set, aggregates read only the rows meeting this condition (`FILTER (WHERE ...)`).
    pub filter: Option<&'a str>,
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

impl ExprSql<'_> {
    pub fn expr(&self, e: &Expr) -> Result<String, String> {
        Ok(match &e.kind {
            ExprKind::Literal(literal) => self.literal(literal)?,
            ExprKind::Path(path) => {
                let names: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
                match names.as_slice() {
                    [_source, column] => {
                        format!("{}.{}", self.row, self.dialect.quote_ident(column))
                    }
                    [metric] => self.metric.and_then(|read| read(metric)).ok_or_else(|| {
                        format!("`{metric}` is not a metric this expression may read")
                    })?,
                    _ => {
                        return Err(format!(
                            "unexpected path `{}` in an expression",
                            names.join(".")
                        ))
                    }
                }
            }
            ExprKind::Call { function, distinct, star, args } => {
                let f = Function::from_word(&function.name)
                    .ok_or_else(|| format!("unknown function `{}`", function.name))?;
                self.call(f, *distinct, *star, args)?
            }
            ExprKind::Neg(inner) => format!("(-{})", self.expr(inner)?),
            ExprKind::Not(inner) => format!("(NOT {})", self.expr(inner)?),
            ExprKind::Binary { op, left, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                match op {
                    BinaryOp::Div => {
                        format!("(CAST({l} AS {}) / NULLIF({r}, 0))", self.dialect.type_name(EXACT))
                    }
                    _ => format!("({l} {} {r})", binary(*op)),
                }
            }
            ExprKind::IsNull { expr, negated } => {
                format!("({} IS {}NULL)", self.expr(expr)?, not(*negated))
            }
            ExprKind::InList { expr, list, negated } => {
                let items: Result<Vec<String>, String> =
                    list.iter().map(|i| self.expr(i)).collect();
                format!("({} {}IN ({}))", self.expr(expr)?, not(*negated), items?.join(", "))
            }
            ExprKind::Between { expr, low, high, negated } => format!(
                "({} {}BETWEEN {} AND {})",
                self.expr(expr)?,
                not(*negated),
                self.expr(low)?,
                self.expr(high)?
            ),
            ExprKind::Like { expr, pattern, negated } => {
                format!("({} {}LIKE {})", self.expr(expr)?, not(*negated), self.expr(pattern)?)
            }
            ExprKind::Paren(inner) => self.expr(inner)?,
        })
    }

    fn call(
        &self,
        f: Function,
        distinct: bool,
        star: bool,
        args: &[Expr],
    ) -> Result<String, String> {
        let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect::<Result<_, _>>()?;
        let one =
            || args.first().cloned().ok_or_else(|| format!("`{}` without an argument", f.word()));
        let aggregate = |text: String| {
            let text = match self.filter {
                Some(filter) => format!("{text} FILTER (WHERE {filter})"),
                None => text,
            };
            match self.window {
                Some(window) => format!("{text} OVER ({window})"),
                None => text,
            }
        };
        Ok(match f {
            Function::Count if star => aggregate("COUNT(*)".to_string()),
            Function::Count if distinct => aggregate(format!("COUNT(DISTINCT {})", one()?)),
            Function::Count => aggregate(format!("COUNT({})", one()?)),
            Function::Sum => aggregate(format!("SUM({})", one()?)),
            Function::Avg => aggregate(format!("AVG({})", one()?)),
            Function::Min => aggregate(format!("MIN({})", one()?)),
            Function::Max => aggregate(format!("MAX({})", one()?)),
            Function::Share => {
                aggregate(format!("AVG(CASE WHEN {} THEN 1.0 ELSE 0.0 END)", one()?))
            }
            Function::Age => format!("({{now}} - CAST({} AS TIMESTAMP))", one()?),
            Function::Now => "{now}".to_string(),
            Function::Coalesce => format!("COALESCE({})", args.join(", ")),
            Function::Lower => format!("lower({})", one()?),
            Function::Upper => format!("upper({})", one()?),
            Function::Abs => format!("abs({})", one()?),
            Function::Round => {
                let exact = format!("CAST({} AS {})", one()?, self.dialect.type_name(EXACT));
                match args.get(1) {
                    Some(digits) => format!("round({exact}, {digits})"),
                    None => format!("round({exact})"),
                }
            }
        })
    }

    fn literal(&self, literal: &Literal) -> Result<String, String> {
        Ok(match literal {
            Literal::Int(digits) | Literal::Decimal(digits) => digits.clone(),
            Literal::Percent(digits) => percent(digits)?,
            Literal::Duration { amount, unit } => interval(*amount, *unit),
            Literal::String(text) => text_literal(text),
            Literal::Bool(true) => "TRUE".to_string(),
            Literal::Bool(false) => "FALSE".to_string(),
            Literal::Null => "NULL".to_string(),
        })
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

fn binary(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Or => "OR",
        BinaryOp::And => "AND",
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
    }
}

/// `INTERVAL '24 hours'`. Weeks are written as days, which every engine reads the same way.
pub fn interval(amount: u64, unit: TimeUnit) -> String {
    let (amount, unit) = match unit {
        TimeUnit::Week => (amount.saturating_mul(7), TimeUnit::Day),
        other => (amount, other),
    };
    format!("INTERVAL '{amount} {}'", unit.word(amount))
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

/// Whether an aggregate over no rows means zero (`count`, `sum` and sums of them), so a cell
/// where the metric has no rows reads as 0 in a derived formula rather than as no value.
pub fn is_additive(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { function, .. } => {
            matches!(Function::from_word(&function.name), Some(Function::Count | Function::Sum))
        }
        ExprKind::Binary { op: BinaryOp::Add | BinaryOp::Sub, left, right } => {
            is_additive(left) && is_additive(right)
        }
        ExprKind::Paren(inner) | ExprKind::Neg(inner) => is_additive(inner),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(interval(1, TimeUnit::Month), "INTERVAL '1 month'");
    }
}
