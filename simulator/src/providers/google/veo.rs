//! Veo video generation on the Gemini API, three calls:
//!
//! - `POST /v1beta/models/{model}:predictLongRunning` with `{"instances":
//!   [{"prompt"}], "parameters": {…}}` starts an operation:
//!   `{"name": "models/{model}/operations/{id}"}`.
//! - `GET /v1beta/models/{model}/operations/{id}` polls it: `{"name", "done":
//!   false}` until its duration has passed, then `done: true` with
//!   `response.generateVideoResponse.generatedSamples[].video.uri`, or with
//!   `error: {"code": 3, "message"}` if the prompt asked for
//!   `[[sim:operation_fail]]` (default message: [`DEFAULT_FAILURE`]).
//! - `GET /v1beta/files/{id}:download?alt=media` (the sample's `uri`) serves the
//!   MP4, and like every Gemini call wants the API key.

use std::time::Duration;

use axum::{http::StatusCode, response::IntoResponse, Json};
use rand::{distr::Alphanumeric, Rng};
use serde_json::{json, Map, Value};

use super::{authorize, unsupported, Google};
use crate::{
    directives::Asks,
    media::{Media, MP4},
    operations,
    providers::{call::Call, rejection::Rejection, Endpoint, Served, Usage},
};

/// Why an operation fails when `[[sim:operation_fail]]` gives no reason.
pub const DEFAULT_FAILURE: &str = "The prompt could not be processed: it was blocked by the safety filters.";
/// `google.rpc.Code.INVALID_ARGUMENT`, what a refused prompt ends with.
const FAILED_CODE: u16 = 3;
const RESPONSE_TYPE: &str = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse";
const PERSON_GENERATION: &[&str] = &["allow_all", "allow_adult", "dont_allow"];
const DURATIONS: &[u64] = &[4, 6, 8];
/// 1080p and 4k are rendered as 8-second clips only.
const FULL_LENGTH_RESOLUTIONS: &[&str] = &["1080p", "4k"];
const FULL_LENGTH: u64 = 8;

pub struct PredictLongRunning;

impl Endpoint for PredictLongRunning {
    type Dialect = Google;
    const NAME: &'static str = "gemini.predict_long_running";
    const MALFORMED: &'static [u8] = br#"{"name": "models/veo-3.0-generate-001/operati"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let model = call.param("model");
        if !model.starts_with("veo-") {
            return Err(unsupported(model, "predictLongRunning"));
        }
        let samples = VideoRequest::parse(call.body)?.samples;
        let asks = Asks::read(prompt);
        let base = call.base();
        let outputs = (0..samples)
            .map(|_| {
                let file = call.controls.files().publish(Media::Mp4, asks.file);
                format!("{base}/v1beta/files/{file}:download?alt=media")
            })
            .collect();
        let duration = asks
            .operation_ms
            .map_or_else(|| call.controls.operation_duration(), Duration::from_millis);
        let operation = operations::Operation::new(
            duration,
            asks.failure(DEFAULT_FAILURE),
            outputs,
            json!({ "model": model }),
        );
        let id: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(12)
            .map(|c| char::from(c).to_ascii_lowercase())
            .collect();
        call.controls.operations().insert(id.clone(), operation);
        let name = format!("models/{model}/operations/{id}");
        Ok(Served {
            response: Json(json!({ "name": name })).into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(call: &Call) -> Option<String> {
        call.body?.pointer("/instances/0/prompt")?.as_str().map(str::to_owned)
    }

    fn model(call: &Call) -> Option<String> {
        Some(call.param("model").to_owned())
    }
}

struct VideoRequest {
    samples: u64,
}

impl VideoRequest {
    fn parse(body: Option<&Value>) -> Result<Self, Rejection> {
        let Some(body) = body.and_then(Value::as_object) else {
            return Err(Rejection::bad_request(
                "Invalid JSON payload received. Expected an object.",
            ));
        };
        let instance = match body.get("instances").and_then(Value::as_array).map(Vec::as_slice) {
            Some([instance, ..]) => instance,
            _ => return Err(Rejection::bad_request("instances must contain at least one instance.")),
        };
        match instance.get("prompt") {
            Some(Value::String(prompt)) if !prompt.trim().is_empty() => {}
            _ if instance.get("image").is_some() => {}
            _ => return Err(Rejection::bad_request("A prompt or an image is required.")),
        }
        let parameters = match body.get("parameters") {
            None | Some(Value::Null) => &Map::new(),
            Some(Value::Object(parameters)) => parameters,
            Some(_) => return Err(Rejection::bad_request("parameters must be an object.")),
        };
        choice(parameters, "aspectRatio", &["16:9", "9:16"])?;
        choice(parameters, "resolution", &["720p", "1080p", "4k"])?;
        choice(parameters, "personGeneration", PERSON_GENERATION)?;
        duration(parameters)?;
        // The Gemini API takes no seed for Veo (Vertex AI does); worded as it
        // refuses another parameter a model does not take (`durationSeconds isn't
        // supported by this model…`, reported for Veo 3 preview).
        if parameters.get("seed").is_some_and(|v| !v.is_null()) {
            return Err(Rejection::bad_request(
                "seed isn't supported by this model. Please remove it or refer to the Gemini API documentation for supported usage.",
            ));
        }
        if parameters
            .get("negativePrompt")
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(Rejection::bad_request("negativePrompt must be a string."));
        }
        let samples = match parameters.get("sampleCount").filter(|v| !v.is_null()) {
            None => 1,
            Some(count) => count.as_u64().filter(|n| (1..=4).contains(n)).ok_or_else(|| {
                Rejection::bad_request(format!("sampleCount must be between 1 and 4, inclusive. Got: {count}."))
            })?,
        };
        Ok(Self { samples })
    }
}

/// `durationSeconds`: 4, 6 or 8, and 8 for 1080p and 4k. Veo answers 5 with the
/// same "out of bound" wording as 30 (seen for veo-3.1); the resolution rule's
/// wording is the simulator's own.
fn duration(parameters: &Map<String, Value>) -> Result<(), Rejection> {
    let seconds = match parameters.get("durationSeconds").filter(|v| !v.is_null()) {
        None => FULL_LENGTH,
        Some(seconds) => seconds.as_u64().filter(|s| DURATIONS.contains(s)).ok_or_else(|| {
            Rejection::bad_request(
                "The number value for `durationSeconds` is out of bound. Please provide a value between 4 and 8, inclusive.",
            )
        })?,
    };
    match parameters.get("resolution").and_then(Value::as_str) {
        Some(resolution) if FULL_LENGTH_RESOLUTIONS.contains(&resolution) && seconds != FULL_LENGTH => {
            Err(Rejection::bad_request(format!(
                "The {resolution} resolution is only supported with a `durationSeconds` of {FULL_LENGTH}. Got: {seconds}."
            )))
        }
        _ => Ok(()),
    }
}

fn choice(parameters: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), Rejection> {
    match parameters.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => Ok(()),
        Some(value) => Err(Rejection::bad_request(format!(
            "Unsupported {field}: {value}. Supported values are: {}.",
            allowed.join(", ")
        ))),
    }
}

pub struct Operation;

impl Endpoint for Operation {
    type Dialect = Google;
    const NAME: &'static str = "gemini.operation";
    const MALFORMED: &'static [u8] = br#"{"name": "models/veo-3.0-generate-001/operations/x", "done": tr"#;

    fn respond(call: &Call, _prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let (model, id) = (call.param("model"), call.param("operation"));
        let name = format!("models/{model}/operations/{id}");
        let operation = call
            .controls
            .operations()
            .get(id)
            .filter(|operation| operation.request["model"] == model)
            .ok_or_else(|| Rejection::new(StatusCode::NOT_FOUND, format!("Operation {name} not found.")))?;
        let body = if !operation.done() {
            json!({ "name": name, "done": false })
        } else if let Some(reason) = &operation.failure {
            json!({ "name": name, "done": true, "error": { "code": FAILED_CODE, "message": reason } })
        } else {
            let samples: Vec<Value> = operation
                .outputs
                .iter()
                .map(|uri| json!({ "video": { "uri": uri } }))
                .collect();
            json!({ "name": name, "done": true, "response": {
                "@type": RESPONSE_TYPE,
                "generateVideoResponse": { "generatedSamples": samples },
            } })
        };
        Ok(Served {
            response: Json(body).into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(_call: &Call) -> Option<String> {
        None
    }

    fn model(call: &Call) -> Option<String> {
        Some(call.param("model").to_owned())
    }
}

pub struct Download;

impl Endpoint for Download {
    type Dialect = Google;
    const NAME: &'static str = "gemini.download";
    /// The MP4's first bytes, as a download cut off early.
    const MALFORMED: &'static [u8] = MP4.split_at(64).0;

    fn respond(call: &Call, _prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let id = call.param("file");
        if call.query("alt") != Some("media") {
            return Err(Rejection::bad_request(
                "Only downloads are supported here: add alt=media to the request.",
            ));
        }
        let file = call
            .controls
            .files()
            .get(id)
            .ok_or_else(|| Rejection::new(StatusCode::NOT_FOUND, format!("File files/{id} not found.")))?;
        Ok(Served {
            response: file.response(),
            usage: Usage::default(),
        })
    }

    fn prompt(_call: &Call) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: Value) -> String {
        VideoRequest::parse(Some(&body))
            .err()
            .map(|r| r.message)
            .unwrap_or_default()
    }

    #[test]
    fn parameters_are_checked() {
        let valid = json!({ "instances": [{ "prompt": "a wave" }], "parameters": {
            "aspectRatio": "9:16", "durationSeconds": 8, "resolution": "720p", "sampleCount": 2, "negativePrompt": "people",
        } });
        assert_eq!(VideoRequest::parse(Some(&valid)).map(|r| r.samples).ok(), Some(2));
        assert!(refused(json!({ "instances": [] })).contains("at least one instance"));
        assert!(refused(json!({ "instances": [{ "prompt": "" }] })).contains("prompt or an image"));
        let with = |parameters: Value| json!({ "instances": [{ "prompt": "x" }], "parameters": parameters });
        assert!(refused(with(json!({ "aspectRatio": "1:1" }))).starts_with("Unsupported aspectRatio"));
        assert!(refused(with(json!({ "durationSeconds": 30 }))).contains("between 4 and 8"));
        for seconds in [5, 7] {
            assert!(refused(with(json!({ "durationSeconds": seconds }))).contains("out of bound"));
        }
        for resolution in ["1080p", "4k"] {
            assert!(refused(with(json!({ "resolution": resolution, "durationSeconds": 6 }))).contains("only supported"));
            assert!(
                VideoRequest::parse(Some(&with(json!({ "resolution": resolution })))).is_ok(),
                "8 s by default"
            );
        }
        assert!(VideoRequest::parse(Some(&with(json!({ "resolution": "720p", "durationSeconds": 4 })))).is_ok());
        assert!(refused(with(json!({ "seed": 7 }))).starts_with("seed isn't supported"));
        assert!(refused(with(json!({ "sampleCount": 9 }))).contains("sampleCount"));
    }
}
