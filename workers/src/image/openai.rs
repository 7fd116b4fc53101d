//! OpenAI Images (`POST /v1/images/generations`) for `dall-e-3` and `dall-e-2`.
//! Links are asked for rather than base64, so images stream into storage.

use electrons_domain::{
    answer::Answer,
    catalog::{ModelConfig, ProviderConfig},
    input::ImageInput,
    secret::Secret,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::Produced,
    outputs::{expiring_link, Outputs},
    provider_call::{self, ProviderError},
};

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

pub async fn generate(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &ImageInput,
) -> Result<Produced, ProviderError> {
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
    let request = http
        .post(format!("{}/v1/images/generations", provider.base_url))
        .bearer_auth(key.expose())
        .json(&body);
    let (parsed, response): (Response, _) = provider_call::send_json(request, provider.timeout, key).await?;
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
