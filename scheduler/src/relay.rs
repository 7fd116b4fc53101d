//! Publishes queued jobs whose `publish_at` has passed: new jobs whose producer
//! could not get a confirm, retries whose backoff ended, rescued jobs. The rows
//! stay locked until the broker confirmed, so two schedulers never publish the
//! same job; a job whose publish fails keeps its `publish_at` and is tried on the
//! next tick.

use electrons_domain::{
    db::{self, jobs::DueJob},
    ids::JobId,
    queue::{JobMessage, Publisher},
};
use futures::future::join_all;
use sqlx::PgPool;

pub async fn run(pool: &PgPool, publisher: &Publisher, batch: i64) {
    loop {
        match relay_batch(pool, publisher, batch).await {
            Ok(published) if published as i64 >= batch => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "relay failed");
                return;
            }
        }
    }
}

async fn relay_batch(pool: &PgPool, publisher: &Publisher, batch: i64) -> Result<usize, sqlx::Error> {
    if !publisher.is_connected().await {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let due = db::jobs::lock_due_for_publish(&mut tx, batch).await?;
    if due.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let published = publish_confirmed(publisher, &due, false).await;
    db::jobs::clear_publish(&mut tx, &published).await?;
    tx.commit().await?;
    if !published.is_empty() {
        tracing::info!(jobs = published.len(), "relayed jobs to the broker");
    }
    Ok(published.len())
}

/// Publishes a message for each job (`poll`: "poll its operation" rather than
/// "run it") and returns those the broker confirmed; the rest stay due.
pub(crate) async fn publish_confirmed(publisher: &Publisher, due: &[DueJob], poll: bool) -> Vec<JobId> {
    let publishes = due.iter().map(|job| async move {
        let message = JobMessage {
            job_id: job.id,
            attempt: job.attempt,
            trace_id: None,
            // The submit's: a retry, a relayed publish or a poll joins its trace.
            traceparent: job.traceparent.clone(),
            poll,
            poll_seq: job.poll_seq,
        };
        publisher
            .publish(&message, job.modality, job.priority)
            .await
            .map(|()| job.id)
    });
    let results = join_all(publishes).await;
    let published: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    if let Some(Err(error)) = results.iter().find(|r| r.is_err()) {
        tracing::warn!(%error, failed = due.len() - published.len(), poll, "some publishes were not confirmed; retrying next tick");
    }
    published
}
