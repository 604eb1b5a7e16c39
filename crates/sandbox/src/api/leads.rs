//! Leads: list with filters and `with`, get one, batch create, batch and single update (amocrm-api-v4.md §2).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};

use super::custom_fields::{apply_values, parse_values, render_values, FieldUpdate};
use super::tags::{parse_refs, render_tags, resolve, TagRef};
use super::validate::{self, not_a_choice, Field};
use super::{parse_id, read_batch, read_object, request_id, validate_batch};
use crate::auth::Caller;
use crate::changes::Change;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::{Node, Query};
use crate::routes::AppState;
use crate::state::model::{ContactLink, Lead};
use crate::state::store::Store;
use crate::state::{LOST, WON};

/// Lead routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list).post(create).patch(update_batch))
        .route("/leads/{id}", get(get_one).patch(update_one))
}

/// The JSON of a lead; `with` adds contacts, loss_reason, catalog_elements, source_id, is_price_modified_by_robot.
pub fn render_lead(store: &Store, base: &str, lead: &Lead, with: &[&str]) -> Value {
    if lead.is_deleted {
        return json!({
            "id": lead.id, "updated_at": lead.updated_at, "updated_by": lead.updated_by, "is_deleted": true,
            "account_id": store.account.id, "_links": self_link(format!("{base}/api/v4/leads/{}", lead.id)),
        });
    }
    let mut value = json!({
        "id": lead.id,
        "name": lead.name,
        "price": lead.price,
        "responsible_user_id": lead.responsible_user_id,
        "group_id": lead.group_id,
        "status_id": lead.status_id,
        "pipeline_id": lead.pipeline_id,
        "loss_reason_id": lead.loss_reason_id,
        "created_by": lead.created_by,
        "updated_by": lead.updated_by,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "closed_at": lead.closed_at,
        "closest_task_at": lead.closest_task_at,
        "is_deleted": false,
        "custom_fields_values": render_values(store.fields_of("leads"), &lead.custom_fields_values),
        "score": lead.score,
        "account_id": store.account.id,
        "labor_cost": null,
        "_links": self_link(format!("{base}/api/v4/leads/{}", lead.id)),
    });
    if with.contains(&"source_id") {
        value["source_id"] = json!(lead.source_id);
    }
    if with.contains(&"is_price_modified_by_robot") {
        value["is_price_modified_by_robot"] = json!(false);
    }
    let mut embedded = Map::new();
    embedded.insert("tags".into(), render_tags(store, "leads", &lead.tags));
    embedded.insert(
        "companies".into(),
        Value::Array(lead.companies.iter().map(|id| json!({"id": id, "_links": self_link(format!("{base}/api/v4/companies/{id}"))})).collect()),
    );
    if with.contains(&"contacts") {
        let contacts = lead
            .contacts
            .iter()
            .map(|c| json!({"id": c.id, "is_main": c.is_main, "_links": self_link(format!("{base}/api/v4/contacts/{}", c.id))}))
            .collect();
        embedded.insert("contacts".into(), Value::Array(contacts));
    }
    if with.contains(&"loss_reason") {
        let reasons = lead
            .loss_reason_id
            .and_then(|id| store.loss_reason(id))
            .map(|r| vec![super::loss_reasons::render(base, r)])
            .unwrap_or_default();
        embedded.insert("loss_reason".into(), Value::Array(reasons));
    }
    if with.contains(&"catalog_elements") {
        let elements = lead
            .catalog_elements
            .iter()
            .map(|e| {
                let mut metadata = json!({"quantity": e.quantity, "catalog_id": e.catalog_id});
                if let Some(price_id) = e.price_id {
                    metadata["price_id"] = json!(price_id);
                }
                json!({"id": e.id, "metadata": metadata})
            })
            .collect();
        embedded.insert("catalog_elements".into(), Value::Array(elements));
    }
    value["_embedded"] = Value::Object(embedded);
    value
}

/// Whether a lead passes the `filter[...]` of §2.2; unknown keys are ignored.
fn matches(lead: &Lead, filter: &Node) -> bool {
    for (key, node) in filter.children() {
        let ok = match key.as_str() {
            "id" => node.ints().contains(&(lead.id as i64)),
            "name" => node
                .values()
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&lead.name) || *n == lead.name),
            "price" => match node.range() {
                Some(range) => range.contains(Some(lead.price)),
                None => node.ints().contains(&lead.price),
            },
            "statuses" => node.children().iter().any(|(_, pair)| {
                let pipeline = pair
                    .child("pipeline_id")
                    .map(Node::ints)
                    .unwrap_or_default();
                let status = pair.child("status_id").map(Node::ints).unwrap_or_default();
                pipeline.contains(&(lead.pipeline_id as i64))
                    && status.contains(&(lead.status_id as i64))
            }),
            "pipeline_id" => node.ints().contains(&(lead.pipeline_id as i64)),
            "created_by" => node.ints().contains(&(lead.created_by as i64)),
            "updated_by" => node.ints().contains(&(lead.updated_by as i64)),
            "responsible_user_id" => node.ints().contains(&(lead.responsible_user_id as i64)),
            "created_at" => node
                .range()
                .is_none_or(|r| r.contains(Some(lead.created_at))),
            "updated_at" => node
                .range()
                .is_none_or(|r| r.contains(Some(lead.updated_at))),
            "closed_at" => node.range().is_none_or(|r| r.contains(lead.closed_at)),
            "closest_task_at" => node
                .range()
                .is_none_or(|r| r.contains(lead.closest_task_at)),
            "custom_fields_values" => node.children().iter().all(|(field_id, wanted)| {
                let Ok(field_id) = field_id.parse::<u64>() else {
                    return true;
                };
                let Some(values) = lead
                    .custom_fields_values
                    .iter()
                    .find(|v| v.field_id == field_id)
                else {
                    return false;
                };
                match wanted.range() {
                    Some(range) => values
                        .values
                        .iter()
                        .any(|v| range.contains(value_int(&v.value))),
                    None => {
                        let wanted = wanted.values();
                        values.values.iter().any(|v| {
                            wanted.iter().any(|w| {
                                v.enum_id.is_some_and(|id| id.to_string() == *w)
                                    || value_text(&v.value) == *w
                            })
                        })
                    }
                }
            }),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .map(|f| f as i64)
    })
}

/// Full-text `query`: id, name or any custom field value.
fn matches_text(lead: &Lead, text: &str) -> bool {
    lead.id.to_string() == text
        || lead.name.to_lowercase().contains(text)
        || lead
            .custom_fields_values
            .iter()
            .flat_map(|v| &v.values)
            .any(|v| value_text(&v.value).to_lowercase().contains(text))
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let options = state.options();
    let page = Page::from_query(&query, &options)?;
    let with = query.with();
    let only_deleted = with.contains(&"only_deleted");
    let filter = query.get(&["filter"]).filter(|_| options.filters_enabled);
    let text = query
        .str("query")
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let store = state.store();
    let mut leads: Vec<&Lead> = store
        .leads
        .values()
        .filter(|l| l.is_deleted == only_deleted)
        .filter(|l| filter.is_none_or(|f| matches(l, f)))
        .filter(|l| text.as_deref().is_none_or(|t| matches_text(l, t)))
        .collect();
    if let Some((key, desc)) = query.order(&["created_at", "updated_at", "id"]) {
        match key.as_str() {
            "created_at" => leads.sort_by_key(|l| (l.created_at, l.id)),
            "updated_at" => leads.sort_by_key(|l| (l.updated_at, l.id)),
            _ => {}
        }
        if desc {
            leads.reverse();
        }
    }
    let base = state.app_url();
    Ok(paged(
        List {
            base,
            path: "/api/v4/leads",
            query: &query,
            page,
        },
        "leads",
        &leads,
        Totals::None,
        |l| render_lead(&store, base, l, &with),
    ))
}

/// `GET /leads/{id}`: the bare lead, or 204 when there is none (§2.3).
async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    match store.leads.get(&id).filter(|l| !l.is_deleted) {
        Some(lead) => Ok(hal(render_lead(
            &store,
            state.app_url(),
            lead,
            &query.with(),
        ))),
        None => Ok(no_content()),
    }
}

/// A validated lead write.
#[derive(Debug, Default)]
struct Changes {
    id: Option<u64>,
    name: Option<String>,
    price: Option<i64>,
    pipeline_id: Option<u64>,
    status_id: Option<u64>,
    responsible_user_id: Option<u64>,
    loss_reason_id: Option<Option<u64>>,
    created_by: Option<u64>,
    updated_by: Option<u64>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    closed_at: Option<Option<i64>>,
    fields: Vec<FieldUpdate>,
    replace_tags: Option<Vec<TagRef>>,
    tags_to_add: Vec<TagRef>,
    tags_to_delete: Vec<TagRef>,
    contacts: Option<Vec<ContactLink>>,
    companies: Option<Vec<u64>>,
}

/// Validates one lead object; `existing` is the stored lead for updates.
fn check(
    store: &Store,
    object: &Map<String, Value>,
    existing: Option<&Lead>,
    errors: &mut Vec<FieldError>,
) -> Changes {
    let mut changes = Changes {
        name: validate::string(object, "name", "", errors).set(),
        price: validate::int(object, "price", "", errors).set(),
        created_by: validate::id(object, "created_by", "", errors).set(),
        updated_by: validate::id(object, "updated_by", "", errors).set(),
        created_at: validate::int(object, "created_at", "", errors).set(),
        updated_at: validate::int(object, "updated_at", "", errors).set(),
        ..Changes::default()
    };
    match validate::int(object, "closed_at", "", errors) {
        Field::Set(v) => changes.closed_at = Some(Some(v)),
        Field::Null => changes.closed_at = Some(None),
        Field::Absent => {}
    }
    let pipeline_field = validate::id(object, "pipeline_id", "", errors).set();
    let status_field = validate::id(object, "status_id", "", errors).set();
    let pipeline_id = pipeline_field
        .or(existing.map(|l| l.pipeline_id))
        .unwrap_or_else(|| store.main_pipeline().id);
    match store.pipeline(pipeline_id) {
        None => errors.push(not_a_choice("pipeline_id")),
        Some(pipeline) => {
            let moved = existing.is_none_or(|l| l.pipeline_id != pipeline_id);
            let status_id = match (status_field, existing) {
                (Some(s), _) => s,
                (None, Some(lead)) if !moved => lead.status_id,
                _ => pipeline.first_status(),
            };
            if pipeline.status(status_id).is_none() {
                errors.push(not_a_choice("status_id"));
            }
            if pipeline_field.is_some() || status_field.is_some() || existing.is_none() {
                changes.pipeline_id = Some(pipeline_id);
                changes.status_id = Some(status_id);
            }
        }
    }
    let final_status = changes.status_id.or(existing.map(|l| l.status_id));
    match validate::id(object, "loss_reason_id", "", errors) {
        Field::Set(reason) => {
            if store.loss_reason(reason).is_none() {
                errors.push(not_a_choice("loss_reason_id"));
            } else if final_status != Some(LOST) {
                errors.push(FieldError::new(
                    "NotSupportedChoice",
                    "loss_reason_id",
                    "A loss reason can be set only on a lead in status 143 (closed - lost).",
                ));
            } else {
                changes.loss_reason_id = Some(Some(reason));
            }
        }
        Field::Null => changes.loss_reason_id = Some(None),
        Field::Absent => {}
    }
    if let Field::Set(user) = validate::id(object, "responsible_user_id", "", errors) {
        if store.user(user).is_some() {
            changes.responsible_user_id = Some(user);
        } else {
            errors.push(not_a_choice("responsible_user_id"));
        }
    }
    if let Some(raw) = object.get("custom_fields_values") {
        changes.fields = parse_values(
            store.fields_of("leads"),
            raw,
            "custom_fields_values",
            errors,
        );
    }
    if let Some(raw) = object.get("tags_to_add").filter(|v| !v.is_null()) {
        changes.tags_to_add = parse_refs(store, "leads", raw, "tags_to_add", errors);
    }
    if let Some(raw) = object.get("tags_to_delete").filter(|v| !v.is_null()) {
        changes.tags_to_delete = parse_refs(store, "leads", raw, "tags_to_delete", errors);
    }
    if let Some(embedded) = object.get("_embedded").and_then(Value::as_object) {
        match embedded.get("tags") {
            Some(Value::Null) => changes.replace_tags = Some(Vec::new()),
            Some(raw) => {
                changes.replace_tags =
                    Some(parse_refs(store, "leads", raw, "_embedded.tags", errors))
            }
            None => {}
        }
        if existing.is_none() {
            if let Some(contacts) = embedded.get("contacts").and_then(Value::as_array) {
                let mut links = Vec::new();
                for (i, c) in contacts.iter().enumerate() {
                    match c
                        .get("id")
                        .and_then(Value::as_u64)
                        .filter(|id| store.contacts.contains_key(id))
                    {
                        Some(id) => links.push(ContactLink {
                            id,
                            is_main: c.get("is_main").and_then(Value::as_bool).unwrap_or(i == 0),
                        }),
                        None => errors.push(not_a_choice(format!("_embedded.contacts.{i}.id"))),
                    }
                }
                changes.contacts = Some(links);
            }
            if let Some(companies) = embedded.get("companies").and_then(Value::as_array) {
                let mut ids = Vec::new();
                for (i, c) in companies.iter().take(1).enumerate() {
                    match c
                        .get("id")
                        .and_then(Value::as_u64)
                        .filter(|id| store.companies.contains_key(id))
                    {
                        Some(id) => ids.push(id),
                        None => errors.push(not_a_choice(format!("_embedded.companies.{i}.id"))),
                    }
                }
                changes.companies = Some(ids);
            }
        }
    }
    changes
}

/// Applies validated changes: stage moves set or clear `closed_at`, leaving 143 clears the loss reason, `updated_at` bumps.
fn apply(store: &mut Store, lead: &mut Lead, changes: Changes, caller: &Caller, now: i64) {
    if let Some(name) = changes.name {
        lead.name = name;
    }
    if let Some(price) = changes.price {
        lead.price = price;
    }
    if let Some(user) = changes.responsible_user_id {
        lead.responsible_user_id = user;
        lead.group_id = store.group_of(user);
    }
    if let (Some(pipeline), Some(status)) = (changes.pipeline_id, changes.status_id) {
        let was_closed = lead.status_id == WON || lead.status_id == LOST;
        let is_closed = status == WON || status == LOST;
        if is_closed && (status != lead.status_id || lead.closed_at.is_none()) {
            lead.closed_at = Some(now);
        } else if !is_closed && was_closed {
            lead.closed_at = None;
        }
        lead.pipeline_id = pipeline;
        lead.status_id = status;
    }
    if let Some(closed_at) = changes.closed_at {
        lead.closed_at = closed_at;
    }
    if let Some(reason) = changes.loss_reason_id {
        lead.loss_reason_id = reason;
    }
    if lead.status_id != LOST {
        lead.loss_reason_id = None;
    }
    if let Some(created_by) = changes.created_by {
        lead.created_by = created_by;
    }
    if let Some(created_at) = changes.created_at {
        lead.created_at = created_at;
    }
    apply_values(&mut lead.custom_fields_values, changes.fields);
    if let Some(tags) = changes.replace_tags {
        lead.tags = resolve(store, "leads", &tags);
    }
    for id in resolve(store, "leads", &changes.tags_to_add) {
        if !lead.tags.contains(&id) {
            lead.tags.push(id);
        }
    }
    let removed = changes
        .tags_to_delete
        .iter()
        .filter_map(|r| match r {
            TagRef::Id(id) => Some(*id),
            TagRef::Name(name) => store
                .tag_dict("leads")
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .map(|t| t.id),
        })
        .collect::<Vec<_>>();
    lead.tags.retain(|id| !removed.contains(id));
    if let Some(contacts) = changes.contacts {
        lead.contacts = contacts;
    }
    if let Some(companies) = changes.companies {
        lead.companies = companies;
    }
    lead.updated_by = changes.updated_by.unwrap_or(caller.user_id);
    lead.updated_at = changes.updated_at.unwrap_or(now);
}

/// `POST /leads`: only `{id, request_id, _links}` per lead comes back (§2.4).
async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let items = read_batch(&body)?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let drafts = validate_batch(&items, |_, object, errors| {
        Some(check(&store, object, None, errors))
    })?;
    let mut rows = Vec::with_capacity(drafts.len());
    let mut published = Vec::with_capacity(drafts.len());
    for (index, changes) in drafts.into_iter().enumerate() {
        let id = store.next_id("lead");
        let responsible = changes.responsible_user_id.unwrap_or(caller.user_id);
        let mut lead = Lead {
            id,
            name: format!("Сделка #{id}"),
            price: 0,
            responsible_user_id: responsible,
            group_id: store.group_of(responsible),
            status_id: 0,
            pipeline_id: 0,
            loss_reason_id: None,
            source_id: None,
            created_by: caller.user_id,
            updated_by: caller.user_id,
            created_at: now,
            updated_at: now,
            closed_at: None,
            closest_task_at: None,
            is_deleted: false,
            score: None,
            custom_fields_values: Vec::new(),
            tags: Vec::new(),
            contacts: Vec::new(),
            companies: Vec::new(),
            catalog_elements: Vec::new(),
        };
        apply(&mut store, &mut lead, changes, &caller, now);
        published.push(Change::LeadAdded(Box::new(lead.clone())));
        store.leads.insert(id, lead);
        rows.push(json!({"id": id, "request_id": request_id(&items[index], index), "_links": self_link(format!("{base}/api/v4/leads/{id}"))}));
    }
    state.publish(store, now, &published);
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/leads")), "_embedded": {"leads": rows}}),
    ))
}

/// Validates and applies updates; returns `(id, updated_at)` per lead.
fn update(
    state: &AppState,
    caller: &Caller,
    items: &[Value],
    path_id: Option<u64>,
) -> Result<Vec<(u64, i64)>, ApiError> {
    let now = state.clock.now();
    let mut store = state.store_mut();
    let drafts = validate_batch(items, |_, object, errors| {
        let id = match path_id {
            Some(id) => Some(id),
            None => match validate::id(object, "id", "", errors) {
                Field::Set(id) => Some(id),
                _ => {
                    errors.push(FieldError::new(
                        "NotBlank",
                        "id",
                        "This value should not be blank.",
                    ));
                    None
                }
            },
        }?;
        let Some(existing) = store.leads.get(&id).filter(|l| !l.is_deleted) else {
            errors.push(FieldError::new("NotFound", "id", "Lead not found."));
            return None;
        };
        let mut changes = check(&store, object, Some(existing), errors);
        changes.id = Some(id);
        Some(changes)
    })?;
    let mut updated = Vec::with_capacity(drafts.len());
    let mut published = Vec::with_capacity(drafts.len());
    for changes in drafts {
        let id = changes.id.expect("validated");
        let before = store.leads.get(&id).cloned().expect("validated");
        let mut lead = before.clone();
        apply(&mut store, &mut lead, changes, caller, now);
        updated.push((id, lead.updated_at));
        published.push(Change::LeadUpdated {
            before: Box::new(before),
            after: Box::new(lead.clone()),
        });
        store.leads.insert(id, lead);
    }
    state.publish(store, now, &published);
    Ok(updated)
}

/// `PATCH /leads`: `{id, updated_at, _links}` per lead (§2.5).
async fn update_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let items = read_batch(&body)?;
    let updated = update(&state, &caller, &items, None)?;
    let base = state.app_url();
    let rows: Vec<Value> = updated
        .into_iter()
        .map(|(id, at)| json!({"id": id, "updated_at": at, "_links": self_link(format!("{base}/api/v4/leads/{id}"))}))
        .collect();
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/leads")), "_embedded": {"leads": rows}}),
    ))
}

/// `PATCH /leads/{id}`: a single object in, the bare `{id, updated_at, _links}` out (§2.5).
async fn update_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    let object = read_object(&body)?;
    let updated = update(&state, &caller, &[Value::Object(object)], Some(id))?;
    let (id, at) = updated[0];
    Ok(hal(
        json!({"id": id, "updated_at": at, "_links": self_link(format!("{}/api/v4/leads/{id}", state.app_url()))}),
    ))
}
