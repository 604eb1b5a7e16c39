//! The OAuth install flow and token refresh against the sandbox's real `/oauth2/access_token`
//! (amocrm-api-v4.md §12) under both rotation policies of §12.3, the widget-install hook end to end
//! (code exchange, encrypted tokens, webhook subscription, the widget's settings adopted), and the
//! revoke hook.

mod common;

use std::time::Duration;

use common::*;
use leakguard_sandbox::{Rotation, WidgetSource};
use leakguard_server::amo::AmoError;
use leakguard_server::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;

/// A sandbox whose `leakguard` integration (our client id and secret) redirects to and is revoked
/// through a server that will listen on `port`.
async fn sandbox_with_integration(
    port: u16,
    rotation: Rotation,
    dir: &std::path::Path,
) -> leakguard_sandbox::Running {
    let zip = widget_zip(dir);
    sandbox_with(|config| {
        config.widgets = vec![WidgetSource {
            client_uuid: Some(CLIENT_ID.into()),
            secret: Some(SECRET.into()),
            redirect_uri: Some(format!("http://127.0.0.1:{port}/oauth/callback")),
            revoke_uri: Some(format!("http://127.0.0.1:{port}/oauth/revoke")),
            ..WidgetSource::new("leakguard", zip)
        }];
        config.api.refresh_rotation = rotation;
    })
    .await
}

/// A server on `port` whose token exchanges and API calls go to the sandbox.
fn oauth_config(db: &TestDb, port: u16, sandbox: &leakguard_sandbox::Running) -> Config {
    let mut config = server_config(db);
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.redirect_uri = Some(format!("http://127.0.0.1:{port}/oauth/callback"));
    config.amo_base_url = Some(sandbox.app_url().to_owned());
    config
}

/// A code from the integration's Keys tab, exchanged through our redirect endpoint.
async fn install_by_code(
    server: &leakguard_server::Running,
    sandbox: &leakguard_sandbox::Running,
) -> i64 {
    let code: Value = reqwest::Client::new()
        .post(format!("{}/__sandbox/oauth/code", sandbox.app_url()))
        .json(&json!({ "widget": "leakguard" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/oauth/callback", server.url()))
        .query(&[
            ("code", code["code"].as_str().unwrap()),
            ("referer", code["referer"].as_str().unwrap()),
            ("from_widget", "1"),
            ("platform", "2"),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["account_id"].as_i64().unwrap()
}

/// The token-endpoint calls with `grant_type`.
async fn grants(sandbox: &leakguard_sandbox::Running, grant_type: &str) -> Vec<Value> {
    request_log(sandbox)
        .await
        .into_iter()
        .filter(|entry| {
            entry["path"] == "/oauth2/access_token" && entry["body"]["grant_type"] == grant_type
        })
        .collect()
}

async fn expire_access_token(server: &leakguard_server::Running, account_id: i64) {
    sqlx::query("UPDATE accounts SET expires_at = 0 WHERE account_id = $1")
        .bind(account_id)
        .execute(&server.db().pool)
        .await
        .unwrap();
}

async fn stored_tokens(
    server: &leakguard_server::Running,
    account_id: i64,
) -> leakguard_server::accounts::Tokens {
    leakguard_server::accounts::tokens(server.db(), &server.state().cipher, account_id)
        .await
        .unwrap()
        .unwrap()
}

/// A sandbox and a server without workers (no background sync racing the tests' refreshes),
/// installed through the redirect with a fresh code.
async fn installed(
    backend: &Backend,
    rotation: Rotation,
) -> (
    tempfile::TempDir,
    leakguard_sandbox::Running,
    TestDb,
    leakguard_server::Running,
    i64,
) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sandbox = sandbox_with_integration(port, rotation, dir.path()).await;
    let db = fresh_db(backend).await;
    let mut config = oauth_config(&db, port, &sandbox);
    config.workers = 0;
    let server = leakguard_server::start(config).await.unwrap();
    let account_id = install_by_code(&server, &sandbox).await;
    (dir, sandbox, db, server, account_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_install_hook_stores_encrypted_tokens_subscribes_webhooks_and_revoke_stops_them() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let sandbox = sandbox_with_integration(port, Rotation::SingleUse, dir.path()).await;
        let db = fresh_db(&backend).await;
        let server = leakguard_server::start(oauth_config(&db, port, &sandbox))
            .await
            .unwrap();
        let account_id = sandbox_account_id(&sandbox).await;

        // The admin switches the widget on with its settings: amoCRM sends the install hook.
        let mut saved = leakguard_core::settings::Settings::default();
        saved.stuck.tag = leakguard_core::locale::Localized::new("Стоит", "Idle", "", "");
        let settings = json!({ "config": serde_json::to_string(&saved).unwrap() });
        let (status, body) = amo(
            &sandbox,
            Method::POST,
            "/api/v4/widgets/leakguard",
            Some(settings),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let account = wait_for(Duration::from_secs(20), || async {
            leakguard_server::accounts::get(server.db(), account_id)
                .await
                .ok()
                .flatten()
                .filter(|a| a.full_synced_at.is_some())
        })
        .await
        .unwrap_or_else(|| panic!("{}: no install and first scan", backend.name()));
        assert_eq!(account.token_kind, "oauth");
        assert_eq!(account.timezone.as_deref(), Some("Europe/Moscow"));
        assert_eq!(account.lang.as_deref(), Some("ru"));

        let row =
            sqlx::query("SELECT access_token, refresh_token FROM accounts WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&server.db().pool)
                .await
                .unwrap();
        let sealed: String = row.try_get("access_token").unwrap();
        let access = server.state().cipher.decrypt(&sealed).unwrap();
        assert!(!sealed.contains(&access), "the token is stored in clear");
        assert_eq!(grants(&sandbox, "authorization_code").await.len(), 1);

        // The first scan subscribed the webhook and adopted the widget's saved settings.
        let (_, hooks) = amo(&sandbox, Method::GET, "/api/v4/webhooks", None).await;
        let hook = &hooks["_embedded"]["webhooks"][0];
        assert_eq!(
            hook["destination"],
            format!("http://127.0.0.1:{port}/webhooks/amocrm")
        );
        let events: Vec<&str> = hook["settings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        for event in [
            "status_lead",
            "update_lead",
            "add_task",
            "update_task",
            "delete_task",
        ] {
            assert!(events.contains(&event), "{events:?}");
        }
        let adopted = leakguard_server::account_settings::load(server.db(), account_id)
            .await
            .unwrap();
        assert_eq!(adopted, saved);

        // A widget call with amoCRM's token sees the installation.
        let token = widget_token(
            account_id,
            sandbox.app_url(),
            json!({ "aud": format!("http://127.0.0.1:{port}") }),
            SECRET,
        );
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
            (&state["installed"], &state["webhooks_subscribed"]),
            (&json!(true), &json!(true)),
            "{state}"
        );

        // Switching it off revokes the tokens and sends the signed revoke hook.
        let (status, _) = amo(&sandbox, Method::DELETE, "/api/v4/widgets/leakguard", None).await;
        assert_eq!(status, 204);
        let revoked = wait_for(Duration::from_secs(20), || async {
            leakguard_server::accounts::get(server.db(), account_id)
                .await
                .ok()
                .flatten()
                .filter(|a| a.status == "revoked")
        })
        .await;
        assert!(
            revoked.is_some(),
            "{}: the revoke hook was not honoured",
            backend.name()
        );
        // The dead token could not unsubscribe, so hooks of the revoked account are refused
        // (amoCRM disables a webhook that keeps failing).
        let (status, _) = post_hook(
            &server.url(),
            status_hook(account_id, 1, 143, 1_700_000_000),
        )
        .await;
        assert_eq!(status, 410);
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_before_expiry_under_both_rotation_policies() {
    for backend in backends() {
        for rotation in [Rotation::SingleUse, Rotation::Grace] {
            let (_dir, sandbox, _db, server, account) = installed(&backend, rotation).await;
            let manager = &server.state().tokens;
            let base = sandbox.app_url();
            let first = stored_tokens(&server, account).await;

            // Fresh: no refresh.
            assert_eq!(
                manager.access_token(account, base).await.unwrap(),
                first.access_token
            );
            assert!(grants(&sandbox, "refresh_token").await.is_empty());

            // About to expire: five concurrent callers cause one refresh.
            expire_access_token(&server, account).await;
            let calls = (0..5).map(|_| manager.access_token(account, base));
            let results: Vec<String> = futures::future::join_all(calls)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            let second = stored_tokens(&server, account).await;
            assert_ne!(second.access_token, first.access_token);
            assert!(
                results.iter().all(|token| *token == second.access_token),
                "{rotation:?}"
            );
            assert_eq!(
                grants(&sandbox, "refresh_token").await.len(),
                1,
                "{rotation:?}"
            );
            assert_eq!(second.previous_refresh_token, first.refresh_token);

            // The refreshed pair keeps working for the next refresh and for the API.
            expire_access_token(&server, account).await;
            let third = manager.access_token(account, base).await.unwrap();
            assert_ne!(
                third,
                second.access_token,
                "{}/{rotation:?}",
                backend.name()
            );
            let lead: Option<Value> = server
                .state()
                .amo
                .get(account, "/api/v4/leads/1")
                .await
                .unwrap();
            assert_eq!(lead, None, "no lead 1 (204)");
            server.shutdown().await;
            sandbox.shutdown().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_refresh_answer_recovers_under_grace_and_needs_a_reinstall_under_single_use() {
    for backend in backends() {
        // Grace: the used refresh token still works, so the retry recovers.
        let (_dir, sandbox, _db, server, account) = installed(&backend, Rotation::Grace).await;
        expire_access_token(&server, account).await;
        fault(
            &sandbox,
            json!({ "path": "/oauth2/access_token", "kind": "drop", "count": 1 }),
        )
        .await;
        let token = server
            .state()
            .tokens
            .access_token(account, sandbox.app_url())
            .await
            .unwrap();
        assert_eq!(token, stored_tokens(&server, account).await.access_token);
        assert_eq!(
            grants(&sandbox, "refresh_token").await.len(),
            2,
            "{}",
            backend.name()
        );
        let lead: Option<Value> = server
            .state()
            .amo
            .get(account, "/api/v4/leads/1")
            .await
            .unwrap();
        assert_eq!(lead, None);
        server.shutdown().await;
        sandbox.shutdown().await;

        // Single use: the token died with the lost answer; the account must be reinstalled.
        let (_dir, sandbox, _db, server, account) = installed(&backend, Rotation::SingleUse).await;
        expire_access_token(&server, account).await;
        fault(
            &sandbox,
            json!({ "path": "/oauth2/access_token", "kind": "drop", "count": 1 }),
        )
        .await;
        let error = server
            .state()
            .tokens
            .access_token(account, sandbox.app_url())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("reinstalled"), "{error}");
        let state = leakguard_server::accounts::get(server.db(), account)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.status, "reauth_required");
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_401_refreshes_and_retries_once() {
    for backend in backends() {
        let (_dir, sandbox, _db, server, account) = installed(&backend, Rotation::SingleUse).await;
        // A day passes on amoCRM's clock: the access token is refused, refreshed, and the call succeeds.
        sandbox
            .state()
            .clock
            .set(leakguard_sandbox::clock::ClockMode::Offset(86_400 + 60));
        let lead: Option<Value> = server
            .state()
            .amo
            .get(account, "/api/v4/leads/1")
            .await
            .unwrap();
        assert_eq!(lead, None);
        assert_eq!(
            grants(&sandbox, "refresh_token").await.len(),
            1,
            "{}",
            backend.name()
        );

        // Four months later the refresh token is dead too: the call fails instead of looping.
        sandbox
            .state()
            .clock
            .set(leakguard_sandbox::clock::ClockMode::Offset(120 * 86_400));
        let error = server
            .state()
            .amo
            .get::<Value>(account, "/api/v4/leads/1")
            .await
            .unwrap_err();
        assert!(matches!(error, AmoError::Unauthorized(_)), "{error:?}");
        // The current refresh token, then the previous one, each refused once.
        assert_eq!(grants(&sandbox, "refresh_token").await.len(), 3);
        let state = leakguard_server::accounts::get(server.db(), account)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.status, "reauth_required");
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_redirects_are_refused() {
    let (_dir, sandbox, _db, server, _account) =
        installed(&Backend::Sqlite, Rotation::SingleUse).await;
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
    let expired = callback(vec![
        ("code", "def50200-unknown"),
        ("referer", "sandbox.amocrm.ru"),
    ])
    .await
    .unwrap();
    assert_eq!(expired.status(), 400);
    let text = expired.text().await.unwrap();
    assert!(text.contains("refused"), "{text}");
    let foreign = callback(vec![
        ("code", "x"),
        ("referer", "sandbox.amocrm.ru"),
        ("client_id", "another"),
    ])
    .await
    .unwrap();
    assert_eq!(foreign.status(), 400);
    server.shutdown().await;
    sandbox.shutdown().await;
}
