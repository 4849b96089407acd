//! Loading a project: `tally.yaml`, then every `*.tally` file under its `paths`.
//!
//! Files come through [`FileSystem`], rooted at the project directory. Every file read lands
//! in the [`SourceMap`], including `tally.yaml`, so its errors render like any other.

use crate::codegen::migrate::Allowance;
use crate::diagnostic::{codes, Diagnostic};
use crate::source::{FileSystem, SourceMap};
use crate::span::{FileId, Span};
use crate::syntax::{self, ast};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "tally.yaml";

/// The contents of `tally.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub name: String,
    #[serde(default)]
    pub dialect: Dialect,
    /// Directories searched recursively for `*.tally` files.
    #[serde(default = "default_paths")]
    pub paths: Vec<String>,
    /// Changes that lose data or depend on it, allowed for the next migration
    /// (`drop column cur_seacats.port_code`); see [`Allowance`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_changes: Vec<Allowance>,
}

fn default_paths() -> Vec<String> {
    vec![".".to_string()]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Duckdb,
    Postgres,
    Spark,
}

/// A loaded and parsed project.
#[derive(Debug)]
pub struct Project {
    /// `None` when `tally.yaml` is missing or invalid (the diagnostics say why).
    pub config: Option<Config>,
    pub sources: SourceMap,
    /// Every `.tally` file, in path order, with its syntax tree.
    pub modules: Vec<(FileId, ast::Module)>,
    /// `gendata.yaml`, the synthetic-data profile, when the project has one (checked by
    /// [`crate::gendata`]).
    pub gendata: Option<FileId>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads the project whose root `fs` is. `display_root` is prefixed to file names in
/// diagnostics (the directory as the user typed it; empty for none).
pub fn load(fs: &dyn FileSystem, display_root: &str) -> Project {
    let display = |path: &str| {
        if display_root.is_empty() || display_root == "." {
            path.to_string()
        } else {
            format!("{}/{path}", display_root.trim_end_matches('/'))
        }
    };
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();

    let config = match fs.read(CONFIG_FILE) {
        Ok(text) => {
            let id = sources.add(display(CONFIG_FILE), text.clone());
            match parse_config(id, &text) {
                Ok(config) => Some(config),
                Err(diagnostic) => {
                    diagnostics.push(*diagnostic);
                    None
                }
            }
        }
        Err(reason) => {
            let id = sources.add(display(CONFIG_FILE), "");
            diagnostics.push(
                Diagnostic::error(
                    codes::INVALID_PROJECT_FILE,
                    format!("No `{CONFIG_FILE}` in the project directory"),
                    Span::new(id, 0, 0),
                )
                .label(reason)
                .help(format!(
                    "create `{CONFIG_FILE}` with at least `name: <project>`, or point the command at the project directory"
                )),
            );
            None
        }
    };

    let paths = config.as_ref().map_or_else(default_paths, |c| c.paths.clone());
    let mut files: Vec<String> = Vec::new();
    let mut unlisted = false;
    for dir in &paths {
        match fs.list(dir) {
            Ok(listed) => files.extend(listed.into_iter().filter(|p| p.ends_with(".tally"))),
            Err(reason) => {
                unlisted = true;
                let id = config_file(&sources);
                diagnostics.push(
                    Diagnostic::error(
                        codes::UNREADABLE_FILE,
                        format!("Cannot list `{dir}`"),
                        Span::new(id, 0, 0),
                    )
                    .label(reason)
                    .help("fix `paths` in tally.yaml or the directory's permissions"),
                );
            }
        }
    }
    files.sort();
    files.dedup();

    let mut modules = Vec::new();
    for path in &files {
        match fs.read(path) {
            Ok(text) => {
                let id = sources.add(display(path), text);
                let (module, syntax_diagnostics) = syntax::parse(id, &sources.file(id).text);
                diagnostics.extend(syntax_diagnostics);
                modules.push((id, module));
            }
            Err(reason) => {
                let id = sources.add(display(path), "");
                diagnostics.push(
                    Diagnostic::error(
                        codes::UNREADABLE_FILE,
                        format!("Cannot read `{}`", display(path)),
                        Span::new(id, 0, 0),
                    )
                    .label(reason)
                    .help("make the file readable UTF-8 text"),
                );
            }
        }
    }
    if files.is_empty() && config.is_some() && !unlisted {
        let id = config_file(&sources);
        diagnostics.push(
            Diagnostic::error(
                codes::NO_SOURCE_FILES,
                "The project has no `.tally` files",
                Span::new(id, 0, 0),
            )
            .label(format!("searched: {}", paths.join(", ")))
            .help("add `.tally` files, or list the directories that hold them under `paths`"),
        );
    }
    let gendata = load_profile(fs, &display, &mut sources, &mut diagnostics);
    Project { config, sources, modules, gendata, diagnostics }
}

/// Adds `gendata.yaml` to the source map when the project has one. The file is optional: a
/// read that fails because it is not there is no problem, one that fails otherwise is.
fn load_profile(
    fs: &dyn FileSystem,
    display: &dyn Fn(&str) -> String,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<FileId> {
    let path = tally_contract::gendata::PROFILE_FILE;
    match fs.read(path) {
        Ok(text) => Some(sources.add(display(path), text)),
        Err(reason) => {
            let listed = fs.list("").unwrap_or_default();
            if !listed.iter().any(|p| p == path) {
                return None;
            }
            let id = sources.add(display(path), "");
            diagnostics.push(
                Diagnostic::error(
                    codes::UNREADABLE_FILE,
                    format!("Cannot read `{}`", display(path)),
                    Span::new(id, 0, 0),
                )
                .label(reason)
                .help("make the file readable UTF-8 text"),
            );
            Some(id)
        }
    }
}

fn config_file(sources: &SourceMap) -> FileId {
    // `tally.yaml` is always the first file added.
    sources.iter().next().map_or(FileId(0), |(id, _)| id)
}

fn parse_config(id: FileId, text: &str) -> Result<Config, Box<Diagnostic>> {
    let config: Config = serde_yaml_ng::from_str(text).map_err(|error| {
        let (start, end) = match error.location() {
            Some(location) => {
                let start = location.index().min(text.len());
                let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
                (start, end.max(start))
            }
            None => (0, 0),
        };
        let message = error.to_string();
        // serde_yaml_ng appends " at line L column C"; the span already says where.
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        Box::new(Diagnostic::error(
            codes::INVALID_PROJECT_FILE,
            format!("Invalid `{CONFIG_FILE}`: {message}"),
            Span::new(id, start, end),
        )
        .label("here")
        .help("`tally.yaml` takes `name` (text), `dialect` (`duckdb` or `postgres`) and `paths` (a list of directories)"))
    })?;
    if config.name.trim().is_empty() {
        return Err(Box::new(
            Diagnostic::error(
                codes::INVALID_PROJECT_FILE,
                "The project `name` is empty",
                Span::new(id, 0, text.len().min(text.find('\n').unwrap_or(text.len()))),
            )
            .help("give the project a name: `name: emis_edw`"),
        ));
    }
    Ok(config)
}
