//! One HTTP call to a provider, and what its failure means: retryable (timeouts,
//! connection errors, 429, 5xx, Anthropic's 529) or final (the provider rejected
//! the request). Provider keys are scrubbed from anything that may be shown.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use electrons_domain::{job::JobError, secret::Secret};
use reqwest::{header::HeaderMap, RequestBuilder, StatusCode};

/// Larger responses are refused rather than held in memory.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

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
    },
    #[error("the provider's response could not be read: {0}")]
    Malformed(String),
    #[error("no API key is configured for provider {0}")]
    NotConfigured(String),
    /// The provider answered but declined to produce the output (a safety
    /// filter, nothing generated); asking again would get the same answer.
    #[error("the provider produced no output: {0}")]
    Refused(String),
}

impl ProviderError {
    pub fn retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::Malformed(_) => true,
            Self::Status { status, .. } => matches!(status, 408 | 409 | 425 | 429 | 500..=599),
            Self::NotConfigured(_) | Self::Refused(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn to_job_error(&self) -> JobError {
        let (code, provider_status) = match self {
            Self::Timeout(_) => ("provider_timeout", None),
            Self::Connect(_) => ("provider_unreachable", None),
            Self::Status { status: 429, .. } => ("provider_rate_limited", Some(429)),
            Self::Status { status, .. } => ("provider_error", Some(*status)),
            Self::Malformed(_) => ("provider_malformed_response", None),
            Self::NotConfigured(_) => ("provider_not_configured", None),
            Self::Refused(_) => ("provider_refused", None),
        };
        JobError {
            code: code.into(),
            message: self.to_string(),
            provider_status,
            retryable: self.retryable(),
        }
    }
}

pub struct ProviderResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub async fn send(request: RequestBuilder, timeout: Duration, key: &Secret) -> Result<ProviderResponse, ProviderError> {
    let scrub = |text: String| scrub_secret(text, key);
    let response = request.timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            ProviderError::Timeout(timeout)
        } else {
            ProviderError::Connect(scrub(without_url(&e)))
        }
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    if response.content_length().is_some_and(|n| n as usize > MAX_BODY_BYTES) {
        return Err(ProviderError::Malformed(format!(
            "response larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    let body = response.bytes().await.map_err(|e| {
        if e.is_timeout() {
            ProviderError::Timeout(timeout)
        } else {
            ProviderError::Connect(scrub(without_url(&e)))
        }
    })?;
    Ok(ProviderResponse { status, headers, body })
}

/// Sends a request and reads its successful JSON answer as `T`; any other
/// answer becomes the error, with the provider's own message when it gave one.
pub async fn send_json<T: serde::de::DeserializeOwned>(
    request: RequestBuilder,
    timeout: Duration,
    key: &Secret,
) -> Result<(T, HeaderMap), ProviderError> {
    let response = send(request, timeout, key).await?;
    if !response.status.is_success() {
        return Err(status_error(&response, error_message(&response.body), key));
    }
    let parsed = serde_json::from_slice(&response.body).map_err(|e| ProviderError::Malformed(e.to_string()))?;
    Ok((parsed, response.headers))
}

/// Sends a request whose successful answer is read as a stream (audio), so it is
/// never held whole; a failure's body is read to explain it.
pub async fn send_streaming(
    request: RequestBuilder,
    timeout: Duration,
    key: &Secret,
) -> Result<reqwest::Response, ProviderError> {
    let scrub = |text: String| scrub_secret(text, key);
    let response = request.timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            ProviderError::Timeout(timeout)
        } else {
            ProviderError::Connect(scrub(without_url(&e)))
        }
    })?;
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

fn scrub_secret(text: String, key: &Secret) -> String {
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

    #[test]
    fn classifies_statuses() {
        let status = |status| ProviderError::Status {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(status(500).retryable() && status(429).retryable() && status(529).retryable());
        assert!(!status(400).retryable() && !status(401).retryable() && !status(404).retryable());
    }

    #[test]
    fn never_repeats_the_key() {
        let key = Secret::new("sk-live-123456");
        assert_eq!(scrub_secret("bad key sk-live-123456".into(), &key), "bad key ***");
    }
}
