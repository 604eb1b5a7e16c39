//! The OAuth install flow and token refresh under both rotation policies of amocrm-api-v4.md §12.3.
//!
//! The sandbox has no `/oauth2/access_token` yet, so these tests run against a small token server
//! defined below that follows the documented contract (JSON grants, `OAuthProblemJson` refusals,
//! a single-use or a grace-period rotation policy). When the sandbox grows the endpoint, point
//! `amo_base_url` at `sandbox.app_url()` instead of `TokenServer::url`.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use leakguard_server::amo::AmoError;
use serde_json::{json, Value};
use sqlx::Row;

const ACCOUNT: i64 = 31_337;
const CODE: &str = "def50200-good-code";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rotation {
    /// amoCRM RU: a used refresh token is dead at once.
    SingleUse,
    /// Kommo: the old refresh token works until the new one is first used.
    Grace,
}

#[derive(Debug)]
struct Tokens {
    rotation: Rotation,
    counter: u32,
    access: HashSet<String>,
    refresh: HashSet<String>,
    /// New refresh token → the old one it replaced (kept alive under the grace policy).
    replaced: HashMap<String, String>,
    refresh_calls: u32,
    /// Rotate but answer 500, as if the answer were lost on the way.
    lose_next_answer: bool,
}

#[derive(Clone)]
struct TokenServer {
    tokens: Arc<Mutex<Tokens>>,
    url: String,
}

fn refused(hint: &str) -> Response {
    let body = json!({"hint": hint, "title": "Bad Request", "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson", "status": 400, "detail": "Bad Request"});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn access_token(State(server): State<TokenServer>, Json(grant): Json<Value>) -> Response {
    if grant["client_id"] != CLIENT_ID
        || grant["client_secret"] != SECRET
        || grant["redirect_uri"] != "http://127.0.0.1:8302/oauth/callback"
    {
        return refused("Client authentication failed");
    }
    let mut tokens = server.tokens.lock().unwrap();
    match grant["grant_type"].as_str() {
        Some("authorization_code") if grant["code"] == CODE => {}
        Some("authorization_code") => return refused("Authorization code has expired"),
        Some("refresh_token") => {
            tokens.refresh_calls += 1;
            let used = grant["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if !tokens.refresh.remove(&used) {
                return refused("Invalid refresh token");
            }
            // Using a token ends the grace of the one it replaced.
            if let Some(old) = tokens.replaced.remove(&used) {
                tokens.refresh.remove(&old);
            }
            if tokens.rotation == Rotation::Grace {
                tokens.refresh.insert(used.clone());
            }
            let (access, refresh) = issue(&mut tokens);
            if tokens.rotation == Rotation::Grace {
                tokens.replaced.insert(refresh.clone(), used);
            }
            if std::mem::take(&mut tokens.lose_next_answer) {
                return StatusCode::BAD_GATEWAY.into_response();
            }
            return Json(json!({"token_type": "Bearer", "expires_in": 86400, "server_time": 1751892369, "access_token": access, "refresh_token": refresh})).into_response();
        }
        _ => return refused("Unsupported grant type"),
    }
    let (access, refresh) = issue(&mut tokens);
    Json(json!({"token_type": "Bearer", "expires_in": 86400, "access_token": access, "refresh_token": refresh})).into_response()
}

fn issue(tokens: &mut Tokens) -> (String, String) {
    tokens.counter += 1;
    let access = format!("access-{}", tokens.counter);
    let refresh = format!("refresh-{}", tokens.counter);
    tokens.access.insert(access.clone());
    tokens.refresh.insert(refresh.clone());
    (access, refresh)
}

fn authorized(server: &TokenServer, headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    token.is_some_and(|token| server.tokens.lock().unwrap().access.contains(token))
}

async fn account(State(server): State<TokenServer>, headers: HeaderMap) -> Response {
    if !authorized(&server, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"id": ACCOUNT, "name": "OAuth test", "subdomain": "oauthtest"})).into_response()
}

async fn lead(State(server): State<TokenServer>, headers: HeaderMap) -> Response {
    if !authorized(&server, &headers) {
        let body = json!({"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401, "detail": "Token expired"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn token_server(rotation: Rotation) -> TokenServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = TokenServer {
        tokens: Arc::new(Mutex::new(Tokens {
            rotation,
            counter: 0,
            access: HashSet::new(),
            refresh: HashSet::new(),
            replaced: HashMap::new(),
            refresh_calls: 0,
            lose_next_answer: false,
        })),
        url: format!("http://{}", listener.local_addr().unwrap()),
    };
    let app = Router::new()
        .route("/oauth2/access_token", post(access_token))
        .route("/api/v4/account", get(account))
        .route("/api/v4/leads/1", get(lead))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    server
}

/// Starts a server whose token exchanges go to `tokens`, and installs it through the redirect.
async fn installed(backend: &Backend, tokens: &TokenServer) -> (TestDb, leakguard_server::Running) {
    let db = fresh_db(backend).await;
    let mut config = server_config(&db);
    // No workers: the first account sync would race the tests' own refreshes.
    config.workers = 0;
    config.amo_base_url = Some(tokens.url.clone());
    let server = leakguard_server::start(config).await.unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/oauth/callback", server.url()))
        .query(&[
            ("code", CODE),
            ("referer", "oauthtest.amocrm.ru"),
            ("from_widget", "1"),
            ("platform", "1"),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    (db, server)
}

async fn expire_access_token(server: &leakguard_server::Running) {
    sqlx::query("UPDATE accounts SET expires_at = 0 WHERE account_id = $1")
        .bind(ACCOUNT)
        .execute(&server.db().pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_stores_encrypted_tokens_and_refuses_bad_redirects() {
    for backend in backends() {
        let tokens = token_server(Rotation::SingleUse).await;
        let (_db, server) = installed(&backend, &tokens).await;
        let row = sqlx::query("SELECT access_token, refresh_token, base_url, subdomain, status FROM accounts WHERE account_id = $1")
            .bind(ACCOUNT)
            .fetch_one(&server.db().pool)
            .await
            .unwrap();
        let sealed: String = row.try_get("access_token").unwrap();
        assert!(
            !sealed.contains("access-1"),
            "{}: the token is stored in clear",
            backend.name()
        );
        assert_eq!(server.state().cipher.decrypt(&sealed).unwrap(), "access-1");
        let refresh: String = row.try_get("refresh_token").unwrap();
        assert_eq!(
            server.state().cipher.decrypt(&refresh).unwrap(),
            "refresh-1"
        );
        assert_eq!(row.try_get::<String, _>("subdomain").unwrap(), "oauthtest");
        assert_eq!(row.try_get::<String, _>("status").unwrap(), "installed");

        let token = widget_token(ACCOUNT, &tokens.url, json!({}), SECRET);
        let state: Value = reqwest::Client::new()
            .get(format!("{}/api/account", server.url()))
            .header("X-Auth-Token", token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (&state["installed"], &state["token_kind"]),
            (&json!(true), &json!("oauth")),
            "{state}"
        );

        let callback = |query: Vec<(&'static str, &'static str)>| {
            reqwest::Client::new()
                .get(format!("{}/oauth/callback", server.url()))
                .query(&query)
                .send()
        };
        let denied = callback(vec![("error", "access_denied"), ("state", "x")])
            .await
            .unwrap();
        assert_eq!(denied.status(), 400);
        let expired = callback(vec![("code", "old"), ("referer", "oauthtest.amocrm.ru")])
            .await
            .unwrap();
        assert_eq!(expired.status(), 400);
        assert!(expired
            .text()
            .await
            .unwrap()
            .contains("Authorization code has expired"));
        let foreign = callback(vec![
            ("code", CODE),
            ("referer", "oauthtest.amocrm.ru"),
            ("client_id", "another"),
        ])
        .await
        .unwrap();
        assert_eq!(foreign.status(), 400);
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_before_expiry_under_both_rotation_policies() {
    for backend in backends() {
        for rotation in [Rotation::SingleUse, Rotation::Grace] {
            let tokens = token_server(rotation).await;
            let (_db, server) = installed(&backend, &tokens).await;
            let manager = &server.state().tokens;

            // Fresh: no refresh.
            assert_eq!(
                manager.access_token(ACCOUNT, &tokens.url).await.unwrap(),
                "access-1"
            );
            assert_eq!(tokens.tokens.lock().unwrap().refresh_calls, 0);

            // About to expire: five concurrent callers cause one refresh.
            expire_access_token(&server).await;
            let calls = (0..5).map(|_| manager.access_token(ACCOUNT, &tokens.url));
            let results: Vec<String> = futures::future::join_all(calls)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert!(
                results.iter().all(|token| token == "access-2"),
                "{rotation:?}: {results:?}"
            );
            assert_eq!(
                tokens.tokens.lock().unwrap().refresh_calls,
                1,
                "{rotation:?}"
            );
            let stored =
                leakguard_server::accounts::tokens(server.db(), &server.state().cipher, ACCOUNT)
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!(stored.refresh_token.as_deref(), Some("refresh-2"));
            assert_eq!(stored.previous_refresh_token.as_deref(), Some("refresh-1"));

            // The refreshed pair keeps working for the next refresh.
            expire_access_token(&server).await;
            assert_eq!(
                manager.access_token(ACCOUNT, &tokens.url).await.unwrap(),
                "access-3",
                "{}/{rotation:?}",
                backend.name()
            );
            server.shutdown().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_refresh_answer_is_retried_once_with_the_old_token() {
    for backend in backends() {
        // Grace policy: the old refresh token still works, so the retry recovers.
        let tokens = token_server(Rotation::Grace).await;
        let (_db, server) = installed(&backend, &tokens).await;
        expire_access_token(&server).await;
        tokens.tokens.lock().unwrap().lose_next_answer = true;
        let token = server
            .state()
            .tokens
            .access_token(ACCOUNT, &tokens.url)
            .await
            .unwrap();
        assert_eq!(token, "access-3", "{}", backend.name());
        assert_eq!(tokens.tokens.lock().unwrap().refresh_calls, 2);
        server.shutdown().await;

        // Single use: the old token died with the lost answer; the account must be reinstalled.
        let tokens = token_server(Rotation::SingleUse).await;
        let (_db, server) = installed(&backend, &tokens).await;
        expire_access_token(&server).await;
        tokens.tokens.lock().unwrap().lose_next_answer = true;
        let error = server
            .state()
            .tokens
            .access_token(ACCOUNT, &tokens.url)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("reinstalled"), "{error}");
        let account = leakguard_server::accounts::get(server.db(), ACCOUNT)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.status, "reauth_required");
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_and_retries_once() {
    for backend in backends() {
        let tokens = token_server(Rotation::SingleUse).await;
        let (_db, server) = installed(&backend, &tokens).await;
        // amoCRM revoked the access token early: the call gets 401, refreshes, and succeeds.
        tokens.tokens.lock().unwrap().access.clear();
        let lead: Option<Value> = server
            .state()
            .amo
            .get(ACCOUNT, "/api/v4/leads/1")
            .await
            .unwrap();
        assert_eq!(lead, None, "204 means no lead");
        assert_eq!(
            tokens.tokens.lock().unwrap().refresh_calls,
            1,
            "{}",
            backend.name()
        );

        // When the refreshed token is refused too, the call fails instead of looping.
        {
            let mut state = tokens.tokens.lock().unwrap();
            state.access.clear();
            state.refresh.clear();
        }
        let error = server
            .state()
            .amo
            .get::<Value>(ACCOUNT, "/api/v4/leads/1")
            .await
            .unwrap_err();
        assert!(matches!(error, AmoError::Unauthorized(_)), "{error:?}");
        server.shutdown().await;
    }
}
