//! What a provider call used, in the units the provider bills: tokens for text,
//! images with their size and quality, characters of speech, seconds of video,
//! and the request itself. Each recorded call carries one (`metrics.calls[].usage`)
//! with its cost; the job's `metrics.usage` and `metrics.cost_usd` add up its
//! billed calls. Before a call is made, [`Usage::worst_case`] bounds what it can
//! use, which is what a budget reserves at submit.

use serde::{Deserialize, Serialize};

use crate::{
    catalog::ModelConfig,
    input::{JobInput, RenderInput, TextInput},
};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characters: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_seconds: Option<f64>,
    /// Requests billed: 1 for every call (a stock-media search is billed by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
}

impl Usage {
    /// One request and nothing else.
    pub fn request() -> Self {
        Self {
            requests: Some(1),
            ..Self::default()
        }
    }

    pub fn tokens(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            ..Self::request()
        }
    }

    /// The most one call for `input` can use: every character of a prompt
    /// counted as a token (no tokenizer DE calls makes fewer characters than
    /// tokens of ordinary text) plus each turn's framing, and all of
    /// `max_tokens`; every image asked for; every character spoken; the whole
    /// clip. `default_video_seconds` is the model's clip length when the job
    /// names none.
    pub fn worst_case(model: &ModelConfig, input: &JobInput, default_video_seconds: u32) -> Self {
        match input {
            JobInput::Text(text) => {
                let (characters, framing) = prompt_size(text);
                Self::tokens((characters + framing) as u64, u64::from(max_tokens(model, text)))
            }
            JobInput::Image(image) => Self {
                images: Some(u32::from(image.n.unwrap_or(1))),
                image_size: image.size.clone(),
                image_quality: image.quality.clone(),
                ..Self::request()
            },
            JobInput::Speech(speech) => Self {
                characters: Some(speech.text.chars().count() as u64),
                ..Self::request()
            },
            JobInput::Stock(_) => Self::request(),
            JobInput::Render(render) => Self {
                video_seconds: Some(timeline_seconds(render)),
                ..Self::request()
            },
            JobInput::Video(video) => Self {
                video_seconds: Some(f64::from(video.duration_seconds.unwrap_or(default_video_seconds))),
                ..Self::request()
            },
        }
    }

    /// What a billed call used when its answer does not say: what was asked for,
    /// with no text written.
    pub fn requested(model: &ModelConfig, input: &JobInput, default_video_seconds: u32) -> Self {
        let mut usage = Self::worst_case(model, input, default_video_seconds);
        if let JobInput::Text(text) = input {
            usage.input_tokens = Some(estimated_tokens(model, text).0);
            usage.output_tokens = Some(0);
        }
        usage
    }
}

/// What a text call will cost against token limits before it is made: the
/// prompt (about four characters a token, plus each message's framing) and the
/// most it may write. Settling afterwards corrects it to the real usage.
pub fn estimated_tokens(model: &ModelConfig, input: &TextInput) -> (u64, u64) {
    let (characters, framing) = prompt_size(input);
    (
        characters.div_ceil(4) as u64 + framing as u64,
        u64::from(max_tokens(model, input)),
    )
}

/// Characters of the prompt, and the tokens each turn's framing adds.
fn prompt_size(input: &TextInput) -> (usize, usize) {
    let conversation = input.conversation();
    let characters: usize = input.system.as_deref().map_or(0, |s| s.chars().count())
        + conversation.iter().map(|m| m.content.chars().count()).sum::<usize>();
    let framing = 4 * (conversation.len() + usize::from(input.system.is_some())) + 3;
    (characters, framing)
}

/// `max_tokens` of the request: the job's, else the model's default.
pub fn max_tokens(model: &ModelConfig, input: &TextInput) -> u32 {
    input
        .max_tokens
        .unwrap_or(model.default_max_tokens)
        .min(model.max_output_tokens)
}

/// Where the timeline ends, from the clips whose start and length are numbers
/// (a clip of `auto` length ends where its asset does, which only the render
/// knows).
fn timeline_seconds(render: &RenderInput) -> f64 {
    let tracks = render.timeline.get("tracks").and_then(|t| t.as_array());
    tracks
        .into_iter()
        .flatten()
        .filter_map(|track| track.get("clips").and_then(|c| c.as_array()))
        .flatten()
        .filter_map(|clip| Some(clip.get("start")?.as_f64()? + clip.get("length")?.as_f64()?))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        catalog::{Api, ModelConfig},
        job::Modality,
        pricing::Pricing,
    };

    fn model(modality: Modality, api: Api) -> ModelConfig {
        ModelConfig {
            id: "m".into(),
            modality,
            provider: "p".into(),
            provider_model: "m".into(),
            api,
            default_max_tokens: 100,
            max_output_tokens: 4096,
            pricing: Pricing::default(),
            status: crate::catalog::ModelStatus::Active,
            deprecated_at: None,
            retry_unusable_answers: false,
            regenerate_unavailable_outputs: false,
            prompt_template: None,
            http_mapping: None,
            fallbacks: Vec::new(),
        }
    }

    fn input(value: serde_json::Value) -> TextInput {
        serde_json::from_value(value).expect("text input")
    }

    #[test]
    fn the_worst_case_of_a_text_call_bounds_its_estimate() {
        let model = model(Modality::Text, Api::OpenAiChat);
        let text = input(json!({"prompt": "x".repeat(400), "system": "be brief"}));
        let worst = Usage::worst_case(&model, &JobInput::Text(text.clone()), 8);
        let (estimate_in, estimate_out) = estimated_tokens(&model, &text);
        assert_eq!(worst.input_tokens, Some(408 + 4 * 2 + 3));
        assert!(worst.input_tokens >= Some(estimate_in));
        assert_eq!((worst.output_tokens, estimate_out), (Some(100), 100));
        let capped = input(json!({"prompt": "hi", "max_tokens": 9000}));
        assert_eq!(
            Usage::worst_case(&model, &JobInput::Text(capped), 8).output_tokens,
            Some(4096)
        );
        let requested = Usage::requested(&model, &JobInput::Text(text), 8);
        assert_eq!(
            (requested.input_tokens, requested.output_tokens),
            (Some(estimate_in), Some(0))
        );
    }

    #[test]
    fn a_render_lasts_until_its_last_timed_clip_ends() {
        let render = RenderInput {
            timeline: json!({"tracks": [
                {"clips": [{"start": 0, "length": 4.5}, {"start": 4.5, "length": "auto"}]},
                {"clips": [{"start": 2, "length": 5}]},
            ]}),
            output: None,
            regenerate_if_unavailable: false,
        };
        let usage = Usage::worst_case(
            &model(Modality::Video, Api::ShotstackRender),
            &JobInput::Render(render),
            8,
        );
        assert_eq!(usage.video_seconds, Some(7.0));
        assert_eq!(usage.requests, Some(1));
    }
}
