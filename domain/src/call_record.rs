//! What a job's `metrics` say about each request it sent a provider: every
//! generation call, answered or not, is appended to `metrics.calls` and counted
//! in `metrics.provider_calls` (and `billed_calls` when the provider answered
//! 2xx, i.e. charged for it), across attempts, by the same statement that
//! commits the job's next state (the SQL function `job_metrics_with_call`). A
//! user sees what a job cost even when it failed. Status polls of long-running
//! operations are not generation calls and are not recorded here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The job's attempt (claim) that made the call.
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub outcome: CallOutcome,
    /// The provider answered 2xx, so it will have charged for the call.
    pub billed: bool,
    pub provider_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What the call used, in the provider's units: tokens (and their estimated
    /// cost) for text, images, characters, files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Value>,
}

/// What a provider call came to, as `metrics.calls[].outcome` names it and
/// the worker's retries treat it (`ProviderError::outcome` decides which).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Answered,
    /// 2xx, billed, not usable.
    Unusable,
    /// 2xx without an output.
    Refused,
    /// 4xx: the request itself was wrong.
    Rejected,
    RateLimited,
    /// 5xx, and the 408/409/425 a server may give for a moment.
    ServerError,
    Timeout,
    Unreachable,
    /// No request was sent (no key configured); never recorded.
    NotSent,
}

impl CallOutcome {
    /// The provider answered 2xx, so it will have charged for the call.
    pub fn billed(self) -> bool {
        matches!(self, Self::Answered | Self::Unusable | Self::Refused)
    }
}
