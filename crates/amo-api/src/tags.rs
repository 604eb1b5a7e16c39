//! Tags (`/api/v4/leads/tags`) and tag references used in write requests.

use serde::{Deserialize, Serialize};

use crate::de::{int_or_string, option_string_or_int};
use crate::hal::Collection;

/// A tag of an entity type's tag dictionary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Tag {
    #[serde(deserialize_with = "int_or_string")]
    pub id: u64,
    pub name: String,
    /// A hex colour without `#`, only for lead tags.
    pub color: Option<String>,
    /// Echoed by `POST /leads/tags`.
    #[serde(deserialize_with = "option_string_or_int")]
    pub request_id: Option<String>,
}

impl Collection for Tag {
    const KEY: &'static str = "tags";
}

/// A tag named by id or by name in a write request (`{"id": …}` or `{"name": …}`); an unknown name creates the tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TagRef {
    Id { id: u64 },
    Name { name: String },
}

impl TagRef {
    /// The tag with this id.
    pub fn id(id: u64) -> TagRef {
        TagRef::Id { id }
    }

    /// The tag with this name.
    pub fn name(name: impl Into<String>) -> TagRef {
        TagRef::Name { name: name.into() }
    }
}
