//! Reading `generated/`: the plan, and for one dialect its migrations with their integrity
//! file. Nothing is trusted before it is verified: a migrations directory that does not match
//! `tally.sum` is refused here, before any statement reaches a database.

use crate::backend::Dialect;
use crate::error::{codes, Error, Result};
use crate::plan::Plan;
use std::fs;
use std::path::{Path, PathBuf};
use tally_contract::integrity;

/// One migration file, verified against `tally.sum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The file name, e.g. `0002_add_source_tecs.sql`; it orders migrations.
    pub name: String,
    pub contents: String,
    /// Its entry in the hash chain (`h1:...`): vouches for this file and every one before it.
    pub chain_hash: String,
}

/// The contents of `generated/` for one dialect.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dir: PathBuf,
    pub dialect: Dialect,
    pub plan: Plan,
    pub migrations: Vec<Migration>,
}

impl Generated {
    /// Reads and verifies `dir` (a `tally compile` output directory) for `dialect`.
    pub fn load(dir: &Path, dialect: Dialect) -> Result<Generated> {
        let plan_path = dir.join("plan.json");
        let plan = crate::plan::parse(&read(&plan_path)?, &plan_path.display().to_string())?;
        let migrations = load_migrations(&dir.join(dialect.name()).join("migrations"))?;
        Ok(Generated { dir: dir.to_path_buf(), dialect, plan, migrations })
    }
}

/// Every migration in `dir`, in order, verified against `dir/tally.sum`.
pub fn load_migrations(dir: &Path) -> Result<Vec<Migration>> {
    let entries = fs::read_dir(dir).map_err(|e| {
        Error::new(codes::GENERATED_UNREADABLE, format!("cannot read {}: {e}", dir.display()))
            .help("run `tally compile` to write generated/, or pass --generated DIR")
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::new(codes::GENERATED_UNREADABLE, format!("cannot read {}: {e}", dir.display()))
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sql") {
            files.push((name.clone(), read(&entry.path())?));
        }
    }
    files.sort();
    let sum_path = dir.join(integrity::SUM_FILE);
    let sum = read(&sum_path)?;
    integrity::verify(&files, &sum).map_err(|problem| {
        Error::new(
            codes::MIGRATIONS_EDITED,
            format!("{}: {problem}", dir.join(problem.file()).display()),
        )
        .help(
            "migrations are never edited by hand: restore generated/ from version control \
             (`git checkout -- generated/`) and make the change in the DSL, then `tally compile`",
        )
    })?;
    let chain = integrity::chain(&files);
    Ok(files
        .into_iter()
        .zip(chain)
        .map(|((name, contents), (_, chain_hash))| Migration { name, contents, chain_hash })
        .collect())
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        Error::new(codes::GENERATED_UNREADABLE, format!("cannot read {}: {e}", path.display()))
            .help("run `tally compile` to write generated/")
    })
}
