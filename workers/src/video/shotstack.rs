//! Shotstack Edit API: `POST {base}/{env}/render` with the timeline, then
//! `GET {base}/{env}/render/{id}` until `done` (with the video's link) or
//! `failed` (with Shotstack's error). The model's provider model is the
//! environment: `v1` or `stage`.

use electrons_domain::{
    answer::Answer,
    catalog::{ModelConfig, ProviderConfig},
    input::{render_format_media, RenderInput},
    secret::Secret,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{json, Map};

use crate::{
    adapter::{Produced, Progress},
    outputs::{expiring_link, Outputs},
    provider_call::{self, ProviderError},
};

#[derive(Deserialize)]
struct Envelope<T> {
    response: Option<T>,
}

#[derive(Deserialize)]
struct Queued {
    id: String,
}

#[derive(Deserialize)]
struct Render {
    status: Option<String>,
    url: Option<String>,
    error: Option<String>,
    duration: Option<f64>,
    render_time: Option<f64>,
}

pub async fn submit(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &RenderInput,
) -> Result<Produced, ProviderError> {
    let request = http
        .post(format!("{}/{}/render", provider.base_url, model.provider_model))
        .header("x-api-key", key.expose())
        .json(&input.to_shotstack());
    let (queued, response): (Envelope<Queued>, _) = provider_call::send_json(request, provider.timeout, key).await?;
    let id = queued
        .response
        .map(|r| r.id)
        .ok_or_else(|| response.unusable("no render id in the answer", key))?;
    Ok(Produced::Operation { id })
}

pub async fn poll(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &RenderInput,
    id: &str,
) -> Result<Progress, ProviderError> {
    let request = http
        .get(format!("{}/{}/render/{id}", provider.base_url, model.provider_model))
        .header("x-api-key", key.expose());
    let (envelope, response): (Envelope<Render>, _) = provider_call::send_json(request, provider.timeout, key).await?;
    let render = envelope
        .response
        .ok_or_else(|| response.unusable("no render in the answer", key))?;
    match render.status.as_deref() {
        Some("done") => {
            let url = render
                .url
                .ok_or_else(|| response.unusable("a finished render without a url", key))?;
            let (content_type, extension) = render_format_media(input.format());
            let mut details = Map::new();
            details.insert("render_id".into(), json!(id));
            details.insert("duration".into(), json!(render.duration));
            details.insert("render_time".into(), json!(render.render_time));
            // Shotstack hosts a finished render for 24 hours.
            let expires_at = chrono::Utc::now() + chrono::Duration::hours(24);
            let file = expiring_link(format!("render.{extension}"), content_type, url, expires_at);
            Ok(Progress::Done(Box::new(Outputs::answered(Answer::new(
                vec![file],
                details,
                Some(id.to_string()),
            )))))
        }
        Some("failed") => Ok(Progress::Failed {
            reason: render
                .error
                .unwrap_or_else(|| "Shotstack reported the render failed without a reason".into()),
        }),
        other => Ok(Progress::Pending {
            status: other.map(str::to_owned),
        }),
    }
}
