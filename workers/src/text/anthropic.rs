//! Anthropic Messages (`POST /v1/messages`).

use electrons_domain::{
    catalog::{ModelConfig, ProviderConfig},
    input::{ChatRole, TextInput},
    secret::Secret,
};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use super::{max_tokens, TextAdapter};
use crate::adapter::TextCompletion;
use crate::provider_call::ProviderResponse;

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

impl TextAdapter for AnthropicMessages {
    fn request(
        &self,
        http: &Client,
        provider: &ProviderConfig,
        key: &Secret,
        model: &ModelConfig,
        input: &TextInput,
    ) -> RequestBuilder {
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
        http.post(format!("{}/v1/messages", provider.base_url))
            .header("x-api-key", key.expose())
            .header("anthropic-version", API_VERSION)
            .json(&body)
    }

    fn parse(&self, response: &ProviderResponse) -> Result<TextCompletion, String> {
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

    fn error_message(&self, body: &[u8]) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|e| format!("{}: {}", e.error.kind, e.error.message))
    }

    fn rate_limits(&self, headers: &reqwest::header::HeaderMap) -> electrons_domain::limiter::Observation {
        crate::rate_limit_headers::anthropic(headers, chrono::Utc::now())
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
}
