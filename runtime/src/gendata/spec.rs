//! What `tally gen-data` reads of `generated/plan.json`: per source its landing pattern and
//! format, load mode, key and typed columns (with enum values, references and PII classes),
//! and which column its rows' age is counted from. It reads more of each column than
//! [`crate::plan`] (which keeps only what the ETL executes), and ignores the statements.

use crate::error::{codes, Error, Result};
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
    pub expected_every_minutes: Option<u64>,
}

impl Spec {
    /// Reads `plan.json` in `generated`.
    pub fn load(generated: &Path) -> Result<Spec> {
        let path = generated.join("plan.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("cannot read {}: {e}", path.display()))
                .help("pass the output of `tally compile` with --generated DIR")
        })?;
        Spec::parse(&text, &path.display().to_string())
    }

    /// Reads `plan.json` text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Spec> {
        let spec: Spec = serde_json::from_str(text).map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("{origin} line {}: {e}", e.line()))
                .help("regenerate it with `tally compile`")
        })?;
        if spec.version != crate::plan::SUPPORTED_VERSION {
            return Err(Error::new(
                codes::GENERATED_UNREADABLE,
                format!(
                    "{origin} is plan format version {}, gen-data reads version {}",
                    spec.version,
                    crate::plan::SUPPORTED_VERSION
                ),
            )
            .help("compile the definitions with this version of tally"));
        }
        Ok(spec)
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
