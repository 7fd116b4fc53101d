//! Jobs waiting on a long-running provider operation. Such a job stays
//! `running` with no lease while the provider works; `poll_at` says when it is
//! next polled. The scheduler publishes a poll message when that comes (and
//! pushes `poll_at` on, so a lost message is published again); the worker that
//! takes the message holds a short lease while it polls, then sets the next
//! `poll_at` or finishes the job with the usual conditional statements.

use std::time::Duration;

use sqlx::{types::Json, PgPool};
use uuid::Uuid;

use super::jobs::{DueJob, COLUMNS};
use crate::{ids::JobId, job::Job, operation::Operation};

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

/// Takes a poll message's job for one poll of its operation, or one try at
/// copying its committed answer's outputs (with `answer` read). Only the latest
/// poll message may: a copy or an older one gets `None` (as does a second
/// delivery of the latest, which finds the poll taken), and so does a message
/// for a job that finished or was canceled meanwhile.
pub async fn claim_poll(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    poll_seq: i32,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE jobs SET poll_at = NULL, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND (operation IS NOT NULL OR answer IS NOT NULL)
           AND poll_at IS NOT NULL AND poll_seq = $4
         RETURNING {COLUMNS}, answer"
    ))
    .bind(id.0)
    .bind(attempt)
    .bind(lease.as_millis() as f64)
    .bind(poll_seq)
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

/// Takes up to `limit` jobs whose poll is due, numbering their next poll
/// message (`poll_seq` + 1) and pushing `poll_at` `republish_after` on, so a
/// message lost with a broker is published again. Committed before anything is
/// published: the worker that takes the message must see its number.
pub async fn claim_due_polls(pool: &PgPool, limit: i64, republish_after: Duration) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE jobs SET poll_seq = poll_seq + 1, poll_at = now() + $2 * interval '1 millisecond'
         WHERE id IN (SELECT id FROM jobs WHERE poll_at <= now() AND status = 'running'
                      ORDER BY poll_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, attempt, modality, priority, poll_seq",
    )
    .bind(limit)
    .bind(republish_after.as_millis() as f64)
    .fetch_all(pool)
    .await
}

/// These polls' messages were not confirmed by the broker: due again now.
pub async fn unpublished(pool: &PgPool, polls: &[DueJob]) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = polls.iter().map(|p| p.id.0).collect();
    let seqs: Vec<i32> = polls.iter().map(|p| p.poll_seq).collect();
    sqlx::query(
        "UPDATE jobs j SET poll_at = now() FROM unnest($1::uuid[], $2::int[]) AS u(id, seq)
         WHERE j.id = u.id AND j.poll_seq = u.seq AND j.poll_at IS NOT NULL",
    )
    .bind(&ids)
    .bind(&seqs)
    .execute(pool)
    .await?;
    Ok(())
}
