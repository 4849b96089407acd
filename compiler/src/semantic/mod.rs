//! Semantic analysis: syntax trees → a resolved [`Model`], with every name checked.
//!
//! (Being written: see the semantic helper's brief.)

use crate::diagnostic::Diagnostic;
use crate::span::FileId;
use crate::syntax::ast;
use serde::Serialize;

/// The resolved project.
#[derive(Debug, Default, Serialize)]
pub struct Model {}

/// Checks every module of a project together.
pub fn analyze(modules: &[(FileId, ast::Module)]) -> (Model, Vec<Diagnostic>) {
    let _ = modules;
    (Model::default(), Vec::new())
}
