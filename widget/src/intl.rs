//! Dates in the account's timezone and the user's language, through the browser's `Intl.DateTimeFormat`.
//!
//! The wasm carries no timezone database: the browser's ICU does the conversion.

use js_sys::Intl::{DateTimeFormat, DateTimeFormatOptions, DateTimeStyle};
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

/// Formats Unix timestamps as a medium date and a short time.
#[derive(Debug)]
pub struct DateFormat(Option<DateTimeFormat>);

impl DateFormat {
    /// A formatter for `language` (a BCP 47 tag such as `ru`) in the IANA zone `timezone`.
    ///
    /// An unknown language falls back to the browser's, an unknown zone to the browser's zone.
    pub fn new(language: Option<&str>, timezone: Option<&str>) -> Self {
        let with = |language: Option<&str>, timezone: Option<&str>| {
            let options = DateTimeFormatOptions::new();
            options.set_date_style(DateTimeStyle::Medium);
            options.set_time_style(DateTimeStyle::Short);
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
        let date = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
        let formatted = self
            .0
            .as_ref()
            .and_then(|format| format.format().call1(format, &date).ok()?.as_string());
        formatted.unwrap_or_else(|| date.to_string().into())
    }
}
