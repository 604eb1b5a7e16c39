//! `/ajax/sandbox/*`: what the fake amoCRM frontend loads in one call, like amoCRM's own page data (session only).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use crate::api::account::timezone_offset;
use crate::api::leads::render_lead;
use crate::api::notes::render_note;
use crate::api::tasks::render_task;
use crate::api::{parse_id, read_object};
use crate::auth::Caller;
use crate::problem::ApiError;
use crate::routes::AppState;

/// The sandbox ajax routes (mounted under `/ajax`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox/bootstrap", get(bootstrap))
        .route("/sandbox/widgets/{code}/settings", post(save_settings))
        .route("/sandbox/widgets/{code}/token", get(token))
        .route("/sandbox/leads/{id}/card", get(card))
}

fn require_session(caller: &Caller) -> Result<(), ApiError> {
    if caller.has_session {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// Account, user, managers, groups, task types, pipelines, loss reasons and installed widgets.
async fn bootstrap(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require_session(&caller)?;
    state.reload_stale_widgets();
    let now = state.clock.now();
    let store = state.store();
    let account = &store.account;
    let user = store
        .user(caller.user_id)
        .ok_or_else(ApiError::unauthorized)?;
    let managers: Map<String, Value> = store
        .users
        .iter()
        .map(|u| {
            (u.id.to_string(), json!({
                "id": u.id, "title": u.name, "option": u.name, "login": u.email, "active": u.is_active,
                "is_admin": if u.is_admin { "Y" } else { "N" }, "free_user": if u.is_free { "Y" } else { "N" },
                "group": format!("group_{}", u.group_id), "avatar": "",
            }))
        })
        .collect();
    let groups: Map<String, Value> = store
        .groups
        .iter()
        .map(|g| (format!("group_{}", g.id), json!(g.name)))
        .collect();
    let task_types: Map<String, Value> = store
        .task_types
        .iter()
        .map(|t| (t.id.to_string(), json!({"id": t.id, "option": t.name, "color": t.color, "icon_id": t.icon_id, "code": t.code})))
        .collect();
    let pipelines: Vec<Value> = store
        .pipelines
        .iter()
        .map(|p| {
            let statuses: Vec<Value> =
                p.statuses.iter().map(|s| json!({"id": s.id, "name": s.name, "sort": s.sort, "color": s.color, "type": s.kind})).collect();
            json!({"id": p.id, "name": p.name, "is_main": p.is_main, "statuses": statuses})
        })
        .collect();
    let mut reasons = store.loss_reasons.clone();
    reasons.sort_by_key(|r| (r.sort, r.id));
    let loss_reasons: Vec<Value> = reasons
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "sort": r.sort}))
        .collect();
    let cdn = state.cdn_url();
    let widgets: Vec<Value> = state.widgets().iter().map(|w| w.entry(cdn)).collect();
    Ok(Json(json!({
        "account": {
            "id": account.id, "name": account.name, "subdomain": account.subdomain, "timezone": account.timezone,
            "timezone_offset": timezone_offset(&account.timezone, now), "currency": account.currency,
            "currency_symbol": account.currency_symbol, "country": account.country,
            "is_loss_reason_enabled": account.is_loss_reason_enabled,
        },
        "user": {"id": user.id, "name": user.name, "login": user.email, "is_admin": user.is_admin, "group_id": user.group_id},
        "user_rights": {"is_admin": user.is_admin, "is_free_user": user.is_free},
        "lang_id": caller.lang,
        "managers": managers,
        "groups": groups,
        "task_types": task_types,
        "pipelines": pipelines,
        "loss_reasons": loss_reasons,
        "widgets": widgets,
        "cdn": cdn,
    })))
}

/// Saves `{active, fields}` from the settings modal (admins only) and returns the widget entry. Switching the widget
/// on or off installs or uninstalls its integration, with the hooks that go with it.
async fn save_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require_session(&caller)?;
    if !caller.is_admin {
        return Err(ApiError::forbidden(
            "Only account admins can change widget settings",
        ));
    }
    let body = read_object(&body)?;
    let active = match body.get("active").and_then(Value::as_str) {
        Some("Y") => Some(true),
        Some("N") => Some(false),
        None if !body.contains_key("active") => None,
        _ => return Err(ApiError::bad_request("active must be \"Y\" or \"N\"")),
    };
    let fields = match body.get("fields") {
        Some(Value::Object(fields)) => Some(fields.clone()),
        None | Some(Value::Null) => None,
        Some(_) => return Err(ApiError::bad_request("fields must be an object")),
    };
    if let Some(fields) = fields {
        let mut widgets = state.widgets_mut();
        let widget = widgets
            .iter_mut()
            .find(|w| w.archive.code == code)
            .ok_or_else(|| ApiError::not_found("Widget not found"))?;
        widget.settings = fields;
    }
    if let Some(active) = active {
        crate::integration::set_active(&state, &code, active, caller.user_id)
            .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    }
    let widgets = state.widgets();
    let widget = widgets
        .iter()
        .find(|w| w.archive.code == code)
        .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    Ok(Json(widget.entry(state.cdn_url())))
}

/// The card page's data: the lead with contacts and tags, all its tasks, its notes and its linked list elements.
async fn card(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_session(&caller)?;
    let id = parse_id(&id)?;
    let store = state.store();
    let base = state.app_url();
    let lead = store
        .leads
        .get(&id)
        .filter(|l| !l.is_deleted)
        .ok_or_else(|| ApiError::not_found("Lead not found"))?;
    let account = store.account.id;
    let tasks: Vec<Value> = store
        .tasks_of_lead(id)
        .into_iter()
        .map(|t| render_task(base, account, t))
        .collect();
    let notes: Vec<Value> = store
        .notes
        .values()
        .filter(|n| n.entity_type == "leads" && n.entity_id == id)
        .map(|n| render_note(base, account, n))
        .collect();
    // The linked elements of lists shown in cards, by list, as the card's list tabs show them.
    let elements: Vec<Value> = lead
        .catalog_elements
        .iter()
        .filter_map(|link| {
            let catalog = store
                .catalog(link.catalog_id)
                .filter(|c| c.can_show_in_cards)?;
            let element = store.elements.get(&link.id).filter(|e| !e.is_deleted)?;
            Some(json!({
                "id": element.id, "name": element.name, "quantity": link.quantity,
                "catalog_id": catalog.id, "catalog_name": catalog.name,
            }))
        })
        .collect();
    Ok(Json(json!({
        "lead": render_lead(&store, base, lead, &["contacts", "loss_reason", "catalog_elements"]),
        "tasks": tasks,
        "notes": notes,
        "catalog_elements": elements,
    })))
}

/// The one-time `X-Auth-Token` for `$authorizedAjax` (amocrm-widget-platform.md §4.2), signed with the widget's secret.
async fn token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_session(&caller)?;
    let (client_uuid, secret, audience) = {
        let widgets = state.widgets();
        let widget = widgets
            .iter()
            .find(|w| w.archive.code == code)
            .ok_or_else(|| ApiError::not_found("Widget not found"))?;
        (
            widget.client_uuid.clone(),
            widget.secret.clone(),
            widget.audience(&state.config.integration_redirect_base),
        )
    };
    let now = crate::clock::system_now();
    let (account_id, subdomain) = {
        let store = state.store();
        (store.account.id, store.account.subdomain.clone())
    };
    let claims = json!({
        "iss": state.app_url(),
        "aud": audience,
        "jti": state.uuid(),
        "iat": now,
        "nbf": now,
        "exp": now + crate::jwt::LIFETIME,
        "account_id": account_id,
        "user_id": caller.user_id,
        "subdomain": subdomain,
        "client_uuid": client_uuid,
    });
    Ok(Json(json!({"token": crate::jwt::sign(&claims, &secret)})))
}
