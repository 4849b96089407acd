//! The registry of diagnostic codes.
//!
//! A code never changes meaning once released. `docs/diagnostics.md` is generated from this
//! table and from the error fixtures in `tests/fixtures/errors/` (one or more per code); a test
//! fails when the page is stale or a code has no fixture.
//!
//! Ranges: `T00xx` syntax, `T01xx` declarations, `T02xx` names, `T04xx` the dependency graph, `T07xx` project files,
//! `T9xxx` internal errors.

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
         `calendar`, `retention`, `mart`, `metric`, `report` and `role`.",
        "Start the declaration with one of those keywords.";
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
        "A `cron` schedule is parsed as a cron expression with five fields (minute, hour, day of \
         month, month, day of week) and this one does not parse.",
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
         the functions `age`, `now`, `coalesce`, `lower`, `upper`, `abs`, `round`.",
        "Use one of those functions.";
    WRONG_KIND = "T0207", "wrong-kind-of-name",
        "The name exists, but it names a different kind of thing than this place takes (for \
         instance a source where a metric is expected).",
        "Use a name of the kind the message asks for.";
    UNKNOWN_USER_ATTRIBUTE = "T0208", "unknown-user-attribute",
        "A role's scope binds a dimension level to an attribute of the signed-in user. Users \
         carry `field_office`, `port`, `sector` and `station`.",
        "Bind the scope to one of those attributes, or use `scope national`.";
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
    METRIC_CYCLE = "T0401", "metric-cycle",
        "A derived metric is computed from the values of the metrics it names, so those must be \
         computed first. Here metrics use one another in a circle (`metric a = b * 2` and \
         `metric b = a + 1`, or a longer chain, or a metric that names itself): none of them can \
         be computed first, and no order of refreshes exists. Every reference on the cycle is \
         labelled; when several cycles share metrics they are reported together, with every \
         reference between those metrics labelled.",
        "Compute one metric of the cycle from its source's columns (`measure ...`) instead of \
         from the other metrics, or remove one of the labelled references.";
    INVALID_PROJECT_FILE = "T0701", "invalid-project-file",
        "`tally.yaml` is missing, is not valid YAML, or has a field of the wrong type.",
        "Fix the file; `docs/language.md` shows its fields.";
    NO_SOURCE_FILES = "T0702", "no-tally-files",
        "The project's paths hold no `.tally` file, so there is nothing to check.",
        "Add `.tally` files or fix `paths` in `tally.yaml`.";
    UNREADABLE_FILE = "T0703", "unreadable-file",
        "A file of the project could not be read (permissions, not UTF-8, too large).",
        "Make the file readable UTF-8 text under 4 GiB.";
    INTERNAL = "T9999", "internal-error",
        "The compiler broke one of its own invariants. This is a bug in Tally, not in your \
         project.",
        "Please report it with the input that triggered it.";
}

/// The documentation of a code.
pub fn info(code: Code) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}
