//! A source's refresh schedule, as the semantic stage reads it from `refresh ...` and as the
//! plan carries it: one type for the compiler (which checks it and computes its freshness) and
//! the runtime (which decides when a source is due).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `refresh every 15 minutes`, `refresh daily at 06:00`, `refresh cron "0 5 * * 1-5"`. Times
/// are UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every `minutes` minutes from the top of the hour (`minutes` divides 60).
    EveryMinutes {
        minutes: u32,
    },
    /// Every `hours` hours from midnight (`hours` divides 24).
    EveryHours {
        hours: u32,
    },
    Daily {
        hour: u32,
        minute: u32,
    },
    Weekly {
        weekday: Weekday,
        hour: u32,
        minute: u32,
    },
    /// Five POSIX cron fields: minute, hour, day of month, month, day of week.
    Cron {
        expr: String,
    },
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// The day of week as cron numbers it: Sunday is 0.
    pub fn cron_number(self) -> u32 {
        match self {
            Weekday::Sunday => 0,
            Weekday::Monday => 1,
            Weekday::Tuesday => 2,
            Weekday::Wednesday => 3,
            Weekday::Thursday => 4,
            Weekday::Friday => 5,
            Weekday::Saturday => 6,
        }
    }
}

impl Schedule {
    /// The same schedule as five cron fields, whatever its kind.
    pub fn cron(&self) -> String {
        match self {
            Schedule::EveryMinutes { minutes: 1 } => "* * * * *".to_owned(),
            Schedule::EveryMinutes { minutes } => format!("*/{minutes} * * * *"),
            Schedule::EveryHours { hours: 1 } => "0 * * * *".to_owned(),
            Schedule::EveryHours { hours } => format!("0 */{hours} * * *"),
            Schedule::Daily { hour, minute } => format!("{minute} {hour} * * *"),
            Schedule::Weekly { weekday, hour, minute } => {
                format!("{minute} {hour} * * {}", weekday.cron_number())
            }
            Schedule::Cron { expr } => expr.clone(),
        }
    }
}

/// How fresh a source is expected to be, from its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Freshness {
    /// The longest time between two scheduled loads, in minutes.
    pub expected_every_minutes: Option<u64>,
    /// A source whose last load is older than this is late: two intervals.
    pub late_after_minutes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_as_cron() {
        assert_eq!(Schedule::EveryMinutes { minutes: 15 }.cron(), "*/15 * * * *");
        assert_eq!(Schedule::EveryHours { hours: 1 }.cron(), "0 * * * *");
        assert_eq!(Schedule::Daily { hour: 6, minute: 30 }.cron(), "30 6 * * *");
        let weekly = Schedule::Weekly { weekday: Weekday::Sunday, hour: 2, minute: 0 };
        assert_eq!(weekly.cron(), "0 2 * * 0");
    }

    #[test]
    fn the_kind_is_a_tag() {
        let text = serde_json::to_string(&Schedule::Daily { hour: 6, minute: 0 }).expect("json");
        assert_eq!(text, r#"{"kind":"daily","hour":6,"minute":0}"#);
        let back: Schedule = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, Schedule::Daily { hour: 6, minute: 0 });
    }
}
