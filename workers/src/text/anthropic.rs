//! Anthropic Messages (`POST /v1/messages`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_domain::{
    catalog::Api,
    input::{TextInput, ToolCall},
    limiter::Observation,
};
use reqwest::{header::HeaderMap, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use super::{anthropic_tools, max_tokens};
use crate::{
    adapter::{Adapter, Call, Produced, Reader, TextCompletion},
    provider_call::{ProviderError, ProviderResponse},
    rate_limit_headers::{number, text, window},
    text::streaming::{StreamFailure, TextStream},
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
    /// A `tool_use` block's: the JSON answer when one was asked for, else a tool call.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
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
        let messages = anthropic_tools::messages(input);
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
        if let Some((tools, choice)) = anthropic_tools::tools(input) {
            body["tools"] = tools;
            if let Some(choice) = choice {
                body["tool_choice"] = choice;
            }
        }
        if let Some(format) = input.json_format() {
            // Anthropic's way to a JSON answer: one tool whose input is the
            // schema, and the model made to call it; the call's input is the
            // answer (the job's own tools are not offered with it).
            body["tools"] = json!([{
                "name": format.name(),
                "description": "Give the answer as this tool's input.",
                "input_schema": format.schema(),
            }]);
            body["tool_choice"] = json!({ "type": "tool", "name": format.name() });
        }
        if input.streams() {
            body["stream"] = json!(true);
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
            let json_answer = call.text().is_ok_and(|input| input.json_format().is_some());
            message(response, json_answer)
                .map(Produced::Text)
                .map_err(|reason| response.unusable(reason, call.key))
        })
    }

    fn error_message(&self, body: &[u8]) -> Option<String> {
        serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|e| format!("{}: {}", e.error.kind, e.error.message))
    }

    fn text_stream(&self, input: &TextInput) -> Option<Box<dyn TextStream>> {
        Some(Box::new(EventStream {
            json_answer: input.json_format().is_some(),
            ..EventStream::default()
        }))
    }

    fn rate_limits(&self, headers: &HeaderMap) -> Observation {
        rate_limits_in(headers, Utc::now())
    }
}

/// A streamed message: `message_start` (its id and input tokens),
/// `content_block_delta`s of `text_delta`s (the text), `message_delta` (the
/// stop reason and output tokens), `message_stop`; an `error` event in
/// between is the status the API would have answered.
#[derive(Default)]
struct EventStream {
    /// The job asked for JSON: a tool call's input is the answer's text.
    json_answer: bool,
    id: Option<String>,
    text: String,
    /// Tool calls by block index: id, name, arguments so far.
    calls: Vec<(usize, String, String, String)>,
    stop_reason: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
    done: bool,
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    index: usize,
    content_block: Option<Block>,
    message: Option<StartedMessage>,
    delta: Option<StreamDelta>,
    usage: Option<PartialUsage>,
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct StartedMessage {
    id: Option<String>,
    usage: Option<PartialUsage>,
}

#[derive(Deserialize)]
struct StreamDelta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    /// A `tool_use` block's input, in pieces (the JSON answer).
    partial_json: Option<String>,
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct PartialUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

/// The stop reason as the job records it: the forced tool call that carries
/// a JSON answer is the answer's end, not a call of the job's tools.
fn finish_reason(stop_reason: Option<String>, json_answer: bool) -> Option<String> {
    match stop_reason.as_deref() {
        Some("tool_use") if json_answer => Some("end_turn".into()),
        _ => stop_reason,
    }
}

/// The HTTP status Anthropic answers for an error type.
fn status_of(kind: &str) -> u16 {
    match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "billing_error" => 402,
        "timeout_error" => 504,
        _ => 500,
    }
}

impl TextStream for EventStream {
    fn event(&mut self, _name: &str, data: &str) -> Result<Option<String>, StreamFailure> {
        let event: StreamEvent =
            serde_json::from_str(data).map_err(|e| StreamFailure::Unusable(format!("not a message event: {e}")))?;
        match event.kind.as_str() {
            "message_start" => {
                let message = event
                    .message
                    .ok_or_else(|| StreamFailure::Unusable("message_start without a message".into()))?;
                self.id = message.id;
                if let Some(usage) = message.usage {
                    self.input_tokens = usage.input_tokens.unwrap_or(0);
                    self.output_tokens = usage.output_tokens.unwrap_or(0);
                }
            }
            "content_block_start" => {
                if let Some(block) = event
                    .content_block
                    .filter(|b| b.kind == "tool_use" && !self.json_answer)
                {
                    let (id, name) = (block.id.unwrap_or_default(), block.name.unwrap_or_default());
                    self.calls.push((event.index, id, name, String::new()));
                }
            }
            "content_block_delta" => {
                let index = event.index;
                let piece = event.delta.and_then(|delta| match delta.kind.as_deref() {
                    // A JSON answer is the forced tool call's input, and only that.
                    Some("text_delta") if self.json_answer => None,
                    Some("text_delta") => delta.text,
                    Some("input_json_delta") if self.json_answer => delta.partial_json,
                    Some("input_json_delta") => {
                        if let Some(call) = self.calls.iter_mut().find(|call| call.0 == index) {
                            call.3.push_str(delta.partial_json.as_deref().unwrap_or_default());
                        }
                        None
                    }
                    _ => None,
                });
                if let Some(piece) = piece.filter(|p| !p.is_empty()) {
                    self.text.push_str(&piece);
                    return Ok(Some(piece));
                }
            }
            "message_delta" => {
                if let Some(stop_reason) = event.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(stop_reason);
                }
                // Cumulative: the message's output tokens so far.
                if let Some(output) = event.usage.and_then(|u| u.output_tokens) {
                    self.output_tokens = output;
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let error = event
                    .error
                    .ok_or_else(|| StreamFailure::Unusable("an error event without its error".into()))?;
                return Err(StreamFailure::Provider {
                    status: status_of(&error.kind),
                    message: format!("{}: {}", error.kind, error.message),
                });
            }
            // ping, content_block_start/stop, and types added later.
            _ => {}
        }
        Ok(None)
    }

    fn done(&self) -> bool {
        self.done
    }

    fn finish(self: Box<Self>) -> Result<TextCompletion, StreamFailure> {
        if !self.done {
            return Err(StreamFailure::Unusable("the stream ended before message_stop".into()));
        }
        let tool_calls = self
            .calls
            .into_iter()
            .map(|(_, id, name, arguments)| {
                // A call without arguments streams none; its input is {}.
                let arguments = if arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    arguments
                };
                ToolCall::new(id, name, arguments)
            })
            .collect();
        Ok(TextCompletion {
            text: self.text,
            tool_calls,
            finish_reason: finish_reason(self.stop_reason, self.json_answer),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            provider_request_id: self.id,
        })
    }
}

/// The message in a successful answer, or why there is none. `json_answer`:
/// the job asked for JSON, which is the one tool call's input.
fn message(response: &ProviderResponse, json_answer: bool) -> Result<TextCompletion, String> {
    let parsed: Response = serde_json::from_slice(&response.body).map_err(|e| format!("message: {e}"))?;
    let uses = || parsed.content.iter().filter(|b| b.kind == "tool_use");
    let json_input = uses().find_map(|b| b.input.as_ref()).filter(|_| json_answer);
    let text: String = match json_input {
        Some(input) => input.to_string(),
        None => parsed
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .filter_map(|b| b.text.as_deref())
            .collect::<Vec<_>>()
            .join(""),
    };
    let tool_calls = match json_answer {
        true => Vec::new(),
        false => uses()
            .map(|b| {
                let arguments = b.input.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
                ToolCall::new(
                    b.id.clone().unwrap_or_default(),
                    b.name.clone().unwrap_or_default(),
                    arguments,
                )
            })
            .collect(),
    };
    let usage = parsed.usage.unwrap_or(Usage {
        input_tokens: 0,
        output_tokens: 0,
    });
    Ok(TextCompletion {
        text,
        tool_calls,
        finish_reason: finish_reason(parsed.stop_reason, json_answer),
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

    #[test]
    fn reads_a_streamed_message() {
        let mut stream: Box<dyn TextStream> = Box::<EventStream>::default();
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let added: Vec<Option<String>> = events.iter().map(|e| stream.event("x", e).expect("an event")).collect();
        let text: String = added.into_iter().flatten().collect();
        assert_eq!(text, "Hi there");
        assert!(stream.done());
        let message = stream.finish().expect("complete");
        assert_eq!((message.input_tokens, message.output_tokens), (12, 4));
        assert_eq!(message.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(message.provider_request_id.as_deref(), Some("msg_1"));
    }

    #[test]
    fn an_error_event_is_the_status_it_names() {
        let mut stream: Box<dyn TextStream> = Box::<EventStream>::default();
        let error = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            stream.event("error", error),
            Err(StreamFailure::Provider {
                status: 529,
                message: "overloaded_error: Overloaded".into()
            })
        );
        assert!(matches!(stream.finish(), Err(StreamFailure::Unusable(_))));
    }
}
