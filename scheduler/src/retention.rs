//! Deletes jobs' stored files once their retention (`DE_OUTPUT_RETENTION_SECS`)
//! ends, and marks each file `deleted_at` in the job's output so clients see
//! why its link is gone. A job whose deletion fails keeps its expiry and is
//! tried again next tick.

use chrono::Utc;
use electrons_domain::{db, storage::output_files, storage::ObjectStore};
use sqlx::PgPool;

pub async fn run(pool: &PgPool, store: &ObjectStore, batch: i64) {
    match delete_batch(pool, store, batch).await {
        Ok(0) => {}
        Ok(jobs) => tracing::info!(jobs, "deleted outputs past their retention"),
        Err(error) => tracing::error!(%error, "output retention failed"),
    }
}

async fn delete_batch(pool: &PgPool, store: &ObjectStore, batch: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let expired = db::outputs::lock_expired(&mut tx, batch).await?;
    let mut deleted = 0;
    for (job, output) in expired {
        let mut complete = true;
        for key in output_files::live_keys(&output) {
            if let Err(error) = store.delete(&key).await {
                tracing::warn!(%error, %key, job_id = %job, "could not delete an expired output; trying again later");
                complete = false;
                break;
            }
        }
        if complete {
            db::outputs::mark_deleted(&mut tx, job, &output_files::mark_deleted(output, Utc::now())).await?;
            deleted += 1;
        }
    }
    tx.commit().await?;
    Ok(deleted)
}
