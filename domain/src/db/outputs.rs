//! Retention of jobs' stored files: which jobs' files are due for deletion, and
//! recording that they were deleted.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ids::JobId;

/// Takes up to `limit` jobs whose files' retention ended, pushing their expiry
/// `retry_after` on: the caller deletes the objects without holding any row,
/// then `mark_deleted`; if it fails or dies, the job comes due again then.
pub async fn claim_expired(
    pool: &PgPool,
    limit: i64,
    retry_after: Duration,
) -> Result<Vec<(JobId, Value)>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<Value>)> = sqlx::query_as(
        "UPDATE jobs SET outputs_expire_at = now() + $2 * interval '1 millisecond'
         WHERE id IN (SELECT id FROM jobs WHERE outputs_expire_at <= now()
                      ORDER BY outputs_expire_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, output",
    )
    .bind(limit)
    .bind(retry_after.as_millis() as f64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, output)| (JobId(id), output.unwrap_or(Value::Null)))
        .collect())
}

/// The job's files are gone: `output` records it, and nothing is left to expire.
pub async fn mark_deleted(pool: &PgPool, id: JobId, output: &Value) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET output = $2, outputs_expire_at = NULL, updated_at = now() WHERE id = $1")
        .bind(id.0)
        .bind(output)
        .execute(pool)
        .await?;
    Ok(())
}
