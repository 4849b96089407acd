//! Expressions as the model holds them: resolved and typed, the form code generation reads.
//!
//! The resolver builds an [`Expr`] from each expression of the syntax tree
//! ([`ast::Expr`](crate::syntax::ast::Expr)), and the type checker ([`super::types`]) gives
//! every node its [`Type`]. Compared with the syntax tree:
//!
//! - **Names are resolved.** A column is [`Node::Column`]: its source and column, spelled out,
//!   so a column read from another source (through a link, later) is just another source
//!   name. A metric read by a derived metric's formula is [`Node::Metric`].
//! - **Functions are known.** An aggregate is a node kind of its own ([`Node::Aggregate`]):
//!   code generation groups, filters and windows aggregates, which it never does to a scalar
//!   function ([`Node::Call`]). Both name their [`Function`].
//! - **Literals are values**: whole numbers are `i64`, decimals keep their exact digits.
//! - **No parentheses.** The shape of the tree is the grouping; code generation writes the
//!   parentheses the target language needs (see `codegen::expr`). A node keeps the span of
//!   the parentheses that were around it, so diagnostics point at what was written.
//! - **Chains stay flat** ([`Node::Chain`]): a sum of thousands of terms is one node with a
//!   list, so no pass recurses once per operator.
//!
//! What did not resolve is [`Node::Invalid`] (already reported), holding the parts that did,
//! and a node whose type could not be found has no [`Expr::ty`]. Neither occurs in an
//! error-free model, which is the only kind code generation is given.
//!
//! **Growing it.** A new kind of expression (a share of a total, a percentile, a window, a
//! duration between two events) is a new [`Node`] variant with its own typing rule in
//! [`super::types`] and its own lowering in `codegen::expr`. [`Expr::children`] lists the
//! sub-expressions of every node, so passes that only look for something (the columns an
//! expression reads, its aggregates) keep working unchanged; [`Expr::walk`] visits a whole tree
//! without recursion.

use super::model::{Axis, ColumnRef, Function, NameRef, Type};
use crate::span::Span;
use crate::syntax::ast::{BinaryOp, TimeUnit};
use serde::Serialize;

/// A resolved expression and its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    #[serde(flatten)]
    pub node: Node,
    /// Set by the type checker; `None` when it could not be found (an error was reported).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<Type>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Literal(Literal),
    /// A column of a source, as each row has it.
    Column(ColumnRef),
    /// A metric's value in the cell, in a derived metric's formula.
    Metric(NameRef),
    /// `total(m, location)`: metric `m` in the cell's total over the axes named, in a derived
    /// metric's formula (the denominator of a share).
    Total(Total),
    /// An aggregate over the rows of a cell.
    Aggregate(Aggregate),
    /// A scalar function: `age(x)`, `coalesce(a, b)`, `round(x, 2)`.
    Call {
        function: Function,
        args: Vec<Expr>,
    },
    /// `-x`
    Neg(Box<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// Operands combined left to right: `a + b - c` is `(a + b) - c`. The syntax only chains
    /// operators of one precedence level (`+ -`, `* /`, `and`, `or`); a chain means the left
    /// fold whatever its operators.
    Chain {
        first: Box<Expr>,
        rest: Vec<Link>,
    },
    /// `a = b`, `a < b`, ...
    Compare {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    /// Something that did not resolve (an unknown name or function, a call of the wrong
    /// shape), with the parts of it that did, so they are still checked.
    Invalid(Vec<Expr>),
}

/// `total(m, axis, ...)`: the value of `m` in the cell that has the same coordinates but for
/// the named axes: a dimension is rolled up whole, a level keeps that level and those above
/// it (`location.field_office`: the cell's field office), a column is rolled up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    pub metric: NameRef,
    pub over: Vec<Axis>,
}

impl Total {
    /// A name for the total among a formula's inputs: `total(m; location, x.kind)`.
    pub fn key(&self) -> String {
        let axes: Vec<String> = self
            .over
            .iter()
            .map(|a| match a {
                Axis::Dimension { dimension, .. } => dimension.clone(),
                Axis::Level { dimension, level, .. } => format!("{dimension}.{level}"),
                Axis::Time { .. } => "time".to_string(),
                Axis::Column { source, column, .. } => format!("{source}.{column}"),
            })
            .collect();
        format!("total({}; {})", self.metric.name, axes.join(", "))
    }
}

/// One step of a [`Node::Chain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub op: BinaryOp,
    pub operand: Expr,
}

/// `count(*)`, `count(distinct x)`, `sum(x)`, `share(condition)`, ...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    /// One of the functions that [aggregate](Function::is_aggregate).
    pub function: Function,
    /// `count(distinct x)`.
    pub distinct: bool,
    /// `None` for `count(*)`, which counts rows.
    pub arg: Option<Box<Expr>>,
    /// For a percentile, the fraction as an exact decimal from 0 to 1 (`"0.9"`; `"0.5"` for a
    /// median).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<String>,
}

impl Aggregate {
    /// Whether this is a percentile or median.
    pub fn is_percentile(&self) -> bool {
        self.function.is_percentile()
    }
}

/// A constant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    Int(i64),
    /// The digits as written (`12.50`): decimals are exact.
    Decimal(String),
    /// `3%`: the digits before `%`. Its value is the exact decimal a hundred times smaller.
    Percent(String),
    /// `24 hours`
    Duration {
        amount: u64,
        unit: TimeUnit,
    },
    String(String),
    Bool(bool),
    Null,
}

impl Literal {
    /// The type of the literal's value. Percentages are decimals (`3%` is `0.03`).
    pub fn ty(&self) -> Type {
        match self {
            Literal::Int(_) => Type::Int,
            Literal::Decimal(_) | Literal::Percent(_) => Type::Decimal(None),
            Literal::Duration { .. } => Type::Duration,
            Literal::String(_) => Type::String,
            Literal::Bool(_) => Type::Bool,
            Literal::Null => Type::Null,
        }
    }
}

impl Expr {
    /// An expression of `node` whose type is not known yet.
    pub fn untyped(node: Node, span: Span) -> Expr {
        Expr { node, ty: None, span }
    }

    /// The direct sub-expressions, in the order they were written.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.node {
            Node::Literal(_) | Node::Column(_) | Node::Metric(_) | Node::Total(_) => Vec::new(),
            Node::Aggregate(aggregate) => aggregate.arg.iter().map(Box::as_ref).collect(),
            Node::Call { args: parts, .. } | Node::Invalid(parts) => parts.iter().collect(),
            Node::Neg(inner) | Node::Not(inner) | Node::IsNull { expr: inner, .. } => {
                vec![inner]
            }
            Node::Chain { first, rest } => {
                let mut all: Vec<&Expr> = Vec::with_capacity(rest.len() + 1);
                all.push(first);
                all.extend(rest.iter().map(|link| &link.operand));
                all
            }
            Node::Compare { left, right, .. } | Node::Like { expr: left, pattern: right, .. } => {
                vec![left, right]
            }
            Node::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            Node::Between { expr, low, high, .. } => vec![expr, low, high],
        }
    }

    /// Calls `visit` on this node and every node below it, parents before their children and
    /// children in order. Iterative, so the depth of the tree costs no stack.
    pub fn walk<'e>(&'e self, mut visit: impl FnMut(&'e Expr)) {
        let mut stack: Vec<&'e Expr> = vec![self];
        while let Some(expr) = stack.pop() {
            visit(expr);
            stack.extend(expr.children().into_iter().rev());
        }
    }

    /// The columns the expression reads, in order.
    pub fn columns(&self) -> Vec<&ColumnRef> {
        let mut columns = Vec::new();
        self.walk(|e| {
            if let Node::Column(column) = &e.node {
                columns.push(column);
            }
        });
        columns
    }

    /// The aggregate this expression is, if it is one.
    pub fn as_aggregate(&self) -> Option<&Aggregate> {
        match &self.node {
            Node::Aggregate(aggregate) => Some(aggregate),
            _ => None,
        }
    }

    /// Whether the expression is `count(*)`.
    pub fn is_count_rows(&self) -> bool {
        self.as_aggregate().is_some_and(|a| a.function == Function::Count && a.arg.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str) -> Expr {
        let column = ColumnRef { source: "x".into(), column: name.into(), span: Span::default() };
        Expr::untyped(Node::Column(column), Span::default())
    }

    #[test]
    fn a_walk_visits_every_node_in_written_order_without_recursing() {
        // A chain of 100,000 operands nested in 1,000 `not`s: deep and wide.
        let mut expr = Expr::untyped(
            Node::Chain {
                first: Box::new(column("a")),
                rest: (0..100_000)
                    .map(|i| Link { op: BinaryOp::Add, operand: column(&format!("c{i}")) })
                    .collect(),
            },
            Span::default(),
        );
        for _ in 0..1_000 {
            expr = Expr::untyped(Node::Not(Box::new(expr)), Span::default());
        }
        let columns = expr.columns();
        assert_eq!(columns.len(), 100_001);
        assert_eq!(columns[0].column, "a");
        assert_eq!(columns[100_000].column, "c99999");
        let mut nodes = 0;
        expr.walk(|_| nodes += 1);
        assert_eq!(nodes, 1_000 + 1 + 100_001);
    }
}
