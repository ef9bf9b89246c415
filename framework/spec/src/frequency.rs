//! Sampling frequencies of a series (`D`, `W-MON`..`W-SUN`, `MS`, `M`) and
//! the calendar arithmetic between consecutive periods.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How often a series is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Frequency {
    /// Every calendar day.
    #[serde(rename = "D")]
    Daily,
    /// Weekly, periods starting (dated) on the given weekday.
    #[serde(rename = "W-MON")]
    WeeklyMon,
    #[serde(rename = "W-TUE")]
    WeeklyTue,
    #[serde(rename = "W-WED")]
    WeeklyWed,
    #[serde(rename = "W-THU")]
    WeeklyThu,
    #[serde(rename = "W-FRI")]
    WeeklyFri,
    #[serde(rename = "W-SAT")]
    WeeklySat,
    #[serde(rename = "W-SUN")]
    WeeklySun,
    /// Monthly, dated on the first day of the month.
    #[serde(rename = "MS")]
    MonthStart,
    /// Monthly, dated on the last day of the month.
    #[serde(rename = "M")]
    MonthEnd,
}

impl Frequency {
    fn weekday(self) -> Option<Weekday> {
        Some(match self {
            Frequency::WeeklyMon => Weekday::Mon,
            Frequency::WeeklyTue => Weekday::Tue,
            Frequency::WeeklyWed => Weekday::Wed,
            Frequency::WeeklyThu => Weekday::Thu,
            Frequency::WeeklyFri => Weekday::Fri,
            Frequency::WeeklySat => Weekday::Sat,
            Frequency::WeeklySun => Weekday::Sun,
            _ => return None,
        })
    }

    /// Whether `date` is a valid period label of this frequency.
    pub fn is_aligned(self, date: NaiveDate) -> bool {
        match self {
            Frequency::Daily => true,
            Frequency::MonthStart => date.day() == 1,
            Frequency::MonthEnd => date.succ_opt().is_none_or(|d| d.day() == 1),
            _ => self.weekday() == Some(date.weekday()),
        }
    }

    /// The period that contains `date` (for aggregating timestamps).
    pub fn floor(self, date: NaiveDate) -> NaiveDate {
        match self {
            Frequency::Daily => date,
            Frequency::MonthStart => date.with_day(1).expect("day 1 exists"),
            Frequency::MonthEnd => last_of_month(date),
            _ => {
                let start = self.weekday().expect("weekly");
                let back = (7 + date.weekday().num_days_from_monday() - start.num_days_from_monday()) % 7;
                date - Days::new(back.into())
            }
        }
    }

    /// The label `n` periods after the aligned label `date`.
    pub fn advance(self, date: NaiveDate, n: usize) -> NaiveDate {
        self.shift(date, n as i64)
    }

    /// The label `n` periods after (`n < 0`: before) the aligned label `date`.
    pub fn shift(self, date: NaiveDate, n: i64) -> NaiveDate {
        let days = |d: i64| {
            if d >= 0 {
                date + Days::new(d as u64)
            } else {
                date - Days::new(d.unsigned_abs())
            }
        };
        let months = |from: NaiveDate| {
            let m = Months::new(n.unsigned_abs() as u32);
            if n >= 0 { from + m } else { from - m }
        };
        match self {
            Frequency::Daily => days(n),
            Frequency::MonthStart => months(date),
            Frequency::MonthEnd => last_of_month(months(date.with_day(1).expect("day 1"))),
            _ => days(7 * n),
        }
    }

    /// Number of periods from aligned label `from` to aligned label `to`.
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> i64 {
        match self {
            Frequency::Daily => (to - from).num_days(),
            Frequency::MonthStart | Frequency::MonthEnd => {
                (to.year() as i64 * 12 + to.month0() as i64) - (from.year() as i64 * 12 + from.month0() as i64)
            }
            _ => (to - from).num_days().div_euclid(7),
        }
    }

    /// The spec spelling (`"W-MON"`).
    pub fn code(self) -> &'static str {
        match self {
            Frequency::Daily => "D",
            Frequency::WeeklyMon => "W-MON",
            Frequency::WeeklyTue => "W-TUE",
            Frequency::WeeklyWed => "W-WED",
            Frequency::WeeklyThu => "W-THU",
            Frequency::WeeklyFri => "W-FRI",
            Frequency::WeeklySat => "W-SAT",
            Frequency::WeeklySun => "W-SUN",
            Frequency::MonthStart => "MS",
            Frequency::MonthEnd => "M",
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

fn last_of_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).expect("day 1 exists");
    first + Months::new(1) - Days::new(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_alignment_floor_and_steps() {
        let f = Frequency::WeeklyMon;
        assert!(f.is_aligned(d("2010-12-06")));
        assert!(!f.is_aligned(d("2010-12-07")));
        assert_eq!(f.floor(d("2010-12-12")), d("2010-12-06"));
        assert_eq!(f.advance(d("2010-12-06"), 4), d("2011-01-03"));
        assert_eq!(f.periods_between(d("2010-12-06"), d("2011-01-03")), 4);
        assert_eq!(Frequency::WeeklySun.floor(d("2024-01-03")), d("2023-12-31"));
    }

    #[test]
    fn monthly_labels() {
        assert_eq!(Frequency::MonthEnd.advance(d("2024-01-31"), 1), d("2024-02-29"));
        assert!(Frequency::MonthEnd.is_aligned(d("2023-02-28")));
        assert_eq!(Frequency::MonthStart.floor(d("2024-03-17")), d("2024-03-01"));
        assert_eq!(
            Frequency::MonthStart.periods_between(d("2023-11-01"), d("2024-02-01")),
            3
        );
    }
}
