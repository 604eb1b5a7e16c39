//! Starting and stopping the sandbox: two loopback listeners, graceful shutdown and connection drops for fault injection.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::config::Config;
use crate::state::{SandboxState, Urls};
use crate::widgets::{load_archive, WidgetArchive};

/// A response extension telling the connection loop to close the connection without answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// A running sandbox. Dropping it stops the listeners; `shutdown` also waits for open requests to finish.
#[derive(Debug)]
pub struct Running {
    state: Arc<SandboxState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The account origin, e.g. `http://127.0.0.1:8300`.
    pub fn app_url(&self) -> &str {
        self.state.app_url()
    }

    /// The CDN origin, e.g. `http://127.0.0.1:8301`.
    pub fn cdn_url(&self) -> &str {
        self.state.cdn_url()
    }

    /// The admin's bearer token.
    pub fn token(&self) -> &str {
        self.state.admin_token()
    }

    /// The shared state (for Rust tests).
    pub fn state(&self) -> &Arc<SandboxState> {
        &self.state
    }

    /// Stops accepting connections and waits (up to 5 s) for open requests to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Reads the configured widget archives; a missing optional archive is a warning, anything else an error.
fn load_widgets(config: &Config) -> anyhow::Result<Vec<WidgetArchive>> {
    let mut archives = Vec::new();
    for source in &config.widgets {
        if source.optional && !source.path.exists() {
            eprintln!(
                "warning: widget archive {} not found; {} is not served (build it first)",
                source.path.display(),
                source.code
            );
            continue;
        }
        archives.push(load_archive(&source.code, &source.path)?);
    }
    Ok(archives)
}

/// Starts both origins on 127.0.0.1 and returns once they accept connections.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let archives = load_widgets(&config)?;
    let app_listener = TcpListener::bind(("127.0.0.1", config.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", config.port))?;
    let cdn_listener = TcpListener::bind(("127.0.0.1", config.cdn_port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", config.cdn_port))?;
    let state = Arc::new(SandboxState::new(config, archives));
    state.set_urls(Urls {
        app: format!("http://{}", app_listener.local_addr()?),
        cdn: format!("http://{}", cdn_listener.local_addr()?),
    });
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(serve(
            app_listener,
            crate::routes::app(state.clone()),
            stopped.clone(),
        )),
        tokio::spawn(serve(
            cdn_listener,
            crate::cdn::router(state.clone()),
            stopped.clone(),
        )),
        crate::webhooks::Emitter::start(state.clone(), stopped),
    ];
    Ok(Running { state, stop, tasks })
}

/// Accepts connections until told to stop, then drains them.
async fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let router = router.clone();
                    async move {
                        let response = router.oneshot(request.map(axum::body::Body::new)).await.unwrap_or_else(|e: Infallible| match e {});
                        if response.extensions().get::<DropConnection>().is_some() {
                            return Err(Dropped);
                        }
                        Ok(response)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}
