//! Dates for deadlines: civil dates, UTC offsets, working-day calendars, working time and the follow-up deadline rule.

mod calendar;
mod civil;
mod month;
mod offset;
mod working_time;

pub use calendar::{Calendar, CalendarError};
pub use civil::{Date, ParseDateError, Weekday, WeekdaySet};
pub use month::{add_months, YearMonth};
pub use offset::{local_date_of, utc_of_local, FixedOffset, UtcOffset};
pub use working_time::{instant_after_working_seconds, working_seconds_between};

/// The deadline of a follow-up or next-step task, as Unix seconds.
///
/// It is `hour:minute` local time on the day `working_days` working days after today's local date.
/// With `working_days = 0` that is today if today is a working day and `hour:minute` is still
/// ahead of `now_utc`, otherwise the next working day.
pub fn deadline_after(
    now_utc: i64,
    working_days: u32,
    hour: u8,
    minute: u8,
    tz: &(impl UtcOffset + ?Sized),
    cal: &Calendar,
) -> i64 {
    let today = local_date_of(now_utc, tz);
    let day = match working_days {
        0 if cal.is_working_day(today) && utc_of_local(today, hour, minute, tz) > now_utc => today,
        0 => cal.add_working_days(today, 1),
        n => cal.add_working_days(today, n),
    };
    utc_of_local(day, hour, minute, tz)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    fn at(day: Date, hour: u8, minute: u8, offset_hours: i32) -> i64 {
        utc_of_local(day, hour, minute, &FixedOffset(offset_hours * 3600))
    }

    const MOSCOW: FixedOffset = FixedOffset(3 * 3600);

    #[test]
    fn zero_days_means_today_while_the_time_is_ahead() {
        let cal = Calendar::russian();
        let friday = date(2026, 1, 16);
        let morning = at(friday, 10, 0, 3);
        assert_eq!(
            deadline_after(morning, 0, 18, 0, &MOSCOW, &cal),
            at(friday, 18, 0, 3)
        );
        // At or after 18:00 the deadline moves to Monday.
        let evening = at(friday, 18, 0, 3);
        assert_eq!(
            deadline_after(evening, 0, 18, 0, &MOSCOW, &cal),
            at(date(2026, 1, 19), 18, 0, 3)
        );
        // On a Saturday, zero days means the next working day.
        let saturday = at(date(2026, 1, 17), 9, 0, 3);
        assert_eq!(
            deadline_after(saturday, 0, 18, 0, &MOSCOW, &cal),
            at(date(2026, 1, 19), 18, 0, 3)
        );
    }

    #[test]
    fn working_days_skip_the_weekend_and_holidays() {
        let cal = Calendar::russian();
        let friday = at(date(2026, 1, 16), 10, 0, 3);
        assert_eq!(
            deadline_after(friday, 1, 12, 30, &MOSCOW, &cal),
            at(date(2026, 1, 19), 12, 30, 3)
        );
        assert_eq!(
            deadline_after(friday, 3, 12, 30, &MOSCOW, &cal),
            at(date(2026, 1, 21), 12, 30, 3)
        );
        // From 30 December 2025 one working day is 12 January 2026.
        let before_new_year = at(date(2025, 12, 30), 15, 0, 3);
        assert_eq!(
            deadline_after(before_new_year, 1, 10, 0, &MOSCOW, &cal),
            at(date(2026, 1, 12), 10, 0, 3)
        );
    }

    #[test]
    fn friday_in_utc_is_saturday_in_vladivostok() {
        let cal = Calendar::russian();
        let vladivostok = FixedOffset(10 * 3600);
        // 2026-01-16 20:00 UTC is Friday in UTC and Saturday 06:00 in Vladivostok.
        let now = at(date(2026, 1, 16), 20, 0, 0);
        assert_eq!(local_date_of(now, &vladivostok), date(2026, 1, 17));
        assert_eq!(
            deadline_after(now, 0, 18, 0, &vladivostok, &cal),
            at(date(2026, 1, 19), 18, 0, 10)
        );
        assert_eq!(
            deadline_after(now, 1, 18, 0, &vladivostok, &cal),
            at(date(2026, 1, 19), 18, 0, 10)
        );
        // At 17:00 UTC on Friday the deadline in UTC is still today, while Vladivostok is already in Saturday.
        let utc = FixedOffset(0);
        let earlier = at(date(2026, 1, 16), 17, 0, 0);
        assert_eq!(
            deadline_after(earlier, 0, 18, 0, &utc, &cal),
            at(date(2026, 1, 16), 18, 0, 0)
        );
        assert_eq!(
            deadline_after(earlier, 0, 18, 0, &vladivostok, &cal),
            at(date(2026, 1, 19), 18, 0, 10)
        );
    }

    #[test]
    fn negative_offset_sao_paulo() {
        let sao_paulo = FixedOffset(-3 * 3600);
        let cal = Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        // 2026-01-17 01:00 UTC is Saturday in UTC but Friday 22:00 in São Paulo.
        let now = at(date(2026, 1, 17), 1, 0, 0);
        assert_eq!(local_date_of(now, &sao_paulo), date(2026, 1, 16));
        assert_eq!(
            deadline_after(now, 0, 23, 0, &sao_paulo, &cal),
            at(date(2026, 1, 16), 23, 0, -3)
        );
        assert_eq!(
            deadline_after(now, 0, 18, 0, &sao_paulo, &cal),
            at(date(2026, 1, 19), 18, 0, -3)
        );
        assert_eq!(
            deadline_after(now, 1, 9, 0, &sao_paulo, &cal),
            at(date(2026, 1, 19), 9, 0, -3)
        );
        assert_eq!(
            deadline_after(now, 1, 9, 0, &sao_paulo, &cal),
            1_768_824_000
        );
    }

    #[test]
    fn deadlines_across_a_dst_change_keep_the_wall_time() {
        // Europe/Berlin switches from +01:00 to +02:00 at 2026-03-29T01:00Z.
        let switch = 1_774_746_000;
        let berlin = move |utc: i64| if utc < switch { 3600 } else { 7200 };
        let cal = Calendar::custom(
            WeekdaySet::SATURDAY_SUNDAY,
            BTreeSet::new(),
            BTreeSet::new(),
        )
        .unwrap();
        let friday_morning = at(date(2026, 3, 27), 10, 0, 1);
        let monday_evening = at(date(2026, 3, 30), 18, 0, 2);
        assert_eq!(
            deadline_after(friday_morning, 1, 18, 0, &berlin, &cal),
            monday_evening
        );
        assert_eq!(monday_evening, 1_774_886_400);
    }
}
