//! `POST /chat/completions`: an OpenAI chat request as a DE text job. The
//! conversation becomes the job's input (`system` and `developer` turns its
//! system text, `user` and `assistant` turns its messages), the job is
//! submitted through the native API with the caller's key (and their
//! `Idempotency-Key`), and the answer waits for it to finish and is drawn as
//! `chat.completion`. Tools, tool turns and tool calls pass through as the job's
//! own. What DE cannot do for a request yet (images in
//! messages, several choices, log
//! probabilities…) is refused naming the parameter, never ignored.

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{error::OpenAiError, job, parameters::Parameters, stream};
use crate::{in_process::Api, state::AppState};

/// What a chat request may carry.
const PARAMETERS: Parameters = Parameters {
    served: &[
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "n",
        "user",
        "metadata",
        "stream",
        "stream_options",
        "response_format",
        "tools",
        "tool_choice",
    ],
    // The model makes as many calls as it makes.
    ignored: &["store", "service_tier", "parallel_tool_calls"],
    not_yet: &[
        "functions",
        "function_call",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "modalities",
        "audio",
        "prediction",
        "reasoning_effort",
        "web_search_options",
    ],
};

#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    /// Passed on as the job's own `response_format` (the same words), which
    /// checks it.
    #[serde(default)]
    response_format: Option<Value>,
    /// Passed on as the job's own (the same words), which checks them.
    #[serde(default)]
    tools: Option<Value>,
    #[serde(default)]
    tool_choice: Option<Value>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    /// An assistant turn's calls.
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
    /// The call a tool turn answers.
    #[serde(default)]
    tool_call_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Value>),
}

pub async fn create(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request = parse(&body)?;
    let (submit, origins) = submit_body(&request)?;
    let named_as_asked = |mut refused: OpenAiError| {
        refused.param = refused.param.map(|param| openai_param(&param, &origins));
        refused
    };
    if request.stream == Some(true) {
        let json_answer = request
            .response_format
            .as_ref()
            .is_some_and(|format| matches!(format["type"].as_str(), Some("json_object" | "json_schema")));
        let chunks = stream::Chunks {
            model: request.model.clone(),
            include_usage: request
                .stream_options
                .as_ref()
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
            json_answer,
        };
        return stream::chat(&state, &api, &headers, &submit, chunks)
            .await
            .map_err(named_as_asked);
    }
    let ran = job::run(&state, &api, &headers, &submit)
        .await
        .map_err(named_as_asked)?;
    let mut response = completion(&ran.job, &request.model)?;
    ran.tell(&mut response);
    Ok(response)
}

fn parse(body: &[u8]) -> Result<ChatRequest, OpenAiError> {
    let request: ChatRequest = PARAMETERS.read(body)?;
    if request.stream_options.is_some() && request.stream != Some(true) {
        return Err(OpenAiError::invalid(
            "stream_options",
            "invalid_value",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        ));
    }
    if request.n.is_some_and(|n| n != 1) {
        return Err(OpenAiError::invalid(
            "n",
            "unsupported_parameter",
            "DE's OpenAI-compatible API makes one choice per request; n must be 1",
        ));
    }
    Ok(request)
}

/// A native field as the OpenAI request names it: the job's `messages[k]` is
/// the request's `messages[origins[k]]` (its system turns are not among the
/// job's messages), and the job's `system` is made of the request's messages.
fn openai_param(param: &str, origins: &[usize]) -> String {
    if param == "system" {
        return "messages".into();
    }
    let Some(rest) = param.strip_prefix("messages[") else {
        return param.to_owned();
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return param.to_owned();
    };
    match index.parse::<usize>().ok().and_then(|k| origins.get(k)) {
        Some(origin) => format!("messages[{origin}]{tail}"),
        None => param.to_owned(),
    }
}

/// The native submit's body for the request, and where each of the job's
/// messages was in the request.
fn submit_body(request: &ChatRequest) -> Result<(Value, Vec<usize>), OpenAiError> {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    let mut origins = Vec::new();
    for (i, message) in request.messages.iter().enumerate() {
        let text = text_of(message, i)?;
        match message.role.as_str() {
            "system" | "developer" => system.push(text),
            "user" | "assistant" => {
                let mut turn = json!({ "role": message.role, "content": text });
                if let Some(calls) = message.tool_calls.as_ref().filter(|calls| !calls.is_empty()) {
                    turn["tool_calls"] = json!(calls);
                }
                messages.push(turn);
                origins.push(i);
            }
            "tool" => {
                messages.push(json!({ "role": "tool", "tool_call_id": message.tool_call_id, "content": text }));
                origins.push(i);
            }
            "function" => {
                return Err(OpenAiError::invalid(
                    &format!("messages[{i}].role"),
                    "unsupported_parameter",
                    "DE's OpenAI-compatible API takes tool messages (role `tool`), not the older `function` ones",
                ))
            }
            other => {
                return Err(OpenAiError::invalid(
                    &format!("messages[{i}].role"),
                    "invalid_value",
                    format!("Invalid value: '{other}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'."),
                ))
            }
        }
    }
    let mut input = Map::new();
    if !system.is_empty() {
        input.insert("system".into(), Value::String(system.join("\n\n")));
    }
    input.insert("messages".into(), Value::Array(messages));
    if let Some(max) = request.max_completion_tokens.or(request.max_tokens) {
        input.insert("max_tokens".into(), json!(max));
    }
    if let Some(temperature) = request.temperature {
        input.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        input.insert("top_p".into(), json!(top_p));
    }
    match &request.stop {
        Some(Stop::One(stop)) => {
            input.insert("stop".into(), json!([stop]));
        }
        Some(Stop::Many(stops)) if !stops.is_empty() => {
            input.insert("stop".into(), json!(stops));
        }
        _ => {}
    }
    if request.stream == Some(true) {
        input.insert("stream".into(), Value::Bool(true));
    }
    if let Some(format) = request.response_format.clone().filter(|f| !f.is_null()) {
        input.insert("response_format".into(), format);
    }
    for (name, given) in [("tools", &request.tools), ("tool_choice", &request.tool_choice)] {
        // `tools: []` asks for nothing (parameters.rs lets it through).
        if let Some(value) = given
            .clone()
            .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        {
            input.insert(name.into(), value);
        }
    }
    let mut metadata = request.metadata.clone().unwrap_or_default();
    if let Some(user) = &request.user {
        metadata.insert("openai_user".into(), Value::String(user.clone()));
    }
    let body = json!({
        "model": request.model,
        "input": input,
        "metadata": metadata,
    });
    Ok((body, origins))
}

/// A message's text: a string, or its text parts joined.
fn text_of(message: &Message, i: usize) -> Result<String, OpenAiError> {
    match &message.content {
        None => Ok(String::new()),
        Some(Content::Text(text)) => Ok(text.clone()),
        Some(Content::Parts(parts)) => {
            let mut text = String::new();
            for (j, part) in parts.iter().enumerate() {
                match part["type"].as_str() {
                    Some("text") => text.push_str(part["text"].as_str().unwrap_or_default()),
                    Some(other) => {
                        return Err(OpenAiError::invalid(
                            &format!("messages[{i}].content[{j}].type"),
                            "unsupported_parameter",
                            format!("DE's OpenAI-compatible API does not support `{other}` content parts yet"),
                        ))
                    }
                    None => {
                        return Err(OpenAiError::invalid(
                            &format!("messages[{i}].content[{j}].type"),
                            "missing_required_parameter",
                            "Missing required parameter: 'type'",
                        ))
                    }
                }
            }
            Ok(text)
        }
    }
}

/// OpenAI's finish reasons, from the provider's.
pub(super) fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("length" | "max_tokens") => "length",
        Some("tool_calls" | "tool_use") => "tool_calls",
        Some("content_filter" | "refusal") => "content_filter",
        _ => "stop",
    }
}

/// The assistant's message: the job's text, or its text and tool calls.
fn message(output: &Value) -> Value {
    match output {
        Value::Object(answer) => json!({
            "role": "assistant",
            "content": answer.get("text").cloned().unwrap_or(Value::Null),
            "refusal": null,
            "tool_calls": answer.get("tool_calls").cloned().unwrap_or_else(|| json!([])),
        }),
        text => json!({ "role": "assistant", "content": text, "refusal": null }),
    }
}

/// The finished job as `chat.completion`, or its failure as OpenAI's error.
fn completion(job: &Value, model: &str) -> Result<Response, OpenAiError> {
    let id = job["id"].as_str().unwrap_or_default();
    job::succeeded(job)?;
    let metrics = &job["metrics"];
    let prompt_tokens = metrics["input_tokens"].as_u64().unwrap_or(0);
    let completion_tokens = metrics["output_tokens"].as_u64().unwrap_or(0);
    let created = job["created_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp());
    let body = json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message(&job["output"]),
            "logprobs": null,
            "finish_reason": finish_reason(metrics["finish_reason"].as_str()),
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": null,
    });
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Value) -> Result<ChatRequest, OpenAiError> {
        parse(body.to_string().as_bytes())
    }

    #[test]
    fn a_conversation_becomes_the_jobs_input() {
        let chat = request(json!({
            "model": "claude-3.5-haiku",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi, "}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello."},
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Again"}
            ],
            "max_tokens": 10, "max_completion_tokens": 20, "stop": "END", "user": "u-1",
            "stream": false, "tools": [], "n": 1
        }))
        .ok()
        .expect("a request DE serves");
        let (body, origins) = submit_body(&chat).ok().expect("a job");
        assert_eq!(body["input"]["system"], "Be brief.\n\nAnswer in French.");
        assert_eq!(
            body["input"]["messages"][0],
            json!({"role": "user", "content": "Hi, there"})
        );
        assert_eq!(body["input"]["messages"].as_array().map(Vec::len), Some(3));
        assert_eq!(body["input"]["max_tokens"], 20, "max_completion_tokens wins");
        assert_eq!(body["input"]["stop"], json!(["END"]));
        assert_eq!(body["metadata"]["openai_user"], "u-1");
        assert_eq!(origins, [1, 2, 4]);
        assert_eq!(openai_param("messages[2].content", &origins), "messages[4].content");
        assert_eq!(openai_param("system", &origins), "messages");
    }

    #[test]
    fn what_de_does_not_serve_is_refused_by_name() {
        let refused = |body: Value| request(body).err().map(|e| (e.code, e.param));
        let base = |extra: Value| {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            body
        };
        let unsupported = |param: &str| Some(("unsupported_parameter".to_owned(), Some(param.to_owned())));
        assert_eq!(
            refused(base(json!({"stream_options": {"include_usage": true}}))).map(|(_, param)| param),
            Some(Some("stream_options".to_owned()))
        );
        assert!(refused(base(json!({"response_format": {"type": "json_object"}}))).is_none());
        assert_eq!(refused(base(json!({"n": 2}))), unsupported("n"));
        assert!(refused(base(
            json!({"tools": [{"type": "function", "function": {"name": "f"}}]})
        ))
        .is_none());
        assert_eq!(
            refused(base(json!({"frobnicate": 1}))),
            Some(("unknown_parameter".to_owned(), Some("frobnicate".to_owned())))
        );
        assert!(refused(base(json!({"response_format": {"type": "text"}}))).is_none());
        let image = json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]});
        let chat = request(json!({"model": "m", "messages": [image]}))
            .ok()
            .expect("parsed");
        assert_eq!(
            submit_body(&chat).err().map(|e| e.param),
            Some(Some("messages[0].content[0].type".to_owned()))
        );
    }

    #[test]
    fn provider_finish_reasons_read_as_openais() {
        assert_eq!(finish_reason(Some("end_turn")), "stop");
        assert_eq!(finish_reason(Some("max_tokens")), "length");
        assert_eq!(finish_reason(Some("tool_use")), "tool_calls");
        assert_eq!(finish_reason(None), "stop");
    }
}
