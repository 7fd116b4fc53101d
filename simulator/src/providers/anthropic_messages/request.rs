//! What Anthropic accepts as a Messages request, worded as its validator words
//! it: `path: problem` (`max_tokens: Field required`, `top_k: Extra inputs are
//! not permitted`). Unlike OpenAI, an explicit `null` for an optional field is
//! rejected (`temperature: Input should be a valid number`).

use serde_json::{Map, Value};

use crate::providers::{rejection::Rejection, text};

/// Top-level fields the real API knows; anything else is a 400.
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
/// Output-token ceilings of the models DE's catalog ships; another model gets
/// none, as the simulator cannot know it.
const OUTPUT_LIMITS: &[(&str, u64)] = &[
    ("claude-3-5-sonnet-20241022", 8192),
    ("claude-3-5-haiku-20241022", 8192),
];
const BLOCKS: &[&str] = &[
    "text",
    "image",
    "document",
    "search_result",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
];

/// A request the real API would serve, reduced to what the answer needs.
pub struct MessagesRequest<'a> {
    pub model: &'a str,
    pub max_tokens: u64,
    pub input_tokens: u64,
    /// Answer as server-sent events.
    pub stream: bool,
    /// The tool the model calls: its name and input schema.
    pub called_tool: Option<(&'a str, &'a Value)>,
}

impl<'a> MessagesRequest<'a> {
    pub fn parse(body: &'a Map<String, Value>) -> Result<Self, Rejection> {
        if let Some(extra) = body.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(bad(extra, "Extra inputs are not permitted"));
        }
        let model = match body.get("model") {
            None => return Err(bad("model", "Field required")),
            Some(Value::String(model)) => model.as_str(),
            Some(_) => return Err(bad("model", "Input should be a valid string")),
        };
        let max_tokens = match body.get("max_tokens") {
            None => return Err(bad("max_tokens", "Field required")),
            Some(value) => at_least("max_tokens", value, 1)?,
        };
        if let Some(&(_, limit)) = OUTPUT_LIMITS.iter().find(|(name, _)| *name == model) {
            if max_tokens > limit {
                return Err(Rejection::bad_request(format!(
                    "max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of output tokens for {model}"
                )));
            }
        }
        let input_tokens = messages(body.get("messages"))? + system(body.get("system"))?;
        number(body, "temperature", 0.0, 1.0)?;
        number(body, "top_p", 0.0, 1.0)?;
        if let Some(top_k) = body.get("top_k") {
            at_least("top_k", top_k, 0)?;
        }
        if let Some(stops) = body.get("stop_sequences") {
            stop_sequences(stops)?;
        }
        let stream = options(body, max_tokens)?;
        Ok(Self {
            model,
            max_tokens,
            input_tokens,
            stream,
            called_tool: called_tool(body)?,
        })
    }
}

/// Validates `messages`; returns the input tokens they add up to.
fn messages(messages: Option<&Value>) -> Result<u64, Rejection> {
    let messages = match messages {
        None => return Err(bad("messages", "Field required")),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(bad("messages", "Input should be a valid list")),
    };
    if messages.is_empty() {
        return Err(bad("messages", "at least one message is required"));
    }
    let mut tokens = 0;
    for (i, message) in messages.iter().enumerate() {
        let last = i + 1 == messages.len();
        tokens += self::message(i, message, last)?;
    }
    Ok(tokens)
}

fn message(i: usize, message: &Value, last: bool) -> Result<u64, Rejection> {
    let path = format!("messages.{i}");
    let Value::Object(message) = message else {
        return Err(bad(&path, "Input should be a valid dictionary"));
    };
    if let Some(extra) = message.keys().find(|k| !matches!(k.as_str(), "role" | "content")) {
        return Err(bad(&format!("{path}.{extra}"), "Extra inputs are not permitted"));
    }
    let role = match message.get("role").and_then(Value::as_str) {
        Some(role @ ("user" | "assistant")) => role,
        Some("system") => {
            return Err(bad("messages", "Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."))
        }
        None if message.get("role").is_none() => return Err(bad(&format!("{path}.role"), "Field required")),
        _ => return Err(bad(&format!("{path}.role"), "Input should be 'user' or 'assistant'")),
    };
    let content = message
        .get("content")
        .ok_or_else(|| bad(&format!("{path}.content"), "Field required"))?;
    let final_assistant = last && role == "assistant";
    match content {
        Value::String(text) if text.is_empty() && !final_assistant => Err(non_empty(&path)),
        Value::String(text) if final_assistant && text.ends_with(char::is_whitespace) => Err(bad(
            "messages",
            "final assistant content cannot end with trailing whitespace",
        )),
        // A string is one text block, and blocks need visible text (an empty
        // final assistant turn is the exception, a prefill).
        Value::String(text) if !text.is_empty() && text.trim().is_empty() => Err(whitespace_only()),
        Value::String(text) => Ok(text::tokens(text)),
        Value::Array(blocks) if blocks.is_empty() && !final_assistant => Err(non_empty(&path)),
        Value::Array(blocks) => self::blocks(&format!("{path}.content"), blocks, BLOCKS),
        _ => Err(bad(&format!("{path}.content"), "Input should be a valid list")),
    }
}

/// Validates content blocks of the `allowed` types; returns their text's tokens.
fn blocks(path: &str, blocks: &[Value], allowed: &[&str]) -> Result<u64, Rejection> {
    let mut tokens = 0;
    for (j, block) in blocks.iter().enumerate() {
        let path = format!("{path}.{j}");
        let kind = match block.get("type") {
            None => return Err(bad(&format!("{path}.type"), "Field required")),
            Some(Value::String(kind)) if allowed.contains(&kind.as_str()) => kind.as_str(),
            Some(other) => {
                let tag = other.as_str().unwrap_or_default();
                let expected = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
                return Err(bad(
                    &path,
                    &format!(
                        "Input tag '{tag}' found using 'type' does not match any of the expected tags: {expected}"
                    ),
                ));
            }
        };
        if kind == "text" {
            match block.get("text") {
                None => return Err(bad(&format!("{path}.text.text"), "Field required")),
                Some(Value::String(text)) if text.is_empty() => {
                    return Err(bad("messages", "text content blocks must be non-empty"))
                }
                Some(Value::String(text)) if text.trim().is_empty() => return Err(whitespace_only()),
                Some(Value::String(text)) => tokens += text::tokens(text),
                Some(_) => return Err(bad(&format!("{path}.text.text"), "Input should be a valid string")),
            }
        }
    }
    Ok(tokens)
}

/// Validates `system` (a string or a list of text blocks); returns its tokens.
fn system(system: Option<&Value>) -> Result<u64, Rejection> {
    match system {
        None => Ok(0),
        Some(Value::String(text)) => Ok(text::tokens(text)),
        Some(Value::Array(blocks)) => self::blocks("system", blocks, &["text"]),
        Some(_) => Err(bad("system", "Input should be a valid string")),
    }
}

/// The tool the simulated model calls: the one a `{"type": "tool", "name"}`
/// choice names, the first for `any`; with `auto` (or no choice) the first,
/// unless the last user turn answers a call — then it answers in words, as
/// it does for `none`.
fn called_tool(body: &Map<String, Value>) -> Result<Option<(&str, &Value)>, Rejection> {
    let tools: Vec<&Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    fn schema<'v>(tool: &&'v Value) -> Option<&'v Value> {
        tool.get("input_schema")
    }
    let choice = body.get("tool_choice");
    match choice.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("tool") => {
            let Some(name) = choice.and_then(|c| c.get("name")).and_then(Value::as_str) else {
                return Err(bad("tool_choice.tool.name", "Field required"));
            };
            let tool = tools
                .iter()
                .find(|tool| tool.get("name").and_then(Value::as_str) == Some(name));
            match tool.and_then(schema) {
                Some(schema) => Ok(Some((name, schema))),
                None => Err(Rejection::bad_request(format!(
                    "Tool '{name}' not found in provided tools"
                ))),
            }
        }
        Some("none") => Ok(None),
        Some("any") | Some("auto") | None => {
            if choice.is_none_or(|c| c["type"] == "auto") && last_turn_answers_a_call(body) {
                return Ok(None);
            }
            Ok(tools.first().and_then(|tool| {
                let name = tool.get("name").and_then(Value::as_str)?;
                Some((name, schema(tool)?))
            }))
        }
        Some(_) => Err(bad(
            "tool_choice",
            "Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
        )),
    }
}

/// Whether the last user turn holds a `tool_result`.
pub fn last_turn_answers_a_call(body: &Map<String, Value>) -> bool {
    tool_result_text(body).is_some()
}

/// The text of the last user turn's `tool_result`, if it answers a call.
pub fn tool_result_text(body: &Map<String, Value>) -> Option<String> {
    let last = body.get("messages")?.as_array()?.last()?;
    if last.get("role").and_then(Value::as_str) != Some("user") {
        return None;
    }
    let result = last
        .get("content")?
        .as_array()?
        .iter()
        .find(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))?;
    match result.get("content") {
        Some(content) => text::plain_text(content),
        None => Some(String::new()),
    }
}

/// `stream`, `metadata`, `tools`, `tool_choice`, `thinking`, `service_tier`.
/// Returns whether the answer streams.
fn options(body: &Map<String, Value>, max_tokens: u64) -> Result<bool, Rejection> {
    let stream = match body.get("stream") {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err(bad("stream", "Input should be a valid boolean")),
    };
    if let Some(metadata) = body.get("metadata") {
        let Value::Object(metadata) = metadata else {
            return Err(bad("metadata", "Input should be a valid dictionary"));
        };
        if let Some(extra) = metadata.keys().find(|k| k.as_str() != "user_id") {
            return Err(bad(&format!("metadata.{extra}"), "Extra inputs are not permitted"));
        }
    }
    if body.get("tools").is_some_and(|tools| !tools.is_array()) {
        return Err(bad("tools", "Input should be a valid list"));
    }
    if body.get("tool_choice").is_some_and(|choice| !choice.is_object()) {
        return Err(bad("tool_choice", "Input should be a valid dictionary"));
    }
    if let Some(thinking) = body.get("thinking") {
        thinking_budget(thinking, max_tokens)?;
    }
    match body.get("service_tier").map(Value::as_str) {
        None | Some(Some("auto" | "standard_only")) => Ok(stream),
        Some(_) => Err(bad("service_tier", "Input should be 'auto' or 'standard_only'")),
    }
}

fn thinking_budget(thinking: &Value, max_tokens: u64) -> Result<(), Rejection> {
    match thinking.get("type").and_then(Value::as_str) {
        Some("disabled") => Ok(()),
        Some("enabled") => {
            let budget = match thinking.get("budget_tokens") {
                None => return Err(bad("thinking.enabled.budget_tokens", "Field required")),
                Some(budget) => at_least("thinking.enabled.budget_tokens", budget, 1024)?,
            };
            if budget >= max_tokens {
                return Err(Rejection::bad_request(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
                ));
            }
            Ok(())
        }
        _ => Err(bad(
            "thinking",
            "Input tag found using 'type' does not match any of the expected tags: 'enabled', 'disabled'",
        )),
    }
}

/// An optional number within `min..=max`; `null` is not a number.
fn number(body: &Map<String, Value>, field: &str, min: f64, max: f64) -> Result<(), Rejection> {
    let Some(value) = body.get(field) else {
        return Ok(());
    };
    match value.as_f64() {
        None => Err(bad(field, "Input should be a valid number")),
        Some(n) if n < min => Err(bad(field, &format!("Input should be greater than or equal to {min}"))),
        Some(n) if n > max => Err(bad(field, &format!("Input should be less than or equal to {max}"))),
        Some(_) => Ok(()),
    }
}

fn at_least(field: &str, value: &Value, min: u64) -> Result<u64, Rejection> {
    match (value.as_u64(), value.is_i64()) {
        (Some(n), _) if n >= min => Ok(n),
        (Some(_), _) | (None, true) => Err(bad(field, &format!("Input should be greater than or equal to {min}"))),
        (None, false) => Err(bad(field, "Input should be a valid integer")),
    }
}

/// A list of strings, each with a visible character: `["\n"]`, common with
/// OpenAI, is a 400 here.
fn stop_sequences(value: &Value) -> Result<(), Rejection> {
    let Value::Array(items) = value else {
        return Err(bad("stop_sequences", "Input should be a valid list"));
    };
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            None => return Err(bad(&format!("stop_sequences.{i}"), "Input should be a valid string")),
            Some("") => return Err(bad("stop_sequences", "each stop sequence must be non-empty")),
            Some(stop) if stop.trim().is_empty() => {
                return Err(bad("stop_sequences", "each stop sequence must contain non-whitespace"))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn whitespace_only() -> Rejection {
    bad("messages", "text content blocks must contain non-whitespace text")
}

fn non_empty(path: &str) -> Rejection {
    bad(
        path,
        "all messages must have non-empty content except for the optional final assistant message",
    )
}

fn bad(path: &str, problem: &str) -> Rejection {
    Rejection::bad_request(format!("{path}: {problem}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<(u64, u64), String> {
        let body = body.as_object().cloned().unwrap_or_default();
        MessagesRequest::parse(&body)
            .map(|r| (r.max_tokens, r.input_tokens))
            .map_err(|r| r.message)
    }

    fn with(extra: Value) -> Result<(u64, u64), String> {
        let mut body = json!({ "model": "m", "max_tokens": 10, "messages": [{ "role": "user", "content": "x" }] });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        parse(body)
    }

    #[test]
    fn input_tokens_count_messages_and_system() {
        let body = json!({ "model": "m", "max_tokens": 10, "system": [{ "type": "text", "text": "abcde" }], "messages": [
            { "role": "user", "content": [{ "type": "text", "text": "abcd" }, { "type": "image", "source": {} }] },
            { "role": "assistant", "content": "ab" },
        ] });
        assert_eq!(parse(body), Ok((10, 4)));
    }

    #[test]
    fn wrong_values_are_worded_like_anthropic() {
        let error = |extra| with(extra).err().unwrap_or_default();
        assert_eq!(error(json!({ "colour": 1 })), "colour: Extra inputs are not permitted");
        assert_eq!(
            error(json!({ "temperature": 1.5 })),
            "temperature: Input should be less than or equal to 1"
        );
        assert_eq!(
            error(json!({ "temperature": null })),
            "temperature: Input should be a valid number"
        );
        assert_eq!(
            error(json!({ "max_tokens": 0 })),
            "max_tokens: Input should be greater than or equal to 1"
        );
        assert_eq!(
            error(json!({ "max_tokens": "5" })),
            "max_tokens: Input should be a valid integer"
        );
        assert!(error(json!({ "messages": [{ "role": "system", "content": "x" }] })).contains("top-level `system`"));
        assert!(error(json!({ "messages": [] })).contains("at least one message"));
        assert!(error(json!({ "messages": [{ "role": "user", "content": "" }] })).contains("non-empty content"));
        assert!(error(json!({ "stream": "yes" })).starts_with("stream:"));
        assert!(error(json!({ "metadata": { "user": "x" } })).starts_with("metadata.user:"));
        assert!(error(json!({ "thinking": { "type": "enabled", "budget_tokens": 2048 } })).contains("max_tokens"));
        assert_eq!(
            parse(json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }] })),
            Err("max_tokens: Field required".into())
        );
    }

    #[test]
    fn a_final_assistant_turn_may_be_empty_prefill() {
        let prefill =
            json!({ "messages": [{ "role": "user", "content": "x" }, { "role": "assistant", "content": "" }] });
        assert!(with(prefill).is_ok());
        let trailing =
            json!({ "messages": [{ "role": "user", "content": "x" }, { "role": "assistant", "content": "a " }] });
        assert!(with(trailing).is_err());
    }

    #[test]
    fn whitespace_is_refused_where_anthropic_refuses_it() {
        let error = |extra| with(extra).err().unwrap_or_default();
        assert_eq!(
            error(json!({ "stop_sequences": ["END", "\n"] })),
            "stop_sequences: each stop sequence must contain non-whitespace"
        );
        assert_eq!(
            error(json!({ "stop_sequences": [""] })),
            "stop_sequences: each stop sequence must be non-empty"
        );
        let blank = "messages: text content blocks must contain non-whitespace text";
        assert_eq!(
            error(json!({ "messages": [{ "role": "user", "content": " \n" }] })),
            blank
        );
        assert_eq!(
            error(json!({ "messages": [{ "role": "user", "content": [{ "type": "text", "text": "  " }] }] })),
            blank
        );
        assert_eq!(error(json!({ "system": [{ "type": "text", "text": "\t" }] })), blank);
        assert!(
            with(json!({ "stop_sequences": [" END "], "messages": [{ "role": "user", "content": " hi " }] })).is_ok()
        );
    }

    #[test]
    fn known_models_have_an_output_ceiling() {
        let body = |model: &str, max_tokens: u64| json!({ "model": model, "max_tokens": max_tokens, "messages": [{ "role": "user", "content": "x" }] });
        assert_eq!(
            parse(body("claude-3-5-sonnet-20241022", 10_000)),
            Err("max_tokens: 10000 > 8192, which is the maximum allowed number of output tokens for claude-3-5-sonnet-20241022".into())
        );
        assert_eq!(parse(body("claude-3-5-haiku-20241022", 8192)), Ok((8192, 1)));
        assert!(
            parse(body("m", 100_000)).is_ok(),
            "no ceiling for a model DE does not ship"
        );
    }
}
