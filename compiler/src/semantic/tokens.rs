//! Checks of the values the grammar takes as bare words and numbers: column types, schedules,
//! cron expressions, periods, landing formats and options, weekdays, months and grains.
//!
//! The grammar accepts any name in these places on purpose (see [`crate::syntax::ast`]), so
//! that this stage can list the valid words and suggest the nearest one.

use super::model::*;
use super::{cover, Analyzer};
use crate::diagnostic::{codes, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::{self, Ident, TimeUnit, TypeArg};
use crate::syntax::keywords;
use indexmap::IndexMap;
use tally_contract::cron::{CronError, CronExpr, Field};
use tally_contract::schedule::Form;

/// The column type names, as listed in help.
const TYPE_NAMES: &[&str] = &["string", "int", "decimal", "bool", "date", "timestamp", "enum"];

/// Type names from SQL and other languages, mapped to Tally's, so `varchar` suggests `string`
/// even though the two are not spelled alike.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("str", "string"),
    ("text", "string"),
    ("varchar", "string"),
    ("char", "string"),
    ("integer", "int"),
    ("bigint", "int"),
    ("smallint", "int"),
    ("long", "int"),
    ("numeric", "decimal"),
    ("number", "decimal"),
    ("money", "decimal"),
    ("float", "decimal"),
    ("double", "decimal"),
    ("boolean", "bool"),
    ("datetime", "timestamp"),
    ("timestamptz", "timestamp"),
    ("time", "timestamp"),
];

/// The largest precision of a `decimal`, the common limit of DuckDB and PostgreSQL numerics
/// with a fixed scale.
const MAX_PRECISION: u64 = 38;

const CSV_OPTIONS: &[&str] = &["delimiter", "header", "quote", "null", "skip"];
const XLSX_OPTIONS: &[&str] = &["sheet", "skip"];

/// Retention periods are counted in days or more: rows are purged by a daily job.
const RETENTION_UNITS: &[&str] = &["days", "weeks", "months", "years"];

/// A number the syntax stage already reported as too large (T0111) and replaced by this.
pub(super) fn already_reported(n: u64) -> bool {
    n == u64::MAX
}

impl Analyzer<'_> {
    // ------------------------------------------------------------ column types

    /// `string`, `decimal(12, 2)`, `enum(drug, currency)`. `None` when the type is unusable.
    pub(super) fn column_type(&mut self, ty: &ast::ColumnType) -> Option<ColumnType> {
        let name = ty.name.name.as_str();
        let args_span = cover(ty.args.iter().map(TypeArg::span));
        let scalar = match name {
            "string" => Some(ColumnType::String),
            "int" => Some(ColumnType::Int),
            "bool" => Some(ColumnType::Bool),
            "date" => Some(ColumnType::Date),
            "timestamp" => Some(ColumnType::Timestamp),
            _ => None,
        };
        if let Some(scalar) = scalar {
            if let Some(span) = args_span {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_TYPE_ARGUMENTS,
                        format!("`{name}` takes no arguments"),
                        span,
                    )
                    .label("unexpected arguments")
                    .help(format!("write the type as `{name}`")),
                );
            }
            return Some(scalar);
        }
        match name {
            "decimal" => self.decimal(ty, args_span),
            "enum" => self.enumeration(ty),
            _ => {
                self.unknown_word_or_alias(
                    codes::UNKNOWN_TYPE,
                    "column type",
                    &ty.name,
                    TYPE_NAMES,
                    TYPE_ALIASES,
                );
                if let Some(last) = self.diagnostics.last_mut() {
                    let types = "column types: `string`, `int`, `decimal(p, s)`, `bool`, `date`, \
                                 `timestamp`, `enum(a, b, ...)`";
                    last.notes.push(types.to_string());
                }
                None
            }
        }
    }

    fn decimal(&mut self, ty: &ast::ColumnType, args_span: Option<Span>) -> Option<ColumnType> {
        let bad = |message: String, label: String, span: Span| {
            Diagnostic::error(codes::INVALID_TYPE_ARGUMENTS, message, span)
                .label(label)
                .help("write `decimal(p, s)` with a precision p from 1 to 38 and a scale s from 0 to p, e.g. `decimal(12, 2)`")
        };
        let (precision, scale) = match ty.args.as_slice() {
            [TypeArg::Int(p), TypeArg::Int(s)] => (p, s),
            [] => {
                self.push(bad(
                    "`decimal` needs a precision and a scale".into(),
                    "no precision or scale".into(),
                    ty.span,
                ));
                return None;
            }
            args => {
                let span = args_span.unwrap_or(ty.span);
                let label = match args.iter().find(|a| !matches!(a, TypeArg::Int(_))) {
                    Some(_) => "precision and scale are whole numbers".to_string(),
                    None => format!("{} arguments", args.len()),
                };
                self.push(bad(
                    "`decimal` takes two numbers: precision and scale".into(),
                    label,
                    span,
                ));
                return None;
            }
        };
        if already_reported(precision.value) || already_reported(scale.value) {
            return None;
        }
        if !(1..=MAX_PRECISION).contains(&precision.value) {
            self.push(bad(
                format!("Decimal precision {} is out of range", precision.value),
                "precision must be from 1 to 38".into(),
                precision.span,
            ));
            return None;
        }
        if scale.value > precision.value {
            self.push(
                bad(
                    format!("Decimal scale {} is larger than its precision", scale.value),
                    format!("scale must be from 0 to {}", precision.value),
                    scale.span,
                )
                .secondary(precision.span, "precision"),
            );
            return None;
        }
        // Both are at most 38 here, so the conversions cannot fail.
        let precision = u8::try_from(precision.value).ok()?;
        let scale = u8::try_from(scale.value).ok()?;
        Some(ColumnType::Decimal { precision, scale })
    }

    fn enumeration(&mut self, ty: &ast::ColumnType) -> Option<ColumnType> {
        if ty.args.is_empty() {
            self.push(
                Diagnostic::error(codes::INVALID_ENUM, "`enum` needs at least one value", ty.span)
                    .label("no values")
                    .help("list the values: `enum(drug, currency, merchandise)`"),
            );
            return None;
        }
        let mut values: IndexMap<String, Span> = IndexMap::new();
        let mut ok = true;
        for arg in &ty.args {
            let (value, span) = match arg {
                TypeArg::Name(n) => (n.name.clone(), n.span),
                TypeArg::String(s) => (s.value.clone(), s.span),
                TypeArg::Int(i) => {
                    self.push(
                        Diagnostic::error(
                            codes::INVALID_TYPE_ARGUMENTS,
                            "Enum values are names or strings",
                            i.span,
                        )
                        .label("a number")
                        .help(format!("quote it: `'{}'`", i.value)),
                    );
                    ok = false;
                    continue;
                }
            };
            if let Some(first) = values.get(&value) {
                self.push(
                    Diagnostic::error(
                        codes::INVALID_ENUM,
                        format!("Enum value `{value}` is listed twice"),
                        span,
                    )
                    .label("listed again here")
                    .secondary(*first, "first listed here")
                    .help("list each value once"),
                );
                continue;
            }
            values.insert(value, span);
        }
        ok.then(|| ColumnType::Enum(values.into_keys().collect()))
    }

    // ------------------------------------------------------------ schedules

    /// `refresh ...`, normalized and checked into the contract's [`Schedule`] (which knows
    /// when it fires and how fresh it keeps a source). `None` (reported) when the schedule
    /// names no real time. `span` is the property's.
    pub(super) fn schedule(&mut self, schedule: &ast::Schedule, span: Span) -> Option<Schedule> {
        let form = match schedule {
            ast::Schedule::Every { amount, unit } => self.every(amount, unit)?,
            ast::Schedule::Hourly => Form::EveryHours { hours: 1 },
            ast::Schedule::Daily { at } => {
                let (hour, minute) = self.clock(at.as_ref())?;
                Form::Daily { hour, minute }
            }
            ast::Schedule::Weekly { day, at } => {
                let weekday = self.weekday(day);
                let (hour, minute) = self.clock(at.as_ref())?;
                Form::Weekly { weekday: weekday?.to_contract(), hour, minute }
            }
            ast::Schedule::Cron(expression) => return self.cron(expression),
        };
        match Schedule::new(form) {
            Ok(schedule) => Some(schedule),
            Err(error) => {
                // The checks above are the contract's, explained: a form they pass is valid.
                self.push(
                    Diagnostic::error(
                        codes::INTERNAL,
                        format!("Internal error: a checked schedule was refused: {error}"),
                        span,
                    )
                    .label("this schedule"),
                );
                None
            }
        }
    }

    fn every(&mut self, amount: &ast::Int, unit: &Ident) -> Option<Form> {
        let Some(time_unit) = TimeUnit::from_word(&unit.name) else {
            self.unknown_word(codes::UNKNOWN_TIME_UNIT, "time unit", unit, &["minutes", "hours"]);
            return None;
        };
        let n = amount.value;
        if already_reported(n) {
            return None;
        }
        let invalid = |message: String, label: String, help: String| {
            Diagnostic::error(codes::INVALID_SCHEDULE, message, amount.span.to(unit.span))
                .label(label)
                .help(help)
        };
        let written = format!("every {n} {}", time_unit.word(n));
        match time_unit {
            TimeUnit::Minute if (1..=59).contains(&n) && 60 % n == 0 => {
                u32::try_from(n).ok().map(|minutes| Form::EveryMinutes { minutes })
            }
            TimeUnit::Hour if (1..=23).contains(&n) && 24 % n == 0 => {
                u32::try_from(n).ok().map(|hours| Form::EveryHours { hours })
            }
            TimeUnit::Minute => {
                let label = match n {
                    0 => "zero minutes",
                    1..=59 => "does not divide the hour",
                    _ => "an hour or more",
                };
                let help = if n > 0 && n % 60 == 0 && 24 % (n / 60) == 0 {
                    match n / 60 {
                        1 => "write `refresh hourly`".to_string(),
                        24 => "write `refresh daily`".to_string(),
                        hours => format!("write `refresh every {hours} hours`"),
                    }
                } else {
                    "use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes, or a `cron \"...\"` schedule"
                        .to_string()
                };
                self.push(invalid(
                    format!("`{written}` is not a refresh schedule"),
                    label.into(),
                    help,
                ));
                None
            }
            TimeUnit::Hour => {
                let label = match n {
                    0 => "zero hours",
                    1..=23 => "does not divide the day",
                    24 => "that is once a day",
                    _ => "more than a day",
                };
                let help = if n == 24 {
                    "write `refresh daily`".to_string()
                } else {
                    "use 1, 2, 3, 4, 6, 8 or 12 hours, `daily`, or a `cron \"...\"` schedule"
                        .to_string()
                };
                self.push(invalid(
                    format!("`{written}` is not a refresh schedule"),
                    label.into(),
                    help,
                ));
                None
            }
            TimeUnit::Day | TimeUnit::Week | TimeUnit::Month | TimeUnit::Year => {
                self.push(invalid(
                    format!("`every` counts minutes or hours, not {}", time_unit.word(2)),
                    format!("{} are too coarse for `every`", time_unit.word(2)),
                    "write `refresh daily at 06:00`, `refresh weekly on sunday`, or a `cron \"...\"` schedule"
                        .into(),
                ));
                None
            }
        }
    }

    /// `at HH:MM`; midnight when absent.
    fn clock(&mut self, at: Option<&ast::ClockTime>) -> Option<(u32, u32)> {
        let Some(at) = at else { return Some((0, 0)) };
        if at.hour <= 23 && at.minute <= 59 {
            return Some((at.hour, at.minute));
        }
        let label =
            if at.hour > 23 { "hours run from 00 to 23" } else { "minutes run from 00 to 59" };
        self.push(
            Diagnostic::error(
                codes::INVALID_SCHEDULE,
                format!("`{:02}:{:02}` is not a time of day", at.hour, at.minute),
                at.span,
            )
            .label(label)
            .help("use a time from 00:00 to 23:59"),
        );
        None
    }

    /// A POSIX cron expression, read by the contract ([`CronExpr`]): five fields, Sunday is 0
    /// or 7, `?` in a day field is `*`. A field that does not read is labelled with its reason;
    /// an expression that never fires (`0 5 31 2 *`) is its own error, on its day and month.
    fn cron(&mut self, expression: &ast::StringLit) -> Option<Schedule> {
        let error = match CronExpr::parse(&expression.value) {
            Ok(expr) => return Some(Schedule::from(expr)),
            Err(error) => error,
        };
        let fields = fields_with_offsets(&expression.value);
        let help = "write five fields: minute hour day-of-month month day-of-week, e.g. \
                    `cron \"*/15 * * * *\"`";
        let diagnostic = match error {
            CronError::FieldCount { found } => Diagnostic::error(
                codes::INVALID_CRON,
                format!("A cron expression has 5 fields, this one has {found}"),
                expression.span,
            )
            .label("expected minute, hour, day of month, month, day of week")
            .help(help),
            CronError::Field { field, reason } => Diagnostic::error(
                codes::INVALID_CRON,
                format!("Invalid {} in cron expression", field.name()),
                field_span(expression, &fields, field.index()..=field.index()),
            )
            .label(reason)
            .help(help),
            CronError::Never { reason } => Diagnostic::error(
                codes::CRON_NEVER_FIRES,
                format!("Cron schedule `{}` never fires", words(&fields)),
                field_span(expression, &fields, Field::DayOfMonth.index()..=Field::Month.index()),
            )
            .label(reason)
            .help(
                "choose days of month that the chosen months have (February has 28, and 29 in \
                 leap years), or add a day of week: when both day fields are restricted, a day \
                 matching either fires",
            ),
            CronError::Unreadable { reason } => Diagnostic::error(
                codes::INTERNAL,
                format!("Internal error: a checked cron expression was refused: {reason}"),
                expression.span,
            )
            .label("this expression"),
        };
        self.push(diagnostic);
        None
    }

    // ------------------------------------------------------------ calendar words

    /// A weekday, in full or as its first three letters.
    pub(super) fn weekday(&mut self, ident: &Ident) -> Option<Weekday> {
        let found = Weekday::from_word(&ident.name).or_else(|| {
            Weekday::ALL.iter().copied().find(|w| w.word().get(..3) == Some(&ident.name))
        });
        if found.is_none() {
            self.unknown_word(codes::UNKNOWN_CALENDAR_NAME, "weekday", ident, Weekday::WORDS);
        }
        found
    }

    /// A month, in full or as its first three letters.
    pub(super) fn month(&mut self, ident: &Ident) -> Option<Month> {
        let found = Month::from_word(&ident.name).or_else(|| {
            Month::ALL.iter().copied().find(|m| m.word().get(..3) == Some(&ident.name))
        });
        if found.is_none() {
            self.unknown_word(codes::UNKNOWN_CALENDAR_NAME, "month", ident, Month::WORDS);
        }
        found
    }

    /// A grain word (`grain day`, `compare previous fiscal_year`, calendar `grains`).
    pub(super) fn grain_word(&mut self, ident: &Ident) -> Option<Grain> {
        let found = Grain::from_word(&ident.name);
        if found.is_none() {
            self.unknown_word(codes::UNKNOWN_KEYWORD_VALUE, "grain", ident, Grain::WORDS);
        }
        found
    }

    // ------------------------------------------------------------ periods

    /// A retention period (`keep 7 years`, `retain 6 years`), normalized. `what` names the
    /// property in messages.
    pub(super) fn period(&mut self, duration: &ast::Duration, what: &str) -> Option<Period> {
        let unit = &duration.unit;
        let Some(time_unit) = TimeUnit::from_word(&unit.name) else {
            self.unknown_word(codes::UNKNOWN_TIME_UNIT, "time unit", unit, RETENTION_UNITS);
            return None;
        };
        let n = duration.amount.value;
        if already_reported(n) {
            return None;
        }
        let period = match time_unit {
            TimeUnit::Minute | TimeUnit::Hour => {
                self.push(
                    Diagnostic::error(
                        codes::UNKNOWN_TIME_UNIT,
                        format!("`{what}` is counted in days, weeks, months or years"),
                        unit.span,
                    )
                    .label(format!("{} are too fine for retention", time_unit.word(2)))
                    .help("rows are purged once a day: give the period in days or longer"),
                );
                return None;
            }
            TimeUnit::Day => Some(Period::Days(n)),
            TimeUnit::Week => n.checked_mul(7).map(Period::Days),
            TimeUnit::Month => Some(Period::Months(n)),
            TimeUnit::Year => n.checked_mul(12).map(Period::Months),
        };
        let Some(period) = period else {
            self.push(
                Diagnostic::error(codes::INVALID_NUMBER, "Period too long", duration.span)
                    .label("does not fit in 64 bits")
                    .help("use a shorter period, or `retain forever`"),
            );
            return None;
        };
        if n == 0 {
            self.push(
                Diagnostic::error(
                    codes::INVALID_NUMBER,
                    format!("`{what}` must be longer than zero"),
                    duration.span,
                )
                .label("a zero period")
                .help(format!(
                    "give a period of at least one day, e.g. `{}`",
                    keywords::forms(what).split(" | ").next().unwrap_or(what)
                )),
            );
            return None;
        }
        Some(period)
    }

    // ------------------------------------------------------------ landing

    /// `landing "pattern" as format (options)`. `None` when the format is unknown.
    pub(super) fn landing(&mut self, landing: &ast::Landing) -> Option<Landing> {
        let format = LandingFormat::from_word(&landing.format.name);
        if format.is_none() {
            self.unknown_word(
                codes::UNKNOWN_FORMAT,
                "landing format",
                &landing.format,
                LandingFormat::WORDS,
            );
        }
        let csv = match format {
            Some(LandingFormat::Csv) => Some(self.csv_options(&landing.options)),
            Some(LandingFormat::Xlsx) => None,
            Some(other) => {
                if let Some(span) =
                    cover(landing.options.iter().map(|o| o.name.span.to(o.value.span)))
                {
                    self.push(
                        Diagnostic::error(
                            codes::UNKNOWN_KEYWORD_VALUE,
                            format!("`{}` landing takes no options", other.word()),
                            span,
                        )
                        .label("options apply to csv and xlsx only")
                        .help("remove the options"),
                    );
                }
                None
            }
            None => None,
        };
        let xlsx =
            (format == Some(LandingFormat::Xlsx)).then(|| self.xlsx_options(&landing.options));
        Some(Landing { pattern: landing.pattern.value.clone(), format: format?, csv, xlsx })
    }

    fn xlsx_options(&mut self, options: &[ast::LandingOption]) -> XlsxOptions {
        let mut xlsx = XlsxOptions::default();
        let names: Vec<&Ident> = options.iter().map(|o| &o.name).collect();
        self.unique(names, codes::DUPLICATE_MEMBER, |n| {
            format!("Landing option `{n}` is given twice")
        });
        for option in options {
            let ast::ExprKind::Literal(value) = &option.value.kind else { continue };
            let wrong = |form: &str, example: &str| {
                Diagnostic::error(
                    codes::UNKNOWN_KEYWORD_VALUE,
                    format!("Landing option `{}` takes {form}", option.name.name),
                    option.value.span,
                )
                .label("not a valid value")
                .help(format!("write `{} = {example}`", option.name.name))
            };
            match (option.name.name.as_str(), value) {
                ("sheet", ast::Literal::String(s)) if !s.is_empty() => xlsx.sheet = Some(s.clone()),
                ("sheet", _) => self.push(wrong("the name of a sheet", "\"Sheet1\"")),
                ("skip", ast::Literal::Int(digits)) => match digits.parse::<u64>() {
                    Ok(n) => xlsx.skip = n,
                    Err(_) => self.push(wrong("a number of rows", "1")),
                },
                ("skip", _) => self.push(wrong("a number of rows", "1")),
                _ => self.unknown_word(
                    codes::UNKNOWN_KEYWORD_VALUE,
                    "xlsx option",
                    &option.name,
                    XLSX_OPTIONS,
                ),
            }
        }
        xlsx
    }

    fn csv_options(&mut self, options: &[ast::LandingOption]) -> CsvOptions {
        let mut csv = CsvOptions::default();
        let names: Vec<&Ident> = options.iter().map(|o| &o.name).collect();
        self.unique(names, codes::DUPLICATE_MEMBER, |n| {
            format!("Landing option `{n}` is given twice")
        });
        for option in options {
            let value = match &option.value.kind {
                ast::ExprKind::Literal(literal) => literal,
                // The grammar only takes literals here.
                _ => continue,
            };
            let wrong = |form: &str| {
                Diagnostic::error(
                    codes::UNKNOWN_KEYWORD_VALUE,
                    format!("Landing option `{}` takes {form}", option.name.name),
                    option.value.span,
                )
                .label("not a valid value")
                .help(format!(
                    "write `{} = {}`",
                    option.name.name,
                    example_option(&option.name.name)
                ))
            };
            match (option.name.name.as_str(), value) {
                ("delimiter", ast::Literal::String(s)) => match one_char(s) {
                    Some(c) => csv.delimiter = c,
                    None => self.push(wrong("one character")),
                },
                ("quote", ast::Literal::String(s)) => match one_char(s) {
                    Some(c) => csv.quote = c,
                    None => self.push(wrong("one character")),
                },
                ("null", ast::Literal::String(s)) => csv.null.clone_from(s),
                ("header", ast::Literal::Bool(b)) => csv.header = *b,
                ("skip", ast::Literal::Int(digits)) => match digits.parse::<u64>() {
                    Ok(n) => csv.skip = n,
                    Err(_) => self.push(wrong("a number of lines")),
                },
                ("delimiter" | "quote", _) => self.push(wrong("a one-character string")),
                ("null", _) => self.push(wrong("a string")),
                ("header", _) => self.push(wrong("`true` or `false`")),
                ("skip", _) => self.push(wrong("a number of lines")),
                _ => self.unknown_word(
                    codes::UNKNOWN_KEYWORD_VALUE,
                    "csv option",
                    &option.name,
                    CSV_OPTIONS,
                ),
            }
        }
        csv
    }
}

/// The whitespace-separated fields of `text`, each with its byte offset.
fn fields_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                fields.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    fields
}

/// The span of some fields of a cron string literal (from the first to the last of `range`),
/// or of the whole literal when a field is missing or the literal has escapes (offsets in the
/// value would not be offsets in the file).
fn field_span(
    literal: &ast::StringLit,
    fields: &[(usize, &str)],
    range: std::ops::RangeInclusive<usize>,
) -> Span {
    let plain = literal.span.len() == literal.value.len() + 2;
    match (fields.get(*range.start()), fields.get(*range.end())) {
        (Some(&(start, _)), Some(&(last, word))) if plain => {
            let base = literal.span.start as usize + 1;
            Span::new(literal.span.file, base + start, base + last + word.len())
        }
        _ => literal.span,
    }
}

/// The fields separated by single spaces, as the plan carries them.
fn words(fields: &[(usize, &str)]) -> String {
    fields.iter().map(|(_, word)| *word).collect::<Vec<_>>().join(" ")
}

fn one_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

fn example_option(name: &str) -> &'static str {
    match name {
        "delimiter" => "\"|\"",
        "quote" => "\"'\"",
        "null" => "\"NULL\"",
        "header" => "false",
        _ => "1",
    }
}
