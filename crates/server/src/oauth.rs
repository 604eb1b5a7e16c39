//! The install and uninstall hooks: `GET /oauth/callback` (amocrm-api-v4.md §12.1, §11.4; the
//! widget-install redirect of amocrm-widget-platform.md §1.3) and `GET /oauth/revoke`.

use amo_api::Account as AmoAccount;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::accounts::{self, NewPair, REVOKED};
use crate::app::AppState;
use crate::jobs::handlers::ACCOUNT_SYNC;
use crate::jobs::queue::{self, NewJob};
use crate::tokens::ExchangeError;

/// The query amoCRM sends to the Redirect URI.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    pub code: Option<String>,
    /// The account host, e.g. `example.amocrm.ru`.
    pub referer: Option<String>,
    pub state: Option<String>,
    pub from_widget: Option<String>,
    /// `1` = amocrm.ru, `2` = amocrm.com / kommo.com.
    pub platform: Option<String>,
    pub client_id: Option<String>,
    /// `access_denied` when the admin pressed "Deny".
    pub error: Option<String>,
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": status.canonical_reason(), "detail": detail.into() })),
    )
        .into_response()
}

/// True for a bare amoCRM / Kommo account host (no scheme, path or user info), so a forged
/// `referer` cannot point the token exchange elsewhere.
pub fn is_account_host(referer: &str) -> bool {
    let host = referer.to_ascii_lowercase();
    let allowed_chars = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    allowed_chars
        && [".amocrm.ru", ".amocrm.com", ".kommo.com"]
            .iter()
            .any(|suffix| host.ends_with(suffix) && host.len() > suffix.len())
}

/// `GET /oauth/callback`: exchanges the code, learns the account id and stores the tokens encrypted.
pub async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if let Some(error) = query.error {
        tracing::warn!(%error, "the installation was refused");
        return problem(StatusCode::BAD_REQUEST, format!("amoCRM reported: {error}"));
    }
    let config = &state.config;
    if config.client_id.is_empty() || config.client_secret.is_empty() {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the integration's client_id and client_secret are not configured",
        );
    }
    if query
        .client_id
        .as_deref()
        .is_some_and(|id| id != config.client_id)
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "the code was issued for another integration",
        );
    }
    let (Some(code), Some(referer)) = (query.code, query.referer) else {
        return problem(StatusCode::BAD_REQUEST, "code and referer are required");
    };
    let base_url = match &config.amo_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None if is_account_host(&referer) => format!("https://{}", referer.to_ascii_lowercase()),
        None => {
            return problem(
                StatusCode::BAD_REQUEST,
                "referer is not an amoCRM account host",
            )
        }
    };
    let pair = match state.tokens.oauth().exchange_code(&base_url, &code).await {
        Ok(pair) => pair,
        Err(error @ ExchangeError::Refused(_)) => {
            state.metrics.error("oauth_exchange");
            return problem(StatusCode::BAD_REQUEST, error.to_string());
        }
        Err(error) => {
            state.metrics.error("oauth_exchange");
            return problem(StatusCode::BAD_GATEWAY, error.to_string());
        }
    };
    let account = match who_am_i(&state, &base_url, &pair).await {
        Ok(account) => account,
        Err(detail) => {
            state.metrics.error("oauth_account");
            return problem(StatusCode::BAD_GATEWAY, detail);
        }
    };
    let account_id = account.id as i64;
    let subdomain = Some(account.subdomain.as_str()).filter(|subdomain| !subdomain.is_empty());
    if let Err(error) = accounts::install_oauth(
        &state.db,
        &state.cipher,
        account_id,
        &base_url,
        subdomain,
        &pair,
    )
    .await
    {
        tracing::error!(%error, "storing the installation failed");
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storing the installation failed",
        );
    }
    let sync = NewJob::now(
        account_id,
        ACCOUNT_SYNC,
        json!({ "requested_at": crate::db::now_ms() }),
    );
    if let Err(error) = queue::enqueue(&state.db.pool, &sync).await {
        tracing::warn!(%error, "scheduling the first sync failed");
    }
    state.wake.notify_one();
    tracing::info!(account_id, %base_url, from_widget = query.from_widget.is_some(), platform = ?query.platform, "installed");
    (
        StatusCode::OK,
        Json(json!({ "installed": true, "account_id": account_id })),
    )
        .into_response()
}

/// Reads `GET /api/v4/account` with the new token to learn which account installed us.
async fn who_am_i(state: &AppState, base_url: &str, pair: &NewPair) -> Result<AmoAccount, String> {
    let response = state
        .http
        .get(format!("{base_url}/api/v4/account"))
        .bearer_auth(&pair.access_token)
        .send()
        .await
        .map_err(|error| format!("reading the account failed: {error}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("reading the account answered {status}"));
    }
    let account: AmoAccount = response
        .json()
        .await
        .map_err(|error| format!("the account could not be decoded: {error}"))?;
    if account.id == 0 {
        return Err("the account answer has no id".into());
    }
    Ok(account)
}

/// The query of the integration-disabled hook.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeQuery {
    pub client_uuid: String,
    pub account_id: String,
    pub signature: String,
}

/// The hook's signature: hex HMAC-SHA256 keyed with the client secret over `{client_id}|{account_id}`.
pub fn revoke_signature(client_secret: &str, client_id: &str, account_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{client_id}|{account_id}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `GET /oauth/revoke`: verifies the signature and forgets the account's tokens.
pub async fn revoke(State(state): State<AppState>, Query(query): Query<RevokeQuery>) -> Response {
    let config = &state.config;
    if config.client_id.is_empty() || query.client_uuid != config.client_id {
        return problem(StatusCode::FORBIDDEN, "unknown integration");
    }
    let Ok(signature) = hex::decode(query.signature.trim()) else {
        return problem(StatusCode::FORBIDDEN, "bad signature");
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(config.client_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{}|{}", query.client_uuid, query.account_id).as_bytes());
    if mac.verify_slice(&signature).is_err() {
        state.metrics.error("revoke_signature");
        return problem(StatusCode::FORBIDDEN, "bad signature");
    }
    let Ok(account_id) = query.account_id.trim().parse::<i64>() else {
        return problem(StatusCode::BAD_REQUEST, "bad account_id");
    };
    // Unsubscribe while the token may still work; amoCRM usually revoked it already (§11.4), and
    // then hooks of the revoked account are refused until amoCRM disables the webhook.
    let unsubscribed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        crate::webhook_subscription::unsubscribe(&state.db, &state.amo, account_id),
    )
    .await;
    match unsubscribed {
        Ok(Ok(done)) => tracing::info!(account_id, done, "webhook unsubscribed"),
        Ok(Err(error)) => {
            tracing::warn!(account_id, %error, "the webhook could not be unsubscribed")
        }
        Err(_) => tracing::warn!(account_id, "unsubscribing the webhook timed out"),
    }
    match accounts::set_status_dropping_tokens(&state.db, account_id, REVOKED).await {
        Ok(known) => {
            tracing::info!(account_id, known, "uninstalled");
            (StatusCode::OK, Json(json!({ "revoked": known }))).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "storing the uninstall failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storing the uninstall failed",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_account_hosts_are_token_endpoints() {
        assert!(is_account_host("example.amocrm.ru"));
        assert!(is_account_host("Example.Kommo.com"));
        assert!(is_account_host("old.amocrm.com"));
        assert!(!is_account_host("amocrm.ru"));
        assert!(!is_account_host("evil.com/x.amocrm.ru"));
        assert!(!is_account_host("evil.com#.amocrm.ru"));
        assert!(!is_account_host("user@example.amocrm.ru"));
        assert!(!is_account_host("example.amocrm.ru.evil.com"));
    }

    #[test]
    fn the_revoke_signature_is_hmac_sha256_hex() {
        // Computed independently: printf '%s' 'client|42' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            revoke_signature("secret", "client", "42"),
            "fa6d3249426c301701036fb1da383fd5fe4e6e874d48bf2e81869152714ea685"
        );
    }
}
