//! The canonical formatter: file text → the same file in Tally's one layout (`tally fmt`).
//!
//! [`format`] parses the file, refuses it if it has a syntax error (a file that cannot be read
//! whole cannot be printed whole), prints the AST canonically and puts every `//` comment back.
//! Before returning it checks its own work: the output must parse to the same AST (spans
//! aside) and hold the same comments; if not, that is a bug in Tally and the file is left
//! alone with an internal-error diagnostic rather than damaged.
//!
//! # The canonical layout
//!
//! - Two spaces per level of indentation, one property per line, no trailing whitespace, and
//!   the file ends with exactly one newline (an empty file stays empty).
//! - `keyword name {` on one line and `}` alone on its line; a block with nothing in it is
//!   `keyword name {}`.
//! - Exactly one blank line between top-level declarations. Inside a block, one blank line
//!   where the author left one or more, none after `{` or before `}`.
//! - Properties stay in the author's order: reordering would tear comments from the lines they
//!   talk about. Column modifiers, which share one line, come in a fixed order: nullability
//!   (`not null` / `null`), `-> reference`, `pii(...)`, `default value` (the syntax tree has
//!   one slot for each, so this changes nothing in the tree).
//! - Column names in a `columns` block are padded to the longest name of the block, so that
//!   the types line up.
//! - Lists are `a, b, c`. `key a` for one key, `key (a, b)` for several.
//! - Strings that are settings (titles, descriptions, owners, landing patterns and options,
//!   cron expressions, time zones, unit texts, type arguments) are printed with double
//!   quotes; strings that are data values (in expressions and column defaults) with single
//!   quotes, as in SQL. Escapes: `\\`, the quote, `\n`, `\t`.
//! - Expressions have one space around binary operators, `!=` for not-equal, and parentheses
//!   exactly where the author wrote them. Durations say `1 hour` and `24 hours`; clock times
//!   have two-digit hours and minutes (`06:00`).
//! - `measure <expr> where <filter>` stays on one line if that line fits in 100 columns;
//!   otherwise `where <filter>` goes on the next line, indented two more spaces. Other
//!   lines are never broken.
//! - `///` doc lines go on their own lines right above their declaration, column or level.
//!
//! # Comments
//!
//! Comments are not in the AST; [`comments`] finds them in the text and the printer places
//! each by its byte offset:
//!
//! - A comment alone on its line goes on its own line before the next item (declaration,
//!   property, column or level) of its block, at the item's indentation; after the last item
//!   of a block it goes before the `}`, at the block's inner indentation; after the last
//!   declaration, at the end of the file.
//! - A comment that trails code goes at the end of the printed line of the item it trails
//!   (the last printed line, for an item printed on several lines), after one space. One that
//!   trails `{` or `}` stays there.
//! - A comment inside an item written over several lines (say, in the middle of a long list)
//!   has no such line to go to, so it moves above the item, on its own line. So do comments
//!   between an item's `///` doc lines and the item.
//!
//! Every comment is printed exactly once: the printer takes them from a cursor in source order
//! and [`format`] checks that the output has the same comments as the input.

mod comments;

use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};
use crate::syntax;
use crate::syntax::ast::*;
use comments::{Comment, Comments};

/// The width that decides whether a `measure ... where ...` fits on one line.
const MAX_WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Formats one file. Err(diagnostics) when the file has syntax errors (the formatter refuses to
/// format a file it cannot fully read, so nothing is lost).
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (module, diagnostics) = syntax::parse(file, text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let output = Printer::new(text).module(&module);
    verify(file, text, &module, &output)?;
    Ok(output)
}

/// The formatter's promise, checked on every run: the output means what the input meant and
/// keeps every comment. A failure is a bug in the printer, so the input is left untouched.
fn verify(file: FileId, text: &str, module: &Module, output: &str) -> Result<(), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    if comments::texts(text) != comments::texts(output) {
        problems.push("the comments of the output differ from those of the input");
    }
    let (again, diagnostics) = syntax::parse(file, output);
    if diagnostics.iter().any(Diagnostic::is_error) {
        problems.push("the output does not parse");
    } else {
        let (before, after) = (shape(module), shape(&again));
        if before.is_none() || before != after {
            problems.push("the output parses to a different syntax tree");
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let span = Span::new(file, 0, 0);
    Err(problems
        .into_iter()
        .map(|problem| {
            Diagnostic::internal(problem, span).label("the formatter left this file unchanged")
        })
        .collect())
}

/// What must survive formatting: the module without its positions.
fn shape(module: &Module) -> Option<serde_json::Value> {
    let mut value = serde_json::to_value(module).ok()?;
    strip_positions(&mut value);
    Some(value)
}

/// Removes every span: they are all under a `span` or `keyword` key.
fn strip_positions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.shift_remove("span");
            map.shift_remove("keyword");
            map.values_mut().for_each(strip_positions);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_positions),
        _ => {}
    }
}

// ---------------------------------------------------------------- layout

/// Something printed on lines of its own, with comments around it.
#[derive(Debug, Clone, Copy)]
enum Item<'m> {
    Declaration(&'m Declaration),
    Property(&'m Property),
    /// A column and the width its name is padded to.
    Column(&'m Column, usize),
    /// A user attribute and the width its name is padded to.
    Attribute(&'m Attribute, usize),
}

impl Item<'_> {
    fn span(self) -> Span {
        match self {
            Item::Declaration(d) => d.span,
            Item::Property(p) => p.span,
            Item::Column(c, _) => c.span,
            Item::Attribute(a, _) => a.span,
        }
    }
}

/// An item printed as `header { ... }`: a declaration's block or a source's `columns`.
#[derive(Debug)]
struct Block<'m> {
    docs: &'m [String],
    header: String,
    span: Span,
    /// Where the text before the `{` ends: the declaration's name, the `columns` keyword.
    head_end: usize,
    children: Vec<Item<'m>>,
}

/// Where the blank lines of one sequence of lines (the file, or one block) go.
#[derive(Debug, Default)]
struct Gaps {
    /// Source line of the end of the previous thing printed in this sequence.
    previous_end: Option<usize>,
    /// The next thing gets a blank line whatever the author wrote (after a declaration).
    force: bool,
}

struct Printer<'a> {
    comments: Comments<'a>,
    text: &'a str,
    out: String,
}

impl<'a> Printer<'a> {
    fn new(text: &'a str) -> Self {
        Printer { comments: Comments::new(text), text, out: String::with_capacity(text.len()) }
    }

    fn module(mut self, module: &Module) -> String {
        let mut gaps = Gaps::default();
        for declaration in &module.declarations {
            self.item(&mut gaps, 0, Item::Declaration(declaration), self.text.len());
            gaps.force = true;
        }
        let rest = self.comments.take_rest();
        self.own_line_comments(&mut gaps, 0, &rest, None);
        self.out
    }

    /// Starts something that spans source lines `first..=last`, after a blank line if the
    /// sequence calls for one.
    fn gap(&mut self, gaps: &mut Gaps, first: usize, last: usize) {
        if let Some(previous) = gaps.previous_end {
            if gaps.force || self.comments.blank_between(previous, first) {
                self.out.push('\n');
            }
        }
        gaps.previous_end = Some(last);
        gaps.force = false;
    }

    fn line(&mut self, depth: usize, content: &str, trailing: Option<Comment>) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
        self.out.push_str(content);
        if let Some(comment) = trailing {
            self.out.push(' ');
            self.out.push_str(self.comments.text(&comment));
        }
        self.out.push('\n');
    }

    /// Prints comments on lines of their own. `at_line` stands in for their source line when
    /// they were moved out of an item, so that they stick to it.
    fn own_line_comments(
        &mut self,
        gaps: &mut Gaps,
        depth: usize,
        comments: &[Comment],
        at_line: Option<usize>,
    ) {
        for comment in comments {
            let line = at_line.unwrap_or_else(|| self.comments.line(comment.start));
            self.gap(gaps, line, line);
            self.line(depth, self.comments.text(comment), None);
        }
    }

    /// Prints one item of a sequence with the comments before, inside and after it. `limit`
    /// is where the enclosing block closes: comments from there on are not the item's.
    fn item(&mut self, gaps: &mut Gaps, depth: usize, item: Item, limit: usize) {
        let span = item.span();
        let leading = self.comments.take_before(span.start as usize);
        self.own_line_comments(gaps, depth, &leading, None);
        match item {
            Item::Declaration(Declaration { kind, docs, name, body, .. }) => {
                let head = if kind.named() {
                    format!("{} {}", kind.keyword(), name.name)
                } else {
                    kind.keyword().to_string()
                };
                match body {
                    Body::Block(items) => {
                        let children = items.iter().map(Item::Property).collect();
                        let head_end = name.span.end as usize;
                        let block = Block { docs, header: head, span, head_end, children };
                        self.block(gaps, depth, block, limit);
                    }
                    Body::Expr(e) => {
                        let mut lines: Vec<String> = docs.iter().map(|d| doc_line(d)).collect();
                        lines.push(format!("{head} = {}", expr(e)));
                        self.leaf(gaps, depth, span, &lines, limit);
                    }
                }
            }
            Item::Property(Property {
                value: PropertyValue::Columns(columns), keyword, ..
            }) => {
                let width = name_width(columns);
                let children = columns.iter().map(|c| Item::Column(c, width)).collect();
                let header = "columns".to_string();
                let block =
                    Block { docs: &[], header, span, head_end: keyword.end as usize, children };
                self.block(gaps, depth, block, limit);
            }
            Item::Property(Property {
                value: PropertyValue::Attributes(attributes),
                keyword,
                ..
            }) => {
                let width = attributes.iter().map(|a| a.name.name.len()).max().unwrap_or(0);
                let children = attributes.iter().map(|a| Item::Attribute(a, width)).collect();
                let header = "attributes".to_string();
                let block =
                    Block { docs: &[], header, span, head_end: keyword.end as usize, children };
                self.block(gaps, depth, block, limit);
            }
            Item::Property(property) => {
                self.leaf(gaps, depth, span, &property_lines(&property.value, depth), limit);
            }
            Item::Column(column, width) => {
                self.leaf(gaps, depth, span, &column_lines(column, width), limit);
            }
            Item::Attribute(attribute, width) => {
                self.leaf(gaps, depth, span, &attribute_lines(attribute, width), limit);
            }
        }
    }

    /// An item without a block, printed as `lines`: the comment that trails its last source
    /// line goes at the end of its last printed line, and any comment from its other lines
    /// moves above it.
    fn leaf(&mut self, gaps: &mut Gaps, depth: usize, span: Span, lines: &[String], limit: usize) {
        let (start, end) = (span.start as usize, span.end as usize);
        let first_line = self.comments.line(start);
        let last_line = self.comments.line(self.comments.code_end(start, end).saturating_sub(1));
        let mut inside = self.comments.take_before(self.comments.line_end(last_line).min(limit));
        let trailing = match inside.last() {
            Some(c) if !c.own_line && self.comments.line(c.start) == last_line => inside.pop(),
            _ => None,
        };
        self.own_line_comments(gaps, depth, &inside, Some(first_line));
        self.gap(gaps, first_line, last_line);
        for (i, line) in lines.iter().enumerate() {
            let trailing = if i + 1 == lines.len() { trailing } else { None };
            self.line(depth, line, trailing);
        }
    }

    /// `header {`, the children one level deeper, `}`, with the comments of the block: those
    /// after `{` and `}` on their lines stay there, those before `}` go above it.
    fn block(&mut self, gaps: &mut Gaps, depth: usize, block: Block, limit: usize) {
        let Block { docs, header, span, head_end, children } = block;
        let (start, end) = (span.start as usize, span.end as usize);
        let close = self.comments.code_end(start, end).saturating_sub(1);
        let open = self
            .text
            .get(head_end..close)
            .and_then(|between| between.find('{'))
            .map_or(head_end, |i| head_end + i);
        let (first_line, open_line, close_line) =
            (self.comments.line(start), self.comments.line(open), self.comments.line(close));
        // Comments between the doc lines and the keyword.
        let among_docs = self.comments.take_before(open);
        self.own_line_comments(gaps, depth, &among_docs, Some(first_line));
        self.gap(gaps, first_line, close_line);
        for doc in docs {
            self.line(depth, &doc_line(doc), None);
        }
        let first_child = children.first().map_or(close, |c| c.span().start as usize);
        let after_open = self.comments.take_trailing(open_line, first_child.min(close));
        if children.is_empty() && after_open.is_none() && !self.comments.any_before(close) {
            let after_close = self.comments.take_trailing(close_line, limit);
            self.line(depth, &format!("{header} {{}}"), after_close);
            return;
        }
        self.line(depth, &format!("{header} {{"), after_open);
        let mut inner = Gaps::default();
        for child in children {
            self.item(&mut inner, depth + 1, child, close);
        }
        let before_close = self.comments.take_before(close);
        self.own_line_comments(&mut inner, depth + 1, &before_close, None);
        let after_close = self.comments.take_trailing(close_line, limit);
        self.line(depth, "}", after_close);
    }
}

// ---------------------------------------------------------------- lines

fn doc_line(doc: &str) -> String {
    if doc.is_empty() {
        "///".to_string()
    } else {
        format!("/// {doc}")
    }
}

/// A property's lines, without the indentation of `depth` (which only decides whether a
/// `measure` fits on one line).
fn property_lines(value: &PropertyValue, depth: usize) -> Vec<String> {
    use PropertyValue as P;
    let keyword = value.keyword();
    let rest = match value {
        P::Title(s) | P::Description(s) | P::Owner(s) | P::Timezone(s) => setting(&s.value),
        P::Metrics(names)
        | P::Grains(names)
        | P::Marts(names)
        | P::Reports(names)
        | P::Allow(names) => {
            let items: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
            return wrapped_list(keyword, &items, depth);
        }
        P::By(paths) | P::Dimensions(paths) => {
            let items: Vec<String> = paths.iter().map(Path::dotted).collect();
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            return wrapped_list(keyword, &items, depth);
        }
        P::Grain(name)
        | P::Retention(name)
        | P::From(name)
        | P::WeekStart(name)
        | P::Kind(name)
        | P::Format(name)
        | P::Mart(name) => name.name.clone(),
        P::Refresh(schedule) => schedule_text(schedule),
        P::Landing(landing) => landing_text(landing),
        P::Load(LoadMode::Snapshot) => "snapshot".to_string(),
        P::Load(LoadMode::Append { delete_marker }) => {
            with_marker("append".to_string(), delete_marker.as_ref())
        }
        P::Load(LoadMode::Incremental { by, lookback, delete_marker }) => {
            let mut text = format!("incremental by {}", by.name);
            if let Some(lookback) = lookback {
                text = format!("{text} lookback {}", duration(lookback));
            }
            with_marker(text, delete_marker.as_ref())
        }
        P::Load(LoadMode::Cdc { delete_marker }) => {
            format!("cdc delete_marker {}", delete_marker.name)
        }
        P::Key(keys) => match keys.as_slice() {
            [one] => one.name.clone(),
            _ => format!("({})", idents(keys)),
        },
        P::Retain(Retain::Forever) => "forever".to_string(),
        P::Retain(Retain::Period { period, by }) => match by {
            Some(by) => format!("{} by {}", duration(period), by.name),
            None => duration(period),
        },
        P::Columns(columns) => {
            // Columns are printed by `Printer::block`, which places their comments; this is
            // the same layout without comments, for completeness.
            let width = name_width(columns);
            if columns.is_empty() {
                return vec!["columns {}".to_string()];
            }
            let mut lines = vec!["columns {".to_string()];
            for column in columns {
                lines.extend(
                    column_lines(column, width).into_iter().map(|l| format!("{INDENT}{l}")),
                );
            }
            lines.push("}".to_string());
            return lines;
        }
        P::Level(level) => {
            let mut lines: Vec<String> = level.docs.iter().map(|d| doc_line(d)).collect();
            let mut line = format!("level {}", level.name.name);
            if let Some(key) = &level.key {
                line.push_str(&format!(" key {}", key.name));
            }
            if let Some(label) = &level.label {
                line.push_str(&format!(" label {}", label.name));
            }
            lines.push(line);
            return lines;
        }
        P::Hierarchy(levels) => {
            levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(" > ")
        }
        P::FiscalYearStart { month, day: Some(day) } => format!("{} {}", month.name, day.value),
        P::FiscalYearStart { month, day: None } => month.name.clone(),
        P::FollowSource => "source".to_string(),
        P::Keep(period) | P::Archive(period) => duration(period),
        P::Drill { source, columns } => format!("{} ({})", source.name, idents(columns)),
        P::Unit(Unit::Name(name)) => name.name.clone(),
        P::Unit(Unit::Text(text)) => setting(&text.value),
        P::Measure { expr: measured, filter } => {
            let head = format!("measure {}", expr(measured));
            let Some(filter) = filter else { return vec![head] };
            let filter = format!("where {}", expr(filter));
            let one_line = format!("{head} {filter}");
            if depth * INDENT.len() + one_line.chars().count() <= MAX_WIDTH {
                return vec![one_line];
            }
            return vec![head, format!("{INDENT}{filter}")];
        }
        P::Time(path) => path.dotted(),
        P::Top { count, by } => format!("{} by {}", count.value, by.dotted()),
        P::Compare { grain, whole, to_date } => format!(
            "{}previous {}{}",
            if whole.is_some() { "whole " } else { "" },
            grain.name,
            if to_date.is_some() { " to date" } else { "" }
        ),
        P::Window(WindowSpec::ToDate(grain)) => format!("to date {}", grain.name),
        P::Window(WindowSpec::Last(length)) => format!("last {}", duration(length)),
        P::Target(grain) => grain.name.clone(),
        P::Buckets { expr: bucketed, edges } => {
            let edges: Vec<String> = edges.iter().map(expr).collect();
            format!("{} [{}]", expr(bucketed), edges.join(", "))
        }
        P::Per { keys, having } => format!("{} having {}", path_list(keys), expr(having)),
        P::Scope(Scope::National { .. }) => "national".to_string(),
        P::Scope(Scope::Bound { level, attribute }) => {
            format!("{} = {}", level.dotted(), attribute.dotted())
        }
        P::MinCellSize(size) => size.value.to_string(),
        P::Attributes(attributes) => {
            // Printed by `Printer::block` like columns; this is the layout without comments.
            let width = attributes.iter().map(|a| a.name.name.len()).max().unwrap_or(0);
            if attributes.is_empty() {
                return vec!["attributes {}".to_string()];
            }
            let mut lines = vec!["attributes {".to_string()];
            for attribute in attributes {
                lines.extend(
                    attribute_lines(attribute, width).into_iter().map(|l| format!("{INDENT}{l}")),
                );
            }
            lines.push("}".to_string());
            return lines;
        }
    };
    vec![format!("{keyword} {rest}")]
}

/// `keyword a, b, c` on one line when it fits in [`MAX_WIDTH`] at `depth`; otherwise filled
/// greedily, breaking after a comma, with continuation lines indented two levels deeper.
fn wrapped_list(keyword: &str, items: &[&str], depth: usize) -> Vec<String> {
    let one_line = format!("{keyword} {}", items.join(", "));
    let indent = depth * INDENT.len();
    if indent + one_line.chars().count() <= MAX_WIDTH {
        return vec![one_line];
    }
    let continuation = format!("{INDENT}{INDENT}");
    let mut lines = Vec::new();
    let mut line = format!("{keyword} ");
    let mut first_on_line = true;
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() { format!("{item},") } else { (*item).to_string() };
        let separator = if first_on_line { "" } else { " " };
        let width = indent + line.chars().count() + separator.len() + piece.chars().count();
        if !first_on_line && width > MAX_WIDTH {
            lines.push(line);
            line = format!("{continuation}{piece}");
        } else {
            line.push_str(separator);
            line.push_str(&piece);
        }
        first_on_line = false;
    }
    lines.push(line);
    lines
}

/// The width column names are padded to: the longest name of the block.
fn name_width(columns: &[Column]) -> usize {
    columns.iter().map(|c| c.name.name.len()).max().unwrap_or(0)
}

/// `string`, `decimal(12, 2)`, `enum(a, b)`.
fn column_type(ty: &ColumnType) -> String {
    if ty.args.is_empty() {
        return ty.name.name.clone();
    }
    let args: Vec<String> = ty
        .args
        .iter()
        .map(|arg| match arg {
            TypeArg::Int(n) => n.value.to_string(),
            TypeArg::Name(name) => name.name.clone(),
            TypeArg::String(s) => setting(&s.value),
        })
        .collect();
    format!("{}({})", ty.name.name, args.join(", "))
}

/// `region string -> geography.region`, names padded like columns.
fn attribute_lines(attribute: &Attribute, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = attribute.docs.iter().map(|d| doc_line(d)).collect();
    // Padded by hand, as columns are: a width in a format string may not pass 65,535.
    let mut line = attribute.name.name.clone();
    line.extend(std::iter::repeat_n(' ', width.saturating_sub(line.chars().count()) + 1));
    line.push_str(&column_type(&attribute.ty));
    if let Some(path) = &attribute.reference {
        line.push_str(&format!(" -> {}", path.dotted()));
    }
    lines.push(line);
    lines
}

fn column_lines(column: &Column, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = column.docs.iter().map(|d| doc_line(d)).collect();
    // Padded by hand: a width in a format string may not pass 65,535, and a name may.
    let mut line = column.name.name.clone();
    line.extend(std::iter::repeat_n(' ', width.saturating_sub(line.chars().count()) + 1));
    line.push_str(&column_type(&column.ty));
    if let Some(nullability) = column.nullability {
        line.push_str(if nullability.not_null { " not null" } else { " null" });
    }
    if let Some(path) = &column.reference {
        line.push_str(&format!(" -> {}", path.dotted()));
    }
    if let Some(pii) = &column.pii {
        line.push_str(&format!(" pii({})", idents(&pii.classes)));
    }
    if let Some(value) = &column.default {
        line.push_str(&format!(" default {}", literal_or_expr(value, '\'')));
    }
    lines.push(line);
    lines
}

fn idents(names: &[Ident]) -> String {
    names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn path_list(paths: &[Path]) -> String {
    paths.iter().map(Path::dotted).collect::<Vec<_>>().join(", ")
}

/// `6 years` as written: the unit is a name the semantic stage checks, so it is kept.
fn duration(period: &Duration) -> String {
    format!("{} {}", period.amount.value, period.unit.name)
}

fn schedule_text(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Every { amount, unit } => format!("every {} {}", amount.value, unit.name),
        Schedule::Hourly => "hourly".to_string(),
        Schedule::Daily { at: None } => "daily".to_string(),
        Schedule::Daily { at: Some(at) } => format!("daily at {}", clock(at)),
        Schedule::Weekly { day, at: None } => format!("weekly on {}", day.name),
        Schedule::Weekly { day, at: Some(at) } => {
            format!("weekly on {} at {}", day.name, clock(at))
        }
        Schedule::Cron(cron) => format!("cron {}", setting(&cron.value)),
    }
}

fn clock(time: &ClockTime) -> String {
    format!("{:02}:{:02}", time.hour, time.minute)
}

fn landing_text(landing: &Landing) -> String {
    let mut text = format!("{} as {}", setting(&landing.pattern.value), landing.format.name);
    if !landing.options.is_empty() {
        let options: Vec<String> = landing
            .options
            .iter()
            .map(|o| format!("{} = {}", o.name.name, literal_or_expr(&o.value, '"')))
            .collect();
        text.push_str(&format!(" ({})", options.join(", ")));
    }
    text
}

/// A string that is a setting rather than a data value.
fn setting(value: &str) -> String {
    quoted(value, '"')
}

fn quoted(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A literal in a place that takes only literals, with strings in `quote`.
fn literal_or_expr(value: &Expr, quote: char) -> String {
    match &value.kind {
        ExprKind::Literal(literal) => literal_text(literal, quote),
        _ => expr(value),
    }
}

fn literal_text(literal: &Literal, quote: char) -> String {
    match literal {
        Literal::Int(digits) | Literal::Decimal(digits) => digits.clone(),
        Literal::Percent(digits) => format!("{digits}%"),
        Literal::Duration { amount, unit } => format!("{amount} {}", unit.word(*amount)),
        Literal::String(value) => quoted(value, quote),
        Literal::Bool(true) => "true".to_string(),
        Literal::Bool(false) => "false".to_string(),
        Literal::Null => "null".to_string(),
    }
}

/// An expression on one line. The AST's shape follows the grammar's precedence and keeps the
/// author's parentheses, so printing it without adding any gives back the same tree.
fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(e, &mut out);
    out
}

fn write_expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Literal(literal) => out.push_str(&literal_text(literal, '\'')),
        ExprKind::Path(path) => out.push_str(&path.dotted()),
        ExprKind::Call { function, distinct, star, args } => {
            out.push_str(&function.name);
            out.push('(');
            if *star {
                out.push('*');
            }
            if *distinct {
                out.push_str("distinct ");
            }
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(arg, out);
            }
            out.push(')');
        }
        ExprKind::Neg(operand) => {
            out.push('-');
            write_expr(operand, out);
        }
        ExprKind::Not(operand) => {
            out.push_str("not ");
            write_expr(operand, out);
        }
        ExprKind::Chain { first, rest } => {
            write_expr(first, out);
            for link in rest {
                out.push(' ');
                out.push_str(link.op.symbol());
                out.push(' ');
                write_expr(&link.operand, out);
            }
        }
        ExprKind::Binary { op, left, right } => {
            write_expr(left, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_expr(right, out);
        }
        ExprKind::IsNull { expr, negated } => {
            write_expr(expr, out);
            out.push_str(if *negated { " is not null" } else { " is null" });
        }
        ExprKind::InList { expr, list, negated } => {
            write_expr(expr, out);
            out.push_str(if *negated { " not in (" } else { " in (" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(item, out);
            }
            out.push(')');
        }
        ExprKind::Between { expr, low, high, negated } => {
            write_expr(expr, out);
            out.push_str(if *negated { " not between " } else { " between " });
            write_expr(low, out);
            out.push_str(" and ");
            write_expr(high, out);
        }
        ExprKind::Like { expr, pattern, negated } => {
            write_expr(expr, out);
            out.push_str(if *negated { " not like " } else { " like " });
            write_expr(pattern, out);
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            write_expr(inner, out);
            out.push(')');
        }
    }
}

/// A load mode's text with its optional `delete_marker`.
fn with_marker(mode: String, marker: Option<&Ident>) -> String {
    match marker {
        Some(marker) => format!("{mode} delete_marker {}", marker.name),
        None => mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{self, codes};

    const FILE: FileId = FileId(0);

    /// Formats `input` and checks the formatter's promises on it: idempotent, same AST, same
    /// comments, canonical whitespace.
    fn check(input: &str) -> String {
        let output = format(FILE, input).unwrap_or_else(|d| panic!("refused: {d:#?}"));
        let again = format(FILE, &output).unwrap_or_else(|d| panic!("output refused: {d:#?}"));
        assert_eq!(again, output, "formatting is not idempotent");
        let (before, _) = syntax::parse(FILE, input);
        let (after, _) = syntax::parse(FILE, &output);
        assert!(shape(&before).is_some());
        assert_eq!(shape(&before), shape(&after), "the output means something else:\n{output}");
        assert_eq!(comments::texts(input), comments::texts(&output), "comments changed");
        assert!(output.lines().all(|l| l.trim_end() == l), "trailing whitespace:\n{output}");
        assert!(output.is_empty() || (output.ends_with('\n') && !output.ends_with("\n\n")));
        output
    }

    const RICH: &str = r#"// Tally definitions for the border statistics marts.
////////////////////////////////////////

/// Seized currency and assets.
///
/// Loaded every quarter hour.
source seacats {
  title "Seized Currency and Asset Tracking System"
  description "Seizures: \"drugs\", currency\tand more\\n" // escapes
  owner 'Office of Field Operations'
  refresh every 15 minutes   // near real time
  landing "seacats/*.csv" as csv (delimiter = "|", header = true, skip = 1)
  load snapshot


  key (seizure_id,
       // the second half of the key
       port_code)
  retain 6 years by seizure_date
  columns { // every column the feed has
    /// The feed's own id.
    seizure_id     string not null
    port_code      string -> location.port // the port of entry
    seizure_type   enum(drug, currency, merchandise, weapon)
    drug_weight_kg decimal(12,3)
    subject_name   string pii(name) null

    // the subject's identity
    birth_date date default 'unknown' pii(birth_date) -> time.day not null
    note string(  "utf8" ) default 'n/a'
    seized_at timestamp
    is_deleted bool
    // nothing after this
  } // end of columns
}

source ace {
  refresh hourly
  landing "ace/*.csv" as csv
  load append
  key entry_id
  retention warehouse_standard
  columns {
  }
}

source apis { refresh daily
  load snapshot
  retain forever
  columns { flight_id string }
}

source awt {
  refresh every 1 hours // quiet hours
  load append
}

source cron_fed {
  refresh cron "*/15 * * * *"
}

/// Ports, field offices and the nation.
dimension location {
  from ports
  /// A port of entry.
  level port key port_code label port_name
  level field_office key office_code
  level national
  hierarchy national > field_office > port   // drill path
}

calendar fiscal {
  title "Fiscal calendar"
  fiscal_year_start october 1
  week_start monday
  grains quarter_hour, hour,
    day, week, month, quarter, fiscal_year
  timezone "America/New_York"
}

calendar plain {
  fiscal_year_start january
}

retention warehouse_standard {
  description "Kept as long as the source"
  follow source
  keep 7 years
  archive 40 years
}

mart borderstat {
  title "BorderStat"
  kind dashboard
  metrics total_drug_seizures_by_weight, turned_away_rate
  dimensions location.port, time
  grain day
  drill seacats (seizure_id, seizure_date, port_code)
}

metric total_drug_seizures_by_weight {
  title "Total Drug Seizures by Weight"
  measure sum(seacats.drug_weight_kg) where seacats.seizure_type = 'drug' // only drugs
  time seacats.seizure_date
  unit kg
}

metric long_filter {
  // A filter too long for one line goes on the next.
  measure count(distinct seacats.seizure_id)
    where seacats.seizure_type in ('drug', 'currency', // two kinds
      'weapon') and seacats.drug_weight_kg between 0.5 and 1000 and seacats.note like 'a%'
  by location.port, time.day
  grain day
  top 10 by location.port
  compare previous fiscal_year to date
  format number
}

metric waits {
  unit "passengers per hour"
  measure avg(awt.wait_minutes) where not (awt.wait_minutes is null or awt.flight_id is not null)
  buckets awt.wait_minutes [15, 30, 60, 120.5]
}

metric ages {
  measure count(*) where -seacats.drug_weight_kg <= -1 and seacats.note not like '%x' and seacats.port_code not in ('A', 'B') and seacats.drug_weight_kg not between 1 and 2
  buckets age(seacats.seized_at) [1 hours, 72 hours,
    2 weeks]
  per awt.flight_id, awt.port having share(awt.wait_minutes > 60) > 3%
}

metric mix = (a + b) * c - d / e >= 2 or f != g and h <> i // short form
/// Share of inadmissible travellers turned away.
metric turned_away_rate = inadmissible_turned_away / total_inadmissible

report weekly_seizures {
  mart borderstat
  metrics total_drug_seizures_by_weight
  by location.port
  grain week
}

/// What users carry.
users { // one per project
  attributes {
    /// The port whose data they see.
    port string -> location.port // a member key
    supervisor string

    grade decimal(4, 1)
  }
}

users {}

role port_analyst {
  title "Port analyst"
  marts borderstat
  metrics total_drug_seizures_by_weight
  reports weekly_seizures
  scope location.port = user.port
  allow drill_down, ad_hoc
  min_cell_size 11
}

role headquarters {
  scope national
}

role empty {}
// The end.
"#;

    #[test]
    fn formats_every_construct() {
        let output = check(RICH);
        insta::assert_snapshot!(output);
    }

    /// A comment after every line and on a line of its own before every line of the rich
    /// sample: wherever it lands, it is kept and the result is stable.
    #[test]
    fn a_comment_anywhere_is_kept() {
        let lines: Vec<&str> = RICH.split_inclusive('\n').collect();
        let mut checked = 0;
        for i in 0..lines.len() {
            let (before, after) = lines.split_at(i);
            let own_line = format!("{}// probe\n{}", before.concat(), after.concat());
            let mut trailing = before.concat();
            if let Some(line) = after.first().filter(|l| !l.trim_start().starts_with("///")) {
                trailing.push_str(&format!("{} // probe\n", line.trim_end()));
                trailing.push_str(&after[1..].concat());
            }
            for input in [own_line, trailing] {
                // A comment between a declaration and its doc lines is a syntax error.
                if !diagnostic::has_errors(&syntax::parse(FILE, &input).1) {
                    check(&input);
                    checked += 1;
                }
            }
        }
        assert!(checked > lines.len(), "only {checked} inputs were checked");
    }

    #[test]
    fn example_from_the_language_guide() {
        let input = "/// Seized currency and assets.\nsource seacats {\n  title \"Seized Currency and Asset Tracking System\"\n  refresh every 15 minutes   // near real time\n  landing \"seacats/*.csv\" as csv\n  load snapshot\n  key seizure_id\n  retain 6 years\n  columns {\n    seizure_id     string not null\n    port_code      string -> location.port\n    seizure_type   enum(drug, currency, merchandise, weapon)\n    drug_weight_kg decimal(12,3)\n    subject_name   string pii(name)\n  }\n}\nmetric total_drug_seizures_by_weight {\n  title \"Total Drug Seizures by Weight\"\n  measure sum(seacats.drug_weight_kg) where seacats.seizure_type = 'drug'\n  time seacats.seizure_date\n  unit kg\n}\nmetric turned_away_rate = inadmissible_turned_away / total_inadmissible\n";
        let expected = "/// Seized currency and assets.\nsource seacats {\n  title \"Seized Currency and Asset Tracking System\"\n  refresh every 15 minutes // near real time\n  landing \"seacats/*.csv\" as csv\n  load snapshot\n  key seizure_id\n  retain 6 years\n  columns {\n    seizure_id     string not null\n    port_code      string -> location.port\n    seizure_type   enum(drug, currency, merchandise, weapon)\n    drug_weight_kg decimal(12, 3)\n    subject_name   string pii(name)\n  }\n}\n\nmetric total_drug_seizures_by_weight {\n  title \"Total Drug Seizures by Weight\"\n  measure sum(seacats.drug_weight_kg) where seacats.seizure_type = 'drug'\n  time seacats.seizure_date\n  unit kg\n}\n\nmetric turned_away_rate = inadmissible_turned_away / total_inadmissible\n";
        assert_eq!(check(input), expected);
    }

    #[test]
    fn refuses_a_file_with_syntax_errors() {
        let input = "// keep me\nsource a {\n  title \"x\n}\n";
        let diagnostics = format(FILE, input).err().unwrap_or_default();
        assert!(!diagnostics.is_empty());
        assert!(diagnostics.iter().all(|d| d.code != codes::INTERNAL));
        assert!(format(FILE, "source a {\n  colour red\n}\n").is_err());
        assert!(format(FILE, "metric a {\n  title \"x\"\n").is_err());
    }

    #[test]
    fn whitespace_is_canonical() {
        let input = "\n\n  source   a   {\n\n\n  title    \"x\"\n\n\n\n  owner \"y\"   \n\n}\n\n\n\nmetric b=c\nmetric d  =  e\n\n\n";
        assert_eq!(
            check(input),
            "source a {\n  title \"x\"\n\n  owner \"y\"\n}\n\nmetric b = c\n\nmetric d = e\n"
        );
    }

    #[test]
    fn empty_input_and_empty_blocks() {
        assert_eq!(check(""), "");
        assert_eq!(check("\n\n"), "");
        assert_eq!(check("role r {\n\n}\n"), "role r {}\n");
        assert_eq!(check("role r {} // none\n"), "role r {} // none\n");
        assert_eq!(check("role r { // none yet\n}\n"), "role r { // none yet\n}\n");
        assert_eq!(check("source s { columns {\n} }"), "source s {\n  columns {}\n}\n");
    }

    #[test]
    fn comments_alone_on_their_line_go_before_the_next_item() {
        let input = "// file\n\n// about a\nsource a {\n  // about the title\n\n  // still about the title\n  title \"x\"\n  // about nothing\n}\n// about b\n\nrole b {}\n// end\n\n// really the end\n";
        assert_eq!(
            check(input),
            "// file\n\n// about a\nsource a {\n  // about the title\n\n  // still about the title\n  title \"x\"\n  // about nothing\n}\n\n// about b\n\nrole b {}\n\n// end\n\n// really the end\n"
        );
    }

    #[test]
    fn trailing_comments_stay_on_their_line() {
        let input = "source a { // header\n  title \"x\"   // t\n  columns { // c\n    a int // ca\n    bb int } // cc\n} // end\nmetric m = a // m\n";
        assert_eq!(
            check(input),
            "source a { // header\n  title \"x\" // t\n  columns { // c\n    a  int // ca\n    bb int\n  } // cc\n} // end\n\nmetric m = a // m\n"
        );
    }

    #[test]
    fn comments_inside_a_multi_line_item_move_above_it() {
        let input = "mart m {\n  grain day\n\n  metrics a, // first\n    // own line\n    b,\n    c // last\n}\n";
        assert_eq!(
            check(input),
            "mart m {\n  grain day\n\n  // first\n  // own line\n  metrics a, b, c // last\n}\n"
        );
    }

    #[test]
    fn comments_among_doc_lines_move_above_the_docs() {
        let input =
            "source a {\n  columns {\n    /// one\n    // note\n    /// two\n    x int\n  }\n}\n";
        assert_eq!(
            check(input),
            "source a {\n  columns {\n    // note\n    /// one\n    /// two\n    x int\n  }\n}\n"
        );
    }

    #[test]
    fn comment_like_text_in_strings_is_not_a_comment() {
        let input =
            "source a {\n  landing \"s3://bucket/*.csv\" as csv // real\n  title 'it''s' \n}\n";
        assert!(format(FILE, input).is_err());
        let input = "source a {\n  landing 's3://b/*.csv' as csv // real\n}\n";
        assert_eq!(check(input), "source a {\n  landing \"s3://b/*.csv\" as csv // real\n}\n");
    }

    #[test]
    fn strings_are_escaped_for_their_quotes() {
        let input = "source a {\n  title 'say \"hi\" and \\'bye\\''\n  columns {\n    x string default \"it's \\\"\\\\\\t\\n\"\n  }\n}\n";
        assert_eq!(
            check(input),
            "source a {\n  title \"say \\\"hi\\\" and 'bye'\"\n  columns {\n    x string default 'it\\'s \"\\\\\\t\\n'\n  }\n}\n"
        );
    }

    #[test]
    fn measure_breaks_before_where_only_when_too_long() {
        let short = "metric m {\n  measure count(*)\n    where a = 1\n}\n";
        assert_eq!(check(short), "metric m {\n  measure count(*) where a = 1\n}\n");
        let filter = (0..12).map(|i| format!("x{i} = {i}")).collect::<Vec<_>>().join(" and ");
        let long = format!("metric m {{\n  measure count(*) where {filter}\n}}\n");
        assert_eq!(
            check(&long),
            format!("metric m {{\n  measure count(*)\n    where {filter}\n}}\n")
        );
        // Exactly 100 columns still fits; columns are characters, not bytes.
        let wide = format!("metric m {{\n  measure count(*) where a = '{}'\n}}\n", "é".repeat(60));
        assert_eq!(check(&wide), wide);
        let pad = "y".repeat(100 - "  measure count(*) where  = 1".len());
        let exact = format!("metric m {{\n  measure count(*) where {pad} = 1\n}}\n");
        assert_eq!(check(&exact), exact);
    }

    #[test]
    fn expressions_are_normalised() {
        let input = "metric m = -(a+b)*2<>c and not x is not null or y between 1 and 2 and f(distinct a,b) = 1 hours + 3 days + 50%\n";
        assert_eq!(
            check(input),
            "metric m = -(a + b) * 2 != c and not x is not null or y between 1 and 2 and f(distinct a, b) = 1 hour + 3 days + 50%\n"
        );
    }

    #[test]
    fn columns_are_aligned_and_modifiers_ordered() {
        let input = "source a {\n  columns {\n    id int default 'z' pii(x, y) -> d.l null\n    a_long_name string\n  }\n}\n";
        assert_eq!(
            check(input),
            "source a {\n  columns {\n    id          int null -> d.l pii(x, y) default 'z'\n    a_long_name string\n  }\n}\n"
        );
    }

    #[test]
    fn crlf_input_gives_lf_output() {
        let input = "// c\r\nsource a {\r\n  title \"x\" // t\r\n\r\n  owner \"y\"\r\n}\r\n";
        assert_eq!(check(input), "// c\nsource a {\n  title \"x\" // t\n\n  owner \"y\"\n}\n");
    }

    #[test]
    fn long_lists_wrap_after_commas() {
        let names: Vec<String> = (0..12).map(|i| format!("metric_number_{i:02}")).collect();
        let input = format!("mart m {{\n  metrics {}\n}}\n", names.join(", "));
        let output = check(&input);
        assert!(output.lines().all(|l| l.chars().count() <= MAX_WIDTH), "{output}");
        assert!(output.contains(",\n      metric_number_"), "{output}");
        assert_eq!(check(&output), output);
    }

    #[test]
    fn keywords_followed_by_more_words() {
        let input = "source a {\n  refresh daily at 6:00\n}\nsource b {\n  refresh weekly on sunday at 02:30\n  load incremental by updated_at\n}\nsource c {\n  refresh weekly on monday\n  load cdc delete_marker is_deleted\n  columns {\n    x int default 0 not null\n    yy int default -1\n    z bool null default false\n  }\n}\n";
        assert_eq!(
            check(input),
            "source a {\n  refresh daily at 06:00\n}\n\nsource b {\n  refresh weekly on sunday at 02:30\n  load incremental by updated_at\n}\n\nsource c {\n  refresh weekly on monday\n  load cdc delete_marker is_deleted\n  columns {\n    x  int not null default 0\n    yy int default -1\n    z  bool null default false\n  }\n}\n"
        );
    }

    #[test]
    fn columns_fallback_layout_matches_the_block_layout() {
        let input = "source a {\n  columns {\n    a int\n    bb string not null\n  }\n}\n";
        let (module, _) = syntax::parse(FILE, input);
        let Some(Body::Block(properties)) = module.declarations.first().map(|d| &d.body) else {
            panic!("no block");
        };
        let lines: Vec<String> = properties
            .iter()
            .flat_map(|p| property_lines(&p.value, 1))
            .map(|l| format!("  {l}\n"))
            .collect();
        assert_eq!(format!("source a {{\n{}}}\n", lines.concat()), check(input));
        let empty = PropertyValue::Columns(Vec::new());
        assert_eq!(property_lines(&empty, 1), ["columns {}"]);
    }

    #[test]
    fn verification_catches_a_lost_comment() {
        let (module, _) = syntax::parse(FILE, "metric a = b // c\n");
        let diagnostics = verify(FILE, "metric a = b // c\n", &module, "metric a = b\n").err();
        let codes: Vec<_> = diagnostics.unwrap_or_default().iter().map(|d| d.code).collect();
        assert_eq!(codes, [codes::INTERNAL]);
        let lost = verify(FILE, "metric a = b\n", &module, "metric a = c\n").err();
        assert!(lost.is_some_and(|d| d.len() == 1));
    }
}
