//! Refusals in OpenAI's shape: `{"error": {"message", "type", "param",
//! "code"}}`. The native API's errors (a bad key, an unknown model, a budget)
//! are reshaped on the way out, so every answer under `/openai/v1` reads as
//! OpenAI's; DE's own `code` is kept, and its field becomes `param` as the
//! OpenAI request names it.

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::in_process;

/// An error of the compatible API, drawn as OpenAI draws one.
pub struct OpenAiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub param: Option<String>,
    /// The client must not send it again (the job ran, or may have: another
    /// try would be another billed call). The official clients honour
    /// `x-should-retry`.
    pub final_answer: bool,
}

impl OpenAiError {
    pub fn invalid(param: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: code.to_owned(),
            message: message.into(),
            param: Some(param.to_owned()),
            final_answer: false,
        }
    }

    /// DE could not answer for a job that was made: not to be sent again.
    pub fn job_unavailable(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            code: code.to_owned(),
            message: message.into(),
            param: None,
            final_answer: true,
        }
    }

    /// `{"error": {message, type, param, code}}`, as a response carries it
    /// (and a stream's last chunk, where the status can no longer be changed).
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": kind(self.status),
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

/// OpenAI's `type` for a status.
fn kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.final_answer {
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}

/// A DE field as the OpenAI request names it (`input.max_tokens` was `max_tokens`).
pub fn param_of(field: &str) -> String {
    field.strip_prefix("input.").unwrap_or(field).to_owned()
}

/// The native API's refusal, reshaped; 422 becomes OpenAI's 400.
pub fn from_native(status: StatusCode, body: &Value) -> OpenAiError {
    let error = &body["error"];
    OpenAiError {
        status: if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        },
        code: error["code"].as_str().unwrap_or("error").to_owned(),
        message: error["message"]
            .as_str()
            .map_or_else(|| format!("DE answered {status}"), str::to_owned),
        param: error["field"].as_str().map(param_of),
        final_answer: false,
    }
}

/// Every refusal under `/openai/v1` leaves in OpenAI's shape, whoever made it
/// (an extractor, the native API, a handler).
pub async fn openai_shaped(request: Request, next: Next) -> Response {
    in_process::reshape_refusal(next.run(request).await, |status, value| {
        // Already OpenAI's: it has a `type`.
        (!value["error"]["type"].is_string()).then(|| from_native(status, value).into_response())
    })
    .await
}

pub async fn unknown_route(request: Request) -> OpenAiError {
    OpenAiError {
        status: StatusCode::NOT_FOUND,
        code: "unknown_url".into(),
        message: format!(
            "DE's OpenAI-compatible API has no {} {}; it serves POST /chat/completions and GET /models",
            request.method(),
            request.uri().path()
        ),
        param: None,
        final_answer: false,
    }
}
