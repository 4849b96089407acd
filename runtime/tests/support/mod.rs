//! Shared by the runtime's test suites: compiling a project into a `generated/` directory,
//! and the two engines every scenario runs on.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_compiler::diagnostic::render;
use tally_compiler::source::MemoryFs;
use tally_runtime::backend;
use tally_runtime::testing::TestDatabase;
use tally_runtime::Backend;
use tempfile::TempDir;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file below `dir`, by path relative to it (`/`-separated).
pub fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let name: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(name.join("/"), std::fs::read_to_string(&path).expect("UTF-8 file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub fn memory_fs(files: &BTreeMap<String, String>) -> MemoryFs {
    let mut fs = MemoryFs::new();
    for (path, text) in files {
        fs.insert(path, text);
    }
    fs
}

/// `tally compile` of the project `files` on top of the output `previous` (empty for a first
/// compile): the files of the new output directory.
pub fn compile(
    files: &BTreeMap<String, String>,
    previous: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let (checked, result) = tally_compiler::compile(&memory_fs(files), "", &memory_fs(previous));
    let rendered = |d: &[tally_compiler::diagnostic::Diagnostic]| {
        render::human(d, &checked.project.sources, false)
    };
    assert!(
        !checked.has_errors(),
        "the project does not check:\n{}",
        rendered(checked.diagnostics())
    );
    match result {
        Ok(Some(artifacts)) => artifacts.files,
        Ok(None) => panic!("no artifacts and no diagnostics"),
        Err(diagnostics) => panic!("compile refused:\n{}", rendered(&diagnostics)),
    }
}

/// Writes an output directory's files below `dir`.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, String>) {
    for (path, contents) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("create directory");
        std::fs::write(&target, contents).expect("write file");
    }
}

/// A project directory of the repository compiled into a fresh temp directory.
pub fn compiled(project: &str) -> TempDir {
    let files = compile(&read_tree(&repo().join(project)), &BTreeMap::new());
    let dir = tempfile::tempdir().expect("temp dir");
    write_tree(dir.path(), &files);
    dir
}

/// Midnight (UTC) of a day.
pub fn at(year: i32, month: u32, day: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
}

/// A fresh, empty database on one of the engines.
#[derive(Debug)]
pub enum Engine {
    /// A DuckDB file in a temp directory.
    DuckDb(TempDir),
    /// A database of its own on the test PostgreSQL server.
    Postgres(TestDatabase),
}

impl Engine {
    pub fn duckdb() -> Engine {
        Engine::DuckDb(tempfile::tempdir().expect("temp dir"))
    }

    pub fn postgres(label: &str) -> Engine {
        Engine::Postgres(TestDatabase::create(label))
    }

    /// Another fresh, empty database on the same engine (for a scenario that needs several).
    pub fn sibling(&self, label: &str) -> Engine {
        match self {
            Engine::DuckDb(_) => Engine::duckdb(),
            Engine::Postgres(_) => Engine::postgres(label),
        }
    }

    /// What `--db` would say to reach it.
    pub fn target(&self) -> String {
        match self {
            Engine::DuckDb(dir) => dir.path().join("warehouse.duckdb").display().to_string(),
            Engine::Postgres(db) => db.url.clone(),
        }
    }

    pub fn open(&self) -> Box<dyn Backend> {
        backend::open(&self.target()).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Defines `duckdb::NAME` and `postgres::NAME` tests for each scenario `NAME(&Engine)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod duckdb {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::support::Engine::duckdb());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::support::Engine::postgres(stringify!($name)));
                }
            )*
        }
    };
}
