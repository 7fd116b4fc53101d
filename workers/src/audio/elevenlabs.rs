//! ElevenLabs text-to-speech: `POST /v1/text-to-speech/{voice_id}?output_format=…`
//! with an `xi-api-key` header; the answer body is the audio.

use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::Api,
    input::speech_format_media,
};
use reqwest::RequestBuilder;
use serde_json::{json, Map};

use crate::{
    adapter::{Adapter, Call, Produced, Reader},
    outputs::Outputs,
    provider_call::{self, ProviderError},
};

pub struct ElevenLabsSpeech;

/// "Rachel", a voice every ElevenLabs account has, used when a job names none.
pub const DEFAULT_VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

impl Adapter for ElevenLabsSpeech {
    fn apis(&self) -> &'static [Api] {
        &[Api::ElevenLabsSpeech]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let input = call.speech()?;
        let voice = input.voice.as_deref().unwrap_or(DEFAULT_VOICE);
        let mut body = json!({ "text": input.text, "model_id": call.model.provider_model });
        let mut settings = Map::new();
        for (name, value) in [
            ("stability", input.stability),
            ("similarity_boost", input.similarity_boost),
            ("style", input.style),
            ("speed", input.speed),
        ] {
            if let Some(value) = value {
                settings.insert(name.into(), json!(value));
            }
        }
        if !settings.is_empty() {
            body["voice_settings"] = settings.into();
        }
        Ok(call
            .http
            .post(call.url(&format!("v1/text-to-speech/{voice}")))
            .query(&[("output_format", input.format())])
            .header("xi-api-key", call.key.expose())
            .json(&body))
    }

    fn reader(&self) -> Reader {
        Reader::Stream(speech)
    }
}

/// The audio streams into storage as it arrives.
fn speech(call: &Call, response: reqwest::Response) -> Result<Produced, ProviderError> {
    let input = call.speech()?;
    let voice = input.voice.as_deref().unwrap_or(DEFAULT_VOICE);
    let format = input.format();
    let (content_type, extension) = speech_format_media(format);
    let request_id = provider_call::header(response.headers(), "request-id");
    let mut details = Map::new();
    details.insert("voice".into(), json!(voice));
    details.insert("format".into(), json!(format));
    details.insert("characters".into(), json!(input.text.chars().count()));
    let file = AnswerFile {
        name: format!("speech.{extension}"),
        content_type: content_type.into(),
        source: FileSource::Streamed,
    };
    Ok(Produced::Files(Outputs {
        answer: Answer::new(vec![file], details, request_id),
        stream: Some(response),
    }))
}
