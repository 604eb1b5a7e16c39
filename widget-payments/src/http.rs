//! Same-origin requests of the payments section to amoCRM's `/api/v4` with the user's session,
//! paced by the page-wide 7-per-second sliding window every LeakGuard module shares (amoCRM's
//! documented limit); a 429 is retried after the core's backoff. Bodies are encoded and decoded
//! with `amo-api`'s types.

use amo_api::payments::{ElementWrite, LinkWrite};
use amo_api::{
    CatalogElement, Lead, Link, NewNote, NewTask, Note, Page, Problem, Task, TasksQuery,
};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use leakguard_core::ratelimit::backoff_ms;
use leakguard_widget_shared::PageLimiter;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestCredentials, RequestInit, Response};

/// How often a 429 is retried before the section says amoCRM asks to slow down.
const RATE_LIMIT_RETRIES: u32 = 2;

/// A 429 asking for a longer pause than this is reported at once.
const LONGEST_AUTOMATIC_WAIT_MS: u64 = 10_000;

/// How long one action (all its requests and retries) may take before it fails as a network error.
const TIME_LIMIT_MS: u32 = 30_000;

/// The most elements asked for in one request (amoCRM's page limit).
const PAGE_LIMIT: usize = 250;

/// Why a request did not give a usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// No response at all: offline, a dropped connection, the time limit, or the request was aborted.
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

    /// The i18n key of the message.
    pub fn key(self) -> &'static str {
        match self {
            HttpError::Network => "ui.payments.error.network",
            HttpError::Status(401) => "ui.payments.error.session",
            HttpError::Status(402) => "ui.payments.error.payment_required",
            HttpError::Status(403) => "ui.payments.error.forbidden",
            HttpError::Status(429) => "ui.payments.error.rate_limited",
            HttpError::Status(status) if status >= 500 => "ui.payments.error.server",
            HttpError::Status(_) | HttpError::Malformed => "ui.payments.error.rejected",
        }
    }
}

/// The requests of one action: dropping the handle aborts them, and so does the time limit.
#[derive(Debug)]
pub struct InFlight {
    controller: AbortController,
    _deadline: Timeout,
}

impl InFlight {
    pub fn new() -> Result<Self, HttpError> {
        let controller = AbortController::new().map_err(|_| HttpError::Network)?;
        let on_time_limit = controller.clone();
        let deadline = Timeout::new(TIME_LIMIT_MS, move || on_time_limit.abort());
        Ok(Self {
            controller,
            _deadline: deadline,
        })
    }

    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

fn encode(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

fn json<T: serde::Serialize + ?Sized>(body: &T) -> Result<String, HttpError> {
    serde_json::to_string(body).map_err(|_| HttpError::Malformed)
}

fn decode<T: DeserializeOwned>(text: Option<String>) -> Result<T, HttpError> {
    serde_json::from_str(&text.ok_or(HttpError::Malformed)?).map_err(|_| HttpError::Malformed)
}

/// A list answer: an empty list for 204.
fn items<T>(text: Option<String>) -> Result<Vec<T>, HttpError>
where
    Page<T>: DeserializeOwned,
{
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str::<Page<T>>(&text)
            .map(|page| page.items)
            .map_err(|_| HttpError::Malformed),
    }
}

/// The lead with the ids of its linked catalog elements (`with=catalog_elements`).
pub async fn lead(lead_id: u64, signal: &AbortSignal) -> Result<Lead, HttpError> {
    let url = format!("/api/v4/leads/{lead_id}?with=catalog_elements");
    decode(request("GET", &url, None, signal).await?)
}

/// The elements `ids` of catalog `catalog_id`, `PAGE_LIMIT` ids per request.
pub async fn elements(
    catalog_id: u64,
    ids: &[u64],
    signal: &AbortSignal,
) -> Result<Vec<CatalogElement>, HttpError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(PAGE_LIMIT) {
        let filter: String = chunk
            .iter()
            .map(|id| format!("&filter%5Bid%5D%5B%5D={id}"))
            .collect();
        let url = format!("/api/v4/catalogs/{catalog_id}/elements?limit={PAGE_LIMIT}{filter}");
        found.extend(items::<CatalogElement>(
            request("GET", &url, None, signal).await?,
        )?);
    }
    Ok(found)
}

/// The elements whose name contains `marker` (an earlier attempt's elements).
pub async fn find_elements(
    catalog_id: u64,
    marker: &str,
    signal: &AbortSignal,
) -> Result<Vec<CatalogElement>, HttpError> {
    let url = format!(
        "/api/v4/catalogs/{catalog_id}/elements?limit={PAGE_LIMIT}&query={}",
        encode(marker)
    );
    items(request("GET", &url, None, signal).await?)
}

/// Creates elements (one batch) and answers their ids in the order sent.
pub async fn create_elements(
    catalog_id: u64,
    elements: &[ElementWrite],
    signal: &AbortSignal,
) -> Result<Vec<u64>, HttpError> {
    let url = format!("/api/v4/catalogs/{catalog_id}/elements");
    let created: Vec<CatalogElement> =
        items(create("POST", &url, &json(elements)?, signal).await?)?;
    if created.len() != elements.len() {
        return Err(HttpError::Malformed);
    }
    Ok(created.into_iter().map(|element| element.id).collect())
}

/// Changes elements (each item has its `id`).
pub async fn patch_elements(
    catalog_id: u64,
    elements: &[ElementWrite],
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let url = format!("/api/v4/catalogs/{catalog_id}/elements");
    request("PATCH", &url, Some(&json(elements)?), signal)
        .await
        .map(drop)
}

/// Links catalog elements to the lead (one batch).
pub async fn link(
    lead_id: u64,
    links: &[LinkWrite],
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let url = format!("/api/v4/leads/{lead_id}/link");
    create("POST", &url, &json(links)?, signal).await.map(drop)
}

/// Unlinks catalog elements from the lead (amoCRM answers 204).
pub async fn unlink(
    lead_id: u64,
    links: &[LinkWrite],
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let url = format!("/api/v4/leads/{lead_id}/unlink");
    request("POST", &url, Some(&json(links)?), signal)
        .await
        .map(drop)
}

/// The lead's links to elements of catalog `catalog_id`.
pub async fn linked(
    lead_id: u64,
    catalog_id: u64,
    signal: &AbortSignal,
) -> Result<Vec<Link>, HttpError> {
    let url = format!(
        "/api/v4/leads/{lead_id}/links?filter%5Bto_entity_type%5D=catalog_elements&filter%5Bto_catalog_id%5D={catalog_id}"
    );
    items(request("GET", &url, None, signal).await?)
}

/// Adds a note to the lead.
pub async fn add_note(lead_id: u64, note: &NewNote, signal: &AbortSignal) -> Result<(), HttpError> {
    let url = format!("/api/v4/leads/{lead_id}/notes");
    create("POST", &url, &json(&[note])?, signal)
        .await
        .map(drop)
}

/// The lead's text notes changed since `since` (Unix seconds).
pub async fn recent_notes(
    lead_id: u64,
    since: i64,
    signal: &AbortSignal,
) -> Result<Vec<Note>, HttpError> {
    let url = format!(
        "/api/v4/leads/{lead_id}/notes?limit=250&filter%5Bnote_type%5D%5B%5D=common&filter%5Bupdated_at%5D%5Bfrom%5D={since}"
    );
    items(request("GET", &url, None, signal).await?)
}

/// The lead's open tasks.
pub async fn open_tasks(lead_id: u64, signal: &AbortSignal) -> Result<Vec<Task>, HttpError> {
    items(
        request(
            "GET",
            &TasksQuery::open_for_lead(lead_id).to_path(),
            None,
            signal,
        )
        .await?,
    )
}

/// Creates a task.
pub async fn create_task(task: &NewTask, signal: &AbortSignal) -> Result<(), HttpError> {
    create("POST", TasksQuery::PATH, &json(&[task])?, signal)
        .await
        .map(drop)
}

/// One request with the session; the answer's text, `None` for 204 No Content. A 429 is retried
/// after the core's backoff.
async fn request(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Option<String>, HttpError> {
    send_paced(method, url, body, signal, RATE_LIMIT_RETRIES).await
}

/// A request that creates something: a 429 is returned, not retried here, because it may answer
/// the browser's silent resend of a request that was already served; the caller looks first.
async fn create(
    method: &str,
    url: &str,
    body: &str,
    signal: &AbortSignal,
) -> Result<Option<String>, HttpError> {
    send_paced(method, url, Some(body), signal, 0).await
}

async fn send_paced(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
    rate_limit_retries: u32,
) -> Result<Option<String>, HttpError> {
    let mut attempt = 0;
    loop {
        wait_for_slot().await;
        // An action that was cancelled while it waited for its turn sends nothing.
        if signal.aborted() {
            return Err(HttpError::Network);
        }
        let response = send(method, url, body, signal).await?;
        let status = response.status();
        if status == 429 && attempt < rate_limit_retries {
            let wait = backoff_ms(attempt, retry_after(&response).await);
            if wait <= LONGEST_AUTOMATIC_WAIT_MS {
                attempt += 1;
                TimeoutFuture::new(wait as u32).await;
                continue;
            }
        }
        let text = match response.text() {
            Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()),
            Err(_) => None,
        };
        return match status {
            204 => Ok(None),
            200..=299 => text.map(Some).ok_or(HttpError::Malformed),
            _ => Err(HttpError::Status(status)),
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

/// How long a 429 asks to wait, in seconds: `Retry-After`, else the problem body's `retry_after`.
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
    let text = JsFuture::from(response.clone().ok()?.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str::<Problem>(&text).ok()?.retry_after
}

/// Waits until the page-wide limiter, which every LeakGuard module on the page shares, grants a slot.
async fn wait_for_slot() {
    PageLimiter::page().acquire().await;
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
        assert_eq!(HttpError::Status(503).key(), "ui.payments.error.server");
        assert_eq!(HttpError::Status(401).key(), "ui.payments.error.session");
    }
}
