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

/// Names longer than this (in bytes) are not compared: nobody mistypes a name that long by a
/// letter or two, and comparing two names costs the product of their lengths.
const LONGEST_SUGGESTED: usize = 100;

/// Names close to `name` among `candidates`, best first: the basis of every "did you mean".
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.len() > LONGEST_SUGGESTED {
        return None;
    }
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates.into_iter().filter(|c| c.len() <= LONGEST_SUGGESTED) {
        let score = strsim::jaro_winkler(name, candidate);
        let close = score >= 0.8 || strsim::levenshtein(name, candidate) <= name.len().max(1) / 3;
        if close && best.is_none_or(|(s, c)| score > s || (score == s && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" when there is a close candidate, otherwise the list of valid names.
pub fn did_you_mean(name: &str, candidates: &[&str], what: &str) -> String {
    if let Some(best) = suggest(name, candidates.iter().copied()) {
        return format!("did you mean `{best}`?");
    }
    if candidates.is_empty() {
        return format!("no {what} is defined");
    }
    let mut sorted: Vec<&str> = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    const SHOWN: usize = 12;
    let list: Vec<String> = sorted.iter().take(SHOWN).map(|c| format!("`{c}`")).collect();
    let whats = match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    };
    let more = sorted.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("valid {whats}: {} and {more} more", list.join(", "))
    } else {
        format!("valid {whats}: {}", list.join(", "))
    }
}
