//! Periods of the calendar as the plan names them (`day`, `week`, `fiscal_year`, ...), and how
//! far back `compare previous <grain>` looks: one rule, which the compiler writes into the
//! `compare` statements and the runtime uses to find a cell's previous period.

use chrono::{Duration, Months, NaiveDateTime};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a time")
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
