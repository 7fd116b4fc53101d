//! Image-generation input and what each image model accepts. Models differ more
//! than they agree (sizes vs aspect ratios, one image vs many), so the rules are
//! data per model and a field a model does not take is refused, not dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_one_of, check_range, check_text, deserialize, FieldError};

/// Ideogram's largest seed (its API takes a signed 32-bit value).
const MAX_SEED: u64 = 2_147_483_647;

const MAGIC_PROMPT: &[&str] = &["auto", "on", "off"];

/// What one image model accepts; an empty list or `false` means the model does not
/// take that field at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageRules {
    pub model: &'static str,
    pub max_prompt_chars: usize,
    pub sizes: &'static [&'static str],
    pub aspect_ratios: &'static [&'static str],
    pub max_n: u8,
    pub qualities: &'static [&'static str],
    pub styles: &'static [&'static str],
    pub negative_prompt: bool,
    pub seed: bool,
    pub magic_prompt: bool,
}

impl ImageRules {
    pub const DALL_E_3: ImageRules = ImageRules {
        model: "dall-e-3",
        max_prompt_chars: 4000,
        sizes: &["1024x1024", "1792x1024", "1024x1792"],
        aspect_ratios: &[],
        max_n: 1,
        qualities: &["standard", "hd"],
        styles: &["vivid", "natural"],
        negative_prompt: false,
        seed: false,
        magic_prompt: false,
    };

    pub const DALL_E_2: ImageRules = ImageRules {
        model: "dall-e-2",
        max_prompt_chars: 1000,
        sizes: &["256x256", "512x512", "1024x1024"],
        aspect_ratios: &[],
        max_n: 10,
        qualities: &[],
        styles: &[],
        negative_prompt: false,
        seed: false,
        magic_prompt: false,
    };

    pub const IDEOGRAM_V2: ImageRules = ImageRules {
        model: "ideogram-v2",
        max_prompt_chars: 2000,
        sizes: &[],
        aspect_ratios: &[
            "1:1", "16:9", "9:16", "10:16", "16:10", "3:2", "2:3", "4:3", "3:4", "1:3", "3:1",
        ],
        max_n: 8,
        qualities: &[],
        styles: &[],
        negative_prompt: true,
        seed: true,
        magic_prompt: true,
    };

    pub const GEMINI_IMAGE: ImageRules = ImageRules {
        model: "gemini-2.5-flash-image",
        max_prompt_chars: 8000,
        sizes: &[],
        aspect_ratios: &["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"],
        max_n: 1,
        qualities: &[],
        styles: &[],
        negative_prompt: false,
        seed: false,
        magic_prompt: false,
    };

    /// An image model of a generic HTTP provider: the common shapes and
    /// options, each refused unless the model's mapping sends it
    /// (`HttpMapping::check_input_fields`).
    pub const HTTP: ImageRules = ImageRules {
        model: "this model",
        max_prompt_chars: 8000,
        sizes: &[
            "256x256",
            "512x512",
            "768x768",
            "1024x1024",
            "1024x1536",
            "1536x1024",
            "1024x1792",
            "1792x1024",
            "2048x2048",
        ],
        aspect_ratios: &["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"],
        max_n: 4,
        qualities: &["standard", "hd", "low", "medium", "high"],
        styles: &["vivid", "natural"],
        negative_prompt: true,
        seed: true,
        magic_prompt: false,
    };

    fn not_taken(&self, field: &str) -> FieldError {
        FieldError::invalid(
            &format!("input.{field}"),
            format!("{} does not take {field}", self.model),
        )
    }
}

/// Input of an image-generation job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magic_prompt: Option<String>,
    /// Generate the output again (a new, billed attempt) if the provider no
    /// longer has it when it is copied, rather than fail `output_unavailable`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_if_unavailable: bool,
}

impl ImageInput {
    pub fn parse(value: &Value, rules: &ImageRules) -> Result<Self, FieldError> {
        let input: ImageInput = deserialize(value)?;
        input.validate(rules)?;
        Ok(input)
    }

    /// How many images to make.
    pub fn count(&self) -> u8 {
        self.n.unwrap_or(1)
    }

    fn validate(&self, rules: &ImageRules) -> Result<(), FieldError> {
        let for_model = format!(" for {}", rules.model);
        check_text("input.prompt", &self.prompt, rules.max_prompt_chars)?;
        if let Some(negative) = &self.negative_prompt {
            if !rules.negative_prompt {
                return Err(rules.not_taken("negative_prompt"));
            }
            check_text("input.negative_prompt", negative, rules.max_prompt_chars)?;
        }
        self.validate_shape(rules, &for_model)?;
        if let Some(n) = self.n {
            if n == 0 || n > rules.max_n {
                let message = match rules.max_n {
                    1 => format!("must be 1{for_model} (one image per request)"),
                    max => format!("must be between 1 and {max}{for_model}"),
                };
                return Err(FieldError::invalid("input.n", message));
            }
        }
        check_option("quality", &self.quality, rules.qualities, rules, &for_model)?;
        check_option("style", &self.style, rules.styles, rules, &for_model)?;
        if let Some(seed) = self.seed {
            if !rules.seed {
                return Err(rules.not_taken("seed"));
            }
            check_range("input.seed", seed, 0, MAX_SEED)?;
        }
        if let Some(magic) = &self.magic_prompt {
            if !rules.magic_prompt {
                return Err(rules.not_taken("magic_prompt"));
            }
            check_one_of("input.magic_prompt", &magic.as_str(), MAGIC_PROMPT, "")?;
        }
        Ok(())
    }

    /// `size` or `aspect_ratio`, whichever the model takes; the message for the
    /// other one points at the right field.
    fn validate_shape(&self, rules: &ImageRules, for_model: &str) -> Result<(), FieldError> {
        let takes_instead = |field: &str, other: &str, example: &str| {
            FieldError::invalid(
                &format!("input.{field}"),
                format!("{} takes {other} (e.g. {example}), not {field}", rules.model),
            )
        };
        if let Some(size) = &self.size {
            if !rules.sizes.is_empty() {
                check_one_of("input.size", &size.as_str(), rules.sizes, for_model)?;
            } else if !rules.aspect_ratios.is_empty() {
                return Err(takes_instead(
                    "size",
                    "aspect_ratio",
                    example(rules.aspect_ratios, "16:9"),
                ));
            } else {
                return Err(rules.not_taken("size"));
            }
        }
        if let Some(ratio) = &self.aspect_ratio {
            if !rules.aspect_ratios.is_empty() {
                check_one_of("input.aspect_ratio", &ratio.as_str(), rules.aspect_ratios, for_model)?;
            } else if !rules.sizes.is_empty() {
                return Err(takes_instead("aspect_ratio", "size", example(rules.sizes, "1024x1024")));
            } else {
                return Err(rules.not_taken("aspect_ratio"));
            }
        }
        Ok(())
    }
}

/// A field whose values the model lists, or that it does not take at all.
fn check_option(
    field: &str,
    value: &Option<String>,
    allowed: &[&str],
    rules: &ImageRules,
    for_model: &str,
) -> Result<(), FieldError> {
    match value {
        None => Ok(()),
        Some(_) if allowed.is_empty() => Err(rules.not_taken(field)),
        Some(v) => check_one_of(&format!("input.{field}"), &v.as_str(), allowed, for_model),
    }
}

/// `preferred` if the model lists it, else the model's first value.
fn example(allowed: &[&'static str], preferred: &'static str) -> &'static str {
    if allowed.contains(&preferred) {
        preferred
    } else {
        allowed.first().copied().unwrap_or(preferred)
    }
}

/// Ideogram's name for an aspect ratio (`16:9` → `ASPECT_16_9`).
pub fn ideogram_aspect(ratio: &str) -> Option<&'static str> {
    Some(match ratio {
        "1:1" => "ASPECT_1_1",
        "16:9" => "ASPECT_16_9",
        "9:16" => "ASPECT_9_16",
        "10:16" => "ASPECT_10_16",
        "16:10" => "ASPECT_16_10",
        "3:2" => "ASPECT_3_2",
        "2:3" => "ASPECT_2_3",
        "4:3" => "ASPECT_4_3",
        "3:4" => "ASPECT_3_4",
        "1:3" => "ASPECT_1_3",
        "3:1" => "ASPECT_3_1",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_what_each_model_takes() {
        let cases = [
            (
                &ImageRules::DALL_E_3,
                json!({"prompt": "a fox", "size": "1792x1024", "n": 1, "quality": "hd", "style": "natural"}),
            ),
            (
                &ImageRules::DALL_E_2,
                json!({"prompt": "a fox", "size": "256x256", "n": 10}),
            ),
            (
                &ImageRules::IDEOGRAM_V2,
                json!({"prompt": "a fox", "negative_prompt": "blur", "aspect_ratio": "10:16", "n": 8,
                       "seed": 2_147_483_647u64, "magic_prompt": "off"}),
            ),
            (
                &ImageRules::GEMINI_IMAGE,
                json!({"prompt": "a fox", "aspect_ratio": "21:9", "n": 1}),
            ),
        ];
        for (rules, value) in cases {
            let input = ImageInput::parse(&value, rules).unwrap_or_else(|e| panic!("{}: {e}", rules.model));
            assert_eq!(serde_json::to_value(&input).ok(), Some(value));
        }
    }

    #[test]
    fn counts_one_image_by_default() {
        let input = ImageInput::parse(&json!({"prompt": "a fox"}), &ImageRules::DALL_E_2).expect("valid");
        assert_eq!(input.count(), 1);
        let input = ImageInput::parse(&json!({"prompt": "a fox", "n": 4}), &ImageRules::DALL_E_2).expect("valid");
        assert_eq!(input.count(), 4);
    }

    #[test]
    fn names_the_bad_field() {
        let (e3, e2, ideogram, gemini) = (
            &ImageRules::DALL_E_3,
            &ImageRules::DALL_E_2,
            &ImageRules::IDEOGRAM_V2,
            &ImageRules::GEMINI_IMAGE,
        );
        let long = "x".repeat(4001);
        let cases = [
            (e3, json!({}), "input.prompt", "missing_field"),
            (e3, json!({"prompt": "  "}), "input.prompt", "invalid_field"),
            (e3, json!({"prompt": long}), "input.prompt", "invalid_field"),
            (e2, json!({"prompt": "x".repeat(1001)}), "input.prompt", "invalid_field"),
            (
                e3,
                json!({"prompt": "x", "size": "512x512"}),
                "input.size",
                "invalid_field",
            ),
            (e3, json!({"prompt": "x", "n": 2}), "input.n", "invalid_field"),
            (e2, json!({"prompt": "x", "n": 11}), "input.n", "invalid_field"),
            (e2, json!({"prompt": "x", "n": 0}), "input.n", "invalid_field"),
            (e2, json!({"prompt": "x", "n": 300}), "input.n", "invalid_field"),
            (
                e3,
                json!({"prompt": "x", "quality": "ultra"}),
                "input.quality",
                "invalid_field",
            ),
            (
                e2,
                json!({"prompt": "x", "quality": "hd"}),
                "input.quality",
                "invalid_field",
            ),
            (
                e3,
                json!({"prompt": "x", "style": "noir"}),
                "input.style",
                "invalid_field",
            ),
            (
                e2,
                json!({"prompt": "x", "style": "vivid"}),
                "input.style",
                "invalid_field",
            ),
            (
                e3,
                json!({"prompt": "x", "aspect_ratio": "16:9"}),
                "input.aspect_ratio",
                "invalid_field",
            ),
            (
                e3,
                json!({"prompt": "x", "negative_prompt": "y"}),
                "input.negative_prompt",
                "invalid_field",
            ),
            (e3, json!({"prompt": "x", "seed": 1}), "input.seed", "invalid_field"),
            (
                e3,
                json!({"prompt": "x", "magic_prompt": "on"}),
                "input.magic_prompt",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "size": "1024x1024"}),
                "input.size",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "aspect_ratio": "4:5"}),
                "input.aspect_ratio",
                "invalid_field",
            ),
            (ideogram, json!({"prompt": "x", "n": 9}), "input.n", "invalid_field"),
            (
                ideogram,
                json!({"prompt": "x", "negative_prompt": ""}),
                "input.negative_prompt",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "seed": 2_147_483_648u64}),
                "input.seed",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "seed": -1}),
                "input.seed",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "magic_prompt": "AUTO"}),
                "input.magic_prompt",
                "invalid_field",
            ),
            (
                ideogram,
                json!({"prompt": "x", "quality": "hd"}),
                "input.quality",
                "invalid_field",
            ),
            (
                gemini,
                json!({"prompt": "x", "aspect_ratio": "3:1"}),
                "input.aspect_ratio",
                "invalid_field",
            ),
            (gemini, json!({"prompt": "x", "n": 2}), "input.n", "invalid_field"),
            (
                gemini,
                json!({"prompt": "x", "size": "1024x1024"}),
                "input.size",
                "invalid_field",
            ),
            (gemini, json!({"prompt": "x", "seed": 3}), "input.seed", "invalid_field"),
            (
                gemini,
                json!({"prompt": "x", "width": 3}),
                "input.width",
                "invalid_field",
            ),
        ];
        for (rules, value, field, code) in cases {
            let err = ImageInput::parse(&value, rules).expect_err("invalid");
            assert_eq!(
                (err.field.as_str(), err.code),
                (field, code),
                "{}: {value}: {err}",
                rules.model
            );
        }
    }

    #[test]
    fn messages_say_what_is_allowed() {
        let cases = [
            (
                &ImageRules::DALL_E_3,
                json!({"prompt": "x", "size": "1x1"}),
                "must be one of: 1024x1024, 1792x1024, 1024x1792 for dall-e-3",
            ),
            (
                &ImageRules::DALL_E_2,
                json!({"prompt": "x", "quality": "hd"}),
                "dall-e-2 does not take quality",
            ),
            (
                &ImageRules::IDEOGRAM_V2,
                json!({"prompt": "x", "size": "1024x1024"}),
                "ideogram-v2 takes aspect_ratio (e.g. 16:9), not size",
            ),
            (
                &ImageRules::DALL_E_2,
                json!({"prompt": "x", "aspect_ratio": "1:1"}),
                "dall-e-2 takes size (e.g. 1024x1024), not aspect_ratio",
            ),
        ];
        for (rules, value, message) in cases {
            let err = ImageInput::parse(&value, rules).expect_err("invalid");
            assert_eq!(err.message, message);
        }
    }

    #[test]
    fn maps_every_ideogram_ratio() {
        for ratio in ImageRules::IDEOGRAM_V2.aspect_ratios {
            let name = ideogram_aspect(ratio).unwrap_or_default();
            assert_eq!(name, format!("ASPECT_{}", ratio.replace(':', "_")));
        }
        assert_eq!(ideogram_aspect("4:5"), None);
    }
}
