//! Error bodies (`application/problem+json`), including batch validation errors and OAuth hints.

use serde::Deserialize;

use crate::de::{int_or_string, null_as_default, option_int_or_string, string_or_int};

/// An error answer of the API or of the OAuth endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Problem {
    #[serde(deserialize_with = "null_as_default")]
    pub title: String,
    /// A URL naming the problem type; absent on some 500 answers.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "int_or_string")]
    pub status: u16,
    pub detail: Option<String>,
    /// Per batch item: which fields were refused.
    #[serde(rename = "validation-errors", deserialize_with = "null_as_default")]
    pub validation_errors: Vec<ItemErrors>,
    /// The OAuth endpoint's explanation, e.g. "Authorization code has expired".
    pub hint: Option<String>,
    /// Seconds to wait, in the body of a 429.
    #[serde(deserialize_with = "option_int_or_string")]
    pub retry_after: Option<u64>,
    pub trace_id: Option<String>,
}

/// The validation errors of one item of a batch, matched by its `request_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ItemErrors {
    #[serde(deserialize_with = "string_or_int")]
    pub request_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub errors: Vec<ValidationError>,
}

/// One refused field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ValidationError {
    /// e.g. `NotSupportedChoice`, `InvalidType`.
    pub code: String,
    /// A dot path into the item, e.g. `custom_fields_values.0.field_id`.
    pub path: String,
    pub detail: String,
}
