//! A text model's prompt template: a system prompt, a wrapper around the
//! user's prompt (`{{prompt}}` marks where it goes), and default sampling
//! settings. The job's own values win: the template fills in what the job left
//! out, so a job that names its own system prompt or temperature gets it.
//!
//! The producer applies the template before it reserves a budget and the
//! worker before it calls the provider, so both see the request that is sent;
//! what the template supplied is recorded in the job's
//! `metrics.prompt_template`, and feedback is summarised per template `name`.

use serde::{Deserialize, Serialize};

use crate::input::{ChatRole, FieldError, TextInput};

/// Where the user's prompt goes in `user`.
pub const PROMPT_PLACEHOLDER: &str = "{{prompt}}";

const MAX_NAME_CHARS: usize = 64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptTemplate {
    /// What feedback and the job's metrics call this template; change it with
    /// the wording to compare versions.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The user turn, with `{{prompt}}` where the job's prompt goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

impl PromptTemplate {
    /// The template's own rules; the sampling settings are checked against the
    /// model's limits by parsing them as a job's input would be (`input_fields`).
    pub fn validate(&self) -> Result<(), FieldError> {
        let name_ok = !self.name.is_empty()
            && self.name.chars().count() <= MAX_NAME_CHARS
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if !name_ok {
            return Err(FieldError::invalid(
                "prompt_template.name",
                format!("must be 1 to {MAX_NAME_CHARS} letters, digits, `-`, `_`, `.` or `:`"),
            ));
        }
        if let Some(user) = &self.user {
            let placeholders = placeholders(user);
            if let Some(unknown) = placeholders.iter().find(|p| **p != PROMPT_PLACEHOLDER) {
                return Err(FieldError::invalid(
                    "prompt_template.user",
                    format!("unknown placeholder `{unknown}`; the only one is `{PROMPT_PLACEHOLDER}`"),
                ));
            }
            if placeholders.is_empty() {
                return Err(FieldError::invalid(
                    "prompt_template.user",
                    format!("must contain `{PROMPT_PLACEHOLDER}` where the job's prompt goes"),
                ));
            }
        }
        Ok(())
    }

    /// The template's system prompt and settings as a job's input, so the
    /// model's input rules check them; errors name `input.…`, which the admin
    /// API reports as `prompt_template.…`.
    pub fn input_fields(&self) -> serde_json::Value {
        let mut fields = serde_json::json!({ "prompt": "x" });
        for (key, value) in [
            ("system", serde_json::to_value(&self.system)),
            ("temperature", serde_json::to_value(self.temperature)),
            ("max_tokens", serde_json::to_value(self.max_tokens)),
            ("stop", serde_json::to_value(&self.stop)),
        ] {
            if let Ok(value) = value {
                if !value.is_null() {
                    fields[key] = value;
                }
            }
        }
        fields
    }

    /// The input as sent: the job's values, and the template's where the job
    /// gave none; the wrapper goes around the prompt (or the last user turn of
    /// a conversation without one). With it, what of the template the request
    /// used: its name and the parts the job left to it, recorded in the job's
    /// `metrics.prompt_template`.
    pub fn apply(&self, input: &TextInput) -> (TextInput, PromptTemplate) {
        let mut sent = input.clone();
        let mut applied = PromptTemplate {
            name: self.name.clone(),
            system: None,
            user: None,
            temperature: None,
            max_tokens: None,
            stop: None,
        };
        if sent.system.is_none() && self.system.is_some() {
            sent.system = self.system.clone();
            applied.system = self.system.clone();
        }
        if let Some(wrapper) = &self.user {
            let wrap = |content: &str| wrapper.replace(PROMPT_PLACEHOLDER, content);
            let last_user_turn = sent
                .messages
                .as_mut()
                .and_then(|turns| turns.iter_mut().rev().find(|turn| turn.role == ChatRole::User));
            let wrapped = if let Some(prompt) = sent.prompt.as_mut() {
                *prompt = wrap(prompt);
                true
            } else if let Some(turn) = last_user_turn {
                turn.content = wrap(&turn.content);
                true
            } else {
                false
            };
            if wrapped {
                applied.user = Some(wrapper.clone());
            }
        }
        if sent.temperature.is_none() && self.temperature.is_some() {
            sent.temperature = self.temperature;
            applied.temperature = self.temperature;
        }
        if sent.max_tokens.is_none() && self.max_tokens.is_some() {
            sent.max_tokens = self.max_tokens;
            applied.max_tokens = self.max_tokens;
        }
        if sent.stop.is_none() && self.stop.is_some() {
            sent.stop = self.stop.clone();
            applied.stop = self.stop.clone();
        }
        (sent, applied)
    }
}

/// Every `{{…}}` in `text`.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(length) = rest[start..].find("}}") else {
            found.push(&rest[start..]);
            break;
        };
        found.push(&rest[start..start + length + 2]);
        rest = &rest[start + length + 2..];
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(value: serde_json::Value) -> PromptTemplate {
        serde_json::from_value(value).expect("a template")
    }

    fn input(value: serde_json::Value) -> TextInput {
        serde_json::from_value(value).expect("a text input")
    }

    #[test]
    fn fills_in_what_the_job_left_out() {
        let t = template(
            json!({"name": "brief-v1", "system": "Be brief.", "user": "Q: {{prompt}}\nA:",
                                "temperature": 0.2, "max_tokens": 64, "stop": ["\n\n"]}),
        );
        let (sent, applied) = t.apply(&input(json!({"prompt": "why {{prompt}}?", "temperature": 0.9})));
        assert_eq!(sent.system.as_deref(), Some("Be brief."));
        // The job's text is put in once and never expanded itself.
        assert_eq!(sent.prompt.as_deref(), Some("Q: why {{prompt}}?\nA:"));
        assert_eq!((sent.temperature, sent.max_tokens), (Some(0.9), Some(64)));
        assert_eq!(applied.temperature, None, "the job's own temperature won");
        assert_eq!(applied.system.as_deref(), Some("Be brief."));
        assert_eq!(applied.stop, Some(vec!["\n\n".to_string()]));
    }

    #[test]
    fn the_jobs_system_prompt_wins_and_a_conversation_wraps_its_last_user_turn() {
        let t = template(json!({"name": "t", "system": "default", "user": "<q>{{prompt}}</q>"}));
        let (sent, applied) = t.apply(&input(json!({"system": "mine", "messages": [
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"}, {"role": "assistant", "content": "Sure"}]})));
        assert_eq!(sent.system.as_deref(), Some("mine"));
        assert_eq!(applied.system, None);
        let turns = sent.messages.unwrap_or_default();
        assert_eq!(turns[0].content, "first");
        assert_eq!(turns[2].content, "<q>second</q>");
        assert_eq!(turns[3].content, "Sure");
    }

    #[test]
    fn refuses_unknown_or_missing_placeholders_and_bad_names() {
        let field = |value| template(value).validate().map_err(|e| e.field);
        assert_eq!(
            field(json!({"name": "t", "user": "{{prompt}} in {{language}}"})),
            Err("prompt_template.user".to_string())
        );
        assert_eq!(
            field(json!({"name": "t", "user": "no slot"})),
            Err("prompt_template.user".to_string())
        );
        assert_eq!(
            field(json!({"name": "t", "user": "{{prompt"})),
            Err("prompt_template.user".to_string())
        );
        assert_eq!(
            field(json!({"name": "has space"})),
            Err("prompt_template.name".to_string())
        );
        assert_eq!(field(json!({"name": "v2", "user": "say: {{prompt}}"})), Ok(()));
    }
}
