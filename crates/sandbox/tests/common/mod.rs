//! Shared helpers of the sandbox's contract tests: start a sandbox on free ports and talk to it over real HTTP.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use leakguard_sandbox::{Config, Running, WidgetSource};
use reqwest::{Method, StatusCode};
use serde_json::Value;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory unique to this call.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sandbox-{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A widget archive with a manifest, a script, a stylesheet, a wasm file and a logo.
pub fn widget_zip(dir: &std::path::Path, version: &str) -> PathBuf {
    let path = dir.join("widget.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let manifest = serde_json::json!({
        "widget": {"name": "widget.name", "description": "widget.description", "short_description": "widget.short_description",
                   "version": version, "interface_version": 2, "init_once": false, "locale": ["ru", "en"], "installation": true},
        "locations": ["lcard-1", "settings"],
        "settings": {"backend_url": {"name": "settings.backend_url", "type": "text", "required": true}}
    });
    for (name, bytes) in [
        ("manifest.json", manifest.to_string().into_bytes()),
        (
            "script.js",
            b"define(['jquery'], function () { return function () { return this; }; });".to_vec(),
        ),
        ("style.css", b".leakguard { color: red; }".to_vec()),
        ("leakguard_bg.wasm", b"\0asm\x01\0\0\0".to_vec()),
        ("i18n/ru.json", b"{}".to_vec()),
        ("images/logo.png", b"\x89PNG\r\n\x1a\n".to_vec()),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// A sandbox plus an HTTP client that does not follow redirects.
pub struct Sandbox {
    pub running: Running,
    pub client: reqwest::Client,
    pub app: String,
    pub cdn: String,
    pub token: String,
}

/// Test defaults: free ports, a small demo, a test widget, a tiny frontend, quiet log, limiter off.
pub fn config() -> Config {
    let dir = scratch("cfg");
    let host = dir.join("host");
    std::fs::create_dir_all(host.join("js")).unwrap();
    std::fs::write(
        host.join("index.html"),
        "<!doctype html><title>sandbox shell</title>",
    )
    .unwrap();
    std::fs::write(host.join("js/app.js"), "console.log('host');").unwrap();
    let mut config = Config {
        port: 0,
        cdn_port: 0,
        widgets: vec![WidgetSource::new("leakguard", widget_zip(&dir, "0.3.1"))],
        deals: 300,
        host_dir: host,
        log_requests: false,
        ..Config::default()
    };
    config.rate_limit.enabled = false;
    config
}

impl Sandbox {
    /// Starts a sandbox with the test defaults.
    pub async fn start() -> Sandbox {
        Self::with(config()).await
    }

    /// Starts a sandbox with `config`.
    pub async fn with(config: Config) -> Sandbox {
        let running = leakguard_sandbox::start(config).await.unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Sandbox {
            app: running.app_url().to_owned(),
            cdn: running.cdn_url().to_owned(),
            token: running.token().to_owned(),
            running,
            client,
        }
    }

    /// An authenticated API request with the admin token.
    pub fn api(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.app))
            .bearer_auth(&self.token)
    }

    /// GET with the admin token: status and JSON body (`Null` when empty).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.api(Method::GET, path)).await
    }

    /// A JSON request with the admin token: status and JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.api(method, path).json(&body)).await
    }

    /// The showcase ids.
    pub async fn demo(&self) -> Value {
        self.client
            .get(format!("{}/__sandbox/demo", self.app))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A session cookie for `user` (through `/__sandbox/login`).
    pub async fn session_for(&self, user: u64) -> String {
        let response = self
            .client
            .get(format!(
                "{}/__sandbox/login?user={user}&next=/leads",
                self.app
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        cookie_pair(&response)
    }
}

/// Sends and decodes: status plus JSON body, `Null` for an empty body.
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// `name=value` of the first `Set-Cookie`.
pub fn cookie_pair(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    header.split(';').next().unwrap().to_owned()
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Hit {
    /// The query (or a form body) as `key → value` pairs in order.
    pub fn pairs(text: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect()
    }

    /// The value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<String> {
        Self::pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of form field `key` of the body.
    pub fn field(&self, key: &str) -> Option<String> {
        Self::pairs(&self.body)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Debug, Default)]
struct Inbox {
    hits: Vec<Hit>,
    status: u16,
    delay_ms: u64,
}

/// A tiny HTTP server on a free loopback port that records every request and answers a settable status.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    inbox: std::sync::Arc<std::sync::Mutex<Inbox>>,
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Receiver {
        let inbox = std::sync::Arc::new(std::sync::Mutex::new(Inbox {
            status: 200,
            ..Inbox::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = inbox.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let inbox = shared.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let (status, delay) = {
                    let mut inbox = inbox.lock().unwrap();
                    inbox.hits.push(Hit {
                        method: parts.method.to_string(),
                        path: parts.uri.path().to_owned(),
                        query: parts.uri.query().unwrap_or("").to_owned(),
                        headers: parts.headers.clone(),
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                    });
                    (inbox.status, inbox.delay_ms)
                };
                if delay > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inbox }
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: u16) {
        self.inbox.lock().unwrap().status = status;
    }

    /// Waits `ms` before answering from now on.
    pub fn delay(&self, ms: u64) {
        self.inbox.lock().unwrap().delay_ms = ms;
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.inbox.lock().unwrap().hits.clone()
    }

    /// Waits up to 5 s until at least `n` requests arrived, then returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..100 {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let hits = self.hits();
        panic!("expected {n} requests, got {}: {hits:#?}", hits.len());
    }
}

impl Sandbox {
    /// POSTs JSON to a `/__sandbox/*` control endpoint: status and JSON body.
    pub async fn control(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.client.post(format!("{}{path}", self.app)).json(&body)).await
    }

    /// Moves the sandbox clock to system time plus `seconds`.
    pub async fn shift_clock(&self, seconds: i64) {
        let (status, _) = self
            .control(
                "/__sandbox/clock",
                serde_json::json!({"offset_seconds": seconds}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    /// A bearer token for `user` (like that user's long-lived token).
    pub fn token_for(&self, user: u64) -> String {
        self.running.state().issue_token(user)
    }
}
