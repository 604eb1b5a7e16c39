//! The HTTP surface: shared state, the router, the widget API under `/api/` and the operations endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::accounts::{self, INSTALLED};
use crate::amo::AmoClient;
use crate::auth::{JwtVerifier, Widget, AUTH_HEADER};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::TokenCipher;
use crate::db::{now_ms, Db};
use crate::jobs::queue;
use crate::metrics::Metrics;
use crate::tokens::TokenManager;
use crate::{oauth, webhook, widget_api};

/// Everything a handler may use.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub cipher: TokenCipher,
    pub tokens: TokenManager,
    pub amo: AmoClient,
    pub metrics: Metrics,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtVerifier>,
    pub http: reqwest::Client,
    /// Wakes idle workers when a webhook enqueued work.
    pub wake: Arc<Notify>,
    /// The business clock the rules and the queue read.
    pub clock: Clock,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let db = state.db.clone();
    // Preflights carry no token, so the origin alone decides: it must be an installed account's.
    // The token check then pins each real request to its own account's origin.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, _parts| {
                let db = db.clone();
                async move {
                    match origin.to_str() {
                        Ok(origin) => accounts::origin_is_installed(&db, origin)
                            .await
                            .unwrap_or(false),
                        Err(_) => false,
                    }
                }
            },
        ))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([HeaderName::from_static(AUTH_HEADER), header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    let api = Router::new()
        .route("/account", get(api_account))
        .route("/events", get(api_events))
        .route("/jobs", get(api_jobs))
        .route("/qc", get(widget_api::qc_list))
        .route("/qc/{id}/ack", post(widget_api::qc_ack))
        .route("/qc/{id}/comment", post(widget_api::qc_comment))
        .route("/qc/{id}/reassign", post(widget_api::qc_reassign))
        .route(
            "/settings",
            get(widget_api::settings_get).put(widget_api::settings_put),
        )
        .route("/metrics", get(widget_api::metrics))
        .route("/audit", get(widget_api::audit_log))
        .route("/sync", get(widget_api::sync_state))
        .fallback(api_not_found)
        .layer(cors);
    Router::new()
        .nest("/api", api)
        .route("/oauth/callback", get(oauth::callback))
        .route("/oauth/revoke", get(oauth::revoke))
        .route("/webhooks/amocrm", post(webhook::receive))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "internal error" })),
    )
        .into_response()
}

/// `GET /api/account`: the calling account's installation state.
async fn api_account(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match accounts::get(&state.db, claims.account_id).await {
        Ok(Some(account)) => {
            let paused = account.paused_until.is_some_and(|until| until > now_ms());
            Json(json!({
                "account_id": account.account_id,
                "installed": account.status == INSTALLED,
                "status": account.status,
                "token_kind": account.token_kind,
                "base_url": account.base_url,
                "subdomain": account.subdomain,
                "timezone": account.timezone,
                "token_expires_at": account.expires_at,
                "paused": paused,
                "paused_until": account.paused_until.filter(|_| paused),
                "pause_reason": account.pause_reason.filter(|_| paused),
                "installed_at": account.installed_at,
                "country": account.country,
                "lang": account.lang,
                "full_synced_at": account.full_synced_at,
                "delta_synced_at": account.delta_synced_at,
                "webhooks_subscribed": account.webhook_destination.is_some(),
                "user_id": claims.user_id,
            }))
            .into_response()
        }
        Ok(None) => Json(json!({
            "account_id": claims.account_id,
            "installed": false,
            "status": "not_installed",
            "user_id": claims.user_id,
        }))
        .into_response(),
        Err(error) => internal(error),
    }
}

/// `GET /api/events`: the calling account's latest webhook events.
async fn api_events(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match webhook::recent_of_account(&state.db, claims.account_id, 100).await {
        Ok(events) => Json(json!({ "events": events })).into_response(),
        Err(error) => internal(error),
    }
}

/// `GET /api/jobs`: the calling account's latest jobs.
async fn api_jobs(State(state): State<AppState>, Widget(claims): Widget) -> Response {
    match queue::recent_of_account(&state.db, claims.account_id, 100).await {
        Ok(jobs) => Json(json!({ "jobs": jobs })).into_response(),
        Err(error) => internal(error),
    }
}

async fn api_not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response()
}

/// `GET /health`: the process is up.
async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /ready`: the database answers and the migrations are applied.
async fn ready(State(state): State<AppState>) -> Response {
    if state.db.ready().await {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready" })),
        )
            .into_response()
    }
}

/// `GET /metrics`: Prometheus / OpenMetrics text.
async fn metrics(State(state): State<AppState>) -> Response {
    let jobs = queue::counts_by_state(&state.db)
        .await
        .unwrap_or_else(|error| {
            state.metrics.error("metrics_query");
            tracing::warn!(%error, "reading job counts failed");
            Vec::new()
        });
    let paused = accounts::paused_count(&state.db).await.unwrap_or(0);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&jobs, paused),
    )
        .into_response()
}
