//! Why a provider refused a request. Built by the request checks, worded per
//! provider, and turned into that provider's error JSON in exactly one place
//! (`Provider::reject`).

use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Rejection {
    pub status: StatusCode,
    pub message: String,
    /// The offending field; only OpenAI reports it.
    pub param: Option<String>,
    /// A machine-readable reason (`invalid_type`, `invalid_api_key`); only OpenAI reports it.
    pub code: Option<&'static str>,
}

impl Rejection {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            param: None,
            code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}
