//! `tally gen-data`: writes deterministic synthetic landing files for every source of a
//! compiled project, through `tally_runtime::gendata`, shaped by the project's profile
//! (`generated/gendata.json`, or `--profile FILE`). This module reads arguments, draws the
//! progress bar and prints the summary.

use super::fail;
use super::run::Format;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tally_runtime::error::codes;
use tally_runtime::gendata::{self, profile, GenOptions, GenProgress};
use tally_runtime::Error;

#[derive(Debug, Args)]
pub struct GenDataArgs {
    /// The output of `tally compile`: gen-data reads its plan.json, and its gendata.json (the
    /// project's profile) when there is one
    #[arg(long, default_value = "generated")]
    generated: PathBuf,
    /// A YAML profile to use instead of the project's (the format of gendata.yaml), checked
    /// against the plan
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Where to write the landing files (a new or empty directory)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How much data: 1 is the profile's volumes in full (rows per day, members); the default
    /// is a demo that loads in seconds
    #[arg(long, default_value_t = gendata::DEMO_SCALE)]
    scale: f64,
    /// The random seed: the same seed and options give the same bytes
    #[arg(long, default_value_t = gendata::DEFAULT_SEED)]
    seed: u64,
    /// The first day of the period (YYYY-MM-DD); default the first day of fiscal year 2025 in
    /// the project's calendar
    #[arg(long, value_name = "DATE")]
    start: Option<String>,
    /// The period's length in days; its last day holds the follow-up batches
    #[arg(long, default_value_t = gendata::DEFAULT_DAYS)]
    days: u32,
    /// Add this many rows the loader must reject (a non-numeric int, a date that does not exist)
    #[arg(long, default_value_t = 0)]
    bad_rows: u32,
    /// How to print the summary
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn main(args: GenDataArgs) -> anyhow::Result<ExitCode> {
    Ok(run(&args).unwrap_or_else(|e| fail(&e)))
}

fn run(args: &GenDataArgs) -> tally_runtime::Result<ExitCode> {
    let mut options = GenOptions {
        scale: args.scale,
        seed: args.seed,
        days: args.days,
        bad_rows: args.bad_rows,
        ..GenOptions::default()
    };
    if let Some(start) = &args.start {
        let date = chrono::NaiveDate::parse_from_str(start.trim(), "%Y-%m-%d").map_err(|_| {
            Error::new(codes::GEN_DATA_OPTIONS, format!("--start `{start}` is not a date"))
                .help("write the first day of the period as YYYY-MM-DD, e.g. 2024-10-01")
        })?;
        options.start = Some(date);
    }
    let plan = tally_runtime::plan::load(&args.generated)?;
    let profile = match &args.profile {
        Some(path) => profile::read_yaml(path, &plan)?,
        None => profile::load(&args.generated)?,
    };
    let mut progress = Bar::new();
    let report = gendata::generate(&plan, &profile, &options, &args.out, &mut progress)?;
    progress.finish();
    match args.format {
        Format::Human => println!("{report}"),
        Format::Json => {
            let json = serde_json::to_string_pretty(&report).map_err(|e| {
                Error::new(codes::GEN_DATA_OUTPUT, format!("cannot print the summary: {e}"))
            })?;
            println!("{json}");
        }
    }
    eprintln!(
        "wrote {} files, {} rows, to {}",
        report.total_files(),
        report.total_rows(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One bar over the sources, on a terminal only and not under CI.
struct Bar {
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for Bar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bar").field("visible", &self.bar.is_some()).finish()
    }
}

impl Bar {
    fn new() -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let visible = std::io::stderr().is_terminal() && !ci;
        Bar {
            bar: visible.then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl GenProgress for Bar {
    fn source(&mut self, name: &str, index: usize, total: usize) {
        if let Some(bar) = &self.bar {
            if bar.length().is_none() {
                bar.set_length(total as u64);
                if let Ok(style) =
                    ProgressStyle::with_template("{bar:30} {pos}/{len} sources  {msg}")
                {
                    bar.set_style(style);
                }
            }
            bar.set_position(index as u64);
            bar.set_message(name.to_owned());
        }
    }

    fn file(&mut self, path: &str, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{path} ({rows} rows)"));
        }
    }
}
