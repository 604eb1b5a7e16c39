//! The account: base fields for everyone, everything else only when asked for with `with=` (amocrm-api-v4.md §8.2).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::hal::{hal, self_link};
use crate::problem::ApiResult;
use crate::query::Query;
use crate::routes::AppState;
use crate::state::store::Store;

/// Account route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/account", get(account))
}

/// The UTC offset of `timezone` at Unix second `now`, as `+03:00`.
pub fn timezone_offset(timezone: &str, now: i64) -> String {
    let Ok(tz) = jiff::tz::TimeZone::get(timezone) else {
        return "+00:00".into();
    };
    let Ok(instant) = jiff::Timestamp::from_second(now) else {
        return "+00:00".into();
    };
    let seconds = tz.to_offset(instant).seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.abs();
    format!("{sign}{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// The account JSON for `with`.
pub fn render_account(store: &Store, base: &str, user_id: u64, with: &[&str], now: i64) -> Value {
    let account = &store.account;
    let mut value = json!({
        "id": account.id, "name": account.name, "subdomain": account.subdomain,
        "created_at": account.created_at, "created_by": account.created_by,
        "updated_at": account.created_at, "updated_by": account.created_by,
        "current_user_id": user_id, "country": account.country,
        "currency": account.currency, "currency_symbol": account.currency_symbol,
        "customers_mode": "disabled", "is_unsorted_on": true, "mobile_feature_version": 0,
        "is_loss_reason_enabled": account.is_loss_reason_enabled, "is_helpbot_enabled": false,
        "is_technical_account": false, "contact_name_display_order": 1,
        "_links": self_link(format!("{base}/api/v4/account")),
    });
    let has = |item: &str| with.contains(&item);
    if has("amojo_id") {
        value["amojo_id"] = json!(account.amojo_id);
    }
    if has("uuid") {
        value["uuid"] = json!(account.uuid);
    }
    if has("version") {
        value["version"] = json!(1_000);
    }
    if has("drive_url") {
        value["drive_url"] = json!(format!("{base}/drive"));
    }
    if has("is_api_filter_enabled") {
        value["is_api_filter_enabled"] = json!(true);
    }
    if has("entity_names") {
        value["entity_names"] = json!({"leads": {"ru": {"gender": "f", "plural_form": {"dative": "сделкам", "default": "сделки", "genitive": "сделок", "accusative": "сделки", "instrumental": "сделками", "prepositional": "сделках"}, "singular_form": {"dative": "сделке", "default": "сделка", "genitive": "сделки", "accusative": "сделку", "instrumental": "сделкой", "prepositional": "сделке"}}}});
    }
    if has("invoices_settings") {
        value["invoices_settings"] =
            json!({"lang": "ru", "invoices_catalog_id": store.invoices_catalog().map(|c| c.id)});
    }
    let mut embedded = Map::new();
    if has("amojo_rights") {
        embedded.insert(
            "amojo_rights".into(),
            json!({"can_direct": true, "can_create_groups": true}),
        );
    }
    if has("users_groups") {
        let groups: Vec<Value> = store
            .groups
            .iter()
            .map(|g| json!({"id": g.id, "name": g.name, "uuid": g.uuid}))
            .collect();
        embedded.insert("users_groups".into(), json!(groups));
    }
    if has("task_types") {
        let types: Vec<Value> = store
            .task_types
            .iter()
            .map(|t| json!({"id": t.id, "name": t.name, "color": t.color, "icon_id": t.icon_id, "code": t.code}))
            .collect();
        embedded.insert("task_types".into(), json!(types));
    }
    if has("datetime_settings") {
        embedded.insert(
            "datetime_settings".into(),
            json!({
                "date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y", "short_time_pattern": "H:i",
                "date_format": "d.m.Y", "time_format": "H:i:s",
                "timezone": account.timezone, "timezone_offset": timezone_offset(&account.timezone, now),
            }),
        );
    }
    if !embedded.is_empty() {
        value["_embedded"] = Value::Object(embedded);
    }
    value
}

async fn account(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let store = state.store();
    Ok(hal(render_account(
        &store,
        state.app_url(),
        caller.user_id,
        &query.with(),
        state.clock.now(),
    )))
}
