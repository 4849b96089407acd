//! The ETL plan (`generated/plan.json`) as the runtime reads it. The compiler writes the
//! format (see `docs/artifacts.md` and `docs/plan.schema.json`); this module reads the parts
//! the runtime executes and ignores the rest, so documentation fields can grow freely.

use crate::backend::Dialect;
use crate::error::{codes, Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The plan format versions this runtime executes.
pub const SUPPORTED_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub file_steps: Vec<String>,
    pub runtime: BTreeMap<String, RuntimeSql>,
    pub sources: Vec<SourcePlan>,
    pub metrics: Vec<MetricPlan>,
    pub marts: Vec<TablePlan>,
    pub aggregates: Vec<TablePlan>,
    pub reports: Vec<ReportPlan>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeSql {
    pub next_batch: String,
    pub ledger_lookup: String,
    pub last_loads: String,
    pub run_log: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourcePlan {
    pub name: String,
    pub title: Option<String>,
    pub schedule: Schedule,
    pub freshness: Freshness,
    pub landing: Landing,
    pub load: Load,
    pub key: Vec<String>,
    pub columns: Vec<Column>,
    pub tables: SourceTables,
    pub sql: BTreeMap<String, SourceSql>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schedule {
    pub kind: String,
    /// The schedule as five cron fields (minute hour day-of-month month day-of-week), UTC.
    pub cron: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Freshness {
    pub expected_every_minutes: Option<u64>,
    pub late_after_minutes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Landing {
    /// A glob relative to the landing directory, e.g. `seacats/*.csv`.
    pub pattern: String,
    /// `csv`, `jsonl` or `parquet`.
    pub format: String,
    pub csv: Option<Csv>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Csv {
    pub header: bool,
    pub skip: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Load {
    /// `snapshot`, `append`, `incremental` or `cdc`.
    pub mode: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub pii: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourceTables {
    pub staging: String,
    pub current: String,
    pub archive: String,
    pub raw: String,
}

/// A source's statements for one dialect, per step.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourceSql {
    #[serde(default)]
    pub convert: Vec<String>,
    pub load: Vec<String>,
    pub validate: Vec<String>,
    pub merge: Vec<String>,
    pub archive_deleted: Vec<String>,
    pub record: Vec<String>,
    pub clear_staging: Vec<String>,
    pub retention: Vec<String>,
}

impl SourceSql {
    /// The statements of a file step, by its name in `file_steps`.
    pub fn step(&self, name: &str) -> Option<&[String]> {
        Some(match name {
            "load" => &self.load,
            "validate" => &self.validate,
            "merge" => &self.merge,
            "archive_deleted" => &self.archive_deleted,
            "record" => &self.record,
            "clear_staging" => &self.clear_staging,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricPlan {
    pub name: String,
    pub title: Option<String>,
    pub derived: bool,
    pub source: Option<String>,
    pub inputs: Inputs,
    pub refresh: Vec<Refresh>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Inputs {
    pub metrics: Vec<String>,
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refresh {
    pub table: String,
    pub sql: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TablePlan {
    pub name: String,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub table: String,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub grain: Option<String>,
    pub grains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReportPlan {
    pub name: String,
    pub title: Option<String>,
    pub mart: String,
    pub table: String,
    pub metrics: Vec<String>,
    pub columns: Vec<String>,
    pub sql: BTreeMap<String, String>,
}

impl Plan {
    /// Reads `plan.json` text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Plan> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("{origin} line {}: {e}", e.line()))
                .help("regenerate it with `tally compile`")
        })?;
        if plan.version != SUPPORTED_VERSION {
            return Err(Error::new(
                codes::GENERATED_UNREADABLE,
                format!(
                    "{origin} is plan format version {}, this tally runs version {SUPPORTED_VERSION}",
                    plan.version
                ),
            )
            .help("compile the definitions with this version of tally"));
        }
        Ok(plan)
    }

    pub fn runtime_sql(&self, dialect: Dialect) -> Result<&RuntimeSql> {
        self.runtime.get(dialect.name()).ok_or_else(|| missing_dialect(dialect))
    }

    pub fn source(&self, name: &str) -> Option<&SourcePlan> {
        self.sources.iter().find(|s| s.name == name)
    }
}

impl SourcePlan {
    pub fn sql(&self, dialect: Dialect) -> Result<&SourceSql> {
        self.sql.get(dialect.name()).ok_or_else(|| missing_dialect(dialect))
    }

    /// The title when there is one, else the name: how reports name a source system.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}

fn missing_dialect(dialect: Dialect) -> Error {
    Error::new(
        codes::GENERATED_UNREADABLE,
        format!("plan.json has no statements for {}", dialect.name()),
    )
    .help("regenerate it with `tally compile`")
}
