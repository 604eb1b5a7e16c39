//! OAuth token exchange and refresh, with both refresh-token rotation policies handled.
//!
//! amoCRM's Russian docs say an old refresh token dies as soon as it is used; Kommo's say it stays
//! valid until the new one is first used (amocrm-api-v4.md §12.3). Either way the new pair is
//! stored (with the used refresh token kept as `previous_refresh_token`) before the new access token
//! is handed out, and a refresh that fails is retried once: with the same token when the answer was
//! lost on the way, and with the previous token when the current one is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use amo_api::{Problem, TokenResponse};
use serde::Serialize;

use crate::accounts::{self, NewPair, Tokens, LONG_LIVED, REAUTH_REQUIRED};
use crate::crypto::TokenCipher;
use crate::db::{now_ms, Db};

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("account {0} is not installed")]
    NotInstalled(i64),
    #[error("account {0} must be reinstalled: {1}")]
    ReauthRequired(i64, String),
    #[error("the token endpoint could not be reached: {0}")]
    Transport(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the token endpoint said.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("the token endpoint refused: {}", .0.hint.clone().or_else(|| .0.detail.clone()).unwrap_or_else(|| .0.title.clone()))]
    Refused(Problem),
    #[error("the token endpoint could not be reached: {0}")]
    Transport(String),
}

/// The integration's OAuth client: `POST <account>/oauth2/access_token`.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    http: reqwest::Client,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
}

#[derive(Serialize)]
struct Grant<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    redirect_uri: &'a str,
}

impl OAuthClient {
    pub fn new(
        http: reqwest::Client,
        client_id: String,
        client_secret: String,
        redirect_uri: String,
    ) -> OAuthClient {
        OAuthClient {
            http,
            client_id,
            client_secret,
            redirect_uri,
        }
    }

    /// Exchanges an authorization code (valid 20 minutes) for a token pair.
    pub async fn exchange_code(
        &self,
        base_url: &str,
        code: &str,
    ) -> Result<NewPair, ExchangeError> {
        self.grant(base_url, "authorization_code", Some(code), None)
            .await
    }

    /// Trades a refresh token for a new pair.
    pub async fn refresh(
        &self,
        base_url: &str,
        refresh_token: &str,
    ) -> Result<NewPair, ExchangeError> {
        self.grant(base_url, "refresh_token", None, Some(refresh_token))
            .await
    }

    async fn grant(
        &self,
        base_url: &str,
        grant_type: &str,
        code: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Result<NewPair, ExchangeError> {
        let url = format!("{}/oauth2/access_token", base_url.trim_end_matches('/'));
        let body = Grant {
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            grant_type,
            code,
            refresh_token,
            redirect_uri: &self.redirect_uri,
        };
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|error| ExchangeError::Transport(error.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ExchangeError::Transport(error.to_string()))?;
        if status.is_server_error() {
            return Err(ExchangeError::Transport(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| Problem {
                title: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                status: status.as_u16(),
                ..Problem::default()
            });
            return Err(ExchangeError::Refused(problem));
        }
        let token: TokenResponse = serde_json::from_slice(&bytes).map_err(|error| {
            ExchangeError::Transport(format!("undecodable token response: {error}"))
        })?;
        let Some(refresh_token) = token.refresh_token.filter(|token| !token.is_empty()) else {
            return Err(ExchangeError::Transport(
                "the token response has no refresh_token".into(),
            ));
        };
        if token.access_token.is_empty() {
            return Err(ExchangeError::Transport(
                "the token response has no access_token".into(),
            ));
        }
        Ok(NewPair {
            access_token: token.access_token,
            refresh_token,
            expires_at: now_ms() + token.expires_in.max(0) * 1000,
        })
    }
}

/// Hands out valid access tokens, refreshing them once per account at a time.
#[derive(Clone, Debug)]
pub struct TokenManager {
    db: Db,
    cipher: TokenCipher,
    oauth: OAuthClient,
    margin_ms: i64,
    locks: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl TokenManager {
    pub fn new(
        db: Db,
        cipher: TokenCipher,
        oauth: OAuthClient,
        margin_seconds: u64,
    ) -> TokenManager {
        TokenManager {
            db,
            cipher,
            oauth,
            margin_ms: margin_seconds as i64 * 1000,
            locks: Arc::default(),
        }
    }

    /// The OAuth client, for the install flow.
    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    fn lock_of(&self, account_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("token lock map");
        locks.entry(account_id).or_default().clone()
    }

    fn fresh(&self, tokens: &Tokens) -> bool {
        tokens.kind == LONG_LIVED
            || tokens
                .expires_at
                .is_some_and(|expires_at| expires_at - self.margin_ms > now_ms())
    }

    /// A valid access token for the account, refreshed first when it expires within the margin.
    pub async fn access_token(
        &self,
        account_id: i64,
        base_url: &str,
    ) -> Result<String, TokenError> {
        let tokens = self.load(account_id).await?;
        if self.fresh(&tokens) {
            return Ok(tokens.access_token);
        }
        self.refresh(account_id, base_url, &tokens.access_token)
            .await
    }

    /// Refreshes after amoCRM refused `stale_access` (401), unless another caller already did.
    pub async fn refresh(
        &self,
        account_id: i64,
        base_url: &str,
        stale_access: &str,
    ) -> Result<String, TokenError> {
        let lock = self.lock_of(account_id);
        let _guard = lock.lock().await;
        let tokens = self.load(account_id).await?;
        if tokens.access_token != stale_access && self.fresh(&tokens) {
            return Ok(tokens.access_token);
        }
        if tokens.kind == LONG_LIVED {
            return self
                .give_up(account_id, "amoCRM refused the long-lived token".into())
                .await;
        }
        let mut candidates: Vec<String> = tokens.refresh_token.iter().cloned().collect();
        if let Some(previous) = &tokens.previous_refresh_token {
            if !candidates.contains(previous) {
                candidates.push(previous.clone());
            }
        }
        let mut last_error = String::from("no refresh token is stored");
        let mut refused = true;
        for refresh_token in candidates {
            // One retry of the same token when the answer was lost: under the grace policy it still works.
            for attempt in 0..2 {
                match self.oauth.refresh(base_url, &refresh_token).await {
                    Ok(pair) => {
                        let stored = accounts::store_refreshed(
                            &self.db,
                            &self.cipher,
                            account_id,
                            tokens.version,
                            &refresh_token,
                            &pair,
                        )
                        .await?;
                        if stored {
                            tracing::info!(account_id, "access token refreshed");
                            return Ok(pair.access_token);
                        }
                        // Another instance stored a newer pair meanwhile; use that one.
                        return Ok(self.load(account_id).await?.access_token);
                    }
                    Err(ExchangeError::Transport(error)) => {
                        tracing::warn!(account_id, attempt, %error, "token refresh failed in transit");
                        last_error = error;
                        refused = false;
                    }
                    Err(error @ ExchangeError::Refused(_)) => {
                        tracing::warn!(account_id, %error, "refresh token refused");
                        last_error = error.to_string();
                        refused = true;
                        // Another instance may have rotated the pair while we tried.
                        let now = self.load(account_id).await?;
                        if now.version != tokens.version {
                            return Ok(now.access_token);
                        }
                        break;
                    }
                }
            }
        }
        if !refused {
            // Nothing refused the tokens; the endpoint was unreachable, so try again later.
            return Err(TokenError::Transport(last_error));
        }
        self.give_up(account_id, last_error).await
    }

    async fn give_up(&self, account_id: i64, reason: String) -> Result<String, TokenError> {
        accounts::set_status_dropping_tokens(&self.db, account_id, REAUTH_REQUIRED).await?;
        tracing::error!(account_id, %reason, "no working token left; the account must reinstall");
        Err(TokenError::ReauthRequired(account_id, reason))
    }

    async fn load(&self, account_id: i64) -> Result<Tokens, TokenError> {
        accounts::tokens(&self.db, &self.cipher, account_id)
            .await?
            .ok_or(TokenError::NotInstalled(account_id))
    }
}
