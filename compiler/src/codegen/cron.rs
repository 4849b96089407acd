//! How often a cron schedule fires, for freshness expectations: the longest gap between two
//! consecutive firings.
//!
//! The semantic stage has already checked the expression with the `cron` crate; this reads the
//! five POSIX fields again (numbers, `*`, ranges, steps, lists, three-letter month and weekday
//! names) and walks eight years of days from a fixed date, so the answer never depends on when
//! the compiler runs. As in POSIX cron, when both day of month and day of week are restricted,
//! a day matching either fires.

/// The longest gap between consecutive firings, in minutes; `None` when the expression does
/// not read or fires less than twice in eight years.
pub fn longest_gap_minutes(expr: &str) -> Option<u64> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else { return None };
    let minutes = parse_field(minute, 0, 59, &[])?;
    let hours = parse_field(hour, 0, 23, &[])?;
    let days = parse_field(dom, 1, 31, &[])?;
    let months = parse_field(month, 1, 12, &MONTHS)?;
    let mut weekdays = parse_field(dow, 0, 7, &WEEKDAYS)?;
    if weekdays[7] {
        weekdays[0] = true;
    }
    let dom_any = *dom == "*";
    let dow_any = *dow == "*";

    // 2001-01-01 (a Monday) to 2008-12-31: two leap years, every weekday on every date, so
    // every gap a schedule has occurs between two firings inside the window.
    const DAYS: u64 = 8 * 365 + 2;
    let mut last: Option<u64> = None;
    let mut longest = 0;
    let (mut year, mut month_index, mut day) = (2001u32, 1usize, 1usize);
    for n in 0..DAYS {
        let weekday = ((n + 1) % 7) as usize;
        let day_matches = match (dom_any, dow_any) {
            (true, true) => true,
            (false, true) => days[day],
            (true, false) => weekdays[weekday],
            (false, false) => days[day] || weekdays[weekday],
        };
        if months[month_index] && day_matches {
            for h in (0..24).filter(|h| hours[*h]) {
                for m in (0..60).filter(|m| minutes[*m]) {
                    let at = n * 1440 + (h as u64) * 60 + m as u64;
                    if let Some(previous) = last {
                        longest = longest.max(at - previous);
                    }
                    last = Some(at);
                }
            }
        }
        day += 1;
        if day > days_in_month(year, month_index) {
            day = 1;
            month_index += 1;
            if month_index > 12 {
                month_index = 1;
                year += 1;
            }
        }
    }
    (longest > 0).then_some(longest)
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn days_in_month(year: u32, month: usize) -> usize {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Which values in `min..=max` the field allows, indexed by value.
fn parse_field(field: &str, min: usize, max: usize, names: &[&str]) -> Option<Vec<bool>> {
    let mut allowed = vec![false; max + 1];
    let value = |text: &str| -> Option<usize> {
        let lower = text.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            // Month names count from 1, weekday names from 0.
            return Some(if min == 1 { i + 1 } else { i });
        }
        text.parse().ok().filter(|v| (min..=max).contains(v))
    };
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, step.parse::<usize>().ok().filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (start, end) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if item.contains('/') => (value(range)?, max),
                None => {
                    let v = value(range)?;
                    (v, v)
                }
            },
        };
        if start > end {
            return None;
        }
        for v in (start..=end).step_by(step) {
            allowed[v] = true;
        }
    }
    Some(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_of_common_schedules() {
        assert_eq!(longest_gap_minutes("*/15 * * * *"), Some(15));
        assert_eq!(longest_gap_minutes("0 */2 * * *"), Some(120));
        assert_eq!(longest_gap_minutes("30 5 * * *"), Some(1440));
        assert_eq!(longest_gap_minutes("0 2 * * 0"), Some(7 * 1440));
        assert_eq!(longest_gap_minutes("0 2 * * SUN"), Some(7 * 1440));
        // Weekdays 06:00 to 18:30 every half hour: the longest gap is Friday evening to
        // Monday morning.
        assert_eq!(longest_gap_minutes("*/30 6-18 * * 1-5"), Some(2 * 1440 + 11 * 60 + 30));
        assert_eq!(longest_gap_minutes("0 0 1 * *"), Some(31 * 1440));
        assert_eq!(longest_gap_minutes("0 0 29 2 *"), Some((4 * 365 + 1) * 1440));
        assert_eq!(longest_gap_minutes("0 0 31 2 *"), None);
        assert_eq!(longest_gap_minutes("not cron"), None);
    }
}
