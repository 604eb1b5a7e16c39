//! The fake amoCRM pages: the SPA shell with its session cookie, `/frontend/` static files, login and the favicon.

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_http::services::ServeDir;

use crate::auth::{cookie, SESSION_COOKIE};
use crate::routes::AppState;

/// Page sections that answer the SPA shell.
const SECTIONS: [&str; 5] = ["leads", "contacts", "todo", "settings", "dashboard"];

/// Shell routes, login, favicon and `/frontend/`.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(shell))
        .route("/favicon.ico", get(favicon))
        .route("/__sandbox/login", get(login))
        .nest_service("/frontend", ServeDir::new(state.config.host_dir.clone()));
    for section in SECTIONS {
        router = router
            .route(&format!("/{section}"), get(shell))
            .route(&format!("/{section}/"), get(shell))
            .route(&format!("/{section}/{{*rest}}"), get(shell));
    }
    router
}

/// The `Set-Cookie` value for a session.
fn session_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/"
    ))
    .expect("cookie is ASCII")
}

/// `host/index.html`, opening an admin session when the browser has none.
async fn shell(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let index: PathBuf = state.config.host_dir.join("index.html");
    let mut response = match tokio::fs::read(&index).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "The sandbox frontend is missing: cannot read {} ({err}). Pass --host-dir.",
                index.display()
            ),
        )
            .into_response(),
    };
    let valid = cookie(&headers, SESSION_COOKIE).is_some_and(|id| state.session(&id).is_some());
    if !valid {
        let admin = state.store().showcase.admin_user_id;
        let id = state.open_session(admin, "ru");
        response
            .headers_mut()
            .append(header::SET_COOKIE, session_cookie(&id));
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct LoginParams {
    user: u64,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /__sandbox/login?user=&lang=&next=`: a session for that user and language, then 302 to `next`.
async fn login(State(state): State<AppState>, Query(params): Query<LoginParams>) -> Response {
    if state.store().user(params.user).is_none() {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown user {}", params.user),
        )
            .into_response();
    }
    let lang = params.lang.unwrap_or_else(|| "ru".into());
    if !["ru", "en", "es", "pt"].contains(&lang.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            format!("unsupported language {lang:?}"),
        )
            .into_response();
    }
    let next = params
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let id = state.open_session(params.user, &lang);
    let mut response = Redirect::to(&next).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&id));
    response
}

/// A 16×16 icon: the LeakGuard shield drawn into a 32-bit BMP inside an ICO container.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        favicon_bytes(),
    )
        .into_response()
}

fn favicon_bytes() -> Vec<u8> {
    const SIZE: u32 = 16;
    let pixels = (SIZE * SIZE * 4) as usize;
    let mask = (SIZE * 4) as usize;
    let image_len = 40 + pixels + mask;
    let mut ico = Vec::with_capacity(6 + 16 + image_len);
    ico.extend_from_slice(&[0, 0, 1, 0, 1, 0]);
    ico.extend_from_slice(&[SIZE as u8, SIZE as u8, 0, 0, 1, 0, 32, 0]);
    ico.extend_from_slice(&(image_len as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    ico.extend_from_slice(&40u32.to_le_bytes());
    ico.extend_from_slice(&(SIZE as i32).to_le_bytes());
    ico.extend_from_slice(&(2 * SIZE as i32).to_le_bytes());
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    ico.extend_from_slice(&[0; 24]);
    for row in 0..SIZE {
        let y = SIZE - 1 - row;
        for x in 0..SIZE {
            let dx = (x as i32 * 2 - 15).abs();
            let inside = y < 9 && dx <= 13 || y >= 9 && dx <= 13 - 2 * (y as i32 - 8);
            let stripe = inside && (6..=9).contains(&x);
            let bgra = match (inside, stripe) {
                (false, _) => [0, 0, 0, 0],
                (true, true) => [255, 255, 255, 255],
                (true, false) => [0x9d, 0x59, 0x10, 255],
            };
            ico.extend_from_slice(&bgra);
        }
    }
    ico.extend(std::iter::repeat_n(0u8, mask));
    ico
}
