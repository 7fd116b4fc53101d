//! The conversation and the tools in Anthropic's words: an assistant turn's
//! tool calls are `tool_use` blocks (their arguments parsed into `input`), a
//! tool turn's answer is a `tool_result` block in a user turn (answers in a
//! row, and the user's words after them, make one turn), `tools` take
//! `input_schema`, and `tool_choice` is `auto`, `any`, `none` or one `tool`.

use electrons_domain::input::{ChatMessage, ChatRole, TextInput, ToolChoice, ToolMode};
use serde_json::{json, Value};

/// The messages to send.
pub fn messages(input: &TextInput) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    for turn in input.conversation() {
        let (role, blocks) = blocks(&turn);
        // A turn of the same role as the last (tool results, then the user's
        // words) joins it: Anthropic wants them in one turn, results first.
        if let Some(last) = messages
            .last_mut()
            .filter(|last| last["role"] == role && turn_is_blocks(last))
        {
            if let Some(content) = last["content"].as_array_mut() {
                content.extend(blocks);
                continue;
            }
        }
        messages.push(json!({ "role": role, "content": blocks }));
    }
    // A single text block is sent as the plain string it was.
    for message in &mut messages {
        let only_text = message["content"]
            .as_array()
            .filter(|blocks| blocks.len() == 1 && blocks[0]["type"] == "text")
            .map(|blocks| blocks[0]["text"].clone());
        if let Some(text) = only_text {
            message["content"] = text;
        }
    }
    messages
}

fn turn_is_blocks(message: &Value) -> bool {
    message["content"].is_array()
}

fn blocks(turn: &ChatMessage) -> (&'static str, Vec<Value>) {
    match turn.role {
        ChatRole::User => ("user", vec![json!({ "type": "text", "text": turn.content })]),
        ChatRole::Assistant => {
            let mut blocks = Vec::new();
            if !turn.content.is_empty() {
                blocks.push(json!({ "type": "text", "text": turn.content }));
            }
            for call in turn.calls() {
                // Arguments that are not a JSON object are sent as none.
                let input = serde_json::from_str::<Value>(&call.function.arguments)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({}));
                blocks.push(json!({ "type": "tool_use", "id": call.id, "name": call.function.name, "input": input }));
            }
            ("assistant", blocks)
        }
        ChatRole::Tool => (
            "user",
            vec![json!({ "type": "tool_result", "tool_use_id": turn.tool_call_id, "content": turn.content })],
        ),
    }
}

/// `tools` and `tool_choice`, when the job gives tools.
pub fn tools(input: &TextInput) -> Option<(Value, Option<Value>)> {
    let tools = input.tools.as_ref().filter(|tools| !tools.is_empty())?;
    let tools: Vec<Value> = tools
        .iter()
        .map(|tool| {
            let mut spec = json!({ "name": tool.function.name, "input_schema": tool.function.schema() });
            if let Some(description) = &tool.function.description {
                spec["description"] = json!(description);
            }
            spec
        })
        .collect();
    let choice = input.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Mode(ToolMode::Auto) => json!({ "type": "auto" }),
        ToolChoice::Mode(ToolMode::None) => json!({ "type": "none" }),
        ToolChoice::Mode(ToolMode::Required) => json!({ "type": "any" }),
        ToolChoice::Named { function, .. } => json!({ "type": "tool", "name": function.name }),
    });
    Some((Value::Array(tools), choice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: Value) -> TextInput {
        serde_json::from_value(value).expect("an input")
    }

    #[test]
    fn calls_and_their_answers_are_anthropics_blocks() {
        let input = input(json!({"messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
            {"role": "user", "content": "And tomorrow?"}
        ]}));
        let sent = messages(&input);
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(sent[0], json!({"role": "user", "content": "Weather in Paris?"}));
        assert_eq!(
            sent[1]["content"],
            json!([{"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}])
        );
        assert_eq!(
            sent[2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "call_1", "content": "18 C"},
                   {"type": "text", "text": "And tomorrow?"}])
        );
    }

    #[test]
    fn tools_and_the_choice_are_anthropics() {
        let input = input(json!({"prompt": "x",
            "tools": [{"type": "function", "function": {"name": "weather", "description": "Today's", "parameters": {"type": "object"}}}],
            "tool_choice": "required"}));
        let (tools, choice) = tools(&input).expect("tools");
        assert_eq!(
            tools,
            json!([{"name": "weather", "description": "Today's", "input_schema": {"type": "object"}}])
        );
        assert_eq!(choice, Some(json!({"type": "any"})));
    }
}
