//! Moving a job to its next fallback model when its model's provider is
//! exhausted: a 429 whose Retry-After (or limits with no room) would keep it
//! waiting longer than `DE_FALLBACK_AFTER_MS`, a second server error in a row,
//! or a refusal for quota or credit. The job is queued again at once on the
//! next model without using up an attempt, and `metrics.fallbacks` records
//! the move (from, to, why); the job's `model` is the one that served it.
//! A job without fallbacks waits, retries or fails as before.

use std::time::Duration;

use electrons_domain::{db, job::Job, queue::Disposition};
use serde_json::{json, Value};

use crate::{
    outcome::{committed_nothing, record_lost_call},
    provider_call::CallOutcome,
    runnable::Runnable,
    ProviderError, WorkerContext,
};

/// Why a failed call means the provider is exhausted for this job, if it does.
pub(crate) fn exhausted_by(context: &WorkerContext, job: &Job, error: &ProviderError) -> Option<String> {
    if job.fallbacks().is_empty() {
        return None;
    }
    if let Some(quota) = quota_refusal(error) {
        return Some(quota);
    }
    match error.outcome() {
        CallOutcome::RateLimited => {
            let wait = error.retry_after().unwrap_or_default();
            (wait > context.settings.jobs.fallback_after)
                .then(|| format!("the provider answered 429 and asked to wait {}", seconds(wait)))
        }
        CallOutcome::ServerError | CallOutcome::Timeout | CallOutcome::Unreachable if failed_on_server(job) => {
            Some(format!("a second server-side failure in a row: {error}"))
        }
        _ => None,
    }
}

/// Why waiting `retry_in` for the limits' room means moving on, if it does.
pub(crate) fn limits_exhausted(context: &WorkerContext, job: &Job, retry_in: Duration) -> Option<String> {
    (!job.fallbacks().is_empty() && retry_in > context.settings.jobs.fallback_after).then(|| {
        format!(
            "the fleet's limits for the provider have no room for {}",
            seconds(retry_in)
        )
    })
}

/// Moves the job to its next fallback; the disposition to give the broker.
pub(crate) async fn move_on(
    context: &WorkerContext,
    job: &Job,
    run: &Runnable<'_>,
    reason: String,
    call: Option<Value>,
) -> Disposition {
    let Some(next) = job.fallbacks().first() else {
        return Disposition::Ack;
    };
    let catalog = context.catalog.get().await;
    // A model removed since submit still takes the move; its run then fails
    // `model_unavailable`, saying so.
    let provider = catalog
        .models
        .get(next)
        .map_or_else(String::new, |model| model.provider.clone());
    let moved = json!({
        "from": job.model,
        "to": next,
        "provider": run.provider.id,
        "reason": reason,
        "at": chrono::Utc::now(),
    });
    match db::jobs::move_to_fallback(&context.pool, job.fence(), next, &provider, &moved, call.as_ref()).await {
        Ok(true) => {
            tracing::warn!(from = %job.model, to = %next, %reason, "the model's provider is exhausted; the job moves to its fallback");
            Disposition::Ack
        }
        Ok(false) => {
            record_lost_call(context, job, call.as_ref()).await;
            Disposition::Ack
        }
        Err(error) => committed_nothing(error),
    }
}

/// A refusal that says the account is out of quota or credit: asking this
/// provider again will not go differently soon.
fn quota_refusal(error: &ProviderError) -> Option<String> {
    let ProviderError::Status { status, message, .. } = error else {
        return None;
    };
    // The providers' own words for an account out of money, not any mention
    // of quotas: Azure's and Google's per-minute 429s speak of quota too.
    let lower = message.to_lowercase();
    let quota = *status == 402
        || (*status == 429 && (lower.contains("exceeded your current quota") || lower.contains("insufficient_quota")))
        || (matches!(status, 400 | 403) && lower.contains("credit balance"))
        || lower.starts_with("billing_error");
    quota.then(|| format!("the provider refused for quota or credit ({status}): {message}"))
}

/// Whether the job's last failure (on this model: a move clears it) was the
/// provider's side: a 5xx, no answer in time, or no answer.
fn failed_on_server(job: &Job) -> bool {
    let Some(error) = &job.error else {
        return false;
    };
    let error = &error.0;
    matches!(
        error["code"].as_str(),
        Some("provider_timeout" | "provider_unreachable")
    ) || error["provider_status"].as_u64().is_some_and(|s| s >= 500)
}

fn seconds(wait: Duration) -> String {
    format!("{} s", wait.as_secs_f64().ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, message: &str) -> ProviderError {
        ProviderError::Status {
            status,
            message: message.into(),
            retry_after: None,
            request_id: None,
        }
    }

    #[test]
    fn quota_and_credit_refusals_are_told_from_rate_limits() {
        assert!(quota_refusal(&status(
            429,
            "You exceeded your current quota, please check your plan and billing details."
        ))
        .is_some());
        assert!(quota_refusal(&status(
            400,
            "invalid_request_error: Your credit balance is too low to access the Anthropic API."
        ))
        .is_some());
        assert!(quota_refusal(&status(402, "Payment required")).is_some());
        assert!(quota_refusal(&status(429, "Rate limit reached for requests")).is_none());
        assert!(quota_refusal(&status(
            429,
            "Requests have exceeded the token rate limit; see https://aka.ms/oai/quotaincrease"
        ))
        .is_none());
        assert!(quota_refusal(&status(429, "Resource has been exhausted (e.g. check quota).")).is_none());
        assert!(quota_refusal(&status(402, "billing_error: Your account has no credit")).is_some());
        assert!(quota_refusal(&status(500, "quota service down")).is_none());
        assert!(quota_refusal(&ProviderError::Timeout(Duration::from_secs(1))).is_none());
    }
}
