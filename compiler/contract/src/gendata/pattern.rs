//! The pattern of a generated code: text with placeholders in braces.
//!
//! | placeholder     | becomes                                                        |
//! |-----------------|----------------------------------------------------------------|
//! | `{1..9999}`     | a whole number in the range, uniformly                         |
//! | `{000001..200}` | the same, zero-padded to the width of the first bound (`000042`) |
//! | `{list NAME}`   | a value of the profile's list `NAME`, by its weights           |
//! | `{date}`        | the day of the row's event, `YYYYMMDD`                         |
//!
//! `{{` and `}}` stand for a brace. `"{list carriers}{1..9999}-{date}"` makes flight numbers
//! such as `UA1234-20241015`; `"UDR-{000001..000200}"` one of 200 rule ids.

use std::fmt;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Number { low: u64, high: u64, width: usize },
    List(String),
    Date,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("{{") || rest.starts_with("}}") {
                literal.push(c);
                rest = &rest[2..];
                continue;
            }
            if c == '}' {
                return Err("a `}` closes no placeholder (write `}}` for a brace)".to_owned());
            }
            if c != '{' {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let Some(end) = rest.find('}') else {
                return Err("a `{` is not closed (write `{{` for a brace)".to_owned());
            };
            let inside = rest[1..end].trim();
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(placeholder(inside)?);
            rest = &rest[end + 1..];
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        if pieces.is_empty() {
            return Err("the pattern is empty".to_owned());
        }
        Ok(Pattern { pieces })
    }

    /// The lists the pattern draws from.
    pub fn lists(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::List(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// How many different values the pattern can make without lists and dates (`None`: more
    /// than `u64` holds).
    pub fn variety(&self) -> Option<u64> {
        self.pieces.iter().try_fold(1u64, |n, p| match p {
            Piece::Number { low, high, .. } => n.checked_mul(high - low + 1),
            _ => Some(n),
        })
    }
}

fn placeholder(inside: &str) -> Result<Piece, String> {
    if inside == "date" {
        return Ok(Piece::Date);
    }
    if let Some(name) = inside.strip_prefix("list ") {
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{{{inside}}}` does not name a list"));
        }
        return Ok(Piece::List(name.to_owned()));
    }
    if let Some((low, high)) = inside.split_once("..") {
        let (low, high) = (low.trim(), high.trim());
        let number = |s: &str| {
            (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let (Some(lo), Some(hi)) = (number(low), number(high)) else {
            return Err(format!("`{{{inside}}}`: a range takes two whole numbers, `{{1..99}}`"));
        };
        if lo > hi {
            return Err(format!("`{{{inside}}}`: the range runs backwards"));
        }
        let width = if low.len() > 1 && low.starts_with('0') { low.len() } else { 0 };
        return Ok(Piece::Number { low: lo, high: hi, width });
    }
    Err(format!(
        "`{{{inside}}}` is not a placeholder: write `{{1..99}}`, `{{list NAME}}` or `{{date}}`"
    ))
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => f.write_str(&t.replace('{', "{{").replace('}', "}}"))?,
                Piece::Number { low, high, width } => {
                    write!(f, "{{{low:0width$}..{high}}}", width = *width)?;
                }
                Piece::List(name) => write!(f, "{{list {name}}}")?,
                Piece::Date => f.write_str("{date}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_parse_and_print_back() {
        for text in ["UDR-{000001..200}", "{list carriers}{1..9999}-{date}", "a{{b}}c", "N{1..9}"] {
            let pattern = Pattern::parse(text).expect(text);
            assert_eq!(pattern.to_string(), text);
        }
        let p = Pattern::parse("UDR-{000001..200}").expect("parses");
        assert_eq!(p.pieces[1], Piece::Number { low: 1, high: 200, width: 6 });
        assert_eq!(p.variety(), Some(200));
        assert_eq!(
            Pattern::parse("{list carriers}{1..9}").expect("parses").lists().collect::<Vec<_>>(),
            ["carriers"]
        );
    }

    #[test]
    fn malformed_patterns_say_what_is_wrong() {
        for (text, says) in [
            ("UDR-{1..", "not closed"),
            ("x}", "closes no placeholder"),
            ("{9..1}", "backwards"),
            ("{a..b}", "two whole numbers"),
            ("{lst x}", "is not a placeholder"),
            ("{list }", "is not a placeholder"),
            ("", "empty"),
        ] {
            let error = Pattern::parse(text).expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
