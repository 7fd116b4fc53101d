//! OpenAI Chat Completions: `POST /v1/chat/completions`.

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{answer, content_text, error_response, number_in, positive_integer, reply, tokens, Call, Dialect};
use crate::Controls;

const KNOWN: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "stream",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "logprobs",
    "top_logprobs",
    "metadata",
    "store",
    "parallel_tool_calls",
    "stream_options",
    "service_tier",
    "reasoning_effort",
    "modalities",
    "prediction",
    "audio",
];
const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

pub struct OpenAi;

impl Dialect for OpenAi {
    const ENDPOINT: &'static str = "openai.chat";

    fn error(status: u16, message: &str) -> Value {
        let kind = match status {
            400 | 404 | 422 => "invalid_request_error",
            401 => "invalid_request_error",
            429 => "requests",
            _ => "server_error",
        };
        json!({ "error": { "message": message, "type": kind, "param": null, "code": null } })
    }

    fn rate_limited(retry_after_secs: u64) -> Value {
        json!({ "error": {
            "message": format!("Rate limit reached for requests. Please try again in {retry_after_secs}s."),
            "type": "requests", "param": null, "code": "rate_limit_exceeded" } })
    }

    fn malformed() -> &'static str {
        r#"{"id": "chatcmpl-trunc", "object": "chat.completion", "choices": [{"index": 0, "mess"#
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
    answer::<OpenAi>(&controls, Call { arrived, model, prompt }, checked).await
}

fn check(headers: &HeaderMap, body: Option<&Value>) -> Result<Response, Response> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty());
    if !authorized {
        return Err(error_response::<OpenAi>(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    }
    let bad = |message: String| error_response::<OpenAi>(400, &message);
    let body = body.and_then(Value::as_object).ok_or_else(|| {
        bad("We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.".into())
    })?;
    if let Some(unknown) = body.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("Unrecognized request argument supplied: {unknown}")));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("you must provide a model parameter".into()))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("'messages' must be a non-empty array".into()))?;
    let mut input_text = String::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        if !ROLES.contains(&role) {
            return Err(bad(format!(
                "Invalid value for 'messages[{i}].role': expected one of {}",
                ROLES.join(", ")
            )));
        }
        let text = message.get("content").and_then(content_text).ok_or_else(|| {
            bad(format!(
                "Invalid type for 'messages[{i}].content': expected a string or an array of parts"
            ))
        })?;
        input_text.push_str(&text);
    }
    check_optional(body, &bad)?;
    let max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(4096);
    let prompt = last_user_text(&Value::Object(body.clone())).unwrap_or_default();
    let (text, cut) = reply(model, &prompt, max_tokens);
    let (prompt_tokens, completion_tokens) = (tokens(&input_text), tokens(&text));
    let response = json!({
        "id": format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": Utc::now().timestamp(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text, "refusal": null },
            "logprobs": null,
            "finish_reason": if cut { "length" } else { "stop" },
        }],
        "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens },
    });
    let headers = [
        ("x-request-id", format!("req_{}", uuid::Uuid::new_v4().simple())),
        ("x-ratelimit-limit-requests", "10000".into()),
        ("x-ratelimit-remaining-requests", "9999".into()),
        ("x-ratelimit-reset-requests", "6ms".into()),
        ("x-ratelimit-limit-tokens", "2000000".into()),
        (
            "x-ratelimit-remaining-tokens",
            (2_000_000 - prompt_tokens - completion_tokens).to_string(),
        ),
        ("x-ratelimit-reset-tokens", "0s".into()),
    ];
    Ok((headers, Json(response)).into_response())
}

fn check_optional(body: &Map<String, Value>, bad: &dyn Fn(String) -> Response) -> Result<(), Response> {
    for field in ["max_tokens", "max_completion_tokens"] {
        if body.get(field).is_some_and(|v| !positive_integer(v)) {
            return Err(bad(format!("Invalid '{field}': must be a positive integer")));
        }
    }
    if body.get("temperature").is_some_and(|v| !number_in(v, 0.0, 2.0)) {
        return Err(bad("Invalid 'temperature': must be a number between 0 and 2".into()));
    }
    if body.get("top_p").is_some_and(|v| !number_in(v, 0.0, 1.0)) {
        return Err(bad("Invalid 'top_p': must be a number between 0 and 1".into()));
    }
    if body.get("n").is_some_and(|v| !positive_integer(v)) {
        return Err(bad("Invalid 'n': must be a positive integer".into()));
    }
    if body.get("stop").is_some_and(|v| {
        !(v.is_string() || v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
    }) {
        return Err(bad("Invalid 'stop': must be a string or an array of strings".into()));
    }
    if body.get("stream").is_some_and(|v| v.as_bool() == Some(true)) {
        return Err(bad("stream=true is not supported by the simulator".into()));
    }
    Ok(())
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
