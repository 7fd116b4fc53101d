//! What OpenAI accepts as a chat completion request, with its own error wording
//! (`Invalid type for 'max_tokens': expected an integer, but got a string
//! instead.`, `param`, `code`). Optional arguments may be `null`, as in the real API.

use serde_json::{Map, Value};

use crate::providers::{
    openai::arguments::{decimal, integer, invalid_type, known_only, missing, present},
    rejection::Rejection,
    text,
};

/// Top-level arguments the real API knows; anything else is a 400.
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
const ROLES: &str = "'system', 'assistant', 'user', 'tool', and 'developer'";
/// Completion-token ceilings of the models DE's catalog ships; another model
/// gets none, as the simulator cannot know it.
const OUTPUT_LIMITS: &[(&str, u64)] = &[("gpt-4o", 16_384), ("gpt-4o-mini", 16_384)];

/// A request the real API would serve, reduced to what the answer needs.
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub input_tokens: u64,
    pub max_tokens: Option<u64>,
    pub n: u64,
    /// Answer as server-sent `chat.completion.chunk`s.
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the usage.
    pub include_usage: bool,
    /// The schema the answer follows when `response_format` asks for JSON.
    pub json_schema: Option<Value>,
    /// The function the simulated model calls: its name and parameters' schema.
    pub called_function: Option<(String, Value)>,
    /// After a tool's answer (the last message is a `tool` one): its text.
    pub tool_answer: Option<String>,
}

impl<'a> ChatRequest<'a> {
    pub fn parse(body: &'a Map<String, Value>) -> Result<Self, Rejection> {
        known_only(body, KNOWN)?;
        let model = match present(body, "model") {
            None => return Err(Rejection::bad_request("you must provide a model parameter")),
            Some(Value::String(model)) => model.as_str(),
            Some(other) => return Err(invalid_type("model", "a string", other)),
        };
        let input_tokens = messages(body.get("messages"))?;
        let max_tokens = output_tokens(body, model)?;
        let n = integer(body, "n", 1, Some(128))?.unwrap_or(1);
        decimal(body, "temperature", 0.0, 2.0)?;
        decimal(body, "top_p", 0.0, 1.0)?;
        decimal(body, "presence_penalty", -2.0, 2.0)?;
        decimal(body, "frequency_penalty", -2.0, 2.0)?;
        stop(body)?;
        let stream = match present(body, "stream") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(other) => return Err(invalid_type("stream", "a boolean", other)),
        };
        let include_usage = stream_usage(body, stream)?;
        let json_schema = response_format(body)?;
        let tool_answer = tool_answer(body);
        let called_function = called_function(body, tool_answer.is_some())?;
        Ok(Self {
            model,
            input_tokens,
            max_tokens,
            n,
            stream,
            include_usage,
            json_schema,
            called_function,
            tool_answer,
        })
    }
}

/// `stream_options`, which OpenAI takes only with `stream: true`; whether it
/// asks for the usage chunk.
fn stream_usage(body: &Map<String, Value>, stream: bool) -> Result<bool, Rejection> {
    let options = match present(body, "stream_options") {
        None => return Ok(false),
        Some(Value::Object(options)) => options,
        Some(other) => return Err(invalid_type("stream_options", "an object", other)),
    };
    if !stream {
        return Err(
            Rejection::bad_request("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
                .param("stream_options"),
        );
    }
    match options.get("include_usage") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(include)) => Ok(*include),
        Some(other) => Err(invalid_type("stream_options.include_usage", "a boolean", other)),
    }
}

/// `response_format`: `text`, `json_object` (the messages must say "json"
/// somewhere, as OpenAI requires) or `json_schema` with a `name` and a
/// `schema`; the schema the answer is to follow.
fn response_format(body: &Map<String, Value>) -> Result<Option<Value>, Rejection> {
    let Some(format) = present(body, "response_format") else {
        return Ok(None);
    };
    let Some(format) = format.as_object() else {
        return Err(invalid_type("response_format", "an object", format));
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => {
            let says_json = body
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("content").and_then(text::plain_text))
                .any(|text| text.to_lowercase().contains("json"));
            if !says_json {
                return Err(Rejection::bad_request(
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                )
                .param("messages"));
            }
            Ok(Some(
                serde_json::json!({"type": "object", "properties": {"reply": {"type": "string"}}}),
            ))
        }
        Some("json_schema") => {
            let spec = format.get("json_schema").and_then(Value::as_object);
            let Some(spec) = spec else {
                return Err(missing("response_format.json_schema"));
            };
            if !spec.get("name").is_some_and(Value::is_string) {
                return Err(missing("response_format.json_schema.name"));
            }
            match spec.get("schema") {
                Some(schema @ Value::Object(_)) => Ok(Some(schema.clone())),
                Some(other) => Err(invalid_type("response_format.json_schema.schema", "an object", other)),
                // OpenAI takes a missing schema as any JSON.
                None => Ok(Some(serde_json::json!({"type": "object"}))),
            }
        }
        _ => Err(Rejection::bad_request(
            "Invalid value for 'response_format.type': expected one of 'text', 'json_object' or 'json_schema'.",
        )
        .param("response_format.type")),
    }
}

/// The function the simulated model calls: the one `tool_choice` names, the
/// first for `required`, and with `auto` (or no choice) the first — unless
/// the last message is a tool's answer, which the model then speaks of; none
/// for `none`. A named function must be among the tools.
fn called_function(body: &Map<String, Value>, answered: bool) -> Result<Option<(String, Value)>, Rejection> {
    let tools: Vec<&Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let function = |tool: &Value| -> Option<(String, Value)> {
        let function = tool.get("function")?;
        let name = function.get("name")?.as_str()?.to_owned();
        let schema = function
            .get("parameters")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
        Some((name, schema))
    };
    let first = || tools.first().and_then(|tool| function(tool));
    match body.get("tool_choice") {
        Some(Value::String(mode)) if mode == "none" => Ok(None),
        Some(Value::String(mode)) if mode == "required" => Ok(first()),
        Some(Value::Object(choice)) => {
            let wanted = choice
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str);
            let named = tools
                .iter()
                .filter_map(|tool| function(tool))
                .find(|(name, _)| Some(name.as_str()) == wanted);
            match named {
                Some(named) => Ok(Some(named)),
                None => Err(Rejection::bad_request(format!(
                    "Invalid value for 'tool_choice': function '{}' not found in 'tools'.",
                    wanted.unwrap_or_default()
                ))
                .param("tool_choice")),
            }
        }
        _ if answered => Ok(None),
        _ => Ok(first()),
    }
}

/// The text of the last message when it is a tool's answer.
fn tool_answer(body: &Map<String, Value>) -> Option<String> {
    let last = body.get("messages")?.as_array()?.last()?;
    if last.get("role").and_then(Value::as_str) != Some("tool") {
        return None;
    }
    last.get("content").and_then(text::plain_text)
}

/// Validates `messages`; returns the prompt tokens they add up to.
fn messages(messages: Option<&Value>) -> Result<u64, Rejection> {
    let messages = match messages {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(messages)) => messages,
        Some(other) => return Err(invalid_type("messages", "an array", other)),
    };
    if messages.is_empty() {
        return Err(Rejection::bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        )
        .param("messages")
        .code("empty_array"));
    }
    let mut tokens = 0;
    // A `tool` message answers the `tool_calls` of the assistant message before it.
    let mut tool_calls_open = false;
    for (i, message) in messages.iter().enumerate() {
        tokens += self::message(i, message, &mut tool_calls_open)?;
    }
    Ok(tokens)
}

fn message(i: usize, message: &Value, tool_calls_open: &mut bool) -> Result<u64, Rejection> {
    let path = format!("messages[{i}]");
    let message = match message {
        Value::Object(message) => message,
        other => return Err(invalid_type(&path, "an object", other)),
    };
    let role = match message.get("role") {
        None => return Err(missing(&format!("{path}.role"))),
        Some(Value::String(role)) => role.as_str(),
        Some(other) => return Err(invalid_type(&format!("{path}.role"), "a string", other)),
    };
    let has_tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    let parts: &[&str] = match role {
        "user" => &["text", "image_url", "input_audio", "file"],
        "assistant" => &["text", "refusal"],
        "system" | "developer" | "tool" => &["text"],
        other => {
            return Err(
                Rejection::bad_request(format!("Invalid value: '{other}'. Supported values are: {ROLES}."))
                    .param(format!("{path}.role"))
                    .code("invalid_value"),
            )
        }
    };
    if role == "tool" {
        if !*tool_calls_open {
            return Err(Rejection::bad_request(
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            )
            .param(format!("{path}.role")));
        }
        if !message.get("tool_call_id").is_some_and(Value::is_string) {
            return Err(missing(&format!("{path}.tool_call_id")));
        }
    } else {
        *tool_calls_open = role == "assistant" && has_tool_calls;
    }
    let content = match present(message, "content") {
        // An assistant turn that only calls tools has no text.
        None if role == "assistant" && has_tool_calls => return Ok(0),
        None => return Err(missing(&format!("{path}.content"))),
        Some(content) => content,
    };
    self::content(&format!("{path}.content"), content, parts)?;
    Ok(text::plain_text(content).map_or(0, |t| text::tokens(&t)))
}

fn content(path: &str, content: &Value, allowed: &[&str]) -> Result<(), Rejection> {
    let parts = match content {
        Value::String(_) => return Ok(()),
        Value::Array(parts) => parts,
        other => return Err(invalid_type(path, "one of a string or array of objects", other)),
    };
    for (j, part) in parts.iter().enumerate() {
        let path = format!("{path}[{j}]");
        let kind = match part.get("type") {
            None => return Err(missing(&format!("{path}.type"))),
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => return Err(invalid_type(&format!("{path}.type"), "a string", other)),
        };
        if !allowed.contains(&kind) {
            let supported = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            return Err(
                Rejection::bad_request(format!("Invalid value: '{kind}'. Supported values are: {supported}."))
                    .param(format!("{path}.type"))
                    .code("invalid_value"),
            );
        }
        let field = if kind == "refusal" { "refusal" } else { kind };
        match part.get(field) {
            None => return Err(missing(&format!("{path}.{field}"))),
            Some(Value::String(_)) => {}
            Some(_) if !matches!(kind, "text" | "refusal") => {}
            Some(other) => return Err(invalid_type(&format!("{path}.{field}"), "a string", other)),
        }
    }
    Ok(())
}

/// `max_completion_tokens` (or the older `max_tokens`): at least 1, and at most
/// the model's ceiling, worded as OpenAI words it (`max_tokens is too large:
/// 20000. This model supports at most 16384 completion tokens, whereas you
/// provided 20000.`, `code: invalid_value`).
fn output_tokens(body: &Map<String, Value>, model: &str) -> Result<Option<u64>, Rejection> {
    let completion = integer(body, "max_completion_tokens", 1, None)?;
    let legacy = integer(body, "max_tokens", 1, None)?;
    let (field, tokens) = match (completion, legacy) {
        (Some(tokens), _) => ("max_completion_tokens", tokens),
        (None, Some(tokens)) => ("max_tokens", tokens),
        (None, None) => return Ok(None),
    };
    match OUTPUT_LIMITS.iter().find(|(name, _)| *name == model) {
        Some(&(_, limit)) if tokens > limit => Err(Rejection::bad_request(format!(
            "{field} is too large: {tokens}. This model supports at most {limit} completion tokens, whereas you provided {tokens}."
        ))
        .param(field)
        .code("invalid_value")),
        _ => Ok(Some(tokens)),
    }
}

/// `stop`: a string, or 1 to 4 strings (`StopConfiguration`). Whitespace-only
/// sequences are fine here (`"\n"` is common), unlike at Anthropic.
fn stop(body: &Map<String, Value>) -> Result<(), Rejection> {
    match present(body, "stop") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(stops)) if stops.is_empty() => Err(Rejection::bad_request(
            "Invalid 'stop': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        )
        .param("stop")
        .code("empty_array")),
        Some(Value::Array(stops)) if stops.len() > 4 => Err(Rejection::bad_request(format!(
            "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.",
            stops.len()
        ))
        .param("stop")
        .code("array_above_max_length")),
        Some(Value::Array(stops)) => match stops.iter().enumerate().find(|(_, s)| !s.is_string()) {
            Some((i, other)) => Err(invalid_type(&format!("stop[{i}]"), "a string", other)),
            None => Ok(()),
        },
        Some(other) => Err(invalid_type("stop", "one of a string or array of strings", other)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<(u64, Option<u64>, u64), String> {
        let body = body.as_object().cloned().unwrap_or_default();
        ChatRequest::parse(&body)
            .map(|r| (r.input_tokens, r.max_tokens, r.n))
            .map_err(|r| r.message)
    }

    #[test]
    fn prompt_tokens_are_counted_per_message() {
        let body = json!({ "model": "m", "n": 2, "max_tokens": 9, "temperature": null, "messages": [
            { "role": "system", "content": "abcde" },
            { "role": "user", "content": [{ "type": "text", "text": "abcd" }, { "type": "image_url", "image_url": { "url": "x" } }] },
        ] });
        assert_eq!(parse(body), Ok((3, Some(9), 2)));
    }

    #[test]
    fn wrong_values_are_worded_like_openai() {
        let base = |extra: Value| {
            let mut body = json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }] });
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            parse(body).err().unwrap_or_default()
        };
        assert_eq!(
            base(json!({ "colour": 1 })),
            "Unrecognized request argument supplied: colour"
        );
        assert_eq!(
            base(json!({ "temperature": 3 })),
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead."
        );
        assert_eq!(
            base(json!({ "max_tokens": "5" })),
            "Invalid type for 'max_tokens': expected an integer, but got a string instead."
        );
        assert!(base(json!({ "max_tokens": 0 })).contains("integer below minimum value"));
        assert!(base(json!({ "max_tokens": -3 })).contains("integer below minimum value"));
        assert!(base(json!({ "stop": ["a", "b", "c", "d", "e"] })).contains("array too long"));
        assert!(base(json!({ "stop": [] })).starts_with("Invalid 'stop': empty array."));
        assert!(base(json!({ "stream_options": { "include_usage": true } })).contains("only allowed when 'stream'"));
        assert!(base(json!({ "messages": [] })).contains("empty array"));
        assert!(base(json!({ "messages": [{ "role": "bot", "content": "x" }] })).starts_with("Invalid value: 'bot'"));
        assert!(
            base(json!({ "messages": [{ "role": "tool", "content": "x", "tool_call_id": "1" }] }))
                .contains("preceeding message with 'tool_calls'")
        );
        assert_eq!(
            base(json!({ "messages": [{ "role": "user" }] })),
            "Missing required parameter: 'messages[0].content'."
        );
    }

    #[test]
    fn a_tool_round_trip_is_valid() {
        let body = json!({ "model": "m", "messages": [
            { "role": "user", "content": "weather?" },
            { "role": "assistant", "content": null, "tool_calls": [{ "id": "1", "type": "function", "function": { "name": "w", "arguments": "{}" } }] },
            { "role": "tool", "tool_call_id": "1", "content": "sunny" },
        ] });
        assert!(parse(body).is_ok());
    }

    #[test]
    fn known_models_have_an_output_ceiling() {
        let body = |model: &str, field: &str, tokens: u64| json!({ "model": model, "messages": [{ "role": "user", "content": "x" }], field: tokens });
        assert_eq!(
            parse(body("gpt-4o", "max_tokens", 20_000)),
            Err("max_tokens is too large: 20000. This model supports at most 16384 completion tokens, whereas you provided 20000.".into())
        );
        assert!(parse(body("gpt-4o-mini", "max_completion_tokens", 16_385))
            .is_err_and(|e| e.starts_with("max_completion_tokens is too large: 16385.")));
        assert_eq!(
            parse(body("gpt-4o", "max_tokens", 16_384)).map(|r| r.1),
            Ok(Some(16_384))
        );
        assert!(
            parse(body("m", "max_tokens", 1_000_000)).is_ok(),
            "no ceiling for a model DE does not ship"
        );
        assert!(
            parse(json!({ "model": "gpt-4o", "messages": [{ "role": "user", "content": "x" }], "stop": ["\n"] }))
                .is_ok()
        );
    }
}
