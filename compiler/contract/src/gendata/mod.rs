//! The synthetic-data profile: how `tally gen-data` shapes a project's data. A project keeps it
//! next to `tally.yaml` as `gendata.yaml`; `tally compile` checks it against the project and
//! writes it to `generated/gendata.json` ([`GenData`]), which `tally gen-data` reads.
//!
//! A profile says what the plan cannot: how many rows a source gets a day, how its values are
//! spread (enum and word weights, shares of true and of nulls, numeric distributions, patterns
//! of codes), which members a dimension has (keys, labels, parents, traffic weights), and how
//! the hours and weekdays of a day's traffic compare. Everything is optional: without a
//! profile gen-data still writes plausible data for any plan, from the plan alone.
//!
//! | module      | what                                                             |
//! |-------------|------------------------------------------------------------------|
//! | this one    | the types, read from YAML and written as JSON                    |
//! | [`pattern`] | `"UDR-{000001..000200}"`: the pattern of a generated code        |
//! | [`check`]   | the profile against the project's sources and dimensions         |
//! | [`locate`]  | where in the YAML text a problem is, for diagnostics             |
//!
//! The format is documented in `docs/gendata.md`; the JSON Schema of the artifact
//! (`docs/gendata.schema.json`) is generated from these types ([`json_schema`]).

pub mod check;
pub mod locate;
pub mod pattern;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use check::{check, Problem, ProblemKind, Seg, Shape, ShapeSource};
pub use pattern::{Pattern, Piece};

/// Version of the `gendata.json` format; bump when its shape changes.
pub const GENDATA_VERSION: u32 = 1;

/// The project's profile file, next to `tally.yaml`.
pub const PROFILE_FILE: &str = "gendata.yaml";

/// The artifact's name in `generated/`.
pub const ARTIFACT_FILE: &str = "gendata.json";

/// `generated/gendata.json`: the project's checked profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenData {
    /// The format version, [`GENDATA_VERSION`].
    pub version: u32,
    pub generated_by: String,
    pub profile: Profile,
}

/// Why a `gendata.json` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenDataError {
    /// Not JSON of the artifact's shape.
    Malformed { line: usize, column: usize, message: String },
    /// Written by a compiler of another format version.
    Version { found: u32 },
}

impl fmt::Display for GenDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenDataError::Malformed { line, column, message } => {
                write!(f, "line {line} column {column}: {message}")
            }
            GenDataError::Version { found } => write!(
                f,
                "it is gendata format version {found}, and this tally reads version {GENDATA_VERSION}"
            ),
        }
    }
}

impl std::error::Error for GenDataError {}

impl GenData {
    pub fn new(profile: Profile) -> GenData {
        GenData {
            version: GENDATA_VERSION,
            generated_by: crate::plan::GENERATED_BY.to_owned(),
            profile,
        }
    }

    /// Reads the artifact, refusing any format version but [`GENDATA_VERSION`].
    pub fn from_json(text: &str) -> Result<GenData, GenDataError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        match serde_json::from_str::<Versioned>(text) {
            Ok(v) if v.version != GENDATA_VERSION => {
                return Err(GenDataError::Version { found: v.version })
            }
            _ => {}
        }
        serde_json::from_str(text).map_err(|e| GenDataError::Malformed {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Pretty JSON with a final line end: the bytes of `gendata.json`.
    pub fn to_json(&self) -> String {
        // Maps have string keys and numbers are finite (the check refuses others).
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The JSON Schema of `gendata.json`, as checked in at `docs/gendata.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(GenData);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A YAML profile that is not of the profile's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Byte offset of the problem in the text, when the parser knows it.
    pub offset: Option<usize>,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Relative weights of values: value (as written in a landing file) → weight.
pub type Weights = BTreeMap<String, f64>;

/// A project's profile, as `gendata.yaml` holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// How busy each hour and weekday is: event times follow these curves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Named weighted lists of values that columns and patterns share (`list: countries`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, Weights>,
    /// Per dimension, per level: its members, or how many to make up.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, BTreeMap<String, LevelProfile>>,
    /// Per source: volumes, batches, key groups and column values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, SourceProfile>,
}

impl Profile {
    /// Reads `gendata.yaml` text. Only the shape is checked here; [`check`] compares the
    /// names and values with the project.
    pub fn from_yaml(text: &str) -> Result<Profile, YamlError> {
        // An empty file (or one of comments only) is the empty profile.
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            return Ok(Profile::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| {
            let offset = e.location().map(|l| locate::byte_offset(text, l.line(), l.column()));
            let message = e.to_string();
            // serde_yaml_ng appends " at line L column C"; the offset says where.
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            YamlError { offset, message }
        })
    }

    pub fn source(&self, name: &str) -> Option<&SourceProfile> {
        self.sources.get(name)
    }

    pub fn column(&self, source: &str, column: &str) -> Option<&ColumnProfile> {
        self.sources.get(source).and_then(|s| s.columns.get(column))
    }

    pub fn level(&self, dimension: &str, level: &str) -> Option<&LevelProfile> {
        self.dimensions.get(dimension).and_then(|d| d.get(level))
    }
}

/// Relative traffic by hour of day and by day of week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// 24 weights, midnight first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<f64>>,
    /// 7 weights, Monday first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<Vec<f64>>,
}

/// The members of one dimension level: listed, or a number to make up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelProfile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// How many members to make up when none are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// One member of a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The value of the level's key column.
    pub key: String,
    /// The value of the level's label column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The key of its member in the next coarser level of the dimension's hierarchy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// How busy the member is, relative to the others (default 1): rows that reference the
    /// level pick members in proportion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Other columns of the dimension's `from` source, for this member's row.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// One source's volumes, batches and values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceProfile {
    /// Rows a day at scale 1 (sources of events: append, incremental, cdc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_day: Option<f64>,
    /// Key groups listed at scale 1 (snapshot sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<f64>,
    /// Share of earlier rows a follow-up batch changes (incremental, cdc, snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<f64>,
    /// Share of earlier keys a follow-up batch deletes (cdc, snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletes: Option<f64>,
    /// Share of new key groups in the second snapshot (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_members: Option<f64>,
    /// How the rows of one key group come (sources with a composite key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupProfile>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnProfile>,
}

/// The rows of one key group of a source with a composite key (the passengers of a flight,
/// the lines of an entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupProfile {
    /// Rows in a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<GroupSize>,
    /// The columns every row of a group shares besides its key, time and references. Without
    /// it, a group shares every column but numbers and flags (an entry's lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSize {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lognormal: Option<LogNormal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform: Option<Uniform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// How one column's values are drawn. At most one way of drawing (`weights`, `list`,
/// `pattern`, `true_share`, `true_when`, `lognormal`, `uniform`, `times`, `after`,
/// `running_total_of`, `periods`, `period_end_of`); the rest adjust it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnProfile {
    /// Share of rows left empty (nullable columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_share: Option<f64>,
    /// Values and their weights (enum, string and number columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
    /// The name of a list of `lists` to draw from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// A generated code ([`Pattern`]), e.g. `"UDR-{000001..000200}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Share of rows where a bool column is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_share: Option<f64>,
    /// A bool column true exactly when another column of the row holds one of some values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_when: Option<TrueWhen>,
    /// A log-normal number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lognormal: Option<LogNormal>,
    /// A uniform number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform: Option<Uniform>,
    /// Bounds a drawn number is kept within.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Share of rows where a number is exactly zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_share: Option<f64>,
    /// A log-normal median that depends on another column's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_by: Option<MedianBy>,
    /// Added to a log-normal median per unit of the hour's traffic: longer waits at busy
    /// hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_median: Option<f64>,
    /// Rows sharing a value of another column share a factor (passengers of one flight queue
    /// together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Clusters>,
    /// Another number column of the row times a weighted factor (a duty rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Times>,
    /// A date or timestamp after the row's event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<After>,
    /// The running total of another number column, within the key group and fiscal year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_total_of: Option<String>,
    /// A period label: the calendar cut into runs of `days` days from the start of the data,
    /// labelled `<fiscal year>-<nn>`. The last column of a composite key gets a row per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<Periods>,
    /// The last day of the period that another column (with `periods`) labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end_of: Option<String>,
}

impl ColumnProfile {
    /// The ways of drawing this profile sets, by their YAML names.
    pub fn generators(&self) -> Vec<&'static str> {
        let set = [
            ("weights", self.weights.is_some()),
            ("list", self.list.is_some()),
            ("pattern", self.pattern.is_some()),
            ("true_share", self.true_share.is_some()),
            ("true_when", self.true_when.is_some()),
            ("lognormal", self.lognormal.is_some()),
            ("uniform", self.uniform.is_some()),
            ("times", self.times.is_some()),
            ("after", self.after.is_some()),
            ("running_total_of", self.running_total_of.is_some()),
            ("periods", self.periods.is_some()),
            ("period_end_of", self.period_end_of.is_some()),
        ];
        set.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect()
    }

    /// The other columns of the row this column's value is computed from.
    pub fn depends_on(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.true_when.as_ref().map(|t| t.column.as_str()));
        out.extend(self.median_by.as_ref().map(|m| m.column.as_str()));
        out.extend(self.clusters.as_ref().map(|c| c.column.as_str()));
        out.extend(self.times.as_ref().map(|t| t.column.as_str()));
        out.extend(self.after.as_ref().and_then(|a| a.minutes_from.as_deref()));
        out.extend(self.running_total_of.as_deref());
        out.extend(self.period_end_of.as_deref());
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrueWhen {
    pub column: String,
    pub values: Vec<String>,
}

/// A log-normal distribution: half the values below `median`; `sigma` is the spread of their
/// logarithm (0.5 narrow, 1.5 wide).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogNormal {
    pub median: f64,
    pub sigma: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    pub min: f64,
    pub max: f64,
}

/// The median per value of another column (`drug_type`); other values keep `lognormal`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MedianBy {
    pub column: String,
    pub medians: BTreeMap<String, f64>,
}

/// Rows whose `column` holds the same value share a factor: a fixed share of the values get
/// each factor (chosen by a hash of the value, so the same value always gets the same one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Clusters {
    pub column: String,
    pub factors: Vec<ClusterFactor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterFactor {
    pub share: f64,
    pub factor: f64,
}

/// `column` times a factor drawn from `factors` (factor as text → weight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Times {
    pub column: String,
    pub factors: Weights,
}

/// A time after the event: log-normal minutes around `median_minutes`, or exactly the minutes
/// another column of the row holds (`minutes_from`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct After {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_minutes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Periods {
    pub days: u32,
}

#[cfg(test)]
mod tests;
