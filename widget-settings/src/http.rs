//! Same-origin requests of the settings form to amoCRM's `/api/v4` with the user's session, paced by
//! the page-wide 7-per-second sliding window every LeakGuard module shares (amoCRM's documented
//! limit); a 429 is retried after the core's backoff, a 204 is an empty list and `_links.next` is
//! followed page by page.

use serde::Serialize;

use amo_api::{Catalog, CustomField, LossReason, Page, Pipeline, Problem};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use leakguard_core::ratelimit::backoff_ms;
use leakguard_widget_shared::PageLimiter;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestCredentials, RequestInit, Response};

/// How often a 429 is retried before the form says amoCRM asks to slow down.
const RATE_LIMIT_RETRIES: u32 = 2;

/// A 429 asking for a longer pause than this is shown at once; the admin can retry later.
const LONGEST_AUTOMATIC_WAIT_MS: u64 = 10_000;

/// How long one load (all its pages and retries) may take before it fails as a network error.
const LOAD_TIME_LIMIT_MS: u32 = 30_000;

/// A guard against a server that keeps sending `_links.next`: 40 pages of 250 items.
const MAX_PAGES: usize = 40;

/// Why a request did not give a usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// No response at all: offline, DNS, a dropped connection, or the request was aborted.
    Network,
    /// amoCRM answered with an error status (a 429 only after the automatic retries).
    Status(u16),
    /// The body was not the JSON the endpoint documents.
    Malformed,
}

/// The requests of one load: dropping the handle aborts them, and so does the time limit.
#[derive(Debug)]
pub struct InFlight {
    controller: AbortController,
    _deadline: Timeout,
}

impl InFlight {
    /// A handle for a new load, which the time limit aborts unless it is dropped first.
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

/// The account's pipelines with their stages (asked only when the page does not have them).
pub async fn pipelines(signal: &AbortSignal) -> Result<Vec<Pipeline>, HttpError> {
    get_all("/api/v4/leads/pipelines".to_owned(), signal).await
}

/// The path of the account's loss reasons.
const LOSS_REASONS: &str = "/api/v4/leads/loss_reasons";

/// The account's loss reasons, every page of them.
pub async fn loss_reasons(signal: &AbortSignal) -> Result<Vec<LossReason>, HttpError> {
    get_all(LOSS_REASONS.to_owned(), signal).await
}

/// `{"name": name}` as JSON text.
fn name_body(name: &str) -> Result<js_sys::Object, HttpError> {
    let item = js_sys::Object::new();
    js_sys::Reflect::set(&item, &"name".into(), &name.into()).map_err(|_| HttpError::Malformed)?;
    Ok(item)
}

fn json_text(value: &JsValue) -> Result<String, HttpError> {
    js_sys::JSON::stringify(value)
        .map(String::from)
        .map_err(|_| HttpError::Malformed)
}

/// Adds a loss reason (`POST /api/v4/leads/loss_reasons` with an array body) and answers it.
pub async fn add_loss_reason(name: &str, signal: &AbortSignal) -> Result<LossReason, HttpError> {
    let body = json_text(&js_sys::Array::of1(&name_body(name)?.into()))?;
    let answer = request_json("POST", LOSS_REASONS, Some(&body), signal)
        .await?
        .ok_or(HttpError::Malformed)?;
    let page: Page<LossReason> =
        serde_wasm_bindgen::from_value(answer).map_err(|_| HttpError::Malformed)?;
    page.items.into_iter().next().ok_or(HttpError::Malformed)
}

/// Renames a loss reason (`PATCH /api/v4/leads/loss_reasons/{id}`).
pub async fn rename_loss_reason(
    id: u64,
    name: &str,
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let body = json_text(&name_body(name)?.into())?;
    request_json(
        "PATCH",
        &format!("{LOSS_REASONS}/{id}"),
        Some(&body),
        signal,
    )
    .await
    .map(drop)
}

/// The account's catalogs (lists), every page of them.
pub async fn catalogs(signal: &AbortSignal) -> Result<Vec<Catalog>, HttpError> {
    get_all("/api/v4/catalogs".to_owned(), signal).await
}

/// The fields of catalog `id` (`Status(404)` when the catalog is gone).
pub async fn catalog_fields(id: u64, signal: &AbortSignal) -> Result<Vec<CustomField>, HttpError> {
    get_all(format!("/api/v4/catalogs/{id}/custom_fields"), signal).await
}

/// POSTs `items` (a JSON array body, as amoCRM's batch endpoints take) and answers the created items.
pub async fn create<T, B>(
    path: &str,
    items: &[B],
    signal: &AbortSignal,
) -> Result<Vec<T>, HttpError>
where
    Page<T>: serde::de::DeserializeOwned,
    B: serde::Serialize,
{
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let body = items
        .serialize(&serializer)
        .map_err(|_| HttpError::Malformed)?;
    let answer = request_json("POST", path, Some(&json_text(&body)?), signal)
        .await?
        .ok_or(HttpError::Malformed)?;
    let page: Page<T> = serde_wasm_bindgen::from_value(answer).map_err(|_| HttpError::Malformed)?;
    Ok(page.items)
}

/// Follows a collection from its first page until a 204 or a page without `_links.next`.
async fn get_all<T>(first: String, signal: &AbortSignal) -> Result<Vec<T>, HttpError>
where
    Page<T>: serde::de::DeserializeOwned,
{
    let mut items = Vec::new();
    let mut url = Some(first);
    for _ in 0..MAX_PAGES {
        let Some(current) = url.take() else { break };
        let Some(body) = request_json("GET", &current, None, signal).await? else {
            break;
        };
        let page: Page<T> =
            serde_wasm_bindgen::from_value(body).map_err(|_| HttpError::Malformed)?;
        items.extend(page.items);
        url = page.next.as_deref().map(same_origin).transpose()?;
    }
    Ok(items)
}

/// The path and query of a `_links.next` URL, so the next page goes to this origin with this session.
fn same_origin(href: &str) -> Result<String, HttpError> {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .ok_or(HttpError::Network)?;
    let url = web_sys::Url::new_with_base(href, &base).map_err(|_| HttpError::Malformed)?;
    Ok(url.pathname() + &url.search())
}

/// One request with the session and a JSON answer; `None` for 204 No Content.
async fn request_json(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Option<JsValue>, HttpError> {
    let mut attempt = 0;
    loop {
        wait_for_slot().await;
        // A load that was cancelled while it waited for its turn sends nothing.
        if signal.aborted() {
            return Err(HttpError::Network);
        }
        let response = send(method, url, body, signal).await?;
        let status = response.status();
        if status == 429 && attempt < RATE_LIMIT_RETRIES {
            let wait = backoff_ms(attempt, retry_after(&response).await);
            if wait <= LONGEST_AUTOMATIC_WAIT_MS {
                attempt += 1;
                TimeoutFuture::new(wait as u32).await;
                continue;
            }
        }
        return match status {
            204 => Ok(None),
            200..=299 => {
                let json = response.json().map_err(|_| HttpError::Malformed)?;
                JsFuture::from(json)
                    .await
                    .map(Some)
                    .map_err(|_| HttpError::Malformed)
            }
            _ => {
                // Read the error body to its end, so the connection finishes cleanly instead of
                // being cut when the load's controller is dropped.
                if let Ok(text) = response.text() {
                    let _ = JsFuture::from(text).await;
                }
                Err(HttpError::Status(status))
            }
        };
    }
}

async fn send(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Response, HttpError> {
    let network = |_| HttpError::Network;
    let headers = Headers::new().map_err(network)?;
    headers
        .set("X-Requested-With", "XMLHttpRequest")
        .map_err(network)?;
    headers.set("Accept", "application/json").map_err(network)?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(network)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let window = web_sys::window().ok_or(HttpError::Network)?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(network)?;
    response.dyn_into().map_err(network)
}

/// How long a 429 asks to wait, in seconds: the `Retry-After` header, else the problem body's `retry_after`.
async fn retry_after(response: &Response) -> Option<u64> {
    if let Some(seconds) = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse().ok())
    {
        return Some(seconds);
    }
    let body = JsFuture::from(response.json().ok()?).await.ok()?;
    serde_wasm_bindgen::from_value::<Problem>(body)
        .ok()?
        .retry_after
}

/// Waits until the page-wide limiter, which every LeakGuard module on the page shares, grants a slot.
async fn wait_for_slot() {
    PageLimiter::page().acquire().await;
}
