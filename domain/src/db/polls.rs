//! Poll messages: how a running job that holds no worker — waiting on a
//! provider operation (`operations`), or on its next try at copying a committed
//! answer (`answers`) — is taken up again. Its `poll_at` says when; the
//! scheduler claims due ones and numbers each message (`poll_seq`), and only the
//! latest message may take the job, under a short lease. The number is also the
//! run's fence: a poller or copier that was rescued and replaced finds its
//! `poll_seq` moved on and changes nothing (`jobs::Fence`).

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::jobs::{DueJob, COLUMNS};
use crate::{ids::JobId, job::Job};

/// Takes a poll message's job for one poll of its operation, or one try at
/// copying its committed answer's outputs (with `answer` read, and the try
/// counted in it now, so a copy that keeps killing its worker still runs out of
/// tries). Only the latest poll message may: a copy or an older one gets `None`
/// (as does a second delivery of the latest, which finds the poll taken), and
/// so does a message for a job that finished or was canceled meanwhile.
pub async fn claim_poll(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    poll_seq: i32,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE jobs SET poll_at = NULL, lease_until = now() + $3 * interval '1 millisecond', updated_at = now(),
                answer = jsonb_set(answer, '{{copies}}', to_jsonb(COALESCE((answer->>'copies')::int, 0) + 1))
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

/// Takes up to `limit` jobs whose poll is due, numbering their next poll
/// message (`poll_seq` + 1) and pushing `poll_at` `republish_after` on, so a
/// message lost with a broker is published again. Committed before anything is
/// published: the worker that takes the message must see its number.
pub async fn claim_due(pool: &PgPool, limit: i64, republish_after: Duration) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE jobs SET poll_seq = poll_seq + 1, poll_at = now() + $2 * interval '1 millisecond'
         WHERE id IN (SELECT id FROM jobs WHERE poll_at <= now() AND status = 'running'
                      ORDER BY poll_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, attempt, modality, priority, poll_seq, traceparent",
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
