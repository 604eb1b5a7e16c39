//! The request every module sends to amoCRM's `/api/v4` with the user's session, its pacing and
//! 429 retries, the abort handle of one load, the reading of the answer and the address of a
//! collection's next page.

use std::future::Future;

use amo_api::Problem;
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use leakguard_core::ratelimit::backoff_ms;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestCredentials, RequestInit, Response};

use crate::{PageLimiter, Slot};

/// How long one load (all its requests and retries) may take before it fails as a network error.
pub const LOAD_TIME_LIMIT_MS: u32 = 30_000;

/// Why a request did not give a usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// No response at all: offline, DNS, a dropped connection, the time limit, or the request was aborted.
    Network,
    /// amoCRM answered with an error status (a 429 only after the automatic retries).
    Status(u16),
    /// The body was not the JSON the endpoint documents.
    Malformed,
}

impl HttpError {
    /// Whether amoCRM may have done what was asked although the answer says otherwise (a 5xx, no
    /// answer, an unreadable answer, or a 429 on a create: a browser silently resends a POST whose
    /// connection closed before the answer, and the resent copy may be the one refused): the next
    /// attempt looks before it writes again.
    pub fn is_ambiguous(self) -> bool {
        match self {
            HttpError::Network | HttpError::Malformed => true,
            HttpError::Status(status) => status >= 500 || status == 429,
        }
    }
}

/// The requests of one load: dropping the handle aborts them, and so does the time limit.
#[derive(Debug)]
pub struct InFlight {
    controller: AbortController,
    _deadline: Timeout,
}

impl InFlight {
    /// A handle for a new load, which [`LOAD_TIME_LIMIT_MS`] aborts unless it is dropped first.
    pub fn new() -> Result<Self, HttpError> {
        let controller = AbortController::new().map_err(|_| HttpError::Network)?;
        let on_time_limit = controller.clone();
        let deadline = Timeout::new(LOAD_TIME_LIMIT_MS, move || on_time_limit.abort());
        Ok(Self {
            controller,
            _deadline: deadline,
        })
    }

    /// The signal to pass to the requests of this load.
    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

/// What a module decides about its requests: how often and how long a 429 is retried, how the
/// wait is read from the 429 and spent, and how a request waits for its turn.
pub trait Pacing {
    /// How often a 429 is retried before it is answered.
    fn rate_limit_retries(&self) -> u32;

    /// A 429 asking for a longer pause than this is answered at once; the user can retry later.
    fn longest_automatic_wait_ms(&self) -> u64 {
        10_000
    }

    /// Waits until the page-wide limiter, which every LeakGuard module on the page shares, grants a slot.
    fn wait_for_slot(&self) -> impl Future<Output = Slot> {
        async { PageLimiter::page().acquire().await }
    }

    /// How long a 429 asks to wait, in seconds: by default the `Retry-After` header, else the
    /// problem body's `retry_after`.
    fn retry_after(&self, response: &Response) -> impl Future<Output = Option<u64>> {
        retry_after_or_problem(response)
    }

    /// Spends the wait of `wait_ms` after the 429 `response` before the retry.
    fn pause(&self, _response: &Response, wait_ms: u64) -> impl Future<Output = ()> {
        TimeoutFuture::new(wait_ms as u32)
    }
}

/// Sends one request when `pacing` grants a slot, retries a 429 as it says, and answers the last
/// response whatever its status.
pub async fn send_paced(
    pacing: &impl Pacing,
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Response, HttpError> {
    let mut attempt = 0;
    loop {
        let slot = pacing.wait_for_slot().await;
        // A load that was cancelled while it waited for its turn sends nothing.
        if signal.aborted() {
            return Err(HttpError::Network);
        }
        let sent = send(method, url, body, signal).await;
        // The answer is here (or the request failed): the slot counts one window from now.
        drop(slot);
        let response = sent.map_err(|_| HttpError::Network)?;
        if response.status() == 429 && attempt < pacing.rate_limit_retries() {
            let wait = backoff_ms(attempt, pacing.retry_after(&response).await);
            if wait <= pacing.longest_automatic_wait_ms() {
                attempt += 1;
                pacing.pause(&response, wait).await;
                continue;
            }
        }
        return Ok(response);
    }
}

/// Sends one request as amoCRM's own pages do (`X-Requested-With`, the session cookie, JSON) and
/// answers the response whatever its status; an error is no response at all (offline, aborted).
///
/// It takes no slot of the page's limiter: the caller waits for one first.
pub async fn send(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    headers.set("X-Requested-With", "XMLHttpRequest")?;
    headers.set("Accept", "application/json")?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let window = web_sys::window().ok_or(JsValue::UNDEFINED)?;
    JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await?
        .dyn_into()
}

/// The seconds a `Retry-After` header asks to wait, if it holds a whole number.
pub fn retry_after_header(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|value| value.trim().parse().ok())
}

/// How long a 429 asks to wait, in seconds: the `Retry-After` header, else the problem body's
/// `retry_after` (which reads the body).
pub async fn retry_after_or_problem(response: &Response) -> Option<u64> {
    if let Some(seconds) = retry_after_header(response) {
        return Some(seconds);
    }
    let body = JsFuture::from(response.json().ok()?).await.ok()?;
    serde_wasm_bindgen::from_value::<Problem>(body)
        .ok()?
        .retry_after
}

/// The JSON answer of a response: `None` for 204 No Content, the value for another 2xx, and the
/// status as the error otherwise.
pub async fn json_answer(response: Response) -> Result<Option<JsValue>, HttpError> {
    match response.status() {
        204 => Ok(None),
        200..=299 => {
            let json = response.json().map_err(|_| HttpError::Malformed)?;
            JsFuture::from(json)
                .await
                .map(Some)
                .map_err(|_| HttpError::Malformed)
        }
        status => {
            // Read the error body to its end, so the connection finishes cleanly instead of
            // being cut when the load's controller is dropped.
            drain(&response).await;
            Err(HttpError::Status(status))
        }
    }
}

/// The path and query of a `_links.next` URL, so the next page goes to this origin with this session.
pub fn same_origin(href: &str) -> Result<String, HttpError> {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .ok_or(HttpError::Network)?;
    let url = web_sys::Url::new_with_base(href, &base).map_err(|_| HttpError::Malformed)?;
    Ok(url.pathname() + &url.search())
}

/// Reads a response's body to its end and forgets it.
pub async fn drain(response: &Response) {
    if let Ok(text) = response.text() {
        let _ = JsFuture::from(text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::HttpError;

    #[test]
    fn failures_that_may_have_written_are_looked_up_before_a_resend() {
        for error in [
            HttpError::Network,
            HttpError::Malformed,
            HttpError::Status(500),
            HttpError::Status(504),
            HttpError::Status(429),
        ] {
            assert!(error.is_ambiguous(), "{error:?}");
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(!HttpError::Status(status).is_ambiguous(), "{status}");
        }
    }
}
