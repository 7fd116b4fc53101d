//! Tools a text model may call, in OpenAI's words (the native input and the
//! OpenAI-compatible API take the same): `tools` of `{"type": "function",
//! "function": {"name", "description"?, "parameters"?, "strict"?}}`,
//! `tool_choice` (`auto`, `none`, `required` or `{"type": "function",
//! "function": {"name"}}`), an assistant turn's `tool_calls` and a `tool`
//! turn's answer to one (`tool_call_id`). Each API is asked its own way by
//! the worker; an answer that calls tools is the job's output as
//! `{"text", "tool_calls"}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldError;

/// OpenAI's limit on a request's tools.
const MAX_TOOLS: usize = 128;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: FunctionKind,
    pub function: FunctionSpec,
}

/// The one kind of tool there is: `"function"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    Function,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema of the arguments (an object); none: no arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl FunctionSpec {
    /// The arguments' schema, an object of no properties when none is given.
    pub fn schema(&self) -> Value {
        self.parameters
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoice {
    /// `auto`, `none` or `required`.
    Mode(ToolMode),
    /// This function, and no other.
    Named {
        #[serde(rename = "type")]
        kind: FunctionKind,
        function: NamedFunction,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolMode {
    Auto,
    None,
    Required,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFunction {
    pub name: String,
}

/// A call an assistant turn made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FunctionKind,
    pub function: CalledFunction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalledFunction {
    pub name: String,
    /// The arguments as JSON text, as the model wrote them.
    pub arguments: String,
}

impl ToolCall {
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: FunctionKind::Function,
            function: CalledFunction {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }
}

/// The tools and the choice make sense together: names a provider takes,
/// each once, schemas that are objects, a named choice among the tools.
pub(super) fn validate(tools: Option<&[Tool]>, choice: Option<&ToolChoice>) -> Result<(), FieldError> {
    let tools = tools.unwrap_or_default();
    if tools.len() > MAX_TOOLS {
        return Err(FieldError::invalid("input.tools", format!("at most {MAX_TOOLS} tools")));
    }
    for (i, tool) in tools.iter().enumerate() {
        let name = &tool.function.name;
        let ok = !name.is_empty()
            && name.chars().count() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(FieldError::invalid(
                &format!("input.tools[{i}].function.name"),
                "must be 1 to 64 letters, digits, underscores or dashes",
            ));
        }
        if tools[..i].iter().any(|t| t.function.name == *name) {
            return Err(FieldError::invalid(
                &format!("input.tools[{i}].function.name"),
                format!("{name:?} is named twice"),
            ));
        }
        if tool.function.parameters.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(FieldError::invalid(
                &format!("input.tools[{i}].function.parameters"),
                "must be a JSON Schema object",
            ));
        }
    }
    match choice {
        Some(ToolChoice::Named { function, .. }) if !tools.iter().any(|t| t.function.name == function.name) => {
            Err(FieldError::invalid(
                "input.tool_choice.function.name",
                format!("{:?} is not one of the tools", function.name),
            ))
        }
        Some(ToolChoice::Mode(ToolMode::Required) | ToolChoice::Named { .. }) if tools.is_empty() => {
            Err(FieldError::invalid("input.tool_choice", "there are no tools to call"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tools(value: Value) -> Vec<Tool> {
        serde_json::from_value(value).expect("tools")
    }

    #[test]
    fn tools_and_the_choice_are_checked_together() {
        let weather =
            tools(json!([{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]));
        let named =
            |name: &str| serde_json::from_value::<ToolChoice>(json!({"type": "function", "function": {"name": name}}));
        assert!(validate(Some(&weather), named("weather").ok().as_ref()).is_ok());
        assert_eq!(
            validate(Some(&weather), named("other").ok().as_ref()).map_err(|e| e.field),
            Err("input.tool_choice.function.name".into())
        );
        let required = serde_json::from_value::<ToolChoice>(json!("required")).ok();
        assert_eq!(
            validate(None, required.as_ref()).map_err(|e| e.field),
            Err("input.tool_choice".into())
        );
        let twice = tools(json!([
            {"type": "function", "function": {"name": "a"}},
            {"type": "function", "function": {"name": "a"}}
        ]));
        assert_eq!(
            validate(Some(&twice), None).map_err(|e| e.field),
            Err("input.tools[1].function.name".into())
        );
        let bad = tools(json!([{"type": "function", "function": {"name": "a", "parameters": []}}]));
        assert_eq!(
            validate(Some(&bad), None).map_err(|e| e.field),
            Err("input.tools[0].function.parameters".into())
        );
        assert!(serde_json::from_value::<ToolChoice>(json!("sometimes")).is_err());
    }
}
