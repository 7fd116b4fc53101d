//! Jobs whose provider has answered and whose outputs are being copied into
//! storage (`jobs.answer`, see `crate::answer`). The answer is committed before
//! the first copy; a copy that fails waits, leaseless, for its next try with a
//! `poll_at` (the scheduler publishes a poll message then, as for operations,
//! see `polls`); the job finishes with the usual `jobs::succeed_many` /
//! `jobs::fail`. Every statement is fenced (`jobs::Fence`): a copier that was
//! rescued and replaced changes nothing.

use std::time::Duration;

use serde_json::Value;
use sqlx::{types::Json, PgPool};

use super::jobs::Fence;
use crate::answer::Answer;

/// Commits the provider's answer with the job (and the call that got it in its
/// metrics), ending any operation it came from, and renews the run's lease for
/// the copy. `false` if the run no longer holds the job (canceled meanwhile).
pub async fn record(
    pool: &PgPool,
    run: Fence,
    answer: &Answer,
    lease: Duration,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET answer = $3, operation = NULL, poll_at = NULL,
                metrics = job_metrics_with_call(metrics, $5),
                lease_until = now() + $4 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND attempt = $2 AND poll_seq = $6 AND status = 'running'",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(Json(answer))
    .bind(lease.as_millis() as f64)
    .bind(call)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A copy failed and may pass later: the job waits `delay` for its next try,
/// keeping why this one failed. Only that is written: the answer itself (which
/// may hold inline bytes) is not sent again.
pub async fn copy_later(pool: &PgPool, run: Fence, error: &str, delay: Duration) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET answer = jsonb_set(answer, '{last_copy_error}', to_jsonb($3::text)),
                poll_at = now() + $4 * interval '1 millisecond', lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND poll_seq = $5 AND status = 'running' AND answer IS NOT NULL",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(error)
    .bind(delay.as_millis() as f64)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
