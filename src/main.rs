//! `tally`: the command line of the Tally metric compiler.
//!
//! The binary is thin: it reads files, calls the compiler (which does no I/O) and prints what
//! comes back. Data goes to stdout, diagnostics meant for people and progress to stderr.
//! Exit codes: 0 success, 1 problems found (diagnostics, unformatted files), 2 usage errors.

mod disk;
mod ops;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand, ValueEnum};
use disk::DiskFs;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_compiler::diagnostic::{self, render, Diagnostic};
use tally_compiler::source::SourceMap;
use tally_compiler::span::FileId;

#[derive(Debug, Parser)]
#[command(name = "tally", version, about = "Declarative metric compiler", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and check a project; report every problem found
    Check {
        /// The project directory (holding tally.yaml)
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// How to print diagnostics
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Format .tally files canonically
    Fmt {
        /// Report unformatted files with a diff instead of rewriting them
        #[arg(long)]
        check: bool,
        /// .tally files or directories searched recursively, or `-` to format standard input
        /// to standard output (for editors)
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
    },
    /// Print the syntax tree of one file as JSON (a debugging aid)
    Parse {
        /// The .tally file
        file: PathBuf,
    },
    /// Compile a project into generated/: SQL migrations per dialect, the ETL plan, policies
    Compile {
        /// The project directory (holding tally.yaml)
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The output directory
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Write nothing; exit 1 and name the stale files when the output is not up to date
        #[arg(long)]
        check: bool,
    },
    /// Print the dependency graph of sources, tables, metrics, marts and policies
    Graph {
        /// The project directory (holding tally.yaml)
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Show the source columns a metric depends on, and the personal data among them
    Lineage {
        /// The metric's name
        metric: String,
        /// The project directory (holding tally.yaml)
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = LineageFormat::Text)]
        format: LineageFormat,
    },
    /// Apply generated migrations to a warehouse database (`migrate status` to compare)
    Migrate(ops::migrate::MigrateArgs),
    /// Load landed files for the sources that are due, then refresh marts and metrics
    Run(ops::run::RunArgs),
    /// Show each source's last load and whether it is late for its schedule
    Status(ops::run::StatusArgs),
    /// Apply retention: archive rows past warehouse retention, purge expired archive rows
    Retain(ops::run::RetainArgs),
    /// Read a metric, a report, its rows or ad hoc SQL as a user may see it
    Query(Box<ops::query::QueryArgs>),
    /// Manage users: add, grant and revoke roles, disable, reinstate, reset sign-on, list
    User(ops::user::UserArgs),
    /// Serve the JSON API over HTTP: users sign in and query as their roles allow
    Serve(ops::serve::ServeArgs),
    /// Verify, list and show the audit trail
    Audit(ops::audit::AuditArgs),
    /// Write deterministic synthetic landing files for every source of the plan
    GenData(ops::gendata::GenDataArgs),
    /// Write a synthetic project of any number of metrics, for compile benchmarks
    GenProject(ops::genproject::GenProjectArgs),
    /// The EMIS-EDW demo end to end: compile, generate data, migrate a fresh DuckDB, run the
    /// ETL, and print each dashboard's headline metrics with their source systems
    Demo(ops::demo::DemoArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    /// Graphviz
    Dot,
    /// A Mermaid flowchart
    Mermaid,
    /// Nodes, edges and the topological order, for programs
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LineageFormat {
    /// A table for people
    Text,
    /// JSON, for programs
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Labelled source excerpts, for people
    Human,
    /// A JSON array, for programs
    Json,
    /// GitHub Actions workflow annotations, for CI
    Github,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { dir, format } => check(&dir, format),
        Command::Fmt { check, paths } => fmt(&paths, check),
        Command::Parse { file } => parse(&file),
        Command::Compile { dir, out, check } => compile(&dir, &out, check),
        Command::Graph { dir, format } => graph(&dir, format),
        Command::Lineage { metric, dir, format } => lineage(&metric, &dir, format),
        Command::Migrate(args) => ops::migrate::main(args),
        Command::Run(args) => ops::run::run(args),
        Command::Status(args) => ops::run::status(args),
        Command::Retain(args) => ops::run::retain(args),
        Command::Query(args) => ops::query::main(*args),
        Command::User(args) => ops::user::main(args),
        Command::Serve(args) => ops::serve::main(args),
        Command::Audit(args) => ops::audit::main(args),
        Command::GenData(args) => ops::gendata::main(args),
        Command::GenProject(args) => ops::genproject::main(args),
        Command::Demo(args) => ops::demo::main(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Colour only for a terminal, and never when `NO_COLOR` is set (https://no-color.org).
fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn print_human(diagnostics: &[Diagnostic], sources: &SourceMap) {
    let text = render::human(diagnostics, sources, use_color());
    let mut stderr = std::io::stderr().lock();
    // A closed stderr is not worth failing over; the exit code still tells.
    let _ = stderr.write_all(text.as_bytes());
}

fn check(dir: &Path, format: OutputFormat) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("`{}` is not a directory: `tally check` takes a project directory", dir.display());
    }
    let checked = tally_compiler::check(&DiskFs::new(dir), &display_path(dir));
    let diagnostics = checked.diagnostics();
    let sources = &checked.project.sources;
    match format {
        OutputFormat::Human => {
            print_human(diagnostics, sources);
            let files = checked.project.modules.len();
            let noun = if files == 1 { "file" } else { "files" };
            eprintln!("checked {files} {noun}: {}", render::summary(diagnostics));
        }
        OutputFormat::Json => print!("{}", render::json(diagnostics, sources)),
        OutputFormat::Github => print!("{}", render::github(diagnostics, sources)),
    }
    Ok(if checked.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Checks the project in `dir`; on errors prints them and returns `None`.
fn checked_project(dir: &Path) -> anyhow::Result<Option<tally_compiler::Checked>> {
    if !dir.is_dir() {
        bail!("`{}` is not a directory: expected a project directory", dir.display());
    }
    let checked = tally_compiler::check(&DiskFs::new(dir), &display_path(dir));
    print_human(checked.diagnostics(), &checked.project.sources);
    if checked.has_errors() {
        eprintln!(
            "{}: fix these first (`tally check` lists them)",
            render::summary(checked.diagnostics())
        );
        return Ok(None);
    }
    Ok(Some(checked))
}

fn graph(dir: &Path, format: GraphFormat) -> anyhow::Result<ExitCode> {
    let Some(checked) = checked_project(dir)? else { return Ok(ExitCode::FAILURE) };
    let (graph, _) = tally_compiler::graph::build(&checked.model);
    print!(
        "{}",
        match format {
            GraphFormat::Dot => graph.to_dot(),
            GraphFormat::Mermaid => graph.to_mermaid(),
            GraphFormat::Json => graph.to_json(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn lineage(metric: &str, dir: &Path, format: LineageFormat) -> anyhow::Result<ExitCode> {
    let Some(checked) = checked_project(dir)? else { return Ok(ExitCode::FAILURE) };
    let Some(lineage) = tally_compiler::semantic::lineage::lineage(&checked.model, metric) else {
        let names: Vec<&str> = checked.model.metrics.keys().map(String::as_str).collect();
        bail!(
            "no metric `{metric}` in `{}`: {}",
            dir.display(),
            diagnostic::did_you_mean(metric, &names, "metric")
        );
    };
    match format {
        LineageFormat::Text => print!("{}", lineage.to_text()),
        LineageFormat::Json => println!("{}", serde_json::to_string_pretty(&lineage)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn compile(dir: &Path, out: &Path, check_only: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("`{}` is not a directory: `tally compile` takes a project directory", dir.display());
    }
    let previous = DiskFs::new(out);
    let (checked, result) =
        tally_compiler::compile(&DiskFs::new(dir), &display_path(dir), &previous);
    let sources = &checked.project.sources;
    print_human(checked.diagnostics(), sources);
    let artifacts = match result {
        Ok(Some(artifacts)) => artifacts,
        Ok(None) => {
            eprintln!("{}: nothing compiled", render::summary(checked.diagnostics()));
            return Ok(ExitCode::FAILURE);
        }
        Err(diagnostics) => {
            print_human(&diagnostics, sources);
            eprintln!("{}: nothing written", render::summary(&diagnostics));
            return Ok(ExitCode::FAILURE);
        }
    };
    print_human(&artifacts.warnings, sources);
    let stale = tally_compiler::codegen::compile::stale(&artifacts, &previous);
    let out_name = display_path(out);
    if check_only {
        if stale.is_empty() {
            eprintln!("{out_name} is up to date");
            return Ok(ExitCode::SUCCESS);
        }
        for path in &stale {
            println!("{out_name}/{path}");
        }
        eprintln!(
            "{} stale file(s) in {out_name}; run `tally compile {} --out {out_name}`",
            stale.len(),
            display_path(dir)
        );
        return Ok(ExitCode::FAILURE);
    }
    for path in &stale {
        let target = out.join(path);
        match artifacts.files.get(path) {
            Some(contents) => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create `{}`", parent.display()))?;
                }
                std::fs::write(&target, contents)
                    .with_context(|| format!("cannot write `{}`", target.display()))?;
                eprintln!("wrote {out_name}/{path}");
            }
            None => {
                std::fs::remove_file(&target)
                    .with_context(|| format!("cannot remove `{}`", target.display()))?;
                eprintln!("removed {out_name}/{path}");
            }
        }
    }
    if stale.is_empty() {
        eprintln!("{out_name} is up to date");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse(file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut sources = SourceMap::new();
    let id = sources.add(display_path(file), text);
    let (module, diagnostics) = tally_compiler::syntax::parse(id, &sources.file(id).text);
    println!("{}", serde_json::to_string_pretty(&module)?);
    print_human(&diagnostics, &sources);
    Ok(if diagnostic::has_errors(&diagnostics) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn fmt_stdin(check_only: bool) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("cannot read standard input")?;
    match tally_compiler::format::format(FileId(0), &text) {
        Ok(formatted) if check_only => {
            Ok(if formatted == text { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Ok(formatted) => {
            print!("{formatted}");
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            let mut sources = SourceMap::new();
            sources.add("<stdin>", text);
            print_human(&diagnostics, &sources);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn fmt(paths: &[PathBuf], check_only: bool) -> anyhow::Result<ExitCode> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        if paths.len() > 1 {
            bail!("`-` (standard input) cannot be combined with other paths");
        }
        return fmt_stdin(check_only);
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            disk::walk(path, &mut found)
                .with_context(|| format!("cannot list `{}`", path.display()))?;
            files.extend(found.into_iter().filter(|p| p.extension().is_some_and(|e| e == "tally")));
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("`{}` does not exist", path.display());
        }
    }
    let (mut changed, mut failed) = (0usize, 0usize);
    for file in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        let formatted = match tally_compiler::format::format(FileId(0), &text) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                let mut sources = SourceMap::new();
                sources.add(display_path(file), text);
                print_human(&diagnostics, &sources);
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check_only {
            let name = display_path(file);
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            print!(
                "{}",
                diff.unified_diff().context_radius(3).header(&name, &format!("{name} (formatted)"))
            );
        } else {
            std::fs::write(file, &formatted)
                .with_context(|| format!("cannot write `{}`", file.display()))?;
        }
    }
    let total = files.len();
    if failed > 0 {
        eprintln!("{failed} of {total} files have syntax errors and were left as they are");
    }
    if check_only {
        if changed > 0 {
            let shown: Vec<String> = paths.iter().map(|p| display_path(p)).collect();
            eprintln!(
                "{changed} of {total} files are not formatted; run `tally fmt {}`",
                shown.join(" ")
            );
        } else if failed == 0 {
            eprintln!("{total} files already formatted");
        }
        return Ok(if changed > 0 || failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    eprintln!("formatted {total} files, {changed} changed");
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
