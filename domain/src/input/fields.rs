//! A model's input rules as a list of fields — name, kind, bounds, choices —
//! for clients that build a form from them (the console's playground) and for
//! `GET /v1/models`. The parsers in this module remain the judges; this only
//! describes what they accept.

use serde::Serialize;

use super::{image, speech, stock, InputRules, TextLimits};

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A prompt: several lines.
    LongText,
    Integer,
    Number,
    /// One of `choices`.
    Choice,
    /// The whole input as a JSON object (inputs too rich for a form).
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The longest text accepted, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
    pub help: &'static str,
}

impl Field {
    fn new(name: &'static str, kind: FieldKind, help: &'static str) -> Self {
        Self {
            name,
            kind,
            required: false,
            choices: Vec::new(),
            min: None,
            max: None,
            max_chars: None,
            help,
        }
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    fn chars(mut self, max: usize) -> Self {
        self.max_chars = Some(max);
        self
    }

    fn choice(name: &'static str, choices: &[&'static str], help: &'static str) -> Self {
        Self {
            choices: choices.to_vec(),
            ..Self::new(name, FieldKind::Choice, help)
        }
    }
}

impl InputRules {
    /// The fields a job's `input` may have, the most used first.
    pub fn fields(&self) -> Vec<Field> {
        match self {
            InputRules::Text(limits) => text_fields(limits),
            InputRules::Image(rules) => image_fields(rules),
            InputRules::Speech => speech_fields(),
            InputRules::Stock => stock_fields(),
            InputRules::Video(rules) => video_fields(rules),
            InputRules::Render => vec![Field::new(
                "input",
                FieldKind::Json,
                "The render as a JSON object: its timeline and output (Shotstack's edit).",
            )
            .required()],
        }
    }
}

fn text_fields(limits: &TextLimits) -> Vec<Field> {
    use FieldKind::*;
    vec![
        Field::new("prompt", LongText, "What to ask the model.").required(),
        Field::new("system", LongText, "Instructions the model follows throughout."),
        Field::new("max_tokens", Integer, "The longest answer, in tokens.").range(1.0, limits.max_output_tokens as f64),
        Field::new("temperature", Number, "Higher is more varied, lower more focused.")
            .range(0.0, limits.max_temperature),
        Field::new("top_p", Number, "Sample only from this share of the likeliest tokens.").range(0.0, 1.0),
    ]
}

fn image_fields(rules: &image::ImageRules) -> Vec<Field> {
    use FieldKind::*;
    let mut fields = vec![Field::new("prompt", LongText, "The picture to make.")
        .required()
        .chars(rules.max_prompt_chars)];
    if rules.negative_prompt {
        fields.push(Field::new(
            "negative_prompt",
            LongText,
            "What the picture must not show.",
        ));
    }
    if !rules.sizes.is_empty() {
        fields.push(Field::choice("size", rules.sizes, "Width × height, in pixels."));
    }
    if !rules.aspect_ratios.is_empty() {
        fields.push(Field::choice("aspect_ratio", rules.aspect_ratios, "Width to height."));
    }
    if rules.max_n > 1 {
        fields.push(Field::new("n", Integer, "How many pictures.").range(1.0, rules.max_n as f64));
    }
    if !rules.qualities.is_empty() {
        fields.push(Field::choice("quality", rules.qualities, "Finer detail costs more."));
    }
    if !rules.styles.is_empty() {
        fields.push(Field::choice("style", rules.styles, "The look of the picture."));
    }
    if rules.seed {
        fields.push(Field::new(
            "seed",
            Integer,
            "The same seed and prompt give the same picture.",
        ));
    }
    fields
}

fn speech_fields() -> Vec<Field> {
    use FieldKind::*;
    vec![
        Field::new("text", LongText, "What to say.")
            .required()
            .chars(speech::MAX_TEXT_CHARS),
        Field::new(
            "voice",
            Text,
            "The provider's voice id; the model's default when empty.",
        ),
        Field::choice(
            "format",
            speech::FORMATS,
            "Codec, sample rate and bitrate of the audio.",
        ),
        Field::new("stability", Number, "Steadier (higher) or more expressive (lower).").range(0.0, 1.0),
        Field::new("speed", Number, "Slower or faster than normal.").range(0.7, 1.2),
    ]
}

fn stock_fields() -> Vec<Field> {
    use FieldKind::*;
    vec![
        Field::new("query", Text, "What to search for.")
            .required()
            .chars(stock::MAX_QUERY_CHARS),
        Field::choice("orientation", stock::ORIENTATIONS, "The shape of the results."),
        Field::choice("size", stock::SIZES, "The smallest size of the results."),
        Field::new("per_page", Integer, "How many results.").range(1.0, stock::MAX_PER_PAGE as f64),
        Field::new("download", Integer, "How many of the top results to copy into storage.")
            .range(0.0, stock::MAX_DOWNLOAD as f64),
    ]
}

fn video_fields(rules: &super::VideoRules) -> Vec<Field> {
    use FieldKind::*;
    let durations: Vec<f64> = rules.durations.iter().map(|d| *d as f64).collect();
    let mut fields = vec![
        Field::new("prompt", LongText, "The clip to make.")
            .required()
            .chars(rules.max_prompt_chars),
        Field::new("negative_prompt", LongText, "What the clip must not show."),
        Field::new("duration_seconds", Integer, "The clip's length, in seconds.").range(
            durations.iter().copied().fold(f64::MAX, f64::min),
            durations.iter().copied().fold(0.0, f64::max),
        ),
        Field::choice("aspect_ratio", rules.aspect_ratios, "Width to height."),
        Field::choice("resolution", rules.resolutions, "The clip's resolution."),
    ];
    if rules.takes_seed {
        fields.push(Field::new(
            "seed",
            Integer,
            "The same seed and prompt give the same clip.",
        ));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::ImageRules;

    #[test]
    fn fields_follow_the_rules() {
        let fields = InputRules::Image(&ImageRules::DALL_E_3).fields();
        let names: Vec<_> = fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["prompt", "size", "quality", "style"]);
        assert!(fields[0].required);
        assert_eq!(fields[1].choices, ["1024x1024", "1792x1024", "1024x1792"]);
        let dall_e_2 = InputRules::Image(&ImageRules::DALL_E_2).fields();
        assert!(dall_e_2.iter().any(|f| f.name == "n" && f.max == Some(10.0)));
    }
}
