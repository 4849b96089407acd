//! `tally demo`: the EMIS-EDW warehouse end to end on an embedded DuckDB file, as an operator
//! would run it. Each step is the real `tally` command, run as a child process of this binary,
//! so the demo shows exactly what the commands do and cannot drift from them:
//!
//! 1. `tally compile metrics-dsl --out DIR/generated`
//! 2. `tally gen-data --out DIR/landing` (synthetic data, fake names only)
//! 3. `tally migrate` on a fresh `DIR/warehouse.duckdb`
//! 4. `tally run --once --now <the end of the generated period>`
//! 5. `tally user add` of a headquarters analyst (national scope) and of a security officer
//!    (the TASPD Security dashboard's only reader)
//! 6. for each dashboard, its headline metrics at the national level for the fiscal year, as
//!    that analyst may see them (`tally query --format json`: granted, scoped, suppressed), with
//!    the source systems named under each dashboard, as the PIA requires of every report.

use anyhow::{bail, Context as _};
use clap::Args;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The definition set to compile
    #[arg(long, default_value = "metrics-dsl")]
    project: PathBuf,
    /// The demo's working directory: generated/, landing/ and the warehouse file go there;
    /// it is emptied first
    #[arg(long, default_value = "demo")]
    dir: PathBuf,
    /// How much synthetic data (see `tally gen-data --help`)
    #[arg(long)]
    scale: Option<f64>,
    /// The random seed of the synthetic data
    #[arg(long)]
    seed: Option<u64>,
    /// How many headline metrics to show per dashboard
    #[arg(long, default_value_t = 6)]
    metrics_per_dashboard: usize,
}

const ANALYST: &str = "demo_hq_analyst";
/// The TASPD Security dashboard reviews the audit log: only the ISSO role is granted it.
const ISSO: &str = "demo_isso";

pub fn main(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !args.project.join("tally.yaml").is_file() {
        bail!(
            "{} holds no tally.yaml: run the demo from the repository root, or name the \
             definition set with --project",
            args.project.display()
        );
    }
    if args.dir.exists() {
        // Only a directory the demo made itself is emptied.
        let ours = args.dir.join("warehouse.duckdb").exists()
            || std::fs::read_dir(&args.dir)?.next().is_none();
        if !ours {
            bail!(
                "{} exists and is not a demo directory; name another with --dir",
                args.dir.display()
            );
        }
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot empty {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)?;
    let generated = args.dir.join("generated");
    let landing = args.dir.join("landing");
    let db = args.dir.join("warehouse.duckdb");
    let (gen, db_s) = (generated.display().to_string(), db.display().to_string());

    step("compile the EMIS-EDW definitions");
    tally(&["compile", &args.project.display().to_string(), "--out", &gen])?;

    step("generate synthetic landing files (fake people only)");
    let mut gen_args = vec!["gen-data".to_owned(), "--generated".into(), gen.clone()];
    gen_args.extend(["--out".into(), landing.display().to_string()]);
    if let Some(scale) = args.scale {
        gen_args.extend(["--scale".into(), scale.to_string()]);
    }
    if let Some(seed) = args.seed {
        gen_args.extend(["--seed".into(), seed.to_string()]);
    }
    gen_args.extend(["--format".into(), "json".into()]);
    let summary = tally_output(&gen_args)?;
    let summary: serde_json::Value =
        serde_json::from_str(&summary).context("gen-data printed no JSON summary")?;
    let end = summary["end"].as_str().context("gen-data did not say where its period ends")?;
    let now = end.to_owned();
    println!(
        "  {} files, {} rows, {} through {end}",
        count(&summary, "files"),
        count(&summary, "rows"),
        summary["start"].as_str().unwrap_or("?"),
    );

    step("migrate a fresh DuckDB warehouse");
    tally(&["migrate", "--db", &db_s, "--generated", &gen])?;

    step("add a headquarters analyst (national scope) and a security officer (TASPD only)");
    for (user, role) in [(ANALYST, "hq_analyst"), (ISSO, "isso")] {
        tally(&[
            "user",
            "add",
            user,
            "--role",
            role,
            "--db",
            &db_s,
            "--generated",
            &gen,
            "--now",
            &now,
        ])?;
    }

    step("land this warehouse's own audit trail for the TASPD Security dashboard");
    let landing_s = landing.display().to_string();
    tally(&[
        "audit",
        "export",
        "--source",
        "tally_audit",
        "--landing",
        &landing_s,
        "--db",
        &db_s,
        "--generated",
        &gen,
        "--now",
        &now,
    ])?;

    step(&format!("run the ETL at {now}"));
    tally(&["run", "--db", &db_s, "--generated", &gen, "--landing", &landing_s, "--now", &now])?;

    step("dashboards: headline metrics, fiscal year, national");
    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(generated.join("plan.json")).context("no plan.json")?,
    )?;
    let dashboards = plan["marts"].as_array().cloned().unwrap_or_default();
    for mart in dashboards.iter().filter(|m| m["kind"] == "dashboard") {
        dashboard(mart, &db_s, &gen, &now, args.metrics_per_dashboard)?;
    }
    println!(
        "\nThe warehouse is {db_s}. Try:\n  tally status --db {db_s} --generated {gen} --now '{now}'\n  \
         tally query total_inadmissible --as {ANALYST} --by location.field_office --grain \
         fiscal_year --db {db_s} --generated {gen} --now '{now}'\n  tally audit verify --db {db_s} \
         --generated {gen}"
    );
    Ok(ExitCode::SUCCESS)
}

fn count(summary: &serde_json::Value, what: &str) -> u64 {
    let sources = summary["sources"].as_array().cloned().unwrap_or_default();
    sources
        .iter()
        .map(|s| match what {
            "files" => s["files"].as_array().map_or(0, |f| f.len() as u64),
            _ => s["rows"].as_u64().unwrap_or(0),
        })
        .sum()
}

/// One dashboard: a table of its first metrics' national fiscal-year values.
fn dashboard(
    mart: &serde_json::Value,
    db: &str,
    generated: &str,
    now: &str,
    limit: usize,
) -> anyhow::Result<()> {
    let title = mart["title"].as_str().unwrap_or_default();
    println!("\n{title}");
    let mut lines: Vec<(String, String, String)> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let metrics = mart["metrics"].as_array().cloned().unwrap_or_default();
    for metric in metrics.iter().filter_map(|m| m.as_str()).take(limit) {
        let user = if mart["name"] == "taspd_security" { ISSO } else { ANALYST };
        let ask = |grain: Option<&str>| -> anyhow::Result<serde_json::Value> {
            let mut args: Vec<String> = vec!["query".into(), metric.into()];
            args.extend(["--as".into(), user.into()]);
            if let Some(grain) = grain {
                args.extend(["--grain".into(), grain.into()]);
            }
            args.extend(["--db".into(), db.into(), "--generated".into(), generated.into()]);
            args.extend(["--now".into(), now.into(), "--format".into(), "json".into()]);
            Ok(serde_json::from_str(&tally_output(&args)?).unwrap_or_default())
        };
        // A metric without time (a count of what exists now) has no fiscal year: its value is
        // the one without a grain.
        let answer = ask(Some("fiscal_year")).and_then(|answer| {
            if latest_total(&answer, false).0 != "-" {
                return Ok((answer, false));
            }
            let timeless = ask(None)?;
            Ok(if latest_total(&timeless, true).0 == "-" {
                (answer, false)
            } else {
                (timeless, true)
            })
        });
        let (answer, timeless) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                lines.push((metric.to_owned(), "-".into(), format!("{e}")));
                continue;
            }
        };
        for s in answer["sources"].as_array().into_iter().flatten() {
            if let Some(s) = s.as_str() {
                if !sources.iter().any(|x| x == s) {
                    sources.push(s.to_owned());
                }
            }
        }
        let (period, value) = latest_total(&answer, timeless);
        let name = answer["title"].as_str().unwrap_or(metric).to_owned();
        lines.push((name, period, value));
    }
    let w0 = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0).max(6);
    let w1 = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0).max(11);
    println!("  {:w0$}  {:w1$}  {:>14}", "metric", "fiscal year", "value");
    for (name, period, value) in &lines {
        println!("  {name:w0$}  {period:w1$}  {value:>14}");
    }
    println!(
        "  Source systems: {}",
        if sources.is_empty() { "-".into() } else { sources.join("; ") }
    );
    Ok(())
}

/// The latest period's national total of a metric answer: the row cut by no dimension and
/// no bucket or member, with the greatest period (`timeless`: the row without a period, shown
/// as `now`). Suppressed cells show as `*`.
fn latest_total(answer: &serde_json::Value, timeless: bool) -> (String, String) {
    let columns: Vec<String> = answer["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    let period_col = columns.iter().find(|c| c.contains("period")).cloned();
    let rows = answer["rows"].as_array().cloned().unwrap_or_default();
    let total = |row: &serde_json::Value| {
        row["levels"].as_str().is_none_or(str::is_empty)
            && ["bucket", "member"].iter().all(|c| row.get(*c).is_none_or(|v| v.is_null()))
    };
    let period_of = |row: &serde_json::Value| {
        period_col.as_ref().and_then(|c| row[c].as_str()).unwrap_or_default().to_owned()
    };
    let Some(row) = rows
        .iter()
        .filter(|r| total(r) && (!timeless || period_of(r).is_empty()))
        .max_by_key(|r| period_of(r))
    else {
        return ("-".into(), "no data".into());
    };
    let value = if row["suppressed"].as_bool() == Some(true) {
        "*".to_owned()
    } else {
        match &row["value"] {
            serde_json::Value::Null => "-".to_owned(),
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    };
    let period = period_of(row);
    if timeless {
        return ("now".into(), value);
    }
    (period.get(..10).unwrap_or(&period).to_owned(), value)
}

fn step(what: &str) {
    println!("\n== {what}");
}

fn exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find the tally binary")
}

/// Runs `tally ARGS`, its output shown; fails when it fails.
fn tally(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(exe()?).args(args).stdin(Stdio::null()).status()?;
    if !status.success() {
        bail!("`tally {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs `tally ARGS` and returns its stdout; its stderr is shown only when it fails.
fn tally_output(args: &[String]) -> anyhow::Result<String> {
    let output = Command::new(exe()?).args(args).stdin(Stdio::null()).output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("{}", stderr.lines().next().unwrap_or("failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
