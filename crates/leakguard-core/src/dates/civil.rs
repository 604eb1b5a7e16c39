//! Civil (proleptic Gregorian) dates, weekdays and weekday sets.
//!
//! This is a tiny own implementation instead of the `time` crate: the domain only needs
//! "year-month-day ↔ day number" and the weekday, and a date stored as a day number makes
//! comparisons, ranges and day arithmetic plain integer operations. The conversions are
//! Howard Hinnant's public-domain `days_from_civil` / `civil_from_days` algorithms, and the
//! tests compare every day of 800 years against the `time` crate.

use std::fmt;
use std::str::FromStr;

/// A calendar date without a time zone, stored as the number of days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i32,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A set of weekdays, for example the weekly days off of a calendar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WeekdaySet(u8);

/// The error returned when a string is not an ISO `YYYY-MM-DD` date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseDateError;

const MIN_YEAR: i32 = -9999;
const MAX_YEAR: i32 = 9999;

impl Date {
    /// The earliest representable date, -9999-01-01.
    pub const MIN: Date = Date {
        days: days_from_civil(MIN_YEAR, 1, 1),
    };
    /// The latest representable date, 9999-12-31.
    pub const MAX: Date = Date {
        days: days_from_civil(MAX_YEAR, 12, 31),
    };
    /// 1970-01-01, the day the Unix epoch starts.
    pub const UNIX_EPOCH: Date = Date { days: 0 };

    /// Builds a date from year, month (1–12) and day (1–31), or `None` if no such date exists
    /// or the year is outside -9999..=9999.
    pub const fn from_ymd(year: i32, month: u8, day: u8) -> Option<Date> {
        if year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 {
            return None;
        }
        if day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            days: days_from_civil(year, month, day),
        })
    }

    /// The date that is `days` days after 1970-01-01 (negative values are before it),
    /// clamped to [`Date::MIN`]..=[`Date::MAX`].
    pub fn from_days_since_epoch(days: i64) -> Date {
        let clamped = days.clamp(i64::from(Self::MIN.days), i64::from(Self::MAX.days));
        // The clamp keeps the value inside the i32 range of MIN..=MAX.
        Date {
            days: clamped as i32,
        }
    }

    /// The number of days since 1970-01-01 (negative before it).
    pub const fn days_since_epoch(self) -> i64 {
        self.days as i64
    }

    /// Year, month (1–12) and day of month (1–31).
    pub const fn ymd(self) -> (i32, u8, u8) {
        civil_from_days(self.days)
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.ymd().0
    }

    /// The month, 1–12.
    pub const fn month(self) -> u8 {
        self.ymd().1
    }

    /// The day of the month, 1–31.
    pub const fn day(self) -> u8 {
        self.ymd().2
    }

    /// The day of the week.
    pub const fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday, which is index 3 counting from Monday = 0.
        Weekday::ALL[(self.days as i64 + 3).rem_euclid(7) as usize]
    }

    /// The date `days` days later (earlier when negative), clamped to [`Date::MIN`]..=[`Date::MAX`].
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(i64::from(self.days).saturating_add(days))
    }

    /// The following day (saturating at [`Date::MAX`]).
    pub fn next(self) -> Date {
        self.add_days(1)
    }

    /// The previous day (saturating at [`Date::MIN`]).
    pub fn previous(self) -> Date {
        self.add_days(-1)
    }

    /// The signed number of days from `self` to `later`.
    pub const fn days_until(self, later: Date) -> i64 {
        later.days as i64 - self.days as i64
    }
}

impl fmt::Display for Date {
    /// Formats the date as ISO 8601 `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        if year < 0 {
            write!(f, "-{:04}-{month:02}-{day:02}", -year)
        } else {
            write!(f, "{year:04}-{month:02}-{day:02}")
        }
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = ParseDateError;

    /// Parses an ISO 8601 calendar date `YYYY-MM-DD` (four-digit year, no sign).
    fn from_str(text: &str) -> Result<Date, ParseDateError> {
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !well_formed {
            return Err(ParseDateError);
        }
        let number =
            |range: std::ops::Range<usize>| text[range].parse::<i32>().map_err(|_| ParseDateError);
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        // Month and day have two digits, so the casts cannot truncate.
        Date::from_ymd(year, month as u8, day as u8).ok_or(ParseDateError)
    }
}

impl fmt::Display for ParseDateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a date in the form YYYY-MM-DD")
    }
}

impl std::error::Error for ParseDateError {}

impl Weekday {
    /// All weekdays from Monday to Sunday.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The ISO 8601 number of the day: Monday = 1 … Sunday = 7.
    pub const fn number_from_monday(self) -> u8 {
        self as u8 + 1
    }

    /// The weekday with the ISO 8601 number `number` (Monday = 1 … Sunday = 7).
    pub const fn from_number_from_monday(number: u8) -> Option<Weekday> {
        if number >= 1 && number <= 7 {
            Some(Weekday::ALL[number as usize - 1])
        } else {
            None
        }
    }
}

impl WeekdaySet {
    /// No weekday.
    pub const EMPTY: WeekdaySet = WeekdaySet(0);
    /// Saturday and Sunday, the usual weekend.
    pub const SATURDAY_SUNDAY: WeekdaySet = WeekdaySet::EMPTY
        .with(Weekday::Saturday)
        .with(Weekday::Sunday);

    /// This set plus `day`.
    pub const fn with(self, day: Weekday) -> WeekdaySet {
        WeekdaySet(self.0 | 1 << day as u8)
    }

    /// Whether `day` is in the set.
    pub const fn contains(self, day: Weekday) -> bool {
        self.0 & 1 << day as u8 != 0
    }

    /// The number of weekdays in the set.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The weekdays in the set, from Monday to Sunday.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        Weekday::ALL
            .into_iter()
            .filter(move |day| self.contains(*day))
    }
}

impl FromIterator<Weekday> for WeekdaySet {
    fn from_iter<I: IntoIterator<Item = Weekday>>(days: I) -> WeekdaySet {
        days.into_iter().fold(WeekdaySet::EMPTY, WeekdaySet::with)
    }
}

const fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid civil date (Hinnant's `days_from_civil`).
const fn days_from_civil(year: i32, month: u8, day: u8) -> i32 {
    // The year is counted from March so that the leap day is the last day of the year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month as i32 + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i32 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day number (Hinnant's `civil_from_days`).
const fn civil_from_days(days: i32) -> (i32, u8, u8) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    #[test]
    fn every_day_of_eight_centuries_matches_the_time_crate() {
        let mut reference = time::Date::from_calendar_date(1600, time::Month::January, 1).unwrap();
        let mut ours = date(1600, 1, 1);
        while reference.year() < 2400 {
            let (year, month, day) = ours.ymd();
            assert_eq!(
                (year, month, day),
                (
                    reference.year(),
                    u8::from(reference.month()),
                    reference.day()
                ),
                "day number {}",
                ours.days_since_epoch()
            );
            assert_eq!(
                ours.weekday().number_from_monday(),
                reference.weekday().number_from_monday()
            );
            assert_eq!(Date::from_ymd(year, month, day), Some(ours));
            assert_eq!(
                ours.days_since_epoch(),
                i64::from(
                    reference.to_julian_day()
                        - time::Date::from_calendar_date(1970, time::Month::January, 1)
                            .unwrap()
                            .to_julian_day()
                )
            );
            reference = reference.next_day().unwrap();
            ours = ours.next();
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(Date::UNIX_EPOCH, date(1970, 1, 1));
        assert_eq!(date(1970, 1, 1).weekday(), Weekday::Thursday);
        assert_eq!(date(2026, 1, 1).weekday(), Weekday::Thursday);
        assert_eq!(date(2000, 2, 29).weekday(), Weekday::Tuesday);
        assert_eq!(date(1969, 12, 31).days_since_epoch(), -1);
        assert_eq!(date(2026, 1, 9).days_since_epoch(), 20_462);
        assert_eq!(date(2026, 3, 1).previous(), date(2026, 2, 28));
        assert_eq!(date(2024, 3, 1).previous(), date(2024, 2, 29));
        assert_eq!(date(2025, 12, 31).days_until(date(2026, 1, 12)), 12);
    }

    #[test]
    fn invalid_dates_are_rejected() {
        assert_eq!(Date::from_ymd(2025, 2, 29), None);
        assert_eq!(Date::from_ymd(1900, 2, 29), None);
        assert!(Date::from_ymd(2000, 2, 29).is_some());
        assert_eq!(Date::from_ymd(2026, 4, 31), None);
        assert_eq!(Date::from_ymd(2026, 13, 1), None);
        assert_eq!(Date::from_ymd(2026, 0, 1), None);
        assert_eq!(Date::from_ymd(2026, 1, 0), None);
        assert_eq!(Date::from_ymd(10_000, 1, 1), None);
    }

    #[test]
    fn arithmetic_saturates_at_the_limits() {
        assert_eq!(Date::MAX.next(), Date::MAX);
        assert_eq!(Date::MIN.previous(), Date::MIN);
        assert_eq!(Date::MAX.add_days(i64::MAX), Date::MAX);
        assert_eq!(Date::MIN.add_days(i64::MIN), Date::MIN);
        assert_eq!(Date::MAX.ymd(), (9999, 12, 31));
        assert_eq!(Date::MIN.ymd(), (-9999, 1, 1));
    }

    #[test]
    fn iso_text_round_trips() {
        assert_eq!(date(2026, 1, 9).to_string(), "2026-01-09");
        assert_eq!(format!("{:?}", date(2026, 1, 9)), "Date(2026-01-09)");
        assert_eq!("2026-01-09".parse(), Ok(date(2026, 1, 9)));
        assert_eq!("0999-12-31".parse(), Ok(date(999, 12, 31)));
        for bad in [
            "2026-1-09",
            "2026-02-30",
            "2026/01/09",
            "+026-01-09",
            "2026-01-09 ",
            "",
            "20260109",
        ] {
            assert_eq!(bad.parse::<Date>(), Err(ParseDateError), "{bad:?}");
        }
    }

    #[test]
    fn weekday_sets() {
        let weekend = WeekdaySet::SATURDAY_SUNDAY;
        assert!(weekend.contains(Weekday::Saturday) && weekend.contains(Weekday::Sunday));
        assert!(!weekend.contains(Weekday::Friday));
        assert_eq!(weekend.len(), 2);
        let friday_saturday: WeekdaySet =
            [Weekday::Friday, Weekday::Saturday].into_iter().collect();
        assert_eq!(
            friday_saturday.iter().collect::<Vec<_>>(),
            [Weekday::Friday, Weekday::Saturday]
        );
        assert!(WeekdaySet::EMPTY.is_empty());
        for day in Weekday::ALL {
            assert_eq!(
                Weekday::from_number_from_monday(day.number_from_monday()),
                Some(day)
            );
        }
        assert_eq!(Weekday::from_number_from_monday(0), None);
        assert_eq!(Weekday::from_number_from_monday(8), None);
    }
}
