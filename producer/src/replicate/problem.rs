//! Refusals in Replicate's shape: RFC 7807 problem details (`{"title",
//! "detail", "status"}`, `application/problem+json`), which the official
//! clients read into their `ReplicateError`. The native API's errors are
//! reshaped on the way out; DE's stable `code` is kept as `code`.

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{json, Value};

use crate::in_process;

pub struct Problem {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
        }
    }

    /// The native API's refusal (`{"error": {code, message, field}}`).
    pub fn from_native(status: StatusCode, body: &Value) -> Self {
        let error = &body["error"];
        let message = error["message"]
            .as_str()
            .map_or_else(|| format!("DE answered {status}"), str::to_owned);
        let detail = match error["field"].as_str() {
            Some(field) => format!("{message} (field: {field})"),
            None => message,
        };
        Self::new(status, error["code"].as_str().unwrap_or("error"), detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "detail": self.detail,
            "status": self.status.as_u16(),
            "code": self.code,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Every refusal under `/replicate/v1` leaves as problem details.
pub async fn replicate_shaped(request: Request, next: Next) -> Response {
    in_process::reshape_refusal(next.run(request).await, |status, value| {
        Some(Problem::from_native(status, value).into_response())
    })
    .await
}

pub async fn unknown_route(request: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_url",
        format!(
            "DE's Replicate-compatible API has no {} {}; it serves predictions (create, get, cancel, list), model predictions and the default webhook secret",
            request.method(),
            request.uri().path()
        ),
    )
}
