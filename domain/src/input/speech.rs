//! Text-to-speech input (ElevenLabs): the text, a voice and an output format, with
//! the voice settings ElevenLabs accepts. Which voice is the default is the
//! worker's choice, not the client's.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_one_of, check_range, check_text, deserialize, FieldError};

pub(super) const MAX_TEXT_CHARS: usize = 10_000;
const MAX_VOICE_ID: usize = 64;

pub const DEFAULT_SPEECH_FORMAT: &str = "mp3_44100_128";

pub(super) const FORMATS: &[&str] = &[
    "mp3_22050_32",
    "mp3_44100_32",
    "mp3_44100_64",
    "mp3_44100_96",
    "mp3_44100_128",
    "mp3_44100_192",
    "pcm_16000",
    "pcm_22050",
    "pcm_24000",
    "pcm_44100",
    "ulaw_8000",
];

/// Input of a text-to-speech job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeechInput {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity_boost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Generate the output again (a new, billed attempt) if the provider no
    /// longer has it when it is copied, rather than fail `output_unavailable`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_if_unavailable: bool,
}

impl SpeechInput {
    pub fn parse(value: &Value) -> Result<Self, FieldError> {
        let input: SpeechInput = deserialize(value)?;
        input.validate()?;
        Ok(input)
    }

    /// The ElevenLabs output format, `mp3_44100_128` unless the client chose one.
    pub fn format(&self) -> &str {
        self.format.as_deref().unwrap_or(DEFAULT_SPEECH_FORMAT)
    }

    fn validate(&self) -> Result<(), FieldError> {
        check_text("input.text", &self.text, MAX_TEXT_CHARS)?;
        if let Some(voice) = &self.voice {
            let valid = (1..=MAX_VOICE_ID).contains(&voice.len()) && voice.bytes().all(|b| b.is_ascii_alphanumeric());
            if !valid {
                return Err(FieldError::invalid(
                    "input.voice",
                    format!("must be an ElevenLabs voice id: 1 to {MAX_VOICE_ID} letters and digits"),
                ));
            }
        }
        if let Some(format) = &self.format {
            check_one_of("input.format", &format.as_str(), FORMATS, "")?;
        }
        let unit_settings = [
            ("input.stability", self.stability),
            ("input.similarity_boost", self.similarity_boost),
            ("input.style", self.style),
        ];
        for (field, value) in unit_settings {
            if let Some(v) = value {
                check_range(field, v, 0.0, 1.0)?;
            }
        }
        if let Some(speed) = self.speed {
            check_range("input.speed", speed, 0.7, 1.2)?;
        }
        Ok(())
    }
}

/// Content type and file extension of an ElevenLabs output format.
pub fn speech_format_media(format: &str) -> (&'static str, &'static str) {
    if format.starts_with("pcm_") {
        ("audio/pcm", "pcm")
    } else if format.starts_with("ulaw_") {
        ("audio/basic", "ulaw")
    } else {
        ("audio/mpeg", "mp3")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_text_with_settings() {
        let value = json!({
            "text": "Hello there.", "voice": "21m00Tcm4TlvDq8ikWAM", "format": "pcm_24000",
            "stability": 0.0, "similarity_boost": 1.0, "style": 0.5, "speed": 1.2,
        });
        let input = SpeechInput::parse(&value).expect("valid");
        assert_eq!(input.format(), "pcm_24000");
        assert_eq!(serde_json::to_value(&input).ok(), Some(value));
        let input = SpeechInput::parse(&json!({"text": "hi"})).expect("valid");
        assert_eq!(input.format(), DEFAULT_SPEECH_FORMAT);
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (json!({}), "input.text", "missing_field"),
            (json!({"text": " \n"}), "input.text", "invalid_field"),
            (json!({"text": "x".repeat(10_001)}), "input.text", "invalid_field"),
            (json!({"text": "x", "voice": ""}), "input.voice", "invalid_field"),
            (
                json!({"text": "x", "voice": "Rachel Green"}),
                "input.voice",
                "invalid_field",
            ),
            (json!({"text": "x", "voice": "../etc"}), "input.voice", "invalid_field"),
            (
                json!({"text": "x", "voice": "a".repeat(65)}),
                "input.voice",
                "invalid_field",
            ),
            (json!({"text": "x", "format": "wav"}), "input.format", "invalid_field"),
            (
                json!({"text": "x", "stability": 1.1}),
                "input.stability",
                "invalid_field",
            ),
            (
                json!({"text": "x", "similarity_boost": -0.1}),
                "input.similarity_boost",
                "invalid_field",
            ),
            (json!({"text": "x", "style": 2}), "input.style", "invalid_field"),
            (json!({"text": "x", "speed": 0.6}), "input.speed", "invalid_field"),
            (json!({"text": "x", "speed": 1.3}), "input.speed", "invalid_field"),
            (json!({"text": "x", "pitch": 1}), "input.pitch", "invalid_field"),
        ];
        for (value, field, code) in cases {
            let err = SpeechInput::parse(&value).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field, code), "{value}: {err}");
        }
    }

    #[test]
    fn maps_formats_to_media() {
        for format in FORMATS {
            let (content_type, extension) = speech_format_media(format);
            let expected = match &format[..3] {
                "mp3" => ("audio/mpeg", "mp3"),
                "pcm" => ("audio/pcm", "pcm"),
                _ => ("audio/basic", "ulaw"),
            };
            assert_eq!((content_type, extension), expected, "{format}");
        }
    }
}
