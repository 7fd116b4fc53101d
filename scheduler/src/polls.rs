//! Publishes poll messages for jobs waiting on a provider operation whose
//! `poll_at` has come. The rows stay locked until the broker confirmed, so two
//! schedulers never publish the same poll; a confirmed poll's `poll_at` moves
//! `REPUBLISH_AFTER` on, so a message lost with a broker is published again.

use std::time::Duration;

use electrons_domain::{db, queue::Publisher};
use sqlx::PgPool;

/// Longer than a poll message waits in a healthy queue; the worker clears
/// `poll_at` when it takes the poll, so this only matters for lost messages.
const REPUBLISH_AFTER: Duration = Duration::from_secs(120);

pub async fn run(pool: &PgPool, publisher: &Publisher, batch: i64) {
    loop {
        match publish_batch(pool, publisher, batch).await {
            Ok(published) if published as i64 >= batch => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "publishing polls failed");
                return;
            }
        }
    }
}

async fn publish_batch(pool: &PgPool, publisher: &Publisher, batch: i64) -> Result<usize, sqlx::Error> {
    if !publisher.is_connected().await {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let due = db::operations::lock_due_polls(&mut tx, batch).await?;
    if due.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let published = crate::relay::publish_confirmed(publisher, &due, true).await;
    db::operations::published(&mut tx, &published, REPUBLISH_AFTER).await?;
    tx.commit().await?;
    tracing::debug!(polls = published.len(), "published operation polls");
    Ok(published.len())
}
