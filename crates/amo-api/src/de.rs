//! Tolerant decoders for amoCRM's JSON quirks, for use with `#[serde(deserialize_with = "…")]`.
//!
//! They are written as visitors over `deserialize_any` (or `Option`), so they work with any
//! self-describing deserializer: `serde_json` on the backend and `serde-wasm-bindgen` in the widget,
//! which hands over JavaScript numbers as `i64` when they are integral and as `f64` otherwise.
//! Fields using them should also carry `#[serde(default)]` so that a missing key is accepted.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, value::MapAccessDeserializer, Deserialize, Deserializer, IgnoredAny, MapAccess,
    SeqAccess, Unexpected, Visitor,
};

/// An object decodes as `T`; `[]` (PHP's empty array), `null` and a missing key give `T::default()`.
pub fn object_or_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(option_object_or_empty(deserializer)?.unwrap_or_default())
}

/// An object decodes as `Some(T)`; `[]` (PHP's empty array), `null` and a missing key give `None`.
pub fn option_object_or_empty<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOrEmpty<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOrEmpty<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object, an empty array or null")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            match seq.next_element::<IgnoredAny>()? {
                None => Ok(None),
                Some(_) => Err(de::Error::invalid_type(Unexpected::Seq, &self)),
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }

    deserializer.deserialize_any(ObjectOrEmpty(PhantomData))
}

/// An integer given as a JSON number or as a string of digits (`12` or `"12"`), converted to `T`.
pub fn int_or_string<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    match deserializer.deserialize_any(IntOrString)? {
        Some(number) => narrow(number),
        None => Err(de::Error::invalid_type(Unexpected::Unit, &IntOrString)),
    }
}

/// Like [`int_or_string`], but `null`, `""` and a missing key give `None`.
pub fn option_int_or_string<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    deserializer
        .deserialize_any(IntOrString)?
        .map(narrow)
        .transpose()
}

/// A Unix timestamp where `0`, `null` and a missing key mean "none" (as in `closest_task_at`).
pub fn option_timestamp<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(option_int_or_string::<D, i64>(deserializer)?.filter(|seconds| *seconds != 0))
}

/// A string given as a JSON string or a number (`"0"` or `0`, as `request_id` comes back).
pub fn string_or_int<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    option_string_or_int(deserializer)?
        .ok_or_else(|| de::Error::invalid_type(Unexpected::Unit, &StringOrInt))
}

/// Like [`string_or_int`], but `null` and a missing key give `None`.
pub fn option_string_or_int<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(StringOrInt)
}

/// `null` (and, with `#[serde(default)]`, a missing key) gives `T::default()`, as for `custom_fields_values: null`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn narrow<T: TryFrom<i64>, E: de::Error>(number: i64) -> Result<T, E> {
    T::try_from(number)
        .map_err(|_| E::invalid_value(Unexpected::Signed(number), &"an integer in range"))
}

/// Visits an integer, a string of digits or null.
struct IntOrString;

impl<'de> Visitor<'de> for IntOrString {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or a string of digits")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        i64::try_from(value)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // JavaScript numbers arrive as f64 when they are not safe integers.
        if value.fract() == 0.0 && value.abs() < 9.007_199_254_740_992e15 {
            Ok(Some(value as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        trimmed
            .parse()
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Visits a string, an integer or null.
struct StringOrInt;

impl<'de> Visitor<'de> for StringOrInt {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Some(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        IntOrString
            .visit_f64(value)
            .map(|number| number.map(|n| n.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Text {
        text: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default, deserialize_with = "option_object_or_empty")]
        result: Option<Text>,
        #[serde(default, deserialize_with = "object_or_empty")]
        metadata: Text,
        #[serde(default, deserialize_with = "int_or_string")]
        id: u64,
        #[serde(default, deserialize_with = "option_int_or_string")]
        group: Option<u32>,
        #[serde(default, deserialize_with = "option_timestamp")]
        closest_task_at: Option<i64>,
        #[serde(default, deserialize_with = "option_string_or_int")]
        request_id: Option<String>,
        #[serde(default, deserialize_with = "null_as_default")]
        values: Vec<u8>,
    }

    fn sample(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn empty_arrays_nulls_and_missing_keys_are_empty() {
        let empty = Sample {
            result: None,
            metadata: Text::default(),
            id: 0,
            group: None,
            closest_task_at: None,
            request_id: None,
            values: vec![],
        };
        assert_eq!(sample("{}").unwrap(), empty);
        let nulls = r#"{"result":null,"metadata":null,"group":null,"closest_task_at":null,"request_id":null,"values":null}"#;
        assert_eq!(sample(nulls).unwrap(), empty);
        let php = r#"{"result":[],"metadata":[],"group":"","closest_task_at":0,"values":[]}"#;
        assert_eq!(sample(php).unwrap(), empty);
    }

    #[test]
    fn objects_numbers_and_strings_decode() {
        let json = r#"{"result":{"text":"done"},"metadata":{"text":"m"},"id":"42","group":7,
                       "closest_task_at":"1700000000","request_id":0,"values":[1,2]}"#;
        let decoded = sample(json).unwrap();
        assert_eq!(
            decoded.result,
            Some(Text {
                text: "done".into()
            })
        );
        assert_eq!(decoded.metadata.text, "m");
        assert_eq!(decoded.id, 42);
        assert_eq!(decoded.group, Some(7));
        assert_eq!(decoded.closest_task_at, Some(1_700_000_000));
        assert_eq!(decoded.request_id.as_deref(), Some("0"));
        assert_eq!(decoded.values, [1, 2]);
        assert_eq!(sample(r#"{"id":42.0,"request_id":"abc"}"#).unwrap().id, 42);
    }

    #[test]
    fn real_mismatches_are_errors() {
        assert!(sample(r#"{"result":[{"text":"x"}]}"#).is_err());
        assert!(sample(r#"{"result":"text"}"#).is_err());
        assert!(sample(r#"{"id":"12a"}"#).is_err());
        assert!(sample(r#"{"id":-1}"#).is_err());
        assert!(sample(r#"{"id":null}"#).is_err());
        assert!(sample(r#"{"id":1.5}"#).is_err());
        assert!(sample(r#"{"group":5000000000}"#).is_err());
        assert!(sample(r#"{"request_id":true}"#).is_err());
    }
}
