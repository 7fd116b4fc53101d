//! Text-generation input: a prompt or a conversation, with sampling settings checked
//! against the model's limits and against what its provider refuses (OpenAI wants
//! 1 to 4 stop sequences; Anthropic refuses whitespace-only stop sequences and a
//! final assistant turn ending in whitespace). How each provider wants the
//! conversation is the worker's business.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    deserialize,
    tools::{self, Tool, ToolCall, ToolChoice},
    FieldError, ResponseFormat,
};

/// OpenAI's `stop` takes 1 to 4 sequences (`StopConfiguration`, `minItems: 1,
/// maxItems: 4`); Anthropic documents no maximum, so 4 suits both.
const MAX_STOP_SEQUENCES: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    User,
    Assistant,
    /// The answer to one of the assistant's tool calls (`tool_call_id`).
    Tool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "GivenMessage")]
pub struct ChatMessage {
    pub role: ChatRole,
    /// May be empty only for an assistant turn that calls tools.
    pub content: String,
    /// The tools an assistant turn called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Which call a tool turn answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The turn came without `content` (told apart from an empty one).
    #[serde(skip)]
    content_missing: bool,
}

/// A turn as given, `content` optional (an assistant turn that calls tools has none).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenMessage {
    role: ChatRole,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

impl From<GivenMessage> for ChatMessage {
    fn from(given: GivenMessage) -> Self {
        Self {
            role: given.role,
            content_missing: given.content.is_none(),
            content: given.content.unwrap_or_default(),
            tool_calls: given.tool_calls,
            tool_call_id: given.tool_call_id,
        }
    }
}

impl ChatMessage {
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: None,
            tool_call_id: None,
            content_missing: false,
        }
    }

    /// The calls an assistant turn made (none for any other turn).
    pub fn calls(&self) -> &[ToolCall] {
        self.tool_calls.as_deref().unwrap_or_default()
    }
}

/// What the model allows, from its catalog entry and provider.
#[derive(Clone, Copy, Debug)]
pub struct TextLimits {
    pub max_output_tokens: u32,
    pub max_temperature: f64,
    /// A final assistant turn (prefill) must not end in whitespace (Anthropic).
    /// Such refusals are one API's own: refusing them for every model would turn
    /// away requests the other APIs serve (`stop: ["\n"]` on OpenAI).
    pub prefill_no_trailing_whitespace: bool,
    /// Every stop sequence needs a non-whitespace character (Anthropic).
    pub stop_needs_non_whitespace: bool,
}

/// Input of a text-generation job. `prompt` is the common case; `messages` carries
/// a conversation, and a `prompt` given with it becomes the final user turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<ChatMessage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Stream the text as the provider writes it to `GET /v1/jobs/{id}/events`;
    /// the whole text is still the job's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Structured output: the answer must be JSON (matching a schema); it is
    /// checked, and asked for again with the reason when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Functions the model may call; an answer that calls them is the output
    /// as `{"text", "tool_calls"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

impl TextInput {
    pub fn parse(value: &Value, limits: TextLimits) -> Result<Self, FieldError> {
        let input: TextInput = deserialize(value)?;
        input.validate(limits)?;
        Ok(input)
    }

    fn validate(&self, limits: TextLimits) -> Result<(), FieldError> {
        self.check_turns(&limits)?;
        if self.system.as_deref().is_some_and(|s| s.trim().is_empty()) {
            // Nothing is lost by refusing it, and Anthropic refuses blank system text blocks.
            return Err(FieldError::invalid(
                "input.system",
                "must not be empty; leave system out for none",
            ));
        }
        if let Some(max) = self.max_tokens {
            if max == 0 || max > limits.max_output_tokens {
                return Err(FieldError::invalid(
                    "input.max_tokens",
                    format!("must be between 1 and {} for this model", limits.max_output_tokens),
                ));
            }
        }
        if let Some(t) = self.temperature {
            if !(0.0..=limits.max_temperature).contains(&t) {
                return Err(FieldError::invalid(
                    "input.temperature",
                    format!("must be between 0 and {} for this model", limits.max_temperature),
                ));
            }
        }
        // Claude models from Sonnet/Haiku 4.5 and Opus 4.1 on refuse `temperature`
        // with `top_p`; the seeded Claude 3.5 models take both, so the pair is
        // allowed. A model that refuses it needs its own flag in `TextLimits`.
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                return Err(FieldError::invalid("input.top_p", "must be between 0 and 1"));
            }
        }
        if let Some(stop) = &self.stop {
            check_stop(stop, &limits)?;
        }
        if let Some(format) = &self.response_format {
            format.validate()?;
        }
        tools::validate(self.tools.as_deref(), self.tool_choice.as_ref())?;
        Ok(())
    }

    /// A prompt, or a conversation whose every turn has visible text. Both APIs
    /// take the turns as given, so a blank turn is refused for every model:
    /// Anthropic answers 400 (`text content blocks must contain non-whitespace
    /// text`), and for OpenAI it carries nothing.
    fn check_turns(&self, limits: &TextLimits) -> Result<(), FieldError> {
        match (&self.prompt, &self.messages) {
            (None, None) => {
                return Err(FieldError::missing(
                    "input.prompt",
                    "give a prompt (or a messages list)",
                ))
            }
            (Some(p), _) if p.trim().is_empty() => {
                return Err(FieldError::invalid("input.prompt", "must not be empty"))
            }
            (None, Some(m)) if m.is_empty() => {
                return Err(FieldError::invalid("input.messages", "must hold at least one message"))
            }
            _ => {}
        }
        let messages = self.messages.as_deref().unwrap_or_default();
        for (i, message) in messages.iter().enumerate() {
            check_turn(i, message)?;
        }
        // Without a prompt the last message is the last turn sent. Anthropic
        // continues a final assistant turn (prefill) and refuses one that ends in
        // whitespace (`final assistant content cannot end with trailing whitespace`).
        if let (None, true, Some(last)) = (&self.prompt, limits.prefill_no_trailing_whitespace, messages.last()) {
            if last.role == ChatRole::Assistant && last.content.ends_with(char::is_whitespace) {
                return Err(FieldError::invalid(
                    &format!("input.messages[{}].content", messages.len() - 1),
                    "the final assistant message must not end with whitespace for this model",
                ));
            }
        }
        Ok(())
    }

    /// Whether the text is to be streamed as it is written.
    pub fn streams(&self) -> bool {
        self.stream == Some(true)
    }

    /// The format the answer must have, when it must be JSON.
    pub fn json_format(&self) -> Option<&ResponseFormat> {
        self.response_format.as_ref().filter(|format| format.wants_json())
    }

    /// The same input asking again after `answer`, which was not what it asked
    /// for (`why`): the conversation so far, the answer, and the reason.
    pub fn with_feedback(&self, answer: &str, why: &str) -> Self {
        let mut turns = self.conversation();
        // Both APIs refuse an empty turn; the answer may have been nothing.
        let answer = answer.trim_end();
        let answer = if answer.trim().is_empty() {
            "(no answer)"
        } else {
            answer
        };
        turns.push(ChatMessage::new(ChatRole::Assistant, answer));
        turns.push(ChatMessage::new(
            ChatRole::User,
            format!("That reply cannot be used: {why}. Reply again with only the JSON, nothing before or after it."),
        ));
        Self {
            prompt: None,
            messages: Some(turns),
            ..self.clone()
        }
    }

    /// The conversation to send: `messages`, then `prompt` as the last user turn.
    pub fn conversation(&self) -> Vec<ChatMessage> {
        let mut turns = self.messages.clone().unwrap_or_default();
        if let Some(prompt) = &self.prompt {
            turns.push(ChatMessage::new(ChatRole::User, prompt.clone()));
        }
        turns
    }
}

/// A turn has visible text, except an assistant turn that calls tools; only
/// an assistant turn calls tools, and only a tool turn, answering a call, has
/// a `tool_call_id`.
fn check_turn(i: usize, message: &ChatMessage) -> Result<(), FieldError> {
    let field = |name: &str| format!("input.messages[{i}].{name}");
    let calls = message.calls();
    if !calls.is_empty() && message.role != ChatRole::Assistant {
        return Err(FieldError::invalid(
            &field("tool_calls"),
            "only an assistant turn calls tools",
        ));
    }
    if let Some(j) = calls.iter().position(|call| call.id.trim().is_empty()) {
        return Err(FieldError::invalid(
            &field(&format!("tool_calls[{j}].id")),
            "must not be empty",
        ));
    }
    match (message.role, &message.tool_call_id) {
        (ChatRole::Tool, None) => {
            return Err(FieldError::missing(
                &field("tool_call_id"),
                "a tool turn answers a call: give its id",
            ))
        }
        (ChatRole::User | ChatRole::Assistant, Some(_)) => {
            return Err(FieldError::invalid(
                &field("tool_call_id"),
                "only a tool turn answers a call",
            ))
        }
        _ => {}
    }
    if message.content_missing && calls.is_empty() {
        return Err(FieldError::missing(&field("content"), "give the turn's text"));
    }
    if message.content.trim().is_empty() && calls.is_empty() {
        return Err(FieldError::invalid(
            &field("content"),
            "must contain non-whitespace text",
        ));
    }
    Ok(())
}

/// `stop`: 1 to 4 sequences, none empty. An empty list is an OpenAI 400
/// (`minItems: 1`) and means nothing anywhere, as does an empty sequence. A
/// whitespace-only sequence (`"\n"`, common with OpenAI) is refused for Anthropic
/// only (`stop_sequences: each stop sequence must contain non-whitespace`).
fn check_stop(stop: &[String], limits: &TextLimits) -> Result<(), FieldError> {
    if stop.is_empty() || stop.len() > MAX_STOP_SEQUENCES {
        return Err(FieldError::invalid(
            "input.stop",
            format!("must hold 1 to {MAX_STOP_SEQUENCES} stop sequences; leave stop out for none"),
        ));
    }
    for (i, sequence) in stop.iter().enumerate() {
        let field = format!("input.stop[{i}]");
        if sequence.is_empty() {
            return Err(FieldError::invalid(&field, "must not be empty"));
        }
        if limits.stop_needs_non_whitespace && sequence.trim().is_empty() {
            return Err(FieldError::invalid(
                &field,
                "must contain a non-whitespace character for this model",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const LIMITS: TextLimits = TextLimits {
        max_output_tokens: 4096,
        max_temperature: 1.0,
        prefill_no_trailing_whitespace: false,
        stop_needs_non_whitespace: false,
    };
    const ANTHROPIC: TextLimits = TextLimits {
        prefill_no_trailing_whitespace: true,
        stop_needs_non_whitespace: true,
        ..LIMITS
    };

    fn refused(value: Value, limits: TextLimits) -> (String, &'static str) {
        let err = TextInput::parse(&value, limits).expect_err("invalid");
        (err.field, err.code)
    }

    #[test]
    fn accepts_a_prompt() {
        let input = TextInput::parse(&json!({"prompt": "hi", "max_tokens": 10}), LIMITS).expect("valid");
        assert_eq!(input.conversation().len(), 1);
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (json!({}), "input.prompt", "missing_field"),
            (json!({"prompt": 5}), "input.prompt", "invalid_field"),
            (
                json!({"prompt": "x", "temperature": 1.5}),
                "input.temperature",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "max_tokens": 0}),
                "input.max_tokens",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "max_tokens": 5000}),
                "input.max_tokens",
                "invalid_field",
            ),
            (json!({"prompt": "x", "colour": "red"}), "input.colour", "invalid_field"),
            (
                json!({"messages": [{"role": "system", "content": "x"}]}),
                "input.messages[0].role",
                "invalid_field",
            ),
            (json!("just a string"), "input", "invalid_field"),
        ];
        for (value, field, code) in cases {
            let err = TextInput::parse(&value, LIMITS).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field, code), "{value}: {err}");
        }
    }

    #[test]
    fn refuses_what_every_provider_refuses_or_ignores() {
        let stops = |stop: Value| json!({"prompt": "x", "stop": stop});
        let cases = [
            (stops(json!([])), "input.stop"),
            (stops(json!(["a", "b", "c", "d", "e"])), "input.stop"),
            (stops(json!(["END", ""])), "input.stop[1]"),
            (
                json!({"messages": [{"role": "user", "content": " \n\t"}]}),
                "input.messages[0].content",
            ),
            (
                json!({"prompt": "x", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]}),
                "input.messages[1].content",
            ),
            (json!({"prompt": "x", "system": "  "}), "input.system"),
            (json!({"prompt": "x", "system": ""}), "input.system"),
        ];
        for (value, field) in cases {
            for limits in [LIMITS, ANTHROPIC] {
                assert_eq!(
                    refused(value.clone(), limits),
                    (field.into(), "invalid_field"),
                    "{value}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_only_anthropic_refuses() {
        let cases = [
            (json!({"prompt": "x", "stop": ["END", "\n"]}), "input.stop[1]"),
            (json!({"prompt": "x", "stop": [" "]}), "input.stop[0]"),
            (
                json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure, "}]}),
                "input.messages[1].content",
            ),
            (
                json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure\n"}]}),
                "input.messages[1].content",
            ),
        ];
        for (value, field) in cases {
            assert_eq!(
                refused(value.clone(), ANTHROPIC),
                (field.into(), "invalid_field"),
                "{value}"
            );
            TextInput::parse(&value, LIMITS).expect("OpenAI serves it");
        }
    }

    #[test]
    fn accepts_what_the_providers_serve() {
        let cases = [
            json!({"prompt": "x", "stop": ["END", " END "], "system": "be brief"}),
            // A prefill without trailing whitespace; whitespace inside is fine.
            json!({"messages": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "Sure, here"}]}),
            // With a prompt, the assistant turn is not the last one sent.
            json!({"prompt": "go on", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure, "}]}),
            // The seeded Claude models take both (only Claude 4.5 and later refuse the pair).
            json!({"prompt": "x", "temperature": 0.5, "top_p": 0.9}),
        ];
        for value in cases {
            for limits in [LIMITS, ANTHROPIC] {
                TextInput::parse(&value, limits).unwrap_or_else(|e| panic!("{value}: {e}"));
            }
        }
    }
}
