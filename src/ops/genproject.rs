//! `tally gen-project`: a deterministic synthetic project of any size, for compile benchmarks
//! (`docs/performance.md`). It knows no real warehouse: sources of events placed at sites, a
//! calendar, a location dimension (site within region), one role that reads every mart.
//!
//! The shape, per source (one source per ten metrics):
//!
//! - six simple metrics, three of them filtered (`count(*)`, `sum`, `count(distinct ...)`,
//!   and each of the first three under a `where`);
//! - two ratios and two sums of two metrics (derived);
//! - `--chain-depth D` more derived metrics, each built on the one before (a chain of D);
//! - one mart publishing them by site and day, with a drill-down list.
//!
//! `--dimensions K` adds K - 1 dimensions beyond the location (each from a small reference
//! source of its own); every event source references each, and every mart is cut by each.
//! The same options give the same bytes.

use super::fail;
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tally_runtime::error::codes;
use tally_runtime::Error;

#[derive(Debug, Args)]
pub struct GenProjectArgs {
    /// How many metrics (simple and derived, chains included), at least 10
    #[arg(long, default_value_t = 1_000)]
    metrics: usize,
    /// Where to write the project (a new or empty directory)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Derived metrics chained on top of each source's metrics (each built on the one before)
    #[arg(long, default_value_t = 0)]
    chain_depth: usize,
    /// Dimensions every mart is cut by besides time (1: the location alone)
    #[arg(long, default_value_t = 1)]
    dimensions: usize,
    /// Sources per `.tally` file
    #[arg(long, default_value_t = 50)]
    sources_per_file: usize,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub metrics: usize,
    pub chain_depth: usize,
    pub dimensions: usize,
    pub sources_per_file: usize,
}

impl Shape {
    /// Metrics per source.
    fn per_source(&self) -> usize {
        10 + self.chain_depth
    }

    /// Event sources: enough for `metrics` (the last one may carry fewer derived metrics).
    fn sources(&self) -> usize {
        self.metrics.div_ceil(self.per_source())
    }
}

pub fn main(args: GenProjectArgs) -> anyhow::Result<ExitCode> {
    Ok(run(&args).unwrap_or_else(|e| fail(&e)))
}

fn run(args: &GenProjectArgs) -> tally_runtime::Result<ExitCode> {
    let shape = Shape {
        metrics: args.metrics,
        chain_depth: args.chain_depth,
        dimensions: args.dimensions,
        sources_per_file: args.sources_per_file,
    };
    let bad = |message: String, help: &str| Error::new(codes::BAD_INPUT, message).help(help);
    if shape.metrics < 10 {
        return Err(bad(
            format!("--metrics {} is too few", shape.metrics),
            "pass 10 or more: a source carries at least 10 metrics",
        ));
    }
    if shape.dimensions == 0 || shape.dimensions > 20 {
        return Err(bad(
            format!("--dimensions {} is out of range", shape.dimensions),
            "pass 1 to 20",
        ));
    }
    if shape.sources_per_file == 0 {
        return Err(bad("--sources-per-file 0 is out of range".into(), "pass 1 or more"));
    }
    let io = |e: std::io::Error, what: &str| {
        Error::new(codes::BAD_INPUT, format!("cannot {what}: {e}"))
            .help("give gen-project a new or empty directory you may write")
    };
    let out = &args.out;
    if out.exists()
        && std::fs::read_dir(out).map_err(|e| io(e, "read the output directory"))?.next().is_some()
    {
        return Err(bad(
            format!("{} is not empty", out.display()),
            "give gen-project a new or empty directory",
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| io(e, "create the output directory"))?;
    let files = project(&shape);
    let mut bytes = 0;
    for (name, text) in &files {
        std::fs::write(out.join(name), text).map_err(|e| io(e, &format!("write {name}")))?;
        bytes += text.len();
    }
    println!(
        "wrote {} files ({} KiB) to {}: {} metrics over {} sources",
        files.len(),
        bytes / 1024,
        out.display(),
        shape.metrics,
        shape.sources()
    );
    Ok(ExitCode::SUCCESS)
}

/// The project's files, by name.
pub fn project(shape: &Shape) -> Vec<(String, String)> {
    let mut files = vec![
        ("tally.yaml".to_owned(), "name: synthetic\ndialect: duckdb\npaths: [.]\n".to_owned()),
        ("reference.tally".to_owned(), reference(shape)),
    ];
    let sources = shape.sources();
    let mut remaining = shape.metrics;
    let mut text = String::new();
    let mut marts = Vec::new();
    for s in 0..sources {
        let metrics = remaining.min(shape.per_source());
        remaining -= metrics;
        marts.push(source(shape, s, metrics, &mut text));
        if (s + 1) % shape.sources_per_file == 0 || s + 1 == sources {
            files.push((format!("sources_{:04}.tally", s / shape.sources_per_file), text));
            text = String::new();
        }
    }
    files.push(("access.tally".to_owned(), access(&marts)));
    files
}

fn reference(shape: &Shape) -> String {
    let mut out = String::from(
        "/// The calendar every metric is counted in.\n\
         calendar time {\n  fiscal_year_start october 1\n  week_start monday\n  \
         grains day, week, month, fiscal_quarter, fiscal_year\n  timezone \"UTC\"\n}\n\n\
         /// Sites and the regions they belong to. Each file is the whole list.\n\
         source sites {\n  title \"Sites\"\n  refresh daily\n  landing \"reference/sites_*.csv\" as csv\n  \
         load snapshot\n  key site_code\n  retain forever\n  columns {\n    site_code   string\n    \
         site_name   string not null\n    region_code string not null\n    region_name string not null\n  }\n}\n\n\
         /// Where things happen: site, region, everywhere.\n\
         dimension location {\n  title \"Sites by region\"\n  from sites\n  level national\n  \
         level region key region_code label region_name\n  level site key site_code label site_name\n  \
         hierarchy national > region > site\n}\n",
    );
    for d in 1..shape.dimensions {
        let _ = write!(
            out,
            "\n/// Reference list {d}.\n\
             source ref_{d} {{\n  title \"Reference list {d}\"\n  refresh daily\n  \
             landing \"reference/ref_{d}_*.csv\" as csv\n  load snapshot\n  key code_{d}\n  retain forever\n  \
             columns {{\n    code_{d}  string\n    label_{d} string not null\n  }}\n}}\n\n\
             dimension dim_{d} {{\n  title \"Dimension {d}\"\n  from ref_{d}\n  \
             level member key code_{d} label label_{d}\n}}\n"
        );
    }
    out
}

/// Writes source `s` with its `metrics` metrics and mart; returns the mart's name.
fn source(shape: &Shape, s: usize, metrics: usize, out: &mut String) -> String {
    let n = format!("{s:05}");
    let src = format!("events_{n}");
    let refresh = ["every 15 minutes", "hourly", "daily", "weekly on monday at 05:00"][s % 4];
    let _ = write!(
        out,
        "\n/// Event feed {s}.\n\
         source {src} {{\n  title \"Event feed {s}\"\n  refresh {refresh}\n  \
         landing \"{src}/*.csv\" as csv\n  load append\n  key event_id\n  \
         retain 6 years by occurred_at\n  columns {{\n    event_id     string\n    \
         occurred_at  timestamp not null\n    site_code    string not null -> location.site\n    \
         kind         enum(alpha, beta, gamma) not null\n    amount       decimal(12, 2)\n    \
         flagged      bool not null default false\n    subject_name string pii(name)\n"
    );
    for d in 1..shape.dimensions {
        let _ = writeln!(out, "    code_{d}       string -> dim_{d}.member");
    }
    out.push_str("  }\n}\n");
    let time = format!("time {src}.occurred_at");
    let simple = [
        ("events", "count(*)".to_owned(), "events"),
        ("amount", format!("sum({src}.amount)"), "usd"),
        ("sites", format!("count(distinct {src}.site_code)"), "sites"),
        ("alpha_events", format!("count(*) where {src}.kind = 'alpha'"), "events"),
        ("flagged_amount", format!("sum({src}.amount) where {src}.flagged"), "usd"),
        (
            "beta_sites",
            format!("count(distinct {src}.site_code) where {src}.kind = 'beta'"),
            "sites",
        ),
    ];
    let name = |m: &str| format!("m{n}_{m}");
    let mut names = Vec::new();
    for (m, measure, unit) in simple.iter().take(metrics) {
        let _ = write!(
            out,
            "\nmetric {} {{\n  title \"{m} of feed {s}\"\n  measure {measure}\n  unit {unit}\n  {time}\n}}\n",
            name(m)
        );
        names.push(name(m));
    }
    let derived = [
        ("amount_per_event", format!("{} / {}", name("amount"), name("events"))),
        ("flagged_share", format!("{} / {}", name("flagged_amount"), name("amount"))),
        ("all_amount", format!("{} + {}", name("amount"), name("flagged_amount"))),
        ("alpha_and_events", format!("{} + {}", name("alpha_events"), name("events"))),
    ];
    for (m, expression) in derived.iter().take(metrics.saturating_sub(simple.len())) {
        let _ = write!(out, "\nmetric {} = {expression}\n", name(m));
        names.push(name(m));
    }
    let mut previous = name("all_amount");
    for c in 0..metrics.saturating_sub(simple.len() + derived.len()) {
        let m = name(&format!("chain_{}", c + 1));
        let _ = write!(out, "\nmetric {m} = {previous} + {}\n", name("amount"));
        names.push(m.clone());
        previous = m;
    }
    let mart = format!("feed_{n}");
    let mut dimensions = vec!["location.site".to_owned()];
    dimensions.extend((1..shape.dimensions).map(|d| format!("dim_{d}.member")));
    dimensions.push("time".to_owned());
    let _ = write!(
        out,
        "\nmart {mart} {{\n  title \"Feed {s}\"\n  kind dashboard\n  metrics {}\n  dimensions {}\n  \
         grain day\n  drill {src} (event_id, occurred_at, site_code, kind, amount)\n}}\n",
        names.join(", "),
        dimensions.join(", ")
    );
    mart
}

fn access(marts: &[String]) -> String {
    format!(
        "users {{\n  attributes {{\n    region string -> location.region\n  }}\n}}\n\n\
         /// Analysts: every mart, nationwide.\n\
         role analyst {{\n  title \"Analyst\"\n  marts {}\n  scope national\n  allow drill_down\n}}\n",
        marts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(metrics: usize, chain_depth: usize, dimensions: usize) -> Shape {
        Shape { metrics, chain_depth, dimensions, sources_per_file: 3 }
    }

    fn count(files: &[(String, String)], what: &str) -> usize {
        files.iter().map(|(_, t)| t.lines().filter(|l| l.starts_with(what)).count()).sum()
    }

    #[test]
    fn the_project_has_the_metrics_asked_for() {
        for (metrics, chain, dimensions) in [(10, 0, 1), (95, 0, 1), (100, 3, 2), (1_000, 0, 3)] {
            let files = project(&shape(metrics, chain, dimensions));
            assert_eq!(count(&files, "metric "), metrics, "{metrics} {chain}");
            let sources = metrics.div_ceil(10 + chain);
            assert_eq!(count(&files, "mart "), sources);
            assert_eq!(count(&files, "source "), sources + dimensions);
            assert_eq!(count(&files, "dimension "), dimensions);
        }
    }

    #[test]
    fn the_same_shape_gives_the_same_bytes() {
        assert_eq!(project(&shape(200, 2, 2)), project(&shape(200, 2, 2)));
    }
}
