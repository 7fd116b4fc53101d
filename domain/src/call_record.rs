//! What a job's `metrics` say about each request it sent a provider: every
//! generation call, answered or not, is appended to `metrics.calls` and counted
//! in `metrics.provider_calls` (and `billed_calls` when the provider answered
//! 2xx, i.e. charged for it), across attempts, by the same statement that
//! commits the job's next state (the SQL function `job_metrics_with_call`),
//! which also adds each billed call's usage and cost to the job's
//! `metrics.usage` and `metrics.cost_usd`. A user sees what a job cost even
//! when it failed. Status polls of long-running
//! operations are not generation calls and are not recorded here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{prompt_template::PromptTemplate, usage::Usage};

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
    /// What the call used, in the provider's units (`crate::usage`); for a
    /// billed call whose answer did not say, what it asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What `usage` costs under the model's pricing; set for billed calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// What the model's prompt template supplied to the request. The job keeps
    /// the last call's as `metrics.prompt_template`, not in `metrics.calls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<PromptTemplate>,
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

    /// The name `metrics.calls[].outcome` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Unusable => "unusable",
            Self::Refused => "refused",
            Self::Rejected => "rejected",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
            Self::NotSent => "not_sent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CallOutcome;

    #[test]
    fn an_outcome_has_one_name_in_metrics_and_in_prometheus() {
        use CallOutcome::*;
        for outcome in [
            Answered,
            Unusable,
            Refused,
            Rejected,
            RateLimited,
            ServerError,
            Timeout,
            Unreachable,
            NotSent,
        ] {
            let serialized = serde_json::to_value(outcome).expect("serializes");
            assert_eq!(serialized, outcome.as_str(), "{outcome:?}");
        }
    }
}
