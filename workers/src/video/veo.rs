//! Gemini Veo: `POST /v1beta/models/{model}:predictLongRunning` returns an
//! operation name; `GET /v1beta/{name}` until `done`, then the videos' URIs
//! (fetched with the API key) or the operation's `error`.

use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::{ModelConfig, ProviderConfig},
    input::VideoInput,
    secret::Secret,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Produced, Progress},
    download,
    outputs::Outputs,
    provider_call::{self, ProviderError},
};

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

pub async fn submit(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    model: &ModelConfig,
    input: &VideoInput,
) -> Result<Produced, ProviderError> {
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
    let request = http
        .post(format!(
            "{}/v1beta/models/{}:predictLongRunning",
            provider.base_url, model.provider_model
        ))
        .header("x-goog-api-key", key.expose())
        .json(&json!({ "instances": [{ "prompt": input.prompt }], "parameters": parameters }));
    let (operation, response): (Operation, _) = provider_call::send_json(request, provider.timeout, key).await?;
    let id = operation
        .name
        .ok_or_else(|| response.unusable("no operation name in the answer", key))?;
    Ok(Produced::Operation { id })
}

pub async fn poll(
    http: &Client,
    provider: &ProviderConfig,
    key: &Secret,
    name: &str,
) -> Result<Progress, ProviderError> {
    let request = http
        .get(format!("{}/v1beta/{name}", provider.base_url))
        .header("x-goog-api-key", key.expose());
    let (operation, _): (Operation, _) = provider_call::send_json(request, provider.timeout, key).await?;
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
