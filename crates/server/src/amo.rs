//! The amoCRM API v4 client of the job engine: Bearer auth, the shared rate limit, refresh-and-retry
//! on 401, back-off on 429, a pause on a 403 ban, and pagination until 204 or no next page.
//!
//! A 403 is a ban only when it says so. amoCRM answers 403 both for a ban (every request refused,
//! often nginx's HTML page "403 Forbidden", amocrm-api-v4.md §13.1) and for a missing right on one
//! endpoint (`/users` for a non-admin, webhooks on a plan without them: problem+json). The rule:
//! an HTML (non-JSON) 403, or a JSON 403 whose text says the account or address is blocked, is a
//! ban and pauses the whole account; any other 403 fails only that request, unless 403s come from
//! [`FORBIDDEN_PATHS_FOR_BAN`] different endpoints within [`FORBIDDEN_WINDOW`], which is taken as a
//! ban too (a right problem stays on one endpoint, a ban hits every one).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amo_api::hal::Collection;
use amo_api::{Page, Problem};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::accounts::{self, INSTALLED};
use crate::db::{now_ms, Db};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::tokens::{TokenError, TokenManager};

/// How long an account stays paused after amoCRM answers 403 (a ban needs a human to lift it).
pub const BAN_PAUSE_MS: i64 = 60 * 60 * 1000;
/// The most pages one listing reads (250 items each), a guard against a server that never stops.
pub const MAX_PAGES: u32 = 400;
/// The back-off after a 429 that names no delay.
pub const DEFAULT_RETRY_AFTER_SECONDS: u64 = 1;
/// How many different endpoints answering a plain 403 within [`FORBIDDEN_WINDOW`] make a ban.
pub const FORBIDDEN_PATHS_FOR_BAN: usize = 3;
/// The window in which plain 403s are counted.
pub const FORBIDDEN_WINDOW: Duration = Duration::from_secs(60);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum AmoError {
    #[error("account {0} is not installed")]
    NotInstalled(i64),
    #[error("calls to the account are paused until {until} (Unix ms)")]
    Paused { until: i64 },
    #[error("amoCRM answered 429; retry after {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    #[error("amoCRM answered 403: the account is paused")]
    Banned,
    #[error("amoCRM refused {path} with 403: {detail}")]
    Forbidden { path: String, detail: String },
    #[error("amoCRM refused the token: {0}")]
    Unauthorized(String),
    #[error("amoCRM answered {status}: {detail}")]
    Status {
        status: u16,
        detail: String,
        problem: Option<Box<Problem>>,
    },
    #[error("amoCRM could not be reached: {0}")]
    Transport(String),
    #[error("amoCRM's answer could not be decoded: {0}")]
    Decode(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<TokenError> for AmoError {
    fn from(error: TokenError) -> AmoError {
        match error {
            TokenError::NotInstalled(account_id) => AmoError::NotInstalled(account_id),
            TokenError::ReauthRequired(_, reason) => AmoError::Unauthorized(reason),
            TokenError::Transport(reason) => AmoError::Transport(reason),
            TokenError::Internal(error) => AmoError::Internal(error),
        }
    }
}

impl From<sqlx::Error> for AmoError {
    fn from(error: sqlx::Error) -> AmoError {
        AmoError::Internal(error.into())
    }
}

/// A successful answer: the status and the body (empty for 204).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: bytes::Bytes,
}

impl Reply {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, AmoError> {
        serde_json::from_slice(&self.body).map_err(|error| AmoError::Decode(error.to_string()))
    }
}

/// The client; cheap to clone.
#[derive(Clone, Debug)]
pub struct AmoClient {
    http: reqwest::Client,
    db: Db,
    tokens: TokenManager,
    limiter: RateLimiter,
    metrics: Metrics,
    request_timeout: Duration,
    forbidden: Arc<Mutex<HashMap<i64, RecentForbidden>>>,
}

/// The plain 403s of one account: when, and which endpoint.
type RecentForbidden = VecDeque<(Instant, String)>;

impl AmoClient {
    pub fn new(
        http: reqwest::Client,
        db: Db,
        tokens: TokenManager,
        limiter: RateLimiter,
        metrics: Metrics,
        request_timeout: Duration,
    ) -> AmoClient {
        AmoClient {
            http,
            db,
            tokens,
            limiter,
            metrics,
            request_timeout,
            forbidden: Arc::default(),
        }
    }

    /// Whether a plain 403 on `path` is the [`FORBIDDEN_PATHS_FOR_BAN`]-th different endpoint refused
    /// within [`FORBIDDEN_WINDOW`].
    fn forbidden_repeats(&self, account_id: i64, path: &str) -> bool {
        let endpoint = path.split('?').next().unwrap_or(path).to_owned();
        let now = Instant::now();
        let mut all = self.forbidden.lock().expect("forbidden lock");
        let seen = all.entry(account_id).or_default();
        while seen
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > FORBIDDEN_WINDOW)
        {
            seen.pop_front();
        }
        seen.push_back((now, endpoint));
        let mut endpoints: Vec<&String> = seen.iter().map(|(_, endpoint)| endpoint).collect();
        endpoints.sort();
        endpoints.dedup();
        endpoints.len() >= FORBIDDEN_PATHS_FOR_BAN
    }

    /// Sends one request to the account's `/api/v4/…` `path` (with its query string).
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        account_id: i64,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, AmoError> {
        let account = accounts::get(&self.db, account_id)
            .await?
            .filter(|account| account.status == INSTALLED)
            .ok_or(AmoError::NotInstalled(account_id))?;
        if let Some(until) = account.paused_until.filter(|&until| until > now_ms()) {
            return Err(AmoError::Paused { until });
        }
        let url = format!("{}{}", account.base_url, path);
        let mut token = self
            .tokens
            .access_token(account_id, &account.base_url)
            .await?;
        let mut refreshed = false;
        loop {
            let slot = self.limiter.acquire(account_id).await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .timeout(self.request_timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            self.limiter
                .settle(account_id, slot, now_ms().max(0) as u64)
                .await?;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    self.metrics.amo_request(account_id, 0);
                    return Err(AmoError::Transport(error.to_string()));
                }
            };
            let status = response.status().as_u16();
            self.metrics.amo_request(account_id, status);
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|error| AmoError::Transport(error.to_string()))?;
            match status {
                200..=299 => return Ok(Reply { status, body }),
                401 if !refreshed => {
                    refreshed = true;
                    token = self
                        .tokens
                        .refresh(account_id, &account.base_url, &token)
                        .await?;
                }
                401 => return Err(AmoError::Unauthorized(detail_of(&body))),
                429 => {
                    let retry_after_ms = retry_after_seconds(&headers, &body)
                        .unwrap_or(DEFAULT_RETRY_AFTER_SECONDS)
                        .saturating_mul(1000);
                    self.limiter
                        .block_until(account_id, now_ms().saturating_add(retry_after_ms as i64))
                        .await?;
                    tracing::warn!(account_id, retry_after_ms, "amoCRM answered 429");
                    return Err(AmoError::RateLimited { retry_after_ms });
                }
                403 if !is_ban(&body) && !self.forbidden_repeats(account_id, path) => {
                    self.metrics.error("amo_forbidden");
                    let detail = detail_of(&body);
                    tracing::warn!(account_id, path, %detail, "amoCRM refused one request with 403");
                    return Err(AmoError::Forbidden {
                        path: path.to_owned(),
                        detail,
                    });
                }
                403 => {
                    let reason = format!("amoCRM answered 403 on {path}: {}", detail_of(&body));
                    accounts::pause(&self.db, account_id, now_ms() + BAN_PAUSE_MS, &reason).await?;
                    self.metrics.error("amo_ban");
                    tracing::error!(account_id, %reason, "account paused");
                    return Err(AmoError::Banned);
                }
                _ => {
                    let problem = serde_json::from_slice::<Problem>(&body).ok().map(Box::new);
                    return Err(AmoError::Status {
                        status,
                        detail: detail_of(&body),
                        problem,
                    });
                }
            }
        }
    }

    /// `GET` a single object; `None` for 204 (amoCRM's "nothing") and 404.
    pub async fn get<T: DeserializeOwned>(
        &self,
        account_id: i64,
        path: &str,
    ) -> Result<Option<T>, AmoError> {
        match self.send::<()>(account_id, Method::GET, path, None).await {
            Ok(reply) if reply.status == amo_api::NO_CONTENT || reply.body.is_empty() => Ok(None),
            Ok(reply) => reply.json().map(Some),
            Err(AmoError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads every page of a list: `path_of(page)` builds the path of page `page` (1-based).
    /// Stops at a 204, at a page without `_links.next`, or at an empty page.
    pub async fn get_all<T: Collection + DeserializeOwned>(
        &self,
        account_id: i64,
        path_of: impl Fn(u32) -> String,
    ) -> Result<Vec<T>, AmoError> {
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let reply = self
                .send::<()>(account_id, Method::GET, &path_of(page), None)
                .await?;
            let page: Page<T> = Page::from_response(reply.status, || reply.json())?;
            let done = page.next.is_none() || page.items.is_empty();
            items.extend(page.items);
            if done {
                break;
            }
        }
        Ok(items)
    }
}

/// The delay a 429 asks for: amoCRM's `retry_after` body field, else a `Retry-After` header in seconds.
pub fn retry_after_seconds(headers: &HeaderMap, body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Problem>(body)
        .ok()
        .and_then(|problem| problem.retry_after)
        .or_else(|| {
            headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok())
        })
}

/// Whether a 403 body is a ban: not JSON (nginx's HTML page), or JSON saying the account or its
/// address is blocked.
pub fn is_ban(body: &[u8]) -> bool {
    match serde_json::from_slice::<Problem>(body) {
        Err(_) => true,
        Ok(problem) => {
            let text = format!(
                "{} {} {}",
                problem.title,
                problem.detail.unwrap_or_default(),
                problem.hint.unwrap_or_default()
            )
            .to_lowercase();
            ["blocked", "заблокирован", "banned", "bloqueado"]
                .iter()
                .any(|word| text.contains(word))
        }
    }
}

fn detail_of(body: &[u8]) -> String {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => problem.detail.or(problem.hint).unwrap_or(problem.title),
        Err(_) => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_the_body_then_the_header() {
        let mut headers = HeaderMap::new();
        let body = br#"{"title":"Too Many Requests","type":"https://httpstatus.es/429","status":429,"retry_after":300}"#;
        assert_eq!(retry_after_seconds(&headers, body), Some(300));
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after_seconds(&headers, b"<html>429</html>"), Some(7));
        assert_eq!(retry_after_seconds(&HeaderMap::new(), b""), None);
    }

    #[test]
    fn only_html_or_blocked_403s_are_bans() {
        assert!(is_ban(
            b"<html><center>403 Forbidden</center><hr><center>nginx</center></html>"
        ));
        assert!(is_ban(
            br#"{"title":"Forbidden","status":403,"detail":"Your IP address is blocked for exceeding the request limit"}"#
        ));
        assert!(is_ban(
            br#"{"title":"Forbidden","status":403,"detail":"Account blocked"}"#
        ));
        assert!(!is_ban(
            br#"{"title":"Forbidden","type":"https://httpstatus.es/403","status":403,"detail":"Access denied: administrator rights are required"}"#
        ));
    }

    #[test]
    fn details_come_from_problem_json_or_raw_text() {
        assert_eq!(
            detail_of(br#"{"title":"Forbidden","status":403,"detail":"Account blocked"}"#),
            "Account blocked"
        );
        assert_eq!(
            detail_of(b"<html>403 Forbidden / nginx</html>"),
            "<html>403 Forbidden / nginx</html>"
        );
    }
}
