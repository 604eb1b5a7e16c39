//! The account origin's router and the gate every API and ajax call passes: log, faults, auth, rate limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use crate::auth::{identify, ClientKind};
use crate::clock::system_now_ms;
use crate::faults::FaultKind;
use crate::problem::ApiError;
use crate::requestlog::LogEntry;
use crate::server::DropConnection;
use crate::state::SandboxState;

/// Shared state handle of every handler.
pub type AppState = Arc<SandboxState>;

/// Largest request body read (bigger bodies are cut, which makes them invalid JSON).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The whole account origin.
pub fn app(state: AppState) -> Router {
    let gated = Router::new()
        .nest("/api/v4", crate::api::router())
        .nest("/ajax", crate::ajax::router())
        .layer(middleware::from_fn_with_state(state.clone(), gate));
    Router::new()
        .merge(gated)
        .route(
            crate::oauth::TOKEN_PATH,
            axum::routing::post(crate::oauth::access_token),
        )
        .merge(crate::pages::router(&state))
        .merge(crate::control::router())
        .layer(middleware::map_response_with_state(
            state.clone(),
            request_id,
        ))
        .with_state(state)
}

/// Adds `X-Request-Id` to every answer (amocrm-api-v4.md §1.1).
async fn request_id(State(state): State<AppState>, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&state.uuid()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Logs the call, then applies faults, authentication, the rate limit and the payment switch.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let ts_ms = system_now_ms();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let caller = identify(&state, &parts.headers);
    let client = caller
        .as_ref()
        .map(|c| c.client.as_str())
        .unwrap_or("anonymous")
        .to_owned();
    let logged_body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };

    let mut after: Option<(FaultKind, u16)> = None;
    let response = 'decide: {
        if let Some(fault) = state.faults.take(method.as_str(), &path) {
            match fault.kind {
                FaultKind::Status => {
                    let status = StatusCode::from_u16(fault.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    break 'decide ApiError::new(status, "Injected fault").into_response();
                }
                FaultKind::RateLimit => {
                    break 'decide ApiError::too_many_requests(
                        1,
                        state.limiter.config().retry_after_header,
                    )
                    .into_response();
                }
                FaultKind::Drop => {
                    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    response.extensions_mut().insert(DropConnection);
                    break 'decide response;
                }
                FaultKind::Latency => tokio::time::sleep(Duration::from_millis(fault.ms)).await,
                FaultKind::LostAnswer | FaultKind::StatusAfter => {
                    after = Some((fault.kind, fault.status));
                }
            }
        }
        let Some(caller) = caller else {
            break 'decide ApiError::unauthorized().into_response();
        };
        if caller.client != ClientKind::Host {
            match state.limiter.check(&caller.key) {
                crate::ratelimit::Verdict::Allow => {}
                crate::ratelimit::Verdict::Limited { retry_after } => {
                    break 'decide ApiError::too_many_requests(
                        retry_after,
                        state.limiter.config().retry_after_header,
                    )
                    .into_response();
                }
                crate::ratelimit::Verdict::Banned => break 'decide banned(&state),
            }
        }
        if path.starts_with("/api/v4") && state.options().payment_required {
            break 'decide ApiError::payment_required().into_response();
        }
        let mut request = Request::from_parts(parts, Body::from(bytes));
        request.extensions_mut().insert(caller);
        let served = next.run(request).await;
        match after {
            Some((FaultKind::LostAnswer, _)) => {
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(DropConnection);
                response
            }
            Some((_, status)) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                ApiError::new(status, "Injected fault after the request was served").into_response()
            }
            None => served,
        }
    };

    let status = response.status().as_u16();
    if state.config.log_requests {
        let shown = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        eprintln!(
            "{method} {shown} -> {status} [{client}] {} ms",
            started.elapsed().as_millis()
        );
    }
    state.log.push(LogEntry {
        seq: 0,
        ts_ms,
        method: method.to_string(),
        path,
        query,
        status,
        client,
        body: logged_body,
    });
    response
}

/// The answer during a ban: problem+json 403, or nginx's HTML page when configured.
fn banned(state: &SandboxState) -> Response {
    if state.limiter.config().ban_html {
        let html = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        let mut response = (StatusCode::FORBIDDEN, html).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return response;
    }
    ApiError::forbidden("Your IP address is blocked for exceeding the request limit")
        .into_response()
}

/// 404 problem+json in K-http's wording for an unknown API path.
pub async fn api_not_found(
    State(state): State<AppState>,
    method: Method,
    uri: axum::extract::OriginalUri,
) -> Response {
    ApiError::not_found(format!(
        "Cannot {method} {}{}",
        state.app_url(),
        uri.0.path()
    ))
    .into_response()
}

/// 405 problem+json for a known API path with the wrong method.
pub async fn api_method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response()
}
