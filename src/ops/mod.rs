//! The operator's commands: they run what `generated/` holds against a warehouse database,
//! through `tally-runtime`. Shared here: which database and which `generated/`, and printing
//! runtime errors.

pub mod audit;
pub mod demo;
pub mod gendata;
pub mod genproject;
pub mod migrate;
pub mod query;
pub mod run;
pub mod serve;
pub mod user;

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the warehouse is and what to run against it.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The warehouse: a DuckDB file path, or a postgres:// URL
    #[arg(long, env = "TALLY_DB", default_value = "warehouse.duckdb")]
    pub db: String,
    /// The output of `tally compile`
    #[arg(long, default_value = "generated")]
    pub generated: PathBuf,
}

/// `--now` (a timestamp or date), else the clock, UTC.
pub fn now_or_clock(now: Option<&str>) -> tally_runtime::Result<chrono::NaiveDateTime> {
    match now {
        Some(text) => tally_runtime::etl::parse_time(text),
        None => Ok(chrono::Utc::now().naive_utc()),
    }
}

/// Prints a runtime error (code, message, help) and gives exit code 1.
pub fn fail(error: &tally_runtime::Error) -> ExitCode {
    eprintln!("{error}");
    ExitCode::FAILURE
}
