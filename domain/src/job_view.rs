//! The job object as clients see it (DESIGN.md, "The job API").

use std::time::Duration;

use crate::{
    ids::JobId,
    job::{Job, JobStatus, Modality, Priority},
    storage::{output_files, ObjectStore},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobView {
    #[schema(value_type = String, example = "job_0199a4c2e9b37d21a0f6c1d2e3f40516")]
    pub id: JobId,
    pub model: String,
    #[schema(value_type = Modality)]
    pub modality: &'static str,
    pub provider: String,
    #[schema(value_type = JobStatus)]
    pub status: &'static str,
    #[schema(value_type = Priority)]
    pub priority: &'static str,
    /// The input as submitted.
    pub input: Value,
    /// Text, or `{"files": [{url, content_type, bytes}]}`; null until it succeeds.
    pub output: Value,
    /// `{code, message, retryable, …}` once it failed; null otherwise.
    pub error: Value,
    pub attempts: i32,
    /// Queue, run and provider time, token counts and estimated cost.
    #[schema(value_type = Object)]
    pub metrics: Value,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub webhook: Option<String>,
    pub webhook_events_filter: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When a queued job will next run, if that is in the future (a retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_at: Option<DateTime<Utc>>,
    /// The provider operation a running job waits on (a render, a video generation).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub operation: Option<Value>,
    /// The models it still moves to, in order, if its model's provider is
    /// exhausted (`metrics.fallbacks` records each move: from, to, why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    pub urls: Urls,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Urls {
    pub get: String,
    pub cancel: String,
}

impl JobView {
    /// The view with fresh links to the job's files (see `storage::output_files`).
    pub async fn with_links(mut self, store: &ObjectStore, ttl: Duration) -> Self {
        if self.output.get("files").is_some() {
            self.output = output_files::with_links(std::mem::take(&mut self.output), store, ttl).await;
        }
        self
    }

    pub fn new(job: Job, public_url: &str) -> Self {
        let base = format!("{}/v1/jobs/{}", public_url.trim_end_matches('/'), job.id);
        let run_at = (job.status == JobStatus::Queued && job.run_at > Utc::now()).then_some(job.run_at);
        let attempts = job.attempts_used();
        let operation = job.operation.filter(|_| job.status == JobStatus::Running).map(|op| {
            serde_json::json!({
                "id": op.0.id,
                "status": op.0.status,
                "polls": op.0.polls,
                "submitted_at": op.0.submitted_at,
            })
        });
        Self {
            id: job.id,
            model: job.model,
            modality: job.modality.as_str(),
            provider: job.provider,
            status: job.status.as_str(),
            priority: job.priority.as_str(),
            input: job.input,
            output: job.output.map(|o| o.0).unwrap_or(Value::Null),
            error: job.error.map(|e| e.0).unwrap_or(Value::Null),
            attempts,
            metrics: job.metrics,
            metadata: job.metadata,
            webhook: job.webhook,
            webhook_events_filter: job.webhook_events_filter,
            created_at: job.created_at,
            started_at: job.started_at,
            completed_at: job.completed_at,
            run_at,
            operation,
            fallbacks: job.fallbacks.unwrap_or_default(),
            urls: Urls {
                cancel: format!("{base}/cancel"),
                get: base,
            },
        }
    }
}
