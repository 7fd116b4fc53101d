//! Retention of jobs' stored files: which jobs' files are due for deletion, and
//! recording that they were deleted.

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::ids::JobId;

/// Locks up to `limit` jobs whose files' retention ended, skipping other
/// schedulers' rows. The caller deletes the objects, then `mark_deleted`.
pub async fn lock_expired(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Vec<(JobId, Value)>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<Value>)> = sqlx::query_as(
        "SELECT id, output FROM jobs WHERE outputs_expire_at <= now()
         ORDER BY outputs_expire_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, output)| (JobId(id), output.unwrap_or(Value::Null)))
        .collect())
}

/// The job's files are gone: `output` records it, and nothing is left to expire.
pub async fn mark_deleted(tx: &mut Transaction<'_, Postgres>, id: JobId, output: &Value) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET output = $2, outputs_expire_at = NULL, updated_at = now() WHERE id = $1")
        .bind(id.0)
        .bind(output)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
