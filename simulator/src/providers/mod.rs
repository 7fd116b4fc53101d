//! The simulated provider endpoints: one file per provider, each validating
//! requests as its real API does and answering in its real format. What they
//! share — picking a fault, recording the request, latency — lives here.

// A rejection is the finished HTTP response; boxing it would buy nothing here.
#![allow(clippy::result_large_err)]

mod anthropic_messages;
mod openai_chat;

use std::time::Duration;

use axum::{
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{
    faults::{directive, Fault},
    stats::RecordedRequest,
    Controls,
};

pub fn router() -> Router<Controls> {
    Router::new()
        .route("/v1/chat/completions", post(openai_chat::handle))
        .route("/v1/messages", post(anthropic_messages::handle))
}

/// How a provider words its errors.
pub trait Dialect {
    const ENDPOINT: &'static str;
    fn error(status: u16, message: &str) -> Value;
    fn rate_limited(retry_after_secs: u64) -> Value;
    /// A 200 body that is not what the endpoint promises.
    fn malformed() -> &'static str;
}

/// What a request asked for, as far as the stats care.
pub struct Call {
    pub arrived: DateTime<Utc>,
    pub model: Option<String>,
    pub prompt: Option<String>,
}

pub fn error_response<D: Dialect>(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(D::error(status, message))).into_response()
}

/// Answers a request that passed (or failed) validation, applying faults.
pub async fn answer<D: Dialect>(controls: &Controls, call: Call, checked: Result<Response, Response>) -> Response {
    let success = match checked {
        Ok(success) => success,
        Err(rejection) => {
            record::<D>(controls, &call, rejection.status().as_u16());
            return rejection;
        }
    };
    let fault = controls.next_fault(call.prompt.as_deref().and_then(directive));
    let status = match &fault {
        Some(Fault::Status { status }) => *status,
        Some(Fault::RateLimit { .. }) => 429,
        Some(Fault::Hang) => 0,
        _ => 200,
    };
    // Recorded on arrival, so a test sees a request the moment it is in flight.
    record::<D>(controls, &call, status);
    let latency = controls.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => success,
        Some(Fault::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            success
        }
        Some(Fault::Status { status }) => error_response::<D>(status, &format!("simulated {status} error")),
        Some(Fault::RateLimit { retry_after_secs }) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(D::rate_limited(retry_after_secs))).into_response();
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("retry-after"), value);
            }
            response
        }
        Some(Fault::Malformed) => {
            ([(axum::http::header::CONTENT_TYPE, "application/json")], D::malformed()).into_response()
        }
        Some(Fault::Hang) => {
            controls.inner.stopping.cancelled().await;
            error_response::<D>(503, "simulator shutting down")
        }
    }
}

fn record<D: Dialect>(controls: &Controls, call: &Call, status: u16) {
    controls.inner.stats.record(RecordedRequest {
        at: call.arrived,
        endpoint: D::ENDPOINT.to_string(),
        model: call.model.clone(),
        prompt: call.prompt.as_ref().map(|p| p.chars().take(200).collect()),
        status,
    });
}

/// Rough token count: a token is about four characters of English.
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The deterministic reply, cut to `max_tokens`; true when it was cut.
pub fn reply(model: &str, prompt: &str, max_tokens: u64) -> (String, bool) {
    let echo: String = crate::faults::strip_directive(prompt).chars().take(200).collect();
    let text = format!("Simulated reply from {model}: {echo}");
    if tokens(&text) > max_tokens {
        (text.chars().take((max_tokens * 4) as usize).collect(), true)
    } else {
        (text, false)
    }
}

/// The text of a message's `content`: a string or a list of text parts/blocks.
pub fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Option<Vec<&str>> = parts
                .iter()
                .map(|p| match p.get("type").and_then(Value::as_str) {
                    Some("text") => p.get("text").and_then(Value::as_str),
                    Some(_) => Some(""),
                    None => None,
                })
                .collect();
            texts.map(|t| t.join(""))
        }
        _ => None,
    }
}

pub fn positive_integer(value: &Value) -> bool {
    value.as_u64().is_some_and(|n| n > 0)
}

pub fn number_in(value: &Value, low: f64, high: f64) -> bool {
    value.as_f64().is_some_and(|n| (low..=high).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cuts() {
        assert_eq!(tokens("abcd"), 1);
        assert_eq!(tokens("abcde"), 2);
        let (text, cut) = reply("m", "hello", 2);
        assert!(cut && text.chars().count() == 8);
        let (text, cut) = reply("m", "hello [[sim:latency=5]]", 100);
        assert_eq!((text.as_str(), cut), ("Simulated reply from m: hello", false));
    }
}
