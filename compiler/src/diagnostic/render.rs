//! Renderers: turn diagnostics into text for people, JSON for programs, annotations for CI.
//!
//! Each renderer is a pure function from diagnostics and the [`SourceMap`] they point into to a
//! `String`; printing it is the caller's business (the compiler does no I/O). Every non-empty
//! output ends with a line break, so callers write it with `print!`, not `println!`.
//!
//! Spans are clamped to the text of their file before use: a stage with an off-by-one must still
//! get its diagnostic shown, not a panic in the renderer.
//!
//! The human renderer also keeps what it shows to a size a terminal can hold, whatever the
//! input: a source line longer than [`MAX_LINE`] characters is shown in pieces around the
//! labels, cut with `…` (miette itself cannot draw a label past column 65,535), a word longer
//! than [`MAX_WORD`] in a message is shortened, at most [`MAX_SECONDARY`] secondary labels
//! are drawn, and at most [`MAX_SHOWN`] diagnostics. The JSON and GitHub renderers give
//! everything in full.

use super::{codes, Diagnostic, Label, Severity};
use crate::source::{SourceFile, SourceMap};
use crate::span::{FileId, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Columns the human renderer wraps at. Fixed rather than taken from the terminal so the same
/// diagnostics always render to the same bytes (and snapshots stay stable).
const WIDTH: usize = 100;

/// Source lines longer than this (in characters) are shown in pieces around the labels.
const MAX_LINE: usize = 160;

/// Characters of a long line shown on each side of where a label starts or ends.
const CONTEXT: usize = 40;

/// Words in messages, labels and help longer than this (in characters) are shortened.
const MAX_WORD: usize = 80;

/// Secondary labels drawn per diagnostic; the others are counted in a note.
const MAX_SECONDARY: usize = 20;

/// Diagnostics drawn; the others are counted. Drawing one reads its file up to its line, so a
/// large file with a mistake repeated on every line would otherwise take time quadratic in
/// its size, to print more than anyone reads.
const MAX_SHOWN: usize = 200;

/// How diagnostics are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Source excerpts with labels, for people (miette).
    Human,
    /// A JSON array, for programs.
    Json,
    /// GitHub Actions workflow commands, which become annotations on a pull request.
    Github,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 3] = [Format::Human, Format::Json, Format::Github];

    /// The name accepted by [`Format::from_str`].
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Github => "github",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|format| format.as_str() == s).ok_or_else(|| {
            let valid: Vec<String> = Format::ALL.iter().map(|f| format!("`{f}`")).collect();
            format!("unknown diagnostic format `{s}`: expected one of {}", valid.join(", "))
        })
    }
}

/// Renders `diagnostics` in `format`. `color` only matters for [`Format::Human`].
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    color: bool,
) -> String {
    match format {
        Format::Human => human(diagnostics, sources, color),
        Format::Json => json(diagnostics, sources),
        Format::Github => github(diagnostics, sources),
    }
}

/// A one-line count such as `2 errors, 1 warning`, or `no problems`.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.iter().filter(|d| d.severity == Severity::Warning).count();
    let parts: Vec<String> = [(errors, "error"), (warnings, "warning")]
        .into_iter()
        .filter(|&(n, _)| n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "no problems".to_string()
    } else {
        parts.join(", ")
    }
}

/// A span made safe to use: offsets clamped into the file's text and onto character
/// boundaries, with 1-based line and column (in characters) of both ends.
struct Location<'a> {
    /// `None` when the span names a file the map does not hold (a bug upstream, but still
    /// worth showing).
    file: Option<&'a SourceFile>,
    name: String,
    start: usize,
    end: usize,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

impl<'a> Location<'a> {
    fn new(sources: &'a SourceMap, span: Span) -> Self {
        let Some(file) = sources.get(span.file) else {
            return Location {
                file: None,
                name: format!("<unknown file #{}>", span.file.0),
                start: 0,
                end: 0,
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            };
        };
        let start = char_floor(&file.text, span.start as usize);
        let end = char_floor(&file.text, span.end as usize).max(start);
        let (line, column) = file.line_col(start);
        let (end_line, end_column) = file.line_col(end);
        Location {
            file: Some(file),
            name: file.name.clone(),
            start,
            end,
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// `file:line:col`, or just the name when the file is unknown and the numbers would lie.
    fn position(&self) -> String {
        match self.file {
            Some(_) => format!("{}:{}:{}", self.name, self.line, self.column),
            None => self.name.clone(),
        }
    }
}

/// The largest character boundary of `text` at or before `offset`.
fn char_floor(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    // Offset 0 is always a boundary, so this stops.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn code_name(diagnostic: &Diagnostic) -> Option<&'static str> {
    codes::info(diagnostic.code).map(|info| info.name)
}

// ---------------------------------------------------------------------------------------------
// Human

/// Renders diagnostics for a terminal with miette, separated by blank lines. With `color` false
/// the output has no ANSI escapes (for `NO_COLOR`, pipes and snapshots).
pub fn human(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_links(false)
        .without_syntax_highlighting();
    // One shared copy of each file's text, however many diagnostics point into it.
    let mut texts: BTreeMap<FileId, Arc<str>> = BTreeMap::new();
    let mut blocks: Vec<String> = diagnostics
        .iter()
        .take(MAX_SHOWN)
        .map(|diagnostic| render_human(&handler, diagnostic, sources, &mut texts))
        .collect();
    let hidden = diagnostics.len().saturating_sub(MAX_SHOWN);
    if hidden > 0 {
        blocks
            .push(format!("... and {hidden} more (`tally check --format json` lists them all)\n"));
    }
    blocks.join("\n")
}

fn render_human(
    handler: &GraphicalReportHandler,
    diagnostic: &Diagnostic,
    sources: &SourceMap,
    texts: &mut BTreeMap<FileId, Arc<str>>,
) -> String {
    let report = HumanReport::new(diagnostic, sources, texts);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // miette gives up on a span it cannot read; the message must still get through.
        out = format!("{}\n\n  {}\n", diagnostic.code, diagnostic.message);
        if let Some(help) = &diagnostic.help {
            out.push_str(&indent_continuation(&format!("  help: {help}"), "        "));
            out.push('\n');
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for note in report.extra_notes.iter().chain(&diagnostic.notes) {
        let note = clip_words(note);
        out.push_str(&indent_continuation(&format!("  note: {note}"), "        "));
        out.push('\n');
    }
    out
}

/// Indents every line after the first, so a multi-line note stays under its `note:`.
fn indent_continuation(text: &str, indent: &str) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{indent}"))
}

/// One [`Diagnostic`] in the shape miette renders.
#[derive(Debug)]
struct HumanReport<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<Source>,
    labels: Vec<LabeledSpan>,
    /// Secondary labels in files other than the primary one: a miette report shows one
    /// source, so these become notes that point at `file:line:col`.
    extra_notes: Vec<String>,
}

impl<'a> HumanReport<'a> {
    fn new(
        diagnostic: &'a Diagnostic,
        sources: &SourceMap,
        texts: &mut BTreeMap<FileId, Arc<str>>,
    ) -> Self {
        let primary = Location::new(sources, diagnostic.primary.span);
        let mut spans = vec![(primary.start, primary.end, human_label(&diagnostic.primary))];
        let mut extra_notes = Vec::new();
        if primary.file.is_none() {
            extra_notes.push(note_text(&primary, &diagnostic.primary));
        }
        for label in diagnostic.secondary.iter().take(MAX_SECONDARY) {
            let location = Location::new(sources, label.span);
            if primary.file.is_some() && label.span.file == diagnostic.primary.span.file {
                spans.push((location.start, location.end, human_label(label)));
            } else {
                extra_notes.push(note_text(&location, label));
            }
        }
        let hidden = diagnostic.secondary.len().saturating_sub(MAX_SECONDARY);
        if hidden > 0 {
            extra_notes.push(format!("{hidden} more labels are not shown"));
        }

        let Some(file) = primary.file else {
            return HumanReport { diagnostic, source: None, labels: Vec::new(), extra_notes };
        };
        let boundaries: BTreeSet<usize> = spans.iter().flat_map(|&(s, e, _)| [s, e]).collect();
        let (text, spans, position) = match Excerpt::clip(&file.text, &boundaries) {
            // The usual case: the whole text, shared by every diagnostic of the file.
            None => {
                let text = Arc::clone(
                    texts
                        .entry(diagnostic.primary.span.file)
                        .or_insert_with(|| Arc::from(file.text.as_str())),
                );
                (text, spans, None)
            }
            Some(excerpt) => {
                let spans: Vec<_> = spans
                    .into_iter()
                    .map(|(start, end, label)| (excerpt.map(start), excerpt.map(end), label))
                    .collect();
                // The header names the file's own line and column, not the excerpt's.
                let line_start = file.text[..primary.start].rfind('\n').map_or(0, |i| i + 1);
                let position = spans.first().map(|&(start, _, _)| Position {
                    offset: start,
                    line: primary.line - 1,
                    column: primary.start - line_start,
                });
                (Arc::from(excerpt.text), spans, position)
            }
        };
        let len = text.len();
        // miette draws nothing for an empty span at the very end of the text: it has no line
        // to put it on. A line break after the text gives it one, without moving any offset.
        let text = if spans.iter().any(|&(start, end, _)| start == len && end == len) {
            Arc::from(format!("{text}\n"))
        } else {
            text
        };
        let labels = spans
            .into_iter()
            .enumerate()
            .map(|(i, (start, end, label))| {
                if i == 0 {
                    LabeledSpan::new_primary_with_span(label, (start, end - start))
                } else {
                    LabeledSpan::new_with_span(label, (start, end - start))
                }
            })
            .collect();
        HumanReport {
            diagnostic,
            source: Some(Source { name: file.name.clone(), text, position }),
            labels,
            extra_notes,
        }
    }
}

/// The text miette reads a diagnostic's excerpts from.
#[derive(Debug)]
struct Source {
    name: String,
    text: Arc<str>,
    /// Where the primary label is in the file, when `text` is an excerpt with lines cut
    /// short: miette would count the excerpt's columns.
    position: Option<Position>,
}

#[derive(Debug, Clone, Copy)]
struct Position {
    /// The primary label's start in the excerpt.
    offset: usize,
    /// 0-based, as miette counts: the line, and the column in bytes.
    line: usize,
    column: usize,
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.text.as_ref().read_span(span, before, after)?;
        // miette reads the primary label alone, without context, for the header's position.
        let (line, column) = match self.position {
            Some(p) if p.offset == span.offset() && before == 0 && after == 0 => (p.line, p.column),
            _ => (contents.line(), contents.column()),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            line,
            column,
            contents.line_count(),
        )))
    }
}

/// A label miette cannot draw, as `file:line:col: label`.
fn note_text(location: &Location<'_>, label: &Label) -> String {
    if label.message.is_empty() {
        location.position()
    } else {
        format!("{}: {}", location.position(), label.message)
    }
}

fn label_text(label: &Label) -> Option<String> {
    // An empty label still underlines its span; it just has nothing to say beside it.
    (!label.message.is_empty()).then(|| label.message.clone())
}

/// [`label_text`], shortened for people (see [`clip_words`]).
fn human_label(label: &Label) -> Option<String> {
    label_text(label).map(|text| clip_words(&text).into_owned())
}

/// A file's text with its long lines cut down to the pieces around the labels (see the
/// module docs), and where each label's ends moved to.
struct Excerpt {
    text: String,
    /// Offsets in the file → offsets in `text`, for every boundary asked for.
    moved: BTreeMap<usize, usize>,
}

impl Excerpt {
    /// The excerpt of `text` that keeps every offset of `boundaries` (character boundaries)
    /// with the characters around it, or `None` when no line needs cutting.
    fn clip(text: &str, boundaries: &BTreeSet<usize>) -> Option<Excerpt> {
        let long = |line: &str| line.len() > MAX_LINE && line.chars().count() > MAX_LINE;
        if !text.lines().any(long) {
            return None;
        }
        let mut out = String::new();
        let mut moved = BTreeMap::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let marks: Vec<usize> =
                boundaries.range(offset..=offset + body.len()).copied().collect();
            if !long(body) {
                for mark in marks {
                    moved.insert(mark, out.len() + mark - offset);
                }
                out.push_str(line);
                offset += line.len();
                continue;
            }
            // Character positions of the line, and the windows of them to keep.
            let starts: Vec<usize> = body.char_indices().map(|(i, _)| i).collect();
            let count = starts.len();
            let position = |byte: usize| starts.partition_point(|&s| s < byte);
            let mut windows: Vec<(usize, usize)> = marks
                .iter()
                .map(|&mark| {
                    let at = position(mark - offset);
                    (at.saturating_sub(CONTEXT), (at + CONTEXT).min(count))
                })
                .collect();
            if windows.is_empty() {
                windows.push((0, MAX_LINE));
            }
            windows.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for (from, to) in windows {
                match merged.last_mut() {
                    Some(last) if from <= last.1 => last.1 = last.1.max(to),
                    _ => merged.push((from, to)),
                }
            }
            let byte = |at: usize| starts.get(at).copied().unwrap_or(body.len());
            let mut marks = marks.into_iter().peekable();
            let mut shown_to = 0;
            for (from, to) in merged {
                if from > shown_to {
                    out.push('…');
                }
                let piece_start = out.len();
                out.push_str(&body[byte(from)..byte(to)]);
                while let Some(&mark) = marks.peek() {
                    let at = mark - offset;
                    if at > byte(to) {
                        break;
                    }
                    moved.insert(mark, piece_start + at.saturating_sub(byte(from)));
                    marks.next();
                }
                shown_to = to;
            }
            if shown_to < count {
                out.push('…');
            }
            out.push_str(&line[body.len()..]);
            offset += line.len();
        }
        Some(Excerpt { text: out, moved })
    }

    fn map(&self, offset: usize) -> usize {
        self.moved.get(&offset).copied().unwrap_or(0)
    }
}

/// `text` with every word longer than [`MAX_WORD`] characters shortened with `…`.
fn clip_words(text: &str) -> Cow<'_, str> {
    if !text.split_whitespace().any(|w| w.len() > MAX_WORD && w.chars().count() > MAX_WORD) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(4 * WIDTH));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().count() > MAX_WORD {
            out.extend(word.chars().take(MAX_WORD - 10));
            out.push('…');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    Cow::Owned(out)
}

impl fmt::Display for HumanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clip_words(&self.diagnostic.message))
    }
}

impl std::error::Error for HumanReport<'_> {}

impl miette::Diagnostic for HumanReport<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let help = self.diagnostic.help.as_deref()?;
        Some(Box::new(clip_words(help).into_owned()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Renders diagnostics as a pretty-printed JSON array (`[]` when there are none). Lines and
/// columns are 1-based, columns count characters, and `end_line`/`end_column` point just past
/// the span. An empty label is `null`.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<Value> = diagnostics.iter().map(|d| json_diagnostic(d, sources)).collect();
    // `{:#}` pretty-prints a `Value` and, unlike `to_string_pretty`, cannot fail.
    format!("{:#}\n", Value::Array(items))
}

fn json_diagnostic(diagnostic: &Diagnostic, sources: &SourceMap) -> Value {
    let primary = Location::new(sources, diagnostic.primary.span);
    let secondary: Vec<Value> = diagnostic
        .secondary
        .iter()
        .map(|label| {
            let location = Location::new(sources, label.span);
            json!({
                "file": location.name,
                "line": location.line,
                "column": location.column,
                "end_line": location.end_line,
                "end_column": location.end_column,
                "label": label_text(label),
            })
        })
        .collect();
    json!({
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "name": code_name(diagnostic),
        "message": diagnostic.message,
        "file": primary.name,
        "line": primary.line,
        "column": primary.column,
        "end_line": primary.end_line,
        "end_column": primary.end_column,
        "label": label_text(&diagnostic.primary),
        "secondary": secondary,
        "help": diagnostic.help,
        "notes": diagnostic.notes,
    })
}

// ---------------------------------------------------------------------------------------------
// GitHub

/// Renders diagnostics as GitHub Actions workflow commands (`::error ...::message`), one line
/// each. Help and notes follow the message as extra lines of the annotation.
///
/// `col` and `endColumn` are left out when a span covers several lines: GitHub only honours
/// columns on single-line annotations.
pub fn github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = Location::new(sources, diagnostic.primary.span);
        let title = match code_name(diagnostic) {
            Some(name) => format!("{} {name}", diagnostic.code),
            None => diagnostic.code.to_string(),
        };
        let mut properties =
            vec![("file", location.name.clone()), ("line", location.line.to_string())];
        if location.line == location.end_line {
            properties.push(("col", location.column.to_string()));
        }
        properties.push(("endLine", location.end_line.to_string()));
        if location.line == location.end_line {
            properties.push(("endColumn", location.end_column.to_string()));
        }
        properties.push(("title", title));
        let properties: Vec<String> = properties
            .into_iter()
            .map(|(key, value)| format!("{key}={}", escape_property(&value)))
            .collect();

        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        for note in &diagnostic.notes {
            message.push_str("\nnote: ");
            message.push_str(note);
        }
        out.push_str(&format!("::{command} {}::{}\n", properties.join(","), escape_data(&message)));
    }
    out
}

/// Escapes the message of a workflow command, as the runner's `escapeData` does.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value, as the runner's `escapeProperty` does: `:` and `,` would
/// otherwise end the value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
