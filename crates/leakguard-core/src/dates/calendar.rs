//! Working-day calendars: the Russian production calendar or a configurable weekend and holiday list.

use std::collections::BTreeSet;
use std::fmt;

use holidays_ru::{Federal, Resolved};

use super::civil::{Date, WeekdaySet};

/// Which days are working days.
///
/// A day is a working day if it is listed as an extra working day, or else if it is neither a
/// weekly day off, nor a listed holiday, nor (in years without explicit data) an annual holiday.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    weekend: WeekdaySet,
    /// Days off that fall on days that would otherwise be working days.
    holidays: BTreeSet<Date>,
    /// Working days that fall on weekly days off (for example transferred working Saturdays).
    extra_working_days: BTreeSet<Date>,
    /// Month-day holidays that apply in every year outside `explicit_years`.
    annual_holidays: &'static [(u8, u8)],
    explicit_years: std::ops::RangeInclusive<i32>,
}

/// The reason a custom calendar was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarError {
    /// Every weekday is a day off, so no working day could ever be found.
    NoWorkingWeekday,
}

/// The non-working public holidays fixed by article 112 of the Russian Labour Code.
const RUSSIAN_FEDERAL_HOLIDAYS: &[(u8, u8)] = &[
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
    (1, 8),
    (2, 23),
    (3, 8),
    (5, 1),
    (5, 9),
    (6, 12),
    (11, 4),
];

impl Calendar {
    /// The Russian federal production calendar.
    ///
    /// For the years with an official calendar in the `holidays-ru` crate (1993–2027 in 0.2.2)
    /// the official working days are used, including holidays moved to other days and
    /// transferred working Saturdays.
    /// For every other year the crate only predicts transfers; those predictions are not used,
    /// and the calendar falls back to Monday–Friday minus the fixed federal holidays
    /// (1–8 January, 23 February, 8 March, 1 and 9 May, 12 June, 4 November).
    pub fn russian() -> Calendar {
        let first = Date::from_ymd(holidays_ru::FIRST_FACT_YEAR, 1, 1).unwrap_or(Date::MIN);
        let last = Date::from_ymd(holidays_ru::LAST_FACT_YEAR, 12, 31).unwrap_or(Date::MIN);
        let weekend = WeekdaySet::SATURDAY_SUNDAY;
        let mut holidays = BTreeSet::new();
        let mut extra_working_days = BTreeSet::new();
        let mut day = first;
        while day <= last {
            let (year, month, day_of_month) = day.ymd();
            if let Some(Resolved::Fact(flags)) =
                holidays_ru::flags_ymd::<Federal>(year, month, day_of_month)
            {
                match (flags.is_working_day(), weekend.contains(day.weekday())) {
                    (false, false) => {
                        holidays.insert(day);
                    }
                    (true, true) => {
                        extra_working_days.insert(day);
                    }
                    _ => {}
                }
            }
            day = day.next();
        }
        Calendar {
            weekend,
            holidays,
            extra_working_days,
            annual_holidays: RUSSIAN_FEDERAL_HOLIDAYS,
            explicit_years: holidays_ru::FIRST_FACT_YEAR..=holidays_ru::LAST_FACT_YEAR,
        }
    }

    /// A calendar with the given weekly days off, holidays and extra working days.
    ///
    /// A date listed both as a holiday and as an extra working day is a working day.
    /// A weekend of all seven days is refused because no working day could ever follow.
    pub fn custom(
        weekend: WeekdaySet,
        holidays: BTreeSet<Date>,
        extra_working_days: BTreeSet<Date>,
    ) -> Result<Calendar, CalendarError> {
        if weekend.len() == 7 {
            return Err(CalendarError::NoWorkingWeekday);
        }
        Ok(Calendar {
            weekend,
            holidays,
            extra_working_days,
            annual_holidays: &[],
            explicit_years: i32::MIN..=i32::MAX,
        })
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.extra_working_days.contains(&date) {
            return true;
        }
        !(self.weekend.contains(date.weekday())
            || self.holidays.contains(&date)
            || self.is_annual_holiday(date))
    }

    /// `date` itself if it is a working day, otherwise the first working day after it.
    pub fn next_working_day_on_or_after(&self, date: Date) -> Date {
        let mut day = date;
        while !self.is_working_day(day) && day < Date::MAX {
            day = day.next();
        }
        day
    }

    /// The date `n` working days after `date`: with `n = 0` the date itself if it is a working day,
    /// else the next working day. The result is always a working day, and for `n > 0`
    /// `working_days_between(date, result) == n`. Results past [`Date::MAX`] saturate to it.
    pub fn add_working_days(&self, date: Date, n: u32) -> Date {
        if n == 0 {
            return self.next_working_day_on_or_after(date);
        }
        let target = i64::from(n);
        // Find a date range (low, high] whose end has reached the target count by doubling a
        // first estimate, then bisect: the count only grows on working days, so the first date
        // that reaches `n` is the answer.
        let per_week = i64::from(7 - self.weekend.len());
        let mut low = date;
        let mut high = date.add_days(target * 7 / per_week + 7);
        while self.working_days_between(date, high) < target {
            if high == Date::MAX {
                return Date::MAX;
            }
            low = high;
            high = high.add_days(date.days_until(high));
        }
        while low.days_until(high) > 1 {
            let middle = low.add_days(low.days_until(high) / 2);
            if self.working_days_between(date, middle) >= target {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    }

    /// The number of working days in `(from, to]`; negative (the count in `(to, from]`) when `to < from`.
    pub fn working_days_between(&self, from: Date, to: Date) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let days = from.days_until(to);
        let per_week = i64::from(7 - self.weekend.len());
        let mut count = days / 7 * per_week;
        let mut day = from.add_days(days / 7 * 7);
        while day < to {
            day = day.next();
            if !self.weekend.contains(day.weekday()) {
                count += 1;
            }
        }
        let inside = (
            std::ops::Bound::Excluded(from),
            std::ops::Bound::Included(to),
        );
        let on_workday = |day: &&Date| !self.weekend.contains(day.weekday());
        let extra = |day: &Date| self.extra_working_days.contains(day);
        count -= self
            .holidays
            .range(inside)
            .filter(on_workday)
            .filter(|day| !extra(day))
            .count() as i64;
        count += self
            .extra_working_days
            .range(inside)
            .filter(|day| !on_workday(day))
            .count() as i64;
        for year in from.year()..=to.year() {
            if self.explicit_years.contains(&year) {
                continue;
            }
            for &(month, day_of_month) in self.annual_holidays {
                let Some(day) = Date::from_ymd(year, month, day_of_month) else {
                    continue;
                };
                if day > from
                    && day <= to
                    && on_workday(&&day)
                    && !extra(&day)
                    && !self.holidays.contains(&day)
                {
                    count -= 1;
                }
            }
        }
        count
    }

    /// The weekly days off.
    pub fn weekend(&self) -> WeekdaySet {
        self.weekend
    }

    fn is_annual_holiday(&self, date: Date) -> bool {
        let (year, month, day) = date.ymd();
        !self.explicit_years.contains(&year) && self.annual_holidays.contains(&(month, day))
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a calendar needs at least one working weekday")
    }
}

impl std::error::Error for CalendarError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::Weekday;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    fn dates(list: &[(i32, u8, u8)]) -> BTreeSet<Date> {
        list.iter().map(|&(y, m, d)| date(y, m, d)).collect()
    }

    fn friday_saturday() -> WeekdaySet {
        [Weekday::Friday, Weekday::Saturday].into_iter().collect()
    }

    /// The reference: walk day by day and count working days.
    fn naive_add(calendar: &Calendar, start: Date, n: u32) -> Date {
        let mut day = start;
        if n == 0 {
            while !calendar.is_working_day(day) {
                day = day.next();
            }
            return day;
        }
        let mut left = n;
        loop {
            day = day.next();
            if calendar.is_working_day(day) {
                left -= 1;
                if left == 0 {
                    return day;
                }
            }
        }
    }

    fn naive_between(calendar: &Calendar, from: Date, to: Date) -> i64 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.next();
            count += i64::from(calendar.is_working_day(day));
        }
        count
    }

    #[test]
    fn plain_weekends() {
        let calendar = Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        let friday = date(2026, 1, 16);
        assert!(calendar.is_working_day(friday));
        assert!(!calendar.is_working_day(date(2026, 1, 17)));
        assert!(!calendar.is_working_day(date(2026, 1, 18)));
        assert_eq!(calendar.add_working_days(friday, 1), date(2026, 1, 19));
        assert_eq!(calendar.add_working_days(friday, 5), date(2026, 1, 23));
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 17), 0),
            date(2026, 1, 19)
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 17), 1),
            date(2026, 1, 19)
        );
        assert_eq!(calendar.add_working_days(friday, 0), friday);
        assert_eq!(calendar.working_days_between(friday, date(2026, 1, 19)), 1);
        assert_eq!(calendar.working_days_between(date(2026, 1, 19), friday), -1);
        assert_eq!(calendar.working_days_between(friday, friday), 0);
    }

    #[test]
    fn russian_new_year_holidays_2026() {
        let calendar = Calendar::russian();
        // 1–8 January are holidays and 9 January (a Friday) is the day off moved from 3 January.
        for day in 1..=11 {
            assert!(
                !calendar.is_working_day(date(2026, 1, day)),
                "2026-01-{day:02}"
            );
        }
        assert!(calendar.is_working_day(date(2026, 1, 12)));
        // 31 December 2025 was a day off moved from a weekend as well.
        assert!(!calendar.is_working_day(date(2025, 12, 31)));
        assert!(calendar.is_working_day(date(2025, 12, 30)));
        assert_eq!(
            calendar.add_working_days(date(2025, 12, 30), 1),
            date(2026, 1, 12)
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 2), 0),
            date(2026, 1, 12)
        );
        assert_eq!(
            calendar.working_days_between(date(2025, 12, 29), date(2026, 1, 13)),
            3
        );
        // 9 March 2026 (Monday) replaces 8 March (Sunday); 11 May replaces 9 May (Saturday).
        assert!(!calendar.is_working_day(date(2026, 3, 9)));
        assert!(!calendar.is_working_day(date(2026, 5, 11)));
        assert_eq!(
            calendar.add_working_days(date(2026, 3, 6), 1),
            date(2026, 3, 10)
        );
    }

    #[test]
    fn russian_transferred_working_saturdays() {
        let calendar = Calendar::russian();
        // Saturday 1 November 2025 was a working day (its day off moved to Monday 3 November).
        let saturday = date(2025, 11, 1);
        assert_eq!(saturday.weekday(), Weekday::Saturday);
        assert!(calendar.is_working_day(saturday));
        assert!(!calendar.is_working_day(date(2025, 11, 3)));
        assert!(!calendar.is_working_day(date(2025, 11, 4)));
        assert_eq!(calendar.add_working_days(date(2025, 10, 31), 1), saturday);
        assert_eq!(calendar.add_working_days(saturday, 1), date(2025, 11, 5));
        // Saturday 28 December 2024 and Saturday 20 February 2027 were working days too.
        assert!(calendar.is_working_day(date(2024, 12, 28)));
        assert!(calendar.is_working_day(date(2027, 2, 20)));
        assert!(!calendar.is_working_day(date(2027, 2, 22)));
    }

    #[test]
    fn russian_fallback_outside_the_official_years() {
        let calendar = Calendar::russian();
        // 2028 has no official calendar: fixed holidays only, no predicted transfers.
        assert!(!calendar.is_working_day(date(2028, 3, 8)));
        assert!(!calendar.is_working_day(date(2028, 1, 3)));
        // 1 January 2028 is a Saturday; the crate would predict a transfer to 10 January, which is not used.
        assert_eq!(date(2028, 1, 1).weekday(), Weekday::Saturday);
        assert!(calendar.is_working_day(date(2028, 1, 10)));
        assert!(calendar.is_working_day(date(2028, 12, 29)));
        assert_eq!(
            calendar.add_working_days(date(2027, 12, 30), 1),
            date(2028, 1, 10)
        );
        assert!(calendar.is_working_day(date(1992, 12, 31)));
        assert!(!calendar.is_working_day(date(1992, 1, 2)));
    }

    #[test]
    fn custom_friday_saturday_weekend() {
        let calendar =
            Calendar::custom(friday_saturday(), BTreeSet::new(), BTreeSet::new()).unwrap();
        let thursday = date(2026, 1, 15);
        assert!(!calendar.is_working_day(date(2026, 1, 16)));
        assert!(!calendar.is_working_day(date(2026, 1, 17)));
        assert!(calendar.is_working_day(date(2026, 1, 18)));
        assert_eq!(calendar.add_working_days(thursday, 1), date(2026, 1, 18));
        assert_eq!(
            calendar.working_days_between(thursday, date(2026, 1, 22)),
            5
        );
    }

    #[test]
    fn custom_holidays_and_extra_working_days() {
        let holidays = dates(&[(2026, 1, 19), (2026, 1, 20), (2026, 1, 24)]);
        let extra = dates(&[(2026, 1, 24), (2026, 1, 25)]);
        let calendar = Calendar::custom(WeekdaySet::SATURDAY_SUNDAY, holidays, extra).unwrap();
        assert!(!calendar.is_working_day(date(2026, 1, 19)));
        assert!(!calendar.is_working_day(date(2026, 1, 20)));
        // Listed both as a holiday and as a working day: the working day wins.
        assert!(calendar.is_working_day(date(2026, 1, 24)));
        assert!(calendar.is_working_day(date(2026, 1, 25)));
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 16), 1),
            date(2026, 1, 21)
        );
        assert_eq!(
            calendar.working_days_between(date(2026, 1, 16), date(2026, 1, 26)),
            6
        );
    }

    #[test]
    fn a_weekend_of_seven_days_is_refused() {
        let everything: WeekdaySet = Weekday::ALL.into_iter().collect();
        assert_eq!(
            Calendar::custom(everything, BTreeSet::new(), BTreeSet::new()),
            Err(CalendarError::NoWorkingWeekday)
        );
    }

    #[test]
    fn a_long_holiday_list_is_skipped() {
        let year_off: BTreeSet<Date> = (0..365).map(|i| date(2026, 1, 1).add_days(i)).collect();
        let calendar = Calendar::custom(WeekdaySet::EMPTY, year_off, BTreeSet::new()).unwrap();
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 1), 1),
            date(2027, 1, 1)
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 1), 0),
            date(2027, 1, 1)
        );
    }

    #[test]
    fn huge_counts_saturate() {
        let calendar = Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 1), u32::MAX),
            Date::MAX
        );
        assert!(calendar.add_working_days(date(2026, 1, 1), 1_000_000) < Date::MAX);
        let far = calendar.add_working_days(date(2026, 1, 1), 1_000_000);
        assert_eq!(
            calendar.working_days_between(date(2026, 1, 1), far),
            1_000_000
        );
    }

    /// Compares the fast count and search with a day-by-day walk for every start day of a few years.
    fn assert_matches_naive(calendar: &Calendar, first: Date, last: Date) {
        let mut start = first;
        while start <= last {
            for n in 0..=25 {
                assert_eq!(
                    calendar.add_working_days(start, n),
                    naive_add(calendar, start, n),
                    "{start} + {n}"
                );
            }
            for length in [0, 1, 2, 6, 7, 8, 13, 30, 61, 400] {
                let end = start.add_days(length);
                assert_eq!(
                    calendar.working_days_between(start, end),
                    naive_between(calendar, start, end),
                    "({start}, {end}]"
                );
            }
            start = start.next();
        }
    }

    #[test]
    fn russian_matches_the_naive_walk_across_official_and_fallback_years() {
        assert_matches_naive(&Calendar::russian(), date(2024, 1, 1), date(2029, 1, 31));
    }

    #[test]
    fn russian_official_years_match_the_crate() {
        let calendar = Calendar::russian();
        let mut day = date(holidays_ru::FIRST_FACT_YEAR, 1, 1);
        while day.year() <= holidays_ru::LAST_FACT_YEAR {
            let (year, month, day_of_month) = day.ymd();
            let official = holidays_ru::flags_ymd::<Federal>(year, month, day_of_month)
                .unwrap()
                .value();
            assert_eq!(
                calendar.is_working_day(day),
                official.is_working_day(),
                "{day}"
            );
            day = day.next();
        }
    }

    #[test]
    fn custom_calendars_match_the_naive_walk() {
        let holidays = dates(&[
            (2025, 12, 31),
            (2026, 1, 1),
            (2026, 1, 2),
            (2026, 3, 20),
            (2026, 3, 21),
            (2027, 1, 1),
        ]);
        let extra = dates(&[(2026, 1, 2), (2026, 3, 27), (2026, 6, 6)]);
        let calendar = Calendar::custom(friday_saturday(), holidays, extra).unwrap();
        assert_matches_naive(&calendar, date(2025, 11, 1), date(2027, 2, 1));
        let six_day_week = Calendar::custom(
            WeekdaySet::EMPTY.with(Weekday::Sunday),
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        assert_matches_naive(&six_day_week, date(2026, 1, 1), date(2026, 4, 1));
    }
}
