//! The simulated model asked for JSON: OpenAI's `response_format`
//! (`json_object`, `json_schema`) or Anthropic's forced tool call answer with
//! an instance of the schema, as a model that follows it would — every
//! property present, the first of an enum, a string the prompt's echo. A
//! `[[sim:json_invalid]]` directive in the prompt (only the asking turn: a
//! follow-up turn does not carry it) or in the system text (every turn) makes
//! the answer miss: prose for OpenAI, an empty tool input for Anthropic.

use serde_json::{json, Map, Value};

use crate::directives::directives;

/// Nesting deeper than this is answered `null` (a recursive schema).
const MAX_DEPTH: u8 = 8;

/// What a model says instead of the JSON it was asked for.
pub const NOT_JSON: &str = "Sure! Here is the JSON you asked for.";

/// Whether the prompt or the system text asks the answer to miss.
pub fn asked_to_miss(prompt: &str, system: Option<&str>) -> bool {
    let misses = |text: &str| directives(text).any(|(name, _)| name == "json_invalid");
    misses(prompt) || system.is_some_and(misses)
}

/// An instance of `schema`, strings taken from `text`.
pub fn instance(schema: &Value, text: &str) -> Value {
    at_depth(schema, text, 0)
}

fn at_depth(schema: &Value, text: &str, depth: u8) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    for combined in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = schema.get(combined).and_then(Value::as_array).and_then(|s| s.first()) {
            return at_depth(first, text, depth + 1);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "object" => {
            let mut object = Map::new();
            for (name, property) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                object.insert(name.clone(), at_depth(property, text, depth + 1));
            }
            Value::Object(object)
        }
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            let count = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1).clamp(1, 3);
            Value::Array((0..count).map(|_| at_depth(&items, text, depth + 1)).collect())
        }
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => {
            let longest = schema.get("maxLength").and_then(Value::as_u64).unwrap_or(u64::MAX);
            let keep = usize::try_from(longest).unwrap_or(usize::MAX);
            Value::String(text.chars().take(keep).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_is_answered_in_its_type() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 5},
                "population": {"type": "integer", "minimum": 10},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "capital": {"type": ["boolean", "null"]},
                "where": {"anyOf": [{"type": "object", "properties": {"lat": {"type": "number"}}}]}
            },
            "required": ["name", "population", "tags", "capital", "where"]
        });
        assert_eq!(
            instance(&schema, "Lyon, France"),
            json!({"name": "Lyon,", "population": 10, "tags": ["a"], "capital": true, "where": {"lat": 1.5}})
        );
    }

    #[test]
    fn the_directive_misses_from_the_prompt_or_the_system_text() {
        assert!(asked_to_miss("a city [[sim:json_invalid]]", None));
        assert!(asked_to_miss("a city", Some("[[sim:json_invalid]] be brief")));
        assert!(!asked_to_miss("a city", Some("be brief")));
    }
}
