//! The project's synthetic-data profile (`gendata.yaml`, next to `tally.yaml`): read, checked
//! against the model, and handed to code generation, which writes it as
//! `generated/gendata.json` for `tally gen-data`.
//!
//! The format and the check are the contract's ([`tally_contract::gendata`]), shared with the
//! runtime, which checks a `--profile` file against `plan.json` the same way. This module sees
//! the model as the contract's [`Shape`] (the same columns and dimensions the plan will list)
//! and turns each problem into a diagnostic at its key or value in the YAML text.

use crate::codegen::plan::{column, dimensions};
use crate::diagnostic::codes::{self, Code};
use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::semantic::{LoadMode, Model};
use crate::span::{FileId, Span};
use tally_contract::gendata::locate::locate;
use tally_contract::gendata::{self, Problem, ProblemKind, Profile, Shape, ShapeSource};

/// The project's profile when it has one and it is free of problems, and every problem found.
pub fn check(project: &Project, model: &Model) -> (Option<Profile>, Vec<Diagnostic>) {
    let Some(id) = project.gendata else { return (None, Vec::new()) };
    let text = &project.sources.file(id).text;
    let profile = match Profile::from_yaml(text) {
        Ok(profile) => profile,
        Err(error) => {
            let start = error.offset.unwrap_or(0).min(text.len());
            let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let diagnostic = Diagnostic::error(
                codes::INVALID_GENDATA_FILE,
                format!("Invalid `{}`: {}", gendata::PROFILE_FILE, error.message),
                Span::new(id, start, end.max(start)),
            )
            .label("here")
            .help(
                "the profile takes `traffic`, `lists`, `dimensions` and `sources`; docs/gendata.md shows each setting",
            );
            return (None, vec![diagnostic]);
        }
    };
    let problems = gendata::check(&profile, &shape(model));
    if problems.is_empty() {
        return (Some(profile), Vec::new());
    }
    (None, problems.iter().map(|p| diagnostic(id, text, p)).collect())
}

/// The model as the profile check sees it: what `plan.json` will say of its sources and
/// dimensions.
pub fn shape(model: &Model) -> Shape {
    let mut sources: Vec<ShapeSource> = model
        .sources
        .iter()
        .map(|(name, s)| ShapeSource {
            name: name.clone(),
            mode: match &s.load {
                Some(LoadMode::Snapshot) | None => "snapshot",
                Some(LoadMode::Append { .. }) => "append",
                Some(LoadMode::Incremental { .. }) => "incremental",
                Some(LoadMode::Cdc { .. }) => "cdc",
            }
            .to_owned(),
            key: s.key.clone(),
            columns: s.columns.values().map(column).collect(),
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    Shape { sources, dimensions: dimensions(model) }
}

fn code(kind: ProblemKind) -> Code {
    match kind {
        ProblemKind::UnknownName => codes::UNKNOWN_GENDATA_NAME,
        ProblemKind::InvalidValue => codes::INVALID_GENDATA_VALUE,
        ProblemKind::DoesNotApply => codes::GENDATA_SETTING_DOES_NOT_APPLY,
        ProblemKind::OutOfRange => codes::GENDATA_OUT_OF_RANGE,
        ProblemKind::Duplicate => codes::DUPLICATE_GENDATA_MEMBER,
    }
}

fn diagnostic(id: FileId, text: &str, problem: &Problem) -> Diagnostic {
    let (start, end) = locate(text, &problem.path, problem.at).unwrap_or((0, 0));
    let mut d =
        Diagnostic::error(code(problem.kind), problem.message.clone(), Span::new(id, start, end))
            .label(problem.label.clone());
    if let Some(help) = &problem.help {
        d = d.help(help.clone());
    }
    d.note(format!("at `{}`", problem.dotted()))
}
