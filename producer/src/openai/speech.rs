//! `POST /audio/speech`: an OpenAI speech request as a DE speech job. DE's
//! speech models are ElevenLabs', so `voice` is an ElevenLabs voice id
//! (OpenAI's voice names are refused, not swapped for another voice);
//! `response_format` `mp3` or `pcm`, `speed` as the model allows. The answer
//! is the audio itself, read from DE's store — never generated again.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{error::OpenAiError, job, parameters::Parameters};
use crate::{in_process::Api, state::AppState};

const PARAMETERS: Parameters = Parameters {
    served: &["model", "input", "voice", "response_format", "speed"],
    ignored: &[],
    not_yet: &["instructions", "stream_format"],
};

/// OpenAI's own voices: names, not ElevenLabs voice ids.
const OPENAI_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
];

/// The most audio one answer carries.
const MOST_AUDIO_BYTES: u64 = 64 << 20;

#[derive(Deserialize)]
struct SpeechRequest {
    model: String,
    input: String,
    #[serde(default)]
    voice: Option<String>,
    #[serde(default)]
    response_format: Option<String>,
    #[serde(default)]
    speed: Option<f64>,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: SpeechRequest = PARAMETERS.read(&body)?;
    let format = match request.response_format.as_deref() {
        None | Some("mp3") => "mp3_44100_128",
        Some("pcm") => "pcm_24000",
        Some(other) => {
            return Err(OpenAiError::invalid(
                "response_format",
                "unsupported_value",
                format!("DE's speech models answer 'mp3' or 'pcm', not '{other}'"),
            ))
        }
    };
    let mut input = Map::new();
    input.insert("text".into(), Value::String(request.input.clone()));
    input.insert("format".into(), Value::String(format.into()));
    if let Some(voice) = &request.voice {
        if OPENAI_VOICES.contains(&voice.as_str()) {
            return Err(OpenAiError::invalid(
                "voice",
                "unsupported_value",
                format!("'{voice}' is one of OpenAI's voices; DE's speech models are ElevenLabs', so voice is an ElevenLabs voice id"),
            ));
        }
        input.insert("voice".into(), Value::String(voice.clone()));
    }
    if let Some(speed) = request.speed {
        input.insert("speed".into(), json!(speed));
    }
    let submit = json!({ "model": request.model, "input": input });
    let ran = job::run(&state, &api, &headers, &submit).await?;
    job::succeeded(&ran.job)?;
    let Some((content_type, audio)) = job::stored_files(&state, &ran.job, MOST_AUDIO_BYTES)
        .await?
        .into_iter()
        .next()
    else {
        return Err(OpenAiError {
            status: StatusCode::BAD_GATEWAY,
            code: "output_unavailable".into(),
            message: "the speech job finished without audio".into(),
            param: None,
            final_answer: true,
        });
    };
    let mut response = (StatusCode::OK, audio).into_response();
    if let Ok(content_type) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    ran.tell(&mut response);
    Ok(response)
}
