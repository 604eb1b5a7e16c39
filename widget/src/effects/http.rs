//! Same-origin requests to amoCRM's `/api/v4` with the user's session, paced by one page-wide limiter.
//!
//! Every request waits for a slot of a 7-per-second sliding window (amoCRM's documented limit), a 429 is
//! retried after the core's backoff (amoCRM refuses it before doing anything, so this holds for writes
//! too), a 204 is an empty list and `_links.next` is followed page by page.

use amo_api::{
    Lead, LeadPatch, LeadsQuery, LossReason, NewLead, NewNote, NewTask, Note, Page, Saved, Task,
    TasksQuery,
};
use leakguard_widget_shared::{drain, same_origin, send_paced, Pacing};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

pub use leakguard_widget_shared::{HttpError, InFlight};

/// A guard against a server that keeps sending `_links.next`: 40 pages of 250 items.
const MAX_PAGES: usize = 40;

/// The card's pacing: a 429 is retried twice before the panel says amoCRM asks to slow down.
struct Card;

impl Pacing for Card {
    fn rate_limit_retries(&self) -> u32 {
        2
    }
}

/// The open tasks of a lead, every page of them.
pub async fn open_lead_tasks(lead_id: u64, signal: &AbortSignal) -> Result<Vec<Task>, HttpError> {
    get_all(TasksQuery::open_for_lead(lead_id).to_path(), signal).await
}

/// Creates one task (`POST /api/v4/tasks` with an array body) and answers its id.
pub async fn create_task(task: &NewTask, signal: &AbortSignal) -> Result<u64, HttpError> {
    let body = json_body(&[task])?;
    first_saved::<Task>(request_json("POST", TasksQuery::PATH, Some(&body), signal).await?)
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

/// One request with the session and a JSON answer; `None` for 204 No Content.
///
/// The answer is read here rather than with the shared `json_answer`: one future fewer keeps the
/// card's download from growing.
async fn request_json(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Option<JsValue>, HttpError> {
    let response = send_paced(&Card, method, url, body, signal).await?;
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
