//! Typed reads of JSON request fields that record amoCRM-style validation errors with dot paths.

use serde_json::{Map, Value};

use crate::problem::FieldError;

/// A field of a request object: absent, explicitly `null`, or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    /// Not sent: keep the stored value.
    Absent,
    /// Sent as `null`: clear it.
    Null,
    /// Sent with a value.
    Set(T),
}

impl<T> Field<T> {
    /// The value when set.
    pub fn set(self) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the field was sent at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// Joins a path prefix and a key with a dot.
pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// An integer field. Integral floats are accepted (the SDK sends `price` as a float); strings are not.
pub fn int(
    object: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Field<i64> {
    match object.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(Value::Number(n)) => match n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }) {
            Some(v) => Field::Set(v),
            None => {
                errors.push(FieldError::new(
                    "InvalidType",
                    join(prefix, key),
                    "This value should be of type int.",
                ));
                Field::Absent
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                join(prefix, key),
                "This value should be of type int.",
            ));
            Field::Absent
        }
    }
}

/// A non-negative id field.
pub fn id(
    object: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Field<u64> {
    match int(object, key, prefix, errors) {
        Field::Set(v) if v >= 0 => Field::Set(v as u64),
        Field::Set(_) => {
            errors.push(FieldError::new(
                "NotSupportedChoice",
                join(prefix, key),
                "The value you selected is not a valid choice.",
            ));
            Field::Absent
        }
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    }
}

/// A string field.
pub fn string(
    object: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Field<String> {
    match object.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(Value::String(s)) => Field::Set(s.clone()),
        Some(Value::Number(n)) => Field::Set(n.to_string()),
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                join(prefix, key),
                "This value should be of type string.",
            ));
            Field::Absent
        }
    }
}

/// A boolean field.
pub fn boolean(
    object: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Field<bool> {
    match object.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(Value::Bool(b)) => Field::Set(*b),
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                join(prefix, key),
                "This value should be of type bool.",
            ));
            Field::Absent
        }
    }
}

/// The error for an id that names nothing.
pub fn not_a_choice(path: impl Into<String>) -> FieldError {
    FieldError::new(
        "NotSupportedChoice",
        path,
        "The value you selected is not a valid choice.",
    )
}
