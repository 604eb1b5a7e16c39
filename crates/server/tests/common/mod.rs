//! Shared helpers of the server's integration tests: databases (SQLite always, PostgreSQL when
//! `LEAKGUARD_TEST_POSTGRES_URL` is set), a sandbox amoCRM, server configs and widget tokens.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use leakguard_server::config::{Config, LongLivedToken};
use serde_json::{json, Value};
use sqlx::Connection as _;

/// The integration secret and id the tests configure.
pub const SECRET: &str = "test-integration-secret";
pub const CLIENT_ID: &str = "6b1f0b5e-0000-4000-8000-00000000c11e";

/// One database to run a test on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// SQLite, plus PostgreSQL when `LEAKGUARD_TEST_POSTGRES_URL` names a server (a URL with a user
/// allowed to create databases, e.g. `postgres://postgres:postgres@127.0.0.1:5432/postgres`).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("LEAKGUARD_TEST_POSTGRES_URL") {
        if !url.trim().is_empty() {
            backends.push(Backend::Postgres(url));
        }
    }
    backends
}

/// A fresh, empty database of `backend`: a SQLite data dir, or a new PostgreSQL database.
pub struct TestDb {
    pub data_dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

pub async fn fresh_db(backend: &Backend) -> TestDb {
    let data_dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres(admin_url) => {
            let name = format!("lg_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(admin_url)
                .await
                .expect("connecting to PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            Some(format!("{base}/{name}"))
        }
    };
    TestDb {
        data_dir,
        database_url,
    }
}

/// A server config on a free port over `db`, with the test integration and a fixed token key.
pub fn server_config(db: &TestDb) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: db.data_dir.path().to_path_buf(),
        database_url: db.database_url.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        redirect_uri: Some("http://127.0.0.1:8302/oauth/callback".into()),
        token_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        workers: 4,
        lease_seconds: 3,
        poll_interval_ms: 50,
        sync_interval_seconds: 0,
        ..Config::default()
    }
}

/// A sandbox on free ports with an empty account, its limiter on (7 per second) and a quiet log.
pub async fn sandbox() -> leakguard_sandbox::Running {
    let config = leakguard_sandbox::Config {
        port: 0,
        cdn_port: 0,
        widgets: Vec::new(),
        fixture: leakguard_sandbox::Fixture::Empty,
        deals: 0,
        log_requests: false,
        host_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        ..leakguard_sandbox::Config::default()
    };
    leakguard_sandbox::start(config)
        .await
        .expect("starting the sandbox")
}

/// The sandbox account's id.
pub async fn sandbox_account_id(sandbox: &leakguard_sandbox::Running) -> i64 {
    let account: Value = reqwest::Client::new()
        .get(format!("{}/api/v4/account", sandbox.app_url()))
        .header("x-sandbox-client", "host")
        .bearer_auth(helper_token(sandbox))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    account["id"].as_i64().expect("the account has an id")
}

/// The sandbox's admin token configured as the account's long-lived token.
pub fn with_sandbox_token(
    mut config: Config,
    sandbox: &leakguard_sandbox::Running,
    account_id: i64,
) -> Config {
    config.long_lived_tokens = vec![LongLivedToken {
        account_id,
        base_url: sandbox.app_url().to_owned(),
        token: sandbox.token().to_owned(),
    }];
    config
}

/// A second admin token for the tests' own calls: the sandbox limits each token separately, so the
/// server's token (the sandbox's main one) keeps its whole 7 requests per second.
pub fn helper_token(sandbox: &leakguard_sandbox::Running) -> String {
    let admin = sandbox
        .state()
        .token_user(sandbox.token())
        .expect("the admin token has a user");
    sandbox.state().issue_token(admin)
}

/// Sends one API request to the sandbox as the admin, with the helper token.
pub async fn amo(
    sandbox: &leakguard_sandbox::Running,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    // As the sandbox's own frontend: exempt from its limit and logged as `host`, so the `bearer`
    // entries of the request log are exactly the server's calls.
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.app_url()))
        .header("x-sandbox-client", "host")
        .bearer_auth(helper_token(sandbox));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a lead in the sandbox's main pipeline and returns its id and pipeline.
pub async fn create_lead(sandbox: &leakguard_sandbox::Running, name: &str) -> (u64, u64) {
    let (status, pipelines) = amo(
        sandbox,
        reqwest::Method::GET,
        "/api/v4/leads/pipelines",
        None,
    )
    .await;
    assert_eq!(status, 200, "{pipelines}");
    let pipeline = pipelines["_embedded"]["pipelines"][0]["id"]
        .as_u64()
        .unwrap();
    let (status, created) = amo(
        sandbox,
        reqwest::Method::POST,
        "/api/v4/leads",
        Some(json!([{ "name": name, "pipeline_id": pipeline }])),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    (
        created["_embedded"]["leads"][0]["id"].as_u64().unwrap(),
        pipeline,
    )
}

/// Marks a lead lost (status 143).
pub async fn lose_lead(sandbox: &leakguard_sandbox::Running, lead_id: u64, pipeline: u64) {
    set_status(sandbox, lead_id, pipeline, 143).await;
}

/// Moves a lead to `status_id` of `pipeline`.
pub async fn set_status(
    sandbox: &leakguard_sandbox::Running,
    lead_id: u64,
    pipeline: u64,
    status_id: u64,
) {
    let (status, body) = amo(
        sandbox,
        reqwest::Method::PATCH,
        &format!("/api/v4/leads/{lead_id}"),
        Some(json!({ "status_id": status_id, "pipeline_id": pipeline })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// The tasks of a lead (open or not).
pub async fn tasks_of(sandbox: &leakguard_sandbox::Running, lead_id: u64) -> Vec<Value> {
    let (status, body) = amo(
        sandbox,
        reqwest::Method::GET,
        &format!("/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]={lead_id}&limit=250"),
        None,
    )
    .await;
    match status {
        204 => Vec::new(),
        200 => body["_embedded"]["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        other => panic!("listing tasks answered {other}: {body}"),
    }
}

/// The sandbox's request log.
pub async fn request_log(sandbox: &leakguard_sandbox::Running) -> Vec<Value> {
    reqwest::get(format!("{}/__sandbox/requests", sandbox.app_url()))
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

/// Adds a fault rule to the sandbox.
pub async fn fault(sandbox: &leakguard_sandbox::Running, rule: Value) {
    let status = reqwest::Client::new()
        .post(format!("{}/__sandbox/faults", sandbox.app_url()))
        .json(&rule)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "adding a fault answered {status}");
}

/// A widget token as amoCRM's `$authorizedAjax` makes it, with `overrides` merged into the claims.
pub fn widget_token(account_id: i64, iss: &str, overrides: Value, secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut claims = json!({
        "iss": iss,
        "aud": "http://127.0.0.1:8302",
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "account_id": account_id,
        "user_id": 1,
        "subdomain": "sandbox",
        "client_uuid": CLIENT_ID,
    });
    for (key, value) in overrides.as_object().cloned().unwrap_or_default() {
        claims[key] = value;
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Job counts by state in the server's database.
pub async fn job_states(db: &leakguard_server::db::Db) -> Vec<(String, i64)> {
    leakguard_server::jobs::queue::counts_by_state(db)
        .await
        .unwrap()
}

/// True when no job is queued or running.
pub async fn queue_drained(db: &leakguard_server::db::Db) -> bool {
    job_states(db)
        .await
        .iter()
        .all(|(state, count)| *count == 0 || state == "done" || state == "failed")
}

/// Encodes one webhook fixture file as a form body.
pub fn fixture_body(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    leakguard_server::webhook::parser::encode_fixture(&std::fs::read_to_string(path).unwrap())
}

/// A status-change webhook body for one lead.
pub fn status_hook(account_id: i64, lead_id: u64, status_id: u64, updated_at: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("leads[status][0][id]", &lead_id.to_string())
        .append_pair("leads[status][0][status_id]", &status_id.to_string())
        .append_pair("leads[status][0][old_status_id]", "1")
        .append_pair("leads[status][0][pipeline_id]", "1")
        .append_pair("leads[status][0][updated_at]", &updated_at.to_string())
        .append_pair("leads[status][0][last_modified]", &updated_at.to_string())
        .append_pair("leads[status][0][account_id]", &account_id.to_string())
        .append_pair("account[id]", &account_id.to_string())
        .append_pair("account[subdomain]", "sandbox")
        .finish()
}

/// Posts a webhook body to the server.
pub async fn post_hook(server: &str, body: String) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{server}/webhooks/amocrm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A sandbox on free ports with `fixture`, `deals` and the rest adjusted by `adjust`.
pub async fn sandbox_with(
    adjust: impl FnOnce(&mut leakguard_sandbox::Config),
) -> leakguard_sandbox::Running {
    let mut config = leakguard_sandbox::Config {
        port: 0,
        cdn_port: 0,
        widgets: Vec::new(),
        fixture: leakguard_sandbox::Fixture::Empty,
        deals: 0,
        log_requests: false,
        host_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        ..leakguard_sandbox::Config::default()
    };
    adjust(&mut config);
    leakguard_sandbox::start(config)
        .await
        .expect("starting the sandbox")
}

/// A free loopback port (for a server whose address the sandbox must know before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A widget archive with a `config` settings field, as the sandbox uploads it.
pub fn widget_zip(dir: &std::path::Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("widget.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let manifest = json!({
        "widget": {"name": "widget.name", "description": "widget.description", "short_description": "widget.short_description",
                   "version": "0.1.0", "interface_version": 2, "init_once": false, "locale": ["ru", "en"], "installation": true},
        "locations": ["lcard-1", "settings"],
        "settings": {"config": {"name": "settings.config", "type": "custom", "required": false}}
    });
    for (name, bytes) in [
        ("manifest.json", manifest.to_string().into_bytes()),
        (
            "script.js",
            b"define(['jquery'], function () { return function () { return this; }; });".to_vec(),
        ),
        ("i18n/ru.json", b"{}".to_vec()),
        ("i18n/en.json", b"{}".to_vec()),
        ("images/logo.png", b"\x89PNG\r\n\x1a\n".to_vec()),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// Sets the sandbox's and the server's clocks to `at` (frozen).
pub fn set_clocks(
    sandbox: &leakguard_sandbox::Running,
    server: &leakguard_server::Running,
    at: i64,
) {
    sandbox
        .state()
        .clock
        .set(leakguard_sandbox::clock::ClockMode::Fixed(at));
    server
        .clock()
        .set(leakguard_server::clock::ClockMode::Fixed(at));
}

/// Runs one automation pass to its end (waiting while a webhook-triggered one holds the account).
pub async fn run_pass(server: &leakguard_server::Running, account_id: i64) {
    let ctx = server.job_context();
    for _ in 0..200 {
        match leakguard_server::automation::pass(ctx, account_id).await {
            Ok(()) => return,
            Err(leakguard_server::jobs::handlers::JobError::Defer { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("the automation pass failed: {error}"),
        }
    }
    panic!("the automation pass never got its turn");
}

/// Runs the full scan to its end.
pub async fn full_scan(server: &leakguard_server::Running, account_id: i64) {
    let ctx = server.job_context();
    for _ in 0..200 {
        match leakguard_server::sync::full_scan(ctx, account_id, None).await {
            Ok(()) => return,
            Err(leakguard_server::jobs::handlers::JobError::Defer { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("the full scan failed: {error}"),
        }
    }
    panic!("the full scan never got its turn");
}

/// Runs one reconciliation to its end.
pub async fn delta_scan(server: &leakguard_server::Running, account_id: i64) {
    leakguard_server::sync::delta_scan(server.job_context(), account_id)
        .await
        .unwrap_or_else(|error| panic!("the reconciliation failed: {error}"));
}

/// Waits until the copy's lead satisfies `check`.
pub async fn wait_lead(
    server: &leakguard_server::Running,
    account_id: i64,
    lead_id: u64,
    what: &str,
    check: impl Fn(&leakguard_server::copy::LeadRow) -> bool,
) -> leakguard_server::copy::LeadRow {
    let found = wait_for(Duration::from_secs(20), || async {
        leakguard_server::copy::lead(&server.db().pool, account_id, lead_id as i64)
            .await
            .ok()
            .flatten()
            .filter(|lead| check(lead))
    })
    .await;
    found.unwrap_or_else(|| panic!("the copy never showed lead {lead_id} {what}"))
}

/// Waits until no job is due or running (future scheduled jobs may wait).
pub async fn settled(db: &leakguard_server::db::Db) {
    let idle = wait_for(Duration::from_secs(30), || async {
        let now = leakguard_server::db::now_ms();
        let row = sqlx::query(
            "SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= $1)",
        )
        .bind(now + 600)
        .fetch_one(&db.pool)
        .await
        .ok()?;
        use sqlx::Row as _;
        (row.try_get::<i64, _>(0).ok()? == 0).then_some(())
    })
    .await;
    assert!(
        idle.is_some(),
        "jobs kept running: {:?}",
        job_states(db).await
    );
}

/// The server's requests to the sandbox (the `bearer` entries of the log: test calls are `host`).
pub async fn server_requests(sandbox: &leakguard_sandbox::Running) -> Vec<Value> {
    request_log(sandbox)
        .await
        .into_iter()
        .filter(|entry| entry["client"] == "bearer")
        .collect()
}

/// Asserts that no 8 of the server's requests fell within one second and none was refused with 429.
pub fn assert_within_budget(entries: &[Value]) {
    let mut times: Vec<u64> = entries
        .iter()
        .map(|entry| {
            assert_ne!(
                entry["status"], 429,
                "the sandbox throttled the server: {entry}"
            );
            entry["ts_ms"].as_u64().unwrap()
        })
        .collect();
    times.sort_unstable();
    for group in times.windows(8) {
        assert!(
            group[7] - group[0] >= 1000,
            "8 requests within a second: {group:?}"
        );
    }
}

/// A server config over `db` for automation tests: the sandbox's admin token, a frozen clock at
/// `at`, no schedule (tests run scans and passes themselves), quick webhook reactions.
pub fn automation_config(
    db: &TestDb,
    sandbox: &leakguard_sandbox::Running,
    account_id: i64,
    at: i64,
) -> Config {
    let mut config = with_sandbox_token(server_config(db), sandbox, account_id);
    config.clock = format!("fixed:{at}");
    config.delta_debounce_ms = 300;
    config
}

/// Puts `settings` into the server's store for the account.
pub async fn put_settings(
    server: &leakguard_server::Running,
    account_id: i64,
    settings: &leakguard_core::settings::Settings,
) {
    leakguard_server::account_settings::save(server.db(), account_id, settings, None)
        .await
        .unwrap()
        .unwrap_or_else(|problems| panic!("invalid test settings: {problems:?}"));
}
