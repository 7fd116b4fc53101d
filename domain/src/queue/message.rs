//! What travels through RabbitMQ: a pointer to the job, never the job itself. The
//! row in PostgreSQL is the truth; the attempt lets a worker recognise a stale copy.

use serde::{Deserialize, Serialize};

use crate::{ids::JobId, job::WebhookEvent};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: JobId,
    /// The job's attempt count when this message was published.
    pub attempt: i32,
    /// Correlates the worker's logs with the request that created the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// "Poll the provider operation this job waits on", rather than "run it".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub poll: bool,
    /// Which poll message of the job this is; only the latest may poll.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub poll_seq: i32,
    /// The W3C trace context of the request that made the job, when traces
    /// are exported: travels as the message's `traceparent` header, not in the body.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl JobMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// "This job's webhook event is due": the delivery row is the truth, as for jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub job_id: JobId,
    pub event: WebhookEvent,
    /// The delivery's claim count when this message was published.
    pub claims: i32,
}

impl DeliveryMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
