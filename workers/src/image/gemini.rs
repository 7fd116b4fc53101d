//! Gemini image generation: `generateContent` asked for TEXT and IMAGE; the image
//! comes back inline as base64 in the JSON, so it is decoded and stored as bytes.

use base64::Engine;
use electrons_domain::{
    catalog::{ModelConfig, ProviderConfig},
    input::ImageInput,
    secret::Secret,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    outputs::{OutputSource, Outputs, SourceBody},
    produce::Produced,
    provider_call::{self, ProviderError},
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<Value>,
    response_id: Option<String>,
    model_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    inline_data: Option<InlineData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    mime_type: String,
    data: String,
}

pub async fn generate(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &ImageInput,
) -> Result<Produced, ProviderError> {
    let mut config = json!({ "responseModalities": ["TEXT", "IMAGE"] });
    if let Some(ratio) = &input.aspect_ratio {
        config["imageConfig"] = json!({ "aspectRatio": ratio });
    }
    let request = http
        .post(format!(
            "{}/v1beta/models/{}:generateContent",
            provider.base_url, model.provider_model
        ))
        .header("x-goog-api-key", key.expose())
        .json(&json!({
            "contents": [{ "parts": [{ "text": input.prompt }] }],
            "generationConfig": config,
        }));
    let (parsed, _): (Response, _) = provider_call::send_json(request, provider.timeout, key).await?;
    let mut sources = Vec::new();
    let mut texts = Vec::new();
    let mut finish_reason = None;
    for candidate in parsed.candidates {
        finish_reason = finish_reason.or(candidate.finish_reason);
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            texts.extend(part.text);
            if let Some(inline) = part.inline_data {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(inline.data.as_bytes())
                    .map_err(|e| ProviderError::Malformed(format!("inline image is not base64: {e}")))?;
                let extension = match inline.mime_type.as_str() {
                    "image/jpeg" => "jpeg",
                    "image/webp" => "webp",
                    _ => "png",
                };
                sources.push(OutputSource {
                    name: format!("image-{}.{extension}", sources.len() + 1),
                    content_type: inline.mime_type,
                    body: SourceBody::Bytes(bytes.into()),
                });
            }
        }
    }
    if sources.is_empty() {
        let why = finish_reason
            .map(|r| format!("finish reason {r}"))
            .or_else(|| parsed.prompt_feedback.map(|f| format!("prompt feedback {f}")))
            .or_else(|| texts.first().cloned())
            .unwrap_or_else(|| "no reason given".into());
        return Err(ProviderError::Refused(format!("Gemini returned no image ({why})")));
    }
    let mut details = Map::new();
    if !texts.is_empty() {
        details.insert("text".into(), json!(texts.join("\n")));
    }
    if let Some(version) = parsed.model_version {
        details.insert("model_version".into(), json!(version));
    }
    Ok(Produced::Files(Outputs {
        sources,
        details,
        provider_request_id: parsed.response_id,
    }))
}
