//! Jobs waiting on a long-running provider operation. Such a job stays
//! `running` with no lease while the provider works; `poll_at` says when it is
//! next polled. The scheduler publishes a poll message when that comes (and
//! pushes `poll_at` on, so a lost message is published again); the worker that
//! takes the message holds a short lease while it polls, then sets the next
//! `poll_at` or finishes the job with the usual conditional statements.

use std::time::Duration;

use sqlx::{types::Json, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::jobs::{DueJob, COLUMNS};
use crate::{ids::JobId, job::Job, operation::Operation};

/// The provider accepted the job's operation: the run ends without a result,
/// and the job waits, leaseless, for its first poll.
pub async fn wait_for(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    operation: &Operation,
    first_poll: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET operation = $3, poll_at = now() + $4 * interval '1 millisecond',
                lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running'",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(Json(operation))
    .bind(first_poll.as_millis() as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a poll message's job for one poll. A duplicate message finds the poll
/// taken (`poll_at` cleared) and gets `None`, as does a message for a job that
/// finished or was canceled meanwhile.
pub async fn claim_poll(pool: &PgPool, id: JobId, attempt: i32, lease: Duration) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE jobs SET poll_at = NULL, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND operation IS NOT NULL
           AND poll_at IS NOT NULL
         RETURNING {COLUMNS}"
    ))
    .bind(id.0)
    .bind(attempt)
    .bind(lease.as_millis() as f64)
    .fetch_optional(pool)
    .await
}

/// The operation is not done yet: record what the poll learned and when to poll next.
pub async fn poll_later(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    operation: &Operation,
    delay: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET operation = $3, poll_at = now() + $4 * interval '1 millisecond',
                lease_until = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND operation IS NOT NULL",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(Json(operation))
    .bind(delay.as_millis() as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks up to `limit` jobs whose poll is due, skipping other schedulers' rows.
/// The caller publishes their poll messages, then `published` in the same
/// transaction.
pub async fn lock_due_polls(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, attempt, modality, priority FROM jobs
         WHERE poll_at <= now() AND status = 'running'
         ORDER BY poll_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Poll messages for these jobs are with the broker. Should one be lost, the job
/// is published again after `republish_after`.
pub async fn published(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[JobId],
    republish_after: Duration,
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    sqlx::query("UPDATE jobs SET poll_at = now() + $2 * interval '1 millisecond' WHERE id = ANY($1)")
        .bind(&ids)
        .bind(republish_after.as_millis() as f64)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
