//! Loss reasons: list and get (Kommo docs) plus the SDK's create, update and delete (amocrm-api-v4.md §4).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::validate;
use super::{parse_id, read_batch, read_object, request_id, validate_batch};
use crate::hal::{collection, hal, no_content, self_link};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::routes::AppState;
use crate::state::model::LossReason;

/// Loss reason routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/loss_reasons", get(list).post(create))
        .route(
            "/leads/loss_reasons/{id}",
            get(get_one).patch(update).delete(remove),
        )
}

/// The JSON of a loss reason.
pub fn render(base: &str, reason: &LossReason) -> Value {
    json!({
        "id": reason.id, "name": reason.name, "sort": reason.sort,
        "created_at": reason.created_at, "updated_at": reason.updated_at,
        "_links": self_link(format!("{base}/api/v4/leads/loss_reasons/{}", reason.id)),
    })
}

async fn list(State(state): State<AppState>) -> ApiResult {
    let base = state.app_url();
    let mut reasons = state.store().loss_reasons.clone();
    reasons.sort_by_key(|r| (r.sort, r.id));
    Ok(collection(
        format!("{base}/api/v4/leads/loss_reasons"),
        "loss_reasons",
        reasons.iter().map(|r| render(base, r)).collect(),
    ))
}

fn not_found() -> ApiError {
    ApiError::not_found("Loss reason not found")
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let store = state.store();
    let reason = store.loss_reason(id).ok_or_else(not_found)?;
    Ok(hal(render(state.app_url(), reason)))
}

fn name_and_sort(
    object: &serde_json::Map<String, Value>,
    errors: &mut Vec<FieldError>,
    required: bool,
) -> (Option<String>, Option<i64>) {
    let name = validate::string(object, "name", "", errors)
        .set()
        .filter(|n| !n.trim().is_empty());
    if required && name.is_none() {
        errors.push(FieldError::new(
            "NotBlank",
            "name",
            "This value should not be blank.",
        ));
    }
    (name, validate::int(object, "sort", "", errors).set())
}

async fn create(State(state): State<AppState>, body: Bytes) -> ApiResult {
    let items = read_batch(&body)?;
    let drafts = validate_batch(&items, |_, object, errors| {
        Some(name_and_sort(object, errors, true))
    })?;
    let now = state.clock.now();
    let base = state.app_url().to_owned();
    let mut store = state.store_mut();
    let mut rows = Vec::new();
    for (index, (name, sort)) in drafts.into_iter().enumerate() {
        let id = store.next_id("loss_reason");
        let reason = LossReason {
            id,
            name: name.unwrap_or_default(),
            sort: sort.unwrap_or(0),
            created_at: now,
            updated_at: now,
        };
        let mut row = render(&base, &reason);
        row["request_id"] = json!(request_id(&items[index], index));
        rows.push(row);
        store.loss_reasons.push(reason);
    }
    Ok(hal(
        json!({"_total_items": rows.len(), "_embedded": {"loss_reasons": rows}}),
    ))
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_id(&id)?;
    let object = read_object(&body)?;
    let mut errors = Vec::new();
    let (name, sort) = name_and_sort(&object, &mut errors, false);
    if !errors.is_empty() {
        return Err(ApiError::validation(vec![("0".into(), errors)]));
    }
    let now = state.clock.now();
    let mut store = state.store_mut();
    let reason = store
        .loss_reasons
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(not_found)?;
    if let Some(name) = name {
        reason.name = name;
    }
    if let Some(sort) = sort {
        reason.sort = sort;
    }
    reason.updated_at = now;
    Ok(hal(render(state.app_url(), reason)))
}

/// Deleting a reason also clears it from the leads that carried it.
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let mut store = state.store_mut();
    let before = store.loss_reasons.len();
    store.loss_reasons.retain(|r| r.id != id);
    if store.loss_reasons.len() == before {
        return Err(not_found());
    }
    for lead in store
        .leads
        .values_mut()
        .filter(|l| l.loss_reason_id == Some(id))
    {
        lead.loss_reason_id = None;
    }
    Ok(no_content())
}
