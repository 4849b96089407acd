//! The resolved model: what a project means once every name is resolved and every closed word
//! list, schedule and period is checked.
//!
//! This is the form code generation consumes. Three promises hold for it:
//!
//! - **Every name in it resolves.** A reference that did not resolve was reported and left out
//!   (a mart's unknown metric is not in [`Mart::metrics`]); a value that could not be read is
//!   `None` ([`Column::ty`] after an unknown type). A required property that is missing (always
//!   reported as `T0107`) is `None` or empty. Code generation only runs on an error-free model,
//!   so it may treat those as unreachable.
//! - **Closed word lists are enums** ([`ColumnType`], [`PiiClass`], [`Grain`], ...), normalized
//!   ([`Schedule`], [`Period`]), never strings to be re-parsed.
//! - **Order is deterministic**: maps are [`IndexMap`]s in project order (files in path order,
//!   declarations in file order), lists keep the order written. Nothing depends on hashing.
//!
//! Spans stay where later passes will point at the text: declaration names, columns, every
//! resolved reference ([`ColumnRef`], [`NameRef`], [`Axis`]). Every expression (a measure, a
//! `where` filter, buckets, a `having` condition, a derived metric's formula) is held
//! resolved and typed ([`Expr`], see [`super::expr`]), next to the references it reads.

use crate::span::Span;
use crate::syntax::ast;
use indexmap::IndexMap;
use serde::{Serialize, Serializer};

pub use super::expr::Expr;
pub use super::types::Type;
/// When a source is refreshed: the contract's type, checked once here and carried by the plan
/// (`hourly` is every 1 hour, `daily` is midnight, a cron expression is checked and fires).
pub use tally_contract::schedule::Schedule;

/// The resolved project.
#[derive(Debug, Default, Serialize)]
pub struct Model {
    pub sources: IndexMap<String, Source>,
    pub dimensions: IndexMap<String, Dimension>,
    /// The project's one calendar, declared or implicit (see [`Calendar::implicit`]).
    pub calendar: Calendar,
    pub retention_rules: IndexMap<String, RetentionRule>,
    pub marts: IndexMap<String, Mart>,
    pub metrics: IndexMap<String, Metric>,
    pub reports: IndexMap<String, Report>,
    pub roles: IndexMap<String, Role>,
    /// What users carry (the `users` block), in the order declared.
    pub user_attributes: IndexMap<String, UserAttribute>,
}

impl Model {
    /// A column of a source, when both exist.
    pub fn column(&self, source: &str, column: &str) -> Option<&Column> {
        self.sources.get(source)?.columns.get(column)
    }
}

/// What every declaration has: its name, where the name is, and its descriptive properties.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    pub name: String,
    /// The name in the declaration (`source seacats {` → `seacats`).
    pub span: Span,
    /// The `///` lines, joined with newlines.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docs: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A resolved reference to a declaration, with the span of the name where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameRef {
    pub name: String,
    pub span: Span,
}

/// A resolved `source.column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRef {
    pub source: String,
    pub column: String,
    pub span: Span,
}

/// A resolved `dimension.level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelRef {
    pub dimension: String,
    pub level: String,
    pub span: Span,
}

// ---------------------------------------------------------------- closed word lists

/// Defines an enum whose values are written as fixed words in `.tally` files, with the list of
/// words (for "did you mean") and a serialization as the word itself.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The words, in the order of [`Self::ALL`].
            pub const WORDS: &'static [&'static str] = &[$($word,)*];

            pub fn word(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                }
            }

            pub fn from_word(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.word())
            }
        }
    };
}

words! {
    /// What kind of personal data a column holds (`pii(name, birth_date)`). The list is closed so
    /// that policy and privacy reviews can rely on it.
    PiiClass {
        Name = "name",
        BirthDate = "birth_date",
        DocumentNumber = "document_number",
        Address = "address",
        Phone = "phone",
        Email = "email",
        Gender = "gender",
        Nationality = "nationality",
        Biometric = "biometric",
        GovernmentId = "government_id",
        FinancialAccount = "financial_account",
        VehicleId = "vehicle_id",
        TravelRecord = "travel_record",
        EmployeeId = "employee_id",
        FreeText = "free_text",
        Location = "location",
    }
}

words! {
    /// A level of the time dimension, finest first.
    Grain {
        QuarterHour = "quarter_hour",
        Hour = "hour",
        Day = "day",
        Week = "week",
        Month = "month",
        Quarter = "quarter",
        Year = "year",
        FiscalQuarter = "fiscal_quarter",
        FiscalYear = "fiscal_year",
    }
}

words! {
    Weekday {
        Monday = "monday",
        Tuesday = "tuesday",
        Wednesday = "wednesday",
        Thursday = "thursday",
        Friday = "friday",
        Saturday = "saturday",
        Sunday = "sunday",
    }
}

words! {
    Month {
        January = "january",
        February = "february",
        March = "march",
        April = "april",
        May = "may",
        June = "june",
        July = "july",
        August = "august",
        September = "september",
        October = "october",
        November = "november",
        December = "december",
    }
}

impl Weekday {
    /// The same day as the contract (`plan.json`, schedules) names it.
    pub fn to_contract(self) -> tally_contract::schedule::Weekday {
        use tally_contract::schedule::Weekday as W;
        match self {
            Weekday::Monday => W::Monday,
            Weekday::Tuesday => W::Tuesday,
            Weekday::Wednesday => W::Wednesday,
            Weekday::Thursday => W::Thursday,
            Weekday::Friday => W::Friday,
            Weekday::Saturday => W::Saturday,
            Weekday::Sunday => W::Sunday,
        }
    }
}

impl PiiClass {
    /// Gender and nationality describe groups of people rather than pick one out. Reports may
    /// cut and filter by them (*Top 10 Nationalities*); every other class identifies a person
    /// directly and may only be counted. See [`super::pii`].
    pub fn is_demographic(self) -> bool {
        matches!(self, PiiClass::Gender | PiiClass::Nationality)
    }
}

impl Month {
    /// The last day a fiscal year may start on. February stops at 28 so that the start exists
    /// every year.
    pub fn last_day(self) -> u8 {
        match self {
            Month::February => 28,
            Month::April | Month::June | Month::September | Month::November => 30,
            _ => 31,
        }
    }
}

words! {
    /// How landed files are read by the engine's bulk loader.
    LandingFormat {
        Csv = "csv",
        Jsonl = "jsonl",
        Parquet = "parquet",
        Xlsx = "xlsx",
    }
}

words! {
    MartKind {
        Dashboard = "dashboard",
        SubjectArea = "subject_area",
    }
}

words! {
    /// How a metric's values are displayed.
    MetricFormat {
        Number = "number",
        Percent = "percent",
        Currency = "currency",
        Duration = "duration",
    }
}

words! {
    /// What a role may do beyond reading its marts and reports (`allow drill_down, ad_hoc`).
    Privilege {
        /// See the rows behind an aggregate (a mart's `drill` columns).
        DrillDown = "drill_down",
        /// Ask questions the published reports do not answer.
        AdHoc = "ad_hoc",
    }
}

words! {
    /// Functions an expression may call: aggregates first, then scalar functions.
    Function {
        Count = "count",
        Sum = "sum",
        Avg = "avg",
        Min = "min",
        Max = "max",
        /// The fraction of rows for which a condition holds.
        Share = "share",
        /// The exact median: `percentile(x, 50%)`.
        Median = "median",
        /// The exact percentile, interpolated between the two nearest values.
        Percentile = "percentile",
        /// The exact percentile, the first value at or past the fraction (a value of the data).
        PercentileDisc = "percentile_disc",
        /// An approximate median, where the engine has one.
        ApproxMedian = "approx_median",
        /// An approximate percentile, where the engine has one.
        ApproxPercentile = "approx_percentile",
        /// Time elapsed since a timestamp.
        Age = "age",
        Now = "now",
        Coalesce = "coalesce",
        Lower = "lower",
        Upper = "upper",
        Abs = "abs",
        Round = "round",
        /// The calendar days of a cell's period, up to the refresh day while it has not
        /// ended; derived metrics only.
        CalendarDays = "calendar_days",
    }
}

impl Function {
    /// Whether the function aggregates rows (the type checker needs it).
    pub fn is_aggregate(self) -> bool {
        matches!(
            self,
            Function::Count
                | Function::Sum
                | Function::Avg
                | Function::Min
                | Function::Max
                | Function::Share
                | Function::Median
                | Function::Percentile
                | Function::PercentileDisc
                | Function::ApproxMedian
                | Function::ApproxPercentile
        )
    }

    /// Whether the function is a percentile (the median included): not additive, so its
    /// values never add up, cumulate or divide into per-day rates.
    pub fn is_percentile(self) -> bool {
        matches!(
            self,
            Function::Median
                | Function::Percentile
                | Function::PercentileDisc
                | Function::ApproxMedian
                | Function::ApproxPercentile
        )
    }

    /// Whether the function is an approximation, which only some engines compute.
    pub fn is_approximate(self) -> bool {
        matches!(self, Function::ApproxMedian | Function::ApproxPercentile)
    }

    /// Whether the function takes the fraction as a second argument (`percentile(x, 90%)`).
    pub fn takes_fraction(self) -> bool {
        matches!(self, Function::Percentile | Function::PercentileDisc | Function::ApproxPercentile)
    }
}

// ---------------------------------------------------------------- sources

#[derive(Debug, Clone, Default, Serialize)]
pub struct Source {
    #[serde(flatten)]
    pub meta: Meta,
    pub refresh: Option<Schedule>,
    pub landing: Option<Landing>,
    pub load: Option<LoadMode>,
    /// Key columns, in the order written. Every key column is not null.
    pub key: Vec<String>,
    pub retention: SourceRetention,
    pub columns: IndexMap<String, Column>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Landing {
    /// The glob landed files match, as written.
    pub pattern: String,
    pub format: LandingFormat,
    /// Present exactly when `format` is CSV (defaults filled in).
    pub csv: Option<CsvOptions>,
    /// Present exactly when `format` is xlsx (defaults filled in).
    pub xlsx: Option<XlsxOptions>,
}

/// `landing "x/*.xlsx" as xlsx (sheet = "Fear claims", skip = 2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct XlsxOptions {
    /// The sheet by name; `None`: the first sheet.
    pub sheet: Option<String>,
    /// Rows above the header row.
    pub skip: u64,
}

/// `landing "x/*.csv" as csv (delimiter = "|", header = false)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvOptions {
    pub delimiter: char,
    pub header: bool,
    pub quote: char,
    /// The text that stands for a null value.
    pub null: String,
    /// Lines skipped at the top of each file.
    pub skip: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: ',', header: true, quote: '"', null: String::new(), skip: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    Snapshot,
    /// Adds rows; a row never changes. With `delete_marker`, a row whose marker is true
    /// deletes its key.
    Append {
        delete_marker: Option<String>,
    },
    /// Upserts rows newer than the watermark on this column; with `lookback_minutes`, rows up
    /// to that many minutes older than the watermark too. Older rows are skipped as late.
    /// With `delete_marker`, a row whose marker is true deletes its key.
    Incremental {
        by: String,
        lookback_minutes: Option<u64>,
        delete_marker: Option<String>,
    },
    /// Upserts by key; a row whose `delete_marker` (a bool column) is true is deleted.
    Cdc {
        delete_marker: String,
    },
}

impl LoadMode {
    /// The bool column whose true value deletes a row's key, in any mode that has one.
    pub fn delete_marker(&self) -> Option<&str> {
        match self {
            LoadMode::Snapshot => None,
            LoadMode::Append { delete_marker } | LoadMode::Incremental { delete_marker, .. } => {
                delete_marker.as_deref()
            }
            LoadMode::Cdc { delete_marker } => Some(delete_marker),
        }
    }
}

/// A source's own retention (`retain`) and the rule it follows (`retention`); both may be given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceRetention {
    pub keep: Option<Keep>,
    /// The column whose age decides (`retain 6 years by seizure_date`); `None` means load time.
    pub by: Option<String>,
    /// A retention rule's name.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    Forever,
    For(Period),
}

/// A retention period in a normalized unit: weeks become days, years become months, so that
/// equal periods compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Days(u64),
    Months(u64),
}

impl Period {
    /// The shortest and longest number of days the period can span (months have 28 to 31).
    pub fn day_range(self) -> (u64, u64) {
        match self {
            Period::Days(d) => (d, d),
            Period::Months(m) => (m.saturating_mul(28), m.saturating_mul(31)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    pub span: Span,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docs: String,
    /// `None` when the type was invalid (reported).
    pub ty: Option<ColumnType>,
    /// Columns are nullable unless declared `not null` or part of the key.
    pub nullable: bool,
    /// Where the column was declared `null` in so many words (a key column may not be).
    #[serde(skip)]
    pub declared_null: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<LevelRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pii: Vec<PiiClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<ast::Literal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    String,
    Int,
    Decimal { precision: u8, scale: u8 },
    Bool,
    Date,
    Timestamp,
    Enum(Vec<String>),
}

// ---------------------------------------------------------------- dimensions and time

#[derive(Debug, Clone, Default, Serialize)]
pub struct Dimension {
    #[serde(flatten)]
    pub meta: Meta,
    /// The source that lists the dimension's members.
    pub from: Option<String>,
    pub levels: IndexMap<String, Level>,
    pub hierarchies: Vec<Hierarchy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub name: String,
    pub span: Span,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docs: String,
    /// A column of the dimension's `from` source.
    pub key: Option<String>,
    /// A column of the dimension's `from` source.
    pub label: Option<String>,
    /// Where `key` and `label` name their columns, for diagnostics about those columns.
    #[serde(skip)]
    pub key_span: Option<Span>,
    #[serde(skip)]
    pub label_span: Option<Span>,
}

/// `hierarchy national > region > clinic`: levels, coarsest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hierarchy {
    pub levels: Vec<String>,
    pub span: Span,
}

/// The calendar; its name is the name of the time dimension (`by time.fiscal_year`).
///
/// A project has at most one. Without a `calendar` declaration the project gets
/// [`Calendar::implicit`]: named `time`, fiscal year = calendar year (starts January 1), weeks
/// start on Monday (ISO 8601), every grain, UTC. A declared calendar fills the properties it
/// leaves out with the same defaults. The implicit calendar's name is taken only when no
/// declaration uses `time`: a `dimension time` would shadow it.
#[derive(Debug, Clone, Serialize)]
pub struct Calendar {
    pub name: String,
    /// The declaration's name; `None` for the implicit calendar.
    pub span: Option<Span>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docs: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fiscal_year_start: MonthDay,
    pub week_start: Weekday,
    /// The grains the time dimension offers, finest first.
    pub grains: Vec<Grain>,
    pub timezone: String,
}

impl Calendar {
    pub const IMPLICIT_NAME: &'static str = "time";

    pub fn implicit() -> Calendar {
        Calendar {
            name: Calendar::IMPLICIT_NAME.to_string(),
            span: None,
            docs: String::new(),
            title: None,
            description: None,
            fiscal_year_start: MonthDay { month: Month::January, day: 1 },
            week_start: Weekday::Monday,
            grains: Grain::ALL.to_vec(),
            timezone: "UTC".to_string(),
        }
    }

    pub fn has_grain(&self, grain: Grain) -> bool {
        self.grains.contains(&grain)
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::implicit()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MonthDay {
    pub month: Month,
    pub day: u8,
}

// ---------------------------------------------------------------- retention rules

/// `retention warehouse_standard { keep 7 years  archive 40 years }`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionRule {
    #[serde(flatten)]
    pub meta: Meta,
    /// `follow source`: a row deleted upstream leaves the live tables for the archive at once.
    pub follow_source: bool,
    /// How long rows stay in the live tables (required unless `follow source`).
    pub keep: Option<Period>,
    /// How long rows stay in the archive, counted like `keep`; at least `keep`.
    pub archive: Option<Period>,
}

// ---------------------------------------------------------------- marts, metrics, reports

/// Something a metric or report is cut by (`by`, `top ... by`, a mart's `dimensions`, `per`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "axis")]
pub enum Axis {
    /// `location`: the whole dimension, any of its levels.
    Dimension { dimension: String, span: Span },
    /// `location.port`
    Level { dimension: String, level: String, span: Span },
    /// `time` (any grain) or `time.month`: the calendar.
    Time { grain: Option<Grain>, span: Span },
    /// `seacats.seizure_type`: a column of the metric's source.
    Column { source: String, column: String, span: Span },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Mart {
    #[serde(flatten)]
    pub meta: Meta,
    pub kind: Option<MartKind>,
    pub metrics: Vec<NameRef>,
    pub dimensions: Vec<Axis>,
    pub grain: Option<Grain>,
    pub drill: Option<Drill>,
    /// The records schedule of its published cells (`retention <rule>`): cells of periods
    /// older than the rule's `keep` leave the mart for its archive, purged after `archive`.
    pub retention: Option<String>,
}

/// `drill seacats (seizure_id, seizure_date)`: the rows behind the mart's aggregates, for roles
/// allowed to drill down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drill {
    pub source: String,
    pub columns: Vec<String>,
    /// Where each of `columns` is named, in the same order.
    #[serde(skip)]
    pub column_spans: Vec<Span>,
    pub span: Span,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Metric {
    #[serde(flatten)]
    pub meta: Meta,
    /// The one source the metric reads its columns from; `None` for a derived metric.
    pub source: Option<String>,
    pub measure: Option<Measure>,
    /// The column that places a row in time.
    pub time: Option<ColumnRef>,
    pub by: Vec<Axis>,
    pub grain: Option<Grain>,
    pub top: Option<Top>,
    /// `compare previous fiscal_year to date`, `compare whole previous fiscal_year`
    pub compare: Option<Compare>,
    pub buckets: Option<Buckets>,
    pub per: Option<Per>,
    /// `window to date fiscal_year`, `window last 28 days`
    pub window: Option<Window>,
    /// `target month`: the metric is a target set per that grain (see [`super::targets`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Grain>,
    /// Where `target` is written.
    #[serde(skip)]
    pub target_span: Option<Span>,
    /// The unit as declared or, for a derived metric without `unit`, as carried through its
    /// formula (`kg / incidents` is `kg per incidents`; see [`super::types`]).
    pub unit: Option<String>,
    pub format: Option<MetricFormat>,
    /// The type of the metric's values, set by the type checker; `None` when an error (or a
    /// cycle of derived metrics) left it unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<Type>,
}

impl Metric {
    /// Whether the metric combines other metrics (`metric rate = arrests / encounters`).
    pub fn is_derived(&self) -> bool {
        self.measure.as_ref().is_some_and(|m| !m.metrics.is_empty())
    }
}

/// `measure expr [where filter]`, or the expression of `metric name = expr`.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub expr: Expr,
    pub filter: Option<Expr>,
    /// Columns read by `expr` and `filter`, in order of appearance (repeats kept: each has
    /// its own span).
    pub columns: Vec<ColumnRef>,
    /// Metrics read by `expr` (a derived metric); never mixed with `columns`.
    pub metrics: Vec<NameRef>,
}

/// `compare previous <grain> to date` or `compare whole previous <grain>`: what each cell's
/// previous value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compare {
    /// How far back: one period of this grain (weeks look back whole weeks, see
    /// `tally_contract::period::compare_shift`).
    pub grain: Grain,
    pub kind: CompareKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareKind {
    /// The same span of the earlier period: a period that has not ended at the refresh is
    /// compared with the earlier period up to the same point (the refresh time moved back
    /// by the same shift); an ended period with the whole earlier one.
    ToDate,
    /// The whole earlier period, whether or not the compared period has ended.
    Whole,
}

impl CompareKind {
    /// How the plan names it.
    pub fn word(self) -> &'static str {
        match self {
            CompareKind::ToDate => "to_date",
            CompareKind::Whole => "whole",
        }
    }
}

/// Which rows a cell's value is over, instead of the rows dated in its own period: those of
/// a window that ends where the period ends (or at the refresh, while it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// `window to date <grain>`: from the start of the `<grain>` period the window ends in.
    ToDate(Grain),
    /// `window last <n> days|weeks|months|years`: that long before the window's end.
    Last(Period),
}

/// `top 10 by ats.nationality`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Top {
    pub count: u64,
    pub by: Axis,
}

/// `buckets age(seacats.seized_at) [24 hours, 72 hours]`: edges are literals.
#[derive(Debug, Clone, Serialize)]
pub struct Buckets {
    pub expr: Expr,
    pub edges: Vec<Expr>,
    pub columns: Vec<ColumnRef>,
}

/// `per awt.flight_id having share(awt.wait_minutes > 60) > 3%`
#[derive(Debug, Clone, Serialize)]
pub struct Per {
    pub keys: Vec<Axis>,
    pub having: Expr,
    pub columns: Vec<ColumnRef>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub meta: Meta,
    pub mart: Option<NameRef>,
    pub metrics: Vec<NameRef>,
    pub by: Vec<Axis>,
    pub grain: Option<Grain>,
}

// ---------------------------------------------------------------- users

/// An attribute users carry (`region string -> geography.region` in the `users` block): a
/// column of `policy_user`, which role scopes compare with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserAttribute {
    pub name: String,
    pub span: Span,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docs: String,
    /// `None` when the type was invalid (reported).
    pub ty: Option<ColumnType>,
    /// The dimension level whose member keys the values are; `None` for an attribute that
    /// names no member (a supervisor's user id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<LevelRef>,
    /// Where `-> dimension.level` is written, even when it did not resolve (reported), so a
    /// scope bound to the attribute is not also called unbound.
    #[serde(skip)]
    pub reference_span: Option<Span>,
}

impl UserAttribute {
    /// The columns `policy_user` has whatever the declaration: no attribute may take their
    /// names.
    pub const RESERVED: &'static [&'static str] =
        &["user_id", "created_at", "last_active_at", "disabled_at"];
}

// ---------------------------------------------------------------- roles

#[derive(Debug, Clone, Serialize)]
pub struct Role {
    #[serde(flatten)]
    pub meta: Meta,
    pub marts: Vec<NameRef>,
    pub metrics: Vec<NameRef>,
    pub reports: Vec<NameRef>,
    pub scope: Option<Scope>,
    pub allow: Vec<Privilege>,
    /// Aggregates over fewer rows are suppressed for this role.
    pub min_cell_size: u64,
}

impl Role {
    pub const DEFAULT_MIN_CELL_SIZE: u64 = 11;
}

impl Default for Role {
    fn default() -> Self {
        Role {
            meta: Meta::default(),
            marts: Vec::new(),
            metrics: Vec::new(),
            reports: Vec::new(),
            scope: None,
            allow: Vec::new(),
            min_cell_size: Role::DEFAULT_MIN_CELL_SIZE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every row.
    National,
    /// `scope geography.region = user.region`: rows whose member of the level is the user's
    /// value of the attribute (a declared [`UserAttribute`] that references the level).
    Bound { dimension: String, level: String, attribute: String, span: Span },
}
