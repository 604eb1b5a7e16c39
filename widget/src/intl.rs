//! Dates in the account's timezone and the user's language, through the browser's `Intl.DateTimeFormat`.
//!
//! The wasm carries no timezone database: the browser's ICU does the conversion, both for showing
//! dates and for the core's `UtcOffset` ([`Zone`], shared by every module: the offset an IANA zone has at an instant).

use js_sys::Intl::{
    DateTimeFormat, DateTimeFormatOptions, DateTimeStyle, DayFormat, MonthFormat, NumericFormat,
    WeekdayFormat,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat(locales, options)`, which throws a `RangeError` for an unknown locale or zone.
    #[wasm_bindgen(catch, js_namespace = Intl, js_name = DateTimeFormat)]
    fn date_time_format(
        locales: &JsValue,
        options: &DateTimeFormatOptions,
    ) -> Result<DateTimeFormat, JsValue>;
}

/// The shape of a formatted date.
#[derive(Clone, Copy, Debug)]
pub enum DateStyle {
    /// A medium date and a short time: "14 мая 2030 г., 14:30".
    Medium,
    /// A short weekday, day, month and time: "пн, 19 янв., 10:00", for deadlines in the coming days.
    Weekday,
}

/// Formats Unix timestamps in one language and zone.
#[derive(Debug)]
pub struct DateFormat(Option<DateTimeFormat>);

impl DateFormat {
    /// A formatter for `language` (a BCP 47 tag such as `ru`) in the IANA zone `timezone`.
    ///
    /// An unknown language falls back to the browser's, an unknown zone to the browser's zone.
    pub fn new(language: Option<&str>, timezone: Option<&str>) -> Self {
        Self::with_style(DateStyle::Medium, language, timezone)
    }

    /// A formatter of the given style.
    pub fn with_style(style: DateStyle, language: Option<&str>, timezone: Option<&str>) -> Self {
        let with = |language: Option<&str>, timezone: Option<&str>| {
            let options = DateTimeFormatOptions::new();
            match style {
                DateStyle::Medium => {
                    options.set_date_style(DateTimeStyle::Medium);
                    options.set_time_style(DateTimeStyle::Short);
                }
                DateStyle::Weekday => {
                    options.set_weekday(WeekdayFormat::Short);
                    options.set_day(DayFormat::Numeric);
                    options.set_month(MonthFormat::Short);
                    options.set_hour(NumericFormat::TwoDigit);
                    options.set_minute(NumericFormat::TwoDigit);
                }
            }
            if let Some(zone) = timezone {
                options.set_time_zone(zone);
            }
            date_time_format(
                &language.map_or(JsValue::UNDEFINED, JsValue::from_str),
                &options,
            )
            .ok()
        };
        Self(
            with(language, timezone)
                .or_else(|| with(None, timezone))
                .or_else(|| with(None, None)),
        )
    }

    /// The date and time of a Unix timestamp in seconds.
    pub fn format(&self, unix_seconds: i64) -> String {
        let date = js_date(unix_seconds);
        let formatted = self
            .0
            .as_ref()
            .and_then(|format| format.format().call1(format, &date).ok()?.as_string());
        formatted.unwrap_or_else(|| date.to_string().into())
    }
}

fn js_date(unix_seconds: i64) -> js_sys::Date {
    js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0))
}

pub use leakguard_widget_shared::Zone;

/// The same zones through the browser's real `Intl`, which runs in UTC in the test browser: the
/// account's zone decides, not the browser's.
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use leakguard_core::dates::{Calendar, UtcOffset};
    use leakguard_core::guard::preset_deadlines;
    use leakguard_core::settings::NextStepSettings;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::Zone;

    wasm_bindgen_test_configure!(run_in_browser);

    /// Europe/Berlin moves from +01:00 to +02:00 at this instant (2026-03-29T01:00Z).
    const BERLIN_SPRING_FORWARD: i64 = 1_774_746_000;

    #[wasm_bindgen_test]
    fn offsets_come_from_intl_for_the_account_zone() {
        let friday_evening = 1_768_593_600; // 2026-01-16T20:00Z
        let offset = |zone: &str, at: i64| Zone::new(Some(zone)).offset_seconds_at(at);
        assert_eq!(offset("Europe/Moscow", friday_evening), 3 * 3600);
        assert_eq!(offset("Asia/Vladivostok", friday_evening), 10 * 3600);
        assert_eq!(offset("America/Sao_Paulo", friday_evening), -3 * 3600);
        assert_eq!(offset("Asia/Kathmandu", friday_evening), 5 * 3600 + 2700);
        assert_eq!(offset("Europe/Berlin", BERLIN_SPRING_FORWARD - 1), 3600);
        assert_eq!(offset("Europe/Berlin", BERLIN_SPRING_FORWARD), 7200);
        // An unknown zone falls back to the browser's instead of failing.
        let browser = -(js_sys::Date::new(&(friday_evening as f64 * 1000.0).into())
            .get_timezone_offset()
            * 60.0) as i32;
        assert_eq!(offset("Mars/Olympus_Mons", friday_evening), browser);
    }

    #[wasm_bindgen_test]
    fn presets_are_working_days_at_ten_in_the_account_zone() {
        // Thursday 2026-01-15 22:00 UTC is already Friday in Moscow and Vladivostok.
        let now = 1_768_514_400;
        let settings = NextStepSettings::default();
        let calendar = Calendar::russian();
        let deadlines = |zone: &str| -> Vec<i64> {
            preset_deadlines(now, &settings, &Zone::new(Some(zone)), &calendar)
                .into_iter()
                .map(|(_, deadline)| deadline)
                .collect()
        };
        // Moscow: Friday → Monday 19, Tuesday 20 and Friday 23 January at 10:00 (07:00 UTC).
        assert_eq!(
            deadlines("Europe/Moscow"),
            [1_768_806_000, 1_768_892_400, 1_769_151_600]
        );
        // Vladivostok: the same days at 10:00 local, 00:00 UTC.
        assert_eq!(
            deadlines("Asia/Vladivostok"),
            [1_768_780_800, 1_768_867_200, 1_769_126_400]
        );
        // London is still on Thursday: tomorrow is Friday 16 January.
        assert_eq!(deadlines("Europe/London")[0], 1_768_557_600);
    }
}
