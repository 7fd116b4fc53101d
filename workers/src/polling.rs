//! One poll of a long-running provider operation (a Shotstack render, a Veo
//! generation). The job holds no worker while the provider works: the scheduler
//! publishes a poll message when the job's `poll_at` comes, the worker that takes
//! it polls once under a short lease, then either schedules the next poll (a
//! little later each time), stores the result and succeeds, or fails the job
//! with the provider's reason. A worker that dies mid-poll leaves an expired
//! lease, and the scheduler has the operation polled again — never resubmitted.
//! A poll message for a job with a committed answer is another try at copying
//! its outputs (`copying::resume`).

use std::time::{Duration, Instant};

use electrons_domain::{
    db,
    job::{Job, JobError},
    limiter::{Reservation, Scope},
    operation::Operation,
    queue::{Disposition, JobMessage},
};
use tracing::Instrument;

use crate::{
    adapter::Progress,
    copying::{self, CopyTarget},
    limits::{acquire, pause_fleet},
    outcome,
    outcome::fail_unrunnable,
    produce,
    provider_call::CallOutcome,
    runnable::{lease_for, runnable},
    ProviderError, WorkerContext,
};

/// Unanswered polls in a row (timeouts, 5xx) after which the job fails.
const MAX_FAILED_POLLS: u32 = 10;

pub async fn poll(context: &WorkerContext, message: JobMessage) -> Disposition {
    let catalog = context.catalog.get().await;
    let settings = &context.settings;
    // Covers the poll; storing a result renews it file by file.
    let lease = lease_for(&catalog) + settings.worker.lease_margin;
    let job = match db::polls::claim_poll(&context.pool, message.job_id, message.attempt, message.poll_seq, lease).await
    {
        Ok(Some(job)) => job,
        Ok(None) => {
            tracing::debug!(
                poll_seq = message.poll_seq,
                "poll already taken, superseded, or the job finished; dropping the message"
            );
            return Disposition::Ack;
        }
        Err(error) => {
            tracing::error!(%error, "could not take the poll");
            return Disposition::Requeue;
        }
    };
    let claimed_at = Instant::now();
    if let Some(answer) = job.answer.clone().map(|a| a.0) {
        // The provider has answered: what it said is copied whatever became of
        // the model or its rules since; only the provider's key may be needed.
        let target = CopyTarget::new(
            catalog.providers.get(&job.provider),
            catalog.models.get(&job.model),
            &job,
        );
        return copying::resume(context, &job, target, answer, claimed_at).await;
    }
    let run = match runnable(context, &catalog, &job, true).await {
        Ok(run) => run,
        Err(disposition) => return disposition,
    };
    let Some(mut operation) = job.operation.clone().map(|op| op.0) else {
        return Disposition::Ack;
    };
    if operation.is_overdue() {
        let message = format!(
            "the provider had not finished operation {} by its deadline {} (DE_OPERATION_TIMEOUT_SECS); last status: {}",
            operation.id,
            operation.deadline.to_rfc3339(),
            operation.status.as_deref().unwrap_or("unknown"),
        );
        return fail_unrunnable(context, &job, "operation_timeout", &message).await;
    }

    // Status polls count against the provider's own limits, not the model's
    // generation limits (providers meter them apart).
    let scope = Scope {
        model: String::new(),
        ..run.scope.clone()
    };
    let reservation = Reservation {
        holder: job.id.0,
        priority: job.priority,
        input_tokens: 0,
        output_tokens: 0,
    };
    let waited = Instant::now();
    let grant = match acquire(context, &scope, reservation).await {
        Ok(grant) => grant,
        Err(retry_in) => return poll_later(context, &job, &operation, retry_in).await,
    };
    let token_wait = waited.elapsed();
    let called = Instant::now();
    let polled = produce::poll(&context.http, run.provider, run.model, &run.input, &operation.id)
        .instrument(tracing::info_span!("provider_poll", provider = %run.provider.id, operation = %operation.id))
        .await;
    drop(grant);
    operation.polls += 1;
    match polled {
        Ok(Progress::Pending { status }) => {
            tracing::debug!(status = status.as_deref().unwrap_or("?"), "operation still running");
            operation.status = status;
            operation.failed_polls = 0;
            let next = operation.next_poll_in(settings.worker.operation_poll, settings.worker.operation_poll_max);
            poll_later(context, &job, &operation, next).await
        }
        Ok(Progress::Done(outputs)) => {
            tracing::info!(
                polls = operation.polls,
                "operation finished; committing its result, then storing its outputs"
            );
            let timing = finished_timing(claimed_at, token_wait, &operation);
            // The submit was the billed call (recorded then); polls are not calls.
            let target = CopyTarget::new(Some(run.provider), Some(run.model), &job);
            copying::commit_and_copy(context, &job, target, *outputs, timing, None).await
        }
        Ok(Progress::Written(completion)) => {
            tracing::info!(polls = operation.polls, "operation finished with text; committing it");
            let timing = finished_timing(claimed_at, token_wait, &operation);
            // The submit was the billed call (recorded then); polls are not calls.
            outcome::succeed_text(context, &job, run.model, completion, timing, None).await
        }
        Ok(Progress::Failed { reason }) => {
            tracing::warn!(%reason, "the provider failed the operation");
            let message = format!("{} failed the operation: {reason}", run.provider.id);
            fail_unrunnable(context, &job, "provider_operation_failed", &message).await
        }
        Err(error) if error.outcome() == CallOutcome::RateLimited => {
            let after = pause_fleet(context, &scope, &error).await;
            poll_later(context, &job, &operation, after).await
        }
        // A poll is free: asking again is fine whenever the answer may change.
        Err(error) if poll_again(&error) && operation.failed_polls + 1 < MAX_FAILED_POLLS => {
            operation.failed_polls += 1;
            tracing::warn!(%error, failed_polls = operation.failed_polls, took = ?called.elapsed(), "poll failed; polling again later");
            let next = operation.next_poll_in(settings.worker.operation_poll, settings.worker.operation_poll_max);
            poll_later(context, &job, &operation, next).await
        }
        Err(error) => {
            tracing::warn!(%error, "polling the operation failed; the job fails");
            let job_error = JobError {
                retryable: false,
                ..error.to_job_error(run.model)
            };
            outcome::fail(context, &job, &job_error, serde_json::json!({}), None).await
        }
    }
}

/// A finished operation's timing: the provider's time is all of it since
/// the submit.
fn finished_timing(claimed_at: Instant, token_wait: Duration, operation: &Operation) -> outcome::Timing {
    outcome::Timing {
        claimed_at,
        token_wait,
        provider_time: (chrono::Utc::now() - operation.submitted_at)
            .to_std()
            .unwrap_or_default(),
        store_time: None,
    }
}

/// Whether a failed poll is worth repeating: anything but a rejection.
fn poll_again(error: &ProviderError) -> bool {
    matches!(
        error.outcome(),
        CallOutcome::Timeout | CallOutcome::Unreachable | CallOutcome::ServerError | CallOutcome::Unusable
    )
}

async fn poll_later(context: &WorkerContext, job: &Job, operation: &Operation, delay: Duration) -> Disposition {
    match db::operations::poll_later(&context.pool, job.fence(), operation, delay).await {
        Ok(_) => Disposition::Ack,
        Err(error) => outcome::committed_nothing(error),
    }
}
