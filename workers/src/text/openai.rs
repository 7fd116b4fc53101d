//! OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by any
//! OpenAI-compatible server given its base URL.

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

pub struct OpenAiChat;

#[derive(Deserialize)]
struct Response {
    id: Option<String>,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

impl TextAdapter for OpenAiChat {
    fn request(
        &self,
        http: &Client,
        provider: &ProviderConfig,
        key: &Secret,
        model: &ModelConfig,
        input: &TextInput,
    ) -> RequestBuilder {
        let mut messages = Vec::new();
        if let Some(system) = &input.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for turn in input.conversation() {
            let role = match turn.role {
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            };
            messages.push(json!({ "role": role, "content": turn.content }));
        }
        let mut body = json!({
            "model": model.provider_model,
            "messages": messages,
            "max_tokens": max_tokens(model, input),
        });
        if let Some(t) = input.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = input.top_p {
            body["top_p"] = json!(p);
        }
        if let Some(stop) = &input.stop {
            body["stop"] = json!(stop);
        }
        http.post(format!("{}/v1/chat/completions", provider.base_url))
            .bearer_auth(key.expose())
            .json(&body)
    }

    fn parse(&self, response: &ProviderResponse) -> Result<TextCompletion, String> {
        let parsed: Response = serde_json::from_slice(&response.body).map_err(|e| format!("chat completion: {e}"))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or("chat completion without choices")?;
        let text = choice
            .message
            .content
            .or(choice.message.refusal)
            .ok_or("chat completion without content")?;
        let usage = parsed.usage.unwrap_or(Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
        });
        Ok(TextCompletion {
            text,
            finish_reason: choice.finish_reason,
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            provider_request_id: parsed.id,
        })
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(body).ok().map(|e| e.error.message)
    }

    fn rate_limits(&self, headers: &reqwest::header::HeaderMap) -> electrons_domain::limiter::Observation {
        crate::rate_limit_headers::openai(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_errors_in_openai_shape() {
        let body = serde_json::to_vec(
            &json!({"error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature", "code": null}}),
        );
        assert_eq!(
            OpenAiChat.error_message(&body.unwrap_or_default()).as_deref(),
            Some("bad temperature")
        );
        assert_eq!(OpenAiChat.error_message(b"<html>"), None);
    }

    #[test]
    fn a_completion_with_tool_calls_and_no_content_is_not_text() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
        });
        let response = ProviderResponse {
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: serde_json::to_vec(&body).unwrap_or_default().into(),
        };
        // generate() turns this into ProviderError::Unusable: billed, not retried.
        let reason = OpenAiChat.parse(&response).expect_err("no text to give");
        assert!(reason.contains("without content"), "{reason}");
    }
}
