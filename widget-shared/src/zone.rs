//! The account's time zone as the core's [`UtcOffset`], answered by the browser's `Intl`
//! (`timeZoneName: 'longOffset'`), so no wasm module carries a time-zone database.

use js_sys::Intl::{
    DateTimeFormat, DateTimeFormatOptions, DateTimeFormatPart, DateTimeFormatPartType,
    TimeZoneNameFormat,
};
use leakguard_core::dates::UtcOffset;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat(locales, options)`, which throws a `RangeError` for an unknown zone.
    #[wasm_bindgen(catch, js_namespace = Intl, js_name = DateTimeFormat)]
    fn date_time_format(
        locales: &JsValue,
        options: &DateTimeFormatOptions,
    ) -> Result<DateTimeFormat, JsValue>;
}

fn js_date(unix_seconds: i64) -> js_sys::Date {
    js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0))
}

/// An IANA zone as the core's [`UtcOffset`], answered by `Intl` (`timeZoneName: 'longOffset'`).
#[derive(Debug)]
pub struct Zone(Option<DateTimeFormat>);

impl Zone {
    /// The zone `timezone`; an unknown or missing zone is the browser's own.
    pub fn new(timezone: Option<&str>) -> Zone {
        let with = |timezone: Option<&str>| {
            let options = DateTimeFormatOptions::new();
            options.set_time_zone_name(TimeZoneNameFormat::LongOffset);
            if let Some(zone) = timezone {
                options.set_time_zone(zone);
            }
            date_time_format(&JsValue::from_str("en-US"), &options).ok()
        };
        Zone(with(timezone).or_else(|| with(None)))
    }
}

impl UtcOffset for Zone {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        let Some(format) = &self.0 else {
            // Without Intl the browser's own offset is the best there is.
            return -(js_date(utc_seconds).get_timezone_offset() * 60.0) as i32;
        };
        format
            .format_to_parts(&js_date(utc_seconds))
            .iter()
            .map(|part| part.unchecked_into::<DateTimeFormatPart>())
            .find(|part| part.type_() == DateTimeFormatPartType::TimeZoneName)
            .and_then(|part| parse_gmt_offset(&String::from(part.value())))
            .unwrap_or(0)
    }
}

/// Seconds east of UTC from Intl's offset names: `GMT`, `GMT+03:00`, `GMT-03:30`, `GMT+5:45`, `GMT+3`.
pub fn parse_gmt_offset(name: &str) -> Option<i32> {
    let rest = name
        .trim()
        .strip_prefix("GMT")
        .or_else(|| name.trim().strip_prefix("UTC"))?;
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        // Intl writes a minus sign (U+2212) in some locales; the ASCII one in `en-US`.
        b'-' => (-1, &rest[1..]),
        _ => (-1, rest.strip_prefix('\u{2212}')?),
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let hours: i32 = hours.parse().ok().filter(|h| (0..=18).contains(h))?;
    let minutes: i32 = minutes.parse().ok().filter(|m| (0..60).contains(m))?;
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::parse_gmt_offset;

    #[test]
    fn offset_names_are_read_in_seconds() {
        assert_eq!(parse_gmt_offset("GMT"), Some(0));
        assert_eq!(parse_gmt_offset("GMT+03:00"), Some(3 * 3600));
        assert_eq!(parse_gmt_offset("GMT+10:00"), Some(10 * 3600));
        assert_eq!(parse_gmt_offset("GMT-03:30"), Some(-(3 * 3600 + 1800)));
        assert_eq!(parse_gmt_offset("GMT+5:45"), Some(5 * 3600 + 2700));
        assert_eq!(parse_gmt_offset("GMT+3"), Some(3 * 3600));
        assert_eq!(parse_gmt_offset("GMT\u{2212}03:00"), Some(-3 * 3600));
        assert_eq!(parse_gmt_offset("UTC+01:00"), Some(3600));
        for bad in ["", "MSK", "GMT+", "GMT+25:00", "GMT+03:75", "GMT*03:00"] {
            assert_eq!(parse_gmt_offset(bad), None, "{bad}");
        }
    }
}
