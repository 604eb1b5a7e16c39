//! Catalogs (lists, including the invoices list) and their elements.

use serde::Deserialize;

use crate::custom_fields::CustomFieldValues;
use crate::de::{int_or_string, null_as_default, object_or_empty, option_string_or_int};
use crate::hal::{Collection, Links};

/// A catalog (`/api/v4/catalogs`); `kind` is `regular`, `invoices` or `products`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Catalog {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub sort: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub can_add_elements: bool,
    pub can_show_in_cards: bool,
    pub can_link_multiple: bool,
    pub can_be_deleted: bool,
    pub sdk_widget_code: Option<String>,
    pub account_id: u64,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for Catalog {
    const KEY: &'static str = "catalogs";
}

/// An element of a catalog (`/api/v4/catalogs/{id}/elements`), e.g. an invoice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CatalogElement {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub catalog_id: u64,
    pub name: String,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// amoCRM may send `null`, read as `false`.
    #[serde(deserialize_with = "null_as_default")]
    pub is_deleted: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub custom_fields_values: Vec<CustomFieldValues>,
    pub account_id: u64,
    /// The printable invoice, for elements of the invoices catalog.
    pub invoice_link: Option<String>,
    /// Echoed after a create; amoCRM sends it as a number here.
    #[serde(deserialize_with = "option_string_or_int")]
    pub request_id: Option<String>,
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Collection for CatalogElement {
    const KEY: &'static str = "elements";
}
