//! The Tally compiler.
//!
//! Stages, each a public function from one named form to the next:
//!
//! | stage     | module       | input → output                                  |
//! |-----------|--------------|-------------------------------------------------|
//! | load      | [`project`]  | [`source::FileSystem`] → [`source::SourceMap`] + config |
//! | syntax    | [`syntax`]   | file text → [`syntax::ast::Module`] (spans)     |
//! | semantic  | [`semantic`] | modules → resolved [`semantic::Model`]          |
//! | format    | [`format`]   | file text → canonical file text                 |
//! | profile   | [`gendata`]  | `gendata.yaml` + model → checked profile        |
//!
//! [`check`] runs load, syntax, semantic and the graph's cycle check over a project: what
//! `tally check` does.
//!
//! Architecture invariant: nothing in this crate touches the file system, the clock, the
//! environment or a database. Inputs come through [`source::FileSystem`]; outputs are values.
//! `clippy.toml` enforces it.

pub mod codegen;
pub mod diagnostic;
pub mod format;
pub mod gendata;
pub mod graph;
pub mod project;
pub mod semantic;
pub mod source;
pub mod span;
pub mod syntax;

use diagnostic::Diagnostic;

/// A checked project: everything loaded, every diagnostic found, in a stable order.
#[derive(Debug)]
pub struct Checked {
    pub project: project::Project,
    pub model: semantic::Model,
    /// The synthetic-data profile, when the project has one without problems.
    pub profile: Option<tally_contract::gendata::Profile>,
}

impl Checked {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.project.diagnostics
    }

    pub fn has_errors(&self) -> bool {
        diagnostic::has_errors(&self.project.diagnostics)
    }
}

/// Loads, parses and analyses the project rooted at `fs`. Never stops at the first problem.
pub fn check(fs: &dyn source::FileSystem, display_root: &str) -> Checked {
    let mut project = project::load(fs, display_root);
    let (model, diagnostics) = semantic::analyze(&project.modules);
    project.diagnostics.extend(diagnostics);
    if let Some(config) = &project.config {
        let dialect = codegen::dialect::for_project(config.dialect);
        project.diagnostics.extend(codegen::dialect::refusals(&model, dialect));
    }
    let (profile, profile_diagnostics) = gendata::check(&project, &model);
    project.diagnostics.extend(profile_diagnostics);
    // Only the cycles are wanted here; `tally graph` and code generation build the graph again.
    let (_, graph_diagnostics) = graph::build(&model);
    project.diagnostics.extend(graph_diagnostics);
    diagnostic::sort(&mut project.diagnostics);
    Checked { project, model, profile }
}

/// What `tally compile` does: check the project, order its metrics by the dependency graph,
/// and generate every artifact. `previous` is the output directory as it is now (its lock
/// file and migrations decide what the next migration holds). Returns the checked project
/// (for rendering diagnostics) and the artifacts, or `None` when checking found errors (they
/// are in the checked project) or code generation refused (its diagnostics are returned).
pub fn compile(
    fs: &dyn source::FileSystem,
    display_root: &str,
    previous: &dyn source::FileSystem,
) -> (Checked, Result<Option<codegen::compile::Artifacts>, Vec<Diagnostic>>) {
    let checked = check(fs, display_root);
    let Some(config) = checked.project.config.as_ref().filter(|_| !checked.has_errors()) else {
        return (checked, Ok(None));
    };
    let (graph, _) = graph::build(&checked.model);
    let metric_order: Vec<String> = graph
        .topological_order()
        .into_iter()
        .filter(|node| node.kind == graph::NodeKind::Metric)
        .map(|node| node.name.clone())
        .collect();
    let artifacts = codegen::compile::compile(
        &checked.model,
        config,
        &metric_order,
        checked.profile.as_ref(),
        previous,
    );
    let artifacts = artifacts.map(Some);
    (checked, artifacts)
}
