//! Jobs waiting on a long-running provider operation. Such a job stays
//! `running` with no lease while the provider works; `poll_at` says when it is
//! next polled (see `polls` for how poll messages take it up). The worker that
//! polls sets the next `poll_at`, or commits the operation's result as the job's
//! answer (`answers::record`), or fails the job with the usual statements.

use std::time::Duration;

use sqlx::{types::Json, PgPool};

use super::jobs::Fence;
use crate::{ids::JobId, operation::Operation};

/// The provider accepted the job's operation (the call that submitted it goes
/// into the job's metrics): the run ends without a result, and the job waits,
/// leaseless, for its first poll.
pub async fn wait_for(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    operation: &Operation,
    first_poll: Duration,
    call: Option<&serde_json::Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET operation = $3, poll_at = now() + $4 * interval '1 millisecond',
                metrics = job_metrics_with_call(metrics, $5), lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running'",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(Json(operation))
    .bind(first_poll.as_millis() as f64)
    .bind(call)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The operation is not done yet: record what the poll learned and when to poll next.
pub async fn poll_later(
    pool: &PgPool,
    run: Fence,
    operation: &Operation,
    delay: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET operation = $3, poll_at = now() + $4 * interval '1 millisecond',
                lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND operation IS NOT NULL AND poll_seq = $5",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(Json(operation))
    .bind(delay.as_millis() as f64)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
