//! How large an expression may be, and the scan that keeps deep nesting away from the parser.
//!
//! Every stage walks expressions recursively: pest (a recursive-descent parser), the lowering,
//! the semantic passes, the formatter, and at the end the SQL parsers of sqlparser and of the
//! database, which count nesting and refuse past a limit of their own. So nesting has a limit
//! in the language, [`MAX_DEPTH`], checked here on the text *before* pest runs: a chunk of a
//! file that nests deeper is reported (`T0007`) and never parsed, so no input can overflow the
//! stack, whatever its size. The scan is linear and knows strings and comments.
//!
//! What counts as a level is what makes the parser recurse: an open parenthesis (grouping, a
//! call, an `in` list), each `-` or `not` in front of an operand (`- -x` is two levels), and,
//! measured separately, a `{` (the recovery rules match braces in pairs).
//!
//! A chain of operators (`a + b + c`) does not make the parser or the syntax tree any deeper
//! (see [`super::ast::ExprKind::Chain`]), but in SQL it does: `a + b + c` is `(a + b) + c` to
//! every SQL parser, one level per operator. [`MAX_OPERATORS`] bounds the operators of one
//! expression, checked by the lowering (`T0007` too), so that every statement generated from
//! it stays within what code generation re-parses.

use super::ast::DeclKind;
use crate::diagnostic::{codes, Diagnostic};
use crate::span::{FileId, Span};
use std::ops::Range;

/// Levels of nesting an expression (or a set of braces) may have.
///
/// Far more than any metric needs, and far less than what overflows: a test thread's 2 MiB
/// stack takes over 100 levels in an unoptimised build (`tests/limits.rs` checks 64 on one),
/// and the statements generated from 64 levels stay well within code generation's SQL check
/// (see `codegen::sql`).
pub const MAX_DEPTH: usize = 64;

/// Operators (`+ - * /`, `and`, `or`, comparisons) one expression may have.
///
/// Each is a level of nesting to an SQL parser. Code generation re-parses every statement, and
/// the SQL of 10,000 operators nests that deep; the databases have limits of their own, lower
/// for some (DuckDB refuses expressions nested deeper than 1,000 by default).
pub const MAX_OPERATORS: usize = 10_000;

/// What nests too deeply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nesting {
    /// Parentheses, `-` and `not`.
    Expression,
    Braces,
}

/// The first place a text nests deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TooDeep {
    pub what: Nesting,
    /// The bracket or operator that opens level `MAX_DEPTH + 1`, as a byte range of the text.
    pub at: Range<usize>,
    /// Where the outermost level still open there begins.
    pub outermost: Range<usize>,
}

/// The first place `text` nests deeper than [`MAX_DEPTH`], if any.
pub(super) fn scan(text: &str) -> Option<TooDeep> {
    match (expression_depth(text), brace_depth(text)) {
        (Some(a), Some(b)) => Some(if b.at.start < a.at.start { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// What the token before the current one was, which decides whether `-` and `not` are
/// prefix operators (a new level) or infix ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// A name, a number, a string or a closing bracket: what follows is an infix operator.
    Operand,
    /// An operator, an opening bracket or a comma: what follows starts an operand.
    Operator,
}

/// Parentheses and prefix operators, as the expression rules recurse on them. Strings are
/// skipped as the grammar reads them (backslash escapes, no line breaks) and so are comments,
/// which the expression rules skip too.
fn expression_depth(text: &str) -> Option<TooDeep> {
    let bytes = text.as_bytes();
    // Per open parenthesis: the depth it opened and where.
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Prefix operators in a row just before here, and where the row began.
    let mut run = 0;
    let mut run_start = 0;
    let mut before = Before::Operator;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let base = open.last().map_or(0, |&(depth, _)| depth);
        let too_deep = |at: Range<usize>, run_start: usize| {
            let outermost = match open.first() {
                Some(&(_, offset)) => offset..offset + 1,
                None => run_start..run_start + 1,
            };
            Some(TooDeep { what: Nesting::Expression, at, outermost })
        };
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i);
            }
            b'"' | b'\'' => {
                i = string_end(bytes, i);
                before = Before::Operand;
                run = 0;
            }
            b'(' => {
                let depth = base + run + 1;
                if depth > MAX_DEPTH {
                    return too_deep(i..i + 1, run_start);
                }
                open.push((depth, i));
                i += 1;
                before = Before::Operator;
                run = 0;
            }
            b')' | b']' | b'}' | b'%' => {
                if byte == b')' {
                    open.pop();
                }
                i += 1;
                before = Before::Operand;
                run = 0;
            }
            b'-' if bytes.get(i + 1) == Some(&b'>') => {
                i += 2;
                before = Before::Operator;
                run = 0;
            }
            b'-' if before == Before::Operator => {
                if run == 0 {
                    run_start = i;
                }
                run += 1;
                if base + run > MAX_DEPTH {
                    return too_deep(i..i + 1, run_start);
                }
                i += 1;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // A path's later segments (`x.not`) are names whatever they spell.
                let word = if start > 0 && bytes[start - 1] == b'.' { "" } else { &text[start..i] };
                match word {
                    "not" if before == Before::Operator => {
                        if run == 0 {
                            run_start = start;
                        }
                        run += 1;
                        if base + run > MAX_DEPTH {
                            return too_deep(start..i, run_start);
                        }
                    }
                    // Infix operators, and the keywords an operand follows.
                    "and" | "or" | "not" | "in" | "between" | "like" | "where" | "having"
                    | "measure" | "buckets" | "default" => {
                        before = Before::Operator;
                        run = 0;
                    }
                    _ => {
                        before = Before::Operand;
                        run = 0;
                    }
                }
            }
            _ => {
                // Punctuation and operators; a character outside ASCII is a whole one.
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                before = Before::Operator;
                run = 0;
            }
        }
    }
    None
}

/// Braces, as the recovery rules match them: everywhere but in strings, which those rules end
/// at the next quote of the same kind or the end of the line, with no escapes. Comments are
/// not skipped: the recovery rules read them as text.
fn brace_depth(text: &str) -> Option<TooDeep> {
    let bytes = text.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    i += 1;
                }
                i += 1;
            }
            b'{' => {
                if open.len() == MAX_DEPTH {
                    let outermost = open.first().map_or(i, |&o| o);
                    return Some(TooDeep {
                        what: Nesting::Braces,
                        at: i..i + 1,
                        outermost: outermost..outermost + 1,
                    });
                }
                open.push(i);
                i += 1;
            }
            b'}' => {
                open.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// The offset of the line break that ends the line holding `i` (or the end of the text).
fn line_end(bytes: &[u8], i: usize) -> usize {
    bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n)
}

/// The offset just past the string that opens at `i`: its closing quote, or the end of the
/// line when it is not closed (the grammar reports that).
fn string_end(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            b if b == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// T0007 for a chunk of `file` starting at `base` that nests too deeply.
pub(super) fn too_deep(file: FileId, base: usize, found: &TooDeep) -> Diagnostic {
    let at = Span::new(file, base + found.at.start, base + found.at.end);
    let outermost = Span::new(file, base + found.outermost.start, base + found.outermost.end);
    let (message, help) = match found.what {
        Nesting::Expression => (
            format!("Expression nests more than {MAX_DEPTH} levels deep"),
            "remove parentheses that group nothing (`a + b + c` needs none), or compute a part \
             as a metric of its own and combine the metrics (`metric total = a + b`)",
        ),
        Nesting::Braces => (
            format!("Braces nest more than {MAX_DEPTH} levels deep"),
            "close each `{` with a `}`: blocks nest two deep at most (`columns { ... }` in a \
             source)",
        ),
    };
    let mut d = Diagnostic::error(codes::TOO_DEEP, message, at)
        .label(format!("level {}", MAX_DEPTH + 1))
        .help(help)
        .note("the declaration is not read any further");
    if outermost != at {
        d = d.secondary(outermost, "the outermost level opens here");
    }
    d
}

/// T0007 for an expression with more than [`MAX_OPERATORS`] operators.
pub(super) fn too_many_operators(span: Span, operators: usize) -> Diagnostic {
    Diagnostic::error(
        codes::TOO_DEEP,
        format!("Expression has more than {MAX_OPERATORS} operators"),
        span,
    )
    .label(format!("{operators} operators"))
    .help(
        "compute parts of it as metrics of their own and combine the metrics \
         (`metric total = part_a + part_b`)",
    )
    .note("to a database, `a + b + c` is `(a + b) + c`: each operator nests one level deeper")
}

/// The kind and name of the declaration a chunk starts with (after its doc comments), so a
/// chunk that is not parsed still declares its name: other declarations that refer to it then
/// do not also report an unknown name.
pub(super) fn declared_name(chunk: &str) -> Option<(DeclKind, Range<usize>)> {
    let mut offset = 0;
    for line in chunk.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            offset += line.len();
            continue;
        }
        let keyword_len = line.bytes().take_while(u8::is_ascii_alphabetic).count();
        let kind = DeclKind::from_keyword(&line[..keyword_len])?;
        let rest = &line[keyword_len..];
        let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let start = offset + keyword_len + gap;
        let name_len =
            chunk[start..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        if gap == 0 || name_len == 0 {
            return None;
        }
        return Some((kind, start..start + name_len));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_at(text: &str) -> Option<(Nesting, usize)> {
        scan(text).map(|found| (found.what, found.at.start))
    }

    #[test]
    fn parentheses_count_until_the_limit() {
        let ok = format!("metric m = {}x{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(scan(&ok), None);
        let deep =
            format!("metric m = {}x{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(depth_at(&deep), Some((Nesting::Expression, 11 + MAX_DEPTH)));
        // Siblings do not add up: only what is open at once counts.
        let wide = "(x) + ".repeat(1000) + "x";
        assert_eq!(scan(&wide), None);
    }

    #[test]
    fn prefix_operators_are_levels_and_infix_ones_are_not() {
        // `sum(` is the first level.
        let minus = format!("measure sum({}x.a)", "- ".repeat(MAX_DEPTH - 1));
        assert_eq!(scan(&minus), None);
        let minus = format!("measure sum({}x.a)", "- ".repeat(MAX_DEPTH));
        assert_eq!(depth_at(&minus), Some((Nesting::Expression, 12 + 2 * (MAX_DEPTH - 1))));
        let nots = format!("where {}x.flag", "not ".repeat(MAX_DEPTH));
        assert_eq!(scan(&nots), None);
        let nots = format!("where {}x.flag", "not ".repeat(MAX_DEPTH + 1));
        assert_eq!(depth_at(&nots), Some((Nesting::Expression, 6 + 4 * MAX_DEPTH)));
        // Binary minus, `is not null`, `not in` and `->` are no levels.
        let infix = "x.a - 1 - 2 and x.b is not null and x.c not in (1) -> y\n".repeat(100);
        assert_eq!(scan(&infix), None);
    }

    #[test]
    fn strings_and_comments_hide_brackets() {
        let text = format!(
            "title \"{}\"\n// {}\nmeasure 'it\\'s {}'",
            "(".repeat(100),
            "(".repeat(100),
            "(".repeat(100)
        );
        assert_eq!(scan(&text), None);
    }

    #[test]
    fn braces_count_as_the_recovery_rules_match_them() {
        let deep = "{".repeat(MAX_DEPTH + 1);
        assert_eq!(depth_at(&deep), Some((Nesting::Braces, MAX_DEPTH)));
        // In a comment a brace still counts, in a string it does not.
        assert_eq!(depth_at(&format!("// {deep}")).map(|(w, _)| w), Some(Nesting::Braces));
        assert_eq!(scan(&format!("'{deep}'")), None);
    }

    #[test]
    fn the_first_declaration_name_is_found_after_docs() {
        let chunk = "/// docs\n\n// note\nmetric  total = x\n";
        let (kind, name) = declared_name(chunk).expect("a declaration");
        assert_eq!((kind, &chunk[name]), (DeclKind::Metric, "total"));
        assert_eq!(declared_name("metricx = y"), None);
        assert_eq!(declared_name("garbage here"), None);
    }
}
