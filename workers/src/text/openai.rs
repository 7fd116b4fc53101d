//! OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by any
//! OpenAI-compatible server given its base URL.

use electrons_domain::{
    catalog::Api,
    input::{ChatRole, TextInput, ToolCall},
    limiter::Observation,
};
use reqwest::{header::HeaderMap, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use super::max_tokens;
use crate::{
    adapter::{Adapter, Call, Produced, Reader, TextCompletion},
    provider_call::{ProviderError, ProviderResponse},
    rate_limit_headers::{go_duration, number, text, window},
    text::streaming::{StreamFailure, TextStream},
};

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
    #[serde(default)]
    tool_calls: Vec<AnsweredCall>,
}

/// A tool call in an answer, read leniently (OpenAI may add fields).
#[derive(Deserialize)]
struct AnsweredCall {
    id: String,
    function: AnsweredFunction,
}

#[derive(Deserialize)]
struct AnsweredFunction {
    name: String,
    #[serde(default)]
    arguments: String,
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

impl Adapter for OpenAiChat {
    fn apis(&self) -> &'static [Api] {
        &[Api::OpenAiChat]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let (model, input) = (call.model, call.text()?);
        let mut messages = Vec::new();
        if let Some(system) = &input.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for turn in input.conversation() {
            messages.push(match turn.role {
                ChatRole::User => json!({ "role": "user", "content": turn.content }),
                ChatRole::Assistant if !turn.calls().is_empty() => json!({
                    "role": "assistant",
                    "content": (!turn.content.is_empty()).then_some(&turn.content),
                    "tool_calls": turn.calls(),
                }),
                ChatRole::Assistant => json!({ "role": "assistant", "content": turn.content }),
                ChatRole::Tool => json!({ "role": "tool", "tool_call_id": turn.tool_call_id, "content": turn.content }),
            });
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
        if let Some(tools) = &input.tools {
            body["tools"] = json!(tools);
        }
        if let Some(choice) = &input.tool_choice {
            body["tool_choice"] = json!(choice);
        }
        if let Some(format) = &input.response_format {
            // OpenAI's own words, as the job has them.
            body["response_format"] = json!(format);
        }
        if input.streams() {
            // The usage arrives in a last chunk only when asked for; the call's bill needs it.
            body["stream"] = json!(true);
            body["stream_options"] = json!({ "include_usage": true });
        }
        Ok(call
            .http
            .post(call.url("v1/chat/completions"))
            .bearer_auth(call.key.expose())
            .json(&body))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(|call, response| {
            completion(response)
                .map(Produced::Text)
                .map_err(|reason| response.unusable(reason, call.key))
        })
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(body).ok().map(|e| e.error.message)
    }

    fn text_stream(&self, _input: &TextInput) -> Option<Box<dyn TextStream>> {
        Some(Box::<ChunkStream>::default())
    }

    fn rate_limits(&self, headers: &HeaderMap) -> Observation {
        rate_limits_in(headers)
    }
}

/// The chat completion in a successful answer, or why there is none.
fn completion(response: &ProviderResponse) -> Result<TextCompletion, String> {
    let parsed: Response = serde_json::from_slice(&response.body).map_err(|e| format!("chat completion: {e}"))?;
    let choice = parsed
        .choices
        .into_iter()
        .next()
        .ok_or("chat completion without choices")?;
    let tool_calls: Vec<ToolCall> = choice
        .message
        .tool_calls
        .into_iter()
        .map(|call| ToolCall::new(call.id, call.function.name, call.function.arguments))
        .collect();
    let text = match (choice.message.content.or(choice.message.refusal), tool_calls.is_empty()) {
        (Some(text), _) => text,
        (None, false) => String::new(),
        (None, true) => return Err("chat completion without content".into()),
    };
    let usage = parsed.usage.unwrap_or(Usage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    Ok(TextCompletion {
        text,
        tool_calls,
        finish_reason: choice.finish_reason,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        provider_request_id: parsed.id,
    })
}

/// A streamed chat completion: `chat.completion.chunk`s, the first choice's
/// `delta.content` the text, a last chunk with the usage, then `[DONE]`.
#[derive(Default)]
struct ChunkStream {
    id: Option<String>,
    text: String,
    /// Tool calls as their pieces arrive, by index: id, name, arguments so far.
    calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

#[derive(Deserialize)]
struct Chunk {
    id: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<Usage>,
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<CallPiece>,
}

/// A piece of a streamed tool call: the first has its id and name, every one
/// a piece of the arguments.
#[derive(Deserialize)]
struct CallPiece {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<PieceFunction>,
}

#[derive(Deserialize)]
struct PieceFunction {
    name: Option<String>,
    arguments: Option<String>,
}

impl TextStream for ChunkStream {
    fn event(&mut self, _name: &str, data: &str) -> Result<Option<String>, StreamFailure> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| StreamFailure::Unusable(format!("not a chat.completion.chunk: {e}")))?;
        if let Some(error) = chunk.error {
            // OpenAI ends a stream it cannot finish with an error object (a server error).
            return Err(StreamFailure::Provider {
                status: 500,
                message: error.message,
            });
        }
        self.id = self.id.take().or(chunk.id);
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let mut added = String::new();
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                added.extend(delta.content.or(delta.refusal));
                for piece in delta.tool_calls {
                    if self.calls.len() <= piece.index {
                        self.calls.resize_with(piece.index + 1, Default::default);
                    }
                    let call = &mut self.calls[piece.index];
                    call.0.extend(piece.id);
                    if let Some(function) = piece.function {
                        call.1.extend(function.name);
                        call.2.extend(function.arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        self.text.push_str(&added);
        Ok((!added.is_empty()).then_some(added))
    }

    fn done(&self) -> bool {
        self.done
    }

    fn finish(self: Box<Self>) -> Result<TextCompletion, StreamFailure> {
        if !self.done {
            return Err(StreamFailure::Unusable("the stream ended before [DONE]".into()));
        }
        let usage = self.usage.unwrap_or(Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
        });
        let tool_calls = self
            .calls
            .into_iter()
            .map(|(id, name, arguments)| ToolCall::new(id, name, arguments))
            .collect();
        Ok(TextCompletion {
            text: self.text,
            tool_calls,
            finish_reason: self.finish_reason,
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            provider_request_id: self.id,
        })
    }
}

/// OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as
/// Go-style durations such as `6m0s` or `20ms`.
pub(crate) fn rate_limits_in(headers: &HeaderMap) -> Observation {
    let window = |what: &str| {
        window(
            number(headers, &format!("x-ratelimit-limit-{what}")),
            number(headers, &format!("x-ratelimit-remaining-{what}")),
            text(headers, &format!("x-ratelimit-reset-{what}")).and_then(go_duration),
        )
    };
    Observation {
        requests: window("requests"),
        tokens: window("tokens"),
        ..Default::default()
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
    fn a_completion_with_tool_calls_and_no_content_is_its_calls() {
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
        let answered = completion(&response).expect("its calls");
        assert_eq!(answered.text, "");
        assert_eq!(answered.tool_calls, [ToolCall::new("call_1", "f", "{}")]);
        assert_eq!(answered.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn reads_a_streamed_completion() {
        let mut stream: Box<dyn TextStream> = Box::<ChunkStream>::default();
        let events = [
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        ];
        let added: Vec<Option<String>> = events
            .iter()
            .map(|e| stream.event("message", e).expect("a chunk"))
            .collect();
        assert_eq!(added, [None, Some("Hel".into()), Some("lo".into()), None, None]);
        assert!(!stream.done());
        assert_eq!(stream.event("message", "[DONE]"), Ok(None));
        assert!(stream.done());
        let completion = stream.finish().expect("complete");
        assert_eq!(completion.text, "Hello");
        assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
        assert_eq!((completion.input_tokens, completion.output_tokens), (3, 2));
        assert_eq!(completion.provider_request_id.as_deref(), Some("chatcmpl-1"));
    }

    #[test]
    fn a_stream_without_done_or_with_an_error_is_not_a_completion() {
        let mut cut: Box<dyn TextStream> = Box::<ChunkStream>::default();
        let piece = r#"{"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#;
        assert_eq!(cut.event("message", piece), Ok(Some("Hel".into())));
        assert!(matches!(cut.finish(), Err(StreamFailure::Unusable(_))));
        let mut failing: Box<dyn TextStream> = Box::<ChunkStream>::default();
        let error = r#"{"error":{"message":"The server had an error","type":"server_error"}}"#;
        assert!(matches!(
            failing.event("message", error),
            Err(StreamFailure::Provider { status: 500, .. })
        ));
        assert!(matches!(
            failing.event("message", "<html>"),
            Err(StreamFailure::Unusable(_))
        ));
    }

    #[test]
    fn reads_openai_headers() {
        use std::time::Duration;

        use electrons_domain::limiter::Window;
        use reqwest::header::HeaderValue;

        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "29000"),
            ("x-ratelimit-reset-tokens", "2s"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let seen = rate_limits_in(&headers);
        assert_eq!(
            seen.requests,
            Some(Window {
                limit: Some(500.0),
                remaining: Some(499.0),
                reset: Some(Duration::from_millis(120))
            })
        );
        assert_eq!(seen.tokens.and_then(|w| w.remaining), Some(29000.0));
        assert!(seen.input_tokens.is_none());
        assert!(rate_limits_in(&HeaderMap::new()).is_empty());
    }
}
