//! OpenAI Images (`POST /v1/images/generations`) for `dall-e-3` and `dall-e-2`.
//! Links are asked for rather than base64, so images stream into storage.

use electrons_domain::{answer::Answer, catalog::Api};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Adapter, Call, Produced, Reader},
    outputs::{expiring_link, Outputs},
    provider_call::{ProviderError, ProviderResponse},
};

pub struct OpenAiImages;

/// How long OpenAI keeps an image's link working after generating it.
const LINK_MINUTES: i64 = 60;

#[derive(Deserialize)]
struct Response {
    created: Option<i64>,
    data: Vec<Image>,
}

#[derive(Deserialize)]
struct Image {
    url: Option<String>,
    revised_prompt: Option<String>,
}

impl Adapter for OpenAiImages {
    fn apis(&self) -> &'static [Api] {
        &[Api::OpenAiImages]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let (model, input) = (call.model, call.image()?);
        let mut body = json!({
            "model": model.provider_model,
            "prompt": input.prompt,
            "n": input.count(),
            "response_format": "url",
        });
        for (field, value) in [
            ("size", &input.size),
            ("quality", &input.quality),
            ("style", &input.style),
        ] {
            if let Some(value) = value {
                body[field] = json!(value);
            }
        }
        Ok(call
            .http
            .post(call.url("v1/images/generations"))
            .bearer_auth(call.key.expose())
            .json(&body))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(images)
    }
}

fn images(call: &Call, response: &ProviderResponse) -> Result<Produced, ProviderError> {
    let key = call.key;
    let parsed: Response = call.json(response)?;
    // "URLs are only valid for 60 minutes after the image has been generated."
    let expires_at = parsed
        .created
        .and_then(|created| chrono::DateTime::from_timestamp(created, 0))
        .unwrap_or_else(chrono::Utc::now)
        + chrono::Duration::minutes(LINK_MINUTES);
    let mut files = Vec::with_capacity(parsed.data.len());
    let mut revised = Vec::new();
    for (i, image) in parsed.data.into_iter().enumerate() {
        let url = image
            .url
            .ok_or_else(|| response.unusable(format!("image {} has no url", i + 1), key))?;
        files.push(expiring_link(
            format!("image-{}.png", i + 1),
            "image/png",
            url,
            expires_at,
        ));
        revised.extend(image.revised_prompt);
    }
    if files.is_empty() {
        return Err(ProviderError::Refused("the answer held no images".into()));
    }
    let mut details = Map::new();
    if !revised.is_empty() {
        details.insert("revised_prompts".into(), json!(revised));
    }
    if let Some(created) = parsed.created {
        details.insert("created".into(), Value::from(created));
    }
    Ok(Produced::Files(Outputs::answered(Answer::new(
        files,
        details,
        response.request_id(),
    ))))
}
