//! The `leakguard-server` binary: reads the configuration, starts the service, prints its URL and
//! shuts down gracefully on Ctrl+C or SIGTERM.

use anyhow::Result;
use leakguard_server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    let filter = EnvFilter::try_from_env("LEAKGUARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("LEAKGUARD_LOG_FORMAT").is_ok_and(|format| format == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }

    let config = Config::load()?;
    let running = leakguard_server::start(config).await?;
    tracing::info!(url = %running.url(), "leakguard-server listening");
    println!("leakguard-server listening on {}", running.url());

    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and running jobs");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
