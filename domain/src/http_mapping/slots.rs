//! The placeholders a mapping may use: for each modality, the job's input
//! fields and the model's settings it can send, with their JSON types, whether
//! every job has a value, and which input fields each one carries; and the
//! values one job fills them with (`Values`).

use serde_json::{json, Map, Value};

use crate::{
    catalog::ModelConfig,
    input::{ChatMessage, ChatRole, JobInput},
    job::Modality,
};

/// A placeholder's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotType {
    String,
    Integer,
    Number,
    Array,
}

impl SlotType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Number => "a number",
            Self::Array => "a list",
        }
    }

    /// Whether a default given as `value` may stand in for a job's value.
    pub(crate) fn admits(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_u64() || value.is_i64(),
            Self::Number => value.is_number(),
            Self::Array => value.is_array(),
        }
    }
}

/// One placeholder a modality offers.
pub(crate) struct Slot {
    pub name: &'static str,
    pub kind: SlotType,
    /// Every job has a value (the model supplies one when the job does not).
    pub always: bool,
    /// The input fields it carries to the provider.
    pub carries: &'static [&'static str],
}

const fn slot(name: &'static str, kind: SlotType, always: bool, carries: &'static [&'static str]) -> Slot {
    Slot {
        name,
        kind,
        always,
        carries,
    }
}

use SlotType as T;

const TEXT: &[Slot] = &[
    slot("model", T::String, true, &[]),
    slot("prompt", T::String, true, &["prompt"]),
    slot("messages", T::Array, true, &["prompt", "messages"]),
    slot(
        "messages_with_system",
        T::Array,
        true,
        &["prompt", "messages", "system"],
    ),
    slot("system", T::String, false, &["system"]),
    slot("max_tokens", T::Integer, true, &["max_tokens"]),
    slot("temperature", T::Number, false, &["temperature"]),
    slot("top_p", T::Number, false, &["top_p"]),
    slot("stop", T::Array, false, &["stop"]),
];

const IMAGE: &[Slot] = &[
    slot("model", T::String, true, &[]),
    slot("prompt", T::String, true, &["prompt"]),
    slot("negative_prompt", T::String, false, &["negative_prompt"]),
    slot("size", T::String, false, &["size"]),
    slot("width", T::Integer, false, &["size"]),
    slot("height", T::Integer, false, &["size"]),
    slot("aspect_ratio", T::String, false, &["aspect_ratio"]),
    slot("n", T::Integer, true, &["n"]),
    slot("quality", T::String, false, &["quality"]),
    slot("style", T::String, false, &["style"]),
    slot("seed", T::Integer, false, &["seed"]),
];

/// The provider's key: headers and the path only, never a body DE might show.
pub(crate) const API_KEY: &str = "api_key";
/// The operation a status request asks after: the poll only.
pub(crate) const OPERATION_ID: &str = "operation_id";
/// Input fields that are DE's own, never sent.
pub(crate) const DE_FIELDS: &[&str] = &["regenerate_if_unavailable"];

/// The placeholders of `modality`'s input; `None` for a modality the generic
/// provider does not serve.
pub(crate) fn slots(modality: Modality) -> Option<&'static [Slot]> {
    match modality {
        Modality::Text => Some(TEXT),
        Modality::Image => Some(IMAGE),
        _ => None,
    }
}

/// What one call's placeholders are filled with: only values that exist.
#[derive(Clone, Debug, Default)]
pub struct Values {
    values: Map<String, Value>,
}

impl Values {
    /// A job's values: its input, else the mapping's defaults, else the
    /// model's (`max_tokens`, one image).
    pub fn for_job(model: &ModelConfig, input: &JobInput, defaults: &Map<String, Value>) -> Self {
        let mut values = defaults.clone();
        let mut set = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                values.insert(name.to_string(), value);
            }
        };
        set("model", Some(json!(model.provider_model)));
        match input {
            JobInput::Text(text) => {
                let turns = text.conversation();
                let prompt = text.prompt.clone().or_else(|| {
                    turns
                        .iter()
                        .rev()
                        .find(|turn| turn.role == ChatRole::User)
                        .map(|turn| turn.content.clone())
                });
                set("prompt", prompt.map(Value::from));
                let mut with_system = Vec::with_capacity(turns.len() + 1);
                if let Some(system) = &text.system {
                    with_system.push(json!({"role": "system", "content": system}));
                }
                with_system.extend(turns.iter().map(turn));
                set("messages", Some(Value::Array(turns.iter().map(turn).collect())));
                set("messages_with_system", Some(Value::Array(with_system)));
                set("system", text.system.clone().map(Value::from));
                if !defaults.contains_key("max_tokens") || text.max_tokens.is_some() {
                    set(
                        "max_tokens",
                        Some(json!(text.max_tokens.unwrap_or(model.default_max_tokens))),
                    );
                }
                set("temperature", text.temperature.map(Value::from));
                set("top_p", text.top_p.map(Value::from));
                set("stop", text.stop.clone().map(Value::from));
            }
            JobInput::Image(image) => {
                set("prompt", Some(json!(image.prompt)));
                set("negative_prompt", image.negative_prompt.clone().map(Value::from));
                set("size", image.size.clone().map(Value::from));
                let dimensions = image.size.as_deref().and_then(|size| size.split_once('x'));
                if let Some((width, height)) = dimensions {
                    set("width", width.parse::<u64>().ok().map(Value::from));
                    set("height", height.parse::<u64>().ok().map(Value::from));
                }
                set("aspect_ratio", image.aspect_ratio.clone().map(Value::from));
                if !defaults.contains_key("n") || image.n.is_some() {
                    set("n", Some(json!(image.count())));
                }
                set("quality", image.quality.clone().map(Value::from));
                set("style", image.style.clone().map(Value::from));
                set("seed", image.seed.map(Value::from));
            }
            _ => {}
        }
        Self { values }
    }

    /// With `name` set (the key, an operation id).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.values.insert(name.to_string(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

fn turn(message: &ChatMessage) -> Value {
    json!({"role": message.role, "content": message.content})
}
