//! The fleet-wide rate limits as a run meets them: taking a grant (or learning
//! how long to wait for one) and pausing a provider after its 429.

use std::time::Duration;

use electrons_domain::limiter::{Grant, LimiterError, Reservation, Scope};

use crate::{ProviderError, WorkerContext};

/// How long the fleet pauses on a 429 that did not say for how long.
const RATE_LIMITED_PAUSE: Duration = Duration::from_secs(1);

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
