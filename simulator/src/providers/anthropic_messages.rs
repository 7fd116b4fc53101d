//! Anthropic Messages: `POST /v1/messages`.

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use serde_json::{json, Value};

use super::{answer, content_text, error_response, number_in, positive_integer, reply, tokens, Call, Dialect};
use crate::Controls;

const KNOWN: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
];

pub struct Anthropic;

impl Dialect for Anthropic {
    const ENDPOINT: &'static str = "anthropic.messages";

    fn error(status: u16, message: &str) -> Value {
        let kind = match status {
            400 | 413 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        json!({ "type": "error", "error": { "type": kind, "message": message } })
    }

    fn rate_limited(_retry_after_secs: u64) -> Value {
        json!({ "type": "error", "error": { "type": "rate_limit_error",
            "message": "This request would exceed the rate limit for your organization. Please try again later." } })
    }

    fn malformed() -> &'static str {
        r#"{"id": "msg_trunc", "type": "message", "content": [{"type": "text", "te"#
    }
}

pub async fn handle(State(controls): State<Controls>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Utc::now();
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let model = parsed
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let prompt = parsed.as_ref().and_then(last_user_text);
    let checked = check(&headers, parsed.as_ref());
    answer::<Anthropic>(&controls, Call { arrived, model, prompt }, checked).await
}

fn check(headers: &HeaderMap, body: Option<&Value>) -> Result<Response, Response> {
    if headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|k| k.trim().is_empty())
    {
        return Err(error_response::<Anthropic>(401, "x-api-key header is required"));
    }
    let bad = |message: String| error_response::<Anthropic>(400, &message);
    if headers.get("anthropic-version").is_none() {
        return Err(bad("anthropic-version: header is required".into()));
    }
    let body = body
        .and_then(Value::as_object)
        .ok_or_else(|| bad("messages: the request body must be a JSON object".into()))?;
    if let Some(extra) = body.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("{extra}: Extra inputs are not permitted")));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("model: Field required".into()))?;
    let max_tokens = body
        .get("max_tokens")
        .ok_or_else(|| bad("max_tokens: Field required".into()))?;
    if !positive_integer(max_tokens) {
        return Err(bad("max_tokens: Input should be a valid positive integer".into()));
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("messages: at least one message is required".into()))?;
    let mut input_text = String::new();
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            Some("system") => {
                return Err(bad(format!(
                    "messages.{i}.role: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
                )))
            }
            _ => return Err(bad(format!("messages.{i}.role: Input should be 'user' or 'assistant'"))),
        }
        let text = message.get("content").and_then(content_text).ok_or_else(|| {
            bad(format!(
                "messages.{i}.content: Input should be a valid string or list of content blocks"
            ))
        })?;
        input_text.push_str(&text);
    }
    if let Some(system) = body.get("system") {
        input_text.push_str(
            &content_text(system)
                .ok_or_else(|| bad("system: Input should be a valid string or list of text blocks".into()))?,
        );
    }
    if body.get("temperature").is_some_and(|v| !number_in(v, 0.0, 1.0)) {
        return Err(bad("temperature: Input should be less than or equal to 1".into()));
    }
    if body.get("top_p").is_some_and(|v| !number_in(v, 0.0, 1.0)) {
        return Err(bad("top_p: Input should be between 0 and 1".into()));
    }
    if body
        .get("stop_sequences")
        .is_some_and(|v| !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
    {
        return Err(bad("stop_sequences: Input should be a valid list of strings".into()));
    }
    if body.get("stream").is_some_and(|v| v.as_bool() == Some(true)) {
        return Err(bad("stream: streaming is not supported by the simulator".into()));
    }
    let prompt = last_user_text(&Value::Object(body.clone())).unwrap_or_default();
    let (text, cut) = reply(model, &prompt, max_tokens.as_u64().unwrap_or(1));
    let (input_tokens, output_tokens) = (tokens(&input_text), tokens(&text));
    let response = json!({
        "id": format!("msg_{}", uuid::Uuid::new_v4().simple()),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{ "type": "text", "text": text }],
        "stop_reason": if cut { "max_tokens" } else { "end_turn" },
        "stop_sequence": null,
        "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens },
    });
    let reset = (Utc::now() + chrono::Duration::seconds(60)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let headers = [
        ("request-id", format!("req_{}", uuid::Uuid::new_v4().simple())),
        ("anthropic-ratelimit-requests-limit", "4000".into()),
        ("anthropic-ratelimit-requests-remaining", "3999".into()),
        ("anthropic-ratelimit-requests-reset", reset.clone()),
        ("anthropic-ratelimit-tokens-limit", "400000".into()),
        (
            "anthropic-ratelimit-tokens-remaining",
            (400_000 - input_tokens - output_tokens).to_string(),
        ),
        ("anthropic-ratelimit-tokens-reset", reset),
    ];
    Ok((headers, Json(response)).into_response())
}

fn last_user_text(body: &Value) -> Option<String> {
    body.get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .and_then(content_text)
}
