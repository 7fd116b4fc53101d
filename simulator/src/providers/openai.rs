//! How OpenAI authenticates and words errors and rate limits, for all its
//! endpoints (Chat Completions, Images).
//!
//! Errors are `{"error": {"message", "type", "param", "code"}}`; rate-limit
//! headers are `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with
//! resets as durations (`6m0s`, `20ms`), written in `rate_limits.rs`.

pub mod arguments;
pub mod rate_limits;

use std::time::Duration;

use axum::{
    http::{header::RETRY_AFTER, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use self::rate_limits::{default_headers, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE};
use super::{call::Call, rejection::Rejection, Dialect};
use crate::account::{Limit, Standing};

pub struct OpenAi;

impl Dialect for OpenAi {
    const LIMITS: &'static [Limit] = rate_limits::LIMITS;
    const LIMIT_HEADER_PREFIX: &'static str = rate_limits::PREFIX;

    fn reject(rejection: &Rejection) -> Response {
        let kind = match rejection.status.as_u16() {
            429 => "requests",
            500.. => "server_error",
            _ => "invalid_request_error",
        };
        let body = json!({ "error": {
            "message": rejection.message,
            "type": kind,
            "param": rejection.param,
            "code": rejection.code,
        } });
        (rejection.status, request_id(), Json(body)).into_response()
    }

    fn failure(status: StatusCode, model: Option<&str>) -> Rejection {
        let model = model.unwrap_or_default();
        match status.as_u16() {
            401 => Rejection::new(status, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.")
                .code("invalid_api_key"),
            404 => Rejection::new(status, format!("The model `{model}` does not exist or you do not have access to it."))
                .code("model_not_found"),
            500 => Rejection::new(status, "The server had an error while processing your request. Sorry about that!"),
            503 => Rejection::new(status, "The server is overloaded or not ready yet."),
            _ => Rejection::new(status, format!("Simulated {status} error.")),
        }
    }

    fn rate_limited(retry_after_secs: Option<u64>, model: Option<&str>) -> Response {
        let wait = retry_after_secs.unwrap_or(1);
        let message = format!(
            "Rate limit reached for {} in organization org-simulator on requests per min (RPM): Limit {REQUESTS_PER_MINUTE}, Used {REQUESTS_PER_MINUTE}, Requested 1. Please try again in {wait}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            model.unwrap_or("this model"),
        );
        let body = json!({ "error": {
            "message": message, "type": "requests", "param": null, "code": "rate_limit_exceeded",
        } });
        let mut headers = default_headers(0, TOKENS_PER_MINUTE, Duration::from_secs(wait));
        if let Some(secs) = retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        (StatusCode::TOO_MANY_REQUESTS, request_id(), headers, Json(body)).into_response()
    }

    fn limit_headers(standing: &Standing) -> HeaderMap {
        rate_limits::headers(standing)
    }
}

/// `Authorization: Bearer <key>`, any non-empty key.
pub fn authorize(call: &Call) -> Result<(), Rejection> {
    let key = call
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    match key {
        Some(key) if !key.is_empty() => Ok(()),
        _ => Err(Rejection::new(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        )),
    }
}

pub fn not_json() -> Rejection {
    Rejection::bad_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    )
}

pub fn request_id() -> [(HeaderName, String); 1] {
    [(
        HeaderName::from_static("x-request-id"),
        format!("req_{}", uuid::Uuid::new_v4().simple()),
    )]
}
