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
//!
//! [`check`] runs load, syntax and semantic over a project: what `tally check` does.
//!
//! Architecture invariant: nothing in this crate touches the file system, the clock, the
//! environment or a database. Inputs come through [`source::FileSystem`]; outputs are values.
//! `clippy.toml` enforces it.

pub mod codegen;
pub mod diagnostic;
pub mod format;
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
    diagnostic::sort(&mut project.diagnostics);
    Checked { project, model }
}
