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
    /// `answered`, `unusable` (a 2xx DE could not use), `refused` (a 2xx without
    /// output), `rejected` (4xx), `rate_limited` (429), `server_error` (5xx),
    /// `timeout`, `unreachable`.
    pub outcome: String,
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
