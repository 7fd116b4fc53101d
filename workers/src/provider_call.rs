//! One HTTP call to a provider, and the one place its outcome is classified:
//! transient (connect errors, no answer in time, 5xx, 429, Anthropic's 529) is
//! retried; a 2xx the provider billed but DE cannot use (a body that is not the
//! API's, an unexpected shape, an answer that broke off) is not, unless the
//! model says so; a rejected request (4xx) never is. Provider keys are scrubbed
//! from anything that may be shown.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
pub use electrons_domain::call_record::CallOutcome;
use electrons_domain::{catalog::ModelConfig, job::JobError, secret::Secret};
use reqwest::{header::HeaderMap, RequestBuilder, StatusCode};

/// Larger responses are refused rather than held in memory.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How much of an answer DE could not use is kept in the job's error.
const BODY_EXCERPT_CHARS: usize = 500;
/// Where providers put their id for a request (OpenAI, Pexels; Anthropic,
/// ElevenLabs; Shotstack on AWS; Google).
const REQUEST_ID_HEADERS: [&str; 4] = ["x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id"];

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the provider: {0}")]
    Connect(String),
    #[error("provider answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
        request_id: Option<String>,
    },
    /// A 2xx the provider will have charged for that DE could not use.
    #[error("the provider answered, but DE could not use the answer: {reason}")]
    Unusable {
        reason: String,
        request_id: Option<String>,
        /// The start of the body, secrets scrubbed.
        body: Option<String>,
    },
    #[error("no API key is configured for provider {0}")]
    NotConfigured(String),
    /// The request could not be made from this job (nothing was sent).
    #[error("the request to the provider could not be made: {0}")]
    Unsendable(String),
    /// The provider answered but declined to produce the output (a safety
    /// filter, nothing generated); asking again would get the same answer.
    #[error("the provider produced no output: {0}")]
    Refused(String),
}

impl ProviderError {
    pub fn outcome(&self) -> CallOutcome {
        match self {
            Self::Timeout(_) => CallOutcome::Timeout,
            Self::Connect(_) => CallOutcome::Unreachable,
            Self::Status { status: 429, .. } => CallOutcome::RateLimited,
            Self::Status {
                status: 408 | 409 | 425 | 500..=599,
                ..
            } => CallOutcome::ServerError,
            Self::Status { .. } => CallOutcome::Rejected,
            Self::Unusable { .. } => CallOutcome::Unusable,
            Self::Refused(_) => CallOutcome::Refused,
            Self::NotConfigured(_) | Self::Unsendable(_) => CallOutcome::NotSent,
        }
    }

    /// Whether another call may go differently, for `model`: transient failures
    /// yes; a billed answer DE could not use only where the model says so.
    pub fn retryable(&self, model: &ModelConfig) -> bool {
        match self.outcome() {
            CallOutcome::Timeout | CallOutcome::Unreachable | CallOutcome::ServerError | CallOutcome::RateLimited => {
                true
            }
            CallOutcome::Unusable => model.retry_unusable_answers,
            CallOutcome::Answered | CallOutcome::Refused | CallOutcome::Rejected | CallOutcome::NotSent => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Status { request_id, .. } | Self::Unusable { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn to_job_error(&self, model: &ModelConfig) -> JobError {
        let code = match self {
            Self::Timeout(_) => "provider_timeout",
            Self::Connect(_) => "provider_unreachable",
            Self::Status { status: 429, .. } => "provider_rate_limited",
            Self::Status { .. } => "provider_error",
            Self::Unusable { .. } => "provider_unusable_answer",
            Self::NotConfigured(_) => "provider_not_configured",
            Self::Unsendable(_) => "provider_request_invalid",
            Self::Refused(_) => "provider_refused",
        };
        JobError {
            code: code.into(),
            message: self.to_string(),
            provider_status: self.status(),
            provider_request_id: self.request_id().map(str::to_owned),
            provider_body: match self {
                Self::Unusable { body, .. } => body.clone(),
                _ => None,
            },
            retryable: self.retryable(model),
        }
    }
}

pub struct ProviderResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ProviderResponse {
    /// The provider's id for this request, from whichever header it uses.
    pub fn request_id(&self) -> Option<String> {
        request_id(&self.headers)
    }

    /// This 2xx answer, billed, as one DE cannot use: with the provider's
    /// request id and the start of the body, so the user can take it up with
    /// the provider.
    pub fn unusable(&self, reason: impl Into<String>, key: &Secret) -> ProviderError {
        let text = String::from_utf8_lossy(&self.body);
        let excerpt: String = text.trim().chars().take(BODY_EXCERPT_CHARS).collect();
        ProviderError::Unusable {
            reason: scrub_secret(reason.into(), key),
            request_id: self.request_id(),
            body: (!excerpt.is_empty()).then(|| scrub_secret(excerpt, key)),
        }
    }
}

/// The provider's id for a request, from whichever header it uses.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| header(headers, name))
}

/// The error for a request that got no answer: no answer in time (not even
/// its status), or none at all.
fn unanswered(error: &reqwest::Error, timeout: Duration, key: &Secret) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout(timeout)
    } else {
        ProviderError::Connect(scrub_secret(without_url(error), key))
    }
}

pub async fn send(request: RequestBuilder, timeout: Duration, key: &Secret) -> Result<ProviderResponse, ProviderError> {
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| unanswered(&e, timeout, key))?;
    let status = response.status();
    let headers = response.headers().clone();
    let empty = |headers: HeaderMap| ProviderResponse {
        status,
        headers,
        body: Bytes::new(),
    };
    if response.content_length().is_some_and(|n| n as usize > MAX_BODY_BYTES) {
        let reason = format!("the answer is larger than {MAX_BODY_BYTES} bytes");
        return Err(match status.is_success() {
            true => empty(headers).unusable(reason, key),
            false => status_error(&empty(headers), Some(reason), key),
        });
    }
    match response.bytes().await {
        Ok(body) => Ok(ProviderResponse { status, headers, body }),
        // The provider answered (and, with a 2xx, charged): an answer that broke
        // off is not a call that never happened.
        Err(error) if status.is_success() => {
            let reason = format!("the answer broke off: {}", without_url(&error));
            Err(empty(headers).unusable(reason, key))
        }
        Err(_) => Err(status_error(&empty(headers), None, key)),
    }
}

/// Sends a request whose successful answer is read as a stream (audio), so it is
/// never held whole; a failure's body is read to explain it, with the
/// provider's own message when `error_message` finds one.
pub async fn send_streaming(
    request: RequestBuilder,
    timeout: Duration,
    key: &Secret,
    error_message: &(dyn Fn(&[u8]) -> Option<String> + Sync),
) -> Result<reqwest::Response, ProviderError> {
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| unanswered(&e, timeout, key))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    let answer = ProviderResponse { status, headers, body };
    Err(status_error(&answer, error_message(&answer.body), key))
}

/// A response header as text, if it is there and readable.
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The human message in a provider's JSON error body, whichever of the usual
/// shapes it has: `{"error": {"message"}}` (OpenAI, Gemini), `{"detail": …}`
/// (Ideogram, ElevenLabs), `{"message"}` / `{"error": "…"}` (Shotstack, Pexels).
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let found = value
        .pointer("/error/message")
        .and_then(text)
        .or_else(|| value.pointer("/detail/message").and_then(text))
        .or_else(|| value.get("detail").and_then(text))
        .or_else(|| value.pointer("/detail/0/msg").and_then(text))
        .or_else(|| value.pointer("/response/error").and_then(text))
        .or_else(|| value.get("message").and_then(text))
        .or_else(|| value.get("error").and_then(text))?;
    Some(found.chars().take(500).collect())
}

/// The error for a non-2xx answer, with the provider's own message when it gave one.
pub fn status_error(response: &ProviderResponse, message: Option<String>, key: &Secret) -> ProviderError {
    let message = message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&response.body);
        let text = text.trim();
        if text.is_empty() {
            response.status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text.chars().take(500).collect()
        }
    });
    ProviderError::Status {
        status: response.status.as_u16(),
        message: scrub_secret(message, key),
        retry_after: retry_after(&response.headers, Utc::now()),
        request_id: response.request_id(),
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    electrons_domain::retry::parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?, now)
}

pub(crate) fn without_url(error: &reqwest::Error) -> String {
    // The URL may carry a key in its query for some providers; never show it.
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<provider url>");
    }
    text
}

/// A streamed 2xx answer DE could not use (the stream is not the API's, or it
/// broke off): billed, with the provider's request id.
pub(crate) fn unusable_stream(reason: String, request_id: Option<String>, key: &Secret) -> ProviderError {
    ProviderError::Unusable {
        reason: scrub_secret(reason, key),
        request_id,
        body: None,
    }
}

pub(crate) fn scrub_secret(text: String, key: &Secret) -> String {
    if key.expose().len() >= 4 && text.contains(key.expose()) {
        text.replace(key.expose(), "***")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    use super::*;

    #[test]
    fn reads_retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:05 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(5)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    fn model(retry_unusable_answers: bool) -> ModelConfig {
        ModelConfig {
            id: "m".into(),
            modality: electrons_domain::job::Modality::Text,
            provider: "p".into(),
            provider_model: "m".into(),
            api: electrons_domain::catalog::Api::OpenAiChat,
            default_max_tokens: 1,
            max_output_tokens: 1,
            pricing: Default::default(),
            status: electrons_domain::catalog::ModelStatus::Active,
            deprecated_at: None,
            retry_unusable_answers,
            regenerate_unavailable_outputs: false,
            prompt_template: None,
            http_mapping: None,
            fallbacks: Vec::new(),
        }
    }

    #[test]
    fn classifies_statuses() {
        let status = |status| ProviderError::Status {
            status,
            message: String::new(),
            retry_after: None,
            request_id: None,
        };
        let m = model(false);
        assert!(status(500).retryable(&m) && status(429).retryable(&m) && status(529).retryable(&m));
        assert!(!status(400).retryable(&m) && !status(401).retryable(&m) && !status(404).retryable(&m));
        assert!(!status(500).outcome().billed() && !status(400).outcome().billed());
    }

    #[test]
    fn a_billed_answer_is_retried_only_where_the_model_says_so() {
        let response = ProviderResponse {
            status: StatusCode::OK,
            headers: [(
                reqwest::header::HeaderName::from_static("x-request-id"),
                HeaderValue::from_static("req_123"),
            )]
            .into_iter()
            .collect(),
            body: Bytes::from_static(
                b"{\"choices\": [{\"message\": {\"tool_calls\": []}}], \"key\": \"sk-live-123456\"}",
            ),
        };
        let key = Secret::new("sk-live-123456");
        let error = response.unusable("chat completion without content", &key);
        assert_eq!(error.outcome(), CallOutcome::Unusable);
        assert!(error.outcome().billed());
        assert!(!error.retryable(&model(false)));
        assert!(error.retryable(&model(true)));
        let job_error = error.to_job_error(&model(false));
        assert_eq!(job_error.code, "provider_unusable_answer");
        assert_eq!(job_error.provider_request_id.as_deref(), Some("req_123"));
        let body = job_error.provider_body.expect("body excerpt");
        assert!(body.starts_with("{\"choices\"") && !body.contains("sk-live"), "{body}");
        assert!(!job_error.retryable);
    }

    #[test]
    fn never_repeats_the_key() {
        let key = Secret::new("sk-live-123456");
        assert_eq!(scrub_secret("bad key sk-live-123456".into(), &key), "bad key ***");
    }
}
