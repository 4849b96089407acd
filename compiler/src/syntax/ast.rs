//! The syntax tree: what a `.tally` file says, with a [`Span`] on every node.
//!
//! The tree is deliberately permissive where a closed list of words is involved (column types,
//! time units, weekdays, formats, PII classes, mart kinds): the grammar takes any name there and
//! the semantic stage checks it, so the diagnostic can list the valid words and suggest the
//! nearest one instead of a bare "expected ...". Everything the formatter needs to print the file
//! again is here; comments are kept apart (see [`crate::format`]).

use crate::span::Span;
use serde::Serialize;

/// One parsed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Module {
    pub declarations: Vec<Declaration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `a`, `a.b`, `a.b.c`: a reference resolved by the semantic stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    /// The path as written, `a.b.c`.
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

/// A string literal; `value` has its escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringLit {
    pub value: String,
    pub span: Span,
}

/// A whole number. One that does not fit in 64 bits is reported (T0111) and kept as `u64::MAX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Int {
    pub value: u64,
    pub span: Span,
}

/// `6 years`, `15 minutes`: an amount and a unit (checked by the semantic stage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duration {
    pub amount: Int,
    pub unit: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclKind {
    Source,
    Dimension,
    Calendar,
    Retention,
    Mart,
    Metric,
    Report,
    Role,
    /// `users { attributes { ... } }`: what users carry; the one declaration without a name.
    Users,
}

impl DeclKind {
    pub const ALL: [DeclKind; 9] = [
        DeclKind::Source,
        DeclKind::Dimension,
        DeclKind::Calendar,
        DeclKind::Retention,
        DeclKind::Mart,
        DeclKind::Metric,
        DeclKind::Report,
        DeclKind::Role,
        DeclKind::Users,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Source => "source",
            DeclKind::Dimension => "dimension",
            DeclKind::Calendar => "calendar",
            DeclKind::Retention => "retention",
            DeclKind::Mart => "mart",
            DeclKind::Metric => "metric",
            DeclKind::Report => "report",
            DeclKind::Role => "role",
            DeclKind::Users => "users",
        }
    }

    /// Whether the keyword is followed by a name. `users` is not: a project describes its
    /// users once.
    pub fn named(self) -> bool {
        self != DeclKind::Users
    }

    pub fn from_keyword(word: &str) -> Option<DeclKind> {
        DeclKind::ALL.into_iter().find(|k| k.keyword() == word)
    }
}

/// A top-level declaration: `source seacats { ... }` or `metric rate = a / b`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Declaration {
    pub kind: DeclKind,
    /// `///` lines before the declaration, without the slashes and one leading space.
    pub docs: Vec<String>,
    /// The declaration's name. A declaration without one (`users`, see [`DeclKind::named`])
    /// has its keyword here, so messages and spans have something to point at; it is not a
    /// name of the project's namespace.
    pub name: Ident,
    pub body: Body,
    /// First words of the block's lines that could not be read (each already reported), so
    /// later stages do not also call those properties missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// `{ ... }`: properties in the order written (the formatter keeps the order).
    Block(Vec<Property>),
    /// `metric name = expr`: a derived metric in one line.
    Expr(Expr),
}

/// One line (or block) inside a declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    pub value: PropertyValue,
    /// The property's keyword (`title`, `refresh`, ...).
    pub keyword: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyValue {
    // Shared by several blocks.
    Title(StringLit),
    Description(StringLit),
    Owner(StringLit),
    Metrics(Vec<Ident>),
    By(Vec<Path>),
    Grain(Ident),
    // source
    Refresh(Schedule),
    Landing(Landing),
    Load(LoadMode),
    Key(Vec<Ident>),
    Retain(Retain),
    Retention(Ident),
    Columns(Vec<Column>),
    // dimension
    From(Ident),
    Level(Level),
    Hierarchy(Vec<Ident>),
    // calendar
    FiscalYearStart {
        month: Ident,
        day: Option<Int>,
    },
    WeekStart(Ident),
    Grains(Vec<Ident>),
    Timezone(StringLit),
    // retention
    FollowSource,
    Keep(Duration),
    Archive(Duration),
    // mart
    Kind(Ident),
    Dimensions(Vec<Path>),
    Drill {
        source: Ident,
        columns: Vec<Ident>,
    },
    // metric
    Unit(Unit),
    Measure {
        expr: Expr,
        filter: Option<Expr>,
    },
    Time(Path),
    Top {
        count: Int,
        by: Path,
    },
    /// `compare [whole] previous <grain> [to date]`: `whole` and `to_date` are where those
    /// words are, when written (the semantic stage wants exactly one of them).
    Compare {
        grain: Ident,
        whole: Option<Marker>,
        to_date: Option<Marker>,
    },
    Window(WindowSpec),
    /// `target <grain>`: a target set per `<grain>`.
    Target(Ident),
    Buckets {
        expr: Expr,
        edges: Vec<Expr>,
    },
    Per {
        keys: Vec<Path>,
        having: Expr,
    },
    Format(Ident),
    // report
    Mart(Ident),
    // role
    Marts(Vec<Ident>),
    Reports(Vec<Ident>),
    Scope(Scope),
    Allow(Vec<Ident>),
    MinCellSize(Int),
    // users
    Attributes(Vec<Attribute>),
}

impl PropertyValue {
    /// The keyword that introduces the property.
    pub fn keyword(&self) -> &'static str {
        use PropertyValue as P;
        match self {
            P::Title(_) => "title",
            P::Description(_) => "description",
            P::Owner(_) => "owner",
            P::Metrics(_) => "metrics",
            P::By(_) => "by",
            P::Grain(_) => "grain",
            P::Refresh(_) => "refresh",
            P::Landing(_) => "landing",
            P::Load(_) => "load",
            P::Key(_) => "key",
            P::Retain(_) => "retain",
            P::Retention(_) => "retention",
            P::Columns(_) => "columns",
            P::From(_) => "from",
            P::Level(_) => "level",
            P::Hierarchy(_) => "hierarchy",
            P::FiscalYearStart { .. } => "fiscal_year_start",
            P::WeekStart(_) => "week_start",
            P::Grains(_) => "grains",
            P::Timezone(_) => "timezone",
            P::FollowSource => "follow",
            P::Keep(_) => "keep",
            P::Archive(_) => "archive",
            P::Kind(_) => "kind",
            P::Dimensions(_) => "dimensions",
            P::Drill { .. } => "drill",
            P::Unit(_) => "unit",
            P::Measure { .. } => "measure",
            P::Time(_) => "time",
            P::Top { .. } => "top",
            P::Compare { .. } => "compare",
            P::Window(_) => "window",
            P::Target(_) => "target",
            P::Buckets { .. } => "buckets",
            P::Per { .. } => "per",
            P::Format(_) => "format",
            P::Mart(_) => "mart",
            P::Marts(_) => "marts",
            P::Reports(_) => "reports",
            P::Scope(_) => "scope",
            P::Allow(_) => "allow",
            P::MinCellSize(_) => "min_cell_size",
            P::Attributes(_) => "attributes",
        }
    }

    /// Properties that may appear more than once in a block.
    pub fn repeatable(&self) -> bool {
        matches!(self, PropertyValue::Level(_) | PropertyValue::Hierarchy(_))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `every 15 minutes`, `every 2 hours`.
    Every {
        amount: Int,
        unit: Ident,
    },
    Hourly,
    /// `daily`, `daily at 06:00`.
    Daily {
        at: Option<ClockTime>,
    },
    /// `weekly on sunday`, `weekly on monday at 02:30`.
    Weekly {
        day: Ident,
        at: Option<ClockTime>,
    },
    Cron(StringLit),
}

/// `HH:MM` as written; range-checked by the semantic stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockTime {
    pub hour: u32,
    pub minute: u32,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Landing {
    pub pattern: StringLit,
    pub format: Ident,
    pub options: Vec<LandingOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LandingOption {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// Each file is the whole table; keys missing from it were deleted upstream.
    Snapshot,
    /// Each file holds new rows only; rows never change. With a delete marker, a row whose
    /// marker is true deletes its key (a correction is a deletion, then the corrected row).
    Append { delete_marker: Option<Ident> },
    /// Rows newer than the watermark on this column are upserted by key; with a `lookback`,
    /// rows up to that long before the watermark too; with a delete marker, a row whose
    /// marker is true deletes its key.
    Incremental { by: Ident, lookback: Option<Duration>, delete_marker: Option<Ident> },
    /// Change data capture: upserts by key; a true delete marker deletes.
    Cdc { delete_marker: Ident },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retain {
    /// `retain 6 years [by column]`.
    Period {
        period: Duration,
        by: Option<Ident>,
    },
    Forever,
}

/// A column and its modifiers. Each modifier has one slot, so the tree does not depend on the
/// order they were written in (the formatter prints them in a fixed order); giving one twice is
/// reported by the lowering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub docs: Vec<String>,
    pub name: Ident,
    pub ty: ColumnType,
    /// `not null` or `null`; absent means nullable, except for key columns.
    pub nullability: Option<Nullability>,
    /// `-> location.port`
    pub reference: Option<Path>,
    /// `pii(name, birth_date)`
    pub pii: Option<Pii>,
    /// `default <expr>`
    pub default: Option<Expr>,
    pub span: Span,
}

/// `string`, `decimal(12, 3)`, `enum(drug, currency)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnType {
    pub name: Ident,
    pub args: Vec<TypeArg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeArg {
    Int(Int),
    Name(Ident),
    String(StringLit),
}

impl TypeArg {
    pub fn span(&self) -> Span {
        match self {
            TypeArg::Int(i) => i.span,
            TypeArg::Name(n) => n.span,
            TypeArg::String(s) => s.span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Nullability {
    pub not_null: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pii {
    pub classes: Vec<Ident>,
    pub span: Span,
}

/// A user attribute: `region string -> geography.region`. Like a column without modifiers
/// other than the reference: users are rows of the policy tables, not landed data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub docs: Vec<String>,
    pub name: Ident,
    pub ty: ColumnType,
    /// `-> geography.region`: the dimension level whose member keys the values are.
    pub reference: Option<Path>,
    pub span: Span,
}

/// `level port key port_code label port_name`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub docs: Vec<String>,
    pub name: Ident,
    pub key: Option<Ident>,
    pub label: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Name(Ident),
    Text(StringLit),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    National {
        span: Span,
    },
    /// `location.port = user.port`: rows whose level matches the user's attribute.
    Bound {
        level: Path,
        attribute: Path,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    Literal(Literal),
    Path(Path),
    Call {
        function: Ident,
        distinct: bool,
        star: bool,
        args: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// `a + b - c`, `a * b / c`, `a and b and c`, `a or b`: operands of one precedence level,
    /// combined left to right. A chain is a list rather than nested pairs, so a sum of
    /// thousands of terms is as shallow as a sum of two: no pass over the tree recurses once
    /// per operator.
    Chain {
        first: Box<Expr>,
        rest: Vec<Link>,
    },
    /// `a = b`, `a < b`, ...: a comparison, which does not chain (`a < b < c` is no
    /// expression).
    Binary {
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
    /// Kept so the formatter prints the parentheses the author wrote.
    Paren(Box<Expr>),
}

/// One step of a [`ExprKind::Chain`]: the operator and the operand after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub op: BinaryOp,
    pub operand: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    /// Whether the operator compares two values (and so forms an [`ExprKind::Binary`]); the
    /// others chain.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    /// Digits as written; the semantic stage checks the range.
    Int(String),
    Decimal(String),
    /// `3%`: the digits before the `%`.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    pub fn from_word(word: &str) -> Option<TimeUnit> {
        Some(match word.trim_end_matches('s') {
            "minute" => TimeUnit::Minute,
            "hour" => TimeUnit::Hour,
            "day" => TimeUnit::Day,
            "week" => TimeUnit::Week,
            "month" => TimeUnit::Month,
            "year" => TimeUnit::Year,
            _ => return None,
        })
    }

    /// The word for `amount` of this unit: `1 hour`, `24 hours`.
    pub fn word(self, amount: u64) -> &'static str {
        let (one, many) = match self {
            TimeUnit::Minute => ("minute", "minutes"),
            TimeUnit::Hour => ("hour", "hours"),
            TimeUnit::Day => ("day", "days"),
            TimeUnit::Week => ("week", "weeks"),
            TimeUnit::Month => ("month", "months"),
            TimeUnit::Year => ("year", "years"),
        };
        if amount == 1 {
            one
        } else {
            many
        }
    }
}

/// Words written for their presence alone (`whole`, `to date` of `compare`): where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub span: Span,
}

/// `window to date <grain>` | `window last <duration>`: which rows a cell's value is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSpec {
    ToDate(Ident),
    Last(Duration),
}
