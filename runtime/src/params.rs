//! Values for a plan statement's `{placeholders}`, rendered as SQL literals. The placeholder
//! syntax and list are the compiler's ([`tally_contract::template::fill`]), so a
//! statement the compiler checked with sample literals runs with real ones of the same kind.

use crate::error::{codes, Error, Result};
use crate::value::timestamp_text;
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use tally_contract::template as templates;

/// A placeholder's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Timestamp(NaiveDateTime),
    Null,
}

impl Param {
    fn literal(&self) -> String {
        match self {
            Param::Text(text) => format!("'{}'", text.replace('\'', "''")),
            Param::Int(i) => i.to_string(),
            Param::Timestamp(t) => format!("TIMESTAMP '{}'", timestamp_text(*t)),
            Param::Null => "NULL".to_owned(),
        }
    }
}

impl From<&str> for Param {
    fn from(text: &str) -> Self {
        Param::Text(text.to_owned())
    }
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Param::Text(text)
    }
}

impl From<i64> for Param {
    fn from(i: i64) -> Self {
        Param::Int(i)
    }
}

impl From<NaiveDateTime> for Param {
    fn from(t: NaiveDateTime) -> Self {
        Param::Timestamp(t)
    }
}

impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(value: Option<T>) -> Self {
        value.map_or(Param::Null, Into::into)
    }
}

/// The values of one statement's placeholders, by name.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<&'static str, Param>);

impl Params {
    pub fn new() -> Self {
        Params::default()
    }

    pub fn set(&mut self, name: &'static str, value: impl Into<Param>) -> &mut Self {
        self.0.insert(name, value.into());
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<Param>) -> Self {
        self.set(name, value);
        self
    }

    /// `sql` with its placeholders replaced; a placeholder without a value is an error (a plan
    /// this runtime does not understand), never a silently empty literal.
    pub fn render(&self, sql: &str) -> Result<String> {
        templates::fill(sql, |p| self.0.get(p.name).map(Param::literal)).map_err(|problem| {
            Error::new(
                codes::GENERATED_UNREADABLE,
                format!("plan statement cannot be run: {problem}"),
            )
            .help("regenerate generated/ with the `tally compile` of this tally version")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_struct_literals_left_alone() {
        let now = chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_opt(23, 45, 0))
            .expect("valid");
        let params = Params::new()
            .with("now", now)
            .with("path", "o'hare/1.csv")
            .with("batch", 7)
            .with("error", None::<String>);
        assert_eq!(
            params.render("SELECT {now}, {path}, {batch}, {error}, {'a': 'VARCHAR'}, '[0-9]{4}'"),
            Ok("SELECT TIMESTAMP '2024-02-29 23:45:00', 'o''hare/1.csv', 7, NULL, {'a': 'VARCHAR'}, '[0-9]{4}'".to_owned())
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_an_error() {
        let error = Params::new().render("SELECT {batch}").expect_err("no value");
        assert_eq!(error.code, codes::GENERATED_UNREADABLE);
        assert!(error.message.contains("{batch}"), "{}", error.message);
    }
}
