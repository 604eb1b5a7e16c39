//! LeakGuard's backend service: the OAuth install flow, the widget API, amoCRM webhooks and a
//! durable, rate-limited job engine, over SQLite (default) or PostgreSQL.
//!
//! * [`start`] runs the HTTP server and the job engine and returns a [`Running`] handle.
//! * [`config`]: configuration; [`db`]: the pool and migrations; [`accounts`]: installation state.
//! * [`oauth`], [`tokens`], [`crypto`]: install, refresh with both rotation policies, tokens at rest.
//! * [`auth`]: the widget's `X-Auth-Token`; [`app`]: routes; [`webhook`]: the webhook endpoint and parser.
//! * [`jobs`]: queue, workers, handlers and idempotent effects; [`amo`]: the amoCRM client;
//!   [`ratelimit`]: the per-account window shared by all workers; [`metrics`]: Prometheus text.
//! * [`copy`] and [`sync`]: the synced copy of each account and the scans that keep it current;
//!   [`webhook_subscription`]: the account's webhook in amoCRM.
//! * [`automation`]: the issue-9 rules carried out; [`audit`]: what they did; [`account_settings`]:
//!   the shared settings per account; [`widget_api`]: the quality-control queue, settings and
//!   metrics the widget reads; [`clock`]: the business clock; [`leases`]: named leases.

pub mod account_settings;
pub mod accounts;
pub mod amo;
pub mod app;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod clock;
pub mod config;
pub mod copy;
pub mod crypto;
pub mod db;
pub mod jobs;
pub mod leases;
pub mod metrics;
pub mod oauth;
pub mod payments;
pub mod ratelimit;
pub mod sync;
pub mod tokens;
pub mod webhook;
pub mod webhook_subscription;
pub mod widget_api;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::amo::AmoClient;
use crate::app::AppState;
use crate::auth::JwtVerifier;
use crate::clock::{Clock, ClockSource};
pub use crate::config::Config;
use crate::crypto::TokenCipher;
use crate::db::Db;
use crate::jobs::engine::{self, EngineConfig};
use crate::jobs::handlers::JobContext;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::tokens::{OAuthClient, TokenManager};

/// A started server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    state: AppState,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: JoinSet<()>,
    jobs: JobContext,
}

impl Running {
    /// The server's base URL, e.g. `http://127.0.0.1:8400`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The database pool (tests and tools inspect the queue through it).
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The business clock (tests move it).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// What the job handlers use (tests run scans and automation passes through it directly).
    pub fn job_context(&self) -> &JobContext {
        &self.jobs
    }

    /// Stops accepting requests, lets in-flight requests and running jobs finish, then returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.engine.join_next().await.is_some() {}
        let _ = self.server.await;
        self.state.db.pool.close().await;
    }

    /// Stops everything at once, as a crash would: running jobs keep their leases until they expire.
    pub async fn kill(mut self) {
        self.engine.abort_all();
        while self.engine.join_next().await.is_some() {}
        self.server.abort();
        let _ = self.server.await;
        self.state.db.pool.close().await;
    }
}

/// Connects the database, applies migrations, records configured long-lived tokens, binds the
/// listener and starts the job engine.
pub async fn start(config: Config) -> Result<Running> {
    let clock_source = config.clock_source()?;
    let db = Db::connect(&config).await?;
    let (cipher, generated) =
        TokenCipher::load_or_generate(config.token_key.as_deref(), &config.data_dir)?;
    if generated {
        tracing::warn!(
            path = %config.data_dir.join(crypto::KEY_FILE).display(),
            "no token key configured: generated one; keep this file (or set LEAKGUARD_TOKEN_KEY), tokens stored with it are unreadable without it"
        );
    }
    for llt in &config.long_lived_tokens {
        accounts::install_long_lived(&db, &cipher, llt.account_id, &llt.base_url, &llt.token)
            .await
            .with_context(|| {
                format!(
                    "recording the long-lived token of account {}",
                    llt.account_id
                )
            })?;
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("leakguard-server/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let redirect_uri = config.redirect_uri();
    let oauth = OAuthClient::new(
        http.clone(),
        config.client_id.clone(),
        config.client_secret.clone(),
        redirect_uri.clone(),
    );
    let tokens = TokenManager::new(
        db.clone(),
        cipher.clone(),
        oauth,
        config.refresh_margin_seconds,
    );
    let metrics = Metrics::default();
    let limiter = RateLimiter::new(db.clone(), config.rate_limit_per_second);
    // A request must end well within the lease that guards its effect (see `jobs::effects`).
    let request_timeout = Duration::from_secs(30)
        .min(Duration::from_millis(config.lease_seconds * 500).max(Duration::from_millis(500)));
    let amo = AmoClient::new(
        http.clone(),
        db.clone(),
        tokens.clone(),
        limiter,
        metrics.clone(),
        request_timeout,
    );
    let wake = Arc::new(Notify::new());
    let clock = match &clock_source {
        ClockSource::Mode(mode) => Clock::new(*mode),
        ClockSource::Sandbox(origin) => {
            let clock = Clock::default();
            clock
                .sync_from_sandbox(&http, origin)
                .await
                .with_context(|| format!("following the sandbox clock at {origin}"))?;
            clock
        }
    };
    let state = AppState {
        clock: clock.clone(),
        db: db.clone(),
        cipher,
        tokens,
        amo: amo.clone(),
        metrics: metrics.clone(),
        jwt: Arc::new(JwtVerifier::new(
            &config.client_secret,
            &config.client_id,
            &redirect_uri,
        )),
        config: Arc::new(config.clone()),
        http,
        wake: wake.clone(),
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut server_shutdown = shutdown_rx.clone();
    let router = app::router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = server_shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });

    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let mut webhook_destination = format!("{}/webhooks/amocrm", public_url.trim_end_matches('/'));
    if let Some(token) = &config.webhook_token {
        webhook_destination.push_str(&format!("?token={token}"));
    }
    let ctx = JobContext {
        db,
        amo,
        clock: clock.clone(),
        effect_lease_ms: config.lease_seconds as i64 * 1000,
        widget_code: config.widget_code.clone(),
        webhook_destination,
        lost_settle_seconds: config.lost_settle_seconds as i64,
        delta_debounce_ms: config.delta_debounce_ms as i64,
        wake: wake.clone(),
        metrics: metrics.clone(),
    };
    let follow = match clock_source {
        ClockSource::Sandbox(origin) => Some(tokio::spawn(clock.clone().follow_sandbox(
            state.http.clone(),
            origin,
            shutdown_rx.clone(),
        ))),
        ClockSource::Mode(_) => None,
    };
    let mut engine = engine::start(
        ctx.clone(),
        metrics,
        EngineConfig {
            workers: config.workers,
            lease_ms: config.lease_seconds as i64 * 1000,
            poll_ms: config.poll_interval_ms,
            sync_interval_ms: config.sync_interval_seconds as i64 * 1000,
            full_scan_interval_ms: config.full_scan_interval_seconds as i64 * 1000,
            automation_interval_ms: config.automation_interval_seconds as i64 * 1000,
        },
        wake,
        shutdown_rx,
    );
    if let Some(follow) = follow {
        engine.spawn(async move {
            let _ = follow.await;
        });
    }
    Ok(Running {
        addr,
        state,
        shutdown,
        server,
        engine,
        jobs: ctx,
    })
}
