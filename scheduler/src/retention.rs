//! Deletes jobs' stored files once their retention (`DE_OUTPUT_RETENTION_SECS`)
//! ends, and marks each file `deleted_at` in the job's output so clients see
//! why its link is gone. Runs as a task of its own, so slow or failing deletes
//! never hold up the scheduler's other work, and holds no rows while it talks
//! to the store: a job is claimed by pushing its expiry on (it comes due again
//! then if its deletion fails), its objects deleted, then it is marked.
//! The pieces of finished jobs' streams go too, an hour after the job ends.

use std::time::Duration;

use chrono::Utc;
use electrons_domain::{
    db,
    ids::JobId,
    storage::{output_files, ObjectStore},
    Shutdown,
};
use futures::{stream, StreamExt};
use serde_json::Value;
use sqlx::PgPool;

/// When a job whose deletion failed is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(600);
/// The longest one delete may take.
const DELETE_TIMEOUT: Duration = Duration::from_secs(30);
/// Deletes in flight at once.
const PARALLEL: usize = 16;
/// How long a finished job's stream can still be resumed (`Last-Event-ID`).
const STREAM_KEPT_FOR: Duration = Duration::from_secs(3600);
/// How often streams are pruned (each pass reads the pieces table).
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(pool: PgPool, store: ObjectStore, every: Duration, batch: i64, shutdown: Shutdown) {
    let mut pruned_at = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        loop {
            match db::outputs::claim_expired(&pool, batch, RETRY_AFTER).await {
                Ok(jobs) if jobs.is_empty() => break,
                Ok(jobs) => {
                    let claimed = jobs.len();
                    let deleted = stream::iter(jobs)
                        .map(|(job, output)| delete_job(&pool, &store, job, output))
                        .buffer_unordered(PARALLEL)
                        .filter(|done| std::future::ready(*done))
                        .count()
                        .await;
                    tracing::info!(deleted, claimed, "deleted outputs past their retention");
                    if (claimed as i64) < batch {
                        break;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "output retention failed");
                    break;
                }
            }
        }
        if pruned_at.elapsed() >= PRUNE_EVERY {
            prune_streams(&pool, batch).await;
            pruned_at = std::time::Instant::now();
        }
    }
}

async fn prune_streams(pool: &PgPool, batch: i64) {
    loop {
        match db::stream_deltas::prune(pool, STREAM_KEPT_FOR, batch).await {
            Ok(pruned) if (pruned as i64) < batch => return,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "pruning finished jobs' streams failed");
                return;
            }
        }
    }
}

async fn delete_job(pool: &PgPool, store: &ObjectStore, job: JobId, output: Value) -> bool {
    for key in output_files::live_keys(&output) {
        let failure = match tokio::time::timeout(DELETE_TIMEOUT, store.delete(&key)).await {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {DELETE_TIMEOUT:?}"),
        };
        tracing::warn!(%failure, %key, job_id = %job, ?RETRY_AFTER, "could not delete an expired output; trying again later");
        return false;
    }
    let marked = output_files::mark_deleted(output, Utc::now());
    match db::outputs::mark_deleted(pool, job, &marked).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, job_id = %job, "could not mark outputs deleted; trying again later");
            false
        }
    }
}
