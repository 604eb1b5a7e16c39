//! HAL+JSON responses: content type, `_links`, pagination and the 204 empty list (amocrm-api-v4.md §1.2–§1.3).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::config::{ApiOptions, OverLimit};
use crate::problem::ApiError;
use crate::query::Query;

/// The content type of every successful API answer.
pub const HAL_JSON: &str = "application/hal+json";

/// Default page size (SDK default, amocrm-api-v4.md §1.3).
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 250;

/// A 200 answer with a HAL+JSON body.
pub fn hal(value: Value) -> Response {
    hal_status(StatusCode::OK, value)
}

/// An answer with `status` and a HAL+JSON body.
pub fn hal_status(status: StatusCode, value: Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    response
}

/// 204 with an empty body: an empty list, a page past the end, a missing entity, an unlink.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `{"self": {"href": …}}`.
pub fn self_link(href: String) -> Value {
    json!({"self": {"href": href}})
}

/// The requested page and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: usize,
    /// Rows per page.
    pub limit: usize,
}

impl Page {
    /// Reads `page` and `limit`; a limit above 250 is rejected with 422 or clamped, per `options`.
    pub fn from_query(query: &Query, options: &ApiOptions) -> Result<Page, ApiError> {
        Self::from_query_max(query, options, MAX_LIMIT)
    }

    /// Like [`Page::from_query`] for a list whose largest page is `max` rows.
    pub fn from_query_max(
        query: &Query,
        options: &ApiOptions,
        max: usize,
    ) -> Result<Page, ApiError> {
        let number = |key| query.str(key).and_then(|v| v.trim().parse::<i64>().ok());
        let page = number("page").filter(|p| *p >= 1).unwrap_or(1) as usize;
        let limit = match number("limit") {
            Some(l) if l > max as i64 => match options.over_limit {
                OverLimit::Reject => return Err(ApiError::over_limit_at(max)),
                OverLimit::Clamp => max,
            },
            Some(l) if l >= 1 => l as usize,
            _ => DEFAULT_LIMIT,
        };
        Ok(Page { page, limit })
    }
}

/// Builds the URL of `path` with the caller's query, `page` and `limit` replaced.
pub fn page_href(base: &str, path: &str, query: &Query, page: usize, limit: usize) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in query
        .pairs()
        .iter()
        .filter(|(k, _)| k != "page" && k != "limit")
    {
        serializer.append_pair(key, value);
    }
    serializer.append_pair("limit", &limit.to_string());
    serializer.append_pair("page", &page.to_string());
    format!("{base}{path}?{}", serializer.finish())
}

/// How a collection reports its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    /// Only `_page` and `_links` (leads, tasks, notes, tags).
    None,
    /// `_total_items`, `_page`, `_page_count` and `_links.last` (users, custom fields).
    Counted,
}

/// Where a list lives and what was asked of it.
#[derive(Debug, Clone, Copy)]
pub struct List<'a> {
    /// The account origin.
    pub base: &'a str,
    /// The collection's path, e.g. `/api/v4/leads`.
    pub path: &'a str,
    /// The caller's query (kept in `_links`).
    pub query: &'a Query,
    /// The requested page.
    pub page: Page,
}

/// One page of a collection, or 204 when the page is empty.
pub fn paged<T>(
    list: List<'_>,
    key: &str,
    items: &[T],
    totals: Totals,
    render: impl Fn(&T) -> Value,
) -> Response {
    let List {
        base,
        path,
        query,
        page,
    } = list;
    let start = (page.page - 1).saturating_mul(page.limit);
    if start >= items.len() {
        return no_content();
    }
    let end = (start + page.limit).min(items.len());
    let rows: Vec<Value> = items[start..end].iter().map(render).collect();
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({"href": page_href(base, path, query, page.page, page.limit)}),
    );
    if end < items.len() {
        links.insert(
            "next".into(),
            json!({"href": page_href(base, path, query, page.page + 1, page.limit)}),
        );
    }
    links.insert(
        "first".into(),
        json!({"href": page_href(base, path, query, 1, page.limit)}),
    );
    if page.page > 1 {
        links.insert(
            "prev".into(),
            json!({"href": page_href(base, path, query, page.page - 1, page.limit)}),
        );
    }
    let mut body = Map::new();
    if totals == Totals::Counted {
        let page_count = items.len().div_ceil(page.limit);
        links.insert(
            "last".into(),
            json!({"href": page_href(base, path, query, page_count, page.limit)}),
        );
        body.insert("_total_items".into(), json!(items.len()));
        body.insert("_page_count".into(), json!(page_count));
    }
    body.insert("_page".into(), json!(page.page));
    body.insert("_links".into(), Value::Object(links));
    body.insert("_embedded".into(), json!({ key: rows }));
    hal(Value::Object(body))
}

/// A whole (unpaged) collection with `_total_items`, or 204 when empty.
pub fn collection(href: String, key: &str, rows: Vec<Value>) -> Response {
    if rows.is_empty() {
        return no_content();
    }
    hal(json!({"_total_items": rows.len(), "_links": self_link(href), "_embedded": { key: rows }}))
}
