//! Same-origin requests to amoCRM's `/api/v4` with the user's session, paced by one page-wide limiter.
//!
//! Every request waits for a slot of a 7-per-second sliding window (amoCRM's documented limit), a 429 is
//! retried after the core's backoff (amoCRM refuses it before doing anything, so this holds for writes
//! too), a 204 is an empty list and `_links.next` is followed page by page.

use amo_api::{
    Lead, LeadPatch, LeadsQuery, LossReason, NewLead, NewNote, NewTask, Note, Page, Problem, Saved,
    Task, TasksQuery,
};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use leakguard_core::ratelimit::backoff_ms;
use leakguard_widget_shared::PageLimiter;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestCredentials, RequestInit, Response};

/// How often a 429 is retried before the panel says amoCRM asks to slow down.
const RATE_LIMIT_RETRIES: u32 = 2;

/// A 429 asking for a longer pause than this is shown at once; the user can retry later.
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

/// The open tasks of a lead, every page of them.
pub async fn open_lead_tasks(lead_id: u64, signal: &AbortSignal) -> Result<Vec<Task>, HttpError> {
    get_all(TasksQuery::open_for_lead(lead_id).to_path(), signal).await
}

/// Creates one task (`POST /api/v4/tasks` with an array body) and answers its id.
pub async fn create_task(task: &NewTask, signal: &AbortSignal) -> Result<u64, HttpError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let body =
        serde::Serialize::serialize(&[task], &serializer).map_err(|_| HttpError::Malformed)?;
    let body = js_sys::JSON::stringify(&body).map_err(|_| HttpError::Malformed)?;
    let answer = request_json("POST", TasksQuery::PATH, Some(&String::from(body)), signal)
        .await?
        .ok_or(HttpError::Malformed)?;
    let page: Page<Saved<Task>> =
        serde_wasm_bindgen::from_value(answer).map_err(|_| HttpError::Malformed)?;
    page.items
        .first()
        .map(|saved| saved.id)
        .ok_or(HttpError::Malformed)
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

/// Serializes a request body as amoCRM's JSON.
fn json_body<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, HttpError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let body = value
        .serialize(&serializer)
        .map_err(|_| HttpError::Malformed)?;
    js_sys::JSON::stringify(&body)
        .map(String::from)
        .map_err(|_| HttpError::Malformed)
}

/// The id of the first saved item of a create answer (`_embedded.<collection>[0].id`).
fn first_saved<T>(answer: Option<JsValue>) -> Result<u64, HttpError>
where
    Page<Saved<T>>: serde::de::DeserializeOwned,
{
    let page: Page<Saved<T>> = serde_wasm_bindgen::from_value(answer.ok_or(HttpError::Malformed)?)
        .map_err(|_| HttpError::Malformed)?;
    page.items
        .first()
        .map(|saved| saved.id)
        .ok_or(HttpError::Malformed)
}

/// Updates one lead (`PATCH /api/v4/leads/{id}`); a refusal sends status 143, pipeline and reason together.
pub async fn patch_lead(
    lead_id: u64,
    patch: &LeadPatch,
    signal: &AbortSignal,
) -> Result<(), HttpError> {
    let body = json_body(patch)?;
    request_json(
        "PATCH",
        &format!("{}/{lead_id}", LeadsQuery::PATH),
        Some(&body),
        signal,
    )
    .await
    .map(drop)
}

/// Adds a note to a lead (`POST /api/v4/leads/{id}/notes`) and answers its id.
pub async fn add_lead_note(
    lead_id: u64,
    note: &NewNote,
    signal: &AbortSignal,
) -> Result<u64, HttpError> {
    let body = json_body(&[note])?;
    let url = format!("{}/{lead_id}/notes", LeadsQuery::PATH);
    first_saved::<Note>(request_json("POST", &url, Some(&body), signal).await?)
}

/// The notes of a lead, every page of them (to find a note an earlier attempt may have added).
pub async fn lead_notes(lead_id: u64, signal: &AbortSignal) -> Result<Vec<Note>, HttpError> {
    get_all(
        format!("{}/{lead_id}/notes?limit=250", LeadsQuery::PATH),
        signal,
    )
    .await
}

/// Creates one lead (`POST /api/v4/leads` with an array body) and answers its id.
pub async fn create_lead(lead: &NewLead, signal: &AbortSignal) -> Result<u64, HttpError> {
    let body = json_body(&[lead])?;
    first_saved::<Lead>(request_json("POST", LeadsQuery::PATH, Some(&body), signal).await?)
}

/// The leads a query selects, every page of them.
pub async fn leads(query: &LeadsQuery, signal: &AbortSignal) -> Result<Vec<Lead>, HttpError> {
    get_all(query.to_path(), signal).await
}

/// The account's loss reasons (`GET /api/v4/leads/loss_reasons`).
pub async fn loss_reasons(signal: &AbortSignal) -> Result<Vec<LossReason>, HttpError> {
    get_all(format!("{}/loss_reasons", LeadsQuery::PATH), signal).await
}

/// One lead with its linked contacts (`GET /api/v4/leads/{id}?with=contacts`); the company comes without asking.
pub async fn lead_with_contacts(lead_id: u64, signal: &AbortSignal) -> Result<Lead, HttpError> {
    let url = format!("{}/{lead_id}?with=contacts", LeadsQuery::PATH);
    let body = request_json("GET", &url, None, signal)
        .await?
        .ok_or(HttpError::Malformed)?;
    serde_wasm_bindgen::from_value(body).map_err(|_| HttpError::Malformed)
}
