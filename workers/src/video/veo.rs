//! Gemini Veo: `POST /v1beta/models/{model}:predictLongRunning` returns an
//! operation name; `GET /v1beta/{name}` until `done`, then the videos' URIs
//! (fetched with the API key) or the operation's `error`.

use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::Api,
};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Adapter, Call, LongRunning, Produced, Progress, Reader},
    download,
    outputs::Outputs,
    provider_call::{ProviderError, ProviderResponse},
};

pub struct GeminiVeo;

#[derive(Deserialize)]
struct Operation {
    name: Option<String>,
    #[serde(default)]
    done: bool,
    error: Option<Status>,
    response: Option<Value>,
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct Status {
    code: Option<i64>,
    message: Option<String>,
}

impl Adapter for GeminiVeo {
    fn apis(&self) -> &'static [Api] {
        &[Api::GeminiVeo]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let input = call.video()?;
        let mut parameters = json!({
            "aspectRatio": input.aspect_ratio(),
            "durationSeconds": input.duration(),
        });
        if let Some(negative) = &input.negative_prompt {
            parameters["negativePrompt"] = json!(negative);
        }
        if let Some(resolution) = &input.resolution {
            parameters["resolution"] = json!(resolution);
        }
        if let Some(seed) = input.seed {
            parameters["seed"] = json!(seed);
        }
        Ok(call
            .http
            .post(call.url(&format!(
                "v1beta/models/{}:predictLongRunning",
                call.model.provider_model
            )))
            .header("x-goog-api-key", call.key.expose())
            .json(&json!({ "instances": [{ "prompt": input.prompt }], "parameters": parameters })))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(|call, response| {
            let operation: Operation = call.json(response)?;
            let id = operation
                .name
                .ok_or_else(|| response.unusable("no operation name in the answer", call.key))?;
            Ok(Produced::Operation { id })
        })
    }

    fn long_running(&self) -> Option<&dyn LongRunning> {
        Some(self)
    }
}

impl LongRunning for GeminiVeo {
    fn poll_request(&self, call: &Call, name: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(call
            .http
            .get(call.url(&format!("v1beta/{name}")))
            .header("x-goog-api-key", call.key.expose()))
    }

    fn progress(&self, call: &Call, name: &str, response: &ProviderResponse) -> Result<Progress, ProviderError> {
        finished(call, name, call.json(response)?)
    }
}

/// What a polled operation says.
fn finished(call: &Call, name: &str, operation: Operation) -> Result<Progress, ProviderError> {
    let provider = call.provider;
    if !operation.done {
        let status = operation
            .metadata
            .as_ref()
            .and_then(|m| m.get("state").or_else(|| m.get("status")))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(Some("running".into()));
        return Ok(Progress::Pending { status });
    }
    if let Some(error) = operation.error {
        let reason = error.message.unwrap_or_else(|| "no message".into());
        return Ok(Progress::Failed {
            reason: match error.code {
                Some(code) => format!("{reason} (code {code})"),
                None => reason,
            },
        });
    }
    let answer = operation.response.unwrap_or(Value::Null);
    let result = answer.get("generateVideoResponse").unwrap_or(&Value::Null);
    let uris: Vec<String> = result
        .get("generatedSamples")
        .and_then(Value::as_array)
        .map(|samples| {
            samples
                .iter()
                .filter_map(|s| s.pointer("/video/uri").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if uris.is_empty() {
        let filtered = result
            .get("raiMediaFilteredReasons")
            .map(|r| r.to_string())
            .unwrap_or_else(|| "the operation finished without a video".into());
        return Ok(Progress::Failed { reason: filtered });
    }
    // "Generated videos are stored on the server for 2 days."
    let expires_at = chrono::Utc::now() + chrono::Duration::days(2);
    let files = uris
        .into_iter()
        .enumerate()
        .map(|(i, url)| {
            // The video's URI answers only with the API key; the key goes to
            // the provider's own host and nowhere else.
            let key_header = download::same_origin(&url, &provider.base_url).then(|| "x-goog-api-key".to_string());
            AnswerFile {
                name: format!("video-{}.mp4", i + 1),
                content_type: "video/mp4".into(),
                source: FileSource::Link {
                    url,
                    key_header,
                    expires_at: Some(expires_at),
                },
            }
        })
        .collect();
    let mut details = Map::new();
    details.insert("operation".into(), json!(name));
    Ok(Progress::Done(Box::new(Outputs::answered(Answer::new(
        files,
        details,
        Some(name.to_string()),
    )))))
}
