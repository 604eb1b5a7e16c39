//! Entity links of leads: contacts, companies and catalog elements (`/link` → 200, `/unlink` → 204; amocrm-api-v4.md §10.4).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::validate::{self, not_a_choice, Field};
use super::{parse_id, read_batch, validate_batch};
use crate::hal::{hal, no_content, self_link};
use crate::problem::{ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::{ContactLink, ElementLink, Lead};
use crate::state::store::Store;

/// Link routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/links", get(list_mass))
        .route("/leads/link", post(link_mass))
        .route("/leads/unlink", post(unlink_mass))
        .route("/leads/{id}/links", get(list_one))
        .route("/leads/{id}/link", post(link_one))
        .route("/leads/{id}/unlink", post(unlink_one))
}

/// Every link of a lead in the response shape.
fn render_links(lead: &Lead) -> Vec<Value> {
    let link = |to_id: u64, to_type: &str, metadata: Value| json!({"entity_id": lead.id, "entity_type": "leads", "to_entity_id": to_id, "to_entity_type": to_type, "metadata": metadata});
    let mut links = Vec::new();
    for c in &lead.contacts {
        links.push(link(c.id, "contacts", json!({"main_contact": c.is_main})));
    }
    for id in &lead.companies {
        links.push(link(*id, "companies", Value::Null));
    }
    for e in &lead.catalog_elements {
        let mut metadata = json!({"quantity": e.quantity, "catalog_id": e.catalog_id});
        if let Some(price_id) = e.price_id {
            metadata["price_id"] = json!(price_id);
        }
        links.push(link(e.id, "catalog_elements", metadata));
    }
    links
}

/// Applies `filter[to_entity_type]` + `filter[to_entity_id]` and `filter[to_catalog_id]`.
fn filter_links(links: Vec<Value>, query: &Query, enabled: bool) -> Vec<Value> {
    let Some(filter) = query.get(&["filter"]).filter(|_| enabled) else {
        return links;
    };
    let to_type = filter.child("to_entity_type").and_then(|n| n.as_str());
    let to_ids = filter.child("to_entity_id").map(|n| n.ints());
    let catalogs = filter.child("to_catalog_id").map(|n| n.ints());
    links
        .into_iter()
        .filter(|l| to_type.is_none_or(|t| l["to_entity_type"] == t))
        .filter(|l| {
            to_type.is_none()
                || to_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&l["to_entity_id"].as_i64().unwrap_or(0)))
        })
        .filter(|l| {
            catalogs.as_ref().is_none_or(|ids| {
                l["metadata"]["catalog_id"]
                    .as_i64()
                    .is_some_and(|c| ids.contains(&c))
            })
        })
        .collect()
}

fn answer(base: &str, path: &str, links: Vec<Value>) -> ApiResult {
    if links.is_empty() {
        return Ok(no_content());
    }
    Ok(hal(
        json!({"_total_items": links.len(), "_links": self_link(format!("{base}{path}")), "_embedded": {"links": links}}),
    ))
}

async fn list_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    let links = store.leads.get(&id).map(render_links).unwrap_or_default();
    answer(
        state.app_url(),
        &format!("/api/v4/leads/{id}/links"),
        filter_links(links, &query, state.options().filters_enabled),
    )
}

async fn list_mass(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let ids = query
        .get(&["filter", "entity_id"])
        .map(|n| n.ints())
        .unwrap_or_default();
    let store = state.store();
    let links: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.leads.get(&(*id as u64)))
        .flat_map(render_links)
        .collect();
    answer(
        state.app_url(),
        "/api/v4/leads/links",
        filter_links(links, &query, state.options().filters_enabled),
    )
}

/// A validated link request.
#[derive(Debug, Clone)]
struct LinkRequest {
    lead: u64,
    to_id: u64,
    to_type: String,
    quantity: f64,
    catalog_id: u64,
    price_id: Option<u64>,
    is_main: bool,
}

fn check(
    store: &Store,
    object: &Map<String, Value>,
    lead: Option<u64>,
    errors: &mut Vec<FieldError>,
) -> Option<LinkRequest> {
    let lead = match lead {
        Some(id) => id,
        None => match validate::id(object, "entity_id", "", errors) {
            Field::Set(id) => id,
            _ => {
                errors.push(FieldError::new(
                    "NotBlank",
                    "entity_id",
                    "This value should not be blank.",
                ));
                return None;
            }
        },
    };
    if store.leads.get(&lead).is_none_or(|l| l.is_deleted) {
        errors.push(not_a_choice("entity_id"));
    }
    let to_id = validate::id(object, "to_entity_id", "", errors).set();
    let to_type = validate::string(object, "to_entity_type", "", errors).set();
    let metadata = object
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (Some(to_id), Some(to_type)) = (to_id, to_type) else {
        errors.push(FieldError::new(
            "NotBlank",
            "to_entity_id",
            "This value should not be blank.",
        ));
        return None;
    };
    let mut request = LinkRequest {
        lead,
        to_id,
        to_type: to_type.clone(),
        quantity: 1.0,
        catalog_id: 0,
        price_id: None,
        is_main: false,
    };
    match to_type.as_str() {
        "contacts" if store.contacts.contains_key(&to_id) => {
            request.is_main = metadata
                .get("is_main")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        "companies" if store.companies.contains_key(&to_id) => {}
        "catalog_elements" => match store.elements.get(&to_id) {
            Some(element) => {
                request.catalog_id = element.catalog_id;
                if metadata
                    .get("catalog_id")
                    .and_then(Value::as_u64)
                    .is_some_and(|c| c != element.catalog_id)
                {
                    errors.push(not_a_choice("metadata.catalog_id"));
                }
                request.quantity = metadata
                    .get("quantity")
                    .and_then(Value::as_f64)
                    .unwrap_or(1.0);
                request.price_id = metadata.get("price_id").and_then(Value::as_u64);
            }
            None => errors.push(not_a_choice("to_entity_id")),
        },
        "contacts" | "companies" => errors.push(not_a_choice("to_entity_id")),
        _ => errors.push(not_a_choice("to_entity_type")),
    }
    Some(request)
}

fn link(state: &AppState, body: &[u8], lead: Option<u64>) -> ApiResult {
    let items = read_batch(body)?;
    let mut store = state.store_mut();
    let requests = validate_batch(&items, |_, object, errors| {
        check(&store, object, lead, errors)
    })?;
    let now = state.clock.now();
    let mut rows = Vec::new();
    for r in requests {
        let lead = store.leads.get_mut(&r.lead).expect("validated");
        match r.to_type.as_str() {
            "contacts" => {
                if r.is_main {
                    lead.contacts.iter_mut().for_each(|c| c.is_main = false);
                }
                lead.contacts.retain(|c| c.id != r.to_id);
                lead.contacts.push(ContactLink {
                    id: r.to_id,
                    is_main: r.is_main || lead.contacts.is_empty(),
                });
            }
            "companies" => lead.companies = vec![r.to_id],
            _ => {
                lead.catalog_elements.retain(|e| e.id != r.to_id);
                lead.catalog_elements.push(ElementLink {
                    id: r.to_id,
                    catalog_id: r.catalog_id,
                    quantity: r.quantity,
                    price_id: r.price_id,
                });
            }
        }
        lead.updated_at = now;
        let metadata = match r.to_type.as_str() {
            "contacts" => json!({"main_contact": r.is_main}),
            "companies" => Value::Null,
            _ => json!({"quantity": r.quantity, "catalog_id": r.catalog_id}),
        };
        rows.push(json!({"entity_id": r.lead, "entity_type": "leads", "to_entity_id": r.to_id, "to_entity_type": r.to_type, "metadata": metadata}));
    }
    let base = state.app_url();
    Ok(hal(
        json!({"_total_items": rows.len(), "_links": self_link(format!("{base}/api/v4/leads/link")), "_embedded": {"links": rows}}),
    ))
}

fn unlink(state: &AppState, body: &[u8], lead: Option<u64>) -> ApiResult {
    let items = read_batch(body)?;
    let mut store = state.store_mut();
    let requests = validate_batch(&items, |_, object, errors| {
        check(&store, object, lead, errors)
    })?;
    let now = state.clock.now();
    for r in requests {
        let lead = store.leads.get_mut(&r.lead).expect("validated");
        match r.to_type.as_str() {
            "contacts" => lead.contacts.retain(|c| c.id != r.to_id),
            "companies" => lead.companies.retain(|c| *c != r.to_id),
            _ => lead.catalog_elements.retain(|e| e.id != r.to_id),
        }
        lead.updated_at = now;
    }
    Ok(no_content())
}

async fn link_one(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_id(&id)?;
    link(&state, &body, Some(id))
}

async fn unlink_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    unlink(&state, &body, Some(id))
}

async fn link_mass(State(state): State<AppState>, body: Bytes) -> ApiResult {
    link(&state, &body, None)
}

async fn unlink_mass(State(state): State<AppState>, body: Bytes) -> ApiResult {
    unlink(&state, &body, None)
}
