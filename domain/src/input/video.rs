//! Video-generation input (Google Veo): a prompt and the clip's shape (duration,
//! aspect ratio, resolution), checked against what the model renders.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_one_of, check_text, deserialize, FieldError};

/// Veo 3.1 renders 1080p only for 8-second clips.
const FULL_HD_DURATION: u32 = 8;
const DEFAULT_ASPECT_RATIO: &str = "16:9";

/// What one video model accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoRules {
    pub max_prompt_chars: usize,
    pub durations: &'static [u32],
    pub default_duration: u32,
    pub aspect_ratios: &'static [&'static str],
    pub resolutions: &'static [&'static str],
    /// Whether the API takes `seed`. Veo on the Gemini Developer API does not:
    /// Google's own SDK refuses it there ("seed parameter is only supported in
    /// Gemini Enterprise Agent Platform mode, not in Gemini Developer API mode",
    /// google-genai `_GenerateVideosConfig_to_mldev`, unchanged since Veo 2), while
    /// it forwards `durationSeconds`, which it once refused the same way, now that
    /// the API takes it. Vertex AI takes `seed`.
    pub takes_seed: bool,
}

impl VideoRules {
    pub const VEO_3_1: VideoRules = VideoRules {
        max_prompt_chars: 4000,
        durations: &[4, 6, 8],
        default_duration: 8,
        aspect_ratios: &["16:9", "9:16"],
        resolutions: &["720p", "1080p"],
        takes_seed: false,
    };
}

/// Input of a video-generation job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoInput {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    /// Generate the output again (a new, billed attempt) if the provider no
    /// longer has it when it is copied, rather than fail `output_unavailable`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_if_unavailable: bool,
}

impl VideoInput {
    pub fn parse(value: &Value, rules: &VideoRules) -> Result<Self, FieldError> {
        let input: VideoInput = deserialize(value)?;
        input.validate(rules)?;
        Ok(input)
    }

    /// Clip length in seconds; Veo 3.1's default (8) unless the client chose one.
    pub fn duration(&self) -> u32 {
        self.duration_seconds.unwrap_or(VideoRules::VEO_3_1.default_duration)
    }

    /// Veo 3.1's default (16:9) unless the client chose one.
    pub fn aspect_ratio(&self) -> &str {
        self.aspect_ratio.as_deref().unwrap_or(DEFAULT_ASPECT_RATIO)
    }

    fn validate(&self, rules: &VideoRules) -> Result<(), FieldError> {
        check_text("input.prompt", &self.prompt, rules.max_prompt_chars)?;
        if let Some(negative) = &self.negative_prompt {
            check_text("input.negative_prompt", negative, rules.max_prompt_chars)?;
        }
        if let Some(duration) = &self.duration_seconds {
            check_one_of("input.duration_seconds", duration, rules.durations, " seconds")?;
        }
        if let Some(ratio) = &self.aspect_ratio {
            check_one_of("input.aspect_ratio", &ratio.as_str(), rules.aspect_ratios, "")?;
        }
        if self.seed.is_some() && !rules.takes_seed {
            return Err(FieldError::invalid(
                "input.seed",
                "Veo on the Gemini API does not take a seed (only Vertex AI does); leave seed out",
            ));
        }
        if let Some(resolution) = &self.resolution {
            check_one_of("input.resolution", &resolution.as_str(), rules.resolutions, "")?;
            let duration = self.duration_seconds.unwrap_or(rules.default_duration);
            if resolution == "1080p" && duration != FULL_HD_DURATION {
                return Err(FieldError::invalid(
                    "input.resolution",
                    format!(
                        "1080p needs duration_seconds {FULL_HD_DURATION} (got {duration}); use 720p for shorter clips"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const VEO: &VideoRules = &VideoRules::VEO_3_1;

    #[test]
    fn accepts_a_prompt_with_defaults() {
        let input = VideoInput::parse(&json!({"prompt": "waves at dusk"}), VEO).expect("valid");
        assert_eq!((input.duration(), input.aspect_ratio()), (8, "16:9"));
        let value = json!({
            "prompt": "waves", "negative_prompt": "people", "duration_seconds": 4,
            "aspect_ratio": "9:16", "resolution": "720p",
        });
        let input = VideoInput::parse(&value, VEO).expect("valid");
        assert_eq!((input.duration(), input.aspect_ratio()), (4, "9:16"));
        assert_eq!(serde_json::to_value(&input).ok(), Some(value));
        VideoInput::parse(&json!({"prompt": "w", "resolution": "1080p"}), VEO).expect("1080p at the default 8 s");
        VideoInput::parse(
            &json!({"prompt": "w", "resolution": "1080p", "duration_seconds": 8}),
            VEO,
        )
        .expect("valid");
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (json!({}), "input.prompt", "missing_field"),
            (json!({"prompt": "\t"}), "input.prompt", "invalid_field"),
            (json!({"prompt": "x".repeat(4001)}), "input.prompt", "invalid_field"),
            (
                json!({"prompt": "x", "negative_prompt": ""}),
                "input.negative_prompt",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "duration_seconds": 5}),
                "input.duration_seconds",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "duration_seconds": "8"}),
                "input.duration_seconds",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "aspect_ratio": "1:1"}),
                "input.aspect_ratio",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "resolution": "4k"}),
                "input.resolution",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "resolution": "1080p", "duration_seconds": 6}),
                "input.resolution",
                "invalid_field",
            ),
            (
                json!({"prompt": "x", "seed": 4_294_967_296u64}),
                "input.seed",
                "invalid_field",
            ),
            (json!({"prompt": "x", "seed": 7}), "input.seed", "invalid_field"),
            (json!({"prompt": "x", "fps": 24}), "input.fps", "invalid_field"),
        ];
        for (value, field, code) in cases {
            let err = VideoInput::parse(&value, VEO).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field, code), "{value}: {err}");
        }
    }

    #[test]
    fn a_seed_passes_where_the_api_takes_it() {
        let vertex = VideoRules {
            takes_seed: true,
            ..VideoRules::VEO_3_1
        };
        let input = VideoInput::parse(&json!({"prompt": "x", "seed": 4_294_967_295u32}), &vertex).expect("valid");
        assert_eq!(input.seed, Some(4_294_967_295));
        let err = VideoInput::parse(&json!({"prompt": "x", "seed": 0}), VEO).expect_err("no seed on the Gemini API");
        assert!(err.message.contains("leave seed out"), "{err}");
    }
}
