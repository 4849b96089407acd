//! A SQL script → its statements, so that a failing migration statement can be named. Splits
//! at `;` outside string literals, quoted identifiers, comments and PostgreSQL dollar quotes.
//! Comment-only pieces are dropped; each statement keeps the comment lines above it (which in
//! a generated migration name the object it creates).

/// One statement of a script, and the line (1-based) its text starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub line: usize,
    pub sql: String,
}

/// The statements of `script`, each trimmed, without its final `;`.
pub fn statements(script: &str) -> Vec<String> {
    located(script).into_iter().map(|s| s.sql).collect()
}

/// The statements of `script` with the line each starts on (its first line that is not a
/// comment or blank, so that an error points at the code).
pub fn located(script: &str) -> Vec<Statement> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_quoted(bytes, i),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = script[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = script[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'$' => i = skip_dollar_quoted(script, i),
            b';' => {
                push(&mut out, script, start, i);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push(&mut out, script, start, script.len());
    out
}

fn push(out: &mut Vec<Statement>, script: &str, start: usize, end: usize) {
    let piece = &script[start..end];
    let first_line = script[..start].matches('\n').count() + 1;
    let code_line = piece.lines().position(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with("--")
    });
    if let Some(offset) = code_line {
        out.push(Statement { line: first_line + offset, sql: piece.trim().to_owned() });
    }
}

/// The index after the literal starting at `i` (a doubled quote stays inside).
fn skip_quoted(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

/// After `$tag$ ... $tag$` when one starts at `i`, else just past the `$`.
fn skip_dollar_quoted(script: &str, i: usize) -> usize {
    let rest = &script[i + 1..];
    let Some(end) = rest.find('$') else { return i + 1 };
    let tag = &rest[..end];
    if !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return i + 1;
    }
    let delimiter = format!("${tag}$");
    let body = i + delimiter.len();
    script[body..].find(&delimiter).map_or(script.len(), |n| body + n + delimiter.len())
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn splits_outside_literals_comments_and_dollar_quotes() {
        let script = "-- header only\n\n-- t: a table\nCREATE TABLE t (a TEXT DEFAULT ';');\n\
                      INSERT INTO t VALUES ('it''s; fine'); /* ; */\n\
                      DO $body$ BEGIN PERFORM 1; END $body$;\nSELECT \"odd;name\" FROM t\n-- trailing";
        assert_eq!(
            statements(script),
            [
                "-- header only\n\n-- t: a table\nCREATE TABLE t (a TEXT DEFAULT ';')",
                "INSERT INTO t VALUES ('it''s; fine')",
                "/* ; */\nDO $body$ BEGIN PERFORM 1; END $body$",
                "SELECT \"odd;name\" FROM t\n-- trailing",
            ]
        );
    }

    #[test]
    fn statements_know_their_line() {
        let script = "-- a\nCREATE TABLE a (x INT);\n\n-- b\nCREATE TABLE b (\n  y INT\n);\n";
        let lines: Vec<usize> = super::located(script).iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 5]);
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(statements("SELECT $1; SELECT 2"), ["SELECT $1", "SELECT 2"]);
    }
}
