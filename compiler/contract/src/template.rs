//! Placeholders in plan statements, and how they are filled.
//!
//! Plan statements carry **placeholders** (`{now}`, `{batch}`, `{path}`, ...; see
//! [`PLACEHOLDERS`]) that the runtime replaces with literals it renders itself. The compiler
//! checks every statement by substituting a sample literal of each placeholder's type
//! ([`substitute_samples`]) before parsing it, and the runtime fills the same placeholders with
//! real literals through the same scanner ([`fill`]), so a statement parses at run time exactly
//! when it parsed at compile time. User text never contains a placeholder: the compiler writes
//! `{` in string literals as `chr(123)`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a placeholder stands for, so that the runtime renders it as the right kind of literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceholderType {
    /// A string literal: `'...'`, quotes doubled.
    Text,
    /// Text, or `NULL` when there is none.
    TextOrNull,
    /// A whole number.
    Bigint,
    /// A whole number, or `NULL` when there is none.
    BigintOrNull,
    /// `TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]'`, UTC.
    Timestamp,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Placeholder {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: PlaceholderType,
    pub description: &'static str,
}

/// The placeholders plan statements may contain, written `{name}`.
pub const PLACEHOLDERS: &[Placeholder] = &[
    Placeholder {
        name: "now",
        ty: PlaceholderType::Timestamp,
        description: "the time of the run (`tally run --now`), for load, archive and purge times and for `age()`",
    },
    Placeholder {
        name: "batch",
        ty: PlaceholderType::Bigint,
        description: "the load batch: one per landed file, from the `next_batch` statement",
    },
    Placeholder {
        name: "file",
        ty: PlaceholderType::Text,
        description: "where the database engine opens the landed file (an absolute path); DuckDB reads it directly",
    },
    Placeholder {
        name: "csv_file",
        ty: PlaceholderType::Text,
        description: "a scratch file the `convert` statements write a Parquet file to as CSV, before it is streamed to `COPY`",
    },
    Placeholder {
        name: "path",
        ty: PlaceholderType::Text,
        description: "the landed file's path relative to the landing area, as recorded in the ledger, staging and rejects",
    },
    Placeholder {
        name: "sha256",
        ty: PlaceholderType::Text,
        description: "the SHA-256 of the landed file's bytes, lowercase hex",
    },
    Placeholder {
        name: "size",
        ty: PlaceholderType::Bigint,
        description: "the landed file's size in bytes",
    },
    Placeholder {
        name: "min_cell_size",
        ty: PlaceholderType::Bigint,
        description: "the reading role's `min_cell_size`: cells over fewer rows are suppressed",
    },
    Placeholder {
        name: "source",
        ty: PlaceholderType::Text,
        description: "a source's name",
    },
    Placeholder { name: "run_id", ty: PlaceholderType::Text, description: "the run's identifier" },
    Placeholder {
        name: "log_source",
        ty: PlaceholderType::TextOrNull,
        description: "the source a run-log step worked on, or NULL (metric refreshes)",
    },
    Placeholder {
        name: "log_batch",
        ty: PlaceholderType::BigintOrNull,
        description: "the batch a run-log step worked on, or NULL",
    },
    Placeholder {
        name: "step",
        ty: PlaceholderType::Text,
        description: "a plan step (`load`, `validate`, ..., `refresh`)",
    },
    Placeholder {
        name: "started_at",
        ty: PlaceholderType::Timestamp,
        description: "when the step started",
    },
    Placeholder {
        name: "finished_at",
        ty: PlaceholderType::Timestamp,
        description: "when the step finished",
    },
    Placeholder {
        name: "rows_in",
        ty: PlaceholderType::Bigint,
        description: "rows the step read",
    },
    Placeholder {
        name: "rows_out",
        ty: PlaceholderType::Bigint,
        description: "rows the step wrote",
    },
    Placeholder {
        name: "rows_rejected",
        ty: PlaceholderType::Bigint,
        description: "rows the step rejected",
    },
    Placeholder {
        name: "status",
        ty: PlaceholderType::Text,
        description: "`ok` or `failed`",
    },
    Placeholder {
        name: "error",
        ty: PlaceholderType::TextOrNull,
        description: "why the step failed, or NULL",
    },
];

/// A literal of the placeholder's type, for checking statements at compile time.
fn sample(ty: PlaceholderType) -> &'static str {
    match ty {
        PlaceholderType::Text | PlaceholderType::TextOrNull => "'sample'",
        PlaceholderType::Bigint | PlaceholderType::BigintOrNull => "1",
        PlaceholderType::Timestamp => "TIMESTAMP '2000-01-01 00:00:00'",
    }
}

/// `sql` with every `{name}` replaced by a sample literal; an unknown `{name}` is an error, so a
/// misspelt placeholder cannot reach the runtime.
pub fn substitute_samples(sql: &str) -> Result<String, String> {
    fill(sql, |placeholder| Some(sample(placeholder.ty).to_owned()))
}

/// `sql` with every `{name}` replaced by `value(placeholder)`: how the runtime renders a plan
/// statement, and how the compiler checks one. A placeholder is `{` + a lowercase name + `}`
/// naming one of [`PLACEHOLDERS`]; a regular expression's `{4}` or a DuckDB struct literal
/// `{'a': 'VARCHAR'}` is left alone. An unknown name, or one `value` has no literal for, is an
/// error naming it.
pub fn fill(
    sql: &str,
    mut value: impl FnMut(&Placeholder) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len =
            after.find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
        let starts_with_letter = after.starts_with(|c: char| c.is_ascii_lowercase());
        match name_len {
            // Not a regular expression's `{4}` either: a name starts with a letter.
            Some(len) if starts_with_letter && after[len..].starts_with('}') => {
                let name = &after[..len];
                let placeholder = PLACEHOLDERS
                    .iter()
                    .find(|p| p.name == name)
                    .ok_or_else(|| format!("unknown placeholder `{{{name}}}` in\n{sql}"))?;
                let literal = value(placeholder)
                    .ok_or_else(|| format!("no value for placeholder `{{{name}}}` in\n{sql}"))?;
                out.push_str(&literal);
                rest = &after[len + 1..];
            }
            // Not a placeholder: a DuckDB struct literal `{'a': 'VARCHAR'}`.
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholders `sql` uses, in order of first use.
pub fn placeholders_in(sql: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for p in PLACEHOLDERS {
        if sql.contains(&format!("{{{}}}", p.name)) && !found.contains(&p.name) {
            found.push(p.name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_by_samples_and_unknown_ones_refused() {
        let sql = "SELECT {now}, {batch}, {path}, {'a': 'VARCHAR'}, '[0-9]{4}'";
        assert_eq!(
            substitute_samples(sql).expect("succeeds"),
            "SELECT TIMESTAMP '2000-01-01 00:00:00', 1, 'sample', {'a': 'VARCHAR'}, '[0-9]{4}'"
        );
        assert!(substitute_samples("SELECT {nwo}").expect_err("fails").contains("`{nwo}`"));
        assert_eq!(placeholders_in("SELECT {now}, {batch}, {now}"), ["now", "batch"]);
    }

    #[test]
    fn a_placeholder_without_a_value_is_an_error_naming_it() {
        let problem = fill("SELECT {now}, {batch}", |p| (p.name == "now").then(|| "1".to_owned()))
            .expect_err("fails");
        assert!(problem.contains("`{batch}`"), "{problem}");
    }
}
