//! Same-origin GETs to amoCRM's `/api/v4` with the user's session, paced by one limiter for the page.
//!
//! Every request waits for a slot of a 7-per-second sliding window (amoCRM's documented limit),
//! a 429 is retried after the core's backoff and a 204 is an empty answer. Bodies come back as
//! bytes, which the page decodes in wasm.

use std::cell::Cell;

use gloo_timers::future::TimeoutFuture;
use leakguard_widget_shared::{drain, retry_after_header, send_paced, Pacing, PageLimiter, Slot};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Response};

pub use leakguard_widget_shared::HttpError;

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

/// The page's pacing: a 429 is retried three times, its `Retry-After` pausing every request of the
/// page, before the page reports that amoCRM asks to slow down.
struct Report;

impl Pacing for Report {
    fn rate_limit_retries(&self) -> u32 {
        3
    }

    /// Waits until the page's limiter grants a request slot and no 429 pause is running.
    async fn wait_for_slot(&self) -> Slot {
        loop {
            let now = now_ms();
            let paused = PAUSED_UNTIL.with(Cell::get);
            if now < paused {
                TimeoutFuture::new((paused - now).min(u64::from(u32::MAX)) as u32).await;
                continue;
            }
            // The window is shared with every LeakGuard module on the page.
            match PageLimiter::page().try_acquire() {
                Ok(slot) => return slot,
                Err(wait_ms) => {
                    TimeoutFuture::new(wait_ms.clamp(1, u64::from(u32::MAX)) as u32).await
                }
            }
        }
    }

    async fn retry_after(&self, response: &Response) -> Option<u64> {
        retry_after_header(response)
    }

    /// Pauses every request of the page until the wait is over, and lets the next slot wait for it.
    async fn pause(&self, response: &Response, wait_ms: u64) {
        let until = now_ms() + wait_ms;
        PAUSED_UNTIL.with(|paused| paused.set(paused.get().max(until)));
        drain(response).await;
    }
}

/// One GET with the session: the body's bytes, or `None` for 204 No Content.
///
/// Bytes, not text: copying UTF-8 into wasm is cheaper than re-encoding a JavaScript string.
pub async fn get_bytes(url: &str, signal: &AbortSignal) -> Result<Option<Vec<u8>>, HttpError> {
    let response = send_paced(&Report, "GET", url, None, signal).await?;
    match response.status() {
        204 => Ok(None),
        200..=299 => {
            let body = response.array_buffer().map_err(|_| HttpError::Network)?;
            let body = JsFuture::from(body).await.map_err(|_| HttpError::Network)?;
            Ok(Some(js_sys::Uint8Array::new(&body).to_vec()))
        }
        status => {
            // Read the error body to its end, so the connection finishes cleanly.
            drain(&response).await;
            Err(HttpError::Status(status))
        }
    }
}
