//! Custom-field definitions (`/api/v4/leads/custom_fields`) and the values entities carry.

use serde::Deserialize;

use crate::de::{int_or_string, null_as_default, option_int_or_string, option_string_or_int};
use crate::hal::{Collection, Links};
use crate::value::Value;

/// A custom-field definition.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CustomField {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub code: Option<String>,
    pub sort: i64,
    /// The field type: `text`, `numeric`, `select`, `date`, `monetary`, …
    #[serde(rename = "type")]
    pub field_type: String,
    pub entity_type: Option<String>,
    pub is_computed: Option<bool>,
    pub is_predefined: Option<bool>,
    pub is_deletable: Option<bool>,
    pub is_api_only: Option<bool>,
    /// The field group; amoCRM sends a string id or `null`.
    #[serde(deserialize_with = "option_string_or_int")]
    pub group_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub enums: Vec<FieldEnum>,
    #[serde(deserialize_with = "null_as_default")]
    pub required_statuses: Vec<StatusRef>,
    #[serde(deserialize_with = "null_as_default")]
    pub hidden_statuses: Vec<StatusRef>,
    /// The ISO 4217 currency of a monetary field.
    pub currency: Option<String>,
    #[serde(rename = "_links", deserialize_with = "crate::de::object_or_empty")]
    pub links: Links,
}

impl Collection for CustomField {
    const KEY: &'static str = "custom_fields";
}

/// One option of a select, multiselect or radio field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FieldEnum {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub value: String,
    pub sort: i64,
    pub code: Option<String>,
}

/// A pipeline stage a field is required in or hidden in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StatusRef {
    pub status_id: u32,
    pub pipeline_id: u32,
}

/// The values of one custom field on an entity, in the read shape (with `field_name`, `field_code`, `field_type`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CustomFieldValues {
    #[serde(deserialize_with = "int_or_string")]
    pub field_id: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub field_name: String,
    pub field_code: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub field_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub values: Vec<FieldValue>,
}

/// One value of a custom field: a string, number, boolean or object, with the enum option if any.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FieldValue {
    pub value: Value,
    #[serde(deserialize_with = "option_int_or_string")]
    pub enum_id: Option<u64>,
    pub enum_code: Option<String>,
}

/// The values of the field with `code` (for example `BILL_STATUS`) in an entity's `custom_fields_values`.
pub fn field_by_code<'a>(
    fields: &'a [CustomFieldValues],
    code: &str,
) -> Option<&'a CustomFieldValues> {
    fields
        .iter()
        .find(|field| field.field_code.as_deref() == Some(code))
}

/// The values of the field with id `field_id` in an entity's `custom_fields_values`.
pub fn field_by_id(fields: &[CustomFieldValues], field_id: u64) -> Option<&CustomFieldValues> {
    fields.iter().find(|field| field.field_id == field_id)
}
