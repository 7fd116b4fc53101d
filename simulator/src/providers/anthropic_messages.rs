//! Anthropic Messages, `POST /v1/messages`: headers, the answer and the error
//! bodies (Anthropic's only endpoint, so it is its own [`Dialect`]). What a
//! valid request is lives in `request.rs`.
//!
//! Errors are `{"type": "error", "error": {"type", "message"}, "request_id"}`;
//! rate-limit headers are `anthropic-ratelimit-{requests,tokens,input-tokens,
//! output-tokens}-{limit,remaining,reset}` with resets as RFC 3339 times,
//! written in `rate_limits.rs`.

mod rate_limits;
mod request;

use std::time::Duration;

use axum::{
    http::{header::RETRY_AFTER, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use self::{
    rate_limits::{default_headers, INPUT_TOKENS_PER_MINUTE, OUTPUT_TOKENS_PER_MINUTE, REQUESTS_PER_MINUTE},
    request::MessagesRequest,
};
use super::{call::Call, json_reply, random_id, rejection::Rejection, sse, text, Dialect, Endpoint, Served, Usage};
use crate::{
    account::{Limit, Standing},
    directives::Asks,
};

/// Versions the real API accepts in `anthropic-version`.
const VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];

pub struct AnthropicMessages;

impl Endpoint for AnthropicMessages {
    type Dialect = Self;
    const NAME: &'static str = "anthropic.messages";
    const MALFORMED: &'static [u8] =
        br#"{"id": "msg_01sim", "type": "message", "role": "assistant", "content": [{"type": "text", "te"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        check_headers(call.headers)?;
        let body = call
            .body
            .and_then(Value::as_object)
            .ok_or_else(|| Rejection::bad_request("Request body must be a valid JSON object."))?;
        let request = MessagesRequest::parse(body)?;
        let misses = json_reply::asked_to_miss(prompt, text::system_text(call.body).as_deref());
        // After a tool's answer the model speaks of it.
        let answered = request::tool_result_text(body);
        Ok(answer(&request, answered.as_deref().unwrap_or(prompt), misses))
    }

    /// The last user message, text blocks included: a directive may sit in any block.
    fn prompt(call: &Call) -> Option<String> {
        text::last_user_text(call.body?.get("messages"))
    }

    fn system(call: &Call) -> Option<String> {
        text::system_text(call.body)
    }
}

impl Dialect for AnthropicMessages {
    const LIMITS: &'static [Limit] = rate_limits::LIMITS;
    const LIMIT_HEADER_PREFIX: &'static str = rate_limits::PREFIX;

    fn reject(rejection: &Rejection) -> Response {
        let kind = match rejection.status.as_u16() {
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            500.. => "api_error",
            _ => "invalid_request_error",
        };
        let id = random_id("req_011C", 20);
        let body = json!({
            "type": "error",
            "error": { "type": kind, "message": rejection.message },
            "request_id": id,
        });
        (
            rejection.status,
            [(HeaderName::from_static("request-id"), id)],
            Json(body),
        )
            .into_response()
    }

    fn failure(status: StatusCode, model: Option<&str>) -> Rejection {
        let message = match status.as_u16() {
            401 => "invalid x-api-key".to_string(),
            404 => format!("model: {}", model.unwrap_or_default()),
            500 => "Internal server error".to_string(),
            529 => "Overloaded".to_string(),
            _ => format!("Simulated {status} error."),
        };
        Rejection::new(status, message)
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let wait = retry_after_secs.unwrap_or(1);
        let rejection = Rejection::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("This request would exceed the rate limit for your organization of {REQUESTS_PER_MINUTE} requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please try again later."),
        );
        let reset_in = Duration::from_secs(wait);
        let mut headers = default_headers(0, INPUT_TOKENS_PER_MINUTE, OUTPUT_TOKENS_PER_MINUTE, reset_in);
        if let Some(secs) = retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        (headers, Self::reject(&rejection)).into_response()
    }

    fn limit_headers(standing: &Standing) -> HeaderMap {
        rate_limits::headers(standing)
    }
}

fn check_headers(headers: &HeaderMap) -> Result<(), Rejection> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim);
    if key.is_none_or(str::is_empty) {
        return Err(Rejection::new(StatusCode::UNAUTHORIZED, "x-api-key header is required"));
    }
    match headers.get("anthropic-version").map(|v| v.to_str().map(str::trim)) {
        None => Err(Rejection::bad_request("anthropic-version: header is required")),
        Some(Ok(version)) if VERSIONS.contains(&version) => Ok(()),
        Some(version) => Err(Rejection::bad_request(format!(
            "anthropic-version: invalid version '{}'; use one of {}",
            version.unwrap_or_default(),
            VERSIONS.join(", ")
        ))),
    }
}

/// `misses`: a forced tool is called with an empty input (`[[sim:json_invalid]]`).
fn answer(request: &MessagesRequest, prompt: &str, misses: bool) -> Served {
    let mut reply = text::reply(request.model, prompt, Some(request.max_tokens));
    let (content, stop_reason) = match request.called_tool {
        Some((name, schema)) => {
            let input = if misses {
                json!({})
            } else {
                json_reply::instance(schema, &reply.text)
            };
            reply.tokens = text::tokens(&input.to_string());
            let block = json!({ "type": "tool_use", "id": random_id("toolu_01", 22), "name": name, "input": input });
            (block, "tool_use")
        }
        None => (
            json!({ "type": "text", "text": reply.text }),
            if reply.cut { "max_tokens" } else { "end_turn" },
        ),
    };
    let body = json!({
        "id": random_id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [content],
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": request.input_tokens,
            "output_tokens": reply.tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    });
    let limits = default_headers(
        REQUESTS_PER_MINUTE - 1,
        INPUT_TOKENS_PER_MINUTE.saturating_sub(request.input_tokens),
        OUTPUT_TOKENS_PER_MINUTE.saturating_sub(reply.tokens),
        Duration::from_secs(1),
    );
    let id = [(HeaderName::from_static("request-id"), random_id("req_011C", 20))];
    let response = match request.stream {
        true => {
            let gap = Duration::from_millis(Asks::read(prompt).token_ms.unwrap_or(0));
            (id, limits, sse::response(events(body), gap)).into_response()
        }
        false => (id, limits, Json(body)).into_response(),
    };
    Served {
        response,
        usage: Usage {
            input: request.input_tokens,
            output: reply.tokens,
        },
    }
}

/// A message as Anthropic streams it: `message_start` (the message without its
/// content, one output token so far), the text block's start, a `ping`, a
/// `text_delta` per piece, the block's stop, `message_delta` with the stop
/// reason and the output tokens, `message_stop`.
fn events(mut message: Value) -> Vec<sse::Event> {
    let block = message["content"][0].take();
    let (start, text, delta_kind, delta_field) = match block["type"].as_str() {
        // A tool call's input streams as pieces of its JSON.
        Some("tool_use") => (
            json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
            block["input"].to_string(),
            "input_json_delta",
            "partial_json",
        ),
        _ => (
            json!({"type": "text", "text": ""}),
            block["text"].as_str().unwrap_or_default().to_owned(),
            "text_delta",
            "text",
        ),
    };
    let stop_reason = message["stop_reason"].take();
    let output_tokens = message["usage"]["output_tokens"].take();
    message["content"] = json!([]);
    message["stop_reason"] = Value::Null;
    message["usage"]["output_tokens"] = json!(1);
    let mut events = vec![
        sse::Event::named("message_start", &json!({"type": "message_start", "message": message})),
        sse::Event::named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": start}),
        ),
        sse::Event::named("ping", &json!({"type": "ping"})),
    ];
    for piece in sse::pieces(&text) {
        events.push(sse::Event::named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": delta_kind, delta_field: piece}}),
        ));
    }
    events.extend([
        sse::Event::named("content_block_stop", &json!({"type": "content_block_stop", "index": 0})),
        sse::Event::named(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
        ),
        sse::Event::named("message_stop", &json!({"type": "message_stop"})),
    ]);
    events
}
