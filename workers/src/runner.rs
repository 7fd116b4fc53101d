//! One job's journey through a worker: claim → token → provider → commit.
//! Returns what to tell the broker; the caller acks only after this returns
//! `Ack`, i.e. after the job's next state is committed (invariant 3).

use std::time::{Duration, Instant};

use electrons_domain::{
    catalog::Catalog,
    input::TextInput,
    job::{Job, JobError, Modality},
    limiter::{LimiterError, Reservation, Scope},
    queue::{Disposition, JobMessage},
};
use tracing::Instrument;

use crate::{outcome, text, WorkerContext};

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
    run(context, message).instrument(span).await
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

    let Some(model) = catalog.models.get(&job.model) else {
        return fail_unrunnable(context, &job, "model_unavailable", "the model is no longer configured").await;
    };
    let Some(provider) = catalog.providers.get(&model.provider) else {
        return fail_unrunnable(
            context,
            &job,
            "provider_unavailable",
            "the provider is no longer configured",
        )
        .await;
    };
    let input = match job.modality {
        Modality::Text => match TextInput::parse(&job.input, catalog.text_limits(model)) {
            Ok(input) => input,
            Err(error) => return fail_unrunnable(context, &job, "invalid_input", &error.to_string()).await,
        },
        other => {
            return fail_unrunnable(
                context,
                &job,
                "unsupported_modality",
                &format!("{other} jobs are not supported yet"),
            )
            .await
        }
    };

    // Invariant 4: no call without a grant from every applicable limit. A long
    // wait goes back to the scheduler rather than holding this slot, so jobs of
    // other providers keep moving.
    let scope = Scope {
        provider: provider.id.clone(),
        model: model.id.clone(),
        project: job.project_id,
    };
    let (input_tokens, output_tokens) = text::estimated_tokens(model, &input);
    let reservation = Reservation {
        holder: job.id.0,
        priority: job.priority,
        input_tokens,
        output_tokens,
    };
    let waited = Instant::now();
    let grant = match tokio::time::timeout(
        2 * context.settings.worker.max_token_wait,
        context.limiter.acquire(&scope, reservation),
    )
    .await
    {
        Ok(Ok(grant)) => grant,
        Ok(Err(LimiterError::Busy { retry_in })) => {
            tracing::debug!(?retry_in, "provider limits saturated; deferring the job");
            return outcome::defer(context, &job, retry_in).await;
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "no grant from the rate limits; deferring the job");
            return outcome::defer(context, &job, Duration::from_secs(1)).await;
        }
        Err(_) => {
            tracing::debug!("provider busy; deferring the job");
            return outcome::defer(context, &job, context.settings.worker.max_token_wait).await;
        }
    };
    let token_wait = waited.elapsed();

    let called = Instant::now();
    let called_provider = text::generate(&context.http, provider, model, &input)
        .instrument(tracing::info_span!("provider_call", provider = %provider.id, model = %model.provider_model))
        .await;
    context.limiter.observe(&scope, called_provider.observation);
    let timing = outcome::Timing {
        claimed_at,
        token_wait,
        provider_time: called.elapsed(),
    };
    match called_provider.result {
        Ok(completion) => {
            // Usage the provider did not report stays reserved in full.
            if completion.input_tokens + completion.output_tokens > 0 {
                grant.settle(completion.input_tokens, completion.output_tokens);
            }
            outcome::succeed(context, &job, model, completion, timing).await
        }
        Err(error) => {
            match error {
                crate::ProviderError::Status { .. } => grant.settle_unanswered(),
                // A timeout or a broken connection may still have been served.
                _ => drop(grant),
            }
            if status_of(&error) == 429 {
                return rate_limited(context, &job, &scope, &error).await;
            }
            outcome::provider_failed(context, &job, error, timing).await
        }
    }
}

/// The provider said "too many requests": the whole fleet backs off until its
/// Retry-After, and the job waits for that without using up an attempt (a job
/// never fails because its provider is busy).
async fn rate_limited(context: &WorkerContext, job: &Job, scope: &Scope, error: &crate::ProviderError) -> Disposition {
    let after = error.retry_after().unwrap_or(RATE_LIMITED_PAUSE);
    let until = chrono::Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
    if let Err(e) = context.limiter.pause_until(scope, until).await {
        tracing::warn!(error = %e, "could not pause the provider's limits");
    }
    let jitter = Duration::from_millis(rand::random_range(0..1000));
    tracing::info!(retry_after = ?after, "provider rate-limited the call; the fleet pauses and the job waits");
    outcome::defer(context, job, after + jitter).await
}

fn status_of(error: &crate::ProviderError) -> u16 {
    match error {
        crate::ProviderError::Status { status, .. } => *status,
        _ => 0,
    }
}

async fn fail_unrunnable(context: &WorkerContext, job: &Job, code: &str, message: &str) -> Disposition {
    let error = JobError {
        code: code.into(),
        message: message.into(),
        provider_status: None,
        retryable: false,
    };
    outcome::fail(context, job, &error, serde_json::json!({})).await
}

/// The longest a provider call may take; a lease shorter than that would let
/// the scheduler hand a live job to a second worker.
fn lease_for(catalog: &Catalog) -> Duration {
    catalog
        .providers
        .values()
        .map(|p| p.timeout)
        .max()
        .unwrap_or(Duration::from_secs(120))
}
