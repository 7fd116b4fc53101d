//! Text-generation input: a prompt or a conversation, with sampling settings checked
//! against the model's limits. How each provider wants the conversation is the
//! worker's business.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{deserialize, FieldError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

/// What the model allows, from its catalog entry and provider.
#[derive(Clone, Copy, Debug)]
pub struct TextLimits {
    pub max_output_tokens: u32,
    pub max_temperature: f64,
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
}

impl TextInput {
    pub fn parse(value: &Value, limits: TextLimits) -> Result<Self, FieldError> {
        let input: TextInput = deserialize(value)?;
        input.validate(limits)?;
        Ok(input)
    }

    fn validate(&self, limits: TextLimits) -> Result<(), FieldError> {
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
        if let Some(messages) = &self.messages {
            if let Some(i) = messages.iter().position(|m| m.content.is_empty()) {
                return Err(FieldError::invalid(
                    &format!("input.messages[{i}].content"),
                    "must not be empty",
                ));
            }
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
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                return Err(FieldError::invalid("input.top_p", "must be between 0 and 1"));
            }
        }
        if let Some(stop) = &self.stop {
            if stop.len() > 4 {
                return Err(FieldError::invalid("input.stop", "at most 4 stop sequences"));
            }
        }
        Ok(())
    }

    /// The conversation to send: `messages`, then `prompt` as the last user turn.
    pub fn conversation(&self) -> Vec<ChatMessage> {
        let mut turns = self.messages.clone().unwrap_or_default();
        if let Some(prompt) = &self.prompt {
            turns.push(ChatMessage {
                role: ChatRole::User,
                content: prompt.clone(),
            });
        }
        turns
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const LIMITS: TextLimits = TextLimits {
        max_output_tokens: 4096,
        max_temperature: 1.0,
    };

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
}
