//! `/api/v4`: the REST API of amocrm-api-v4.md, one module per resource, plus the shared request helpers.

pub mod account;
pub mod catalogs;
pub mod custom_fields;
pub mod events;
pub mod leads;
pub mod links;
pub mod loss_reasons;
pub mod notes;
pub mod pipelines;
pub mod tags;
pub mod tasks;
pub mod users;
pub mod validate;
pub mod webhooks;
pub mod widgets;

use axum::Router;
use serde_json::{Map, Value};

use crate::problem::{ApiError, FieldError};
use crate::routes::{api_method_not_allowed, api_not_found, AppState};

/// Every `/api/v4` route; unknown paths answer 404 and wrong methods 405, both problem+json.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(leads::routes())
        .merge(pipelines::routes())
        .merge(loss_reasons::routes())
        .merge(tasks::routes())
        .merge(tags::routes())
        .merge(notes::routes())
        .merge(users::routes())
        .merge(account::routes())
        .merge(custom_fields::routes())
        .merge(catalogs::routes())
        .merge(links::routes())
        .merge(widgets::routes())
        .merge(webhooks::routes())
        .merge(events::routes())
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
}

/// Most entities one add/update request may carry (amocrm-api-v4.md §1.5).
pub const MAX_BATCH: usize = 250;

/// A numeric path id; anything else is the 404 of an unknown path.
pub fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("Cannot find entity {raw}")))
}

/// The request body as JSON: empty → 400 "Request data can not be empty", malformed → 400.
pub fn read_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::empty_body());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Syntax error: {e}")))
}

/// A batch body: a JSON array of 1..=250 items (§1.5). Not an array → 400 validation error; empty → 400; too many → 422.
pub fn read_batch(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    match read_json(body)? {
        Value::Array(items) if items.is_empty() => Err(ApiError::empty_body()),
        Value::Array(items) if items.len() > MAX_BATCH => Err(ApiError::over_limit()),
        Value::Array(items) => Ok(items),
        _ => Err(ApiError::validation(vec![(
            "0".into(),
            vec![FieldError::new(
                "InvalidType",
                "",
                "This value should be of type array.",
            )],
        )])),
    }
}

/// A single-entity body: a JSON object.
pub fn read_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match read_json(body)? {
        Value::Object(map) if map.is_empty() => Err(ApiError::empty_body()),
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::validation(vec![(
            "0".into(),
            vec![FieldError::new(
                "InvalidType",
                "",
                "This value should be of type object.",
            )],
        )])),
    }
}

/// The `request_id` of a batch item: echoed as given, else the item's ordinal as a string (§1.5).
pub fn request_id(item: &Value, index: usize) -> String {
    match item.get("request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => index.to_string(),
    }
}

/// Runs `check` over every batch item and turns the collected failures into one 400.
pub fn validate_batch<T>(
    items: &[Value],
    mut check: impl FnMut(usize, &Map<String, Value>, &mut Vec<FieldError>) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let mut groups = Vec::new();
    let mut ok = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut errors = Vec::new();
        let result = match item.as_object() {
            Some(object) => check(index, object, &mut errors),
            None => {
                errors.push(FieldError::new(
                    "InvalidType",
                    "",
                    "This value should be of type object.",
                ));
                None
            }
        };
        match result {
            Some(value) if errors.is_empty() => ok.push(value),
            _ => groups.push((request_id(item, index), errors)),
        }
    }
    if groups.is_empty() {
        Ok(ok)
    } else {
        Err(ApiError::validation(groups))
    }
}
