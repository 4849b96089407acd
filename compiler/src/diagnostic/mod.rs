//! One diagnostic model for every stage of the compiler.
//!
//! Stages never print. They return [`Diagnostic`] values: a severity, a stable [`Code`]
//! (documented in `docs/diagnostics.md`, generated from [`codes::CODES`]), a short message,
//! a primary labelled span, secondary labelled spans and a `help:` line. The renderers in
//! [`render`] turn them into text for people (miette), JSON for programs, or GitHub workflow
//! annotations for CI.

pub mod codes;
pub mod render;

use crate::span::Span;
use serde::Serialize;

pub use codes::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A labelled span: "this part of the source, and what it has to do with the problem".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// Short, sentence case, no trailing period.
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Label { span, message: String::new() },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// An internal error (`T9999`): the compiler broke one of its own invariants. Every stage
    /// reports such a bug through this one constructor, so they all read alike: what broke, and
    /// that it is Tally's bug, to be reported.
    pub fn internal(problem: impl std::fmt::Display, span: Span) -> Self {
        Diagnostic::error(codes::INTERNAL, format!("Internal error: {problem}"), span).help(
            "this is a bug in Tally, not in the project; please report it with the input that \
             triggered it",
        )
    }

    pub fn warning(code: Code, message: impl Into<String>, span: Span) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message, span) }
    }

    /// Sets the label of the primary span.
    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label { span, message: message.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by file, position and code, so output is the same whatever order the
/// passes ran in.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.code, &a.message).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
}

pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

pub use tally_contract::suggest::{did_you_mean, suggest};
