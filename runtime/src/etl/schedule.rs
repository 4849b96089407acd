//! When a source is due: its `schedule.cron` (five POSIX fields, UTC) read with the `cron`
//! crate.
//!
//! The crate wants a seconds field first and numbers weekdays 1 (Sunday) to 7, where POSIX
//! numbers them 0 (Sunday) to 6, with 7 also Sunday; and it requires both the day of month and
//! the day of week to match, where POSIX fires on a day matching either when both are
//! restricted. So the crate walks minute, hour, day of month and month, and the day of week is
//! read and checked here, exactly as the compiler reads it for freshness
//! (`tally_compiler::codegen::cron`).

use crate::error::{codes, Error, Result};
use chrono::{Datelike as _, Duration, NaiveDateTime, TimeZone as _, Utc};
use std::str::FromStr as _;

/// A source's schedule.
#[derive(Debug, Clone)]
pub struct Cron {
    text: String,
    /// Every day (or the days of month, when only those are restricted) at the minutes, hours
    /// and months of the expression.
    base: cron::Schedule,
    /// When both day fields are restricted: the days of month, checked with `includes`.
    days_of_month: Option<cron::Schedule>,
    /// Sunday = 0; `None` when the field is `*`.
    weekdays: Option<[bool; 7]>,
}

/// How far ahead to look for the next firing before deciding there is none (a schedule that
/// names 29 February on a Monday fires about every 28 years).
const HORIZON_DAYS: i64 = 366 * 30;

impl Cron {
    /// Reads five cron fields (`*/15 * * * *`).
    pub fn parse(text: &str) -> Result<Cron> {
        let bad = |why: String| {
            Error::new(
                codes::GENERATED_UNREADABLE,
                format!("plan.json: schedule `{text}` cannot be read: {why}"),
            )
            .help("regenerate generated/ with `tally compile`")
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = fields.as_slice() else {
            return Err(bad(format!("expected 5 fields, found {}", fields.len())));
        };
        let weekdays =
            if *dow == "*" || *dow == "?" { None } else { Some(parse_weekdays(dow).map_err(bad)?) };
        let schedule = |dom: &str| {
            cron::Schedule::from_str(&format!("0 {minute} {hour} {dom} {month} *"))
                .map_err(|e| bad(e.to_string().lines().last().unwrap_or_default().to_owned()))
        };
        let dom_restricted = *dom != "*" && *dom != "?";
        let (base, days_of_month) = match (dom_restricted, weekdays.is_some()) {
            (true, true) => (schedule("*")?, Some(schedule(dom)?)),
            (true, false) => (schedule(dom)?, None),
            (false, _) => (schedule("*")?, None),
        };
        Ok(Cron { text: text.to_owned(), base, days_of_month, weekdays })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn day_matches(&self, at: chrono::DateTime<Utc>) -> bool {
        let weekday = self.weekdays.map(|days| days[at.weekday().num_days_from_sunday() as usize]);
        match (&self.days_of_month, weekday) {
            (Some(dom), Some(weekday)) => weekday || dom.includes(at),
            (None, Some(weekday)) => weekday,
            (_, None) => true,
        }
    }

    /// The first scheduled instant strictly after `t`; `None` when there is none in decades.
    pub fn next_after(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = Utc.from_utc_datetime(&t);
        let limit = start + Duration::days(HORIZON_DAYS);
        self.base
            .after(&start)
            .take_while(|at| *at <= limit)
            .find(|at| self.day_matches(*at))
            .map(|at| at.naive_utc())
    }

    /// Whether a scheduled instant falls in `(last, now]`; always when never loaded.
    pub fn is_due(&self, last: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
        match last {
            None => true,
            Some(last) => self.next_after(last).is_some_and(|next| next <= now),
        }
    }
}

/// The POSIX day-of-week field: numbers 0-7 (Sunday 0 or 7) or `sun`-`sat`, `*`, ranges,
/// steps and lists.
fn parse_weekdays(field: &str) -> std::result::Result<[bool; 7], String> {
    fn day(word: &str) -> std::result::Result<usize, String> {
        if let Ok(n) = word.parse::<usize>() {
            return if n <= 7 { Ok(n) } else { Err(format!("`{n}` is not a day")) };
        }
        const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let lower = word.to_ascii_lowercase();
        NAMES.iter().position(|n| *n == lower).ok_or_else(|| format!("`{word}` is not a day"))
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: usize = step.parse().map_err(|_| format!("`{step}` is not a step"))?;
                if step == 0 {
                    return Err("a step of 0".to_owned());
                }
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" || range == "?" {
            (0, 6)
        } else {
            match range.split_once('-') {
                Some((low, high)) => (day(low)?, day(high)?),
                // `5/2`: from 5 to the end of the week.
                None if item.contains('/') => (day(range)?, 7),
                None => {
                    let d = day(range)?;
                    (d, d)
                }
            }
        };
        if low > high {
            return Err(format!("the range `{range}` runs backwards"));
        }
        for d in (low..=high).step_by(step) {
            days[d % 7] = true;
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time")
    }

    fn next(cron: &str, after: &str) -> String {
        let cron = Cron::parse(cron).expect("cron");
        cron.next_after(at(after)).expect("fires").format("%Y-%m-%d %H:%M %a").to_string()
    }

    #[test]
    fn every_fifteen_minutes_is_strictly_after() {
        assert_eq!(next("*/15 * * * *", "2024-03-01 06:00"), "2024-03-01 06:15 Fri");
        assert_eq!(next("*/15 * * * *", "2024-03-01 06:01"), "2024-03-01 06:15 Fri");
        assert_eq!(next("0 * * * *", "2024-03-01 23:59"), "2024-03-02 00:00 Sat");
    }

    #[test]
    fn weekdays_are_posix_numbers() {
        // 2024-03-01 is a Friday; Sunday is 0 and 7.
        assert_eq!(next("0 2 * * 0", "2024-03-01 06:00"), "2024-03-03 02:00 Sun");
        assert_eq!(next("0 2 * * 7", "2024-03-01 06:00"), "2024-03-03 02:00 Sun");
        assert_eq!(next("0 2 * * sun", "2024-03-01 06:00"), "2024-03-03 02:00 Sun");
        assert_eq!(next("*/30 6-18 * * 1-5", "2024-03-01 18:30"), "2024-03-04 06:00 Mon");
        assert_eq!(next("0 0 * * 5-7", "2024-03-02 00:00"), "2024-03-03 00:00 Sun");
        assert_eq!(next("0 0 * * 1-5/2", "2024-03-01 00:00"), "2024-03-04 00:00 Mon");
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_restricted() {
        // The 15th (a Friday in March 2024) or any Monday, whichever comes first.
        assert_eq!(next("0 0 15 * 1", "2024-03-01 00:00"), "2024-03-04 00:00 Mon");
        assert_eq!(next("0 0 15 * 1", "2024-03-11 00:00"), "2024-03-15 00:00 Fri");
        assert_eq!(next("0 0 15 * *", "2024-03-01 00:00"), "2024-03-15 00:00 Fri");
    }

    #[test]
    fn due_when_an_instant_passed_since_the_last_load() {
        let cron = Cron::parse("0 5 * * *").expect("cron");
        assert!(cron.is_due(None, at("2024-03-01 04:00")));
        assert!(!cron.is_due(Some(at("2024-03-01 05:00")), at("2024-03-02 04:59")));
        assert!(cron.is_due(Some(at("2024-03-01 05:00")), at("2024-03-02 05:00")));
        assert!(cron.is_due(Some(at("2024-03-01 04:00")), at("2024-03-01 05:00")));
    }

    #[test]
    fn unreadable_schedules_are_plan_errors() {
        assert_eq!(Cron::parse("* * *").expect_err("3 fields").code, codes::GENERATED_UNREADABLE);
        assert_eq!(Cron::parse("* * * * 9").expect_err("day 9").code, codes::GENERATED_UNREADABLE);
    }
}
