//! The real `tally` binary for the CLI tests (`tests/*_cli.rs`, `tests/cli.rs`): one way to
//! run it, read what it printed, set up a project or a warehouse in a temp directory, and mask
//! the temp paths in its output.

use super::root;
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Output;
use tally_runtime::testing::TestDatabase;
use tempfile::TempDir;

/// The binary, run from the repository root with no colour (`NO_COLOR`), no progress bars
/// (`CI`), and none of the operator's `TALLY_*` settings leaking in from the environment.
pub fn tally() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env("NO_COLOR", "1").env("CI", "true").current_dir(root());
    for variable in
        ["TALLY_DB", "TALLY_ACTOR", "TALLY_AUDIT_ANCHOR", "TALLY_FAULT", "TALLY_USER_PASSWORD"]
    {
        cmd.env_remove(variable);
    }
    cmd
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn stdout(output: &Output) -> String {
    text(&output.stdout)
}

pub fn stderr(output: &Output) -> String {
    text(&output.stderr)
}

/// Asserts that the command succeeded (showing both streams when it did not); its stdout.
#[track_caller]
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

/// Asserts that the command was refused with runtime error `code` (exit 1) and said what to
/// do (`help:`); its stderr.
#[track_caller]
pub fn refused(output: &Output, code: &str) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stdout:\n{}\nstderr:\n{err}", stdout(output));
    assert!(err.contains(&format!("error[{code}]")), "{err}");
    assert!(err.contains("help:"), "{err}");
    err
}

/// `text` with the temp directory `dir` written as `[TMP]`, so the output of a command run on
/// a temp directory can be compared whole.
pub fn mask(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "[TMP]")
}

/// Copies the directory `from` into `to` (created), recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// A project in a new temp directory: `tally.yaml` naming it `cli_test`, and `files` (path
/// relative to the project, text).
pub fn temp_project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tally.yaml"), "name: cli_test\n").expect("write tally.yaml");
    for (path, text) in files {
        let file = dir.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("project directory");
        }
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    dir
}

/// `tally compile PROJECT --out DIR/generated` (`project` relative to the repository root, or
/// absolute);
/// returns that `generated` directory.
#[track_caller]
pub fn compile(project: &str, dir: &Path) -> PathBuf {
    let generated = dir.join("generated");
    succeeded(&tally().args(["compile", project, "--out"]).arg(&generated).output().expect("runs"));
    generated
}

/// The two engines every runtime scenario runs on.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    DuckDb,
    Postgres,
}

/// A database for one test: a DuckDB file in a directory, or a fresh PostgreSQL database of
/// its own (dropped with this value).
#[derive(Debug)]
pub struct Warehouse {
    /// What `--db` takes: the DuckDB file's path or the PostgreSQL URL.
    pub target: String,
    _postgres: Option<TestDatabase>,
}

impl Warehouse {
    /// `warehouse.duckdb` in `dir`, or a PostgreSQL database whose name contains `label`.
    pub fn new(engine: Engine, dir: &Path, label: &str) -> Warehouse {
        match engine {
            Engine::DuckDb => Warehouse {
                target: dir.join("warehouse.duckdb").display().to_string(),
                _postgres: None,
            },
            Engine::Postgres => {
                let database = TestDatabase::create(label);
                Warehouse { target: database.url.clone(), _postgres: Some(database) }
            }
        }
    }
}

/// A project compiled from one file, its landing files written, and a fresh warehouse
/// migrated: where a CLI scenario starts.
#[derive(Debug)]
pub struct Setup {
    pub dir: TempDir,
    pub generated: PathBuf,
    pub warehouse: Warehouse,
}

impl Setup {
    /// `main.tally` holding `text`; `files` as (landing folder, file name, content); a
    /// PostgreSQL database named with `label`.
    #[track_caller]
    pub fn new(engine: Engine, text: &str, files: &[(&str, &str, &str)], label: &str) -> Setup {
        let project = temp_project(&[("main.tally", text)]);
        let dir = tempfile::tempdir().expect("temp dir");
        let generated = compile(project.path().to_str().expect("UTF-8 path"), dir.path());
        let landing = dir.path().join("landing");
        for (folder, file, content) in files {
            std::fs::create_dir_all(landing.join(folder)).expect("landing");
            std::fs::write(landing.join(folder).join(file), content).expect("write");
        }
        let warehouse = Warehouse::new(engine, dir.path(), label);
        let setup = Setup { dir, generated, warehouse };
        succeeded(&setup.command(&["migrate"]));
        setup
    }

    /// `tally ARGS --db <the warehouse> --generated <the compile>`.
    pub fn command(&self, args: &[&str]) -> Output {
        tally()
            .args(args)
            .args(["--db", &self.warehouse.target, "--generated"])
            .arg(&self.generated)
            .output()
            .expect("runs")
    }

    /// `tally run --once` over the landing files at `now`.
    pub fn run(&self, now: &str) -> Output {
        let landing = self.dir.path().join("landing");
        let landing = landing.to_str().expect("UTF-8");
        self.command(&["run", "--once", "--landing", landing, "--now", now])
    }
}
