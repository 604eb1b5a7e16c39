//! `POST /webhooks/amocrm`: records each event once (keyed on account, entity, action, id and
//! modification time) together with its processing job, in one transaction, and answers at once;
//! the job engine does the work (amocrm-api-v4.md §11.3: answer within 2 s, process async).

pub mod parser;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::accounts::{self, INSTALLED};
use crate::app::AppState;
use crate::db::now_ms;
use crate::jobs::handlers::WEBHOOK_EVENT;
use crate::jobs::queue::{self, NewJob};

/// What one delivery did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub recorded: usize,
    pub duplicates: usize,
    pub ignored: usize,
}

/// The optional `?token=` of the webhook URL.
#[derive(Debug, Default, serde::Deserialize)]
pub struct HookQuery {
    #[serde(default)]
    pub token: Option<String>,
}

/// True when `given` equals `expected`, compared in constant time.
fn same_secret(given: &str, expected: &str) -> bool {
    use hmac::Mac as _;
    let mac = |text: &str| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"leakguard-webhook-token")
            .expect("HMAC accepts keys of any length");
        mac.update(text.as_bytes());
        mac
    };
    mac(given)
        .verify_slice(&mac(expected).finalize().into_bytes())
        .is_ok()
}

/// The webhook endpoint.
pub async fn receive(
    State(state): State<AppState>,
    Query(query): Query<HookQuery>,
    body: Bytes,
) -> Response {
    if let Some(expected) = &state.config.webhook_token {
        if !query
            .token
            .as_deref()
            .is_some_and(|given| same_secret(given, expected))
        {
            state.metrics.error("webhook_token");
            return (
                StatusCode::FORBIDDEN,
                Json(json!({ "error": "bad webhook token" })),
            )
                .into_response();
        }
    }
    let hook = match parser::parse(&body) {
        Ok(hook) => hook,
        Err(error) => {
            state.metrics.error("webhook_parse");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": error.to_string() })),
            )
                .into_response();
        }
    };
    let account_id = match hook.account_id() {
        Some(id) => Some(id),
        None => match &hook.account.subdomain {
            Some(subdomain) => accounts::by_subdomain(&state.db, subdomain)
                .await
                .ok()
                .flatten(),
            None => None,
        },
    };
    let known = match account_id {
        Some(id) => accounts::get(&state.db, id).await.ok().flatten(),
        None => None,
    };
    let (Some(account_id), Some(account)) = (account_id, known) else {
        // Answering 2xx keeps amoCRM from retrying and disabling the hook; nothing is stored.
        state.metrics.webhook_event("unknown_account");
        let ignored = hook.events.len() + hook.ignored;
        return (
            StatusCode::OK,
            Json(Receipt {
                ignored,
                ..Receipt::default()
            }),
        )
            .into_response();
    };
    if account.status != INSTALLED {
        // An uninstalled account whose webhook could not be unsubscribed (its token was already
        // revoked): refusing makes amoCRM disable the webhook after its invalid-answer limit.
        state.metrics.webhook_event("uninstalled_account");
        return (
            StatusCode::GONE,
            Json(json!({ "error": "the account has uninstalled LeakGuard" })),
        )
            .into_response();
    }
    match record(&state, account_id, &hook).await {
        Ok(receipt) => {
            if receipt.recorded > 0 {
                state.wake.notify_waiters();
            }
            (StatusCode::OK, Json(receipt)).into_response()
        }
        Err(error) => {
            state.metrics.error("webhook_store");
            tracing::error!(%error, "recording a webhook failed");
            // A 5xx makes amoCRM deliver again later (up to 5 attempts).
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "storage unavailable" })),
            )
                .into_response()
        }
    }
}

async fn record(
    state: &AppState,
    account_id: i64,
    hook: &parser::Webhook,
) -> anyhow::Result<Receipt> {
    let mut receipt = Receipt {
        ignored: hook.ignored,
        ..Receipt::default()
    };
    let now = now_ms();
    let mut tx = state.db.pool.begin().await?;
    for event in &hook.events {
        let key = event.dedup_key(account_id);
        let payload = serde_json::to_value(event)?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (dedup_key, account_id, entity, action, entity_id, payload, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(&key)
        .bind(account_id)
        .bind(payload["entity"].as_str().unwrap_or_default())
        .bind(event.action.as_str())
        .bind(event.id)
        .bind(payload.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let job = NewJob::now(account_id, WEBHOOK_EVENT, payload).dedup(format!("event:{key}"));
            queue::enqueue(&mut *tx, &job).await?;
            receipt.recorded += 1;
            state.metrics.webhook_event("recorded");
        } else {
            receipt.duplicates += 1;
            state.metrics.webhook_event("duplicate");
        }
    }
    tx.commit().await?;
    Ok(receipt)
}

/// Deletes webhook events received before `before_ms` (their redeliveries stopped long ago).
pub async fn purge_before(db: &crate::db::Db, before_ms: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM webhook_events WHERE received_at < $1")
        .bind(before_ms)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// The most recent events of one account, newest first, for `/api/events`.
pub async fn recent_of_account(
    db: &crate::db::Db,
    account_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<serde_json::Value>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT payload, received_at FROM webhook_events WHERE account_id = $1 \
         ORDER BY received_at DESC, dedup_key DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            let mut event: serde_json::Value = serde_json::from_str(&payload)?;
            event["received_at"] = json!(row.try_get::<i64, _>("received_at")?);
            Ok(event)
        })
        .collect()
}
