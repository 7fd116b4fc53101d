//! One job's journey through a worker: claim → token → provider → (outputs into
//! storage) → commit. Returns what to tell the broker; the caller acks only after
//! this returns `Ack`, i.e. after the job's next state is committed (invariant 3).
//! A poll message takes the other road, `polling`.

use std::time::{Duration, Instant};

use electrons_domain::{
    catalog::{Catalog, ModelConfig, ProviderConfig},
    db,
    input::JobInput,
    job::{Job, JobError},
    limiter::{Grant, LimiterError, Reservation, Scope},
    operation::Operation,
    queue::{Disposition, JobMessage},
};
use tracing::Instrument;

use serde_json::Value;

use crate::{
    calls,
    copying::{self, CopyTarget},
    outcome, polling,
    produce::{self, Produced},
    provider_call::CallOutcome,
    text, ProviderError, WorkerContext,
};

/// How long the fleet pauses on a 429 that did not say for how long.
const RATE_LIMITED_PAUSE: Duration = Duration::from_secs(1);

pub async fn handle(context: &WorkerContext, payload: &[u8]) -> Disposition {
    let message = match JobMessage::from_bytes(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "unreadable job message; dead-lettering it");
            return Disposition::DeadLetter;
        }
    };
    let span = tracing::info_span!("job", job_id = %message.job_id, attempt = message.attempt, trace_id = tracing::field::Empty);
    // Relayed messages have no request to point back to.
    if let Some(trace_id) = &message.trace_id {
        span.record("trace_id", trace_id.as_str());
    }
    if message.poll {
        // Boxed, as the storage path below: a future is as large as its largest
        // await, and every job in flight holds one; the rare, heavy paths
        // (polls, storing outputs) would otherwise enlarge them all.
        return Box::pin(polling::poll(context, message)).instrument(span).await;
    }
    run(context, message).instrument(span).await
}

/// What a claimed job runs with, once its model, provider and input check out.
pub(crate) struct Runnable<'a> {
    pub model: &'a ModelConfig,
    pub provider: &'a ProviderConfig,
    pub input: JobInput,
    pub scope: Scope,
}

/// The job's model, provider and input, or the job failed for good (a model
/// removed since submit, an input the model no longer takes). `answered`: the
/// provider already took the job (an operation being polled), so its input is
/// read as it was accepted, not refused after the fact by today's rules.
pub(crate) async fn runnable<'a>(
    context: &WorkerContext,
    catalog: &'a Catalog,
    job: &Job,
    answered: bool,
) -> Result<Runnable<'a>, Disposition> {
    let Some(model) = catalog.models.get(&job.model) else {
        return Err(fail_unrunnable(context, job, "model_unavailable", "the model is no longer configured").await);
    };
    let Some(provider) = catalog.providers.get(&model.provider) else {
        let message = "the provider is no longer configured";
        return Err(fail_unrunnable(context, job, "provider_unavailable", message).await);
    };
    let Some(rules) = catalog.input_rules(model) else {
        let message = "the model's provider model cannot be called";
        return Err(fail_unrunnable(context, job, "model_unavailable", message).await);
    };
    let read = if answered {
        JobInput::read_accepted
    } else {
        JobInput::parse
    };
    let input = match read(&rules, &job.input) {
        Ok(input) => input,
        Err(error) => return Err(fail_unrunnable(context, job, "invalid_input", &error.to_string()).await),
    };
    Ok(Runnable {
        scope: Scope {
            provider: provider.id.clone(),
            model: model.id.clone(),
            project: job.project_id,
        },
        model,
        provider,
        input,
    })
}

async fn run(context: &WorkerContext, message: JobMessage) -> Disposition {
    let catalog = context.catalog.get().await;
    let lease = lease_for(&catalog) + context.settings.worker.lease_margin;
    let job = match context.batches.claim(message.job_id, message.attempt, lease).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            tracing::debug!("duplicate, stale or canceled message; dropping it");
            return Disposition::Ack;
        }
        Err(error) => {
            tracing::error!(%error, "could not claim the job");
            return Disposition::Requeue;
        }
    };
    let claimed_at = Instant::now();
    tracing::debug!(attempt = job.attempt, "job claimed");
    context.announcer.job_changed(&job);

    let run = match runnable(context, &catalog, &job, false).await {
        Ok(run) => run,
        Err(disposition) => return disposition,
    };

    // Invariant 4: no call without a grant from every applicable limit. A long
    // wait goes back to the scheduler rather than holding this slot, so jobs of
    // other providers keep moving.
    let (input_tokens, output_tokens) = match &run.input {
        JobInput::Text(input) => text::estimated_tokens(run.model, input),
        _ => (0, 0),
    };
    let reservation = Reservation {
        holder: job.id.0,
        priority: job.priority,
        input_tokens,
        output_tokens,
    };
    let waited = Instant::now();
    let grant = match acquire(context, &run.scope, reservation).await {
        Ok(grant) => grant,
        Err(retry_in) => return outcome::defer(context, &job, retry_in, None).await,
    };
    let token_wait = waited.elapsed();

    let called = Instant::now();
    let called_provider = produce::call(&context.http, run.provider, run.model, &run.input)
        .instrument(
            tracing::info_span!("provider_call", provider = %run.provider.id, model = %run.model.provider_model),
        )
        .await;
    context.limiter.observe(&run.scope, called_provider.observation);
    let timing = outcome::Timing {
        claimed_at,
        token_wait,
        provider_time: called.elapsed(),
        store_time: None,
    };
    let call = calls::record(&job, run.model, &called_provider.result, timing.provider_time);
    let produced = match called_provider.result {
        Ok(produced) => produced,
        Err(error) => {
            match error {
                ProviderError::Status { .. } => grant.settle_unanswered(),
                // A timeout or a broken connection may still have been served.
                _ => drop(grant),
            }
            if error.outcome() == CallOutcome::RateLimited {
                return rate_limited(context, &job, &run.scope, &error, call).await;
            }
            return outcome::provider_failed(context, &job, run.model, error, timing, call).await;
        }
    };
    match produced {
        Produced::Text(completion) => {
            // Usage the provider did not report stays reserved in full.
            if completion.input_tokens + completion.output_tokens > 0 {
                grant.settle(completion.input_tokens, completion.output_tokens);
            }
            outcome::succeed_text(context, &job, run.model, completion, timing, call).await
        }
        Produced::Files(outputs) => {
            // An answer still streaming in (speech) is a call in progress: it
            // keeps its concurrency slot until it is stored.
            let held = outputs.stream.is_some().then_some(grant);
            // Boxed: a future is as large as its largest await, and every job in
            // flight holds one; the rare, heavy copy would otherwise enlarge them all.
            let target = CopyTarget::new(Some(run.provider), Some(run.model), &job);
            let disposition = Box::pin(copying::commit_and_copy(context, &job, target, outputs, timing, call)).await;
            drop(held);
            disposition
        }
        Produced::Operation { id } => {
            drop(grant);
            let operation = Operation::new(id, context.settings.worker.operation_timeout);
            tracing::info!(operation = %operation.id, "the provider accepted the work; the job is polled from now on");
            let first_poll = context.settings.worker.operation_poll;
            let wait = db::operations::wait_for(
                &context.pool,
                job.id,
                job.attempt,
                &operation,
                first_poll,
                call.as_ref(),
            );
            match wait.await {
                Ok(_) => Disposition::Ack,
                Err(error) => outcome::committed_nothing(error),
            }
        }
    }
}

/// A grant from every limit on `scope`, or how long to wait before asking again.
pub(crate) async fn acquire(
    context: &WorkerContext,
    scope: &Scope,
    reservation: Reservation,
) -> Result<Grant, Duration> {
    match tokio::time::timeout(
        2 * context.settings.worker.max_token_wait,
        context.limiter.acquire(scope, reservation),
    )
    .await
    {
        Ok(Ok(grant)) => Ok(grant),
        Ok(Err(LimiterError::Busy { retry_in })) => {
            tracing::debug!(?retry_in, "provider limits saturated; deferring");
            Err(retry_in)
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "no grant from the rate limits; deferring");
            Err(Duration::from_secs(1))
        }
        Err(_) => {
            tracing::debug!("provider busy; deferring");
            Err(context.settings.worker.max_token_wait)
        }
    }
}

/// The provider said "too many requests": the whole fleet backs off until its
/// Retry-After, and the job waits for that without using up an attempt (a job
/// never fails because its provider is busy).
async fn rate_limited(
    context: &WorkerContext,
    job: &Job,
    scope: &Scope,
    error: &ProviderError,
    call: Option<Value>,
) -> Disposition {
    let after = pause_fleet(context, scope, error).await;
    let jitter = Duration::from_millis(rand::random_range(0..1000));
    outcome::defer(context, job, after + jitter, call.as_ref()).await
}

/// Pauses every limit of `scope` until the provider's Retry-After; returns it.
pub(crate) async fn pause_fleet(context: &WorkerContext, scope: &Scope, error: &ProviderError) -> Duration {
    let after = error.retry_after().unwrap_or(RATE_LIMITED_PAUSE);
    let until = chrono::Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
    if let Err(e) = context.limiter.pause_until(scope, until).await {
        tracing::warn!(error = %e, "could not pause the provider's limits");
    }
    tracing::info!(retry_after = ?after, "provider rate-limited the call; the fleet pauses and the job waits");
    after
}

/// Fails the job for good with `code`: nothing about it would go differently
/// on another attempt.
pub(crate) async fn fail_unrunnable(context: &WorkerContext, job: &Job, code: &str, message: &str) -> Disposition {
    let error = JobError::final_error(code, message);
    outcome::fail(context, job, &error, serde_json::json!({}), None).await
}

/// The longest a provider call may take; a lease shorter than that would let
/// the scheduler hand a live job to a second worker.
pub(crate) fn lease_for(catalog: &Catalog) -> Duration {
    catalog
        .providers
        .values()
        .map(|p| p.timeout)
        .max()
        .unwrap_or(Duration::from_secs(120))
}
