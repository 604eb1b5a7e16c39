//! Contract tests of the sandbox's own surface: pages and sessions, CDN, ajax, test controls, rate limit and faults.

mod common;

use std::time::{Duration, Instant};

use common::{cookie_pair, send, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sandbox contract (pages): the SPA shell answers every section and sets an HttpOnly, SameSite=Lax session cookie once.
#[tokio::test]
async fn page_shell_sets_a_session_cookie() {
    let sb = Sandbox::start().await;
    for path in [
        "/",
        "/leads/detail/1",
        "/leads/pipeline/7",
        "/todo/line/",
        "/settings/widgets",
        "/dashboard/",
        "/contacts/list",
    ] {
        let response = sb
            .client
            .get(format!("{}{path}", sb.app))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let response = sb
        .client
        .get(format!("{}/leads/detail/1", sb.app))
        .send()
        .await
        .unwrap();
    let header = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        header.starts_with("session_id=")
            && header.contains("HttpOnly")
            && header.contains("SameSite=Lax")
            && header.contains("Path=/")
    );
    let cookie = cookie_pair(&response);
    let again = sb
        .client
        .get(format!("{}/leads", sb.app))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        again.headers().get("set-cookie").is_none(),
        "a valid session is kept"
    );
}

/// amocrm-widget-platform.md §4.1: API calls with the page's session cookie act as its user, like same-origin `$.ajax`.
#[tokio::test]
async fn session_cookie_authenticates_api_calls() {
    let sb = Sandbox::start().await;
    let page = sb
        .client
        .get(format!("{}/leads", sb.app))
        .send()
        .await
        .unwrap();
    let cookie = cookie_pair(&page);
    let (status, account) = send(
        sb.client
            .get(format!("{}/api/v4/account", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["current_user_id"], sb.demo().await["admin_user_id"]);
}

/// Sandbox contract (login): `/__sandbox/login` opens a session for that user and language and redirects to `next`.
#[tokio::test]
async fn login_switches_user_and_language() {
    let sb = Sandbox::start().await;
    let manager = sb.demo().await["manager_user_id"].as_u64().unwrap();
    let response = sb
        .client
        .get(format!(
            "{}/__sandbox/login?user={manager}&lang=en&next=/leads/detail/5",
            sb.app
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/leads/detail/5");
    let cookie = cookie_pair(&response);
    let (_, boot) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/bootstrap", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(boot["user"]["id"], manager);
    assert_eq!(boot["lang_id"], "en");
    assert_eq!(boot["user_rights"]["is_admin"], false);
    let unknown = sb
        .client
        .get(format!("{}/__sandbox/login?user=1", sb.app))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

/// Sandbox contract (static files): `host/` is served at `/frontend/` and `/favicon.ico` is a real icon.
#[tokio::test]
async fn frontend_files_and_favicon() {
    let sb = Sandbox::start().await;
    let js = sb
        .client
        .get(format!("{}/frontend/js/app.js", sb.app))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let icon = sb
        .client
        .get(format!("{}/favicon.ico", sb.app))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0]);
    assert_eq!(bytes.len(), 6 + 16 + 40 + 16 * 16 * 4 + 16 * 4);
}

/// amocrm-widget-platform.md §3.6 / sandbox contract (CDN): archive files with their MIME types, `Access-Control-Allow-Origin: *`, 404 otherwise.
#[tokio::test]
async fn cdn_serves_archive_files_with_mime_and_cors() {
    let sb = Sandbox::start().await;
    let base = format!("{}/widgets/leakguard/0.3.1", sb.cdn);
    for (file, mime) in [
        ("script.js", "text/javascript"),
        ("leakguard_bg.wasm", "application/wasm"),
        ("style.css", "text/css"),
        ("manifest.json", "application/json"),
        ("images/logo.png", "image/png"),
    ] {
        let response = sb
            .client
            .get(format!("{base}/{file}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(mime),
            "{file}"
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
    for missing in [
        "/widgets/leakguard/0.3.0/script.js",
        "/widgets/leakguard/0.3.1/nope.js",
        "/widgets/other/0.3.1/script.js",
        "/",
    ] {
        let response = sb
            .client
            .get(format!("{}{missing}", sb.cdn))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

/// Sandbox contract (bootstrap): account, user, managers keyed by id with `group_<gid>`, pipelines, reasons and the widget's CDN paths.
#[tokio::test]
async fn bootstrap_describes_account_and_widgets() {
    let sb = Sandbox::start().await;
    let cookie = sb
        .session_for(sb.demo().await["admin_user_id"].as_u64().unwrap())
        .await;
    let (status, boot) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/bootstrap", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(boot["account"]["timezone"], "Europe/Moscow");
    assert_eq!(boot["account"]["subdomain"], "leakguard-demo");
    assert_eq!(boot["managers"].as_object().unwrap().len(), 6);
    assert_eq!(boot["managers"]["8100002"]["group"], "group_401001");
    assert!(boot["groups"]["group_401001"].is_string());
    assert_eq!(boot["task_types"]["1"]["option"], "Связаться");
    assert_eq!(boot["pipelines"].as_array().unwrap().len(), 3);
    assert_eq!(boot["loss_reasons"][0]["name"], "Дорого");
    let widget = &boot["widgets"][0];
    assert_eq!(widget["code"], "leakguard");
    assert_eq!(
        widget["path"],
        format!("{}/widgets/leakguard/0.3.1", sb.cdn)
    );
    assert_eq!(widget["cdn_path"], widget["path"]);
    assert_eq!(
        widget["status"], "not_configured",
        "the required backend_url is empty"
    );
    assert_eq!(widget["manifest"]["widget"]["version"], "0.3.1");
    let (status, _) = send(sb.api(Method::GET, "/ajax/sandbox/bootstrap")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "ajax needs a session");
}

/// Sandbox contract (widget settings): admins save `{active, fields}`; managers get 403.
#[tokio::test]
async fn widget_settings_are_admin_only() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let admin = sb
        .session_for(demo["admin_user_id"].as_u64().unwrap())
        .await;
    let url = format!("{}/ajax/sandbox/widgets/leakguard/settings", sb.app);
    let body = json!({"active": "Y", "fields": {"backend_url": "https://example.test"}});
    let (status, entry) = send(sb.client.post(&url).header("cookie", &admin).json(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry["status"], "installed");
    assert_eq!(entry["settings"]["backend_url"], "https://example.test");
    let manager = sb
        .session_for(demo["manager_user_id"].as_u64().unwrap())
        .await;
    let (status, _) = send(sb.client.post(&url).header("cookie", &manager).json(&body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, off) = send(
        sb.client
            .post(&url)
            .header("cookie", &admin)
            .json(&json!({"active": "N"})),
    )
    .await;
    assert_eq!(off["active"], "N");
    assert_eq!(off["status"], "install");
}

/// Sandbox contract (card): the lead with contacts and tags, all its tasks, and its notes in one call.
#[tokio::test]
async fn card_returns_lead_tasks_and_notes() {
    let sb = Sandbox::start().await;
    let demo = sb.demo().await;
    let cookie = sb
        .session_for(demo["admin_user_id"].as_u64().unwrap())
        .await;
    let id = demo["deal_without_task"].as_u64().unwrap();
    let (status, card) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/leads/{id}/card", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(card["lead"]["id"], id);
    assert!(
        card["lead"]["_embedded"]["contacts"].is_array()
            && card["lead"]["_embedded"]["tags"].is_array()
    );
    let tasks = card["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty() && tasks.iter().all(|t| t["is_completed"] == true));
    assert!(card["lead"]["closest_task_at"].is_null());
    assert!(card["notes"].is_array());
}

/// amocrm-widget-platform.md §4.2: the one-time token is an HS256 JWT with the documented claims, signed with the integration secret.
#[tokio::test]
async fn widget_token_is_a_signed_jwt() {
    let sb = Sandbox::start().await;
    let cookie = sb
        .session_for(sb.demo().await["manager_user_id"].as_u64().unwrap())
        .await;
    let (status, body) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/widgets/leakguard/token", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap();
    let secret = sb.running.state().widgets()[0].secret.clone();
    let claims = leakguard_sandbox::jwt::verify(token, &secret).expect("signature checks out");
    for claim in [
        "iss",
        "aud",
        "jti",
        "iat",
        "nbf",
        "exp",
        "account_id",
        "user_id",
        "subdomain",
        "client_uuid",
    ] {
        assert!(!claims[claim].is_null(), "{claim}");
    }
    assert_eq!(claims["iss"], sb.app);
    assert_eq!(claims["user_id"], sb.demo().await["manager_user_id"]);
    assert!(claims["exp"].as_i64() > claims["iat"].as_i64());
    assert!(leakguard_sandbox::jwt::verify(token, "wrong secret").is_none());
}

/// Sandbox contract (request log): API and ajax calls are logged with seq, status, body and client kind; pages are not.
#[tokio::test]
async fn request_log_records_api_calls() {
    let sb = Sandbox::start().await;
    let cookie = sb
        .session_for(sb.demo().await["admin_user_id"].as_u64().unwrap())
        .await;
    sb.client
        .get(format!("{}/leads", sb.app))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    sb.send(
        Method::POST,
        "/api/v4/tasks",
        json!([{"text": "x", "complete_till": 1}]),
    )
    .await;
    send(
        sb.client
            .get(format!("{}/api/v4/account", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    send(
        sb.client
            .get(format!("{}/api/v4/account", sb.app))
            .header("cookie", &cookie)
            .header("x-sandbox-client", "host"),
    )
    .await;
    send(sb.client.get(format!("{}/api/v4/account?x=1", sb.app))).await;
    let log: Vec<Value> = sb
        .client
        .get(format!("{}/__sandbox/requests?since=0", sb.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let clients: Vec<&str> = log.iter().map(|e| e["client"].as_str().unwrap()).collect();
    assert_eq!(clients, ["bearer", "session", "host", "anonymous"]);
    assert_eq!(log[0]["body"][0]["text"], "x");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[3]["status"], 401);
    assert_eq!(log[3]["query"], "x=1");
    let since = log[1]["seq"].as_u64().unwrap();
    let later: Vec<Value> = sb
        .client
        .get(format!("{}/__sandbox/requests?since={since}", sb.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
    sb.client
        .delete(format!("{}/__sandbox/requests", sb.app))
        .send()
        .await
        .unwrap();
    let empty: Vec<Value> = sb
        .client
        .get(format!("{}/__sandbox/requests", sb.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(empty.is_empty());
}

async fn add_fault(sb: &Sandbox, fault: Value) {
    let response = sb
        .client
        .post(format!("{}/__sandbox/faults", sb.app))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// Sandbox contract (faults, `status`): the next `count` matching requests answer that status; others pass.
#[tokio::test]
async fn fault_status_applies_to_count_matching_requests() {
    let sb = Sandbox::start().await;
    add_fault(&sb, json!({"method": "POST", "path": "/api/v4/tasks", "kind": "status", "status": 503, "count": 2})).await;
    let task = json!([{"text": "x", "complete_till": 1}]);
    assert_eq!(
        sb.get("/api/v4/tasks").await.0,
        StatusCode::OK,
        "GET does not match"
    );
    for _ in 0..2 {
        let (status, body) = sb.send(Method::POST, "/api/v4/tasks", task.clone()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], 503);
    }
    assert_eq!(
        sb.send(Method::POST, "/api/v4/tasks", task).await.0,
        StatusCode::OK
    );
}

/// Sandbox contract (faults, `rate_limit`): an injected 429 has the Kommo body with `retry_after`.
#[tokio::test]
async fn fault_rate_limit_answers_429() {
    let sb = Sandbox::start().await;
    add_fault(&sb, json!({"path": "/api/v4/leads", "kind": "rate_limit"})).await;
    let (status, body) = sb.get("/api/v4/leads").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["retry_after"].is_u64());
    assert_eq!(sb.get("/api/v4/leads").await.0, StatusCode::OK);
}

/// Sandbox contract (faults, `latency`): the request is served after the delay.
#[tokio::test]
async fn fault_latency_delays_the_answer() {
    let sb = Sandbox::start().await;
    add_fault(
        &sb,
        json!({"path": "/api/v4/account", "kind": "latency", "ms": 400}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(sb.get("/api/v4/account").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    sb.get("/api/v4/account").await;
    assert!(started.elapsed() < Duration::from_millis(400));
}

/// Sandbox contract (faults, `drop`): the connection closes without an answer; `DELETE /__sandbox/faults` clears rules.
#[tokio::test]
async fn fault_drop_closes_the_connection() {
    let sb = Sandbox::start().await;
    add_fault(&sb, json!({"path": "/api/v4/leads", "kind": "drop"})).await;
    assert!(sb.api(Method::GET, "/api/v4/leads").send().await.is_err());
    assert_eq!(sb.get("/api/v4/leads?limit=1").await.0, StatusCode::OK);
    add_fault(
        &sb,
        json!({"path": "/api/v4/leads", "kind": "drop", "count": 5}),
    )
    .await;
    sb.client
        .delete(format!("{}/__sandbox/faults", sb.app))
        .send()
        .await
        .unwrap();
    assert_eq!(sb.get("/api/v4/leads?limit=1").await.0, StatusCode::OK);
}

/// Sandbox contract (faults, `lost_answer` and `status_after`): the request is served — its task is
/// written — but the client gets no answer, or an error status, so only a lookup can tell it happened.
#[tokio::test]
async fn faults_after_the_write_leave_the_task_created() {
    let sb = Sandbox::start().await;
    let count_tasks = |text: &'static str| {
        let sb = &sb;
        async move {
            let (status, body) = sb.get("/api/v4/tasks?limit=250").await;
            assert_eq!(status, StatusCode::OK);
            let mut all = body["_embedded"]["tasks"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut page = 2;
            while let (StatusCode::OK, more) = sb
                .get(&format!("/api/v4/tasks?limit=250&page={page}"))
                .await
            {
                all.extend(
                    more["_embedded"]["tasks"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
                page += 1;
            }
            all.iter().filter(|t| t["text"] == text).count()
        }
    };
    add_fault(
        &sb,
        json!({"method": "POST", "path": "/api/v4/tasks", "kind": "lost_answer"}),
    )
    .await;
    let lost = json!([{"text": "written, answer lost", "complete_till": 1}]);
    assert!(sb
        .api(Method::POST, "/api/v4/tasks")
        .json(&lost)
        .send()
        .await
        .is_err());
    assert_eq!(count_tasks("written, answer lost").await, 1);

    add_fault(
        &sb,
        json!({"method": "POST", "path": "/api/v4/tasks", "kind": "status_after", "status": 502}),
    )
    .await;
    let gateway = json!([{"text": "written, then 502", "complete_till": 1}]);
    let (status, _) = sb.send(Method::POST, "/api/v4/tasks", gateway).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(count_tasks("written, then 502").await, 1);
}

/// Sandbox contract (reset): the fixture is rebuilt (empty or demo) while the admin token stays valid.
#[tokio::test]
async fn reset_rebuilds_the_fixture() {
    let sb = Sandbox::start().await;
    let id = sb.demo().await["deal_with_task"].as_u64().unwrap();
    sb.send(
        Method::PATCH,
        &format!("/api/v4/leads/{id}"),
        json!({"name": "changed"}),
    )
    .await;
    let reset = |body: Value| {
        sb.client
            .post(format!("{}/__sandbox/reset", sb.app))
            .json(&body)
            .send()
    };
    assert!(reset(json!({"fixture": "empty"}))
        .await
        .unwrap()
        .status()
        .is_success());
    assert_eq!(sb.get("/api/v4/leads").await.0, StatusCode::NO_CONTENT);
    assert!(sb.demo().await["deal_with_task"].is_null());
    reset(json!({"fixture": "demo", "seed": 42, "deals": 50}))
        .await
        .unwrap();
    let (_, lead) = sb.get(&format!("/api/v4/leads/{id}")).await;
    assert_ne!(lead["name"], "changed");
    let (_, all) = sb.get("/api/v4/leads?limit=250").await;
    assert_eq!(all["_embedded"]["leads"].as_array().unwrap().len(), 50);
}

/// Sandbox contract (clock): `POST /__sandbox/clock` fixes or shifts the time used for `created_at`.
#[tokio::test]
async fn clock_controls_timestamps() {
    let sb = Sandbox::start().await;
    let set = |body: Value| {
        sb.client
            .post(format!("{}/__sandbox/clock", sb.app))
            .json(&body)
            .send()
    };
    let clock: Value = set(json!({"now": 1_800_000_000}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["now"], 1_800_000_000);
    let (_, created) = sb
        .send(
            Method::POST,
            "/api/v4/tasks",
            json!([{"text": "x", "complete_till": 1}]),
        )
        .await;
    let id = created["_embedded"]["tasks"][0]["id"].as_u64().unwrap();
    assert_eq!(
        sb.get(&format!("/api/v4/tasks/{id}")).await.1["created_at"],
        1_800_000_000
    );
    let clock: Value = set(json!({"system": true}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["mode"], "system");
    let read: Value = sb
        .client
        .get(format!("{}/__sandbox/clock", sb.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!((read["now"].as_i64().unwrap() - leakguard_sandbox::clock::system_now()).abs() < 5);
}

fn limited_config() -> leakguard_sandbox::Config {
    let mut config = common::config();
    config.rate_limit.enabled = true;
    config
}

/// amocrm-api-v4.md §13.1: more than 7 requests in a second from one client → 429 with `retry_after`.
#[tokio::test]
async fn more_than_7_per_second_is_429() {
    let sb = Sandbox::with(limited_config()).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(sb.get("/api/v4/account").await);
    }
    assert!(statuses[..7].iter().all(|(s, _)| *s == StatusCode::OK));
    let (status, body) = &statuses[7];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["title"], "Too Many Requests");
    assert!(body["retry_after"].as_u64().unwrap() >= 1);
    let other = sb
        .running
        .state()
        .issue_token(sb.demo().await["admin_user_id"].as_u64().unwrap());
    let (status, _) = send(
        sb.client
            .get(format!("{}/api/v4/account", sb.app))
            .bearer_auth(other),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the limit is per client key");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(sb.get("/api/v4/account").await.0, StatusCode::OK);
}

/// Sandbox contract: calls of the fake amoCRM frontend itself (`X-Sandbox-Client: host`) are not limited.
#[tokio::test]
async fn host_calls_are_not_limited() {
    let sb = Sandbox::with(limited_config()).await;
    for _ in 0..20 {
        let (status, _) = send(
            sb.api(Method::GET, "/api/v4/account")
                .header("x-sandbox-client", "host"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// amocrm-api-v4.md §13.1: repeated violations turn into a 403 ban for the cool-down, then access returns.
#[tokio::test]
async fn repeated_abuse_is_banned() {
    let mut config = limited_config();
    config.rate_limit.ban_after_violations = 3;
    config.rate_limit.ban_duration = Duration::from_millis(1500);
    let sb = Sandbox::with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(sb.get("/api/v4/account").await.0);
    }
    assert_eq!(
        &statuses[7..],
        [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN
        ]
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        sb.get("/api/v4/account").await.0,
        StatusCode::FORBIDDEN,
        "still banned after the window frees"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sb.get("/api/v4/account").await.0, StatusCode::OK);
}

/// amocrm-api-v4.md §14 item 1: the 402 switch answers "Payment required" to API calls.
#[tokio::test]
async fn payment_required_switch() {
    let sb = Sandbox::start().await;
    sb.client
        .post(format!("{}/__sandbox/options", sb.app))
        .json(&json!({"payment_required": true}))
        .send()
        .await
        .unwrap();
    let (status, body) = sb.get("/api/v4/leads").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(body["detail"], "Payment required");
}

/// Sandbox contract (library): `shutdown` stops both listeners.
#[tokio::test]
async fn shutdown_closes_the_listeners() {
    let sb = Sandbox::start().await;
    let (app, cdn, client) = (sb.app.clone(), sb.cdn.clone(), sb.client.clone());
    sb.running.shutdown().await;
    assert!(client.get(format!("{app}/")).send().await.is_err());
    assert!(client.get(format!("{cdn}/")).send().await.is_err());
}

/// Sandbox contract (demo data): the same seed gives the same data; `--deals` sets the count.
#[tokio::test]
async fn demo_data_is_deterministic() {
    let a = leakguard_sandbox::demo::build(
        leakguard_sandbox::Fixture::Demo,
        7,
        500,
        1_800_000_000,
        true,
    );
    let b = leakguard_sandbox::demo::build(
        leakguard_sandbox::Fixture::Demo,
        7,
        500,
        1_800_000_000,
        true,
    );
    let c = leakguard_sandbox::demo::build(
        leakguard_sandbox::Fixture::Demo,
        8,
        500,
        1_800_000_000,
        true,
    );
    let names = |s: &leakguard_sandbox::state::Store| {
        s.leads
            .values()
            .map(|l| (l.name.clone(), l.price, l.status_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert_ne!(names(&a), names(&c));
    assert_eq!(a.leads.len(), 500);
    let now = 1_800_000_000;
    let active: Vec<_> = a
        .leads
        .values()
        .filter(|l| l.status_id != 142 && l.status_id != 143 && !l.is_deleted)
        .collect();
    assert!(
        active
            .iter()
            .any(|l| l.closest_task_at.is_some_and(|t| t < now)),
        "some deals are overdue"
    );
    assert!(
        active
            .iter()
            .any(|l| l.closest_task_at.is_some_and(|t| t > now)),
        "some have a next step"
    );
    assert!(
        active.iter().any(|l| l.closest_task_at.is_none()),
        "some have no open task"
    );
    assert!(a
        .leads
        .values()
        .filter(|l| l.status_id == 143)
        .all(|l| l.loss_reason_id.is_some() && l.closed_at.is_some()));
}

/// Sandbox contract (CDN): a rebuilt archive on disk is picked up on the next page load, under its new version.
#[tokio::test]
async fn rebuilt_archive_is_reloaded() {
    let config = common::config();
    let path = config.widgets[0].path.clone();
    let sb = Sandbox::with(config).await;
    let cookie = sb
        .session_for(sb.demo().await["admin_user_id"].as_u64().unwrap())
        .await;
    std::thread::sleep(Duration::from_millis(20));
    let rebuilt = common::widget_zip(&common::scratch("rebuilt"), "0.3.2");
    std::fs::copy(rebuilt, &path).unwrap();
    let (_, boot) = send(
        sb.client
            .get(format!("{}/ajax/sandbox/bootstrap", sb.app))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(boot["widgets"][0]["version"], "0.3.2");
    let response = sb
        .client
        .get(format!("{}/widgets/leakguard/0.3.2/script.js", sb.cdn))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
