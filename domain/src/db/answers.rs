//! Jobs whose provider has answered and whose outputs are being copied into
//! storage (`jobs.answer`, see `crate::answer`). The answer is committed before
//! the first copy; a copy that fails waits, leaseless, for its next try with a
//! `poll_at` (the scheduler publishes a poll message then, as for operations);
//! the job finishes with the usual `jobs::succeed_many` / `jobs::fail`.

use std::time::Duration;

use serde_json::Value;
use sqlx::{types::Json, PgPool};

use crate::{answer::Answer, ids::JobId};

/// Commits the provider's answer with the job (and the call that got it in its
/// metrics), ending any operation it came from, and renews the run's lease for
/// the copy. `false` if the run no longer holds the job (canceled meanwhile).
pub async fn record(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    answer: &Answer,
    lease: Duration,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET answer = $3, operation = NULL, poll_at = NULL,
                metrics = job_metrics_with_call(metrics, $5),
                lease_until = now() + $4 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running'",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(Json(answer))
    .bind(lease.as_millis() as f64)
    .bind(call)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A copy failed and may pass later: the answer (with its copy count and the
/// last error) is kept, and the job waits `delay` for its next try.
pub async fn copy_later(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    answer: &Answer,
    delay: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET answer = $3, poll_at = now() + $4 * interval '1 millisecond',
                lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND answer IS NOT NULL",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(Json(answer))
    .bind(delay.as_millis() as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
