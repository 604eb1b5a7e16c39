//! HAL envelopes: `_links`, list pages from `_embedded.<collection>`, HTTP 204 empty lists and write results.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::de::{object_or_empty, option_int_or_string};

/// HTTP 204 No Content: amoCRM's answer for an empty list, a page past the end or a missing entity.
pub const NO_CONTENT: u16 = 204;

/// One HAL link.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Href {
    pub href: String,
}

/// The `_links` object of an entity or a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_link: Option<Href>,
    pub next: Option<Href>,
    pub prev: Option<Href>,
    pub first: Option<Href>,
    pub last: Option<Href>,
}

/// A type listed under `_embedded.<KEY>` in amoCRM list responses.
pub trait Collection {
    /// The key inside `_embedded`, for example `"leads"`.
    const KEY: &'static str;
}

/// One page of a list response: the items of `_embedded.<T::KEY>` and the pagination fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `_page`, the 1-based page number, when the server sends it.
    pub page: Option<u32>,
    /// `_links.next.href`: present iff there is a next page.
    pub next: Option<String>,
    /// `_total_items`, sent by some collections (pipelines, users, custom fields, loss reasons).
    pub total_items: Option<u64>,
    /// `_page_count`, sent by users and custom fields.
    pub page_count: Option<u32>,
}

impl<T> Page<T> {
    /// A page without items and without a next page.
    pub fn empty() -> Page<T> {
        Page {
            items: Vec::new(),
            page: None,
            next: None,
            total_items: None,
            page_count: None,
        }
    }

    /// The page of a list response: for HTTP 204 (no body) an empty page, otherwise whatever `decode`
    /// makes of the body, e.g. `Page::from_response(status, || serde_json::from_str(&body))`.
    pub fn from_response<E>(
        status: u16,
        decode: impl FnOnce() -> Result<Page<T>, E>,
    ) -> Result<Page<T>, E> {
        if status == NO_CONTENT {
            Ok(Page::empty())
        } else {
            decode()
        }
    }
}

impl<T> Default for Page<T> {
    fn default() -> Page<T> {
        Page::empty()
    }
}

impl<'de, T: Collection + Deserialize<'de>> Deserialize<'de> for Page<T> {
    /// Decodes an object; a bare `[]` (PHP's empty array) or `null` is an empty page, anything else an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Page<T>, D::Error> {
        let raw = deserializer.deserialize_any(PageVisitor(PhantomData))?;
        Ok(match raw {
            None => Page::empty(),
            Some(raw) => Page {
                items: raw.embedded.0,
                page: raw.page,
                next: raw.links.next.map(|next| next.href),
                total_items: raw.total_items,
                page_count: raw.page_count,
            },
        })
    }
}

struct PageVisitor<T>(PhantomData<T>);

impl<'de, T: Collection + Deserialize<'de>> Visitor<'de> for PageVisitor<T> {
    type Value = Option<RawPage<T>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a HAL list of `{}`", T::KEY)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(None),
            Some(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawPage::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
}

#[derive(serde::Deserialize)]
#[serde(bound = "T: Collection + Deserialize<'de>")]
struct RawPage<T> {
    #[serde(rename = "_page", default, deserialize_with = "option_int_or_string")]
    page: Option<u32>,
    #[serde(
        rename = "_page_count",
        default,
        deserialize_with = "option_int_or_string"
    )]
    page_count: Option<u32>,
    #[serde(
        rename = "_total_items",
        default,
        deserialize_with = "option_int_or_string"
    )]
    total_items: Option<u64>,
    #[serde(rename = "_links", default, deserialize_with = "object_or_empty")]
    links: Links,
    #[serde(rename = "_embedded", default)]
    embedded: Embedded<T>,
}

/// The items under `_embedded.<T::KEY>`; other keys are skipped, and `[]` or `null` give no items.
pub(crate) struct Embedded<T>(pub(crate) Vec<T>);

impl<T> Default for Embedded<T> {
    fn default() -> Embedded<T> {
        Embedded(Vec::new())
    }
}

impl<'de, T: Collection + Deserialize<'de>> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Embedded<T>, D::Error> {
        deserializer.deserialize_any(EmbeddedVisitor(PhantomData))
    }
}

struct EmbeddedVisitor<T>(PhantomData<T>);

impl<'de, T: Collection + Deserialize<'de>> Visitor<'de> for EmbeddedVisitor<T> {
    type Value = Embedded<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an `_embedded` object with `{}`", T::KEY)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Embedded<T>, E> {
        Ok(Embedded::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Embedded<T>, E> {
        Ok(Embedded::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Embedded<T>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Embedded<T>, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(Embedded::default()),
            Some(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Embedded<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == T::KEY {
                items = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Embedded(items))
    }
}

/// The answer for one written entity: a `POST` item (`id`, `request_id`), a `PATCH` item
/// (`id`, `updated_at`) or the bare object of a single `PATCH /…/{id}`.
///
/// A single `PATCH` answer wrapped as `_embedded.<E::KEY>[0]` (reported for Kommo) is accepted as well.
/// `E` is the written entity type; it only selects the `_embedded` key.
#[derive(Debug)]
pub struct Saved<E> {
    pub id: u64,
    /// The echoed `request_id` (amoCRM sends the item's ordinal as a string when none was given).
    pub request_id: Option<String>,
    pub updated_at: Option<i64>,
    /// The entity a note or link belongs to, when the answer carries it.
    pub entity_id: Option<u64>,
    pub links: Links,
    entity: PhantomData<fn() -> E>,
}

impl<E> Saved<E> {
    /// A write result, for callers that build one themselves (tests, retries).
    pub fn new(id: u64, request_id: Option<String>) -> Saved<E> {
        Saved {
            id,
            request_id,
            updated_at: None,
            entity_id: None,
            links: Links::default(),
            entity: PhantomData,
        }
    }
}

impl<E> Clone for Saved<E> {
    fn clone(&self) -> Saved<E> {
        Saved {
            id: self.id,
            request_id: self.request_id.clone(),
            updated_at: self.updated_at,
            entity_id: self.entity_id,
            links: self.links.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> PartialEq for Saved<E> {
    fn eq(&self, other: &Saved<E>) -> bool {
        (
            self.id,
            &self.request_id,
            self.updated_at,
            self.entity_id,
            &self.links,
        ) == (
            other.id,
            &other.request_id,
            other.updated_at,
            other.entity_id,
            &other.links,
        )
    }
}

impl<E: Collection> Collection for Saved<E> {
    const KEY: &'static str = E::KEY;
}

impl<'de, E: Collection> Deserialize<'de> for Saved<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Saved<E>, D::Error> {
        let raw = RawSaved::<E>::deserialize(deserializer)?;
        match (raw.id, raw.embedded.0.into_iter().next()) {
            (Some(id), _) => Ok(Saved {
                id,
                request_id: raw.request_id,
                updated_at: raw.updated_at,
                entity_id: raw.entity_id,
                links: raw.links,
                entity: PhantomData,
            }),
            (None, Some(wrapped)) => Ok(wrapped),
            (None, None) => Err(de::Error::missing_field("id")),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(bound = "E: Collection")]
struct RawSaved<E> {
    #[serde(default, deserialize_with = "option_int_or_string")]
    id: Option<u64>,
    #[serde(default, deserialize_with = "crate::de::option_string_or_int")]
    request_id: Option<String>,
    #[serde(default, deserialize_with = "crate::de::option_timestamp")]
    updated_at: Option<i64>,
    #[serde(default, deserialize_with = "option_int_or_string")]
    entity_id: Option<u64>,
    #[serde(rename = "_links", default, deserialize_with = "object_or_empty")]
    links: Links,
    #[serde(rename = "_embedded", default)]
    embedded: Embedded<Saved<E>>,
}
