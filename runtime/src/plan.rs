//! `generated/plan.json`, as the contract crate defines it: the compiler writes it with the same
//! types, so every field it writes is a field the runtime can read. This module reads the file
//! and turns a plan the runtime cannot read into one error (`R0101`), whichever command reads
//! it.

use crate::error::{Error, Result};
use std::path::Path;

pub use tally_contract::plan::*;

/// Reads `dir/plan.json`.
pub fn load(dir: &Path) -> Result<Plan> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::new("R0101", format!("cannot read {}: {e}", path.display()))
            .help("run `tally compile` to write generated/, or pass --generated DIR")
    })?;
    parse(&text, &path.display().to_string())
}

/// Reads `plan.json` text; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<Plan> {
    Plan::from_json(text).map_err(|problem| {
        let help = match problem {
            PlanError::Version { .. } => "compile the definitions with this version of tally",
            PlanError::Malformed { .. } => "regenerate it with the `tally compile` of this tally version",
        };
        Error::new("R0101", format!("{origin}: {problem}")).help(help)
    })
}

/// The parts of a plan that exist once per dialect.
pub trait PerDialect {
    fn runtime_sql(&self, dialect: Dialect) -> Result<&RuntimeSql>;
}

impl PerDialect for Plan {
    fn runtime_sql(&self, dialect: Dialect) -> Result<&RuntimeSql> {
        self.runtime.get(&dialect).ok_or_else(|| missing_dialect(dialect))
    }
}

/// A source's statements in one dialect.
pub trait SourceStatements {
    fn sql(&self, dialect: Dialect) -> Result<&SourceSql>;
}

impl SourceStatements for SourcePlan {
    fn sql(&self, dialect: Dialect) -> Result<&SourceSql> {
        self.sql.get(&dialect).ok_or_else(|| missing_dialect(dialect))
    }
}

pub fn missing_dialect(dialect: Dialect) -> Error {
    Error::new("R0101", format!("plan.json has no statements for {}", dialect.name()))
        .help("regenerate it with `tally compile`")
}
