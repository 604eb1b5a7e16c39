//! Test control endpoints under `/__sandbox/` (no auth; the listener is loopback-only): log, faults, reset, clock,
//! showcase ids, options, integrations and their OAuth codes and tokens.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::ClockMode;
use crate::config::{ApiOptions, Fixture};
use crate::faults::FaultRule;
use crate::routes::AppState;

/// The `/__sandbox/*` routes (login lives with the pages).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/requests", get(requests).delete(clear_requests))
        .route(
            "/__sandbox/faults",
            axum::routing::post(add_fault).delete(clear_faults),
        )
        .route("/__sandbox/reset", axum::routing::post(reset))
        .route("/__sandbox/clock", get(clock).post(set_clock))
        .route("/__sandbox/demo", get(demo))
        .route("/__sandbox/options", get(options).post(set_options))
        .route("/__sandbox/integrations", get(integrations))
        .route("/__sandbox/oauth/code", axum::routing::post(oauth_code))
        .route(
            "/__sandbox/oauth/long_lived",
            axum::routing::post(long_lived),
        )
        .route("/__sandbox/oauth/hooks", get(oauth_hooks))
        .route(
            "/__sandbox/webhooks/deliveries",
            get(deliveries).delete(clear_deliveries),
        )
        .route("/__sandbox/webhooks/tick", axum::routing::post(tick))
        .route(
            "/__sandbox/webhooks/faults",
            axum::routing::post(add_webhook_fault).delete(clear_webhook_faults),
        )
}

fn not_found(detail: impl std::fmt::Display) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": detail.to_string()})),
    )
        .into_response()
}

fn bad(detail: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": detail.to_string()})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn requests(State(state): State<AppState>, Query(since): Query<Since>) -> Json<Value> {
    Json(serde_json::to_value(state.log.since(since.since)).unwrap_or_default())
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.log.clear();
    StatusCode::NO_CONTENT
}

async fn add_fault(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultRule>(&body) {
        Ok(rule) => {
            state.faults.add(rule);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(err) => bad(err),
    }
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Reset {
    fixture: Option<Fixture>,
    seed: Option<u64>,
    deals: Option<usize>,
    payments: Option<bool>,
}

/// Rebuilds the data; omitted fields keep the values the sandbox was started with.
async fn reset(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let reset: Reset = if body.is_empty() {
        Reset {
            fixture: None,
            seed: None,
            deals: None,
            payments: None,
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(reset) => reset,
            Err(err) => return bad(err),
        }
    };
    let fixture = reset.fixture.unwrap_or(state.config.fixture);
    let seed = reset.seed.unwrap_or(state.config.seed);
    let deals = reset.deals.unwrap_or(state.config.deals);
    let payments = reset.payments.unwrap_or(state.config.payments);
    let worker = state.clone();
    let _ = tokio::task::spawn_blocking(move || worker.reset(fixture, seed, deals, payments)).await;
    let showcase = crate::state::showcase_json(&state.store().showcase);
    Json(showcase).into_response()
}

async fn clock(State(state): State<AppState>) -> Json<Value> {
    Json(state.clock.describe())
}

#[derive(Deserialize)]
struct SetClock {
    now: Option<i64>,
    offset_seconds: Option<i64>,
    #[serde(default)]
    system: bool,
}

async fn set_clock(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: SetClock = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad(err),
    };
    let mode = match (request.system, request.now, request.offset_seconds) {
        (true, _, _) => ClockMode::System,
        (false, Some(now), _) => ClockMode::Fixed(now),
        (false, None, Some(offset)) => ClockMode::Offset(offset),
        (false, None, None) => return bad("expected now, offset_seconds or system"),
    };
    state.clock.set(mode);
    Json(state.clock.describe()).into_response()
}

async fn demo(State(state): State<AppState>) -> Json<Value> {
    Json(crate::state::showcase_json(&state.store().showcase))
}

async fn options(State(state): State<AppState>) -> Json<ApiOptions> {
    Json(state.options())
}

/// Replaces the account behaviour switches; omitted fields take their defaults.
async fn set_options(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<ApiOptions>(&body) {
        Ok(options) => {
            state.set_options(options.clone());
            Json(options).into_response()
        }
        Err(err) => bad(err),
    }
}

/// Every widget's integration with its keys, as the integration's "Keys" tab shows them.
async fn integrations(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .widgets()
        .iter()
        .map(|w| {
            json!({
                "widget": w.archive.code, "client_id": w.client_uuid, "client_secret": w.secret,
                "redirect_uri": w.redirect_uri, "revoke_uri": w.revoke_uri, "installed": w.active,
            })
        })
        .collect();
    Json(Value::Array(list))
}

#[derive(Deserialize)]
struct CodeRequest {
    widget: String,
    user: Option<u64>,
}

/// The `client_id` of widget `code`'s integration.
fn client_id(state: &AppState, code: &str) -> Option<String> {
    state
        .widgets()
        .iter()
        .find(|w| w.archive.code == code)
        .map(|w| w.client_uuid.clone())
}

/// `{"widget", "user"?}` → a fresh authorization code (valid 20 minutes), like the one on the integration's Keys tab.
async fn oauth_code(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: CodeRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad(err),
    };
    let Some(client_id) = client_id(&state, &request.widget) else {
        return not_found(format!("no widget {:?}", request.widget));
    };
    let user = request
        .user
        .unwrap_or_else(|| state.store().showcase.admin_user_id);
    if state.store().user(user).is_none() {
        return bad(format!("no user {user}"));
    }
    let code = state.oauth.issue_code(&client_id, user, state.clock.now());
    Json(json!({"code": code, "referer": state.account_claims().host, "client_id": client_id}))
        .into_response()
}

#[derive(Deserialize)]
struct LongLivedRequest {
    widget: String,
    days: i64,
    user: Option<u64>,
}

/// `{"widget", "days", "user"?}` → a long-lived token of 1 day to 5 years, acting as the admin by default.
async fn long_lived(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: LongLivedRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad(err),
    };
    if !(1..=crate::oauth::MAX_LONG_LIVED_DAYS).contains(&request.days) {
        return bad(format!(
            "days must be 1 to {}",
            crate::oauth::MAX_LONG_LIVED_DAYS
        ));
    }
    let Some(client_id) = client_id(&state, &request.widget) else {
        return not_found(format!("no widget {:?}", request.widget));
    };
    let user = request
        .user
        .unwrap_or_else(|| state.store().showcase.admin_user_id);
    if state.store().user(user).is_none() {
        return bad(format!("no user {user}"));
    }
    let (token, expires_at) = state.oauth.long_lived(
        &client_id,
        user,
        &state.account_claims(),
        request.days,
        state.clock.now(),
    );
    Json(json!({"token_type": "Bearer", "access_token": token, "expires_at": expires_at}))
        .into_response()
}

async fn oauth_hooks(State(state): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(state.integration_hooks.all()).unwrap_or_default())
}

/// Webhook delivery attempts after `since` (a `seq`), oldest first.
async fn deliveries(State(state): State<AppState>, Query(since): Query<Since>) -> Json<Value> {
    Json(serde_json::to_value(state.webhooks.since(since.since)).unwrap_or_default())
}

async fn clear_deliveries(State(state): State<AppState>) -> StatusCode {
    state.webhooks.clear_log();
    StatusCode::NO_CONTENT
}

/// Sends queued and held deliveries and every retry due on the sandbox clock; answers the attempts made.
async fn tick(State(state): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(state.webhooks.tick().await).unwrap_or_default())
}

/// `{"kind": "duplicate"|"reorder"|"drop", "count": N}` for the next N deliveries.
async fn add_webhook_fault(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<crate::webhooks::FaultRule>(&body) {
        Ok(rule) => {
            state.webhooks.add_fault(rule);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(err) => bad(err),
    }
}

async fn clear_webhook_faults(State(state): State<AppState>) -> StatusCode {
    state.webhooks.clear_faults();
    StatusCode::NO_CONTENT
}
