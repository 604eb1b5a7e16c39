//! The HTTP surface on SQLite and (when configured) PostgreSQL: the widget token matrix over real
//! requests, account scoping, CORS for the account's origin only, the operations endpoints, the
//! uninstall hook and webhook parsing of the documented fixtures.

mod common;

use common::*;
use serde_json::{json, Value};

async fn get_api(
    server: &str,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{server}{path}"));
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn preflight(server: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{server}/api/account"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-auth-token")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_tokens_accept_and_reject_matrix_and_account_scoping() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        config.workers = 1;
        let server = leakguard_server::start(config).await.unwrap();
        let url = server.url();
        let iss = sandbox.app_url();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;

        let good = widget_token(account_id, iss, json!({}), SECRET);
        let (status, account) = get_api(&url, "/api/account", Some(&good), Some(iss)).await;
        assert_eq!(status, 200, "{}: {account}", backend.name());
        assert_eq!(account["account_id"], account_id);
        assert_eq!(account["installed"], true);
        assert_eq!(account["token_kind"], "long_lived");
        assert!(account.get("access_token").is_none());

        let rejected = [
            ("missing", None),
            (
                "bad signature",
                Some(widget_token(account_id, iss, json!({}), "not-the-secret")),
            ),
            (
                "wrong aud",
                Some(widget_token(
                    account_id,
                    iss,
                    json!({ "aud": "https://evil.example" }),
                    SECRET,
                )),
            ),
            (
                "expired",
                Some(widget_token(
                    account_id,
                    iss,
                    json!({ "exp": now - 300, "iat": now - 900, "nbf": now - 900 }),
                    SECRET,
                )),
            ),
            (
                "not yet valid",
                Some(widget_token(
                    account_id,
                    iss,
                    json!({ "nbf": now + 300 }),
                    SECRET,
                )),
            ),
            (
                "other integration",
                Some(widget_token(
                    account_id,
                    iss,
                    json!({ "client_uuid": "someone-else" }),
                    SECRET,
                )),
            ),
            ("garbage", Some("abc.def.ghi".to_string())),
        ];
        for (case, token) in rejected {
            let (status, body) = get_api(&url, "/api/account", token.as_deref(), None).await;
            assert_eq!(status, 401, "{}: {case}", backend.name());
            assert_eq!(body["error"], "unauthorized", "{case}: {body}");
        }

        // A valid token of account A used from another origin is refused.
        let (status, _) = get_api(
            &url,
            "/api/account",
            Some(&good),
            Some("https://evil.example"),
        )
        .await;
        assert_eq!(status, 403);

        // Account A has an event; account B's valid token sees B only: not installed, no events.
        let (lead_id, _) = create_lead(&sandbox, "Scoped").await;
        post_hook(&url, status_hook(account_id, lead_id, 7, 1_700_000_000)).await;
        let (_, events_a) = get_api(&url, "/api/events", Some(&good), None).await;
        assert_eq!(
            events_a["events"].as_array().unwrap().len(),
            1,
            "{events_a}"
        );
        let other = widget_token(account_id + 1, "https://other.amocrm.ru", json!({}), SECRET);
        let (status, account_b) = get_api(&url, "/api/account", Some(&other), None).await;
        assert_eq!(
            (status, &account_b["installed"], &account_b["account_id"]),
            (200, &json!(false), &json!(account_id + 1))
        );
        let (_, events_b) = get_api(
            &url,
            "/api/events?account_id={account_id}",
            Some(&other),
            None,
        )
        .await;
        assert_eq!(events_b["events"], json!([]));
        let (_, jobs_b) = get_api(&url, "/api/jobs", Some(&other), None).await;
        assert_eq!(jobs_b["jobs"], json!([]));

        // CORS: the account's origin is allowed, any other is not.
        let allowed = preflight(&url, iss).await;
        assert_eq!(
            allowed
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some(iss)
        );
        let refused = preflight(&url, "https://evil.example").await;
        assert!(refused
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_and_webhook_fixtures() {
    for backend in backends() {
        let db = fresh_db(&backend).await;
        let mut config = server_config(&db);
        config.workers = 1;
        let server = leakguard_server::start(config).await.unwrap();
        let url = server.url();
        let health: Value = reqwest::get(format!("{url}/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let ready = reqwest::get(format!("{url}/ready")).await.unwrap();
        assert_eq!(ready.status(), 200, "{}", backend.name());

        // Every documented fixture parses; their account is not installed here, so nothing is stored.
        for name in [
            "lead_status.txt",
            "lead_update_and_responsible.txt",
            "lead_add_delete.txt",
            "task_events.txt",
        ] {
            let (status, receipt) = post_hook(&url, fixture_body(name)).await;
            assert_eq!(status, 200, "{name}: {receipt}");
            assert_eq!(receipt["recorded"], 0, "{name}");
            assert!(
                receipt["ignored"].as_u64().unwrap() >= 1,
                "{name}: {receipt}"
            );
        }
        let (status, _) = post_hook(&url, String::new()).await;
        assert_eq!(status, 400);

        let response = reqwest::get(format!("{url}/metrics")).await.unwrap();
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"));
        let metrics = response.text().await.unwrap();
        assert!(
            metrics.contains("leakguard_webhook_events_total{result=\"unknown_account\"} 4"),
            "{metrics}"
        );
        assert!(
            metrics.contains("leakguard_errors_total{kind=\"webhook_parse\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("# TYPE leakguard_jobs gauge"), "{metrics}");
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uninstall_hook_checks_its_signature() {
    for backend in backends() {
        let sandbox = sandbox().await;
        let account_id = sandbox_account_id(&sandbox).await;
        let db = fresh_db(&backend).await;
        let mut config = with_sandbox_token(server_config(&db), &sandbox, account_id);
        config.workers = 1;
        let server = leakguard_server::start(config).await.unwrap();
        let url = server.url();
        let revoke = |signature: String| {
            reqwest::Client::new()
                .get(format!("{url}/oauth/revoke"))
                .header("User-Agent", "amoService-oAuth-Code-Sender/1.0")
                .query(&[
                    ("client_uuid", CLIENT_ID.to_string()),
                    ("account_id", account_id.to_string()),
                    ("signature", signature),
                ])
                .send()
        };
        let forged = leakguard_server::oauth::revoke_signature(
            "wrong-secret",
            CLIENT_ID,
            &account_id.to_string(),
        );
        assert_eq!(revoke(forged).await.unwrap().status(), 403);
        assert_eq!(revoke("zz".into()).await.unwrap().status(), 403);
        let account = leakguard_server::accounts::get(server.db(), account_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.status, "installed");

        let signature =
            leakguard_server::oauth::revoke_signature(SECRET, CLIENT_ID, &account_id.to_string());
        assert_eq!(
            revoke(signature).await.unwrap().status(),
            200,
            "{}",
            backend.name()
        );
        let account = leakguard_server::accounts::get(server.db(), account_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.status, "revoked");
        assert!(leakguard_server::accounts::tokens(
            server.db(),
            &server.state().cipher,
            account_id
        )
        .await
        .unwrap()
        .is_none());
        let token = widget_token(account_id, sandbox.app_url(), json!({}), SECRET);
        let (_, state) = get_api(&url, "/api/account", Some(&token), None).await;
        assert_eq!(
            (&state["installed"], &state["status"]),
            (&json!(false), &json!("revoked"))
        );
        server.shutdown().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_webhook_token_is_required() {
    let db = fresh_db(&Backend::Sqlite).await;
    let mut config = server_config(&db);
    config.workers = 0;
    config.webhook_token = Some("s3cret-path-token".into());
    let server = leakguard_server::start(config).await.unwrap();
    let post = |query: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/webhooks/amocrm{query}", server.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(fixture_body("lead_status.txt"))
            .send()
    };
    assert_eq!(post("").await.unwrap().status(), 403);
    assert_eq!(post("?token=wrong").await.unwrap().status(), 403);
    assert_eq!(
        post("?token=s3cret-path-token").await.unwrap().status(),
        200
    );
    server.shutdown().await;
}
