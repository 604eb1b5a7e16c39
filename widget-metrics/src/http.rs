//! Same-origin GETs to amoCRM's `/api/v4` with the user's session, paced by one limiter for the page.
//!
//! Every request waits for a slot of a 7-per-second sliding window (amoCRM's documented limit),
//! a 429 is retried after the core's backoff and a 204 is an empty answer. Bodies come back as
//! bytes, which the page decodes in wasm.

use std::cell::Cell;

use gloo_timers::future::TimeoutFuture;
use leakguard_core::ratelimit::backoff_ms;
use leakguard_widget_shared::PageLimiter;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCredentials, RequestInit, Response};

/// How often a 429 is retried before the page reports that amoCRM asks to slow down.
const RATE_LIMIT_RETRIES: u32 = 3;

/// A 429 asking for a longer pause than this is reported at once.
const LONGEST_AUTOMATIC_WAIT_MS: u64 = 10_000;

thread_local! {
    /// After a 429 every request of the page waits until then (page time in milliseconds), so
    /// the requests already queued do not pile up more violations (amoCRM bans repeat offenders).
    static PAUSED_UNTIL: Cell<u64> = const { Cell::new(0) };
}

fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now()) as u64
}

/// Why a request did not give a usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// No response at all: offline, a dropped connection, or the request was aborted.
    Network,
    /// amoCRM answered with an error status (a 429 only after the automatic retries).
    Status(u16),
    /// The body was not the JSON the endpoint documents.
    Malformed,
}

/// One GET with the session: the body's bytes, or `None` for 204 No Content.
///
/// Bytes, not text: copying UTF-8 into wasm is cheaper than re-encoding a JavaScript string.
pub async fn get_bytes(url: &str, signal: &AbortSignal) -> Result<Option<Vec<u8>>, HttpError> {
    let mut attempt = 0;
    loop {
        wait_for_slot().await;
        // A load that was cancelled while it waited for its turn sends nothing.
        if signal.aborted() {
            return Err(HttpError::Network);
        }
        let response = send(url, signal).await?;
        let status = response.status();
        if status == 429 && attempt < RATE_LIMIT_RETRIES {
            let wait = backoff_ms(attempt, retry_after(&response));
            if wait <= LONGEST_AUTOMATIC_WAIT_MS {
                attempt += 1;
                let until = now_ms() + wait;
                PAUSED_UNTIL.with(|paused| paused.set(paused.get().max(until)));
                drain(&response).await;
                continue;
            }
        }
        return match status {
            204 => Ok(None),
            200..=299 => {
                let body = response.array_buffer().map_err(|_| HttpError::Network)?;
                let body = JsFuture::from(body).await.map_err(|_| HttpError::Network)?;
                Ok(Some(js_sys::Uint8Array::new(&body).to_vec()))
            }
            _ => {
                // Read the error body to its end, so the connection finishes cleanly.
                drain(&response).await;
                Err(HttpError::Status(status))
            }
        };
    }
}

async fn drain(response: &Response) {
    if let Ok(text) = response.text() {
        let _ = JsFuture::from(text).await;
    }
}

async fn send(url: &str, signal: &AbortSignal) -> Result<Response, HttpError> {
    let network = |_: JsValue| HttpError::Network;
    let headers = Headers::new().map_err(network)?;
    headers
        .set("X-Requested-With", "XMLHttpRequest")
        .map_err(network)?;
    headers.set("Accept", "application/json").map_err(network)?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let window = web_sys::window().ok_or(HttpError::Network)?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(network)?;
    response.dyn_into().map_err(network)
}

/// How long a 429 asks to wait, in seconds, from its `Retry-After` header.
fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse().ok())
}

/// Waits until the page's limiter grants a request slot and no 429 pause is running.
async fn wait_for_slot() {
    loop {
        let now = now_ms();
        let paused = PAUSED_UNTIL.with(Cell::get);
        if now < paused {
            TimeoutFuture::new((paused - now).min(u64::from(u32::MAX)) as u32).await;
            continue;
        }
        // The window is shared with every LeakGuard module on the page.
        match PageLimiter::page().try_acquire() {
            Ok(()) => return,
            Err(wait_ms) => TimeoutFuture::new(wait_ms.clamp(1, u64::from(u32::MAX)) as u32).await,
        }
    }
}
