//! Working time: the part of an interval that falls on local working days, for stage and overdue limits.
//!
//! A limit of "5 working days" or "4 hours" counts only the time that lies on working days of the
//! account's calendar, in the account's time zone: a deal that enters a stage on Friday at 18:00
//! with a one-day limit is stuck on Monday at 18:00, and one that enters on Saturday is counted
//! from Monday 00:00. A whole working day counts as 86 400 seconds; partial first and last days
//! count their real length, so a day with a clock change is still measured correctly at its ends.

use super::calendar::Calendar;
use super::civil::Date;
use super::offset::{local_date_of, utc_of_local, UtcOffset};

const DAY: i64 = 86_400;

/// The instant local midnight starts `day` in `tz`.
fn start_of(day: Date, tz: &(impl UtcOffset + ?Sized)) -> i64 {
    utc_of_local(day, 0, 0, tz)
}

/// The number of seconds of `[from, to)` (Unix seconds) that lie on working days; 0 when `to <= from`.
pub fn working_seconds_between(
    from: i64,
    to: i64,
    tz: &(impl UtcOffset + ?Sized),
    cal: &Calendar,
) -> i64 {
    if to <= from {
        return 0;
    }
    let first = local_date_of(from, tz);
    let last = local_date_of(to, tz);
    if first == last {
        return if cal.is_working_day(first) {
            to - from
        } else {
            0
        };
    }
    let head = if cal.is_working_day(first) {
        start_of(first.next(), tz) - from
    } else {
        0
    };
    let tail = if cal.is_working_day(last) {
        to - start_of(last, tz)
    } else {
        0
    };
    // The whole days strictly between the first and the last local day.
    let middle = cal.working_days_between(first, last.previous()).max(0);
    head + middle * DAY + tail
}

/// The earliest instant `t` at which `working_seconds_between(from, t) >= seconds`.
///
/// With `seconds <= 0` that is `from` itself. When the count is reached exactly at the end of a
/// working day, the result is the following local midnight.
pub fn instant_after_working_seconds(
    from: i64,
    seconds: i64,
    tz: &(impl UtcOffset + ?Sized),
    cal: &Calendar,
) -> i64 {
    if seconds <= 0 {
        return from;
    }
    let first = local_date_of(from, tz);
    let mut left = seconds;
    if cal.is_working_day(first) {
        let head = start_of(first.next(), tz) - from;
        if left <= head {
            return from + left;
        }
        left -= head;
    }
    let whole_days = left / DAY;
    let rest = left % DAY;
    if rest == 0 {
        // The count ends exactly with the `whole_days`-th working day after `first`.
        let day = cal.add_working_days(first, u32::try_from(whole_days).unwrap_or(u32::MAX));
        start_of(day.next(), tz)
    } else {
        let day = cal.add_working_days(first, u32::try_from(whole_days + 1).unwrap_or(u32::MAX));
        start_of(day, tz) + rest
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::dates::{FixedOffset, WeekdaySet};

    const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    fn at(day: Date, hour: u8, minute: u8) -> i64 {
        utc_of_local(day, hour, minute, &MOSCOW)
    }

    fn weekends_only() -> Calendar {
        Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap()
    }

    /// The reference: walk minute by minute.
    fn naive_seconds(from: i64, to: i64, tz: &FixedOffset, cal: &Calendar) -> i64 {
        let mut total = 0;
        let mut t = from;
        while t < to {
            // Steps end on whole UTC minutes, so none crosses a local midnight of a whole-hour offset.
            let step = (60 - t.rem_euclid(60)).min(to - t);
            if cal.is_working_day(local_date_of(t, tz)) {
                total += step;
            }
            t += step;
        }
        total
    }

    #[test]
    fn within_one_day() {
        let cal = weekends_only();
        let monday = date(2026, 1, 19);
        assert_eq!(
            working_seconds_between(at(monday, 10, 0), at(monday, 14, 30), &MOSCOW, &cal),
            4 * 3600 + 1800
        );
        let saturday = date(2026, 1, 17);
        assert_eq!(
            working_seconds_between(at(saturday, 10, 0), at(saturday, 14, 0), &MOSCOW, &cal),
            0
        );
        assert_eq!(
            working_seconds_between(at(monday, 14, 0), at(monday, 10, 0), &MOSCOW, &cal),
            0
        );
    }

    #[test]
    fn the_weekend_does_not_count() {
        let cal = weekends_only();
        let friday = date(2026, 1, 16);
        let monday = date(2026, 1, 19);
        // Friday 18:00 → Monday 18:00: 6 hours on Friday and 18 hours on Monday.
        assert_eq!(
            working_seconds_between(at(friday, 18, 0), at(monday, 18, 0), &MOSCOW, &cal),
            DAY
        );
        assert_eq!(
            instant_after_working_seconds(at(friday, 18, 0), DAY, &MOSCOW, &cal),
            at(monday, 18, 0)
        );
        // Entering on Saturday counts from Monday 00:00.
        let saturday = at(date(2026, 1, 17), 12, 0);
        assert_eq!(
            instant_after_working_seconds(saturday, 4 * 3600, &MOSCOW, &cal),
            at(monday, 4, 0)
        );
        // Five working days from Monday 10:00 is the next Monday 10:00.
        assert_eq!(
            instant_after_working_seconds(at(monday, 10, 0), 5 * DAY, &MOSCOW, &cal),
            at(date(2026, 1, 26), 10, 0)
        );
    }

    #[test]
    fn exact_ends_of_days_land_on_midnight() {
        let cal = weekends_only();
        let friday = date(2026, 1, 16);
        // One day from Friday 00:00 is Saturday 00:00, the end of Friday.
        assert_eq!(
            instant_after_working_seconds(at(friday, 0, 0), DAY, &MOSCOW, &cal),
            at(date(2026, 1, 17), 0, 0)
        );
        // Six hours from Friday 18:00 is the end of Friday too.
        assert_eq!(
            instant_after_working_seconds(at(friday, 18, 0), 6 * 3600, &MOSCOW, &cal),
            at(date(2026, 1, 17), 0, 0)
        );
        // From a Saturday, one whole day ends with Monday.
        assert_eq!(
            instant_after_working_seconds(at(date(2026, 1, 17), 9, 0), DAY, &MOSCOW, &cal),
            at(date(2026, 1, 20), 0, 0)
        );
        assert_eq!(
            instant_after_working_seconds(at(friday, 9, 0), 0, &MOSCOW, &cal),
            at(friday, 9, 0)
        );
    }

    #[test]
    fn russian_new_year_holidays_are_skipped() {
        let cal = Calendar::russian();
        // 30 December 2025 15:00 + 1 working day: 9 hours on the 30th, then nothing until 12 January.
        let start = at(date(2025, 12, 30), 15, 0);
        assert_eq!(
            instant_after_working_seconds(start, DAY, &MOSCOW, &cal),
            at(date(2026, 1, 12), 15, 0)
        );
        assert_eq!(
            working_seconds_between(start, at(date(2026, 1, 12), 15, 0), &MOSCOW, &cal),
            DAY
        );
    }

    #[test]
    fn the_time_zone_decides_the_local_day() {
        let cal = weekends_only();
        let vladivostok = FixedOffset(10 * 3600);
        // Friday 20:00 UTC is already Saturday 06:00 in Vladivostok: no working time until Monday.
        let friday_evening_utc = utc_of_local(date(2026, 1, 16), 20, 0, &FixedOffset(0));
        let monday_local = utc_of_local(date(2026, 1, 19), 0, 0, &vladivostok);
        assert_eq!(
            working_seconds_between(friday_evening_utc, monday_local, &vladivostok, &cal),
            0
        );
        assert_eq!(
            working_seconds_between(friday_evening_utc, monday_local, &FixedOffset(0), &cal),
            4 * 3600
        );
    }

    #[test]
    fn matches_a_minute_walk_and_inverts() {
        let cal = Calendar::russian();
        let base = at(date(2025, 12, 26), 0, 0);
        for start_step in 0..40 {
            let from = base + start_step * 7 * 3600 + 17 * 60;
            for length in [0, 59, 3600, 5 * 3600, DAY - 1, DAY, 2 * DAY + 3, 9 * DAY] {
                let to = from + length;
                let fast = working_seconds_between(from, to, &MOSCOW, &cal);
                assert_eq!(fast, naive_seconds(from, to, &MOSCOW, &cal), "{from}..{to}");
            }
            for amount in [1, 3600, 6 * 3600, DAY, DAY + 1, 3 * DAY, 7 * DAY + 3600] {
                let moment = instant_after_working_seconds(from, amount, &MOSCOW, &cal);
                assert_eq!(working_seconds_between(from, moment, &MOSCOW, &cal), amount);
                assert!(working_seconds_between(from, moment - 1, &MOSCOW, &cal) < amount);
            }
        }
    }
}
