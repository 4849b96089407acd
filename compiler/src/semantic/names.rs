//! The project's one namespace: every declaration's name, built once before anything resolves.
//!
//! Names are global to the project and shared by all kinds of declaration (a source and a
//! metric cannot both be called `seacats`), because paths such as `seacats.seizure_date` or
//! `location.port` start with a bare name and must mean one thing. Lookups are map lookups; the
//! per-kind name lists exist only to build "did you mean" help on the error path.

use crate::diagnostic::{codes, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::{DeclKind, Declaration};
use indexmap::IndexMap;
use std::collections::BTreeMap;

/// What a name stands for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub kind: DeclKind,
    /// The declaration's name; `None` for the implicit calendar.
    pub span: Option<Span>,
    /// Index of the declaration in the analyzer's list (the first one, if declared twice).
    pub index: Option<usize>,
}

#[derive(Debug, Default)]
pub(super) struct Names {
    entries: IndexMap<String, Entry>,
    by_kind: BTreeMap<DeclKind, Vec<String>>,
}

impl Names {
    /// Builds the table, reporting names declared twice (T0201). The first declaration keeps
    /// the name. `implicit_calendar` is registered, unless a declaration already uses it, when
    /// the project declares no calendar.
    pub fn build(
        declarations: &[&Declaration],
        implicit_calendar: Option<&str>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Names {
        let mut names = Names::default();
        for (index, declaration) in declarations.iter().enumerate() {
            if !declaration.kind.named() {
                // `users` names nothing; a second one is its own error (T0119).
                continue;
            }
            let name = &declaration.name;
            if let Some(first) = names.entries.get(&name.name) {
                let first_kind = first.kind.keyword();
                let again = declaration.kind.keyword();
                let mut diagnostic = Diagnostic::error(
                    codes::DUPLICATE_DECLARATION,
                    format!("`{}` is declared twice", name.name),
                    name.span,
                )
                .label(format!("declared again here, as a {again}"))
                .help("rename one of them: metrics, marts and roles refer to declarations by name");
                if let Some(span) = first.span {
                    diagnostic = diagnostic
                        .secondary(span, format!("first declared here, as a {first_kind}"));
                }
                if first.kind != declaration.kind {
                    diagnostic = diagnostic
                        .note("all kinds of declaration share one namespace, so a path such as `a.b` means one thing");
                }
                diagnostics.push(diagnostic);
                continue;
            }
            names.insert(
                name.name.clone(),
                Entry { kind: declaration.kind, span: Some(name.span), index: Some(index) },
            );
        }
        if let Some(calendar) = implicit_calendar {
            if !names.entries.contains_key(calendar) {
                names.insert(
                    calendar.to_string(),
                    Entry { kind: DeclKind::Calendar, span: None, index: None },
                );
            }
        }
        names
    }

    fn insert(&mut self, name: String, entry: Entry) {
        self.by_kind.entry(entry.kind).or_default().push(name.clone());
        self.entries.insert(name, entry);
    }

    pub fn get(&self, name: &str) -> Option<Entry> {
        self.entries.get(name).copied()
    }

    /// Whether `index` is the declaration that owns its name (not a duplicate).
    pub fn owns(&self, name: &str, index: usize) -> bool {
        self.get(name).is_some_and(|e| e.index == Some(index))
    }

    /// The names of every declaration of these kinds, for "did you mean".
    pub fn of(&self, kinds: &[DeclKind]) -> Vec<&str> {
        kinds
            .iter()
            .filter_map(|k| self.by_kind.get(k))
            .flat_map(|names| names.iter().map(String::as_str))
            .collect()
    }
}

/// How a kind of declaration is named in messages: "a source", "retention rule".
pub(super) fn noun(kind: DeclKind) -> &'static str {
    match kind {
        DeclKind::Source => "source",
        DeclKind::Dimension => "dimension",
        DeclKind::Calendar => "calendar",
        DeclKind::Retention => "retention rule",
        DeclKind::Mart => "mart",
        DeclKind::Metric => "metric",
        DeclKind::Report => "report",
        DeclKind::Role => "role",
        DeclKind::Users => "users block",
    }
}

/// "a" or "an" for the nouns used in messages ("a user attribute", "an enum").
pub(super) fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o']) {
        "an"
    } else {
        "a"
    }
}
