//! `application/problem+json` errors in amoCRM's shapes (amocrm-api-v4.md §13.3).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The content type amoCRM uses for every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One failed check inside a batch item, addressed by a dot path into that item.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// amoCRM's error code, e.g. `NotSupportedChoice` or `InvalidType`.
    pub code: &'static str,
    /// Dot-notation path into the item, e.g. `custom_fields_values.0.field_id`.
    pub path: String,
    /// Human-readable explanation.
    pub detail: String,
}

impl FieldError {
    /// A field error with the given code, path and detail.
    pub fn new(code: &'static str, path: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            code,
            path: path.into(),
            detail: detail.into(),
        }
    }
}

/// An error answer of the API: status, title, detail and optional extra members.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    extra: Map<String, Value>,
    retry_after_header: Option<u64>,
}

impl ApiError {
    /// An error with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            extra: Map::new(),
            retry_after_header: None,
        }
    }

    /// 400 with a plain detail.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 400 "Request data can not be empty" (documented in K-http).
    pub fn empty_body() -> Self {
        Self::bad_request("Request data can not be empty")
    }

    /// 400 "Request validation failed" with `validation-errors` grouped by batch item.
    pub fn validation(groups: Vec<(String, Vec<FieldError>)>) -> Self {
        let list: Vec<Value> = groups
            .into_iter()
            .map(|(request_id, errors)| {
                let errors: Vec<Value> = errors
                    .into_iter()
                    .map(|e| json!({"code": e.code, "path": e.path, "detail": e.detail}))
                    .collect();
                json!({"request_id": request_id, "errors": errors})
            })
            .collect();
        Self::bad_request("Request validation failed").with("validation-errors", Value::Array(list))
    }

    /// 401 for a request without a valid session or token.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Invalid user name or password")
    }

    /// 402 for an unpaid account.
    pub fn payment_required() -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, "Payment required")
    }

    /// 403 with a detail.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 with a detail.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 422 "Limit 250 per page" (documented in K-http).
    pub fn over_limit() -> Self {
        Self::over_limit_at(250)
    }

    /// 422 "Limit {max} per page" for lists with a smaller maximum (events: 100).
    pub fn over_limit_at(max: usize) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Limit {max} per page"),
        )
    }

    /// 429 with Kommo's body and `retry_after` in seconds.
    pub fn too_many_requests(retry_after: u64, header: bool) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "You have sent too many requests in a given amount of time. Please try again later.",
        )
        .with("retry_after", json!(retry_after));
        if header {
            err.retry_after_header = Some(retry_after);
        }
        err
    }

    /// Adds a top-level member to the body.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem+json body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "title".into(),
            json!(self.status.canonical_reason().unwrap_or("Error")),
        );
        body.insert(
            "type".into(),
            json!(format!("https://httpstatus.es/{}", self.status.as_u16())),
        );
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after_header {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The result type of every API handler.
pub type ApiResult = Result<Response, ApiError>;
