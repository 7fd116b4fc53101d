//! ElevenLabs text to speech, `POST /v1/text-to-speech/{voice_id}?output_format=…`
//! with `xi-api-key`: the audio itself as the body, about a second per 15
//! characters of text (1 s at least, 60 s at most). `mp3_*` formats are the MP3
//! fixture repeated (`audio/mpeg`), `pcm_*` 16-bit little-endian silence at the
//! format's rate (`audio/pcm`), `ulaw_8000` / `alaw_8000` G.711 silence
//! (`audio/basic` / `audio/alaw`). `[[sim:file_bytes=N]]` in the text makes the
//! body exactly N bytes (`file_404` does not apply: there is no link).
//!
//! Errors are `{"detail": {"status", "message"}}`: 401 without a key, 422 for a
//! body or output format that does not fit, 400 for an unknown model or too long a text.

use axum::{
    http::{
        header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER},
        HeaderValue, StatusCode,
    },
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Map, Value};

use super::{call::Call, random_id, rejection::Rejection, Dialect, Endpoint, Served, Usage};
use crate::{
    directives::{Asks, FileAsk},
    media::{self, repeated_body, ALAW_SILENCE, MP3, MP3_SECONDS, ULAW_SILENCE, ZEROS},
};

/// Models and the most characters each takes in one request.
const MODELS: &[(&str, usize)] = &[
    ("eleven_multilingual_v2", 10_000),
    ("eleven_v3", 3_000),
    ("eleven_flash_v2_5", 40_000),
    ("eleven_turbo_v2_5", 40_000),
    ("eleven_flash_v2", 30_000),
    ("eleven_turbo_v2", 30_000),
    ("eleven_multilingual_v1", 10_000),
    ("eleven_monolingual_v1", 10_000),
];
const CHARACTERS_PER_SECOND: u64 = 15;
const MAX_SECONDS: u64 = 60;

pub struct ElevenLabs;

impl Dialect for ElevenLabs {
    fn reject(rejection: &Rejection) -> Response {
        let status = rejection.code.unwrap_or(match rejection.status.as_u16() {
            401 => "invalid_api_key",
            404 => "not_found",
            422 => "invalid_request",
            429 => "too_many_concurrent_requests",
            500.. => "internal_server_error",
            _ => "bad_request",
        });
        let body = json!({ "detail": { "status": status, "message": rejection.message } });
        (rejection.status, request_id(), Json(body)).into_response()
    }

    fn failure(status: StatusCode, _model: Option<&str>) -> Rejection {
        match status.as_u16() {
            401 => Rejection::new(status, "Invalid API key"),
            404 => {
                Rejection::new(status, "A voice with the voice_id you provided was not found.").code("voice_not_found")
            }
            500 => Rejection::new(status, "An internal server error occurred. Please try again later."),
            503 => Rejection::new(
                status,
                "The service is temporarily unavailable. Please try again later.",
            )
            .code("service_unavailable"),
            _ => Rejection::new(status, format!("Simulated {status} error.")),
        }
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let mut response = Self::reject(&Rejection::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many concurrent requests. Your current subscription is associated with a maximum of 5 concurrent requests.",
        ));
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub struct TextToSpeech;

impl Endpoint for TextToSpeech {
    type Dialect = ElevenLabs;
    const NAME: &'static str = "elevenlabs.tts";
    /// The fixture's first bytes: audio cut off early.
    const MALFORMED: &'static [u8] = MP3.split_at(1000).0;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        if call.header("xi-api-key").or(call.header("authorization")).is_none() {
            return Err(Rejection::new(
                StatusCode::UNAUTHORIZED,
                "Neither authorization header nor xi-api-key received, please provide one.",
            )
            .code("needs_authorization"));
        }
        let format = Format::parse(call.query("output_format").unwrap_or("mp3_44100_128"))?;
        let characters = speech(call.body)?;
        Ok(answer(format, characters, &Asks::read(prompt)))
    }

    fn prompt(call: &Call) -> Option<String> {
        call.body?.get("text")?.as_str().map(str::to_owned)
    }

    fn model(call: &Call) -> Option<String> {
        let model = call.body?.get("model_id").and_then(Value::as_str);
        Some(model.unwrap_or("eleven_multilingual_v2").to_owned())
    }
}

/// An `output_format` the simulator can make.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Mp3,
    /// 16-bit mono at this many samples a second.
    Pcm(u64),
    Ulaw,
    Alaw,
}

impl Format {
    fn parse(format: &str) -> Result<Self, Rejection> {
        let parts: Vec<&str> = format.split('_').collect();
        let parsed = match parts.as_slice() {
            ["mp3", "22050", "32"] => Some(Self::Mp3),
            ["mp3", "44100", "32" | "64" | "96" | "128" | "192"] => Some(Self::Mp3),
            ["pcm", rate @ ("8000" | "16000" | "22050" | "24000" | "44100" | "48000")] => {
                rate.parse().ok().map(Self::Pcm)
            }
            ["ulaw", "8000"] => Some(Self::Ulaw),
            ["alaw", "8000"] => Some(Self::Alaw),
            _ => None,
        };
        parsed.ok_or_else(|| {
            Rejection::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid output format '{format}'. Supported formats are mp3_22050_32, mp3_44100_32, mp3_44100_64, mp3_44100_96, mp3_44100_128, mp3_44100_192, pcm_8000, pcm_16000, pcm_22050, pcm_24000, pcm_44100, pcm_48000, ulaw_8000 and alaw_8000."),
            )
            .code("invalid_output_format")
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Mp3 => "audio/mpeg",
            Self::Pcm(_) => "audio/pcm",
            Self::Ulaw => "audio/basic",
            Self::Alaw => "audio/alaw",
        }
    }

    /// `seconds` of audio: the bytes one second or copy takes, and how long it all is.
    fn audio(self, seconds: u64) -> (&'static [u8], u64) {
        match self {
            Self::Mp3 => (MP3, MP3.len() as u64 * seconds.div_ceil(MP3_SECONDS)),
            Self::Pcm(rate) => (&ZEROS, rate * 2 * seconds),
            Self::Ulaw => (&ULAW_SILENCE, 8000 * seconds),
            Self::Alaw => (&ALAW_SILENCE, 8000 * seconds),
        }
    }
}

/// Checks the body; returns how many characters are to be spoken.
fn speech(body: Option<&Value>) -> Result<usize, Rejection> {
    let Some(body) = body.and_then(Value::as_object) else {
        return Err(invalid("body", "Input should be a valid JSON object."));
    };
    let text = match body.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        Some(Value::String(_)) => return Err(invalid("text", "Text must not be empty.")),
        None | Some(Value::Null) => return Err(invalid("text", "Field required.")),
        Some(_) => return Err(invalid("text", "Input should be a valid string.")),
    };
    let model = match body.get("model_id") {
        None | Some(Value::Null) => "eleven_multilingual_v2",
        Some(Value::String(model)) => model.as_str(),
        Some(_) => return Err(invalid("model_id", "Input should be a valid string.")),
    };
    let Some(&(_, limit)) = MODELS.iter().find(|(known, _)| *known == model) else {
        return Err(
            Rejection::bad_request(format!("A model with model ID {model} does not exist.")).code("model_not_found"),
        );
    };
    let characters = text.chars().count();
    if characters > limit {
        return Err(Rejection::bad_request(format!(
            "Text exceeds the maximum of {limit} characters for model {model}; it has {characters}."
        ))
        .code("max_character_limit_exceeded"));
    }
    match body.get("voice_settings") {
        None | Some(Value::Null) => {}
        Some(Value::Object(settings)) => voice_settings(settings)?,
        Some(_) => return Err(invalid("voice_settings", "Input should be a valid object.")),
    }
    Ok(characters)
}

fn voice_settings(settings: &Map<String, Value>) -> Result<(), Rejection> {
    let ranges = [
        ("stability", 0.0, 1.0),
        ("similarity_boost", 0.0, 1.0),
        ("style", 0.0, 1.0),
        ("speed", 0.7, 1.2),
    ];
    for (field, min, max) in ranges {
        let Some(value) = settings.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        match value.as_f64() {
            Some(n) if (min..=max).contains(&n) => {}
            Some(_) => {
                return Err(invalid(
                    &format!("voice_settings.{field}"),
                    &format!("Input should be between {min} and {max}."),
                ))
            }
            None => {
                return Err(invalid(
                    &format!("voice_settings.{field}"),
                    "Input should be a valid number.",
                ))
            }
        }
    }
    Ok(())
}

fn invalid(field: &str, message: &str) -> Rejection {
    Rejection::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {message}"))
}

fn answer(format: Format, characters: usize, asks: &Asks) -> Served {
    let seconds = (characters as u64)
        .div_ceil(CHARACTERS_PER_SECOND)
        .clamp(1, MAX_SECONDS);
    let (length, body) = match (asks.file, format) {
        (FileAsk::Bytes(size), Format::Mp3) => media::Media::Mp3.body(Some(size)),
        (FileAsk::Bytes(size), _) => (size, repeated_body(format.audio(1).0, size)),
        (FileAsk::Normal | FileAsk::Missing | FileAsk::Failing(_) | FileAsk::Hanging(_), _) => {
            let (unit, length) = format.audio(seconds);
            (length, repeated_body(unit, length))
        }
    };
    let headers = [
        (CONTENT_TYPE, format.content_type().to_string()),
        (CONTENT_LENGTH, length.to_string()),
    ];
    let cost = [
        ("character-cost", characters.to_string()),
        ("history-item-id", random_id("", 20)),
    ];
    Served {
        response: (request_id(), headers, cost, body).into_response(),
        usage: Usage::default(),
    }
}

fn request_id() -> [(&'static str, String); 1] {
    [("request-id", random_id("", 20))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_formats_parse() {
        assert_eq!(Format::parse("mp3_44100_128").ok(), Some(Format::Mp3));
        assert_eq!(Format::parse("pcm_24000").ok(), Some(Format::Pcm(24_000)));
        assert_eq!(Format::parse("ulaw_8000").ok(), Some(Format::Ulaw));
        for unknown in ["mp3_48000_128", "pcm_11025", "wav", "opus_48000_64", ""] {
            let rejection = Format::parse(unknown).err();
            assert_eq!(rejection.map(|r| r.status.as_u16()), Some(422), "{unknown}");
        }
    }

    #[test]
    fn audio_grows_with_the_text() {
        assert_eq!(Format::Pcm(16_000).audio(2).1, 64_000);
        assert_eq!(Format::Mp3.audio(3).1, 3 * MP3.len() as u64);
        assert_eq!(Format::Ulaw.audio(1).1, 8000);
    }

    #[test]
    fn bodies_are_checked() {
        let refused = |body: Value| speech(Some(&body)).err().map(|r| (r.status.as_u16(), r.message));
        assert_eq!(speech(Some(&json!({ "text": "hello" }))).ok(), Some(5));
        assert_eq!(refused(json!({})).map(|r| r.0), Some(422));
        assert_eq!(
            refused(json!({ "text": "x", "model_id": "eleven_v9" })).map(|r| r.0),
            Some(400)
        );
        let speed = json!({ "text": "x", "voice_settings": { "speed": 2.0 } });
        assert_eq!(
            refused(speed).map(|r| r.1),
            Some("voice_settings.speed: Input should be between 0.7 and 1.2.".into())
        );
        let long = json!({ "text": "x".repeat(3001), "model_id": "eleven_v3" });
        assert!(refused(long).is_some_and(|r| r.1.contains("maximum of 3000")));
    }
}
