//! Calendar months: the unit of margin plans and monthly instalments, with month arithmetic that clamps to the month's end.

use std::fmt;
use std::str::FromStr;

use super::civil::{days_in_month, Date, ParseDateError};

/// A month of a year, such as 2026-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// Months since year 0 (year × 12 + month − 1), so arithmetic and ordering are plain integers.
    index: i32,
}

impl YearMonth {
    /// The month `month` (1–12) of `year`, or `None` if the month is out of range or the year is
    /// outside the range [`Date`] supports.
    pub fn new(year: i32, month: u8) -> Option<YearMonth> {
        Date::from_ymd(year, month, 1)?;
        Some(YearMonth {
            index: year * 12 + i32::from(month) - 1,
        })
    }

    /// The month `date` falls in.
    pub fn of(date: Date) -> YearMonth {
        let (year, month, _) = date.ymd();
        YearMonth {
            index: year * 12 + i32::from(month) - 1,
        }
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    /// The month, 1–12.
    pub const fn month(self) -> u8 {
        // rem_euclid(12) is 0..=11, so the cast cannot truncate.
        self.index.rem_euclid(12) as u8 + 1
    }

    /// The month `months` later (earlier when negative), clamped to the range [`Date`] supports.
    pub fn add_months(self, months: i32) -> YearMonth {
        let (min, max) = (
            YearMonth::of(Date::MIN).index,
            YearMonth::of(Date::MAX).index,
        );
        YearMonth {
            index: self.index.saturating_add(months).clamp(min, max),
        }
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        self.day_clamped(1)
    }

    /// The last day of the month.
    pub fn last_day(self) -> Date {
        self.day_clamped(31)
    }

    /// Day `day` of the month, or the month's last day when the month is shorter (31 → 28 in February).
    pub fn day_clamped(self, day: u8) -> Date {
        let (year, month) = (self.year(), self.month());
        let day = day.clamp(1, days_in_month(year, month));
        // The month comes from a valid date, so the day exists.
        Date::from_ymd(year, month, day).unwrap_or(Date::MAX)
    }
}

/// `date` moved by `months` calendar months, keeping the day of month where the target month has
/// it and otherwise taking the target month's last day (2026-01-31 + 1 month = 2026-02-28).
pub fn add_months(date: Date, months: i32) -> Date {
    YearMonth::of(date)
        .add_months(months)
        .day_clamped(date.day())
}

impl fmt::Display for YearMonth {
    /// Formats the month as `YYYY-MM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first_day().to_string();
        f.write_str(&first[..first.len() - 3])
    }
}

impl fmt::Debug for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "YearMonth({self})")
    }
}

impl FromStr for YearMonth {
    type Err = ParseDateError;

    /// Parses `YYYY-MM`.
    fn from_str(text: &str) -> Result<YearMonth, ParseDateError> {
        let date: Date = format!("{text}-01").parse()?;
        Ok(YearMonth::of(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    #[test]
    fn month_arithmetic_clamps_to_the_end_of_the_month() {
        let end_of_january = date(2026, 1, 31);
        assert_eq!(add_months(end_of_january, 1), date(2026, 2, 28));
        assert_eq!(add_months(end_of_january, 2), date(2026, 3, 31));
        assert_eq!(add_months(end_of_january, 3), date(2026, 4, 30));
        assert_eq!(add_months(date(2024, 1, 31), 1), date(2024, 2, 29));
        assert_eq!(add_months(date(2026, 1, 15), 12), date(2027, 1, 15));
        assert_eq!(add_months(date(2026, 3, 31), -1), date(2026, 2, 28));
        assert_eq!(add_months(date(2026, 12, 10), 1), date(2027, 1, 10));
        assert_eq!(add_months(date(2026, 1, 10), -13), date(2024, 12, 10));
    }

    #[test]
    fn months_know_their_days() {
        let february = YearMonth::new(2026, 2).unwrap();
        assert_eq!(february.first_day(), date(2026, 2, 1));
        assert_eq!(february.last_day(), date(2026, 2, 28));
        assert_eq!(february.day_clamped(30), date(2026, 2, 28));
        assert_eq!(february.day_clamped(0), date(2026, 2, 1));
        assert_eq!(
            YearMonth::of(date(2026, 12, 31)),
            YearMonth::new(2026, 12).unwrap()
        );
        assert_eq!(
            YearMonth::new(2026, 12).unwrap().add_months(1),
            YearMonth::new(2027, 1).unwrap()
        );
        assert_eq!(YearMonth::new(2026, 13), None);
        assert_eq!(YearMonth::new(2026, 0), None);
        assert!(YearMonth::new(2026, 1).unwrap() < YearMonth::new(2026, 2).unwrap());
    }

    #[test]
    fn text_round_trips() {
        let month = YearMonth::new(2026, 3).unwrap();
        assert_eq!(month.to_string(), "2026-03");
        assert_eq!("2026-03".parse(), Ok(month));
        assert!("2026-13".parse::<YearMonth>().is_err());
        assert!("2026-3".parse::<YearMonth>().is_err());
        assert!("2026-03-01".parse::<YearMonth>().is_err());
    }
}
