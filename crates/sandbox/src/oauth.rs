//! OAuth 2.0 of amocrm-api-v4.md §12: authorization codes, `POST /oauth2/access_token` with both grants, the
//! single-use and grace rotation policies, long-lived tokens and revocation of an uninstalled integration's tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::config::Rotation;
use crate::faults::FaultKind;
use crate::problem::ApiError;
use crate::requestlog::LogEntry;
use crate::routes::AppState;
use crate::server::DropConnection;
use crate::state::{random_token, uuid_from};

/// How long an authorization code can be exchanged (20 minutes, §12.1).
pub const CODE_LIFETIME: i64 = 20 * 60;
/// How long an access token works (24 hours, §12.3).
pub const ACCESS_LIFETIME: i64 = 86_400;
/// How long an unused refresh token works (three months, §12.3).
pub const REFRESH_LIFETIME: i64 = 90 * 86_400;
/// The longest lifetime a long-lived token can be given (5 years, §12.3).
pub const MAX_LONG_LIVED_DAYS: i64 = 5 * 365 + 1;
/// Where the token endpoint lives on the account origin.
pub const TOKEN_PATH: &str = "/oauth2/access_token";
/// The `type` of every OAuth refusal.
pub const PROBLEM_TYPE: &str = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";

/// An integration as the token endpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The widget code of the integration.
    pub code: String,
    /// The integration id (`client_id`, a UUID).
    pub client_id: String,
    /// The secret key (`client_secret`).
    pub secret: String,
    /// The Redirect URI set on the integration, if any.
    pub redirect_uri: Option<String>,
}

/// What the access-token claims say about the account.
#[derive(Debug, Clone)]
pub struct AccountClaims {
    /// The account id.
    pub account_id: u64,
    /// The account host, e.g. `127.0.0.1:8300` (the `api_domain` claim).
    pub host: String,
}

/// A parsed token request; every field is optional so that a missing one can be refused the way amoCRM does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub refresh_token: Option<String>,
    pub redirect_uri: Option<String>,
}

impl TokenRequest {
    /// Reads a JSON object or an `application/x-www-form-urlencoded` body (both are accepted, §12.2).
    pub fn parse(content_type: &str, body: &[u8]) -> Option<TokenRequest> {
        let fields: HashMap<String, String> = if content_type.contains("json") {
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
                return None;
            };
            object
                .into_iter()
                .filter_map(|(key, value)| match value {
                    Value::String(s) => Some((key, s)),
                    Value::Number(n) => Some((key, n.to_string())),
                    _ => None,
                })
                .collect()
        } else {
            form_urlencoded::parse(body).into_owned().collect()
        };
        let take = |key: &str| fields.get(key).filter(|v| !v.is_empty()).cloned();
        Some(TokenRequest {
            client_id: take("client_id"),
            client_secret: take("client_secret"),
            grant_type: take("grant_type"),
            code: take("code"),
            refresh_token: take("refresh_token"),
            redirect_uri: take("redirect_uri"),
        })
    }
}

/// A refusal in amoCRM's `OAuthProblemJson` shape (§12.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// `title` as amoCRM words it.
    pub title: &'static str,
    /// `detail` as amoCRM words it.
    pub detail: &'static str,
    /// `hint`, when amoCRM gives one.
    pub hint: Option<String>,
}

impl Refusal {
    /// league/oauth2-server's `invalid_request` (400) as amoCRM words it, with `hint`.
    fn request(hint: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            title: "Некорректный запрос",
            detail: "В запросе отсутствует ряд параметров или параметры невалидны",
            hint: Some(hint.into()),
        }
    }

    /// A missing parameter: `Check the `name` parameter`.
    fn missing(name: &str) -> Refusal {
        Refusal::request(format!("Check the `{name}` parameter"))
    }

    /// An unusable refresh token: 401 with `hint` (observed with "Token has been revoked").
    fn refresh(hint: &str) -> Refusal {
        Refusal {
            status: 401,
            ..Refusal::request(hint)
        }
    }

    /// An unknown client, a wrong secret or a redirect URI that differs from the integration's: 401, no hint.
    fn client() -> Refusal {
        Refusal {
            status: 401,
            title: "Некорректный клиент",
            detail: "Авторизация клиента не прошла",
            hint: None,
        }
    }

    /// The problem+json body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(hint) = &self.hint {
            body.insert("hint".into(), json!(hint));
        }
        body.insert("title".into(), json!(self.title));
        body.insert("type".into(), json!(PROBLEM_TYPE));
        body.insert("status".into(), json!(self.status));
        body.insert("detail".into(), json!(self.detail));
        Value::Object(body)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, self.body().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A freshly issued token pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub access_token: String,
    pub refresh_token: String,
    /// The issue time on the sandbox clock (`server_time`).
    pub server_time: i64,
}

impl Pair {
    /// The documented success body (§12.2).
    pub fn body(&self) -> Value {
        json!({
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "server_time": self.server_time,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
        })
    }
}

/// Who a valid OAuth access token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    /// The user who authorized the integration.
    pub user_id: u64,
    /// The integration the token belongs to.
    pub client_id: String,
}

#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    user_id: u64,
    issued_at: i64,
    used: bool,
}

#[derive(Debug, Clone)]
struct Refresh {
    client_id: String,
    user_id: u64,
    issued_at: i64,
    revoked: bool,
    /// The refresh token this one replaced; under the grace policy it dies when this pair is first used.
    parent: Option<String>,
}

#[derive(Debug, Clone)]
struct Access {
    client_id: String,
    user_id: u64,
    expires_at: i64,
    revoked: bool,
    /// The refresh token issued with this access token (`None` for long-lived tokens).
    refresh: Option<String>,
}

#[derive(Debug)]
struct Grants {
    rng: fastrand::Rng,
    signing_key: String,
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Refresh>,
    access: HashMap<String, Access>,
}

/// Every authorization code and token the account has issued to integrations.
#[derive(Debug)]
pub struct OAuth(Mutex<Grants>);

impl OAuth {
    /// An empty grant store whose random codes and tokens derive from `seed`.
    pub fn new(seed: u64) -> OAuth {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x0a07_2c0d);
        let signing_key = random_token(&mut rng, 64);
        OAuth(Mutex::new(Grants {
            rng,
            signing_key,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
        }))
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.0.lock().expect("oauth lock")
    }

    /// A new authorization code for `client_id` acting as `user_id`.
    pub fn issue_code(&self, client_id: &str, user_id: u64, now: i64) -> String {
        let mut grants = self.grants();
        let code = opaque(&mut grants.rng, 100);
        grants.codes.insert(
            code.clone(),
            Code {
                client_id: client_id.to_owned(),
                user_id,
                issued_at: now,
                used: false,
            },
        );
        code
    }

    /// Runs the token endpoint's checks in league/oauth2-server's order and issues a pair.
    pub fn exchange(
        &self,
        request: &TokenRequest,
        clients: &[Client],
        account: &AccountClaims,
        rotation: Rotation,
        now: i64,
    ) -> Result<Pair, Refusal> {
        let grant_type = request.grant_type.as_deref();
        if !matches!(grant_type, Some("authorization_code" | "refresh_token")) {
            return Err(Refusal::request(
                "Check that all required parameters have been provided",
            ));
        }
        let client_id = request
            .client_id
            .as_deref()
            .ok_or_else(|| Refusal::missing("client_id"))?;
        let client = clients
            .iter()
            .find(|c| c.client_id == client_id)
            .filter(|c| request.client_secret.as_deref() == Some(c.secret.as_str()))
            .ok_or_else(Refusal::client)?;
        if let Some(uri) = request.redirect_uri.as_deref() {
            if client.redirect_uri.as_deref() != Some(uri) {
                return Err(Refusal::client());
            }
        }
        let mut grants = self.grants();
        if grant_type == Some("authorization_code") {
            let code = request
                .code
                .as_deref()
                .ok_or_else(|| Refusal::missing("code"))?;
            let stored = grants
                .codes
                .get(code)
                .cloned()
                .ok_or_else(|| Refusal::request("Cannot decrypt the authorization code"))?;
            if now > stored.issued_at + CODE_LIFETIME {
                return Err(Refusal::request("Authorization code has expired"));
            }
            if stored.used {
                return Err(Refusal::request("Authorization code has been revoked"));
            }
            if stored.client_id != client.client_id {
                return Err(Refusal::request(
                    "Authorization code was not issued to this client",
                ));
            }
            if request.redirect_uri.is_none() {
                return Err(Refusal::missing("redirect_uri"));
            }
            if let Some(entry) = grants.codes.get_mut(code) {
                entry.used = true;
            }
            return Ok(grants.issue_pair(&stored.client_id, stored.user_id, None, account, now));
        }
        let token = request
            .refresh_token
            .as_deref()
            .ok_or_else(|| Refusal::missing("refresh_token"))?;
        let stored = grants
            .refresh
            .get(token)
            .cloned()
            .ok_or_else(|| Refusal::refresh("Cannot decrypt the refresh token"))?;
        if stored.client_id != client.client_id {
            return Err(Refusal::refresh("Token is not linked to client"));
        }
        if now > stored.issued_at + REFRESH_LIFETIME {
            return Err(Refusal::refresh("Token has expired"));
        }
        if stored.revoked {
            return Err(Refusal::refresh("Token has been revoked"));
        }
        grants.end_grace_of(token);
        if rotation == Rotation::SingleUse {
            if let Some(entry) = grants.refresh.get_mut(token) {
                entry.revoked = true;
            }
        }
        Ok(grants.issue_pair(
            &stored.client_id,
            stored.user_id,
            Some(token.to_owned()),
            account,
            now,
        ))
    }

    /// A long-lived token (no refresh token) of `client_id` acting as `user_id`; returns it and its expiry.
    pub fn long_lived(
        &self,
        client_id: &str,
        user_id: u64,
        account: &AccountClaims,
        days: i64,
        now: i64,
    ) -> (String, i64) {
        let mut grants = self.grants();
        let expires_at = now + days * 86_400;
        let token = grants.jwt(client_id, user_id, account, now, expires_at);
        grants.access.insert(
            token.clone(),
            Access {
                client_id: client_id.to_owned(),
                user_id,
                expires_at,
                revoked: false,
                refresh: None,
            },
        );
        (token, expires_at)
    }

    /// The caller behind a live access token. The first use of a refreshed pair ends the grace of the token it replaced.
    pub fn bearer(&self, token: &str, now: i64) -> Option<Bearer> {
        let mut grants = self.grants();
        let access = grants.access.get(token)?.clone();
        if access.revoked || now >= access.expires_at {
            return None;
        }
        if let Some(refresh) = &access.refresh {
            grants.end_grace_of(refresh);
        }
        Some(Bearer {
            user_id: access.user_id,
            client_id: access.client_id,
        })
    }

    /// Revokes every code and token of `client_id` (the integration was uninstalled).
    pub fn revoke_client(&self, client_id: &str) {
        let mut grants = self.grants();
        grants.codes.retain(|_, c| c.client_id != client_id);
        for refresh in grants
            .refresh
            .values_mut()
            .filter(|r| r.client_id == client_id)
        {
            refresh.revoked = true;
        }
        for access in grants
            .access
            .values_mut()
            .filter(|a| a.client_id == client_id)
        {
            access.revoked = true;
        }
    }

    /// Forgets every grant (sandbox reset).
    pub fn clear(&self) {
        let mut grants = self.grants();
        grants.codes.clear();
        grants.refresh.clear();
        grants.access.clear();
    }
}

impl Grants {
    /// Revokes the refresh token that `token` replaced (the grace policy's "until the new pair is first used").
    fn end_grace_of(&mut self, token: &str) {
        let parent = self
            .refresh
            .get_mut(token)
            .and_then(|entry| entry.parent.take());
        if let Some(parent) = parent {
            if let Some(old) = self.refresh.get_mut(&parent) {
                old.revoked = true;
            }
        }
    }

    fn issue_pair(
        &mut self,
        client_id: &str,
        user_id: u64,
        parent: Option<String>,
        account: &AccountClaims,
        now: i64,
    ) -> Pair {
        let access_token = self.jwt(client_id, user_id, account, now, now + ACCESS_LIFETIME);
        let refresh_token = opaque(&mut self.rng, 200);
        self.refresh.insert(
            refresh_token.clone(),
            Refresh {
                client_id: client_id.to_owned(),
                user_id,
                issued_at: now,
                revoked: false,
                parent,
            },
        );
        self.access.insert(
            access_token.clone(),
            Access {
                client_id: client_id.to_owned(),
                user_id,
                expires_at: now + ACCESS_LIFETIME,
                revoked: false,
                refresh: Some(refresh_token.clone()),
            },
        );
        Pair {
            access_token,
            refresh_token,
            server_time: now,
        }
    }

    /// An access token shaped like amoCRM's JWT (claims of §12.3); the sandbox signs it with its own key.
    fn jwt(
        &mut self,
        client_id: &str,
        user_id: u64,
        account: &AccountClaims,
        now: i64,
        expires_at: i64,
    ) -> String {
        let claims = json!({
            "aud": client_id,
            "jti": uuid_from(&mut self.rng),
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "sub": user_id.to_string(),
            "grant_type": "",
            "account_id": account.account_id,
            "base_domain": account.host,
            "version": 2,
            "scopes": ["crm", "files", "files_delete", "notifications", "push_notifications"],
            "api_domain": account.host,
        });
        crate::jwt::sign(&claims, &self.signing_key)
    }
}

/// An opaque code or refresh token in amoCRM's look (`def50200` and hex).
fn opaque(rng: &mut fastrand::Rng, hex_len: usize) -> String {
    let mut token = String::from("def50200");
    token.extend((0..hex_len).map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0')));
    token
}

/// `POST /oauth2/access_token` on the account origin (§12.2): JSON or form body, `application/json` answer.
/// `/__sandbox/faults` rules for this path apply: `status` and `rate_limit` answer instead of issuing, `latency`
/// delays, and `drop` issues the grant and then closes the connection (an answer lost on the way).
pub async fn access_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ts_ms = crate::clock::system_now_ms();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let request = TokenRequest::parse(&content_type, &body).unwrap_or_default();
    let fault = state.faults.take("POST", TOKEN_PATH);
    let injected = match fault.as_ref().map(|f| f.kind) {
        Some(FaultKind::Latency) => {
            let ms = fault.as_ref().map_or(0, |f| f.ms);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            None
        }
        Some(FaultKind::Status) => {
            let status = fault.as_ref().map_or(500, |f| f.status);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(ApiError::new(status, "Injected fault").into_response())
        }
        Some(FaultKind::RateLimit) => Some(
            ApiError::too_many_requests(1, state.limiter.config().retry_after_header)
                .into_response(),
        ),
        Some(FaultKind::Drop | FaultKind::LostAnswer | FaultKind::StatusAfter) | None => None,
    };
    let now = state.clock.now();
    let account = state.account_claims();
    let rotation = state.options().refresh_rotation;
    let result = match injected {
        Some(response) => Err(response),
        None => state
            .oauth
            .exchange(&request, &state.oauth_clients(), &account, rotation, now)
            .map_err(IntoResponse::into_response),
    };
    let (status, mut response) = match result {
        Ok(pair) => {
            let mut response = (StatusCode::OK, pair.body().to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            (200, response)
        }
        Err(response) => (response.status().as_u16(), response),
    };
    match fault.as_ref().map(|f| f.kind) {
        // The grant was issued; only its answer is lost on the way.
        Some(FaultKind::Drop | FaultKind::LostAnswer) => {
            response.extensions_mut().insert(DropConnection);
        }
        // The grant was issued, then a gateway answered an error instead.
        Some(FaultKind::StatusAfter) => {
            let code = fault.as_ref().map_or(502, |f| f.status);
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            response =
                ApiError::new(code, "Injected fault after the request was served").into_response();
        }
        _ => {}
    }
    if state.config.log_requests {
        eprintln!("POST /oauth2/access_token -> {status} [oauth]");
    }
    state.log.push(LogEntry {
        seq: 0,
        ts_ms,
        method: "POST".into(),
        path: TOKEN_PATH.into(),
        query: String::new(),
        status,
        client: "oauth".into(),
        body: json!({
            "grant_type": request.grant_type,
            "client_id": request.client_id,
            "redirect_uri": request.redirect_uri,
        }),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            code: "leakguard".into(),
            client_id: "client-1".into(),
            secret: "secret".into(),
            redirect_uri: Some("https://backend.test/oauth".into()),
        }
    }

    fn account() -> AccountClaims {
        AccountClaims {
            account_id: 7,
            host: "127.0.0.1:1".into(),
        }
    }

    fn code_request(code: &str) -> TokenRequest {
        TokenRequest {
            client_id: Some("client-1".into()),
            client_secret: Some("secret".into()),
            grant_type: Some("authorization_code".into()),
            code: Some(code.into()),
            refresh_token: None,
            redirect_uri: Some("https://backend.test/oauth".into()),
        }
    }

    fn refresh_request(token: &str) -> TokenRequest {
        TokenRequest {
            grant_type: Some("refresh_token".into()),
            code: None,
            refresh_token: Some(token.into()),
            ..code_request("")
        }
    }

    #[test]
    fn form_and_json_bodies_parse_alike() {
        let json = TokenRequest::parse(
            "application/json",
            br#"{"client_id":"a","grant_type":"refresh_token","refresh_token":"r"}"#,
        );
        let form = TokenRequest::parse(
            "application/x-www-form-urlencoded",
            b"client_id=a&grant_type=refresh_token&refresh_token=r",
        );
        assert_eq!(json, form);
        assert_eq!(json.unwrap().refresh_token.as_deref(), Some("r"));
    }

    #[test]
    fn grace_keeps_the_old_refresh_token_until_the_new_pair_is_used() {
        let oauth = OAuth::new(1);
        let code = oauth.issue_code("client-1", 5, 100);
        let first = oauth
            .exchange(
                &code_request(&code),
                &[client()],
                &account(),
                Rotation::Grace,
                100,
            )
            .unwrap();
        let second = oauth
            .exchange(
                &refresh_request(&first.refresh_token),
                &[client()],
                &account(),
                Rotation::Grace,
                200,
            )
            .unwrap();
        let again = oauth.exchange(
            &refresh_request(&first.refresh_token),
            &[client()],
            &account(),
            Rotation::Grace,
            300,
        );
        assert!(again.is_ok(), "the old token works during the grace");
        let third = again.unwrap();
        assert_eq!(oauth.bearer(&third.access_token, 301).unwrap().user_id, 5);
        let after = oauth.exchange(
            &refresh_request(&first.refresh_token),
            &[client()],
            &account(),
            Rotation::Grace,
            302,
        );
        assert_eq!(
            after.unwrap_err().hint.as_deref(),
            Some("Token has been revoked")
        );
        assert!(oauth
            .exchange(
                &refresh_request(&second.refresh_token),
                &[client()],
                &account(),
                Rotation::Grace,
                303
            )
            .is_ok());
    }

    #[test]
    fn single_use_kills_the_old_refresh_token_at_once() {
        let oauth = OAuth::new(1);
        let code = oauth.issue_code("client-1", 5, 100);
        let first = oauth
            .exchange(
                &code_request(&code),
                &[client()],
                &account(),
                Rotation::SingleUse,
                100,
            )
            .unwrap();
        oauth
            .exchange(
                &refresh_request(&first.refresh_token),
                &[client()],
                &account(),
                Rotation::SingleUse,
                101,
            )
            .unwrap();
        let again = oauth
            .exchange(
                &refresh_request(&first.refresh_token),
                &[client()],
                &account(),
                Rotation::SingleUse,
                102,
            )
            .unwrap_err();
        assert_eq!(
            (again.status, again.hint.as_deref()),
            (401, Some("Token has been revoked"))
        );
    }
}
