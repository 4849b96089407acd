//! `tally query`: a metric, a report, the rows behind a metric, or ad hoc SQL, as a user may
//! see it, through `tally_runtime::query`. This module reads the arguments and prints; what
//! the user may see is decided in the runtime.

use super::{fail, Target};
use clap::{Args, ValueEnum};
use std::process::ExitCode;
use tally_runtime::backend;
use tally_runtime::error::codes;
use tally_runtime::etl;
use tally_runtime::query::{self, catalog::Catalog, output, Request, What};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people, with sources and suppression notes below
    Table,
    /// CSV, with `# sources: ...` as a trailing comment line
    Csv,
    /// One JSON object, for programs
    Json,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    target: Target,
    /// The metric to read (or, with --drill, whose rows to list)
    #[arg(required_unless_present_any = ["report", "sql"], conflicts_with_all = ["report", "sql"])]
    metric: Option<String>,
    /// The user the query runs as: their roles, scope and thresholds apply
    #[arg(long = "as", value_name = "USER")]
    user: String,
    /// A declared report instead of a metric
    #[arg(long, value_name = "REPORT", conflicts_with = "sql")]
    report: Option<String>,
    /// One ad hoc SELECT over the mart and aggregate tables (roles with `allow ad_hoc`)
    #[arg(long, value_name = "SELECT")]
    sql: Option<String>,
    /// List the PII-free source rows behind the metric (roles with `allow drill_down`)
    #[arg(long, requires = "metric")]
    drill: bool,
    /// Break the metric down by these dimensions: `location.port`, `seizures.kind`,
    /// `time.month`
    #[arg(long, value_name = "DIM,...", value_delimiter = ',')]
    by: Vec<String>,
    /// Only rows whose member of DIM is VALUE (may be repeated)
    #[arg(long = "where", value_name = "DIM=VALUE")]
    filters: Vec<String>,
    /// Periods starting at or after this time (UTC)
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Periods starting before this time (UTC)
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// The mart that answers (a metric's cells, or whose declared drill-down lists the rows);
    /// default: the first the role reads, by name, that has every column asked for
    #[arg(long, value_name = "MART", conflicts_with = "sql")]
    mart: Option<String>,
    /// The time grain (`day`, `month`, `fiscal_year`, ...); default: the table's finest
    #[arg(long, value_name = "GRAIN")]
    grain: Option<String>,
    /// Only the rows of the cut asked for, without the subtotals and total of the scope
    #[arg(long)]
    no_totals: bool,
    /// At most this many rows (drill-down: 1000, ad hoc SQL: 10000 by default)
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// The time of the query, UTC, instead of the clock (account lapse, audit)
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn request(args: &QueryArgs) -> tally_runtime::Result<Request> {
    let now = match &args.now {
        Some(t) => etl::parse_time(t)?,
        None => chrono::Utc::now().naive_utc(),
    };
    let what = match (&args.metric, &args.report, &args.sql) {
        (_, Some(report), _) => What::Report(report.clone()),
        (_, _, Some(sql)) => What::Sql(sql.clone()),
        (Some(metric), _, _) if args.drill => What::Drill(metric.clone()),
        (Some(metric), _, _) => What::Metric(metric.clone()),
        (None, None, None) => {
            return Err(tally_runtime::Error::new(codes::QUERY_OPTIONS, "nothing to query")
                .help("name a METRIC, or give --report or --sql"))
        }
    };
    let mut request = Request::new(&args.user, what, now);
    request.by = args.by.iter().map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect();
    for filter in &args.filters {
        let Some((dim, value)) = filter.split_once('=') else {
            return Err(tally_runtime::Error::new(
                codes::QUERY_OPTIONS,
                format!("`--where {filter}` is not DIM=VALUE"),
            )
            .help("write e.g. --where location.port=0901"));
        };
        request.filters.push((dim.trim().to_string(), value.to_string()));
    }
    request.from = args.from.as_deref().map(etl::parse_time).transpose()?;
    request.to = args.to.as_deref().map(etl::parse_time).transpose()?;
    request.grain = args.grain.clone();
    request.mart = args.mart.clone();
    request.totals = !args.no_totals;
    request.limit = args.limit;
    Ok(request)
}

pub fn main(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let request = match request(&args) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    let catalog = match Catalog::load(&args.target.generated) {
        Ok(c) => c,
        Err(e) => return Ok(fail(&e)),
    };
    let mut db = match backend::open(&args.target.db) {
        Ok(db) => db,
        Err(e) => return Ok(fail(&e)),
    };
    match query::run(db.as_mut(), &catalog, &request) {
        Ok(answer) => {
            let text = match args.format {
                Format::Table => output::table(&answer),
                Format::Csv => output::csv(&answer),
                Format::Json => output::json(&answer),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(fail(&e)),
    }
}
