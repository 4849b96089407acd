//! What `tally gen-data` uses of `generated/plan.json`: per source its landing pattern and
//! format, load mode, key and typed columns (with enum values, references and PII classes),
//! and which column its rows' age is counted from. A view of the contract's plan (read by
//! [`crate::plan::load`], the one reader), in the shape the generator works with. The view
//! also reads from JSON of its own shape, so the generator's tests can describe a small plan
//! in a few lines.

use crate::error::Result;
use crate::plan::{self, Plan};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    pub version: u32,
    pub sources: Vec<SourceSpec>,
    /// Mart names: the audit log's `object` column names what was read.
    #[serde(default)]
    pub marts: Vec<Named>,
    #[serde(default)]
    pub reports: Vec<Named>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourceSpec {
    pub name: String,
    pub title: Option<String>,
    pub landing: LandingSpec,
    pub load: LoadSpec,
    pub key: Vec<String>,
    pub columns: Vec<ColumnSpec>,
    #[serde(default)]
    pub retention: Option<RetentionSpec>,
    #[serde(default)]
    pub freshness: Option<FreshnessSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LandingSpec {
    pub pattern: String,
    /// `csv`, `jsonl` or `parquet`.
    pub format: String,
    pub csv: Option<CsvSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CsvSpec {
    #[serde(default = "comma")]
    pub delimiter: String,
    #[serde(default = "yes")]
    pub header: bool,
    #[serde(default = "double_quote")]
    pub quote: String,
    #[serde(default)]
    pub null: String,
    #[serde(default)]
    pub skip: u64,
}

fn comma() -> String {
    ",".to_owned()
}

fn double_quote() -> String {
    "\"".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoadSpec {
    /// `snapshot`, `append`, `incremental` or `cdc`.
    pub mode: String,
    /// The watermark column of an incremental source.
    pub column: Option<String>,
    /// The delete marker column of a cdc source.
    pub delete_marker: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    /// `string`, `int`, `decimal`, `bool`, `date`, `timestamp` or `enum`.
    #[serde(rename = "type")]
    pub ty: String,
    pub precision: Option<u8>,
    pub scale: Option<u8>,
    pub values: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub nullable: bool,
    pub default: Option<serde_json::Value>,
    pub references: Option<Reference>,
    #[serde(default)]
    pub pii: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Reference {
    pub dimension: String,
    pub level: String,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.dimension, self.level)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSpec {
    /// The column a row's age counts from: for events, when the event happened.
    pub by: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct FreshnessSpec {
    /// The longest time between two scheduled loads: every schedule has one.
    pub expected_every_minutes: u64,
}

impl Spec {
    /// Reads `plan.json` in `generated`.
    pub fn load(generated: &Path) -> Result<Spec> {
        plan::load(generated).map(|p| Spec::from(&p))
    }

    /// Reads `plan.json` text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Spec> {
        plan::parse(text, origin).map(|p| Spec::from(&p))
    }
}

impl From<&Plan> for Spec {
    fn from(plan: &Plan) -> Spec {
        let named = |name: &String| Named { name: name.clone() };
        Spec {
            version: plan.version,
            sources: plan.sources.iter().map(SourceSpec::from).collect(),
            marts: plan.marts.iter().map(|m| named(&m.name)).collect(),
            reports: plan.reports.iter().map(|r| named(&r.name)).collect(),
        }
    }
}

impl From<&plan::SourcePlan> for SourceSpec {
    fn from(s: &plan::SourcePlan) -> SourceSpec {
        let (column, delete_marker) = match &s.load {
            plan::Load::Incremental { column } => (Some(column.clone()), None),
            plan::Load::Cdc { delete_marker } => (None, Some(delete_marker.clone())),
            plan::Load::Snapshot | plan::Load::Append => (None, None),
        };
        SourceSpec {
            name: s.name.clone(),
            title: s.title.clone(),
            landing: LandingSpec {
                pattern: s.landing.pattern.clone(),
                format: s.landing.format.word().to_owned(),
                csv: s.landing.csv.as_ref().map(|c| CsvSpec {
                    delimiter: c.delimiter.clone(),
                    header: c.header,
                    quote: c.quote.clone(),
                    null: c.null.clone(),
                    skip: c.skip,
                }),
            },
            load: LoadSpec { mode: s.load.mode().to_owned(), column, delete_marker },
            key: s.key.clone(),
            columns: s.columns.iter().map(ColumnSpec::from).collect(),
            retention: Some(RetentionSpec { by: s.retention.by.clone() }),
            freshness: Some(FreshnessSpec {
                expected_every_minutes: s.freshness.expected_every_minutes,
            }),
        }
    }
}

impl From<&plan::Column> for ColumnSpec {
    fn from(c: &plan::Column) -> ColumnSpec {
        let (precision, scale, values) = match &c.ty {
            plan::ColumnType::Decimal { precision, scale } => {
                (Some(*precision), Some(*scale), None)
            }
            plan::ColumnType::Enum { values } => (None, None, Some(values.clone())),
            _ => (None, None, None),
        };
        ColumnSpec {
            name: c.name.clone(),
            ty: c.ty.word().to_owned(),
            precision,
            scale,
            values,
            nullable: c.nullable,
            default: c.default.clone(),
            references: c
                .references
                .as_ref()
                .map(|r| Reference { dimension: r.dimension.clone(), level: r.level.clone() }),
            pii: c.pii.clone(),
        }
    }
}

impl SourceSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.key.iter().any(|k| k == name)
    }
}

impl ColumnSpec {
    pub fn has_pii(&self, class: &str) -> bool {
        self.pii.iter().any(|p| p == class)
    }

    /// The default as text, if the column has one.
    pub fn default_text(&self) -> Option<String> {
        match self.default.as_ref()? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}
