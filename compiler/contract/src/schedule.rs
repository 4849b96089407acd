//! A source's refresh schedule, as the semantic stage reads it from `refresh ...` and as the
//! plan carries it: one type for the compiler (which checks it and records its freshness) and
//! the runtime (which decides when a source is due and when it is late).
//!
//! A [`Schedule`] is checked when it is made (by the semantic stage, or when `plan.json` is
//! read): every kind is also a [`CronExpr`], and both of its answers, [`Schedule::next_after`]
//! and [`Schedule::freshness`], come from that one cron implementation ([`crate::cron`]), so
//! a schedule that is due daily is also expected daily.

use crate::cron::{CronError, CronExpr};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a schedule is written, normalized: `hourly` is `every_hours` 1, `daily` is midnight.
/// Times are UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Form {
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
        expr: CronExpr,
    },
}

/// `refresh every 15 minutes`, `refresh daily at 06:00`, `refresh cron "0 5 * * 1-5"`,
/// normalized and checked: its numbers are in range and it fires. Times are UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "Form", into = "Form")]
pub struct Schedule {
    // `plan.json` carries the form; the cron expression it fires by is derived when the form
    // is checked, so every schedule has one.
    form: Form,
    cron: CronExpr,
}

/// Why a [`Form`] is not a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    OutOfRange(String),
    #[error(transparent)]
    Cron(#[from] CronError),
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

impl Form {
    /// The same schedule as five cron fields; an error when a number is out of its range.
    fn cron_text(&self) -> Result<String, ScheduleError> {
        let out_of_range = ScheduleError::OutOfRange;
        let clock = |hour: u32, minute: u32| {
            if hour > 23 || minute > 59 {
                Err(out_of_range(format!("{hour:02}:{minute:02} is not a time of day")))
            } else {
                Ok(())
            }
        };
        match self {
            Form::EveryMinutes { minutes } if !(1..60).contains(minutes) || 60 % minutes != 0 => {
                Err(out_of_range(format!("every {minutes} minutes does not divide the hour")))
            }
            Form::EveryHours { hours } if !(1..24).contains(hours) || 24 % hours != 0 => {
                Err(out_of_range(format!("every {hours} hours does not divide the day")))
            }
            Form::EveryMinutes { minutes: 1 } => Ok("* * * * *".to_owned()),
            Form::EveryMinutes { minutes } => Ok(format!("*/{minutes} * * * *")),
            Form::EveryHours { hours: 1 } => Ok("0 * * * *".to_owned()),
            Form::EveryHours { hours } => Ok(format!("0 */{hours} * * *")),
            Form::Daily { hour, minute } => {
                clock(*hour, *minute)?;
                Ok(format!("{minute} {hour} * * *"))
            }
            Form::Weekly { weekday, hour, minute } => {
                clock(*hour, *minute)?;
                Ok(format!("{minute} {hour} * * {}", weekday.cron_number()))
            }
            Form::Cron { expr } => Ok(expr.as_str().to_owned()),
        }
    }
}

impl TryFrom<Form> for Schedule {
    type Error = ScheduleError;

    fn try_from(form: Form) -> Result<Self, Self::Error> {
        Schedule::new(form)
    }
}

impl From<Schedule> for Form {
    fn from(schedule: Schedule) -> Form {
        schedule.form
    }
}

impl From<CronExpr> for Schedule {
    fn from(expr: CronExpr) -> Schedule {
        Schedule { form: Form::Cron { expr: expr.clone() }, cron: expr }
    }
}

impl Schedule {
    /// Checks a form: numbers in range (minutes that divide the hour, hours that divide the
    /// day, a time of day), and a cron expression that fires.
    pub fn new(form: Form) -> Result<Schedule, ScheduleError> {
        if let Form::Cron { expr } = form {
            return Ok(Schedule::from(expr));
        }
        let cron = CronExpr::parse(&form.cron_text()?)?;
        Ok(Schedule { form, cron })
    }

    pub fn form(&self) -> &Form {
        &self.form
    }

    /// The same schedule as five cron fields, whatever its kind.
    pub fn cron(&self) -> &CronExpr {
        &self.cron
    }

    /// The first scheduled instant strictly after `t`. `None` only past the year 4990.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.next_after(t)
    }

    /// How fresh the source is expected to be: the longest gap between two scheduled instants
    /// (the same answer whenever it is asked), and late after two of them.
    pub fn freshness(&self) -> Freshness {
        let every = self.cron.longest_gap_minutes();
        Freshness { expected_every_minutes: every, late_after_minutes: every.saturating_mul(2) }
    }
}

/// How fresh a source is expected to be, from its schedule. Every schedule has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Freshness {
    /// The longest time between two scheduled loads, in minutes.
    pub expected_every_minutes: u64,
    /// A source whose last load is older than this is late: two intervals.
    pub late_after_minutes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(form: Form) -> Schedule {
        Schedule::new(form.clone()).unwrap_or_else(|e| panic!("{form:?}: {e}"))
    }

    const DAY: u64 = 24 * 60;

    #[test]
    fn every_kind_reads_as_cron_and_has_a_freshness() {
        let sunday = Weekday::Sunday;
        let every = |form: Form| {
            let s = schedule(form);
            (s.cron().as_str().to_owned(), s.freshness().expected_every_minutes)
        };
        assert_eq!(every(Form::EveryMinutes { minutes: 15 }), ("*/15 * * * *".into(), 15));
        assert_eq!(every(Form::EveryMinutes { minutes: 1 }), ("* * * * *".into(), 1));
        assert_eq!(every(Form::EveryHours { hours: 1 }), ("0 * * * *".into(), 60));
        assert_eq!(every(Form::EveryHours { hours: 6 }), ("0 */6 * * *".into(), 360));
        assert_eq!(every(Form::Daily { hour: 6, minute: 30 }), ("30 6 * * *".into(), DAY));
        let weekly = Form::Weekly { weekday: sunday, hour: 2, minute: 0 };
        assert_eq!(every(weekly), ("0 2 * * 0".into(), 7 * DAY));
        let cron = CronExpr::parse("0 5 ? * *").expect("cron");
        assert_eq!(every(Form::Cron { expr: cron }), ("0 5 ? * *".into(), DAY));
        let freshness = schedule(Form::Daily { hour: 0, minute: 0 }).freshness();
        assert_eq!(
            freshness,
            Freshness { expected_every_minutes: DAY, late_after_minutes: 2 * DAY }
        );
    }

    #[test]
    fn out_of_range_forms_are_refused() {
        for form in [
            Form::EveryMinutes { minutes: 0 },
            Form::EveryMinutes { minutes: 7 },
            Form::EveryMinutes { minutes: 60 },
            Form::EveryHours { hours: 0 },
            Form::EveryHours { hours: 5 },
            Form::EveryHours { hours: 24 },
            Form::Daily { hour: 24, minute: 0 },
            Form::Weekly { weekday: Weekday::Monday, hour: 6, minute: 60 },
        ] {
            assert!(
                matches!(Schedule::new(form.clone()), Err(ScheduleError::OutOfRange(_))),
                "{form:?}"
            );
        }
    }

    #[test]
    fn the_plan_carries_the_form() {
        let daily = schedule(Form::Daily { hour: 6, minute: 0 });
        let text = serde_json::to_string(&daily).expect("json");
        assert_eq!(text, r#"{"kind":"daily","hour":6,"minute":0}"#);
        assert_eq!(serde_json::from_str::<Schedule>(&text).expect("reads back"), daily);

        let cron = r#"{"kind":"cron","expr":"0 0 1,15 * mon"}"#;
        let read: Schedule = serde_json::from_str(cron).expect("reads");
        assert_eq!(read.freshness().expected_every_minutes, 7 * DAY);
        assert_eq!(serde_json::to_string(&read).expect("json"), cron);

        let never = serde_json::from_str::<Schedule>(r#"{"kind":"cron","expr":"0 5 31 2 *"}"#);
        let error = never.expect_err("never fires").to_string();
        assert!(error.contains("never fires: no day 31 in February"), "{error}");
        let zero = serde_json::from_str::<Schedule>(r#"{"kind":"every_minutes","minutes":0}"#);
        assert!(zero.expect_err("zero").to_string().contains("does not divide the hour"));
    }

    #[test]
    fn due_times_follow_the_kind() {
        let at = |text: &str| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time").and_utc()
        };
        // 2024-03-01 is a Friday.
        let weekly = schedule(Form::Weekly { weekday: Weekday::Sunday, hour: 2, minute: 0 });
        assert_eq!(weekly.next_after(at("2024-03-01 06:00")), Some(at("2024-03-03 02:00")));
        let hourly = schedule(Form::EveryHours { hours: 1 });
        assert_eq!(hourly.next_after(at("2024-03-01 23:59")), Some(at("2024-03-02 00:00")));
    }
}
