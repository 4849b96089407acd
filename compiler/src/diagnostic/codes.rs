//! The registry of diagnostic codes.
//!
//! A code never changes meaning once released. `docs/diagnostics.md` is generated from this
//! table and from the error fixtures in `tests/fixtures/errors/` (one or more per code); a test
//! fails when the page is stale or a code has no fixture.
//!
//! Ranges: `T00xx` syntax, `T01xx` declarations, `T02xx` names, `T03xx` types, `T04xx` the
//! dependency graph, `T05xx` personal data, `T06xx` migrations, `T07xx` project files, `T08xx`
//! the synthetic-data profile (`gendata.yaml`), `T9xxx` internal errors.

use serde::{Serialize, Serializer};
use std::fmt;

/// A stable diagnostic code such as `T0203`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Code(pub &'static str);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// The documentation of one code.
#[derive(Debug)]
pub struct CodeInfo {
    pub code: Code,
    /// Kebab-case name, e.g. `unknown-column-type`.
    pub name: &'static str,
    /// What it means and why it matters (Markdown).
    pub explanation: &'static str,
    /// How to fix it (Markdown).
    pub fix: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $code:literal, $name:literal, $explanation:literal, $fix:literal;)*) => {
        $(pub const $konst: Code = Code($code);)*
        /// Every code, in code order.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: $konst, name: $name, explanation: $explanation, fix: $fix },)*
        ];
    };
}

codes! {
    SYNTAX = "T0001", "syntax-error",
        "The text does not follow the Tally grammar at this point. The parser skips to the next \
         top-level declaration (`source`, `metric`, ...) and goes on, so one slip does not hide \
         the problems after it.",
        "Look at the token under the label; the message lists what the grammar expected there.";
    UNCLOSED_BLOCK = "T0002", "unclosed-block",
        "A `{` has no matching `}` before the next declaration or the end of the file.",
        "Add the missing `}`. The label points at the `{` that is still open.";
    UNTERMINATED_STRING = "T0003", "unterminated-string",
        "A string literal starts with a quote but the line ends before the closing quote. \
         Strings cannot span lines.",
        "Close the string on the same line; write a line break as `\\n`.";
    UNKNOWN_PROPERTY = "T0004", "unknown-property",
        "Each block (source, metric, role, ...) accepts a fixed set of properties. The first word \
         of this line is not one of them, so the line means nothing to Tally.",
        "Use one of the properties listed in the help; `docs/language.md` describes each.";
    MALFORMED_PROPERTY = "T0005", "malformed-property",
        "The property is known, but what follows its keyword does not have the shape it takes.",
        "Rewrite the line in one of the forms shown in the help.";
    UNKNOWN_DECLARATION = "T0006", "unknown-declaration",
        "At the top level of a file only declarations may appear: `source`, `dimension`, \
         `calendar`, `retention`, `mart`, `metric`, `report`, `role` and `users`.",
        "Start the declaration with one of those keywords.";
    TOO_DEEP = "T0007", "expression-too-deep",
        "An expression nests more than 64 levels deep (each open parenthesis, call and `in` \
         list is a level, and so is each `-` or `not` in front of an operand), or has more than \
         10,000 operators. Every stage of the compiler, and the database's own SQL parser, \
         reads nesting one level at a time; a limit in the language turns what would be a crash \
         or a refused statement into this message. A chain such as `a + b + c` is not nested in \
         Tally, but to a database it is `(a + b) + c`, one level per operator, hence the second \
         limit. Braces nested more than 64 deep are reported too. A declaration nested too \
         deeply is not read any further.",
        "Remove parentheses that group nothing: `a + b + c` and `a * b / c` need none, and \
         `and`/`or` chains neither. Compute a large part as a metric of its own and combine the \
         metrics in a derived metric (`metric total = part_a + part_b`).";
    UNKNOWN_TYPE = "T0101", "unknown-column-type",
        "A column's type must be one of `string`, `int`, `decimal(p, s)`, `bool`, `date`, \
         `timestamp` or `enum(...)`. The loader checks every landed value against it.",
        "Use one of the types listed in the help.";
    INVALID_SCHEDULE = "T0102", "invalid-schedule",
        "A refresh schedule must name a time that exists: minutes from 1 to 59 that divide the \
         hour, hours from 1 to 23 that divide the day, a clock time from 00:00 to 23:59, a real \
         weekday.",
        "Pick a schedule from the forms in the help, or write a `cron \"...\"` expression.";
    INVALID_CRON = "T0103", "invalid-cron",
        "A `cron` schedule is a POSIX cron expression with five fields: minute (0-59), hour \
         (0-23), day of month (1-31), month (1-12 or `jan`-`dec`), day of week (0-7 or \
         `sun`-`sat`, Sunday is 0 or 7), each `*`, a value, a range `a-b`, a list `a,b` or a \
         step `*/n`, `a-b/n`; `?` stands for a whole day field. This one does not read; the \
         label names the field and why. Extensions of other cron dialects (`L`, `W`, `#`, \
         seconds, `@daily`) are not accepted: the plan promises POSIX fields.",
        "Fix the expression, e.g. `cron \"*/15 * * * *\"` for every 15 minutes.";
    UNKNOWN_FORMAT = "T0104", "unknown-landing-format",
        "Landing files are read by the engine's bulk loader, which knows `csv`, `jsonl` and \
         `parquet`.",
        "Use one of those formats, or convert the files before they land.";
    UNKNOWN_PII_CLASS = "T0105", "unknown-pii-class",
        "PII classes come from a fixed list so that policy and reviews can rely on them. An \
         unknown class would silently escape the checks that keep personal data out of reports.",
        "Use a class from the list in the help; `docs/language.md` explains each.";
    DUPLICATE_PROPERTY = "T0106", "duplicate-property",
        "A property that takes one value is given twice in the same block; Tally will not guess \
         which one is meant.",
        "Keep one of them.";
    MISSING_PROPERTY = "T0107", "missing-property",
        "A declaration lacks a property it cannot do without (a source without `key` cannot \
         merge updates; a metric without `measure` has nothing to compute).",
        "Add the property named in the message.";
    INVALID_TYPE_ARGUMENTS = "T0108", "invalid-type-arguments",
        "The arguments of a parameterised type are wrong: `decimal(p, s)` needs 1 <= p <= 38 and \
         0 <= s <= p; other scalar types take no arguments.",
        "Write the type as shown in the help.";
    INVALID_ENUM = "T0109", "invalid-enum",
        "An `enum(...)` type needs at least one value, and each value once.",
        "List each allowed value once.";
    UNKNOWN_TIME_UNIT = "T0110", "unknown-time-unit",
        "Durations and schedules take the units `minutes`, `hours`, `days`, `weeks`, `months` \
         and `years` (singular forms too).",
        "Use one of those units.";
    INVALID_NUMBER = "T0111", "invalid-number",
        "The number is out of the range this place accepts (a zero period, a negative count, \
         a value too large to store).",
        "Use a number in the range given in the message.";
    UNKNOWN_CALENDAR_NAME = "T0112", "unknown-weekday-or-month",
        "Weekdays and months are written in English, in full or as three letters \
         (`monday`/`mon`, `october`/`oct`).",
        "Spell the weekday or month as shown in the help.";
    UNKNOWN_KEYWORD_VALUE = "T0113", "unknown-value",
        "The property takes one of a fixed set of words here (a mart's `kind`, a metric's \
         `compare` grain, a calendar grain, ...).",
        "Use one of the words listed in the help.";
    INVALID_RETENTION = "T0114", "invalid-retention",
        "A retention rule must keep rows in the archive at least as long as in the live tables; \
         otherwise rows would be purged before they are archived.",
        "Make `archive` at least as long as `keep`.";
    DELETE_MARKER_NOT_BOOL = "T0115", "delete-marker-not-bool",
        "A source loaded with `load cdc delete_marker <column>` deletes a row when that column is \
         true. The column must therefore be declared `bool`: any other type has no single value \
         that means \"deleted\", and the loader would have to guess.",
        "Declare the delete marker column as `bool`, or convert the flag upstream.";
    SECOND_CALENDAR = "T0116", "second-calendar",
        "A project has at most one calendar. Its name is the name of the time dimension \
         (`by time.fiscal_year`), and its fiscal year and week start decide what every metric's \
         periods mean, so two calendars would make `previous quarter` ambiguous. Without a \
         `calendar` declaration the project uses an implicit one named `time` (fiscal year = \
         calendar year, weeks start on Monday, every grain, UTC).",
        "Merge the calendars into one `calendar` block.";
    DEFAULT_NOT_CONSTANT = "T0117", "default-not-a-constant",
        "A column's `default` fills in a value the landed file leaves out, row by row, before \
         anything else is known, so it must be a constant: a number, a string, `true`, `false` \
         or `null`.",
        "Replace the expression with a literal value, or drop the default.";
    NULLABLE_KEY = "T0118", "nullable-key-column",
        "Rows are merged, updated, deleted and archived by their key, so every key column must \
         have a value. Key columns are `not null` without saying so; declaring one `null` \
         contradicts the key.",
        "Remove `null` from the column, or take the column out of the key.";
    CRON_NEVER_FIRES = "T0119", "cron-never-fires",
        "Every field of the `cron` schedule reads, but together they name no date that exists \
         (`0 5 31 2 *`: there is no 31 February), so the source would never load and could never \
         be late. Tally looks at a whole 400-year cycle of the calendar, so an expression it \
         accepts fires at least every eight years (`29 2`, across 2100).",
        "Pick days of month that the chosen months have, or restrict the day of week as well: \
         when both day fields are restricted, a day matching either fires.";
    SECOND_USERS_BLOCK = "T0122", "second-users-block",
        "The `users` block declares what every user of the warehouse carries (the attributes \
         role scopes bind to), and so the columns of the `policy_user` table. A project has one: \
         two blocks would leave the table's shape split over files, and one block's attribute \
         could silently shadow the other's.",
        "Move the attributes into one `users` block.";
    RESERVED_USER_ATTRIBUTE = "T0123", "reserved-user-attribute",
        "Each user attribute is a column of `policy_user`, which also has columns of its own: \
         `user_id`, `created_at`, `last_active_at` and `disabled_at`. An attribute cannot take \
         one of those names.",
        "Rename the attribute.";
    LEVEL_ATTRIBUTE_NOT_STRING = "T0124", "level-attribute-not-string",
        "A user attribute with `-> dimension.level` holds member keys of that level, which role \
         scopes compare with the level's column in mart and aggregate tables. Every table keeps \
         a level's members as text, so the attribute must be a `string`; another type would not \
         compare with them (PostgreSQL refuses `text = bigint` in the row-level-security \
         policy).",
        "Declare the attribute `string`, or drop its reference if it names no member.";
    MART_RETENTION_WITHOUT_KEEP = "T0126", "mart-retention-without-keep",
        "A mart's `retention <rule>` is the records schedule of what it publishes: a cell stays \
         in the mart until its period is older than the rule's `keep`, then waits in the mart's \
         archive until the rule's `archive`. A rule without `keep` (only `follow source`) says \
         nothing about age, and a published cell has no source row to follow.",
        "Add `keep <duration>` to the rule (and `archive <duration>` to keep archived cells), or \
         name another rule.";
    LOOKBACK_NOT_TEMPORAL = "T0125", "lookback-not-temporal",
        "`load incremental by <column> lookback <duration>` also accepts rows up to that long \
         before the watermark (the highest value of the column loaded so far). A duration can \
         only be taken from a `date` or `timestamp`; on a number or a text the lookback has no \
         meaning. A lookback is counted in minutes, hours, days or weeks: months and years have \
         no fixed length.",
        "Declare the incremental column as a `timestamp` or `date`, or drop the `lookback`.";
    DUPLICATE_DECLARATION = "T0201", "duplicate-declaration",
        "Two declarations share a name. All declarations, whatever their kind, share one \
         namespace across all files of the project, because metrics, marts and roles refer to \
         each other by bare name.",
        "Rename one of them.";
    DUPLICATE_MEMBER = "T0202", "duplicate-member",
        "A name is declared twice inside one declaration (two columns, two levels, a metric \
         listed twice).",
        "Remove or rename the duplicate.";
    UNKNOWN_NAME = "T0203", "unknown-name",
        "The name does not refer to any declaration of the kind this place expects.",
        "Use a declared name; the help suggests the nearest one or lists those that exist.";
    UNKNOWN_COLUMN = "T0204", "unknown-column",
        "The source has no column with this name.",
        "Use one of the source's columns; the help suggests the nearest one.";
    UNKNOWN_LEVEL = "T0205", "unknown-dimension-level",
        "References to dimensions name a level (`location.port`), and the dimension has no \
         level with this name.",
        "Use one of the dimension's levels.";
    UNKNOWN_FUNCTION = "T0206", "unknown-function",
        "Expressions may call the aggregates `count`, `sum`, `avg`, `min`, `max`, `share` and \
         the functions `age`, `now`, `coalesce`, `lower`, `upper`, `abs`, `round` and, in \
         derived metrics, `calendar_days`.",
        "Use one of those functions.";
    WRONG_KIND = "T0207", "wrong-kind-of-name",
        "The name exists, but it names a different kind of thing than this place takes (for \
         instance a source where a metric is expected).",
        "Use a name of the kind the message asks for.";
    UNKNOWN_USER_ATTRIBUTE = "T0208", "unknown-user-attribute",
        "A role's scope binds a dimension level to an attribute of the signed-in user \
         (`scope geography.region = user.region`). Users carry the attributes the project's \
         `users` block declares, and no others: each is a column of `policy_user` that \
         operators fill with `tally user add --attr`.",
        "Bind the scope to a declared attribute (the help suggests the nearest), declare the \
         attribute in the `users` block, or use `scope national`.";
    METRIC_READS_TWO_SOURCES = "T0209", "metric-reads-two-sources",
        "A metric aggregates the rows of one source: every `source.column` it names (in \
         `measure`, `where`, `time`, `by`, `top`, `buckets` and `per`) must come from the same \
         source. Reading two would need a join Tally cannot infer: which rows match, and whether \
         a row may be counted twice.",
        "Give each source its own metric, then combine them in a derived metric such as \
         `metric arrests_per_encounter = total_arrests / total_encounters`.";
    MEASURE_MIXES_METRICS_AND_COLUMNS = "T0210", "measure-mixes-metrics-and-columns",
        "A measure either aggregates columns of a source (`sum(seacats.amount_usd)`) or combines \
         other metrics (`total_arrests / total_encounters`), never both: a derived metric is \
         computed from the aggregated values of its metrics, where no row (and so no column) \
         exists. A `where` filter on a derived metric is refused for the same reason.",
        "Give the column a metric of its own and combine metrics, or filter the metrics it \
         combines.";
    METRIC_READS_NO_SOURCE = "T0211", "metric-reads-no-source",
        "A metric aggregates the rows of one source, and that source is the one whose columns \
         the metric names (in `measure`, `where`, `time`, `by`, `top`, `buckets` or `per`). A \
         measure such as `count(*)` names no column, so nothing says whose rows it counts.",
        "Name a column of the source: a `time` column (`time orders.placed_at`), a `where` \
         filter, or a column inside the aggregate (`count(orders.id)`).";
    SCOPE_ATTRIBUTE_MISMATCH = "T0212", "scope-attribute-mismatch",
        "A bound scope keeps the rows whose member of a level is the user's value of an \
         attribute, so the attribute must hold members of that very level: it is declared \
         `<name> string -> <dimension>.<level>` with the scope's level. An attribute of another \
         level (a region compared with clinics) or of none (a supervisor's user id) would match \
         nothing, or the wrong rows.",
        "Bind the scope to an attribute declared with the scope's level, or scope the role by \
         the level the attribute names.";
    INCOMPATIBLE_TYPES = "T0301", "incompatible-types",
        "The two sides of a comparison, of arithmetic, of `in (...)`, `between` or `coalesce` \
         have types that do not go together: an `enum` with a number, a duration with a plain \
         number (`age(x) > 72`: 72 what?), a date with text. Numbers (`int`, `decimal`, \
         percentages) mix freely; dates and timestamps compare with each other; subtracting \
         times gives a duration, and a time plus or minus a duration gives a time. The engine \
         would either refuse the SQL or, worse, convert one side silently and compare the wrong \
         things.",
        "Make both sides the same kind of value: write a duration with its unit (`72 hours`), \
         compare an enum with one of its values as a string (`'drug'`), compare a date with \
         another date or compare its age (`age(x.filed_on) > 30 days`).";
    UNKNOWN_ENUM_VALUE = "T0302", "unknown-enum-value",
        "An `enum` column is compared with a string that is not one of its values \
         (`seizure_type = 'drugs'` where the values are `drug`, `currency`, ...). The loader \
         rejects any other value, so the condition could never be true and the metric would \
         silently be zero.",
        "Use one of the values listed in the help, or add the value to the column's `enum(...)`.";
    WRONG_OPERAND_TYPE = "T0303", "wrong-operand-type",
        "An operator or function is given a type it does not work on: `sum` or `avg` of text, \
         `and`/`or`/`not` of something that is not a condition, `like` on a number, `<` on \
         values that have no order (`bool`, `enum`), `age` of something that is not a date or \
         timestamp, `share` of something that is not a condition.",
        "Pass a value of the type named in the message: `sum` and `avg` take numbers (`avg` also \
         durations), `min` and `max` anything ordered, `share` a condition such as \
         `share(x.wait_minutes > 60)`.";
    CONDITION_NOT_BOOL = "T0304", "condition-not-bool",
        "A `where` filter and a `having` test keep the rows or groups for which they are true, \
         so they must be conditions (`bool`). A number or text there has no truth value; SQL \
         engines disagree on what it would mean.",
        "Compare the value (`x.amount > 0`, `x.status = 'open'`), or name a `bool` column alone \
         (`where x.approved`).";
    INVALID_CALL = "T0305", "invalid-call",
        "A function is called with the wrong number of arguments, or with `*` or `distinct` \
         where only `count` takes them (`count(*)`, `count(distinct x)`).",
        "Call the function as the help shows: `sum(x)`, `round(x)` or `round(x, 2)`, \
         `coalesce(a, b, ...)`, `now()`.";
    NESTED_AGGREGATE = "T0306", "nested-aggregate",
        "An aggregate is used inside another aggregate (`sum(count(*))`), or a metric inside an \
         aggregate (`sum(other_metric)`). An aggregate turns the rows of a cell into one value; \
         there are no rows left for a second one to run over, and a metric is already one value \
         per cell.",
        "Aggregate once. To count groups that pass a test, use `per <axis> having <condition>`; \
         to combine metrics, use `+ - * /` (`metric ratio = a / b`).";
    MEASURE_NOT_AGGREGATE = "T0307", "measure-not-aggregate",
        "A metric is one number per cell (per port and day, say), so its measure must aggregate \
         the cell's rows: every column it reads must be inside `count`, `sum`, `avg`, `min`, \
         `max` or `share`, or the measure must combine other metrics. The same holds for \
         `having`, which tests each group as a whole. A bare column has one value per row, \
         not per cell.",
        "Wrap the column in an aggregate (`sum(x.amount)`, `max(x.wait_minutes)`, \
         `count(distinct x.id)`), or count rows with `count(*)`.";
    AGGREGATE_IN_ROW_CONTEXT = "T0308", "aggregate-in-row-context",
        "A `where` filter is applied to each row before anything is aggregated, and `buckets` \
         sorts each row into a range, so neither may contain an aggregate.",
        "Test aggregates of groups with `per <axis> having <condition>`, and bucket a row value \
         such as a column or `age(x.seized_at)`.";
    INVALID_BUCKETS = "T0309", "invalid-buckets",
        "`buckets <expression> [e1, e2, ...]` splits rows into ranges of a number or a duration. \
         The edges must be constants of the same kind as the expression (numbers for numbers, \
         durations such as `24 hours` for `age(...)`), in strictly increasing order: otherwise \
         the ranges overlap or are empty.",
        "Bucket a number or a duration, and list the edges once each, smallest first.";
    TIME_NOT_TEMPORAL = "T0310", "time-column-not-temporal",
        "A metric's `time` column places each row on the calendar (for `by time.month`, \
         `grain`, `compare previous ...`), so it must be a `date` or a `timestamp`.",
        "Name a `date` or `timestamp` column of the metric's source.";
    AMBIGUOUS_COMPARISON = "T0311", "ambiguous-comparison",
        "`compare` sets each period against an earlier one, and a period that has not ended yet \
         (the current fiscal year, month or week at the refresh) can be set against two \
         different things: the same span of the earlier period (a year to date against the \
         previous year up to the same day) or the whole earlier period. The two differ by \
         everything that happened in the rest of the earlier period, so a comparison that does \
         not say which it is reads as a collapse every time the current period is young. \
         `compare previous <grain> to date` means the first, `compare whole previous <grain>` \
         the second; the bare `compare previous <grain>` (which meant the second) is refused, \
         and so is a comparison that says both.",
        "Say which span is meant: `compare previous fiscal_year to date` (the usual *same period \
         last year*) or `compare whole previous fiscal_year`.";
    CALENDAR_DAYS_MISPLACED = "T0312", "calendar-days-misplaced",
        "`calendar_days()` is the number of calendar days of a cell's period (up to the refresh \
         day for a period that has not ended), so it has a value only per cell of a derived \
         metric, where every period has a start and an end: `metric per_day = shipments / \
         calendar_days()`. In a measure over a source's rows, a `where`, `buckets` or `having` \
         there is no period yet, and a derived metric made of nothing but it would publish the \
         calendar, not a measurement.",
        "Divide a metric by it in a derived metric (`metric arrivals_per_day = arrivals / \
         calendar_days()`).";
    INVALID_WINDOW = "T0313", "invalid-window",
        "`window to date <grain>` and `window last <duration>` make each cell's value the \
         measure over the rows of a window that ends where the cell's period ends (at the \
         refresh while the period runs), instead of the rows of the period: a fiscal year to \
         date per month, the last 28 days per day. A window reads a source's rows by their \
         `time`, so it belongs to a metric over a source, with a `time` column; a derived \
         metric gets windows from the metrics it combines. A window is whole days or longer \
         (`to date` a day or a coarser grain, `last` in days, weeks, months or years), and \
         `to date` needs a grain the calendar offers.",
        "Put the window on the metric that reads the source (`metric visits_ytd { measure \
         count(*) time visits.at window to date fiscal_year }`) and combine that metric; give \
         the metric a `time` column; count the window in days or longer.";
    PERCENTILE_NOT_ADDITIVE = "T0314", "percentile-not-additive",
        "A percentile (`median`, `percentile`, `percentile_disc` and their `approx_` forms) is \
         not additive: the median of a field office is not the sum, nor any other combination, \
         of its ports' medians, so Tally computes each cell's percentile from the source rows \
         of that cell, never from other cells. For the same reason a percentile cannot be added \
         to another value that varies by cell (`median(a.x) + median(a.y)`, `median_wait + \
         arrivals`): the sum is the percentile of no set of rows. Nor can it be divided by \
         `calendar_days()`: a per-day rate spreads a total over the days of a period, and a \
         percentile is no total. (A percentile may be subtracted from another, `p90 - p10`, \
         scaled by a constant, or compared with a constant.)",
        "Publish each percentile as a metric of its own, or take one percentile over the rows \
         you mean together; divide counts and sums, not percentiles, by `calendar_days()`.";
    PERCENTILE_IN_HAVING = "T0315", "percentile-in-having",
        "`per ... having` tests each group by aggregates computed over the group's rows as \
         window functions, and PostgreSQL computes no percentile (an ordered-set aggregate) as a \
         window function. Rather than test groups by a percentile on one engine only, Tally \
         refuses it everywhere.",
        "Test the group with `avg`, `min`, `max`, `share` or a count (`per x.flight_id having \
         max(x.wait_minutes) > 60`), or publish the percentile as a metric of its own.";
    APPROXIMATE_UNAVAILABLE = "T0316", "approximate-percentile-unavailable",
        "`approx_median` and `approx_percentile` ask for an approximation (DuckDB's \
         `approx_quantile`, a t-digest sketch) that is cheaper than the exact value over many \
         rows. The project's `dialect` has no such function, and Tally never computes an exact \
         value where an approximate one was asked for (or the reverse): the two differ, and a \
         reader must know which one a number is.",
        "Use the exact `median(x)` or `percentile(x, p)`, which every engine computes, or run \
         the warehouse on an engine that has approximate percentiles (`dialect: duckdb`).";
    INVALID_TARGET = "T0317", "invalid-target",
        "`target <grain>` says a metric is a target set per that grain (a month, a quarter) \
         and per the dimension levels its source names, read from a source of targets and \
         compared with actuals by derived metrics (`metric hours_vs_target = hours_flown - \
         hours_target`). A target is a total per period of its source's rows: it needs a \
         `time` column that dates each target, it is not derived (a metric derived from a \
         target is limited by it already), and it has no `window`, `per`, `buckets` or `top`.",
        "Put `target <grain>` on a metric that sums the targets' source (`measure \
         sum(amo_targets.flight_hours)`) with a `time` column, and derive comparisons from it.";
    FINER_THAN_TARGET = "T0318", "finer-than-target",
        "A target set per month by branch has no value per day, per week or per asset: \
         spreading a month's target over its days, or a branch's over its assets, would \
         publish numbers nobody set. So a target, and every metric derived from one, exists \
         only at its grain and the coarser grains made of whole periods of it (a month \
         target gives quarters and years; fiscal ones when the fiscal year starts on a \
         month's first day), and by the levels its source names and the levels above them. \
         A report, or a metric's own `by` or `grain`, that asks for it finer is refused; a \
         query that does is refused by the runtime (`R0427`).",
        "Show the target at its grain or a coarser one, by the levels its source names or \
         above (`grain month`, `by location.branch`); show the actuals alone where a finer cut \
         is wanted.";
    INVALID_TOTAL = "T0319", "invalid-total",
        "`total(m, axis, ...)` is the value of metric `m` in the cell's total over the axes \
         named: the denominator of a share (`metric port_share = seizures / total(seizures, \
         location)`). It reads a metric, so it belongs in a derived metric's measure; its \
         first argument is a metric's name and the others are dimensions, levels or columns \
         (at least one). A total over time is a `window`, not a `total`.",
        "Write `total(<metric>, <dimension>)` in a derived metric, naming what the total leaves \
         out: `location` (every member), `location.field_office` (the cell's field office), \
         `seacats.seizure_type`.";
    METRIC_CYCLE = "T0401", "metric-cycle",
        "A derived metric is computed from the values of the metrics it names, so those must be \
         computed first. Here metrics use one another in a circle (`metric a = b * 2` and \
         `metric b = a + 1`, or a longer chain, or a metric that names itself): none of them can \
         be computed first, and no order of refreshes exists. Every reference on the cycle is \
         labelled; when several cycles share metrics they are reported together, with every \
         reference between those metrics labelled.",
        "Compute one metric of the cycle from its source's columns (`measure ...`) instead of \
         from the other metrics, or remove one of the labelled references.";
    DERIVED_TOO_DEEP = "T0402", "derived-metrics-too-deep",
        "A derived metric's statement computes every metric it is built on inline, down to the \
         metrics read from sources. So derived metrics may be built on at most 16 levels of \
         other derived metrics, and one derived metric may compute at most 256 metrics from \
         sources, counting a metric once for each way it is reached (two metrics that both \
         read `a` and `b`, combined, compute four). Past that the statement would nest too \
         deeply, or double in size with every level, before any database could run it. The \
         metric that crosses the limit is reported, not the metrics built on it.",
        "Derive the metric from metrics nearer to the sources, or combine the metrics read \
         from sources directly (`metric total = a + b + c`) rather than through intermediate \
         derived metrics that read the same ones.";
    PII_GROUPED = "T0501", "pii-grouped-by",
        "A column that identifies a person (classes `name`, `birth_date`, `document_number`, \
         `address`, `phone`, `email`, `biometric`, `government_id`, `financial_account`, \
         `vehicle_id`, `travel_record`, `employee_id`, `free_text`, `location`) is used to cut \
         numbers: in a metric's `by`, `top ... by`, `buckets` or `time`, a mart's `dimensions`, \
         a report's `by`, as the `key` or `label` of a dimension level, or with a `-> \
         dimension.level` reference. Each member of such a breakdown is one person, so the \
         report would list people. EMIS-EDW reports are aggregate only and contain no PII. \
         (`gender` and `nationality` may be grouped by: their groups are large, and small cells \
         are hidden by the role's `min_cell_size`.)",
        "Cut by a column or dimension level that holds no personal data. To know how many \
         people there are, count them: `count(distinct x.passenger_name)`.";
    PII_FILTERED = "T0502", "pii-filtered-on",
        "A column that identifies a person is used in a `where` filter, in the condition of \
         `share(...)`, in `having`, or as a `per` key. The EMIS-EDW privacy impact assessment promises that no search by PII is \
         possible; a filter on a name or a document number is exactly such a search, so Tally \
         makes it impossible to write. (`gender` and `nationality` may be filtered on, as in \
         *Total Mexican Apprehensions*.)",
        "Filter on a column without personal data. A PII column may only be counted: \
         `count(x.passport)` or `count(distinct x.passport)`.";
    PII_OUTPUT = "T0503", "pii-output",
        "A PII column is read in a measure outside `count(...)`: summed, averaged, taken as \
         `min` or `max`, passed to a function, or used as the measure itself. `min(x.passenger_name)` publishes a name; only `count` and `count(distinct \
         ...)` remove identity, because they keep how many values there are and not the values. \
         This holds for every class, `gender` and `nationality` included. Metrics computed from \
         other metrics are aggregates of aggregates, so their values carry no PII.",
        "Count the column instead: `count(distinct x.passenger_name)`.";
    PII_IN_DRILL = "T0504", "pii-in-drill",
        "A mart's `drill` lists the columns of the rows behind an aggregate that roles with \
         `drill_down` see one by one. Row by row, any PII column (`gender` and `nationality` \
         included) describes one person, so none may be listed.",
        "Remove the column from the `drill` list.";
    DROPS_DATA = "T0601", "drops-data",
        "The compile would write a migration that drops a table or a column, and with it the \
         rows or values it holds: a source, a column or a metric was removed or renamed in the \
         `.tally` files. A rename looks the same as a drop plus an add, so Tally cannot tell \
         the two apart. Migrations run against a warehouse full of data, so Tally drops \
         nothing unless the project says so for this very change.",
        "If the data may go, add the line the help shows to `allow_changes` in `tally.yaml` and \
         compile again. If it was a rename, allow `rename table <old> to <new>` or `rename \
         column <table>.<old> to <new>` instead, which keeps the data. Otherwise restore the \
         declaration. Once the migration is written, remove the line.";
    NARROWS_TYPE = "T0602", "narrows-column-type",
        "A column's type would change to one that cannot hold every value the column may \
         already have (`decimal(12, 2)` to `int`, `string` to `date`, a smaller precision). \
         Widening changes (`int` to `decimal(20, 0)`, anything to `string`, `date` to \
         `timestamp`) are migrated on their own; narrowing ones depend on the data: the \
         migration fails, or values are cut, when a row does not fit.",
        "Keep the wider type, or check the data and add the help's `narrow column ...` line to \
         `allow_changes` in `tally.yaml`.";
    NOT_NULL_WITHOUT_VALUES = "T0603", "not-null-without-values",
        "A column would become `not null` (a key column, or declared `not null`) while rows \
         already in the table may have no value for it: a new column without a `default`, or an \
         existing nullable column. Whether the migration succeeds depends on the data.",
        "Give the column a `default`, leave it nullable, or, when the table is known to be \
         empty or the column filled, add the help's `not null column ...` line to \
         `allow_changes` in `tally.yaml`.";
    CHANGES_KEY = "T0604", "changes-primary-key",
        "A table's primary key would change (a source's `key` changed). Rows are merged, \
         updated and archived by their key; rows that are distinct under the old key may clash \
         under the new one. Tally rebuilds the table under the new key only when allowed.",
        "Keep the key, or add the help's `change key <table>` line to `allow_changes` in \
         `tally.yaml`: the migration copies the rows into a table with the new key and fails, \
         changing nothing, if two rows clash.";
    EDITED_MIGRATION = "T0605", "edited-migration",
        "A migration in the output directory no longer matches `migrations/tally.sum`: it was \
         edited, deleted, renamed or reordered, a file was added by hand, or `tally.sum` itself \
         was edited (or holds a merge conflict). Emitted migrations are never rewritten, because \
         databases have already applied them; `tally migrate` refuses the same directory.",
        "Restore the migrations directory from version control. To change the schema, change \
         the `.tally` files and compile: Tally adds a new migration. After a merge in which \
         both branches added a migration, keep one branch's migrations, lock and `tally.sum`, \
         and compile again.";
    INCONSISTENT_GENERATED = "T0606", "inconsistent-output-directory",
        "The output directory is not in a state `tally compile` wrote: the lock file or \
         `tally.sum` is missing while migrations exist, the lock file is unreadable or from \
         another lock format version, it does not record the last migration, a migration's name \
         is not `NNNN_<slug>.sql`, or the directory is a Tally project itself.",
        "Restore the output directory from version control, or point `--out` at a directory of \
         its own. To start the migrations over (only for warehouses that can be rebuilt), \
         delete the dialect directories and compile again.";
    UNUSED_ALLOWANCE = "T0607", "unused-allowance",
        "A line of `allow_changes` in `tally.yaml` matches no change this compile would make \
         (a warning). Usually its migration has been written: left in place, it would also \
         allow the same destructive change later, when nobody means it.",
        "Remove the line from `allow_changes`.";
    INVALID_PROJECT_FILE = "T0701", "invalid-project-file",
        "`tally.yaml` is missing, is not valid YAML, or has a field of the wrong type (including \
         an `allow_changes` entry that is not `<change> <table>.<column>`).",
        "Fix the file; `docs/language.md` shows its fields and `docs/artifacts.md` the \
         `allow_changes` forms.";
    NO_SOURCE_FILES = "T0702", "no-tally-files",
        "The project's paths hold no `.tally` file, so there is nothing to check.",
        "Add `.tally` files or fix `paths` in `tally.yaml`.";
    UNREADABLE_FILE = "T0703", "unreadable-file",
        "A file of the project could not be read (permissions, not UTF-8, too large).",
        "Make the file readable UTF-8 text under 4 GiB.";
    INVALID_GENDATA_FILE = "T0801", "invalid-gendata-file",
        "The project's synthetic-data profile, `gendata.yaml`, is not valid YAML or not of the \
         profile's shape: a key the profile does not know (at any level), a list where a map \
         belongs, text where a number belongs. `tally gen-data` reads the profile to decide \
         volumes and values, so `tally check` refuses a profile it cannot read.",
        "Fix the file at the place shown; `docs/gendata.md` lists every setting and where it \
         goes.";
    UNKNOWN_GENDATA_NAME = "T0802", "unknown-gendata-name",
        "The profile names a source, column, dimension, level or list that the project does not \
         have. A profile describes the project's own sources and dimensions, so a name that \
         matches none is a typo or a leftover from a renamed declaration, and its settings \
         would silently do nothing.",
        "Use a name from the project (the help suggests the nearest one), or remove the \
         setting.";
    INVALID_GENDATA_VALUE = "T0803", "invalid-gendata-value",
        "A value in the profile is one its column or level cannot hold: a weight for a value \
         an enum does not declare, text for an int column, a number too wide for a decimal, a \
         member's `parent` that is not a member of the level above, a member without a parent \
         when the level above is listed, or a `pattern` that does not read. gen-data would \
         write rows the loader rejects, or members that break the dimension's hierarchy.",
        "Write a value the column takes (the help lists or suggests them), or list the parent \
         member first.";
    GENDATA_SETTING_DOES_NOT_APPLY = "T0804", "gendata-setting-does-not-apply",
        "A setting of the profile does not fit where it is: a share of true on a number \
         column, numbers for a text column, a `null_share` for a `not null` column, weights for \
         a column that references a dimension (it takes the dimension's members), members for \
         a level without a key, deletions for an `append` source, a volume for the source that \
         lists a dimension's members, two ways of drawing one column, or columns computed from \
         each other in a circle.",
        "Move the setting to where it applies or remove it; the help says what the setting is \
         for.";
    GENDATA_OUT_OF_RANGE = "T0805", "gendata-out-of-range",
        "A number of the profile is out of its range: a share below 0 or above 1, a negative \
         or infinite weight or volume, weights that give no value a chance, a traffic curve \
         without 24 hours or 7 weekdays, bounds that cross.",
        "Give a number within the range the message names: shares from 0 to 1, weights and \
         volumes of 0 or more.";
    DUPLICATE_GENDATA_MEMBER = "T0806", "duplicate-gendata-member",
        "A dimension level lists the same member key twice. The key names one member; a second \
         entry would give the `from` source two rows with one key, which its load refuses.",
        "List each member once; merge the two entries.";
    INTERNAL = "T9999", "internal-error",
        "The compiler broke one of its own invariants. This is a bug in Tally, not in your \
         project.",
        "Please report it with the input that triggered it.";
}

/// The documentation of a code.
pub fn info(code: Code) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}
