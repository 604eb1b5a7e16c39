//! Webhook subscriptions: list, subscribe (upsert by destination) and unsubscribe, admins only (amocrm-api-v4.md §11.1,
//! the RU "Вебхуки" API page).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::read_object;
use super::validate::{self, Field};
use crate::auth::Caller;
use crate::hal::{collection, hal_status, no_content};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::state::model::Webhook;

/// Most webhooks one account may have (§11.1).
pub const MAX_WEBHOOKS: usize = 100;

/// Every event a webhook can subscribe to (§11.1).
pub const EVENTS: [&str; 31] = [
    "add_lead",
    "update_lead",
    "delete_lead",
    "restore_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "delete_contact",
    "restore_contact",
    "responsible_contact",
    "note_contact",
    "add_company",
    "update_company",
    "delete_company",
    "restore_company",
    "responsible_company",
    "note_company",
    "add_customer",
    "update_customer",
    "delete_customer",
    "responsible_customer",
    "note_customer",
    "add_task",
    "update_task",
    "delete_task",
    "responsible_task",
    "add_talk",
    "update_talk",
    "add_chat_template_review",
];

/// Webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks", get(list).post(subscribe).delete(unsubscribe))
}

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "The method is available to account admins only",
        ))
    }
}

/// The webhook model.
fn render(webhook: &Webhook, account_id: u64) -> Value {
    json!({
        "id": webhook.id,
        "destination": webhook.destination,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "account_id": account_id,
        "created_by": webhook.created_by,
        "sort": webhook.sort,
        "disabled": webhook.disabled,
        "settings": webhook.settings,
    })
}

/// `GET /webhooks` with `filter[destination]` (exact); 204 when there are none.
async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    require_admin(&caller)?;
    let query = Query::parse(raw.as_deref());
    let destination = query
        .get(&["filter", "destination"])
        .and_then(|n| n.as_str())
        .filter(|_| state.options().filters_enabled)
        .map(str::to_owned);
    let store = state.store();
    let rows = store
        .webhooks
        .iter()
        .filter(|w| destination.as_deref().is_none_or(|d| w.destination == d))
        .map(|w| render(w, store.account.id))
        .collect();
    Ok(collection(
        format!("{}/api/v4/webhooks", state.app_url()),
        "webhooks",
        rows,
    ))
}

/// A destination amoCRM would accept: an absolute http(s) URL whose host is ASCII (Cyrillic domains are unsupported).
fn valid_destination(raw: &str) -> bool {
    reqwest::Url::parse(raw).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty())
            && raw.split('/').nth(2).unwrap_or("").is_ascii()
    })
}

/// `POST /webhooks` with an object `{destination, settings, sort?}`: 201 and the webhook; an existing destination is
/// updated with the new settings (and enabled again).
async fn subscribe(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    require_admin(&caller)?;
    let object = read_object(&body)?;
    let mut errors = Vec::new();
    let destination = match validate::string(&object, "destination", "", &mut errors) {
        Field::Set(d) if valid_destination(&d) => Some(d),
        Field::Set(_) => {
            errors.push(FieldError::new(
                "InvalidUrl",
                "destination",
                "This value is not a valid URL.",
            ));
            None
        }
        _ => {
            errors.push(FieldError::new(
                "NotBlank",
                "destination",
                "This value should not be blank.",
            ));
            None
        }
    };
    let settings: Vec<String> = match object.get("settings") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.as_str() {
                Some(event) if EVENTS.contains(&event) => Some(event.to_owned()),
                _ => {
                    errors.push(FieldError::new(
                        "NotSupportedChoice",
                        format!("settings.{i}"),
                        "The value you selected is not a valid choice.",
                    ));
                    None
                }
            })
            .collect(),
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "NotBlank",
                "settings",
                "This value should not be blank.",
            ));
            Vec::new()
        }
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                "settings",
                "This value should be of type array.",
            ));
            Vec::new()
        }
    };
    let sort = validate::int(&object, "sort", "", &mut errors).set();
    let Some(destination) = destination.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(vec![("0".into(), errors)]));
    };
    let now = state.clock.now();
    let mut store = state.store_mut();
    let account_id = store.account.id;
    if let Some(webhook) = store
        .webhooks
        .iter_mut()
        .find(|w| w.destination == destination)
    {
        webhook.settings = settings;
        if let Some(sort) = sort {
            webhook.sort = sort;
        }
        webhook.disabled = false;
        webhook.updated_at = now;
        return Ok(hal_status(StatusCode::CREATED, render(webhook, account_id)));
    }
    if store.webhooks.len() >= MAX_WEBHOOKS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("An account can have at most {MAX_WEBHOOKS} webhooks"),
        ));
    }
    let id = store.next_id("webhook");
    let webhook = Webhook {
        id,
        destination,
        settings,
        sort: sort.unwrap_or(1),
        disabled: false,
        created_by: caller.user_id,
        created_at: now,
        updated_at: now,
    };
    let body = render(&webhook, account_id);
    store.webhooks.push(webhook);
    Ok(hal_status(StatusCode::CREATED, body))
}

/// `DELETE /webhooks` with `{destination}`: 204, or 404 when no webhook has that destination.
async fn unsubscribe(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    require_admin(&caller)?;
    let object = read_object(&body)?;
    let mut errors = Vec::new();
    let Field::Set(destination) = validate::string(&object, "destination", "", &mut errors) else {
        errors.push(FieldError::new(
            "NotBlank",
            "destination",
            "This value should not be blank.",
        ));
        return Err(ApiError::validation(vec![("0".into(), errors)]));
    };
    let mut store = state.store_mut();
    let before = store.webhooks.len();
    store.webhooks.retain(|w| w.destination != destination);
    if store.webhooks.len() == before {
        return Err(ApiError::not_found("Webhook not found"));
    }
    Ok(no_content())
}
