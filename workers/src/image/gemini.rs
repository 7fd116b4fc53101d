//! Gemini image generation: `generateContent` asked for TEXT and IMAGE; the image
//! comes back inline as base64 in the JSON, so it is decoded and stored as bytes.

use base64::Engine;
use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::Api,
};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Adapter, Call, Produced, Reader},
    outputs::Outputs,
    provider_call::{ProviderError, ProviderResponse},
};

pub struct GeminiImage;

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

impl Adapter for GeminiImage {
    fn apis(&self) -> &'static [Api] {
        &[Api::GeminiImage]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let input = call.image()?;
        let mut config = json!({ "responseModalities": ["TEXT", "IMAGE"] });
        if let Some(ratio) = &input.aspect_ratio {
            config["imageConfig"] = json!({ "aspectRatio": ratio });
        }
        Ok(call
            .http
            .post(call.url(&format!("v1beta/models/{}:generateContent", call.model.provider_model)))
            .header("x-goog-api-key", call.key.expose())
            .json(&json!({
                "contents": [{ "parts": [{ "text": input.prompt }] }],
                "generationConfig": config,
            })))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(images)
    }
}

fn images(call: &Call, response: &ProviderResponse) -> Result<Produced, ProviderError> {
    let key = call.key;
    let parsed: Response = call.json(response)?;
    let mut files: Vec<AnswerFile> = Vec::new();
    let mut texts = Vec::new();
    let mut finish_reason = None;
    for candidate in parsed.candidates {
        finish_reason = finish_reason.or(candidate.finish_reason);
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            texts.extend(part.text);
            if let Some(inline) = part.inline_data {
                // Checked now, so an answer that cannot be stored is known as
                // such before it is committed; stored later from the answer.
                if let Err(e) = base64::engine::general_purpose::STANDARD.decode(inline.data.as_bytes()) {
                    return Err(response.unusable(format!("inline image is not base64: {e}"), key));
                }
                let extension = match inline.mime_type.as_str() {
                    "image/jpeg" => "jpeg",
                    "image/webp" => "webp",
                    _ => "png",
                };
                files.push(AnswerFile {
                    name: format!("image-{}.{extension}", files.len() + 1),
                    content_type: inline.mime_type,
                    source: FileSource::Inline { base64: inline.data },
                });
            }
        }
    }
    if files.is_empty() {
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
    let request_id = parsed.response_id.or_else(|| response.request_id());
    Ok(Produced::Files(Outputs::answered(Answer::new(
        files, details, request_id,
    ))))
}
