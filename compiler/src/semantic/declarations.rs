//! Building each kind of declaration into its model form, property by property.
//!
//! The grammar already restricts which properties a block takes and the syntax stage reports a
//! property given twice (T0004, T0106), so each builder reads the first occurrence of each
//! property (see [`properties`]) and ignores what the grammar cannot produce. What is checked
//! here: required properties (T0107), the closed words and numbers of each property, names
//! given twice inside the declaration, and the rules that tie properties together (a key column
//! exists, a delete marker is a bool, a rule archives at least as long as it keeps, a metric
//! reads one source).

use super::model::*;
use super::resolve::{unknown_local_column, Place, Reads};
use super::tokens::already_reported;
use super::{properties, Analyzer};
use crate::diagnostic::{codes, Diagnostic};
use crate::syntax::ast::{self, Body, DeclKind, Declaration, Ident, PropertyValue as P, TimeUnit};
use crate::syntax::keywords;
use indexmap::IndexMap;

impl Analyzer<'_> {
    /// The name, docs and descriptive properties every declaration has.
    fn meta(&self, declaration: &Declaration) -> Meta {
        let mut meta = Meta {
            name: declaration.name.name.clone(),
            span: declaration.name.span,
            docs: declaration.docs.join("\n"),
            ..Meta::default()
        };
        for property in properties(declaration) {
            match &property.value {
                P::Title(s) => meta.title = Some(s.value.clone()),
                P::Description(s) => meta.description = Some(s.value.clone()),
                P::Owner(s) => meta.owner = Some(s.value.clone()),
                _ => {}
            }
        }
        meta
    }

    // ------------------------------------------------------------ calendar

    /// The project's calendar: the first `calendar` declared, or the implicit one. Any other
    /// calendar is T0116 (and still checked).
    pub(super) fn calendars(&mut self) {
        let mut first: Option<&Declaration> = None;
        for declaration in self.declarations.iter().copied() {
            if declaration.kind != DeclKind::Calendar {
                continue;
            }
            let calendar = self.calendar(declaration);
            match first {
                None => {
                    first = Some(declaration);
                    self.model.calendar = calendar;
                }
                Some(first) => self.push(
                    Diagnostic::error(
                        codes::SECOND_CALENDAR,
                        format!("Calendar `{}` is a second calendar", declaration.name.name),
                        declaration.name.span,
                    )
                    .label("second calendar")
                    .secondary(first.name.span, "the project's calendar is declared here")
                    .help("a project has one calendar: merge the two blocks into one"),
                ),
            }
        }
    }

    fn calendar(&mut self, declaration: &Declaration) -> Calendar {
        let meta = self.meta(declaration);
        let mut calendar = Calendar {
            name: meta.name,
            span: Some(meta.span),
            docs: meta.docs,
            title: meta.title,
            description: meta.description,
            ..Calendar::implicit()
        };
        for property in properties(declaration) {
            match &property.value {
                P::FiscalYearStart { month, day } => {
                    let Some(month) = self.month(month) else { continue };
                    let day = match day {
                        None => 1,
                        Some(day) if (1..=u64::from(month.last_day())).contains(&day.value) => {
                            u8::try_from(day.value).unwrap_or(1)
                        }
                        Some(day) => {
                            if day.value != u64::MAX {
                                self.push(
                                    Diagnostic::error(
                                        codes::INVALID_NUMBER,
                                        format!("{} has no day {}", capitalized(month.word()), day.value),
                                        day.span,
                                    )
                                    .label(format!("days run from 1 to {}", month.last_day()))
                                    .help(format!(
                                        "use a day from 1 to {} (February stops at 28 so the start exists every year)",
                                        month.last_day()
                                    )),
                                );
                            }
                            continue;
                        }
                    };
                    calendar.fiscal_year_start = MonthDay { month, day };
                }
                P::WeekStart(day) => {
                    if let Some(weekday) = self.weekday(day) {
                        calendar.week_start = weekday;
                    }
                }
                P::Grains(idents) => {
                    let unique = self.unique(idents, codes::DUPLICATE_MEMBER, |g| {
                        format!("Grain `{g}` is listed twice")
                    });
                    let mut grains: Vec<Grain> =
                        unique.into_iter().filter_map(|g| self.grain_word(g)).collect();
                    // With no valid grain, keep the default rather than reject every later
                    // use of the time dimension for one mistake.
                    if !grains.is_empty() {
                        grains.sort();
                        calendar.grains = grains;
                    }
                }
                P::Timezone(zone) => calendar.timezone.clone_from(&zone.value),
                _ => {}
            }
        }
        calendar
    }

    // ------------------------------------------------------------ retention rules

    pub(super) fn retention_rule(&mut self, declaration: &Declaration) -> RetentionRule {
        let mut rule = RetentionRule { meta: self.meta(declaration), ..RetentionRule::default() };
        let (mut follow, mut keep, mut archive) = (None, None, None);
        for property in properties(declaration) {
            match &property.value {
                P::FollowSource => follow = follow.or(Some(property.span)),
                P::Keep(d) => keep = Some((d, self.period(d, "keep"))),
                P::Archive(d) => {
                    archive = Some((d, self.period(d, "archive")));
                }
                _ => {}
            }
        }
        rule.follow_source = follow.is_some();
        rule.keep = keep.and_then(|(_, p)| p);
        rule.archive = archive.and_then(|(_, p)| p);
        let name = &declaration.name.name;
        if follow.is_none() {
            self.require(declaration, "keep");
        }
        match (keep, archive) {
            (None, Some((archive, _))) => self.push(
                Diagnostic::error(
                    codes::INVALID_RETENTION,
                    format!("Retention rule `{name}` archives without a `keep` period"),
                    archive.span,
                )
                .label("no `keep` period to count from")
                .help("add `keep` (how long rows stay live); `archive` counts from the same start"),
            ),
            // Months span 28 to 31 days: only a certainly shorter archive is refused.
            (Some((keep_d, Some(keep))), Some((archive_d, Some(archive))))
                if archive.day_range().1 < keep.day_range().0 =>
            {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_RETENTION,
                        format!("Retention rule `{name}` archives for less time than it keeps"),
                        archive_d.span,
                    )
                    .label("shorter than `keep`")
                    .secondary(keep_d.span, "kept this long")
                    .help("make `archive` at least as long as `keep`, or drop `archive`"),
                );
            }
            _ => {}
        }
        rule
    }

    // ------------------------------------------------------------ dimensions

    pub(super) fn dimension(&mut self, declaration: &Declaration) -> Dimension {
        let mut dimension = Dimension { meta: self.meta(declaration), ..Dimension::default() };
        let name = declaration.name.name.clone();
        for property in properties(declaration) {
            let P::Level(level) = &property.value else { continue };
            if let Some(first) = dimension.levels.get(&level.name.name) {
                let first = first.span;
                self.push(
                    Diagnostic::error(
                        codes::DUPLICATE_MEMBER,
                        format!(
                            "Level `{}` is declared twice in dimension `{name}`",
                            level.name.name
                        ),
                        level.name.span,
                    )
                    .label("declared again here")
                    .secondary(first, "first declared here")
                    .help("remove or rename one of them"),
                );
                continue;
            }
            dimension.levels.insert(
                level.name.name.clone(),
                Level {
                    name: level.name.name.clone(),
                    span: level.name.span,
                    docs: level.docs.join("\n"),
                    key: level.key.as_ref().map(|k| k.name.clone()),
                    label: level.label.as_ref().map(|l| l.name.clone()),
                    key_span: level.key.as_ref().map(|k| k.span),
                    label_span: level.label.as_ref().map(|l| l.span),
                },
            );
        }
        for property in properties(declaration) {
            let P::Hierarchy(members) = &property.value else { continue };
            let unique = self.unique(members, codes::DUPLICATE_MEMBER, |l| {
                format!("Level `{l}` appears twice in a hierarchy")
            });
            let mut levels = Vec::new();
            for member in unique {
                if dimension.levels.contains_key(&member.name) {
                    levels.push(member.name.clone());
                    continue;
                }
                let known: Vec<&str> = dimension.levels.keys().map(String::as_str).collect();
                let help = crate::diagnostic::did_you_mean(&member.name, &known, "level");
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_LEVEL,
                        format!("Dimension `{name}` has no level `{}`", member.name),
                        member.span,
                    )
                    .label("not a level of this dimension")
                    .help(help),
                );
            }
            dimension.hierarchies.push(Hierarchy { levels, span: property.span });
        }
        self.require(declaration, "level");
        dimension
    }

    /// A dimension's `from` source, and its levels' key and label columns in it.
    pub(super) fn dimension_source(&mut self, declaration: &Declaration) -> Option<String> {
        let levels: Vec<&ast::Level> = properties(declaration)
            .iter()
            .filter_map(|p| match &p.value {
                P::Level(level) => Some(level),
                _ => None,
            })
            .collect();
        let from = properties(declaration).iter().find_map(|p| match &p.value {
            P::From(source) => Some(source),
            _ => None,
        });
        let Some(from) = from else {
            if levels.iter().any(|l| l.key.is_some() || l.label.is_some()) {
                // Key and label name columns: of which source?
                self.require(declaration, "from");
            }
            return None;
        };
        let source = self.declaration(from, DeclKind::Source)?;
        for level in levels {
            for column in level.key.iter().chain(&level.label) {
                self.column_of(&source.name, column);
            }
        }
        Some(source.name)
    }

    // ------------------------------------------------------------ users

    /// The project's user attributes: those of the first `users` block. Any other block is
    /// T0119 (and still checked).
    pub(super) fn users(&mut self) {
        let mut first: Option<&Declaration> = None;
        for declaration in self.declarations.iter().copied() {
            if declaration.kind != DeclKind::Users {
                continue;
            }
            let attributes = self.user_attributes(declaration);
            match first {
                None => {
                    first = Some(declaration);
                    self.model.user_attributes = attributes;
                }
                Some(first) => self.push(
                    Diagnostic::error(
                        codes::SECOND_USERS_BLOCK,
                        "A second `users` block",
                        declaration.name.span,
                    )
                    .label("second `users` block")
                    .secondary(first.name.span, "the project's users are described here")
                    .help("a project describes its users once: move these attributes into the first block"),
                ),
            }
        }
    }

    fn user_attributes(&mut self, declaration: &Declaration) -> IndexMap<String, UserAttribute> {
        let mut built: IndexMap<String, UserAttribute> = IndexMap::new();
        for property in properties(declaration) {
            let P::Attributes(attributes) = &property.value else { continue };
            for attribute in attributes {
                let name = &attribute.name;
                let ty = self.column_type(&attribute.ty);
                let references = match &attribute.reference {
                    Some(path) => self.level_path(path, "A user attribute's reference"),
                    None => None,
                };
                if UserAttribute::RESERVED.contains(&name.name.as_str()) {
                    let own: Vec<String> =
                        UserAttribute::RESERVED.iter().map(|c| format!("`{c}`")).collect();
                    self.push(
                        Diagnostic::error(
                            codes::RESERVED_USER_ATTRIBUTE,
                            format!(
                                "User attribute `{}` takes a name `policy_user` keeps for itself",
                                name.name
                            ),
                            name.span,
                        )
                        .label("a column of every `policy_user`")
                        .help(format!(
                            "rename the attribute; `policy_user` always has {}",
                            own.join(", ")
                        )),
                    );
                    continue;
                }
                if let (Some(reference), Some(ty)) = (&references, &ty) {
                    if *ty != ColumnType::String {
                        let target = format!("{}.{}", reference.dimension, reference.level);
                        self.push(
                            Diagnostic::error(
                                codes::LEVEL_ATTRIBUTE_NOT_STRING,
                                format!(
                                    "User attribute `{}` names members of `{target}` but is not a `string`",
                                    name.name
                                ),
                                attribute.ty.span,
                            )
                            .label(format!("declared as {}", type_name(ty)))
                            .secondary(reference.span, "member keys of this level")
                            .help(format!(
                                "declare it `{} string -> {target}`: every table keeps a level's members as text",
                                name.name
                            )),
                        );
                    }
                }
                if let Some(first) = built.get(&name.name) {
                    let first = first.span;
                    self.push(
                        Diagnostic::error(
                            codes::DUPLICATE_MEMBER,
                            format!("User attribute `{}` is declared twice", name.name),
                            name.span,
                        )
                        .label("declared again here")
                        .secondary(first, "first declared here")
                        .help("remove or rename one of them"),
                    );
                    continue;
                }
                built.insert(
                    name.name.clone(),
                    UserAttribute {
                        name: name.name.clone(),
                        span: name.span,
                        docs: attribute.docs.join("\n"),
                        ty,
                        references,
                        reference_span: attribute.reference.as_ref().map(|p| p.span),
                    },
                );
            }
        }
        built
    }

    // ------------------------------------------------------------ sources

    pub(super) fn source(&mut self, declaration: &Declaration) -> Source {
        let mut source = Source { meta: self.meta(declaration), ..Source::default() };
        let name = declaration.name.name.clone();
        let props = properties(declaration);
        // Columns first: the key, the load mode and `retain ... by` name them.
        if let Some(columns) = props.iter().find_map(|p| match &p.value {
            P::Columns(columns) => Some(columns),
            _ => None,
        }) {
            source.columns = self.columns(&name, columns);
            if columns.is_empty() {
                self.push(
                    Diagnostic::error(
                        codes::MISSING_PROPERTY,
                        format!("Source `{name}` declares no columns"),
                        declaration.name.span,
                    )
                    .label("no columns")
                    .help(format!("list them: `{}`", keywords::forms("columns"))),
                );
            }
        }
        for property in &props {
            match &property.value {
                P::Refresh(schedule) => source.refresh = self.schedule(schedule, property.span),
                P::Landing(landing) => source.landing = self.landing(landing),
                P::Load(mode) => source.load = self.load(&name, mode, &source.columns),
                P::Key(key) => source.key = self.key(&name, key, &mut source.columns),
                P::Retain(retain) => match retain {
                    ast::Retain::Forever => source.retention.keep = Some(Keep::Forever),
                    ast::Retain::Period { period, by } => {
                        source.retention.keep = self.period(period, "retain").map(Keep::For);
                        if let Some(by) = by {
                            match unknown_local_column(&name, by, &source.columns) {
                                None => source.retention.by = Some(by.name.clone()),
                                Some(d) => self.push(d),
                            }
                        }
                    }
                },
                P::Retention(rule) => {
                    source.retention.rule =
                        self.declaration(rule, DeclKind::Retention).map(|r| r.name);
                }
                _ => {}
            }
        }
        for keyword in ["title", "refresh", "landing", "load", "key", "columns"] {
            self.require(declaration, keyword);
        }
        source
    }

    fn columns(&mut self, source: &str, columns: &[ast::Column]) -> IndexMap<String, Column> {
        let mut built: IndexMap<String, Column> = IndexMap::new();
        for column in columns {
            let ty = self.column_type(&column.ty);
            let mut model = Column {
                name: column.name.name.clone(),
                span: column.name.span,
                docs: column.docs.join("\n"),
                ty,
                nullable: true,
                declared_null: None,
                references: None,
                pii: Vec::new(),
                default: None,
            };
            if let Some(nullability) = column.nullability {
                model.nullable = !nullability.not_null;
                model.declared_null = model.nullable.then_some(nullability.span);
            }
            if let Some(path) = &column.reference {
                model.references = self.level_path(path, "A column reference");
            }
            if let Some(pii) = &column.pii {
                let unique = self.unique(&pii.classes, codes::DUPLICATE_MEMBER, |c| {
                    format!("PII class `{c}` is listed twice")
                });
                for class in unique {
                    match PiiClass::from_word(&class.name) {
                        Some(class) => model.pii.push(class),
                        None => self.unknown_word(
                            codes::UNKNOWN_PII_CLASS,
                            "PII class",
                            class,
                            PiiClass::WORDS,
                        ),
                    }
                }
            }
            if let Some(expr) = &column.default {
                match constant(expr) {
                    Some(literal) => {
                        self.literal(&literal, expr.span);
                        model.default = Some(literal);
                    }
                    None => self.push(
                        Diagnostic::error(
                            codes::DEFAULT_NOT_CONSTANT,
                            format!(
                                "The default of column `{}` is not a constant",
                                column.name.name
                            ),
                            expr.span,
                        )
                        .label("not a literal value")
                        .help("write a literal: a number, a string, `true`, `false` or `null`"),
                    ),
                }
            }
            if let Some(first) = built.get(&column.name.name) {
                let first = first.span;
                self.push(
                    Diagnostic::error(
                        codes::DUPLICATE_MEMBER,
                        format!(
                            "Column `{}` is declared twice in source `{source}`",
                            column.name.name
                        ),
                        column.name.span,
                    )
                    .label("declared again here")
                    .secondary(first, "first declared here")
                    .help("remove or rename one of them"),
                );
                continue;
            }
            built.insert(column.name.name.clone(), model);
        }
        built
    }

    /// Key columns exist, are listed once, and are not null.
    fn key(
        &mut self,
        source: &str,
        key: &[Ident],
        columns: &mut IndexMap<String, Column>,
    ) -> Vec<String> {
        let unique = self
            .unique(key, codes::DUPLICATE_MEMBER, |c| format!("Key column `{c}` is listed twice"));
        let mut names = Vec::new();
        for ident in unique {
            match unknown_local_column(source, ident, columns) {
                None => {
                    if let Some(column) = columns.get_mut(&ident.name) {
                        column.nullable = false;
                        if let Some(null) = column.declared_null {
                            self.push(
                                Diagnostic::error(
                                    codes::NULLABLE_KEY,
                                    format!("Key column `{}` is declared `null`", ident.name),
                                    null,
                                )
                                .label("a key column cannot be null")
                                .secondary(ident.span, "part of the key here")
                                .help("remove `null` from the column: key columns are never null"),
                            );
                        }
                    }
                    names.push(ident.name.clone());
                }
                Some(d) => self.push(d),
            }
        }
        names
    }

    fn load(
        &mut self,
        source: &str,
        mode: &ast::LoadMode,
        columns: &IndexMap<String, Column>,
    ) -> Option<LoadMode> {
        match mode {
            ast::LoadMode::Snapshot => Some(LoadMode::Snapshot),
            ast::LoadMode::Append { delete_marker } => {
                let delete_marker = match delete_marker {
                    Some(marker) => Some(self.delete_marker(source, marker, columns)?),
                    None => None,
                };
                Some(LoadMode::Append { delete_marker })
            }
            ast::LoadMode::Incremental { by, lookback, delete_marker } => {
                if let Some(d) = unknown_local_column(source, by, columns) {
                    self.push(d);
                    return None;
                }
                let lookback_minutes = match lookback {
                    Some(duration) => Some(self.lookback(by, duration, columns)?),
                    None => None,
                };
                let delete_marker = match delete_marker {
                    Some(marker) => Some(self.delete_marker(source, marker, columns)?),
                    None => None,
                };
                Some(LoadMode::Incremental { by: by.name.clone(), lookback_minutes, delete_marker })
            }
            ast::LoadMode::Cdc { delete_marker } => Some(LoadMode::Cdc {
                delete_marker: self.delete_marker(source, delete_marker, columns)?,
            }),
        }
    }

    /// A load mode's `delete_marker`: a bool column of the source.
    fn delete_marker(
        &mut self,
        source: &str,
        delete_marker: &ast::Ident,
        columns: &IndexMap<String, Column>,
    ) -> Option<String> {
        if let Some(d) = unknown_local_column(source, delete_marker, columns) {
            self.push(d);
            return None;
        }
        let column = columns.get(&delete_marker.name)?;
        match &column.ty {
            Some(ColumnType::Bool) | None => {}
            Some(other) => {
                self.push(
                    Diagnostic::error(
                        codes::DELETE_MARKER_NOT_BOOL,
                        format!("Delete marker `{}` is not a bool column", delete_marker.name),
                        delete_marker.span,
                    )
                    .label("the delete marker")
                    .secondary(column.span, format!("declared as {}", type_name(other)))
                    .help(format!(
                        "declare `{} bool`, true when the row was deleted",
                        delete_marker.name
                    )),
                );
                return None;
            }
        }
        Some(delete_marker.name.clone())
    }

    /// An incremental source's `lookback`, in minutes: a duration of minutes to weeks on a
    /// `date` or `timestamp` column.
    fn lookback(
        &mut self,
        by: &Ident,
        duration: &ast::Duration,
        columns: &IndexMap<String, Column>,
    ) -> Option<u64> {
        let column = columns.get(&by.name)?;
        match &column.ty {
            Some(ColumnType::Date | ColumnType::Timestamp) | None => {}
            Some(other) => {
                self.push(
                    Diagnostic::error(
                        codes::LOOKBACK_NOT_TEMPORAL,
                        format!("Lookback on `{}`, which is not a date or timestamp", by.name),
                        duration.span,
                    )
                    .label("a duration before the watermark")
                    .secondary(column.span, format!("declared as {}", type_name(other)))
                    .help(format!(
                        "load by a `timestamp` or `date` column, or drop `lookback` from `incremental by {}`",
                        by.name
                    )),
                );
                return None;
            }
        }
        let minutes_per = match TimeUnit::from_word(&duration.unit.name) {
            Some(TimeUnit::Minute) => 1,
            Some(TimeUnit::Hour) => 60,
            Some(TimeUnit::Day) => 24 * 60,
            Some(TimeUnit::Week) => 7 * 24 * 60,
            Some(unit @ (TimeUnit::Month | TimeUnit::Year)) => {
                self.push(
                    Diagnostic::error(
                        codes::LOOKBACK_NOT_TEMPORAL,
                        "A lookback is counted in minutes, hours, days or weeks",
                        duration.unit.span,
                    )
                    .label(format!("{} have no fixed length", unit.word(2)))
                    .help("give the lookback in days or weeks, e.g. `lookback 30 days`"),
                );
                return None;
            }
            None => {
                self.unknown_word(
                    codes::UNKNOWN_TIME_UNIT,
                    "time unit",
                    &duration.unit,
                    &["minutes", "hours", "days", "weeks"],
                );
                return None;
            }
        };
        let n = duration.amount.value;
        if already_reported(n) {
            return None;
        }
        match n.checked_mul(minutes_per) {
            Some(0) => {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_NUMBER,
                        "`lookback` must be longer than zero",
                        duration.span,
                    )
                    .label("zero")
                    .help("drop the `lookback` to accept no row older than the watermark"),
                );
                None
            }
            Some(minutes) => Some(minutes),
            None => {
                self.push(
                    Diagnostic::error(codes::INVALID_NUMBER, "Lookback too long", duration.span)
                        .label("does not fit in 64 bits")
                        .help("use a shorter lookback"),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------ metrics

    pub(super) fn metric(&mut self, declaration: &Declaration) -> Metric {
        let mut metric = Metric { meta: self.meta(declaration), ..Metric::default() };
        let mut unknown: Vec<Ident> = Vec::new();
        let reported_before = self.diagnostics.len();
        match &declaration.body {
            Body::Expr(expr) => metric.measure = Some(self.measure(expr, None, &mut unknown)),
            Body::Block(_) => {
                for property in properties(declaration) {
                    self.metric_property(&mut metric, &property.value, &mut unknown);
                }
                self.require(declaration, "measure");
            }
        }
        self.one_source(&mut metric);
        if let Some(measure) = &metric.measure {
            if let (Some(m), Some(c)) = (measure.metrics.first(), measure.columns.first()) {
                let d = Diagnostic::error(
                    codes::MEASURE_MIXES_METRICS_AND_COLUMNS,
                    format!("Metric `{}` mixes metrics and columns", metric.meta.name),
                    m.span,
                )
                .label(format!("metric `{}`", m.name))
                .secondary(c.span, format!("column of source `{}`", c.source))
                .help("give the column a metric of its own, then combine metrics: `metric rate = a / b`");
                self.push(d);
            }
        }
        self.report_unknown(&unknown, metric.source.as_deref());
        if self.diagnostics.len() == reported_before {
            self.names_a_source(&metric);
        }
        self.window_reads_rows(declaration, &metric);
        metric
    }

    /// T0313: a window reads a source's rows by their `time`, so it belongs to a metric over a
    /// source, with a `time` column.
    fn window_reads_rows(&mut self, declaration: &Declaration, metric: &Metric) {
        if metric.window.is_none() {
            return;
        }
        let Some(span) = properties(declaration)
            .into_iter()
            .find(|p| matches!(p.value, P::Window(_)))
            .map(|p| p.span)
        else {
            return;
        };
        let name = &metric.meta.name;
        let problem = if metric.is_derived() {
            Some((
                format!("Derived metric `{name}` has a window"),
                "a derived metric combines its metrics' values per cell; it reads no rows",
                "put the window on the metrics it combines",
            ))
        } else if metric.time.is_none() {
            Some((
                format!("Metric `{name}` has a window but no `time` column"),
                "nothing says when each row happened",
                "name the column that places a row in time: `time <source>.<column>`",
            ))
        } else {
            None
        };
        if let Some((message, label, help)) = problem {
            self.push(
                Diagnostic::error(codes::INVALID_WINDOW, message, span).label(label).help(help),
            );
        }
    }

    /// T0211: a metric that aggregates rows (not a derived one) must name a column of the
    /// source whose rows they are. Checked only when nothing else in the metric was wrong: a
    /// column that did not resolve is the first mistake.
    fn names_a_source(&mut self, metric: &Metric) {
        let Some(measure) = &metric.measure else { return };
        if metric.source.is_some() || !measure.metrics.is_empty() {
            return;
        }
        let mut aggregates = false;
        measure.expr.walk(|e| aggregates |= e.as_aggregate().is_some());
        // Without an aggregate the measure is a constant, which the type checker reports.
        if !aggregates {
            return;
        }
        self.push(
            Diagnostic::error(
                codes::METRIC_READS_NO_SOURCE,
                format!("Metric `{}` names no source", metric.meta.name),
                measure.expr.span,
            )
            .label("aggregates rows, but of which source?")
            .help(
                "name a column of the source: a `time` column (`time orders.placed_at`), a \
                 `where` filter, or a column in the aggregate (`count(orders.id)`)",
            ),
        );
    }

    fn metric_property(&mut self, metric: &mut Metric, value: &P, unknown: &mut Vec<Ident>) {
        match value {
            P::Measure { expr, filter } => {
                metric.measure = Some(self.measure(expr, filter.as_ref(), unknown));
            }
            P::Time(path) => metric.time = self.column_path(path),
            P::By(paths) => metric.by = self.axes(paths, "`by`"),
            P::Grain(grain) => metric.grain = self.calendar_grain(grain),
            P::Top { count, by } => {
                if count.value == 0 {
                    self.push(
                        Diagnostic::error(
                            codes::INVALID_NUMBER,
                            "`top 0` shows nothing",
                            count.span,
                        )
                        .label("zero")
                        .help("show at least one: `top 10 by ats.nationality`"),
                    );
                }
                let axis = self.axis(by);
                if count.value != 0 {
                    metric.top = axis.map(|by| Top { count: count.value, by });
                }
            }
            P::Compare { grain, whole, to_date } => {
                let kind = match (whole, to_date) {
                    (None, Some(_)) => Some(CompareKind::ToDate),
                    (Some(_), None) => Some(CompareKind::Whole),
                    (None, None) => {
                        let g = &grain.name;
                        self.push(
                            Diagnostic::error(
                                codes::AMBIGUOUS_COMPARISON,
                                format!("`compare previous {g}` does not say which earlier span it means"),
                                grain.span,
                            )
                            .label("to date, or the whole period?")
                            .help(format!(
                                "write `compare previous {g} to date` to set a period that has not \
                                 ended against the same span one {g} earlier, or `compare whole \
                                 previous {g}` to set it against the whole earlier period"
                            )),
                        );
                        None
                    }
                    (Some(w), Some(t)) => {
                        self.push(
                            Diagnostic::error(
                                codes::AMBIGUOUS_COMPARISON,
                                "A comparison is either `whole` or `to date`, not both",
                                t.span,
                            )
                            .label("to date")
                            .secondary(w.span, "whole")
                            .help(format!(
                                "keep one: `compare previous {0} to date` or `compare whole \
                                 previous {0}`",
                                grain.name
                            )),
                        );
                        None
                    }
                };
                let grain = self.calendar_grain(grain);
                metric.compare = grain.zip(kind).map(|(grain, kind)| Compare { grain, kind });
            }
            P::Window(spec) => metric.window = self.window(spec),
            P::Target(grain) => {
                metric.target = self.calendar_grain(grain);
                metric.target_span = Some(grain.span);
            }
            P::Buckets { expr, edges } => {
                let mut reads = Reads::default();
                let expr = self.expr(expr, Place::Buckets, &mut reads);
                let edges =
                    edges.iter().map(|e| self.expr(e, Place::Buckets, &mut reads)).collect();
                unknown.extend(reads.unknown);
                metric.buckets = Some(Buckets { expr, edges, columns: reads.columns });
            }
            P::Per { keys, having } => {
                let keys = self.axes(keys, "`per`");
                let mut reads = Reads::default();
                let having = self.expr(having, Place::Having, &mut reads);
                unknown.extend(reads.unknown);
                metric.per = Some(Per { keys, having, columns: reads.columns });
            }
            P::Unit(unit) => {
                metric.unit = Some(match unit {
                    ast::Unit::Name(name) => name.name.clone(),
                    ast::Unit::Text(text) => text.value.clone(),
                });
            }
            P::Format(format) => {
                metric.format = MetricFormat::from_word(&format.name);
                if metric.format.is_none() {
                    self.unknown_word(
                        codes::UNKNOWN_KEYWORD_VALUE,
                        "metric format",
                        format,
                        MetricFormat::WORDS,
                    );
                }
            }
            _ => {}
        }
    }

    fn measure(
        &mut self,
        expr: &ast::Expr,
        filter: Option<&ast::Expr>,
        unknown: &mut Vec<Ident>,
    ) -> Measure {
        let mut reads = Reads::default();
        let expr = self.expr(expr, Place::Measure, &mut reads);
        let filter = filter.map(|filter| self.expr(filter, Place::Filter, &mut reads));
        unknown.extend(reads.unknown);
        if let Some(&first) = reads.calendar_days.first() {
            let problem = if !reads.columns.is_empty() {
                Some(("`calendar_days()` in a measure over a source's rows", "the rows have no period yet: the days are counted per cell of a derived metric"))
            } else if reads.metrics.is_empty() {
                Some((
                    "A measure of nothing but `calendar_days()` measures nothing",
                    "it would publish the calendar, not a measurement",
                ))
            } else {
                None
            };
            if let Some((message, label)) = problem {
                self.push(
                    Diagnostic::error(codes::CALENDAR_DAYS_MISPLACED, message, first)
                        .label(label)
                        .help("give the rows a metric of their own and divide it in a derived metric: `metric per_day = arrivals / calendar_days()`"),
                );
            }
        }
        Measure { expr, filter, columns: reads.columns, metrics: reads.metrics }
    }

    /// Every `source.column` a metric names comes from one source (T0209), which becomes the
    /// metric's source.
    fn one_source(&mut self, metric: &mut Metric) {
        let mut columns: Vec<(&str, crate::span::Span)> = Vec::new();
        fn axis_column(axis: &Axis) -> Option<(&str, crate::span::Span)> {
            match axis {
                Axis::Column { source, span, .. } => Some((source.as_str(), *span)),
                _ => None,
            }
        }
        if let Some(measure) = &metric.measure {
            columns.extend(measure.columns.iter().map(|c| (c.source.as_str(), c.span)));
        }
        columns.extend(metric.time.iter().map(|c| (c.source.as_str(), c.span)));
        columns.extend(metric.by.iter().filter_map(axis_column));
        columns.extend(metric.top.iter().filter_map(|t| axis_column(&t.by)));
        if let Some(buckets) = &metric.buckets {
            columns.extend(buckets.columns.iter().map(|c| (c.source.as_str(), c.span)));
        }
        if let Some(per) = &metric.per {
            columns.extend(per.keys.iter().filter_map(axis_column));
            columns.extend(per.columns.iter().map(|c| (c.source.as_str(), c.span)));
        }
        let Some(&(first, first_span)) = columns.first() else { return };
        if let Some(&(other, other_span)) = columns.iter().find(|(s, _)| *s != first) {
            let d = Diagnostic::error(
                codes::METRIC_READS_TWO_SOURCES,
                format!("Metric `{}` reads two sources, `{first}` and `{other}`", metric.meta.name),
                other_span,
            )
            .label(format!("reads `{other}`"))
            .secondary(first_span, format!("reads `{first}`"))
            .help("a metric reads one source: give each source its own metric, then combine them in a derived metric (`metric ratio = a / b`)");
            self.push(d);
        }
        metric.source = Some(first.to_string());
    }

    // ------------------------------------------------------------ marts and reports

    pub(super) fn mart(&mut self, declaration: &Declaration) -> Mart {
        let mut mart = Mart { meta: self.meta(declaration), ..Mart::default() };
        let owner = format!("mart `{}`", declaration.name.name);
        for property in properties(declaration) {
            match &property.value {
                P::Kind(kind) => {
                    mart.kind = MartKind::from_word(&kind.name);
                    if mart.kind.is_none() {
                        self.unknown_word(
                            codes::UNKNOWN_KEYWORD_VALUE,
                            "mart kind",
                            kind,
                            MartKind::WORDS,
                        );
                    }
                }
                P::Metrics(metrics) => {
                    mart.metrics = self.declarations_list(metrics, DeclKind::Metric, &owner);
                }
                P::Dimensions(paths) => {
                    mart.dimensions = self.axes(paths, &owner);
                }
                P::Grain(grain) => mart.grain = self.calendar_grain(grain),
                P::Drill { source, columns } => {
                    let unique = self.unique(columns, codes::DUPLICATE_MEMBER, |c| {
                        format!("Drill column `{c}` is listed twice")
                    });
                    let Some(source) = self.declaration(source, DeclKind::Source) else { continue };
                    let known: Vec<&Ident> =
                        unique.into_iter().filter(|c| self.column_of(&source.name, c)).collect();
                    mart.drill = Some(Drill {
                        source: source.name,
                        columns: known.iter().map(|c| c.name.clone()).collect(),
                        column_spans: known.iter().map(|c| c.span).collect(),
                        span: property.span,
                    });
                }
                P::Retention(rule) => {
                    let Some(found) = self.declaration(rule, DeclKind::Retention) else { continue };
                    let keeps = self.model.retention_rules.get(&found.name).and_then(|r| r.keep);
                    if keeps.is_none() {
                        self.push(
                            Diagnostic::error(
                                codes::MART_RETENTION_WITHOUT_KEEP,
                                format!("Retention rule `{}` has no `keep`", rule.name),
                                rule.span,
                            )
                            .label("a mart's cells are kept by the age of their period")
                            .help(format!(
                                "add `keep <duration>` (and `archive <duration>`) to `{}`, or name a rule that has one",
                                rule.name
                            )),
                        );
                        continue;
                    }
                    mart.retention = Some(found.name);
                }
                _ => {}
            }
        }
        self.require(declaration, "kind");
        self.require(declaration, "metrics");
        self.calendar_days_need_time(&mart);
        mart
    }

    /// `window to date <grain>` / `window last <duration>`, checked for what it can mean on
    /// its own (T0313); where it may appear is checked with the whole metric.
    fn window(&mut self, spec: &ast::WindowSpec) -> Option<Window> {
        match spec {
            ast::WindowSpec::ToDate(ident) => {
                let grain = self.calendar_grain(ident)?;
                if matches!(grain, Grain::Hour | Grain::QuarterHour) {
                    self.push(
                        Diagnostic::error(
                            codes::INVALID_WINDOW,
                            format!("A window to date is at least a day, not `{}`", ident.name),
                            ident.span,
                        )
                        .label("finer than a day")
                        .help("use `to date day` or a coarser grain, such as `to date month`"),
                    );
                    return None;
                }
                Some(Window::ToDate(grain))
            }
            ast::WindowSpec::Last(duration) => {
                let unit = TimeUnit::from_word(&duration.unit.name);
                let n = duration.amount.value;
                let period = match unit {
                    Some(TimeUnit::Day) => Some(Period::Days(n)),
                    Some(TimeUnit::Week) => n.checked_mul(7).map(Period::Days),
                    Some(TimeUnit::Month) => Some(Period::Months(n)),
                    Some(TimeUnit::Year) => n.checked_mul(12).map(Period::Months),
                    Some(TimeUnit::Minute | TimeUnit::Hour) | None => None,
                };
                // Each row is copied into every period a window may end in: up to 10 years.
                let fits = |p: &Period| match p {
                    Period::Days(d) => (1..=3_660).contains(d),
                    Period::Months(m) => (1..=120).contains(m),
                };
                match period.filter(fits) {
                    Some(period) => Some(Window::Last(period)),
                    None => {
                        self.push(
                            Diagnostic::error(
                                codes::INVALID_WINDOW,
                                format!("`window last {} {}` is no window of whole days", n, duration.unit.name),
                                duration.span,
                            )
                            .label("a window counts days, weeks, months or years, from a day to 10 years")
                            .help("write a length such as `last 7 days`, `last 4 weeks` or `last 12 months`"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// T0312: a mart without a time axis publishes no periods, so a metric of it that counts
    /// the calendar days of its cells' periods would have no value.
    fn calendar_days_need_time(&mut self, mart: &Mart) {
        if mart.dimensions.iter().any(|a| matches!(a, Axis::Time { .. })) {
            return;
        }
        for m in &mart.metrics {
            let Some(metric) = self.model.metrics.get(&m.name) else { continue };
            let Some(call) = metric.measure.as_ref().and_then(|x| calendar_days_call(&x.expr))
            else {
                continue;
            };
            self.push(
                Diagnostic::error(
                    codes::CALENDAR_DAYS_MISPLACED,
                    format!(
                        "Mart `{}` has no time axis, so `{}` has no calendar days to count",
                        mart.meta.name, m.name
                    ),
                    m.span,
                )
                .label("its cells have no period")
                .secondary(call, "counts the days of a cell's period")
                .help("add `time` (or `time.<grain>`) to the mart's `dimensions`"),
            );
        }
    }

    pub(super) fn report(&mut self, declaration: &Declaration) -> Report {
        let mut report = Report { meta: self.meta(declaration), ..Report::default() };
        let owner = format!("report `{}`", declaration.name.name);
        for property in properties(declaration) {
            match &property.value {
                P::Mart(mart) => {
                    report.mart = self.declaration(mart, DeclKind::Mart);
                }
                P::Metrics(metrics) => {
                    report.metrics = self.declarations_list(metrics, DeclKind::Metric, &owner);
                }
                P::By(paths) => report.by = self.axes(paths, "`by`"),
                P::Grain(grain) => {
                    report.grain = self.calendar_grain(grain);
                }
                _ => {}
            }
        }
        self.require(declaration, "metrics");
        report
    }

    // ------------------------------------------------------------ roles

    pub(super) fn role(&mut self, declaration: &Declaration) -> Role {
        let mut role = Role { meta: self.meta(declaration), ..Role::default() };
        let owner = format!("role `{}`", declaration.name.name);
        for property in properties(declaration) {
            match &property.value {
                P::Marts(marts) => {
                    role.marts = self.declarations_list(marts, DeclKind::Mart, &owner)
                }
                P::Metrics(metrics) => {
                    role.metrics = self.declarations_list(metrics, DeclKind::Metric, &owner);
                }
                P::Reports(reports) => {
                    role.reports = self.declarations_list(reports, DeclKind::Report, &owner);
                }
                P::Scope(scope) => role.scope = self.scope(scope),
                P::Allow(privileges) => {
                    let unique = self.unique(privileges, codes::DUPLICATE_MEMBER, |p| {
                        format!("`{p}` is allowed twice")
                    });
                    role.allow = unique
                        .into_iter()
                        .filter_map(|p| {
                            let privilege = Privilege::from_word(&p.name);
                            if privilege.is_none() {
                                self.unknown_word(
                                    codes::UNKNOWN_KEYWORD_VALUE,
                                    "privilege",
                                    p,
                                    Privilege::WORDS,
                                );
                            }
                            privilege
                        })
                        .collect();
                }
                P::MinCellSize(size) => {
                    if size.value == 0 {
                        self.push(
                            Diagnostic::error(
                                codes::INVALID_NUMBER,
                                "`min_cell_size` must be at least 1",
                                size.span,
                            )
                            .label("zero would publish every cell")
                            .help(format!(
                                "use the agency's threshold, {} by default",
                                Role::DEFAULT_MIN_CELL_SIZE
                            )),
                        );
                    } else {
                        role.min_cell_size = size.value;
                    }
                }
                _ => {}
            }
        }
        self.require(declaration, "scope");
        role
    }

    fn scope(&mut self, scope: &ast::Scope) -> Option<Scope> {
        let (level_path, attribute_path) = match scope {
            ast::Scope::National { .. } => return Some(Scope::National),
            ast::Scope::Bound { level, attribute } => (level, attribute),
        };
        let level = self.level_path(level_path, "A scope");
        let attribute = self.user_attribute(attribute_path, level_path)?;
        let level = level?;
        if attribute.references.is_none() && attribute.reference_span.is_some() {
            // Its reference did not resolve, which was reported where it is declared.
            return None;
        }
        let binds_level = attribute
            .references
            .as_ref()
            .is_some_and(|r| r.dimension == level.dimension && r.level == level.level);
        if !binds_level {
            let scoped = format!("{}.{}", level.dimension, level.level);
            let mut d = Diagnostic::error(
                codes::SCOPE_ATTRIBUTE_MISMATCH,
                format!(
                    "The scope compares `{scoped}` with `user.{}`, which holds no member of it",
                    attribute.name
                ),
                attribute_path.span,
            )
            .secondary(level.span, "the scope's level");
            d = match &attribute.references {
                Some(other) => d
                    .label(format!("members of `{}.{}`", other.dimension, other.level))
                    .secondary(other.span, "the attribute is declared to hold these"),
                None => d
                    .label("names no dimension level")
                    .secondary(attribute.span, "declared without `-> dimension.level`"),
            };
            let fitting: Vec<String> = self
                .model
                .user_attributes
                .values()
                .filter(|a| {
                    a.references
                        .as_ref()
                        .is_some_and(|r| r.dimension == level.dimension && r.level == level.level)
                })
                .map(|a| format!("`user.{}`", a.name))
                .collect();
            let help = match fitting.as_slice() {
                [] => format!(
                    "bind the scope to an attribute declared `<name> string -> {scoped}` in the `users` block"
                ),
                some => format!("bind the scope to {}", some.join(" or ")),
            };
            self.push(d.help(help));
            return None;
        }
        Some(Scope::Bound {
            dimension: level.dimension,
            level: level.level,
            attribute: attribute.name,
            span: level.span,
        })
    }

    /// `user.<attribute>`, a declared attribute: T0208 for anything else. `level` is the
    /// scope's other side, for the help.
    fn user_attribute(&mut self, path: &ast::Path, level: &ast::Path) -> Option<UserAttribute> {
        let declare = |name: &str| {
            format!(
                "declare it in the project's `users` block: `users {{ attributes {{ {name} string -> {} }} }}`",
                level.dotted()
            )
        };
        match path.segments.as_slice() {
            [user, attribute] if user.name == "user" => {
                if let Some(found) = self.model.user_attributes.get(&attribute.name) {
                    return Some(found.clone());
                }
                let names: Vec<&str> =
                    self.model.user_attributes.keys().map(String::as_str).collect();
                let help = match crate::diagnostic::suggest(&attribute.name, names.iter().copied())
                {
                    Some(best) => format!("did you mean `user.{best}`?"),
                    None if names.is_empty() => declare(&attribute.name),
                    None => format!(
                        "{}, or {}",
                        crate::diagnostic::did_you_mean(&attribute.name, &names, "user attribute"),
                        declare(&attribute.name)
                    ),
                };
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_USER_ATTRIBUTE,
                        format!("Unknown user attribute `{}`", attribute.name),
                        attribute.span,
                    )
                    .label("not declared in the `users` block")
                    .secondary(level.span, "the scope's level")
                    .help(help),
                );
                None
            }
            [first, ..] => {
                let label = if path.segments.len() == 2 {
                    format!("`{}` is not `user`", first.name)
                } else {
                    "expected `user.<attribute>`".to_string()
                };
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_USER_ATTRIBUTE,
                        format!(
                            "A scope binds to an attribute of the user, not `{}`",
                            path.dotted()
                        ),
                        path.span,
                    )
                    .label(label)
                    .secondary(level.span, "the scope's level")
                    .help("bind the scope to a declared attribute: `user.<attribute>`"),
                );
                None
            }
            [] => None,
        }
    }
}

/// How a column type is named in messages.
fn type_name(ty: &ColumnType) -> String {
    match ty {
        ColumnType::String => "`string`".into(),
        ColumnType::Int => "`int`".into(),
        ColumnType::Decimal { precision, scale } => format!("`decimal({precision}, {scale})`"),
        ColumnType::Bool => "`bool`".into(),
        ColumnType::Date => "`date`".into(),
        ColumnType::Timestamp => "`timestamp`".into(),
        ColumnType::Enum(_) => "an `enum`".into(),
    }
}

pub(super) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// A literal, or a negated number, as one literal value.
fn constant(expr: &ast::Expr) -> Option<ast::Literal> {
    match &expr.kind {
        ast::ExprKind::Literal(literal) => Some(literal.clone()),
        ast::ExprKind::Neg(inner) => match &inner.kind {
            ast::ExprKind::Literal(ast::Literal::Int(digits)) => {
                Some(ast::Literal::Int(format!("-{digits}")))
            }
            ast::ExprKind::Literal(ast::Literal::Decimal(digits)) => {
                Some(ast::Literal::Decimal(format!("-{digits}")))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Where `expr` calls `calendar_days()`, if it does.
fn calendar_days_call(expr: &super::expr::Expr) -> Option<crate::span::Span> {
    let mut found = None;
    expr.walk(|e| {
        if found.is_none()
            && matches!(e.node, super::expr::Node::Call { function: Function::CalendarDays, .. })
        {
            found = Some(e.span);
        }
    });
    found
}
