//! Shotstack Edit API: `POST {base}/{env}/render` with the timeline, then
//! `GET {base}/{env}/render/{id}` until `done` (with the video's link) or
//! `failed` (with Shotstack's error). The model's provider model is the
//! environment: `v1` or `stage`.

use electrons_domain::{answer::Answer, catalog::Api, input::render_format_media};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Map};

use crate::{
    adapter::{Adapter, Call, LongRunning, Produced, Progress, Reader},
    outputs::{expiring_link, Outputs},
    provider_call::{ProviderError, ProviderResponse},
};

pub struct ShotstackRender;

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

impl Adapter for ShotstackRender {
    fn apis(&self) -> &'static [Api] {
        &[Api::ShotstackRender]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        Ok(call
            .http
            .post(call.url(&format!("{}/render", call.model.provider_model)))
            .header("x-api-key", call.key.expose())
            .json(&call.render()?.to_shotstack()))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(|call, response| {
            let queued: Envelope<Queued> = call.json(response)?;
            let id = queued
                .response
                .map(|r| r.id)
                .ok_or_else(|| response.unusable("no render id in the answer", call.key))?;
            Ok(Produced::Operation { id })
        })
    }

    fn long_running(&self) -> Option<&dyn LongRunning> {
        Some(self)
    }
}

impl LongRunning for ShotstackRender {
    fn poll_request(&self, call: &Call, id: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(call
            .http
            .get(call.url(&format!("{}/render/{id}", call.model.provider_model)))
            .header("x-api-key", call.key.expose()))
    }

    fn progress(&self, call: &Call, id: &str, response: &ProviderResponse) -> Result<Progress, ProviderError> {
        let key = call.key;
        let envelope: Envelope<Render> = call.json(response)?;
        let render = envelope
            .response
            .ok_or_else(|| response.unusable("no render in the answer", key))?;
        match render.status.as_deref() {
            Some("done") => {
                let url = render
                    .url
                    .ok_or_else(|| response.unusable("a finished render without a url", key))?;
                let (content_type, extension) = render_format_media(call.render()?.format());
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
}
