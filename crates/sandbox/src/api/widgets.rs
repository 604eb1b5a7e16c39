//! Widgets: list, get by code, install with settings and uninstall (amocrm-widget-platform.md §1.3 (source S39), the RU
//! "Виджеты" API page). Installing and uninstalling send the integration's hooks like the settings page does.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};

use super::read_json;
use crate::auth::Caller;
use crate::hal::{hal, no_content, paged, self_link, List, Page, Totals};
use crate::problem::{ApiError, ApiResult, FieldError};
use crate::query::Query;
use crate::routes::AppState;
use crate::widgets::Widget;

/// Widget routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/widgets", get(list)).route(
        "/widgets/{code}",
        get(get_one).post(install).delete(uninstall),
    )
}

/// The widget model; `settings` only for the widget's own integration (or the installing call).
fn render(widget: &Widget, base: &str, with_settings: bool) -> Value {
    let code = &widget.archive.code;
    let mut value = json!({
        "id": widget.id,
        "code": code,
        "version": widget.archive.version,
        "rating": "0",
        "settings_template": widget.settings_template(),
        "is_lead_source": widget.has_location("lead_sources"),
        "is_work_with_dp": widget.has_location("digital_pipeline"),
        "is_crm_template": false,
        "client_uuid": widget.client_uuid,
        "is_active_in_account": widget.active,
        "pipeline_id": null,
        "_links": self_link(format!("{base}/api/v4/widgets/{code}")),
    });
    if with_settings {
        value["settings"] = Value::Object(widget.settings.clone());
    }
    value
}

/// `GET /widgets`: every uploaded widget, installed or not (available to all users).
async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = Page::from_query(&query, &state.options())?;
    let widgets = state.widgets();
    let base = state.app_url();
    Ok(paged(
        List {
            base,
            path: "/api/v4/widgets",
            query: &query,
            page,
        },
        "widgets",
        &widgets,
        Totals::None,
        |w| render(w, base, false),
    ))
}

/// `GET /widgets/{code}`: 404 for an unknown code.
async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    let widgets = state.widgets();
    let widget = widgets
        .iter()
        .find(|w| w.archive.code == code)
        .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    let own = caller.integration.as_deref() == Some(code.as_str());
    Ok(hal(render(widget, state.app_url(), own)))
}

/// Checks an install body against the manifest's settings fields: required ones present, text fields strings,
/// user maps objects.
fn check_settings(widget: &Widget, settings: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in widget.settings_template() {
        let key = field["key"].as_str().unwrap_or_default();
        let value = settings.get(key).filter(|v| !v.is_null());
        let blank = value.is_none_or(|v| v.as_str() == Some(""));
        if blank {
            if field["is_required"] == true {
                errors.push(FieldError::new(
                    "NotBlank",
                    key,
                    "This value should not be blank.",
                ));
            }
            continue;
        }
        let ok = match (field["type"].as_str(), value) {
            (Some("text" | "pass"), Some(v)) => v.is_string(),
            (Some("users" | "users_lp"), Some(v)) => v.is_object(),
            _ => true,
        };
        if !ok {
            errors.push(FieldError::new(
                "InvalidType",
                key,
                "This value has the wrong type.",
            ));
        }
    }
    errors
}

/// `POST /widgets/{code}` (admins): the body is the settings object; installs the widget and answers it with them.
async fn install(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    body: Bytes,
) -> ApiResult {
    if !caller.is_admin {
        return Err(ApiError::forbidden(
            "Only account admins can install widgets",
        ));
    }
    let settings = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match read_json(&body)? {
            Value::Object(settings) => settings,
            _ => {
                return Err(ApiError::validation(vec![(
                    "0".into(),
                    vec![FieldError::new(
                        "InvalidType",
                        "",
                        "This value should be of type object.",
                    )],
                )]))
            }
        }
    };
    {
        let mut widgets = state.widgets_mut();
        let widget = widgets
            .iter_mut()
            .find(|w| w.archive.code == code)
            .ok_or_else(|| ApiError::not_found("Widget not found"))?;
        let errors = check_settings(widget, &settings);
        if !errors.is_empty() {
            return Err(ApiError::validation(vec![("0".into(), errors)]));
        }
        widget.settings = settings;
    }
    crate::integration::set_active(&state, &code, true, caller.user_id)
        .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    let widgets = state.widgets();
    let widget = widgets
        .iter()
        .find(|w| w.archive.code == code)
        .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    Ok(hal(render(widget, state.app_url(), true)))
}

/// `DELETE /widgets/{code}` (admins): 204; the integration's tokens stop working and the revoke hook goes out.
async fn uninstall(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    if !caller.is_admin {
        return Err(ApiError::forbidden(
            "Only account admins can uninstall widgets",
        ));
    }
    crate::integration::set_active(&state, &code, false, caller.user_id)
        .ok_or_else(|| ApiError::not_found("Widget not found"))?;
    Ok(no_content())
}
