//! A compatible request's parameters, checked before anything runs: each is
//! one DE serves, one that changes nothing DE does (accepted, as OpenAI
//! accepts it), or one DE does not serve yet — refused by name unless it asks
//! for nothing (`stream: false`). Anything else is refused as OpenAI refuses
//! an unknown argument.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::OpenAiError;

pub struct Parameters {
    pub served: &'static [&'static str],
    /// Accepted and without effect here (`store`, `service_tier`…).
    pub ignored: &'static [&'static str],
    pub not_yet: &'static [&'static str],
}

impl Parameters {
    /// The body as JSON, its parameters checked, typed as `T`.
    pub fn read<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, OpenAiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| OpenAiError::invalid("body", "invalid_json", format!("The body is not valid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(OpenAiError::invalid(
                "body",
                "invalid_json",
                "The body must be a JSON object",
            ));
        };
        for (name, given) in object {
            let name = name.as_str();
            if self.not_yet.contains(&name) {
                if !asks_for_nothing(name, given) {
                    return Err(OpenAiError::invalid(
                        name,
                        "unsupported_parameter",
                        format!("DE's OpenAI-compatible API does not support `{name}` yet"),
                    ));
                }
            } else if !self.served.contains(&name) && !self.ignored.contains(&name) {
                return Err(OpenAiError::invalid(
                    name,
                    "unknown_parameter",
                    format!("Unrecognized request argument supplied: {name}"),
                ));
            }
        }
        serde_path_to_error::deserialize(&value).map_err(|e| {
            let path = e.path().to_string();
            OpenAiError::invalid(
                &path,
                "invalid_type",
                format!("Invalid value for `{path}`: {}", e.inner()),
            )
        })
    }
}

/// A parameter given with the value that asks for nothing (`stream: false`,
/// `response_format: {"type": "text"}`, `tools: []`…) is no request for it.
fn asks_for_nothing(name: &str, given: &Value) -> bool {
    match (name, given) {
        (_, Value::Null) | (_, Value::Bool(false)) => true,
        ("response_format", format) => format["type"] == "text",
        ("tool_choice", choice) => choice == "none",
        ("stream_format", format) => format == "audio",
        ("presence_penalty" | "frequency_penalty", penalty) => penalty.as_f64() == Some(0.0),
        (_, Value::Array(items)) => items.is_empty(),
        (_, Value::Object(fields)) => fields.is_empty(),
        _ => false,
    }
}
