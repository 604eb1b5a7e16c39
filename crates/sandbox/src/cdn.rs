//! The CDN origin: uploaded widget files at `/widgets/{code}/{version}/{path}` with MIME types and open CORS.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::routes::AppState;

/// The CDN router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/widgets/{code}/{version}/{*path}", get(file))
        .fallback(not_found)
        .with_state(state)
}

/// The MIME type for a file name, by extension.
pub fn mime_for(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "twig" | "txt" | "md" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn with_cors(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn file(
    State(state): State<AppState>,
    Path((code, version, path)): Path<(String, String, String)>,
) -> Response {
    let found = state
        .widgets()
        .iter()
        .find(|w| w.archive.code == code && w.archive.version == version)
        .and_then(|w| w.archive.files.get(&path).cloned());
    match found {
        Some(bytes) => with_cors(
            (
                [
                    (header::CONTENT_TYPE, mime_for(&path)),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                bytes,
            )
                .into_response(),
        ),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    with_cors((StatusCode::NOT_FOUND, "Not Found").into_response())
}
