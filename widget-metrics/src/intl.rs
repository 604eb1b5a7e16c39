//! The browser's `Intl` for what the wasm does not carry: the account zone's UTC offsets, and
//! numbers, money, shares and dates in the user's language.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Object, Reflect};
use leakguard_core::dates::UtcOffset;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat`.
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type DateFormat;

    #[wasm_bindgen(catch, constructor, js_namespace = Intl, js_class = "DateTimeFormat")]
    fn new(locales: &JsValue, options: &Object) -> Result<DateFormat, JsValue>;

    #[wasm_bindgen(method, js_name = formatToParts)]
    fn format_to_parts(this: &DateFormat, date: &js_sys::Date) -> Array;

    #[wasm_bindgen(method, js_name = format)]
    fn format_date(this: &DateFormat, date: &js_sys::Date) -> String;

    /// `Intl.NumberFormat`.
    #[wasm_bindgen(js_namespace = Intl, js_name = NumberFormat)]
    type NumberFormat;

    #[wasm_bindgen(catch, constructor, js_namespace = Intl, js_class = "NumberFormat")]
    fn new(locales: &JsValue, options: &Object) -> Result<NumberFormat, JsValue>;

    #[wasm_bindgen(method, js_name = format)]
    fn format_number(this: &NumberFormat, value: f64) -> String;
}

/// An options object from `(key, value)` pairs.
fn options(pairs: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (key, value) in pairs {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    object
}

fn locale(language: Option<&str>) -> JsValue {
    language.map_or(JsValue::UNDEFINED, JsValue::from_str)
}

/// The UTC offset of an IANA zone, asked of `Intl` once per hour of time and remembered.
///
/// Offsets change on whole hours in practice; a zone that changes at another minute is read
/// right from the next hour on.
pub struct ZoneOffsets {
    format: Option<DateFormat>,
    by_hour: RefCell<HashMap<i64, i32>>,
}

impl ZoneOffsets {
    /// The offsets of `zone`; an unknown or missing zone is the browser's own.
    pub fn new(zone: Option<&str>) -> ZoneOffsets {
        let with = |zone: Option<&str>| {
            let mut pairs = vec![("timeZoneName", "longOffset")];
            if let Some(zone) = zone {
                pairs.push(("timeZone", zone));
            }
            DateFormat::new(&JsValue::from_str("en-US"), &options(&pairs)).ok()
        };
        ZoneOffsets {
            format: with(zone).or_else(|| with(None)),
            by_hour: RefCell::new(HashMap::new()),
        }
    }

    fn ask(&self, utc_seconds: i64) -> i32 {
        let Some(format) = &self.format else { return 0 };
        let date = js_sys::Date::new(&JsValue::from_f64(utc_seconds as f64 * 1000.0));
        format
            .format_to_parts(&date)
            .iter()
            .find(|part| {
                Reflect::get(part, &"type".into())
                    .ok()
                    .and_then(|t| t.as_string())
                    .as_deref()
                    == Some("timeZoneName")
            })
            .and_then(|part| Reflect::get(&part, &"value".into()).ok()?.as_string())
            .map_or(0, |text| parse_gmt_offset(&text))
    }
}

impl UtcOffset for ZoneOffsets {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        let hour = utc_seconds.div_euclid(3600);
        if let Some(&offset) = self.by_hour.borrow().get(&hour) {
            return offset;
        }
        let offset = self.ask(hour * 3600);
        self.by_hour.borrow_mut().insert(hour, offset);
        offset
    }
}

/// Seconds east of UTC in `GMT+03:00`, `GMT-04:30` or `GMT` (what `longOffset` prints).
pub fn parse_gmt_offset(text: &str) -> i32 {
    let Some(rest) = text.trim().strip_prefix("GMT") else {
        return 0;
    };
    let (sign, rest) = match rest.as_bytes().first() {
        Some(b'+') => (1, &rest[1..]),
        Some(b'-') | Some(0xE2) => (-1, rest.trim_start_matches(['-', '\u{2212}'])),
        _ => return 0,
    };
    let mut parts = rest.split(':');
    let hours: i32 = parts.next().and_then(|h| h.parse().ok()).unwrap_or(0);
    let minutes: i32 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    sign * (hours * 3600 + minutes * 60)
}

/// Numbers, money, shares and dates in the user's language, formatted by the browser.
pub struct Formats {
    count: Option<NumberFormat>,
    money: Option<NumberFormat>,
    share: Option<NumberFormat>,
    date: Option<DateFormat>,
}

impl Formats {
    /// Formats for `language`, money in `currency` (ISO code), dates in `zone`.
    pub fn new(language: Option<&str>, currency: Option<&str>, zone: Option<&str>) -> Formats {
        let number = |pairs: &[(&str, &str)]| {
            NumberFormat::new(&locale(language), &options(pairs))
                .or_else(|_| NumberFormat::new(&JsValue::UNDEFINED, &options(pairs)))
                .ok()
        };
        let money = currency
            .filter(|code| code.len() == 3)
            .and_then(|code| {
                number(&[
                    ("style", "currency"),
                    ("currency", code),
                    ("maximumFractionDigits", "0"),
                ])
            })
            .or_else(|| number(&[("maximumFractionDigits", "0")]));
        let mut date_options = vec![("dateStyle", "medium"), ("timeStyle", "short")];
        if let Some(zone) = zone {
            date_options.push(("timeZone", zone));
        }
        let date = DateFormat::new(&locale(language), &options(&date_options))
            .or_else(|_| {
                DateFormat::new(
                    &JsValue::UNDEFINED,
                    &options(&[("dateStyle", "medium"), ("timeStyle", "short")]),
                )
            })
            .ok();
        Formats {
            count: number(&[("maximumFractionDigits", "0")]),
            money,
            share: number(&[("style", "percent"), ("maximumFractionDigits", "1")]),
            date,
        }
    }

    pub fn count(&self, value: i64) -> String {
        self.count
            .as_ref()
            .map_or_else(|| value.to_string(), |f| f.format_number(value as f64))
    }

    pub fn money(&self, value: i64) -> String {
        self.money
            .as_ref()
            .map_or_else(|| value.to_string(), |f| f.format_number(value as f64))
    }

    /// A share in basis points (10 000 = 100 %).
    pub fn share(&self, basis_points: i64) -> String {
        self.share.as_ref().map_or_else(
            || format!("{} %", basis_points / 100),
            |f| f.format_number(basis_points as f64 / 10_000.0),
        )
    }

    pub fn date(&self, unix_seconds: i64) -> String {
        let date = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
        self.date.as_ref().map_or_else(
            || String::from(date.to_iso_string()),
            |f| f.format_date(&date),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_offsets_parse() {
        assert_eq!(parse_gmt_offset("GMT+03:00"), 10_800);
        assert_eq!(parse_gmt_offset("GMT-04:30"), -16_200);
        assert_eq!(parse_gmt_offset("GMT\u{2212}05:00"), -18_000);
        assert_eq!(parse_gmt_offset("GMT+5"), 18_000);
        assert_eq!(parse_gmt_offset("GMT"), 0);
        assert_eq!(parse_gmt_offset("UTC"), 0);
    }
}
