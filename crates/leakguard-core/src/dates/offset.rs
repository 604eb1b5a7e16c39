//! UTC offsets and conversions between Unix seconds and local calendar time.
//!
//! The core knows no time-zone database: callers pass a [`UtcOffset`] (the widget asks the
//! browser's `Intl`, the backend a tz database, tests use [`FixedOffset`] or a closure).

use super::civil::Date;

const SECONDS_PER_DAY: i64 = 86_400;

/// The offset from UTC that a time zone has in force at a given instant.
pub trait UtcOffset {
    /// Seconds east of UTC in force at the instant `utc_seconds` (Unix seconds).
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32;
}

/// A time zone whose offset never changes, for example `FixedOffset(3 * 3600)` for Moscow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedOffset(pub i32);

impl UtcOffset for FixedOffset {
    fn offset_seconds_at(&self, _utc_seconds: i64) -> i32 {
        self.0
    }
}

/// Any `Fn(utc_seconds) -> offset_seconds` is a time zone, which lets the shell wrap `Intl` in a closure.
impl<F: Fn(i64) -> i32> UtcOffset for F {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        self(utc_seconds)
    }
}

/// The local calendar date at the instant `utc_seconds` in the zone `tz`.
pub fn local_date_of(utc_seconds: i64, tz: &(impl UtcOffset + ?Sized)) -> Date {
    let local = utc_seconds.saturating_add(i64::from(tz.offset_seconds_at(utc_seconds)));
    Date::from_days_since_epoch(local.div_euclid(SECONDS_PER_DAY))
}

/// The instant (Unix seconds) at which the wall clock of `tz` shows `hour:minute` on `date`.
///
/// Hours and minutes beyond 23 and 59 carry over arithmetically (24:00 is midnight of the next day).
/// The result is deterministic around offset changes, following the rule `java.time` uses:
/// * in an overlap (clocks set back, the wall time happens twice) the earlier instant is returned;
/// * in a gap (clocks set forward, the wall time never happens) the time is moved forward by the
///   length of the gap, so 02:30 in a 02:00→03:00 gap becomes 03:30.
///
/// The offsets a day before and a day after the wall time are looked up and each is checked for
/// consistency, which assumes that a zone changes its offset at most once within two days.
pub fn utc_of_local(date: Date, hour: u8, minute: u8, tz: &(impl UtcOffset + ?Sized)) -> i64 {
    let local =
        date.days_since_epoch() * SECONDS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60;
    let before = tz.offset_seconds_at(local - SECONDS_PER_DAY);
    let after = tz.offset_seconds_at(local + SECONDS_PER_DAY);
    let consistent = |offset: i32| tz.offset_seconds_at(local - i64::from(offset)) == offset;
    let offset = match (consistent(before), consistent(after)) {
        // Both offsets map the wall time to an instant: an overlap, so take the earlier instant.
        (true, true) => before.max(after),
        (false, true) => after,
        // Only the old offset fits, or none does (a gap, where the old offset moves the time forward).
        (true, false) | (false, false) => before,
    };
    local - i64::from(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone that switches from one offset to another at a given instant, like a DST change.
    struct Switch {
        at_utc: i64,
        before: i32,
        after: i32,
    }

    impl UtcOffset for Switch {
        fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
            if utc_seconds < self.at_utc {
                self.before
            } else {
                self.after
            }
        }
    }

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_ymd(year, month, day).unwrap()
    }

    /// 2026-01-16T00:00:00Z, a Friday.
    const FRIDAY_2026_01_16: i64 = 1_768_521_600;

    #[test]
    fn local_date_moves_with_the_offset() {
        let friday_evening_utc = FRIDAY_2026_01_16 + 20 * 3600;
        assert_eq!(
            local_date_of(friday_evening_utc, &FixedOffset(0)),
            date(2026, 1, 16)
        );
        // Asia/Vladivostok (+10:00): already Saturday morning.
        assert_eq!(
            local_date_of(friday_evening_utc, &FixedOffset(10 * 3600)),
            date(2026, 1, 17)
        );
        // America/Sao_Paulo (-03:00): one hour after midnight UTC on Saturday is still Friday.
        let saturday_one_am_utc = FRIDAY_2026_01_16 + 25 * 3600;
        assert_eq!(
            local_date_of(saturday_one_am_utc, &FixedOffset(-3 * 3600)),
            date(2026, 1, 16)
        );
        assert_eq!(local_date_of(-1, &FixedOffset(0)), date(1969, 12, 31));
    }

    #[test]
    fn fixed_offsets_round_trip() {
        for offset in [
            -12 * 3600,
            -3 * 3600,
            -3 * 3600 - 1800,
            0,
            3 * 3600,
            5 * 3600 + 2700,
            14 * 3600,
        ] {
            let tz = FixedOffset(offset);
            let utc = utc_of_local(date(2026, 1, 16), 18, 0, &tz);
            assert_eq!(utc, FRIDAY_2026_01_16 + 18 * 3600 - i64::from(offset));
            assert_eq!(local_date_of(utc, &tz), date(2026, 1, 16));
        }
        assert_eq!(
            utc_of_local(date(2026, 1, 16), 24, 0, &FixedOffset(0)),
            FRIDAY_2026_01_16 + 86_400
        );
    }

    #[test]
    fn closures_are_zones() {
        let moscow = |_utc: i64| 3 * 3600;
        assert_eq!(
            utc_of_local(date(2026, 1, 16), 3, 0, &moscow),
            FRIDAY_2026_01_16
        );
        let dynamic: &dyn UtcOffset = &moscow;
        assert_eq!(
            local_date_of(FRIDAY_2026_01_16 - 1, dynamic),
            date(2026, 1, 16)
        );
    }

    /// Europe/Berlin, 2026: +01:00 → +02:00 at 2026-03-29T01:00Z, back at 2026-10-25T01:00Z.
    const SPRING_FORWARD: i64 = 1_774_746_000;
    const FALL_BACK: i64 = 1_792_890_000;

    #[test]
    fn a_wall_time_in_a_gap_moves_forward_by_the_gap() {
        let berlin = Switch {
            at_utc: SPRING_FORWARD,
            before: 3600,
            after: 7200,
        };
        // 02:30 does not exist on 2026-03-29; it becomes 03:30 CEST = 01:30Z.
        let utc = utc_of_local(date(2026, 3, 29), 2, 30, &berlin);
        assert_eq!(utc, SPRING_FORWARD + 1800);
        assert_eq!(berlin.offset_seconds_at(utc), 7200);
        // Just before and after the gap the wall time is exact.
        assert_eq!(
            utc_of_local(date(2026, 3, 29), 1, 59, &berlin),
            SPRING_FORWARD - 60
        );
        assert_eq!(
            utc_of_local(date(2026, 3, 29), 3, 0, &berlin),
            SPRING_FORWARD
        );
        assert_eq!(
            utc_of_local(date(2026, 3, 28), 18, 0, &berlin),
            SPRING_FORWARD - 8 * 3600
        );
        assert_eq!(
            utc_of_local(date(2026, 3, 30), 18, 0, &berlin),
            SPRING_FORWARD + 39 * 3600
        );
    }

    #[test]
    fn a_wall_time_in_an_overlap_takes_the_earlier_instant() {
        let berlin = Switch {
            at_utc: FALL_BACK,
            before: 7200,
            after: 3600,
        };
        // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
        assert_eq!(
            utc_of_local(date(2026, 10, 25), 2, 30, &berlin),
            FALL_BACK - 1800
        );
        assert_eq!(
            utc_of_local(date(2026, 10, 25), 1, 59, &berlin),
            FALL_BACK - 3600 - 60
        );
        assert_eq!(
            utc_of_local(date(2026, 10, 25), 3, 0, &berlin),
            FALL_BACK + 3600
        );
        assert_eq!(local_date_of(FALL_BACK, &berlin), date(2026, 10, 25));
    }

    #[test]
    fn a_southern_hemisphere_switch_at_midnight_moves_to_one_am() {
        // A zone that springs forward from -03:00 to -02:00 at local midnight: 00:00 does not exist.
        let midnight_utc = utc_of_local(date(2026, 11, 1), 0, 0, &FixedOffset(-3 * 3600));
        let zone = Switch {
            at_utc: midnight_utc,
            before: -3 * 3600,
            after: -2 * 3600,
        };
        assert_eq!(utc_of_local(date(2026, 11, 1), 0, 0, &zone), midnight_utc);
        assert_eq!(local_date_of(midnight_utc, &zone), date(2026, 11, 1));
        assert_eq!(local_date_of(midnight_utc - 1, &zone), date(2026, 10, 31));
    }
}
