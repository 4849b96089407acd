//! Syntax: file text → [`ast::Module`] with spans, plus every syntax diagnostic.
//!
//! The grammar (`tally.pest`) is run by pest; [`lower`] turns pest's pairs into the typed AST
//! and its failures into diagnostics. Parsing never stops at the first error:
//!
//! 1. The file is cut into chunks at lines that start a top-level declaration in column 0
//!    (with the `///` lines above them), and each chunk is parsed on its own. A missing `}`
//!    therefore costs one declaration, not the rest of the file.
//! 2. Inside a block, a line that is not a property parses as `invalid_item`; the lowering
//!    explains it (unknown property, malformed property, unterminated string) and goes on.
//!
//! Before a chunk is parsed, [`limits`] measures how deeply it nests; a chunk deeper than
//! [`limits::MAX_DEPTH`] is reported (`T0007`) instead of being parsed, because pest (and every
//! later pass) recurses once per level. Its declaration keeps its name, with nothing read.

pub mod ast;
pub mod keywords;
pub mod limits;
mod lower;

use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "syntax/tally.pest"]
pub(crate) struct TallyParser;

/// Parses one file. The module holds every declaration that could be read; the diagnostics
/// say what could not.
pub fn parse(file: FileId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    let mut lowering = lower::Lowering::new(file, text);
    let mut declarations = Vec::new();
    for range in chunks(text) {
        let chunk = &text[range.clone()];
        match limits::scan(chunk) {
            None => declarations.extend(lowering.chunk(range)),
            Some(found) => {
                lowering.report(limits::too_deep(file, range.start, &found));
                declarations.extend(unread(file, range.start, chunk));
            }
        }
    }
    (ast::Module { declarations }, lowering.finish())
}

/// The declaration a chunk that was not parsed starts with: its kind and name, and every
/// property of its kind marked unreadable, so that neither its name nor its properties are
/// reported missing on top of the reason it was not read.
fn unread(file: FileId, base: usize, chunk: &str) -> Option<ast::Declaration> {
    let (kind, name) = limits::declared_name(chunk)?;
    let span = Span::new(file, base + name.start, base + name.end);
    Some(ast::Declaration {
        kind,
        docs: Vec::new(),
        name: ast::Ident { name: chunk[name].to_string(), span },
        body: ast::Body::Block(Vec::new()),
        unreadable: keywords::properties(kind).iter().map(|p| p.to_string()).collect(),
        span: Span::new(file, base, base + chunk.len()),
    })
}

/// Byte ranges of the chunks of a file (see the module docs). Chunks cover the whole text.
fn chunks(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut starts = vec![0];
    // Offset of the first `///` line of the run of doc lines above the current line.
    let mut docs_start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if line.starts_with("///") {
            docs_start.get_or_insert(offset);
        } else if docs_start.is_some() && (trimmed.is_empty() || trimmed.starts_with("//")) {
            // Blank and comment lines between doc comments and their declaration keep them
            // together, as the grammar does.
        } else {
            if offset > 0 && starts_declaration(line) {
                starts.push(docs_start.unwrap_or(offset));
            }
            docs_start = None;
        }
        offset += line.len();
    }
    starts.dedup();
    let mut ranges: Vec<_> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    if let Some(&last) = starts.last() {
        ranges.push(last..text.len());
    }
    ranges
}

/// `keyword name {`, `metric name =` or `users {` at column 0. A property that happens to share
/// a declaration keyword (`retention standard` in a source) has no brace, so it does not count.
fn starts_declaration(line: &str) -> bool {
    let keyword_len = line.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let (keyword, after) = line.split_at(keyword_len);
    let Some(kind) = ast::DeclKind::from_keyword(keyword) else { return false };
    if !kind.named() {
        return after.trim_start().starts_with('{');
    }
    let mut words = after.split_whitespace();
    let Some(name) = words.next() else { return false };
    let name_len = name.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if name_len == 0 {
        return false;
    }
    let rest = name[name_len..].trim_start();
    let next = if rest.is_empty() { words.next().unwrap_or("") } else { rest };
    next.starts_with('{') || (keyword == "metric" && next.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_start_at_declarations_and_keep_their_docs() {
        let text = "source a {\n}\n/// doc\nmetric b = c\n  retention x\nrole r {}\nusers{\n}\n";
        let pieces: Vec<&str> = chunks(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            pieces,
            [
                "source a {\n}\n",
                "/// doc\nmetric b = c\n  retention x\n",
                "role r {}\n",
                "users{\n}\n"
            ]
        );
    }
}
