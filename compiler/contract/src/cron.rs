//! Cron expressions: five POSIX fields, checked once, evaluated by one implementation.
//!
//! [`CronExpr::parse`] accepts the POSIX/Vixie form and nothing else: numbers, `*`, ranges
//! `a-b`, lists `a,b`, steps `*/n`, `a-b/n` and `a/n` (from `a` to the end of the field), month
//! names `jan`-`dec`, weekday names `sun`-`sat` (any case), Sunday as 0 or 7, and `?` for a
//! whole day field, read as `*`. It checks each field itself, so that an error names the field
//! and the reason, then hands the expression to the `croner` crate, which from then on decides
//! what it means. Both answers a schedule gives come from croner:
//!
//! - [`CronExpr::next_after`] is croner's next occurrence;
//! - [`CronExpr::longest_gap_minutes`] walks one whole 400-year cycle of the Gregorian calendar
//!   (146,097 days, a whole number of weeks, after which every date falls on the same weekday
//!   again) through croner's own month and day matching, and the times of day croner parsed.
//!   The answer is exact and the same whenever it is computed: the walk starts at a fixed date,
//!   not at the clock. An expression with no firing day in the cycle never fires, and is refused.
//!
//! As in POSIX, when both the day of month and the day of week are restricted, a day matching
//! either fires (`0 0 1,15 * mon`: the 1st, the 15th and every Monday). A day field counts as
//! unrestricted only when it is `*` or `?`.
//!
//! The extensions croner knows beyond POSIX (`L`, `W`, `#`, a `+` before the day of week, a
//! seconds or year field, `@daily` nicknames) are refused: the plan promises five POSIX fields,
//! which any cron reader understands.

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use std::fmt;

/// One of the five fields, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Field {
    pub const ALL: [Field; 5] =
        [Field::Minute, Field::Hour, Field::DayOfMonth, Field::Month, Field::DayOfWeek];

    /// Its position in the expression, from 0.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day of month",
            Field::Month => "month",
            Field::DayOfWeek => "day of week",
        }
    }

    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    /// What a value of the field is, for messages: "a month (1-12 or jan-dec)".
    fn value_words(self) -> &'static str {
        match self {
            Field::Minute => "a minute (0-59)",
            Field::Hour => "an hour (0-23)",
            Field::DayOfMonth => "a day of month (1-31)",
            Field::Month => "a month (1-12 or jan-dec)",
            Field::DayOfWeek => "a day of week (0-7 or sun-sat, Sunday is 0 or 7)",
        }
    }

    fn range_words(self) -> &'static str {
        match self {
            Field::Minute => "minutes run from 0 to 59",
            Field::Hour => "hours run from 0 to 23",
            Field::DayOfMonth => "days of month run from 1 to 31",
            Field::Month => "months run from 1 to 12",
            Field::DayOfWeek => "days of week run from 0 to 7 (Sunday is 0 or 7)",
        }
    }

    /// The value a name stands for; `end` when it closes a range, where `sun` is 7 so that
    /// `fri-sun` reads forwards.
    fn named(self, word: &str, end: bool) -> Option<u32> {
        let lower = word.to_ascii_lowercase();
        let position = |names: &[&str]| names.iter().position(|n| *n == lower);
        let value = match self {
            Field::Month => position(&MONTHS)? + 1,
            Field::DayOfWeek => match position(&WEEKDAYS)? {
                0 if end => 7,
                day => day,
            },
            _ => return None,
        };
        u32::try_from(value).ok()
    }

    fn is_day(self) -> bool {
        matches!(self, Field::DayOfMonth | Field::DayOfWeek)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a text is not a cron expression Tally accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("a cron expression has 5 fields, this one has {found}")]
    FieldCount { found: usize },
    #[error("{field}: {reason}")]
    Field { field: Field, reason: String },
    /// Every field reads, but together they name no date that exists: `0 5 31 2 *`.
    #[error("never fires: {reason}")]
    Never { reason: String },
    /// The fields passed the POSIX check but croner refused them: a bug in that check.
    #[error("cron expression not understood: {reason}")]
    Unreadable { reason: String },
}

/// A checked cron expression: five POSIX fields that fire at least once.
///
/// Equal when the normalized texts are equal (fields separated by single spaces, otherwise as
/// written).
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    /// Boxed: croner's parsed pattern is a few hundred bytes, a schedule's form is a few words.
    cron: Box<croner::Cron>,
    longest_gap_minutes: u64,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CronExpr {}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CronExpr {
    /// Reads five POSIX cron fields (`*/15 * * * *`), refusing one that never fires.
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::FieldCount { found: fields.len() });
        }
        for (field, word) in Field::ALL.into_iter().zip(&fields) {
            check_field(field, word).map_err(|reason| CronError::Field { field, reason })?;
        }
        let text = fields.join(" ");
        let cron =
            parser().parse(&text).map_err(|e| CronError::Unreadable { reason: e.to_string() })?;
        let Some(longest_gap_minutes) = longest_gap(&cron) else {
            return Err(CronError::Never { reason: never_reason(&cron) });
        };
        Ok(CronExpr { text, cron: Box::new(cron), longest_gap_minutes })
    }

    /// The normalized text: the five fields separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first firing strictly after `t`. `None` only past the year 4990, beyond which
    /// croner does not search.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t.naive_utc(), false).ok().map(|next| next.and_utc())
    }

    /// The longest time between two consecutive firings, in minutes, over the whole Gregorian
    /// cycle: 15 for `*/15 * * * *`, three days for `0 5 * * 1-5` (Friday to Monday), eight
    /// years for `0 12 29 2 *` (29 February 2096 to 29 February 2104: 2100 is not a leap year).
    pub fn longest_gap_minutes(&self) -> u64 {
        self.longest_gap_minutes
    }
}

impl TryFrom<String> for CronExpr {
    type Error = CronError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        CronExpr::parse(&text)
    }
}

impl From<CronExpr> for String {
    fn from(expr: CronExpr) -> String {
        expr.text
    }
}

impl serde::Serialize for CronExpr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CronExpr::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for CronExpr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CronExpr".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Five POSIX cron fields separated by single spaces (minute, hour, day \
                            of month, month, day of week; UTC; Sunday is 0 or 7; `?` in a day \
                            field reads as `*`). It fires at least once.",
        })
    }
}

/// Five fields, POSIX weekdays (Sunday 0 or 7), day of month OR day of week when both are
/// restricted, and `a/n` read as `a` to the end of the field.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .dom_and_dow(false)
        .alternative_weekdays(false)
        .sloppy_ranges(true)
        .build()
}

/// A whole number written with digits only (no sign).
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Croner's extensions beyond POSIX: `L`, `LW`, `5L`, `15W`, `5#2`, `+mon`.
fn is_extension(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    let bare = upper.trim_end_matches(['L', 'W']);
    upper.contains('#')
        || upper.starts_with('+')
        || (bare.len() < upper.len() && number(bare).is_some())
        || bare.is_empty() && !upper.is_empty()
}

/// Checks one field against the POSIX grammar: `list = item ("," item)*`,
/// `item = ("*" | value ["-" value]) ["/" step]`, plus `?` alone in a day field.
fn check_field(field: Field, text: &str) -> Result<(), String> {
    if text == "?" {
        return if field.is_day() {
            Ok(())
        } else {
            Err("`?` stands only for a whole day field (day of month or day of week)".to_owned())
        };
    }
    let (min, max) = field.bounds();
    let value = |word: &str, end: bool| -> Result<u32, String> {
        if word == "?" {
            return Err("`?` stands for a whole day field, not part of a list or range".to_owned());
        }
        if let Some(n) = number(word) {
            return if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(format!("`{word}` is out of range: {}", field.range_words()))
            };
        }
        if let Some(n) = field.named(word, end) {
            return Ok(n);
        }
        if is_extension(word) {
            return Err(format!(
                "`{word}` is not {}: `L`, `W`, `#` and `+` are not POSIX cron",
                field.value_words()
            ));
        }
        Err(format!("`{word}` is not {}", field.value_words()))
    };
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("`{text}` has an empty item"));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step {
            match number(step) {
                Some(0) => return Err("a step of 0 never moves".to_owned()),
                Some(n) if n <= max => {}
                _ => {
                    return Err(format!("`{step}` is not a step (a whole number from 1 to {max})"))
                }
            }
        }
        if range == "*" {
            if step.is_none() && text != "*" {
                return Err(format!("`*` in `{text}` already means every value: write it alone"));
            }
            continue;
        }
        if range.is_empty() {
            return Err(format!("`{item}` has no start: write `*{item}`"));
        }
        match range.split_once('-') {
            Some((low, high)) => {
                let (low_value, high_value) = (value(low, false)?, value(high, true)?);
                if low_value > high_value {
                    return Err(format!("the range `{range}` runs backwards"));
                }
            }
            None => {
                value(range, false)?;
            }
        }
    }
    Ok(())
}

/// The first year of the walk: 2001-01-01 is a Monday. Any year would do, the calendar
/// repeats every 400 years.
const FIRST_YEAR: i32 = 2001;
const CYCLE_YEARS: i32 = 400;
const CYCLE_DAYS: u64 = 146_097;
const MINUTES_PER_DAY: u64 = 24 * 60;

/// The longest gap between consecutive firings over one Gregorian cycle (wrapping around to
/// the next cycle), in minutes; `None` when the expression never fires.
///
/// The times of day are the same on every firing day (UTC has no daylight saving), so the
/// longest gap is either between two times of one day or from the last time of a firing day
/// to the first time of the next firing day, and only the longest run of days without a
/// firing matters for the second. Which days of a year fire depends only on whether it is a
/// leap year and on the weekday of 1 January, so each of those 14 kinds of year is matched
/// day by day once, and the cycle is walked a year at a time.
fn longest_gap(cron: &croner::Cron) -> Option<u64> {
    let pattern = &cron.pattern;
    let mut times = Vec::new();
    for hour in pattern.hours.values() {
        for minute in pattern.minutes.values() {
            times.push(u64::from(hour) * 60 + u64::from(minute));
        }
    }
    let (first_time, last_time) = (*times.first()?, *times.last()?);
    let within_a_day = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);

    let mut kinds: [[Option<Option<YearDays>>; 7]; 2] = Default::default();
    let mut weekday = croner::Weekday::Monday;
    let mut year_start: u64 = 0;
    let (mut first_day, mut previous_day) = (None::<u64>, None::<u64>);
    let mut longest_days = 0;
    for year in FIRST_YEAR..FIRST_YEAR + CYCLE_YEARS {
        let leap = croner::time::is_leap_year(year);
        let kind = &mut kinds[usize::from(leap)][weekday.num_days_from_sunday() as usize];
        if let Some(days) = *kind.get_or_insert_with(|| YearDays::of(pattern, year, weekday)) {
            let first = year_start + days.first;
            if let Some(previous) = previous_day {
                longest_days = longest_days.max(first - previous);
            }
            first_day.get_or_insert(first);
            longest_days = longest_days.max(days.longest);
            previous_day = Some(year_start + days.last);
        }
        let length: u16 = if leap { 366 } else { 365 };
        year_start += u64::from(length);
        weekday = weekday.shift(i32::from(length));
    }
    let (first_day, last_day) = (first_day?, previous_day?);
    longest_days = longest_days.max(first_day + CYCLE_DAYS - last_day);
    Some(within_a_day.max(longest_days * MINUTES_PER_DAY - (last_time - first_time)))
}

/// The firing days of one year, counted from 1 January (0).
#[derive(Debug, Clone, Copy)]
struct YearDays {
    first: u64,
    last: u64,
    /// The longest run between two firing days inside the year.
    longest: u64,
}

impl YearDays {
    /// Matches every day of `year` (whose 1 January falls on `weekday`) with croner.
    fn of(pattern: &croner::CronPattern, year: i32, weekday: croner::Weekday) -> Option<YearDays> {
        let mut found: Option<YearDays> = None;
        let mut day_of_year: u64 = 0;
        let mut weekday = weekday;
        for month in 1..=12 {
            let length = croner::time::days_in_month(year, month);
            if pattern.month_match(month).unwrap_or(false) {
                for day in 1..=length {
                    let on = weekday.shift(i32::try_from(day - 1).unwrap_or(0));
                    if pattern.day_match(year, month, day, on).unwrap_or(false) {
                        let at = day_of_year + u64::from(day - 1);
                        found = Some(match found {
                            None => YearDays { first: at, last: at, longest: 0 },
                            Some(y) => {
                                YearDays { last: at, longest: y.longest.max(at - y.last), ..y }
                            }
                        });
                    }
                }
            }
            day_of_year += u64::from(length);
            weekday = weekday.shift(i32::try_from(length).unwrap_or(0));
        }
        found
    }
}

/// Why an expression never fires: its days of month exist in none of its months (the day of
/// week is then unrestricted, or it would fire on those weekdays).
fn never_reason(cron: &croner::Cron) -> String {
    let days: Vec<String> = cron.pattern.days.values().iter().map(u16::to_string).collect();
    let months: Vec<String> = cron
        .pattern
        .months
        .values()
        .iter()
        .filter_map(|m| MONTH_NAMES.get(usize::from(*m).checked_sub(1)?))
        .map(|m| (*m).to_owned())
        .collect();
    if days.is_empty() || months.is_empty() {
        return "no date matches every field".to_owned();
    }
    format!("no day {} in {}", either(&days), either(&months))
}

/// "30", "30 or 31", "April, June or September".
fn either(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    const DAY: u64 = 24 * 60;

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time").and_utc()
    }

    fn cron(text: &str) -> CronExpr {
        CronExpr::parse(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
    }

    /// Each case: an expression, a time, the next firing after it (with its weekday), and the
    /// longest gap in minutes. 2024-03-01 is a Friday.
    const CASES: &[(&str, &str, &str, u64)] = &[
        ("*/15 * * * *", "2024-03-01 06:00", "2024-03-01 06:15 Fri", 15),
        ("*/15 * * * *", "2024-03-01 06:01", "2024-03-01 06:15 Fri", 15),
        ("0 * * * *", "2024-03-01 23:59", "2024-03-02 00:00 Sat", 60),
        ("0 */6 * * *", "2024-03-01 13:00", "2024-03-01 18:00 Fri", 6 * 60),
        // `?` in either day field reads as `*`.
        ("0 5 ? * *", "2024-03-01 05:00", "2024-03-02 05:00 Sat", DAY),
        ("0 5 * * ?", "2024-03-01 04:59", "2024-03-01 05:00 Fri", DAY),
        // Weekdays: Friday 05:00 to Monday 05:00 is the longest wait.
        ("0 5 * * 1-5", "2024-03-01 05:00", "2024-03-04 05:00 Mon", 3 * DAY),
        ("0 5 * * mon-fri", "2024-03-01 05:00", "2024-03-04 05:00 Mon", 3 * DAY),
        // Every half hour in office hours on weekdays: Friday 18:30 to Monday 06:00.
        ("*/30 6-18 * * 1-5", "2024-03-01 18:30", "2024-03-04 06:00 Mon", 2 * DAY + 11 * 60 + 30),
        // Daily and weekly, as `refresh daily at 06:30` and `refresh weekly on sunday at 02:00`
        // read; Sunday is 0, 7 or `sun`.
        ("30 6 * * *", "2024-03-01 06:30", "2024-03-02 06:30 Sat", DAY),
        ("0 2 * * 0", "2024-03-01 06:00", "2024-03-03 02:00 Sun", 7 * DAY),
        ("0 2 * * 7", "2024-03-01 06:00", "2024-03-03 02:00 Sun", 7 * DAY),
        ("0 2 * * SUN", "2024-03-01 06:00", "2024-03-03 02:00 Sun", 7 * DAY),
        ("0 0 * * fri-sun", "2024-03-02 00:00", "2024-03-03 00:00 Sun", 5 * DAY),
        ("0 0 * * 1-5/2", "2024-03-01 00:00", "2024-03-04 00:00 Mon", 3 * DAY),
        // POSIX: the 1st, the 15th or any Monday, whichever comes first. Mondays alone leave
        // at most a week.
        ("0 0 1,15 * mon", "2024-03-01 00:00", "2024-03-04 00:00 Mon", 7 * DAY),
        ("0 0 1,15 * mon", "2024-03-11 00:00", "2024-03-15 00:00 Fri", 7 * DAY),
        // Day of month alone: 31 January to 1 March is the longest wait of the 1st.
        ("0 0 15 * *", "2024-03-01 00:00", "2024-03-15 00:00 Fri", 31 * DAY),
        ("0 0 1 * *", "2024-03-01 00:00", "2024-04-01 00:00 Mon", 31 * DAY),
        ("0 0 1 jan *", "2024-03-01 00:00", "2025-01-01 00:00 Wed", 366 * DAY),
        // A step from a value runs to the end of the field.
        ("5/20 * * * *", "2024-03-01 06:50", "2024-03-01 07:05 Fri", 20),
        // 29 February: every four years, but 2100 is not a leap year, so the longest wait is
        // from 2096 to 2104.
        ("0 12 29 2 *", "2024-03-01 00:00", "2028-02-29 12:00 Tue", (8 * 365 + 1) * DAY),
    ];

    #[test]
    fn next_firings_and_longest_gaps() {
        for (text, after, next, gap) in CASES {
            let expr = cron(text);
            let found = expr.next_after(at(after)).expect("fires");
            assert_eq!(
                found.format("%Y-%m-%d %H:%M %a").to_string(),
                *next,
                "{text} after {after}"
            );
            assert_eq!(expr.longest_gap_minutes(), *gap, "{text}");
        }
    }

    /// The longest gap is what the firings themselves show: from the first firing of 2024 (a
    /// leap year) to the end of 2025, the longest wait between two firings is that gap, for
    /// every schedule that repeats within a year.
    #[test]
    fn the_longest_gap_agrees_with_the_firings() {
        for (text, _, _, gap) in CASES.iter().filter(|c| c.3 <= 366 * DAY) {
            let expr = cron(text);
            let end = at("2026-01-01 00:00");
            let mut t = expr.next_after(at("2023-12-31 23:59")).expect("fires");
            let mut longest = 0;
            while let Some(next) = expr.next_after(t).filter(|n| *n < end) {
                longest = longest.max(u64::try_from((next - t).num_minutes()).expect("forwards"));
                t = next;
            }
            assert_eq!(longest, *gap, "{text}");
        }
    }

    #[test]
    fn strictly_after() {
        let expr = cron("0 5 * * *");
        assert_eq!(expr.next_after(at("2024-03-01 05:00")), Some(at("2024-03-02 05:00")));
        assert_eq!(expr.next_after(at("2024-03-01 04:59")), Some(at("2024-03-01 05:00")));
    }

    #[test]
    fn dates_that_do_not_exist_never_fire() {
        for (text, reason) in [
            ("0 5 31 2 *", "no day 31 in February"),
            ("0 0 30 2 *", "no day 30 in February"),
            ("0 0 30,31 feb *", "no day 30 or 31 in February"),
            ("0 0 31 4,6,9,11 *", "no day 31 in April, June, September or November"),
            ("0 0 31 2 ?", "no day 31 in February"),
        ] {
            assert_eq!(
                CronExpr::parse(text),
                Err(CronError::Never { reason: reason.to_owned() }),
                "{text}"
            );
        }
        // A day of week as well: POSIX fires on those weekdays of February.
        let mondays = cron("0 5 31 2 mon").next_after(at("2024-03-01 00:00")).expect("fires");
        assert_eq!(mondays, at("2025-02-03 05:00"));
    }

    #[test]
    fn fields_are_checked_one_by_one() {
        let field = |text: &str| match CronExpr::parse(text) {
            Err(CronError::Field { field, reason }) => (field, reason),
            other => panic!("`{text}`: {other:?}"),
        };
        assert_eq!(
            field("60 * * * *"),
            (Field::Minute, "`60` is out of range: minutes run from 0 to 59".into())
        );
        assert_eq!(
            field("30 25 * * 0"),
            (Field::Hour, "`25` is out of range: hours run from 0 to 23".into())
        );
        assert_eq!(field("0 0 0 * *").0, Field::DayOfMonth);
        assert_eq!(field("0 0 * 13 *").0, Field::Month);
        assert_eq!(field("0 0 * mon *").0, Field::Month);
        assert_eq!(field("0 0 * * jan").0, Field::DayOfWeek);
        assert_eq!(field("0 0 * * 8").0, Field::DayOfWeek);
        assert_eq!(
            field("0 0 * * fri-mon"),
            (Field::DayOfWeek, "the range `fri-mon` runs backwards".into())
        );
        assert_eq!(field("*/0 * * * *"), (Field::Minute, "a step of 0 never moves".into()));
        assert_eq!(field("/5 * * * *"), (Field::Minute, "`/5` has no start: write `*/5`".into()));
        assert_eq!(field("? * * * *").0, Field::Minute);
        assert_eq!(field("0 0 1,? * *").0, Field::DayOfMonth);
        assert_eq!(field("0 0 1,,2 * *").0, Field::DayOfMonth);
        assert_eq!(field("0 0 -1 * *").0, Field::DayOfMonth);
        for extension in ["0 0 L * *", "0 0 15W * *", "0 0 * * 5#2", "0 0 * * 5L", "0 0 1 * +mon"] {
            let (_, reason) = field(extension);
            assert!(
                reason.ends_with("`L`, `W`, `#` and `+` are not POSIX cron"),
                "{extension}: {reason}"
            );
        }
        assert_eq!(field("*/99999 * * * *").0, Field::Minute);
        assert_eq!(CronExpr::parse("0 2 * *"), Err(CronError::FieldCount { found: 4 }));
        assert_eq!(CronExpr::parse("0 0 2 * * *"), Err(CronError::FieldCount { found: 6 }));
        assert_eq!(CronExpr::parse("@daily"), Err(CronError::FieldCount { found: 1 }));
    }

    /// What the POSIX check accepts, croner reads: every value, range and step form of every
    /// field, alone and in lists.
    #[test]
    fn croner_reads_everything_the_check_accepts() {
        let forms = |field: Field| -> Vec<String> {
            let (min, max) = field.bounds();
            let mut forms = vec!["*".to_owned(), "*/7".to_owned(), format!("{min}-{max}/3")];
            for n in [min, max, (min + max) / 2] {
                forms.push(n.to_string());
                forms.push(format!("{n}/2"));
                forms.push(format!("{min}-{n}"));
                forms.push(format!("{n},{max}"));
            }
            match field {
                Field::Month => forms.extend(["jan-dec", "FEB,Aug", "mar/2"].map(str::to_owned)),
                Field::DayOfWeek => {
                    forms.extend(["mon-fri", "sat-sun", "SUN", "sun-sat", "?"].map(str::to_owned))
                }
                Field::DayOfMonth => forms.push("?".to_owned()),
                _ => {}
            }
            forms
        };
        for field in Field::ALL {
            for form in forms(field) {
                let mut fields = ["0", "0", "1", "*", "*"];
                fields[field.index()] = &form;
                let text = fields.join(" ");
                assert!(CronExpr::parse(&text).is_ok(), "{text}: {:?}", CronExpr::parse(&text));
            }
        }
    }

    /// Whatever the text, the answer is a schedule or a user error, never croner refusing what
    /// the check let through: every field built from pieces of valid and invalid syntax.
    #[test]
    fn no_text_reaches_croner_unchecked() {
        const PIECES: &[&str] = &[
            "*",
            "?",
            "0",
            "7",
            "13",
            "31",
            "60",
            "-",
            ",",
            "/",
            "/0",
            "/2",
            "/99",
            "sun",
            "JAN",
            "l",
            "W",
            "#2",
            "+",
            "x",
            "",
            "00",
            "1-",
            "-5",
            "5-1",
            "*/",
            "1,",
            "99999999999",
        ];
        let mut seen = 0;
        for (i, a) in PIECES.iter().enumerate() {
            for b in PIECES {
                for c in PIECES.iter().step_by(3) {
                    let piece = format!("{a}{b}{c}");
                    if piece.is_empty() {
                        continue;
                    }
                    for field in Field::ALL {
                        let mut fields = ["0", "0", "1", "*", "*"];
                        fields[field.index()] = &piece;
                        let text = fields.join(" ");
                        let parsed = CronExpr::parse(&text);
                        assert!(
                            !matches!(parsed, Err(CronError::Unreadable { .. })),
                            "{text}: {parsed:?}"
                        );
                        seen += usize::from(parsed.is_ok()) * i;
                    }
                }
            }
        }
        assert!(seen > 0, "some pieces make valid fields");
    }

    #[test]
    fn normalized_text_and_serde() {
        let expr = cron("0  2\t* * 0");
        assert_eq!(expr.as_str(), "0 2 * * 0");
        let json = serde_json::to_string(&expr).expect("json");
        assert_eq!(json, r#""0 2 * * 0""#);
        assert_eq!(serde_json::from_str::<CronExpr>(&json).expect("reads back"), expr);
        let refused = serde_json::from_str::<CronExpr>(r#""0 5 31 2 *""#).expect_err("never");
        assert!(refused.to_string().contains("never fires: no day 31 in February"), "{refused}");
    }
}
