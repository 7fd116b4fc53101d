//! Per-modality job inputs, parsed once at the edge into types that are valid by
//! construction. Errors name the offending field (`input.temperature`) so clients
//! can fix their request without guessing. What a provider's API looks like on the
//! wire is not here: the worker adapters translate these types.

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde_json::Value;

mod fields;
mod image;
mod render;
mod response_format;
mod speech;
mod stock;
mod text;
mod tools;
mod video;

pub use fields::{Field, FieldKind};
pub use image::{ideogram_aspect, ImageInput, ImageRules};
pub use render::{render_format_media, RenderInput, RenderOutput};
pub use response_format::{JsonSchemaFormat, ResponseFormat};
pub use speech::{speech_format_media, SpeechInput, DEFAULT_SPEECH_FORMAT};
pub use stock::StockInput;
pub use text::{ChatMessage, ChatRole, TextInput, TextLimits};
pub use tools::{CalledFunction, FunctionKind, FunctionSpec, NamedFunction, Tool, ToolCall, ToolChoice, ToolMode};
pub use video::{VideoInput, VideoRules};

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Stable code: `missing_field`, `invalid_field`.
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn missing(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: "missing_field",
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_field",
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a model accepts, chosen from its catalog entry; picks the input type too.
#[derive(Clone, Copy, Debug)]
pub enum InputRules {
    Text(TextLimits),
    Image(&'static ImageRules),
    Speech,
    Stock,
    Render,
    Video(&'static VideoRules),
}

/// A job's input, parsed and validated for its model.
#[derive(Clone, Debug, PartialEq)]
pub enum JobInput {
    Text(TextInput),
    Image(ImageInput),
    Speech(SpeechInput),
    Stock(StockInput),
    Render(RenderInput),
    Video(VideoInput),
}

impl JobInput {
    /// Whether the job asked for an output the provider no longer has to be
    /// generated again (a new, billed attempt) rather than fail.
    pub fn regenerate_if_unavailable(&self) -> bool {
        match self {
            Self::Text(_) => false,
            Self::Image(input) => input.regenerate_if_unavailable,
            Self::Speech(input) => input.regenerate_if_unavailable,
            Self::Stock(input) => input.regenerate_if_unavailable,
            Self::Render(input) => input.regenerate_if_unavailable,
            Self::Video(input) => input.regenerate_if_unavailable,
        }
    }

    /// The input as it was accepted, read without checking it against today's
    /// rules: for a job the provider already took, whose input must not be
    /// refused after the fact because a rule was added since.
    pub fn read_accepted(rules: &InputRules, value: &Value) -> Result<JobInput, FieldError> {
        Ok(match *rules {
            InputRules::Text(_) => Self::Text(deserialize(value)?),
            InputRules::Image(_) => Self::Image(deserialize(value)?),
            InputRules::Speech => Self::Speech(deserialize(value)?),
            InputRules::Stock => Self::Stock(deserialize(value)?),
            InputRules::Render => Self::Render(deserialize(value)?),
            InputRules::Video(_) => Self::Video(deserialize(value)?),
        })
    }

    pub fn parse(rules: &InputRules, value: &Value) -> Result<JobInput, FieldError> {
        Ok(match *rules {
            InputRules::Text(limits) => Self::Text(TextInput::parse(value, limits)?),
            InputRules::Image(rules) => Self::Image(ImageInput::parse(value, rules)?),
            InputRules::Speech => Self::Speech(SpeechInput::parse(value)?),
            InputRules::Stock => Self::Stock(StockInput::parse(value)?),
            InputRules::Render => Self::Render(RenderInput::parse(value)?),
            InputRules::Video(rules) => Self::Video(VideoInput::parse(value, rules)?),
        })
    }
}

/// Deserializes a JSON object into `T`, naming the failing field as `input.<path>`
/// (`input` itself when the value is not an object). Every modality goes through
/// here so type errors, unknown fields and missing fields read the same everywhere.
fn deserialize<T: DeserializeOwned>(value: &Value) -> Result<T, FieldError> {
    if !value.is_object() {
        return Err(FieldError::invalid("input", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let parent = if path == "." || path.is_empty() {
            "input".to_string()
        } else {
            format!("input.{path}")
        };
        let message = e.into_inner().to_string();
        // serde reports a missing field at the enclosing object; name the field itself.
        match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) => FieldError::missing(&format!("{parent}.{name}"), format!("{name} is required")),
            None => FieldError::invalid(&parent, message),
        }
    })
}

/// Free text the client must give: not blank, at most `max_chars` characters.
fn check_text(field: &str, text: &str, max_chars: usize) -> Result<(), FieldError> {
    if text.trim().is_empty() {
        return Err(FieldError::invalid(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(FieldError::invalid(
            field,
            format!("must be at most {max_chars} characters (got {chars})"),
        ));
    }
    Ok(())
}

/// `value` must be one of `allowed`; `context` ends the message (" for dall-e-3").
fn check_one_of<T: PartialEq + Display>(
    field: &str,
    value: &T,
    allowed: &[T],
    context: &str,
) -> Result<(), FieldError> {
    if allowed.contains(value) {
        return Ok(());
    }
    let list = allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    Err(FieldError::invalid(field, format!("must be one of: {list}{context}")))
}

/// `value` must lie in `min..=max`.
fn check_range<T: PartialOrd + Display>(field: &str, value: T, min: T, max: T) -> Result<(), FieldError> {
    if value >= min && value <= max {
        return Ok(());
    }
    Err(FieldError::invalid(field, format!("must be between {min} and {max}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn picks_the_input_type_from_the_rules() {
        let cases = [
            (
                InputRules::Text(TextLimits {
                    max_output_tokens: 100,
                    max_temperature: 1.0,
                    prefill_no_trailing_whitespace: false,
                    stop_needs_non_whitespace: false,
                }),
                json!({"prompt": "hi"}),
            ),
            (InputRules::Image(&ImageRules::DALL_E_3), json!({"prompt": "a fox"})),
            (InputRules::Speech, json!({"text": "hello"})),
            (InputRules::Stock, json!({"query": "forest"})),
            (
                InputRules::Render,
                json!({"timeline": {"tracks": [{"clips": [
                    {"asset": {"type": "title", "text": "hi"}, "start": 0, "length": 2}
                ]}]}}),
            ),
            (InputRules::Video(&VideoRules::VEO_3_1), json!({"prompt": "waves"})),
        ];
        for (rules, value) in cases {
            let input = JobInput::parse(&rules, &value).expect("valid");
            let matches = matches!(
                (rules, input),
                (InputRules::Text(_), JobInput::Text(_))
                    | (InputRules::Image(_), JobInput::Image(_))
                    | (InputRules::Speech, JobInput::Speech(_))
                    | (InputRules::Stock, JobInput::Stock(_))
                    | (InputRules::Render, JobInput::Render(_))
                    | (InputRules::Video(_), JobInput::Video(_))
            );
            assert!(matches, "{rules:?}");
        }
    }

    #[test]
    fn binary_outputs_may_ask_to_be_generated_again() {
        let asked = JobInput::parse(
            &InputRules::Speech,
            &json!({"text": "hi", "regenerate_if_unavailable": true}),
        );
        assert!(asked.expect("valid").regenerate_if_unavailable());
        let plain = JobInput::parse(&InputRules::Stock, &json!({"query": "forest"})).expect("valid");
        assert!(!plain.regenerate_if_unavailable());
        let err = JobInput::parse(
            &InputRules::Speech,
            &json!({"text": "hi", "regenerate_if_unavailable": "yes"}),
        )
        .expect_err("not a boolean");
        assert_eq!(err.field, "input.regenerate_if_unavailable");
    }

    #[test]
    fn names_missing_and_mistyped_fields() {
        let cases = [
            (InputRules::Speech, json!({}), "input.text", "missing_field"),
            (InputRules::Speech, json!([]), "input", "invalid_field"),
            (InputRules::Stock, json!({"query": 3}), "input.query", "invalid_field"),
            (
                InputRules::Render,
                json!({"timeline": {}, "output": {"fps": "fast"}}),
                "input.output.fps",
                "invalid_field",
            ),
            (
                InputRules::Text(TextLimits {
                    max_output_tokens: 100,
                    max_temperature: 1.0,
                    prefill_no_trailing_whitespace: false,
                    stop_needs_non_whitespace: false,
                }),
                json!({"messages": [{"role": "user"}]}),
                "input.messages[0].content",
                "missing_field",
            ),
        ];
        for (rules, value, field, code) in cases {
            let err = JobInput::parse(&rules, &value).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field, code), "{value}: {err}");
        }
    }
}
