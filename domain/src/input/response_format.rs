//! Structured output: `response_format` on a text job, in OpenAI's words —
//! `{"type": "json_object"}` or `{"type": "json_schema", "json_schema":
//! {"name", "schema", "strict"?, "description"?}}` (`{"type": "text"}` asks for
//! nothing). Every text model takes it: the worker asks each API its own way,
//! then checks the answer here — it must parse, be an object, and match the
//! schema — and, when it does not, asks again with the reason (`feedback`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldError;

/// How long a schema's name may be (OpenAI's `^[a-zA-Z0-9_-]{1,64}$`).
const MAX_NAME_CHARS: usize = 64;
/// How many of an answer's schema violations the reason names.
const REASONS_SHOWN: usize = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaFormat {
    pub name: String,
    pub schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl ResponseFormat {
    /// Whether the answer must be JSON.
    pub fn wants_json(&self) -> bool {
        !matches!(self, Self::Text)
    }

    /// The schema the answer must match (an object of any shape for `json_object`).
    pub fn schema(&self) -> Option<Value> {
        match self {
            Self::Text => None,
            Self::JsonObject => Some(serde_json::json!({ "type": "object" })),
            Self::JsonSchema { json_schema } => Some(json_schema.schema.clone()),
        }
    }

    /// The name the answer goes by (a tool's name, for APIs that take the
    /// schema as one).
    pub fn name(&self) -> &str {
        match self {
            Self::JsonSchema { json_schema } => &json_schema.name,
            _ => "json_output",
        }
    }

    pub(super) fn validate(&self) -> Result<(), FieldError> {
        let Self::JsonSchema { json_schema } = self else {
            return Ok(());
        };
        let name = &json_schema.name;
        let name_ok = !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(FieldError::invalid(
                "input.response_format.json_schema.name",
                "must be 1 to 64 letters, digits, underscores or dashes",
            ));
        }
        if !json_schema.schema.is_object() {
            return Err(FieldError::invalid(
                "input.response_format.json_schema.schema",
                "must be a JSON Schema object",
            ));
        }
        jsonschema::validator_for(&json_schema.schema).map_err(|error| {
            FieldError::invalid(
                "input.response_format.json_schema.schema",
                format!("is not a JSON Schema DE can check answers against: {error}"),
            )
        })?;
        Ok(())
    }

    /// The answer as the job's output, or why it is not what was asked for.
    /// A Markdown code fence around the JSON is taken off.
    pub fn check(&self, answer: &str) -> Result<String, String> {
        let Some(schema) = self.schema() else {
            return Ok(answer.to_owned());
        };
        let json = without_fence(answer);
        let value: Value = serde_json::from_str(json).map_err(|error| format!("the answer is not JSON: {error}"))?;
        let validator =
            jsonschema::validator_for(&schema).map_err(|error| format!("the schema cannot be used: {error}"))?;
        let violations: Vec<String> = validator
            .iter_errors(&value)
            .take(REASONS_SHOWN)
            .map(|error| {
                let at = error.instance_path().to_string();
                match at.is_empty() {
                    true => error.to_string(),
                    false => format!("at {at}: {error}"),
                }
            })
            .collect();
        match violations.is_empty() {
            true => Ok(json.to_owned()),
            false => Err(format!(
                "the answer does not match the schema: {}",
                violations.join("; ")
            )),
        }
    }
}

/// `text` without a surrounding ```` ``` ```` / ```` ```json ```` fence.
fn without_fence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(inner) = trimmed.strip_prefix("```").and_then(|t| t.strip_suffix("```")) else {
        return trimmed;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.trim()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn format(value: Value) -> ResponseFormat {
        serde_json::from_value(value).expect("a response format")
    }

    fn city() -> ResponseFormat {
        format(
            json!({"type": "json_schema", "json_schema": {"name": "city", "strict": true, "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
                "required": ["name", "population"],
                "additionalProperties": false
            }}}),
        )
    }

    #[test]
    fn an_answer_matching_the_schema_is_the_output() {
        let answer = "```json\n{\"name\": \"Lyon\", \"population\": 522000}\n```";
        assert_eq!(
            city().check(answer).as_deref(),
            Ok("{\"name\": \"Lyon\", \"population\": 522000}")
        );
        assert!(format(json!({"type": "json_object"})).check("{}").is_ok());
        assert_eq!(format(json!({"type": "text"})).check("hi").as_deref(), Ok("hi"));
    }

    #[test]
    fn what_is_wrong_is_said() {
        let not_json = city().check("Sure! Here it is:").expect_err("not JSON");
        assert!(not_json.starts_with("the answer is not JSON"), "{not_json}");
        let wrong = city()
            .check(r#"{"name": "Lyon", "population": -3}"#)
            .expect_err("below 0");
        assert!(wrong.contains("/population"), "{wrong}");
        let missing = city().check(r#"{"name": "Lyon"}"#).expect_err("missing");
        assert!(missing.contains("population"), "{missing}");
        let array = format(json!({"type": "json_object"}))
            .check("[1]")
            .expect_err("not an object");
        assert!(array.contains("object"), "{array}");
    }

    #[test]
    fn a_bad_format_is_refused_naming_the_field() {
        let bad_name = format(json!({"type": "json_schema", "json_schema": {"name": "a city", "schema": {}}}));
        assert_eq!(
            bad_name.validate().map_err(|e| e.field),
            Err("input.response_format.json_schema.name".into())
        );
        let bad_schema =
            format(json!({"type": "json_schema", "json_schema": {"name": "c", "schema": {"type": "no-such-type"}}}));
        assert_eq!(
            bad_schema.validate().map_err(|e| e.field),
            Err("input.response_format.json_schema.schema".into())
        );
        assert!(city().validate().is_ok());
        assert!(serde_json::from_value::<ResponseFormat>(json!({"type": "xml"})).is_err());
    }
}
