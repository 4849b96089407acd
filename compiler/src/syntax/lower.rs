//! Lowering: pest pairs → [`ast`] nodes, and pest failures → diagnostics.
//!
//! This is the one place where parse errors become [`Diagnostic`]s. The grammar guarantees the
//! shape of every pair it hands over, so a pair of an unexpected shape is a bug in Tally, not in
//! the user's file: it becomes an internal-error diagnostic (T9999), never a panic.

use super::ast::*;
use super::keywords::{self, Block};
use super::limits;
use super::{Rule, TallyParser};
use crate::diagnostic::{codes, did_you_mean, suggest, Diagnostic};
use crate::span::{FileId, Span};
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser;
use std::ops::Range;

type Result<T> = std::result::Result<T, Internal>;

/// A pair that did not have the shape the grammar promises. Reported as T9999.
#[derive(Debug)]
pub(super) struct Internal(String);

pub(super) struct Lowering<'a> {
    file: FileId,
    text: &'a str,
    /// Where the text being lowered starts in the file (chunks and re-parses are pieces).
    base: usize,
    diagnostics: Vec<Diagnostic>,
    /// Invalid items before this offset are consequences of an error already reported.
    quiet_until: usize,
    /// Operators met so far in the expression being lowered (see [`Lowering::top_expr`]).
    operators: usize,
    /// Where the chunk being lowered ends.
    chunk_end: usize,
}

impl<'a> Lowering<'a> {
    pub(super) fn new(file: FileId, text: &'a str) -> Self {
        Lowering {
            file,
            text,
            base: 0,
            diagnostics: Vec::new(),
            quiet_until: 0,
            operators: 0,
            chunk_end: text.len(),
        }
    }

    pub(super) fn finish(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// Records a diagnostic found outside the lowering (a chunk that was not parsed).
    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Parses and lowers one chunk of the file.
    pub(super) fn chunk(&mut self, range: Range<usize>) -> Vec<Declaration> {
        let text = self.text;
        let input = &text[range.clone()];
        self.base = range.start;
        self.chunk_end = range.end;
        let pairs = match TallyParser::parse(Rule::chunk, input) {
            Ok(pairs) => pairs,
            Err(error) => {
                // The chunk rule ends in a catch-all, so this only happens on a grammar bug.
                let diagnostic = self.pest_error(&error, range.start, input, None);
                self.diagnostics.push(diagnostic);
                return Vec::new();
            }
        };
        let mut declarations = Vec::new();
        let items: Vec<Pair<Rule>> =
            pairs.flat_map(|p| p.into_inner()).filter(|p| p.as_rule() != Rule::EOI).collect();
        for (i, item) in items.iter().enumerate() {
            let next_is_unknown =
                items.get(i + 1).is_some_and(|p| p.as_rule() == Rule::unknown_declaration);
            let span = self.span(item);
            match self.top_item(item.clone(), next_is_unknown) {
                Ok(Some(declaration)) => declarations.push(declaration),
                Ok(None) => {}
                Err(Internal(message)) => {
                    self.diagnostics.push(Diagnostic::internal(message, span))
                }
            }
        }
        declarations
    }

    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.base + s.start(), self.base + s.end())
    }

    fn at(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn top_item(&mut self, pair: Pair<Rule>, next_is_unknown: bool) -> Result<Option<Declaration>> {
        let kind = match pair.as_rule() {
            Rule::source_decl => DeclKind::Source,
            Rule::dimension_decl => DeclKind::Dimension,
            Rule::calendar_decl => DeclKind::Calendar,
            Rule::retention_decl => DeclKind::Retention,
            Rule::mart_decl => DeclKind::Mart,
            Rule::metric_decl | Rule::metric_short => DeclKind::Metric,
            Rule::report_decl => DeclKind::Report,
            Rule::role_decl => DeclKind::Role,
            Rule::users_decl => DeclKind::Users,
            Rule::unknown_declaration => {
                self.unknown_declaration(&pair, next_is_unknown);
                return Ok(None);
            }
            other => return Err(Internal(format!("unexpected {other:?} at the top level"))),
        };
        self.declaration(pair, kind).map(Some)
    }

    fn declaration(&mut self, pair: Pair<Rule>, kind: DeclKind) -> Result<Declaration> {
        let span = self.span(&pair);
        let short = pair.as_rule() == Rule::metric_short;
        let mut inner = pair.into_inner().peekable();
        let docs = docs(&mut inner)?;
        let keyword = expect(&mut inner, "declaration keyword")?;
        let name = if kind.named() {
            self.ident(expect(&mut inner, "declaration name")?)?
        } else {
            Ident { name: kind.keyword().to_string(), span: self.span(&keyword) }
        };
        let mut unreadable = Vec::new();
        let body = if short {
            Body::Expr(self.top_expr(expect(&mut inner, "expression")?)?)
        } else {
            let items: Vec<Pair<Rule>> = inner.filter(|p| p.as_rule() != Rule::lbrace).collect();
            unreadable = items
                .iter()
                .filter(|p| p.as_rule() == Rule::invalid_item)
                .map(|p| &p.as_str()[..word_len(p.as_str())])
                .filter(|word| !word.is_empty())
                .flat_map(|word| {
                    // A misspelt property most likely is the property it resembles.
                    let meant = suggest(word, keywords::properties(kind).iter().copied());
                    std::iter::once(word.to_string()).chain(meant.map(str::to_string))
                })
                .collect();
            Body::Block(self.block(items.into_iter(), Block::Decl(kind))?)
        };
        Ok(Declaration { kind, docs, name, body, unreadable, span })
    }

    /// The items of a block: properties and invalid items, up to the closing brace.
    fn block<'i>(
        &mut self,
        items: impl Iterator<Item = Pair<'i, Rule>>,
        block: Block,
    ) -> Result<Vec<Property>> {
        let items: Vec<Pair<Rule>> = items.filter(|p| p.as_rule() != Rule::close).collect();
        let mut properties: Vec<Property> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if item.as_rule() == Rule::invalid_item {
                let next_is_invalid =
                    items.get(i + 1).is_some_and(|p| p.as_rule() == Rule::invalid_item);
                self.invalid_item(item, block, next_is_invalid);
                continue;
            }
            let property = self.property(item.clone())?;
            self.check_repeat(&properties, &property, block);
            properties.push(property);
        }
        Ok(properties)
    }

    fn check_repeat(&mut self, earlier: &[Property], property: &Property, block: Block) {
        if property.value.repeatable() {
            return;
        }
        let keyword = property.value.keyword();
        if let Some(first) = earlier.iter().find(|p| p.value.keyword() == keyword) {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::DUPLICATE_PROPERTY,
                    format!("`{keyword}` is given twice in {}", block.describe()),
                    property.keyword,
                )
                .label("given again here")
                .secondary(first.keyword, "first given here")
                .help(format!("keep one `{keyword}` line")),
            );
        }
    }

    // ------------------------------------------------------------ recovery

    fn unknown_declaration(&mut self, pair: &Pair<Rule>, next_is_unknown: bool) {
        let text = pair.as_str();
        let start = self.base + pair.as_span().start();
        if text.starts_with("///") {
            if !next_is_unknown {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::SYNTAX,
                        "Doc comment documents nothing",
                        self.at(start, start + text.len()),
                    )
                    .label("no declaration follows this doc comment")
                    .help("put `///` lines right above a declaration, column or level, or use `//` for a plain comment"),
                );
            }
            return;
        }
        let word_len = word_len(text);
        let word = &text[..word_len];
        let Some(kind) = DeclKind::from_keyword(word) else {
            let diagnostic = if word_len == 0 {
                let found = token_at(text, 0);
                Diagnostic::error(
                    codes::SYNTAX,
                    format!("Unexpected {found} at the top level"),
                    self.at(start, start + token_len(text, 0)),
                )
                .label("expected a declaration")
                .help(declaration_help())
            } else {
                let keywords: Vec<&str> = DeclKind::ALL.iter().map(|k| k.keyword()).collect();
                Diagnostic::error(
                    codes::UNKNOWN_DECLARATION,
                    format!("Unknown declaration `{word}`"),
                    self.at(start, start + word_len),
                )
                .label("not a declaration keyword")
                .help(format!(
                    "{} ({})",
                    did_you_mean(word, &keywords, "declaration"),
                    declaration_help()
                ))
            };
            self.diagnostics.push(diagnostic);
            return;
        };
        // A declaration keyword whose declaration did not parse: find out why.
        if let Some(open) = unclosed_brace(text) {
            let what = if kind.named() {
                format!("{} `{}`", kind.keyword(), decl_name(text))
            } else {
                format!("the {} block", kind.keyword())
            };
            self.diagnostics.push(
                Diagnostic::error(
                    codes::UNCLOSED_BLOCK,
                    format!("Unclosed `{{` in {what}"),
                    self.at(start + open, start + open + 1),
                )
                .label("this `{` is never closed")
                .help("add the missing `}` at the end of the block"),
            );
            return;
        }
        let rule = match kind {
            DeclKind::Source => Rule::source_decl,
            DeclKind::Dimension => Rule::dimension_decl,
            DeclKind::Calendar => Rule::calendar_decl,
            DeclKind::Retention => Rule::retention_decl,
            DeclKind::Mart => Rule::mart_decl,
            DeclKind::Metric if is_short_metric(text) => Rule::metric_short,
            DeclKind::Metric => Rule::metric_decl,
            DeclKind::Report => Rule::report_decl,
            DeclKind::Role => Rule::role_decl,
            DeclKind::Users => Rule::users_decl,
        };
        let diagnostic = match TallyParser::parse(rule, text) {
            Err(error) => self.pest_error(&error, start, text, None),
            Ok(pairs) => {
                let end = pairs.last().map_or(0, |p| p.as_span().end());
                Diagnostic::error(
                    codes::SYNTAX,
                    format!("Unexpected {} after the end of the declaration", token_at(text, end)),
                    self.at(start + end, start + end + token_len(text, end)),
                )
                .label("expected the end of the line")
                .help("start the next declaration on a new line")
            }
        };
        self.diagnostics.push(diagnostic);
    }

    fn invalid_item(&mut self, pair: &Pair<Rule>, block: Block, next_is_invalid: bool) {
        let text = pair.as_str();
        let start = self.base + pair.as_span().start();
        if start < self.quiet_until {
            return;
        }
        if text.starts_with("///") {
            if !next_is_invalid {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::SYNTAX,
                        "Doc comment documents nothing",
                        self.at(start, start + text.trim_end().len()),
                    )
                    .label("no column, level or attribute follows this doc comment")
                    .help("put `///` lines right above a declaration, column or level, or use `//` for a plain comment"),
                );
            }
            return;
        }
        let word = &text[..word_len(text)];
        let rule = match block {
            Block::Columns => Rule::column_line,
            Block::Attributes => Rule::attribute_line,
            Block::Decl(kind) => {
                if word.is_empty() {
                    let found = token_at(text, 0);
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::SYNTAX,
                            format!("Unexpected {found} in {}", block.describe()),
                            self.at(start, start + token_len(text, 0)),
                        )
                        .label("expected a property")
                        .help(property_list_help(block)),
                    );
                    return;
                }
                if !block.properties().contains(&word) {
                    let help = if word == "where" && kind == DeclKind::Metric {
                        "a filter belongs to its measure: write `measure <expr> where <condition>`, \
                         on one line or with `where` on the next"
                            .to_string()
                    } else {
                        match suggest(word, block.properties().iter().copied()) {
                            Some(best) => {
                                format!("did you mean `{best}`? ({})", property_list_help(block))
                            }
                            None => property_list_help(block),
                        }
                    };
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::UNKNOWN_PROPERTY,
                            format!("Unknown property `{word}` in {}", block.describe()),
                            self.at(start, start + word.len()),
                        )
                        .label(format!("not a property of {}", block.describe()))
                        .help(help),
                    );
                    return;
                }
                match kind {
                    DeclKind::Source => Rule::source_prop_line,
                    DeclKind::Dimension => Rule::dimension_prop_line,
                    DeclKind::Calendar => Rule::calendar_prop_line,
                    DeclKind::Retention => Rule::retention_prop_line,
                    DeclKind::Mart => Rule::mart_prop_line,
                    DeclKind::Metric => Rule::metric_prop_line,
                    DeclKind::Report => Rule::report_prop_line,
                    DeclKind::Role => Rule::role_prop_line,
                    DeclKind::Users => Rule::users_prop_line,
                }
            }
        };
        // Parse again from this item to the end of the chunk, with the property's own rule, so
        // that a property continued over several lines is read whole and the error lands on
        // the first token that does not fit.
        let chunk_end = self.chunk_end(start);
        let rest = &self.text[start..chunk_end];
        let forms = match block {
            Block::Columns => keywords::forms("columns"),
            Block::Attributes => keywords::forms("attributes"),
            Block::Decl(_) => keywords::forms(word),
        };
        let diagnostic = match TallyParser::parse(rule, rest) {
            Err(error) => {
                let what = match block {
                    Block::Columns => format!("column `{word}`"),
                    Block::Attributes => format!("attribute `{word}`"),
                    Block::Decl(_) => format!("`{word}` property"),
                };
                self.pest_error(&error, start, rest, Some((what, forms)))
            }
            Ok(_) => Diagnostic::error(
                codes::SYNTAX,
                format!("Unexpected text in {}", block.describe()),
                self.at(start, start + text.len()),
            )
            .label("this line could not be read")
            .help(forms),
        };
        let error_end = diagnostic.primary.span.end as usize;
        self.quiet_until = line_end(self.text, error_end.max(start + 1));
        self.diagnostics.push(diagnostic);
    }

    /// The end of the chunk that contains `offset`, the one being lowered: the next top-level
    /// declaration or the end of the file. Re-parses look no further, as the chunk parse did
    /// not. (Kept rather than recomputed: a file of many malformed lines would otherwise cost
    /// the whole file's length per line.)
    fn chunk_end(&self, offset: usize) -> usize {
        if offset <= self.chunk_end {
            self.chunk_end
        } else {
            self.text.len()
        }
    }

    /// Turns a pest failure on `input` (which starts at file offset `base`) into a diagnostic.
    /// `property` names what was being read and its valid forms, for a malformed property.
    fn pest_error(
        &self,
        error: &pest::error::Error<Rule>,
        base: usize,
        input: &str,
        property: Option<(String, &str)>,
    ) -> Diagnostic {
        let pos = match error.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        }
        .min(input.len());
        if let Some(quote) = unterminated_string(input, pos) {
            let end = line_end(input, quote);
            return Diagnostic::error(
                codes::UNTERMINATED_STRING,
                "Unterminated string",
                self.at(base + quote, base + end),
            )
            .label("this string is not closed before the end of the line")
            .help(format!(
                "close it with {} on the same line; strings cannot span lines",
                &input[quote..quote + 1]
            ));
        }
        let expected = match &error.variant {
            ErrorVariant::ParsingError { positives, .. } => expected_list(positives),
            ErrorVariant::CustomError { message } => message.clone(),
        };
        let found = token_at(input, pos);
        let span = self.at(base + pos, base + pos + token_len(input, pos));
        match property {
            Some((what, forms)) => Diagnostic::error(
                codes::MALFORMED_PROPERTY,
                format!("Malformed {what}: unexpected {found}"),
                span,
            )
            .label(format!("expected {expected}"))
            .help(format!("write it as: {forms}")),
            None => Diagnostic::error(codes::SYNTAX, format!("Unexpected {found}"), span)
                .label(format!("expected {expected}"))
                .help("see docs/language.md for the form of each declaration"),
        }
    }

    // ------------------------------------------------------------ properties

    fn property(&mut self, pair: Pair<Rule>) -> Result<Property> {
        use PropertyValue as P;
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let children: Vec<Pair<Rule>> = pair.into_inner().filter(|p| !is_closing(p)).collect();
        let keyword = children
            .iter()
            .find(|p| is_keyword(p.as_rule()))
            .map_or(span.start_point(), |p| self.span(p));
        let mut inner = children.into_iter().filter(|p| !is_keyword(p.as_rule())).peekable();
        let value = match rule {
            Rule::title => P::Title(self.string(expect(&mut inner, "title")?)?),
            Rule::description => P::Description(self.string(expect(&mut inner, "text")?)?),
            Rule::owner => P::Owner(self.string(expect(&mut inner, "owner")?)?),
            Rule::refresh => P::Refresh(self.schedule(expect(&mut inner, "schedule")?)?),
            Rule::landing => {
                let pattern = self.string(expect(&mut inner, "pattern")?)?;
                let format = self.ident(expect(&mut inner, "format")?)?;
                let mut options = Vec::new();
                if let Some(list) = inner.next() {
                    for option in list.into_inner().filter(|p| !is_closing(p)) {
                        let mut parts = option.into_inner();
                        let name = self.ident(expect(&mut parts, "option name")?)?;
                        let value = self.literal(expect(&mut parts, "option value")?)?;
                        options.push(LandingOption { name, value });
                    }
                }
                P::Landing(Landing { pattern, format, options })
            }
            Rule::load => {
                let mode = expect(&mut inner, "load mode")?;
                let rule = mode.as_rule();
                let pairs: Vec<Pair<Rule>> = mode.into_inner().collect();
                let lookback = match pairs.iter().find(|p| p.as_rule() == Rule::duration) {
                    Some(duration) => Some(self.duration(duration.clone())?),
                    None => None,
                };
                let delete_marker = match pairs.iter().find(|p| p.as_rule() == Rule::delete_marker)
                {
                    Some(marker) => {
                        let mut inner =
                            marker.clone().into_inner().filter(|p| p.as_rule() == Rule::ident);
                        Some(self.ident(expect(&mut inner, "column")?)?)
                    }
                    None => None,
                };
                let mut parts = pairs.into_iter().filter(|p| p.as_rule() == Rule::ident);
                P::Load(match rule {
                    Rule::load_snapshot => LoadMode::Snapshot,
                    Rule::load_append => LoadMode::Append { delete_marker },
                    Rule::load_incremental => LoadMode::Incremental {
                        by: self.ident(expect(&mut parts, "column")?)?,
                        lookback,
                        delete_marker,
                    },
                    Rule::load_cdc => {
                        LoadMode::Cdc { delete_marker: self.ident(expect(&mut parts, "column")?)? }
                    }
                    other => return Err(Internal(format!("unexpected load mode {other:?}"))),
                })
            }
            Rule::key => {
                let first = expect(&mut inner, "key")?;
                P::Key(self.idents(first)?)
            }
            Rule::retain => {
                let what = expect(&mut inner, "period")?;
                P::Retain(match what.as_rule() {
                    Rule::forever => Retain::Forever,
                    _ => {
                        let mut parts = what.into_inner();
                        let period = self.duration(expect(&mut parts, "duration")?)?;
                        let by = match parts.find(|p| p.as_rule() == Rule::ident) {
                            Some(p) => Some(self.ident(p)?),
                            None => None,
                        };
                        Retain::Period { period, by }
                    }
                })
            }
            Rule::retention_ref => P::Retention(self.ident(expect(&mut inner, "rule")?)?),
            Rule::columns => {
                let mut columns = Vec::new();
                let items: Vec<Pair<Rule>> = inner.filter(|p| p.as_rule() != Rule::close).collect();
                for (i, item) in items.iter().enumerate() {
                    if item.as_rule() == Rule::invalid_item {
                        let next_is_invalid =
                            items.get(i + 1).is_some_and(|p| p.as_rule() == Rule::invalid_item);
                        self.invalid_item(item, Block::Columns, next_is_invalid);
                    } else {
                        columns.push(self.column(item.clone())?);
                    }
                }
                P::Columns(columns)
            }
            Rule::attributes => {
                let mut attributes = Vec::new();
                let items: Vec<Pair<Rule>> = inner.filter(|p| p.as_rule() != Rule::close).collect();
                for (i, item) in items.iter().enumerate() {
                    if item.as_rule() == Rule::invalid_item {
                        let next_is_invalid =
                            items.get(i + 1).is_some_and(|p| p.as_rule() == Rule::invalid_item);
                        self.invalid_item(item, Block::Attributes, next_is_invalid);
                    } else {
                        attributes.push(self.attribute(item.clone())?);
                    }
                }
                P::Attributes(attributes)
            }
            Rule::from => P::From(self.ident(expect(&mut inner, "source")?)?),
            Rule::level => {
                let docs = docs(&mut inner)?;
                let name = self.ident(expect(&mut inner, "level name")?)?;
                let (mut key, mut label) = (None, None);
                for attr in inner {
                    let attr_span = self.span(&attr);
                    let is_key = attr.as_rule() == Rule::level_key;
                    let value = self.ident(
                        attr.into_inner()
                            .find(|p| p.as_rule() == Rule::ident)
                            .ok_or_else(|| missing("name"))?,
                    )?;
                    let slot = if is_key { &mut key } else { &mut label };
                    if slot.is_some() {
                        let word = if is_key { "key" } else { "label" };
                        self.diagnostics.push(
                            Diagnostic::error(
                                codes::DUPLICATE_PROPERTY,
                                format!("Level `{}` gives `{word}` twice", name.name),
                                attr_span,
                            )
                            .label("given again here")
                            .help(format!("keep one `{word}`")),
                        );
                    }
                    *slot = Some(value);
                }
                P::Level(Level { docs, name, key, label })
            }
            Rule::hierarchy => P::Hierarchy(self.ident_seq(inner)?),
            Rule::fiscal_year_start => {
                let month = self.ident(expect(&mut inner, "month")?)?;
                let day = match inner.next() {
                    Some(p) => Some(self.int(p)?),
                    None => None,
                };
                P::FiscalYearStart { month, day }
            }
            Rule::week_start => P::WeekStart(self.ident(expect(&mut inner, "weekday")?)?),
            Rule::grains => P::Grains(self.idents(expect(&mut inner, "grains")?)?),
            Rule::timezone => P::Timezone(self.string(expect(&mut inner, "timezone")?)?),
            Rule::follow_source => P::FollowSource,
            Rule::keep => P::Keep(self.duration(expect(&mut inner, "duration")?)?),
            Rule::archive => P::Archive(self.duration(expect(&mut inner, "duration")?)?),
            Rule::mart_kind => P::Kind(self.ident(expect(&mut inner, "kind")?)?),
            Rule::metrics => P::Metrics(self.idents(expect(&mut inner, "metrics")?)?),
            Rule::dimensions => P::Dimensions(self.paths(expect(&mut inner, "dimensions")?)?),
            Rule::grain => P::Grain(self.ident(expect(&mut inner, "grain")?)?),
            Rule::drill => {
                let source = self.ident(expect(&mut inner, "source")?)?;
                let columns = self.idents(expect(&mut inner, "columns")?)?;
                P::Drill { source, columns }
            }
            Rule::unit => {
                let unit = expect(&mut inner, "unit")?;
                P::Unit(if unit.as_rule() == Rule::string {
                    Unit::Text(self.string(unit)?)
                } else {
                    Unit::Name(self.ident(unit)?)
                })
            }
            Rule::measure => {
                let expr = self.top_expr(expect(&mut inner, "measure")?)?;
                let filter = match inner.find(|p| p.as_rule() == Rule::expr) {
                    Some(p) => Some(self.top_expr(p)?),
                    None => None,
                };
                P::Measure { expr, filter }
            }
            Rule::time => P::Time(self.path(expect(&mut inner, "time column")?)?),
            Rule::by => P::By(self.paths(expect(&mut inner, "dimensions")?)?),
            Rule::top => {
                let count = self.int(expect(&mut inner, "count")?)?;
                let by = self.path(expect(&mut inner, "dimension")?)?;
                P::Top { count, by }
            }
            Rule::compare => {
                let mut whole = None;
                let mut grain = None;
                let mut to_date = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::compare_whole => whole = Some(Marker { span: self.span(&part) }),
                        Rule::compare_to_date => to_date = Some(Marker { span: self.span(&part) }),
                        _ => grain = Some(self.ident(part)?),
                    }
                }
                P::Compare { grain: grain.ok_or_else(|| missing("grain"))?, whole, to_date }
            }
            Rule::window => {
                let spec = expect(&mut inner, "window")?;
                let rule = spec.as_rule();
                let mut parts = spec.into_inner().filter(|p| !is_keyword(p.as_rule()));
                let part = expect(&mut parts, "window length")?;
                P::Window(if rule == Rule::window_to_date {
                    WindowSpec::ToDate(self.ident(part)?)
                } else {
                    WindowSpec::Last(self.duration(part)?)
                })
            }
            Rule::target => P::Target(self.ident(expect(&mut inner, "grain")?)?),
            Rule::buckets => {
                let expr = self.top_expr(expect(&mut inner, "bucketed expression")?)?;
                let edges = inner.map(|p| self.literal(p)).collect::<Result<Vec<_>>>()?;
                P::Buckets { expr, edges }
            }
            Rule::per => {
                let keys = self.paths(expect(&mut inner, "keys")?)?;
                let having = self.top_expr(expect(&mut inner, "condition")?)?;
                P::Per { keys, having }
            }
            Rule::format => P::Format(self.ident(expect(&mut inner, "format")?)?),
            Rule::mart_ref => P::Mart(self.ident(expect(&mut inner, "mart")?)?),
            Rule::marts => P::Marts(self.idents(expect(&mut inner, "marts")?)?),
            Rule::reports => P::Reports(self.idents(expect(&mut inner, "reports")?)?),
            Rule::scope => {
                let scope = expect(&mut inner, "scope")?;
                P::Scope(if scope.as_rule() == Rule::scope_national {
                    Scope::National { span: self.span(&scope) }
                } else {
                    let mut parts = scope.into_inner();
                    let level = self.path(expect(&mut parts, "level")?)?;
                    let attribute = self.path(expect(&mut parts, "user attribute")?)?;
                    Scope::Bound { level, attribute }
                })
            }
            Rule::allow => P::Allow(self.idents(expect(&mut inner, "privileges")?)?),
            Rule::min_cell_size => P::MinCellSize(self.int(expect(&mut inner, "size")?)?),
            other => return Err(Internal(format!("unexpected property rule {other:?}"))),
        };
        Ok(Property { value, keyword, span })
    }

    fn schedule(&mut self, pair: Pair<Rule>) -> Result<Schedule> {
        let rule = pair.as_rule();
        let mut inner = pair.into_inner().filter(|p| !is_keyword(p.as_rule()));
        Ok(match rule {
            Rule::every => {
                let amount = self.int(expect(&mut inner, "amount")?)?;
                let unit = self.ident(expect(&mut inner, "unit")?)?;
                Schedule::Every { amount, unit }
            }
            Rule::hourly => Schedule::Hourly,
            Rule::daily => Schedule::Daily { at: inner.next().map(|p| self.clock(&p)) },
            Rule::weekly => {
                let day = self.ident(expect(&mut inner, "weekday")?)?;
                Schedule::Weekly { day, at: inner.next().map(|p| self.clock(&p)) }
            }
            Rule::cron => Schedule::Cron(self.string(expect(&mut inner, "cron expression")?)?),
            other => return Err(Internal(format!("unexpected schedule {other:?}"))),
        })
    }

    fn clock(&self, pair: &Pair<Rule>) -> ClockTime {
        let (h, m) = pair.as_str().split_once(':').unwrap_or(("0", "0"));
        ClockTime {
            hour: h.parse().unwrap_or(u32::MAX),
            minute: m.parse().unwrap_or(u32::MAX),
            span: self.span(pair),
        }
    }

    /// `name type [-> dimension.level]` in the `attributes` block of `users`.
    fn attribute(&mut self, pair: Pair<Rule>) -> Result<Attribute> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = docs(&mut inner)?;
        let name = self.ident(expect(&mut inner, "attribute name")?)?;
        let ty = self.column_type(expect(&mut inner, "attribute type")?)?;
        let reference = match inner.next() {
            Some(reference) => {
                let mut parts = reference.into_inner();
                Some(self.path(expect(&mut parts, "path")?)?)
            }
            None => None,
        };
        Ok(Attribute { docs, name, ty, reference, span })
    }

    fn column_type(&mut self, pair: Pair<Rule>) -> Result<ColumnType> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(expect(&mut inner, "type name")?)?;
        let mut args = Vec::new();
        for arg in inner.filter(|p| !is_closing(p)) {
            args.push(match arg.as_rule() {
                Rule::int => TypeArg::Int(self.int(arg)?),
                Rule::string => TypeArg::String(self.string(arg)?),
                _ => TypeArg::Name(self.ident(arg)?),
            });
        }
        Ok(ColumnType { name, args, span })
    }

    fn column(&mut self, pair: Pair<Rule>) -> Result<Column> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = docs(&mut inner)?;
        let name = self.ident(expect(&mut inner, "column name")?)?;
        let ty = self.column_type(expect(&mut inner, "column type")?)?;
        let mut column = Column {
            docs,
            name,
            ty,
            nullability: None,
            reference: None,
            pii: None,
            default: None,
            span,
        };
        for modifier in inner {
            let mspan = self.span(&modifier);
            let rule = modifier.as_rule();
            let mut parts =
                modifier.into_inner().filter(|p| !is_closing(p) && !is_keyword(p.as_rule()));
            let earlier = match rule {
                Rule::not_null | Rule::nullable => column
                    .nullability
                    .replace(Nullability { not_null: rule == Rule::not_null, span: mspan })
                    .map(|n| ("nullability", n.span)),
                Rule::reference => {
                    let path = self.path(expect(&mut parts, "path")?)?;
                    column.reference.replace(path).map(|p| ("reference", p.span))
                }
                Rule::pii => {
                    let classes = self.idents(expect(&mut parts, "classes")?)?;
                    column
                        .pii
                        .replace(Pii { classes, span: mspan })
                        .map(|p| ("PII classes", p.span))
                }
                Rule::default => {
                    let value = self.top_expr(expect(&mut parts, "value")?)?;
                    column.default.replace(value).map(|d| ("default", d.span))
                }
                other => return Err(Internal(format!("unexpected column modifier {other:?}"))),
            };
            if let Some((slot, first)) = earlier {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::DUPLICATE_PROPERTY,
                        format!("Column `{}` gives its {slot} twice", column.name.name),
                        mspan,
                    )
                    .label("given again here")
                    .secondary(first, "first given here")
                    .help("keep one of them"),
                );
            }
        }
        Ok(column)
    }

    // ------------------------------------------------------------ expressions

    /// A whole expression (a measure, a filter, a condition, a default): lowered, then held to
    /// [`limits::MAX_OPERATORS`].
    fn top_expr(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        self.operators = 0;
        let expr = self.expr(pair)?;
        if self.operators > limits::MAX_OPERATORS {
            self.diagnostics.push(limits::too_many_operators(expr.span, self.operators));
        }
        Ok(expr)
    }

    /// The grammar wraps an operand in one rule per precedence level (`expr`, `or_expr`, ...,
    /// `unary`), most of them with a single child. [`through_wrappers`] steps through those in
    /// a loop, and each kind of node is lowered by a method of its own, so that a level of
    /// parentheses costs a few small stack frames here (see [`limits`]).
    fn expr(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let pair = through_wrappers(pair)?;
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::or_expr | Rule::and_expr | Rule::sum_expr | Rule::product => self.chain(pair),
            Rule::not_expr | Rule::unary => {
                // `not x` and `-x`: the keyword or sign, then the operand.
                let mut inner = pair.into_inner();
                let not = expect(&mut inner, "operator")?.as_rule() == Rule::kw_not;
                let operand = Box::new(self.expr(expect(&mut inner, "operand")?)?);
                let kind = if not { ExprKind::Not(operand) } else { ExprKind::Neg(operand) };
                Ok(Expr { kind, span })
            }
            Rule::cmp_expr => self.comparison(pair),
            Rule::paren => {
                let inner = pair.into_inner().next().ok_or_else(|| missing("expression"))?;
                Ok(Expr { kind: ExprKind::Paren(Box::new(self.expr(inner)?)), span })
            }
            Rule::call => self.call(pair),
            Rule::path_ref => {
                let path = self.path(pair.into_inner().next().ok_or_else(|| missing("path"))?)?;
                Ok(Expr { kind: ExprKind::Path(path), span })
            }
            _ => self.literal(pair),
        }
    }

    /// `a + b - c`: one [`ExprKind::Chain`], however long.
    fn chain(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let first = self.expr(expect(&mut inner, "operand")?)?;
        let mut rest = Vec::new();
        while let Some(op) = inner.next() {
            let op = binary_op(op.as_str())
                .ok_or_else(|| Internal(format!("unknown operator `{}`", op.as_str())))?;
            let operand = self.expr(expect(&mut inner, "operand")?)?;
            rest.push(Link { op, operand });
        }
        self.operators = self.operators.saturating_add(rest.len());
        let span = rest.last().map_or(first.span, |last| first.span.to(last.operand.span));
        Ok(Expr { kind: ExprKind::Chain { first: Box::new(first), rest }, span })
    }

    /// `a = b`, `a is null`, `a in (...)`, `a between b and c`, `a like b`.
    fn comparison(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let left = self.expr(expect(&mut inner, "operand")?)?;
        let Some(tail) = inner.next() else { return Ok(left) };
        self.operators = self.operators.saturating_add(1);
        let tail_rule = tail.as_rule();
        let parts: Vec<Pair<Rule>> = tail.into_inner().filter(|p| !is_closing(p)).collect();
        let negated = parts.iter().any(|p| p.as_rule() == Rule::kw_not);
        let mut operands = parts.into_iter().filter(|p| {
            !matches!(
                p.as_rule(),
                Rule::kw_not
                    | Rule::kw_is
                    | Rule::kw_null
                    | Rule::kw_in
                    | Rule::kw_between
                    | Rule::kw_and
                    | Rule::kw_like
            )
        });
        let expr = Box::new(left);
        let kind = match tail_rule {
            Rule::is_null => ExprKind::IsNull { expr, negated },
            Rule::in_list => ExprKind::InList {
                expr,
                list: operands.map(|p| self.expr(p)).collect::<Result<_>>()?,
                negated,
            },
            Rule::between => {
                let low = Box::new(self.expr(expect(&mut operands, "low bound")?)?);
                let high = Box::new(self.expr(expect(&mut operands, "high bound")?)?);
                ExprKind::Between { expr, low, high, negated }
            }
            Rule::like => ExprKind::Like {
                expr,
                pattern: Box::new(self.expr(expect(&mut operands, "pattern")?)?),
                negated,
            },
            Rule::comparison => {
                let op_pair = expect(&mut operands, "operator")?;
                let op = binary_op(op_pair.as_str())
                    .ok_or_else(|| Internal(format!("unknown operator `{}`", op_pair.as_str())))?;
                let right = Box::new(self.expr(expect(&mut operands, "operand")?)?);
                ExprKind::Binary { op, left: expr, right }
            }
            other => return Err(Internal(format!("unexpected comparison {other:?}"))),
        };
        Ok(Expr { kind, span })
    }

    fn call(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let function = self.ident(expect(&mut inner, "function")?)?;
        let (mut distinct, mut star, mut args) = (false, false, Vec::new());
        for arg in inner.filter(|p| !is_closing(p)) {
            match arg.as_rule() {
                Rule::kw_distinct => distinct = true,
                Rule::star => star = true,
                _ => args.push(self.expr(arg)?),
            }
        }
        Ok(Expr { kind: ExprKind::Call { function, distinct, star, args }, span })
    }

    fn literal(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let literal = match pair.as_rule() {
            Rule::int => Literal::Int(text.to_string()),
            Rule::decimal => Literal::Decimal(text.to_string()),
            Rule::number if text.contains('.') => Literal::Decimal(text.to_string()),
            Rule::number => Literal::Int(text.to_string()),
            Rule::percent => Literal::Percent(text.trim_end_matches('%').to_string()),
            Rule::string => Literal::String(self.string(pair)?.value),
            Rule::boolean => Literal::Bool(text == "true"),
            Rule::null => Literal::Null,
            Rule::duration_lit => {
                let mut inner = pair.into_inner();
                let amount = self.int(expect(&mut inner, "amount")?)?.value;
                let unit_pair = expect(&mut inner, "unit")?;
                let unit = TimeUnit::from_word(unit_pair.as_str()).ok_or_else(|| {
                    Internal(format!("unknown time unit `{}`", unit_pair.as_str()))
                })?;
                Literal::Duration { amount, unit }
            }
            other => return Err(Internal(format!("unexpected expression rule {other:?}"))),
        };
        Ok(Expr { kind: ExprKind::Literal(literal), span })
    }

    // ------------------------------------------------------------ tokens

    fn ident(&self, pair: Pair<Rule>) -> Result<Ident> {
        if pair.as_rule() != Rule::ident {
            return Err(Internal(format!("expected a name, found {:?}", pair.as_rule())));
        }
        Ok(Ident { name: pair.as_str().to_string(), span: self.span(&pair) })
    }

    /// An `ident_list`, or a single `ident`.
    fn idents(&self, pair: Pair<Rule>) -> Result<Vec<Ident>> {
        match pair.as_rule() {
            Rule::ident => Ok(vec![self.ident(pair)?]),
            _ => self.ident_seq(pair.into_inner()),
        }
    }

    fn ident_seq<'i>(&self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Result<Vec<Ident>> {
        pairs.map(|p| self.ident(p)).collect()
    }

    fn path(&self, pair: Pair<Rule>) -> Result<Path> {
        let span = self.span(&pair);
        let segments = self.ident_seq(pair.into_inner())?;
        Ok(Path { segments, span })
    }

    fn paths(&self, pair: Pair<Rule>) -> Result<Vec<Path>> {
        pair.into_inner().map(|p| self.path(p)).collect()
    }

    fn string(&self, pair: Pair<Rule>) -> Result<StringLit> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().ok_or_else(|| missing("string contents"))?;
        Ok(StringLit { value: unescape(inner.as_str()), span })
    }

    fn int(&mut self, pair: Pair<Rule>) -> Result<Int> {
        let span = self.span(&pair);
        let value = match pair.as_str().parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::error(codes::INVALID_NUMBER, "Number too large", span)
                        .label("does not fit in 64 bits")
                        .help("use a number below 18446744073709551616"),
                );
                u64::MAX
            }
        };
        Ok(Int { value, span })
    }

    fn duration(&mut self, pair: Pair<Rule>) -> Result<Duration> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let amount = self.int(expect(&mut inner, "amount")?)?;
        let unit = self.ident(expect(&mut inner, "unit")?)?;
        Ok(Duration { amount, unit, span })
    }
}

// ---------------------------------------------------------------- helpers

fn expect<'i>(
    pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
    what: &str,
) -> Result<Pair<'i, Rule>> {
    pairs.next().ok_or_else(|| missing(what))
}

/// Keyword tokens carry no value once the rule that holds them has matched.
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_allow
            | Rule::kw_and
            | Rule::kw_attributes
            | Rule::kw_append
            | Rule::kw_archive
            | Rule::kw_as
            | Rule::kw_at
            | Rule::kw_between
            | Rule::kw_buckets
            | Rule::kw_by
            | Rule::kw_calendar
            | Rule::kw_cdc
            | Rule::kw_columns
            | Rule::kw_compare
            | Rule::kw_cron
            | Rule::kw_daily
            | Rule::kw_default
            | Rule::kw_delete_marker
            | Rule::kw_description
            | Rule::kw_dimension
            | Rule::kw_dimensions
            | Rule::kw_distinct
            | Rule::kw_drill
            | Rule::kw_every
            | Rule::kw_false
            | Rule::kw_fiscal_year_start
            | Rule::kw_follow
            | Rule::kw_forever
            | Rule::kw_format
            | Rule::kw_from
            | Rule::kw_grain
            | Rule::kw_grains
            | Rule::kw_having
            | Rule::kw_hierarchy
            | Rule::kw_hourly
            | Rule::kw_in
            | Rule::kw_incremental
            | Rule::kw_is
            | Rule::kw_keep
            | Rule::kw_key
            | Rule::kw_kind
            | Rule::kw_label
            | Rule::kw_landing
            | Rule::kw_level
            | Rule::kw_like
            | Rule::kw_load
            | Rule::kw_mart
            | Rule::kw_marts
            | Rule::kw_measure
            | Rule::kw_metric
            | Rule::kw_metrics
            | Rule::kw_min_cell_size
            | Rule::kw_national
            | Rule::kw_not
            | Rule::kw_null
            | Rule::kw_on
            | Rule::kw_or
            | Rule::kw_owner
            | Rule::kw_per
            | Rule::kw_pii
            | Rule::kw_previous
            | Rule::kw_refresh
            | Rule::kw_report
            | Rule::kw_reports
            | Rule::kw_retain
            | Rule::kw_retention
            | Rule::kw_role
            | Rule::kw_scope
            | Rule::kw_snapshot
            | Rule::kw_source
            | Rule::kw_time
            | Rule::kw_timezone
            | Rule::kw_title
            | Rule::kw_top
            | Rule::kw_true
            | Rule::kw_unit
            | Rule::kw_users
            | Rule::kw_week_start
            | Rule::kw_weekly
            | Rule::kw_where
            | Rule::kw_whole
            | Rule::kw_window
            | Rule::kw_target
            | Rule::kw_last
            | Rule::kw_to
            | Rule::kw_date
    )
}

fn is_closing(pair: &Pair<Rule>) -> bool {
    matches!(pair.as_rule(), Rule::rparen | Rule::rbracket)
}

fn missing(what: &str) -> Internal {
    Internal(format!("the parse tree has no {what}"))
}

/// `pair` without the rules around it that only pass one child on: `expr`, a precedence
/// level with no operator (`sum_expr` of one `product`), `not_expr` without `not`, `unary`
/// without `-`.
fn through_wrappers(mut pair: Pair<'_, Rule>) -> Result<Pair<'_, Rule>> {
    loop {
        let passes_on = match pair.as_rule() {
            Rule::expr => true,
            Rule::or_expr | Rule::and_expr | Rule::sum_expr | Rule::product | Rule::cmp_expr => {
                pair.clone().into_inner().nth(1).is_none()
            }
            Rule::not_expr | Rule::unary => pair
                .clone()
                .into_inner()
                .next()
                .is_some_and(|first| !matches!(first.as_rule(), Rule::kw_not | Rule::neg)),
            _ => false,
        };
        if !passes_on {
            return Ok(pair);
        }
        pair = pair.into_inner().next().ok_or_else(|| missing("operand"))?;
    }
}

/// Leading `doc` pairs (inside a `docs` pair), as text.
fn docs<'i>(
    pairs: &mut std::iter::Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
) -> Result<Vec<String>> {
    if pairs.peek().is_some_and(|p| p.as_rule() == Rule::docs) {
        let docs = expect(pairs, "docs")?;
        return Ok(docs
            .into_inner()
            .map(|doc| {
                let text = doc.into_inner().next().map_or("", |t| t.as_str());
                text.strip_prefix(' ').unwrap_or(text).trim_end().to_string()
            })
            .collect());
    }
    Ok(Vec::new())
}

fn binary_op(symbol: &str) -> Option<BinaryOp> {
    Some(match symbol {
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "=" => BinaryOp::Eq,
        "!=" | "<>" => BinaryOp::NotEq,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::LtEq,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::GtEq,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => return None,
    })
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn word_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count()
    } else {
        0
    }
}

/// Length of the token at `pos`, for the width of a label: a word, a string, or one character.
fn token_len(text: &str, pos: usize) -> usize {
    let rest = &text[pos.min(text.len())..];
    let words = word_len(rest);
    if words > 0 {
        return words;
    }
    if rest.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'.').count();
    }
    match rest.chars().next() {
        None | Some('\n' | '\r') => 0,
        Some(c) => c.len_utf8(),
    }
}

/// How the token at `pos` is named in a message.
fn token_at(text: &str, pos: usize) -> String {
    let rest = &text[pos.min(text.len())..];
    match rest.chars().next() {
        None => "end of input".to_string(),
        Some('\n' | '\r') => "end of line".to_string(),
        Some(_) => format!("`{}`", &rest[..token_len(text, pos)]),
    }
}

fn line_end(text: &str, from: usize) -> usize {
    let from = from.min(text.len());
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// The opening quote of a string on the line of `pos` that is never closed, if the line has
/// one before or at `pos`.
fn unterminated_string(text: &str, pos: usize) -> Option<usize> {
    let line_start = text[..pos.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let end = line_end(text, line_start);
    let mut open: Option<(usize, char)> = None;
    let mut chars = text[line_start..end].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match open {
            Some((_, q)) if c == q => open = None,
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => open = Some((line_start + i, c)),
            None if c == '/' && chars.peek().is_some_and(|(_, n)| *n == '/') => break,
            None => {}
        }
    }
    open.map(|(i, _)| i).filter(|&i| i <= pos)
}

/// The offset of the outermost `{` left open at the end of `text`, ignoring strings and
/// comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut stack = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q || c == '\n' => quote = None,
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                    while chars.peek().is_some_and(|(_, n)| *n != '\n') {
                        chars.next();
                    }
                }
                '{' => stack.push(i),
                '}' => {
                    stack.pop();
                }
                _ => {}
            },
        }
    }
    stack.first().copied()
}

fn is_short_metric(text: &str) -> bool {
    let after_keyword = text.trim_start_matches("metric").trim_start();
    let rest = after_keyword[word_len(after_keyword)..].trim_start();
    rest.starts_with('=')
}

fn decl_name(text: &str) -> &str {
    let rest = text[word_len(text)..].trim_start();
    &rest[..word_len(rest)]
}

fn declaration_help() -> String {
    let keywords: Vec<String> =
        DeclKind::ALL.iter().map(|k| format!("`{}`", k.keyword())).collect();
    format!("a declaration starts with {}", keywords.join(", "))
}

fn property_list_help(block: Block) -> String {
    let names: Vec<String> = block.properties().iter().map(|p| format!("`{p}`")).collect();
    format!("{} takes {}", block.describe(), names.join(", "))
}

/// "a name, `every` or a string": pest's expected rules in words.
fn expected_list(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for rule in rules {
        let word = describe(*rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the line",
        Rule::ident | Rule::path | Rule::path_ref => "a name",
        Rule::ident_list => "a list of names",
        Rule::path_list => "a list of names",
        Rule::int => "a whole number",
        Rule::number | Rule::decimal => "a number",
        Rule::string => "a string",
        Rule::clock_time => "a time such as `06:00`",
        Rule::duration | Rule::duration_lit => "a duration such as `6 years`",
        Rule::time_unit => "a time unit",
        Rule::percent => "a percentage",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::sum_expr
        | Rule::product
        | Rule::unary
        | Rule::call
        | Rule::paren
        | Rule::boolean
        | Rule::null => "an expression",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::every => "`every`",
        Rule::hourly => "`hourly`",
        Rule::daily => "`daily`",
        Rule::weekly => "`weekly`",
        Rule::cron => "`cron`",
        Rule::kw_at => "`at`",
        Rule::kw_on => "`on`",
        Rule::kw_by => "`by`",
        Rule::kw_as => "`as`",
        Rule::kw_every => "`every`",
        Rule::kw_where => "`where`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
        Rule::kw_is => "`is`",
        Rule::kw_in => "`in`",
        Rule::kw_null => "`null`",
        Rule::kw_between => "`between`",
        Rule::kw_like => "`like`",
        Rule::kw_distinct => "`distinct`",
        Rule::load_snapshot => "`snapshot`",
        Rule::load_append => "`append`",
        Rule::load_incremental => "`incremental`",
        Rule::load_cdc => "`cdc`",
        Rule::forever => "`forever`",
        Rule::retain_period => "a duration such as `6 years`",
        Rule::scope_national => "`national`",
        Rule::scope_bound => "a level such as `location.port`",
        Rule::landing_options => "options in parentheses",
        Rule::column_type => "a column type",
        Rule::not_null => "`not null`",
        Rule::nullable => "`null`",
        Rule::reference => "`->`",
        Rule::pii => "`pii(...)`",
        Rule::default => "`default`",
        Rule::level_key => "`key`",
        Rule::level_label => "`label`",
        Rule::is_null | Rule::in_list | Rule::between | Rule::like | Rule::comparison => {
            "an operator"
        }
        Rule::star => "`*`",
        Rule::rparen => "`)`",
        Rule::rbracket => "`]`",
        Rule::close => "`}`",
        Rule::lbrace => "`{`",
        Rule::neg => "`-`",
        Rule::docs | Rule::doc => "a doc comment",
        Rule::kw_source
        | Rule::kw_dimension
        | Rule::kw_calendar
        | Rule::kw_retention
        | Rule::kw_mart
        | Rule::kw_metric
        | Rule::kw_report
        | Rule::kw_role
        | Rule::kw_users => "a declaration",
        _ => "a property",
    }
}
