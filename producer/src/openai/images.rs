//! `POST /images/generations`: an OpenAI image request as a DE image job, for
//! every image model (OpenAI's, Ideogram's, Gemini's, an HTTP provider's).
//! `prompt`, `n`, `size`, `quality` and `style` become the job's input, checked
//! against the model as any job's is; the images come back as links to DE's
//! store (`url`, the default) or inline (`b64_json`), read from the store —
//! never generated again.

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Extension, Json,
};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{error::OpenAiError, job, parameters::Parameters};
use crate::{in_process::Api, state::AppState};

const PARAMETERS: Parameters = Parameters {
    served: &[
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "style",
        "response_format",
        "user",
    ],
    ignored: &[],
    not_yet: &[
        "background",
        "moderation",
        "output_compression",
        "output_format",
        "partial_images",
        "stream",
    ],
};

/// The most a `b64_json` answer carries in all.
const MOST_INLINE_BYTES: u64 = 64 << 20;

#[derive(Deserialize)]
struct ImageRequest {
    #[serde(default)]
    model: Option<String>,
    prompt: String,
    #[serde(default)]
    n: Option<u8>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    style: Option<String>,
    #[serde(default)]
    response_format: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: ImageRequest = PARAMETERS.read(&body)?;
    let inline = match request.response_format.as_deref() {
        None | Some("url") => false,
        Some("b64_json") => true,
        Some(other) => {
            return Err(OpenAiError::invalid(
                "response_format",
                "invalid_value",
                format!("Invalid value: '{other}'. Supported values are: 'url' and 'b64_json'."),
            ))
        }
    };
    let Some(model) = request.model.clone() else {
        return Err(OpenAiError::invalid(
            "model",
            "missing_required_parameter",
            "DE has no default image model: name one of GET /models",
        ));
    };
    let mut input = Map::new();
    input.insert("prompt".into(), Value::String(request.prompt.clone()));
    if let Some(n) = request.n {
        input.insert("n".into(), json!(n));
    }
    for (name, value) in [
        ("size", &request.size),
        ("quality", &request.quality),
        ("style", &request.style),
    ] {
        if let Some(value) = value {
            input.insert(name.into(), Value::String(value.clone()));
        }
    }
    let mut metadata = Map::new();
    if let Some(user) = &request.user {
        metadata.insert("openai_user".into(), Value::String(user.clone()));
    }
    let submit = json!({ "model": model, "input": input, "metadata": metadata });
    let ran = job::run(&state, &api, &headers, &submit).await?;
    job::succeeded(&ran.job)?;
    let data: Vec<Value> = if inline {
        job::stored_files(&state, &ran.job, MOST_INLINE_BYTES)
            .await?
            .into_iter()
            .map(|(_, bytes)| {
                json!({
                    "b64_json": base64::engine::general_purpose::STANDARD.encode(&bytes),
                    "revised_prompt": null,
                })
            })
            .collect()
    } else {
        ran.job["output"]["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|file| json!({ "url": file["url"], "revised_prompt": null }))
            .collect()
    };
    let created = ran.job["created_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp());
    let mut response = Json(json!({ "created": created, "data": data })).into_response();
    ran.tell(&mut response);
    Ok(response)
}
