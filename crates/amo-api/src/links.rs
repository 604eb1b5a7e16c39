//! Entity links (`/api/v4/leads/{id}/links`): leads linked to contacts, companies and catalog elements.

use serde::Deserialize;

use crate::de::{int_or_string, object_or_empty, option_int_or_string};
use crate::hal::Collection;

/// A link from an entity to another entity or a catalog element.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Link {
    #[serde(deserialize_with = "int_or_string")]
    pub entity_id: u64,
    pub entity_type: String,
    #[serde(deserialize_with = "int_or_string")]
    pub to_entity_id: u64,
    pub to_entity_type: String,
    #[serde(deserialize_with = "object_or_empty")]
    pub metadata: LinkMetadata,
}

impl Collection for Link {
    const KEY: &'static str = "links";
}

/// The metadata of a link (`[]` when there is none).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LinkMetadata {
    #[serde(deserialize_with = "option_int_or_string")]
    pub catalog_id: Option<u64>,
    pub quantity: Option<f64>,
    pub is_main: Option<bool>,
    /// How amoCRM echoes `is_main` for contacts.
    pub main_contact: Option<bool>,
    #[serde(deserialize_with = "option_int_or_string")]
    pub updated_by: Option<u64>,
    #[serde(deserialize_with = "option_int_or_string")]
    pub price_id: Option<u64>,
}
