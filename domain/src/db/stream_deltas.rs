//! `job_stream_deltas`: a streaming job's text in the pieces its provider
//! wrote it. Workers append; `GET /v1/jobs/{id}/events` reads what came after
//! the last piece a client saw. Each insert notifies `de_job_streamed`.

use sqlx::PgPool;
use uuid::Uuid;

/// One piece of a job's streamed text.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Delta {
    /// Orders a job's pieces; the event id a reconnecting client sends back.
    pub seq: i64,
    pub attempt: i32,
    pub text: String,
}

pub async fn append(pool: &PgPool, job_id: Uuid, attempt: i32, text: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO job_stream_deltas (job_id, attempt, text) VALUES ($1, $2, $3)")
        .bind(job_id)
        .bind(attempt)
        .bind(text)
        .execute(pool)
        .await?;
    Ok(())
}

/// The job's pieces after `after` (all of them for `None`), in order.
pub async fn after(pool: &PgPool, job_id: Uuid, after: Option<i64>) -> Result<Vec<Delta>, sqlx::Error> {
    sqlx::query_as("SELECT seq, attempt, text FROM job_stream_deltas WHERE job_id = $1 AND seq > $2 ORDER BY seq")
        .bind(job_id)
        .bind(after.unwrap_or(0))
        .fetch_all(pool)
        .await
}

/// The attempt that wrote piece `seq` of the job, if it is one of the job's.
pub async fn attempt_of(pool: &PgPool, job_id: Uuid, seq: i64) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT attempt FROM job_stream_deltas WHERE job_id = $1 AND seq = $2")
        .bind(job_id)
        .bind(seq)
        .fetch_optional(pool)
        .await
}

/// Deletes up to `batch` pieces of jobs that finished more than `kept_for`
/// ago (their text is the job's output; a stream is resumed only while it
/// matters). How many went.
pub async fn prune(pool: &PgPool, kept_for: std::time::Duration, batch: i64) -> Result<u64, sqlx::Error> {
    let pruned = sqlx::query(
        "DELETE FROM job_stream_deltas WHERE seq IN (
             SELECT d.seq FROM job_stream_deltas d JOIN jobs j ON j.id = d.job_id
             WHERE j.completed_at < now() - $1 * interval '1 second' LIMIT $2)",
    )
    .bind(kept_for.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(pruned.rows_affected())
}
