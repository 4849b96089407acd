//! Semantic analysis: syntax trees → a resolved [`Model`], with every name checked.
//!
//! All modules of a project are analysed together, because names are global: a metric in one
//! file reads a source declared in another. The work is done in passes over the declarations,
//! each reading only what earlier passes built:
//!
//! 1. `names`: the one namespace of the project, built once (duplicates: `T0201`).
//! 2. The calendar, retention rules and dimensions: closed words, periods, levels,
//!    hierarchies (`declarations`); then the `users` block's attributes, whose references
//!    name dimension levels.
//! 3. Sources: schedules, cron, landing, load mode, key, retention, columns with their types,
//!    PII classes and `-> dimension.level` references (levels exist after pass 2).
//! 4. Dimension `from` sources and level key/label columns (columns exist after pass 3).
//! 5. Metrics, marts, reports and roles: every path and list is resolved (`resolve`), and
//!    every expression becomes its model form ([`expr`]).
//! 6. Types (`types`): every node of every expression of every metric is typed in place,
//!    metrics in dependency order; each metric gets its value type and unit.
//! 7. Personal data (`pii`): every use of a PII column, found through `lineage`, is judged.
//!
//! Every pass collects all its diagnostics; none stops at the first. Each lookup is a map
//! lookup in a table built once, so the analysis is linear in the size of the project; name
//! lists are only gathered to write the "did you mean" help of a diagnostic.
//!
//! Decisions worth knowing (each code is documented in [`codes`]):
//!
//! - **One namespace.** A name declared twice, whatever the kinds (`T0201`), keeps its first
//!   declaration; the second is still checked but left out of the model. A name of the wrong
//!   kind is `T0207`, an unknown one `T0203`, both with the nearest name of the kind expected.
//! - **One calendar.** A second `calendar` is `T0116` whatever its name. Without one, the
//!   project has the implicit calendar `time` (see [`Calendar`]), so `by time.month` works in
//!   any project. The calendar's grains are the levels of the time dimension: an unknown grain
//!   word is `T0113` (`T0205` inside a path such as `time.fiscal_yr`), a grain the calendar
//!   does not list is `T0205`.
//! - **Closed word lists** report unknown words with the nearest valid one, or the whole list:
//!   column types `T0101`, landing formats `T0104`, PII classes `T0105`, time units `T0110`,
//!   weekdays and months `T0112`, functions `T0206`, every other closed word (grains, mart
//!   kinds, metric formats, csv options, privileges) `T0113`.
//! - **Users**: the attributes users carry are declared once, in a `users` block (a second
//!   one is `T0119`); an attribute may not take a name of `policy_user`'s own columns
//!   (`T0120`), and one that names members of a level is a `string` (`T0121`), as level
//!   members are in every table. A scope binds to a declared attribute (`T0208`, with the
//!   nearest one) that references the scope's own level (`T0211`).
//! - **Members given twice**: duplicate enum values are `T0109` (the enum's own code); every
//!   other name given twice inside one declaration (column, level, key column, list item,
//!   PII class, landing option) is `T0202`.
//! - **Numbers**: a zero or out-of-range count, day or period is `T0111` (`T0114` is kept for
//!   how `keep` and `archive` relate: a rule that archives without `keep`, or archives for
//!   less than it keeps). A rule with neither `follow source` nor `keep` lacks `keep`
//!   (`T0107`). `follow source`, `keep` and `archive` combine: rows deleted upstream go to
//!   the archive at once, the others after `keep`, and archived rows are purged after
//!   `archive`.
//! - **Sources**: key columns are not null; `incremental by` / `delete_marker` / `retain ... by`
//!   columns must exist (`T0204`); a delete marker must be `bool` (`T0115`). `retain` and
//!   `retention` may both be given.
//! - **Metrics**: a metric reads at most one source (`T0209`), counting every `source.column`
//!   it names (measure, filter, time, by, top, buckets, per). A measure reads either columns or
//!   other metrics, never both (`T0210`); only a measure may name a metric (elsewhere `T0207`).
//! - **Types** (`T03xx`, see [`types`]): comparisons, arithmetic, function arguments, `where`
//!   and `having` conditions, aggregation (a measure aggregates, `where` does not), `buckets`
//!   edges and `time` columns. What did not resolve has no type and causes no second error.
//! - **Personal data** (`T05xx`, see [`pii`]): a PII column that identifies a person may only
//!   be counted; `gender` and `nationality` may also be grouped and filtered; no PII column
//!   is listed in a `drill`.
//! - **Not here**: cycles between derived metrics are the graph stage's to report; the type
//!   checker only makes sure it never loops on one.

mod declarations;
pub mod expr;
pub mod lineage;
pub mod model;
mod names;
mod pii;
mod resolve;
pub mod targets;
mod tokens;
pub mod types;

#[cfg(test)]
mod tests;

pub use lineage::{lineage, Lineage};
pub use model::*;
pub use pii::access as column_access;

use crate::diagnostic::{self, codes, Code, Diagnostic};
use crate::span::{FileId, Span};
use crate::syntax::ast::{self, Body, DeclKind, Declaration, Ident, Property};
use crate::syntax::keywords;
use indexmap::IndexMap;
use names::Names;
use std::collections::BTreeSet;

/// Checks every module of a project together. Returns the model (partial when there are
/// errors, see [`model`]) and every diagnostic found, sorted.
pub fn analyze(modules: &[(FileId, ast::Module)]) -> (Model, Vec<Diagnostic>) {
    let declarations: Vec<&Declaration> =
        modules.iter().flat_map(|(_, module)| &module.declarations).collect();
    let mut analyzer = Analyzer::new(&declarations);
    analyzer.run();
    let Analyzer { model, mut diagnostics, .. } = analyzer;
    diagnostic::sort(&mut diagnostics);
    (model, diagnostics)
}

/// The state shared by the passes: the name table, the model built so far, the diagnostics.
struct Analyzer<'a> {
    declarations: &'a [&'a Declaration],
    names: Names,
    model: Model,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Analyzer<'a> {
    fn new(declarations: &'a [&'a Declaration]) -> Self {
        let mut diagnostics = Vec::new();
        let declares_calendar = declarations.iter().any(|d| d.kind == DeclKind::Calendar);
        let implicit = (!declares_calendar).then_some(Calendar::IMPLICIT_NAME);
        let names = Names::build(declarations, implicit, &mut diagnostics);
        Analyzer { declarations, names, model: Model::default(), diagnostics }
    }

    fn run(&mut self) {
        self.calendars();
        self.each(DeclKind::Retention, Self::retention_rule, |m, name, rule| {
            m.retention_rules.insert(name, rule);
        });
        self.each(DeclKind::Dimension, Self::dimension, |m, name, dimension| {
            m.dimensions.insert(name, dimension);
        });
        // User attributes name dimension levels, and roles' scopes name the attributes.
        self.users();
        self.each(DeclKind::Source, Self::source, |m, name, source| {
            m.sources.insert(name, source);
        });
        // Dimension members come from a source: checked once every source's columns exist.
        self.each(DeclKind::Dimension, Self::dimension_source, |m, name, from| {
            if let Some(dimension) = m.dimensions.get_mut(&name) {
                dimension.from = from;
            }
        });
        self.each(DeclKind::Metric, Self::metric, |m, name, metric| {
            m.metrics.insert(name, metric);
        });
        self.each(DeclKind::Mart, Self::mart, |m, name, mart| {
            m.marts.insert(name, mart);
        });
        self.each(DeclKind::Report, Self::report, |m, name, report| {
            m.reports.insert(name, report);
        });
        self.each(DeclKind::Role, Self::role, |m, name, role| {
            m.roles.insert(name, role);
        });
        // Types and personal data are judged on the whole model, once every name resolves.
        types::check(&mut self.model, &mut self.diagnostics);
        pii::check(&self.model, &mut self.diagnostics);
        targets::check(&self.model, &mut self.diagnostics);
    }

    /// Builds every declaration of `kind` in project order. Only the declaration that owns its
    /// name is kept in the model: a duplicate (already reported as T0201) is still checked.
    fn each<T>(
        &mut self,
        kind: DeclKind,
        build: impl Fn(&mut Self, &'a Declaration) -> T,
        keep: impl Fn(&mut Model, String, T),
    ) {
        let declarations = self.declarations;
        for (index, declaration) in declarations.iter().copied().enumerate() {
            if declaration.kind != kind {
                continue;
            }
            let built = build(self, declaration);
            if self.names.owns(&declaration.name.name, index) {
                keep(&mut self.model, declaration.name.name.clone(), built);
            }
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    // ------------------------------------------------------------ shared diagnostics

    /// An unknown word from a closed list: `code`, the nearest valid word or the list.
    fn unknown_word(&mut self, code: Code, what: &str, ident: &Ident, words: &[&str]) {
        self.unknown_word_or_alias(code, what, ident, words, &[]);
    }

    /// Like [`Self::unknown_word`], also suggesting `word` for a name close to one of its
    /// `(alias, word)` pairs (SQL's `varchar` for `string`, `average` for `avg`).
    fn unknown_word_or_alias(
        &mut self,
        code: Code,
        what: &str,
        ident: &Ident,
        words: &[&str],
        aliases: &[(&str, &str)],
    ) {
        let candidates = words.iter().copied().chain(aliases.iter().map(|(alias, _)| *alias));
        // A closed list is short: show all of it, in its own order, when nothing is close.
        let help = match diagnostic::suggest(&ident.name, candidates) {
            Some(best) => {
                let word =
                    aliases.iter().find(|(alias, _)| *alias == best).map_or(best, |(_, w)| w);
                format!("did you mean `{word}`?")
            }
            None => {
                let plural = if what.ends_with('s') { "es" } else { "s" };
                let list: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                format!("valid {what}{plural}: {}", list.join(", "))
            }
        };
        self.push(
            Diagnostic::error(code, format!("Unknown {what} `{}`", ident.name), ident.span)
                .label(format!("not {} {what}", names::article(what)))
                .help(help),
        );
    }

    /// A required property is absent: T0107 on the declaration's name.
    fn require(&mut self, declaration: &Declaration, keyword: &str) {
        if properties(declaration).iter().any(|p| p.value.keyword() == keyword)
            || declaration.unreadable.iter().any(|word| word == keyword)
        {
            return;
        }
        let noun_upper = declarations::capitalized(names::noun(declaration.kind));
        self.push(
            Diagnostic::error(
                codes::MISSING_PROPERTY,
                format!("{noun_upper} `{}` has no `{keyword}`", declaration.name.name),
                declaration.name.span,
            )
            .label(format!("missing `{keyword}`"))
            .help(format!("add a line such as `{}`", first_form(keyword))),
        );
    }

    /// Reports every name given twice among `items` (T0202, or `code`), labelling the first.
    /// Returns the items with repeats removed, in order.
    fn unique<'i>(
        &mut self,
        items: impl IntoIterator<Item = &'i Ident>,
        code: Code,
        message: impl Fn(&str) -> String,
    ) -> Vec<&'i Ident> {
        let mut seen: IndexMap<&str, &Ident> = IndexMap::new();
        for item in items {
            if let Some(first) = seen.get(item.name.as_str()) {
                let first_span = first.span;
                self.push(
                    Diagnostic::error(code, message(&item.name), item.span)
                        .label("given again here")
                        .secondary(first_span, "first given here")
                        .help("remove the repeat"),
                );
            } else {
                seen.insert(&item.name, item);
            }
        }
        seen.into_values().collect()
    }
}

/// The properties of a declaration's block in order, without the repeats of a property that
/// takes one value: the syntax stage reported those (T0106), and the first one counts. None
/// for `metric name = expr`.
fn properties(declaration: &Declaration) -> Vec<&Property> {
    let Body::Block(all) = &declaration.body else { return Vec::new() };
    let mut seen = BTreeSet::new();
    all.iter().filter(|p| p.value.repeatable() || seen.insert(p.value.keyword())).collect()
}

/// The first form of a property, for "add a line such as ..." (the forms list alternatives
/// separated by ` | `).
fn first_form(keyword: &str) -> &'static str {
    let forms = keywords::forms(keyword);
    forms.split(" | ").next().unwrap_or(forms)
}

/// A span covering a list of items (for "these arguments" labels).
fn cover(spans: impl IntoIterator<Item = Span>) -> Option<Span> {
    spans.into_iter().reduce(Span::to)
}
