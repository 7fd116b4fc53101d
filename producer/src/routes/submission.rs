//! Turns a submit request into a validated job, or a clear error naming the field.
//! Nothing is written before this has succeeded (invariant 7).

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use electrons_domain::{
    catalog::{Catalog, ModelConfig, ModelStatus},
    job::{Modality, Priority},
    usage::Usage,
    webhook::AddressGuard,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const MAX_METADATA_BYTES: usize = 16 * 1024;
const MAX_IDEMPOTENCY_KEY: usize = 255;
const WEBHOOK_EVENTS: &[&str] = &["start", "completed"];
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitRequest {
    /// A model of `GET /v1/models`; it fixes the modality and the provider.
    #[schema(example = "gpt-4o-mini")]
    model: String,
    /// The modality's input (`{"prompt": …}` for text), checked against the model.
    #[schema(value_type = Object, example = json!({"prompt": "Write a haiku about electrons"}))]
    input: Value,
    /// An http or https URL told about the job's events.
    #[serde(default)]
    webhook: Option<String>,
    /// `start`, `completed` (the default) or both.
    #[serde(default)]
    webhook_events_filter: Option<Vec<String>>,
    /// Default `normal`.
    #[serde(default)]
    priority: Option<Priority>,
    /// Kept with the job and shown with it; at most 16 KiB of JSON.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// Models of the same modality to move to, in order, when the model's
    /// provider is exhausted (a 429 beyond the wait budget, repeated server
    /// errors, a quota refusal); the input must suit each. Default: the
    /// model's configured fallbacks; `[]` for none.
    #[serde(default)]
    #[schema(example = json!(["claude-3.5-haiku"]))]
    fallbacks: Option<Vec<String>>,
    /// How the webhook's body draws the job: `job` (the default, as `GET
    /// /v1/jobs/{id}` does) or `prediction` (a Replicate prediction).
    #[serde(default)]
    webhook_format: Option<WebhookFormat>,
}

#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum WebhookFormat {
    Job,
    Prediction,
}

/// A request that passed validation.
pub struct Submission {
    pub model: String,
    pub modality: Modality,
    pub provider: String,
    pub priority: Priority,
    /// The input as given; the worker parses it again into the same typed value.
    pub input: Value,
    pub metadata: Value,
    pub webhook: Option<String>,
    pub webhook_events_filter: Vec<String>,
    pub request_hash: String,
    /// The models to move to, in order.
    pub fallbacks: Vec<String>,
    /// `prediction`, or `None` for the job itself.
    pub webhook_format: Option<String>,
    /// The most the job can cost (one call's worst case under the model's
    /// pricing), what a budget reserves; `None`: the model is unpriced.
    pub worst_case_usd: Option<f64>,
    /// Since when the model is deprecated (it still runs).
    pub deprecated_at: Option<DateTime<Utc>>,
}

pub fn parse(body: &[u8], catalog: &Catalog) -> Result<Submission, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    // serde_json sorts object keys, so equal requests hash equally whatever their key order.
    let request_hash = hex::encode(Sha256::digest(value.to_string().as_bytes()));
    let request: SubmitRequest = serde_path_to_error::deserialize(&value).map_err(field_error)?;

    let model = catalog.models.get(&request.model).ok_or_else(|| {
        let mut known: Vec<&str> = catalog.models.keys().map(String::as_str).collect();
        known.sort_unstable();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_model",
            format!(
                "model {:?} does not exist; GET /v1/models lists them ({})",
                request.model,
                known.join(", ")
            ),
        )
        .with_field("model")
    })?;

    let Some(rules) = catalog.input_rules(model) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_model",
            format!(
                "model {:?} is configured with a provider model this deployment cannot call",
                model.id
            ),
        )
        .with_field("model"));
    };
    // The budget reserves for the request as sent, the prompt template's system
    // prompt and default max_tokens included.
    let (input, _) = model.prepared(model.parse_input(&rules, &request.input)?);
    let mut worst_case_usd = model.pricing.is_priced().then(|| {
        let usage = Usage::worst_case(model, &input, catalog.default_video_seconds(model));
        model.pricing.cost_usd(&usage)
    });
    let fallbacks = fallbacks(&request, model, catalog)?;
    // The job may be served by any of them: it reserves the dearest.
    for fallback in fallbacks.iter().filter_map(|id| catalog.models.get(id)) {
        if let (Some(rules), true) = (catalog.input_rules(fallback), fallback.pricing.is_priced()) {
            let Ok(input) = fallback.parse_input(&rules, &request.input) else {
                continue;
            };
            let (input, _) = fallback.prepared(input);
            let usage = Usage::worst_case(fallback, &input, catalog.default_video_seconds(fallback));
            let usd = fallback.pricing.cost_usd(&usage);
            worst_case_usd = Some(worst_case_usd.map_or(usd, |worst| worst.max(usd)));
        }
    }

    let metadata = match request.metadata {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(m @ Value::Object(_)) if m.to_string().len() <= MAX_METADATA_BYTES => m,
        Some(Value::Object(_)) => {
            return Err(ApiError::invalid(
                "metadata",
                format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
            ))
        }
        Some(_) => return Err(ApiError::invalid("metadata", "must be a JSON object")),
    };

    let webhook = request.webhook.map(|w| parse_webhook(&w)).transpose()?;
    let webhook_events_filter = match request.webhook_events_filter {
        None => vec!["completed".to_string()],
        Some(events) => {
            if let Some(bad) = events.iter().find(|e| !WEBHOOK_EVENTS.contains(&e.as_str())) {
                return Err(ApiError::invalid(
                    "webhook_events_filter",
                    format!("unknown event {bad:?}; use any of: {}", WEBHOOK_EVENTS.join(", ")),
                ));
            }
            events
        }
    };

    Ok(Submission {
        model: model.id.clone(),
        modality: model.modality,
        provider: model.provider.clone(),
        priority: request.priority.unwrap_or(Priority::Normal),
        input: request.input,
        metadata,
        webhook,
        webhook_events_filter,
        request_hash,
        fallbacks,
        webhook_format: match request.webhook_format {
            Some(WebhookFormat::Prediction) => Some("prediction".to_owned()),
            Some(WebhookFormat::Job) | None => None,
        },
        worst_case_usd,
        deprecated_at: (model.status == ModelStatus::Deprecated).then(|| model.deprecated_at.unwrap_or_else(Utc::now)),
    })
}

/// At most this many fallbacks a job.
const MAX_FALLBACKS: usize = 5;

/// The job's fallbacks (its own, else its model's that still exist), each a
/// model of the same modality taking the job's input, none twice.
fn fallbacks(request: &SubmitRequest, model: &ModelConfig, catalog: &Catalog) -> Result<Vec<String>, ApiError> {
    let Some(named) = &request.fallbacks else {
        // A configured fallback removed since is skipped, not refused: the
        // client did not name it.
        let usable = |id: &&String| {
            catalog.models.get(*id).is_some_and(|fallback| {
                catalog
                    .input_rules(fallback)
                    .is_some_and(|rules| fallback.parse_input(&rules, &request.input).is_ok())
            })
        };
        return Ok(model.fallbacks.iter().filter(usable).cloned().collect());
    };
    if named.len() > MAX_FALLBACKS {
        return Err(ApiError::invalid(
            "fallbacks",
            format!("at most {MAX_FALLBACKS} fallback models"),
        ));
    }
    for (i, id) in named.iter().enumerate() {
        let field = format!("fallbacks[{i}]");
        let Some(fallback) = catalog.models.get(id) else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_model",
                format!("model {id:?} does not exist; GET /v1/models lists them"),
            )
            .with_field(&field));
        };
        if *id == model.id || named[..i].contains(id) {
            return Err(ApiError::invalid(&field, format!("{id:?} is already tried before it")));
        }
        if fallback.modality != model.modality {
            return Err(ApiError::invalid(
                &field,
                format!("{id:?} is a {} model; the job is {}", fallback.modality, model.modality),
            ));
        }
        let Some(rules) = catalog.input_rules(fallback) else {
            return Err(ApiError::invalid(&field, format!("{id:?} cannot be called here")));
        };
        if let Err(error) = fallback.parse_input(&rules, &request.input) {
            return Err(ApiError::invalid(
                &field,
                format!("{id:?} does not take this input: {}: {}", error.field, error.message),
            ));
        }
    }
    Ok(named.clone())
}

fn parse_webhook(raw: &str) -> Result<String, ApiError> {
    let url = url::Url::parse(raw).map_err(|e| invalid_webhook(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid_webhook("must be an http or https URL with a host"));
    }
    Ok(url.to_string())
}

/// Refuses a webhook URL whose host is, or resolves to, an address webhooks
/// may not reach (SSRF guard; the deliverer checks again when it connects).
pub async fn check_webhook_destination(guard: &AddressGuard, webhook: &str) -> Result<(), ApiError> {
    let url = url::Url::parse(webhook).map_err(|e| invalid_webhook(format!("not a URL: {e}")))?;
    match tokio::time::timeout(RESOLVE_TIMEOUT, guard.check_url(&url)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refusal)) => Err(invalid_webhook(refusal.to_string())),
        Err(_) => Err(invalid_webhook(format!(
            "the host did not resolve within {} s",
            RESOLVE_TIMEOUT.as_secs()
        ))),
    }
}

fn invalid_webhook(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_webhook", message).with_field("webhook")
}

fn field_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let message = error.into_inner().to_string();
    // serde reports a missing field at the enclosing object; name the field itself.
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            format!("{name} is required"),
        )
        .with_field(name);
    }
    let field = if path == "." { "body".to_string() } else { path };
    ApiError::invalid(&field, message)
}

/// `Idempotency-Key`: printable ASCII, at most 255 characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"),
            )
            .with_field("Idempotency-Key")
        })?;
    Ok(Some(key.to_string()))
}

/// `Prefer: wait=N` (RFC 7240), possibly among other preferences.
pub fn prefer_wait(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    for value in headers.get_all("prefer") {
        let Ok(text) = value.to_str() else { continue };
        for preference in text.split([',', ';']) {
            let preference = preference.trim();
            if let Some(seconds) = preference.strip_prefix("wait=") {
                return seconds.trim().parse::<u64>().map(Some).map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_header",
                        "Prefer: wait=N takes whole seconds",
                    )
                    .with_field("Prefer")
                });
            }
        }
    }
    Ok(None)
}
