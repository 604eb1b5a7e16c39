//! Same-origin requests of the settings form to amoCRM's `/api/v4` with the user's session, paced by
//! the page-wide 7-per-second sliding window every LeakGuard module shares (amoCRM's documented
//! limit); a 429 is retried after the core's backoff, a 204 is an empty list and `_links.next` is
//! followed page by page.

use serde::Serialize;

use amo_api::{Catalog, CustomField, LossReason, Page, Pipeline};
use leakguard_widget_shared::{json_answer, same_origin, send_paced, Pacing};
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

pub use leakguard_widget_shared::{HttpError, InFlight};

/// A guard against a server that keeps sending `_links.next`: 40 pages of 250 items.
const MAX_PAGES: usize = 40;

/// The form's pacing: a 429 is retried twice before the form says amoCRM asks to slow down.
struct Form;

impl Pacing for Form {
    fn rate_limit_retries(&self) -> u32 {
        2
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

/// One request with the session and a JSON answer; `None` for 204 No Content.
async fn request_json(
    method: &str,
    url: &str,
    body: Option<&str>,
    signal: &AbortSignal,
) -> Result<Option<JsValue>, HttpError> {
    json_answer(send_paced(&Form, method, url, body, signal).await?).await
}
