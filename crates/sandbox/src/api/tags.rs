//! Tags: per-entity dictionaries (`GET/POST /api/v4/{entity}/tags`) and tag references in entity writes (amocrm-api-v4.md §6).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::validate::{join, not_a_choice};
use super::{read_batch, request_id, validate_batch};
use crate::hal::{hal, paged, List, Page, Totals};
use crate::problem::{ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::Tag;
use crate::state::store::{Store, TAG_ENTITIES};

/// The colours amoCRM allows for lead tags (hex without `#`).
pub const COLORS: [&str; 23] = [
    "EBEBEB", "D0D0D0", "F2DDF7", "D1A4DC", "FF8F92", "FFC8C8", "C7DB8C", "DDEBB5", "8699DA",
    "AABDFF", "FFCE5A", "FFE193", "90CDB0", "C6F4DE", "A9A5D7", "D8D5FF", "86C0FC", "832161",
    "6A0F49", "0C7C59", "10599D", "9D2B32", "247BA0",
];

/// Tag dictionary routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for entity in TAG_ENTITIES {
        router = router.route(
            &format!("/{entity}/tags"),
            get(move |s, q| list(s, q, entity)).post(move |s, b| create(s, b, entity)),
        );
    }
    router
}

/// A tag named in a write: by id or by name.
#[derive(Debug, Clone, PartialEq)]
pub enum TagRef {
    /// An existing tag.
    Id(u64),
    /// A tag by name, created when missing.
    Name(String),
}

/// Validates an array of `{id}` / `{name}` tag references; unknown ids are errors, unknown names are fine.
pub fn parse_refs(
    store: &Store,
    entity: &str,
    raw: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<TagRef> {
    let Some(items) = raw.as_array() else {
        errors.push(FieldError::new(
            "InvalidType",
            path,
            "This value should be of type array.",
        ));
        return Vec::new();
    };
    let mut refs = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{path}.{index}");
        if let Some(id) = item.get("id").filter(|v| !v.is_null()) {
            match id.as_u64().filter(|id| store.tag(entity, *id).is_some()) {
                Some(id) => refs.push(TagRef::Id(id)),
                None => errors.push(not_a_choice(join(&item_path, "id"))),
            }
        } else if let Some(name) = item
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            refs.push(TagRef::Name(name.to_owned()));
        } else {
            errors.push(FieldError::new(
                "NotBlank",
                join(&item_path, "name"),
                "This value should not be blank.",
            ));
        }
    }
    refs
}

/// Turns references into ids, creating tags named for the first time.
pub fn resolve(store: &mut Store, entity: &str, refs: &[TagRef]) -> Vec<u64> {
    refs.iter()
        .map(|r| match r {
            TagRef::Id(id) => *id,
            TagRef::Name(name) => store.ensure_tag(entity, name, None),
        })
        .collect()
}

/// `_embedded.tags` of an entity.
pub fn render_tags(store: &Store, entity: &str, ids: &[u64]) -> Value {
    Value::Array(
        ids.iter()
            .filter_map(|id| store.tag(entity, *id))
            .map(|t| json!({"id": t.id, "name": t.name, "color": t.color}))
            .collect(),
    )
}

async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    entity: &'static str,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = Page::from_query(&query, &state.options())?;
    let mut tags: Vec<Tag> = state.store().tag_dict(entity).to_vec();
    if state.options().filters_enabled {
        if let Some(name) = query.get(&["filter", "name"]).and_then(|n| n.as_str()) {
            tags.retain(|t| t.name == name);
        }
        if let Some(ids) = query.get(&["filter", "id"]) {
            let ids = ids.ints();
            tags.retain(|t| ids.contains(&(t.id as i64)));
        }
    }
    if let Some(text) = query
        .str("query")
        .map(str::to_lowercase)
        .filter(|q| !q.is_empty())
    {
        tags.retain(|t| t.name.to_lowercase().contains(&text));
    }
    let path = format!("/api/v4/{entity}/tags");
    Ok(paged(
        List {
            base: state.app_url(),
            path: &path,
            query: &query,
            page,
        },
        "tags",
        &tags,
        Totals::None,
        |t| json!({"id": t.id, "name": t.name, "color": t.color}),
    ))
}

/// `POST /{entity}/tags`: idempotent by name; an existing tag's id comes back.
async fn create(State(state): State<AppState>, body: Bytes, entity: &'static str) -> ApiResult {
    let items = read_batch(&body)?;
    let drafts = validate_batch(&items, |_, object, errors| {
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if name.is_none() {
            errors.push(FieldError::new(
                "NotBlank",
                "name",
                "This value should not be blank.",
            ));
        }
        let color = match object.get("color") {
            None | Some(Value::Null) => None,
            Some(Value::String(c))
                if entity == "leads" && COLORS.contains(&c.to_uppercase().as_str()) =>
            {
                Some(c.to_uppercase())
            }
            Some(_) => {
                errors.push(not_a_choice("color"));
                None
            }
        };
        Some((name?.to_owned(), color))
    })?;
    let mut store = state.store_mut();
    let rows: Vec<Value> = drafts
        .into_iter()
        .zip(&items)
        .enumerate()
        .map(|(index, ((name, color), item))| {
            let id = store.ensure_tag(entity, &name, color);
            let tag = store.tag(entity, id).expect("just ensured");
            json!({"id": tag.id, "name": tag.name, "color": tag.color, "request_id": request_id(item, index)})
        })
        .collect();
    Ok(hal(
        json!({"_total_items": rows.len(), "_embedded": {"tags": rows}}),
    ))
}
