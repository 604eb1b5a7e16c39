//! Same-origin requests of the payments section to amoCRM's `/api/v4` with the user's session,
//! paced by the page-wide 7-per-second sliding window every LeakGuard module shares (amoCRM's
//! documented limit); a 429 is retried after the core's backoff. Bodies are encoded and decoded
//! with `amo-api`'s types.

use amo_api::payments::{ElementWrite, LinkWrite};
use amo_api::{
    CatalogElement, Lead, Link, NewNote, NewTask, Note, Page, Problem, Task, TasksQuery,
};
use leakguard_widget_shared::{retry_after_header, send_paced, Pacing};
use serde::de::DeserializeOwned;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Response};

pub use leakguard_widget_shared::{HttpError, InFlight};

/// How often a 429 is retried before the section says amoCRM asks to slow down.
const RATE_LIMIT_RETRIES: u32 = 2;

/// The most elements asked for in one request (amoCRM's page limit).
const PAGE_LIMIT: usize = 250;

/// The i18n key of the message a failed request shows.
pub trait ErrorKey {
    /// The i18n key of the message.
    fn key(self) -> &'static str;
}

impl ErrorKey for HttpError {
    fn key(self) -> &'static str {
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

/// The section's pacing: a 429 is retried `rate_limit_retries` times, its wait read from
/// `Retry-After` or else the problem body, which stays readable for the answer.
struct Section {
    rate_limit_retries: u32,
}

impl Pacing for Section {
    fn rate_limit_retries(&self) -> u32 {
        self.rate_limit_retries
    }

    /// How long a 429 asks to wait, in seconds: `Retry-After`, else the problem body's `retry_after`.
    async fn retry_after(&self, response: &Response) -> Option<u64> {
        if let Some(seconds) = retry_after_header(response) {
            return Some(seconds);
        }
        let text = JsFuture::from(response.clone().ok()?.text().ok()?)
            .await
            .ok()?
            .as_string()?;
        serde_json::from_str::<Problem>(&text).ok()?.retry_after
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
    send_paced_text(method, url, body, signal, RATE_LIMIT_RETRIES).await
}

/// A request that creates something: a 429 is returned, not retried here, because it may answer
/// the browser's silent resend of a request that was already served; the caller looks first.
async fn create(
    method: &str,
    url: &str,
    body: &str,
    signal: &AbortSignal,
) -> Result<Option<String>, HttpError> {
    send_paced_text(method, url, Some(body), signal, 0).await
}

/// Sends with the section's pacing and answers the text of the answer, `None` for 204 No Content.
async fn send_paced_text(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
    rate_limit_retries: u32,
) -> Result<Option<String>, HttpError> {
    let pacing = Section { rate_limit_retries };
    let response = send_paced(&pacing, method, url, body, signal).await?;
    let status = response.status();
    let text = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    match status {
        204 => Ok(None),
        200..=299 => text.map(Some).ok_or(HttpError::Malformed),
        _ => Err(HttpError::Status(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorKey, HttpError};

    #[test]
    fn failures_are_explained_by_their_kind() {
        assert_eq!(HttpError::Status(503).key(), "ui.payments.error.server");
        assert_eq!(HttpError::Status(401).key(), "ui.payments.error.session");
    }
}
