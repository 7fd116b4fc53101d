//! Anthropic Messages (`POST /v1/messages`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_domain::{catalog::Api, input::ChatRole, limiter::Observation};
use reqwest::{header::HeaderMap, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use super::max_tokens;
use crate::{
    adapter::{Adapter, Call, Produced, Reader, TextCompletion},
    provider_call::{ProviderError, ProviderResponse},
    rate_limit_headers::{number, text, window},
};

const API_VERSION: &str = "2023-06-01";

pub struct AnthropicMessages;

#[derive(Deserialize)]
struct Response {
    id: Option<String>,
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

impl Adapter for AnthropicMessages {
    fn apis(&self) -> &'static [Api] {
        &[Api::AnthropicMessages]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let (model, input) = (call.model, call.text()?);
        let messages: Vec<_> = input
            .conversation()
            .into_iter()
            .map(|turn| {
                let role = match turn.role {
                    ChatRole::User => "user",
                    ChatRole::Assistant => "assistant",
                };
                json!({ "role": role, "content": turn.content })
            })
            .collect();
        let mut body = json!({
            "model": model.provider_model,
            "max_tokens": max_tokens(model, input),
            "messages": messages,
        });
        if let Some(system) = &input.system {
            body["system"] = json!(system);
        }
        if let Some(t) = input.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = input.top_p {
            body["top_p"] = json!(p);
        }
        if let Some(stop) = &input.stop {
            body["stop_sequences"] = json!(stop);
        }
        Ok(call
            .http
            .post(call.url("v1/messages"))
            .header("x-api-key", call.key.expose())
            .header("anthropic-version", API_VERSION)
            .json(&body))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(|call, response| {
            message(response)
                .map(Produced::Text)
                .map_err(|reason| response.unusable(reason, call.key))
        })
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|e| format!("{}: {}", e.error.kind, e.error.message))
    }

    fn rate_limits(&self, headers: &HeaderMap) -> Observation {
        rate_limits_in(headers, Utc::now())
    }
}

/// The message in a successful answer, or why there is none.
fn message(response: &ProviderResponse) -> Result<TextCompletion, String> {
    let parsed: Response = serde_json::from_slice(&response.body).map_err(|e| format!("message: {e}"))?;
    let text: String = parsed
        .content
        .iter()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text.as_deref())
        .collect::<Vec<_>>()
        .join("");
    let usage = parsed.usage.unwrap_or(Usage {
        input_tokens: 0,
        output_tokens: 0,
    });
    Ok(TextCompletion {
        text,
        finish_reason: parsed.stop_reason,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        provider_request_id: parsed.id,
    })
}

/// Anthropic's `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
/// remaining,reset}`, resets as RFC 3339 times.
fn rate_limits_in(headers: &HeaderMap, now: DateTime<Utc>) -> Observation {
    let window = |what: &str| {
        window(
            number(headers, &format!("anthropic-ratelimit-{what}-limit")),
            number(headers, &format!("anthropic-ratelimit-{what}-remaining")),
            text(headers, &format!("anthropic-ratelimit-{what}-reset"))
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| (at.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO)),
        )
    };
    Observation {
        requests: window("requests"),
        tokens: window("tokens"),
        input_tokens: window("input-tokens"),
        output_tokens: window("output-tokens"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_errors_in_anthropic_shape() {
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#;
        assert_eq!(
            AnthropicMessages.error_message(body).as_deref(),
            Some("invalid_request_error: max_tokens: too large")
        );
    }

    #[test]
    fn reads_anthropic_headers() {
        use electrons_domain::limiter::Window;
        use reqwest::header::HeaderValue;

        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2026-11-25T10:00:03Z"),
            ("anthropic-ratelimit-output-tokens-limit", "8000"),
            ("anthropic-ratelimit-output-tokens-remaining", "not a number"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let seen = rate_limits_in(&headers, now);
        assert_eq!(
            seen.requests,
            Some(Window {
                limit: Some(50.0),
                remaining: Some(0.0),
                reset: Some(Duration::from_secs(3))
            })
        );
        assert_eq!(seen.output_tokens.and_then(|w| w.remaining), None);
        assert_eq!(seen.output_tokens.and_then(|w| w.limit), Some(8000.0));
    }
}
