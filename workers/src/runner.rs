//! One job's journey through a worker: claim → token → provider → (outputs into
//! storage) → commit. Returns what to tell the broker; the caller acks only after
//! this returns `Ack`, i.e. after the job's next state is committed (invariant 3).
//! A poll message takes the other road, `polling`; `handle` (lib.rs) picks.

use std::time::{Duration, Instant};

use electrons_domain::{
    db,
    input::JobInput,
    job::Job,
    limiter::{Grant, Reservation, Scope},
    operation::Operation,
    prometheus,
    queue::{Disposition, JobMessage},
};
use serde_json::Value;
use tracing::Instrument;

use crate::{
    adapter::{Produced, TextCompletion},
    budget, calls,
    copying::{self, CopyTarget},
    deltas::DeltaSink,
    fallbacks,
    limits::{acquire, pause_fleet},
    outcome, produce,
    provider_call::CallOutcome,
    runnable::{lease_for, runnable, Runnable},
    structured, text, ProviderError, WorkerContext,
};

pub(crate) async fn run(context: &WorkerContext, message: JobMessage) -> Disposition {
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
    prometheus::jobs::claimed(job.modality, job.run_at);
    context.announcer.job_changed(&job);
    // A model added a moment ago may be known to the producer that took the
    // job before this process's catalog has heard of it.
    let catalog = match catalog.models.contains_key(&job.model) {
        true => catalog,
        false => {
            if let Err(error) = context.catalog.reload(&context.pool).await {
                tracing::warn!(%error, "could not reload the catalog for a model it does not know");
            }
            context.catalog.get().await
        }
    };

    let run = match runnable(context, &catalog, &job, false).await {
        Ok(run) => run,
        Err(disposition) => return disposition,
    };
    if let Err(disposition) = budget::cover_next_call(context, &job, &run).await {
        return disposition;
    }

    let made = match call_provider(context, &job, &run, &run.input, false).await {
        Ok(made) => made,
        Err(disposition) => return disposition,
    };
    let timing = outcome::Timing {
        claimed_at,
        token_wait: made.token_wait,
        provider_time: made.provider_time,
        store_time: None,
    };
    let (grant, call) = (made.grant, made.record);
    let produced = match made.result {
        Ok(produced) => produced,
        Err(error) => return call_failed(context, &job, &run, grant, error, timing, call).await,
    };
    match produced {
        Produced::Text(completion) => {
            settle(grant, &completion);
            match &run.input {
                JobInput::Text(input) if input.json_format().is_some() => {
                    let first = structured::Answered {
                        completion,
                        timing,
                        call,
                    };
                    Box::pin(structured::until_valid(context, &job, &run, input, first)).await
                }
                _ => outcome::succeed_text(context, &job, run.model, completion, timing, call).await,
            }
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

/// One call made under a grant from every limit, and what came of it.
pub(crate) struct MadeCall {
    pub result: Result<Produced, ProviderError>,
    pub grant: Grant,
    /// The call's record for the job's `metrics.calls`.
    pub record: Option<Value>,
    pub token_wait: Duration,
    pub provider_time: Duration,
}

/// Calls the provider once with `input` (the job's, or the job's asked
/// again), under a grant from every limit; `Err` is the job's disposition when
/// the wait for a grant sent it back to the queue. A streaming job's text goes
/// to its stream as it comes; `starts_again` first marks that the text begins anew.
pub(crate) async fn call_provider(
    context: &WorkerContext,
    job: &Job,
    run: &Runnable<'_>,
    input: &JobInput,
    starts_again: bool,
) -> Result<MadeCall, Disposition> {
    // Invariant 4: no call without a grant from every applicable limit. A long
    // wait goes back to the scheduler rather than holding this slot, so jobs of
    // other providers keep moving.
    let (input_tokens, output_tokens) = match input {
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
        Err(retry_in) => {
            if let Some(reason) = fallbacks::limits_exhausted(context, job, retry_in) {
                return Err(fallbacks::move_on(context, job, run, reason, None).await);
            }
            prometheus::provider::deferred(&run.scope.provider);
            return Err(outcome::defer(context, job, retry_in, None).await);
        }
    };
    let token_wait = waited.elapsed();
    prometheus::provider::granted(&run.scope.provider, token_wait);

    let called = Instant::now();
    let sink = match input {
        JobInput::Text(text) if text.streams() => {
            let sink = DeltaSink::start(context.pool.clone(), job.id.0, job.attempt);
            if starts_again {
                sink.start_again();
            }
            Some(sink)
        }
        _ => None,
    };
    let called_provider = produce::call(&context.http, run.provider, run.model, input, sink.as_ref())
        .instrument(
            tracing::info_span!("provider_call", provider = %run.provider.id, model = %run.model.provider_model),
        )
        .await;
    if let Some(sink) = sink {
        // The last piece is written before the job's end is committed.
        sink.finish().await;
    }
    context.limiter.observe(&run.scope, called_provider.observation);
    let provider_time = called.elapsed();
    let record = calls::record(job, run, input, &called_provider.result, provider_time);
    Ok(MadeCall {
        result: called_provider.result,
        grant,
        record,
        token_wait,
        provider_time,
    })
}

/// A call that failed: its grant settled, the job retried later or failed.
pub(crate) async fn call_failed(
    context: &WorkerContext,
    job: &Job,
    run: &Runnable<'_>,
    grant: Grant,
    error: ProviderError,
    timing: outcome::Timing,
    call: Option<Value>,
) -> Disposition {
    match error {
        ProviderError::Status { .. } => grant.settle_unanswered(),
        // A timeout or a broken connection may still have been served.
        _ => drop(grant),
    }
    if let Some(reason) = fallbacks::exhausted_by(context, job, &error) {
        if error.outcome() == CallOutcome::RateLimited {
            // The others still wait for it.
            pause_fleet(context, &run.scope, &error).await;
        }
        return fallbacks::move_on(context, job, run, reason, call).await;
    }
    if error.outcome() == CallOutcome::RateLimited {
        return rate_limited(context, job, &run.scope, &error, call).await;
    }
    outcome::provider_failed(context, job, run.model, error, timing, call).await
}

/// What a text call used, taken from its grant's reservation. Usage the
/// provider did not report stays reserved in full.
pub(crate) fn settle(grant: Grant, completion: &TextCompletion) {
    if completion.input_tokens + completion.output_tokens > 0 {
        grant.settle(completion.input_tokens, completion.output_tokens);
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
