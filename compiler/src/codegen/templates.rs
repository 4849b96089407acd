//! SQL text from minijinja templates, and the check every statement passes before it leaves
//! the compiler.
//!
//! Templates (`templates/*.sql`) hold the shape of each statement, one clause per line; Rust
//! decides everything else (which statements, which columns, which expressions) and hands the
//! template finished pieces. [`Sql`] renders a template and re-parses the result with sqlparser
//! in the target dialect: a statement that does not parse is recorded as a bug and reported as
//! an internal-error diagnostic (`T9999`) at the end, together with every other one found.
//!
//! Plan statements carry **placeholders** (`{now}`, `{batch}`, `{path}`, ...; see
//! [`PLACEHOLDERS`]) that the runtime replaces with literals it renders itself. They are checked
//! by substituting a sample literal of the placeholder's type before parsing, so a statement
//! parses exactly when it will parse at run time. User text never contains a placeholder:
//! [`text_literal`] writes `{` in string literals as `chr(123)`.

use super::dialect::Dialect;
use super::sql;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use minijinja::{Environment, UndefinedBehavior};
pub use tally_contract::template::{
    fill, placeholders_in, substitute_samples, Placeholder, PlaceholderType, PLACEHOLDERS,
};

/// Every template, by file name. Embedded so that the compiler does no I/O.
const TEMPLATES: &[(&str, &str)] = &[
    ("archive.sql", include_str!("templates/archive.sql")),
    ("cells_base.sql", include_str!("templates/cells_base.sql")),
    ("cells_derived.sql", include_str!("templates/cells_derived.sql")),
    ("cells_top.sql", include_str!("templates/cells_top.sql")),
    ("compare.sql", include_str!("templates/compare.sql")),
    ("compare_to_date.sql", include_str!("templates/compare_to_date.sql")),
    ("copy.sql", include_str!("templates/copy.sql")),
    ("facts.sql", include_str!("templates/facts.sql")),
    ("facts_window.sql", include_str!("templates/facts_window.sql")),
    ("facts_per.sql", include_str!("templates/facts_per.sql")),
    ("insert_cells.sql", include_str!("templates/insert_cells.sql")),
    ("late.sql", include_str!("templates/late.sql")),
    ("ledger.sql", include_str!("templates/ledger.sql")),
    ("read_csv.sql", include_str!("templates/read_csv.sql")),
    ("read_json.sql", include_str!("templates/read_json.sql")),
    ("read_parquet.sql", include_str!("templates/read_parquet.sql")),
    ("parquet_to_csv.sql", include_str!("templates/parquet_to_csv.sql")),
    ("raw_table.sql", include_str!("templates/raw_table.sql")),
    ("reject.sql", include_str!("templates/reject.sql")),
    ("stage.sql", include_str!("templates/stage.sql")),
    ("upsert.sql", include_str!("templates/upsert.sql")),
    ("watermark.sql", include_str!("templates/watermark.sql")),
    ("policy.sql", include_str!("templates/policy.sql")),
];

/// A string literal that is safe in a plan statement: quotes doubled, and `{` spelt
/// `chr(123)` so that user text can never be mistaken for a placeholder.
pub fn text_literal(text: &str) -> String {
    let quoted = format!("'{}'", text.replace('\'', "''"));
    if text.contains('{') {
        quoted.replace('{', "' || chr(123) || '")
    } else {
        quoted
    }
}

/// Renders templates and checks the statements, collecting every failure.
#[derive(Debug)]
pub struct Sql {
    env: Environment<'static>,
    problems: Vec<String>,
}

impl Sql {
    pub fn new() -> Sql {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build();
        let mut problems = Vec::new();
        match syntax {
            Ok(syntax) => env.set_syntax(syntax),
            Err(e) => problems.push(format!("template syntax: {e}")),
        }
        // A missing value is a bug in the Rust that feeds the template, not an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, text) in TEMPLATES {
            if let Err(e) = env.add_template(name, text) {
                problems.push(format!("template {name}: {e}"));
            }
        }
        Sql { env, problems }
    }

    /// The template rendered with `context`, without checking (a fragment: a subquery).
    pub fn fragment(&mut self, template: &str, context: Ctx) -> String {
        let rendered =
            self.env.get_template(template).and_then(|t| t.render(context)).map_err(|e| {
                let mut message = format!("template {template}: {e}");
                let mut source = std::error::Error::source(&e);
                while let Some(inner) = source {
                    message.push_str(&format!(": {inner}"));
                    source = inner.source();
                }
                message
            });
        match rendered {
            Ok(text) => tidy(&text),
            Err(problem) => {
                self.problems.push(problem);
                String::new()
            }
        }
    }

    /// The template rendered with `context` as one statement, checked in `dialect`.
    pub fn statement(&mut self, dialect: &dyn Dialect, template: &str, context: Ctx) -> String {
        let text = self.fragment(template, context);
        self.check(dialect, text)
    }

    /// `text` as one statement, checked in `dialect` (placeholders replaced by samples).
    pub fn check(&mut self, dialect: &dyn Dialect, text: String) -> String {
        let checked = substitute_samples(&text).and_then(|sample| sql::validate(dialect, &sample));
        if let Err(problem) = checked {
            self.problems.push(problem);
        }
        text
    }

    /// Records a problem found while generating (an impossible model).
    pub fn bug(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Every problem as an internal-error diagnostic, or `Ok` when there were none.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self
                .problems
                .into_iter()
                .map(|p| Diagnostic::internal(p, Span::default()))
                .collect())
        }
    }
}

impl Default for Sql {
    fn default() -> Self {
        Sql::new()
    }
}

/// A template context: string values and lists of strings, in a stable order.
#[derive(Debug, Default)]
pub struct Ctx(std::collections::BTreeMap<String, CtxValue>);

#[derive(Debug)]
pub enum CtxValue {
    Text(String),
    List(Vec<String>),
}

impl Ctx {
    pub fn new() -> Ctx {
        Ctx::default()
    }

    pub fn set(mut self, key: &str, value: &str) -> Ctx {
        self.0.insert(key.to_string(), CtxValue::Text(value.to_string()));
        self
    }

    pub fn set_list(mut self, key: &str, value: Vec<String>) -> Ctx {
        self.0.insert(key.to_string(), CtxValue::List(value));
        self
    }
}

impl From<Ctx> for minijinja::Value {
    fn from(ctx: Ctx) -> minijinja::Value {
        let map: std::collections::BTreeMap<String, minijinja::Value> = ctx
            .0
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    CtxValue::Text(t) => minijinja::Value::from(t),
                    CtxValue::List(l) => minijinja::Value::from(l),
                };
                (k, v)
            })
            .collect();
        minijinja::Value::from(map)
    }
}

/// Drops blank lines and trailing spaces, which conditional template lines leave behind.
fn tidy(text: &str) -> String {
    text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// `text` with every line after the first indented by `by` spaces, for nesting a subquery.
pub fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .enumerate()
        .map(|(i, l)| if i == 0 || l.is_empty() { l.to_string() } else { format!("{pad}{l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::dialect::{DuckDb, Postgres};
    use crate::diagnostic::codes;

    #[test]
    fn user_text_never_looks_like_a_placeholder() {
        assert_eq!(text_literal("it's"), "'it''s'");
        let literal = text_literal("{now}");
        assert_eq!(literal, "'' || chr(123) || 'now}'");
        assert!(placeholders_in(&literal).is_empty());
        let mut sql = Sql::new();
        sql.check(&Postgres, format!("SELECT {literal}"));
        assert!(sql.finish(()).is_ok());
    }

    #[test]
    fn a_statement_that_does_not_parse_is_an_internal_error() {
        let mut sql = Sql::new();
        sql.check(&DuckDb, "SELECT 1".to_string());
        sql.check(&DuckDb, "SELEC 1 FROM".to_string());
        sql.check(&Postgres, "INSERT INTO t VALUES ({nope})".to_string());
        let diagnostics = sql.finish(()).expect_err("fails");
        assert_eq!(diagnostics.len(), 2);
        assert!(diagnostics.iter().all(|d| d.code == codes::INTERNAL));
        assert!(diagnostics[0].message.contains("SELEC 1 FROM"), "{}", diagnostics[0].message);
        assert!(diagnostics[1].message.contains("{nope}"), "{}", diagnostics[1].message);
    }
}
