//! Any HTTP API, called as the model's mapping says (a provider of kind
//! `http`, `electrons_domain::http_mapping`): the request filled from the
//! job's input with its JSON types kept, the output, usage and error message
//! read where the mapping's pointers say, and — when the mapping is `async` —
//! the operation the answer names polled until its status is done or failed.
//! Text and image models; images come as links or base64.

use base64::Engine;
use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    catalog::Api,
    http_mapping::{HttpMapping, OutputFormat, RenderedRequest, RequestTemplate, Values},
    job::Modality,
    limiter::Observation,
};
use reqwest::{header::HeaderMap, Method, RequestBuilder};
use serde_json::{Map, Value};

use crate::{
    adapter::{mismatch, Adapter, Call, LongRunning, Produced, Progress, Reader, TextCompletion},
    outputs::{link, Outputs},
    provider_call::{ProviderError, ProviderResponse},
    text::openai::rate_limits_in,
};

pub struct GenericHttp;

impl Adapter for GenericHttp {
    fn apis(&self) -> &'static [Api] {
        &[Api::HttpText, Api::HttpImage]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let mapping = mapping(call)?;
        send(call, &mapping.request, values(call, mapping))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(answer)
    }

    fn call_error_message(&self, call: &Call, body: &[u8]) -> Option<String> {
        let pointer = call.model.http_mapping.as_ref()?.response.error_message.as_deref()?;
        let body: Value = serde_json::from_slice(body).ok()?;
        match body.pointer(pointer)? {
            Value::String(message) => Some(message.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// The `x-ratelimit-*` headers OpenAI made common; an API without them
    /// is held to its configured limits.
    fn rate_limits(&self, headers: &HeaderMap) -> Observation {
        rate_limits_in(headers)
    }

    fn long_running(&self) -> Option<&dyn LongRunning> {
        Some(self)
    }
}

impl LongRunning for GenericHttp {
    fn poll_request(&self, call: &Call, operation_id: &str) -> Result<RequestBuilder, ProviderError> {
        let mapping = mapping(call)?;
        let operation = mapping.operation.as_ref().ok_or_else(|| mismatch(call.model))?;
        let values = values(call, mapping).with("operation_id", operation_id);
        send(call, &operation.poll, values)
    }

    fn progress(
        &self,
        call: &Call,
        _operation_id: &str,
        response: &ProviderResponse,
    ) -> Result<Progress, ProviderError> {
        let mapping = mapping(call)?;
        let operation = mapping.operation.as_ref().ok_or_else(|| mismatch(call.model))?;
        let body: Value = call.json(response)?;
        let status = body.pointer(&operation.status).cloned().unwrap_or(Value::Null);
        if operation.done.contains(&status) {
            return Ok(match output(call, mapping, response, &body, None)? {
                Produced::Text(completion) => Progress::Written(completion),
                Produced::Files(outputs) => Progress::Done(Box::new(outputs)),
                Produced::Operation { .. } => unreachable!("outputs are text or files"),
            });
        }
        if operation.failed.contains(&status) {
            let reason = operation
                .failure_reason
                .as_deref()
                .and_then(|pointer| body.pointer(pointer))
                .map(|reason| match reason {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| format!("status {status}"));
            return Ok(Progress::Failed { reason });
        }
        Ok(Progress::Pending {
            status: Some(match status {
                Value::String(text) => text,
                other => other.to_string(),
            }),
        })
    }
}

fn mapping<'a>(call: &Call<'a>) -> Result<&'a HttpMapping, ProviderError> {
    call.model.http_mapping.as_ref().ok_or_else(|| mismatch(call.model))
}

fn values(call: &Call, mapping: &HttpMapping) -> Values {
    Values::for_job(call.model, call.input, &mapping.defaults).with("api_key", call.key.expose())
}

/// The filled-in request, as reqwest sends it.
fn send(call: &Call, template: &RequestTemplate, values: Values) -> Result<RequestBuilder, ProviderError> {
    let rendered: RenderedRequest = template
        .render(&values)
        .map_err(|missing| ProviderError::Unsendable(missing.to_string()))?;
    let method = Method::from_bytes(rendered.method.as_str().as_bytes()).unwrap_or(Method::POST);
    let mut request = call
        .http
        .request(method, format!("{}{}", call.provider.base_url, rendered.path));
    for (name, value) in &rendered.headers {
        let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok();
        if !valid {
            // Only a job's own value can make it so (a line break in a
            // prompt sent as a header); named without the value, which may be the key.
            return Err(ProviderError::Unsendable(format!(
                "header {name} would not be a valid HTTP header with this job's values"
            )));
        }
        request = request.header(name, value);
    }
    if let Some(body) = &rendered.body {
        let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::Unsendable(e.to_string()))?;
        request = request.body(bytes);
    }
    Ok(request)
}

/// A successful answer to the first request: the output, or with `async` the
/// operation to poll.
fn answer(call: &Call, response: &ProviderResponse) -> Result<Produced, ProviderError> {
    let mapping = mapping(call)?;
    let body: Value = call.json(response)?;
    let request_id = read_string(&body, mapping.response.request_id.as_deref()).or_else(|| response.request_id());
    if let Some(operation) = &mapping.operation {
        let id = read_string(&body, Some(&operation.operation_id)).ok_or_else(|| {
            response.unusable(
                format!("the answer has no operation id at {}", operation.operation_id),
                call.key,
            )
        })?;
        return Ok(Produced::Operation { id });
    }
    output(call, mapping, response, &body, request_id)
}

/// The output where `response.output` points: text, or files.
fn output(
    call: &Call,
    mapping: &HttpMapping,
    response: &ProviderResponse,
    body: &Value,
    request_id: Option<String>,
) -> Result<Produced, ProviderError> {
    let spec = &mapping.response;
    let unusable = |reason: String| response.unusable(reason, call.key);
    let found = body.pointer(&spec.output);
    match mapping.output_format(call.model.modality) {
        OutputFormat::Text => {
            let text = found
                .and_then(Value::as_str)
                .ok_or_else(|| unusable(format!("the answer has no text at {}", spec.output)))?;
            let tokens = |pointer: &Option<String>| {
                pointer
                    .as_deref()
                    .and_then(|p| body.pointer(p))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            Ok(Produced::Text(TextCompletion {
                tool_calls: Vec::new(),
                text: text.to_string(),
                finish_reason: read_string(body, spec.finish_reason.as_deref()),
                input_tokens: tokens(&spec.input_tokens),
                output_tokens: tokens(&spec.output_tokens),
                provider_request_id: request_id,
            }))
        }
        format => {
            let items: Vec<&Value> = match found {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(item @ Value::String(_)) => vec![item],
                _ => return Err(unusable(format!("the answer has no files at {}", spec.output))),
            };
            let content_type = mapping.content_type();
            let extension = extension(content_type);
            let mut files = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let item = match &spec.output_item {
                    Some(pointer) => item.pointer(pointer),
                    None => Some(item),
                };
                let value = item.and_then(Value::as_str).ok_or_else(|| {
                    let within = spec.output_item.as_deref().unwrap_or("");
                    unusable(format!("file {} at {}{within} is not a string", i + 1, spec.output))
                })?;
                let name = format!("{}-{}.{extension}", file_stem(call.model.modality), i + 1);
                files.push(match format {
                    OutputFormat::Base64 => {
                        if let Err(e) = base64::engine::general_purpose::STANDARD.decode(value.as_bytes()) {
                            return Err(unusable(format!("file {} is not base64: {e}", i + 1)));
                        }
                        AnswerFile {
                            name,
                            content_type: content_type.to_string(),
                            source: FileSource::Inline {
                                base64: value.to_string(),
                            },
                        }
                    }
                    _ => link(name, content_type, value.to_string()),
                });
            }
            if files.is_empty() {
                return Err(ProviderError::Refused("the answer held no files".into()));
            }
            Ok(Produced::Files(Outputs::answered(Answer::new(
                files,
                Map::new(),
                request_id,
            ))))
        }
    }
}

fn read_string(body: &Value, pointer: Option<&str>) -> Option<String> {
    match body.pointer(pointer?)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn file_stem(modality: Modality) -> &'static str {
    match modality {
        Modality::Image => "image",
        _ => "output",
    }
}

fn extension(content_type: &str) -> &str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/svg+xml" => "svg",
        other => other
            .split_once('/')
            .map(|(_, sub)| sub)
            .filter(|sub| sub.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("bin"),
    }
}
