//! ElevenLabs text-to-speech: `POST /v1/text-to-speech/{voice_id}?output_format=…`
//! with an `xi-api-key` header; the answer body is the audio.

use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::{ModelConfig, ProviderConfig},
    input::{speech_format_media, SpeechInput},
    secret::Secret,
};
use reqwest::Client;
use serde_json::{json, Map};

use crate::{
    adapter::Produced,
    outputs::Outputs,
    provider_call::{self, ProviderError},
};

/// "Rachel", a voice every ElevenLabs account has, used when a job names none.
pub const DEFAULT_VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

pub async fn speak(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &SpeechInput,
) -> Result<Produced, ProviderError> {
    let voice = input.voice.as_deref().unwrap_or(DEFAULT_VOICE);
    let format = input.format();
    let mut body = json!({ "text": input.text, "model_id": model.provider_model });
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
    let request = http
        .post(format!("{}/v1/text-to-speech/{voice}", provider.base_url))
        .query(&[("output_format", format)])
        .header("xi-api-key", key.expose())
        .json(&body);
    let response = provider_call::send_streaming(request, provider.timeout, key).await?;
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
