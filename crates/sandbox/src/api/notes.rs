//! Lead notes: create on `/leads/{id}/notes` or `/leads/notes`, list and get (amocrm-api-v4.md §7).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::validate::{self, not_a_choice, Field};
use super::{parse_id, read_batch, request_id, validate_batch};
use crate::auth::Caller;
use crate::changes::Change;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiResult, FieldError};
use crate::query::{Node, Query};
use crate::routes::AppState;
use crate::state::model::Note;

/// Note types an integration may write, with the `params` key each one needs.
const WRITABLE: [(&str, &str); 11] = [
    ("common", "text"),
    ("call_in", "phone"),
    ("call_out", "phone"),
    ("service_message", "text"),
    ("extended_service_message", "text"),
    ("message_cashier", "text"),
    ("geolocation", "text"),
    ("sms_in", "text"),
    ("sms_out", "text"),
    ("attachment", "file_uuid"),
    ("invoice_paid", "text"),
];

/// Note routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/notes", get(list_all).post(create_mass))
        .route("/leads/{id}/notes", get(list_of_lead).post(create_on_lead))
        .route("/leads/{id}/notes/{note_id}", get(get_one))
}

/// The JSON of a note.
pub fn render_note(base: &str, account_id: u64, note: &Note) -> Value {
    json!({
        "id": note.id, "entity_id": note.entity_id, "created_by": note.created_by, "updated_by": note.updated_by,
        "created_at": note.created_at, "updated_at": note.updated_at, "responsible_user_id": note.responsible_user_id,
        "group_id": note.group_id, "note_type": note.note_type, "params": note.params, "account_id": account_id,
        "_links": self_link(format!("{base}/api/v4/leads/{}/notes/{}", note.entity_id, note.id)),
    })
}

fn matches(note: &Note, filter: &Node) -> bool {
    if let Some(ids) = filter.child("id").map(Node::ints) {
        if !ids.contains(&(note.id as i64)) {
            return false;
        }
    }
    if let Some(ids) = filter.child("entity_id").map(Node::ints) {
        if !ids.contains(&(note.entity_id as i64)) {
            return false;
        }
    }
    if let Some(types) = filter.child("note_type").map(Node::values) {
        if !types.contains(&note.note_type.as_str()) {
            return false;
        }
    }
    if let Some(updated) = filter.child("updated_at") {
        let ok = match (updated.as_str(), updated.range()) {
            (Some(since), _) => since
                .trim()
                .parse::<i64>()
                .is_ok_and(|s| note.updated_at >= s),
            (None, Some(range)) => range.contains(Some(note.updated_at)),
            (None, None) => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn list(state: &AppState, raw: Option<String>, lead: Option<u64>, path: &str) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let options = state.options();
    let page = Page::from_query(&query, &options)?;
    let filter = query.get(&["filter"]).filter(|_| options.filters_enabled);
    let store = state.store();
    let mut notes: Vec<&Note> = store
        .notes
        .values()
        .filter(|n| n.entity_type == "leads" && lead.is_none_or(|l| n.entity_id == l))
        .filter(|n| filter.is_none_or(|f| matches(n, f)))
        .collect();
    if let Some((key, desc)) = query.order(&["updated_at", "id"]) {
        if key == "updated_at" {
            notes.sort_by_key(|n| (n.updated_at, n.id));
        }
        if desc {
            notes.reverse();
        }
    }
    let base = state.app_url();
    let account = store.account.id;
    Ok(paged(
        List {
            base,
            path,
            query: &query,
            page,
        },
        "notes",
        &notes,
        Totals::None,
        |n| render_note(base, account, n),
    ))
}

async fn list_all(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    list(&state, raw, None, "/api/v4/leads/notes")
}

async fn list_of_lead(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = parse_id(&id)?;
    list(&state, raw, Some(id), &format!("/api/v4/leads/{id}/notes"))
}

async fn get_one(
    State(state): State<AppState>,
    Path((id, note_id)): Path<(String, String)>,
) -> ApiResult {
    let (id, note_id) = (parse_id(&id)?, parse_id(&note_id)?);
    let store = state.store();
    match store
        .notes
        .get(&note_id)
        .filter(|n| n.entity_type == "leads" && n.entity_id == id)
    {
        Some(note) => Ok(hal(render_note(state.app_url(), store.account.id, note))),
        None => Ok(no_content()),
    }
}

fn create(state: &AppState, caller: &Caller, body: &[u8], lead: Option<u64>) -> ApiResult {
    let items = read_batch(body)?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let drafts = validate_batch(&items, |_, object, errors| {
        let entity_id = match lead {
            Some(id) => Some(id),
            None => match validate::id(object, "entity_id", "", errors) {
                Field::Set(id) => Some(id),
                _ => {
                    errors.push(FieldError::new(
                        "NotBlank",
                        "entity_id",
                        "This value should not be blank.",
                    ));
                    None
                }
            },
        };
        if let Some(id) = entity_id {
            if store.leads.get(&id).is_none_or(|l| l.is_deleted) {
                errors.push(not_a_choice(if lead.is_some() {
                    "id"
                } else {
                    "entity_id"
                }));
            }
        }
        let note_type = validate::string(object, "note_type", "", errors).set();
        let required = note_type
            .as_deref()
            .and_then(|t| WRITABLE.iter().find(|(kind, _)| *kind == t))
            .map(|(_, key)| *key);
        if required.is_none() {
            errors.push(not_a_choice("note_type"));
        }
        let params = object.get("params").cloned().unwrap_or(Value::Null);
        if let Some(key) = required {
            if params.get(key).is_none_or(Value::is_null) {
                errors.push(FieldError::new(
                    "NotBlank",
                    format!("params.{key}"),
                    "This value should not be blank.",
                ));
            }
        }
        let responsible = validate::id(object, "responsible_user_id", "", errors)
            .set()
            .unwrap_or(caller.user_id);
        if store.user(responsible).is_none() {
            errors.push(not_a_choice("responsible_user_id"));
        }
        let created_by = validate::id(object, "created_by", "", errors)
            .set()
            .unwrap_or(caller.user_id);
        Some((entity_id?, note_type?, params, responsible, created_by))
    })?;
    let mut rows = Vec::new();
    let mut published = Vec::new();
    for (index, (entity_id, note_type, params, responsible, created_by)) in
        drafts.into_iter().enumerate()
    {
        let id = store.next_id("note");
        let group_id = store.group_of(responsible);
        let note = Note {
            id,
            entity_type: "leads".into(),
            entity_id,
            created_by,
            updated_by: created_by,
            created_at: now,
            updated_at: now,
            responsible_user_id: responsible,
            group_id,
            note_type,
            params,
        };
        published.push(Change::NoteAdded(note.clone()));
        store.notes.insert(id, note);
        rows.push(json!({
            "id": id, "entity_id": entity_id, "request_id": request_id(&items[index], index),
            "_links": self_link(format!("{base}/api/v4/leads/{entity_id}/notes/{id}")),
        }));
    }
    state.publish(store, now, &published);
    Ok(hal(
        json!({"_links": self_link(format!("{base}/api/v4/leads/notes")), "_embedded": {"notes": rows}}),
    ))
}

async fn create_on_lead(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_id(&id)?;
    create(&state, &caller, &body, Some(id))
}

async fn create_mass(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    create(&state, &caller, &body, None)
}
