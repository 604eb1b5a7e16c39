//! Command-line entry point: `leakguard-sandbox [--port N] [--cdn-port N] [--widget CODE=PATH.zip]...
//! [--integration CODE=REDIRECT_URI]... [--revoke-hook CODE=URL]... [--refresh-rotation single_use|grace]
//! [--fixture demo|empty] [--deals N] [--seed N] [--no-payments] [--host-dir DIR]`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use leakguard_sandbox::{Config, Fixture, Rotation, WidgetSource};
use serde_json::json;

/// A local amoCRM for LeakGuard: fake pages, API v4 and a widget CDN on two loopback origins.
#[derive(Debug, Parser)]
#[command(name = "leakguard-sandbox", version)]
struct Cli {
    /// Port of the account origin (0 = any free port).
    #[arg(long, default_value_t = 8300)]
    port: u16,
    /// Port of the CDN origin (0 = any free port).
    #[arg(long, default_value_t = 8301)]
    cdn_port: u16,
    /// A widget archive to serve, as CODE=PATH.zip (repeatable). Default: leakguard=dist/widget.zip when it exists.
    #[arg(long = "widget", value_name = "CODE=PATH.zip", value_parser = parse_widget)]
    widgets: Vec<WidgetSource>,
    /// The Redirect URI of a widget's integration, as CODE=URL (repeatable); such a widget starts not installed.
    #[arg(long = "integration", value_name = "CODE=REDIRECT_URI", value_parser = parse_pair)]
    integrations: Vec<(String, String)>,
    /// The revoke hook URL of a widget's integration, as CODE=URL (repeatable).
    #[arg(long = "revoke-hook", value_name = "CODE=URL", value_parser = parse_pair)]
    revoke_hooks: Vec<(String, String)>,
    /// What happens to a used refresh token: single_use (amoCRM) or grace (Kommo).
    #[arg(long, default_value = "single_use")]
    refresh_rotation: Rotation,
    /// Starting data: demo or empty.
    #[arg(long, default_value = "demo")]
    fixture: Fixture,
    /// Number of demo deals.
    #[arg(long, default_value_t = 3000)]
    deals: usize,
    /// Seed of every generated id, token and demo record.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Start the demo without LeakGuard's payments catalog (no records, no stored payments settings), as before an
    /// administrator's first save.
    #[arg(long)]
    no_payments: bool,
    /// Directory of the fake amoCRM frontend (default: the crate's host/ directory).
    #[arg(long)]
    host_dir: Option<PathBuf>,
}

fn parse_pair(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((code, value)) if !code.is_empty() && !value.is_empty() => {
            Ok((code.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected CODE=URL, got {raw:?}")),
    }
}

fn parse_widget(raw: &str) -> Result<WidgetSource, String> {
    let (code, path) = raw
        .split_once('=')
        .ok_or_else(|| format!("expected CODE=PATH.zip, got {raw:?}"))?;
    if code.is_empty() || path.is_empty() {
        return Err(format!("expected CODE=PATH.zip, got {raw:?}"));
    }
    Ok(WidgetSource::new(code, path))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let defaults = Config::default();
    let mut widgets = if cli.widgets.is_empty() {
        defaults.widgets.clone()
    } else {
        cli.widgets
    };
    for (code, uri) in &cli.integrations {
        let widget = widgets
            .iter_mut()
            .find(|w| &w.code == code)
            .with_context(|| format!("--integration {code}=…: no widget {code}"))?;
        widget.redirect_uri = Some(uri.clone());
    }
    for (code, uri) in &cli.revoke_hooks {
        let widget = widgets
            .iter_mut()
            .find(|w| &w.code == code)
            .with_context(|| format!("--revoke-hook {code}=…: no widget {code}"))?;
        widget.revoke_uri = Some(uri.clone());
    }
    let mut api = defaults.api.clone();
    api.refresh_rotation = cli.refresh_rotation;
    let config = Config {
        port: cli.port,
        cdn_port: cli.cdn_port,
        widgets,
        api,
        fixture: cli.fixture,
        deals: cli.deals,
        seed: cli.seed,
        payments: !cli.no_payments,
        host_dir: cli.host_dir.unwrap_or(defaults.host_dir.clone()),
        ..defaults
    };
    let running = leakguard_sandbox::start(config)
        .await
        .context("starting the sandbox")?;
    let (deal, account_id, widgets, integrations) = {
        let state = running.state();
        let deal = state.store().showcase.deal_with_task;
        let account_id = state.store().account.id;
        let widgets: Vec<String> = state
            .widgets()
            .iter()
            .map(|w| w.archive.code.clone())
            .collect();
        // What a vendor backend is configured with for each integration (its id and secret key),
        // so a local backend can verify the widget's `X-Auth-Token`.
        let integrations: serde_json::Map<String, serde_json::Value> = state
            .widgets()
            .iter()
            .map(|w| {
                (
                    w.archive.code.clone(),
                    json!({"client_id": w.client_uuid, "secret": w.secret}),
                )
            })
            .collect();
        (deal, account_id, widgets, integrations)
    };
    let app = running.app_url().to_owned();
    let deal_url = match deal {
        Some(id) => format!("{app}/leads/detail/{id}"),
        None => format!("{app}/leads"),
    };
    let banner = json!({"app": app, "cdn": running.cdn_url(), "token": running.token(), "account_id": account_id, "deal_url": deal_url, "widgets": widgets, "integrations": integrations});
    println!("SANDBOX {banner}");
    println!("amoCRM sandbox is running.");
    println!("  Open a deal:      {deal_url}");
    println!("  Pipeline:         {app}/leads/pipeline");
    println!(
        "  API:              {app}/api/v4/leads (Authorization: Bearer {})",
        running.token()
    );
    println!("  Widget CDN:       {}", running.cdn_url());
    println!("  Showcase ids:     {app}/__sandbox/demo");
    println!("Press Ctrl+C to stop.");
    shutdown_signal().await;
    eprintln!("stopping…");
    running.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
