//! How a run's result becomes the job's next state: succeeded, queued again with
//! a backoff, or failed. Each is one conditional UPDATE on (id, attempt), so a
//! run that lost its job (canceled, or rescued after a lease expiry) changes
//! nothing.

use std::time::{Duration, Instant};

use electrons_domain::{
    answer::Answer,
    catalog::ModelConfig,
    db,
    job::{Job, JobError, JobStatus},
    prometheus,
    usage::Usage,
};
use electrons_domain::{queue::Disposition, storage::output_files};
use serde_json::{json, Value};

use crate::{adapter::TextCompletion, outputs::Stored, ProviderError, WorkerContext};

pub struct Timing {
    pub claimed_at: Instant,
    pub token_wait: Duration,
    pub provider_time: Duration,
    /// Copying outputs into storage, when there were any.
    pub store_time: Option<Duration>,
}

impl Timing {
    pub fn metrics(&self, job: &Job) -> Value {
        let queue_ms = job
            .started_at
            .map(|s| db::jobs::millis_between(job.created_at, s))
            .unwrap_or(0);
        let mut metrics = json!({
            "queue_ms": queue_ms,
            "run_ms": self.claimed_at.elapsed().as_millis() as u64,
            "token_wait_ms": self.token_wait.as_millis() as u64,
            "provider_ms": self.provider_time.as_millis() as u64,
        });
        if let Some(store_time) = self.store_time {
            metrics["store_ms"] = json!(store_time.as_millis() as u64);
        }
        metrics
    }
}

pub async fn succeed_text(
    context: &WorkerContext,
    job: &Job,
    model: &ModelConfig,
    completion: TextCompletion,
    timing: Timing,
    call: Option<Value>,
) -> Disposition {
    let mut metrics = timing.metrics(job);
    metrics["input_tokens"] = json!(completion.input_tokens);
    metrics["output_tokens"] = json!(completion.output_tokens);
    // Kept from before `metrics.cost_usd` (what every billed call came to).
    let usage = Usage::tokens(completion.input_tokens, completion.output_tokens);
    metrics["estimated_cost_usd"] = json!(model.pricing.cost_usd(&usage));
    metrics["finish_reason"] = json!(completion.finish_reason);
    metrics["provider_request_id"] = json!(completion.provider_request_id);
    let run = db::jobs::Success {
        run: job.fence(),
        // An answer that calls tools says so beside its text.
        output: match completion.tool_calls.is_empty() {
            true => json!(completion.text),
            false => json!({
                "text": (!completion.text.is_empty()).then_some(&completion.text),
                "tool_calls": completion.tool_calls,
            }),
        },
        metrics,
        keep_files_for: None,
        call,
    };
    succeed(context, job, run, &timing).await
}

/// Commits a job whose outputs are stored (the answer they came from goes with
/// it; its call was recorded with the answer, unless there was nothing to copy
/// and `call` comes here). If the commit finds the job gone (canceled
/// meanwhile), its files are deleted again.
pub async fn succeed_files(
    context: &WorkerContext,
    job: &Job,
    stored: &Stored,
    answer: Answer,
    timing: Timing,
    call: Option<Value>,
) -> Disposition {
    let mut metrics = timing.metrics(job);
    metrics["files"] = json!(stored.files.len());
    metrics["output_bytes"] = json!(stored.bytes());
    metrics["provider_request_id"] = json!(answer.provider_request_id);
    if !stored.files.is_empty() {
        metrics["copy_attempts"] = json!(answer.copies);
    }
    let run = db::jobs::Success {
        run: job.fence(),
        output: stored.output(answer.details),
        metrics,
        keep_files_for: context.settings.storage.retention.filter(|_| !stored.files.is_empty()),
        call,
    };
    succeed(context, job, run, &timing).await
}

async fn succeed(context: &WorkerContext, job: &Job, run: db::jobs::Success, timing: &Timing) -> Disposition {
    let files = run
        .output
        .get("files")
        .is_some()
        .then(|| output_files::live_keys(&run.output));
    match context.batches.succeed(run).await {
        Ok(true) => {
            tracing::info!(provider_ms = timing.provider_time.as_millis() as u64, "job succeeded");
            prometheus::jobs::ran(&job.model, timing.claimed_at.elapsed());
            finished(context, job, JobStatus::Succeeded);
            Disposition::Ack
        }
        Ok(false) => {
            tracing::warn!("job was canceled or taken over while running; result discarded");
            for key in files.unwrap_or_default() {
                if let Err(error) = context.store.delete(&key).await {
                    tracing::warn!(%error, %key, "could not delete a discarded output");
                }
            }
            Disposition::Ack
        }
        Err(error) => committed_nothing(error),
    }
}

/// The provider call failed: retried later if that may go differently
/// (`ProviderError::retryable`), else the job fails saying why.
pub async fn provider_failed(
    context: &WorkerContext,
    job: &Job,
    model: &ModelConfig,
    error: ProviderError,
    timing: Timing,
    call: Option<Value>,
) -> Disposition {
    let job_error = error.to_job_error(model);
    let metrics = timing.metrics(job);
    prometheus::jobs::ran(&job.model, timing.claimed_at.elapsed());
    let delay = job_error
        .retryable
        .then(|| context.retry.next_delay(job.attempts_used(), error.retry_after()))
        .flatten();
    match delay {
        Some(delay) => {
            tracing::warn!(%error, ?delay, "provider call failed; retrying later");
            let retry = db::jobs::retry_later(&context.pool, job.fence(), &job_error, delay, &metrics, call.as_ref());
            match retry.await {
                Ok(true) => Disposition::Ack,
                Ok(false) => {
                    record_lost_call(context, job, call.as_ref()).await;
                    Disposition::Ack
                }
                Err(e) => committed_nothing(e),
            }
        }
        None => {
            tracing::warn!(%error, "job failed");
            fail(context, job, &job_error, metrics, call.as_ref()).await
        }
    }
}

pub async fn fail(
    context: &WorkerContext,
    job: &Job,
    error: &JobError,
    metrics: Value,
    call: Option<&Value>,
) -> Disposition {
    match db::jobs::fail(&context.pool, job.fence(), error, &metrics, call).await {
        Ok(true) => {
            finished(context, job, JobStatus::Failed);
            Disposition::Ack
        }
        Ok(false) => {
            record_lost_call(context, job, call).await;
            Disposition::Ack
        }
        Err(e) => committed_nothing(e),
    }
}

/// The run could not commit its outcome (the job was canceled or taken over
/// meanwhile), but the call it made still counts in the job's metrics.
pub async fn record_lost_call(context: &WorkerContext, job: &Job, call: Option<&Value>) {
    let Some(call) = call else { return };
    if let Err(error) = db::jobs::record_calls(&context.pool, &[(job.id, call)]).await {
        tracing::warn!(%error, "could not count the provider call of a run that lost its job");
    }
}

pub async fn defer(context: &WorkerContext, job: &Job, delay: Duration, call: Option<&Value>) -> Disposition {
    match db::jobs::defer(&context.pool, job.id, job.attempt, delay, call).await {
        Ok(true) => Disposition::Ack,
        Ok(false) => {
            record_lost_call(context, job, call).await;
            Disposition::Ack
        }
        Err(e) => committed_nothing(e),
    }
}

/// The job reached `status`: counted, and its `completed` webhook, if it has
/// one, goes out now rather than at the scheduler's next relay.
fn finished(context: &WorkerContext, job: &Job, status: JobStatus) {
    prometheus::jobs::finished(&job.model, status, job.created_at);
    if job.webhook.is_some() {
        let mut finished = job.clone();
        finished.status = status;
        context.announcer.job_changed(&finished);
    }
}

pub fn committed_nothing(error: impl std::fmt::Display) -> Disposition {
    // Not acking keeps the message; the lease keeps the job rescuable either way.
    tracing::error!(%error, "could not commit the job's outcome");
    Disposition::Requeue
}

/// Fails the job for good with `code`: nothing about it would go differently
/// on another attempt.
pub(crate) async fn fail_unrunnable(context: &WorkerContext, job: &Job, code: &str, message: &str) -> Disposition {
    let error = JobError::final_error(code, message);
    fail(context, job, &error, json!({}), None).await
}
