//! Periods of the calendar as the plan names them (`day`, `week`, `fiscal_year`, ...), and how
//! far back `compare previous <grain>` looks: one rule, which the compiler writes into the
//! `compare` statements and the runtime uses to find a cell's previous period.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike};

use crate::plan::{Calendar, Grain};

/// A step back in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    Minutes(u32),
    Days(u32),
    Months(u32),
}

impl Shift {
    /// The start of the period this shift before `start`.
    pub fn back(self, start: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Shift::Minutes(n) => start.checked_sub_signed(Duration::minutes(i64::from(n))),
            Shift::Days(n) => start.checked_sub_signed(Duration::days(i64::from(n))),
            Shift::Months(n) => start.checked_sub_months(Months::new(n)),
        }
    }
}

/// How far back `compare previous <compare>` looks from a cell of grain `row_grain`: one
/// `compare` period, except that a week looks back whole weeks (52 for a year or fiscal year,
/// 13 for a quarter, 4 for a month), so that it lands on a week's first day. `None` for a name
/// that is no grain.
pub fn compare_shift(compare: &str, row_grain: &str) -> Option<Shift> {
    let (months, weeks) = match compare {
        "quarter_hour" => return Some(Shift::Minutes(15)),
        "hour" => return Some(Shift::Minutes(60)),
        "day" => return Some(Shift::Days(1)),
        "week" => return Some(Shift::Days(7)),
        "month" => (1, 4),
        "quarter" | "fiscal_quarter" => (3, 13),
        "year" | "fiscal_year" => (12, 52),
        _ => return None,
    };
    Some(if row_grain == "week" { Shift::Days(7 * weeks) } else { Shift::Months(months) })
}

/// The start of the period of `grain` that follows the one starting at `start` (periods start
/// on their grain's boundary, so this is `start` plus one period). `None` for a name that is
/// no grain.
pub fn next_start(grain: &str, start: NaiveDateTime) -> Option<NaiveDateTime> {
    let months = match grain {
        "quarter_hour" => return start.checked_add_signed(Duration::minutes(15)),
        "hour" => return start.checked_add_signed(Duration::hours(1)),
        "day" => return start.checked_add_signed(Duration::days(1)),
        "week" => return start.checked_add_signed(Duration::days(7)),
        "month" => 1,
        "quarter" | "fiscal_quarter" => 3,
        "year" | "fiscal_year" => 12,
        _ => return None,
    };
    start.checked_add_months(Months::new(months))
}

/// The start of the period of `grain` that holds `t`, on `calendar` (its fiscal year's first
/// day and its weeks' first day). `None` only for a date chrono cannot hold.
pub fn start_of(grain: Grain, calendar: &Calendar, t: NaiveDateTime) -> Option<NaiveDateTime> {
    let day = t.date();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    // The last first-of-a-period on or before `day`, for periods of `months` months that
    // start on `(month, day)` of some year.
    let anchored = |months: u32, month: u32, first: u32| -> Option<NaiveDateTime> {
        let mut start = NaiveDate::from_ymd_opt(day.year() + 1, month, first)?;
        while start > day {
            start = start.checked_sub_months(Months::new(months))?;
        }
        midnight(start)
    };
    match grain {
        Grain::QuarterHour => {
            t.with_minute(t.minute() / 15 * 15)?.with_second(0)?.with_nanosecond(0)
        }
        Grain::Hour => t.with_minute(0)?.with_second(0)?.with_nanosecond(0),
        Grain::Day => midnight(day),
        Grain::Week => {
            let back =
                (day.weekday().num_days_from_sunday() + 7 - calendar.week_start.cron_number()) % 7;
            midnight(day.checked_sub_signed(Duration::days(i64::from(back)))?)
        }
        Grain::Month => midnight(day.with_day(1)?),
        Grain::Quarter => anchored(3, 1, 1),
        Grain::Year => anchored(12, 1, 1),
        Grain::FiscalQuarter => {
            anchored(3, calendar.fiscal_year_start.month, calendar.fiscal_year_start.day)
        }
        Grain::FiscalYear => {
            anchored(12, calendar.fiscal_year_start.month, calendar.fiscal_year_start.day)
        }
    }
}

/// Whether every period of `fine` lies within one period of `coarse` on `calendar` (a month
/// within its fiscal year; a week within no month). A grain nests in itself.
pub fn nests(fine: Grain, coarse: Grain, calendar: &Calendar) -> bool {
    use Grain::*;
    let fiscal = calendar.fiscal_year_start;
    // Fiscal periods start on a month's first day, on a calendar quarter's.
    let on_month = fiscal.day == 1;
    let on_quarter = on_month && fiscal.month % 3 == 1;
    let on_year = on_month && fiscal.month == 1;
    match (fine, coarse) {
        _ if fine == coarse => true,
        (QuarterHour, _) => coarse != QuarterHour,
        (Hour, _) => !matches!(coarse, QuarterHour),
        (Day, _) => !matches!(coarse, QuarterHour | Hour),
        (Week, _) => false,
        (Month, Quarter | Year) => true,
        (Month, FiscalQuarter | FiscalYear) => on_month,
        (Quarter, Year) => true,
        (Quarter, FiscalQuarter | FiscalYear) => on_quarter,
        (FiscalQuarter, FiscalYear) => on_month,
        (FiscalQuarter, Quarter | Year) => on_quarter,
        (Year, FiscalYear) | (FiscalYear, Year) => on_year,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a time")
    }

    fn federal() -> Calendar {
        Calendar {
            name: "time".into(),
            title: None,
            fiscal_year_start: crate::plan::MonthDay { month: 10, day: 1 },
            week_start: crate::schedule::Weekday::Monday,
            grains: Grain::ALL.to_vec(),
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn a_period_starts_on_its_grain_s_boundary_of_the_calendar() {
        let c = federal();
        let t = at("2024-03-13 17:47:12");
        let start = |g| start_of(g, &c, t);
        assert_eq!(start(Grain::QuarterHour), Some(at("2024-03-13 17:45:00")));
        assert_eq!(start(Grain::Hour), Some(at("2024-03-13 17:00:00")));
        assert_eq!(start(Grain::Day), Some(at("2024-03-13 00:00:00")));
        // Wednesday 13 March: its week starts on Monday the 11th.
        assert_eq!(start(Grain::Week), Some(at("2024-03-11 00:00:00")));
        assert_eq!(start(Grain::Month), Some(at("2024-03-01 00:00:00")));
        assert_eq!(start(Grain::Quarter), Some(at("2024-01-01 00:00:00")));
        assert_eq!(start(Grain::Year), Some(at("2024-01-01 00:00:00")));
        assert_eq!(start(Grain::FiscalQuarter), Some(at("2024-01-01 00:00:00")));
        assert_eq!(start(Grain::FiscalYear), Some(at("2023-10-01 00:00:00")));
        // The fiscal year's first day belongs to the new year.
        assert_eq!(
            start_of(Grain::FiscalYear, &c, at("2024-10-01 00:00:00")),
            Some(at("2024-10-01 00:00:00"))
        );
        // A week starting on Sunday.
        let sunday = Calendar { week_start: crate::schedule::Weekday::Sunday, ..federal() };
        assert_eq!(start_of(Grain::Week, &sunday, t), Some(at("2024-03-10 00:00:00")));
    }

    #[test]
    fn grains_nest_as_the_calendar_cuts_them() {
        let c = federal();
        assert!(nests(Grain::Month, Grain::FiscalYear, &c));
        assert!(nests(Grain::Quarter, Grain::FiscalYear, &c));
        assert!(nests(Grain::Day, Grain::Week, &c));
        assert!(!nests(Grain::Week, Grain::Month, &c));
        assert!(!nests(Grain::Year, Grain::FiscalYear, &c));
        assert!(!nests(Grain::FiscalYear, Grain::Month, &c));
        // A fiscal year from 15 July cuts months in two.
        let odd = Calendar {
            fiscal_year_start: crate::plan::MonthDay { month: 7, day: 15 },
            ..federal()
        };
        assert!(!nests(Grain::Month, Grain::FiscalYear, &odd));
        assert!(nests(Grain::Day, Grain::FiscalYear, &odd));
    }

    #[test]
    fn the_next_period_starts_one_period_later() {
        let jan = at("2024-01-31 00:00:00");
        assert_eq!(next_start("day", jan), Some(at("2024-02-01 00:00:00")));
        assert_eq!(next_start("month", at("2024-01-01 00:00:00")), Some(at("2024-02-01 00:00:00")));
        assert_eq!(
            next_start("fiscal_year", at("2023-10-01 00:00:00")),
            Some(at("2024-10-01 00:00:00"))
        );
        assert_eq!(next_start("week", at("2024-02-26 00:00:00")), Some(at("2024-03-04 00:00:00")));
        assert_eq!(next_start("decade", jan), None);
    }

    #[test]
    fn a_week_looks_back_whole_weeks_and_other_grains_by_the_calendar() {
        let week = compare_shift("fiscal_year", "week").expect("a shift");
        assert_eq!(week, Shift::Days(364));
        // Monday 2024-02-26 → Monday 2023-02-27.
        assert_eq!(week.back(at("2024-02-26 00:00:00")), Some(at("2023-02-27 00:00:00")));
        let month = compare_shift("fiscal_year", "month").expect("a shift");
        assert_eq!(month.back(at("2024-03-01 00:00:00")), Some(at("2023-03-01 00:00:00")));
        assert_eq!(compare_shift("quarter", "week"), Some(Shift::Days(91)));
        assert_eq!(compare_shift("month", "day"), Some(Shift::Months(1)));
        assert_eq!(compare_shift("hour", "hour"), Some(Shift::Minutes(60)));
        assert_eq!(compare_shift("fortnight", "day"), None);
    }
}
